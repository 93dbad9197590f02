"""``Spec``: one BTF object (base or split), read lazily or built type by type.

Opening indexes the record offsets in one pass over the type section and
decodes a type only when it is asked for, which keeps a 4.4 MB vmlinux cheap to
open.  Writing re-encodes every own type; a BTF read and written unchanged
comes out byte for byte as it went in.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence

from ..errors import BTFFormatError, TypeLookupError
from . import indexcache
from . import types as T
from .codec import decode, encode
from .kinds import FIXED_WORDS, HEADER_LEN, MAGIC, MAX_KIND, ORDER_BY_MAGIC, VLEN_WORDS, Kind
from .strings import StringSet, StringTable

_NATIVE = sys.byteorder


_KINDS = (None, *Kind, *(None,) * (31 - len(Kind)))  # kind number (5 bits) -> Kind, without the enum's call


class _BadString(Exception):
    """A string offset out of range, reported with its type by ``Spec._decode``."""


class Spec:
    """A BTF type table: ids ``start_id .. type_cnt-1`` are own, lower ids are the base's."""

    def __init__(self, *, base: Spec | None = None, byteorder: str = "little"):
        self.base = base
        self.byteorder = byteorder
        self.start_id = base.type_cnt if base is not None else 1
        self.strings = StringTable(b"" if base is not None else b"\0",
                                   base=base.strings if base is not None else None)
        self._types: list[T.Type | None] = []
        self._words: array = array("I")
        self._offsets: list[int] = []
        self._types_pos = HEADER_LEN  # file offset of the type section, for messages
        self._extra_header = b""  # header bytes past the classic 24 (layout fields, ...)
        self._layout = b""
        self._keep_strings = False
        self._memo: dict[str, dict] = {}
        self._columns: dict[str, bytes] = {}  # per-record words and kinds, for searches (``_column``)
        self._from_cache = False
        self._use_cache = True
        self._edited: set[int] = set()  # indexes of parsed records replaced since
        self.path: str | None = None

    # -- reading -------------------------------------------------------------------

    @classmethod
    def parse(cls, data: bytes, *, base: Spec | None = None, path: str | None = None,
              index_cache: bool = True) -> Spec:
        """Parse raw BTF bytes (checks as libbpf's ``btf_parse_hdr``, plus a few more);
        ``index_cache=False``: neither use nor fill the per-user index cache (a fleet's
        thousands of kernels, each read once)."""
        spec = cls(base=base)
        spec.path = path
        spec._use_cache = index_cache
        spec._parse(memoryview(data).toreadonly())
        return spec

    def _fail(self, message: str, offset: int | None = None) -> BTFFormatError:
        return BTFFormatError(message, path=self.path, offset=offset)

    def _parse(self, data: memoryview) -> None:
        size = len(data)
        if size < HEADER_LEN:
            raise self._fail(f"BTF header not found: {size} bytes, a header needs {HEADER_LEN}", 0)
        magic_le = data[0] | data[1] << 8
        if magic_le not in ORDER_BY_MAGIC:
            raise self._fail(f"invalid BTF magic 0x{magic_le:04x}", 0)
        order, fmt = ORDER_BY_MAGIC[magic_le]
        self.byteorder = order
        hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(fmt + "5I", data, 4)
        if hdr_len < HEADER_LEN:
            raise self._fail(f"BTF header length {hdr_len} is shorter than {HEADER_LEN}", 4)
        if hdr_len > size:
            raise self._fail(f"BTF header length {hdr_len} larger than data size {size}", 4)
        body = size - hdr_len
        if str_off + str_len > body:
            raise self._fail(f"invalid BTF total size: strings at {str_off} + {str_len} end past "
                             f"the {body} bytes after the header", 16)
        if type_off + type_len > str_off:
            raise self._fail(f"invalid BTF data sections layout: type data at {type_off} + {type_len}, "
                             f"strings data at {str_off} + {str_len}", 8)
        if type_off % 4:
            raise self._fail("BTF type section is not aligned to 4 bytes", 8)
        if type_len % 4:
            raise self._fail("BTF types data is malformed: length is not a multiple of 4", 12)
        self._extra_header = bytes(data[HEADER_LEN:hdr_len])
        if hdr_len >= 32:
            layout_off, layout_len = struct.unpack_from(fmt + "2I", data, 24)
            if layout_len:
                if layout_off % 4 or layout_len % 4:
                    raise self._fail("BTF layout section is not aligned to 4 bytes", 24)
                if layout_off < type_off + type_len or layout_off + layout_len > str_off:
                    raise self._fail(f"invalid BTF data sections layout: layout data at {layout_off} + "
                                     f"{layout_len}, strings data at {str_off}", 24)
                self._layout = bytes(data[hdr_len + layout_off:hdr_len + layout_off + layout_len])
        strings = bytes(data[hdr_len + str_off:hdr_len + str_off + str_len])
        self._parse_strings(strings, hdr_len + str_off)
        self._types_pos = hdr_len + type_off
        words = array("I")
        words.frombytes(data[hdr_len + type_off:hdr_len + type_off + type_len])
        if order != _NATIVE:
            words.byteswap()
        self._words = words
        self._offsets = self._cached_index(data, words)
        self._types = [None] * len(self._offsets)
        self._keep_strings = True

    def _parse_strings(self, data: bytes, pos: int) -> None:
        split = self.base is not None
        if data and data[-1] != 0:
            raise self._fail("invalid BTF string section: it does not end with a NUL byte",
                             pos + len(data) - 1)
        if not split:
            if not data:
                raise self._fail("invalid BTF string section: it is empty", pos)
            if data[0] != 0:
                raise self._fail("malformed BTF string section: it does not start with the empty "
                                 "string; is this split BTF given without its base (--base)?", pos)
        self.strings = StringTable(data, base=self.base.strings if split else None)

    def _cached_index(self, data: memoryview, words: array) -> list[int] | array:
        """Record offsets from the per-user cache when this BTF is large and was indexed
        before (``indexcache``), else by walking the records (and kept for next time)."""
        if len(words) < 3 * indexcache.MIN_RECORDS or not self._use_cache or not indexcache.enabled():
            return self._index(words)
        digest = hashlib.sha256(data).digest()
        cached = indexcache.load(digest, len(words) // 3)
        if cached is not None:
            self._from_cache = True
            offsets, columns = cached
            self._columns = dict(zip(("names", "types", "kinds"), columns, strict=True))
            return offsets
        offsets = self._index(words)
        self._offsets = offsets
        indexcache.store(digest, offsets, [self._column(c) for c in ("names", "types", "kinds")])
        return offsets

    def _index(self, w: array) -> list[int]:
        """Word offset of every record; the only full pass made when opening."""
        offsets: list[int] = []
        append = offsets.append
        fixed, per = FIXED_WORDS, VLEN_WORDS
        n = len(w)
        p = 0
        try:
            while p < n:
                info = w[p + 1]
                kind = (info >> 24) & 0x1F
                if not kind or kind > MAX_KIND or info & 0x60FF0000:
                    break
                q = p + 3 + fixed[kind] + (info & 0xFFFF) * per[kind]
                if q > n:
                    break
                append(p)
                p = q
        except IndexError:
            pass
        if p < n:
            tid = self.start_id + len(offsets)
            where = self._types_pos + 4 * p
            if p + 3 > n:
                raise self._fail(f"BTF type [{tid}] is malformed: record truncated", where)
            info = w[p + 1]
            kind = (info >> 24) & 0x1F
            if not kind or kind > MAX_KIND or info & 0x60000000:
                raise self._fail(f"BTF type [{tid}]: unsupported BTF_KIND:{(info >> 24) & 0x7F}", where + 4)
            if info & 0x00FF0000:
                raise self._fail(f"BTF type [{tid}]: vlen {info & 0xFFFFFF} exceeds 65535", where + 4)
            raise self._fail(f"BTF type [{tid}] is malformed: {Kind(kind).name} with vlen {info & 0xFFFF} "
                             "runs past the end of the type section", where)
        return offsets

    # -- lookups ---------------------------------------------------------------------

    @property
    def type_cnt(self) -> int:
        """One past the highest id, as libbpf's ``btf__type_cnt``."""
        return self.start_id + len(self._types)

    def own_ids(self) -> range:
        return range(self.start_id, self.type_cnt)

    def __len__(self) -> int:
        return len(self._types)

    def type_by_id(self, tid: int) -> T.Type:
        """Decode (once) and return type ``tid``; base ids go to the base."""
        i = tid - self.start_id
        if i < 0:
            if self.base is not None and tid > 0:
                return self.base.type_by_id(tid)
            raise TypeLookupError(f"type id {tid} is void or out of range")
        try:
            t = self._types[i]
        except IndexError:
            raise TypeLookupError(f"type id {tid} out of range (type count {self.type_cnt})") from None
        if t is None:
            t = self._decode(i)
        return t

    def _name(self, off: int) -> str:
        s = self._string_cache.get(off)
        if s is None:
            s = self.strings.get(off)
            if s is None:
                raise _BadString(off)
        return s

    @property
    def _string_cache(self) -> dict[int, str]:
        return self.strings._cache

    def _decode(self, i: int) -> T.Type:
        p = self._offsets[i]
        tid = self.start_id + i
        try:
            t = decode(self._words, p, self._name)
        except _BadString as exc:
            off = exc.args[0]
            if self.base is not None and off < self.strings.start and self.base.strings.get(off) is not None:
                raise self._fail(f"BTF type [{tid}]: string offset {off} is inside a base string, not at its "
                                 "start; is this split BTF given the wrong base?", self._types_pos + 4 * p) from None
            raise self._fail(f"BTF type [{tid}]: invalid string offset {off}", self._types_pos + 4 * p) from None
        if self._from_cache:
            self._check_cached_record(i, p)
        cnt = self.type_cnt
        for ref in T.referenced_ids(t):
            if ref >= cnt:
                raise self._fail(f"BTF type [{tid}]: invalid referenced type id {ref} "
                                 f"(type count {cnt})", self._types_pos + 4 * p)
        self._types[i] = t
        return t

    def _check_cached_record(self, i: int, p: int) -> None:
        """A cached offset must lead to the next one as the record's own kind and vlen say."""
        info = self._words[p + 1]
        end = p + 3 + FIXED_WORDS[(info >> 24) & 0x1F] + (info & 0xFFFF) * VLEN_WORDS[(info >> 24) & 0x1F]
        if end != (self._offsets[i + 1] if i + 1 < len(self._offsets) else len(self._words)):
            raise self._fail(f"BTF type [{self.start_id + i}]: the index cache does not match this BTF "
                             f"(remove {indexcache.directory()})", self._types_pos + 4 * p)

    def _layer(self, tid: int) -> tuple[Spec, int]:
        """The BTF (this one or a base under it) that holds type ``tid``, and its index there."""
        s = self
        while tid < s.start_id:
            if s.base is None or tid <= 0:
                raise TypeLookupError(f"type id {tid} is void or out of range")
            s = s.base
        return s, tid - s.start_id

    def name_offset(self, tid: int) -> int:
        """The string offset type ``tid``'s record names it by, as read."""
        s, i = self._layer(tid)
        if i in s._edited or i >= len(s._offsets):
            raise TypeLookupError(f"type [{tid}] was not read from bytes")
        return s._words[s._offsets[i]]

    def kind_of(self, tid: int) -> Kind:
        """Kind of a type without decoding it (cheap on a lazily read base)."""
        s, i = self._layer(tid)
        t = s._types[i]
        if t is not None:
            return t.kind
        return _KINDS[(s._words[s._offsets[i] + 1] >> 24) & 0x1F]

    def find_by_name(self, name: str, kind: Kind | None = None) -> list[int]:
        """Ids of all types named ``name`` (of ``kind`` if given), base first, ascending."""
        found = self.base.find_by_name(name, kind) if self.base is not None else []
        if not name:
            return found
        ids = self.own_named(self.strings.offsets_of(name), lambda n: n == name)
        return found + [i for i in ids if kind is None or self.kind_of(i) == kind]

    def find_all(self, names: Iterable[str]) -> dict[str, list[int]]:
        """For each of ``names``: the ids of all types so named (any kind), base first,
        ascending.  One pass over each layer's name words, however many names: what
        ``find_by_name`` costs for one."""
        names = set(names) - {""}
        found = self.base.find_all(names) if self.base is not None else {n: [] for n in names}
        wanted = {off: n for n in names for off in self.strings.offsets_of(n)}
        hits: dict[str, list[int]] = {n: [] for n in names}
        if self._offsets and wanted:
            words = array("I")
            words.frombytes(self._column("names"))
            get = wanted.get
            for i, off in enumerate(words):
                n = get(off)
                if n is not None:
                    hits[n].append(i)
        for n in names:
            found[n] += self._with_edits(hits[n], lambda t, n=n: t.name == n)
        return found

    def own_named(self, offsets: set[int], match: Callable[[str], bool]) -> list[int]:
        """Own ids, ascending, of the records whose name is at one of the string ``offsets``
        (found without decoding: a C-speed search of the name words), and of the types added
        or replaced since parsing whose name satisfies ``match``."""
        found = [i for off in offsets for i in self._search("names", off)]
        return self._with_edits(found, lambda t: match(t.name))

    def own_referring(self, kind: Kind, target: int) -> list[int]:
        """Own ids, ascending, of the ``kind`` types whose ``type`` field is ``target``
        (pointers, modifiers, typedefs), found without decoding."""
        kinds = self._column("kinds") if self._offsets else b""
        found = [i for i in self._search("types", target) if kinds[i] == kind]
        return self._with_edits(found, lambda t: t.kind == kind and t.type == target)

    def own_of_kind(self, kind: Kind) -> list[int]:
        """Own ids, ascending, of every type of ``kind``."""
        found = []
        if self._offsets:
            kinds, k = self._column("kinds"), bytes([kind])
            p = kinds.find(k)
            while p >= 0:
                found.append(p)
                p = kinds.find(k, p + 1)
        return self._with_edits(found, lambda t: t.kind == kind)

    def _search(self, column: str, value: int) -> list[int]:
        """Record indexes whose ``column`` word is ``value``."""
        if not self._offsets:
            return []
        blob, needle, out = self._column(column), struct.pack("=I", value), []
        p = blob.find(needle)
        while p >= 0:
            if not p & 3:
                out.append(p >> 2)
            p = blob.find(needle, p + 1)
        return out

    def _with_edits(self, found: list[int], match: Callable[[T.Type], bool]) -> list[int]:
        """Found record indexes, less the replaced ones, plus the types added or replaced
        since parsing that ``match``; as ascending ids."""
        out = {i for i in found if i not in self._edited}
        out.update(i for i in self._edited if match(self._types[i]))
        out.update(i for i in range(len(self._offsets), len(self._types)) if match(self._types[i]))
        start = self.start_id
        return sorted(start + i for i in out)

    def _column(self, which: str) -> bytes:
        """Per parsed record: its name offset ("names") or type word ("types") as native
        32-bit words, or its kind ("kinds") as one byte."""
        blob = self._columns.get(which)
        if blob is None:
            w, offsets = self._words, self._offsets
            if which == "kinds":
                blob = bytes((w[p + 1] >> 24) & 0x1F for p in offsets)
            else:
                at = 0 if which == "names" else 2
                blob = array("I", [w[p + at] for p in offsets]).tobytes()
            self._columns[which] = blob
        return blob

    def find(self, name: str, kind: Kind | None = None) -> int:
        """The single id named ``name``; error when there is none."""
        ids = self.find_by_name(name, kind)
        if not ids:
            what = f"{kind.name} " if kind is not None else ""
            raise TypeLookupError(f"no {what}type named '{name}'", path=self.path)
        return ids[0]

    def layers(self) -> list[Spec]:
        """This BTF and the bases it stacks on, the bottom base (vmlinux) first."""
        chain: list[Spec] = []
        s: Spec | None = self
        while s is not None:
            chain.append(s)
            s = s.base
        return chain[::-1]

    def merged(self) -> Spec:
        """This split BTF and its base as one standalone BTF with the same type ids."""
        out = Spec(byteorder=self.byteorder)
        for part in self.layers():
            for _, t in part:
                out.add(t)
        return out

    def __iter__(self) -> Iterator[tuple[int, T.Type]]:
        """Own types in id order, decoding each."""
        return self.types(self.own_ids())

    def types(self, ids: Sequence[int]) -> Iterator[tuple[int, T.Type]]:
        """``(id, type)`` for each id; a long walk first decodes all strings in one go."""
        if len(ids) > 1000:
            self.strings.preload()
        for tid in ids:
            yield tid, self.type_by_id(tid)

    def closure(self, roots: list[int], *, through_pointers: bool = True) -> list[int]:
        """Ids reachable from ``roots`` (decoding each), sorted."""
        seen: set[int] = set()
        stack = [r for r in roots if r]
        while stack:
            tid = stack.pop()
            if tid in seen:
                continue
            seen.add(tid)
            t = self.type_by_id(tid)
            if not through_pointers and isinstance(t, T.Ptr):
                continue
            stack.extend(r for r in T.referenced_ids(t) if r and r not in seen)
        return sorted(seen)

    def memo(self, name: str) -> dict:
        """A table of answers about this BTF that a query keeps (``btf.query``); emptied
        whenever a type is added or replaced."""
        return self._memo.setdefault(name, {})

    # -- building --------------------------------------------------------------------

    def add(self, t: T.Type) -> int:
        """Append a type and return its id (references are not checked until written)."""
        self._types.append(t)
        self._memo.clear()
        return self.type_cnt - 1

    def replace(self, tid: int, t: T.Type) -> None:
        if not self.start_id <= tid < self.type_cnt:
            raise TypeLookupError(f"type id {tid} is not an own type")
        self.type_by_id(tid)
        i = tid - self.start_id
        self._types[i] = t
        if i < len(self._offsets):
            self._edited.add(i)
        self._memo.clear()

    # -- writing ---------------------------------------------------------------------

    def to_bytes(self, *, byteorder: str | None = None) -> bytes:
        """Serialize own types and strings, in this BTF's byte order unless told otherwise.
        A BTF read and not changed is written as read (every record checked first): its
        string offsets stay even where its own strings repeat its base's, as libbpf's
        ``btf__raw_data`` keeps them."""
        order = byteorder or self.byteorder
        if self._keep_strings and not self._edited and len(self._types) == len(self._offsets):
            for _ in self:
                pass
            return self._pack(array("I", self._words), self.strings.data, order)
        base_strings = self.base.strings if self.base is not None else None
        initial = self.strings.data if self._keep_strings else None
        strset = StringSet(base=base_strings, initial=initial)
        words = array("I")
        cnt = self.type_cnt
        for tid, t in self:
            for ref in T.referenced_ids(t):
                if not 0 <= ref < cnt:
                    raise BTFFormatError(f"type [{tid}] {t.kind.name} refers to type id {ref}, "
                                         f"but the type count is {cnt}", path=self.path)
            words.extend(encode(t, strset.add))
        return self._pack(words, strset.to_bytes(), order)

    def pristine(self) -> Spec:
        """This BTF as parsed records: itself when nothing was added or replaced since it was
        read, else its bytes read back."""
        if not self._edited and len(self._types) == len(self._offsets):
            return self
        return Spec.parse(self.to_bytes(), base=self.base, path=self.path)

    def records(self) -> tuple[array, list[int]]:
        """A copy of the own records' native-order words, and each record's word offset
        (of a ``pristine`` spec)."""
        return array("I", self._words), list(self._offsets)

    def with_records(self, words: array) -> bytes:
        """This BTF's bytes with its type section replaced by ``words`` (records of the same
        lengths, ids and string offsets rewritten in place) and its own strings as read."""
        return self._pack(words, self.strings.data, self.byteorder)

    def _pack(self, words: array, strings: bytes, order: str) -> bytes:
        if order != _NATIVE:
            words.byteswap()
        types = words.tobytes()
        fmt = "<" if order == "little" else ">"
        hdr_len = HEADER_LEN + len(self._extra_header)
        extra = self._extra_header
        layout = self._layout
        if len(extra) >= 8:
            extra = struct.pack(fmt + "2I", len(types) if layout else 0, len(layout)) + extra[8:]
        header = struct.pack(fmt + "HBBIIIII", MAGIC, 1, 0, hdr_len, 0, len(types),
                             len(types) + len(layout), len(strings))
        return header + extra + types + layout + strings
