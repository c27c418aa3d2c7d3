"""Fig. 4 of seed 000, made usable for a network designer: satellite passes versus a fiber
repeater chain for remote / distributed VQS, with rates per pass and per day, memories on both
sides, probes designed for the link, and Fisher information per second.

For every BS-SN ground distance d on the grid (station B placed from the BS along the bearing of
the default station pair, Delingha -> Lijiang):

* satellite: a real orbit (``fig4.orbit``: sun-synchronous circular at the link's altitude by
  default; or the bundled Micius TLE) propagated by SGP4 over ``fig4.days`` days, Earth
  rotating; usable when both stations see it above the elevation mask and both are in night
  (Sun below ``fig4.night_sun_altitude_deg``; skyfield + bundled DE421). ``rate_hz`` = pairs per
  usable second (the rate while the link is up), ``fidelity`` = pair-weighted mean over the
  passes, ``rate_day_hz`` = pairs per second averaged over the days, times the clear-sky
  probability of both stations. Passes per day and duty cycle per distance.
* fiber: the repeater chain (probabilistic swaps, multiplexing; ``qsense.links``); always up.
* memories: a probe needs K pairs (remote N-1, distributed 2N); they wait in memories of
  coherence ``fig4.memory_time_s`` until the K-th arrives (``qsense.memory`` closed form), on
  both links. Probes per second = rate / K. What is held in memories keeps decaying while the
  probe senses (`qsense.linkprobe.link_problem`'s ``memory_time``): distributed, the N return
  pairs, to ``w_back exp(-2 t / T)``; remote, the BS's own qubit until its local readout, to
  ``exp(-t / T)``. So the sensing time t is in seconds, like T. Each probe holds its sensor
  qubits for t: ``concurrent_probes`` = probes/s x t_opt probes sense at once (as many sensor
  registers assumed).
* probes: GHZ, the best product probe |+>^N, and the link-aware VQS: every probe is scored
  by THE objective (`qsense.score`) of the link's `qsense.Problem`
  (`qsense.linkprobe.link_problem`: teleportation and memory channels as ``pre_channel`` /
  ``post_channel``, remote: the BS qubit does not sense); the VQS angles and sensing time are
  optimized by `qsense.optimize.optimize_angles` from GHZ, product and random starts (never
  below either). ``qfi`` = peak over t of one delivered probe. One compiled program serves
  every distance and both links (channels are data).
* figure of merit: ``fisher_per_s`` = probes/s while up x QFI; ``fisher_per_s_day`` the same
  averaged over the day. Crossovers (first distance where the satellite wins) of each.
* design: the satellite altitude and the sensing time optimized together for Fisher/s at
  ``fig4.design_distance_km`` (L-BFGS-B with the autodiff gradient through the whole chain),
  checked against a grid (max over t per altitude) and finite differences.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from experiments import plots
from experiments.checkpoint import Checkpoint
from experiments.outputs import write_csv
from experiments.schema import Config
from qsense import linkprobe as LP
from qsense import links as L
from qsense import memory as M
from qsense import orbits as O

SEED_STATEMENT = ("fiber better (entanglement fidelity) below ~500 km, satellite far better "
                  "beyond (seed 000, Fig. 4, NetSquid)")


def vqs_margin(vqs, others) -> float:
    """The VQS probe's smallest lead over the grid: ``min_d (q_VQS(d) - max_p q_p(d))`` over the
    other probes ``p`` (QFI columns over the same distances). Negative if VQS falls below some
    probe at some distance, which the link-aware search must never allow; 0.0 with no other
    probe."""
    if len(others) == 0:
        return 0.0
    return float(np.min(np.asarray(vqs, float) - np.max(np.asarray(others, float), axis=0)))


def crossover_km(d: np.ndarray, sat: np.ndarray, fib: np.ndarray) -> float | None:
    """First distance where the satellite overtakes the fiber (linear interpolation of the
    difference); ``d[0]`` if the satellite is strictly better at the first grid point;
    ``None`` if it is never strictly better on the grid (a tie, e.g. both at 0 once the fiber
    underflows and a satellite that never passes, is no overtaking)."""
    diff = np.asarray(sat, float) - np.asarray(fib, float)
    if diff[0] > 0:
        return float(d[0])
    up = np.nonzero((diff[:-1] <= 0) & (diff[1:] > 0))[0]
    if up.size == 0:
        return None
    i = int(up[0])
    return float(d[i] - diff[i] * (d[i + 1] - d[i]) / (diff[i + 1] - diff[i]))


def _links(fc):
    return fc.satellite.build(), fc.fiber.build()  # validated qsense.links objects


def _passes(fc, sat: L.SatelliteLink, d: np.ndarray) -> dict:
    """Pass statistics for station B at each distance, and for the default pair."""
    orbit = O.circular_orbit(fc.orbit, float(sat.altitude_km), fc.inclination_deg)
    a, b = tuple(fc.station_a), tuple(fc.station_b)
    d_ab, bearing = O.ground_distance_km(a[0], a[1], b[0], b[1])
    lat, lon = O.destination(a[0], a[1], bearing, d)
    lats = np.concatenate([lat, [b[0]]])
    lons = np.concatenate([lon, [b[1]]])
    alts = np.concatenate([np.full(d.shape, b[2]), [b[2]]])
    start = orbit.epoch
    tl = O.link_timeline(sat, orbit, a, (lats, lons, alts), start, fc.days * 86400.0, fc.step_s,
                         night_sun_altitude_deg=fc.night_sun_altitude_deg)
    ps = O.pass_statistics(tl, fc.clear_sky_probability)
    out = {k: np.asarray(v)[:-1].tolist() for k, v in ps._asdict().items()}
    out["pair"] = {k: float(np.asarray(v)[-1]) for k, v in ps._asdict().items()}
    out["pair"]["distance_km"] = float(d_ab)
    out["pair"]["bearing_deg"] = float(bearing)
    out["pair"]["passes"] = O.passes(tl, len(d))
    out["orbit"] = repr(orbit)
    return out


def _link_stats(fc, sat, fib, d, passes) -> dict:
    """rate while up, rate per day, pair fidelity, and the per-qubit Werner factors after the
    memories, for both links (arrays over d)."""
    n, prot = fc.n_qubits, fc.protocol
    k = M.pairs_per_probe(prot, n)
    c = L.repeater_chain(fib, d)
    stats = {
        "satellite": {"rate_hz": np.asarray(passes["rate_pass_hz"]),
                      "rate_day_hz": np.asarray(passes["rate_day_hz"]),
                      "fidelity": np.asarray(passes["fidelity"])},
        "fiber": {"rate_hz": np.asarray(c.rate_hz), "rate_day_hz": np.asarray(c.rate_hz),
                  "fidelity": np.asarray(c.fidelity)},
    }
    for s in stats.values():
        coll = M.collect(s["rate_hz"], k, fc.memory_time_s)
        w = np.asarray(L.werner_parameter(s["fidelity"]))[:, None] * np.asarray(coll.factors)
        w_out, w_back = LP.assign_pairs(prot, n, w)
        s["w_out"], s["w_back"] = np.asarray(w_out), np.asarray(w_back)
        s["probe_rate_hz"] = np.asarray(coll.probe_rate_hz)
        s["fidelity_stored"] = np.asarray(L.werner_fidelity(w.mean(-1)))
        s["pairs_per_probe"] = k
    return stats


def _problems(fc, s) -> list:
    """The link's `qsense.Problem` at every distance (channels as data: one structure)."""
    return [LP.link_problem(fc.protocol, wo, wb, gamma=fc.gamma, noise=fc.noise, b0=fc.field_b0,
                            memory_time=fc.memory_time_s)
            for wo, wb in zip(s["w_out"], s["w_back"], strict=True)]


def _qfi_cells(fc, stats, t_grid, ckpt: Checkpoint, progress: bool) -> None:
    n = fc.n_qubits
    cells = [(link, probe) for probe in fc.probes for link in ("satellite", "fiber")]
    for link, probe in tqdm(cells, desc="fig4 (link, probe)", disable=not progress):
        key = f"{link}/{probe}"
        if key in ckpt:
            continue
        problems = _problems(fc, stats[link])
        if probe == "VQS":
            res = LP.optimize_link_probe(
                problems, t_grid=t_grid, steps=fc.vqs_steps, learning_rate=fc.vqs_learning_rate,
                n_random=fc.vqs_random_starts, seed=fc.vqs_seed)
            q, t = res.qfi, res.t
            extra = {"angles": res.angles.tolist(), "start": res.start.tolist()}
        else:
            a = LP.ghz_angles(n) if probe == "GHZ" else LP.product_angles(n)
            q, t = LP.peak_qfi(problems, a, t_grid)
            extra = {}
        q = np.asarray(q)
        if not np.all(np.isfinite(q)):
            raise FloatingPointError(f"non-finite QFI for {key}")
        ckpt.put(key, {"qfi": q.tolist(), "t_opt": np.asarray(t).tolist(), **extra})


def _design(fc, sat: L.SatelliteLink, t_grid: np.ndarray, ckpt: Checkpoint) -> dict:
    """Optimize the satellite altitude h and the sensing time t together for Fisher
    information per second (while up, satellite over the midpoint of stations
    ``design_distance_km`` apart, ``design_probe``): L-BFGS-B on (log h, log t) with the
    autodiff gradient, from the link's altitude and a t of the order 1/gamma; checked against
    a grid (161 altitudes x the experiment's t grid, max over t per altitude) and the gradient
    against central differences. The design is at the best t of each altitude, as fig4's rows
    are (at a fixed t the curve would understate every altitude's figure of merit)."""
    import scipy.optimize

    if "design" in ckpt:
        return ckpt.get("design")
    n, d = fc.n_qubits, fc.design_distance_km
    angles = jnp.asarray(LP.ghz_angles(n) if fc.design_probe == "GHZ"
                         else LP.product_angles(n))
    lo = np.log([fc.design_altitude_min_km, t_grid[0]])
    hi = np.log([fc.design_altitude_max_km, t_grid[-1]])

    def fom(x):  # x = (log altitude_km, log t_s)
        link = dataclasses.replace(sat, altitude_km=jnp.exp(x[0]))
        return LP.fisher_rate(link, d, angles, jnp.exp(x[1]), fc.gamma, protocol=fc.protocol,
                              n_qubits=n, memory_time_s=fc.memory_time_s, b0=fc.field_b0,
                              noise=fc.noise)

    fom_j = jax.jit(fom)
    val_grad = jax.jit(jax.value_and_grad(fom))
    hs = np.geomspace(fc.design_altitude_min_km, fc.design_altitude_max_km, 161)
    grid = np.stack(np.meshgrid(np.log(hs), np.log(t_grid), indexing="ij"), axis=-1)
    vals = np.asarray(jax.jit(jax.vmap(jax.vmap(fom)))(jnp.asarray(grid)))  # (161, n_t)
    best_t = np.argmax(vals, axis=1)
    curve = vals[np.arange(hs.size), best_t]
    i = int(np.argmax(curve))
    # L-BFGS-B on -F / scale (scale-free), from the link's altitude and t ~ 1/gamma
    t0 = 1.0 / (n * max(fc.gamma, 1e-3)) if fc.design_probe == "GHZ" else 1.0 / max(fc.gamma,
                                                                                       1e-3)
    x0 = np.clip(np.log([sat.altitude_km, t0 / 2]), lo, hi)
    scale = max(float(np.max(curve)), 1e-300)

    def neg(x):
        v, g = val_grad(jnp.asarray(x))
        return -float(v) / scale, -np.asarray(g, dtype=float) / scale

    opt = scipy.optimize.minimize(neg, x0, jac=True, method="L-BFGS-B",
                                  bounds=list(zip(lo, hi, strict=True)),
                                  options={"maxiter": fc.design_steps, "gtol": 1e-10})
    x = opt.x
    eps = 1e-4

    def fd(at, k):
        e = np.zeros(2)
        e[k] = eps
        return (float(fom_j(jnp.asarray(at + e))) - float(fom_j(jnp.asarray(at - e)))) / (2 * eps)

    x_link = x0
    g_link = np.asarray(val_grad(jnp.asarray(x_link))[1])
    fd_link = np.array([fd(x_link, 0), fd(x_link, 1)])
    x_grid = np.array([np.log(hs[i]), np.log(t_grid[best_t[i]])])
    g_grid = np.asarray(val_grad(jnp.asarray(x_grid))[1])
    fd_grid = np.array([fd(x_grid, 0), fd(x_grid, 1)])
    g_opt = np.asarray(val_grad(jnp.asarray(x))[1])
    out = {"parameter": "satellite.altitude_km and sensing time t", "distance_km": d,
           "probe": fc.design_probe, "optimizer": "L-BFGS-B on (log h, log t), autodiff gradient",
           "iterations": int(opt.nit), "start_altitude_km": float(np.exp(x0[0])),
           "start_t": float(np.exp(x0[1])),
           "altitude_grad_opt_km": float(np.exp(x[0])), "t_grad_opt": float(np.exp(x[1])),
           "fisher_per_s_grad_opt": float(fom_j(jnp.asarray(x))),
           "dF_dlog_h_t_at_grad_opt": g_opt.tolist(),
           "altitude_grid_opt_km": float(hs[i]), "t_grid_opt": float(t_grid[best_t[i]]),
           "fisher_per_s_grid_opt": float(curve[i]),
           "grid_step_rel": float(hs[1] / hs[0] - 1),
           "t_grid_step_rel": float(t_grid[1] / t_grid[0] - 1),
           "dF_dlog_h_t_autodiff_at_link": g_link.tolist(), "dF_dlog_h_t_fd_at_link":
           fd_link.tolist(),
           "fd_rel_err_at_link": float(np.max(np.abs(g_link - fd_link))
                                       / max(float(np.max(np.abs(fd_link))), 1e-300)),
           "dF_dlog_h_t_autodiff_at_grid_opt": g_grid.tolist(),
           "dF_dlog_h_t_fd_at_grid_opt": fd_grid.tolist(),
           "grid_km": hs.tolist(), "grid_fisher_per_s": curve.tolist(),
           "grid_t_opt": t_grid[best_t].tolist()}
    ckpt.put("design", out)
    return out


def run(cfg: Config, out_dir: Path) -> dict:
    fc = cfg.fig4
    sat, fib = _links(fc)
    d = np.linspace(fc.distance_min_km, fc.distance_max_km, fc.n_distances)
    t_grid = np.geomspace(fc.t_max / 400, fc.t_max, fc.n_t)
    ckpt = Checkpoint(out_dir / "checkpoint.json",
                      meta={"task": "fig4", "fig4": repr(fc), "prec": cfg.precision})
    if "passes" not in ckpt:
        ckpt.put("passes", _passes(fc, sat, d))
    passes = ckpt.get("passes")
    stats = _link_stats(fc, sat, fib, d, passes)
    _qfi_cells(fc, stats, t_grid, ckpt, cfg.progress)
    design = _design(fc, sat, t_grid, ckpt) if fc.design_steps > 0 else None

    rows = []
    for probe in fc.probes:
        for link in ("satellite", "fiber"):
            s, cell = stats[link], ckpt.get(f"{link}/{probe}")
            for i, dist in enumerate(d):
                q = float(cell["qfi"][i])
                row = {"link": link, "distance_km": float(dist), "rate_hz": float(s["rate_hz"][i]),
                       "rate_day_hz": float(s["rate_day_hz"][i]),
                       "fidelity": float(s["fidelity"][i]), "probe": probe,
                       "n_qubits": fc.n_qubits, "qfi": q, "t_opt": float(cell["t_opt"][i]),
                       "fisher_per_s": float(s["probe_rate_hz"][i]) * q,
                       "concurrent_probes": float(s["probe_rate_hz"][i])
                       * float(cell["t_opt"][i]),
                       "fisher_per_s_day": float(s["rate_day_hz"][i]) / s["pairs_per_probe"] * q,
                       "pairs_per_probe": s["pairs_per_probe"],
                       "fidelity_after_memory": float(s["fidelity_stored"][i]),
                       "protocol": fc.protocol, "gamma": fc.gamma}
                row["fisher_per_day"] = 86400.0 * row["fisher_per_s_day"]
                if link == "satellite":
                    row["passes_per_day"] = passes["passes_per_day"][i]
                    row["duty_cycle"] = passes["duty_cycle"][i]
                    row["mean_pass_s"] = passes["mean_pass_s"][i]
                rows.append(row)

    def col(link, probe, key):
        return np.array([r[key] for r in rows if r["link"] == link and r["probe"] == probe])

    best = "VQS" if "VQS" in fc.probes else fc.probes[0]
    metrics = {
        "passes_per_day": passes["pair"]["passes_per_day"],
        "default_pair": {k: v for k, v in passes["pair"].items() if k != "passes"},
        "default_pair_passes": passes["pair"]["passes"],
        "orbit": passes["orbit"],
        "rate_crossover_km": crossover_km(d, stats["satellite"]["rate_hz"],
                                          stats["fiber"]["rate_hz"]),
        "rate_day_crossover_km": crossover_km(d, stats["satellite"]["rate_day_hz"],
                                              stats["fiber"]["rate_day_hz"]),
        "fidelity_crossover_km": crossover_km(d, stats["satellite"]["fidelity"],
                                              stats["fiber"]["fidelity"]),
        "fisher_per_s_crossover_km": crossover_km(d, col("satellite", best, "fisher_per_s"),
                                                  col("fiber", best, "fisher_per_s")),
        "fisher_per_s_day_crossover_km": crossover_km(
            d, col("satellite", best, "fisher_per_s_day"), col("fiber", best,
                                                                "fisher_per_s_day")),
        "crossover_probe": best,
        "assumptions": {
            "orbit": f"{fc.orbit} at {sat.altitude_km} km; {fc.days} days from the epoch",
            "night_sun_altitude_deg": fc.night_sun_altitude_deg,
            "clear_sky_probability": fc.clear_sky_probability,
            "memory_time_s": fc.memory_time_s,
            "return_pairs": ("the N return pairs wait in memories while the probe senses "
                             "(w_back exp(-2 t / T)); t in seconds"
                             if fc.protocol == "distributed" else "none (remote)"),
            "sensor_registers": "probes overlap when probes/s x t_opt > 1 (concurrent_probes "
                                "in fig4.csv); as many sensor registers as that are assumed",
            "pairs_per_probe": M.pairs_per_probe(fc.protocol, fc.n_qubits),
            "fiber": f"{fib.n_repeaters} repeaters, swap success {fib.swap_success}, "
                     f"{fib.modes:g} modes, memory {fib.memory_time_s} s",
            "measurement": ("joint measurement at the BS (QFI reachable)"
                            if fc.protocol == "distributed" else
                            "LOCC only: the QFI is an upper bound on what local measurements "
                            "reach"),
        },
        "seed_statement": SEED_STATEMENT,
    }
    for probe in fc.probes:
        metrics[f"qfi_crossover_km/{probe}"] = crossover_km(d, col("satellite", probe, "qfi"),
                                                            col("fiber", probe, "qfi"))
    if "VQS" in fc.probes:
        metrics["vqs_minus_best_other_min"] = {
            link: vqs_margin(col(link, "VQS", "qfi"),
                             [col(link, p, "qfi") for p in fc.probes if p != "VQS"])
            for link in ("satellite", "fiber")}
    if design is not None:
        metrics["design"] = {k: v for k, v in design.items() if not k.startswith("grid_")
                             or k == "grid_step_rel"}

    if fc.protocol == "remote":
        metrics["remote_readout"] = _remote_readout(fc, stats, ckpt)
    if not np.any(stats["satellite"]["rate_hz"] > 0):
        metrics["satellite_never_up"] = True  # every satellite figure is 0; no crossover
        warnings.warn("fig4: the satellite delivers no pair at any distance (no usable pass: "
                      f"{fc.days} days, elevation mask {sat.min_elevation_deg} deg, night "
                      "only); its rates and QFI are 0", UserWarning, stacklevel=2)

    tables = {"fig4": write_csv(out_dir, "fig4", rows)}
    figures = _plot(out_dir, fc, d, stats, rows, design)
    _print_summary(metrics)
    return {"metrics": metrics, "tables": tables, "figures": figures}


def _remote_readout(fc, stats, ckpt: Checkpoint) -> dict:
    """Remote VQS allows only local measurements + classical communication: the best
    local-measurement Fisher information of the delivered probe at the shortest distance,
    beside its QFI (an upper bound), for each link."""
    if "remote_readout" in ckpt:
        return ckpt.get("remote_readout")
    n = fc.n_qubits
    probe = "VQS" if "VQS" in fc.probes else fc.probes[0]
    out = {}
    for link in ("satellite", "fiber"):
        cell = ckpt.get(f"{link}/{probe}")
        angles = (cell["angles"][0] if "angles" in cell else
                  (LP.ghz_angles(n) if probe == "GHZ" else LP.product_angles(n)))
        prob = _problems(fc, stats[link])[0]
        rho = LP.delivered_rho_of_b(prob, LP.ansatz_genome(jnp.asarray(angles), n),
                                    float(cell["t_opt"][0]))
        cfi, _ = LP.best_local_fisher(rho, n, fc.field_b0, steps=100)
        out[link] = {"probe": probe, "distance_km": fc.distance_min_km,
                     "qfi": float(cell["qfi"][0]), "local_fisher": float(cfi)}
    ckpt.put("remote_readout", out)
    return out


def _plot(out_dir: Path, fc, d, stats, rows, design) -> list[str]:
    fig, axes = plots.subplots(5 if design else 4)
    colors = {"satellite": "tab:blue", "fiber": "tab:red"}
    styles = {"GHZ": "--", "product": ":", "VQS": "-"}
    ax_r, ax_f, ax_q, ax_i = axes[0][:4]
    for link, s in stats.items():
        lab = "satellite" if link == "satellite" else f"fiber, {fc.fiber.n_repeaters} rep."
        pos = lambda x: np.where(np.asarray(x) > 0, x, np.nan)  # noqa: E731
        ax_r.semilogy(d, pos(s["rate_hz"]), color=colors[link], label=f"{lab} (while up)")
        if link == "satellite":
            ax_r.semilogy(d, pos(s["rate_day_hz"]), ":", color=colors[link],
                          label=f"{lab} (day average)")
        ax_f.plot(d, s["fidelity"], color=colors[link], label=f"{lab}, pairs")
        ax_f.plot(d, s["fidelity_stored"], ":", color=colors[link], label=f"{lab}, after memory")
        for probe in fc.probes:
            sel = [r for r in rows if r["link"] == link and r["probe"] == probe]
            ax_q.plot(d, [r["qfi"] for r in sel], styles.get(probe, "-"), color=colors[link],
                      label=f"{lab}, {probe}")
            if probe == ("VQS" if "VQS" in fc.probes else fc.probes[0]):
                ax_i.semilogy(d, pos([r["fisher_per_s"] for r in sel]), color=colors[link],
                              label=f"{lab}, {probe}, while up")
                ax_i.semilogy(d, pos([r["fisher_per_s_day"] for r in sel]), ":",
                              color=colors[link], label=f"{lab}, {probe}, day average")
    top = max((r["fisher_per_s"] for r in rows), default=0.0)
    if top > 0:
        ax_i.set_ylim(bottom=top * 1e-12)
    for ax in (ax_r, ax_f, ax_q, ax_i):
        ax.set_xlabel("BS-SN distance (km)")
        ax.legend(fontsize=6)
    ax_r.set(ylabel="pairs / s", title="entanglement rate")
    ax_f.set(ylabel="Werner fidelity", title="fidelity", ylim=(0.2, 1.0))
    ax_q.set(ylabel="max$_t$ QFI per probe", title=f"N={fc.n_qubits}, {fc.protocol}, "
             f"$\\gamma$={fc.gamma}")
    ax_i.set(ylabel="Fisher information / s", title="figure of merit")
    if design:
        ax = axes[0][4]
        ax.semilogx(design["grid_km"], design["grid_fisher_per_s"], color="k", label="grid")
        ax.axvline(design["altitude_grad_opt_km"], color="tab:green",
                   label=f"gradient (t = {design['t_grad_opt']:.3g} s)")
        ax.set(xlabel="satellite altitude (km)", ylabel="max$_t$ Fisher information / s",
               title=f"design at {design['distance_km']:g} km")
        # plain altitude labels: the log axis' own minor labels overlap on a 200-3000 km span
        ticks = [h for h in (100, 200, 300, 500, 1000, 2000, 3000, 5000, 10000, 20000, 40000)
                 if design["grid_km"][0] <= h <= design["grid_km"][-1]]
        if len(ticks) < 2:
            ticks = [design["grid_km"][0], design["grid_km"][-1]]
        ax.set_xticks(ticks, [f"{h:.0f}" for h in ticks])
        ax.minorticks_off()
        ax.legend(fontsize=6)
    return [plots.save(fig, out_dir, "fig4")]


def _print_summary(metrics: dict) -> None:
    for k in ("passes_per_day", "rate_crossover_km", "rate_day_crossover_km",
              "fidelity_crossover_km", "fisher_per_s_crossover_km",
              "fisher_per_s_day_crossover_km"):
        print(f"{k:>32}: {metrics[k]}")
    if "design" in metrics:
        m = metrics["design"]
        print(f"{'design altitude (grad / grid)':>32}: {m['altitude_grad_opt_km']:.1f} / "
              f"{m['altitude_grid_opt_km']:.1f} km at t = {m['t_grad_opt']:.3g} / "
              f"{m['t_grid_opt']:.3g} s, {m['fisher_per_s_grad_opt']:.4g} / "
              f"{m['fisher_per_s_grid_opt']:.4g} Fisher/s; autodiff vs FD rel. err "
              f"{m['fd_rel_err_at_link']:.1e}")
