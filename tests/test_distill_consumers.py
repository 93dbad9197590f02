"""Every command that reads a NIC's BTF takes a module built out of tree (issue 20): an
object with `.BTF` and `.BTF.base`, relocated onto the base it meets.  Each answer is held
equal to the answer for the same types given as plain split BTF on that base (the
distilled object is made from it, so the two must agree field for field)."""

from __future__ import annotations

import queue
import shutil
import threading

import pytest

from btfmeta.btf.distill import distilled_object
from btfmeta.btf.load import load_spec
from btfmeta.cfront.compile import compile_headers
from btfmeta.loader import Files, Target
from btfmeta.loader.watch import APPEARED, watch

from . import distill_judge as J
from .conftest import REPO, run_cli

OBJS = [REPO / "samples" / n for n in ("xdp_mynic.bpf.o", "xdp_mynic_unguarded.bpf.o")]


@pytest.fixture(scope="module")
def modules(shared_btf, tmp_path_factory):
    """For v1 and v2 of the sample metadata: plain split BTF on vmlinux and the distilled object."""
    vmlinux = load_spec(shared_btf / "vmlinux.btf")
    d = tmp_path_factory.mktemp("mods")
    out = {}
    for version in ("mynic_metadata", "mynic_metadata_v2"):
        split = compile_headers([str(REPO / "samples" / f"{version}.h")], base=vmlinux)
        (d / f"{version}.btf").write_bytes(split.to_bytes())
        (d / f"{version}.o").write_bytes(distilled_object(split))
        out[version] = (d / f"{version}.btf", d / f"{version}.o")
    return out


def _same(argv_plain: list[str], argv_distilled: list[str]) -> bytes:
    """Both commands' answers, equal once the distilled file is named as the plain one."""
    a, b = run_cli(*argv_plain), run_cli(*argv_distilled)
    names = [(d.encode(), p.encode()) for p, d in zip(argv_plain, argv_distilled, strict=True) if p != d]
    out = b.stdout
    for d, p in names:
        out = out.replace(d, p)
    assert (a.code, a.stdout, a.stderr) == (b.code, out, b.stderr)
    return a.stdout


def test_relocate_check_layout_diff_resolve(modules, shared_btf, tmp_path):
    base = str(shared_btf / "vmlinux.btf")
    plain, distilled = modules["mynic_metadata_v2"]
    for obj in OBJS:
        for which, btf in (("plain", plain), ("distilled", distilled)):
            assert run_cli("relocate", str(obj), "--btf", str(btf), "--base", base, "-o",
                           str(tmp_path / f"{which}.o"), "--report", str(tmp_path / f"{which}.json")).code == 0
        assert (tmp_path / "plain.o").read_bytes() == (tmp_path / "distilled.o").read_bytes()
    _same(["check", *map(str, OBJS), "--btf", str(plain), "--base", base],
          ["check", *map(str, OBJS), "--btf", str(distilled), "--base", base])
    assert b"mynic_metadata___v2" in _same(["layout", str(plain), "--base", base, "mynic_metadata___v2"],
                                           ["layout", str(distilled), "--base", base, "mynic_metadata___v2"])
    old_p, old_d = modules["mynic_metadata"]
    diff = run_cli("diff", str(old_p), str(plain), "--base", base)
    assert diff.code == 1 and diff.stdout
    assert run_cli("diff", str(old_d), str(distilled), "--base", base).stdout == diff.stdout
    _same(["resolve", "mynic_metadata.rx.ipv4.saddr", "--btf", str(plain), "--base", base],
          ["resolve", "mynic_metadata.rx.ipv4.saddr", "--btf", str(distilled), "--base", base])


def test_minimize(modules, shared_btf, tmp_path):
    base = str(shared_btf / "vmlinux.btf")
    plain, distilled = modules["mynic_metadata_v2"]
    for which, btf in (("plain", plain), ("distilled", distilled)):
        assert run_cli("minimize", str(OBJS[0]), "--btf", str(btf), "--base", base, "-o",
                       str(tmp_path / which)).code == 0
    # the same types, numbered as each input numbers them: the object relocates alike on both
    for which in ("plain", "distilled"):
        assert run_cli("relocate", str(OBJS[0]), "--btf", str(tmp_path / which), "-o",
                       str(tmp_path / f"{which}.o")).code == 0
    assert (tmp_path / "plain.o").read_bytes() == (tmp_path / "distilled.o").read_bytes()


def test_target_and_watch(modules, shared_btf):
    base = shared_btf / "vmlinux.btf"
    plain, distilled = modules["mynic_metadata_v2"]
    obj = OBJS[1].read_bytes()
    want = Target.from_files(plain, base).load(obj)
    got = Target.from_files(distilled, base).load(obj)
    assert (got.data, got.verdicts, got.reasons) == (want.data, want.verdicts, want.reasons)
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=lambda: [events.put(e) for e in watch(Files(distilled, base), {"o": obj},
                                                                            interval=0.05, stop=stop)])
    thread.start()
    try:
        event = events.get(timeout=20)
        assert event.change == APPEARED and event.outcomes["o"].data == want.data
    finally:
        stop.set()
        thread.join(timeout=10)


def test_fleet_takes_distilled_modules(modules, shared_btf, tmp_path):
    """A module distilled once on Debian's 6.1.0-56 under modules/<release>/ of fleet kernels:
    `check --fleet` and `minimize --fleet` relocate it onto each kernel, as `check --btf M
    --base KERNEL` does one kernel at a time."""
    kernels = J.fleet_kernels(3)
    fleet = tmp_path / "fleet"
    _, distilled = modules["mynic_metadata_v2"]
    for release, raw in kernels:
        (fleet / "modules" / release).mkdir(parents=True)
        (fleet / f"{release}.btf").write_bytes(raw)
        shutil.copy(distilled, fleet / "modules" / release / "mynic.btf")
    res = run_cli("check", str(OBJS[1]), "--fleet", str(fleet), "--modules", "mynic", "--format", "csv")
    rows = res.stdout.decode().splitlines()
    for release, _ in kernels:
        one = run_cli("check", str(OBJS[1]), "--btf", str(distilled), "--base", str(fleet / f"{release}.btf"),
                      "--format", "json")
        assert one.code in (0, 1)
        mine = [r for r in rows if r.startswith(release) and ",mynic," in r]
        assert mine and all("error" not in r for r in mine), rows
    assert run_cli("minimize", str(OBJS[0]), "--fleet", str(fleet), "--modules", "mynic", "-o",
                   str(tmp_path / "min")).code == 0
    assert len(list((tmp_path / "min").rglob("mynic.btf.xz"))) == len(kernels)
