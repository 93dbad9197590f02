"""Which instructions of a relocated program can run: constant propagation over the
control-flow graph, following only the branches that constants allow -- the pruning the
kernel verifier does for `if (bpf_core_field_exists(...))` guards.  A poisoned CO-RE
instruction the program can reach makes the verifier refuse it."""

from __future__ import annotations

from .insn import (
    CALL,
    CLASS_ALU,
    CLASS_ALU64,
    CLASS_JMP,
    CLASS_JMP32,
    CLASS_LD,
    CLASS_LDX,
    LD_IMM64,
    POISON_IMM,
    Insn,
    imm64,
)

U64 = 0xFFFFFFFFFFFFFFFF
_INVALID = [None] * 5  # r11-r15
_ALU = {0x00: lambda a, b: a + b, 0x10: lambda a, b: a - b, 0x20: lambda a, b: a * b, 0x40: lambda a, b: a | b,
        0x50: lambda a, b: a & b, 0x60: lambda a, b: a << (b & 63), 0x70: lambda a, b: a >> (b & 63),
        0xA0: lambda a, b: a ^ b}


def _cmp(op: int, a: int, b: int, bits: int) -> bool | None:
    mask = (1 << bits) - 1
    ua, ub = a & mask, b & mask
    sa = ua - (1 << bits) if ua >> (bits - 1) else ua
    sb = ub - (1 << bits) if ub >> (bits - 1) else ub
    table = {0x10: ua == ub, 0x50: ua != ub, 0x20: ua > ub, 0x30: ua >= ub, 0xA0: ua < ub, 0xB0: ua <= ub,
             0x40: bool(ua & ub), 0x60: sa > sb, 0x70: sa >= sb, 0xC0: sa < sb, 0xD0: sa <= sb}
    return table.get(op)


def reachable(insns: list[Insn]) -> tuple[set[int], set[int]]:
    """(reachable instruction indexes, entries of subprograms called from reachable code)."""
    n = len(insns)
    states: dict[int, tuple] = {}
    calls: set[int] = set()
    # 16 slots: an instruction's 4-bit register fields can name r11-r15, which the
    # verifier refuses; they are never known here
    work = [(0, (None,) * 16)]
    while work:
        pc, regs = work.pop()
        if not 0 <= pc < n:
            continue
        old = states.get(pc)
        if old is not None:
            joined = tuple(a if a == b else None for a, b in zip(old, regs, strict=True))
            if joined == old:
                continue
            regs = joined
        states[pc] = regs
        insn = insns[pc]
        cls, op = insn.cls, insn.code & 0xF0
        r = list(regs)
        if insn.code == LD_IMM64:
            if pc + 1 < n:
                r[insn.dst] = imm64(insn, insns[pc + 1]) if insn.src == 0 else None
            r[11:] = _INVALID
            work.append((pc + 2, tuple(r)))
            continue
        if cls in (CLASS_ALU, CLASS_ALU64):
            bits = 64 if cls == CLASS_ALU64 else 32
            src = (insn.imm & U64) if not insn.source_x else r[insn.src]
            if op == 0xB0:  # mov
                r[insn.dst] = None if src is None else src & ((1 << bits) - 1)
            elif op in _ALU and r[insn.dst] is not None and src is not None:
                r[insn.dst] = _ALU[op](r[insn.dst], src) & ((1 << bits) - 1)
            else:
                r[insn.dst] = None
            r[11:] = _INVALID
            work.append((pc + 1, tuple(r)))
            continue
        if cls in (CLASS_JMP, CLASS_JMP32):
            if insn.code == CALL:
                if insn.src == 1:  # bpf-to-bpf call
                    calls.add(pc + insn.imm + 1)
                for k in range(6):
                    r[k] = None
                work.append((pc + 1, tuple(r)))
                continue
            if op == 0x90:  # exit
                continue
            if op == 0x00:  # ja; gotol (JMP32) has its offset in imm
                work.append((pc + (insn.imm if cls == CLASS_JMP32 else insn.off) + 1, regs))
                continue
            a = r[insn.dst]
            b = (insn.imm & U64) if not insn.source_x else r[insn.src]
            taken = None if a is None or b is None else _cmp(op, a, b, 64 if cls == CLASS_JMP else 32)
            if taken is not False:
                work.append((pc + insn.off + 1, regs))
            if taken is not True:
                work.append((pc + 1, regs))
            continue
        if cls in (CLASS_LD, CLASS_LDX):  # the destination becomes unknown
            r[insn.dst] = None
        work.append((pc + 1, tuple(r)))
    return set(states), calls


def is_poison(insn: Insn) -> bool:
    return insn.code == CALL and insn.src == 0 and insn.imm == POISON_IMM
