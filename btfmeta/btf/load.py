"""Open BTF from a file: raw BTF or an ELF's ``.BTF``, split on a base when one is given.

An ELF that also carries ``.BTF.base`` (a module built out of tree since kernel 6.11:
its split BTF's distilled base) is read as libbpf >= 1.5 reads it (``btf_parse_elf``):
the split BTF on its distilled base, or, given a base, relocated onto that base
(``rebase``).  Its ``.BTF`` is never read directly on another base: its ids and string
offsets continue the distilled base's, not any kernel's.
"""

from __future__ import annotations

import os

from ..errors import BTFFormatError
from ..fileio import read_bytes
from .elfsection import ELF_MAGIC, sections
from .kernel import SYSFS_BTF, default_base
from .spec import Spec

__all__ = ["SYSFS_BTF", "btf_bytes", "btf_sections", "default_base", "load_distilled", "load_spec", "load_with_base",
           "parse_btf"]


def btf_sections(data: bytes, path: str) -> tuple[bytes, bytes | None]:
    """The raw BTF inside ``data`` (the data itself, or an ELF's ``.BTF``) and, for an ELF
    that has one, its ``.BTF.base``."""
    if not data:
        raise BTFFormatError("empty file", path=path)
    if data[:2] in (b"\x9f\xeb", b"\xeb\x9f"):
        return data, None
    if data[:4] == ELF_MAGIC:
        found = sections(data, (".BTF", ".BTF.base"), path=path)
        if ".BTF" not in found:
            raise BTFFormatError("ELF file has no .BTF section", path=path)
        return found[".BTF"], found.get(".BTF.base")
    raise BTFFormatError("neither raw BTF (magic 0xeb9f) nor an ELF file", path=path, offset=0)


def btf_bytes(data: bytes, path: str) -> bytes:
    """The raw BTF inside ``data``: the data itself, or an ELF's ``.BTF`` section."""
    return btf_sections(data, path)[0]


def parse_btf(data: bytes, path: str, *, base: Spec | None = None, index_cache: bool = True,
              libbpf: str | None = None) -> Spec:
    """The BTF in ``data`` (raw, or an ELF's ``.BTF`` with its ``.BTF.base`` if any), split
    on ``base`` if given; ``libbpf`` picks the version whose relocation rules apply."""
    btf, distilled = btf_sections(data, path)
    if distilled is None:
        return Spec.parse(btf, base=base, path=path, index_cache=index_cache)
    split = _on_distilled(btf, distilled, path)
    if base is None:
        return split
    from .rebase import relocate_split

    raw, _ = relocate_split(split, base, libbpf=libbpf)
    return Spec.parse(raw, base=base, path=path)


def load_distilled(path: str | os.PathLike[str], distilled_base: str | os.PathLike[str] | None = None) -> Spec:
    """Split BTF read on its distilled base: an ELF's ``.BTF`` on its ``.BTF.base``, or raw
    split BTF on the raw ``distilled_base``."""
    name = str(path)
    btf, distilled = btf_sections(read_bytes(path), name)
    if distilled_base is not None:
        if distilled is not None:
            raise BTFFormatError("has a .BTF.base section of its own; --distilled-base is for raw split BTF",
                                 path=name)
        dist = load_spec(distilled_base)
    elif distilled is None:
        raise BTFFormatError("no .BTF.base section (raw split BTF needs its distilled base given)", path=name)
    else:
        return _on_distilled(btf, distilled, name)
    return Spec.parse(btf, base=dist, path=name)


def _on_distilled(btf: bytes, distilled: bytes, path: str) -> Spec:
    return Spec.parse(btf, base=Spec.parse(distilled, path=f"{path}(.BTF.base)"), path=path)


def load_spec(path: str | os.PathLike[str], *, base: Spec | None = None) -> Spec:
    """Read raw BTF or an ELF's ``.BTF`` (and ``.BTF.base``) from ``path``, split on ``base`` if given."""
    return parse_btf(read_bytes(path), str(path), base=base)


def load_with_base(path: str | os.PathLike[str], base_path: str | os.PathLike[str] | None = None) -> Spec:
    """Load ``path``, first loading its base (given, or implied by sysfs) if any."""
    if base_path is None:
        base_path = default_base(path)
    base = load_spec(base_path) if base_path is not None else None
    return load_spec(path, base=base)
