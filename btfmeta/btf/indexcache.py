"""A per-user cache of record offsets for large BTF (vmlinux: ~100,000 records take ~27 ms
to walk in Python; reading them back takes ~1 ms), keyed by the BTF's SHA-256.

The format is plain and checked: magic, the SHA-256 of the BTF it indexes, the record
count, then per record its word offset, name offset and type word (little-endian 32-bit
words) and its kind (one byte), and the SHA-256 of all that.  A file is
used only if it is a regular file owned by this user, not writable by others, in a
directory owned by this user with mode 0700, opened without following symlinks; anything
else is ignored (never an error) and the BTF is indexed the slow way.  Nothing is ever
unpickled or executed.  ``BTFMETA_NO_CACHE=1`` turns the cache off.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import struct
import sys
from array import array
from pathlib import Path

MAGIC = b"BTFMIDX3"
MIN_RECORDS = 20_000  # smaller BTF indexes faster than it hashes
_HEAD = struct.Struct("<8s32sI")


def enabled() -> bool:
    return os.environ.get("BTFMETA_NO_CACHE", "") in ("", "0")


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
    tmp = folder / f".{digest.hex()}.{os.getpid()}"
    with contextlib.suppress(OSError):
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, folder / (digest.hex() + ".idx"))
    with contextlib.suppress(OSError):
        tmp.unlink()
