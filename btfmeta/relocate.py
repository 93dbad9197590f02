"""``relocate``: apply a BPF object's CO-RE relocations against a target BTF offline,
with libbpf 1.1.2's decisions, and write the patched object.

The applied CO-RE records are dropped from ``.BTF.ext`` so that a plain loader
loads the result without any target BTF.  A loader that re-relocates whenever the
NIC's BTF changes calls ``relocate_object`` with the object's original bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .btf.spec import Spec
from .core.relocate import RelocationError, relocate
from .elf.bpfobj import BpfObject
from .elf.btfext import without_core_relo

REPORT_VERSION = 1


@dataclass
class Relocated:
    data: bytes  # the patched object
    report: list[dict[str, Any]] = field(default_factory=list)  # one entry per relocation
    log: list[str] = field(default_factory=list)  # libbpf's debug log lines, without "libbpf: "


def relocate_object(data: bytes, target: Spec, *, path: str | None = None) -> Relocated:
    """Relocate the object ``data`` against ``target`` (raises RelocationError, exit 1,
    when libbpf would refuse the object)."""
    obj = BpfObject.parse(data, path=path)
    outcome = relocate(obj, target)
    ext_bytes = None
    if obj.btf_ext is not None and obj.btf_ext_range is not None:
        off, size = obj.btf_ext_range
        ext_bytes = without_core_relo(obj.data[off:off + size], obj.btf_ext)
    return Relocated(obj.to_bytes(ext_bytes), outcome.report, outcome.log)


def report_json(result: Relocated | RelocationError, *, obj: str, target: str) -> dict[str, Any]:
    """The ``--report`` document (schema version 1)."""
    ok = isinstance(result, Relocated)
    return {
        "version": REPORT_VERSION,
        "object": obj,
        "target": target,
        "outcome": "relocated" if ok else "refused",
        "error": None if ok else str(result),
        "relocations": result.report,
        "log": result.log,
    }


__all__ = ["RelocationError", "Relocated", "relocate_object", "report_json"]
