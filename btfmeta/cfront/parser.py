"""LALR(1) parsing of preprocessed tokens with lark's tables, typedef-aware.

lark analyses the grammar in ``grammars/c_decls.lark`` and builds the LALR
table; a lean driver here runs it with the semantic actions (``Sema``) as
reductions, applying lark's tree-shaping rules.  C needs to know which
identifiers are typedef names: the actions register typedefs as they are
declared and the token feeder consults that set, as a C compiler does.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from lark import Lark
from lark.lexer import PatternRE, PatternStr

from .errors import CSyntaxError
from .lexer import Tok

_LOCK = threading.Lock()
_TABLES = None
_LITERALS: dict[str, str] = {}


class PToken(str):
    """A parser token: its text, grammar terminal name, and index of its source token."""

    __slots__ = ("start_pos", "type")

    def __new__(cls, type_: str, value: str, index: int):
        tok = str.__new__(cls, value)
        tok.type = type_
        tok.start_pos = index
        return tok


def grammar_text() -> str:
    """The grammar, from the installed package or the source tree."""
    packaged = resources.files("btfmeta").joinpath("grammars/c_decls.lark")
    if packaged.is_file():
        return packaged.read_text()
    return (Path(__file__).resolve().parents[2] / "grammars" / "c_decls.lark").read_text()


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
            out[w] = str(term.name)
    return out


def get_tables(sema_class: type) -> _Tables:
    """The grammar's LALR tables, built once per process."""
    global _TABLES, _LITERALS
    if _TABLES is None:
        lark = Lark(grammar_text(), parser="lalr", lexer="basic", start=["start", "const_expr"])
        _LITERALS = _literals(lark)
        _TABLES = _Tables(lark, sema_class)
    return _TABLES


class Feeder:
    """Turns preprocessing tokens into lark tokens, classifying identifiers."""

    def __init__(self, toks: list[Tok], typedefs: set[str], consts: dict):
        self.toks = toks
        self.typedefs = typedefs
        self.consts = consts
        self.last: Tok | None = None

    def __iter__(self) -> Iterator[PToken]:
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
                    yield PToken("FUNC_BODY", "{...}", i)
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
            yield PToken(term, text, i)
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


class _Tables:
    """lark's LALR table flattened to plain dicts, with lark's tree-shaping rules
    (filtered tokens, ``?rule`` inlining, ``_helper`` splicing) compiled per rule.

    Each state maps a terminal or rule name to ``(True, next_state)`` for a shift
    or ``(False, rule_index)`` for a reduction.
    """

    def __init__(self, parser: Lark, sema_class: type):
        table = parser.parser.parser.parser.parse_table
        index: dict[int, int] = {}
        self.rules: list[tuple] = []
        self.states: dict[int, dict[str, tuple]] = {}
        for state, row in table.states.items():
            out = {}
            for sym, (action, arg) in row.items():
                sym = str(sym)  # lark's names may be Token objects; plain str keys hash and compare faster
                if action.name == "Shift":
                    out[sym] = (True, arg)
                    continue
                if id(arg) not in index:
                    index[id(arg)] = len(self.rules)
                    self.rules.append(self._shape(arg, sema_class))
                out[sym] = (False, index[id(arg)])
            self.states[state] = out
        self.start = dict(table.start_states)
        self.end = dict(table.end_states)

    @staticmethod
    def _shape(rule, sema_class: type) -> tuple:
        """(size, goto name, kept positions, spliced positions, expand1, method name)."""
        keep, splice = [], []
        for i, sym in enumerate(rule.expansion):
            if sym.is_term and sym.filter_out and not rule.options.keep_all_tokens:
                continue
            keep.append(i)
            if not sym.is_term and sym.name.startswith("_"):
                splice.append(len(keep) - 1)
        origin = rule.origin.name
        name = rule.alias or origin
        helper = origin.startswith("_")
        expand1 = bool(rule.options.expand1) and not rule.alias  # an alias wins over ?rule inlining
        if not helper and not expand1 and not hasattr(sema_class, name):
            raise RuntimeError(f"grammar rule '{name}' has no semantic action")
        all_kept = len(keep) == len(rule.expansion)
        return (len(rule.expansion), str(origin), None if all_kept else tuple(keep), tuple(splice),
                expand1, None if helper else str(name))


class _ParseError(Exception):
    """No action for ``token`` in the current state (turned into a CSyntaxError)."""

    def __init__(self, token: PToken | None, expected: set[str]):
        super().__init__(token)
        self.token = token
        self.expected = expected


def _drive(tables: _Tables, sema, tokens, start: str):
    """LALR(1) over ``tokens`` with ``sema``'s methods as the reduction actions."""
    states = tables.states
    rules = [(size, goto, keep, splice, expand1, name is None, getattr(sema, name or "", None))
             for size, goto, keep, splice, expand1, name in tables.rules]
    # a ?rule over one kept child just passes its value up: no call needed
    units = [r[1] if r[0] == 1 and r[4] and r[2] is None and not r[3] else None for r in rules]
    state_stack = [tables.start[start]]
    value_stack: list = []

    def reduce(entry_rule: int):
        size, goto, keep, splice, expand1, helper, method = rules[entry_rule]
        if size:
            children = value_stack[-size:]
            del state_stack[-size:]
            del value_stack[-size:]
        else:
            children = []
        if keep is not None:
            children = [children[i] for i in keep]
        if helper and splice == (0,):  # left-recursive list helper: grow the list in place
            children[0].extend(children[1:])
            return goto, children[0]
        if splice:
            flat = []
            for i, c in enumerate(children):
                if i in splice:
                    flat.extend(c)
                else:
                    flat.append(c)
            children = flat
        if helper:
            value = children
        elif expand1 and len(children) == 1:
            value = children[0]
        else:
            value = method(children)
        return goto, value

    for token in tokens:
        ttype = token.type
        while True:
            entry = states[state_stack[-1]].get(ttype)
            if entry is None:
                raise _ParseError(token, {t for t in states[state_stack[-1]] if t.isupper()})
            if entry[0]:
                state_stack.append(entry[1])
                value_stack.append(token)
                break
            unit = units[entry[1]]
            if unit is not None:
                state_stack[-1] = states[state_stack[-2]][unit][1]
                continue
            goto, value = reduce(entry[1])
            state_stack.append(states[state_stack[-1]][goto][1])
            value_stack.append(value)
    while True:
        entry = states[state_stack[-1]].get("$END")
        if entry is None or entry[0]:
            raise _ParseError(None, {t for t in states[state_stack[-1]] if t.isupper()})
        goto, value = reduce(entry[1])
        if goto == start:
            return value
        state_stack.append(states[state_stack[-1]][goto][1])
        value_stack.append(value)


def _describe(expected: set[str]) -> str:
    names = sorted(e for e in expected if not e.startswith("__"))
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    return f" (expected {shown})" if shown else ""


def run_parse(sema, toks: list[Tok], *, start: str = "start"):
    """Parse ``toks`` with ``sema`` as the semantic actions; errors become CSyntaxError."""
    with _LOCK:
        tables = get_tables(type(sema))
        feeder = Feeder(toks, sema.typedef_names, sema.consts)
        sema.begin(toks)
        try:
            return _drive(tables, sema, iter(feeder), start)
        except CSyntaxError as err:
            if err.pos is None and feeder.last is not None:
                err.pos = feeder.last.pos()  # the token being read when it was found
            raise
        except _ParseError as exc:
            tok = exc.token
            if tok is None:
                last = feeder.last or (toks[-1] if toks else None)
                raise CSyntaxError("unexpected end of input" + _describe(exc.expected),
                                   last.pos() if last else None) from None
            if tok.type == "IDENTIFIER" and "TYPE_NAME" in exc.expected:
                message = f"unknown type name '{tok}'"
            else:
                message = f"unexpected '{tok}'" + _describe(exc.expected)
            raise CSyntaxError(message, toks[tok.start_pos].pos()) from None
