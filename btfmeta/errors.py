"""One exception hierarchy for everything btfmeta refuses.

The CLI turns a ``BtfmetaError`` into ``btfmeta: error: <message>`` and its
``exit_code``; library users catch the class they care about.
"""

from __future__ import annotations


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
