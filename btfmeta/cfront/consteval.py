"""Integer constant expressions with C's types: literal typing, promotions, wrap-around."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class CInt:
    """A C integer value of a given width and signedness (always normalized)."""

    value: int
    bits: int = 32
    signed: bool = True

    @staticmethod
    def of(value: int, bits: int = 32, signed: bool = True) -> CInt:
        mask = (1 << bits) - 1
        v = value & mask
        if signed and v >> (bits - 1):
            v -= 1 << bits
        return CInt(v, bits, signed)

    def cast(self, bits: int, signed: bool) -> CInt:
        return CInt.of(self.value, bits, signed)

    def __bool__(self) -> bool:
        return self.value != 0


INT = (32, True)
_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "a": 7, "b": 8, "f": 12, "v": 11, "e": 27,
            "\\": 92, "'": 39, '"': 34, "?": 63}
_INT_RE = re.compile(r"(0[xX][0-9a-fA-F']+|0[bB][01']+|[0-9']+)([uUlL]*)")


@lru_cache(maxsize=4096)
def parse_int_literal(text: str) -> CInt | None:
    """C11 6.4.4.1 for LP64; None if ``text`` is not an integer constant (cached:
    headers repeat a few hundred literals tens of thousands of times)."""
    m = _INT_RE.fullmatch(text)
    if m is None:
        return None
    digits, suffix = m.group(1).replace("'", ""), m.group(2).lower()
    if suffix not in ("", "u", "l", "ul", "lu", "ll", "ull", "llu"):
        return None
    base = 2 if digits[:2].lower() == "0x" or digits[:2].lower() == "0b" else 0
    if len(digits[base:].lstrip("0")) > 64:  # too large for any type, whatever the base (and
        return None  # more digits than int() converts)
    if digits[:2].lower() == "0x":
        value, decimal = int(digits, 16), False
    elif digits[:2].lower() == "0b":
        value, decimal = int(digits[2:], 2), False
    elif digits.startswith("0") and len(digits) > 1:
        try:
            value, decimal = int(digits, 8), False
        except ValueError:
            return None
    else:
        value, decimal = int(digits), True
    unsigned = "u" in suffix
    longness = suffix.count("l")
    candidates = []
    for bits in ((32, 64, 64) if longness == 0 else (64, 64)):
        if not unsigned:
            candidates.append((bits, True))
        if unsigned or not decimal:
            candidates.append((bits, False))
    for bits, signed in candidates:
        if value < (1 << (bits - 1 if signed else bits)):
            return CInt(value, bits, signed)
    return None


# a literal's prefix -> (element size in bytes, signed): "" char, L wchar_t (int on
# BPF), u char16_t, U char32_t; u8 (UTF-8 strings; u8 characters are C23, not C17)
LITERAL_PREFIXES = {"": (1, True), "u8": (1, False), "L": (4, True), "u": (2, False), "U": (4, False)}
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]+)|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))|(.)", re.S)


def literal_units(body: str, unit: int) -> list[int]:
    """The code units of a literal's body: numeric escapes are one unit each, other
    characters (and \\u/\\U names) are encoded as UTF-8, UTF-16 or UTF-32 by ``unit``.
    Source bytes that are not UTF-8 come back as themselves (surrogateescape)."""
    out: list[int] = []
    for m in _ESCAPE.finditer(body):
        octal, hexa, ucn4, ucn8, simple, char = m.groups()
        if octal or hexa:
            out.append((int(octal, 8) if octal else int(hexa, 16)) & ((1 << (8 * unit)) - 1))
            continue
        if ucn4 or ucn8:
            ch = chr(int(ucn4 or ucn8, 16))
        elif simple is not None:
            ch = chr(_ESCAPES.get(simple, ord(simple)))
        else:
            ch = char
        if unit == 1:
            out.extend(ch.encode("utf-8", "surrogateescape"))
        elif unit == 2:
            pairs = ch.encode("utf-16-le", "surrogatepass")
            out.extend(int.from_bytes(pairs[i:i + 2], "little") for i in range(0, len(pairs), 2))
        else:
            out.append(ord(ch))
    return out


def numeric_escape(body: str) -> tuple[int, str] | None:
    """(offset, text) of the first octal or hex escape in a literal's body, if any."""
    for m in _ESCAPE.finditer(body):
        if m.group(1) or m.group(2):
            return m.start(), m.group(0)
    return None


def split_literal(text: str, quote: str) -> tuple[str, str]:
    """(prefix, body) of a char or string literal token."""
    start = text.index(quote)
    return text[:start], text[start + 1:-1]


def parse_char_literal(text: str) -> CInt:
    """A character constant's value and type, as clang computes them: 'x' is an int
    holding a (signed) char, several chars pack big-endian into the int; L'x' is an
    int, u'x' and U'x' are unsigned, and these hold one character only."""
    prefix, body = split_literal(text, "'")
    unit, signed = LITERAL_PREFIXES[prefix]
    units = literal_units(body, unit) or [0]
    if prefix and len(units) > 1:
        kind = "wide" if prefix == "L" else "Unicode"
        raise ConstEvalError(f"{kind} character literals may not contain multiple characters")
    if not prefix:
        if len(units) == 1:
            return CInt.of(units[0], 8, True).cast(32, True)
        value = 0
        for u in units:
            value = (value << 8) | u
        return CInt.of(value)
    value = CInt.of(units[0], 8 * unit, signed)
    return value.cast(32, True) if unit < 4 else value  # char16_t promotes to int


def _promote(a: CInt) -> CInt:
    return a.cast(32, True) if a.bits < 32 else a


def common_type(a: CInt, b: CInt) -> tuple[int, bool]:
    a, b = _promote(a), _promote(b)
    if a.signed == b.signed:
        return max(a.bits, b.bits), a.signed
    u, s = (a, b) if not a.signed else (b, a)
    if u.bits >= s.bits:
        return u.bits, False
    return s.bits, True


class ConstEvalError(Exception):
    pass


def binary(op: str, a: CInt, b: CInt) -> CInt:
    if op in ("<<", ">>"):
        a = _promote(a)
        n = b.value
        if n < 0 or n >= a.bits:
            raise ConstEvalError(f"shift count {n} is out of range for a {a.bits}-bit type")
        return CInt.of(a.value << n if op == "<<" else a.value >> n, a.bits, a.signed)
    bits, signed = common_type(a, b)
    x, y = a.cast(bits, signed).value, b.cast(bits, signed).value
    if op == "+":
        r = x + y
    elif op == "-":
        r = x - y
    elif op == "*":
        r = x * y
    elif op in ("/", "%"):
        if y == 0:
            raise ConstEvalError("division by zero in a constant expression")
        q = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)
        r = q if op == "/" else x - q * y
    elif op == "&":
        r = x & y
    elif op == "|":
        r = x | y
    elif op == "^":
        r = x ^ y
    else:
        cmp = {"<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y, "==": x == y, "!=": x != y}[op]
        return CInt(int(cmp))
    return CInt.of(r, bits, signed)


def unary(op: str, a: CInt) -> CInt:
    if op == "!":
        return CInt(int(not a.value))
    a = _promote(a)
    if op == "-":
        return CInt.of(-a.value, a.bits, a.signed)
    if op == "~":
        return CInt.of(~a.value, a.bits, a.signed)
    return a
