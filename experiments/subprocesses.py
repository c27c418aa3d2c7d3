"""A process pool that an experiment can open from any launcher's job.

An experiment may hand independent work to a second process (``table1``'s references run
beside the search). Such a pool must start its children with ``spawn``: JAX is
multithreaded and a forked copy of it can deadlock. Under Hydra's joblib launcher the job
itself runs in a loky worker, where loky has set the process-wide start method to ``"loky"``;
``spawn`` hands that name to the child, which cannot set it (the child has not imported
loky: ``ValueError: cannot find context for 'loky'``), dies, and the pool breaks
(``BrokenProcessPool``). :func:`spawn_pool_submit` starts its child with a start method the
child knows and gives the process its own back afterwards.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any


@contextlib.contextmanager
def _standard_start_method() -> Iterator[None]:
    """While inside: the process-wide start method is one a spawned child can set."""
    current = multiprocessing.get_start_method(allow_none=True)
    if current is None or current in ("spawn", "fork", "forkserver"):
        yield
        return
    multiprocessing.set_start_method("spawn", force=True)
    try:
        yield
    finally:
        multiprocessing.set_start_method(current, force=True)


def spawn_pool_submit(fn: Callable[..., Any], *args: Any) -> tuple[ProcessPoolExecutor, Future]:
    """Start a one-process ``spawn`` pool and submit ``fn(*args)`` to it.

    Returns the pool (the caller shuts it down) and the future. Works from a plain process,
    a submitit job and a loky worker (joblib launcher) alike; the child process starts
    inside ``submit``, so that is where the start method has to be a standard one.
    """
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        with _standard_start_method():
            future = pool.submit(fn, *args)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return pool, future
