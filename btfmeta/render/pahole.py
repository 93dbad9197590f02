"""A struct's layout as ``pahole -F btf -C NAME`` (pahole 1.24) prints it, quirks included:
column widths that shrink by a tab per level (and wrap past the fourth), ``const X  *``,
inline types (qualified ones and pointed-to ones with their own columns), ``[]`` only down
to the second level, cacheline state reset after unions, and pahole's inference of
``__packed__`` and ``__aligned__(N)`` from offsets and sizes."""

from __future__ import annotations

from ..btf import types as T
from ..btf.holes import gaps, walk
from ..btf.kinds import Kind
from ..btf.query import MODS_AND_TYPEDEF, field_size, follow, skip_mods_and_typedefs
from ..btf.spec import Spec
from ..errors import BTFFormatError
from ..profiles.pahole import PROFILES
from ..profiles.pahole import Pahole as PaholeProfile

TYPE_WIDTH, LINE_WIDTH = 26, 48


def type_str(btf: Spec, tid: int, under_ptr: bool = False) -> str:
    """pahole's spelling of a type (arrays print their element type; the name gets [N]).
    A chain of qualifiers and pointers is walked in a loop, each link adding a prefix and a
    suffix around the spelling of what it refers to (linear in the chain's length)."""
    prefixes: list[str] = []
    suffixes: list[str] = []
    for _ in range(btf.type_cnt + 1):
        t = btf.type_by_id(tid) if tid else None
        k = None if t is None else t.kind
        inner = btf.type_by_id(t.type) if k in _LINKS and t.type else None
        if k == Kind.PTR and inner is not None and inner.kind == Kind.FUNC_PROTO:
            base = f"{type_str(btf, inner.return_type)} (*)({params(btf, inner)})"
        elif k == Kind.PTR:  # "const char " + " *": pahole's "const char  *"
            suffixes.append(" *")
            tid, under_ptr = t.type, True
            continue
        elif k == Kind.CONST and under_ptr and inner is not None and inner.kind == Kind.PTR:
            suffixes.append(" const")
            tid, under_ptr = t.type, False
            continue
        elif k in (Kind.CONST, Kind.VOLATILE):
            prefixes.append("const " if k == Kind.CONST else "volatile ")
            suffixes.append(" ")
            tid, under_ptr = t.type, False
            continue
        elif k in (Kind.RESTRICT, Kind.TYPE_TAG, Kind.ARRAY):
            tid, under_ptr = t.type, False
            continue
        else:
            base = _base_str(btf, t)
        return "".join(prefixes) + base + "".join(reversed(suffixes))
    raise BTFFormatError(f"type [{tid}] is part of a reference loop", path=btf.path)


_LINKS = (Kind.PTR, Kind.CONST, Kind.VOLATILE, Kind.RESTRICT, Kind.TYPE_TAG, Kind.ARRAY)


def _base_str(btf: Spec, t: T.Type | None) -> str:
    if t is None:
        return "void"
    k = t.kind
    if k in (Kind.INT, Kind.FLOAT, Kind.TYPEDEF):
        return t.name
    if k == Kind.STRUCT:
        return f"struct {t.name}" if t.name else "struct"
    if k == Kind.UNION:
        return f"union {t.name}" if t.name else "union"
    if k in (Kind.ENUM, Kind.ENUM64):
        return f"enum {t.name}" if t.name else "enum"
    if k == Kind.FWD:
        return f"{'union' if t.is_union else 'struct'} {t.name}"
    if k == Kind.FUNC_PROTO:
        return f"{type_str(btf, t.return_type)} ({params(btf, t)})"
    return "?"


def params(btf: Spec, proto: T.FuncProto) -> str:
    out = []
    for p in proto.params:
        out.append("..." if p.type == 0 else type_str(btf, p.type))
    return ", ".join(out) if out else "void"


def _dims(btf: Spec, tid: int, last: bool) -> str:
    """Array dimensions for the member name; a trailing zero-length array prints as []."""
    dims = ""
    tid, t = follow(btf, tid, (Kind.CONST, Kind.VOLATILE))
    follow(btf, tid, (Kind.ARRAY,))  # refuses a loop of arrays before the walk below
    while t is not None and t.kind == Kind.ARRAY:
        dims += "[]" if last and not dims and t.nelems == 0 else f"[{t.nelems}]"
        t = btf.type_by_id(t.type) if t.type else None
    return dims


def _bitfield_comment(bit: int, unit: int) -> str:
    """pahole's `/* byte:bit size */` for a bit-field in a storage unit of ``unit`` bytes."""
    start = bit // (unit * 8) * unit
    return f"/* {start:5}:{bit - start * 8:2}{unit:3} */"


def natural_alignment(btf: Spec, tid: int, _outer: frozenset[int] = frozenset()) -> int:
    """pahole's tag__natural_alignment."""
    rid, t = follow(btf, tid, (*MODS_AND_TYPEDEF, Kind.ARRAY))
    if t is None:
        return 1
    if t.kind == Kind.PTR:
        return 8
    if t.kind in (Kind.STRUCT, Kind.UNION):
        if rid in _outer:
            raise BTFFormatError(f"type [{rid}] contains itself (a cycle through members or arrays)", path=btf.path)
        inner = _outer | {rid}
        return max((natural_alignment(btf, m.type, inner) for m in t.members), default=1)
    return max(getattr(t, "size", 1), 1)


def infer_alignment(byte_offset: int, natural: int, smallest_offset: int, cacheline: int) -> int:
    """pahole's class__infer_alignment: an offset past the natural one hints at aligned(N)."""
    delta = byte_offset - smallest_offset
    alignment = 0
    if delta > 0 and byte_offset % 2 == 0:
        alignment = 1 << delta.bit_length()
    if alignment <= natural or alignment == 1:
        return 0
    if alignment < cacheline and cacheline % alignment == 0 and byte_offset % cacheline == 0:
        return cacheline
    return alignment


class Pahole:
    def __init__(self, btf: Spec, cacheline: int = 64, profile: PaholeProfile = PROFILES["1.24"]):
        self.btf = btf
        self.profile = profile
        self.cacheline = cacheline
        self.paddings: list[int] = []
        self.forced: list[int] = []
        self.line_width = LINE_WIDTH

    def widths(self, depth: int) -> tuple[int, int]:
        # pahole's type column goes negative past the fourth level and is taken as its magnitude
        return abs(TYPE_WIDTH - 8 * (depth - 1)), self.line_width - 8 * (depth - 1)

    def member_line(self, depth: int, m: T.Member, base_bits: int, last: bool = False,
                    aligned: int = 0) -> list[str]:
        btf = self.btf
        tw, lw = self.widths(depth)
        tabs = "\t" * depth
        bit = base_bits + m.bits_offset
        _, mt = skip_mods_and_typedefs(btf, m.type)
        raw = btf.type_by_id(m.type) if m.type else None
        quals = ""
        while isinstance(raw, (T.Const, T.Volatile)):
            quals += "const " if isinstance(raw, T.Const) else "volatile "
            raw = btf.type_by_id(raw.type) if raw.type else None
        if isinstance(mt, T.Composite) and not mt.name and isinstance(raw, T.Composite):
            return self.inline(depth, m, mt, bit, quals)
        elem = raw
        while isinstance(elem, T.Array):
            elem = btf.type_by_id(elem.type) if elem.type else None
        if isinstance(raw, T.Array) and isinstance(elem, T.Composite) and not elem.name:
            # an array of an anonymous struct: expanded for its first element, closed on one space
            out = [f"{tabs}{'struct' if elem.kind == Kind.STRUCT else 'union'} {{"]
            out += self.nested(elem, depth + 1, bit)
            size = field_size(btf, m.type)
            flexible = last and self._in_struct and len(self._members) > 1 and depth <= 2
            out.append(f"{tabs}}} {m.name}{_dims(btf, m.type, flexible)}; /* {bit // 8:5} {size:5} */")
            return out
        raw = btf.type_by_id(m.type) if m.type else None
        if isinstance(raw, T.EnumLike) and not raw.name:
            width = max((len(v.name) for v in raw.values), default=0)
            out = [f"{tabs}enum {{"]
            out += [f"{tabs}\t{v.name.ljust(width)} = {v.value}," for v in raw.values]
            if m.bitfield_size:  # pahole pads as if the ":bits" were not there
                pad = " " * max(lw - len(f"}} {m.name};"), 0)
                out.append(f"{tabs}}} {m.name}:{m.bitfield_size};{pad} {_bitfield_comment(bit, raw.size)}")
            else:
                out.append(f"{tabs}{('} ' + m.name + ';').ljust(lw)} /* {bit // 8:5} {raw.size:5} */")
            return out
        ptr = raw
        if isinstance(ptr, T.Ptr) and ptr.type:
            pointee = btf.type_by_id(ptr.type)
            if isinstance(pointee, T.Composite) and not pointee.name:
                # pahole expands it one tab in, with the columns of two levels in, offsets from 0
                out = [f"{tabs}{'struct' if pointee.kind == Kind.STRUCT else 'union'} {{"]
                out += [line[1:] for line in self.nested(pointee, depth + 2, 0)]
                out.append(f"{tabs}}} * {m.name}; /* {bit // 8:5} {8:5} */")
                return out
        fquals = ""
        while isinstance(ptr, (T.Const, T.Volatile)):  # `int (* const f)(...)`: pahole's "const int (*f)(...)"
            fquals += "const " if isinstance(ptr, T.Const) else "volatile "
            ptr = btf.type_by_id(ptr.type) if ptr.type else None
        if isinstance(ptr, T.Ptr) and ptr.type and btf.type_by_id(ptr.type).kind == Kind.FUNC_PROTO:
            proto = btf.type_by_id(ptr.type)
            left = (fquals + type_str(btf, proto.return_type).rstrip()).ljust(tw)
            text = f"{left} (*{m.name})({params(btf, proto)});"
        else:
            left = type_str(btf, m.type).rstrip().ljust(tw)
            # pahole 1.24 writes a trailing zero-length array as [] only down to the second level
            flexible = last and self._in_struct and len(self._members) > 1 and depth <= 2
            name = m.name + _dims(btf, m.type, flexible) + \
                (f":{m.bitfield_size}" if m.bitfield_size else "")
            if aligned:
                name += f" __attribute__((__aligned__({aligned})))"
            text = f"{left} {name};"
        size = field_size(btf, m.type)
        comment = _bitfield_comment(bit, max(size, 1)) if m.bitfield_size else f"/* {bit // 8:5} {size:5} */"
        return [f"{tabs}{text.ljust(lw)} {comment}"]

    def inline(self, depth: int, m: T.Member, mt, bit: int, quals: str = "") -> list[str]:
        tabs = "\t" * depth
        _, lw = self.widths(depth)
        out = [f"{tabs}{quals}{'struct' if mt.kind == Kind.STRUCT else 'union'} {{"]
        if quals:  # pahole lays a qualified inline type out with the columns of one level deeper
            out += [line[1:] if line.startswith("\t") else line for line in self.nested(mt, depth + 2, bit)]
        else:
            out += self.nested(mt, depth + 1, bit)
        attr = " __attribute__((__packed__))" if mt.kind == Kind.STRUCT and self.is_packed(mt) else ""
        close = f"}}{attr} {m.name};" if m.name else f"}}{attr};"
        out.append(f"{tabs}{close.ljust(lw)} /* {bit // 8:5} {mt.size:5} */")
        return out

    def nested(self, t, depth: int, base_bits: int) -> list[str]:
        """The body of an inline type, keeping the enclosing type's member context."""
        saved = self._members, self._in_struct
        try:
            return self.body(t, depth, base_bits)
        finally:
            self._members, self._in_struct = saved

    def body(self, t, depth: int, base_bits: int, top: bool = False) -> list[str]:
        btf = self.btf
        self._members = t.members
        self._in_struct = t.kind == Kind.STRUCT
        tabs = "\t" * depth
        out: list[str] = []
        is_struct = t.kind == Kind.STRUCT
        pending: list[str] = []  # hole comments owed after the previous member
        smallest = 0  # end of the previous sized non-bit-field member, for alignment inference
        prev_end = 0  # end of the previous member of any size, for "forced holes"
        union_start = self.boundary
        spans, _, _, _ = walk(t, btf)
        for i, sp in enumerate(spans):
            m, size, start, m_unit_end = sp.member, sp.size, sp.start, sp.unit_end
            if not is_struct:  # each alternative of a union starts from the same cacheline state
                self.boundary = union_start
            if sp.bit_hole:
                n = sp.bit_hole[1]
                pending.append(f"{tabs}/* XXX {n} bit{'s' if n > 1 else ''} hole, try to pack */")
            if sp.hole:
                n = sp.hole[1]
                pending.append(f"{tabs}/* XXX {n} byte{'s' if n > 1 else ''} hole, try to pack */")
            if sp.filler is not None:
                if sp.filler == 0:
                    pending += ["", f"{tabs}/* Force alignment to the next boundary: */"]
                tw, _ = self.widths(depth)
                pending.append(f"{tabs}{type_str(btf, m.type).rstrip().ljust(tw)} :{sp.filler};")
            if sp.combined_next:
                pending.append(f"{tabs}/* Bitfield combined with next fields */")
            if sp.combined_prev:
                pending.append(f"{tabs}/* Bitfield combined with previous fields */")
            if pending:
                out += ["", *pending, ""]
                pending = []
            off = (base_bits + start) // 8
            if m.bitfield_size:
                off = (base_bits + start) // (max(size, 1) * 8) * max(size, 1)
            if off >= self.boundary:
                n = off // self.cacheline
                was = off - n * self.cacheline
                tail = f" was {was} byte{'s' if was > 1 else ''} ago" if was else ""
                out.append(f"{tabs}/* --- cacheline {n} boundary ({n * self.cacheline} bytes){tail} --- */")
                self.boundary = (n + 1) * self.cacheline
            aligned = 0
            if not m.bitfield_size and is_struct:
                inferred = infer_alignment(start // 8, natural_alignment(btf, m.type), smallest, self.cacheline)
                if size or self.profile.aligns_empty_members:  # before 1.31 a zero-sized one gets none
                    aligned = inferred
                    if aligned and top:
                        self.forced.append(max(start // 8 - prev_end, 0))
                    smallest = start // 8 + size
            elif m.bitfield_size:
                smallest = m_unit_end // 8
            out += self.member_line(depth, m, base_bits, i == len(t.members) - 1, aligned)
            prev_end = m_unit_end // 8
            if top and (size or m.bitfield_size):
                self.last_end = m_unit_end // 8
            raw = btf.type_by_id(m.type) if m.type else None
            if is_struct and isinstance(raw, T.Struct):
                note = self.member_type_note(raw, top)
                if note:
                    pending.append(f"{tabs}/* XXX last struct has {note} */")
        if pending:
            out += ["", *pending]  # no blank line before the closing brace
        if not is_struct:  # after a union, pahole is back at the cacheline state it entered with
            self.boundary = union_start
        return out

    def member_type_note(self, t: T.Struct, top: bool) -> str:
        """What pahole says after a member of struct type ``t`` (and counts, at the top level)."""
        g = gaps(t, self.btf)
        pad = g["padding"]
        if top and pad:
            self.paddings.append(pad)
        if not self.profile.member_type_holes:
            return f"{pad} byte{'s' if pad > 1 else ''} of padding" if pad else ""
        counts = (pad, g["bit_padding"], len(g["holes"]), len(g["bit_holes"]))
        flexible = []
        if self.profile.flexible_arrays:
            for i, (found, text) in enumerate(((self.ends_flexible(t), "a flexible array"),
                                              (self.embeds_flexible(t), "embedded flexible array(s)"))):
                if found:
                    flexible.append(text)
                    if top:
                        self.flexible[i] += 1
        if top:
            for i, n in enumerate(counts[1:]):
                if n:
                    self.member_holes[i][0] += 1
                    self.member_holes[i][1] += n
        words = ("byte{} of padding", "bit{} of padding", "hole{}", "bit hole{}")
        return ", ".join([*flexible, *(f"{n} " + w.format("s" if n != 1 else "")
                                       for n, w in zip(counts, words, strict=True) if n)])

    def ends_flexible(self, t: T.Struct) -> bool:
        """pahole 1.28: the last member is an array of no elements."""
        if not t.members:
            return False
        _, last = follow(self.btf, t.members[-1].type, (Kind.CONST, Kind.VOLATILE))
        return isinstance(last, T.Array) and last.nelems == 0

    def embeds_flexible(self, t: T.Struct, _outer: frozenset[int] = frozenset()) -> bool:
        """pahole 1.28: a struct member (at any depth) ends in a flexible array."""
        for m in t.members:
            if m.type in _outer:
                continue
            mt = self.btf.type_by_id(m.type) if m.type else None
            if isinstance(mt, T.Struct) and (self.ends_flexible(mt) or self.embeds_flexible(mt, _outer | {m.type})):
                return True
        return False

    def render(self, tid: int) -> str:
        btf = self.btf
        t = btf.type_by_id(tid)
        kind = "struct" if t.kind == Kind.STRUCT else "union"
        self.paddings = []
        self.member_holes = [[0, 0], [0, 0], [0, 0]]  # bit paddings, holes, bit holes: (types, total)
        self.flexible = [0, 0]  # members whose struct ends in a flexible array, embeds one
        self.forced = []  # for each member with an inferred alignment: the hole before it
        self.boundary = self.cacheline
        self.last_end = 0  # end of the last member that has a size, for the struct's alignment
        self.line_width = LINE_WIDTH if t.kind == Kind.STRUCT else LINE_WIDTH - 2  # pahole: unions 2 less
        body = self.body(t, 1, 0, top=True)
        if body and body[-1] == "":
            body.pop()  # the summary's own blank line follows
        lines = [f"{kind} {t.name} {{", *body]
        if t.kind == Kind.STRUCT:
            g = gaps(t, btf)
            holes, bit_holes = g["holes"], g["bit_holes"]
            lines.append("")
            cl = -(-t.size // self.cacheline)
            lines.append(f"\t/* size: {t.size}, cachelines: {cl}, members: {len(t.members)} */")
            bits = g["sum_bitfield_bits"]
            if holes or bit_holes:  # pahole sums members only when something is missing between them
                hole_text = f", holes: {len(holes)}, sum holes: {sum(h['size'] for h in holes)}" if holes else ""
                lines.append(f"\t/* sum members: {g['sum_members']}{hole_text} */")
                if bits and bit_holes:
                    lines.append(f"\t/* sum bitfield members: {bits} bits, bit holes: {len(bit_holes)}, "
                                 f"sum bit holes: {sum(h['bits'] for h in bit_holes)} bits */")
                elif bits:
                    lines.append(f"\t/* sum bitfield members: {bits} bits ({bits // 8} bytes) */")
            if g["padding"]:
                lines.append(f"\t/* padding: {g['padding']} */")
            (bp_types, bp_sum), (h_types, h_sum), (bh_types, bh_sum) = self.member_holes
            kinds = [f"holes: {h_types}, total: {h_sum}"] if h_types else []
            kinds += [f"bit holes: {bh_types}, total: {bh_sum}"] if bh_types else []
            kinds += [f"bit paddings: {bp_types}, total: {bp_sum} bit{'s' if bp_sum > 1 else ''}"] if bp_types else []
            if kinds:
                lines.append(f"\t/* member types with {', '.join(kinds)} */")
            if self.paddings:
                lines.append(f"\t/* paddings: {len(self.paddings)}, sum paddings: {sum(self.paddings)} */")
            if g["bit_padding"]:
                lines.append(f"\t/* bit_padding: {g['bit_padding']} bits */")
            if self.forced:
                holes_before = [h for h in self.forced if h]
                text = f"forced alignments: {len(self.forced)}"
                if holes_before:
                    text += f", forced holes: {len(holes_before)}, sum forced holes: {sum(holes_before)}"
                lines.append(f"\t/* {text} */")
            end, middle = self.flexible
            if end or middle:
                where = ([f"end: {end}"] if end else []) + ([f"middle: {middle}"] if middle else [])
                lines.append(f"\t/* flexible array members: {', '.join(where)} */")
            if t.size % self.cacheline:
                lines.append(f"\t/* last cacheline: {t.size % self.cacheline} bytes */")
        lines.append("}" + self.attributes(t) + ";")
        return "\n".join(lines) + ("\n\n" if self.profile.blank_after else "\n")

    def is_packed(self, t: T.Struct) -> bool:
        """pahole's inference: a member off its natural alignment, or a size that is not a
        multiple of the largest natural alignment."""
        btf = self.btf
        nat = 1
        for m in t.members:
            a = natural_alignment(btf, m.type)
            nat = max(nat, a)
            if not m.bitfield_size and (m.bits_offset // 8) % a:
                return True
        return bool(t.size % nat)

    def attributes(self, t) -> str:
        if t.kind == Kind.STRUCT and self.is_packed(t):
            return " __attribute__((__packed__))"
        if t.kind == Kind.STRUCT and t.members:
            natural = max((natural_alignment(self.btf, m.type) for m in t.members), default=1)
            aligned = infer_alignment(t.size, natural, self.last_end, self.cacheline)
            if aligned:
                return f" __attribute__((__aligned__({aligned})))"
        return ""
