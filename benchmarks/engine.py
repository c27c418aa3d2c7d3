"""Engine throughput: population fitness (QFI of the sensed GHZ+PQC probe) per second.

For each N: the jitted, vmapped engine (`qsense.make_fitness`), the ceiling it cannot beat (a
jitted batched `jnp.linalg.eigh` of the very 2^N x 2^N sensed states the engine decomposes:
every exact QFI needs one; LAPACK's divide and conquer is faster on their low-rank spectra
than on random full-rank matrices, also reported), and a plain-numpy implementation done
well, twice: per circuit as the issue describes it (reshape-based gates on the state vector,
per-qubit 4x4 superoperators by reshape, one eigh per circuit) and vectorized over the whole
population (a stronger baseline); both use the commutator form of d rho/dB that dephasing
allows, as the engine does. float64 and float32, compile time reported apart. Prints a
Markdown table and writes JSON.

A second table (``--composed``) times the path users compose themselves,
``jax.vmap(lambda g: qsense.qfi(lambda b: qsense.sense(qsense.apply_pqc(psi, g), b, t, noise,
gamma), b0))``, against `qsense.make_fitness` (jit(vmap(score))), a batched eigh of 256 random
density matrices of the same size and the per-circuit numpy implementation, all in the same
run; and one GA generation (population 256, N = 5, each noise) against the raw
`make_fitness` call on the same (genome, t) evaluations.

    python benchmarks/engine.py            # N = 3, 5, 8, 10 (population 256; 16 at N=10)
    python benchmarks/engine.py --sizes 3,5 --reps 5
    python benchmarks/engine.py --composed --sizes 5,8 --reps 5   # composed path + GA table
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import time
from pathlib import Path

# runnable from a checkout without an install (as the other scripts): the repository root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.linalg as sla  # noqa: E402

import qsense  # noqa: E402

try:
    from _common import add_device_argument, check_close, device_record, select_device
except ImportError:  # imported as benchmarks.engine
    from benchmarks._common import add_device_argument, check_close, device_record, select_device
from qsense.noise import liouvillian_1q  # noqa: E402

NOISE, GAMMA, T, B0 = "dephasing", 0.1, 1.0, 1.0


def population(n: int, size: int, genes: int, seed: int = 0) -> qsense.Genome:
    keys = jax.random.split(jax.random.PRNGKey(seed), size)
    return jax.vmap(lambda k: qsense.random_genome(k, n, genes))(keys)


def timed(fn, reps: int) -> tuple[float, float]:
    """(first call seconds, fastest of ``reps`` further calls: the least perturbed by other
    processes on a shared machine)."""
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return first, float(np.min(times))


def timed_cpu(fn, reps: int) -> tuple[float, float]:
    """(fastest wall seconds of ``reps`` calls after a warm-up, this process's CPU seconds in
    that call): CPU time / wall time shows how many threads a call kept busy (jaxlib's CPU
    eigh spreads a batch over XLA's pool only when it is not itself running on that pool)."""
    jax.block_until_ready(fn())
    best = (float("inf"), float("nan"))
    for _ in range(reps):
        c0, t0 = time.process_time(), time.perf_counter()
        jax.block_until_ready(fn())
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        best = min(best, (wall, cpu))
    return best


# ---------------------------------------------------------------- numpy side by side
def numpy_fitness(gate, control, target, angle, n: int, cdtype) -> np.ndarray:
    """Batched numpy: same physics as the engine, written for numpy (no Kronecker products)."""
    pop, genes = gate.shape
    d = 2**n
    rdtype = np.float32 if cdtype == np.complex64 else np.float64
    psi = np.zeros((pop, d), cdtype)
    psi[:, 0] = psi[:, -1] = 1 / np.sqrt(2)
    idx = np.arange(d)
    rows = np.arange(pop)[:, None]
    for k in range(genes):  # genes in order; each gene vectorized over the population
        g, c, tq, a = gate[:, k, None], control[:, k, None], target[:, k, None], angle[:, k, None]
        a = a.astype(rdtype)
        shift = n - 1 - tq
        bit = (idx[None] >> shift) & 1
        partner = idx[None] ^ (1 << shift)
        co, si, e = np.cos(a / 2), np.sin(a / 2), np.exp(-0.5j * a)
        x = (g == 0) | (g == 3)
        u00 = np.where(g == 2, e, np.where(g == 4, 1, co))
        u11 = np.where(g == 2, np.conj(e), np.where(g == 4, 1, co))
        u01 = np.where(x, -1j * si, np.where(g == 1, -si, 0))
        u10 = np.where(x, -1j * si, np.where(g == 1, si, 0))
        diag = np.where(bit == 1, u11, u00)
        off = np.where(bit == 1, u10, u01)
        new = diag * psi + off * psi[rows, partner]
        active = np.where(g == 3, ((idx[None] >> (n - 1 - c)) & 1) == 1, True)
        psi = np.where(active, new, psi).astype(cdtype)
    rho = np.einsum("pi,pj->pij", psi, psi.conj())
    # one-qubit map S = exp(t Lv(B)) applied qubit by qubit (the engine's qubit rotation)
    gen = np.asarray(liouvillian_1q(jnp.array([0.0, 0.0, B0]), NOISE, GAMMA))
    s4 = sla.expm(T * gen).reshape(2, 2, 2, 2).astype(cdtype)
    m = d // 2
    for _ in range(n):
        r = rho.reshape(pop, 2, m, 2, m)
        rho = np.einsum("acbd,pbxdy->pxayc", s4, r, optimize=True).reshape(pop, d, d)
    # dephasing commutes with the field's Z rotation: d rho/dB = -i (t/2) [Jz, rho], the same
    # shortcut the engine takes (so both sides do the same work)
    jz = n - 2 * np.array([bin(k).count("1") for k in range(d)], rdtype)
    drho = (-0.5j * T) * (jz[:, None] - jz[None, :]) * rho
    lam, v = np.linalg.eigh(rho)
    dd = np.conj(v).transpose(0, 2, 1) @ drho @ v
    ssum = lam[:, :, None] + lam[:, None, :]
    eps = 1e-5 if cdtype == np.complex64 else 1e-10
    mask = ssum > eps
    return 2 * np.sum(np.where(mask, np.abs(dd) ** 2 / np.where(mask, ssum, 1), 0), axis=(1, 2))


def numpy_fitness_per_circuit(gate, control, target, angle, n: int, cdtype) -> np.ndarray:
    """One circuit at a time: reshape-based gates on the state tensor, one eigh per circuit."""
    rdtype = np.float32 if cdtype == np.complex64 else np.float64
    d = 2**n
    gen = np.asarray(liouvillian_1q(jnp.array([0.0, 0.0, B0]), NOISE, GAMMA))
    s4 = sla.expm(T * gen).reshape(2, 2, 2, 2).astype(cdtype)
    jz = n - 2 * np.array([bin(k).count("1") for k in range(d)], rdtype)
    comm = (-0.5j * T) * (jz[:, None] - jz[None, :])
    eps = 1e-5 if cdtype == np.complex64 else 1e-10
    mats = {0: lambda a: np.array([[np.cos(a / 2), -1j * np.sin(a / 2)],
                                   [-1j * np.sin(a / 2), np.cos(a / 2)]]),
            1: lambda a: np.array([[np.cos(a / 2), -np.sin(a / 2)],
                                   [np.sin(a / 2), np.cos(a / 2)]]),
            2: lambda a: np.diag([np.exp(-0.5j * a), np.exp(0.5j * a)])}
    mats[3] = mats[0]
    out = np.empty(gate.shape[0])
    for p in range(gate.shape[0]):
        psi = np.zeros([2] * n, cdtype)
        psi[(0,) * n] = psi[(1,) * n] = 1 / np.sqrt(2)
        for g, c, tq, a in zip(gate[p], control[p], target[p], angle[p], strict=True):
            if g == 4:
                continue
            u = mats[int(g)](float(a)).astype(cdtype)
            if g == 3:  # act on the control = 1 slice only
                sl = [slice(None)] * n
                sl[c] = 1
                sub = psi[tuple(sl)]
                ax = tq if tq < c else tq - 1
                psi[tuple(sl)] = np.moveaxis(np.tensordot(u, sub, axes=([1], [ax])), 0, ax)
            else:
                psi = np.moveaxis(np.tensordot(u, psi, axes=([1], [tq])), 0, tq)
        vec = psi.reshape(d)
        rho = np.outer(vec, vec.conj())
        for q in range(n):  # per-qubit superoperator on axes (q, n+q) by reshape
            r = rho.reshape(2**q, 2, 2 ** (n - q - 1), 2**q, 2, 2 ** (n - q - 1))
            rho = np.einsum("acbd,ibjkdl->iajkcl", s4, r, optimize=True).reshape(d, d)
        drho = comm * rho
        lam, v = np.linalg.eigh(rho)
        dd = v.conj().T @ drho @ v
        ssum = lam[:, None] + lam[None, :]
        mask = ssum > eps
        out[p] = 2 * np.sum(np.where(mask, np.abs(dd) ** 2 / np.where(mask, ssum, 1), 0))
    return out


def random_density_batch(n: int, size: int, cdtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    d = 2**n
    a = rng.normal(size=(size, d, d)) + 1j * rng.normal(size=(size, d, d))
    h = a @ np.conj(a).transpose(0, 2, 1)
    return jnp.asarray(h / np.trace(h, axis1=1, axis2=2)[:, None, None], cdtype)


def bench_size(n: int, size: int, genes: int, reps: int, numpy_reps: int) -> list[dict]:
    pop = population(n, size, genes)
    rows = []
    ref64 = None
    for prec, cdtype in (("float64", jnp.complex128), ("float32", jnp.complex64)):
        f = qsense.make_fitness(n, NOISE, dtype=cdtype)
        first, steady = timed(lambda f=f: f(pop, T, GAMMA, B0), reps)
        vals = np.asarray(f(pop, T, GAMMA, B0), np.float64)
        if ref64 is None:
            ref64 = vals
        eig = jax.jit(jnp.linalg.eigh)
        # the ceiling: one eigh per circuit, of the very matrices the engine decomposes
        sensed = jax.jit(jax.vmap(lambda g, cdtype=cdtype: qsense.sensed_probe(
            g, B0, T, GAMMA, n_qubits=n, noise=NOISE, dtype=cdtype)))(pop)
        _, eig_steady = timed(lambda eig=eig, m=sensed: eig(m), reps)
        eig_jacobi = None
        if sensed.devices().pop().platform == "gpu":
            # cuSOLVER's Jacobi (syevj) beside the default (batched syevj only up to 32 x 32,
            # syevd one matrix at a time above): which one a large-N GPU run should take
            try:
                jac = jax.jit(functools.partial(
                    jax.lax.linalg.eigh, implementation=jax.lax.linalg.EighImplementation.JACOBI))
                _, eig_jacobi = timed(lambda jac=jac, m=sensed: jac(m), 1)  # device time is short
            except Exception as e:  # noqa: BLE001  (a missing solver must not cost the row)
                print(f"eigh Jacobi at N = {n}, {prec}: {type(e).__name__}: {e}", flush=True)
        rand = random_density_batch(n, size, cdtype)
        _, eig_rand = timed(lambda eig=eig, m=rand: eig(m), reps)
        npdt = np.complex128 if prec == "float64" else np.complex64
        args = [np.asarray(a) for a in (pop.gate, pop.control, pop.target, pop.angle)]
        np_vals = numpy_fitness(*args, n, npdt)
        np_times = []
        for _ in range(numpy_reps):
            t0 = time.perf_counter()
            numpy_fitness(*args, n, npdt)
            np_times.append(time.perf_counter() - t0)
        np_steady = float(np.min(np_times))
        loop_vals = numpy_fitness_per_circuit(*args, n, npdt)
        t0 = time.perf_counter()
        numpy_fitness_per_circuit(*args, n, npdt)
        loop_s = time.perf_counter() - t0
        compile_s = first - steady
        rows.append({
            "n_qubits": n, "precision": prec, "population": size, "genes": genes,
            "engine_circuits_per_s": size / steady,
            "eigh_limit_per_s": size / eig_steady,
            "eigh_random_full_rank_per_s": size / eig_rand,
            "eigh_jacobi_per_s": None if eig_jacobi is None else size / eig_jacobi,
            "fraction_of_eigh_limit": eig_steady / steady,
            "numpy_circuits_per_s": size / loop_s,
            "speedup_vs_numpy": loop_s / steady,
            "numpy_batched_circuits_per_s": size / np_steady,
            "speedup_vs_numpy_batched": np_steady / steady,
            "compile_s": compile_s,
            "max_rel_err_vs_float64": float(np.max(np.abs(vals - ref64) / np.abs(ref64))),
            "max_rel_diff_numpy_vs_engine": float(max(
                np.max(np.abs(np_vals - vals) / np.abs(vals)),
                np.max(np.abs(loop_vals - vals) / np.abs(vals)))),
        })
        print(_row(rows[-1]), flush=True)
        check_agreement(rows[-1]["max_rel_diff_numpy_vs_engine"], prec,
                        f"numpy vs engine at N = {n}, {prec}")
    return rows


#: Largest relative difference between two implementations of the same QFI that a benchmark
#: accepts (measured: 1e-14 in float64, 1e-5 in float32 at N = 8); the figures of a run that
#: disagrees would time a wrong answer.
AGREEMENT = {"float64": 1e-9, "float32": 1e-3}


def check_agreement(diff: float, prec: str, what: str) -> None:
    """Stop the benchmark (SystemExit) when ``diff`` exceeds ``AGREEMENT[prec]`` (the shared
    rule, `_common.check_close`)."""
    check_close(diff, AGREEMENT[prec], f"{what} (relative difference)")


HEADER = ("| N | precision | population | engine circuits/s | eigh limit /s | "
          "engine / eigh | eigh random /s | numpy per circuit /s | engine / numpy | "
          "numpy batched /s | engine / numpy batched | compile s | rel. err vs f64 | "
          "numpy vs engine | eigh Jacobi /s (GPU) |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def _row(r: dict) -> str:
    jacobi = r.get("eigh_jacobi_per_s")
    return (f"| {r['n_qubits']} | {r['precision']} | {r['population']} | "
            f"{r['engine_circuits_per_s']:.1f} | {r['eigh_limit_per_s']:.1f} | "
            f"{r['fraction_of_eigh_limit']:.2f} | {r['eigh_random_full_rank_per_s']:.1f} | "
            f"{r['numpy_circuits_per_s']:.1f} | {r['speedup_vs_numpy']:.2f} | "
            f"{r['numpy_batched_circuits_per_s']:.1f} | {r['speedup_vs_numpy_batched']:.2f} | "
            f"{r['compile_s']:.2f} | {r['max_rel_err_vs_float64']:.1e} | "
            f"{r['max_rel_diff_numpy_vs_engine']:.1e} | "
            f"{'-' if jacobi is None else f'{jacobi:.1f}'} |")


def xla_cost(jitted, *args) -> dict:
    """XLA's static cost analysis of a jitted call (flops, bytes accessed): a load-independent
    comparison of two programs' work (LAPACK custom calls such as eigh count as zero flops, so
    compare programs that contain the same eigh calls)."""
    ca = jitted.lower(*args).compile().cost_analysis()
    ca = ca[0] if isinstance(ca, (list, tuple)) else ca
    return {"flops": float(ca.get("flops", 0.0)), "bytes": float(ca.get("bytes accessed", 0.0))}


def composed_path(n: int, noise: str):
    """The public path a user writes: qfi of sense of apply_pqc, vmapped and jitted."""
    psi = qsense.ghz_state(n)

    def one(g):
        return qsense.qfi(lambda b: qsense.sense(qsense.apply_pqc(psi, g), b, T, noise, GAMMA),
                          B0)

    return jax.jit(jax.vmap(one))


def bench_composed(n: int, size: int, genes: int, reps: int, numpy_per_circuit: bool) -> dict:
    """float64: the composed public path against make_fitness, a batched eigh of random
    matrices and (optionally) the per-circuit numpy implementation, in the same run."""
    pop = population(n, size, genes)
    fit = qsense.make_fitness(n, NOISE)
    comp = composed_path(n, NOISE)
    eig = jax.jit(jnp.linalg.eigh)
    rand = random_density_batch(n, size, jnp.complex128)
    _, t_fit = timed(lambda: fit(pop, T, GAMMA, B0), reps)
    _, t_comp = timed(lambda: comp(pop), reps)
    _, t_eig = timed(lambda: eig(rand), reps)
    # the same eigh of real symmetric matrices: the floor of a dephasing circuit's QFI since
    # its sensed state is a real matrix up to a diagonal phase (`qsense.fisher.qfi_commutator`)
    rand_real = jnp.asarray(np.asarray(rand).real)
    _, t_eig_real = timed(lambda: eig(rand_real), reps)
    _, t_fit2 = timed(lambda: fit(pop, T, GAMMA, B0), reps)  # again: load drift check
    t_fit = min(t_fit, t_fit2)
    w_comp, c_comp_s = timed_cpu(lambda: comp(pop), reps)
    w_eig, c_eig_s = timed_cpu(lambda: eig(rand), reps)
    a, b = np.asarray(comp(pop)), np.asarray(fit(pop, T, GAMMA, B0))
    from qsense.objective import population_score

    c_comp = xla_cost(comp, pop)
    c_fit = xla_cost(population_score, qsense.Problem(n, NOISE, GAMMA, b0=B0), pop, T)
    row = {"xla_flops_composed_over_make_fitness": c_comp["flops"] / c_fit["flops"],
           "xla_bytes_composed_over_make_fitness": c_comp["bytes"] / c_fit["bytes"],
           "n_qubits": n, "population": size, "genes": genes, "noise": NOISE,
           "composed_circuits_per_s": size / t_comp, "make_fitness_circuits_per_s": size / t_fit,
           "eigh_random_per_s": size / t_eig, "composed_over_make_fitness": t_fit / t_comp,
           "composed_over_eigh_random": t_eig / t_comp,
           "eigh_random_real_per_s": size / t_eig_real,
           "composed_over_eigh_random_real": t_eig_real / t_comp,
           "composed_cpu_s": c_comp_s, "composed_wall_s": w_comp,
           "eigh_random_cpu_s": c_eig_s, "eigh_random_wall_s": w_eig,
           "composed_over_eigh_random_cpu_time": c_eig_s / c_comp_s,
           "max_rel_diff_composed_vs_make_fitness": float(np.max(np.abs(a - b) / np.abs(b)))}
    if numpy_per_circuit:
        args = [np.asarray(x) for x in (pop.gate, pop.control, pop.target, pop.angle)]
        times = []
        for _ in range(max(1, reps // 2)):
            t0 = time.perf_counter()
            ref = numpy_fitness_per_circuit(*args, n, np.complex128)
            times.append(time.perf_counter() - t0)
        row["numpy_per_circuit_per_s"] = size / min(times)
        row["composed_over_numpy_per_circuit"] = min(times) / t_comp
        row["max_rel_diff_numpy_vs_composed"] = float(np.max(np.abs(ref - a) / np.abs(a)))
        check_agreement(row["max_rel_diff_numpy_vs_composed"], "float64",
                        f"numpy vs composed at N = {n}")
    check_agreement(row["max_rel_diff_composed_vs_make_fitness"], "float64",
                    f"composed vs make_fitness at N = {n}")
    return row


def bench_ga(n: int, population_size: int, reps: int,
             noises: tuple[str, ...] = ("dephasing", "bitflip", "amplitude_damping")
             ) -> list[dict]:
    """One GA generation (selection, five operators, population x t-grid scoring through
    `qsense.score`) against the raw make_fitness call on the same number of evaluations."""
    from qsense.genetic import GAConfig, _programs, _static_config, initial_population

    rows = []
    for noise in noises:
        prob = qsense.Problem(n, noise, GAMMA)
        # the plain generation (no memetic angle steps: those are extra optimizer work, timed
        # in benchmarks/vqs.py): selection, operators and (n_t + 1) scorings per chromosome
        cfg = GAConfig(population=population_size, local_steps=0)
        _, generation = _programs(n, _static_config(cfg))
        ts = jnp.geomspace(0.2, 50.0, cfg.n_t)
        pop = initial_population(jax.random.PRNGKey(0), prob, cfg)
        # score a realistic population: one generation of children from the initial one
        fit0 = jnp.zeros(population_size)
        tt0 = jnp.full((population_size,), 2.0)
        pop, fit, tt = generation(jax.random.PRNGKey(2), pop, fit0, tt0, ts, prob)
        _, t_gen = timed(lambda pop=pop, fit=fit, tt=tt, ts=ts, prob=prob, g=generation:
                         g(jax.random.PRNGKey(1), pop, fit, tt, ts, prob), reps)
        raw = qsense.make_fitness(n, noise)
        # the same (genome, t) evaluations: the children this generation scores, at each grid
        # time and once more (the inherited times, here all at the grid's middle time)
        children = generation(jax.random.PRNGKey(1), pop, fit, tt, ts, prob)[0]
        times = jnp.concatenate([ts, ts[len(ts) // 2:len(ts) // 2 + 1]])
        # one program (make_fitness vmapped over the times), as the generation is one
        raw_t = jax.jit(jax.vmap(lambda x, c, raw=raw: raw(c, x, GAMMA, B0), (0, None)))
        _, t_raw = timed(lambda f=raw_t, c=children, times=times: f(times, c), reps)
        big = jax.tree_util.tree_map(lambda a, k=cfg.n_t + 1: jnp.concatenate([a] * k), children)
        c_gen = xla_cost(generation.jitted, jax.random.PRNGKey(1), pop, fit, tt, ts, prob,
                         jnp.asarray(True))
        from qsense.objective import population_score

        c_raw = xla_cost(population_score, prob, big, 2.0)
        rows.append({"xla_flops_generation_over_raw": c_gen["flops"] / c_raw["flops"],
                     "xla_bytes_generation_over_raw": c_gen["bytes"] / c_raw["bytes"],
                     "n_qubits": n, "noise": noise, "population": population_size,
                     "n_t": cfg.n_t, "max_genes": cfg.max_genes, "generation_s": t_gen,
                     "raw_make_fitness_s": t_raw, "generation_over_raw": t_gen / t_raw})
        print(f"| GA {noise} | N={n} | pop {population_size} x {cfg.n_t} t | "
              f"{t_gen * 1e3:.1f} ms | raw {t_raw * 1e3:.1f} ms | {t_gen / t_raw:.2f}x | "
              f"XLA flops {rows[-1]['xla_flops_generation_over_raw']:.3f}x, bytes "
              f"{rows[-1]['xla_bytes_generation_over_raw']:.3f}x |", flush=True)
    return rows


COMPOSED_HEADER = ("| N | composed /s | make_fitness /s | composed / make_fitness | "
                   "eigh random /s | composed / eigh random | composed / eigh random, CPU time "
                   "| composed / real eigh random | CPU/wall composed, eigh | "
                   "numpy per circuit /s | composed / numpy | XLA flops / bytes, composed vs "
                   "make_fitness |\n|---|---|---|---|---|---|---|---|---|---|---|---|")


def _composed_row(r: dict) -> str:
    np_rate = r.get("numpy_per_circuit_per_s")
    np_part = (f"{np_rate:.1f} | {r['composed_over_numpy_per_circuit']:.2f}" if np_rate
               else "- | -")
    return (f"| {r['n_qubits']} | {r['composed_circuits_per_s']:.1f} | "
            f"{r['make_fitness_circuits_per_s']:.1f} | {r['composed_over_make_fitness']:.2f} | "
            f"{r['eigh_random_per_s']:.1f} | {r['composed_over_eigh_random']:.2f} | "
            f"{r['composed_over_eigh_random_cpu_time']:.2f} | "
            f"{r['composed_over_eigh_random_real']:.2f} | "
            f"{r['composed_cpu_s'] / r['composed_wall_s']:.2f}, "
            f"{r['eigh_random_cpu_s'] / r['eigh_random_wall_s']:.2f} | "
            f"{np_part} | {r['xla_flops_composed_over_make_fitness']:.3f} / "
            f"{r['xla_bytes_composed_over_make_fitness']:.3f} |")


def main_composed(args) -> None:
    out = Path(args.out or Path(__file__).with_name("engine_composed.json"))
    print(COMPOSED_HEADER, flush=True)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        rows.append(bench_composed(n, args.population, args.genes, args.reps,
                                   numpy_per_circuit=n <= 5))
        print(_composed_row(rows[-1]), flush=True)
    # the smoke run checks the path with one noise (each noise is another set of programs to
    # compile: two thirds of the smoke's time, none of its checks)
    ga = bench_ga(5, args.population, args.reps,
                  **({"noises": ("dephasing",)} if args.smoke else {}))
    out.write_text(json.dumps({
        "jax": jax.__version__, "platform": jax.devices()[0].platform,
        "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
        "device": device_record(args.device), "composed": rows, "ga": ga}, indent=2))
    print(f"wrote {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="3,5,8,10", help="comma-separated qubit counts")
    ap.add_argument("--population", type=int, default=256)
    ap.add_argument("--large-population", type=int, default=16,
                    help="population for N >= 10 (one 1024x1024 eigh takes ~1 s per core)")
    ap.add_argument("--genes", type=int, default=20)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default=None,
                    help="JSON path (default: benchmarks/engine.json, or "
                         "benchmarks/engine_composed.json with --composed)")
    ap.add_argument("--composed", action="store_true",
                    help="time the composed public path and the GA generation instead")
    ap.add_argument("--smoke", action="store_true", help="N=3, population 8, one rep (checks)")
    add_device_argument(ap)
    args = ap.parse_args()
    if args.smoke:
        args.sizes, args.population, args.reps = "3", 8, 1
    select_device(args.device)
    if args.composed:
        main_composed(args)
        return
    args.out = args.out or str(Path(__file__).with_name("engine.json"))
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPU cores; "
          f"noise={NOISE} gamma={GAMMA} t={T} B0={B0}")
    print(HEADER, flush=True)
    rows = []
    head = {"jax": jax.__version__, "platform": jax.devices()[0].platform,
            "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "device": device_record(args.device)}
    for n in (int(s) for s in args.sizes.split(",")):
        size = args.population if n < 10 else args.large_population
        rows += bench_size(n, size, args.genes, args.reps, numpy_reps=max(1, args.reps - 1))
        # after every N: a run cut short (a device's time limit) keeps the sizes it finished
        Path(args.out).write_text(json.dumps({**head, "rows": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
