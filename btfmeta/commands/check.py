"""``check``: will a program run on a NIC layout?  For each target BTF the relocator's own
decisions are applied, and every poisoned instruction is classified: unreachable once the
program's guards (`bpf_core_field_exists`, `bpf_core_type_exists`, ...) are constants, or
reachable -- then the kernel verifier would refuse the program.  A program whose own
instructions the verifier refuses whatever the layout (``elf.validate``: invalid registers,
unknown opcodes, jumps out of the program, helpers the target kernel lacks) is an error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..btf.spec import Spec
from ..core.driver import RelocationError, RelocationRecord
from ..core.minimize import type_id_warnings
from ..core.object import Relocated, relocate_object
from ..elf.bpfobj import BpfObject
from ..elf.insn import decode
from ..elf.reach import is_poison, reachable
from ..elf.validate import Invalid, first_invalid, helper_count
from ..render.templates import render
from . import document

OK, GUARDED, REFUSED, ERROR = "ok", "guarded", "refused", "error"


@dataclass
class Checked:
    """A relocation as ``check`` sees it: the relocator's record, and for a poisoned
    instruction whether the program can reach it (then the verifier refuses it)."""

    record: RelocationRecord
    reachable: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        r = self.record.as_dict()
        return {"program": r["program"], "insn": r["insn"], "kind": r["kind"], "local_spec": r.get("local_spec"),
                "result": r.get("result"), "reachable": self.reachable, "reason": r.get("reason")}


@dataclass
class TargetResult:
    target: str
    error: str | None = None
    programs: dict[str, str] = field(default_factory=dict)  # program -> ok/guarded/refused/error
    relocations: list[Checked] = field(default_factory=list)
    invalid: dict[str, Invalid] = field(default_factory=dict)  # program -> what the verifier refuses
    warnings: list[str] = field(default_factory=list)  # type ids of a minimized BTF (core.minimize)


def invalid_reasons(result: TargetResult) -> list[str]:
    """One line per program whose instructions the verifier refuses: the instruction, its words."""
    return [f"{p}: insn {bad.insn}: {bad.message}" for p, bad in result.invalid.items()]


def check_target(obj_bytes: bytes, programs: list[str], target: Spec, name: str, *,
                 path: str | None = None, libbpf: str | None = None) -> TargetResult:
    """One column of the matrix; ``programs`` names the object's functions."""
    return evaluate(obj_bytes, programs, lambda data: relocate_object(data, target, path=path, libbpf=libbpf), name,
                    path=path, target=target)[1]


def evaluate(obj_bytes: bytes, programs: list[str], relocate: Callable[[bytes], Relocated], name: str, *,
             path: str | None = None, target: Spec | None = None) -> tuple[Relocated | None, TargetResult]:
    """Relocate with ``relocate`` and judge: the relocated object (None if libbpf would
    refuse to relocate it) and the verdicts; ``target``: the BTF ``relocate`` uses, for the
    kernel's helper ids and the warnings about type ids (None: neither)."""
    try:
        relocated = relocate(obj_bytes)
    except RelocationError as exc:
        return None, TargetResult(name, str(exc), dict.fromkeys(programs, ERROR), [Checked(r) for r in exc.records])
    return relocated, judge(relocated, programs, name, path=path, target=target)


def judge(relocated: Relocated, programs: list[str], name: str, *, path: str | None = None,
          target: Spec | None = None) -> TargetResult:
    """The verdicts for one relocated object: a poisoned instruction the program can reach
    makes it refused, one it cannot reach (behind a constant guard) makes it guarded, an
    instruction the verifier refuses on any layout makes it an error."""
    res = TargetResult(name)
    helpers = None
    if target is not None:
        helpers, res.warnings = helper_count(target), type_id_warnings(target, relocated.records)
    obj = BpfObject.parse(relocated.data, path=path)
    live: dict[tuple[str, int], bool] = {}
    for cs in obj.sections.values():
        insns = [decode(cs.data, i, big_endian=obj.big_endian) for i in range(len(cs.data) // 8)]
        for p in cs.programs:
            own = insns[p.start:p.start + p.count]
            seen, _ = reachable(own)
            for i in range(p.count):
                if is_poison(insns[p.start + i]):
                    live[(cs.name, p.start + i)] = i in seen
            bad = first_invalid(own, seen, helpers)
            if bad is not None:
                res.invalid[p.name] = bad
    status = dict.fromkeys(programs, OK)
    for record in relocated.records:
        checked = Checked(record)
        if record.result == "poisoned":
            checked.reachable = live.get((record.section, record.section_insn), True)
            if checked.reachable:
                status[record.program] = REFUSED
            elif status[record.program] == OK:
                status[record.program] = GUARDED
        res.relocations.append(checked)
    status.update(dict.fromkeys(res.invalid, ERROR))
    res.programs = status
    return res


def program_names(obj_bytes: bytes, *, path: str | None = None) -> list[str]:
    obj = BpfObject.parse(obj_bytes, path=path)
    return [p.name for cs in obj.sections.values() for p in cs.programs]


def check(obj_bytes: bytes, targets: list[tuple[str, Spec]], *, path: str | None = None,
          libbpf: str | None = None) -> list[TargetResult]:
    programs = program_names(obj_bytes, path=path)  # read once
    return [check_target(obj_bytes, programs, spec, name, path=path, libbpf=libbpf) for name, spec in targets]


def text(results: list[TargetResult]) -> str:
    """The program x layout table ``check`` prints."""
    programs = list(results[0].programs) if results else []
    table = render("check.txt.j2", results=results, programs=programs,
                   width=max([len(p) for p in programs] + [7]), col=max([len(r.target) for r in results] + [8]))
    return "\n".join(line.rstrip() for line in table.split("\n"))


def refused(results: list[TargetResult]) -> bool:
    return any(r.error or REFUSED in r.programs.values() or r.invalid for r in results)


def to_json(results: list[TargetResult], obj: str) -> dict[str, Any]:
    return document(1, object=obj, targets=[
        {"target": r.target, "error": r.error, "programs": r.programs,
         "relocations": [c.as_dict() for c in r.relocations],
         "invalid": [{"program": p, "insn": bad.insn, "message": bad.message} for p, bad in r.invalid.items()],
         "warnings": r.warnings}
        for r in results])
