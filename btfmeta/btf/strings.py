"""BTF string sections: reading (``StringTable``) and deduplicated writing (``StringSet``).

Offsets are *logical*: a split BTF's own strings start right after its base's,
so one offset space covers base and split, as in libbpf.
"""

from __future__ import annotations


def encode_str(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def decode_str(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


class StringTable:
    """The strings of one BTF blob, resolved by logical offset (falling back to the base)."""

    def __init__(self, data: bytes, *, base: StringTable | None = None):
        self.data = bytes(data)
        self.base = base
        self.start = base.end if base is not None else 0
        self._cache: dict[int, str] = {0: ""}
        self._first: dict[bytes, int] | None = None
        self._searches: dict[tuple[str, str], object] = {}  # the string sections never change

    @property
    def end(self) -> int:
        return self.start + len(self.data)

    def get(self, off: int) -> str | None:
        """The string at ``off``; None when ``off`` is out of range (libbpf: invalid)."""
        s = self._cache.get(off)
        if s is not None:
            return s
        if off < self.start:
            # split BTF names its base's strings by where they start (libbpf's btf__add_str and
            # dedup find whole strings); one in the middle of a base string means another base
            if self.base is None or not self.base.starts_string(off):
                return None
            s = self.base.get(off)
            if s is not None:
                self._cache[off] = s
            return s
        rel = off - self.start
        if rel >= len(self.data):
            return None
        nul = self.data.find(b"\0", rel)
        if nul < 0:
            return None
        s = decode_str(self.data[rel:nul])
        self._cache[off] = s
        return s

    def starts_string(self, off: int) -> bool:
        """Whether a string starts at ``off`` (not a suffix of a longer one)."""
        if off < self.start:
            return self.base is not None and self.base.starts_string(off)
        rel = off - self.start
        return rel == 0 or (0 < rel < len(self.data) and self.data[rel - 1] == 0)

    def preload(self) -> None:
        """Decode every whole string at once: cheaper than one by one for a full walk."""
        cache = self._cache
        pos = self.start
        for piece in self.data.split(b"\0")[:-1]:
            if pos not in cache:
                cache[pos] = decode_str(piece)
            pos += len(piece) + 1
        if self.base is not None:
            self.base.preload()

    def offsets_of(self, s: str) -> set[int]:
        """Every logical offset (base included) whose string equals ``s``."""
        hit = self._searches.get(("=", s))
        if hit is None:
            hit = self._searches[("=", s)] = frozenset(self._offsets_of(s))
        return set(hit)

    def _offsets_of(self, s: str) -> set[int]:
        found = self.base.offsets_of(s) if self.base is not None else set()
        needle = encode_str(s) + b"\0"
        pos = self.data.find(needle)
        while pos >= 0:
            found.add(self.start + pos)
            pos = self.data.find(needle, pos + 1)
        return found

    def offsets_starting(self, prefix: str) -> dict[int, str]:
        """Every logical offset (base included) whose string starts with ``prefix``, and that
        string (an offset may point into the middle of a stored string: any match counts)."""
        hit = self._searches.get(("^", prefix))
        if hit is None:
            hit = self._searches[("^", prefix)] = self._offsets_starting(prefix)
        return dict(hit)

    def _offsets_starting(self, prefix: str) -> dict[int, str]:
        found = self.base.offsets_starting(prefix) if self.base is not None else {}
        needle = encode_str(prefix)
        data = self.data
        pos = data.find(needle)
        while pos >= 0:
            found[self.start + pos] = decode_str(data[pos:data.index(b"\0", pos)])
            pos = data.find(needle, pos + 1)
        return found

    def first_offsets(self) -> dict[bytes, int]:
        """Map each whole string (split at NULs) to its first logical offset."""
        if self._first is None:
            first: dict[bytes, int] = {}
            pos = 0
            for piece in self.data.split(b"\0")[:-1]:
                first.setdefault(piece, self.start + pos)
                pos += len(piece) + 1
            self._first = first
        return self._first

    def find(self, s: str) -> int | None:
        """Offset of ``s`` as a whole string in this table or its base (base first)."""
        key = encode_str(s)
        if self.base is not None:
            off = self.base.find(s)
            if off is not None:
                return off
        return self.first_offsets().get(key)


class StringSet:
    """Write side, like libbpf's ``btf__add_str``: base first, then own, then append.

    ``initial`` keeps an existing string section (so a parsed BTF re-serializes
    to the same bytes); a new non-split BTF starts with the empty string.
    """

    def __init__(self, *, base: StringTable | None = None, initial: bytes | None = None):
        self.base = base
        self.start = base.end if base is not None else 0
        if initial is None:
            initial = b"" if base is not None else b"\0"
        self._buf = bytearray(initial)
        self._own = StringTable(bytes(initial)).first_offsets().copy()

    def add(self, s: str) -> int:
        if not s:
            return 0
        if self.base is not None:
            off = self.base.find(s)
            if off is not None:
                return off
        key = encode_str(s)
        off = self._own.get(key)
        if off is None:
            off = len(self._buf)
            self._own[key] = off
            self._buf += key + b"\0"
        return self.start + off

    def to_bytes(self) -> bytes:
        return bytes(self._buf)
