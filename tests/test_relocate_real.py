"""relocate against real kernel BTF agrees with libbpf (each toolchain's, with the matching
--libbpf profile): programs compiled against
Debian 6.1's vmlinux.h read hundreds of kernel struct fields through CO-RE and are
relocated against the PREEMPT_RT build's BTF (different layouts); programs reading NIC
driver types are relocated against module split BTF on vmlinux."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import pytest

from btfmeta import Kind, Spec, load_spec
from btfmeta.btf import types as T
from btfmeta.compile import compile_headers
from btfmeta.core.btfutil import skip_mods_and_typedefs
from btfmeta.relocate import RelocationError, relocate_object

from .conftest import LibbpfJudge, per_toolchain
from .test_relocate_differential import INCLUDES, decisions

MODULES = ["ice", "i40e", "ixgbe", "igc", "mlx4_en", "mlx5_core", "stmmac", "veth", "virtio_net"]


def _skip(spec: Spec, tid: int):
    return skip_mods_and_typedefs(spec, tid)[1]


def accesses(spec: Spec, rec: T.Struct | T.Union, obj: str, rng: random.Random, depth: int = 0) -> list[str]:
    """C statements folding fields of the struct object ``obj`` into h (nested members, arrays)."""
    out = []
    members = list(rec.members)
    rng.shuffle(members)
    for m in members[:4]:
        mt = _skip(spec, m.type)
        if mt is None:
            continue
        if not m.name:  # anonymous struct/union: its members are accessed directly
            if isinstance(mt, T.Composite) and depth < 3:
                out += accesses(spec, mt, obj, rng, depth + 1)
            continue
        if m.bitfield_size:
            out.append(f"h = h * 31 + BPF_CORE_READ_BITFIELD(&{obj}, {m.name});")
            continue
        expr = f"{obj}.{m.name}"
        if isinstance(mt, T.Array):
            et = _skip(spec, mt.type)
            if mt.nelems == 0 or et is None:
                continue
            expr += f"[{rng.randrange(mt.nelems)}]"
            mt = et
        if isinstance(mt, (T.Int, T.Enum, T.Enum64)) and mt.size <= 8:
            out.append(f"h = h * 31 + {expr};")
            if rng.random() < 0.3:
                out.append(f"h = h * 31 + bpf_core_field_size({expr}) + bpf_core_field_exists({expr});")
        elif isinstance(mt, T.Ptr):
            out.append(f"h = h * 31 + (__u64){expr};")
        elif isinstance(mt, T.Composite) and depth < 3:
            out += accesses(spec, mt, expr, rng, depth + 1)
    return out


def program(header: Path, spec: Spec, names: list[str], rng: random.Random) -> str:
    lines = [f'#include "{header}"', "#include <bpf/bpf_helpers.h>", "#include <bpf/bpf_core_read.h>"]
    for i, name in enumerate(names):
        t = spec.type_by_id(spec.find(name, Kind.STRUCT))
        body = accesses(spec, t, "(*ptr)", rng)  # not "p": BPF_CORE_READ_BITFIELD declares its own p
        lines.append(f'SEC("xdp") int prog{i}(struct xdp_md *ctx)\n{{\n\tstruct {name} *ptr = '
                     "(void *)(long)ctx->data_meta;\n\t__u64 h = bpf_core_type_size(struct " + name + ");\n\t"
                     + "\n\t".join(body) + "\n\treturn h & 0xff;\n}")
    lines.append('char _license[] SEC("license") = "GPL";')
    return "\n".join(lines) + "\n"


def unique_structs(spec: Spec, target: Spec, rng: random.Random, count: int) -> list[str]:
    """Named structs of ``spec`` with members, whose name is unique in both (no ambiguity)."""
    names = [t.name for tid, t in spec if isinstance(t, T.Struct) and t.name
             and "___" not in t.name and t.members and t.size]
    rng.shuffle(names)
    out = []
    for n in names:
        if len(spec.find_by_name(n, Kind.STRUCT)) == 1 and len(target.find_by_name(n, Kind.STRUCT)) == 1:
            out.append(n)
        if len(out) == count:
            break
    return out


def compare(tmp: Path, clang: str, libbpf: LibbpfJudge, source: str, libbpf_target: Path, our_target: Spec,
            module: str | None = None) -> int:
    src = tmp / "prog.c"
    src.write_text(source)
    obj = tmp / "prog.o"
    subprocess.run([clang, "-g", "-O2", "-target", "bpf", *INCLUDES, "-c", str(src), "-o", str(obj)], check=True,
                   capture_output=True)
    theirs = libbpf.run(obj, libbpf_target)
    expected = decisions(theirs.log)
    if module:  # libbpf given a merged file says vmlinux; btfmeta names the module for split BTF types
        expected = [_module_line(line, our_target.start_id, module) for line in expected]
    try:
        ours = relocate_object(obj.read_bytes(), our_target, path=str(obj), libbpf=libbpf.profile)
    except RelocationError as exc:
        assert decisions(exc.log) == expected
        return len(expected)
    assert decisions(ours.log) == expected
    out = tmp / "ours.o"
    out.write_bytes(ours.data)
    assert libbpf.run(out, None).insns == theirs.insns
    return sum(1 for line in expected if "patched insn" in line or "substituting" in line)


def _module_line(line: str, start_id: int, module: str) -> str:
    m = re.search(r"found target candidate \[(\d+)\]", line)
    if m and int(m.group(1)) >= start_id:
        return line.replace(" in [vmlinux]", f" in [{module}]")
    return line


@pytest.fixture(scope="module")
def vmlinux_header(shared_btf, bpftool, tmp_path_factory):
    header = tmp_path_factory.mktemp("vmlinux") / "vmlinux.h"
    with header.open("wb") as out:
        subprocess.run([bpftool, "btf", "dump", "file", str(shared_btf / "vmlinux.btf"), "format", "c"], stdout=out,
                       check=True)
    return header, compile_headers([str(header)])


@pytest.mark.parametrize("toolchain, seed", per_toolchain([0, 1, 2], [0]), indirect=["toolchain"])
def test_vmlinux_types_against_the_rt_kernel(tmp_path, shared_btf, clang, libbpf_judge, vmlinux_header, seed):
    header, local = vmlinux_header
    rt = load_spec(shared_btf / "vmlinux-rt.btf")
    rng = random.Random(seed)
    names = unique_structs(local, rt, rng, 40)
    applied = compare(tmp_path, clang, libbpf_judge, program(header, local, names, rng),
                      shared_btf / "vmlinux-rt.btf", rt)
    assert applied > 100


@pytest.mark.parametrize("toolchain, module", per_toolchain(MODULES, ["ice", "igc", "veth"]),
                         indirect=["toolchain"])
def test_nic_driver_types_in_module_btf(tmp_path, shared_btf, bpftool, clang, libbpf_judge, module):
    vmlinux = load_spec(shared_btf / "vmlinux.btf")
    split = load_spec(shared_btf / "modules" / f"{module}.btf", base=vmlinux)
    merged = tmp_path / "merged.btf"
    merged.write_bytes(split.merged().to_bytes())
    header = tmp_path / "merged.h"
    with header.open("wb") as out:
        subprocess.run([bpftool, "btf", "dump", "file", str(merged), "format", "c"], stdout=out, check=True)
    local = compile_headers([str(header)])
    rng = random.Random(module)
    own = sorted({t.name for _, t in split if isinstance(t, T.Struct) and t.name and t.members and "___" not in t.name
                  and len(split.find_by_name(t.name, Kind.STRUCT)) == 1})
    rng.shuffle(own)
    names = [n for n in own if len(local.find_by_name(n, Kind.STRUCT)) == 1][:20]
    assert names, f"{module}: no driver struct to read"
    applied = compare(tmp_path, clang, libbpf_judge, program(header, local, names, rng), merged, split, module)
    assert applied >= len(names)
