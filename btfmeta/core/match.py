"""Matching a local CO-RE spec against one candidate (bpf_core_spec_match) and the
compatibility rules it uses: fields_are_compat, types_are_compat, types_match."""

from __future__ import annotations

import errno

from ..btf.kinds import INT_SIGNED, Kind
from ..btf.spec import Spec
from .access import ENUMVAL_KINDS, MAX_SPEC_LEN, TYPE_KINDS, TYPE_MATCHES, Accessor, AccessSpec, is_flex
from .btfutil import (
    CoreError,
    core_compatible_kinds,
    essential_len,
    get,
    is_composite,
    kind,
    kind_str,
    resolve_size,
    skip_mods_and_typedefs,
)


def _names_equal_essential(a: str, b: str) -> bool:
    la, lb = essential_len(a), essential_len(b)
    return la == lb and a[:la] == b[:lb]


def fields_are_compat(local: Spec, lid: int, targ: Spec, tid: int) -> bool:
    while True:
        lid, lt = skip_mods_and_typedefs(local, lid)
        tid, tt = skip_mods_and_typedefs(targ, tid)
        if is_composite(lt) and is_composite(tt):
            return True
        if not core_compatible_kinds(kind(lt), kind(tt)):
            return False
        k = kind(lt)
        if k in (Kind.PTR, Kind.FLOAT):
            return True
        if k in (Kind.FWD, Kind.ENUM, Kind.ENUM64):
            if essential_len(lt.name) == 0 or essential_len(tt.name) == 0:
                return True
            return _names_equal_essential(lt.name, tt.name)
        if k == Kind.INT:
            return lt.bits_offset == 0 and tt.bits_offset == 0
        if k == Kind.ARRAY:
            lid, tid = lt.type, tt.type
            continue
        return False


def types_are_compat(local: Spec, lid: int, targ: Spec, tid: int, level: int, log) -> bool:
    if not core_compatible_kinds(kind(get(local, lid)), kind(get(targ, tid))):
        return False
    for _ in range(32):
        lid, lt = skip_mods_and_typedefs(local, lid)
        tid, tt = skip_mods_and_typedefs(targ, tid)
        if not core_compatible_kinds(kind(lt), kind(tt)):
            return False
        k = kind(lt)
        if k in (0, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.FWD):
            return True
        if k == Kind.INT:
            return lt.bits_offset == 0 and tt.bits_offset == 0
        if k in (Kind.PTR, Kind.ARRAY):
            lid, tid = lt.type, tt.type
            continue
        if k == Kind.FUNC_PROTO:
            if len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params, strict=True):
                if level <= 0:
                    raise CoreError(-errno.EINVAL)
                if not types_are_compat(local, skip_mods_and_typedefs(local, lp.type)[0], targ,
                                        skip_mods_and_typedefs(targ, tp.type)[0], level - 1, log):
                    return False
            lid, tid = lt.return_type, tt.return_type
            continue
        return _unexpected_kind(log, lt, lid, tid)
    raise CoreError(-errno.EINVAL)  # the 32-step depth budget ran out


def _unexpected_kind(log, lt, lid: int, tid: int) -> bool:
    log(f"unexpected kind {kind_str(lt)} relocated, local [{lid}], target [{tid}]", warn=True)
    return False


def _names_match(a: str, b: str) -> bool:
    if not b:
        return not a
    return _names_equal_essential(a, b)


def _enums_match(lt, tt) -> bool:
    if lt.size != tt.size or len(lt.values) > len(tt.values):
        return False
    return all(any(_names_match(lv.name, tv.name) for tv in tt.values) for lv in lt.values)


def types_match(local: Spec, lid: int, targ: Spec, tid: int, behind_ptr: bool, level: int, log) -> bool:
    if level <= 0:
        raise CoreError(-errno.EINVAL)
    for _ in range(32):
        lid, lt = skip_mods_and_typedefs(local, lid)
        tid, tt = skip_mods_and_typedefs(targ, tid)
        if not _names_match(lt.name if lt else "", tt.name if tt else ""):
            return False
        k, tk = kind(lt), kind(tt)
        if k == 0:
            return (tk == 0)
        if k == Kind.FWD:
            if behind_ptr:
                if tk == Kind.FWD:
                    return (lt.is_union == tt.is_union)
                if tk == Kind.STRUCT:
                    return (not lt.is_union)
                if tk == Kind.UNION:
                    return (lt.is_union)
                return False
            return (tk == Kind.FWD and lt.is_union == tt.is_union)
        if k in (Kind.ENUM, Kind.ENUM64):
            return (tk in (Kind.ENUM, Kind.ENUM64) and _enums_match(lt, tt))
        if k in (Kind.STRUCT, Kind.UNION):
            if behind_ptr:
                if tk == k:
                    return True
                if tk == Kind.FWD:
                    return ((k == Kind.UNION) == tt.is_union)
                return False
            if tk != k or len(lt.members) > len(tt.members):
                return False
            for lm in lt.members:
                if not any(_names_match(lm.name, tm.name)
                           and types_match(local, lm.type, targ, tm.type, behind_ptr, level - 1, log)
                           for tm in tt.members):
                    return False
            return True
        if k == Kind.INT:
            return (tk == Kind.INT and lt.size == tt.size
                       and (lt.encoding & INT_SIGNED) == (tt.encoding & INT_SIGNED))
        if k == Kind.PTR:
            if tk != Kind.PTR:
                return False
            behind_ptr = True
            lid, tid = lt.type, tt.type
            continue
        if k == Kind.ARRAY:
            if tk != Kind.ARRAY or lt.nelems != tt.nelems:
                return False
            lid, tid = lt.type, tt.type
            continue
        if k == Kind.FUNC_PROTO:
            if tk != Kind.FUNC_PROTO or len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params, strict=True):
                if not types_match(local, lp.type, targ, tp.type, behind_ptr, level - 1, log):
                    return False
            lid, tid = lt.return_type, tt.return_type
            continue
        return _unexpected_kind(log, lt, lid, tid)
    raise CoreError(-errno.EINVAL)  # the 32-step depth budget ran out


def _match_member(local: Spec, lacc: Accessor, targ: Spec, tid: int, ts: AccessSpec) -> tuple[bool, int]:
    """bpf_core_match_member: (found, the member's type id), extending ``ts`` as it goes."""
    tid, t = skip_mods_and_typedefs(targ, tid)
    if not is_composite(t):
        return False, tid
    lcomp = get(local, lacc.type_id)
    lmember = lcomp.members[lacc.idx]
    for j, m in enumerate(t.members):
        off = m.bits_offset
        if len(ts.raw) == MAX_SPEC_LEN:
            raise CoreError(-errno.E2BIG)
        ts.bit_offset = (ts.bit_offset + off) & 0xFFFFFFFF
        ts.raw.append(j)
        if not m.name:
            found, nxt = _match_member(local, lacc, targ, m.type, ts)
            if found:
                return True, nxt
        elif lmember.name == m.name:
            if len(ts.accessors) == MAX_SPEC_LEN:
                raise CoreError(-errno.E2BIG)
            ts.accessors.append(Accessor(tid, j, m.name))
            compat = fields_are_compat(local, lmember.type, targ, m.type)
            if not compat:
                ts.accessors.pop()
            return compat, m.type
        ts.bit_offset = (ts.bit_offset - off) & 0xFFFFFFFF
        ts.raw.pop()
    return False, tid


class MatchFailed(CoreError):
    """``bpf_core_spec_match`` returned an error; ``spec`` is the target spec as far as it got
    (libbpf prints it in "error matching candidate")."""

    def __init__(self, err: int, spec: AccessSpec):
        super().__init__(err)
        self.spec = spec


def spec_match(ls: AccessSpec, targ: Spec, cand_id: int, log) -> tuple[bool, AccessSpec]:
    """``bpf_core_spec_match``: whether candidate ``cand_id`` matches, and the (maybe partial)
    target spec; libbpf's error returns are raised as MatchFailed."""
    ts = AccessSpec(targ, cand_id, ls.relo_kind)
    try:
        return _spec_match(ls, targ, cand_id, log, ts)
    except CoreError as exc:
        raise MatchFailed(exc.err, ts) from None


def _spec_match(ls: AccessSpec, targ: Spec, cand_id: int, log, ts: AccessSpec) -> tuple[bool, AccessSpec]:
    local = ls.btf
    if ls.relo_kind in TYPE_KINDS:
        if ls.relo_kind == TYPE_MATCHES:
            return types_match(local, ls.root_type_id, targ, cand_id, False, 32, log), ts
        return types_are_compat(local, ls.root_type_id, targ, cand_id, 32, log), ts
    lacc = ls.accessors
    if ls.relo_kind in ENUMVAL_KINDS:
        tid, t = skip_mods_and_typedefs(targ, cand_id)
        if kind(t) not in (Kind.ENUM, Kind.ENUM64):
            return False, ts
        lname = lacc[0].name
        for i, v in enumerate(t.values):
            if _names_equal_essential(lname, v.name):
                ts.accessors.append(Accessor(tid, i, v.name))
                ts.raw.append(i)
                return True, ts
        return False, ts
    tid = cand_id
    for i, acc in enumerate(lacc):
        tid, t = skip_mods_and_typedefs(targ, tid)
        if acc.name is not None:
            found, tid = _match_member(local, acc, targ, tid, ts)
            if not found:
                return False, ts
            continue
        if i > 0:
            if kind(t) != Kind.ARRAY:
                return False, ts
            flex = is_flex(targ, ts.accessors[-1] if ts.accessors else None, t)
            if not flex and acc.idx >= t.nelems:
                return False, ts
            tid, _ = skip_mods_and_typedefs(targ, t.type)
        if len(ts.raw) == MAX_SPEC_LEN:
            raise CoreError(-errno.E2BIG)
        ts.accessors.append(Accessor(tid, acc.idx, None))
        ts.raw.append(acc.idx)
        sz = resolve_size(targ, tid)
        ts.bit_offset = (ts.bit_offset + acc.idx * sz * 8) & 0xFFFFFFFF
    return True, ts
