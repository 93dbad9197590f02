"""``diff``: what changed between two layouts, type by type and flavor by flavor (members,
bit-fields, enum values, size and alignment), and what it means for a CO-RE program.

Members are compared by name, through anonymous members (``rx``'s union members appear as
fields of the struct that holds them); a member that disappears while one of the same place,
size and type appears is a rename.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .btf import types as T
from .btf.spec import Spec
from .core.btfutil import essential, field_size, skip_mods_and_typedefs
from .objinfo import type_name
from .render.c_dump import CDumper  # libbpf's btf__align_of, with its packed-layout rule

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
    out = []
    for m in comp.members:
        _, mt = skip_mods_and_typedefs(btf, m.type)
        off = base + m.bits_offset
        if not m.name and isinstance(mt, T.Composite):
            out += _fields(btf, mt, off, prefix)
            continue
        out.append(FieldInfo(prefix + (m.name or f"<anon@{off}>"), off, m.bitfield_size, field_size(btf, m.type),
                             type_name(btf, m.type)))
    return out


def _named(btf: Spec, wanted: set[str] | None) -> dict[tuple[str, str], list[tuple[int, T.Type]]]:
    """(kind, essential name) -> [(id, type)] of named structs, unions, enums (own types only)."""
    out: dict[tuple[str, str], list] = {}
    for tid, t in btf:
        if not t.name or not isinstance(t, (T.Struct, T.Union, T.Enum, T.Enum64)):
            continue
        kind = "enum" if isinstance(t, T.EnumLike) else t.kind.name.lower()
        key = (kind, essential(t.name))
        if wanted is None or key[1] in wanted:
            out.setdefault(key, []).append((tid, t))
    return out


def _pairs(old: list, new: list) -> list[tuple]:
    """Flavor by flavor: exact names first, then the rest in order."""
    pairs = []
    old, new = list(old), list(new)
    for o in list(old):
        match = next((n for n in new if n[1].name == o[1].name), None)
        if match is not None:
            pairs.append((o, match))
            old.remove(o)
            new.remove(match)
    for o, n in zip(old, new, strict=False):
        pairs.append((o, n))
    pairs += [(o, None) for o in old[len(new):]] + [(None, n) for n in new[len(old):]]
    return pairs


def _composite_changes(ob: Spec, oid: int, nb: Spec, nid: int, align) -> list[dict]:
    o, n = ob.type_by_id(oid), nb.type_by_id(nid)
    changes = []
    if o.size != n.size:
        changes.append({"change": "size", "old": o.size, "new": n.size})
    old_align, new_align = align[0].align_of(oid), align[1].align_of(nid)
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
    wanted = {essential(t.split()[-1]) for t in types} if types else None
    a, b = _named(old, wanted), _named(new, wanted)
    aligners = (CDumper(old, lambda _: None), CDumper(new, lambda _: None))
    out = []
    for key in sorted(set(a) | set(b)):
        kind = key[0]
        for o, n in _pairs(a.get(key, []), b.get(key, [])):
            d = TypeDiff(kind, o[1].name if o else None, n[1].name if n else None)
            if o is None:
                d.changes.append({"change": "added type"})
            elif n is None:
                d.changes.append({"change": "removed type"})
            elif kind == "enum":
                d.changes = _enum_changes(o[1], n[1])
            else:
                d.changes = _composite_changes(old, o[0], new, n[0], aligners)
            if d.changes:
                out.append(d)
    return out


def to_json(diffs: list[TypeDiff], old: str, new: str) -> dict[str, Any]:
    return {"version": 1, "old": old, "new": new, "changed": len(diffs),
            "types": [{"kind": d.kind, "old": d.old, "new": d.new, "core": d.core, "changes": d.changes}
                      for d in diffs]}
