"""An experiment's second process starts from any launcher's job: a plain process (basic and
submitit launchers) and a loky worker (joblib launcher), whose process-wide start method
``"loky"`` a spawned child cannot set (``table1``'s reference worker broke there)."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from experiments.subprocesses import spawn_pool_submit


def _child_pid_and_start_method() -> tuple[int, int, str | None]:
    """Run in the job's process: spawn a child, return (job pid, child pid, start method after)."""
    pool, future = spawn_pool_submit(os.getpid)
    try:
        child = future.result(timeout=120)
    finally:
        pool.shutdown(wait=True)
    return os.getpid(), child, multiprocessing.get_start_method(allow_none=True)


def test_spawn_pool_in_this_process():
    job, child, _ = _child_pid_and_start_method()
    assert job == os.getpid() and child != job


def test_spawn_pool_in_a_loky_worker():
    loky = pytest.importorskip("joblib.externals.loky")
    executor = loky.get_reusable_executor(max_workers=1, timeout=30)
    job, child, after = executor.submit(_child_pid_and_start_method).result(timeout=300)
    assert job != os.getpid()  # it ran in the loky worker ...
    assert child not in (job, os.getpid())  # ... whose own child ran the function
    assert after == "loky"  # and the worker's start method is its own again
