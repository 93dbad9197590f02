"""libbpf versions btfmeta's CO-RE decisions, parse refusals and log lines follow."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Libbpf:
    version: str


PROFILES: dict[str, Libbpf] = {v: Libbpf(v) for v in ("1.1", "1.5", "1.7")}
