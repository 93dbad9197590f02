"""Real kernel BTF (Debian 6.1 vmlinux, PREEMPT_RT vmlinux, NIC module split BTF):
copy is byte-identical and dumps equal bpftool's, raw and JSON."""

from __future__ import annotations

import pytest

from btfmeta import load_spec, load_with_base
from btfmeta.btf import Kind

from .conftest import bpftool_dump, run_cli

MODULES = ["i40e", "ice", "igc", "ixgbe", "mlx4_en", "mlx5_core", "stmmac", "veth", "virtio_net"]
BASES = ["vmlinux.btf", "vmlinux-rt.btf"]


@pytest.mark.parametrize("name", BASES)
def test_copy_base_is_byte_identical(shared_btf, tmp_path, name):
    out = tmp_path / "copy.btf"
    res = run_cli("btf", "copy", str(shared_btf / name), "-o", str(out))
    assert res.code == 0, res.stderr
    assert out.read_bytes() == (shared_btf / name).read_bytes()


@pytest.mark.parametrize("module", MODULES)
def test_copy_module_split_is_byte_identical(shared_btf, tmp_path, module):
    out = tmp_path / "copy.btf"
    src = shared_btf / "modules" / f"{module}.btf"
    res = run_cli("btf", "copy", str(src), "--base", str(shared_btf / "vmlinux.btf"), "-o", str(out))
    assert res.code == 0, res.stderr
    assert out.read_bytes() == src.read_bytes()


@pytest.mark.parametrize("name", BASES)
def test_raw_and_json_dump_match_bpftool(shared_btf, bpftool, name):
    path = shared_btf / name
    raw = run_cli("btf", "dump", str(path))
    assert raw.code == 0, raw.stderr
    assert raw.stdout == bpftool_dump(bpftool, path)
    js = run_cli("btf", "dump", "--format", "json", str(path))
    assert js.stdout == bpftool_dump(bpftool, path, json=True)  # byte for byte


@pytest.mark.parametrize("module", MODULES)
def test_module_dumps_match_bpftool(shared_btf, bpftool, module):
    path = shared_btf / "modules" / f"{module}.btf"
    base = shared_btf / "vmlinux.btf"
    raw = run_cli("btf", "dump", str(path), "-B", str(base))
    assert raw.code == 0, raw.stderr
    assert raw.stdout == bpftool_dump(bpftool, path, base)
    js = run_cli("btf", "dump", "--format", "json", str(path), "-B", str(base))
    assert js.stdout == bpftool_dump(bpftool, path, base, json=True)


def test_module_without_base_is_refused(shared_btf):
    res = run_cli("btf", "dump", str(shared_btf / "modules" / "ice.btf"))
    assert res.code == 2
    assert res.stderr.count("\n") == 1
    assert "--base" in res.stderr and "ice.btf" in res.stderr


def test_lazy_open_decodes_only_what_is_touched(shared_btf):
    spec = load_spec(shared_btf / "vmlinux.btf")
    assert len(spec) == 100_750
    (skb,) = spec.find_by_name("sk_buff", Kind.STRUCT)
    layout = spec.closure([skb], through_pointers=False)
    decoded = sum(t is not None for t in spec._types)
    assert decoded == len(layout) < 200
    t = spec.type_by_id(skb)
    assert t.name == "sk_buff" and t.size == 232


def test_split_ids_and_strings_continue_the_base(shared_btf):
    spec = load_with_base(shared_btf / "modules" / "ice.btf", shared_btf / "vmlinux.btf")
    assert spec.start_id == 100_751
    assert spec.strings.start == len(spec.base.strings.data)
    (ring,) = spec.find_by_name("ice_rx_ring", Kind.STRUCT)
    assert ring >= spec.start_id
    (u32,) = spec.find_by_name("u32", Kind.TYPEDEF)
    assert u32 < spec.start_id
