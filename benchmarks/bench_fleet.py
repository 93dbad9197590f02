"""The fleet at scale (issue 15): PROGRAMS objects x KERNELS distinct kernels.

    python benchmarks/bench_fleet.py [--kernels 1000] [--programs 20] [--skip-bpftool]

The kernels are made from the fixture's 48 (../shared/btf/fleet): copy i is kernel
i % 48 with a seeded edit to a few struct layouts (members of sk_buff, net_device and two
random structs moved by a few bytes), so no cache or deduplication by content can skip a
kernel; they are written as raw .btf files in a temporary tree (~4.4 MB each).  The
programs are generated: each reads its own mix of sk_buff, net_device and xdp_buff fields,
some behind bpf_core_field_exists.  Timed, whole commands: `check --fleet` on 1 and 2 local
processes, with `--dask local:2` (the cluster's start-up included), and on a cluster
started with `dask scheduler` / `dask worker` of 1 and then 2 workers; then `minimize
--fleet` beside a loop of `bpftool gen min_core_btf` over the same kernels.  Target: 20 x 1,000 in <= 2
minutes on 2 cores, >= 1.8x from 1 to 2 workers.  A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from btfmeta import Kind, Spec
from btfmeta.btf import types as T
from btfmeta.fleet.inputs import discover, read_btf

REPO = Path(__file__).resolve().parents[1]
FLEET = REPO.parent / "shared" / "btf" / "fleet"
FIELDS = {
    "sk_buff": [("len", "unsigned int"), ("hash", "__u32"), ("protocol", "__u16"), ("mark", "__u32"),
                ("priority", "__u32"), ("data_len", "unsigned int"), ("mac_len", "__u16"), ("napi_id", "unsigned int")],
    "net_device": [("ifindex", "int"), ("mtu", "unsigned int"), ("flags", "unsigned int"), ("irq", "int"),
                   ("priv_flags", "unsigned long long"), ("devlink_port", "void *"), ("gso_max_size", "unsigned int"),
                   ("num_rx_queues", "unsigned int")],
    "xdp_buff": [("data", "void *"), ("data_end", "void *"), ("frame_sz", "__u32"), ("flags", "__u32")],
}


def program(seed: int) -> str:
    rng = random.Random(seed)
    lines = ["#include <linux/types.h>", "#include <linux/bpf.h>", "#include <bpf/bpf_helpers.h>",
             "#include <bpf/bpf_core_read.h>"]
    for name, fields in FIELDS.items():
        body = " ".join(f"{t} {f};" for f, t in fields)
        lines.append(f"struct {name} {{ {body} }} __attribute__((preserve_access_index));")
    for k in range(4):
        name = rng.choice(sorted(FIELDS))
        picks = rng.sample(FIELDS[name], 2)
        reads = []
        for f, _ in picks:
            read = f"({{ __u64 v = 0; bpf_probe_read_kernel(&v, sizeof(p->{f}), &p->{f}); v; }})"
            reads.append(f"(bpf_core_field_exists(p->{f}) ? {read} : 0)" if rng.random() < 0.5 else read)
        lines.append(f'SEC("xdp") int p{seed}_{k}(struct xdp_md *ctx) {{ struct {name} *p = (void *)(long)ctx->data; '
                     f"return {' + '.join(reads)}; }}")
    lines.append('char LICENSE[] SEC("license") = "GPL";')
    return "\n".join(lines) + "\n"


def edit(raw: bytes, spec: Spec, rng: random.Random) -> bytes:
    """Move members of sk_buff, net_device and two random structs by 8 to 64 bytes."""
    buf = bytearray(raw)
    hdr_len, type_off = struct.unpack_from("<II", raw, 4)[0], struct.unpack_from("<I", raw, 8)[0]
    structs = [spec.find(n, Kind.STRUCT) for n in ("sk_buff", "net_device")]
    structs += rng.sample([tid for tid in range(1, spec.type_cnt) if spec.kind_of(tid) == Kind.STRUCT], 2)
    for tid in structs:
        t = spec.type_by_id(tid)
        if not isinstance(t, T.Struct) or len(t.members) < 2:
            continue
        at = hdr_len + type_off + 4 * spec._offsets[tid - spec.start_id]
        start = rng.randrange(1, len(t.members))
        shift = 8 * rng.choice([8, 16, 32, 64])
        for i in range(start, len(t.members)):
            word = at + 12 + 12 * i + 8
            (off,) = struct.unpack_from("<I", buf, word)  # bit offset in the low bits either way
            struct.pack_into("<I", buf, word, off + shift)
        (size,) = struct.unpack_from("<I", buf, at + 8)
        struct.pack_into("<I", buf, at + 8, size + shift // 8)
    return bytes(buf)


def make_fleet(tmp: Path, kernels: int, programs: int) -> tuple[str, list[str]]:
    """``kernels`` edited copies of the fixture's kernels under ``tmp/fleet`` and ``programs``
    objects compiled with clang-19: the fleet directory and the objects' paths."""
    bases = [(k.release, read_btf(k.path)) for k in discover(FLEET)]
    specs = [Spec.parse(raw, index_cache=False) for _, raw in bases]
    tree = tmp / "fleet" / "debian" / "12" / "x86_64"
    tree.mkdir(parents=True)
    for i in range(kernels):
        release, raw = bases[i % len(bases)]
        (tree / f"{release}-copy{i:04d}.btf").write_bytes(edit(raw, specs[i % len(bases)], random.Random(i)))
    objs = []
    for seed in range(programs):
        src = tmp / f"p{seed}.c"
        src.write_text(program(seed))
        subprocess.run(["clang-19", "-g", "-O2", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c",
                        str(src), "-o", str(tmp / f"p{seed}.o")], check=True)
        objs.append(str(tmp / f"p{seed}.o"))
    return str(tmp / "fleet"), objs


def dask_cluster(cmd: list[str]) -> dict[int, float]:
    """``cmd --scheduler ADDR`` timed on a cluster started with Dask's own commands (a
    scheduler, then one and two worker processes), as a fleet team would run it."""
    import socket

    from dask.distributed import Client

    dask = str(Path(sys.executable).with_name("dask"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    times = {}
    try:
        for n in (1, 2):
            procs.append(subprocess.Popen([dask, "worker", address, "--nworkers", "1", "--nthreads", "1",
                                           "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(2)
            with Client(address, timeout=30) as client:
                client.wait_for_workers(n, timeout=60)
            times[n] = timed([*cmd, "--scheduler", address])
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    return times


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode not in (0, 1):
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernels", type=int, default=1000)
    ap.add_argument("--programs", type=int, default=20)
    ap.add_argument("--skip-bpftool", action="store_true")
    args = ap.parse_args()
    btfmeta = [sys.executable, "-m", "btfmeta"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        fleet, objs = make_fleet(tmp, args.kernels, args.programs)
        tree = Path(fleet) / "debian" / "12" / "x86_64"
        print(f"{args.kernels} kernels made in {time.perf_counter() - t0:.0f} s; {args.programs} programs", flush=True)
        rows = {}
        for label, extra in (("1 process", ["-j", "1"]), ("2 processes", ["-j", "2"]),
                             ("Dask, 2 local workers", ["--dask", "local:2"])):
            rows[label] = timed([*btfmeta, "check", *objs, "--fleet", fleet, "--format", "csv", *extra])
            per_min = args.kernels / rows[label] * 60
            print(f"check --fleet, {label:24} {rows[label]:7.1f} s  {per_min:8.0f} kernels/min", flush=True)
        for n, t in dask_cluster([*btfmeta, "check", *objs, "--fleet", fleet, "--format", "csv"]).items():
            rows[f"Dask cluster, {n} worker{'s' if n > 1 else ''}"] = t
            print(f"check --fleet, Dask cluster of {n} worker{'s' if n > 1 else ' '} {t:7.1f} s  "
                  f"{args.kernels / t * 60:8.0f} kernels/min", flush=True)
        print(f"scaling 1 -> 2 processes: {rows['1 process'] / rows['2 processes']:.2f}x; Dask cluster 1 -> 2 "
              f"workers: {rows['Dask cluster, 1 worker'] / rows['Dask cluster, 2 workers']:.2f}x")
        held = rows["2 processes"] <= 120 and args.kernels >= 1000 and args.programs >= 20
        print(f"target 20 x 1000 in <= 120 s on 2 cores: {'HOLDS' if held else 'see above'}")
        t = timed([*btfmeta, "minimize", *objs, "--fleet", fleet, "-j", "2", "-o", str(tmp / "min")])
        print(f"minimize --fleet -j 2: {t:.1f} s", flush=True)
        if not args.skip_bpftool and shutil.which("bpftool"):
            t0 = time.perf_counter()
            for path in sorted(tree.glob("*.btf")):
                subprocess.run(["bpftool", "gen", "min_core_btf", str(path), str(tmp / "b.btf"), *objs], check=True,
                               capture_output=True)
            print(f"bpftool gen min_core_btf loop (1 process): {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
