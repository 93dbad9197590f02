"""Reading named sections of an ELF file with pyelftools, with errors made ours."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

from elftools.elf.elffile import ELFFile

from ..errors import BtfmetaError, ELFFormatError

ELF_MAGIC = b"\x7fELF"


@contextmanager
def elf_errors(path: str | None) -> Iterator[None]:
    """pyelftools (and construct under it) raise many unrelated types on malformed input;
    each becomes one ``ELFFormatError``.  Our own errors pass through unchanged."""
    try:
        yield
    except (BtfmetaError, MemoryError, RecursionError):
        raise
    except Exception as exc:
        raise ELFFormatError(f"malformed ELF: {type(exc).__name__}: {exc}", path=path) from None


def check_in_file(data: bytes, name: str, offset: int, size: int, path: str | None) -> None:
    """A section's bytes must lie inside the file."""
    if offset + size > len(data):
        raise ELFFormatError(f"section {name} (offset {offset}, size {size}) runs past the end of "
                             f"the file ({len(data)} bytes)", path=path, offset=offset)


def read_section(data: bytes, name: str, *, path: str | None = None) -> bytes | None:
    """Bytes of section ``name`` (None if absent); malformed ELF raises ``ELFFormatError``."""
    with elf_errors(path):
        section = ELFFile(io.BytesIO(data)).get_section_by_name(name)
        if section is None:
            return None
        if section["sh_type"] == "SHT_NOBITS":
            return b""
        check_in_file(data, name, section["sh_offset"], section["sh_size"], path)
        return section.data()
