"""Spreading a population over devices (`jax.sharding`) and hosts (`jax.distributed`).

One host: `population_sharding` puts the leading (population / restart) axis of arrays on a
1-D `jax.sharding.Mesh` over the devices (axis name ``"pop"``), as a `NamedSharding` with
``PartitionSpec("pop")``; a jitted program whose inputs are so sharded runs each device's rows
on that device (GSPMD), with no change to the numbers: a row's result does not depend on which
device computes it. JAX refuses shardings whose axis does not divide evenly, so `pad_rows`
extends a batch of ``P`` rows to ``P' = D * ceil(P / D)`` (``D`` devices) by repeating rows
(row ``i >= P`` is a copy of row ``i mod P``); callers compute on the padded batch and drop
rows ``>= P``. `qsense.genetic.search` and `qsense.optimize.optimize_angles` use these.

Several hosts (SLURM): `initialize` calls `jax.distributed.initialize()` (which reads the
SLURM environment: coordinator address, process count and id) when SLURM runs several tasks
in this job step, and does nothing otherwise. Call it before the first JAX computation; the
experiments entry point (`experiments.run`) does. After it, ``jax.devices()`` lists every
host's devices and the same sharded programs span them; `to_host` gathers a sharded result
onto every host. The processes must also agree on anything they read from disk that decides
what they compute next (a checkpoint to resume from): files written by each process for itself
(node-local paths) or at different moments can differ, and processes that resume from
different points run mismatched collectives (a hang). `agree` hands every process process 0's
reading (or its error). `tests/qsense/test_multiprocess.py` runs two such processes on one
machine (SLURM's variables from `local_task_envs`, a coordinator on localhost, CPU collectives
over gloo), through this very `initialize`.

CPU note: ``XLA_FLAGS=--xla_force_host_platform_device_count=D`` fakes ``D`` devices on one
CPU, for correctness tests only; it gives no speed (the devices share the cores). What keeps
a sharded batched ``eigh`` from stalling there is above all one OpenBLAS thread, which
``import qsense`` sets (`qsense.blas`): JAX's CPU ``eigh`` calls LAPACK once per matrix, and
with OpenBLAS's default pool every device's calls wake worker threads that spin-wait on the
shared cores (`qsense.blas` measures 8.8 s vs 0.028 s for one loaded batched eigh). The tests
also add ``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``
(`FORCED_HOST_FLAGS`: each fake device runs its kernels on one thread instead of each starting
a full-width intra-op pool, which on 2 cores oversubscribes them; an earlier build was seen to
hang a sharded batched ``eigh`` with 2 devices and to slow it several times with 4) and run in
a subprocess with a timeout. With jax/jaxlib 0.10.2 no hang was seen, with or without the
flags, for 2 and 4 devices, and the 4-device test script took the same time either way
(293 s vs 296 s wall, 59 s CPU, on a loaded 2-core machine): the flags are a precaution, the
timeout the guard.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from qsense._checks import fail, is_int

log = logging.getLogger("qsense")

#: The mesh axis that carries the population (GA chromosomes, refinement restarts).
AXIS = "pop"

#: XLA flags for correctness tests on fake CPU devices (see the module docstring); append
#: ``--xla_force_host_platform_device_count=D``.
FORCED_HOST_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

_INITIALIZED = False
T = TypeVar("T")


def slurm_tasks(environ: dict[str, str] | None = None) -> int:
    """Tasks SLURM runs in this job step (1 outside SLURM)."""
    env = os.environ if environ is None else environ
    for name in ("SLURM_STEP_NUM_TASKS", "SLURM_NTASKS"):
        v = env.get(name)
        if v and v.isdigit():
            return int(v)
    return 1


def initialize(environ: dict[str, str] | None = None) -> bool:
    """Join the processes of a multi-task SLURM job step into one JAX runtime
    (`jax.distributed.initialize`, which reads the coordinator address, process count and id
    from SLURM's variables), then sets the processes' collectives up at once (one small
    `agree`), while the processes are together: gloo (CPU collectives) waits only 30 s for a
    missing process at the first collective. A no-op (returns False) outside SLURM, for a
    single task, or when already done; returns True when this call initialized. Call before
    any JAX computation."""
    global _INITIALIZED
    if _INITIALIZED or slurm_tasks(environ) <= 1:
        return False
    if jax.distributed.is_initialized():
        _INITIALIZED = True
        return False
    jax.distributed.initialize()
    _INITIALIZED = True
    # set up the processes' collectives now, while they are together: on CPUs (gloo) the
    # first collective waits at most 30 s for the other processes (a process that reached it
    # alone after a slow start or a side computation failed with DEADLINE_EXCEEDED), later
    # ones wait as long as it takes
    agree(lambda: None)
    log.info("jax.distributed: process %d of %d, %d devices", jax.process_index(),
             jax.process_count(), jax.device_count())
    return True


#: JAX's SLURM cluster puts the coordinator at port ``SLURM_JOB_ID % 4096 + SLURM_PORT_BASE``
SLURM_PORT_BASE = 61440


def local_task_envs(n_tasks: int, environ: dict[str, str] | None = None) -> list[dict[str, str]]:
    """The environments of ``n_tasks`` processes on this machine that `initialize` joins as
    the tasks of one SLURM job step, with the coordinator on localhost: ``environ`` (default
    ``os.environ``) without its ``SLURM_*`` variables, plus ``SLURM_JOB_ID`` (chosen so that
    the coordinator port JAX derives from it is free now), ``SLURM_STEP_NODELIST=localhost``,
    ``SLURM_NTASKS`` / ``SLURM_STEP_NUM_TASKS`` = ``n_tasks``, and ``SLURM_PROCID`` /
    ``SLURM_LOCALID`` = the task's index. For tests, benchmarks and trying a multi-host run
    without a cluster (each process gets this host's devices, or one CPU device)."""
    import socket

    if not is_int(n_tasks) or n_tasks < 2:
        fail("n_tasks", n_tasks, "an integer >= 2")
    env = {k: v for k, v in (os.environ if environ is None else environ).items()
           if not k.startswith("SLURM_")}
    start = (os.getpid() * 7919) % 4096  # concurrent callers start at different ports
    for i in range(4096):
        port = SLURM_PORT_BASE + (start + i) % 4096
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("", port))
            except OSError:
                continue
        job = port - SLURM_PORT_BASE + 4096 * 17  # any id with this remainder
        break
    else:
        raise RuntimeError(f"no free port in SLURM's coordinator range {SLURM_PORT_BASE}-65535")
    n = str(int(n_tasks))
    return [{**env, "SLURM_JOB_ID": str(job), "SLURM_STEP_NODELIST": "localhost",
             "SLURM_NTASKS": n, "SLURM_STEP_NUM_TASKS": n, "SLURM_PROCID": str(i),
             "SLURM_LOCALID": str(i)} for i in range(int(n_tasks))]


def multi_process() -> bool:
    """Whether this process is one of several joined by `jax.distributed` (False without
    starting a JAX backend when `jax.distributed` was never initialized)."""
    return bool(jax.distributed.is_initialized()) and jax.process_count() > 1


def process_index() -> int:
    """This process's index among those joined by `jax.distributed` (0 when it was never
    initialized, without starting a JAX backend). Work that needs no collectives and that one
    process can do for all (a side computation whose result is then shared with `agree`) runs
    where this is 0."""
    return int(jax.process_index()) if multi_process() else 0


def agree(read: Callable[[], T]) -> T:
    """``read()`` as process 0 computes it, returned on every process; an exception raised by
    process 0's ``read`` is raised on every process. One process: just ``read()``.

    For what decides the next computation and may differ between processes, above all a
    checkpoint read to resume (`qsense.genetic.search`, `experiments.checkpoint.Checkpoint`):
    every process must resume from the same point, or their collectives no longer match and
    the job hangs. Every process must call it at the same point of the program (it is a
    collective: `jax.experimental.multihost_utils.broadcast_one_to_all` of the pickled value).
    The value must pickle (numpy arrays, dicts, exceptions)."""
    if not multi_process():
        return read()
    from jax.experimental import multihost_utils

    if jax.process_index() == 0:
        try:
            message = ("value", read())
        except Exception as err:  # noqa: BLE001 - re-raised on every process below
            message = ("error", err)
        try:
            blob = pickle.dumps(message)
        except Exception as err:  # noqa: BLE001 - an exception that does not pickle
            blob = pickle.dumps(("error", RuntimeError(f"process 0: {message[1]!r} ({err})")))
        data = np.frombuffer(blob, np.uint8)
    else:
        data = np.zeros(0, np.uint8)
    size = int(multihost_utils.broadcast_one_to_all(np.asarray([data.size], np.int32))[0])
    if jax.process_index() != 0:
        data = np.zeros(size, np.uint8)
    data = np.asarray(multihost_utils.broadcast_one_to_all(data))
    kind, value = pickle.loads(data.tobytes())
    if kind == "error":
        raise value
    return value


def population_devices(devices: Sequence[Any] | None = None) -> tuple[Any, ...]:
    """The devices a population spreads over: ``devices``, or every device JAX sees
    (``jax.devices()``: all hosts' after `initialize`)."""
    devs = tuple(jax.devices() if devices is None else devices)
    if not devs:
        fail("devices", devices, "a non-empty list of jax devices (or None: all)")
    return devs


def host_memory_bytes() -> float:
    """This host's physical memory (bytes; 16 GB where the OS does not say)."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 16e9


def device_memory_limit(devices: Sequence[Any] | None = None,
                        limit_gb: float | None = None) -> float:
    """The memory one device may use (bytes): ``limit_gb`` when given; otherwise, for each
    device, an accelerator's own allocator limit (``device.memory_stats()["bytes_limit"]``)
    or, for a CPU device (or one that reports no limit), half this host's RAM
    (`host_memory_bytes`) shared by this host's CPU devices in
    ``devices`` (fake CPU devices share one memory); the smallest over ``devices`` (default:
    every device)."""
    if limit_gb is not None:
        if isinstance(limit_gb, bool) or not (isinstance(limit_gb, (int, float, np.floating,
                                                                    np.integer))
                                              and np.isfinite(limit_gb) and limit_gb > 0):
            fail("memory_limit_gb", limit_gb, "a size > 0 (GB) or None")
        return float(limit_gb) * 1e9
    devs = population_devices(devices)
    me = jax.process_index()
    local_cpus = sum(1 for d in devs if getattr(d, "platform", "cpu") == "cpu"
                     and getattr(d, "process_index", me) == me)
    host = 0.5 * host_memory_bytes()
    limits = []
    for d in devs:
        own = None
        if getattr(d, "platform", "cpu") != "cpu":
            try:
                own = (d.memory_stats() or {}).get("bytes_limit")
            except Exception:  # noqa: BLE001 - a backend without memory statistics
                own = None
        limits.append(float(own) if own else host / max(local_cpus, 1))
    return min(limits)


def population_sharding(devices: Sequence[Any] | None = None) -> NamedSharding:
    """`NamedSharding` splitting axis 0 over a 1-D mesh (axis `AXIS`) of ``devices``."""
    return NamedSharding(Mesh(np.asarray(population_devices(devices), dtype=object), (AXIS,)),
                         PartitionSpec(AXIS))


def padded_size(rows: int, n_devices: int) -> int:
    """``rows`` rounded up to a multiple of ``n_devices``."""
    return -(-int(rows) // int(n_devices)) * int(n_devices)


def pad_rows(tree: Any, size: int) -> Any:
    """Every leaf's axis 0 extended from ``P`` to ``size`` rows, row ``i`` a copy of row
    ``i mod P`` (numpy or jax arrays; works inside jit)."""
    def pad(a):
        p = a.shape[0]
        if size == p:
            return a
        idx = np.arange(size) % p
        return a[idx]

    return jax.tree_util.tree_map(pad, tree)


def shard_rows(tree: Any, sharding: NamedSharding) -> Any:
    """``tree``'s leaves placed on ``sharding`` (axis 0 split; it must divide evenly)."""
    return jax.tree_util.tree_map(lambda a: jax.device_put(a, sharding), tree)


def to_host(x: Any) -> np.ndarray:
    """A (possibly multi-host sharded) array as a numpy array on this host."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        from jax.experimental import multihost_utils
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def program_bytes(jitted: Callable, *args) -> float | None:
    """Bytes per device that XLA plans for ``jitted(*args)`` (temporaries, arguments and
    outputs, less what they alias), from the compiled program's own ``memory_analysis``;
    ``None`` where the backend gives none. Compiling here costs nothing extra: the call of
    ``jitted`` with the same arguments reuses the executable."""
    compiled = jitted.lower(*args).compile()
    try:
        ma = compiled.memory_analysis()
        total = (ma.temp_size_in_bytes + ma.argument_size_in_bytes + ma.output_size_in_bytes
                 - ma.alias_size_in_bytes)
    except (AttributeError, NotImplementedError, TypeError):  # no analysis on this backend
        return None
    return float(total)


def rows_that_fit(problem: Any, per_row_bytes: float, limit_bytes: float, what: str) -> int:
    """How many rows of ``per_row_bytes`` fit in ``limit_bytes`` (>= 1; a clear error naming
    N, ``problem.n_qubits``, when not even one does)."""
    rows = int(limit_bytes // per_row_bytes)
    if rows < 1:
        fail("n_qubits", problem.n_qubits,
             f"a size whose {what} fits in memory: one row needs about "
             f"{per_row_bytes / 1e9:.3g} GB > limit {limit_bytes / 1e9:.3g} GB per device; "
             "lower N or raise the limit (memory_limit_gb)")
    return rows


def log_chunks(what: str, rows: int, chunk: int, n_chunks: int, need_bytes: float | None,
               limit_bytes: float) -> None:
    """Say (INFO, logger ``qsense``) that ``what`` runs its ``rows`` in ``n_chunks`` chunks
    of ``chunk`` because all at once (``need_bytes`` per device: XLA's plan or an estimate)
    would not fit the per-device ``limit_bytes``: the values are the same, the run slower."""
    need = "" if need_bytes is None else f"{need_bytes / 1e9:.3g} GB at once > "
    log.info("%s: %d rows in %d chunks of %d (%slimit %.3g GB per device; memory_limit_gb "
             "sets it)", what, rows, n_chunks, chunk, need, limit_bytes / 1e9)


def in_chunks(fn: Callable, rows: int, chunk: int, tree):
    """``fn`` over the leading axis of ``tree`` (``rows`` rows) in chunks of ``chunk`` rows,
    the last padded to the same size (one compiled shape), outputs concatenated on axis 0."""
    if rows <= chunk:
        return fn(tree)
    outs = []
    for start in range(0, rows, chunk):
        part = jax.tree_util.tree_map(lambda a, s=start: a[s:s + chunk], tree)
        n = min(chunk, rows - start)
        out = fn(pad_rows(part, chunk) if n < chunk else part)
        outs.append(jax.tree_util.tree_map(lambda a, n=n: to_host(a)[:n], out))
    return jax.tree_util.tree_map(lambda *a: np.concatenate(a), *outs)


__all__ = ["AXIS", "FORCED_HOST_FLAGS", "agree", "device_memory_limit", "host_memory_bytes",
           "in_chunks", "initialize", "local_task_envs", "log_chunks", "multi_process",
           "pad_rows", "padded_size", "population_devices", "population_sharding",
           "process_index", "program_bytes", "rows_that_fit", "shard_rows", "slurm_tasks",
           "to_host"]
