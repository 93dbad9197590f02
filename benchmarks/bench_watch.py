"""How long from a replaced NIC BTF to the new relocated object (issue 13).

    python benchmarks/bench_watch.py [--interval S] [--changes N]

``watch`` polls every ``interval`` seconds; the target is one poll interval plus 5 ms.
The BTF is the sample v1/v2 layout split on vmlinux, replaced atomically at random
moments; latency is measured from the rename to the event with the relocated sample
object.  A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from btfmeta.loader import Files, watch

REPO = Path(__file__).resolve().parents[1]
VMLINUX = REPO.parent / "shared" / "btf" / "debian-6.1.0-56" / "vmlinux.btf"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--changes", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        layouts = []
        for header in ("mynic_metadata.h", "mynic_metadata_v2.h"):
            out = tmp / (header + ".btf")
            subprocess.run([sys.executable, "-m", "btfmeta", "compile", str(REPO / "samples" / header), "--base",
                            str(VMLINUX), "-o", str(out)], check=True)
            layouts.append(out.read_bytes())
        current = tmp / "nic.btf"
        current.write_bytes(layouts[0])
        events: queue.Queue = queue.Queue()
        stop = threading.Event()
        obj = (REPO / "samples" / "xdp_mynic.bpf.o").read_bytes()

        def follow() -> None:
            for event in watch(Files(current, VMLINUX), {"obj": obj}, interval=args.interval, stop=stop):
                events.put((time.perf_counter(), event))

        thread = threading.Thread(target=follow)
        thread.start()
        events.get(timeout=30)
        rng = random.Random(1)
        latencies = []
        for i in range(args.changes):
            time.sleep(rng.uniform(0, args.interval))
            new = tmp / "nic.new"
            new.write_bytes(layouts[(i + 1) % 2])
            t0 = time.perf_counter()
            os.replace(new, current)
            seen, event = events.get(timeout=30)
            assert event.outcomes["obj"].data is not None
            latencies.append(seen - t0)
        stop.set()
        thread.join()
    budget = args.interval + 0.005
    print(f"{args.changes} changes, poll interval {args.interval * 1e3:.0f} ms: latency median "
          f"{statistics.median(latencies) * 1e3:.1f} ms, max {max(latencies) * 1e3:.1f} ms "
          f"(target <= {budget * 1e3:.0f} ms: {'HOLDS' if max(latencies) <= budget else 'MISSES'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
