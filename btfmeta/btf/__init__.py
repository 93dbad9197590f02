"""BTF: the type model, a lazy reader, a byte-exact writer, and the queries on them.

Names are loaded on first use (``btfmeta.btf.kernel`` alone loads no type model)."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"Kind": ".kinds", "Spec": ".spec", "load_spec": ".load", "load_with_base": ".load", "types": ".types"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'btfmeta.btf' has no attribute {name!r}")
    value = importlib.import_module(module, __name__)
    value = value if name == "types" else getattr(value, name)
    globals()[name] = value
    return value
