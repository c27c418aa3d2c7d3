"""Hermitian eigendecomposition backends for the QFI (its one unavoidable dense step).

* ``"jax"`` (default): ``jnp.linalg.eigh``. On GPU this is cuSOLVER's batched solver; on CPU
  XLA runs the batch on one core.
* ``"lapack"``: a host callback to LAPACK's divide-and-conquer ``?heevd`` (scipy,
  ``driver="evd"``) that splits the batch over a thread pool (LAPACK releases the GIL), so a
  population uses every CPU core. CPU only: on an accelerator it would copy every matrix to the
  host. Differentiation never goes through it (the QFIM has its own derivative rule).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import jax
import jax.numpy as jnp
import numpy as np

from qsense._checks import fail

BACKENDS = ("jax", "lapack")
_POOL: ThreadPoolExecutor | None = None


def _threads() -> int:
    return max(1, int(os.environ.get("QSENSE_EIGH_THREADS", os.cpu_count() or 1)))


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(_threads(), thread_name_prefix="qsense-eigh")
    return _POOL


def _lapack_batch(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import scipy.linalg as sla

    a = np.asarray(a)
    d = a.shape[-1]
    flat = a.reshape(-1, d, d)
    lam = np.empty(flat.shape[:2], np.finfo(flat.dtype).dtype)
    vec = np.empty_like(flat)

    def work(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            lam[i], vec[i] = sla.eigh(flat[i], driver="evd", check_finite=False)

    bounds = np.linspace(0, len(flat), min(_threads(), len(flat)) + 1).astype(int)
    futures = [_pool().submit(work, lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:],
                                                              strict=True) if hi > lo]
    for f in futures:
        f.result()
    return lam.reshape(a.shape[:-1]), vec.reshape(a.shape)


def eigh(a: jax.Array, backend: str = "jax") -> tuple[jax.Array, jax.Array]:
    """Eigenvalues (ascending) and eigenvectors (columns) of Hermitian ``a`` (..., d, d)."""
    if backend == "jax":
        return jnp.linalg.eigh(a)
    if backend != "lapack":
        fail("eigh", backend, f"one of {list(BACKENDS)}")
    real = jnp.finfo(a.dtype).dtype
    out = (jax.ShapeDtypeStruct(a.shape[:-1], real), jax.ShapeDtypeStruct(a.shape, a.dtype))
    return jax.pure_callback(_lapack_batch, out, a, vmap_method="expand_dims")
