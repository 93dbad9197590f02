"""The .BTF of clang-compiled BPF objects: copy is byte-identical, dumps equal bpftool's."""

from __future__ import annotations

import subprocess

import pytest

from btfmeta.btf.load import btf_bytes

from .conftest import FIXTURES, bpftool_dump, compile_bpf, run_cli

OBJECTS = ["kinds.bpf.o", "kinds.bpfeb.o"]


def _section(path) -> bytes:
    return btf_bytes(path.read_bytes(), str(path))


@pytest.mark.parametrize("name", OBJECTS)
def test_committed_objects(tmp_path, bpftool, name):
    obj = FIXTURES / name
    out = tmp_path / "copy.btf"
    assert run_cli("btf", "copy", str(obj), "-o", str(out)).code == 0
    assert out.read_bytes() == _section(obj)
    assert run_cli("btf", "dump", str(obj)).stdout == bpftool_dump(bpftool, obj)
    js = run_cli("btf", "dump", "--format", "json", str(obj)).stdout
    assert js == bpftool_dump(bpftool, obj, json=True)  # byte for byte, as bpftool -j prints it


def test_section_matches_llvm_objcopy(tmp_path):
    objcopy = "llvm-objcopy-19"
    obj = FIXTURES / "kinds.bpf.o"
    dumped = tmp_path / "BTF"
    try:
        subprocess.run([objcopy, f"--dump-section=.BTF={dumped}", str(obj), str(tmp_path / "o")], check=True)
    except FileNotFoundError:
        pytest.skip("llvm-objcopy-19 not installed")
    assert dumped.read_bytes() == _section(obj)


@pytest.mark.parametrize("target", ["bpf", "bpfeb"])
@pytest.mark.parametrize("cpu", ["v1", "v2", "v3", "v4"])
def test_fresh_clang_objects(tmp_path, clang, bpftool, target, cpu):
    src = (FIXTURES / "kinds.c").read_text()
    obj = compile_bpf(clang, src, tmp_path / "prog.o", f"-mcpu={cpu}", "-target", target)
    out = tmp_path / "copy.btf"
    assert run_cli("btf", "copy", str(obj), "-o", str(out)).code == 0
    assert out.read_bytes() == _section(obj)
    assert run_cli("btf", "dump", str(obj)).stdout == bpftool_dump(bpftool, obj)
    # converting the byte order and back is lossless, and bpftool reads both
    swapped = tmp_path / "swapped.btf"
    other = "little" if target == "bpfeb" else "big"
    assert run_cli("btf", "copy", str(out), "-o", str(swapped), "--endian", other).code == 0
    assert bpftool_dump(bpftool, swapped) == bpftool_dump(bpftool, obj)
    back = tmp_path / "back.btf"
    assert run_cli("btf", "copy", str(swapped), "-o", str(back), "--endian",
                   "big" if target == "bpfeb" else "little").code == 0
    assert back.read_bytes() == out.read_bytes()


def test_type_selection(bpftool):
    obj = FIXTURES / "kinds.bpf.o"
    full = bpftool_dump(bpftool, obj).decode().split("\n[")
    meta = next("[" + block for block in full if "STRUCT 'meta'" in block)
    assert run_cli("btf", "dump", str(obj), "--type", "struct meta").stdout.decode().rstrip() == meta.rstrip()
    by_id = run_cli("btf", "dump", str(obj), "--type", "1").stdout.decode()
    assert by_id.startswith("[1] ")
    missing = run_cli("btf", "dump", str(obj), "--type", "nosuch")
    assert missing.code == 2 and "nosuch" in missing.stderr
