"""The fuzz reader for modules built out of tree (issue 20): an ELF object holding split
``.BTF`` and its distilled base ``.BTF.base``, mutated inside those two sections, read by
every command that takes such a module -- alone, relocated onto a base, relocated and
written, and by the layout and CO-RE readers.  tests/fuzz.py registers it as "distilled"."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


def cases(work: Path, base: Path) -> tuple[bytes, tuple[int, int], list[list[str]]]:
    """(seed object, mutation window: the .BTF and .BTF.base sections, command lines using
    {in} and {out}); ``base`` is the raw BTF the module is distilled on and relocated onto."""
    from btfmeta import Spec
    from btfmeta.btf.distill import distilled_object
    from btfmeta.btf.elfsection import read_elf
    from btfmeta.compile import compile_headers

    split = compile_headers([str(SAMPLES / "mynic_metadata_v2.h")], base=Spec.parse(base.read_bytes()))
    seed = distilled_object(split)
    found = read_elf(seed).by_name(".BTF.base")
    b = ["--base", str(base)]
    return seed, (64, found.offset + found.size), [
        ["btf", "dump", "{in}"], ["btf", "dump", "{in}", *b],
        ["btf", "relocate", "{in}", *b, "-o", "{out}", "--map", str(work / "map.json"), "--libbpf", "1.5"],
        ["layout", "{in}", *b], ["check", str(SAMPLES / "xdp_mynic.bpf.o"), "--btf", "{in}", *b]]
