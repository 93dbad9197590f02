"""The order in which bpftool >= 7.5 dumps a whole BTF as C (bpftool's btf.c: sort_btf_c,
btf_type_rank, btf_type_sort_name, btf_type_disambig_hash): by a rank of the kind, then the
name of what a reference chain ends at, then the type's own name, then a hash of names and
member type names, then the id.

Chains of references are walked iteratively, each id's answer kept, so sorting a BTF whose
types form a 10^5-long chain stays linear (bpftool recurses once per link)."""

from __future__ import annotations

from ..btf import types as T
from ..btf.kinds import Kind
from ..btf.spec import Spec
from ..errors import BTFFormatError

MAX_RANK = 10
_REFS = frozenset((Kind.TYPE_TAG, Kind.CONST, Kind.PTR, Kind.VOLATILE, Kind.RESTRICT, Kind.TYPEDEF,
                   Kind.DECL_TAG, Kind.ARRAY))
_MASK = (1 << 64) - 1


def _str_hash(name: str) -> int:
    """libbpf's str_hash (h = h * 31 + c over the bytes, as C's signed char on x86)."""
    h = 0
    for b in name.encode("utf-8", "surrogateescape"):
        h = (h * 31 + (b - 256 if b > 127 else b)) & _MASK
    return h


class _Sorter:
    def __init__(self, btf: Spec):
        self.btf = btf
        self.terminal: dict[int, int] = {}
        self.hashes: dict[tuple[int, bool], int] = {}
        self.name_hashes: dict[str, int] = {}

    def t(self, tid: int) -> T.Type | None:
        return None if tid == 0 else self.btf.type_by_id(tid)

    def _chain(self, tid: int, stop) -> list[int]:
        """Ids from ``tid`` along ``.type`` while the kind is a reference and ``stop`` is false."""
        path = []
        while (t := self.t(tid)) is not None and t.kind in _REFS and not stop(tid):
            path.append(tid)
            tid = t.type
            if len(path) > self.btf.type_cnt:
                raise BTFFormatError(f"type [{path[0]}] is part of a reference loop", path=self.btf.path)
        return [*path, tid]

    def end(self, tid: int) -> int:
        """The first type past the chain of references (arrays included) from ``tid``."""
        hit = self.terminal.get(tid)
        if hit is None:
            *path, last = self._chain(tid, self.terminal.__contains__)
            hit = self.terminal.get(last, last)
            for link in path:
                self.terminal[link] = hit
        return hit

    def rank(self, tid: int) -> int:
        t = self.t(tid)
        k = None if t is None else t.kind
        named = bool(t is not None and t.name)
        if k in _REFS:
            if not named:
                return MAX_RANK
            t = self.t(self.end(tid))
            k = None if t is None else t.kind
        if k in (Kind.ENUM, Kind.ENUM64):
            return 1 if named else 0
        if k in (Kind.INT, Kind.FLOAT):
            return 2
        if k in (Kind.STRUCT, Kind.UNION):
            return 3 if named else MAX_RANK
        if k == Kind.FUNC_PROTO:
            return 4 if named else MAX_RANK
        return MAX_RANK

    def sort_name(self, tid: int) -> str:
        t = self.t(tid)
        if t is None:
            return ""
        if t.kind in _REFS:
            end = self.t(self.end(tid))
            return "" if end is None else end.name
        if isinstance(t, T.EnumLike) and not t.name and t.values:
            return t.values[0].name
        return t.name

    def _name_hash(self, h: int, name: str) -> int:
        if not name:
            return h
        nh = self.name_hashes.get(name)
        if nh is None:
            nh = self.name_hashes[name] = _str_hash(name)
        return (h * 31 + nh) & _MASK

    def disambig(self, tid: int, members: bool) -> int:
        """btf_type_disambig_hash: folded from the chain's end back to ``tid``."""
        hit = self.hashes.get((tid, members))
        if hit is not None:
            return hit
        *path, last = self._chain(tid, lambda i: (i, members) in self.hashes)
        h = self.hashes.get((last, members))
        if h is None:
            h = self._own_hash(last, members)
            self.hashes[(last, members)] = h
        for link in reversed(path):
            t = self.t(link)
            pre = self._name_hash(0, t.name)
            if isinstance(t, T.Array):
                pre = (pre * 31 + t.nelems) & _MASK
            h = self.hashes[(link, members)] = (pre * 31 + h) & _MASK
        return h

    def _own_hash(self, tid: int, members: bool) -> int:
        t = self.t(tid)
        if t is None:
            return 0
        h = self._name_hash(0, t.name)
        if isinstance(t, T.EnumLike):
            for v in t.values:
                h = self._name_hash(h, v.name)
        elif isinstance(t, T.Composite) and members:
            for m in t.members:
                h = self._name_hash(h, m.name)
                h = (h * 31 + self.disambig(m.type, False)) & _MASK
        return h


def sorted_ids(btf: Spec) -> list[int]:
    """Every id of ``btf`` (void and a split BTF's base included) in bpftool's order."""
    s = _Sorter(btf)

    def key(tid: int):
        t = s.t(tid)
        own = "" if t is None else t.name
        sort_name = s.sort_name(tid).encode("utf-8", "surrogateescape")  # strcmp: bytes
        return s.rank(tid), sort_name, own.encode("utf-8", "surrogateescape"), s.disambig(tid, True), tid

    return sorted(range(btf.type_cnt), key=key)
