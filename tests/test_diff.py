"""diff: every known edit of generated layouts is reported (and nothing unexplained), and
on vmlinux vs vmlinux-rt the report is complete against a brute-force comparison."""

from __future__ import annotations

import json
import random

import pytest

from btfmeta import load_spec
from btfmeta.btf import types as T
from btfmeta.compile import compile_source
from btfmeta.diff import BREAKS, COMPATIBLE, RELOCATION, _fields, diff

from .conftest import REPO, run_cli

SCALARS = ["unsigned char", "unsigned short", "unsigned int", "unsigned long long", "int", "short"]
WIDER = {"unsigned char": "unsigned short", "unsigned short": "unsigned int", "unsigned int": "unsigned long long"}
EDITS = ["remove", "rename", "widen", "retype", "bitfield", "add", "swap", "enum_add", "enum_remove",
         "enum_renumber"]


def layout(fields: list[tuple[str, str, int]], enum: list[tuple[str, int]], flavor: str = "") -> str:
    body = "".join(f"\t{t} {n}{f' : {b}' if b else ''};\n" for n, t, b in fields)
    values = ", ".join(f"{n} = {v}" for n, v in enum)
    return f"struct meta{flavor} {{\n{body}}};\nenum kind{flavor} {{ {values} }};\n"


def edited(rng: random.Random, edit: str):
    fields = [(f"f{i}", rng.choice(SCALARS), 0) for i in range(6)]
    fields.insert(3, ("bits", "unsigned int", 5))
    enum = [("K_A", 1), ("K_B", 2), ("K_C", 4)]
    new_fields, new_enum = list(fields), list(enum)
    i = rng.choice([0, 1, 2, 4, 5, 6])
    name, typ, _ = fields[i]
    if edit == "remove":
        del new_fields[i]
        expect = {("removed", name)}
    elif edit == "rename":
        new_fields[i] = (name + "_new", typ, 0)
        expect = {("renamed", name)}
    elif edit == "widen":
        typ = rng.choice(list(WIDER))
        fields[i] = (name, typ, 0)
        new_fields = list(fields)
        new_fields[i] = (name, WIDER[typ], 0)
        expect = {("resized", name)}
    elif edit == "retype":
        fields[i] = (name, "unsigned int", 0)
        new_fields = list(fields)
        new_fields[i] = (name, "int", 0)
        expect = {("retyped", name)}
    elif edit == "bitfield":
        new_fields[3] = ("bits", "unsigned int", 9)
        expect = {("bitfield changed", "bits")}
    elif edit == "add":
        new_fields.insert(rng.randint(0, len(new_fields)), ("extra", "unsigned int", 0))
        expect = {("added", "extra")}
    elif edit == "swap":
        j = (i + 1) % len(fields) if i + 1 != 3 else 4
        new_fields[i], new_fields[j] = new_fields[j], new_fields[i]
        expect = set()  # both move unless they are the same size at ... checked by offsets below
    elif edit == "enum_add":
        new_enum.append(("K_D", 8))
        expect = {("value added", "K_D")}
    elif edit == "enum_remove":
        del new_enum[1]
        expect = {("value removed", "K_B")}
    else:
        new_enum[2] = ("K_C", 16)
        expect = {("value renumbered", "K_C")}
    return layout(fields, enum), layout(new_fields, new_enum, rng.choice(["", "___v2"])), expect


@pytest.mark.parametrize("edit", EDITS)
def test_known_edits(edit):
    rng = random.Random(edit)
    for _ in range(25):
        old_src, new_src, expect = edited(rng, edit)
        old, new = compile_source(old_src), compile_source(new_src)
        diffs = diff(old, new)
        reported = {(c["change"], c.get("field")) for d in diffs for c in d.changes}
        assert expect <= reported, (edit, expect, reported)
        # nothing else: other reports are moves and size changes the offsets confirm
        o = {f.name: f for _, t in old if isinstance(t, T.Struct) for f in _fields(old, t)}
        n = {f.name: f for _, t in new if isinstance(t, T.Struct) for f in _fields(new, t)}
        for change, name in reported - expect:
            assert change in ("moved", "size", "alignment"), (edit, change, name)
            if change == "moved":
                assert o[name].bit_offset != n[name].bit_offset
        if edit == "swap":
            assert any(c == "moved" for c, _ in reported)


def test_core_meaning_and_cli(tmp_path):
    v1, v2 = tmp_path / "v1.btf", tmp_path / "v2.btf"
    assert run_cli("compile", str(REPO / "samples" / "mynic_metadata.h"), "-o", str(v1)).code == 0
    assert run_cli("compile", str(REPO / "samples" / "mynic_metadata_v2.h"), "-o", str(v2)).code == 0
    res = run_cli("diff", str(v1), str(v2), "mynic_metadata", "--format", "json")
    assert res.code == 1
    (t,) = json.loads(res.stdout)["types"]
    assert (t["old"], t["new"], t["core"]) == ("mynic_metadata", "mynic_metadata___v2", BREAKS)
    kinds = {(c["change"], c.get("field")) for c in t["changes"]}
    assert {("removed", "csum_level"), ("added", "flow_mark"), ("resized", "hash"), ("moved", "hash")} <= kinds
    assert run_cli("diff", str(v1), str(v1)).code == 0
    only_added = compile_source(layout([("a", "int", 0)], [("X", 1)]))
    more = compile_source(layout([("a", "int", 0), ("b", "int", 0)], [("X", 1)]))
    (d,) = diff(only_added, more)
    assert d.core == RELOCATION  # the struct grew: CO-RE relocates type_size
    (e,) = diff(compile_source("enum e { A = 1 };"), compile_source("enum e { A = 1, B = 2 };"))
    assert e.core == COMPATIBLE
    (a,) = diff(compile_source("struct s { int a; int b; };"), compile_source("struct s { long long a; };"))
    assert {"change": "alignment", "old": 4, "new": 8} in a.changes


def test_vmlinux_vs_rt_is_complete(shared_btf):
    old, new = load_spec(shared_btf / "vmlinux.btf"), load_spec(shared_btf / "vmlinux-rt.btf")
    diffs = {(d.kind, d.old): d for d in diff(old, new) if d.old and d.new}

    def structs(spec):
        out = {}
        for tid, t in spec:
            if isinstance(t, T.Struct) and t.name:
                out.setdefault(t.name, []).append(tid)
        return out

    sa, sb = structs(old), structs(new)
    checked = 0
    for name, a in sa.items():
        b = sb.get(name, [])
        if len(a) != 1 or len(b) != 1:
            continue
        t = old.type_by_id(a[0])
        fo = {f.name: f.bit_offset for f in _fields(old, t)}
        fn = {f.name: f.bit_offset for f in _fields(new, new.type_by_id(b[0]))}
        moved = {k for k in fo if k in fn and fo[k] != fn[k]}
        gone, came = set(fo) - set(fn), set(fn) - set(fo)
        d = diffs.get(("struct", t.name))
        changes = d.changes if d else []
        assert moved == {c["field"] for c in changes if c["change"] == "moved"}, t.name
        assert gone == {c["field"] for c in changes if c["change"] in ("removed", "renamed")}, t.name
        assert came == {c["field"] for c in changes if c["change"] == "added"} | \
            {c["new_name"] for c in changes if c["change"] == "renamed"}, t.name
        checked += 1
    assert checked > 5000 and len(diffs) > 100
