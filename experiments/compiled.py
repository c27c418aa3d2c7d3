"""Compiled-program housekeeping for long experiment runs.

* **Persistent compilation cache.** A VQS cell spends most of its first seconds compiling (the
  memetic GA's generation program, the angle refinement, the reference optimizers: ~10-50 s per
  (N, field, noise class) on 2 cores). `enable_compile_cache` points JAX's persistent cache at
  ``$QSENSE_COMPILE_CACHE`` (default ``~/.cache/qsense/jax``; ``off`` disables it; a
  ``JAX_COMPILATION_CACHE_DIR`` set by the user wins), so a rerun, a resumed run and every job
  of a sweep after the first load their programs from disk instead (N = 3 bit-flip cell: 50.7 s
  -> 11.8 s on the loaded 2-core machine). Every program is cached, however quick to compile:
  a small VQS run compiles hundreds of 0.05-0.5 s programs (tiny fig3, N = 2..3: 379 programs,
  5.9 MB; 82 s cold, 21.5 s from the cache), so JAX's 1 s default threshold would cache almost
  none of what a rerun pays for.
* **Releasing programs of finished shapes.** XLA:CPU maps every compiled kernel into memory
  mappings of its own; a process that keeps every program of a full Table 1 (16 shape classes x
  search + references) passes Linux's ``vm.max_map_count`` (65530 by default), after which
  LLVM fails with "Cannot allocate memory" and the process segfaults. Cells run grouped by
  shape; `ShapeScope` clears JAX's in-memory caches when the shape changes (nothing cleared is
  used again; the persistent cache makes even that cheap) or when the process's mappings pass
  half the limit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENV = "QSENSE_COMPILE_CACHE"
DEFAULT_DIR = Path.home() / ".cache" / "qsense" / "jax"
OFF = ("", "0", "off", "none", "false", "no")
#: programs that compile faster than this are not written to the cache (see the module doc)
MIN_COMPILE_TIME_S = 0.0


def enable_compile_cache() -> str | None:
    """Turn on JAX's persistent compilation cache (see the module doc); return its directory,
    or None when disabled. A ``JAX_COMPILATION_CACHE_DIR`` of the user's is the directory;
    every program is cached either way unless ``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS``
    is set too."""
    import jax

    def every_program() -> None:  # unless the user chose a threshold of their own
        if not os.environ.get("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "").strip():
            jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_TIME_S)

    user = os.environ.get("JAX_COMPILATION_CACHE_DIR", "").strip()
    if user:  # JAX reads the directory itself
        every_program()
        return user
    path = os.environ.get(ENV, str(DEFAULT_DIR)).strip()
    if path.lower() in OFF:
        return None
    try:
        Path(path).expanduser().mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: run without the cache rather than fail
    jax.config.update("jax_compilation_cache_dir", str(Path(path).expanduser()))
    every_program()
    return str(Path(path).expanduser())


def map_count() -> int | None:
    """Memory mappings of this process (Linux), None elsewhere."""
    try:
        with open("/proc/self/maps") as fh:
            return sum(1 for _ in fh)
    except OSError:
        return None


def map_limit() -> int | None:
    try:
        return int(Path("/proc/sys/vm/max_map_count").read_text())
    except (OSError, ValueError):
        return None


class ShapeScope:
    """Clear JAX's in-memory caches when the program shape changes (see the module doc).

    ``scope.enter(key)`` before a cell, with ``key`` naming what its programs depend on (e.g.
    ``(field, N)``)."""

    def __init__(self, fraction: float = 0.5) -> None:
        self.key: Any = None
        self.fraction = fraction
        self.clears = 0

    def enter(self, key: Any) -> None:
        import jax

        changed = self.key is not None and key != self.key
        maps, limit = map_count(), map_limit()
        crowded = maps is not None and limit is not None and maps > self.fraction * limit
        if changed or crowded:
            jax.clear_caches()
            self.clears += 1
        self.key = key
