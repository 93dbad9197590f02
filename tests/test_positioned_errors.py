"""Positioned refusals in the compiler's format (issue 21): a TOML registry refused by
``kv compile|encode|decode|layout`` prints ``FILE:LINE:COL: error: MESSAGE``, the line and a
caret under the column, as ``compile`` does for C headers -- what editors' quickfix lists
(vim's default errorformat ``%f:%l:%c: %t%*[^:]: %m``) and CI annotations parse."""

from __future__ import annotations

import random
import re

import pytest

from .conftest import run_cli
from .test_kv import REGISTRY

QUICKFIX = re.compile(r"(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>[^\n]+)")


def commands(reg: str, tmp) -> list[list[str]]:
    blob = tmp / "blob"
    blob.write_bytes(bytes(64))
    return [["kv", "compile", reg, "-o", str(tmp / "out")], ["kv", "encode", reg, "rx_hash=1", "-o", str(tmp / "b")],
            ["kv", "decode", reg, str(blob)], ["kv", "layout", reg]]


def parse(stderr: str, text: str) -> tuple[int, int, str]:
    """The report's position and message; its second line is the file's line, its third a
    caret under the column."""
    first, line, caret, end = stderr.split("\n")
    m = QUICKFIX.fullmatch(first)
    assert m and end == "", stderr
    lineno, col = int(m["line"]), int(m["col"])
    assert line == text.split("\n")[lineno - 1]
    assert caret == " " * (col - 1) + "^"
    return lineno, col, m["msg"]


@pytest.mark.parametrize(("edit", "where", "message"), [
    (("number = 9", "number = 5"), (16, 10), "keys.timestamp: number 5 is also vlan_present's"),
    (('type = "s64"', 'type = "s16"'), (17, 8), "keys.timestamp: type 's16' is not one a rfc-v2 store holds"),
    (("[keys.timestamp]", "[keys.Rx_Hash]"), (15, 1), "key name 'Rx_Hash' and 'rx_hash' are one C enumerator"),
    (('format = "rfc-v2"', 'format = "v3"'), (2, 10), 'format must be "seed" or "rfc-v2"'),
    (("[keys.timestamp]", "[keys.timestamp"), (15, 16), "Expected ']' at the end of a table declaration"),
])
def test_every_kv_command_reports_registry_faults_like_a_compiler(tmp_path, edit, where, message):
    text = REGISTRY.replace(*edit)
    reg = tmp_path / "reg.toml"
    reg.write_text(text)
    for argv in commands(str(reg), tmp_path):
        r = run_cli(*argv)
        assert r.code == 2 and r.stdout == b"", (argv, r)
        lineno, col, msg = parse(r.stderr, text)
        assert r.stderr.startswith(f"{reg}:") and (lineno, col) == where and msg.startswith(message), (argv, r)
    assert not (tmp_path / "out").exists() and not (tmp_path / "b").exists()


def test_registries_and_headers_share_one_format(tmp_path):
    """The same shape, from the same code, for a C header and a registry."""
    header = tmp_path / "h.h"
    header.write_text("struct s {\n\tint x : 40;\n};\n")
    c = run_cli("compile", str(header), "-o", str(tmp_path / "h.btf"))
    assert c.code == 2
    assert parse(c.stderr, header.read_text().expandtabs(1))[:2] == (2, 6)
    reg = tmp_path / "reg.toml"
    reg.write_text(REGISTRY.replace("number = 9", "number = 64"))
    k = run_cli("kv", "layout", str(reg))
    assert parse(k.stderr, reg.read_text())[:2] == (16, 10)


def test_mangled_registries_point_inside_the_file(tmp_path):
    """Text spliced in anywhere: the registry loads, or the report points at a line of the
    file (its text, a caret within it or just past its end)."""
    rng = random.Random(21)
    junk = ["=", "[", "]", "\n[keys.x]\n", "number = 3\n", '"', "\n\n", "# c\n", "\r\n", "type = 1\n", "[store]\n"]
    reg = tmp_path / "reg.toml"
    refused = 0
    for _ in range(150):
        cut = rng.randrange(len(REGISTRY) + 1)
        text = REGISTRY[:cut] + rng.choice(junk) + REGISTRY[cut:]
        reg.write_bytes(text.encode())
        r = run_cli("kv", "layout", str(reg))
        if r.code == 0:
            continue
        refused += 1
        lineno, col, _ = parse(r.stderr, text.replace("\r\n", "\n"))
        assert 1 <= col <= len(text.split("\n")[lineno - 1]) + 1, r.stderr
    assert refused > 50
