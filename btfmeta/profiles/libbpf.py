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
    # from 1.5 every function in .text is a subprogram; before, the only function of an
    # object was an entry program even in .text (ac9ced9e, prog_is_subprog())
    text_is_subprogram: bool
    # LDX/ST/STX size adjustment of a BYTE_OFFSET access to an array (field) compares the
    # innermost element's size from 1.6; before, the whole array's (d7a4ab15; kernel
    # 06096d19ee38 "libbpf: fix LDX/STX/ST CO-RE relocation size adjustment logic")
    array_sized_by_element: bool
    # "error matching candidate #N " ended with a space before 1.5 (the spec was printed
    # by a second call)
    candidate_error_space: bool
    # errnos in warnings: "-22" before 1.6, "-EINVAL" from 1.6 (libbpf's errstr())
    symbolic_errno: bool
    # btf__parse refuses, from 1.3, a FUNC whose type is not a FUNC_PROTO, a type id out of
    # range and a name offset out of range (btf_validate_type / btf_sanity_check)
    strict_btf_checks: bool


PROFILES: dict[str, Libbpf] = {
    "1.1": Libbpf("1.1", signed_reads_any_kind=True, text_is_subprogram=False, array_sized_by_element=False,
                  candidate_error_space=True, symbolic_errno=False, strict_btf_checks=False),
    "1.5": Libbpf("1.5", signed_reads_any_kind=False, text_is_subprogram=True, array_sized_by_element=False,
                  candidate_error_space=False, symbolic_errno=False, strict_btf_checks=True),
    "1.7": Libbpf("1.7", signed_reads_any_kind=False, text_is_subprogram=True, array_sized_by_element=True,
                  candidate_error_space=False, symbolic_errno=True, strict_btf_checks=True),
}
