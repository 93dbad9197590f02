"""Decode one BTF record from 32-bit words into a type, and encode it back.

The type section is handled as an array of native-order u32 words (every BTF
field is a u32 or s32), so byte order is dealt with once, by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import types as T
from .kinds import Kind


def s32(v: int) -> int:
    """The low 32 bits of ``v`` as a signed 32-bit value."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


Names = Callable[[int], str]


def _members(w: Sequence[int], p: int, vlen: int, kflag: int, name: Names) -> list[T.Member]:
    out = []
    for i in range(p, p + 3 * vlen, 3):
        off = w[i + 2]
        if kflag:
            out.append(T.Member(name=name(w[i]), type=w[i + 1], bits_offset=off & 0xFFFFFF,
                                bitfield_size=off >> 24))
        else:
            out.append(T.Member(name=name(w[i]), type=w[i + 1], bits_offset=off))
    return out


def _enum_values(w: Sequence[int], p: int, vlen: int, signed: int, name: Names) -> list[T.EnumValue]:
    if signed:
        return [T.EnumValue(name=name(w[i]), value=s32(w[i + 1])) for i in range(p, p + 2 * vlen, 2)]
    return [T.EnumValue(name=name(w[i]), value=w[i + 1]) for i in range(p, p + 2 * vlen, 2)]


def _enum64_values(w: Sequence[int], p: int, vlen: int, signed: int, name: Names) -> list[T.EnumValue]:
    out = []
    for i in range(p, p + 3 * vlen, 3):
        v = w[i + 2] << 32 | w[i + 1]
        if signed and v >> 63:
            v -= 1 << 64
        out.append(T.EnumValue(name=name(w[i]), value=v))
    return out


def decode(w: Sequence[int], p: int, name: Names) -> T.Type:
    """Decode the record starting at word ``p``; ``name`` resolves string offsets."""
    info = w[p + 1]
    kind = (info >> 24) & 0x1F
    vlen = info & 0xFFFF
    kflag = info >> 31
    n = name(w[p])
    st = w[p + 2]
    q = p + 3
    if kind == Kind.FUNC:
        return T.Func(name=n, type=st, linkage=vlen)
    if kind == Kind.FUNC_PROTO:
        params = [T.Param(name=name(w[i]), type=w[i + 1]) for i in range(q, q + 2 * vlen, 2)]
        return T.FuncProto(name=n, return_type=st, params=params)
    if kind == Kind.PTR:
        return T.Ptr(name=n, type=st)
    if kind == Kind.STRUCT:
        return T.Struct(name=n, size=st, members=_members(w, q, vlen, kflag, name), kflag=bool(kflag))
    if kind == Kind.UNION:
        return T.Union(name=n, size=st, members=_members(w, q, vlen, kflag, name), kflag=bool(kflag))
    if kind == Kind.INT:
        data = w[q]
        return T.Int(name=n, size=st, encoding=(data >> 24) & 0x0F, bits_offset=(data >> 16) & 0xFF,
                     nr_bits=data & 0xFF)
    if kind == Kind.ARRAY:
        return T.Array(name=n, type=w[q], index_type=w[q + 1], nelems=w[q + 2])
    if kind == Kind.ENUM:
        return T.Enum(name=n, size=st, values=_enum_values(w, q, vlen, kflag, name), signed=bool(kflag))
    if kind == Kind.ENUM64:
        return T.Enum64(name=n, size=st, values=_enum64_values(w, q, vlen, kflag, name),
                        signed=bool(kflag))
    if kind == Kind.FWD:
        return T.Fwd(name=n, is_union=bool(kflag))
    if kind == Kind.TYPEDEF:
        return T.Typedef(name=n, type=st)
    if kind == Kind.CONST:
        return T.Const(name=n, type=st)
    if kind == Kind.VOLATILE:
        return T.Volatile(name=n, type=st)
    if kind == Kind.RESTRICT:
        return T.Restrict(name=n, type=st)
    if kind == Kind.VAR:
        return T.Var(name=n, type=st, linkage=w[q])
    if kind == Kind.DATASEC:
        secinfo = [T.VarSecinfo(type=w[i], offset=w[i + 1], size=w[i + 2]) for i in range(q, q + 3 * vlen, 3)]
        return T.Datasec(name=n, size=st, vars=secinfo)
    if kind == Kind.FLOAT:
        return T.Float(name=n, size=st)
    if kind == Kind.DECL_TAG:
        return T.DeclTag(name=n, type=st, component_idx=s32(w[q]), kflag=bool(kflag))
    if kind == Kind.TYPE_TAG:
        return T.TypeTag(name=n, type=st, kflag=bool(kflag))
    raise ValueError(f"unknown BTF kind {kind}")


def _u32(v: int) -> int:
    return v & 0xFFFFFFFF


def _header(kind: Kind, kflag: int, vlen: int, name_off: int, size_or_type: int) -> list[int]:
    return [name_off, (kflag << 31) | (kind << 24) | vlen, _u32(size_or_type)]


def encode(t: T.Type, add_str: Callable[[str], int]) -> list[int]:
    """Encode ``t`` as words; ``add_str`` interns a string and returns its offset.

    Strings are added in libbpf's order (type name, then member names), so a
    fresh string table comes out as libbpf would build it.
    """
    n = add_str(t.name)
    if isinstance(t, T.Composite):
        words = _header(t.kind, int(t.kflag), len(t.members), n, t.size)
        for m in t.members:
            off = (m.bitfield_size << 24) | m.bits_offset if t.kflag else m.bits_offset
            words += (add_str(m.name), m.type, off)
        return words
    if isinstance(t, T.FuncProto):
        words = _header(t.kind, 0, len(t.params), n, t.return_type)
        for p in t.params:
            words += (add_str(p.name), p.type)
        return words
    if isinstance(t, T.Enum):
        words = _header(t.kind, int(t.signed), len(t.values), n, t.size)
        for v in t.values:
            words += (add_str(v.name), _u32(v.value))
        return words
    if isinstance(t, T.Enum64):
        words = _header(t.kind, int(t.signed), len(t.values), n, t.size)
        for v in t.values:
            u = v.value & 0xFFFFFFFFFFFFFFFF
            words += (add_str(v.name), u & 0xFFFFFFFF, u >> 32)
        return words
    if isinstance(t, T.Datasec):
        words = _header(t.kind, 0, len(t.vars), n, t.size)
        for v in t.vars:
            words += (v.type, v.offset, v.size)
        return words
    if isinstance(t, T.Int):
        return [*_header(t.kind, 0, 0, n, t.size), t.encoding << 24 | t.bits_offset << 16 | t.nr_bits]
    if isinstance(t, T.Array):
        return [*_header(t.kind, 0, 0, n, 0), t.type, t.index_type, t.nelems]
    if isinstance(t, T.Fwd):
        return _header(t.kind, int(t.is_union), 0, n, 0)
    if isinstance(t, T.Func):
        return _header(t.kind, 0, t.linkage, n, t.type)
    if isinstance(t, T.Var):
        return [*_header(t.kind, 0, 0, n, t.type), t.linkage]
    if isinstance(t, T.Float):
        return _header(t.kind, 0, 0, n, t.size)
    if isinstance(t, T.DeclTag):
        return [*_header(t.kind, int(t.kflag), 0, n, t.type), _u32(t.component_idx)]
    if isinstance(t, T.TypeTag):
        return _header(t.kind, int(t.kflag), 0, n, t.type)
    # PTR, TYPEDEF and the modifiers: just a referenced type.
    return _header(t.kind, 0, 0, n, t.type)


def slots(w: Sequence[int], p: int) -> tuple[list[int], list[int]]:
    """Word indexes of the record at ``p`` that hold type ids and string offsets, in
    libbpf's ``btf_field_iter`` order (IDS, STRS): what a rewrite of ids or strings
    in place (``btf__relocate``) touches."""
    info = w[p + 1]
    kind = (info >> 24) & 0x1F
    vlen = info & 0xFFFF
    q = p + 3
    strs = [p]
    if kind in (Kind.STRUCT, Kind.UNION):
        return [q + 3 * i + 1 for i in range(vlen)], strs + [q + 3 * i for i in range(vlen)]
    if kind == Kind.ENUM:
        return [], strs + [q + 2 * i for i in range(vlen)]
    if kind == Kind.ENUM64:
        return [], strs + [q + 3 * i for i in range(vlen)]
    if kind == Kind.FUNC_PROTO:
        return [p + 2] + [q + 2 * i + 1 for i in range(vlen)], strs + [q + 2 * i for i in range(vlen)]
    if kind == Kind.ARRAY:
        return [q, q + 1], strs
    if kind == Kind.DATASEC:
        return [q + 3 * i for i in range(vlen)], strs
    if kind in (Kind.INT, Kind.FLOAT, Kind.FWD):
        return [], strs
    return [p + 2], strs
