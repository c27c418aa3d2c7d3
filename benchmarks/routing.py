"""Routing benchmark: path sets, robustness and the Benders / monolithic MILP crossover.

Parts (``--part``, default all):

* ``paths``: seed-size instances (paper 004 setting, seeds 0..2): the optimum over ALL paths
  (``path_set="priced"``: column generation on the LP relaxation, then the MILP over every path
  whose reduced cost could still beat the incumbent), its proof status and time; next to it the
  old capped optimum (3 real, top-2 storage, 3 virtual) and its gap to the all-path bound.
* ``crossover``: stations / K / slots from 12/3/10 up to 300/50/96 (and the 100/50/96 instance on
  which Benders used to crash). Per size, two MILP runs (SCIP, 1 thread, ``gap`` 1e-2 and 1e-3:
  pywraplp has no progress callback, so one run per target) and two Benders runs (multi-cut,
  ``tol`` 1e-3; with the Magnanti-Wong cuts, master hint and cut dropping, and ``plain``
  without them), each capped at ``--time-limit`` seconds. Benders' times to a 1 % and a 0.1 %
  gap are read off its trace. Every result keeps status, incumbent, bound, gap; a raise would
  abort the script.

Checked (`check_crossover_row`, `check_paths_row`; the script stops with SystemExit after
writing its JSON, each row's ``checks`` records what was compared): every run's bound is at
least its own incumbent and every other run's (no method proves a bound another beats), a run
that says ``optimal`` is within its gap target, and runs that all say ``optimal`` reach the
same objective to the loosest of their targets; in the paths part the capped and the all-path
optimum lie under the all-path bounds, and an exact all-path optimum is at least the capped.

Usage: ``python benchmarks/routing.py [--part paths|crossover] [--time-limit 600]
[--sizes 12/3/10,100/20/48] [--no-plain]`` (the full crossover with ``--time-limit 300``
takes about 25 minutes on 2 shared cores).
Writes ``benchmarks/routing.json`` and ``benchmarks/results_routing.md``.
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

from benchmarks._common import (  # noqa: E402
    add_device_argument,
    check_close,
    device_record,
    select_device,
)

# `routing` (cvxpy and OR-Tools: seconds to import) is imported where a case is solved, so
# the checks below import without it (tests/benchmarks/test_checks.py)

SIZES = [(12, 3, 10), (24, 6, 16), (50, 10, 24), (100, 20, 48), (100, 50, 96), (300, 50, 96)]


def _time_to(trace, gap):
    for e in trace:
        lo, up = e["lower"], e["upper"]
        if math.isfinite(lo) and math.isfinite(up) and up - lo <= gap * max(1.0, abs(up)):
            return e["time"]
    return math.nan


PLAIN = dict(pareto=False, hint_master=False, drop_slack_after=0)  # Benders before MW cuts

#: Slack, relative to max(1, |bound|), allowed when an objective is compared with a bound
#: (the LP/MIP solvers' feasibility tolerances; the solves' own gaps are checked apart).
BOUND_TOL = 1e-6
#: The crossover's runs and their gap targets (``milp1``: the 1e-2 MILP run).
RUN_GAPS = {"milp1": 1e-2, "milp": 1e-3, "benders": 1e-3, "plain": 1e-3}


def crossover_checks(row: dict) -> dict:
    """What `check_crossover_row` compares, from a crossover row: the largest excess of a
    run's incumbent over its own bound and over any run's bound, the largest excess of an
    ``optimal`` run's gap over its target, and the spread of the ``optimal`` runs' objectives
    against the loosest target among them (all relative to max(1, the largest finite
    |bound|)); the ``optimal`` runs."""
    runs = [r for r in RUN_GAPS if f"{r}_objective" in row]
    obj = {r: float(row[f"{r}_objective"]) for r in runs}
    bnd = {r: float(row[f"{r}_bound"]) for r in runs}
    finite = [abs(b) for b in bnd.values() if math.isfinite(b)]
    scale = max([1.0, *finite])
    opt = [r for r in runs if row[f"{r}_status"] == "optimal"]
    spread = (max(obj[r] for r in opt) - min(obj[r] for r in opt)) / scale if opt else 0.0
    return {"runs": runs, "optimal_runs": opt,
            "own_bound_excess": max((obj[r] - bnd[r]) / scale for r in runs),
            "cross_bound_excess": (max(obj.values()) - min(bnd.values())) / scale,
            "optimal_gap_excess": max([(float(row[f"{r}_gap"]) - RUN_GAPS[r]) for r in opt],
                                      default=0.0),
            "optimal_spread": spread,
            "optimal_spread_allowed": max([RUN_GAPS[r] for r in opt], default=0.0)}


def check_crossover_row(row: dict) -> None:
    """Stop (SystemExit) when the methods of a crossover row contradict each other (see
    `crossover_checks`; the row's ``checks``)."""
    c = row["checks"]
    what = f"crossover {row['base_stations']}/{row['pairs']}/{row['slots']}"
    check_close(c["own_bound_excess"], BOUND_TOL, f"{what}: a run's incumbent above its bound")
    check_close(c["cross_bound_excess"], BOUND_TOL,
                f"{what}: a run's incumbent above another run's proven bound")
    check_close(c["optimal_gap_excess"], BOUND_TOL,
                f"{what}: an 'optimal' run's gap past its target")
    check_close(c["optimal_spread"], c["optimal_spread_allowed"] + BOUND_TOL,
                f"{what}: the 'optimal' runs {c['optimal_runs']} reach different objectives")


def paths_checks(row: dict) -> dict:
    """What `check_paths_row` compares, from a paths row (relative to max(1, |bound|)): the
    largest excess of the capped or all-path optimum over an all-path bound (the capped
    optimum's ``capped_path_bound`` and the all-path solve's ``lp_bound`` both bound every
    routing over all paths), and, where the all-path solve is optimal over a provably exact
    path set, the capped optimum's excess over it (0 otherwise)."""
    bounds = [float(row[k]) for k in ("capped_path_bound", "lp_bound")
              if math.isfinite(float(row[k]))]
    scale = max([1.0, *(abs(b) for b in bounds)])
    objs = [float(row["capped_objective"]), float(row["all_paths_objective"])]
    excess = max([(o - b) / scale for o in objs for b in bounds], default=0.0)
    exact = row["all_paths_status"] == "optimal" and row.get("exact") is True
    capped_over = ((objs[0] - objs[1]) / scale) if exact else 0.0
    return {"bound_excess": excess, "capped_over_all_paths": capped_over,
            "all_paths_exact_optimum": exact}


def check_paths_row(row: dict) -> None:
    """Stop (SystemExit) when a paths row's optima and bounds contradict each other."""
    c, what = row["checks"], f"paths seed {row['seed']}"
    check_close(c["bound_excess"], BOUND_TOL, f"{what}: an optimum above an all-path bound")
    check_close(c["capped_over_all_paths"], BOUND_TOL,
                f"{what}: the capped optimum above the exact all-path optimum")


def crossover_case(nb: int, k: int, t: int, seed: int, time_limit: float,
                   plain: bool = True) -> dict:
    import routing
    from routing.model import compile_model

    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    inst = routing.generate_instance(seed, n_base_stations=nb, n_pairs=k, n_slots=t)
    model = compile_model(inst)
    build = time.perf_counter() - t0
    row = {"base_stations": nb, "pairs": k, "slots": t, "seed": seed, "binaries": model.n_y,
           "continuous": model.n_vars, "stored_segments": len(model.cands.segments),
           "rows": model.n_y + len(model.groups) + len(model.ub_rows) + len(model.eq_rows),
           "build_s": build, "time_limit_s": time_limit}
    # pywraplp has no progress callback: one MILP run per target gap
    m1 = routing.solve_milp(model, time_limit=time_limit, gap=1e-2, threads=1)
    row["milp_1_s"] = m1.wall_time if m1.gap <= 1e-2 else math.nan
    row.update(milp1_status=m1.status, milp1_objective=m1.objective, milp1_bound=m1.bound,
               milp1_gap=m1.gap)
    milp = routing.solve_milp(model, time_limit=time_limit, gap=1e-3, threads=1)
    row.update(milp_s=milp.wall_time, milp_status=milp.status, milp_objective=milp.objective,
               milp_bound=milp.bound, milp_gap=milp.gap,
               milp_01_s=milp.wall_time if milp.gap <= 1e-3 else math.nan)
    runs = [("benders", {})] + ([("plain", PLAIN)] if plain else [])
    best_lb, best_ub = max(m1.objective, milp.objective), min(m1.bound, milp.bound)
    for name, kw in runs:
        ben = routing.solve_benders(model, time_limit=time_limit, tol=1e-3, **kw)
        row.update({f"{name}_s": ben.wall_time, f"{name}_status": ben.status,
                    f"{name}_objective": ben.objective, f"{name}_bound": ben.bound,
                    f"{name}_gap": ben.gap, f"{name}_1_s": _time_to(ben.trace, 1e-2),
                    f"{name}_01_s": _time_to(ben.trace, 1e-3),
                    f"{name}_iterations": ben.info.get("iterations"),
                    f"{name}_stop": ben.info.get("stop"),
                    f"{name}_failures": len(ben.info.get("failures", [])),
                    f"{name}_lp_backends": ",".join(ben.info.get("lp_backends", []))})
        best_lb, best_ub = max(best_lb, ben.objective), min(best_ub, ben.bound)
    row["best_gap"] = (best_ub - best_lb) / max(1.0, abs(best_ub))
    row["load_average"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    row["checks"] = crossover_checks(row)
    return row


def paths_case(seed: int, time_limit: float, n_slots: int = 10) -> dict:
    import routing

    inst = routing.generate_instance(seed, n_slots=n_slots)
    t0 = time.perf_counter()
    capped = routing.solve_milp(inst)
    t_capped = time.perf_counter() - t0
    t0 = time.perf_counter()
    routing.with_path_bound(capped)  # the capped optimum's evidence: the all-path LP bound
    t_bound = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = routing.solve_milp(inst.with_options(path_set="priced"), time_limit=time_limit)
    t_all = time.perf_counter() - t0
    info = sol.model.cands.info
    row = {"seed": seed, "slots": n_slots, "capped_objective": capped.objective,
           "capped_s": t_capped, "capped_path_bound": capped.path_bound,
           "capped_path_gap": capped.path_gap, "path_bound_s": t_bound,
           "all_paths_objective": sol.objective, "all_paths_status": sol.status,
           "path_set": sol.path_set, "exact": info.get("exact"), "lp_bound": sol.path_bound,
           "all_paths_gap": sol.path_gap, "all_paths_s": t_all,
           "generated_paths": sol.model.n_y, "stored_segments": len(sol.model.cands.segments),
           "cg_rounds": info.get("rounds"), "pricing_s": info.get("pricing_seconds"),
           "closure_added": info.get("closure_added"),
           "capped_gap_to_all_path_optimum": (sol.objective - capped.objective)
           / max(1.0, sol.objective)}
    row["checks"] = paths_checks(row)
    return row


def _fmt(x, nd=3):
    if isinstance(x, float):
        if math.isnan(x):
            return "-"
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
    ap.add_argument("--part", choices=["paths", "crossover", "all"], default="all")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds per solve")
    ap.add_argument("--seeds", type=int, default=3, help="seed-size instances (paths part)")
    ap.add_argument("--sizes", default=None, help="e.g. 12/3/10,100/20/48")
    ap.add_argument("--paths-slots", type=int, default=10, help="slots of the paths part")
    ap.add_argument("--out", default=str(Path(__file__).with_name("routing.json")))
    ap.add_argument("--no-plain", action="store_true",
                    help="skip the Benders run with plain cuts (no MW, hint, cut dropping)")
    ap.add_argument("--smoke", action="store_true",
                    help="one tiny crossover instance (6 stations, K=1, 3 slots; checks)")
    add_device_argument(ap)
    args = ap.parse_args()
    select_device(args.device)  # the solvers run on the CPU whatever it says; recorded
    if args.smoke:
        args.part, args.sizes, args.time_limit = "crossover", "6/1/3", 30.0
    sizes = SIZES if args.sizes is None else [tuple(int(v) for v in s.split("/"))
                                              for s in args.sizes.split(",")]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # the other part's rows already at --out are kept (paths and crossover run separately)
    data = json.loads(out.read_text()) if out.exists() else {}
    data["meta"] = {"python": platform.python_version(), "machine": platform.machine(),
                    "cpus": os.cpu_count(), "time_limit_s": args.time_limit,
                    "load_average": os.getloadavg(), "shared": True,
                    "device": device_record(args.device)}
    new_rows: dict = {"paths": [], "crossover": []}
    if args.part in ("paths", "all"):
        rows = new_rows["paths"]
        for s in range(args.seeds):
            rows.append(paths_case(s, args.time_limit, args.paths_slots))
            print(rows[-1], flush=True)
        data["paths"] = rows
    if args.part in ("crossover", "all"):
        rows = new_rows["crossover"]
        for nb, k, t in sizes:
            rows.append(crossover_case(nb, k, t, 0, args.time_limit, not args.no_plain))
            print({k_: _fmt(v) for k_, v in rows[-1].items()}, flush=True)
            data["crossover"] = rows
            out.write_text(json.dumps(data, indent=1, default=str))
    out.write_text(json.dumps(data, indent=1, default=str))
    md = ["# Routing benchmark (benchmarks/routing.py)", "",
          f"Machine: {data['meta']['machine']}, {data['meta']['cpus']} CPUs shared with other "
          f"jobs (load average {data['meta']['load_average'][0]:.1f} at start), "
          f"Python {data['meta']['python']}.", ""]
    if data.get("paths"):
        md += ["## Seed-size instances: optimum over all paths", "",
               table(data["paths"], ["seed", "slots", "capped_objective", "capped_s",
                                     "capped_path_bound", "capped_path_gap", "path_bound_s",
                                     "all_paths_objective", "all_paths_status", "path_set",
                                     "exact", "lp_bound", "all_paths_s", "pricing_s",
                                     "cg_rounds", "generated_paths", "closure_added",
                                     "stored_segments", "capped_gap_to_all_path_optimum"]), ""]
    if data.get("crossover"):
        md += [f"## Benders / MILP crossover (time limit {data['meta']['time_limit_s']:g} s, "
               "1 MIP thread)", "",
               table(data["crossover"], ["base_stations", "pairs", "slots", "binaries", "rows",
                                         "build_s", "milp_1_s", "milp_01_s", "milp_status",
                                         "milp_gap", "benders_1_s", "benders_01_s",
                                         "benders_status", "benders_gap",
                                         "benders_iterations", "benders_failures",
                                         "plain_1_s", "plain_01_s", "plain_gap",
                                         "plain_iterations", "best_gap", "load_average"]), "",
               "`*_1_s` / `*_01_s`: seconds to a proven 1 % / 0.1 % gap (`-`: not reached in "
               "the limit; then `*_gap` is the gap at the limit). MILP: SCIP through pywraplp, "
               "1 thread, one run at gap 1e-2 and one at 1e-3 (no progress callback). "
               "`benders`: multi-cut with Magnanti-Wong cuts, incumbent hint and slack-cut "
               "dropping (defaults), tol 1e-3; `plain`: the same without those three; times "
               "read off the trace. `best_gap`: best bound of any run against the best "
               "incumbent. `load_average`: 1-minute load at the row's start and end (the "
               "machine was shared: timings are upper bounds)."]
    out.with_name("results_routing.md").write_text("\n".join(md) + "\n")
    print(f"wrote {out} and results_routing.md")
    # after the JSON: a failed run keeps its record. The rows of this run only (a part not
    # run keeps the rows an earlier run left in the JSON; those were checked then)
    for r in new_rows["paths"]:
        check_paths_row(r)
    for r in new_rows["crossover"]:
        check_crossover_row(r)


if __name__ == "__main__":
    main()
