"""Every benchmark script runs in its smoke mode on the CPU, records the device in its JSON
(``--device``, benchmarks/_common.py) and records that the variants it times computed the same
answer (`CHECKS`: asserted here from the JSON, at tolerances written out here, not read from
the scripts; the scripts also stop on a disagreement, tests/benchmarks/test_checks.py). No
timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qsense.blas import cpu_cores

ROOT = Path(__file__).resolve().parents[2]


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def _engine(res: dict) -> None:
    for r in res["rows"]:  # numpy (per circuit and batched) vs the engine
        assert r["max_rel_diff_numpy_vs_engine"] <= {"float64": 1e-9, "float32": 1e-3}[
            r["precision"]], r


def _engine_composed(res: dict) -> None:
    for r in res["composed"]:
        assert r["max_rel_diff_composed_vs_make_fitness"] <= 1e-9, r
        assert r["max_rel_diff_numpy_vs_composed"] <= 1e-9, r  # N = 3: numpy runs


def _vqs(res: dict) -> None:
    # the timed generation's fitnesses are make_fitness's values of its chromosomes and times
    assert res["ga"] and all(r["max_rel_diff_vs_make_fitness"] <= 1e-9 for r in res["ga"])


def _links(res: dict) -> None:
    c = res["checks"]
    assert c["teleport_channel_vs_circuit_max_abs_diff"] <= 1e-10  # closed form vs protocol
    assert c["dual_downlink_vs_scalar_max_rel_diff"] <= 1e-12
    assert c["repeater_chain_vs_scalar_max_rel_diff"] <= 1e-12


def _routing(res: dict) -> None:
    (row,) = res["crossover"]
    runs = ("milp1", "milp", "benders", "plain")
    obj = [row[f"{r}_objective"] for r in runs]
    bound = [row[f"{r}_bound"] for r in runs]
    # every method at the optimum (a 15-binary instance) and no incumbent above any bound
    assert all(row[f"{r}_status"] == "optimal" for r in runs), row
    assert max(obj) <= min(bound) + 1e-6 * max(1.0, max(bound)), row
    assert max(obj) - min(obj) <= 1e-2 * max(1.0, max(bound)), row  # milp1's gap target
    assert all(abs(o - obj[1]) <= 1e-3 * max(1.0, obj[1]) for o in obj[1:]), row
    c = row["checks"]
    assert c["optimal_runs"] == list(runs) and c["cross_bound_excess"] <= 1e-6


def _blas_threads(res: dict) -> None:
    d = res["max_rel_diff_threads"]  # one OpenBLAS thread vs all cores: the same answers
    assert set(d) == {"eigh_d16", "eigh_d32", "eigh_d64", "score_n5_vector",
                      "score_grad_n5_vector"}
    assert all(v <= 1e-9 for k, v in d.items() if k != "score_grad_n5_vector"), d
    assert d["score_grad_n5_vector"] <= 1e-6, d


def _mixed_pair(r64: dict, r32: dict, what) -> None:
    assert r64["fitness_dtype"] == r32["fitness_dtype"] == "float64", what
    for r in (r64, r32):  # each reported best is its genome's float64 objective
        assert _rel(r["best_fitness"], r["best_fitness_rescored"]) <= 1e-9, what
    assert _rel(r32["best_fitness"], r64["best_fitness"]) <= 1e-2, what


def _mixed_precision(res: dict) -> None:
    assert res["rows"]
    for row in res["rows"]:
        _mixed_pair(row["float64"], row["mixed"], row)
        assert row["best_fitness_rel_diff"] <= 1e-2 and row["rescore_rel_diff"] <= 1e-9


def _eigh_in_program(res: dict) -> None:
    assert res["rows"]
    for r in res["rows"]:  # alone, after a loop, per matrix: bit-identical, numpy's values
        assert r["bit_identical_eigenvalues"] is True and r["max_abs_diff_vs_numpy"] <= 1e-12


def _scale(res: dict) -> None:
    cells = {r["dtype"]: r for r in res["fitness"]}
    assert cells["float64"]["status"] == cells["float32"]["status"] == "ok"
    # the float32 cell scores the float64 cell's circuits, to float32 rounding
    assert _rel(cells["float32"]["first_value"], cells["float64"]["first_value"]) <= 1e-3
    assert cells["float32"]["max_rel_diff_vs_float64"] <= 1e-3
    r64, r32 = res["ga"]
    assert r64["status"] == r32["status"] == "ok" and r32["score_dtype"] == "float32"
    _mixed_pair(r64, r32, res["ga"])
    assert r32["best_fitness_rel_diff"] <= 1e-2


def _ga_chunks(res: dict) -> None:
    rows = res["rows"]
    plain = [r for r in rows if r["chunk_rows"] is None]
    chunked = [r for r in rows if r["chunk_rows"] is not None]
    assert len(plain) == 1 and chunked
    for r in chunked:  # the chunked generation's fitnesses are the unchunked one's
        assert r["n_chunks"] > 1 and r["rows"] == r["n_chunks"] * r["chunk"] >= r["population"]
        assert r["max_rel_diff_vs_unchunked"] <= 1e-7
        assert r["xla_bytes"] < plain[0]["xla_bytes"]  # one chunk live at a time
    # --plan: the search's own plan (XLA's, on every device: here one) takes the whole small
    # population, and the estimate bounds it from above
    (plan,) = res["plans"]
    assert plan["chunk"] is None and 0 < plan["xla_bytes"] <= plan["estimate_bytes"]
    assert plan["xla_bytes"] < plan["limit_bytes"]


def _processes(res: dict) -> None:
    (row,) = res["rows"]
    # the K processes joined (each sees every process's device) and computed one process's
    # search: the same final fitnesses
    assert row["processes"] == 2 and len(row["one_process"]["devices"]) == 1
    assert [m["process"] for m in row["k_processes"]] == [0, 1]
    assert all(m["processes"] == 2 and len(m["devices"]) == 2 for m in row["k_processes"])
    assert row["max_rel_diff_vs_one_process"] <= 1e-9  # best fitness
    # a small search: no tie to flip, every row is one process's (1e-12)
    assert row["rows_moved_over_1e-12"] == 0 and row["max_rel_diff_of_rows"] <= 1e-12
    assert all(_rel(m["best"], row["one_process"]["best"]) <= 1e-9 for m in row["k_processes"])


def _plan_repeat(res: dict) -> None:
    steps = {s["step"]: s for s in res["steps"]}
    assert list(steps) == ["fresh", "other layout", "again", "planner"]
    # on the CPU the one program's plan is the same however it is compiled: fresh, after
    # another layout, recompiled after clearing JAX's caches, and through the search's planner
    fresh = steps["fresh"]["xla_bytes"]
    assert fresh > 0 and steps["again"]["xla_bytes"] == fresh
    assert steps["planner"]["xla_bytes"] == fresh
    assert steps["other layout"]["xla_bytes"] > fresh  # 2 chunks of 5 rows hold more than 3
    lay = [(steps[k]["n_chunks"], steps[k]["chunk"]) for k in ("fresh", "other layout")]
    assert lay == [(4, 3), (2, 5)] and steps["planner"]["chunk"] == 3
    s = res["search"]  # the search keeps the GHZ probe's fitness at least
    assert s["fitness"] >= s["ghz_fitness"] * (1 - 1e-9) and len(s["best_history"]) == 2


#: per smoke run: what its JSON must show about its variants' agreement
CHECKS = {"engine": _engine, "engine --composed": _engine_composed, "vqs": _vqs,
          "links": _links, "routing": _routing, "blas_threads": _blas_threads,
          "mixed_precision": _mixed_precision, "eigh_in_program": _eigh_in_program,
          "scale": _scale, "ga_chunks --plan": _ga_chunks, "processes": _processes,
          "plan_repeat": _plan_repeat}


@pytest.mark.parametrize("script", ["engine", "engine --composed", "vqs", "links", "routing",
                                    "blas_threads", "mixed_precision", "eigh_in_program",
                                    "scale", "ga_chunks --plan", "processes",
                                    "plan_repeat"])
def test_benchmark_smoke_records_device_and_agreement(script, tmp_path):
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
    # float32 matmul precision recorded (JAX's default, None, is TF32 on recent NVIDIA GPUs)
    assert rec["matmul_precision"] == env.get("JAX_DEFAULT_MATMUL_PRECISION"), rec
    CHECKS[script](res)


class _Parsed(Exception):
    pass


PART1 = ["benchmarks/scale.py", "benchmarks/scale.py", "benchmarks/engine.py",
         "benchmarks/mixed_precision.py"]
PART2 = ["benchmarks/scale.py", "benchmarks/ga_chunks.py", "benchmarks/ga_chunks.py",
         "benchmarks/scale.py"]
PART3 = ["benchmarks/scale.py", "benchmarks/scale.py", "benchmarks/ga_chunks.py",
         "benchmarks/ga_chunks.py"]
#: the step of each mode that must run with true float32 matmuls (JAX's default on NVIDIA
#: GPUs is TF32): part 3's first, which measures float32 at that precision
HIGHEST = {"--part3": 0}
PART4 = ["benchmarks/plan_repeat.py"]


@pytest.mark.parametrize("mode,steps", [([], PART1), (["--smoke"], PART1),
                                        (["--part2"], PART2), (["--part2", "--smoke"], PART2),
                                        (["--part3"], PART3), (["--part3", "--smoke"], PART3),
                                        (["--part4"], PART4), (["--part4", "--smoke"], PART4)])
def test_device_run_passes_each_script_arguments_it_accepts(mode, steps, tmp_path,
                                                            monkeypatch):
    """benchmarks/device_run.sh (the one prepared GPU run) with a stub interpreter that logs
    its arguments: each benchmark command it would run is then parsed by that script's own
    argparse (an option renamed in a script fails here, not on a lent GPU's minutes), the
    steps come in the planned order, every JSON goes to $OUT, and only the steps meant to
    measure true float32 matmuls get JAX_DEFAULT_MATMUL_PRECISION=highest."""
    import argparse
    import importlib

    log = tmp_path / "argv.txt"
    stub = tmp_path / "python"
    env_log = tmp_path / "precision.txt"
    stub.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done >> {log}\n'
                    f'echo "--end--" >> {log}\n'
                    f'echo "$1 ${{JAX_DEFAULT_MATMUL_PRECISION:-unset}}" >> {env_log}\n')
    stub.chmod(0o755)
    out = tmp_path / "out"
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "device_run.sh"), *mode],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in {**os.environ, "PYTHON": str(stub),
                                                 "OUT": str(out)}.items()
                               if k != "JAX_DEFAULT_MATMUL_PRECISION"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = [c.strip("\n").split("\n") for c in log.read_text().split("--end--\n") if c]
    runs = [c for c in calls if c[0].startswith("benchmarks/")]
    assert [c[0] for c in runs] == steps
    precision = [line.split()[1] for line in env_log.read_text().splitlines()
                 if line.startswith("benchmarks/")]
    want = ["unset"] * len(steps)
    if mode and mode[0] in HIGHEST:
        want[HIGHEST[mode[0]]] = "highest"
    assert precision == want
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
        assert ns.device == ("cpu" if "--smoke" in mode else "gpu")
        assert ns.smoke == ("--smoke" in mode)
        assert Path(ns.out).parent == out and Path(ns.out).suffix == ".json"
        outs.append(ns.out)
    assert len(set(outs)) == len(outs)  # no step overwrites another's JSON
    # the device tool brings back 8 files at most: the JSONs plus the logs the run wrote
    logs = [f.name for f in out.iterdir()]
    assert logs and all(f.endswith(".log") for f in logs)
    assert len(set(logs) | {Path(o).name for o in outs}) <= 8


def test_device_run_refuses_an_unknown_argument(tmp_path):
    """Before anything runs or is written (no $OUT made)."""
    out = tmp_path / "out"
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "device_run.sh"), "--part5"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHON": "false", "OUT": str(out)})
    assert proc.returncode == 2 and "--part5" in proc.stderr and "--part4" in proc.stderr
    assert not out.exists()
    for two in (["--part2", "--part3"], ["--part3", "--part4"], ["--part2", "--part4"]):
        proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "device_run.sh"), *two],
                              cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHON": "false", "OUT": str(out)})
        assert proc.returncode == 2 and "separate runs" in proc.stderr and not out.exists()


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
