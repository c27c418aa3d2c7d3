"""Independent enumeration of PS-EGR paths (plain Python, nothing from ``routing``).

Input is plain data written by the test: ``links = {(u, v): (fidelity, [capacity or None per
slot])}``, ``storage = {node: B_m}``, ``storage_pairs = [(m1, m2)]``, ``pairs = [(src, dst,
F_th)]``, ``delta`` (s). Rules (paper 004 with DESIGN section 5's readings):

* a path's Werner fidelity: F = 1/4 + 3/4 prod_e (4 F_e - 1)/3;
* purification cost by iterated DEJMPS on Bell-diagonal weights (Φ+, Ψ-, Ψ+, Φ-):
  N = (A+B)^2 + (C+D)^2, A' = (A^2+B^2)/N, B' = 2CD/N, C' = (C^2+D^2)/N, D' = 2AB/N, cost
  prod 2/N over the rounds until A >= F_th (1 when F >= F_th; inf when F <= 1/2 or more than
  ``max_rounds`` rounds);
* real path of (k, t): a simple src-dst path in slot t; Y = min_e C_e^t / (g δ);
* segment of a storage pair: a simple m1-m2 path; it can be filled in slot t0 <= T-2 when all
  its links are present then; virtual path of (k, t): prefix src->a (slot t) + segment a~b
  (filled in some t0 < t) + suffix b->dst (slot t), the whole node sequence simple;
  Y = min(min over prefix and suffix links C_e^t, B_a, B_b) / (g δ);
* memory lifetimes ``memory = {node: τ}`` (s): a pair stored at a and b from fill slot t0 to
  draw slot t has its Werner parameter (4F - 1)/3 multiplied by exp(-(t - t0) δ (1/τ_a +
  1/τ_b)); then each fill slot t0 < t is its own virtual path (key entry ``t0``), else t0 is
  None.
"""

from __future__ import annotations

import math


def werner(fids) -> float:
    w = 1.0
    for f in fids:
        w *= (4 * f - 1) / 3
    return 0.25 + 0.75 * w


def dejmps_cost(f: float, th: float, max_rounds: int = 30) -> float:
    if f >= th:
        return 1.0
    if f <= 0.5 or th >= 1:
        return math.inf
    a, b, c, d = f, (1 - f) / 3, (1 - f) / 3, (1 - f) / 3
    cost = 1.0
    for _ in range(max_rounds):
        n = (a + b) ** 2 + (c + d) ** 2
        a, b, c, d = (a * a + b * b) / n, 2 * c * d / n, (c * c + d * d) / n, 2 * a * b / n
        cost *= 2 / n
        if a >= th:
            return cost
    return math.inf


def _key(u, v):
    return (u, v) if u <= v else (v, u)


def _all_simple(edges: set, s: str, d: str):
    nbr: dict = {}
    for u, v in edges:
        nbr.setdefault(u, set()).add(v)
        nbr.setdefault(v, set()).add(u)
    out = []

    def go(path):
        if path[-1] == d:
            out.append(tuple(path))
            return
        for v in sorted(nbr.get(path[-1], ())):
            if v not in path:
                go(path + [v])
    if s == d:
        return [(s,)]
    if s in nbr:
        go([s])
    return out


def all_paths(links, storage, storage_pairs, pairs, n_slots, delta, max_rounds=30,
              memory=None):
    """{(k, t, kind, nodes, segment, t0): (fidelity, cost, ymax)} for every path with finite g
    and Y > 0 (segment = the stored path oriented m1 -> m2, None for real paths; t0 the fill
    slot when the stores decay, else None)."""
    memory = memory or {}
    fid = {_key(u, v): f for (u, v), (f, _) in links.items()}
    cap = {(_key(u, v), t): c[t] for (u, v), (_, c) in links.items() for t in range(n_slots)
           if c[t] is not None and c[t] > 0}
    present = [{e for (e, tt) in cap if tt == t} for t in range(n_slots)]

    def edges_of(p):
        return [_key(p[i], p[i + 1]) for i in range(len(p) - 1)]

    out = {}
    for k, (src, dst, th) in enumerate(pairs):
        for t in range(n_slots):
            def add(kind, nodes, live, seg, extra_cap=math.inf, k=k, t=t, th=th, t0=None,
                    decay=1.0):
                f = 0.25 + (werner([fid[e] for e in edges_of(nodes)]) - 0.25) * decay
                g = dejmps_cost(f, th, max_rounds)
                if not math.isfinite(g):
                    return
                y = min([cap[(e, t)] for e in live] + [extra_cap]) / (g * delta)
                if y > 0 and math.isfinite(y):
                    out[(k, t, kind, nodes, seg, t0)] = (f, g, y)

            for p in _all_simple(present[t], src, dst):
                add("real", p, edges_of(p), None)
            if t == 0:
                continue
            earlier = set().union(*present[: min(t, n_slots - 1)])
            for m1, m2 in storage_pairs:
                for a, b in ((m1, m2), (m2, m1)):
                    rate = sum(1 / memory[m] for m in (m1, m2) if m in memory)
                    for seg in _all_simple(earlier, a, b):
                        fills = [t0 for t0 in range(min(t, n_slots - 1))
                                 if all(e in present[t0] for e in edges_of(seg))]
                        if not fills:
                            continue
                        for pre in _all_simple(present[t], src, a):
                            for suf in _all_simple(present[t], b, dst):
                                full = pre[:-1] + seg + suf[1:]
                                if len(set(full)) != len(full):
                                    continue
                                oriented = seg if (a, b) == (m1, m2) else tuple(reversed(seg))
                                live = edges_of(pre) + edges_of(suf)
                                bm = min(storage[m1], storage[m2])
                                if rate == 0:
                                    add("virtual", full, live, oriented, bm)
                                    continue
                                for t0 in fills:
                                    add("virtual", full, live, oriented, bm, t0=t0,
                                        decay=math.exp(-rate * (t - t0) * delta))
    return out
