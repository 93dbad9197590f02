"""compile --base: split BTF on vmlinux that reuses the base's types, accepted by
libbpf's btf__parse_split and by bpftool -B."""

from __future__ import annotations

import ctypes
import ctypes.util

import pytest

from btfmeta import Kind, Spec, load_spec

from .conftest import REPO, bpftool_dump, need, run_cli

SAMPLES = REPO / "samples"


@pytest.fixture(scope="module")
def vmlinux(shared_btf):
    return load_spec(shared_btf / "vmlinux.btf")


def _new_types(spec: Spec) -> list[str]:
    return [f"{t.kind.name} {t.name or '(anon)'}" for _, t in spec]


def test_sample_reuses_vmlinux_types(tmp_path, shared_btf, vmlinux, bpftool):
    out = tmp_path / "v1.btf"
    res = run_cli("compile", str(SAMPLES / "mynic_metadata.h"), "--base", str(shared_btf / "vmlinux.btf"),
                  "-o", str(out))
    assert res.code == 0, res.stderr
    split = Spec.parse(out.read_bytes(), base=vmlinux)
    assert split.start_id == vmlinux.type_cnt == 100_751
    # __u8.., __be16, struct in6_addr, struct ethhdr, arrays and __ARRAY_SIZE_TYPE__ are the base's
    assert _new_types(split) == [
        "ENUM mynic_l3_proto", "ENUM mynic_hash_type", "STRUCT mynic_rx_descriptor", "STRUCT mynic_metadata",
        "UNION (anon)", "STRUCT (anon)", "STRUCT (anon)", "STRUCT (anon)", "PTR (anon)"]
    meta = split.type_by_id(split.find("mynic_metadata", Kind.STRUCT))
    types = {m.name: m.type for m in meta.members}
    assert types["hash"] == vmlinux.find("__u32", Kind.TYPEDEF)
    assert types["vlan_proto"] == vmlinux.find("__be16", Kind.TYPEDEF)
    ipv6 = split.type_by_id(split.type_by_id(types["rx"]).members[1].type)
    assert ipv6.members[0].type == vmlinux.find("in6_addr", Kind.STRUCT)
    # bpftool reads it on its base
    dump = bpftool_dump(bpftool, out, shared_btf / "vmlinux.btf").decode()
    assert "[100754] STRUCT 'mynic_metadata' size=64 vlen=10" in dump
    assert run_cli("btf", "dump", str(out), "-B", str(shared_btf / "vmlinux.btf")).stdout.decode() == dump


def test_libbpf_parses_the_split_btf(tmp_path, shared_btf):
    name = ctypes.util.find_library("bpf")
    need(name is not None, "libbpf not installed (apt-get install libbpf-dev)")
    lib = ctypes.CDLL(name)
    lib.btf__parse.restype = ctypes.c_void_p
    lib.btf__parse.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    lib.btf__parse_split.restype = ctypes.c_void_p
    lib.btf__parse_split.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    lib.btf__type_cnt.argtypes = [ctypes.c_void_p]
    lib.btf__find_by_name_kind.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint32]
    lib.btf__free.argtypes = [ctypes.c_void_p]
    for header, struct in [("mynic_metadata.h", b"mynic_metadata"), ("mynic_metadata_v2.h", b"mynic_metadata___v2"),
                           ("xdp_rx_meta.h", b"xdp_rx_meta")]:
        out = tmp_path / (header + ".btf")
        res = run_cli("compile", str(SAMPLES / header), "--base", str(shared_btf / "vmlinux.btf"), "-o", str(out))
        assert res.code == 0, res.stderr
        base = lib.btf__parse(str(shared_btf / "vmlinux.btf").encode(), None)
        split = lib.btf__parse_split(str(out).encode(), base)
        assert split, f"libbpf refused {header}"
        assert lib.btf__type_cnt(split) == load_spec(out, base=load_spec(shared_btf / "vmlinux.btf")).type_cnt
        assert lib.btf__find_by_name_kind(split, struct, int(Kind.STRUCT)) >= 100_751
        lib.btf__free(split)
        lib.btf__free(base)


def test_split_is_deterministic(tmp_path, shared_btf):
    outs = []
    for i in range(2):
        out = tmp_path / f"x{i}.btf"
        assert run_cli("compile", str(SAMPLES / "mynic_metadata_v2.h"), "--base", str(shared_btf / "vmlinux.btf"),
                       "-o", str(out)).code == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
