"""BTF kind numbers and the fixed shape of each kind's record (uapi ``linux/btf.h``)."""

from __future__ import annotations

from enum import IntEnum


class Kind(IntEnum):
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


MAX_KIND = 19

# Every field of a BTF record is a 32-bit word; a record is the 3-word common
# header, FIXED_WORDS[kind] words of single trailing data, then vlen elements
# of VLEN_WORDS[kind] words each.  Index 0 (void) is never stored.
FIXED_WORDS = (0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0)
VLEN_WORDS = (0, 0, 0, 0, 3, 3, 2, 0, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 3)

# INT encoding bits.
INT_SIGNED = 1
INT_CHAR = 2
INT_BOOL = 4

# Linkage values of FUNC (stored in vlen) and VAR.
LINKAGE_STATIC = 0
LINKAGE_GLOBAL = 1
LINKAGE_EXTERN = 2

MAGIC = 0xEB9F
HEADER_LEN = 24
# (byte order, struct prefix) by the first two bytes read little-endian; .BTF.ext shares the magic.
ORDER_BY_MAGIC = {MAGIC: ("little", "<"), 0x9FEB: ("big", ">")}
