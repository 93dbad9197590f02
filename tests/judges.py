"""The judge toolchains: Debian chroots whose libbpf, bpftool and pahole the differential
tests compare btfmeta with, beside the host's own (Debian 12: libbpf 1.1.2, bpftool 7.1,
pahole 1.24).

    python -m tests.judges [trixie] [sid]      # make (or complete) the chroots; root only

Each chroot is ``debootstrap --variant=minbase SUITE DIR MIRROR`` (the mirror the host's apt
already uses) with ``PACKAGES`` installed, in ``$BTFMETA_JUDGES/SUITE`` (default
``/var/cache/btfmeta-judges/SUITE``), outside the checkout and reused: a chroot that has
every package is left as it is, a missing package is installed, nothing is ever deleted.
``/proc``, ``/sys`` and ``/dev`` are bind-mounted inside (``mount --bind``, only where
nothing is mounted yet), so BPF programs load from inside the chroot too.  A stamp file
(``DIR/btfmeta-judge.json``) records the suite, mirror and installed package versions.

Tests use ``available()`` (the host, then every complete chroot): a ``Judge`` knows its
suite, its tool versions (from its dpkg database) and runs a command inside itself on
input files copied under its ``/tmp`` (``Judge.run``)."""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SUITES = ("trixie", "sid")
PACKAGES = ("clang-19", "llvm-19", "bpftool", "dwarves", "libbpf-dev", "linux-libc-dev", "gcc", "libc6-dev",
            "python3", "python3-venv", "python3-pip", "iproute2", "xz-utils", "ca-certificates", "libbpf-tools")
MOUNTS = ("proc", "sys", "dev")
STAMP = "btfmeta-judge.json"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# a clean environment for commands inside a chroot: nothing of the host's PATH or venv
CHROOT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
              "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive"}


def location() -> Path:
    return Path(os.environ.get("BTFMETA_JUDGES", "/var/cache/btfmeta-judges"))


def _dpkg_versions(root: Path, packages: Sequence[str]) -> dict[str, str]:
    """Installed version of each package that is installed in the system at ``root``."""
    admin = root / "var/lib/dpkg"
    if not (admin / "status").is_file() or shutil.which("dpkg-query") is None:
        return {}
    proc = subprocess.run(["dpkg-query", "--admindir", str(admin), "-W", "-f", "${Package} ${db:Status-Abbrev} "
                           "${Version}\n", *packages], capture_output=True, text=True)
    out = {}
    for line in proc.stdout.splitlines():
        name, status, version = (line.split() + ["", "", ""])[:3]
        if status == "ii":
            out[name.split(":")[0]] = version
    return out


def upstream(version: str) -> str:
    """'1:1.5.0-3' -> '1.5.0', '7.5.0+6.12.117-1' -> '7.5.0', '1.30-1' -> '1.30'."""
    return re.split(r"[-+~]", version.split(":", 1)[-1])[0]


def short(version: str) -> str:
    """The profile row a version picks: '1.5.0' -> '1.5'."""
    return ".".join(version.split(".")[:2])


@dataclass
class Ran:
    """A command's outcome in a judge, and the directory (on the host) it ran in."""

    returncode: int
    stdout: str | bytes
    stderr: str | bytes
    work: Path


@dataclass
class Judge:
    """One toolchain: the host ("host", root /) or a chroot of a Debian suite."""

    suite: str
    root: Path
    versions: dict[str, str] = field(default_factory=dict)  # package -> Debian version

    def tool(self, package: str) -> str | None:
        v = self.versions.get(package)
        return upstream(v) if v else None

    @property
    def libbpf(self) -> str | None:
        """The libbpf the toolchain's libbpf-dev builds against ("1.5.0")."""
        return self.tool("libbpf-dev") or self.tool("libbpf1")

    @property
    def bpftool(self) -> str | None:
        return self.tool("bpftool")

    @property
    def pahole(self) -> str | None:
        return self.tool("dwarves")

    @property
    def chroot(self) -> bool:
        return self.root != Path("/")

    def __str__(self) -> str:
        return self.suite

    def package_files(self, package: str) -> list[str]:
        """The paths (as the judge sees them) that ``package`` installed."""
        proc = subprocess.run(["dpkg-query", "--admindir", str(self.root / "var/lib/dpkg"), "-L", package],
                              capture_output=True, text=True)
        return proc.stdout.splitlines() if proc.returncode == 0 else []

    def workdir(self) -> Path:
        """A fresh directory under the judge's /tmp (as a host path), removed at exit."""
        base = self.root / "tmp" / f"btfmeta-{os.getpid()}"
        if not base.is_dir():
            base.mkdir(parents=True)
            atexit.register(shutil.rmtree, base, True)
        return Path(tempfile.mkdtemp(dir=base))

    def inside(self, path: Path) -> str:
        """``path`` (a host path under the judge's root) as the judge sees it."""
        return "/" + str(Path(path).relative_to(self.root)) if self.chroot else str(path)

    def run(self, argv: Sequence[str], files: Mapping[str, bytes | Path] = {}, *, work: Path | None = None,
            text: bool = True, timeout: float = 600) -> Ran:
        """Run ``argv`` in the judge, in ``work`` (default: a fresh workdir), after copying
        ``files`` (name -> bytes or a host path) there; relative names in ``argv`` find them."""
        work = work or self.workdir()
        for name, data in files.items():
            dest = work / name
            if isinstance(data, Path):
                shutil.copyfile(data, dest)
            else:
                dest.write_bytes(data)
        if self.chroot:
            inside = self.inside(work)
            proc = subprocess.run(list(argv), env=CHROOT_ENV, capture_output=True, text=text, timeout=timeout,
                                  preexec_fn=lambda: (os.chroot(self.root), os.chdir(inside)))
        else:
            proc = subprocess.run(list(argv), cwd=work, capture_output=True, text=text, timeout=timeout)
        return Ran(proc.returncode, proc.stdout, proc.stderr, work)


def host() -> Judge:
    return Judge("host", Path("/"), _dpkg_versions(Path("/"), PACKAGES + ("libbpf1",)))


def find(suite: str) -> Judge | None:
    """The chroot of ``suite`` if it is complete (every package in, /proc /sys /dev mounted)."""
    root = location() / suite
    if not (root / STAMP).is_file():
        return None
    versions = _dpkg_versions(root, PACKAGES + ("libbpf1",))
    if any(p not in versions for p in PACKAGES) or not all(os.path.ismount(root / m) for m in MOUNTS):
        return None
    return Judge(suite, root, versions)


def available() -> list[Judge]:
    """The host, then every complete chroot."""
    return [host()] + [j for j in map(find, SUITES) if j is not None]


def host_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror the host's apt uses (deb822 ``URIs:`` or one-line ``deb URL``),
    security archives aside."""
    files = sorted((sources / "sources.list.d").glob("*.sources")) + sorted((sources / "sources.list.d").glob("*.list"))
    files.insert(0, sources / "sources.list")
    for f in files:
        if not f.is_file():
            continue
        for line in f.read_text(errors="replace").splitlines():
            m = re.match(r"\s*(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(\S+)", line)
            if m and "security" not in m.group(1):
                return m.group(1).rstrip("/")
    return DEFAULT_MIRROR


def host_apt_options() -> list[str]:
    """apt options the host's own apt configuration sets that the chroot needs too: a
    snapshot mirror's Release files expire, and a host that accepts that says so
    (``Acquire::Check-Valid-Until "false"``)."""
    if shutil.which("apt-config") is None:
        return []
    proc = subprocess.run(["apt-config", "shell", "V", "Acquire::Check-Valid-Until"], capture_output=True, text=True)
    return ["-o", "Acquire::Check-Valid-Until=false"] if proc.stdout.strip() in ("V='false'", "V='0'") else []


def _sh(argv: Sequence[str]) -> None:
    print("+", " ".join(argv), flush=True)
    subprocess.run(list(argv), check=True)


def mount(root: Path) -> None:
    """Bind-mount /proc, /sys and /dev inside ``root`` where nothing is mounted yet."""
    for m in MOUNTS:
        target = root / m
        target.mkdir(exist_ok=True)
        if not os.path.ismount(target):
            _sh(["mount", "--bind", f"/{m}", str(target)])


def make(suite: str, mirror: str | None = None) -> Judge:
    """Make the chroot of ``suite``, or complete it: debootstrap only when it has no apt
    yet, then install only the packages it lacks."""
    root = location() / suite
    mirror = mirror or host_mirror()
    if not (root / "usr/bin/apt-get").is_file() or not (root / "var/lib/dpkg/status").is_file():
        root.mkdir(parents=True, exist_ok=True)
        _sh(["debootstrap", "--variant=minbase", suite, str(root), mirror])
    mount(root)
    missing = [p for p in PACKAGES if p not in _dpkg_versions(root, PACKAGES)]
    if missing:
        chroot = ["chroot", str(root), "env", *(f"{k}={v}" for k, v in CHROOT_ENV.items())]
        options = host_apt_options()
        _sh([*chroot, "apt-get", *options, "update", "-q"])
        _sh([*chroot, "apt-get", *options, "install", "-y", "-q", "--no-install-recommends", *missing])
    versions = _dpkg_versions(root, PACKAGES + ("libbpf1",))
    (root / STAMP).write_text(json.dumps({"suite": suite, "mirror": mirror, "packages": versions}, indent=1,
                                         sort_keys=True) + "\n")
    return Judge(suite, root, versions)


def main(argv: list[str]) -> int:
    suites = argv or list(SUITES)
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        print(f"usage: python -m tests.judges [{'] ['.join(SUITES)}] (not: {' '.join(unknown)})", file=sys.stderr)
        return 2
    for suite in suites:
        judge = make(suite)
        print(f"{suite}: {judge.root}: libbpf {judge.libbpf}, bpftool {judge.bpftool}, pahole {judge.pahole}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
