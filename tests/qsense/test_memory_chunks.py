"""The refinement and the t-grid scan fit their work to the devices' memory.

``scan_t`` and ``optimize_angles`` run their rows in chunks when all at once would not fit
(`qsense.optimize.rows_that_fit`, per-row sizes `SCAN_MATRICES` / `OPTIMIZER_MATRICES` in
complex 2^N x 2^N matrices). Checked here: those sizes stay above what XLA itself reports for
the compiled programs (``memory_analysis``), chunked runs give the unchunked results, and a
limit below one row is a clear error naming N."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsense import optimize as opt
from qsense.genome import random_genome
from qsense.objective import Problem

N = 5


def _problem(field: str) -> Problem:
    if field == "scalar":
        return Problem(N, "dephasing", 0.1)
    return Problem(N, "bitflip", 0.1, "vector", (0.0, 0.0, 0.0))


def _genomes(rows: int, seed: int = 0):
    keys = jax.random.split(jax.random.PRNGKey(seed), rows)
    return jax.vmap(lambda k: random_genome(k, N, 6))(keys)


def _matrix_bytes(problem: Problem) -> int:
    return (2 ** problem.n_qubits) ** 2 * 16


@pytest.mark.parametrize("field", ["scalar", "vector"])
def test_row_sizes_bound_what_xla_allocates(field):
    """XLA's own temp-buffer accounting of the two programs, per row, is below the sizes the
    chunking assumes (and within 4x of them: the bound is not vacuous)."""
    p = _problem(field)
    g = _genomes(3)
    ts = jnp.linspace(1.0, 5.0, 4)
    scan = opt._scan_scores.lower(p, g, ts).compile().memory_analysis()
    per_eval = scan.temp_size_in_bytes / (3 * 4) / _matrix_bytes(p)
    assert opt.SCAN_MATRICES[field] / 4 < per_eval <= opt.SCAN_MATRICES[field]
    run = opt._compiled_run("adam", "autodiff", 0.05, (-3.0, 3.0), True, 3)
    params = {"angle": g.angle, "log_t": jnp.zeros(3)}
    mem = run.lower(params, opt._structure(g), p).compile().memory_analysis()
    per_restart = mem.temp_size_in_bytes / 3 / _matrix_bytes(p)
    assert opt.OPTIMIZER_MATRICES[field] / 4 < per_restart <= opt.OPTIMIZER_MATRICES[field]


def _spy(monkeypatch, name):
    """Record the leading (row) size and time count of every call of ``opt.<name>``."""
    calls = []
    real = getattr(opt, name)

    def spy(*args, **kw):
        calls.append([np.shape(x)[0] for x in jax.tree_util.tree_leaves(args)
                      if np.ndim(x) >= 1][:2])
        return real(*args, **kw)

    monkeypatch.setattr(opt, name, spy)
    return calls


def test_scan_in_chunks_equals_one_call(monkeypatch):
    p = _problem("scalar")
    g = _genomes(5)
    ts = np.geomspace(0.5, 20.0, 6)
    calls = _spy(monkeypatch, "_scan_scores")
    whole = opt.scan_t(p, g, ts)
    assert len(calls) == 1
    # room for two genomes x 6 times: chunks of 2, 2, 1 (the last padded)
    two = 2 * 6 * opt.SCAN_MATRICES["scalar"] * _matrix_bytes(p)
    calls.clear()
    chunked = opt.scan_t(p, g, ts, memory_limit_gb=1.01 * two / 1e9)
    assert len(calls) == 3
    assert opt.rows_that_fit(p, 6 * opt.SCAN_MATRICES["scalar"], 1.01 * two, "x") == 2
    np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=0)
    assert chunked.shape == whole.shape == (5, 6)
    # room for four evaluations only: one genome at a time, times in chunks of 4 and 2
    four = 4 * opt.SCAN_MATRICES["scalar"] * _matrix_bytes(p)
    calls.clear()
    np.testing.assert_allclose(opt.scan_t(p, g, ts, memory_limit_gb=1.01 * four / 1e9), whole,
                               rtol=1e-12, atol=0)
    assert len(calls) == 5 * 2  # 5 genomes x 2 chunks of times


def test_refinement_in_chunks_equals_one_call(monkeypatch):
    """Seven restarts, room for three per call on one device: three calls, the same best
    points, values, times and histories as one call."""
    p = _problem("scalar")
    g = _genomes(7, seed=3)
    kw = dict(steps=4, learning_rate=0.05, devices=jax.devices()[:1],
              t0=np.linspace(1.0, 4.0, 7))
    sizes = []
    real_run = opt._compiled_run

    def counting_run(*a):
        run = real_run(*a)

        def call(params, structure, problem):
            sizes.append(int(params["log_t"].shape[0]))
            return run(params, structure, problem)
        return call

    monkeypatch.setattr(opt, "_compiled_run", counting_run)
    whole = opt.optimize_angles(p, g, **kw)
    assert sizes == [7]
    three = 3 * opt.OPTIMIZER_MATRICES["scalar"] * _matrix_bytes(p)
    sizes.clear()
    chunked = opt.optimize_angles(p, g, memory_limit_gb=1.01 * three / 1e9, **kw)
    assert sizes == [3, 3, 3]
    np.testing.assert_allclose(chunked.values, whole.values, rtol=1e-12, atol=0)
    np.testing.assert_allclose(chunked.ts, whole.ts, rtol=1e-12, atol=0)
    np.testing.assert_allclose(chunked.history, whole.history, rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.asarray(chunked.genomes.angle),
                               np.asarray(whole.genomes.angle), rtol=1e-12, atol=1e-15)
    assert chunked.value == pytest.approx(whole.value, rel=1e-12)
    assert len(chunked.values) == 7


def test_a_limit_below_one_row_names_n():
    p = _problem("vector")
    g = _genomes(2)
    with pytest.raises(ValueError, match="n_qubits.*refinement fits in memory"):
        opt.optimize_angles(p, g, t0=1.0, steps=2, memory_limit_gb=1e-6)
    with pytest.raises(ValueError, match="n_qubits.*t scan"):
        opt.scan_t(p, g, [1.0, 2.0], memory_limit_gb=1e-6)
    with pytest.raises(ValueError, match="memory_limit_gb"):
        opt.scan_t(p, g, [1.0], memory_limit_gb=-1.0)
    with pytest.raises(ValueError, match="ts"):
        opt.scan_t(p, g, [])
