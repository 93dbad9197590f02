"""The smallest BTF that relocates the given objects as the full one does, with bpftool's
``gen min_core_btf`` rules (the BTFHub job), also for a module's split BTF on its vmlinux.

Each CO-RE relocation is decided against the full target; what its chosen target spec
touches is kept:
- a field access keeps its root type, and along its raw access path each struct/union
  *member* it goes through (only those members) and each member's type, not following
  pointers (a pointer to a type nothing else keeps becomes ``void *``);
- a type-based relocation keeps the whole type, following pointers (members are only
  those some field access keeps);
- ``type_matches`` keeps the type with every member, recursively, composites behind a
  pointer by name only;
- an enum relocation keeps the enum.
Kept types are written in id order, a struct or union with its kept members only (same
size and offsets), references renumbered, strings in first-use order: the output is
deterministic, and on plain vmlinux BTF byte-identical to bpftool's.

The trap both share: a ``target_type_id`` relocation (``bpf_core_type_id_kernel()``) made
against the minimized BTF gets the type's id *in that file*, and the running kernel reads
it as another type.  ``minimize`` names such relocations (``Kept.type_ids``), and
``type_id_warnings`` flags them wherever a program is relocated against a BTF recognizably
minimized.  The mark is a property, not a marker (the bytes stay bpftool's): a minimized
BTF has no FUNC record -- neither tool keeps one, since no relocation targets a function --
while a kernel's or module's BTF has one per function.  A layout compiled from headers
shares it, and there the id is the file's too, so the warning holds for it as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..btf import types as T
from ..btf.dedup import remap
from ..btf.kinds import Kind
from ..btf.query import type_name
from ..btf.spec import Spec
from ..elf.bpfobj import BpfObject
from .access import ENUMVAL_KINDS, FIELD_KINDS, KIND_BY_NAME, TYPE_ID_LOCAL, TYPE_ID_TARGET, TYPE_MATCHES, AccessSpec
from .driver import RelocationRecord, relocate

_FOLLOWED = (T.Const, T.Volatile, T.Restrict, T.Typedef, T.TypeTag)


@dataclass
class Kept:
    """What the minimized BTF keeps of the target, and why (relocations per type)."""

    types: set[int] = field(default_factory=set)
    members: dict[int, set[int]] = field(default_factory=dict)  # composite id -> kept member indexes
    why: dict[int, list[str]] = field(default_factory=dict)  # type id -> "object: program relo #i <kind>"
    type_ids: list[tuple[int, str]] = field(default_factory=list)  # target_type_id relocations: (type id, why)

    def type_id_notes(self, btf: Spec) -> list[dict]:
        """Each target_type_id relocation: the type, its id in the full target and in the
        minimized BTF (what a program relocated against it would get), and which relocation."""
        new = {old: i for i, old in enumerate(sorted(self.types), 1)}
        return [{"relocation": why, "type": type_name(btf, tid), "id": tid, "minimized_id": new[tid],
                 "message": f"{why}: {type_name(btf, tid)} is [{tid}] in the target but [{new[tid]}] in the "
                            "minimized BTF: a program relocated against it gets an id the kernel reads as "
                            "another type"}
                for tid, why in self.type_ids]


def _mark(btf: Spec, kept: Kept, tid: int, follow_pointers: bool) -> None:
    stack = [tid]
    while stack:
        tid = stack.pop()
        if tid == 0 or tid in kept.types:
            continue
        kept.types.add(tid)
        t = btf.type_by_id(tid)
        if isinstance(t, T.Ptr):
            if follow_pointers:
                stack.append(t.type)
        elif isinstance(t, _FOLLOWED):
            stack.append(t.type)
        elif isinstance(t, T.Array):
            stack += [t.type, t.index_type]
        elif isinstance(t, T.FuncProto):
            stack += [t.return_type, *(p.type for p in t.params)]


def _mark_match(btf: Spec, kept: Kept, tid: int, behind_ptr: bool, seen: set[tuple[int, bool]]) -> None:
    """type_matches: every member of composites not behind a pointer, recursively."""
    if tid == 0 or (tid, behind_ptr) in seen:
        return
    seen.add((tid, behind_ptr))
    kept.types.add(tid)
    t = btf.type_by_id(tid)
    if isinstance(t, T.Composite):
        if not behind_ptr:
            kept.members.setdefault(tid, set()).update(range(len(t.members)))
            for m in t.members:
                _mark_match(btf, kept, m.type, False, seen)
    elif isinstance(t, _FOLLOWED):
        _mark_match(btf, kept, t.type, behind_ptr, seen)
    elif isinstance(t, T.Ptr):
        _mark_match(btf, kept, t.type, True, seen)
    elif isinstance(t, T.Array):
        _mark_match(btf, kept, t.type, False, seen)
        _mark_match(btf, kept, t.index_type, False, seen)
    elif isinstance(t, T.FuncProto):
        for ref in (t.return_type, *(p.type for p in t.params)):
            _mark_match(btf, kept, ref, False, seen)


def _mark_field(btf: Spec, kept: Kept, spec: AccessSpec) -> None:
    tid = spec.root_type_id
    _mark(btf, kept, tid, False)
    t = btf.type_by_id(tid) if tid else None
    for idx in spec.raw[1:]:
        while isinstance(t, _FOLLOWED):
            tid = t.type
            t = btf.type_by_id(tid)
        if isinstance(t, T.Composite):
            kept.members.setdefault(tid, set()).add(idx)
            tid = t.members[idx].type
            _mark(btf, kept, tid, False)
            t = btf.type_by_id(tid) if tid else None
        elif isinstance(t, T.Array):
            tid = t.type
            t = btf.type_by_id(tid) if tid else None


def record(btf: Spec, kept: Kept, rec: RelocationRecord, obj_name: str) -> None:
    """Keep what one decided relocation needs of the target ``btf``."""
    spec, kind = rec.target, KIND_BY_NAME[rec.kind]
    if spec is None or spec.root_type_id == 0 or kind == TYPE_ID_LOCAL:
        return
    before = set(kept.types)
    if kind in FIELD_KINDS:
        _mark_field(btf, kept, spec)
    elif kind == TYPE_MATCHES:
        _mark_match(btf, kept, spec.root_type_id, False, set())
    elif kind in ENUMVAL_KINDS:
        _mark(btf, kept, spec.root_type_id, False)
    else:  # target type id, type exists, type size
        _mark(btf, kept, spec.root_type_id, True)
    why = f"{obj_name}: {rec.program} relo #{rec.relo} <{rec.kind}>"
    for tid in (kept.types - before) | {spec.root_type_id}:
        kept.why.setdefault(tid, []).append(why)
    if kind == TYPE_ID_TARGET:
        kept.type_ids.append((spec.root_type_id, why))


def minimized(btf: Spec, tid: int) -> bool:
    """Whether the layer of ``btf`` holding ``tid`` is recognizably minimized: it has no FUNC
    record (see the module's docstring)."""
    layer = next(s for s in reversed(btf.layers()) if tid >= s.start_id)
    memo = layer.memo("minimized")
    if "no_func" not in memo:
        memo["no_func"] = not layer.own_of_kind(Kind.FUNC)
    return memo["no_func"]


def type_id_warnings(btf: Spec, records: list[RelocationRecord]) -> list[str]:
    """For each target_type_id relocation patched with the id of a type in a recognizably
    minimized layer of ``btf``: the program, instruction and why the kernel would misread it."""
    out = []
    for rec in records:
        if rec.kind == str(TYPE_ID_TARGET) and rec.result == "patched" and rec.target is not None \
                and rec.target.root_type_id and minimized(btf, rec.target.root_type_id):
            tid = rec.target.root_type_id
            out.append(f"{rec.program}: insn {rec.insn}: <target_type_id> of {type_name(btf, tid)} "
                       f"is [{tid}] of {btf.path or 'the target'}, which has no function records (minimized?): "
                       "the running kernel's id differs (bpf_core_type_id_kernel)")
    return out


def build(btf: Spec, kept: Kept) -> Spec:
    """The kept types of ``btf`` (base and split alike) as one standalone BTF."""
    out = Spec(byteorder=btf.byteorder)
    order = sorted(kept.types)
    new = _Renumber({old: i for i, old in enumerate(order, 1)})
    for tid in order:
        t = btf.type_by_id(tid)
        if isinstance(t, T.Composite):
            members = [m for i, m in enumerate(t.members) if i in kept.members.get(tid, ())]
            # kind_flag only if a kept member needs it, as libbpf's btf__add_field sets it
            kflag = any(m.bitfield_size or m.bits_offset % 8 for m in members)
            t = type(t)(name=t.name, size=t.size, kflag=kflag, members=members)
        out.add(remap(t, new))
    return out


class _Renumber(dict):
    """Old id -> new id; a type that was not kept reads as void, as bpftool leaves it."""

    def __missing__(self, key: int) -> int:
        return 0


def minimize(objects: dict[str, bytes], target: Spec, libbpf: str | None = None) -> tuple[Spec, Kept]:
    """The minimized ``target`` for ``objects`` (RelocationError if libbpf ``libbpf`` would refuse one)."""
    kept = Kept()
    for name, data in objects.items():
        obj = BpfObject.parse(data, path=name)
        for rec in relocate(obj, target, libbpf).records:
            record(target, kept, rec, name)
    return build(target, kept), kept
