"""Solves never raise on solver trouble and always carry an incumbent with a valid bound.

The crashes of issue 13 (Benders at 100 stations / K = 50 / T = 96: cvxpy's "Cannot unpack
invalid solution" after the core point drove right-hand sides to 1e-19; "HIGHS failed" in the LP
phase; the MILP at 300 / 50 / 96 NOT_SOLVED at its limit) are reproduced here on small instances
by injecting the same failures, and the time limit is exercised for real on a mid-size one.
"""

import dataclasses
import math

import cvxpy as cp
import numpy as np
import pytest
from ortools.linear_solver import pywraplp

import routing
import routing.benders as benders
import routing.milp as milp
from routing.model import compile_model
from tests.routing.conftest import small


class _NotSolved:
    """A pywraplp solver whose MIP solve ends NOT_SOLVED (the 300/50/96 failure)."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def Solve(self, *args):  # noqa: N802 - pywraplp's name
        return pywraplp.Solver.NOT_SOLVED


@pytest.fixture
def mip_backends_fail(monkeypatch):
    real = milp.build_solver

    def fake(model, solver="SCIP", *args, **kw):
        lp, xs, vs = real(model, solver, *args, **kw)
        return (lp if solver == "GLOP" else _NotSolved(lp)), xs, vs

    monkeypatch.setattr(milp, "build_solver", fake)


def test_milp_not_solved_returns_an_incumbent_and_the_lp_bound(mip_backends_fail):
    inst = routing.generate_instance(1, n_slots=4)
    sol = routing.solve_milp(inst, time_limit=30.0)
    assert sol.status == "feasible"
    assert routing.check_solution(sol) == []
    assert sol.objective > 0 and sol.info["incumbent_from"] == "hint"
    assert [e["status"] for e in sol.trace if e["what"] == "mip"] == ["not_solved"] * 3
    # the bound is the LP relaxation: valid (>= the true optimum, solved here unpatched)
    assert math.isfinite(sol.bound) and sol.bound >= sol.objective


class _ScalingFails:
    """A GLOP solver that ends ABNORMAL while its default scaling is on (what GLOP did on the
    LP at the greedy path choice of +network=large, whose purification costs reach 1e14)."""

    def __init__(self, inner):
        self._inner, self.params = inner, []

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def SetSolverSpecificParametersAsString(self, params):  # noqa: N802 - pywraplp's name
        self.params.append(params)
        return self._inner.SetSolverSpecificParametersAsString(params)

    def Solve(self, *args):  # noqa: N802 - pywraplp's name
        if "use_scaling: false" not in self.params:
            return pywraplp.Solver.ABNORMAL
        return self._inner.Solve(*args)


def test_abnormal_glop_is_retried_so_the_hint_and_the_prices_survive(monkeypatch):
    inst = routing.generate_instance(1, n_slots=4)
    model = compile_model(inst)
    greedy = routing.solve_milp(model, fixed_x=milp.greedy_x(model))  # unpatched
    ref = routing.solve_milp(inst, path_bound=True)
    real = milp.build_solver

    def fake(model, solver="SCIP", *args, **kw):
        lp, xs, vs = real(model, solver, *args, **kw)
        return (_ScalingFails(lp) if solver == "GLOP" else _NotSolved(lp)), xs, vs

    monkeypatch.setattr(milp, "build_solver", fake)
    sol = routing.solve_milp(model, time_limit=30.0, path_bound=True)
    assert sol.info["incumbent_from"] == "hint" and routing.check_solution(sol) == []
    assert sol.objective == pytest.approx(greedy.objective, rel=1e-9) and sol.objective > 0
    # the all-path bound's pricing reads GLOP's duals after the retry: the same bound
    assert sol.path_bound == pytest.approx(ref.path_bound, rel=1e-7)


def test_a_spent_time_limit_tries_no_further_backend(monkeypatch):
    """A backend that used up the limit is not followed by others that would get no time
    (each one's model build alone took 15 s on +network=large); the greedy LP is the
    incumbent."""
    import time

    real = milp.build_solver

    class _Slow(_NotSolved):
        def Solve(self, *args):  # noqa: N802 - pywraplp's name
            time.sleep(1.2)
            return pywraplp.Solver.NOT_SOLVED

    def fake(model, solver="SCIP", *args, **kw):
        lp, xs, vs = real(model, solver, *args, **kw)
        return (lp if solver == "GLOP" else _Slow(lp)), xs, vs

    monkeypatch.setattr(milp, "build_solver", fake)
    sol = routing.solve_milp(routing.generate_instance(1, n_slots=4), time_limit=1.0,
                             hint=None)  # no hint: no incumbent when SCIP's time runs out
    assert [e["solver"] for e in sol.trace if e["what"] == "mip"] == ["SCIP"]
    assert sol.info["incumbent_from"] == "fallback LP" and sol.objective > 0
    assert routing.check_solution(sol) == []


def test_when_every_solver_fails_the_answer_is_the_zero_flow_and_no_bound(monkeypatch):
    """No MIP backend and no LP (GLOP) solves: the answer is y = s = z = 0 at the greedy path
    choice, feasible for every choice (C2 holds, every rate 0), with objective 0, no bound
    (inf) and status ``feasible``: never a point that breaks a constraint, never "optimal"."""
    real = milp.build_solver

    def fake(model, solver="SCIP", *args, **kw):
        lp, xs, vs = real(model, solver, *args, **kw)
        return _NotSolved(lp), xs, vs

    monkeypatch.setattr(milp, "build_solver", fake)
    sol = routing.solve_milp(routing.generate_instance(1, n_slots=4), time_limit=5.0)
    assert sol.info["incumbent_from"] == "zero" and sol.status == "feasible"
    assert sol.objective == 0 and not np.any(sol.y) and math.isinf(sol.bound)
    assert np.all(np.isin(sol.x, (0.0, 1.0))) and routing.check_solution(sol) == []
    assert [e["status"] for e in sol.trace if e["what"] == "mip"] == ["not_solved"] * 3


def test_lp_bound_of_a_failed_milp_is_above_the_optimum():
    inst = routing.generate_instance(1, n_slots=4)
    opt = routing.solve_milp(inst).objective
    lp = milp._lp_solve(compile_model(inst), relax=True)
    assert lp[0] >= opt * (1 - 1e-9)


def test_milp_without_a_limit_falls_back_to_the_greedy_lp(mip_backends_fail):
    sol = routing.solve_milp(routing.generate_instance(2, n_slots=4))
    assert sol.status == "feasible" and routing.check_solution(sol) == []
    assert sol.info["incumbent_from"] == "fallback LP"


def test_time_limited_milp_keeps_a_feasible_incumbent_and_a_valid_bound():
    inst = routing.generate_instance(0, n_base_stations=50, n_pairs=10, n_slots=24)
    model = compile_model(inst)
    opt = routing.solve_milp(model)
    assert opt.status == "optimal"
    cut = routing.solve_milp(model, time_limit=0.001)
    assert cut.status in ("feasible", "optimal")
    assert routing.check_solution(cut) == []
    assert cut.objective <= opt.objective * (1 + 1e-9)
    assert cut.bound >= opt.objective * (1 - 1e-9)


def test_bad_solver_names_and_threads():
    inst = small(0)
    with pytest.raises(ValueError, match="solver"):
        routing.solve_milp(inst, solver="GLPK")
    with pytest.raises(ValueError, match="not available|solver"):
        routing.solve_milp(inst, solver="GUROBI")  # no licence on this machine
    with pytest.raises(ValueError, match="threads"):
        routing.solve_milp(inst, threads=0)
    with pytest.raises(ValueError, match="hint"):
        routing.solve_milp(inst, time_limit=5, hint="best")
    one = routing.solve_milp(inst, threads=1, solver="CBC")
    assert one.status == "optimal"


def _failing_solve(names):
    """cvxpy Problem.solve that raises like the crashes for the backends in ``names``."""
    real = cp.Problem.solve

    def solve(self, *args, solver=None, **kw):
        if solver in names:
            raise cp.error.SolverError(f"Solver '{solver}' failed. Try another solver.")
        return real(self, *args, solver=solver, **kw)
    return solve


@pytest.mark.parametrize("multi_cut", [True, False])
def test_benders_retries_a_failed_lp_with_another_backend(monkeypatch, multi_cut):
    seed = next(s for s in range(25) if compile_model(small(s)).cands.segments)
    model = compile_model(small(seed))
    ref = routing.solve_milp(model)
    monkeypatch.setattr(cp.Problem, "solve", _failing_solve({"HIGHS"}))
    sol = routing.solve_benders(model, multi_cut=multi_cut)
    assert "CLARABEL" in sol.info["lp_backends"]
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(ref.objective, rel=1e-5)
    assert routing.check_solution(sol, tol=1e-5) == []


def test_benders_never_raises_when_every_lp_backend_fails(monkeypatch):
    model = compile_model(small(3))
    monkeypatch.setattr(cp.Problem, "solve", _failing_solve(set(cp.installed_solvers())))
    sol = routing.solve_benders(model, time_limit=20)
    assert sol.status == "feasible" and sol.info["failures"]
    assert routing.check_solution(sol) == []  # y = 0 at some path choice: feasible


def test_benders_unpack_error_is_caught(monkeypatch):
    # cvxpy's "Cannot unpack invalid solution" is a ValueError: retried, not raised
    model = compile_model(small(4))
    ref = routing.solve_milp(model)
    real = cp.Problem.solve
    calls = {"n": 0}

    def flaky(self, *args, solver=None, **kw):
        calls["n"] += 1
        if solver == "HIGHS" and calls["n"] % 3 == 0:
            raise ValueError("Cannot unpack invalid solution: Solution(status=UNKNOWN ...)")
        return real(self, *args, solver=solver, **kw)

    monkeypatch.setattr(cp.Problem, "solve", flaky)
    sol = routing.solve_benders(model)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(ref.objective, rel=1e-5)


def test_benders_master_failure_keeps_the_incumbent(monkeypatch):
    # the seed's link budgets: on the physical default the first master can already be final
    # (few path choices), so a master failure would never be exercised
    model = compile_model(routing.generate_instance(2, n_slots=5, link_model="seed"))
    ref = routing.solve_milp(model)
    real = pywraplp.Solver.CreateSolver

    def create(name):
        s = real(name)
        return _NotSolved(s) if name == "SCIP" else s

    monkeypatch.setattr(benders.pywraplp.Solver, "CreateSolver", create)
    sol = routing.solve_benders(model)
    assert sol.info["stop"] == "master_failed" and sol.status in ("feasible", "optimal")
    assert routing.check_solution(sol) == []
    assert sol.objective <= ref.objective * (1 + 1e-9) <= sol.bound * (1 + 2e-9)


@pytest.mark.parametrize("err", [RuntimeError("boom"), ArithmeticError("boom"),
                                 ValueError("boom")])
def test_an_unforeseen_benders_failure_returns_the_greedy_lp_not_a_traceback(monkeypatch, err):
    """DESIGN: a solve never raises on solver trouble. Anything unforeseen inside Benders
    (not bad input) returns the greedy path choice's LP: feasible, no bound, the error in
    ``info``; its objective is that LP's, solved here with scipy on the compiled model."""
    from scipy.optimize import linprog

    model = compile_model(small(3))
    opt = routing.solve_milp(model).objective

    def broken(*args, **kwargs):
        raise err

    monkeypatch.setattr(benders, "_benders", broken)
    sol = routing.solve_benders(model)
    assert sol.status == "feasible" and sol.bound == math.inf
    assert sol.info["stop"] == "error" and "boom" in sol.info["error"]
    assert routing.check_solution(sol) == []
    # the same LP (x fixed to the solution's path choice) by an independent solver
    # (C1: 0 <= y_j <= Y_j x_j; C3-C5: A_ub v <= b_ub; C6: A_eq v = 0; v = [y, s, z] >= 0)
    x = np.asarray(sol.x, float)
    upper = [*(model.ymax * x), *([None] * (model.n_vars - model.n_y))]
    res = linprog(-model.c, A_ub=model.A_ub.toarray(), b_ub=model.b_ub,
                  A_eq=model.A_eq.toarray(), b_eq=np.zeros(model.A_eq.shape[0]),
                  bounds=list(zip([0.0] * model.n_vars, upper, strict=True)), method="highs")
    assert res.status == 0
    assert 0 < sol.objective == pytest.approx(-res.fun, rel=1e-7) and sol.objective <= opt
    monkeypatch.setattr(benders, "_benders", lambda *a, **k: (_ for _ in ()).throw(
        ValueError("tol = -1 is invalid; accepted: a relative gap in [0, 1)")))
    with pytest.raises(ValueError, match="accepted"):  # bad input is said, not rescued
        routing.solve_benders(model)


def test_tiny_right_hand_sides_are_cleaned():
    r = benders._clean_rhs(np.array([1e-19, 5.0, 0.3, -1e-12, 4e-9]))
    assert list(r) == [0.0, 5.0, 0.3, 0.0, 0.0]
    assert benders.CORE_MIX > 0


def test_highs_with_a_time_limit_solves_and_does_not_crash():
    """pywraplp's HiGHS segfaulted on a hinted solve (solve_milp hints whenever a time limit is
    set): run in a child process, so a crash fails this test instead of the test worker."""
    import subprocess
    import sys

    code = ("import routing; from tests.routing.conftest import small; inst = small(0); "
            "a = routing.solve_milp(inst, solver='HIGHS', time_limit=60); "
            "b = routing.solve_milp(inst, solver='SCIP'); "
            "print(a.status, a.objective, b.objective)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=str(__import__("pathlib").Path(__file__).parents[2]))
    assert out.returncode == 0, out.stderr[-2000:]
    status, a, b = out.stdout.split()[-3:]
    assert status == "optimal" and float(a) == pytest.approx(float(b), rel=1e-4)


@pytest.mark.parametrize("method", ["milp", "benders"])
def test_ctrl_c_stops_a_solve_and_is_not_swallowed(method):
    """SCIP caught SIGINT and returned its incumbent as a plain `feasible` result, so an
    experiment stored the cell as finished (never recomputed). Now the interrupt propagates at
    once. Child process: the SIGINT goes to it, not to pytest; the solve alone takes ~10 s."""
    import subprocess
    import sys

    call = ("routing.solve_milp(m, time_limit=60)" if method == "milp"
            else "routing.solve_benders(m, time_limit=60)")
    code = (
        "import os, signal, threading, time, routing\n"
        # Python's own handler, as in a terminal: an xdist worker ignores SIGINT and its
        # children inherit that
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "inst = routing.generate_instance(2, storage_capacity=20000, max_real_paths=32)\n"
        "m = routing.compile_model(inst)\n"
        "threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
        "t0 = time.time()\n"
        "try:\n"
        f"    sol = {call}\n"
        "    print('returned', sol.status, time.time() - t0)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', time.time() - t0)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    what, seconds = out.stdout.split()[0], float(out.stdout.split()[-1])
    assert what == "interrupted" and seconds < 6.0, out.stdout


@pytest.mark.parametrize("call,match", [
    (lambda i: routing.solve_milp(i, time_limit="10"), "time_limit"),
    (lambda i: routing.solve_milp(i, time_limit=float("nan")), "time_limit"),
    (lambda i: routing.solve_milp(i, fallback="HIGHS"), "fallback"),
    (lambda i: routing.solve_milp(i, path_bound="yes"), "path_bound"),
    (lambda i: routing.solve_milp(i, time_limit=10, hint=np.full(
        compile_model(i).n_y, 2.0)), "hint"),
    (lambda i: routing.solve_milp(i, time_limit=10, hint=np.ones(compile_model(i).n_y)),
     "hint chooses"),
    (lambda i: routing.solve_benders(i, time_limit=0), "time_limit"),
    (lambda i: routing.solve_benders(i, time_limit=-1), "time_limit"),
    (lambda i: routing.solve_benders(i, time_limit=float("nan")), "time_limit"),
    (lambda i: routing.solve_benders(i, lp_tol=-1), "lp_tol"),
    (lambda i: routing.solve_benders(i, multi_cut="yes"), "multi_cut"),
    (lambda i: routing.solve_benders(i, pareto=1), "pareto"),
    (lambda i: routing.solve_milp(i, fixed_x=np.ones(compile_model(i).n_y)), "fixed_x"),
    (lambda i: routing.with_path_bound(routing.solve_milp(i), 0), "time_limit"),
    (lambda i: routing.with_path_bound(routing.solve_milp(i), -1), "time_limit"),
])
def test_bad_solve_arguments_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call(small(0))


def test_an_infinite_time_limit_means_none():
    inst = small(0)
    assert routing.solve_milp(inst, time_limit=math.inf).objective == pytest.approx(
        routing.solve_milp(inst).objective, rel=1e-9)


def test_a_priced_solve_keeps_to_its_time_limit():
    """The pricing of a priced path set ran outside `time_limit` (its closure MILPs had 120 s
    each: 131 s under a 5 s limit). Now it shares the limit; the result is feasible, checked,
    and its bound (at worst the all-path bound) is above it."""
    import time

    inst = routing.generate_instance(0, storage_capacity=1e4, n_pairs=2, n_slots=4)
    t0 = time.perf_counter()
    sol = routing.solve_milp(inst.with_options(path_set="priced"), time_limit=5.0)
    assert time.perf_counter() - t0 < 60.0
    assert sol.path_set == "priced" and routing.check_solution(sol) == []
    assert sol.objective > 0 and math.isfinite(sol.bound)
    assert sol.path_bound >= sol.objective * (1 - 1e-9) and sol.bound >= sol.objective


@pytest.mark.parametrize("call,key", [
    (lambda i: routing.generate_instance(0, n_slots=True), "n_slots"),
    (lambda i: routing.generate_instance(0, n_pairs=True), "n_pairs"),
    (lambda i: routing.generate_instance(0, n_storage_per_city=True), "n_storage_per_city"),
    (lambda i: routing.generate_instance(0, samples_per_slot=True), "samples_per_slot"),
    (lambda i: routing.generate_instance(0, max_rounds=True), "max_rounds"),
    (lambda i: routing.PathOptions(max_columns=True), "max_columns"),
    (lambda i: dataclasses.replace(i, n_slots=True), "n_slots"),
    (lambda i: routing.solve_milp(i, threads=True), "threads"),
    (lambda i: routing.solve_benders(i, max_iterations=True), "max_iterations"),
    (lambda i: routing.solve_benders(i, drop_slack_after=True), "drop_slack_after"),
    (lambda i: routing.purification.purify(0.8, 0.9, max_rounds=True), "max_rounds"),
])
def test_counts_refuse_bools(call, key):
    """A bool is not a count: True read as 1 slot, pair, round or iteration before."""
    with pytest.raises(ValueError, match=rf"^(options\.)?{key} = True "):
        call(small(0))


def test_a_master_that_fails_on_its_hint_is_solved_afresh():
    """The seed's link model with every link at fidelity 1: SCIP's integer master failed on
    the incumbent hint ("cannot set solution value for multiple aggregated variable", status
    4; the same solver then failed again at once), which ended Benders "feasible" at a 5e-5
    gap. Solved afresh without the hint, it converges to the MILP's optimum."""
    inst = routing.generate_instance(0, link_model="seed", link_fidelity=(1.0, 1.0))
    ref = routing.solve_milp(inst)
    sol = routing.solve_benders(inst)
    assert sol.status == "optimal" and sol.info["stop"] == "converged"
    assert sol.objective == pytest.approx(ref.objective, rel=1e-9)
    assert routing.check_solution(sol) == []


def test_an_injected_hint_failure_is_solved_afresh(monkeypatch):
    """The same recovery without relying on SCIP's presolve: every hinted master solve fails
    (ABNORMAL); the fresh solver, built from the model's proto, is not hinted and solves."""
    model = compile_model(routing.generate_instance(2, n_slots=5, link_model="seed"))
    ref = routing.solve_milp(model)
    hinted, real_hint, real_solve = set(), pywraplp.Solver.SetHint, benders.solve_interruptibly

    def set_hint(self, *args):
        hinted.add(id(self))
        return real_hint(self, *args)

    def solve(s, params=None):
        return pywraplp.Solver.ABNORMAL if id(s) in hinted else real_solve(s, params)

    monkeypatch.setattr(pywraplp.Solver, "SetHint", set_hint)
    monkeypatch.setattr(benders, "solve_interruptibly", solve)
    sol = routing.solve_benders(model)
    assert "milp master status 4 with the incumbent hint; solved without it" in \
        sol.info["failures"]
    assert sol.status == "optimal" and sol.info["stop"] == "converged"
    assert sol.objective == pytest.approx(ref.objective, rel=1e-9)
    assert routing.check_solution(sol) == []
