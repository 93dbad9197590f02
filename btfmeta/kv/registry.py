"""A deployment's key registry: which key number each metadata value has, and its type.

    [store]
    format = "rfc-v2"        # or "seed"
    capacity = 144           # header + values, bytes
    byte_order = "little"    # or "big"
    prefix = "mymeta"        # for C names

    [keys.rx_hash]
    number = 0
    type = "u32"             # u16 s16 u32 s32 u64 s64 flag, as the format allows
    description = "hardware RX hash"

Read with the standard library's TOML parser; every refusal names the file, line and column.
Decoding a blob by the registry refuses keys it does not name and sizes that differ from
the registered types (a byte-swapped header keeps every popcount, so the header alone
cannot tell).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Pos, PositionedError
from ..fileio import read_bytes
from .codec import BYTE_ORDERS, HEADER, SIZES, BlobError, KVError, Store

TYPES = {"u16": (2, False), "s16": (2, True), "u32": (4, False), "s32": (4, True), "u64": (8, False),
         "s64": (8, True), "flag": (0, False)}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# the generated headers' own macros are PREFIX_KV_*, PREFIX_KEYS_H, PREFIX_KEY, PREFIX_HAS_KEY
# and PREFIX_FIXED_KEYS: a key's enumerator PREFIX_NAME must not be one of them
_RESERVED = re.compile(r"(?i)kv(_.*)?|keys_h|key|has_key|fixed_keys")
# a key name is a struct member and part of function names; a C keyword is no member name
_C_KEYWORDS = frozenset((
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
    "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
    "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Alignas",
    "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn", "_Static_assert",
    "_Thread_local", "asm", "typeof", "__attribute__"))


class RegistryError(PositionedError):
    """A registry the tools cannot use (exit 2), with its file, line and column when the
    fault has a place (then printed as a compiler prints it: the line and a caret)."""

    def __init__(self, message: str, pos: Pos | None = None, *, path: str | None = None):
        super().__init__(message, pos, path=path)


@dataclass(frozen=True)
class Key:
    name: str
    number: int
    type: str
    description: str = ""

    @property
    def size(self) -> int:
        return TYPES[self.type][0]


@dataclass
class Registry:
    path: str
    format: str
    capacity: int
    byte_order: str
    prefix: str
    keys: list[Key] = field(default_factory=list)  # by number

    def by_name(self, name: str) -> Key:
        for k in self.keys:
            if k.name == name:
                return k
        raise RegistryError(f"no key named '{name}'", path=self.path)

    def store(self, data: bytes | None = None) -> Store:
        return Store(self.format, self.capacity, self.byte_order, data)

    def encode(self, values: dict[str, int | bool]) -> bytes:
        """A store holding ``values`` (by key name; a flag as True), in key order."""
        store = self.store()
        for name, value in values.items():
            key = self.by_name(name)
            if key.type == "flag":
                if value not in (True, 1):
                    raise RegistryError(f"{name} is a flag: only 1 (set) is a value", path=self.path)
                data = b""
            else:
                size, signed = TYPES[key.type]
                try:
                    data = int(value).to_bytes(size, self.byte_order, signed=signed)
                except OverflowError:
                    raise RegistryError(f"{name}: {value} does not fit a {key.type}", path=self.path) from None
            try:
                store.set(key.number, data)
            except KVError as exc:
                raise RegistryError(f"{name}: {exc}", path=self.path) from None
        return bytes(store)

    def decode(self, blob: bytes, *, path: str | None = None) -> dict[str, int | bool]:
        """The values in ``blob`` by key name; keys and sizes the registry does not say are refused."""
        store = Store.parse(blob, self.format, self.byte_order, path=path)
        numbers = {k.number: k for k in self.keys}
        out: dict[str, int | bool] = {}
        for number, value in store.items():
            key = numbers.get(number)
            if key is None:
                raise BlobError(f"key {number} is set but the registry has no such key", path=path)
            if len(value) != key.size:
                raise BlobError(f"key {number} ({key.name}) holds {len(value)} bytes, its type {key.type} is "
                                f"{key.size} (the wrong byte order?)", path=path)
            out[key.name] = True if key.type == "flag" else \
                int.from_bytes(value, self.byte_order, signed=TYPES[key.type][1])
        return out


def _field_pos(path: str, text: str, table: str, name: str | None = None) -> Pos:
    """Where ``name = ...`` is in the TOML table ``table`` (a regex): its value; or the table's
    header when ``name`` is None or not there; line 1 when the table is not found."""
    lines = text.split("\n")  # numbered as TOML numbers them
    start = next((i for i, line in enumerate(lines) if re.fullmatch(rf"\s*\[{table}\]\s*(#.*)?", line)), None)
    if start is None:
        return _pos(path, lines, 1, 1)
    for j in range(start + 1, len(lines)):
        if re.match(r"\s*\[", lines[j]):
            break
        if name is not None and (m := re.match(rf"\s*{name}\s*=\s*", lines[j])):
            return _pos(path, lines, j + 1, m.end() + 1)
    return _pos(path, lines, start + 1, len(lines[start]) - len(lines[start].lstrip()) + 1)


def _pos(path: str, lines: list[str], line: int, col: int) -> Pos:
    return Pos(path, line, col, lines[line - 1].rstrip("\r") if line <= len(lines) else "")


def load(path: str | Path) -> Registry:
    name = str(path)
    text = read_bytes(path).decode("utf-8", "replace")
    lines = text.split("\n")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # Python 3.11 puts the position in the message only
        where = re.search(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$", str(exc))
        msg = str(exc)[:where.start()] if where else str(exc)
        if where and where[1]:
            at = _pos(name, lines, int(where[1]), int(where[2]))
        else:  # at the end of the document: after its last character
            at = _pos(name, lines, len(lines), len(lines[-1]) + 1)
        raise RegistryError(msg, at) from None
    store = doc.get("store")

    def fail(at: Pos, message: str) -> RegistryError:
        return RegistryError(message, at)

    def field_pos(table: str, key: str | None = None) -> Pos:
        return _field_pos(name, text, table, key)

    if not isinstance(store, dict):
        raise fail(_pos(name, lines, 1, 1), "no [store] table")
    fmt, capacity = store.get("format"), store.get("capacity")
    byte_order, prefix = store.get("byte_order", "little"), store.get("prefix", "kv")
    if fmt not in SIZES:
        raise fail(field_pos("store", "format"),
                   f"format must be \"seed\" or \"rfc-v2\", not {fmt!r}")
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not HEADER <= capacity <= 4096:
        raise fail(field_pos("store", "capacity"),
                   f"capacity must be a number of bytes from {HEADER} to 4096, not {capacity!r}")
    if byte_order not in BYTE_ORDERS:
        raise fail(field_pos("store", "byte_order"), f"byte_order must be little or big, not {byte_order!r}")
    if not isinstance(prefix, str) or not _IDENT.fullmatch(prefix) or prefix in _C_KEYWORDS:
        raise fail(field_pos("store", "prefix"), f"prefix must be a C identifier, not {prefix!r}")
    keys = doc.get("keys", {})
    if not isinstance(keys, dict) or not keys:
        raise fail(_pos(name, lines, 1, 1), "no [keys.NAME] tables")
    seen: dict[int, str] = {}
    upper: dict[str, str] = {}
    out = []
    for key_name, spec in keys.items():
        table = rf"keys\.\"?{re.escape(key_name)}\"?"
        at = field_pos(table)
        if not isinstance(spec, dict):
            raise fail(at, f"keys.{key_name} must be a table")
        if not _IDENT.fullmatch(key_name):
            raise fail(at, f"key name {key_name!r} is not a C identifier")
        if _RESERVED.fullmatch(key_name) or key_name in _C_KEYWORDS:
            raise fail(at, f"key name {key_name!r} is taken by the generated header's own names")
        if key_name.upper() in upper:
            raise fail(at, f"key name {key_name!r} and {upper[key_name.upper()]!r} are one C enumerator "
                       f"({prefix.upper()}_{key_name.upper()})")
        upper[key_name.upper()] = key_name
        number, typ = spec.get("number"), spec.get("type")
        if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number < 64:
            raise fail(field_pos(table, "number"), f"keys.{key_name}: number must be 0-63, not {number!r}")
        if number in seen:
            raise fail(field_pos(table, "number"), f"keys.{key_name}: number {number} is also {seen[number]}'s")
        if typ not in TYPES or TYPES[typ][0] not in SIZES[fmt].values():
            allowed = sorted(t for t, (size, _) in TYPES.items() if size in SIZES[fmt].values())
            raise fail(field_pos(table, "type"),
                       f"keys.{key_name}: type {typ!r} is not one a {fmt} store holds ({', '.join(allowed)})")
        if HEADER + TYPES[typ][0] > capacity:
            raise fail(field_pos(table, "type"),
                       f"keys.{key_name}: a {typ} does not fit a {capacity}-byte store")
        seen[number] = key_name
        out.append(Key(key_name, number, typ, str(spec.get("description", ""))))
    return Registry(name, fmt, capacity, byte_order, prefix, sorted(out, key=lambda k: k.number))
