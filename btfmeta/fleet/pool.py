"""One task per kernel, here or on local processes, results in the kernels' order.

What every task shares (the objects, the options) is sent to each worker process once,
not once per kernel."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .inputs import Kernel

_SHARED: dict[str, Any] = {}


def _init(task: Callable, shared: Any) -> None:
    _SHARED["task"], _SHARED["shared"] = task, shared


def _run(kernel: Kernel) -> Any:
    return _SHARED["task"](kernel, _SHARED["shared"])


def map_kernels(task: Callable[[Kernel, Any], Any], kernels: Sequence[Kernel], shared: Any, *, jobs: int = 1,
                progress: Callable[[int, int, str], None] | None = None) -> list:
    """``task(kernel, shared)`` for every kernel (``task`` a module-level function)."""
    results = []
    if jobs <= 1:
        for i, kernel in enumerate(kernels, 1):
            results.append(task(kernel, shared))
            if progress:
                progress(i, len(kernels), kernel.release)
        return results
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init, initargs=(task, shared)) as pool:
        for i, (kernel, result) in enumerate(zip(kernels, pool.map(_run, kernels), strict=True), 1):
            results.append(result)
            if progress:
                progress(i, len(kernels), kernel.release)
    return results
