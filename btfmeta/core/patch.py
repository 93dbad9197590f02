"""Patching one instruction with a relocation result (bpf_core_patch_insn)."""

from __future__ import annotations

import errno

from ..btf.codec import s32
from ..elf.insn import (
    CLASS_ALU,
    CLASS_ALU64,
    CLASS_LD,
    CLASS_LDX,
    CLASS_ST,
    CLASS_STX,
    LD_IMM64,
    SIZE_CODE,
    Insn,
    decode,
    encode_into,
    imm64,
    poison_insn,
)
from .btfutil import CoreError
from .calc import RelocResult


def _u64(v: int) -> int:
    return v & 0xFFFFFFFFFFFFFFFF


class Patcher:
    """Applies results to a program's instructions inside its section's bytes."""

    def __init__(self, data: bytearray, base: int, count: int, big_endian: bool, prog: str, log):
        self.data = data
        self.base = base  # the program's first instruction within the section
        self.count = count  # the program's instruction count
        self.big = big_endian
        self.prog = prog
        self.log = log

    def _get(self, idx: int) -> Insn:
        return decode(self.data, self.base + idx, big_endian=self.big)

    def _put(self, idx: int, insn: Insn) -> None:
        encode_into(self.data, self.base + idx, insn, big_endian=self.big)

    def poison(self, relo_idx: int, idx: int) -> list[int]:
        insn = self._get(idx)
        slots = [idx + 1, idx] if insn.code == LD_IMM64 and idx + 1 < self.count else [idx]
        for k in slots:
            self.log(f"prog '{self.prog}': relo #{relo_idx}: substituting insn #{k} w/ invalid insn")
            self._put(k, poison_insn())
        return slots

    def patch(self, relo_idx: int, idx: int, res: RelocResult) -> str:
        """Returns 'poisoned' or 'patched'; raises CoreError as libbpf fails."""
        log, prog = self.log, self.prog
        if res.poison:
            self.poison(relo_idx, idx)
            return "poisoned"
        insn = self._get(idx)
        cls = insn.cls
        new_val, orig_val = res.new_val, res.orig_val
        if cls in (CLASS_ALU, CLASS_ALU64):
            if insn.source_x:
                raise CoreError(-errno.EINVAL)
            if res.validate and _u64(insn.imm) != orig_val:
                log(f"prog '{prog}': relo #{relo_idx}: unexpected insn #{idx} (ALU/ALU64) value: got "
                    f"{insn.imm & 0xFFFFFFFF}, exp {orig_val} -> {new_val}", warn=True)
                raise CoreError(-errno.EINVAL)
            old = insn.imm
            insn.imm = s32(new_val)
            self._put(idx, insn)
            log(f"prog '{prog}': relo #{relo_idx}: patched insn #{idx} (ALU/ALU64) imm {_u64(old)} -> {new_val}")
            return "patched"
        if cls in (CLASS_LDX, CLASS_ST, CLASS_STX):
            if res.validate and _u64(insn.off) != orig_val:
                log(f"prog '{prog}': relo #{relo_idx}: unexpected insn #{idx} (LDX/ST/STX) value: got "
                    f"{insn.off & 0xFFFFFFFF}, exp {orig_val} -> {new_val}", warn=True)
                raise CoreError(-errno.EINVAL)
            if new_val > 32767:
                log(f"prog '{prog}': relo #{relo_idx}: insn #{idx} (LDX/ST/STX) value too big: {new_val}", warn=True)
                raise CoreError(-errno.ERANGE)
            if res.fail_memsz_adjust:
                log(f"prog '{prog}': relo #{relo_idx}: insn #{idx} (LDX/ST/STX) accesses field incorrectly. Make "
                    "sure you are accessing pointers, unsigned integers, or fields of matching type and size.",
                    warn=True)
                self.poison(relo_idx, idx)
                return "poisoned"
            old = insn.off
            insn.off = new_val
            self._put(idx, insn)
            log(f"prog '{prog}': relo #{relo_idx}: patched insn #{idx} (LDX/ST/STX) off {_u64(old)} -> {new_val}")
            if res.new_sz != res.orig_sz:
                if insn.size_bytes != res.orig_sz:
                    log(f"prog '{prog}': relo #{relo_idx}: insn #{idx} (LDX/ST/STX) unexpected mem size: got "
                        f"{insn.size_bytes}, exp {res.orig_sz}", warn=True)
                    raise CoreError(-errno.EINVAL)
                if res.new_sz not in SIZE_CODE:
                    log(f"prog '{prog}': relo #{relo_idx}: insn #{idx} (LDX/ST/STX) invalid new mem size: "
                        f"{res.new_sz}", warn=True)
                    raise CoreError(-errno.EINVAL)
                insn.code = (insn.code & 0xE0) | SIZE_CODE[res.new_sz] | cls
                self._put(idx, insn)
                log(f"prog '{prog}': relo #{relo_idx}: patched insn #{idx} (LDX/ST/STX) mem_sz {res.orig_sz} -> "
                    f"{res.new_sz}")
            return "patched"
        if cls == CLASS_LD:
            second = self._get(idx + 1) if idx + 1 < self.count else None
            if insn.code != LD_IMM64 or insn.src or insn.off or second is None or second.code or second.dst \
                    or second.src or second.off:
                log(f"prog '{prog}': relo #{relo_idx}: insn #{idx} (LDIMM64) has unexpected form", warn=True)
                raise CoreError(-errno.EINVAL)
            imm = imm64(insn, second)
            if res.validate and imm != orig_val:
                log(f"prog '{prog}': relo #{relo_idx}: unexpected insn #{idx} (LDIMM64) value: got {imm}, exp "
                    f"{orig_val} -> {new_val}", warn=True)
                raise CoreError(-errno.EINVAL)
            insn.imm = s32(new_val)
            second.imm = s32(_u64(new_val) >> 32)
            self._put(idx, insn)
            self._put(idx + 1, second)
            log(f"prog '{prog}': relo #{relo_idx}: patched insn #{idx} (LDIMM64) imm64 {imm} -> {new_val}")
            return "patched"
        log(f"prog '{prog}': relo #{relo_idx}: trying to relocate unrecognized insn #{idx}, code:0x{insn.code:x}, "
            f"src:0x{insn.src:x}, dst:0x{insn.dst:x}, off:0x{insn.off & 0xFFFF:x}, imm:0x{insn.imm & 0xFFFFFFFF:x}",
            warn=True)
        raise CoreError(-errno.EINVAL)
