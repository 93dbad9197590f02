"""Split BTF moved from its distilled base onto a real base, as libbpf's ``btf__relocate``
(``btf_relocate.c``, libbpf >= 1.5; the kernel runs the same file when it loads a module
with ``.BTF.base``).

Each distilled base type is matched by name in the base: INT (and its encoding), FLOAT
and ENUM (ENUM or ENUM64 of the base) by name and size, FWD by name and kind flag (or a
base struct or union of that name), STRUCT/UNION by name alone unless the base has
several of that name (then by size too), or unless the split BTF embeds it (a member of
that type through typedefs, modifiers and arrays, not through a pointer: then the size
must match).  Every distilled type must find exactly one base type.  The split BTF's ids
and string offsets are then rewritten in place, so its bytes stay as they were but for
those words -- what ``btf__raw_data`` gives after ``btf__relocate``.
"""

from __future__ import annotations

from ..errors import BTFFormatError
from ..profiles import select
from ..profiles.libbpf import PROFILES
from . import types as T
from .codec import slots
from .kinds import Kind
from .spec import Spec

_DIST_KINDS = (Kind.INT, Kind.FLOAT, Kind.ENUM, Kind.STRUCT, Kind.UNION, Kind.FWD)
_THROUGH = (Kind.CONST, Kind.RESTRICT, Kind.VOLATILE, Kind.TYPEDEF, Kind.TYPE_TAG)
_SIZED = (Kind.INT, Kind.FLOAT, Kind.ENUM, Kind.ENUM64)


def _marks_all_split_types(libbpf: str | None) -> bool:
    """libbpf 1.5 looked for embedded structs only in the split ids below the split's type
    count (``id < nr_split_types``); 1.6 fixed the bound to every split id."""
    version = select("libbpf", PROFILES, libbpf).version
    number = tuple(int(v) for v in version.split("."))
    if number < (1, 5):
        raise BTFFormatError(f"libbpf {version} has no distilled base BTF (btf__relocate came with libbpf 1.5)")
    return number >= (1, 6)


def _fail(message: str, path: str | None) -> BTFFormatError:
    return BTFFormatError(message, path=path)


def shown(name: str) -> str:
    """A name as a one-line message shows it: libbpf's words for printable names, escapes
    for what is not (a lying section's names may hold newlines)."""
    return name if name.isprintable() else repr(name)[1:-1]


def _validate_distilled(dist: Spec, recs: list, path: str | None) -> None:
    for tid in range(1, dist.type_cnt):
        r = recs[tid]
        if r.kind not in _DIST_KINDS:
            raise _fail(f"type [{tid}] in distilled based BTF has unexpected kind [{int(r.kind)}]", path)
        if not r.name_off:
            raise _fail(f"type [{tid}], kind [{int(r.kind)}] is invalid for distilled base BTF; it is anonymous", path)


def _embedded(split: Spec, nr_dist: int, last: int) -> set[int]:
    """Distilled struct/union ids that a split struct/union (of ids ``nr_dist .. last-1``)
    holds by value."""
    found: set[int] = set()
    for tid in range(nr_dist, last):
        if split.kind_of(tid) not in (Kind.STRUCT, Kind.UNION):
            continue
        for m in split.type_by_id(tid).members:
            ref, seen = m.type, set()
            while ref and ref not in seen:  # a typedef cycle: libbpf loops forever, here it ends
                seen.add(ref)
                kind = split.kind_of(ref)
                if kind in _THROUGH or kind == Kind.ARRAY:
                    ref = split.type_by_id(ref).type
                else:
                    if kind in (Kind.STRUCT, Kind.UNION) and ref < nr_dist:
                        found.add(ref)
                    break
    return found


def _map_distilled(split: Spec, base: Spec, libbpf: str | None) -> tuple[dict[int, int], dict[int, int]]:
    """Distilled id -> base id, and distilled name offset -> base name offset.  libbpf walks
    the base by id and looks each named type up among the distilled ones; here the base's
    types of each distilled name are found by name, and the matches taken in base id order."""
    dist = split.base
    nr_dist = dist.type_cnt
    path = split.path
    drecs = [None, *(_Fields(dist, tid) for tid in range(1, nr_dist))]
    _validate_distilled(dist, drecs, path)
    by_name: dict[str, list[int]] = {}
    for tid in range(1, nr_dist):
        by_name.setdefault(dist.type_by_id(tid).name, []).append(tid)
    last = split.type_cnt if _marks_all_split_types(libbpf) else split.type_cnt - nr_dist
    embedded = _embedded(split, nr_dist, last)
    matches = []
    in_base = base.find_all(by_name)
    for name, dids in by_name.items():
        dids.sort(key=lambda i: -drecs[i].size)  # libbpf's sort: by name, then size descending
        cands = [_Fields(base, bid) for bid in in_base.get(name, ())]
        composites: dict[int, int] = {}
        for b in cands:
            if b.kind in (Kind.STRUCT, Kind.UNION):
                composites[b.name_off] = composites.get(b.name_off, 0) + 1
        for b in cands:
            if b.kind in _SIZED:
                needs_size = True
            elif b.kind == Kind.FWD:
                needs_size = False
            elif b.kind in (Kind.STRUCT, Kind.UNION):
                needs_size = composites[b.name_off] > 1
            else:
                continue
            matches.extend((b, did) for did in dids if (not needs_size or drecs[did].size == b.size)
                           and _compatible(drecs[did], b, did in embedded))
    matches.sort(key=lambda m: m[0].id)  # stable: within one base type, in the distilled order
    ids: dict[int, int] = {}
    strs: dict[int, int] = {}
    for b, did in matches:
        if did in ids:
            raise _fail(f"distilled base BTF type '{shown(b.name)}' [{did}], size {b.size} has multiple candidates of "
                        f"the same size (ids [{b.id}, {ids[did]}]) in base BTF", path)
        ids[did] = b.id
        strs[drecs[did].name_off] = b.name_off
    for did in range(1, nr_dist):
        if did not in ids:
            name = dist.type_by_id(did).name
            raise _fail(f"distilled base BTF type '{shown(name)}' [{did}] is not mapped to base BTF id", path)
    return ids, strs


class _Fields:
    """What libbpf's matching reads of a type record."""

    __slots__ = ("id", "int_encoding", "kflag", "kind", "name", "name_off", "size")

    def __init__(self, spec: Spec, tid: int):
        t = spec.type_by_id(tid)
        self.id = tid
        self.name = t.name
        self.kind = t.kind
        self.kflag = int(t.is_union if isinstance(t, T.Fwd) else getattr(t, "kflag", False))
        self.name_off = spec.name_offset(tid)
        self.size = getattr(t, "size", 0)
        self.int_encoding = t.encoding if isinstance(t, T.Int) else 0


def _compatible(d: _Fields, b: _Fields, embedded: bool) -> bool:
    """libbpf's checks of a same-named candidate (quirks kept: a distilled struct takes a
    base type of any kind, a forward struct no base struct with the kind flag set)."""
    if d.kind == Kind.FWD:
        if b.kind == Kind.FWD:
            return d.kflag == b.kflag
        if b.kind == Kind.STRUCT:
            return not b.kflag
        return b.kind == Kind.UNION and bool(b.kflag)
    if d.kind == Kind.INT:
        return b.kind == Kind.INT and b.int_encoding == d.int_encoding
    if d.kind == Kind.FLOAT:
        return b.kind == Kind.FLOAT
    if d.kind == Kind.ENUM:
        return b.kind in (Kind.ENUM, Kind.ENUM64)
    return not embedded or b.size == d.size  # STRUCT, UNION


def relocate_split(split: Spec, base: Spec, *, libbpf: str | None = None) -> tuple[bytes, list[int]]:
    """``split`` (read on its distilled base) renumbered onto ``base``: its raw bytes, and
    libbpf's id map (old id -> new id, for every id below the split's type count)."""
    dist = split.base
    if dist is None:
        raise _fail("relocation needs split BTF read on its distilled base", split.path)
    split, base = split.pristine(), base.pristine()
    for _ in split.types(range(1, split.type_cnt)):  # libbpf's btf_new has checked every record
        pass
    nr_dist, nr_base = dist.type_cnt, base.type_cnt
    ids, strs = _map_distilled(split, base, libbpf)
    id_map = [0] + [ids[i] for i in range(1, nr_dist)] + \
        [i + nr_base - nr_dist for i in range(nr_dist, split.type_cnt)]
    dist_len, base_len = dist.strings.end, base.strings.end  # a base that is split: its strings end past its own
    words, offsets = split.records()
    for p in offsets:
        id_slots, str_slots = slots(words, p)
        for at in id_slots:
            words[at] = id_map[words[at]]
        for at in str_slots:
            off = words[at]
            if not off:
                continue
            if off >= dist_len:
                words[at] = (off + base_len - dist_len) & 0xFFFFFFFF
            elif off in strs:
                words[at] = strs[off]
            else:
                raise _fail(f"string '' [offset {off}] is not mapped to base BTF", split.path)
    return split.with_records(words), id_map
