"""Links / teleport / protocol throughput (2 CPU cores, float64). Prints a table, writes
benchmarks/links.json.

    PYTHONPATH=. python benchmarks/links.py   (from the repository root)

Timings exclude compilation (one warm-up call, then the best of 3 repeats).

Checked (the script stops with SystemExit otherwise, after writing its JSON; ``checks`` in
the JSON): the closed-form teleportation channel it times equals the explicit protocol it
times beside it (`qsense.teleport.teleport_circuit`) on the same states, to `TELEPORT_AGREEMENT`;
the jitted, vectorised link models give at a few distances what one eager scalar call gives.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# runnable from a checkout without an install (as the other scripts): the repository root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import qsense  # noqa: E402
from qsense import links as L  # noqa: E402
from qsense import protocols as P  # noqa: E402
from qsense import teleport as T  # noqa: E402

try:
    from _common import add_device_argument, check_close, device_record, select_device
except ImportError:  # imported as benchmarks.links
    from benchmarks._common import add_device_argument, check_close, device_record, select_device

#: Largest |channel - circuit| entry of a teleported density matrix accepted (the two
#: implementations `qsense.teleport` says must agree; its tests hold them to 1e-10).
TELEPORT_AGREEMENT = 1e-10
#: Largest relative difference between a vectorised, jitted link model and the same model
#: called eagerly on one scalar distance (float64 rounding).
SCALAR_AGREEMENT = 1e-12


def bench(f, *args, repeats: int = 3) -> tuple[float, float]:
    t0 = time.perf_counter()
    jax.block_until_ready(f(*args))
    compile_s = time.perf_counter() - t0
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(f(*args))
        best = min(best, time.perf_counter() - t0)
    return best, compile_s


def scalar_difference(vectorised, model, distances, idx) -> float:
    """max over ``idx`` of |vectorised[i] - model(distances[i])| / |model(distances[i])|,
    the model called eagerly on one scalar distance at a time."""
    worst = 0.0
    for i in idx:
        ref = float(model(float(distances[i])))
        got = float(vectorised[i])
        worst = max(worst, abs(got - ref) / abs(ref) if ref else abs(got))
    return worst


def check_links(checks: dict) -> None:
    """Stop (SystemExit) when the variants the benchmark times compute different answers."""
    for key, val in checks.items():
        tol = TELEPORT_AGREEMENT if key.startswith("teleport") else SCALAR_AGREEMENT
        check_close(val, tol, f"links benchmark, {key}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    ap.add_argument("--smoke", action="store_true", help="small sizes, checks only")
    add_device_argument(ap)
    args = ap.parse_args()
    select_device(args.device)
    rows = []
    n_d = 1000 if args.smoke else 100_000
    d = jnp.linspace(0.0, 3000.0, n_d)
    label = f"{n_d:,} distances"
    sat, fib = L.SatelliteLink(), L.FiberLink()
    checks = {}
    # distances where the scalar call is compared: ~150, 375, 1000 km (both models give
    # pairs there; past ~1000 km the repeater chain's fidelity is 0.25, nothing to compare)
    probe = [n_d // 20, n_d // 8, n_d // 3]
    f = jax.jit(lambda x: L.dual_downlink(sat, x).fidelity)
    s, c = bench(f, d)
    rows.append(("dual_downlink", label, s, c, n_d / s, "distances/s"))
    checks["dual_downlink_vs_scalar_max_rel_diff"] = scalar_difference(
        f(d), lambda x: L.dual_downlink(sat, x).fidelity, d, probe)
    f = jax.jit(lambda x: L.repeater_chain(fib, x).fidelity)
    s, c = bench(f, d)
    rows.append(("repeater_chain (10 rep.)", label, s, c, n_d / s, "distances/s"))
    checks["repeater_chain_vs_scalar_max_rel_diff"] = scalar_difference(
        f(d), lambda x: L.repeater_chain(fib, x).fidelity, d, probe)

    rng = np.random.default_rng(0)
    channel = jax.jit(T.teleport_channel)
    for n in (3,) if args.smoke else (3, 6, 9):
        x = rng.normal(size=(2**n, 2**n)) + 1j * rng.normal(size=(2**n, 2**n))
        rho = jnp.asarray(x @ x.conj().T / np.trace(x @ x.conj().T))
        s, c = bench(channel, rho, 0.9)
        rows.append(("teleport_channel", f"N={n}", s, c, 1 / s, "states/s"))
    teleport_diff = 0.0
    for n in (1,) if args.smoke else (1, 3, 5):
        x = rng.normal(size=(2**n, 2**n)) + 1j * rng.normal(size=(2**n, 2**n))
        rho = jnp.asarray(x @ x.conj().T / np.trace(x @ x.conj().T))
        s, c = bench(T.teleport_circuit, rho, 0.9, repeats=1)
        rows.append(("teleport_circuit (eager)", f"N={n}", s, c, 1 / s, "states/s"))
        # the protocol and the closed-form channel on this very state
        teleport_diff = max(teleport_diff, float(jnp.max(jnp.abs(
            T.teleport_circuit(rho, 0.9) - channel(rho, 0.9)))))
    checks["teleport_channel_vs_circuit_max_abs_diff"] = teleport_diff

    psi = qsense.ghz_state(3)
    tg = jnp.linspace(0.05, 20.0, 400)
    fids = jnp.linspace(0.25, 1.0, 120)
    f = jax.jit(jax.vmap(lambda x: P.peak_qfi(psi, x, tg, 0.1, protocol="distributed")))
    s, c = bench(f, fids)
    rows.append(("peak QFI over 400 t (N=3)", "120 fidelities", s, c, 120 * 400 / s,
                 "QFI evals/s"))

    # real passes (numpy geometry + jitted link model), memories, link-aware objective
    import datetime as dt

    from qsense import ephemeris as E
    from qsense import linkprobe as LP
    from qsense import memory as M
    from qsense import orbits as O

    start = dt.datetime(2024, 3, 1)
    walker = E.walker_delta(100, 10, 1, 550.0, 53.0, start)
    t = np.arange(0.0, 86400.0, 60.0)
    s, c = bench(lambda: E.satellite_ecef(walker, start, t))
    rows.append(("satellite_ecef sgp4", "100 sats x 1440 t", s, c, 100 * 1440 / s,
                 "positions/s"))
    orbit = O.circular_orbit("sso", 400.0)
    lat, lon = O.destination(37.378, 97.729, 169.0, np.linspace(25, 3000, 40))
    st_b = (lat, lon, np.full(40, 3.2))
    s, c = bench(lambda: O.link_timeline(sat, orbit, (37.378, 97.729, 3.153), st_b,
                                         orbit.epoch, 4 * 86400, 30.0).rate_hz, repeats=1)
    rows.append(("link_timeline (night)", "40 pairs x 4 d/30 s", s, c, 40 * 11520 / s,
                 "pair-samples/s"))
    r = jnp.geomspace(1e-3, 1e3, 100_000)
    f = jax.jit(lambda x: M.collect(x, 6, 10.0).factors)
    s, c = bench(f, r)
    rows.append(("memory.collect (K=6)", "100k rates", s, c, 1e5 / s, "rates/s"))
    ws = np.linspace(0.3, 1.0, 256)
    probs = LP.stack_problems([LP.link_problem("distributed", np.full(3, w), gamma=0.1)
                               for w in ws])
    plus = LP.ansatz_genome(LP.product_angles(3), 3)
    f = jax.jit(jax.vmap(lambda p: qsense.score(p, plus, 5.0)))
    s, c = bench(f, probs)
    rows.append(("qsense.score, link (N=3)", "256 links", s, c, 256 / s, "QFI evals/s"))

    print(f"{'what':<28} {'size':<16} {'time (s)':>10} {'compile (s)':>12} {'throughput':>14}")
    for what, size, s, c, thr, unit in rows:
        print(f"{what:<28} {size:<16} {s:10.4g} {c:12.3g} {thr:14.4g} {unit}")
    out = [dict(zip(("what", "size", "time_s", "first_call_s", "throughput", "unit"), r,
                    strict=True)) for r in rows]
    path = Path(args.out)
    print("checks: " + ", ".join(f"{k} {v:.1e}" for k, v in checks.items()))
    path.write_text(json.dumps({"device": str(jax.devices()[0]),
                                "device_record": device_record(args.device), "rows": out,
                                "checks": checks}, indent=2))
    print(f"wrote {path}")
    check_links(checks)  # after the JSON: a failed run keeps its record


if __name__ == "__main__":
    main()
