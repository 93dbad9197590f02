"""BPF instructions: the 8-byte encoding and the fields CO-RE patches."""

from __future__ import annotations

import struct
from dataclasses import dataclass

INSN_SIZE = 8
CLASS_LD, CLASS_LDX, CLASS_ST, CLASS_STX, CLASS_ALU, CLASS_JMP, CLASS_JMP32, CLASS_ALU64 = range(8)
SIZE_BYTES = {0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8}
SIZE_CODE = {v: k for k, v in SIZE_BYTES.items()}
LD_IMM64 = 0x18
CALL = 0x85
POISON_IMM = 195896080  # 0x0bad2310: libbpf's marker for a failed CO-RE relocation


@dataclass(slots=True)
class Insn:
    code: int
    dst: int
    src: int
    off: int
    imm: int

    @property
    def cls(self) -> int:
        return self.code & 0x07

    @property
    def size_bytes(self) -> int:
        return SIZE_BYTES[self.code & 0x18]

    @property
    def source_x(self) -> bool:
        return bool(self.code & 0x08)


def decode(data: bytes | bytearray, index: int, *, big_endian: bool = False) -> Insn:
    code, regs, off, imm = struct.unpack_from(">BBhi" if big_endian else "<BBhi", data, index * INSN_SIZE)
    if big_endian:
        return Insn(code, regs >> 4, regs & 0x0F, off, imm)
    return Insn(code, regs & 0x0F, regs >> 4, off, imm)


def encode_into(data: bytearray, index: int, insn: Insn, *, big_endian: bool = False) -> None:
    regs = (insn.dst << 4 | insn.src) if big_endian else (insn.src << 4 | insn.dst)
    struct.pack_into(">BBhi" if big_endian else "<BBhi", data, index * INSN_SIZE, insn.code, regs, insn.off,
                     insn.imm)


def imm64(first: Insn, second: Insn) -> int:
    """The 64-bit constant of a two-slot ``ld_imm64``."""
    return (first.imm & 0xFFFFFFFF) | (second.imm & 0xFFFFFFFF) << 32


def poison_insn() -> Insn:
    """``call 0x0bad2310``: what libbpf writes over an instruction it cannot relocate."""
    return Insn(CALL, 0, 0, 0, POISON_IMM)
