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

#: Rounding budget of a sensing map: `check_sensing_scale` refuses a scale ``S = t (|Bx| +
#: |By| + |Bz| + 2 gamma)`` with ``eps S`` above it. ``S`` bounds the 1-norm of ``t Lv``
#: (``|| -i[H, .] ||_1 <= |Bx| + |By| + |Bz|``, ``|| gamma D ||_1 <= 2 gamma``), and
#: `expm_small`'s squarings leave a relative rounding of a few ``eps S`` in each qubit's map.
#: The limits: S < 4.5e12 (complex128), S < 8389 (complex64). Measured on the bit-flip QFI
#: of GHZ against its closed form (N = 2, 3, gamma = 0.1; tests/qsense/test_physical_map.py):
#: within 4.1 N eps S, i.e. 1.2e-2 just below the limit for N = 3. Before `physical_map` and
#: `unitary_map_1q`, the noiseless GHZ QFI (N^2 t^2, t = 1, B = S) was off by 2.3e-4 at a
#: tenth of the limit and 2.5e-2 (N = 5) just below it, and far past it garbage (N = 3,
#: complex128: 3x at 200 times the limit, 1.7e30 at 2e4 times), then NaN from S ~ 9e18.
#: (That bit-flip figure was `expm_small`'s.) `sense` in a scalar field under a Z-covariant
#: noise (`z_covariant_map_1q`) or bit flip (`bitflip_z_map_1q`) rounds only the phase B t:
#: its QFI is exact to a few N eps at every accepted S (bit flip: within 5.1 N eps).
SENSING_ROUNDING = 1e-3


def max_sensing_scale(dtype=jnp.complex128) -> float:
    """Largest sensing scale ``t (|Bx| + |By| + |Bz| + 2 gamma)`` accepted in ``dtype``."""
    return SENSING_ROUNDING / float(jnp.finfo(dtype).eps)


def check_sensing_scale(field3, t, gamma, field_weight=1.0, rate_weight=1.0,
                        dtype=jnp.complex128) -> None:
    """A ValueError, for concrete inputs, when ``t * (field_weight (|Bx| + |By| + |Bz|) + 2
    rate_weight gamma)`` is not below `max_sensing_scale` of ``dtype``: there the one-qubit
    map's rounding passes `SENSING_ROUNDING` and grows into garbage, then NaN. The weights
    are the largest sensor coupling and noise weight of a `qsense.Problem` (1 for `sense`).
    A traced field counts as 0 (a lower bound: `qsense.qfi` differentiates in the field)."""
    if not is_concrete(t, gamma, rate_weight):
        return
    field = (float(field_weight) * float(np.sum(np.abs(np.asarray(field3))))
             if is_concrete(field3, field_weight) else 0.0)
    scale, limit = float(t) * (field + 2 * float(rate_weight) * float(gamma)), \
        max_sensing_scale(dtype)
    if not scale < limit:
        fail("t * (|Bx| + |By| + |Bz| + 2 gamma)", float(f"{scale:.6g}"),
             f"below {limit:.4g} in {jnp.dtype(dtype).name} (t = {float(t):.6g}, field = "
             f"{np.asarray(field3).tolist() if field else '(traced)'}, gamma = "
             f"{float(gamma):.6g}): there the one-qubit sensing map exp(t L) has a rounding "
             f"of about {SENSING_ROUNDING:g} (a few eps times this scale), then garbage, then NaN")


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
    The squarings leave a rounding of a few ``eps ||a||`` in the map and about ``eps
    ||a||^2`` in its derivative (measured on GHZ, N = 3, no noise, B = 1, complex128: the
    QFI 1e-11 and its t-derivative 1e-7 relative at t = 1e4; 5e-10 and 2e-3 at 1e6); once
    ``eps ||a||`` nears 1 the map is garbage, and NaN past ``||a||_1 = 2^63`` (s > 64).
    Callers refuse such inputs (`check_sensing_scale`).
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


#: row-major vec index (i, j) -> (j, i): ``vec(rho^T)`` = ``vec(rho)[_TRANSPOSE]``
_TRANSPOSE = np.array([0, 2, 1, 3])


def physical_map(sop: jax.Array) -> jax.Array:
    """The nearest (Frobenius) Hermiticity- and trace-preserving map to the one-qubit
    superoperators ``sop`` (..., 4, 4) (row-major vec), a linear projection.

    ``M`` preserves Hermiticity iff ``M[(i,j),(k,l)] = conj(M[(j,i),(l,k)])`` and the trace
    iff rows (0,0) and (1,1) sum to ``vec(I)``; the projection averages ``M`` with that
    mirror, then takes half the trace row's excess off each of the two rows (which keeps the
    mirror symmetry). An exact ``exp(t Lv)`` is unchanged; `expm_small`'s rounding of a few
    ``eps S`` (`SENSING_ROUNDING`) is not, and without this it left the sensed states
    visibly unphysical: trace off by 4e-8 at S = 1e8 (bit flip, GHZ of 3 qubits), 3e-5 at
    S = 100 in complex64, Hermiticity by 1e-7 at S = 1e10 in a vector field, which
    `qsense.qfi`'s output check refuses. Linear, so its derivatives are those of the map
    projected the same way."""
    mirror = jnp.conj(sop[..., _TRANSPOSE, :][..., :, _TRANSPOSE])
    sop = 0.5 * (sop + mirror)
    excess = sop[..., 0, :] + sop[..., 3, :] - jnp.asarray([1, 0, 0, 1], sop.dtype)
    return sop.at[..., 0, :].add(-0.5 * excess).at[..., 3, :].add(-0.5 * excess)


def sensing_map(generator: jax.Array) -> jax.Array:
    """``exp(generator)`` of a one-qubit Lindblad generator (..., 4, 4) already times ``t``:
    `expm_small`, then `physical_map` (which only removes the exponential's rounding)."""
    return physical_map(expm_small(generator))


def _even_cos_sinc(x):
    """``(cos(sqrt(x)), sin(sqrt(x)) / sqrt(x))`` for ``x >= 0``, smooth at 0 to every
    derivative order (both are entire functions of x): a 4-term Maclaurin series below 1e-4,
    where its error (x^4 / 8!) is below 3e-21, the closed forms above (through a
    double ``where``, so their gradients never see sqrt(0))."""
    small = x < 1e-4
    r = jnp.sqrt(jnp.where(small, 1.0, x))
    cos = jnp.where(small, 1 - x / 2 + x**2 / 24 - x**3 / 720, jnp.cos(r))
    sinc = jnp.where(small, 1 - x / 6 + x**2 / 120 - x**3 / 5040, jnp.sin(r) / r)
    return cos, sinc


def unitary_map_1q(field3, t, dtype=jnp.complex128) -> jax.Array:
    """``U (x) conj(U)`` (row-major vec) for ``U = exp(-i t (B . sigma) / 2) = cos(theta) I -
    i (t/2) sinc(theta) (B . sigma)``, ``theta = t |B| / 2``: the noiseless sensing map in
    closed form. ``U`` is unitary to a few eps at any ``t |B|`` (the phase ``theta`` itself
    rounds by eps theta), so the map is completely positive and trace-preserving to rounding;
    `expm_small`'s scaling and squaring left states that lost positivity by ~eps t |B|
    (smallest eigenvalue -2e-8 at t |B| = 1e8 in a vector field, -3e-5 at 1e3 in complex64),
    which `sense`, `score_state` and `qfim_from_derivatives` refuse as input."""
    real = jnp.finfo(dtype).dtype
    f3 = jnp.asarray(field3).astype(real)
    t = jnp.asarray(t, real)
    cos, sinc = _even_cos_sinc((0.5 * t) ** 2 * jnp.sum(f3 * f3))
    # (t/2) sinc(theta) (B . sigma) = t sinc(theta) H_1
    u = (cos.astype(dtype) * jnp.eye(2, dtype=dtype)
         - 1j * (t * sinc).astype(dtype) * field_hamiltonian(f3, dtype))
    return jnp.kron(u, jnp.conj(u))


#: noises whose dissipator commutes with a rotation about Z (a scalar field's): ``exp(t Lv)``
#: then factors into the field's rotation and the noise (`z_covariant_map_1q`)
Z_COVARIANT_NOISES = ("none", "dephasing", "amplitude_damping")


def z_covariant_map_1q(b, t, noise: str, gamma, dtype=jnp.complex128) -> jax.Array:
    """``exp(t Lv)`` for the scalar field ``(0, 0, b)`` and a Z-covariant ``noise``
    (`Z_COVARIANT_NOISES`), as the product of the two commuting factors: the closed-form
    rotation `unitary_map_1q` and the field-free noise map ``exp(t gamma D)`` (`sensing_map`,
    whose scale is ``2 gamma t`` alone). Equal to ``superoperator_1q((0, 0, b), ...)`` in
    exact arithmetic, but ``b t`` only enters through ``cos`` and ``sin``: the map and its
    ``b``- and ``t``-derivatives carry the phase's own rounding (eps b t) instead of
    `expm_small`'s few eps S in every entry (which changed the dephased GHZ QFI by up to 25 N eps S
    and left amplitude-damped states negative by 2.5e-4 at S = 1e12). No checks: callers
    check ``b``, ``t``, ``gamma`` and the scale."""
    if noise not in Z_COVARIANT_NOISES:
        fail("noise", noise, f"one of {Z_COVARIANT_NOISES} (a noise that commutes with a "
             "rotation about Z)")
    b = jnp.asarray(b)
    field3 = jnp.stack([jnp.zeros_like(b), jnp.zeros_like(b), b])
    if noise == "none":
        return unitary_map_1q(field3, t, dtype)
    return commuting_sensing_map(field3, t, jnp.asarray(gamma).astype(dtype)
                                 * dissipator_1q(noise, dtype), dtype)


def commuting_sensing_map(field3, t, rate_dissipator, dtype=jnp.complex128) -> jax.Array:
    """``exp(t (-i[H(field3), .] + rate_dissipator))`` for a 4x4 ``rate_dissipator`` (``gamma
    D``, as `generator_1q`) that commutes with the field's rotation, as the closed-form
    rotation (`unitary_map_1q`) times the field-free noise map (`sensing_map` of ``t
    rate_dissipator``, scale ``2 gamma t`` alone). The caller vouches for the commutation (a
    scalar field under a Z-covariant noise: `z_covariant_map_1q`, the objective's covariant
    structures); otherwise this is not the sensing map."""
    rotation = unitary_map_1q(field3, t, dtype)
    return rotation @ sensing_map(jnp.asarray(t).astype(dtype)
                                  * jnp.asarray(rate_dissipator, dtype))


def _damped_cos_sinc(beta, a):
    """``(exp(-a) C, exp(-a) S)`` with ``C = cos(sqrt(x))``, ``S = sin(sqrt(x)) / sqrt(x)``,
    ``x = beta^2 - a^2`` (``a >= 0``), continued to ``cosh`` and ``sinh(s) / s``, ``s =
    sqrt(-x)``, for ``x < 0``. Both are entire in x: the 4-term series below ``|x| = 1e-4``
    (error ~ x^4 / 8! < 3e-21), ``cos``/``sin`` above, and below ``-1e-4`` the overdamped
    modes ``exp(-(a -+ s))`` with ``a - s = beta^2 / (a + s)``, which neither overflow (a
    bare ``cosh(s)`` does past s = 710) nor cancel. Double ``where``s keep every branch's
    gradient finite."""
    x = beta * beta - a * a
    small, under = jnp.abs(x) < 1e-4, x >= 1e-4
    over = ~(small | under)
    damp = jnp.exp(-a)
    c_small = damp * (1 - x / 2 + x**2 / 24 - x**3 / 720)
    s_small = damp * (1 - x / 6 + x**2 / 120 - x**3 / 5040)
    r = jnp.sqrt(jnp.where(under, x, 1.0))
    c_under, s_under = damp * jnp.cos(r), damp * jnp.sin(r) / r
    sq = jnp.sqrt(jnp.where(over, -x, 1.0))
    slow = jnp.exp(-(beta * beta) / jnp.where(over, a + sq, 1.0))  # exp(-(a - s))
    c_over = 0.5 * slow * (1 + jnp.exp(-2 * sq))
    s_over = slow * -jnp.expm1(-2 * sq) / (2 * sq)
    pick = lambda lo, mid, hi: jnp.where(small, lo, jnp.where(under, mid, hi))  # noqa: E731
    return pick(c_small, c_under, c_over), pick(s_small, s_under, s_over)


def bitflip_z_map_1q(b, t, gamma, dtype=jnp.complex128) -> jax.Array:
    """``exp(t Lv)`` for the scalar field ``(0, 0, b)`` under bit flip (``L = sqrt(gamma/2)
    X``) in closed form. With ``rho = [[p, c], [c*, q]]``: ``p - q`` decays as ``exp(-gamma
    t)``, and ``(c, c*)`` follows ``-gamma/2 + [[-i b, gamma/2], [gamma/2, i b]]``, whose
    square root part squares to ``-(b^2 - gamma^2/4)``, so its exponential is ``exp(-a) (C I
    + S [[-i beta, a], [a, i beta]])`` with ``beta = b t``, ``a = gamma t / 2``
    (`_damped_cos_sinc`: oscillating for ``|b| > gamma/2``, overdamped below). ``b t`` enters
    only through cos and sin, so the map has the phase's own rounding (eps b t) where
    `expm_small` left a few eps S in every entry (a QFI 4 N eps S off and states that lost
    positivity by 1e-4 at S = 1e12). No checks: callers check ``b``, ``t``, ``gamma`` and the
    scale."""
    real = jnp.finfo(dtype).dtype
    b, t, gamma = (jnp.asarray(v).astype(real) for v in (b, t, gamma))
    beta, a = b * t, 0.5 * gamma * t
    c, s = _damped_cos_sinc(beta, a)
    flip = -0.5 * jnp.expm1(-gamma * t)  # (1 - exp(-gamma t)) / 2
    c, s, flip, beta, a = (v.astype(dtype) for v in (c, s, flip, beta, a))
    zero = jnp.zeros((), dtype)
    return jnp.stack([
        jnp.stack([1 - flip, zero, zero, flip]),
        jnp.stack([zero, c - 1j * beta * s, a * s, zero]),
        jnp.stack([zero, a * s, c + 1j * beta * s, zero]),
        jnp.stack([flip, zero, zero, 1 - flip])])


def superoperator_1q(field3, t, noise: str, gamma, dtype=jnp.complex128) -> jax.Array:
    """``exp(t Lv)``: the exact one-qubit sensing map (field and noise together) for time t
    (``t`` >= 0; ``field3``, ``gamma`` as `liouvillian_1q`), Hermiticity- and trace-
    preserving to rounding (`physical_map`); with ``noise="none"`` the closed-form unitary
    map (`unitary_map_1q`), also positive to rounding."""
    check_nonneg("t", t)
    lv = liouvillian_1q(field3, noise, gamma, dtype)  # checks field3 and gamma
    check_sensing_scale(field3, t, 0.0 if noise == "none" else gamma, dtype=dtype)
    if noise == "none":
        return unitary_map_1q(field3, t, dtype)
    return sensing_map(t * lv)


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
