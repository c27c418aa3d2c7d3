"""Channel-extension bound (qsense.bounds) against closed forms, an independent ancilla-assisted
brute search (one use, where the bound is tight), and the reference optima (never above it)."""

import warnings

import numpy as np
import pytest
import scipy.optimize as so

import qsense
from qsense.bounds import (
    ce_bound_at,
    channel_kraus,
    dephasing_ce_closed_form,
    max_bound_over_t,
)
from qsense.reference import ReferenceConfig, best_product_probe, reference_probes
from tests.reference import probe_optima_ref as ref

GAMMA = 0.1
NOISES = ("dephasing", "bitflip", "amplitude_damping")


@pytest.mark.parametrize("n", [1, 2, 5, 20])
def test_dephasing_matches_closed_form(n):
    for t in (0.5, 3.0, 10.0, 25.0):
        want = float(dephasing_ce_closed_form(n, t, GAMMA))
        got, _ = ce_bound_at(n, t, "dephasing", GAMMA)
        assert got == pytest.approx(want, rel=1e-6)
        assert got >= want * (1 - 1e-12)  # evaluated at a feasible h: never below the minimum


def test_dephasing_max_over_t_matches_closed_form():
    for n in (2, 5):
        r = so.minimize_scalar(lambda lt, n=n: -dephasing_ce_closed_form(n, np.exp(lt), GAMMA),
                               bounds=(np.log(0.1), np.log(100)), method="bounded",
                               options={"xatol": 1e-9})
        b = max_bound_over_t(n, "dephasing", GAMMA)
        assert b.value == pytest.approx(-r.fun, rel=1e-6)
        assert b.t == pytest.approx(np.exp(r.x), rel=1e-2)
        assert b.qcrb == pytest.approx(1 / b.value)
        assert not b.t_at_bound


def test_max_over_t_reports_an_optimum_on_either_edge_of_the_range():
    """An optimum outside t_range: the bound is the closed form at the nearer edge and
    t_at_bound says so, at the lower edge as at the upper (t_range is in units of 1/gamma)."""
    n = 2
    r = so.minimize_scalar(lambda lt: -dephasing_ce_closed_form(n, np.exp(lt), GAMMA),
                           bounds=(np.log(0.1), np.log(100)), method="bounded",
                           options={"xatol": 1e-9})
    t_star = float(np.exp(r.x)) * GAMMA  # the optimum in units of 1/gamma
    for t_range, edge in (((3 * t_star, 20.0), 0), ((1e-3, t_star / 3), 1)):
        b = max_bound_over_t(n, "dephasing", GAMMA, t_range=t_range, n_grid=5)
        assert b.t_at_bound
        assert b.t == pytest.approx(t_range[edge] / GAMMA, rel=1e-3)
        want = float(dephasing_ce_closed_form(n, t_range[edge] / GAMMA, GAMMA))
        assert b.value == pytest.approx(want, rel=1e-4)


def test_a_rank_change_at_b0_is_warned(monkeypatch):
    """A Choi matrix whose B-derivative leaves its support (here the identity channel, J =
    |I>><<I|, with dJ = |Z>><<Z| / 2) has no differentiable Kraus form of that rank at b0:
    channel_kraus warns instead of returning a bound that is not one."""
    import qsense.bounds as qb

    v = np.array([1.0, 0.0, 0.0, -1.0]) / np.sqrt(2)  # row-major vec(Z) / sqrt 2
    dj = np.outer(v, v)
    ds = dj.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)  # Choi <-> superoperator
    monkeypatch.setattr(qb, "_superoperator_and_derivative",
                        lambda noise: (lambda t, g, b: (np.eye(4, dtype=complex), ds)))
    with pytest.warns(RuntimeWarning, match="Choi rank changes at b0"):
        k, _ = channel_kraus(1.0, "dephasing", GAMMA)
    assert k.shape == (1, 2, 2)
    monkeypatch.setattr(qb, "_superoperator_and_derivative",
                        lambda noise: (lambda t, g, b: (np.eye(4, dtype=complex), 0 * ds)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        channel_kraus(1.0, "dephasing", GAMMA)


def test_noiseless_bound_is_heisenberg():
    for n, t in ((1, 0.7), (3, 2.0), (6, 1.3)):
        got, _ = ce_bound_at(n, t, "none", 0.0)
        assert got == pytest.approx(n**2 * t**2, rel=1e-6)


@pytest.mark.parametrize("noise", NOISES)
def test_kraus_reproduce_the_channel_and_its_derivative(noise):
    t, b0 = 4.0, 1.0
    k, dk = channel_kraus(t, noise, GAMMA, b0)
    assert np.allclose(np.einsum("kba,kbc->ac", k.conj(), k), np.eye(2), atol=1e-12)
    rng = np.random.default_rng(3)
    psi = rng.standard_normal(2) + 1j * rng.standard_normal(2)
    psi /= np.linalg.norm(psi)
    rho = np.outer(psi, psi.conj())
    out = sum(kk @ rho @ kk.conj().T for kk in k)
    assert np.allclose(out, ref.channel_n(rho, (0, 0, b0), t, noise, GAMMA), atol=1e-12)
    h = 1e-4
    fd = sum(c * ref.channel_n(rho, (0, 0, b0 + s * h), t, noise, GAMMA)
             for c, s in ((-1, 2), (8, 1), (-8, -1), (1, -2))) / (12 * h)
    d_out = sum(dd @ rho @ kk.conj().T + kk @ rho @ dd.conj().T
                for kk, dd in zip(k, dk, strict=True))
    assert np.allclose(d_out, fd, atol=1e-8)


@pytest.mark.parametrize("noise", NOISES)
def test_one_use_bound_is_the_ancilla_assisted_qfi(noise):
    # N = 1: 4 min_h ||alpha|| is exactly the extended-channel QFI max over sensor+ancilla
    # states (Fujiwara & Imai 2008); the independent search optimizes a 2-qubit pure state with
    # the channel on qubit 0 only
    t = 7.0
    want, _ = ref.brute_pure_optimum(2, noise, GAMMA, "scalar", 1.0, starts=3, ancilla=True,
                                     t_fixed=t)
    got, _ = ce_bound_at(1, t, noise, GAMMA)
    assert got == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("noise", NOISES)
def test_bound_is_never_below_the_reference(noise):
    cfg = ReferenceConfig(restarts=6, steps=150, polish=2)
    pure = reference_probes(2, noise, GAMMA, config=cfg)["pure"]
    prod = best_product_probe(3, noise, GAMMA, config=cfg)
    for n, r in ((2, pure), (3, prod)):
        at_t, _ = ce_bound_at(n, r.t, noise, GAMMA)
        assert at_t >= r.value * (1 - 1e-9)
        assert max_bound_over_t(n, noise, GAMMA, n_grid=9).value >= r.value * (1 - 1e-9)
    # and the pure reference at its own time is a genuine QFI of the engine
    v = qsense.qfi(lambda b: qsense.sense(pure.state, b, pure.t, noise, GAMMA), 1.0)
    assert float(v) == pytest.approx(pure.value, rel=1e-9)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="n_qubits"):
        ce_bound_at(0, 1.0, "dephasing", GAMMA)
    with pytest.raises(ValueError, match="gamma"):
        max_bound_over_t(2, "dephasing", 0.0)
    with pytest.raises(ValueError, match="noise"):
        ce_bound_at(2, 1.0, "phase", GAMMA)
    with pytest.raises(ValueError, match="t"):
        channel_kraus(-1.0, "dephasing", GAMMA)
    with pytest.raises(ValueError, match="n_grid.*>= 3"):
        max_bound_over_t(2, "dephasing", GAMMA, n_grid=2)


@pytest.mark.parametrize("noise", NOISES)
def test_sdp_optimum_is_the_bound_expression_at_its_h(noise):
    # the SDP's own objective (its linearized alpha, beta) must equal the direct evaluation of
    # 4 [N ||alpha|| + N (N-1) ||beta||^2] at the h it returns, and no other h does better
    from qsense.bounds import ce_objective, solve_ce_sdp

    k, dk = channel_kraus(6.0, noise, GAMMA, 1.0)
    for n in (1, 3):
        sdp, h = solve_ce_sdp(n, k, dk)
        exact = ce_objective(n, k, dk, h)
        assert exact == pytest.approx(sdp, rel=1e-5)
        rng = np.random.default_rng(n)
        for _ in range(20):
            dh = rng.standard_normal(h.shape) + 1j * rng.standard_normal(h.shape)
            dh = 0.5 * (dh + dh.conj().T)
            assert ce_objective(n, k, dk, h + 0.05 * dh) >= exact * (1 - 1e-7)
