"""diff: every known edit of generated layouts is reported (and nothing unexplained), and
on vmlinux vs vmlinux-rt the report is complete against a brute-force comparison."""

from __future__ import annotations

import json
import random

import pytest

from btfmeta import load_spec
from btfmeta.btf import types as T
from btfmeta.commands.diff import _fields
from btfmeta.compile import compile_source
from btfmeta.diff import BREAKS, COMPATIBLE, RELOCATION, diff

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


# -- changes inside anonymous types, judged by the member offsets clang computes ----------

INNER = ["unsigned char", "unsigned short", "unsigned int", "unsigned long long"]
ALIAS = {t: f"be{i}" for i, t in enumerate(INNER)}  # same size, another type: a retype


def _anon_layout(rng: random.Random) -> dict:
    """meta: a named member of an anonymous union of anonymous structs (rx.ipv4.saddr),
    a member of a typedef'd anonymous struct, an anonymous union member, arrays of anonymous
    records (seq[].s0, grid[][].g0, nest[].in[].n0); tmeta: a typedef'd anonymous struct
    at top level."""
    def leaves(prefix: str, n: int) -> list[list]:
        return [[f"{prefix}{i}", rng.choice(INNER), rng.choice([0, 0, 0, 3]), rng.choice([0, 0, 2, 6])]
                for i in range(n)]
    return {"rx": {part: leaves(part[0], rng.randint(2, 4)) for part in ("ipv4", "ipv6", "arp")},
            "td": leaves("t", 3), "anon": leaves("u", 2), "top": leaves("x", 3),
            "seq": leaves("s", 3), "grid": leaves("g", 2), "nest": leaves("n", 2)}


def _decl(leaf: list) -> str:
    name, typ, bits, nelems = leaf
    if bits:
        return f"{typ} {name} : {bits};"
    return f"{typ} {name}{f'[{nelems}]' if nelems else ''};"


def _anon_source(lay: dict) -> str:
    def body(ls: list) -> str:
        return " ".join(_decl(x) for x in ls)
    rx = " ".join(f"struct {{ {body(ls)} }} {part};" for part, ls in lay["rx"].items())
    return ("".join(f"typedef {t} {a};\n" for t, a in ALIAS.items()) +
            f"typedef struct {{ {body(lay['td'])} }} td_t;\n"
            f"struct meta {{ unsigned int hash; union {{ {rx} }} rx; td_t td; union {{ {body(lay['anon'])} }}; "
            f"union {{ {body(lay['seq'])} }} seq[4]; struct {{ {body(lay['grid'])} }} grid[2][3]; "
            f"struct {{ unsigned char pad; union {{ {body(lay['nest'])} }} in[2]; }} nest[2]; "
            f"unsigned short tail; }};\n"
            f"typedef struct {{ {body(lay['top'])} }} tmeta;\n"
            "struct meta m; tmeta t;\n")


def _leaf_offsets(btf, tid: int, prefix: str = "", base: int = 0) -> dict[str, tuple]:
    """Oracle: path -> (bit offset, bit-field size, byte size, declared type) of every member
    at any depth, into arrays of anonymous records (element 0: ``seq[].x``), walked
    independently of btfmeta.diff."""
    out = {}
    t = btf.type_by_id(tid)
    while isinstance(t, T.Typedef):
        tid = t.type
        t = btf.type_by_id(tid)
    for m in t.members:
        mt_id = m.type
        mt = btf.type_by_id(mt_id)
        while isinstance(mt, T.Typedef):
            mt_id = mt.type
            mt = btf.type_by_id(mt_id)
        off = base + m.bits_offset
        dims, elem_id, size = "", mt_id, 1
        while isinstance(btf.type_by_id(elem_id), T.Array):
            size *= btf.type_by_id(elem_id).nelems
            dims, elem_id = dims + "[]", btf.type_by_id(elem_id).type
        while isinstance(btf.type_by_id(elem_id), T.Typedef):
            elem_id = btf.type_by_id(elem_id).type
        elem = btf.type_by_id(elem_id)
        if m.name:
            out[prefix + m.name] = (off, m.bitfield_size, size * elem.size, btf.type_by_id(m.type).name)
        if isinstance(elem, (T.Struct, T.Union)) and not elem.name:
            out.update(_leaf_offsets(btf, elem_id, prefix + (m.name + dims + "." if m.name else ""), off))
    return out


def _edit_inside(rng: random.Random, lay: dict) -> dict:
    new = json.loads(json.dumps(lay))
    group = rng.choice(["rx", "td", "anon", "top", "seq", "grid", "nest"])
    leaves = new["rx"][rng.choice(list(new["rx"]))] if group == "rx" else new[group]
    leaf = rng.choice(leaves)
    how = rng.choice(["resize", "rename", "remove", "bitfield", "array", "retype", "add"])
    if how == "resize" and leaf[1] in INNER[:-1] and not leaf[2]:
        leaf[1] = INNER[INNER.index(leaf[1]) + 1]
    elif how == "retype":
        leaf[1] = ALIAS.get(leaf[1]) or next(t for t, a in ALIAS.items() if a == leaf[1])
    elif how == "add":
        leaves.append([leaf[0] + "_n", rng.choice(INNER), 0, 0])
    elif how == "rename":
        leaf[0] += "_r"
    elif how == "remove" and len(leaves) > 1:
        leaves.remove(leaf)
    elif how == "bitfield" and leaf[2]:
        leaf[2] -= 1
    else:
        leaf[2], leaf[3] = 0, (leaf[3] or 1) + 2
    return new


@pytest.mark.parametrize("seed", range(60))
def test_changes_inside_anonymous_types_are_reported(seed, tmp_path, clang):
    from .conftest import compile_bpf

    rng = random.Random(seed)
    old_lay = _anon_layout(rng)
    new_lay = _edit_inside(rng, old_lay)
    specs = []
    for name, lay in (("old", old_lay), ("new", new_lay)):
        specs.append(load_spec(compile_bpf(clang, _anon_source(lay), tmp_path / f"{name}.o")))
    reported = run_cli("diff", str(tmp_path / "old.o"), str(tmp_path / "new.o"), "--format", "json")
    doc = json.loads(reported.stdout)
    for root, kind in (("meta", "struct"), ("tmeta", "typedef")):
        roots = [s.find_by_name(root, kind=getattr(T.Kind, kind.upper()))[0] for s in specs]
        old_f, new_f = (_leaf_offsets(s, r) for s, r in zip(specs, roots, strict=True))
        changed = {p for p in old_f.keys() | new_f.keys() if old_f.get(p) != new_f.get(p)}
        named = [t for t in doc["types"] if t["old"] == root]
        fields = {c.get("field") for t in named for c in t["changes"]} | \
            {c.get("new_name") for t in named for c in t["changes"]}
        assert changed <= fields, (seed, root, changed - fields, named)
        if changed:
            assert reported.code == 1
    text = run_cli("diff", str(tmp_path / "old.o"), str(tmp_path / "new.o"))
    assert text.code == reported.code and text.stderr == ""


def test_text_report_of_removed_enum_values(tmp_path, shared_btf):
    """A removed enum value (as between vmlinux and vmlinux-rt) is printed with its old value."""
    for name, src in (("a", "enum e { A, B, C };"), ("b", "enum e { A, B };")):
        (tmp_path / f"{name}.btf").write_bytes(compile_source(src).to_bytes())
    r = run_cli("diff", str(tmp_path / "a.btf"), str(tmp_path / "b.btf"))
    assert (r.code, r.stderr) == (1, "")
    assert r.stdout.decode().splitlines()[1].split() == ["value", "removed", "C", "2"]
    real = run_cli("diff", str(shared_btf / "vmlinux.btf"), str(shared_btf / "vmlinux-rt.btf"))
    assert (real.code, real.stderr) == (1, "") and b"value removed" in real.stdout


def test_retype_inside_an_array_of_anonymous_unions(tmp_path):
    """Issue 21: `union { ... __be32 csum; ... } seq[4]` -> `__u32 csum` is a retype of `seq[].csum`."""
    head = "typedef unsigned int __u32; typedef __u32 __be32;\n"
    for name, csum in (("a", "__be32"), ("b", "__u32")):
        src = f"{head}struct mynic_metadata {{ __u32 hash; union {{ __u32 raw; {csum} csum; }} seq[4]; }};"
        (tmp_path / f"{name}.btf").write_bytes(compile_source(src).to_bytes())
    r = run_cli("diff", str(tmp_path / "a.btf"), str(tmp_path / "b.btf"))
    assert (r.code, r.stderr) == (1, "")
    assert r.stdout.decode().splitlines()[1].split() == ["retyped", "seq[].csum", "__be32", "->", "__u32"]
