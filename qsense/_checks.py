"""Input validation shared by the public API: clear ``ValueError``s, never a silent NaN.

Checks run on concrete (non-traced) values only, so that validated functions stay usable
inside ``jax.jit`` / ``jax.vmap``; under tracing the caller's outer (concrete) call has
already been checked.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
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


def as_array_if_traced(x: Any, name: str, accepted: str) -> Any:
    """A list or tuple holding JAX tracers (``(a, 0.0, b)`` inside ``jax.jit`` / ``jax.grad``)
    as one JAX array: ``np.shape`` / ``np.ndim`` / ``np.asarray`` of such a sequence call
    ``__array__`` on the tracers (a TracerArrayConversionError), so the shape checks must see
    an array. Anything else is returned as given (plain numbers keep the cheap numpy path)."""
    if isinstance(x, (list, tuple)) and not is_concrete(x):
        try:
            return jnp.asarray(x)
        except (TypeError, ValueError):
            fail(name, f"<a sequence of traced values: {_shapes_of(x)}>", accepted)
    return x


def _shapes_of(x: Any) -> list:
    return [_shapes_of(v) if isinstance(v, (list, tuple)) else tuple(np.shape(v)) for v in x]


def check_not_traced(function: str, **values: Any) -> None:
    """Host drivers (Python loops over jitted steps, numpy on the results) cannot run inside
    ``jax.jit`` / ``jax.vmap`` / ``jax.grad``: say so by name instead of the obscure
    TracerBoolConversionError of their first host-side test."""
    for name, x in values.items():
        if not is_concrete(x):
            fail(name, "<holds JAX tracers>", f"concrete values: {function} runs on the host "
                 "(Python control flow and numpy; it jits its own inner steps) and cannot run "
                 "under jax.jit, jax.vmap or jax.grad; call it eagerly")


def is_int(x: Any) -> bool:
    """A Python or numpy integer, not a bool (not 2.5, "30" or True): what a count may be."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def is_real(x: Any) -> bool:
    """A Python or numpy real number, not a bool, a string or a complex (finiteness is the
    caller's)."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def check_count(name: str, k, accepted: str = "an integer >= 1") -> int:
    """A count ``k`` as an int >= 1: a Python int or a concrete integer scalar of numpy or
    JAX (``jnp.int32(6)``); a float (2.5), a bool or an array is refused, naming ``name``."""
    if isinstance(k, bool):
        fail(name, k, accepted)
    if isinstance(k, (int, np.integer)):
        v = int(k)
    elif (hasattr(k, "dtype") and hasattr(k, "ndim") and is_concrete(k) and k.ndim == 0
          and np.dtype(k.dtype).kind in "iu"):
        v = int(k)
    else:
        fail(name, k, accepted)
    if v < 1:
        fail(name, k, accepted)
    return v


def check_n_qubits(n: Any, name: str = "n_qubits") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        fail(name, n, f"an integer in [1, {MAX_QUBITS}]")
    if not 1 <= int(n) <= MAX_QUBITS:
        fail(name, n, f"an integer in [1, {MAX_QUBITS}] (dense engine limit)")
    return int(n)


def real_array(name: str, x: Any, accepted: str) -> np.ndarray:
    """``x`` as a numpy array of real numbers, or a ValueError naming ``name`` (a string, a
    complex number or an object is refused here, not by a numpy ufunc error later)."""
    try:
        a = np.asarray(x)
    except (TypeError, ValueError):
        fail(name, x, accepted)
    if a.dtype.kind not in "iuf":
        fail(name, x, accepted)
    return a


def _plain_real(x: Any) -> float | None:
    """``x`` as a float when it is a plain real scalar (Python, numpy scalar or 0-d numpy
    array): the cheap path of the checks below (eager entry points run them per call)."""
    if is_real(x):
        return float(x)
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
        return float(x)
    return None


def check_nonneg(name: str, x: Any) -> None:
    v = _plain_real(x)
    if v is not None:
        if not (math.isfinite(v) and v >= 0):
            fail(name, x, "a finite value >= 0")
        return
    if is_concrete(x):
        a = real_array(name, x, "a finite real number >= 0")
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            fail(name, x, "a finite value >= 0")


def check_finite(name: str, x: Any) -> None:
    """Concrete ``x`` must be real and finite (a field value, a parameter point)."""
    v = _plain_real(x)
    if v is not None:
        if not math.isfinite(v):
            fail(name, x, "finite real values")
        return
    if is_concrete(x):
        a = real_array(name, x, "finite real values")
        if not np.all(np.isfinite(a)):
            fail(name, x, "finite real values")


def check_noise(noise: Any) -> str:
    if noise not in NOISE_MODELS:
        fail("noise", noise, f"one of {list(NOISE_MODELS)}")
    return noise


def n_qubits_of_dim(dim: int, name: str) -> int:
    n = int(dim).bit_length() - 1
    if dim < 2 or 1 << n != dim:
        fail(f"{name}.shape", dim, "a dimension 2**n with n >= 1")
    return check_n_qubits(n, f"{name} qubit count")
