"""Peers side by side: the same noisy-QFI job through qsense and through each peer's own way.

The job (issue 15, item 7): GHZ on N qubits, then 20 random Rx/Ry/Rz/CRx genes; sensing for
t = 1 under the scalar field ``H = (B/2) sum_i Z_i`` at B0 = 1 with dephasing
``L = sqrt(gamma/2) Z_i``, gamma = 0.1 (DESIGN section 3); the QFI with respect to B. N = 3,
5, 8; one circuit and a batch of 256. The batch is one random gene structure with 256 random
angle sets (so that every peer can jit one static circuit and vmap over the angles); qsense
gets the identical arrays through ``qsense.make_fitness`` (which does not exploit the shared
structure). Pipelines:

* ``qsense``: ``make_fitness`` (jit + vmap), float64;
* ``tensorcircuit``: TensorCircuit-NG ``DMCircuit``, JAX backend, the phase-flip channel by
  ``general_kraus``, ``jax.jacfwd`` of the state in B and an eigh-based SLD QFI; jit + vmap;
* ``qujax``: ``get_params_to_densitytensor_func`` with a Kraus phase-flip op, jacfwd + eigh,
  jit + vmap;
* ``pennylane``: ``default.mixed`` + ``PhaseFlip``; (a) hand-assembled: ``qml.density_matrix``
  under JAX, jacfwd + eigh, jit + vmap; (b) its own QFI, ``qml.gradients.quantum_fisher``
  (flagged when it returns the noiseless value: it ignores the channels); (c) its own
  fidelity, Bures metric ``8 (1 - sqrt F(rho(B-h/2), rho(B+h/2))) / h^2``, per circuit (jit)
  and batched (jit + vmap: PennyLane has no noisy-QFI function, so this is a pipeline
  assembled from its fidelity, and the batched row is the fair one to rank);
* ``qutip``: ``mesolve`` of the Lindblad equation at B0 +- h, central finite difference,
  eigh QFI (numpy); per circuit;
* ``quanestimation``: its ``QFIM`` (SLD) on the mesolve states; per circuit.

Every value is checked against qsense before anything is timed (relative tolerance printed:
1e-8 for exact derivatives, 1e-5 for mesolve finite differences, 1e-3 for the Bures metric from
PennyLane's fidelity, whose ``1 - sqrt F ~ F_Q h^2 / 8`` loses digits to round-off).
Times: the fastest of ``--reps`` warm calls (compile excluded, reported apart); per-circuit
peers are timed on ``--slow-circuits`` circuits, each run to completion, and scaled to the
batch (marked ``~``). The batched paths and PennyLane's per-circuit fidelity path are checked
on every circuit of the batch, the slower per-circuit peers on the timed ones.
A peer that is not installed is reported as skipped. Peers come from the ``bench`` extra:
``pip install -e ".[bench]"``.

    python benchmarks/peers.py                 # N = 3, 5, 8; batch 256
    python benchmarks/peers.py --smoke         # N = 3, batch 4, checks only (no timing claims)
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.metadata
import importlib.util
import json
import math
import sys
import time
import types
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import qsense  # noqa: E402
from benchmarks._common import add_device_argument, device_record, select_device  # noqa: E402

GAMMA, T, B0, GENES = 0.1, 1.0, 1.0, 20
P_FLIP = (1 - math.exp(-GAMMA * T)) / 2  # dephasing for t: phase flip with 1 - 2p = e^{-gamma t}
TOL_EXACT, TOL_FD = 1e-8, 1e-5
TOL_BURES = 1e-3  # 8 (1 - sqrt F) / h^2 loses digits to the fidelity's own round-off
NAMES = {0: "Rx", 1: "Ry", 2: "Rz", 3: "CRx"}


# ---------------------------------------------------------------------------- the job
def job(n: int, size: int, seed: int = 0):
    """(gate, control, target) of one random structure and ``size`` random angle sets."""
    g = qsense.random_genome(jax.random.PRNGKey(seed), n, GENES)
    angles = np.asarray(jax.random.uniform(jax.random.PRNGKey(seed + 1), (size, GENES),
                                           minval=-np.pi, maxval=np.pi), np.float64)
    return np.asarray(g.gate), np.asarray(g.control), np.asarray(g.target), angles


def qfi_eigh(rho, drho, xp=jnp, eps: float = 1e-12):
    """``2 sum_{l_i + l_j > eps} |<i|drho|j>|^2 / (l_i + l_j)`` (the SLD QFI), in ``xp``."""
    lam, v = xp.linalg.eigh(rho)
    d = v.conj().T @ drho @ v
    s = lam[:, None] + lam[None, :]
    keep = s > eps
    return 2 * xp.sum(xp.where(keep, xp.abs(d) ** 2 / xp.where(keep, s, 1.0), 0.0))


def per_circuit_seconds(fn: Callable, inputs: list) -> float:
    """Mean seconds of ``fn(x)`` over ``inputs``, each call run to completion: a jitted JAX
    function returns as soon as its work is dispatched, so an unblocked loop times dispatch."""
    t0 = time.perf_counter()
    for x in inputs:
        jax.block_until_ready(fn(x))
    return (time.perf_counter() - t0) / len(inputs)


def timed(fn: Callable, reps: int) -> tuple[float, float]:
    """(first call s, fastest of ``reps`` further calls s)."""
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    best = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return first, best


def kraus_phase_flip(p: float = P_FLIP):
    return [np.sqrt(1 - p) * np.eye(2, dtype=complex),
            np.sqrt(p) * np.diag([1.0, -1.0]).astype(complex)]


# ---------------------------------------------------------------------------- pipelines
def qsense_pipeline(n, gate, control, target, gamma=GAMMA):
    f = qsense.make_fitness(n, "dephasing")

    def batch(angles):
        a = jnp.asarray(angles)
        size = a.shape[0]
        gen = qsense.Genome(jnp.broadcast_to(jnp.asarray(gate), (size, GENES)),
                            jnp.broadcast_to(jnp.asarray(control), (size, GENES)),
                            jnp.broadcast_to(jnp.asarray(target), (size, GENES)), a)
        return f(gen, T, gamma, B0)
    return batch


def tensorcircuit_pipeline(n, gate, control, target):
    import tensorcircuit as tc

    tc.set_backend("jax")
    tc.set_dtype("complex128")
    kraus = [tc.gates.Gate(jnp.asarray(k)) for k in kraus_phase_flip()]

    def rho(angles, b):
        c = tc.DMCircuit(n)
        c.h(0)
        for i in range(n - 1):
            c.cnot(i, i + 1)
        for k in range(GENES):
            g, ct, tg = int(gate[k]), int(control[k]), int(target[k])
            if g == 0:
                c.rx(tg, theta=angles[k])
            elif g == 1:
                c.ry(tg, theta=angles[k])
            elif g == 2:
                c.rz(tg, theta=angles[k])
            elif g == 3:
                c.crx(ct, tg, theta=angles[k])
        for q in range(n):
            c.rz(q, theta=b * T)
            c.general_kraus(kraus, q)
        return c.state()

    def one(angles):
        return qfi_eigh(rho(angles, B0), jax.jacfwd(lambda b: rho(angles, b))(B0))

    return jax.jit(jax.vmap(one)), jax.jit(one)


def qujax_pipeline(n, gate, control, target):
    import qujax

    seq, qinds, pinds = ["H"], [[0]], [[]]
    for i in range(n - 1):
        seq.append("CX"), qinds.append([i, i + 1]), pinds.append([])
    for k in range(GENES):
        g, ct, tg = int(gate[k]), int(control[k]), int(target[k])
        if g == 4:
            continue
        seq.append(NAMES[g])
        qinds.append([ct, tg] if g == 3 else [tg])
        pinds.append([k])
    kraus = [jnp.asarray(k) for k in kraus_phase_flip()]
    for q in range(n):
        seq.append("Rz"), qinds.append([q]), pinds.append([GENES])
        seq.append(kraus), qinds.append([q]), pinds.append([[], []])
    f = qujax.get_params_to_densitytensor_func(seq, qinds, pinds, n)
    d = 2**n

    def rho(angles, b):  # qujax angles are in half turns (units of pi)
        return f(jnp.concatenate([angles, jnp.array([b * T])]) / jnp.pi).reshape(d, d)

    def one(angles):
        return qfi_eigh(rho(angles, B0), jax.jacfwd(lambda b: rho(angles, b))(B0))

    return jax.jit(jax.vmap(one)), jax.jit(one)


def _pl_circuit(qml, n, gate, control, target, angles, b, noisy=True):
    qml.Hadamard(0)
    for i in range(n - 1):
        qml.CNOT([i, i + 1])
    ops = {0: qml.RX, 1: qml.RY, 2: qml.RZ}
    for k in range(GENES):
        g, ct, tg = int(gate[k]), int(control[k]), int(target[k])
        if g == 3:
            qml.CRX(angles[k], wires=[ct, tg])
        elif g in ops:
            ops[g](angles[k], wires=tg)
    for q in range(n):
        qml.RZ(b * T, wires=q)
        if noisy:
            qml.PhaseFlip(P_FLIP, wires=q)


def pennylane_pipelines(n, gate, control, target):
    import pennylane as qml

    dev = qml.device("default.mixed", wires=n)

    @qml.qnode(dev, interface="jax")
    def dm(angles, b):
        _pl_circuit(qml, n, gate, control, target, angles, b)
        return qml.density_matrix(wires=list(range(n)))

    def one(angles):
        return qfi_eigh(dm(angles, B0), jax.jacfwd(dm, argnums=1)(angles, B0))

    def own_qfi(angles):  # PennyLane's QFI transform (4 x metric tensor), B the only parameter
        ang = np.asarray(angles)

        @qml.qnode(qml.device("default.mixed", wires=n + 1), interface="autograd")
        def circ(b):
            _pl_circuit(qml, n, gate, control, target, ang, b)
            return qml.expval(qml.PauliZ(0))

        from pennylane import numpy as pnp

        return float(np.asarray(qml.gradients.quantum_fisher(circ)(pnp.array(B0,
                                                                             requires_grad=True)))
                     .reshape(-1)[0])

    h = 1e-3

    def fidelity_qfi(angles):  # Bures metric from PennyLane's own fidelity
        a = jnp.asarray(angles)
        fid = qml.math.fidelity(dm(a, B0 - h / 2), dm(a, B0 + h / 2))
        return 8 * (1 - jnp.sqrt(fid)) / h**2

    return (jax.jit(jax.vmap(one)), jax.jit(one), own_qfi, jax.jit(fidelity_qfi),
            jax.jit(jax.vmap(fidelity_qfi)))


def _qutip_probe(qutip, n, gate, control, target, angles):
    paulis = {0: qutip.sigmax(), 1: qutip.sigmay(), 2: qutip.sigmaz()}
    psi = (qutip.tensor([qutip.basis(2, 0)] * n) + qutip.tensor([qutip.basis(2, 1)] * n))
    psi = psi.unit()
    for k in range(GENES):
        g, ct, tg = int(gate[k]), int(control[k]), int(target[k])
        if g == 4:
            continue
        axis = 0 if g == 3 else g
        r = (-0.5j * angles[k] * paulis[axis]).expm()
        if g == 3:
            op = qutip.tensor(qutip.basis(2, 0).proj(), qutip.qeye(2)) + qutip.tensor(
                qutip.basis(2, 1).proj(), r)
            op = qutip.expand_operator(op, dims=[2] * n, targets=[ct, tg])
        else:
            op = qutip.expand_operator(r, dims=[2] * n, targets=[tg])
        psi = op * psi
    return psi


def qutip_states(n, gate, control, target, angles, h: float = 1e-4):
    """(rho(B0), d rho/dB) by ``mesolve`` at B0 and B0 +- h (central difference)."""
    import qutip

    psi = _qutip_probe(qutip, n, gate, control, target, angles)
    rho0 = qutip.ket2dm(psi)
    zs = [qutip.expand_operator(qutip.sigmaz(), dims=[2] * n, targets=[q]) for q in range(n)]
    hz = sum(zs[1:], zs[0])
    c_ops = [math.sqrt(GAMMA / 2) * z for z in zs]
    opts = {"atol": 1e-13, "rtol": 1e-11, "nsteps": 100_000, "progress_bar": False}

    def rho(b):
        return qutip.mesolve(0.5 * b * hz, rho0, [0.0, T], c_ops, options=opts).states[-1].full()

    return rho(B0), (rho(B0 + h) - rho(B0 - h)) / (2 * h)


@functools.cache
def quanestimation_qfim():
    """QuanEstimation's ``QFIM`` without its Julia start-up: importing the package (and its
    ``Common`` module, through ``import juliacall``) downloads and starts Julia, which an
    offline machine cannot; the QFIM itself is numpy. So the package's folders are mounted
    as bare namespaces and ``juliacall`` as an empty module before loading ``CramerRao``."""
    spec = importlib.util.find_spec("quanestimation")
    if spec is None:
        raise ImportError("quanestimation is not installed")
    base = Path(spec.submodule_search_locations[0])
    for name, path in (("quanestimation", base), ("quanestimation.base", base / "base"),
                       ("quanestimation.base.AsymptoticBound", base / "base/AsymptoticBound"),
                       ("quanestimation.base.Common", base / "base/Common")):
        if name not in sys.modules:
            mod = types.ModuleType(name)
            mod.__path__ = [str(path)]
            sys.modules[name] = mod
    sys.modules.setdefault("juliacall", types.ModuleType("juliacall"))
    return importlib.import_module("quanestimation.base.AsymptoticBound.CramerRao").QFIM


# ---------------------------------------------------------------------------- the bench
def _check(name, got, want, tol) -> float:
    got, want = np.asarray(got, float), np.asarray(want, float)
    err = float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-12)))
    if not err <= tol:
        raise AssertionError(f"{name}: QFI differs from qsense by {err:.2e} (relative) > {tol:g}")
    return err


def bench_n(n: int, size: int, reps: int, slow: int) -> list[dict]:
    gate, control, target, angles = job(n, size)
    circuit = "; ".join(f"{NAMES[int(g)]}({int(c)},{int(t)})" if g == 3 else
                        f"{NAMES[int(g)]}({int(t)})" for g, c, t in zip(gate, control, target,
                                                                        strict=True))
    rows: list[dict] = []
    ref_fn = qsense_pipeline(n, gate, control, target)
    ref = np.asarray(ref_fn(angles))
    noiseless = np.asarray(qsense_pipeline(n, gate, control, target, gamma=0.0)(angles[:1]))
    a1 = jnp.asarray(angles[:1])
    first1, one_s = timed(lambda: ref_fn(a1), reps)
    first, batch_s = timed(lambda: ref_fn(angles), reps)
    rows.append({"n": n, "tool": "qsense", "path": "make_fitness (jit+vmap)",
                 "agree_rel": 0.0, "one_s": one_s, "batch_s": batch_s, "compile_s": first,
                 "extrapolated": False})
    print(f"N={n}: circuit {circuit}")
    print(f"  qsense QFI[0] = {ref[0]:.10g} (noiseless {noiseless[0]:.6g})")

    def add(tool, path, batch_fn, one_fn, tol, per_circuit=False, note="", check_all=False):
        """check_all: a per-circuit path cheap enough to check on the whole batch (its time
        is still taken on ``slow`` circuits); the others are checked on those ``slow``."""
        row = {"n": n, "tool": tool, "path": path, "note": note, "extrapolated": per_circuit}
        try:
            if per_circuit:
                m = min(slow, size)
                k = size if check_all else m
                vals = [one_fn(angles[i]) for i in range(k)]
                row["agree_rel"] = _check(f"{tool} {path}", vals, ref[:k], tol)
                row["checked_circuits"] = k
                per = per_circuit_seconds(one_fn, [angles[i] for i in range(m)])
                row.update(one_s=per, batch_s=per * size, compile_s=0.0)
            else:
                vals = np.asarray(batch_fn(angles))
                row["agree_rel"] = _check(f"{tool} {path}", vals, ref, tol)
                _, row["one_s"] = timed(lambda: one_fn(jnp.asarray(angles[0])), reps)
                row["compile_s"], row["batch_s"] = timed(lambda: batch_fn(angles), reps)
        except ImportError as err:
            row.update(skipped=f"not installed ({err})")
        except AssertionError as err:
            row.update(skipped=f"disagrees: {err}")
        except Exception as err:  # noqa: BLE001 - a peer's own failure is reported, not fatal
            row.update(skipped=f"raised {type(err).__name__}: {str(err)[:200]}")
        print(f"  {tool:>14} {path:<34} " + (
            f"agree {row['agree_rel']:.1e}" if "skipped" not in row else row["skipped"]))
        rows.append(row)
        return row

    def lazy(builder, index):
        cache: dict = {}

        def get(*args):
            if "fns" not in cache:
                cache["fns"] = builder(n, gate, control, target)
            return cache["fns"][index](*args)
        return get

    add("tensorcircuit", "DMCircuit+kraus, jacfwd+eigh", lazy(tensorcircuit_pipeline, 0),
        lazy(tensorcircuit_pipeline, 1), TOL_EXACT)
    add("qujax", "densitytensor+Kraus, jacfwd+eigh", lazy(qujax_pipeline, 0),
        lazy(qujax_pipeline, 1), TOL_EXACT)
    add("pennylane", "default.mixed dm, jacfwd+eigh", lazy(pennylane_pipelines, 0),
        lazy(pennylane_pipelines, 1), TOL_EXACT)
    add("pennylane", "own fidelity (Bures, h=1e-3)", lazy(pennylane_pipelines, 3),
        lazy(pennylane_pipelines, 3), TOL_BURES, per_circuit=True, check_all=True,
        note="per circuit, jit: PennyLane has no noisy-QFI function; this is its fidelity")
    add("pennylane", "own fidelity (Bures), jit+vmap", lazy(pennylane_pipelines, 4),
        lazy(pennylane_pipelines, 3), TOL_BURES,
        note="the same fidelity path batched: a pipeline like the jacfwd + eigh ones")
    # PennyLane's QFI transform: compare with the noisy and the noiseless QFI, then flag
    row = {"n": n, "tool": "pennylane", "path": "own qml.gradients.quantum_fisher",
           "extrapolated": True}
    try:
        own = lazy(pennylane_pipelines, 2)
        m = min(slow, size)
        vals = np.array([own(angles[i]) for i in range(m)])
        rel_noisy = float(np.max(np.abs(vals - ref[:m]) / np.abs(ref[:m])))
        nl = np.asarray(qsense_pipeline(n, gate, control, target, gamma=0.0)(angles[:m]))
        rel_clean = float(np.max(np.abs(vals - nl) / np.abs(nl)))
        row["agree_rel"] = rel_noisy
        row["agree_rel_noiseless"] = rel_clean
        row["note"] = ("IGNORES THE NOISE: returns the noiseless QFI" if rel_clean < TOL_FD
                       and rel_noisy > TOL_FD else "")
        per = per_circuit_seconds(own, [angles[i] for i in range(m)])
        row.update(one_s=per, batch_s=per * size, compile_s=0.0)
        if rel_noisy > TOL_FD:
            row["timed_but_wrong"] = True
        print(f"  {'pennylane':>14} {'own quantum_fisher':<34} vs noisy {rel_noisy:.1e}, "
              f"vs noiseless {rel_clean:.1e} {row['note']}")
    except ImportError as err:
        row.update(skipped=f"not installed ({err})")
        print(f"  {'pennylane':>14} {'own quantum_fisher':<34} {row['skipped']}")
    except Exception as err:  # noqa: BLE001 - report the peer's own failure, keep going
        row.update(skipped=f"raised {type(err).__name__}: {str(err)[:200]}")
        print(f"  {'pennylane':>14} {'own quantum_fisher':<34} {row['skipped']}")
    rows.append(row)

    states: dict[bytes, tuple] = {}

    def qutip_one(a):
        rho, drho = qutip_states(n, gate, control, target, a)
        states[np.asarray(a).tobytes()] = (rho, drho)
        return float(qfi_eigh(rho, drho, xp=np))

    add("qutip", "mesolve +-h, eigh (numpy)", None, qutip_one, TOL_FD, per_circuit=True)
    try:
        qfim = quanestimation_qfim()

        def qe_one(a):
            key = np.asarray(a).tobytes()
            if key not in states:  # qutip skipped or failed: make the states here
                states[key] = qutip_states(n, gate, control, target, a)
            rho, drho = states[key]
            return float(qfim(rho, [drho]))

        add("quanestimation", "QFIM (SLD) on mesolve states", None, qe_one, TOL_FD,
            per_circuit=True, note="QFI step only (states from mesolve)")
    except ImportError as err:
        rows.append({"n": n, "tool": "quanestimation", "path": "QFIM",
                     "skipped": f"not installed ({err})"})
    except Exception as err:  # noqa: BLE001 - a peer's own failure is reported, not fatal
        rows.append({"n": n, "tool": "quanestimation", "path": "QFIM",
                     "skipped": f"raised {type(err).__name__}: {str(err)[:200]}"})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| N | tool | path | agrees (rel) | 1 circuit | batch | batch circuits/s | "
             "peer / qsense (batch) | note |", "|---|---|---|---|---|---|---|---|---|"]
    by_n: dict[int, float] = {r["n"]: r["batch_s"] for r in rows if r["tool"] == "qsense"}
    size = None
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['n']} | {r['tool']} | {r['path']} | — | — | — | — | — | "
                         f"skipped: {r['skipped']} |")
            continue
        size = size or r.get("size")
        tilde = "~" if r.get("extrapolated") else ""
        ratio = r["batch_s"] / by_n[r["n"]]
        note = r.get("note", "") + (" (value wrong: timed only)" if r.get("timed_but_wrong")
                                    else "")
        lines.append(
            f"| {r['n']} | {r['tool']} | {r['path']} | {r['agree_rel']:.1e} | "
            f"{r['one_s'] * 1e3:.3g} ms | {tilde}{r['batch_s'] * 1e3:.4g} ms | "
            f"{tilde}{r['size'] / r['batch_s']:.4g} | {ratio:.2f}x | {note} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="3,5,8", help="comma-separated qubit counts")
    ap.add_argument("--batch", type=int, default=256, help="angle sets per batch")
    ap.add_argument("--reps", type=int, default=3, help="warm calls timed (fastest kept)")
    ap.add_argument("--slow-circuits", type=int, default=4,
                    help="circuits the per-circuit peers run (their batch time is scaled)")
    ap.add_argument("--smoke", action="store_true",
                    help="N=3, batch 4, one rep, 1 slow circuit: agreement checks only")
    ap.add_argument("--out", default=str(Path(__file__).with_name("peers.json")))
    add_device_argument(ap)
    args = ap.parse_args(argv)
    if args.smoke:
        args.sizes, args.batch, args.reps, args.slow_circuits = "3", 4, 1, 1
    select_device(args.device)
    warnings.filterwarnings("ignore")
    versions = {}
    for pkg in ("jax", "tensorcircuit-ng", "qujax", "pennylane", "qutip", "quanestimation"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    rows: list[dict] = []
    for n in (int(s) for s in args.sizes.split(",")):
        for r in bench_n(n, args.batch, args.reps, args.slow_circuits):
            r["size"] = args.batch
            rows.append(r)
        md = table(rows)
        print(md, flush=True)
        Path(args.out).write_text(json.dumps({  # after every N: a long run keeps what it has
            "job": {"genes": GENES, "gamma": GAMMA, "t": T, "b0": B0, "noise": "dephasing",
                    "batch": args.batch, "dtype": "float64/complex128"},
            "smoke": args.smoke, "device": device_record(args.device), "versions": versions,
            "rows": rows, "markdown": md}, indent=2, default=float))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
