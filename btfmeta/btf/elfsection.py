"""The ``.BTF`` section of an ELF file (a vmlinux, a module, a BPF object), read from the
section headers directly: reading BTF needs no ELF library, and the BTF part imports
nothing above it.  Both classes and byte orders, extended section numbering."""

from __future__ import annotations

import struct

from ..errors import ELFFormatError

ELF_MAGIC = b"\x7fELF"
_SHN_XINDEX = 0xFFFF
_SHT_NOBITS = 8
# per ELF class: (e_shoff, e_shentsize.. e_shstrndx), section header layout and size
_LAYOUT = {1: ("I", 32, "HHH", 46, "IIIIIIIIII", 40), 2: ("Q", 40, "HHH", 58, "IIQQQQIIQQ", 64)}


def section(data: bytes, name: str, *, path: str | None = None) -> bytes | None:
    """Bytes of section ``name`` (None if absent); malformed ELF raises ``ELFFormatError``."""
    if len(data) < 64 or data[:4] != ELF_MAGIC or data[4] not in _LAYOUT or data[5] not in (1, 2):
        raise ELFFormatError("malformed ELF: bad identification or too short", path=path)
    order = "<" if data[5] == 1 else ">"
    off_fmt, off_at, tail_fmt, tail_at, sh_fmt, sh_size = _LAYOUT[data[4]]
    (shoff,) = struct.unpack_from(order + off_fmt, data, off_at)
    shentsize, shnum, shstrndx = struct.unpack_from(order + tail_fmt, data, tail_at)
    if shoff == 0:
        return None
    if shentsize != sh_size:
        raise ELFFormatError(f"malformed ELF: section header size {shentsize}, expected {sh_size}", path=path)

    def header(i: int) -> tuple:
        at = shoff + i * sh_size
        if at + sh_size > len(data):
            raise ELFFormatError(f"malformed ELF: section header {i} runs past the end of the file", path=path,
                                 offset=at)
        return struct.unpack_from(order + sh_fmt, data, at)

    first = header(0)
    if shnum == 0:
        shnum = first[5]  # extended numbering: the count is in section 0's sh_size
    if shstrndx == _SHN_XINDEX:
        shstrndx = first[6]  # ... and the string table's index in its sh_link
    if shnum > (len(data) - shoff) // sh_size or shstrndx >= shnum:
        raise ELFFormatError(f"malformed ELF: {shnum} section headers, string table {shstrndx}", path=path)
    names = _contents(data, header(shstrndx), "section name table", path)
    wanted = name.encode()
    for i in range(shnum):
        h = header(i)
        end = names.find(b"\0", h[0])
        if h[0] < len(names) and end >= 0 and names[h[0]:end] == wanted:
            return b"" if h[1] == _SHT_NOBITS else _contents(data, h, name, path)
    return None


def _contents(data: bytes, h: tuple, name: str, path: str | None) -> bytes:
    offset, size = h[4], h[5]
    if offset + size > len(data):
        raise ELFFormatError(f"section {name} (offset {offset}, size {size}) runs past the end of "
                             f"the file ({len(data)} bytes)", path=path, offset=offset)
    return data[offset:offset + size]
