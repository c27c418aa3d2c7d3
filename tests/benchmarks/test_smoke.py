"""Every benchmark script runs in its smoke mode on the CPU and records the device in its
JSON (``--device``, benchmarks/_common.py). No timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qsense.blas import cpu_cores

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("script", ["engine", "vqs", "links", "routing", "blas_threads",
                                    "mixed_precision", "eigh_in_program", "scale"])
def test_benchmark_smoke_records_device(script, tmp_path):
    out = tmp_path / f"{script}.json"
    # no pool size chosen (this process's `import qsense` exported one: drop it)
    env = {k: v for k, v in os.environ.items() if k not in ("PJRT_NPROC", "NPROC")}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), "--smoke",
                           "--device", "cpu", "--out", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    rec = res.get("device") if isinstance(res.get("device"), dict) else None
    rec = rec or res.get("device_record") or res.get("meta", {}).get("device")
    assert rec["requested"] == "cpu" and rec["platform"] == "cpu" and rec["devices"]
    # the benchmark ran on the XLA pool a qsense user gets (cores + 1, `qsense.blas`), not on
    # JAX's default one: select_device imports qsense before the backend starts
    assert rec["xla_cpu_pool_threads"] == cpu_cores() + 1, rec
