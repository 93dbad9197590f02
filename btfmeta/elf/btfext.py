"""``.BTF.ext``: func_info, line_info and CO-RE relocation records (libbpf's rules)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..btf.kinds import ORDER_BY_MAGIC
from ..errors import ELFFormatError

MIN_REC_SIZE = {"func_info": 8, "line_info": 16, "core_relo": 16}


@dataclass(slots=True)
class CoreRelo:
    insn_off: int  # byte offset in the ELF section
    type_id: int
    access_str_off: int
    kind: int


@dataclass
class InfoBlock:
    sec_name_off: int
    records: list  # raw record bytes, or CoreRelo for core_relo


@dataclass
class BtfExt:
    byteorder: str
    hdr_len: int
    sections: dict[str, tuple[int, int]]  # name -> (offset in the section data, length)
    rec_size: dict[str, int] = field(default_factory=dict)
    func_info: list[InfoBlock] = field(default_factory=list)
    line_info: list[InfoBlock] = field(default_factory=list)
    core_relo: list[InfoBlock] = field(default_factory=list)


def parse_btf_ext(data: bytes, *, path: str | None = None) -> BtfExt:
    """Parse and check ``.BTF.ext`` as libbpf's ``btf_ext__new`` does; errors carry the byte offset."""

    def fail(message: str, offset: int) -> ELFFormatError:
        return ELFFormatError(f".BTF.ext: {message}", path=path, offset=offset)

    if len(data) < 8:
        raise fail("header too short", 0)
    magic = struct.unpack_from("<H", data)[0]
    if magic not in ORDER_BY_MAGIC:
        raise fail(f"invalid magic 0x{magic:04x}", 0)
    order, fmt = ORDER_BY_MAGIC[magic]
    version, flags = data[2], data[3]
    if version != 1:
        raise fail(f"unsupported version {version}", 2)
    if flags:
        raise fail(f"unsupported flags 0x{flags:x}", 3)
    hdr_len = struct.unpack_from(fmt + "I", data, 4)[0]
    if hdr_len < 24 or len(data) < hdr_len:
        raise fail(f"header length {hdr_len} is invalid for a {len(data)}-byte section", 4)
    names = ["func_info", "line_info"] + (["core_relo"] if hdr_len >= 32 else [])
    ext = BtfExt(order, hdr_len, {})
    for i, name in enumerate(names):
        off, length = struct.unpack_from(fmt + "II", data, 8 + 8 * i)
        ext.sections[name] = (off, length)
        if not length:
            continue
        if off % 4:
            raise fail(f"{name} subsection is not aligned to 4 bytes", 8 + 8 * i)
        start = hdr_len + off
        end = start + length
        if end > len(data):
            raise fail(f"{name} subsection (off:{off} len:{length}) is beyond the end of the section", 8 + 8 * i)
        if length < 4:
            raise fail(f"{name} record size not found", start)
        rec_size = struct.unpack_from(fmt + "I", data, start)[0]
        if rec_size < MIN_REC_SIZE[name] or rec_size % 4:
            raise fail(f"{name} has invalid record size {rec_size}", start)
        ext.rec_size[name] = rec_size
        pos = start + 4
        if pos == end:
            raise fail(f"{name} has no records", pos)
        blocks = getattr(ext, name)
        while pos < end:
            if end - pos < 8:
                raise fail(f"{name} block header is truncated", pos)
            sec_name_off, num = struct.unpack_from(fmt + "II", data, pos)
            pos += 8
            if num == 0 or pos + num * rec_size > end:
                raise fail(f"{name} block has an incorrect record count {num}", pos - 4)
            if name == "core_relo":
                records = [CoreRelo(*struct.unpack_from(fmt + "4I", data, pos + k * rec_size)) for k in range(num)]
            else:
                records = [bytes(data[pos + k * rec_size:pos + (k + 1) * rec_size]) for k in range(num)]
            blocks.append(InfoBlock(sec_name_off, records))
            pos += num * rec_size
    return ext


def without_core_relo(data: bytes, ext: BtfExt) -> bytes:
    """The same section with the CO-RE subsection dropped: its length set to 0 and its
    bytes zeroed (so the section keeps its size and every other offset in the ELF)."""
    if "core_relo" not in ext.sections or not ext.sections["core_relo"][1]:
        return data
    fmt = "<" if ext.byteorder == "little" else ">"
    out = bytearray(data)
    off, length = ext.sections["core_relo"]
    start = ext.hdr_len + off
    out[start:start + length] = bytes(length)
    struct.pack_into(fmt + "II", out, 24, 0, 0)
    return bytes(out)
