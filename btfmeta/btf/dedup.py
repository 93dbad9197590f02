"""Split BTF on a base, as ``btf__dedup`` does for module BTF: every type that is
structurally equal to a base type (same kind, name, layout, and equal referenced
types) is replaced by the base type; the rest is renumbered after the base.

INT names are compared as C type-specifier sets, so clang's ``unsigned short``
matches GCC's ``short unsigned int`` in a vmlinux base, and an array's index
type is not compared (clang uses ``__ARRAY_SIZE_TYPE__``, pahole ``int``).
"""

from __future__ import annotations

import dataclasses

from . import types as T
from .kinds import Kind
from .spec import Spec

ARRAY_SIZE_TYPE = "__ARRAY_SIZE_TYPE__"
_REF_KINDS = (Kind.PTR, Kind.CONST, Kind.VOLATILE, Kind.RESTRICT, Kind.TYPE_TAG)


def int_name_key(name: str) -> tuple[str, ...]:
    """``short unsigned int`` and ``unsigned short`` name the same C type."""
    words = name.split()
    if "char" not in words:
        if "signed" in words:
            words.remove("signed")
        if "int" in words and len(words) > 1:
            words.remove("int")
        if not words:
            words = ["int"]
    return tuple(sorted(words))


class _Matcher:
    def __init__(self, own: Spec, base: Spec):
        self.own = own
        self.base = base
        self.map: dict[int, int] = {}
        self._ints: dict[tuple, list[int]] | None = None
        self._named: dict[str, list[int]] | None = None

    # -- base lookups, through the base's record columns (no type decoded but the answers) ---

    def named(self, name: str) -> list[int]:
        """Base ids named ``name``, ascending; the names of every own type are looked up
        at once, in one pass over the base's name words."""
        if self._named is None:
            self._named = self.base.find_all({t.name for _, t in self.own})
        return self._named[name]

    def first_referring(self, t: T.Type, target: int) -> int | None:
        """The first base PTR/modifier/TYPE_TAG equal to ``t`` (kind, name, and the kind flag
        that makes a type tag an attribute) on ``target``."""
        b = self.base
        return next((tid for tid in b.own_referring(t.kind, target) if _same_tag(b.type_by_id(tid), t)), None)

    def first_array(self, elem: int, nelems: int) -> int | None:
        b = self.base
        return next((tid for tid in b.own_of_kind(Kind.ARRAY)
                     if b.type_by_id(tid).type == elem and b.type_by_id(tid).nelems == nelems), None)

    def ints(self) -> dict[tuple, list[int]]:
        """Base INTs by C specifier set (a few dozen in a vmlinux)."""
        if self._ints is None:
            self._ints = {}
            for tid in self.base.own_of_kind(Kind.INT):
                self._ints.setdefault(int_name_key(self.base.type_by_id(tid).name), []).append(tid)
        return self._ints

    # -- matching ---------------------------------------------------------------------------

    def resolve(self, oid: int) -> int | None:
        """Base id equal to own type ``oid``, or None (memoized)."""
        if oid == 0:
            return 0
        if oid in self.map:
            return self.map[oid]
        t = self.own.type_by_id(oid)
        found = None
        if isinstance(t, (T.Ptr, T.Const, T.Volatile, T.Restrict, T.TypeTag)):
            target = self.resolve(t.type)
            if target is not None:
                found = self.first_referring(t, target)
        elif isinstance(t, T.Array):
            elem = self.resolve(t.type)
            if elem is not None:
                found = self.first_array(elem, t.nelems)
        elif isinstance(t, T.Int):
            found = self._first_equal(oid, self.ints().get(int_name_key(t.name), []))
        elif t.name and isinstance(t, (T.Struct, T.Union, T.Enum, T.Enum64, T.Typedef, T.Float, T.Fwd)):
            cands = [b for b in self.named(t.name) if self.base.kind_of(b) == t.kind]
            if isinstance(t, T.Fwd):
                cands = self._fwd_target(t) or cands
            found = self._first_equal(oid, cands)
        if found is not None or oid not in self.map:
            self.map[oid] = found
        return self.map[oid]

    def _fwd_target(self, t: T.Fwd) -> list[int]:
        """The base struct or union a forward declaration stands for, as ``btf__dedup``
        resolves one: only when the base has a single struct or union of that name (pahole
        keeps a FWD to a name vmlinux uses for several, so does compile)."""
        records = [b for b in self.named(t.name) if self.base.kind_of(b) in (Kind.STRUCT, Kind.UNION)]
        want = Kind.UNION if t.is_union else Kind.STRUCT
        return records if len(records) == 1 and self.base.kind_of(records[0]) == want else []

    def _first_equal(self, oid: int, cands: list[int]) -> int | None:
        for bid in cands:
            pairs: dict[int, int] = {}
            if self._equal(oid, bid, pairs):
                for o, b in pairs.items():
                    self.map.setdefault(o, b)
                return bid
        return None

    def _equal(self, oid: int, bid: int, pairs: dict[int, int]) -> bool:
        if oid == 0 or bid == 0:
            return oid == bid
        if oid in pairs:
            return pairs[oid] == bid
        known = self.map.get(oid)
        if known is not None:
            return known == bid
        a = self.own.type_by_id(oid)
        b = self.base.type_by_id(bid)
        if isinstance(a, T.Fwd) and isinstance(b, T.Composite) and a.name == b.name:
            pairs[oid] = bid
            return (b.kind == Kind.UNION) == a.is_union
        if a.kind != b.kind:
            return False
        pairs[oid] = bid
        if isinstance(a, T.Int):
            return (int_name_key(a.name) == int_name_key(b.name) and a.size == b.size
                    and a.encoding == b.encoding and a.bits_offset == b.bits_offset and a.nr_bits == b.nr_bits)
        if a.name != b.name:
            return False
        if isinstance(a, T.Composite):
            return a.size == b.size and len(a.members) == len(b.members) and all(
                m.name == n.name and m.bits_offset == n.bits_offset and m.bitfield_size == n.bitfield_size
                and self._equal(m.type, n.type, pairs) for m, n in zip(a.members, b.members, strict=False))
        if isinstance(a, T.EnumLike):
            return a.size == b.size and [(v.name, v.value) for v in a.values] == \
                [(v.name, v.value) for v in b.values]
        if isinstance(a, (T.Float, T.Fwd)):
            return a == b
        if isinstance(a, T.Array):  # the index type is not layout (clang and pahole differ on it)
            return a.nelems == b.nelems and self._equal(a.type, b.type, pairs)
        if isinstance(a, T.FuncProto):
            return len(a.params) == len(b.params) and self._equal(a.return_type, b.return_type, pairs) and all(
                p.name == q.name and self._equal(p.type, q.type, pairs)
                for p, q in zip(a.params, b.params, strict=True))
        if isinstance(a, (T.Ptr, T.Typedef, T.Const, T.Volatile, T.Restrict, T.TypeTag)):
            return _same_tag(a, b) and self._equal(a.type, b.type, pairs)
        return False  # FUNC, VAR, DATASEC, DECL_TAG are never merged into the base


def _same_tag(a: T.Type, b: T.Type) -> bool:
    """Same name, and for type tags the same kind flag (1: an attribute, pahole >= 1.30)."""
    return a.name == b.name and getattr(a, "kflag", False) == getattr(b, "kflag", False)


def remap(t: T.Type, new: dict[int, int]) -> T.Type:
    """A copy of ``t`` with its referenced ids rewritten."""
    if isinstance(t, T.Composite):
        return type(t)(name=t.name, size=t.size, kflag=t.kflag, members=[
            T.Member(name=m.name, type=new[m.type], bits_offset=m.bits_offset, bitfield_size=m.bitfield_size)
            for m in t.members])
    if isinstance(t, T.Array):
        return T.Array(name=t.name, type=new[t.type], index_type=new[t.index_type], nelems=t.nelems)
    if isinstance(t, T.FuncProto):
        return T.FuncProto(name=t.name, return_type=new[t.return_type],
                           params=[T.Param(name=p.name, type=new[p.type]) for p in t.params])
    if isinstance(t, T.Datasec):
        return T.Datasec(name=t.name, size=t.size,
                         vars=[T.VarSecinfo(type=new[v.type], offset=v.offset, size=v.size) for v in t.vars])
    if hasattr(t, "type"):
        return dataclasses.replace(t, type=new[t.type])
    return t


def split_on_base(spec: Spec, base: Spec) -> Spec:
    """``spec`` (standalone) as split BTF on ``base``, sharing every equal type."""
    m = _Matcher(spec, base)
    for tid in spec.own_ids():
        m.resolve(tid)
    out = Spec(base=base, byteorder=spec.byteorder)
    new: dict[int, int] = {0: 0}
    unmapped = [tid for tid in spec.own_ids() if m.map.get(tid) is None]
    # clang's synthetic array index type goes too when no array that stays needs it
    used = {r for tid in unmapped for r in T.referenced_ids(spec.type_by_id(tid))}
    kept = [tid for tid in unmapped if tid in used or spec.type_by_id(tid).name != ARRAY_SIZE_TYPE
            or not isinstance(spec.type_by_id(tid), T.Int)]
    for tid in spec.own_ids():
        mapped = m.map.get(tid)
        if mapped is not None:
            new[tid] = mapped
    for i, tid in enumerate(kept):
        new[tid] = out.start_id + i
    for tid in kept:
        out.add(remap(spec.type_by_id(tid), new))
    return out
