"""The lark LALR(1) parser over preprocessed tokens, with typedef-aware lexing.

C's grammar needs to know which identifiers are typedef names; the semantic
actions run during the parse (lark's inline transformer) and register
typedefs as they are declared, and the token feeder consults that set.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import Lexer, PatternRE, PatternStr

from .errors import CSyntaxError
from .lexer import Tok

_LOCK = threading.Lock()
_PARSER: Lark | None = None
_DISPATCH = None
_LITERALS: dict[str, str] = {}


def grammar_text() -> str:
    """The grammar, from the installed package or the source tree."""
    packaged = resources.files("btfmeta").joinpath("grammars/c_decls.lark")
    if packaged.is_file():
        return packaged.read_text()
    return (Path(__file__).resolve().parents[2] / "grammars" / "c_decls.lark").read_text()


class _FeedLexer(Lexer):
    """Hands lark the tokens our feeder produces (the 'text' is the token iterator)."""

    def __init__(self, lexer_conf) -> None:
        pass

    def lex(self, data) -> Iterator[Token]:
        return data


def _literals(parser: Lark) -> dict[str, str]:
    """Map each keyword/punctuator spelling to its grammar terminal name."""
    out: dict[str, str] = {}
    for term in parser.terminals:
        pat = term.pattern
        if isinstance(pat, PatternStr):
            words = [pat.value]
        elif isinstance(pat, PatternRE) and pat.value.startswith("(?:"):
            words = [re.sub(r"\\(.)", r"\1", w) for w in pat.value[3:-1].split("|")]
        else:
            continue
        for w in words:
            if w in out and out[w] != term.name:
                raise RuntimeError(f"grammar: '{w}' is both {out[w]} and {term.name}")
            out[w] = term.name
    return out


class _Dispatch(Transformer):
    """The transformer bound into the shared parser; forwards each rule to the current Sema."""

    current = None


def _forward(name: str):
    def callback(self, children):
        return getattr(self.current, name)(children)

    callback.__name__ = name
    return callback


def get_parser(sema_class) -> tuple[Lark, _Dispatch]:
    global _PARSER, _LITERALS, _DISPATCH
    if _PARSER is None:
        for name, value in vars(sema_class).items():
            if callable(value) and not name.startswith("_") and name not in ("reset", "begin"):
                setattr(_Dispatch, name, _forward(name))
        _DISPATCH = _Dispatch()
        _PARSER = Lark(grammar_text(), parser="lalr", lexer=_FeedLexer, transformer=_DISPATCH,
                       start=["start", "const_expr"], maybe_placeholders=False)
        _LITERALS = _literals(_PARSER)
    return _PARSER, _DISPATCH


class Feeder:
    """Turns preprocessing tokens into lark tokens, classifying identifiers."""

    def __init__(self, toks: list[Tok], typedefs: set[str], consts: dict):
        self.toks = toks
        self.typedefs = typedefs
        self.consts = consts
        self.last: Tok | None = None

    def __iter__(self) -> Iterator[Token]:
        lits = _LITERALS
        typedefs = self.typedefs
        toks = self.toks
        type_seen = False
        stack: list[bool] = []
        expect_tag_depth = -1
        attr_base = -1  # stack depth of the innermost __attribute__ being read
        consts = self.consts
        prev = ""
        i = 0
        n = len(toks)
        while i < n:
            t = toks[i]
            self.last = t
            kind = t.kind
            text = t.text
            if kind == "id":
                term = lits.get(text)
                if term is None:
                    if attr_base >= 0 and len(stack) > attr_base and text not in consts and text not in typedefs:
                        term = "ATTR_WORD"
                    elif expect_tag_depth == len(stack):
                        term = "IDENTIFIER"
                        expect_tag_depth = -1
                        type_seen = True
                    elif not type_seen and text in typedefs:
                        term = "TYPE_NAME"
                        type_seen = True
                    else:
                        term = "IDENTIFIER"
                elif term in ("BASIC",):
                    type_seen = True
                elif term in ("STRUCT_KW", "ENUM"):
                    expect_tag_depth = len(stack)
                elif term == "ATTRIBUTE_KW" and attr_base < 0:
                    attr_base = len(stack)
            elif kind == "punct":
                if text == "{" and prev == ")" and not stack and expect_tag_depth < 0:
                    i = self._skip_body(i)
                    yield Token("FUNC_BODY", "{...}", i, t.line, t.col)
                    prev = "}"
                    type_seen = False
                    i += 1
                    continue
                term = lits.get(text)
                if term is None:
                    raise CSyntaxError(f"unexpected '{text}'", t.pos())
                if text in "([{":
                    if text == "{" and expect_tag_depth == len(stack):
                        expect_tag_depth = -1
                    stack.append(type_seen)
                    type_seen = False
                elif text in ")]":
                    type_seen = stack.pop() if stack else False
                    if len(stack) == attr_base:
                        attr_base = -1
                elif text == "}":
                    if stack:
                        stack.pop()
                    type_seen = True
                elif text in ";,":
                    type_seen = False
                    if text == ";":
                        expect_tag_depth = -1
            elif kind == "num":
                term = "NUMBER"
            elif kind == "str":
                term = "STRING"
            elif kind == "char":
                term = "CHAR_CONST"
            elif kind == "pragma":
                term = "PRAGMA"
            else:
                raise CSyntaxError(f"unexpected token '{text}'", t.pos())
            prev = text
            yield Token(term, text, i, t.line, t.col)
            i += 1

    def _skip_body(self, i: int) -> int:
        depth = 0
        for j in range(i, len(self.toks)):
            x = self.toks[j]
            if x.kind == "punct":
                if x.text == "{":
                    depth += 1
                elif x.text == "}":
                    depth -= 1
                    if depth == 0:
                        return j
        raise CSyntaxError("expected '}' at end of function body", self.toks[i].pos())


def _describe(expected: set[str]) -> str:
    names = sorted(e for e in expected if not e.startswith("__"))
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    return f" (expected {shown})" if shown else ""


def run_parse(sema, toks: list[Tok], *, start: str = "start"):
    """Parse ``toks`` with ``sema`` as the semantic actions; errors become CSyntaxError."""
    with _LOCK:
        parser, dispatch = get_parser(type(sema))
        dispatch.current = sema
        feeder = Feeder(toks, sema.typedef_names, sema.consts)
        sema.begin(toks)
        try:
            return parser.parse(iter(feeder), start=start)
        except (CSyntaxError, VisitError) as exc:
            err = exc.orig_exc if isinstance(exc, VisitError) else exc
            if not isinstance(err, CSyntaxError):
                raise
            if err.pos is None and feeder.last is not None:
                err.pos = feeder.last.pos()  # the token being read when it was found
            raise err from None
        except UnexpectedToken as exc:
            tok = exc.token
            if tok.type == "$END":
                last = feeder.last or (toks[-1] if toks else None)
                raise CSyntaxError("unexpected end of input" + _describe(exc.expected),
                                   last.pos() if last else None) from None
            at = toks[tok.start_pos] if isinstance(tok.start_pos, int) and tok.start_pos < len(toks) else None
            if tok.type == "IDENTIFIER" and "TYPE_NAME" in exc.expected:
                message = f"unknown type name '{tok.value}'"
            else:
                message = f"unexpected '{tok.value}'" + _describe(exc.expected)
            raise CSyntaxError(message, at.pos() if at else None) from None
        except UnexpectedEOF as exc:
            last = toks[-1] if toks else None
            raise CSyntaxError("unexpected end of input" + _describe(set(exc.expected)),
                               last.pos() if last else None) from None
        except (UnexpectedCharacters, UnexpectedInput) as exc:
            raise CSyntaxError(f"syntax error: {exc}", None) from None
