"""relocate --module / --nic: the target BTF the running kernel publishes in sysfs."""

from __future__ import annotations

import json
from pathlib import Path

from btfmeta.btf.kernel import nic_driver_module

from .conftest import REPO, need, run_cli

SAMPLE = REPO / "samples" / "xdp_mynic.bpf.o"
SYSFS = Path("/sys/kernel/btf")


def test_nic_without_a_device_is_refused(tmp_path):
    out = tmp_path / "o.o"
    res = run_cli("relocate", str(SAMPLE), "--nic", "lo", "-o", str(out))
    assert res.code == 2 and "has no device driver" in res.stderr and not out.exists()
    res = run_cli("relocate", str(SAMPLE), "--nic", "no-such-if0", "-o", str(out))
    assert res.code == 2 and "no network interface" in res.stderr


def test_module_and_nic_targets(tmp_path):
    need((SYSFS / "vmlinux").is_file(), "the kernel publishes no BTF in /sys/kernel/btf")
    nics = [p.name for p in Path("/sys/class/net").iterdir() if (p / "device" / "driver").exists()]
    need(bool(nics), "no network interface with a device driver")
    out, report = tmp_path / "o.o", tmp_path / "r.json"
    res = run_cli("relocate", str(SAMPLE), "--nic", nics[0], "-o", str(out), "--report", str(report))
    assert res.code == 0, res.stderr
    module = nic_driver_module(nics[0])
    doc = json.loads(report.read_text())
    assert doc["target"] == str(SYSFS / (module or "vmlinux"))
    # the kernel has no mynic metadata: every read of it is poisoned, type_size becomes 0
    assert {r["result"] for r in doc["relocations"]} == {"patched", "poisoned"}
    modules = [p.name for p in SYSFS.iterdir() if p.name != "vmlinux"]
    if modules:
        res = run_cli("relocate", str(SAMPLE), "--module", modules[0], "-o", str(out))
        assert res.code == 0, res.stderr
