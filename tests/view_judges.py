"""The bpftool and pahole of each judge toolchain (tests/judges.py), for the dump and layout
tests: the host (Debian 12: bpftool 7.1, pahole 1.24) and the Debian chroots (trixie: 7.5,
1.30; sid: 7.8, 1.32), each with the profile rows its tools are judged by (read from the
versions its packages report, not assumed)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import judges
from .conftest import need

NAMES = ("host", *judges.SUITES)


@dataclass(frozen=True)
class Toolchain:
    name: str
    judge: judges.Judge
    bpftool: str  # the profile rows this toolchain's tools are judged with
    pahole: str

    def run(self, argv: list[str], files: dict[str, Path | bytes]) -> bytes:
        """stdout of ``argv`` run in this toolchain on ``files`` (name -> host path or bytes),
        which relative names in ``argv`` find; a failure raises CalledProcessError."""
        ran = self.judge.run(argv, files, text=False)
        shutil.rmtree(ran.work, True)
        if ran.returncode:
            raise subprocess.CalledProcessError(ran.returncode, argv, ran.stdout, ran.stderr)
        return ran.stdout


def toolchain(name: str) -> Toolchain:
    """The toolchain ``name``, or a skip (a failure under BTFMETA_REQUIRE_TOOLS=1) if absent."""
    judge = judges.host() if name == "host" else judges.find(name)
    need(judge is not None and judge.bpftool is not None and judge.pahole is not None,
         f"judge toolchain '{name}' (bpftool and pahole) not made in {judges.location()} "
         f"(as root: python -m tests.judges {name})")
    return Toolchain(name, judge, judges.short(judge.bpftool), judges.short(judge.pahole))
