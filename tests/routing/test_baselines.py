"""Baselines SOS, RRS, NSS: feasible for the full model and never above its optimum."""

import numpy as np
import pytest

import routing


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_baselines_feasible_and_below_optimum(seed):
    inst = routing.generate_instance(seed)
    opt = routing.solve_milp(inst).objective
    for name in routing.BASELINES:
        sol = routing.solve_baseline(inst, name, seed=seed)
        assert sol.status == "optimal", name
        assert routing.check_solution(sol) == [], name
        assert sol.objective <= opt * (1 + 1e-9) + 1e-9, name


def test_sos_uses_satellite_only_paths_and_no_storage():
    inst = routing.generate_instance(0)
    kinds = {n.name: n.kind for n in inst.nodes}
    sol = routing.solve_sos(inst)
    assert sol.model.cands.segments == ()
    for c in sol.chosen:
        assert c["kind"] == "real"
        assert all(kinds[v] == "satellite" for v in c["nodes"][1:-1])
    assert all(e["reason"] == "no satellite-only path" for e in sol.no_path)


def test_nss_has_no_storage_and_equals_zero_capacity_milp():
    inst = routing.generate_instance(1)
    nss = routing.solve_nss(inst)
    assert all(c["kind"] == "real" for c in nss.chosen)
    assert nss.objective == pytest.approx(
        routing.solve_milp(inst.with_storage_capacity(0)).objective, rel=1e-9)


def test_rrs_is_seeded_and_fixes_one_random_path_per_cell():
    inst = routing.generate_instance(2)
    a, b = routing.solve_rrs(inst, seed=4), routing.solve_rrs(inst, seed=4)
    assert np.array_equal(a.x, b.x) and a.objective == b.objective
    assert sum(a.x) == len(a.model.groups)
    # its objective is the LP value at that x: Benders' subproblem agrees
    from routing.benders import Subproblem
    q = Subproblem(a.model).solve(a.x)[0]
    assert q == pytest.approx(a.objective, rel=1e-7)


def test_unknown_baseline():
    with pytest.raises(ValueError, match="baseline"):
        routing.solve_baseline(routing.generate_instance(0, n_slots=2), "XYZ")
