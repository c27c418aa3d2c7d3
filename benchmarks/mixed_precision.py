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
rounding inside the local steps (and a tournament that rounding turns). Checked, and
recorded in the JSON (`check_row`): each mode's best fitness is the float64 objective of its
genome and time (re-scored, to `RESCORE_AGREEMENT`), and the two modes' best fitnesses agree
to `MIXED_AGREEMENT`; a run that fails either stops with SystemExit after writing every row
(so a device run keeps its figures). Prints a Markdown table and writes
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

from benchmarks._common import (  # noqa: E402
    add_device_argument,
    check_close,
    device_record,
    select_device,
)

NOISES = ("dephasing", "bitflip", "amplitude_damping")

#: Largest relative difference between the float64 and the mixed generation's best fitness
#: accepted. Float32 rounding in the local steps moves it by ~1e-5 (N = 5 dephasing and bit
#: flip: 2e-5; N = 8: 1e-4 and below); where that rounding changes which chromosome a
#: tournament picks it moves more (N = 5 amplitude damping: 1.6e-3, `mixed_precision.json`).
MIXED_AGREEMENT = 1e-2
#: Largest relative difference between a reported best fitness and the float64 objective of
#: its genome at its time, re-scored apart (float64 rounding: the mixed mode's elite is
#: re-scored in float64 inside the generation, `qsense.genetic`).
RESCORE_AGREEMENT = 1e-9


def prepare_generation(n: int, noise: str, score_dtype: str, *, population: int, n_t: int,
                       local_steps: int, limit: float | None = None
                       ) -> tuple[dict, Callable[[], float] | None]:
    """Compile one GA generation (population of ``population`` chromosomes) and return its
    record and a callable that runs it once and returns its wall time (s). The record holds
    XLA's plan of the compiled program (``xla_bytes``: arguments + outputs + temporaries,
    None where the backend gives none); over ``limit`` (bytes) nothing runs and the callable
    is None."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from qsense.distributed import program_bytes
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
    t_prev = jnp.full((population,), ts[0])
    rec = {"n_qubits": n, "noise": noise, "score_dtype": score_dtype,
           "population": population, "n_t": n_t, "local_steps": local_steps,
           "max_genes": cfg.max_genes}
    t0 = time.perf_counter()
    # XLA's plan of the program generation 0's call runs, as `search` reads it (the same
    # arguments: that call reuses the compilation)
    need = program_bytes(evaluate.jitted, jax.random.PRNGKey(0), pop, jnp.zeros_like(t_prev),
                         t_prev, ts, prob, jnp.asarray(False))
    rec["xla_bytes"] = None if need is None else int(need)
    if limit is not None and rec["xla_bytes"] is not None and rec["xla_bytes"] > limit:
        rec["compile_s"] = time.perf_counter() - t0
        return rec, None
    pop, fit, tt = jax.block_until_ready(evaluate(pop, t_prev, ts, prob))
    rec["first_call_s"] = time.perf_counter() - t0  # compilation + one scoring
    key = jax.random.PRNGKey(1)

    def run() -> float:
        t0 = time.perf_counter()
        out = jax.block_until_ready(generation(key, pop, fit, tt, ts, prob))
        dt = time.perf_counter() - t0
        if "best_fitness" not in rec:  # the same output every call (same key and inputs)
            new, f, t = out
            best = int(np.argmax(np.asarray(f)))
            rec["best_fitness"] = float(f[best])
            rec["fitness_dtype"] = str(f.dtype)
            # the best row's float64 objective at its time, scored apart from the generation
            row = jax.tree_util.tree_map(lambda a: a[best:best + 1], new)
            rec["best_fitness_rescored"] = float(generation.rescore(row, t[best:best + 1],
                                                                    prob)[0])
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
            "speedup": r64["generation_s"] / r32["generation_s"], **agreement(r64, r32)}


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b != 0 else (0.0 if a == b else float("inf"))


def agreement(r64: dict, r32: dict) -> dict:
    """The checked quantities of a (float64, mixed) pair of generation records: the relative
    difference of their best fitnesses, and of each best fitness from its float64 re-score."""
    return {"best_fitness_rel_diff": _rel(r32["best_fitness"], r64["best_fitness"]),
            "rescore_rel_diff": max(_rel(r["best_fitness"], r["best_fitness_rescored"])
                                    for r in (r64, r32))}


def check_row(row: dict) -> None:
    """Stop (SystemExit) when a row's modes disagree: a best fitness that is not the float64
    objective of its genome, a reported value that is not float64, or best fitnesses further
    apart than `MIXED_AGREEMENT` (the two generations then did not do the same search)."""
    what = f"N={row['n_qubits']} {row['noise']}"
    for mode in ("float64", "mixed"):
        if row[mode]["fitness_dtype"] != "float64":
            raise SystemExit(f"{what}: the {mode} generation reported {row[mode]['fitness_dtype']}"
                             " fitnesses, not float64")
    check_close(row["rescore_rel_diff"], RESCORE_AGREEMENT,
                f"{what}: best fitness vs the float64 objective of its genome (relative)")
    check_close(row["best_fitness_rel_diff"], MIXED_AGREEMENT,
                f"{what}: best fitness, mixed vs float64 (relative)")


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

    failures: list[str] = []
    for n in sizes:
        for noise in noises:
            row = compare(n, noise, population=args.population, n_t=args.n_t,
                          local_steps=args.local_steps, repeats=args.repeats)
            rows.append(row)
            save()
            r64, r32 = row["float64"], row["mixed"]
            print(f"N={n} {noise}: float64 {r64['generation_s']:.3f} s, mixed "
                  f"{r32['generation_s']:.3f} s; best fitness relative difference "
                  f"{row['best_fitness_rel_diff']:.1e}", flush=True)
            try:
                check_row(row)
            except SystemExit as err:  # the other rows still run (a device's minutes)
                failures.append(str(err))
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
    if failures:
        raise SystemExit("\n".join(failures))


if __name__ == "__main__":
    main()
