"""Why a QFI program's batched ``eigh`` runs slower than the same ``eigh`` alone (CPU).

jaxlib 0.10's CPU ``eigh`` splits a batch into as many chunks as XLA's intra-op pool has threads
(``ParallelBatchMap`` in ``jaxlib/cpu/lapack_kernels.cc``) and blocks its calling thread until
they are done. Called alone, from the Python thread, every pool thread factorizes. Inside a
program it is called from whichever thread finished the ops before it; after a ``while`` loop
over large buffers (``lax.scan`` in `qsense.apply_pqc`, the probe of every QFI) that is a pool
thread, which then only waits: P chunks on P - 1 threads take two rounds. This script measures
that, per XLA pool size (each in a fresh interpreter, ``PJRT_NPROC``), complex128:

* ``alone``: ``jit(eigh)`` of B random full-rank density matrices (the issues' reference);
* ``after loop``: the same matrices, passed through a data-dependent ``fori_loop`` (identity
  arithmetic, so the eigh's input is bit-identical) and then ``eigh``, in one program;
* ``per matrix``: the same loop, then B independent single-matrix ``eigh`` calls (one LAPACK
  call each, no chunking, so nothing blocks; the thunk executor runs them concurrently). Its
  compile time grows with B, which is why qsense does not do this (measured below);
* the eigenvalues of all three agree bit for bit, and with numpy's ``eigvalsh`` of the same
  matrices to 1e-12 (checked: the script stops otherwise, `check_row`).

    python benchmarks/eigh_in_program.py [--sizes 5,8] [--batch 256] [--pools 2,3,5] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_device_argument, check_close, device_record, select_device  # noqa: E402

CHILD = r"""
import json, sys, time
import numpy as np
import jax, jax.numpy as jnp
from jax import lax
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")
import qsense  # noqa: F401  (one OpenBLAS thread; PJRT_NPROC is set by the parent)
n, batch, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
d = 2 ** n
rng = np.random.default_rng(0)
a = rng.normal(size=(batch, d, d)) + 1j * rng.normal(size=(batch, d, d))
rho = a @ np.conj(np.swapaxes(a, 1, 2))
rho = jnp.asarray(rho / np.trace(rho, axis1=1, axis2=2).real[:, None, None])

def timed(f, *args):
    t0 = time.perf_counter(); jax.block_until_ready(f(*args)); first = time.perf_counter() - t0
    best = None
    for _ in range(reps):
        c0, t0 = time.process_time(), time.perf_counter()
        jax.block_until_ready(f(*args))
        w, c = time.perf_counter() - t0, time.process_time() - c0
        if best is None or w < best[0]:
            best = (w, c)
    return first, best[0], best[1]

def loop(x, k, one):  # a while loop over the whole batch; XLA sees neither the trip count
    return lax.fori_loop(0, k, lambda i, y: y * one, x)  # nor that one == 1.0 (bit identity)

def per_matrix(x):
    outs = [jnp.linalg.eigh(x[i]) for i in range(x.shape[0])]
    return jnp.stack([o[0] for o in outs]), jnp.stack([o[1] for o in outs])

k, one = jnp.asarray(2), jnp.asarray(1.0, rho.dtype)
variants = {"alone": (jax.jit(jnp.linalg.eigh), (rho,)),
            "after_loop": (jax.jit(lambda x, k, o: jnp.linalg.eigh(loop(x, k, o))), (rho, k, one)),
            "per_matrix": (jax.jit(lambda x, k, o: per_matrix(loop(x, k, o))), (rho, k, one))}
res = {"n_qubits": n, "batch": batch, "pool": int(__import__("os").environ["PJRT_NPROC"])}
lams = {}
for name, (f, args) in variants.items():
    first, wall, cpu = timed(f, *args)
    res[name] = {"wall_s": wall, "cpu_s": cpu, "compile_s": max(first - wall, 0.0)}
    lams[name] = np.asarray(f(*args)[0])
res["bit_identical_eigenvalues"] = bool(all(np.array_equal(lams["alone"], v)
                                            for v in lams.values()))
ref = np.linalg.eigvalsh(np.asarray(rho))  # the reference: numpy's LAPACK, outside XLA
res["max_abs_diff_vs_numpy"] = float(max(np.max(np.abs(v - ref)) for v in lams.values()))
print(json.dumps(res))
"""


#: Largest |eigenvalue - numpy's| accepted (trace-1 matrices, float64; measured 3e-16 at N = 3).
NUMPY_AGREEMENT = 1e-12


def check_row(r: dict) -> None:
    """Stop (SystemExit) when the variants' eigenvalues are not bit-identical or differ from
    numpy's by more than `NUMPY_AGREEMENT`: the three timings would not compute one thing."""
    where = f"N={r['n_qubits']} pool={r['pool']}"
    if r["bit_identical_eigenvalues"] is not True:
        raise SystemExit(f"{where}: the variants' eigenvalues differ (alone, after a loop, per "
                         "matrix); the timings mean nothing")
    check_close(r["max_abs_diff_vs_numpy"], NUMPY_AGREEMENT,
                f"{where}: eigenvalues vs numpy's eigvalsh, max abs difference")


def run_child(n: int, batch: int, reps: int, pool: int) -> dict:
    env = dict(os.environ, PJRT_NPROC=str(pool))
    env.pop("NPROC", None)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(n), str(batch), str(reps)],
                          env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"child N={n} pool={pool} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    lines = ["| N | pool threads | eigh alone | after a loop | after / alone | per matrix | "
             "per matrix / alone | per-matrix compile | CPU/wall: alone, after, per matrix |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        a, b, c = r["alone"], r["after_loop"], r["per_matrix"]
        lines.append(
            f"| {r['n_qubits']} | {r['pool']} | {a['wall_s'] * 1e3:.1f} ms | "
            f"{b['wall_s'] * 1e3:.1f} ms | {b['wall_s'] / a['wall_s']:.2f} | "
            f"{c['wall_s'] * 1e3:.1f} ms | {c['wall_s'] / a['wall_s']:.2f} | "
            f"{c['compile_s']:.1f} s | {a['cpu_s'] / a['wall_s']:.2f}, "
            f"{b['cpu_s'] / b['wall_s']:.2f}, {c['cpu_s'] / c['wall_s']:.2f} |")
    return "\n".join(lines)


def _ints(text: str, name: str) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SystemExit(f"--{name} = {text!r} is invalid; accepted: comma-separated "
                         f"integers, e.g. 5,8") from None
    if not vals or min(vals) < 1:
        raise SystemExit(f"--{name} = {text!r} is invalid; accepted: integers >= 1")
    return vals


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="5,8", help="qubit counts N (matrices 2^N x 2^N)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--pools", default=None,
                    help="XLA pool sizes to compare (default: cores, cores + 1 as qsense "
                         "sets it, 2 cores + 1)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat")
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    add_device_argument(ap)
    args = ap.parse_args(argv)
    if args.device == "gpu":
        raise SystemExit("--device gpu: this measures jaxlib's CPU LAPACK kernels; use cpu")
    select_device("cpu")
    from qsense.blas import cpu_cores

    cores = cpu_cores()
    sizes = [3] if args.smoke else _ints(args.sizes, "sizes")
    batch = 8 if args.smoke else args.batch
    reps = 1 if args.smoke else args.reps
    pools = ([cores + 1] if args.smoke else
             _ints(args.pools, "pools") if args.pools else [cores, cores + 1, 2 * cores + 1])
    if batch < 1 or reps < 1:
        raise SystemExit("--batch and --reps must be >= 1")
    rows = []
    for n in sizes:
        for pool in pools:
            r = run_child(n, batch, reps, pool)
            check_row(r)
            rows.append(r)
            print(f"N={n} pool={pool}: alone {r['alone']['wall_s'] * 1e3:.1f} ms, after loop "
                  f"{r['after_loop']['wall_s'] * 1e3:.1f} ms, per matrix "
                  f"{r['per_matrix']['wall_s'] * 1e3:.1f} ms", flush=True)
    print(table(rows))
    with open(args.out, "w") as fh:
        json.dump({"cores": cores, "rows": rows, "device": device_record("cpu")}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
