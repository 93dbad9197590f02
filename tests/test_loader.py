"""Loaders (issue 13): a Target that relocates as the NIC's BTF changes, ``watch`` and
``relocate --watch``, and the relocated object in real loaders (bpftool, iproute2, libbpf)
with the kernel's test runs as the judge."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from btfmeta import BtfmetaError
from btfmeta.loader import ABSENT, APPEARED, CHANGED, DISAPPEARED, Files, Module, Target, watch

from . import judges
from .conftest import REPO, need, run_cli, run_loader, tool
from .test_relocate_samples import metadata

SAMPLES = REPO / "samples"
OBJ = SAMPLES / "xdp_mynic.bpf.o"
UNGUARDED = SAMPLES / "xdp_mynic_unguarded.bpf.o"
INTERVAL = 0.05


@pytest.fixture(scope="module")
def layouts(tmp_path_factory, shared_btf) -> dict[str, Path]:
    """The three sample layouts and two generated ones, split on vmlinux."""
    d = tmp_path_factory.mktemp("watch-layouts")
    base = shared_btf / "vmlinux.btf"
    sources = {name: (SAMPLES / f"{name}.h").read_text() for name in
               ("mynic_metadata", "mynic_metadata_v2", "mynic_metadata_minimal")}
    v1 = sources["mynic_metadata"]
    sources["gen_wider_hash"] = v1.replace("__u32 hash;", "__u64 hash;")  # a field resized: relocated
    sources["gen_no_csum"] = v1.replace("csum_level", "csum_level_renamed")  # the unguarded read's field gone
    out = {}
    for name, text in sources.items():
        header = d / f"{name}.h"
        header.write_text(text)
        out[name] = d / f"{name}.btf"
        r = run_cli("compile", str(header), "-I", str(SAMPLES), "--base", str(base), "-o", str(out[name]))
        assert r.code == 0, r.stderr
    assert sources["gen_wider_hash"] != v1 and sources["gen_no_csum"] != v1
    return out


def _fresh(obj: Path, btf: Path, base: Path, tmp: Path) -> bytes | None:
    """What `btfmeta relocate` writes against this layout (None: it, or the verifier, refuses)."""
    out = tmp / f"fresh-{obj.stem}-{btf.stem}.o"
    r = run_cli("relocate", str(obj), "--btf", str(btf), "--base", str(base), "-o", str(out))
    if r.code != 0:
        return None
    check = run_cli("check", str(obj), "--btf", str(btf), "--base", str(base))
    return out.read_bytes() if check.code == 0 else None


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def test_watch_follows_each_replacement(tmp_path, layouts, shared_btf):
    base = shared_btf / "vmlinux.btf"
    current = tmp_path / "nic.btf"
    objects = {"guarded": OBJ.read_bytes(), "unguarded": UNGUARDED.read_bytes()}
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=lambda: [events.put(e) for e in watch(Files(current, base), objects,
                                                                            interval=INTERVAL, stop=stop)])
    thread.start()
    try:
        assert events.get(timeout=10).change == ABSENT
        sequence = ["mynic_metadata", "mynic_metadata_v2", "mynic_metadata_minimal", "mynic_metadata",
                    "gen_wider_hash", "gen_no_csum", "mynic_metadata"]
        refusals = 0
        for i, name in enumerate(sequence):
            _replace(current, layouts[name].read_bytes())
            event = events.get(timeout=10)
            assert event.change == (APPEARED if i == 0 else CHANGED), (name, event.change)
            for obj_name, obj in (("guarded", OBJ), ("unguarded", UNGUARDED)):
                outcome = event.outcomes[obj_name]
                expected = _fresh(obj, layouts[name], base, tmp_path)
                assert outcome.data == expected, (name, obj_name, outcome.reasons)
                if expected is None:
                    refusals += 1
                    assert outcome.refused and outcome.reasons
            _replace(current, layouts[name].read_bytes())  # the same bytes again: no event
            time.sleep(6 * INTERVAL)
            assert events.empty(), name
        assert refusals >= 2  # the unguarded read on v2, minimal and gen_no_csum
        current.unlink()
        assert events.get(timeout=10).change == DISAPPEARED
        _replace(current, layouts["mynic_metadata_v2"].read_bytes())
        back = events.get(timeout=10)
        assert back.change == APPEARED and back.outcomes["guarded"].data == _fresh(OBJ, layouts["mynic_metadata_v2"],
                                                                                  base, tmp_path)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_relocate_watch_command(tmp_path, layouts, shared_btf):
    """The CLI loop: --exec sees each new object; SIGTERM ends it with exit 0 and no partial file."""
    base = shared_btf / "vmlinux.btf"
    current = tmp_path / "nic.btf"
    _replace(current, layouts["mynic_metadata"].read_bytes())
    outdir = tmp_path / "out"
    outdir.mkdir()
    seen = tmp_path / "seen"
    seen.mkdir()
    out = outdir / "prog.o"
    cmd = [sys.executable, "-m", "btfmeta", "relocate", str(OBJ), "--btf", str(current), "--base", str(base), "-o",
           str(out), "--watch", "--interval", str(INTERVAL),
           "--exec", f"sh -c 'cp \"$1\" {seen}/$(ls {seen} | wc -l).o' sh {{out}}"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        for n, name in enumerate(["mynic_metadata", "mynic_metadata_v2", "mynic_metadata_minimal"], 1):
            if n > 1:
                _replace(current, layouts[name].read_bytes())
            deadline = time.monotonic() + 20
            while len(list(seen.iterdir())) < n and time.monotonic() < deadline:
                time.sleep(INTERVAL)
            assert (seen / f"{n - 1}.o").read_bytes() == _fresh(OBJ, layouts[name], base, tmp_path), name
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 3 and "appeared" in lines[0] and "changed" in lines[1] and "exec exited 0" in lines[2], err
    assert sorted(p.name for p in outdir.iterdir()) == ["prog.o"]


def test_watch_refusal_keeps_or_removes_the_output(tmp_path, layouts, shared_btf):
    base = shared_btf / "vmlinux.btf"
    for remove in (False, True):
        current = tmp_path / f"nic{remove}.btf"
        _replace(current, layouts["mynic_metadata"].read_bytes())
        out = tmp_path / f"ung{remove}.o"
        cmd = [sys.executable, "-m", "btfmeta", "relocate", str(UNGUARDED), "--btf", str(current), "--base",
               str(base), "-o", str(out), "--watch", "--interval", str(INTERVAL)] + \
            (["--remove-on-refusal"] if remove else [])
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=REPO)
        try:
            deadline = time.monotonic() + 20
            while not out.exists() and time.monotonic() < deadline:
                time.sleep(INTERVAL)
            good = out.read_bytes()
            _replace(current, layouts["mynic_metadata_v2"].read_bytes())  # csum_level is gone: refused
            time.sleep(20 * INTERVAL)
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "REFUSED" in err and "csum_level" in err, err
        assert (not out.exists()) if remove else out.read_bytes() == good


def test_targets_by_module_and_their_names(tmp_path, layouts, shared_btf):
    """A fake /sys/kernel/btf: Target.from_module and the Module source read MODULE on vmlinux."""
    sysfs = tmp_path / "sys-kernel-btf"
    sysfs.mkdir()
    shutil.copy(shared_btf / "vmlinux.btf", sysfs / "vmlinux")
    shutil.copy(layouts["mynic_metadata_v2"], sysfs / "mynic")
    target = Target.from_module("mynic", sysfs=sysfs)
    assert target.load(OBJ.read_bytes()).data == _fresh(OBJ, layouts["mynic_metadata_v2"], shared_btf / "vmlinux.btf",
                                                        tmp_path)
    first = next(watch(Module("mynic", sysfs=sysfs), {"o": OBJ.read_bytes()}, interval=INTERVAL))
    assert first.change == APPEARED and not first.outcomes["o"].refused
    for bad in ("../mynic", "a/b", ""):
        with pytest.raises(BtfmetaError):
            Target.from_module(bad, sysfs=sysfs)
    with pytest.raises(BtfmetaError):
        Target.from_nic("../../etc")


def test_concurrent_relocations_against_one_target(shared_btf, layouts, clang, tmp_path):
    """8 threads relocating different objects against one Target give what sequential runs give."""
    from .progen import generate_case
    from .test_relocate_differential import INCLUDES

    objects = [OBJ.read_bytes(), UNGUARDED.read_bytes()]
    for seed in range(6):
        case = generate_case(seed)
        src = tmp_path / f"p{seed}.c"
        src.write_text(case.program)
        r = subprocess.run([clang, "-g", "-O2", "-target", "bpf", *INCLUDES, "-c", str(src), "-o",
                            str(tmp_path / f"p{seed}.o")], capture_output=True)
        if r.returncode == 0:
            objects.append((tmp_path / f"p{seed}.o").read_bytes())
    target = Target.from_files(layouts["mynic_metadata_v2"], shared_btf / "vmlinux.btf")

    def result(obj: bytes):
        outcome = target.load(obj)
        return outcome.data, outcome.verdicts, outcome.reasons

    results: dict[int, object] = {}
    barrier = threading.Barrier(8)

    def worker(k: int) -> None:
        barrier.wait()
        results[k] = [result(objects[(k + j) % len(objects)]) for j in range(len(objects))]

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    fresh = Target.from_files(layouts["mynic_metadata_v2"], shared_btf / "vmlinux.btf")
    sequential = [(o.data, o.verdicts, o.reasons) for o in (fresh.load(obj) for obj in objects)]
    for k in range(8):
        assert results[k] == [sequential[(k + j) % len(objects)] for j in range(len(objects))], k


def _bpftool_run(bpftool: str, prog: list[str], meta: bytes, tmp: Path) -> int:
    """BPF_PROG_TEST_RUN through bpftool: metadata, then a 64-byte frame (as core_loader runs)."""
    import json
    import struct

    (tmp / "data_in").write_bytes(meta + bytes(64))
    (tmp / "ctx_in").write_bytes(struct.pack("<6I", len(meta), len(meta) + 64, 0, 0, 0, 0))  # struct xdp_md
    r = subprocess.run([bpftool, "-j", "prog", "run", *prog, "data_in", str(tmp / "data_in"), "ctx_in",
                        str(tmp / "ctx_in")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["retval"]


def test_real_loaders_take_the_relocated_object(tmp_path, layouts, shared_btf, core_loader):
    """bpftool prog loadall, iproute2 (xdpgeneric on a veth pair in a network namespace of
    the test's own) and plain libbpf load the object btfmeta relocated; every program, as
    each of them loaded it, returns in the kernel's test runs what it returns when libbpf
    relocates the original itself."""
    import json

    from btfmeta import load_spec

    bpftool, ip = tool("bpftool"), tool("ip")
    need(Path("/sys/fs/bpf").is_dir(), "bpffs at /sys/fs/bpf")
    base = shared_btf / "vmlinux.btf"
    btf = layouts["mynic_metadata_v2"]
    out = tmp_path / "prog.o"
    host_libbpf = judges.short(judges.host().libbpf)  # core_loader's libbpf: the profile to match
    out.write_bytes(Target.from_files(btf, base, libbpf=host_libbpf).load(OBJ.read_bytes()).data)
    meta = metadata(btf, base, "mynic_metadata___v2")
    merged = tmp_path / "v2.raw.btf"
    merged.write_bytes(load_spec(btf, base=load_spec(base)).merged().to_bytes())
    theirs = run_loader(core_loader, OBJ, merged, [meta])  # libbpf relocating the original itself
    assert theirs.loaded and len(theirs.runs) == 6
    expected = {line.split()[1]: int(line.split()[2]) for line in theirs.runs}
    ours = run_loader(core_loader, out, None, [meta])  # plain libbpf, no target BTF
    assert ours.loaded and ours.runs == theirs.runs
    pin = Path(f"/sys/fs/bpf/btfmeta_test_{os.getpid()}")
    netns = f"btfmeta-test-{os.getpid()}"
    try:
        r = subprocess.run([bpftool, "prog", "loadall", str(out), str(pin)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert sorted(p.name for p in pin.iterdir()) == sorted(expected)
        for name, value in expected.items():
            assert _bpftool_run(bpftool, ["pinned", str(pin / name)], meta, tmp_path) == value, name
        subprocess.run([ip, "netns", "add", netns], check=True)
        subprocess.run([ip, "-n", netns, "link", "add", "v0", "type", "veth", "peer", "name", "v1"], check=True)
        subprocess.run([ip, "-n", netns, "link", "set", "v0", "up"], check=True)
        r = subprocess.run([ip, "-n", netns, "link", "set", "dev", "v0", "xdpgeneric", "obj", str(out), "sec", "xdp"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        (link,) = json.loads(subprocess.run([ip, "-j", "-n", netns, "link", "show", "v0"], capture_output=True,
                                            text=True, check=True).stdout)
        prog_id = link["xdp"]["prog"]["id"]  # iproute2 attaches the section's first program
        assert link["xdp"]["prog"]["name"] == "read_hash"
        assert _bpftool_run(bpftool, ["id", str(prog_id)], meta, tmp_path) == expected["read_hash"]
    finally:
        shutil.rmtree(pin, ignore_errors=True)
        subprocess.run([ip, "netns", "del", netns], capture_output=True)
