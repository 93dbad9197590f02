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


def parse_char_literal(text: str) -> CInt:
    body = text[text.index("'") + 1:-1]
    if body.startswith("\\"):
        esc = body[1:]
        if esc[:1] in ("x", "X"):
            value = int(esc[1:], 16)
        elif esc[:1].isdigit():
            value = int(esc, 8)
        else:
            value = _ESCAPES.get(esc[:1], ord(esc[:1]) if esc else 0)
    else:
        value = ord(body[0]) if body else 0
    return CInt.of(value if value < 128 else value - 256 if value < 256 else value)


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
