"""Single-qubit sensing generators and noise channels (DESIGN section 3).

Field coupling (gyromagnetic factor absorbed): ``H_1 = (Bx X + By Y + Bz Z) / 2`` per qubit
(a scalar field B means ``(0, 0, B)``). Noise: one Lindblad operator per qubit, rate ``gamma``
(inverse time units, the same units as ``t`` and ``1/B``):

* ``dephasing``  ``L = sqrt(gamma/2) Z``   (coherence decays as ``exp(-gamma t)``)
* ``bitflip``    ``L = sqrt(gamma/2) X``
* ``amplitude_damping``  ``L = sqrt(gamma) sigma_-``, ``sigma_- = |0><1|`` (``|1>`` decays)
* ``none``

Vectorization is row-major: ``vec(rho)[2 i + j] = rho[i, j]``, so
``vec(A rho B) = (A kron B^T) vec(rho)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from qsense._checks import (
    as_array_if_traced,
    check_finite,
    check_noise,
    check_nonneg,
    fail,
    is_concrete,
)
from qsense.gates import PAULI_X, PAULI_Y, PAULI_Z, SIGMA_MINUS

_I2 = np.eye(2, dtype=np.complex128)


_UNIT_JUMPS = {  # L = sqrt(gamma) * A
    "dephasing": PAULI_Z / np.sqrt(2),
    "bitflip": PAULI_X / np.sqrt(2),
    "amplitude_damping": SIGMA_MINUS,
    "none": np.zeros((2, 2), np.complex128),
}


def jump_operator(noise: str, gamma, dtype=jnp.complex128) -> jax.Array:
    """The Lindblad operator ``L = sqrt(gamma) A`` of one qubit for ``noise`` at ``gamma``."""
    check_noise(noise)
    check_nonneg("gamma", gamma)
    return (jnp.sqrt(gamma) * jnp.asarray(_UNIT_JUMPS[noise], dtype)).astype(dtype)


def dissipator_1q(noise: str, dtype=jnp.complex128) -> jax.Array:
    """4x4 unit-rate dissipator ``D[A]`` (row-major vec); the generator term is ``gamma D[A]``,
    linear in gamma so that derivatives at gamma = 0 are finite (sqrt(gamma) is not)."""
    check_noise(noise)
    a = jnp.asarray(_UNIT_JUMPS[noise], dtype)
    eye = jnp.asarray(_I2, dtype)
    ada = a.conj().T @ a
    return jnp.kron(a, a.conj()) - 0.5 * jnp.kron(ada, eye) - 0.5 * jnp.kron(eye, ada.T)


def field_hamiltonian(field3, dtype=jnp.complex128) -> jax.Array:
    """``(Bx X + By Y + Bz Z) / 2`` for ``field3 = (Bx, By, Bz)``."""
    paulis = jnp.asarray(np.stack([PAULI_X, PAULI_Y, PAULI_Z]), dtype)
    return 0.5 * jnp.einsum("k,kij->ij", jnp.asarray(field3).astype(dtype), paulis)


def _check_field3(field3) -> None:
    """``field3``: (Bx, By, Bz), shape (3,) (a scalar B is ``(0, 0, B)``), finite."""
    if np.shape(field3) != (3,):
        fail("field3.shape", np.shape(field3), "(3,): (Bx, By, Bz) (a scalar field B is "
             "(0, 0, B))")
    if is_concrete(field3):
        check_finite("field3", np.asarray(field3).tolist())


def liouvillian_1q(field3, noise: str, gamma, dtype=jnp.complex128) -> jax.Array:
    """4x4 generator ``Lv`` with ``d vec(rho)/dt = Lv vec(rho)`` (row-major vec).
    ``field3`` (3,) finite; ``gamma`` >= 0 (ignored for ``noise="none"``)."""
    field3 = as_array_if_traced(field3, "field3", "(3,): (Bx, By, Bz)")
    _check_field3(field3)
    check_nonneg("gamma", gamma)
    return generator_1q(field3, gamma * dissipator_1q(noise, dtype), dtype)


def generator_1q(field3, rate_dissipator, dtype=jnp.complex128) -> jax.Array:
    """``-i[H, .] + gamma D``, with the noise given as the 4x4 array ``gamma D`` (so one
    compiled program can serve every noise model: pass ``gamma * dissipator_1q(noise)``)."""
    h = field_hamiltonian(field3, dtype)
    eye = jnp.asarray(_I2, dtype)
    return -1j * (jnp.kron(h, eye) - jnp.kron(eye, h.T)) + jnp.asarray(rate_dissipator, dtype)


_TAYLOR_ORDER = 16
_MAX_SQUARINGS = 64


def _small_matmul(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a @ b`` for small matrices as one broadcast product and sum: XLA fuses it into a
    single elementwise pass, where a batched 4x4 ``dot`` is a library call whose fixed cost
    dominates (measured ~40 us per call on a population of 256 rows, 9 such calls per squaring
    in a gradient of a field tangent)."""
    return jnp.sum(a[..., :, :, None] * b[..., None, :, :], axis=-2)


@jax.jit  # its squaring scan: compiled once per shape when called eagerly (qsense.pqc)
def expm_small(a: jax.Array) -> jax.Array:
    """``exp(a)`` of a small matrix by scaling and squaring with a Taylor series.

    ``a / 2^s`` has 1-norm <= 1/2, where Taylor order 16 leaves ~1e-19 relative error; then s
    squarings (a fixed-length scan with a mask, so it vmaps over t and differentiates).
    Used instead of ``jax.scipy.linalg.expm``, whose Pade selection lost 7 digits on this
    4x4 generator at t ~ 10 (measured: 6.5e-9 vs scipy; this: 3e-14).
    """
    norm = jnp.max(jnp.sum(jnp.abs(a), axis=0))
    s = jax.lax.stop_gradient(
        jnp.clip(jnp.ceil(jnp.log2(jnp.maximum(norm, 1e-300))) + 1, 0, _MAX_SQUARINGS))
    x = a / (2.0**s).astype(a.real.dtype)
    eye = jnp.eye(a.shape[0], dtype=a.dtype)
    term, out = eye, eye
    for k in range(1, _TAYLOR_ORDER + 1):  # static polynomial degree, not a data loop
        term = _small_matmul(term, x) / k
        out = out + term

    def square(m, i):
        return jnp.where(i < s, _small_matmul(m, m), m), None

    out, _ = jax.lax.scan(square, out, jnp.arange(_MAX_SQUARINGS))
    return out


def superoperator_1q(field3, t, noise: str, gamma, dtype=jnp.complex128) -> jax.Array:
    """``exp(t Lv)``: the exact one-qubit sensing map (field and noise together) for time t
    (``t`` >= 0; ``field3``, ``gamma`` as `liouvillian_1q`)."""
    check_nonneg("t", t)
    return expm_small(t * liouvillian_1q(field3, noise, gamma, dtype))


def kraus_operators(noise: str, gamma, t) -> np.ndarray:
    """Kraus operators (k, 2, 2) of the pure-noise channel ``exp(t D)`` (no field), numpy.

    dephasing / bitflip: ``p = (1 - exp(-gamma t)) / 2``, ``{sqrt(1-p) I, sqrt(p) P}``;
    amplitude damping: ``eta = 1 - exp(-gamma t)``, ``{diag(1, sqrt(1-eta)), sqrt(eta) |0><1|}``;
    none: ``{I}``. ``gamma``, ``t``: finite scalars >= 0.
    """
    check_noise(noise)
    check_nonneg("gamma", gamma)
    check_nonneg("t", t)
    decay = float(np.exp(-float(gamma) * float(t)))
    if noise in ("dephasing", "bitflip"):
        p = (1 - decay) / 2
        pauli = PAULI_Z if noise == "dephasing" else PAULI_X
        return np.stack([np.sqrt(1 - p) * _I2, np.sqrt(p) * pauli])
    if noise == "amplitude_damping":
        eta = 1 - decay
        return np.stack([np.diag([1.0, np.sqrt(1 - eta)]).astype(complex),
                         np.sqrt(eta) * SIGMA_MINUS])
    return _I2[None]
