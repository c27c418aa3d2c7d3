r"""The PS-EGR MILP (paper 004, eq. (1) and C1-C6), solved monolithically with OR-Tools.

Symbols (seed's names; code names in brackets)
----------------------------------------------
K user pairs k; slots t in T with duration δ [slot_duration]; storage nodes m in M with capacity
B_m [Node.storage]; storage pairs n = (m1, m2) in N; P_k^H / P_k^U real / virtual paths of pair
k (per slot, :mod:`routing.paths`); P_n^H storage paths of n, each a stored segment p_m; f(p) the
full path of a virtual path; F_p its Werner fidelity; g(F_p, F_k^th) the purification cost;
C_{w,q}^t the budget of link (w, q) in slot t (pairs per slot); α_k^t weights.

Variables: x_{k,p}^t in {0,1} [x], y_{k,p}^t >= 0 [y] (purified pairs/s), y_{n,p_m}^t >= 0 [s]
(raw pairs/s generated for storage), z_{n,p_m}^t >= 0 [z] (stock at the start of slot t).

    max  Σ_t Σ_k Σ_{p in P_k^H(t) ∪ P_k^U(t)} α_k^t y_{k,p}^t                            (1)
    C1:  y_{k,p}^t <= x_{k,p}^t Y_{k,p}^{t,max}                              ∀ k, p, t
    C2:  Σ_p x_{k,p}^t = 1                                    ∀ (k, t) with at least one path
    C3:  Σ_{n ∋ m} Σ_{p_m in P_n^H} z_{n,p_m}^t <= B_m                                 ∀ m, t
    C4:  Σ_{k, p ∋ (w,q) live in t} g(F_p, F_k^th) δ y_{k,p}^t
           + Σ_{n, p_m ∋ (w,q)} δ y_{n,p_m}^t <= C_{w,q}^t                       ∀ (w,q), t
    C5:  Σ_{k, p in P_k^U(t): p_m ⊂ f(p)} g(F_p, F_k^th) δ y_{k,p}^t <= z_{n,p_m}^t  ∀ n, p_m, t
    C6:  z_{n,p_m}^t + Σ_{k, p in P_k^U(t-1): p_m ⊂ f(p)} g δ y_{k,p}^{t-1}
           = z_{n,p_m}^{t-1} + δ y_{n,p_m}^{t-1}                              ∀ n, p_m, t >= 2
         z_{n,p_m}^1 = 0

Readings of the seed (DESIGN section 5) — where the printed model cannot be used as is:

* **C2 only for (k, t) that have a path.** As printed, C2 makes the problem infeasible whenever a
  pair has no path in a slot (satellites out of view). Such cells are reported in
  ``Solution.no_path`` with their reason and contribute nothing.
* **C6 gains the fill term + δ y_{n,p_m}^{t-1}** that the prose describes ("... equal the sum of the
  pairs in storage during the previous slot and the EPR pairs generated in the previous
  interval"); as printed, the stock can only shrink. The stock starts empty (z^1 = 0).
* **C4 carries δ**: link budgets C are pairs per slot (as in the QON code the seed builds on),
  rates y are pairs per second, so storage generation competes with serving for the same link
  budget and Fig. 5's storage effect can appear. Storage nodes do not purify (seed, Sec. III), so
  stored pairs are raw: their generation enters C4 with g = 1.
* **C5 / C6 sum over user pairs only**: storage pairs fill over real paths only (P_n^U = ∅), so
  the seed's k in {N - n} terms are empty.
* **Y^max is the tightest big-M**: the bottleneck ``min_e C_e^t / (g δ)`` over the path's live
  links, and also ``min(B_m1, B_m2) / (g δ)`` on virtual paths (C3 bounds z, C5 bounds the draw).
* A virtual path's stored segment uses capacity when it is generated (in an earlier slot), its
  prefix and suffix use slot-t capacity; only the user ends purify (seed, Sec. III).
* **Memory lifetimes** (an extension; the seed's memories do not decay): pairs stored in
  different slots have different fidelities, so a virtual path has one y column per fill slot
  (vintage), each drawing from its own stock at its own cost g. The binary x is the *path's*:
  its vintages share it (rows ``x_j = x_h``, :mod:`routing.model`), and C2 counts the path
  once. So a cell can draw every vintage of the path it chooses, and as the lifetimes grow the
  optimum tends to the one without decay.

Solvers: OR-Tools ``pywraplp`` with SCIP (default), HiGHS or CBC; the status is checked after
every solve and a non-optimal result is labelled (``feasible`` with its gap, or an error).
pywraplp's HiGHS backend does not take the ``gap`` argument (it stops at HiGHS's default relative
gap of 1e-4) and reports no bound at a time limit; use SCIP or CBC where a tighter gap or a
bound is needed.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver import pywraplp

from routing._checks import check_instance, is_count
from routing.instance import Instance
from routing.model import CompiledModel, compile_model
from routing.paths import edge_key

SOLVERS = ("SCIP", "HIGHS", "CBC")
LICENSED = ("GUROBI", "CPLEX")  # through OR-Tools, where a licence is installed
#: Backends that get no MIP hint: pywraplp's HiGHS (OR-Tools 9.15, HiGHS 1.12) segfaults in
#: ``Solve`` after ``SetHint`` (a 2-variable MIP reproduces it without routing).
NO_HINT = ("HIGHS",)
#: Least time (s) the LP-relaxation bound (GLOP) of a time-limited `solve_milp` gets when the
#: MIP left no usable bound; it gets the MILP's own ``time_limit`` when that is longer. The LP
#: is cheap next to the MIP (the 300-station network of conf/network/large.yaml, 27785
#: binaries: about 4 s to build and solve on a shared 2-core machine) and is the only evidence
#: of how good the incumbent is, so it must not inherit a fraction of a short limit (it had
#: 10 %: 0.5 s for a 5 s limit, and the bound was lost, inf).
LP_BOUND_MIN_TIME_S = 10.0
_STATUS = {
    pywraplp.Solver.OPTIMAL: "optimal",
    pywraplp.Solver.FEASIBLE: "feasible",
    pywraplp.Solver.INFEASIBLE: "infeasible",
    pywraplp.Solver.UNBOUNDED: "unbounded",
    pywraplp.Solver.ABNORMAL: "abnormal",
    pywraplp.Solver.NOT_SOLVED: "not_solved",
}


def check_time_limit(value, name: str = "time_limit") -> float | None:
    """``value`` as a time limit in seconds: None (or inf) for none, else a number > 0;
    anything else (0, negative, nan, a string, a bool) raises ``ValueError`` naming ``name``."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)) or not value > 0:
        raise ValueError(f"{name} = {value!r} is invalid; accepted: seconds > 0 (None or inf: "
                         "no limit)")
    return None if math.isinf(value) else float(value)


#: Least share of ``time_limit`` the MILP on a priced path set gets after the pricing, which
#: runs under the same limit (`compile_within`).
PRICED_MIN_SHARE = 0.1


def compile_within(inst, time_limit: float | None):
    """``(model, time left)``: the compiled model of ``inst`` (as is when already compiled)
    and the seconds of ``time_limit`` left for solving it. A priced path set is priced under
    ``time_limit`` (column generation and its closure MILPs took 131-136 s under a 5-10 s
    limit before), and the solve gets what is left, at least ``PRICED_MIN_SHARE`` of it."""
    check_instance(inst, compiled=True)
    if isinstance(inst, CompiledModel):
        return inst, time_limit
    if time_limit is None or inst.options.path_set != "priced":
        return compile_model(inst), time_limit
    from routing.paths import build_candidates

    t0 = time.perf_counter()
    model = compile_model(inst, build_candidates(inst, time_limit=time_limit))
    spent = time.perf_counter() - t0
    return model, max(time_limit - spent, PRICED_MIN_SHARE * time_limit)


def check_flag(value, name: str) -> bool:
    """``value`` as a bool; anything but a bool raises ``ValueError`` naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} = {value!r} is invalid; accepted: True or False")
    return bool(value)


class SolverError(RuntimeError):
    """A solver returned no usable solution."""


@dataclass
class Solution:
    """A solution of the PS-EGR model (any method).

    ``objective`` is eq. (1) in pairs/s; ``x``/``y`` align with ``model.paths``; ``s`` and ``z``
    map (segment, slot) to the storage generation rate and stock; ``chosen`` lists the selected
    path per (k, t) (one entry per vintage of a chosen route, with its ``fill_slot``; None for
    other paths); ``no_path`` the cells without a usable path and why; ``bound`` the best
    proven upper bound (equal to the objective when ``status == "optimal"``).
    """

    method: str
    status: str
    objective: float
    bound: float
    x: np.ndarray
    y: np.ndarray
    s: dict
    z: dict
    model: CompiledModel = field(repr=False)
    wall_time: float = 0.0
    info: dict = field(default_factory=dict)
    trace: list = field(default_factory=list)
    path_set: str = "capped"  # complete | priced | capped (routing.paths)
    path_bound: float = math.nan  # proven upper bound over ALL paths (nan: not computed)
    #: the instance the method was asked to solve, where its model is of another one (NSS:
    #: the same network with every B_m = 0); None: ``model.inst``. `with_path_bound` bounds it.
    instance: Instance | None = field(default=None, repr=False)

    @property
    def incumbent(self) -> float:
        """The objective of the returned feasible solution (same as ``objective``)."""
        return self.objective

    @property
    def gap(self) -> float:
        """Relative gap between ``bound`` and the incumbent, over the model's path set."""
        if not math.isfinite(self.bound):
            return math.inf
        return abs(self.bound - self.objective) / max(1.0, abs(self.bound))

    @property
    def path_gap(self) -> float:
        """Relative gap to ``path_bound``, the bound over all paths (nan: not computed)."""
        if math.isnan(self.path_bound):
            return math.nan
        if not math.isfinite(self.path_bound):
            return math.inf
        return max(0.0, self.path_bound - self.objective) / max(1.0, abs(self.path_bound))

    @property
    def no_path(self) -> list[dict]:
        return list(self.model.cands.no_path)

    @property
    def chosen(self) -> list[dict]:
        out = []
        segs = self.model.cands.segments
        for j in np.flatnonzero(self.x > 0.5):
            p = self.model.paths[j]
            out.append({"pair": p.pair, "slot": p.slot, "kind": p.kind, "nodes": list(p.nodes),
                        "rate": float(self.y[j]), "fidelity": p.fidelity, "cost": p.cost,
                        "fill_slot": None if p.stored is None else segs[p.stored].fill_slot})
        return out


def with_path_bound(sol: Solution, time_limit: float | None = None) -> Solution:
    """``sol`` with ``path_bound`` set to a proven upper bound over ALL paths when its path
    set carries none (a capped set; DESIGN section 9: "capped with the gap to the uncapped LP
    bound"), so ``path_gap`` says how much the path caps may leave on the table: the LP
    relaxation over every path, by column generation (`routing.pricing.all_paths_lp_bound`;
    0.05-0.6 s on the seed-size and example instances; on seed 3, 3 s at K = 6 user pairs and
    13-16 s for its fig6 cell at K = 6, with 32 real paths and B_m = 20000). A bound already
    there (priced) is kept. ``time_limit`` (s) caps the pricing (then the best Lagrangian
    bound, or inf). ``info["path_bound"]`` records how it was found (``status``: ``LP optimum``,
    ``Lagrangian bound`` when pricing stopped early, ``no bound (time limit)``; ``rounds``;
    ``seconds``); with finite memory lifetimes (not priced) it is the bound without decay,
    which is valid and looser (status ``... without memory decay``).
    The bound is the instance's, whatever method produced ``sol`` (a baseline's gap to it is
    how far the baseline is from the best routing over any path; for NSS, whose model is the
    network without storage, ``sol.instance``, the instance it was asked to solve, not the
    model's: NSS on fig5's seed 0 at B = 5000 was measured against 396.57, the no-storage
    bound, instead of 412.47). Modifies and returns ``sol``."""
    from routing.pricing import all_paths_lp_bound

    time_limit = check_time_limit(time_limit)
    inst = sol.instance if sol.instance is not None else sol.model.inst
    if not math.isnan(sol.path_bound) and inst is sol.model.inst:
        return sol
    t0 = time.perf_counter()
    try:
        bound, info = all_paths_lp_bound(inst, time_limit)
    except ValueError as err:
        sol.info["path_bound"] = {"status": f"not available: {err}",
                                  "seconds": time.perf_counter() - t0}
        return sol
    sol.path_bound = bound
    status = ("LP optimum" if info["converged"] else "Lagrangian bound"
              if math.isfinite(bound) else "no bound (time limit)" if info["time_limit_hit"]
              else "no bound")
    if info.get("without_decay") and math.isfinite(bound):
        status += " without memory decay"  # a valid, looser bound (all_paths_lp_bound)
    sol.info["path_bound"] = {"status": status, "rounds": info["rounds"],
                              "seconds": time.perf_counter() - t0}
    return sol


def build_solver(model: CompiledModel, solver: str = "SCIP", allowed: np.ndarray | None = None,
                 fixed_x: np.ndarray | None = None, relax: bool = False, discard: bool = False,
                 rows: list | None = None):
    """Build the pywraplp MILP of ``model``; return (solver, x vars, continuous vars).

    ``allowed`` (bool per path) forbids paths (x fixed to 0; a forbidden vintage forbids its
    route, whose vintages share x); ``fixed_x`` fixes every x;
    ``relax`` makes x continuous in [0, 1] (the LP relaxation). ``discard`` writes C6 as
    ``z^t <= z^{t-1} - draw^{t-1} + δ s^{t-1}`` (stored pairs may be thrown away): the optimum
    is unchanged (proof: :mod:`routing.pricing`, "Discard") and the draw prices become >= 0.
    ``rows``, a list, receives the C2-C6 constraints in model order (C2 groups, ub_rows,
    eq_rows): cheaper than ``solver.constraints()`` for reading duals.
    """
    keep = rows.append if rows is not None else (lambda ct: None)
    if solver not in SOLVERS + LICENSED + ("GLOP",):
        raise ValueError(f"solver = {solver!r} is invalid; accepted: one of {list(SOLVERS)}")
    lp = new_solver(solver)
    if lp is None:  # pragma: no cover - depends on the OR-Tools build
        raise SolverError(f"OR-Tools has no {solver} backend in this build")
    inf = lp.infinity()
    xs = []
    for j, p in enumerate(model.paths):
        lo, hi = 0.0, 1.0
        if allowed is not None and not allowed[j]:
            hi = 0.0
        if fixed_x is not None:
            lo = hi = float(round(fixed_x[j]))
        name = f"x[k{p.pair},t{p.slot},j{j}]"
        xs.append(lp.NumVar(lo, hi, name) if relax else lp.IntVar(lo, hi, name))
    names = [f"y[k{p.pair},t{p.slot},j{j}]" for j, p in enumerate(model.paths)]
    names += [""] * (model.n_vars - model.n_y)
    for (i, t), col in model.s_index.items():
        names[col] = f"s[seg{i},t{t}]"
    for (i, t), col in model.z_index.items():
        names[col] = f"z[seg{i},t{t}]"
    vs = [lp.NumVar(0.0, inf, names[c]) for c in range(model.n_vars)]
    # C1
    for j, ym in enumerate(model.ymax.tolist()):
        ct = lp.Constraint(-inf, 0.0, f"C1[j{j}]")
        ct.SetCoefficient(vs[j], 1.0)
        ct.SetCoefficient(xs[j], -ym)
    # the vintages of a route share its path choice (routing.model: routes and vintages)
    for j, h in model.ties:
        ct = lp.Constraint(0.0, 0.0, f"R[j{j}]")
        ct.SetCoefficient(xs[j], 1.0)
        ct.SetCoefficient(xs[h], -1.0)
    # C2 (over route heads)
    for k, t, js in model.groups:
        ct = lp.Constraint(1.0, 1.0, f"C2[k{k},t{t}]")
        keep(ct)
        for j in js:
            ct.SetCoefficient(xs[j], 1.0)
    # C3-C5 (CSR rows read as Python lists once: per-entry numpy access dominated the build)
    ptr, idx, val = (model.A_ub.indptr.tolist(), model.A_ub.indices.tolist(),
                     model.A_ub.data.tolist())
    for r, (row, rhs) in enumerate(zip(model.ub_rows, model.b_ub.tolist(), strict=True)):
        ct = lp.Constraint(-inf, rhs, row.name)
        keep(ct)
        for i in range(ptr[r], ptr[r + 1]):
            ct.SetCoefficient(vs[idx[i]], val[i])
    # C6
    ptr, idx, val = (model.A_eq.indptr.tolist(), model.A_eq.indices.tolist(),
                     model.A_eq.data.tolist())
    for r, row in enumerate(model.eq_rows):
        ct = lp.Constraint(-inf if discard else 0.0, 0.0, row.name)
        keep(ct)
        for i in range(ptr[r], ptr[r + 1]):
            ct.SetCoefficient(vs[idx[i]], val[i])
    obj = lp.Objective()
    for j, a in enumerate(model.alpha.tolist()):
        obj.SetCoefficient(vs[j], a)
    obj.SetMaximization()
    return lp, xs, vs


def greedy_x(model: CompiledModel, allowed: np.ndarray | None = None) -> np.ndarray:
    """The greedy path choice: per (k, t) the allowed route with the largest α Y^max (a
    route of several vintages scores its best vintage)."""
    score = model.alpha * model.ymax
    if allowed is not None:  # a route with a forbidden vintage is forbidden (they share x)
        ok = np.ones(model.n_y, bool)
        np.logical_and.at(ok, model.route_of, np.asarray(allowed, bool))
        score = np.where(ok[model.route_of], score, -np.inf)
    return choose_per_group(model, score)


def choose_per_group(model: CompiledModel, score: np.ndarray) -> np.ndarray:
    """The x that takes, in every C2 group, the route whose best column scores highest."""
    best = np.full(model.n_y, -np.inf)
    np.maximum.at(best, model.route_of, score)
    x = np.zeros(model.n_y)
    for _, _, js in model.groups:
        x[js[int(np.argmax(best[js]))]] = 1.0
    return model.spread(x)


def new_solver(name: str):
    """``pywraplp.Solver.CreateSolver(name)`` (None when the build lacks it); SCIP is told
    not to catch Ctrl-C, which is Python's (`solve_interruptibly`), not SCIP's to swallow."""
    lp = pywraplp.Solver.CreateSolver(name)
    if lp is not None and name == "SCIP":
        lp.SetSolverSpecificParametersAsString("misc/catchctrlc = FALSE\n")
    return lp


def solve_interruptibly(lp, params=None) -> int:
    """``lp.Solve(params)`` that Ctrl-C stops: the solve runs in a thread (pywraplp releases
    the GIL) while the main thread waits, so a SIGINT raises ``KeyboardInterrupt`` here at
    once; the solver is stopped (``InterruptSolve``) and the interrupt propagates, so no caller
    mistakes a cut-off solve for a finished one. SCIP's own Ctrl-C handler used to catch the
    signal and return its incumbent as an ordinary ``feasible`` result: an experiment then
    stored the cell as done and never recomputed it. Off the main thread (where no signal is
    delivered) the solve runs directly. Returns the pywraplp status code."""
    if threading.current_thread() is not threading.main_thread():
        return lp.Solve() if params is None else lp.Solve(params)
    out: dict = {}

    def run():
        try:
            out["code"] = lp.Solve() if params is None else lp.Solve(params)
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
            out["error"] = err

    worker = threading.Thread(target=run, name="routing-solve", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        lp.InterruptSolve()
        worker.join(10.0)
        raise
    if "error" in out:
        raise out["error"]
    return out["code"]


#: GLOP parameters tried, in order, when a GLOP solve ends ABNORMAL. GLOP's default scaling
#: can fail on these models: a path whose fidelity is just above 1/2 purifies at a cost g of up
#: to 1e14 pairs per pair (30 rounds), so C4's coefficients span 14 decades. Measured on
#: ``+network=large`` (27785 paths): the LP at the greedy path choice ended ABNORMAL in 1.3 s
#: with the default parameters (also with dual simplex, a triangular initial basis, or the
#: C1 rows written as bounds on y) and was optimal without scaling (1.5 s) or without presolve
#: (24 s), both 178057.31. That LP is the hint and the fallback incumbent of `solve_milp`:
#: without it a time-limited solve there returned objective 0.
GLOP_RETRIES = ("use_scaling: false", "use_preprocessing: false")


def glop_solve(lp, time_limit: float | None = None) -> int:
    """Solve the pywraplp GLOP model ``lp``; when it ends ABNORMAL, solve it again with each
    parameter set of `GLOP_RETRIES` in turn (within ``time_limit`` seconds in all, if given).
    Returns the last pywraplp status code."""
    t0 = time.perf_counter()
    for params in (None, *GLOP_RETRIES):
        if params is not None:
            lp.SetSolverSpecificParametersAsString(params)
        if time_limit is not None:
            left = time_limit - (time.perf_counter() - t0)
            if left <= 0 and params is not None:
                break
            lp.SetTimeLimit(max(1, int(1000 * left)))
        code = lp.Solve()
        if code != pywraplp.Solver.ABNORMAL:
            break
    return code


def _lp_solve(model: CompiledModel, fixed_x=None, relax=True, time_limit=None):
    """The LP at fixed x (a feasible point) or the LP relaxation (a bound) by GLOP
    (`glop_solve`: retried with other parameters when it ends ABNORMAL).

    Returns (objective, x, v) or None when GLOP gives no optimal answer.
    """
    try:
        lp, xs, vs = build_solver(model, "GLOP", fixed_x=fixed_x, relax=True)
        if glop_solve(lp, time_limit) != pywraplp.Solver.OPTIMAL:
            return None
        x = np.array([v.solution_value() for v in xs])
        vals = np.array([v.solution_value() for v in vs])
        return float(lp.Objective().Value()), x, vals
    except Exception:  # noqa: BLE001 - a failed fallback is reported, never raised
        return None


def check_allowed(model: CompiledModel, allowed) -> np.ndarray:
    """``allowed`` as a bool vector over ``model``'s paths, widened to whole routes (a route
    with a forbidden vintage is forbidden: its vintages share x); raises ``ValueError`` when it
    is not one or when it forbids every route of some (pair, slot) (C2 needs one)."""
    raw = np.asarray(allowed)
    if raw.shape != (model.n_y,) or not (raw.dtype == bool or np.all(np.isin(raw, (0, 1)))):
        raise ValueError(f"allowed has shape {raw.shape} and dtype {raw.dtype}; accepted: a "
                         f"bool vector of length {model.n_y} (one entry per candidate path)")
    ok = np.ones(model.n_y, bool)
    np.logical_and.at(ok, model.route_of, raw.astype(bool))
    ok = ok[model.route_of]
    for k, t, js in model.groups:
        if not ok[js].any():
            raise ValueError(f"allowed forbids every path of pair {k} in slot {t}; accepted: "
                             "at least one allowed route per (pair, slot) with a candidate "
                             "path (C2 chooses one)")
    return ok


def _as_hint(model: CompiledModel, hint, allowed: np.ndarray | None = None) -> np.ndarray | None:
    if hint is None:
        return None
    if isinstance(hint, str):
        if hint == "greedy":
            x = greedy_x(model, allowed)
            keys = model.cands.info.get("incumbent_keys") if model.cands.info else None
            if keys and allowed is None:  # a priced set: start from the closure's path choice
                from routing.pricing import path_key

                want = set(keys)
                for _, _, js in model.groups:
                    hit = [j for j in js if path_key(model, j) in want]
                    if hit:
                        x[js] = 0.0
                        x[hit[0]] = 1.0
            return model.spread(x)
        if hint == "zero":  # y = 0 on the first (allowed) route of every cell: feasible
            x = np.zeros(model.n_y)
            for _, _, js in model.groups:
                x[js[0] if allowed is None else js[int(np.argmax(allowed[js]))]] = 1.0
            return model.spread(x)
        raise ValueError(f"hint = {hint!r} is invalid; accepted: 'greedy', 'zero', a Solution, "
                         "an x vector or None")
    x = check_choice(model, hint.x if isinstance(hint, Solution) else hint, "hint")
    if allowed is not None and np.any(x[~allowed] > 0.5):
        # the hint is also the incumbent returned when the MIP finds nothing better
        raise ValueError("hint chooses a path that allowed forbids; accepted: a hint within "
                         "allowed, 'greedy', 'zero' or None")
    return x


def check_choice(model: CompiledModel, x, name: str = "x") -> np.ndarray:
    """``x`` as a 0/1 path choice of ``model`` (one route per (pair, slot) with a path, the
    vintages of a route chosen together); anything else raises ``ValueError`` naming
    ``name``."""
    try:
        raw = np.asarray(x, float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} = {x!r} is invalid; accepted: a 0/1 vector of length "
                         f"{model.n_y}") from err
    if raw.shape != (model.n_y,):
        raise ValueError(f"{name} has shape {raw.shape}; accepted: ({model.n_y},)")
    out = np.round(raw)
    if not np.all(np.isin(out, (0.0, 1.0))) or np.max(np.abs(raw - out), initial=0.0) > 1e-6:
        raise ValueError(f"{name} has values {sorted(set(raw.tolist()))[:5]}; accepted: a 0/1 "
                         "path choice")
    for k, t, js in model.groups:
        if out[js].sum() != 1:
            raise ValueError(f"{name} chooses {out[js].sum():g} paths for pair {k} in slot {t}; "
                             "accepted: exactly one path per (pair, slot) that has a path (C2)")
    split = [j for j, h in model.ties if out[j] != out[h]]
    if split:
        p = model.paths[split[0]]
        raise ValueError(f"{name} chooses some vintages of a route and not others (pair "
                         f"{p.pair}, slot {p.slot}, columns {split[:5]}); accepted: a route's "
                         "vintages all 0 or all 1 (model.spread)")
    return out


def _zero_solution(model: CompiledModel, x: np.ndarray):
    """y = s = z = 0 at the path choice x: feasible for every x with C2 (objective 0)."""
    return 0.0, x.copy(), np.zeros(model.n_vars)


def solve_milp(
    inst: Instance | CompiledModel,
    solver: str = "SCIP",
    time_limit: float | None = None,
    gap: float = 1e-9,
    allowed: np.ndarray | None = None,
    fixed_x: np.ndarray | None = None,
    method: str = "PS-EGR",
    verbose: bool = False,
    threads: int | None = None,
    hint="greedy",
    fallback: tuple | None = None,
    path_bound: bool = False,
) -> Solution:
    """Solve the MILP (module docstring) to optimality or until ``time_limit`` seconds.

    Never raises on solver trouble. ``gap`` is the relative MIP gap at which the solver stops.
    ``threads`` sets the MIP threads (OR-Tools ``SetNumThreads``). ``hint`` (``"greedy"``: the
    greedy choice, or on a priced path set the closure's best path choice,
    ``"zero"``, a :class:`Solution`, an x vector, or None): with a time limit, the LP at that
    path choice is solved first (GLOP) and passed to the MIP as a hint; it is also the incumbent
    returned when the MIP finds nothing better. ``fallback`` lists the backends tried, in order,
    when ``solver`` fails (status abnormal, not solved before the limit, or an exception) and
    ``time_limit`` has time left; default: the other two of SCIP, HiGHS, CBC.

    The result's ``status`` is ``optimal`` (gap within ``gap``) or ``feasible`` (an incumbent
    with ``bound``/``gap``; ``bound`` is the best of the MIP's bound and, when that is missing or
    more than 1 % above the incumbent, the LP relaxation's (GLOP, which may run past
    ``time_limit`` by up to ``max(time_limit, LP_BOUND_MIN_TIME_S)``; it usually takes a
    fraction of that); inf when neither is available). ``trace`` lists every attempt (solver,
    status, objective, bound, seconds). ``path_bound=True``: also the proven bound over ALL
    paths where the path set carries none (`with_path_bound`, under the same ``time_limit``;
    capped sets), so ``path_gap`` is known. ``allowed`` (bool per candidate path) solves the
    MILP over the allowed paths only (a route with a forbidden vintage is forbidden as a whole;
    every (pair, slot) must keep one route); ``fixed_x`` fixes the path choice (the LP at that
    choice). Bad arguments raise ``ValueError``, including a ``hint`` or ``fixed_x`` that uses
    a forbidden path.
    """
    time_limit = check_time_limit(time_limit)
    path_bound = check_flag(path_bound, "path_bound")
    if isinstance(fallback, str):
        raise ValueError(f"fallback = {fallback!r} is invalid; accepted: a list of solver names "
                         f"from {list(SOLVERS + LICENSED)}, e.g. [{fallback!r}], or None")
    model, time_limit = compile_within(inst, time_limit)
    if not (0 <= gap < 1):
        raise ValueError(f"gap = {gap!r} is invalid; accepted: a relative gap in [0, 1)")
    if threads is not None and not (is_count(threads) and threads >= 1):
        raise ValueError(f"threads = {threads!r} is invalid; accepted: integer >= 1 or None")
    _check_solver(solver)
    chain = [solver] + [s for s in (fallback if fallback is not None else SOLVERS) if s != solver]
    for s in chain:
        _check_solver(s)
    t0 = time.perf_counter()
    trace: list[dict] = []

    def left():
        return None if time_limit is None else time_limit - (time.perf_counter() - t0)

    # the incumbent to beat: the LP at the hint's path choice (only worth it with a limit)
    best = None  # (objective, x, vals, source)
    if fixed_x is not None:
        fixed_x = check_choice(model, fixed_x, "fixed_x")
    if allowed is not None:
        allowed = check_allowed(model, allowed)
        if fixed_x is not None and np.any(fixed_x[~allowed] > 0.5):
            j = int(np.flatnonzero((fixed_x > 0.5) & ~allowed)[0])
            raise ValueError(f"fixed_x chooses path {j} (pair {model.paths[j].pair}, slot "
                             f"{model.paths[j].slot}), which allowed forbids; accepted: a "
                             "fixed_x within allowed")
    x_hint = _as_hint(model, hint, allowed) if fixed_x is None else None
    if x_hint is not None and time_limit is not None and model.n_y:
        res = _lp_solve(model, fixed_x=x_hint, time_limit=left())
        if res is not None:
            best = (*res, "hint")
            trace.append({"solver": "GLOP", "what": "hint", "status": "optimal",
                          "objective": res[0], "bound": math.nan,
                          "time": time.perf_counter() - t0})
    bound = math.inf
    status = "feasible"
    used = None
    for name in chain:
        if time_limit is not None and left() <= 0:
            break  # the next backend would get no time (building alone took 15 s per backend
            # on +network=large); with no point yet, the greedy LP below is the incumbent
        t1 = time.perf_counter()
        try:
            lp, xs, vs = build_solver(model, name, allowed, fixed_x)
            if verbose:
                lp.EnableOutput()
            if threads is not None:
                lp.SetNumThreads(threads)
            if time_limit is not None:
                lp.SetTimeLimit(max(1, int(1000 * max(left(), 0.0))))
            if best is not None and best[3] == "hint" and name not in NO_HINT:
                lp.SetHint(xs + vs, [float(v) for v in best[1]] + [float(v) for v in best[2]])
            params = pywraplp.MPSolverParameters()
            params.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, gap)
            code = solve_interruptibly(lp, params)
            st = _STATUS.get(code, str(code))
        except Exception as err:  # noqa: BLE001 - reported in the trace, next backend tried
            trace.append({"solver": name, "what": "mip", "status": f"error: {err}",
                          "objective": math.nan, "bound": math.nan,
                          "time": time.perf_counter() - t1})
            continue
        entry = {"solver": name, "what": "mip", "status": st, "objective": math.nan,
                 "bound": math.nan, "time": time.perf_counter() - t1}
        trace.append(entry)
        if st not in ("optimal", "feasible"):
            continue
        x = np.array([v.solution_value() for v in xs])
        vals = np.array([v.solution_value() for v in vs])
        obj = float(lp.Objective().Value())
        b = float(lp.Objective().BestBound()) if model.n_y else obj
        if st == "optimal" and (not math.isfinite(b) or b < obj):
            b = obj
        if st == "feasible" and (not math.isfinite(b) or b < obj - 1e-9 * max(1.0, abs(obj))
                                 or (name == "HIGHS" and b <= obj)):
            b = math.inf  # the backend reported no bound (pywraplp HiGHS at a time limit)
        entry.update(objective=obj, bound=b)
        bound = min(bound, b)
        if best is None or obj > best[0]:
            best = (obj, x, vals, name)
        used = name
        if st == "optimal":
            status = "optimal"
            break
        if math.isfinite(b):
            break  # a feasible point with a proven bound: the time was spent, report it
    if best is None:  # no backend and no hint gave a point: y = 0 is feasible for every x
        x0 = _as_hint(model, "greedy") if fixed_x is None else np.round(fixed_x)
        if allowed is not None and fixed_x is None:
            x0 = greedy_x(model, allowed)
        res = _lp_solve(model, fixed_x=x0)
        best = (*res, "fallback LP") if res is not None else (*_zero_solution(model, x0), "zero")
        trace.append({"solver": "GLOP", "what": best[3], "status": "feasible",
                      "objective": best[0], "bound": math.nan,
                      "time": time.perf_counter() - t0})
    obj, x, vals, source = best
    weak = not math.isfinite(bound) or bound - obj > 1e-2 * max(1.0, abs(bound))
    if status != "optimal" and weak and fixed_x is None and allowed is None:
        rel = _lp_solve(model, relax=True, time_limit=None if time_limit is None else
                        max(time_limit, LP_BOUND_MIN_TIME_S))
        if rel is not None:
            bound = min(bound, max(rel[0], obj))
            trace.append({"solver": "GLOP", "what": "LP relaxation bound", "status": "optimal",
                          "objective": math.nan, "bound": rel[0],
                          "time": time.perf_counter() - t0})
    if status != "optimal" and fixed_x is None and allowed is None and \
            math.isfinite(model.path_bound) and model.path_bound < bound:
        # a priced set's bound over ALL paths also bounds the MILP over its subset
        bound = max(model.path_bound, obj)
        trace.append({"solver": "pricing", "what": "all-path bound", "status": "optimal",
                      "objective": math.nan, "bound": model.path_bound,
                      "time": time.perf_counter() - t0})
    if fixed_x is not None and status != "optimal" and source != "zero":
        bound, status = obj, "optimal"  # the LP at a fixed x: GLOP's optimum is exact
    if status != "optimal" and math.isfinite(bound) and \
            bound - obj <= gap * max(1.0, abs(bound)):
        status = "optimal"
    if status == "optimal":
        bound = max(bound, obj) if math.isfinite(bound) else obj
    wall = time.perf_counter() - t0
    y = vals[: model.n_y]
    s = {key: float(vals[c]) for key, c in model.s_index.items()}
    z = {key: float(vals[c]) for key, c in model.z_index.items()}
    sol = Solution(method, status, obj, bound, x, y, s, z, model, wall,
                   {"solver": used or source, "incumbent_from": source, "gap_target": gap,
                    "n_binaries": model.n_y, "n_vars": model.n_vars + model.n_y,
                    "n_rows": model.n_y + len(model.ties) + len(model.groups)
                    + len(model.ub_rows) + len(model.eq_rows)}, trace, path_set=model.path_set,
                   path_bound=model.path_bound)
    return with_path_bound(sol, time_limit) if path_bound else sol


def _check_solver(name: str) -> None:
    if name not in SOLVERS + LICENSED:
        raise ValueError(f"solver = {name!r} is invalid; accepted: one of "
                         f"{list(SOLVERS + LICENSED)}")
    if name in LICENSED and pywraplp.Solver.CreateSolver(name) is None:
        raise ValueError(f"solver = {name!r} is not available (OR-Tools finds no licensed "
                         f"{name} library); accepted here: one of {list(SOLVERS)}")


def check_solution(sol: Solution, tol: float = 1e-6) -> list[str]:
    """Check C1-C6 and the objective of ``sol`` directly from the instance and candidate paths.

    Written with plain loops over the instance data (not with the compiled matrices) so that it
    checks the matrix builder too. Returns a list of violations (empty when feasible). ``tol`` is
    relative to the constraint's scale.
    """
    if not isinstance(sol, Solution):
        raise ValueError(f"sol = {sol!r:.80} ({type(sol).__name__}) is invalid; accepted: a "
                         "routing.Solution (solve_milp, solve_benders, a baseline)")
    model = sol.model
    inst, cands = model.inst, model.cands
    delta = inst.slot_duration
    bad: list[str] = []

    def le(lhs, rhs, what):
        if lhs > rhs + tol * max(1.0, abs(rhs), abs(lhs)):
            bad.append(f"{what}: {lhs:.9g} > {rhs:.9g}")

    paths = model.paths
    segs = cands.segments
    x, y = sol.x, sol.y
    for j, p in enumerate(paths):
        if min(abs(x[j]), abs(x[j] - 1)) > 1e-6:
            bad.append(f"x[{j}] = {x[j]} is not binary")
        if y[j] < -tol:
            bad.append(f"y[{j}] = {y[j]} < 0")
        le(y[j], x[j] * p.ymax, f"C1 path {j} (k={p.pair}, t={p.slot})")
    # the paths are grouped by row in one pass (28k paths took 12-37 s with a pass per row);
    # each sum below still runs over the paths in index order
    by_cell: dict[tuple[int, int], list[int]] = {}
    for j, p in enumerate(paths):
        by_cell.setdefault((p.pair, p.slot), []).append(j)
    # C2 per (k, t) with a path: one route, a route being a path, or all the vintages (fill
    # slots) of one virtual path, which are chosen together
    for k, per_k in enumerate(cands.options):
        for t, per_t in enumerate(per_k):
            js = by_cell.get((k, t), [])
            if len(js) != len(per_t):
                bad.append(f"path index mismatch at (k={k}, t={t})")
            routes: dict = {}
            for j in js:
                p = paths[j]
                seg = segs[p.stored] if p.stored is not None else None
                key = ((p.nodes, p.live_edges, seg.pair, seg.nodes)
                       if seg is not None and seg.fill_slot is not None else j)
                routes.setdefault(key, []).append(j)
            for members in routes.values():
                if any(abs(x[j] - x[members[0]]) > 1e-6 for j in members):
                    bad.append(f"route of paths {members} (k={k}, t={t}): its vintages are "
                               f"chosen apart, x = {[float(x[j]) for j in members]}")
            total = sum(x[members[0]] for members in routes.values())
            if per_t and abs(total - 1) > 1e-6:
                bad.append(f"C2 (k={k}, t={t}): sum x over routes = {total}")
    for key, v in list(sol.s.items()) + list(sol.z.items()):
        if v < -tol:
            bad.append(f"negative storage variable {key} = {v}")
    # C3
    for m in {m for sp_ in inst.storage_pairs for m in sp_}:
        for t in range(1, inst.n_slots):
            tot = sum(sol.z.get((seg.index, t), 0.0) for seg in segs
                      if m in inst.storage_pairs[seg.pair])
            le(tot, inst.storage_capacity(m), f"C3 (m={m}, t={t})")
    # C4
    on_edge: dict[tuple, list[int]] = {}  # (edge, slot) -> the paths using it live
    for j, p in enumerate(paths):
        for e in {edge_key(u, v) for u, v in p.live_edges}:
            on_edge.setdefault((e, p.slot), []).append(j)
    seg_edges = [{edge_key(u, v) for u, v in _pairs(seg.nodes)} for seg in segs]
    for link in inst.links:
        e = edge_key(link.u, link.v)
        for t in range(inst.n_slots):
            used = 0.0
            for j in on_edge.get((e, t), []):
                used += paths[j].cost * delta * y[j]
            for seg, edges in zip(segs, seg_edges, strict=True):
                if t in seg.slots and e in edges:
                    used += delta * sol.s.get((seg.index, t), 0.0)
            cap = link.capacity[t]
            if cap is None:
                if used > tol:
                    bad.append(f"C4 absent link {e} used in slot {t}")
            else:
                le(used, cap, f"C4 (link={e}, t={t})")
    # C5 and C6
    drawing: dict[tuple[int, int], list[int]] = {}  # (segment, slot) -> its drawing paths
    for j, p in enumerate(paths):
        if p.stored is not None:
            drawing.setdefault((p.stored, p.slot), []).append(j)
    for seg in segs:
        i = seg.index
        prev = draw_prev = 0.0
        for t in range(inst.n_slots):
            stock = 0.0 if t == 0 else sol.z.get((i, t), 0.0)
            draw = sum(paths[j].cost * delta * y[j] for j in drawing.get((i, t), []))
            le(draw, stock, f"C5 (seg={i}, t={t})")
            if t >= 1:
                fill = delta * sol.s.get((i, t - 1), 0.0)
                rhs = prev + fill
                if abs(stock + draw_prev - rhs) > tol * max(1.0, abs(rhs)):
                    bad.append(f"C6 (seg={i}, t={t}): {stock + draw_prev:.9g} != {rhs:.9g}")
            prev, draw_prev = stock, draw
    obj = sum(inst.pairs[p.pair].weight[p.slot] * y[j] for j, p in enumerate(paths))
    if abs(obj - sol.objective) > tol * max(1.0, abs(obj)):
        bad.append(f"objective {sol.objective} != sum alpha y = {obj}")
    return bad


def _pairs(nodes):
    return zip(nodes[:-1], nodes[1:], strict=False)
