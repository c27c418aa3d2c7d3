"""Benders decomposition: bounds monotone, equal to the MILP, cuts valid, options."""

import math

import numpy as np
import pytest

import routing
from routing.benders import Subproblem
from routing.model import compile_model
from tests.routing.conftest import small

SEEDS = list(range(25))


def _assert_trace_monotone(sol, exact_master=False):
    tr = sol.trace
    assert tr, "empty trace"
    lows = [e["lower"] for e in tr]
    ups = [e["upper"] for e in tr]
    assert all(b >= a for a, b in zip(lows, lows[1:], strict=False) if math.isfinite(a))
    assert all(b <= a for a, b in zip(ups, ups[1:], strict=False) if math.isfinite(b))
    # the raw master values (not running min) only decrease within a phase: cuts accumulate.
    # (The integer master with the adaptive gap reports a bound within its gap, not its optimum.)
    for phase in ("lp", "milp") if exact_master else ("lp",):
        vals = [e["master"] for e in tr if e["phase"] == phase and not math.isnan(e["subproblem"])]
        assert all(b <= a * (1 + 1e-9) + 1e-9 for a, b in zip(vals, vals[1:], strict=False))
    # every bound brackets the final objective
    assert all(lo <= sol.objective * (1 + 1e-9) + 1e-9 for lo in lows if math.isfinite(lo))
    assert all(up >= sol.objective * (1 - 1e-9) - 1e-9 for up in ups if math.isfinite(up))


@pytest.mark.parametrize("seed", SEEDS)
def test_benders_meets_milp_on_random_small_instances(seed):
    inst = small(seed)
    model = compile_model(inst)
    ref = routing.solve_milp(model)
    sol = routing.solve_benders(model)
    assert sol.status == "optimal", sol.info
    if model.n_y == 0:  # no pair ever has a path: an explicit reason, not a silent zero
        assert sol.objective == 0.0 and len(sol.no_path) == inst.n_pairs * inst.n_slots
        return
    assert sol.objective == pytest.approx(ref.objective, rel=1e-6, abs=1e-9)
    assert sol.bound - sol.objective <= 1e-6 * max(1.0, abs(sol.bound))
    assert routing.check_solution(sol) == []
    _assert_trace_monotone(sol)


def test_most_random_instances_have_paths():
    assert sum(compile_model(small(s)).n_y > 0 for s in SEEDS) >= 20


def test_textbook_benders_also_converges_on_a_small_instance():
    inst = small(3)
    ref = routing.solve_milp(inst)
    sol = routing.solve_benders(inst, lp_phase=False, max_iterations=300, adaptive_gap=False,
                                core_point=False)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(ref.objective, rel=1e-6)
    assert all(e["phase"] == "milp" for e in sol.trace)
    _assert_trace_monotone(sol, exact_master=True)


def test_seed_size_instance_and_options():
    inst = routing.generate_instance(0)
    model = compile_model(inst)
    ref = routing.solve_milp(model)
    for kw in (dict(), dict(warm_start="greedy"), dict(warm_start=routing.solve_rrs(inst)),
               dict(master_solver="CBC")):
        sol = routing.solve_benders(model, **kw)
        assert sol.status == "optimal", kw
        assert abs(sol.objective - ref.objective) <= 1e-6 * ref.objective
        _assert_trace_monotone(sol)
    warm = routing.solve_benders(model, warm_start="greedy")
    assert warm.trace[0]["phase"] == "warm"


def test_multicut_without_storage_uses_one_theta_per_slot():
    inst = routing.generate_instance(1, n_slots=5).with_storage_capacity(0)
    ref = routing.solve_milp(inst)
    sol = routing.solve_benders(inst, multi_cut=True)
    assert sol.info["blocks"] == 5
    assert sol.objective == pytest.approx(ref.objective, rel=1e-6)
    _assert_trace_monotone(sol)
    # with storage the horizon is one coupled block
    seed = next(s for s in SEEDS if compile_model(small(s)).cands.segments)
    coupled = routing.solve_benders(small(seed), multi_cut=True)
    assert coupled.info["blocks"] == 1 and coupled.status == "optimal"


def test_cuts_are_valid_at_every_path_choice():
    # a cut from one x must bound Q at other x (dual feasibility does not depend on x)
    inst = small(5)
    m = compile_model(inst)
    sub = Subproblem(m)
    rng = np.random.default_rng(0)

    def random_x():
        x = np.zeros(m.n_y)
        for _, _, js in m.groups:
            x[rng.choice(js)] = 1.0
        return x

    for _ in range(5):
        xa = random_x()
        q, _, u, pi = sub.solve(xa)
        assert u @ (m.ymax * xa) + pi @ m.b_ub == pytest.approx(q, rel=1e-7, abs=1e-7)
        for _ in range(5):
            xb = random_x()
            qb = sub.solve(xb)[0]
            assert qb <= u @ (m.ymax * xb) + pi @ m.b_ub + 1e-6 * max(1.0, qb)


def test_subproblem_duals_are_shadow_prices():
    # dQ/dr_j = u_j where the LP is non-degenerate in r_j: check with a finite difference
    m = compile_model(small(4))
    sub = Subproblem(m)
    x = np.zeros(m.n_y)
    for _, _, js in m.groups:
        x[js[0]] = 1.0
    q, _, u, _ = sub.solve(x)
    j = int(np.argmax(u * (x > 0)))
    eps = 1e-4 * m.ymax[j]
    sub.r.value = m.ymax * x
    sub.r.value[j] -= eps
    sub.problem.solve(solver="HIGHS")
    assert (q - sub.problem.value) / eps == pytest.approx(u[j], rel=1e-6, abs=1e-9)


def test_bad_arguments():
    inst = small(0)
    with pytest.raises(ValueError, match="tol"):
        routing.solve_benders(inst, tol=-1)
    with pytest.raises(ValueError, match="master_solver"):
        routing.solve_benders(inst, master_solver="GLPK")
    with pytest.raises(ValueError, match="warm_start"):
        routing.solve_benders(inst, warm_start="magic")


def test_time_limited_benders_keeps_valid_bounds():
    # seed 2 is the hardest seed-size instance: a short limit stops Benders early
    inst = routing.generate_instance(2)
    model = compile_model(inst)
    opt = routing.solve_milp(model).objective
    sol = routing.solve_benders(model, time_limit=0.5)
    assert sol.status in ("feasible", "optimal")
    assert sol.objective <= opt * (1 + 1e-9) and sol.bound >= opt * (1 - 1e-9)
    assert routing.check_solution(sol) == []
    if sol.status == "feasible":
        assert sol.info["stop"] == "time_limit" and sol.gap > 1e-6
