"""cvxpy (with HiGHS through highspy) and OR-Tools (SCIP, and its bundled HiGHS) in one process.

DESIGN section 5: highspy 1.15 and the HiGHS inside ortools 9.15 cannot load in one process;
pyproject pins highspy < 1.15. This test loads and solves with all of them, in both orders.
"""

import cvxpy as cp
import highspy
import numpy as np
import pytest
from ortools.linear_solver import pywraplp


def _cvxpy_lp() -> float:
    x = cp.Variable(2, nonneg=True)
    prob = cp.Problem(cp.Maximize(x[0] + 2 * x[1]), [x[0] + x[1] <= 4, x[1] <= 3])
    prob.solve(solver=cp.HIGHS)
    return prob.value


def _ortools_mip(backend: str) -> float:
    s = pywraplp.Solver.CreateSolver(backend)
    assert s is not None, backend
    a = s.IntVar(0, 10, "a")
    b = s.IntVar(0, 10, "b")
    s.Add(2 * a + 3 * b <= 12)
    s.Maximize(3 * a + 4 * b)
    assert s.Solve() == pywraplp.Solver.OPTIMAL
    return s.Objective().Value()


def _highspy_lp() -> float:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    h.addVars(2, np.zeros(2), np.array([inf, inf]))
    h.changeColsCost(2, np.array([0, 1]), np.array([-1.0, -2.0]))
    h.addRow(-inf, 4.0, 2, np.array([0, 1]), np.array([1.0, 1.0]))
    h.run()
    return -h.getInfo().objective_function_value


@pytest.mark.parametrize("order", ["cvxpy_first", "ortools_first"])
def test_cvxpy_highs_and_ortools_scip_highs_in_one_process(order):
    steps = [("cvxpy", _cvxpy_lp), ("scip", lambda: _ortools_mip("SCIP")),
             ("ortools_highs", lambda: _ortools_mip("HIGHS")), ("highspy", _highspy_lp)]
    if order == "ortools_first":
        steps = steps[1:3] + [steps[0], steps[3]]
    results = {name: fn() for name, fn in steps}
    assert results["cvxpy"] == pytest.approx(7.0)  # x = (1, 3)
    assert results["scip"] == pytest.approx(18.0)  # a = 6, b = 0
    assert results["ortools_highs"] == pytest.approx(18.0)
    assert results["highspy"] == pytest.approx(8.0)  # x1 = 4
