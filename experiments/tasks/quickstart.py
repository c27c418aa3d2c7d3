"""Quickstart: QFI versus sensing time for GHZ probes, N = n_min..n_max, each noise.

Scalar field at B0 (DESIGN section 3). For each (noise, N): the QFI on a t grid (a jitted,
vmapped call of THE objective, `qsense.score`, on the empty circuit; the problem is a pytree
whose noise is a 4x4 dissipator array, so each N compiles once for the Z-covariant noises and
once for bit flip), then the optimal time refined by zooming same-shape grids around the
maximum. Memory stays bounded: when XLA's plan for the whole grid (`program_bytes`) exceeds
the device's memory (`qsense.distributed.device_memory_limit`), the times go in fixed-size
chunks (one compiled shape); an N where not even one time fits is refused before any cell
(``quickstart.n_max``). Measured on 2 cores (float64, dephasing): one time point costs
about 0.008 s at N = 8, 0.39 s at N = 10, 1.9 s at N = 11 and 35-50 s at N = 12, and each
(noise, N) evaluates 4 x n_t of them (the grid, then three zooms).
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
from experiments.schema import Config, require
from qsense.distributed import device_memory_limit
from qsense.optimize import program_bytes, rows_that_fit

#: bytes of one time point's evaluation, per complex (2^N x 2^N) entry, as XLA plans it (its
#: memory_analysis per time: 4.6 at N = 8, 4.5 at N = 10, 5.0 at N = 12), with a margin: the
#: up-front check of quickstart.n_max
BYTES_PER_TIME_ENTRIES = 6


@jax.jit
def _qfi_at(problem: qsense.Problem, ts: jax.Array) -> jax.Array:
    """QFI of the GHZ probe (empty circuit) at each time of ``ts``: `qsense.score`, vmapped
    over t; jitted once per (problem structure, grid shape)."""
    return jax.vmap(lambda t: qsense.score(problem, qsense.empty_genome(1, ts.dtype), t))(ts)


def time_chunk(problem: qsense.Problem, ts: jax.Array, limit_bytes: float | None = None) -> int:
    """How many times of ``ts`` one call evaluates: all of them when XLA's plan for the whole
    grid fits in ``limit_bytes`` (default: the default device's limit), else as many as fit
    in half of it (a ValueError naming N when not even one does). The plan's compile is the
    call's."""
    n_t = int(ts.shape[0])
    limit = device_memory_limit(jax.devices()[:1]) if limit_bytes is None else limit_bytes
    need = program_bytes(_qfi_at, problem, ts)
    if need is None or need <= limit:
        return n_t
    # chunks sized to half the limit: the process holds more than XLA's plan (measured at
    # N = 10: chunks planned at the whole 12.6 GB limit peaked at 17 GB resident)
    return min(n_t, rows_that_fit(problem, need / n_t, limit / 2, "QFI-versus-t curve"))


def ghz_qfi_curve(problem: qsense.Problem, ts: jax.Array, chunk: int | None = None,
                  on_chunk=None) -> np.ndarray:
    """QFI of the GHZ probe at each time of ``ts``, ``chunk`` times per call (default
    `time_chunk`), the last chunk padded to the same shape (one compile). ``on_chunk(start,
    values)``, when given, is called after each chunked call with the values of
    ``ts[start:start + len(values)]`` (progress and a mid-cell checkpoint); then every call
    has ``chunk`` times, however few ``ts`` holds."""
    ts = jnp.asarray(ts)
    n_t = int(ts.shape[0])
    chunk = time_chunk(problem, ts) if chunk is None else int(chunk)
    if chunk >= n_t and on_chunk is None:
        return np.asarray(_qfi_at(problem, ts))
    parts = []
    for start in range(0, n_t, chunk):
        part = ts[start:start + chunk]
        k = int(part.shape[0])
        if k < chunk:
            part = jnp.concatenate([part, jnp.full(chunk - k, part[-1], part.dtype)])
        parts.append(np.asarray(_qfi_at(problem, part))[:k])
        if on_chunk is not None:
            on_chunk(start, parts[-1])
    return np.concatenate(parts)


def check_memory(n_max: int, dtype, limit_bytes: float | None = None) -> None:
    """Refuse (ConfigError naming ``quickstart.n_max``) an N whose single time point does not
    fit in the default device's memory, before any cell runs."""
    limit = device_memory_limit(jax.devices()[:1]) if limit_bytes is None else limit_bytes
    need = BYTES_PER_TIME_ENTRIES * 4 ** n_max * np.dtype(dtype).itemsize
    require(need <= limit, "quickstart.n_max", n_max,
            f"an N whose one time point fits in memory: N = {n_max} needs about "
            f"{need / 1e9:.3g} GB > limit {limit / 1e9:.3g} GB (default device)")


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


def _chunked_curves(problem: qsense.Problem, chunk: int, real, ckpt: Checkpoint, key: str,
                    label: str, progress: bool):
    """``(ts -> QFI, progress bar)`` for a cell whose times go in chunks: times already
    computed (this cell's earlier curves, or a cut-off run's, from ``ckpt[key]``) are not
    computed again, each chunk's new times are checkpointed under ``key``, and the bar counts
    the times."""
    saved = ckpt.get(key)
    done: dict[float, float] = dict(zip(*saved, strict=True)) if saved else {}
    bar = tqdm(desc=f"  {label}: QFI at t", unit="t", total=0, leave=False,
               disable=not progress)

    def curves(ts):
        ts = [float(t) for t in np.asarray(ts, float)]
        todo = [t for t in dict.fromkeys(ts) if t not in done]
        if todo:
            bar.total += len(todo)
            bar.refresh()

            def on_chunk(start, values):
                done.update(zip(todo[start:start + len(values)], map(float, values),
                                strict=True))
                ckpt.put(key, [list(done), list(done.values())])
                bar.update(len(values))

            ghz_qfi_curve(problem, jnp.asarray(todo, real), chunk, on_chunk)
        return np.array([done[t] for t in ts])

    return curves, bar


def run(cfg: Config, out_dir: Path) -> dict:
    qc = cfg.quickstart
    dtype = jnp.complex128 if cfg.precision == "float64" else jnp.complex64
    grid = np.linspace(qc.t_max / qc.n_t, qc.t_max, qc.n_t)
    ckpt = Checkpoint(out_dir / "checkpoint.json",
                      meta={"task": "quickstart", "quickstart": vars(qc), "prec": cfg.precision})
    cells = [(noise, n) for noise in qc.noises for n in range(qc.n_min, qc.n_max + 1)]
    real = jnp.finfo(dtype).dtype
    check_memory(qc.n_max, dtype)
    for noise, n in tqdm(cells, desc="quickstart (noise, N)", disable=not cfg.progress):
        key = f"{noise}/{n}"
        if key in ckpt:
            continue
        problem = qsense.Problem(n, noise, qc.gamma, "scalar", qc.field_b0, dtype=dtype)

        chunk = time_chunk(problem, jnp.asarray(grid, real))
        if chunk >= len(grid):  # one call per curve: seconds at most

            def curves(ts, problem=problem, chunk=chunk):
                return ghz_qfi_curve(problem, jnp.asarray(ts, real), chunk)
        else:  # a large N (one time point costs seconds to a minute): progress, and every
            # chunk's times are checkpointed, so a cut-off cell resumes mid-way
            curves, bar = _chunked_curves(problem, chunk, real, ckpt, f"{key}/times",
                                          f"{noise} N={n}", cfg.progress)
        values = np.asarray(curves(jnp.asarray(grid)), float)
        if not np.all(np.isfinite(values)):
            raise FloatingPointError(f"non-finite QFI for noise={noise}, N={n}")
        t_opt, f_opt, interior = peak(curves, grid, values)
        ckpt.put(key, {"qfi": values.tolist(), "t_opt": t_opt, "qfi_peak": f_opt,
                       "interior": interior})
        if chunk < len(grid):
            bar.close()
            ckpt.drop(f"{key}/times")

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
