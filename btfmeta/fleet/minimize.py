"""``minimize --fleet``: one minimized BTF per kernel, in the fleet's own tree layout.

For ``DIR/<path>/<release>.btf.tar.xz`` it writes ``OUT/<path>/<release>.btf.tar.xz``
(one member, ``<release>.btf``, as BTFHub has it) with what the objects' relocations need
of vmlinux; for each selected module, ``OUT/<path>/modules/<release>/<module>.btf.xz``
with what they need of vmlinux and the module together (one standalone BTF: libbpf takes
it as ``btf_custom_path``).  Archives are written deterministically (no times, no owners).
"""

from __future__ import annotations

import io
import lzma
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..btf.load import parse_btf
from ..btf.spec import Spec
from ..core.driver import RelocationError
from ..core.minimize import minimize
from ..errors import BtfmetaError
from ..fileio import write_output
from .inputs import Kernel, read_btf, read_file
from .pool import map_kernels


@dataclass
class Minimized:
    release: str
    files: dict[str, bytes] = field(default_factory=dict)  # relative output path -> contents
    sizes: dict[str, int] = field(default_factory=dict)  # relative output path -> raw BTF bytes
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # target_type_id relocations (core.minimize)


def xz_tar(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o644, 0
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def minimize_kernel(kernel: Kernel, shared: tuple[dict[str, bytes], Sequence[str], Path, str | None]) -> Minimized:
    objects, modules, root, libbpf = shared
    out = Minimized(kernel.release)
    where = kernel.path.parent.relative_to(root) if kernel.path.is_relative_to(root) else Path()
    try:
        vmlinux = Spec.parse(read_btf(kernel.path), path=str(kernel.path), index_cache=False)
        spec, kept = minimize(objects, vmlinux, libbpf)
        raw = spec.to_bytes()
        out.warnings += [f"vmlinux: {note['message']}" for note in kept.type_id_notes(vmlinux)]
        name = f"{kernel.release}.btf"
        out.files[str(where / f"{name}.tar.xz")] = xz_tar(name, raw)
        out.sizes[str(where / f"{name}.tar.xz")] = len(raw)
    except (BtfmetaError, RelocationError) as exc:
        out.errors.append(f"vmlinux: {exc}")
        return out
    for module in kernel.selected(modules):
        path = kernel.modules[module]
        rel = str(where / "modules" / kernel.release / f"{module}.btf.xz")
        try:
            split = parse_btf(read_file(path), str(path), base=vmlinux)
            spec, kept = minimize(objects, split, libbpf)
        except (BtfmetaError, RelocationError) as exc:
            out.errors.append(f"{module}: {exc}")
            continue
        raw = spec.to_bytes()
        out.warnings += [f"{module}: {note['message']}" for note in kept.type_id_notes(split)]
        out.files[rel] = lzma.compress(raw)
        out.sizes[rel] = len(raw)
    return out


def minimize_fleet(kernels: Sequence[Kernel], objects: dict[str, bytes], root: Path, outdir: Path, *,
                   modules: Sequence[str] = (), jobs: int = 1, progress: Callable[[int, int, str], None] | None = None,
                   scheduler: str | None = None, libbpf: str | None = None) -> list[Minimized]:
    """Minimize every kernel (on ``jobs`` processes or a Dask cluster) and write the results
    under ``outdir`` (here, whatever computed them)."""
    results = map_kernels(minimize_kernel, kernels, (objects, tuple(modules), Path(root).absolute(), libbpf), jobs=jobs,
                          progress=progress, scheduler=scheduler)
    for r in results:
        for rel, data in sorted(r.files.items()):
            path = outdir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            write_output(path, data)
    return results
