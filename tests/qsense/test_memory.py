"""Memories and swaps: closed forms against Monte Carlo (qsense.memory, qsense.links)."""

import numpy as np
import pytest

from qsense import links as L
from qsense import memory as M


@pytest.mark.parametrize("rate,k,tmem", [(2.0, 4, 1.0), (0.5, 3, 10.0), (5.0, 6, 0.7)])
def test_collection_closed_form_matches_monte_carlo(rate, k, tmem):
    cf = M.collect(rate, k, tmem)
    mc = M.collect_monte_carlo(rate, k, tmem, n_probes=40000, seed=1)
    assert float(mc.probe_rate_hz) == pytest.approx(float(cf.probe_rate_hz), rel=0.02)
    np.testing.assert_allclose(np.asarray(mc.factors), np.asarray(cf.factors), rtol=0.03,
                               atol=2e-3)


def test_collection_closed_form_values():
    """(r / (r + 2/T))^(K - i): with r = 2, T = 1 the ratio is 1/2."""
    cf = M.collect(2.0, 4, 1.0)
    np.testing.assert_allclose(np.asarray(cf.factors), [1 / 8, 1 / 4, 1 / 2, 1.0])
    assert float(cf.probe_rate_hz) == pytest.approx(0.5)


def test_collection_without_decay_is_nan_free_at_every_rate():
    """T = inf: no decay, factors 1 (rate 0 gave 0/0 = nan, and fig4 with
    memory_time_s=inf died on it); gradients stay finite and match the finite-T limit."""
    import jax

    cf = M.collect(np.array([0.0, 0.5, 3.0]), 4, np.inf)
    np.testing.assert_array_equal(np.asarray(cf.factors), np.ones((3, 4)))
    np.testing.assert_allclose(np.asarray(cf.probe_rate_hz), [0.0, 0.125, 0.75])
    g = jax.grad(lambda r: M.collect(r, 4, np.inf).factors.sum())(0.0)
    assert np.isfinite(float(g)) and float(g) == 0.0
    np.testing.assert_allclose(np.asarray(M.collect(0.5, 4, 1e12).factors), np.ones(4),
                               rtol=1e-10)
    # finite T at rate 0: the documented 0 ... 0, 1
    np.testing.assert_array_equal(np.asarray(M.collect(0.0, 3, 2.0).factors), [0, 0, 1])


@pytest.mark.parametrize("rate,tmem,cut", [(2.0, 1.0, 0.3), (0.5, 5.0, 1.0), (3.0, 0.5, 2.0)])
def test_k2_cutoff_closed_form_matches_monte_carlo(rate, tmem, cut):
    cf = M.collect_k2_cutoff(rate, tmem, cut)
    mc = M.collect_monte_carlo(rate, 2, tmem, cut, n_probes=100000, seed=2)
    assert float(mc.probe_rate_hz) == pytest.approx(float(cf.probe_rate_hz), rel=0.015)
    assert float(mc.factors[0]) == pytest.approx(float(cf.factors[0]), rel=0.01)


def test_cutoff_trades_rate_for_fidelity():
    no = M.collect_monte_carlo(1.0, 4, 2.0, n_probes=20000, seed=3)
    cut = M.collect_monte_carlo(1.0, 4, 2.0, cutoff_s=2.0, n_probes=20000, seed=3)
    assert float(cut.probe_rate_hz) < float(no.probe_rate_hz)
    assert float(cut.factors[0]) > float(no.factors[0])


def test_pairs_per_probe_and_memory_factor():
    assert M.pairs_per_probe("distributed", 3) == 6
    assert M.pairs_per_probe("remote", 3) == 2
    assert float(M.memory_factor(0.5, 2.0)) == pytest.approx(np.exp(-0.5))
    with pytest.raises(ValueError, match="protocol"):
        M.pairs_per_probe("teleport", 3)
    with pytest.raises(ValueError, match="k_pairs"):
        M.collect(1.0, 0, 1.0)
    # remote keeps qubit 0 (N >= 2); N = 0 gave -1 pairs, N = 1 gave 0
    for protocol, n in (("remote", 0), ("remote", 1), ("distributed", 0), ("remote", 2.0)):
        with pytest.raises(ValueError, match="n_qubits"):
            M.pairs_per_probe(protocol, n)



@pytest.mark.parametrize("p,m,ps", [(0.3, 3, 0.5), (0.5, 2, 1.0), (0.2, 4, 0.5)])
def test_chain_closed_form_matches_monte_carlo(p, m, ps):
    """rounds per delivered pair = E[max of m geometric] / ps^(m-1); summed idle rounds of
    the links of a delivered pair = m (E[K] - 1/p)."""
    mc = M.chain_monte_carlo(p, m, ps, n_pairs=20000, seed=4)
    k = float(L.expected_max_geometric(p, m))
    assert mc.rounds_per_pair == pytest.approx(k / ps ** (m - 1), rel=0.03)
    assert mc.idle_rounds == pytest.approx(m * (k - 1 / p), rel=0.04)
    assert mc.tries_per_pair == pytest.approx(1 / ps ** (m - 1), rel=0.03)


def test_repeater_chain_rate_uses_swap_probability():
    base = L.FiberLink(n_repeaters=3, swap_success=1.0)
    half = L.FiberLink(n_repeaters=3, swap_success=0.5)
    r1 = float(L.repeater_chain(base, 300.0).rate_hz)
    r2 = float(L.repeater_chain(half, 300.0).rate_hz)
    assert r2 == pytest.approx(r1 * 0.5**3, rel=1e-12)
    with pytest.raises(ValueError, match="swap_success"):
        L.repeater_chain(L.FiberLink(swap_success=0.0), 100.0)


def test_chain_cutoff_lowers_idle_time():
    a = M.chain_monte_carlo(0.2, 3, 0.5, n_pairs=5000, seed=5)
    b = M.chain_monte_carlo(0.2, 3, 0.5, cutoff_rounds=3, n_pairs=5000, seed=5)
    assert b.idle_rounds < a.idle_rounds and b.rounds_per_pair > a.rounds_per_pair


def test_memory_inputs_refuse_nonsense():
    """memory_factor(1, -1) gave 7.39 (a memory that purifies); collect(1, 6, nan) gave
    factors 1 (a perfect memory), so fisher_rate(..., memory_time_s=nan) reported the
    no-decay value. Concrete values are checked, each argument on its own."""
    import jax

    for t in (-1.0, 0.0, float("nan"), True, "10"):  # numpy reads True as 1 s, "10" as 10 s
        with pytest.raises(ValueError, match=r"coherence_time_s.*> 0 s"):
            M.memory_factor(1.0, t)
        with pytest.raises(ValueError, match=r"coherence_time_s.*> 0 s"):
            M.collect(1.0, 6, t)
        with pytest.raises(ValueError, match=r"coherence_time_s.*> 0 s"):
            M.collect_k2_cutoff(1.0, t, 1.0)
    for r in (-1.0, float("nan"), "10", ["a"]):  # a string was numpy's UFuncTypeError
        with pytest.raises(ValueError, match=r"^rate_hz = .*accepted: finite rates >= 0"):
            M.collect(r, 2, 10.0)
    for w in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"wait_s.*>= 0 s"):
            M.memory_factor(w, 1.0)
    assert float(M.memory_factor(3.0, float("inf"))) == 1.0  # inf: no decay
    np.testing.assert_allclose(np.asarray(M.collect(1.0, 6, float("inf")).factors), 1.0)
    # a traced rate (jax.grad of a link knob) no longer skips the coherence-time check
    with pytest.raises(ValueError, match="coherence_time_s"):
        jax.grad(lambda r: M.collect(r, 6, float("nan")).factors[0])(1.0)
    g = jax.grad(lambda r: M.collect(r, 2, 10.0).factors[0])(1.0)
    assert float(g) == pytest.approx(0.2 / 1.2**2)  # d/dr r / (r + 2/T)
    assert float(jax.grad(lambda w: M.memory_factor(w, 2.0))(0.5)) == pytest.approx(-np.exp(
        -0.5))


def test_fisher_rate_refuses_a_nan_memory_time():
    from qsense import linkprobe as LP

    for link in (L.SatelliteLink(), L.FiberLink()):
        with pytest.raises(ValueError, match="coherence_time_s"):
            LP.fisher_rate(link, 500.0, LP.product_angles(3), 1.0, 0.1, protocol="distributed",
                           n_qubits=3, memory_time_s=float("nan"))
