"""obj show: programs, BTF-defined maps, and CO-RE relocations rendered exactly as
llvm-objdump-19 -dr prints them."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from .conftest import REPO, compile_bpf, run_cli, tool
from .progen import generate_case
from .test_relocate_differential import INCLUDES

CORE_LINE = re.compile(r"^\s*([0-9a-f]+):\s+CO-RE (.*)$")


def objdump_core(path) -> list[tuple[int, str]]:
    out = subprocess.run([tool("llvm-objdump-19"), "-dr", str(path)], capture_output=True, text=True, check=True)
    return [(int(m.group(1), 16) // 8, m.group(2)) for m in map(CORE_LINE.match, out.stdout.splitlines()) if m]


def ours_core(path) -> list[tuple[int, str]]:
    res = run_cli("obj", "show", "--format", "json", str(path))
    assert res.code == 0, res.stderr
    return [(r["insn"], r["text"]) for r in json.loads(res.stdout)["relocations"]]


@pytest.mark.parametrize("name", ["xdp_mynic.bpf.o", "xdp_mynic_unguarded.bpf.o"])
def test_samples_like_llvm_objdump(name):
    path = REPO / "samples" / name
    assert ours_core(path) == objdump_core(path)
    text = run_cli("obj", "show", str(path)).stdout.decode()
    assert "read_csum_level" in text and "CO-RE <byte_off>" in text and "license GPL" in text


def test_generated_programs_like_llvm_objdump(tmp_path, clang):
    for seed in range(40):
        case = generate_case(seed)
        src = tmp_path / f"p{seed}.c"
        src.write_text(case.program)
        obj = tmp_path / f"p{seed}.o"
        proc = subprocess.run([clang, "-g", "-O2", "-target", "bpf", *INCLUDES, "-c", str(src), "-o", str(obj)],
                              capture_output=True)
        if proc.returncode:
            continue
        assert ours_core(obj) == objdump_core(obj), seed


def test_btf_defined_maps(tmp_path, clang):
    src = """#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct flow { unsigned int saddr, daddr; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, struct flow);
         __type(value, unsigned long long); } flows SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } events SEC(".maps");
SEC("xdp") int prog(struct xdp_md *ctx) { return bpf_map_lookup_elem(&flows, &(struct flow){0}) ? 1 : 2; }
char _license[] SEC("license") = "GPL";
"""
    obj = compile_bpf(clang, src, tmp_path / "maps.o", *INCLUDES)
    info = json.loads(run_cli("obj", "show", "--format", "json", str(obj)).stdout)
    assert info["maps"] == [
        {"name": "flows", "type": "hash", "max_entries": 1024, "key": "struct flow",
         "value": "unsigned long long"},
        {"name": "events", "type": "ringbuf", "max_entries": 4096, "key": None, "value": None},
    ]
    assert [p["name"] for p in info["programs"]] == ["prog"]
