"""Relocation values (bpf_core_calc_relo and friends), as each libbpf profile computes them."""

from __future__ import annotations

import errno
from dataclasses import dataclass

from ..btf.codec import s32
from ..btf.kinds import INT_SIGNED, Kind
from ..profiles.libbpf import Libbpf
from .access import (
    BYTE_OFF,
    BYTE_SZ,
    ENUMVAL_EXISTS,
    ENUMVAL_KINDS,
    FIELD_EXISTS,
    FIELD_KINDS,
    LSHIFT_U64,
    RSHIFT_U64,
    SIGNED,
    TYPE_EXISTS,
    TYPE_ID_TARGET,
    TYPE_MATCHES,
    TYPE_SIZE,
    AccessSpec,
)
from .btfutil import CoreError, get, int_encoding_word, kind, resolve_size, skip_mods_and_typedefs

U32 = 0xFFFFFFFF
U64 = 0xFFFFFFFFFFFFFFFF


class _Poison(Exception):
    """The value function asks for the instruction to be poisoned."""


@dataclass
class RelocResult:
    orig_val: int = 0
    new_val: int = 0
    poison: bool = False
    validate: bool = True
    fail_memsz_adjust: bool = False
    orig_sz: int = 0
    new_sz: int = 0
    orig_type_id: int = 0
    new_type_id: int = 0


@dataclass
class _FieldOut:
    value: int = 0
    mem_size: int = 0
    mem_type: int = 0
    validate: bool = True


def _mem_size(btf, tid: int, profile: Libbpf) -> int:
    """The size a load/store of type ``tid`` moves: the whole type, or from 1.6 (d7a4ab15)
    an array's innermost element -- what LDX/ST/STX actually move."""
    if profile.array_sized_by_element:
        tid, t = skip_mods_and_typedefs(btf, tid)
        while kind(t) == Kind.ARRAY:
            tid, t = skip_mods_and_typedefs(btf, t.type)
    try:
        return resolve_size(btf, tid)
    except CoreError:
        raise CoreError(-errno.EINVAL) from None


def _signed(btf, tid: int, mt, profile: Libbpf) -> int:
    """FIELD_SIGNED: a signed enum, or an INT with the SIGNED encoding; before 1.3 (b4c8def4)
    libbpf took the INT encoding bits of whatever kind the field has (the word after the
    type's header), so a pointer or struct could come out signed."""
    if kind(mt) in (Kind.ENUM, Kind.ENUM64) and mt.signed:
        return 1
    if kind(mt) == Kind.INT:
        return int(bool(mt.encoding & INT_SIGNED))
    if profile.signed_reads_any_kind:
        return (int_encoding_word(btf, tid) >> 24) & INT_SIGNED
    return 0


def _field_value(spec: AccessSpec | None, relo_kind: int, prog: str, insn_idx: int, log, profile: Libbpf,
                 big_endian: bool = False) -> _FieldOut:
    out = _FieldOut()
    if relo_kind == FIELD_EXISTS:
        out.value = 1 if spec is not None else 0
        return out
    if spec is None:
        raise _Poison()
    btf = spec.btf
    acc = spec.accessors[-1]
    t = get(btf, acc.type_id)
    if acc.name is None:
        if relo_kind == BYTE_OFF:
            out.value = spec.bit_offset // 8
            out.mem_size = _mem_size(btf, acc.type_id, profile)
            out.mem_type = acc.type_id
        elif relo_kind == BYTE_SZ:
            out.value = resolve_size(btf, acc.type_id)
        else:
            log(f"prog '{prog}': relo {relo_kind} at insn #{insn_idx} can't be applied to array access", warn=True)
            raise CoreError(-errno.EINVAL)
        out.validate = True
        return out
    m = t.members[acc.idx]
    fid, mt = skip_mods_and_typedefs(btf, m.type)
    bit_off = spec.bit_offset
    bit_sz = m.bitfield_size
    bitfield = bit_sz > 0
    if bitfield:
        byte_sz = mt.size
        byte_off = bit_off // 8 // byte_sz * byte_sz
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
            if byte_sz >= 8:
                log(f"prog '{prog}': relo {relo_kind} at insn #{insn_idx} can't be satisfied for bitfield",
                    warn=True)
                raise CoreError(-errno.E2BIG)
            byte_sz *= 2
            byte_off = bit_off // 8 // byte_sz * byte_sz
    else:
        try:
            byte_sz = resolve_size(btf, fid)
        except CoreError:
            raise CoreError(-errno.EINVAL) from None
        byte_off = bit_off // 8
        bit_sz = byte_sz * 8
    out.validate = not bitfield
    if relo_kind == BYTE_OFF:
        out.value = byte_off
        if not bitfield:
            out.mem_size = _mem_size(btf, fid, profile)
            out.mem_type = fid
    elif relo_kind == BYTE_SZ:
        out.value = byte_sz
    elif relo_kind == SIGNED:
        out.value = _signed(btf, fid, mt, profile)
        out.validate = True
    elif relo_kind == LSHIFT_U64:
        # libbpf picks the formula by the byte order it runs on, the program's own; offline
        # that is the object's (BPF_CORE_READ_BITFIELD loads into the u64's low-order bytes)
        if big_endian:
            out.value = ((8 - byte_sz) * 8 + (bit_off - byte_off * 8)) & U32
        else:
            out.value = (64 - (bit_off + bit_sz - byte_off * 8)) & U32
    elif relo_kind == RSHIFT_U64:
        out.value = (64 - bit_sz) & U32
        out.validate = True
    return out


def _type_value(spec: AccessSpec | None, relo_kind: int) -> tuple[int, bool]:
    """(value, validate) for type-based kinds."""
    if spec is None:
        return 0, True
    if relo_kind == TYPE_ID_TARGET:
        return spec.root_type_id, False
    if relo_kind in (TYPE_EXISTS, TYPE_MATCHES):
        return 1, True
    if relo_kind == TYPE_SIZE:
        try:
            return resolve_size(spec.btf, spec.root_type_id), True
        except CoreError:
            raise CoreError(-errno.EINVAL) from None
    raise CoreError(-errno.EINVAL)


def _enum_value(spec: AccessSpec | None, relo_kind: int) -> int:
    if relo_kind == ENUMVAL_EXISTS:
        return 1 if spec is not None else 0
    if spec is None:
        raise _Poison()
    t = get(spec.btf, spec.accessors[0].type_id)
    v = t.values[spec.accessors[0].idx].value
    if kind(t) == Kind.ENUM:
        return s32(v)  # the stored s32, sign-extended
    return v & U64


def calc_relo(local: AccessSpec, targ: AccessSpec | None, relo_kind: int, prog: str, insn_idx: int, log,
              profile: Libbpf) -> RelocResult:
    res = RelocResult()
    if relo_kind in FIELD_KINDS:
        big_endian = local.btf.byteorder == "big"  # the object's order: where the program runs
        lo = _field_value(local, relo_kind, prog, insn_idx, log, profile, big_endian)
        res.orig_val, res.orig_sz, res.orig_type_id, res.validate = lo.value, lo.mem_size, lo.mem_type, lo.validate
        try:
            to = _field_value(targ, relo_kind, prog, insn_idx, log, profile, big_endian)
            res.new_val, res.new_sz, res.new_type_id = to.value, to.mem_size, to.mem_type
        except _Poison:
            res.poison = True
            return res
        if res.orig_sz != res.new_sz:
            lt = get(local.btf, res.orig_type_id)
            tt = get(targ.btf, res.new_type_id)
            both_ptr = kind(lt) == Kind.PTR and kind(tt) == Kind.PTR
            # "unsigned" here means any INT whose encoding is not exactly SIGNED
            both_unsigned = (kind(lt) == Kind.INT and kind(tt) == Kind.INT and lt.encoding != INT_SIGNED
                             and tt.encoding != INT_SIGNED)
            res.fail_memsz_adjust = not (both_ptr or both_unsigned)
    elif relo_kind in ENUMVAL_KINDS:
        res.orig_val = _enum_value(local, relo_kind)
        try:
            res.new_val = _enum_value(targ, relo_kind)
        except _Poison:
            res.poison = True
    else:
        res.orig_val, res.validate = _type_value(local, relo_kind)
        res.new_val, _ = _type_value(targ, relo_kind)
    res.orig_val &= U64  # libbpf keeps both as __u64
    res.new_val &= U64
    return res
