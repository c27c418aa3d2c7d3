"""One GA search in one process against the same search in K local processes joined by
`jax.distributed` (as K SLURM tasks of one job step on this machine): time per generation and
the same results.

    python benchmarks/processes.py                 # N = 5 and 8, population 256, 2 processes
    python benchmarks/processes.py --smoke         # N = 3, population 8 (checks)

"On CPUs, speed comes from processes": a sweep's cells are independent jobs (the launcher).
This measures the other way, one cell's population sharded over K processes of one CPU
(`qsense.genetic.search` with every process's device, `qsense.distributed.initialize` reading
the SLURM variables of `qsense.distributed.local_task_envs`: ``SLURM_JOB_ID``,
``SLURM_STEP_NODELIST=localhost``, ``SLURM_NTASKS=K``, ``SLURM_PROCID``, ``SLURM_LOCALID``;
CPU collectives over gloo). Each of
the K processes gets an XLA pool of ``max(1, cores // K)`` threads (``PJRT_NPROC``); the one
process gets qsense's default (cores + 1). Dephasing gamma = 0.1, ``--n-t`` grid times,
``--local-steps`` Adam steps, float64. A generation's time is the fastest gap between two
generations' callbacks (after the first, which compiles); "first" is the time to the end of
generation 1, compilation included.

Checked before anything is reported: every process's final population has the one
process's fitnesses, row for row, to `AGREEMENT` (relative), and the same best. (Before the
memetic steps dropped rounding-noise gradients, `qsense.genetic.GRAD_FLOOR`, and selection
compared `qsense.genetic.ranking`s, 77 of 256 rows ended up to 4.8e-6 apart at N = 5:
each process scores P / K rows, a batch XLA rounds differently than P rows.) CPU only: K
processes need K devices, and a lent machine has one GPU. Prints a Markdown table and writes
JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
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
AGREEMENT = 1e-9  # every row: measured 1.1e-13 (N = 5, population 256, 2 processes)
TIMEOUT_S = 3600


def worker(spec: dict) -> None:
    """One process's search; prints ``RESULT {json}``."""
    import qsense  # noqa: F401  (the XLA pool and one OpenBLAS thread, before JAX starts)
    from qsense import distributed

    joined = distributed.initialize()
    import jax

    jax.config.update("jax_enable_x64", True)
    from qsense.genetic import GAConfig, search
    from qsense.objective import Problem

    cfg = GAConfig(population=spec["population"], generations=spec["generations"],
                   n_t=spec["n_t"], local_steps=spec["local_steps"])
    stamps: list[float] = []
    t0 = time.perf_counter()
    r = search(Problem(spec["n"], NOISE, GAMMA), cfg, seed=0,
               callback=lambda g, b: stamps.append(time.perf_counter()))
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    print("RESULT" + json.dumps({
        "joined": joined, "process": jax.process_index(), "processes": jax.process_count(),
        "devices": [str(d) for d in jax.devices()], "first_s": stamps[0] - t0,
        "generation_s": min(gaps), "generations_s": gaps, "fitnesses": r.fitnesses.tolist(),
        "best": r.fitness}), flush=True)


def launch(spec: dict, k: int) -> list[dict]:
    """Run `worker` as one plain process (``k = 1``) or as ``k`` SLURM tasks; their results."""
    from qsense.blas import cpu_cores
    from qsense.distributed import local_task_envs

    base = {key: v for key, v in os.environ.items() if not key.startswith("SLURM_")}
    base.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
    envs = [base] if k == 1 else [
        {**env, "PJRT_NPROC": str(max(1, cpu_cores() // k))} for env in local_task_envs(k, base)]
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", json.dumps(spec)],
                              cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for env in envs]
    outs = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=TIMEOUT_S)
            if p.returncode != 0:
                raise SystemExit(f"a worker failed ({k} processes):\n{stderr[-3000:]}")
            line = [x for x in stdout.splitlines() if x.startswith("RESULT")][-1]
            outs.append(json.loads(line[len("RESULT"):]))
    finally:
        for p in procs:
            p.kill()
            p.wait()
    return outs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="5,8", help="qubit counts, comma separated")
    ap.add_argument("--population", type=int, default=256)
    ap.add_argument("--processes", type=int, default=2, help="K local processes (>= 2)")
    ap.add_argument("--generations", type=int, default=5,
                    help="per search (>= 2: the first compiles)")
    ap.add_argument("--n-t", type=int, default=6)
    ap.add_argument("--local-steps", type=int, default=10)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "processes.json"))
    ap.add_argument("--smoke", action="store_true",
                    help="N=3, population 8, 2 generations, n_t 2, 1 local step")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    add_device_argument(ap)
    args = ap.parse_args()
    if args.worker is not None:
        worker(json.loads(args.worker))
        return
    if args.device == "gpu":
        raise SystemExit("--device gpu: K processes need K devices; this benchmark is CPU only "
                         "(use --device cpu)")
    if args.processes < 2:
        raise SystemExit(f"--processes = {args.processes} is invalid; accepted: an integer >= 2")
    if args.generations < 2:
        raise SystemExit(f"--generations = {args.generations} is invalid; accepted: an integer "
                         ">= 2 (the first generation compiles)")
    if args.smoke:
        args.sizes, args.population, args.generations = "3", 8, 2
        args.n_t, args.local_steps = 2, 1
    select_device("cpu")
    import jax
    import numpy as np

    k = args.processes
    rows: list[dict] = []
    head = {"population": args.population, "processes": k, "generations": args.generations,
            "n_t": args.n_t, "local_steps": args.local_steps, "smoke": args.smoke,
            "device": device_record("cpu"), "jax": jax.__version__}

    def save() -> None:
        Path(args.out).write_text(json.dumps({"rows": rows, **head}, indent=2))

    for n in [int(s) for s in args.sizes.split(",") if s]:
        spec = {"n": n, "population": args.population, "generations": args.generations,
                "n_t": args.n_t, "local_steps": args.local_steps}
        (one,) = launch(spec, 1)
        many = launch(spec, k)
        diff = max(max_rel_diff([m["best"]], [one["best"]]) for m in many)
        f1 = np.asarray(one["fitnesses"])
        moved = [np.abs(np.asarray(m["fitnesses"]) - f1) / np.abs(f1) for m in many]
        row = {"n_qubits": n, "population": args.population, "processes": k,
               "one_process": {key: one[key] for key in ("first_s", "generation_s",
                                                         "generations_s", "best", "devices")},
               "k_processes": [{key: m[key] for key in ("process", "processes", "devices",
                                                         "first_s", "generation_s",
                                                         "generations_s", "best")}
                               for m in many],
               "max_rel_diff_vs_one_process": diff,
               "rows_moved_over_1e-12": max(int(np.sum(x > 1e-12)) for x in moved),
               "max_rel_diff_of_rows": max(float(np.max(x)) for x in moved)}
        # the slowest process sets the pace (they wait for each other every generation)
        row["speed_up"] = one["generation_s"] / max(m["generation_s"] for m in many)
        rows.append(row)
        save()
        check_close(diff, AGREEMENT, f"N={n}: {k} processes' best fitness vs one process")
        check_close(row["max_rel_diff_of_rows"], AGREEMENT,
                    f"N={n}: {k} processes' final fitnesses vs one process, row for row")
        if not all(m["processes"] == k and len(m["devices"]) == k for m in many):
            raise SystemExit(f"N={n}: the {k} processes did not join ({many})")

    print(f"| N | population | 1 process: generation (s) | {k} processes: generation (s) | "
          "speed-up | first generation (s), 1 / K | best vs 1 process | rows moved (max) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        one = r["one_process"]
        slow = max(r["k_processes"], key=lambda m: m["generation_s"])
        print(f"| {r['n_qubits']} | {r['population']} | {one['generation_s']:.4g} | "
              f"{slow['generation_s']:.4g} | {r['speed_up']:.2f}x | {one['first_s']:.1f} / "
              f"{slow['first_s']:.1f} | {r['max_rel_diff_vs_one_process']:.1e} | "
              f"{r['rows_moved_over_1e-12']} of {r['population']} "
              f"({r['max_rel_diff_of_rows']:.1e}) |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
