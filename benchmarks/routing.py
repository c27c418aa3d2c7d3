"""Routing benchmark: monolithic MILP versus Benders on PS-EGR instances (2 CPU cores).

1. Seed-size instances (paper 004 setting, seeds 0..2): MILP (SCIP) to proven optimality, and
   Benders (LP phase + integer phase) reaching the same objective (relative gap <= 1e-6):
   the default per-slot multi-cut (``benders_*``) and textbook single-cut (``single_*``,
   120 s limit there; seed 2 takes about a minute).
2. Scaling: base stations 12 -> 100, K 3 -> 20, slots 10 -> 48, each method under a time limit;
   time, iterations, status and the gap reached.

Usage: ``python benchmarks/routing.py [--time-limit 20] [--no-single] [--out ...]`` (about
3 minutes on 2 cores; ``--no-single`` skips the single-cut columns, about 1 minute).
Writes ``benchmarks/routing.json`` and ``benchmarks/results_routing.md``; prints the tables.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import routing  # noqa: E402
from benchmarks._common import add_device_argument, device_record, select_device  # noqa: E402
from routing.model import compile_model  # noqa: E402

SCALING = [(12, 3, 10), (24, 6, 16), (50, 10, 24), (100, 20, 48)]


def _gap(sol) -> float:
    return sol.gap


def run_case(nb: int, k: int, t: int, seed: int, time_limit: float,
             single_limit: float | None) -> dict:
    t0 = time.perf_counter()
    inst = routing.generate_instance(seed, n_base_stations=nb, n_pairs=k, n_slots=t)
    model = compile_model(inst)
    build = time.perf_counter() - t0
    milp = routing.solve_milp(model, time_limit=time_limit)
    ben = routing.solve_benders(model, time_limit=time_limit, multi_cut=True)
    rel = abs(ben.objective - milp.objective) / max(1.0, abs(milp.objective))
    single = {}
    if single_limit is not None:
        one = routing.solve_benders(model, time_limit=single_limit, multi_cut=False)
        single = {"single_s": one.wall_time, "single_status": one.status,
                  "single_objective": one.objective, "single_gap": _gap(one),
                  "single_iterations": one.info["iterations"]}
    return {
        "base_stations": nb, "pairs": k, "slots": t, "seed": seed,
        "binaries": model.n_y, "continuous": model.n_vars,
        "rows": model.n_y + len(model.groups) + len(model.ub_rows) + len(model.eq_rows),
        "build_s": build,
        "milp_s": milp.wall_time, "milp_status": milp.status, "milp_objective": milp.objective,
        "milp_gap": _gap(milp),
        "benders_s": ben.wall_time, "benders_status": ben.status,
        "benders_objective": ben.objective, "benders_bound": ben.bound,
        "benders_gap": _gap(ben), "benders_iterations": ben.info["iterations"],
        "benders_cuts": ben.info["cuts"], "benders_stop": ben.info["stop"],
        "benders_lp_aborted": ben.info.get("lp_aborted", False),
        "benders_vs_milp_rel": rel, **single,
    }


def _fmt(x, nd=3):
    if isinstance(x, float):
        if math.isinf(x):
            return "inf"
        return f"{x:.{nd}g}" if abs(x) < 1e-2 and x != 0 else f"{x:.{nd}f}"
    return str(x)


def table(rows: list[dict], cols: list[str]) -> str:
    head = "| " + " | ".join(cols) + " |"
    sep = "|" + "|".join("---" for _ in cols) + "|"
    body = ["| " + " | ".join(_fmt(r.get(c, "-")) for c in cols) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--time-limit", type=float, default=20.0, help="seconds per solve")
    ap.add_argument("--seeds", type=int, default=3, help="seed-size instances to solve")
    ap.add_argument("--out", default=str(Path(__file__).with_name("routing.json")))
    ap.add_argument("--skip-scaling", action="store_true")
    ap.add_argument("--no-single", action="store_true", help="skip single-cut Benders")
    ap.add_argument("--smoke", action="store_true",
                    help="one tiny instance (6 stations, K=1, 3 slots), no scaling (checks)")
    add_device_argument(ap)
    args = ap.parse_args()
    select_device(args.device)  # the solvers run on the CPU whatever it says; recorded
    one = None if args.no_single else 120.0
    if args.smoke:
        args.skip_scaling = True
        seed_rows = [run_case(6, 1, 3, 0, 30.0, None)]
    else:
        seed_rows = [run_case(12, 3, 10, s, 120.0, one) for s in range(args.seeds)]
    cols = ["seed", "binaries", "milp_s", "milp_status", "milp_objective", "benders_s",
            "benders_iterations", "benders_status", "benders_objective", "benders_vs_milp_rel",
            "single_s", "single_iterations", "single_status"]
    t1 = table(seed_rows, cols)
    print("Seed-size instances (2 satellites, 2 HAPs, 12 stations, K=3, 10 slots)")
    print(t1)
    scale_rows = []
    if not args.skip_scaling:
        for nb, k, t in SCALING:
            row = run_case(nb, k, t, 0, args.time_limit, None if one is None else args.time_limit)
            scale_rows.append(row)
            print(f"  scaling {nb}/{k}/{t}: milp {row['milp_s']:.1f}s {row['milp_status']}, "
                  f"benders {row['benders_s']:.1f}s {row['benders_status']} "
                  f"gap {row['benders_gap']:.2e}", flush=True)
    cols2 = ["base_stations", "pairs", "slots", "binaries", "rows", "build_s", "milp_s",
             "milp_status", "milp_gap", "benders_s", "benders_iterations", "benders_status",
             "benders_gap", "benders_vs_milp_rel", "single_s", "single_iterations",
             "single_status", "single_gap"]
    t2 = table(scale_rows, cols2) if scale_rows else "(skipped)"
    print(f"Scaling (time limit {args.time_limit:g} s per solve)")
    print(t2)
    meta = {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "time_limit_s": args.time_limit,
            "device": device_record(args.device)}
    Path(args.out).write_text(json.dumps({"meta": meta, "seed_size": seed_rows,
                                          "scaling": scale_rows}, indent=1, default=str))
    md = Path(args.out).with_name("results_routing.md")
    md.write_text(
        "# Routing benchmark (benchmarks/routing.py)\n\n"
        f"Machine: {meta['machine']}, {meta['cpus']} CPUs, Python {meta['python']}.\n\n"
        "## Seed-size instances (paper 004 setting)\n\n" + t1 + "\n\n"
        f"## Scaling (time limit {args.time_limit:g} s per solve)\n\n" + t2 + "\n\n"
        "Times in seconds. `*_gap`: relative gap between the best bound and the best solution "
        "when the solve stopped. `benders_vs_milp_rel`: |Benders - MILP| / MILP objective. "
        "`benders_*`: default multi-cut Benders (one θ per slot, storage schedule in the "
        "master); `single_*`: textbook single-cut Benders (`multi_cut=False`), 120 s limit on "
        "the seed-size instances.\n")
    print(f"wrote {args.out} and {md}")


if __name__ == "__main__":
    main()
