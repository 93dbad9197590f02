"""Hostile inputs and environments (issue 10): planted files, device nodes, symlinks,
generated-code injection, path traversal.  Each case here was reproduced against an
earlier btfmeta and failed there."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

from btfmeta.cfront import tables

from .conftest import REPO

SAMPLES = REPO / "samples"


class _Payload:
    """Unpickling this runs ``touch MARKER``: what a planted cache would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _btfmeta(*argv: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "btfmeta", *argv], env={**os.environ, **(env or {})},
                          capture_output=True, **kw)


def _genuine_cache_line(tmp_path: Path) -> bytes:
    """The first line (grammar hash) lark writes into its cache for btfmeta's grammar,
    as an attacker who reads the public grammar can compute it."""
    import lark

    path = tmp_path / "genuine.lark-cache"
    lark.Lark(tables.grammar_text(), parser="lalr", lexer="basic", start=["start", "const_expr"], cache=str(path))
    return path.read_bytes().split(b"\n", 1)[0] + b"\n"


def test_planted_grammar_cache_is_never_loaded(tmp_path):
    """No file under the cache directories is read or written: a pickle with a valid hash
    line planted where an earlier btfmeta kept lark's cache does not run, and a symlink
    there is not followed on write."""
    import lark

    marker = tmp_path / "pwned"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    home = tmp_path / "home"
    cache = home / ".cache" / "btfmeta"
    cache.mkdir(parents=True)
    name = f"c_decls-lark{lark.__version__}-py{sys.version_info[0]}.{sys.version_info[1]}.lark-cache"
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    out = tmp_path / "out.btf"
    (cache / name).symlink_to(victim)
    proc = _btfmeta("compile", str(SAMPLES / "xdp_rx_meta.h"), "-o", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "precious\n"
    (cache / name).unlink()
    (cache / name).write_bytes(_genuine_cache_line(tmp_path) + pickle.dumps(_Payload(marker)))
    proc = _btfmeta("compile", str(SAMPLES / "xdp_rx_meta.h"), "-o", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    assert sorted(p.name for p in cache.iterdir()) == [name]


def test_compile_loads_no_lark_and_no_pickle():
    """The parser runs from the shipped JSON tables: neither lark nor pickle is imported."""
    code = ("import sys, btfmeta.compile as c; c.compile_headers([sys.argv[1]]);"
            "print(sorted(m for m in ('lark', 'pickle') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, str(SAMPLES / "mynic_metadata.h")], capture_output=True,
                          text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_shipped_grammar_tables_are_current():
    """grammars/c_decls.tables.json is lark's analysis of the grammar as it is now
    (regenerate with `python -m btfmeta.cfront.tables`), byte for byte."""
    shipped = (REPO / "grammars" / "c_decls.tables.json").read_text()
    fresh = tables.analyse((REPO / "grammars" / "c_decls.lark").read_text())
    assert json.loads(shipped) == fresh
    assert shipped == json.dumps(fresh, separators=(",", ":")) + "\n"
