"""A small PS-EGR instance end to end: every method, and Benders against the monolithic MILP.

Output: ``routing_quick.csv`` (method, egr, status, gap, wall time), ``routing_quick_paths.csv``
(the PS-EGR path chosen per pair and slot, its kind, fidelity, purification cost and rate),
``routing_quick_benders.csv`` (Benders trace) and ``routing_quick.png`` (Benders bounds).
Each method, the MILP and Benders are checkpointed cells: a rerun in the same dir resumes.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

import routing
from experiments.checkpoint import Checkpoint
from experiments.outputs import write_csv
from experiments.routing_sweep import path_evidence, solve_method
from experiments.schema import Config


def run(cfg: Config, out_dir: Path) -> dict:
    qc, net, solver = cfg.routing_quick, cfg.routing.network, asdict(cfg.routing.solver)
    ckpt = Checkpoint(out_dir / "checkpoint.json",
                      meta={"task": "routing_quick", "routing_quick": asdict(qc),
                            "routing": asdict(cfg.routing), "seed": cfg.seed})
    inst = net.instance(cfg.seed)
    rows = []
    for method in tqdm(qc.methods, desc="routing_quick", disable=not cfg.progress):
        if method not in ckpt:
            ckpt.put(method, solve_method(inst, method, solver, cfg.seed, cfg.progress))
        rows.append({"method": method, **ckpt.get(method)})
    if "milp" not in ckpt:
        milp = routing.solve_milp(inst, solver=solver["milp_solver"],
                                  time_limit=solver["time_limit"], gap=solver["gap"],
                                  threads=solver["threads"] or None)
        path_rows = [{"pair": c["pair"], "slot": c["slot"], "kind": c["kind"],
                      "path": "-".join(c["nodes"]), "fidelity": c["fidelity"],
                      "cost": c["cost"], "rate": c["rate"]} for c in milp.chosen]
        path_rows += [{"pair": e["pair"], "slot": e["slot"], "kind": "none", "path": "",
                       "reason": e["reason"]} for e in milp.no_path]
        ckpt.put("milp", {"objective": milp.objective, "status": milp.status,
                          "violations": len(routing.check_solution(milp)),
                          "paths": path_rows})
    milp = ckpt.get("milp")
    path_rows = milp["paths"]
    tables = {"routing_quick": write_csv(out_dir, "routing_quick", rows),
              "routing_quick_paths": write_csv(out_dir, "routing_quick_paths", path_rows)}
    metrics = {r["method"]: r["egr"] for r in rows}
    metrics.update(path_evidence(rows))
    metrics["milp_objective"] = milp["objective"]
    metrics["milp_status"] = milp["status"]
    metrics["milp_violations"] = milp["violations"]
    figures = []
    if qc.benders:
        if "benders" not in ckpt:
            ben = routing.solve_benders(inst, tol=solver["benders_tol"],
                                        max_iterations=solver["benders_max_iterations"],
                                        multi_cut=solver["multi_cut"],
                                        lp_phase=solver["lp_phase"],
                                        time_limit=solver["time_limit"],
                                        progress=cfg.progress)
            ckpt.put("benders", {"objective": ben.objective, "bound": ben.bound,
                                 "iterations": ben.info["iterations"], "trace": ben.trace})
        ben = ckpt.get("benders")
        metrics["benders_objective"] = ben["objective"]
        metrics["benders_bound"] = ben["bound"]
        metrics["benders_iterations"] = ben["iterations"]
        metrics["benders_rel_gap_to_milp"] = (abs(ben["objective"] - milp["objective"])
                                              / max(1.0, abs(milp["objective"])))
        tables["routing_quick_benders"] = write_csv(out_dir, "routing_quick_benders",
                                                    ben["trace"])
        figures.append(_plot_trace(ben["trace"], milp["objective"],
                                   out_dir / "routing_quick.png"))
    print(f"{'method':>8} {'EGR':>10} {'status':>9}")
    for r in rows:
        print(f"{r['method']:>8} {r['egr']:10.3f} {r['status']:>9}")
    return {"metrics": metrics, "tables": tables, "figures": figures}


def _plot_trace(trace, optimum, path: Path) -> str:
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    it = [e["iteration"] for e in trace]
    ax.plot(it, [e["upper"] if math.isfinite(e["upper"]) else float("nan") for e in trace],
            label="upper bound (master)")
    ax.plot(it, [e["lower"] if math.isfinite(e["lower"]) else float("nan") for e in trace],
            label="lower bound (subproblem)")
    ax.axhline(optimum, color="k", ls=":", label="MILP optimum")
    ax.set(xlabel="iteration", ylabel="EGR, eq. (1)", title="Benders bounds")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path.name
