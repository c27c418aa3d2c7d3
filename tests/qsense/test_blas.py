"""`import qsense` pins OpenBLAS to one thread unless the user chose a count (qsense.blas).

Checked in fresh interpreters: the thread count reported by every loaded OpenBLAS (numpy's and
scipy's, which JAX's CPU LAPACK calls) after importing qsense and running a batched eigh.
"""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = """
import json, numpy as np
import qsense, jax, jax.numpy as jnp
x = np.random.default_rng(0).normal(size=(4, 32, 32)); x = x + np.swapaxes(x, 1, 2)
jnp.linalg.eigh(jnp.asarray(x))[0].block_until_ready()
print(json.dumps(qsense.blas.blas_threads()))
"""


def _threads(env_value):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if env_value is not None:
        env["OPENBLAS_NUM_THREADS"] = env_value
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_pins_openblas_to_one_thread():
    threads = _threads(None)
    if not threads:
        pytest.skip("no OpenBLAS loaded (another BLAS)")
    assert set(threads.values()) == {1}, threads


def test_user_choice_is_respected():
    threads = _threads("2")
    if not threads:
        pytest.skip("no OpenBLAS loaded (another BLAS)")
    assert set(threads.values()) == {2}, threads


def test_set_blas_threads_changes_loaded_libraries_and_checks_input():
    import qsense

    before = qsense.blas.blas_threads()
    if not before:
        pytest.skip("no OpenBLAS loaded (another BLAS)")
    try:
        assert qsense.blas.set_blas_threads(2)
        # an OpenBLAS loaded after the pin (e.g. the one bundled with SCS) started with a
        # one-thread pool and cannot grow at run time; those loaded before it can
        after = qsense.blas.blas_threads()
        assert 2 in after.values() and set(after.values()) <= {1, 2}
    finally:
        qsense.blas.set_blas_threads(1)
    assert set(qsense.blas.blas_threads().values()) == {1}
    with pytest.raises(ValueError, match="n"):
        qsense.blas.set_blas_threads(0)


POOL = """
import json, os, numpy as np
import qsense, jax, jax.numpy as jnp
x = np.random.default_rng(0).normal(size=(64, 32, 32)); x = x + np.swapaxes(x, 1, 2)
jnp.linalg.eigh(jnp.asarray(x))[0].block_until_ready()
names = [open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task")]
print(json.dumps({"eigen": sum(n.startswith("tf_XLAEigen") for n in names),
                  "cores": qsense.blas.cpu_cores(), "recorded": qsense.blas.xla_pool_threads()}))
"""


def _pool(env_value, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PJRT_NPROC", "NPROC", "XLA_FLAGS")}
    if env_value is not None:
        env["PJRT_NPROC"] = env_value
    env.update(extra)
    out = subprocess.run([sys.executable, "-c", POOL], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_import_gives_xla_one_pool_thread_more_than_the_cores_unless_the_user_chose():
    """The threads XLA's CPU client really started (its intra-op pool, "tf_XLAEigen*")."""
    got = _pool(None)
    assert got["eigen"] == got["cores"] + 1, got
    # what results.json records (xla_pool_threads) is the pool XLA really started
    assert got["recorded"] == got["eigen"]
    mine = _pool("2")
    assert mine["eigen"] == 2 and mine["recorded"] == 2


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
@pytest.mark.parametrize("env_value,extra,threads", [
    ("0", {}, 1),  # parsed: the search stops at max(0, n); the one device still needs a thread
    ("-2", {"NPROC": "5"}, 1),
    ("abc", {"NPROC": "5"}, 5),  # not an integer: jaxlib reads NPROC
    (None, {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}, 4),  # >= the devices
])
def test_pool_recorded_as_jaxlib_sizes_it(env_value, extra, threads):
    """What results.json records is the pool XLA started, also where jaxlib's rule is not
    "the first variable set, else the cores": a 0 or negative ``PJRT_NPROC`` (recorded as
    the cores or NPROC before), and forced host devices (one pool thread a device at least:
    3 recorded for the 4 threads of 4 devices on 2 cores)."""
    got = _pool(env_value, **extra)
    # with no PJRT_NPROC, import qsense sets cores + 1, and the devices may ask for more
    want = threads if env_value is not None else max(threads, got["cores"] + 1)
    assert got["eigen"] == want and got["recorded"] == got["eigen"], got


def test_simple_atoi_and_device_count_read_the_environment_as_jaxlib(monkeypatch):
    """absl::SimpleAtoi's reading (whitespace, a sign, int32), and the CPU devices a client
    made now would have (JAX not started yet: its option, else XLA_FLAGS, else 1)."""
    from types import SimpleNamespace

    import qsense.blas
    from qsense.blas import _simple_atoi, cpu_device_count

    for raw, want in ((" 7\n", 7), ("+3", 3), ("-2", -2), ("3.0", None), ("", None),
                      ("1_000", None), ("٣", None), (str(2**31), None), (None, None)):
        assert _simple_atoi(raw) == want, raw
    monkeypatch.setattr(qsense.blas, "jax_backends_started", lambda: False)
    fake = SimpleNamespace(config=SimpleNamespace(jax_num_cpu_devices=-1))  # JAX not started
    monkeypatch.setitem(sys.modules, "jax", fake)
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_use_thunk_runtime=false "
                                    "--xla_force_host_platform_device_count=6")
    assert cpu_device_count() == 6
    fake.config.jax_num_cpu_devices = 3  # JAX's own option wins over the flag
    assert cpu_device_count() == 3
    fake.config.jax_num_cpu_devices = -1
    monkeypatch.delenv("XLA_FLAGS")
    assert cpu_device_count() == 1


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_pool_recorded_truthfully_when_jax_started_before_qsense():
    """JAX's backend created before ``import qsense``: the pool keeps JAX's size (one thread a
    core) and `xla_pool_threads` says so, instead of the cores + 1 no pool has."""
    env = {k: v for k, v in os.environ.items() if k not in ("PJRT_NPROC", "NPROC")}
    code = "import jax; jax.devices()\n" + POOL
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["eigen"] == got["cores"], got
    assert got["recorded"] == got["eigen"], got
