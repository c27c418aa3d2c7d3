"""Single-qubit rotation matrices (DESIGN section 3): ``R_P(a) = exp(-i a P / 2)``.

``CRx(a)`` applies ``Rx(a)`` to the target when the control is ``|1>``; its 2x2 block is
``rx(a)`` and the control mask lives in `qsense.pqc`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from qsense.genome import CRX, IDENTITY, RX, RY, RZ


def rx(a, dtype=jnp.complex128) -> jax.Array:
    c, s = jnp.cos(a / 2), jnp.sin(a / 2)
    return jnp.array([[c, -1j * s], [-1j * s, c]], dtype)


def ry(a, dtype=jnp.complex128) -> jax.Array:
    c, s = jnp.cos(a / 2), jnp.sin(a / 2)
    return jnp.array([[c, -s], [s, c]], dtype)


def rz(a, dtype=jnp.complex128) -> jax.Array:
    e = jnp.exp(-0.5j * a)
    return jnp.array([[e, 0], [0, jnp.conj(e)]], dtype)


def gene_matrix(gate, angle, dtype=jnp.complex128) -> jax.Array:
    """The 2x2 block a gene applies to its target: rx/ry/rz, rx for CRx, identity for padding.

    Branch-free (a select over the five candidates) so it vmaps over populations.
    """
    c, s = jnp.cos(angle / 2), jnp.sin(angle / 2)
    e = jnp.exp(-0.5j * angle)
    one, zero = jnp.ones_like(c), jnp.zeros_like(c)
    is_x = (gate == RX) | (gate == CRX)
    u00 = jnp.where(gate == RZ, e, jnp.where(gate == IDENTITY, one, c))
    u11 = jnp.where(gate == RZ, jnp.conj(e), jnp.where(gate == IDENTITY, one, c))
    u01 = jnp.where(is_x, -1j * s, jnp.where(gate == RY, -s, zero))
    u10 = jnp.where(is_x, -1j * s, jnp.where(gate == RY, s, zero))
    return jnp.stack([jnp.stack([u00, u01]), jnp.stack([u10, u11])]).astype(dtype)


# numpy constants (cast to the working dtype where used; no jax arrays at import time)
PAULI_X = np.array([[0, 1], [1, 0]], np.complex128)
PAULI_Y = np.array([[0, -1j], [1j, 0]], np.complex128)
PAULI_Z = np.array([[1, 0], [0, -1]], np.complex128)
SIGMA_MINUS = np.array([[0, 1], [0, 0]], np.complex128)  # |0><1|: lowers |1> to |0>
