"""Paths: fidelity, cost and Y^max against hand computation and an independent enumeration;
the complete path set against column generation (pricing) on small instances."""

import math
from dataclasses import replace

import numpy as np
import pytest

import routing
from routing.instance import Instance, Link, Node, Pair, PathOptions
from routing.purification import purification_cost
from tests.reference.routing_paths import all_paths
from tests.routing.conftest import small, tiny, with_memory_time

DELTA = 10.0
# a hand-made network: two cities (s*, d*), a satellite and a HAP; stores s1 and d1
LINKS = {
    ("s0", "s1"): (0.99, [900.0, 900.0, 900.0]),
    ("d0", "d1"): (0.985, [800.0, 800.0, 800.0]),
    ("s0", "sat"): (0.97, [600.0, 500.0, None]),
    ("d0", "sat"): (0.96, [700.0, 650.0, None]),
    ("s1", "sat"): (0.975, [400.0, None, 300.0]),
    ("d1", "sat"): (0.965, [450.0, None, 350.0]),
    ("s1", "hap"): (0.98, [None, 1000.0, 1000.0]),
    ("d1", "hap"): (0.97, [None, 1100.0, 1000.0]),
    ("hap", "sat"): (0.96, [200.0, None, 250.0]),
}
STORAGE = {"s1": 300.0, "d1": 500.0}
PAIRS = [("s0", "d0", 0.9), ("s1", "d0", 0.95)]


def hand_instance(memory=None, **opts) -> Instance:
    kinds = {"sat": "satellite", "hap": "hap"}
    memory = memory or {}
    nodes = tuple(Node(n, kinds.get(n, "base_station"), 0 if n[0] == "s" and n != "sat" else 1,
                       STORAGE.get(n, 0.0), memory.get(n, math.inf))
                  for n in ("s0", "s1", "d0", "d1", "sat", "hap"))
    kind = {"sat": "S", "hap": "A"}
    links = []
    for (u, v), (f, caps) in LINKS.items():
        a, b = sorted((kind.get(u, "G"), kind.get(v, "G")), key="SAG".index)
        links.append(Link(u, v, f"{a}2{b}", f, tuple(caps)))
    pairs = tuple(Pair(s, d, th, (1.0, 1.0, 1.0)) for s, d, th in PAIRS)
    return Instance(nodes, tuple(links), pairs, (("s1", "d1"),), 3, DELTA,
                    PathOptions(**opts))


def _by_key(cands):
    out = {}
    for per_k in cands.options:
        for per_t in per_k:
            for p in per_t:
                seg = cands.segments[p.stored] if p.stored is not None else None
                key = (p.pair, p.slot, p.kind, p.nodes, seg and seg.nodes, seg and seg.fill_slot)
                assert key not in out, key
                out[key] = p
    return out


def test_hand_computed_real_and_virtual_paths():
    cands = routing.build_candidates(hand_instance(path_set="complete"))
    paths = _by_key(cands)
    # s0 - sat - d0 in slot 0: w = (4*0.97-1)/3 * (4*0.96-1)/3
    w = (4 * 0.97 - 1) / 3 * (4 * 0.96 - 1) / 3
    f = 0.25 + 0.75 * w  # 0.9316 >= 0.9: no purification
    p = paths[(0, 0, "real", ("s0", "sat", "d0"), None, None)]
    assert p.fidelity == pytest.approx(f, rel=1e-14)
    assert p.cost == 1.0 and p.ymax == pytest.approx(min(600.0, 700.0) / DELTA, rel=1e-14)
    # pair 1, s1 - sat - d0 in slot 0: F below F_th = 0.95, one DEJMPS (= BBPSSW) round on
    # Werner pairs: success p = (F + r)^2 + (2r)^2, F' = (F^2 + r^2)/p, r = (1 - F)/3
    w = (4 * 0.975 - 1) / 3 * (4 * 0.96 - 1) / 3
    f = 0.25 + 0.75 * w
    r = (1 - f) / 3
    prob = (f + r) ** 2 + (2 * r) ** 2
    f1 = (f * f + r * r) / prob
    assert f < 0.95 <= f1
    p = paths[(1, 0, "real", ("s1", "sat", "d0"), None, None)]
    assert p.fidelity == pytest.approx(f, rel=1e-14)
    assert p.cost == pytest.approx(2 / prob, rel=1e-14)
    assert p.ymax == pytest.approx(min(400.0, 700.0) / (2 / prob * DELTA), rel=1e-14)
    # virtual in slot 1: s0 -> s1 (slot-1 fiber), stored segment s1-sat-d1 (filled in slot 0),
    # d1 -> d0 (slot-1 fiber); the store bound min(B) = 300 and the live links bound Y
    full = ("s0", "s1", "sat", "d1", "d0")
    w = np.prod([(4 * x - 1) / 3 for x in (0.99, 0.975, 0.965, 0.985)])
    f = 0.25 + 0.75 * w
    g = purification_cost(f, 0.9)
    p = paths[(0, 1, "virtual", full, ("s1", "sat", "d1"), None)]
    assert p.fidelity == pytest.approx(f, rel=1e-14) and p.cost == pytest.approx(g, rel=1e-14)
    assert p.live_edges == (("s0", "s1"), ("d1", "d0"))
    assert p.ymax == pytest.approx(min(900.0, 800.0, 300.0) / (g * DELTA), rel=1e-14)
    # the segment exists in slots 0 and 2 (sat-s1, sat-d1 absent in slot 1); fills there only
    seg = next(s for s in cands.segments if s.nodes == ("s1", "sat", "d1"))
    assert seg.slots == (0,)  # slot 2 is the last: a pair filled then is never used


def _reference(links, storage, storage_pairs, pairs, T, delta, memory=None):
    return all_paths(links, storage, storage_pairs, pairs, T, delta, memory=memory)


def _compare(cands, ref):
    mine = _by_key(cands)
    assert set(mine) == set(ref)
    for key, (f, g, y) in ref.items():
        p = mine[key]
        assert p.fidelity == pytest.approx(f, rel=1e-12), key
        assert p.cost == pytest.approx(g, rel=1e-9), key
        assert p.ymax == pytest.approx(y, rel=1e-9), key


def test_complete_path_set_equals_independent_enumeration_on_hand_network():
    cands = routing.build_candidates(hand_instance(path_set="complete"))
    ref = _reference(LINKS, STORAGE, [("s1", "d1")], PAIRS, 3, DELTA)
    assert len(ref) > 20 and any(k[2] == "virtual" for k in ref)
    _compare(cands, ref)


RANDOM_STORAGE = {"a2": 400.0, "b2": 600.0}
RANDOM_PAIRS = [("a0", "b0", 0.9), ("a1", "b1", 0.92)]


def _random_network(seed, T, memory=None):
    """Plain random data, built here, read by both the instance and the reference:
    ({(u, v): (fidelity, capacities)}, the complete-path-set instance)."""
    rng = np.random.default_rng(seed)
    names = ["a0", "a1", "a2", "b0", "b1", "b2", "x0", "x1"]
    links = {}
    for i, u in enumerate(names):
        for v in names[i + 1:]:
            if rng.uniform() < 0.45:
                caps = [float(rng.uniform(100, 900)) if rng.uniform() < 0.8 else None
                        for _ in range(T)]
                links[(u, v)] = (float(rng.uniform(0.95, 0.995)), caps)
    memory = memory or {}
    nodes = tuple(Node(n, "satellite" if n[0] == "x" else "base_station",
                       storage=RANDOM_STORAGE.get(n, 0.0), memory_time=memory.get(n, math.inf))
                  for n in names)
    inst = Instance(nodes, tuple(Link(u, v, "G2G", f, tuple(c)) for (u, v), (f, c)
                                 in links.items()),
                    tuple(Pair(s, d, th, (1.0,) * T) for s, d, th in RANDOM_PAIRS),
                    (("a2", "b2"),), T, DELTA, PathOptions(path_set="complete"))
    return links, inst


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_complete_path_set_equals_independent_enumeration_on_random_networks(seed):
    T = 3
    links, inst = _random_network(seed, T)
    _compare(routing.build_candidates(inst), _reference(links, RANDOM_STORAGE, [("a2", "b2")],
                                                        RANDOM_PAIRS, T, DELTA))


@pytest.mark.parametrize("protocol", ["dejmps", "bbpssw"])
@pytest.mark.parametrize("threshold", [0.8, 0.9, 0.97])
def test_purification_cost_is_nonincreasing_in_fidelity(protocol, threshold):
    # the pricing's exact pruning relies on it (routing.pricing, step 3)
    f = np.linspace(0.2501, 1.0, 4000)
    g = np.array([purification_cost(x, threshold, protocol) for x in f])
    finite = np.isfinite(g)
    assert not np.any(finite[:-1] & ~finite[1:])  # once finite, finite for higher F
    gf = g[finite]
    assert np.all(np.diff(gf) <= 1e-12 * gf[1:])



@pytest.mark.parametrize("protocol", ["dejmps", "bbpssw"])
@pytest.mark.parametrize("threshold", [0.8, 0.9, 0.97])
@pytest.mark.parametrize("gmax", [math.inf, 40.0, 3.0])
def test_fidelity_floor_is_the_edge_of_what_purification_reaches(protocol, threshold, gmax):
    # the enumeration prunes partial paths below this floor: it must be exact (nothing
    # affordable below it) and tight (everything just above it affordable). With gmax = inf
    # the floor was 0.25 (g <= inf held for unreachable F too), so nothing was pruned.
    f_lo = routing.paths.fidelity_floor(threshold, protocol, 30, gmax)

    def affordable(f):
        g = purification_cost(f, threshold, protocol, 30)
        return math.isfinite(g) and g <= gmax

    assert not any(affordable(f) for f in np.linspace(0.25, f_lo, 400))
    assert affordable(min(1.0, f_lo + 1e-9))
    assert 0.5 <= f_lo < threshold  # Werner pairs at F <= 1/2 purify to nothing

@pytest.mark.parametrize("seed", [3, 4, 5, 6])
def test_priced_optimum_equals_complete_optimum(seed):
    inst = tiny(seed)
    capped = routing.solve_milp(inst)
    comp = routing.solve_milp(inst.with_options(path_set="complete"))
    pr = routing.solve_milp(inst.with_options(path_set="priced"))
    assert comp.status == pr.status == "optimal"
    assert pr.model.cands.info["exact"] and pr.path_set == "priced"
    assert pr.objective == pytest.approx(comp.objective, rel=1e-9, abs=1e-9)
    assert pr.path_bound >= comp.objective * (1 - 1e-9)  # the all-path LP bound
    assert capped.objective <= comp.objective * (1 + 1e-9)
    assert routing.check_solution(pr) == [] and routing.check_solution(comp) == []
    # the priced model holds fewer paths than the complete one
    assert pr.model.n_y <= comp.model.n_y


def test_caps_leave_objective_on_the_table_and_say_so():
    inst = tiny(6)
    capped = routing.solve_milp(inst)
    pr = routing.solve_milp(inst.with_options(path_set="priced"))
    assert capped.path_set == "capped" and math.isnan(capped.path_bound)
    assert pr.objective > 1.1 * capped.objective  # 200.0 vs 163.5 on this instance (seed budgets)
    # asked for, the capped optimum comes with the bound over all paths and its gap
    told = routing.solve_milp(inst, path_bound=True)
    assert told.objective == pytest.approx(capped.objective, rel=1e-12)
    assert told.path_bound >= pr.objective * (1 - 1e-9)
    assert told.path_gap == pytest.approx((told.path_bound - told.objective) / told.path_bound)
    assert told.path_gap > 0.09 and told.info["path_bound"]["status"] == "LP optimum"


@pytest.mark.parametrize("seed", [3, 6])
def test_all_path_bound_is_the_lp_relaxation_over_the_complete_path_set(seed):
    """The bound a capped solve reports (column generation, from the capped set) is the LP
    relaxation over every path: built here from the complete path set (itself checked
    against the independent enumeration above) with the equality model."""
    inst = tiny(seed)
    model = routing.compile_model(inst.with_options(path_set="complete"))
    lp_all, _ = _optimum(model, relax=True, discard=False)
    mip_all, _ = _optimum(model, relax=False, discard=False)
    for sol in (routing.solve_milp(inst, path_bound=True),
                routing.solve_benders(inst, path_bound=True)):
        assert sol.path_set == "capped"
        assert sol.path_bound == pytest.approx(lp_all, rel=1e-7)
        assert sol.objective <= mip_all * (1 + 1e-9) <= sol.path_bound * (1 + 1e-7)
    # a baseline's gap is to the same bound: the instance's, whatever the method
    sos = routing.with_path_bound(routing.solve_sos(inst))
    assert sos.path_bound == pytest.approx(lp_all, rel=1e-7)


def test_all_path_bound_under_a_time_limit_is_still_a_bound():
    from routing.pricing import all_paths_lp_bound

    inst = tiny(6)
    lp_all, _ = _optimum(routing.compile_model(inst.with_options(path_set="complete")),
                         relax=True, discard=False)
    bound, info = all_paths_lp_bound(inst, time_limit=1e-9)  # no round completes
    assert info["time_limit_hit"] and not info["converged"] and bound == math.inf
    sol = routing.solve_milp(inst)
    routing.with_path_bound(sol, time_limit=1e-9)
    assert sol.path_gap == math.inf and sol.info["path_bound"]["status"] == (
        "no bound (time limit)")
    # a limit that lets pricing run gives the LP; any bound it gives is >= the LP
    bound, info = all_paths_lp_bound(inst, time_limit=60.0)
    assert bound >= lp_all * (1 - 1e-7)
    assert not info["time_limit_hit"] and bound == pytest.approx(lp_all, rel=1e-7)
    with pytest.raises(ValueError, match="time_limit"):
        all_paths_lp_bound(inst, time_limit=0)


def test_benders_on_the_priced_path_set_meets_the_milp():
    model = routing.compile_model(tiny(5).with_options(path_set="priced"))
    ref = routing.solve_milp(model)
    ben = routing.solve_benders(model)
    assert ben.status == "optimal" and ben.path_set == "priced"
    assert ben.objective == pytest.approx(ref.objective, rel=1e-6)


def test_complete_enumeration_guard_names_the_option(monkeypatch):
    import routing.pricing as pricing

    inst = tiny(5).with_options(path_set="complete")
    per_cell = [len(c) for o in routing.build_candidates(inst).options for c in o]
    cap = max(per_cell) // 2  # one cell alone holds more paths than the cap
    assert cap >= 2
    sizes = []
    real = pricing.enumerate_cell

    def counted(*args, **kwargs):
        out = real(*args, **kwargs)
        sizes.append(len(out))
        return out

    monkeypatch.setattr(pricing, "enumerate_cell", counted)
    with pytest.raises(ValueError, match="max_columns"):
        routing.build_candidates(inst.with_options(max_columns=cap))
    # the cap stops the enumeration inside the cell (a large network's cell can hold more
    # paths than fit in memory), not after it: at most cap + 1 paths and the marker
    assert max(sizes) <= cap + 2
    with pytest.raises(ValueError, match="path_set"):
        tiny(5).with_options(path_set="all")


MEMORY = {"s1": 40.0, "d1": 25.0}  # seconds


def test_memory_lifetime_decays_the_stored_pair_by_hand():
    cands = routing.build_candidates(hand_instance(MEMORY, path_set="complete"))
    paths = _by_key(cands)
    # segment s1-sat-d1 is filled in slot 0 only; drawn in slot 1 it waited one slot (10 s)
    full = ("s0", "s1", "sat", "d1", "d0")
    w = np.prod([(4 * x - 1) / 3 for x in (0.99, 0.975, 0.965, 0.985)])
    w *= math.exp(-DELTA * (1 / 40.0 + 1 / 25.0))
    f = 0.25 + 0.75 * w
    p = paths[(0, 1, "virtual", full, ("s1", "sat", "d1"), 0)]
    assert p.fidelity == pytest.approx(f, rel=1e-13)
    assert p.cost == pytest.approx(purification_cost(f, 0.9), rel=1e-13)


def test_memory_lifetime_path_set_equals_independent_enumeration():
    cands = routing.build_candidates(hand_instance(MEMORY, path_set="complete"))
    ref = _reference(LINKS, STORAGE, [("s1", "d1")], PAIRS, 3, DELTA, MEMORY)
    assert any(k[5] is not None for k in ref)
    _compare(cands, ref)


def test_memory_lifetime_lowers_the_optimum_and_long_lifetimes_recover_it():
    # a network whose optimum needs storage, every path
    inst = starved_hand_instance(path_set="complete")
    base = routing.solve_milp(inst).objective
    short = routing.solve_milp(with_memory_time(inst, 5.0))
    long_ = routing.solve_milp(with_memory_time(inst, 1e12))
    assert short.objective < base - 1e-6
    assert long_.objective == pytest.approx(base, rel=1e-6)
    assert routing.check_solution(short) == [] and short.path_set == "complete"
    assert any(s.fill_slot is not None for s in short.model.cands.segments)
    with pytest.raises(ValueError, match="memory_time"):
        routing.build_candidates(with_memory_time(inst, 5.0).with_options(path_set="priced"))



def starved_hand_instance(**opts) -> Instance:
    """The hand network with slot 1's satellite and HAP access cut to 40 pairs: the optimum
    serves slot 1 from storage (s1-d1 filled in slot 0)."""
    inst = hand_instance(**opts)
    cut = {("s0", "sat"), ("d0", "sat"), ("s1", "hap")}
    links = tuple(replace(lk, capacity=(lk.capacity[0], 40.0, lk.capacity[2]))
                  if (lk.u, lk.v) in cut else lk for lk in inst.links)
    return replace(inst, links=links)


def _optimum(model, relax, discard):
    from routing.milp import build_solver

    lp, _, vs = build_solver(model, "GLOP" if relax else "SCIP", relax=relax, discard=discard)
    assert lp.Solve() == 0  # OPTIMAL
    return lp.Objective().Value(), np.array([v.solution_value() for v in vs])


@pytest.mark.parametrize("which", ["starved", 3])
def test_discarding_stored_pairs_changes_no_optimum(which):
    """Pricing writes C6 as <= (routing.pricing, "Discard"): LP and MILP optima over the
    complete path set are those of the equality model, and the LP's draw prices are >= 0."""
    from routing.pricing import _duals

    inst = starved_hand_instance() if which == "starved" else tiny(which)
    model = routing.compile_model(inst.with_options(path_set="complete"))
    z_eq, v_eq = _optimum(model, relax=False, discard=False)
    z_ds, _ = _optimum(model, relax=False, discard=True)
    assert z_ds == pytest.approx(z_eq, rel=1e-9, abs=1e-9)
    assert max(v_eq[list(model.z_index.values())]) > 0  # storage is used
    l_eq, _ = _optimum(model, relax=True, discard=False)
    l_ds, _ = _optimum(model, relax=True, discard=True)
    assert l_ds == pytest.approx(l_eq, rel=1e-9, abs=1e-9)
    _, prices = _duals(model)
    assert prices.min_draw() >= -1e-9


def test_priced_equals_complete_when_storage_is_used():
    comp = routing.solve_milp(starved_hand_instance(path_set="complete"))
    pr = routing.solve_milp(starved_hand_instance(path_set="priced"))
    assert any(c["kind"] == "virtual" for c in comp.chosen)
    assert pr.model.cands.info["exact"]
    assert pr.objective == pytest.approx(comp.objective, rel=1e-9, abs=1e-9)
    assert routing.check_solution(pr) == []


def _path_key(model, p):
    seg = model.cands.segments[p.stored] if p.stored is not None else None
    return (p.pair, p.slot, p.kind, tuple(p.nodes),
            None if seg is None else (seg.pair, tuple(seg.nodes)))


def test_cut_short_closure_still_bounds_every_solution_over_all_paths():
    """With max_columns too small for the full closure, pricing narrows the window until it
    fits, w (every path with rc >= -w is in the set), and reports path_bound =
    max(z_w, LP - w). Checked against the complete path set: its optimum, and its best solution
    that uses at least one path outside the priced set (bounded by LP - w: reduced costs)."""
    from ortools.linear_solver import pywraplp

    from routing.milp import build_solver

    inst = small(2)
    cut = routing.solve_milp(inst.with_options(path_set="priced", max_columns=100))
    info = cut.model.cands.info
    assert not info["exact"] and cut.path_set == "priced"
    rounds = [r for r in info["closure_rounds"] if r["added"] is not None]
    assert rounds and any(r["added"] is None for r in info["closure_rounds"])  # narrowed
    w = rounds[-1]["width"]
    assert cut.path_bound < info["lp_bound"]
    comp_model = routing.compile_model(inst.with_options(path_set="complete"))
    assert routing.solve_milp(comp_model).objective <= cut.path_bound * (1 + 1e-9)
    inside = {_path_key(cut.model, p) for p in cut.model.paths}
    lp, xs, _ = build_solver(comp_model)
    ct = lp.Constraint(1.0, lp.infinity())
    outside = [j for j, p in enumerate(comp_model.paths) if _path_key(comp_model, p) not in inside]
    assert outside
    for j in outside:
        ct.SetCoefficient(xs[j], 1.0)
    assert lp.Solve() == pywraplp.Solver.OPTIMAL
    best_outside = lp.Objective().Value()
    assert best_outside <= info["lp_bound"] - w + 1e-7 * info["lp_bound"]
    assert best_outside <= cut.path_bound * (1 + 1e-9)


def test_closure_with_time_capped_milps_stays_valid(monkeypatch):
    """The MILPs inside the closure are time-capped (routing.pricing.CLOSURE_MILP_SECONDS); cut
    to 1 ms, their incumbents are weaker and their bounds looser, but whatever the closure
    then claims must hold against the complete path set: exact means the priced MILP meets the
    complete optimum, and path_bound is never below it."""
    import routing.pricing as pricing

    inst = small(2)
    comp = routing.solve_milp(inst.with_options(path_set="complete"))
    monkeypatch.setattr(pricing, "CLOSURE_MILP_SECONDS", 1e-3)
    pr = routing.solve_milp(inst.with_options(path_set="priced"))
    info = pr.model.cands.info
    assert pr.path_bound >= comp.objective * (1 - 1e-9)
    assert pr.objective <= comp.objective * (1 + 1e-9)
    if info["exact"]:
        assert pr.objective == pytest.approx(comp.objective, rel=1e-9, abs=1e-9)
    assert routing.check_solution(pr) == []


def test_priced_solve_starts_from_the_closures_best_path_choice():
    """solve_milp's default hint on a priced path set is the closure's best path choice (by
    path identity), so a time-limited solve never returns less than the closure found."""
    pr = routing.solve_milp(small(2).with_options(path_set="priced"), time_limit=60)
    info = pr.model.cands.info
    hint = [e for e in pr.trace if e["what"] == "hint"]
    assert hint and hint[0]["objective"] >= info["incumbent"] * (1 - 1e-9)
    assert hint[0]["objective"] > routing.solve_milp(
        pr.model, fixed_x=routing.milp.greedy_x(pr.model)).objective * (1 + 1e-6)
    assert pr.objective >= info["incumbent"] * (1 - 1e-9)


@pytest.mark.parametrize("seed", [1, 5, 7])
def test_memory_lifetime_complete_set_equals_independent_enumeration_on_random_networks(seed):
    """The random networks of the test above with decaying stores: every vintage of every
    virtual path (one per fill slot t0 < t, none filled in its own draw slot) with its decayed
    fidelity, cost and Y^max, against the independent enumeration. The hand network cannot
    show a vintage filled in its draw slot (its one early segment is absent in slot 1);
    seeds 1, 5 and 7 have vintages filled after slot 0."""
    T = 4
    memory = {"a2": 300.0, "b2": 500.0}
    links, inst = _random_network(seed, T, memory)
    ref = _reference(links, RANDOM_STORAGE, [("a2", "b2")], RANDOM_PAIRS, T, DELTA, memory)
    assert any(k[5] is not None and k[5] > 0 for k in ref)  # vintages past the first slot
    _compare(routing.build_candidates(inst), ref)


def _zero_and_unreachable_instance(path_set):
    """Pair (a, b), threshold 0.9, three slots. Slot 0: a direct a-b link of fidelity 0.995
    but capacity 0 (present, can carry nothing), and two-hop routes a-x-b (0.98, C = 400 and
    300) and a-y-b (0.97, C = 600 and 200). Slot 1: no link. Slot 2: only a-z-b, with an a-z
    link of fidelity 0.5."""
    nodes = tuple(Node(n, "base_station", 0 if n == "a" else 1) for n in "abxyz")
    links = (Link("a", "b", "G2G", 0.995, (0.0, None, None)),
             Link("a", "x", "G2G", 0.98, (400.0, None, None)),
             Link("x", "b", "G2G", 0.98, (300.0, None, None)),
             Link("a", "y", "G2G", 0.97, (600.0, None, None)),
             Link("y", "b", "G2G", 0.97, (200.0, None, None)),
             Link("a", "z", "G2G", 0.5, (None, None, 900.0)),
             Link("z", "b", "G2G", 0.99, (None, None, 900.0)))
    return Instance(nodes, links, (Pair("a", "b", 0.9, (1.0,) * 3),), (), 3, DELTA,
                    PathOptions(max_real_paths=2, path_set=path_set))


@pytest.mark.parametrize("path_set", ["capped", "complete", "priced"])
def test_zero_capacity_links_are_absent_and_empty_cells_say_why(path_set):
    """A link with capacity 0 is not in the slot graph: the two real paths of slot 0 (cap 2)
    are a-x-b and a-y-b, not the higher-fidelity a-b that carries nothing, with Y^max =
    min C / δ (F >= 0.9 by hand: g = 1). Slot 1 has no link: "disconnected". Slot 2's only
    path a-z-b has F = 1/4 + 3/4 (1/3) w(0.99) < 1/2, which no purification improves:
    "threshold unreachable", in every path set (complete and priced sets called it
    "disconnected": they never build a path with g = inf)."""
    cands = routing.build_candidates(_zero_and_unreachable_instance(path_set))
    w = {f: (4 * f - 1) / 3 for f in (0.98, 0.97, 0.5, 0.99)}
    assert 0.25 + 0.75 * w[0.98] ** 2 >= 0.9 and 0.25 + 0.75 * w[0.97] ** 2 >= 0.9
    assert 0.25 + 0.75 * w[0.5] * w[0.99] < 0.5
    got = {p.nodes: (p.kind, p.fidelity, p.cost, p.ymax) for p in cands.options[0][0]}
    assert got == {
        ("a", "x", "b"): ("real", pytest.approx(0.25 + 0.75 * w[0.98] ** 2, rel=1e-14), 1.0,
                          pytest.approx(300.0 / DELTA, rel=1e-14)),
        ("a", "y", "b"): ("real", pytest.approx(0.25 + 0.75 * w[0.97] ** 2, rel=1e-14), 1.0,
                          pytest.approx(200.0 / DELTA, rel=1e-14))}
    assert cands.options[0][1] == cands.options[0][2] == ()
    assert cands.no_path == ({"pair": 0, "slot": 1, "reason": "disconnected"},
                             {"pair": 0, "slot": 2, "reason": "threshold unreachable"})
    if path_set == "capped":  # the capped set tries the path and reports it
        assert [(d["slot"], d["nodes"]) for d in cands.dropped] == [(2, ["a", "z", "b"])]


@pytest.mark.parametrize("which", ["starved", 3, 6])
def test_pricing_from_a_bare_start_reaches_every_path(which, monkeypatch):
    """With one real path per cell and no stored segment or virtual path to start from (every
    segment is priced as a new one), column generation must
    find the rest by its duals and reduced costs alone: it converges to the LP relaxation
    over the complete path set (checked against the independent enumeration above), and the
    priced MILP meets the complete MILP optimum (exact). Stopped after one or two rounds, its
    bound (Lagrangian: z_RMP + Σ_cells max rc, complete rounds only) is still >= that LP."""
    import routing.pricing as pricing

    base = starved_hand_instance() if which == "starved" else tiny(which)
    inst = base.with_options(max_real_paths=1, max_virtual_paths=0, max_storage_paths=0)
    complete = routing.compile_model(inst.with_options(path_set="complete"))
    lp_all, _ = _optimum(complete, relax=True, discard=False)
    mip_all, _ = _optimum(complete, relax=False, discard=False)
    lp_start, _ = _optimum(routing.compile_model(inst), relax=True, discard=False)
    assert lp_start < 0.9 * lp_all  # the start is far from every path
    bound, info = pricing.all_paths_lp_bound(inst)
    assert info["converged"] and bound == pytest.approx(lp_all, rel=1e-7)
    pr = routing.solve_milp(inst.with_options(path_set="priced"))
    assert pr.model.cands.info["exact"]
    assert pr.objective == pytest.approx(mip_all, rel=1e-9, abs=1e-9)
    for rounds in (1, 2):
        monkeypatch.setattr(pricing, "MAX_ROUNDS", rounds)
        bound, info = pricing.all_paths_lp_bound(inst)
        assert not info["converged"]
        assert bound >= lp_all * (1 - 1e-9), rounds
