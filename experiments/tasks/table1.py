"""Seed 000 Table 1: QCRB of the optimal VQS and the GHZ probes (DESIGN sections 3, 6).

Cells: sensing (single | multi) x N (n_min..n_max) x gamma x noise, each for VQS and GHZ.
single: scalar field at ``field_b0``, ``QCRB = 1 / max_t F(t)``; multi: vector field at
``field_b0_vector``, ``QCRB = min_t Tr F(t)^-1`` (one repetition). One VQS search per
(sensing, N, gamma, noise) gives both probes: GHZ is the empty-PQC start of the same
optimizer, so VQS <= GHZ holds cell by cell. The seed's own numbers are printed beside ours
with the ratio ours/paper; they are not reproducible under any convention we know (DESIGN
section 3, README "Results and the seed's Table 1"), and nothing here is tuned to them.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from experiments import vqs_common
from experiments.checkpoint import Checkpoint
from experiments.compiled import ShapeScope
from experiments.outputs import write_csv
from experiments.stopping import end_processes
from experiments.subprocesses import spawn_pool_submit
from qsense.distributed import agree, process_index

log = logging.getLogger("experiments")

NOISE_ORDER = ("amplitude_damping", "bitflip", "dephasing")  # the seed's N_A, N_X, N_Z
NOISE_LABEL = {"amplitude_damping": "N_A", "bitflip": "N_X", "dephasing": "N_Z"}

# Seed 000, Table 1: PAPER[sensing][probe][N][gamma] = (N_A, N_X, N_Z)
PAPER: dict[str, dict[str, dict[int, dict[float, tuple[float, float, float]]]]] = {
    "single": {
        "VQS": {2: {0.1: (0.08085, 0.13794, 0.14611), 0.2: (0.17790, 0.31592, 0.31593)},
                3: {0.1: (0.05322, 0.07439, 0.07459), 0.2: (0.11903, 0.16747, 0.23491)},
                4: {0.1: (0.03977, 0.04639, 0.04970), 0.2: (0.08908, 0.17662, 0.17835)},
                5: {0.1: (0.03325, 0.03172, 0.03259), 0.2: (0.07169, 0.14223, 0.14806)}},
        "GHZ": {2: {0.1: (0.13168, 0.25248, 0.15555), 0.2: (0.57349, 0.64373, 0.35149)},
                3: {0.1: (0.08786, 0.12014, 0.12014), 0.2: (0.39247, 0.33465, 0.33465)},
                4: {0.1: (0.06434, 0.08743, 0.08778), 0.2: (0.29387, 0.21434, 0.26576)},
                5: {0.1: (0.05091, 0.06849, 0.06717), 0.2: (0.23369, 0.27463, 0.18268)}},
    },
    "multi": {
        "VQS": {2: {0.1: (0.04359, 0.21538, 0.24583), 0.2: (0.09835, 1.11761, 1.23704)},
                3: {0.1: (0.03331, 0.14225, 0.15782), 0.2: (0.06500, 0.59574, 0.65099)},
                4: {0.1: (0.02524, 0.11681, 0.11420), 0.2: (0.04881, 0.43080, 0.43496)},
                5: {0.1: (0.01957, 0.09423, 0.09357), 0.2: (0.03895, 0.37086, 0.35589)}},
        "GHZ": {2: {0.1: (0.06335, 0.33968, 0.37298), 0.2: (0.20007, 1.17867, 2.07283)},
                3: {0.1: (0.04792, 0.17176, 0.20657), 0.2: (0.17112, 0.65935, 0.90369)},
                4: {0.1: (0.03825, 0.13408, 0.14010), 0.2: (0.16432, 0.63409, 1.84634)},
                5: {0.1: (0.03299, 0.11003, 0.10447), 0.2: (0.13204, 0.47180, 0.44028)}},
    },
}


def paper_value(sensing: str, probe: str, n: int, gamma: float, noise: str) -> float | None:
    try:
        row = PAPER[sensing][probe][n][round(float(gamma), 6)]
    except KeyError:
        return None
    return row[NOISE_ORDER.index(noise)]


def _cell(cfg, sensing: str, n: int, gamma: float, noise: str, seed: int,
          progress: bool) -> dict[str, Any]:
    t1 = cfg.table1
    field = _field(sensing)
    b0 = t1.field_b0 if field == "scalar" else tuple(t1.field_b0_vector)
    prob = vqs_common.problem(n, noise, gamma, field, b0, cfg.precision)
    t0 = time.perf_counter()
    # the cell's product reference (the very call `_references` reports; cheap) warm-starts
    # the search, so the VQS probe is never below it (issue 12)
    product = vqs_common.best_product(n, noise, gamma, field, b0, t1.reference,
                                      _reference_seed(cfg, sensing, n, gamma, noise))
    res = vqs_common.solve(prob, cfg.search, seed, progress, product=product)
    out = {"wall_s": time.perf_counter() - t0, **vqs_common.genome_record(res),
           "product_start": {"qcrb": product.qcrb, "t": product.t}}
    for probe, value, t in (("VQS", res.value, res.t), ("GHZ", res.ghz_value, res.ghz_t)):
        qcrb = 1.0 / value if field == "scalar" else value
        out[probe] = {"qcrb": qcrb, "t_opt": t, "merit": value}
    out["t_at_bound"] = res.refine.t_at_bound
    return out


def markdown(rows: list[dict[str, Any]], gammas: list[float], noises: list[str]) -> str:
    """The seed's layout: rows (sensing, probe, N), columns gamma x noise; each cell
    'ours (paper, ratio ours/paper)'."""
    cols = [(g, nz) for g in gammas for nz in noises]
    head = "| Method | Probe | N | " + " | ".join(
        f"γ={g:g} {NOISE_LABEL[nz]}" for g, nz in cols) + " |"
    lines = [head, "|" + "---|" * (3 + len(cols))]
    index = {(r["sensing"], r["probe"], r["n_qubits"], r["gamma"], r["noise"]): r for r in rows}
    keys = sorted({(r["sensing"], r["probe"], r["n_qubits"]) for r in rows},
                  key=lambda k: (k[0] != "single", k[1] != "VQS", k[2]))
    for sensing, probe, n in keys:
        cells = []
        for g, nz in cols:
            r = index.get((sensing, probe, n, g, nz))
            if r is None:
                cells.append("")
                continue
            pv = r["paper_value"]
            paper = f" ({pv:.5f}, ×{r['qcrb'] / pv:.2f})" if pv not in (None, "") else ""
            cells.append(f"{r['qcrb']:.5f}{paper}")
        label = "single-parameter" if sensing == "single" else "multi-parameter"
        lines.append(f"| {label} | {probe} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _field(sensing: str) -> str:
    """The field of a Table 1 sensing kind: single -> scalar, multi -> vector."""
    return "scalar" if sensing == "single" else "vector"


def _reference_keys(cfg, sensing: str, n: int, gamma: float, noise: str) -> tuple[str, str | None]:
    """Checkpoint keys of a cell's references and of its CE bound (None: no bound, i.e.
    multi-parameter or ``table1.reference.bound=false``)."""
    t1 = cfg.table1
    field = _field(sensing)
    bound = field == "scalar" and t1.reference.bound
    return (f"ref|{field}|{n}|{gamma}|{noise}",
            f"bound|{n}|{gamma}|{noise}|{t1.field_b0}" if bound else None)


def _reference_seed(cfg, sensing: str, n: int, gamma: float, noise: str) -> int:
    """Per-cell seed of the reference optima (the product one also warm-starts the search)."""
    field = _field(sensing)
    return vqs_common.cell_seed(cfg.seed, "ref", field, n, gamma, noise)


def _references(cfg, ck: Checkpoint, sensing: str, n: int, gamma: float, noise: str) -> None:
    """Reference optima (product, pure started from the product optimum) and, for a single
    parameter, the CE bound of one cell, computed once and cached in the checkpoint."""
    t1 = cfg.table1
    field = _field(sensing)
    b0 = t1.field_b0 if field == "scalar" else tuple(t1.field_b0_vector)
    key, bkey = _reference_keys(cfg, sensing, n, gamma, noise)
    if key not in ck:
        # independent of the search: never seeded with the VQS probe, so a VQS cell above
        # the reference is reported (fraction > 1) instead of being absorbed
        t0 = time.perf_counter()
        rec = vqs_common.cell_references(n, noise, gamma, field, b0, t1.reference,
                                         _reference_seed(cfg, sensing, n, gamma, noise))
        rec["wall_s"] = time.perf_counter() - t0
        ck.put(key, rec)
    if bkey is not None and bkey not in ck:
        t0 = time.perf_counter()
        rec = vqs_common.cell_bound(n, noise, gamma, t1.field_b0, t1.reference)
        rec["wall_s"] = time.perf_counter() - t0
        ck.put(bkey, rec)


def _reference_columns(cfg, ck: Checkpoint, sensing: str, n: int, gamma: float, noise: str,
                       qcrb: float) -> dict[str, Any]:
    field = _field(sensing)
    rkey, bkey = _reference_keys(cfg, sensing, n, gamma, noise)
    r = ck.get(rkey)
    b = ck.get(bkey) if bkey is not None else None
    ref_qcrb = r["pure"]["qcrb"] if r["pure"] else float("nan")
    notes = [r["note"]] if r["note"] else []
    if field == "vector":
        notes.append(vqs_common.MULTI_BOUND_NOTE)
    elif b is None:
        notes.append("bound disabled (table1.reference.bound=false)")
    return {"product_qcrb": r["product"]["qcrb"], "product_t": r["product"]["t"],
            "reference_qcrb": ref_qcrb,
            "reference_t": r["pure"]["t"] if r["pure"] else float("nan"),
            "bound_qcrb": b["qcrb"] if b else float("nan"),
            "bound_t": b["t"] if b else float("nan"),
            "fraction": vqs_common.fraction(qcrb, r["pure"]["qcrb"] if r["pure"] else None),
            "reference_note": "; ".join(notes)}


def _not_monotone(rows: list[dict[str, Any]]) -> list[str]:
    """Cells where the VQS QCRB rises from N-1 to N although the reference's does not (issue
    12: cells must be monotone in N wherever the reference is); rel. tolerance 1e-6."""
    vqs = {(r["sensing"], r["gamma"], r["noise"], r["n_qubits"]): r for r in rows
           if r["probe"] == "VQS"}
    out = []
    for (s, g, nz, n), r in sorted(vqs.items()):
        prev = vqs.get((s, g, nz, n - 1))
        if prev is None:
            continue
        ref_mono = not (r["reference_qcrb"] > prev["reference_qcrb"] * (1 + 1e-6))
        if ref_mono and r["qcrb"] > prev["qcrb"] * (1 + 1e-6):
            out.append(f"{s} gamma={g:g} {nz}: N={n - 1} -> {n}")
    return out


def bound_below_reference(rows: list[dict[str, Any]]) -> bool:
    """Whether every VQS row's channel-extension bound is at most its pure reference's QCRB
    (rel. 1e-6): the bound holds for every probe, so a bound above the reference means one
    of the two is wrong. Rows where either is not finite (no bound for the vector field, a
    reference not computed) are skipped."""
    return all(r["bound_qcrb"] <= r["reference_qcrb"] * (1 + 1e-6) for r in rows
               if r["probe"] == "VQS" and np.isfinite(r["bound_qcrb"])
               and np.isfinite(r["reference_qcrb"]))


def references_markdown(rows: list[dict[str, Any]]) -> str:
    """VQS, GHZ, best product, best pure (reference) and CE bound side by side, as the figure
    of merit (QFI max_t F for single, min_t Tr F^-1 for multi), with fraction VQS/reference."""
    index = {(r["sensing"], r["probe"], r["n_qubits"], r["gamma"], r["noise"]): r for r in rows}
    lines = ["| Method | N | γ | noise | VQS | GHZ | product | reference | bound | fraction |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (sensing, probe, n, g, nz), r in sorted(index.items()):
        if probe != "VQS":
            continue
        ghz = index[(sensing, "GHZ", n, g, nz)]

        def fmt(q, single=sensing == "single"):
            if q is None or not np.isfinite(q):
                return "–"
            return f"{1 / q:.2f}" if single else f"{q:.4f}"

        lines.append(f"| {sensing} | {n} | {g:g} | {NOISE_LABEL[nz]} | {fmt(r['qcrb'])} | "
                     f"{fmt(ghz['qcrb'])} | {fmt(r['product_qcrb'])} | "
                     f"{fmt(r['reference_qcrb'])} | {fmt(r['bound_qcrb'])} | "
                     f"{r['fraction']:.3f} |")
    return ("single: max_t F (QFI, larger is better); multi: min_t Tr F^-1 (smaller is "
            "better); fraction = reference_qcrb / VQS qcrb (1 = VQS matches the reference)\n\n"
            + "\n".join(lines) + "\n")


def table_markdown(rows: list[dict[str, Any]], gammas: list[float], noises: list[str]) -> str:
    """``table1.md``: the seed's layout (`markdown`), then VQS against the reference optima and
    the upper bound (`references_markdown`); what one run writes and what
    ``experiments.aggregate`` rebuilds from the cells' rows."""
    return (markdown(rows, gammas, noises)
            + "\n## VQS against the reference optima and the upper bound\n\n"
            + references_markdown(rows))


def _meta(cfg) -> dict[str, Any]:
    """Checkpoint identity: every setting that changes a result (not the worker switch)."""
    t1 = dataclasses.replace(cfg.table1, reference_worker=True)
    return {"table1": repr(t1), "search": repr(cfg.search), "seed": cfg.seed,
            "precision": cfg.precision}


def _references_missing(cfg, ck: Checkpoint, cell) -> bool:
    return any(k is not None and k not in ck for k in _reference_keys(cfg, *cell))


#: seconds between the reference worker's checks that the run that started it is alive
ORPHAN_POLL_S = 0.5


def exit_when_orphaned(parent: int, poll_s: float = ORPHAN_POLL_S) -> threading.Thread:
    """Start a daemon thread that ends this process (``os._exit``) once its parent ``parent``
    is gone (this process re-parented: the run was killed, even by SIGKILL, before it could
    stop its worker). Without it, an orphaned reference worker kept computing, wrote the
    references checkpoint beside a resumed run's own worker, then waited forever holding its
    memory. A checkpoint is replaced atomically, so an exit mid-write loses only that cell."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        print(f"table1 reference worker {os.getpid()}: its run (pid {parent}) is gone; "
              "exiting", file=sys.stderr, flush=True)
        os._exit(1)

    thread = threading.Thread(target=watch, name="exit-when-orphaned", daemon=True)
    thread.start()
    return thread


def stop_pool(pool, timeout: float = 5.0) -> None:
    """Stop a pool now: terminate its processes (SIGTERM, then SIGKILL after ``timeout``)
    instead of waiting for the work they are doing (an interrupted run used to wait in
    ``shutdown(wait=True)`` for all of the remaining references). What the worker finished is
    in its checkpoint, for the resume."""
    end_processes(list((getattr(pool, "_processes", None) or {}).values()), timeout)
    pool.shutdown(wait=False, cancel_futures=True)


def references_worker(cfg, out_dir: str, cells: list[tuple], code: str,
                      parent: int | None = None) -> str:
    """Compute the reference optima and bounds of ``cells`` into their own checkpoint file
    (run in a second process while the search runs; see ``table1.reference_worker``).
    ``code``: the parent run's code digest, recorded in that checkpoint (the worker does not
    hash the sources itself: an edit while the run runs must not split one run in two).
    ``parent``: the run's pid; the worker exits once that process is gone
    (`exit_when_orphaned`)."""
    if parent is not None:
        exit_when_orphaned(parent)
    import jax

    from experiments.compiled import enable_compile_cache

    jax.config.update("jax_enable_x64", True)
    enable_compile_cache()
    path = Path(out_dir) / REFERENCES_CHECKPOINT
    rck = Checkpoint(path, _meta(cfg), code=code)
    scope = ShapeScope()
    for sensing, n, gamma, noise in tqdm(cells, desc="table1 references (worker)", position=1,
                                         disable=not cfg.progress):
        scope.enter((sensing, n))
        _references(cfg, rck, sensing, n, gamma, noise)
    return str(path)


REFERENCES_CHECKPOINT = "table1_references_checkpoint.json"


def run(cfg, out_dir: Path) -> dict[str, Any]:
    t1 = cfg.table1
    gammas = [float(g) for g in t1.gammas]
    noises = [nz for nz in NOISE_ORDER if nz in t1.noises]
    cells = list(itertools.product(t1.sensing, range(t1.n_min, t1.n_max + 1), gammas, noises))
    # a size that cannot fit is refused before any cell or the reference worker starts
    vqs_common.check_search_memory(
        "table1.n_max", t1.n_max, noises[0], gammas[0],
        [(_field(s), t1.field_b0 if _field(s) == "scalar" else tuple(t1.field_b0_vector))
         for s in t1.sensing], cfg.search, cfg.precision)
    ck = Checkpoint(out_dir / "table1_checkpoint.json", _meta(cfg))
    # references finished by a worker of an earlier, interrupted run (read whether or not
    # the file is there: the processes of a multi-host run read every checkpoint together)
    for k, v in Checkpoint(out_dir / REFERENCES_CHECKPOINT, _meta(cfg)).items():
        if k not in ck:
            ck.put(k, v)
    todo = [c for c in cells if _references_missing(cfg, ck, c)]
    pool = future = None
    use_worker = bool(t1.reference_worker and todo)  # the same on every process (ck agreed)
    if use_worker and process_index() == 0:
        # the references do not depend on the search: a second process computes them meanwhile
        # (spawned, from any launcher's job: experiments.subprocesses). One worker per run:
        # the other processes of a multi-host run take process 0's references below
        pool, future = spawn_pool_submit(references_worker, cfg, str(out_dir), todo,
                                         ck.code, os.getpid())
    try:
        bar = tqdm(cells, desc="table1", disable=not cfg.progress)
        scope = ShapeScope()
        for sensing, n, gamma, noise in bar:
            key = f"{sensing}|{n}|{gamma}|{noise}"
            bar.set_postfix(cell=key)
            if key in ck:
                continue
            seed = vqs_common.cell_seed(cfg.seed, sensing, n, gamma, noise)
            scope.enter(("search", sensing, n))  # cells grouped by shape: free the last one's
            ck.put(key, _cell(cfg, sensing, n, gamma, noise, seed, False))
        if use_worker:
            # process 0 waits for its worker (its error, if any, is raised on every process),
            # then every process reads the worker's checkpoint as process 0 does
            rck = Checkpoint(agree(lambda: future.result()), _meta(cfg))
            for k, v in rck.items():
                ck.put(k, v)
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM: experiments.run raises it like Ctrl-C) or failed: stop
        # the worker now rather than wait for its remaining references
        if pool is not None:
            stop_pool(pool)
        raise
    if pool is not None:
        pool.shutdown(wait=True)
    for sensing, n, gamma, noise in tqdm(cells, desc="table1 references",
                                         disable=not cfg.progress):
        if _references_missing(cfg, ck, (sensing, n, gamma, noise)):
            scope.enter(("references", sensing, n))
            _references(cfg, ck, sensing, n, gamma, noise)
    rows = []
    for sensing, n, gamma, noise in cells:
        c = ck.get(f"{sensing}|{n}|{gamma}|{noise}")
        for probe in ("VQS", "GHZ"):
            pv = paper_value(sensing, probe, n, gamma, noise)
            rows.append({
                "sensing": sensing, "probe": probe, "n_qubits": n, "gamma": gamma,
                "noise": noise, "qcrb": c[probe]["qcrb"], "t_opt": c[probe]["t_opt"],
                "paper_value": "" if pv is None else pv,
                "ratio_to_paper": "" if pv is None else c[probe]["qcrb"] / pv,
                "qfi" if sensing == "single" else "tr_inv_qfim": c[probe]["merit"],
                "circuit": c["circuit"] if probe == "VQS" else "(GHZ)",
                "n_gates": sum(1 for gt in c["gate"] if gt != 4) if probe == "VQS" else 0,
                "search_wall_s": c["wall_s"],
                **_reference_columns(cfg, ck, sensing, n, gamma, noise, c[probe]["qcrb"]),
            })
    table = write_csv(out_dir, "table1", rows)
    (out_dir / "table1.md").write_text(table_markdown(rows, gammas, noises))
    vqs = {(r["sensing"], r["n_qubits"], r["gamma"], r["noise"]): r["qcrb"]
           for r in rows if r["probe"] == "VQS"}
    ghz = {(r["sensing"], r["n_qubits"], r["gamma"], r["noise"]): r["qcrb"]
           for r in rows if r["probe"] == "GHZ"}
    ratios = [r["ratio_to_paper"] for r in rows if r["ratio_to_paper"] != ""]
    by_noise = {nz: sum(v for k, v in vqs.items() if k[3] == nz) / max(
        1, sum(1 for k in vqs if k[3] == nz)) for nz in noises}
    fracs = [(f"{r['sensing']} N={r['n_qubits']} gamma={r['gamma']:g} {r['noise']}",
              r["fraction"]) for r in rows if r["probe"] == "VQS"]
    warnings = vqs_common.fraction_warnings(fracs, t1.reference.min_fraction, log)
    below_product = [(r["sensing"], r["n_qubits"], r["gamma"], r["noise"]) for r in rows
                     if r["probe"] == "VQS" and r["qcrb"] > r["product_qcrb"] * (1 + 1e-6)]
    metrics = {
        "warnings": warnings,
        "vqs_ge_product_all": not below_product,
        "vqs_below_product": [f"{s} N={n} gamma={g:g} {nz}" for s, n, g, nz in below_product],
        "not_monotone_in_n": _not_monotone(rows),
        "min_fraction": vqs_common.lowest_fraction(fracs),
        "fraction_by_cell": dict(fracs),
        "bound_below_reference_all": bound_below_reference(rows),
        "reference_wall_s_total": sum(
            ck.get(k, {}).get("wall_s", 0.0) for k in
            {k for c in cells for k in _reference_keys(cfg, *c) if k is not None}),
        "n_cells": len(rows),
        "vqs_le_ghz_all": all(vqs[k] <= ghz[k] * (1 + 1e-9) for k in vqs),
        "min_vqs_gain": min(ghz[k] / vqs[k] for k in vqs),
        "max_vqs_gain": max(ghz[k] / vqs[k] for k in vqs),
        "mean_vqs_qcrb_by_noise": by_noise,
        "ratio_to_paper_min": min(ratios) if ratios else None,
        "ratio_to_paper_max": max(ratios) if ratios else None,
        "search_wall_s_total": sum(ck.get(k)["wall_s"] for k in
                                   (f"{s}|{n}|{g}|{nz}" for s, n, g, nz in cells)),
    }
    print_summary(metrics, cells, out_dir)
    return {"metrics": metrics, "tables": {"table1": table, "table1_md": "table1.md"},
            "figures": []}


def print_summary(metrics: dict[str, Any], cells: list[tuple], out_dir: Path,
                  stream=None) -> None:
    """A few lines at the end of a run: what was computed, the key metrics, the files."""
    def values(i):
        return ", ".join(str(v) for v in dict.fromkeys(
            f"{c[i]:g}" if isinstance(c[i], float) else str(c[i]) for c in cells))

    def num(v, fmt=".3f"):
        return "-" if v is None else format(v, fmt)

    ns = sorted({c[1] for c in cells})
    lines = [
        f"table1: {len(cells)} cells (sensing {values(0)}; "
        f"N {ns[0]}{f'..{ns[-1]}' if len(ns) > 1 else ''}; "
        f"gamma {values(2)}; noise {values(3)}), VQS and GHZ in each",
        f"  VQS <= GHZ in every cell: {metrics['vqs_le_ghz_all']} (QCRB gain GHZ/VQS "
        f"{metrics['min_vqs_gain']:.3f}..{metrics['max_vqs_gain']:.3f}); VQS at least the "
        f"product start: {metrics['vqs_ge_product_all']}",
        f"  fraction of the reference optimum: min {num(metrics['min_fraction'])}; "
        f"warnings: {len(metrics['warnings'])}; not monotone in N: "
        f"{len(metrics['not_monotone_in_n'])}; bound below the reference: "
        f"{metrics['bound_below_reference_all']}",
        f"  ratio to the seed's values: {num(metrics['ratio_to_paper_min'], '.2f')}.."
        f"{num(metrics['ratio_to_paper_max'], '.2f')}; search "
        f"{metrics['search_wall_s_total']:.1f} s, references "
        f"{metrics['reference_wall_s_total']:.1f} s",
        f"  files: {out_dir / 'table1.csv'}, table1.md",
    ]
    print("\n".join(lines), file=stream or sys.stdout)
