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
    combined_next: bool  # starts inside the storage of the member before (pahole's "last_size")
    combined_prev: bool  # starts before the member before, or is a bit-field at its offset
    filler: int | None  # a bit-field after a bit hole: pahole prints "TYPE :N;" (N 0: in another unit)


def walk(t: T.Struct | T.Union, btf: Spec) -> tuple[list[Span], int, int, bool]:
    """Spans of ``t``'s members, and the used end, unit end and bit-field-ness of the last."""
    is_struct = isinstance(t, T.Struct)
    spans = []
    used_end = unit_end = 0
    bitfield = False
    last_offset = last_size = None  # pahole's byte offset and "last_size" of the member before
    last_bitfield = False
    for m in t.members:
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
        offset = unit_start // 8  # pahole's byte_offset: a bit-field's storage unit
        if is_struct:
            if start >= unit_end:
                if bitfield and unit_end > used_end:
                    bit_hole = (used_end, unit_end - used_end)
                if start - unit_end >= 8:
                    hole = (unit_end // 8, (start - unit_end) // 8)
            elif start > used_end:
                bit_hole = (used_end, start - used_end)
            if last_size:  # dwarves_fprintf.c: class__fprintf's checks against the member before
                combined_prev = offset < last_offset or (offset == last_offset and not last_bitfield
                                                         and bool(m.bitfield_size))
                combined_next = not combined_prev and 0 < offset - last_offset < last_size
            # a bit-field sharing the previous unit extends it; anything else starts afresh
            shares = bool(m.bitfield_size) and start < unit_end
            used_end, unit_end = m_used, max(unit_end, m_unit_end) if shares else m_unit_end
        else:
            used_end, unit_end = max(used_end, m_used), max(unit_end, m_unit_end)
        filler = None
        if last_size and m.bitfield_size and bit_hole:
            filler = bit_hole[1] if offset == last_offset else 0
        spans.append(Span(m, size, start, m_unit_end, bit_hole, hole, combined_next, combined_prev, filler))
        if last_size is None or not last_size or offset != last_offset or (not last_bitfield and m.bitfield_size):
            last_size = size
        last_offset, last_bitfield = offset, bool(m.bitfield_size)
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
