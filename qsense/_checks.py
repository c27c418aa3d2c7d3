"""Input validation shared by the public API: clear ``ValueError``s, never a silent NaN.

Checks run on concrete (non-traced) values only, so that validated functions stay usable
inside ``jax.jit`` / ``jax.vmap``; under tracing the caller's outer (concrete) call has
already been checked.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

#: Largest register the dense engine accepts (a 2^12 x 2^12 complex128 density matrix is
#: 256 MiB; its eigendecomposition dominates). Beyond this, shard or reduce N.
MAX_QUBITS = 12

NOISE_MODELS = ("none", "dephasing", "bitflip", "amplitude_damping")


def is_concrete(*xs: Any) -> bool:
    """True when no argument is a JAX tracer (we are not inside jit/vmap/grad)."""
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(xs))


def fail(name: str, value: Any, accepted: str) -> None:
    raise ValueError(f"{name} = {value!r} is invalid; accepted: {accepted}")


def check_n_qubits(n: Any, name: str = "n_qubits") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        fail(name, n, f"an integer in [1, {MAX_QUBITS}]")
    if not 1 <= int(n) <= MAX_QUBITS:
        fail(name, n, f"an integer in [1, {MAX_QUBITS}] (dense engine limit)")
    return int(n)


def check_nonneg(name: str, x: Any) -> None:
    if is_concrete(x):
        a = np.asarray(x)
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            fail(name, x, "a finite value >= 0")


def check_noise(noise: Any) -> str:
    if noise not in NOISE_MODELS:
        fail("noise", noise, f"one of {list(NOISE_MODELS)}")
    return noise


def n_qubits_of_dim(dim: int, name: str) -> int:
    n = int(dim).bit_length() - 1
    if dim < 2 or 1 << n != dim:
        fail(f"{name}.shape", dim, "a dimension 2**n with n >= 1")
    return check_n_qubits(n, f"{name} qubit count")
