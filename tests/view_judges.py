"""The bpftool and pahole of each judge toolchain, for the dump and layout tests: the host
(bpftool 7.1, pahole 1.24) and the Debian chroots under /var/cache/btfmeta-judges (trixie:
7.5, 1.30; sid: 7.8, 1.32) where present.

A stand-in until tests/judges.py (branch libbpf) is merged: it finds the same chroots
(``$BTFMETA_JUDGES``) and runs a tool the way ``Judge.run`` does, inside the chroot on
files copied under its /tmp. Only `btf dump file` and `pahole -F btf` run here, which need
no /proc, /sys or /dev inside."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .conftest import need

SUITES = {"trixie": ("7.5", "1.30"), "sid": ("7.8", "1.32")}
HOST = ("7.1", "1.24")  # Debian 12
NAMES = ("host", *SUITES)


@dataclass(frozen=True)
class Toolchain:
    name: str
    root: Path
    bpftool: str  # the profile rows this toolchain's tools are judged with
    pahole: str

    def run(self, argv: list[str], files: dict[str, Path | bytes]) -> bytes:
        """stdout of ``argv`` run in this toolchain on ``files`` (name -> host path or bytes),
        which relative names in ``argv`` find."""
        base = self.root / "tmp" / f"btfmeta-views-{os.getpid()}"
        if not base.is_dir():
            base.mkdir(parents=True)
            atexit.register(shutil.rmtree, base, True)
        work = Path(tempfile.mkdtemp(dir=base))
        try:
            for name, data in files.items():
                if isinstance(data, Path):
                    shutil.copyfile(data, work / name)
                else:
                    (work / name).write_bytes(data)
            if self.root == Path("/"):
                return subprocess.run(argv, cwd=work, check=True, capture_output=True).stdout
            inside = "/" + str(work.relative_to(self.root))
            return subprocess.run(argv, check=True, capture_output=True,
                                  preexec_fn=lambda: (os.chroot(self.root), os.chdir(inside))).stdout
        finally:
            shutil.rmtree(work, True)


def toolchain(name: str) -> Toolchain:
    """The toolchain ``name``, or a skip (a failure under BTFMETA_REQUIRE_TOOLS=1) if absent."""
    if name == "host":
        root, (bpftool, pahole) = Path("/"), HOST
    else:
        root, (bpftool, pahole) = Path(os.environ.get("BTFMETA_JUDGES", "/var/cache/btfmeta-judges")) / name, \
            SUITES[name]
    present = all((root / p).is_file() for p in ("usr/sbin/bpftool", "usr/bin/pahole"))
    need(present, f"judge toolchain '{name}' not found in {root} (bpftool and pahole; python -m tests.judges {name})")
    return Toolchain(name, root, bpftool, pahole)
