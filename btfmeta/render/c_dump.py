"""BTF as C declarations, as ``bpftool btf dump file F format c`` writes them (libbpf 1.1's
btf_dump.c): the same type order, forward declarations, ``___N`` renaming of clashing
names, padding bit-fields, ``__attribute__((packed))`` detection and declarator syntax.

Kept close to btf_dump.c's structure on purpose: its emission order is the contract.
"""

from __future__ import annotations

from collections.abc import Callable

from ..btf import types as T
from ..btf.codec import s32
from ..btf.kinds import Kind
from ..btf.names import c_identifier
from ..btf.query import MODS, Nested, align_of, drive, field_size, is_packed
from ..btf.spec import Spec
from ..errors import BTFFormatError
from ..profiles.bpftool import Bpftool
from .c_order import sorted_ids

NOT_ORDERED, ORDERING, ORDERED = 0, 1, 2
NOT_EMITTED, EMITTING, EMITTED = 0, 1, 2

HEADER = ("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
          "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n")
# bpftool >= 7.5 (and __bpf_fastcall from 7.6) defines these for the kfunc prototypes
KSYM_DEFINES = ("#ifndef __ksym\n#define __ksym __attribute__((section(\".ksyms\")))\n#endif\n\n"
                "#ifndef __weak\n#define __weak __attribute__((weak))\n#endif\n\n")
FASTCALL_DEFINE = ("#ifndef __bpf_fastcall\n#if __has_attribute(bpf_fastcall)\n"
                   "#define __bpf_fastcall __attribute__((bpf_fastcall))\n#else\n#define __bpf_fastcall\n#endif\n"
                   "#endif\n\n")
FOOTER = ("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n"
          "#endif /* __VMLINUX_H__ */\n")


# the longest run of padding printed for one gap: 16 MiB of struct; libbpf's int arithmetic
# allows 256 MiB, which only a damaged size field asks for
MAX_PADDING_BITS = 1 << 27


def _pfx(lvl: int) -> str:
    return "\t" * min(lvl, 18)


class CDumper:
    def __init__(self, btf: Spec, write: Callable[[str], None], profile: Bpftool):
        self.btf = btf
        self.profile = profile
        self.out = write
        n = btf.type_cnt
        self.order_state = [NOT_ORDERED] * n
        self.emit_state = [NOT_EMITTED] * n
        self.fwd_emitted = [False] * n
        self.referenced = [False] * n
        self.names: dict[int, str] = {}
        self.type_names: dict[str, int] = {}
        self.ident_names: dict[str, int] = {}
        self.queue: list[int] = []
        self.skipped: dict[int, tuple[int, bool]] = {}
        self._mark_referenced()

    def t(self, tid: int) -> T.Type | None:
        return None if tid == 0 else self.btf.type_by_id(tid)

    def _mark_referenced(self) -> None:
        ref = self.referenced
        for tid in range(1, self.btf.type_cnt):
            t = self.btf.type_by_id(tid)
            if isinstance(t, T.Array):
                ref[t.index_type] = ref[t.type] = True
            else:
                for r in T.referenced_ids(t):
                    ref[r] = True

    # -- names -------------------------------------------------------------------------

    @staticmethod
    def _dups(table: dict[str, int], name: str) -> int:
        table[name] = table.get(name, 0) + 1
        return table[name]

    def _resolve_name(self, tid: int, table: dict[str, int]) -> str:
        t = self.t(tid)
        if not t.name:
            return ""
        cached = self.names.get(tid)
        if cached is not None:
            return cached
        name = c_identifier(t.name, tid, self.btf.path)
        if not (isinstance(t, T.Fwd) or (isinstance(t, T.Enum) and not t.values)):
            dup = self._dups(table, t.name)
            if dup > 1:
                name = f"{t.name}___{dup}"
        self.names[tid] = name
        return name

    def type_name(self, tid: int) -> str:
        return self._resolve_name(tid, self.type_names)

    def ident_name(self, tid: int) -> str:
        return self._resolve_name(tid, self.ident_names)

    # -- ordering ---------------------------------------------------------------------------

    def _skip(self, tid: int) -> tuple[int, bool]:
        """The first type past a chain of modifiers and arrays from ``tid``, and whether an
        array was crossed. Ordering and emitting such a chain is ordering and emitting that
        type (btf_dump.c forwards them unchanged, an array dropping through_ptr): remembered
        per id, so that dumping every link of a 10^5 chain stays linear."""
        hit = self.skipped.get(tid)
        if hit is None:
            path = []
            cur = tid
            while (t := self.t(cur)) is not None and t.kind in (*MODS, Kind.ARRAY) and cur not in self.skipped:
                path.append(cur)
                cur = t.type
                if len(path) > self.btf.type_cnt:
                    raise BTFFormatError(f"type [{tid}] is part of a reference loop", path=self.btf.path)
            base, crossed = self.skipped.get(cur, (cur, False))
            for link in reversed(path):
                crossed = crossed or self.t(link).kind == Kind.ARRAY
                self.skipped[link] = (base, crossed)
            hit = self.skipped[tid]
        return hit

    def order(self, tid: int, through_ptr: bool) -> Nested:
        """btf_dump_order_type, as a walk ``drive`` runs (``r = yield sub``: a recursive call)."""
        t = self.t(tid)
        if t is not None and t.kind in (*MODS, Kind.ARRAY):
            tid, crossed = self._skip(tid)
            through_ptr = through_ptr and not crossed
            t = self.t(tid)
        if tid == 0 or self.order_state[tid] == ORDERED:
            return 1  # void and ordered types: "ok for a typedef to be emitted"
        if self.order_state[tid] == ORDERING:
            if isinstance(t, T.Composite) and through_ptr and t.name:
                return 0
            raise BTFFormatError(f"unsatisfiable type cycle, id:[{tid}]", path=self.btf.path)
        k = t.kind
        if k in (Kind.INT, Kind.FLOAT):
            self.order_state[tid] = ORDERED
            return 0
        if k == Kind.PTR:
            r = yield self.order(t.type, True)
            self.order_state[tid] = ORDERED
            return r
        if k in (Kind.STRUCT, Kind.UNION):
            if through_ptr and t.name:
                return 0
            self.order_state[tid] = ORDERING
            for m in t.members:
                yield self.order(m.type, False)
            if t.name:
                self.queue.append(tid)
            self.order_state[tid] = ORDERED
            return 1
        if k in (Kind.ENUM, Kind.ENUM64, Kind.FWD):
            if t.name or not self.referenced[tid]:
                self.queue.append(tid)
            self.order_state[tid] = ORDERED
            return 1
        if k == Kind.TYPEDEF:
            strong = yield self.order(t.type, through_ptr)
            if through_ptr and not strong:
                return 0
            self.queue.append(tid)
            self.order_state[tid] = ORDERED
            return 1
        if k == Kind.FUNC_PROTO:
            strong = (yield self.order(t.return_type, through_ptr)) > 0
            for p in t.params:
                if (yield self.order(p.type, through_ptr)) > 0:
                    strong = True
            return int(strong)
        self.order_state[tid] = ORDERED  # FUNC, VAR, DATASEC, DECL_TAG
        return 0

    # -- emission -----------------------------------------------------------------------------

    def _drive(self, walk: Nested):
        return drive(walk, self.btf.type_cnt + 2, path=self.btf.path)

    def dump_type(self, tid: int) -> None:
        self.queue = []
        self._drive(self.order(tid, False))
        for q in self.queue:
            self._drive(self.emit_type(q, 0))

    def emit_type(self, tid: int, cont_id: int) -> Nested:
        """btf_dump_emit_type, as a walk ``drive`` runs."""
        t = self.t(tid)
        if t is not None and t.kind in (*MODS, Kind.ARRAY):
            tid, _ = self._skip(tid)
            t = self.t(tid)
        if tid == 0 or self.emit_state[tid] == EMITTED:
            return
        k = t.kind
        top = cont_id == 0
        if self.emit_state[tid] == EMITTING:
            if self.fwd_emitted[tid]:
                return
            if k in (Kind.STRUCT, Kind.UNION):
                if tid == cont_id or not t.name:
                    return
                self.out(self.struct_fwd(tid, t) + ";\n\n")
                self.fwd_emitted[tid] = True
            elif k == Kind.TYPEDEF:
                if not self._blacklisted(t):
                    self.out(self.typedef_def(tid, t, 0) + ";\n\n")
                self.fwd_emitted[tid] = True
            return
        if k == Kind.INT:
            self.emit_state[tid] = EMITTED
        elif k in (Kind.ENUM, Kind.ENUM64):
            if top:
                self.out(self.enum_def(tid, t, 0) + ";\n\n")
            self.emit_state[tid] = EMITTED
        elif k == Kind.PTR:
            yield self.emit_type(t.type, cont_id)
        elif k == Kind.FWD:
            self.out(self.fwd_def(tid, t) + ";\n\n")
            self.emit_state[tid] = EMITTED
        elif k == Kind.TYPEDEF:
            self.emit_state[tid] = EMITTING
            yield self.emit_type(t.type, tid)
            if not self.fwd_emitted[tid] and not self._blacklisted(t):
                self.out(self.typedef_def(tid, t, 0) + ";\n\n")
            self.emit_state[tid] = EMITTED
        elif k in (Kind.STRUCT, Kind.UNION):
            self.emit_state[tid] = EMITTING
            if top or not t.name:
                new_cont = cont_id if not t.name else tid
                for m in t.members:
                    yield self.emit_type(m.type, new_cont)
            elif not self.fwd_emitted[tid] and tid != cont_id:
                self.out(self.struct_fwd(tid, t) + ";\n\n")
                self.fwd_emitted[tid] = True
            if top:
                self.out(self.struct_def(tid, t, 0) + ";\n\n")
                self.emit_state[tid] = EMITTED
            else:
                self.emit_state[tid] = NOT_EMITTED
        elif k == Kind.FUNC_PROTO:
            yield self.emit_type(t.return_type, cont_id)
            for p in t.params:
                yield self.emit_type(p.type, cont_id)

    @staticmethod
    def _blacklisted(t: T.Typedef) -> bool:
        return t.name == "__builtin_va_list"

    def struct_fwd(self, tid: int, t) -> str:
        name = self.type_name(tid)
        return f"{'struct' if t.kind == Kind.STRUCT else 'union'}{' ' if t.name else ''}{name}"

    def fwd_def(self, tid: int, t: T.Fwd) -> str:
        return f"{'union' if t.is_union else 'struct'} {self.type_name(tid)}"

    def typedef_def(self, tid: int, t: T.Typedef, lvl: int) -> str:
        name = self.ident_name(tid)
        if t.type == 0 and name == "__gnuc_va_list":
            return "typedef __builtin_va_list __gnuc_va_list"
        return "typedef " + self.type_decl(t.type, name, lvl)

    def enum_def(self, tid: int, t, lvl: int) -> str:
        out = [f"enum{' ' if t.name else ''}{self.type_name(tid)}"]
        if not t.values:
            return out[0]
        out.append(" {")
        is64 = t.kind == Kind.ENUM64
        for v in t.values:
            c_identifier(v.name, tid, self.btf.path, "value name")
            dup = self._dups(self.ident_names, v.name)
            name = f"{v.name}___{dup}" if dup > 1 else v.name
            if is64:
                value = f"{v.value}LL" if t.signed else f"{v.value & 0xFFFFFFFFFFFFFFFF}ULL"
            else:
                value = str(v.value if t.signed else v.value & 0xFFFFFFFF)
            out.append(f"\n{_pfx(lvl + 1)}{name} = {value},")
        out.append(f"\n{_pfx(lvl)}}}")
        if self.profile.enum_modes:
            if t.size == 1:
                out.append(" __attribute__((mode(byte)))")
            elif t.size == 8 and (not is64 or not any(v.value & 0xFFFFFFFF00000000 for v in t.values)):
                out.append(" __attribute__((mode(word)))")
        return "".join(out)

    def struct_def(self, tid: int, t, lvl: int) -> str:
        is_struct = t.kind == Kind.STRUCT
        align = align_of(self.btf, tid)
        packed = is_packed(self.btf, t) if is_struct else False
        out = [f"{'struct' if is_struct else 'union'}{' ' if t.name else ''}{self.type_name(tid)} {{"]
        off = 0
        prev_bitfield = False
        for m in t.members:  # offsets in C int arithmetic, as libbpf computes them (it wraps)
            m_sz = m.bitfield_size
            m_off = s32(m.bits_offset)
            m_align = 1 if packed else align_of(self.btf, m.type)
            out.append(self.bit_padding(off, m_off, m_align, prev_bitfield and m_sz != 0, lvl + 1, tid))
            name = c_identifier(m.name, tid, self.btf.path, "member name")
            out.append(f"\n{_pfx(lvl + 1)}" + self.type_decl(m.type, name, lvl + 1))
            if m_sz:
                out.append(f": {m_sz}")
                off = s32(m_off + m_sz)
                prev_bitfield = True
            else:
                off = s32(m_off + s32(field_size(self.btf, m.type)) * 8)
                prev_bitfield = False
            out.append(";")
        if is_struct:
            out.append(self.bit_padding(off, s32(t.size * 8), align, False, lvl + 1, tid))
        if t.members or t.size:
            out.append(f"\n{_pfx(lvl)}}}")
        else:
            out.append("}")  # keeps `struct empty {}` on one line
        if packed:
            out.append(" __attribute__((packed))")
        return "".join(out)

    def bit_padding(self, cur: int, nxt: int, next_align: int, in_bitfield: bool, lvl: int, tid: int) -> str:
        """btf_dump_emit_bit_padding: explicit `<type>: N;` fillers where alignment will not do."""
        if cur >= nxt:
            return ""
        if nxt - cur > MAX_PADDING_BITS:
            raise BTFFormatError(f"type [{tid}] has a gap of {(nxt - cur) // 8} bytes between members; refusing to "
                                 f"print more than {MAX_PADDING_BITS // 8} bytes of padding (a damaged size or "
                                 "offset?)", path=self.btf.path)
        out = []
        pads = (("long", 64), ("int", 32), ("short", 16), ("char", 8))
        pad_type, pad_bits = pads[-1]
        new_off = cur
        for pad in pads:  # the widest type whose alignment boundary still fits before nxt
            pad_type, pad_bits = pad
            new_off = -(-cur // pad_bits) * pad_bits
            if new_off <= nxt:
                break
        if cur < new_off <= nxt:
            if not in_bitfield and new_off == nxt and next_align <= 0:
                raise BTFFormatError(f"type [{tid}] has a member of a type with no alignment (libbpf would divide "
                                     "by zero here)", path=self.btf.path)
            if in_bitfield or (new_off == nxt and -(-cur // (next_align * 8)) * next_align * 8 != new_off) or \
                    (new_off != nxt and nxt - new_off <= new_off - cur):
                out.append(f"\n{_pfx(lvl)}{pad_type}: {new_off - cur if in_bitfield else 0};")
            cur = new_off
        full = (nxt - cur) // pad_bits
        out.append(f"\n{_pfx(lvl)}{pad_type}: {pad_bits};" * full)
        cur += full * pad_bits
        if cur != nxt:
            bits = nxt - cur
            name = next(name for name, size in reversed(pads) if size >= bits)
            out.append(f"\n{_pfx(lvl)}{name}: {bits};")
        return "".join(out)

    # -- declarators (btf_dump_emit_type_decl / _chain) -------------------------------------------

    def type_decl(self, tid: int, fname: str, lvl: int) -> str:
        out: list[str] = []
        self._drive(self._decl(tid, fname, lvl, out))
        return "".join(out)

    def _decl(self, tid: int, fname: str, lvl: int, out: list[str]) -> Nested:
        stack = []
        while True:
            stack.append(tid)
            t = self.t(tid)
            if t is None:
                break
            k = t.kind
            if k in (Kind.PTR, *MODS):
                tid = t.type
            elif k == Kind.FUNC_PROTO:
                tid = t.return_type
            elif k == Kind.ARRAY:
                tid = t.type
            else:
                break
            if len(stack) > self.btf.type_cnt:
                raise BTFFormatError(f"type [{stack[0]}] is part of a reference loop", path=self.btf.path)
        yield self._chain(stack, fname, lvl, out)

    def _mods(self, stack: list[int], out: list[str]) -> None:
        while stack:
            t = self.t(stack[-1])
            if t is None or t.kind not in (Kind.VOLATILE, Kind.CONST, Kind.RESTRICT):
                return
            out.append({Kind.VOLATILE: "volatile ", Kind.CONST: "const ", Kind.RESTRICT: "restrict "}[t.kind])
            stack.pop()

    def _drop_mods(self, stack: list[int]) -> None:
        while stack:
            t = self.t(stack[-1])
            if t is None or t.kind not in MODS:
                return
            stack.pop()

    @staticmethod
    def _name(out: list[str], fname: str, last_was_ptr: bool) -> None:
        out.append((" " if fname and not last_was_ptr else "") + fname)

    def _chain(self, stack: list[int], fname: str, lvl: int, out: list[str]) -> Nested:
        last_was_ptr = True
        while stack:
            tid = stack.pop()
            if tid == 0:
                self._mods(stack, out)
                out.append("void")
                last_was_ptr = False
                continue
            t = self.t(tid)
            k = t.kind
            if k in (Kind.INT, Kind.FLOAT):
                self._mods(stack, out)
                out.append(c_identifier(t.name, tid, self.btf.path, words=True))
            elif k in (Kind.STRUCT, Kind.UNION):
                self._mods(stack, out)
                out.append(self.struct_def(tid, t, lvl) if not t.name else self.struct_fwd(tid, t))
            elif k in (Kind.ENUM, Kind.ENUM64):
                self._mods(stack, out)
                out.append(self.enum_def(tid, t, lvl) if not t.name else f"enum {self.type_name(tid)}")
            elif k == Kind.FWD:
                self._mods(stack, out)
                out.append(self.fwd_def(tid, t))
            elif k == Kind.TYPEDEF:
                self._mods(stack, out)
                out.append(self.ident_name(tid))
            elif k == Kind.PTR:
                out.append("*" if last_was_ptr else " *")
            elif k == Kind.VOLATILE:
                out.append(" volatile")
            elif k == Kind.CONST:
                out.append(" const")
            elif k == Kind.RESTRICT:
                out.append(" restrict")
            elif k == Kind.TYPE_TAG:
                self._mods(stack, out)
                if t.kflag and self.profile.attribute_tags:
                    out.append(f" __attribute__(({t.name}))")
                else:
                    out.append(f' __attribute__((btf_type_tag("{t.name}")))')
            elif k == Kind.ARRAY:
                self._drop_mods(stack)
                if not stack:
                    self._name(out, fname, last_was_ptr)
                    out.append(f"[{t.nelems}]")
                    return
                nxt = self.t(stack[-1])
                multidim = nxt is not None and nxt.kind == Kind.ARRAY
                if fname and not last_was_ptr:
                    out.append(" ")
                if not multidim:
                    out.append("(")
                yield self._chain(stack, fname, lvl, out)
                if not multidim:
                    out.append(")")
                out.append(f"[{t.nelems}]")
                return
            elif k == Kind.FUNC_PROTO:
                self._drop_mods(stack)
                if stack:
                    out.append(" (")
                    yield self._chain(stack, fname, lvl, out)
                    out.append(")")
                else:
                    self._name(out, fname, last_was_ptr)
                out.append("(")
                params = t.params
                if not params:
                    out.append("void)")
                    return
                if len(params) == 1 and params[0].type == 0:
                    out.append(")")
                    return
                for i, p in enumerate(params):
                    if i:
                        out.append(", ")
                    if i == len(params) - 1 and p.type == 0:
                        out.append("...")
                        break
                    yield self._decl(p.type, c_identifier(p.name, tid, self.btf.path, "parameter name"), lvl, out)
                out.append(")")
                return
            last_was_ptr = k == Kind.PTR
        self._name(out, fname, last_was_ptr)


    def kfuncs(self) -> None:
        """bpftool's dump_btf_kfuncs: FUNCs a `bpf_kfunc` DECL_TAG names, sorted by name."""
        kfuncs, fastcalls = [], set()
        for tid in range(1, self.btf.type_cnt):
            t = self.btf.type_by_id(tid)
            if not isinstance(t, T.DeclTag) or t.component_idx != -1:
                continue
            f = self.t(t.type)
            if isinstance(f, T.Func):
                if t.name == "bpf_kfunc":
                    kfuncs.append((f.name.encode("utf-8", "surrogateescape"), t.type, f))
                elif t.name == "bpf_fastcall":
                    fastcalls.add(t.type)
        self.out("\n/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n")
        if self.profile.kfuncs_by_name:
            kfuncs.sort(key=lambda k: k[0])  # stable, as glibc's qsort (a merge sort)
        for _, fid, f in kfuncs:
            fast = "__bpf_fastcall " if self.profile.fastcall and fid in fastcalls else ""
            name = c_identifier(f.name, fid, self.btf.path, "function name")
            self.out(f"extern {fast}{self.type_decl(f.type, name, 0)} __weak __ksym;\n")
        self.out("#endif\n\n")


def dump_c(btf: Spec, ids: list[int] | None, write: Callable[[str], None], profile: Bpftool, *,
           unsorted: bool = False) -> None:
    """``bpftool btf dump ... format c [unsorted]`` as ``profile``'s bpftool prints it: the
    types ``ids`` names, or (None) all of them with the base's, sorted and followed by the
    kfunc prototypes where that bpftool does so. bpftool >= 7.5's sorted dump skips the
    first type of its order (its loop starts at 1, past that type rather than void): btfmeta
    prints it, the one difference from bpftool's bytes."""
    d = CDumper(btf, write, profile)
    write(HEADER)
    if profile.sorted_c:
        write(KSYM_DEFINES)
    if profile.fastcall:
        write(FASTCALL_DEFINE)
    whole = ids is None
    if ids is None:
        ids = list(range(1, btf.type_cnt))
        if profile.sorted_c and not unsorted:
            ids = sorted_ids(btf)
    for tid in ids:
        d.dump_type(tid)
    if profile.sorted_c and whole:
        d.kfuncs()
    write(FOOTER)
