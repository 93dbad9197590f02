"""Distilled base BTF (issue 20): `btf distill`, `btf relocate`, `compile --distill` and
reading an ELF with `.BTF.base`, judged by libbpf 1.5 and 1.7 (btf__distill_base,
btf__relocate, btf__parse_split through tests/helpers/distill_harness.c) and bpftool 7.5
and 7.8 (`btf dump file M [-B BASE]`), each in its Debian judge chroot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btfmeta.btf import types as T
from btfmeta.btf.distill import distill, distilled_object
from btfmeta.btf.elfsection import btf_object
from btfmeta.btf.load import load_spec, parse_btf
from btfmeta.btf.rebase import relocate_split
from btfmeta.btf.spec import Spec
from btfmeta.cfront.compile import compile_headers
from btfmeta.errors import BtfmetaError

from . import distill_judge as J
from .conftest import REPO, run_cli

SAMPLES = sorted((REPO / "samples").glob("*.h"))
GENERATED = 12  # generated headers here; tests/test_distill_fleet.py takes hundreds across the fleet


@pytest.fixture(scope="module")
def vmlinux_path(shared_btf) -> Path:
    return shared_btf / "vmlinux.btf"


@pytest.fixture(scope="module")
def vmlinux(vmlinux_path) -> Spec:
    return load_spec(vmlinux_path)


@pytest.fixture(scope="module")
def splits(vmlinux) -> dict[str, Spec]:
    """Split BTF on vmlinux: the samples' metadata headers and generated ones."""
    return J.generated_splits(GENERATED, vmlinux)


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    J.cleanup()


@pytest.mark.parametrize("libbpf", ["1.5", "1.7"])
def test_distill_and_relocate_as_libbpf(libbpf, splits, vmlinux_path):
    """Distilled base and split byte for byte as btf__distill_base; relocated back onto
    vmlinux: bytes and id map as btf__relocate, or libbpf's refusal word for word (a pointer
    to a struct whose name vmlinux has twice at one size: d_partition)."""
    raw = vmlinux_path.read_bytes()
    tally = J.judge_fleet(splits, raw, [("debian-6.1.0-56", raw)], libbpf)
    assert tally.distilled == len(splits)
    assert 0 < tally.refused < tally.relocated


@pytest.mark.parametrize("libbpf", ["1.5", "1.7"])
def test_elf_read_as_libbpf(libbpf, splits, vmlinux, vmlinux_path, tmp_path):
    """An object with .BTF.base given a base: btf__parse_split relocates it, and so does load_spec."""
    c = J.chroot(libbpf)
    base_in = c.put("vmlinux.btf", vmlinux_path.read_bytes())
    names = [n for n in splits if n.endswith(".h")] + ["gen0", "gen1", "gen2", "gen3"]
    lines = [f"parse {c.put(n + '.o', distilled_object(splits[n]))} {base_in} {c.inside(c.work / (n + '.parsed'))}"
             for n in names]
    for n, line in zip(names, c.harness(lines), strict=True):
        obj = (c.work / (n + ".o")).read_bytes()
        if line != "ok":
            with pytest.raises(BtfmetaError, match=r"multiple candidates|not mapped"):
                parse_btf(obj, n, base=vmlinux, libbpf=libbpf)
            continue
        assert parse_btf(obj, n, base=vmlinux, libbpf=libbpf).to_bytes() == (c.work / (n + ".parsed")).read_bytes()


@pytest.mark.parametrize("libbpf, bpftool", [("1.5", "7.5"), ("1.7", "7.8")])
def test_dump_as_bpftool(libbpf, bpftool, splits, vmlinux_path):
    """`btf dump` of the distilled object, alone (on its .BTF.base) and with --base, raw and
    JSON, as bpftool's."""
    c = J.chroot(libbpf)
    assert c.run("bpftool", "version").stdout.decode().startswith(f"bpftool v{bpftool}")
    assert J.judge_dumps(splits, vmlinux_path, libbpf) == 4 * len(splits)


def test_cli_relocate_and_distill(splits, vmlinux_path, tmp_path):
    """`btf distill` (-o and raw), `btf relocate` (object, raw with --distilled-base, --map),
    `compile --distill`; outputs agree with the library and with each other."""
    split = splits["mynic_metadata_v2.h"]
    (tmp_path / "v2.split").write_bytes(split.to_bytes())
    assert run_cli("btf", "distill", str(tmp_path / "v2.split"), "--base", str(vmlinux_path),
                   "-o", str(tmp_path / "v2.o")).code == 0
    assert run_cli("btf", "distill", str(tmp_path / "v2.split"), "--base", str(vmlinux_path),
                   "--raw-base", str(tmp_path / "d.base"), "--raw-split", str(tmp_path / "d.split")).code == 0
    dist, new = distill(split)
    assert (tmp_path / "d.base").read_bytes() == dist.to_bytes()
    assert (tmp_path / "d.split").read_bytes() == new.to_bytes()
    assert run_cli("compile", str(REPO / "samples/mynic_metadata_v2.h"), "--base", str(vmlinux_path), "--distill",
                   "-o", str(tmp_path / "c.o")).stdout == b""
    assert (tmp_path / "c.o").read_bytes() == (tmp_path / "v2.o").read_bytes()
    r1 = run_cli("btf", "relocate", str(tmp_path / "v2.o"), "--base", str(vmlinux_path), "-o", str(tmp_path / "r1"),
                 "--map", str(tmp_path / "map.json"))
    r2 = run_cli("btf", "relocate", str(tmp_path / "d.split"), "--distilled-base", str(tmp_path / "d.base"),
                 "--base", str(vmlinux_path), "-o", str(tmp_path / "r2"))
    assert r1.code == r2.code == 0
    assert (tmp_path / "r1").read_bytes() == (tmp_path / "r2").read_bytes()
    old = run_cli("btf", "relocate", str(tmp_path / "v2.o"), "--base", str(vmlinux_path), "-o", str(tmp_path / "r3"),
                  "--libbpf", "1.1")
    assert old.code == 2 and "came with libbpf 1.5" in old.stderr and not (tmp_path / "r3").exists()
    raw, id_map = relocate_split(new, load_spec(vmlinux_path))
    assert (tmp_path / "r1").read_bytes() == raw
    assert json.loads((tmp_path / "map.json").read_text()) == {"version": 1, "id_map": id_map}
    # the relocated split is what reading the object on vmlinux gives
    assert load_spec(tmp_path / "v2.o", base=load_spec(vmlinux_path)).to_bytes() == raw


def test_cli_usage(vmlinux_path, tmp_path):
    header = str(REPO / "samples/mynic_metadata.h")
    assert run_cli("compile", header, "--distill", "-o", str(tmp_path / "x")).code == 2
    (tmp_path / "s").write_bytes(compile_headers([header], base=load_spec(vmlinux_path)).to_bytes())
    for extra in ([], ["-o", "a", "--raw-base", "b"], ["--raw-split", "c"]):
        assert run_cli("btf", "distill", str(tmp_path / "s"), "--base", str(vmlinux_path), *extra).code == 2
    res = run_cli("btf", "relocate", str(tmp_path / "s"), "--base", str(vmlinux_path), "-o", str(tmp_path / "o"))
    assert res.code == 2 and "no .BTF.base section" in res.stderr and not (tmp_path / "o").exists()
    res = run_cli("btf", "distill", str(vmlinux_path), "--base", str(vmlinux_path), "-o", str(tmp_path / "o"))
    assert res.code == 2 and "distilling needs split BTF" not in res.stderr  # vmlinux on vmlinux: not split BTF
    assert not (tmp_path / "o").exists()


def test_split_base_offsets(splits, vmlinux, shared_btf):
    """Relocated onto a base that is itself split (a module on vmlinux), the split's own
    strings continue after both string sections (libbpf 1.5 and 1.7 crash here: their
    name count table is indexed by the base's own string length)."""
    ice = load_spec(shared_btf / "modules/ice.btf", base=vmlinux)
    dist, split = distill(splits["mynic_metadata_v2.h"])
    raw, id_map = relocate_split(split, ice)
    moved = Spec.parse(raw, base=ice)
    names = [t.name for _, t in moved]
    assert names == [t.name for _, t in split]
    assert all(0 < i < vmlinux.type_cnt for i in id_map[1:dist.type_cnt])


def _object(dist: bytes, split: bytes) -> bytes:
    return btf_object({".BTF": split, ".BTF.base": dist})


def _lying_bases(vmlinux: Spec) -> dict[str, tuple[bytes, bytes]]:
    """(distilled base, split) pairs whose .BTF.base lies."""
    def pair(*base_types: T.Type, member_type: int = 1) -> tuple[bytes, bytes]:
        base = Spec()
        for t in base_types:
            base.add(t)
        base = Spec.parse(base.to_bytes())
        split = Spec(base=base)
        split.add(T.Struct(name="mymod", size=8, members=[T.Member(name="x", type=member_type, bits_offset=0)]))
        return base.to_bytes(), split.to_bytes()

    return {
        "anonymous struct": pair(T.Struct(name="", size=8)),
        "anonymous int": pair(T.Int(name="", size=4, nr_bits=32)),
        "a typedef": pair(T.Int(name="int", size=4, nr_bits=32, encoding=1), T.Typedef(name="t", type=1)),
        "an enum64": pair(T.Enum64(name="pid_type", size=8)),
        "a datasec": pair(T.Datasec(name=".data", size=0)),
        "a name the base lacks": pair(T.Struct(name="no_such_struct_in_vmlinux", size=8)),
        "a size the base lacks": pair(T.Int(name="int", size=2, nr_bits=16, encoding=1)),
        "an embedded size mismatch": pair(T.Struct(name="list_head", size=8)),
        "an encoding mismatch": pair(T.Int(name="int", size=4, nr_bits=32)),
    }


@pytest.mark.parametrize("libbpf", ["1.5", "1.7"])
def test_lying_distilled_base(libbpf, vmlinux, vmlinux_path, tmp_path):
    """A .BTF.base that lies is refused (exit 2, one line, nothing written) as libbpf refuses
    it, in its words; libbpf 1.5 misses an embedded struct whose size lies when the split
    BTF has fewer types than the distilled base (its marking loop's bound), and so does
    btfmeta with --libbpf 1.5."""
    c = J.chroot(libbpf)
    base_in = c.put("vmlinux.btf", vmlinux_path.read_bytes())
    cases = _lying_bases(vmlinux)
    lines = []
    for i, (dist, split) in enumerate(cases.values()):
        (tmp_path / f"{i}.o").write_bytes(_object(dist, split))
        lines.append(f"relocate {c.put(f'l{i}.base', dist)} {c.put(f'l{i}.split', split)} {base_in} "
                     f"{c.inside(c.work / f'l{i}.out')} {c.inside(c.work / f'l{i}.map')}")
    accepted = []
    for i, (what, line) in enumerate(zip(cases, c.harness(lines), strict=True)):
        theirs = J.result(line)
        out = tmp_path / "out"
        res = run_cli("btf", "relocate", str(tmp_path / f"{i}.o"), "--base", str(vmlinux_path), "-o", str(out),
                      "--libbpf", libbpf)
        if theirs is None:
            accepted.append(what)
            assert res.code == 0 and out.read_bytes() == (c.work / f"l{i}.out").read_bytes(), what
            out.unlink()
            continue
        dump = run_cli("btf", "dump", str(tmp_path / f"{i}.o"), "--base", str(vmlinux_path))
        for r in (res, dump):
            assert r.code == 2 and r.stdout == b"" and r.stderr.count("\n") == 1, (what, r)
            assert r.stderr.split(": ", 3)[-1].strip() == theirs.strip(), what
        assert not out.exists()
    assert accepted == (["an embedded size mismatch"] if libbpf == "1.5" else [])


def test_offsets_past_the_tables(vmlinux_path, tmp_path):
    """String offsets or type ids past what the distilled base and split hold: refused on reading."""
    base = Spec()
    base.add(T.Int(name="int", size=4, nr_bits=32, encoding=1))
    dist = base.to_bytes()
    split = Spec(base=Spec.parse(dist))
    split.add(T.Struct(name="mymod", size=4, members=[T.Member(name="x", type=1, bits_offset=0)]))
    good = bytearray(split.to_bytes())
    bad_string = bytearray(good)
    bad_string[24:28] = (len(dist) + 4096).to_bytes(4, "little")  # the struct's name offset
    bad_type = bytearray(good)
    bad_type[24 + 16:24 + 20] = (77).to_bytes(4, "little")  # the member's type id
    short_base = bytearray(dist)
    short_base[20:24] = (0).to_bytes(4, "little")  # str_len 0: the base's names point past it
    for what, d, s in (("name", dist, bad_string), ("type", dist, bad_type), ("base", bytes(short_base), good)):
        (tmp_path / "m.o").write_bytes(_object(d, bytes(s)))
        for extra in ([], ["--base", str(vmlinux_path)]):
            res = run_cli("btf", "dump", str(tmp_path / "m.o"), *extra)
            assert res.code == 2 and res.stdout == b"" and "Traceback" not in res.stderr, (what, res)


def test_never_read_on_the_wrong_base(vmlinux_path, tmp_path):
    """The issue's measurement: a module with .BTF.base dumped with --base vmlinux was read
    against vmlinux's strings (garbage names); now it is relocated, names intact."""
    split = Spec(base=load_spec(vmlinux_path))
    ids = split.base.find_by_name("unsigned int")
    split.add(T.Struct(name="mymod", size=4, members=[T.Member(name="t", type=ids[0], bits_offset=0)]))
    (tmp_path / "m.o").write_bytes(distilled_object(Spec.parse(split.to_bytes(), base=split.base)))
    res = run_cli("btf", "dump", str(tmp_path / "m.o"), "--base", str(vmlinux_path))
    assert res.code == 0
    assert res.stdout.decode().splitlines()[:2] == [
        f"[{split.base.type_cnt}] STRUCT 'mymod' size=4 vlen=1", f"\t't' type_id={ids[0]} bits_offset=0"]


@pytest.mark.parametrize("module", ["ice", "i40e", "igc", "ixgbe"])
def test_plain_split_on_the_wrong_base_is_refused(module, shared_btf):
    """Plain split BTF (no .BTF.base) given another kernel's vmlinux: its names land inside the
    wrong base's strings, which split BTF never does (btf__add_str and dedup find whole
    strings); refused, not dumped as garbage.  On its own base it reads."""
    path = str(shared_btf / "modules" / f"{module}.btf")
    res = run_cli("btf", "dump", path, "--base", str(shared_btf / "vmlinux-rt.btf"))
    assert res.code == 2 and res.stdout == b"" and "given the wrong base?" in res.stderr
    assert run_cli("btf", "dump", path, "--base", str(shared_btf / "vmlinux.btf")).code == 0
