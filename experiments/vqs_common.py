"""Shared pieces of the VQS experiments (table1, fig2, fig3): one cell = GA structure search
+ angle/time refinement for one (N, noise, gamma, field), GHZ on the same optimizer."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from experiments.compiled import ShapeScope
from qsense.genetic import GAConfig, ProbeResult, RefineConfig, find_optimal_probe
from qsense.genome import describe
from qsense.optimize import Problem

log = logging.getLogger("experiments")


def ga_config(search: Any) -> GAConfig:
    """`qsense.genetic.GAConfig` from the ``search`` section (`experiments.schema.SearchConfig`,
    validated by the library)."""
    return search.build()


def refine_config(search: Any) -> RefineConfig:
    """`qsense.genetic.RefineConfig` from ``search.refine``."""
    return search.refine.build()


def problem(n: int, noise: str, gamma: float, field: str, b0: Any, precision: str) -> Problem:
    import jax.numpy as jnp

    dtype = jnp.complex64 if precision == "float32" else None  # None: complex128 under x64
    return Problem(n, noise, gamma, field, b0=b0, dtype=dtype)


def check_search_memory(key: str, n: int, noise: str, gamma: float,
                        fields_b0: list[tuple[str, Any]], search: Any, precision: str) -> None:
    """Refuse up front, as a ConfigError naming ``key`` (the N that sets the size, e.g.
    ``table1.n_max``), a search at ``n`` qubits whose fitness working set would not fit in
    memory (`qsense.genetic.check_memory`, the check each search makes when it starts): before
    any cell or worker runs, not after the smaller cells."""
    from experiments.schema import require
    from qsense.genetic import check_memory

    for field, b0 in fields_b0:
        try:
            check_memory(problem(n, noise, gamma, field, b0, precision), ga_config(search))
        except ValueError as err:
            require(False, key, n, f"an N whose VQS search fits in memory ({field} field: "
                                   f"{str(err).split('accepted: ', 1)[-1]})")


def solve(prob: Problem, search: Any, seed: int, progress: bool,
          product: Any = None) -> ProbeResult:
    """One cell's search + refinement, its population sharded over every device; the
    devices go to ``results.json`` ``devices``. ``product``: the cell's best product probe
    (`best_product`, a `qsense.reference.ReferenceResult`), refined as one more start, as a
    circuit (`qsense.genetic.product_genome`) at its time, so the VQS probe is never below
    it (issue 12); skipped with a warning when its 3N - 1 genes exceed ``search.max_genes``."""
    from experiments.outputs import record_devices
    from qsense.genetic import product_genome

    ga = ga_config(search)
    warm = []
    if product is not None:
        need = 3 * prob.n_qubits - 1
        if need <= ga.max_genes:
            warm = [(product_genome(product.local_states, ga.max_genes), product.t)]
        else:
            log.warning("N=%d: no product warm start (its circuit needs %d genes > "
                        "search.max_genes = %d); the VQS probe may fall below the product "
                        "probe", prob.n_qubits, need, ga.max_genes)
    res = find_optimal_probe(prob, ga, refine_config(search), seed=seed, progress=progress,
                             warm_starts=warm)
    record_devices(res.search.devices)
    return res


def genome_record(res: ProbeResult) -> dict[str, Any]:
    """JSON-able record of the optimal probe (for checkpoints and figures)."""
    g = res.genome
    return {"gate": np.asarray(g.gate).tolist(), "control": np.asarray(g.control).tolist(),
            "target": np.asarray(g.target).tolist(), "angle": np.asarray(g.angle).tolist(),
            "circuit": "; ".join(describe(g)) or "(empty: GHZ)"}


def cell_seed(seed: int, *parts: Any) -> int:
    """A stable per-cell seed derived from the run seed and the cell's coordinates."""
    import zlib

    return (seed * 1_000_003 + zlib.crc32(repr(parts).encode())) % (2**31 - 1)


def run_figure(cfg: Any, section: Any, field: str, name: str, out_dir) -> dict[str, Any]:
    """Figs 2 (scalar) and 3 (vector): per N, the optimal VQS and the GHZ probes; curves of
    the merit versus t; peak/optimal t versus N; best circuit (text + PNG); Wigner plot."""
    from pathlib import Path

    import jax.numpy as jnp
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tqdm.auto import tqdm

    from experiments.checkpoint import Checkpoint
    from experiments.outputs import write_csv
    from qsense.draw import draw_png, draw_text
    from qsense.genome import empty_genome, make_genome
    from qsense.optimize import probe as probe_state
    from qsense.optimize import scan_t
    from qsense.wigner import plot_wigner, wigner

    out_dir = Path(out_dir)
    b0 = section.field_b0 if field == "scalar" else tuple(section.field_b0_vector)
    ns = list(range(section.n_min, section.n_max + 1))
    check_search_memory(f"{name}.n_max", section.n_max, section.noise, section.gamma,
                        [(field, b0)], cfg.search, cfg.precision)
    ck = Checkpoint(out_dir / f"{name}_checkpoint.json",
                    {name: repr(section), "search": repr(cfg.search), "seed": cfg.seed,
                     "precision": cfg.precision})
    ts = np.geomspace(section.t_min_gamma / section.gamma, section.t_max_gamma / section.gamma,
                      section.n_t)
    curve_rows, peak_rows = [], []
    scope = ShapeScope()
    for n in tqdm(ns, desc=name, disable=not cfg.progress):
        scope.enter(n)  # free the previous N's programs (experiments.compiled)
        prob = problem(n, section.noise, section.gamma, field, b0, cfg.precision)
        key = str(n)
        rseed = cell_seed(cfg.seed, name, "ref", n)
        prod = None
        if key not in ck:  # the product reference warm-starts the search (and is reported)
            prod = best_product(n, section.noise, section.gamma, field, b0, section.reference,
                                rseed)
            res = solve(prob, cfg.search, cell_seed(cfg.seed, name, n), False, product=prod)
            ck.put(key, {**genome_record(res), "vqs": [res.value, res.t],
                         "ghz": [res.ghz_value, res.ghz_t]})
        c = ck.get(key)
        vqs_g = make_genome(c["gate"], c["control"], c["target"], c["angle"])
        ghz_g = empty_genome(1)
        for probe_name, g, (value, t_opt) in (("VQS", vqs_g, c["vqs"]),
                                              ("GHZ", ghz_g, c["ghz"])):
            curve = scan_t(prob, g, ts)[0]
            for t, v in zip(ts, curve, strict=True):
                row = {"probe": probe_name, "n_qubits": n, "t": float(t)}
                if field == "scalar":
                    row["qfi"] = float(v)
                else:
                    row["qfi"] = 3.0 / float(v) if np.isfinite(v) and v > 0 else 0.0
                    row["qcrb"] = float(v)
                curve_rows.append(row)
            best = int(np.argmax(curve) if field == "scalar" else np.argmin(curve))
            peak_rows.append({"probe": probe_name, "n_qubits": n,
                              "peak" if field == "scalar" else "min_qcrb": value,
                              "t_opt": t_opt, "t_opt_grid": float(ts[best]),
                              "interior_peak": 0 < best < len(ts) - 1,
                              "circuit": c["circuit"] if probe_name == "VQS" else "(GHZ)"})
        # reference optima (product, pure; independent of the search: not seeded with the VQS
        # probe) and the CE bound (fig2)
        rkey = f"ref|{n}"
        if rkey not in ck:
            ck.put(rkey, cell_references(n, section.noise, section.gamma, field, b0,
                                         section.reference, rseed, product=prod))
        bkey = f"bound|{n}"
        if field == "scalar" and section.reference.bound and bkey not in ck:
            ck.put(bkey, cell_bound(n, section.noise, section.gamma, b0, section.reference))
        r, bd = ck.get(rkey), ck.get(bkey)
        ref_q = r["pure"]["qcrb"] if r["pure"] else float("nan")
        mkey = "peak" if field == "scalar" else "min_qcrb"
        for row in peak_rows[-2:]:
            vq = 1 / row[mkey] if field == "scalar" else row[mkey]
            row.update({"product_qcrb": r["product"]["qcrb"], "reference_qcrb": ref_q,
                        "reference_t": r["pure"]["t"] if r["pure"] else float("nan"),
                        "bound_qcrb": bd["qcrb"] if bd else float("nan"),
                        "fraction": fraction(vq, r["pure"]["qcrb"] if r["pure"] else None),
                        "reference_note": r["note"] or ("" if field == "scalar"
                                                        else MULTI_BOUND_NOTE)})
    table = write_csv(out_dir, name, curve_rows)
    peaks = write_csv(out_dir, f"{name}_peaks", peak_rows)
    merit_label = "QFI F(t)" if field == "scalar" else "QCRB Tr F(t)^-1"
    # ---- figure: peak vs N | curves at n_max | t_opt vs N
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for probe_name, style in (("VQS", "o-"), ("GHZ", "s--")):
        pr = [r for r in peak_rows if r["probe"] == probe_name]
        key = "peak" if field == "scalar" else "min_qcrb"
        axes[0].plot([r["n_qubits"] for r in pr], [r[key] for r in pr], style, label=probe_name)
        if probe_name == "VQS":  # the references and bound, on the same scale
            for col, st, lab in (("product_qcrb", "^:", "best product"),
                                 ("reference_qcrb", "d-.", "best pure (reference)"),
                                 ("bound_qcrb", "v--", "CE bound")):
                ys = [(1 / r[col] if field == "scalar" else r[col]) for r in pr]
                if np.all(np.isfinite(ys)):
                    axes[0].plot([r["n_qubits"] for r in pr], ys, st, label=lab, alpha=0.8)
        axes[2].plot([r["n_qubits"] for r in pr], [r["t_opt"] for r in pr], style,
                     label=probe_name)
        cr = [r for r in curve_rows if r["probe"] == probe_name and r["n_qubits"] == ns[-1]]
        axes[1].plot([r["t"] for r in cr], [r["qfi" if field == "scalar" else "qcrb"]
                                             for r in cr], style[1:], label=probe_name)
    axes[0].set(xlabel="N", ylabel=("max_t F" if field == "scalar" else "min_t Tr F^-1"),
                title="optimum versus N")
    axes[1].set(xscale="log", xlabel="sensing time t", ylabel=merit_label,
                title=f"N = {ns[-1]}")
    if field == "vector":
        axes[1].set_yscale("log")
    axes[2].set(xlabel="N", ylabel="optimal t", title="optimal sensing time")
    for ax in axes:
        ax.legend()
    fig.suptitle(f"{name}: {field} field, {section.noise}, γ = {section.gamma:g}")
    fig.tight_layout()
    fig.savefig(out_dir / f"{name}.png", dpi=120)
    plt.close(fig)
    # ---- best circuit and Wigner function at n_max
    c = ck.get(str(ns[-1]))
    g = make_genome(c["gate"], c["control"], c["target"], c["angle"])
    text = draw_text(g, ns[-1])
    (out_dir / f"{name}_circuit.txt").write_text(text + "\n")
    draw_png(g, ns[-1], out_dir / f"{name}_circuit.png",
             title=f"optimal VQS PQC, N = {ns[-1]} ({field} field, {section.noise})")
    prob = problem(ns[-1], section.noise, section.gamma, field, b0, "float64")
    psi = np.asarray(probe_state(prob, jax_genome(g, jnp)))
    wg = wigner(psi, section.wigner_n_theta, section.wigner_n_phi)
    plot_wigner(wg, out_dir / f"{name}_wigner.png",
                title=f"optimal VQS probe, N = {ns[-1]} (Dicke projection)")
    vq = {r["n_qubits"]: r for r in peak_rows if r["probe"] == "VQS"}
    gz = {r["n_qubits"]: r for r in peak_rows if r["probe"] == "GHZ"}
    fracs = [(f"{name} N={n}", vq[n]["fraction"]) for n in ns]
    warns = fraction_warnings(fracs, section.reference.min_fraction,
                              log)
    for n in ns:
        log.info("%s N=%d: VQS %s, product %s, reference %s, bound %s (qcrb); fraction %.4f",
                 name, n, 1 / vq[n]["peak"] if field == "scalar" else vq[n]["min_qcrb"],
                 vq[n]["product_qcrb"], vq[n]["reference_qcrb"], vq[n]["bound_qcrb"],
                 vq[n]["fraction"])
    metrics = {
        "warnings": warns,
        "min_fraction": lowest_fraction(fracs),
        "fraction_by_n": {str(n): vq[n]["fraction"] for n in ns},
        "product_qcrb_by_n": {str(n): vq[n]["product_qcrb"] for n in ns},
        "reference_qcrb_by_n": {str(n): vq[n]["reference_qcrb"] for n in ns},
        "bound_qcrb_by_n": {str(n): vq[n]["bound_qcrb"] for n in ns},
        **peak_checks(vq, gz, ns, field),
        "wigner_negativity": wg.negativity,
        "wigner_min": wg.minimum,
        "wigner_symmetric_weight": wg.symmetric_weight,
        "best_circuit": c["circuit"],
    }
    return {"metrics": metrics,
            "tables": {name: table, f"{name}_peaks": peaks},
            "figures": [f"{name}.png", f"{name}_circuit.png", f"{name}_wigner.png"]}


def peak_checks(vq: dict, gz: dict, ns: list[int], field: str) -> dict:
    """The figure's self-checks from its peak rows (``vq``/``gz``: VQS/GHZ row per N, with
    ``peak`` (max_t F, scalar field) or ``min_qcrb`` (min_t Tr F^-1, vector field),
    ``t_opt`` and ``interior_peak``): VQS at least as good as GHZ at every N (1e-9
    relative), both optima inside the time grid at the largest N, and the VQS optimal time
    non-increasing in N (1e-6 relative); with the per-N values they are read from."""
    key = "peak" if field == "scalar" else "min_qcrb"
    better = [(vq[n][key] >= gz[n][key] * (1 - 1e-9)) if field == "scalar"
              else (vq[n][key] <= gz[n][key] * (1 + 1e-9)) for n in ns]
    t_vqs = [vq[n]["t_opt"] for n in ns]
    return {
        "vqs_beats_or_equals_ghz_all_n": all(better),
        "interior_peak_n_max": bool(vq[ns[-1]]["interior_peak"] and gz[ns[-1]]["interior_peak"]),
        "t_opt_vqs_by_n": dict(zip(map(str, ns), t_vqs, strict=True)),
        "t_opt_falls_with_n": all(b <= a * (1 + 1e-6)
                                  for a, b in zip(t_vqs[:-1], t_vqs[1:], strict=True)),
        f"{key}_vqs_by_n": {str(n): vq[n][key] for n in ns},
        f"{key}_ghz_by_n": {str(n): gz[n][key] for n in ns},
    }


def jax_genome(g, jnp):
    """A genome with float64 angles (for the Wigner/probe evaluation at full precision)."""
    import dataclasses

    return dataclasses.replace(g, angle=jnp.asarray(g.angle, jnp.float64))


# ----------------------------------------------------------------- reference optima and bound

def reference_config(ref: Any, seed: int):
    """`qsense.reference.ReferenceConfig` from a ``*.reference`` section (every field but the
    per-cell ``seed``, which is given here)."""
    return ref.build(seed=seed % (2**31 - 1))


def best_product(n: int, noise: str, gamma: float, field: str, b0: Any, ref: Any, seed: int):
    """The cell's best product probe (`qsense.reference.best_product_probe` with the
    ``*.reference`` settings and the per-cell ``seed``): what `cell_references` reports and
    what `solve` warm-starts the search with (the same call, so the same numbers)."""
    from qsense.reference import best_product_probe

    return best_product_probe(n, noise, gamma, field, b0, reference_config(ref, seed))


def cell_references(n: int, noise: str, gamma: float, field: str, b0: Any, ref: Any, seed: int,
                    product: Any = None) -> dict[str, Any]:
    """Best product probe, best pure probe (N <= ``ref.n_max_pure``; the pure search also starts
    from the product optimum, never from the VQS probe: a reference independent of the search
    reports a VQS cell above it instead of absorbing it) of one cell, as a JSON-able record:
    ``{"product": {value, qcrb, t}, "pure": {...} | None, "note"}``.
    ``product``: `best_product` of these arguments when already computed (not recomputed)."""
    from qsense.reference import best_pure_probe

    cfg = reference_config(ref, seed)
    prod = product if product is not None else best_product(n, noise, gamma, field, b0, ref,
                                                            seed)
    out: dict[str, Any] = {"product": {"value": prod.value, "qcrb": prod.qcrb, "t": prod.t,
                                       "t_at_bound": prod.t_at_bound}, "pure": None, "note": ""}
    if n > ref.n_max_pure:
        out["note"] = f"no pure reference: N = {n} > reference.n_max_pure = {ref.n_max_pure}"
        return out
    pure = best_pure_probe(n, noise, gamma, field, b0, cfg, initial=prod.state[None],
                           initial_t=np.asarray([prod.t]))
    out["pure"] = {"value": pure.value, "qcrb": pure.qcrb, "t": pure.t,
                   "t_at_bound": pure.t_at_bound,
                   "restart_values": pure.restart_values.tolist(),
                   "state": [pure.state.real.tolist(), pure.state.imag.tolist()]}
    return out


def cell_bound(n: int, noise: str, gamma: float, b0: float, ref: Any) -> dict[str, Any]:
    """Channel-extension bound on max_t F for N uses (single parameter), JSON-able."""
    from qsense.bounds import max_bound_over_t

    b = max_bound_over_t(n, noise, gamma, float(b0), n_grid=ref.bound_grid)
    return {"value": b.value, "qcrb": b.qcrb, "t": b.t, "t_at_bound": b.t_at_bound}


MULTI_BOUND_NOTE = ("CE bound is single-parameter (scalar field) only; the multi-parameter "
                    "(vector) version is not implemented")


def fraction(vqs_qcrb: float, reference_qcrb: float | None) -> float:
    """VQS value / reference value on the QFI scale (single) or reference Tr F^-1 / VQS Tr F^-1
    (multi): both are reference_qcrb / vqs_qcrb; 1 = the VQS probe matches the reference."""
    if reference_qcrb is None or not np.isfinite(reference_qcrb) or not vqs_qcrb > 0:
        return float("nan")
    return float(reference_qcrb / vqs_qcrb)


#: relative excess of a VQS value over the (independent) pure reference beyond numerical noise
REFERENCE_EXCESS_TOL = 1e-4


def lowest_fraction(cells: list[tuple[str, float]]) -> float | None:
    """The lowest finite fraction of (label, fraction) pairs (``metrics.min_fraction``); None
    when no cell has one (no reference anywhere)."""
    finite = [f for _, f in cells if np.isfinite(f)]
    return min(finite) if finite else None


def fraction_warnings(cells: list[tuple[str, float]], min_fraction: float,
                      logger=None) -> list[str]:
    """Warnings (logged when ``logger`` is given) for every (label, fraction) below
    ``min_fraction``."""
    out = []
    for label, f in cells:
        if np.isfinite(f) and f < min_fraction:
            msg = (f"VQS probe at {label} reaches only {100 * f:.1f} % of the reference optimum "
                   f"(threshold {100 * min_fraction:.0f} %)")
        elif np.isfinite(f) and f > 1 + REFERENCE_EXCESS_TOL:
            msg = (f"VQS probe at {label} beats the reference optimum by "
                   f"{100 * (f - 1):.3g} %: the direct state optimization missed the optimum "
                   "there (raise reference.restarts/steps)")
        else:
            continue
        out.append(msg)
        if logger is not None:
            logger.warning(msg)
    return out
