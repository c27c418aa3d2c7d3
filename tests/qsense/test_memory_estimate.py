"""The GA's memory estimate (`qsense.genetic.estimate_bytes`, what the experiments check up
front without compiling) bounds XLA's own plan of the generation program from above, and not
loosely where it matters (large N), and its floor (`PLAN_FLOOR_ARRAYS`, what `search` refuses
by before compiling) bounds it from below; `search` itself sizes its programs by that plan
(test_ga_chunks.py).

XLA's plan is read here from the compiled program's memory analysis (arguments + outputs +
temporaries - aliases: what one device must hold), for small populations across what shapes
it: the field (scalar, vector), the memetic local steps (on or off), the grid's length (1, 2,
8 times: with few times the steps, not the grid, set the size), N, the gene count, float32
scoring and a complex64 problem.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import pytest

from qsense.genetic import GAConfig, _programs, _row_layout, _static_config, empty_genome
from qsense.objective import Problem
from qsense.optimize import default_t_grid

#: the small genomes of some cases are below the product family's 3N - 1 genes: expected here
pytestmark = pytest.mark.filterwarnings("ignore:GAConfig.max_genes:UserWarning")


def xla_plan(p: Problem, cfg: GAConfig, chunk: int | None, devices) -> int:
    """XLA's plan (bytes per device) of the generation program `search` runs for ``p`` and
    ``cfg`` with ``chunk`` rows per chunk (None: unchunked) over ``devices``, from the
    compiled program's memory analysis (not through `qsense.distributed.program_bytes`, which
    the search uses)."""
    ev, _ = _programs(p.n_qubits, dataclasses.replace(_static_config(cfg), chunk_rows=chunk),
                      tuple(devices))
    n_pad = _row_layout(cfg.population, len(devices), chunk)[0]
    real = jnp.float32 if p.dtype == jnp.complex64 else jnp.float64
    e = empty_genome(cfg.max_genes, real)
    pop = jax.tree_util.tree_map(lambda a: jnp.repeat(a[None], n_pad, 0), e)
    ts = jnp.asarray(default_t_grid(p, cfg.n_t), real)
    t = jnp.full((n_pad,), ts[0])
    ma = ev.jitted.lower(jax.random.PRNGKey(0), pop, jnp.zeros_like(t), t, ts, p,
                         jnp.asarray(False)).compile().memory_analysis()
    return (ma.argument_size_in_bytes + ma.output_size_in_bytes + ma.temp_size_in_bytes
            - ma.alias_size_in_bytes)


VEC = (0.3, 0.2, 1.0)
#: (N, noise, field, n_t, local_steps, max_genes, score_dtype, problem dtype); 10 local steps
#: (the default): one step compiles to less (no loop), so its plan is smaller
CASES = [
    (2, "bitflip", "vector", 1, 10, 16, "float64", None),  # genes, not 4^N, set the size
    (3, "dephasing", "scalar", 1, 10, 16, "float64", None),
    (3, "dephasing", "scalar", 2, 10, 32, "float64", None),  # more genes
    (3, "dephasing", "scalar", 2, 1, 5, "float64", None),  # one step, few genes: the least
    (4, "dephasing", "scalar", 8, 0, 16, "float64", None),  # no memetic steps
    (4, "bitflip", "vector", 1, 10, 16, "float64", None),
    (4, "bitflip", "vector", 8, 0, 16, "float64", None),  # the grid alone
    (4, "dephasing", "scalar", 1, 10, 16, "float32", None),  # float32 scoring
    (4, "dephasing", "scalar", 8, 10, 16, "float64", jnp.complex64),
    (6, "dephasing", "scalar", 2, 10, 16, "float64", None),  # the steps dominate
    (6, "amplitude_damping", "scalar", 8, 10, 16, "float64", None),  # the grid dominates
    (6, "bitflip", "vector", 2, 10, 16, "float64", None),
]


@pytest.mark.parametrize("n,noise,field,n_t,steps,genes,score_dtype,dtype", CASES)
def test_estimate_bounds_xlas_plan(n, noise, field, n_t, steps, genes, score_dtype, dtype):
    from qsense.genetic import _floor_bytes_per_row, estimate_bytes

    p = Problem(n, noise, 0.1, field, b0=1.0 if field == "scalar" else VEC, dtype=dtype)
    cfg = GAConfig(population=8, elite=2, n_t=n_t, local_steps=steps, max_genes=genes,
                   init_genes=2, score_dtype=score_dtype)
    plan = xla_plan(p, cfg, None, jax.devices()[:1])
    est = estimate_bytes(p, cfg)
    assert est >= plan, (est, plan)
    # the floor `search` refuses by without compiling lies below the plan
    assert cfg.population * _floor_bytes_per_row(p, cfg) <= plan
    if n >= 6 and score_dtype == "float64":  # where memory matters: a bound with little room
        assert est <= 2 * plan, (est, plan)
