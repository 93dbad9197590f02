"""Noticing that a NIC's BTF changed, and re-relocating the registered objects against it.

A firmware update, ``ethtool`` or ``tcpdump -j`` can change the metadata layout under a
running program: the module's BTF in ``/sys/kernel/btf`` is replaced, or the interface
gets another driver.  sysfs raises no inotify events, so ``watch`` polls: every
``interval`` seconds it reads the NIC's BTF and compares a SHA-256 of its contents (and
of its base's), so a rewrite with the same bytes is no change.  The base (vmlinux,
megabytes) is read again only when its stat changes, and parsed again only when its
content did.

Each change yields one ``Event`` with an ``Outcome`` per registered object: the new
patched bytes, or a refusal with its reasons -- never the previous, stale object.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..btf.kernel import SYSFS_BTF, check_module_name, nic_driver_module
from ..btf.load import btf_bytes, default_base, parse_btf
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


def _signature(path: Path) -> tuple | None:
    """What changes when a file is replaced or rewritten (a sysfs node re-created on module
    load gets a new inode); None when the file is not there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class _Reader:
    """Reads the source's BTF, and parses a base only when its content changed (vmlinux
    stays put while a module's BTF comes and goes)."""

    def __init__(self, source, libbpf: str | None = None):
        self.source = source
        self.libbpf = libbpf
        self.where = ""  # the BTF file last looked at
        self.base_signature: tuple | None = None
        self.base_data: bytes | None = None
        self.base_digest: bytes | None = None  # SHA-256 of base_data
        self.parsed_base: bytes | None = None  # the digest base_spec was parsed from
        self.base_spec: Spec | None = None

    def poll(self) -> tuple[str | None, str | None, tuple | None]:
        """(digest, error, (path, data, base data)) now.  The NIC's BTF (small) is read and
        hashed at every poll; its base (vmlinux, megabytes) only when its stat changed."""
        try:
            btf, base = self.source.paths()
        except BtfmetaError as exc:
            return None, str(exc), None
        self.where = str(btf)
        try:
            signature = _signature(base) if base is not None else None
            if base is not None and signature != self.base_signature:
                self.base_data, self.base_signature = read_bytes(base), signature
                self.base_digest = hashlib.sha256(self.base_data).digest()
            data = read_bytes(btf)
        except BtfmetaError as exc:
            self.base_signature = None  # read it again next time
            if not btf.exists():
                return None, None, None
            return None, str(exc), None
        h = hashlib.sha256(data)
        h.update(self.base_digest if base is not None else b"")
        return h.hexdigest(), None, (str(btf), data, self.base_data if base is not None else None)

    def target(self, path: str, data: bytes, base: bytes | None) -> Target:
        """The target for these contents; the base is parsed again only if it changed."""
        base_spec = None
        if base is not None:
            if self.parsed_base != self.base_digest:
                self.base_spec, self.parsed_base = Spec.parse(btf_bytes(base, "base"), path="base"), self.base_digest
            base_spec = self.base_spec
        return Target(parse_btf(data, path, base=base_spec), path, libbpf=self.libbpf)


def watch(source, objects: dict[str, bytes], *, interval: float = 1.0,
          stop: threading.Event | None = None, libbpf: str | None = None) -> Iterator[Event]:
    """Events for ``source`` (``Files``, ``Module`` or ``Nic``): the first reading, then each
    change, until ``stop`` is set.  ``objects`` maps a name to an object's original bytes;
    ``libbpf`` is the libbpf profile relocations follow (the newest when None)."""
    stop = stop or threading.Event()
    reader = _Reader(source, libbpf)
    last: str | None = _START
    while not stop.is_set():
        digest, error, now = reader.poll()
        key = "unreadable:" + error if error is not None else digest
        if key != last:
            yield _event(reader, now, digest, last, error, objects)
            last = key
        stop.wait(interval)


def _event(reader: _Reader, now, digest, last, error, objects) -> Event:
    stamp = time.time()
    where = reader.where
    if error is not None:
        return Event(stamp, UNREADABLE, where, None, error=error)
    present_before = last not in (None, _START) and not last.startswith("unreadable:")
    if now is None:
        return Event(stamp, DISAPPEARED if present_before else ABSENT, where, None)
    change = CHANGED if present_before else APPEARED
    path, data, base = now
    try:
        target = reader.target(path, data, base)
        outcomes = {name: target.load(obj, path=name) for name, obj in objects.items()}
    except BtfmetaError as exc:
        return Event(stamp, UNREADABLE, path, digest, error=str(exc))
    return Event(stamp, change, path, digest, outcomes)
