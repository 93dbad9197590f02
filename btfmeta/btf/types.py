"""The BTF type model: one small dataclass per kind.

Types refer to each other by type id, exactly as in the file, so that a split
BTF can point into its base and a type round-trips to the same bytes.  Names
are ``str`` ('' for anonymous); a name that is not valid UTF-8 keeps its bytes
through ``surrogateescape``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .kinds import Kind


@dataclass(slots=True, kw_only=True)
class Int:
    kind: ClassVar[Kind] = Kind.INT
    name: str = ""
    size: int
    encoding: int = 0
    bits_offset: int = 0
    nr_bits: int = 0


@dataclass(slots=True, kw_only=True)
class Ptr:
    kind: ClassVar[Kind] = Kind.PTR
    name: str = ""
    type: int


@dataclass(slots=True, kw_only=True)
class Array:
    kind: ClassVar[Kind] = Kind.ARRAY
    name: str = ""
    type: int
    index_type: int
    nelems: int


@dataclass(slots=True, kw_only=True)
class Member:
    name: str = ""
    type: int
    bits_offset: int
    bitfield_size: int = 0


@dataclass(slots=True, kw_only=True)
class Struct:
    """STRUCT; ``kflag`` set means member offsets carry bitfield sizes."""

    kind: ClassVar[Kind] = Kind.STRUCT
    name: str = ""
    size: int
    members: list[Member] = field(default_factory=list)
    kflag: bool = False


@dataclass(slots=True, kw_only=True)
class Union:
    kind: ClassVar[Kind] = Kind.UNION
    name: str = ""
    size: int
    members: list[Member] = field(default_factory=list)
    kflag: bool = False


@dataclass(slots=True, kw_only=True)
class EnumValue:
    name: str
    value: int


@dataclass(slots=True, kw_only=True)
class Enum:
    """ENUM; values are kept as Python ints, signed or not as ``signed`` says."""

    kind: ClassVar[Kind] = Kind.ENUM
    name: str = ""
    size: int = 4
    values: list[EnumValue] = field(default_factory=list)
    signed: bool = False


@dataclass(slots=True, kw_only=True)
class Enum64:
    kind: ClassVar[Kind] = Kind.ENUM64
    name: str = ""
    size: int = 8
    values: list[EnumValue] = field(default_factory=list)
    signed: bool = False


@dataclass(slots=True, kw_only=True)
class Fwd:
    kind: ClassVar[Kind] = Kind.FWD
    name: str = ""
    is_union: bool = False


@dataclass(slots=True, kw_only=True)
class Typedef:
    kind: ClassVar[Kind] = Kind.TYPEDEF
    name: str = ""
    type: int


@dataclass(slots=True, kw_only=True)
class Volatile:
    kind: ClassVar[Kind] = Kind.VOLATILE
    name: str = ""
    type: int


@dataclass(slots=True, kw_only=True)
class Const:
    kind: ClassVar[Kind] = Kind.CONST
    name: str = ""
    type: int


@dataclass(slots=True, kw_only=True)
class Restrict:
    kind: ClassVar[Kind] = Kind.RESTRICT
    name: str = ""
    type: int


@dataclass(slots=True, kw_only=True)
class Func:
    kind: ClassVar[Kind] = Kind.FUNC
    name: str = ""
    type: int
    linkage: int = 0


@dataclass(slots=True, kw_only=True)
class Param:
    name: str = ""
    type: int


@dataclass(slots=True, kw_only=True)
class FuncProto:
    kind: ClassVar[Kind] = Kind.FUNC_PROTO
    name: str = ""
    return_type: int
    params: list[Param] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Var:
    kind: ClassVar[Kind] = Kind.VAR
    name: str = ""
    type: int
    linkage: int = 0


@dataclass(slots=True, kw_only=True)
class VarSecinfo:
    type: int
    offset: int
    size: int


@dataclass(slots=True, kw_only=True)
class Datasec:
    kind: ClassVar[Kind] = Kind.DATASEC
    name: str = ""
    size: int = 0
    vars: list[VarSecinfo] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Float:
    kind: ClassVar[Kind] = Kind.FLOAT
    name: str = ""
    size: int


@dataclass(slots=True, kw_only=True)
class DeclTag:
    """DECL_TAG; ``name`` is the tag value, ``component_idx`` -1 tags the type itself."""

    kind: ClassVar[Kind] = Kind.DECL_TAG
    name: str = ""
    type: int
    component_idx: int = -1
    kflag: bool = False


@dataclass(slots=True, kw_only=True)
class TypeTag:
    kind: ClassVar[Kind] = Kind.TYPE_TAG
    name: str = ""
    type: int
    kflag: bool = False


Type = (
    Int | Ptr | Array | Struct | Union | Enum | Fwd | Typedef | Volatile | Const | Restrict
    | Func | FuncProto | Var | Datasec | Float | DeclTag | TypeTag | Enum64
)

Composite = (Struct, Union)
EnumLike = (Enum, Enum64)


def referenced_ids(t: Type) -> list[int]:
    """Type ids a type refers to, in record order (used for validation and closures)."""
    if isinstance(t, Composite):
        return [m.type for m in t.members]
    if isinstance(t, Array):
        return [t.type, t.index_type]
    if isinstance(t, FuncProto):
        return [t.return_type] + [p.type for p in t.params]
    if isinstance(t, Datasec):
        return [v.type for v in t.vars]
    ref = getattr(t, "type", None)
    return [] if ref is None else [ref]
