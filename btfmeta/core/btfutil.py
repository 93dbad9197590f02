"""The BTF queries CO-RE uses, with libbpf's error returns: an invalid type id or a type
BTF cannot size is a ``CoreError`` carrying libbpf's negative errno (relo_core.c)."""

from __future__ import annotations

import errno
import struct

from ..btf import query
from ..btf import types as T
from ..btf.kinds import FIXED_WORDS, VLEN_WORDS, Kind
from ..btf.query import (
    KIND_STR,
    MODS_AND_TYPEDEF,
    essential,
    essential_len,
    essential_matches,
    follow,
    kind_str,
    skip_mods_and_typedefs,
)
from ..btf.spec import Spec
from ..errors import TypeLookupError

__all__ = ["KIND_STR", "MODS_AND_TYPEDEF", "CoreError", "core_compatible_kinds", "essential", "essential_matches",
           "essential_len", "follow", "get", "int_encoding_word", "is_composite", "kind", "kind_str", "resolve_size",
           "skip_mods_and_typedefs"]


class CoreError(Exception):
    """A libbpf error return (negative errno), e.g. -EINVAL for a malformed spec."""

    def __init__(self, err: int, message: str = ""):
        super().__init__(message or errno.errorcode.get(-err, str(err)))
        self.err = err


def get(btf: Spec, tid: int) -> T.Type | None:
    """The type, None for void; an invalid id is -EINVAL as in libbpf."""
    try:
        return query.get(btf, tid)
    except TypeLookupError:
        raise CoreError(-errno.EINVAL, f"invalid type id {tid}") from None


def kind(t: T.Type | None) -> int:
    return 0 if t is None else int(t.kind)


def resolve_size(btf: Spec, tid: int) -> int:
    """``btf__resolve_size`` with its errno as a CoreError."""
    try:
        return query.resolve_size(btf, tid)
    except query.SizeError as exc:
        raise CoreError(exc.err, exc.message) from None
    except TypeLookupError:
        raise CoreError(-errno.EINVAL, f"invalid type id {tid}") from None


def core_compatible_kinds(ka: int, kb: int) -> bool:
    """Kinds CO-RE treats as the same: equal, or ENUM and ENUM64."""
    return ka == kb or {ka, kb} == {Kind.ENUM, Kind.ENUM64}


def is_composite(t: T.Type | None) -> bool:
    return kind(t) in (Kind.STRUCT, Kind.UNION)


def int_encoding_word(btf: Spec, tid: int) -> int:
    """The 32-bit word after type ``tid``'s 12-byte header in its BTF's raw bytes, which
    libbpf's ``btf_int_encoding()`` reads whatever the kind: trailing data when the kind has
    some, else the next record's name offset (past the type section: the bytes that follow
    it in the file, 0 past the end)."""
    layer = next(x for x in btf.layers() if tid >= x.start_id)
    raw = layer.memo("raw bytes").get(0)
    if raw is None:
        raw = layer.memo("raw bytes")[0] = layer.to_bytes()
    fmt = "<" if layer.byteorder == "little" else ">"
    hdr_len, type_off = struct.unpack_from(fmt + "2I", raw, 4)
    pos = hdr_len + type_off
    for _ in range(tid - layer.start_id):
        info = struct.unpack_from(fmt + "I", raw, pos + 4)[0]
        k = (info >> 24) & 0x1F
        pos += 12 + 4 * (FIXED_WORDS[k] + (info & 0xFFFF) * VLEN_WORDS[k])
    pos += 12
    return struct.unpack_from(fmt + "I", raw, pos)[0] if pos + 4 <= len(raw) else 0
