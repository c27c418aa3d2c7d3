"""Brute-force reference for the PS-EGR model: enumerate every path choice, solve each LP.

Written separately from ``routing.model``/``routing.milp``: variables are indexed with plain
dicts, constraints are assembled from the instance and the candidate paths with loops, and
each LP is solved by ``scipy.optimize.linprog`` (HiGHS inside scipy, not OR-Tools). Only for
tiny instances (the number of choices is the product of the options per (k, t)).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog


def _ek(u, v):
    return (u, v) if u <= v else (v, u)


def lp_value(inst, cands, choice: dict) -> float:
    """Max Σ α y for the path choice ``choice[(k, t)] = index into cands.options[k][t]``."""
    delta, T = inst.slot_duration, inst.n_slots
    var = {}

    def v(key):
        if key not in var:
            var[key] = len(var)
        return var[key]

    chosen = []
    for (k, t), i in choice.items():
        p = cands.options[k][t][i]
        chosen.append((k, t, p))
        v(("y", k, t))
    for seg in cands.segments:
        for t in seg.slots:
            v(("s", seg.index, t))
        for t in range(1, T):
            v(("z", seg.index, t))
    n = len(var)
    if n == 0:
        return 0.0
    rows, rhs = [], []
    eq_rows, eq_rhs = [], []
    bounds = [(0, None)] * n
    bounds = list(bounds)
    for k, t, p in chosen:
        bounds[var[("y", k, t)]] = (0, p.ymax)  # C1 with x = 1 (unchosen paths carry y = 0)
    cap = {(_ek(lk.u, lk.v), t): c for lk in inst.links for t, c in enumerate(lk.capacity)
           if c is not None}
    load = {}
    for k, t, p in chosen:
        for a, b in p.live_edges:
            load.setdefault((_ek(a, b), t), []).append((var[("y", k, t)], p.cost * delta))
    for seg in cands.segments:
        for t in seg.slots:
            for a, b in zip(seg.nodes[:-1], seg.nodes[1:], strict=False):
                load.setdefault((_ek(a, b), t), []).append((var[("s", seg.index, t)], delta))
    for key, terms in load.items():
        row = np.zeros(n)
        for c, w in terms:
            row[c] += w
        rows.append(row)
        rhs.append(cap[key])
    for m in {m for pr in inst.storage_pairs for m in pr}:
        for t in range(1, T):
            row = np.zeros(n)
            for seg in cands.segments:
                if m in inst.storage_pairs[seg.pair]:
                    row[var[("z", seg.index, t)]] += 1
            rows.append(row)
            rhs.append(inst.storage_capacity(m))
    for seg in cands.segments:
        def draw(t, seg=seg):
            row = np.zeros(n)
            for k, tt, p in chosen:
                if tt == t and p.stored == seg.index:
                    row[var[("y", k, tt)]] += p.cost * delta
            return row
        for t in range(T):
            row = draw(t)
            if t >= 1:
                row[var[("z", seg.index, t)]] -= 1  # draw(t) <= z^t
            rows.append(row)
            rhs.append(0.0)
            if t >= 1:  # z^t = z^{t-1} - draw(t-1) + δ s^{t-1}
                row = draw(t - 1)
                row[var[("z", seg.index, t)]] += 1
                if t >= 2:
                    row[var[("z", seg.index, t - 1)]] -= 1
                if (t - 1) in seg.slots:
                    row[var[("s", seg.index, t - 1)]] -= delta
                eq_rows.append(row)
                eq_rhs.append(0.0)
    c = np.zeros(n)
    for k, t, _ in chosen:
        c[var[("y", k, t)]] = -inst.pairs[k].weight[t]
    res = linprog(c, A_ub=np.array(rows) if rows else None, b_ub=rhs if rows else None,
                  A_eq=np.array(eq_rows) if eq_rows else None, b_eq=eq_rhs if eq_rows else None,
                  bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return -float(res.fun)


def brute_force(inst, cands) -> tuple[float, dict]:
    """Best objective over every path choice, and the choice attaining it."""
    cells = [(k, t) for k, per_k in enumerate(cands.options) for t, per_t in enumerate(per_k)
             if per_t]
    best, arg = -np.inf, None
    for combo in itertools.product(*[range(len(cands.options[k][t])) for k, t in cells]):
        choice = dict(zip(cells, combo, strict=True))
        val = lp_value(inst, cands, choice)
        if val > best:
            best, arg = val, choice
    return best, arg
