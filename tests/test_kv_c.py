"""The generated C helpers (issue 14, acceptance 1 and 2): the Python codec, the helpers
compiled for the host with gcc and clang, and the same helpers as BPF in the kernel's
XDP test runs give identical store bytes and identical results, errors included, over
seeded random operation sequences; the verifier accepts them for -mcpu=v2, v3 and v4 in
XDP and TC programs."""

from __future__ import annotations

import os
import random

import pytest

from btfmeta.kv import Store

from . import kvharness as kh
from .conftest import need, tool

# (capacity, byte order, sequences) per format: >= 2,000 sequences per format in all; the
# kernel takes at most 216 bytes of metadata in a test run.
CONFIGS = [(144, "little", 800), (32, "little", 300), (64, "big", 500), (216, "little", 400)]


@pytest.fixture(scope="session")
def kv_runner(tmp_path_factory) -> str:
    gcc = tool("gcc")
    need(os.path.isfile("/usr/include/bpf/libbpf.h"), "libbpf-dev not installed")
    need(os.geteuid() == 0, "loading BPF programs needs root")
    return str(kh.build_runner(gcc, tmp_path_factory.mktemp("kv") / "kv_runner"))


@pytest.mark.parametrize("fmt", ["seed", "rfc-v2"])
def test_three_implementations_agree(fmt, tmp_path, clang, kv_runner, record_property):
    gcc = tool("gcc")
    total, codes = 0, set()
    for capacity, order, count in CONFIGS:
        d = kh.generate(tmp_path / f"{capacity}{order}", kh.registry_text(fmt, capacity, order))
        natives = [kh.build_native(cc, d, d / f"native-{os.path.basename(cc)}") for cc in (gcc, clang)]
        max_ops = 8 if capacity <= 144 else 4
        prog = kh.build_bpf(clang, d, d / "prog.o", max_ops=max_ops)
        rng = random.Random(f"{fmt}/{capacity}/{order}")
        sequences = [kh.random_ops(rng, fmt, capacity) for _ in range(count)]
        expected = []
        for ops in sequences:
            store = Store(fmt, capacity, order)
            results = [kh.apply_python(store, op) for op in ops]
            expected.append((bytes(store), results))
        lines = [kh.line(bytes(capacity), ops) for ops in sequences]
        runs = {str(n): kh.run_lines([str(n)], lines) for n in natives}
        runs["kernel"] = kh.run_lines([kv_runner, str(prog), "kv_ops_xdp", "-", str(max_ops)], lines)
        for who, got in runs.items():
            for k, (want, have) in enumerate(zip(expected, got, strict=True)):
                assert have == want, (who, fmt, capacity, order, k, sequences[k])
        codes |= {op.ret for _, results in expected for op in results}
        total += count
    assert total >= 2000
    assert {-22, -16, -28, -2, -27} <= codes, codes  # every error happened
    record_property("kernel", os.uname().release)


@pytest.mark.parametrize("cpu", ["v2", "v3", "v4"])
def test_verifier_accepts_the_helpers(cpu, tmp_path, clang, kv_runner, record_property):
    """Both programs (XDP on data_meta, TC on skb->data_meta), both formats, both byte orders,
    the largest store a test run takes: libbpf loads the object, i.e. the verifier accepts
    every program in it."""
    kernel = os.uname().release
    for fmt in ("seed", "rfc-v2"):
        for order in ("little", "big"):
            d = kh.generate(tmp_path / f"{fmt}-{order}", kh.registry_text(fmt, 216, order))
            prog = kh.build_bpf(clang, d, d / f"prog-{cpu}.o", cpu=cpu, max_ops=4)
            got = kh.run_lines([kv_runner, str(prog), "kv_ops_tc", "-", "4"], [])
            assert got == [], f"kernel {kernel}"
    record_property("kernel", kernel)
    print(f"verifier of kernel {kernel} accepted -mcpu={cpu}")
