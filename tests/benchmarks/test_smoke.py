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


@pytest.mark.parametrize("script", ["engine", "engine --composed", "vqs", "links", "routing",
                                    "blas_threads", "mixed_precision", "eigh_in_program",
                                    "scale"])
def test_benchmark_smoke_records_device(script, tmp_path):
    name, *extra = script.split()
    out = tmp_path / "out.json"  # --out is honoured (engine --composed wrote beside it once)
    # no pool size chosen (this process's `import qsense` exported one: drop it)
    env = {k: v for k, v in os.environ.items() if k not in ("PJRT_NPROC", "NPROC")}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), *extra,
                           "--smoke", "--device", "cpu", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    rec = res.get("device") if isinstance(res.get("device"), dict) else None
    rec = rec or res.get("device_record") or res.get("meta", {}).get("device")
    assert rec["requested"] == "cpu" and rec["platform"] == "cpu" and rec["devices"]
    # the benchmark ran on the XLA pool a qsense user gets (cores + 1, `qsense.blas`), not on
    # JAX's default one: select_device imports qsense before the backend starts
    assert rec["xla_cpu_pool_threads"] == cpu_cores() + 1, rec


class _Parsed(Exception):
    pass


@pytest.mark.parametrize("mode", [[], ["--smoke"]])
def test_device_run_passes_each_script_arguments_it_accepts(mode, tmp_path, monkeypatch):
    """benchmarks/device_run.sh (the one prepared GPU run) with a stub interpreter that logs
    its arguments: each benchmark command it would run is then parsed by that script's own
    argparse (an option renamed in a script fails here, not on a lent GPU's minutes), the
    steps come in the planned order, and every JSON goes to $OUT."""
    import argparse
    import importlib

    log = tmp_path / "argv.txt"
    stub = tmp_path / "python"
    stub.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done >> {log}\n'
                    f'echo "--end--" >> {log}\n')
    stub.chmod(0o755)
    out = tmp_path / "out"
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "device_run.sh"), *mode],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHON": str(stub), "OUT": str(out)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = [c.strip("\n").split("\n") for c in log.read_text().split("--end--\n") if c]
    runs = [c for c in calls if c[0].startswith("benchmarks/")]
    assert [c[0] for c in runs] == ["benchmarks/scale.py", "benchmarks/scale.py",
                                    "benchmarks/engine.py", "benchmarks/mixed_precision.py"]
    outs = []

    def parsed(self, args=None, namespace=None):
        raise _Parsed(argparse.ArgumentParser.parse_known_args(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parsed)
    for argv in runs:
        mod = importlib.import_module(argv[0][:-3].replace("/", "."))
        monkeypatch.setattr(sys, "argv", argv)
        with pytest.raises(_Parsed) as got:
            mod.main()
        ns, unknown = got.value.args[0]
        assert unknown == [], (argv, unknown)
        assert ns.device == ("cpu" if mode else "gpu")
        assert Path(ns.out).parent == out and Path(ns.out).suffix == ".json"
        outs.append(ns.out)
    assert len(set(outs)) == len(outs)  # no step overwrites another's JSON
    # the device tool brings back 8 files at most: the JSONs plus the logs the run wrote
    logs = [f.name for f in out.iterdir()]
    assert logs and all(f.endswith(".log") for f in logs)
    assert len(set(logs) | {Path(o).name for o in outs}) <= 8


def test_engine_benchmark_stops_when_the_implementations_disagree():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from engine import AGREEMENT, check_agreement
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    check_agreement(AGREEMENT["float64"] / 2, "float64", "ok")
    with pytest.raises(SystemExit, match="disagree"):
        check_agreement(1e-6, "float64", "numpy vs engine")
    with pytest.raises(SystemExit, match="disagree"):
        check_agreement(float("nan"), "float32", "numpy vs engine")
