"""Quickstart: QFI versus sensing time for GHZ probes, N = n_min..n_max, each noise.

Scalar field at B0 (DESIGN section 3). For each (noise, N): the QFI on a t grid (one jitted,
vmapped call of THE objective, `qsense.score`, on the empty circuit; the problem is a pytree
whose noise is a 4x4 dissipator array, so each N compiles once for the Z-covariant noises and
once for bit flip), then the optimal time refined by zooming same-shape grids around the
maximum.
Checks printed beside the numbers: dephasing has the closed form
``F = N^2 t^2 exp(-2 N gamma t)``, peak at ``t* = 1/(N gamma)`` with ``F* = 1/(e gamma)^2``
for every N.
"""

from __future__ import annotations

import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

import qsense
from experiments import plots
from experiments.checkpoint import Checkpoint
from experiments.outputs import write_csv
from experiments.schema import Config


@jax.jit
def ghz_qfi_curve(problem: qsense.Problem, ts: jax.Array) -> jax.Array:
    """QFI of the GHZ probe (empty circuit) at each time of ``ts``: `qsense.score`, vmapped
    over t; jitted once per (problem structure, grid shape)."""
    return jax.vmap(lambda t: qsense.score(problem, qsense.empty_genome(1, ts.dtype), t))(ts)


def peak(curves, grid: np.ndarray, values: np.ndarray, zooms: int = 3) -> tuple[float, float,
                                                                                bool]:
    """Refine the grid maximum by zooming: each round re-samples ``[t_{k-1}, t_{k+1}]`` with
    as many points as the grid (same shape: no recompile). ``interior`` is False when the
    maximum sits on the grid's upper end (no interior optimum up to t_max)."""
    k = int(np.nanargmax(values))
    if k == len(grid) - 1:
        return float(grid[k]), float(values[k]), False
    t_best, f_best = float(grid[k]), float(values[k])
    lo, hi = grid[max(k - 1, 0)], grid[k + 1]
    for _ in range(zooms):
        sub = np.linspace(lo, hi, len(grid))
        vals = np.asarray(curves(jnp.asarray(sub)), float)
        j = int(np.nanargmax(vals))
        if vals[j] >= f_best:
            t_best, f_best = float(sub[j]), float(vals[j])
        lo, hi = sub[max(j - 1, 0)], sub[min(j + 1, len(sub) - 1)]
    return t_best, f_best, True


def run(cfg: Config, out_dir: Path) -> dict:
    qc = cfg.quickstart
    dtype = jnp.complex128 if cfg.precision == "float64" else jnp.complex64
    grid = np.linspace(qc.t_max / qc.n_t, qc.t_max, qc.n_t)
    ckpt = Checkpoint(out_dir / "checkpoint.json",
                      meta={"task": "quickstart", "quickstart": vars(qc), "prec": cfg.precision})
    cells = [(noise, n) for noise in qc.noises for n in range(qc.n_min, qc.n_max + 1)]
    real = jnp.finfo(dtype).dtype
    for noise, n in tqdm(cells, desc="quickstart (noise, N)", disable=not cfg.progress):
        key = f"{noise}/{n}"
        if key in ckpt:
            continue
        problem = qsense.Problem(n, noise, qc.gamma, "scalar", qc.field_b0, dtype=dtype)

        def curves(ts, problem=problem):
            return ghz_qfi_curve(problem, jnp.asarray(ts, real))

        values = np.asarray(curves(jnp.asarray(grid)), float)
        if not np.all(np.isfinite(values)):
            raise FloatingPointError(f"non-finite QFI for noise={noise}, N={n}")
        t_opt, f_opt, interior = peak(curves, grid, values)
        ckpt.put(key, {"qfi": values.tolist(), "t_opt": t_opt, "qfi_peak": f_opt,
                       "interior": interior})

    curve_rows, peak_rows = [], []
    for noise, n in cells:
        cell = ckpt.get(f"{noise}/{n}")
        curve_rows += [{"noise": noise, "n_qubits": n, "t": float(t), "qfi": q}
                       for t, q in zip(grid, cell["qfi"], strict=True)]
        row = {"noise": noise, "n_qubits": n, "t_opt": cell["t_opt"],
               "qfi_peak": cell["qfi_peak"], "interior_optimum": cell["interior"]}
        if noise == "dephasing" and qc.gamma > 0:
            row["t_opt_closed_form"] = 1 / (n * qc.gamma)
            row["qfi_peak_closed_form"] = 1 / (math.e * qc.gamma) ** 2
        peak_rows.append(row)
    tables = {"quickstart": write_csv(out_dir, "quickstart", curve_rows),
              "quickstart_peaks": write_csv(out_dir, "quickstart_peaks", peak_rows)}
    figures = _plot(out_dir, qc, grid, ckpt, cells)
    metrics = {f"{r['noise']}/N={r['n_qubits']}": {"t_opt": r["t_opt"],
                                                     "qfi_peak": r["qfi_peak"]}
               for r in peak_rows}
    _print_summary(peak_rows)
    return {"metrics": metrics, "tables": tables, "figures": figures}


def _plot(out_dir: Path, qc, grid, ckpt: Checkpoint, cells) -> list[str]:
    noises = list(dict.fromkeys(noise for noise, _ in cells))
    fig, axes = plots.subplots(len(noises))
    for ax, noise in zip(axes[0], noises, strict=True):
        for n in range(qc.n_min, qc.n_max + 1):
            cell = ckpt.get(f"{noise}/{n}")
            line, = ax.plot(grid, cell["qfi"], label=f"N={n}")
            ax.plot(cell["t_opt"], cell["qfi_peak"], "o", color=line.get_color(), ms=4)
        ax.set(title=f"GHZ, {plots.NOISE_LABELS[noise]}, $\\gamma$={qc.gamma}",
               xlabel="sensing time t", ylabel="QFI  $F_Q$")
        ax.legend(fontsize=8)
    curves = plots.save(fig, out_dir, "quickstart_qfi_vs_t")

    fig, axes = plots.subplots(2)
    ns = np.arange(qc.n_min, qc.n_max + 1)
    for noise in noises:
        cs = [ckpt.get(f"{noise}/{n}") for n in ns]
        axes[0, 0].plot(ns, [c["qfi_peak"] for c in cs], "o-", label=plots.NOISE_LABELS[noise])
        axes[0, 1].plot(ns, [c["t_opt"] for c in cs], "o-", label=plots.NOISE_LABELS[noise])
    axes[0, 0].set(xlabel="N", ylabel="peak QFI", title="peak QFI vs N (GHZ)")
    axes[0, 1].set(xlabel="N", ylabel="optimal t", title="optimal sensing time vs N")
    axes[0, 0].legend(fontsize=8)
    peaks = plots.save(fig, out_dir, "quickstart_peaks")
    return [curves, peaks]


def _print_summary(rows: list[dict]) -> None:
    print(f"{'noise':>18} {'N':>2} {'t_opt':>9} {'peak QFI':>10}  interior")
    for r in rows:
        print(f"{r['noise']:>18} {r['n_qubits']:>2} {r['t_opt']:9.4f} {r['qfi_peak']:10.4f}  "
              f"{r['interior_optimum']}")
