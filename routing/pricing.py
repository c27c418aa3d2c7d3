r"""Column generation over ALL paths: the PS-EGR optimum over the paper's P_k^H, P_n^H, P_k^U.

The path sets of seed 004 are all paths; a 16-node seed-size network already has about 27,000
simple src-dst paths per (pair, slot) and far more virtual paths, so they are not all put into
the MILP. Instead (``PathOptions.path_set = "priced"``):

1. **Start** from the capped candidates (:func:`routing.paths.capped_candidates`), with every
   stored segment filled in every slot where its links exist.
2. **Price** (column generation on the LP relaxation, x in [0, 1]). For the restricted LP's
   duals — μ_{kt} >= 0 on C2, π_{e,t} >= 0 on C4, σ_{m,t} >= 0 on C3, ρ_{i,t} >= 0 on C5 and
   η_{i,t} on C6 (GLOP's convention: reduced cost = c - Σ dual · a) — a path p of cell (k, t)
   with purification cost g and bound Y_p (a column pair x_p, y_p with its own C1 row, whose
   dual λ_p >= 0 is ours to choose) has reduced cost

       rc(p) = Y_p · max(0, α_k^t - g δ (Σ_{e live} π_{e,t} + c_seg)) - μ_{kt},

   with c_seg = 0 for a real path, ρ_{i,t} + η_{i,t+1} for a virtual path through a stored
   segment i of the model, and for a segment not yet in the model the cheapest way to have one
   stored pair at t: min over fill slots t0 < t of Σ_{e in segment} π_{e,t0} + Σ_{τ=t0+1..t}
   (σ_{a,τ} + σ_{b,τ}) (the potential that makes its new s, z columns dual feasible).
   Paths with rc > 0 are added (up to ``PER_CELL`` per cell and round) until none is left: the
   restricted LP value is then the LP relaxation over all paths, a **proven upper bound**
   (``path_bound``). Each round also gives the Lagrangian bound z_RMP + Σ_cells max(0, max rc).
3. **Enumeration with exact pruning.** Along a path the Werner parameter only falls, g(F) is
   nonincreasing in F (tested), and Y_p g δ is the bottleneck capacity (<= C_max), so
   rc(p) <= C_max (α/(g δ) + ν) - μ with ν = max(0, -min c_seg). A depth-first search
   (``_dfs`` below) stops a partial path once its fidelity is below the
   floor at which this bound drops under the threshold: nothing it prunes could qualify.
4. **Closure.** With the incumbent z_inc of the MILP over the generated paths and
   Δ = path_bound - z_inc, any solution that uses a path p has value <= path_bound + rc(p)
   (LP duality with the final, all-path-feasible duals; all other rc <= 0). So every path with
   rc(p) >= -Δ is added, and the MILP over that set is **optimal over all paths**
   (``info["exact"] = True``). If that window would exceed ``options.max_columns``, it is
   narrowed (``CLOSURE_SHRINK``) until it fits; after a window w (every path with rc >= -w in
   the set) with MILP optimum z_w, a solution using any other path is worth < path_bound - w,
   so the optimum over all paths is <= max(z_w, path_bound - w). A better z_w shrinks Δ and
   the full window is tried again (``CLOSURE_PASSES``). Without a proof the result stays
   ``priced`` with ``exact = False`` and ``path_bound`` is that
   tightened bound (``info["closure_bound"]``; the LP bound stays in ``info["lp_bound"]``).

**Discard.** The pricing LPs (and so every dual above) write C6 as ``<=``: stored pairs may
be thrown away. This changes no optimum (LP or MILP, over any path set): take a solution with
discard and let F(t), D(t), X(t) be a segment's cumulative fills (δ s), draws and discards
before slot t, so z^t = F(t) - D(t) - X(t) and C5 reads D(t+1) - D(t) <= z^t. Refill as late
as possible: F'(t) = max(0, F(t) + G(t)), G(t) = max_{τ >= t} (D(τ+1) - F(τ)). G does not
increase, so 0 <= F'(t+1) - F'(t) <= F(t+1) - F(t) (new fills s' in [0, s]: C4 only loosens);
F'(t) >= D(t+1) (C5 holds with z' = F' - D); and F'(t) <= F(t) - X(t) because
D(τ+1) <= F(τ) - X(τ) <= F(τ) - X(t) for τ >= t, so z' <= z (C3 holds). x, y and the
objective are unchanged, and z' satisfies C6 with equality. With discard, C6's dual η is >= 0,
so every draw price ρ + η is >= 0 (with the equality the LP may price a draw below zero, which
made virtual paths look cheap and set ν > 0 in the enumeration bound, pruning far less).
Tested: same LP and MILP optimum with and without discard over complete path sets.

A finite memory lifetime (vintages, routing.paths.assemble) is not priced: use "complete".
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from routing.instance import Instance
from routing.paths import (
    Candidates,
    _edges,
    adjacency,
    assemble,
    capped_candidates,
    edge_key,
    fidelity_floor,
    segment_slots,
    slot_graph,
)
from routing.purification import purify, werner_parameter

PER_CELL = 20  # columns added per cell and pricing round
MAX_ROUNDS = 200
CLOSURE_SHRINK = 4  # a closure window over max_columns is narrowed 4x ...
CLOSURE_SHRINKS = 4  # ... at most this many times
CLOSURE_PASSES = 3  # a narrowed window whose MILP improves the incumbent is retried
CLOSURE_MILP_SECONDS = 120.0  # cap on each MILP inside the closure (its bound stays valid)
CLOSURE_MIN_SECONDS = 1.0  # least time a closure MILP gets when a time_limit is nearly spent


class SlotData:
    """Per-slot adjacency (live links), per-slot union of earlier links (segments), and the
    instance constants the pricing needs."""

    def __init__(self, inst: Instance):
        T = inst.n_slots
        self.inst = inst
        graphs = [slot_graph(inst, t) for t in range(T)]
        self.adj = [adjacency(g) for g in graphs]
        self.present = [{edge_key(u, v) for u, v in g.edges} for g in graphs]
        self.cap = {(edge_key(u, v), t): d["capacity"] for t, g in enumerate(graphs)
                    for u, v, d in g.edges(data=True)}
        self.fid = {edge_key(lk.u, lk.v): lk.fidelity for lk in inst.links}
        self.store = {n.name: n.storage for n in inst.nodes}
        # segments drawn in slot t were filled in some t0 < t (and t0 <= T-2)
        self.uadj = []
        for t in range(T):
            import networkx as nx

            u = nx.Graph()
            u.add_nodes_from(n.name for n in inst.nodes)
            for t0 in range(min(t, T - 1)):
                for a, b, d in graphs[t0].edges(data=True):
                    u.add_edge(a, b, fidelity=d["fidelity"])
            self.uadj.append(adjacency(u))
        self._floor: dict = {}
        # caches shared by every cell and pricing round (they depend on no dual)
        self.g_up: dict = {}  # (F_th, ceil(w 1e4)) -> g at the rounded-up Werner parameter
        self.g_exact: dict = {}  # (F_th, round(w, 13)) -> g
        self._wbest: dict = {}  # t -> best-Werner heuristic on the slot graph
        self._ubest: dict = {}  # t -> best-Werner heuristic on the union of earlier links
        self._fills: dict = {}  # segment nodes -> slots it can be filled in

    def fill_slots(self, nodes: tuple) -> tuple:
        """Slots t0 <= T - 2 in which every link of segment ``nodes`` is present
        (`routing.paths.segment_slots`), cached: the enumeration meets one segment under
        many prefixes, in every pricing round."""
        if nodes not in self._fills:
            self._fills[nodes] = segment_slots(nodes, self.present, self.inst.n_slots - 2)
        return self._fills[nodes]

    def wbest(self, t: int) -> _Heuristic:
        if t not in self._wbest:
            self._wbest[t] = _Heuristic(self.adj[t], None, t)
        return self._wbest[t]

    def ubest(self, t: int) -> _Heuristic:
        if t not in self._ubest:
            self._ubest[t] = _Heuristic(self.uadj[t], None, t)
        return self._ubest[t]

    def floor(self, threshold: float, gmax: float) -> float:
        """Werner parameter below which no path can have g <= gmax (cached)."""
        key = (threshold, gmax)
        if key not in self._floor:
            opt = self.inst.options
            f = fidelity_floor(threshold, opt.protocol, opt.max_rounds, gmax)
            self._floor[key] = werner_parameter(min(f, 1.0)) if f <= 1.0 else 2.0
        return self._floor[key]


def slot_data(inst: Instance) -> SlotData:
    return SlotData(inst)


class Prices:
    """Duals of a restricted LP, in the form the pricing needs (see module docstring)."""

    def __init__(self, mu, pi, sigma, draw, seg_ids, T):
        self.mu, self.pi, self.sigma, self.draw, self.seg_ids, self.T = (
            mu, pi, sigma, draw, seg_ids, T)
        self.seg_pair = {i: n for (n, _), i in seg_ids.items()}
        self._cache: dict = {}
        self._cbest: dict = {}  # t -> least-π heuristic under these prices

    def cbest(self, adj, t: int) -> _Heuristic:
        if t not in self._cbest:
            self._cbest[t] = _Heuristic(adj, self.pi, t)
        return self._cbest[t]

    def segment_price(self, n: int, nodes: tuple, ab: tuple, t: int, data: SlotData) -> float:
        """Price of one stored pair of segment ``nodes`` (of storage pair n) drawn at slot t."""
        i = self.seg_ids.get((n, nodes))
        if i is not None:
            return self.draw.get((i, t), 0.0)
        key = (n, nodes, t)
        if key in self._cache:
            return self._cache[key]
        self._cache[key] = best = self._new_segment_price(nodes, ab, t, data)
        return best

    def _new_segment_price(self, nodes, ab, t, data) -> float:
        fills = [t0 for t0 in data.fill_slots(nodes) if t0 < t]
        if not fills:
            return math.inf
        es = [edge_key(u, v) for u, v in _edges(nodes)]
        a, b = ab
        best, held, fill = math.inf, 0.0, set(fills)
        # back from t - 1: held = Σ_{τ=t0+1..t} (σ_a,τ + σ_b,τ), one term added per step
        for t0 in range(t - 1, fills[0] - 1, -1):
            held += self.sigma.get((a, t0 + 1), 0.0) + self.sigma.get((b, t0 + 1), 0.0)
            if t0 in fill:
                best = min(best, sum(self.pi.get((e, t0), 0.0) for e in es) + held)
        return best

    def min_draw(self) -> float:
        return min(self.draw.values(), default=0.0)

    def min_draw_of(self, n: int, t: int) -> float:
        """Least draw price at slot t over the model's segments of storage pair n (new
        segments cost >= 0)."""
        return min((d for (i, tt), d in self.draw.items()
                    if tt == t and self.seg_pair.get(i) == n), default=0.0)


class _Heuristic:
    """Best Werner product (``pi`` None) or least π cost from any node to a target, by
    Dijkstra on the undirected graph (ignoring the nodes a path has used: optimistic)."""

    def __init__(self, adj, pi, t):
        self.adj, self.pi, self.t = adj, pi, t
        self._w: dict = {}
        self._c: dict = {}

    def _run(self, target, weight):
        import heapq

        dist = {target: 0.0}
        heap = [(0.0, target)]
        while heap:
            d, u = heapq.heappop(heap)
            if d > dist.get(u, math.inf):
                continue
            for v, w, _ in self.adj.get(u, ()):
                nd = d + weight(u, v, w)
                if nd < dist.get(v, math.inf):
                    dist[v] = nd
                    heapq.heappush(heap, (nd, v))
        return dist

    def w(self, v, target) -> float:
        if target not in self._w:  # the Werner products, exp(-distance), kept (a hot path)
            dist = self._run(target, lambda u, v_, w: -math.log(w) if w > 0 else math.inf)
            self._w[target] = {u: math.exp(-d) for u, d in dist.items()}
        return self._w[target].get(v, 0.0)

    def c(self, v, target) -> float:
        if target not in self._c:
            self._c[target] = self._run(
                target, lambda u, v_, w: max(0.0, self.pi.get((edge_key(u, v_), self.t), 0.0)))
        return self._c[target].get(v, math.inf)


def _dfs(adj, start, goal, banned, w0, cap0, c0, pi, t, prune):
    """Yield (nodes, w, cap, c) for simple paths start -> goal avoiding ``banned``: w the Werner
    product, cap the bottleneck capacity, c the sum of π_{e,t} (``pi`` None: no costs).
    ``prune(node, w, cap, c)`` True cuts a partial path ending at ``node`` (w, cap only fall
    and c only grows along a path, so a bound built on them plus an optimistic completion from
    ``node`` is exact pruning)."""
    if start in banned or goal in banned or start not in adj:
        return
    if prune(start, w0, cap0, c0):
        return
    if start == goal:
        yield (start,), w0, cap0, c0
        return
    path, on = [start], {start}
    st = [(w0, cap0, c0)]
    iters = [iter(adj[start])]
    while iters:
        nxt = next(iters[-1], None)
        if nxt is None:
            iters.pop()
            on.discard(path.pop())
            st.pop()
            continue
        v, w, cap = nxt
        if v in on or v in banned:
            continue
        w_, cap_, c_ = st[-1]
        wv, capv = w_ * w, min(cap_, cap)
        cv = c_ + (pi.get((edge_key(path[-1], v), t), 0.0) if pi is not None else 0.0)
        if prune(v, wv, capv, cv):
            continue
        if v == goal:
            yield (*path, v), wv, capv, cv
            continue
        path.append(v)
        on.add(v)
        st.append((wv, capv, cv))
        iters.append(iter(adj[v]))


def enumerate_cell(inst: Instance, data: SlotData, k: int, t: int, prices: Prices | None,
                   threshold: float = 0.0, limit: int | None = None,
                   stop_after: int | None = None):
    """Columns of cell (k, t): every path with finite g (``prices=None``) or every path with
    reduced cost > ``threshold`` under ``prices`` (module docstring, step 3). Returns a list of
    dicts (kind, nodes, live, pair, segment, rc, fidelity). With ``limit``, more than that many
    appends ``None`` (truncated: not exhaustive). ``stop_after`` returns early (not exhaustive)
    once that many are found, with ``"partial"`` appended."""
    pair = inst.pairs[k]
    opt = inst.options
    delta = inst.slot_duration
    alpha = pair.weight[t]
    adj, uadj = data.adj[t], data.uadj[t]
    src, dst = pair.src, pair.dst
    gcache = data.g_up

    def g_of(w):
        """g at the Werner parameter w rounded UP to 1e-4 (a lower g: a valid upper bound)."""
        key = (pair.threshold, math.ceil(w * 1e4))
        if key not in gcache:
            f = min(1.0, 0.25 + 0.75 * key[1] * 1e-4)
            gcache[key] = purify(f, pair.threshold, opt.protocol, opt.max_rounds).cost
        return gcache[key]

    wfloor = data.floor(pair.threshold, math.inf)  # below it g = inf
    # optimistic completions: best Werner product and least π cost from a node to a target
    wbest = data.wbest(t)
    if prices is None:
        mu, pi = 0.0, None

        def make_prune(target, w_after=1.0, c_after=0.0, wh=wbest, costs=True):
            def prune(v, w, cap, c):
                return w * wh.w(v, target) * w_after < wfloor
            return prune
    else:
        if alpha <= 0:
            return []  # a weightless cell: rc = -μ <= 0 for every path
        mu = prices.mu.get((k, t), 0.0)
        pi = prices.pi
        cbest = prices.cbest(adj, t)

        def make_prune(target, w_after=1.0, c_after=0.0, wh=wbest, costs=True):
            """Prune towards ``target`` (optimistic rest beyond it: w_after, c_after); ``wh``
            the graph walked (slot or union), ``costs`` whether its links carry π."""
            def prune(v, w, cap, c):
                wt = w * wh.w(v, target) * w_after
                if wt < wfloor:
                    return True
                rest = cbest.c(v, target) if costs else 0.0
                lam = max(0.0, alpha / (g_of(wt) * delta) - (c + rest + c_after))
                # before the first link the bottleneck is inf: inf * 0 would be nan, and a nan
                # bound pruned every path of a cell whose paths all have lambda = 0 (rc = -mu)
                ub = (cap * lam if lam > 0 else 0.0) - mu
                return not ub > threshold
            return prune
    out: list = []

    exact_g = data.g_exact

    def consider(kind, nodes, live, w, cap, c, n=None, seg=None):
        key = (pair.threshold, round(w, 13))
        if key not in exact_g:
            exact_g[key] = purify(0.25 + 0.75 * w, pair.threshold, opt.protocol,
                                  opt.max_rounds).cost
        g = exact_g[key]
        if not math.isfinite(g) or not (math.isfinite(cap) and cap > 0):
            return True
        rc = math.nan
        if prices is not None:
            if seg is not None:
                c = c + prices.segment_price(n, seg, inst.storage_pairs[n], t, data)
            if not math.isfinite(c):
                return True
            rc = cap / (g * delta) * max(0.0, alpha - g * delta * c) - mu
            if not rc > threshold:
                return True
        out.append({"kind": kind, "nodes": nodes, "live": live, "pair": n, "segment": seg,
                    "rc": rc, "fidelity": 0.25 + 0.75 * w})
        if limit is not None and len(out) > limit:
            out.append(None)
            return False
        if stop_after is not None and len(out) >= stop_after:
            out.append("partial")
            return False
        return True

    for nodes, w, cap, c in _dfs(adj, src, dst, frozenset(), 1.0, math.inf, 0.0, pi, t,
                                 make_prune(dst)):
        if not consider("real", nodes, _edges(nodes), w, cap, c):
            return out
    if t == 0:
        return out

    ubest = data.ubest(t)
    for n, (m1, m2) in enumerate(inst.storage_pairs):
        bpair = min(data.store[m1], data.store[m2])
        nu = 0.0 if prices is None else max(0.0, -prices.min_draw_of(n, t))
        for a, b in ((m1, m2), (m2, m1)):
            if a == dst or b == src:
                continue
            w_seg, w_suf = ubest.w(a, b), wbest.w(b, dst)
            c_suf = 0.0 if prices is None else cbest.c(b, dst)
            pre_prune = make_prune(a, w_seg * w_suf, c_suf - nu)
            for pre, wp, cp, cc in _dfs(adj, src, a, frozenset((b, dst)), 1.0, bpair, 0.0, pi,
                                        t, pre_prune):
                ban = (frozenset(pre[:-1]) | {dst, src}) - {a, b}
                seg_prune = make_prune(b, w_suf, c_suf - nu, ubest, False)
                for seg, ws, _, _ in _dfs(uadj, a, b, ban, wp, cp, cc, None, t, seg_prune):
                    fills = data.fill_slots(seg)
                    if not fills or fills[0] > t - 1:
                        continue  # never filled before slot t
                    ban2 = (frozenset(pre) | frozenset(seg[:-1])) - {b}
                    suf_prune = make_prune(dst, 1.0, -nu)
                    for suf, w, cap, c in _dfs(adj, b, dst, ban2, ws, cp, cc, pi, t, suf_prune):
                        full = pre[:-1] + seg + suf[1:]
                        oriented = seg if (a, b) == (m1, m2) else tuple(reversed(seg))
                        if not consider("virtual", full, _edges(pre) + _edges(suf), w, cap, c,
                                        n, oriented):
                            return out
    return out


def _duals(model):
    """Solve the LP relaxation of ``model`` with GLOP; return (value, Prices)."""
    from ortools.linear_solver import pywraplp

    from routing.milp import build_solver, glop_solve

    rows: list = []
    lp, _, _ = build_solver(model, "GLOP", relax=True, discard=True, rows=rows)
    code = glop_solve(lp)
    if code != pywraplp.Solver.OPTIMAL:
        raise RuntimeError(f"GLOP returned status {code} on the restricted LP")
    duals = np.array([c.dual_value() for c in rows])  # C2, C3-C5, C6 (no C1)
    n1 = 0
    mu = {(k, t): float(duals[n1 + g]) for g, (k, t, _) in enumerate(model.groups)}
    off = n1 + len(model.groups)
    pi, sigma, rho = {}, {}, {}
    for r, row in enumerate(model.ub_rows):
        d = float(duals[off + r])
        {"C3": sigma, "C4": pi, "C5": rho}[row.family][row.key] = d
    off += len(model.ub_rows)
    eta = {row.key: float(duals[off + r]) for r, row in enumerate(model.eq_rows)}
    draw = {}
    for seg in model.cands.segments:
        for t in range(1, model.T):
            draw[(seg.index, t)] = rho.get((seg.index, t), 0.0) + eta.get((seg.index, t + 1), 0.0)
    seg_ids = {(s.pair, s.nodes): s.index for s in model.cands.segments}
    return float(lp.Objective().Value()), Prices(mu, pi, sigma, draw, seg_ids, model.T)


def path_key(model, j: int) -> tuple:
    """A path's identity independent of column order: (pair, slot, kind, nodes, stored
    segment as (storage pair, nodes) or None)."""
    p = model.paths[j]
    seg = model.cands.segments[p.stored] if p.stored is not None else None
    return (p.pair, p.slot, p.kind, tuple(p.nodes),
            None if seg is None else (seg.pair, tuple(seg.nodes)))


class _Pool:
    """The generated columns, in insertion order, without duplicates."""

    def __init__(self, inst: Instance, cands: Candidates):
        self.inst = inst
        self.real: dict = {}
        self.virtual: dict = {}
        self.segments: list = []
        self.seg_index: dict = {}
        self.keys: set = set()
        for seg in cands.segments:
            self._segment(seg.pair, seg.nodes)
        for per_k in cands.options:
            for per_t in per_k:
                for p in per_t:
                    if p.kind == "real":
                        self.add({"kind": "real", "nodes": p.nodes, "live": p.live_edges},
                                 p.pair, p.slot)
                    else:
                        seg = cands.segments[p.stored]
                        self.add({"kind": "virtual", "nodes": p.nodes, "live": p.live_edges,
                                  "pair": seg.pair, "segment": seg.nodes}, p.pair, p.slot)

    def _segment(self, n, nodes):
        key = (n, tuple(nodes))
        if key not in self.seg_index:
            self.seg_index[key] = len(self.segments)
            self.segments.append(key)
        return self.seg_index[key]

    def add(self, col, k, t) -> bool:
        key = (k, t, col["kind"], col["nodes"], col.get("segment"))
        if key in self.keys:
            return False
        self.keys.add(key)
        if col["kind"] == "real":
            self.real.setdefault((k, t), []).append(col["nodes"])
        else:
            si = self._segment(col["pair"], col["segment"])
            self.virtual.setdefault((k, t), []).append((col["nodes"], tuple(col["live"]), si))
        return True

    def candidates(self, path_bound=math.nan, info=None, path_set="priced") -> Candidates:
        return assemble(self.inst, self.real, self.segments, self.virtual, path_set,
                        path_bound, info)


@dataclasses.dataclass
class _Priced:
    """The pricing phase's outcome: the pool, the last restricted LP's duals, and the
    all-path LP bound (`path_bound`: the last LP when converged, else the best Lagrangian)."""

    pool: _Pool
    data: SlotData
    prices: Prices | None
    converged: bool
    path_bound: float
    info: dict


def _price(inst: Instance, verbose: bool = False, time_limit: float | None = None) -> _Priced:
    """Steps 1-3 of the module docstring: column generation on the LP relaxation. With
    ``time_limit`` (s) it stops after the cell or round that passes it (not converged:
    ``info["time_limit_hit"]``)."""
    from routing.model import CompiledModel

    t0 = time.perf_counter()
    data = slot_data(inst)
    pool = _Pool(inst, capped_candidates(inst))
    limit = inst.options.max_columns
    cells = [(k, t) for k in range(inst.n_pairs) for t in range(inst.n_slots)]
    lag_bounds, lp_values = [], []
    converged = False
    truncated = False
    prices = None
    z = math.nan
    rounds = 0
    exhaustive = False
    empty: set = set()  # cells whose last search found nothing (skipped by partial rounds)
    late = False

    def over() -> bool:
        return time_limit is not None and time.perf_counter() - t0 > time_limit

    for rounds in range(1, MAX_ROUNDS + 1):
        if over():
            late = True
            break
        model = CompiledModel(inst, pool.candidates())
        z, prices = _duals(model)
        lp_values.append(z)
        tol = 1e-7 * max(1.0, abs(z))
        added = 0
        lag = z
        truncated = False
        for k, t in cells:
            if over():  # this round's Lagrangian bound misses cells: not a bound
                late = truncated = True
                break
            if not exhaustive and (k, t) in empty:
                truncated = True  # skipped: only an exhaustive round proves it empty
                continue
            cols = enumerate_cell(inst, data, k, t, prices, threshold=tol, limit=limit,
                                  stop_after=None if exhaustive else 2 * PER_CELL)
            if not cols:
                empty.add((k, t))
            else:
                empty.discard((k, t))
            if cols and cols[-1] in (None, "partial"):
                truncated = True
                cols = cols[:-1]
            if cols:
                lag += max(c["rc"] for c in cols)
            for c in sorted(cols, key=lambda c: -c["rc"])[:PER_CELL]:
                added += pool.add(c, k, t)
        if not truncated:
            lag_bounds.append(lag)
        if late:
            break
        if added == 0 and not exhaustive:
            exhaustive = True  # nothing found by partial pricing: prove it exhaustively
            continue
        exhaustive = False
        if verbose:
            print(f"pricing round {rounds}: LP {z:.9g}, added {added}, Lagrangian {lag:.9g}")
        if added == 0 and not truncated:
            converged = True
            break
        if added == 0:
            break
    path_bound = z if converged else (min(lag_bounds) if lag_bounds else math.inf)
    info = {"rounds": rounds, "lp_values": lp_values, "lagrangian_bounds": lag_bounds,
            "converged": converged, "lp_bound": path_bound, "time_limit_hit": late,
            "pricing_seconds": time.perf_counter() - t0}
    return _Priced(pool, data, prices, converged, path_bound, info)


def all_paths_lp_bound(inst: Instance, time_limit: float | None = None) -> tuple[float, dict]:
    """A proven upper bound on PS-EGR's objective over ALL paths, without the MILP: the LP
    relaxation over every path by column generation (module docstring, steps 1-3), or the
    best Lagrangian bound of its rounds when pricing stops before it converges (``inf`` when
    it has none). This is the bound a capped solve is measured against (DESIGN section 9:
    "capped with the gap to the uncapped LP bound"). ``time_limit`` (s): stop pricing after
    it (checked between cells; the bound is then the best complete round's Lagrangian bound,
    or inf). Returns ``(bound, info)`` with the pricing's ``rounds``, ``converged``,
    ``time_limit_hit``, ``lp_values``, ``lagrangian_bounds``, ``pricing_seconds``, and
    ``without_decay`` (below).

    **Finite memory lifetimes** are not priced; the bound is then that of the same instance
    without decay (``info["without_decay"] = True``), which bounds the decaying one: take any
    feasible point of the decaying MILP over all paths and give each chosen virtual path the
    sum of its vintages' rates. Decay only lowers fidelities, so each vintage's cost g is at
    least the undecayed g: the point draws less stock and link budget than before, its live
    links still carry Σ g δ y <= C and its stores Σ z <= B, so C1 holds with the undecayed
    Y^max = min(C, B)/(g δ) (x = 1), and the stock left over is discarded (C6 as ``<=``, which
    leaves the optimum unchanged: "Discard" above). Same objective, so the undecayed MILP
    optimum, hence its LP bound, is at least the decaying optimum. It is looser the shorter
    the lifetimes."""
    from routing.milp import check_time_limit
    from routing.paths import memory_decays

    time_limit = check_time_limit(time_limit)
    decays = memory_decays(inst)
    if decays:
        inst = dataclasses.replace(inst, nodes=tuple(
            dataclasses.replace(n, memory_time=math.inf) for n in inst.nodes))
    priced = _price(inst, time_limit=time_limit)
    return priced.path_bound, {**priced.info, "without_decay": decays}


def priced_candidates(inst: Instance, verbose: bool = False,
                      time_limit: float | None = None) -> Candidates:
    """Candidates over which the MILP optimum is the optimum over all paths (module docstring).

    ``info``: ``exact`` (the closure proved it), ``rounds``, ``lp_bound`` (= ``path_bound``),
    ``lagrangian_bounds`` per round, ``incumbent`` before the closure, ``closure_added``,
    ``columns``, ``seconds``, ``time_limit_hit``. ``time_limit`` (s): a budget for the whole
    pricing (column generation, then the closure's MILPs, each also capped at
    ``CLOSURE_MILP_SECONDS``): past it, no further round or closure pass starts (the first
    MILP still gets at least ``CLOSURE_MIN_SECONDS``), and ``path_bound`` is the best bound
    proven so far (a Lagrangian bound, or inf).
    """
    from routing.milp import solve_milp
    from routing.model import CompiledModel

    t0 = time.perf_counter()

    def cap() -> float:
        if time_limit is None:
            return CLOSURE_MILP_SECONDS
        return min(CLOSURE_MILP_SECONDS,
                   max(time_limit - (time.perf_counter() - t0), CLOSURE_MIN_SECONDS))

    def late() -> bool:
        return time_limit is not None and time.perf_counter() - t0 > time_limit

    priced = _price(inst, verbose, time_limit)
    pool, data, prices = priced.pool, priced.data, priced.prices
    converged, path_bound, info = priced.converged, priced.path_bound, priced.info
    limit = inst.options.max_columns
    cells = [(k, t) for k in range(inst.n_pairs) for t in range(inst.n_slots)]
    model = CompiledModel(inst, pool.candidates())
    # closure: every path that could still beat the incumbent; a window too large for
    # max_columns shrinks until it fits (then the bound tightens to max(z_w, LP - w))
    inc = solve_milp(model, hint=None, time_limit=cap())
    info["incumbent"] = inc.objective
    exact = False
    n_closure = 0
    closure_rounds: list = []
    inside = inc.bound if inc.status != "optimal" else inc.objective  # bound over the pool
    best = inc
    if converged and math.isfinite(inc.objective):  # any feasible incumbent gives a window
        eps = 1e-7 * max(1.0, abs(path_bound))
        z_best = inc.objective
        proven = 0.0  # every path with rc >= -proven is in the pool
        for _ in range(CLOSURE_PASSES):
            if late():
                info["time_limit_hit"] = True
                break
            gap = max(0.0, path_bound - z_best)
            width, found = gap, None
            for _ in range(CLOSURE_SHRINKS):
                found, complete = [], True
                for k, t in cells:
                    cols = enumerate_cell(inst, data, k, t, prices, threshold=-width - eps,
                                          limit=limit - len(found))
                    if cols and cols[-1] is None:
                        complete = False
                        break
                    found += [(c, k, t) for c in cols]
                if complete:
                    break
                closure_rounds.append({"width": width, "found": None, "added": None,
                                       "incumbent": z_best})
                width /= CLOSURE_SHRINK
                found = None
            if found is None:
                break  # no window fits: the LP bound stands
            added = sum(pool.add(c, k, t) for c, k, t in found)
            n_closure += added
            z_prev = z_best
            if added:
                model = CompiledModel(inst, pool.candidates())
                sol = solve_milp(model, hint=None, time_limit=cap())
                if sol.objective > best.objective:
                    best = sol
                z_best = max(z_best, sol.objective)
                inside = sol.bound if sol.status != "optimal" else sol.objective
            proven = max(proven, width)
            closure_rounds.append({"width": width, "found": len(found), "added": added,
                                   "incumbent": z_best})
            if proven >= path_bound - z_best:  # every path with rc >= -(UB - z) is in
                exact = True
                info["closure_threshold"] = -proven - eps
                break
            if z_best <= z_prev or inside > z_best:
                break  # a narrower window did not improve the incumbent: stop here
        # a solution using a path outside the pool is worth <= path_bound - proven, one inside
        # it <= z_best (the pool's MILP optimum): the all-path bound tightens to the larger
        # (inside: the pool MILP's optimum, or its bound when the time cap stopped it)
        if not exact and (proven > 0 or inside > z_best):
            info["closure_bound"] = max(z_best, inside, path_bound - proven)
    info["closure_rounds"] = closure_rounds
    # the best path choice found, by path key: solve_milp's default hint on the final set
    info["incumbent_keys"] = [path_key(best.model, j) for j in np.flatnonzero(best.x > 0.5)]
    info.update(exact=exact, closure_added=n_closure, seconds=time.perf_counter() - t0)
    cands = pool.candidates(min(path_bound, info.get("closure_bound", math.inf)), info)
    cands.info["columns"] = sum(len(p) for per_k in cands.options for p in per_k)
    cands.info["stored_segments"] = len(cands.segments)
    return cands
