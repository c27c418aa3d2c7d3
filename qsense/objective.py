"""THE VQS objective: one scoring function for every consumer (DESIGN sections 3-4).

``score(problem, genome, t)`` is the figure every part of qsense optimizes, always
**maximized**: the QFI with respect to B (scalar field) or ``-Tr F^-1`` over (Bx, By, Bz)
(vector field; ``-inf`` for a singular QFIM). Humans read QFI and the bound
``QCRB = Tr F^-1`` (`merit`). `make_fitness` is ``jit(vmap(score))``; the genetic search,
`qsense.optimize.optimize_angles` (adam, lbfgs, parameter shift, COBYLA), the refinement, the
protocols and the benchmarks all call `score` (or `score_state`, the same objective from a
density matrix instead of a genome).

`Problem` is a JAX pytree. Its *structure* (static: qubit count, field kind, initial state,
dtype, whether the sensing noise and the post channel are Z-covariant, which link hooks are
present) decides the compiled program; its *data* (gamma, b0, the 4x4 unit dissipator of the
noise, the link channels) are array leaves. So one compiled program serves every rate, field
value and Z-covariant noise of a sweep (dephasing, amplitude damping and no noise share it);
bit flip, which does not commute with the field's Z rotation, has its own.

The probe: ``initial`` ("ghz" or "zero" = |0...0>), then the PQC (pure), then optional link
hooks, all per-qubit 4x4 superoperators (row-major vec, as `qsense.noise`):

* ``pre_channel`` (N, 4, 4) applied before sensing (teleportation out, memory decoherence);
* sensing for time t: field on the qubits with ``sensors`` weight s_i (default all 1),
  ``H = (B/2) sum_i s_i Z_i`` (scalar) or ``1/2 sum_i s_i B . sigma_i`` (vector), and the
  noise at rate ``gamma * v_i`` on qubit i, with ``noise_weights`` v_i (default all 1: the
  noise acts on every qubit, one that does not sense included; 0 for a qubit kept away from
  the sensed environment, e.g. the remote protocol's BS qubit, whose own memory decay is
  ``post_decay``);
* ``post_channel`` (N, 4, 4) applied after sensing (teleportation back, distributed VQS),
  preceded, when ``post_decay`` (N,) is set, by the depolarizing channel of Werner factor
  ``exp(-post_decay_i t)`` on qubit i: the memory decay of the pair that teleports qubit i
  back, stored while the probe senses (it depends on t, so it cannot be folded into
  ``post_channel``; depolarizing is Z-covariant, so the fast path keeps it).

Fast exact path: with a scalar field, a Z-covariant noise (none, dephasing, amplitude
damping) and a Z-covariant post channel (depolarizing is), the sensed state is
``U_B Lambda(rho) U_B^H`` with ``U_B = exp(-i B t Hs)``, ``Hs = sum s_i Z_i / 2``, so
``d rho/dB = -i t [Hs, rho]`` exactly, and the QFI needs one eigendecomposition and one
matrix product (`qsense.fisher.qfi_commutator`), of ``Lambda(rho)`` itself (the rotating
frame, B = 0: the same QFI without the phase's rounding, `_rotating_frame_field`); a pure
probe under dephasing or no noise (no link channels) is moreover a real matrix up to a
diagonal phase, so that eigendecomposition is a real one (`score_pure`). Otherwise
``d rho/dB`` is a forward-mode tangent of the sensing map. Both are exact; tests check them
against an independent numpy reference.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from qsense._checks import (
    as_array_if_traced,
    check_finite,
    check_n_qubits,
    check_noise,
    check_nonneg,
    fail,
    is_concrete,
    real_array,
)
from qsense.distributed import (
    device_memory_limit,
    in_chunks,
    log_chunks,
    program_bytes,
    rows_that_fit,
)
from qsense.fisher import qcrb, qfi_commutator, qfim_from_derivatives
from qsense.genome import Genome, validate_genome
from qsense.noise import (
    _UNIT_JUMPS,
    bitflip_z_map_1q,
    check_sensing_scale,
    commuting_sensing_map,
    generator_1q,
    max_sensing_scale,
    sensing_map,
)
from qsense.pqc import _apply_vector
from qsense.sensing import (
    Z_COVARIANT_NOISES,
    apply_qubit_superoperators,
    apply_qubit_superoperators_jvp,
    as_field3,
    diagonal_map_mask,
    diagonal_maps_mask,
    real_form_of_pure,
)
from qsense.states import basis_state, ghz_state, validate_state

FIELDS = ("scalar", "vector")
INITIAL_STATES = ("ghz", "zero")



@dataclasses.dataclass(frozen=True)
class Structure:
    """The static part of a `Problem`: what decides the compiled program. ``noise`` is a
    label carried along for reports but excluded from equality and hashing, so problems that
    differ only by a Z-covariant noise model share one compiled program (traced code must
    branch on ``covariant``, never on the noise name)."""

    n_qubits: int
    field: str
    initial: str
    dtype: Any
    covariant: bool
    post_covariant: bool
    noise: str = dataclasses.field(compare=False)


def _complex_dtype(dtype):
    return jnp.dtype(dtype or jnp.result_type(complex))


def _real_dtype(dtype):
    return jnp.finfo(_complex_dtype(dtype)).dtype


def _as_data(x, dtype):
    """Concrete values become numpy arrays (cheap, no device transfer); tracers stay."""
    return np.asarray(x, dtype) if is_concrete(x) else jnp.asarray(x, dtype)


def unit_dissipator(noise: str, dtype=np.complex128) -> np.ndarray:
    """4x4 unit-rate dissipator ``D[A]`` of ``noise`` (numpy; = `qsense.noise.dissipator_1q`):
    computed on the host so that a `Problem` can be built inside traced code."""
    a = _UNIT_JUMPS[check_noise(noise)]
    eye = np.eye(2)
    ada = a.conj().T @ a
    d = np.kron(a, a.conj()) - 0.5 * np.kron(ada, eye) - 0.5 * np.kron(eye, ada.T)
    return d.astype(dtype)


def _z_generator() -> np.ndarray:
    """Row-major superoperator of ``rho -> -i [Z/2, rho]`` (diagonal)."""
    z = np.array([1.0, -1.0])
    return np.diag((-0.5j * (z[:, None] - z[None, :])).reshape(4))


def is_z_covariant(channel, atol: float = 1e-10) -> bool:
    """True when every per-qubit superoperator (N, 4, 4) commutes with the Z rotation."""
    c = np.asarray(channel)
    g = _z_generator()
    return bool(np.all(np.abs(c @ g - g @ c) <= atol * max(1.0, float(np.max(np.abs(c))))))


def _check_channel(name: str, channel, n: int, dtype):
    shape = tuple(np.shape(channel))
    if shape != (n, 4, 4):
        fail(f"{name}.shape", shape, f"({n}, 4, 4): one row-major 4x4 superoperator per qubit")
    if is_concrete(channel):
        c = np.asarray(channel, complex)
        if not np.all(np.isfinite(c)):
            fail(name, "non-finite entries", "finite superoperators")
        # trace preservation (row-major vec): sum_a S[(a,a), (b,c)] = delta_bc
        tr = c[:, [0, 3], :].sum(axis=1)
        if not np.allclose(tr, np.array([1, 0, 0, 1])[None], atol=1e-8):
            fail(name, "a map that does not preserve the trace",
                 "trace-preserving per-qubit superoperators (sum_a S[(a,a),(b,c)] = delta_bc)")
    return _as_data(channel, _complex_dtype(dtype))


def _per_qubit_nonneg(name: str, value, n: int, real, each: str, accepted: str):
    """``value`` as (N,) data of finite reals >= 0, one per qubit (a traced value: its shape
    only), or a ValueError naming ``name``."""
    value = as_array_if_traced(value, name, f"({n},)")
    if tuple(np.shape(value)) != (n,):
        fail(f"{name}.shape", tuple(np.shape(value)), f"({n},): {each}")
    if is_concrete(value):
        v = real_array(name, value, accepted)
        if not np.all(np.isfinite(v) & (v >= 0)):
            fail(name, value, accepted)
    return _as_data(value, real)


@dataclasses.dataclass(frozen=True, eq=False)
class Problem:
    """What is sensed (see the module docstring). A JAX pytree: pass it to jitted functions
    as an argument; problems with the same `structure` reuse one compiled program.

    n_qubits: 1..MAX_QUBITS. noise: one of ``qsense.NOISE_MODELS``, at rate ``gamma`` >= 0
    (1/time units; with ``noise="none"`` gamma is checked and ignored, so one gamma can serve
    a sweep over noise models). field: "scalar" (B at ``b0``, default 1.0) or "vector"
    ((Bx, By, Bz) at ``b0``, default (0, 0, 0)). initial: "ghz" (the seed's probe) or "zero"
    (|0...0>). dtype: complex dtype (default complex128 with x64 enabled).
    pre_channel / post_channel: (N, 4, 4) trace-preserving per-qubit superoperators or None.
    sensors: (N,) field-coupling weights (1 senses, 0 does not) or None (all sense).
    post_covariant: whether ``post_channel`` commutes with the Z rotation (None: checked
    numerically when the channel is concrete, assumed False when it is traced; the general
    path is exact either way).
    post_decay: (N,) rates >= 0 (1/time units, those of t) or None: after sensing for t,
    qubit i is depolarized to Werner factor ``exp(-post_decay_i t)`` before ``post_channel``
    (a return pair stored in memories while the probe senses: ``n_memories / T``).
    noise_weights: (N,) factors >= 0 on ``gamma``, one per qubit (qubit i's noise rate is
    ``gamma * noise_weights[i]``), or None (all 1). 0: the qubit is not in the sensed
    environment (the remote protocol's BS qubit waits in a memory instead,
    `qsense.linkprobe.link_problem`).
    """

    n_qubits: int
    noise: str = "dephasing"
    gamma: Any = 0.1
    field: str = "scalar"
    b0: Any = None
    initial: str = "ghz"
    dtype: Any = None
    pre_channel: Any = None
    post_channel: Any = None
    sensors: Any = None
    post_covariant: bool | None = None
    post_decay: Any = None
    noise_weights: Any = None
    dissipator: Any = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)
        n = check_n_qubits(self.n_qubits)
        check_noise(self.noise)
        if self.field not in FIELDS:
            fail("field", self.field, f"one of {list(FIELDS)}")
        if self.initial not in INITIAL_STATES:
            fail("initial", self.initial, f"one of {list(INITIAL_STATES)}")
        if self.dtype is not None and _complex_dtype(self.dtype) not in (
                jnp.complex64, jnp.complex128):
            fail("dtype", self.dtype, "complex64, complex128 or None")
        real = _real_dtype(self.dtype)
        gamma = as_array_if_traced(self.gamma, "gamma", "() (one rate)")
        if is_concrete(gamma):
            g = real_array("gamma", gamma, "a finite rate >= 0 (a real number)")
            if g.shape != () or not np.isfinite(g) or g < 0:
                fail("gamma", self.gamma, "a finite rate >= 0")
        elif np.shape(gamma) != ():
            fail("gamma.shape", np.shape(gamma), "() (one rate)")
        set_("gamma", _as_data(gamma, real))
        b0 = self.b0
        if b0 is None:
            b0 = 1.0 if self.field == "scalar" else (0.0, 0.0, 0.0)
        want = () if self.field == "scalar" else (3,)
        b0 = as_array_if_traced(b0, "b0", "a (Bx, By, Bz) triple for field='vector', a "
                                "scalar for field='scalar'")
        if np.shape(b0) != want:
            fail("b0", b0, "a finite scalar field value for field='scalar'" if want == ()
                 else "a finite (Bx, By, Bz) for field='vector'")
        if is_concrete(b0) and not np.all(np.isfinite(real_array("b0", b0,
                                                                 "finite real field values"))):
            fail("b0", b0, "finite field values")
        set_("b0", _as_data(b0, real))
        for name in ("pre_channel", "post_channel"):
            if getattr(self, name) is not None:
                set_(name, as_array_if_traced(getattr(self, name), name, f"({n}, 4, 4)"))
                set_(name, _check_channel(name, getattr(self, name), n, self.dtype))
        if self.sensors is not None:
            set_("sensors", as_array_if_traced(self.sensors, "sensors", f"({n},)"))
            if tuple(np.shape(self.sensors)) != (n,):
                fail("sensors.shape", tuple(np.shape(self.sensors)), f"({n},): one weight per "
                     "qubit")
            if is_concrete(self.sensors) and not np.all(np.isfinite(np.asarray(self.sensors,
                                                                                float))):
                fail("sensors", self.sensors, "finite coupling weights (1 senses, 0 does not)")
            set_("sensors", _as_data(self.sensors, real))
        for name, each, accepted in (
                ("post_decay", "one decay rate per qubit", "finite rates >= 0 (1/time units)"),
                ("noise_weights", "one factor on gamma per qubit",
                 "finite factors >= 0 on gamma (0: the qubit sees no sensing noise)")):
            if getattr(self, name) is not None:
                set_(name, _per_qubit_nonneg(name, getattr(self, name), n, real, each,
                                             accepted))
        post_cov = self.post_covariant
        if self.post_channel is None:
            post_cov = True
        elif is_concrete(self.post_channel):
            actual = is_z_covariant(self.post_channel)
            if post_cov and not actual:
                fail("post_covariant", post_cov, "False: post_channel does not commute with "
                     "the Z rotation")
            post_cov = actual if post_cov is None else bool(post_cov)
        else:
            post_cov = bool(post_cov)
        set_("post_covariant", post_cov)
        set_("dissipator", unit_dissipator(self.noise, _complex_dtype(self.dtype)))

    # ------------------------------------------------------------------ structure

    @property
    def structure(self) -> Structure:
        # Z covariance only selects the scalar field's commutator path: a vector field takes
        # the general path under every noise, so all noises share its compiled program
        covariant = self.field == "scalar" and self.noise in Z_COVARIANT_NOISES
        return Structure(self.n_qubits, self.field, self.initial, self.dtype, covariant,
                         bool(self.post_covariant), self.noise)

    @property
    def fast(self) -> bool:
        """Whether `score` takes the commutator path (scalar field, Z-covariant noise and
        post channel)."""
        s = self.structure
        return s.field == "scalar" and s.covariant and s.post_covariant

    @property
    def maximize(self) -> bool:
        """True for the scalar QFI (the human merit is maximized), False for the vector QCRB
        (minimized). `score` itself is always maximized."""
        return self.field == "scalar"

    @property
    def merit_name(self) -> str:
        return "qfi" if self.field == "scalar" else "qcrb"

    def replace(self, **changes) -> Problem:
        """A copy with new data (gamma, b0, channels, sensors, decays, noise weights), traced
        values allowed: no re-validation of the structure (use ``dataclasses.replace`` for
        checked copies)."""
        bad = set(changes) - set(_DATA_FIELDS)
        if bad:
            fail("Problem.replace fields", sorted(bad), f"data fields {list(_DATA_FIELDS)}")
        leaves = [changes.get(k, getattr(self, k)) for k in _DATA_FIELDS]
        return _unflatten(self.structure, leaves)

    def astype(self, dtype) -> Problem:
        """The same problem computed in ``dtype`` (complex64 or complex128; the real data
        take the matching float32/float64): the structure's dtype changes (its own compiled
        program) and every data leaf is cast, traced leaves included (usable inside jit, e.g.
        the GA's float32 scoring of a float64 problem)."""
        c = _complex_dtype(dtype)
        if c not in (jnp.complex64, jnp.complex128):
            fail("dtype", dtype, "complex64 or complex128")
        real = jnp.finfo(c).dtype
        complex_leaves = ("dissipator", "pre_channel", "post_channel")
        leaves = [None if getattr(self, k) is None else
                  _as_data(getattr(self, k), c if k in complex_leaves else real)
                  for k in _DATA_FIELDS]
        return _unflatten(dataclasses.replace(self.structure, dtype=c), leaves)


_DATA_FIELDS = ("gamma", "b0", "dissipator", "pre_channel", "post_channel", "sensors",
                "post_decay", "noise_weights")


def _flatten(p: Problem):
    return tuple(getattr(p, k) for k in _DATA_FIELDS), p.structure


def _unflatten(s: Structure, leaves) -> Problem:
    p = object.__new__(Problem)
    set_ = functools.partial(object.__setattr__, p)
    for k, v in zip(_DATA_FIELDS, leaves, strict=True):
        set_(k, v)
    set_("n_qubits", s.n_qubits)
    set_("noise", s.noise)
    set_("field", s.field)
    set_("initial", s.initial)
    set_("dtype", s.dtype)
    set_("post_covariant", s.post_covariant)
    return p


jax.tree_util.register_pytree_node(Problem, _flatten, _unflatten)


# ----------------------------------------------------------------------------- the probe

def initial_state(problem: Problem) -> jax.Array:
    n, dtype = problem.n_qubits, _complex_dtype(problem.dtype)
    if problem.initial == "ghz":
        return ghz_state(n, dtype)
    return basis_state(n, 0, dtype)


def probe(problem: Problem, genome: Genome) -> jax.Array:
    """The pure probe state (2^N,): the initial state followed by the genome's PQC."""
    return _apply_vector(initial_state(problem), genome, problem.n_qubits)


def jz_diagonal(n_qubits: int, dtype, weights=None) -> jax.Array:
    """Diagonal of ``sum_i w_i Z_i`` (big-endian; ``w = 1``: ``n - 2 popcount(k)``)."""
    real = jnp.finfo(dtype).dtype
    k = jnp.arange(2**n_qubits, dtype=jnp.int32)
    if weights is None:
        return (n_qubits - 2 * jax.lax.population_count(k)).astype(real)
    bits = (k[:, None] >> (n_qubits - 1 - jnp.arange(n_qubits, dtype=jnp.int32))[None]) & 1
    return (1 - 2 * bits).astype(real) @ jnp.asarray(weights, real)


def sensing_superoperators(problem: Problem, field, t) -> jax.Array:
    """(N, 4, 4) per-qubit sensing maps ``exp(t (-i[s_i H_1(field), .] + v_i gamma D))``
    (``s = sensors``, ``v = noise_weights``; one map broadcast when both are None).

    A scalar field on a covariant structure (the noise commutes with the field's rotation)
    takes the factored form `qsense.noise.commuting_sensing_map`: B t enters only through cos
    and sin, so the B-independent parts of the sensed state (its spectrum, its QFI) carry no
    rounding of B at any accepted scale (`sensed_state` at a large ``b0``, the link probe's
    local Fisher information); the fast path senses at B = 0, where both forms agree. A
    scalar field under bit flip (the structure that is scalar but not covariant) takes the
    closed form `qsense.noise.bitflip_z_map_1q`, with the same property for the QFI."""
    cdtype = _complex_dtype(problem.dtype)
    real = jnp.finfo(cdtype).dtype
    t = jnp.asarray(t, real)
    rate_d = jnp.asarray(problem.gamma, real).astype(cdtype) * jnp.asarray(problem.dissipator,
                                                                           cdtype)
    f3 = as_field3(jnp.asarray(field, real))
    n = problem.n_qubits
    if problem.structure.covariant and jnp.ndim(field) == 0:
        def one(w, u):
            return commuting_sensing_map(w * f3, t, u.astype(cdtype) * rate_d, cdtype)
    elif problem.field == "scalar" and jnp.ndim(field) == 0:
        # a scalar-field structure that is not covariant is bit flip's (the one such noise,
        # so no other noise shares its program): its map in closed form, B t only in cos
        # and sin (`qsense.noise.bitflip_z_map_1q`)
        b, gamma = jnp.asarray(field, real), jnp.asarray(problem.gamma, real)

        def one(w, u):
            return bitflip_z_map_1q(w * b, t, u * gamma, cdtype)
    else:
        def one(w, u):
            return sensing_map(t * generator_1q(w * f3, u.astype(cdtype) * rate_d, cdtype))
    if problem.sensors is None and problem.noise_weights is None:
        return jnp.broadcast_to(one(jnp.ones((), real), jnp.ones((), real)), (n, 4, 4))
    ones = jnp.ones(n, real)
    s = ones if problem.sensors is None else jnp.asarray(problem.sensors, real)
    v = ones if problem.noise_weights is None else jnp.asarray(problem.noise_weights, real)
    return jax.vmap(one)(s, v)


def _channel(problem: Problem, name: str, rho: jax.Array) -> jax.Array:
    c = getattr(problem, name)
    if c is None:
        return rho
    return apply_qubit_superoperators(rho, jnp.asarray(c, rho.dtype), problem.n_qubits)


def post_superoperators(problem: Problem, t, dtype) -> jax.Array | None:
    """(N, 4, 4) per-qubit maps applied after sensing for ``t``: ``post_channel`` after the
    depolarizing decay ``exp(-post_decay_i t)`` (`Problem`), or None when neither is set."""
    post = problem.post_channel
    if problem.post_decay is None:
        return None if post is None else jnp.asarray(post, dtype)
    real = jnp.finfo(dtype).dtype
    f = jnp.exp(-jnp.asarray(problem.post_decay, real) * jnp.asarray(t, real)).astype(dtype)
    vec_i = jnp.array([1, 0, 0, 1], dtype)
    dep = (f[:, None, None] * jnp.eye(4, dtype=dtype)
           + (1 - f)[:, None, None] * 0.5 * jnp.outer(vec_i, vec_i))
    return dep if post is None else jnp.asarray(post, dtype) @ dep


def _post(problem: Problem, rho: jax.Array, t) -> jax.Array:
    sops = post_superoperators(problem, t, rho.dtype)
    return rho if sops is None else apply_qubit_superoperators(rho, sops, problem.n_qubits)


def diagonal_noise(problem: Problem) -> jax.Array:
    """Whether the noise's dissipator is diagonal (dephasing, none): a traced boolean of the
    problem's *data*, so dephasing and amplitude damping keep sharing one compiled program."""
    dis = jnp.asarray(problem.dissipator)
    return jnp.all(dis == jnp.diag(jnp.diagonal(dis)))


def sense_rho(problem: Problem, rho: jax.Array, t, field) -> jax.Array:
    """The sensing map for time ``t`` at ``field`` on a density matrix (no link channels).

    A scalar field under a Z-covariant noise whose dissipator is diagonal (dephasing, none)
    makes every qubit's map diagonal: then the whole N-qubit map is one elementwise product
    (`qsense.sensing.diagonal_map_mask`) instead of N passes over rho. The choice is a
    ``lax.cond`` on `diagonal_noise`, which is unbatched wherever the noise is shared (a
    population, a sweep over gamma, t or B), so only the taken branch runs."""
    sops = sensing_superoperators(problem, field, t)
    n = problem.n_qubits

    def passes(r):
        return apply_qubit_superoperators(r, sops, n)

    if not (problem.structure.covariant and jnp.ndim(field) == 0):
        return passes(rho)

    def masked(r):
        return r * _diagonal_mask(problem, sops)

    return jax.lax.cond(diagonal_noise(problem), masked, passes, rho)


def _diagonal_mask(problem: Problem, sops: jax.Array) -> jax.Array:
    """The whole N-qubit sensing map as an elementwise factor, for diagonal per-qubit maps."""
    if problem.sensors is None and problem.noise_weights is None:
        return diagonal_map_mask(sops[0], problem.n_qubits)
    return diagonal_maps_mask(sops, problem.n_qubits)


def sensed_state(problem: Problem, rho0: jax.Array, t, field=None) -> jax.Array:
    """``post(S_t(pre(rho0)))`` at ``field`` (default ``problem.b0``), in the problem's
    complex dtype (``rho0`` is cast to it)."""
    field = problem.b0 if field is None else field
    rho0 = jnp.asarray(rho0).astype(_complex_dtype(problem.dtype))
    rho = _channel(problem, "pre_channel", rho0)
    rho = sense_rho(problem, rho, t, field)
    return _post(problem, rho, t)


def qfim_of_state(problem: Problem, rho0: jax.Array, t) -> jax.Array:
    """QFIM (k, k) of the sensed ``rho0`` (k = 1 scalar, 3 vector), always by forward-mode
    tangents of the sensing map (the general path; `score_state` takes the commutator path
    where it is exact), in the problem's complex dtype (``rho0`` is cast to it)."""
    rho0 = jnp.asarray(rho0).astype(_complex_dtype(problem.dtype))
    real = jnp.finfo(rho0.dtype).dtype
    b0 = jnp.asarray(problem.b0, real)
    rho = _channel(problem, "pre_channel", rho0)

    if problem.structure.covariant and problem.field == "scalar":
        # a Z-covariant noise that reaches this general path (its post channel is not
        # covariant): keep sense_rho's choice of the diagonal mask, differentiated by a JVP
        def sensed(b):
            return sense_rho(problem, rho, t, b)

        rho_s, d = jax.jvp(sensed, (b0,), (jnp.ones_like(b0),))
        drhos = d[None]
    else:
        # every qubit's map and its field derivatives (4x4 each), then one loop over the
        # qubits carrying the state and its tangents (`apply_qubit_superoperators_jvp`)
        def sops_of(b):
            return sensing_superoperators(problem, b, t)

        dirs = jnp.ones((1,), real) if problem.field == "scalar" else jnp.eye(3, dtype=real)
        sops = sops_of(b0)
        dsops = jax.vmap(lambda e: jax.jvp(sops_of, (b0,), (e.reshape(b0.shape),))[1])(dirs)
        rho_s, drhos = apply_qubit_superoperators_jvp(rho, sops, dsops, problem.n_qubits)
    rho_s = _post(problem, rho_s, t)
    drhos = jax.vmap(lambda d: _post(problem, d, t))(drhos)
    return qfim_from_derivatives(rho_s, drhos)


# ----------------------------------------------------------------------------- input checks
# The public entry points (`score`, `score_pure`, `score_state`, `population_score`,
# `make_fitness`'s function) are thin wrappers: on *concrete* inputs they run the checks of
# `qsense.apply_pqc` / `qsense.sense` (the genome, the state, t >= 0) in numpy, then call the
# jitted implementation (`_score`, ...). Under jit / vmap / grad the inputs are tracers and
# the checks are skipped (the outer, concrete call was checked), so traced programs (the GA,
# the optimizers) are unchanged; the jitted implementations are what they inline.

def _check_problem(problem) -> None:
    if not isinstance(problem, Problem):
        fail("problem", type(problem).__name__, "a qsense.Problem")
    # Problem() checked its data; Problem.replace (traced values allowed) did not
    if is_concrete(problem.gamma):
        check_nonneg("problem.gamma", problem.gamma)
    if is_concrete(problem.b0):
        check_finite("problem.b0", problem.b0)


def _check_t(t, problem: Problem | None = None, name: str = "t") -> None:
    """What `qsense.sense` accepts: one finite time >= 0, and with ``problem`` a sensing
    scale within `qsense.noise.max_sensing_scale` of its dtype (beyond it the sensing map
    is rounding, then NaN)."""
    if is_concrete(t):
        if np.ndim(t) != 0:
            fail(f"{name}.shape", np.shape(t), "() (one time; jax.vmap over times)")
        check_nonneg(name, t)
    if problem is not None:
        check_problem_scale(problem, t)


def _scale_weights(problem: Problem, xp=np):
    """``(max|sensors|, max(noise_weights), gamma or 0 without noise)``: what multiplies
    ``|b0|_1`` and ``2 gamma`` in the sensing scale (`qsense.noise.check_sensing_scale`);
    numpy numbers (concrete problem data) or, with ``xp=jnp``, traced arrays."""
    real = jnp.finfo(_complex_dtype(problem.dtype)).dtype if xp is jnp else float
    s = 1.0 if problem.sensors is None else xp.max(xp.abs(xp.asarray(problem.sensors, real)))
    v = 1.0 if problem.noise_weights is None else xp.max(xp.asarray(problem.noise_weights,
                                                                    real))
    noisy = xp.any(xp.asarray(problem.dissipator) != 0)
    return s, v, xp.where(noisy, xp.asarray(problem.gamma, real), 0.0)


def sensing_limit_time(problem: Problem, dtype=None) -> float:
    """The longest sensing time whose scale stays below `qsense.noise.max_sensing_scale` in
    ``dtype`` (default the problem's; concrete problem data): ``limit / (|b0|_1
    max|sensors| + 2 gamma max(noise_weights))``, inf without field and noise. Past it the
    scores are NaN (traced) or refused (eager)."""
    s, v, gamma = _scale_weights(problem)
    rate = float(np.sum(np.abs(np.asarray(problem.b0, float))) * s + 2 * gamma * v)
    limit = max_sensing_scale(_complex_dtype(problem.dtype) if dtype is None else dtype)
    return limit / rate if rate > 0 else float("inf")


def check_problem_scale(problem: Problem, t, dtype=None) -> None:
    """`qsense.noise.check_sensing_scale` of ``problem`` sensed for ``t`` in ``dtype``
    (default the problem's), for concrete inputs: the field ``b0`` weighted by the largest
    sensor coupling, ``gamma`` by the largest noise weight (0 without noise)."""
    if not is_concrete(t, problem.gamma, problem.b0, problem.sensors, problem.noise_weights,
                       problem.dissipator):
        return
    s, v, gamma = _scale_weights(problem)
    check_sensing_scale(np.atleast_1d(np.asarray(problem.b0, float)), t, gamma, s, v,
                        _complex_dtype(problem.dtype) if dtype is None else dtype)


def _check_genome(problem: Problem, genome, batch_ndim: int, name: str = "genome") -> None:
    # validate_genome names a non-Genome too. Not only when the whole genome is concrete:
    # under jax.grad in the angles the gates and qubits are still concrete, and a CRx with
    # control 7 on 3 qubits must not be dropped
    validate_genome(genome, problem.n_qubits, name, batch_ndim)


def _check_pure(problem: Problem, psi) -> None:
    if is_concrete(psi):
        _check_state_shape(problem, psi, "psi", 1)
        validate_state(psi, "psi")


def _check_state_shape(problem: Problem, x, name: str, ndim: int) -> None:
    d = 2**problem.n_qubits
    want = (d,) if ndim == 1 else (d, d)
    if tuple(np.shape(x)) != want:
        fail(f"{name}.shape", tuple(np.shape(x)),
             f"{want}: a state vector of {problem.n_qubits} qubits (use score_state for a "
             "density matrix)" if ndim == 1 else
             f"{want}: a density matrix of {problem.n_qubits} qubits (use score_pure for a "
             "state vector)")


def _nan_if_invalid(value, t, problem: Problem):
    """``value`` where the *traced* inputs are valid, NaN where not: ``t``, ``gamma``,
    ``noise_weights`` and ``post_decay`` finite and >= 0, and the sensing scale within range
    (`_scale_ok`) (the ranges `Problem` and `_check_t` enforce on concrete values; a
    non-finite traced ``sensors`` weight makes the value NaN by itself).

    Concrete ones were checked (a ValueError); a tracer cannot raise, and outside those ranges
    the maps are still defined, so ``jax.vmap(lambda t: score(p, g, t))`` over a t < 0 (or a
    vmap over negative noise weights or decay rates) would read as a plausible QFI. The factor
    is ``1`` or ``NaN`` (one compare and one multiply per value): at a valid point the value
    and every gradient are exactly unchanged; at an invalid one both are NaN (a ``jnp.where``
    on the value alone would give a gradient of 0 there). Nothing is added when every input
    is concrete."""
    traced = [x for x in (t, problem.gamma, problem.noise_weights, problem.post_decay)
              if x is not None and not is_concrete(x)]
    scale_traced = traced or not is_concrete(problem.b0, problem.sensors, problem.dissipator)
    if not scale_traced:
        return value
    ok = functools.reduce(jnp.logical_and,
                          [jnp.all(jnp.isfinite(x) & (x >= 0)) for x in traced],
                          _scale_ok(problem, t))
    return value * jnp.where(ok, 1.0, jnp.nan).astype(jnp.result_type(value))


def _scale_ok(problem: Problem, t) -> jax.Array:
    """Traced `_check_t`'s scale: ``t (|b0|_1 max|sensors| + 2 gamma max(noise_weights))``
    below `qsense.noise.max_sensing_scale` (past it the map is rounding, garbage that can
    read as a huge QFI, then NaN)."""
    real = jnp.finfo(_complex_dtype(problem.dtype)).dtype
    s, v, gamma = _scale_weights(problem, jnp)
    rate = jnp.sum(jnp.abs(as_field3(jnp.asarray(problem.b0, real)))) * s + 2 * gamma * v
    return jnp.asarray(t, real) * rate < max_sensing_scale(_complex_dtype(problem.dtype))


def _with_jitted(public: Callable, jitted) -> Callable:
    """Expose the jitted implementation on its public wrapper: ``.jitted``, and ``.lower`` /
    ``._cache_size`` (ahead-of-time compilation, no-recompile checks) as a jitted function
    has them."""
    public.jitted = jitted  # type: ignore[attr-defined]
    public.lower = jitted.lower  # type: ignore[attr-defined]
    public._cache_size = jitted._cache_size  # type: ignore[attr-defined]
    return public


def _rotating_frame_field(real) -> jax.Array:
    """The field at which the fast path senses: 0. On that path the sensed state at ``b0`` is
    ``U rho U^H`` with ``U = exp(-i b0 t Hs)`` diagonal and commuting with ``h = t Hs``, so
    its commutator-form QFI is that of ``rho`` (B = 0) exactly: the QFI does not depend on b0
    (module docstring). Sensing at b0 itself only added a rounding of eps b0 t to the value
    and, through the phase's derivative, of about eps (b0 t)^2 to the t-derivative (measured:
    `optimize_angles` of a GHZ + 6-gene probe, N = 3, dephasing gamma = 0.1, 30 steps,
    returned 40.38 at b0 = 1e8 and 40.25-40.79 at 5e9, by XLA flags, for 40.887 at b0 = 1);
    in the rotating frame every b0 gives the b0 = 1 answer. The sensing-scale checks still
    count b0, as for every other entry point."""
    return jnp.zeros((), real)


# ----------------------------------------------------------------------------- the objective
# _score, _score_pure and _score_state are jitted: called eagerly (a user's loop, a test),
# their conditionals and loops would be traced and compiled anew on every call (0.4-0.6 s per
# call at N = 4); jitted, a call after the first per shape costs microseconds, and inside a
# traced program they are inlined as before

@jax.jit
def _score_state(problem: Problem, rho0: jax.Array, t) -> jax.Array:
    # in the problem's precision: sensed_state and qfim_of_state cast rho0 to it (a complex64
    # rho0 in a complex128 problem was a TypeError from the sensing scan's carry)
    if problem.fast:
        cdtype = _complex_dtype(problem.dtype)
        real = jnp.finfo(cdtype).dtype
        rho_s = sensed_state(problem, rho0, t, _rotating_frame_field(real))
        h = 0.5 * jnp.asarray(t, real) * jz_diagonal(problem.n_qubits, cdtype, problem.sensors)
        return qfi_commutator(rho_s, h)
    fm = qfim_of_state(problem, rho0, t)
    if problem.field == "scalar":
        return fm[0, 0]
    return -qcrb(fm)


def score_state(problem: Problem, rho0: jax.Array, t) -> jax.Array:
    """The objective from a probe density matrix ``rho0`` (2^N, 2^N) instead of a genome:
    QFI (scalar field) or ``-Tr F^-1`` (vector field), maximized. Linear-in-``rho0``
    tangents (parameter-shift derivatives) go through its JVP. ``rho0`` (real or complex, any
    precision) is computed in the problem's complex dtype, as `score_pure` and `score` are:
    ``Problem.dtype`` chooses the precision. Concrete inputs are checked
    (``rho0`` a density matrix of N qubits, ``t`` >= 0: a ValueError, never a NaN)."""
    _check_problem(problem)
    if is_concrete(rho0):
        _check_state_shape(problem, rho0, "rho0", 2)
        validate_state(rho0, "rho0")
    _check_t(t, problem)
    return _nan_if_invalid(_score_state(problem, rho0, t), t, problem)


@jax.jit
def _score(problem: Problem, genome: Genome, t) -> jax.Array:
    return _score_pure(problem, probe(problem, genome), t)


def score(problem: Problem, genome: Genome, t) -> jax.Array:
    """THE objective of a probe circuit ``genome`` sensed for time ``t``: the QFI (scalar
    field) or ``-Tr F^-1`` (vector field; ``-inf`` if the QFIM is singular), maximized.
    Traceable and differentiable in the genome's angles, ``t`` and the problem's data;
    batch it with ``jax.vmap(score, (None, 0, None))`` (that is `make_fitness`). Concrete
    inputs are checked as `qsense.apply_pqc` and `qsense.sense` check them (the genome's
    gate codes, qubit indices and angles for ``problem.n_qubits``; ``t`` finite and >= 0)."""
    _check_problem(problem)
    _check_genome(problem, genome, 0)
    _check_t(t, problem)
    return _nan_if_invalid(_score(problem, genome, t), t, problem)


@jax.jit
def _score_pure(problem: Problem, psi: jax.Array, t) -> jax.Array:
    psi = jnp.asarray(psi)
    if psi.shape != (2**problem.n_qubits,):
        _check_state_shape(problem, psi, "psi", 1)
    psi = psi.astype(_complex_dtype(problem.dtype))
    if (problem.fast and problem.pre_channel is None and problem.post_channel is None
            and problem.post_decay is None):
        return _score_pure_fast(problem, psi, t)
    return _score_state(problem, jnp.outer(psi, jnp.conj(psi)), t)


def score_pure(problem: Problem, psi: jax.Array, t) -> jax.Array:
    """The objective from a pure probe state vector ``psi`` (2^N,): ``score_state(problem,
    psi psi^H, t)``, by the cheapest exact path (a real eigendecomposition under dephasing or
    no noise, see `_score_pure_fast`). Differentiable in ``psi`` (as a complex vector), ``t``
    and the problem's data. Concrete inputs are checked (``psi`` normalized, of N qubits;
    ``t`` finite and >= 0)."""
    _check_problem(problem)
    _check_pure(problem, psi)
    _check_t(t, problem)
    return _nan_if_invalid(_score_pure(problem, psi, t), t, problem)


def _score_pure_fast(problem: Problem, psi: jax.Array, t) -> jax.Array:
    """`score_state` of ``psi psi^H`` on the fast path without link channels. Under a diagonal
    noise (dephasing, none) the sensed state is ``diag(phase) r diag(phase)^H`` with ``r``
    real (`qsense.sensing.real_form_of_pure`), so the QFI takes the real eigendecomposition
    (`qsense.fisher.qfi_commutator`'s ``real_form``); amplitude damping keeps the complex
    one. Same values and derivatives as `score_state`; the ``lax.cond`` on `diagonal_noise`
    keeps dephasing and amplitude damping in one compiled program."""
    real = jnp.finfo(psi.dtype).dtype
    h = 0.5 * jnp.asarray(t, real) * jz_diagonal(problem.n_qubits, psi.dtype, problem.sensors)
    field = _rotating_frame_field(real)
    sops = sensing_superoperators(problem, field, t)
    n = problem.n_qubits

    # the branches take the state vector, not psi psi^H: a 2^N x 2^N operand per circuit
    # passed into a conditional costs a copy (measured 20 % of the N = 8 population time)
    def diagonal(psi):
        rho_s = jnp.outer(psi, jnp.conj(psi)) * _diagonal_mask(problem, sops)
        return qfi_commutator(rho_s, h, real_form=real_form_of_pure(psi, rho_s, field, h))

    def general(psi):
        rho_s = apply_qubit_superoperators(jnp.outer(psi, jnp.conj(psi)), sops, n)
        return qfi_commutator(rho_s, h)

    return jax.lax.cond(diagonal_noise(problem), diagonal, general, psi)


def merit(problem: Problem, genome: Genome, t) -> jax.Array:
    """The human figure of `score`: QFI (scalar field, larger is better) or
    ``QCRB = Tr F^-1`` (vector field, smaller is better)."""
    s = score(problem, genome, t)
    return s if problem.field == "scalar" else -s



_with_jitted(score_state, _score_state)
_with_jitted(score, _score)
_with_jitted(score_pure, _score_pure)


def merit_of_score(problem: Problem, value):
    """QFI or QCRB from a `score` value (numpy or JAX)."""
    return value if problem.field == "scalar" else -value


# ----------------------------------------------------------------------------- population

@jax.jit
def _population_score(problem: Problem, genomes: Genome, t) -> jax.Array:
    return jax.vmap(_score, (None, 0, None))(problem, genomes, t)


def population_score(problem: Problem, genomes: Genome, t, *,
                     memory_limit_gb: float | None = None) -> jax.Array:
    """`score` of a population (leading axis of ``genomes``) at a shared ``t``: one jitted
    program per problem `Structure` and shape (gamma, b0, noise dissipators are data).
    Concrete inputs are checked as `score` checks them (every genome of the population).

    Memory: when the program XLA compiles for the whole population needs more than a device
    may use (`qsense.distributed.program_bytes` against ``memory_limit_gb``, default the
    device's own limit or half the host's RAM: `qsense.distributed.device_memory_limit`),
    the rows are scored in chunks that fit, one compiled shape (the same values, to
    rounding); a clear error names N when not even one row fits. Decided once per shape
    (cached), so a repeated call costs the one program. Inside jit / vmap / grad the call is
    that one program as is."""
    _check_problem(problem)
    _check_genome(problem, genomes, 1, "genomes")
    _check_t(t, problem)
    chunk = None
    if is_concrete(problem, genomes, t):
        chunk = _population_chunk(problem, genomes, t, memory_limit_gb)
    if chunk is None:
        raw = _population_score(problem, genomes, t)
    else:
        raw = jnp.asarray(in_chunks(lambda g: _population_score(problem, g, t),
                                    genomes.batch_shape[0], chunk, genomes))
    return _nan_if_invalid(raw, t, problem)


def _population_chunk(problem: Problem, genomes: Genome, t,
                      memory_limit_gb: float | None) -> int | None:
    """Rows per call of `population_score` (None: all at once), cached per program shape."""
    # an explicit limit is checked first (a clear error for a bad one, e.g. unhashable)
    given = None if memory_limit_gb is None else device_memory_limit(None, memory_limit_gb)
    leaves, tree = jax.tree_util.tree_flatten((problem, genomes, t))
    key = (tree, given, tuple(
        (np.shape(x), str(getattr(x, "dtype", type(x).__name__)), getattr(x, "sharding", None))
        for x in leaves))
    if key not in _POPULATION_CHUNKS:
        sharding = getattr(genomes.angle, "sharding", None)
        devices = list(sharding.device_set) if sharding is not None else jax.devices()[:1]
        limit = given if given is not None else device_memory_limit(devices)
        need = program_bytes(_population_score, problem, genomes, t)
        rows = genomes.batch_shape[0]
        if need is None or need <= limit:
            chunk = None
        else:  # the per-device share of a row, times the devices the rows spread over
            per_row = need * len(devices) / rows
            chunk = len(devices) * rows_that_fit(problem, per_row, limit,
                                                 "population fitness")
            chunk = None if chunk >= rows else chunk
            if chunk is not None:
                log_chunks("population fitness", rows, chunk, -(-rows // chunk), need, limit)
        if len(_POPULATION_CHUNKS) > 256:
            _POPULATION_CHUNKS.clear()
        _POPULATION_CHUNKS[key] = chunk
    return _POPULATION_CHUNKS[key]


#: `_population_chunk`'s decisions, by program shape (and limit)
_POPULATION_CHUNKS: dict[Any, int | None] = {}


_with_jitted(population_score, _population_score)


def make_fitness(n_qubits: int, noise: str, field: str = "scalar", *, dtype=None,
                 batched: bool = True, jit: bool = True,
                 memory_limit_gb: float | None = None) -> Callable:
    """``f(genomes, t, gamma, b0) -> score`` for a population (leading axis of ``genomes``):
    QFI (scalar field) or ``-QCRB`` (vector field), maximized. ``t``, ``gamma``, ``b0`` are
    shared by the population (``jax.vmap`` the result again to sweep them). It is
    ``jit(vmap(score))`` (`population_score`): every ``make_fitness`` of the same shape and
    Z-covariance reuses one compiled program. Concrete arguments are checked as `score`
    checks them (genomes of ``n_qubits`` qubits, t >= 0, gamma >= 0, finite b0); traced ones
    (``f`` inside jit / vmap / grad) are not. ``memory_limit_gb``: the per-device memory a
    call may use (batched and jitted: `population_score` scores the rows in chunks that fit
    it; default the device's own limit or half the host's RAM)."""
    n_qubits = check_n_qubits(n_qubits)
    check_noise(noise)
    if field not in FIELDS:
        fail("field", field, f"one of {list(FIELDS)}")
    if memory_limit_gb is not None:
        device_memory_limit(None, memory_limit_gb)  # a bad limit is refused here, not per call

    def problem_of(gamma, b0):
        return Problem(n_qubits, noise, gamma, field, b0, dtype=dtype)

    if batched and jit:
        def f(genomes, t, gamma, b0):
            return population_score(problem_of(gamma, b0), genomes, t,
                                    memory_limit_gb=memory_limit_gb)
        f._cache_size = _population_score._cache_size  # type: ignore[attr-defined]
        return f

    def checked(problem, genomes, t, batch_ndim):
        _check_genome(problem, genomes, batch_ndim, "genomes" if batch_ndim else "genome")
        _check_t(t, problem)
        return problem

    if batched:
        def many(genomes, t, gamma, b0):
            problem = checked(problem_of(gamma, b0), genomes, t, 1)
            return _nan_if_invalid(jax.vmap(_score, (None, 0, None))(problem, genomes, t), t,
                                   problem)
        return many

    def one(genome, t, gamma, b0):
        return _score(problem_of(gamma, b0), genome, t)

    run = jax.jit(one) if jit else one

    def single(genome, t, gamma, b0):
        problem = checked(problem_of(gamma, b0), genome, t, 0)
        return _nan_if_invalid(run(genome, t, gamma, b0), t, problem)

    if jit:
        single._cache_size = run._cache_size  # type: ignore[attr-defined]
    return single


# ----------------------------------------------------------------------------- conveniences
# (the engine's historical per-genome entry points, now thin views of the objective)

def probe_state(genome: Genome, n_qubits: int, dtype=None) -> jax.Array:
    """GHZ state on ``n_qubits`` followed by the genome's PQC (a pure state vector)."""
    return probe(Problem(n_qubits, "none", 0.0, dtype=dtype), genome)


def sensed_probe(genome: Genome, field, t, gamma, *, n_qubits: int, noise: str,
                 dtype=None) -> jax.Array:
    """Density matrix of the GHZ + PQC probe after sensing ``field`` for ``t`` (no input
    validation beyond the problem's: the hot path; `qsense.sense` is the checked entry)."""
    field = as_array_if_traced(field, "field", "() for a scalar field B or (3,) for "
                               "(Bx, By, Bz)")
    kind = "scalar" if np.ndim(field) == 0 else "vector"
    p = Problem(n_qubits, noise, gamma, kind, field, dtype=dtype)
    psi = probe(p, genome)
    return sensed_state(p, jnp.outer(psi, jnp.conj(psi)), t)


def probe_qfi(genome: Genome, t, gamma, b0=1.0, *, n_qubits: int, noise: str,
              dtype=None) -> jax.Array:
    """Scalar-field QFI of the GHZ + PQC probe with respect to B at ``b0`` (= `score`)."""
    return score(Problem(n_qubits, noise, gamma, "scalar", b0, dtype=dtype), genome, t)


def probe_qfim(genome: Genome, t, gamma, b0=(0.0, 0.0, 0.0), *, n_qubits: int, noise: str,
               dtype=None) -> jax.Array:
    """Vector-field QFIM (3, 3) of the GHZ + PQC probe with respect to (Bx, By, Bz)."""
    p = Problem(n_qubits, noise, gamma, "vector", b0, dtype=dtype)
    _check_genome(p, genome, 0)
    _check_t(t, p)
    psi = probe(p, genome)
    return _nan_if_invalid(qfim_of_state(p, jnp.outer(psi, jnp.conj(psi)), t), t, p)


__all__ = [
    "FIELDS", "INITIAL_STATES", "Problem", "Structure", "Z_COVARIANT_NOISES",
    "initial_state", "is_z_covariant", "unit_dissipator", "jz_diagonal", "make_fitness", "merit",
    "merit_of_score", "population_score", "probe", "probe_qfi", "probe_qfim", "probe_state",
    "qfim_of_state", "score", "score_pure", "score_state", "sense_rho", "sensed_probe",
    "sensed_state",
    "sensing_superoperators", "diagonal_noise",
]
