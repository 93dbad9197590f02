"""Attribute tags (issue 20): TYPE_TAG and DECL_TAG with the kind flag set (pahole 1.30's
`attributes`: the tag is a plain `__attribute__((...))`, not a btf_type_tag/btf_decl_tag)
are read, written, kept apart from plain tags when split BTF shares types with its base, and
carried through distilling and relocation byte for byte as libbpf 1.5 and 1.7 do; raw and
JSON dumps print them as bpftool 7.5 and 7.8 do (neither shows the flag)."""

from __future__ import annotations

import pytest

from btfmeta import Spec
from btfmeta.btf import types as T
from btfmeta.btf.dedup import split_on_base
from btfmeta.btf.distill import distill
from btfmeta.btf.rebase import relocate_split

from . import distill_judge as J
from .conftest import run_cli


def _base() -> Spec:
    s = Spec()
    i = s.add(T.Int(name="int", size=4, nr_bits=32, encoding=1))
    plain = s.add(T.TypeTag(name="user", type=i))
    s.add(T.Ptr(type=plain))
    s.add(T.Struct(name="foo", size=8, members=[T.Member(name="x", type=i, bits_offset=0)]))
    return Spec.parse(s.to_bytes())


def _split(base: Spec) -> Spec:
    """Own types using base ones through attribute tags (kind flag 1) and plain ones."""
    s = Spec(base=base)
    attr = s.add(T.TypeTag(name="user", type=1, kflag=True))  # same name as the base's plain tag
    ptr = s.add(T.Ptr(type=attr))
    st = s.add(T.Struct(name="bar", size=24, members=[T.Member(name="p", type=ptr, bits_offset=0),
                                                     T.Member(name="q", type=3, bits_offset=64),
                                                     T.Member(name="f", type=4, bits_offset=128)]))
    s.add(T.DeclTag(name="aligned(8)", type=st, component_idx=-1, kflag=True))
    s.add(T.DeclTag(name="hot", type=st, component_idx=0))
    return Spec.parse(s.to_bytes(), base=base)


def test_read_write_keep_the_flag():
    split = _split(_base())
    kinds = [(type(t).__name__, getattr(t, "kflag", None)) for _, t in split]
    assert ("TypeTag", True) in kinds and ("DeclTag", True) in kinds and ("DeclTag", False) in kinds
    rebuilt = Spec(base=split.base)
    for _, t in split:
        rebuilt.add(t)
    assert rebuilt.to_bytes() == split.to_bytes()


def test_dedup_keeps_attributes_apart_from_tags():
    """An attribute tag on the base's int is not the base's plain tag of the same name."""
    base = _base()
    own = Spec()
    i = own.add(T.Int(name="int", size=4, nr_bits=32, encoding=1))
    attr = own.add(T.TypeTag(name="user", type=i, kflag=True))
    plain = own.add(T.TypeTag(name="user", type=i))
    own.add(T.Ptr(type=attr))
    own.add(T.Ptr(type=plain))
    split = split_on_base(own, base)
    kept = [(t.kind.name, getattr(t, "kflag", None)) for _, t in split]
    assert kept == [("TYPE_TAG", True), ("PTR", None)]  # the plain tag and its pointer are the base's


@pytest.mark.parametrize("libbpf", ["1.5", "1.7"])
def test_distill_and_relocate_tags_as_libbpf(libbpf, tmp_path):
    base = _base()
    tally = J.judge_fleet({"tags": _split(base)}, base.to_bytes(), [("base", base.to_bytes())], libbpf)
    assert (tally.distilled, tally.relocated) == (1, 1)
    _, split = distill(_split(base))
    raw, _ = relocate_split(split, base, libbpf=libbpf)
    moved = Spec.parse(raw, base=base)
    flags = [(t.kind.name, getattr(t, "kflag", None)) for _, t in moved]
    own = [(t.kind.name, getattr(t, "kflag", None)) for _, t in _split(base)]
    assert flags[:len(own)] == own and ("TYPE_TAG", False) in flags[len(own):]  # the base's plain tag, moved


@pytest.mark.parametrize("libbpf, fmt", [("1.5", []), ("1.7", []), ("1.5", ["-j"]), ("1.7", ["-j"])])
def test_dump_as_bpftool(libbpf, fmt, tmp_path):
    c = J.chroot(libbpf)
    base = _base()
    split = _split(base)
    (tmp_path / "b").write_bytes(base.to_bytes())
    (tmp_path / "s").write_bytes(split.to_bytes())
    theirs = c.run("bpftool", *fmt, "btf", "dump", "file", c.put("s", split.to_bytes()), "-B",
                   c.put("b", base.to_bytes())).stdout
    mine = run_cli("btf", "dump", str(tmp_path / "s"), "--base", str(tmp_path / "b"),
                   *(["--format", "json"] if fmt else []))
    assert mine.stdout == theirs


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    J.cleanup()
