"""A per-user cache of record offsets for large BTF (vmlinux: ~100,000 records take ~27 ms
to walk in Python; reading them back takes ~1 ms), keyed by the BTF's SHA-256.

The format is plain and checked: magic, the SHA-256 of the BTF it indexes, the record
count, then per record its word offset, name offset and type word (little-endian 32-bit
words) and its kind (one byte), and the SHA-256 of all that.  A file is
used only if it is a regular file owned by this user, not writable by others, in a
directory owned by this user with mode 0700, opened without following symlinks; anything
else is ignored (never an error) and the BTF is indexed the slow way.  Nothing is ever
unpickled or executed.  ``BTFMETA_NO_CACHE=1`` turns the cache off.

The directory is bounded (``BTFMETA_CACHE_MAX`` bytes, ``K``/``M``/``G`` suffixes allowed;
256M by default): a use touches an entry's mtime, and each store evicts the entries used
least recently until the rest fit.  Processes share it without locks: entries appear by
atomic rename, an entry that vanishes between listing and use is skipped, and a reader
holding an entry open keeps reading it when another process evicts it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import struct
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"BTFMIDX3"
MIN_RECORDS = 20_000  # smaller BTF indexes faster than it hashes
DEFAULT_MAX = 256 << 20  # ~200 distinct vmlinux indexes of ~1.3 MB
_HEAD = struct.Struct("<8s32sI")
_ENTRY = re.compile(r"[0-9a-f]{64}\.idx")
_TEMP = re.compile(r"\.[0-9a-f]{64}\.[0-9]+")  # a store in progress, or one a killed process left
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def enabled() -> bool:
    return os.environ.get("BTFMETA_NO_CACHE", "") in ("", "0")


def max_bytes() -> int:
    """The bound: ``BTFMETA_CACHE_MAX`` (bytes, or with a K/M/G suffix), else 256M; a value
    that is not a size falls back to the default, as any cache trouble means only "no cache"."""
    m = re.fullmatch(r"\s*(\d+)\s*([KMG]?)i?B?\s*", os.environ.get("BTFMETA_CACHE_MAX", ""), re.IGNORECASE)
    return int(m[1]) * _UNITS[m[2].upper()] if m else DEFAULT_MAX


def directory() -> Path:
    home = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(home):  # unset, empty or relative: the XDG default
        home = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(home) / "btfmeta" / "btf-index"


def _private(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) == 0o700


def load(digest: bytes, count_hint: int) -> tuple[array, list[bytes]] | None:
    """The cached record offsets and the columns (name words, type words, kinds) of the
    BTF whose SHA-256 is ``digest``, or None."""
    folder = directory()
    if not _private(folder):
        return None
    try:
        fd = os.open(folder / (digest.hex() + ".idx"), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022 or \
                st.st_size > _HEAD.size + 13 * count_hint + 32:
            return None
        blob = f.read()
        with contextlib.suppress(OSError):
            os.utime(fd)  # used now: the last to be evicted
    if len(blob) < _HEAD.size + 32 or hashlib.sha256(blob[:-32]).digest() != blob[-32:]:
        return None
    magic, key, count = _HEAD.unpack_from(blob)
    if magic != MAGIC or key != digest or len(blob) != _HEAD.size + 13 * count + 32:
        return None
    at = _HEAD.size
    words = []
    for _ in range(3):
        w = array("I")
        w.frombytes(blob[at:at + 4 * count])
        if sys.byteorder != "little":
            w.byteswap()
        words.append(w)
        at += 4 * count
    return words[0], [words[1].tobytes(), words[2].tobytes(), blob[at:at + count]]


def store(digest: bytes, offsets, columns: list[bytes]) -> None:
    """Keep ``offsets`` and the columns for next time; any failure just means no cache."""
    folder = directory()
    with contextlib.suppress(OSError):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not _private(folder):
        return
    parts = [_HEAD.pack(MAGIC, digest, len(offsets))]
    for raw in (array("I", offsets).tobytes(), *columns[:2]):
        w = array("I")
        w.frombytes(raw)
        if sys.byteorder != "little":
            w.byteswap()
        parts.append(w.tobytes())
    parts.append(columns[2])
    body = b"".join(parts)
    blob = body + hashlib.sha256(body).digest()
    limit = max_bytes()
    if len(blob) > limit:
        return
    tmp = folder / f".{digest.hex()}.{os.getpid()}"
    with contextlib.suppress(OSError):
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, folder / (digest.hex() + ".idx"))
    with contextlib.suppress(OSError):
        tmp.unlink()
    evict(limit)


@dataclass(frozen=True)
class Entry:
    name: str
    size: int
    used: int  # mtime, ns: when it was last stored or used


def entries() -> list[Entry]:
    """The cache's index files, least recently used first; [] when the directory is not
    private (then it is not the cache's to touch).  Entries vanishing meanwhile are skipped."""
    folder = directory()
    if not _private(folder):
        return []
    out = []
    with contextlib.suppress(OSError), os.scandir(folder) as it:
        for e in it:
            if not _ENTRY.fullmatch(e.name):
                continue
            with contextlib.suppress(OSError):
                st = e.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode):
                    out.append(Entry(e.name, st.st_size, st.st_mtime_ns))
    return sorted(out, key=lambda e: (e.used, e.name))


def evict(limit: int) -> tuple[int, int]:
    """Remove the least recently used entries until the rest take at most ``limit`` bytes:
    (entries removed, bytes freed).  Another process removing the same entry is no error."""
    found = entries()
    total, removed, freed = sum(e.size for e in found), 0, 0
    for e in found:
        if total <= limit:
            break
        total -= e.size
        with contextlib.suppress(FileNotFoundError):
            os.unlink(directory() / e.name)
            removed, freed = removed + 1, freed + e.size
    return removed, freed


def clear() -> tuple[int, int]:
    """Remove every entry, and temporary files left by killed processes: (entries, bytes)."""
    folder = directory()
    removed = evict(-1)
    if _private(folder):
        with contextlib.suppress(OSError), os.scandir(folder) as it:
            for e in it:
                if _TEMP.fullmatch(e.name):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(folder / e.name)
    return removed
