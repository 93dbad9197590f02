"""Side-by-side speed of btfmeta's BTF reader against libbpf and bpftool, in one run.

    python benchmarks/bench_btf.py [--vmlinux PATH] [--repeat N]

1. open vmlinux.btf, find `struct sk_buff`, decode its layout closure (the types
   its members need, not following pointers) -- versus libbpf's btf__parse +
   btf__find_by_name_kind through ctypes; the full closure through pointers is
   reported beside it;
2. full raw dump of vmlinux -- versus `bpftool btf dump file` (both to /dev/null;
   ours in-process and as the `btfmeta` command).

Targets (issue 3): open+lookup within 20x libbpf, raw dump within 10x bpftool.
Timings are best-of-N wall clock; this is a benchmark, never a test.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from timing import best  # benchmarks/timing.py

from btfmeta import Kind, load_spec
from btfmeta.render.bpftool import raw_dump

DEFAULT_VMLINUX = Path(__file__).resolve().parents[2] / "shared/btf/debian-6.1.0-56/vmlinux.btf"



def ours_open_lookup(path: Path, through_pointers: bool) -> None:
    spec = load_spec(path)
    (skb,) = spec.find_by_name("sk_buff", Kind.STRUCT)
    spec.closure([skb], through_pointers=through_pointers)


def libbpf_open_lookup(lib, path: bytes) -> None:
    btf = lib.btf__parse(path, None)
    if not btf:
        raise SystemExit("libbpf could not parse the BTF")
    if lib.btf__find_by_name_kind(btf, b"sk_buff", 4) <= 0:
        raise SystemExit("libbpf did not find struct sk_buff")
    lib.btf__free(btf)


def load_libbpf():
    name = ctypes.util.find_library("bpf")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    lib.btf__parse.restype = ctypes.c_void_p
    lib.btf__parse.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    lib.btf__find_by_name_kind.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint32]
    lib.btf__free.argtypes = [ctypes.c_void_p]
    return lib


def ours_dump(path: Path) -> None:
    spec = load_spec(path)
    with open(os.devnull, "w") as sink:
        sink.write("".join(raw_dump(spec, spec.own_ids())))


def run_quiet(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vmlinux", type=Path, default=DEFAULT_VMLINUX)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    path, n = args.vmlinux, args.repeat
    lib = load_libbpf()
    bpftool = shutil.which("bpftool")
    btfmeta_cmd = shutil.which("btfmeta")
    if lib is None or bpftool is None:
        print("needs libbpf (libbpf-dev) and bpftool installed", file=sys.stderr)
        return 2

    rows = []
    t_ours = best(lambda: ours_open_lookup(path, False), n)
    t_ours_full = best(lambda: ours_open_lookup(path, True), n)
    t_lib = best(lambda: libbpf_open_lookup(lib, str(path).encode()), n)
    rows.append(("open + find sk_buff + layout closure", t_ours, "libbpf btf__parse + find", t_lib))
    rows.append(("  same, full closure through pointers", t_ours_full, "libbpf btf__parse + find", t_lib))
    t_dump = best(lambda: ours_dump(path), n)
    t_bpftool = best(lambda: run_quiet([bpftool, "btf", "dump", "file", str(path)]), n)
    rows.append(("raw dump of vmlinux (in-process)", t_dump, "bpftool btf dump file", t_bpftool))
    if btfmeta_cmd:
        t_cli = best(lambda: run_quiet([btfmeta_cmd, "btf", "dump", str(path)]), n)
        rows.append(("raw dump of vmlinux (btfmeta command)", t_cli, "bpftool btf dump file", t_bpftool))

    print(f"{path} ({path.stat().st_size:,} bytes), best of {n}")
    print(f"{'btfmeta':45} {'ms':>9}   {'reference':28} {'ms':>8}  ratio")
    for what, ours, ref, theirs in rows:
        print(f"{what:45} {ours * 1e3:9.1f}   {ref:28} {theirs * 1e3:8.2f}  {ours / theirs:5.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
