"""A tiny JSON checkpoint: completed cells of a sweep, written atomically after each cell.

A rerun in the same Hydra run dir (``hydra.run.dir=...``) finds the file and skips the cells
already done, so an interrupted sweep resumes instead of starting over. A checkpoint records
the settings that change a result (``meta``) and a digest of the code that computed it (the
sources of ``qsense``, ``routing`` and ``experiments``): a rerun with other settings or after
the code changed refuses to resume (a table must not mix cells of two code versions).
It also records the host's CPU cores and XLA pool size (`experiments.outputs.host`): a resume
on another host is allowed (cluster jobs move between nodes) but logged, since the pool size
changes how reductions are split, so a search's path may differ at rounding level.
The processes of a multi-host run all take process 0's reading (`qsense.distributed.agree`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from experiments.outputs import host, write_json_atomic
from experiments.structured import ConfigError
from qsense.distributed import agree

_PACKAGES = ("qsense", "routing", "experiments")
log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 (first 16 hex digits) of every ``.py`` source of the three packages, in path
    order: what computed a checkpoint's cells."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for pkg in _PACKAGES:
        for f in sorted((root / pkg).rglob("*.py")):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


class CheckpointMismatch(ConfigError):
    """A checkpoint of other settings or other code: the dir is refused (exit 2, no
    ``failed.json``), not resumed."""


class Checkpoint:
    """Key -> JSON value store backed by one file; every ``put`` is flushed atomically.

    ``code``: the digest to record and to accept (default `code_digest` of this process); a
    worker process of a run passes the run's digest, so one run uses one digest even when
    the sources change while it runs."""

    def __init__(self, path: str | os.PathLike, meta: dict[str, Any] | None = None,
                 code: str | None = None):
        self.path = Path(path)
        self.meta = meta or {}
        self.code = code or code_digest()
        self.host = host()
        # the processes of a multi-host run (jax.distributed) resume from process 0's file,
        # whatever each finds at its own path: resuming from different cells would hang them
        self._cells: dict[str, Any] = agree(self._read)

    def _read(self) -> dict[str, Any]:
        """The cells of the file at ``self.path`` ({} when there is none), refused when other
        code or other settings wrote it."""
        if not self.path.exists():
            return {}
        data = json.loads(self.path.read_text())
        # other code first: a code change often changes the settings' record too
        if data.get("cells") and data.get("code") != self.code:
            raise CheckpointMismatch(
                f"checkpoint {self.path} was written by other code (digest "
                f"{data.get('code')!r}, this code {self.code!r}: qsense, routing or "
                "experiments changed since); its cells would mix two code versions in one "
                "result: use a fresh hydra.run.dir (or delete the checkpoint to recompute)"
            )
        if self.meta and data.get("meta") not in (None, self.meta):
            raise CheckpointMismatch(
                f"checkpoint {self.path} was written by a run with other settings "
                f"({data.get('meta')!r} != {self.meta!r}); use a fresh hydra.run.dir"
            )
        cells = data.get("cells", {})
        if cells and data.get("host") not in (None, self.host):
            log.warning(
                "resuming %s on another host: its %d finished cells were computed with %s, "
                "this process has %s; the values agree to rounding, but a search may take "
                "another path from here", self.path, len(cells), data.get("host"), self.host)
        return cells

    def __contains__(self, key: str) -> bool:
        return key in self._cells

    def __len__(self) -> int:
        return len(self._cells)

    def items(self):
        return list(self._cells.items())

    def get(self, key: str, default: Any = None) -> Any:
        return self._cells.get(key, default)

    def put(self, key: str, value: Any) -> None:
        self._cells[key] = value
        self._write()

    def drop(self, key: str) -> None:
        """Forget ``key`` (a finished cell's partial progress), if present."""
        if self._cells.pop(key, None) is not None:
            self._write()

    def _write(self) -> None:
        write_json_atomic(self.path, {"meta": self.meta, "code": self.code, "host": self.host,
                                      "cells": self._cells}, indent=None)
