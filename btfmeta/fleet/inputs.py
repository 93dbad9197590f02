"""A fleet of kernels as files: the BTFHub archive layout, or a list file.

    DIR/.../<release>.btf.tar.xz                one member, <release>.btf (vmlinux's BTF)
    DIR/.../<release>.btf.xz | .btf | ELF       the same, compressed or not
    DIR/.../modules/<release>/<module>.btf[.xz] split BTF of the kernel's modules on it

A list file names one kernel per line (``#`` starts a comment); each kernel's modules are
looked up beside it as above.  Decompression is streamed and bounded like every input;
a corrupt kernel is that kernel's error, not the fleet's.
"""

from __future__ import annotations

import lzma
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..btf.load import btf_bytes
from ..errors import BtfmetaError
from ..fileio import max_input, read_bytes

_SUFFIXES = (".btf.tar.xz", ".btf.xz", ".btf")


@dataclass(frozen=True)
class Kernel:
    release: str  # what `uname -r` says on it
    path: Path  # its vmlinux BTF, in one of the forms above
    modules: dict[str, Path] = field(default_factory=dict)  # module name -> its split BTF

    def selected(self, names: Sequence[str]) -> list[str]:
        """Which of ``names`` this kernel has, in order ("all": every one it has)."""
        return sorted(self.modules) if "all" in names else [m for m in names if m in self.modules]


def _release(path: Path) -> str | None:
    name = path.name
    return next((name[:-len(s)] for s in _SUFFIXES if name.endswith(s)), None)


def _modules(root: Path, release: str) -> dict[str, Path]:
    folder = root / "modules" / release
    if not folder.is_dir():
        return {}
    found = {}
    for p in sorted(folder.iterdir()):
        name = _release(p)
        if name is not None and p.is_file():
            found[name] = p
    return found


def discover(location: str | Path) -> list[Kernel]:
    """The kernels under a directory (BTFHub layout) or named by a list file, by release."""
    root = Path(location).absolute()  # workers elsewhere (Dask) read the same paths
    if root.is_dir():
        kernels = [Kernel(rel, p, _modules(p.parent, rel)) for p in sorted(root.rglob("*"))
                   if p.is_file() and "modules" not in p.relative_to(root).parts and (rel := _release(p))]
    else:
        kernels = []
        for n, line in enumerate(read_bytes(root).decode("utf-8", "replace").splitlines(), 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            p = (root.parent / text) if not Path(text).is_absolute() else Path(text)
            rel = _release(p) or p.name
            if not p.is_file():
                raise BtfmetaError(f"line {n}: no kernel BTF at {p}", path=str(root))
            kernels.append(Kernel(rel, p, _modules(p.parent, rel)))
    if not kernels:
        raise BtfmetaError("no kernel BTF here (.btf.tar.xz, .btf.xz or .btf files)", path=str(root))
    releases = [k.release for k in kernels]
    if len(set(releases)) != len(releases):
        dup = sorted({r for r in releases if releases.count(r) > 1})
        raise BtfmetaError(f"kernel release(s) named more than once: {', '.join(dup)}", path=str(root))
    return sorted(kernels, key=lambda k: k.release)


def read_btf(path: Path) -> bytes:
    """The raw BTF in one fleet file: decompressed (bounded), out of its tarball or ELF."""
    return btf_bytes(read_file(path), str(path))


def read_file(path: Path) -> bytes:
    """One fleet file decompressed (bounded) and out of its tarball: raw BTF or an ELF (a
    module built out of tree may carry ``.BTF.base`` beside ``.BTF``: ``parse_btf`` reads it)."""
    name = str(path)
    limit = max_input()
    try:
        if name.endswith(".tar.xz"):
            with tarfile.open(path, "r:xz") as tar:
                members = [m for m in tar.getmembers() if m.isfile()]
                if len(members) != 1:
                    raise BtfmetaError(f"expected one file in the archive, found {len(members)}", path=name)
                if members[0].size > limit:
                    raise BtfmetaError(f"archive member larger than the input limit ({limit} bytes)", path=name)
                data = tar.extractfile(members[0]).read()
        elif name.endswith(".xz"):
            with lzma.open(path) as f:
                data = f.read(limit + 1)
            if len(data) > limit:
                raise BtfmetaError(f"larger than the input limit ({limit} bytes) once decompressed", path=name)
        else:
            data = read_bytes(path)
    except (tarfile.TarError, lzma.LZMAError, EOFError) as exc:
        raise BtfmetaError(f"corrupt archive: {exc}", path=name) from None
    except OSError as exc:
        raise BtfmetaError(exc.strerror or str(exc), path=name) from None
    return data
