"""One task per kernel, here, on local processes, or on a Dask cluster; results in the
kernels' order whatever runs them.

What every task shares (the objects, the options) is sent to each worker once, not once
per kernel.  On Dask (``pip install 'btfmeta[dask]'``) a task lost with a worker that
dies is run again elsewhere by the scheduler; each kernel's result is gathered from its
own future, so none is lost or counted twice.  The kernels' files must be readable by
the workers at the same paths (one machine, or a shared file system)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from ..errors import BtfmetaError
from .inputs import Kernel

_SHARED: dict[str, Any] = {}


def _init(task: Callable, shared: Any) -> None:
    _SHARED["task"], _SHARED["shared"] = task, shared


def _run(kernel: Kernel) -> Any:
    return _SHARED["task"](kernel, _SHARED["shared"])


def map_kernels(task: Callable[[Kernel, Any], Any], kernels: Sequence[Kernel], shared: Any, *, jobs: int = 1,
                progress: Callable[[int, int, str], None] | None = None, scheduler: str | None = None) -> list:
    """``task(kernel, shared)`` for every kernel (``task`` a module-level function), on
    ``jobs`` local processes or on the Dask cluster at ``scheduler`` ("local:N": one made
    here with N worker processes)."""
    if scheduler:
        return _on_dask(task, kernels, shared, scheduler, progress)
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


def _on_dask(task: Callable, kernels: Sequence[Kernel], shared: Any, scheduler: str,
             progress: Callable[[int, int, str], None] | None) -> list:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise BtfmetaError("--scheduler/--dask needs Dask: pip install 'btfmeta[dask]'") from None
    cluster = None
    if scheduler.startswith("local:"):
        workers = scheduler.split(":", 1)[1]
        if not workers.isdigit() or int(workers) < 1:
            raise BtfmetaError(f"--dask local:N wants a number of workers, not {workers!r}")
        cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=30)
        except OSError as exc:
            raise BtfmetaError(f"no Dask scheduler at {scheduler}: {exc}") from None
    try:
        everyone = client.scatter(shared, broadcast=True)
        futures = client.map(task, list(kernels), shared=everyone, pure=False, retries=3)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(futures)
        for done, future in enumerate(as_completed(futures), 1):
            i = index[future.key]
            results[i] = future.result()
            if progress:
                progress(done, len(futures), kernels[i].release)
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
