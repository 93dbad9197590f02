"""``relocate``: apply a BPF object's CO-RE relocations against a target BTF offline, with
the decisions of the libbpf its ``libbpf=`` profile names ("1.1", "1.5", "1.7"; the newest by
default), and write the patched object (the library API; the pipeline is
``btfmeta.core.object``).

A loader that re-relocates whenever the NIC's BTF changes calls ``relocate_object`` with
the object's original bytes.
"""

from __future__ import annotations

from typing import Any

from .commands import document
from .core.driver import RelocationError, RelocationRecord
from .core.object import Relocated, relocate_object

REPORT_VERSION = 1


def report_json(result: Relocated | RelocationError, *, obj: str, target: str) -> dict[str, Any]:
    """The ``--report`` document (schema version 1)."""
    ok = isinstance(result, Relocated)
    return document(REPORT_VERSION, object=obj, target=target, outcome="relocated" if ok else "refused",
                    error=None if ok else str(result), relocations=result.report, log=result.log)


__all__ = ["RelocationError", "RelocationRecord", "Relocated", "relocate_object", "report_json"]
