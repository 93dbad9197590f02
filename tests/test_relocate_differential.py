"""relocate vs libbpf (each toolchain's: 1.1.2, 1.5.0, 1.7.0, with the matching --libbpf
profile): generated XDP programs relocated against generated target layouts. For each
case, btfmeta's decision log equals libbpf's, the outcome is the same (loaded; refused by
the verifier for a reachable poisoned instruction; relocation error), the object btfmeta
wrote -- loaded by plain libbpf with no target BTF -- has exactly the instructions libbpf
produced, and the kernel returns the same results for it on the same metadata
(BPF_PROG_TEST_RUN)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from btfmeta import load_spec
from btfmeta.relocate import RelocationError, relocate_object

from .conftest import REPO, LibbpfJudge, per_toolchain
from .progen import generate_case

SEEDS = range(320)
CHUNK = 40
DECISION = re.compile(r"^(prog '[^']*': relo #\d+: |CO-RE relocating |sec '[^']*': found \d+ CO-RE)")
INCLUDES = ["-I/usr/include/x86_64-linux-gnu"]


def decisions(log: list[str]) -> list[str]:
    return [line for line in log if DECISION.match(line)]


def compile_c(clang: str, src: Path, out: Path, *flags: str) -> Path:
    proc = subprocess.run([clang, "-g", "-O2", "-target", "bpf", *INCLUDES, *flags, "-c", str(src), "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


def check_case(tmp: Path, clang: str, libbpf: LibbpfJudge, seed: int) -> str:
    case = generate_case(seed)
    (tmp / "prog.c").write_text(case.program)
    (tmp / "target.c").write_text(case.target)
    proc = subprocess.run([clang, "-g", "-O2", "-target", "bpf", *INCLUDES, f"-mcpu={case.cpu}", "-c",
                           str(tmp / "prog.c"), "-o", str(tmp / "prog.o")], capture_output=True, text=True)
    if "Unsupported field expression" in proc.stderr:
        return "clang rejects"  # clang-19's BPF backend cannot relocate some straddling bit-fields
    assert proc.returncode == 0, proc.stderr
    prog = tmp / "prog.o"
    target = compile_c(clang, tmp / "target.c", tmp / "target.o")
    theirs = libbpf.run(prog, target, case.meta)
    try:
        ours = relocate_object(prog.read_bytes(), load_spec(target), path=str(prog), libbpf=libbpf.profile)
    except RelocationError as exc:
        assert decisions(exc.log) == decisions(theirs.log), f"seed {seed}"
        assert any("failed to perform CO-RE relocations" in line for line in theirs.log), f"seed {seed}: {exc}"
        return "relocation error"
    assert decisions(ours.log) == decisions(theirs.log), f"seed {seed}"
    assert not any("failed to perform CO-RE relocations" in line for line in theirs.log), f"seed {seed}"
    out = tmp / "ours.o"
    out.write_bytes(ours.data)
    plain = libbpf.run(out, None, case.meta)
    assert not any("CO-RE" in line for line in plain.log), "the written object still has CO-RE records"
    assert plain.insns == theirs.insns, f"seed {seed}: instructions differ"
    assert plain.loaded == theirs.loaded, f"seed {seed}"
    assert plain.runs == theirs.runs, f"seed {seed}"
    return "loaded" if plain.loaded else "refused by the verifier"


CHUNKS = list(range(0, len(SEEDS), CHUNK))


@pytest.mark.parametrize("toolchain, chunk", per_toolchain(CHUNKS, CHUNKS[:3]), indirect=["toolchain"])
def test_generated_programs_match_libbpf(tmp_path, clang, libbpf_judge, chunk):
    """Every seed against the host's libbpf, the first 120 against each chroot's (CI time)."""
    outcomes: dict[str, int] = {}
    for seed in SEEDS[chunk:chunk + CHUNK]:
        d = tmp_path / str(seed)
        d.mkdir()
        o = check_case(d, clang, libbpf_judge, seed)
        outcomes[o] = outcomes.get(o, 0) + 1
    assert outcomes.get("loaded", 0) > 0, outcomes
    assert outcomes.get("clang rejects", 0) <= CHUNK // 8, outcomes


def test_sample_program_scenario(tmp_path, clang, core_loader):
    """The design's scenario on the shipped sample program: see test_relocate_samples."""
    assert (REPO / "samples").is_dir()
