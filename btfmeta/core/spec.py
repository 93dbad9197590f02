"""CO-RE access specifications: parsing the local one and formatting any (relo_core.c)."""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass, field

from ..btf import types as T
from ..btf.kinds import Kind
from ..btf.spec import Spec
from .btfutil import CoreError, get, kind, kind_str, resolve_size, skip_mods_and_typedefs

MAX_SPEC_LEN = 64

FIELD_KINDS = {0: "byte_off", 1: "byte_sz", 2: "field_exists", 3: "signed", 4: "lshift_u64", 5: "rshift_u64"}
TYPE_KINDS = {6: "local_type_id", 7: "target_type_id", 8: "type_exists", 9: "type_size", 12: "type_matches"}
ENUMVAL_KINDS = {10: "enumval_exists", 11: "enumval_value"}
KIND_NAMES = {**FIELD_KINDS, **TYPE_KINDS, **ENUMVAL_KINDS}
BYTE_OFF, BYTE_SZ, FIELD_EXISTS, SIGNED, LSHIFT_U64, RSHIFT_U64 = range(6)
TYPE_ID_LOCAL, TYPE_ID_TARGET, TYPE_EXISTS, TYPE_SIZE, ENUMVAL_EXISTS, ENUMVAL_VALUE, TYPE_MATCHES = range(6, 13)


def kind_name(kind_: int) -> str:
    return KIND_NAMES.get(kind_, "unknown")


@dataclass
class Accessor:
    type_id: int
    idx: int
    name: str | None


@dataclass
class CoreSpec:
    btf: Spec
    root_type_id: int
    relo_kind: int
    spec: list[Accessor] = field(default_factory=list)
    raw: list[int] = field(default_factory=list)
    bit_offset: int = 0  # u32 in libbpf


_INT = re.compile(r"\s*[+-]?\d+")


def is_flex(btf: Spec, acc: Accessor | None, arr: T.Array) -> bool:
    """An array that is the last, named member of its composite with nelems 0."""
    if acc is None or acc.name is None or arr.nelems != 0:
        return False
    comp = get(btf, acc.type_id)
    return acc.idx == len(comp.members) - 1


def parse_spec(btf: Spec, type_id: int, access: str, relo_kind: int, prog: str, log) -> CoreSpec:
    """``bpf_core_parse_spec``: raw indices, high-level accessors and the bit offset."""
    if not access or access.startswith(":"):
        raise CoreError(-errno.EINVAL)
    spec = CoreSpec(btf, type_id, relo_kind)
    if relo_kind in TYPE_KINDS:
        if access != "0":
            raise CoreError(-errno.EINVAL)
        return spec
    pos = 0
    while pos < len(access):
        if access[pos] == ":":
            pos += 1
        m = _INT.match(access, pos)
        if m is None:
            raise CoreError(-errno.EINVAL)
        if len(spec.raw) == MAX_SPEC_LEN:
            raise CoreError(-errno.E2BIG)
        spec.raw.append(int(m.group()))
        pos = m.end()
    if not spec.raw:
        raise CoreError(-errno.EINVAL)
    rid, root = skip_mods_and_typedefs(btf, type_id)
    if root is None and rid != 0:
        raise CoreError(-errno.EINVAL)
    spec.spec.append(Accessor(rid, spec.raw[0], None))
    if relo_kind in ENUMVAL_KINDS:
        if kind(root) not in (Kind.ENUM, Kind.ENUM64) or len(spec.raw) > 1 or \
                not 0 <= spec.raw[0] < len(root.values):
            raise CoreError(-errno.EINVAL)
        spec.spec[0].name = root.values[spec.raw[0]].name
        return spec
    if relo_kind not in FIELD_KINDS:
        raise CoreError(-errno.EINVAL)
    sz = resolve_size(btf, rid)
    spec.bit_offset = (spec.raw[0] * sz * 8) & 0xFFFFFFFF
    tid = rid
    for k in range(1, len(spec.raw)):
        tid, t = skip_mods_and_typedefs(btf, tid)
        access_idx = spec.raw[k]
        if kind(t) in (Kind.STRUCT, Kind.UNION):
            if not 0 <= access_idx < len(t.members):
                raise CoreError(-errno.EINVAL)
            m = t.members[access_idx]
            spec.bit_offset = (spec.bit_offset + m.bits_offset) & 0xFFFFFFFF
            if m.name:
                if len(spec.spec) == MAX_SPEC_LEN:
                    raise CoreError(-errno.E2BIG)
                spec.spec.append(Accessor(tid, access_idx, m.name))
            tid = m.type
        elif kind(t) == Kind.ARRAY:
            eid, _ = skip_mods_and_typedefs(btf, t.type)
            flex = is_flex(btf, spec.spec[-1] if spec.spec else None, t)
            if not flex and access_idx >= t.nelems:
                raise CoreError(-errno.EINVAL)
            if len(spec.spec) == MAX_SPEC_LEN:
                raise CoreError(-errno.E2BIG)
            spec.spec.append(Accessor(eid, access_idx, None))
            spec.bit_offset = (spec.bit_offset + access_idx * resolve_size(btf, eid) * 8) & 0xFFFFFFFF
            tid = eid
        else:
            log(f"prog '{prog}': relo for [{type_id}] {access} (at idx {k}) captures type [{tid}] of unexpected "
                f"kind {kind_str(t)}", warn=True)
            raise CoreError(-errno.EINVAL)
    return spec


def format_spec(spec: CoreSpec) -> str:
    """``bpf_core_format_spec``, truncated to 255 bytes like libbpf's buffer."""
    btf = spec.btf
    root = get(btf, spec.root_type_id) if spec.root_type_id else None
    name = root.name if root is not None and root.name else "<anon>"
    out = f"<{kind_name(spec.relo_kind)}> [{spec.root_type_id}] {kind_str(root)} {name}"
    if spec.relo_kind in TYPE_KINDS:
        return out[:255]
    if spec.relo_kind in ENUMVAL_KINDS:
        _, t = skip_mods_and_typedefs(btf, spec.root_type_id)
        idx = spec.raw[0] if spec.raw else 0
        values = getattr(t, "values", [])
        if values and idx < len(values):
            v = values[idx]
            value = v.value
            if kind(t) == Kind.ENUM:
                value = value if t.signed else value & 0xFFFFFFFF
            else:
                value = value if t.signed else value & 0xFFFFFFFFFFFFFFFF
            out += f"::{v.name} = {value}"
        return out[:255]
    for i, acc in enumerate(spec.spec):
        if acc.name:
            out += f".{acc.name}"
        elif i > 0 or acc.idx > 0:
            out += f"[{acc.idx}]"
    raw = ":".join(str(x) for x in spec.raw)
    off = spec.bit_offset
    at = f"{off // 8}" if off % 8 == 0 else f"{off // 8}.{off % 8}"
    out += f" ({raw} @ offset {at})"
    return out[:255]
