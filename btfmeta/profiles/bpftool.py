"""bpftool versions whose `btf dump` output (raw, JSON, C) btfmeta reproduces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bpftool:
    version: str


PROFILES: dict[str, Bpftool] = {v: Bpftool(v) for v in ("7.1", "7.5", "7.8")}
