"""Baselines of paper 004 (Sec. VI): SOS, RRS and NSS.

How we read the seed's one-line definitions:

* **SOS** (Satellite-Only Scheme): "all entanglement requests are managed by satellites without
  routing through terrestrial base stations or HAPs". SOS searches its own paths: for each pair
  k the satellite-only subgraph holds the S2S links and the S2G links of k's two stations (no
  HAP, no other station), and its candidate paths are found there by the same path search as
  PS-EGR's (:func:`routing.paths.build_candidates` on that subgraph, so up to
  ``SOS_MAX_PATHS`` = 64 satellite-only paths per slot, not the few of PS-EGR's candidates that
  happen to avoid the ground). Virtual paths go through storage base stations and are excluded,
  so storage plays no part. Path choice and EGR are optimized (MILP) with the full instance's
  link budgets. (k, t) cells without such a path are reported in ``no_path`` with reason
  "no satellite-only path".
* **RRS** (Random Routing Scheme): "the EGR is optimized, while the routing path is randomly
  selected without any optimization". For every (k, t) with a path, one candidate (real or
  virtual) is drawn uniformly at random (seeded); y, the storage generation and the stocks are
  then optimized (the LP with x fixed).
* **NSS** (No-Storage Scheme): "none of the nodes have storage capacity": every B_m = 0, so there
  are no storage pairs and no virtual paths; path choice and EGR are optimized (MILP).

Each is feasible for the full PS-EGR model (a restriction of it), so none can beat its optimum.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from routing._checks import check_instance
from routing.instance import Instance
from routing.milp import Solution, solve_milp
from routing.model import compile_model
from routing.paths import Candidates, build_candidates

BASELINES = ("SOS", "RRS", "NSS")


#: SOS's own cap on satellite-only paths per (pair, slot): its subgraph is small, so by default
#: it keeps far more paths than PS-EGR's ``max_real_paths`` (every one on the seed-size setting).
SOS_MAX_PATHS = 64


def satellite_only_instance(inst: Instance, k: int, max_paths: int = SOS_MAX_PATHS) -> Instance:
    """The satellite-only subgraph of pair k: S2S links and the S2G links of k's stations,
    no storage, pair k alone, with real-path cap ``max(max_paths, options.max_real_paths)``."""
    pair = inst.pairs[k]
    kinds = {n.name: n.kind for n in inst.nodes}
    ends = {pair.src, pair.dst}
    keep = tuple(lk for lk in inst.links
                 if kinds[lk.u] == "satellite" and kinds[lk.v] == "satellite"
                 or lk.kind == "S2G" and (lk.u in ends or lk.v in ends))
    nodes = tuple(replace(n, storage=0.0) for n in inst.nodes)
    opts = replace(inst.options, max_real_paths=max(max_paths, inst.options.max_real_paths),
                   max_virtual_paths=0)
    return replace(inst, nodes=nodes, links=keep, pairs=(pair,), storage_pairs=(), options=opts)


def satellite_only_candidates(inst: Instance, max_paths: int = SOS_MAX_PATHS) -> Candidates:
    """SOS's own candidate paths: each pair's paths searched in its satellite-only subgraph."""
    options, no_path, dropped, first = [], [], [], None
    for k in range(inst.n_pairs):
        sub = build_candidates(satellite_only_instance(inst, k, max_paths))
        first = first or sub
        options.append(tuple(tuple(replace(p, pair=k) for p in per_t)
                             for per_t in sub.options[0]))
        dropped += [{**d, "pair": k} for d in sub.dropped]
        no_path += [{"pair": k, "slot": t, "reason": "no satellite-only path"}
                    for t, per_t in enumerate(sub.options[0]) if not per_t]
    return replace(first, options=tuple(options), segments=(), no_path=tuple(no_path),
                   dropped=tuple(dropped))


def solve_sos(inst: Instance, solver: str = "SCIP", time_limit: float | None = None) -> Solution:
    """Satellite-Only Scheme (module docstring)."""
    check_instance(inst)
    model = compile_model(inst, satellite_only_candidates(inst))
    return solve_milp(model, solver=solver, time_limit=time_limit, method="SOS")


def random_choice(inst: Instance, seed: int = 0, model=None) -> np.ndarray:
    """A uniformly random path per (k, t) with a path: the x of RRS (with memory decay, a
    uniformly random route, all of whose vintages it then uses)."""
    model = model if model is not None else compile_model(inst)
    rng = np.random.default_rng(seed)
    x = np.zeros(model.n_y)
    for _, _, js in model.groups:
        x[js[int(rng.integers(len(js)))]] = 1.0
    return model.spread(x)


def solve_rrs(inst: Instance, seed: int = 0, solver: str = "SCIP") -> Solution:
    """Random Routing Scheme: random paths (seeded), optimized EGR (module docstring)."""
    model = compile_model(inst)
    x = random_choice(inst, seed, model)
    sol = solve_milp(model, solver=solver, fixed_x=x, method="RRS")
    sol.info["rrs_seed"] = seed
    return sol


def solve_nss(inst: Instance, solver: str = "SCIP", time_limit: float | None = None) -> Solution:
    """No-Storage Scheme: every storage capacity set to 0 (module docstring). The solution's
    ``instance`` is ``inst`` (its model's is the instance without storage), so
    `routing.with_path_bound` measures it against ``inst``'s bound."""
    check_instance(inst)
    sol = solve_milp(inst.with_storage_capacity(0.0), solver=solver, time_limit=time_limit,
                     method="NSS")
    sol.instance = inst
    return sol


def solve_baseline(inst: Instance, name: str, seed: int = 0, solver: str = "SCIP",
                   time_limit: float | None = None) -> Solution:
    """Run baseline ``name`` (SOS | RRS | NSS)."""
    if name == "SOS":
        return solve_sos(inst, solver, time_limit)
    if name == "RRS":
        return solve_rrs(inst, seed, solver)
    if name == "NSS":
        return solve_nss(inst, solver, time_limit)
    raise ValueError(f"baseline = {name!r} is invalid; accepted: one of {list(BASELINES)}")
