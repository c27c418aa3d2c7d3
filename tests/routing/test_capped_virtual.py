"""The capped set's virtual paths against a plain re-implementation that checks every entry.

`routing.paths.capped_candidates` ranks (segment, orientation) entries by a Werner parameter
computed from Dijkstra distances (numpy, all at once) and checks entries exactly only until no
later one can beat the last kept. The reference below is the direct rule of the module
docstring, written from the instance's plain data with networkx: every stored segment
(k-shortest m1-m2 paths of each slot), both orientations, best slot-t prefix and suffix,
node-disjoint and simple, ranked by the Werner fidelity of the whole path with ties in
catalogue order, the best ``max_virtual_paths`` kept.
"""

import itertools
import math

import networkx as nx
import pytest

import routing
from routing.instance import Instance, Link, Node, Pair, PathOptions


def _graph(inst, t):
    g = nx.Graph()
    g.add_nodes_from(n.name for n in inst.nodes)
    for lk in inst.links:
        c = lk.capacity[t]
        if c is not None and c > 0:
            w = (4 * lk.fidelity - 1) / 3
            g.add_edge(lk.u, lk.v, fidelity=lk.fidelity,
                       weight=-math.log(w) if w > 0 else math.inf)
    return g


def _fidelity(g, nodes):
    w = 1.0
    for u, v in zip(nodes[:-1], nodes[1:], strict=False):
        w *= (4 * g.edges[u, v]["fidelity"] - 1) / 3
    return 0.25 + 0.75 * w


def reference_virtual(inst):
    """{(k, t): [(full nodes, segment nodes as stored), ...]} before purification."""
    opt, T = inst.options, inst.n_slots
    graphs = [_graph(inst, t) for t in range(T)]
    catalogue, first = [], {}
    for n, (m1, m2) in enumerate(inst.storage_pairs):
        for t in range(T - 1):
            g = graphs[t]
            if not nx.has_path(g, m1, m2):
                continue
            for p in itertools.islice(nx.shortest_simple_paths(g, m1, m2, "weight"),
                                      opt.max_storage_paths):
                key = (n, tuple(p))
                if key not in first:
                    first[key] = t
                    catalogue.append(key)
    out = {}
    for k, pair in enumerate(inst.pairs):
        for t in range(1, T):
            g = graphs[t]
            from_src = nx.single_source_dijkstra_path(g, pair.src, weight="weight")
            from_dst = nx.single_source_dijkstra_path(g, pair.dst, weight="weight")
            found = []
            for n, seg in catalogue:
                if first[(n, seg)] >= t:
                    continue
                m1, m2 = inst.storage_pairs[n]
                for a, b, seq in ((m1, m2, seg), (m2, m1, seg[::-1])):
                    if a not in from_src or b not in from_dst:
                        continue
                    pre, suf = tuple(from_src[a]), tuple(reversed(from_dst[b]))
                    if set(pre) & set(suf):
                        continue
                    full = pre[:-1] + seq + suf[1:]
                    if len(set(full)) == len(full):
                        found.append((_fidelity(g, full), full, seg))
            found.sort(key=lambda e: -e[0])  # stable: ties stay in catalogue order
            out[(k, t)] = [(full, seg) for _, full, seg in found[: opt.max_virtual_paths]]
    return out


def grid_instance(side=4, cap=4):
    """A side x side grid of stations, every link of fidelity 0.98: many virtual paths of the
    same hop count, so exact fidelity ties, broken in catalogue order, straddle the cap."""
    name = {(i, j): f"g{i}{j}" for i in range(side) for j in range(side)}
    stores = {name[(1, 1)], name[(1, 2)], name[(2, 1)], name[(2, 2)], name[(0, 2)],
              name[(2, 0)]}
    nodes = tuple(Node(v, "base_station", 0 if i < side // 2 else 1,
                       1000.0 if v in stores else 0.0) for (i, j), v in name.items())
    links = []
    for (i, j), v in name.items():
        for di, dj in ((0, 1), (1, 0)):
            if (i + di, j + dj) in name:
                links.append(Link(v, name[(i + di, j + dj)], "G2G", 0.98, (500.0,) * 3))
    pairs = (Pair(name[(0, 0)], name[(side - 1, side - 1)], 0.8, (1.0,) * 3),
             Pair(name[(0, side - 1)], name[(side - 1, 0)], 0.8, (1.0,) * 3))
    storage_pairs = tuple(sorted((a, b) for a in stores for b in stores if a < b))
    return Instance(nodes, tuple(links), pairs, storage_pairs, 3, 10.0,
                    PathOptions(max_real_paths=2, max_storage_paths=3, max_virtual_paths=cap))


CASES = {
    "uniform grid (exact ties)": grid_instance,
    "seed-size, 2 stores per city": lambda: routing.generate_instance(2, n_pairs=4),
    "3 stores per city, 6 storage paths": lambda: routing.generate_instance(
        1, n_base_stations=12, n_pairs=3, n_storage_per_city=3, max_storage_paths=6,
        max_virtual_paths=5, n_slots=6),
    # the shipped network: equal link fidelities, so exact fidelity ties between paths
    "example GraphML": lambda: routing.generate_instance(
        0, topology=routing.EXAMPLE_NETWORK, n_slots=4, max_virtual_paths=4),
}


@pytest.mark.parametrize("case", list(CASES))
def test_capped_virtual_paths_equal_the_direct_rule(case):
    inst = CASES[case]()
    cands = routing.build_candidates(inst)
    ref = reference_virtual(inst)
    n_virtual = 0
    for (k, t), want in ref.items():
        got = [(p.nodes, cands.segments[p.stored].nodes) for p in cands.options[k][t]
               if p.kind == "virtual"]
        # the cap applies before purification: paths it drops (g = inf, reported) are missing
        # from got, in order, and nothing else is (every live link has C > 0 and every store
        # B > 0 here, so no Y^max is 0)
        dropped = {tuple(d["nodes"]) for d in cands.dropped if d["pair"] == k and d["slot"] == t}
        kept = [(full, seg) for full, seg in want if full not in dropped]
        assert got == kept, (k, t)
        n_virtual += len(got)
    assert n_virtual > 0


def _plain(inst):
    """The instance as plain data: {edge: fidelity}, {(edge, t): capacity > 0}, {node: B}."""
    key = lambda u, v: (u, v) if u <= v else (v, u)  # noqa: E731
    fid = {key(lk.u, lk.v): lk.fidelity for lk in inst.links}
    cap = {(key(lk.u, lk.v), t): c for lk in inst.links for t, c in enumerate(lk.capacity)
           if c is not None and c > 0}
    return key, fid, cap, {n.name: n.storage for n in inst.nodes}


@pytest.mark.parametrize("seed", [0, 2])
def test_capped_paths_fidelity_cost_and_ymax_follow_the_rules(seed):
    """Every capped candidate's Werner fidelity, DEJMPS cost g and Y^max recomputed from the
    instance's plain data (tests/reference/routing_paths.py's rules: F = 1/4 + 3/4 prod w_e,
    g by iterated DEJMPS, Y = min(live C_e^t [, B_a, B_b]) / (g δ), live links = the full
    path's minus the stored segment's); and the real paths are the ``max_real_paths`` simple
    src-dst paths of the slot graph with the highest fidelity (own DFS). The capped set's own
    `make` computes these apart from `assemble`, which the complete-set tests cover."""
    from dataclasses import replace

    from tests.reference.routing_paths import _all_simple, dejmps_cost, werner

    inst = routing.generate_instance(seed, n_pairs=3)
    # unequal stores small enough to bind Y^max: min(B_a, B_b) is told apart from max
    stores = sorted({m for pr in inst.storage_pairs for m in pr})
    sizes = dict(zip(stores, (100.0, 300.0, 700.0, 1100.0, 1500.0, 1900.0), strict=False))
    inst = replace(inst, nodes=tuple(replace(n, storage=sizes[n.name]) if n.name in sizes
                                     else n for n in inst.nodes))
    cands = routing.build_candidates(inst)
    key, fid, cap, store = _plain(inst)
    delta, opt = inst.slot_duration, inst.options
    n_virtual = n_store_bound = 0
    for k, per_k in enumerate(cands.options):
        pair = inst.pairs[k]
        for t, per_t in enumerate(per_k):
            for p in per_t:
                edges = [key(u, v) for u, v in zip(p.nodes, p.nodes[1:], strict=False)]
                f = werner([fid[e] for e in edges])
                g = dejmps_cost(f, pair.threshold, opt.max_rounds)
                live = list(edges)
                bound = []
                if p.kind == "virtual":
                    seg = cands.segments[p.stored].nodes
                    for e in (key(u, v) for u, v in zip(seg, seg[1:], strict=False)):
                        live.remove(e)
                    a, b = inst.storage_pairs[cands.segments[p.stored].pair]
                    bound = [min(store[a], store[b])]
                    n_virtual += 1
                assert sorted(key(u, v) for u, v in p.live_edges) == sorted(live)
                assert p.fidelity == pytest.approx(f, rel=1e-12)
                assert p.cost == pytest.approx(g, rel=1e-9)
                ymax = min([cap[(e, t)] for e in live] + bound) / (g * delta)
                tightest = min((cap[(e, t)] for e in live), default=math.inf)
                n_store_bound += bool(bound) and bound[0] < tightest
                assert p.ymax == pytest.approx(ymax, rel=1e-9)
            # the real paths: the best max_real_paths by Werner fidelity (no exact ties here)
            present = {e for (e, tt) in cap if tt == t}
            ranked = sorted(((werner([fid[key(u, v)] for u, v in zip(q, q[1:], strict=False)]),
                              q)
                             for q in _all_simple(present, pair.src, pair.dst)),
                            reverse=True)
            want = [q for f, q in ranked[: opt.max_real_paths]
                    if math.isfinite(dejmps_cost(f, pair.threshold, opt.max_rounds))]
            assert sorted(p.nodes for p in per_t if p.kind == "real") == sorted(want), (k, t)
    assert n_virtual > 0 and n_store_bound > 0
