"""Shared by the benchmark scripts: the ``--device`` argument and the device record.

    ap = argparse.ArgumentParser(...)
    add_device_argument(ap)
    args = ap.parse_args()
    select_device(args.device)          # before the first JAX computation
    ...
    json.dump({..., "device": device_record(args.device)}, fh)

``--device cpu`` pins JAX to the host CPU, ``gpu`` requires a CUDA GPU (install with
``pip install -e ".[cuda]"``) and fails clearly without one, ``auto`` (default) takes JAX's
default backend (the GPU when a CUDA jaxlib sees one, else the CPU).
"""

from __future__ import annotations

import argparse
import os
import platform
from typing import Any

DEVICES = ("auto", "cpu", "gpu")


def add_device_argument(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--device", choices=DEVICES, default="auto",
                    help="where JAX runs: cpu, gpu (CUDA jaxlib: pip install -e '.[cuda]'), "
                         "or auto (JAX's default backend; default)")


def select_device(kind: str) -> Any:
    """Point JAX at ``kind`` (auto | cpu | gpu) and return the device computations run on.

    Call before the first JAX computation (the platform is fixed when the backend starts).
    Imports qsense first: its XLA CPU pool of cores + 1 threads (`qsense.blas`) is only set
    before JAX creates its backend, which the device lookup below does. A benchmark that
    imported qsense only after this call measured JAX's default pool, not what a user of
    qsense runs (benchmarks/RESULTS.md, "The benchmarks' XLA pool")."""
    import jax

    import qsense  # noqa: F401  (before the backend exists: see above)

    shared_compile_cache()
    if kind not in DEVICES:
        raise ValueError(f"--device = {kind!r} is invalid; accepted: one of {list(DEVICES)}")
    if kind == "cpu":
        jax.config.update("jax_platforms", "cpu")
    elif kind == "gpu":
        try:
            gpus = jax.devices("gpu")
        except RuntimeError as err:
            raise SystemExit(
                f"--device gpu: JAX sees no GPU ({err}). Install the CUDA build with "
                f"pip install -e '.[cuda]' on a machine with an NVIDIA GPU, or use --device cpu"
            ) from None
        jax.config.update("jax_default_device", gpus[0])
        return gpus[0]
    return jax.devices()[0]


def shared_compile_cache() -> None:
    """Benchmarks compile afresh (their first-call figures include compilation) unless
    ``QSENSE_COMPILE_CACHE`` names a cache directory: then they use it
    (`experiments.compiled.enable_compile_cache`). The test suite sets it, so the smoke runs
    load what other tests compiled. (`enable_compile_cache` itself reads the variable, "off"
    included; unset, it would pick the user's default cache.)"""
    from experiments.compiled import ENV, enable_compile_cache

    if os.environ.get(ENV):
        enable_compile_cache()


def device_record(kind: str = "auto") -> dict[str, Any]:
    """What the benchmark ran on, for its JSON: the requested kind, the JAX platform and
    devices, and the host (CPU count, machine)."""
    import jax

    from qsense.blas import xla_pool_threads

    dev = jax.devices("gpu")[0] if kind == "gpu" else jax.devices()[0]
    return {
        "requested": kind,
        "platform": dev.platform,
        "device_kind": getattr(dev, "device_kind", ""),
        "devices": [str(d) for d in jax.devices(dev.platform)],
        "jax": jax.__version__,
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "xla_cpu_pool_threads": xla_pool_threads(),
        # float32 matmuls: None is JAX's default, which on NVIDIA GPUs from Ampere on runs
        # them as TF32 (10-bit mantissa; ~1e-3 on the QFI, benchmarks/RESULTS.md);
        # JAX_DEFAULT_MATMUL_PRECISION=highest makes them true float32. float64 is unaffected.
        "matmul_precision": jax.config.jax_default_matmul_precision,
    }


def check_close(diff: float, tol: float, what: str) -> float:
    """Stop the benchmark (SystemExit) when ``diff`` (a difference between two variants it
    times, or a violated bound) exceeds ``tol`` or is NaN; return ``diff``. A benchmark whose
    variants compute different answers times nothing worth comparing (engine.py's
    ``check_agreement`` is the same rule at its own tolerances)."""
    diff = float(diff)
    if not diff <= tol:
        raise SystemExit(f"{what}: {diff:.3g} > {tol:.0e}; the variants disagree, so the "
                         "timings mean nothing")
    return diff


def max_rel_diff(a, b, floor: float = 0.0) -> float:
    """Largest ``|a - b| / max(|b|, floor)`` over the entries (0.0 for empty input); entries
    non-finite in both (an objective's -inf for a NaN score) count as equal, one-sided ones
    make it NaN (so `check_close` fails)."""
    import numpy as np

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("nan")
    both = ~np.isfinite(a) & ~np.isfinite(b)
    if not np.all(np.isfinite(a) | both) or not np.all(np.isfinite(b) | both):
        return float("nan")
    ok = ~both
    if not np.any(ok):
        return 0.0
    den = np.maximum(np.abs(b[ok]), floor)
    return float(np.max(np.abs(a[ok] - b[ok]) / np.where(den > 0, den, 1.0)))
