"""OpenBLAS threads and the engine's LAPACK calls (qsense.blas): one thread vs OpenBLAS's default.

JAX's CPU ``eigh`` calls LAPACK once per matrix; for d >= 32 OpenBLAS hands BLAS-3 work to its
own threads. Each variant runs in a fresh interpreter with ``OPENBLAS_NUM_THREADS`` set (so
``import qsense`` keeps the user's choice), timing

* a batched ``eigh`` of B complex Hermitian d x d matrices (d = 16, 32, 64), and
* the objective with its gradient for a population of B random N = 5 genomes (vector field,
  bit flip: the general QFIM path, eigh forward and backward).

Run it once on a quiet machine and once while another job keeps the cores busy (``--load``
starts one busy-loop process per core for the duration): the default threads are what
oversubscription punishes.

    python benchmarks/blas_threads.py [--batch 144] [--load] [--smoke] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
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
jax.config.update("jax_enable_x64", True)
from _common import shared_compile_cache
shared_compile_cache()
if sys.argv[3] == "cpu":
    jax.config.update("jax_platforms", "cpu")
import qsense
from qsense.genome import random_genome
from qsense.objective import Problem, score
batch, reps = int(sys.argv[1]), int(sys.argv[2])

def best(f, *a):
    jax.block_until_ready(f(*a))
    out = []
    for _ in range(reps):
        t0 = time.perf_counter(); jax.block_until_ready(f(*a)); out.append(time.perf_counter() - t0)
    return min(out)

rng = np.random.default_rng(0)
res = {"threads": qsense.blas.blas_threads()}
vals = {}  # what each timed call computed: the parent compares the thread counts' answers
for d in (16, 32, 64):
    x = rng.normal(size=(batch, d, d)) + 1j * rng.normal(size=(batch, d, d))
    x = jnp.asarray(x + np.conj(np.swapaxes(x, 1, 2)))
    eig = jax.jit(jnp.linalg.eigh)
    res[f"eigh_d{d}"] = best(eig, x)
    vals[f"eigh_d{d}"] = np.asarray(eig(x)[0]).tolist()
p = Problem(5, "bitflip", 0.1, "vector", (0.0, 0.0, 0.0))
pop = jax.vmap(lambda k: random_genome(k, 5, 16))(jax.random.split(jax.random.PRNGKey(0), batch))
ts = jnp.linspace(1.0, 10.0, batch)
g = jax.jit(jax.vmap(jax.value_and_grad(lambda gg, t: score(p, gg, t), argnums=(0, 1),
                                        allow_int=True)))
res["score_grad_n5_vector"] = best(g, pop, ts)
(v, (dg, dt)) = g(pop, ts)
vals["score_n5_vector"] = np.asarray(v).tolist()
vals["score_grad_n5_vector"] = np.concatenate([np.asarray(dg.angle).ravel(),
                                               np.asarray(dt).ravel()]).tolist()
res["values"] = vals
print(json.dumps(res))
"""


def _busy() -> None:  # pragma: no cover - load generator
    while True:
        pass


def run_variant(threads: str, batch: int, reps: int, device: str) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS=threads)
    here = str(Path(__file__).resolve().parent)  # the child imports _common
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
    out = subprocess.run([sys.executable, "-c", CHILD, str(batch), str(reps), device], env=env,
                         capture_output=True, text=True, timeout=1800, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


#: Largest difference between the two thread counts' answers that the benchmark accepts, as
#: max |one thread - all cores| / max |one thread| per quantity (measured on 2 cores, batch 4
#: and 32: bit-identical). Eigenvalues and objective values: float64 rounding; the gradient
#: goes through eigh's backward pass, which divides by eigenvalue gaps: looser.
AGREEMENT = {"eigh_d16": 1e-9, "eigh_d32": 1e-9, "eigh_d64": 1e-9, "score_n5_vector": 1e-9,
             "score_grad_n5_vector": 1e-6}


def variant_differences(one: dict, many: dict) -> dict:
    """max |one - many| / max |one| for each quantity of `AGREEMENT` (the ``values`` the
    children computed; NaN when the shapes differ or a value is not finite)."""
    import numpy as np

    out = {}
    for k in AGREEMENT:
        a, b = np.asarray(one[k], float), np.asarray(many[k], float)
        if a.shape != b.shape or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            out[k] = float("nan")
        else:
            out[k] = float(np.max(np.abs(a - b), initial=0.0)
                           / max(float(np.max(np.abs(a), initial=0.0)), 1e-300))
    return out


def check_variants(diffs: dict) -> None:
    """Stop (SystemExit) when one thread and all cores computed different answers."""
    for k, tol in AGREEMENT.items():
        check_close(diffs[k], tol, f"{k}, one OpenBLAS thread vs all cores (relative to the "
                                   "largest magnitude)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--batch", type=int, default=144, help="matrices / genomes per call")
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions (best is reported)")
    ap.add_argument("--load", action="store_true", help="keep every core busy meanwhile")
    ap.add_argument("--smoke", action="store_true", help="tiny batch, one repetition")
    ap.add_argument("--out", default=str(Path(__file__).with_name("blas_threads.json")))
    add_device_argument(ap)
    args = ap.parse_args()
    select_device(args.device)
    batch, reps = (4, 1) if args.smoke else (args.batch, args.reps)
    ncpu = os.cpu_count() or 1
    busy = [mp.Process(target=_busy, daemon=True) for _ in range(ncpu if args.load else 0)]
    for b in busy:
        b.start()
    try:
        rows = {"1 (qsense default)": run_variant("1", batch, reps, args.device),
                f"{ncpu} (OpenBLAS default: all cores)": run_variant(str(ncpu), batch, reps,
                                                                     args.device)}
    finally:
        for b in busy:
            b.terminate()
    one, many = (r.pop("values") for r in rows.values())
    diffs = variant_differences(one, many)
    keys = [k for k in next(iter(rows.values())) if k != "threads"]
    print(f"batch {batch}, best of {reps}, load={'busy cores' if args.load else 'none'}; "
          "seconds per call")
    print(f"{'OpenBLAS threads':<34}" + "".join(f"{k:>22}" for k in keys))
    for name, r in rows.items():
        print(f"{name:<34}" + "".join(f"{r[k]:>22.4f}" for k in keys))
    one, many = rows.values()
    print(f"{'speed-up of 1 thread':<34}" + "".join(f"{many[k] / one[k]:>21.1f}x" for k in keys))
    print("one thread vs all cores, max difference / max magnitude: "
          + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
    Path(args.out).write_text(json.dumps({"batch": batch, "reps": reps, "load": args.load,
                                          "rows": rows, "max_rel_diff_threads": diffs,
                                          "agreement_tolerance": AGREEMENT,
                                          "device": device_record(args.device)}, indent=1))
    check_variants(diffs)  # after the JSON: a disagreeing run keeps its record


if __name__ == "__main__":
    main()
