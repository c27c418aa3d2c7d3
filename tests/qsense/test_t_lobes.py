"""The optimal sensing time where the QFI oscillates in t (bit flip at B0 != 0): the optimizer
must find the best lobe, not the one a coarse time grid happens to land on.

Reference, written here without qsense: one qubit, H = (B/2) Z, bit flip L = sqrt(gamma/2) X.
The Bloch vector obeys r' = A(B) r with A = [[0, -B, 0], [B, -gamma, 0], [0, 0, -gamma]]
(precession about z at rate B; X r X keeps x and flips y, z, so the dissipator damps y and z
at rate gamma), so r(t) = expm(t A) r0 and dr/dB = L(tA, t dA/dB) r0 (the Frechet derivative
of expm). A qubit's QFI is F = |dr|^2 + (r . dr)^2 / (1 - |r|^2). The probe |+> (the N = 1
GHZ state, r0 = x) gives lobes ~pi apart under an envelope ~t^2 e^{-gamma t}: gamma = 0.1
peaks at F = 57.06, t = 21.20, beside lobes of 56.75 (t = 18.14), 54.94 (24.29) and 53.20
(15.11), which is where a coarse grid plus Adam in log t used to stop."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import expm, expm_frechet
from scipy.optimize import minimize_scalar

from qsense import RY, RZ, empty_genome, make_genome
from qsense.genetic import ghz_optimum
from qsense.optimize import (
    Problem,
    default_t_grid,
    optimize_angles,
    oscillation_rate,
    refine_t,
    scan_t,
    t_span,
)


def _bloch_qfi(t: float, gamma: float, b0: float, r0=(1.0, 0.0, 0.0)) -> float:
    a = np.array([[0.0, -b0, 0.0], [b0, -gamma, 0.0], [0.0, 0.0, -gamma]])
    da = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    e, de = expm_frechet(t * a, t * da)
    r, dr = e @ np.asarray(r0), de @ np.asarray(r0)
    return float(dr @ dr + (r @ dr) ** 2 / (1.0 - r @ r))


def _reference_peak(gamma: float, b0: float, lo: float, hi: float) -> tuple[float, float]:
    """max_t F over [lo, hi]: a scan every 0.005 (lobes are ~pi wide), then Brent around the
    best sample."""
    ts = np.arange(lo, hi, 0.005)
    vals = np.array([_bloch_qfi(t, gamma, b0) for t in ts])
    k = int(np.argmax(vals))
    res = minimize_scalar(lambda t: -_bloch_qfi(t, gamma, b0), bounds=(ts[k] - 0.005,
                                                                       ts[k] + 0.005),
                          method="bounded", options={"xatol": 1e-10})
    return float(res.x), float(-res.fun)


def test_bloch_reference_matches_the_engine_pointwise():
    """The reference and the engine agree at a few times (the reference is independent)."""
    p = Problem(1, "bitflip", 0.1, "scalar", b0=1.0)
    ts = np.array([0.7, 5.0, 15.11, 21.2, 40.0])
    want = [_bloch_qfi(t, 0.1, 1.0) for t in ts]
    np.testing.assert_allclose(scan_t(p, empty_genome(1), ts)[0], want, rtol=1e-10)
    # and a generic Bloch vector off the equator: Ry then Rz on |+> (initial "ghz", N = 1)
    g = make_genome([RY, RZ], [0, 0], [0, 0], [0.6, 0.3])
    psi = expm(-0.15j * np.diag([1, -1])) @ expm(-0.3j * np.array([[0, -1j], [1j, 0]])) @ (
        np.array([1, 1]) / np.sqrt(2))
    r0 = [2 * (np.conj(psi[0]) * psi[1]).real, 2 * (np.conj(psi[0]) * psi[1]).imag,
          abs(psi[0]) ** 2 - abs(psi[1]) ** 2]
    np.testing.assert_allclose(scan_t(p, g, ts)[0],
                               [_bloch_qfi(t, 0.1, 1.0, r0) for t in ts], rtol=1e-10)


def test_default_grid_and_span_ranges():
    """default_t_grid spans 0.02/gamma .. 5/gamma clipped to t_bounds at both ends; t_span
    joins that range with a user grid's, at both ends, within t_bounds."""
    p = Problem(1, "bitflip", 0.1, "scalar", b0=1.0)
    g = default_t_grid(p, 6)
    assert (g[0], g[-1]) == pytest.approx((0.2, 50.0), rel=1e-12)
    np.testing.assert_allclose(np.diff(np.log(g)), np.log(250.0) / 5, rtol=1e-10)
    g = default_t_grid(p, 6, t_bounds=(1.0, 10.0))
    assert (g[0], g[-1]) == pytest.approx((1.0, 10.0), rel=1e-12)
    assert t_span(p) == pytest.approx((0.2, 50.0), rel=1e-12)
    assert t_span(p, np.geomspace(0.05, 80.0, 5)) == pytest.approx((0.05, 80.0), rel=1e-12)
    assert t_span(p, np.geomspace(1.0, 8.0, 5)) == pytest.approx((0.2, 50.0), rel=1e-12)
    assert t_span(p, np.geomspace(0.05, 80.0, 5), t_bounds=(0.1, 60.0)) == pytest.approx(
        (0.1, 60.0), rel=1e-12)


def test_oscillation_rate_closed_form():
    """Bit flip: the x-y block of A has eigenvalues -gamma/2 +- i sqrt(B0^2 - gamma^2/4); N
    qubits add up. Z-covariant noise under a scalar field: the QFI does not depend on B0, no
    oscillation; a vector field of 0 has nothing to precess about."""
    for n, gamma, b0 in ((1, 0.1, 1.0), (3, 0.2, 0.7)):
        want = n * np.sqrt(b0**2 - gamma**2 / 4)
        assert oscillation_rate(Problem(n, "bitflip", gamma, "scalar", b0=b0)) == (
            pytest.approx(want, rel=1e-12))
    assert oscillation_rate(Problem(1, "bitflip", 3.0, "scalar", b0=1.0)) == 0.0  # overdamped
    for noise in ("dephasing", "amplitude_damping", "none"):
        assert oscillation_rate(Problem(2, noise, 0.1, "scalar", b0=1.0)) == 0.0
    assert oscillation_rate(Problem(2, "bitflip", 0.1, "vector")) == 0.0


@pytest.mark.parametrize("gamma,b0", [(0.1, 1.0), (0.2, 1.0), (0.1, 2.0)])
def test_ghz_optimum_finds_the_best_lobe(gamma, b0):
    """The GHZ probe at N = 1 under bit flip: `ghz_optimum` (default grid, then Adam) reaches
    the global max_t F of the Bloch reference over the default grid's range. Before the lobe
    search it returned the lobe its grid point sat on: 54.94 at t = 24.29 for 57.06
    (gamma = 0.1), 14.88 at t = 11.76 for 15.10 at t = 8.75 (gamma = 0.2)."""
    p = Problem(1, "bitflip", gamma, "scalar", b0=b0)
    lo, hi = t_span(p)
    t_ref, f_ref = _reference_peak(gamma, b0, lo, hi)
    res = ghz_optimum(p)
    assert res.value == pytest.approx(f_ref, rel=1e-7)
    assert res.t == pytest.approx(t_ref, abs=2e-3)
    assert res.value >= np.max(scan_t(p, empty_genome(1), default_t_grid(p))) - 1e-9


def test_refinement_from_a_coarse_search_time_leaves_its_lobe():
    """Table 1's path: the refinement starts the GHZ probe at the time the genetic search
    found on its own grid (`search=quick`: 4 points; its local steps ended at t = 15.37, on
    the lobe that peaks at 53.20) and is told that grid; it ends on the best lobe."""
    p = Problem(1, "bitflip", 0.1, "scalar", b0=1.0)
    t_ref, f_ref = _reference_peak(0.1, 1.0, *t_span(p))
    assert f_ref == pytest.approx(57.0601, abs=1e-4)  # the brief's number, as a sanity check
    e = empty_genome(1)
    res = optimize_angles(p, e, t0=15.37, t_grid=default_t_grid(p, 4), steps=150)
    assert res.value == pytest.approx(f_ref, rel=1e-7)
    assert res.t == pytest.approx(t_ref, abs=2e-3)


@pytest.mark.parametrize("steps", [5, 20, 200])
def test_a_user_grid_short_of_the_optimum_does_not_decide_the_lobe(steps):
    """A user grid (1..8) short of the peak (t = 21.2): Adam's t is bounded by t_bounds only,
    so the answer was the lobe it drifted onto, and depended on ``steps`` (35.45, 53.20,
    56.75 for 5, 20, 200). The lobe search covers the noisy optimum's bracket as well."""
    p = Problem(1, "bitflip", 0.1, "scalar", b0=1.0)
    t_ref, f_ref = _reference_peak(0.1, 1.0, 0.2, 50.0)  # default_t_grid's range, 0.02..5/γ
    res = optimize_angles(p, empty_genome(1), t_grid=np.geomspace(1.0, 8.0, 6), steps=steps)
    assert res.value == pytest.approx(f_ref, rel=1e-7)
    assert res.t == pytest.approx(t_ref, abs=2e-3)


def test_refined_time_never_scores_below_the_start_or_the_grid():
    """Random two-qubit circuits under bit flip: the lobe search returns, per row, a merit at
    least the given time's, and what the whole optimizer returns is at least the best point
    of the grid it started from."""
    p = Problem(2, "bitflip", 0.2, "scalar", b0=1.0)
    key = jax.random.PRNGKey(7)
    angles = jax.random.uniform(key, (3, 3), minval=-2.0, maxval=2.0)
    g = make_genome(np.tile([RY, RZ, RY], (3, 1)), np.zeros((3, 3), int),
                    np.tile([0, 1, 1], (3, 1)), angles)
    t0 = np.array([0.3, 4.0, 11.0])
    ts, vals = refine_t(p, g, t0, span=t_span(p))
    start = np.array([scan_t(p, g[i], [t0[i]])[0, 0] for i in range(3)])
    assert np.all(vals >= start) and np.all(np.isfinite(vals))
    np.testing.assert_allclose(vals, [scan_t(p, g[i], [ts[i]])[0, 0] for i in range(3)],
                               rtol=1e-12)
    grid = default_t_grid(p)
    res = optimize_angles(p, g, steps=2, learning_rate=1e-3)
    assert np.all(res.values >= np.max(scan_t(p, g, grid), axis=1) - 1e-9)
    # angles fixed at the start, a dense scan is the truth to compare with
    dense = np.linspace(*t_span(p), 4001)
    assert np.all(vals >= np.max(scan_t(p, g, dense), axis=1) * (1 - 1e-6))


def test_dephasing_results_are_untouched():
    """No oscillation, no lobe search: the optimizer's answer is what Adam alone gives (the
    closed-form optimum 1 / (gamma e)^2 at t = 1/gamma, tested in test_optimize)."""
    p = Problem(1, "dephasing", 0.2, "scalar")
    t, v = refine_t(p, empty_genome(1), 3.0, span=(0.1, 25.0))
    assert t[0] == 3.0 and v[0] == pytest.approx(9.0 * np.exp(-1.2), rel=1e-12)
    assert jnp.isfinite(v[0])


def test_without_noise_the_span_is_the_whole_t_bounds():
    """gamma = 0: the merit grows without bound (GHZ: N^2 t^2), no finite optimum to bracket,
    so `t_span` is ``t_bounds`` itself, a user grid never widening it past them."""
    p = Problem(2, "dephasing", 0.0, "scalar")
    assert t_span(p) == pytest.approx((1e-3, 1e3), rel=1e-12)
    assert t_span(p, t_bounds=(0.1, 50.0)) == pytest.approx((0.1, 50.0), rel=1e-12)
    assert t_span(p, t_grid=[0.01, 2000.0], t_bounds=(0.1, 50.0)) == pytest.approx(
        (0.1, 50.0), rel=1e-12)
    noisy = t_span(Problem(2, "dephasing", 0.1, "scalar"))
    assert 1e-3 <= noisy[0] < 5.0 < noisy[1] <= 1e3  # brackets the GHZ optimum 1/(N gamma) = 5
