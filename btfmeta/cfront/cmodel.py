"""C types with clang's layout for -target bpf / bpfeb (LP64; field offsets do not
depend on byte order).  Records are laid out when their definition completes."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import Where


class CType:
    size: int = 0
    align: int = 1

    @property
    def complete(self) -> bool:
        return True


class Void(CType):
    size = 1  # GNU: sizeof(void) == 1

    @property
    def complete(self) -> bool:
        return False


VOID = Void()


@dataclass(eq=False)
class Basic(CType):
    """An arithmetic type; ``name`` is clang's spelling in BTF (``unsigned short``)."""

    name: str
    size: int
    align: int
    signed: bool = False
    is_float: bool = False
    is_bool: bool = False
    is_char: bool = False

    @property
    def bits(self) -> int:
        return self.size * 8


@dataclass(eq=False)
class Pointer(CType):
    target: CType
    size: int = 8
    align: int = 8


@dataclass(eq=False)
class Array(CType):
    elem: CType
    count: int | None  # None: flexible / incomplete []

    @property
    def size(self) -> int:  # type: ignore[override]
        return (self.count or 0) * self.elem.size

    @property
    def align(self) -> int:  # type: ignore[override]
        return self.elem.align

    @property
    def complete(self) -> bool:
        return self.count is not None


class _SameLayout(CType):
    """A type with its ``base``'s size, alignment and completeness (qualifiers, type tags)."""

    base: CType

    @property
    def size(self) -> int:  # type: ignore[override]
        return self.base.size

    @property
    def align(self) -> int:  # type: ignore[override]
        return self.base.align

    @property
    def complete(self) -> bool:
        return self.base.complete


@dataclass(eq=False)
class Qualified(_SameLayout):
    """const/volatile/restrict on ``base`` (BTF: CONST, VOLATILE, RESTRICT records)."""

    base: CType
    const: bool = False
    volatile: bool = False
    restrict: bool = False


@dataclass(eq=False)
class TypeTagged(_SameLayout):
    base: CType
    tag: str


@dataclass(eq=False)
class Typedef(CType):
    name: str
    target: CType
    align_attr: int = 0
    decl_tags: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:  # type: ignore[override]
        return self.target.size

    @property
    def align(self) -> int:  # type: ignore[override]
        return max(self.align_attr, self.target.align) if self.align_attr else self.target.align

    @property
    def complete(self) -> bool:
        return self.target.complete


@dataclass(eq=False)
class Field:
    name: str
    type: CType
    bits: int | None = None  # bitfield width
    align_attr: int = 0
    packed: bool = False
    decl_tags: list[str] = field(default_factory=list)
    pos: Where | None = None
    offset: int = 0  # in bits, set by layout


@dataclass(eq=False)
class Record(CType):
    """struct or union; ``fields`` and layout are set when the definition completes."""

    is_union: bool
    name: str = ""
    fields: list[Field] = field(default_factory=list)
    defined: bool = False
    packed: bool = False
    align_attr: int = 0
    max_field_align: int = 0  # #pragma pack(N), in bytes
    decl_tags: list[str] = field(default_factory=list)
    pos: Where | None = None
    size: int = 0
    align: int = 1

    @property
    def complete(self) -> bool:
        return self.defined

    @property
    def kind_name(self) -> str:
        return "union" if self.is_union else "struct"

    def layout(self) -> None:
        layout_record(self)


@dataclass(eq=False)
class Enum(CType):
    name: str = ""
    values: list[tuple[str, int]] = field(default_factory=list)
    defined: bool = False
    packed: bool = False
    decl_tags: list[str] = field(default_factory=list)
    size: int = 4
    align: int = 4
    signed: bool = False

    @property
    def complete(self) -> bool:
        return True  # an incomplete enum still has int's size (GNU)

    def finish(self, pos: Where | None) -> None:
        """Pick the underlying type as clang does: int/unsigned, else 64-bit; packed: smallest."""
        vals = [v for _, v in self.values] or [0]
        lo, hi = min(vals), max(vals)
        self.signed = lo < 0
        if self.packed:
            for size in (1, 2, 4, 8):
                bits = size * 8
                if (self.signed and -(1 << (bits - 1)) <= lo and hi < (1 << (bits - 1))) or \
                        (not self.signed and hi < (1 << bits)):
                    break
            else:
                size = 8
                self.values = [(n, (v + (1 << 63)) % (1 << 64) - (1 << 63)) for n, v in self.values]
        elif (self.signed and lo >= -(1 << 31) and hi < (1 << 31)) or (not self.signed and hi < (1 << 32)):
            size = 4
        elif (self.signed and lo >= -(1 << 63) and hi < (1 << 63)) or (not self.signed and hi < (1 << 64)):
            size = 8
        else:  # clang warns and uses 'long', wrapping what does not fit
            size = 8
            self.values = [(n, (v + (1 << 63)) % (1 << 64) - (1 << 63)) for n, v in self.values]
        self.size = self.align = size
        self.defined = True


@dataclass(eq=False)
class Function(CType):
    ret: CType
    params: list[tuple[str, CType]]
    variadic: bool = False
    param_tags: list[list[str]] = field(default_factory=list)
    size: int = 1
    align: int = 1


def strip_typedefs(t: CType) -> CType:
    while isinstance(t, (Typedef, Qualified, TypeTagged)):
        t = t.target if isinstance(t, Typedef) else t.base
    return t


def _align_to(v: int, a: int) -> int:
    return (v + a - 1) // a * a


def layout_record(rec: Record) -> None:
    """clang's ItaniumRecordLayoutBuilder (LayoutField / LayoutBitField) for BPF targets."""
    max_align = rec.max_field_align * 8  # #pragma pack, bits; 0 = none
    data = 0  # bits used so far (struct) or the widest member (union)
    align = 8
    for f in rec.fields:
        t = f.type
        type_align = t.align * 8
        packed = rec.packed or f.packed
        explicit = f.align_attr * 8
        if f.bits is None:
            field_align = 8 if packed else type_align
            if explicit:
                field_align = max(field_align, explicit)
            if max_align:
                field_align = min(field_align, max_align)
            if rec.is_union:
                f.offset = 0
                data = max(data, t.size * 8)
            else:
                f.offset = _align_to(data, field_align)
                data = f.offset + t.size * 8
            align = max(align, field_align)
            continue
        width = f.bits
        field_align = unpacked_align = type_align
        if packed and width:
            field_align = 1  # in bits: a packed bit-field may start at any bit
        if explicit:
            field_align = max(field_align, explicit)
            unpacked_align = max(unpacked_align, explicit)
        if max_align and width:  # #pragma pack wins even over aligned(), for non-zero widths
            unpacked_align = min(unpacked_align, max_align)
            field_align = unpacked_align if packed else min(field_align, max_align)
        if rec.is_union:
            f.offset = 0
            data = max(data, _align_to(width, 8))
        else:
            offset = data
            if width == 0 or (not max_align and (offset % field_align) + width > t.size * 8):
                offset = _align_to(offset, field_align)
            elif explicit and (not max_align or explicit <= max_align):
                offset = _align_to(offset, explicit)
            f.offset = offset
            data = offset + width
        if f.name:  # unnamed bit-fields do not affect the record's alignment
            align = max(align, field_align)
    if rec.align_attr:
        align = max(align, rec.align_attr * 8)
    rec.size = _align_to(_align_to(data, 8), align) // 8
    rec.align = align // 8
    rec.defined = True
