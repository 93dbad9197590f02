"""The grammar's LALR tables as plain data, shipped in the package.

lark analyses ``grammars/c_decls.lark`` (~130 ms); the result is stored as JSON in
``grammars/c_decls.tables.json`` so that a run never analyses the grammar and never
unpickles anything (lark's own cache is a pickle, which a planted file would turn into
code execution).  The file records the grammar's SHA-256: a tree whose grammar was
edited since falls back to analysing it in memory, and ``tests/test_grammar_tables.py``
fails until ``python -m btfmeta.cfront.tables`` has regenerated the file.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from importlib import resources
from pathlib import Path

FORMAT = 1
_SOURCE_TREE = Path(__file__).resolve().parents[2] / "grammars"


def _grammar_file(name: str):
    packaged = resources.files("btfmeta").joinpath("grammars", name)
    return packaged if packaged.is_file() else _SOURCE_TREE / name


def grammar_text() -> str:
    """The grammar, from the installed package or the source tree."""
    return _grammar_file("c_decls.lark").read_text()


def grammar_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def analyse(text: str) -> dict:
    """Run lark's LALR analysis on the grammar and flatten it to JSON-able data.

    ``states[s]`` maps a terminal to ``next_state`` for a shift or ``~rule`` for a
    reduction, and a rule name to its goto state.  ``rules[r]`` is (size, goto name,
    kept positions or None, spliced positions, expand1, action name or None), lark's
    tree-shaping rules (filtered tokens, ``?rule`` inlining, ``_helper`` splicing).
    """
    from lark import Lark
    from lark.lexer import PatternRE, PatternStr

    parser = Lark(text, parser="lalr", lexer="basic", start=["start", "const_expr"])
    table = parser.parser.parser.parser.parse_table
    index: dict[int, int] = {}
    rules: list[list] = []
    states: list[dict[str, int]] = [{} for _ in range(max(table.states) + 1)]
    for state, row in table.states.items():
        out = states[state]
        for sym, (action, arg) in row.items():
            if action.name == "Shift":
                out[str(sym)] = arg
                continue
            if id(arg) not in index:
                index[id(arg)] = len(rules)
                rules.append(_shape(arg))
            out[str(sym)] = ~index[id(arg)]
    literals: dict[str, str] = {}
    for term in parser.terminals:
        pat = term.pattern
        if isinstance(pat, PatternStr):
            words = [pat.value]
        elif isinstance(pat, PatternRE) and pat.value.startswith("(?:"):
            words = [re.sub(r"\\(.)", r"\1", w) for w in pat.value[3:-1].split("|")]
        else:
            continue
        for w in words:
            if w in literals and literals[w] != term.name:
                raise ValueError(f"grammar: '{w}' is both {literals[w]} and {term.name}")
            literals[w] = str(term.name)
    start = dict(table.start_states)
    return {"format": FORMAT, "grammar_sha256": grammar_digest(text), "literals": dict(sorted(literals.items())),
            **_canonical(start, rules, states)}


def _canonical(start: dict[str, int], rules: list[list], states: list[dict[str, int]]) -> dict:
    """Renumber states breadth-first from the start states and rules by first use, symbols
    sorted: lark numbers them in set-iteration order, which changes with the hash seed."""
    order: list[int] = []
    new_id: dict[int, int] = {}
    queue = [start[name] for name in sorted(start)]
    while queue:
        s = queue.pop(0)
        if s in new_id:
            continue
        new_id[s] = len(order)
        order.append(s)
        queue += [act for _, act in sorted(states[s].items()) if act >= 0]
    rule_id: dict[int, int] = {}
    out_states = []
    for s in order:
        row = {}
        for sym, act in sorted(states[s].items()):
            if act >= 0:
                row[sym] = new_id[act]
            else:
                row[sym] = ~rule_id.setdefault(~act, len(rule_id))
        out_states.append(row)
    out_rules = [rules[old] for old, _ in sorted(rule_id.items(), key=lambda kv: kv[1])]
    return {"start": {name: new_id[start[name]] for name in sorted(start)}, "rules": out_rules,
            "states": out_states}


def _shape(rule) -> list:
    keep, splice = [], []
    for i, sym in enumerate(rule.expansion):
        if sym.is_term and sym.filter_out and not rule.options.keep_all_tokens:
            continue
        keep.append(i)
        if not sym.is_term and sym.name.startswith("_"):
            splice.append(len(keep) - 1)
    origin = rule.origin.name
    helper = origin.startswith("_")
    expand1 = bool(rule.options.expand1) and not rule.alias  # an alias wins over ?rule inlining
    all_kept = len(keep) == len(rule.expansion)
    return [len(rule.expansion), str(origin), None if all_kept else keep, splice, expand1,
            None if helper else str(rule.alias or origin)]


def load() -> dict:
    """The shipped tables, or a fresh in-memory analysis if the grammar changed since."""
    text = grammar_text()
    try:
        data = json.loads(_grammar_file("c_decls.tables.json").read_text())
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT or \
            data.get("grammar_sha256") != grammar_digest(text):
        data = analyse(text)
    return data


def main() -> None:
    """Regenerate ``grammars/c_decls.tables.json`` in the source tree."""
    path = _SOURCE_TREE / "c_decls.tables.json"
    path.write_text(json.dumps(analyse((_SOURCE_TREE / "c_decls.lark").read_text()), separators=(",", ":")) + "\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
