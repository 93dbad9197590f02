"""Positioned C front-end errors: ``file:line:col: error: message`` with the source line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..errors import BtfmetaError


@dataclass(frozen=True, slots=True)
class Pos:
    file: str
    line: int
    col: int
    text: str = ""  # the source line, for the caret display


class Located(Protocol):
    """Anything that can say where it is in the source (a token); made a ``Pos`` only
    when a message needs it, so the front end keeps tokens instead of positions."""

    def pos(self) -> Pos: ...


Where = Pos | Located


class CSyntaxError(BtfmetaError):
    """A syntax error, unsupported construct, or a layout clang would reject."""

    def __init__(self, message: str, pos: Where | None):
        """``pos`` is a ``Pos`` or anything with a ``pos()`` method (a token), resolved here."""
        super().__init__(message)
        self.pos = pos if pos is None or isinstance(pos, Pos) else pos.pos()

    def __str__(self) -> str:
        return self.message if self.pos is None else f"{self.pos.file}:{self.pos.line}:{self.pos.col}: {self.message}"

    def render(self) -> str:
        """The compiler-style report: ``file:line:col: error: msg``, the line, a caret."""
        if self.pos is None:
            return f"error: {self.message}"
        p = self.pos
        out = f"{p.file}:{p.line}:{p.col}: error: {self.message}"
        if p.text:
            line = p.text.rstrip("\n").expandtabs(1)
            out += f"\n{line}\n{' ' * max(p.col - 1, 0)}^"
        return out
