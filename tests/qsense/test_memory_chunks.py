"""The refinement and the t-grid scan fit their work to the devices' memory.

``scan_t`` and ``optimize_angles`` ask XLA what the compiled program for all their rows needs
(`qsense.optimize.program_bytes`) and, above the per-device limit, run the rows in chunks.
Checked here against XLA's own ``memory_analysis`` of programs the test compiles itself: every
chunk's program fits the limit, chunked runs give the unchunked results (for each gradient
method: parameter shift needs three times what autodiff does and grows with the genes), the
chunking really happens, and a limit below one row is a clear error naming N. The population
fitness (`population_score`, `make_fitness`) chunks its rows the same way."""

from __future__ import annotations

import logging
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsense import optimize as opt
from qsense.genome import random_genome
from qsense.objective import Problem, score

N = 5


def _problem(field: str) -> Problem:
    if field == "scalar":
        return Problem(N, "dephasing", 0.1)
    return Problem(N, "bitflip", 0.1, "vector", (0.0, 0.0, 0.0))


def _genomes(rows: int, seed: int = 0):
    keys = jax.random.split(jax.random.PRNGKey(seed), rows)
    return jax.vmap(lambda k: random_genome(k, N, 6))(keys)


def _xla_bytes(jitted, *args) -> float:
    """XLA's own plan for one device, computed here, not by qsense."""
    ma = jitted.lower(*args).compile().memory_analysis()
    return float(ma.temp_size_in_bytes + ma.argument_size_in_bytes + ma.output_size_in_bytes
                 - ma.alias_size_in_bytes)


def _chunk_lines(caplog) -> list[str]:
    """The `qsense.distributed.log_chunks` lines logged so far (then forgotten)."""
    lines = [r.getMessage() for r in caplog.records
             if r.name == "qsense" and " chunks of " in r.getMessage()]
    caplog.clear()
    return lines


def test_scan_in_chunks_fits_and_equals_one_call(monkeypatch, caplog):
    """Chunks of genomes, then of times, of one compiled shape that fits the limit; the
    one-call values; one INFO line says a call is chunked and how (none when it is not)."""
    caplog.set_level(logging.INFO, logger="qsense")
    p = _problem("scalar")
    g = _genomes(5)
    ts = np.geomspace(0.5, 20.0, 6)
    tj = jnp.asarray(ts)
    calls = []
    real = opt._scan_scores

    def spy(problem, genomes, tt):
        calls.append((genomes.batch_shape[0], int(tt.shape[0])))
        return real(problem, genomes, tt)
    spy.lower = real.lower  # what program_bytes compiles

    monkeypatch.setattr(opt, "_scan_scores", spy)
    whole = opt.scan_t(p, g, ts)
    assert calls == [(5, 6)] and _chunk_lines(caplog) == []
    for limit_rows in ((2, 6), (1, 4)):  # room for 2 genomes x 6 times; for 4 evaluations
        limit = 1.01 * _xla_bytes(real, p, g[:limit_rows[0]], tj[:limit_rows[1]])
        calls.clear()
        chunked = opt.scan_t(p, g, ts, memory_limit_gb=limit / 1e9)
        np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=0)
        assert chunked.shape == (5, 6)
        assert 1 < len(calls) and len(set(calls)) == 1  # chunks of one compiled shape
        rows, times = calls[0]
        assert _xla_bytes(real, p, g[:rows], tj[:times]) <= limit  # each chunk fits
        assert len(calls) == math.ceil(5 / rows) * math.ceil(6 / times)
        (line,) = _chunk_lines(caplog)
        assert line.startswith(f"t scan (genome x time evaluations): 30 rows in {len(calls)} "
                               f"chunks of {rows * times} (")
        assert f"limit {limit / 1e9:.3g} GB per device" in line
    assert calls[0][0] == 1 and calls[0][1] < 6  # the second limit chunks the times too


def test_per_genome_times_in_chunks_equal_each_score(monkeypatch):
    """`refine_t`'s scores, one row of times per genome (``_row_scores``), under limits that
    chunk the genomes and then also the times (the last chunk padded to the same compiled
    shape): every (genome, time) value equals `score` called on that genome at that time."""
    p = _problem("scalar")
    g = _genomes(5, seed=2)
    ts = np.random.default_rng(0).uniform(0.5, 20.0, size=(5, 7))
    want = np.array([[float(score(p, g[r], t)) for t in ts[r]] for r in range(5)])
    calls = []
    real = opt._row_scores

    def spy(problem, genomes, tt):
        calls.append(tuple(tt.shape))
        return real(problem, genomes, tt)
    spy.lower = real.lower

    monkeypatch.setattr(opt, "_row_scores", spy)
    tj = jnp.asarray(ts)
    for limit_rows in ((2, 7), (1, 4)):
        limit = 1.01 * _xla_bytes(real, p, g[:limit_rows[0]], tj[:limit_rows[0], :limit_rows[1]])
        calls.clear()
        got = opt._scores_at(p, g, ts, limit / 1e9)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
        assert len(calls) > 1 and len(set(calls)) == 1, calls  # one compiled shape
    assert calls[0] == (1, 4)  # the second limit chunks the times too (7 = 4 + 3, padded)


def test_population_fitness_in_chunks_fits_and_equals_one_call(monkeypatch, caplog):
    """`population_score` (what `make_fitness` calls) on 9 genomes under a limit that holds
    about 3 of them: chunks of one compiled shape whose program fits the limit, the one-call
    values (1e-12); a limit below one row is a clear error naming N; the decision is made
    once per shape (a second call does not compile the plan again) and said once (INFO)."""
    from qsense import objective as ob
    from qsense.objective import make_fitness, population_score

    p = _problem("scalar")
    g = _genomes(9, seed=3)
    calls = []
    real = ob._population_score

    def spy(problem, genomes, t):
        calls.append(genomes.batch_shape[0])
        return real(problem, genomes, t)
    spy.lower = real.lower  # what program_bytes compiles
    spy._cache_size = real._cache_size  # what make_fitness exposes

    monkeypatch.setattr(ob, "_population_score", spy)
    caplog.set_level(logging.INFO, logger="qsense")
    whole = np.asarray(population_score(p, g, 1.3))
    assert calls == [9] and _chunk_lines(caplog) == []
    limit = 1.01 * _xla_bytes(real, p, g[:3], 1.3)
    calls.clear()
    chunked = np.asarray(population_score(p, g, 1.3, memory_limit_gb=limit / 1e9))
    np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=0)
    assert chunked.shape == (9,) and np.all(np.isfinite(chunked))
    assert 1 < len(calls) and len(set(calls)) == 1  # chunks of one compiled shape
    assert _xla_bytes(real, p, g[:calls[0]], 1.3) <= limit  # each chunk fits
    assert len(calls) == math.ceil(9 / calls[0])
    assert _chunk_lines(caplog) == [
        f"population fitness: 9 rows in {len(calls)} chunks of {calls[0]} "
        f"({_xla_bytes(real, p, g, 1.3) / 1e9:.3g} GB at once > limit {limit / 1e9:.3g} GB "
        "per device; memory_limit_gb sets it)"]
    # make_fitness takes the same limit
    fit = make_fitness(N, "dephasing", memory_limit_gb=limit / 1e9)
    np.testing.assert_allclose(np.asarray(fit(g, 1.3, 0.1, 1.0)), whole, rtol=1e-12, atol=0)
    # decided once per shape: a repeated call runs the chunks without compiling a plan
    monkeypatch.setattr(ob, "program_bytes", lambda *a: pytest.fail("plan compiled again"))
    calls.clear()
    np.testing.assert_allclose(np.asarray(population_score(p, g, 1.3,
                                                           memory_limit_gb=limit / 1e9)),
                               whole, rtol=1e-12, atol=0)
    assert len(calls) > 1 and _chunk_lines(caplog) == []  # said once, not at every call
    monkeypatch.undo()
    with pytest.raises(ValueError, match=r"n_qubits = 5 .*population fitness fits in memory"):
        population_score(p, g, 1.3, memory_limit_gb=0.2 * _xla_bytes(real, p, g[:1], 1.3) / 1e9)
    # a bad limit is named, whatever its type (an unhashable one too)
    for bad in (0, -1.0, float("nan"), True, "1", [1.0], np.array([1.0]), jnp.asarray(1.0)):
        with pytest.raises(ValueError, match=r"memory_limit_gb = .* accepted: a size > 0"):
            population_score(p, g, 1.3, memory_limit_gb=bad)
        with pytest.raises(ValueError, match=r"memory_limit_gb = "):
            make_fitness(N, "dephasing", memory_limit_gb=bad)  # refused when made, not called


@pytest.mark.parametrize("gradient", ["autodiff", "parameter_shift"])
def test_refinement_in_chunks_fits_and_equals_one_call(monkeypatch, caplog, gradient):
    """Seven restarts, a limit that holds about three: every call's program fits it, and the
    best points, values, times and histories equal one call's; an INFO line says so."""
    caplog.set_level(logging.INFO, logger="qsense")
    p = _problem("scalar")
    g = _genomes(7, seed=3)
    kw = dict(gradient=gradient, steps=4, learning_rate=0.05, devices=jax.devices()[:1],
              t0=np.linspace(1.0, 4.0, 7))
    sizes = []
    real_run = opt._compiled_run

    def counting_run(*a):
        run = real_run(*a)

        def call(params, structure, problem):
            sizes.append(int(params["log_t"].shape[0]))
            return run(params, structure, problem)
        call.lower = run.lower
        return call

    monkeypatch.setattr(opt, "_compiled_run", counting_run)
    whole = opt.optimize_angles(p, g, **kw)
    assert sizes == [7]
    run = real_run("adam", gradient, 0.05, opt._log_bounds((1e-3, 1e3)), True, 4)

    def xla(rows):
        params = {"angle": g.angle[:rows], "log_t": jnp.zeros(rows)}
        return _xla_bytes(run, params, opt._structure(g[:rows]), p)

    limit = 1.01 * xla(3)
    sizes.clear()
    chunked = opt.optimize_angles(p, g, memory_limit_gb=limit / 1e9, **kw)
    assert len(sizes) > 1 and len(set(sizes)) == 1 and sizes[0] < 7
    assert len(sizes) == math.ceil(7 / sizes[0]) and xla(sizes[0]) <= limit
    assert [x for x in _chunk_lines(caplog) if "refinement" in x] == [
        f"adam refinement (restarts): 7 rows in {len(sizes)} chunks of {sizes[0]} "
        f"({xla(7) / 1e9:.3g} GB at once > limit {limit / 1e9:.3g} GB per device; "
        "memory_limit_gb sets it)"]
    np.testing.assert_allclose(chunked.values, whole.values, rtol=1e-12, atol=0)
    np.testing.assert_allclose(chunked.ts, whole.ts, rtol=1e-12, atol=0)
    np.testing.assert_allclose(chunked.history, whole.history, rtol=1e-12, atol=0)
    # the angles: each row's own, and where the QFI depends on them the same to 1e-12 (their
    # values re-scored). An angle the QFI does not depend on (an Rz that commutes with the
    # field) has a gradient of pure roundoff, ~1e-14, whose last bits may differ between a
    # batch of 3 and one of 7 (XLA promises no bit-identical per-row arithmetic across batch
    # shapes; at LLVM -O0 they differ). Adam divides it by eps = 1e-8: each step moves such
    # an angle by at most lr * (1e-13 / 1e-8), so `steps` steps bound the difference.
    flat = kw["steps"] * kw["learning_rate"] * 1e-13 / 1e-8
    np.testing.assert_allclose(np.asarray(chunked.genomes.angle),
                               np.asarray(whole.genomes.angle), rtol=0, atol=flat)
    rescored = [float(score(p, chunked.genomes[i], chunked.ts[i])) for i in range(7)]
    np.testing.assert_allclose(rescored, whole.values, rtol=1e-12, atol=0)
    assert chunked.value == pytest.approx(whole.value, rel=1e-12)
    assert len(chunked.values) == 7


def test_parameter_shift_needs_more_than_autodiff():
    """Why the sizes come from the compiled program, not a constant per row: at the same
    restarts, parameter shift plans about three times autodiff's memory."""
    p = _problem("vector")
    g = _genomes(3)
    args = ({"angle": g.angle, "log_t": jnp.zeros(3)}, opt._structure(g), p)
    bounds = opt._log_bounds((1e-3, 1e3))  # optimize_angles' default: the next test's program
    auto = opt.program_bytes(opt._compiled_run("adam", "autodiff", 0.05, bounds, True, 2),
                             *args)
    shift = opt.program_bytes(opt._compiled_run("adam", "parameter_shift", 0.05, bounds,
                                                True, 2), *args)
    assert shift > 1.5 * auto > 0


def test_a_limit_below_one_row_names_n():
    p = _problem("vector")
    g = _genomes(3)
    with pytest.raises(ValueError, match="n_qubits.*refinement fits in memory"):
        opt.optimize_angles(p, g, t0=1.0, steps=2, memory_limit_gb=1e-6)
    with pytest.raises(ValueError, match="n_qubits.*t scan"):
        opt.scan_t(p, g, [1.0, 2.0], memory_limit_gb=1e-6)
    with pytest.raises(ValueError, match="memory_limit_gb"):
        opt.scan_t(p, g, [1.0], memory_limit_gb=-1.0)
    with pytest.raises(ValueError, match="ts"):
        opt.scan_t(p, g, [])
