"""tests/kernel_btf.py: where the kernel BTF fixtures are, and fetching them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from btfmeta import load_with_base
from btfmeta.render.bpftool import raw_dump

from . import kernel_btf
from .conftest import need, tool
from .kernel_btf import MODULES, fetch


def test_fixtures_are_found_in_the_cache_without_shared(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel_btf, "SHARED", tmp_path / "no-shared")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert kernel_btf.location() == tmp_path / "cache" / "btfmeta" / "kernel-btf" / "debian-6.1.0-56"
    monkeypatch.setattr(kernel_btf, "SHARED", Path(__file__).parent)  # no vmlinux.btf there either
    assert kernel_btf.location() == kernel_btf.cache_dir()


def test_kernel_btf_fetch_reproduces_the_fixtures(tmp_path, shared_btf):
    """It rebuilds the kernel BTF fixtures from Debian's packages, byte for
    byte (so a clone without ../shared can run the whole suite)."""
    need(shutil.which("apt-get") is not None and shutil.which("dpkg-deb") is not None, "apt-get and dpkg-deb")
    fetch(tmp_path)
    for name in ["vmlinux.btf", "vmlinux-rt.btf", *(f"modules/{m}.btf" for m in MODULES)]:
        assert (tmp_path / name).read_bytes() == (shared_btf / name).read_bytes(), name


def test_sid_kernel_is_the_newest_complete_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert kernel_btf.sid_kernel() is None
    root = kernel_btf.cache_root()
    for name in ["sid-7.2.9+deb14", "sid-7.10.1+deb14", "sid-7.2.13+deb14", ".sid-7.11.0+deb14.part"]:
        (root / name).mkdir(parents=True)
        (root / name / "vmlinux.btf").write_bytes(b"")
    (root / "sid-7.12.0+deb14").mkdir()  # a fetch that did not finish
    assert kernel_btf.sid_kernel() == root / "sid-7.10.1+deb14"


def test_a_bzimage_without_the_boot_header_is_refused():
    with pytest.raises(SystemExit, match="not an x86 bzImage"):
        kernel_btf.vmlinux(b"\x7fELF" + bytes(0x300), "vmlinuz")


def test_sid_kernel_btf_reads_as_bpftool_reads_it():
    """The fetched sid kernel (7.x: sorted by name, attribute tags) and a module split on it
    dump as bpftool dumps them, so the tests can take it as a fixture."""
    sid = kernel_btf.sid_kernel()
    need(sid is not None, "no sid kernel BTF (python -m tests.kernel_btf --sid fetches it)")
    bpftool = tool("bpftool")
    for name in MODULES:
        module = sid / "modules" / f"{name}.btf"
        want = subprocess.run([bpftool, "btf", "-B", str(sid / "vmlinux.btf"), "dump", "file", str(module)],
                              capture_output=True, text=True, check=True).stdout
        spec = load_with_base(module, sid / "vmlinux.btf")
        got = "".join(raw_dump(spec, list(spec.own_ids())))
        assert got == want, name
