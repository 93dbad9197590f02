"""The CO-RE decisions that changed between libbpf 1.1.2, 1.5.0 and 1.7.0, each judged by
the libbpf of every toolchain present (tests/judges.py) against btfmeta with the matching
``--libbpf`` profile: same log lines, same instructions, and the decision the profile's
libbpf commit says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from btfmeta import Spec, Target, load_spec
from btfmeta.btf import types as T
from btfmeta.core.btfutil import int_encoding_word
from btfmeta.errors import BtfmetaError
from btfmeta.relocate import RelocationError, relocate_object

from .conftest import LibbpfJudge, run_cli
from .test_relocate_differential import INCLUDES, decisions

HEAD = "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n"
XDP = 'SEC("xdp") int prog(struct xdp_md *ctx) { struct meta *m = (void *)(long)ctx->data_meta;\n'
TAIL = 'char _license[] SEC("license") = "GPL";\n'


def build(clang: str, tmp: Path, name: str, source: str) -> Path:
    (tmp / f"{name}.c").write_text(source)
    subprocess.run([clang, "-g", "-O2", "-target", "bpf", *INCLUDES, "-c", str(tmp / f"{name}.c"), "-o",
                    str(tmp / f"{name}.o")], check=True, capture_output=True)
    return tmp / f"{name}.o"


def same_as_libbpf(libbpf: LibbpfJudge, prog: Path, target: Path, tmp: Path):
    """btfmeta with the judge's profile logs and writes what that libbpf does; its record."""
    theirs = libbpf.run(prog, target)
    ours = relocate_object(prog.read_bytes(), load_spec(target), libbpf=libbpf.profile)
    assert decisions(ours.log) == decisions(theirs.log)
    (tmp / "ours.o").write_bytes(ours.data)
    assert libbpf.run(tmp / "ours.o", None).insns == theirs.insns
    (record,) = ours.records
    return record


def test_array_field_load_sized_by_element_d7a4ab15(libbpf_judge, clang, tmp_path):
    """A u32[4] field that is u32[8] in the target, read with LDX W: libbpf before 1.6
    compares the arrays' sizes (16 != 32) and poisons; 1.6+ (d7a4ab15) the elements' (4)."""
    prog = build(clang, tmp_path, "prog", HEAD + "struct meta { unsigned int a[4]; unsigned int b; } "
                 "__attribute__((preserve_access_index));\n" + XDP
                 + "if ((void *)(m + 1) > (void *)(long)ctx->data) return 0; return *m->a; }\n" + TAIL)
    target = build(clang, tmp_path, "target", "struct meta { unsigned int a[8]; unsigned int b; } m;\n")
    record = same_as_libbpf(libbpf_judge, prog, target, tmp_path)
    assert record.result == ("patched" if libbpf_judge.profile == "1.7" else "poisoned")


def test_signed_of_an_unsigned_enum_b4c8def4(libbpf_judge, clang, tmp_path):
    """FIELD_SIGNED of an unsigned enum field: libbpf 1.1 also reads the INT encoding bits
    of the word after the ENUM header -- the first enumerator's name offset, here with bit
    24 set -- and says signed; 1.3+ (b4c8def4) takes INT encodings of INTs only: unsigned."""
    prog = build(clang, tmp_path, "prog", HEAD + "enum kind { K_A = 1 };\n"
                 "struct meta { enum kind k; } __attribute__((preserve_access_index));\n"
                 + XDP + "return __builtin_preserve_field_info(m->k, 3 /* FIELD_SIGNED */); }\n" + TAIL)
    spec = Spec()
    i = spec.add(T.Int(name="int", size=4, nr_bits=32, encoding=1))
    spec.add(T.Typedef(name="f" * (1 << 24), type=i))  # pushes the later names past offset 2**24
    enum_id = spec.add(T.Enum(name="kind", values=[T.EnumValue(name="K_A", value=1)]))
    spec.add(T.Struct(name="meta", size=4, members=[T.Member(name="k", type=enum_id, bits_offset=0)]))
    target = tmp_path / "target.btf"
    target.write_bytes(spec.to_bytes())
    assert int_encoding_word(load_spec(target), enum_id) >> 24 & 1
    record = same_as_libbpf(libbpf_judge, prog, target, tmp_path)
    assert record.new_value == (1 if libbpf_judge.profile == "1.1" else 0)


def test_the_option_picks_the_profile(tmp_path):
    res = run_cli("relocate", "x.o", "--btf", "y.btf", "-o", str(tmp_path / "o"), "--libbpf", "1.3")
    assert res.code == 2 and "1.3" in res.stderr


def test_error_matching_a_candidate(libbpf_judge, clang, tmp_path):
    """A candidate whose field sits under 64 anonymous structs overflows libbpf's spec
    (-E2BIG): the object is refused with libbpf's "error matching candidate" line, spaced
    and numbered as that libbpf prints it."""
    prog = build(clang, tmp_path, "prog", HEAD + "struct meta { int x; } __attribute__((preserve_access_index));\n"
                 + XDP + "if ((void *)(m + 1) > (void *)(long)ctx->data) return 0; return m->x; }\n" + TAIL)
    spec = Spec()
    inner = spec.add(T.Int(name="int", size=4, nr_bits=32, encoding=1))
    member = "x"
    for _ in range(64):
        inner = spec.add(T.Struct(size=4, members=[T.Member(name=member, type=inner, bits_offset=0)]))
        member = ""
    spec.add(T.Struct(name="meta", size=4, members=[T.Member(name="", type=inner, bits_offset=0)]))
    target = tmp_path / "target.btf"
    target.write_bytes(spec.to_bytes())
    theirs = libbpf_judge.run(prog, target)
    try:
        relocate_object(prog.read_bytes(), load_spec(target), libbpf=libbpf_judge.profile)
    except RelocationError as exc:
        assert decisions(exc.log) == decisions(theirs.log)
        assert any("error matching candidate #0" in line for line in exc.log)
    else:
        raise AssertionError("btfmeta relocated what libbpf refuses")


def test_text_function_is_a_subprogram_from_1_5_ac9ced9e(libbpf_judge, clang, tmp_path):
    """libbpf ac9ced9e (1.5): every .text function is a subprogram; before, an object's only
    function was an entry program even in .text.  The relocation is the same either way
    (btfmeta's log is every libbpf's); only whether libbpf has a program to load differs."""
    prog = build(clang, tmp_path, "prog", HEAD + "struct meta { int a; int b; } "
                 "__attribute__((preserve_access_index));\n"
                 "__attribute__((noinline)) int text_fn(struct meta *m) { return m->b; }\n")
    target = build(clang, tmp_path, "target", "struct meta { long x; int b; int a; } m;\n")
    theirs = libbpf_judge.run(prog, target)
    ours = relocate_object(prog.read_bytes(), load_spec(target), libbpf=libbpf_judge.profile)
    assert decisions(ours.log) == decisions(theirs.log)
    assert [r.result for r in ours.records] == ["patched"]
    assert list(theirs.insns) == (["text_fn"] if libbpf_judge.profile == "1.1" else [])


def test_every_entry_point_takes_the_profile(clang, tmp_path):
    """--libbpf on check (and --fleet's path through Target), relocate and minimize, and
    Target(libbpf=): the u32[4]/u32[8] read is refused by 1.1 and 1.5, fine for 1.7 (the
    default); an unknown version is refused up front."""
    prog = build(clang, tmp_path, "prog", HEAD + "struct meta { unsigned int a[4]; unsigned int b; } "
                 "__attribute__((preserve_access_index));\n" + XDP
                 + "if ((void *)(m + 1) > (void *)(long)ctx->data) return 0; return *m->a; }\n" + TAIL)
    target = build(clang, tmp_path, "target", "struct meta { unsigned int a[8]; unsigned int b; } m;\n")
    for version, code in (("1.1", 1), ("1.5", 1), ("1.7", 0), (None, 0)):
        option = ["--libbpf", version] if version else []
        assert run_cli("check", str(prog), "--btf", str(target), *option).code == code, version
        assert Target.from_files(target, libbpf=version).load(prog.read_bytes()).refused is bool(code), version
        assert run_cli("relocate", str(prog), "--btf", str(target), "-o", str(tmp_path / "out.o"), *option).code == 0
        assert run_cli("minimize", str(prog), "--btf", str(target), "-o", str(tmp_path / "min.btf"), *option).code == 0
    with pytest.raises(BtfmetaError, match=r"unknown libbpf profile '1\.3'"):
        Target.from_files(target, libbpf="1.3")
