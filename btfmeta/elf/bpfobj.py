"""A BPF ELF object as libbpf sees it: code sections, programs (functions found by
symbol), its ``.BTF`` and ``.BTF.ext``; patched bytes are written back in place."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..btf.elfsection import ELF_MAGIC, SHT_NOBITS, contents, read_elf
from ..btf.spec import Spec
from ..errors import ELFFormatError
from .btfext import BtfExt, parse_btf_ext
from .insn import INSN_SIZE

EM_BPF = 247
SHT_PROGBITS = 1
SHF_EXECINSTR = 0x4
STT_FUNC = 2
_SYMBOL = {True: ("IBBHQQ", 24), False: ("IIIBBH", 16)}  # Elf64_Sym / Elf32_Sym, by ELF class


@dataclass
class Program:
    """A function in a code section: an entry program or a subprogram (libbpf relocates both)."""

    name: str
    section: str
    start: int  # first instruction, as an index into the section
    count: int  # number of instructions


@dataclass
class CodeSection:
    name: str
    index: int
    offset: int  # in the file
    data: bytearray
    programs: list[Program] = field(default_factory=list)


@dataclass
class BpfObject:
    data: bytes
    path: str | None
    big_endian: bool
    sections: dict[str, CodeSection]
    btf: Spec
    btf_ext: BtfExt | None
    btf_ext_range: tuple[int, int] | None  # (file offset, size)
    license: str | None = None  # the "license" section's string, as the kernel will see it

    @classmethod
    def parse(cls, data: bytes, *, path: str | None = None) -> BpfObject:
        if data[:4] != ELF_MAGIC:
            raise ELFFormatError("not an ELF file", path=path, offset=0)
        elf = read_elf(data, path=path)
        if elf.machine != EM_BPF:
            raise ELFFormatError(f"not a BPF object (machine {elf.machine})", path=path)
        sections: dict[str, CodeSection] = {}
        by_index: dict[int, CodeSection] = {}
        btf_data = ext_data = None
        ext_range = None
        license_ = None
        for sec in elf.sections:
            name, off, size = sec.name, sec.offset, sec.size
            body = contents(data, name, off, size, path) if sec.type != SHT_NOBITS else b""
            if name == ".BTF":
                btf_data = body
            elif name == ".BTF.ext":
                ext_data = body
                ext_range = (off, size)
            elif name == "license":
                license_ = body.split(b"\0", 1)[0].decode("utf-8", "replace")
            elif sec.type == SHT_PROGBITS and sec.flags & SHF_EXECINSTR and size:
                if size % INSN_SIZE:
                    raise ELFFormatError(f"code section {name} size {size} is not a multiple of 8",
                                         path=path, offset=off)
                cs = CodeSection(name, sec.index, off, bytearray(body))
                sections[name] = by_index[sec.index] = cs
        if btf_data is None:
            raise ELFFormatError("object has no .BTF section", path=path)
        for name, shndx, value, size in _functions(data, elf, path):
            cs = by_index.get(shndx)
            if cs is None:
                continue
            if value % INSN_SIZE or size % INSN_SIZE or value + size > len(cs.data):
                raise ELFFormatError(f"function {name} lies outside section {cs.name}", path=path)
            cs.programs.append(Program(name, cs.name, value // INSN_SIZE, size // INSN_SIZE))
        for cs in sections.values():
            cs.programs.sort(key=lambda p: p.start)
        btf = Spec.parse(btf_data, path=f"{path or '<object>'}(.BTF)")
        ext = parse_btf_ext(ext_data, path=path) if ext_data else None
        return cls(data, path, elf.big_endian, sections, btf, ext, ext_range, license_)

    def program_at(self, section: str, index: int) -> Program | None:
        cs = self.sections.get(section)
        if cs is None:
            return None
        for p in cs.programs:
            if p.start <= index < p.start + p.count:
                return p
        return None

    def to_bytes(self, btf_ext: bytes | None = None) -> bytes:
        """The object with code sections (and ``.BTF.ext`` if given) replaced in place."""
        out = bytearray(self.data)
        for cs in self.sections.values():
            out[cs.offset:cs.offset + len(cs.data)] = cs.data
        if btf_ext is not None and self.btf_ext_range is not None:
            off, size = self.btf_ext_range
            assert len(btf_ext) == size
            out[off:off + size] = btf_ext
        return bytes(out)


def _functions(data: bytes, elf, path: str | None):
    """(name, section index, value, size) of each STT_FUNC symbol in ``.symtab``."""
    symtab = elf.by_name(".symtab")
    if symtab is None:
        return
    fmt, entsize = _SYMBOL[elf.elf64]
    fmt = (">" if elf.big_endian else "<") + fmt
    table = contents(data, ".symtab", symtab.offset, symtab.size, path)
    if symtab.link >= len(elf.sections):
        raise ELFFormatError(f"malformed ELF: .symtab links to section {symtab.link}", path=path)
    strtab = elf.sections[symtab.link]
    names = contents(data, strtab.name, strtab.offset, strtab.size, path)
    for at in range(0, len(table) - entsize + 1, entsize):
        fields = struct.unpack_from(fmt, table, at)
        if elf.elf64:
            st_name, st_info, _, shndx, value, size = fields
        else:
            st_name, value, size, st_info, _, shndx = fields
        if st_info & 0xF != STT_FUNC:
            continue
        end = names.find(b"\0", st_name)
        if st_name >= len(names) or end < 0:
            raise ELFFormatError(f"malformed ELF: symbol name offset {st_name} out of range", path=path)
        yield names[st_name:end].decode("utf-8", "surrogateescape"), shndx, value, size
