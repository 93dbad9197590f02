"""The real kernel BTF the tests use: ../shared/btf/debian-6.1.0-56 when it is there, else
a per-user cache that ``python -m tests.kernel_btf`` fills from Debian's kernel packages.

Fetching needs apt-get (Debian's package lists) and ~140 MB of downloads; it extracts
``.BTF`` from the vmlinux inside each vmlinuz (xz) and from each NIC driver module with
btfmeta's own ELF reader, so no llvm-objcopy is needed:

    vmlinux.btf, vmlinux-rt.btf      linux-image-6.1.0-56-amd64 / -rt-amd64 (6.1.192-2)
    modules/NAME.btf                 split BTF on vmlinux.btf, from the amd64 package
"""

from __future__ import annotations

import lzma
import os
import subprocess
import sys
import tempfile
from pathlib import Path

RELEASE = "6.1.0-56"
NAME = f"debian-{RELEASE}"
MODULES = ["ice", "igc", "mlx5_core", "mlx4_en", "veth", "virtio_net", "stmmac", "i40e", "ixgbe"]
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "btf" / NAME


def cache_dir() -> Path:
    home = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(home):
        home = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(home) / "btfmeta" / "kernel-btf" / NAME


def location() -> Path:
    """Where the fixtures are: ../shared if it has them, else the cache (maybe empty)."""
    return SHARED if (SHARED / "vmlinux.btf").is_file() else cache_dir()


def _section(elf: bytes, name: str) -> bytes:
    from btfmeta.btf.elfsection import section

    data = section(elf, ".BTF", path=name)
    if data is None:
        raise SystemExit(f"{name}: no .BTF section")
    return data


def _vmlinux(vmlinuz: Path) -> bytes:
    blob = vmlinuz.read_bytes()
    start = blob.find(b"\xfd7zXZ\x00")
    if start < 0:
        raise SystemExit(f"{vmlinuz}: no xz-compressed kernel inside")
    return lzma.LZMADecompressor().decompress(blob[start:])


def fetch(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "modules").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        packages = [f"linux-image-{RELEASE}-amd64", f"linux-image-{RELEASE}-rt-amd64"]
        subprocess.run(["apt-get", "download", *packages], cwd=work, check=True)
        for flavor, target in (("amd64", "vmlinux.btf"), ("rt-amd64", "vmlinux-rt.btf")):
            deb = next(work.glob(f"linux-image-{RELEASE}-{flavor}_*.deb"))
            root = work / flavor
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
            vmlinuz = next(root.glob("boot/vmlinuz-*"))
            (out / target).write_bytes(_section(_vmlinux(vmlinuz), str(vmlinuz)))
            print(f"wrote {out / target}", file=sys.stderr)
        for name in MODULES:
            found = [p for p in (work / "amd64" / "lib" / "modules").rglob(f"{name}.ko*")]
            if not found:
                raise SystemExit(f"module {name} not in the package")
            data = found[0].read_bytes()
            if found[0].suffix == ".xz":
                data = lzma.decompress(data)
            (out / "modules" / f"{name}.btf").write_bytes(_section(data, str(found[0])))
            print(f"wrote {out / 'modules' / (name + '.btf')}", file=sys.stderr)


def main() -> None:
    fetch(Path(sys.argv[1]) if len(sys.argv) > 1 else cache_dir())


if __name__ == "__main__":
    main()
