"""Semantic actions run during the parse: scopes, C types, constant values, layouts.

Each grammar rule's callback builds a value bottom-up (lark inline transformer),
so typedef names, enum constants and completed layouts are known to the tokens
that follow them, as in a C compiler.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from . import cmodel as C
from .consteval import (
    LITERAL_PREFIXES,
    CInt,
    ConstEvalError,
    binary,
    literal_units,
    numeric_escape,
    parse_char_literal,
    parse_int_literal,
    split_literal,
    unary,
)
from .errors import CSyntaxError, Where
from .lexer import Tok

BTF_MAX_SIZE = 0xFFFFFFFF  # a type's size, an array's length, a member's bit offset: 32-bit fields

# -- values passed between callbacks ---------------------------------------------------


@dataclass(slots=True)
class Attr:
    name: str
    args: list


class CString(str):
    """A string literal's contents (attribute arguments, sizeof("...")): the text a
    narrow literal's bytes spell (surrogateescape for non-UTF-8 bytes), and its size
    as an array, terminating zero included."""

    size = 1
    toks: tuple[Tok, ...] = ()  # the literal tokens it was joined from


def _string_literal(toks: list[Tok]) -> CString:
    """Adjacent string literals joined, with clang's element type: the one prefix
    among them (L, u, U, u8) or char."""
    parts = [split_literal(t.text, '"') for t in toks]
    prefixes = {p for p, _ in parts} - {""}
    if len(prefixes) > 1:
        raise CSyntaxError("unsupported non-standard concatenation of string literals", toks[0])
    unit, _ = LITERAL_PREFIXES[prefixes.pop() if prefixes else ""]
    units = [u for _, body in parts for u in literal_units(body, unit)]
    text = bytes(units).decode("utf-8", "surrogateescape") if unit == 1 else "".join(map(chr, units))
    value = CString(text)
    value.size = (len(units) + 1) * unit
    value.toks = tuple(toks)
    return value


def _check_unevaluated(toks: Sequence[Tok]) -> None:
    """clang refuses numeric escapes in strings it never evaluates (attribute
    arguments, static assertion messages): they name no character set."""
    for t in toks:
        prefix, body = split_literal(t.text, '"')
        found = numeric_escape(body)
        if found is not None:
            offset, escape = found
            raise CSyntaxError(f"invalid escape sequence '{escape}' in an unevaluated string literal",
                               t.src.pos(t.line, t.col + len(prefix) + 1 + offset))


class AttrWord(str):
    """A bare identifier as an attribute argument (``mode(DI)``, ``cleanup(fn)``)."""


@dataclass(slots=True)
class SpecifierItem:
    """One declaration-specifier item: ('basic', word) etc."""

    what: str
    value: object
    pos: Where | None = None


@dataclass(slots=True)
class DeclSpecifiers:
    base: C.CType
    storage: set[str]
    attrs: list[Attr]
    align: int
    pos: Where | None


@dataclass(slots=True)
class PointerOp:
    quals: set[str]
    attrs: list[Attr]


@dataclass(slots=True)
class ArrayOp:
    count: int | None
    pos: Where | None


@dataclass(slots=True)
class FuncOp:
    params: list[tuple[str, C.CType, list[Attr]]]
    variadic: bool


@dataclass(slots=True)
class Declarator:
    name: str | None
    pos: Where | None
    ops: list = field(default_factory=list)  # applied in order to the base type
    attrs: list[Attr] = field(default_factory=list)  # written after the declarator
    bits: CInt | None = None  # a bit-field member's width


@dataclass(slots=True)
class Entity:
    """A top-level thing to emit, in declaration order."""

    kind: str  # 'type', 'var', 'func'
    name: str
    type: C.CType
    storage: set[str] = field(default_factory=set)
    initialized: bool = False
    decl_tags: list[str] = field(default_factory=list)
    param_tags: list[list[str]] = field(default_factory=list)
    defined: bool = False


_QUALIFIERS = {"const": "const", "__const": "const", "__const__": "const", "volatile": "volatile",
               "__volatile": "volatile", "__volatile__": "volatile", "restrict": "restrict",
               "__restrict": "restrict", "__restrict__": "restrict", "_Atomic": "atomic"}

_BASIC_WORDS = {"__signed": "signed", "__signed__": "signed"}


def _basic(name: str, size: int, signed: bool = False, *, is_float: bool = False, is_bool: bool = False,
           is_char: bool = False) -> C.Basic:
    return C.Basic(name, size, size, signed, is_float, is_bool, is_char)


BASICS = {
    "_Bool": _basic("_Bool", 1, is_bool=True),
    "char": _basic("char", 1, True, is_char=True),
    "signed char": _basic("signed char", 1, True),
    "unsigned char": _basic("unsigned char", 1),
    "short": _basic("short", 2, True),
    "unsigned short": _basic("unsigned short", 2),
    "int": _basic("int", 4, True),
    "unsigned int": _basic("unsigned int", 4),
    "long": _basic("long", 8, True),
    "unsigned long": _basic("unsigned long", 8),
    "long long": _basic("long long", 8, True),
    "unsigned long long": _basic("unsigned long long", 8),
    "__int128": _basic("__int128", 16, True),
    "unsigned __int128": _basic("unsigned __int128", 16),
    "float": _basic("float", 4, is_float=True),
    "double": _basic("double", 8, is_float=True),
    "long double": _basic("long double", 8, is_float=True),
}

# clang's builtin typedefs of the 128-bit integers: BTF has the TYPEDEF when one is used
BUILTIN_TYPEDEFS = {"__int128_t": C.Typedef("__int128_t", BASICS["__int128"]),
                    "__uint128_t": C.Typedef("__uint128_t", BASICS["unsigned __int128"])}


def basic_from_words(words: list[str], pos: Where | None) -> C.CType:
    """Canonical clang type for a multiset of basic type keywords."""
    try:
        return _basic_type(tuple(words))
    except ValueError as exc:
        raise CSyntaxError(str(exc), pos) from None


@lru_cache(maxsize=1024)
def _basic_type(words: tuple[str, ...]) -> C.CType:
    """``basic_from_words`` without a position: ValueError for invalid combinations."""
    w = [_BASIC_WORDS.get(x, x) for x in words]
    builtin = [x for x in w if x in BUILTIN_TYPEDEFS]
    if builtin:  # a typedef name, alone (clang: "cannot combine with previous ... specifier")
        if len(w) > 1:
            raise ValueError(f"cannot combine with previous '{builtin[0]}' declaration specifier")
        return BUILTIN_TYPEDEFS[builtin[0]]
    counts = {k: w.count(k) for k in set(w)}
    signed, unsigned = counts.pop("signed", 0), counts.pop("unsigned", 0)
    if (signed and unsigned) or signed > 1 or unsigned > 1:
        raise ValueError("cannot combine 'signed' and 'unsigned'")
    longs = counts.pop("long", 0)
    short = counts.pop("short", 0)
    key = sorted(counts)
    if counts and max(counts.values()) > 1:
        raise ValueError(f"duplicate '{key[0]}' declaration specifier")
    if longs > 2 or (longs and short):
        raise ValueError("invalid combination of type specifiers")
    u = "unsigned " if unsigned else ""
    if key == ["void"] and not (signed or unsigned or longs or short):
        return C.VOID
    if key == ["_Bool"] and not (signed or unsigned or longs or short):
        return BASICS["_Bool"]
    if key == ["char"] and not (longs or short):
        return BASICS["unsigned char" if unsigned else "signed char" if signed else "char"]
    if key == ["float"] and not (signed or unsigned or longs or short):
        return BASICS["float"]
    if key == ["double"] and not (signed or unsigned or short) and longs <= 1:
        return BASICS["long double" if longs else "double"]
    if key == ["__int128"] and not (longs or short):
        return BASICS[u + "__int128"]
    if key in ([], ["int"]) and (key or signed or unsigned or longs or short):
        if short:
            return BASICS[u + "short"]
        return BASICS[u + ("long long" if longs == 2 else "long" if longs else "int")]
    raise ValueError("invalid combination of type specifiers: " + " ".join(words))


def _strip_underscores(name: str) -> str:
    if name.startswith("__") and name.endswith("__") and len(name) > 4:
        return name[2:-2]
    return name


def _is_integer(t: C.CType) -> bool:
    t = C.strip_typedefs(t)
    return isinstance(t, C.Enum) or (isinstance(t, C.Basic) and not t.is_float)


class Sema:
    """Semantic actions; one instance is bound to the shared parser and reset per parse."""

    def __init__(self) -> None:
        self.reducers: list[tuple] | None = None  # the parser's rule actions bound to this instance
        self.reset()

    def reset(self) -> None:
        self.typedef_names: set[str] = set()
        self.typedefs: dict[str, C.Typedef] = {}
        self.tags: dict[str, C.Record | C.Enum] = {}
        self.consts: dict[str, CInt] = {}
        self.entities: list[Entity] = []
        self.pack_stack: list[int] = []
        self.pack = 0
        self._enum_items: list[tuple[str, CInt, Where | None]] = []
        # clang's builtin typedef; on BPF targets va_list is a plain pointer
        self.typedefs["__builtin_va_list"] = C.Typedef("__builtin_va_list", C.Pointer(C.VOID))
        self.typedef_names.add("__builtin_va_list")

    # -- top level -------------------------------------------------------------------

    def start(self, children):
        return self.entities

    def empty(self, children):
        return None

    def pragma(self, children):
        self._apply_pragma(children[0])
        return None

    member_pragma = pragma

    def member_empty(self, children):
        return None

    def _apply_pragma(self, tok: Tok) -> None:
        words = tok.text.replace("(", " ( ").replace(")", " ) ").replace(",", " , ").split()
        if words[0] != "pack":
            return  # '#pragma clang attribute' does not change BTF
        args = [w for w in words[1:] if w not in "(),"]
        if not args:
            self.pack = 0
        elif args[0] == "push":
            self.pack_stack.append(self.pack)
            if len(args) > 1:
                self.pack = self._pack_value(args[-1], tok)
        elif args[0] == "pop":
            self.pack = self.pack_stack.pop() if self.pack_stack else 0
        elif args[0] == "show":
            pass
        else:
            self.pack = self._pack_value(args[0], tok)

    def _pack_value(self, text: str, tok: Tok) -> int:
        v = parse_int_literal(text)
        if v is None or v.value not in (1, 2, 4, 8, 16):
            raise CSyntaxError("expected #pragma pack parameter to be '1', '2', '4', '8', or '16'", tok)
        return v.value

    # -- declarations ------------------------------------------------------------------

    def declaration(self, children):
        specs: DeclSpecifiers = children[0]
        items = children[1] if len(children) > 1 else []
        if not items and isinstance(specs.base, (C.Record, C.Enum)) and specs.base.name:
            self.entities.append(Entity("type", specs.base.name, specs.base))  # forward declaration
        for declarator, attrs, init in items:
            self._declare(specs, declarator, attrs, init)
        return None

    def init_declarator_list(self, children):
        return children

    def init_declarator(self, children):
        d: Declarator = children[0]
        return (d, d.attrs, children[1] if len(children) > 1 else None)

    def attr_declarator(self, children):
        d: Declarator = children[0]
        d.attrs = [a for c in children[1:] for a in c]
        return d

    def initializer(self, children):
        return children[0]

    def brace_initializer(self, children):
        return True

    def function_definition(self, children):
        specs: DeclSpecifiers = children[0]
        d: Declarator = children[1]
        self._declare(specs, d, d.attrs, None, defined=True)
        return None

    def ext_kw(self, children):
        return None

    def typedef_declaration(self, children):
        specs = next(c for c in children if isinstance(c, DeclSpecifiers))
        items = children[-1]
        for d in items:
            t, align, tags = self._apply(specs, d, d.attrs)
            name = d.name
            if name is None:
                raise CSyntaxError("typedef requires a name", specs.pos)
            old = self.typedefs.get(name)
            td = C.Typedef(name, t, align, tags)
            if old is not None:
                if not _same_type(old.target, t):
                    raise CSyntaxError(f"typedef redefinition with different types for '{name}'", d.pos)
                continue
            self.typedefs[name] = td
            self.entities.append(Entity("type", name, td))
        return None

    def typedef_declarator_list(self, children):
        return children

    def typedef_declarator(self, children):
        d: Declarator = children[0]
        if d.name:
            self.typedef_names.add(d.name)
        return d

    def static_assert(self, children):
        kw, cond = children[0], children[1]
        strings = [s for s in children[2:] if isinstance(s, Tok)]
        _check_unevaluated(strings)
        msg = _string_literal(strings) if strings else ""
        if not isinstance(cond, CInt):
            raise CSyntaxError("static assertion expression is not an integral constant expression", kw)
        if not cond.value:
            raise CSyntaxError("static assertion failed" + (f": {msg}" if msg else ""), kw)
        return None

    def member_static_assert(self, children):
        return None  # a member `_Static_assert`: checked when its own rule was reduced

    def _declare(self, specs: DeclSpecifiers, decl: Declarator, attrs: list[Attr], init, *, defined=False) -> None:
        t, _align, tags = self._apply(specs, decl, attrs)
        if decl.name is None:
            return
        if isinstance(t, C.Function):
            param_tags = [self._decl_tags(a) for _, _, a in decl.ops[-1].params] \
                if decl.ops and isinstance(decl.ops[-1], FuncOp) else []
            self.entities.append(Entity("func", decl.name, t, specs.storage, False, tags, param_tags, defined))
            return
        if isinstance(t, C.Void):
            raise CSyntaxError(f"variable '{decl.name}' has incomplete type 'void'", decl.pos)
        self.entities.append(Entity("var", decl.name, t, specs.storage, init is not None, tags))

    # -- declaration specifiers ---------------------------------------------------------------

    def storage_class(self, children):
        return SpecifierItem("storage", children[0].text, children[0])

    def function_specifier(self, children):
        return SpecifierItem("funcspec", children[0].text, children[0])

    def type_qualifier(self, children):
        return SpecifierItem("qual", _QUALIFIERS[children[0].text], children[0])

    def alignas(self, children):
        v = children[0]
        n = v.align if isinstance(v, C.CType) else v.value
        return SpecifierItem("align", n, None)

    def basic_type(self, children):
        return SpecifierItem("basic", children[0].text, children[0])

    def typedef_name(self, children):
        tok = children[0]
        td = self.typedefs.get(tok.text)
        if td is None:
            raise CSyntaxError(f"unknown type name '{tok}'", tok)
        return SpecifierItem("type", td, tok)

    def decl_specs(self, items) -> DeclSpecifiers:
        words: list[str] = []
        quals: set[str] = set()
        storage: set[str] = set()
        attrs: list[Attr] = []
        base: C.CType | None = None
        align = 0
        pos = None
        for it in items:
            if type(it) is SpecifierItem:
                if pos is None:
                    pos = it.pos
                if it.what == "basic":
                    words.append(it.value)
                elif it.what == "qual":
                    quals.add(it.value)
                elif it.what == "storage":
                    storage.add(it.value)
                elif it.what == "align":
                    align = max(align, it.value)
                elif it.what == "type":
                    if base is not None:
                        raise CSyntaxError("cannot combine with previous type specifier", it.pos)
                    base = it.value
            elif isinstance(it, list):  # attribute list
                attrs.extend(it)
            elif isinstance(it, C.CType):
                if base is not None:
                    raise CSyntaxError("cannot combine with previous type specifier", pos)
                base = it
        if words:
            if base is not None:
                raise CSyntaxError("cannot combine with previous type specifier", pos)
            base = basic_from_words(words, pos)
        if base is None:
            base = BASICS["int"]  # implicit int (C89)
        if quals:
            base = _qualify(base, quals)
        for a in attrs:  # clang puts type tags outside the qualifiers: PTR -> TYPE_TAG -> CONST -> T
            if a.name == "btf_type_tag":
                base = C.TypeTagged(base, self._string_arg(a))
        return DeclSpecifiers(base, storage, attrs, align, pos)

    spec_qual_list = decl_specs

    # -- struct, union, enum --------------------------------------------------------------------

    def struct_ref(self, children):
        kw = children[0]
        tag = children[-1]
        is_union = kw.text == "union"
        name = tag.text
        old = self.tags.get(name)
        if old is None:
            rec = C.Record(is_union, name, pos=tag)
            self.tags[name] = rec
            return rec
        if not isinstance(old, C.Record) or old.is_union != is_union:
            raise CSyntaxError(f"use of '{name}' with tag type that does not match previous declaration",
                               tag)
        return old

    def struct_def(self, children):
        kw = children[0]
        is_union = kw.text == "union"
        attrs: list[Attr] = []
        tag = None
        members = []
        for c in children[1:]:
            if isinstance(c, list) and (not c or isinstance(c[0], Attr)):
                attrs.extend(c)
            elif isinstance(c, Tok):
                tag = c
            elif isinstance(c, tuple):
                members.append(c)
        pos = tag if tag is not None else kw
        if tag is not None:
            name = tag.text
            rec = self.tags.get(name)
            if rec is None:
                rec = C.Record(is_union, name, pos=pos)
                self.tags[name] = rec
            elif not isinstance(rec, C.Record) or rec.is_union != is_union:
                raise CSyntaxError(f"use of '{name}' with tag type that does not match previous declaration", pos)
            elif rec.defined:
                raise CSyntaxError(f"redefinition of '{name}'", pos)
        else:
            rec = C.Record(is_union, "", pos=pos)
        rec.max_field_align = self.pack
        for a in attrs:
            if a.name == "packed":
                rec.packed = True
            elif a.name == "aligned":
                rec.align_attr = max(rec.align_attr, self._align_arg(a, pos))
            elif a.name == "btf_decl_tag":
                rec.decl_tags.append(self._string_arg(a))
        fields: list[C.Field] = []
        for specs, items in members:
            fields.extend(self._fields(rec, specs, items))
        self._check_fields(rec, fields)
        rec.fields = fields
        rec.layout()
        if rec.size > BTF_MAX_SIZE or any(f.offset > BTF_MAX_SIZE for f in fields):
            raise CSyntaxError(f"'{rec.kind_name} {rec.name or '(anonymous)'}' is too large for BTF ({rec.size} "
                               f"bytes; sizes and bit offsets are 32-bit)", pos)
        if rec.name:
            self.entities.append(Entity("type", rec.name, rec))
        return rec

    def _fields(self, rec: C.Record, specs: DeclSpecifiers, items: list[Declarator]) -> list[C.Field]:
        if not items:
            base = specs.base
            inner = base.base if isinstance(base, C.Qualified) else base
            if isinstance(inner, C.Record) and not inner.name:
                return [C.Field("", base, None, specs.align, False, [], specs.pos or inner.pos)]
            return []  # declaration does not declare anything
        out = []
        for decl in items:
            t, align, tags = self._apply(specs, decl, decl.attrs)
            packed = (bool(decl.attrs) or bool(specs.attrs)) and any(a.name == "packed"
                                                                   for a in decl.attrs + specs.attrs)
            name = decl.name or ""
            bits = None
            if decl.bits is not None:
                bits = decl.bits.value
                what = f"bit-field '{name}'" if name else "anonymous bit-field"
                if not _is_integer(t):
                    raise CSyntaxError(f"{what} has non-integral type", decl.pos)
                if bits < 0:
                    raise CSyntaxError(f"{what} has negative width ({bits})", decl.pos)
                if bits > t.size * 8:
                    raise CSyntaxError(f"width of {what} ({bits} bits) exceeds the width of its type "
                                       f"({t.size * 8} bits)", decl.pos)
                if bits == 0 and name:
                    raise CSyntaxError(f"named bit-field '{name}' has zero width", decl.pos)
            elif isinstance(t, C.Function):
                raise CSyntaxError(f"field '{name}' declared as a function", decl.pos)
            out.append(C.Field(name, t, bits, align, packed, tags, decl.pos))
        return out

    def _check_fields(self, rec: C.Record, fields: list[C.Field]) -> None:
        seen: set[str] = set()
        for i, f in enumerate(fields):
            for name in _visible_names(f):
                if name in seen:
                    raise CSyntaxError(f"duplicate member '{name}'", f.pos)
                seen.add(name)
            if f.type.complete:
                continue
            if not isinstance(C.strip_typedefs(f.type), C.Array):
                raise CSyntaxError(f"field '{f.name or '(anonymous)'}' has incomplete type", f.pos)
            if i != len(fields) - 1 and not rec.is_union:
                raise CSyntaxError(f"flexible array member '{f.name}' is not at the end of {rec.kind_name}", f.pos)

    def member_decl(self, children):
        return (children[0], children[1:])

    def member_bitfield(self, children):
        decl = children[0] if isinstance(children[0], Declarator) else None
        rest = children[1:] if decl is not None else children
        width = rest[0]
        attrs = [a for c in rest[1:] for a in c]
        if not isinstance(width, CInt):
            raise CSyntaxError("bit-field width is not an integer constant", decl.pos if decl else None)
        if decl is None:
            decl = Declarator(None, None)
        decl.attrs = attrs
        decl.bits = width
        return decl

    def enum_ref(self, children):
        tag = children[-1]
        name = tag.text
        old = self.tags.get(name)
        if old is None:
            e = C.Enum(name)
            self.tags[name] = e
            return e
        if not isinstance(old, C.Enum):
            raise CSyntaxError(f"use of '{name}' with tag type that does not match previous declaration",
                               tag)
        return old

    def enum_def(self, children):
        attrs: list[Attr] = []
        tag = None
        for c in children:
            if isinstance(c, list) and (not c or isinstance(c[0], Attr)):
                attrs.extend(c)
            elif isinstance(c, Tok):
                tag = c
        items, self._enum_items = self._enum_items, []
        pos = tag if tag is not None else (items[0][2] if items else None)
        if tag is not None:
            name = tag.text
            e = self.tags.get(name)
            if e is None:
                e = C.Enum(name)
                self.tags[name] = e
            elif not isinstance(e, C.Enum):
                raise CSyntaxError(f"use of '{name}' with tag type that does not match previous declaration", pos)
            elif e.defined:
                raise CSyntaxError(f"redefinition of 'enum {name}'", pos)
        else:
            e = C.Enum("")
        e.packed = any(a.name == "packed" for a in attrs)
        e.decl_tags = [self._string_arg(a) for a in attrs if a.name == "btf_decl_tag"]
        e.values = [(n, v.value) for n, v, _ in items]
        e.finish(pos)
        if e.name:
            self.entities.append(Entity("type", e.name, e))
        return e

    def enumerator_list(self, children):
        return None

    def enumerator(self, children):
        tok = children[0]
        value = next((c for c in children[1:] if isinstance(c, CInt)), None)
        if value is None:
            value = CInt(0)
            if self._enum_items:
                prev = self._enum_items[-1][1]
                # past a 64-bit type's range clang wraps (with a warning); narrower types widen
                value = CInt.of(prev.value + 1, 64, prev.signed) if prev.bits == 64 else CInt(prev.value + 1, 64)
        name = tok.text
        if name in self.consts:
            raise CSyntaxError(f"redefinition of enumerator '{name}'", tok)
        # the constant has type int if the value fits, else the smallest type that holds it (GNU)
        v = value.value
        if -(1 << 31) <= v < (1 << 31):
            value = CInt(v)
        elif 0 <= v < (1 << 32):
            value = CInt(v, 32, False)
        elif -(1 << 63) <= v < (1 << 63):
            value = CInt(v, 64, True)
        elif 0 <= v < (1 << 64):
            value = CInt(v, 64, False)
        else:
            raise CSyntaxError(f"enumerator value for '{name}' is not representable in the largest integer type",
                               tok)
        self.consts[name] = value
        self._enum_items.append((name, value, tok))
        return None

    # -- declarators ---------------------------------------------------------------------

    def declarator(self, children):
        ptrs = [c for c in children if isinstance(c, PointerOp)]
        d: Declarator = children[-1]
        return Declarator(d.name, d.pos, ptrs + d.ops)

    def pointer(self, children):
        quals: set[str] = set()
        attrs: list[Attr] = []
        for c in children[1:]:
            if isinstance(c, SpecifierItem):
                quals.add(c.value)
            elif isinstance(c, list):
                attrs.extend(c)
        return PointerOp(quals, attrs)

    def name_declarator(self, children):
        tok = children[0]
        return Declarator(tok.text, tok)

    def paren_declarator(self, children):
        return children[0]

    def array_declarator(self, children):
        d: Declarator = children[0]
        count = children[1] if len(children) > 1 else None
        return Declarator(d.name, d.pos, [self._array_op(count, d.pos), *d.ops])

    def _array_op(self, count, pos) -> ArrayOp:
        if count is None:
            return ArrayOp(None, pos)
        if not isinstance(count, CInt):
            raise CSyntaxError("array size is not an integer constant expression", pos)
        if count.value < 0:
            raise CSyntaxError("array has a negative size", pos)
        if count.value > BTF_MAX_SIZE:
            raise CSyntaxError(f"array is too large for BTF ({count.value} elements; at most {BTF_MAX_SIZE})", pos)
        return ArrayOp(count.value, pos)

    def array_size(self, children):
        vals = [c for c in children if isinstance(c, CInt)]
        return vals[-1] if vals else None

    def function_declarator(self, children):
        d: Declarator = children[0]
        params, variadic = children[1] if len(children) > 1 else ([], False)
        return Declarator(d.name, d.pos, [FuncOp(params, variadic), *d.ops])

    def param_list(self, children):
        variadic = any(isinstance(c, Tok) and c.text == "..." for c in children)
        params = [c for c in children if isinstance(c, tuple)]
        if len(params) == 1 and params[0][0] == "" and isinstance(params[0][1], C.Void):
            params = []
        return (params, variadic)

    def param_named(self, children):
        specs: DeclSpecifiers = children[0]
        d: Declarator = children[1]
        t, _, _ = self._apply(specs, d, [])
        return (d.name or "", _adjust_param(t), d.attrs + specs.attrs)

    def param_abstract(self, children):
        specs: DeclSpecifiers = children[0]
        d = children[1] if len(children) > 1 else Declarator(None, None)
        t, _, _ = self._apply(specs, d, [])
        return ("", _adjust_param(t) if not isinstance(t, C.Void) else t, list(specs.attrs))

    def type_name(self, children):
        specs: DeclSpecifiers = children[0]
        d = children[1] if len(children) > 1 else Declarator(None, None)
        t, _, _ = self._apply(specs, d, [])
        return t

    def abstract_pointer(self, children):
        return Declarator(None, None, list(children))

    def abstract_declarator(self, children):
        return self.declarator(children)

    def paren_abstract(self, children):
        return children[0]

    def array_abstract(self, children):
        d = children[0] if children and isinstance(children[0], Declarator) else Declarator(None, None)
        rest = children[1:] if children and isinstance(children[0], Declarator) else children
        count = rest[0] if rest else None
        return Declarator(None, None, [self._array_op(count, None), *d.ops])

    def function_abstract(self, children):
        d = children[0] if children and isinstance(children[0], Declarator) else Declarator(None, None)
        rest = children[1:] if children and isinstance(children[0], Declarator) else children
        params, variadic = rest[0] if rest else ([], False)
        return Declarator(None, None, [FuncOp(params, variadic), *d.ops])

    def _apply(self, specs: DeclSpecifiers, decl: Declarator, attrs: list[Attr]) -> tuple[C.CType, int, list[str]]:
        """Build the declared type; returns it with its aligned() value and decl tags."""
        t = specs.base
        for op in decl.ops:
            if isinstance(op, PointerOp):
                t = C.Pointer(t)
                for a in op.attrs:
                    if a.name == "btf_type_tag":
                        t = C.TypeTagged(t, self._string_arg(a))
                t = _qualify(t, op.quals)
            elif isinstance(op, ArrayOp):
                if isinstance(t, C.Function):
                    raise CSyntaxError(f"'{decl.name}' declared as array of functions", op.pos or decl.pos)
                if not t.complete:
                    raise CSyntaxError("array has incomplete element type", op.pos or decl.pos)
                t = C.Array(t, op.count)
                if t.size > BTF_MAX_SIZE:
                    raise CSyntaxError(f"array is too large for BTF ({t.size} bytes; at most {BTF_MAX_SIZE})",
                                       op.pos or decl.pos)
            else:
                if isinstance(t, (C.Array, C.Function)):
                    raise CSyntaxError("function cannot return an array or function type", decl.pos)
                t = C.Function(t, [(n, pt) for n, pt, _ in op.params], op.variadic)
        align = specs.align
        tags = []
        if not attrs and not specs.attrs:
            return t, align, tags
        for a in specs.attrs + attrs:
            if a.name == "aligned":
                align = max(align, self._align_arg(a, decl.pos))
            elif a.name == "btf_decl_tag":
                tags.append(self._string_arg(a))
        return t, align, tags

    def _decl_tags(self, attrs: list[Attr]) -> list[str]:
        return [self._string_arg(a) for a in attrs if a.name == "btf_decl_tag"]

    # -- attributes -----------------------------------------------------------------------

    def attribute(self, children):
        return [c for c in children if isinstance(c, Attr)]

    def asm_label(self, children):
        return []

    def attr_item(self, children):
        name = _strip_underscores(children[0].text)
        for arg in children[1:]:
            if isinstance(arg, CString):
                _check_unevaluated(arg.toks)
        return Attr(name, list(children[1:]))

    def attr_ident(self, children):
        return AttrWord(children[0].text)

    def string_lit(self, children):
        return _string_literal(children)

    def _string_arg(self, a: Attr) -> str:
        if len(a.args) != 1 or not isinstance(a.args[0], CString):
            raise CSyntaxError(f"'{a.name}' attribute requires a string", None)
        return a.args[0]

    def _align_arg(self, a: Attr, pos) -> int:
        if not a.args:
            return 16  # __attribute__((aligned)): the target's largest alignment
        v = a.args[0]
        if not isinstance(v, CInt) or v.value <= 0 or v.value & (v.value - 1):
            raise CSyntaxError("requested alignment is not a power of 2", pos)
        return v.value

    # -- constant expressions -----------------------------------------------------------------

    def number(self, children):
        tok = children[0]
        v = parse_int_literal(tok.text)
        if v is None:
            text = tok.text if len(tok.text) <= 40 else f"{tok.text[:24]}...({len(tok.text)} characters)"
            raise CSyntaxError(f"invalid integer constant '{text}' (malformed, or too large for any type)", tok)
        return v

    def char_const(self, children):
        tok = children[0]
        return self._eval(lambda: parse_char_literal(tok.text), tok)

    def ident(self, children):
        tok = children[0]
        v = self.consts.get(tok.text)
        if v is None:
            raise CSyntaxError(f"use of undeclared identifier '{tok}'", tok)
        return v

    def binop(self, children):
        a, op, b = children
        return self._eval(lambda: binary(op.text, a, b), op)

    def or_(self, children):
        return CInt(int(bool(children[0]) or bool(children[1])))

    def and_(self, children):
        return CInt(int(bool(children[0]) and bool(children[1])))

    def ternary(self, children):
        c, a, b = children
        return a if c else b

    def unop(self, children):
        op, a = children
        return self._eval(lambda: unary(op.text, a), op)

    def cast(self, children):
        t, v = children
        s = C.strip_typedefs(t)
        if isinstance(s, C.Basic) and not s.is_float:
            if s.is_bool:
                return CInt(int(bool(v)), 8, False)
            return v.cast(s.size * 8, s.signed)
        if isinstance(s, C.Enum):
            return v.cast(s.size * 8, s.signed)
        if isinstance(s, C.Pointer):
            return v.cast(64, False)
        raise CSyntaxError("cast to a non-integer type in a constant expression", None)

    def sizeof_type(self, children):
        t = children[-1]
        if not t.complete and not isinstance(t, C.Void):
            raise CSyntaxError("invalid application of 'sizeof' to an incomplete type", children[0])
        return CInt(t.size, 64, False)

    def sizeof_expr(self, children):
        v = children[-1]
        if isinstance(v, CString):
            return CInt(v.size, 64, False)
        if isinstance(v, CInt):
            return CInt(v.bits // 8, 64, False)
        raise CSyntaxError("unsupported operand of 'sizeof'", children[0])

    def alignof_type(self, children):
        return CInt(children[-1].align, 64, False)

    def offsetof(self, children):
        t, path = children
        rec = C.strip_typedefs(t)
        offset = 0
        for step in path:
            if isinstance(step, CInt):
                if not isinstance(rec, C.Array):
                    raise CSyntaxError("subscript of a non-array in offsetof", None)
                offset += step.value * rec.elem.size * 8
                rec = C.strip_typedefs(rec.elem)
                continue
            found = find_member(rec, step) if isinstance(rec, C.Record) else None
            if found is None:
                raise CSyntaxError(f"no member named '{step}' in offsetof", None)
            bit_off, f = found
            if f.bits is not None:
                raise CSyntaxError(f"cannot compute offset of bit-field '{step}'", None)
            offset += bit_off
            rec = C.strip_typedefs(f.type)
        return CInt(offset // 8, 64, False)

    def offsetof_path(self, children):
        return [c.text if isinstance(c, Tok) else c for c in children]

    def _eval(self, fn, tok):
        try:
            return fn()
        except ConstEvalError as exc:
            raise CSyntaxError(str(exc), tok) from None


def find_member(rec: C.Record, name: str) -> tuple[int, C.Field] | None:
    """Member ``name`` of ``rec``, looking through anonymous members; (bit offset, field)."""
    for f in rec.fields:
        if f.name == name:
            return f.offset, f
        inner = C.strip_typedefs(f.type)
        if not f.name and isinstance(inner, C.Record):
            found = find_member(inner, name)
            if found is not None:
                return f.offset + found[0], found[1]
    return None


def _visible_names(f: C.Field) -> list[str]:
    """Member names ``f`` brings into its record (an anonymous member brings its own)."""
    if f.name:
        return [f.name]
    inner = C.strip_typedefs(f.type)
    if isinstance(inner, C.Record):
        return [n for g in inner.fields for n in _visible_names(g)]
    return []


def _qualify(t: C.CType, quals: set[str]) -> C.CType:
    if not quals or quals == {"atomic"}:
        return t
    if isinstance(t, C.Qualified):
        return C.Qualified(t.base, t.const or "const" in quals, t.volatile or "volatile" in quals,
                           t.restrict or "restrict" in quals)
    return C.Qualified(t, "const" in quals, "volatile" in quals, "restrict" in quals)


def _adjust_param(t: C.CType) -> C.CType:
    """Array and function parameters decay to pointers."""
    if isinstance(t, C.Array):
        return C.Pointer(t.elem)
    if isinstance(t, C.Function):
        return C.Pointer(t)
    return t


def _same_type(a: C.CType, b: C.CType) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, C.Pointer):
        return _same_type(a.target, b.target)
    if isinstance(a, C.Array):
        return a.count == b.count and _same_type(a.elem, b.elem)
    if isinstance(a, C.Qualified):
        return (a.const, a.volatile, a.restrict) == (b.const, b.volatile, b.restrict) and _same_type(a.base, b.base)
    if isinstance(a, C.TypeTagged):
        return a.tag == b.tag and _same_type(a.base, b.base)
    if isinstance(a, C.Function):
        return (a.variadic == b.variadic and len(a.params) == len(b.params) and _same_type(a.ret, b.ret)
                and all(_same_type(x[1], y[1]) for x, y in zip(a.params, b.params, strict=False)))
    return False
