"""resolve: access paths to offsets and sizes equal to what clang computes (offsetof and
sizeof in _Static_asserts that clang-19 compiles), for every path in the samples and for
paths in generated headers; the JSON and Python forms carry the same numbers."""

from __future__ import annotations

import json
import subprocess

from btfmeta import Spec, load_spec
from btfmeta.btf import types as T
from btfmeta.compile import compile_headers
from btfmeta.core.btfutil import skip_mods_and_typedefs
from btfmeta.resolve import resolve

from .cgen import generate
from .conftest import REPO, run_cli

SAMPLES = REPO / "samples"


def paths(spec: Spec, tid: int, prefix: str, depth: int = 0) -> list[str]:
    """Every member path below a struct/union, through anonymous members and arrays."""
    _, t = skip_mods_and_typedefs(spec, tid)
    out = []
    for m in getattr(t, "members", []):
        _, mt = skip_mods_and_typedefs(spec, m.type)
        if not m.name:
            if isinstance(mt, T.Composite) and depth < 4:
                out += paths(spec, m.type, prefix, depth + 1)
            continue
        p = f"{prefix}.{m.name}"
        out.append(p)
        if isinstance(mt, T.Array) and mt.nelems:
            for i in sorted({0, mt.nelems - 1}):
                out.append(f"{p}[{i}]")
                _, et = skip_mods_and_typedefs(spec, mt.type)
                if isinstance(et, T.Composite) and depth < 4:
                    out += paths(spec, mt.type, f"{p}[{i}]", depth + 1)
        elif isinstance(mt, T.Composite) and depth < 4:
            out += paths(spec, m.type, p, depth + 1)
    return out


def clang_agrees(clang: str, tmp, header, spec_path, accesses: list[str]) -> None:
    res = run_cli("resolve", *accesses, "--btf", str(spec_path), "--format", "c")
    assert res.code == 0, res.stderr
    out = tmp / "resolved.h"
    out.write_bytes(res.stdout)
    src = tmp / "check.c"
    src.write_text(f'#include "{header}"\n#include "{out}"\n')
    proc = subprocess.run([clang, "-target", "bpf", "-fsyntax-only", str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[:2000]


def test_every_sample_path(tmp_path, clang):
    for header, root in [("mynic_metadata.h", "mynic_metadata"), ("mynic_metadata_v2.h", "mynic_metadata___v2"),
                         ("xdp_rx_meta.h", "xdp_rx_meta")]:
        btf = tmp_path / f"{root}.btf"
        assert run_cli("compile", str(SAMPLES / header), "-o", str(btf)).code == 0
        spec = load_spec(btf)
        accesses = paths(spec, spec.find(root, T.Kind.STRUCT), root)
        assert len(accesses) > 5
        clang_agrees(clang, tmp_path, SAMPLES / header, btf, accesses)


def test_flavor_and_formats(tmp_path):
    btf = tmp_path / "v2.btf"
    assert run_cli("compile", str(SAMPLES / "mynic_metadata_v2.h"), "-o", str(btf)).code == 0
    doc = json.loads(run_cli("resolve", "mynic_metadata.hash", "mynic_metadata.csum_ok", "--btf", str(btf)).stdout)
    hash_, csum = doc["fields"]
    assert hash_["root"] == "struct mynic_metadata___v2"  # found through the flavor
    assert (hash_["offset"], hash_["size"], hash_["bit_size"]) == (8, 8, 0)
    assert csum["bit_size"] == 1 and csum["size"] == 0
    module = run_cli("resolve", "mynic_metadata.hash", "--btf", str(btf), "--format", "python").stdout.decode()
    ns: dict = {}
    exec(compile(module, "resolved.py", "exec"), ns)
    assert ns["MYNIC_METADATA_HASH"].offset == 8 and ns["MYNIC_METADATA_HASH"].size == 8
    bad = run_cli("resolve", "mynic_metadata.nope", "--btf", str(btf))
    assert bad.code == 2 and "no member 'nope'" in bad.stderr


def test_generated_paths(tmp_path, clang):
    checked = 0
    for seed in range(60):
        gen = generate(seed)
        header = tmp_path / f"g{seed}.h"
        header.write_text(gen.text)
        spec = compile_headers([str(header)])
        btf = tmp_path / f"g{seed}.btf"
        btf.write_bytes(spec.to_bytes())
        accesses = []
        for name in gen.names:
            if name.startswith("struct ") or name.startswith("union "):
                kind, tag = name.split()
                if "___" in tag:
                    continue  # a flavored name resolves through its essential name; checked above
                tid = spec.find(tag, T.Kind.STRUCT if kind == "struct" else T.Kind.UNION)
                accesses += paths(spec, tid, tag)
        accesses = [a for a in accesses if all(r.bit_size == 0 for r in resolve(spec, [a]))]
        if accesses:
            clang_agrees(clang, tmp_path, header, btf, accesses)
            checked += len(accesses)
    assert checked > 300
