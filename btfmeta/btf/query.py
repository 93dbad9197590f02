"""Questions asked of a BTF, with libbpf's semantics (btf.c, btf.h): following type
chains, sizes, alignment and packedness, essential names, C spelling, and the one
grammar every command uses to name a type.

Per-BTF results (alignments, the essential-name index) are kept by the ``Spec`` itself
(``Spec.memo``), so every command asking the same BTF shares them.
"""

from __future__ import annotations

import errno
from collections.abc import Collection, Generator
from typing import Any

from ..errors import BTFFormatError, TypeLookupError
from . import types as T
from .kinds import Kind
from .spec import Spec

KIND_STR = ("void", *(k.name.lower() for k in Kind))  # libbpf's btf_kind_str(), indexed by kind
MODS = (Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG)
MODS_AND_TYPEDEF = frozenset((*MODS, Kind.TYPEDEF))


class SizeError(BTFFormatError):
    """``btf__resolve_size`` failed; ``err`` is libbpf's negative errno (-EINVAL, -E2BIG)."""

    def __init__(self, err: int, message: str = "", *, path: str | None = None):
        super().__init__(message or errno.errorcode.get(-err, str(err)), path=path)
        self.err = err


def get(btf: Spec, tid: int) -> T.Type | None:
    """The type, None for void (TypeLookupError for an id out of range)."""
    return None if tid == 0 else btf.type_by_id(tid)


def kind_str(t: T.Type | None) -> str:
    k = 0 if t is None else int(t.kind)
    return KIND_STR[k] if k < len(KIND_STR) else "unknown"


def follow(btf: Spec, tid: int, kinds: Collection[Kind]) -> tuple[int, T.Type | None]:
    """Follow ``.type`` from ``tid`` while the kind is in ``kinds``; the first other type.
    A chain longer than the type count loops: malformed BTF, which the kernel also refuses."""
    t = get(btf, tid)
    for _ in range(btf.type_cnt):
        if t is None or t.kind not in kinds:
            return tid, t
        tid = t.type
        t = get(btf, tid)
    raise BTFFormatError(f"type [{tid}] {kind_str(t)} '{t.name}' is part of a reference loop", path=btf.path)


Nested = Generator["Nested", Any, Any]


def drive(walk: Nested, bound: int, *, path: str | None = None) -> Any:
    """Run a recursive walk written as a generator -- each recursive call is ``r = yield
    sub_walk`` -- on an explicit stack of at most ``bound`` frames, so that a chain of 10^5
    types neither overflows Python's stack nor needs its recursion limit raised."""
    stack = [walk]
    value = None
    while stack:
        try:
            sub = stack[-1].send(value)
        except StopIteration as done:
            stack.pop()
            value = done.value
            continue
        if len(stack) >= bound:
            raise BTFFormatError(f"types nest more than {bound} deep (a reference loop?)", path=path)
        stack.append(sub)
        value = None
    return value


def skip_mods_and_typedefs(btf: Spec, tid: int) -> tuple[int, T.Type | None]:
    return follow(btf, tid, MODS_AND_TYPEDEF)


_SIZED = (Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.DATASEC, Kind.FLOAT)
_SIZE_TRANSPARENT = (Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.VAR, Kind.DECL_TAG, Kind.TYPE_TAG)


def resolve_size(btf: Spec, tid: int) -> int:
    """``btf__resolve_size``: at most 32 steps, arrays multiply, pointers are 8 bytes."""
    nelems = 1
    size = None
    for _ in range(32):
        t = get(btf, tid)
        k = 0 if t is None else t.kind
        if k in _SIZED:
            size = t.size
            break
        if k == Kind.PTR:
            size = 8
            break
        if k in _SIZE_TRANSPARENT:
            tid = t.type
            continue
        if k == Kind.ARRAY:
            if nelems and t.nelems > 0xFFFFFFFF // nelems:
                raise SizeError(-errno.E2BIG, path=btf.path)
            nelems *= t.nelems
            tid = t.type
            continue
        raise SizeError(-errno.EINVAL, f"cannot size a {kind_str(t)}", path=btf.path)
    if size is None:
        raise SizeError(-errno.EINVAL, "type chain too long to size", path=btf.path)
    if nelems * size > 0xFFFFFFFF:
        raise SizeError(-errno.E2BIG, path=btf.path)
    return nelems * size


def field_size(btf: Spec, tid: int) -> int:
    """A member's size in bytes, 0 where BTF cannot size it (as pahole and bpftool show it)."""
    try:
        return resolve_size(btf, tid)
    except SizeError:
        return 0


# -- alignment (btf__align_of, libbpf 1.1) ---------------------------------------------------

_IN_PROGRESS = -(1 << 40)  # an alignment being computed: meeting it again is a cycle


def align_of(btf: Spec, tid: int) -> int:
    """``btf__align_of``: 0 for kinds without one, 1 for a struct laid out packed."""
    memo = btf.memo("align_of")
    a = memo.get(tid)
    if a is None:
        memo[tid] = _IN_PROGRESS
        a = memo[tid] = _compute_align(btf, tid)
    elif a is _IN_PROGRESS:
        raise BTFFormatError(f"type [{tid}] contains itself (a cycle through members or arrays)", path=btf.path)
    return a


_ALIGN_TRANSPARENT = (Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG, Kind.ARRAY)


def _compute_align(btf: Spec, tid: int) -> int:
    _, t = follow(btf, tid, _ALIGN_TRANSPARENT)  # a chain is walked in a loop, not recursively
    if isinstance(t, (T.Int, T.Enum, T.Enum64, T.Float)):
        return min(8, t.size)
    if isinstance(t, T.Ptr):
        return 8
    if isinstance(t, T.Composite):
        max_align = 1
        for m in t.members:
            align = align_of(btf, m.type)
            if align <= 0:
                return align
            max_align = max(max_align, align)
            if m.bitfield_size == 0 and m.bits_offset % (8 * align):
                return 1
        return 1 if t.size % max_align else max_align
    return 0


def is_packed(btf: Spec, t: T.Composite) -> bool:
    """libbpf's btf_is_struct_packed: a member off its natural alignment, or a size that is
    not a multiple of the widest member's."""
    max_align = 1
    for m in t.members:
        align = align_of(btf, m.type)
        if align and m.bitfield_size == 0 and m.bits_offset % (8 * align):
            return True
        max_align = max(align, max_align)
    return bool(t.size % max_align)


# -- essential names (libbpf's ___flavor convention) -----------------------------------------

def essential_len(name: str) -> int:
    """Length of ``name`` without its last ``___flavor`` suffix (bpf_core_essential_name_len)."""
    n = len(name)
    for p in range(n - 5, -1, -1):
        if name[p] != "_" and name[p + 1:p + 4] == "___" and name[p + 4] != "_":
            return p + 1
    return n


def essential(name: str) -> str:
    return name[:essential_len(name)]


def essential_matches(btf: Spec, name: str) -> list[tuple[int, Kind, str]]:
    """(id, kind, name) of this BTF's own types whose essential name is ``name``, ids
    ascending -- found through the string section and the records' name words, without
    decoding or indexing every type (what CO-RE candidate search and ``resolve`` ask)."""
    memo = btf.memo("essential")
    hit = memo.get(name)
    if hit is None:
        strings = btf.strings
        offsets = strings.offsets_of(name)
        offsets |= {off for off, s in strings.offsets_starting(name + "___").items() if essential(s) == name}
        ids = btf.own_named(offsets, lambda n: essential(n) == name)
        hit = memo[name] = [(tid, btf.kind_of(tid), btf.type_by_id(tid).name) for tid in ids]
    return hit


# -- spelling and naming types ---------------------------------------------------------------

_WRAPPERS = (T.Ptr, T.Array, T.Const, T.Volatile, T.Restrict)
_PREFIX = {T.Struct: "struct ", T.Union: "union ", T.Enum: "enum ", T.Enum64: "enum ", T.Fwd: "struct "}


def type_name(btf: Spec, tid: int) -> str:
    """A type as C spells it (`struct x *`, `u8[6]`): one spelling for every report."""
    ops = []
    start = tid
    for _ in range(btf.type_cnt + 1):  # a chain longer than the type count is a loop
        if tid == 0:
            text = "void"
            break
        t = btf.type_by_id(tid)
        if not isinstance(t, _WRAPPERS):
            text = _PREFIX.get(type(t), "") + (t.name or "(anon)")
            break
        ops.append(t)
        tid = t.type
    else:
        raise BTFFormatError(f"type [{start}] is part of a reference loop", path=btf.path)
    for t in reversed(ops):
        if isinstance(t, T.Ptr):
            text += " *"
        elif isinstance(t, T.Array):
            text = f"{text}[{t.nelems}]"
        else:
            text = f"{t.kind.name.lower()} {text}"
    return text


SELECTOR_KINDS = {"struct": Kind.STRUCT, "union": Kind.UNION, "enum": Kind.ENUM, "typedef": Kind.TYPEDEF}


def parse_selector(selector: str) -> tuple[Kind | None, str]:
    """The one way commands name a type: ``NAME``, or ``struct NAME`` / ``union NAME`` /
    ``enum NAME`` / ``typedef NAME`` -> (kind or None, name)."""
    for word, kind in SELECTOR_KINDS.items():
        if selector.startswith(word + " "):
            return kind, selector[len(word) + 1:].strip()
    return None, selector.strip()


def select(btf: Spec, selector: str, *, kinds: Collection[Kind] | None = None, what: str = "type") -> list[int]:
    """Ids ``selector`` names (an id, or ``parse_selector``'s grammar), among ``kinds``."""
    if selector.isdigit():
        tid = int(selector)
        if not 0 < tid < btf.type_cnt:
            raise TypeLookupError(f"type id {tid} out of range (type count {btf.type_cnt})", path=btf.path)
        return [tid]
    kind, name = parse_selector(selector)
    ids = [i for i in btf.find_by_name(name, kind) if kinds is None or btf.kind_of(i) in kinds]
    if not ids:
        raise TypeLookupError(f"no {what} named '{selector}'", path=btf.path)
    return ids
