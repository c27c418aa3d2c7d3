r"""Benders decomposition of the PS-EGR MILP: OR-Tools master, CVXPY LP subproblem.

Split (symbols of :mod:`routing.milp`). The binaries x enter only C1 (``y <= Y ⊙ x``) and C2.

* **Subproblem** SP(x̂): the LP over (y, s, z) with C1 right-hand side ``r = Y ⊙ x̂`` and C3-C6:
  ``Q(x̂) = max α·y``. Built **once** in CVXPY with ``r`` a ``cp.Parameter`` (the problem is DPP,
  so CVXPY canonicalizes it once and only re-writes the parameter), re-solved with HiGHS for every
  x̂; HiGHS returns simplex (vertex) duals: u >= 0 on C1, π >= 0 on C3-C5 (C6 has rhs 0).
* **Optimality cut.** By LP duality, for the dual solution (u, π) at x̂ and every x,
  ``Q(x) <= Σ_j u_j Y_j x_j + π·b`` (the dual feasible set does not depend on x), so the master
  gets ``θ <= Σ_j u_j Y_j x_j + π·b``. Its constant is taken as the larger of ``π·b`` and
  ``Q(x̂) - Σ u_j Y_j x̂_j`` so that solver round-off can only weaken a cut, never make it invalid.
* **Why no feasibility cuts.** For every x that satisfies C2, SP(x) is feasible: y = s = z = 0
  satisfies C1 (r >= 0), C3 (B_m >= 0), C4 (C >= 0), C5 (0 <= 0) and C6 (0 = 0). SP is also
  bounded (y <= Y x, s bounded by C4, z by C3). So the dual is always feasible and bounded, every
  master point yields an optimality cut, and feasibility cuts never arise.
* **Master** MP: ``max Σ_b θ_b`` over binaries x with C2, the initial bound
  ``θ_b <= Σ_{j in b} α_j Y_j x_j`` (valid: y <= Y x) and all cuts; solved by OR-Tools (SCIP by
  default, CBC selectable; gap: see ``adaptive_gap`` below), status checked. For a maximization the
  master value is an **upper** bound, the subproblem value at an integer x̂ a **lower** bound
  (a feasible solution).
* **Multi-cut** (``multi_cut=True``): one θ per independent block of the subproblem. Slots are
  coupled only through storage (C5, C6); without stored segments each slot is a block and its
  cut uses that slot's duals. With storage the horizon is one block: splitting a coupled LP's
  dual objective by slot would over-cut (Σ_t min ≠ min Σ_t) and remove optimal solutions.
* **LP phase** (``lp_phase=True``, default): textbook Benders stalls here (about 12% gap on
  seed-size instances, DESIGN section 5) because C1's big-M coefficients make weak cuts. So we
  first run Benders on the master's LP relaxation (x in [0, 1], GLOP) until its bounds meet
  within ``lp_tol`` or its bound stalls over 10 iterations, keep those cuts, and round each
  fractional x̂ (the best path per (k, t)) to evaluate a feasible point (a lower bound and one
  more cut). The integer phase then starts from the LP relaxation's cut description.
* **Core-point cuts** (``core_point=True``): after each evaluated x̂ the core point x⁰ (start: the
  centre of every C2 simplex) moves halfway to x̂ and SP(x⁰) adds one more cut (Papadakos,
  Oper. Res. Lett. 36, 444 (2008)). On seed-size instances they cut the iterations several-fold
  (seed 1: 178 -> 26 with the LP phase on).
* **Integer master** is built when the integer phase starts, from the stored cuts. With
  ``prune_cuts=True`` the cuts from fractional points that are slack at the last LP-master point
  are left out (valid, but they slow SCIP down); cuts from integer points are always kept, so an
  evaluated x is never proposed again. With ``adaptive_gap=True`` the master is solved to a
  relative gap of ``min(1e-3, 0.2 * current Benders gap)`` while the gap is wide and exactly
  (1e-10) once a loose master repeats a point; the master's best bound is a valid upper bound
  at any gap, so bounds stay valid.
* **Warm start** (``warm_start``): ``"greedy"`` (per (k, t) the path with the largest α Y^max), a
  :class:`~routing.milp.Solution` (e.g. a baseline), or an x vector: evaluated first for an
  incumbent and a cut.
* **Stopping**: ``(UB - LB) / max(1, |UB|) <= tol`` (default 1e-6), or ``max_iterations``, or
  ``time_limit`` seconds, or a repeated master point (reported as ``stalled``).

Measured (2 cores, benchmarks/routing.py): on the seed-size instances Benders meets the MILP
optimum to 1e-6 in 0.3-1.5 s for most seeds, about a minute for the hardest; the monolithic MILP
needs under 0.1 s there. Benders is the reference decomposition, not the fast path.

The trace (``Solution.trace``) has one entry per iteration (master solve): iteration, phase
(warm | lp | milp), best lower bound, best upper bound (running max / min, so monotone), the
raw master value, the subproblem value, the number of cuts, and the elapsed time in seconds.
"""

from __future__ import annotations

import math
import time

import cvxpy as cp
import numpy as np
from ortools.linear_solver import pywraplp

from routing.instance import Instance
from routing.milp import Solution, SolverError
from routing.model import CompiledModel, compile_model

LP_SOLVER = "HIGHS"  # cvxpy backend for the subproblem (vertex duals)
# Master MIP backends. pywraplp's HiGHS is left out: it does not take our relative gap (it stops
# at its default 1e-4), so its "optimal" master value is not a valid upper bound at 1e-6.
MASTER_SOLVERS = ("SCIP", "CBC")


class Subproblem:
    """SP(x): the LP over (y, s, z) for a fixed x, built once with a ``cp.Parameter``."""

    def __init__(self, model: CompiledModel, solver: str = LP_SOLVER):
        self.model = model
        self.solver = solver
        m = model
        self.v = cp.Variable(m.n_vars, nonneg=True)
        self.r = cp.Parameter(m.n_y, nonneg=True)
        cons = []
        self.c1 = self.v[: m.n_y] <= self.r
        cons.append(self.c1)
        self.cub = self.ceq = None
        if m.A_ub.shape[0]:
            self.cub = m.A_ub @ self.v <= m.b_ub
            cons.append(self.cub)
        if m.A_eq.shape[0]:
            self.ceq = m.A_eq @ self.v == 0
            cons.append(self.ceq)
        self.problem = cp.Problem(cp.Maximize(m.alpha @ self.v[: m.n_y]), cons)
        assert self.problem.is_dpp()
        self.n_solves = 0

    def solve(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """Solve SP(x); return (Q(x), v, u (C1 duals), π (C3-C5 duals))."""
        m = self.model
        self.r.value = np.maximum(m.ymax * np.asarray(x, float), 0.0)
        self.problem.solve(solver=self.solver)
        self.n_solves += 1
        if self.problem.status != cp.OPTIMAL:
            raise SolverError(f"subproblem status {self.problem.status!r} (expected optimal)")
        u = np.maximum(np.asarray(self.c1.dual_value, float).reshape(-1), 0.0)
        pi = (np.maximum(np.asarray(self.cub.dual_value, float).reshape(-1), 0.0)
              if self.cub is not None else np.zeros(0))
        return float(self.problem.value), np.asarray(self.v.value, float), u, pi


def _group_argmax(model: CompiledModel, score: np.ndarray) -> np.ndarray:
    x = np.zeros(model.n_y)
    for _, _, js in model.groups:
        x[js[int(np.argmax(score[js]))]] = 1.0
    return x


def solve_benders(
    inst: Instance | CompiledModel,
    tol: float = 1e-6,
    max_iterations: int = 500,
    time_limit: float | None = None,
    master_solver: str = "SCIP",
    multi_cut: bool = False,
    lp_phase: bool = True,
    warm_start=None,
    lp_max_iterations: int = 300,
    core_point: bool = True,
    lp_tol: float = 1e-4,
    adaptive_gap: bool = True,
    prune_cuts: bool = True,
) -> Solution:
    """Solve the PS-EGR MILP by Benders decomposition (see module docstring).

    Returns a :class:`~routing.milp.Solution` whose ``objective`` is the best lower bound (the
    value of a feasible solution), ``bound`` the best upper bound, ``status`` ``optimal`` when the
    relative gap is within ``tol``, else ``feasible`` (with ``info["stop"]`` saying why), and
    ``trace`` the per-iteration record.
    """
    model = inst if isinstance(inst, CompiledModel) else compile_model(inst)
    if not (0 <= tol < 1):
        raise ValueError(f"tol = {tol!r} is invalid; accepted: a relative gap in [0, 1)")
    if not (isinstance(max_iterations, int) and max_iterations >= 1):
        raise ValueError(f"max_iterations = {max_iterations!r} is invalid; accepted: integer >= 1")
    if master_solver not in MASTER_SOLVERS:
        raise ValueError(f"master_solver = {master_solver!r} is invalid; accepted: one of "
                         f"{list(MASTER_SOLVERS)}")
    t0 = time.perf_counter()
    m = model
    if m.n_y == 0:  # no (k, t) has a path: nothing to decide (reasons in Solution.no_path)
        zeros = {key: 0.0 for key in m.s_index}
        return Solution("Benders", "optimal", 0.0, 0.0, np.zeros(0), np.zeros(0), zeros,
                        {key: 0.0 for key in m.z_index}, m, time.perf_counter() - t0,
                        {"iterations": 0, "cuts": 0, "stop": "no paths"}, [])
    sub = Subproblem(m)
    blocks = m.slot_blocks() if multi_cut else [list(range(m.T))]
    slot_of_path = np.array([p.slot for p in m.paths], int)
    slot_of_row = np.array([_row_slot(r.name) for r in m.ub_rows], int)
    block_of_slot = np.zeros(m.T, int)
    for b, slots in enumerate(blocks):
        block_of_slot[slots] = b
    path_block = block_of_slot[slot_of_path] if m.n_y else np.zeros(0, int)
    row_block = (block_of_slot[slot_of_row] if len(blocks) > 1
                 else np.zeros(len(m.ub_rows), int))

    # --- masters: LP relaxation (GLOP) and integer (master_solver), sharing every cut
    def make_master(relax: bool):
        s = pywraplp.Solver.CreateSolver("GLOP" if relax else master_solver)
        xs = [s.NumVar(0.0, 1.0, f"x{j}") if relax else s.IntVar(0.0, 1.0, f"x{j}")
              for j in range(m.n_y)]
        th = [s.NumVar(-s.infinity(), s.infinity(), f"theta{b}") for b in range(len(blocks))]
        for _, _, js in m.groups:
            ct = s.Constraint(1.0, 1.0)
            for j in js:
                ct.SetCoefficient(xs[j], 1.0)
        for b in range(len(blocks)):  # θ_b <= Σ α Y x (valid: y <= Y x)
            ct = s.Constraint(-s.infinity(), 0.0)
            ct.SetCoefficient(th[b], 1.0)
            for j in np.flatnonzero(path_block == b):
                ct.SetCoefficient(xs[j], -float(m.alpha[j] * m.ymax[j]))
        obj = s.Objective()
        for t_ in th:
            obj.SetCoefficient(t_, 1.0)
        obj.SetMaximization()
        return s, xs, th

    # the integer master is built when the integer phase starts, from the stored cuts
    masters = {"lp": make_master(True) if lp_phase else None, "milp": None}
    n_cuts = 0
    lp_cut_rows: list = []
    lp_active: list = []
    cut_store: list = []  # (kind, block, const, indices, coefficients); kind frac | int

    def add_row(key, b, const, idx, vals):
        s, xs, th = masters[key]
        ct = s.Constraint(-s.infinity(), const)
        ct.SetCoefficient(th[b], 1.0)
        for j, v in zip(idx, vals, strict=True):
            ct.SetCoefficient(xs[j], -float(v))
        return ct

    def add_cuts(x_hat, q, u, pi, kind="int"):
        nonlocal n_cuts
        uy = u * m.ymax
        for b in range(len(blocks)):
            pb = path_block == b
            rb = row_block == b
            const_dual = float(pi[rb] @ m.b_ub[rb]) if len(pi) else 0.0
            if len(blocks) == 1:
                const = max(const_dual, q - float(uy @ x_hat))
            else:
                const = const_dual
            idx = np.flatnonzero(pb & (uy != 0))
            cut_store.append((kind, b, const, idx, uy[idx]))
            for key in masters:
                if masters[key] is None:
                    continue
                ct = add_row(key, b, const, idx, uy[idx])
                if key == "lp":
                    lp_cut_rows.append(ct)
            n_cuts += 1

    def solve_master(key, gap=1e-10):
        s, xs, th = masters[key]
        params = pywraplp.MPSolverParameters()
        if key == "milp":
            params.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, gap)
        if time_limit is not None:
            left = time_limit - (time.perf_counter() - t0)
            s.SetTimeLimit(max(1, int(1000 * left)))
        code = s.Solve(params)
        if code == pywraplp.Solver.FEASIBLE and key == "milp":
            # stopped by the time limit: its best bound is still a valid upper bound
            bound = s.Objective().BestBound()
            return None, float(bound) if math.isfinite(bound) else math.inf
        if code != pywraplp.Solver.OPTIMAL:
            if key == "lp":  # GLOP gave up (time limit or numerics): end the LP phase
                return None, math.inf
            raise SolverError(f"Benders {key} master returned status {code} (expected optimal)")
        x = np.array([v.solution_value() for v in xs])
        val = s.Objective().Value()
        if key == "lp":  # which cuts bind at this LP-master point (for pruning)
            lp_active[:] = [abs(c.dual_value()) > 1e-12 for c in lp_cut_rows]
        if key == "milp":
            val = max(val, s.Objective().BestBound())  # a valid upper bound either way
        return x, float(val)

    lb, ub = -math.inf, math.inf
    best_x, best_v = None, None
    trace: list[dict] = []
    seen: set[bytes] = set()
    it = 0
    stop = "max_iterations"

    core = np.zeros(m.n_y)  # Papadakos core point: starts at the centre of the C2 simplices
    for _, _, js in m.groups:
        core[js] = 1.0 / len(js)

    def core_cut(x_new):
        """Move the core point halfway to x_new and add the cut of SP(core point)."""
        nonlocal core
        core = 0.5 * (core + x_new)
        q0, _, u0, pi0 = sub.solve(core)
        add_cuts(core, q0, u0, pi0, kind="frac")

    def evaluate(x_int):
        nonlocal lb, best_x, best_v
        q, v, u, pi = sub.solve(x_int)
        add_cuts(x_int, q, u, pi)
        if core_point:
            core_cut(x_int)
        if q > lb:
            lb, best_x, best_v = q, x_int.copy(), v
        return q

    def record(phase, master_val, q):
        trace.append({"iteration": it, "phase": phase, "lower": lb, "upper": ub,
                      "master": master_val, "subproblem": q, "cuts": n_cuts,
                      "time": time.perf_counter() - t0})

    def gap_ok():
        if not (math.isfinite(lb) and math.isfinite(ub)):
            return False
        return ub - lb <= tol * max(1.0, abs(ub))

    # --- warm start
    x0 = None
    if isinstance(warm_start, str):
        if warm_start != "greedy":
            raise ValueError(f"warm_start = {warm_start!r} is invalid; accepted: 'greedy', a "
                             "Solution, an x vector or None")
        x0 = _group_argmax(m, m.alpha * m.ymax)
    elif isinstance(warm_start, Solution):
        x0 = np.round(warm_start.x)
    elif warm_start is not None:
        x0 = np.round(np.asarray(warm_start, float))
    if x0 is not None:
        if x0.shape != (m.n_y,):
            raise ValueError(f"warm_start has shape {x0.shape}; accepted: ({m.n_y},)")
        q = evaluate(x0)
        seen.add(np.round(x0).astype(np.int8).tobytes())
        record("warm", math.nan, q)

    def out_of_time():
        return time_limit is not None and time.perf_counter() - t0 > time_limit

    # --- LP phase
    lp_aborted = False
    n_pruned = 0
    lp_hist: list[float] = []
    if lp_phase:
        for _ in range(lp_max_iterations):
            if out_of_time():
                break
            it += 1
            x_frac, mval = solve_master("lp")
            if x_frac is None:
                lp_aborted = True
                break
            ub = min(ub, mval)
            q_frac, _, u, pi = sub.solve(x_frac)
            add_cuts(x_frac, q_frac, u, pi, kind="frac")
            x_int = _group_argmax(m, x_frac + 1e-9 * m.alpha * m.ymax)
            key = x_int.astype(np.int8).tobytes()
            q = math.nan
            if key not in seen:
                seen.add(key)
                q = evaluate(x_int)
            record("lp", mval, q)
            lp_hist.append(mval)
            tailing = (len(lp_hist) > 10
                       and lp_hist[-11] - mval <= lp_tol * max(1.0, abs(mval)))
            if (gap_ok() or mval - q_frac <= lp_tol * max(1.0, abs(mval)) or tailing
                    or out_of_time()):
                break
    # --- integer phase: build the integer master from the stored cuts. With ``prune_cuts``
    # the cuts from fractional points that are slack at the final LP-master point are left
    # out (they are valid but not needed; they slow the master down); cuts from integer points
    # are always kept, so an evaluated x is never proposed again.
    masters["milp"] = make_master(False)
    prune = lp_phase and prune_cuts and not lp_aborted and bool(lp_active)
    for i, (kind, b, const, idx, vals) in enumerate(cut_store):
        if prune and kind == "frac" and i < len(lp_active) and not lp_active[i]:
            n_pruned += 1
            continue
        add_row("milp", b, const, idx, vals)
    exact_master = not adaptive_gap
    while it < max_iterations + (lp_max_iterations if lp_phase else 0):
        if gap_ok():
            stop = "converged"
            break
        if out_of_time():
            stop = "time_limit"
            break
        it += 1
        # adaptive master gap: loose while the Benders gap is wide, exact at the end (the
        # master's best bound is a valid upper bound at any gap)
        cur = (ub - lb) / max(1.0, abs(ub)) if math.isfinite(ub) and math.isfinite(lb) else 1.0
        mgap = 1e-10 if exact_master else max(1e-10, min(1e-3, 0.2 * cur))
        x_hat, mval = solve_master("milp", mgap)
        if x_hat is None:  # master stopped at the time limit
            ub = min(ub, mval)
            record("milp", mval, math.nan)
            stop = "time_limit"
            break
        ub = min(ub, mval)
        x_int = np.round(x_hat)
        key = x_int.astype(np.int8).tobytes()
        if key in seen:
            record("milp", mval, math.nan)
            if gap_ok():
                stop = "converged"
                break
            if mgap > 1e-10:  # a loose master repeated itself: solve it exactly from now on
                exact_master = True
                continue
            stop = "stalled"
            break
        seen.add(key)
        q = evaluate(x_int)
        record("milp", mval, q)
    if best_x is None:  # stopped before any integer point was evaluated: take the greedy one
        evaluate(_group_argmax(m, m.alpha * m.ymax))
    if gap_ok():
        stop = "converged"
    status = "optimal" if gap_ok() else "feasible"
    y = best_v[: m.n_y]
    s = {key: float(best_v[c]) for key, c in m.s_index.items()}
    z = {key: float(best_v[c]) for key, c in m.z_index.items()}
    info = {"iterations": it, "cuts": n_cuts, "stop": stop, "subproblem_solves": sub.n_solves,
            "blocks": len(blocks), "master_solver": master_solver, "lp_aborted": lp_aborted,
            "pruned_cuts": n_pruned}
    return Solution("Benders", status, float(lb), float(ub), best_x, y, s, z, m,
                    time.perf_counter() - t0, info, trace)


def _row_slot(name: str) -> int:
    """Slot of a C3/C4/C5 row from its name (``...,t{slot}]``)."""
    return int(name.rsplit(",t", 1)[1].rstrip("]"))
