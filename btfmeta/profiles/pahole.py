"""pahole versions whose `-F btf` layouts btfmeta's `layout` reproduces.

Each field names the first version that behaves so (pahole's changelog, dwarves_fprintf.c)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pahole:
    version: str
    # 1.25: `pahole -C` prints a blank line after each type's closing `};`
    blank_after: bool
    # 1.26 (class__fprintf_member_type_holes): the note after a struct member says every
    # imperfection of its type -- "XXX last struct has 4 bytes of padding, 3 bits of padding,
    # 2 holes, 1 bit hole" -- not only its padding, and the summary counts them in a
    # "member types with holes: N, total: N, bit holes: ..., bit paddings: ..." line
    member_type_holes: bool
    # 1.28: the note starts "a flexible array" (the member's struct ends in `[]`/`[0]`) or
    # "embedded flexible array(s)" (one of its struct members has one), counted in a
    # "flexible array members: end: N, middle: N" summary line
    flexible_arrays: bool
    # 1.31: a zero-sized member (`struct cacheline_padding _pad1_;`, a flexible array) is given
    # the `__attribute__((__aligned__(N)))` its offset implies, and counted as a forced alignment
    aligns_empty_members: bool


PROFILES: dict[str, Pahole] = {
    "1.24": Pahole("1.24", blank_after=False, member_type_holes=False, flexible_arrays=False,
                   aligns_empty_members=False),
    "1.30": Pahole("1.30", blank_after=True, member_type_holes=True, flexible_arrays=True,
                   aligns_empty_members=False),
    "1.32": Pahole("1.32", blank_after=True, member_type_holes=True, flexible_arrays=True,
                   aligns_empty_members=True),
}
