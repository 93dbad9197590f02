"""``minimize``: for every kernel of the fleet fixture (and the ice module with its
vmlinux), each toolchain's libbpf relocating against the minimized BTF produces the
instructions it produces against the full BTF; on plain vmlinux the output is
byte-identical to that toolchain's bpftool ``gen min_core_btf`` (7.1, 7.5, 7.8; a spread of
the kernels in each chroot); split BTF works where bpftool refuses it; the minimized tree is a
fleet again and gives the same verdicts."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

from btfmeta.btf.spec import Spec
from btfmeta.core.minimize import minimize
from btfmeta.fleet.inputs import discover, read_btf

from .conftest import LibbpfJudge, run_cli, tool
from .test_fleet_check import FLEET, SAMPLE_OBJECTS, SPREAD, fleet_program  # noqa: F401 - the program fixture


def same_btf(ours: bytes, theirs: bytes) -> bool:
    """Byte-identical; except that bpftool 7.8 (libbpf 1.7) writes the 32-byte header of the
    layout section with an empty layout section: then the same type and string sections."""
    if ours == theirs:
        return True
    hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from("<5I", theirs, 4)
    layout = struct.unpack_from("<2I", theirs, 24) if hdr_len == 32 else None
    ours_hdr = struct.unpack_from("<5I", ours, 4)
    return layout is not None and layout[1] == 0 and ours_hdr[0] == 24 and ours_hdr[1:] == (type_off, type_len,
                                                                                               str_off, str_len) \
        and ours[24:] == theirs[32:]


def _insns(libbpf: LibbpfJudge, obj: bytes, btf: bytes) -> dict:
    run = libbpf.run(obj, btf)
    return {"failed": any("failed to perform CO-RE relocations" in line for line in run.log), "insns": run.insns}


def test_minimized_btf_relocates_as_the_full_one(fleet_program, libbpf_judge):  # noqa: F811
    judge, profile = libbpf_judge.judge, libbpf_judge.profile
    sizes = []
    for i, kernel in enumerate(discover(FLEET)):
        if judge.chroot and i not in SPREAD:
            continue
        raw = read_btf(kernel.path)
        vmlinux = Spec.parse(raw)
        ours = minimize({"prog": fleet_program}, vmlinux, profile)[0].to_bytes()
        assert _insns(libbpf_judge, fleet_program, ours) == _insns(libbpf_judge, fleet_program, raw), kernel.release
        for sample in SAMPLE_OBJECTS:  # every relocation poisoned: the minimized BTF keeps nothing
            small = minimize({"sample": sample}, vmlinux, profile)[0].to_bytes()
            assert _insns(libbpf_judge, sample, small) == _insns(libbpf_judge, sample, raw), kernel.release
        ran = judge.run(["bpftool", "gen", "min_core_btf", "full.btf", "bpftool.btf", "prog.o"],
                        {"full.btf": raw, "prog.o": fleet_program})
        assert ran.returncode == 0, ran.stderr
        assert same_btf(ours, (ran.work / "bpftool.btf").read_bytes()), (judge.suite, kernel.release)
        sizes.append(len(ours))
        if "ice" in kernel.modules:
            split = Spec.parse(read_btf(kernel.modules["ice"]), base=vmlinux)
            small = minimize({"prog": fleet_program}, split, profile)[0].to_bytes()
            assert _insns(libbpf_judge, fleet_program, small) == \
                _insns(libbpf_judge, fleet_program, split.merged().to_bytes()), (kernel.release, "ice")
    assert max(sizes) < 1000  # a few hundred bytes instead of 4 MB


def test_bpftool_refuses_split_btf_btfmeta_does_not(tmp_path, fleet_program):  # noqa: F811
    bpftool = tool("bpftool")
    kernel = next(k for k in discover(FLEET) if "ice" in k.modules)
    (tmp_path / "vmlinux.btf").write_bytes(read_btf(kernel.path))
    (tmp_path / "ice.btf").write_bytes(read_btf(kernel.modules["ice"]))
    obj = tmp_path / "prog.o"
    obj.write_bytes(fleet_program)
    r = subprocess.run([bpftool, "gen", "min_core_btf", str(tmp_path / "ice.btf"), str(tmp_path / "b.btf"), str(obj)],
                       capture_output=True, text=True)
    assert r.returncode != 0
    r = run_cli("minimize", str(obj), "--btf", str(tmp_path / "ice.btf"), "--base", str(tmp_path / "vmlinux.btf"),
                "-o", str(tmp_path / "ours.btf"), "--report", str(tmp_path / "report.json"))
    assert r.code == 0, r.stderr
    names = {t["name"] for t in json.loads((tmp_path / "report.json").read_text())["types"]}
    assert {"ice_rx_ring", "net_device", "sk_buff"} <= names


def test_minimized_fleet_is_a_fleet_with_the_same_verdicts(tmp_path, fleet_program):  # noqa: F811
    obj = tmp_path / "prog.o"
    obj.write_bytes(fleet_program)
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"min{jobs}"
        r = run_cli("minimize", str(obj), "--fleet", str(FLEET), "--modules", "ice", "-j", jobs, "-o", str(out))
        assert r.code == 0, r.stderr
        outs.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    assert outs[0] == outs[1]  # deterministic, whatever runs it
    assert len([p for p in outs[0] if p.name.endswith(".btf.tar.xz")]) == len(discover(FLEET))

    def verdicts(where: Path) -> dict:
        doc = json.loads(run_cli("check", str(obj), "--fleet", str(where), "--format", "json").stdout)
        return {(k["release"], x["target"], x["program"]): x["verdict"] for k in doc["kernels"] for x in k["results"]}

    assert verdicts(tmp_path / "min1") == verdicts(FLEET)
