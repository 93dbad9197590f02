"""Instructions the kernel verifier refuses whatever layout the program is relocated
against: unknown opcodes, reserved fields, an ``ld_imm64`` without its second half, jumps
out of the function or into an ``ld_imm64``, a function that runs off its end, code no
branch reaches, registers r11-r15, helper ids the target kernel does not have.  Messages
are worded as ``kernel/bpf/verifier.c`` words them.

The verifier checks in two rounds, and so does this module: every instruction first
(``check_subprogs``, ``resolve_pseudo_ldimm64``, ``check_cfg``, in ``bpf_check``'s order),
then only the instructions a path can reach (``do_check``: register numbers, helper ids),
with the branches its known constants decide pruned as for poisoned CO-RE instructions
(``reach.reachable``).  The messages and the order were checked against Linux 6.18's
verifier (tests/test_check_invalid.py)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ..btf.kinds import Kind
from ..btf.spec import Spec
from .insn import CALL, CLASS_ALU, CLASS_ALU64, CLASS_JMP, CLASS_JMP32, CLASS_LDX, CLASS_ST, CLASS_STX, LD_IMM64, Insn
from .reach import is_poison

MAX_REG = 10  # r0-r10; the 4-bit register fields can name r11-r15
EXIT, JA, JA32, GOTOX = 0x95, 0x05, 0x06, 0x0D
MODE_MEM, MODE_MEMSX = 0x60, 0x80
_SIZES = (0x00, 0x08, 0x10, 0x18)  # W, H, B, DW
_CONDS = (0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xA0, 0xB0, 0xC0, 0xD0)
_ALU_OPS = (0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xA0, 0xB0, 0xC0)

# bpf_opcode_in_insntable() of kernel/bpf/core.c (BPF_INSN_MAP and the cBPF carry-overs)
OPCODES = frozenset(
    [cls | op | src for cls in (CLASS_ALU, CLASS_ALU64) for op in _ALU_OPS for src in (0x00, 0x08)]
    + [CLASS_ALU | 0x80, CLASS_ALU64 | 0x80, CLASS_ALU | 0xD0, CLASS_ALU | 0xD8, CLASS_ALU64 | 0xD0]  # neg, end
    + [cls | op | src for cls in (CLASS_JMP, CLASS_JMP32) for op in _CONDS for src in (0x00, 0x08)]
    + [CALL, EXIT, JA, JA32, GOTOX, CLASS_JMP | 0xE0]  # ..., gotol, gotox, may_goto
    + [CLASS_STX | mode | size for mode in (MODE_MEM, 0xC0) for size in _SIZES]  # mem, atomic
    + [CLASS_ST | MODE_MEM | size for size in _SIZES]
    + [CLASS_LDX | MODE_MEM | size for size in _SIZES] + [CLASS_LDX | MODE_MEMSX | s for s in _SIZES[:3]]
    + [LD_IMM64] + [mode | size for mode in (0x20, 0x40) for size in _SIZES[:3]])  # ld_abs, ld_ind


@dataclass(frozen=True)
class Invalid:
    """An instruction the verifier refuses: its index in the function and the verifier's words."""

    insn: int
    message: str


def helper_count(spec: Spec) -> int | None:
    """``__BPF_FUNC_MAX_ID`` of the target's ``enum bpf_func_id`` (its vmlinux, or the base it
    is split on): helper ids at or above it are unknown to that kernel.  None when the target
    has no such enum (a NIC layout on its own says nothing about the kernel's helpers)."""
    for tid in spec.find_by_name("bpf_func_id", Kind.ENUM):
        for v in spec.type_by_id(tid).values:
            if v.name == "__BPF_FUNC_MAX_ID":
                return v.value
    return None


def first_invalid(insns: list[Insn], reached: Collection[int], helpers: int | None) -> Invalid | None:
    """The first instruction of one function that the verifier refuses, or None;
    ``reached``: the indexes a path can reach; ``helpers``: ``helper_count`` or None."""
    return _subprog_bounds(insns) or _every_insn(insns) or _control_flow(insns) or next(
        (bad for i in sorted(reached) if i < len(insns) and (bad := _on_path(i, insns[i], helpers))), None)


def _every_insn(insns: list[Insn]) -> Invalid | None:
    """resolve_pseudo_ldimm64's pass: reserved LDX fields, both halves of ld_imm64, known opcodes."""
    i = 0
    while i < len(insns):
        insn = insns[i]
        if insn.cls == CLASS_LDX and (insn.code & 0xE0 not in (MODE_MEM, MODE_MEMSX) or insn.imm):
            return Invalid(i, "BPF_LDX uses reserved fields")
        if insn.code == LD_IMM64:
            half = insns[i + 1] if i + 1 < len(insns) else None
            if half is None or half.code or half.dst or half.src or half.off:
                return Invalid(i, "invalid bpf_ld_imm64 insn")
            i += 2
            continue
        if insn.code not in OPCODES:
            return Invalid(i, f"unknown opcode {insn.code:02x}")
        i += 1
    return None


def _subprog_bounds(insns: list[Insn]) -> Invalid | None:
    """check_subprogs: every jump lands inside the function, whose last instruction is an
    exit or a jump (no falling into the next function)."""
    for i, insn in enumerate(insns):
        if insn.cls in (CLASS_JMP, CLASS_JMP32) and insn.code & 0xF0 not in (0x80, 0x90) and insn.code != GOTOX:
            to = i + (insn.imm if insn.code == JA32 else insn.off) + 1
            if not 0 <= to < len(insns):
                return Invalid(i, f"jump out of range from insn {i} to {to}")
    if insns and insns[-1].code not in (EXIT, JA):
        return Invalid(len(insns) - 1, "last insn is not an exit or jmp")
    return None


def _control_flow(insns: list[Insn]) -> Invalid | None:
    """check_cfg: every instruction is on some edge from the first (both ways of every
    branch), and no jump lands in the second half of an ld_imm64.  Not judged for a function
    with an indirect jump (gotox), whose targets are the kernel's jump tables."""
    if any(insn.code == GOTOX for insn in insns):
        return None
    seen: set[int] = set()
    todo = [0]
    while todo:
        pc = todo.pop()
        if pc in seen or not 0 <= pc < len(insns):
            continue
        seen.add(pc)
        insn = insns[pc]
        if insn.code == LD_IMM64:
            todo.append(pc + 2)
        elif insn.cls not in (CLASS_JMP, CLASS_JMP32) or insn.code & 0xF0 == 0x80:  # not a jump; a call
            todo.append(pc + 1)
        elif insn.code in (JA, JA32):
            todo.append(pc + (insn.imm if insn.code == JA32 else insn.off) + 1)
        elif insn.code != EXIT:  # conditional, may_goto
            todo += [pc + 1, pc + insn.off + 1]
    i = 0
    while i < len(insns):
        if i not in seen:
            return Invalid(i, f"unreachable insn {i}")
        if insns[i].code == LD_IMM64:
            if i + 1 in seen:
                return Invalid(i, f"jump into the middle of ldimm64 insn {i}")
            i += 1
        i += 1
    return None


def _on_path(i: int, insn: Insn, helpers: int | None) -> Invalid | None:
    """do_check on a reached instruction: its registers (source first, as check_reg_arg is
    called) and, for a helper call, the helper id."""
    for reg in _registers(insn):
        if reg > MAX_REG:
            return Invalid(i, f"R{reg} is invalid")
    if insn.code == CALL and insn.src == 0 and helpers is not None and not is_poison(insn) \
            and not 0 <= insn.imm < helpers:
        return Invalid(i, f"invalid func unknown#{insn.imm}")
    return None


def _registers(insn: Insn) -> list[int]:
    """The register fields an instruction uses, in the order the verifier checks them."""
    cls, op = insn.cls, insn.code & 0xF0
    if cls in (CLASS_ALU, CLASS_ALU64):
        return [insn.src, insn.dst] if insn.source_x and op not in (0x80, 0xD0) else [insn.dst]
    if cls in (CLASS_LDX, CLASS_STX):
        return [insn.src, insn.dst]
    if cls == CLASS_ST or insn.code == LD_IMM64:
        return [insn.dst]
    if cls in (CLASS_JMP, CLASS_JMP32) and op in _CONDS:
        return [insn.src, insn.dst] if insn.source_x else [insn.dst]
    return []
