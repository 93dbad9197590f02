"""``check``: will a program run on a NIC layout?  For each target BTF the relocator's own
decisions are applied, and every poisoned instruction is classified: unreachable once the
program's guards (`bpf_core_field_exists`, `bpf_core_type_exists`, ...) are constants, or
reachable -- then the kernel verifier would refuse the program."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .btf.spec import Spec
from .core.reach import is_poison, reachable
from .elf.bpfobj import BpfObject
from .elf.insn import decode
from .relocate import RelocationError, relocate_object

OK, GUARDED, REFUSED, ERROR = "ok", "guarded", "refused", "error"


@dataclass
class TargetResult:
    target: str
    error: str | None = None
    programs: dict[str, str] = field(default_factory=dict)  # program -> ok/guarded/refused/error
    relocations: list[dict[str, Any]] = field(default_factory=list)


def check_target(obj_bytes: bytes, programs: list[str], target: Spec, name: str, *,
                 path: str | None = None) -> TargetResult:
    """One column of the matrix; ``programs`` names the object's functions."""
    res = TargetResult(name)
    try:
        relocated = relocate_object(obj_bytes, target, path=path)
    except RelocationError as exc:
        res.error = str(exc)
        res.programs = dict.fromkeys(programs, ERROR)
        res.relocations = exc.report
        return res
    obj = BpfObject.parse(relocated.data, path=path)
    live: dict[tuple[str, int], bool] = {}
    for cs in obj.sections.values():
        insns = [decode(cs.data, i, big_endian=obj.big_endian) for i in range(len(cs.data) // 8)]
        for p in cs.programs:
            seen, _ = reachable(insns[p.start:p.start + p.count])
            for i in range(p.count):
                if is_poison(insns[p.start + i]):
                    live[(cs.name, p.start + i)] = i in seen
    status = dict.fromkeys(programs, OK)
    for entry in relocated.report:
        entry = dict(entry)
        if entry.get("result") == "poisoned":
            reach = live.get((entry["section"], entry["section_insn"]), True)
            entry["reachable"] = reach
            prog = entry["program"]
            if reach:
                status[prog] = REFUSED
            elif status[prog] == OK:
                status[prog] = GUARDED
        res.relocations.append(entry)
    res.programs = status
    return res


def check(obj_bytes: bytes, targets: list[tuple[str, Spec]], *, path: str | None = None) -> list[TargetResult]:
    obj = BpfObject.parse(obj_bytes, path=path)  # read once, for the program names
    programs = [p.name for cs in obj.sections.values() for p in cs.programs]
    return [check_target(obj_bytes, programs, spec, name, path=path) for name, spec in targets]


def refused(results: list[TargetResult]) -> bool:
    return any(r.error or REFUSED in r.programs.values() for r in results)


def to_json(results: list[TargetResult], obj: str) -> dict[str, Any]:
    return {"version": 1, "object": obj, "targets": [
        {"target": r.target, "error": r.error, "programs": r.programs,
         "relocations": [{k: e.get(k) for k in ("program", "insn", "kind", "local_spec", "result", "reachable",
                                                "reason")} for e in r.relocations]}
        for r in results]}
