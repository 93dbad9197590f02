"""BTF helpers with libbpf's exact semantics (btf.h / relo_core.c) for CO-RE."""

from __future__ import annotations

import errno
from collections.abc import Collection

from ..btf import types as T
from ..btf.kinds import Kind
from ..btf.spec import Spec
from ..errors import BTFFormatError, TypeLookupError

KIND_STR = ("void", *(k.name.lower() for k in Kind))  # libbpf's btf_kind_str(), indexed by kind
MODS = (Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG)
MODS_AND_TYPEDEF = frozenset((*MODS, Kind.TYPEDEF))


class CoreError(Exception):
    """A libbpf error return (negative errno), e.g. -EINVAL for a malformed spec."""

    def __init__(self, err: int, message: str = ""):
        super().__init__(message or errno.errorcode.get(-err, str(err)))
        self.err = err


def get(btf: Spec, tid: int) -> T.Type | None:
    """The type, None for void; an invalid id is -EINVAL as in libbpf."""
    if tid == 0:
        return None
    try:
        return btf.type_by_id(tid)
    except TypeLookupError:
        raise CoreError(-errno.EINVAL, f"invalid type id {tid}") from None


def kind(t: T.Type | None) -> int:
    return 0 if t is None else int(t.kind)


def kind_str(t: T.Type | None) -> str:
    k = kind(t)
    return KIND_STR[k] if k < len(KIND_STR) else "unknown"


def follow(btf: Spec, tid: int, kinds: Collection[Kind]) -> tuple[int, T.Type | None]:
    """Follow ``.type`` from ``tid`` while the kind is in ``kinds``; the first other type.
    A chain longer than the type count loops: malformed BTF, which the kernel also refuses."""
    t = get(btf, tid)
    for _ in range(btf.type_cnt):
        if t is None or t.kind not in kinds:
            return tid, t
        tid = t.type
        t = get(btf, tid)
    raise BTFFormatError(f"type [{tid}] {kind_str(t)} '{t.name}' is part of a reference loop", path=btf.path)


def skip_mods_and_typedefs(btf: Spec, tid: int) -> tuple[int, T.Type | None]:
    return follow(btf, tid, MODS_AND_TYPEDEF)


def resolve_size(btf: Spec, tid: int) -> int:
    """``btf__resolve_size``: at most 32 steps, arrays multiply, pointers are 8 bytes."""
    nelems = 1
    size = None
    for _ in range(32):
        t = get(btf, tid)
        k = kind(t)
        if k in (Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.DATASEC, Kind.FLOAT):
            size = t.size
            break
        if k == Kind.PTR:
            size = 8
            break
        if k in (Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.VAR, Kind.DECL_TAG, Kind.TYPE_TAG):
            tid = t.type
            continue
        if k == Kind.ARRAY:
            if nelems and t.nelems > 0xFFFFFFFF // nelems:
                raise CoreError(-errno.E2BIG)
            nelems *= t.nelems
            tid = t.type
            continue
        raise CoreError(-errno.EINVAL, f"cannot size a {kind_str(t)}")
    if size is None:
        raise CoreError(-errno.EINVAL, "type chain too long to size")
    if nelems * size > 0xFFFFFFFF:
        raise CoreError(-errno.E2BIG)
    return nelems * size


def field_size(btf: Spec, tid: int) -> int:
    """A member's size in bytes, 0 where BTF cannot size it (as pahole and bpftool show it)."""
    try:
        return resolve_size(btf, tid)
    except CoreError:
        return 0


def essential_len(name: str) -> int:
    """Length of ``name`` without its last ``___flavor`` suffix (bpf_core_essential_name_len)."""
    n = len(name)
    for p in range(n - 5, -1, -1):
        if name[p] != "_" and name[p + 1:p + 4] == "___" and name[p + 4] != "_":
            return p + 1
    return n


def essential(name: str) -> str:
    return name[:essential_len(name)]


def essential_index(space: Spec) -> dict[str, list[tuple[int, Kind, str]]]:
    """essential name -> [(id, kind, name)] of one BTF's own types, built once per BTF
    (CO-RE candidate search and ``resolve`` both look types up this way)."""
    idx = getattr(space, "_essential_index", None)
    if idx is None:
        idx = {}
        for tid, k, name in space.names_and_kinds():
            if name:
                idx.setdefault(essential(name), []).append((tid, k, name))
        space._essential_index = idx
    return idx


def core_compatible_kinds(ka: int, kb: int) -> bool:
    """Kinds CO-RE treats as the same: equal, or ENUM and ENUM64."""
    return ka == kb or {ka, kb} == {Kind.ENUM, Kind.ENUM64}


def is_composite(t: T.Type | None) -> bool:
    return kind(t) in (Kind.STRUCT, Kind.UNION)
