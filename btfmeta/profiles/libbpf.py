"""libbpf versions btfmeta's CO-RE decisions, parse refusals and log lines follow (Debian 12's
1.1.2, Debian 13's 1.5.0, sid's 1.7.0).  Each field names the libbpf commit that changed it;
the tests compare every row with that libbpf itself (tests/judges.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Libbpf:
    version: str
    # FIELD_SIGNED of a field that is neither INT nor a signed enum: before 1.3 libbpf took
    # btf_int_encoding() of any kind, i.e. bit 24 of the word after the type's header;
    # from 1.3 such a field is unsigned (b4c8def4: relo_core.c checks btf_is_int() before
    # btf_int_encoding(); libbpf issue #704)
    signed_reads_any_kind: bool
    # LDX/ST/STX size adjustment of a BYTE_OFFSET access to an array (field) compares the
    # innermost element's size from 1.6; before, the whole array's (d7a4ab15; kernel
    # 06096d19ee38 "libbpf: fix LDX/STX/ST CO-RE relocation size adjustment logic")
    array_sized_by_element: bool
    # errnos in libbpf.c's warnings ("failed to relocate", "failed to patch insn", "target
    # candidate search failed"): "-22" before 1.6, "-EINVAL" from 1.6 (errstr(), "libbpf:
    # stringify error codes in warning messages"); relo_core.c's lines keep the number
    symbolic_errno: bool


PROFILES: dict[str, Libbpf] = {
    "1.1": Libbpf("1.1", signed_reads_any_kind=True, array_sized_by_element=False, symbolic_errno=False),
    "1.5": Libbpf("1.5", signed_reads_any_kind=False, array_sized_by_element=False, symbolic_errno=False),
    "1.7": Libbpf("1.7", signed_reads_any_kind=False, array_sized_by_element=True, symbolic_errno=True),
}
