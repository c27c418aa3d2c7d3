"""VQS benchmarks: GA generation throughput vs the engine's raw fitness throughput, and the
table1 experiment's wall time (quick setting always; the full default table with --full).

    python benchmarks/vqs.py [--full] [--population 256] [--n-qubits 5] [--repeats 5]

Prints a table and writes benchmarks/vqs.json. Timings exclude compilation (one warm-up call
each) except the table1 wall times, which are end-to-end (compilation included).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import add_device_argument, device_record, select_device  # noqa: E402


def _best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def ga_throughput(n: int, population: int, n_t: int, repeats: int, local_steps: int = 0,
                  ) -> dict:
    """One GA generation against the raw `make_fitness` call on the same (genome, t)
    evaluations: population x (n_t grid times + the inherited time). With ``local_steps``
    > 0 the generation also runs the memetic Adam steps (not counted as evaluations: the
    ratio then says what the local search costs)."""
    import warnings

    import jax
    import jax.numpy as jnp

    from qsense.genetic import GAConfig, _programs, _static_config, initial_population
    from qsense.objective import Problem, make_fitness

    prob = Problem(n, "dephasing", 0.1)
    cfg = GAConfig(population=population, max_genes=12, n_t=n_t, elite=4,
                   local_steps=local_steps)
    evaluate, generation = _programs(n, _static_config(cfg))
    env = prob  # the problem is the GA programs' data argument
    ts = jnp.geomspace(0.2, 50.0, n_t)
    # a throughput measurement: that 12 genes cannot hold N = 5's product family (the
    # search's warning) is beside the point here
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="GAConfig.max_genes")
        pop = initial_population(jax.random.PRNGKey(0), prob, cfg)
    pop, fit, tt = evaluate(pop, jnp.full((population,), ts[0]), ts, env)
    key = jax.random.PRNGKey(1)

    def gen():
        out = generation(key, pop, fit, tt, ts, env)
        jax.block_until_ready(out)

    gen()
    t_gen = _best_time(gen, repeats)
    raw = make_fitness(n, "dephasing", "scalar")
    big = jax.tree_util.tree_map(lambda a: jnp.concatenate([a] * (n_t + 1)), pop)  # same evals

    def fitness():
        jax.block_until_ready(raw(big, 2.0, 0.1, 1.0))

    fitness()
    t_raw = _best_time(fitness, repeats)
    evals = population * (n_t + 1)
    return {"n_qubits": n, "population": population, "n_t": n_t, "max_genes": 12,
            "local_steps": local_steps,
            "generation_s": t_gen, "raw_fitness_s": t_raw,
            "ga_evals_per_s": evals / t_gen, "raw_evals_per_s": evals / t_raw,
            "slowdown_vs_raw": t_gen / t_raw}


def table1_wall(overrides: list[str]) -> float:
    from hydra import compose, initialize_config_dir

    from experiments.run import execute, to_config

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = to_config(compose(config_name="config", overrides=["+exp=table1",
                                                                 "progress=false", *overrides]))
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        execute(cfg, Path(d))
        return time.perf_counter() - t0


#: The README's quick setting, exactly (its Experiments block): every noise, γ = 0.1, N <= 2,
#: `search=quick`. (This list used to time a lighter job: two noises, population 8.)
QUICK = ["table1.n_max=2", "table1.gammas=[0.1]", "search=quick"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full", action="store_true", help="also time the default table1 (long)")
    ap.add_argument("--population", type=int, default=256)
    ap.add_argument("--n-qubits", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "vqs.json"))
    ap.add_argument("--smoke", action="store_true",
                    help="N=3, population 8, one repeat, one GA row (n_t 2, 1 local step), no "
                         "table1 run (checks it runs)")
    add_device_argument(ap)
    args = ap.parse_args()
    if args.smoke:
        args.n_qubits, args.population, args.repeats = 3, 8, 1
    select_device(args.device)
    import jax

    jax.config.update("jax_enable_x64", True)
    if args.smoke:  # one generation program (with local steps): each row compiles its own
        rows = [ga_throughput(args.n_qubits, args.population, 2, args.repeats, local_steps=1)]
    else:
        rows = [ga_throughput(args.n_qubits, args.population, nt, args.repeats)
                for nt in (1, 8)]
        rows.append(ga_throughput(args.n_qubits, args.population, 6, args.repeats,
                                  local_steps=10))
    out = {"ga": rows, "table1_quick_s": None if args.smoke else table1_wall(QUICK),
           "table1_full_s": None, "device": device_record(args.device),
           "machine": platform.machine(), "jax": jax.__version__,
           "devices": [str(d) for d in jax.devices()]}
    if args.full:
        out["table1_full_s"] = table1_wall([])
    print(f"{'N':>2} {'pop':>5} {'n_t':>4} {'local':>5} {'gen s':>9} {'raw s':>9} "
          f"{'GA evals/s':>11} {'raw evals/s':>11} {'GA/raw time':>11}")
    for r in rows:
        print(f"{r['n_qubits']:>2} {r['population']:>5} {r['n_t']:>4} {r['local_steps']:>5} "
              f"{r['generation_s']:>9.4f} "
              f"{r['raw_fitness_s']:>9.4f} {r['ga_evals_per_s']:>11.0f} "
              f"{r['raw_evals_per_s']:>11.0f} {r['slowdown_vs_raw']:>11.2f}")
    if out["table1_quick_s"] is not None:
        print(f"table1 quick setting (8 rows, compile included): {out['table1_quick_s']:.1f} s")
    if out["table1_full_s"] is not None:
        print(f"table1 defaults (96 rows): {out['table1_full_s']:.1f} s")
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
