"""Fig. 4 of seed 000: satellite (LEO) versus fiber repeater chain for distributed VQS.

For every BS-SN ground distance on the grid:

* the entanglement rate and Werner fidelity of the LEO dual down-link (satellite over the
  midpoint, the best moment of a pass; plus the average over one symmetric pass) and of the
  fiber chain (``qsense.links``);
* the peak over the sensing time t of the QFI of the N-qubit probe delivered by the protocol
  (``qsense.protocols``; distributed VQS by default: every qubit teleported out and back) for
  the GHZ probe and an optimized VQS probe, under dephasing at rate gamma.

The VQS probe: the angles of the fixed ansatz ``qsense.protocols.vqs_ansatz`` (and the sensing
time) are tuned by Adam on THE objective ``qsense.score`` without links
(`qsense.protocols.tune_probe_angles`, a thin wrapper over ``optimize_angles``), then the
tuned probe is sent over
the links. Since every qubit crosses a link of the same fidelity and the QFI grows with it,
the QFI crossover equals the fidelity crossover; the sensitivity table shows how the
fidelity crossover moves with the fiber's elementary-link fidelity and memory lifetime.
"""

from __future__ import annotations

import functools
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
from qsense import links as L
from qsense import orbits as O
from qsense import protocols as P

SEED_STATEMENT = ("fiber better (entanglement fidelity) below ~500 km, satellite far better "
                  "beyond (seed 000, Fig. 4, NetSquid)")


def crossover_km(d: np.ndarray, sat: np.ndarray, fib: np.ndarray) -> float | None:
    """First distance where the satellite overtakes the fiber (linear interpolation of the
    difference); ``d[0]`` if the satellite is at least as good at the first grid point;
    ``None`` if it never overtakes on the grid."""
    diff = np.asarray(sat, float) - np.asarray(fib, float)
    if diff[0] >= 0:
        return float(d[0])
    up = np.nonzero((diff[:-1] < 0) & (diff[1:] >= 0))[0]
    if up.size == 0:
        return None
    i = int(up[0])
    return float(d[i] - diff[i] * (d[i + 1] - d[i]) / (diff[i + 1] - diff[i]))


@functools.partial(jax.jit, static_argnums=(5, 6))
def _peak_vs_fidelity(psi, fids, t_grid, gamma, b0, protocol, noise):
    """Peak QFI over ``t_grid`` for each pair fidelity (one program for every link/probe)."""
    return jax.vmap(lambda f: P.peak_qfi(psi, f, t_grid, gamma, b0, protocol=protocol,
                                         noise=noise))(fids)


def _links(fc):
    return (L.SatelliteLink(**vars(fc.satellite)).validate(),
            L.FiberLink(**vars(fc.fiber)).validate())


def _probe(name: str, fc, ckpt: Checkpoint, dtype) -> tuple[jax.Array, dict]:
    n = fc.n_qubits
    if name == "GHZ":
        return qsense.ghz_state(n, dtype), {}
    key = "vqs_probe"
    if key not in ckpt:
        g0 = P.vqs_ansatz(n, jax.random.PRNGKey(fc.vqs_seed))
        g, t_opt, q, hist = P.tune_probe_angles(
            g0, n, fc.gamma, noise=fc.noise, t0=1.0 / max(n * fc.gamma, 1e-3), b0=fc.field_b0,
            steps=fc.vqs_steps, learning_rate=fc.vqs_learning_rate)
        ckpt.put(key, {"angle": np.asarray(g.angle).tolist(), "t_opt": t_opt, "qfi": q,
                       "qfi_initial": hist[0] if hist else q,
                       "genes": qsense.describe(g)})
    cell = ckpt.get(key)
    g0 = P.vqs_ansatz(n)
    g = qsense.Genome(g0.gate, g0.control, g0.target, jnp.asarray(cell["angle"]))
    return P.probe_vector(g, n).astype(dtype), cell


def _sensitivity(fc, fiber: L.FiberLink, d: np.ndarray, f_sat: np.ndarray) -> list[dict]:
    rows = []
    for fe in fc.sensitivity_elementary_fidelity:
        for tm in fc.sensitivity_memory_time_s:
            link = L.FiberLink(**{**vars(fc.fiber), "elementary_fidelity": fe,
                                  "memory_time_s": tm})
            f_fib = np.asarray(L.repeater_chain(link, d).fidelity)
            rows.append({"elementary_fidelity": fe, "memory_time_s": tm,
                         "fiber_fidelity_at_min_km": float(f_fib[0]),
                         "fidelity_crossover_km": crossover_km(d, f_sat, f_fib)})
    del fiber
    return rows


def run(cfg: Config, out_dir: Path) -> dict:
    fc = cfg.fig4
    dtype = jnp.complex128 if cfg.precision == "float64" else jnp.complex64
    sat, fib = _links(fc)
    d = np.linspace(fc.distance_min_km, fc.distance_max_km, fc.n_distances)
    t_grid = jnp.asarray(np.linspace(fc.t_max / fc.n_t, fc.t_max, fc.n_t))
    ckpt = Checkpoint(out_dir / "checkpoint.json",
                      meta={"task": "fig4", "fig4": repr(fc), "prec": cfg.precision})

    s = L.dual_downlink(sat, d)
    c = L.repeater_chain(fib, d)
    stats = {"satellite": (np.asarray(s.rate_hz), np.asarray(s.fidelity)),
             "fiber": (np.asarray(c.rate_hz), np.asarray(c.fidelity))}
    visible = np.asarray(s.visible)
    if fc.pass_times:
        summ = jax.vmap(lambda x: O.pass_average(sat, x, n_times=fc.pass_times))(jnp.asarray(d))
        pass_rate = np.asarray(summ.mean_rate_hz)
        pass_fid = np.asarray(summ.mean_fidelity)
        pass_window = np.asarray(summ.window_s)
    smax = float(L.max_dual_separation_km(sat.altitude_km, sat.min_elevation_deg))

    cells = [(link, probe) for probe in fc.probes for link in ("satellite", "fiber")]
    probes = {}
    for link, probe in tqdm(cells, desc="fig4 (link, probe)", disable=not cfg.progress):
        key = f"{link}/{probe}"
        if key in ckpt:
            continue
        if probe not in probes:
            probes[probe] = _probe(probe, fc, ckpt, dtype)
        psi = probes[probe][0]
        fid = jnp.asarray(stats[link][1])
        q, t = _peak_vs_fidelity(psi, fid, t_grid, fc.gamma, fc.field_b0, fc.protocol,
                                 fc.noise)
        q = np.asarray(q)
        if not np.all(np.isfinite(q)):
            raise FloatingPointError(f"non-finite QFI for {key}")
        ckpt.put(key, {"qfi": q.tolist(), "t_opt": np.asarray(t).tolist()})

    rows = []
    for link, probe in cells:
        cell = ckpt.get(f"{link}/{probe}")
        rate, fid = stats[link]
        for i, dist in enumerate(d):
            row = {"link": link, "distance_km": float(dist), "rate_hz": float(rate[i]),
                   "fidelity": float(fid[i]), "qfi": cell["qfi"][i], "probe": probe,
                   "t_opt": cell["t_opt"][i], "protocol": fc.protocol,
                   "n_qubits": fc.n_qubits, "gamma": fc.gamma}
            if link == "satellite":
                row["visible"] = bool(visible[i])
                row["reason"] = "" if visible[i] else L.zero_rate_reason(sat, float(dist))
                if fc.pass_times:
                    row["rate_pass_avg_hz"] = float(pass_rate[i])
                    row["fidelity_pass_avg"] = float(pass_fid[i])
                    row["pass_window_s"] = float(pass_window[i])
            else:
                row["visible"] = True
                row["reason"] = ""
            rows.append(row)

    sens = _sensitivity(fc, fib, d, stats["satellite"][1])
    metrics = {
        "rate_crossover_km": crossover_km(d, stats["satellite"][0], stats["fiber"][0]),
        "fidelity_crossover_km": crossover_km(d, stats["satellite"][1], stats["fiber"][1]),
        "satellite_max_separation_km": smax,
        "satellite_fidelity_at_min_km": float(stats["satellite"][1][0]),
        "fiber_fidelity_at_min_km": float(stats["fiber"][1][0]),
        "seed_statement": SEED_STATEMENT,
    }
    for probe in fc.probes:
        q_s = np.asarray(ckpt.get(f"satellite/{probe}")["qfi"])
        q_f = np.asarray(ckpt.get(f"fiber/{probe}")["qfi"])
        metrics[f"qfi_crossover_km/{probe}"] = crossover_km(d, q_s, q_f)
        metrics[f"peak_qfi_at_min_km/{probe}"] = {"satellite": float(q_s[0]),
                                                  "fiber": float(q_f[0])}
    if "VQS" in fc.probes:
        v = ckpt.get("vqs_probe")
        metrics["vqs_local_peak_qfi"] = v["qfi"]
        metrics["vqs_local_t_opt"] = v["t_opt"]
        metrics["vqs_genes"] = v["genes"]
    for target in (500.0, 1000.0, 2000.0):
        i = int(np.argmin(np.abs(d - target)))
        metrics[f"at_{int(target)}_km"] = {
            link: {"distance_km": float(d[i]), "rate_hz": float(stats[link][0][i]),
                   "fidelity": float(stats[link][1][i])} for link in stats}

    tables = {"fig4": write_csv(out_dir, "fig4", rows),
              "fig4_sensitivity": write_csv(out_dir, "fig4_sensitivity", sens)}
    figures = _plot(out_dir, fc, d, stats, ckpt, smax,
                    (pass_rate, pass_fid) if fc.pass_times else None)
    _print_summary(metrics, sens)
    return {"metrics": metrics, "tables": tables, "figures": figures}


def _plot(out_dir: Path, fc, d, stats, ckpt, smax, pass_avg) -> list[str]:
    fig, axes = plots.subplots(3)
    colors = {"satellite": "tab:blue", "fiber": "tab:red"}
    ax_r, ax_f, ax_q = axes[0]
    for link, (rate, fid) in stats.items():
        label = "LEO satellite" if link == "satellite" else f"fiber, {fc.fiber.n_repeaters} rep."
        ax_r.semilogy(d, np.where(rate > 0, rate, np.nan), color=colors[link], label=label)
        ax_f.plot(d, fid, color=colors[link], label=label)
        for probe, style in (("GHZ", "--"), ("VQS", "-")):
            if probe in fc.probes:
                ax_q.plot(d, ckpt.get(f"{link}/{probe}")["qfi"], style, color=colors[link],
                          label=f"{label}, {probe}")
    if pass_avg is not None:
        ax_r.semilogy(d, np.where(pass_avg[0] > 0, pass_avg[0], np.nan), ":",
                      color=colors["satellite"], label="satellite, pass average")
        ax_f.plot(d, np.where(pass_avg[0] > 0, pass_avg[1], np.nan), ":",
                  color=colors["satellite"], label="satellite, pass average")
    for ax in (ax_r, ax_f, ax_q):
        ax.axvline(smax, color="gray", lw=0.8, ls=":")
        ax.set_xlabel("BS-SN distance (km)")
        ax.legend(fontsize=7)
    ax_r.set(ylabel="entanglement rate (Hz)", title="rate")
    ax_f.set(ylabel="Werner fidelity", title="fidelity", ylim=(0.2, 1.0))
    ax_q.set(ylabel="max$_t$ QFI", title=f"N={fc.n_qubits}, {fc.protocol} VQS, "
             f"$\\gamma$={fc.gamma}")
    return [plots.save(fig, out_dir, "fig4")]


def _print_summary(metrics: dict, sens: list[dict]) -> None:
    for k in ("rate_crossover_km", "fidelity_crossover_km", "satellite_max_separation_km"):
        print(f"{k:>32}: {metrics[k]}")
    for k, v in metrics.items():
        if k.startswith("qfi_crossover_km"):
            print(f"{k:>32}: {v}")
    print("fidelity crossover (km) vs fiber elementary fidelity x memory lifetime:")
    for r in sens:
        print(f"  F_elem={r['elementary_fidelity']:<6} T_mem={r['memory_time_s']:<5} s  "
              f"-> {r['fidelity_crossover_km']}")
