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

from . import judges, kernel_btf

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
    return parse_loader_output(proc.stdout, proc.stderr)


def parse_loader_output(stdout: str, stderr: str) -> LibbpfRun:
    """core_loader's stdout (programs, instructions, load and test-run results) and stderr (the log)."""
    insns: dict[str, list[str]] = {}
    current = None
    loaded = False
    runs = []
    for line in stdout.splitlines():
        if line.startswith("prog "):
            current = insns.setdefault(line[5:], [])
        elif line.startswith("insn "):
            current.append(line[5:])
        elif line == "load OK":
            loaded = True
        elif line.startswith("run "):
            runs.append(line)
    # libbpf 1.1's "error matching candidate" line ends in "\n ": the next line starts with a space
    lines = [line.lstrip(" ") for line in stderr.splitlines()]
    log = [line[len("libbpf: "):] for line in lines if line.startswith("libbpf: ")]
    return LibbpfRun(log, insns, loaded, runs, stderr)


# The judge toolchains (tests/judges.py): the host and each Debian chroot present. A test
# that takes ``toolchain`` (or ``libbpf_judge``) runs once per toolchain, with the matching
# profile; a chroot that is not there skips (fails under BTFMETA_REQUIRE_TOOLS=1).
# BTFMETA_TOOLCHAINS=host,trixie limits the list (e.g. when the suite runs inside a chroot).
TOOLCHAINS = [t for t in os.environ.get("BTFMETA_TOOLCHAINS", ",".join(["host", *judges.SUITES])).split(",") if t]


def toolchain_judge(name: str) -> judges.Judge:
    judge = judges.host() if name == "host" else judges.find(name)
    need(judge is not None, f"judge chroot '{name}' not made or not mounted in {judges.location()} "
         f"(as root: python -m tests.judges {name})")
    need(not judge.chroot or os.geteuid() == 0, f"running the tools of chroot '{name}' needs root (chroot(2))")
    return judge


@pytest.fixture(scope="session", params=TOOLCHAINS)
def toolchain(request) -> judges.Judge:
    return toolchain_judge(request.param)


def per_toolchain(values: list, in_chroots: list | None = None) -> list:
    """Parameters ``(toolchain, value)`` for ``parametrize("toolchain, NAME", ..., indirect=
    ["toolchain"])``: every value on the host, ``in_chroots`` (default: every value) in each
    chroot -- the judged tests' CI time grows with each toolchain."""
    chroot_values = values if in_chroots is None else in_chroots
    return [pytest.param(t, v, id=f"{t}-{v}") for t in TOOLCHAINS for v in (values if t == "host" else chroot_values)]


@dataclass
class LibbpfJudge:
    """tests/helpers/core_loader.c built in one toolchain against its own libbpf, and run there."""

    judge: judges.Judge
    loader: Path  # host path, inside the judge's root

    @property
    def profile(self) -> str:
        """The btfmeta libbpf profile that matches this libbpf ("1.5")."""
        return judges.short(self.judge.libbpf)

    def run(self, obj: Path | bytes, target: Path | bytes | None, metas: list[bytes] = ()) -> LibbpfRun:
        files = {"obj.o": obj} | ({"target.btf": target} if target is not None else {})
        argv = [self.judge.inside(self.loader), "obj.o", "target.btf" if target is not None else "-"]
        if metas:
            argv += ["run", *[m.hex() for m in metas]]
        ran = self.judge.run(argv, files, timeout=120)
        shutil.rmtree(ran.work, ignore_errors=True)
        return parse_loader_output(ran.stdout, ran.stderr)


def libbpf_judge_for(judge: judges.Judge) -> LibbpfJudge:
    need(judge.libbpf is not None and "gcc" in judge.versions, f"{judge}: libbpf-dev and gcc not installed")
    need(os.geteuid() == 0, "loading BPF programs needs root")
    src = Path(__file__).parent / "helpers" / "core_loader.c"
    ran = judge.run(["gcc", "-O1", "-Wall", "-o", "core_loader", "core_loader.c", "-lbpf"], {"core_loader.c": src})
    assert ran.returncode == 0, f"{judge}: building core_loader: {ran.stderr}"
    return LibbpfJudge(judge, ran.work / "core_loader")


@pytest.fixture(scope="session")
def libbpf_judge(toolchain) -> LibbpfJudge:
    """libbpf of each toolchain (the host's 1.1.2, trixie's 1.5.0, sid's 1.7.0): its log,
    instructions and test runs; ``.profile`` is the ``--libbpf`` that matches it."""
    return libbpf_judge_for(toolchain)


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
