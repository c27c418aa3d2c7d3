"""Sensing: every qubit evolves for time t under the field and its own noise, simultaneously.

The N-qubit map is ``exp(t Lv_1)^{(x) N}``: one exact 4x4 superoperator applied along each
qubit's (row, column) axis pair of the reshaped density matrix. A ``lax.fori_loop`` applies it
to the leading qubit and rotates the qubit order by one, N times, so there is no Python loop
over qubits and no 4^N x 4^N Liouvillian. Cost O(N 4^N) per state. In a scalar field with
dephasing or no noise every qubit's map is diagonal and the whole map is one elementwise
factor (`diagonal_map_mask`): O(4^N), one pass.

Derivative in a scalar field under a Z-covariant noise (none, dephasing, amplitude damping):
the map is then ``U_B Lambda_t(rho) U_B^H`` with ``U_B = exp(-i B t Jz/2)`` (and is built so:
`qsense.noise.z_covariant_map_1q`, B t only in cos and sin), so
``d S/dB [rho] = -i (t/2) [Jz, S(rho)]`` exactly. `sense` carries that rule as a custom JVP
(one elementwise pass instead of a tangent through every qubit's map) and tells
`qsense.fisher.qfi` that its tangent is such a commutator, so the composed public path
``qfi(lambda b: sense(psi, b, t, noise, gamma), b0)`` costs what `qsense.score` costs: one
eigendecomposition and one matrix product. When ``psi`` is a state vector and the noise is
dephasing (or none), the record also carries the sensed state's real form
(`real_form_of_pure`), and that eigendecomposition is a real one.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.custom_derivatives import SymbolicZero

from qsense._checks import (
    as_array_if_traced,
    check_finite,
    check_noise,
    check_nonneg,
    fail,
    is_concrete,
)
from qsense.fisher import record_commutator_tangent
from qsense.noise import (
    Z_COVARIANT_NOISES,
    bitflip_z_map_1q,
    check_sensing_scale,
    superoperator_1q,
    z_covariant_map_1q,
)
from qsense.states import _density, validate_state

_FIELD_SHAPES = "() for a scalar field B or (3,) for (Bx, By, Bz)"


def as_field3(field) -> jax.Array:
    """A scalar field B -> (0, 0, B); a vector (Bx, By, Bz) is returned as an array."""
    field = as_array_if_traced(field, "field", _FIELD_SHAPES)
    if np.ndim(field) not in (0, 1) or (np.ndim(field) == 1 and np.shape(field) != (3,)):
        fail("field.shape", np.shape(field), _FIELD_SHAPES)
    if is_concrete(field):  # a scalar B too: a NaN field would give a NaN state
        check_finite("field", field if np.ndim(field) == 0 else np.asarray(field).tolist())
    field = jnp.asarray(field)
    if field.ndim == 0:
        return jnp.stack([jnp.zeros_like(field), jnp.zeros_like(field), field])
    return field


def _is_zero(x) -> bool:
    return isinstance(x, SymbolicZero)


def _leading_qubit(r: jax.Array, sop: jax.Array) -> jax.Array:
    """``sop`` (4x4, row-major vec) on the leading qubit of ``r`` (d x d), the result written
    with that qubit moved last: one fused elementwise pass over the four 2^(N-1) x 2^(N-1)
    blocks (the sum is over the 2 x 2 block structure, not over qubits)."""
    d = r.shape[0]
    m = d // 2
    s4 = sop.reshape(2, 2, 2, 2)  # (a, c, b, d): out rho[a,c] <- in rho[b,d]
    blocks = r.reshape(2, m, 2, m)
    # out[x, a, y, c] = sum_{b,d} s4[a, c, b, d] rho[b, x, d, y]
    out = sum(s4[:, :, b, e][None, :, None, :] * blocks[b, :, e, :][:, None, :, None]
              for b in range(2) for e in range(2))
    return out.reshape(d, d)


@jax.custom_jvp
def _qubit_step(r: jax.Array, sop: jax.Array) -> jax.Array:
    """`_leading_qubit`, whose JVP writes its part in ``sop`` as a contraction (``einsum``).

    The step is bilinear in (r, sop); JAX's own JVP of the elementwise form is right too, but
    its transpose in ``sop`` (the map's cotangent: every gradient in t, gamma or the field,
    e.g. the GA's local steps in log t) is a reduction over the blocks that XLA:CPU fuses,
    element by element, into the loop's dynamic-update-slice of the per-qubit maps. Measured
    at N = 5, population 256, float64: 5.2 ms per qubit step that way, 2.0 ms as the
    transposed contraction (three batched products with K = 2^(2N-2)). A forward JVP in the
    map (e.g. ``jax.jvp`` of a sensed state in t) runs that contraction with K = 4, a little
    slower than the elementwise pass; the objective's field tangent does not take that route
    (`apply_qubit_superoperators_jvp`: measured 14 % faster on a bit-flip population)."""
    return _leading_qubit(r, sop)


def _sop_tangent(r: jax.Array, sop_d: jax.Array) -> jax.Array:
    """`_leading_qubit` in its second (linear) argument, as a contraction."""
    d = r.shape[0]
    m = d // 2
    out = jnp.einsum("acbd,bxdy->xayc", sop_d.reshape(2, 2, 2, 2), r.reshape(2, m, 2, m))
    return out.reshape(d, d)


@functools.partial(_qubit_step.defjvp, symbolic_zeros=True)
def _qubit_step_jvp(primals, tangents):
    r, sop = primals
    r_d, sop_d = tangents
    out = _qubit_step(r, sop)
    parts = []
    if not _is_zero(r_d):
        parts.append(_qubit_step(r_d, sop))
    if not _is_zero(sop_d):
        parts.append(_sop_tangent(r, sop_d))
    if not parts:
        return out, jnp.zeros_like(out)
    return out, functools.reduce(jnp.add, parts)


@functools.partial(jax.jit, static_argnames="n")  # its loop: see qsense.pqc._apply_vector
def apply_qubit_superoperators(rho: jax.Array, sops: jax.Array, n: int) -> jax.Array:
    """Apply ``sops[i]`` (4x4, row-major vec) to qubit ``i`` of ``rho``, for every qubit.

    Each of the N steps acts on the leading qubit's (row, column) bits and writes the result
    with that qubit moved last (a cyclic rotation of the qubit order; N steps restore it).
    The step is one fused elementwise pass over the four 2^(N-1) x 2^(N-1) blocks: measured
    1.6-2.5x faster than a dot_general followed by a transpose.
    """
    def body(i, r):
        return _qubit_step(r, sops[i])

    return lax.fori_loop(0, n, body, rho)


@functools.partial(jax.jit, static_argnames="n")
def apply_qubit_superoperators_jvp(rho: jax.Array, sops: jax.Array, dsops: jax.Array,
                                   n: int) -> tuple[jax.Array, jax.Array]:
    """`apply_qubit_superoperators` and its tangents along ``k`` directions of the maps
    (``dsops`` (k, n, 4, 4): the derivative of every qubit's map along each direction; rho
    itself held fixed): ``(S(rho), (dS_1(rho), ..., dS_k(rho)))``, the product rule carried
    through the qubit loop, ``dr' = step(dr, S_i) + step(r, dS_i)``.

    The same values as ``jax.jvp`` of `apply_qubit_superoperators` in ``sops``, but the maps'
    tangents enter as *primal* inputs of the elementwise step, so the forward pass is
    elementwise (a JVP would run `_qubit_step`'s rule, whose part in the map is a small-K
    contraction) and a gradient through it still transposes that part into one contraction
    over the blocks. Used for the field derivative of the sensed state (`qsense.objective`).
    """
    k = dsops.shape[0]

    def body(i, carry):
        r, drs = carry
        drs = tuple(_qubit_step(dr, sops[i]) + _qubit_step(r, dsops[j, i])
                    for j, dr in enumerate(drs))
        return _qubit_step(r, sops[i]), drs

    # qubit 0 outside the loop: its incoming tangents are zero (no pass over zeros)
    first = (_qubit_step(rho, sops[0]), tuple(_qubit_step(rho, dsops[j, 0]) for j in range(k)))
    r, drs = lax.fori_loop(1, n, body, first)
    return r, jnp.stack(drs)


def diagonal_map_mask(sop: jax.Array, n: int) -> jax.Array:
    """The N-qubit map of one 4x4 superoperator that is *diagonal* (row-major vec; a scalar
    field with dephasing or no noise), applied to every qubit, as an elementwise factor:
    ``S(rho) = rho * M`` with ``M[i, j] = prod_k s[2 i_k + j_k] = s00^n00 s01^n01 s10^n10
    s11^n11`` (``s`` the diagonal, ``n_ac`` the number of qubits k with ``(i_k, j_k) = (a,
    c)``). One pass over rho instead of N; the counts are computed in the program (popcounts),
    not stored. Only the diagonal of ``sop`` is read: the caller vouches that it is diagonal."""
    return _mask_of_diagonal(jnp.diagonal(sop), n)


def _pair_counts(n: int) -> tuple[jax.Array, ...]:
    """(n00, n01, n10, n11): for every (i, j), the number of qubits k with (i_k, j_k) = (a, c)."""
    k = jnp.arange(2**n, dtype=jnp.int32)
    ones = lax.population_count(k)
    n11 = lax.population_count(k[:, None] & k[None, :])
    n10 = ones[:, None] - n11
    n01 = ones[None, :] - n11
    n00 = n - n10 - n01 - n11
    return n00, n01, n10, n11


def _powers(s: jax.Array, n: int) -> jax.Array:
    """(4, n + 1): ``powers[a, m] = s[a]^m``."""
    return jnp.cumprod(jnp.concatenate(
        [jnp.ones((4, 1), s.dtype), jnp.broadcast_to(s[:, None], (4, n))], axis=1), axis=1)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _mask_of_diagonal(s: jax.Array, n: int) -> jax.Array:
    """``M[i, j] = prod_a s[a]^n_a(i, j)`` (see `diagonal_map_mask`), with a JVP written as
    ``sum_a ds[a] n_a s[a]^(n_a - 1) prod_(b != a) s[b]^n_b``: its transpose in ``s`` is then
    four reductions over (i, j), where autodiff of the table lookups is a scatter-add that
    XLA:CPU runs after a batch-minor transpose of four 2^N x 2^N products (measured ~5 ms
    each per population of 256 at N = 5, the largest cost of a dephasing GA generation)."""
    counts = _pair_counts(n)
    p = _powers(s, n)
    return functools.reduce(jnp.multiply, [p[a][counts[a]] for a in range(4)])


@_mask_of_diagonal.defjvp
def _mask_of_diagonal_jvp(n, primals, tangents):
    (s,), (s_d,) = primals, tangents
    counts = _pair_counts(n)
    p = _powers(s, n)
    factors = [p[a][counts[a]] for a in range(4)]
    out = functools.reduce(jnp.multiply, factors)
    tangent = jnp.zeros_like(out)
    for a in range(4):  # the four entries of the 2x2 block structure, not qubits
        rest = functools.reduce(jnp.multiply, [factors[b] for b in range(4) if b != a])
        lower = p[a][jnp.maximum(counts[a] - 1, 0)]  # s^(n_a - 1); times n_a = 0 when n_a = 0
        tangent = tangent + s_d[a] * (counts[a].astype(s.real.dtype) * lower * rest)
    return out, tangent


def diagonal_maps_mask(sops: jax.Array, n: int) -> jax.Array:
    """`diagonal_map_mask` for per-qubit diagonal maps ``sops`` (n, 4, 4) (sensor weights):
    ``M[i, j] = prod_k sops[k, 2 i_k + j_k, 2 i_k + j_k]``, a loop over the qubits on the
    unbatched (2^N, 2^N) mask only."""
    s = jnp.diagonal(sops, axis1=1, axis2=2)  # (n, 4)
    k = jnp.arange(2**n, dtype=jnp.int32)

    def body(q, m):
        shift = n - 1 - q  # qubit q is bit n-1-q (big-endian)
        idx = 2 * ((k[:, None] >> shift) & 1) + ((k[None, :] >> shift) & 1)
        return m * s[q][idx]

    return lax.fori_loop(0, n, body, jnp.ones((2**n, 2**n), s.dtype))


def apply_local_superoperator(rho: jax.Array, sop: jax.Array, n: int) -> jax.Array:
    """Apply the same 4x4 one-qubit superoperator (row-major vec) to every qubit of ``rho``."""
    return apply_qubit_superoperators(rho, jnp.broadcast_to(sop, (n, 4, 4)), n)


#: Z-covariant noises whose scalar-field sensing map is diagonal in the computational basis:
#: the whole N-qubit map is one elementwise product (`diagonal_map_mask`)
DIAGONAL_NOISES = ("none", "dephasing")


def _sense_map(rho, field, t, gamma, noise):
    """The sensing map of a scalar ``field`` under a Z-covariant ``noise`` (checked by
    `sense`), each qubit's map in the factored form `z_covariant_map_1q`."""
    real = jnp.finfo(rho.dtype).dtype
    sop = z_covariant_map_1q(jnp.asarray(field, real), jnp.asarray(t, real), noise,
                             jnp.asarray(gamma, real), rho.dtype)
    if noise in DIAGONAL_NOISES:
        return rho * diagonal_map_mask(sop, _n_of(rho))
    return apply_local_superoperator(rho, sop, _n_of(rho))


def _n_of(rho) -> int:
    return int(rho.shape[0]).bit_length() - 1


def _jz(n: int, real) -> jax.Array:
    k = jnp.arange(2**n, dtype=jnp.int32)
    return (n - 2 * lax.population_count(k)).astype(real)


def real_form_of_pure(psi: jax.Array, sensed: jax.Array, field, h: jax.Array):
    """``(phase, r)`` with ``sensed = diag(phase) r diag(phase)^H``, ``r`` real: the sensed
    state of the pure ``psi`` in a scalar ``field`` under dephasing or no noise, whose
    generator is ``h`` (``U_B = exp(-i B diag(h))``). ``sensed_ab = psi_a psi_b^* e^{-i B (h_a -
    h_b)} K_ab`` with ``K_ab >= 0`` (the coherence factor), so ``r = |sensed|`` and ``phase_a
    = (psi_a / |psi_a|) e^{-i B h_a}`` (1 where psi_a = 0). No derivatives (constants for
    `qsense.fisher.qfi_commutator`)."""
    psi, sensed = jax.lax.stop_gradient(psi), jax.lax.stop_gradient(sensed)
    mod = jnp.abs(psi)
    unit = jnp.where(mod > 0, psi / jnp.where(mod > 0, mod, 1).astype(psi.dtype), 1)
    field = jax.lax.stop_gradient(jnp.asarray(field)).astype(mod.dtype)
    turn = jnp.exp(-1j * (field * jax.lax.stop_gradient(h).real.astype(mod.dtype)))
    return (unit * turn).astype(sensed.dtype), jnp.abs(sensed)


@functools.partial(jax.custom_jvp, nondiff_argnums=(4, 5))
def _sense_covariant(rho, field, t, gamma, noise, psi=None):
    """`_sense_map` for a scalar field and a Z-covariant noise, with the commutator JVP.
    ``psi``: the pure state with ``rho = psi psi^H``, or None; with a diagonal noise it lets
    the commutator record carry the real form (`real_form_of_pure`). It is a hint only: the
    derivatives in the state go through ``rho``."""
    return _sense_map(rho, field, t, gamma, noise)


@functools.partial(_sense_covariant.defjvp, symbolic_zeros=True)
def _sense_covariant_jvp(noise, psi, primals, tangents):
    rho, field, t, gamma = primals
    rho_d, field_d, t_d, gamma_d = tangents
    out = _sense_covariant(rho, field, t, gamma, noise)
    real = jnp.finfo(rho.dtype).dtype
    parts = []
    if not _is_zero(rho_d):  # the map is linear in rho
        parts.append(_sense_covariant(rho_d, field, t, gamma, noise))
    if not (_is_zero(t_d) and _is_zero(gamma_d)):
        def in_t_gamma(tt, gg):
            return _sense_map(rho, field, tt, gg, noise)
        zero = jnp.zeros((), real)
        parts.append(jax.jvp(in_t_gamma, (jnp.asarray(t, real), jnp.asarray(gamma, real)),
                             (zero if _is_zero(t_d) else jnp.asarray(t_d, real),
                              zero if _is_zero(gamma_d) else jnp.asarray(gamma_d, real)))[1])
    if not _is_zero(field_d):
        h = (0.5 * jnp.asarray(t, real) * jnp.asarray(field_d, real)) * _jz(_n_of(rho), real)
        comm = -1j * (h[:, None] * out - out * h[None, :])
        if not parts:  # the whole tangent is -i [diag(h), out]: let qfi use it
            form = None
            if psi is not None and noise in DIAGONAL_NOISES:
                form = real_form_of_pure(psi, out, field, 0.5 * jnp.asarray(t, real)
                                         * _jz(_n_of(rho), real))
            record_commutator_tangent(out, comm, h, form)
        parts.append(comm)
    if not parts:
        return out, jnp.zeros_like(out)
    return out, functools.reduce(jnp.add, parts)


def sense(state, field, t, noise: str = "none", gamma=0.0) -> jax.Array:
    """Density matrix after sensing ``field`` for time ``t`` under ``noise`` at rate ``gamma``.

    state: vector (2**n,) or density matrix (2**n, 2**n), any complex dtype (kept).
    field: scalar B (``H = (B/2) sum Z_i``) or ``(Bx, By, Bz)`` (``H = 1/2 sum B . sigma_i``).
    t, gamma: scalars >= 0, in consistent time units (gamma in 1/t); an array ``t`` or
    ``gamma`` is refused (``jax.vmap`` over them). Differentiable in every array arg.
    With ``noise="none"`` the rate ``gamma`` is accepted (checked >= 0) and ignored: no
    noise acts (so a sweep over noise models may share one gamma).
    """
    n = validate_state(state, "state")
    check_noise(noise)
    for name, x, what in (("t", t, "one time; jax.vmap over times"),
                          ("gamma", gamma, "one rate; jax.vmap over rates")):
        if is_concrete(x) and np.ndim(x) != 0:  # as qsense.score refuses an array t
            fail(f"{name}.shape", np.shape(x), f"() ({what})")
        check_nonneg(name, x)
    state = jnp.asarray(state)
    if not jnp.iscomplexobj(state):
        state = state.astype(jnp.result_type(complex))
    rho = _density(state)
    real = jnp.finfo(rho.dtype).dtype
    # a sequence holding tracers, (Bx, By, Bz), as one array, so that np.ndim can read it
    field = as_array_if_traced(field, "field", _FIELD_SHAPES)
    f3 = as_field3(field).astype(real)
    if noise in Z_COVARIANT_NOISES and np.ndim(field) == 0:
        # (the vector-field branch's superoperator_1q checks the same scale itself)
        check_sensing_scale(field, t, 0.0 if noise == "none" else gamma, dtype=rho.dtype)
        return _sense_covariant(rho, jnp.asarray(field, real), jnp.asarray(t, real),
                                jnp.asarray(gamma, real), noise,
                                state if state.ndim == 1 else None)
    if np.ndim(field) == 0:  # bit flip in a scalar field: its map in closed form
        check_sensing_scale(field, t, gamma, dtype=rho.dtype)
        sop = bitflip_z_map_1q(jnp.asarray(field, real), jnp.asarray(t, real),
                               jnp.asarray(gamma, real), rho.dtype)
    else:
        sop = superoperator_1q(f3, jnp.asarray(t, real), noise, jnp.asarray(gamma, real),
                               rho.dtype)
    return apply_local_superoperator(rho, sop, n)
