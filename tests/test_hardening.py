"""Hostile inputs and environments (issue 10): planted files, device nodes, symlinks,
generated-code injection, path traversal.  Each case here was reproduced against an
earlier btfmeta and failed there."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from btfmeta.cfront import tables

from .conftest import REPO, need, run_cli
from .fuzz import CHAIN_KINDS, chain_btf

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


# -- outputs: devices, FIFOs, symlinks, modes, '-' (item 3) ----------------------------------

HEADER = str(SAMPLES / "xdp_rx_meta.h")


def _compile_to(out: str | Path) -> subprocess.CompletedProcess:
    return _btfmeta("compile", HEADER, "-o", str(out), timeout=60)


def test_output_to_a_device_node_writes_in_place(tmp_path):
    """`-o /dev/null` as root: the device node stays a device node (made here with mknod)."""
    need(os.geteuid() == 0, "mknod needs root")
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    assert _compile_to(null).returncode == 0
    assert stat.S_ISCHR(null.lstat().st_mode) and null.lstat().st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_output_to_a_fifo_and_to_stdout(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    assert _compile_to(fifo).returncode == 0
    through_fifo = reader.communicate(timeout=30)[0]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    via_stdout = _btfmeta("compile", HEADER, "-o", "-", timeout=60)
    assert via_stdout.returncode == 0 and via_stdout.stdout == through_fifo
    assert _compile_to(tmp_path / "plain.btf").returncode == 0
    assert (tmp_path / "plain.btf").read_bytes() == through_fifo
    assert not (tmp_path / "-").exists()


def test_symlinked_output_replaces_its_target_and_keeps_its_mode(tmp_path):
    real = tmp_path / "real.btf"
    real.write_bytes(b"old")
    real.chmod(0o640)
    link = tmp_path / "link.btf"
    link.symlink_to(real.name)
    assert _compile_to(link).returncode == 0
    assert link.is_symlink() and os.readlink(link) == "real.btf"
    assert real.read_bytes()[:2] == b"\x9f\xeb" and stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.btf", "real.btf"]


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    """A write cut short (Ctrl-C in the middle) leaves the old file and no temporary."""
    from btfmeta import fileio

    out = tmp_path / "out.btf"
    out.write_bytes(b"before")
    real_write = os.write

    def interrupted(fd, data):
        real_write(fd, bytes(data[:3]))
        raise KeyboardInterrupt

    monkeypatch.setattr(fileio.os, "write", interrupted)
    for target in (out, tmp_path / "new.btf"):
        with contextlib.suppress(KeyboardInterrupt):
            fileio.write_output(target, b"0123456789")
    assert out.read_bytes() == b"before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.btf"]


def test_ctrl_c_exits_130_with_no_output(tmp_path):
    """SIGINT during a long compile (an exponential macro chain): exit 130, no file."""
    lines = ["#define A0 x"] + [f"#define A{i} A{i - 1} A{i - 1}" for i in range(1, 41)]
    header = tmp_path / "slow.h"
    header.write_text("\n".join([*lines, "struct s { int A40; };"]) + "\n")
    out = tmp_path / "out.btf"
    proc = subprocess.Popen([sys.executable, "-m", "btfmeta", "compile", str(header), "-o", str(out)],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip() == "btfmeta: interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.h"]


# -- kernel names are single path components (item 4) -------------------------------------

@pytest.mark.parametrize("argv", [["--module", "../../../tmp/x"], ["--module", "a/b"], ["--module", ".."],
                                  ["--module", "x" * 80], ["--nic", "../../../tmp"], ["--nic", "eth0/../lo"],
                                  ["--nic", "a b"], ["--nic", "x" * 16]])
def test_kernel_names_cannot_traverse(tmp_path, argv):
    r = run_cli("relocate", str(SAMPLES / "xdp_mynic.bpf.o"), *argv, "-o", str(tmp_path / "o"))
    assert r.code == 2 and r.stderr.startswith("btfmeta: error: invalid ") and r.stderr.count("\n") == 1, r.stderr
    assert not (tmp_path / "o").exists()


# -- inputs: devices, FIFOs, sizes, includes (items 5, 16) ---------------------------------

def _refused(*argv: str, stdin=subprocess.DEVNULL, env: dict | None = None) -> str:
    proc = _btfmeta(*argv, env={**(env or {}), "BTFMETA_MAX_INPUT": (env or {}).get("BTFMETA_MAX_INPUT", "")},
                    timeout=30, stdin=stdin, text=True)
    assert proc.returncode == 2, (argv, proc.stderr)
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr


def test_device_inputs_are_refused_at_once(tmp_path):
    obj = str(SAMPLES / "xdp_mynic.bpf.o")
    for argv in (["btf", "dump", "/dev/zero"], ["layout", "/dev/zero"], ["compile", "/dev/zero", "-o", "o"],
                 ["relocate", "/dev/zero", "--btf", obj, "-o", "o"], ["relocate", obj, "--btf", "/dev/zero", "-o", "o"],
                 ["check", obj, "--btf", "/dev/zero"], ["diff", "/dev/zero", obj], ["obj", "show", "/dev/zero"],
                 ["btf", "dump", obj, "--base", "/dev/zero"]):
        assert "/dev/zero: is a character device" in _refused(*argv), argv
    assert not Path("o").exists()


def test_pipe_inputs_are_read_with_a_bound(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"head -c 5000000 /dev/zero > {fifo}"])
    err = _refused("btf", "dump", str(fifo), env={"BTFMETA_MAX_INPUT": "1000000"})
    writer.kill()
    assert "larger than the input limit (1000000 bytes" in err
    big = tmp_path / "big.btf"
    big.write_bytes(b"\x9f\xeb" + bytes(2_000_000))
    assert "larger than the input limit (2000002 > 1000000 bytes" in _refused(
        "btf", "dump", str(big), env={"BTFMETA_MAX_INPUT": "1000000"})
    with open(SAMPLES / "xdp_mynic.bpf.o", "rb") as stdin:
        r = _btfmeta("btf", "dump", "-", stdin=stdin, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith(b"[1] ")


def test_include_of_a_device_or_directory_says_so(tmp_path):
    (tmp_path / "dir.h").mkdir()
    for line, message in (('#include "/dev/zero"', "/dev/zero: is a character device"),
                          ('#include "dir.h"', "'dir.h' is a directory"),
                          ("#include <dir.h>", "'dir.h' is a directory")):
        header = tmp_path / "h.h"
        header.write_text(line + "\nstruct s { int a; };\n")
        r = _btfmeta("compile", str(header), "-I", str(tmp_path), "-o", str(tmp_path / "o.btf"), timeout=30, text=True)
        assert r.returncode == 2 and f"h.h:1:10: error: {message}" in r.stderr, r.stderr


# -- crashes the fuzzer found, as hand-written cases (items 6, 9, 10) ----------------------

def _struct_btf(path: Path, size: int, member_type_kind: str = "int") -> Path:
    from btfmeta import Spec
    from btfmeta.btf import types as T

    spec = Spec()
    spec.add(T.Int(name="int", size=4, encoding=1, nr_bits=32))
    spec.add(T.Struct(name="s", size=size, members=[T.Member(name="a", type=1, bits_offset=0)]))
    path.write_bytes(spec.to_bytes())
    return path


@pytest.mark.parametrize("size", [0xFFFFFFFF, 4278190104, 536870920, 0x7FFFFFF])
def test_c_dump_of_a_huge_size_field(tmp_path, size, bpftool):
    """Padding follows libbpf's int arithmetic (what bpftool prints, at once); a gap that
    would print more than 16 MiB of padding is refused with the type's id."""
    btf = _struct_btf(tmp_path / "s.btf", size)
    start = time.monotonic()
    ours = run_cli("btf", "dump", str(btf), "--format", "c", "--bpftool", "7.1")  # the host's bpftool
    assert time.monotonic() - start < 30
    if ours.code == 0:
        theirs = subprocess.run([bpftool, "btf", "dump", "file", str(btf), "format", "c"], capture_output=True,
                                timeout=60)
        assert ours.stdout == theirs.stdout
    else:  # bpftool would print 256 MiB of `long: 64;` lines here
        assert ours.code == 2 and "type [2] has a gap of" in ours.stderr and ours.stderr.count("\n") == 1


def test_internal_errors_found_by_fuzzing(tmp_path):
    from btfmeta import Spec
    from btfmeta.btf import types as T

    obj = bytearray((SAMPLES / "xdp_mynic.bpf.o").read_bytes())
    from .fuzz import _sections

    lo, _ = _sections(bytes(obj))[".BTF.ext"]
    core_off = lo + int.from_bytes(obj[lo + 24:lo + 28], "little") + int.from_bytes(obj[lo + 4:lo + 8], "little")
    rec = core_off + 4 + 8  # record size word, then the first block's name and count
    obj[rec + 4:rec + 8] = (0x0FFFFFFF).to_bytes(4, "little")  # the first record's type id
    bad = tmp_path / "bad.o"
    bad.write_bytes(bytes(obj))
    r = run_cli("obj", "show", str(bad))
    assert r.code == 2 and "type id 268435455 out of range" in r.stderr, r.stderr
    # an instruction naming r15: check still answers (the walk treats r11-r15 as unknown)
    text_lo, _ = _sections(bytes(obj))["xdp"]
    good = bytearray((SAMPLES / "xdp_mynic.bpf.o").read_bytes())
    good[text_lo + 1] = 0xFF  # dst=r15, src=r15 of the first instruction
    weird = tmp_path / "r15.o"
    weird.write_bytes(bytes(good))
    target = tmp_path / "t.btf"
    target.write_bytes(Spec.parse(__import__("btfmeta").btf.load.btf_bytes(
        (SAMPLES / "btf_objects.bpf.o").read_bytes(), "x")).to_bytes())
    r = run_cli("check", str(weird), "--btf", str(target))
    assert r.code in (0, 1) and r.stderr == "", r.stderr
    # the compiler: a 5,000-digit literal, an array BTF cannot size
    for text, message in (("struct s { int a[" + "9" * 5000 + "]; };", "invalid integer constant"),
                          ("struct s { char c[0x100000000]; };", "array is too large for BTF"),
                          ("struct s { char a[0x20000000]; char b[0x20000000]; int c; };", "too large for BTF")):
        h = tmp_path / "h.h"
        h.write_text(text)
        r = run_cli("compile", str(h), "-o", str(tmp_path / "o.btf"))
        assert r.code == 2 and message in r.stderr and "internal error" not in r.stderr, r.stderr
    # the C dump: a member whose type has no alignment (libbpf divides by zero there)
    spec = Spec()
    spec.add(T.Int(name="int", size=4, encoding=1, nr_bits=32))
    spec.add(T.FuncProto(return_type=1, params=[]))
    spec.add(T.Struct(name="s", size=16, members=[T.Member(name="a", type=1, bits_offset=0),
                                                  T.Member(name="f", type=2, bits_offset=64)]))
    fp = tmp_path / "fp.btf"
    fp.write_bytes(spec.to_bytes())
    r = run_cli("btf", "dump", str(fp), "--format", "c")
    assert r.code in (0, 2) and "internal error" not in r.stderr, r.stderr


def test_member_cycles_name_the_type(tmp_path):
    from btfmeta import Spec
    from btfmeta.btf import types as T

    spec = Spec()
    spec.add(T.Int(name="int", size=4, encoding=1, nr_bits=32))
    spec.add(T.Struct(name="a", size=8, members=[T.Member(name="x", type=1, bits_offset=0),
                                                 T.Member(name="b", type=3, bits_offset=32)]))
    spec.add(T.Struct(name="b", size=8, members=[T.Member(name="y", type=1, bits_offset=0),
                                                 T.Member(name="a", type=2, bits_offset=32)]))
    spec.add(T.Ptr(type=5))
    spec.add(T.Ptr(type=4))  # a pointer loop, for the type speller
    path = tmp_path / "cyc.btf"
    path.write_bytes(spec.to_bytes())
    for argv in (["layout", str(path)], ["layout", str(path), "--format", "json"], ["diff", str(path), str(path)],
                 ["btf", "dump", str(path), "--format", "c"]):
        r = run_cli(*argv)
        assert r.code == 2 and r.stderr.count("\n") == 1, (argv, r.stderr)
        assert re.search(r"\[\d+\]", r.stderr) and "nests too deeply" not in r.stderr, (argv, r.stderr)


# -- the preprocessor's bounds (item 7) -----------------------------------------------------

def _bounded_compile(tmp_path: Path, text: str, timeout: int) -> subprocess.CompletedProcess:
    """compile in a process limited to 1 GiB of address space, within ``timeout`` seconds."""
    import resource

    header = tmp_path / "h.h"
    header.write_text(text)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run([sys.executable, "-m", "btfmeta", "compile", str(header), "-o", str(tmp_path / "o.btf")],
                          capture_output=True, text=True, timeout=timeout, preexec_fn=limit)


def test_exponential_macro_chain_hits_a_limit_with_a_position(tmp_path):
    lines = ["#define A0 x"] + [f"#define A{i} A{i - 1} A{i - 1}" for i in range(1, 41)]
    r = _bounded_compile(tmp_path, "\n".join([*lines, "struct s { int A40; };"]) + "\n", timeout=120)
    assert r.returncode == 2, r.stderr
    assert re.match(r".*h\.h:42:16: error: macro expansion of 'A\d+' makes more than 1,000,000 tokens", r.stderr)
    assert not (tmp_path / "o.btf").exists()


def test_deeply_nested_conditionals_take_linear_time(tmp_path):
    """20,000 nested #if 1 took 34 s (quadratic); clang takes 0.1 s."""
    depth = 20_000
    r = _bounded_compile(tmp_path, "#if 1\n" * depth + "struct s { int a; };\n" + "#endif\n" * depth, timeout=30)
    assert r.returncode == 0, r.stderr


# -- the per-user BTF index cache (issue 12) is checked before it is used ------------------

def _load_vmlinux(shared_btf: Path, cache_home: Path) -> subprocess.CompletedProcess:
    code = ("import sys; from btfmeta import load_spec; s = load_spec(sys.argv[1]);"
            "print(s._from_cache, s.type_by_id(s.find('sk_buff')).size)")
    return subprocess.run([sys.executable, "-c", code, str(shared_btf / "vmlinux.btf")], capture_output=True,
                          text=True, env={**os.environ, "XDG_CACHE_HOME": str(cache_home)}, cwd=REPO)


def test_index_cache_is_used_only_when_private_and_intact(tmp_path, shared_btf):
    cache = tmp_path / "cache"
    first = _load_vmlinux(shared_btf, cache)
    assert first.stdout.split() == ["False", "232"], first.stderr
    folder = cache / "btfmeta" / "btf-index"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    (idx,) = folder.iterdir()
    assert stat.S_IMODE(idx.stat().st_mode) == 0o600
    assert _load_vmlinux(shared_btf, cache).stdout.split() == ["True", "232"]
    good = idx.read_bytes()
    for damage in (lambda b: b[:-1] + bytes([b[-1] ^ 1]),  # checksum
                   lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:],  # an offset
                   lambda b: b[:50]):  # truncated
        idx.write_bytes(damage(good))
        assert _load_vmlinux(shared_btf, cache).stdout.split() == ["False", "232"]  # ignored, rebuilt
        assert idx.read_bytes() == good
    idx.chmod(0o666)  # writable by others: not trusted
    assert _load_vmlinux(shared_btf, cache).stdout.split()[0] == "False"
    idx.unlink()
    victim = tmp_path / "victim"
    victim.write_bytes(good)
    idx.symlink_to(victim)  # a symlink: not followed
    assert _load_vmlinux(shared_btf, cache).stdout.split()[0] == "False"
    folder.chmod(0o755)  # a directory others can read: not used
    idx.unlink()
    assert _load_vmlinux(shared_btf, cache).stdout.split()[0] == "False"
    assert not idx.exists()
    off = _load_vmlinux(shared_btf, tmp_path / "other")
    assert off.returncode == 0
    nocache = subprocess.run([sys.executable, "-c", "from btfmeta import load_spec; import sys; "
                              "print(load_spec(sys.argv[1])._from_cache)", str(shared_btf / "vmlinux.btf")],
                             capture_output=True, text=True, cwd=REPO,
                             env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "other"), "BTFMETA_NO_CACHE": "1"})
    assert nocache.stdout.strip() == "False"


def test_a_forged_index_is_caught_when_a_record_is_read(tmp_path, shared_btf):
    """Even a well-formed cache file with the right key and checksum but wrong offsets
    (someone who can write the private directory) gives a positioned error, not garbage."""
    import hashlib

    from btfmeta.btf import indexcache

    cache = tmp_path / "cache"
    _load_vmlinux(shared_btf, cache)
    (idx,) = (cache / "btfmeta" / "btf-index").iterdir()
    blob = idx.read_bytes()
    head = indexcache._HEAD.size
    body = bytearray(blob[:-32])
    body[head + 4 * 1000:head + 4 * 1001] = (int.from_bytes(body[head + 4 * 1000:head + 4004], "little") + 1)\
        .to_bytes(4, "little")
    idx.write_bytes(bytes(body) + hashlib.sha256(bytes(body)).digest())
    code = ("import sys; from btfmeta import load_spec; s = load_spec(sys.argv[1]); s.type_by_id(1000)")
    r = subprocess.run([sys.executable, "-c", code, str(shared_btf / "vmlinux.btf")], capture_output=True, text=True,
                       env={**os.environ, "XDG_CACHE_HOME": str(cache)}, cwd=REPO)
    assert r.returncode != 0 and ("index cache does not match" in r.stderr or "BTF type [" in r.stderr), r.stderr


@pytest.mark.parametrize("kind", CHAIN_KINDS)
def test_long_type_chains_are_read_in_linear_time(tmp_path, kind):
    """Issue 21 item 6: the C dump of a 2,000-long const chain took 2.7 s, 8,000 took 43 s
    (btf_dump's ordering walked the chain again from every link), and it raised Python's
    recursion limit to survive deeper ones; `layout` said "nests too deeply". A 10^5 chain
    of each kind now goes through every command that reads BTF, well inside the bound."""
    path = tmp_path / f"{kind}.btf"
    path.write_bytes(chain_btf(kind, 100_000))
    for argv in (["btf", "dump", "--format", "c"], ["btf", "dump"], ["btf", "dump", "--format", "json"],
                 ["layout"], ["layout", "--format", "json"]):
        proc = _btfmeta(*argv, str(path), timeout=120)
        assert proc.returncode == 0, (argv, proc.stderr[-300:])
    assert "setrecursionlimit" not in "".join(p.read_text() for p in (REPO / "btfmeta").rglob("*.py"))


@pytest.mark.parametrize("kind", CHAIN_KINDS)
def test_c_dump_of_chains_equals_bpftool(tmp_path, kind, bpftool):
    path = tmp_path / f"{kind}.btf"
    path.write_bytes(chain_btf(kind, 1_000))
    expected = subprocess.run([bpftool, "btf", "dump", "file", str(path), "format", "c"], capture_output=True,
                              check=True).stdout
    assert run_cli("btf", "dump", str(path), "--format", "c", "--bpftool", "7.1").stdout == expected  # the host's
