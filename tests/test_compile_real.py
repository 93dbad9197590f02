"""compile of real headers: the 113k-line vmlinux.h that `bpftool btf dump ... format c`
makes of Debian's 6.1 vmlinux BTF (and of its PREEMPT_RT build) compiles, and every
struct, union, enum and typedef matches the original BTF."""

from __future__ import annotations

import re
import subprocess

import pytest

from btfmeta import Spec, load_spec
from btfmeta.btf import types as T
from btfmeta.btf.load import btf_bytes
from btfmeta.compile import compile_headers

_RENAMED = re.compile(r"___[0-9]+$")  # bpftool renames clashing names: foo___2


def _norm(name: str) -> str:
    return _RENAMED.sub("", name)


def _size(spec: Spec, tid: int) -> int:
    for _ in range(64):
        t = spec.type_by_id(tid)
        if isinstance(t, (T.Typedef, T.Const, T.Volatile, T.Restrict, T.TypeTag)):
            tid = t.type
            continue
        if isinstance(t, T.Array):
            return t.nelems * _size(spec, t.type)
        if isinstance(t, T.Ptr):
            return 8
        return getattr(t, "size", 0)
    raise AssertionError("typedef chain too long")


def _signature(spec: Spec, tid: int, t: T.Type) -> tuple:
    if isinstance(t, T.Composite):
        return (t.size, tuple((_norm(m.name), m.bits_offset, m.bitfield_size) for m in t.members))
    if isinstance(t, T.EnumLike):
        return (t.size, tuple((_norm(v.name), v.value) for v in t.values))
    return (_size(spec, tid),)


def _named(spec: Spec) -> dict[tuple, tuple]:
    """Per kind and name (``___N`` dropped), the layouts of every type so named: which of
    two same-named types bpftool calls ``foo___2`` depends on its dump order (id order up
    to 7.4, sorted by name since 7.5)."""
    out: dict[tuple, list] = {}
    for tid, t in spec:
        if t.name and isinstance(t, (T.Struct, T.Union, T.Enum, T.Enum64, T.Typedef)):
            out.setdefault((t.kind.name, _norm(t.name)), []).append(_signature(spec, tid, t))
    return {key: tuple(sorted(set(sigs), key=repr)) for key, sigs in out.items()}


@pytest.fixture(scope="module", params=["vmlinux.btf", "vmlinux-rt.btf"])
def vmlinux_h(request, shared_btf, bpftool, tmp_path_factory):
    path = shared_btf / request.param
    header = tmp_path_factory.mktemp("vmlinux") / "vmlinux.h"
    with header.open("wb") as out:
        subprocess.run([bpftool, "btf", "dump", "file", str(path), "format", "c"], stdout=out, check=True)
    return path, header


def test_vmlinux_h_compiles_to_the_original_layouts(vmlinux_h, clang, tmp_path):
    btf_path, header = vmlinux_h
    assert header.read_text().count("\n") > 100_000
    ours = _named(compile_headers([str(header)]))
    original = _named(load_spec(btf_path))
    assert len(original) > 10_000
    missing = sorted(set(original) - set(ours))
    assert not missing, missing[:20]
    differ = sorted(k for k in original if original[k] != ours[k])
    # Where the original (built by GCC/pahole for x86-64) differs, clang-19 -target bpf compiling
    # the same header must differ the same way: va_list is a pointer for BPF, not 24 bytes, and a
    # forward-declared enum has size 0 in clang's BTF.
    assert len(differ) <= 5, differ
    probe = tmp_path / "probe.c"
    refs = "".join(f"{'' if k == 'TYPEDEF' else k.lower() + ' '}{name} *p{i};\n"
                   for i, (k, name) in enumerate(differ))
    probe.write_text(f'#include "{header}"\n{refs}')
    obj = tmp_path / "probe.o"
    subprocess.run([clang, "-g", "-target", "bpf", "-c", str(probe), "-o", str(obj)], check=True)
    theirs = _named(Spec.parse(btf_bytes(obj.read_bytes(), str(obj))))
    for key in differ:
        if key in theirs:
            assert theirs[key] == ours[key], key
        else:  # clang's builtin typedef is not in its BTF; check what refers to it instead
            assert key == ("TYPEDEF", "__builtin_va_list") and ("TYPEDEF", "va_list") in differ
