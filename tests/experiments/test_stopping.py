"""Ctrl-C and SIGTERM stop a run whose main thread is inside compiled code.

Python runs signal handlers only between bytecodes of the main thread; one long XLA program
(or compilation) holds it for as long as it runs, and a table1 run in a fresh-clone CI
ignored Ctrl-C for over 15 s that way. Here the main thread runs a compiled loop of 2**62
steps, which would never return: only `experiments.stopping`'s watcher can stop the run."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from experiments.stopping import STOP_GRACE_S, end_processes, stop_on_signal
from tests.experiments.helpers import ROOT, alive

STUCK = """
import multiprocessing, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # xdist's workers ignore SIGINT
child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(600,))
child.start()  # a task's worker (forked before JAX starts its threads)
from pathlib import Path
import jax
jax.config.update("jax_enable_x64", True)
from experiments.stopping import stop_on_signal
loop = jax.jit(lambda n: jax.lax.fori_loop(0, n, lambda i, v: v * 1.0000001 + 1e-9, 1.0))
loop(10).block_until_ready()  # compiled before the signal
with stop_on_signal(Path(sys.argv[1])):
    print("child", child.pid, flush=True)
    loop(2 ** 62).block_until_ready()
print("returned", flush=True)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_run_inside_compiled_code_stops_on_a_signal(tmp_path, sig):
    """The run exits with the shell's code and the one line, in about the grace period (its
    main thread never gets to Python), and its child process is gone."""
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    # files, not pipes: a child left running would hold a pipe open and a read would hang
    with open(out_path, "w") as out_f, open(err_path, "w") as err_f:
        proc = subprocess.Popen([sys.executable, "-c", STUCK, str(tmp_path / "run")],
                                cwd=ROOT, stdout=out_f, stderr=err_f)
    child = None
    try:
        t0 = time.monotonic()
        while not out_path.read_text().endswith("\n") and proc.poll() is None \
                and time.monotonic() - t0 < 120:
            time.sleep(0.1)
        line = out_path.read_text()
        assert line.startswith("child "), line + err_path.read_text()
        child = int(line.split()[1])
        time.sleep(1.0)  # inside the loop
        sent = time.monotonic()
        proc.send_signal(sig)
        proc.wait(timeout=15 + STOP_GRACE_S)
        waited = time.monotonic() - sent
        out, err = out_path.read_text(), err_path.read_text()
        assert proc.returncode == 128 + sig, err[-2000:]
        said = "terminated (SIGTERM)" if sig == signal.SIGTERM else "interrupted (Ctrl-C)"
        assert f"{said}: {tmp_path / 'run'} is unfinished; rerun the same command" in err, err
        assert "returned" not in out and "Traceback" not in err, out + err
        # the main thread never stopped it: the watcher did, after its grace period
        assert waited >= 0.9 * STOP_GRACE_S, waited
        while alive(child) and time.monotonic() - sent < waited + 5:
            time.sleep(0.1)
        assert not alive(child), "the run's child process was left running"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if child is not None and alive(child):
            os.kill(child, signal.SIGKILL)


IN_FINALIZER = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # xdist's workers ignore SIGINT
from pathlib import Path
from experiments.stopping import stop_on_signal
sig = getattr(signal, sys.argv[2])

class Finalized:
    def __del__(self):  # the signal's handler runs in here: Python drops what it raises
        os.kill(os.getpid(), sig)
        for _ in range(100_000):
            pass

with stop_on_signal(Path(sys.argv[1]), grace=600):  # no watcher to fall back on
    Finalized()
    time.sleep(60)
print("returned", flush=True)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_caught_in_a_finalizer_still_stops_the_run(tmp_path, sig):
    """A signal whose exception is raised inside a finalizer or gc callback (CI: SIGTERM in
    JAX's ``_xla_gc_callback``, printed as "Exception ignored" while the run went on) is
    delivered again and stops the run from its own code, with no traceback."""
    proc = subprocess.run([sys.executable, "-c", IN_FINALIZER, str(tmp_path / "run"),
                           signal.Signals(sig).name], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 128 + sig, proc.stdout + proc.stderr
    assert "returned" not in proc.stdout
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    said = "terminated (SIGTERM)" if sig == signal.SIGTERM else "interrupted (Ctrl-C)"
    assert f"{said}: {tmp_path / 'run'} is unfinished" in proc.stderr, proc.stderr


def test_the_handlers_are_restored_after_the_run(tmp_path):
    """Leaving the context puts SIGTERM's default action and the wakeup fd back and ends the
    watcher thread (a sweep runs its next job in the same process)."""
    term = signal.getsignal(signal.SIGTERM)
    if term is not signal.SIG_DFL:
        pytest.skip("SIGTERM is handled by the test runner here")
    hook = sys.unraisablehook
    with stop_on_signal(tmp_path):
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        watchers = [t for t in threading.enumerate() if t.name == "stop-on-signal"]
        assert len(watchers) == 1
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.set_wakeup_fd(-1) == -1  # nothing was left set
    assert sys.unraisablehook is hook
    watchers[0].join(5)
    assert not watchers[0].is_alive()


def _sleep(ready, on_sigterm) -> None:
    signal.signal(signal.SIGTERM, on_sigterm)  # not the handler the test runner installed
    ready.set()
    time.sleep(600)


# the forked children only sleep (they never touch JAX's threads), which makes the fork safe
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_end_processes_terminates_and_kills_what_stays_within_one_deadline():
    """`end_processes` (the watcher's and a task's clean-up of its worker processes): a worker
    that exits on SIGTERM is not waited for; workers that ignore it are killed once one shared
    deadline has passed (not one timeout per worker); ``None`` entries are skipped."""
    ctx = multiprocessing.get_context("fork")
    ready = [ctx.Event() for _ in range(3)]
    polite, *stubborn = procs = [
        ctx.Process(target=_sleep, args=(ev, how))
        for ev, how in zip(ready, (signal.SIG_DFL, signal.SIG_IGN, signal.SIG_IGN), strict=True)]
    try:
        for p in procs:
            p.start()
        assert all(ev.wait(60) for ev in ready)
        t0 = time.monotonic()
        end_processes([polite, None], timeout=60.0)
        assert time.monotonic() - t0 < 10.0  # not the 60 s timeout
        assert polite.exitcode == -signal.SIGTERM
        t0 = time.monotonic()
        end_processes([None, *stubborn], timeout=2.0)
        took = time.monotonic() - t0
        assert [p.exitcode for p in stubborn] == [-signal.SIGKILL] * 2
        assert 2.0 <= took < 3.5, took  # one 2 s deadline for both, not 2 s each
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
            p.join(5)
