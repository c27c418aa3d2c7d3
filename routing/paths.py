"""Candidate paths per (pair, slot): real paths, storage-pair paths and virtual paths.

* **Real paths** P_k^H(t): the ``max_real_paths`` shortest simple paths between the pair's
  stations in the slot-t graph, edge weight ``-log w_e`` with ``w_e = (4F_e - 1)/3`` (so the
  shortest path has the highest Werner fidelity; Yen's algorithm via networkx).
* **Storage paths** P_n^H(t): likewise, ``max_storage_paths`` per storage pair n = (m1, m2) and
  slot. Every distinct storage path seen in any slot joins the catalogue of *stored segments*
  p_m of pair n; pairs generated over it in slot t can be banked in the stores of m1 and m2.
  Storage pairs fill only over real paths (the seed's P_n^U, storage chained through other
  storage, is empty here).
* **Virtual paths** P_k^U(t), t >= 2: ``prefix(src -> a) + [stored segment a ~ b] + suffix(b ->
  dst)`` for a storage pair {a, b}, both orientations, where prefix and suffix are the
  highest-fidelity slot-t paths (empty when the station is the store itself, node-disjoint), and
  the stored segment is a catalogued p_m first available in an earlier slot. The full path f(p)
  is prefix + p_m + suffix; only prefix and suffix use slot-t link capacity. The best
  ``max_virtual_paths`` by fidelity are kept.
* **Fidelity** of a path: the Werner rule over f(p); **cost** g(F_p, F_k^th) by iterated
  purification (:mod:`routing.purification`); paths with g = inf are dropped and reported.
* **Y^max** (tightest big-M of C1): real path ``min_e C_e^t / (g δ)``; virtual path the same
  over prefix and suffix links and also ``min(B_a, B_b) / (g δ)`` (C3 bounds the stock z).
  Paths with Y^max = 0 are dropped (they can carry nothing).

(k, t) cells without any usable path are listed in ``Candidates.no_path`` with the reason
("disconnected" or "threshold unreachable"); the MILP imposes C2 only on cells with a path.
A cell whose stations the slot's links join is "threshold unreachable" in every path set
(complete and priced sets never build a path with g = inf, so that is how they know); a cell
reached only through stored segments, every such path with g = inf, reads "disconnected" in
complete and priced sets.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from routing._checks import check_instance
from routing.instance import Instance
from routing.purification import path_fidelity, purify, werner_parameter


@dataclass(frozen=True)
class StoredSegment:
    """A catalogued storage path p_m of storage pair ``pair`` (index into storage_pairs)."""

    index: int
    pair: int
    nodes: tuple
    fidelity: float
    slots: tuple  # slots where it is a candidate storage path (generation possible)
    fill_slot: int | None = None  # with memory decay: the one slot this vintage is filled in


@dataclass(frozen=True)
class CandidatePath:
    """A candidate path p of user pair k in slot t (real or virtual)."""

    pair: int  # k
    slot: int  # t (0-based)
    kind: str  # "real" | "virtual"
    nodes: tuple  # f(p): the full node sequence
    live_edges: tuple  # ((u, v), ...) links using slot-t capacity
    stored: int | None  # StoredSegment.index for virtual paths
    fidelity: float  # F_p (Werner rule over f(p))
    cost: float  # g(F_p, F_k^th)
    rounds: int  # purification rounds
    ymax: float  # Y^{t,max}_{k,p}, purified pairs / s


@dataclass(frozen=True)
class Candidates:
    options: tuple  # options[k][t] -> tuple[CandidatePath, ...]
    segments: tuple  # StoredSegment catalogue
    no_path: tuple  # ({"pair": k, "slot": t, "reason": str}, ...)
    dropped: tuple  # paths dropped for g = inf: ({"pair", "slot", "nodes", "reason"}, ...)
    path_set: str = "capped"  # complete | priced | capped
    path_bound: float = math.nan  # proven LP bound over all paths (nan: not computed)
    info: dict = field(default_factory=dict)


def edge_key(u: str, v: str) -> tuple[str, str]:
    return (u, v) if u <= v else (v, u)


def slot_graph(inst: Instance, t: int) -> nx.Graph:
    """The slot-t network: present links with capacity, fidelity and weight -log w."""
    g = nx.Graph()
    g.add_nodes_from(n.name for n in inst.nodes)
    for link in inst.links:
        cap = link.capacity[t]
        if cap is None or cap <= 0:
            continue
        w = werner_parameter(link.fidelity)
        g.add_edge(link.u, link.v, capacity=float(cap), fidelity=float(link.fidelity),
                   weight=-math.log(w) if w > 0 else math.inf)
    return g


def _k_shortest(g: nx.Graph, s: str, d: str, k: int) -> list[tuple]:
    if k <= 0 or s not in g or d not in g or not nx.has_path(g, s, d):
        return []
    return [tuple(p) for p in itertools.islice(nx.shortest_simple_paths(g, s, d, "weight"), k)]


def _edges(nodes: tuple) -> tuple:
    return tuple(zip(nodes[:-1], nodes[1:], strict=False))


def build_candidates(inst: Instance, time_limit: float | None = None) -> Candidates:
    """The candidate paths of ``inst`` over the path set ``inst.options.path_set``.

    ``"capped"``: the caps of the module docstring. ``"complete"``: every path
    (:func:`complete_candidates`). ``"priced"``: column generation (:mod:`routing.pricing`;
    ``time_limit`` (s) is its budget, `routing.pricing.priced_candidates`). Deterministic
    (without a time limit).
    """
    check_instance(inst)
    if inst.options.path_set == "complete":
        return complete_candidates(inst)
    if inst.options.path_set == "priced":
        if memory_decays(inst):
            raise ValueError("path_set = 'priced' is invalid with a finite memory_time; "
                             "accepted: 'capped' or 'complete' (pricing vintages is not done)")
        from routing.pricing import priced_candidates

        return priced_candidates(inst, time_limit=time_limit)
    if memory_decays(inst):
        return split_vintages(inst, capped_candidates(inst))
    return capped_candidates(inst)


def split_vintages(inst: Instance, cands: Candidates) -> Candidates:
    """``cands`` (built without decay) with every stored segment of a decaying storage pair
    split into vintages, one per fill slot of ``cands`` (`assemble`). The paths and each
    segment's fill slots stay those of ``cands``, so as the lifetimes grow the optimum tends
    to the one over ``cands`` itself (tests/routing/test_memory_routes.py). It used to widen
    the fills to every slot with the links present, which a capped set without decay does not
    allow: a lifetime of 1e12 s then beat no decay (184.31 against 178.26 pairs/s)."""
    real: dict = {}
    virtual: dict = {}
    for per_k in cands.options:
        for per_t in per_k:
            for p in per_t:
                if p.kind == "real":
                    real.setdefault((p.pair, p.slot), []).append(p.nodes)
                else:
                    virtual.setdefault((p.pair, p.slot), []).append(
                        (p.nodes, p.live_edges, p.stored))
    segments = [(seg.pair, seg.nodes, seg.slots) for seg in cands.segments]
    return assemble(inst, real, segments, virtual, cands.path_set, cands.path_bound,
                    cands.info)


def capped_candidates(inst: Instance) -> Candidates:
    """Candidate paths under the caps of ``inst.options`` (see module docstring)."""
    opt = inst.options
    T, delta = inst.n_slots, inst.slot_duration
    fid = {edge_key(lk.u, lk.v): lk.fidelity for lk in inst.links}
    graphs = [slot_graph(inst, t) for t in range(T)]
    store = {n.name: n.storage for n in inst.nodes}

    def fidelity_of(nodes_seq):
        return path_fidelity([fid[edge_key(u, v)] for u, v in _edges(nodes_seq)])

    # stored-segment catalogue
    seg_index: dict[tuple, int] = {}
    seg_data: list[dict] = []
    for n, (m1, m2) in enumerate(inst.storage_pairs):
        for t in range(T - 1):  # a pair generated in the last slot is never used
            for p in _k_shortest(graphs[t], m1, m2, opt.max_storage_paths):
                key = (n, p)
                if key not in seg_index:
                    seg_index[key] = len(seg_data)
                    seg_data.append({"pair": n, "nodes": p, "fidelity": fidelity_of(p),
                                     "slots": []})
                seg_data[seg_index[key]]["slots"].append(t)
    segments = tuple(StoredSegment(i, d["pair"], d["nodes"], d["fidelity"], tuple(d["slots"]))
                     for i, d in enumerate(seg_data))

    # every (segment, orientation) as arrays, in catalogue order: entry 2 i + o is segment i
    # stored m1 -> m2 (o = 0) or m2 -> m1 (o = 1)
    names = [n.name for n in inst.nodes]
    node_ix = {name: i for i, name in enumerate(names)}
    ends = [(inst.storage_pairs[s.pair][o], inst.storage_pairs[s.pair][1 - o])
            for s in segments for o in (0, 1)]
    ent_a = np.array([node_ix[a] for a, _ in ends], int)
    ent_b = np.array([node_ix[b] for _, b in ends], int)
    ent_w = np.repeat([math.prod(werner_parameter(fid[edge_key(u, v)])
                                 for u, v in _edges(s.nodes)) for s in segments], 2)
    ent_first = np.repeat([min(s.slots) for s in segments], 2)

    def best_virtual(src, dst, t, g):
        """The ``max_virtual_paths`` best virtual paths of (src, dst) in slot t, as
        (F, full nodes, live edges, segment index), by fidelity (ties: catalogue order):
        prefix and suffix are the best slot-t paths to the stores (one Dijkstra from each
        end), both node-disjoint and the whole path simple. Entries are ranked by the
        Werner parameter exp(-d_src(a)) w_seg exp(-d_dst(b)) first (numpy, over every
        segment at once) and checked exactly in that order only until no later entry can
        beat the last one kept (a margin of 1e-9 against the round-off of the sums): the
        same paths as checking every entry (tests/routing/test_capped_virtual.py). Checking
        every entry made the 300-station network's candidates (conf/network/large.yaml) take
        110 s; this takes them 34 s."""
        d_src, p_src = nx.single_source_dijkstra(g, src, weight="weight")
        d_dst, p_dst = nx.single_source_dijkstra(g, dst, weight="weight")
        far_s = np.full(len(names), np.nan)  # nan: not reached (inf: over a w = 0 link)
        far_d = np.full(len(names), np.nan)
        for name, d in d_src.items():
            far_s[node_ix[name]] = d
        for name, d in d_dst.items():
            far_d[node_ix[name]] = d
        live_ix = np.flatnonzero((ent_first < t) & ~np.isnan(far_s[ent_a])
                                 & ~np.isnan(far_d[ent_b]))
        with np.errstate(over="ignore", invalid="ignore"):
            score = np.exp(-(far_s[ent_a[live_ix]] + far_d[ent_b[live_ix]])) * ent_w[live_ix]
        order = np.argsort(-score, kind="stable")
        cap = opt.max_virtual_paths
        kept: list = []  # (-F, entry, full, live, segment index)
        for pos in order.tolist():
            e = int(live_ix[pos])
            if len(kept) >= cap:  # kept is sorted: its cap-th entry is the last one kept
                w_cap = (-kept[cap - 1][0] - 0.25) / 0.75
                if score[pos] < w_cap * (1.0 - 1e-9):
                    break
            seg = segments[e // 2]
            a, b = names[ent_a[e]], names[ent_b[e]]
            seq = seg.nodes if e % 2 == 0 else tuple(reversed(seg.nodes))
            pre, suf = tuple(p_src[a]), tuple(reversed(p_dst[b]))
            if set(pre) & set(suf):
                continue  # not node-disjoint: not a simple path
            full = pre[:-1] + seq + suf[1:]
            if len(set(full)) != len(full):
                continue
            bisect.insort(kept, (-fidelity_of(full), e, full, _edges(pre) + _edges(suf),
                                 seg.index))  # (-F, entry) decide: entries are unique
        return [(-f, full, live, si) for f, _, full, live, si in kept[:cap]]

    options = []
    no_path = []
    dropped = []
    for k, pair in enumerate(inst.pairs):
        per_slot = []
        for t in range(T):
            g = graphs[t]

            def make(kind, nodes_seq, live, stored, f, k=k, t=t, g=g, pair=pair):
                res = purify(f, pair.threshold, opt.protocol, opt.max_rounds)
                if not res.reachable:
                    dropped.append({"pair": k, "slot": t, "nodes": list(nodes_seq),
                                    "reason": res.reason})
                    return None
                ymax = math.inf
                for u, v in live:
                    ymax = min(ymax, g.edges[u, v]["capacity"] / (res.cost * delta))
                if stored is not None:
                    a, b = inst.storage_pairs[segments[stored].pair]
                    ymax = min(ymax, min(store[a], store[b]) / (res.cost * delta))
                if not (ymax > 0) or not math.isfinite(ymax):
                    return None
                return CandidatePath(k, t, kind, tuple(nodes_seq), tuple(live), stored, f,
                                     res.cost, res.rounds, ymax)

            cands = []
            n_dropped_before = len(dropped)
            for p in _k_shortest(g, pair.src, pair.dst, opt.max_real_paths):
                c = make("real", p, _edges(p), None, fidelity_of(p))
                if c is not None:
                    cands.append(c)
            if t >= 1 and opt.max_virtual_paths > 0 and segments:
                for f, full, live, si in best_virtual(pair.src, pair.dst, t, g):
                    c = make("virtual", full, live, si, f)
                    if c is not None:
                        cands.append(c)
            if not cands:
                reason = ("threshold unreachable" if len(dropped) > n_dropped_before
                          else "disconnected")
                no_path.append({"pair": k, "slot": t, "reason": reason})
            per_slot.append(tuple(cands))
        options.append(tuple(per_slot))
    return Candidates(tuple(options), segments, tuple(no_path), tuple(dropped))


# --- every path ----------------------------------------------------------------------------
# P_k^H(t): every simple src-dst path of the slot-t graph whose purification cost is finite.
# P_n^H: every simple path between the two stores of a storage pair that exists (all its links
# present) in some slot t0 <= T-2; its fills are allowed in every such slot. P_k^U(t): every
# simple path prefix(src -> a, slot t) + segment(a ~ b, filled in some slot t0 < t) +
# suffix(b -> dst, slot t) over a storage pair {a, b}, whole path f(p) simple, g finite.


def fidelity_floor(threshold: float, protocol: str, max_rounds: int,
                   gmax: float = math.inf) -> float:
    """A fidelity F_lo such that every F < F_lo has g(F, F_th) > ``gmax`` or g = inf
    (``gmax = inf``: the fidelity below which the threshold is out of reach).

    g is nonincreasing in F (tests/routing/test_paths.py checks it on a grid), so the set
    {F : g(F) <= gmax, g finite} is an interval [F*, 1]; bisection returns a value just below
    F*. Used to prune path enumeration: a partial path below the floor cannot recover.
    """
    if gmax < 1.0:
        return 2.0  # nothing is cheap enough
    from routing.purification import purification_cost

    def ok(f):
        # finite first: with gmax = inf, "g <= gmax" alone held for every F (inf <= inf), the
        # floor was 0.25 and the complete path set's enumeration pruned nothing
        g = purification_cost(f, threshold, protocol, max_rounds)
        return math.isfinite(g) and g <= gmax

    lo, hi = 0.25, max(threshold, 0.25)
    if ok(lo):
        return lo
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return lo


def adjacency(g: nx.Graph) -> dict:
    """node -> sorted [(neighbour, Werner parameter w_e, capacity)] of a slot graph."""
    adj: dict = {n: [] for n in g.nodes}
    for u, v, d in g.edges(data=True):
        w = werner_parameter(d["fidelity"])
        adj[u].append((v, w, d.get("capacity", math.inf)))
        adj[v].append((u, w, d.get("capacity", math.inf)))
    for n in adj:  # best links first: pricing meets good paths early
        adj[n].sort(key=lambda e: (-e[1], str(e[0])))
    return adj


def present_edges(inst: Instance) -> list[set]:
    """Per slot, the set of edge keys present with capacity > 0."""
    out = [set() for _ in range(inst.n_slots)]
    for lk in inst.links:
        for t, c in enumerate(lk.capacity):
            if c is not None and c > 0:
                out[t].add(edge_key(lk.u, lk.v))
    return out


def segment_slots(nodes: tuple, present: list[set], last: int) -> tuple:
    """Slots t0 <= ``last`` in which every link of ``nodes`` is present (fills allowed)."""
    es = [edge_key(u, v) for u, v in _edges(nodes)]
    return tuple(t for t in range(min(last, len(present) - 1) + 1)
                 if all(e in present[t] for e in es))


def decay_rate(inst: Instance, n: int) -> float:
    """1/τ_a + 1/τ_b (1/s) of storage pair n: a stored pair's Werner parameter is multiplied by
    exp(-rate · wait) (each half sits in one memory; local depolarizing keeps it Werner)."""
    a, b = inst.storage_pairs[n]
    return sum(1.0 / inst.node(m).memory_time for m in (a, b)
               if math.isfinite(inst.node(m).memory_time))


def memory_decays(inst: Instance) -> bool:
    return any(decay_rate(inst, n) > 0 for n in range(len(inst.storage_pairs)))


def assemble(inst: Instance, real: dict, segments: list, virtual: dict, path_set: str,
             path_bound: float = math.nan, info: dict | None = None) -> Candidates:
    """Candidates from explicit paths.

    ``real[(k, t)]``: node tuples; ``segments``: [(storage pair index n, nodes m1 -> m2)], fills
    in every slot t0 <= T-2 where the segment's links exist, or [(n, nodes, fill slots)] to
    allow fills in those slots only; ``virtual[(k, t)]``:
    [(full nodes f(p), live edges, segment index)]. Fidelity, g and Y^max as in
    :func:`capped_candidates`; paths with g = inf or Y^max = 0 are dropped (g = inf reported).

    **Memory lifetime.** When a store of pair n has a finite ``memory_time``, each segment of n
    becomes one stored segment per fill slot t0 (``fill_slot``; its own stock), and a virtual
    path drawing at slot t becomes one candidate per vintage t0 < t, whose stored pair waited
    (t - t0) δ seconds: F = 1/4 + (F_path - 1/4) exp(-(t - t0) δ (1/τ_a + 1/τ_b)). The
    vintages of one path are one route: they share its path choice (C2), each with its own
    rate, stock and purification cost (`routing.model`).
    """
    opt = inst.options
    T, delta = inst.n_slots, inst.slot_duration
    fid = {edge_key(lk.u, lk.v): lk.fidelity for lk in inst.links}
    caps = {(edge_key(lk.u, lk.v), t): c for lk in inst.links for t, c in enumerate(lk.capacity)
            if c is not None}
    store = {n.name: n.storage for n in inst.nodes}
    present = present_edges(inst)
    logical = []
    for n, nodes, *fills in segments:
        f = path_fidelity([fid[edge_key(u, v)] for u, v in _edges(nodes)])
        slots = segment_slots(nodes, present, T - 2)
        if fills:
            slots = tuple(t for t in slots if t in set(fills[0]))
        logical.append((n, tuple(nodes), f, slots))
    # with a finite memory lifetime at either store, a segment is split into vintages (one
    # fill slot each): their stored pairs decay differently (module docstring)
    segs, vintage = [], {}
    for li, (n, nodes, f, slots) in enumerate(logical):
        if decay_rate(inst, n) > 0:
            for t0 in slots:
                vintage[(li, t0)] = len(segs)
                segs.append(StoredSegment(len(segs), n, nodes, f, (t0,), t0))
        else:
            vintage[(li, None)] = len(segs)
            segs.append(StoredSegment(len(segs), n, nodes, f, slots))
    options, no_path, dropped = [], [], []
    cache: dict = {}
    for k, pair in enumerate(inst.pairs):
        per_slot = []
        for t in range(T):
            cands = []
            n_drop = len(dropped)
            items = [("real", p, _edges(p), None, 1.0) for p in real.get((k, t), ())]
            for full, live, li in virtual.get((k, t), ()):
                n, _, _, slots = logical[li]
                rate = decay_rate(inst, n)
                if rate > 0:
                    items += [("virtual", full, tuple(live), vintage[(li, t0)],
                               math.exp(-rate * (t - t0) * delta)) for t0 in slots if t0 < t]
                elif any(t0 < t for t0 in slots):
                    items.append(("virtual", full, tuple(live), vintage[(li, None)], 1.0))
            for kind, nodes_seq, live, si, decay in items:
                f = path_fidelity([fid[edge_key(u, v)] for u, v in _edges(nodes_seq)])
                if decay < 1.0:  # the stored pair waited: its Werner parameter decayed
                    f = 0.25 + (f - 0.25) * decay
                key = (f, pair.threshold)
                if key not in cache:
                    cache[key] = purify(f, pair.threshold, opt.protocol, opt.max_rounds)
                res = cache[key]
                if not res.reachable:
                    dropped.append({"pair": k, "slot": t, "nodes": list(nodes_seq),
                                    "reason": res.reason})
                    continue
                ymax = math.inf
                for u, v in live:
                    ymax = min(ymax, caps[(edge_key(u, v), t)] / (res.cost * delta))
                if si is not None:
                    a, b = inst.storage_pairs[segs[si].pair]
                    ymax = min(ymax, min(store[a], store[b]) / (res.cost * delta))
                if not (ymax > 0) or not math.isfinite(ymax):
                    continue
                cands.append(CandidatePath(k, t, kind, tuple(nodes_seq), tuple(live), si, f,
                                           res.cost, res.rounds, ymax))
            if not cands:
                # complete and priced sets never hold a path with g = inf (enumerate_cell
                # skips them), so nothing is dropped there: a cell whose stations the slot-t
                # links join is one whose every real path has g = inf
                unreachable = len(dropped) > n_drop or nx.has_path(slot_graph(inst, t),
                                                                    pair.src, pair.dst)
                no_path.append({"pair": k, "slot": t, "reason": "threshold unreachable"
                                if unreachable else "disconnected"})
            per_slot.append(tuple(cands))
        options.append(tuple(per_slot))
    return Candidates(tuple(options), tuple(segs), tuple(no_path), tuple(dropped), path_set,
                      path_bound, dict(info or {}))


def complete_candidates(inst: Instance) -> Candidates:
    """Every path of P_k^H(t), P_n^H and P_k^U(t) with a finite purification cost (see above).

    Raises ``ValueError`` when more than ``options.max_columns`` paths would be built (then
    use ``path_set="priced"``, which reaches the same optimum without building them all).
    """
    from routing.pricing import enumerate_cell, slot_data

    data = slot_data(inst)
    real: dict = {}
    virtual: dict = {}
    seg_index: dict = {}
    segments: list = []
    count = 0
    for k in range(inst.n_pairs):
        for t in range(inst.n_slots):
            # the cap is passed down: one cell of a large network can hold more paths than
            # fit in memory, and its enumeration must stop at the cap, not after the cell
            found = enumerate_cell(inst, data, k, t, None,
                                   limit=inst.options.max_columns - count)
            for col in found:
                count += 1
                if col is None or count > inst.options.max_columns:
                    raise ValueError(
                        f"options.max_columns = {inst.options.max_columns} is exceeded by the "
                        "complete path set of this instance; accepted: a larger max_columns, "
                        "or path_set = 'priced' (same optimum, paths generated on demand)")
                if col["kind"] == "real":
                    real.setdefault((k, t), []).append(col["nodes"])
                else:
                    sk = (col["pair"], col["segment"])
                    if sk not in seg_index:
                        seg_index[sk] = len(segments)
                        segments.append(sk)
                    virtual.setdefault((k, t), []).append(
                        (col["nodes"], col["live"], seg_index[sk]))
    return assemble(inst, real, segments, virtual, "complete", info={"columns": count})
