"""Property tests: random type graphs of every kind, built, written, read back equal,
and dumped identically by bpftool -- in both byte orders, split and not."""

from __future__ import annotations

import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from btfmeta import Spec
from btfmeta.render import bpftool as render

from .btf_strategies import type_lists
from .conftest import bpftool_dump

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _build(types, base=None):
    spec = Spec(base=base)
    for t in types:
        spec.add(t)
    return spec


def _roundtrip(spec: Spec, order: str, base: Spec | None = None) -> tuple[bytes, Spec]:
    data = spec.to_bytes(byteorder=order)
    back = Spec.parse(data, base=base)
    assert back.byteorder == order
    assert len(back) == len(spec)
    for tid in spec.own_ids():
        assert back.type_by_id(tid) == spec.type_by_id(tid)
    assert back.to_bytes() == data
    return data, back


@SETTINGS
@given(types=type_lists(), order=st.sampled_from(["little", "big"]))
def test_builder_roundtrip_and_bpftool(tmp_path, bpftool, types, order):
    data, back = _roundtrip(_build(types), order)
    path = tmp_path / "gen.btf"
    path.write_bytes(data)
    ours = "".join(render.raw_dump(back, back.own_ids())).encode("utf-8", "surrogateescape")
    assert ours == bpftool_dump(bpftool, path)


@SETTINGS
@given(base_types=type_lists(max_size=10), data=st.data(), order=st.sampled_from(["little", "big"]))
def test_split_roundtrip_and_bpftool(tmp_path, bpftool, base_types, data, order):
    base_bytes, base = _roundtrip(_build(base_types), order)
    split_types = data.draw(type_lists(first_id=base.type_cnt))
    split_bytes, back = _roundtrip(_build(split_types, base), order, base)
    assert back.start_id == base.type_cnt
    bpath, spath = tmp_path / "base.btf", tmp_path / "split.btf"
    bpath.write_bytes(base_bytes)
    spath.write_bytes(split_bytes)
    ours = "".join(render.raw_dump(back, back.own_ids())).encode("utf-8", "surrogateescape")
    assert ours == bpftool_dump(bpftool, spath, bpath)


def test_split_strings_reuse_the_base():
    base = _build([])
    from btfmeta.btf import types as T
    base.add(T.Int(name="int", size=4, encoding=1, nr_bits=32))
    base = Spec.parse(base.to_bytes())
    split = _build([T.Typedef(name="int", type=1), T.Typedef(name="myint", type=1)], base)
    data = split.to_bytes()
    back = Spec.parse(data, base=base)
    # "int" is found in the base; only "myint" is new, and the split section has no leading NUL.
    assert back.strings.data == b"myint\0"
    assert back.type_by_id(2).name == "int"


def test_bpftool_rejects_nothing_we_write(tmp_path, bpftool):
    from btfmeta.btf import types as T
    spec = _build([T.Int(name="int", size=4, encoding=1, nr_bits=32),
                   T.Enum64(name="e", signed=True, values=[T.EnumValue(name="N", value=-5_000_000_000)])])
    path = tmp_path / "x.btf"
    path.write_bytes(spec.to_bytes())
    out = subprocess.run([bpftool, "btf", "dump", "file", str(path)], capture_output=True, text=True, check=True)
    assert "'N' val=-5000000000LL" in out.stdout
