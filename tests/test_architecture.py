"""The parts depend only downward (issue 11), checked over every import statement in
btfmeta, lazy ones inside functions included:

    btf      <- cfront, elf <- core          render (jinja2) on btf
    commands combine parts; cli only parses and prints; nothing imports cli

``errors``, ``fileio`` and ``profiles`` (the reference-tool tables) are the shared floor every
part may use."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from .conftest import REPO

PACKAGE = REPO / "btfmeta"
FLOOR = {"errors", "fileio", "profiles"}
ALLOWED = {
    "btf": set(),
    "cfront": {"btf"},
    "elf": {"btf"},
    "core": {"btf", "elf"},
    "render": {"btf"},
    "kv": set(),
}


def _module(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    return ".".join(rel.parts).removesuffix(".__init__")


def import_graph() -> dict[tuple[str, str], set[str]]:
    """(part, part) -> the import lines behind that arrow; a part is btfmeta's first level."""
    edges: dict[tuple[str, str], set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        mod = _module(path)
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    targets = [".".join(base + ([node.module] if node.module else []))]
                else:
                    targets = [node.module or ""]
            else:
                continue
            for target in targets:
                a, b = mod.split(".")[1:2] or ["btfmeta"], target.split(".")
                if b[0] != "btfmeta":
                    continue
                src, dst = a[0], (b[1] if len(b) > 1 else "btfmeta")
                if src != dst:
                    edges.setdefault((src, dst), set()).add(f"{mod} imports {target}")
    return edges


def test_parts_depend_only_downward():
    edges = import_graph()
    wrong = []
    for (src, dst), why in sorted(edges.items()):
        if dst == "cli" and src != "__main__":
            wrong += sorted(why)
        if src in ALLOWED and dst not in ALLOWED[src] | FLOOR:
            wrong += sorted(why)
        if src in FLOOR and dst not in FLOOR:
            wrong += sorted(why)
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_between_parts():
    edges = import_graph()
    adj: dict[str, set[str]] = {}
    for src, dst in edges:
        adj.setdefault(src, set()).add(dst)

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in adj.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    cycles = sorted(p for p in adj if p in reach(p))
    assert not cycles, cycles


def test_views_load_no_elf_library_and_no_grammar():
    """`import btfmeta.render.pahole` (and reading BTF) loads neither pyelftools nor lark."""
    code = ("import sys, btfmeta.render.pahole, btfmeta.btf;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('elftools', 'lark')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def test_every_grammar_rule_has_its_action():
    """Each rule of grammars/c_decls.lark that needs a semantic action finds one on Sema
    (a renamed rule must not silently lose its action)."""
    from btfmeta.cfront import tables
    from btfmeta.cfront.sema import Sema

    data = tables.load()
    needed = {name for *_, expand1, name in data["rules"] if name is not None and not expand1}
    assert needed, "no rules read"
    missing = sorted(n for n in needed if not callable(getattr(Sema, n, None)))
    assert not missing, missing


def test_nothing_imports_the_package_root():
    """The root is the library's front door; a part or the cli importing it (issue 21: cli read
    ``__version__`` there) would load the exports it names and tie the parts to the door."""
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                wrong += [f"{_module(path)}: import {a.name}" for a in node.names if a.name == "btfmeta"]
            elif isinstance(node, ast.ImportFrom):
                depth = len(path.relative_to(PACKAGE).parts)
                if (node.level == 0 and node.module == "btfmeta") or (node.level == depth and node.module is None):
                    wrong += [f"{_module(path)}: from {'.' * node.level or 'btfmeta'} import {a.name}"
                              for a in node.names if not (PACKAGE / a.name).exists()
                              and not (PACKAGE / f"{a.name}.py").exists()]
    assert not wrong, "\n".join(wrong)
