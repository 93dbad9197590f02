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

from .conftest import REPO, run_cli

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


# -- generated code carries no injected code (item 2) ------------------------------------

def _layout_btf(path: Path, *, root: str = "meta", member: str = "hash", int_name: str = "int") -> Path:
    from btfmeta import Spec
    from btfmeta.btf import types as T

    spec = Spec()
    spec.add(T.Int(name=int_name, size=4, encoding=1, nr_bits=32))
    spec.add(T.Struct(name=root, size=8, members=[T.Member(name=member, type=1, bits_offset=32)]))
    path.write_bytes(spec.to_bytes())
    return path


EVIL = ["\n__import__('os').system('touch PWNED')\n#", " */ int pwned; /*", "\"", "-x"]


def test_generators_refuse_names_that_are_not_identifiers(tmp_path):
    for i, evil in enumerate(EVIL):
        for kw in ({"root": "meta___" + evil}, {"member": "hash" + evil}, {"int_name": "int" + evil}):
            btf = _layout_btf(tmp_path / f"e{i}.btf", **kw)
            access = "meta.hash"
            for argv in (["resolve", access, "--btf", str(btf), "--format", "python"],
                         ["resolve", access, "--btf", str(btf), "--format", "c"],
                         ["btf", "dump", str(btf), "--format", "c"]):
                if "member" in kw and argv[0] == "resolve":
                    continue  # the access names the member: no such member, a plain lookup error
                r = run_cli(*argv)
                assert r.code == 2 and r.stdout == b"", (argv, kw, r)
                assert "is not a C identifier" in r.stderr and "type [" in r.stderr, r.stderr
                assert r.stderr.count("\n") == 1


def test_echoed_target_path_cannot_end_a_comment(tmp_path):
    """The --btf path is echoed into the generated module and header: escaped there."""
    evil_dir = tmp_path / 'x"""\nimport os\nos.system("touch PWNED")\n*/ int pwned; /*'
    evil_dir.mkdir(parents=True)
    btf = _layout_btf(evil_dir / "l.btf")
    module = run_cli("resolve", "meta.hash", "--btf", str(btf), "--format", "python")
    assert module.code == 0, module.stderr
    scope: dict = {}
    exec(compile(module.stdout.decode(), "generated.py", "exec"), scope)
    assert scope["TARGET"] == str(btf) and scope["META_HASH"].offset == 4
    header = run_cli("resolve", "meta.hash", "--btf", str(btf), "--format", "c").stdout.decode()
    src = tmp_path / "check.c"
    src.write_text("struct meta { int pad; int hash; };\n" + header + "int main(void) { return META_HASH_OFFSET; }\n")
    gcc = subprocess.run(["gcc", "-E", "-P", str(src)], capture_output=True, text=True)
    assert gcc.returncode == 0, gcc.stderr
    assert "pwned" not in gcc.stdout  # comments are gone after preprocessing: nothing leaked out of one
    assert subprocess.run(["gcc", "-fsyntax-only", "-Werror", str(src)], capture_output=True).returncode == 0


def test_access_paths_are_one_line():
    r = run_cli("resolve", "meta.hash\nimport os", "--btf", "/nonexistent", "--format", "python")
    assert r.code == 2
