"""Every vmlinux-based job beside the C tool doing the same job, in one run (issue 12).

    python benchmarks/bench_jobs.py [--repeat N] [--btfmeta PATH] [--only ROW]

Whole processes, btfmeta and the reference alternating, medians of N runs, peak RSS of
each child from wait4(); in-process rows time the library after its imports.  Each row
states its target and whether it holds.  A benchmark, never a test: run it on the
2-core machine, idle, after `bash .ci/install` (btfmeta from .venv, Debian's Python).

The loader row needs root (libbpf loads the program into the kernel) and gcc + libbpf-dev
(tests/helpers/core_loader.c).  The index cache is warmed first, as a loader's would be;
the cold-cache figure is printed beside it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "btf" / "debian-6.1.0-56"
MIB = 1024.0


def run(cmd: list[str], **kw) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return wall, usage.ru_maxrss / MIB


def side_by_side(ours: list[str], theirs: list[str] | None, repeat: int, **kw) -> dict:
    o, t = [], []
    for _ in range(repeat):
        o.append(run(ours, **kw))
        if theirs:
            t.append(run(theirs, **kw))
    out = {"ours": statistics.median(x[0] for x in o), "ours_rss": max(x[1] for x in o)}
    if theirs:
        out |= {"theirs": statistics.median(x[0] for x in t), "theirs_rss": max(x[1] for x in t)}
    return out


def in_process(code: str, repeat: int) -> list[float]:
    """Milliseconds printed by ``code`` (run ``repeat`` times in fresh interpreters)."""
    values = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             cwd=tempfile.gettempdir())  # the installed btfmeta, not the source tree
        values.append([float(x) for x in out.stdout.split()])
    return [statistics.median(col) for col in zip(*values, strict=True)]


def report(name: str, r: dict, *, target: str, holds: bool) -> None:
    theirs = f"{r['theirs'] * 1e3:8.0f} ms {r['theirs_rss']:6.0f} MiB" if "theirs" in r else " " * 24
    ratio = f"{r['ours'] / r['theirs']:5.1f}x" if "theirs" in r else "      "
    print(f"{name:44} {r['ours'] * 1e3:8.0f} ms {r['ours_rss']:6.0f} MiB | {theirs} | {ratio} "
          f"{'HOLDS' if holds else 'MISSES'} ({target})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--btfmeta", default=str(REPO / ".venv" / "bin" / "btfmeta"))
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    bm = args.btfmeta if Path(args.btfmeta).exists() else shutil.which("btfmeta")
    clang, bpftool, pahole = shutil.which("clang-19"), shutil.which("bpftool"), shutil.which("pahole")
    vmlinux = SHARED / "vmlinux.btf"
    n = args.repeat
    subprocess.run([bm, "btf", "dump", str(vmlinux), "--type", "1"], capture_output=True, check=True)  # warm the cache
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        split = tmp / "v2.split.btf"
        subprocess.run([bm, "compile", str(REPO / "samples" / "mynic_metadata_v2.h"), "--base", str(vmlinux), "-o",
                        str(split)], check=True)
        obj = REPO / "samples" / "xdp_mynic.bpf.o"
        rows = args.only.split(",") if args.only else ["relocate", "inproc", "raw", "c", "layout", "compile",
                                                       "vmlinuxh", "version", "lookup"]
        print(f"{'job':44} {'btfmeta':>20} | {'reference':>22} | ratio")
        if "relocate" in rows:
            loader = tmp / "core_loader"
            ref = None
            if os.geteuid() == 0 and shutil.which("gcc"):
                subprocess.run(["gcc", "-O1", "-o", str(loader), str(REPO / "tests/helpers/core_loader.c"), "-lbpf"],
                               check=True)
                merged = tmp / "v2.raw.btf"  # libbpf is given the same layout as one raw file
                code = ("import sys; from btfmeta import load_spec; "
                        "open(sys.argv[3], 'wb').write(load_spec(sys.argv[1], base=load_spec(sys.argv[2]))"
                        ".merged().to_bytes())")
                subprocess.run([sys.executable, "-c", code, str(split), str(vmlinux), str(merged)], check=True)
                ref = [str(loader), str(obj), str(merged)]
            r = side_by_side([bm, "relocate", str(obj), "--btf", str(split), "--base", str(vmlinux), "-o",
                              str(tmp / "out.o")], ref, n)
            report("relocate sample vs v2 split on vmlinux", r, target="<= 150 ms wall", holds=r["ours"] <= 0.150)
        if "inproc" in rows:
            code = f"""
import time
t0 = time.perf_counter()
from btfmeta import load_spec
from btfmeta.relocate import relocate_object
t1 = time.perf_counter()
vm = load_spec({str(vmlinux)!r}); nic = load_spec({str(split)!r}, base=vm)
data = open({str(obj)!r}, 'rb').read(); relocate_object(data, nic)
t2 = time.perf_counter()
relocate_object(data, nic)
t3 = time.perf_counter()
print((t2 - t1) * 1e3, (t3 - t2) * 1e3)
"""
            cold, warm = in_process(code, n)
            print(f"{'in-process cold: vmlinux + NIC + relocation':44} {cold:8.1f} ms {'':>35} "
                  f"{'HOLDS' if cold <= 30 else 'MISSES'} (<= 30 ms)")
            print(f"{'in-process warm re-relocation':44} {warm:8.2f} ms {'':>35} "
                  f"{'HOLDS' if warm <= 1 else 'MISSES'} (<= 1 ms)")
            nocache = in_process("import os; os.environ['BTFMETA_NO_CACHE'] = '1'\n" + code, n)[0]
            print(f"{'  the same cold, without the index cache':44} {nocache:8.1f} ms")
        if "raw" in rows:
            r = side_by_side([bm, "btf", "dump", str(vmlinux)], [bpftool, "btf", "dump", "file", str(vmlinux)], n)
            report("btf dump vmlinux (raw)", r, target="<= 2x wall, <= 30 MiB",
                   holds=r["ours"] <= 2 * r["theirs"] and r["ours_rss"] <= 30)
        if "c" in rows:
            r = side_by_side([bm, "btf", "dump", str(vmlinux), "--format", "c"],
                             [bpftool, "btf", "dump", "file", str(vmlinux), "format", "c"], n)
            report("btf dump vmlinux --format c", r, target="<= 3x wall", holds=r["ours"] <= 3 * r["theirs"])
        if "layout" in rows:
            r = side_by_side([bm, "layout", str(vmlinux), "sk_buff"], [pahole, "-F", "btf", "-C", "sk_buff",
                                                                       str(vmlinux)], n)
            report("layout vmlinux sk_buff", r, target="<= 1.5x pahole", holds=r["ours"] <= 1.5 * r["theirs"])
        if "compile" in rows or "vmlinuxh" in rows:
            pipeline = tmp / "pipeline.sh"
            pipeline.write_text(f"""set -e
printf '#include "%s"\\n' "$1" > "$2.c"
{clang} -g -fno-eliminate-unused-debug-types -target bpf -c "$2.c" -o "$2.o"
{pahole} --btf_base {vmlinux} --btf_encode_detached="$2.btf" "$2.o"
""")
        if "compile" in rows:
            header = REPO / "samples" / "mynic_metadata.h"
            r = side_by_side([bm, "compile", str(header), "--base", str(vmlinux), "-o", str(tmp / "c.btf")],
                             ["bash", str(pipeline), str(header), str(tmp / "p")], n)
            report("compile mynic_metadata.h --base vmlinux", r, target="<= 2x clang+pahole",
                   holds=r["ours"] <= 2 * r["theirs"])
        if "vmlinuxh" in rows:
            header = tmp / "vmlinux.h"
            with header.open("wb") as f:
                subprocess.run([bpftool, "btf", "dump", "file", str(vmlinux), "format", "c"], stdout=f, check=True)
            plain = tmp / "plain.sh"
            plain.write_text(pipeline.read_text().replace(f"--btf_base {vmlinux} ", ""))
            r = side_by_side([bm, "compile", str(header), "-o", str(tmp / "v.btf")],
                             ["bash", str(plain), str(header), str(tmp / "q")], max(3, n // 2))
            report("compile vmlinux.h (every type)", r, target="<= 1.5x clang+pahole",
                   holds=r["ours"] <= 1.5 * r["theirs"])
        if "version" in rows:
            r = side_by_side([bm, "--version"], None, n)
            report("btfmeta --version", r, target="<= 60 ms", holds=r["ours"] <= 0.060)
        if "lookup" in rows:
            code = f"""
import resource
from btfmeta import load_spec
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
vm = load_spec({str(vmlinux)!r}); vm.type_by_id(vm.find('sk_buff'))
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""
            (grown,) = in_process(code, n)
            print(f"{'memory to load vmlinux and look one type up':44} {grown:8.1f} MiB above the interpreter "
                  f"{'HOLDS' if grown <= 15 else 'MISSES'} (<= 15 MiB)")
    print(f"(medians of {n}; peak RSS is the maximum over the runs)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
