"""The newer 32-byte header with a layout section: read, kept on copy, dumped like bpftool."""

from __future__ import annotations

import struct

import pytest

from btfmeta import Spec
from btfmeta.btf.load import btf_bytes

from .conftest import FIXTURES, run_cli
from .view_judges import NAMES, toolchain

# libbpf's own kind layout table (btf__new_empty_opts .add_layout): {info_sz, elem_sz, flags}.
LAYOUT = [(0, 0), (4, 0), (0, 0), (12, 0), (0, 12), (0, 12), (0, 8), (0, 0), (0, 0), (0, 0), (0, 0),
          (0, 0), (0, 0), (0, 8), (4, 0), (0, 12), (0, 0), (4, 0), (0, 0), (0, 12)]


def with_layout_header(classic: bytes) -> bytes:
    _, _, _, _, _, type_len, str_off, str_len = struct.unpack_from("<HBBIIIII", classic)
    types = classic[24:24 + type_len]
    strings = classic[24 + str_off:24 + str_off + str_len]
    layout = b"".join(struct.pack("<BBH", i, e, 0) for i, e in LAYOUT)
    header = struct.pack("<HBBIIIIIII", 0xEB9F, 1, 0, 32, 0, type_len, type_len + len(layout), str_len,
                         type_len, len(layout))
    return header + types + layout + strings


@pytest.mark.parametrize("tc", NAMES)
def test_layout_header_roundtrip_and_dump(tmp_path, tc):
    judge = toolchain(tc)
    classic = btf_bytes((FIXTURES / "kinds.bpf.o").read_bytes(), "kinds.bpf.o")
    data = with_layout_header(classic)
    spec = Spec.parse(data)
    assert spec.to_bytes() == data
    assert spec.to_bytes(byteorder="big") != data
    assert Spec.parse(spec.to_bytes(byteorder="big")).to_bytes(byteorder="little") == data
    path = tmp_path / "layout.btf"
    path.write_bytes(data)
    theirs = judge.run(["bpftool", "btf", "dump", "file", "layout.btf"], {"layout.btf": path})
    assert run_cli("btf", "dump", str(path), "--bpftool", judge.bpftool).stdout == theirs
    out = tmp_path / "copy.btf"
    assert run_cli("btf", "copy", str(path), "-o", str(out)).code == 0
    assert out.read_bytes() == data


def test_added_types_keep_the_layout_header():
    classic = btf_bytes((FIXTURES / "kinds.bpf.o").read_bytes(), "kinds.bpf.o")
    spec = Spec.parse(with_layout_header(classic))
    from btfmeta.btf import types as T
    new_id = spec.add(T.Typedef(name="added_t", type=1))
    back = Spec.parse(spec.to_bytes())
    assert back.type_by_id(new_id) == T.Typedef(name="added_t", type=1)
    assert back._layout == spec._layout and len(back._extra_header) == 8
