"""XLA's plan of one chunked GA generation program, compiled again and again in one process,
then `search` itself at that size.

The open question of 2026-12-04's H200 run (benchmarks/RESULTS.md, "GPU, part 3"): at N = 11,
256 rows, 6 times, the generation program in 4 chunks of 64 rows was planned at 64.1 GiB
(`memory_analysis`) in a fresh process and at 128.1 GiB in the planning process, after the
programs of 3 chunks of 86 had been compiled there. On CPUs both are 141.9e9 bytes. This
script compiles, in one process and in this order, and records each plan and compile time:

1. the ``--chunk`` layout, fresh (`ga_chunks.cell`, as the benchmark compiles it);
2. the ``--other`` layout (what the planner compiles first);
3. the ``--chunk`` layout again (after `jax.clear_caches()`: a real recompilation);
4. the ``--chunk`` layout through the planner `search` uses (`chunk_plan(..., exact=True)`
   with that ``chunk_rows`` and no memory limit to refuse by: devices, sharded arguments;
   JAX's caches cleared again first);

(no persistent compilation cache unless ``QSENSE_COMPILE_CACHE`` is set), then runs `search`
with the device's own limit for ``--generations`` generations (its planning, which logs the
chunk it picks, included) and records its time, best fitness, the GHZ probe's, and the
chunk. XLA's warnings (e.g. "Can't reduce memory use below ... by
rematerialization") go to stderr between the script's own lines, so a log of both shows
which compilation printed which. The JSON is written after every step.

    python benchmarks/plan_repeat.py --device gpu      # N = 11, 256 rows: about 7 minutes
    python benchmarks/plan_repeat.py --smoke           # N = 3, 10 rows, on the CPU: checks

Checks (smoke and full): the search's best fitness is at least the GHZ probe's (the GHZ row
is in its generation 0 and the elite is kept). Equal plans are not asserted: that is what is
measured (the smoke test asserts them on the CPU, where they are equal).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import add_device_argument, device_record, select_device  # noqa: E402

NOISE, GAMMA = "dephasing", 0.1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=11, help="qubit count N")
    ap.add_argument("--population", type=int, default=256)
    ap.add_argument("--chunk", type=int, default=64, help="chunk_rows of the layout planned")
    ap.add_argument("--other", type=int, default=86,
                    help="chunk_rows of the layout compiled between (the planner's start)")
    ap.add_argument("--n-t", type=int, default=6)
    ap.add_argument("--local-steps", type=int, default=10)
    ap.add_argument("--generations", type=int, default=1,
                    help="generations of the closing `search` (0: no search)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "plan_repeat.json"))
    ap.add_argument("--smoke", action="store_true",
                    help="N=3, population 10, chunks of 3 and 5, n_t 2, 1 local step, "
                         "1 generation")
    add_device_argument(ap)
    args = ap.parse_args()
    if args.smoke:
        args.size, args.population, args.chunk, args.other = 3, 10, 3, 5
        args.n_t, args.local_steps, args.generations = 2, 1, 1
    for name in ("size", "population", "chunk", "other", "n_t"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} = {getattr(args, name)}: accepted >= 1")
    if args.local_steps < 0 or args.generations < 0:
        ap.error("--local-steps and --generations: accepted >= 0")
    select_device(args.device)
    import warnings

    import jax

    jax.config.update("jax_enable_x64", True)
    # GAConfig's default 16 genes (as `ga_chunks.cell` compiles) are below the product
    # family's 3N - 1 from N = 6: the programs' memory is measured here, not the optimum
    warnings.filterwarnings("ignore", message="GAConfig.max_genes")
    from benchmarks.ga_chunks import cell
    from qsense.genetic import GAConfig, chunk_plan, search
    from qsense.objective import Problem

    n, p = args.size, args.population
    steps: list[dict] = []
    out = {"steps": steps, "search": None, "settings": vars(args),
           "device": device_record(args.device), "jax": jax.__version__}

    def save() -> None:
        Path(args.out).write_text(json.dumps(out, indent=2))

    def compiled(what: str, chunk: int) -> None:
        print(f"-- {what}: compiling chunk_rows={chunk}", flush=True)
        rec, _, _ = cell(n, p, chunk, n_t=args.n_t, local_steps=args.local_steps,
                         compile_only=True)
        rec["step"] = what
        steps.append(rec)
        print(f"-- {what}: {rec['n_chunks']} x {rec['chunk']} rows, XLA "
              f"{rec['xla_bytes'] / 2**30:.4g} GiB, compiled in {rec['compile_s']:.1f} s",
              flush=True)
        save()

    compiled("fresh", args.chunk)
    compiled("other layout", args.other)
    jax.clear_caches()  # else JAX hands back the executable it compiled for "fresh"
    compiled("again", args.chunk)
    prob = Problem(n, NOISE, GAMMA)
    # GAConfig's defaults otherwise, as `ga_chunks.cell` (the same program)
    cfg = GAConfig(population=p, n_t=args.n_t, local_steps=args.local_steps,
                   generations=args.generations)
    jax.clear_caches()  # the planner compiles its own, not "again"'s executable
    print(f"-- planner: chunk_rows={args.chunk}", flush=True)
    t0 = time.perf_counter()
    chunk, need = chunk_plan(prob, dataclasses.replace(cfg, chunk_rows=args.chunk,
                                                       memory_limit_gb=1e6), exact=True)
    steps.append({"step": "planner", "n_qubits": n, "population": p, "chunk_rows": args.chunk,
                  "chunk": chunk, "xla_bytes": need, "compile_s": time.perf_counter() - t0})
    print(f"-- planner: chunk {chunk}, XLA {need / 2**30:.4g} GiB, "
          f"{steps[-1]['compile_s']:.1f} s", flush=True)
    save()
    if args.generations:
        said: list[str] = []

        class Keep(logging.Handler):
            def emit(self, record):
                said.append(record.getMessage())

        log = logging.getLogger("qsense")
        log.setLevel(logging.INFO)
        log.addHandler(Keep())
        print(f"-- search: {args.generations} generation(s), the device's own limit",
              flush=True)
        t0 = time.perf_counter()
        res = search(prob, cfg, seed=0)
        took = time.perf_counter() - t0
        chunks = [m for m in said if " chunks of " in m]
        out["search"] = {"seconds": took, "fitness": float(res.fitness),
                         "ghz_fitness": float(res.ghz_fitness), "t": float(res.t),
                         "chunks_said": chunks, "best_history": res.history["best"].tolist()}
        print(f"-- search: {took:.1f} s, best {res.fitness:.6g} (GHZ {res.ghz_fitness:.6g}); "
              f"{chunks[0] if chunks else 'whole population'}", flush=True)
        save()
        if not res.fitness >= res.ghz_fitness * (1 - 1e-9):
            raise SystemExit(f"search's best {res.fitness} is below the GHZ probe's "
                             f"{res.ghz_fitness}: the elite or the GHZ row was lost")
    print("| step | chunks x rows | XLA GiB | compile (s) |")
    print("|---|---|---|---|")
    for s in steps:
        lay = (f"{s['n_chunks']} x {s['chunk']}" if "n_chunks" in s
               else f"chunk {s['chunk']}")
        print(f"| {s['step']} | {lay} | {s['xla_bytes'] / 2**30:.4g} | {s['compile_s']:.1f} |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
