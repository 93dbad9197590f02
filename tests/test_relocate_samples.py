"""The design's scenario: the sample XDP program, compiled against its own view of
`struct mynic_metadata`, relocated against the v1 and v2 layouts (split BTF on vmlinux),
loaded by plain libbpf and run in the kernel on real metadata bytes."""

from __future__ import annotations

import json
import struct

import pytest

from btfmeta import Kind, load_spec

from .conftest import REPO, run_cli, run_loader

SAMPLES = REPO / "samples"
ABSENT = 0xFFFF
HASH, VLAN, PROTO, SADDR, CSUM, MARK = 0xDEADBEEF, 0x123, 0x8100, 0x0A000001, 2, 77


@pytest.fixture(scope="module")
def layouts(shared_btf, tmp_path_factory):
    d = tmp_path_factory.mktemp("layouts")
    base = shared_btf / "vmlinux.btf"
    out = {}
    for v, header in [("v1", "mynic_metadata.h"), ("v2", "mynic_metadata_v2.h")]:
        path = d / f"{v}.btf"
        assert run_cli("compile", str(SAMPLES / header), "--base", str(base), "-o", str(path)).code == 0
        out[v] = path
    return base, out


def metadata(btf, base, struct_name: str) -> bytes:
    """Metadata bytes as the NIC would write them for this layout (offsets from its BTF)."""
    spec = load_spec(btf, base=load_spec(base))
    t = spec.type_by_id(spec.find(struct_name, Kind.STRUCT))
    m = {x.name: x for x in t.members}
    buf = bytearray(t.size + (-t.size) % 4)
    hash_size = spec.type_by_id(spec.type_by_id(m["hash"].type).type).size
    struct.pack_into("<Q" if hash_size == 8 else "<I", buf, m["hash"].bits_offset // 8, HASH)
    struct.pack_into("<H", buf, m["vlan_tci"].bits_offset // 8, VLAN)
    struct.pack_into("<H", buf, m["vlan_proto"].bits_offset // 8, PROTO)
    struct.pack_into("<I", buf, m["rx"].bits_offset // 8, SADDR)
    if "csum_level" in m:
        bit = m["csum_level"].bits_offset
        buf[bit // 8] |= CSUM << (bit % 8)
    if "flow_mark" in m:
        struct.pack_into("<I", buf, m["flow_mark"].bits_offset // 8, MARK)
    return bytes(buf)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_sample_reads_the_right_fields(tmp_path, layouts, core_loader, version):
    base, btfs = layouts
    out = tmp_path / "prog.o"
    res = run_cli("relocate", str(SAMPLES / "xdp_mynic.bpf.o"), "--btf", str(btfs[version]), "--base", str(base),
                  "-o", str(out))
    assert res.code == 0, res.stderr
    name = "mynic_metadata" if version == "v1" else "mynic_metadata___v2"
    meta = metadata(btfs[version], base, name)
    run = run_loader(core_loader, out, None, [meta])
    assert run.loaded
    assert not any("CO-RE" in line for line in run.log)
    got = {line.split()[1]: int(line.split()[2]) for line in run.runs}
    assert got == {
        "read_hash": HASH, "read_vlan": VLAN, "read_proto": PROTO, "read_saddr": SADDR,
        # csum_level exists only in v1, flow_mark only in v2: bpf_core_field_exists says so
        "read_csum_level": CSUM if version == "v1" else ABSENT,
        "read_flow_mark": ABSENT if version == "v1" else MARK,
    }


def test_unguarded_read_of_a_dropped_field_is_refused(tmp_path, layouts, core_loader):
    base, btfs = layouts
    out = tmp_path / "ung.o"
    report = tmp_path / "report.json"
    res = run_cli("relocate", str(SAMPLES / "xdp_mynic_unguarded.bpf.o"), "--btf", str(btfs["v2"]),
                  "--base", str(base), "-o", str(out), "--report", str(report))
    assert res.code == 0  # poisoning is not a refusal to relocate: libbpf would load it the same way
    doc = json.loads(report.read_text())
    poisoned = [r for r in doc["relocations"] if r["result"] == "poisoned"]
    assert poisoned and all("csum_level" in r["local_spec"] for r in poisoned)
    assert "mynic_metadata___v2" in poisoned[0]["reason"] and "does not match" in poisoned[0]["reason"]
    run = run_loader(core_loader, out, None, [bytes(72)])
    assert not run.loaded  # the verifier refuses the reachable poisoned instruction
    assert "invalid func unknown#195896080" in run.stderr
    # against v1 the same program loads and reads the field
    ok = tmp_path / "ok.o"
    assert run_cli("relocate", str(SAMPLES / "xdp_mynic_unguarded.bpf.o"), "--btf", str(btfs["v1"]),
                   "--base", str(base), "-o", str(ok)).code == 0
    runs = run_loader(core_loader, ok, None, [metadata(btfs["v1"], base, "mynic_metadata")]).runs
    assert runs == [f"run read_csum_level_unguarded {CSUM}"]
