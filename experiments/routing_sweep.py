"""Plain helpers for the routing experiments (fig5, fig6, routing_quick): no Hydra here.

``solve_method`` runs one method on one instance and returns a JSON-able record; ``summarize``
reduces records to mean and standard deviation per (method, x); ``plot_sweep`` draws them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from experiments.outputs import jsonable
from routing.baselines import solve_nss, solve_rrs, solve_sos
from routing.benders import solve_benders
from routing.instance import Instance
from routing.milp import solve_milp, with_path_bound

METHODS = ("PS-EGR", "SOS", "RRS", "NSS")


def solve_method(inst: Instance, method: str, solver: dict, seed: int = 0,
                 progress: bool = False) -> dict:
    """Solve ``inst`` with ``method``; ``solver`` holds the RoutingSolverConfig fields;
    ``progress``: Benders' progress bar (``solver["ps_egr"] == "benders"``).

    Returns ``{"egr", "status", "gap", "wall_time_s", "n_no_path", ...}`` where ``egr`` is the
    objective of eq. (1) (weighted EGR summed over pairs and slots, purified pairs/s) and
    ``total_pairs`` the purified pairs delivered over the horizon (Σ δ y). PS-EGR's record
    also says which paths it is optimal over: ``path_set`` and, with ``solver["path_bound"]``
    (default true), ``path_bound`` (the proven bound over ALL paths, `routing.with_path_bound`)
    and ``path_gap`` (relative; with finite memory lifetimes the bound
    without decay, which is valid and looser).
    """
    evidence: dict = {}
    if method == "PS-EGR":
        if solver.get("ps_egr", "milp") == "benders":
            sol = solve_benders(inst, tol=solver.get("benders_tol", 1e-6),
                                max_iterations=solver.get("benders_max_iterations", 500),
                                time_limit=solver.get("time_limit"),
                                multi_cut=solver.get("multi_cut", True),
                                lp_phase=solver.get("lp_phase", True), progress=progress)
        else:
            sol = solve_milp(inst, solver=solver.get("milp_solver", "SCIP"),
                             time_limit=solver.get("time_limit"), gap=solver.get("gap", 1e-9),
                             threads=int(solver.get("threads", 0)) or None)
        if solver.get("path_bound", True):
            with_path_bound(sol, solver.get("path_bound_time_limit", 30.0))
        evidence = {"path_set": sol.path_set, "path_bound": sol.path_bound,
                    "path_gap": sol.path_gap}
        sols = [sol]
    elif method == "SOS":
        sols = [solve_sos(inst, solver.get("milp_solver", "SCIP"), solver.get("time_limit"))]
    elif method == "NSS":
        sols = [solve_nss(inst, solver.get("milp_solver", "SCIP"), solver.get("time_limit"))]
    elif method == "RRS":
        draws = int(solver.get("rrs_draws", 1))
        sols = [solve_rrs(inst, seed=1000 * seed + d, solver=solver.get("milp_solver", "SCIP"))
                for d in range(draws)]
    else:
        raise ValueError(f"method = {method!r} is invalid; accepted: one of {list(METHODS)}")
    egr = float(np.mean([s.objective for s in sols]))
    pairs = float(np.mean([inst.slot_duration * float(np.sum(s.y)) for s in sols]))
    worst = max(sols, key=lambda s: s.gap)
    # inf and nan as strings (the checkpoint is strict JSON), as results.json writes them
    return jsonable({
        "egr": egr, "total_pairs": pairs,
        "status": "optimal" if all(s.status == "optimal" for s in sols) else worst.status,
        "gap": worst.gap, "wall_time_s": float(sum(s.wall_time for s in sols)),
        "n_no_path": len(sols[0].no_path), **evidence})


def path_evidence(rows: list[dict]) -> dict:
    """The PS-EGR rows' path sets and their largest gap to the all-path bound (DESIGN section
    9): ``ps_egr_path_sets``, ``ps_egr_max_path_gap`` (None when no row has a bound) and
    ``ps_egr_cells_without_path_bound``: rows whose bound or gap is not finite (nan: none
    computed; inf: none found within ``path_bound_time_limit``) have no bound, and their gap
    is left out of the max."""
    # rows read back from CSVs (experiments.aggregate) hold strings, "" where a key is absent

    def number(v) -> float:
        return float(v) if v not in (None, "") else math.nan

    ps = [r for r in rows if r.get("method") == "PS-EGR" and r.get("path_set")]
    gaps = [number(r.get("path_gap")) if math.isfinite(number(r.get("path_bound", 0.0)))
            else math.nan for r in ps]
    known = [g for g in gaps if math.isfinite(g)]
    return {"ps_egr_path_sets": sorted({r["path_set"] for r in ps}),
            "ps_egr_max_path_gap": max(known) if known else None,
            "ps_egr_cells_without_path_bound": len(gaps) - len(known)}


def _series(row: dict, group_keys: tuple[str, ...]):
    """The line a row belongs to: its method, or with ``group_keys`` (config columns that
    tell cells of different configurations apart) the tuple (method, their values)."""
    if not group_keys:
        return row["method"]
    return (row["method"], *(row.get(k, "") for k in group_keys))


def _label(series, group_keys: tuple[str, ...]) -> str:
    if not group_keys:
        return str(series)
    return f"{series[0]} [" + ", ".join(f"{k}={v}" for k, v in zip(
        group_keys, series[1:], strict=True)) + "]"


def summarize(rows: list[dict], x_key: str, group_keys: tuple[str, ...] = ()) -> dict:
    """``{method: {x: {"mean", "std", "min", "max", "n"}}}`` of ``egr`` over seeds (population
    std, ddof = 0). ``group_keys``: columns whose values tell configurations apart (a
    multirun's cells run with different ``routing.network`` settings, ...): the outer key is
    then ``(method, *values)``, so no mean mixes two configurations."""
    out: dict = {}
    for r in rows:
        out.setdefault(_series(r, group_keys), {}).setdefault(r[x_key], []).append(
            float(r["egr"]))
    return {m: {x: {"mean": float(np.mean(v)), "std": float(np.std(v)), "min": float(np.min(v)),
                    "max": float(np.max(v)), "n": len(v)} for x, v in sorted(d.items())}
            for m, d in out.items()}


def plot_sweep(rows: list[dict], x_key: str, path: Path, xlabel: str, title: str,
               group_keys: tuple[str, ...] = ()) -> None:
    """Mean EGR over seeds, one line per method (per method and configuration with
    ``group_keys``): error bars span min..max over seeds, the shaded band is ± one standard
    deviation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarize(rows, x_key, group_keys)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    markers = {"PS-EGR": "o", "SOS": "s", "RRS": "^", "NSS": "D"}

    def order(series):
        m = series if not group_keys else series[0]
        return (METHODS.index(m) if m in METHODS else len(METHODS), str(series))

    for series in sorted(summary, key=order):
        method = series if not group_keys else series[0]
        xs = list(summary[series])
        st = [summary[series][x] for x in xs]
        mean = np.array([v["mean"] for v in st])
        std = np.array([v["std"] for v in st])
        err = np.array([[v["mean"] - v["min"] for v in st], [v["max"] - v["mean"] for v in st]])
        line = ax.errorbar(xs, mean, yerr=err, marker=markers.get(method, "o"), capsize=3,
                           label=_label(series, group_keys))
        ax.fill_between(xs, mean - std, mean + std, color=line[0].get_color(), alpha=0.12)
    n = max((v["n"] for d in summary.values() for v in d.values()), default=0)
    ax.set(xlabel=xlabel, ylabel="EGR, eq. (1)  [purified pairs/s, summed]",
           title=f"{title}\nmean over {n} seeds; bars: min-max, band: ±1 std")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6 if group_keys else None)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def sweep_outputs(rows: list[dict], x_key: str, x_tag: str, name: str, out_dir: Path,
                  xlabel: str, title: str, group_keys: tuple[str, ...] = ()) -> dict:
    """Write ``name.csv`` (one row per cell, with the spread over seeds of its (method, x):
    ``egr_mean, egr_std, egr_min, egr_max, n_seeds``), ``name_summary.csv`` (one row per
    (method, x)) and ``name.png``; return the task result (metrics keyed ``method/x_tag=x``).
    ``group_keys``: config columns of the rows that tell configurations apart
    (`experiments.aggregate`): every spread is then per (method, configuration, x), the
    summary rows carry those columns and the metrics are keyed
    ``method[key=value, ...]/x_tag=x``."""
    from experiments.outputs import write_csv

    summary = summarize(rows, x_key, group_keys)
    spread = {(m, x): {"egr_mean": v["mean"], "egr_std": v["std"], "egr_min": v["min"],
                       "egr_max": v["max"], "n_seeds": v["n"]}
              for m, d in summary.items() for x, v in d.items()}
    rows = [{**r, **spread[(_series(r, group_keys), r[x_key])]} for r in rows]

    def columns(series) -> dict:
        if not group_keys:
            return {"method": series}
        return {"method": series[0], **dict(zip(group_keys, series[1:], strict=True))}

    srows = [{**columns(m), x_key: x, **spread[(m, x)]} for m, d in summary.items() for x in d]
    plot_sweep(rows, x_key, out_dir / f"{name}.png", xlabel, title, group_keys)
    metrics: dict = {f"{_label(m, group_keys)}/{x_tag}={x}": {
        k: v[k] for k in ("mean", "std", "min", "max")}
        for m, d in summary.items() for x, v in d.items()}
    metrics["all_optimal"] = all(r["status"] == "optimal" for r in rows)
    metrics.update(path_evidence(rows))
    return {"metrics": metrics,
            "tables": {name: write_csv(out_dir, name, rows),
                       f"{name}_summary": write_csv(out_dir, f"{name}_summary", srows)},
            "figures": [f"{name}.png"]}


def print_sweep_summary(result: dict, rows: list[dict], x_key: str, x_label: str,
                        name: str, out_dir: Path, stream=None) -> None:
    """A few lines at the end of a sweep run (`sweep_outputs`' ``result`` over ``rows``): the
    mean ± std EGR over seeds per x (one line each) and method (one column each), whether
    every cell is optimal, PS-EGR's path evidence, and where the files are."""
    import sys

    summary = summarize(rows, x_key)
    methods = sorted(summary, key=lambda m: (METHODS.index(m) if m in METHODS
                                             else len(METHODS), str(m)))
    xs = sorted({r[x_key] for r in rows})
    seeds = len({r.get("seed") for r in rows})
    m = result["metrics"]
    lines = [f"{name}: EGR, mean ± std over {seeds} seed(s); {len(rows)} cells, all optimal: "
             f"{m['all_optimal']}",
             f"{x_label:>10} " + " ".join(f"{meth:>19}" for meth in methods)]
    for x in xs:
        cells = [summary[meth].get(x) for meth in methods]
        lines.append(f"{x:>10g} " + " ".join(
            f"{c['mean']:>10.3f} ± {c['std']:<6.3g}" if c else f"{'-':>19}" for c in cells))
    if m.get("ps_egr_path_sets"):
        gap = m["ps_egr_max_path_gap"]
        lines.append(f"PS-EGR path sets: {', '.join(m['ps_egr_path_sets'])}; max gap to the "
                     f"all-path bound: {'-' if gap is None else f'{gap:.3g}'} "
                     f"({m['ps_egr_cells_without_path_bound']} cells without a bound)")
    files = [*result["tables"].values(), *result["figures"]]
    lines.append(f"files: {out_dir / files[0]}" + "".join(f", {f}" for f in files[1:]))
    print("\n".join(line.rstrip() for line in lines), file=stream or sys.stdout)
