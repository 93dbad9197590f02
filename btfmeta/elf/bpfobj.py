"""A BPF ELF object as libbpf sees it: code sections, programs (functions found by
symbol), its ``.BTF`` and ``.BTF.ext``; patched bytes are written back in place."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from elftools.elf.elffile import ELFFile

from ..btf.spec import Spec
from ..errors import ELFFormatError
from .btfext import BtfExt, parse_btf_ext
from .insn import INSN_SIZE
from .sections import ELF_MAGIC, check_in_file, elf_errors

EM_BPF = 247
SHF_EXECINSTR = 0x4


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
        with elf_errors(path):
            return cls._parse(data, path)

    @classmethod
    def _parse(cls, data: bytes, path: str | None) -> BpfObject:
        if data[:4] != ELF_MAGIC:
            raise ELFFormatError("not an ELF file", path=path, offset=0)
        elf = ELFFile(io.BytesIO(data))
        if elf["e_machine"] not in ("EM_BPF", EM_BPF):
            raise ELFFormatError(f"not a BPF object (machine {elf['e_machine']})", path=path)
        big = elf.little_endian is False
        sections: dict[str, CodeSection] = {}
        by_index: dict[int, CodeSection] = {}
        btf_data = ext_data = None
        ext_range = None
        license_ = None
        for idx, sec in enumerate(elf.iter_sections()):
            name = sec.name
            off, size = sec["sh_offset"], sec["sh_size"]
            if sec["sh_type"] != "SHT_NOBITS":
                check_in_file(data, name, off, size, path)
            if name == ".BTF":
                btf_data = data[off:off + size]
            elif name == ".BTF.ext":
                ext_data = data[off:off + size]
                ext_range = (off, size)
            elif name == "license":
                license_ = data[off:off + size].split(b"\0", 1)[0].decode("utf-8", "replace")
            elif sec["sh_type"] == "SHT_PROGBITS" and sec["sh_flags"] & SHF_EXECINSTR and size:
                if size % INSN_SIZE:
                    raise ELFFormatError(f"code section {name} size {size} is not a multiple of 8",
                                         path=path, offset=off)
                cs = CodeSection(name, idx, off, bytearray(data[off:off + size]))
                sections[name] = by_index[idx] = cs
        if btf_data is None:
            raise ELFFormatError("object has no .BTF section", path=path)
        symtab = elf.get_section_by_name(".symtab")
        if symtab is not None:
            for sym in symtab.iter_symbols():
                if sym["st_info"]["type"] != "STT_FUNC" or sym["st_shndx"] not in by_index:
                    continue
                cs = by_index[sym["st_shndx"]]
                value, size = sym["st_value"], sym["st_size"]
                if value % INSN_SIZE or size % INSN_SIZE or value + size > len(cs.data):
                    raise ELFFormatError(f"function {sym.name} lies outside section {cs.name}", path=path)
                cs.programs.append(Program(sym.name, cs.name, value // INSN_SIZE, size // INSN_SIZE))
        for cs in sections.values():
            cs.programs.sort(key=lambda p: p.start)
        btf = Spec.parse(btf_data, path=f"{path or '<object>'}(.BTF)")
        ext = parse_btf_ext(ext_data, path=path) if ext_data else None
        return cls(data, path, big, sections, btf, ext, ext_range, license_)

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
