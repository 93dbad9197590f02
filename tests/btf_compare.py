"""Compare BTF types independently of type id numbering (for differential tests)."""

from __future__ import annotations

from btfmeta import Spec
from btfmeta.btf import types as T

NAMED_KINDS = (T.Struct, T.Union, T.Enum, T.Enum64, T.Typedef, T.Fwd)


def canon(spec: Spec, tid: int, *, top: bool = True, seen: frozenset = frozenset()) -> tuple:
    """A structural description of type ``tid``; named types below the top are named only."""
    if tid == 0:
        return ("void",)
    t = spec.type_by_id(tid)
    kind = t.kind.name
    if not top and t.name and isinstance(t, NAMED_KINDS):
        return (kind, t.name)
    if tid in seen:
        return ("cycle", kind)
    seen = seen | {tid}

    def sub(x: int) -> tuple:
        return canon(spec, x, top=False, seen=seen)

    if isinstance(t, T.Int):
        return (kind, t.name, t.size, t.encoding, t.bits_offset, t.nr_bits)
    if isinstance(t, T.Float):
        return (kind, t.name, t.size)
    if isinstance(t, T.Composite):
        return (kind, t.name, t.size, t.kflag,
                tuple((m.name, m.bits_offset, m.bitfield_size, sub(m.type)) for m in t.members))
    if isinstance(t, T.EnumLike):
        return (kind, t.name, t.size, t.signed, tuple((v.name, v.value) for v in t.values))
    if isinstance(t, T.Fwd):
        return (kind, t.name, t.is_union)
    if isinstance(t, T.Array):
        return (kind, t.nelems, sub(t.type), sub(t.index_type))
    if isinstance(t, T.FuncProto):
        return (kind, sub(t.return_type), tuple(sub(p.type) for p in t.params))
    return (kind, t.name, sub(t.type))


def named_types(spec: Spec) -> dict[tuple[str, str], int]:
    """(kind, name) -> first id, for named struct/union/enum/typedef types."""
    out: dict[tuple[str, str], int] = {}
    for tid, t in spec:
        if t.name and isinstance(t, NAMED_KINDS):
            out.setdefault((t.kind.name, t.name), tid)
    return out


def decl_tags(spec: Spec) -> set[tuple]:
    """Decl tags as (value, canonical target, component index)."""
    out = set()
    for _, t in spec:
        if isinstance(t, T.DeclTag):
            target = spec.type_by_id(t.type)
            if isinstance(target, NAMED_KINDS):
                out.add((t.name, target.kind.name, target.name, t.component_idx))
    return out


def diff_named(expected: Spec, actual: Spec) -> list[str]:
    """Differences for every named type of ``expected`` (empty list: equal)."""
    problems = []
    mine = named_types(actual)
    for key, tid in named_types(expected).items():
        if key not in mine:
            problems.append(f"{key} missing")
            continue
        a, b = canon(expected, tid), canon(actual, mine[key])
        if a != b:
            problems.append(f"{key}:\n  clang:   {a}\n  btfmeta: {b}")
    missing_tags = decl_tags(expected) - decl_tags(actual)
    if missing_tags:
        problems.append(f"decl tags missing: {sorted(missing_tags)}")
    return problems
