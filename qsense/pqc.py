"""Apply a PQC genome to a state by index arithmetic (no 2^N x 2^N gate matrices).

Each gene is a 2x2 block ``U`` on its target, optionally controlled. With ``s = n-1-target``
(big-endian), basis index ``i`` has target bit ``b = (i >> s) & 1`` and partner ``i ^ (1 << s)``:
``psi'[i] = U[b, b] psi[i] + U[b, 1-b] psi[partner]``, kept only where the control bit is 1
for CRx. Genes are applied in order with ``lax.scan``; cost O(G 2^N) per state.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from qsense.gates import gene_matrix
from qsense.genome import CRX, Genome, validate_genome
from qsense.states import validate_state


def _apply_gene(psi: jax.Array, gene, n: int) -> jax.Array:
    gate, control, target, angle = gene
    idx = jnp.arange(psi.shape[0], dtype=jnp.int32)
    s_t = (n - 1 - target).astype(jnp.int32)
    bit = ((idx >> s_t) & 1).astype(bool)
    partner = idx ^ (jnp.int32(1) << s_t)
    real = jnp.finfo(psi.dtype).dtype
    u = gene_matrix(gate, angle.astype(real), psi.dtype)
    diag = jnp.where(bit, u[1, 1], u[0, 0])
    off = jnp.where(bit, u[1, 0], u[0, 1])
    new = diag * psi + off * psi[partner]
    ctrl_on = ((idx >> (n - 1 - control).astype(jnp.int32)) & 1).astype(bool)
    active = jnp.where(gate == CRX, ctrl_on, True)
    return jnp.where(active, new, psi)


# jitted (here and in the other helpers that hold a loop primitive): called eagerly, a scan
# or fori_loop is traced and compiled anew on every call (~40 ms each); a jitted helper is
# compiled once per shape, and inside a traced program it is inlined as before
@functools.partial(jax.jit, static_argnames="n")
def _apply_vector(psi: jax.Array, genome: Genome, n: int) -> jax.Array:
    def body(state, gene):
        return _apply_gene(state, gene, n), None

    out, _ = lax.scan(body, psi, (genome.gate, genome.control, genome.target, genome.angle))
    return out


def apply_pqc(state: jax.Array, genome: Genome) -> jax.Array:
    """Apply the circuit ``genome`` (one genome: arrays of shape (G,)) to ``state``.

    ``state``: a vector (2**n,) -> ``U psi``; or a density matrix (2**n, 2**n) -> ``U rho U^H``.
    A complex state keeps its dtype; a real one is promoted to the matching complex dtype
    (float32 -> complex64, float64 -> complex128).
    For a population, ``jax.vmap(apply_pqc, in_axes=(None, 0))(psi, population)``.
    """
    n = validate_state(state, "state")
    validate_genome(genome, n, batch_ndim=0)
    state = jnp.asarray(state)
    if not jnp.iscomplexobj(state):
        # the gates are complex: a real state is promoted (float32 -> complex64, float64 ->
        # complex128), else the gate blocks would be cast to the real dtype and lose their
        # imaginary parts
        state = state.astype(jnp.result_type(state.dtype, jnp.complex64))
    if state.ndim == 1:
        return _apply_vector(state, genome, n)
    # U rho U^H = U (U rho^H)^H: act on columns twice
    cols = jax.vmap(lambda c: _apply_vector(c, genome, n), in_axes=1, out_axes=1)
    return cols(jnp.conj(cols(state).T))
