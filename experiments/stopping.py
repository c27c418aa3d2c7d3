"""Ctrl-C and SIGTERM stop a run promptly, even while it sits in compiled code.

Python runs a signal handler only between bytecodes of the main thread, so a Ctrl-C that
arrives while the main thread is inside one XLA compilation or one long compiled program
(seconds to minutes, the GIL released) waits for it to return: a fresh-clone CI run saw a
table1 run ignore SIGINT for more than 15 s. `stop_on_signal` therefore also watches the
signals from a thread (``signal.set_wakeup_fd``: the interpreter's C-level handler writes
each signal's number to a pipe at once) and, if the main thread has not stopped the run
``grace`` seconds later, stops it itself: it terminates the run's child processes (a task's
worker), says the same one line and exits with the same code.

Nothing is lost by that exit: checkpoints are written per finished cell, atomically (a temp
file moved into place), and an interrupted run leaves nothing else to write.
"""

from __future__ import annotations

import _thread
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

#: seconds the main thread has to stop by itself after Ctrl-C / SIGTERM before the watcher
#: stops the run (the main thread's own stop is immediate unless it is inside compiled code)
STOP_GRACE_S = 3.0

_EXIT = threading.Lock()  # the main thread or the watcher: the first one says it and exits


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's ``KeyboardInterrupt``: the run stops as on Ctrl-C (no
    ``failed.json``, the checkpoint stays for the resume, a task's worker processes are
    stopped) instead of dying at once and leaving them running."""


def stop_message(sig: int, out_dir: Path) -> str:
    """The one line an interrupted run prints."""
    how = "terminated (SIGTERM)" if sig == signal.SIGTERM else "interrupted (Ctrl-C)"
    return (f"{how}: {out_dir} is unfinished; rerun the same command to resume it from its "
            "checkpoint")


def exit_for_signal(sig: int, out_dir: Path, from_main: bool = True) -> None:
    """Say `stop_message` and leave with the shell's code for ``sig`` (130 Ctrl-C, 143
    SIGTERM), without the interpreter's teardown: interrupted mid-computation, XLA's threads
    may still run, and tearing the runtime down under them crashed the process (SIGSEGV after
    the message, seen in a fresh-clone CI run under load). Called by the main thread or by the
    watcher, whichever comes first; the other one waits here until the process is gone."""
    with _EXIT:
        print(stop_message(sig, out_dir), file=sys.stderr)
        if from_main:  # the watcher does not take logging's locks: the main thread may hold one
            logging.shutdown()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(128 + sig)


def end_processes(procs, timeout: float) -> None:
    """Terminate ``procs`` (``multiprocessing`` processes; SIGTERM), then kill the ones still
    there after ``timeout`` seconds."""
    procs = [p for p in procs if p is not None]
    for proc in procs:
        with contextlib.suppress(Exception):
            if proc.is_alive():
                proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)


def _signal_main_soon(sig: int) -> None:
    time.sleep(0.05)  # the finalizer returns first (if not, the hook delivers it again)
    # a real signal to the main thread: it also cuts a sleep or a wait short
    signal.pthread_kill(threading.main_thread().ident, sig)


def _watch(read_fd: int, ours: frozenset[int], out_dir: Path, grace: float) -> None:
    with open(read_fd, "rb", buffering=0) as pipe:
        while data := pipe.read(64):  # b"": the context has ended and closed the pipe
            sig = next((s for s in data if s in ours), None)
            if sig is not None:
                time.sleep(grace)  # the main thread's own stop, if it gets to Python in time
                end_processes(multiprocessing.active_children(), 2.0)  # a task's workers
                exit_for_signal(sig, out_dir, from_main=False)


@contextlib.contextmanager
def stop_on_signal(out_dir: Path, grace: float = STOP_GRACE_S) -> Iterator[None]:
    """While inside, Ctrl-C (SIGINT) and SIGTERM stop the run with `stop_message` and exit
    130 / 143, no traceback: in the main thread as ``KeyboardInterrupt`` (SIGTERM raised as
    `Terminated`), so a task's ``except``/``finally`` stop its workers; and after ``grace``
    seconds by the watcher thread if the main thread is still inside compiled code.

    Only signals this process handles as Python's defaults are taken: SIGINT with Python's
    ``default_int_handler`` and SIGTERM with its default action (a launcher that handles
    SIGTERM itself, e.g. submitit's, keeps it), and only in the main thread; elsewhere the
    body runs as it is."""
    main = threading.current_thread() is threading.main_thread()
    ours = set()
    if main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        ours.add(int(signal.SIGINT))
    take_term = main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    if take_term:
        ours.add(int(signal.SIGTERM))

        def handler(signum, frame):
            raise Terminated(f"signal {signal.Signals(signum).name}")

        signal.signal(signal.SIGTERM, handler)
    write_fd = None
    old_fd = -1
    old_hook = sys.unraisablehook

    def redeliver(unraisable):
        # a signal's exception raised while the main thread ran a finalizer or a gc callback
        # (JAX's `_xla_gc_callback`: seen in CI) is dropped by Python with an "Exception
        # ignored in" traceback and the run goes on: deliver the signal again, from another
        # thread so that it lands once this hook and the finalizer have returned
        exc = unraisable.exc_value
        if isinstance(exc, KeyboardInterrupt):
            sig = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
            _thread.start_new_thread(_signal_main_soon, (sig,))  # does not wait for the thread
        else:
            old_hook(unraisable)

    if ours:
        sys.unraisablehook = redeliver
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        old_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        threading.Thread(target=_watch, args=(read_fd, frozenset(ours), out_dir, grace),
                         name="stop-on-signal", daemon=True).start()
    try:
        yield
    except KeyboardInterrupt as err:
        exit_for_signal(signal.SIGTERM if isinstance(err, Terminated) else signal.SIGINT,
                        out_dir)
    finally:
        sys.unraisablehook = old_hook
        if take_term:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if write_fd is not None:
            signal.set_wakeup_fd(old_fd)
            os.close(write_fd)  # the watcher reads EOF and ends
