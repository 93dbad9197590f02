"""Big-endian objects get big-endian bit-field shifts (issue 10, item 12).

libbpf computes LSHIFT_U64 by the byte order it runs on; offline, btfmeta takes the
object's.  libbpf on x86 cannot open a big-endian object, so the judge is built from it
as an independent check would be: libbpf relocates the little-endian twin of each
generated program (same source, -target bpf), its decisions are re-encoded for the
big-endian object with libbpf's big-endian rule for the shift,
``(8 - byte_sz) * 8 + (bit_off - byte_off * 8)``, and every relocated instruction of the
object btfmeta wrote must hold exactly those values, encoded big-endian."""

from __future__ import annotations

import re
import struct
import subprocess

import pytest

from btfmeta import load_spec
from btfmeta.elf.bpfobj import BpfObject
from btfmeta.relocate import RelocationError, relocate_object

from .conftest import run_loader
from .progen import generate_case
from .test_relocate_differential import INCLUDES, compile_c

PATCHED = re.compile(r"^prog '([^']*)': relo #(\d+): patched insn #\d+ \(([^)]*)\) (imm64|imm|off) (-?\d+) -> (-?\d+)")
RELO = re.compile(r"^prog '([^']*)': relo #(\d+): (<[a-z_0-9]+> .*)$")
SEEDS = [s for s in range(400) if "BPF_CORE_READ_BITFIELD" in generate_case(s).program][:40]


def _key(program: str, spec: str) -> tuple[str, str]:
    """A relocation by its program and local spec, type ids left out: the big-endian object
    has more relocations (BPF_CORE_READ_BITFIELD asks for the byte size twice there)."""
    return program, re.sub(r"\[\d+\] ", "", spec)


def _libbpf_values(log: list[str]) -> dict[tuple[str, str], int]:
    """(program, local spec) -> patched value, from libbpf's debug log."""
    specs, values = {}, {}
    for line in log:
        m = RELO.match(line)
        if m:
            specs.setdefault((m[1], int(m[2])), m[3])
        m = PATCHED.match(line)
        if m:
            key = _key(m[1], specs[(m[1], int(m[2]))])
            assert values.setdefault(key, int(m[6])) == int(m[6]), key
    return values


def _insn_value(obj: BpfObject, section: str, index: int, field: str) -> int:
    """An instruction's off, imm or (ld_imm64) 64-bit immediate, read big-endian."""
    raw = obj.sections[section].data[index * 8:index * 8 + 16]
    _code, _regs, off, imm = struct.unpack(">BBhi", raw[:8])
    if field == "imm64":
        return struct.unpack(">I", raw[12:16])[0] << 32 | (imm & 0xFFFFFFFF)
    return off if field == "off" else imm


def test_big_endian_bitfield_shifts(tmp_path, clang, core_loader):
    outcomes: dict[str, int] = {}
    for seed in SEEDS:
        d = tmp_path / str(seed)
        d.mkdir()
        outcome = _check_seed(seed, d, clang, core_loader)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("shifts checked", 0) >= len(SEEDS) // 2, outcomes
    assert outcomes.get("clang rejects", 0) <= len(SEEDS) // 8, outcomes


def _check_seed(seed: int, tmp_path, clang: str, core_loader: str) -> str:
    case = generate_case(seed)
    (tmp_path / "prog.c").write_text(case.program)
    (tmp_path / "target.c").write_text(case.target)
    objs = {}
    for target in ("bpf", "bpfeb"):
        proc = subprocess.run([clang, "-g", "-O2", "-target", target, *INCLUDES, f"-mcpu={case.cpu}", "-c",
                               str(tmp_path / "prog.c"), "-o", str(tmp_path / f"{target}.o")],
                              capture_output=True, text=True)
        if "Unsupported field expression" in proc.stderr:
            return "clang rejects"  # clang-19's BPF backend cannot relocate some straddling bit-fields
        assert proc.returncode == 0, proc.stderr
        objs[target] = tmp_path / f"{target}.o"
    target_btf = compile_c(clang, tmp_path / "target.c", tmp_path / "target.o")
    theirs = run_loader(core_loader, objs["bpf"], target_btf)
    if any("failed to perform CO-RE relocations" in line for line in theirs.log):
        with pytest.raises(RelocationError):
            relocate_object(objs["bpfeb"].read_bytes(), load_spec(target_btf))
        return "relocation error"
    le_values = _libbpf_values(theirs.log)
    ours = relocate_object(objs["bpfeb"].read_bytes(), load_spec(target_btf))
    written = BpfObject.parse(ours.data)
    assert written.big_endian
    shifts = 0
    for e in ours.report:
        if e["result"] != "patched":
            continue
        key = _key(e["program"], e["local_spec"])
        expected = le_values[key]
        if e["kind"] == "lshift_u64":
            spec = key[1].split(">", 1)[1]
            byte_sz = le_values[(e["program"], "<byte_sz>" + spec)]
            bit_sz = 64 - le_values[(e["program"], "<rshift_u64>" + spec)]
            expected = (8 - byte_sz) * 8 + (64 - expected - bit_sz)  # bit_off - byte_off * 8, from the LE shift
            shifts += 1
        field = next(m[4] for m in map(PATCHED.match, e["log"]) if m)
        assert e["new_value"] == expected, (seed, e["program"], e["relo"], e["kind"])
        assert _insn_value(written, e["section"], e["section_insn"], field) == expected, (seed, e)
    assert shifts > 0 or not any(k[1].startswith("<lshift_u64>") for k in le_values)
    return "shifts checked" if shifts else "no shift relocated"
