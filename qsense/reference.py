"""Reference optima: the best product probe and the best pure probe of a sensing cell.

A *cell* is (n_qubits, noise, gamma, field, b0) with the conventions of DESIGN section 3. The
figure of merit of a pure probe ``psi`` sensed for a time ``t`` is computed with the public
engine only, ``qsense.qfi(lambda b: qsense.sense(psi, b, t, noise, gamma), b0)`` (scalar field)
or ``qsense.qcrb(qsense.qfim(...))`` (vector field), so a reference shares nothing with the VQS
circuit search but the physics:

* scalar field: ``value`` = the QFI ``F`` (maximized), ``qcrb = 1 / F``;
* vector field: ``value`` = ``qcrb`` = ``Tr F^-1`` over (Bx, By, Bz) (minimized).

Both optimizers include the sensing time (on a log scale, inside ``t_bounds`` = [1e-3, 20] / gamma
by default) and run batched, jitted multi-starts (``jax.vmap`` over restarts of one ``lax.scan`` of
Adam steps, compiled once per (N, noise, field, restarts, steps)), then polish the best few
restarts with ``scipy`` L-BFGS-B on the same jitted loss:

* `best_product_probe`: every qubit's own pure state (Bloch angles theta_i, phi_i) and t. The
  QFIM of a product state under a product channel is the sum of the one-qubit QFIMs, so the
  objective costs N one-qubit evaluations for any N (scalar field: N x the one-qubit optimum;
  vector field: qubits can share the three directions).
* `best_pure_probe`: the 2^N complex amplitudes (normalized in the loss) and t; seeded with GHZ
  (with relative phases), |+>^N under random local rotations, caller-given states (the best product
  probe, VQS probes) and Haar-random states, across a log grid of times.

`reference_probes` runs both (the pure search seeded with the product optimum, so
``pure >= product`` by construction). Each result carries the values of all restarts as evidence
(DESIGN section 9): a reference is a lower bound on the true optimum found by local search; the
channel-extension bound (`qsense.bounds`) is the matching upper bound.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from qsense._checks import MAX_QUBITS, check_n_qubits, check_noise, fail, is_int, is_real
from qsense.fisher import qcrb, qfi, qfim
from qsense.objective import Problem, qfim_of_state, score_pure
from qsense.sensing import sense
from qsense.states import density

FIELDS = ("scalar", "vector")
KINDS = ("product", "pure")


@dataclasses.dataclass(frozen=True)
class ReferenceConfig:
    """Settings of a reference optimization (all counts per cell).

    restarts: independent starts (vmapped); steps: Adam steps per start; learning_rate: Adam
    step on amplitudes / angles and log t (cosine-decayed to 1 %); polish: best starts refined
    by L-BFGS-B (0: none) for ``polish_iter`` iterations; t_bounds: (t_min, t_max) x 1/gamma;
    seed: PRNG seed of the random starts.
    """

    restarts: int = 24
    steps: int = 300
    learning_rate: float = 0.05
    polish: int = 3
    polish_iter: int = 300
    t_bounds: tuple[float, float] = (1e-3, 20.0)
    seed: int = 0

    def __post_init__(self) -> None:
        def whole(name: str, lo: int, hi: float, accepted: str) -> None:
            v = getattr(self, name)
            if not (is_int(v) and lo <= v <= hi):
                fail(name, v, accepted)

        whole("restarts", 1, np.inf, "an integer >= 1")
        whole("steps", 0, np.inf, "an integer >= 0")
        lr = self.learning_rate
        if not (is_real(lr) and np.isfinite(lr) and lr > 0):
            fail("learning_rate", lr, "a finite value > 0")
        whole("polish", 0, self.restarts, f"an integer in [0, restarts={self.restarts}]")
        whole("polish_iter", 1, np.inf, "an integer >= 1")
        lo, hi = (float(x) for x in self.t_bounds)
        if not 0 < lo < hi < np.inf:
            fail("t_bounds", self.t_bounds,
                 "(t_min, t_max) x 1/gamma with 0 < t_min < t_max < inf")
        object.__setattr__(self, "t_bounds", (lo, hi))


@dataclasses.dataclass(frozen=True)
class ReferenceResult:
    """A reference optimum of one cell.

    value: QFI (scalar field, per unit B^2) or Tr F^-1 (vector field); qcrb: 1/QFI or Tr F^-1;
    t: optimal sensing time (units of 1/gamma's time); state: the probe (complex[2^N], only for
    N <= `STATE_MAX_QUBITS` for product probes, always for pure); local_states: (N, 2) one-qubit
    states of a product probe (None for pure); restart_values: final value of every restart
    (evidence of convergence); t_at_bound: the optimal t sits on a ``t_bounds`` edge.
    """

    kind: str
    n_qubits: int
    noise: str
    gamma: float
    field: str
    b0: Any
    value: float
    qcrb: float
    t: float
    state: np.ndarray | None
    local_states: np.ndarray | None
    restart_values: np.ndarray
    t_at_bound: bool


#: largest N for which a product result also carries the full 2^N state vector
STATE_MAX_QUBITS = 12


# ------------------------------------------------------------------------ the figure of merit

def probe_value(state, t, noise: str, gamma, field: str = "scalar", b0=None) -> jax.Array:
    """QFI (scalar field) or Tr F^-1 (vector field) of the pure or mixed ``state`` sensed for
    ``t`` at rate ``gamma``, taken at ``b0`` (default 1.0 / (0, 0, 0)); the public engine path.
    Traceable (jit/vmap/grad)."""
    if field not in FIELDS:
        fail("field", field, f"one of {list(FIELDS)}")
    b0 = _default_b0(field, b0)
    if field == "scalar":
        return qfi(lambda b: sense(state, b, t, noise, gamma), b0)
    return qcrb(qfim(lambda b: sense(state, b, t, noise, gamma), b0))


def _default_b0(field: str, b0):
    if b0 is None:
        return 1.0 if field == "scalar" else (0.0, 0.0, 0.0)
    return b0


def _check_cell(n_qubits, noise, gamma, field, b0):
    n = check_n_qubits(n_qubits)
    check_noise(noise)
    if noise == "none":
        fail("noise", noise, "a noise model (without noise the QFI grows as t^2 and has no "
             "finite optimal time)")
    g = float(gamma)
    if not np.isfinite(g) or g <= 0:
        fail("gamma", gamma, "a finite rate > 0 (the optimal time scales as 1/gamma)")
    if field not in FIELDS:
        fail("field", field, f"one of {list(FIELDS)}")
    b0 = _default_b0(field, b0)
    if field == "scalar":
        if np.ndim(b0) != 0 or not np.isfinite(float(b0)):
            fail("b0", b0, "a finite scalar field for field='scalar'")
        b0 = float(b0)
    else:
        arr = np.asarray(b0, float)
        if arr.shape != (3,) or not np.all(np.isfinite(arr)):
            fail("b0", b0, "a finite (Bx, By, Bz) for field='vector'")
        b0 = tuple(float(x) for x in arr)
    return n, g, b0


def _loss_of(value, field):
    """Minimized loss: -log F (scalar) or log Tr F^-1 (vector); scale-free across N, gamma."""
    if field == "scalar":
        return -jnp.log(jnp.maximum(value, 1e-300))
    return jnp.log(jnp.where(jnp.isfinite(value), value, 1e300))


# --------------------------------------------------------------------------- parametrizations

def _pure_state(x, d):
    z = x[:d] + 1j * x[d:2 * d]
    return z / jnp.sqrt(jnp.sum(jnp.abs(z) ** 2))


def _qubit_state(theta, phi):
    return jnp.stack([jnp.cos(theta / 2), jnp.exp(1j * phi) * jnp.sin(theta / 2)])


def _product_vector(local):
    """Kronecker product of one-qubit states (N, 2) -> (2^N,), qubit 0 most significant."""
    out = local[0]
    for q in range(1, local.shape[0]):  # static N, only to build a result (not a hot path)
        out = jnp.kron(out, local[q])
    return out


def _product_fisher(x, n, problem1):
    """Additive QFI(M) of the product probe with Bloch angles x[:n], x[n:2n] at t = exp(x[-1]);
    ``problem1`` is the one-qubit `qsense.Problem` of the cell."""
    t = jnp.exp(x[-1])
    states = jax.vmap(_qubit_state)(x[:n], x[n:2 * n])
    if problem1.field == "scalar":
        return jnp.sum(jax.vmap(lambda s: score_pure(problem1, s, t))(states))
    fs = jax.vmap(lambda s: qfim_of_state(problem1, density(s), t))(states)
    return qcrb(jnp.sum(fs, axis=0))


def _pure_value(x, n, problem):
    """QFI or Tr F^-1 of the normalized amplitudes x[:2^N] + i x[2^N:2^(N+1)] at exp(x[-1]):
    the VQS objective itself (`qsense.objective.score_pure`) on the state instead of a PQC."""
    psi = _pure_state(x, 2**n)
    s = score_pure(problem, psi, jnp.exp(x[-1]))
    return s if problem.field == "scalar" else -s


_VALUE_FNS = {"product": _product_fisher, "pure": _pure_value}


def _cell_problem(kind, n, noise, gamma, field, b0):
    """The `qsense.Problem` a value function takes: one qubit for product probes (additive)."""
    return Problem(1 if kind == "product" else n, noise, gamma, field, b0=b0)


# ------------------------------------------------------------------------------ optimization

@functools.lru_cache(maxsize=64)
def _compiled(kind: str, n: int, field: str, steps: int, lr: float):
    """(adam_batch, value_and_grad) jitted for one shape; the `qsense.Problem` (a pytree: noise
    as its dissipator, gamma, b0) and the log-t bounds are traced data, so a sweep over rates
    and noises reuses the compilation (one per `Problem` structure: Z-covariant or not)."""
    value_fn = _VALUE_FNS[kind]

    def loss(x, problem, lo, hi):
        x = x.at[-1].set(jnp.clip(x[-1], lo, hi))
        return _loss_of(value_fn(x, n, problem), field)

    sched = optax.cosine_decay_schedule(lr, max(steps, 1), alpha=0.01)
    opt = optax.adam(sched)

    def run_one(x0, problem, lo, hi):
        def step(carry, _):
            x, s = carry
            g = jax.grad(loss)(x, problem, lo, hi)
            g = jnp.where(jnp.isfinite(g), g, 0.0)
            u, s = opt.update(g, s, x)
            x = optax.apply_updates(x, u)
            return (x.at[-1].set(jnp.clip(x[-1], lo, hi)), s), None

        (x, _), _ = lax.scan(step, (x0, opt.init(x0)), None, length=steps)
        return x

    def run_and_score(x0, problem, lo, hi):
        x = run_one(x0, problem, lo, hi)
        return x, loss(x, problem, lo, hi)

    # two programs per shape: the batched Adam runs (with their final losses) and the loss
    # with its gradient (L-BFGS-B polish, final values)
    adam_batch = jax.jit(jax.vmap(run_and_score, in_axes=(0, None, None, None)))
    vg = jax.jit(jax.value_and_grad(loss))
    return adam_batch, vg


def _optimize(kind, n, noise, gamma, field, b0, x0, cfg: ReferenceConfig):
    """Adam on every start, then L-BFGS-B on the best ``cfg.polish``; returns (x_best, values)."""
    import scipy.optimize as so

    real = jnp.result_type(float)
    adam_batch, vg = _compiled(kind, n, field, int(cfg.steps), float(cfg.learning_rate))
    prob = _cell_problem(kind, n, noise, gamma, field, b0)
    lo = float(np.log(cfg.t_bounds[0] / gamma))
    hi = float(np.log(cfg.t_bounds[1] / gamma))
    x0 = jnp.asarray(x0, real)
    x0 = x0.at[:, -1].set(jnp.clip(x0[:, -1], lo, hi))
    xs, losses = adam_batch(x0, prob, lo, hi)
    sign = 1.0 if field == "scalar" else -1.0
    vals = np.exp(-sign * np.asarray(losses, float))  # loss = -log F or log Tr F^-1
    score = np.where(np.isfinite(vals), sign * vals, -np.inf)
    order = np.argsort(-score)
    xs = np.array(xs)
    for i in order[:cfg.polish]:
        def fun(x):
            v, gr = vg(jnp.asarray(x), prob, lo, hi)
            gr = np.asarray(gr, float)
            return float(v), np.where(np.isfinite(gr), gr, 0.0)

        bounds = [(None, None)] * (xs.shape[1] - 1) + [(lo, hi)]
        try:
            r = so.minimize(fun, xs[i], jac=True, method="L-BFGS-B", bounds=bounds,
                            options={"maxiter": cfg.polish_iter})
            xi = r.x
        except (ValueError, FloatingPointError):  # keep the Adam point
            continue
        vi = float(np.exp(-sign * float(vg(jnp.asarray(xi), prob, lo, hi)[0])))
        if np.isfinite(vi) and sign * vi > score[i]:
            xs[i], vals[i], score[i] = xi, vi, sign * vi
    best = int(np.argmax(score))
    return xs[best], vals, (lo, hi)


def _t_grid(k: int, n: int, gamma: float, rng) -> np.ndarray:
    """Log-spaced starting times from ~0.3/(N gamma) (GHZ-like) to ~1.5/gamma (product-like),
    shuffled so that each kind of starting state meets several times."""
    ts = np.geomspace(0.3 / (n * gamma), 1.5 / gamma, max(k, 1))
    return np.log(rng.permutation(ts)[:k])


def best_product_probe(n_qubits: int, noise: str, gamma: float, field: str = "scalar",
                       b0=None, config: ReferenceConfig | None = None) -> ReferenceResult:
    """The best product probe ``|psi_1> (x) ... (x) |psi_N>`` and sensing time of a cell.

    Starts: |+> on every qubit (Bloch angles (pi/2, 0)), then random Bloch angles, times on a
    log grid. Returns a `ReferenceResult` with ``local_states`` (N, 2).
    """
    n, gamma, b0 = _check_cell(n_qubits, noise, gamma, field, b0)
    cfg = config or ReferenceConfig()
    rng = np.random.default_rng(cfg.seed)
    r = cfg.restarts
    ang = np.concatenate([rng.uniform(0, np.pi, (r, n)), rng.uniform(-np.pi, np.pi, (r, n))], 1)
    ang[0, :n], ang[0, n:] = np.pi / 2, 0.0  # |+>^N
    if r > 1:  # |+i>^N: Y-polarized
        ang[1, :n], ang[1, n:] = np.pi / 2, np.pi / 2
    x0 = np.concatenate([ang, _t_grid(r, n, gamma, rng)[:, None]], 1)
    x, vals, (lo, hi) = _optimize("product", n, noise, gamma, field, b0, x0, cfg)
    local = np.asarray(jax.vmap(_qubit_state)(jnp.asarray(x[:n]), jnp.asarray(x[n:2 * n])))
    state = np.asarray(_product_vector(jnp.asarray(local))) if n <= STATE_MAX_QUBITS else None
    return _result("product", n, noise, gamma, field, b0, x, vals, lo, hi, state, local)


def _result(kind, n, noise, gamma, field, b0, x, vals, lo, hi, state, local):
    real = jnp.result_type(float)
    x = jnp.asarray(x, real).at[-1].set(jnp.clip(x[-1], lo, hi))
    value = float(_VALUE_FNS[kind](x, n, _cell_problem(kind, n, noise, gamma, field, b0)))
    t = float(np.exp(x[-1]))
    at_bound = bool(min(abs(float(x[-1]) - lo), abs(float(x[-1]) - hi)) < 1e-6)
    return ReferenceResult(kind=kind, n_qubits=n, noise=noise, gamma=gamma, field=field, b0=b0,
                           value=value, qcrb=1.0 / value if field == "scalar" else value, t=t,
                           state=state, local_states=local, restart_values=np.asarray(vals),
                           t_at_bound=at_bound)


def seed_states(n_qubits: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` starting states (k, 2^N): GHZ with relative phases 0, pi/2, then |+>^N under
    random local rotations of growing size, then Haar-random states (alternating)."""
    n, d = n_qubits, 2**n_qubits
    out = []
    for phase in (0.0, np.pi / 2):
        v = np.zeros(d, complex)
        v[0], v[-1] = 1, np.exp(1j * phase)
        out.append(v / np.sqrt(2))
    i = 0
    while len(out) < k:
        if i % 2 == 0:
            scale = 0.15 + 0.6 * rng.random()
            th = np.pi / 2 + scale * rng.standard_normal(n)
            ph = scale * rng.standard_normal(n)
            v = np.array([1.0 + 0j])
            for q in range(n):
                v = np.kron(v, [np.cos(th[q] / 2), np.exp(1j * ph[q]) * np.sin(th[q] / 2)])
        else:
            v = rng.standard_normal(d) + 1j * rng.standard_normal(d)
            v /= np.linalg.norm(v)
        out.append(v)
        i += 1
    return np.stack(out[:k])


def best_pure_probe(n_qubits: int, noise: str, gamma: float, field: str = "scalar", b0=None,
                    config: ReferenceConfig | None = None, initial=None,
                    initial_t=None) -> ReferenceResult:
    """The best pure probe found by optimizing the 2^N state vector and t directly.

    ``initial``: optional starting states (k, 2^N), k <= restarts - 2 (e.g. the best product
    probe or a VQS probe), each started at ``initial_t`` (k,) when given (else on the time
    grid); they replace the last k of the ``config.restarts`` generic starts (`seed_states`).
    Cost per Adam step: one QFI(M) of a 2^N density matrix per start, so N <= 6 runs in
    seconds to a minute on a CPU; N up to `MAX_QUBITS` is allowed.
    """
    n, gamma, b0 = _check_cell(n_qubits, noise, gamma, field, b0)
    cfg = config or ReferenceConfig()
    if n > MAX_QUBITS:
        fail("n_qubits", n_qubits, f"<= {MAX_QUBITS}")
    d = 2**n
    rng = np.random.default_rng(cfg.seed)
    states = seed_states(n, cfg.restarts, rng)
    logt = _t_grid(cfg.restarts, n, gamma, rng)
    if initial is not None:  # caller's starts replace the last generic ones (one batch shape)
        init = np.asarray(initial, complex).reshape(-1, d)
        k = len(init)
        if k > cfg.restarts - 2:
            fail("initial", f"{k} states", f"at most restarts - 2 = {cfg.restarts - 2} "
                 "(GHZ seeds are always kept)")
        states[cfg.restarts - k:] = init / np.linalg.norm(init, axis=1, keepdims=True)
        if initial_t is not None:
            it = np.broadcast_to(np.asarray(initial_t, float), (k,))
            if not np.all(it > 0):
                fail("initial_t", initial_t, "times > 0")
            logt[cfg.restarts - k:] = np.log(it)
    psi0 = states
    x0 = np.concatenate([psi0.real, psi0.imag, logt[:, None]], 1)
    x, vals, (lo, hi) = _optimize("pure", n, noise, gamma, field, b0, x0, cfg)
    state = np.asarray(_pure_state(jnp.asarray(x), d))
    return _result("pure", n, noise, gamma, field, b0, x, vals, lo, hi, state, None)


def reference_probes(n_qubits: int, noise: str, gamma: float, field: str = "scalar", b0=None,
                     config: ReferenceConfig | None = None, initial=None,
                     initial_t=None) -> dict[str, ReferenceResult]:
    """``{"product": best_product_probe(...), "pure": best_pure_probe(...)}`` for one cell;
    the pure search also starts from the product optimum (and from ``initial``), so the pure
    reference is never below the product one."""
    prod = best_product_probe(n_qubits, noise, gamma, field, b0, config)
    init = [prod.state]
    ts = [prod.t]
    if initial is not None:
        extra = np.asarray(initial, complex).reshape(-1, 2**int(n_qubits))
        init.extend(extra)
        ts.extend(np.broadcast_to(prod.t if initial_t is None else np.asarray(initial_t, float),
                                  (len(extra),)))
    pure = best_pure_probe(n_qubits, noise, gamma, field, b0, config, initial=np.stack(init),
                           initial_t=np.asarray(ts, float))
    better = pure.value >= prod.value if field == "scalar" else pure.value <= prod.value
    if not better:  # cannot happen unless the optimizer left its start; keep the product point
        pure = dataclasses.replace(prod, kind="pure", local_states=None)
    return {"product": prod, "pure": pure}
