"""tests/judges.py: the mirror it takes from the host's apt, the versions it reads, that
making a complete chroot again changes nothing, and that a command runs inside a judge on
the files handed to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import judges
from .conftest import toolchain_judge


def test_mirror_from_the_hosts_apt_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    assert judges.host_mirror(tmp_path) == judges.DEFAULT_MIRROR
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n")
    assert judges.host_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list").write_text("# local\ndeb [arch=amd64] http://apt.example/debian bookworm main\n")
    assert judges.host_mirror(tmp_path) == "http://apt.example/debian"


def test_versions():
    assert judges.upstream("1:1.5.0-3") == "1.5.0"
    assert judges.upstream("7.8.0+7.2.13-1") == "7.8.0"
    assert judges.upstream("1.30-1") == "1.30"
    assert judges.short("1.5.0") == "1.5" and judges.short("7.1") == "7.1"


@pytest.mark.parametrize("suite", judges.SUITES)
def test_making_a_complete_chroot_again_changes_nothing(suite, monkeypatch):
    toolchain = toolchain_judge(suite)
    ran = []
    monkeypatch.setattr(judges, "_sh", ran.append)
    monkeypatch.setattr(judges, "location", lambda: toolchain.root.parent)
    again = judges.make(toolchain.suite)
    assert ran == []  # no debootstrap, no mount, no apt-get
    assert again.versions == toolchain.versions


def test_a_command_runs_inside_the_judge(toolchain):
    ran = toolchain.run(["sh", "-c", "cat in.txt; cat /etc/debian_version"], {"in.txt": b"hello\n"})
    assert ran.returncode == 0, ran.stderr
    first, version = ran.stdout.splitlines()
    assert first == "hello"
    assert version == Path(toolchain.root / "etc/debian_version").read_text().strip()
    assert (ran.work / "in.txt").read_bytes() == b"hello\n"
    assert toolchain.libbpf and toolchain.bpftool and toolchain.pahole
