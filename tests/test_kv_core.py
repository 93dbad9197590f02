"""Key numbers delivered by CO-RE (issue 14, acceptance 3): one writer and one reader
object, compiled against deployment A's view of the key enum, relocated by btfmeta against
A's and B's registry BTF (the same names, other numbers; B lacks a key): each agrees
instruction for instruction with libbpf relocating it against the same BTF, and in the
kernel's test runs the writer's store decodes by the deployment's registry to what it was
given, and the reader reads a store encoded by that registry.  `check` refuses the writer
that sets the missing key unguarded, as libbpf's load fails.

The writer grows data_meta with bpf_xdp_adjust_meta; a kernel that refuses that helper to
XDP programs (this machine's 6.18.44 does) is probed once and those cases skip with its
words, while the -DSUPPLIED_META twin, writing into the metadata area the test run
supplies, checks the same properties there."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from btfmeta import load_spec
from btfmeta.core.object import relocate_object
from btfmeta.kv import load

from . import kvharness as kh
from .conftest import REPO, kernel_refusal, need_kernel, run_cli, run_loader

SAMPLES = REPO / "samples"
FACTS = struct.Struct("<IiQII")  # struct frame_facts
READ = struct.Struct("<iIiiQiiiI")  # struct what_was_read
ADJUST_META_PROBE = """
static long (*bpf_xdp_adjust_meta)(void *ctx, int delta) = (void *)54;
__attribute__((section("xdp"), used)) int probe(void *ctx)
{
	return bpf_xdp_adjust_meta(ctx, -8) ? 0 : 2;
}
char _license[] __attribute__((section("license"), used)) = "GPL";
"""
# the writer as built: growing data_meta itself, or writing into the area the test run supplies
WRITERS = {"adjust_meta": (), "supplied_meta": ("-DSUPPLIED_META",)}


@pytest.fixture(scope="session")
def adjust_meta_refusal(tmp_path_factory, clang, core_loader) -> str | None:
    """The running kernel's words refusing bpf_xdp_adjust_meta in an XDP program, or None."""
    return kernel_refusal(clang, core_loader, ADJUST_META_PROBE, tmp_path_factory.mktemp("probe") / "probe.o")


def _writer(deployments: dict[str, Path], variant: str, refusal: str | None, name: str = "writer") -> Path:
    """The writer object of VARIANT, skipping with the kernel's words where it refuses it."""
    if variant == "adjust_meta":
        need_kernel(refusal, "bpf_xdp_adjust_meta in XDP programs")
    return deployments[f"{name}-{variant}"]


@pytest.fixture(scope="module")
def deployments(tmp_path_factory, clang) -> dict[str, Path]:
    """kv compile of both registries, and the sample programs built against A's header."""
    root = tmp_path_factory.mktemp("kvcore")
    out = {}
    for d in ("a", "b"):
        out[d] = kh.generate(root / d, (SAMPLES / "kv" / f"deploy_{d}.toml").read_text())
    builds = [("reader", "kv_reader", ())]
    for variant, switch in WRITERS.items():
        builds += [(f"writer-{variant}", "xdp_kv_writer", switch),
                   (f"unguarded-{variant}", "xdp_kv_writer", ("-DUNGUARDED", *switch))]
    for name, src, extra in builds:
        out[name] = kh.build_bpf(clang, out["a"], root / f"{name}.o", source=SAMPLES / f"{src}.bpf.c", extra=extra)
    return out


def _relocated(obj: Path, btf: Path, tmp: Path, core_loader: str, refusal: str | None = None) -> Path:
    """btfmeta's relocation of ``obj``, after checking it is libbpf's, instruction for instruction;
    both load, or fail with exactly the kernel's REFUSAL of a facility the program uses."""
    ours = tmp / f"{obj.stem}.{btf.parent.name}.o"
    ours.write_bytes(relocate_object(obj.read_bytes(), load_spec(btf)).data)
    theirs = run_loader(core_loader, obj, btf)
    plain = run_loader(core_loader, ours, None)
    for run in (theirs, plain):
        assert run.loaded or (refusal is not None and refusal in run.stderr), run.stderr[-3000:]
    assert plain.insns == theirs.insns
    return ours


@pytest.mark.parametrize("variant", list(WRITERS))
@pytest.mark.parametrize("deployment", ["a", "b"])
def test_one_binary_writes_and_reads_each_deployments_keys(deployment, variant, deployments, tmp_path, core_loader,
                                                           kv_runner, adjust_meta_refusal):
    registry = load(deployments[deployment] / "registry.toml")
    btf = deployments[deployment] / "mymeta.btf"
    writer = _relocated(_writer(deployments, variant, adjust_meta_refusal), btf, tmp_path, core_loader)
    reader = _relocated(deployments["reader"], btf, tmp_path, core_loader)
    facts = {"rx_hash": 0x9E3779B9, "mark": -7, "rx_timestamp": 1_700_000_000_123_456_789, "tenant": 42}
    packet = FACTS.pack(facts["rx_hash"], facts["mark"], facts["rx_timestamp"], facts["tenant"], 1).ljust(64, b"\0")
    supplied = bytes([0xA5]) * registry.capacity if variant == "supplied_meta" else b""  # the writer empties it
    (meta, _), = kh.run_raw([kv_runner, str(writer), "kv_writer", "-", "4"], [f"{supplied.hex()} {packet.hex()}\n"])
    want = {**facts, "vlan_present": True}
    if deployment == "b":
        del want["tenant"]  # B has no such key: the guarded set was dead code
    assert registry.decode(meta) == want
    numbers = {k.name: k.number for k in registry.keys}
    assert {n for n in range(64) if registry.store(meta).is_set(n)} == {numbers[name] for name in want}

    store = registry.encode({"rx_hash": 7, "rx_timestamp": 1 << 40, "mark": -1})
    (_, packet), = kh.run_raw([kv_runner, str(reader), "kv_reader_xdp", "-", "4"],
                              [f"{store.hex()} {bytes(64).hex()}\n"])
    got = READ.unpack(packet[:READ.size])
    assert got == (0, 7, 0, 0, 1 << 40, -1, 0, -2, 0)  # tenant: not set in A, not a key in B


@pytest.mark.parametrize("variant", list(WRITERS))
def test_check_refuses_an_unguarded_missing_key(variant, deployments, core_loader, adjust_meta_refusal):
    a, b = (str(deployments[d] / "mymeta.btf") for d in "ab")
    for name, verdicts, code in (("writer", ["ok", "guarded"], 0), ("unguarded", ["ok", "refused"], 1)):
        r = run_cli("check", str(deployments[f"{name}-{variant}"]), "--btf", a, "--btf", b)
        assert r.code == code, r.stderr
        assert r.stdout.decode().splitlines()[1].split()[1:] == verdicts
    unguarded = _writer(deployments, variant, adjust_meta_refusal, "unguarded")
    assert not run_loader(core_loader, unguarded, Path(b)).loaded  # libbpf agrees
    assert run_loader(core_loader, unguarded, Path(a)).loaded


def test_the_nic_layout_and_the_registry_as_one_target(deployments, tmp_path, core_loader):
    """The NIC's header and the registry's keys header compiled together: the writer gets the
    same instructions as against the registry alone, and libbpf agrees."""
    from btfmeta.cfront.compile import compile_headers

    both = tmp_path / "nic_v2+kv_b.btf"
    both.write_bytes(compile_headers([str(SAMPLES / "mynic_metadata_v2.h"),
                                      str(deployments["b"] / "mymeta_keys.h")]).to_bytes())
    writer = deployments["writer-supplied_meta"]  # loads on any kernel; the BTF is what differs here
    alone = _relocated(writer, deployments["b"] / "mymeta.btf", tmp_path, core_loader)
    together = _relocated(writer, both, tmp_path, core_loader)
    assert run_loader(core_loader, alone, None).insns == run_loader(core_loader, together, None).insns


def test_shipped_samples(tmp_path, core_loader, monkeypatch, adjust_meta_refusal):
    """samples/include/kv is `kv compile kv/deploy_a.toml` run in samples/ now, and the shipped
    objects relocate against both deployments as libbpf does (the writer, growing data_meta
    itself, loads unless the kernel refuses bpf_xdp_adjust_meta: then it fails for that only)."""
    monkeypatch.chdir(SAMPLES)
    fresh = kh.kvgen.generate(load("kv/deploy_a.toml"))
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in (SAMPLES / "include" / "kv").iterdir()} == fresh
    for d in ("a", "b"):
        btf = tmp_path / d / "mymeta.btf"
        kh.generate(tmp_path / d, (SAMPLES / "kv" / f"deploy_{d}.toml").read_text())
        for obj in ("xdp_kv_writer", "kv_reader"):
            _relocated(SAMPLES / f"{obj}.bpf.o", btf, tmp_path, core_loader, adjust_meta_refusal)


def test_registry_btf_split_on_vmlinux(tmp_path, shared_btf, bpftool):
    """kv compile --base: the registry BTF as split BTF on the kernel's (like a module's);
    bpftool reads it on that base and the writer relocates against it as against the
    standalone registry BTF."""
    from .conftest import bpftool_dump

    base = shared_btf / "vmlinux.btf"
    for d, argv in (("split", ["--base", str(base)]), ("alone", [])):
        r = run_cli("kv", "compile", str(SAMPLES / "kv" / "deploy_b.toml"), "-o", str(tmp_path / d), *argv)
        assert r.code == 0, r.stderr
    split = tmp_path / "split" / "mymeta.btf"
    dump = bpftool_dump(bpftool, split, base).decode()
    assert "ENUM 'mymeta_key' encoding=UNSIGNED size=4 vlen=4" in dump and "'MYMETA_MARK' val=60" in dump
    assert dump.splitlines()[0].startswith("[") and not dump.startswith("[1] ")  # ids after vmlinux's
    obj = (SAMPLES / "xdp_kv_writer.bpf.o").read_bytes()
    ours = relocate_object(obj, load_spec(split, base=load_spec(base)))
    alone = relocate_object(obj, load_spec(tmp_path / "alone" / "mymeta.btf"))
    assert ours.data == alone.data
