"""``bpftool btf dump`` output, raw text and JSON, reproduced exactly (bpftool 7.1).

Raw dumps of a whole vmlinux are ~600k lines, so this renderer formats with
f-strings rather than a template engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..btf import types as T
from ..btf.kinds import Kind
from ..btf.query import select
from ..btf.spec import Spec

_INT_ENCODING = {0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL"}
_LINKAGE = {0: "static", 1: "global", 2: "extern"}


def _name(s: str) -> str:
    return s or "(anon)"


def _int_encoding(enc: int) -> str:
    return _INT_ENCODING.get(enc, "UNKN")


def _enum_encoding(t: T.Enum | T.Enum64) -> str:
    return "SIGNED" if t.signed else "UNSIGNED"


def _kind_and_name(spec: Spec, tid: int) -> tuple[str, str]:
    """What bpftool prints for a DATASEC entry's variable."""
    if tid == 0:
        return "UNKNOWN", "(anon)"
    t = spec.type_by_id(tid)
    return t.kind.name, _name(t.name)


def _raw_composite(spec: Spec, head: str, t: T.Struct | T.Union) -> str:
    lines = [f"{head} size={t.size} vlen={len(t.members)}"]
    for m in t.members:
        line = f"\t'{m.name or '(anon)'}' type_id={m.type} bits_offset={m.bits_offset}"
        if m.bitfield_size:
            line += f" bitfield_size={m.bitfield_size}"
        lines.append(line)
    return "\n".join(lines)


def _raw_func_proto(spec: Spec, head: str, t: T.FuncProto) -> str:
    lines = [f"{head} ret_type_id={t.return_type} vlen={len(t.params)}"]
    lines += [f"\t'{p.name or '(anon)'}' type_id={p.type}" for p in t.params]
    return "\n".join(lines)


def _raw_enum(spec: Spec, head: str, t: T.Enum | T.Enum64) -> str:
    suffix = ("LL" if t.signed else "ULL") if t.kind == Kind.ENUM64 else ""
    lines = [f"{head} encoding={_enum_encoding(t)} size={t.size} vlen={len(t.values)}"]
    lines += [f"\t'{v.name or '(anon)'}' val={v.value}{suffix}" for v in t.values]
    return "\n".join(lines)


def _raw_datasec(spec: Spec, head: str, t: T.Datasec) -> str:
    lines = [f"{head} size={t.size} vlen={len(t.vars)}"]
    for v in t.vars:
        kind, name = _kind_and_name(spec, v.type)
        lines.append(f"\ttype_id={v.type} offset={v.offset} size={v.size} ({kind} '{name}')")
    return "\n".join(lines)


def _raw_ref(spec: Spec, head: str, t) -> str:
    return f"{head} type_id={t.type}"


_RAW = {
    Kind.STRUCT: _raw_composite,
    Kind.UNION: _raw_composite,
    Kind.FUNC_PROTO: _raw_func_proto,
    Kind.ENUM: _raw_enum,
    Kind.ENUM64: _raw_enum,
    Kind.DATASEC: _raw_datasec,
    Kind.FUNC: lambda spec, head, t: f"{head} type_id={t.type} linkage={_LINKAGE.get(t.linkage, '(unknown)')}",
    Kind.INT: lambda spec, head, t: (f"{head} size={t.size} bits_offset={t.bits_offset} nr_bits={t.nr_bits} "
                                     f"encoding={_int_encoding(t.encoding)}"),
    Kind.ARRAY: lambda spec, head, t: f"{head} type_id={t.type} index_type_id={t.index_type} nr_elems={t.nelems}",
    Kind.FWD: lambda spec, head, t: f"{head} fwd_kind={'union' if t.is_union else 'struct'}",
    Kind.VAR: lambda spec, head, t: f"{head} type_id={t.type}, linkage={_LINKAGE.get(t.linkage, '(unknown)')}",
    Kind.FLOAT: lambda spec, head, t: f"{head} size={t.size}",
    Kind.DECL_TAG: lambda spec, head, t: f"{head} type_id={t.type} component_idx={t.component_idx}",
    Kind.PTR: _raw_ref,
    Kind.TYPEDEF: _raw_ref,
    Kind.VOLATILE: _raw_ref,
    Kind.CONST: _raw_ref,
    Kind.RESTRICT: _raw_ref,
    Kind.TYPE_TAG: _raw_ref,
}
_KIND_NAMES = {k: k.name for k in Kind}


def raw_type(spec: Spec, tid: int, t: T.Type) -> str:
    """One type as bpftool's raw text, newline-terminated."""
    kind = t.kind
    return _RAW[kind](spec, f"[{tid}] {_KIND_NAMES[kind]} '{t.name or '(anon)'}'", t) + "\n"


def json_type(tid: int, t: T.Type) -> dict[str, Any]:
    """One type as the object ``bpftool -j btf dump`` prints."""
    d: dict[str, Any] = {"id": tid, "kind": t.kind.name, "name": _name(t.name)}
    if isinstance(t, T.Composite):
        members = []
        for m in t.members:
            md: dict[str, Any] = {"name": _name(m.name), "type_id": m.type, "bits_offset": m.bits_offset}
            if m.bitfield_size:
                md["bitfield_size"] = m.bitfield_size
            members.append(md)
        d.update(size=t.size, vlen=len(t.members), members=members)
    elif isinstance(t, T.FuncProto):
        d.update(ret_type_id=t.return_type, vlen=len(t.params),
                 params=[{"name": _name(p.name), "type_id": p.type} for p in t.params])
    elif isinstance(t, (T.Func, T.Var)):
        d.update(type_id=t.type, linkage=_LINKAGE.get(t.linkage, "(unknown)"))
    elif isinstance(t, T.Int):
        d.update(size=t.size, bits_offset=t.bits_offset, nr_bits=t.nr_bits,
                 encoding=_int_encoding(t.encoding))
    elif isinstance(t, T.Array):
        d.update(type_id=t.type, index_type_id=t.index_type, nr_elems=t.nelems)
    elif isinstance(t, T.EnumLike):
        d.update(encoding=_enum_encoding(t), size=t.size, vlen=len(t.values),
                 values=[{"name": _name(v.name), "val": _json_enum_value(t, v.value)} for v in t.values])
    elif isinstance(t, T.Fwd):
        d["fwd_kind"] = "union" if t.is_union else "struct"
    elif isinstance(t, T.Datasec):
        d.update(size=t.size, vlen=len(t.vars),
                 vars=[{"type_id": v.type, "offset": v.offset, "size": v.size} for v in t.vars])
    elif isinstance(t, T.Float):
        d["size"] = t.size
    elif isinstance(t, T.DeclTag):
        d.update(type_id=t.type, component_idx=t.component_idx)
    else:
        d["type_id"] = t.type
    return d


def _json_enum_value(t: T.Enum | T.Enum64, value: int) -> int:
    """bpftool 7.1 prints an unsigned 32-bit enum value sign-extended to 64 bits."""
    if isinstance(t, T.Enum) and not t.signed and value & 0x80000000:
        return value | 0xFFFFFFFF00000000
    return value


def resolve_selection(spec: Spec, selector: str | None) -> list[int]:
    """Ids to dump: all own types, or those ``selector`` names (``btf.query.select``)."""
    return list(spec.own_ids()) if selector is None else select(spec, selector)


def raw_dump(spec: Spec, ids: Sequence[int]) -> Iterator[str]:
    for tid, t in spec.types(ids):
        yield raw_type(spec, tid, t)


def json_dump(spec: Spec, ids: Sequence[int]) -> dict[str, Any]:
    return {"types": [json_type(tid, t) for tid, t in spec.types(ids)]}
