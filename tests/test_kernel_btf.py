"""tests/kernel_btf.py: where the kernel BTF fixtures are, and fetching them."""

from __future__ import annotations

import shutil
from pathlib import Path

from . import kernel_btf
from .conftest import need
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
