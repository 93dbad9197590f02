"""Hypothesis strategies: random BTF type graphs covering all 19 kinds."""

from __future__ import annotations

from hypothesis import strategies as st

from btfmeta.btf import types as T

NAME_CHARS = "abcdefghijklmnopqrstuvwxyz_0123456789é"
names = st.text(NAME_CHARS, min_size=1, max_size=12)
maybe_names = st.one_of(st.just(""), names)
u32 = st.integers(0, 0xFFFFFFFF)
small = st.integers(0, 4096)


def type_strategy(max_id: int) -> st.SearchStrategy[T.Type]:
    """One type whose references are ids in [0, max_id)."""
    ref = st.integers(0, max(max_id - 1, 0))
    member = st.builds(lambda n, t, off: T.Member(name=n, type=t, bits_offset=off), maybe_names, ref,
                       st.integers(0, 0xFFFFFF))
    bf_member = st.builds(lambda n, t, off, bf: T.Member(name=n, type=t, bits_offset=off, bitfield_size=bf),
                          maybe_names, ref, st.integers(0, 0xFFFFFF), st.integers(0, 255))

    def composite(cls):
        plain = st.builds(lambda n, s, ms: cls(name=n, size=s, members=ms),
                          maybe_names, small, st.lists(member, max_size=5))
        kflag = st.builds(lambda n, s, ms: cls(name=n, size=s, members=ms, kflag=True),
                          maybe_names, small, st.lists(bf_member, max_size=5))
        return st.one_of(plain, kflag)

    def enum(cls, bits):
        def make(n, size, signed, vals):
            return cls(name=n, size=size, signed=signed,
                       values=[T.EnumValue(name=vn, value=v) for vn, v in vals])
        signed_vals = st.lists(st.tuples(names, st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)),
                               max_size=5)
        unsigned_vals = st.lists(st.tuples(names, st.integers(0, (1 << bits) - 1)), max_size=5)
        sizes = st.sampled_from([1, 2, 4, 8])
        return st.one_of(st.builds(make, maybe_names, sizes, st.just(True), signed_vals),
                         st.builds(make, maybe_names, sizes, st.just(False), unsigned_vals))

    return st.one_of(
        st.builds(lambda n, s, e, o, b: T.Int(name=n, size=s, encoding=e, bits_offset=o, nr_bits=b),
                  names, st.sampled_from([1, 2, 4, 8, 16]), st.sampled_from([0, 1, 2, 4]),
                  st.integers(0, 255), st.integers(0, 128)),
        st.builds(lambda t: T.Ptr(type=t), ref),
        st.builds(lambda t, i, n: T.Array(type=t, index_type=i, nelems=n), ref, ref, u32),
        composite(T.Struct),
        composite(T.Union),
        enum(T.Enum, 32),
        enum(T.Enum64, 64),
        st.builds(lambda n, u: T.Fwd(name=n, is_union=u), names, st.booleans()),
        st.builds(lambda n, t: T.Typedef(name=n, type=t), names, ref),
        st.builds(lambda t: T.Volatile(type=t), ref),
        st.builds(lambda t: T.Const(type=t), ref),
        st.builds(lambda t: T.Restrict(type=t), ref),
        st.builds(lambda n, t, linkage: T.Func(name=n, type=t, linkage=linkage), names, ref,
                  st.integers(0, 3)),
        st.builds(lambda r, ps: T.FuncProto(return_type=r, params=ps), ref,
                  st.lists(st.builds(lambda n, t: T.Param(name=n, type=t), maybe_names, ref), max_size=4)),
        st.builds(lambda n, t, linkage: T.Var(name=n, type=t, linkage=linkage), names, ref,
                  st.integers(0, 3)),
        st.builds(lambda n, s, vs: T.Datasec(name=n, size=s, vars=vs), names, small,
                  st.lists(st.builds(lambda t, o, s: T.VarSecinfo(type=t, offset=o, size=s), ref, small, small),
                           max_size=4)),
        st.builds(lambda n, s: T.Float(name=n, size=s), names, st.sampled_from([2, 4, 8, 12, 16])),
        st.builds(lambda n, t, c: T.DeclTag(name=n, type=t, component_idx=c), names, ref,
                  st.integers(-1, 10)),
        st.builds(lambda n, t: T.TypeTag(name=n, type=t), names, ref),
    )


@st.composite
def type_lists(draw, *, first_id: int = 1, max_size: int = 25) -> list[T.Type]:
    """A list of types to be given ids ``first_id, first_id+1, ...``; references may point forward."""
    n = draw(st.integers(1, max_size))
    limit = first_id + n
    return [draw(type_strategy(limit)) for _ in range(n)]
