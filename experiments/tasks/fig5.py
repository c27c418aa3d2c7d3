"""Fig. 5 of paper 004: EGR versus storage capacity B_m, for PS-EGR, SOS, RRS and NSS.

For each seed one network is generated (``routing.network``), then every storage capacity in
``fig5.storage_capacities`` is applied to all storage nodes and each method is solved. Output:
``fig5.csv`` (method, storage_capacity, seed, egr, ...), ``fig5_summary.csv`` (mean, std over
seeds) and ``fig5.png``. Cells are checkpointed, so a rerun in the same run dir resumes.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from experiments.checkpoint import Checkpoint
from experiments.routing_sweep import print_sweep_summary, solve_method, sweep_outputs
from experiments.schema import Config


def run(cfg: Config, out_dir: Path) -> dict:
    fc, net, solver = cfg.fig5, cfg.routing.network, asdict(cfg.routing.solver)
    ckpt = Checkpoint(out_dir / "checkpoint.json",
                      meta={"task": "fig5", "fig5": asdict(fc), "routing": asdict(cfg.routing)})
    cells = [(seed, cap, m) for seed in fc.seeds for cap in fc.storage_capacities
             for m in fc.methods]
    base = {}
    for seed, cap, method in tqdm(cells, desc="fig5 (seed, B_m, method)",
                                  disable=not cfg.progress):
        key = f"{method}|B={cap}|seed={seed}"
        if key in ckpt:
            continue
        if seed not in base:  # storage nodes marked (B = 1), then each cell sets B_m
            base[seed] = net.instance(seed, storage_capacity=1.0)
        inst = base[seed].with_storage_capacity(float(cap))
        ckpt.put(key, solve_method(inst, method, solver, seed, cfg.progress))
    rows = [{"method": m, "storage_capacity": cap, "seed": seed,
             **ckpt.get(f"{m}|B={cap}|seed={seed}")} for seed, cap, m in cells]
    result = sweep_outputs(rows, "storage_capacity", "B", "fig5", out_dir,
                           "storage capacity $B_m$ [pairs]",
                           f"EGR vs storage capacity (K={net.n_pairs}, {len(fc.seeds)} seeds)")
    print_sweep_summary(result, rows, "storage_capacity", "B_m", "fig5", out_dir)
    return result
