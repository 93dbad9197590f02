"""``check --fleet``: will each program run on each kernel (and NIC driver module) of a fleet?

One task per kernel -- decompress and parse its vmlinux BTF, its selected modules as split
BTF on it, then relocate and judge every object against each (``Target.load``: the
verdicts ``check`` prints) -- on this process or ``jobs`` local processes, in release
order whatever runs them.  Kernels whose outcomes are identical are shown as one group.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..btf.load import parse_btf
from ..btf.spec import Spec
from ..commands import document
from ..commands.check import ERROR, REFUSED
from ..errors import BtfmetaError
from ..loader.target import Target
from .inputs import Kernel, read_btf, read_file
from .pool import map_kernels

VMLINUX = "vmlinux"


@dataclass
class KernelResult:
    release: str
    error: str | None = None  # the kernel's BTF could not be read
    # (object, target) -> program -> ok / guarded / refused / error; target: "vmlinux" or a module
    verdicts: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    reasons: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # why refused or error
    warnings: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # type ids of a minimized BTF

    def outcome(self) -> tuple:
        """What must be equal for two kernels to be grouped."""
        return self.error, sorted(self.verdicts.items()), sorted(self.reasons.items()), sorted(self.warnings.items())


def check_kernel(kernel: Kernel, objects: dict[str, bytes], modules: Sequence[str],
                 libbpf: str | None = None) -> KernelResult:
    """Every object against this kernel's vmlinux and each of ``modules`` it has ("all": every one)."""
    result = KernelResult(kernel.release)
    try:
        vmlinux = Spec.parse(read_btf(kernel.path), path=str(kernel.path), index_cache=False)
    except BtfmetaError as exc:
        result.error = str(exc)
        return result
    targets: list[tuple[str, Target | str]] = [(VMLINUX, Target(vmlinux, f"{kernel.release}/vmlinux", libbpf=libbpf))]
    for name in kernel.selected(modules):
        path = kernel.modules[name]
        try:
            targets.append((name, Target(parse_btf(read_file(path), str(path), base=vmlinux),
                                         f"{kernel.release}/{name}", libbpf=libbpf)))
        except BtfmetaError as exc:
            targets.append((name, str(exc)))
    for obj_name, data in objects.items():
        for name, target in targets:
            key = (obj_name, name)
            if isinstance(target, str):  # the module's BTF could not be read
                result.verdicts[key], result.reasons[key] = {}, [target]
                continue
            outcome = target.load(data, path=obj_name)
            result.verdicts[key] = outcome.verdicts
            if outcome.reasons:
                result.reasons[key] = outcome.reasons
            if outcome.warnings:
                result.warnings[key] = outcome.warnings
    return result


def _task(kernel: Kernel, shared: tuple[dict[str, bytes], Sequence[str], str | None]) -> KernelResult:
    return check_kernel(kernel, *shared)


def check_fleet(kernels: Sequence[Kernel], objects: dict[str, bytes], *, modules: Sequence[str] = (),
                jobs: int = 1, progress: Callable[[int, int, str], None] | None = None,
                scheduler: str | None = None, libbpf: str | None = None) -> list[KernelResult]:
    """Results in the kernels' order, on ``jobs`` local processes or a Dask cluster (``pool``)."""
    return map_kernels(_task, kernels, (objects, tuple(modules), libbpf), jobs=jobs, progress=progress,
                       scheduler=scheduler)


def failed(results: Sequence[KernelResult]) -> bool:
    """Any kernel unreadable, or any program refused or in error anywhere."""
    return any(r.error or any(v in (REFUSED, ERROR) for prog in r.verdicts.values() for v in prog.values())
               or any(not prog for prog in r.verdicts.values()) for r in results)


def groups(results: Sequence[KernelResult]) -> list[tuple[list[str], KernelResult]]:
    """Kernels with identical outcomes, in order of their first kernel."""
    out: dict[tuple, tuple[list[str], KernelResult]] = {}
    for r in results:
        out.setdefault(repr(r.outcome()), ([], r))[0].append(r.release)
    return list(out.values())


def text(results: Sequence[KernelResult]) -> str:
    lines = []
    for releases, r in groups(results):
        lines.append(f"{len(releases)} kernel{'s' if len(releases) > 1 else ''}: {', '.join(releases)}")
        if r.error:
            lines += [f"  error: {r.error}", ""]
            continue
        targets = sorted({t for _, t in r.verdicts}, key=lambda t: (t != VMLINUX, t))
        rows = sorted({(o, p) for (o, t), progs in r.verdicts.items() for p in progs})
        width = max([len(f"{o}:{p}") for o, p in rows] + [len("program")])
        lines.append((f"  {'program':{width}}" + "".join(f"  {t:10}" for t in targets)).rstrip())
        for o, p in rows:
            cells = [r.verdicts.get((o, t), {}).get(p, "-") for t in targets]
            lines.append(f"  {o + ':' + p:{width}}" + "".join(f"  {c:10}" for c in cells).rstrip())
        for (o, t), why in sorted(r.reasons.items()):
            lines += [f"  {o} on {t}: {w}" for w in why]
        for (o, t), why in sorted(r.warnings.items()):
            lines += [f"  {o} on {t}: warning: {w}" for w in why]
        lines.append("")
    return "\n".join(lines)


def to_json(results: Sequence[KernelResult], objects: Sequence[str]) -> dict:
    def verdicts(r: KernelResult) -> list[dict]:
        return [{"object": o, "target": t, "program": p, "verdict": v, "reasons": r.reasons.get((o, t), []),
                 "warnings": [w for w in r.warnings.get((o, t), []) if w.startswith(f"{p}: ")]}
                for (o, t), progs in sorted(r.verdicts.items()) for p, v in progs.items()]
    return document(1, objects=list(objects),
                    kernels=[{"release": r.release, "error": r.error, "results": verdicts(r)} for r in results],
                    groups=[{"kernels": releases, "error": r.error, "results": verdicts(r)}
                            for releases, r in groups(results)])


def to_csv(results: Sequence[KernelResult]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["kernel", "object", "target", "program", "verdict", "reasons"])
    for r in results:
        if r.error:
            w.writerow([r.release, "", "", "", "error", r.error])
        for (o, t), progs in sorted(r.verdicts.items()):
            for p, v in progs.items():
                w.writerow([r.release, o, t, p, v, " | ".join(r.reasons.get((o, t), []))])
    return buf.getvalue()


def terminal_progress(done: int, total: int, release: str) -> None:
    """A one-line progress display on a terminal (nothing otherwise)."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r[{done}/{total}] {release[:40]:40}" + ("\n" if done == total else ""))
        sys.stderr.flush()
