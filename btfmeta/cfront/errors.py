"""Positioned C front-end errors: ``file:line:col: error: message`` with the source line."""

from __future__ import annotations

from typing import Protocol

from ..errors import Pos, PositionedError

__all__ = ["CSyntaxError", "Located", "Pos", "Where"]


class Located(Protocol):
    """Anything that can say where it is in the source (a token); made a ``Pos`` only
    when a message needs it, so the front end keeps tokens instead of positions."""

    def pos(self) -> Pos: ...


Where = Pos | Located


class CSyntaxError(PositionedError):
    """A syntax error, unsupported construct, or a layout clang would reject."""

    def __init__(self, message: str, pos: Where | None):
        """``pos`` is a ``Pos`` or anything with a ``pos()`` method (a token), resolved here."""
        super().__init__(message, pos if pos is None or isinstance(pos, Pos) else pos.pos())
