"""Finite memory lifetimes: the vintages of one virtual path are one route (routing.model).

A pair stored in slot t0 and drawn in slot t has decayed by exp(-(t - t0) δ (1/τ_a + 1/τ_b)),
so each fill slot is its own stock (a vintage) with its own fidelity and purification cost.
The path choice (C2) is per route: a cell that takes a virtual path may draw from every
vintage of it. Before, C2 chose one vintage, and a lifetime of 10^7 s lost fig5's whole
storage gain (444.84 -> 396.40 = no storage).
"""

import math
from dataclasses import replace

import numpy as np
import pytest

import routing
from routing.instance import Instance, Link, Node, Pair, PathOptions
from tests.routing.conftest import small, tiny, with_memory_time

DELTA = 10.0
C0, C1 = 100.0, 200.0  # s-d link budget in slots 0 and 1 (pairs per slot); absent in slot 2
F_LINK, F_TH = 0.97, 0.95


def two_fill_instance(tau: float, path_set: str = "complete") -> Instance:
    """Stores s and d joined by one link that exists in slots 0 and 1 only; pair (s, d) counts
    only in slot 2 (weights 0, 0, 1), where it can be served from storage alone."""
    nodes = tuple(Node(n, "base_station", c, 1e6, tau) for n, c in (("s", 0), ("d", 1)))
    links = (Link("s", "d", "G2G", F_LINK, (C0, C1, None)),)
    pairs = (Pair("s", "d", F_TH, (0.0, 0.0, 1.0)),)
    return Instance(nodes, links, pairs, (("s", "d"),), 3, DELTA, PathOptions(path_set=path_set))


def _dejmps_werner_cost(f: float, th: float) -> float:
    """Purification cost of a Werner pair by DEJMPS rounds (written out here, not imported):
    per round p = (F + r)^2 + (2r)^2, F' = (F^2 + r^2)/p, r = (1 - F)/3; cost = prod 2/p."""
    cost = 1.0
    while f < th:
        r = (1 - f) / 3
        p = (f + r) ** 2 + (2 * r) ** 2
        f, cost = (f * f + r * r) / p, cost * 2 / p
    return cost


def _closed_form(tau: float) -> float:
    """Slot 2 serves each vintage's whole stock: Σ_t0 C_t0 / (g(F_t0) δ), with F_t0 the link's
    fidelity decayed for (2 - t0) δ in both memories (nothing is worth drawing in slot 1)."""
    total = 0.0
    for t0, cap in ((0, C0), (1, C1)):
        decay = math.exp(-(2 - t0) * DELTA * 2 / tau) if math.isfinite(tau) else 1.0
        f = 0.25 + (F_LINK - 0.25) * decay
        total += cap / (_dejmps_werner_cost(f, F_TH) * DELTA)
    return total


@pytest.mark.parametrize("path_set", ["complete", "capped"])
@pytest.mark.parametrize("tau", [1000.0, 1e12, math.inf])
def test_a_route_draws_every_vintage(tau, path_set):
    inst = two_fill_instance(tau, path_set)
    sol = routing.solve_milp(inst)
    expected = _closed_form(tau)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(expected, rel=1e-9)
    assert routing.check_solution(sol) == []
    if tau == 1000.0:  # the two vintages need 1 and 0 purification rounds: a real test of both
        costs = sorted(p.cost for p in sol.model.paths if p.slot == 2)
        assert costs[0] == 1.0 and 2.0 < costs[1] < 2.3
        # one route in slot 2, two vintage columns, both used
        fills = sorted(c["fill_slot"] for c in sol.chosen if c["slot"] == 2)
        assert fills == [0, 1]
        assert expected > C1 / DELTA + 1.0  # more than one vintage's stock (the old C2's best)


def test_vintages_are_chosen_together_in_every_method():
    inst = two_fill_instance(1000.0)
    model = routing.compile_model(inst)
    assert model.ties, "slot 2's route has two vintages"
    expected = _closed_form(1000.0)
    for sol in (routing.solve_benders(model), routing.solve_benders(model, multi_cut=False),
                routing.solve_milp(model, solver="CBC")):
        assert sol.objective == pytest.approx(expected, rel=1e-7), sol.method
        assert routing.check_solution(sol) == []


def test_check_solution_refuses_vintages_chosen_apart():
    sol = routing.solve_milp(two_fill_instance(1000.0))
    j, h = sol.model.ties[0]
    split = replace(sol, x=sol.x.copy(), y=sol.y.copy())
    split.x[j], split.y[j] = 0.0, 0.0
    split.objective = float(sol.model.alpha @ split.y)
    bad = routing.check_solution(split)
    assert any("chosen apart" in b for b in bad), bad
    with pytest.raises(ValueError, match="vintages"):
        routing.solve_milp(sol.model, fixed_x=split.x)


# generated instances where storage pays; on the first and third, choosing one vintage per
# cell (the old C2) lost storage's gain at every lifetime (165.32 and 232.93 at τ = 1e12 s)
LIMIT_CASES = [(tiny, 3, 6, "capped"), (tiny, 1, 6, "capped"), (small, 2, 4, "capped"),
               (tiny, 2, 6, "complete")]


@pytest.mark.parametrize("make,seed,n_slots,path_set", LIMIT_CASES)
def test_long_lifetimes_recover_the_storage_optimum(make, seed, n_slots, path_set):
    """τ -> inf is the no-decay model (an independent code path: one stock per segment), and
    the optimum never rises as τ falls (shorter lifetimes only lower fidelities) nor falls
    below no storage at all (NSS)."""
    base = make(seed, max_storage_paths=2, n_slots=n_slots).with_options(path_set=path_set)

    ref = routing.solve_milp(base)
    nss = routing.solve_baseline(base, "NSS")
    assert ref.objective > nss.objective + 1.0  # storage matters here
    values = []
    for tau in (1e12, 1e3, 100.0):
        sol = routing.solve_milp(with_memory_time(base, tau))
        assert sol.status == "optimal" and routing.check_solution(sol) == []
        values.append(sol.objective)
    assert values[0] == pytest.approx(ref.objective, rel=1e-6)
    assert all(b <= a + 1e-6 * max(1.0, a) for a, b in zip(values, values[1:], strict=False))
    assert values[-1] >= nss.objective - 1e-6 * max(1.0, nss.objective)


def test_rrs_and_hints_take_whole_routes():
    model = routing.compile_model(two_fill_instance(1000.0))
    for seed in range(5):
        x = routing.baselines.random_choice(model.inst, seed, model)
        assert np.array_equal(x, model.spread(x))
    for hint in ("greedy", "zero"):
        sol = routing.solve_milp(model, time_limit=30, hint=hint)
        assert sol.objective == pytest.approx(_closed_form(1000.0), rel=1e-9)


@pytest.mark.parametrize("make,seed,n_slots", [(tiny, 2, 6), (tiny, 3, 6)])
def test_the_all_path_bound_with_decay_bounds_the_complete_optimum(make, seed, n_slots):
    """Finite lifetimes are not priced: the all-path bound is the one without decay
    (routing.pricing.all_paths_lp_bound proves it valid). It must bound the decaying optimum
    over every path (the complete set, enumerated here) and the capped solve's own optimum."""
    base = make(seed, max_storage_paths=2, n_slots=n_slots)
    decaying = with_memory_time(base, 100.0)
    capped = routing.solve_milp(decaying, path_bound=True)
    complete = routing.solve_milp(decaying.with_options(path_set="complete"))
    undecayed, _ = routing.pricing.all_paths_lp_bound(base)
    assert complete.status == "optimal"
    assert capped.path_bound == pytest.approx(undecayed, rel=1e-9)
    assert capped.path_bound >= complete.objective * (1 - 1e-9) >= capped.objective * (1 - 2e-9)
    assert capped.path_gap >= 0 and capped.info["path_bound"]["status"] == \
        "LP optimum without memory decay"


@pytest.mark.parametrize("make,seed,n_slots", [(tiny, 3, 6), (tiny, 1, 6)])
def test_benders_meets_the_milp_with_vintages(make, seed, n_slots):
    """Generated instances where storage pays at τ = 1e4 s and routes have several vintages
    (the tie rows are in both Benders masters and the cuts see every vintage's column)."""
    base = make(seed, max_storage_paths=2, n_slots=n_slots)
    model = routing.compile_model(with_memory_time(base, 1e4))
    assert model.ties
    milp = routing.solve_milp(model)
    assert milp.objective > routing.solve_baseline(base, "NSS").objective + 1.0
    for sol in (routing.solve_benders(model), routing.solve_benders(model, multi_cut=False)):
        assert sol.status == "optimal" and routing.check_solution(sol) == []
        assert sol.objective == pytest.approx(milp.objective, rel=1e-6)
