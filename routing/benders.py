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
  master point yields an optimality cut, and feasibility cuts never arise. The same holds for
  the per-slot LPs of the multi-cut split: the master keeps ``C - δ Σ s >= 0`` and ``w >= 0``.
* **Master** MP: ``max Σ_b θ_b`` over binaries x with C2, the initial bound
  ``θ_b <= Σ_{j in b} α_j Y_j x_j`` (valid: y <= Y x) and all cuts; solved by OR-Tools (SCIP by
  default, CBC selectable; gap: see ``adaptive_gap`` below), status checked. For a maximization the
  master value is an **upper** bound, the subproblem value at an integer x̂ a **lower** bound
  (a feasible solution).
* **Multi-cut** (``multi_cut=True``, default): one θ_t per slot, with cuts from a split of
  the LP (:class:`SlotSplit`). Slots are coupled only through storage (C5, C6 link s, z and the
  draws across slots), so splitting the full LP's dual objective by slot would over-cut
  (Σ_t min ≠ min Σ_t) and remove optimal solutions. Instead the storage schedule (s, z and a
  draw cap w per C5 row) moves into the master as continuous variables with C3, C6 and the
  storage part of C4; given (x, s, w) the LP left over y separates exactly by slot, and each slot
  gives its own cut ``θ_t <= u_t·(Y x)_t + π_t·(C_t - δ A_s s) + ρ_t·w_t``. The split has the same
  optimum as the MILP (proof in :class:`SlotSplit`). Per evaluated x̂ we add the slot cuts at the
  master's point (x̂, q̂) (they cut it off when its Σθ is too high) and at (x̂, q*) with q* the
  schedule of the full LP SP(x̂) (tight where x̂ is best used); repeated cuts (a slot whose LP did
  not change) are stored once. Without storage this is the classic per-slot multi-cut.
  ``multi_cut=False`` is textbook single-cut Benders on the full LP SP(x).
* **LP phase** (``lp_phase=True``, default): textbook Benders stalls here (about 12% gap on
  seed-size instances, DESIGN section 5) because C1's big-M coefficients make weak cuts. So we
  first run Benders on the master's LP relaxation (x in [0, 1], GLOP) until its bounds meet
  within ``lp_tol`` or its bound stalls over 10 iterations, keep those cuts, and round each
  fractional x̂ (the best path per (k, t)) to evaluate a feasible point (a lower bound and one
  more cut). The integer phase then starts from the LP relaxation's cut description.
* **Core-point cuts** (``core_point=True``): after each evaluated x̂ the core point (start:
  x at the centre of every C2 simplex, no storage) moves halfway to (x̂, q*) and the cuts there
  are added (Papadakos, Oper. Res. Lett. 36, 444 (2008)). Single-cut, seed 1: 178 -> 26
  iterations with the LP phase on; multi-cut, 100 stations / K = 20 / 48 slots: converged in
  16 s with them, 3e-5 gap after 60 s without.
* **Pareto-optimal cuts** (``pareto=True``, default): the duals of an LP are rarely unique
  (the per-slot LPs are degenerate), and each optimal dual gives a cut tight at x̂. Among them
  the Magnanti-Wong cut is the lowest at a core point p⁰ inside the master's feasible set
  (Magnanti & Wong, Oper. Res. 29, 464 (1981)), so no other cut from x̂ dominates it. After the
  plain solve (which gives Q_t(x̂)), one more LP over all slots at once (block diagonal, HiGHS
  through scipy, formulas in :meth:`SlotSplit._mw_duals`) picks those duals; the core point is
  the moving one below (x at the simplex centres mixed with the evaluated points, q the
  schedules), never with vanishing entries. On 100 stations / K = 20 / 48 slots they halve the
  iterations (17 -> 10) and the time to a 0.1 % gap (95 -> 55 s, loaded machine). A slot
  whose MW LP fails keeps its plain cut.
* **Warm-started master** (``hint_master=True``): the incumbent (x, its storage schedule q and
  slot values θ, a point that satisfies every cut) is passed to the integer master as a hint.
* **Cut management** (``drop_slack_after=5``): a cut from a fractional point (LP phase, core
  point) that is slack at 5 consecutive integer-master points is switched off (row made free)
  and may come back; cuts from integer points stay, so no evaluated x is proposed again.
* **Integer master** is built when the integer phase starts, from the stored cuts. With
  ``prune_cuts=True`` the cuts from fractional points that are slack at the last LP-master point
  are left out (valid, but they slow SCIP down); cuts from integer points are always kept, so an
  evaluated x is never proposed again. With ``adaptive_gap=True`` the master is solved to a
  relative gap of ``min(1e-3, 0.2 * current Benders gap)`` while the gap is wide and exactly
  (1e-10) once a loose master proposes a point that no new cut cuts off; the master's best
  bound is a valid upper bound at any gap, so bounds stay valid.
* **Warm start** (``warm_start``): ``"greedy"`` (per (k, t) the path with the largest α Y^max), a
  :class:`~routing.milp.Solution` (e.g. a baseline), or an x vector: evaluated first for an
  incumbent and a cut.
* **Stopping**: ``(UB - LB) / max(1, |UB|) <= tol`` (default 1e-6), or ``max_iterations``, or
  ``time_limit`` seconds, or an exact master point that no new cut cuts off while the gap is
  still open (reported as ``stalled``; not seen in the tests).

Measured (2 shared cores, benchmarks/routing.py, results_routing.md): multi-cut meets the MILP
optimum to 1e-6 on seed-size instances. The monolithic MILP reaches a 0.1 % gap first up to
100 stations / K = 50 / 96 slots (clearly where the integer master has work: 100 / 20 / 48,
100 / 50 / 96); at 300 / 50 / 96 Benders is first (1 % in ~10 s against <= 43 s, 0.1 % in
32-41 s against 43 s), its LP phase closing the gap there (crossover table in
benchmarks/RESULTS.md).

The trace (``Solution.trace``) has one entry per iteration (master solve): iteration, phase
(warm | lp | milp), best lower bound, best upper bound (running max / min, so monotone), the
raw master value, the subproblem value, the number of cuts, and the elapsed time in seconds.
``progress=True`` shows the same as it happens: a tqdm bar (stderr) that counts the trace's
entries and shows the latest phase, bounds, relative gap and cuts.
"""

from __future__ import annotations

import math
import time
from functools import cached_property

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from ortools.linear_solver import linear_solver_pb2, pywraplp
from tqdm.auto import tqdm

from routing._checks import is_count
from routing.instance import Instance
from routing.milp import (
    Solution,
    SolverError,
    check_flag,
    check_time_limit,
    choose_per_group,
    compile_within,
    glop_solve,
    new_solver,
    solve_interruptibly,
    with_path_bound,
)
from routing.model import CompiledModel

LP_SOLVER = "HIGHS"  # cvxpy backend for the subproblem (vertex duals)
# tried in order when the first backend fails; interior-point duals (Clarabel) are dual feasible
# to its tolerance, and the cut constant is guarded (below), so their cuts stay valid
LP_FALLBACKS = ("HIGHS", "CLARABEL", "GLOP", "SCIPY")
CORE_MIX = 0.02  # share of the simplex centre kept in the core point
_INSTALLED = set(cp.installed_solvers())
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
        self.deadline: float | None = None  # perf_counter time after which solves give up

    def solve(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """Solve SP(x); return (Q(x), v, u (C1 duals), π (C3-C5 duals)).

        Raises :class:`SubproblemFailed` when every LP backend fails (see :func:`_robust_solve`).
        """
        m = self.model
        self.r.value = _clean_rhs(m.ymax * np.asarray(x, float))
        self.used = _robust_solve(self.problem, self.solver, self.deadline)
        self.n_solves += 1
        u = np.maximum(np.asarray(self.c1.dual_value, float).reshape(-1), 0.0)
        pi = (np.maximum(np.asarray(self.cub.dual_value, float).reshape(-1), 0.0)
              if self.cub is not None else np.zeros(0))
        return float(self.problem.value), np.asarray(self.v.value, float), u, pi

    def pareto_duals(self, x_hat: np.ndarray, q_hat: float, core: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Magnanti-Wong duals (u, π) at x̂ for the core point x⁰ (single cut).

        The MW problem ``min u·Y x⁰ + π·b`` over dual feasible (u, π) with
        ``u·Y x̂ + π·b <= Q(x̂) + ε``, solved through its LP dual ``max α·y - (Q + ε) η`` s.t.
        ``y <= Y x⁰ + η Y x̂``, ``A_ub v <= (1 + η) b``, ``A_eq v = 0``, ``v, η >= 0`` (see
        :meth:`SlotSplit._mw_duals`). Raises :class:`SubproblemFailed` like :meth:`solve`.
        """
        m = self.model
        rh = _clean_rhs(m.ymax * np.asarray(x_hat, float))
        r0 = _clean_rhs(m.ymax * np.asarray(core, float))
        ny, nv = m.n_y, m.n_vars
        top = sp.hstack([sp.identity(ny, format="csr"), sp.csr_matrix((ny, nv - ny)),
                         sp.csr_matrix(-rh.reshape(-1, 1))])
        blocks, rhs = [top], [r0]
        if m.A_ub.shape[0]:
            blocks.append(sp.hstack([m.A_ub, sp.csr_matrix(-m.b_ub.reshape(-1, 1))]))
            rhs.append(m.b_ub)
        A_eq = (sp.hstack([m.A_eq, sp.csr_matrix((m.A_eq.shape[0], 1))], format="csr")
                if m.A_eq.shape[0] else None)
        c = np.concatenate([-m.alpha, np.zeros(nv - ny),
                            [max(0.0, q_hat) + 1e-7 * max(1.0, abs(q_hat))]])
        d = _linprog_duals(c, sp.vstack(blocks, format="csr"), np.concatenate(rhs), A_eq,
                           self.deadline)
        self.n_solves += 1
        return d[:ny], d[ny:]


def _linprog_duals(c, A_ub, b_ub, A_eq, deadline) -> np.ndarray:
    """min c·v s.t. A_ub v <= b_ub, A_eq v = 0, v >= 0 by HiGHS (scipy); the inequality rows'
    duals as nonnegative prices (``-marginals``). Raises :class:`SubproblemFailed`."""
    from scipy.optimize import linprog

    opts = {}
    if deadline is not None:
        left = deadline - time.perf_counter()
        if left <= 0:
            raise SubproblemFailed("time limit")
        opts["time_limit"] = float(left)
    try:
        res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq,
                      b_eq=None if A_eq is None else np.zeros(A_eq.shape[0]),
                      bounds=(0, None), method="highs", options=opts)
    except (ValueError, ArithmeticError) as err:
        raise SubproblemFailed(f"scipy HiGHS: {err}") from err
    if res.status != 0:
        raise SubproblemFailed(f"scipy HiGHS: {res.message}")
    return np.maximum(-np.asarray(res.ineqlin.marginals, float), 0.0)


class SubproblemFailed(SolverError):
    """Every LP backend failed on a subproblem (the caller skips that cut)."""


def _clean_rhs(r: np.ndarray) -> np.ndarray:
    """Right-hand sides with round-off dust removed: negatives and entries below 1e-9 of the
    largest become 0 (a cut is valid whatever the point it is taken at, so this costs no
    validity; it keeps HiGHS away from 1e-19 right-hand sides)."""
    r = np.maximum(np.asarray(r, float), 0.0)
    if r.size:
        r[r < 1e-9 * max(1.0, float(r.max()))] = 0.0
    return r


_TIME_OPTION = {"HIGHS": "time_limit", "CLARABEL": "time_limit", "GLOP": "time_limit_sec"}


def _robust_solve(problem: cp.Problem, first: str, deadline: float | None = None) -> str:
    """Solve ``problem`` with ``first``, then each of :data:`LP_FALLBACKS`; return the backend
    that gave an optimal answer with duals. A backend that raises (``SolverError``, cvxpy's
    "Cannot unpack invalid solution") or ends in another status is skipped."""
    errors = []
    for name in (first, *[s for s in LP_FALLBACKS if s != first]):
        if name not in _INSTALLED:
            continue
        kw = {}
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                errors.append("time limit")
                break
            if name in _TIME_OPTION:
                kw[_TIME_OPTION[name]] = float(left)
            elif name == "SCIPY":
                kw["scipy_options"] = {"time_limit": float(left)}
        try:
            problem.solve(solver=name, **kw)
        except (cp.error.SolverError, ValueError, ArithmeticError) as err:
            errors.append(f"{name}: {err}")
            continue
        if problem.status == cp.OPTIMAL and problem.value is not None and \
                np.isfinite(problem.value):
            return name
        errors.append(f"{name}: status {problem.status}")
    raise SubproblemFailed("every LP backend failed: " + "; ".join(errors))


class SlotSplit:
    """The multi-cut split: storage schedule in the master, the rest separable by slot.

    Master continuous vector ``q = [s, z, w]`` (s, z in the model's column order, then one ``w``
    per C5 row: the consumption cap of segment i in slot t). Master rows on (x, q):

    * C3 as is (z only); the storage part of C4, ``δ Σ s <= C`` (y >= 0 dropped: a relaxation);
    * C5': ``w_{i,t} <= z_i^t`` and the cap ``w_{i,t} <= Σ_{j draws i in t} g δ Y_j x_j``;
    * C6': ``z_i^t = z_i^{t-1} - w_{i,t-1} + δ s_i^{t-1}`` (C6 with the draw replaced by its cap).

    Given (x, q) the LP left over y splits by slot: SP_t = ``max α_t·y_t`` s.t. ``y <= Y x``,
    C4 ``Σ g δ y <= C - δ Σ s`` and C5 ``Σ g δ y <= w``. It is feasible (y = 0, as the master
    keeps ``C - δ Σ s >= 0``) and bounded, so per-slot optimality cuts suffice.

    Exactness: every MILP solution maps to a master point with ``w`` = its draw and the same
    objective. Conversely a point of the split may draw less than ``w`` (discarding stored pairs);
    not generating the discarded pairs in the first place (lower s, FIFO bookkeeping per segment)
    gives a MILP solution with the same y and no more link usage or stock. So both have the same
    optimum; the lower bound and the returned solution come from the full LP SP(x̂), which keeps
    C6 as an equality.
    """

    def __init__(self, m: CompiledModel, solver: str = LP_SOLVER):
        self.m, self.solver = m, solver
        ny = m.n_y
        fam = np.array([r.family for r in m.ub_rows])
        slot_row = np.array([_row_slot(r.name) for r in m.ub_rows], int)
        A = sp.csr_matrix(m.A_ub)
        Ay, Ac = A[:, :ny], A[:, ny:]
        self.n_c = m.n_vars - ny  # s and z columns
        i4 = np.flatnonzero(fam == "C4")
        i4 = i4[np.diff(Ay.indptr)[i4] > 0]  # C4 rows with y entries go to the subproblem
        i5 = np.flatnonzero(fam == "C5")
        self.A4y, self.A4s, self.b4 = Ay[i4], Ac[i4], m.b_ub[i4]
        self.A5y = Ay[i5]
        self.slot4, self.slot5 = slot_row[i4], slot_row[i5]
        self.n_w = len(i5)
        self.n_q = self.n_c + self.n_w
        self.slot_path = np.array([p.slot for p in m.paths], int)
        # master rows: (lo, hi, x index, x coefficient, q index, q coefficient)
        rows = []
        for r in np.flatnonzero((fam == "C3") | (fam == "C4")):
            lo_, hi_ = Ac.indptr[r], Ac.indptr[r + 1]
            if hi_ > lo_:
                rows.append((-np.inf, float(m.b_ub[r]), [], [], list(Ac.indices[lo_:hi_]),
                             list(Ac.data[lo_:hi_])))
        key5 = {}
        for r5, r in enumerate(i5):
            name = m.ub_rows[r].name  # C5[seg{i},t{t}]
            seg = int(name[len("C5[seg"):].split(",")[0])
            key5[(seg, int(slot_row[r]))] = r5
            lo_, hi_ = Ac.indptr[r], Ac.indptr[r + 1]
            zc = [c for c, v in zip(Ac.indices[lo_:hi_], Ac.data[lo_:hi_], strict=True) if v < 0]
            rows.append((-np.inf, 0.0, [], [], [self.n_c + r5, *zc], [1.0] + [-1.0] * len(zc)))
            a = self.A5y[r5]
            rows.append((-np.inf, 0.0, list(a.indices), list(-a.data * m.ymax[a.indices]),
                         [self.n_c + r5], [1.0]))
        E = sp.csr_matrix(m.A_eq)
        for r, row in enumerate(m.eq_rows):  # C6[seg{i},t{t}]
            seg, t = row.name[len("C6[seg"):].rstrip("]").split(",t")
            qi, qv = [], []
            for c, v in zip(E.indices[E.indptr[r]:E.indptr[r + 1]],
                            E.data[E.indptr[r]:E.indptr[r + 1]], strict=True):
                if c >= ny:
                    qi.append(c - ny)
                    qv.append(v)
            r5 = key5.get((int(seg), int(t) - 1))
            if r5 is not None:
                qi.append(self.n_c + r5)
                qv.append(1.0)
            rows.append((0.0, 0.0, [], [], qi, qv))
        self.master_rows = rows
        # the per-slot LP, built once (DPP: parameters only in right-hand sides)
        self.y = cp.Variable(ny, nonneg=True)
        self.r = cp.Parameter(ny, nonneg=True)
        self.c4 = cp.Parameter(len(i4), nonneg=True)
        self.w = cp.Parameter(self.n_w, nonneg=True)
        self.k1 = self.y <= self.r
        cons = [self.k1]
        self.k4 = self.k5 = None
        if len(i4):
            self.k4 = self.A4y @ self.y <= self.c4
            cons.append(self.k4)
        if self.n_w:
            self.k5 = self.A5y @ self.y <= self.w
            cons.append(self.k5)
        self.problem = cp.Problem(cp.Maximize(m.alpha @ self.y), cons)
        assert self.problem.is_dpp()
        self.n_solves = 0
        self.deadline: float | None = None  # perf_counter time after which solves give up

    def _mw_duals(self, rh: np.ndarray, r0: np.ndarray, q_slot: np.ndarray) -> np.ndarray:
        """Duals of the Pareto (Magnanti-Wong) LP of every slot at once.

        For slot t with right-hand side r(p) of SP_t at master point p (affine in p), the MW
        problem is ``min u·r(p⁰)`` over the dual feasible set ``{u >= 0: Aᵀu >= α_t}`` with
        ``u·r(p̂) <= Q_t(p̂) + ε`` (the optimal face at p̂, widened by ε; weak duality gives
        ``u·r(p̂) >= Q_t(p̂)`` for every feasible u). Its LP dual, solved here, is
        ``max α_t·y - (Q_t + ε) η_t`` s.t. ``A y <= r(p⁰) + η_t r(p̂)``, ``y, η >= 0``: SP_t at
        the core point, each slot allowed to buy multiples of its own right-hand side at p̂ at
        the price Q_t. Feasible (y = η = 0) and bounded (the plain duals are MW-feasible). All
        slots form one block-diagonal LP (``rh``, ``r0``: the stacked right-hand sides [r, c4,
        w]), solved by HiGHS through scipy (CVXPY's canonicalization of a parameter times a
        variable took minutes at 28,000 paths). Returns u >= 0 on the stacked rows.
        """
        m = self.m
        if not hasattr(self, "_mw_rows"):
            blocks = [sp.identity(m.n_y, format="csr")]
            slots = [self.slot_path]
            if len(self.b4):
                blocks.append(self.A4y)
                slots.append(self.slot4)
            if self.n_w:
                blocks.append(self.A5y)
                slots.append(self.slot5)
            self._mw_rows = (sp.vstack(blocks, format="csr"), np.concatenate(slots))
        M, srow = self._mw_rows
        n = M.shape[0]
        E = sp.csr_matrix((-rh, (np.arange(n), srow)), shape=(n, m.T))
        c = np.concatenate([-m.alpha, q_slot])  # minimize -(α·y - Q η)
        return _linprog_duals(c, sp.hstack([M, E], format="csr"), r0, None, self.deadline)

    def _rhs(self, x, q):
        """Right-hand sides (r, c4, w) of the slot LPs at master point (x, q), cleaned."""
        m = self.m
        r = _clean_rhs(m.ymax * np.asarray(x, float))
        c4 = _clean_rhs(self.b4 - self.A4s @ q[: self.n_c]) if len(self.b4) else None
        w = _clean_rhs(q[self.n_c:]) if self.n_w else None
        return r, c4, w

    def point(self, v: np.ndarray) -> np.ndarray:
        """q of a full-LP solution v = [y, s, z]: its s, z and draws w = A5y y."""
        return np.concatenate([v[self.m.n_y:], self.A5y @ v[: self.m.n_y]])

    def solve(self, x: np.ndarray, q: np.ndarray, core: np.ndarray | None = None
              ) -> tuple[np.ndarray, list]:
        """Solve every SP_t at (x, q); return per-slot values and per-slot cuts.

        A cut is (const, indices, coefficients) over the master vector [x, q] of length
        n_y + n_q: ``θ_t <= const + Σ coefficient · [x, q]``. With ``core`` (a master point
        [x⁰, q⁰] inside the master's feasible set) the cuts are Pareto-optimal (Magnanti-Wong,
        :meth:`_mw_duals`): among the cuts tight at (x, q) they are lowest at the core point;
        a slot whose MW LP fails keeps its plain cut.
        """
        m = self.m
        x = np.asarray(x, float)
        q = np.asarray(q, float)
        r, c4, w = self._rhs(x, q)
        self.r.value = r
        if c4 is not None:
            self.c4.value = c4
        if w is not None:
            self.w.value = w
        self.used = _robust_solve(self.problem, self.solver, self.deadline)
        self.n_solves += 1
        y = np.asarray(self.y.value, float)
        vals = np.array([float(m.alpha[js] @ y[js]) for js in self._slot_paths])
        u = np.maximum(np.asarray(self.k1.dual_value, float).reshape(-1), 0.0)
        p4 = (np.maximum(np.asarray(self.k4.dual_value, float).reshape(-1), 0.0)
              if self.k4 is not None else np.zeros(0))
        p5 = (np.maximum(np.asarray(self.k5.dual_value, float).reshape(-1), 0.0)
              if self.k5 is not None else np.zeros(0))
        if core is not None:
            core = np.asarray(core, float)
            r0 = self._rhs(core[: m.n_y], core[m.n_y:])
            stack = lambda parts: np.concatenate([a for a in parts if a is not None])  # noqa: E731
            try:
                d = self._mw_duals(stack((r, c4, w)), stack(r0),
                                   vals + 1e-7 * np.maximum(1.0, np.abs(vals)))
                self.n_solves += 1
                u, p4, p5 = np.split(d, [m.n_y, m.n_y + len(self.b4)])
            except SubproblemFailed:
                pass  # keep the plain cuts (valid and tight at (x, q))
        u = u * m.ymax
        cuts = []
        point = np.concatenate([x, q])
        for t in range(m.T):
            js = self._slot_paths[t]
            r4 = np.flatnonzero(self.slot4 == t)
            r5 = np.flatnonzero(self.slot5 == t)
            qcoef = np.zeros(self.n_q)
            if len(r4):
                qcoef[: self.n_c] = -(p4[r4] @ self.A4s[r4])
            qcoef[self.n_c + r5] = p5[r5]
            idx_x = js[u[js] != 0]
            idx_q = np.flatnonzero(qcoef)
            idx = np.concatenate([idx_x, m.n_y + idx_q])
            coef = np.concatenate([u[idx_x], qcoef[idx_q]])
            const = float(p4[r4] @ self.b4[r4]) if len(r4) else 0.0
            # round-off guard: a cut may only be weakened, never made invalid
            const = max(const, vals[t] - float(coef @ point[idx]))
            cuts.append((const, idx, coef))
        return vals, cuts

    @cached_property
    def _slot_paths(self) -> list[np.ndarray]:
        return [np.flatnonzero(self.slot_path == t) for t in range(self.m.T)]


def _solve_afresh(s, name: str, params, left: float | None):
    """``s``'s model (without its hint) in a new ``name`` solver: ``(solver, status)``;
    ``(s, ABNORMAL)`` when it cannot be built or runs out of time."""
    proto = linear_solver_pb2.MPModelProto()
    s.ExportModelToProto(proto)
    proto.ClearField("solution_hint")
    fresh = new_solver(name)
    if fresh is None or fresh.LoadModelFromProto(proto) != "" or (left is not None and
                                                                   left <= 0):
        return s, pywraplp.Solver.ABNORMAL
    if left is not None:
        fresh.SetTimeLimit(max(1, int(1000 * left)))
    try:
        return fresh, solve_interruptibly(fresh, params)
    except Exception:  # noqa: BLE001 - the caller ends the run with its incumbent
        return s, pywraplp.Solver.ABNORMAL


def solve_benders(
    inst: Instance | CompiledModel,
    tol: float = 1e-6,
    max_iterations: int = 500,
    time_limit: float | None = None,
    master_solver: str = "SCIP",
    multi_cut: bool = True,
    lp_phase: bool = True,
    warm_start=None,
    lp_max_iterations: int = 300,
    core_point: bool = True,
    lp_tol: float = 1e-4,
    adaptive_gap: bool = True,
    prune_cuts: bool = True,
    pareto: bool = True,
    hint_master: bool = True,
    drop_slack_after: int = 5,
    path_bound: bool = False,
    progress: bool = False,
) -> Solution:
    """Solve the PS-EGR MILP by Benders decomposition (see module docstring).

    Returns a :class:`~routing.milp.Solution` whose ``objective`` is the best lower bound (the
    value of a feasible solution), ``bound`` the best upper bound, ``status`` ``optimal`` when the
    relative gap is within ``tol``, else ``feasible`` (with ``info["stop"]`` saying why), and
    ``trace`` the per-iteration record. ``path_bound=True``: also the proven bound over ALL
    paths where the path set carries none (`routing.milp.with_path_bound`, under the same
    ``time_limit``). ``progress=True``: a progress bar with the bounds and gap per iteration
    (module docstring, trace).
    """
    time_limit = check_time_limit(time_limit)
    path_bound = check_flag(path_bound, "path_bound")
    progress = check_flag(progress, "progress")
    multi_cut, lp_phase, core_point, adaptive_gap, prune_cuts, pareto, hint_master = (
        check_flag(v, name) for v, name in (
            (multi_cut, "multi_cut"), (lp_phase, "lp_phase"), (core_point, "core_point"),
            (adaptive_gap, "adaptive_gap"), (prune_cuts, "prune_cuts"), (pareto, "pareto"),
            (hint_master, "hint_master")))
    if not (isinstance(lp_tol, (int, float)) and 0 <= lp_tol < 1):
        raise ValueError(f"lp_tol = {lp_tol!r} is invalid; accepted: a relative gap in [0, 1)")
    if not (0 <= tol < 1):
        raise ValueError(f"tol = {tol!r} is invalid; accepted: a relative gap in [0, 1)")
    if not (is_count(max_iterations) and max_iterations >= 1):
        raise ValueError(f"max_iterations = {max_iterations!r} is invalid; accepted: integer >= 1")
    if not (is_count(drop_slack_after) and drop_slack_after >= 0):
        raise ValueError(f"drop_slack_after = {drop_slack_after!r} is invalid; accepted: "
                         "integer >= 0 (0: never drop)")
    if master_solver not in MASTER_SOLVERS:
        raise ValueError(f"master_solver = {master_solver!r} is invalid; accepted: one of "
                         f"{list(MASTER_SOLVERS)}")
    model, time_limit = compile_within(inst, time_limit)
    kw = dict(tol=tol, max_iterations=max_iterations, time_limit=time_limit,
              master_solver=master_solver, multi_cut=multi_cut, lp_phase=lp_phase,
              warm_start=warm_start, lp_max_iterations=lp_max_iterations,
              core_point=core_point, lp_tol=lp_tol, adaptive_gap=adaptive_gap,
              prune_cuts=prune_cuts, pareto=pareto, hint_master=hint_master,
              drop_slack_after=drop_slack_after)
    t0 = time.perf_counter()
    # the trace's entries, shown as they come; the finished bar stays unless it sits below
    # another bar (a sweep's: leave=None)
    bar = tqdm(desc="Benders", unit="it", disable=not progress, leave=None)
    try:
        sol = _benders(model, bar=bar, **kw)
    except ValueError as err:
        if "accepted" in str(err):  # bad input: say so
            raise
        sol = _rescue(model, t0, err)
    except (SolverError, cp.error.SolverError, ArithmeticError, RuntimeError) as err:
        sol = _rescue(model, t0, err)
    finally:
        bar.close()
    sol.path_set, sol.path_bound = model.path_set, model.path_bound
    return with_path_bound(sol, time_limit) if path_bound else sol


def _rescue(model: CompiledModel, t0: float, err: Exception) -> Solution:
    """Last resort when something unforeseen failed: the greedy path choice's LP (GLOP), or
    y = 0; status ``feasible`` with no bound; the error in ``info``."""
    from routing.milp import _lp_solve

    x = choose_per_group(model, model.alpha * model.ymax)
    res = _lp_solve(model, fixed_x=x)
    obj, v = (res[0], res[2]) if res is not None else (0.0, np.zeros(model.n_vars))
    s = {key: float(v[c]) for key, c in model.s_index.items()}
    z = {key: float(v[c]) for key, c in model.z_index.items()}
    return Solution("Benders", "feasible", float(obj), math.inf, x, v[: model.n_y], s, z, model,
                    time.perf_counter() - t0, {"stop": "error", "error": repr(err),
                                               "iterations": 0, "cuts": 0}, [])


def _benders(
    model: CompiledModel,
    tol: float,
    max_iterations: int,
    time_limit: float | None,
    master_solver: str,
    multi_cut: bool,
    lp_phase: bool,
    warm_start,
    lp_max_iterations: int,
    core_point: bool,
    lp_tol: float,
    adaptive_gap: bool,
    prune_cuts: bool,
    pareto: bool = True,
    hint_master: bool = True,
    drop_slack_after: int = 5,
    *,
    bar: tqdm,
) -> Solution:
    t0 = time.perf_counter()
    m = model
    if m.n_y == 0:  # no (k, t) has a path: nothing to decide (reasons in Solution.no_path)
        zeros = {key: 0.0 for key in m.s_index}
        return Solution("Benders", "optimal", 0.0, 0.0, np.zeros(0), np.zeros(0), zeros,
                        {key: 0.0 for key in m.z_index}, m, time.perf_counter() - t0,
                        {"iterations": 0, "cuts": 0, "stop": "no paths"}, [])
    sub = Subproblem(m)
    split = SlotSplit(m) if multi_cut else None
    if time_limit is not None:  # every LP solve stops at the run's deadline
        sub.deadline = t0 + time_limit
        if split is not None:
            split.deadline = t0 + time_limit
    n_blocks = m.T if multi_cut else 1
    n_q = split.n_q if multi_cut else 0
    path_block = np.array([p.slot for p in m.paths], int) if multi_cut else np.zeros(m.n_y, int)

    # --- masters: LP relaxation (GLOP) and integer (master_solver), sharing every cut.
    # Master vector [x, q]: q (multi-cut only) is the storage schedule of SlotSplit.
    def make_master(relax: bool):
        s = new_solver("GLOP" if relax else master_solver)
        xs = [s.NumVar(0.0, 1.0, f"x{j}") if relax else s.IntVar(0.0, 1.0, f"x{j}")
              for j in range(m.n_y)]
        xs += [s.NumVar(0.0, s.infinity(), f"q{i}") for i in range(n_q)]
        th = [s.NumVar(-s.infinity(), s.infinity(), f"theta{b}") for b in range(n_blocks)]
        for j, h in m.ties:  # a route's vintages share its choice (routing.model)
            ct = s.Constraint(0.0, 0.0)
            ct.SetCoefficient(xs[j], 1.0)
            ct.SetCoefficient(xs[h], -1.0)
        for _, _, js in m.groups:
            ct = s.Constraint(1.0, 1.0)
            for j in js:
                ct.SetCoefficient(xs[j], 1.0)
        for b in range(n_blocks):  # θ_b <= Σ α Y x (valid: y <= Y x)
            ct = s.Constraint(-s.infinity(), 0.0)
            ct.SetCoefficient(th[b], 1.0)
            for j in np.flatnonzero(path_block == b):
                ct.SetCoefficient(xs[j], -float(m.alpha[j] * m.ymax[j]))
        if multi_cut:
            for lo, hi, xi, xv, qi, qv in split.master_rows:
                ct = s.Constraint(lo if math.isfinite(lo) else -s.infinity(), hi)
                for j, v in zip(xi, xv, strict=True):
                    ct.SetCoefficient(xs[j], float(v))
                for i, v in zip(qi, qv, strict=True):
                    ct.SetCoefficient(xs[m.n_y + i], float(v))
        obj = s.Objective()
        for t_ in th:
            obj.SetCoefficient(t_, 1.0)
        obj.SetMaximization()
        return s, xs, th

    # the integer master is built when the integer phase starts, from the stored cuts
    masters = {"lp": make_master(True) if lp_phase else None, "milp": None}
    n_cuts = n_dup = 0
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

    cut_keys: set = set()
    # integer-master cut rows: [constraint, kind, block, const, idx, vals, key, slack streak]
    milp_rows: list = []
    n_dropped = 0

    def store(kind, b, const, idx, vals):
        nonlocal n_cuts, n_dup
        # per-slot cuts repeat whenever a slot's LP did not change: keep one copy
        key = (b, round(const, 9), idx.tobytes(), np.round(vals, 9).tobytes())
        if key in cut_keys:
            n_dup += 1
            return
        cut_keys.add(key)
        cut_store.append((kind, b, const, idx, vals, key))
        for name in masters:
            if masters[name] is None:
                continue
            ct = add_row(name, b, const, idx, vals)
            if name == "lp":
                lp_cut_rows.append(ct)
            else:
                milp_rows.append([ct, kind, b, const, idx, vals, key, 0])
        n_cuts += 1

    def add_cuts(x_hat, q, u, pi, kind="int", mw=False):
        """Single cut from the full LP's duals at x_hat (``mw``: the Magnanti-Wong duals for
        the current core point instead; a failed MW LP keeps the plain duals)."""
        if mw:
            try:
                u, pi = sub.pareto_duals(x_hat, q, core[: m.n_y])
            except SubproblemFailed as err:
                failures.append(f"pareto cut: {err}")
        uy = u * m.ymax
        const = max(float(pi @ m.b_ub) if len(pi) else 0.0, q - float(uy @ x_hat))
        idx = np.flatnonzero(uy != 0)
        store(kind, 0, const, idx, uy[idx])

    def add_slot_cuts(x_hat, q_hat, kind="int", mw=False) -> float:
        """Per-slot cuts from SlotSplit at (x_hat, q_hat) (``mw``: Pareto-optimal for the
        current core point); returns Σ_t SP_t."""
        vals, cuts = split.solve(x_hat, q_hat, core if mw else None)
        for t, (const, idx, coef) in enumerate(cuts):
            store(kind, t, const, idx, coef)
        return float(vals.sum())

    def solve_master(key, gap=1e-10):
        s, xs, th = masters[key]
        params = pywraplp.MPSolverParameters()
        if key == "milp":
            params.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, gap)
        if time_limit is not None:
            left = time_limit - (time.perf_counter() - t0)
            s.SetTimeLimit(max(1, int(1000 * left)))
        hinted = key == "milp" and hint_master and best_x is not None
        if hinted:
            # warm start: the incumbent (its schedule and slot values satisfy every cut)
            if multi_cut:
                yv = best_v[: m.n_y] * m.alpha
                th_val = [float(yv[split._slot_paths[t]].sum()) for t in range(m.T)]
                q_val = split.point(best_v).tolist()
            else:
                th_val, q_val = [float(lb)], []
            s.SetHint(xs + th, [float(v) for v in best_x] + q_val + th_val)
        try:  # an LP master that ends ABNORMAL is retried without scaling (milp.glop_solve)
            code = (glop_solve(s, None if time_limit is None else max(left, 1e-3))
                    if key == "lp" else solve_interruptibly(s, params))
        except Exception:  # noqa: BLE001 - a crashed master ends the run with its incumbent
            code = pywraplp.Solver.ABNORMAL
        solved = s  # the solver whose solution is read below
        if hinted and code == pywraplp.Solver.ABNORMAL and not out_of_time():
            # SCIP can fail on the hint itself ("cannot set solution value for multiple
            # aggregated variable" once presolve merged hinted columns: links of fidelity 1),
            # and the same solver fails again at once: the model is solved afresh without it
            failures.append("milp master status 4 with the incumbent hint; solved without it")
            solved, code = _solve_afresh(s, master_solver, params, None if time_limit is None
                                         else time_limit - (time.perf_counter() - t0))
        if solved is not s:  # its variables are s's, in the same order
            fresh_vars = solved.variables()

            def value(v):
                return fresh_vars[v.index()].solution_value()
        else:
            def value(v):
                return v.solution_value()
        if code == pywraplp.Solver.FEASIBLE and key == "milp":
            # stopped by the time limit: its best bound is still a valid upper bound
            bound = solved.Objective().BestBound()
            return None, float(bound) if math.isfinite(bound) else math.inf, math.nan
        if code != pywraplp.Solver.OPTIMAL:
            # GLOP gave up (time limit or numerics): end the LP phase; an integer master that
            # fails ends the run with the incumbent (reported in info["stop"])
            failures.append(f"{key} master status {code}")
            return None, math.inf, math.nan
        x = np.array([value(v) for v in xs])
        last_theta[:] = [value(v) for v in th]
        val = inc = solved.Objective().Value()  # inc: Σ θ at the returned point
        if key == "lp":  # which cuts bind at this LP-master point (for pruning)
            lp_active[:] = [abs(c.dual_value()) > 1e-12 for c in lp_cut_rows]
        if key == "milp":
            val = max(val, solved.Objective().BestBound())  # a valid upper bound either way
        return x, float(val), float(inc)

    lb, ub = -math.inf, math.inf
    best_x, best_v = None, None
    last_theta: list = []
    failures: list[str] = []
    trace: list[dict] = []
    seen: set[bytes] = set()
    it = 0
    stop = "max_iterations"

    core = np.zeros(m.n_y + n_q)  # Papadakos core point: x at the centre of every C2 simplex,
    for _, _, js in m.groups:     # q (multi-cut) at 0 (no storage), both inside the master
        core[js] = 1.0 / len(js)  # (route heads; spread to their vintages below)
    core[: m.n_y] = m.spread(core[: m.n_y])
    centre = core.copy()

    def core_cut(p_new):
        """Move the core point halfway to p_new = [x, q], mix in 2 % of the centre (so no
        entry decays geometrically towards 0: the run that crashed had halved the unchosen
        paths' x to 1e-19), and add the cut(s) there."""
        nonlocal core
        core = (1.0 - CORE_MIX) * 0.5 * (core + p_new) + CORE_MIX * centre
        try:
            if multi_cut:
                add_slot_cuts(core[: m.n_y], core[m.n_y:], kind="frac")
            else:
                q0, _, u0, pi0 = sub.solve(core)
                add_cuts(core, q0, u0, pi0, kind="frac")
        except SubproblemFailed as err:
            failures.append(f"core point: {err}")

    def evaluate(x_int, q_hat=None):
        """Value of x_int (full LP: a lower bound) and its cuts; with ``q_hat`` (multi-cut) also
        the cuts at the master's own point, whose Σ_t SP_t is returned (else Q(x_int))."""
        nonlocal lb, best_x, best_v
        try:
            q, v, u, pi = sub.solve(x_int)
        except SubproblemFailed as err:  # no value, no cut: the master may propose it again,
            failures.append(f"evaluate: {err}")  # then the run stops as stalled
            return math.nan, math.inf
        at_master = q
        try:
            if multi_cut:
                p_best = np.concatenate([x_int, split.point(v)])
                add_slot_cuts(x_int, p_best[m.n_y:], mw=pareto)
                if q_hat is not None:
                    at_master = add_slot_cuts(x_int, q_hat, mw=pareto)
            else:
                p_best = x_int
                add_cuts(x_int, q, u, pi, mw=pareto)
        except SubproblemFailed as err:
            failures.append(f"slot cuts: {err}")
            p_best = np.concatenate([x_int, split.point(v)]) if multi_cut else x_int
        if core_point:
            core_cut(p_best)
        if q > lb:
            lb, best_x, best_v = q, x_int.copy(), v
        return q, at_master

    def record(phase, master_val, q):
        trace.append({"iteration": it, "phase": phase, "lower": lb, "upper": ub,
                      "master": master_val, "subproblem": q, "cuts": n_cuts,
                      "time": time.perf_counter() - t0})
        gap = (ub - lb) / max(1.0, abs(ub)) if math.isfinite(ub - lb) else math.inf
        bar.set_postfix({"phase": phase, "lower": f"{lb:.6g}", "upper": f"{ub:.6g}",
                         "gap": f"{gap:.2e}", "cuts": n_cuts}, refresh=False)
        bar.update(1)

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
        x0 = choose_per_group(m, m.alpha * m.ymax)
    elif isinstance(warm_start, Solution):
        x0 = np.round(warm_start.x)
    elif warm_start is not None:
        x0 = np.round(np.asarray(warm_start, float))
    if x0 is not None:
        if x0.shape != (m.n_y,):
            raise ValueError(f"warm_start has shape {x0.shape}; accepted: ({m.n_y},)")
        q, _ = evaluate(x0)
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
            p_frac, mval, _ = solve_master("lp")
            if p_frac is None:
                lp_aborted = True
                break
            ub = min(ub, mval)
            x_frac = p_frac[: m.n_y]
            try:
                if multi_cut:
                    q_frac = add_slot_cuts(x_frac, p_frac[m.n_y:], kind="frac", mw=pareto)
                else:
                    q_frac, _, u, pi = sub.solve(x_frac)
                    add_cuts(x_frac, q_frac, u, pi, kind="frac", mw=pareto)
            except SubproblemFailed as err:
                failures.append(f"lp phase: {err}")
                q_frac = -math.inf
            x_int = choose_per_group(m, x_frac + 1e-9 * m.alpha * m.ymax)
            key = x_int.astype(np.int8).tobytes()
            q = math.nan
            if key not in seen:
                seen.add(key)
                q, _ = evaluate(x_int)
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
    # are always kept.
    masters["milp"] = make_master(False)
    prune = lp_phase and prune_cuts and not lp_aborted and bool(lp_active)
    for i, (kind, b, const, idx, vals, key) in enumerate(cut_store):
        if prune and kind == "frac" and i < len(lp_active) and not lp_active[i]:
            n_pruned += 1
            cut_keys.discard(key)  # not in the integer master: may be added again
            continue
        milp_rows.append([add_row("milp", b, const, idx, vals), kind, b, const, idx, vals, key,
                          0])

    def drop_slack(p_hat):
        """Cut management: a cut from a fractional point (LP phase, core point) that is slack
        at ``drop_slack_after`` consecutive integer-master points is switched off (its row
        made free; valid either way) and may be added again later. Cuts from integer points
        stay, so an evaluated x is never proposed twice."""
        nonlocal n_dropped
        if not drop_slack_after or not last_theta:
            return
        keep = []
        for row in milp_rows:
            ct, kind, b, const, idx, vals, key, streak = row
            if kind == "frac":
                slack = const + float(vals @ p_hat[idx]) - last_theta[b]
                row[7] = streak = streak + 1 if slack > 1e-6 * max(1.0, abs(const)) else 0
                if streak >= drop_slack_after:
                    inf = masters["milp"][0].infinity()
                    ct.SetBounds(-inf, inf)
                    cut_keys.discard(key)
                    n_dropped += 1
                    continue
            keep.append(row)
        milp_rows[:] = keep
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
        p_hat, mval, inc = solve_master("milp", mgap)
        if p_hat is None:  # master stopped at the time limit, or failed
            ub = min(ub, mval)
            record("milp", mval, math.nan)
            stop = "time_limit" if out_of_time() or math.isfinite(mval) else "master_failed"
            break
        ub = min(ub, mval)
        drop_slack(p_hat)
        x_int = np.round(p_hat[: m.n_y])
        cuts_before = n_cuts
        q, at_master = evaluate(x_int, p_hat[m.n_y:] if multi_cut else None)
        record("milp", mval, q)
        # no cut violated at the master's point (or none new, within the solver's feasibility
        # tolerance): its Σθ is already exact there
        if inc - at_master <= 1e-9 * max(1.0, abs(inc)) or n_cuts == cuts_before:
            if gap_ok():
                stop = "converged"
                break
            if mgap > 1e-10:  # a loose master: solve it exactly from now on
                exact_master = True
                continue
            stop = "stalled"
            break
    if best_x is None:  # stopped before any integer point was evaluated: take the greedy one
        if time_limit is not None:  # a short grace period past the limit for this one LP
            sub.deadline = time.perf_counter() + max(5.0, 0.1 * time_limit)
        evaluate(choose_per_group(m, m.alpha * m.ymax))
    if best_x is None:  # even that LP failed: y = s = z = 0 is feasible for every x
        best_x, best_v, lb = choose_per_group(m, m.alpha * m.ymax), np.zeros(m.n_vars), 0.0
        failures.append("no subproblem solved: returned y = 0")
    if gap_ok():
        stop = "converged"
    status = "optimal" if gap_ok() else "feasible"
    y = best_v[: m.n_y]
    s = {key: float(best_v[c]) for key, c in m.s_index.items()}
    z = {key: float(best_v[c]) for key, c in m.z_index.items()}
    n_solves = sub.n_solves + (split.n_solves if multi_cut else 0)
    info = {"iterations": it, "cuts": n_cuts, "stop": stop, "subproblem_solves": n_solves,
            "blocks": n_blocks, "master_solver": master_solver, "lp_aborted": lp_aborted,
            "pruned_cuts": n_pruned, "dropped_cuts": n_dropped, "duplicate_cuts": n_dup,
            "pareto": pareto, "failures": failures,
            "lp_backends": sorted({getattr(sub, "used", LP_SOLVER)}
                                  | ({getattr(split, "used", LP_SOLVER)} if multi_cut else set()))}
    return Solution("Benders", status, float(lb), float(ub), best_x, y, s, z, m,
                    time.perf_counter() - t0, info, trace)


def _row_slot(name: str) -> int:
    """Slot of a C3/C4/C5 row from its name (``...,t{slot}]``)."""
    return int(name.rsplit(",t", 1)[1].rstrip("]"))
