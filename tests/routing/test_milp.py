"""The monolithic MILP: brute force, solver agreement, C1-C6 checker, MPS export."""

import numpy as np
import pytest

import routing
from tests.reference.routing_bruteforce import brute_force, lp_value
from tests.routing.conftest import TINY2, tiny

# tiny instances where banking pairs in storage strictly helps (found by scanning seeds),
# and two-pair instances where pairs compete for links
BRUTE = [("tiny", s) for s in (3, 4, 5, 6, 7)] + [("tiny2", s) for s in (1, 4, 5, 7)]


def _make(kind, seed):
    return tiny(seed) if kind == "tiny" else routing.generate_instance(seed, **TINY2)


@pytest.mark.parametrize("kind,seed", BRUTE)
def test_milp_and_benders_equal_brute_force(kind, seed):
    inst = _make(kind, seed)
    cands = routing.build_candidates(inst)
    best, choice = brute_force(inst, cands)
    milp = routing.solve_milp(inst)
    bend = routing.solve_benders(inst)
    assert milp.status == "optimal" and bend.status == "optimal"
    assert milp.objective == pytest.approx(best, rel=1e-7, abs=1e-9)
    assert bend.objective == pytest.approx(best, rel=1e-7, abs=1e-9)
    assert routing.check_solution(milp) == [] and routing.check_solution(bend) == []
    # the MILP's own path choice, re-evaluated by the reference LP, gives its objective
    mine = {(c["pair"], c["slot"]): None for c in milp.chosen}
    for j in np.flatnonzero(milp.x > 0.5):
        p = milp.model.paths[j]
        mine[(p.pair, p.slot)] = cands.options[p.pair][p.slot].index(p)
    assert lp_value(inst, cands, mine) == pytest.approx(milp.objective, rel=1e-7, abs=1e-9)


def test_storage_matters_on_some_brute_force_instance():
    # guards the brute-force list: at least one instance banks pairs (else C5/C6 are untested)
    gains = [routing.solve_milp(tiny(s)).objective - routing.solve_nss(tiny(s)).objective
             for s in (3, 4, 6)]
    assert max(gains) > 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solvers_agree_and_checker_passes(seed):
    inst = routing.generate_instance(seed)
    sols = [routing.solve_milp(inst, solver=s) for s in ("SCIP", "HIGHS", "CBC")]
    for s, rel in zip(sols, (1e-9, 1e-4, 1e-6), strict=True):
        # pywraplp's HiGHS stops at HiGHS's default relative gap 1e-4 (see routing.milp)
        assert s.status == "optimal"
        assert routing.check_solution(s) == []
        assert s.objective == pytest.approx(sols[0].objective, rel=rel)
        assert s.objective <= sols[0].objective * (1 + 1e-9)
    assert len(sols[0].chosen) == sum(1 for per_k in sols[0].model.cands.options
                                      for per_t in per_k if per_t)


def test_checker_catches_violations():
    sol = routing.solve_milp(routing.generate_instance(0, n_slots=4))
    assert routing.check_solution(sol) == []
    y = sol.y.copy()
    j = int(np.argmax(y))
    sol.y = y * 1.0
    sol.y[j] *= 1.5  # exceeds its C1 bound or a C4 budget; the objective no longer matches
    bad = routing.check_solution(sol)
    assert any(v.startswith(("C1", "C4")) for v in bad) and any("objective" in v for v in bad)
    sol.y = y
    sol.x = sol.x.copy()
    sol.x[np.flatnonzero(sol.x > 0.5)[0]] = 0.0
    assert any(v.startswith(("C2", "C1")) for v in routing.check_solution(sol))


def test_checker_catches_storage_violations():
    inst = tiny(6)
    sol = routing.solve_milp(inst)
    assert routing.check_solution(sol) == []
    key = next(k for k, v in sol.z.items() if v > 1e-6)
    sol.z = dict(sol.z)
    sol.z[key] *= 0.5
    assert any(v.startswith(("C5", "C6")) for v in routing.check_solution(sol))


def test_time_limit_and_bad_arguments():
    inst = routing.generate_instance(0, n_slots=3)
    sol = routing.solve_milp(inst, time_limit=5.0, gap=1e-4)
    assert sol.status in ("optimal", "feasible") and sol.bound >= sol.objective - 1e-6
    with pytest.raises(ValueError, match="solver"):
        routing.solve_milp(inst, solver="GLPK")
    with pytest.raises(ValueError, match="time_limit"):
        routing.solve_milp(inst, time_limit=-1)
    with pytest.raises(ValueError, match="gap"):
        routing.solve_milp(inst, gap=2.0)


@pytest.mark.parametrize("call", [
    lambda x: routing.solve_milp(x), lambda x: routing.solve_benders(x),
    lambda x: routing.solve_baseline(x, "SOS"), lambda x: routing.solve_baseline(x, "RRS"),
    lambda x: routing.solve_baseline(x, "NSS"), lambda x: routing.build_candidates(x),
    lambda x: routing.compile_model(x), lambda x: routing.write_mps(x, "unused.mps"),
])
@pytest.mark.parametrize("bad", [None, "tiny.json", {"nodes": []}])
def test_something_else_than_an_instance_is_named(call, bad):
    """A path, a dict or None where an Instance belongs is refused naming `inst` and what it
    accepts (each of these failed with an AttributeError about some field of it)."""
    with pytest.raises(ValueError, match=r"^inst = .*is invalid; accepted: a routing\.Instance"):
        call(bad)


def test_check_solution_names_a_non_solution():
    with pytest.raises(ValueError, match=r"^sol = 'x' \(str\) is invalid; accepted: a routing"):
        routing.check_solution("x")


def test_lp_relaxation_bound_survives_a_short_time_limit(monkeypatch):
    """When no MIP backend gives a point, the bound comes from the LP relaxation (GLOP). With
    a short MILP time limit that LP still gets `LP_BOUND_MIN_TIME_S` (it was 10 % of the
    limit, 1 ms here: the bound was lost, inf). The bound it gives is a true upper bound:
    at least the proven optimum of the same instance."""
    import routing.milp as M

    inst = routing.generate_instance(0, n_slots=3)
    opt = routing.solve_milp(inst)
    assert opt.status == "optimal"
    real_build, real_lp = M.build_solver, M._lp_solve
    limits = []

    def build(model, solver="SCIP", *a, **kw):
        if solver != "GLOP":
            raise RuntimeError(f"{solver} unavailable (test)")
        return real_build(model, solver, *a, **kw)

    def lp(model, fixed_x=None, relax=True, time_limit=None):
        if fixed_x is None:
            limits.append(time_limit)
            if time_limit is not None and time_limit < 0.05:
                return None  # GLOP stopped by the time limit
        return real_lp(model, fixed_x=fixed_x, relax=relax, time_limit=time_limit)

    monkeypatch.setattr(M, "build_solver", build)
    monkeypatch.setattr(M, "_lp_solve", lp)
    sol = routing.solve_milp(inst, time_limit=0.01)
    assert limits == [M.LP_BOUND_MIN_TIME_S] and M.LP_BOUND_MIN_TIME_S >= 1
    assert sol.status == "feasible" and all(t["status"].startswith("error") for t in
                                            sol.trace if t["what"] == "mip")
    assert np.isfinite(sol.bound)
    assert sol.bound >= opt.objective * (1 - 1e-9) and sol.bound >= sol.objective
    assert routing.check_solution(sol) == []


def _restricted_brute_force(inst, cands, forbid):
    """Best objective over the path choices that avoid ``forbid`` {(k, t): option index}."""
    import itertools

    cells = [(k, t) for k, per_k in enumerate(cands.options) for t, per_t in enumerate(per_k)
             if per_t]
    ranges = [[i for i in range(len(cands.options[k][t])) if forbid.get((k, t)) != i]
              for k, t in cells]
    return max(lp_value(inst, cands, dict(zip(cells, combo, strict=True)))
               for combo in itertools.product(*ranges))


@pytest.mark.parametrize("kind,seed", [("tiny", 3), ("tiny2", 4)])
@pytest.mark.parametrize("hint", ["greedy", "zero", None])
def test_allowed_is_obeyed_with_every_hint_and_a_time_limit(kind, seed, hint):
    # with a time limit the hint's LP is the incumbent to beat; it must be a choice within
    # allowed, else a forbidden incumbent better than every allowed choice was returned
    inst = _make(kind, seed)
    cands = routing.build_candidates(inst)
    best, choice = brute_force(inst, cands)
    forbid = {c: i for c, i in choice.items() if len(cands.options[c[0]][c[1]]) > 1}
    assert forbid
    want = _restricted_brute_force(inst, cands, forbid)
    assert want < best - 1e-6  # the optimum's paths are forbidden: the answer must drop
    full = routing.solve_milp(inst)
    model = full.model
    allowed = np.array([forbid.get((p.pair, p.slot)) != cands.options[p.pair][p.slot].index(p)
                        for p in model.paths])
    for limit in (None, 30.0):
        sol = routing.solve_milp(model, allowed=allowed, time_limit=limit, hint=hint)
        assert not np.any(sol.x[~allowed] > 0.5)
        assert sol.objective == pytest.approx(want, rel=1e-7, abs=1e-9)
        assert routing.check_solution(sol) == []
    with pytest.raises(ValueError, match="hint chooses a path that allowed forbids"):
        routing.solve_milp(model, allowed=allowed, time_limit=30.0, hint=full)
    with pytest.raises(ValueError, match="fixed_x chooses path"):
        routing.solve_milp(model, allowed=allowed, fixed_x=full.x)


def test_allowed_that_empties_a_cell_or_has_the_wrong_shape_is_refused():
    inst = tiny(3)
    model = routing.solve_milp(inst).model
    k, t, js = model.groups[0]
    allowed = np.ones(model.n_y, bool)
    allowed[js] = False
    with pytest.raises(ValueError, match=f"forbids every path of pair {k} in slot {t}"):
        routing.solve_milp(model, allowed=allowed)
    with pytest.raises(ValueError, match="allowed has shape"):
        routing.solve_milp(model, allowed=np.ones(model.n_y + 1, bool))
    with pytest.raises(ValueError, match="allowed has shape"):
        routing.solve_milp(model, allowed=np.full(model.n_y, 0.5))


def _perturbed(sol, **changes):
    """A copy of ``sol`` with its y, s, z copied and ``changes`` applied: {"z": {key: v}, ...}."""
    from dataclasses import replace

    out = replace(sol, x=sol.x.copy(), y=sol.y.copy(), s=dict(sol.s), z=dict(sol.z))
    for name, upd in changes.items():
        getattr(out, name).update(upd)
    return out


def test_checker_names_each_broken_storage_and_link_family():
    """check_solution is the independent verifier of C3-C6 (written from the instance, not from
    the compiled rows), so each family must be reported by name when only it is broken. The
    solution is tiny(6)'s optimum (it banks pairs); each perturbation below breaks the named
    family (hand reasoning in the comments) and the report must carry that family's name."""
    inst = tiny(6)
    sol = routing.solve_milp(inst)
    assert routing.check_solution(sol) == []
    segs = sol.model.cands.segments
    delta = inst.slot_duration
    # C3: a stock above its stores' capacity B_m (the stock also breaks C6; C3 must be named)
    i, t = next(k for k, v in sol.z.items() if v > 1e-6)
    m = inst.storage_pairs[segs[i].pair][0]
    bad = routing.check_solution(_perturbed(sol, z={(i, t): inst.storage_capacity(m) * 1.5}))
    assert any(b.startswith("C3") for b in bad), bad
    # C4: a storage fill rate whose δ s alone exceeds every link budget of its segment
    i, t = next(iter(sol.s))
    hops = [{a, b} for a, b in zip(segs[i].nodes, segs[i].nodes[1:], strict=False)]
    caps = [lk.capacity[t] for lk in inst.links
            if lk.capacity[t] is not None and {lk.u, lk.v} in hops]
    bad = routing.check_solution(_perturbed(sol, s={(i, t): 2 * max(caps) / delta}))
    assert any(b.startswith("C4") for b in bad), bad
    # C4 by a path: a chosen path's g δ y alone above the budget of a link it uses live (C1
    # and the objective break too; C4 must be named)
    j = next(j for j, p in enumerate(sol.model.paths) if sol.y[j] > 1e-6 and p.live_edges)
    p = sol.model.paths[j]
    u, v = p.live_edges[-1]
    cap = next(lk.capacity[p.slot] for lk in inst.links if {lk.u, lk.v} == {u, v})
    over = _perturbed(sol)
    over.y[j] = 2 * cap / (p.cost * delta)
    bad = routing.check_solution(over)
    assert any(b.startswith(f"C4 (link={(min(u, v), max(u, v))!r}") for b in bad), bad
    # C5: the stock of a slot with a draw emptied (the draw g δ y is then above z = 0)
    drawn = [(p.stored, p.slot) for j, p in enumerate(sol.model.paths)
             if p.stored is not None and sol.y[j] > 1e-6]
    assert drawn
    i, t = drawn[0]
    bad = routing.check_solution(_perturbed(sol, z={(i, t): 0.0}))
    assert any(b.startswith("C5") for b in bad), bad
    # C6: a stock raised by one pair out of nothing (no fill, no earlier stock pays for it);
    # raised in the last slot so that no later balance and no C3 row need notice first
    i = next(k[0] for k, v in sol.z.items() if v > 1e-6)
    last = inst.n_slots - 1
    bad = routing.check_solution(_perturbed(sol, z={(i, last): sol.z[(i, last)] + 1.0}))
    assert any(b.startswith("C6") for b in bad), bad
