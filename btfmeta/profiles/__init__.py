"""Reference-tool profiles: what differs between the versions of libbpf, bpftool and pahole
whose output btfmeta reproduces byte for byte.

A profile is data: one frozen row per tool version (``libbpf.PROFILES``, ``bpftool.PROFILES``,
``pahole.PROFILES``), and the code that behaves differently consults a field of the row it is
handed. No output depends on what happens to be installed: the default is the newest row."""

from __future__ import annotations

from typing import TypeVar

from ..errors import BtfmetaError

T = TypeVar("T")


def select(tool: str, table: dict[str, T], version: str | None) -> T:
    """The row for ``version`` ("1.5", or a full "1.5.0"); the newest when None."""
    if version is None:
        return table[newest(table)]
    short = ".".join(version.split(".")[:2])
    if short not in table:
        raise BtfmetaError(f"unknown {tool} profile '{version}' (choose from {', '.join(table)})")
    return table[short]


def newest(table: dict[str, object]) -> str:
    return max(table, key=lambda v: tuple(int(p) for p in v.split(".")))
