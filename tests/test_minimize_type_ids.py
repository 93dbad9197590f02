"""`bpf_core_type_id_kernel()` and minimized BTF (issue 21): relocated against a minimized
BTF, a target_type_id relocation gets the type's id in that file -- libbpf does it too --
which the running kernel reads as another type.  `minimize` names such relocations (text,
--report, --fleet), and `relocate`/`check` against a BTF recognizably minimized (no FUNC
record) warn; the minimized bytes stay bpftool's."""

from __future__ import annotations

import json
import struct
import subprocess

import pytest

from btfmeta import Kind, load_spec

from .conftest import compile_bpf, run_cli, run_loader
from .test_relocate_differential import INCLUDES

PROGRAM = """#include <linux/bpf.h>
#define SEC(n) __attribute__((section(n), used))
struct sk_buff { unsigned int len; } __attribute__((preserve_access_index));
SEC("xdp") int type_ids(struct xdp_md *ctx)
{
\treturn __builtin_btf_type_id(*(typeof(struct sk_buff) *)0, 1 /* BPF_TYPE_ID_TARGET */) ? XDP_PASS : XDP_DROP;
}
char _license[] SEC("license") = "GPL";
"""


@pytest.fixture
def minimized_case(tmp_path, clang, shared_btf):
    obj = compile_bpf(clang, PROGRAM, tmp_path / "prog.o", *INCLUDES)
    full = shared_btf / "vmlinux.btf"
    res = run_cli("minimize", str(obj), "--btf", str(full), "-o", str(tmp_path / "min.btf"),
                  "--report", str(tmp_path / "kept.json"))
    return obj, full, tmp_path / "min.btf", res


def test_minimize_names_type_id_relocations(minimized_case, bpftool, tmp_path):
    obj, full, small, res = minimized_case
    kernel_id = load_spec(full).find("sk_buff", Kind.STRUCT)
    small_id = load_spec(small).find("sk_buff", Kind.STRUCT)
    assert res.code == 0 and kernel_id != small_id
    assert res.stderr == (f"btfmeta: warning: {obj}: type_ids relo #0 <target_type_id>: struct sk_buff is "
                          f"[{kernel_id}] in the target but [{small_id}] in the minimized BTF: a program relocated "
                          "against it gets an id the kernel reads as another type\n")
    (note,) = json.loads((tmp_path / "kept.json").read_text())["type_id_relocations"]
    assert (note["type"], note["id"], note["minimized_id"]) == ("struct sk_buff", kernel_id, small_id)
    subprocess.run([bpftool, "gen", "min_core_btf", str(full), str(tmp_path / "theirs.btf"), str(obj)], check=True)
    assert small.read_bytes() == (tmp_path / "theirs.btf").read_bytes()  # still bpftool's bytes
    from btfmeta.core.minimize import minimized
    assert minimized(load_spec(small), small_id) and not minimized(load_spec(full), kernel_id)


def test_relocate_and_check_warn_against_a_minimized_btf(minimized_case, core_loader, tmp_path):
    obj, full, small, _ = minimized_case
    small_id = load_spec(small).find("sk_buff", Kind.STRUCT)
    kernel_id = load_spec(full).find("sk_buff", Kind.STRUCT)
    for target, expect in ((small, small_id), (full, kernel_id)):  # the trap: libbpf itself patches in the file's id
        first = run_loader(core_loader, obj, target).insns["type_ids"][0]
        assert struct.unpack("<i", bytes.fromhex(first)[4:])[0] == expect
    warned = run_cli("relocate", str(obj), "--btf", str(small), "-o", str(tmp_path / "out.o"), "--report",
                     str(tmp_path / "r.json"))
    assert warned.code == 0 and warned.stderr.startswith(
        f"btfmeta: warning: {obj}: type_ids: insn 0: <target_type_id> of struct sk_buff is [{small_id}] of {small}")
    assert len(json.loads((tmp_path / "r.json").read_text())["warnings"]) == 1
    quiet = run_cli("relocate", str(obj), "--btf", str(full), "-o", str(tmp_path / "out.o"))
    assert (quiet.code, quiet.stderr) == (0, "")
    check = run_cli("check", str(obj), "--btf", str(small), "--btf", str(full))
    lines = check.stdout.decode().splitlines()
    assert check.code == 0 and lines[1].split() == ["type_ids", "ok", "ok"]
    assert [line for line in lines if "warning" in line] == \
        [f"{small}: warning: type_ids: insn 0: <target_type_id> of struct sk_buff is [{small_id}] of {small}, "
         "which has no function records (minimized?): the running kernel's id differs (bpf_core_type_id_kernel)"]
    doc = json.loads(run_cli("check", str(obj), "--btf", str(small), "--format", "json").stdout)
    assert len(doc["targets"][0]["warnings"]) == 1


def test_the_fleet_names_them_too(minimized_case, tmp_path):
    obj, full, small, _ = minimized_case
    kernels = tmp_path / "kernels.txt"
    kernels.write_text(f"{full}\n")
    res = run_cli("minimize", str(obj), "--fleet", str(kernels), "-o", str(tmp_path / "min"))
    assert res.code == 0 and "; warning: vmlinux: " in res.stdout.decode() and "struct sk_buff is [" in \
        res.stdout.decode()
    kernels.write_text(f"{small}\n")
    checked = json.loads(run_cli("check", str(obj), "--fleet", str(kernels), "--format", "json").stdout)
    (row,) = checked["kernels"][0]["results"]
    assert row["verdict"] == "ok" and len(row["warnings"]) == 1
