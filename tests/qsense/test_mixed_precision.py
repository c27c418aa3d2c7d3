"""Mixed precision (``GAConfig(score_dtype="float32")``): generations are scored in float32,
the elite and the final probes are re-scored in float64, the reported values are float64,
and the search + float64 refinement ends where the float64-only search ends.

Tolerances. Re-scored values must equal the float64 objective of the same genome and time to
1e-12 (the same float64 computation; float32 rounding alone is ~1e-7 relative, so a value left
in float32 fails). The refined optima of the two searches must agree to 1e-9 relative: both
refinements run L-BFGS in float64 to a maximum, where the value error is quadratic in the
parameter error (1e-9 <-> ~3e-5 rad), while any float32 value in the reported result carries
>= 1e-8 relative rounding (float32 eps 1.2e-7, accumulated over the circuit and the eigh).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsense.genetic import (
    GAConfig,
    RefineConfig,
    _programs,
    _static_config,
    find_optimal_probe,
    initial_population,
    search_t_grid,
)
from qsense.genome import empty_genome
from qsense.objective import Problem, score

# The searches: test_genetic's SMALL (conf/search/quick.yaml's program shapes), so the float64
# search's programs are the ones other tests compile (the run's cache)
from tests.qsense.test_genetic import SMALL


def _f64_scores(problem: Problem, genomes, ts) -> np.ndarray:
    """The float64 objective of each row at its own time (the reference for re-scores)."""
    assert jnp.dtype(problem.dtype or jnp.result_type(complex)) == jnp.complex128
    v = jax.vmap(lambda g, t: score(problem, g, t))(genomes, jnp.asarray(ts))
    return np.asarray(v)


def test_problem_astype_casts_structure_and_data():
    p = Problem(3, "bitflip", 0.1, "vector", (0.1, 0.2, 0.3), sensors=(1.0, 0.0, 1.0))
    q = p.astype(jnp.complex64)
    assert q.structure.dtype == jnp.complex64 and q.structure.covariant == p.structure.covariant
    assert np.asarray(q.dissipator).dtype == np.complex64
    assert np.asarray(q.gamma).dtype == np.float32 and np.asarray(q.b0).dtype == np.float32
    assert np.asarray(q.sensors).dtype == np.float32
    np.testing.assert_allclose(np.asarray(q.b0), [0.1, 0.2, 0.3], rtol=1e-7)
    back = q.astype(jnp.complex128)
    assert np.asarray(back.gamma).dtype == np.float64
    with pytest.raises(ValueError, match="dtype"):
        p.astype(jnp.float32)


def test_generation_scores_in_float32_and_rescores_the_elite_in_float64():
    """One mixed generation program: the max(elite, 1) fittest rows carry the float64
    objective (1e-12), every other row the float32 one (it differs from float64 by float32
    rounding, and equals the objective of the float32 problem to float32 accuracy)."""
    prob = Problem(2, "bitflip", 0.1)
    cfg = dataclasses.replace(SMALL, score_dtype="float32")  # the bit-flip search's programs
    p, e = cfg.population, cfg.elite
    evaluate, generation = _programs(2, _static_config(cfg))
    ts = jnp.asarray(search_t_grid(prob, cfg))
    pop0 = initial_population(jax.random.PRNGKey(2), prob, cfg)
    pop, fit, tt = evaluate(pop0, jnp.full((p,), ts[0]), ts, prob)
    pop, fit, tt = generation(jax.random.PRNGKey(5), pop, fit, tt, ts, prob)
    assert pop.angle.dtype == jnp.float64 and fit.dtype == jnp.float64
    fit, tt = np.asarray(fit), np.asarray(tt)
    f64 = _f64_scores(prob, pop, tt)
    top = np.argsort(-fit, kind="stable")[:e]
    rest = np.setdiff1d(np.arange(p), top)
    np.testing.assert_allclose(fit[top], f64[top], rtol=1e-12, atol=0)
    low = prob.astype(jnp.complex64)
    pop32 = dataclasses.replace(pop, angle=pop.angle.astype(jnp.float32))
    f32 = np.asarray(jax.vmap(lambda g, t: score(low, g, t))(pop32, jnp.asarray(tt, jnp.float32)))
    np.testing.assert_allclose(fit[rest], f32[rest], rtol=2e-5)
    rel = np.abs(fit[rest] - f64[rest]) / np.abs(f64[rest])
    assert np.all(rel < 1e-4) and np.any(rel > 1e-12)  # float32 values, not float64 ones


# Table 1 cells (gamma = 0.1, scalar field at B0 = 1; a vector-field cell at B = 0), a small
# search (compilation dominates the test's time: ~35 CPU-s a cell), refinement by L-BFGS: each
# noise once, both fields, N = 2 and 3. Three cells, not every noise x field (six were run
# until 2026-12-02, all equal to <= 1.3e-14): each cell compiles its own GA and refinement
# programs, and the suite must fit CI's 20 minutes. Left out: N = 3 amplitude damping, where
# this small search is not reliable: its float64 and mixed runs end in different local optima
# (scalar: 163.52 vs 162.95; vector: QCRB 0.0142588 vs 0.0142582, 2026-11-30), as float64 runs
# with other seeds do (with the table1 search settings, seeds 1-3: 163.983, 163.983, 163.652
# in float64, the same to 4e-8 in mixed precision). The claim tested is "same optimum", so it
# needs a search that finds it.
CELLS = [(2, "bitflip", "scalar"), (2, "amplitude_damping", "vector"),
         (3, "dephasing", "scalar")]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:GAConfig.max_genes:UserWarning")  # the small search, N = 3
@pytest.mark.parametrize("n,noise,field", CELLS)
def test_mixed_search_matches_float64_search(n, noise, field):
    prob = Problem(n, noise, 0.1, field)
    # 30 L-BFGS steps: both runs end within 8e-15 of their 100-step values in every cell (the
    # first three within 4e-15 by step 20; 2026-11-30), so both still end at the optimum; at
    # XLA -O0 each step is run time (~0.1 s), not compilation
    refine = RefineConfig(method="lbfgs", steps=30, top_k=2, restarts=1)
    out = {}
    for sd in ("float64", "float32"):
        ga = dataclasses.replace(SMALL, score_dtype=sd)
        out[sd] = find_optimal_probe(prob, ga, refine, seed=0)
    a, b = out["float64"], out["float32"]
    # every fitness the mixed search reports (final population, best, GHZ, history) is the
    # float64 objective of the reported genome at the reported time
    r = b.search
    assert r.fitnesses.dtype == np.float64 and r.population.angle.dtype == jnp.float64
    np.testing.assert_allclose(r.fitnesses, _f64_scores(prob, r.population, r.ts), rtol=1e-12)
    np.testing.assert_allclose(r.fitness, float(score(prob, r.genome, r.t)), rtol=1e-12)
    np.testing.assert_allclose(r.ghz_fitness, float(score(prob, empty_genome(1), r.ghz_t)),
                               rtol=1e-12)
    assert r.history["best"][-1] == pytest.approx(r.fitness, rel=1e-12)
    # and the search + float64 refinement ends where the float64-only one ends
    np.testing.assert_allclose(b.value, a.value, rtol=1e-9)
    np.testing.assert_allclose(b.ghz_value, a.ghz_value, rtol=1e-9)
    # the reported optimum is the float64 merit of the reported probe
    merit = float(score(prob, b.genome, b.t)) * (1 if field == "scalar" else -1)
    np.testing.assert_allclose(b.value, merit, rtol=1e-12)


def test_score_dtype_is_validated():
    with pytest.raises(ValueError, match="score_dtype"):
        GAConfig(score_dtype="float16")
