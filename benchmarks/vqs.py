"""VQS benchmarks: GA generation throughput vs the engine's raw fitness throughput, and the
table1 experiment's wall time (quick setting always; the full default table with --full).

    python benchmarks/vqs.py [--full] [--population 256] [--n-qubits 5] [--repeats 5]

Prints a table and writes benchmarks/vqs.json. Timings exclude compilation (one warm-up call
each) except the table1 wall times, which are end-to-end (compilation included).

Checked (the script stops with SystemExit otherwise, after writing its JSON): every fitness a
timed GA generation returns is the objective of its chromosome at its time as the raw
`make_fitness` computes it (to `GA_AGREEMENT`, ``max_rel_diff_vs_make_fitness`` per row: the
generation's shared-time scoring and memetic steps time the same objective), and each timed
table1 run ends with its VQS probe at least as good as the GHZ and the best product probe
in every cell (table1's own metrics, ``table1_*_checks``).
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

from benchmarks._common import (  # noqa: E402
    add_device_argument,
    check_close,
    device_record,
    max_rel_diff,
    select_device,
)

#: Largest relative difference between a GA generation's fitness and the raw make_fitness of
#: the same chromosome and time (float64; the same objective through another program).
GA_AGREEMENT = 1e-9


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
    # what the timed generation returned, against the raw make_fitness of each chromosome at
    # its own time (a one-row population per chromosome, vmapped)
    new, fit_new, t_new = generation(key, pop, fit, tt, ts, env)
    one = jax.jit(jax.vmap(lambda g, t: raw(jax.tree_util.tree_map(lambda a: a[None], g),
                                            t, 0.1, 1.0)[0]))
    ref = one(new, t_new)
    return {"n_qubits": n, "population": population, "n_t": n_t, "max_genes": 12,
            "local_steps": local_steps,
            "generation_s": t_gen, "raw_fitness_s": t_raw,
            "ga_evals_per_s": evals / t_gen, "raw_evals_per_s": evals / t_raw,
            "slowdown_vs_raw": t_gen / t_raw,
            "max_rel_diff_vs_make_fitness": max_rel_diff(fit_new, ref)}


def check_ga_row(row: dict) -> None:
    """Stop (SystemExit) when a generation's fitnesses are not make_fitness's values."""
    check_close(row["max_rel_diff_vs_make_fitness"], GA_AGREEMENT,
                f"GA generation (n_t {row['n_t']}, {row['local_steps']} local steps) vs raw "
                "make_fitness of the same chromosomes and times (relative)")


def table1_checks(metrics: dict) -> dict:
    """The claims a table1 run's figures rest on, from its metrics (`experiments.tasks.table1`):
    the VQS probe's bound is at most the GHZ's and the best product probe's in every cell."""
    return {"vqs_le_ghz_all": metrics.get("vqs_le_ghz_all"),
            "vqs_ge_product_all": metrics.get("vqs_ge_product_all"),
            "vqs_below_product": metrics.get("vqs_below_product")}


def check_table1(checks: dict, what: str) -> None:
    """Stop (SystemExit) when a timed table1 run's VQS probe lost to the GHZ or to the best
    product probe in some cell (the run then timed a search that did not do its job)."""
    if checks["vqs_le_ghz_all"] is not True:
        raise SystemExit(f"{what}: a VQS probe is worse than the GHZ probe")
    if checks["vqs_ge_product_all"] is not True:
        raise SystemExit(f"{what}: a VQS probe is worse than the best product probe: "
                         f"{checks['vqs_below_product']}")


def table1_wall(overrides: list[str]) -> tuple[float, dict]:
    from hydra import compose, initialize_config_dir

    from experiments.run import execute, to_config

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = to_config(compose(config_name="config", overrides=["+exp=table1",
                                                                 "progress=false", *overrides]))
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        payload = execute(cfg, Path(d))
        return time.perf_counter() - t0, table1_checks(payload["metrics"])


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
    out = {"ga": rows, "table1_quick_s": None, "table1_full_s": None,
           "device": device_record(args.device),
           "machine": platform.machine(), "jax": jax.__version__,
           "devices": [str(d) for d in jax.devices()]}
    if not args.smoke:
        out["table1_quick_s"], out["table1_quick_checks"] = table1_wall(QUICK)
    if args.full:
        out["table1_full_s"], out["table1_full_checks"] = table1_wall([])
    print(f"{'N':>2} {'pop':>5} {'n_t':>4} {'local':>5} {'gen s':>9} {'raw s':>9} "
          f"{'GA evals/s':>11} {'raw evals/s':>11} {'GA/raw time':>11} {'GA vs raw':>11}")
    for r in rows:
        print(f"{r['n_qubits']:>2} {r['population']:>5} {r['n_t']:>4} {r['local_steps']:>5} "
              f"{r['generation_s']:>9.4f} "
              f"{r['raw_fitness_s']:>9.4f} {r['ga_evals_per_s']:>11.0f} "
              f"{r['raw_evals_per_s']:>11.0f} {r['slowdown_vs_raw']:>11.2f} "
              f"{r['max_rel_diff_vs_make_fitness']:>11.1e}")
    if out["table1_quick_s"] is not None:
        print(f"table1 quick setting (8 rows, compile included): {out['table1_quick_s']:.1f} s")
    if out["table1_full_s"] is not None:
        print(f"table1 defaults (96 rows): {out['table1_full_s']:.1f} s")
    Path(args.out).write_text(json.dumps(out, indent=2))
    for r in rows:  # after the JSON: a failed run keeps its record
        check_ga_row(r)
    for which in ("quick", "full"):
        if f"table1_{which}_checks" in out:
            check_table1(out[f"table1_{which}_checks"], f"table1 ({which} setting)")


if __name__ == "__main__":
    main()
