"""A GA generation scored in chunks of rows (`GAConfig.chunk_rows`, chosen by
`qsense.genetic.chunk_plan` when the population does not fit the memory limit): the same
search, row for row, as the unchunked one; a checkpoint resumes under any chunking; the row
layout pads to whole chunks and no more. (The sharded, chunked case is in test_sharding.py.)"""

from __future__ import annotations

import dataclasses
import itertools
import logging

import jax
import numpy as np
import pytest

from qsense.genetic import GAConfig, _row_layout, search
from qsense.optimize import Problem
from tests.qsense.test_memory_estimate import xla_plan

# 10 rows in chunks of 3: 4 chunks, padded to 12 rows (the padding path too)
CFG = GAConfig(population=10, generations=2, max_genes=5, init_genes=3, elite=2, n_t=2,
               local_steps=1)
#: the small genomes here are below the product family's 3N - 1 genes on purpose (what is
#: compared is one search against another, not the optimum): its warning is expected
pytestmark = pytest.mark.filterwarnings("ignore:GAConfig.max_genes:UserWarning")


def _arrays(r):
    pop = r.population
    return {"gate": np.asarray(pop.gate), "control": np.asarray(pop.control),
            "target": np.asarray(pop.target), "angle": np.asarray(pop.angle),
            "fit": r.fitnesses, "ts": r.ts, "best": r.history["best"]}


def _same(a, b, rtol):
    for k in ("gate", "control", "target"):
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)  # the same structures
    np.testing.assert_allclose(a["angle"], b["angle"], rtol=0, atol=1e3 * rtol)
    for k in ("fit", "ts", "best"):
        np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=0, err_msg=k)


def test_row_layout_pads_to_whole_balanced_chunks():
    for p, d, chunk in itertools.product(range(2, 40), (1, 2, 3, 4), (None, 1, 2, 3, 5, 8, 64)):
        n_pad, n_chunks, c = _row_layout(p, d, chunk)
        m = -(-p // d)  # rows per device before chunking: ceil(P / D)
        assert n_pad == d * n_chunks * c and n_pad >= p
        if chunk is None or chunk >= m:
            assert (n_pad, n_chunks, c) == (d * m, 1, m)
        else:
            assert c <= chunk and n_chunks == -(-m // chunk)  # fewest chunks that fit
            assert 0 <= n_chunks * c - m < n_chunks  # balanced: under one pad row a chunk


def test_chunked_search_is_the_unchunked_search(tmp_path):
    """Chunks of 3 rows (4 chunks, 2 rows of padding) give the unchunked search's genomes,
    angles, times and fitnesses to 1e-12 over the whole search. Inside `lax.map`'s loop XLA
    rounds the scores differently (~1e-16); the memetic steps drop gradient components below
    `GRAD_FLOOR` x |fitness| (the next tests) and selection compares `ranking`s (near-ties
    go to the lower row), so those roundings do not steer the search. (This small search,
    one local step, agrees to 1e-12 even without them; `test_memetic_steps_...` is the one
    that needs the floor.)
    A row put in another row's place, a padding row selected or a chunk left unscored would
    differ at O(1).

    A checkpoint written by the chunked run resumes unchunked (chunk_rows is not part of the
    checkpoint's identity: it changes how much is scored at once, not what)."""
    p = Problem(3, "dephasing", 0.1)
    plain = _arrays(search(p, CFG, seed=5))
    chunked = dataclasses.replace(CFG, chunk_rows=3)
    _same(_arrays(search(p, chunked, seed=5)), plain, rtol=1e-12)
    ck = tmp_path / "ga.npz"

    def stop(gen, _best):
        if gen == 1:
            raise KeyboardInterrupt  # cut off after generation 1, its checkpoint written

    with pytest.raises(KeyboardInterrupt):
        search(p, chunked, seed=5, checkpoint=ck, callback=stop)
    resumed = _arrays(search(p, CFG, seed=5, checkpoint=ck))  # generation 2 unchunked
    _same(resumed, plain, rtol=1e-12)


def test_chunked_generation_on_the_same_inputs_is_the_unchunked_one():
    """One generation (selection, mutation, grid times, memetic steps) from the same
    population, fitnesses and times: chunked and unchunked agree to 1e-12, row for row."""
    import jax.numpy as jnp

    from qsense.distributed import pad_rows, population_devices
    from qsense.genetic import _programs, _static_config, initial_population, search_t_grid

    p = Problem(3, "dephasing", 0.1)
    ts = jnp.asarray(search_t_grid(p, CFG))
    devs = population_devices(None)  # search's own programs (the search test compiles them)
    ev, gen = _programs(3, _static_config(CFG), devs)
    pop, fit, tt = ev(initial_population(jax.random.PRNGKey(4), p, CFG),
                      jnp.full((CFG.population,), ts[0]), ts, p)
    key = jax.random.PRNGKey(8)
    want = _arrays_of(gen(key, pop, fit, tt, ts, p), CFG.population)
    n_pad = _row_layout(CFG.population, 1, 3)[0]
    _, gen3 = _programs(3, dataclasses.replace(_static_config(CFG), chunk_rows=3), devs)
    got = _arrays_of(gen3(key, *pad_rows((pop, fit, tt), n_pad), ts, p), CFG.population)
    for k in ("gate", "control", "target"):
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    np.testing.assert_allclose(got["angle"], want["angle"], rtol=0, atol=1e-12)
    for k in ("fit", "ts"):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=0, err_msg=k)


def test_memetic_steps_do_not_turn_rounding_noise_into_steps():
    """Generation 0's scoring (grid times, then 10 memetic Adam steps per row), chunked (4
    rows at a time) and unchunked: the same angles and fitnesses to 1e-12. Chunks round the
    scores and gradients differently (~1e-16); in an angle the fitness does not depend on the
    gradient is only that noise, and Adam, which scales a step by the gradient's own size,
    turned it into steps of ~1e-5 one way or the other (measured before `GRAD_FLOOR`: 9 of 16
    rows' angles up to 4e-5 apart, fitnesses 4e-9; after: 2e-15). A whole search then parted
    after a few generations (`benchmarks/RESULTS.md`, "One search over two local processes")."""
    import jax.numpy as jnp

    from qsense.distributed import pad_rows, population_devices
    from qsense.genetic import _programs, _static_config, initial_population, search_t_grid

    p = Problem(3, "dephasing", 0.1)
    cfg = GAConfig(population=16, generations=1, n_t=2, local_steps=10)
    ts = jnp.asarray(search_t_grid(p, cfg))
    devs = population_devices(None)
    pop = initial_population(jax.random.PRNGKey(4), p, cfg)
    t0 = jnp.full((cfg.population,), ts[0])
    ev, _ = _programs(3, _static_config(cfg), devs)
    ev4, _ = _programs(3, dataclasses.replace(_static_config(cfg), chunk_rows=4), devs)
    want = _arrays_of(ev(pop, t0, ts, p), cfg.population)
    n_pad = _row_layout(cfg.population, 1, 4)[0]
    got = _arrays_of(ev4(*pad_rows((pop, t0), n_pad), ts, p), cfg.population)
    np.testing.assert_allclose(got["angle"], want["angle"], rtol=0, atol=1e-12)
    for k in ("fit", "ts"):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=0, err_msg=k)


def _arrays_of(out, p):
    g, f, t = out
    return {"gate": np.asarray(g.gate)[:p], "control": np.asarray(g.control)[:p],
            "target": np.asarray(g.target)[:p], "angle": np.asarray(g.angle)[:p],
            "fit": np.asarray(f)[:p], "ts": np.asarray(t)[:p]}


def test_a_population_over_the_memory_limit_is_chunked_by_xlas_plan(caplog):
    """memory_limit_gb between XLA's plans of chunks of 3 and of 4 rows: the search scores
    chunks of 3 (the most rows whose compiled program fits, read from XLA's memory analysis
    of the compiled programs, not from the estimate), says so once (INFO, with the whole
    population's plan when it compiled it) and finds what the unlimited one finds."""
    from qsense.genetic import chunk_plan

    p = Problem(3, "dephasing", 0.1)
    one = jax.devices()[:1]
    plans = {c: xla_plan(p, CFG, c, one) for c in (3, 4, 5, None)}
    assert plans[3] < plans[4] < plans[5] < plans[None]
    # a limit just below the whole population's plan: the whole program is compiled (the
    # plan's floor lets all 10 rows fit), found over the limit, and two chunks of 5 fit
    below = dataclasses.replace(CFG, memory_limit_gb=(plans[5] + plans[None]) / 2e9)
    chunk, need = chunk_plan(p, below, one, exact=True)
    assert _row_layout(CFG.population, 1, chunk)[1:] == (2, 5) and need == plans[5]
    limit = (plans[3] + plans[4]) / 2
    tight = dataclasses.replace(CFG, memory_limit_gb=limit / 1e9)
    assert chunk_plan(p, tight, one, exact=True) == (3, plans[3])
    # the estimate (exact=False: an upper bound, without compiling) refuses even one row here
    with pytest.raises(ValueError, match=r"^n_qubits = 3 is invalid.*even one row"):
        chunk_plan(p, tight, one)
    caplog.set_level(logging.INFO, logger="qsense")
    a = search(p, tight, seed=5, devices=one)
    said = [r.getMessage() for r in caplog.records if " chunks of " in r.getMessage()]
    n = CFG.population
    # (the whole population's program is not compiled: by the plan's floor, 3 complex 8 x 8
    # arrays a row and time, at most 6 rows can fit, so the planner starts there)
    assert said == [f"GA generation (rows per device): {n} rows in {-(-n // 3)} chunks of 3 "
                    f"(limit {limit / 1e9:.3g} GB per device; memory_limit_gb sets it)"]
    caplog.clear()
    b = search(p, CFG, seed=5, devices=one)
    assert not [r for r in caplog.records if " chunks of " in r.getMessage()]
    _same(_arrays(a), _arrays(b), rtol=1e-12)
    # an explicit chunk_rows whose plan does not fit is refused with XLA's figure
    with pytest.raises(ValueError, match=r"^chunk_rows = 4 is invalid.*needs .* GB \(XLA's "
                                         r"plan\) per device > limit"):
        search(p, dataclasses.replace(tight, chunk_rows=4), seed=5, devices=one)
    # ... and not even one row at a time: refused, naming N
    tiny = dataclasses.replace(CFG, memory_limit_gb=xla_plan(p, CFG, 1, one) / 2e9)
    with pytest.raises(ValueError, match=r"^n_qubits = 3 is invalid.*GB \(XLA's plan\) per "
                                         r"device for even one row at a time > limit"):
        search(p, tiny, seed=5, devices=one)


def test_without_a_memory_analysis_the_estimate_sizes_the_search(monkeypatch, caplog):
    """A backend whose compiled programs give no memory analysis (`program_bytes` None): the
    search falls back to the estimate's plan (`chunk_plan` with exact=False)."""
    import qsense.genetic as ga

    p = Problem(3, "dephasing", 0.1)
    one = jax.devices()[:1]
    per = ga.estimate_bytes(p, CFG) // CFG.population  # one row
    est = dataclasses.replace(CFG, memory_limit_gb=3.5 * per / 1e9)  # 3 rows fit
    assert ga.chunk_plan(p, est, one) == (3, 3 * per)
    monkeypatch.setattr(ga, "program_bytes", lambda *a, **k: None)
    assert ga.chunk_plan(p, est, one, exact=True) == (3, 3 * per)
    caplog.set_level(logging.INFO, logger="qsense")
    search(p, est, seed=5, devices=one)
    said = [r.getMessage() for r in caplog.records if " chunks of " in r.getMessage()]
    assert len(said) == 1 and " rows in 4 chunks of 3 " in said[0], said


def test_the_search_compiles_its_generation_once_when_it_fits(caplog):
    """Sizing the programs by XLA's plan costs no compilation when the population fits: the
    call reuses the program the plan compiled (the same arguments, shardings included)."""
    cfg = dataclasses.replace(CFG, population=7, generations=1)  # a shape no other test uses
    caplog.set_level(logging.DEBUG)
    with jax.log_compiles(True):
        search(Problem(3, "dephasing", 0.1), cfg, seed=1, devices=jax.devices()[:1])
    compiled = [r.getMessage() for r in caplog.records
                if r.getMessage().startswith("Compiling jit(step)")]
    assert len(compiled) == 1, compiled


def test_chunked_rescore_is_the_unchunked_rescore():
    """The whole-population re-score (mixed precision's float64 pass over the final
    population) in chunks: the objective of every row at its own time, in row order, to
    1e-12 (no optimizer step in between to amplify rounding)."""
    import jax.numpy as jnp

    from qsense.distributed import pad_rows, population_devices
    from qsense.genetic import _programs, _static_config, initial_population
    from qsense.objective import score

    # amplitude damping shares dephasing's compiled programs (Z-covariant noises are data)
    p = Problem(3, "amplitude_damping", 0.1)
    pop = initial_population(jax.random.PRNGKey(2), p, CFG)
    t = jnp.linspace(0.5, 4.0, CFG.population)
    want = np.array([score(p, jax.tree_util.tree_map(lambda a, i=i: a[i], pop), t[i])
                     for i in range(CFG.population)])
    for chunk in (None, 3):
        n_pad = _row_layout(CFG.population, 1, chunk)[0]
        ev, _ = _programs(3, dataclasses.replace(_static_config(CFG), chunk_rows=chunk),
                          population_devices(None))
        got = np.asarray(ev.rescore(*pad_rows((pop, t), n_pad), p))
        assert got.shape == (n_pad,)
        np.testing.assert_allclose(got[:CFG.population], want, rtol=1e-12, atol=0)


def test_chunk_rows_is_checked():
    for bad in (0, -2, 1.5, True, "4"):
        with pytest.raises(ValueError, match=r"^chunk_rows = .* is invalid; accepted: an "
                                             r"integer >= 1 \(rows per device\) or None"):
            GAConfig(chunk_rows=bad)


def test_the_chunk_search_finds_the_most_rows_that_fit_and_compiles_no_layout_twice(
        monkeypatch):
    """The planner against a model of XLA's plan, linear in the rows a chunk holds
    (``fixed + per_row * c``; measured so, 2026-12-04): for many populations, limits and
    fixed parts it returns the most rows a balanced chunk can hold within the limit (found
    here by trying every chunk count), never compiles the same row layout twice, and needs
    at most three tries: the start, a scaled guess, the line through two plans. (On the
    H200, N = 11 and 256 rows: the start, 118 rows, is 3 chunks of 86, and so was the scaled
    guess of 88; 70 rows was planned as "70" and scored as 4 chunks of 64.)"""
    import qsense.genetic as ga

    p = Problem(3, "dephasing", 0.1)
    one = jax.devices()[:1]
    layouts: list[int] = []  # the rows a chunk holds, one per planned program
    model: dict[str, float] = {}

    real_programs = ga._programs

    def programs(n_qubits, config, devices=None):
        layouts.append(_row_layout(model["p"], 1, config.chunk_rows)[2])
        return real_programs(n_qubits, config, devices)

    def plan(*_args):  # no compilation: the model's bytes for the layout just built
        return model["fixed"] + model["per_row"] * layouts[-1]

    monkeypatch.setattr(ga, "_programs", programs)
    monkeypatch.setattr(ga, "program_bytes", plan)
    floor = ga._floor_bytes_per_row(p, CFG)
    rng = np.random.default_rng(7)
    cases = 0
    for pop in (10, 37, 64, 256, 257, 1000):
        for _ in range(12):
            per_row = floor * rng.uniform(1.0, 8.0)
            fixed = per_row * rng.choice([0.0, rng.uniform(0, 3), rng.uniform(3, 40)])
            limit = fixed + per_row * rng.uniform(1.0, 1.3 * pop)
            cfg = dataclasses.replace(CFG, population=pop, memory_limit_gb=limit / 1e9)
            model.update(p=pop, fixed=fixed, per_row=per_row)
            layouts.clear()
            chunk, need = ga.chunk_plan(p, cfg, one, exact=True)
            # the answer by brute force: every chunk count, balanced as `_row_layout` does
            fit = [c for c in (-(-pop // k) for k in range(1, pop + 1))
                   if fixed + per_row * c <= limit]
            best = max(fit)
            assert (chunk if chunk is not None else pop) == best, (pop, fixed, per_row, limit)
            assert need == int(fixed + per_row * best) and need <= limit  # (bytes, an int)
            assert len(layouts) == len(set(layouts)) <= 3, layouts
            assert layouts == sorted(layouts, reverse=True)
            cases += 1
    assert cases == 72
