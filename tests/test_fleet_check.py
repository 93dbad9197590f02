"""``check --fleet`` over the fleet fixture (48 real Debian kernels and their NIC modules):
the verdicts come from relocations that libbpf makes too (each toolchain's, with the
matching --libbpf profile; a spread of the kernels in each chroot) -- for each kernel, and each
module as one BTF with its vmlinux, libbpf's relocation error or success and its poisoned
instructions equal btfmeta's."""

from __future__ import annotations

import json
import struct
import subprocess

import pytest

from btfmeta.btf.spec import Spec
from btfmeta.core.driver import RelocationError
from btfmeta.fleet.check import check_fleet, groups
from btfmeta.fleet.inputs import discover, read_btf
from btfmeta.relocate import relocate_object

from .conftest import REPO, LibbpfJudge, need, run_cli
from .test_relocate_differential import INCLUDES

FLEET = REPO.parent / "shared" / "btf" / "fleet"
SAMPLE_OBJECTS = [(REPO / "samples" / n).read_bytes() for n in ("xdp_mynic.bpf.o", "xdp_mynic_unguarded.bpf.o")]

# Fields that drift across the fleet: net_device's in 6.1 only (priv_flags, wol_enabled),
# in 6.12 only (devlink_port); members that move between generic and PREEMPT_RT kernels
# (irq); ice_rx_ring's skb (6.1) and ring_stats (6.12) in the ice module.
PROGRAM = r"""
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct net_device { int ifindex; unsigned long long priv_flags; int irq; void *devlink_port;
                    unsigned char wol_enabled:1; } __attribute__((preserve_access_index));
struct sk_buff { unsigned int len; __u32 hash; __u16 protocol; } __attribute__((preserve_access_index));
struct ice_rx_ring { __u16 count; __u16 q_index; void *skb; void *ring_stats; struct net_device *netdev; }
    __attribute__((preserve_access_index));
struct nope_never_there { int x; } __attribute__((preserve_access_index));

#define READ(p, f) ({ typeof((p)->f) __v = 0; bpf_probe_read_kernel(&__v, sizeof(__v), &(p)->f); __v; })

SEC("xdp") int moved(struct xdp_md *ctx) { struct net_device *d = (void *)(long)ctx->data; return READ(d, irq); }
SEC("xdp") int only_61(struct xdp_md *ctx) { struct net_device *d = (void *)(long)ctx->data;
    return (int)READ(d, priv_flags); }
SEC("xdp") int only_61_guarded(struct xdp_md *ctx) { struct net_device *d = (void *)(long)ctx->data;
    if (!bpf_core_field_exists(d->wol_enabled)) return 7; return BPF_CORE_READ_BITFIELD_PROBED(d, wol_enabled); }
SEC("xdp") int only_612_guarded(struct xdp_md *ctx) { struct net_device *d = (void *)(long)ctx->data;
    if (!bpf_core_field_exists(d->devlink_port)) return 9; return READ(d, devlink_port) != 0; }
SEC("xdp") int skb(struct xdp_md *ctx) { struct sk_buff *s = (void *)(long)ctx->data;
    return READ(s, len) + READ(s, hash) + READ(s, protocol); }
SEC("xdp") int ice(struct xdp_md *ctx) { struct ice_rx_ring *r = (void *)(long)ctx->data;
    if (bpf_core_field_exists(r->skb)) return READ(r, count); return READ(r, q_index) + (READ(r, ring_stats) != 0); }
SEC("xdp") int ice_netdev(struct xdp_md *ctx) { struct ice_rx_ring *r = (void *)(long)ctx->data;
    struct net_device *d = READ(r, netdev); return READ(d, ifindex); }
SEC("xdp") int type_checks(struct xdp_md *ctx) { return bpf_core_type_exists(struct nope_never_there) * 10
    + bpf_core_type_exists(struct ice_rx_ring) + bpf_core_field_size(struct sk_buff, hash); }
char LICENSE[] SEC("license") = "GPL";
"""


@pytest.fixture(scope="module")
def fleet_program(tmp_path_factory, clang) -> bytes:
    need((FLEET / "MANIFEST.tsv").is_file(), f"the fleet fixture at {FLEET}")
    d = tmp_path_factory.mktemp("fleet-prog")
    (d / "prog.c").write_text(PROGRAM)
    subprocess.run([clang, "-g", "-O2", "-target", "bpf", *INCLUDES, "-c", str(d / "prog.c"), "-o", str(d / "prog.o")],
                   check=True)
    return (d / "prog.o").read_bytes()


def test_discover_matches_the_manifest():
    need((FLEET / "MANIFEST.tsv").is_file(), f"the fleet fixture at {FLEET}")
    rows = [line.split("\t") for line in (FLEET / "MANIFEST.tsv").read_text().splitlines()[1:]]
    kernels = discover(FLEET)
    assert sorted(k.release for k in kernels) == sorted(r[2] for r in rows if r[1] == "vmlinux")
    modules = {(k.release, m) for k in kernels for m in k.modules}
    assert modules == {(r[2], r[0].rsplit("/", 1)[1].split(".")[0]) for r in rows if r[1] == "module"}


def merged_raw(base: bytes, split: bytes) -> bytes:
    """Split BTF and its base as one raw BTF, for libbpf (whose btf_custom_path takes one
    file): the type and string sections concatenated -- split ids and string offsets
    already continue the base's."""
    def sections(raw: bytes) -> tuple[bytes, bytes]:
        hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from("<5I", raw, 4)
        body = raw[hdr_len:]
        return body[type_off:type_off + type_len], body[str_off:str_off + str_len]
    (bt, bs), (st, ss) = sections(base), sections(split)
    return struct.pack("<HBB5I", 0xEB9F, 1, 0, 24, 0, len(bt) + len(st), len(bt) + len(st), len(bs) + len(ss)) \
        + bt + st + bs + ss


def relocates_as_libbpf(libbpf: LibbpfJudge, obj: bytes, btf: Spec, raw: bytes) -> bool:
    """libbpf (``libbpf``'s, with its profile) and btfmeta relocate ``obj`` against ``btf`` (given to libbpf as ``raw``)
    alike: both refuse, or libbpf's instructions (subprograms appended, poisoned ones
    included) are exactly those plain libbpf loads from btfmeta's object.  Returns whether
    it was relocated."""
    theirs = libbpf.run(obj, raw)
    refused = any("failed to perform CO-RE relocations" in line for line in theirs.log)
    try:
        ours = relocate_object(obj, btf, libbpf=libbpf.profile)
    except RelocationError:
        assert refused, "btfmeta refused what libbpf relocated"
        return False
    assert not refused, "libbpf refused what btfmeta relocated"
    plain = libbpf.run(ours.data, None)
    assert plain.insns == theirs.insns and theirs.insns
    return True


# the kernels a chroot's libbpf judges (CI time): 6.1 and 6.12; generic, cloud, rt
SPREAD = (0, 2, 10, 23, 31, 35, 44, 47)


def test_fleet_relocations_agree_with_libbpf(fleet_program, libbpf_judge):
    kernels = discover(FLEET)
    verdicts = set()
    judged = [k for i, k in enumerate(kernels) if not libbpf_judge.judge.chroot or i in SPREAD]
    for kernel in judged:
        raw = read_btf(kernel.path)
        vmlinux = Spec.parse(raw, path=str(kernel.path), index_cache=False)
        for data in (fleet_program, *SAMPLE_OBJECTS):
            relocates_as_libbpf(libbpf_judge, data, vmlinux, raw)
        for path in kernel.modules.values():  # every module, as split BTF on its vmlinux
            module = read_btf(path)
            split = Spec.parse(module, base=vmlinux, path=str(path))
            relocates_as_libbpf(libbpf_judge, fleet_program, split, merged_raw(raw, module))
    results = check_fleet(kernels, {"prog": fleet_program}, modules=["ice"], jobs=1, libbpf=libbpf_judge.profile)
    for r in results:
        for progs in r.verdicts.values():
            verdicts.update(progs.values())
    assert {"ok", "guarded", "refused"} <= verdicts  # the fleet really drifts under this program
    assert 1 < len(groups(results)) < len(kernels)


def test_check_fleet_command(tmp_path, fleet_program):
    """Text, JSON and CSV agree; -j 2 gives the same as -j 1; exit 1 since something is refused."""
    obj = tmp_path / "prog.o"
    obj.write_bytes(fleet_program)
    runs = {}
    for fmt, jobs in (("json", "1"), ("json", "2"), ("csv", "1"), ("text", "1")):
        r = run_cli("check", str(obj), str(REPO / "samples" / "xdp_mynic.bpf.o"), "--fleet", str(FLEET),
                    "--modules", "ice", "-j", jobs, "--format", fmt)
        assert r.code == 1, r.stderr
        runs[(fmt, jobs)] = r.stdout
    assert runs[("json", "1")] == runs[("json", "2")]
    doc = json.loads(runs[("json", "1")])
    assert doc["version"] == 1 and len(doc["kernels"]) == len(discover(FLEET))
    rows = runs[("csv", "1")].decode().splitlines()
    assert rows[0] == "kernel,object,target,program,verdict,reasons"
    assert len(rows) - 1 == sum(len(k["results"]) for k in doc["kernels"])
    assert b"kernels:" in runs[("text", "1")]


def test_a_corrupt_kernel_is_that_kernels_error(tmp_path, fleet_program):
    need((FLEET / "MANIFEST.tsv").is_file(), f"the fleet fixture at {FLEET}")
    good = sorted((FLEET / "debian/12/x86_64").glob("6.1.0-47-amd64.btf.tar.xz"))[0]
    (tmp_path / good.name).write_bytes(good.read_bytes())
    (tmp_path / "6.1.0-99-amd64.btf.tar.xz").write_bytes(good.read_bytes()[:5000])  # truncated
    (tmp_path / "list.txt").write_text("# two kernels\n6.1.0-47-amd64.btf.tar.xz\n6.1.0-99-amd64.btf.tar.xz\n")
    obj = tmp_path / "prog.o"
    obj.write_bytes(fleet_program)
    for where in (tmp_path, tmp_path / "list.txt"):
        r = run_cli("check", str(obj), "--fleet", str(where), "--format", "json")
        assert r.code == 1, r.stderr
        doc = json.loads(r.stdout)
        (bad,) = [k for k in doc["kernels"] if k["error"]]
        assert bad["release"] == "6.1.0-99-amd64" and "corrupt archive" in bad["error"]
        assert [k["release"] for k in doc["kernels"] if not k["error"]] == ["6.1.0-47-amd64"]

