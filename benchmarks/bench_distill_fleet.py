"""Distilled module BTF at full size (issue 20): the samples' metadata headers and HEADERS
generated ones (default 200), compiled split on Debian's 6.1.0-56 vmlinux, distilled, and
relocated onto each of the 48 fleet kernels, by btfmeta and by libbpf 1.5 and 1.7 (in the
judge chroots; root), and dumped as bpftool 7.5 and 7.8 dump the distilled objects.  Any
difference stops it with the split and kernel named; at the end
it prints what was compared and how long each part took.

    python -m benchmarks.bench_distill_fleet [--headers 200]

tests/test_distill_fleet.py runs the same at CI size (BTFMETA_DISTILL_HEADERS, default 16).
A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import time

from btfmeta.btf.load import load_spec
from tests import distill_judge as J
from tests.kernel_btf import location


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--headers", type=int, default=200)
    args = parser.parse_args()
    vmlinux = location() / "vmlinux.btf"
    t0 = time.perf_counter()
    splits = J.generated_splits(args.headers, load_spec(vmlinux))
    t1 = time.perf_counter()
    kernels = J.fleet_kernels()
    t2 = time.perf_counter()
    print(f"{len(splits)} headers compiled split on vmlinux in {t1 - t0:.1f} s; {len(kernels)} kernels read in "
          f"{t2 - t1:.1f} s")
    try:
        for libbpf in J.CHROOTS:
            start = time.perf_counter()
            tally = J.judge_fleet(splits, vmlinux.read_bytes(), kernels, libbpf)
            print(f"libbpf {libbpf}: {tally.distilled} distilled byte-identically, {tally.relocated} relocations "
                  f"identical (bytes and id map), {tally.refused} refused alike, in "
                  f"{time.perf_counter() - start:.1f} s")
            start = time.perf_counter()
            dumps = J.judge_dumps(splits, vmlinux, libbpf)
            print(f"  and {dumps} `btf dump`s (alone and with --base, raw and JSON) as its bpftool's, in "
                  f"{time.perf_counter() - start:.1f} s")
    finally:
        J.cleanup()


if __name__ == "__main__":
    main()
