"""Angle/time optimization: known optima, parameter-shift == autodiff == finite differences,
the optax loop, restarts, bad input."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsense import CRX, IDENTITY, RX, RY, RZ, empty_genome, make_genome, random_genome
from qsense.fisher import qcrb
from qsense.objective import probe_qfi, probe_qfim
from qsense.optimize import (
    Problem,
    autodiff_grad,
    best_grid_times,
    make_step,
    merit,
    optimize_angles,
    parameter_shift_grad,
    scan_t,
    score,
)


def _random_circuit(seed: int, n: int, g: int):
    """Random genome with every gate type, at least two CRx genes and one padding gene."""
    key = jax.random.PRNGKey(seed)
    base = random_genome(key, n, g, gate_probs=[1, 1, 1, 2, 0.5])
    gate = np.asarray(base.gate).copy()
    gate[0], gate[1], gate[-1] = CRX, CRX, IDENTITY
    return dataclasses.replace(base, gate=jnp.asarray(gate))


def test_merit_matches_engine_fitness():
    g = _random_circuit(0, 3, 6)
    p = Problem(3, "amplitude_damping", 0.2, "scalar", b0=0.7)
    assert float(merit(p, g, 1.3)) == pytest.approx(
        float(probe_qfi(g, 1.3, 0.2, 0.7, n_qubits=3, noise="amplitude_damping")), rel=1e-12)
    pv = Problem(3, "bitflip", 0.1, "vector", b0=(0.1, 0.2, 0.3))
    ref = qcrb(probe_qfim(g, 1.3, 0.1, (0.1, 0.2, 0.3), n_qubits=3, noise="bitflip"))
    assert float(merit(pv, g, 1.3)) == pytest.approx(float(ref), rel=1e-12)


@pytest.mark.parametrize("field,noise", [("scalar", "dephasing"), ("scalar", "none"),
                                         ("vector", "amplitude_damping")])
def test_parameter_shift_matches_autodiff_and_finite_differences(field, noise):
    """Three random 3-qubit circuits with CRx genes (and a padding gene) per case."""
    n, g_len, t, eps = 3, 6, 1.7, 1e-5
    p = Problem(n, noise, 0.15, field)
    gs = jax.tree_util.tree_map(lambda *a: jnp.stack(a),
                                *[_random_circuit(s, n, g_len) for s in (1, 2, 3)])

    @jax.jit
    def all_grads(g):
        ps = parameter_shift_grad(p, g, t)
        ad = autodiff_grad(p, g, t)
        # central finite differences (step 1e-5: truncation and round-off ~1e-10)
        shift = eps * jnp.eye(g_len)
        f = jax.vmap(lambda d: score(p, dataclasses.replace(g, angle=g.angle + d), t))
        fd = (f(shift) - f(-shift)) / (2 * eps)
        return ps, ad, fd

    ps, ad, fd = (np.asarray(x) for x in jax.vmap(all_grads)(gs))
    scale = max(1.0, np.max(np.abs(ad)))
    np.testing.assert_allclose(ps, ad, atol=1e-6 * scale, rtol=0)
    np.testing.assert_allclose(ps, fd, atol=1e-6 * scale, rtol=0)
    assert np.all(ps[:, -1] == 0.0)  # identity (padding) gene: its angle is ignored
    assert np.min(np.abs(ps[:, :2])) > 1e-8 or np.max(np.abs(ps[:, :2])) > 1e-3  # CRx genes


def test_noiseless_product_start_reaches_heisenberg_limit():
    """From a product start |000> the chain Ry(q0), CRx(0->1), CRx(1->2) can make a GHZ-like
    state; at fixed t the QFI of any state is <= t^2 (lambda_max - lambda_min)^2 = N^2 t^2 for
    H = (B/2) sum Z, reached by (|000> + e^{i phi}|111>)/sqrt 2. So the optimum is N^2 t^2."""
    n, t = 3, 0.8
    p = Problem(n, "none", 0.0, "scalar", initial="zero")
    key = jax.random.PRNGKey(3)
    angles = jax.random.uniform(key, (4, 3), minval=0.2, maxval=1.0)  # 4 product-ish starts
    g = make_genome(np.tile([RY, CRX, CRX], (4, 1)), np.tile([0, 0, 1], (4, 1)),
                    np.tile([0, 1, 2], (4, 1)), angles)
    start = scan_t(p, g, [t])[:, 0]
    assert np.all(start < n**2 * t**2 - 1.0)
    res = optimize_angles(p, g, method="lbfgs", steps=60, t0=t, optimize_t=False)
    assert res.t == pytest.approx(t)
    assert res.value == pytest.approx(n**2 * t**2, abs=1e-6)
    assert np.all(res.values <= n**2 * t**2 + 1e-9)


@pytest.mark.parametrize("method", ["adam", "lbfgs"])
def test_single_qubit_dephasing_optimum(method):
    """One qubit, H = (B/2) Z, dephasing L = sqrt(gamma/2) Z. A Bloch vector at polar angle
    theta keeps |r_z| = cos(theta) while its transverse part precesses at rate B and shrinks
    as e^{-gamma t}. d r/dB is transverse, of length t sin(theta) e^{-gamma t}, and orthogonal
    to r, so F = |d r/dB|^2 + (r . d r/dB)^2/(1 - r^2) = t^2 sin^2(theta) e^{-2 gamma t}.
    Maximum: theta = pi/2 and d/dt [t^2 e^{-2 gamma t}] = 0 -> t* = 1/gamma,
    F* = 1 / (gamma e)^2."""
    gamma = 0.2
    p = Problem(1, "dephasing", gamma, "scalar")
    g = make_genome([RY, RZ], [0, 0], [0, 0], [1.0, 0.4])  # probe off the equator
    res = optimize_angles(p, g, method=method, steps=400 if method != "lbfgs" else 80,
                          learning_rate=0.05)
    assert res.value == pytest.approx(1 / (gamma * np.e) ** 2, rel=1e-6)
    assert res.t == pytest.approx(1 / gamma, rel=1e-3)
    assert res.value > float(merit(p, g, 1 / gamma))  # the start was not optimal


def test_cobyla_single_qubit_dephasing():
    """Gradient-free: the same closed-form optimum (COBYLA stops at trust radius 1e-4, so
    the value agrees to ~1e-6 relative, the time to ~1e-2)."""
    gamma = 0.2
    p = Problem(1, "dephasing", gamma)
    g = make_genome([RY], [0], [0], [0.8])
    res = optimize_angles(p, g, method="cobyla", steps=300)
    assert res.value == pytest.approx(1 / (gamma * np.e) ** 2, rel=1e-5)
    assert res.t == pytest.approx(1 / gamma, rel=2e-2)
    assert res.history.shape[0] == 1 and res.history.shape[1] > 5


def test_parameter_shift_drives_the_same_optax_loop():
    """Adam with the shift-rule gradient follows the autodiff trajectory step by step."""
    p = Problem(2, "dephasing", 0.1)
    g = _random_circuit(5, 2, 4)
    a = optimize_angles(p, g, method="adam", steps=25, t0=2.0)
    b = optimize_angles(p, g, method="parameter_shift", steps=25, t0=2.0)
    np.testing.assert_allclose(a.history, b.history, rtol=1e-8)
    # An angle whose exact gradient is 0 (here the last Rz: it commutes with the diagonal
    # sensing) gets roundoff gradients (1e-14 by autodiff, 1e-15 by the shift rule), and
    # Adam's m / sqrt(v) turns roundoff into steps of ~1e-6: compare the live angles only.
    grad0 = np.asarray(jax.grad(lambda th: merit(p, dataclasses.replace(g, angle=th), 2.0))(
        g.angle))
    live = np.abs(grad0) > 1e-9 * np.abs(grad0).max()
    assert live.sum() >= 2
    np.testing.assert_allclose(np.asarray(a.genome.angle)[live],
                               np.asarray(b.genome.angle)[live], atol=1e-8)


def test_restarts_are_one_batch_and_independent():
    """A batch of restarts gives per-restart results equal to running each alone (here: the
    same restart repeated in a batch of the same size)."""
    p = Problem(2, "dephasing", 0.1, "vector")
    gs = jax.vmap(lambda k: random_genome(k, 2, 3))(jax.random.split(jax.random.PRNGKey(7), 3))
    batch = optimize_angles(p, gs, steps=20)
    assert batch.values.shape == (3,) and batch.history.shape == (3, 20)
    same = jax.tree_util.tree_map(lambda a: jnp.stack([a[1]] * 3), gs)
    one = optimize_angles(p, same, steps=20)
    np.testing.assert_allclose(one.values, batch.values[1], rtol=1e-10)
    assert batch.value == pytest.approx(batch.values.min())  # QCRB: the best is the smallest
    assert np.all(batch.values <= batch.history[:, 0] + 1e-12)  # never worse than the start


@pytest.mark.usefixtures("fresh_jax")
def test_step_is_optax_shaped_and_compiles_once():
    p = Problem(2, "dephasing", 0.1)
    s1 = _random_circuit(1, 2, 4)
    s2 = _random_circuit(2, 2, 4)
    init, step = make_step(p, s1)
    params = {"angle": s1.angle, "log_t": jnp.log(3.0)}
    state = init(params)
    losses = []
    for _ in range(30):
        params, state, aux = step(params, state)
        losses.append(float(aux["loss"]))
    assert losses[-1] < losses[0]  # -QFI decreases
    _, step2 = make_step(p, s2)
    step2({"angle": s2.angle, "log_t": jnp.log(3.0)}, init(params))
    p2 = Problem(2, "dephasing", 0.3)  # another gamma: data, not a new program
    _, step3 = make_step(p2, s2)
    step3({"angle": s2.angle, "log_t": jnp.log(3.0)}, init(params))
    assert step.jitted._cache_size() == 1


def test_identity_genes_are_ignored():
    p = Problem(2, "dephasing", 0.1)
    e = empty_genome(3)
    res = optimize_angles(p, e, steps=50)
    np.testing.assert_array_equal(np.asarray(res.genome.angle), 0.0)
    # GHZ under dephasing: F = N^2 t^2 e^{-2 N gamma t}, max at t = 1/(N gamma)
    assert res.value == pytest.approx(1 / (0.1 * np.e) ** 2, rel=1e-6)
    assert res.t == pytest.approx(1 / (2 * 0.1), rel=1e-3)


@pytest.mark.parametrize("kwargs,match", [
    ({"method": "sgd"}, "method"),
    ({"gradient": "magic"}, "gradient"),
    ({"steps": 0}, "steps"),
    ({"t_bounds": (2.0, 1.0)}, "t_bounds"),
    ({"t_bounds": (1.0,)}, r"t_bounds = \(1.0,\) is invalid"),  # not an unpacking error
    ({"t_bounds": ("a", "b")}, "t_bounds = .* is invalid"),
    ({"t_bounds": 5.0}, "t_bounds = 5.0 is invalid"),
    ({"t0": -1.0}, "t0"),
    ({"optimize_t": False}, "t0"),
])
def test_bad_input(kwargs, match):
    p = Problem(2, "dephasing", 0.1)
    with pytest.raises(ValueError, match=match):
        optimize_angles(p, empty_genome(2), **kwargs)


def test_bad_problem():
    with pytest.raises(ValueError, match="noise"):
        Problem(2, "depolarizing")
    with pytest.raises(ValueError, match="field"):
        Problem(2, field="tensor")
    with pytest.raises(ValueError, match="b0"):
        Problem(2, field="vector", b0=1.0)
    with pytest.raises(ValueError, match="gamma"):
        Problem(2, gamma=-0.1)
    with pytest.raises(ValueError, match="gamma"):  # noiseless: no automatic t grid
        optimize_angles(Problem(2, "none", 0.0), empty_genome(2))
    with pytest.raises(ValueError, match="genome"):
        optimize_angles(Problem(2), make_genome([CRX], [1], [1], [0.1]))
    with pytest.raises(ValueError, match="genome"):
        optimize_angles(Problem(2), make_genome([RX], [0], [5], [0.1]))


def test_adam_keeps_its_best_iterate_not_its_last():
    """One qubit (GHZ of N = 1 = |+>), one Ry(a) gene: the Bloch vector leaves the equator by a,
    so under dephasing F = t^2 cos^2(a) e^{-2 gamma t} (closed form, no engine). A far too
    large Adam step bounces around the optimum: the result must be the best point met on the
    trajectory (history), not the last one, and its merit is the closed form at its (a, t)."""
    gamma = 0.2
    p = Problem(1, "dephasing", gamma)
    g = make_genome([RY], [0], [0], [0.9])
    res = optimize_angles(p, g, method="adam", steps=12, learning_rate=0.5, t0=2.0)
    hist = res.history[0]
    assert hist.max() > hist[-1] + 1e-3  # the trajectory really got worse at its end
    a, t = float(res.genome.angle[0]), res.t
    closed = t**2 * np.cos(a) ** 2 * np.exp(-2 * gamma * t)
    assert res.value == pytest.approx(closed, rel=1e-9)
    assert res.value >= hist.max() * (1 - 1e-12)


def test_cobyla_never_returns_a_point_below_its_start(monkeypatch):
    """COBYLA restarts keep their start when the solver hands back a worse point (scipy's
    Fortran COBYLA returned its last iterate, PRIMA its best: the rule must not depend on it).
    Start at the closed-form optimum a = 0, t = 1/gamma (F = e^-2 / gamma^2), solver result
    moved off it by hand."""
    import scipy.optimize as so

    real_minimize = so.minimize

    def worse(fun, x0, **kw):
        r = real_minimize(fun, x0, **kw)
        r.x = np.asarray(x0, float) + 0.7  # a worse angle and time
        return r

    monkeypatch.setattr(so, "minimize", worse)
    gamma = 0.2
    p = Problem(1, "dephasing", gamma)
    res = optimize_angles(p, make_genome([RY], [0], [0], [0.0]), method="cobyla", steps=20,
                          t0=1 / gamma)
    assert res.value == pytest.approx(1 / (gamma * np.e) ** 2, rel=1e-12)
    assert res.t == pytest.approx(1 / gamma, rel=1e-12)
    assert float(res.genome.angle[0]) == 0.0


def test_parameter_shift_method_runs_the_shift_rule(monkeypatch):
    """method="parameter_shift" takes its angle gradient from the shift rule (it equals
    autodiff, so only a spy tells them apart); plain Adam does not touch it. Unusual steps
    and learning rate: a fresh compilation, so the spy sees the trace."""
    import qsense.optimize as qo

    calls = []
    real = qo.parameter_shift_grad

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(qo, "parameter_shift_grad", spy)
    p = Problem(2, "dephasing", 0.1)
    g = _random_circuit(11, 2, 3)
    b = optimize_angles(p, g, method="adam", steps=3, learning_rate=0.0123, t0=2.0)
    assert not calls
    a = optimize_angles(p, g, method="parameter_shift", steps=3, learning_rate=0.0123, t0=2.0)
    assert calls
    np.testing.assert_allclose(a.history, b.history, rtol=1e-8)


def test_a_start_time_outside_t_bounds_starts_on_the_bound_and_moves_in():
    """t0 = 100 with t_bounds = (1e-3, 10): the start is clipped to t = 10 (a start left
    outside would sit where the clipped loss has no t gradient, and never move); the optimum
    t = 1/gamma = 5 (F = e^-2 / gamma^2, one qubit on the equator under dephasing) is inside."""
    gamma = 0.2
    p = Problem(1, "dephasing", gamma)
    res = optimize_angles(p, make_genome([RY], [0], [0], [0.0]), method="lbfgs", steps=40,
                          t0=100.0, t_bounds=(1e-3, 10.0))
    assert res.t == pytest.approx(1 / gamma, rel=1e-4)
    assert res.value == pytest.approx(1 / (gamma * np.e) ** 2, rel=1e-7)
    assert not res.t_at_bound


def test_best_grid_times_minimize_the_vector_qcrb_and_maximize_the_qfi():
    """The best grid time per genome: the smallest Tr F^-1 for a vector field (a merit that
    is minimized), the largest QFI for a scalar field, each against the probe's own QFI(M)
    at every time (`probe_qfim` / `probe_qfi`, one genome and one time per call)."""
    ts = np.geomspace(0.5, 20.0, 7)
    gs = [_random_circuit(s, 2, 4) for s in (1, 2, 3)]
    batch = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *gs)
    b0 = (0.3, 0.2, 1.0)
    pv = Problem(2, "amplitude_damping", 0.1, "vector", b0=b0)
    want = [ts[np.argmin([float(qcrb(probe_qfim(g, t, 0.1, b0, n_qubits=2,
                                                noise="amplitude_damping"))) for t in ts])]
            for g in gs]
    np.testing.assert_array_equal(best_grid_times(pv, batch, ts), want)
    ps = Problem(2, "amplitude_damping", 0.1, "scalar", b0=0.7)
    want = [ts[np.argmax([float(probe_qfi(g, t, 0.1, 0.7, n_qubits=2,
                                          noise="amplitude_damping")) for t in ts])]
            for g in gs]
    np.testing.assert_array_equal(best_grid_times(ps, batch, ts), want)
