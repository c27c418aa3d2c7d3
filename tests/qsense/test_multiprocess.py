"""Two processes joined by `jax.distributed`, as two SLURM tasks of one job step on one machine:
the sharded GA and refinement give one device's numbers (float64, 1e-12), and the processes
resume from the same checkpoint whatever each finds at its own path.

Each process is started with the variables SLURM sets for a task (``SLURM_JOB_ID``,
``SLURM_STEP_NODELIST``, ``SLURM_NTASKS``, ``SLURM_PROCID``, ``SLURM_LOCALID``:
`qsense.distributed.local_task_envs`) and calls
`qsense.distributed.initialize`, the call `experiments.run` makes: JAX's SLURM cluster puts the
coordinator on the first node of the step (here ``localhost``) at port
``SLURM_JOB_ID % 4096 + 61440``, and the two CPU processes exchange their collectives over
gloo. Each process has one CPU device, so a population spans both processes' devices, as on
two hosts. Run with a timeout: a hang (mismatched collectives) fails the test. Also: process 0
starting `LATE_S` s late (`initialize` sets the collectives up first), and table1's reference
worker run once, by process 0, for both processes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.outputs import read_csv
from qsense import distributed
from tests.experiments.helpers import TABLE1_TINY_CELL

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 300
#: process 0 of the library test starts this much later than process 1 (s): more than the
#: 30 s that gloo's set-up of the collectives waits for a missing process
LATE_S = 35

WORKER = r"""
import json, sys
from pathlib import Path
import numpy as np
import qsense
from qsense import distributed
import jax
jax.config.update("jax_enable_x64", True)

spec = json.loads(sys.argv[1])
out = {"initialized": distributed.initialize(), "process": jax.process_index(),
       "processes": jax.process_count(), "devices": [str(d) for d in jax.devices()]}
me = jax.process_index()
if me == 0:
    # a slow start: process 0 reaches the first collective (the GA's checkpoint read) over
    # 30 s after process 1, which gloo's set-up would not wait for unless `initialize` had
    # set the collectives up while the processes were together
    import time
    time.sleep(spec["late_s"])

from experiments.checkpoint import Checkpoint, CheckpointMismatch
from qsense.genetic import GAConfig, search
from qsense.genome import random_genome
from qsense.objective import Problem
from qsense.optimize import optimize_angles

# the GA, resumed from each process's own checkpoint path (process 0's holds generation 1,
# process 1's nothing or another search's file): both must take process 0's
prob = Problem(2, "dephasing", 0.2)
cfg = GAConfig(population=7, generations=3, max_genes=5, elite=2, n_t=2, local_steps=1)
r = search(prob, cfg, seed=5, checkpoint=spec["ga_checkpoint"][me])
pop = r.population
out["ga"] = {k: distributed.to_host(getattr(pop, k)).tolist()
             for k in ("gate", "control", "target", "angle")}
out["ga"].update(fit=r.fitnesses.tolist(), ts=r.ts.tolist(), best=r.history["best"].tolist(),
                 ghz=r.ghz_fitness, devices=r.devices,
                 shards=len(pop.angle.sharding.device_set))

# refinement restarts sharded over both processes' devices (5 restarts, padded to 6)
starts = jax.vmap(lambda k: random_genome(k, 2, 4))(jax.random.split(jax.random.PRNGKey(7), 5))
o = optimize_angles(prob, starts, steps=3, learning_rate=0.05, t0=np.full(5, 2.0))
out["refine"] = {"values": o.values.tolist(), "ts": o.ts.tolist(),
                 "angle": np.asarray(o.genomes.angle).tolist()}

# an experiment checkpoint: each process reads its own path, both get process 0's cells
out["cells"] = dict(Checkpoint(spec["cells"][me], {"m": 1}).items())
# process 0's file refused (other settings): every process raises, none waits for the rest
try:
    Checkpoint(spec["refused"][me], {"m": 1})
    out["refused"] = None
except CheckpointMismatch as err:
    out["refused"] = type(err).__name__
print("RESULT" + json.dumps(out), flush=True)
"""


def _results(stdouts: list[str]) -> list[dict]:
    outs = []
    for stdout in stdouts:
        line = [x for x in stdout.splitlines() if x.startswith("RESULT")][-1]
        outs.append(json.loads(line[len("RESULT"):]))
    return outs


def _two_tasks(argv: list[str]) -> list[str]:
    """Run ``argv`` as tasks 0 and 1 of a 2-task SLURM step on this machine; their stdouts."""
    return _finish(_start(argv))


def _start(argv: list[str]) -> list[subprocess.Popen]:
    """Start ``argv`` as tasks 0 and 1 of a 2-task SLURM step on this machine."""
    procs = []
    for env in distributed.local_task_envs(2):
        env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
        # one CPU device per process (a forced device count from the caller would add more)
        env["XLA_FLAGS"] = " ".join(f for f in env.get("XLA_FLAGS", "").split()
                                    if "force_host_platform_device_count" not in f)
        procs.append(subprocess.Popen(argv, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE))
    return procs


def _finish(procs: list[subprocess.Popen]) -> list[str]:
    """Wait for the tasks `_start` started (``TIMEOUT_S`` each); their stdouts."""
    outs = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=TIMEOUT_S)
            assert p.returncode == 0, stderr[-3000:]
            outs.append(stdout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"two SLURM tasks did not finish in {TIMEOUT_S} s (mismatched collectives?)")
    finally:
        for p in procs:
            p.kill()
            p.wait()
    return outs


class _Stop(Exception):
    pass


def _stop_after_1(generation: int, best: float) -> None:
    if generation == 1:
        raise _Stop


@pytest.fixture(scope="module")
def two_tasks(tmp_path_factory):
    import jax

    from experiments.checkpoint import Checkpoint
    from qsense.genetic import GAConfig, search
    from qsense.genome import random_genome
    from qsense.objective import Problem
    from qsense.optimize import optimize_angles

    d = tmp_path_factory.mktemp("two_tasks")
    one = jax.devices()[:1]
    prob = Problem(2, "dephasing", 0.2)
    cfg = GAConfig(population=7, generations=3, max_genes=5, elite=2, n_t=2, local_steps=1)
    # process 0's GA checkpoint: this very search stopped after generation 1; process 1's:
    # another seed's search at its path (resuming from it is refused), as a node-local disk
    # may hold
    ga0, ga1 = d / "ga0.npz", d / "ga1.npz"
    for seed, path in ((5, ga0), (6, ga1)):
        with pytest.raises(_Stop):
            search(prob, cfg, seed=seed, checkpoint=path, devices=one, callback=_stop_after_1)
    # experiment checkpoints: process 0's has a cell; process 1's was written with other
    # settings (reading it alone would refuse it)
    c0, c1, r0, r1 = (d / f"{name}.json" for name in ("c0", "c1", "r0", "r1"))
    Checkpoint(c0, {"m": 1}).put("a", 1.5)
    Checkpoint(c1, {"m": 2}).put("b", 2.5)
    Checkpoint(r0, {"m": 2}).put("b", 2.5)  # process 0's refused file; process 1 has none
    spec = {"ga_checkpoint": [str(ga0), str(ga1)], "cells": [str(c0), str(c1)],
            "refused": [str(r0), str(d / "none.json")],
            "late_s": LATE_S}
    procs = _start([sys.executable, "-c", WORKER, json.dumps(spec)])
    # one device's search and refinement, here while process 0 waits its LATE_S
    try:
        ref = search(prob, cfg, seed=5, devices=one)
        starts = jax.vmap(lambda k: random_genome(k, 2, 4))(
            jax.random.split(jax.random.PRNGKey(7), 5))
        ref_opt = optimize_angles(prob, starts, steps=3, learning_rate=0.05,
                                  t0=np.full(5, 2.0), devices=one)
    except BaseException:
        for p in procs:
            p.kill()
            p.wait()
        raise
    return _results(_finish(procs)), ref, ref_opt


def test_two_slurm_tasks_join_and_agree_with_one_device(two_tasks):
    """The sharded GA and refinement give one device's results on both processes, also when
    process 0 reaches the first collective `LATE_S` s after process 1 (a slow start)."""
    outs, ref, ref_opt = two_tasks
    for i, out in enumerate(outs):
        assert out["initialized"] is True and out["process"] == i and out["processes"] == 2
        assert len(out["devices"]) == 2  # both processes' devices, seen from each
        ga = out["ga"]
        assert ga["devices"] == out["devices"] and ga["shards"] == 2
        # the search resumed from process 0's generation 1 on both processes and ends where
        # one device's uninterrupted search ends
        for k in ("gate", "control", "target"):
            assert ga[k] == np.asarray(getattr(ref.population, k)).tolist(), k
        np.testing.assert_allclose(ga["angle"], np.asarray(ref.population.angle),
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(ga["fit"], ref.fitnesses, rtol=1e-12, atol=0)
        np.testing.assert_allclose(ga["ts"], ref.ts, rtol=1e-12, atol=0)
        np.testing.assert_allclose(ga["best"], ref.history["best"], rtol=1e-12, atol=0)
        np.testing.assert_allclose(ga["ghz"], ref.ghz_fitness, rtol=1e-12, atol=0)
        rf = out["refine"]
        np.testing.assert_allclose(rf["values"], ref_opt.values, rtol=1e-12, atol=0)
        np.testing.assert_allclose(rf["ts"], ref_opt.ts, rtol=1e-12, atol=0)
        np.testing.assert_allclose(rf["angle"], np.asarray(ref_opt.genomes.angle),
                                   rtol=0, atol=1e-12)
        # experiment checkpoints: process 0's reading, on every process
        assert out["cells"] == {"a": 1.5}
        assert out["refused"] == "CheckpointMismatch"


def _rows(path):
    return [{k: _num(v) for k, v in r.items()} for r in read_csv(path)]


def _num(v):
    try:
        return float(v)
    except ValueError:
        return v


def _assert_same_rows(a, b):
    assert len(a) == len(b) and [r.keys() for r in a] == [r.keys() for r in b]
    for ra, rb in zip(a, b, strict=True):
        for k, va in ra.items():
            if isinstance(va, float):
                np.testing.assert_allclose(va, rb[k], rtol=1e-12, atol=1e-300, err_msg=k)
            else:
                assert va == rb[k], k


TABLE1 = TABLE1_TINY_CELL
#: a table column that is a wall time, not a result
WALL = ("search_wall_s",)


def _table1_rows(path):
    return [{k: v for k, v in r.items() if k not in WALL} for r in _rows(path)]


def test_an_experiment_run_as_two_slurm_tasks_writes_one_run_and_resumes_together(tmp_path):
    """``python -m experiments.run +exp=table1`` as two SLURM tasks: process 0 writes the run,
    process 1 beside it (``process1/``), both the table of a one-process run (1e-12), and
    ``results.json`` records both processes' devices. table1's reference optima do not depend
    on the search and need no collectives: only process 0 starts the worker that computes them
    (its checkpoint in the run dir, none in ``process1/``), and both tables carry them.
    Resumed with only process 0's checkpoint (process 1's outputs lost), both processes take
    its cells: a cell's value planted in that checkpoint reaches both processes' tables (a
    recomputed cell would not carry it, and one process recomputing alone would hang the
    other). (That the worker computes what a one-process serial run does is
    `tests/qsense/test_table1_references.py`'s.)"""
    from experiments.run import execute
    from tests.experiments.helpers import load_config

    run_dir = tmp_path / "run"
    argv = [sys.executable, "-m", "experiments.run", *TABLE1, f"hydra.run.dir={run_dir}"]
    outs = _two_tasks(argv)
    assert f"results: {run_dir / 'results.json'}" in outs[0]
    assert f"results: {run_dir / 'process1' / 'results.json'}" in outs[1]
    res = json.loads((run_dir / "results.json").read_text())
    assert len(res["devices"]) == 2 and len(set(res["devices"])) == 2
    ref = "table1_references_checkpoint.json"
    assert (run_dir / ref).exists()
    assert not (run_dir / "process1" / ref).exists()  # process 1 started no worker
    got0 = _table1_rows(run_dir / "table1.csv")
    assert len(got0) == 2
    for w in got0:
        for k in ("qcrb", "product_qcrb", "reference_qcrb", "bound_qcrb", "reference_t"):
            assert np.isfinite(w[k]), k
    # one process, one device: the search computed again, the worker's references taken from
    # its checkpoint (copied: they are not what is compared, and a second worker is ~30 s)
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(run_dir / ref, one / ref)
    execute(load_config(TABLE1), one)
    want = _table1_rows(one / "table1.csv")
    _assert_same_rows(got0, want)
    _assert_same_rows(_table1_rows(run_dir / "process1" / "table1.csv"), want)

    # unfinished again, process 1's files gone; process 0's checkpoint holds a planted value
    (run_dir / "results.json").unlink()
    shutil.rmtree(run_dir / "process1")
    ck_path = run_dir / "table1_checkpoint.json"
    ck = json.loads(ck_path.read_text())
    planted = 0.123456789
    ck["cells"]["single|2|0.1|dephasing"]["VQS"]["qcrb"] = planted
    ck_path.write_text(json.dumps(ck))
    _two_tasks(argv)
    for d in (run_dir, run_dir / "process1"):
        vqs = [r for r in _rows(d / "table1.csv") if r["probe"] == "VQS"]
        assert [r["qcrb"] for r in vqs] == [planted], d
