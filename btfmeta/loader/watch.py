"""Noticing that a NIC's BTF changed, and re-relocating the registered objects against it.

A firmware update, ``ethtool`` or ``tcpdump -j`` can change the metadata layout under a
running program: the module's BTF in ``/sys/kernel/btf`` is replaced, or the interface
gets another driver.  sysfs raises no inotify events, so ``watch`` polls: every
``interval`` seconds it reads the BTF (and its base) and compares a SHA-256 of the
contents, so a rewrite with the same bytes is no change.  Reading vmlinux and a module
and hashing them takes a few milliseconds; a change is seen within one interval.

Each change yields one ``Event`` with an ``Outcome`` per registered object: the new
patched bytes, or a refusal with its reasons -- never the previous, stale object.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..btf.kernel import SYSFS_BTF, check_module_name, nic_driver_module
from ..btf.load import btf_bytes, default_base
from ..btf.spec import Spec
from ..errors import BtfmetaError
from ..fileio import read_bytes
from .target import Outcome, Target

APPEARED, CHANGED, DISAPPEARED, ABSENT, UNREADABLE = "appeared", "changed", "disappeared", "absent", "unreadable"
_START = "start"


@dataclass
class Event:
    """One change of the watched BTF and what it means for each registered object."""

    time: float  # time.time() when the change was seen
    change: str  # appeared / changed / disappeared / absent (at the start) / unreadable
    source: str  # the BTF file it was read from (the driver module's, for a NIC)
    digest: str | None  # SHA-256 of the BTF and its base; None when absent
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # object name -> outcome
    error: str | None = None  # why the BTF could not be read (for "unreadable")


class Files:
    """A BTF file and its base: raw, split or ELF (/sys/kernel/btf/M implies vmlinux)."""

    def __init__(self, btf: str | Path, base: str | Path | None = None):
        self.btf = Path(btf)
        self.base = Path(base) if base is not None else default_base(btf)

    def paths(self) -> tuple[Path, Path | None]:
        return self.btf, self.base


class Module(Files):
    """``/sys/kernel/btf/MODULE`` on ``/sys/kernel/btf/vmlinux`` (a module unloaded and
    loaded again, with another layout, is a change)."""

    def __init__(self, name: str, *, sysfs: Path = SYSFS_BTF):
        super().__init__(sysfs / check_module_name(name), sysfs / "vmlinux")


class Nic:
    """The BTF of whatever driver is behind network interface ``name`` right now."""

    def __init__(self, name: str):
        self.name = name

    def paths(self) -> tuple[Path, Path | None]:
        module = nic_driver_module(self.name)
        if module is None:
            return SYSFS_BTF / "vmlinux", None
        return Module(module).paths()


def _read(source) -> tuple[str, bytes, bytes | None] | None:
    """(path, BTF bytes, base bytes) now, or None if the BTF is not there."""
    btf, base = source.paths()
    try:
        data = read_bytes(btf)
    except BtfmetaError:
        if not btf.exists():
            return None
        raise
    return str(btf), data, read_bytes(base) if base is not None else None


def _target(path: str, data: bytes, base: bytes | None) -> Target:
    base_spec = Spec.parse(btf_bytes(base, "base"), path="base") if base is not None else None
    return Target(Spec.parse(btf_bytes(data, path), base=base_spec, path=path), path)


def watch(source, objects: dict[str, bytes], *, interval: float = 1.0,
          stop: threading.Event | None = None) -> Iterator[Event]:
    """Events for ``source`` (``Files``, ``Module`` or ``Nic``): the first reading, then each
    change, until ``stop`` is set.  ``objects`` maps a name to an object's original bytes."""
    stop = stop or threading.Event()
    last: str | None = _START
    while not stop.is_set():
        try:
            now = _read(source)
            error = None
        except BtfmetaError as exc:
            now, error = None, str(exc)
        if error is not None:
            digest = "unreadable:" + error
        elif now is None:
            digest = None
        else:
            h = hashlib.sha256(now[1])
            h.update(now[2] or b"")
            digest = h.hexdigest()
        if digest != last:
            yield _event(source, now, digest, last, error, objects)
            last = digest
        stop.wait(interval)


def _event(source, now, digest, last, error, objects) -> Event:
    stamp = time.time()
    if error is not None:
        return Event(stamp, UNREADABLE, str(source.paths()[0]), None, error=error)
    present_before = last not in (None, _START) and not last.startswith("unreadable:")
    if now is None:
        return Event(stamp, DISAPPEARED if present_before else ABSENT, str(source.paths()[0]), None)
    change = CHANGED if present_before else APPEARED
    path, data, base = now
    try:
        target = _target(path, data, base)
        outcomes = {name: target.load(obj, path=name) for name, obj in objects.items()}
    except BtfmetaError as exc:
        return Event(stamp, UNREADABLE, path, digest, error=str(exc))
    return Event(stamp, change, path, digest, outcomes)
