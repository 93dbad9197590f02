"""``resolve``: access paths such as ``mynic_metadata.rx.ipv4.saddr`` to byte offset, size,
bit offset/size and signedness in a target layout, for loaders and AF_XDP readers.

The root is a struct, union or typedef name, matched by essential name as CO-RE does
(``mynic_metadata`` finds ``mynic_metadata___v2``); members are found through anonymous
members; ``[N]`` indexes arrays.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ..btf import types as T
from ..btf.kinds import INT_SIGNED, Kind
from ..btf.names import c_identifier, check_spelled_type
from ..btf.query import SizeError, essential, essential_matches, resolve_size, skip_mods_and_typedefs, type_name
from ..btf.spec import Spec
from ..errors import BtfmetaError, TypeLookupError
from ..render.templates import render
from . import document

_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


@dataclass
class Resolved:
    access: str
    root: str  # e.g. "struct mynic_metadata___v2"
    c_root: str  # how C names it: "struct x" or the typedef name
    c_path: str  # the member designator for offsetof: "rx.ipv4.saddr"
    offset: int  # bytes (of the containing byte for bit-fields)
    size: int  # bytes (0 for a bit-field)
    bit_offset: int  # from the start of the root
    bit_size: int  # bit-field width, 0 if not a bit-field
    signed: bool
    type: str

    def as_dict(self) -> dict:
        d = asdict(self)
        del d["c_root"], d["c_path"]
        return d


def _roots(btf: Spec, name: str) -> list[int]:
    """Struct/union/typedef ids whose name is ``name``, else whose essential name matches."""
    exact = [i for k in (Kind.STRUCT, Kind.UNION, Kind.TYPEDEF) for i in btf.find_by_name(name, k)]
    if exact:
        return sorted(exact)
    wanted = (Kind.STRUCT, Kind.UNION, Kind.TYPEDEF)
    return sorted(tid for s in btf.layers() for tid, kind, _ in essential_matches(s, essential(name))
                  if kind in wanted)


def _find_member(btf: Spec, comp: T.Struct | T.Union, name: str) -> tuple[int, T.Member] | None:
    """(bit offset, member) of ``name``, looking through anonymous members depth-first."""
    for m in comp.members:
        if m.name == name:
            return m.bits_offset, m
        if not m.name:
            _, inner = skip_mods_and_typedefs(btf, m.type)
            if isinstance(inner, T.Composite):
                found = _find_member(btf, inner, name)
                if found is not None:
                    return m.bits_offset + found[0], found[1]
    return None


def resolve_one(btf: Spec, access: str) -> list[Resolved]:
    """Every resolution of ``access`` (one per matching root flavor)."""
    m = re.match(r" *(?:struct +|union +)?([A-Za-z_][A-Za-z0-9_]*)", access)
    if m is None:
        raise BtfmetaError(f"invalid access path '{access}': expected TYPE.member...")
    root_name, rest = m.group(1), access[m.end():].rstrip(" ")
    steps = []
    pos = 0
    while pos < len(rest):
        s = _STEP.match(rest, pos)
        if s is None:
            raise BtfmetaError(f"invalid access path '{access}' at '{rest[pos:]}'")
        steps.append(s.group(1) if s.group(1) else int(s.group(2)))
        pos = s.end()
    roots = _roots(btf, root_name)
    if not roots:
        raise TypeLookupError(f"no struct, union or typedef named '{root_name}' (or a flavor of it)", path=btf.path)
    return [_walk(btf, access, rid, steps) for rid in roots]


def _walk(btf: Spec, access: str, rid: int, steps: list) -> Resolved:
    root = btf.type_by_id(rid)
    c_identifier(root.name, rid, btf.path)  # it goes into generated C and Python
    c_root = root.name if isinstance(root, T.Typedef) else f"{root.kind.name.lower()} {root.name}"
    tid = rid
    bit = 0
    bit_size = 0
    member_type = rid
    path = ""
    for step in steps:
        tid, t = skip_mods_and_typedefs(btf, tid)
        if isinstance(step, str):
            if not isinstance(t, T.Composite):
                raise BtfmetaError(f"{access}: '{step}' is a member of a non-struct in {c_root}")
            if bit_size:
                raise BtfmetaError(f"{access}: a bit-field has no members")
            found = _find_member(btf, t, step)
            if found is None:
                raise BtfmetaError(f"{access}: {c_root} has no member '{step}' on this path")
            off, m = found
            bit += off
            bit_size = m.bitfield_size
            tid = member_type = m.type
            path += ("." if path else "") + step
        else:
            if not isinstance(t, T.Array):
                raise BtfmetaError(f"{access}: [{step}] indexes a non-array")
            if t.nelems and step >= t.nelems:
                raise BtfmetaError(f"{access}: index {step} is out of bounds (array of {t.nelems})")
            try:
                bit += step * resolve_size(btf, t.type) * 8
            except SizeError as exc:
                raise BtfmetaError(f"{access}: cannot size the array element ({exc})") from None
            tid = member_type = t.type
            path += f"[{step}]"
    check_spelled_type(btf, member_type)
    _, final = skip_mods_and_typedefs(btf, member_type)
    try:
        size = 0 if bit_size else resolve_size(btf, member_type)
    except SizeError as exc:
        raise BtfmetaError(f"{access}: cannot size the field ({exc})") from None
    signed = (isinstance(final, T.Int) and bool(final.encoding & INT_SIGNED)) or \
        (isinstance(final, T.EnumLike) and final.signed)
    return Resolved(access, f"{root.kind.name.lower()} {root.name}", c_root, path, bit // 8, size, bit,
                    bit_size, signed, type_name(btf, member_type))


def resolve(btf: Spec, accesses: list[str]) -> list[Resolved]:
    """Resolve each access; one that matches several flavors with different answers is an error."""
    out = []
    for a in accesses:
        results = resolve_one(btf, a)
        first = results[0]
        for r in results[1:]:
            if (r.offset, r.size, r.bit_offset, r.bit_size) != (first.offset, first.size, first.bit_offset,
                                                                  first.bit_size):
                raise BtfmetaError(f"{a}: ambiguous: {first.root} puts it at bit {first.bit_offset}, {r.root} at "
                                   f"bit {r.bit_offset}; name the flavor")
        out.append(first)
    return out


def macro_name(access: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", access.strip().replace("struct ", "").replace("union ", "")).strip("_").upper()


def to_json(fields: list[Resolved], target: str) -> dict:
    return document(1, target=target, fields=[f.as_dict() for f in fields])


def source(fields: list[Resolved], target: str, fmt: str) -> str:
    """A C header (``fmt`` "c") or Python module of the fields' locations."""
    ctx = [dict(vars(f), macro=macro_name(f.access)) for f in fields]
    return render("resolve.c.j2" if fmt == "c" else "resolve.py.j2", target=target, fields=ctx)
