"""CO-RE relocation kinds and access specifications: parsing the local one and formatting
any (relo_core.c's bpf_core_parse_spec, bpf_core_format_spec)."""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass, field
from enum import IntEnum

from ..btf import types as T
from ..btf.kinds import Kind
from ..btf.spec import Spec
from .btfutil import CoreError, get, kind, kind_str, resolve_size, skip_mods_and_typedefs

MAX_SPEC_LEN = 64



class ReloKind(IntEnum):
    """enum bpf_core_relo_kind; ``str()`` is libbpf's name for it in logs and specs."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12

    def __str__(self) -> str:
        return _LIBBPF_NAMES[self]


_LIBBPF_NAMES = dict(zip(ReloKind, ["byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64",
                                    "local_type_id", "target_type_id", "type_exists", "type_size", "enumval_exists",
                                    "enumval_value", "type_matches"], strict=True))
(BYTE_OFF, BYTE_SZ, FIELD_EXISTS, SIGNED, LSHIFT_U64, RSHIFT_U64, TYPE_ID_LOCAL, TYPE_ID_TARGET, TYPE_EXISTS,
 TYPE_SIZE, ENUMVAL_EXISTS, ENUMVAL_VALUE, TYPE_MATCHES) = ReloKind
KIND_BY_NAME = {str(k): k for k in ReloKind}
FIELD_KINDS = frozenset(ReloKind(k) for k in range(6))
TYPE_KINDS = frozenset((TYPE_ID_LOCAL, TYPE_ID_TARGET, TYPE_EXISTS, TYPE_SIZE, TYPE_MATCHES))
ENUMVAL_KINDS = frozenset((ENUMVAL_EXISTS, ENUMVAL_VALUE))


def kind_name(kind_: int) -> str:
    """libbpf's name of a relocation kind; "unknown" for a number it does not define."""
    return str(ReloKind(kind_)) if 0 <= kind_ <= TYPE_MATCHES else "unknown"


@dataclass
class Accessor:
    type_id: int
    idx: int
    name: str | None


@dataclass
class AccessSpec:
    """struct bpf_core_spec: where an access goes in one BTF -- high-level accessors
    (members by name, array indexes), the raw access string indices, the bit offset."""

    btf: Spec
    root_type_id: int
    relo_kind: int
    accessors: list[Accessor] = field(default_factory=list)
    raw: list[int] = field(default_factory=list)
    bit_offset: int = 0  # u32 in libbpf


_INT = re.compile(r"\s*[+-]?\d+")


def is_flex(btf: Spec, acc: Accessor | None, arr: T.Array) -> bool:
    """An array that is the last, named member of its composite with nelems 0."""
    if acc is None or acc.name is None or arr.nelems != 0:
        return False
    comp = get(btf, acc.type_id)
    return acc.idx == len(comp.members) - 1


def parse_spec(btf: Spec, type_id: int, access: str, relo_kind: int, prog: str, log) -> AccessSpec:
    """``bpf_core_parse_spec``: raw indices, high-level accessors and the bit offset."""
    if not access or access.startswith(":"):
        raise CoreError(-errno.EINVAL)
    spec = AccessSpec(btf, type_id, relo_kind)
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
    spec.accessors.append(Accessor(rid, spec.raw[0], None))
    if relo_kind in ENUMVAL_KINDS:
        if kind(root) not in (Kind.ENUM, Kind.ENUM64) or len(spec.raw) > 1 or \
                not 0 <= spec.raw[0] < len(root.values):
            raise CoreError(-errno.EINVAL)
        spec.accessors[0].name = root.values[spec.raw[0]].name
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
                if len(spec.accessors) == MAX_SPEC_LEN:
                    raise CoreError(-errno.E2BIG)
                spec.accessors.append(Accessor(tid, access_idx, m.name))
            tid = m.type
        elif kind(t) == Kind.ARRAY:
            eid, _ = skip_mods_and_typedefs(btf, t.type)
            flex = is_flex(btf, spec.accessors[-1] if spec.accessors else None, t)
            if not flex and access_idx >= t.nelems:
                raise CoreError(-errno.EINVAL)
            if len(spec.accessors) == MAX_SPEC_LEN:
                raise CoreError(-errno.E2BIG)
            spec.accessors.append(Accessor(eid, access_idx, None))
            spec.bit_offset = (spec.bit_offset + access_idx * resolve_size(btf, eid) * 8) & 0xFFFFFFFF
            tid = eid
        else:
            log(f"prog '{prog}': relo for [{type_id}] {access} (at idx {k}) captures type [{tid}] of unexpected "
                f"kind {kind_str(t)}", warn=True)
            raise CoreError(-errno.EINVAL)
    return spec


def format_spec(spec: AccessSpec) -> str:
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
    for i, acc in enumerate(spec.accessors):
        if acc.name:
            out += f".{acc.name}"
        elif i > 0 or acc.idx > 0:
            out += f"[{acc.idx}]"
    raw = ":".join(str(x) for x in spec.raw)
    off = spec.bit_offset
    at = f"{off // 8}" if off % 8 == 0 else f"{off // 8}.{off % 8}"
    out += f" ({raw} @ offset {at})"
    return out[:255]
