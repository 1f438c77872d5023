"""Independent tasks on several processes, each process single-threaded.

Every task runs in a worker process with one thread for TensorFlow and for BLAS,
whatever the number of workers, so a result does not depend on how many tasks
ran at once or in which order: ``workers`` only sets the speed. Data the tasks
share is sent once per worker (``shared``), not once per task.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Iterable, Sequence

from tqdm.auto import tqdm

_SHARED: dict[str, Any] = {}
_LIMITS = []


def _init_worker(shared: dict, tensorflow: bool) -> None:
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                 "TF_NUM_INTEROP_THREADS"):
        os.environ[name] = "1"
    from threadpoolctl import threadpool_limits

    _LIMITS.append(threadpool_limits(1))            # kept alive for the worker's lifetime
    if tensorflow:
        from .runtime import configure

        configure(0, tensorflow=True, threads=1)
    _SHARED.clear()
    _SHARED.update(shared)


def shared() -> dict[str, Any]:
    """The data sent to this worker (inside a task)."""
    return _SHARED


def run_tasks(fn: Callable[[Any], Any], tasks: Sequence[Any], workers: int, shared_data: dict | None = None,
              tensorflow: bool = True, desc: str | None = None, progress: bool = True) -> list:
    """``[fn(task) for task in tasks]``, computed by ``workers`` single-threaded processes.

    ``fn`` must be a module-level function (it is sent by name); inside it, :func:`shared`
    returns ``shared_data``. Results come back in the order of ``tasks``.
    """
    import multiprocessing

    from .params import require

    require(isinstance(workers, int) and workers >= 1, "workers", workers, "an integer >= 1")
    ctx = multiprocessing.get_context("spawn")
    out: list = [None] * len(tasks)
    with ProcessPoolExecutor(max_workers=min(workers, max(1, len(tasks))), mp_context=ctx,
                             initializer=_init_worker, initargs=(shared_data or {}, tensorflow)) as pool:
        futures = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
        for future in tqdm(as_completed(futures), total=len(futures), desc=desc, disable=not progress, unit="task"):
            out[futures[future]] = future.result()
    return out


def longest_first(tasks: Iterable[Any], cost: Callable[[Any], float]) -> list:
    """The tasks sorted by decreasing estimated ``cost`` (fills the workers evenly)."""
    return sorted(tasks, key=cost, reverse=True)
