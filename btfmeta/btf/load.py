"""Open BTF from a file: raw BTF or an ELF's ``.BTF``, split on a base when one is given."""

from __future__ import annotations

import os

from ..errors import BTFFormatError
from ..fileio import read_bytes
from .elfsection import ELF_MAGIC, section
from .kernel import SYSFS_BTF, default_base
from .spec import Spec

__all__ = ["SYSFS_BTF", "btf_bytes", "default_base", "load_spec", "load_with_base"]



def btf_bytes(data: bytes, path: str) -> bytes:
    """The raw BTF inside ``data``: the data itself, or an ELF's ``.BTF`` section."""
    if not data:
        raise BTFFormatError("empty file", path=path)
    if data[:2] in (b"\x9f\xeb", b"\xeb\x9f"):
        return data
    if data[:4] == ELF_MAGIC:
        found = section(data, ".BTF", path=path)
        if found is None:
            raise BTFFormatError("ELF file has no .BTF section", path=path)
        return found
    raise BTFFormatError("neither raw BTF (magic 0xeb9f) nor an ELF file", path=path, offset=0)


def load_spec(path: str | os.PathLike[str], *, base: Spec | None = None) -> Spec:
    """Read raw BTF or an ELF's ``.BTF`` from ``path``, split on ``base`` if given."""
    name = str(path)
    return Spec.parse(btf_bytes(read_bytes(path), name), base=base, path=name)


def load_with_base(path: str | os.PathLike[str], base_path: str | os.PathLike[str] | None = None) -> Spec:
    """Load ``path``, first loading its base (given, or implied by sysfs) if any."""
    if base_path is None:
        base_path = default_base(path)
    base = load_spec(base_path) if base_path is not None else None
    return load_spec(path, base=base)
