"""Angle (and sensing-time) optimization of a fixed PQC structure (seed 000, "Optimization").

The figure of merit of a probe ``genome`` sensed for a time ``t`` (DESIGN section 3):

* scalar field: the QFI ``F(t)`` with respect to B at ``b0`` (maximized);
* vector field: the bound ``QCRB(t) = Tr F(t)^-1`` over (Bx, By, Bz) at ``b0`` (minimized).

Trainable parameters are a pytree ``{"angle": float[G], "log_t": float[]}``: the gene angles
(radians; the angles of identity/padding genes do not enter the circuit, so their gradient is
zero and they stay put) and ``log t`` (the time is optimized jointly on a log scale and clipped
to ``t_bounds``; ``optimize_t=False`` keeps it fixed). The structure (gate codes, controls,
targets) is data, not a parameter: a batch of restarts may mix structures.

Methods, by name (`METHODS`):

* ``"adam"`` (default) and ``"lbfgs"``: optax, gradients by reverse-mode autodiff through the
  engine (the QFIM has a gap-free derivative rule, `qsense.fisher`);
* ``"parameter_shift"``: Adam whose angle gradient comes from the parameter-shift rule instead
  of autodiff (``gradient="parameter_shift"`` also works with ``"lbfgs"``). The shift rule gives
  the exact derivative of the *pure probe* ``rho(theta) = |psi><psi|`` with respect to each
  angle: two terms for Rx/Ry/Rz, ``d rho = [rho(th + pi/2) - rho(th - pi/2)] / 2``, and the
  four-term rule for CRx (generator eigenvalues 0, +-1/2; Anselmetti et al., NJP 23, 113010
  (2021)): ``d rho = c+ [rho(th + pi/2) - rho(th - pi/2)] - c- [rho(th + 3pi/2) -
  rho(th - 3pi/2)]``, ``c+- = (sqrt 2 +- 1) / (4 sqrt 2)``. Sensing is linear in rho, so the
  tangents ``(S[d rho], dS/dB[d rho])`` are pushed through the QFIM's tangent rule (the JVP of
  `qsense.fisher.qfim_from_derivatives`) and, for the vector field, through
  ``d Tr F^-1 = -Tr(F^-1 dF F^-1)``. The derivative in ``log t`` (not a gate angle) is taken by
  autodiff. The rule is wrapped in a ``jax.custom_vjp`` so any optax optimizer uses it;
* ``"cobyla"``: gradient-free, ``scipy.optimize.minimize(method="COBYLA")`` on the active
  angles and ``log t``; restarts run one after another on the host.

Training is optax-shaped: `make_step` returns ``step(params, state) -> (params, state, aux)``
jitted once per shape; `optimize_angles` runs a batch of independent restarts (one vmapped,
jitted ``lax.scan`` over the steps) and returns the best restart with the whole history.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from qsense._checks import NOISE_MODELS, check_n_qubits, check_noise, fail
from qsense.fisher import qcrb, qfim_from_derivatives
from qsense.genome import CRX, IDENTITY, Genome, validate_genome
from qsense.noise import dissipator_1q, expm_small, generator_1q
from qsense.pqc import _apply_vector
from qsense.sensing import apply_local_superoperator, as_field3
from qsense.states import basis_state, ghz_state

METHODS = ("adam", "lbfgs", "parameter_shift", "cobyla")
GRADIENTS = ("autodiff", "parameter_shift")
FIELDS = ("scalar", "vector")
INITIAL_STATES = ("ghz", "zero")

_SHIFTS = np.array([np.pi / 2, -np.pi / 2, 3 * np.pi / 2, -3 * np.pi / 2])
_CP = (np.sqrt(2) + 1) / (4 * np.sqrt(2))
_CM = (np.sqrt(2) - 1) / (4 * np.sqrt(2))


@dataclasses.dataclass(frozen=True)
class Problem:
    """What is sensed: ``n_qubits`` probes starting from ``initial`` ("ghz" as in the seed, or
    the product state "zero" = |0...0>), then the PQC, then the field (``"scalar"`` B at ``b0``,
    default 1.0, or ``"vector"`` (Bx, By, Bz) at ``b0``, default (0, 0, 0)) for a time t under
    ``noise`` at rate ``gamma`` (1/time units). Hashable: it is a static argument of jits."""

    n_qubits: int
    noise: str = "dephasing"
    gamma: float = 0.1
    field: str = "scalar"
    b0: Any = None
    initial: str = "ghz"
    dtype: Any = None

    def __post_init__(self) -> None:
        check_n_qubits(self.n_qubits)
        check_noise(self.noise)
        if self.field not in FIELDS:
            fail("field", self.field, f"one of {list(FIELDS)}")
        if self.initial not in INITIAL_STATES:
            fail("initial", self.initial, f"one of {list(INITIAL_STATES)}")
        g = float(self.gamma)
        if not np.isfinite(g) or g < 0:
            fail("gamma", self.gamma, "a finite rate >= 0")
        object.__setattr__(self, "gamma", g)
        if self.b0 is None:
            b0 = 1.0 if self.field == "scalar" else (0.0, 0.0, 0.0)
        elif self.field == "scalar":
            if np.ndim(self.b0) != 0 or not np.isfinite(float(self.b0)):
                fail("b0", self.b0, "a finite scalar field value for field='scalar'")
            b0 = float(self.b0)
        else:
            arr = np.asarray(self.b0, float)
            if arr.shape != (3,) or not np.all(np.isfinite(arr)):
                fail("b0", self.b0, "a finite (Bx, By, Bz) for field='vector'")
            b0 = tuple(float(x) for x in arr)
        object.__setattr__(self, "b0", b0)

    @property
    def maximize(self) -> bool:
        """True for the scalar QFI (maximized), False for the vector QCRB (minimized)."""
        return self.field == "scalar"

    @property
    def merit_name(self) -> str:
        return "qfi" if self.field == "scalar" else "qcrb"


def _static(problem: Problem) -> Problem:
    """The problem without its data (noise model, gamma, b0): the cache key of compiled
    programs, so that sweeps over noises, rates or fields reuse one compilation."""
    return dataclasses.replace(problem, noise="none", gamma=0.0, b0=None)


def _env(problem: Problem) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(gamma, b0, D1): the data of a problem; D1 is the 4x4 unit-rate dissipator of its
    noise model (`qsense.noise.dissipator_1q`; the generator's noise term is gamma D1)."""
    real = jnp.finfo(_dtype(problem)).dtype
    d1 = dissipator_1q(problem.noise, _dtype(problem))
    return jnp.asarray(problem.gamma, real), jnp.asarray(problem.b0, real), d1


def _dynamic(problem: Problem, env) -> Problem:
    """``problem`` with (possibly traced) gamma, b0 and jump operator from ``env``."""
    p = object.__new__(Problem)
    for f in dataclasses.fields(Problem):
        object.__setattr__(p, f.name, getattr(problem, f.name))
    object.__setattr__(p, "gamma", env[0])
    object.__setattr__(p, "b0", env[1])
    object.__setattr__(p, "_dissipator", env[2])
    return p


# ----------------------------------------------------------------------------- the merit

def _dtype(problem: Problem):
    return problem.dtype or jnp.result_type(complex)


def _initial_state(problem: Problem) -> jax.Array:
    if problem.initial == "ghz":
        return ghz_state(problem.n_qubits, _dtype(problem))
    return basis_state(problem.n_qubits, 0, _dtype(problem))


def probe(problem: Problem, genome: Genome) -> jax.Array:
    """The pure probe state: the initial state followed by the genome's PQC."""
    return _apply_vector(_initial_state(problem), genome, problem.n_qubits)


def _sense_with_derivatives(problem: Problem, rho: jax.Array, t) -> tuple[jax.Array, jax.Array]:
    """``(S_t[rho], d/dB S_t[rho])`` at ``b0``: the sensed state and its k field derivatives
    (k = 1 scalar, 3 vector). Linear in ``rho``, so it also maps tangents of rho."""
    real = jnp.finfo(rho.dtype).dtype
    t = jnp.asarray(t, real)
    gamma = jnp.asarray(problem.gamma, real)
    n = problem.n_qubits

    d1 = getattr(problem, "_dissipator", None)
    if d1 is None:
        d1 = dissipator_1q(problem.noise, rho.dtype)
    rate_d = gamma.astype(rho.dtype) * jnp.asarray(d1, rho.dtype)

    def f(b):  # the engine's sensing map (qsense.noise.superoperator_1q), noise as data
        sop = expm_small(t * generator_1q(as_field3(b), rate_d, rho.dtype))
        return apply_local_superoperator(rho, sop, n)

    b0 = jnp.asarray(problem.b0, real)
    if problem.field == "scalar":
        rho_s, d = jax.jvp(f, (b0,), (jnp.ones_like(b0),))
        return rho_s, d[None]
    rho_s = f(b0)
    drhos = jax.vmap(lambda e: jax.jvp(f, (b0,), (e,))[1])(jnp.eye(3, dtype=real))
    return rho_s, drhos


def _merit_from_sensed(problem: Problem, rho_s, drhos) -> jax.Array:
    fm = qfim_from_derivatives(rho_s, drhos)
    if problem.field == "scalar":
        return fm[0, 0]
    return qcrb(fm)


def merit(problem: Problem, genome: Genome, t) -> jax.Array:
    """QFI (scalar field) or QCRB = Tr F^-1 (vector field) of the probe sensed for ``t``.
    Traceable; jit/vmap it (a batch: ``jax.vmap(merit, (None, 0, None))``)."""
    psi = probe(problem, genome)
    rho = jnp.outer(psi, jnp.conj(psi))
    return _merit_from_sensed(problem, *_sense_with_derivatives(problem, rho, t))


def _shift_coefficients(gate: jax.Array) -> jax.Array:
    """(G, 4) coefficients of the shifted states for shifts (+pi/2, -pi/2, +3pi/2, -3pi/2)."""
    single = jnp.array([0.5, -0.5, 0.0, 0.0])
    crx = jnp.array([_CP, -_CP, -_CM, _CM])
    c = jnp.where((gate == CRX)[:, None], crx, single)
    return jnp.where((gate == IDENTITY)[:, None], 0.0, c)


def probe_angle_derivatives(problem: Problem, genome: Genome) -> jax.Array:
    """``d rho / d angle_k`` (G, D, D) of the pure probe by the parameter-shift rule."""
    g = genome.angle.shape[-1]
    real = genome.angle.dtype
    shifts = jnp.asarray(_SHIFTS, real)
    angles = (genome.angle[None, None, :]
              + jnp.eye(g, dtype=real)[:, None, :] * shifts[None, :, None])  # (G, 4, G)

    def prep(a):
        return probe(problem, dataclasses.replace(genome, angle=a))

    psi = jax.vmap(jax.vmap(prep))(angles)  # (G, 4, D)
    c = _shift_coefficients(genome.gate).astype(real)
    return jnp.einsum("ks,ksi,ksj->kij", c, psi, jnp.conj(psi))


def parameter_shift_grad(problem: Problem, genome: Genome, t) -> jax.Array:
    """d merit / d angle (G,) by the parameter-shift rule chained through the QFIM tangent
    rule (see the module docstring). Exact up to round-off; zero on identity genes."""
    psi = probe(problem, genome)
    rho = jnp.outer(psi, jnp.conj(psi))
    rho_s, drhos = _sense_with_derivatives(problem, rho, t)
    tangents = probe_angle_derivatives(problem, genome)

    def one(drho):
        t_rho_s, t_drhos = _sense_with_derivatives(problem, drho, t)
        return jax.jvp(lambda r, d: _merit_from_sensed(problem, r, d),
                       (rho_s, drhos), (t_rho_s, t_drhos))[1]

    return jax.vmap(one)(tangents)


def autodiff_grad(problem: Problem, genome: Genome, t) -> jax.Array:
    """d merit / d angle (G,) by reverse-mode autodiff (reference for the shift rule)."""
    return jax.grad(lambda a: merit(problem, dataclasses.replace(genome, angle=a), t))(
        genome.angle)


# ----------------------------------------------------------------------------- the loss

def _structure(genome: Genome) -> tuple[jax.Array, jax.Array, jax.Array]:
    return genome.gate, genome.control, genome.target


def make_loss(problem: Problem, gradient: str = "autodiff") -> Callable:
    """``loss(params, structure) -> scalar`` to minimize: ``-QFI`` (scalar) or ``QCRB``
    (vector). ``params = {"angle": (G,), "log_t": ()}``, ``structure = (gate, control,
    target)``. With ``gradient="parameter_shift"``, ``jax.grad`` of the loss uses the shift
    rule for the angles (custom VJP)."""
    if gradient not in GRADIENTS:
        fail("gradient", gradient, f"one of {list(GRADIENTS)}")
    loss = _make_env_loss(_static(problem), gradient)
    env = _env(problem)
    return lambda params, structure: loss(params, structure, env)


def _make_env_loss(problem: Problem, gradient: str) -> Callable:
    """``loss(params, structure, env)`` with ``env = (gamma, b0)`` as data."""
    sign = -1.0 if problem.maximize else 1.0
    def genome_of(angle, structure):
        gate, control, target = structure
        return Genome(gate, control, target, angle)

    def value(angle, log_t, structure, env):
        return sign * merit(_dynamic(problem, env), genome_of(angle, structure),
                            jnp.exp(log_t))

    if gradient == "autodiff":
        return lambda params, structure, env: value(params["angle"], params["log_t"],
                                                    structure, env)

    @jax.custom_vjp
    def ps_value(angle, log_t, structure, env):
        return value(angle, log_t, structure, env)

    def fwd(angle, log_t, structure, env):
        return value(angle, log_t, structure, env), (angle, log_t, structure, env)

    def bwd(res, ct):
        angle, log_t, structure, env = res
        g_angle = sign * parameter_shift_grad(_dynamic(problem, env),
                                              genome_of(angle, structure), jnp.exp(log_t))
        g_t = jax.grad(value, argnums=1)(angle, log_t, structure, env)
        zeros = tuple(np.zeros(np.shape(s), dtype=jax.dtypes.float0) for s in structure)
        return ct * g_angle, ct * g_t, zeros, jax.tree_util.tree_map(jnp.zeros_like, env)

    ps_value.defvjp(fwd, bwd)
    return lambda params, structure, env: ps_value(params["angle"], params["log_t"],
                                                   structure, env)


# ----------------------------------------------------------------------------- optax loop

def make_optimizer(method: str = "adam", learning_rate: float = 0.05,
                   ) -> optax.GradientTransformation:
    """The optax transformation behind a method name (``cobyla`` has none)."""
    if method in ("adam", "parameter_shift"):
        return optax.adam(learning_rate)
    if method == "lbfgs":
        return optax.lbfgs()
    fail("method", method, f"one of {[m for m in METHODS if m != 'cobyla']} (optax methods)")
    raise AssertionError  # pragma: no cover


def _check_method(method: str, gradient: str | None) -> str:
    if method not in METHODS:
        fail("method", method, f"one of {list(METHODS)}")
    if gradient is None:
        gradient = "parameter_shift" if method == "parameter_shift" else "autodiff"
    if gradient not in GRADIENTS:
        fail("gradient", gradient, f"one of {list(GRADIENTS)}")
    return gradient


def _raw_step(problem: Problem, method: str, gradient: str, learning_rate: float,
              log_t_bounds: tuple[float, float], optimize_t: bool) -> tuple[Callable, Callable]:
    """(init, step) for one restart; ``step(params, state, structure, env)``."""
    loss = _make_env_loss(problem, gradient)
    opt = make_optimizer(method, learning_rate)
    lo, hi = log_t_bounds

    def init(params):
        return opt.init(params)

    def step(params, state, structure, env):
        def fn(p):
            # t enters clipped to its bounds (the line search may probe far outside them) and
            # without gradient when it is fixed
            log_t = jnp.clip(p["log_t"], lo, hi)
            if not optimize_t:
                log_t = lax.stop_gradient(log_t)
            return loss({"angle": p["angle"], "log_t": log_t}, structure, env)

        if method == "lbfgs":
            value, grads = optax.value_and_grad_from_state(fn)(params, state=state)
            updates, state = opt.update(grads, state, params, value=value, grad=grads,
                                        value_fn=fn)
        else:
            value, grads = jax.value_and_grad(fn)(params)
            updates, state = opt.update(grads, state, params)
        if not optimize_t:
            updates = {**updates, "log_t": jnp.zeros_like(updates["log_t"])}
        new = optax.apply_updates(params, updates)
        # a non-finite step (e.g. a singular QFIM on the way) is rejected, never propagated
        ok = jnp.all(jnp.array([jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(new)]))
        new = jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new, params)
        aux = {"loss": value, "t": jnp.exp(jnp.clip(params["log_t"], lo, hi))}
        return new, state, aux

    return init, step


def make_step(problem: Problem, structure: Genome, *, method: str = "adam",
              gradient: str | None = None, learning_rate: float = 0.05,
              t_bounds: tuple[float, float] = (1e-3, 1e3), optimize_t: bool = True,
              ) -> tuple[Callable, Callable]:
    """optax-shaped training of one fixed structure: returns ``(init, step)`` with
    ``state = init(params)`` and ``params, state, aux = step(params, state)``, where
    ``params = {"angle": float[G], "log_t": float[]}`` and ``aux = {"loss", "t"}`` (loss at the
    incoming params: -QFI or QCRB). ``step`` is jitted once per shape; the structure is passed
    to it as data, so a new structure of the same shape does not recompile."""
    gradient = _check_method(method, gradient)
    if method == "cobyla":
        fail("method", method, "an optax method for make_step (use optimize_angles for cobyla)")
    validate_genome(structure, problem.n_qubits, "structure")
    init, jstep = _compiled_step(_static(problem), method, gradient, float(learning_rate),
                                 _log_bounds(t_bounds), bool(optimize_t))
    struct, env = _structure(structure), _env(problem)
    real = jnp.finfo(_dtype(problem)).dtype

    def cast(params):
        return jax.tree_util.tree_map(lambda a: jnp.asarray(a, real), params)

    def step(params, state):
        return jstep(cast(params), state, struct, env)

    step.jitted = jstep  # type: ignore[attr-defined]  (for no-recompile checks)
    return (lambda params: init(cast(params))), step


@functools.lru_cache(maxsize=64)
def _compiled_step(problem: Problem, method: str, gradient: str, learning_rate: float,
                   log_t_bounds: tuple[float, float], optimize_t: bool):
    init, raw = _raw_step(problem, method, gradient, learning_rate, log_t_bounds, optimize_t)
    return init, jax.jit(raw)


def _log_bounds(t_bounds) -> tuple[float, float]:
    lo, hi = (float(x) for x in t_bounds)
    if not (0 < lo < hi < np.inf):
        fail("t_bounds", t_bounds, "0 < t_min < t_max < inf")
    return float(np.log(lo)), float(np.log(hi))


@functools.lru_cache(maxsize=64)
def _compiled_run(problem: Problem, method: str, gradient: str, learning_rate: float,
                  log_t_bounds: tuple[float, float], optimize_t: bool, steps: int) -> Callable:
    """One jitted program: all restarts (vmap) x all steps (scan), tracking the best point."""
    init, step = _raw_step(problem, method, gradient, learning_rate, log_t_bounds, optimize_t)
    loss = _make_env_loss(problem, "autodiff")

    def run_one(params, structure, env):
        state = init(params)

        def body(carry, _):
            params, state, best_p, best_l = carry
            new, state, aux = step(params, state, structure, env)
            lv = aux["loss"]
            better = jnp.isfinite(lv) & (lv < best_l)
            best_p = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), params, best_p)
            best_l = jnp.where(better, lv, best_l)
            return (new, state, best_p, best_l), lv

        inf = jnp.asarray(jnp.inf, params["log_t"].dtype)
        (last, _, best_p, best_l), hist = lax.scan(body, (params, state, params, inf), None,
                                                   length=steps)
        lo, hi = log_t_bounds
        last = {**last, "log_t": jnp.clip(last["log_t"], lo, hi)}
        last_l = loss(last, structure, env)
        better = jnp.isfinite(last_l) & (last_l < best_l)
        best_p = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), last, best_p)
        best_l = jnp.where(better, last_l, best_l)
        return best_p, best_l, hist

    return jax.jit(jax.vmap(run_one, in_axes=(0, 0, None)))


@functools.lru_cache(maxsize=64)
def _compiled_scan_t(problem: Problem) -> Callable:
    def one(genome, t, env):
        return merit(_dynamic(problem, env), genome, t)

    return jax.jit(jax.vmap(jax.vmap(one, (None, 0, None)), (0, None, None)))


def scan_t(problem: Problem, genomes: Genome, ts) -> np.ndarray:
    """Merit (QFI or QCRB) of each genome at each time: (R, T) for genomes (R, G), ts (T,).
    One jitted, doubly vmapped call."""
    genomes = _as_batch(problem, genomes)
    ts = jnp.asarray(ts, jnp.finfo(_dtype(problem)).dtype)
    return np.asarray(_compiled_scan_t(_static(problem))(genomes, ts, _env(problem)))


def default_t_grid(problem: Problem, n: int = 24, t_bounds=(1e-3, 1e3)) -> np.ndarray:
    """Log-spaced times bracketing the noisy optimum: 0.02/gamma .. 5/gamma (clipped to
    ``t_bounds``). For gamma = 0 there is no finite optimum: pass times explicitly."""
    if problem.gamma <= 0:
        fail("gamma", problem.gamma, "> 0 for an automatic t grid (noiseless: give t0 and "
             "optimize_t=False, the QFI grows without bound in t)")
    lo, hi = max(0.02 / problem.gamma, t_bounds[0]), min(5.0 / problem.gamma, t_bounds[1])
    return np.geomspace(lo, hi, n)


def _as_batch(problem: Problem, genomes: Genome) -> Genome:
    if not isinstance(genomes, Genome):
        fail("genomes", type(genomes).__name__, "a qsense.Genome of shape (G,) or (R, G)")
    validate_genome(genomes, problem.n_qubits, "genomes")
    if len(genomes.batch_shape) == 0:
        genomes = jax.tree_util.tree_map(lambda a: a[None], genomes)
    if len(genomes.batch_shape) != 1:
        fail("genomes batch shape", genomes.batch_shape, "() or (R,) restarts")
    real = jnp.finfo(_dtype(problem)).dtype
    return dataclasses.replace(genomes, angle=jnp.asarray(genomes.angle, real))


@dataclasses.dataclass
class OptResult:
    """Best restart of an angle optimization (``genome``, ``t``, ``value`` = QFI or QCRB) and
    per-restart outcomes: ``genomes`` (R, G), ``ts`` (R,), ``values`` (R,), ``history``
    (R, steps) of the merit along each trajectory. ``t_at_bound``: the optimal time sits on a
    ``t_bounds`` end (no interior optimum found)."""

    genome: Genome
    t: float
    value: float
    genomes: Genome
    ts: np.ndarray
    values: np.ndarray
    history: np.ndarray
    method: str
    merit_name: str
    t_at_bound: bool


def optimize_angles(problem: Problem, genomes: Genome, *, method: str = "adam",
                    gradient: str | None = None, steps: int = 200,
                    learning_rate: float = 0.05, t0=None, optimize_t: bool = True,
                    t_bounds: tuple[float, float] = (1e-3, 1e3), t_grid=None) -> OptResult:
    """Optimize the angles (and t) of each genome in ``genomes`` ((G,) or (R, G) restarts;
    the structures may differ) and return the best restart.

    ``t0``: initial time (scalar or (R,)); ``None`` picks, per restart, the best point of
    ``t_grid`` (default `default_t_grid`). ``optimize_t=False`` keeps t at ``t0``.
    """
    gradient = _check_method(method, gradient)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        fail("steps", steps, "an integer >= 1")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        fail("learning_rate", learning_rate, "a finite value > 0")
    log_bounds = _log_bounds(t_bounds)
    batch = _as_batch(problem, genomes)
    r = batch.batch_shape[0]
    real = batch.angle.dtype
    if t0 is None:
        if not optimize_t:
            fail("t0", t0, "a time > 0 when optimize_t=False")
        grid = default_t_grid(problem, t_bounds=t_bounds) if t_grid is None else np.asarray(
            t_grid, float)
        vals = scan_t(problem, batch, grid)
        vals = np.where(np.isfinite(vals), vals, -np.inf if problem.maximize else np.inf)
        pick = np.argmax(vals, 1) if problem.maximize else np.argmin(vals, 1)
        t_init = grid[pick]
    else:
        t_init = np.broadcast_to(np.asarray(t0, float), (r,)).copy()
        if not np.all(np.isfinite(t_init)) or np.any(t_init <= 0):
            fail("t0", t0, "times > 0")
    t_init = np.clip(t_init, *np.exp(log_bounds))
    params = {"angle": batch.angle, "log_t": jnp.asarray(np.log(t_init), real)}
    structure = _structure(batch)
    sign = -1.0 if problem.maximize else 1.0
    if method == "cobyla":
        best_angle, best_logt, best_loss, hist = _cobyla(problem, params, structure, steps,
                                                         log_bounds, optimize_t)
    else:
        run = _compiled_run(_static(problem), method, gradient, float(learning_rate),
                            log_bounds, bool(optimize_t), int(steps))
        best, best_l, h = run(params, structure, _env(problem))
        best_angle = np.asarray(best["angle"])
        best_logt = np.clip(np.asarray(best["log_t"]), *log_bounds)
        best_loss, hist = np.asarray(best_l), np.asarray(h)
    values = sign * best_loss
    finite = np.isfinite(best_loss)
    i = int(np.argmin(np.where(finite, best_loss, np.inf)))
    genomes_out = dataclasses.replace(batch, angle=jnp.asarray(best_angle, real))
    ts = np.exp(best_logt)
    at_bound = bool(optimize_t and (abs(best_logt[i] - log_bounds[0]) < 1e-9
                                    or abs(best_logt[i] - log_bounds[1]) < 1e-9))
    return OptResult(genome=genomes_out[i], t=float(ts[i]), value=float(values[i]),
                     genomes=genomes_out, ts=ts, values=values, history=sign * hist,
                     method=method, merit_name=problem.merit_name, t_at_bound=at_bound)


def _cobyla(problem, params, structure, steps, log_bounds, optimize_t):
    """COBYLA per restart (host loop; scipy). x = (active angles, log t)."""
    from scipy.optimize import minimize

    loss = jax.jit(make_loss(problem, "autodiff"))
    angles = np.asarray(params["angle"])
    logts = np.asarray(params["log_t"])
    best_a, best_t, best_l, hists = angles.copy(), logts.copy(), np.full(len(logts), np.inf), []
    gates = np.asarray(structure[0])
    for k in range(len(logts)):
        st = tuple(s[k] for s in structure)
        active = np.flatnonzero(gates[k] != IDENTITY)
        hist: list[float] = []

        def unpack(x, k=k, active=active):
            a = angles[k].copy()
            a[active] = x[: len(active)]
            lt = float(np.clip(x[-1], *log_bounds)) if optimize_t else float(logts[k])
            return a, lt

        def fun(x, st=st, unpack=unpack, hist=hist):
            a, lt = unpack(x)
            v = float(loss({"angle": jnp.asarray(a), "log_t": jnp.asarray(lt)}, st))
            hist.append(v)
            return v if np.isfinite(v) else 1e300

        x0 = np.concatenate([angles[k][active], [logts[k]]])
        res = minimize(fun, x0, method="COBYLA", options={"maxiter": int(steps), "rhobeg": 0.3})
        a, lt = unpack(res.x)
        v = float(loss({"angle": jnp.asarray(a), "log_t": jnp.asarray(lt)}, st))
        start = hist[0] if hist else np.inf
        if not v <= start:  # COBYLA's last point is its best; keep the start if it was better
            a, lt, v = angles[k], float(logts[k]), start
        best_a[k], best_t[k], best_l[k] = a, lt, v
        hists.append(hist)
    width = max(len(h) for h in hists)
    hist_arr = np.array([h + [h[-1]] * (width - len(h)) for h in hists])
    return best_a, best_t, best_l, hist_arr


__all__ = [
    "FIELDS", "GRADIENTS", "INITIAL_STATES", "METHODS", "NOISE_MODELS", "OptResult", "Problem",
    "autodiff_grad", "default_t_grid", "make_loss", "make_optimizer", "make_step", "merit",
    "optimize_angles", "parameter_shift_grad", "probe", "probe_angle_derivatives", "scan_t",
]

