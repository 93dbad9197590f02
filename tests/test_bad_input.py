"""Bad input never gets past a one-line error: exit 2, no traceback, no output file.

Ten thousand seeded mutations (truncations, bit flips, length/count/id fields
pushed to extremes) of raw BTF, split BTF and ELF objects run in-process; a few
hand-written cases run as real subprocesses to check the user-visible shape.
"""

from __future__ import annotations

import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from btfmeta import Spec
from btfmeta.btf import types as T

from .conftest import FIXTURES, run_cli

EXTREMES = [0, 1, 3, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFF, 0x10000, 0xFFFFFF, 24, 32]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    how = rng.randrange(6)
    if how == 0:  # truncate
        return bytes(buf[: rng.randrange(len(buf))])
    if how == 1:  # flip bits
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
    elif how == 2:  # a header field (or any aligned word) pushed to an extreme
        limit = 32 if rng.random() < 0.5 else len(buf) - 4
        i = rng.randrange(0, max(limit, 4), 4)
        buf[i:i + 4] = struct.pack("<I", rng.choice([*EXTREMES, len(buf), len(buf) + 1]))
    elif how == 3:  # a type's info word: kind/vlen/kflag changed
        i = rng.randrange(28, max(len(buf) - 4, 29), 4)
        buf[i:i + 4] = struct.pack("<I", rng.getrandbits(32) & rng.choice([0x1F000000, 0xFFFF, 0x9FFFFFFF,
                                                                           0xFFFFFFFF]))
    elif how == 4:  # random bytes overwritten
        i = rng.randrange(len(buf))
        n = rng.randint(1, 16)
        buf[i:i + n] = rng.randbytes(n)
    else:  # data appended or removed in the middle
        i = rng.randrange(len(buf))
        if rng.random() < 0.5:
            del buf[i:i + rng.randint(1, 12)]
        else:
            buf[i:i] = rng.randbytes(rng.randint(1, 12))
    return bytes(buf)


def _small_base_and_split() -> tuple[bytes, bytes]:
    base = Spec()
    base.add(T.Int(name="int", size=4, encoding=1, nr_bits=32))
    base.add(T.Struct(name="ethhdr", size=14, members=[T.Member(name="h_proto", type=1, bits_offset=96)]))
    base = Spec.parse(base.to_bytes())
    split = Spec(base=base)
    split.add(T.Ptr(type=2))
    split.add(T.Struct(name="mynic_metadata", size=16, kflag=True,
                       members=[T.Member(name="hash", type=1, bits_offset=0),
                                T.Member(name="vlan", type=1, bits_offset=32, bitfield_size=12),
                                T.Member(name="eth", type=3, bits_offset=64)]))
    split.add(T.Enum64(name="flags", values=[T.EnumValue(name="F", value=1 << 40)]))
    return base.to_bytes(), split.to_bytes()


def _check(tmp: Path, args: list[str], out: Path, label: str) -> str:
    res = run_cli(*args)
    assert res.code in (0, 2), f"{label}: exit {res.code}: {res.stderr}"
    if res.code == 2:
        assert res.stderr.startswith("btfmeta: error: "), f"{label}: {res.stderr!r}"
        assert res.stderr.count("\n") == 1, f"{label}: {res.stderr!r}"
        assert not out.exists(), f"{label}: partial output left behind"
        assert not list(tmp.glob(".*")), f"{label}: temporary file left behind"
        return "error"
    if out.exists():
        out.unlink()
    return "ok"


@pytest.mark.parametrize("corpus", ["raw", "split", "elf"])
def test_mutations_fail_cleanly(tmp_path, corpus):
    rng = random.Random(f"btfmeta-{corpus}")
    base_path = tmp_path / "base.btf"
    base_bytes, split_bytes = _small_base_and_split()
    base_path.write_bytes(base_bytes)
    seed = {"raw": (FIXTURES / "kinds.bpf.o").read_bytes(), "split": split_bytes,
            "elf": (FIXTURES / "kinds.bpfeb.o").read_bytes()}[corpus]
    if corpus == "raw":
        seed = _btf_of(seed)
    count = {"raw": 4000, "split": 3000, "elf": 3000}[corpus]
    inp, out = tmp_path / "in.btf", tmp_path / "out.btf"
    outcomes = {"ok": 0, "error": 0}
    for i in range(count):
        inp.write_bytes(_mutate(seed, rng))
        base_args = ["--base", str(base_path)] if corpus == "split" else []
        label = f"{corpus} mutation {i}"
        outcomes[_check(tmp_path, ["btf", "copy", str(inp), "-o", str(out), *base_args], out, label)] += 1
        _check(tmp_path, ["btf", "dump", str(inp), *base_args], out, label)
    # Many mutations stay valid (a flipped letter in a name, bytes outside .BTF in an ELF).
    assert outcomes["error"] > count // 3, outcomes


def _btf_of(elf: bytes) -> bytes:
    from btfmeta.btf.load import btf_bytes
    return btf_bytes(elf, "kinds.bpf.o")


CASES = {
    "empty": b"",
    "bad magic": b"\x00" * 40,
    "short header": b"\x9f\xeb\x01\x00\x18\x00\x00\x00",
    "header length lies": struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 4096, 0, 0, 0, 1) + b"\0",
    "strings past end": struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 0, 0, 100) + b"\0",
    "unknown kind": struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 12, 1)
    + struct.pack("<3I", 0, 25 << 24, 0) + b"\0",
    "huge vlen": struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 12, 1)
    + struct.pack("<3I", 0, (4 << 24) | 0xFFFF, 0) + b"\0",
    "string offset out of range": struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 16, 16, 1)
    + struct.pack("<4I", 999, 1 << 24, 4, 32) + b"\0",
    "type id out of range": struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 12, 1)
    + struct.pack("<3I", 0, 2 << 24, 77) + b"\0",
    "not BTF or ELF": b"hello world, this is not BTF at all",
    "truncated ELF": (FIXTURES / "kinds.bpf.o").read_bytes()[:700],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_as_a_user_sees_it(tmp_path, name):
    inp, out = tmp_path / "bad.btf", tmp_path / "out.btf"
    inp.write_bytes(CASES[name])
    for args in (["btf", "copy", str(inp), "-o", str(out)], ["btf", "dump", str(inp)]):
        proc = subprocess.run([sys.executable, "-m", "btfmeta", *args], capture_output=True, text=True)
        assert proc.returncode == 2, (name, proc.stderr)
        assert proc.stderr.startswith(f"btfmeta: error: {inp}: "), proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert not out.exists()


def test_missing_file_and_unwritable_output(tmp_path):
    res = run_cli("btf", "dump", str(tmp_path / "nope.btf"))
    assert res.code == 2 and "nope.btf" in res.stderr
    res = run_cli("btf", "copy", str(FIXTURES / "kinds.bpf.o"), "-o", str(tmp_path / "no" / "dir" / "x.btf"))
    assert res.code == 2 and res.stderr.count("\n") == 1


def test_reference_loops_are_refused(tmp_path):
    """A typedef loop (the kernel refuses it too) ends every command with exit 2 and one line,
    never an endless walk; the commands that follow the chain name the looping type."""
    spec = Spec()
    spec.add(T.Typedef(name="a", type=2))
    spec.add(T.Typedef(name="b", type=1))
    spec.add(T.Struct(name="s", size=4, members=[T.Member(name="x", type=1, bits_offset=0)]))
    path = tmp_path / "loop.btf"
    path.write_bytes(spec.to_bytes())
    for args in (["layout", str(path)], ["layout", str(path), "--format", "json"], ["diff", str(path), str(path)],
                 ["resolve", "s.x", "--btf", str(path)], ["btf", "dump", str(path), "--format", "c"]):
        res = run_cli(*args)
        assert res.code == 2 and res.stderr.startswith("btfmeta: error: "), (args, res.stderr)
        assert res.stderr.count("\n") == 1, (args, res.stderr)
    for args in (["layout", str(path)], ["resolve", "s.x", "--btf", str(path)]):
        assert "reference loop" in run_cli(*args).stderr
