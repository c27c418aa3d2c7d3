"""Angle (and sensing-time) optimization of a fixed PQC structure (seed 000, "Optimization").

Every method optimizes THE objective, `qsense.objective.score` (QFI for the scalar field,
``-Tr F^-1`` for the vector field, always maximized): the loss is ``-score``. Results report
the human figure (`OptResult.value`, ``merit_name``): the QFI (scalar, larger is better) or
``QCRB = Tr F^-1`` (vector, smaller is better). `Problem` is `qsense.objective.Problem`, a
pytree passed to the compiled programs as data: one compilation per structure and shape
serves every rate, field value and Z-covariant noise model.

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
  rho(th - 3pi/2)]``, ``c+- = (sqrt 2 +- 1) / (4 sqrt 2)``. These tangents are pushed through
  the JVP of the objective's state function (`qsense.objective.score_state`: sensing is
  linear in rho, then the QFI's gap-free tangent rule and, for the vector field,
  ``d Tr F^-1 = -Tr(F^-1 dF F^-1)``). The derivative in ``log t`` (not a gate angle) is taken by
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
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from qsense._checks import (
    NOISE_MODELS,
    check_nonneg,
    check_not_traced,
    fail,
    is_concrete,
    is_int,
)
from qsense.distributed import (
    device_memory_limit,
    in_chunks,
    log_chunks,
    pad_rows,
    padded_size,
    population_devices,
    population_sharding,
    program_bytes,
    rows_that_fit,
    shard_rows,
    to_host,
)
from qsense.genome import CRX, IDENTITY, Genome, validate_genome
from qsense.objective import (
    FIELDS,
    INITIAL_STATES,
    Problem,
    _check_problem,
    _complex_dtype,
    merit,
    merit_of_score,
    probe,
    score,
    score_state,
    sensing_limit_time,
)

METHODS = ("adam", "lbfgs", "parameter_shift", "cobyla")
GRADIENTS = ("autodiff", "parameter_shift")

_SHIFTS = np.array([np.pi / 2, -np.pi / 2, 3 * np.pi / 2, -3 * np.pi / 2])
_CP = (np.sqrt(2) + 1) / (4 * np.sqrt(2))
_CM = (np.sqrt(2) - 1) / (4 * np.sqrt(2))


def _real(problem: Problem):
    return jnp.finfo(_complex_dtype(problem.dtype)).dtype


# ----------------------------------------------------------------------------- gradients

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
    """d score / d angle (G,) by the parameter-shift rule: the shift-rule tangents of the pure
    probe pushed through the JVP of the objective's state function (`score_state`; linear
    sensing, then the QFI's tangent rule). Exact up to round-off; zero on identity genes."""
    psi = probe(problem, genome)
    rho = jnp.outer(psi, jnp.conj(psi))
    tangents = probe_angle_derivatives(problem, genome)
    return jax.vmap(lambda d: jax.jvp(lambda r: score_state(problem, r, t), (rho,), (d,))[1])(
        tangents)


def autodiff_grad(problem: Problem, genome: Genome, t) -> jax.Array:
    """d score / d angle (G,) by reverse-mode autodiff (reference for the shift rule)."""
    return jax.grad(lambda a: score(problem, dataclasses.replace(genome, angle=a), t))(
        genome.angle)


# ----------------------------------------------------------------------------- the loss

def _structure(genome: Genome) -> tuple[jax.Array, jax.Array, jax.Array]:
    return genome.gate, genome.control, genome.target


def _genome_of(angle, structure) -> Genome:
    gate, control, target = structure
    return Genome(gate, control, target, angle)


def _value(angle, log_t, structure, problem):
    return -score(problem, _genome_of(angle, structure), jnp.exp(log_t))


@jax.custom_vjp
def _ps_value(angle, log_t, structure, problem):
    return _value(angle, log_t, structure, problem)


def _ps_fwd(angle, log_t, structure, problem):
    return _value(angle, log_t, structure, problem), (angle, log_t, structure, problem)


def _ps_bwd(res, ct):
    angle, log_t, structure, problem = res
    g_angle = -parameter_shift_grad(problem, _genome_of(angle, structure), jnp.exp(log_t))
    g_t = jax.grad(_value, argnums=1)(angle, log_t, structure, problem)
    zeros = tuple(np.zeros(np.shape(s), dtype=jax.dtypes.float0) for s in structure)
    return ct * g_angle, ct * g_t, zeros, jax.tree_util.tree_map(jnp.zeros_like, problem)


_ps_value.defvjp(_ps_fwd, _ps_bwd)


def _loss_fn(gradient: str) -> Callable:
    """``loss(params, structure, problem) = -score``; with ``"parameter_shift"`` its gradient
    in the angles comes from the shift rule (custom VJP; the problem's data get no
    gradient through it)."""
    if gradient == "autodiff":
        return lambda params, structure, problem: _value(params["angle"], params["log_t"],
                                                         structure, problem)
    return lambda params, structure, problem: _ps_value(params["angle"], params["log_t"],
                                                        structure, problem)


def make_loss(problem: Problem, gradient: str = "autodiff") -> Callable:
    """``loss(params, structure) -> -score`` to minimize (``-QFI``, or ``QCRB`` for the vector
    field). ``params = {"angle": (G,), "log_t": ()}``, ``structure = (gate, control,
    target)``. With ``gradient="parameter_shift"``, ``jax.grad`` of the loss uses the shift
    rule for the angles (custom VJP)."""
    if gradient not in GRADIENTS:
        fail("gradient", gradient, f"one of {list(GRADIENTS)}")
    loss = _loss_fn(gradient)
    return lambda params, structure: loss(params, structure, problem)


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


def _check_learning_rate(learning_rate) -> None:
    """A finite step size > 0 (a negative one would climb the loss)."""
    try:
        ok = bool(np.isfinite(learning_rate) and learning_rate > 0)
    except (TypeError, ValueError):  # not a number: the same message, not a numpy error
        ok = False
    if not ok:
        fail("learning_rate", learning_rate, "a finite value > 0")


def _check_method(method: str, gradient: str | None) -> str:
    if method not in METHODS:
        fail("method", method, f"one of {list(METHODS)}")
    if gradient is None:
        gradient = "parameter_shift" if method == "parameter_shift" else "autodiff"
    if gradient not in GRADIENTS:
        fail("gradient", gradient, f"one of {list(GRADIENTS)}")
    return gradient


def _raw_step(method: str, gradient: str, learning_rate: float,
              log_t_bounds: tuple[float, float], optimize_t: bool) -> tuple[Callable, Callable]:
    """(init, step) for one restart; ``step(params, state, structure, problem)``."""
    loss = _loss_fn(gradient)
    opt = make_optimizer(method, learning_rate)
    lo, hi = log_t_bounds

    def init(params):
        return opt.init(params)

    def step(params, state, structure, problem):
        def fn(p):
            # t enters clipped to its bounds (the line search may probe far outside them) and
            # without gradient when it is fixed
            log_t = jnp.clip(p["log_t"], lo, hi)
            if not optimize_t:
                log_t = lax.stop_gradient(log_t)
            return loss({"angle": p["angle"], "log_t": log_t}, structure, problem)

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
    _check_problem(problem)
    gradient = _check_method(method, gradient)
    if method == "cobyla":
        fail("method", method, "an optax method for make_step (use optimize_angles for cobyla)")
    _check_learning_rate(learning_rate)
    validate_genome(structure, problem.n_qubits, "structure")
    init, jstep = _compiled_step(method, gradient, float(learning_rate),
                                 _log_bounds(t_bounds), bool(optimize_t))
    struct = _structure(structure)
    real = _real(problem)

    def cast(params):
        return jax.tree_util.tree_map(lambda a: jnp.asarray(a, real), params)

    def step(params, state):
        return jstep(cast(params), state, struct, problem)

    step.jitted = jstep  # type: ignore[attr-defined]  (for no-recompile checks)
    return (lambda params: init(cast(params))), step


@functools.lru_cache(maxsize=64)
def _compiled_step(method: str, gradient: str, learning_rate: float,
                   log_t_bounds: tuple[float, float], optimize_t: bool):
    init, raw = _raw_step(method, gradient, learning_rate, log_t_bounds, optimize_t)
    return init, jax.jit(raw)


def warn_near_limit(problem: Problem, t: float, who: str, dtype=None) -> None:
    """A warning when the best time ``t`` a driver found lies within a factor 2 of
    `qsense.objective.sensing_limit_time` (``dtype``: the one it scored in): its scores past
    that limit were NaN, so the optimum may lie beyond what it could score."""
    limit = sensing_limit_time(problem, dtype)
    if np.isfinite(limit) and t >= 0.5 * limit:
        warnings.warn(f"{who}: the best time t = {t:.6g} is near the sensing-scale limit t = "
                      f"{limit:.6g} (qsense.noise.max_sensing_scale; past it scores are NaN): "
                      "the optimum may lie beyond; a smaller |b0| or float64 scoring moves the "
                      "limit", stacklevel=3)


def _log_bounds(t_bounds) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in t_bounds)
    except (TypeError, ValueError):  # not two numbers: the same message, not an unpacking error
        lo = hi = float("nan")
    if not (0 < lo < hi < np.inf):
        fail("t_bounds", t_bounds, "two times (t_min, t_max) with 0 < t_min < t_max < inf")
    return float(np.log(lo)), float(np.log(hi))


@functools.lru_cache(maxsize=64)
def _compiled_run(method: str, gradient: str, learning_rate: float,
                  log_t_bounds: tuple[float, float], optimize_t: bool, steps: int) -> Callable:
    """One jitted program: all restarts (vmap) x all steps (scan), tracking the best point.
    The problem is an argument (data), so one compilation serves every noise rate, field
    value and Z-covariant noise model of the same structure."""
    init, step = _raw_step(method, gradient, learning_rate, log_t_bounds, optimize_t)
    loss = _loss_fn("autodiff")

    def run_one(params, structure, problem):
        state = init(params)

        def body(carry, _):
            params, state, best_p, best_l = carry
            new, state, aux = step(params, state, structure, problem)
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
        last_l = loss(last, structure, problem)
        better = jnp.isfinite(last_l) & (last_l < best_l)
        best_p = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), last, best_p)
        best_l = jnp.where(better, last_l, best_l)
        return best_p, best_l, hist

    return jax.jit(jax.vmap(run_one, in_axes=(0, 0, None)))


@jax.jit
def _scan_scores(problem: Problem, genomes: Genome, ts) -> jax.Array:
    return jax.vmap(jax.vmap(score, (None, None, 0)), (None, 0, None))(problem, genomes, ts)


@jax.jit
def _row_scores(problem: Problem, genomes: Genome, ts) -> jax.Array:
    """`score` of genome r at each of its own times ``ts[r]``: (R, T) for ts (R, T)."""
    return jax.vmap(jax.vmap(score, (None, None, 0)), (None, 0, 0))(problem, genomes, ts)


def _scores_in_chunks(problem: Problem, genomes: Genome, ts, memory_limit_gb,
                      per_row: bool) -> np.ndarray:
    """(R, T) scores of ``genomes`` (R,) at the times ``ts``: shared (T,) (`_scan_scores`)
    or one row per genome (R, T) (`_row_scores`). One jitted call, or chunks of genomes (and
    of times when even one genome's row does not fit) of one compiled shape when XLA's plan
    for all R x T evaluations would not fit in ``memory_limit_gb``."""
    jitted = _row_scores if per_row else _scan_scores
    n_t, n_g = int(ts.shape[-1]), genomes.batch_shape[0]
    limit = device_memory_limit(jax.devices()[:1], memory_limit_gb)
    need = program_bytes(jitted, problem, genomes, ts)
    if need is None or need <= limit:
        return to_host(jitted(problem, genomes, ts))
    evals = rows_that_fit(problem, need / (n_g * n_t), limit, "t scan")
    # whole rows of times when they fit, else one genome at a time in chunks of times
    g_chunk, t_chunk = (max(evals // n_t, 1), n_t) if evals >= n_t else (1, evals)
    log_chunks("t scan (genome x time evaluations)", n_g * n_t, g_chunk * t_chunk,
               -(-n_g // g_chunk) * -(-n_t // t_chunk), need, limit)
    cols = []
    for start in range(0, n_t, t_chunk):
        part = ts[..., start:start + t_chunk]
        k = int(part.shape[-1])
        if per_row:  # the same compiled shape for the last chunk
            part = pad_rows(part.T, t_chunk).T
            raw = in_chunks(lambda tree: jitted(problem, *tree), n_g, g_chunk,
                            (genomes, part))
        else:
            part = pad_rows(part, t_chunk)
            raw = in_chunks(lambda g, tt=part: jitted(problem, g, tt), n_g, g_chunk,
                            genomes)
        cols.append(to_host(raw)[:, :k])
    return np.concatenate(cols, axis=1)


def scan_t(problem: Problem, genomes: Genome, ts, *,
           memory_limit_gb: float | None = None) -> np.ndarray:
    """Merit (QFI or QCRB) of each genome at each time: (R, T) for genomes (R, G), ts (T,).
    One jitted, doubly vmapped call; genomes in chunks when the program XLA compiles for all
    R x T evaluations (`program_bytes`) would not fit in the default device's memory
    (``memory_limit_gb``, default: its own limit or half the host's RAM,
    `qsense.distributed.device_memory_limit`), and times in chunks when even one genome's
    would not (each chunk of the same compiled shape; the values do not change). Times past
    `qsense.objective.sensing_limit_time` score NaN, as `score` does under jit."""
    _check_problem(problem)
    genomes = _as_batch(problem, genomes)
    if np.ndim(ts) != 1 or np.shape(ts)[0] == 0:
        fail("ts", np.shape(ts), "a non-empty 1-D array of times")
    check_nonneg("ts", ts)  # what qsense.sense and score accept: finite times >= 0
    ts = jnp.asarray(ts, _real(problem))
    return merit_of_score(problem, _scores_in_chunks(problem, genomes, ts, memory_limit_gb,
                                                     per_row=False))


def best_grid_times(problem: Problem, genomes: Genome, ts, *,
                    memory_limit_gb: float | None = None) -> np.ndarray:
    """(R,) the best time of ``ts`` for each genome (largest QFI / smallest QCRB; a
    non-finite merit never wins): `scan_t`, then the per-row optimum."""
    ts = np.asarray(ts, float)
    vals = scan_t(problem, genomes, ts, memory_limit_gb=memory_limit_gb)
    vals = np.where(np.isfinite(vals), vals, -np.inf if problem.maximize else np.inf)
    return ts[np.argmax(vals, 1) if problem.maximize else np.argmin(vals, 1)]


def noise_rate(problem: Problem) -> float:
    """The largest per-qubit sensing-noise rate, ``gamma * max(noise_weights)`` (gamma when
    the weights are None): the rate that sets the scale of the optimal sensing time. 0 means
    no qubit decoheres while sensing (no finite optimum). Concrete problems only."""
    g = float(problem.gamma)
    if problem.noise_weights is None:
        return g
    return g * float(np.max(np.asarray(problem.noise_weights, float)))


def default_t_grid(problem: Problem, n: int = 24, t_bounds=(1e-3, 1e3)) -> np.ndarray:
    """Log-spaced times bracketing the noisy optimum: 0.02/r .. 5/r (clipped to
    ``t_bounds``), r = `noise_rate` (gamma unless ``noise_weights`` are set). For r = 0
    there is no finite optimum: pass times explicitly."""
    check_not_traced("default_t_grid", problem=problem)
    rate = noise_rate(problem)
    if rate <= 0:
        fail("gamma", problem.gamma, "> 0 (times the largest of noise_weights) for an "
             "automatic t grid (noiseless: give t0 and optimize_t=False, the QFI grows "
             "without bound in t)")
    lo, hi = max(0.02 / rate, t_bounds[0]), min(5.0 / rate, t_bounds[1])
    return np.geomspace(lo, hi, n)


#: samples per period of the merit's fastest oscillation in t in the lobe scan of `refine_t`
LOBE_SAMPLES = 8
#: at most this many times per restart in one lobe scan (beyond it the scan is coarser)
MAX_LOBE_TIMES = 512
_LOBES = 4  # best sampled lobes zoomed per restart (neighbouring lobes differ by < 1 %)
_ZOOM_TIMES = 16  # times per zoom round
_ZOOMS = 4  # zoom rounds: each narrows the window by (_ZOOM_TIMES - 1) / 2


def oscillation_rate(problem: Problem) -> float:
    """Angular frequency ``Omega`` bounding how fast the merit can oscillate in t: the sum
    over the qubits of the largest ``|Im lambda|`` of the single-qubit sensing generator
    (field ``s_i b0``, noise at rate gamma; `qsense.noise.generator_1q`). The N-qubit sensing
    map's eigenvalues are sums of the single-qubit ones, so the sensed state and its
    B-derivative oscillate at most at ``Omega`` and the QFI (quadratic in them) at
    ``2 Omega``: lobes about ``pi / Omega`` apart (single qubit under bit flip at B0 = 1:
    ``Omega = sqrt(1 - gamma^2 / 4)``, lobes ~3.1 apart). 0 where the merit does not
    oscillate: a scalar field under a Z-covariant noise and post channel, whose QFI does not
    depend on B0 (DESIGN section 3), or a generator with a real spectrum (e.g. a field of
    0); also 0 for a problem whose data are traced (no scan can be sized then)."""
    from qsense.noise import generator_1q

    if problem.fast or not is_concrete(problem.gamma, problem.b0, problem.sensors,
                                       problem.noise_weights):
        return 0.0
    b0 = np.asarray(problem.b0, float)
    f3 = np.array([0.0, 0.0, float(b0)]) if problem.field == "scalar" else b0
    rate_d = float(problem.gamma) * np.asarray(problem.dissipator, complex)
    n = problem.n_qubits
    weights = np.stack([  # (field weight, noise weight) of each qubit
        np.ones(n) if problem.sensors is None else np.abs(np.asarray(problem.sensors, float)),
        np.ones(n) if problem.noise_weights is None
        else np.asarray(problem.noise_weights, float)], axis=1)
    total = 0.0
    for (w, v), count in zip(*np.unique(weights, axis=0, return_counts=True), strict=True):
        gen = np.asarray(generator_1q(w * f3, v * rate_d, jnp.complex128))
        total += count * float(np.max(np.abs(np.linalg.eigvals(gen).imag)))
    return total if total > 1e-12 else 0.0


def t_span(problem: Problem, t_grid=None, t_bounds=(1e-3, 1e3)) -> tuple[float, float]:
    """The range of times `refine_t` searches: that of `default_t_grid` (which brackets the
    noisy optimum) joined with that of ``t_grid`` (the coarse grid a start time was picked
    on), or ``t_bounds`` for gamma = 0 (no finite optimum). A user grid alone is not enough:
    the optimizer's t is bounded by ``t_bounds`` only, so with ``t_grid=geomspace(1, 8, 6)``
    the answer was the lobe Adam drifted onto (single qubit, bit flip: 53.20 after 20 steps,
    56.75 after 200, for the peak 57.06 at t = 21.2, past the grid)."""
    lo_b, hi_b = (float(x) for x in np.exp(_log_bounds(t_bounds)))
    if not noise_rate(problem) > 0:
        lo, hi = lo_b, hi_b
    else:
        d = default_t_grid(problem, t_bounds=t_bounds)
        lo, hi = float(d.min()), float(d.max())
    if t_grid is not None:
        g = np.asarray(t_grid, float)
        if g.ndim != 1 or g.size == 0 or not np.all(np.isfinite(g)) or np.any(g <= 0):
            fail("t_grid", t_grid, "a non-empty 1-D array of times > 0")
        lo, hi = min(lo, float(g.min())), max(hi, float(g.max()))
    return max(lo, lo_b), min(hi, hi_b)


def _scores_at(problem: Problem, genomes: Genome, ts: np.ndarray,
               memory_limit_gb: float | None) -> np.ndarray:
    """Scores (always maximized; NaN -> -inf) of genome r at its times ``ts[r]`` (R, T)."""
    v = _scores_in_chunks(problem, genomes, jnp.asarray(ts, _real(problem)), memory_limit_gb,
                          per_row=True)
    v = np.asarray(v, float)
    return np.where(np.isnan(v), -np.inf, v)


def refine_t(problem: Problem, genomes: Genome, t, *, span: tuple[float, float],
             t_bounds: tuple[float, float] = (1e-3, 1e3),
             memory_limit_gb: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The best time of each genome in ``span`` (extended to its ``t``; within ``t_bounds``),
    its angles fixed: ``(t (R,), merit (R,))``, never below the merit at the given ``t``
    (kept unless a strictly better time is found).

    Why: where the merit oscillates in t (`oscillation_rate` > 0: bit flip, a vector field,
    a post channel that does not commute with the field), its lobes are ~``pi / Omega``
    apart, finer than a coarse log grid (24 points over 0.02/gamma..5/gamma step by 27 %,
    ~5 time units at t ~ 20), so the best grid point can sit on a lower lobe, even several
    grid steps from the best one, and a gradient step in t never leaves its lobe (a single
    qubit under bit flip, gamma = 0.1: 53.20 at t = 15.11 or 54.94 at t = 24.29 for the peak
    57.06 at t = 21.20). So ``span`` (`t_span`: the coarse grid's range) is sampled
    linearly with `LOBE_SAMPLES` times per ``pi / Omega`` (at most `MAX_LOBE_TIMES`; a
    power of two, so few shapes compile), then the best few sampled lobes are zoomed
    (`_ZOOMS` rounds of `_ZOOM_TIMES` times around the best so far) and the best wins. Where
    the merit does not oscillate (``Omega = 0``) the times come back as given. One jitted
    call per round over all rows, chunked like `scan_t` when it would not fit in memory."""
    _check_problem(problem)
    genomes = _as_batch(problem, genomes)
    r = genomes.batch_shape[0]
    t = np.broadcast_to(np.asarray(t, float), (r,)).copy()
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        fail("t", t.tolist(), "times > 0")
    try:
        lo, hi = (float(x) for x in span)
    except (TypeError, ValueError):
        lo = hi = float("nan")
    if not (0 < lo <= hi < np.inf):
        fail("span", span, "two times (t_lo, t_hi) with 0 < t_lo <= t_hi < inf")
    lo_b, hi_b = np.exp(_log_bounds(t_bounds))
    t = np.clip(t, lo_b, hi_b)
    omega = oscillation_rate(problem)
    if omega == 0.0:
        best = _scores_at(problem, genomes, t[:, None], memory_limit_gb)[:, 0]
        return t, merit_of_score(problem, best)
    lo = np.clip(np.minimum(lo, t), lo_b, hi_b)
    hi = np.clip(np.maximum(hi, t), lo_b, hi_b)
    need = np.max(hi - lo) * LOBE_SAMPLES * omega / np.pi + 1
    m = int(2 ** np.ceil(np.log2(np.clip(need, _ZOOM_TIMES, MAX_LOBE_TIMES))))
    # column 0: the given time (the merit to beat), then the linear samples of the span
    grid = np.concatenate([t[:, None], lo[:, None] + (hi - lo)[:, None]
                           * np.linspace(0.0, 1.0, m - 1)[None]], 1)
    vals = _scores_at(problem, genomes, grid, memory_limit_gb)
    best = vals[:, 0]
    grid, vals = grid[:, 1:], vals[:, 1:]
    # the best sampled lobes: local maxima of the samples (an end counts), best first
    left = np.concatenate([np.full((r, 1), -np.inf), vals[:, :-1]], 1)
    right = np.concatenate([vals[:, 1:], np.full((r, 1), -np.inf)], 1)
    peaks = np.where((vals >= left) & (vals >= right), vals, -np.inf)
    k = _LOBES
    cand = np.argsort(-peaks, axis=1, kind="stable")[:, :k]  # (R, K)
    c_t = np.take_along_axis(grid, cand, 1).ravel()
    c_v = np.take_along_axis(vals, cand, 1).ravel()
    half = np.repeat((hi - lo) / (m - 2), k)
    w_lo, w_hi = np.repeat(lo, k), np.repeat(hi, k)
    rows = jax.tree_util.tree_map(lambda a: jnp.repeat(a, k, axis=0), genomes)
    z = np.linspace(0.0, 1.0, _ZOOM_TIMES)
    for _ in range(_ZOOMS):
        a, b = np.maximum(c_t - half, w_lo), np.minimum(c_t + half, w_hi)
        zt = a[:, None] + (b - a)[:, None] * z[None]
        zv = _scores_at(problem, rows, zt, memory_limit_gb)
        j = np.argmax(zv, axis=1)
        v = zv[np.arange(zv.shape[0]), j]
        better = v > c_v
        c_t = np.where(better, zt[np.arange(zt.shape[0]), j], c_t)
        c_v = np.where(better, v, c_v)
        half = (b - a) / (_ZOOM_TIMES - 1)
    c_t, c_v = c_t.reshape(r, k), c_v.reshape(r, k)
    i = np.argmax(c_v, axis=1)
    new_t, new_v = c_t[np.arange(r), i], c_v[np.arange(r), i]
    better = new_v > best
    return (np.where(better, new_t, t),
            merit_of_score(problem, np.where(better, new_v, best)))


def _as_batch(problem: Problem, genomes: Genome) -> Genome:
    if not isinstance(genomes, Genome):
        fail("genomes", type(genomes).__name__, "a qsense.Genome of shape (G,) or (R, G)")
    validate_genome(genomes, problem.n_qubits, "genomes")
    if len(genomes.batch_shape) == 0:
        genomes = jax.tree_util.tree_map(lambda a: a[None], genomes)
    if len(genomes.batch_shape) != 1:
        fail("genomes batch shape", genomes.batch_shape, "() or (R,) restarts")
    return dataclasses.replace(genomes, angle=jnp.asarray(genomes.angle, _real(problem)))


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
                    t_bounds: tuple[float, float] = (1e-3, 1e3), t_grid=None,
                    devices=None, memory_limit_gb: float | None = None) -> OptResult:
    """Optimize the angles (and t) of each genome in ``genomes`` ((G,) or (R, G) restarts;
    the structures may differ) and return the best restart.

    ``t0``: initial time (scalar or (R,)); ``None`` picks, per restart, the best point of
    ``t_grid`` (default `default_t_grid`). ``optimize_t=False`` keeps t at ``t0``.
    Where the merit oscillates in t (`oscillation_rate` > 0: bit flip, a vector field, ...),
    a gradient step in t stays on its lobe, so each start time is first moved to its best
    lobe and, after the optimizer, each restart's time is refined again at its final angles
    (`refine_t` over the range of ``t_grid``, `t_span`: the coarse grid ``t0`` came from,
    e.g. a genetic search's): ``ts`` / ``values`` then include that last step (never below
    the optimizer's best point; ``history`` is the optimizer's own trajectory).
    ``devices`` (default: every device, ``jax.devices()``): the restarts are sharded over
    them (`qsense.distributed.population_sharding`), padded to a multiple of the device count
    with copies of restarts ``i mod R`` whose results are dropped; the numbers do not depend
    on the device count. (``cobyla`` runs on the host, unsharded.) Restarts that would not
    fit in the devices' memory at once (``memory_limit_gb`` per device, default: each
    device's own limit or half the host's RAM, `qsense.distributed.device_memory_limit`)
    run in chunks, with the same results; the t grid scan likewise.
    """
    _check_problem(problem)
    check_not_traced("optimize_angles", problem=problem, genomes=genomes, t0=t0,
                     t_grid=t_grid)
    gradient = _check_method(method, gradient)
    if not is_int(steps) or steps < 1:
        fail("steps", steps, "an integer >= 1")
    _check_learning_rate(learning_rate)
    log_bounds = _log_bounds(t_bounds)
    batch = _as_batch(problem, genomes)
    r = batch.batch_shape[0]
    real = batch.angle.dtype
    if t0 is None:
        if not optimize_t:
            fail("t0", t0, "a time > 0 when optimize_t=False")
        grid = default_t_grid(problem, t_bounds=t_bounds) if t_grid is None else t_grid
        t_init = best_grid_times(problem, batch, grid, memory_limit_gb=memory_limit_gb)
    else:
        t_init = np.broadcast_to(np.asarray(t0, float), (r,)).copy()
        if not np.all(np.isfinite(t_init)) or np.any(t_init <= 0):
            fail("t0", t0, "times > 0")
    t_init = np.clip(t_init, *np.exp(log_bounds))
    lobes = optimize_t and oscillation_rate(problem) > 0
    if lobes:  # start each restart on its best lobe in t: a gradient step never leaves one
        span = t_span(problem, t_grid, t_bounds)
        t_init, _ = refine_t(problem, batch, t_init, span=span, t_bounds=t_bounds,
                             memory_limit_gb=memory_limit_gb)
    params = {"angle": batch.angle, "log_t": jnp.asarray(np.log(t_init), real)}
    structure = _structure(batch)
    sign = -1.0 if problem.maximize else 1.0
    if method == "cobyla":
        best_angle, best_logt, best_loss, hist = _cobyla(problem, params, structure, steps,
                                                         log_bounds, optimize_t)
    else:
        run = _compiled_run(method, gradient, float(learning_rate), log_bounds,
                            bool(optimize_t), int(steps))
        devs = population_devices(devices)
        sharding = population_sharding(devs)

        def sharded(rows):
            rows = pad_rows(rows, padded_size(jax.tree_util.tree_leaves(rows)[0].shape[0],
                                              len(devs)))
            return shard_rows(rows, sharding)

        args = sharded((params, structure))
        need = program_bytes(run, *args, problem)  # per device, for all restarts at once
        limit = device_memory_limit(devs, memory_limit_gb)
        if need is None or need <= limit:
            best, best_l, h = run(*args, problem)
        else:
            per_restart = need / (args[0]["log_t"].shape[0] // len(devs))
            chunk = len(devs) * rows_that_fit(problem, per_restart, limit,
                                              f"{method} refinement")
            if chunk < r:  # (the padding rows alone may tip the plan over the limit)
                log_chunks(f"{method} refinement (restarts)", r, chunk, -(-r // chunk), need,
                           limit)
            best, best_l, h = in_chunks(lambda rows: run(*sharded(rows), problem), r, chunk,
                                        (params, structure))
        best_angle = to_host(best["angle"])[:r]
        best_logt = np.clip(to_host(best["log_t"])[:r], *log_bounds)
        best_loss, hist = to_host(best_l)[:r], to_host(h)[:r]
    genomes_out = dataclasses.replace(batch, angle=jnp.asarray(best_angle, real))
    ts = np.exp(best_logt)
    if lobes:  # the refined angles may favour another lobe; and the lobe's peak, exactly
        ts, merits = refine_t(problem, genomes_out, ts, span=span, t_bounds=t_bounds,
                              memory_limit_gb=memory_limit_gb)
        best_loss = np.where(np.isnan(merits), np.inf, sign * merits)
        best_logt = np.log(ts)
    values = sign * best_loss
    finite = np.isfinite(best_loss)
    i = int(np.argmin(np.where(finite, best_loss, np.inf)))
    at_bound = bool(optimize_t and (abs(best_logt[i] - log_bounds[0]) < 1e-9
                                    or abs(best_logt[i] - log_bounds[1]) < 1e-9))
    if optimize_t:
        warn_near_limit(problem, float(ts[i]), "optimize_angles")
    return OptResult(genome=genomes_out[i], t=float(ts[i]), value=float(values[i]),
                     genomes=genomes_out, ts=ts, values=values, history=sign * hist,
                     method=method, merit_name=problem.merit_name, t_at_bound=at_bound)


@jax.jit
def _jit_loss(params, structure, problem):
    return _loss_fn("autodiff")(params, structure, problem)


def _cobyla(problem, params, structure, steps, log_bounds, optimize_t):
    """COBYLA per restart (host loop; scipy). x = (active angles, log t)."""
    from scipy.optimize import minimize

    loss = functools.partial(_jit_loss, problem=problem)
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
    "LOBE_SAMPLES", "MAX_LOBE_TIMES", "autodiff_grad", "best_grid_times", "default_t_grid",
    "make_loss", "make_optimizer", "make_step", "merit", "optimize_angles",
    "oscillation_rate", "parameter_shift_grad", "probe", "probe_angle_derivatives",
    "program_bytes", "refine_t", "rows_that_fit", "scan_t", "score", "t_span",
]

