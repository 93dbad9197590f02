"""layout --format json: the numbers pahole prints for a struct (size, members, holes and
their sum, bit holes, padding, bit padding, sum of members) for 300 vmlinux structs, driver
structs of the NIC modules and the samples; offsets are checked against clang by
test_resolve.py. pahole's own text layout is not reproduced yet (see README)."""

from __future__ import annotations

import json
import random
import re
import subprocess

import pytest

from btfmeta import load_spec
from btfmeta.btf import types as T
from btfmeta.layout import layout

from .conftest import REPO, run_cli, tool

SUMMARY = re.compile(r"(size|members|sum members|holes|sum holes|bit holes|sum bit holes|padding|bit_padding): (\d+)")
KEYS = ("size", "members", "sum members", "holes", "sum holes", "bit holes", "sum bit holes", "padding",
        "bit_padding")


def pahole_summaries(path, names, base=None) -> dict[str, dict[str, int]]:
    cmd = [tool("pahole"), "-F", "btf", "-C", ",".join(names)] + (["--btf_base", str(base)] if base else [])
    out = subprocess.run([*cmd, str(path)], capture_output=True, text=True, check=True).stdout
    result: dict[str, dict[str, int]] = {}
    current = None
    for line in out.splitlines():
        m = re.match(r"^(?:struct|union) (\S+) \{", line)
        if m:
            current = result.setdefault(m.group(1), {})
            continue
        text = line.strip()
        if current is not None and text.startswith(("/* size", "/* sum", "/* padding", "/* bit_padding")):
            for k, v in SUMMARY.findall(text):
                current.setdefault(k, int(v))
    return {name: {k: s.get(k, 0) for k in KEYS} for name, s in result.items()}


def ours(t: dict) -> dict[str, int]:
    return {"size": t["size"], "members": len(t["members"]), "sum members": t["sum_members"],
            "holes": len(t["holes"]), "sum holes": sum(h["size"] for h in t["holes"]),
            "bit holes": len(t["bit_holes"]), "sum bit holes": sum(h["bits"] for h in t["bit_holes"]),
            "padding": t["padding"], "bit_padding": t["bit_padding"]}


def compare(spec, path, names, base=None) -> int:
    theirs = pahole_summaries(path, names, base)
    doc = layout(spec, names)
    checked = 0
    for t in doc["types"]:
        expected = dict(theirs[t["name"]])
        if not expected["sum members"] and not expected["holes"]:
            expected["sum members"] = ours(t)["sum members"]  # pahole prints it only with holes
        assert ours(t) == expected, t["name"]
        checked += 1
    return checked


def unique_structs(spec) -> list[str]:
    """Structs with a unique name (pahole prints no summary for unions)."""
    counts: dict[str, int] = {}
    for _, t in spec:
        if isinstance(t, T.Struct) and t.name:
            counts[t.name] = counts.get(t.name, 0) + 1
    return sorted(n for n, c in counts.items() if c == 1)


def test_vmlinux_structs_match_pahole(shared_btf):
    spec = load_spec(shared_btf / "vmlinux.btf")
    names = unique_structs(spec)
    random.Random(7).shuffle(names)
    assert compare(spec, shared_btf / "vmlinux.btf", names[:300]) == 300


@pytest.mark.parametrize("module", ["ice", "mlx5_core", "i40e", "virtio_net"])
def test_module_structs_match_pahole(shared_btf, module):
    base = load_spec(shared_btf / "vmlinux.btf")
    spec = load_spec(shared_btf / "modules" / f"{module}.btf", base=base)
    names = [n for n in unique_structs(spec) if not base.find_by_name(n)]
    random.Random(module).shuffle(names)
    assert compare(spec, shared_btf / "modules" / f"{module}.btf", names[:40], shared_btf / "vmlinux.btf") > 10


def test_samples_and_cli(tmp_path):
    obj = REPO / "samples" / "btf_objects.bpf.o"
    spec = load_spec(obj)
    assert compare(spec, obj, ["mynic_metadata", "xdp_rx_meta", "in6_addr"]) == 3
    doc = json.loads(run_cli("layout", str(obj), "struct mynic_metadata").stdout)
    (t,) = doc["types"]
    assert doc["version"] == 1 and t["holes"] == [{"offset": 18, "size": 2}, {"offset": 52, "size": 4}]
    rx = next(m for m in t["members"] if m["name"] == "rx")
    assert [m["name"] for m in rx["members"]] == ["ipv4", "ipv6", "arp"]  # inline union expanded
    assert rx["members"][0]["members"][1] == {"name": "daddr", "type": "__be32", "offset": 24, "size": 4,
                                              "bit_offset": 192, "bit_size": 0, "cacheline": 0, "members": []}
    assert run_cli("layout", str(obj), "nosuch").code == 2
