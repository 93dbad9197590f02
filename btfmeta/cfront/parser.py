"""LALR(1) parsing of preprocessed tokens with lark's tables, typedef-aware.

lark's analysis of ``grammars/c_decls.lark`` is shipped as data (``tables``); a lean
driver here runs it with the semantic actions (``Sema``) as
reductions, applying lark's tree-shaping rules.  C needs to know which
identifiers are typedef names: the actions register typedefs as they are
declared and the token feeder consults that set, as a C compiler does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from . import tables
from .errors import CSyntaxError
from .lexer import Tok

_LOCK = threading.Lock()
_TABLES = None
_LITERALS: dict[str, str] = {}


def get_tables(sema_class: type) -> _Tables:
    """The grammar's LALR tables, loaded once per process (see ``tables``)."""
    global _TABLES, _LITERALS
    if _TABLES is None:
        data = tables.load()
        _LITERALS = data["literals"]
        _TABLES = _Tables(data, sema_class)
    return _TABLES


class Feeder:
    """Pairs each preprocessing token with its grammar terminal, classifying identifiers."""

    def __init__(self, toks: list[Tok], typedefs: set[str], consts: dict):
        self.toks = toks
        self.typedefs = typedefs
        self.consts = consts
        self.last: Tok | None = None

    def __iter__(self) -> Iterator[tuple[str, Tok]]:
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
                    yield "FUNC_BODY", toks[i]
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
            yield term, t
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
    """lark's LALR table flattened to plain dicts and lists, with lark's tree-shaping
    rules (filtered tokens, ``?rule`` inlining, ``_helper`` splicing) compiled per rule.

    ``states[s]`` maps a terminal to ``next_state`` for a shift or ``~rule_index``
    (negative) for a reduction, and a rule name to its goto state.
    """

    def __init__(self, data: dict, sema_class: type):
        self.states: list[dict[str, int]] = data["states"]
        self.start: dict[str, int] = data["start"]
        self.rules = [(size, goto, None if keep is None else tuple(keep), tuple(splice), expand1, name)
                      for size, goto, keep, splice, expand1, name in data["rules"]]
        for *_, expand1, name in self.rules:
            if name is not None and not expand1 and not hasattr(sema_class, name):
                raise RuntimeError(f"grammar rule '{name}' has no semantic action")

    def bind(self, sema) -> list[tuple]:
        """Per rule: (size, goto name, reducer); the reducer is None for a ``?rule``
        over one kept child, which just passes its value up."""
        return [(size, goto, _reducer(size, keep, splice, expand1, name and getattr(sema, name, None),
                                      helper=name is None))
                for size, goto, keep, splice, expand1, name in self.rules]


def _reducer(size: int, keep, splice, expand1, method, *, helper: bool):
    """The callable that turns a rule's children into its value, lark's shaping included."""
    plain = keep is None and not splice
    if plain and expand1 and size == 1:
        return None
    if plain and not helper and not expand1:
        return method  # the common case: the action sees every child
    if plain and helper:
        return _as_list
    if helper and keep is None and splice == (0,):
        return _grow_list
    if not helper and not expand1:  # the frequent shapes, without the general loop below
        if keep is None and splice == (0,) and size == 1:
            return lambda children: method(children[0])  # ``rule: item+``: the spliced list is the children
        if keep is not None and not splice:
            n = len(keep)
            if keep == tuple(range(n)):
                return lambda children: method(children[:n])  # trailing punctuation dropped
            return lambda children: method([children[i] for i in keep])

    def shaped(children: list):
        if keep is not None:
            children = [children[i] for i in keep]
        if helper and splice == (0,):  # left-recursive list helper: grow the list in place
            children[0].extend(children[1:])
            return children[0]
        if splice:
            flat = []
            for i, c in enumerate(children):
                if i in splice:
                    flat.extend(c)
                else:
                    flat.append(c)
            children = flat
        if helper:
            return children
        if expand1 and len(children) == 1:
            return children[0]
        return method(children)

    return shaped


def _as_list(children: list) -> list:
    """A ``_helper`` rule's value is the list of its children (spliced into its user)."""
    return children


def _grow_list(children: list) -> list:
    """A left-recursive list helper (``_x: _x item``) grows its list in place."""
    children[0].extend(children[1:])
    return children[0]


class _ParseError(Exception):
    """No action for ``token`` (read as ``terminal``) in the current state; becomes a CSyntaxError."""

    def __init__(self, terminal: str, token: Tok | None, expected: set[str]):
        super().__init__(token)
        self.terminal = terminal
        self.token = token
        self.expected = expected


def _expected(row: dict[str, int]) -> set[str]:
    return {t for t in row if t.isupper()}


def _unit_chain(states: list[dict[str, int]], rules: list[tuple], below: int, top: int, lookahead: str) -> int:
    """The top state after every pass-through reduction (``?a: b`` over one child) that
    ``lookahead`` triggers above ``below``: the expression grammar's precedence levels
    form chains of 15 such rules, and the result depends only on these three values."""
    while True:
        act = states[top].get(lookahead)
        if act is None or act >= 0 or rules[~act][2] is not None:
            return top
        top = states[below][rules[~act][1]]


def _drive(tables: _Tables, sema, tokens, start: str):
    """LALR(1) over ``(terminal, token)`` pairs with ``sema``'s methods as the reductions.

    ``state`` is the top of the state stack; ``state_stack[i]`` is the state in which
    ``value_stack[i]`` was pushed.
    """
    states = tables.states
    rules = sema.reducers
    if rules is None:  # bound once per Sema: the preprocessor parses every #if with one
        rules = sema.reducers = tables.bind(sema)
    state = tables.start[start]
    state_stack: list[int] = []
    value_stack: list = []
    chains: dict[tuple[int, int, str], int] = {}
    push_state = state_stack.append
    push_value = value_stack.append
    for ttype, token in tokens:
        while True:
            act = states[state].get(ttype)
            if act is None:
                raise _ParseError(ttype, token, _expected(states[state]))
            if act >= 0:
                push_state(state)
                push_value(token)
                state = act
                break
            size, goto, reduce = rules[~act]
            if reduce is None:  # pass-through rules change only the state; take the whole chain at once
                key = (state_stack[-1], state, ttype)
                top = chains.get(key)
                if top is None:
                    top = chains[key] = _unit_chain(states, rules, *key)
                state = top
                continue
            if size == 1:  # the most frequent case: replace the top in place
                value_stack[-1] = reduce(value_stack[-1:])
                state = states[state_stack[-1]][goto]
                continue
            if size:
                cut = len(value_stack) - size
                value = reduce(value_stack[cut:])
                del value_stack[cut:]
                state = state_stack[cut]
                del state_stack[cut:]
            else:
                value = reduce([])
            push_state(state)
            push_value(value)
            state = states[state][goto]
    while True:
        act = states[state].get("$END")
        if act is None or act >= 0:
            raise _ParseError("$END", None, _expected(states[state]))
        size, goto, reduce = rules[~act]
        cut = len(value_stack) - size
        children = value_stack[cut:]
        value = children[0] if reduce is None else reduce(children)
        if size:
            del value_stack[cut:]
            state = state_stack[cut]
            del state_stack[cut:]
        if goto == start:
            return value
        push_state(state)
        push_value(value)
        state = states[state][goto]


def _describe(expected: set[str]) -> str:
    names = sorted(e for e in expected if not e.startswith("__"))
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    return f" (expected {shown})" if shown else ""


def run_parse(sema, toks: list[Tok], *, start: str = "start"):
    """Parse ``toks`` with ``sema`` as the semantic actions; errors become CSyntaxError."""
    with _LOCK:
        tables = get_tables(type(sema))
        feeder = Feeder(toks, sema.typedef_names, sema.consts)
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
            if exc.terminal == "IDENTIFIER" and "TYPE_NAME" in exc.expected:
                message = f"unknown type name '{tok}'"
            else:
                message = f"unexpected '{tok}'" + _describe(exc.expected)
            raise CSyntaxError(message, tok) from None
