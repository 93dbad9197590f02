"""The index cache is bounded (issue 21): least recently used entries go first, processes
share it safely, and `btfmeta cache info|clear` show and empty it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from array import array

import pytest

from btfmeta.btf import indexcache

from .conftest import REPO, run_cli

COUNT = 1000  # records per synthetic entry
SIZE = indexcache._HEAD.size + 13 * COUNT + 32  # bytes per entry file

WORKER = """
import hashlib, sys
from array import array
from btfmeta.btf import indexcache
worker, rounds, count, kinds = map(int, sys.argv[1:])
for r in range(rounds):
    k = (worker * 5 + r) % kinds
    digest = hashlib.sha256(b"entry%d" % k).digest()
    offsets = array("I", [(k * 7 + i) for i in range(count)])
    cols = [bytes([k]) * 4 * count, bytes([k + 1]) * 4 * count, bytes([k % 19]) * count]
    got = indexcache.load(digest, count)
    if got is None:
        indexcache.store(digest, offsets, cols)
    elif list(got[0]) != list(offsets) or got[1] != cols:
        sys.exit(f"entry {k} read back wrong")
print("ok")
"""


def entry(k: int) -> tuple[bytes, array, list[bytes]]:
    """The same synthetic entry WORKER makes."""
    digest = hashlib.sha256(b"entry%d" % k).digest()
    return digest, array("I", [(k * 7 + i) for i in range(COUNT)]), \
        [bytes([k]) * 4 * COUNT, bytes([k + 1]) * 4 * COUNT, bytes([k % 19]) * COUNT]


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BTFMETA_NO_CACHE", raising=False)
    monkeypatch.setenv("BTFMETA_CACHE_MAX", str(3 * SIZE))
    return tmp_path / "cache" / "btfmeta" / "btf-index"


def test_the_bound_evicts_the_least_recently_used(cache_home):
    for k in range(3):
        indexcache.store(*entry(k))
    assert sorted(p.stat().st_size for p in cache_home.iterdir()) == [SIZE] * 3
    past = cache_home.stat().st_mtime_ns - 10**9
    for k, name in enumerate(sorted(cache_home.iterdir(), key=lambda p: entry_index(p.name))):
        os.utime(name, ns=(past + k, past + k))  # stored in order 0, 1, 2
    assert indexcache.load(entry(0)[0], COUNT) is not None  # 0 is used: now the most recent
    indexcache.store(*entry(3))  # over the bound: 1, the least recently used, goes
    assert {entry_index(p.name) for p in cache_home.iterdir()} == {0, 2, 3}
    assert indexcache.load(entry(1)[0], COUNT) is None


def entry_index(name: str) -> int:
    return next(k for k in range(16) if hashlib.sha256(b"entry%d" % k).hexdigest() + ".idx" == name)


@pytest.mark.parametrize(("value", "limit"), [("", 256 << 20), ("1000", 1000), ("300M", 300 << 20),
                                              ("2g", 2 << 30), ("64KiB", 64 << 10), ("lots", 256 << 20)])
def test_the_bound_is_read_from_the_environment(monkeypatch, value, limit):
    monkeypatch.setenv("BTFMETA_CACHE_MAX", value)
    assert indexcache.max_bytes() == limit


def test_an_entry_larger_than_the_bound_is_not_stored(cache_home, monkeypatch):
    monkeypatch.setenv("BTFMETA_CACHE_MAX", str(SIZE - 1))
    indexcache.store(*entry(0))
    assert not any(cache_home.iterdir())


def test_processes_share_the_cache_within_its_bound(cache_home):
    """Four processes storing, reading and evicting 12 entries through a 3-entry cache at
    once: every read is the entry stored, none fails, the bound holds at the end."""
    env = {**os.environ}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(w), "60", str(COUNT), "12"], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4 and all(o == ("ok\n", "") for o in outs), outs
    files = list(cache_home.iterdir())
    assert all(f.name.endswith(".idx") for f in files)  # no temporary file left behind
    assert 0 < sum(f.stat().st_size for f in files) <= 3 * SIZE


def test_cache_info_and_clear(cache_home):
    for k in range(2):
        indexcache.store(*entry(k))
    (cache_home / f".{'0' * 64}.4242").write_bytes(b"left by a killed process")
    doc = json.loads(run_cli("cache", "info", "--format", "json").stdout)
    assert doc == {"version": 1, "directory": str(cache_home), "enabled": True, "entries": 2, "bytes": 2 * SIZE,
                   "max_bytes": 3 * SIZE}
    text = run_cli("cache", "info")
    assert text.code == 0 and text.stdout.decode().splitlines()[1].startswith("2 entries, 0.0 MiB of at most")
    cleared = run_cli("cache", "clear")
    assert cleared.code == 0 and cleared.stdout.decode().startswith("removed 2 entries")
    assert not any(cache_home.iterdir())
    assert json.loads(run_cli("cache", "info", "--format", "json").stdout)["entries"] == 0
