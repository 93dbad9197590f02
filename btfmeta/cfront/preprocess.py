"""A C preprocessor for metadata headers: includes, macros, conditionals, pragmas.

Pragmas that change layout or emission (``pack``, ``clang attribute``) are passed
on as PRAGMA tokens so the parser applies them in source order.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import BtfmetaError
from ..fileio import read_bytes
from .errors import CSyntaxError
from .lexer import Source, Tok, logical_lines, tokenize_line

BUILTIN_INCLUDE = Path(__file__).resolve().parent / "include"
# clang-19 -target bpf's default search list on Debian; btfmeta's own <stdint.h>, <stddef.h>
# and <stdbool.h> stand where clang's resource directory does
SYSTEM_INCLUDE = [Path("/usr/local/include"), BUILTIN_INCLUDE, Path("/usr/include")]
MAX_INCLUDE_DEPTH = 200
# tokens that macro replacement may produce in one translation unit: real headers use a few
# thousand (vmlinux.h: none), a #define chain that doubles at each level 2**depth
MAX_EXPANSION_TOKENS = 1_000_000
# function-like builtins of #if; `#ifdef __has_attribute` sees them as defined, as in clang
HAS_BUILTINS = {"__has_attribute", "__has_builtin", "__has_feature", "__has_extension", "__has_include",
                "__has_include_next", "__has_cpp_attribute", "__has_c_attribute", "__has_declspec_attribute"}
_POSITION_MACROS = ("__LINE__", "__FILE__")  # predefined, expanded where they are used
KNOWN_ATTRIBUTES = {
    "packed", "aligned", "preserve_access_index", "btf_decl_tag", "btf_type_tag", "noinline",
    "always_inline", "section", "unused", "used", "weak", "mode", "deprecated", "may_alias",
    "warn_unused_result", "nonnull", "const", "pure", "noreturn", "visibility", "designated_init",
}


@dataclass
class Macro:
    name: str
    params: list[str] | None  # None: object-like
    variadic: bool
    body: list[Tok]


def _stringify(toks: list[Tok]) -> str:
    parts = []
    for i, t in enumerate(toks):
        if i and t.space:
            parts.append(" ")
        text = t.text
        if t.kind in ("str", "char"):
            text = text.replace("\\", "\\\\").replace('"', '\\"')
        parts.append(text)
    return '"' + "".join(parts) + '"'


class Preprocessor:
    """Turns header files into one token stream for the parser."""

    def __init__(self, *, include_dirs: list[str] = (), defines: dict[str, str] | None = None,
                 big_endian: bool = False, system_includes: bool = True,
                 eval_expr: Callable[[list[Tok], Tok], int] | None = None):
        self.include_dirs = [Path(d) for d in include_dirs]
        self.system_dirs = SYSTEM_INCLUDE if system_includes else [BUILTIN_INCLUDE]
        self.macros: dict[str, Macro] = {}
        self.once: set[Path] = set()
        self.out: list[Tok] = []
        self.depth = 0
        self.expanded = 0  # tokens made by macro replacement so far (MAX_EXPANSION_TOKENS)
        self._hide_sets: dict[tuple[frozenset, frozenset], frozenset] = {}
        self.eval_expr = eval_expr
        cmdline = Source("<command line>", "")
        predefined = {
            "__bpf__": "1", "__BPF__": "1", "__bpf": "1", "__BPF_CPU_VERSION__": "1",
            "__STDC__": "1", "__STDC_VERSION__": "201710L", "__STDC_HOSTED__": "1",
            "__GNUC__": "4", "__GNUC_MINOR__": "2", "__GNUC_PATCHLEVEL__": "1",
            "__clang__": "1", "__clang_major__": "19", "__clang_minor__": "1",
            "__CHAR_BIT__": "8", "__SIZEOF_POINTER__": "8", "__SIZEOF_LONG__": "8",
            "__SIZEOF_INT__": "4", "__SIZEOF_SHORT__": "2", "__SIZEOF_LONG_LONG__": "8",
            "__SIZEOF_INT128__": "16", "__LP64__": "1", "_LP64": "1", "__ELF__": "1",
            "__ORDER_LITTLE_ENDIAN__": "1234", "__ORDER_BIG_ENDIAN__": "4321", "__ORDER_PDP_ENDIAN__": "3412",
            "__BYTE_ORDER__": "__ORDER_BIG_ENDIAN__" if big_endian else "__ORDER_LITTLE_ENDIAN__",
            "__BIG_ENDIAN__" if big_endian else "__LITTLE_ENDIAN__": "1",
            "__INT_MAX__": "2147483647", "__LONG_MAX__": "9223372036854775807L",
            "__SCHAR_MAX__": "127", "__SHRT_MAX__": "32767", "__LONG_LONG_MAX__": "9223372036854775807LL",
        }
        predefined.update(defines or {})
        for name, value in predefined.items():
            self._define_text(cmdline, name, value)

    # -- macros ----------------------------------------------------------------------

    def _define_text(self, src: Source, name: str, value: str) -> None:
        toks = tokenize_line(src, 1, f"{name} {value}")
        self._define(toks[0], toks)

    def _define(self, at: Tok, toks: list[Tok]) -> None:
        if not toks or toks[0].kind != "id":
            raise CSyntaxError("macro name must be an identifier", (toks[0] if toks else at).pos())
        name = toks[0]
        rest = toks[1:]
        params: list[str] | None = None
        variadic = False
        if rest and rest[0].text == "(" and not rest[0].space:
            params = []
            i = 1
            while True:
                if i >= len(rest):
                    raise CSyntaxError("missing ')' in macro parameter list", name.pos())
                t = rest[i]
                if t.text == ")":
                    i += 1
                    break
                if t.text == "...":
                    variadic = True
                    params.append("__VA_ARGS__")
                elif t.kind == "id" and i + 1 < len(rest) and rest[i + 1].text == "...":
                    variadic = True  # GNU named variadic parameter: `args...`
                    params.append(t.text)
                    i += 1
                elif t.kind == "id":
                    params.append(t.text)
                else:
                    raise CSyntaxError("invalid token in macro parameter list", t.pos())
                i += 1
                if i < len(rest) and rest[i].text == ",":
                    i += 1
            rest = rest[i:]
        self.macros[name.text] = Macro(name.text, params, variadic, rest)

    def expand(self, toks: list[Tok], *, in_if: bool = False) -> list[Tok]:
        """Macro-expand a token list (rescanning, hide sets, # and ##)."""
        macros = self.macros
        start = 0
        if not in_if:  # skip the tokens nothing can expand without the work queue: most of a header
            for t in toks:
                if t.kind == "id" and (t.text in macros or t.text in _POSITION_MACROS):
                    break
                start += 1
            if start == len(toks):
                return toks
        out: list[Tok] = toks[:start]
        work = deque(toks[start:])
        while work:
            t = work.popleft()
            if t.kind != "id":
                out.append(t)
                continue
            name = t.text
            if in_if and name == "defined":
                out.append(self._defined(t, work))
                continue
            if in_if and name in HAS_BUILTINS:
                out.append(self._has(t, work))
                continue
            m = macros.get(name)
            if m is None or name in t.hide:
                if name == "__LINE__":
                    t = t.copy(kind="num", text=str(t.src.presumed(t.line)[1]))
                elif name == "__FILE__":
                    t = t.copy(kind="str", text='"' + t.src.presumed(t.line)[0].replace("\\", "\\\\") + '"')
                out.append(t)
                continue
            if m.params is None:
                repl = self._subst(m, {}, self._hide_union(t.hide, frozenset((name,))), t)
            else:
                if not work or work[0].text != "(":
                    out.append(t)
                    continue
                args, close = self._collect_args(t, work, m)
                repl = self._subst(m, args, self._hide_union(t.hide & close.hide, frozenset((name,))), t)
            self.expanded += len(repl)
            if self.expanded > MAX_EXPANSION_TOKENS:
                raise CSyntaxError(f"macro expansion of '{name}' makes more than {MAX_EXPANSION_TOKENS:,} tokens "
                                   "in this translation unit (a #define chain that doubles?)", t.pos())
            work.extendleft(reversed(repl))
        return out

    def _hide_union(self, a: frozenset, b: frozenset) -> frozenset:
        """``a | b``, one object per distinct set: an expansion makes millions of tokens
        but few distinct hide sets."""
        key = (a, b)
        u = self._hide_sets.get(key)
        if u is None:
            u = self._hide_sets[key] = a | b
        return u

    def _defined(self, t: Tok, work: deque) -> Tok:
        paren = bool(work) and work[0].text == "("
        if paren:
            work.popleft()
        if not work or work[0].kind != "id":
            raise CSyntaxError("macro name missing after 'defined'", t.pos())
        name = work.popleft().text
        if paren:
            if not work or work[0].text != ")":
                raise CSyntaxError("missing ')' after 'defined'", t.pos())
            work.popleft()
        return t.copy(kind="num", text="1" if self.is_defined(name) else "0")

    def is_defined(self, name: str) -> bool:
        return name in self.macros or name in HAS_BUILTINS or name in _POSITION_MACROS

    def _has(self, t: Tok, work: deque) -> Tok:
        if not work or work[0].text != "(":
            raise CSyntaxError(f"missing '(' after '{t.text}'", t.pos())
        depth = 0
        inner = []
        while work:
            x = work.popleft()
            if x.text == "(":
                depth += 1
                if depth == 1:
                    continue
            elif x.text == ")":
                depth -= 1
                if depth == 0:
                    break
            inner.append(x)
        word = "".join(x.text for x in inner).strip("_")
        value = "0"
        if t.text == "__has_attribute":
            value = "1" if word in KNOWN_ATTRIBUTES else "0"
        elif t.text.startswith("__has_include"):
            value = "1" if self._find_include(inner, t) is not None else "0"
        elif t.text == "__has_builtin":
            value = "1" if word in ("builtin_offsetof", "builtin_preserve_access_index") else "0"
        return t.copy(kind="num", text=value)

    def _collect_args(self, t: Tok, work: deque, m: Macro) -> tuple[list[list[Tok]], Tok]:
        work.popleft()  # (
        args: list[list[Tok]] = [[]]
        depth = 0
        while True:
            if not work:
                raise CSyntaxError(f"unterminated argument list invoking macro '{m.name}'", t.pos())
            x = work.popleft()
            if x.kind == "punct" and x.text == "(":
                depth += 1
            elif x.text == ")" and x.kind == "punct":
                if depth == 0:
                    close = x
                    break
                depth -= 1
            elif x.text == "," and depth == 0 and not (m.variadic and len(args) == len(m.params)):
                args.append([])
                continue
            args[-1].append(x)
        nparams = len(m.params or [])
        if nparams == 0 and args == [[]]:
            args = []
        if m.variadic and len(args) == nparams - 1:
            args.append([])
        if len(args) != nparams:
            raise CSyntaxError(f"macro '{m.name}' expects {nparams} arguments, {len(args)} given", t.pos())
        return args, close

    def _subst(self, m: Macro, args: list[list[Tok]], hide: frozenset, at: Tok) -> list[Tok]:
        params = {p: i for i, p in enumerate(m.params or [])}
        body = m.body
        out: list[Tok] = []
        expanded: dict[int, list[Tok]] = {}
        i = 0
        while i < len(body):
            b = body[i]
            if b.text == "#" and m.params is not None and i + 1 < len(body) and body[i + 1].text in params:
                arg = args[params[body[i + 1].text]]
                out.append(at.copy(kind="str", text=_stringify(arg), hide=hide, space=b.space))
                i += 2
                continue
            if (b.text == "##" and out and out[-1].text == "," and m.variadic and i + 1 < len(body)
                    and body[i + 1].text == m.params[-1]):
                # GNU comma elision, `, ## args`: no comma when the variadic argument is empty,
                # else the argument after it, unpasted
                if args[-1]:
                    out.extend(r.copy(hide=self._hide_union(r.hide, hide)) for r in args[-1])
                else:
                    out.pop()
                i += 2
                continue
            if b.text == "##" and out and i + 1 < len(body):
                nxt = body[i + 1]
                rhs = list(args[params[nxt.text]]) if nxt.text in params else [nxt]
                lhs = out.pop()
                if rhs:
                    pasted = self._paste(lhs, rhs[0], at).copy(hide=hide)
                    out.append(pasted)
                    out.extend(r.copy(line=at.line, col=at.col, src=at.src, hide=hide) for r in rhs[1:])
                else:
                    out.append(lhs)
                i += 2
                continue
            if b.text in params:
                idx = params[b.text]
                next_is_paste = i + 1 < len(body) and body[i + 1].text == "##"
                if next_is_paste:
                    src_toks = args[idx]
                else:
                    if idx not in expanded:
                        expanded[idx] = self.expand(args[idx])
                    src_toks = expanded[idx]
                for k, r in enumerate(src_toks):
                    out.append(r.copy(hide=self._hide_union(r.hide, hide), space=b.space if k == 0 else r.space))
                i += 1
                continue
            out.append(b.copy(line=at.line, col=at.col, src=at.src, hide=hide))
            i += 1
        if out:
            out[0] = out[0].copy(space=at.space)
        return out

    def _paste(self, a: Tok, b: Tok, at: Tok) -> Tok:
        toks = tokenize_line(at.src, at.line, a.text + b.text)
        if len(toks) != 1:
            raise CSyntaxError(f"pasting '{a.text}' and '{b.text}' does not give a valid token", at.pos())
        return toks[0].copy(line=at.line, col=at.col)

    # -- files and directives -----------------------------------------------------------

    def run(self, paths: list[str]) -> list[Tok]:
        for p in paths:
            self.include_file(Path(p), None)
        return self.out

    def run_text(self, text: str, path: str = "<input>") -> list[Tok]:
        self._process(Source(path, text), text, Path(path).parent)
        return self.out

    def include_file(self, path: Path, at: Tok | None) -> None:
        try:
            key = path.resolve()
        except OSError:
            key = path
        if key in self.once:
            return
        if self.depth >= MAX_INCLUDE_DEPTH:
            raise CSyntaxError(f"#include nested too deeply (more than {MAX_INCLUDE_DEPTH} levels)",
                               at.pos() if at else None)
        try:
            data = read_bytes(path)
        except BtfmetaError as exc:
            if at is None:
                raise
            raise CSyntaxError(str(exc), at.pos()) from None
        text = data.decode("utf-8", "surrogateescape")
        shown, directory = ("<stdin>", Path.cwd()) if str(path) == "-" else (str(path), path.parent)
        self.depth += 1
        try:
            self._process(Source(shown, text), text, directory, key)
        finally:
            self.depth -= 1

    def _find_include(self, toks: list[Tok], at: Tok, current_dir: Path | None = None) -> Path | None:
        if not toks:
            raise CSyntaxError("#include expects \"FILENAME\" or <FILENAME>", at.pos())
        if toks[0].kind == "str":
            name = toks[0].text[1:-1]
            dirs = ([current_dir] if current_dir is not None else []) + self.include_dirs + self.system_dirs
        elif toks[0].text == "<":
            name = "".join((" " if t.space and i else "") + t.text for i, t in enumerate(toks[1:]))
            if not name.endswith(">"):
                raise CSyntaxError("missing '>' in #include", at.pos())
            name = name[:-1]
            dirs = [*self.include_dirs, *self.system_dirs]
        else:
            raise CSyntaxError("#include expects \"FILENAME\" or <FILENAME>", at.pos())
        if os.path.isabs(name):
            dirs = [Path("/")]
        found_dir = None
        for d in dirs:
            cand = d / name
            if cand.is_dir():
                found_dir = found_dir or cand
            elif cand.exists():
                return cand  # a device or FIFO too: reading it says what it is
        if found_dir is not None:
            raise CSyntaxError(f"'{name}' is a directory, not a header", toks[0].pos())
        return None

    def _process(self, src: Source, text: str, current_dir: Path, key: Path | None = None) -> None:
        # conditional stack entries: [active, taken, seen_else, start token, parent active];
        # keeping the parent's state makes each directive O(1) however deep the nesting
        conds: list[list] = []
        active = True
        pending: list[Tok] = []

        def flush() -> None:
            if pending:
                self.out.extend(self.expand(pending))
                pending.clear()

        for lineno, line in logical_lines(src, text):
            stripped = line.lstrip()
            if not stripped.startswith("#"):
                if active and stripped:
                    pending.extend(tokenize_line(src, lineno, line))
                continue
            toks = tokenize_line(src, lineno, line)
            hash_tok = toks[0]
            if len(toks) == 1:
                continue  # null directive
            d = toks[1]
            args = toks[2:]
            name = d.text
            if name in ("if", "ifdef", "ifndef"):
                if not active:
                    conds.append([False, True, False, d, False])
                else:
                    if name == "if":
                        flush()
                        cond = self._eval_if(args, d)
                    else:
                        if not args or args[0].kind != "id":
                            raise CSyntaxError(f"macro name missing after #{name}", d.pos())
                        cond = self.is_defined(args[0].text) == (name == "ifdef")
                    conds.append([cond, cond, False, d, True])
                    active = cond
                continue
            if name in ("elif", "elifdef", "elifndef", "else", "endif"):
                if not conds:
                    raise CSyntaxError(f"#{name} without #if", d.pos())
                top = conds[-1]
                parent_active = top[4]
                if name == "endif":
                    conds.pop()
                    active = parent_active
                    continue
                if name == "else":
                    if top[2]:
                        raise CSyntaxError("#else after #else", d.pos())
                    top[2] = True
                    top[0] = parent_active and not top[1]
                    top[1] = top[1] or top[0]
                else:
                    if top[2]:
                        raise CSyntaxError(f"#{name} after #else", d.pos())
                    if parent_active and not top[1]:
                        if name == "elif":
                            flush()
                            cond = self._eval_if(args, d)
                        else:
                            cond = bool(args) and self.is_defined(args[0].text) == (name == "elifdef")
                        top[0] = cond
                        top[1] = cond
                    else:
                        top[0] = False
                active = top[0]
                continue
            if not active:
                continue
            flush()
            if name == "define":
                self._define(d, args)
            elif name == "undef":
                if args:
                    self.macros.pop(args[0].text, None)
            elif name in ("include", "include_next", "import"):
                target_toks = self.expand(args) if args and args[0].kind == "id" else args
                found = self._find_include(target_toks, d, current_dir)
                if found is None:
                    shown = "".join(t.text for t in target_toks)
                    raise CSyntaxError(f"{shown} file not found", target_toks[0].pos() if target_toks else d.pos())
                self.include_file(found, target_toks[0])
            elif name == "pragma":
                self._pragma(hash_tok, args, key)
            elif name == "error":
                raise CSyntaxError("#error " + " ".join(t.text for t in args), d.pos())
            elif name == "line":
                self._line(src, lineno, self.expand(args) if args and args[0].kind == "id" else args, d)
            elif d.kind == "num":  # GNU line marker: # 12 "file" flags
                self._line(src, lineno, [d, *args[:1]], d)
            elif name in ("warning", "ident", "sccs"):
                pass
            else:
                raise CSyntaxError(f"invalid preprocessing directive #{name}", d.pos())
        flush()
        if conds:
            raise CSyntaxError("unterminated conditional directive", conds[-1][3].pos())

    @staticmethod
    def _line(src: Source, lineno: int, args: list[Tok], d: Tok) -> None:
        """``#line N ["file"]``: the next line is line N (of "file")."""
        if not args or args[0].kind != "num" or not args[0].text.isdigit():
            raise CSyntaxError(f"#{d.text} directive requires a simple digit sequence", (args or [d])[0].pos())
        path = src.presumed(lineno)[0]
        if len(args) > 1:
            if args[1].kind != "str" or not args[1].text.startswith('"'):
                raise CSyntaxError(f"invalid filename for #{d.text} directive", args[1].pos())
            path = args[1].text[1:-1].replace("\\\\", "\\")
        src.remaps.append((lineno + 1, int(args[0].text), path))

    def _eval_if(self, args: list[Tok], d: Tok) -> bool:
        if not args:
            raise CSyntaxError(f"#{d.text} with no expression", d.pos())
        toks = self.expand(args, in_if=True)
        toks = [t.copy(kind="num", text="1" if t.text == "true" else "0") if t.kind == "id" else t for t in toks]
        if self.eval_expr is None:
            raise CSyntaxError("no expression evaluator", d.pos())
        return self.eval_expr(toks, d) != 0

    def _pragma(self, hash_tok: Tok, args: list[Tok], key: Path | None) -> None:
        words = [t.text for t in args]
        if words[:1] == ["once"]:
            if key is not None:
                self.once.add(key)
            return
        if words[:1] == ["pack"] or words[:2] == ["clang", "attribute"]:
            text = " ".join(words)
            self.out.append(hash_tok.copy(kind="pragma", text=text))
