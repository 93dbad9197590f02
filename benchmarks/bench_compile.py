"""btfmeta compile of a real vmlinux.h beside clang-19 -g -target bpf -c, in one run.

    python benchmarks/bench_compile.py [--vmlinux PATH] [--repeat N]

The header is `bpftool btf dump file vmlinux.btf format c` (113k lines); clang
compiles it as the only include of an otherwise empty file. Target (issue 4):
within 10x clang. A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import best  # benchmarks/timing.py

from btfmeta.compile import compile_headers

DEFAULT_VMLINUX = Path(__file__).resolve().parents[2] / "shared/btf/debian-6.1.0-56/vmlinux.btf"



def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vmlinux", type=Path, default=DEFAULT_VMLINUX)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    clang, bpftool = shutil.which("clang-19"), shutil.which("bpftool")
    if clang is None or bpftool is None:
        print("needs clang-19 and bpftool installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        header = Path(tmp) / "vmlinux.h"
        with header.open("wb") as out:
            subprocess.run([bpftool, "btf", "dump", "file", str(args.vmlinux), "format", "c"], stdout=out, check=True)
        src = Path(tmp) / "v.c"
        src.write_text('#include "vmlinux.h"\n')
        obj = Path(tmp) / "v.o"
        t_clang = best(lambda: subprocess.run([clang, "-g", "-target", "bpf", "-c", str(src), "-o", str(obj)],
                                              check=True), args.repeat)
        t_ours = best(lambda: compile_headers([str(header)]).to_bytes(), args.repeat)
        btfmeta = shutil.which("btfmeta")
        t_cli = best(lambda: subprocess.run([btfmeta, "compile", str(header), "-o", str(Path(tmp) / "o.btf")],
                                            check=True), args.repeat) if btfmeta else None
        lines = header.read_text().count("\n")
    print(f"vmlinux.h: {lines:,} lines, best of {args.repeat}")
    print(f"clang-19 -g -target bpf -c        {t_clang * 1e3:8.0f} ms")
    print(f"btfmeta compile (in-process)      {t_ours * 1e3:8.0f} ms  {t_ours / t_clang:5.1f}x")
    if t_cli is not None:
        print(f"btfmeta compile (command)         {t_cli * 1e3:8.0f} ms  {t_cli / t_clang:5.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
