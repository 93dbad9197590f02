"""Table-driven unit tests of the CO-RE rules (match, calc, patch), the reachability walk
and constant evaluation, on BTF and instructions built here -- beside the differential
tests against libbpf and clang, which judge the same code on generated and real input."""

from __future__ import annotations

import errno

import pytest

from btfmeta import Spec
from btfmeta.btf import types as T
from btfmeta.cfront.consteval import CInt, ConstEvalError, binary, parse_char_literal, parse_int_literal, unary
from btfmeta.core.access import ReloKind, format_spec, kind_name, parse_spec
from btfmeta.core.btfutil import CoreError
from btfmeta.core.calc import RelocResult, calc_relo
from btfmeta.core.match import fields_are_compat, spec_match, types_are_compat, types_match
from btfmeta.core.patch import Patcher
from btfmeta.elf.insn import CALL, LD_IMM64, POISON_IMM, Insn, decode, encode_into
from btfmeta.elf.reach import reachable
from btfmeta.profiles.libbpf import PROFILES

NEWEST = PROFILES["1.7"]


def _noop(*_a, **_k) -> None:
    pass


def _btf(build) -> Spec:
    spec = Spec()
    build(spec)
    return Spec.parse(spec.to_bytes())


def _local(s: Spec) -> None:
    u32 = s.add(T.Int(name="unsigned int", size=4, nr_bits=32))  # 1
    u8 = s.add(T.Int(name="unsigned char", size=1, nr_bits=8))  # 2
    s32 = s.add(T.Int(name="int", size=4, nr_bits=32, encoding=1))  # 3
    s.add(T.Struct(name="meta", size=12, kflag=True, members=[  # 4
        T.Member(name="hash", type=u32, bits_offset=0),
        T.Member(name="pcp", type=u8, bits_offset=32, bitfield_size=3),
        T.Member(name="dei", type=u8, bits_offset=35, bitfield_size=1),
        T.Member(name="mark", type=s32, bits_offset=64)]))
    s.add(T.Ptr(type=4))  # 5
    s.add(T.Enum(name="proto", size=4, values=[T.EnumValue(name="P_V4", value=4),
                                                T.EnumValue(name="P_V6", value=6)]))  # 6
    s.add(T.Fwd(name="opaque", is_union=False))  # 7


def _target(s: Spec) -> None:
    u32 = s.add(T.Int(name="unsigned int", size=4, nr_bits=32))  # 1
    u16 = s.add(T.Int(name="unsigned short", size=2, nr_bits=16))  # 2
    s.add(T.Struct(name="meta___v2", size=16, kflag=True, members=[  # 3
        T.Member(name="mark", type=u32, bits_offset=0),
        T.Member(name="hash", type=u32, bits_offset=32),
        T.Member(name="pcp", type=u16, bits_offset=70, bitfield_size=3)]))
    s.add(T.Ptr(type=3))  # 4
    s.add(T.Enum(name="proto___v2", size=4, values=[T.EnumValue(name="P_V6", value=60)]))  # 5
    s.add(T.Struct(name="opaque", size=4, members=[]))  # 6


LOCAL, TARGET = _btf(_local), _btf(_target)


@pytest.mark.parametrize(("rule", "lid", "tid", "expected"), [
    (fields_are_compat, 1, 1, True),  # u32 ~ u32
    (fields_are_compat, 1, 2, True),  # INTs of any size are compatible fields
    (fields_are_compat, 4, 3, True),  # composites always
    (fields_are_compat, 5, 4, True),  # pointers always
    (fields_are_compat, 6, 5, True),  # enums by essential name
    (fields_are_compat, 1, 3, False),  # int vs struct
    (types_are_compat, 4, 3, True),
    (types_are_compat, 5, 4, True),
    (types_are_compat, 1, 2, True),
    (types_are_compat, 6, 3, False),  # enum vs struct
    (types_are_compat, 7, 6, False),  # fwd vs struct: kinds differ
])
def test_compat_rules(rule, lid, tid, expected):
    assert rule(LOCAL, lid, TARGET, tid) == expected if rule is fields_are_compat else \
        rule(LOCAL, lid, TARGET, tid, 32, _noop) == expected


@pytest.mark.parametrize(("lid", "tid", "behind_ptr", "expected"), [
    (1, 1, False, True),
    (1, 2, False, False),  # sizes differ
    (6, 5, False, False),  # the target enum lacks P_V4
    (7, 6, True, True),  # a fwd matches a struct behind a pointer
    (7, 6, False, False),  # ... but not by value
    (4, 3, False, False),  # the target struct has no member 'pcp' of a matching type... nor 'dei'
])
def test_types_match(lid, tid, behind_ptr, expected):
    assert types_match(LOCAL, lid, TARGET, tid, behind_ptr, 32, _noop) is expected


@pytest.mark.parametrize(("kind", "access", "local_value", "target_value", "big_endian_shift"), [
    (ReloKind.FIELD_BYTE_OFFSET, "0:0", 0, 4, None),  # hash moved
    (ReloKind.FIELD_BYTE_SIZE, "0:0", 4, 4, None),
    (ReloKind.FIELD_EXISTS, "0:2", 1, 0, None),  # dei is gone: exists = 0, the rest poisoned
    (ReloKind.FIELD_SIGNED, "0:3", 1, 0, None),  # mark: int -> unsigned
    (ReloKind.FIELD_LSHIFT_U64, "0:1", 61, 55, 54),
    (ReloKind.FIELD_RSHIFT_U64, "0:1", 61, 61, None),
    (ReloKind.FIELD_BYTE_OFFSET, "0:1", 4, 8, None),  # a bit-field's containing unit
])
def test_field_relocations(kind, access, local_value, target_value, big_endian_shift):
    ls = parse_spec(LOCAL, 4, access, kind, "p", _noop)
    assert format_spec(ls).startswith(f"<{kind_name(kind)}> [4] struct meta.")
    matched, ts = spec_match(ls, TARGET, 3, _noop)
    res = calc_relo(ls, ts if matched else None, kind, "p", 0, _noop, NEWEST)
    assert res.orig_val == local_value
    if kind != ReloKind.FIELD_EXISTS and not matched:
        assert res.poison
    else:
        assert res.new_val == target_value
    if big_endian_shift is not None:
        be = Spec.parse(LOCAL.to_bytes(byteorder="big"))
        be_ls = parse_spec(be, 4, access, kind, "p", _noop)
        _, be_ts = spec_match(be_ls, TARGET, 3, _noop)
        # (8 - byte_sz) * 8 + (bit_off - byte_off * 8): pcp at bit 70 of a u16 unit at byte 8
        shift = calc_relo(be_ls, be_ts, kind, "p", 0, _noop, NEWEST).new_val
        assert shift == big_endian_shift == (8 - 2) * 8 + (70 - 8 * 8)


def test_enum_and_type_relocations():
    ls = parse_spec(LOCAL, 6, "1", ReloKind.ENUMVAL_VALUE, "p", _noop)
    matched, ts = spec_match(ls, TARGET, 5, _noop)
    assert matched and calc_relo(ls, ts, ReloKind.ENUMVAL_VALUE, "p", 0, _noop, NEWEST).new_val == 60
    ls = parse_spec(LOCAL, 6, "0", ReloKind.ENUMVAL_EXISTS, "p", _noop)
    matched, ts = spec_match(ls, TARGET, 5, _noop)
    assert not matched and calc_relo(ls, None, ReloKind.ENUMVAL_EXISTS, "p", 0, _noop, NEWEST).new_val == 0
    ls = parse_spec(LOCAL, 4, "0", ReloKind.TYPE_SIZE, "p", _noop)
    matched, ts = spec_match(ls, TARGET, 3, _noop)
    assert matched and calc_relo(ls, ts, ReloKind.TYPE_SIZE, "p", 0, _noop, NEWEST).new_val == 16
    with pytest.raises(CoreError) as err:
        parse_spec(LOCAL, 4, "0:9", ReloKind.FIELD_BYTE_OFFSET, "p", _noop)  # no member 9
    assert err.value.err == -errno.EINVAL


def _program(*insns: Insn, big_endian: bool = False) -> bytearray:
    data = bytearray(8 * len(insns))
    for i, insn in enumerate(insns):
        encode_into(data, i, insn, big_endian=big_endian)
    return data


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize(("insn", "res", "expect", "field"), [
    (Insn(0xB7, 1, 0, 0, 24), RelocResult(orig_val=24, new_val=64), "patched", ("imm", 64)),  # mov r1, 24
    (Insn(0x61, 0, 1, 8, 0), RelocResult(orig_val=8, new_val=12, orig_sz=4, new_sz=4), "patched", ("off", 12)),
    (Insn(0x61, 0, 1, 8, 0), RelocResult(orig_val=8, new_val=12, orig_sz=4, new_sz=2), "patched", ("code", 0x69)),
    (Insn(0xB7, 1, 0, 0, 24), RelocResult(poison=True), "poisoned", ("imm", POISON_IMM)),
    (Insn(0x61, 0, 1, 8, 0), RelocResult(orig_val=8, new_val=9, fail_memsz_adjust=True, orig_sz=4, new_sz=1),
     "poisoned", ("code", CALL)),
])
def test_patch(insn, res, expect, field, big_endian):
    data = _program(insn, Insn(0x95, 0, 0, 0, 0), big_endian=big_endian)
    assert Patcher(data, 0, 2, big_endian, "p", _noop).patch(0, 0, res) == expect
    assert getattr(decode(data, 0, big_endian=big_endian), field[0]) == field[1]


@pytest.mark.parametrize(("insn", "res", "err"), [
    (Insn(0xB7, 1, 0, 0, 25), RelocResult(orig_val=24, new_val=64), -errno.EINVAL),  # not the expected value
    (Insn(0x61, 0, 1, 8, 0), RelocResult(orig_val=8, new_val=40000, orig_sz=4, new_sz=4), -errno.ERANGE),
    (Insn(0x61, 0, 1, 8, 0), RelocResult(orig_val=8, new_val=8, orig_sz=4, new_sz=3), -errno.EINVAL),
])
def test_patch_refusals(insn, res, err):
    data = _program(insn, Insn(0x95, 0, 0, 0, 0))
    with pytest.raises(CoreError) as exc:
        Patcher(data, 0, 2, False, "p", _noop).patch(0, 0, res)
    assert exc.value.err == err


def test_patch_ld_imm64_both_slots():
    data = _program(Insn(LD_IMM64, 1, 0, 0, 7), Insn(0, 0, 0, 0, 0), Insn(0x95, 0, 0, 0, 0))
    res = RelocResult(orig_val=7, new_val=(5 << 32) | 9)
    assert Patcher(data, 0, 3, False, "p", _noop).patch(0, 0, res) == "patched"
    assert (decode(data, 0).imm, decode(data, 1).imm) == (9, 5)


POISON = Insn(CALL, 0, 0, 0, POISON_IMM)
EXIT = Insn(0x95, 0, 0, 0, 0)


@pytest.mark.parametrize(("insns", "live_poison"), [
    ([Insn(0xB7, 1, 0, 0, 0), Insn(0x15, 1, 0, 1, 0), POISON, EXIT], False),  # r1 = 0; if r1 == 0 skip poison
    ([Insn(0xB7, 1, 0, 0, 1), Insn(0x15, 1, 0, 1, 0), POISON, EXIT], True),  # r1 = 1: the poison runs
    ([Insn(0x61, 1, 2, 0, 0), Insn(0x15, 1, 0, 1, 0), POISON, EXIT], True),  # r1 loaded: unknown, both ways
    # r1 = 0 by ld_imm64; "if r1 != 0" is not taken, so the poison runs
    ([Insn(0x18, 1, 0, 0, 0), Insn(0, 0, 0, 0, 0), Insn(0x55, 1, 0, 1, 0), POISON, EXIT], True),
    ([Insn(0xB7, 15, 0, 0, 0), Insn(0x15, 15, 0, 1, 0), POISON, EXIT], True),  # r15: never known
    ([Insn(0x05, 0, 0, 1, 0), POISON, EXIT], False),  # ja over it
])
def test_reachability(insns, live_poison):
    seen, _ = reachable(insns)
    assert (insns.index(POISON) in seen) is live_poison


@pytest.mark.parametrize(("text", "value", "bits", "signed"), [
    ("0", 0, 32, True), ("2147483647", 2147483647, 32, True), ("2147483648", 2147483648, 64, True),
    ("0x80000000", 0x80000000, 32, False), ("4294967295u", 4294967295, 32, False), ("1ull", 1, 64, False),
    ("0b101", 5, 32, True), ("017", 15, 32, True), ("1'000", 1000, 32, True),
    ("0" * 5000 + "7", 7, 32, True),  # leading zeros do not count against the size limit
])
def test_integer_literals(text, value, bits, signed):
    v = parse_int_literal(text)
    assert (v.value, v.bits, v.signed) == (value, bits, signed)


@pytest.mark.parametrize("text", ["18446744073709551616", "9" * 5000, "08", "1uu", "0x"])
def test_integer_literals_refused(text):
    assert parse_int_literal(text) is None


@pytest.mark.parametrize(("op", "a", "b", "value"), [
    ("+", CInt(1, 32, True), CInt(2, 32, True), 3),
    ("-", CInt(0, 32, False), CInt(1, 32, False), 0xFFFFFFFF),  # unsigned wraps
    ("<<", CInt(1, 64, True), CInt(40, 32, True), 1 << 40),
    ("/", CInt(-7, 32, True), CInt(2, 32, True), -3),  # C truncates toward zero
    ("%", CInt(-7, 32, True), CInt(2, 32, True), -1),
    ("<", CInt(-1, 32, True), CInt(0, 32, False), 0),  # -1 converts to UINT_MAX
])
def test_constant_arithmetic(op, a, b, value):
    assert binary(op, a, b).value == value


def test_constant_errors_and_chars():
    with pytest.raises(ConstEvalError):
        binary("/", CInt(1, 32, True), CInt(0, 32, True))
    with pytest.raises(ConstEvalError):
        binary("<<", CInt(1, 32, True), CInt(99, 32, True))
    assert unary("-", CInt(1, 32, False)).value == 0xFFFFFFFF
    assert parse_char_literal("'\\n'").value == 10 and parse_char_literal("L'\\xff'").value == 255


# -- what changed between libbpf versions (btfmeta/profiles/libbpf.py) ---------------------


def _relocate_field(local_build, target_build, kind: int, access: str, version: str):
    local, target = _btf(local_build), _btf(target_build)
    ls = parse_spec(local, local.find("meta"), access, kind, "p", _noop)
    matched, ts = spec_match(ls, target, target.find("meta"), _noop)
    assert matched
    return calc_relo(ls, ts, kind, "p", 0, _noop, PROFILES[version])


def _with_array(n: int):
    def build(s: Spec) -> None:
        u32 = s.add(T.Int(name="unsigned int", size=4, nr_bits=32))
        idx = s.add(T.Int(name="__ARRAY_SIZE_TYPE__", size=4, nr_bits=32))
        arr = s.add(T.Array(type=u32, index_type=idx, nelems=n))
        s.add(T.Struct(name="meta", size=4 * n, members=[T.Member(name="a", type=arr, bits_offset=0)]))
    return build


def test_array_field_access_sized_by_element_from_1_6_d7a4ab15():
    """libbpf d7a4ab15 (1.6): a BYTE_OFFSET load from a u32[4] field that is u32[8] in the
    target moves one u32 either way; before, the arrays' sizes (16, 32) differed and the
    load could not be resized (poisoned by patch_insn)."""
    for version, fails in (("1.1", True), ("1.5", True), ("1.7", False)):
        res = _relocate_field(_with_array(4), _with_array(8), ReloKind.FIELD_BYTE_OFFSET, "0:0", version)
        assert res.fail_memsz_adjust is fails, version
        assert (res.orig_sz, res.new_sz) == ((16, 32) if fails else (4, 4))


def _with_enum_last(s: Spec) -> None:
    """An unsigned, empty ENUM as the last type: the word after its header is the string
    section's first word, "\\0abc", whose bit 24 is the low bit of 'c'."""
    s.add(T.Int(name="abc", size=4, nr_bits=32))
    s.add(T.Struct(name="meta", size=4, members=[T.Member(name="k", type=3, bits_offset=0)]))
    s.add(T.Enum(name="kind", size=4))


def _with_enum(s: Spec) -> None:
    s.add(T.Enum(name="kind", size=4, values=[T.EnumValue(name="K", value=1)]))
    s.add(T.Struct(name="meta", size=4, members=[T.Member(name="k", type=1, bits_offset=0)]))


def test_signed_is_for_ints_and_signed_enums_from_1_3_b4c8def4():
    """libbpf b4c8def4 (1.3): FIELD_SIGNED looks at INT encodings of INTs only; before, it
    read the INT encoding bits of any kind's next word -- for this unsigned enum, the start
    of the string section -- and said signed."""
    assert _relocate_field(_with_enum, _with_enum_last, ReloKind.FIELD_SIGNED, "0:0", "1.1").new_val == 1
    for version in ("1.5", "1.7"):
        assert _relocate_field(_with_enum, _with_enum_last, ReloKind.FIELD_SIGNED, "0:0", version).new_val == 0
