"""Distilled base BTF, as libbpf's ``btf__distill_base`` (libbpf >= 1.5) makes it.

A module built out of tree refers to vmlinux by type id, and ids shuffle with every
kernel build.  Distilling keeps, of the base, only what the split BTF uses and only what
relocation needs: named INT/FLOAT/FWD as they are, named STRUCT/UNION as a member-less
record of the same size, named ENUM/ENUM64 as a value-less ENUM of the same size (the
``.BTF.base`` section).  Every other base type the split BTF reaches (pointers, arrays,
typedefs, modifiers, function prototypes, type tags, anonymous structs, unions and
enums) is copied into the split BTF after its own types.  Types are visited, ids given
and strings added in libbpf's order, so both blobs come out as ``btf__raw_data`` gives
them (libbpf's ``btf.c``: ``btf_add_distilled_type_ids``, ``btf_add_distilled_types``,
``btf_update_distilled_type_ids``).
"""

from __future__ import annotations

from ..errors import BTFFormatError
from . import types as T
from .dedup import remap
from .elfsection import btf_object
from .kinds import Kind
from .rebase import shown
from .spec import Spec

# base kinds a split BTF may refer to when distilling (anything else: libbpf's -EINVAL)
_REFERABLE = frozenset({Kind.INT, Kind.FLOAT, Kind.FWD, Kind.ARRAY, Kind.STRUCT, Kind.UNION, Kind.TYPEDEF,
                        Kind.ENUM, Kind.ENUM64, Kind.PTR, Kind.CONST, Kind.RESTRICT, Kind.VOLATILE,
                        Kind.FUNC_PROTO, Kind.TYPE_TAG})
_TO_BASE = (Kind.INT, Kind.FLOAT, Kind.FWD)


def _used_base_ids(split: Spec) -> set[int]:
    """Base ids the split BTF reaches, not looking inside named structs and unions; a
    reference to a base kind a distilled base cannot express is refused (first one found
    in libbpf's depth-first order)."""
    base_cnt = split.start_id
    used: set[int] = set()
    for tid in split.own_ids():
        stack = [iter(T.referenced_ids(split.type_by_id(tid)))]
        while stack:
            ref = next(stack[-1], None)
            if ref is None:
                stack.pop()
                continue
            if not ref or ref >= base_cnt or ref in used:
                continue
            t = split.type_by_id(ref)
            if t.kind not in _REFERABLE:
                raise BTFFormatError(f"unexpected reference to base type[{ref}] of kind [{int(t.kind)}] when "
                                     "creating distilled base BTF.", path=split.path)
            used.add(ref)
            if not (isinstance(t, T.Composite) and t.name):
                stack.append(iter(T.referenced_ids(t)))
    return used


def _base_form(t: T.Type, tid: int, path: str | None) -> T.Type | None:
    """What base type ``t`` becomes in the distilled base; None if it goes to the split."""
    if t.kind in _TO_BASE:
        return t
    if isinstance(t, T.Composite) and t.name:
        return type(t)(name=t.name, size=t.size)
    if isinstance(t, T.EnumLike) and t.name:
        if t.size not in (1, 2, 4, 8):  # btf__add_enum's check
            raise BTFFormatError(f"cannot distill enum '{shown(t.name)}' [{tid}]: size {t.size} is not 1, 2, 4 or 8",
                                 path=path)
        return T.Enum(name=t.name, size=t.size)
    return None


def distill(split: Spec) -> tuple[Spec, Spec]:
    """``split`` (split BTF on its full base) as a distilled base and the split BTF on it."""
    base = split.base
    if base is None:
        raise BTFFormatError("distilling needs split BTF (give its base)", path=split.path)
    used = sorted(_used_base_ids(split))
    new: dict[int, int] = {0: 0}
    dist = Spec(byteorder=split.byteorder)
    moved = []
    for bid in used:
        t = split.type_by_id(bid)
        form = _base_form(t, bid, split.path)
        if form is None:
            moved.append(bid)
        else:
            new[bid] = dist.add(form)
    dist = Spec.parse(dist.to_bytes(), path=split.path)
    shift = split.start_id - dist.type_cnt
    for tid in split.own_ids():
        new[tid] = tid - shift
    for i, bid in enumerate(moved):
        new[bid] = split.type_cnt - shift + i
    out = Spec(base=dist, byteorder=split.byteorder)
    for tid in [*split.own_ids(), *moved]:
        out.add(remap(split.type_by_id(tid), new))
    return dist, Spec.parse(out.to_bytes(), base=dist, path=split.path)


def distilled_object(split: Spec) -> bytes:
    """``split`` distilled, as an ELF object holding ``.BTF`` and ``.BTF.base`` (the sections
    a module built out of tree carries)."""
    dist, out = distill(split)
    return btf_object({".BTF": out.to_bytes(), ".BTF.base": dist.to_bytes()}, big_endian=split.byteorder == "big")
