"""`compile --base vmlinux --distill` against pahole (issue 20): pahole 1.30 and 1.32 with
`--btf_features=distilled_base` on the object clang-19 compiles with -g from the same
header (every named type used through a pointer), in the trixie and sid judge chroots.

The two need not be byte-equal: pahole encodes clang's DWARF and shares with vmlinux only
what btf__dedup finds equal (clang's `unsigned short` is not vmlinux's `short unsigned
int`), while compile shares every structurally equal type.  So they are compared type for
type and layout for layout (pahole's one array for C's array of arrays is unfolded the same
way on both sides): every named struct, union, enum and typedef on either side has
its namesake on the other, with the same size, members (names, bit offsets, bit-field sizes,
member types by shape), values and targets; a type one side holds in its distilled base
(name and size only) is compared by name and size."""

from __future__ import annotations

import pytest

from btfmeta.btf import types as T
from btfmeta.btf.dedup import int_name_key
from btfmeta.btf.distill import distilled_object
from btfmeta.btf.load import load_spec, parse_btf
from btfmeta.btf.spec import Spec
from btfmeta.cfront.compile import compile_source

from . import distill_judge as J
from .conftest import REPO

HEADERS = ["mynic_metadata.h", "mynic_metadata_v2.h", "mynic_metadata_minimal.h", "xdp_rx_meta.h"]
GENERATED = 6
_SPELL = {T.Struct: "struct ", T.Union: "union ", T.Enum: "enum ", T.Enum64: "enum ", T.Typedef: ""}


def _shape(spec: Spec, tid: int, depth: int = 0) -> tuple:
    """A member's type by shape: named records by name (their layout is compared on its own)."""
    if tid == 0:
        return ("void",)
    t = spec.type_by_id(tid)
    if depth > 20:
        return ("deep",)
    if isinstance(t, T.Int):
        return ("int", int_name_key(t.name), t.size, t.encoding & 1)
    if isinstance(t, T.Float):
        return ("float", t.name, t.size)
    if isinstance(t, (T.Struct, T.Union, T.Fwd)) and t.name:
        return ("record", t.name)
    if isinstance(t, (T.Enum, T.Enum64)) and t.name:
        return ("enum", t.name, t.size)
    if isinstance(t, T.Composite):
        return (t.kind.name, t.size, _members(spec, t, depth + 1))
    if isinstance(t, (T.Enum, T.Enum64)):
        return ("enum", t.size, tuple((v.name, v.value) for v in t.values))
    if isinstance(t, T.Array):  # pahole writes int a[2][7] as one array of 14
        n, elem = t.nelems, spec.type_by_id(t.type) if t.type else None
        while isinstance(elem, T.Array):
            n, t, elem = n * elem.nelems, elem, spec.type_by_id(elem.type) if elem.type else None
        return ("array", n, _shape(spec, t.type, depth + 1))
    if isinstance(t, T.Typedef):
        return ("typedef", t.name)
    if isinstance(t, T.FuncProto):
        return ("proto", _shape(spec, t.return_type, depth + 1), tuple(_shape(spec, p.type, depth + 1)
                                                                      for p in t.params))
    return (t.kind.name, _shape(spec, t.type, depth + 1))  # pointers, modifiers, type tags


def _members(spec: Spec, t, depth: int = 0) -> tuple:
    return tuple((m.name, m.bits_offset, m.bitfield_size, _shape(spec, m.type, depth)) for m in t.members)


def _named(spec: Spec) -> dict[str, tuple]:
    """Every named struct, union, enum and typedef (split and distilled base): "full" with its
    layout when the split holds it, "base" with its size when only the distilled base does."""
    out = {}
    for layer in (spec.base, spec):
        for tid in layer.own_ids():
            t = spec.type_by_id(tid)
            if not t.name or type(t) not in _SPELL:
                continue
            key = _SPELL[type(t)] + t.name
            if layer is spec.base:
                out.setdefault(key, ("base", getattr(t, "size", None)))
            elif isinstance(t, T.Composite):
                out[key] = ("full", t.size, _members(spec, t))
            elif isinstance(t, (T.Enum, T.Enum64)):
                out[key] = ("full", t.size, tuple((v.name, v.value) for v in t.values))
            else:
                out[key] = ("full", _shape(spec, t.type))
    return out


def _agree(ours: dict[str, tuple], theirs: dict[str, tuple], vmlinux: Spec) -> list[str]:
    """What differs; a type only pahole has is one compile shared with vmlinux and nothing in
    the header refers to (compile leaves it out, pahole keeps what use.c points to)."""
    problems = []
    for name in sorted(set(ours) | set(theirs)):
        a, b = ours.get(name), theirs.get(name)
        if a is None and vmlinux.find_by_name(name.split(" ")[-1]):
            continue
        if a is None or b is None:
            problems.append(f"{name}: only in {'pahole' if a is None else 'btfmeta'}")
        elif a[0] == b[0] == "full" and a != b:
            problems.append(f"{name}: btfmeta {a} != pahole {b}")
        elif "base" in (a[0], b[0]) and a[1] != b[1] and None not in (a[1], b[1]):
            problems.append(f"{name}: size {a[1]} != {b[1]}")
    return problems


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    J.cleanup()


@pytest.mark.parametrize("libbpf, pahole", [("1.5", "1.30"), ("1.7", "1.32")])
def test_compile_distill_as_pahole(libbpf, pahole, shared_btf, tmp_path):
    c = J.chroot(libbpf)
    assert c.run("pahole", "--version").stdout.decode().strip() == f"v{pahole}"
    vmlinux = load_spec(shared_btf / "vmlinux.btf")
    base_in = c.put("vmlinux.btf", (shared_btf / "vmlinux.btf").read_bytes())
    for f in (REPO / "samples" / "include").glob("*.h"):
        c.put(f"include/{f.name}", f.read_bytes())
    headers = {name: (REPO / "samples" / name).read_text() for name in HEADERS}
    headers.update({f"gen{seed}.h": J.base_use_header(seed, vmlinux) for seed in range(GENERATED)})
    for name, text in headers.items():
        split = compile_source(text, path=str(REPO / "samples" / name), base=vmlinux)
        ours = parse_btf(distilled_object(split), name)
        used = [_SPELL[type(t)] + t.name for layer in (ours.base, ours) for tid in layer.own_ids()
                if (t := ours.type_by_id(tid)).name and type(t) in _SPELL]
        c.put(name, text.encode())
        c.put("use.c", (f'#include "{name}"\n' + "".join(f"{u} *use_{i};\n" for i, u in enumerate(used)))
              .encode())
        obj = c.inside(c.work / "use.o")
        c.run("sh", "-c", f"cd {c.inside(c.work)} && clang-19 -g -c -target bpf -o {obj} use.c && "
              f"PATH=/usr/lib/llvm-19/bin:$PATH pahole -J --btf_base {base_in} "
              f"--btf_features=default,distilled_base {obj}")
        theirs = parse_btf((c.work / "use.o").read_bytes(), "use.o")
        assert theirs.base is not None and theirs.base.path.endswith("(.BTF.base)")
        problems = _agree(_named(ours), _named(theirs), vmlinux)
        assert not problems, (name, problems[:5])
