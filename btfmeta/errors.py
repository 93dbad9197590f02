"""One exception hierarchy for everything btfmeta refuses.

The CLI turns a ``BtfmetaError`` into ``btfmeta: error: <message>`` and its
``exit_code`` -- a ``PositionedError`` into ``FILE:LINE:COL: error: MESSAGE``, the line and a
caret, as compilers print them (editors' quickfix lists and CI annotations read that form);
library users catch the class they care about.
"""

from __future__ import annotations

from dataclasses import dataclass


class BtfmetaError(Exception):
    """Base class: bad input or an impossible request (exit code 2)."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, offset: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.offset = offset

    def __str__(self) -> str:
        text = self.message
        if self.offset is not None:
            text = f"{text} (at byte {self.offset})"
        if self.path is not None:
            text = f"{self.path}: {text}"
        return text


class BTFFormatError(BtfmetaError):
    """Raw BTF bytes that libbpf or the kernel would reject."""


class ELFFormatError(BtfmetaError):
    """An ELF object that cannot be read or has no usable BTF."""


class TypeLookupError(BtfmetaError):
    """A type name or id that the BTF does not have."""


class IncompatibleError(BtfmetaError):
    """A valid input that does not fit the target (exit code 1)."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class Pos:
    """A place in a text file (line and column from 1), with that line for the caret display."""

    file: str
    line: int
    col: int
    text: str = ""


class PositionedError(BtfmetaError):
    """Bad input at a place in a text file (a C header, a TOML registry); ``pos`` may be None
    when the input has no place to point at."""

    def __init__(self, message: str, pos: Pos | None, *, path: str | None = None):
        super().__init__(message, path=path)
        self.pos = pos

    def __str__(self) -> str:
        p = self.pos
        return super().__str__() if p is None else f"{p.file}:{p.line}:{p.col}: {self.message}"

    def render(self) -> str:
        """The compiler-style report: ``file:line:col: error: msg``, the line, a caret."""
        p = self.pos
        if p is None:
            return f"btfmeta: error: {self}"
        out = f"{p.file}:{p.line}:{p.col}: error: {self.message}"
        if p.text:
            line = p.text.rstrip("\n").expandtabs(1)
            out += f"\n{line}\n{' ' * max(p.col - 1, 0)}^"
        return out
