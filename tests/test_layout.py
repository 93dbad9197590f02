"""layout: the text equals `pahole -F btf -C TYPE` of each judge toolchain (pahole 1.24, 1.30,
1.32, with the matching --pahole profile) for the sample structs and named vmlinux and NIC
driver structs, and pahole 1.24's for hundreds of random ones (every struct of every fixture
kernel: tests/test_every_struct.py); the JSON carries the numbers pahole prints (size,
members, holes, bit holes, padding, bit padding, sums). Offsets are checked against clang by
test_resolve.py."""

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
from .view_judges import NAMES, Toolchain, toolchain

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
    doc = json.loads(run_cli("layout", str(obj), "struct mynic_metadata", "--format", "json").stdout)
    (t,) = doc["types"]
    assert doc["version"] == 1 and t["holes"] == [{"offset": 18, "size": 2}, {"offset": 52, "size": 4}]
    rx = next(m for m in t["members"] if m["name"] == "rx")
    assert [m["name"] for m in rx["members"]] == ["ipv4", "ipv6", "arp"]  # inline union expanded
    assert rx["members"][0]["members"][1] == {"name": "daddr", "type": "__be32", "offset": 24, "size": 4,
                                              "bit_offset": 192, "bit_size": 0, "cacheline": 0, "members": []}
    assert run_cli("layout", str(obj), "nosuch", "--format", "json").code == 2


# Structs whose pahole 1.24 text btfmeta does not reproduce yet, and why (seen in random samples).
NOT_YET = {
    "compat_siginfo": "pahole's column after `} __attribute__((__packed__)) name;` of inline types",
    "ec_params_motion_sense": "same column quirk after a packed inline struct",
    "ec_response_motion_sense": "same column quirk after a packed inline struct",
    "wireless_dev": "aligned(2) inferred on an inline struct, with the same column quirk",
    "bio_integrity_payload": "pahole's packed inference differs (not __packed__ here)",
    "compat_fs_quota_stat": "pahole's packed inference differs",
    "blkdev_dio": "struct-level alignment inference differs",
    "taskstats": "struct-level alignment inference differs",
    "orc_entry": "bit padding of packed bit-fields",
    "usb_host_endpoint": "pahole's packed inference differs (btfmeta says packed)",
    "filename": "const flexible array spelling (pahole drops GCC's duplicated const here only)",
    "vm_fault": "columns inside a const inline struct",
}


@pytest.mark.parametrize("tc", NAMES)
@pytest.mark.parametrize("where, name", [
    ("vmlinux", "sk_buff"), ("vmlinux", "xdp_buff"), ("vmlinux", "net_device"), ("vmlinux", "IO_APIC_reg_02"),
    ("vmlinux", "xdp_rxq_info"), ("vmlinux", "page"), ("vmlinux", "task_struct"), ("vmlinux", "dev_pm_info"),
    ("vmlinux", "kset_uevent_ops"), ("vmlinux", "netlink_policy_dump_state"), ("ice", "ice_32b_rx_flex_desc"),
    ("ice", "ice_rx_ring"), ("mlx5_core", "mlx5_cqe64"), ("mlx5_core", "mlx5e_rq"), ("i40e", "i40e_ring"),
    ("igc", "igc_adapter"),
])
def test_named_types(shared_btf, where, name, tc):
    judge = toolchain(tc)
    base_path = shared_btf / "vmlinux.btf"
    if where == "vmlinux":
        path, base = base_path, None
    else:
        path, base = shared_btf / "modules" / f"{where}.btf", base_path
    res = run_cli("layout", str(path), name, *(["--base", str(base)] if base else []), "--pahole", judge.pahole)
    assert res.code == 0, res.stderr
    assert res.stdout.decode() == pahole_text(path, [name], base, judge)[name]


def pahole_text(path, names, base=None, judge: Toolchain | None = None) -> dict[str, str]:
    """`pahole -F btf -C NAMES`, one text per type (the host's pahole unless ``judge``)."""
    argv = ["pahole", "-F", "btf", "-C", ",".join(names)] + (["--btf_base", "b.btf"] if base else [])
    files = {"f.btf": path, **({"b.btf": base} if base else {})}
    out = (judge or toolchain("host")).run([*argv, "f.btf"], files).decode()
    blocks: dict[str, list[str]] = {}
    current = None
    for line in out.splitlines(keepends=True):
        m = re.match(r"^(?:struct|union) (\S+) \{", line)
        if m:
            current = blocks.setdefault(m.group(1), [])
        if current is not None:
            current.append(line)
    return {k: "".join(v) for k, v in blocks.items()}


def text_mismatches(spec, path, names, base=None) -> set[str]:
    from btfmeta.profiles.pahole import PROFILES
    from btfmeta.render.pahole import Pahole

    theirs = pahole_text(path, names, base)
    view = Pahole(spec, profile=PROFILES["1.24"])
    return {n for n in names if view.render(spec.find(n, T.Kind.STRUCT)) != theirs[n]}


@pytest.mark.parametrize("seed", [7, 1, 2])
def test_text_equals_pahole_on_vmlinux(shared_btf, seed):
    spec = load_spec(shared_btf / "vmlinux.btf")
    names = unique_structs(spec)
    random.Random(seed).shuffle(names)
    bad = text_mismatches(spec, shared_btf / "vmlinux.btf", names[:250])
    assert bad <= set(NOT_YET), sorted(bad - set(NOT_YET))
    assert len(bad) <= 4


@pytest.mark.parametrize("module", ["ice", "mlx5_core", "i40e", "virtio_net", "igc"])
def test_text_equals_pahole_on_modules(shared_btf, module):
    base = load_spec(shared_btf / "vmlinux.btf")
    spec = load_spec(shared_btf / "modules" / f"{module}.btf", base=base)
    names = [n for n in unique_structs(spec) if not base.find_by_name(n)]
    random.Random(module).shuffle(names)
    bad = text_mismatches(spec, shared_btf / "modules" / f"{module}.btf", names[:40], shared_btf / "vmlinux.btf")
    assert bad <= set(NOT_YET), sorted(bad - set(NOT_YET))


def test_text_of_samples_and_cli():
    obj = REPO / "samples" / "btf_objects.bpf.o"
    names = ["mynic_metadata", "xdp_rx_meta", "in6_addr", "xdp_rx_meta_hash", "xdp_rx_meta_vlan"]
    assert not text_mismatches(load_spec(obj), obj, names)
    for tc in NAMES:
        judge = toolchain(tc)
        res = run_cli("layout", str(obj), "mynic_metadata", "--pahole", judge.pahole)
        assert res.code == 0 and res.stdout.decode() == pahole_text(obj, ["mynic_metadata"], None, judge)[
            "mynic_metadata"], tc


def test_every_struct_of_the_compiled_samples(tmp_path):
    """All structs of the sample headers as btfmeta compiles them. pahole 1.24 is wrong on raw
    BTF that has no `long`: it sizes pointers as 0 (and then infers padding and aligned(64));
    those structs are compared on clang's object instead, where pahole gets the size from ELF."""
    from btfmeta.profiles.pahole import PROFILES
    from btfmeta.render.pahole import Pahole

    for header in ["mynic_metadata.h", "mynic_metadata_v2.h", "xdp_rx_meta.h", "mynic_metadata_minimal.h"]:
        btf = tmp_path / f"{header}.btf"
        assert run_cli("compile", str(REPO / "samples" / header), "-o", str(btf)).code == 0
        spec = load_spec(btf)
        names = [t.name for _, t in spec if isinstance(t, T.Composite) and t.name]
        theirs = pahole_text(btf, names)
        for name in names:
            tid = spec.find(name)
            has_pointer = any(isinstance(spec.type_by_id(m.type), T.Ptr) for m in spec.type_by_id(tid).members)
            if has_pointer:
                assert "     0 */" in theirs[name]  # pahole's zero-sized pointer, documented above
            else:
                assert Pahole(spec, profile=PROFILES["1.24"]).render(tid) == theirs[name], (header, name)
