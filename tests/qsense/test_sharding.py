"""The GA population and the refinement restarts sharded over devices give the numbers of one
device (float64, 1e-12), and the search returns its population sharded over the devices.

Four CPU devices are faked with ``--xla_force_host_platform_device_count=4`` in a subprocess
(the device count is fixed when JAX's backend starts), with `qsense.distributed`'s
``FORCED_HOST_FLAGS`` (one intra-op thread per fake device: on 2 cores the default thread
pools of several fake devices oversubscribe the cores) and a timeout, so a hang fails the test
instead of stalling CI. Correctness only: fake devices share the cores and give no speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qsense import distributed

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, sys
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
from qsense.genetic import GAConfig, search
from qsense.genome import random_genome
from qsense.objective import Problem
from qsense.optimize import optimize_angles

devs = jax.devices()
one = devs[:1]
out = {"n_devices": len(devs)}

def run(problem, cfg, devices):
    r = search(problem, cfg, seed=3, devices=devices)
    pop = r.population
    return r, {"gate": np.asarray(pop.gate).tolist(), "control": np.asarray(pop.control).tolist(),
               "target": np.asarray(pop.target).tolist(), "angle": np.asarray(pop.angle).tolist(),
               "fit": r.fitnesses.tolist(), "ts": r.ts.tolist(), "best": r.history["best"].tolist(),
               "ghz": r.ghz_fitness}

# population 8 on 4 devices (even split), N = 3, bit flip (the general path, forward tangents)
prob = Problem(3, "bitflip", 0.1)
cfg = GAConfig(population=8, generations=2, max_genes=5, elite=2, n_t=2, local_steps=1)
r4, out["even_4"] = run(prob, cfg, None)
_, out["even_1"] = run(prob, cfg, one)
sh = r4.population.angle.sharding
out["sharding"] = {"kind": type(sh).__name__, "n": len(sh.device_set), "spec": list(sh.spec),
                   "shard_rows": sorted(s.data.shape[0]
                                        for s in r4.population.angle.addressable_shards),
                   "is_jax_array": isinstance(r4.population.gate, jax.Array),
                   "devices": r4.devices}

# the same search scored in chunks of 1 row per device (GAConfig.chunk_rows): each device's
# 2 rows one after another, the chunked view sharded like the population
import dataclasses
rc, out["chunk_4"] = run(prob, dataclasses.replace(cfg, chunk_rows=1), None)
out["chunk_shard_rows"] = sorted(s.data.shape[0] for s in rc.population.angle.addressable_shards)
# XLA's plans the searches above were sized by (the same compiled programs: no new compile)
from qsense.genetic import chunk_plan
out["plan_4"] = chunk_plan(prob, cfg, None, exact=True)
out["plan_1"] = chunk_plan(prob, cfg, one, exact=True)
out["plan_chunk_4"] = chunk_plan(prob, dataclasses.replace(cfg, chunk_rows=1), None, exact=True)

# population 6 on 4 devices (padded to 8), N = 2, dephasing (the commutator path)
prob2 = Problem(2, "dephasing", 0.2)
cfg2 = GAConfig(population=6, generations=2, max_genes=4, elite=2, n_t=2, local_steps=1)
r6, out["pad_4"] = run(prob2, cfg2, None)
_, out["pad_1"] = run(prob2, cfg2, one)
out["pad_shape"] = list(r6.population.angle.shape)

# refinement restarts: 5 restarts (padded to 8 on 4 devices)
starts = jax.vmap(lambda k: random_genome(k, 2, 4))(jax.random.split(jax.random.PRNGKey(7), 5))
kw = dict(steps=3, learning_rate=0.05, t0=np.full(5, 2.0))
for name, d in (("refine_4", None), ("refine_1", one)):
    o = optimize_angles(prob2, starts, devices=d, **kw)
    out[name] = {"values": o.values.tolist(), "ts": o.ts.tolist(),
                 "angle": np.asarray(o.genomes.angle).tolist(), "history": o.history.tolist()}
print("RESULT" + json.dumps(out))
"""


def _run_forced(n_devices: int, timeout: float = 600) -> dict:
    """Run SCRIPT on ``n_devices`` fake CPU devices; a hang fails after ``timeout`` s (the
    whole script takes ~1-2 min on 2 idle cores, mostly compilation)."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT),
           "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} "  # conftest's -O0 kept
                        f"--xla_force_host_platform_device_count={n_devices} "
                        f"{distributed.FORCED_HOST_FLAGS}"}
    try:
        proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, text=True,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the {n_devices}-device search did not finish in {timeout} s (hang?)")
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT"):])


@pytest.fixture(scope="module")
def forced4():
    return _run_forced(4)


def _same_search(a: dict, b: dict) -> None:
    for k in ("gate", "control", "target"):
        assert a[k] == b[k], k  # the same genomes, gene for gene
    np.testing.assert_allclose(a["angle"], b["angle"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(a["fit"], b["fit"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(a["ts"], b["ts"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(a["best"], b["best"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(a["ghz"], b["ghz"], rtol=1e-12, atol=0)


def test_forced_four_devices_agree_with_one_device(forced4):
    """One test over the one 4-device subprocess run (a module fixture would run once per
    xdist worker that gets one of several tests): sharded search, its population's sharding,
    a padded population, a chunked sharded search and the sharded refinement, each against
    one device."""
    # sharded search == one device
    assert forced4["n_devices"] == 4
    _same_search(forced4["even_4"], forced4["even_1"])
    assert len(forced4["even_4"]["fit"]) == 8
    # the population is a jax.Array sharded over all devices
    s = forced4["sharding"]
    assert s["is_jax_array"] and s["kind"] == "NamedSharding"
    assert s["n"] == 4 and s["spec"] == ["pop"]
    assert s["shard_rows"] == [2, 2, 2, 2]  # 8 chromosomes, 2 per device
    assert len(s["devices"]) == 4
    # chunked on 4 devices (2 rows each, one at a time) == unchunked on one device
    _same_search(forced4["chunk_4"], forced4["even_1"])
    assert forced4["chunk_shard_rows"] == [2, 2, 2, 2]
    # XLA's plan, which sizes the programs, is per device: 2 rows on each of 4 devices hold
    # less than 8 rows on one, and 1 row at a time less again
    (c4, b4), (c1, b1), (cc, bc) = forced4["plan_4"], forced4["plan_1"], forced4["plan_chunk_4"]
    assert (c4, c1, cc) == (None, None, 1)
    assert bc < b4 < 0.6 * b1, (bc, b4, b1)
    # population 6 on 4 devices runs on 8 rows; the padding changes nothing and is dropped
    _same_search(forced4["pad_4"], forced4["pad_1"])
    assert forced4["pad_shape"][0] == 6 and len(forced4["pad_4"]["fit"]) == 6
    # sharded refinement == one device
    a, b = forced4["refine_4"], forced4["refine_1"]
    assert len(a["values"]) == 5
    for k in ("values", "ts", "history"):
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=0)
    np.testing.assert_allclose(a["angle"], b["angle"], rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- helpers

def test_pad_rows_repeats_rows_cyclically():
    x = np.arange(6).reshape(3, 2)
    y = distributed.pad_rows({"x": x}, 8)["x"]
    assert y.shape == (8, 2)
    np.testing.assert_array_equal(y[:3], x)
    np.testing.assert_array_equal(y[3:], x[[0, 1, 2, 0, 1]])
    assert distributed.pad_rows(x, 3) is x
    assert [distributed.padded_size(p, 4) for p in (1, 4, 5, 8)] == [4, 4, 8, 8]


def test_initialize_is_a_no_op_without_several_slurm_tasks(monkeypatch):
    """Outside SLURM, or with one task, nothing is initialized; with several tasks,
    jax.distributed.initialize is called once (recorded here: no multi-host machine)."""
    calls = []
    monkeypatch.setattr(distributed.jax.distributed, "initialize", lambda: calls.append(1))
    monkeypatch.setattr(distributed.jax.distributed, "is_initialized", lambda: bool(calls))
    monkeypatch.setattr(distributed, "_INITIALIZED", False)
    assert distributed.initialize({}) is False
    assert distributed.initialize({"SLURM_NTASKS": "1", "SLURM_JOB_ID": "7"}) is False
    assert calls == []
    assert distributed.slurm_tasks({"SLURM_NTASKS": "8", "SLURM_STEP_NUM_TASKS": "4"}) == 4
    assert distributed.initialize({"SLURM_NTASKS": "4"}) is True
    assert distributed.initialize({"SLURM_NTASKS": "4"}) is False  # once per process
    assert calls == [1]


def test_local_task_envs_are_one_slurm_step_on_localhost_at_a_free_port(monkeypatch):
    """The variables JAX's SLURM cluster reads (coordinator = first node of the step's node
    list, port = job id % 4096 + 61440), one task per environment, the caller's own SLURM
    variables dropped; fewer than 2 tasks refused. Only port 63001 is free here (a fake
    socket): the job id must point JAX's coordinator at it."""
    import socket

    class OnePortFree:
        def __init__(self, *args):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def bind(self, address):
            if address[1] != 63001:
                raise OSError("in use")

    monkeypatch.setattr(socket, "socket", OnePortFree)
    envs = distributed.local_task_envs(3, {"PATH": "/bin", "SLURM_JOB_ID": "5",
                                           "SLURM_NODELIST": "n[1-4]"})
    assert [e["SLURM_PROCID"] for e in envs] == ["0", "1", "2"]
    assert [e["SLURM_LOCALID"] for e in envs] == ["0", "1", "2"]
    job = {e["SLURM_JOB_ID"] for e in envs}
    assert len(job) == 1 and job != {"5"}
    for e in envs:
        assert e["PATH"] == "/bin" and "SLURM_NODELIST" not in e
        assert e["SLURM_STEP_NODELIST"] == "localhost"
        assert e["SLURM_NTASKS"] == e["SLURM_STEP_NUM_TASKS"] == "3"
        assert distributed.slurm_tasks(e) == 3
    assert int(job.pop()) % 4096 + 61440 == 63001
    for bad in (1, 0, 2.0, True):
        with pytest.raises(ValueError, match="n_tasks"):
            distributed.local_task_envs(bad)


def test_population_devices_rejects_an_empty_list():
    with pytest.raises(ValueError, match="devices"):
        distributed.population_devices([])
