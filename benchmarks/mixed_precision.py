"""Mixed precision: one GA generation scored in float32 (``GAConfig(score_dtype="float32")``,
the elite re-scored in float64) against the float64 one, per N and noise.

    python benchmarks/mixed_precision.py [--sizes 5,8] [--population 256] [--n-t 6]
        [--local-steps 10] [--repeats 3] [--device cpu|gpu|auto] [--smoke]

A generation is the whole memetic program of `qsense.genetic` (selection, mutation, the
scores on ``n_t`` grid times plus the inherited time, ``local_steps`` Adam steps on every
chromosome; in the mixed mode also the float64 re-score of the elite), timed from the same
scored population, best of ``--repeats`` with the float64 and mixed calls alternated (a
transient load then slows both sides, not one). Compilation is excluded: scoring generation
0 runs the same jitted program first (its time, compilation included, is ``first_call_s``).
``speedup`` = float64 time / mixed time. The best fitness each mode reaches in that
generation (float64 values in both) is printed beside it: they differ only through float32
rounding inside the local steps. Prints a Markdown table and writes
``benchmarks/mixed_precision.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import add_device_argument, device_record, select_device  # noqa: E402

NOISES = ("dephasing", "bitflip", "amplitude_damping")


def prepare_generation(n: int, noise: str, score_dtype: str, *, population: int, n_t: int,
                       local_steps: int) -> tuple[dict, Callable[[], float]]:
    """Compile one GA generation (population of ``population`` chromosomes) and return its
    record and a callable that runs it once and returns its wall time (s)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from qsense.genetic import (
        GAConfig,
        _programs,
        _static_config,
        initial_population,
        search_t_grid,
    )
    from qsense.objective import Problem

    prob = Problem(n, noise, 0.1)
    cfg = GAConfig(population=population, n_t=n_t, local_steps=local_steps,
                   score_dtype=score_dtype)
    evaluate, generation = _programs(n, _static_config(cfg))
    ts = jnp.asarray(search_t_grid(prob, cfg))
    pop = initial_population(jax.random.PRNGKey(0), prob, cfg)
    t0 = time.perf_counter()
    pop, fit, tt = jax.block_until_ready(
        evaluate(pop, jnp.full((population,), ts[0]), ts, prob))
    compile_s = time.perf_counter() - t0  # first call: compilation + one scoring
    key = jax.random.PRNGKey(1)
    rec = {"n_qubits": n, "noise": noise, "score_dtype": score_dtype,
           "population": population, "n_t": n_t, "local_steps": local_steps,
           "max_genes": cfg.max_genes, "first_call_s": compile_s}

    def run() -> float:
        t0 = time.perf_counter()
        out = jax.block_until_ready(generation(key, pop, fit, tt, ts, prob))
        dt = time.perf_counter() - t0
        rec["best_fitness"] = float(np.max(np.asarray(out[1])))
        return dt

    return rec, run


def compare(n: int, noise: str, *, population: int, n_t: int, local_steps: int,
            repeats: int) -> dict:
    """float64 and mixed generations, their calls alternated (a transient load on this
    machine then slows both sides, not one), best of ``repeats`` each."""
    runs = {sd: prepare_generation(n, noise, sd, population=population, n_t=n_t,
                                   local_steps=local_steps)
            for sd in ("float64", "float32")}
    best = {sd: float("inf") for sd in runs}
    for _ in range(repeats):
        for sd, (_, run) in runs.items():
            best[sd] = min(best[sd], run())
    r64, r32 = (dict(runs[sd][0], generation_s=best[sd]) for sd in ("float64", "float32"))
    return {"n_qubits": n, "noise": noise, "float64": r64, "mixed": r32,
            "speedup": r64["generation_s"] / r32["generation_s"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="5,8", help="qubit counts, comma separated")
    ap.add_argument("--noises", default=",".join(NOISES))
    ap.add_argument("--population", type=int, default=256)
    ap.add_argument("--n-t", type=int, default=6, help="grid times (table1's search default)")
    ap.add_argument("--local-steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "mixed_precision.json"))
    ap.add_argument("--smoke", action="store_true",
                    help="N=3, dephasing, population 8, n_t 2, 1 local step, one repeat "
                         "(checks it runs)")
    add_device_argument(ap)
    args = ap.parse_args()
    if args.smoke:
        args.sizes, args.population, args.n_t, args.local_steps, args.repeats = "3", 8, 2, 1, 1
        args.noises = "dephasing"
    select_device(args.device)
    import jax

    jax.config.update("jax_enable_x64", True)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    noises = [s for s in args.noises.split(",") if s]
    rows = []
    head = {"population": args.population, "n_t": args.n_t, "local_steps": args.local_steps,
            "repeats": args.repeats, "smoke": args.smoke, "device": device_record(args.device),
            "jax": jax.__version__}

    def save() -> None:  # after every row: a run cut short keeps the rows it finished
        Path(args.out).write_text(json.dumps({"rows": rows, **head}, indent=2))

    for n in sizes:
        for noise in noises:
            row = compare(n, noise, population=args.population, n_t=args.n_t,
                          local_steps=args.local_steps, repeats=args.repeats)
            rows.append(row)
            save()
            r64, r32 = row["float64"], row["mixed"]
            print(f"N={n} {noise}: float64 {r64['generation_s']:.3f} s, mixed "
                  f"{r32['generation_s']:.3f} s", flush=True)
    print()
    print("| N | noise | float64 gen (s) | mixed gen (s) | speed-up | best fitness float64 | "
          "best fitness mixed |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n_qubits']} | {r['noise']} | {r['float64']['generation_s']:.4f} | "
              f"{r['mixed']['generation_s']:.4f} | {r['speedup']:.2f}x | "
              f"{r['float64']['best_fitness']:.8g} | {r['mixed']['best_fitness']:.8g} |")
    save()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
