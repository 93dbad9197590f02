"""Shared fixtures: the real kernel BTF in ../shared, the judge tools, and an in-process CLI."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from btfmeta.cli import main

REPO = Path(__file__).resolve().parent.parent
SHARED_BTF = REPO.parent / "shared" / "btf" / "debian-6.1.0-56"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# .ci/run sets this: there a missing tool or file is a failure, not a skip.
STRICT = os.environ.get("BTFMETA_REQUIRE_TOOLS") == "1"


def need(condition: bool, reason: str) -> None:
    if not condition:
        if STRICT:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


def tool(name: str) -> str:
    path = shutil.which(name)
    need(path is not None, f"{name} not installed (apt-get install clang-19 llvm-19 bpftool dwarves libbpf-dev)")
    return path


@pytest.fixture(scope="session")
def shared_btf() -> Path:
    need((SHARED_BTF / "vmlinux.btf").is_file(), f"real kernel BTF not found at {SHARED_BTF}")
    return SHARED_BTF


@pytest.fixture(scope="session")
def bpftool() -> str:
    return tool("bpftool")


@pytest.fixture(scope="session")
def clang() -> str:
    return tool("clang-19")


@dataclass
class CliResult:
    code: int
    stdout: bytes
    stderr: str


def run_cli(*argv: str) -> CliResult:
    """Run ``btfmeta`` in-process, capturing its byte output and its error line."""
    out = io.BytesIO()
    err = io.StringIO()
    text_out = io.TextIOWrapper(out, encoding="utf-8")
    with contextlib.redirect_stdout(text_out), contextlib.redirect_stderr(err):
        code = main(list(argv))
        text_out.flush()
    return CliResult(code, out.getvalue(), err.getvalue())


def bpftool_dump(bpftool: str, path: Path, base: Path | None = None, *, json: bool = False) -> bytes:
    cmd = [bpftool] + (["-j"] if json else []) + ["btf", "dump", "file", str(path)]
    if base is not None:
        cmd += ["-B", str(base)]
    return subprocess.run(cmd, check=True, capture_output=True).stdout


def compile_bpf(clang: str, source: str, out: Path, *extra: str) -> Path:
    """Compile C source text to a BPF object with clang-19 -g (the judge for C -> BTF)."""
    src = out.with_suffix(".c")
    src.write_text(source)
    subprocess.run([clang, "-g", "-O2", "-target", "bpf", *extra, "-c", str(src), "-o", str(out)],
                   check=True, capture_output=True)
    return out
