"""Genetic structure search: operators (property tests over many seeds), selection,
reproducibility, checkpoint/resume, search quality, bad input."""

from __future__ import annotations

import itertools
import math

import jax
import numpy as np
import pytest

from qsense import IDENTITY, empty_genome, validate_genome
from qsense.genetic import (
    GAConfig,
    RefineConfig,
    apply_operator,
    find_optimal_probe,
    initial_population,
    search,
)
from qsense.optimize import Problem, optimize_angles
from tests.reference.vqs_optimum import best_qfi

N, G, SEEDS = 3, 8, 120
SMALL = GAConfig(population=16, generations=4, max_genes=6, init_genes=3, elite=2, n_t=4)


def _population(seed: int, lengths=None):
    """Canonical chromosomes of random lengths (including empty and full ones)."""
    cfg = GAConfig(population=SEEDS, max_genes=G, init_genes=G)
    pop = initial_population(jax.random.PRNGKey(seed), Problem(N), cfg)
    return pop


def _genes(pop, i):
    """Active genes of chromosome i as hashable tuples (gate, control, target, angle)."""
    g = np.asarray(pop.gate[i])
    rows = zip(g, np.asarray(pop.control[i]), np.asarray(pop.target[i]),
               np.asarray(pop.angle[i]), strict=True)
    return [(int(a), int(b) if a == 3 else -1, int(c), float(d)) for a, b, c, d in rows
            if a != IDENTITY]


def _check_canonical(pop):
    validate_genome(pop, N)
    gate = np.asarray(pop.gate)
    assert gate.shape == (SEEDS, G)
    active = gate != IDENTITY
    length = active.sum(1)
    assert np.all(active == (np.arange(G)[None] < length[:, None]))  # active genes first
    pad = ~active
    for arr in (pop.control, pop.target, pop.angle):
        assert np.all(np.asarray(arr)[pad] == 0)  # canonical padding


def _run(name, seed=0):
    old = _population(seed)
    keys = jax.random.split(jax.random.PRNGKey(1000 + seed), SEEDS)
    new = apply_operator(keys, old, name, n_qubits=N, max_run=3)
    _check_canonical(old)
    _check_canonical(new)
    return old, new


def _remove_runs(seq, max_run):
    """Every sequence obtained from seq by deleting one run of 1..max_run genes."""
    out = set()
    for i in range(len(seq)):
        for run in range(1, max_run + 1):
            if i + run <= len(seq):
                out.add(tuple(seq[:i] + seq[i + run:]))
    return out


def test_initial_population_contains_ghz_and_is_valid():
    pop = _population(0)
    _check_canonical(pop)
    assert np.all(np.asarray(pop.gate[0]) == IDENTITY)  # the empty PQC: the GHZ probe itself
    lengths = (np.asarray(pop.gate) != IDENTITY).sum(1)
    assert lengths.min() == 0 and lengths.max() == G  # empty and full chromosomes present


def test_deletion_removes_one_run():
    old, new = _run("deletion")
    for i in range(SEEDS):
        a, b = _genes(old, i), _genes(new, i)
        if not a:
            assert b == a
            continue
        assert 1 <= len(a) - len(b) <= 3
        assert tuple(b) in _remove_runs(a, 3)


def test_insertion_inserts_one_run_of_new_genes():
    old, new = _run("insertion")
    for i in range(SEEDS):
        a, b = _genes(old, i), _genes(new, i)
        if len(a) == G:
            assert b == a  # full chromosome: nothing to insert into
            continue
        assert 1 <= len(b) - len(a) <= 3
        assert tuple(a) in _remove_runs(b, 3)
        assert len(set(b) - set(a)) == len(b) - len(a)  # the inserted genes are new ones


def test_replacement_is_deletion_then_insertion():
    old, new = _run("replacement")
    for i in range(SEEDS):
        a, b = _genes(old, i), _genes(new, i)
        if not a:  # nothing to delete: insertion only
            assert 1 <= len(b) <= 3
            continue
        assert abs(len(b) - len(a)) <= 2
        assert _remove_runs(a, 3) & _remove_runs(b, 3), (a, b)


def test_swapping_swaps_two_runs():
    old, new = _run("swapping")
    changed = 0
    for i in range(SEEDS):
        a, b = _genes(old, i), _genes(new, i)
        assert sorted(a) == sorted(b)
        if len(a) < 2:
            assert a == b
            continue
        swaps = {tuple(a[:p] + a[r:s] + a[q:r] + a[p:q] + a[s:])
                 for p, q, r, s in itertools.combinations(range(len(a) + 1), 4)}
        swaps |= {tuple(a[:p] + a[q:s] + a[p:q] + a[s:])  # adjacent runs (q == r)
                  for p, q, s in itertools.combinations(range(len(a) + 1), 3)}
        assert tuple(b) in swaps
        changed += a != b
    assert changed > SEEDS // 2


def test_permutation_shuffles_genes():
    old, new = _run("permutation")
    changed = 0
    for i in range(SEEDS):
        a, b = _genes(old, i), _genes(new, i)
        assert sorted(a) == sorted(b) and len(a) == len(b)
        changed += a != b
    assert changed > SEEDS // 2


def test_mutation_jitters_the_active_angles_only():
    """`mutate` (the GA's operator step) adds N(0, angle_sigma) to the active genes' angles
    after the operator and leaves the padding canonical (angle 0): the same chromosomes as
    without jitter, every active angle moved, the spread angle_sigma."""
    import functools

    import jax.numpy as jnp

    from qsense.genetic import OPERATORS, mutate

    old = _population(3)
    keys = jax.random.split(jax.random.PRNGKey(7), SEEDS)
    sigma, moves = 0.1, []
    for name in OPERATORS:
        def run(angle_sigma, name=name):
            f = functools.partial(mutate, op=jnp.asarray(OPERATORS.index(name)), n_qubits=N,
                                  max_run=3, gate_probs=(1.0, 1.0, 1.0, 1.0),
                                  angle_sigma=angle_sigma)
            return jax.jit(jax.vmap(f))(keys, old)

        plain, jittered = run(0.0), run(sigma)
        _check_canonical(jittered)
        for arr in ("gate", "control", "target"):
            np.testing.assert_array_equal(getattr(jittered, arr), getattr(plain, arr))
        active = np.asarray(plain.gate) != IDENTITY
        d = np.asarray(jittered.angle) - np.asarray(plain.angle)
        assert np.all(d[~active] == 0) and np.all(d[active] != 0)
        moves.append(d[active])
    moves = np.concatenate(moves)
    assert moves.size > 1000
    assert abs(np.std(moves) - sigma) < 0.1 * sigma and abs(np.mean(moves)) < 0.1 * sigma


def test_unknown_operator_and_bad_config():
    with pytest.raises(ValueError, match="operator"):
        apply_operator(jax.random.PRNGKey(0), empty_genome(3), "crossover", n_qubits=2)
    with pytest.raises(ValueError, match="sum"):
        GAConfig(operator_probs=(0.5, 0.5, 0.5, 0.0, 0.0))
    with pytest.raises(ValueError, match="operator_probs"):
        GAConfig(operator_probs=(1.0, 0.0))
    with pytest.raises(ValueError, match="population"):
        GAConfig(population=1)
    with pytest.raises(ValueError, match="elite"):
        GAConfig(population=4, elite=4)
    with pytest.raises(ValueError, match="max_genes"):
        GAConfig(max_genes=0)
    with pytest.raises(ValueError, match="method"):
        RefineConfig(method="newton")
    # a non-number gets the field's message, not numpy's TypeError
    for cls, kw in ((GAConfig, {"local_lr": "fast"}), (GAConfig, {"angle_sigma": None}),
                    (GAConfig, {"local_lr": 1j}), (RefineConfig, {"jitter": "x"}),
                    (GAConfig, {"local_lr": True}), (RefineConfig, {"jitter": True})):
        ((name, value),) = kw.items()
        with pytest.raises(ValueError, match=f"^{name} = .* is invalid; accepted"):
            cls(**kw)


@pytest.mark.parametrize("kw,value", [
    ({"learning_rate": -1.0}, "-1.0"), ({"learning_rate": 0.0}, "0.0"),
    ({"learning_rate": float("nan")}, "nan"), ({"learning_rate": float("inf")}, "inf"),
    ({"learning_rate": "fast"}, "'fast'"),
    ({"t_bounds": (1.0, 0.5)}, "(1.0, 0.5)"), ({"t_bounds": (0.0, 1.0)}, "(0.0, 1.0)"),
    ({"t_bounds": (-1.0, 1.0)}, "(-1.0, 1.0)"), ({"t_bounds": (1.0, float("inf"))}, "inf"),
    ({"t_bounds": (float("nan"), 1.0)}, "nan"), ({"t_bounds": (1.0, 1.0)}, "(1.0, 1.0)"),
    ({"t_bounds": (1.0, 2.0, 3.0)}, "(1.0, 2.0, 3.0)"), ({"t_bounds": (1.0,)}, "(1.0,)"),
    ({"t_bounds": 5.0}, "5.0"), ({"t_bounds": ("a", "b")}, "('a', 'b')"),
])
def test_refine_config_rejects_bad_step_and_time_bounds(kw, value):
    """Checked when the config is made (not after the whole GA, in optimize_angles); the
    message names the field, the value and the accepted range."""
    (name,) = kw
    with pytest.raises(ValueError) as err:
        RefineConfig(**kw)
    msg = str(err.value)
    assert msg.startswith(f"{name} = ") and value in msg and "accepted:" in msg, msg
    assert ("> 0" if name == "learning_rate" else "0 < t_min < t_max") in msg, msg


def test_refine_config_accepts_valid_step_and_time_bounds():
    cfg = RefineConfig(learning_rate=1e-4, t_bounds=(1e-6, 1e6))
    assert cfg.learning_rate == 1e-4 and cfg.t_bounds == (1e-6, 1e6)
    assert RefineConfig(t_bounds=[0.5, 2]).t_bounds == [0.5, 2]  # any two-number sequence


@pytest.mark.parametrize("population,elite,ok", [
    (4, 0, True), (4, 3, True), (4, 4, False), (4, -1, False), (2, 1, True), (24, 24, False)])
def test_elite_range_and_message_agree(population, elite, ok):
    """0 <= elite < population is enforced, and the message states exactly that range."""
    if ok:
        assert GAConfig(population=population, elite=elite, tournament=2).elite == elite
        return
    with pytest.raises(ValueError) as err:
        GAConfig(population=population, elite=elite, tournament=2)
    msg = str(err.value)
    assert msg.startswith(f"elite = {elite} ") and "accepted:" in msg, msg
    assert f"[0, {population - 1}]" in msg and f"< population = {population}" in msg, msg


def test_integer_ranges_in_messages_are_inclusive():
    """An inclusive upper bound is printed closed: max_genes = 256 is accepted, 257 names
    [1, 256]; tournament = population is accepted."""
    assert GAConfig(max_genes=256).max_genes == 256
    with pytest.raises(ValueError, match=r"max_genes = 257 .*\[1, 256\]"):
        GAConfig(max_genes=257)
    assert GAConfig(population=4, elite=1, tournament=4).tournament == 4
    with pytest.raises(ValueError, match=r"tournament = 5 .*\[1, 4\]"):
        GAConfig(population=4, elite=1, tournament=5)
    with pytest.raises(ValueError, match=r"generations = -1 .*an integer >= 0"):
        GAConfig(generations=-1)


def test_memory_estimate_refuses_large_n():
    """N = 12 with 8 times: one row needs over 6.4 GB by the floor of XLA's plan (3 complex
    4096 x 4096 arrays a time), above a 4 GB limit: refused before anything compiles or
    runs (on a host whose limit holds one row, ~9.7 GB by XLA's plan, the search would run,
    one row at a time, for many minutes a generation on a CPU)."""
    with pytest.raises(ValueError, match=r"^n_qubits = 12 is invalid.*needs at least 6.44 GB "
                                         r"per device for even one row at a time > limit 4 GB"):
        search(Problem(12, "dephasing", 0.1), GAConfig(population=256, n_t=8,
                                                       memory_limit_gb=4.0),
               devices=jax.devices()[:1])
    with pytest.raises(ValueError, match="initial"):
        search(Problem(2, initial="zero"), SMALL)


class _FakeDevice:
    """Stands in for a jax.Device in the memory check (no real multi-device machine)."""

    def __init__(self, platform="gpu", bytes_limit=None, process_index=0):
        self.platform, self._limit, self.process_index = platform, bytes_limit, process_index

    def memory_stats(self):
        return None if self._limit is None else {"bytes_limit": self._limit}


def _bytes_per_row(n_qubits, n_t, vector=False, itemsize=16, genes=16):
    """One chromosome's estimated working set with memetic steps (GAConfig's default): the
    larger of 6 (12: vector field) complex 2^N x 2^N matrices per time and 32 (64) for the
    steps, plus 4 kB (16 kB) a gene at complex128. (That this bounds XLA's own plan from
    above is test_memory_estimate.py's.)"""
    arrays = max((12 if vector else 6) * n_t, 64 if vector else 32)
    return arrays * 4**n_qubits * itemsize + (16384 if vector else 4096) * itemsize // 16 * genes


@pytest.mark.parametrize("population,n_devices", [
    (8, 1), (8, 2), (8, 4), (5, 4), (5, 2), (7, 3), (3, 8), (24, 5)])
def test_memory_estimate_is_per_device_with_the_population_split_up(population, n_devices):
    """The per-device estimate holds ceil(P / D) rows (the padded population's share), not P
    and not P / D."""
    from qsense.genetic import estimate_bytes

    cfg = GAConfig(population=population, elite=1, tournament=2, n_t=4)
    want = math.ceil(population / n_devices) * _bytes_per_row(3, 4)
    assert estimate_bytes(Problem(3, "dephasing", 0.1), cfg, n_devices) == want
    vec = Problem(3, "dephasing", 0.1, field="vector")
    assert estimate_bytes(vec, cfg, n_devices) == math.ceil(population / n_devices) * \
        _bytes_per_row(3, 4, vector=True)
    # chunk_rows caps the rows held at once; a cap above the device's share changes nothing
    for chunk in (1, 2, 64):
        capped = GAConfig(population=population, elite=1, tournament=2, n_t=4, chunk_rows=chunk)
        rows = min(chunk, math.ceil(population / n_devices))
        assert estimate_bytes(Problem(3, "dephasing", 0.1), capped, n_devices) == \
            rows * _bytes_per_row(3, 4)


def test_memory_check_uses_the_device_count():
    """A population that does not fit one device fits four (each holds ceil(P/4) rows); on
    fewer devices it is scored in chunks of the rows that fit, and refused, naming the device
    count, only when one row does not fit. Fake device objects: nothing runs on them."""
    from qsense.genetic import check_memory, chunk_plan

    p = Problem(4, "dephasing", 0.1)
    row = _bytes_per_row(4, 4)
    # P = 8 on 4 devices: 2 rows each; the limit lies between 2 and 3 rows
    cfg = GAConfig(population=8, elite=1, n_t=4, memory_limit_gb=2.5 * row / 1e9)
    four = [_FakeDevice() for _ in range(4)]
    assert chunk_plan(p, cfg, four) == (None, 2 * row)  # fits whole: no chunks
    assert check_memory(p, cfg, four) == 2 * row
    assert chunk_plan(p, cfg, four[:1]) == (2, 2 * row)  # 8 rows on one device: 2 at a time
    # P = 5 on 4 devices: padded to 8, still 2 rows per device (not 5/4 = 1.25): 1 at a time
    cfg5 = GAConfig(population=5, elite=1, n_t=4, memory_limit_gb=1.5 * row / 1e9)
    assert chunk_plan(p, cfg5, four) == (1, row)
    assert chunk_plan(p, cfg5, four * 2) == (None, row)  # 8 devices: one row each
    # not even one row fits: refused with the device count and the rows per device
    tiny = GAConfig(population=5, elite=1, n_t=4, memory_limit_gb=0.5 * row / 1e9)
    with pytest.raises(ValueError, match=r"n_qubits = 4 .*over 4 devices \(2 rows each\)"
                                         r".*even one row"):
        check_memory(p, tiny, four)
    # an explicit chunk that does not fit names chunk_rows and what would
    with pytest.raises(ValueError, match=r"chunk_rows = 3 .*at most 2 rows per device"):
        chunk_plan(p, GAConfig(population=8, elite=1, n_t=4, chunk_rows=3,
                               memory_limit_gb=2.5 * row / 1e9), four[:1])
    assert chunk_plan(p, GAConfig(population=8, elite=1, n_t=4, chunk_rows=1,
                                  memory_limit_gb=2.5 * row / 1e9), four[:1]) == (1, row)
    # (search() sizes its programs by XLA's plan of them on the devices it is given:
    # test_ga_chunks.py, test_sharding.py)


def test_default_memory_limit_is_per_device(monkeypatch):
    """Without memory_limit_gb: an accelerator's own allocator limit; CPU devices of one host
    share half its RAM (four fake CPU devices hold no more than one)."""
    import qsense.genetic as ga

    p = Problem(4, "dephasing", 0.1)
    row = _bytes_per_row(4, 4)
    cfg = GAConfig(population=8, elite=1, n_t=4)
    gpus = [_FakeDevice("gpu", bytes_limit=2 * row) for _ in range(4)]
    assert ga.memory_limit_bytes(cfg, gpus) == 2 * row
    assert ga.chunk_plan(p, cfg, gpus) == (None, 2 * row)
    assert ga.chunk_plan(p, cfg, gpus[:2]) == (2, 2 * row)  # 4 rows each > 2: in chunks
    import qsense.distributed as dist

    monkeypatch.setattr(dist, "host_memory_bytes", lambda: 2 * 7 * row)  # half: 7 rows
    assert ga.chunk_plan(p, GAConfig(population=7, elite=1, n_t=4), [_FakeDevice("cpu")]) \
        == (None, 7 * row)
    cpus = [_FakeDevice("cpu") for _ in range(4)]
    assert ga.memory_limit_bytes(cfg, cpus) == pytest.approx(7 * row / 4)
    # 8 rows in all > 7 rows of host memory: each fake device's 2 rows, one at a time
    assert ga.chunk_plan(p, cfg, cpus) == (1, row)
    # CPU devices of another host (process) do not share this host's memory
    other = [_FakeDevice("cpu"), *(_FakeDevice("cpu", process_index=1) for _ in range(3))]
    assert ga.memory_limit_bytes(cfg, other) == pytest.approx(7 * row)
    # an accelerator without memory statistics falls back to the host's share
    assert ga.memory_limit_bytes(cfg, [_FakeDevice("gpu")]) == pytest.approx(7 * row)


def test_search_is_reproducible_and_resumes(tmp_path):
    p = Problem(2, "dephasing", 0.1)
    a = search(p, SMALL, seed=3)
    b = search(p, SMALL, seed=3)
    np.testing.assert_array_equal(np.asarray(a.population.gate), np.asarray(b.population.gate))
    np.testing.assert_array_equal(a.fitnesses, b.fitnesses)
    np.testing.assert_array_equal(a.history["best"], b.history["best"])
    assert np.all(np.diff(a.history["best"]) >= 0)  # elitism: the best never gets worse
    assert a.fitness >= a.ghz_fitness  # the GHZ chromosome is in generation 0

    ck = tmp_path / "ga.npz"

    class Killed(Exception):
        pass

    def kill_at_2(gen, best):
        if gen == 2:
            raise Killed

    with pytest.raises(Killed):
        search(p, SMALL, seed=3, checkpoint=ck, callback=kill_at_2)
    assert ck.exists()
    r = search(p, SMALL, seed=3, checkpoint=ck)
    np.testing.assert_array_equal(np.asarray(r.population.angle), np.asarray(a.population.angle))
    np.testing.assert_array_equal(r.fitnesses, a.fitnesses)
    np.testing.assert_array_equal(r.history["best"], a.history["best"])
    with pytest.raises(ValueError, match="checkpoint"):
        search(p, SMALL, seed=4, checkpoint=ck)  # another run's checkpoint is refused


def test_vqs_beats_ghz_under_dephasing():
    """N = 2, dephasing: GHZ peaks at F = N^2 t^2 e^{-2 N gamma t} -> 1/(gamma e)^2 (any N);
    the product state |+>|+> at 2/(gamma e)^2 (each qubit: t^2 e^{-2 gamma t}, max at
    t = 1/gamma), reachable from GHZ by CRx(pi)-type disentangling. VQS >= both."""
    gamma = 0.1
    p = Problem(2, "dephasing", gamma)
    res = find_optimal_probe(p, SMALL, RefineConfig(steps=150, top_k=2, restarts=2), seed=0)
    assert res.ghz_value == pytest.approx(1 / (gamma * np.e) ** 2, rel=1e-6)
    assert res.ghz_t == pytest.approx(1 / (2 * gamma), rel=1e-3)
    assert res.value >= res.ghz_value
    assert res.value >= 2 / (gamma * np.e) ** 2 * (1 - 1e-6)
    assert res.search.fitness >= res.search.ghz_fitness


def test_search_finds_known_optimum_without_ghz_seed():
    """Noiseless, fixed t = 1: no state beats F = N^2 t^2 (= (lambda_max - lambda_min)^2 t^2 of
    (1/2) sum Z). With the GHZ chromosome left out of generation 0, search + refinement of
    the fittest structures must climb back to exactly N^2 t^2 (genes: Ry and CRx only, whose
    random angles lower the QFI)."""
    n, t = 2, 1.0
    p = Problem(n, "none", 0.0)
    cfg = GAConfig(population=16, generations=4, max_genes=6, init_genes=3, elite=2,
                   t_grid=(t,), include_empty=False, gate_probs=(0.0, 1.0, 0.0, 1.0),
                   local_steps=0, structured=False)  # the plain GA: raw angles
    res = search(p, cfg, seed=1)
    assert res.history["best"][0] < n**2 * t**2 - 1e-3  # generation 0 is below the optimum
    assert res.fitness <= n**2 * t**2 + 1e-9
    top = res.population[np.argsort(-res.fitnesses)[:4]]
    opt = optimize_angles(p, top, method="lbfgs", steps=60, t0=t, optimize_t=False)
    assert opt.value == pytest.approx(n**2 * t**2, abs=1e-6)
    assert np.all(opt.values <= n**2 * t**2 + 1e-9)


@pytest.mark.parametrize("noise", ["bitflip", "amplitude_damping"])
def test_search_reaches_independent_optimum_from_random_start(noise):
    """N = 2, gamma = 0.1, scalar field at B0 = 1: the search, started from random
    chromosomes only (no GHZ, no structured seeds), reaches >= 98 % of the best pure state
    found by direct optimization over all states in tests/reference/vqs_optimum.py (numpy,
    full Liouvillian), never exceeds it, and is not below the best product probe there.
    The plain GA of the seed (structures ranked at their raw angles, local_steps=0) misses
    these cells at the same budget."""
    gamma = 0.1
    pure, t_pure = best_qfi(2, noise, gamma, kind="pure", starts=4)
    product, _ = best_qfi(2, noise, gamma, kind="product", starts=4)
    assert product <= pure * (1 + 1e-9)
    cfg = GAConfig(population=24, generations=8, max_genes=8, init_genes=4,
                   include_empty=False, structured=False)
    res = find_optimal_probe(Problem(2, noise, gamma), cfg, RefineConfig(top_k=2, restarts=2),
                             seed=5)
    assert res.value >= 0.98 * pure
    assert res.value <= pure * (1 + 1e-6)
    assert res.value >= product * (1 - 1e-6)
    assert res.value >= res.ghz_value


def test_a_chromosome_too_short_for_the_product_family_warns():
    """The walkthrough's search (N = 3, max_genes = 6 < 3N - 1 = 8) ended at 114.07 under
    amplitude damping, below the best product probe's 162.40, silently: generation 0 could not
    hold the product-state family. It now says so; with 8 genes it does not."""
    import warnings

    from qsense.genetic import GAConfig, initial_population

    key = jax.random.PRNGKey(0)
    problem = Problem(3, "amplitude_damping", 0.1)
    with pytest.warns(UserWarning, match=r"max_genes = 6 .* 8 genes \(3N - 1\)"):
        initial_population(key, problem, GAConfig(population=8, max_genes=6))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        initial_population(key, problem, GAConfig(population=8, max_genes=8))
        initial_population(key, Problem(1, "dephasing", 0.1),
                           GAConfig(population=8, max_genes=2, init_genes=2, max_run=2))


def test_progress_bar_counts_generations(capsys, tmp_path):
    """progress=True: the bar advances one step per generation and the finished bar stays
    (it used to redraw "0/4" at every generation and then erase itself)."""
    p = Problem(2, "dephasing", 0.1)
    res = search(p, SMALL, seed=3, progress=True)
    frames = [f.strip() for f in capsys.readouterr().err.split("\r") if f.strip()]
    assert frames, "no progress bar written"
    last = frames[-1]
    assert f"{SMALL.generations}/{SMALL.generations}" in last and "100%" in last
    assert f"best={res.history['best'][-1]:.5g}" in last
    # a resumed run starts at its checkpoint's generation and ends at the total as well
    ck = tmp_path / "ga.npz"

    class Stopped(Exception):
        pass

    def stop_at_2(gen, best):
        if gen == 2:
            raise Stopped

    with pytest.raises(Stopped):
        search(p, SMALL, seed=3, checkpoint=ck, callback=stop_at_2)
    capsys.readouterr()
    search(p, SMALL, seed=3, checkpoint=ck, progress=True)
    frames = [f.strip() for f in capsys.readouterr().err.split("\r") if f.strip()]
    assert f"2/{SMALL.generations}" in frames[0]
    assert f"{SMALL.generations}/{SMALL.generations}" in frames[-1]
    assert not capsys.readouterr().out


def test_tournament_selects_the_fitter_candidates():
    """Selection alone: no elite, children are exact copies of their parents (permutation of
    chromosomes of <= 1 gene is the identity; no angle jitter, no local steps), so generation 1
    holds the tournament winners of generation 0 with their fitnesses. Tournaments of 8 from 16
    keep the best chromosome and raise the mean; picking the loser would lower both."""
    p = Problem(2, "dephasing", 0.1)
    cfg = GAConfig(population=16, generations=1, max_genes=2, init_genes=1, elite=0, max_run=1,
                   tournament=8, n_t=4, local_steps=0, structured=False, angle_sigma=0.0,
                   operator_probs=(0.0, 0.0, 0.0, 0.0, 1.0))
    res = search(p, cfg, seed=2)
    best, mean = res.history["best"], res.history["mean"]
    assert mean[0] < best[0] - 1e-3  # generation 0's fitnesses differ
    assert best[1] == pytest.approx(best[0], rel=1e-12)
    assert mean[1] > mean[0]


def test_selection_ranks_fitnesses_to_32_bits_and_keeps_order_and_infinities():
    """`ranking` (what selection compares) is the fitness to within 2^-32 relative, keeps
    every order wider than that, keeps +-inf, and makes values 1e-15 apart a tie (which the
    stable sorts and first-argmax then give to the lower row, whatever the rounding of the
    batch a row was scored in)."""
    import jax.numpy as jnp

    from qsense.genetic import RANK_BITS, ranking

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=200) * 10.0 ** rng.integers(-6, 6, 200),
                        [0.0, 1.0, -1.0, 68.9061157641589, -0.0142588]])
    r = np.asarray(ranking(jnp.asarray(x)))
    assert RANK_BITS == 32
    # within half a unit of the 32nd significant bit, and on that grid
    m, e = np.frexp(x)
    assert np.all(np.abs(r - x) <= np.ldexp(0.5, e - 32))
    assert np.all(np.ldexp(r, 32 - e) == np.round(np.ldexp(r, 32 - e)))
    # orders wider than 2^-31 are kept; 1e-15 apart is a tie
    order = np.argsort(x)
    assert np.all(np.diff(r[order]) >= 0)
    wide = np.abs(np.diff(x[order])) > 2.0**-31 * np.abs(x[order][1:])
    assert np.all(np.diff(r[order])[wide] > 0)
    near = x * (1 + 1e-15)
    rn = np.asarray(ranking(jnp.asarray(near)))
    on_grid_edge = np.abs(np.ldexp(m, 32) % 1 - 0.5) < 1e-4  # within 1e-4 of a rounding edge
    assert np.all((rn == r) | on_grid_edge)
    assert list(np.asarray(ranking(jnp.asarray([np.inf, -np.inf])))) == [np.inf, -np.inf]
    # float32 fitnesses (mixed precision) have 24 bits: unchanged
    x32 = jnp.asarray(x, jnp.float32)
    np.testing.assert_array_equal(np.asarray(ranking(x32)), np.asarray(x32))
    # a tie goes to the lower row: stable sort and first argmax on the ranks
    f = jnp.asarray([1.0, 2.0 * (1 + 1e-15), 2.0, 0.5])
    assert int(jnp.argmax(ranking(f))) == 1 and int(jnp.argmax(f)) == 1
    f = jnp.asarray([1.0, 2.0, 2.0 * (1 + 1e-15), 0.5])
    assert int(jnp.argmax(ranking(f))) == 1 and int(jnp.argmax(f)) == 2


def test_selection_is_the_same_for_fitnesses_that_differ_by_rounding():
    """`select_parents` on a population with many near-duplicates (copies whose scores differ
    by a few ulps, as the same chromosome scored in another batch layout does) picks the same
    elite and tournament winners as on the unperturbed fitnesses, over many keys; and every
    pick is right against a plain numpy selection that breaks exact ties by the lower row."""
    import jax.numpy as jnp

    from qsense.genetic import select_parents

    rng = np.random.default_rng(3)
    base = rng.choice([68.9061157641589, 68.001316, 284.42594, -0.0142588, 12.5], size=40)
    base = base * (1 + rng.choice([0.0, 1e-9, 3e-7], size=40))  # real differences stay
    noisy = base * (1 + rng.integers(-4, 5, size=40) * 2.0**-52)  # a few ulps apart
    elite, k = 4, 3
    for seed in range(20):
        key = jax.random.PRNGKey(seed)
        e0, w0 = (np.asarray(x) for x in select_parents(key, jnp.asarray(base), elite, k))
        e1, w1 = (np.asarray(x) for x in select_parents(key, jnp.asarray(noisy), elite, k))
        np.testing.assert_array_equal(e1, e0)
        np.testing.assert_array_equal(w1, w0)
        # numpy reference on the exact (unperturbed) values: the elite are the fittest, ties
        # to the lower row; each winner the fittest of its drawn rows, ties to the first drawn
        assert list(e0) == list(np.lexsort((np.arange(40), -base))[:elite])
        cand = np.asarray(jax.random.randint(key, (40 - elite, k), 0, 40))
        for row, w in zip(cand, w0, strict=True):
            assert w == row[np.argmax(base[row])]


def test_start_time_and_memetic_best_point_ignore_rounding_differences():
    """A generation's start time (`pick_start`: the best of the t grid and the inherited time)
    and the memetic steps' best point (`improves`) compare fitnesses as `ranking` does:
    candidates a few ulps apart are tied (first candidate / the earlier point kept), real
    differences (1e-9 relative) still win, NaN never wins. Checked against plain numpy rules
    written here, on many rows with random near-ties."""
    import jax.numpy as jnp

    from qsense.genetic import improves, pick_start

    rng = np.random.default_rng(11)
    k, p = 7, 400
    level = rng.choice([68.9061157641589, 284.42594, 1e-3, 3.5e4], size=(1, p))
    step = rng.choice([0.0, 0.0, 1e-9, -1e-9, 2e-6], size=(k, p))  # real differences
    exact = level * (1 + step)
    ulps = rng.integers(-4, 5, size=(k, p)) * 2.0**-52
    noisy = exact * (1 + ulps)  # the same values, scored in another batch layout
    noisy[rng.random((k, p)) < 0.05] = np.nan
    times = rng.uniform(0.1, 10.0, size=(k, p))
    f0, t0 = (np.asarray(x) for x in pick_start(jnp.asarray(noisy), jnp.asarray(times)))
    # numpy rule on the exact values: the first candidate of the largest value, NaN as -inf
    ref = np.where(np.isnan(noisy), -np.inf, exact)
    want = np.argmax(ref, axis=0)
    np.testing.assert_array_equal(t0, times[want, np.arange(p)])
    np.testing.assert_array_equal(f0, np.where(np.isnan(noisy), -np.inf, noisy)[want, np.arange(p)])
    assert np.all(np.isfinite(f0))  # some candidate of every row is finite here

    # the memetic best point moves only on a real improvement of the loss (-fitness)
    best = -exact[0]
    loss = -noisy[1]
    got = np.asarray(improves(jnp.asarray(loss), jnp.asarray(best)))
    want = np.isfinite(loss) & (-exact[1] < best)
    np.testing.assert_array_equal(got, want)
    assert got.any() and not got.all()  # both outcomes occur
    # nor on a non-finite loss (NaN, or -inf: an overflowed fitness)
    assert not np.asarray(improves(jnp.asarray([np.nan, -np.inf]), jnp.asarray([1.0, 1.0]))).any()
    # a rounding-level improvement only: never a move
    assert not np.asarray(improves(jnp.asarray(best * (1 + 2.0**-50)), jnp.asarray(best))).any()


@pytest.mark.parametrize("weights,gate", [((0.0, 1.0, 0.0, 0.0), 1), ((0.0, 0.0, 0.0, 1.0), 3)])
def test_inserted_genes_follow_gate_probs(weights, gate):
    """New genes of insertion are drawn with ``gate_probs``: with all weight on one gate
    (Ry = 1, CRx = 3 in `qsense.genome`), every inserted gene is that gate."""
    old = _population(4)
    keys = jax.random.split(jax.random.PRNGKey(44), SEEDS)
    new = apply_operator(keys, old, "insertion", n_qubits=N, max_run=3, gate_probs=weights)
    _check_canonical(new)
    inserted = 0
    for i in range(SEEDS):
        before, after = _genes(old, i), _genes(new, i)
        extra = [g for g in after if g not in before]
        inserted += len(extra)
        assert all(g[0] == gate for g in extra)
    assert inserted >= SEEDS // 2


def test_fitness_is_the_merit_at_the_reported_time():
    """GHZ under dephasing: F(t) = N^2 t^2 e^{-2 N gamma t} (closed form). The search reports
    the GHZ fitness as the best of its time grid, at the grid time where it is reached, and
    every chromosome's fitness is its QFI at its own reported time."""
    from qsense.optimize import merit

    n, gamma = 2, 0.1
    p = Problem(n, "dephasing", gamma)
    cfg = GAConfig(population=8, generations=1, max_genes=4, init_genes=2, elite=1, n_t=6,
                   local_steps=0, structured=False)
    res = search(p, cfg, seed=0)
    closed = n**2 * res.t_grid**2 * np.exp(-2 * n * gamma * res.t_grid)
    assert res.ghz_fitness == pytest.approx(closed.max(), rel=1e-10)
    assert res.ghz_t == pytest.approx(res.t_grid[np.argmax(closed)], rel=1e-12)
    for i in range(cfg.population):
        assert res.fitnesses[i] == pytest.approx(float(merit(p, res.population[i], res.ts[i])),
                                                 rel=1e-9)


_SMALL = {"population": 2, "elite": 1, "tournament": 2}  # the smallest GA


@pytest.mark.parametrize("cls,name,bad,good,accepted", [
    (GAConfig, "n_t", 0, 1, "an integer in [1, 256]"),
    (GAConfig, "memory_limit_gb", 0.0, 1e-9, "a size > 0 (GB) or None"),
    (GAConfig, "population", 2.5, 2, "an integer >= 2"),
    (GAConfig, "tournament", 3, 2, "an integer in [1, 2]"),
    (RefineConfig, "jitter", float("inf"), 0.0, "an angle >= 0 (radians)"),
    (RefineConfig, "restarts", True, 1, "an integer >= 1"),
    # the wrong kind: numpy's "could not convert string to float" or a comparison TypeError
    (GAConfig, "operator_probs", ("a",) * 5, (0.2, 0.2, 0.2, 0.2, 0.2),
     "5 probabilities >= 0 for ['deletion', 'insertion', 'replacement', 'swapping', "
     "'permutation']"),
    (GAConfig, "gate_probs", "xyzw", (1, 1, 1, 1),
     "4 weights >= 0 for (Rx, Ry, Rz, CRx), not all 0"),
    (GAConfig, "t_grid", ["1", "2"], [1.0, 2.0], "a non-empty list of times > 0"),
    (GAConfig, "memory_limit_gb", "8", 8, "a size > 0 (GB) or None"),
])
def test_config_bound_rejects_just_past_and_accepts_on_it(cls, name, bad, good, accepted):
    """Mutation sweep: these bounds (n_t >= 1, memory_limit_gb > 0, an integer population,
    tournament <= population, a finite jitter, a non-bool restarts) could be loosened with
    every other test passing; and values of the wrong kind are named, not left to numpy."""
    import re

    extra = _SMALL if cls is GAConfig else {}
    with pytest.raises(ValueError, match=rf"^{name} = {re.escape(repr(bad))} is invalid; "
                                         rf"accepted: {re.escape(accepted)}"):
        cls(**{**extra, name: bad})
    cls(**{**extra, name: good})
