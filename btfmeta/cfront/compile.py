"""``compile``: C metadata headers to BTF with clang-19's types and layouts.

Every type a header declares is emitted (clang emits only those a used symbol
reaches), with functions and globals as FUNC/VAR/DATASEC.  With a base, the
result is split BTF whose types equal to base types refer to the base.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ..btf.dedup import split_on_base
from ..btf.spec import Spec
from .emit import emit
from .errors import CSyntaxError
from .parser import run_parse
from .preprocess import Preprocessor
from .sema import Sema

TARGETS = {"bpf": "little", "bpfel": "little", "bpfeb": "big"}


def _preprocessor(include_dirs: Sequence[str], defines: dict[str, str] | None, target: str,
                  system_includes: bool) -> Preprocessor:
    sema = Sema()

    def eval_if(toks, at):
        value = run_parse(sema, toks, start="const_expr")
        if not hasattr(value, "value"):
            raise CSyntaxError("invalid preprocessor expression", at.pos())
        return value.value

    return Preprocessor(include_dirs=list(include_dirs), defines=defines, big_endian=target == "bpfeb",
                        system_includes=system_includes, eval_expr=eval_if)


def compile_headers(paths: Sequence[str], *, include_dirs: Sequence[str] = (), defines: dict[str, str] | None = None,
                    target: str = "bpf", base: Spec | None = None, system_includes: bool = True) -> Spec:
    """Compile C headers (as one translation unit, in order) to a BTF ``Spec``; ``-`` is
    standard input.  ``system_includes=False`` is clang's -nostdinc."""
    pp = _preprocessor(include_dirs, defines, _check_target(target), system_includes)
    with _gc_paused():
        return _compile(pp.run(list(paths)), target, base)


def compile_source(text: str, *, path: str = "<input>", include_dirs: Sequence[str] = (),
                   defines: dict[str, str] | None = None, target: str = "bpf", base: Spec | None = None,
                   system_includes: bool = True) -> Spec:
    """Compile C source text (``path`` names it in messages and for quoted includes)."""
    pp = _preprocessor(include_dirs, defines, _check_target(target), system_includes)
    with _gc_paused():
        return _compile(pp.run_text(text, path), target, base)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Compiling allocates millions of objects that nearly all stay alive to the end,
    so the cyclic collector's passes over them find nothing; pausing it saves ~30%.

    On the way out, everything the compile left is moved straight to the oldest
    generation (freeze, then unfreeze), as if it had survived the young collections;
    otherwise the first allocation after re-enabling scans it all at once (~0.1 s).
    Cyclic garbage among it is freed by the next full collection, as usual.  Not done
    when the caller has frozen objects itself (a pre-fork server): unfreeze would thaw them."""
    was_enabled = gc.isenabled()
    nothing_frozen = gc.get_freeze_count() == 0
    gc.disable()
    try:
        yield
    finally:
        if nothing_frozen:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def _check_target(target: str) -> str:
    if target not in TARGETS:
        raise CSyntaxError(f"unknown target '{target}' (expected {', '.join(TARGETS)})", None)
    return target


def _compile(toks, target: str, base: Spec | None) -> Spec:
    sema = Sema()
    entities = run_parse(sema, toks)
    spec = emit(entities, Spec(byteorder=TARGETS[target]))
    if base is not None:
        spec = split_on_base(spec, base)
    return spec
