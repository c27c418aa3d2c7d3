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
