"""Shared pieces of the VQS experiments (table1, fig2, fig3): one cell = GA structure search
+ angle/time refinement for one (N, noise, gamma, field), GHZ on the same optimizer."""

from __future__ import annotations

from typing import Any

import numpy as np

from qsense.genetic import GAConfig, ProbeResult, RefineConfig, find_optimal_probe
from qsense.genome import describe
from qsense.optimize import Problem


def ga_config(search: Any) -> GAConfig:
    """`qsense.genetic.GAConfig` from an ``experiments.schema.VQSSearchConfig``."""
    return GAConfig(population=search.population, generations=search.generations,
                    max_genes=search.max_genes, init_genes=search.init_genes,
                    elite=search.elite, tournament=search.tournament,
                    operator_probs=tuple(search.operator_probs), max_run=search.max_run,
                    angle_sigma=search.angle_sigma, n_t=search.n_t)


def refine_config(search: Any) -> RefineConfig:
    return RefineConfig(method=search.refine_method, steps=search.refine_steps,
                        learning_rate=search.learning_rate, top_k=search.top_k,
                        restarts=search.restarts, jitter=search.jitter)


def problem(n: int, noise: str, gamma: float, field: str, b0: Any, precision: str) -> Problem:
    import jax.numpy as jnp

    dtype = jnp.complex64 if precision == "float32" else jnp.complex128
    return Problem(n, noise, gamma, field, b0=b0, dtype=dtype)


def solve(prob: Problem, search: Any, seed: int, progress: bool) -> ProbeResult:
    return find_optimal_probe(prob, ga_config(search), refine_config(search), seed=seed,
                              progress=progress)


def genome_record(res: ProbeResult) -> dict[str, Any]:
    """JSON-able record of the optimal probe (for checkpoints and figures)."""
    g = res.genome
    return {"gate": np.asarray(g.gate).tolist(), "control": np.asarray(g.control).tolist(),
            "target": np.asarray(g.target).tolist(), "angle": np.asarray(g.angle).tolist(),
            "circuit": "; ".join(describe(g)) or "(empty: GHZ)"}


def cell_seed(seed: int, *parts: Any) -> int:
    """A stable per-cell seed derived from the run seed and the cell's coordinates."""
    import zlib

    return (seed * 1_000_003 + zlib.crc32(repr(parts).encode())) % (2**31 - 1)
