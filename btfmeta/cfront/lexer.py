"""Tokens of C source: comments removed, continuations spliced, positions kept."""

from __future__ import annotations

import bisect
import re

from .errors import CSyntaxError, Pos

# (white space before, char, str, id, punct, num, bad): findall gives one tuple per
# token, the cheapest way to get them out of re.  Literals come before identifiers
# for their prefixes (L'x', u8"s"; u8'x' is C23, not C17), behind a one-character guard so that identifiers
# pay little for it; the rest are in the order that fails fastest for the common
# tokens; '.' before a digit starts a number.
_TOKEN = re.compile(r"""
    ([ \t\f\v\r\0]*)
  (?:
    ((?=[LuU'])(?:L|u|U)?'(?:\\.|[^'\\\n])*')
  | ((?=[LuU"])(?:L|u8|u|U)?"(?:\\.|[^"\\\n])*")
  | ((?:[A-Za-z_$]|[^\W\d\x00-\x7f])[\w$]*)
  | ([;,(){}\[\]~?]|\.\.\.|<<=|>>=|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[*/%+\-&|^]=|\#\#
     |\.(?![0-9])|[:<>=*/%+\-&|^\#!])
  | (\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.'])*)
  | (\S)
  )
""", re.X)

_COMMENT = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|//[^\n]*|/\*.*?(?:\*/|\Z)', re.S)


class Source:
    """One file's text, for positions and caret lines in messages.

    ``#line N "file"`` directives renumber the lines after them: ``remaps`` holds
    (first physical line, its presumed number, presumed file), in source order.
    """

    __slots__ = ("lines", "path", "remaps")

    def __init__(self, path: str, text: str):
        self.path = path
        self.lines = text.split("\n")
        self.remaps: list[tuple[int, int, str]] = []

    def presumed(self, line: int) -> tuple[str, int]:
        """(file, line) as messages, __FILE__ and __LINE__ give them for a physical line."""
        for start, number, path in reversed(self.remaps):
            if line >= start:
                return path, number + line - start
        return self.path, line

    def pos(self, line: int, col: int) -> Pos:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        path, shown = self.presumed(line) if self.remaps else (self.path, line)
        return Pos(path, shown, col, text)


class Tok:
    """A preprocessing token; ``hide`` is the macro hide set during expansion."""

    __slots__ = ("col", "hide", "kind", "line", "space", "src", "text")

    def __init__(self, kind: str, text: str, line: int, col: int, src: Source, hide=frozenset(), space=False):
        self.kind = kind
        self.text = text
        self.line = line
        self.col = col
        self.src = src
        self.hide = hide
        self.space = space  # preceded by white space (for # stringification)

    def pos(self) -> Pos:
        return self.src.pos(self.line, self.col)

    def __str__(self) -> str:
        return self.text

    def copy(self, **kw) -> Tok:
        t = Tok(self.kind, self.text, self.line, self.col, self.src, self.hide, self.space)
        for k, v in kw.items():
            setattr(t, k, v)
        return t

    def __repr__(self) -> str:
        return f"Tok({self.kind}, {self.text!r}, {self.line}:{self.col})"


def _blank_comment(m: re.Match) -> str:
    s = m.group(0)
    if s[0] in "\"'":
        return s
    if s.startswith("/*") and not s.endswith("*/"):
        raise _Unterminated(m.start())
    return re.sub(r"[^\n]", " ", s)


class _Unterminated(Exception):
    pass


class Line(str):
    """A logical line; ``splices`` are the offsets in it where each physical line after
    the first begins (after backslash-newlines), so tokens keep their physical positions."""

    splices: tuple[int, ...] = ()


def logical_lines(src: Source, text: str) -> list[tuple[int, str]]:
    """(first physical line number, text) for each logical line, comments blanked."""
    try:
        text = _COMMENT.sub(_blank_comment, text)
    except _Unterminated as exc:
        line = text.count("\n", 0, exc.args[0]) + 1
        col = exc.args[0] - (text.rfind("\n", 0, exc.args[0]) + 1) + 1
        raise CSyntaxError("unterminated /* comment", src.pos(line, col)) from None
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for i, line in enumerate(text.split("\n"), 1):
        if line.endswith("\r"):  # CRLF line endings, as clang reads them
            line = line[:-1]
        if line.endswith("\\"):
            if not pending:
                start = i
            pending.append(line[:-1])
            continue
        if pending:
            pending.append(line)
            out.append((start, _joined(pending)))
            pending = []
        else:
            out.append((i, line))
    if pending:
        out.append((start, _joined(pending)))
    return out


def _joined(parts: list[str]) -> Line:
    line = Line("".join(parts))
    offsets = []
    at = 0
    for part in parts[:-1]:
        at += len(part)
        offsets.append(at)
    line.splices = tuple(offsets)
    return line


def tokenize_line(src: Source, lineno: int, text: str) -> list[Tok]:
    toks: list[Tok] = []
    col = 1
    splices = getattr(text, "splices", ())
    for space, char, string, ident, punct, num, bad in _TOKEN.findall(text):
        col += len(space)
        line, c = (lineno, col) if not splices else _physical(lineno, col, splices)
        if ident:
            kind, tok = "id", ident
        elif punct:
            kind, tok = "punct", punct
        elif num:
            kind, tok = "num", num
        elif char:
            kind, tok = "char", char
        elif string:
            kind, tok = "str", string
        else:
            what = "missing terminating quote" if bad in "\"'" else f"stray '{bad}' in program"
            raise CSyntaxError(what, src.pos(line, c))
        toks.append(Tok(kind, tok, line, c, src, _EMPTY, bool(space) or not toks))
        col += len(tok)
    return toks


def _physical(lineno: int, col: int, splices: tuple[int, ...]) -> tuple[int, int]:
    """The physical (line, column) of logical column ``col`` of a spliced line."""
    k = bisect.bisect_right(splices, col - 1)
    return lineno + k, col - (splices[k - 1] if k else 0)


_EMPTY: frozenset = frozenset()
