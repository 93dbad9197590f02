"""btfmeta: NIC metadata layouts as BTF, and CO-RE relocation against them.

The library API a loader imports; the ``btfmeta`` command is a thin shell over it.
Names are loaded on first use, so ``import btfmeta`` costs nothing a caller does not use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BTFFormatError": ".errors", "BtfmetaError": ".errors", "ELFFormatError": ".errors",
    "IncompatibleError": ".errors", "TypeLookupError": ".errors",
    "Kind": ".btf.kinds", "Spec": ".btf.spec", "load_spec": ".btf.load", "load_with_base": ".btf.load",
    "types": ".btf",
    "Target": ".loader", "watch": ".loader",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name == "__version__":  # one source, pyproject.toml, read as the cli reads it
        from importlib.metadata import version

        return version("btfmeta")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'btfmeta' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
