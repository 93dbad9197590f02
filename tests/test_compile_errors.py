"""compile errors: `file:line:col: error: message`, the source line and a caret, exit 2,
no traceback and no output file -- for each error class, and for random garbage."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .cgen import generate
from .conftest import run_cli

CASES = {
    "syntax": ("struct a { int x; int y }\n", 1, 25, "unexpected '}'"),
    "unknown type": ("struct a { u32 x; };\n", 1, 12, "unknown type name 'u32'"),
    "negative array": ("struct a { int x[-1]; };\n", 1, 16, "array has a negative size"),
    "wide bitfield": ("struct a {\n  char c : 9;\n};\n", 2, 8, "width of bit-field 'c' (9 bits) exceeds"),
    "named zero bitfield": ("struct a { int z : 0; };\n", 1, 16, "named bit-field 'z' has zero width"),
    "static assert": ("struct a { int x; };\n_Static_assert(sizeof(struct a) == 8, \"size\");\n", 2, 1,
                      "static assertion failed: size"),
    "missing include": ('#include "nope.h"\n', 1, 10, '"nope.h" file not found'),
    "unterminated comment": ("struct a { int x; }; /* oops\n", 1, 22, "unterminated /* comment"),
    "#error": ("#if 1\n#error stop here\n#endif\n", 2, 2, "#error stop here"),
    "redefinition": ("struct a { int x; };\nstruct a { int y; };\n", 2, 8, "redefinition of 'a'"),
    "unterminated #if": ("#ifdef X\nstruct a { int x; };\n", 1, 2, "unterminated conditional directive"),
    "macro arguments": ("#define F(a, b) a + b\nenum { E = F(1) };\n", 2, 12, "macro 'F' expects 2 arguments"),
    "undeclared constant": ("struct a { int x[N]; };\n", 1, 18, "use of undeclared identifier 'N'"),
    "incomplete field": ("struct b;\nstruct a { struct b x; };\n", 2, 21, "field 'x' has incomplete type"),
    "flexible not last": ("struct a { int f[]; int x; };\n", 1, 16, "flexible array member 'f' is not at the end"),
    "duplicate member": ("struct a { int x; union { int x; }; };\n", 1, 19, "duplicate member 'x'"),
    "bad alignment": ("struct a { int x __attribute__((aligned(3))); };\n", 1, 16, "not a power of 2"),
    "shift overflow": ("enum { E = 1 << 40 };\n", 1, 14, "shift count 40 is out of range"),
    "division by zero": ("struct a { int x[4 / 0]; };\n", 1, 20, "division by zero"),
    "end of input": ("struct a { int x;\n", 1, 17, "unexpected end of input"),
    "stray character": ("struct a { int x; } @;\n", 1, 21, "stray '@'"),
    "wide multi-character constant": ("enum e { X = L'ab' };\n", 1, 14,
                                      "wide character literals may not contain multiple characters"),
    "numeric escape in an attribute": ('struct a { int x __attribute__((btf_decl_tag("a\\x41"))); };\n', 1, 48,
                                       "invalid escape sequence '\\x41' in an unevaluated string literal"),
    "numeric escape in a static assertion": ('_Static_assert(1, "ok" "\\101");\n', 1, 25,
                                             "invalid escape sequence '\\101' in an unevaluated string literal"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_is_positioned(tmp_path, name):
    text, line, col, message = CASES[name]
    hdr = tmp_path / "bad.h"
    hdr.write_text(text)
    out = tmp_path / "out.btf"
    res = run_cli("compile", str(hdr), "-o", str(out))
    assert res.code == 2
    first, source, caret = res.stderr.rstrip("\n").split("\n")
    assert first.startswith(f"{hdr}:{line}:{col}: error: "), res.stderr
    assert message in first
    assert source == text.split("\n")[line - 1]
    assert caret == " " * (col - 1) + "^"
    assert not out.exists()


def test_error_from_the_real_command(tmp_path):
    hdr = tmp_path / "bad.h"
    hdr.write_text("struct a {\n\tint x : 40;\n};\n")
    out = tmp_path / "out.btf"
    proc = subprocess.run([sys.executable, "-m", "btfmeta", "compile", str(hdr), "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{hdr}:2:6: error: width of bit-field 'x' (40 bits) exceeds")
    assert "Traceback" not in proc.stderr and not out.exists()


def _outcome(tmp_path, text: str) -> None:
    hdr = tmp_path / "fuzz.h"
    hdr.write_text(text, errors="surrogateescape")
    out = tmp_path / "fuzz.btf"
    res = run_cli("compile", str(hdr), "-o", str(out))
    assert res.code in (0, 2), res.stderr
    if res.code == 2:
        assert ": error: " in res.stderr.split("\n")[0] and "Traceback" not in res.stderr
        assert not out.exists()
    else:
        out.unlink()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_truncated_and_mutated_headers(tmp_path, data):
    text = generate(data.draw(st.integers(0, 10_000))).text
    how = data.draw(st.sampled_from(["truncate", "delete", "insert", "swap"]))
    i = data.draw(st.integers(0, len(text)))
    if how == "truncate":
        text = text[:i]
    elif how == "delete":
        text = text[:i] + text[i + data.draw(st.integers(1, 20)):]
    elif how == "insert":
        text = text[:i] + data.draw(st.sampled_from(list("{}()[];,*:#\"'/\\=") + ["struct", "__attribute__((",
                                                    "#if", "#endif", "\n#define X(", "enum", "0x", "-"])) + text[i:]
    else:
        j = data.draw(st.integers(0, len(text)))
        text = text[:min(i, j)] + text[max(i, j):] + text[min(i, j):max(i, j)]
    _outcome(tmp_path, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.lists(st.sampled_from(list("abcxyz_019 \n\t{}()[];,*:#<>+-~!&|^%/=.?\"'\\") +
                                     ["struct ", "union ", "enum ", "typedef ", "int ", "char ",
                                      "#define ", "#if ", "#endif\n", "__attribute__", "sizeof"]),
                     max_size=120).map("".join))
def test_garbage_headers(tmp_path, text):
    _outcome(tmp_path, text)


def test_deep_nesting_is_refused_cleanly(tmp_path):
    _outcome(tmp_path, "int " + "*" * 5000 + "p;\n")
    _outcome(tmp_path, "enum { E = " + "(" * 3000 + "1" + ")" * 3000 + " };\n")
    _outcome(tmp_path, '#include "fuzz.h"\n')
