"""Solver-neutral files of the PS-EGR MILP: MPS (free format) and LP.

The file holds exactly the model that :func:`routing.solve_milp` solves (same builder), with
named rows (``C1[...]``..``C6[...]``) and columns (``x[...]``, ``y[...]``, ``s[...]``, ``z[...]``),
so any MPS reader (HiGHS, SCIP, Gurobi, CPLEX) can re-solve and check it. The objective sense is
maximization (written by OR-Tools in an ``OBJSENSE`` section).
"""

from __future__ import annotations

from pathlib import Path

from routing.instance import Instance
from routing.milp import build_solver
from routing.model import CompiledModel, compile_model


def model_text(inst: Instance | CompiledModel, fmt: str = "mps") -> str:
    model = inst if isinstance(inst, CompiledModel) else compile_model(inst)
    lp, _, _ = build_solver(model, "SCIP")
    if fmt == "mps":
        return lp.ExportModelAsMpsFormat(fixed_format=False, obfuscate=False)
    if fmt == "lp":
        return lp.ExportModelAsLpFormat(obfuscate=False)
    raise ValueError(f"fmt = {fmt!r} is invalid; accepted: one of ['mps', 'lp']")


def write_mps(inst: Instance | CompiledModel, path: str | Path) -> Path:
    """Write the MILP of ``inst`` as a free-format MPS file; return the path."""
    path = Path(path)
    path.write_text(model_text(inst, "mps"))
    return path


def write_lp(inst: Instance | CompiledModel, path: str | Path) -> Path:
    """Write the MILP of ``inst`` in LP format; return the path."""
    path = Path(path)
    path.write_text(model_text(inst, "lp"))
    return path
