"""``minimize``: for every kernel of the fleet fixture (and the ice module with its
vmlinux), libbpf 1.1.2 relocating against the minimized BTF produces the instructions it
produces against the full BTF; on plain vmlinux the output is byte-identical to bpftool's
``gen min_core_btf``; split BTF works where bpftool refuses it; the minimized tree is a
fleet again and gives the same verdicts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from btfmeta.btf.spec import Spec
from btfmeta.core.minimize import minimize
from btfmeta.fleet.inputs import discover, read_btf

from .conftest import run_cli, run_loader, tool
from .test_fleet_check import FLEET, SAMPLE_OBJECTS, fleet_program  # noqa: F401 - the program fixture


def _insns(core_loader: str, obj: Path, btf: bytes, tmp: Path) -> dict:
    path = tmp / "target.btf"
    path.write_bytes(btf)
    run = run_loader(core_loader, obj, path)
    return {"failed": any("failed to perform CO-RE relocations" in line for line in run.log), "insns": run.insns}


def test_minimized_btf_relocates_as_the_full_one(tmp_path, fleet_program, core_loader):  # noqa: F811
    bpftool = tool("bpftool")
    obj = tmp_path / "prog.o"
    obj.write_bytes(fleet_program)
    sizes = []
    for kernel in discover(FLEET):
        raw = read_btf(kernel.path)
        vmlinux = Spec.parse(raw)
        ours = minimize({"prog": fleet_program}, vmlinux)[0].to_bytes()
        assert _insns(core_loader, obj, ours, tmp_path) == _insns(core_loader, obj, raw, tmp_path), kernel.release
        for sample in SAMPLE_OBJECTS:  # every relocation poisoned: the minimized BTF keeps nothing
            (tmp_path / "sample.o").write_bytes(sample)
            small = minimize({"sample": sample}, vmlinux)[0].to_bytes()
            assert _insns(core_loader, tmp_path / "sample.o", small, tmp_path) == \
                _insns(core_loader, tmp_path / "sample.o", raw, tmp_path), kernel.release
        (tmp_path / "full.btf").write_bytes(raw)
        subprocess.run([bpftool, "gen", "min_core_btf", str(tmp_path / "full.btf"), str(tmp_path / "bpftool.btf"),
                        str(obj)], check=True, capture_output=True)
        theirs = (tmp_path / "bpftool.btf").read_bytes()
        assert ours == theirs, kernel.release
        sizes.append(len(ours))
        if "ice" in kernel.modules:
            split = Spec.parse(read_btf(kernel.modules["ice"]), base=vmlinux)
            small = minimize({"prog": fleet_program}, split)[0].to_bytes()
            assert _insns(core_loader, obj, small, tmp_path) == \
                _insns(core_loader, obj, split.merged().to_bytes(), tmp_path), (kernel.release, "ice")
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
