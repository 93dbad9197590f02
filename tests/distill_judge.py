"""Judges of distilled base BTF: libbpf's btf__distill_base/btf__relocate (through
tests/helpers/distill_harness.c) and bpftool, each run inside a Debian judge chroot
(trixie: libbpf 1.5, bpftool 7.5, pahole 1.30; sid: libbpf 1.7, bpftool 7.8, pahole 1.32),
and a generator of metadata headers that use vmlinux types in every way a split BTF can.

The chroots are tests/judges.py's (``python -m tests.judges trixie sid`` makes them).
"""

from __future__ import annotations

import array
import functools
import os
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from btfmeta.btf.kinds import Kind
from btfmeta.btf.spec import Spec
from btfmeta.errors import BtfmetaError
from btfmeta.profiles.bpftool import PROFILES as BPFTOOL
from btfmeta.render.c_dump import dump_c

from . import cgen, judges
from .conftest import need

CHROOTS = {"1.5": "trixie", "1.7": "sid"}  # libbpf version -> chroot with that libbpf (and bpftool 7.5 / 7.8)
HARNESS = Path(__file__).parent / "helpers" / "distill_harness.c"


@dataclass
class Chroot:
    root: Path
    work: Path  # a directory of ours inside it (host path)

    def inside(self, path: Path) -> str:
        return "/" + str(Path(path).relative_to(self.root))

    def put(self, name: str, data: bytes) -> str:
        """Write ``data`` to the work directory; its path as seen inside."""
        p = self.work / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        return self.inside(p)

    def run(self, *argv: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["chroot", str(self.root), *argv], input=stdin, capture_output=True,
                              text=stdin is not None, check=check)

    def harness(self, lines: list[str]) -> list[str]:
        """Run the harness on ``lines`` (commands); one result line each."""
        out = self.run(self.inside(self.work / "distill_harness"), stdin="".join(line + "\n" for line in lines))
        results = out.stdout.splitlines()
        assert len(results) == len(lines), out.stderr
        return results


@functools.cache
def _chroot(name: str) -> Chroot | None:
    judge = judges.find(name)
    if judge is None or os.geteuid() != 0:
        return None
    root = judge.root
    (root / "tmp").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="btfmeta-distill-", dir=root / "tmp"))
    chroot = Chroot(root, work)
    shutil.copy(HARNESS, work / HARNESS.name)
    chroot.run("gcc", "-O1", "-Wall", "-o", chroot.inside(work / "distill_harness"),
               chroot.inside(work / HARNESS.name), "/usr/lib/x86_64-linux-gnu/libbpf.a", "-lelf", "-lz")
    return chroot


def chroot(libbpf: str) -> Chroot:
    """The judge chroot with libbpf ``libbpf`` and the harness built in it (skip if absent)."""
    found = _chroot(CHROOTS[libbpf])
    need(found is not None, f"judge chroot {judges.location() / CHROOTS[libbpf]} (libbpf {libbpf}) not made or not "
         f"usable (as root: python -m tests.judges {CHROOTS[libbpf]})")
    return found


def cleanup() -> None:
    """Remove the files of our work directories and the directories, one by one (nothing
    recursive under the chroots: /proc, /sys and /dev are bind-mounted there)."""
    for name in CHROOTS.values():
        found = _chroot(name) if _chroot.cache_info().currsize else None
        if found is not None and found.work.is_dir():
            for sub in [p for p in found.work.iterdir() if p.is_dir() and not p.is_symlink()] + [found.work]:
                for p in sub.iterdir():
                    if p.is_file() and not p.is_symlink():
                        p.unlink()
                sub.rmdir()
    _chroot.cache_clear()  # the next user builds the harness again


# -- headers that use the base ---------------------------------------------------------------

# vmlinux types a driver's metadata may hold by value (their C definitions are copied from the
# base, so that `compile --base` shares them), and names it may only point to (declared).
EMBEDDABLE = [("struct", "list_head"), ("struct", "in6_addr"), ("typedef", "atomic_t"), ("typedef", "refcount_t"),
              ("struct", "ethhdr"), ("struct", "callback_head"), ("struct", "syscall_tp_t"), ("enum", "pid_type"),
              ("struct", "hlist_node"), ("typedef", "__be16"), ("typedef", "__u64"), ("struct", "rb_node"),
              ("struct", "slot"), ("struct", "qspinlock"), ("typedef", "spinlock_t"), ("struct", "llist_node"),
              ("enum", "hrtimer_restart")]
POINTED = ["sk_buff", "net_device", "xdp_buff", "slot", "irq_info", "page", "bpf_prog", "no_such_base_struct"]
# names vmlinux has twice at one size: relocation is refused (libbpf cannot tell them apart)
AMBIGUOUS = [("struct", "perf_aux_event"), ("struct", "d_partition")]
_KIND = {"struct": Kind.STRUCT, "typedef": Kind.TYPEDEF, "enum": Kind.ENUM}


def _spell(kind: str, name: str) -> str:
    return name if kind == "typedef" else f"{kind} {name}"


def base_use_header(seed: int, base: Spec) -> str:
    """A metadata header (seeded): cgen's types, then base types by value (direct, through
    const/typedef/arrays, inside anonymous unions), pointers to base types (named, declared
    only, with duplicate names) and base enums."""
    r = random.Random(seed)
    chosen = r.sample(EMBEDDABLE, r.randint(2, 7)) + ([r.choice(AMBIGUOUS)] if r.random() < 0.1 else [])
    ids = [base.find_by_name(name, _KIND[kind])[r.randrange(len(base.find_by_name(name, _KIND[kind])))]
           for kind, name in chosen if base.find_by_name(name, _KIND[kind])]
    parts: list[str] = []
    dump_c(base, ids, parts.append, BPFTOOL["7.1"])  # id order, no preamble: plain C for clang
    prelude = "".join(parts)
    own = cgen.generate(seed).text
    lines = [f"struct {name};" for name in POINTED + [name for _, name in AMBIGUOUS]]
    members = []
    for i, (kind, name) in enumerate(chosen):
        t = _spell(kind, name)
        members.append(r.choice([f"{t} b{i};", f"const {t} b{i};", f"{t} b{i}[{r.randint(1, 3)}];",
                                 f"{t} *p{i};", f"union {{ {t} x; int y; }} u{i};", f"volatile {t} v{i};"]))
    for i, name in enumerate(r.sample(POINTED, r.randint(1, 4))):
        members.append(f"struct {name} *q{i};")
    r.shuffle(members)
    lines.append(f"typedef struct {{ {' '.join(members)} }} base_use_{seed}_t;")
    lines.append(f"struct base_use_{seed} {{ base_use_{seed}_t inner; base_use_{seed}_t *next; long tail; }};")
    if r.random() < 0.5:
        lines.append(f"enum base_use_{seed}_e64 {{ BU{seed}_A = 1, BU{seed}_B = 0x100000000ULL }};")
    return prelude + own + "\n".join(lines) + "\n"


# -- the fleet: every split relocated onto every kernel, by btfmeta and by libbpf ------------

FLEET = Path(os.environ.get("BTFMETA_FLEET", Path(__file__).resolve().parents[2] / "shared" / "btf" / "fleet"))


@dataclass
class FleetTally:
    distilled: int = 0  # splits distilled byte-identically
    relocated: int = 0  # (split, kernel, libbpf) relocations with the same bytes and id map
    refused: int = 0  # ... refused by both, in the same words


def result(line: str) -> str | None:
    """None for the harness's "ok", else libbpf's first warning (no "libbpf: " prefix)."""
    if line == "ok":
        return None
    return line.split(" ", 2)[2].split("|")[0].removeprefix("libbpf: ").strip()


def judge_fleet(splits: dict[str, Spec], base_raw: bytes, kernels: list[tuple[str, bytes]],
                libbpf: str) -> FleetTally:
    """Distill each split (on ``base_raw``) with btfmeta and libbpf ``libbpf``, then relocate
    the distilled split onto each kernel (one harness run per kernel, its BTF read once);
    AssertionError at the first difference."""
    from btfmeta.btf.distill import distill
    from btfmeta.btf.rebase import relocate_split

    c = chroot(libbpf)
    tally = FleetTally()
    base_in = c.put("base.btf", base_raw)
    ours, lines = {}, []
    for i, (name, split) in enumerate(splits.items()):
        ours[name] = distill(split)
        lines.append(f"distill {base_in} {c.put(f's{i}', split.to_bytes())} {c.inside(c.work / f'd{i}.base')} "
                     f"{c.inside(c.work / f'd{i}.split')}")
    assert c.harness(lines) == ["ok"] * len(lines)
    for i, (name, (dist, split)) in enumerate(ours.items()):
        assert (c.work / f"d{i}.base").read_bytes() == dist.to_bytes(), name
        assert (c.work / f"d{i}.split").read_bytes() == split.to_bytes(), name
        tally.distilled += 1
    for release, raw in kernels:
        kernel_in = c.put("kernel.btf", raw)
        kernel = Spec.parse(raw, path=release, index_cache=False)
        lines = [f"relocate {c.inside(c.work / f'd{i}.base')} {c.inside(c.work / f'd{i}.split')} {kernel_in} "
                 f"{c.inside(c.work / f'r{i}')} {c.inside(c.work / f'm{i}')}" for i in range(len(ours))]
        for i, ((name, (_, split)), line) in enumerate(zip(ours.items(), c.harness(lines), strict=True)):
            theirs = result(line)
            try:
                raw_out, id_map = relocate_split(split, kernel, libbpf=libbpf)
            except BtfmetaError as exc:
                assert theirs == exc.message, (name, release, line, exc.message)
                tally.refused += 1
                continue
            assert theirs is None, (name, release, line)
            assert (c.work / f"r{i}").read_bytes() == raw_out, (name, release)
            assert array.array("I", (c.work / f"m{i}").read_bytes()).tolist() == id_map, (name, release)
            tally.relocated += 1
    return tally


def fleet_kernels(limit: int | None = None) -> list[tuple[str, bytes]]:
    """(release, raw vmlinux BTF) of the fixture fleet's kernels (the first ``limit``)."""
    from btfmeta.fleet.inputs import discover, read_btf

    need(FLEET.is_dir(), f"fleet fixture not found at {FLEET} (BTFMETA_FLEET)")
    return [(k.release, read_btf(k.path)) for k in discover(FLEET)[:limit]]


def generated_splits(count: int, base: Spec) -> dict[str, Spec]:
    """The samples' metadata headers and ``count`` generated ones, compiled split on ``base``."""
    from btfmeta.cfront.compile import compile_headers, compile_source

    repo = Path(__file__).resolve().parents[1]
    out = {p.name: compile_headers([str(p)], base=base) for p in sorted((repo / "samples").glob("*.h"))}
    for seed in range(count):
        out[f"gen{seed}"] = compile_source(base_use_header(seed, base), path=f"gen{seed}.h", base=base)
    return out


_DUMPS = {"raw": ([], []), "json": (["-j"], ["--format", "json"])}


def judge_dumps(splits: dict[str, Spec], base: Path, libbpf: str) -> int:
    """`btf dump` of each split's distilled object, alone and with --base BASE, raw and JSON,
    against the chroot's bpftool (one shell, fed the commands on its standard input, runs them
    all); the number of dumps compared."""
    from btfmeta.btf.distill import distilled_object

    from .conftest import run_cli

    c = chroot(libbpf)
    base_in = c.put("dump-base.btf", base.read_bytes())
    script, runs = [], []
    for i, split in enumerate(splits.values()):
        obj = c.work / f"o{i}.o"
        obj.write_bytes(distilled_object(split))
        for fmt, (theirs, ours) in _DUMPS.items():
            for with_base in (False, True):
                out = c.work / f"o{i}.{fmt}.{int(with_base)}"
                extra = f"-B {base_in}" if with_base else ""
                script.append(f"bpftool {' '.join(theirs)} btf dump file {c.inside(obj)} {extra} > {c.inside(out)} "
                              f"2> {c.inside(out)}.err; echo $? > {c.inside(out)}.rc")
                runs.append((obj, out, [*ours, *(["--base", str(base)] if with_base else [])]))
    c.run("sh", stdin="".join(line + "\n" for line in script))
    for obj, out, ours in runs:
        mine = run_cli("btf", "dump", str(obj), *ours)
        if int(Path(f"{out}.rc").read_text()):
            assert mine.code == 2 and mine.stdout == b"", (obj, ours)
            assert mine.stderr.split(": ", 3)[-1].strip() in Path(f"{out}.err").read_text(), (obj, ours)
        else:
            assert mine.code == 0 and mine.stdout == out.read_bytes(), (obj, ours)
    return len(runs)
