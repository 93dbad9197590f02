"""btf dump --format c equals `bpftool btf dump file F format c` (libbpf 1.1's btf_dump) for
real kernel and module BTF, clang objects and compiled samples; the vmlinux dump compiles."""

from __future__ import annotations

import subprocess

import pytest

from .conftest import FIXTURES, REPO, run_cli

MODULES = ["i40e", "ice", "igc", "ixgbe", "mlx4_en", "mlx5_core", "stmmac", "veth", "virtio_net"]


def bpftool_c(bpftool: str, path, base=None) -> bytes:
    cmd = [bpftool, "btf", "dump", "file", str(path)] + (["-B", str(base)] if base else []) + ["format", "c"]
    return subprocess.run(cmd, check=True, capture_output=True).stdout


@pytest.mark.parametrize("name", ["vmlinux.btf", "vmlinux-rt.btf"])
def test_vmlinux(shared_btf, bpftool, clang, tmp_path, name):
    res = run_cli("btf", "dump", str(shared_btf / name), "--format", "c")
    assert res.code == 0, res.stderr
    assert res.stdout == bpftool_c(bpftool, shared_btf / name)
    header = tmp_path / "vmlinux.h"
    header.write_bytes(res.stdout)
    src = tmp_path / "v.c"
    src.write_text('#include "vmlinux.h"\nstruct sk_buff *p;\n')
    subprocess.run([clang, "-g", "-target", "bpf", "-c", str(src), "-o", str(tmp_path / "v.o")], check=True)


@pytest.mark.parametrize("module", MODULES)
def test_modules(shared_btf, bpftool, module):
    path, base = shared_btf / "modules" / f"{module}.btf", shared_btf / "vmlinux.btf"
    res = run_cli("btf", "dump", str(path), "-B", str(base), "--format", "c")
    assert res.code == 0, res.stderr
    assert res.stdout == bpftool_c(bpftool, path, base)


def test_objects_and_compiled_samples(bpftool, tmp_path):
    paths = [*sorted((REPO / "samples").glob("*.o")), *sorted(FIXTURES.glob("*.o"))]
    for header in ["mynic_metadata.h", "mynic_metadata_v2.h", "xdp_rx_meta.h"]:
        out = tmp_path / f"{header}.btf"
        assert run_cli("compile", str(REPO / "samples" / header), "-o", str(out)).code == 0
        paths.append(out)
    kitchen = tmp_path / "kitchen.btf"
    assert run_cli("compile", str(FIXTURES / "compile" / "kitchen_sink.h"), "-o", str(kitchen)).code == 0
    paths.append(kitchen)
    for p in paths:
        assert run_cli("btf", "dump", str(p), "--format", "c").stdout == bpftool_c(bpftool, p), p
