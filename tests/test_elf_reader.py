"""btfmeta reads ELF section tables and symbols itself (no ELF library on the hot path);
pyelftools is the judge: the same sections and functions on real objects, both byte
orders, and seeded mutations of them (where pyelftools reads a table, so do we, equally)."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from btfmeta.btf.elfsection import read_elf
from btfmeta.elf.bpfobj import BpfObject, _functions
from btfmeta.errors import ELFFormatError

from .conftest import FIXTURES, REPO
from .fuzz import mutate

OBJECTS = sorted([*(REPO / "samples").glob("*.o"), *FIXTURES.glob("*.o")])


def _theirs(data: bytes):
    elf = ELFFile(io.BytesIO(data))
    sections = [(i, s.name, s["sh_offset"], s["sh_size"], s["sh_link"], s["sh_flags"])
                for i, s in enumerate(elf.iter_sections())]
    symtab = elf.get_section_by_name(".symtab")
    funcs = [] if symtab is None else [(s.name, s["st_shndx"], s["st_value"], s["st_size"])
                                       for s in symtab.iter_symbols() if s["st_info"]["type"] == "STT_FUNC"]
    return sections, funcs, not elf.little_endian


def _shown(name: str) -> str:
    """Names as pyelftools decodes them (invalid UTF-8 replaced; ours keeps the bytes)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _ours(data: bytes):
    elf = read_elf(data)
    sections = [(s.index, _shown(s.name), s.offset, s.size, s.link, s.flags) for s in elf.sections]
    funcs = [(_shown(name), *rest) for name, *rest in _functions(data, elf, None)]
    return sections, funcs, elf.big_endian


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.name)
def test_section_tables_and_functions_equal_pyelftools(path: Path):
    data = path.read_bytes()
    assert _ours(data) == _theirs(data)
    BpfObject.parse(data)


def test_mutated_objects_read_alike():
    rng = random.Random("elf-reader")
    agreed = 0
    for i in range(600):
        data = mutate(OBJECTS[i % len(OBJECTS)].read_bytes(), rng)
        try:
            theirs = _theirs(data)
        except Exception:  # pyelftools raises many types on malformed input
            theirs = None
        try:
            ours = _ours(data)
        except ELFFormatError:
            ours = None
        if theirs is not None and ours is not None:
            assert ours == theirs, i
            agreed += 1
    assert agreed > 100
