"""CO-RE's pipeline for a whole object: read it, relocate every program against a target
BTF, and write it back with the applied CO-RE records dropped from ``.BTF.ext`` (length
0, bytes zeroed, every other offset unchanged), so a plain loader needs no target BTF."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..btf.spec import Spec
from ..elf.bpfobj import BpfObject
from ..elf.btfext import without_core_relo
from .driver import RelocationRecord, relocate


@dataclass
class Relocated:
    data: bytes  # the patched object
    records: list[RelocationRecord] = field(default_factory=list)  # one per relocation, typed
    log: list[str] = field(default_factory=list)  # libbpf's debug log lines, without "libbpf: "

    @property
    def report(self) -> list[dict[str, Any]]:
        """The records as the JSON report's dicts."""
        return [r.as_dict() for r in self.records]


def relocate_object(data: bytes, target: Spec, *, path: str | None = None, libbpf: str | None = None) -> Relocated:
    """Relocate the object ``data`` against ``target`` as libbpf ``libbpf`` ("1.1", "1.5",
    "1.7"; the newest when None) does (raises RelocationError, exit 1, when it would refuse
    the object)."""
    obj = BpfObject.parse(data, path=path)
    outcome = relocate(obj, target, libbpf)
    ext_bytes = None
    if obj.btf_ext is not None and obj.btf_ext_range is not None:
        off, size = obj.btf_ext_range
        ext_bytes = without_core_relo(obj.data[off:off + size], obj.btf_ext)
    return Relocated(obj.to_bytes(ext_bytes), outcome.records, outcome.log)
