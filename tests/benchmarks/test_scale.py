"""benchmarks/scale.py (the GPU-scale table): a cell whose compiled program needs more memory
than the device may use is recorded as not fitting and never run; a cell that runs computes
THE objective's value. No timing is asserted (the smoke run is in test_smoke.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import qsense
from benchmarks.scale import B0, GAMMA, NOISE, T, fitness_cell, ga_cell


def test_cells_that_do_not_fit_are_not_run():
    r = fitness_cell(3, 8, "float64", genes=4, reps=1, limit=1.0)
    assert r["status"] == "does not fit" and r["xla_bytes"] > 1 and "call_s" not in r
    g = ga_cell(3, 8, "float64", n_t=2, local_steps=1, reps=1, limit=1.0)
    assert g["status"] == "does not fit" and g["estimate_bytes"] > 1
    assert "generation_s" not in g
    # compiled for its memory only (a cell the budget leaves unrun): fits, never called
    c = fitness_cell(3, 8, "float64", genes=4, reps=1, limit=1e12, run=False)
    assert c["status"] == "fits, not run" and c["xla_bytes"] == r["xla_bytes"]
    assert "call_s" not in c


def test_a_ga_cell_runs_when_xlas_plan_fits_though_the_estimate_does_not():
    """A GA cell is sized as `search` sizes its generation: by XLA's plan of the compiled
    program (here from the test's own helper), not by the estimate, an upper bound (on the
    H200 the estimate, 144 GiB, called N = 10 with 256 rows "does not fit"; it ran whole in
    120 GiB). Just under the plan: recorded with XLA's figure, never run."""
    from qsense.genetic import GAConfig
    from qsense.objective import Problem
    from tests.qsense.test_memory_estimate import xla_plan

    cfg = GAConfig(population=8, n_t=2, local_steps=1)
    plan = xla_plan(Problem(3, NOISE, GAMMA), cfg, None, jax.devices()[:1])
    kw = {"n_t": 2, "local_steps": 1, "reps": 1}
    free = ga_cell(3, 8, "float64", limit=1e12, **kw)
    assert free["status"] == "ok" and free["xla_bytes"] == plan < free["estimate_bytes"]
    between = ga_cell(3, 8, "float64", limit=(plan + free["estimate_bytes"]) / 2, **kw)
    assert between["status"] == "ok" and between["generation_s"] > 0
    assert between["best_fitness"] == free["best_fitness"]  # the same generation
    under = ga_cell(3, 8, "float64", limit=plan - 1, **kw)
    assert under["status"] == "does not fit" and under["xla_bytes"] == plan
    assert "generation_s" not in under and "first_call_s" not in under  # never called


def test_a_cell_that_fits_runs_the_objective():
    r = fitness_cell(3, 8, "float64", genes=4, reps=1, limit=1e12)
    assert r["status"] == "ok" and r["circuits_per_s"] > 0
    # the same random population, scored by make_fitness
    keys = jax.random.split(jax.random.PRNGKey(3), 8)
    pop = jax.vmap(lambda k: qsense.random_genome(k, 3, 4, dtype=jnp.float64))(keys)
    ref = qsense.make_fitness(3, NOISE)(pop, T, GAMMA, B0)
    np.testing.assert_allclose(r["first_value"], float(ref[0]), rtol=1e-12)
    # (a GA cell that fits runs in the smoke run, test_smoke.py)


def test_budget_stops_before_the_next_cell_and_keeps_the_json(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "scale.json"
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / "scale.py"), "--smoke",
                           "--device", "cpu", "--budget-s", "0", "--out", str(out)], cwd=root,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["fitness"] == [] and res["ga"] == [] and res["budget_exhausted"] is True
    assert res["largest_n_fitting_float64"] is None and "ran out" in proc.stdout


def test_plan_runs_the_wanted_cells_first_and_every_cell_once():
    from benchmarks.scale import plan_cells

    sizes, pops = [5, 8, 10, 12], [256, 1024, 4096]
    plan = plan_cells(sizes, pops, ["float64", "float32"], [5, 8], [256, 1024], 256)
    want = ([("fit", n, p, d) for n in sizes for p in pops for d in ("float64", "float32")]
            + [("ga", n, p) for n in (5, 8) for p in (256, 1024)])
    assert sorted(plan) == sorted(want)  # every cell, once
    # the figures first: float64 at population 256 for every N (the targets and the
    # largest N that fits), then a GA generation at every GA size
    assert plan[:6] == [("fit", n, 256, "float64") for n in sizes] + [("ga", 5, 256),
                                                                       ("ga", 8, 256)]


def test_cells_needing_more_than_one_that_did_not_fit_are_not_run():
    from benchmarks.scale import _skip_larger, _skipped

    rules: list = []
    _skip_larger(rules, ("fit", 11, 256, "float64"), "N=11 did not fit")
    assert _skipped(rules, ("fit", 12, 256, "float64")) == "N=11 did not fit"
    assert _skipped(rules, ("fit", 11, 1024, "float64")) == "N=11 did not fit"
    assert _skipped(rules, ("fit", 11, 256, "float64")) is None  # the cell itself
    assert _skipped(rules, ("fit", 12, 256, "float32")) is None  # float32 needs half
    assert _skipped(rules, ("fit", 10, 4096, "float64")) is None  # smaller N
    assert _skipped(rules, ("ga", 12, 256)) is None
    # too slow: only that N's larger populations
    _skip_larger(rules, ("fit", 8, 256, "float32"), "slow", same_n=True)
    assert _skipped(rules, ("fit", 8, 1024, "float32")) == "slow"
    assert _skipped(rules, ("fit", 9, 1024, "float32")) is None


def test_a_cell_predicted_past_the_budget_is_not_started():
    from benchmarks.scale import _over_budget

    rows = [{"n_qubits": 5, "population": 256, "dtype": "float64", "status": "ok",
             "call_s": 0.01},
            {"n_qubits": 10, "population": 256, "dtype": "float64", "status": "ok",
             "call_s": 2.0}]
    # nearest finished cell: N = 10, population 256 -> N = 11 costs 8x (dimension cubed)
    assert _over_budget(("fit", 11, 256, "float64"), rows, [], 20.0) is None  # ~16 s
    assert "16" in _over_budget(("fit", 11, 256, "float64"), rows, [], 10.0)
    assert "8" in _over_budget(("fit", 10, 1024, "float64"), rows, [], 5.0)  # 4x in P
    assert _over_budget(("fit", 5, 4096, "float64"), rows, [], 1.0) is None  # 0.16 s
    assert _over_budget(("fit", 11, 256, "float32"), rows, [], 1.0) is None  # no data
    # a GA cell runs float64 and mixed: 1.0 + 0.5 s at 256 -> ~6 s at 1024
    ga = [{"n_qubits": 5, "population": 256, "status": "ok", "generation_s": 1.0},
          {"n_qubits": 5, "population": 256, "status": "ok", "generation_s": 0.5}]
    assert _over_budget(("ga", 5, 1024), [], ga, 6.5) is None
    assert "6" in _over_budget(("ga", 5, 1024), [], ga, 5.0)


def test_largest_n_that_fits_counts_cells_compiled_but_left_unrun():
    from benchmarks.scale import summarize

    rows = [{"n_qubits": n, "population": 256, "dtype": "float64", "status": st,
             "circuits_per_s": 300.0} for n, st in
            ((10, "ok"), (11, "fits, not run"), (12, "does not fit"))]
    rows.append({"n_qubits": 12, "population": 256, "dtype": "float32", "status": "ok",
                 "circuits_per_s": 1.0})  # another dtype: not the float64 figure
    s = summarize(rows, 256, "gpu")
    assert s["largest_n_fitting_float64"] == 10  # ran
    assert s["largest_n_fitting_float64_by_xla"] == 11  # fits by XLA's analysis
    assert s["targets"][10]["met"] is True and s["targets"][5]["met"] is None
    assert summarize(rows, 256, "cpu")["targets"][10]["met"] is None  # GPU targets only
