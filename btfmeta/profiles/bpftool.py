"""bpftool versions whose `btf dump` output (raw, JSON, C) btfmeta reproduces.

Each field names the first version that behaves so, with the change it follows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bpftool:
    version: str
    # `format c` sorts types by kind rank, names and a hash of member names (`unsorted`
    # restores id order), prints the __ksym/__weak defines and a `/* BPF kfuncs */` block of
    # `extern ... __weak __ksym;` prototypes for FUNCs tagged bpf_kfunc. Debian 13's 7.5.0 is
    # built from Linux 6.12, which has "bpftool: improve btf c dump sorting stability" (the hash).
    sorted_c: bool
    # libbpf 1.2's btf_dump marks an enum of 1 byte `__attribute__((mode(byte)))`, and one of
    # 8 bytes whose values all fit 32 bits (any ENUM) `__attribute__((mode(word)))`
    enum_modes: bool
    # the kfunc prototypes sorted by name ("for improved vmlinux.h stability"), not in id order
    kfuncs_by_name: bool
    # the __bpf_fastcall define, and `__bpf_fastcall` on kfuncs tagged bpf_fastcall (Linux 6.13)
    fastcall: bool
    # libbpf 1.6's btf_dump prints a TYPE_TAG with kflag 1 (an attribute tag) as
    # `__attribute__((NAME))` instead of `__attribute__((btf_type_tag("NAME")))`
    attribute_tags: bool


PROFILES: dict[str, Bpftool] = {
    "7.1": Bpftool("7.1", sorted_c=False, enum_modes=False, kfuncs_by_name=False, fastcall=False, attribute_tags=False),
    "7.5": Bpftool("7.5", sorted_c=True, enum_modes=True, kfuncs_by_name=False, fastcall=False, attribute_tags=False),
    "7.8": Bpftool("7.8", sorted_c=True, enum_modes=True, kfuncs_by_name=True, fastcall=True, attribute_tags=True),
}
