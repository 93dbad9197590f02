"""A relocation target for loaders: a NIC's BTF (with its vmlinux base) read once, its
candidate lookups kept, every object relocated and judged against it.

    target = Target.from_nic("eth0")                # or from_module("ice"), from_files(btf, base)
    outcome = target.load(open("prog.bpf.o", "rb").read())
    if outcome.refused: ...                          # outcome.reasons says which access, why
    else: load outcome.data with any loader (the CO-RE records are gone)

``relocate`` returns libbpf's patched object, report and log; ``check`` the verdicts
``btfmeta check`` prints; ``load`` both, with the rule a loader needs: an object any of
whose programs would be refused is not handed out.  Safe to share between threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..btf.kernel import SYSFS_BTF, check_module_name, nic_driver_module
from ..btf.load import load_spec, load_with_base
from ..btf.spec import Spec
from ..commands.check import ERROR, REFUSED, TargetResult, evaluate, invalid_reasons, program_names
from ..core.driver import libbpf_profile
from ..core.object import Relocated, relocate_object


@dataclass
class Outcome:
    """One object against one target: the patched bytes, or a refusal and why."""

    target: str
    data: bytes | None  # None when refused
    verdicts: dict[str, str]  # program -> ok / guarded / refused / error
    reasons: list[str] = field(default_factory=list)  # for each refused program: the access and why
    relocated: Relocated | None = None
    warnings: list[str] = field(default_factory=list)  # type ids of a minimized target (core.minimize)

    @property
    def refused(self) -> bool:
        return self.data is None


class Target:
    """The BTF a program is relocated against (``spec``, named ``name``)."""

    def __init__(self, spec: Spec, name: str, *, libbpf: str | None = None):
        self.spec = spec
        self.name = name
        self.libbpf = libbpf  # the libbpf profile ("1.1", "1.5", "1.7"); None: the newest
        libbpf_profile(libbpf)  # an unknown version is refused here, not at the first load
        self._lock = threading.RLock()  # lazily decoded types and lookups are filled in as used

    @classmethod
    def from_files(cls, btf: str | Path, base: str | Path | None = None, *, libbpf: str | None = None) -> Target:
        """Raw BTF, split BTF on ``base``, or an ELF's ``.BTF``; /sys/kernel/btf/M implies vmlinux."""
        return cls(load_with_base(btf, base), str(btf), libbpf=libbpf)

    @classmethod
    def from_module(cls, module: str, *, sysfs: Path = SYSFS_BTF, base: str | Path | None = None,
                    libbpf: str | None = None) -> Target:
        """``/sys/kernel/btf/MODULE`` on ``/sys/kernel/btf/vmlinux`` (or on ``base``)."""
        path = sysfs / check_module_name(module)
        return cls(load_spec(path, base=load_spec(base or sysfs / "vmlinux")), str(path), libbpf=libbpf)

    @classmethod
    def from_nic(cls, nic: str, *, base: str | Path | None = None, libbpf: str | None = None) -> Target:
        """The BTF of the driver behind network interface ``nic`` (vmlinux if built in)."""
        module = nic_driver_module(nic)
        if module is None:
            return cls(load_spec(SYSFS_BTF / "vmlinux"), str(SYSFS_BTF / "vmlinux"), libbpf=libbpf)
        return cls.from_module(module, base=base, libbpf=libbpf)

    def relocate(self, obj: bytes, *, path: str | None = None) -> Relocated:
        """libbpf's relocation of ``obj`` (RelocationError when libbpf would refuse it)."""
        with self._lock:
            return relocate_object(obj, self.spec, path=path, libbpf=self.libbpf)

    def check(self, obj: bytes, *, path: str | None = None) -> TargetResult:
        """The per-program verdicts ``btfmeta check`` prints for this target."""
        return self._judge(obj, path)[1]

    def load(self, obj: bytes, *, path: str | None = None) -> Outcome:
        """The object to load, or the refusal: never an object with a reachable poisoned
        instruction (the verifier would refuse it) or one libbpf would not relocate."""
        relocated, result = self._judge(obj, path)
        reasons = invalid_reasons(result) + [f"{c.record.program}: insn {c.record.insn}: {c.record.reason}"
                                             for c in result.relocations if c.reachable]
        if result.error:
            reasons.insert(0, result.error)
        refused = result.error is not None or bool({REFUSED, ERROR} & set(result.programs.values()))
        return Outcome(self.name, None if refused else relocated.data, result.programs, reasons, relocated,
                       result.warnings)

    def _judge(self, obj: bytes, path: str | None) -> tuple[Relocated | None, TargetResult]:
        with self._lock:  # judging reads the target too (helper ids, type-id warnings)
            return evaluate(obj, program_names(obj, path=path), lambda data: self.relocate(data, path=path),
                            self.name, path=path, target=self.spec)
