"""Probe states. Big-endian qubit order: qubit 0 is the most significant bit of a basis index.

Dtypes: functions take ``dtype``; the default is complex128 when ``jax_enable_x64`` is on and
complex64 otherwise (JAX's own rule). The engine keeps whatever complex dtype it is given.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from qsense._checks import check_n_qubits, fail, is_concrete, n_qubits_of_dim


def default_complex():
    """complex128 under ``jax_enable_x64``, else complex64."""
    return jnp.result_type(complex)


def ghz_state(n: int, dtype=None) -> jax.Array:
    """``(|0...0> + |1...1>)/sqrt(2)`` on ``n`` qubits (H on qubit 0, then a CNOT chain)."""
    n = check_n_qubits(n, "n")
    dtype = dtype or default_complex()
    amp = jnp.asarray(1 / np.sqrt(2), dtype)
    return jnp.zeros(2**n, dtype).at[0].set(amp).at[-1].set(amp)


def basis_state(n: int, index: int = 0, dtype=None) -> jax.Array:
    """Computational basis state ``|index>`` on ``n`` qubits (big-endian)."""
    n = check_n_qubits(n, "n")
    if is_concrete(index):  # a traced integer index is the caller's (inside jit)
        if (isinstance(index, bool) or np.ndim(index) != 0
                or np.asarray(index).dtype.kind not in "iu"
                or not 0 <= int(index) < 2**n):
            fail("index", index, f"an integer in [0, {2**n - 1}]")
    return jnp.zeros(2**n, dtype or default_complex()).at[index].set(1)


def product_state(single: jax.Array, n: int) -> jax.Array:
    """``|s>^{(x) n}`` for a single-qubit state ``single`` (shape (2,), normalized; a concrete
    one is checked)."""
    n = check_n_qubits(n, "n")
    if np.shape(single) != (2,):
        fail("single.shape", np.shape(single), "(2,): a single-qubit state vector")
    validate_state(single, "single")
    single = jnp.asarray(single)
    out = single
    for _ in range(n - 1):  # construction only (not a hot path): n <= MAX_QUBITS
        out = jnp.kron(out, single)
    return out


def plus_state(n: int, dtype=None) -> jax.Array:
    """``|+>^{(x) n}``: the best product probe for the scalar field ``(B/2) sum Z``."""
    dtype = dtype or default_complex()
    return product_state(jnp.full(2, 1 / np.sqrt(2), dtype), n)


def density(state: jax.Array) -> jax.Array:
    """Density matrix of a state vector (2**n,) (outer product) or a density matrix
    (2**n, 2**n) (returned as is). The shape is checked, and a concrete vector must be
    normalized; a matrix's values are not checked (linear maps pass operators such as
    ``|0><1|`` through it, e.g. `qsense.teleport_channel`)."""
    shape = np.shape(state)
    if len(shape) == 1:
        validate_state(state, "state")
    elif len(shape) == 2 and shape[0] == shape[1]:
        n_qubits_of_dim(shape[0], "state")
    else:
        fail("state.shape", shape, "(2**n,) for a state vector or (2**n, 2**n) for a density "
             "matrix")
    return _density(state)


def _density(state) -> jax.Array:
    """`density` unchecked (for callers that have checked ``state``)."""
    state = jnp.asarray(state)
    if state.ndim == 1:
        return jnp.outer(state, jnp.conj(state))
    return state


def validate_state(state, name: str = "state", psd: bool = True) -> int:
    """Check a state vector (normalized) or density matrix (square, Hermitian, unit trace,
    PSD to 1e-8; ``psd=False`` skips the eigenvalue check). Returns the qubit count. Only
    concrete inputs are value-checked."""
    shape = np.shape(state)
    if len(shape) == 1:
        n = n_qubits_of_dim(shape[0], name)
    elif len(shape) == 2 and shape[0] == shape[1]:
        n = n_qubits_of_dim(shape[0], name)
    else:
        fail(f"{name}.shape", shape, "(2**n,) for a state vector or (2**n, 2**n) for a density "
             "matrix")
    if not is_concrete(state):
        return n
    a = np.asarray(state)
    if a.dtype.kind not in "iufc":  # strings, objects and bools are no amplitudes
        fail(f"{name}.dtype", a.dtype, "a numeric (complex or real) array")
    tol = 1e-5 if a.dtype in (np.complex64, np.float32) else 1e-8
    if not np.all(np.isfinite(a)):
        fail(name, "non-finite entries", "finite amplitudes")
    if a.ndim == 1:
        norm = float(np.vdot(a, a).real)
        if abs(norm - 1) > tol:
            fail(f"{name} norm^2", round(norm, 12), f"1 within {tol:g} (normalize the state)")
    else:
        herm = float(np.max(np.abs(a - a.conj().T)))
        if herm > tol:
            fail(f"{name} Hermiticity |rho - rho^H|_max", herm, f"<= {tol:g}")
        tr = complex(np.trace(a))
        if abs(tr - 1) > tol:
            fail(f"{name} trace", tr, f"1 within {tol:g}")
        if not psd:
            return n
        lam_min = float(np.linalg.eigvalsh((a + a.conj().T) / 2).min())
        if lam_min < -max(tol, 1e-8):
            fail(f"{name} smallest eigenvalue", lam_min, "a positive semidefinite matrix")
    return n
