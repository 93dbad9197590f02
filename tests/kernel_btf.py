"""The real kernel BTF the tests use, and fetching it from Debian's kernel packages.

Two kernels, each in a per-user cache (``~/.cache/btfmeta/kernel-btf/``) as ``vmlinux.btf``
and ``modules/NAME.btf`` (split BTF on vmlinux.btf, one per NIC driver of MODULES):

    debian-6.1.0-56   Debian 12's linux-image-6.1.0-56-amd64 / -rt-amd64 (6.1.192-2), from
                      bookworm-security; ../shared/btf/debian-6.1.0-56 is used when it is there.
                      ``python -m tests.kernel_btf`` fills it (~140 MB of downloads).
    sid-RELEASE       the newest kernel Debian sid ships (linux-image-amd64's, e.g. 7.2.13+deb14),
                      from linux-binary-RELEASE-amd64 and linux-modules-RELEASE-amd64;
                      ``python -m tests.kernel_btf --sid`` fills it (~125 MB), ``sid_kernel()``
                      finds it.

Fetching runs apt-get with a private state directory and a private sources list naming the
suite the kernel is in (signed by /usr/share/keyrings/debian-archive-keyring.gpg), so it
works the same on Debian 12, 13 and sid, needs no root and leaves the system's apt alone.
``BTFMETA_DEBIAN_MIRROR`` overrides the mirror (default http://deb.debian.org/debian; the
security archive is that URL with ``-security``).  The vmlinux is the bzImage payload that the
x86 boot protocol header locates (xz in 6.1, zstd in 7.x), and ``.BTF`` is read with
btfmeta's own ELF reader, so neither extract-vmlinux nor llvm-objcopy is needed.
"""

from __future__ import annotations

import argparse
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

RELEASE = "6.1.0-56"
NAME = f"debian-{RELEASE}"
MODULES = ["ice", "igc", "mlx5_core", "mlx4_en", "veth", "virtio_net", "stmmac", "i40e", "ixgbe"]
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "btf" / NAME
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def cache_root() -> Path:
    home = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(home):
        home = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(home) / "btfmeta" / "kernel-btf"


def cache_dir() -> Path:
    return cache_root() / NAME


def location() -> Path:
    """Where the 6.1 fixtures are: ../shared if it has them, else the cache (maybe empty)."""
    return SHARED if (SHARED / "vmlinux.btf").is_file() else cache_dir()


def _release_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.name))


def sid_kernel() -> Path | None:
    """The newest ``sid-RELEASE`` directory a ``--sid`` fetch completed, or None (no network)."""
    done = [p for p in cache_root().glob("sid-*") if (p / "vmlinux.btf").is_file()]
    return max(done, key=_release_key, default=None)


def mirror() -> str:
    return os.environ.get("BTFMETA_DEBIAN_MIRROR", "http://deb.debian.org/debian").rstrip("/")


def _sources(suite: str) -> list[str]:
    if suite.endswith("-security"):
        return [f"deb [signed-by={KEYRING}] {mirror()}-security {suite} main",
                f"deb [signed-by={KEYRING}] {mirror()} {suite.removesuffix('-security')} main"]
    return [f"deb [signed-by={KEYRING}] {mirror()} {suite} main"]


class PrivateApt:
    """apt-get/apt-cache over one suite, with every state and cache file under ``root``."""

    def __init__(self, root: Path, suite: str) -> None:
        for sub in ("lists/partial", "archives/partial", "sources.list.d", "preferences.d"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "sources.list").write_text("\n".join(_sources(suite)) + "\n")
        self.suite = suite
        self.options = [f"-oDir::State={root}", "-oDir::State::Lists=lists", "-oDir::State::status=/dev/null",
                        f"-oDir::Cache={root}", "-oDir::Cache::Archives=archives",
                        f"-oDir::Etc::SourceList={root / 'sources.list'}",
                        f"-oDir::Etc::SourceParts={root / 'sources.list.d'}",
                        "-oDir::Etc::Preferences=/dev/null",
                        f"-oDir::Etc::PreferencesParts={root / 'preferences.d'}", "-oAPT::Architecture=amd64"]
        if os.geteuid() == 0:  # the private directories are not _apt's to write
            self.options.append("-oAPT::Sandbox::User=root")
        self.run("apt-get", "-q", "update")

    def run(self, tool: str, *args: str, cwd: Path | None = None) -> str:
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: fetching kernel BTF needs Debian's apt")
        done = subprocess.run([tool, *self.options, *args], cwd=cwd, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{tool} {' '.join(args)} ({self.suite}) failed:\n{done.stderr.strip()}")
        return done.stdout

    def download(self, packages: list[str], into: Path) -> None:
        missing = [p for p in packages if not self.run("apt-cache", "show", "--no-all-versions", p).strip()]
        if missing:
            raise SystemExit(f"{' '.join(missing)} no longer in Debian {self.suite}; add a snapshot "
                             f"(https://snapshot.debian.org/) of it as BTFMETA_DEBIAN_MIRROR")
        self.run("apt-get", "-q", "download", *packages, cwd=into)


def _unpack(data: bytes, name: str) -> bytes:
    """``data`` decompressed by its magic (xz, zstd: what Debian's kernels use), or as it is when not compressed."""
    if data.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMADecompressor().decompress(data)
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        import zstandard  # the test extra; Debian's kernels and modules since 6.x use zstd

        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    if data.startswith(b"\x7fELF"):
        return data
    raise SystemExit(f"{name}: neither ELF nor xz or zstd data")


def vmlinux(bzimage: bytes, name: str) -> bytes:
    """The ELF vmlinux inside an x86 bzImage: boot protocol 2.08+ gives the payload's place
    (setup_sects at 0x1f1, payload_offset/length at 0x248/0x24c, after (setup_sects+1)*512)."""
    if bzimage[0x202:0x206] != b"HdrS" or struct.unpack_from("<H", bzimage, 0x206)[0] < 0x208:
        raise SystemExit(f"{name}: not an x86 bzImage with boot protocol 2.08+")
    offset, length = struct.unpack_from("<II", bzimage, 0x248)
    start = ((bzimage[0x1F1] or 4) + 1) * 512 + offset
    return _unpack(bzimage[start:start + length], name)


def _btf(elf: bytes, name: str) -> bytes:
    from btfmeta.btf.elfsection import section

    data = section(elf, ".BTF", path=name)
    if data is None:
        raise SystemExit(f"{name}: no .BTF section")
    return data


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(f"wrote {path}", file=sys.stderr)


def _extract(deb: Path, into: Path) -> Path:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(into)], check=True)
    return into


def _write_kernel(out: Path, image: Path, target: str = "vmlinux.btf") -> None:
    vmlinuz = next(p for p in image.rglob("vmlinuz*") if p.is_file())
    _write(out / target, _btf(vmlinux(vmlinuz.read_bytes(), str(vmlinuz)), str(vmlinuz)))


def _write_modules(out: Path, tree: Path) -> None:
    for name in MODULES:
        found = sorted(tree.rglob(f"{name}.ko*"))
        if not found:
            raise SystemExit(f"module {name} not in the package")
        _write(out / "modules" / f"{name}.btf", _btf(_unpack(found[0].read_bytes(), str(found[0])), str(found[0])))


def fetch(out: Path) -> None:
    """debian-6.1.0-56: vmlinux.btf, vmlinux-rt.btf and the amd64 flavour's modules."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        apt = PrivateApt(work / "apt", "bookworm-security")
        apt.download([f"linux-image-{RELEASE}-amd64", f"linux-image-{RELEASE}-rt-amd64"], work)
        for flavor, target in (("amd64", "vmlinux.btf"), ("rt-amd64", "vmlinux-rt.btf")):
            image = _extract(next(work.glob(f"linux-image-{RELEASE}-{flavor}_*.deb")), work / flavor)
            _write_kernel(out, image, target)
        _write_modules(out, work / "amd64")


def fetch_sid(root: Path | None = None) -> Path:
    """The newest sid kernel (the one linux-image-amd64 depends on) into ROOT/sid-RELEASE;
    a complete directory is kept, a new one appears whole (written aside, then renamed)."""
    root = root or cache_root()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        apt = PrivateApt(work / "apt", "sid")
        depends = apt.run("apt-cache", "depends", "linux-image-amd64")
        match = re.search(r"Depends: linux-image-(\S+)-amd64$", depends, re.M)
        if match is None:
            raise SystemExit(f"no kernel among linux-image-amd64's dependencies in sid:\n{depends}")
        release = match.group(1)
        out = root / f"sid-{release}"
        if (out / "vmlinux.btf").is_file():
            print(f"{out} is there already", file=sys.stderr)
            return out
        apt.download([f"linux-binary-{release}-amd64", f"linux-modules-{release}-amd64"], work)
        part = root / f".sid-{release}.part"
        shutil.rmtree(part, ignore_errors=True)
        _write_kernel(part, _extract(next(work.glob("linux-binary-*.deb")), work / "binary"))
        _write_modules(part, _extract(next(work.glob("linux-modules-*.deb")), work / "modules"))
        part.rename(out)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.kernel_btf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sid", action="store_true", help="fetch the newest kernel of Debian sid")
    parser.add_argument("out", nargs="?", type=Path,
                        help="where to write (default: the cache; with --sid, where sid-RELEASE goes)")
    args = parser.parse_args()
    if args.sid:
        print(fetch_sid(args.out))
    else:
        fetch(args.out or cache_dir())


if __name__ == "__main__":
    main()
