"""Purification maps against their published formulas and an independent density-matrix model."""

import math

import numpy as np
import pytest

from routing.purification import (
    bbpssw_round,
    dejmps_round,
    path_fidelity,
    purification_cost,
    purify,
    werner_coefficients,
    werner_parameter,
)
from tests.reference.routing_purification import bbpssw_reference, dejmps_reference


@pytest.mark.parametrize("f", [0.55, 0.7, 0.8, 0.9, 0.97])
def test_bbpssw_round_matches_published_formula_and_circuit(f):
    # Bennett et al., PRL 76, 722 (1996), eq. for F' and the success probability
    r = (1 - f) / 3
    p_pub = f**2 + 2 * f * r + 5 * r**2
    f_pub = (f**2 + r**2) / p_pub
    f1, p1 = bbpssw_round(f)
    assert f1 == pytest.approx(f_pub, rel=1e-14)
    assert p1 == pytest.approx(p_pub, rel=1e-14)
    f_ref, p_ref = bbpssw_reference(f)  # bilateral CNOT on two Werner pairs, simulated
    assert f1 == pytest.approx(f_ref, abs=1e-12)
    assert p1 == pytest.approx(p_ref, abs=1e-12)


@pytest.mark.parametrize("coeffs", [(0.7, 0.1, 0.15, 0.05), (0.6, 0.3, 0.05, 0.05),
                                    (0.9, 0.0, 0.1, 0.0), (0.55, 0.15, 0.15, 0.15)])
def test_dejmps_round_matches_published_formula_and_circuit(coeffs):
    a, b, c, d = coeffs
    # Deutsch et al., PRL 77, 2818 (1996): N = (A+B)^2 + (C+D)^2, A' = (A^2+B^2)/N, ...
    n = (a + b) ** 2 + (c + d) ** 2
    pub = np.array([(a * a + b * b) / n, 2 * c * d / n, (c * c + d * d) / n, 2 * a * b / n])
    out, p = dejmps_round(coeffs)
    np.testing.assert_allclose(out, pub, rtol=1e-14)
    assert p == pytest.approx(n, rel=1e-14)
    ref, p_ref = dejmps_reference(coeffs)  # rotations + bilateral CNOT, simulated
    np.testing.assert_allclose(out, ref, atol=1e-12)
    assert p == pytest.approx(p_ref, abs=1e-12)


def test_dejmps_equals_bbpssw_on_first_round_then_beats_it():
    f = 0.75
    (a1, *_), p1 = dejmps_round(werner_coefficients(f))
    fb, pb = bbpssw_round(f)
    assert a1 == pytest.approx(fb) and p1 == pytest.approx(pb)
    # the cost to reach a high threshold is lower with DEJMPS (no twirl between rounds)
    assert purification_cost(f, 0.99, "dejmps") < purification_cost(f, 0.99, "bbpssw")


def test_cost_is_product_of_two_over_success_probabilities():
    res = purify(0.8, 0.95, "bbpssw")
    assert res.rounds >= 2
    f = 0.8
    g = 1.0
    for _ in range(res.rounds):
        f, p = bbpssw_round(f)
        g *= 2 / p
    assert res.cost == pytest.approx(g, rel=1e-14)
    assert res.final_fidelity == pytest.approx(f) and f >= 0.95
    assert purification_cost(0.95, 0.9) == 1.0  # already good enough: one base pair


@pytest.mark.parametrize("protocol", ["dejmps", "bbpssw"])
def test_cost_monotone_in_threshold(protocol):
    ths = np.linspace(0.6, 0.999, 60)
    costs = [purification_cost(0.7, th, protocol) for th in ths]
    assert all(np.isfinite(costs))
    assert all(b >= a for a, b in zip(costs, costs[1:], strict=False))
    assert costs[-1] > costs[0]
    # and non-increasing in the input fidelity
    fs = np.linspace(0.55, 0.95, 40)
    cf = [purification_cost(f, 0.96, protocol) for f in fs]
    assert all(b <= a for a, b in zip(cf, cf[1:], strict=False))


@pytest.mark.parametrize("f,th", [(0.5, 0.9), (0.4, 0.6), (0.9, 1.0)])
def test_unreachable_threshold_is_infinite_with_reason(f, th):
    res = purify(f, th)
    assert math.isinf(res.cost) and not res.reachable and res.reason


def test_round_cap_reports_unreachable_instead_of_looping():
    res = purify(0.51, 0.999999, "bbpssw", max_rounds=3)
    assert math.isinf(res.cost) and res.rounds == 3 and "not reached" in res.reason


@pytest.mark.parametrize("bad", [1.2, -0.1, float("nan"), "x"])
def test_bad_fidelity_raises(bad):
    with pytest.raises(ValueError, match="fidelity"):
        purify(bad, 0.9)
    with pytest.raises(ValueError, match="protocol"):
        purify(0.9, 0.95, protocol="nope")
    with pytest.raises(ValueError, match=r"fidelity.*\[0\.25, 1\]"):
        werner_parameter(bad)  # 1.5 gave w = 1.67: no extrapolation past a perfect pair


def test_werner_path_rule():
    f1, f2 = 0.97, 0.96
    w = (4 * f1 - 1) / 3 * (4 * f2 - 1) / 3
    assert path_fidelity([f1, f2]) == pytest.approx(0.25 + 0.75 * w)
    # swapping two Werner pairs = composing two depolarizing channels (DESIGN section 3)
    assert path_fidelity([1.0, f2]) == pytest.approx(f2)
    with pytest.raises(ValueError):
        path_fidelity([])


def test_protocol_choice_reaches_the_path_costs():
    import routing

    costs = {}
    for proto in ("dejmps", "bbpssw"):
        inst = routing.generate_instance(0, n_slots=3, protocol=proto)
        cands = routing.build_candidates(inst)
        paths = [p for per_k in cands.options for per_t in per_k for p in per_t]
        for p in paths:  # each path's g is g(F_p, F_th) under the chosen protocol
            th = inst.pairs[p.pair].threshold
            assert p.cost == purification_cost(p.fidelity, th, proto)
        costs[proto] = [p.cost for p in paths]
    # same paths; the protocols differ once two or more rounds are needed. (Neither is always
    # cheaper: at F = 0.85 -> 0.9 BBPSSW's two rounds cost 5.69, DEJMPS's 6.06; at F = 0.8 DEJMPS
    # needs 2 rounds (7.0) where BBPSSW needs 3 (15.2).)
    assert len(costs["dejmps"]) == len(costs["bbpssw"])
    assert costs["dejmps"] != costs["bbpssw"]
    assert purification_cost(0.8, 0.9, "dejmps") < purification_cost(0.8, 0.9, "bbpssw")
    assert purification_cost(0.85, 0.9, "bbpssw") < purification_cost(0.85, 0.9, "dejmps")


@pytest.mark.parametrize("protocol", ["dejmps", "bbpssw"])
def test_threshold_met_exactly_needs_no_purification(protocol):
    """g(F, F_th) = 1 when F = F_th exactly: the threshold is a ``>=`` ("g = 1 when
    F >= F_th", routing.purification), so a path at the threshold is used as is."""
    res = purify(0.9, 0.9, protocol)
    assert res.cost == 1.0 and res.rounds == 0 and res.reachable


def test_a_round_that_meets_the_threshold_exactly_is_the_last():
    """BBPSSW rounds stop at the first round whose output reaches F_th, also exactly: with
    F_th = F' of one round (the published formula, evaluated as bbpssw_round does), the cost
    is that round's 2/p, not two rounds'."""
    f = 0.8
    r = (1.0 - f) / 3.0
    p = f * f + 2.0 * f * r + 5.0 * r * r
    f1 = (f * f + r * r) / p
    res = purify(f, f1, "bbpssw")
    assert res.rounds == 1 and res.cost == pytest.approx(2 / p, rel=1e-14)
