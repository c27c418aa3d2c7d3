"""Baselines SOS, RRS, NSS: feasible for the full model and never above its optimum."""

import numpy as np
import pytest

import routing
from routing.instance import Instance, Link, Node, Pair, PathOptions


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_baselines_feasible_and_below_optimum(seed):
    # PS-EGR's real-path cap wide enough to hold every satellite-only path SOS can find
    inst = routing.generate_instance(seed, max_real_paths=20)
    opt = routing.solve_milp(inst).objective
    for name in routing.BASELINES:
        sol = routing.solve_baseline(inst, name, seed=seed)
        assert sol.status == "optimal", name
        assert routing.check_solution(sol) == [], name
        assert sol.objective <= opt * (1 + 1e-9) + 1e-9, name


def _satellite_only_paths(inst, k, t):
    """Every simple path src -> satellites ... -> dst over links present in slot t (own DFS)."""
    kinds = {n.name: n.kind for n in inst.nodes}
    adj = {}
    for lk in inst.links:
        if lk.present(t):
            adj.setdefault(lk.u, set()).add(lk.v)
            adj.setdefault(lk.v, set()).add(lk.u)
    src, dst = inst.pairs[k].src, inst.pairs[k].dst
    out = set()

    def walk(path):
        for nxt in sorted(adj.get(path[-1], ())):
            if nxt == dst and len(path) > 1:
                out.add((*path, dst))
            elif kinds[nxt] == "satellite" and nxt not in path:
                walk(path + (nxt,))

    walk((src,))
    return out


def test_sos_searches_its_own_satellite_only_paths():
    """SOS's candidates are exactly the satellite-only paths of the slot graph (hand DFS), found
    even where PS-EGR's capped candidate set holds none of them."""
    # better HAP sources make PS-EGR's single real path the HAP route: its candidate set then
    # holds no satellite-only path, SOS's own search still finds them
    inst = routing.generate_instance(0, max_real_paths=1, max_virtual_paths=0,
                                     hap_terminal={"source_fidelity": 0.995})
    kinds = {n.name: n.kind for n in inst.nodes}
    sos = routing.solve_sos(inst)
    ps = routing.build_candidates(inst)
    assert sos.model.cands.segments == ()
    by_cell = {}
    for p in sos.model.paths:
        by_cell.setdefault((p.pair, p.slot), set()).add(p.nodes)
    own_only = 0
    for k in range(inst.n_pairs):
        for t in range(inst.n_slots):
            hand = _satellite_only_paths(inst, k, t)
            assert by_cell.get((k, t), set()) == hand, (k, t)
            ps_sat = {p.nodes for p in ps.options[k][t]
                      if all(kinds[v] == "satellite" for v in p.nodes[1:-1])}
            own_only += len(hand - ps_sat)
            if not hand:
                assert {"pair": k, "slot": t, "reason": "no satellite-only path"} in sos.no_path
    assert own_only > 0  # not a filter of PS-EGR's candidates
    for c in sos.chosen:  # only satellite links: S2G at the two ends, S2S between
        assert c["kind"] == "real"
        assert all(kinds[v] == "satellite" for v in c["nodes"][1:-1])
    assert routing.check_solution(sos) == []


def test_sos_chains_satellites_and_ignores_the_ground():
    """A hand-built network: SOS finds the two satellite chains (hand DFS), never the fiber/HAP
    route or a route through another station, and is at most PS-EGR's optimum."""
    nodes = (Node("a", "base_station", 0), Node("b", "base_station", 1),
             Node("c", "base_station", 1), Node("s1", "satellite"), Node("s2", "satellite"),
             Node("s3", "satellite"), Node("h", "hap"))
    links = (Link("a", "s1", "S2G", 0.97, (900.0,)), Link("s1", "s2", "S2S", 0.99, (800.0,)),
             Link("s2", "s3", "S2S", 0.99, (700.0,)), Link("s3", "b", "S2G", 0.97, (900.0,)),
             Link("a", "s2", "S2G", 0.96, (500.0,)), Link("s1", "c", "S2G", 0.98, (900.0,)),
             Link("c", "b", "G2G", 0.99, (900.0,)), Link("a", "h", "A2G", 0.99, (2000.0,)),
             Link("h", "b", "A2G", 0.99, (2000.0,)))
    inst = Instance(nodes, links, (Pair("a", "b", 0.9, (1.0,)),), (), 1, 20.0)
    sos = routing.solve_sos(inst)
    found = {p.nodes for p in sos.model.paths}
    assert found == _satellite_only_paths(inst, 0, 0) == {("a", "s1", "s2", "s3", "b"),
                                                           ("a", "s2", "s3", "b")}
    assert sos.objective > 0
    assert sos.objective <= routing.solve_milp(inst.with_options(max_real_paths=50)).objective


def test_nss_has_no_storage_and_equals_zero_capacity_milp():
    inst = routing.generate_instance(1, storage_capacity=20000.0)
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


def test_baselines_under_the_priced_path_set():
    """With path_set="priced" every method works over all paths of its own restriction: PS-EGR
    (proven optimum over all paths) stays above every baseline, each baseline is feasible, and
    SOS priced over its satellite-only subgraph meets SOS's exhaustive own search (cap 64, every
    satellite-only path on this setting): two independent path searches, one optimum."""
    inst = routing.generate_instance(0).with_options(path_set="priced")
    opt = routing.solve_milp(inst)
    assert opt.model.cands.info["exact"]
    for name in routing.BASELINES:
        sol = routing.solve_baseline(inst, name, seed=0)
        assert sol.status == "optimal" and sol.path_set == "priced", name
        assert routing.check_solution(sol) == [], name
        assert sol.objective <= opt.objective * (1 + 1e-9) + 1e-9, name
        if name == "SOS":
            own = routing.solve_sos(routing.generate_instance(0))
            assert own.path_set == "capped"
            assert sol.objective == pytest.approx(own.objective, rel=1e-9, abs=1e-9)


def test_every_baseline_is_measured_against_the_instance_bound():
    """`with_path_bound` bounds the instance a method was asked to solve: NSS's model is the
    network without storage, whose all-path bound (396.57 here) is below the instance's
    (412.47), so NSS's path_gap came out 1.4 % instead of 5.2 %."""
    from routing.pricing import all_paths_lp_bound

    inst = routing.generate_instance(0, storage_capacity=5000)
    want, _ = all_paths_lp_bound(inst)
    without_storage, _ = all_paths_lp_bound(inst.with_storage_capacity(0.0))
    assert want > without_storage + 1.0
    for name in ("NSS", "SOS", "RRS"):
        sol = routing.with_path_bound(routing.solve_baseline(inst, name))
        assert sol.path_bound == pytest.approx(want, rel=1e-9), name
        assert sol.path_bound >= sol.objective


def test_rrs_draws_every_route_of_a_cell_uniformly():
    """RRS: "the routing path is randomly selected": per (pair, slot) a uniformly random route
    (seeded). Over 400 seeds each route of a cell with r routes is drawn 400/r times on average;
    counted here per cell, every count lies within 5 binomial standard deviations of it (a
    choice that always took the first or the best route, or never the last, is far outside)."""
    from routing.baselines import random_choice
    from routing.model import compile_model

    inst = routing.generate_instance(2)
    model = compile_model(inst)
    cells = [(k, t, js) for k, t, js in model.groups if len(js) >= 2]
    assert len(cells) >= 5
    n = 400
    counts = {(k, t): np.zeros(len(js)) for k, t, js in cells}
    for seed in range(n):
        x = random_choice(inst, seed, model)
        for k, t, js in cells:
            assert x[js].sum() == 1.0
            counts[(k, t)][int(np.argmax(x[js]))] += 1
    for k, t, js in cells:
        p = 1.0 / len(js)
        sd = (n * p * (1 - p)) ** 0.5
        assert np.all(np.abs(counts[(k, t)] - n * p) <= 5 * sd), (k, t, counts[(k, t)])


def test_sos_keeps_every_satellite_path_and_never_relays_through_another_station():
    """Five satellites each see both stations a and b; a third station c sees s1 and s2 (no
    S2S links). SOS's paths are exactly the five a - s_i - b (hand DFS), more than PS-EGR's
    real-path cap of 2 (SOS searches with its own cap, SOS_MAX_PATHS), and none relays through
    c (a - s1 - c - s2 - b is a ground relay, not satellite-only)."""
    sats = [f"s{i}" for i in range(1, 6)]
    nodes = (Node("a", "base_station", 0), Node("b", "base_station", 1),
             Node("c", "base_station", 1), *(Node(s, "satellite") for s in sats))
    links = tuple(Link(g, s, "S2G", 0.97 - 0.002 * i, (900.0,))
                  for i, s in enumerate(sats) for g in ("a", "b"))
    links += (Link("c", "s1", "S2G", 0.99, (900.0,)), Link("c", "s2", "S2G", 0.99, (900.0,)))
    inst = Instance(nodes, links, (Pair("a", "b", 0.9, (1.0,)),), (), 1, 20.0,
                    PathOptions(max_real_paths=2))
    sos = routing.solve_sos(inst)
    found = {p.nodes for p in sos.model.paths}
    assert found == _satellite_only_paths(inst, 0, 0) == {("a", s, "b") for s in sats}
    assert sos.status == "optimal" and routing.check_solution(sos) == []


def _five_satellites(max_real_paths, third_station_fidelity=0.99):
    """Stations a, b see five satellites s1..s5 (link fidelity 0.97 - 0.002 (i - 1), falling
    with i); a third station c sees s1 over a link of ``third_station_fidelity``. Pair 0 is
    (a, b), pair 1 (c, b), threshold 0.9."""
    sats = [f"s{i}" for i in range(1, 6)]
    nodes = (Node("a", "base_station", 0), Node("b", "base_station", 1),
             Node("c", "base_station", 1), *(Node(s, "satellite") for s in sats))
    links = tuple(Link(g, s, "S2G", 0.97 - 0.002 * i, (900.0,))
                  for i, s in enumerate(sats) for g in ("a", "b"))
    links += (Link("c", "s1", "S2G", third_station_fidelity, (900.0,)),)
    pairs = (Pair("a", "b", 0.9, (1.0,)), Pair("c", "b", 0.9, (1.0,)))
    return Instance(nodes, links, pairs, (), 1, 20.0, PathOptions(max_real_paths=max_real_paths))


@pytest.mark.parametrize("own_cap,instance_cap,kept", [(2, 4, 4), (3, 1, 3), (5, 5, 5)])
def test_sos_cap_is_the_larger_of_its_own_and_the_instance_cap(own_cap, instance_cap, kept):
    """SOS keeps max(its own cap, options.max_real_paths) satellite-only paths per cell, the
    best by fidelity: a - s_i - b has F = 1/4 + 3/4 w_i^2, w_i = (4 f_i - 1)/3 with f_i falling
    in i, so the kept ones are s1..s_kept, with that fidelity."""
    from routing.baselines import satellite_only_candidates

    cands = satellite_only_candidates(_five_satellites(instance_cap), max_paths=own_cap)
    got = {p.nodes: p.fidelity for p in cands.options[0][0]}
    assert set(got) == {("a", f"s{i}", "b") for i in range(1, kept + 1)}
    for i in range(1, kept + 1):
        w = (4 * (0.97 - 0.002 * (i - 1)) - 1) / 3
        assert got[("a", f"s{i}", "b")] == pytest.approx(0.25 + 0.75 * w * w, rel=1e-14)


def test_sos_reports_a_dropped_path_under_its_own_pair():
    """Pair 1's only satellite-only path c - s1 - b runs over a link of fidelity 0.5: its
    Werner fidelity 1/4 + 3/4 (1/3) w_b <= 1/2 cannot be purified (recurrence purification
    needs F > 1/2), so it is dropped and reported under pair 1 (not pair 0, the index of the
    one-pair subinstance it was searched in), and the cell has no satellite-only path."""
    from routing.baselines import satellite_only_candidates

    cands = satellite_only_candidates(_five_satellites(2, third_station_fidelity=0.5))
    w_b = (4 * 0.97 - 1) / 3
    assert 0.25 + 0.75 * w_b / 3 <= 0.5
    assert [(d["pair"], d["slot"], d["nodes"]) for d in cands.dropped] == [
        (1, 0, ["c", "s1", "b"])]
    assert cands.options[1][0] == ()
    assert cands.no_path == ({"pair": 1, "slot": 0, "reason": "no satellite-only path"},)
    assert {p.pair for p in cands.options[0][0]} == {0}


def test_rrs_fixes_the_seeded_draw_and_only_optimizes_the_egr():
    """RRS (and solve_baseline("RRS", seed)) take the seeded uniform draw of
    `random_choice` as the path choice, not an optimized one: different seeds give different
    choices, and on this instance some seed's random routes lose to PS-EGR's optimum."""
    from routing.baselines import random_choice
    from routing.model import compile_model

    inst = routing.generate_instance(2)
    model = compile_model(inst)
    opt = routing.solve_milp(model).objective
    draws, below = set(), 0
    for seed in range(4):
        want = random_choice(inst, seed, model)
        for sol in (routing.solve_rrs(inst, seed=seed),
                    routing.solve_baseline(inst, "RRS", seed=seed)):
            assert np.array_equal(sol.x, want), seed
            assert sol.info["rrs_seed"] == seed
        draws.add(tuple(want))
        below += sol.objective < opt * (1 - 1e-6)
    assert len(draws) > 1 and below > 0
