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

from . import kernel_btf

REPO = Path(__file__).resolve().parent.parent
SHARED_BTF = kernel_btf.location()  # ../shared/btf/debian-6.1.0-56, or the cache tests/kernel_btf.py fills
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
    need((SHARED_BTF / "vmlinux.btf").is_file(),
         f"real kernel BTF not found in {kernel_btf.SHARED} nor {SHARED_BTF} (python -m tests.kernel_btf fetches it)")
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


def build_libbpf_helper(gcc: str, name: str, out: Path) -> Path:
    """tests/helpers/NAME.c built against Debian's libbpf."""
    subprocess.run([gcc, "-O1", "-Wall", "-o", str(out), str(Path(__file__).parent / "helpers" / f"{name}.c"),
                    "-lbpf"], check=True)
    return out


def _libbpf_helper(tmp_path_factory, name: str) -> str:
    gcc = tool("gcc")
    need(Path("/usr/include/bpf/libbpf.h").is_file(), "libbpf-dev not installed")
    need(os.geteuid() == 0, "loading BPF programs needs root")
    return str(build_libbpf_helper(gcc, name, tmp_path_factory.mktemp("helpers") / name))


@pytest.fixture(scope="session")
def core_loader(tmp_path_factory) -> str:
    """tests/helpers/core_loader.c: libbpf's relocation, log and test runs; it needs root for bpf()."""
    return _libbpf_helper(tmp_path_factory, "core_loader")


@pytest.fixture(scope="session")
def kv_runner(tmp_path_factory) -> str:
    """tests/helpers/kv_runner.c: kv test programs in the kernel's test runs (tests/kvharness.py)."""
    return _libbpf_helper(tmp_path_factory, "kv_runner")


@dataclass
class LibbpfRun:
    log: list[str]
    insns: dict[str, list[str]]
    loaded: bool
    runs: list[str]
    stderr: str  # libbpf's log with the verifier's lines


def run_loader(loader: str, obj: Path, target: Path | None, metas: list[bytes] = ()) -> LibbpfRun:
    cmd = [loader, str(obj), str(target) if target else "-"]
    if metas:
        cmd += ["run", *[m.hex() for m in metas]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    insns: dict[str, list[str]] = {}
    current = None
    loaded = False
    runs = []
    for line in proc.stdout.splitlines():
        if line.startswith("prog "):
            current = insns.setdefault(line[5:], [])
        elif line.startswith("insn "):
            current.append(line[5:])
        elif line == "load OK":
            loaded = True
        elif line.startswith("run "):
            runs.append(line)
    log = [line[len("libbpf: "):] for line in proc.stderr.splitlines() if line.startswith("libbpf: ")]
    return LibbpfRun(log, insns, loaded, runs, proc.stderr)


def need_kernel(refusal: str | None, facility: str) -> None:
    """Skips when the running kernel refuses FACILITY, naming the kernel's own words; even under
    BTFMETA_REQUIRE_TOOLS=1, which is for missing tools, not for what a kernel allows."""
    if refusal is not None:
        pytest.skip(f"kernel {os.uname().release} refuses {facility}: {refusal}")


def kernel_refusal(clang: str, core_loader: str, source: str, out: Path) -> str | None:
    """None when the running kernel loads the BPF program SOURCE (self-contained C), else the
    verifier's words: the log line before its "processed N insns"."""
    run = run_loader(core_loader, compile_bpf(clang, source, out), None)
    if run.loaded:
        return None
    lines = run.stderr.splitlines()
    ends = [i for i, line in enumerate(lines) if line.startswith("processed ")]
    return lines[ends[-1] - 1] if ends else lines[-1]
