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

from typing import Any

from ..btf import types as T
from ..btf.holes import gaps
from ..btf.kinds import Kind
from ..btf.query import align_of, field_size, is_packed, select, skip_mods_and_typedefs, type_name
from ..btf.spec import Spec
from . import document

SCHEMA_VERSION = 1


def select_composites(btf: Spec, names: list[str] | None) -> list[int]:
    """Ids of the named structs/unions ('NAME' or 'struct NAME'), or all of this BTF's own."""
    if not names:
        return [tid for tid, t in btf if isinstance(t, T.Composite) and t.name]
    return [tid for n in names for tid in select(btf, n, kinds=(Kind.STRUCT, Kind.UNION), what="struct or union")]


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


def layout(btf: Spec, names: list[str] | None = None, *, cacheline: int = 64) -> dict[str, Any]:
    """Layouts of the named structs/unions (all of this BTF's own named ones if ``names`` is None)."""
    types = []
    for tid in select_composites(btf, names):
        t = btf.type_by_id(tid)
        types.append({
            "kind": t.kind.name.lower(), "name": t.name, "id": tid, "size": t.size,
            "alignment": align_of(btf, tid),
            "packed": is_packed(btf, t) if isinstance(t, T.Struct) else False,
            "cachelines": -(-t.size // cacheline), "members": _members(btf, t, 0, cacheline),
            **gaps(t, btf),
        })
    return document(SCHEMA_VERSION, target=btf.path, cacheline=cacheline, types=types)


def text(btf: Spec, names: list[str] | None, *, cacheline: int = 64, pahole: str | None = None) -> str:
    """The layouts as ``pahole -F btf -C TYPE`` prints them (that pahole version's; the newest
    profile by default)."""
    from ..profiles import pahole as profiles
    from ..profiles import select as select_profile
    from ..render.pahole import Pahole

    view = Pahole(btf, cacheline, select_profile("pahole", profiles.PROFILES, pahole))
    return "".join(view.render(tid) for tid in select_composites(btf, names))
