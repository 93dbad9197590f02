"""Every fixture kernel (the 48 of ../shared/btf/fleet, debian-6.1.0-56 and the newest sid
kernel when tests/kernel_btf.py --sid fetched it) against each judge
toolchain's bpftool and pahole: the C, raw and JSON dumps, and every struct and union of
`pahole -F btf FILE` (whole file), compared struct by struct with `layout`.

    python -m tests.every_kernel [RELEASE...]     # all kernels (or these), every toolchain present

prints one JSON line per kernel and toolchain: which dumps are equal, how many structs pahole
printed, which differ, and the seconds taken. tests/test_every_kernel.py runs the same check
on a sample (BTFMETA_EVERY_KERNELS)."""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from pathlib import Path

from btfmeta import load_spec
from btfmeta.btf import types as T
from btfmeta.fleet.inputs import discover, read_btf
from btfmeta.profiles.pahole import PROFILES
from btfmeta.render.pahole import Pahole

from . import kernel_btf
from .conftest import run_cli
from .test_dump_c import as_bpftool_prints
from .view_judges import NAMES, Toolchain, toolchain

FLEET = kernel_btf.SHARED.parent / "fleet"
CACHE = Path(tempfile.gettempdir()) / "btfmeta-every-kernel"


def kernels() -> dict[str, Path]:
    """Release -> the vmlinux BTF (as stored: a BTFHub tarball, or raw) of every fixture kernel."""
    found = {k.release: k.path for k in discover(FLEET)} if FLEET.is_dir() else {}
    debian = kernel_btf.location() / "vmlinux.btf"
    if debian.is_file():
        found["debian-6.1.0-56"] = debian
    sid = kernel_btf.sid_kernel()  # the newest sid kernel, where `python -m tests.kernel_btf --sid` fetched it
    if sid is not None:
        found[sid.name] = sid / "vmlinux.btf"
    return found


def raw_btf(stored: Path) -> Path:
    """A raw BTF file of a kernel's vmlinux BTF (extracted once into a cache directory)."""
    if stored.name.endswith(".btf"):
        return stored
    CACHE.mkdir(exist_ok=True)
    raw = CACHE / (stored.name.split(".btf")[0] + ".btf")
    if not raw.is_file():
        raw.write_bytes(read_btf(stored))
    return raw


def pahole_blocks(text: str) -> dict[str, str]:
    """`pahole -F btf FILE`'s output, one text per `struct NAME` / `union NAME` (the first)."""
    blocks: dict[str, str] = {}
    current: list[str] | None = None
    key = ""
    for line in text.splitlines(keepends=True):
        m = re.match(r"^(struct|union) (\S+) \{", line)
        if current is None and m:
            key, current = f"{m.group(1)} {m.group(2)}", [line]
        elif current is not None:
            current.append(line)
            if line.startswith("}"):
                blocks.setdefault(key, "".join(current))
                current = None
    return blocks


def struct_differences(tc: Toolchain, path: Path) -> tuple[int, list[str]]:
    """(structs and unions pahole printed, those whose `layout` text differs)."""
    theirs = pahole_blocks(tc.run(["pahole", "-F", "btf", "f.btf"], {"f.btf": path}).decode())
    spec = load_spec(path)
    first: dict[str, int] = {}
    for tid, t in spec:
        if isinstance(t, T.Composite) and t.name:
            first.setdefault(f"{'struct' if isinstance(t, T.Struct) else 'union'} {t.name}", tid)
    view = Pahole(spec, profile=PROFILES[tc.pahole])
    # whole-file mode prints no blank line after a type, whatever the version
    differ = [key for key, text in theirs.items()
              if key not in first or view.render(first[key]).rstrip("\n") + "\n" != text]
    return len(theirs), differ


def dumps_equal(tc: Toolchain, path: Path) -> dict[str, bool]:
    """Whether btfmeta's C, raw and JSON dumps equal this toolchain's bpftool's."""
    out = {}
    for fmt, extra in (("c", ["format", "c"]), ("raw", []), ("json", [])):
        theirs = tc.run(["bpftool", *(["-j"] if fmt == "json" else []), "btf", "dump", "file", "f.btf", *extra],
                        {"f.btf": path})
        res = run_cli("btf", "dump", str(path), "--format", fmt, "--bpftool", tc.bpftool)
        ours = as_bpftool_prints(res.stdout, tc, path) if fmt == "c" else res.stdout
        out[fmt] = res.code == 0 and ours == theirs
    return out


def check(tc: Toolchain, release: str, path: Path) -> dict:
    start = time.monotonic()
    structs, differ = struct_differences(tc, path)
    return {"kernel": release, "toolchain": tc.name, **dumps_equal(tc, path), "structs": structs,
            "differ": differ, "seconds": round(time.monotonic() - start, 1)}


def main(argv: list[str]) -> int:
    found = kernels()
    for release in argv or sorted(found):
        for name in NAMES:
            print(json.dumps(check(toolchain(name), release, raw_btf(found[release]))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
