"""The README's two commands and the whole suite inside a fresh Debian chroot of one suite
(issue 19, item 4): ``python -m tests.chroot_suite trixie|sid|bookworm`` (as root).

The chroot is this script's own, ``/var/cache/btfmeta-judges/suite-SUITE`` (made once with
``debootstrap --variant=minbase``, then reused), not the judge chroots beside it: ``.ci/install``
runs apt-get there, which would add packages to, and in sid upgrade, the toolchains other tests
judge against while they run; and a minbase chroot is what a new user of that suite starts from.
Each run copies the tracked files of this checkout (as they are in the working tree) to
``/work/btfmeta`` inside, bind-mounts ``/proc``, ``/sys``, ``/dev`` (the bpf() tests) and this
host's ``../shared`` read-only at ``/work/shared`` (the kernel BTF fixtures, as the checkout has
them here), runs ``bash .ci/install && bash samples/run.sh`` and the README's test command,
prints each phase's time and the test counts, and unmounts what it mounted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .kernel_btf import mirror

REPO = Path(__file__).resolve().parent.parent
ROOT = Path(os.environ.get("BTFMETA_SUITE_CHROOTS", "/var/cache/btfmeta-judges"))
INSIDE = Path("work/btfmeta")  # the checkout, relative to the chroot; ../shared beside it
ENV = {"HOME": "/root", "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}


def make(suite: str) -> Path:
    """The suite's chroot, made by debootstrap the first time (about a minute and 200 MB)."""
    chroot = ROOT / f"suite-{suite}"
    done = chroot / ".btfmeta-debootstrapped"
    if not done.is_file():
        subprocess.run(["debootstrap", "--variant=minbase", suite, str(chroot), mirror()], check=True)
        done.write_text(suite + "\n")
    shutil.copy2("/etc/resolv.conf", chroot / "etc" / "resolv.conf")
    # the host's site-local CA certificates (a TLS-inspecting proxy's, say): a machine of this
    # site has them, and pip inside reaches PyPI only with them
    local = chroot / "usr/local/share/ca-certificates"
    for cert in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        local.mkdir(parents=True, exist_ok=True)
        shutil.copy2(cert, local / cert.name)
    # the host's apt may take a mirror snapshot whose Release files are past their Valid-Until
    host = subprocess.run(["apt-config", "shell", "V", "Acquire::Check-Valid-Until"], capture_output=True, text=True)
    if host.stdout.strip() in ("V='false'", "V='0'"):
        (chroot / "etc/apt/apt.conf.d/99btfmeta-host").write_text('Acquire::Check-Valid-Until "false";\n')
    if (chroot / "usr/sbin/update-ca-certificates").exists():
        subprocess.run(["chroot", str(chroot), "update-ca-certificates"], check=True, capture_output=True)
    return chroot


def _mounted() -> set[str]:
    return {line.split()[4].replace("\\040", " ") for line in Path("/proc/self/mountinfo").read_text().splitlines()}


def mount(chroot: Path, shared: Path) -> list[Path]:
    """Bind mounts (never recursive) the tests need; returns the ones this call made."""
    made = []
    points = [("/proc", "proc"), ("/sys", "sys"), ("/dev", "dev")] + ([(str(shared), "work/shared")]
                                                                      if shared.is_dir() else [])
    for source, target in points:
        where = chroot / target
        if str(where) in _mounted():
            continue
        where.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "--bind", source, str(where)], check=True)
        made.append(where)
        if target == "work/shared":
            subprocess.run(["mount", "-o", "remount,bind,ro", str(where)], check=True)
    return made


def copy_checkout(chroot: Path) -> Path:
    dest = chroot / INSIDE
    if any(m.startswith(str(dest)) for m in _mounted()):
        raise SystemExit(f"{dest} has a mount inside; not removing it")
    shutil.rmtree(dest, ignore_errors=True)
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def inside(chroot: Path, command: str, log, env: dict[str, str] | None = None) -> tuple[int, float, str]:
    """Runs ``command`` with bash in the checkout inside the chroot; exit status, seconds, output."""
    start = time.monotonic()
    assignments = [f"{k}={v}" for k, v in {**ENV, **(env or {})}.items()]
    argv = ["chroot", str(chroot), "env", "-i", *assignments, "bash", "-c", f"cd /{INSIDE} && {command}"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    out = []
    for line in proc.stdout:
        out.append(line)
        log.write(line)
        log.flush()
    return proc.wait(), time.monotonic() - start, "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.chroot_suite", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", help="a Debian suite debootstrap knows (bookworm, trixie, sid)")
    parser.add_argument("--strict", action="store_true", help="set BTFMETA_REQUIRE_TOOLS=1, as CI does")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared",
                        help="the kernel BTF fixtures' ../shared, mounted read-only beside the checkout")
    parser.add_argument("--log", type=Path, help="the whole output (default: ROOT/suite-SUITE.log)")
    parser.add_argument("pytest_args", nargs="*", help="what to run (default: the whole suite)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("chroot and mount need root")
    started = time.monotonic()
    chroot = make(args.suite)
    made_at = time.monotonic()
    made = mount(chroot, args.shared)
    try:
        copy_checkout(chroot)
        with open(args.log or ROOT / f"suite-{args.suite}.log", "w") as log:
            setup, setup_s, _ = inside(chroot, "bash .ci/install && bash samples/run.sh", log)
            tests, tests_s, out = (1, 0.0, "")
            if setup == 0:
                env = {"BTFMETA_REQUIRE_TOOLS": "1"} if args.strict else {}
                tests, tests_s, out = inside(chroot, ".venv/bin/python -m pytest -q -rfEs -p no:cacheprovider "
                                             + " ".join(args.pytest_args), log, env)
    finally:
        for where in reversed(made):
            subprocess.run(["umount", str(where)], check=False)
    summary = next((line for line in reversed(out.splitlines()) if re.search(r"\d+ (passed|failed)", line)), "")
    print(f"{args.suite}: chroot {made_at - started:.0f} s, install + samples {setup_s:.0f} s "
          f"(exit {setup}), tests {tests_s:.0f} s (exit {tests}): {summary.strip('= ')}")
    sys.exit(0 if setup == tests == 0 else 1)


if __name__ == "__main__":
    main()
