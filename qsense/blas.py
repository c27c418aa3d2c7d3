"""BLAS/LAPACK thread control for the CPU engine.

On CPU, JAX's ``jnp.linalg.eigh`` (and ``inv``, ``solve`` ...) calls LAPACK once per matrix of a
batch, through the OpenBLAS that ships with the numpy/scipy wheels. For the small matrices of
this engine (2^N x 2^N, N <= 8 or so) OpenBLAS's own worker threads only add synchronisation:
from d = 32 on, ``zheevd`` hands level-3 BLAS calls to them, and when the cores are already
busy (XLA's own threads, a second test worker, a sweep's other jobs) those threads spin-wait.
Measured on the 2-core CI-class machine, a batched ``eigh`` of 144 complex 32 x 32 matrices:
8.8 s with OpenBLAS's default threads under load versus 0.028 s with one thread (the QFI of an
N = 5 population pays exactly this), 0.4 s versus 0.03 s for the same call on a quiet machine
(``benchmarks/blas_threads.py``). Parallelism belongs to the batch (vmap, devices, processes), not
to each 32 x 32 factorization.

Importing :mod:`qsense` therefore sets OpenBLAS to one thread, unless the user has chosen a
count by setting ``OPENBLAS_NUM_THREADS`` (that choice is respected). Call
:func:`set_blas_threads` to change it at run time (e.g. for large dense matrices on a many-core
CPU). GPUs are unaffected (cuSOLVER).

**XLA's CPU thread pool: one thread more than the cores.** jaxlib's CPU ``eigh`` splits a
batch over XLA's intra-op pool and *blocks its calling thread* until the chunks are done. A
standalone ``jnp.linalg.eigh`` is called from the Python thread, so every pool thread works on
it; inside a bigger program (every QFI: the eigh follows the probe and the sensing) it starts on
a pool thread, which then only waits, so a C-core pool factorizes on C - 1 threads (on 2 cores:
one). Importing :mod:`qsense` therefore sizes the pool to cores + 1 (``PJRT_NPROC``, which
XLA's CPU client reads when JAX creates it), unless ``PJRT_NPROC`` or ``NPROC`` is set (that
choice is respected) or JAX's CPU backend already exists (then nothing changes in this
process). Measured on 2 vCPUs (``benchmarks/RESULTS.md``): ``make_fitness`` of 256 N = 5
circuits 1.29x faster, N = 8 1.31x, one GA generation 1.05-1.25x. The price: a program that
runs two *independent* batched eighs at once now runs them side by side on 3 threads over 2
cores, measured 1.3x slower than on 2 threads (on 2 threads it could hang instead, see the
README's "Two batched eighs in one program").
"""

from __future__ import annotations

import ctypes
import os

from qsense._checks import fail

ENV_VAR = "OPENBLAS_NUM_THREADS"
#: read by XLA's CPU client (``DefaultThreadPoolSize``) when JAX creates it; NPROC is its fallback
XLA_POOL_VARS = ("PJRT_NPROC", "NPROC")

#: exported thread setters of OpenBLAS builds (scipy-openblas 32/64-bit ints, plain OpenBLAS)
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads")


def loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS shared libraries loaded in this process (Linux; [] elsewhere)."""
    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower()}
    except OSError:
        return []
    return sorted(p for p in paths if p.startswith("/") and ".so" in os.path.basename(p))


def _call(path: str, names: tuple[str, ...], *args):
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    for name in names:
        fn = getattr(lib, name, None)
        if fn is not None:
            return fn(*args)
    return None


def blas_threads() -> dict[str, int]:
    """``{library path: thread count}`` of every loaded OpenBLAS that reports it."""
    out = {}
    for path in loaded_openblas():
        n = _call(path, _GETTERS)
        if n is not None:
            out[path] = int(n)
    return out


def set_blas_threads(n: int) -> list[str]:
    """Use ``n`` OpenBLAS threads from now on: sets ``OPENBLAS_NUM_THREADS`` (for libraries
    loaded later) and calls the thread setter of every OpenBLAS already loaded. Returns the
    paths of the libraries changed. An OpenBLAS loaded while the count was 1 (any loaded after
    ``import qsense``) has a one-thread pool and stays at 1; set ``OPENBLAS_NUM_THREADS``
    before Python starts to give every library more threads."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        fail("n", n, "an integer >= 1 (OpenBLAS threads)")
    os.environ[ENV_VAR] = str(n)
    changed = []
    for path in loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _SETTERS:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                changed.append(path)
                break
    return changed


def default_blas_threads() -> None:
    """One OpenBLAS thread unless ``OPENBLAS_NUM_THREADS`` is set (called by ``import qsense``)."""
    if os.environ.get(ENV_VAR, "").strip():
        return
    set_blas_threads(1)


def cpu_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def xla_pool_threads() -> int:
    """Threads of XLA's CPU intra-op pool in a process started now, as jaxlib sizes it:
    ``max(DefaultThreadPoolSize(), CPU devices)``, where ``DefaultThreadPoolSize`` is the
    first of ``PJRT_NPROC``, ``NPROC`` that parses as an integer (``max(0, n)``: a 0 or a
    negative value stops the search too), else the cores; and the CPU devices are at least
    one, more with ``--xla_force_host_platform_device_count`` or ``jax_num_cpu_devices`` (the
    client needs a thread per device for a collective). After ``import qsense`` this is
    cores + 1 unless the user set one of them. The pool size sets how reductions and
    batched LAPACK calls are split, so it is recorded beside results (the values agree to
    rounding across sizes; a search's path through them may not). Measured by the threads
    XLA starts in tests/qsense/test_blas.py (4 forced devices on 2 cores: 4 threads, where
    this said 3; ``PJRT_NPROC=0``: 1, where it said the cores)."""
    size = None
    for var in XLA_POOL_VARS:
        n = _simple_atoi(os.environ.get(var))
        if n is not None:
            size = max(0, n)
            break
    return max(cpu_cores() if size is None else size, cpu_device_count())


def _simple_atoi(raw: str | None) -> int | None:
    """``raw`` as absl's ``SimpleAtoi`` reads it into an int32 (what jaxlib uses for the pool
    variables): optional whitespace around an optional sign and decimal digits; else None."""
    if raw is None:
        return None
    text = raw.strip(" \t\n\v\f\r")
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    n = int(text)
    return n if -2**31 <= n < 2**31 else None


def cpu_device_count() -> int:
    """CPU devices this process's XLA CPU client has (JAX started: it says) or will have:
    ``jax_num_cpu_devices`` when set, else ``--xla_force_host_platform_device_count`` in
    ``XLA_FLAGS``, else 1."""
    import re
    import sys

    jax = sys.modules.get("jax")
    if jax is not None and jax_backends_started():
        try:
            return max(1, len(jax.local_devices(backend="cpu")))
        except Exception:  # noqa: BLE001 - no CPU backend in this process
            return 1
    try:
        n = int(jax.config.jax_num_cpu_devices) if jax is not None else -1
    except Exception:  # noqa: BLE001 - an older JAX without the option
        n = -1
    if n >= 0:
        return max(1, n)
    found = re.findall(r"--xla_force_host_platform_device_count=(\d+)",
                       os.environ.get("XLA_FLAGS", ""))
    return max(1, int(found[-1])) if found else 1


def jax_backends_started() -> bool:
    """Whether this process has already created its JAX backends (the XLA CPU pool exists,
    with the size it was given then). False when JAX is not imported yet."""
    import sys

    bridge = sys.modules.get("jax._src.xla_bridge")
    started = getattr(bridge, "backends_are_initialized", None)
    try:
        return bool(started()) if started is not None else False
    except Exception:  # a private helper of JAX's: if it changes, assume not started
        return False


def default_xla_pool() -> int | None:
    """Size XLA's CPU pool to cores + 1 unless ``PJRT_NPROC``/``NPROC`` is set (called by
    ``import qsense``; see the module doc). Returns the size set, or None when left alone.

    Left alone too when JAX's backends already exist (JAX was used before ``import qsense``):
    the pool then keeps JAX's default size, and `xla_pool_threads` reports that size rather
    than one no thread pool has. Import qsense before the first JAX computation to get the
    larger pool (the benchmarks' `select_device` does)."""
    if any(os.environ.get(v, "").strip() for v in XLA_POOL_VARS):
        return None
    if jax_backends_started():
        return None
    n = cpu_cores() + 1
    os.environ[XLA_POOL_VARS[0]] = str(n)
    return n
