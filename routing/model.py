"""The PS-EGR model compiled to index sets and sparse matrices (shared by MILP, Benders, MPS).

Variables (all >= 0), in this column order of the continuous vector v = [y, s, z]:

* ``y_j``   one per candidate path j = (k, p, t): purified EGR of pair k on path p in slot t
  (pairs/s); paired with the binary ``x_j``.
* ``s_i^t`` generation rate of storage pair n(i) over stored segment i in slot t (raw pairs/s),
  for the slots where segment i is a storage path (the seed's y_{n,p_m}^t).
* ``z_i^t`` stock of pairs of segment i at the start of slot t, t = 1..T-1 (0-based; z_i^0 = 0).

Rows: C1 ``y_j <= Y_j x_j``; C2 ``sum_{j in (k,t)} x_j = 1``; C3, C4, C5 as inequalities
``A_ub v <= b_ub``; C6 as equalities ``A_eq v = 0``. See :mod:`routing.milp` for the formulation.

**Routes and vintages.** With a finite memory lifetime a virtual path is one y column per
vintage (fill slot t0 of its stored pairs; `routing.paths.assemble`): the vintages of one path
are one *route*. Its columns share one path choice: ``route_of[j]`` is the route's first column
(j itself for every other path), the tie rows ``x_j = x_{route_of[j]}`` (``ties``) hold the
choice together, and C2 counts each route once (``groups`` list route heads only). Without
decay every column is its own route and nothing changes. Before this, C2 made a cell choose
one vintage, so it could draw from one fill slot's stock only: fig5 (seed 0, B = 2e4) fell
from 444.84 with τ = inf to the no-storage 396.40 with τ = 1e7 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from routing._checks import check_instance
from routing.instance import Instance
from routing.paths import CandidatePath, Candidates, build_candidates, edge_key


@dataclass(frozen=True)
class Row:
    name: str  # e.g. "C4[sat0-src1,t3]"
    family: str  # C3 | C4 | C5 | C6
    key: tuple = ()  # (m, t) for C3, (edge, t) for C4, (segment, t) for C5 and C6


class CompiledModel:
    """Index sets and sparse matrices of one instance (built once, read-only)."""

    def __init__(self, inst: Instance, cands: Candidates | None = None):
        self.inst = inst
        self.cands = cands if cands is not None else build_candidates(inst)
        self.path_set = self.cands.path_set
        self.path_bound = self.cands.path_bound
        T, delta = inst.n_slots, inst.slot_duration
        self.T, self.delta = T, delta
        # --- y columns
        self.paths: list[CandidatePath] = [
            p for per_k in self.cands.options for per_t in per_k for p in per_t]
        self.n_y = len(self.paths)
        self.alpha = np.array([inst.pairs[p.pair].weight[p.slot] for p in self.paths], float)
        self.ymax = np.array([p.ymax for p in self.paths], float)
        self.g = np.array([p.cost for p in self.paths], float)
        # routes (the vintages of one virtual path share a path choice) and C2 groups of
        # route heads
        segs = self.cands.segments
        self.route_of = np.arange(self.n_y)
        self.groups: list[tuple[int, int, list[int]]] = []
        idx = 0
        for k, per_k in enumerate(self.cands.options):
            for t, per_t in enumerate(per_k):
                head: dict = {}
                for j in range(idx, idx + len(per_t)):
                    key = route_key(self.paths[j], segs, j)
                    self.route_of[j] = head.setdefault(key, j)
                if per_t:
                    self.groups.append((k, t, sorted(head.values())))
                idx += len(per_t)
        #: (j, head) for every column that is not its route's head: x_j = x_head
        self.ties: list[tuple[int, int]] = [
            (j, int(h)) for j, h in enumerate(self.route_of.tolist()) if h != j]
        # --- s and z columns
        self.s_index: dict[tuple[int, int], int] = {}
        col = self.n_y
        for seg in segs:
            for t in seg.slots:
                self.s_index[(seg.index, t)] = col
                col += 1
        self.z_index: dict[tuple[int, int], int] = {}
        for seg in segs:
            for t in range(1, T):
                self.z_index[(seg.index, t)] = col
                col += 1
        self.n_vars = col
        # --- rows
        ub_rows: list[Row] = []
        ub_entries: list[tuple[int, int, float]] = []
        b_ub: list[float] = []
        eq_rows: list[Row] = []
        eq_entries: list[tuple[int, int, float]] = []

        def add_ub(name, family, entries, rhs, key=()):
            r = len(ub_rows)
            ub_rows.append(Row(name, family, key))
            ub_entries.extend((r, c, v) for c, v in entries)
            b_ub.append(float(rhs))

        # C3: storage capacity per node and slot
        nodes_of_seg = {seg.index: inst.storage_pairs[seg.pair] for seg in segs}
        stores = sorted({m for sp_ in inst.storage_pairs for m in sp_})
        for m in stores:
            bm = inst.storage_capacity(m)
            for t in range(1, T):
                ent = [(self.z_index[(i, t)], 1.0) for i, ns in nodes_of_seg.items() if m in ns]
                if ent:
                    add_ub(f"C3[{m},t{t}]", "C3", ent, bm, (m, t))
        # C4: link budget per (link, slot): sum g δ y + δ s <= C
        usage: dict[tuple[tuple[str, str], int], list[tuple[int, float]]] = {}
        for j, p in enumerate(self.paths):
            for u, v in p.live_edges:
                usage.setdefault((edge_key(u, v), p.slot), []).append((j, p.cost * delta))
        for seg in segs:
            for t in seg.slots:
                for u, v in zip(seg.nodes[:-1], seg.nodes[1:], strict=False):
                    usage.setdefault((edge_key(u, v), t), []).append(
                        (self.s_index[(seg.index, t)], delta))
        cap = {}
        for lk in inst.links:
            for t, c in enumerate(lk.capacity):
                if c is not None:
                    cap[(edge_key(lk.u, lk.v), t)] = c
        for (e, t), ent in sorted(usage.items()):
            add_ub(f"C4[{e[0]}-{e[1]},t{t}]", "C4", ent, cap[(e, t)], (e, t))
        # C5: consumption from a stored segment in slot t <= stock z_i^t
        consume: dict[tuple[int, int], list[tuple[int, float]]] = {}
        for j, p in enumerate(self.paths):
            if p.stored is not None:
                consume.setdefault((p.stored, p.slot), []).append((j, p.cost * delta))
        for (i, t), ent in sorted(consume.items()):
            add_ub(f"C5[seg{i},t{t}]", "C5", ent + [(self.z_index[(i, t)], -1.0)], 0.0, (i, t))
        # C6: z_i^t = z_i^{t-1} - consumption^{t-1} + δ s_i^{t-1}
        for seg in segs:
            i = seg.index
            for t in range(1, T):
                r = len(eq_rows)
                eq_rows.append(Row(f"C6[seg{i},t{t}]", "C6", (i, t)))
                ent = [(self.z_index[(i, t)], 1.0)]
                if t - 1 >= 1:
                    ent.append((self.z_index[(i, t - 1)], -1.0))
                ent += consume.get((i, t - 1), [])
                if (i, t - 1) in self.s_index:
                    ent.append((self.s_index[(i, t - 1)], -delta))
                eq_entries.extend((r, c, v) for c, v in ent)
        self.ub_rows, self.eq_rows = ub_rows, eq_rows
        self.A_ub = _csr(ub_entries, len(ub_rows), self.n_vars)
        self.b_ub = np.array(b_ub, float)
        self.A_eq = _csr(eq_entries, len(eq_rows), self.n_vars)
        self.c = np.zeros(self.n_vars)
        self.c[: self.n_y] = self.alpha  # objective on y only

    # --- helpers ------------------------------------------------------------------------
    def spread(self, x: np.ndarray) -> np.ndarray:
        """``x`` with every route's choice copied from its head to its other vintages
        (``x[route_of]``): a choice made over ``groups`` becomes a full x."""
        return np.asarray(x)[self.route_of]


def route_key(p: CandidatePath, segments, j: int) -> tuple:
    """What identifies the route of path ``p`` (column ``j``): a virtual path over a stored
    segment with a fill slot (a vintage) is keyed by everything but the fill slot; any other
    path by its column."""
    if p.stored is not None and segments[p.stored].fill_slot is not None:
        seg = segments[p.stored]
        return ("route", p.pair, p.slot, p.nodes, p.live_edges, seg.pair, seg.nodes)
    return ("path", j)


def _csr(entries, n_rows, n_cols):
    if not entries:
        return sp.csr_matrix((n_rows, n_cols))
    r, c, v = zip(*entries, strict=False)
    return sp.csr_matrix((np.array(v, float), (np.array(r), np.array(c))), shape=(n_rows, n_cols))


def compile_model(inst: Instance, cands: Candidates | None = None) -> CompiledModel:
    check_instance(inst)
    return CompiledModel(inst, cands)
