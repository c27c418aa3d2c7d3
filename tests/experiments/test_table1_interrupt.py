"""An interrupted or killed table1 run leaves no reference worker behind, and two writers of
one checkpoint never share a temp file.

The walkthrough's repro: SIGTERM to a table1 run orphaned its spawned `references_worker`
(re-parented to PID 1), which kept computing, wrote the references checkpoint beside a resumed
run's own worker (through the same `.tmp` name) and then waited forever holding its memory;
SIGINT to the main process alone waited in `pool.shutdown(wait=True)` for all of the remaining
references."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.experiments.helpers import ROOT, alive

# the worker has ~30 s of references here (2 noises, N = 2..3), the search about as long
RUN = ["+exp=table1", "search=quick", "table1.n_max=3", "table1.gammas=[0.1]",
       "table1.noises=[dephasing,bitflip]", "table1.sensing=[single]", "progress=false"]


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as f:
            return f.read().replace("\0", " ")
    except OSError:
        return ""


# Ctrl-C in a terminal: Python's own SIGINT handler. An xdist worker ignores SIGINT and its
# children inherit that, so the run is started through this wrapper, which restores it.
CTRL_C = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
          "sys.argv[0] = 'experiments.run'; runpy.run_module('experiments.run', "
          "run_name='__main__')")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL],
                         ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_a_stopped_run_leaves_no_reference_worker(tmp_path, sig):
    """Ctrl-C (SIGINT) and SIGTERM stop the run with a one-line message and the shell's code
    (130, 143; no traceback, no failed.json) and stop its worker at
    once instead of waiting for it; after a SIGKILL of the run (no cleanup possible) the
    worker sees its parent gone and exits by itself."""
    d = tmp_path / "run"
    log = tmp_path / "run.out"  # a file, not a pipe: a worker left running holds it open
    start = ([sys.executable, "-c", CTRL_C] if sig == signal.SIGINT
             else [sys.executable, "-m", "experiments.run"])
    with open(log, "w") as f:
        proc = subprocess.Popen([*start, *RUN, f"hydra.run.dir={d}"], cwd=ROOT, stdout=f,
                                stderr=subprocess.STDOUT)
    kids: list[int] = []
    try:
        t0 = time.monotonic()
        worker = None
        while worker is None and time.monotonic() - t0 < 60 and proc.poll() is None:
            worker = next((c for c in _children(proc.pid) if "spawn_main" in _cmdline(c)), None)
            time.sleep(0.1)
        assert worker is not None, "the reference worker did not start"
        time.sleep(3.0)  # the worker is importing JAX or computing its first references
        kids = _children(proc.pid)
        assert worker in kids and proc.poll() is None, "the run ended before the signal"
        sent = time.monotonic()
        proc.send_signal(sig)
        proc.wait(timeout=15)
        out = log.read_text()
        waited = time.monotonic() - sent
        while any(alive(k) for k in kids) and time.monotonic() - sent < waited + 5:
            time.sleep(0.1)
        left = [k for k in kids if alive(k)]
        assert not left, f"left running {time.monotonic() - sent:.1f} s after the signal: " + \
            ", ".join(_cmdline(k)[:80] for k in left)
        if sig != signal.SIGKILL:
            assert proc.returncode == 128 + sig, out[-2000:]
            said = "terminated (SIGTERM)" if sig == signal.SIGTERM else "interrupted (Ctrl-C)"
            assert f"{said}: {d} is unfinished; rerun the same command" in out, out[-2000:]
            assert "Traceback" not in out, out[-2000:]
            assert not (d / "failed.json").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for k in kids:
            if alive(k):
                os.kill(k, signal.SIGKILL)


def test_the_worker_exits_when_its_parent_is_not_its_parent():
    """exit_when_orphaned(parent) ends the process once os.getppid() is not ``parent``."""
    code = ("import time; from experiments.tasks.table1 import exit_when_orphaned; "
            "exit_when_orphaned(0, 0.05); time.sleep(60)")
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1 and "is gone; exiting" in proc.stderr
    assert time.monotonic() - t0 < 60


def test_checkpoint_temp_files_are_per_process(tmp_path, monkeypatch):
    """Two processes writing one checkpoint (a run and a worker of a killed run) used one
    `.tmp` name, so one could move the other's half-written file into place."""
    from experiments.checkpoint import Checkpoint

    moved = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (moved.append(str(a)), real(a, b)))
    ck = Checkpoint(tmp_path / "checkpoint.json", {"a": 1})
    ck.put("cell", 1)
    assert moved and str(os.getpid()) in os.path.basename(moved[0])
    assert json.loads((tmp_path / "checkpoint.json").read_text())["cells"] == {"cell": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.json"]
