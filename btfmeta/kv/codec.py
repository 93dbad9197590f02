"""The compact key-value store at the front of the packet metadata (the xdp_rx_meta thread).

A 16-byte header of two 64-bit words, ``high`` and ``low``: bit k of each together is key
k's 2-bit size code.  The values follow in key order, packed, unaligned, in the store's
byte order; a value's offset is 16 plus the sizes of the set keys below it.  Two formats:

    seed     code 01: 2 bytes, 10: 4, 11: 8   (the thread's draft counts 11 as 6: a bug)
    rfc-v2   code 01: 0 bytes (a flag), 10: 4, 11: 8

``set`` checks, in order: the key (0-63), the size (one the format has), the header (one
claiming more bytes than the store has: -EINVAL), a key already set (same size:
overwritten in place; another: -EBUSY), room (-ENOSPC).  Errors are
``KVError`` carrying a negative errno, as the C and BPF helpers return it.  Bytes freed
by a delete are zeroed, so equal stores are equal bytes.
"""

from __future__ import annotations

import errno

from ..errors import BtfmetaError

HEADER = 16
SIZES = {"seed": {1: 2, 2: 4, 3: 8}, "rfc-v2": {1: 0, 2: 4, 3: 8}}
BYTE_ORDERS = ("little", "big")


class KVError(Exception):
    """An operation the store refuses; ``errno`` is negative, as the C helpers return it."""

    def __init__(self, err: int, message: str):
        super().__init__(message)
        self.errno = err


class BlobError(BtfmetaError):
    """A metadata blob that is not a valid store (exit 2)."""


class Store:
    """A store of ``capacity`` bytes (header included) in one of the two formats."""

    def __init__(self, fmt: str = "rfc-v2", capacity: int = 144, byteorder: str = "little",
                 data: bytes | None = None):
        if fmt not in SIZES or byteorder not in BYTE_ORDERS or capacity < HEADER:
            raise ValueError(f"no such store: {fmt}, {capacity} bytes, {byteorder}-endian")
        self.fmt, self.capacity, self.byteorder = fmt, capacity, byteorder
        self.codes = {size: code for code, size in SIZES[fmt].items()}
        self.buf = bytearray(capacity if data is None else data)

    # -- the header ----------------------------------------------------------------------

    def _words(self) -> tuple[int, int]:
        return (int.from_bytes(self.buf[0:8], self.byteorder), int.from_bytes(self.buf[8:16], self.byteorder))

    def _set_words(self, high: int, low: int) -> None:
        self.buf[0:8] = high.to_bytes(8, self.byteorder)
        self.buf[8:16] = low.to_bytes(8, self.byteorder)

    @staticmethod
    def _code_in(high: int, low: int, key: int) -> int:
        return ((high >> key) & 1) << 1 | ((low >> key) & 1)

    def _length(self, high: int, low: int, below: int = 64) -> int:
        """Bytes of values of the keys set in (high, low) below ``below``: popcounts of the
        masked words, as the C helpers count them (code 11 is 8 bytes in both formats)."""
        mask = (1 << below) - 1
        high, low = high & mask, low & mask
        if self.fmt == "seed":  # 01: 2, 10: 4, 11: 2 + 4 + 2
            return 2 * low.bit_count() + 4 * high.bit_count() + 2 * (high & low).bit_count()
        return 4 * high.bit_count() + 4 * (high & low).bit_count()  # 01: 0, 10: 4, 11: 8

    def used(self) -> int:
        """Header and values: where the free space starts."""
        return HEADER + self._length(*self._words())

    def _header(self) -> tuple[int, int, int]:
        """(high, low, used); -EINVAL for a header claiming more bytes than the store has."""
        high, low = self._words()
        used = HEADER + self._length(high, low)
        if used > self.capacity:
            raise KVError(-errno.EINVAL, f"the header claims {used} bytes, the store has {self.capacity}")
        return high, low, used

    def _open(self, key: int, size: int | None = None) -> tuple[int, int, int]:
        """The header for an operation on ``key`` (a set's value of ``size`` bytes), checked
        in the C helpers' order: the key (0-63), the size (one the format has), the header;
        each -EINVAL."""
        if not 0 <= key < 64:
            raise KVError(-errno.EINVAL, f"key {key} is not 0-63")
        if size is not None and size not in self.codes:
            raise KVError(-errno.EINVAL, f"a {size}-byte value is not a {self.fmt} size")
        return self._header()

    def _found(self, high: int, low: int, key: int) -> tuple[int, int]:
        """(offset, size) of a set key's value; -ENOENT if it is not set."""
        code = self._code_in(high, low, key)
        if not code:
            raise KVError(-errno.ENOENT, f"key {key} is not set")
        return HEADER + self._length(high, low, key), SIZES[self.fmt][code]

    # -- operations ------------------------------------------------------------------------

    def is_set(self, key: int) -> bool:
        high, low, _ = self._open(key)
        return self._code_in(high, low, key) != 0

    def set(self, key: int, value: bytes) -> None:
        n = len(value)
        high, low, used = self._open(key, n)
        off = HEADER + self._length(high, low, key)
        old = self._code_in(high, low, key)
        if old:
            if SIZES[self.fmt][old] != n:
                raise KVError(-errno.EBUSY, f"key {key} is set with another size")
            self.buf[off:off + n] = value
            return
        if used + n > self.capacity:
            raise KVError(-errno.ENOSPC, f"no room for {n} more bytes ({used} of {self.capacity} used)")
        self.buf[off + n:used + n] = self.buf[off:used]
        self.buf[off:off + n] = value
        code = self.codes[n]
        self._set_words(high | (code >> 1) << key, low | (code & 1) << key)

    def get(self, key: int, bufsize: int = 8) -> bytes:
        high, low, _ = self._open(key)
        off, size = self._found(high, low, key)
        if size > bufsize:
            raise KVError(-errno.EFBIG, f"key {key}'s {size}-byte value does not fit {bufsize} bytes")
        return bytes(self.buf[off:off + size])

    def delete(self, key: int) -> None:
        high, low, used = self._open(key)
        off, size = self._found(high, low, key)
        self.buf[off:used - size] = self.buf[off + size:used]
        self.buf[used - size:used] = bytes(size)
        self._set_words(high & ~(1 << key), low & ~(1 << key))

    def items(self) -> list[tuple[int, bytes]]:
        """(key, value) of every set key in key order, in one pass (a reader's decode)."""
        high, low, _ = self._header()
        sizes, off, out, left = SIZES[self.fmt], HEADER, [], high | low
        while left:  # the set keys, lowest first
            k = (left & -left).bit_length() - 1
            left &= left - 1
            size = sizes[self._code_in(high, low, k)]
            out.append((k, bytes(self.buf[off:off + size])))
            off += size
        return out

    def __bytes__(self) -> bytes:
        return bytes(self.buf)

    @classmethod
    def parse(cls, blob: bytes, fmt: str, byteorder: str = "little", *, path: str | None = None) -> Store:
        """A store read from ``blob``; a header claiming more bytes than it holds is an error."""
        if len(blob) < HEADER:
            raise BlobError(f"{len(blob)} bytes: shorter than the 16-byte header", path=path)
        store = cls(fmt, len(blob), byteorder, blob)
        used = store.used()
        if used > len(blob):
            raise BlobError(f"the header claims {used} bytes of header and values, the blob holds {len(blob)}",
                            path=path, offset=0)
        return store
