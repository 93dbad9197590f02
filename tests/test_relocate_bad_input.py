"""relocate and obj on bad input: malformed .BTF.ext (record sizes, offsets, type ids),
non-BPF ELF, missing sections, and thousands of mutated objects -- exit 2 (or 1 when the
input is well-formed but libbpf would refuse it) with one line, no traceback, no output."""

from __future__ import annotations

import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, run_cli

SAMPLE = REPO / "samples" / "xdp_mynic.bpf.o"


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    out = tmp_path_factory.mktemp("target") / "v2.btf"
    assert run_cli("compile", str(REPO / "samples" / "mynic_metadata_v2.h"), "-o", str(out)).code == 0
    return out


def _section(data: bytes, name: str) -> tuple[int, int]:
    import io

    from elftools.elf.elffile import ELFFile
    sec = ELFFile(io.BytesIO(data)).get_section_by_name(name)
    return sec["sh_offset"], sec["sh_size"]


def _relocate(tmp_path, data: bytes, target) -> tuple[int, str]:
    obj, out = tmp_path / "in.o", tmp_path / "out.o"
    obj.write_bytes(data)
    res = run_cli("relocate", str(obj), "--btf", str(target), "-o", str(out))
    assert res.code in (0, 1, 2), res.stderr
    if res.code:
        assert res.stderr.startswith("btfmeta: error: ") and res.stderr.count("\n") == 1, res.stderr
        assert not out.exists()
    else:
        out.unlink()
    return res.code, res.stderr


def _with_ext_word(data: bytes, offset: int, value: int) -> bytes:
    off, _ = _section(data, ".BTF.ext")
    buf = bytearray(data)
    struct.pack_into("<I", buf, off + offset, value)
    return bytes(buf)


@pytest.mark.parametrize("what, offset, value, message", [
    ("record size", 32, 3, "invalid record size 3"),
    ("func_info offset", 8, 0xFFFF0, "beyond the end"),
    ("core_relo length", 28, 2, "record size not found"),
])
def test_malformed_btf_ext_header(tmp_path, target, what, offset, value, message):
    code, err = _relocate(tmp_path, _with_ext_word(SAMPLE.read_bytes(), offset, value), target)
    assert code == 2 and message in err, (what, err)


def test_out_of_range_type_id_in_a_record(tmp_path, target):
    data = SAMPLE.read_bytes()
    off, _ = _section(data, ".BTF.ext")
    hdr_len, _, _, _, _, core_off, _ = struct.unpack_from("<7I", data, off + 4)
    first = off + hdr_len + core_off + 4 + 8  # rec_size, then the first block's header
    buf = bytearray(data)
    struct.pack_into("<I", buf, first + 4, 99999)  # type_id of record 0
    code, err = _relocate(tmp_path, bytes(buf), target)
    assert code == 2 and "type id 99999 out of range" in err


def test_malformed_btf_inside_an_object(tmp_path, target):
    """A bad .BTF in a good ELF is reported as the BTF error it is, placed in the section."""
    data = SAMPLE.read_bytes()
    off, _ = _section(data, ".BTF")
    buf = bytearray(data)
    struct.pack_into("<I", buf, off + 4, 200)  # hdr_len
    code, err = _relocate(tmp_path, bytes(buf), target)
    assert code == 2 and "in.o(.BTF): " in err and "malformed ELF" not in err, err


def test_not_bpf_and_missing_sections(tmp_path, target):
    code, err = _relocate(tmp_path, Path(sys.executable).resolve().read_bytes(), target)
    assert code == 2 and ("not a BPF object" in err or "malformed ELF" in err)
    code, err = _relocate(tmp_path, b"\x7fELF" + bytes(20), target)
    assert code == 2
    code, err = _relocate(tmp_path, b"not an object at all", target)
    assert code == 2 and "not an ELF file" in err
    stripped = tmp_path / "nobtf.o"
    subprocess.run(["llvm-objcopy-19", "--remove-section=.BTF", "--remove-section=.BTF.ext", str(SAMPLE),
                    str(stripped)], check=True)
    code, err = _relocate(tmp_path, stripped.read_bytes(), target)
    assert code == 2 and "no .BTF section" in err


def test_mutated_objects(tmp_path, target):
    rng = random.Random("relocate")
    data = SAMPLE.read_bytes()
    ext_off, ext_size = _section(data, ".BTF.ext")
    code_off, code_size = _section(data, "xdp")
    counts = {0: 0, 1: 0, 2: 0}
    for _ in range(1500):
        buf = bytearray(data)
        region = rng.choice([(ext_off, ext_size), (code_off, code_size), (0, len(data))])
        for _ in range(rng.randint(1, 4)):
            i = region[0] + rng.randrange(region[1])
            if rng.random() < 0.5:
                buf[i] ^= 1 << rng.randrange(8)
            else:
                buf[i] = rng.choice([0, 0xFF, 0x7F, 0x80])
        if rng.random() < 0.1:
            del buf[rng.randrange(len(buf)):]
        code, _ = _relocate(tmp_path, bytes(buf), target)
        counts[code] += 1
    assert counts[2] > 100 and counts[0] > 100, counts
