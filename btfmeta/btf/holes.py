"""Where members sit and what is left unused, counted as pahole counts: a bit-field fills
its storage unit; holes, bit holes, padding and sums (``layout`` JSON and pahole's view)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import types as T
from .query import field_size
from .spec import Spec


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
