"""pahole versions whose `-F btf` layouts btfmeta's `layout` reproduces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pahole:
    version: str


PROFILES: dict[str, Pahole] = {v: Pahole(v) for v in ("1.24", "1.30", "1.32")}
