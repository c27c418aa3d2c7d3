"""Teleporting the qubits of an N-qubit probe over Werner pairs.

Two implementations that must agree (tests check them to 1e-10):

* :func:`teleport_circuit` — the protocol itself on density matrices (small N): qubit ``k`` of
  the probe and half ``a`` of a Werner pair ``W(F_k)`` on ``(a, b)`` undergo a Bell measurement;
  the outcome ``(m_z, m_x)`` is sent classically and ``b`` is corrected by ``X^{m_x} Z^{m_z}``
  (``I, X, Z, ZX`` for ``Phi+, Psi+, Phi-, Psi-``); the average over the four outcomes is kept
  and ``b`` takes the place of qubit ``k``. Cost O(4^(N+2)) per qubit.
* :func:`teleport_channel` — the equivalent channel for any N: teleporting over ``W(F)`` is
  the depolarizing channel ``rho -> w rho + (1 - w) Tr(rho) I/2`` on that qubit with
  ``w = (4F - 1)/3`` (Bennett et al., PRA 54, 3824 (1996); Horodecki et al., PRA 60, 1888
  (1999); DESIGN section 3), applied per qubit as a 4x4 superoperator along one axis of the
  reshaped density matrix (no 4^N x 4^N matrix), O(N 4^N).

The Werner pair is ``F |Phi+><Phi+| + (1-F)/3 (I - |Phi+><Phi+|)``; F = 1 teleports perfectly,
F = 1/4 (w = 0) replaces the qubit by I/2. Fidelities must lie in [1/4, 1].
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from qsense._checks import fail, is_concrete, n_qubits_of_dim
from qsense.links import check_fidelity, werner_parameter, werner_state
from qsense.sensing import apply_qubit_superoperators
from qsense.states import density

_S = 1 / np.sqrt(2)
#: Bell states on (k, a) as 2x2 coefficient matrices, with the Pauli correction on b.
_BELL = np.array([
    [[_S, 0], [0, _S]],    # Phi+
    [[0, _S], [_S, 0]],    # Psi+
    [[_S, 0], [0, -_S]],   # Phi-
    [[0, _S], [-_S, 0]],   # Psi-
])
_X = np.array([[0, 1], [1, 0]])
_Z = np.diag([1, -1])
_CORR = np.array([np.eye(2), _X, _Z, _Z @ _X])


def _as_density(state) -> tuple[jax.Array, int]:
    # a concrete state as given: `density` names a string or an object (jnp.asarray raised
    # JAX's TypeError); a traced one (a list of tracers too) as one array
    rho = density(state if is_concrete(state) else jnp.asarray(state))
    if not jnp.iscomplexobj(rho):
        rho = rho.astype(jnp.result_type(complex))
    return rho, n_qubits_of_dim(rho.shape[0], "state")


def _fidelities(fidelities, n: int, name: str = "fidelities") -> jax.Array:
    check_fidelity(name, fidelities)
    f = jnp.asarray(fidelities)
    if f.ndim == 0:
        return jnp.full((n,), f)
    if f.shape != (n,):
        fail(f"{name}.shape", f.shape, f"() or ({n},): one Werner fidelity per qubit")
    return f


# ----------------------------------------------------------------------------- the channel


def depolarizing_superoperator(w, dtype=None) -> jax.Array:
    """4x4 row-major superoperator of ``rho -> w rho + (1-w) Tr(rho) I/2``."""
    dtype = dtype or jnp.result_type(complex)
    w = jnp.asarray(w).astype(dtype)
    vec_i = jnp.array([1, 0, 0, 1], dtype)
    return w * jnp.eye(4, dtype=dtype) + (1 - w) * 0.5 * jnp.outer(vec_i, vec_i)


def apply_superoperators(rho: jax.Array, sops: jax.Array, n: int) -> jax.Array:
    """Apply ``sops[i]`` (4x4, row-major vec) to qubit ``i`` of ``rho``, for every qubit
    (the engine's `qsense.sensing.apply_qubit_superoperators`)."""
    return apply_qubit_superoperators(rho, sops, n)


def teleport_channel(state, fidelities) -> jax.Array:
    """Density matrix after teleporting every qubit ``i`` over a Werner pair ``fidelities[i]``.

    ``fidelities``: scalar (all qubits) or shape (N,); a fidelity of 1 leaves a qubit alone
    (use it for qubits that stay home). Differentiable in the state and the fidelities.
    """
    rho, n = _as_density(state)
    f = _fidelities(fidelities, n)
    w = werner_parameter(f).astype(jnp.finfo(rho.dtype).dtype)
    sops = jax.vmap(lambda x: depolarizing_superoperator(x, rho.dtype))(w)
    return apply_superoperators(rho, sops, n)


def average_teleportation_fidelity(fidelity):
    """Mean fidelity of a teleported pure qubit over the Bloch sphere: ``(2F + 1)/3``."""
    check_fidelity("fidelity", fidelity)
    return (2 * jnp.asarray(fidelity) + 1) / 3


# ----------------------------------------------------------------------------- the circuit


def _apply(t: jax.Array, op: jax.Array, qubits: tuple[int, ...], n: int) -> jax.Array:
    """``op t op^dagger`` for ``op`` acting on ``qubits`` of an n-qubit density tensor
    (shape ``(2,) * 2n``, row indices then column indices)."""
    q = len(qubits)
    op = op.reshape((2,) * (2 * q))
    t = jnp.tensordot(op, t, axes=(list(range(q, 2 * q)), list(qubits)))
    t = jnp.moveaxis(t, list(range(q)), list(qubits))
    cols = [n + x for x in qubits]
    t = jnp.tensordot(t, jnp.conj(op), axes=(cols, list(range(q, 2 * q))))
    return jnp.moveaxis(t, list(range(2 * n - q, 2 * n)), cols)


def _teleport_one(rho: jax.Array, n: int, k: int, fidelity) -> jax.Array:
    """Full protocol for qubit ``k`` on the (n + 2)-qubit register (probe, a, b): Bell
    projection on (k, a), Pauli correction on b, sum over the four outcomes (each weighted by
    its probability, i.e. the unnormalized branches add), partial trace over (k, a), and b
    moved into slot k."""
    dtype = rho.dtype
    tot = n + 2
    a, b = n, n + 1
    reg = jnp.kron(rho, werner_state(fidelity, dtype)).reshape((2,) * (2 * tot))
    acc = jnp.zeros_like(reg)
    for bell, corr in zip(_BELL, _CORR, strict=True):  # the four measurement outcomes
        vec = jnp.asarray(bell, dtype).reshape(4)
        branch = _apply(reg, jnp.outer(vec, jnp.conj(vec)), (k, a), tot)
        acc = acc + _apply(branch, jnp.asarray(corr, dtype), (b,), tot)
    # partial trace over k and a (b's axis shifts down by the two traced qubits before it)
    acc = jnp.trace(acc, axis1=a, axis2=tot + a)
    acc = jnp.trace(acc, axis1=k, axis2=tot - 1 + k)
    m = n  # remaining: probe qubits without k (n - 1) and b (last)
    acc = jnp.moveaxis(acc, [m - 1, 2 * m - 1], [k, m + k])
    return acc.reshape(rho.shape)


def teleport_circuit(state, fidelities) -> jax.Array:
    """The teleportation protocol on every qubit, qubit by qubit (small N; O(4^(N+2)) each).

    Same contract as :func:`teleport_channel`; a reference for it, not a hot path.
    """
    rho, n = _as_density(state)
    f = _fidelities(fidelities, n)
    if n > 8:
        fail("state qubit count", n, "at most 8 for the explicit circuit (use teleport_channel)")
    for k in range(n):  # explicit protocol, one teleportation after the other
        rho = _teleport_one(rho, n, k, f[k])
    return rho
