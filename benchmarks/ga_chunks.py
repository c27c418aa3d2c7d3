"""GA generations scored in chunks of rows (`GAConfig.chunk_rows`): time and XLA memory of one
generation against the unchunked one, same population, and the same results.

    python benchmarks/ga_chunks.py                          # N = 5 and 8, population 256
    python benchmarks/ga_chunks.py --sizes 10 --population 256 --chunks 16,64 --compile-only
    python benchmarks/ga_chunks.py --smoke                  # N = 3, population 8 (checks)
    python benchmarks/ga_chunks.py --sizes 10 --population 256 --plan-only  # search's chunk

Each cell compiles the generation program (`qsense.genetic._programs`, what `search` runs;
dephasing gamma = 0.1, ``--n-t`` grid times, ``--local-steps`` Adam steps, float64), reads
XLA's memory analysis of it (arguments + outputs + temporaries: what one device must hold)
and, unless ``--compile-only``, times one generation (best of ``--repeats``, calls
alternated between the chunk settings). Every setting runs one generation from the same
input: the population, fitnesses and times of generation 0 as the unchunked program scored
them. Checked before anything is reported: each chunked generation's fitnesses equal the
unchunked one's to `AGREEMENT` (relative). (Whole searches agree to 1e-12 as well since the
memetic steps drop rounding-noise gradients, `qsense.genetic.GRAD_FLOOR`, and selection
compares `qsense.genetic.ranking`s; tests/qsense/test_ga_chunks.py.) Prints a Markdown table
and writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import sys
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

NOISE, GAMMA = "dephasing", 0.1
AGREEMENT = 1e-10  # measured 1.8e-14 at N = 5, population 256, 10 local steps


def cell(n: int, population: int, chunk: int | None, *, n_t: int, local_steps: int,
         compile_only: bool, start=None):
    """(record, run, start) of one generation program; ``run()`` times one call and returns
    (seconds, fitnesses). ``start``: generation 0's (population, fitnesses, times), P rows;
    None: scored here (returned as ``start`` for the other cells)."""
    import dataclasses

    import jax
    import jax.numpy as jnp
    import numpy as np

    from benchmarks.scale import xla_bytes
    from qsense.distributed import pad_rows
    from qsense.genetic import (
        GAConfig,
        _programs,
        _row_layout,
        _static_config,
        estimate_bytes,
        initial_population,
        search_t_grid,
    )
    from qsense.objective import Problem

    prob = Problem(n, NOISE, GAMMA)
    cfg = GAConfig(population=population, n_t=n_t, local_steps=local_steps, chunk_rows=chunk)
    n_pad, n_chunks, c = _row_layout(population, 1, chunk)
    _, generation = _programs(n, dataclasses.replace(_static_config(cfg), chunk_rows=chunk))
    ts = jnp.asarray(search_t_grid(prob, cfg))
    pop = initial_population(jax.random.PRNGKey(0), prob, cfg)
    pop, tt = pad_rows((pop, jnp.full((population,), ts[0])), n_pad)
    key = jax.random.PRNGKey(1)
    # one compilation per cell: the program XLA's memory analysis reads is the one that runs
    # (a generation and generation 0's scoring are one program, `select` False for the latter,
    # as `_programs`' evaluate calls it)
    t0 = time.perf_counter()
    compiled = generation.jitted.lower(key, pop, jnp.zeros(n_pad), tt, ts, prob,
                                       jnp.asarray(True)).compile()
    rec = {"n_qubits": n, "population": population, "chunk_rows": chunk, "rows": n_pad,
           "n_chunks": n_chunks, "chunk": c, "compile_s": time.perf_counter() - t0,
           "estimate_bytes": estimate_bytes(prob, cfg, 1), "xla_bytes": xla_bytes(compiled)}
    if not compile_only:  # generation 0 (its fitnesses drive the selection timed)
        if start is None:
            start = jax.tree_util.tree_map(lambda a: a[:population], jax.block_until_ready(
                compiled(jax.random.PRNGKey(0), pop, jnp.zeros(n_pad), tt, ts, prob,
                         jnp.asarray(False))))
        args = (key, *pad_rows(start, n_pad), ts, prob, jnp.asarray(True))

    def run():
        t0 = time.perf_counter()
        out = jax.block_until_ready(compiled(*args))
        return time.perf_counter() - t0, np.asarray(out[1])[:population]

    return rec, (None if compile_only else run), start


def search_plan(n: int, population: int, *, n_t: int, local_steps: int) -> dict:
    """The chunk `search` picks for this population on every device (`chunk_plan` with
    ``exact=True``: XLA's plan of the compiled generation program against
    `memory_limit_bytes`), XLA's figure for that program, the estimate for the whole
    population, and the seconds planning took (its compilations included)."""
    from qsense.genetic import GAConfig, chunk_plan, estimate_bytes, memory_limit_bytes
    from qsense.objective import Problem

    prob = Problem(n, NOISE, GAMMA)
    cfg = GAConfig(population=population, n_t=n_t, local_steps=local_steps)
    t0 = time.perf_counter()
    chunk, need = chunk_plan(prob, cfg, exact=True)
    return {"n_qubits": n, "population": population, "chunk": chunk, "xla_bytes": need,
            "estimate_bytes": estimate_bytes(prob, cfg), "limit_bytes": memory_limit_bytes(cfg),
            "plan_s": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="5,8", help="qubit counts, comma separated")
    ap.add_argument("--population", type=int, default=256)
    ap.add_argument("--chunks", default="32,128",
                    help="chunk_rows values to compare with the unchunked generation")
    ap.add_argument("--n-t", type=int, default=6)
    ap.add_argument("--local-steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--compile-only", action="store_true",
                    help="memory only: compile every program, run none (sizes too big to run)")
    ap.add_argument("--plan", action="store_true",
                    help="also record the chunk `search` picks for the population "
                         "(chunk_plan(..., exact=True): XLA's plan against the device's "
                         "memory) and how long planning takes")
    ap.add_argument("--plan-only", action="store_true", help="--plan, and no cells")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "ga_chunks.json"))
    ap.add_argument("--smoke", action="store_true",
                    help="N=3, population 8, chunks of 3, n_t 2, 1 local step, one repeat")
    add_device_argument(ap)
    args = ap.parse_args()
    if args.smoke:
        args.sizes, args.population, args.chunks = "3", 8, "3"
        args.n_t, args.local_steps, args.repeats = 2, 1, 1
    select_device(args.device)
    import jax

    jax.config.update("jax_enable_x64", True)
    rows: list[dict] = []
    head = {"population": args.population, "n_t": args.n_t, "local_steps": args.local_steps,
            "repeats": args.repeats, "smoke": args.smoke, "compile_only": args.compile_only,
            "device": device_record(args.device), "jax": jax.__version__}

    plans: list[dict] = []

    def save() -> None:
        Path(args.out).write_text(json.dumps({"rows": rows, "plans": plans, **head}, indent=2))

    chunks = [None] + [int(c) for c in args.chunks.split(",") if c]
    for n in [int(s) for s in args.sizes.split(",") if s]:
        if args.plan or args.plan_only:
            plans.append(search_plan(n, args.population, n_t=args.n_t,
                                     local_steps=args.local_steps))
            save()
            if args.plan_only:
                continue
        cells, start = [], None
        for ch in chunks:  # the unchunked cell first: its generation 0 is everyone's input
            rec, run, start = cell(n, args.population, ch, n_t=args.n_t,
                                   local_steps=args.local_steps,
                                   compile_only=args.compile_only, start=start)
            cells.append((rec, run))
        if not args.compile_only:
            best = [float("inf")] * len(cells)
            fits = [None] * len(cells)
            for _ in range(args.repeats):  # alternated: a transient load slows every cell
                for i, (_, run) in enumerate(cells):
                    dt, fits[i] = run()
                    best[i] = min(best[i], dt)
            for i, (rec, _) in enumerate(cells):
                rec["generation_s"] = best[i]
                rec["speed_vs_unchunked"] = best[0] / best[i]
                rec["max_rel_diff_vs_unchunked"] = max_rel_diff(fits[i], fits[0])
        for rec, _ in cells:
            rows.append(rec)
            if "max_rel_diff_vs_unchunked" in rec:
                check_close(rec["max_rel_diff_vs_unchunked"], AGREEMENT,
                            f"N={n} chunk_rows={rec['chunk_rows']}: fitnesses vs unchunked")
        save()

    def gib(b):
        return "–" if b is None else f"{b / 2**30:.3g}"

    print("| N | population | chunk_rows | chunks x rows | XLA GiB | estimate GiB | "
          "generation (s) | vs unchunked | compile (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        gen = r.get("generation_s")
        gen_s = "–" if gen is None else f"{gen:.4g}"
        vs = "–" if gen is None else f"{r['speed_vs_unchunked']:.2f}x"
        print(f"| {r['n_qubits']} | {r['population']} | {r['chunk_rows'] or '–'} | "
              f"{r['n_chunks']} x {r['chunk']} | {gib(r['xla_bytes'])} | "
              f"{gib(r['estimate_bytes'])} | {gen_s} | {vs} | {r['compile_s']:.1f} |")
    if plans:
        print("\n| N | population | search's chunk | XLA GiB (that program) | estimate GiB "
              "(whole) | limit GiB | plan (s) |")
        print("|---|---|---|---|---|---|---|")
        for r in plans:
            print(f"| {r['n_qubits']} | {r['population']} | {r['chunk'] or 'whole'} | "
                  f"{gib(r['xla_bytes'])} | {gib(r['estimate_bytes'])} | "
                  f"{gib(r['limit_bytes'])} | {r['plan_s']:.1f} |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
