"""``obj show``: what a BPF object holds -- programs, BTF-defined maps, CO-RE relocations
(in llvm-objdump's notation)."""

from __future__ import annotations

from typing import Any

from ..btf import types as T
from ..btf.query import get, skip_mods_and_typedefs, type_name
from ..core.access import ENUMVAL_KINDS, TYPE_KINDS, kind_name
from ..core.driver import check_records
from ..elf.bpfobj import BpfObject
from ..render.templates import render

__all__ = ["describe", "maps", "relocation_text", "text", "type_name"]

MAP_TYPES = ["unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash", "percpu_array",
             "stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps",
             "hash_of_maps", "devmap", "sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage",
             "reuseport_sockarray", "percpu_cgroup_storage", "queue", "stack", "sk_storage", "devmap_hash",
             "struct_ops", "ringbuf", "inode_storage", "task_storage", "bloom_filter", "user_ringbuf",
             "cgrp_storage"]


def maps(obj: BpfObject) -> list[dict[str, Any]]:
    """BTF-defined maps: the variables of the ``.maps`` DATASEC, decoded like libbpf does."""
    btf = obj.btf
    out = []
    for _, t in btf:
        if not isinstance(t, T.Datasec) or t.name != ".maps":
            continue
        for v in t.vars:
            var = btf.type_by_id(v.type)
            _, st = skip_mods_and_typedefs(btf, var.type)
            info: dict[str, Any] = {"name": var.name, "type": "unspec", "max_entries": None, "key": None,
                                    "value": None}
            for m in getattr(st, "members", []):
                mt = btf.type_by_id(m.type)
                if not isinstance(mt, T.Ptr):
                    continue
                target = btf.type_by_id(mt.type) if mt.type else None
                if m.name in ("type", "max_entries", "map_flags", "key_size", "value_size") and \
                        isinstance(target, T.Array):
                    value = target.nelems
                    if m.name == "type":
                        info["type"] = MAP_TYPES[value] if value < len(MAP_TYPES) else str(value)
                    else:
                        info[m.name] = value
                elif m.name in ("key", "value"):
                    info[m.name] = type_name(btf, mt.type)
            out.append(info)
    return out


def relocation_text(btf, rec) -> str:
    """llvm-objdump's ``CO-RE <kind> [id] struct name::path (access)`` rendering."""
    t = get(btf, rec.type_id)
    kind = t.kind.name.lower().replace("enum64", "enum") if t is not None else "void"  # objdump says enum
    head = f"<{kind_name(rec.kind)}> [{rec.type_id}] {kind} {t.name if t is not None else ''}"
    access = btf.strings.get(rec.access_str_off) or ""
    if rec.kind in TYPE_KINDS:
        return head
    raw = [int(x) for x in access.split(":") if x.strip().lstrip("-").isdigit()]
    if rec.kind in ENUMVAL_KINDS:
        _, e = skip_mods_and_typedefs(btf, rec.type_id)
        if raw and isinstance(e, (T.Enum, T.Enum64)) and raw[0] < len(e.values):
            v = e.values[raw[0]]
            return f"{head}::{v.name} = {v.value}"
        return head
    path = []
    _, cur = skip_mods_and_typedefs(btf, rec.type_id)
    for idx in raw[1:]:
        if isinstance(cur, (T.Struct, T.Union)) and idx < len(cur.members):
            m = cur.members[idx]
            path.append(("." if path else "") + (m.name or f"<anon {idx}>"))
            _, cur = skip_mods_and_typedefs(btf, m.type)
        elif isinstance(cur, T.Array):
            path.append(f"[{idx}]")
            _, cur = skip_mods_and_typedefs(btf, cur.type)
        else:
            break
    return f"{head}::{''.join(path)} ({access})"


def describe(obj: BpfObject) -> dict[str, Any]:
    programs = []
    for cs in obj.sections.values():
        for p in cs.programs:
            programs.append({"name": p.name, "section": p.section, "start": p.start, "count": p.count,
                             "subprogram": cs.name == ".text"})
    relocations = []
    if obj.btf_ext is not None:
        check_records(obj)
        for block in obj.btf_ext.core_relo:
            section = obj.btf.strings.get(block.sec_name_off) or "?"
            for rec in block.records:
                relocations.append({"section": section, "insn": rec.insn_off // 8, "kind": kind_name(rec.kind),
                                    "type_id": rec.type_id,
                                    "access": obj.btf.strings.get(rec.access_str_off),
                                    "text": relocation_text(obj.btf, rec)})
    order = {cs.name: cs.index for cs in obj.sections.values()}
    relocations.sort(key=lambda r: (order.get(r["section"], 1 << 30), r["insn"]))  # file order, as objdump
    return {"path": obj.path, "big_endian": obj.big_endian, "license": obj.license, "btf_types": len(obj.btf),
            "programs": programs, "maps": maps(obj), "relocations": relocations}


def text(info: dict[str, Any]) -> str:
    return render("obj_show.txt.j2", **info)
