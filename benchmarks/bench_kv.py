"""The kv store's cost (issue 14): ns per get/set/delete/is_set of the generated BPF helpers
in the kernel (BPF_PROG_TEST_RUN with repeat, the kernel's own per-run average) beside
reading a fixed struct in the same data_meta; and the Python codec's decode throughput.

    python benchmarks/bench_kv.py [--repeat N] [--runs K]

Each program does 8 operations on a store holding keys 0-7 (u32 at even keys, u64 at odd,
rfc-v2, 144 bytes); delete/insert at key 0 is timed again on a full 216-byte store (key 0
u32, 1-24 u64, 25 u32: 196 bytes move each way).  The empty program's time (the test run's
own cost) is subtracted, and the medians of K runs of N repeats are divided by 8.  The store
is the metadata area the test run supplies (BPF_PROG_TEST_RUN's xdp_md ctx_in, data = its
length): no program calls bpf_xdp_adjust_meta.  Needs root, clang-19, gcc and libbpf-dev.
A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from btfmeta.kv import Store, load  # noqa: E402
from tests import kvharness as kh  # noqa: E402
from tests.conftest import build_libbpf_helper  # noqa: E402

PROGS = ["bench_empty", "bench_fixed", "bench_get", "bench_is_set", "bench_set", "bench_delete_insert"]
NAMES = {"bench_fixed": "fixed struct field read", "bench_get": "get (u32/u64)", "bench_is_set": "is_set",
         "bench_set": "set, in place", "bench_delete_insert": "delete or insert at key 0",
         "full_delete_insert": "  the same, full 216 bytes"}
FULL = {"k0": (0, "u32"), **{f"k{k}": (k, "u64") for k in range(1, 25)}, "k25": (25, "u32")}  # 216 bytes used


def _median(runner: Path, obj: Path, prog: str, line: str, args: argparse.Namespace) -> float:
    """The median of the kernel's average ns per run of PROG over ``args.runs`` test runs."""
    runs = []
    for _ in range(args.runs):
        out = subprocess.run([str(runner), str(obj), prog, "-", "4", str(args.repeat)], input=line,
                             capture_output=True, text=True, check=True).stdout
        _, avg, retval = out.split()
        if int(retval) != 2:  # XDP_PASS: every operation succeeded
            raise SystemExit(f"{prog} returned {retval}")
        runs.append(int(avg))
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    keys = {f"k{k}": (k, "u64" if k & 1 else "u32") for k in range(8)}
    with tempfile.TemporaryDirectory() as tmp:
        d = kh.generate(Path(tmp) / "reg", kh.registry_text("rfc-v2", 144, "little", keys=keys))
        obj = kh.build_bpf("clang-19", d, Path(tmp) / "bench.o", source=REPO / "benchmarks" / "kv_bench.bpf.c")
        runner = build_libbpf_helper("gcc", "kv_runner", Path(tmp) / "kv_runner")
        reg = load(d / "registry.toml")
        values = {f"k{k}": k * 1000 + 1 for k in range(8)}
        store = reg.encode(values)
        line = f"{store.hex()} {bytes(64).hex()}\n"
        ns = {prog: _median(runner, obj, prog, line, args) for prog in PROGS}
        full = kh.generate(Path(tmp) / "full", kh.registry_text("rfc-v2", 216, "little", keys=FULL))
        full_obj = kh.build_bpf("clang-19", full, Path(tmp) / "full.o", source=REPO / "benchmarks" / "kv_bench.bpf.c")
        full_store = load(full / "registry.toml").encode({name: 1 for name in FULL})
        assert len(full_store) == 216 and Store.parse(full_store, "rfc-v2").used() == 216
        ns["full_delete_insert"] = _median(runner, full_obj, "bench_delete_insert",
                                           f"{full_store.hex()} {bytes(64).hex()}\n", args)
        print(f"kernel {os.uname().release}, {args.runs} runs of {args.repeat} repeats, medians")
        print(f"{'operation':28} {'ns/op':>7}")
        for prog in [*PROGS[1:], "full_delete_insert"]:
            print(f"{NAMES[prog]:28} {(ns[prog] - ns['bench_empty']) / 8:7.1f}")
        print(f"{'(test run itself)':28} {ns['bench_empty']:7.1f} per run")
        n = 20_000
        t0 = time.perf_counter()
        for _ in range(n):
            reg.decode(store)
        dt = time.perf_counter() - t0
        print(f"Python decode of that store by the registry: {n / dt:,.0f} blobs/s ({dt / n * 1e6:.1f} us each, "
              f"{n * len(store) / dt / 1e6:.1f} MB/s)")
        st = reg.store(store)
        t0 = time.perf_counter()
        for _ in range(n):
            for k in range(8):
                st.get(k)
        dt = time.perf_counter() - t0
        print(f"Python Store.get: {dt / n / 8 * 1e9:,.0f} ns per get")


if __name__ == "__main__":
    main()
