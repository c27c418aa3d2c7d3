"""Every benchmark script runs in its smoke mode on the CPU and records the device in its
JSON (``--device``, benchmarks/_common.py). No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("script", ["engine", "vqs", "links", "routing", "blas_threads",
                                    "mixed_precision", "eigh_in_program"])
def test_benchmark_smoke_records_device(script, tmp_path):
    out = tmp_path / f"{script}.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), "--smoke",
                           "--device", "cpu", "--out", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    rec = res.get("device") if isinstance(res.get("device"), dict) else None
    rec = rec or res.get("device_record") or res.get("meta", {}).get("device")
    assert rec["requested"] == "cpu" and rec["platform"] == "cpu" and rec["devices"]
