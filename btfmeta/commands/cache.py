"""``cache info|clear``: the per-user BTF index cache (``btf.indexcache``) -- where it is, how
much it holds against its bound, and emptying it."""

from __future__ import annotations

from typing import Any

from ..btf import indexcache
from . import document


def info() -> dict[str, Any]:
    found = indexcache.entries()
    return document(1, directory=str(indexcache.directory()), enabled=indexcache.enabled(), entries=len(found),
                    bytes=sum(e.size for e in found), max_bytes=indexcache.max_bytes())


def text(doc: dict[str, Any]) -> str:
    state = "" if doc["enabled"] else " (off: BTFMETA_NO_CACHE)"
    return (f"{doc['directory']}{state}\n"
            f"{doc['entries']} entries, {_mib(doc['bytes'])} of at most {_mib(doc['max_bytes'])} "
            f"(BTFMETA_CACHE_MAX); the least recently used go first\n")


def clear() -> str:
    removed, freed = indexcache.clear()
    return f"removed {removed} entries ({_mib(freed)}) from {indexcache.directory()}\n"


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"
