"""Fig. 6 of paper 004: EGR versus the number of user pairs K, for PS-EGR, SOS, RRS and NSS.

For each seed the network is the same for every K (the generator draws it independently of K);
pair k joins station k of the source city to station k of the destination city. Output:
``fig6.csv`` (method, n_pairs, seed, egr, ...), ``fig6_summary.csv`` and ``fig6.png``; cells are
checkpointed.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from experiments.checkpoint import Checkpoint
from experiments.routing_sweep import print_sweep_summary, solve_method, sweep_outputs
from experiments.schema import Config


def run(cfg: Config, out_dir: Path) -> dict:
    fc, net, solver = cfg.fig6, cfg.routing.network, asdict(cfg.routing.solver)
    ckpt = Checkpoint(out_dir / "checkpoint.json",
                      meta={"task": "fig6", "fig6": asdict(fc), "routing": asdict(cfg.routing)})
    cells = [(seed, k, m) for seed in fc.seeds for k in fc.n_pairs for m in fc.methods]
    insts = {}
    for seed, k, method in tqdm(cells, desc="fig6 (seed, K, method)", disable=not cfg.progress):
        key = f"{method}|K={k}|seed={seed}"
        if key in ckpt:
            continue
        if (seed, k) not in insts:
            insts[(seed, k)] = net.instance(seed, n_pairs=k)
        ckpt.put(key, solve_method(insts[(seed, k)], method, solver, seed, cfg.progress))
    rows = [{"method": m, "n_pairs": k, "seed": seed, **ckpt.get(f"{m}|K={k}|seed={seed}")}
            for seed, k, m in cells]
    result = sweep_outputs(rows, "n_pairs", "K", "fig6", out_dir, "number of user pairs K",
                           f"EGR vs K (B_m={net.storage_capacity:g}, {len(fc.seeds)} seeds)")
    print_sweep_summary(result, rows, "n_pairs", "K", "fig6", out_dir)
    return result
