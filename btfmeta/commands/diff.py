"""``diff``: what changed between two layouts, type by type and flavor by flavor (members,
bit-fields, enum values, size and alignment), and what it means for a CO-RE program.

Members are compared by name, through anonymous members (``rx``'s union members appear as
fields of the struct that holds them) and arrays of anonymous records (``seq[].csum``); a
member that disappears while one of the same place, size and type appears is a rename.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..btf import types as T
from ..btf.query import align_of, essential, field_size, parse_selector, skip_mods_and_typedefs, type_name
from ..btf.spec import Spec
from ..render.templates import render
from . import document

COMPATIBLE, RELOCATION, BREAKS = "compatible", "needs relocation", "breaks unguarded readers"


@dataclass
class FieldInfo:
    name: str
    bit_offset: int
    bit_size: int
    size: int
    type: str


@dataclass
class TypeDiff:
    kind: str
    old: str | None
    new: str | None
    changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def core(self) -> str:
        kinds = {c["change"] for c in self.changes}
        if kinds & {"removed", "renamed", "retyped", "removed type", "value removed", "bitfield changed"}:
            return BREAKS
        if kinds & {"moved", "resized", "size", "value renumbered"}:
            return RELOCATION
        return COMPATIBLE


def _fields(btf: Spec, comp: T.Struct | T.Union, base: int = 0, prefix: str = "") -> list[FieldInfo]:
    """Every member, and the members of anonymous types within, at any depth: through an
    anonymous member (named as if its members were the holder's), through a named member
    of an anonymous type (``rx.ipv4.saddr``), and through arrays of them (``seq[].csum``,
    ``grid[][].x``: the first element's), which no other type's diff covers."""
    out = []
    for m in comp.members:
        _, mt = skip_mods_and_typedefs(btf, m.type)
        off = base + m.bits_offset
        if not m.name and isinstance(mt, T.Composite):
            out += _fields(btf, mt, off, prefix)
            continue
        name = prefix + (m.name or f"<anon@{off}>")
        out.append(FieldInfo(name, off, m.bitfield_size, field_size(btf, m.type), type_name(btf, m.type)))
        elem, dims = _element(btf, mt)
        if m.name and isinstance(elem, T.Composite) and not elem.name:
            out += _fields(btf, elem, off, name + "[]" * dims + ".")
    return out


def _element(btf: Spec, t: T.Type | None) -> tuple[T.Type | None, int]:
    """Through arrays (and the modifiers and typedefs between them): the element type, and
    how many arrays were crossed (an array chain that loops ends at an array)."""
    dims = 0
    while isinstance(t, T.Array) and dims < btf.type_cnt:
        dims += 1
        _, t = skip_mods_and_typedefs(btf, t.type)
    return t, dims


def _named(btf: Spec, wanted: set[str] | None) -> dict[tuple[str, str], list[tuple[int, str]]]:
    """(kind, essential name) -> [(id, name)] of named structs, unions and enums, and of
    anonymous ones named by a typedef (``typedef struct {...} t``; the id is the struct's)."""
    out: dict[tuple[str, str], list] = {}
    for tid, t in btf:
        if not t.name:
            continue
        if isinstance(t, T.Typedef):
            tid, t_inner = skip_mods_and_typedefs(btf, t.type)
            if t_inner is None or t_inner.name:
                continue
            kind_of = t_inner
        else:
            kind_of = t
        if not isinstance(kind_of, (T.Struct, T.Union, T.Enum, T.Enum64)):
            continue
        kind = "enum" if isinstance(kind_of, T.EnumLike) else kind_of.kind.name.lower()
        key = (kind, essential(t.name))
        if wanted is None or key[1] in wanted:
            out.setdefault(key, []).append((tid, t.name))
    return out


def _pairs(old: list, new: list) -> list[tuple]:
    """Flavor by flavor: exact names first, then the rest in order."""
    pairs = []
    old, new = list(old), list(new)
    for o in list(old):
        match = next((n for n in new if n[1] == o[1]), None)
        if match is not None:
            pairs.append((o, match))
            old.remove(o)
            new.remove(match)
    for o, n in zip(old, new, strict=False):
        pairs.append((o, n))
    pairs += [(o, None) for o in old[len(new):]] + [(None, n) for n in new[len(old):]]
    return pairs


def _composite_changes(ob: Spec, oid: int, nb: Spec, nid: int) -> list[dict]:
    o, n = ob.type_by_id(oid), nb.type_by_id(nid)
    changes = []
    if o.size != n.size:
        changes.append({"change": "size", "old": o.size, "new": n.size})
    old_align, new_align = align_of(ob, oid), align_of(nb, nid)
    if old_align != new_align:
        changes.append({"change": "alignment", "old": old_align, "new": new_align})
    of = {f.name: f for f in _fields(ob, o)}
    nf = {f.name: f for f in _fields(nb, n)}
    removed = [f for name, f in of.items() if name not in nf]
    added = [f for name, f in nf.items() if name not in of]
    for r in list(removed):
        twin = next((a for a in added if (a.bit_offset, a.bit_size, a.size, a.type) ==
                     (r.bit_offset, r.bit_size, r.size, r.type)), None)
        if twin is not None:
            changes.append({"change": "renamed", "field": r.name, "new_name": twin.name, "bit_offset": r.bit_offset})
            removed.remove(r)
            added.remove(twin)
    changes += [{"change": "removed", "field": f.name, "bit_offset": f.bit_offset} for f in removed]
    changes += [{"change": "added", "field": f.name, "bit_offset": f.bit_offset, "size": f.size, "type": f.type}
                for f in added]
    for name, a in of.items():
        b = nf.get(name)
        if b is None:
            continue
        if a.bit_offset != b.bit_offset:
            changes.append({"change": "moved", "field": name, "old": a.bit_offset, "new": b.bit_offset})
        if a.bit_size != b.bit_size:
            changes.append({"change": "bitfield changed", "field": name, "old": a.bit_size, "new": b.bit_size})
        elif a.size != b.size:
            changes.append({"change": "resized", "field": name, "old": a.size, "new": b.size})
        elif a.type != b.type:
            changes.append({"change": "retyped", "field": name, "old": a.type, "new": b.type})
    return changes


def _enum_changes(o, n) -> list[dict]:
    changes = []
    if o.size != n.size:
        changes.append({"change": "size", "old": o.size, "new": n.size})
    ov = {v.name: v.value for v in o.values}
    nv = {v.name: v.value for v in n.values}
    changes += [{"change": "value removed", "field": k, "old": v} for k, v in ov.items() if k not in nv]
    changes += [{"change": "value added", "field": k, "new": v} for k, v in nv.items() if k not in ov]
    changes += [{"change": "value renumbered", "field": k, "old": v, "new": nv[k]}
                for k, v in ov.items() if k in nv and nv[k] != v]
    return changes


def diff(old: Spec, new: Spec, types: list[str] | None = None) -> list[TypeDiff]:
    wanted = {essential(parse_selector(t)[1]) for t in types} if types else None
    a, b = _named(old, wanted), _named(new, wanted)
    out = []
    for key in sorted(set(a) | set(b)):
        kind = key[0]
        for o, n in _pairs(a.get(key, []), b.get(key, [])):
            d = TypeDiff(kind, o[1] if o else None, n[1] if n else None)
            if o is None:
                d.changes.append({"change": "added type"})
            elif n is None:
                d.changes.append({"change": "removed type"})
            elif kind == "enum":
                d.changes = _enum_changes(old.type_by_id(o[0]), new.type_by_id(n[0]))
            else:
                d.changes = _composite_changes(old, o[0], new, n[0])
            if d.changes:
                out.append(d)
    return out


def text(diffs: list[TypeDiff]) -> str:
    return render("diff.txt.j2", diffs=diffs)


def to_json(diffs: list[TypeDiff], old: str, new: str) -> dict[str, Any]:
    return document(1, old=old, new=new, changed=len(diffs),
                    types=[{"kind": d.kind, "old": d.old, "new": d.new, "core": d.core, "changes": d.changes}
                           for d in diffs])
