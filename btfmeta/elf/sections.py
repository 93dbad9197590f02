"""Reading named sections of an ELF file with pyelftools, with errors made ours."""

from __future__ import annotations

import io

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from ..errors import ELFFormatError

ELF_MAGIC = b"\x7fELF"


def read_section(data: bytes, name: str, *, path: str | None = None) -> bytes | None:
    """Bytes of section ``name`` (None if absent); malformed ELF raises ``ELFFormatError``."""
    try:
        elf = ELFFile(io.BytesIO(data))
        section = elf.get_section_by_name(name)
        if section is None:
            return None
        if section["sh_type"] == "SHT_NOBITS":
            return b""
        offset, size = section["sh_offset"], section["sh_size"]
        if offset + size > len(data):
            raise ELFFormatError(f"section {name} (offset {offset}, size {size}) runs past the end of "
                                 f"the file ({len(data)} bytes)", path=path, offset=offset)
        return section.data()
    except ELFFormatError:
        raise
    except (ELFError, ValueError, KeyError, IndexError, TypeError, AssertionError, OverflowError,
            UnicodeDecodeError, AttributeError, MemoryError, EOFError) as exc:
        raise ELFFormatError(f"malformed ELF: {exc}".rstrip(": "), path=path) from None
    except Exception as exc:  # construct's StreamError and friends have no common base
        raise ELFFormatError(f"malformed ELF: {type(exc).__name__}: {exc}", path=path) from None
