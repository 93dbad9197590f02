"""ELF section headers read directly (both classes and byte orders, extended section
numbering): the ``.BTF`` of a vmlinux, a module or a BPF object, and the section table a
BPF object is parsed from.  Reading BTF needs no ELF library, and the BTF part imports
nothing above it; the tests hold this reader equal to pyelftools."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import ELFFormatError

ELF_MAGIC = b"\x7fELF"
SHT_NOBITS = 8
_SHN_XINDEX = 0xFFFF
# per ELF class: e_shoff format and place, the e_shentsize..e_shstrndx place, section header format and size
_LAYOUT = {1: ("I", 32, 46, "IIIIIIIIII", 40), 2: ("Q", 40, 58, "IIQQQQIIQQ", 64)}


@dataclass(frozen=True, slots=True)
class Section:
    index: int
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    entsize: int


@dataclass(frozen=True, slots=True)
class ElfFile:
    big_endian: bool
    elf64: bool
    machine: int
    sections: list[Section]

    def by_name(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)


def read_elf(data: bytes, *, path: str | None = None) -> ElfFile:
    """The identification, machine and section table of ``data``; ELFFormatError if malformed."""
    if len(data) < 64 or data[:4] != ELF_MAGIC or data[4] not in _LAYOUT or data[5] not in (1, 2):
        raise ELFFormatError("malformed ELF: bad identification or too short", path=path)
    order = "<" if data[5] == 1 else ">"
    off_fmt, off_at, tail_at, sh_fmt, sh_size = _LAYOUT[data[4]]
    (machine,) = struct.unpack_from(order + "H", data, 18)
    (shoff,) = struct.unpack_from(order + off_fmt, data, off_at)
    shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", data, tail_at)
    elf = ElfFile(order == ">", data[4] == 2, machine, [])
    if shoff == 0:
        return elf
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
    raw = [header(i) for i in range(shnum)]
    names = contents(data, "section name table", raw[shstrndx][4], raw[shstrndx][5], path)
    for i, h in enumerate(raw):
        end = names.find(b"\0", h[0])
        if h[0] >= len(names) or end < 0:
            raise ELFFormatError(f"malformed ELF: section {i} name offset {h[0]} out of range", path=path)
        name = names[h[0]:end].decode("utf-8", "surrogateescape")
        elf.sections.append(Section(i, name, h[1], h[2], h[4], h[5], h[6], h[9]))
    return elf


def contents(data: bytes, name: str, offset: int, size: int, path: str | None) -> bytes:
    """A section's bytes, which must lie inside the file."""
    if offset + size > len(data):
        raise ELFFormatError(f"section {name} (offset {offset}, size {size}) runs past the end of "
                             f"the file ({len(data)} bytes)", path=path, offset=offset)
    return data[offset:offset + size]


def section(data: bytes, name: str, *, path: str | None = None) -> bytes | None:
    """Bytes of section ``name`` (None if absent); malformed ELF raises ``ELFFormatError``."""
    return sections(data, (name,), path=path).get(name)


def sections(data: bytes, names: tuple[str, ...], *, path: str | None = None) -> dict[str, bytes]:
    """Bytes of each of the sections ``names`` that ``data`` has (the table read once)."""
    elf = read_elf(data, path=path)
    found = {}
    for name in names:
        s = elf.by_name(name)
        if s is not None:
            found[name] = b"" if s.type == SHT_NOBITS else contents(data, name, s.offset, s.size, path)
    return found


_EM_X86_64, _EM_S390 = 62, 22  # a module's machine: a little- and a big-endian one
_SHT_PROGBITS, _SHT_STRTAB = 1, 3


def btf_object(named: dict[str, bytes], *, big_endian: bool = False) -> bytes:
    """A minimal ELF64 relocatable object holding the sections ``named`` (".BTF",
    ".BTF.base", ... in that order) and nothing else: what libbpf's ``btf__parse_elf``,
    bpftool and pahole read BTF from, as they read it from a module."""
    order = ">" if big_endian else "<"
    names = b"\0" + b"".join(n.encode() + b"\0" for n in (*named, ".shstrtab"))
    body = bytearray()
    headers = [struct.pack(order + "IIQQQQIIQQ", *(0,) * 10)]
    name_at = 1
    for name, data in (*named.items(), (".shstrtab", names)):
        body += b"\0" * (-(64 + len(body)) % 4)
        kind = _SHT_STRTAB if name == ".shstrtab" else _SHT_PROGBITS
        headers.append(struct.pack(order + "IIQQQQIIQQ", name_at, kind, 0, 0, 64 + len(body), len(data), 0, 0,
                                   1 if kind == _SHT_STRTAB else 4, 0))
        body += data
        name_at += len(name) + 1
    body += b"\0" * (-(64 + len(body)) % 8)
    shoff = 64 + len(body)
    ident = ELF_MAGIC + bytes([2, 2 if big_endian else 1, 1]) + bytes(9)
    header = ident + struct.pack(order + "HHIQQQIHHHHHH", 1, _EM_S390 if big_endian else _EM_X86_64, 1, 0, 0,
                                 shoff, 0, 64, 0, 0, 64, len(headers), len(headers) - 1)
    return header + bytes(body) + b"".join(headers)
