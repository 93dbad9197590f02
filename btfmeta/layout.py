"""``layout``: the layout of structs and unions as data -- every member's byte and bit
offset, size, resolved type, nested anonymous members, holes, bit holes, padding and
cachelines -- in a versioned JSON schema (``SCHEMA_VERSION``) for tools and AF_XDP readers.

Schema (version 1)::

    {"version": 1, "target": str, "cacheline": int,
     "types": [{"kind": "struct"|"union", "name": str, "id": int, "size": int,
                "alignment": int, "packed": bool, "cachelines": int, "members": [MEMBER...],
                "holes": [{"offset": int, "size": int}], "bit_holes": [{"offset": int, "bit_offset": int,
                "bits": int}], "padding": int, "bit_padding": int, "sum_members": int,
                "sum_bitfield_bits": int}]}
    MEMBER = {"name": str, "type": str, "offset": int, "size": int, "bit_offset": int,
              "bit_size": int, "cacheline": int, "members": [MEMBER...]   # anonymous/inline types}

Offsets are from the start of the outermost type; ``bit_offset`` is absolute in bits, and
for a bit-field ``offset`` is the byte holding its first bit. Holes, padding and sums count
a bit-field as occupying its storage unit, as pahole does (``bit_padding``: unused bits of
the last unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .btf import types as T
from .btf.spec import Spec
from .core.btfutil import field_size, skip_mods_and_typedefs
from .errors import TypeLookupError
from .objinfo import type_name
from .render.c_dump import CDumper

SCHEMA_VERSION = 1


def _members(btf: Spec, comp: T.Struct | T.Union, base_bits: int, cacheline: int) -> list[dict[str, Any]]:
    out = []
    for m in comp.members:
        bit = base_bits + m.bits_offset
        _, mt = skip_mods_and_typedefs(btf, m.type)
        entry = {"name": m.name, "type": type_name(btf, m.type), "offset": bit // 8,
                 "size": 0 if m.bitfield_size else field_size(btf, m.type), "bit_offset": bit,
                 "bit_size": m.bitfield_size, "cacheline": bit // 8 // cacheline, "members": []}
        if isinstance(mt, T.Composite) and not mt.name:  # inline (anonymous) struct/union: expand
            entry["members"] = _members(btf, mt, bit, cacheline)
        out.append(entry)
    return out


@dataclass
class Span:
    """Where a member sits, counted as pahole counts: a bit-field fills its storage unit."""

    member: T.Member
    size: int  # bytes of the member's type (the storage unit of a bit-field)
    start: int  # bit offset within the containing type
    unit_end: int  # bit where the member's storage ends
    bit_hole: tuple[int, int] | None  # (bit offset, bits) left unused before this member
    hole: tuple[int, int] | None  # (byte offset, bytes) left unused before this member
    combined_next: bool  # a non-bit-field placed inside the previous bit-field's unit
    combined_prev: bool  # a bit-field whose unit starts inside the previous members


def walk(t: T.Struct | T.Union, btf: Spec) -> tuple[list[Span], int, int, bool]:
    """Spans of ``t``'s members, and the used end, unit end and bit-field-ness of the last."""
    is_struct = isinstance(t, T.Struct)
    spans = []
    used_end = unit_end = 0
    bitfield = False
    for i, m in enumerate(t.members):
        size = field_size(btf, m.type)
        start = m.bits_offset
        if m.bitfield_size:
            unit = max(size, 1) * 8
            unit_start = start // unit * unit
            m_used, m_unit_end = start + m.bitfield_size, unit_start + unit
        else:
            unit_start = start
            m_used = m_unit_end = start + size * 8
        bit_hole = hole = None
        combined_next = combined_prev = False
        if is_struct:
            if start >= unit_end:
                if bitfield and unit_end > used_end:
                    bit_hole = (used_end, unit_end - used_end)
                if start - unit_end >= 8:
                    hole = (unit_end // 8, (start - unit_end) // 8)
            elif start > used_end:
                bit_hole = (used_end, start - used_end)
            combined_next = bitfield and not m.bitfield_size and start < unit_end
            combined_prev = bool(m.bitfield_size) and not bitfield and i > 0 and unit_start < used_end
            # a bit-field sharing the previous unit extends it; anything else starts afresh
            shares = bool(m.bitfield_size) and start < unit_end
            used_end, unit_end = m_used, max(unit_end, m_unit_end) if shares else m_unit_end
        else:
            used_end, unit_end = max(used_end, m_used), max(unit_end, m_unit_end)
        spans.append(Span(m, size, start, m_unit_end, bit_hole, hole, combined_next, combined_prev))
        bitfield = bool(m.bitfield_size)
    return spans, used_end, unit_end, bitfield


def gaps(t: T.Struct | T.Union, btf: Spec) -> dict[str, Any]:
    """Holes, bit holes, padding and sums over the top-level members, as pahole counts them."""
    spans, used_end, unit_end, bitfield = walk(t, btf)
    is_struct = isinstance(t, T.Struct)
    return {
        "holes": [{"offset": sp.hole[0], "size": sp.hole[1]} for sp in spans if sp.hole],
        "bit_holes": [{"offset": sp.bit_hole[0] // 8, "bit_offset": sp.bit_hole[0], "bits": sp.bit_hole[1]}
                      for sp in spans if sp.bit_hole],
        "padding": max(t.size - unit_end // 8, 0) if is_struct else 0,
        "bit_padding": unit_end - used_end if bitfield and is_struct else 0,
        "sum_members": sum(sp.size for sp in spans if not sp.member.bitfield_size),
        "sum_bitfield_bits": sum(sp.member.bitfield_size for sp in spans),
    }


def select(btf: Spec, names: list[str] | None) -> list[int]:
    """Ids of the named structs/unions ('NAME' or 'struct NAME'), or all of this BTF's own."""
    if not names:
        return [tid for tid, t in btf if isinstance(t, T.Composite) and t.name]
    ids = []
    for n in names:
        kind, _, name = n.rpartition(" ")
        found = [i for i in btf.find_by_name(name) if isinstance(btf.type_by_id(i), T.Composite)
                 and (not kind or btf.type_by_id(i).kind.name.lower() == kind)]
        if not found:
            raise TypeLookupError(f"no struct or union named '{n}'", path=btf.path)
        ids += found
    return ids


def layout(btf: Spec, names: list[str] | None = None, *, cacheline: int = 64) -> dict[str, Any]:
    """Layouts of the named structs/unions (all of this BTF's own named ones if ``names`` is None)."""
    ids = select(btf, names)
    dumper = CDumper(btf, lambda _: None)  # btf__align_of and libbpf's packed detection
    types = []
    for tid in ids:
        t = btf.type_by_id(tid)
        types.append({
            "kind": t.kind.name.lower(), "name": t.name, "id": tid, "size": t.size,
            "alignment": dumper.align_of(tid),
            "packed": dumper.is_packed(t) if isinstance(t, T.Struct) else False,
            "cachelines": -(-t.size // cacheline), "members": _members(btf, t, 0, cacheline),
            **gaps(t, btf),
        })
    return {"version": SCHEMA_VERSION, "target": btf.path, "cacheline": cacheline, "types": types}
