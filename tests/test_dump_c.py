"""btf dump --format c equals `bpftool btf dump file F format c` of each judge toolchain
(bpftool 7.1, 7.5, 7.8) with the matching --bpftool profile, for real kernel and module
BTF, clang objects and compiled samples; the vmlinux dump compiles. bpftool >= 7.5's sorted
dump never prints the first type of its order: that is the one difference allowed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from btfmeta import load_spec
from btfmeta.btf import Kind
from btfmeta.profiles import bpftool as profiles
from btfmeta.render.c_dump import FASTCALL_DEFINE, HEADER, KSYM_DEFINES
from btfmeta.render.c_order import sorted_ids

from .conftest import FIXTURES, REPO, run_cli
from .view_judges import NAMES, Toolchain, toolchain

MODULES = ["i40e", "ice", "igc", "ixgbe", "mlx4_en", "mlx5_core", "stmmac", "veth", "virtio_net"]


def bpftool_c(tc: Toolchain, path: Path, base: Path | None = None, *extra: str) -> bytes:
    files = {"f.btf": path, **({"b.btf": base} if base else {})}
    return tc.run(["bpftool", "btf", "dump", "file", "f.btf", *(["-B", "b.btf"] if base else []), "format", "c",
                   *extra], files)


def ours_c(tc: Toolchain, path: Path, base: Path | None = None, *extra: str) -> bytes:
    res = run_cli("btf", "dump", str(path), *(["-B", str(base)] if base else []), "--format", "c",
                  "--bpftool", tc.bpftool, *extra)
    assert res.code == 0, res.stderr
    return res.stdout


def as_bpftool_prints(ours: bytes, tc: Toolchain, path: Path, base: Path | None = None) -> bytes:
    """``ours`` without the type bpftool >= 7.5 skips: the first of its sorted order (an
    enum: its block is the first after the defines; an int or float prints nothing)."""
    if not profiles.PROFILES[tc.bpftool].sorted_c:
        return ours
    spec = load_spec(path, base=load_spec(base) if base else None)
    first = sorted_ids(spec)[0]
    if first == 0 or spec.kind_of(first) in (Kind.INT, Kind.FLOAT):
        return ours
    assert spec.kind_of(first) in (Kind.ENUM, Kind.ENUM64), first
    p = profiles.PROFILES[tc.bpftool]
    defines = (HEADER + KSYM_DEFINES + (FASTCALL_DEFINE if p.fastcall else "")).encode()
    assert ours.startswith(defines + b"enum ")
    rest = ours[len(defines):]
    return defines + rest[rest.index(b"\n};\n\n") + 5:]


def assert_dump_equal(tc: Toolchain, path: Path, base: Path | None = None) -> bytes:
    ours = ours_c(tc, path, base)
    theirs = bpftool_c(tc, path, base)
    assert as_bpftool_prints(ours, tc, path, base) == theirs, (tc.name, path)
    return ours


@pytest.mark.parametrize("tc", NAMES)
@pytest.mark.parametrize("name", ["vmlinux.btf", "vmlinux-rt.btf"])
def test_vmlinux(shared_btf, clang, tmp_path, name, tc):
    ours = assert_dump_equal(toolchain(tc), shared_btf / name)
    header = tmp_path / "vmlinux.h"
    header.write_bytes(ours)
    src = tmp_path / "v.c"
    src.write_text('#include "vmlinux.h"\nstruct sk_buff *p;\n')
    subprocess.run([clang, "-g", "-target", "bpf", "-c", str(src), "-o", str(tmp_path / "v.o")], check=True)


@pytest.mark.parametrize("tc", [n for n in NAMES if n != "host"])  # Debian 12's bpftool 7.1 has no `unsorted`
def test_unsorted(shared_btf, tc):
    t = toolchain(tc)
    assert profiles.PROFILES[t.bpftool].sorted_c
    path = shared_btf / "vmlinux.btf"
    assert ours_c(t, path, None, "--unsorted") == bpftool_c(t, path, None, "unsorted")


@pytest.mark.parametrize("tc", NAMES)
@pytest.mark.parametrize("module", MODULES)
def test_modules(shared_btf, module, tc):
    assert_dump_equal(toolchain(tc), shared_btf / "modules" / f"{module}.btf", shared_btf / "vmlinux.btf")


@pytest.mark.parametrize("tc", NAMES)
def test_objects_and_compiled_samples(tmp_path, tc):
    t = toolchain(tc)
    paths = [*sorted((REPO / "samples").glob("*.o")), *sorted(FIXTURES.glob("*.o"))]
    for header in ["mynic_metadata.h", "mynic_metadata_v2.h", "xdp_rx_meta.h"]:
        out = tmp_path / f"{header}.btf"
        assert run_cli("compile", str(REPO / "samples" / header), "-o", str(out)).code == 0
        paths.append(out)
    kitchen = tmp_path / "kitchen.btf"
    assert run_cli("compile", str(FIXTURES / "compile" / "kitchen_sink.h"), "-o", str(kitchen)).code == 0
    paths.append(kitchen)
    for p in paths:
        assert_dump_equal(t, p)


def attribute_tags_btf() -> bytes:
    """An attribute tag (TYPE_TAG, kflag 1) beside a btf_type_tag, kfuncs tagged bpf_kfunc
    (one bpf_fastcall too) out of name order, a tag on a parameter, two anonymous enums."""
    from btfmeta import Spec
    from btfmeta.btf import types as T

    s = Spec()
    i = s.add(T.Int(name="int", size=4, encoding=1, nr_bits=32))
    p1 = s.add(T.Ptr(type=s.add(T.TypeTag(name="address_space(1)", type=i, kflag=True))))
    p2 = s.add(T.Ptr(type=s.add(T.TypeTag(name="rcu", type=i))))
    st = s.add(T.Struct(name="s", size=16, members=[T.Member(name="a", type=p1, bits_offset=0),
                                                    T.Member(name="b", type=p2, bits_offset=64)]))
    proto = s.add(T.FuncProto(return_type=i, params=[T.Param(name="x", type=s.add(T.Ptr(type=st))),
                                                     T.Param(name="n", type=i)]))
    zeta, alpha, other = (s.add(T.Func(name=n, type=proto, linkage=1)) for n in ("bpf_zeta", "bpf_alpha", "other"))
    for name, f, idx in (("bpf_kfunc", zeta, -1), ("bpf_kfunc", alpha, -1), ("bpf_fastcall", alpha, -1),
                         ("bpf_kfunc", other, 0)):
        s.add(T.DeclTag(name=name, type=f, component_idx=idx))
    for v in ("ZZ", "AA"):
        s.add(T.Enum(name="", values=[T.EnumValue(name=v, value=1)]))
    s.add(T.Struct(name="s", size=4, members=[T.Member(name="x", type=i, bits_offset=0)]))
    return s.to_bytes()


@pytest.mark.parametrize("tc", NAMES)
def test_attribute_tags_and_kfuncs(tmp_path, tc):
    t = toolchain(tc)
    path = tmp_path / "tags.btf"
    path.write_bytes(attribute_tags_btf())
    ours = assert_dump_equal(t, path)
    p = profiles.PROFILES[t.bpftool]
    assert (b"__attribute__((address_space(1))) *a;" in ours) == p.attribute_tags
    assert (b"extern __bpf_fastcall int bpf_alpha(" in ours) == p.fastcall
    assert (b"/* BPF kfuncs */" in ours) == p.sorted_c
    if p.sorted_c:
        assert ours_c(t, path, None, "--unsorted") == bpftool_c(t, path, None, "unsorted")
