"""A tiny JSON checkpoint: completed cells of a sweep, written atomically after each cell.

A rerun in the same Hydra run dir (``hydra.run.dir=...``) finds the file and skips the cells
already done, so an interrupted sweep resumes instead of starting over.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class Checkpoint:
    """Key -> JSON value store backed by one file; every ``put`` is flushed atomically."""

    def __init__(self, path: str | os.PathLike, meta: dict[str, Any] | None = None):
        self.path = Path(path)
        self.meta = meta or {}
        self._cells: dict[str, Any] = {}
        if self.path.exists():
            data = json.loads(self.path.read_text())
            if self.meta and data.get("meta") not in (None, self.meta):
                raise ValueError(
                    f"checkpoint {self.path} was written by a run with other settings "
                    f"({data.get('meta')!r} != {self.meta!r}); use a fresh hydra.run.dir"
                )
            self._cells = data.get("cells", {})

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
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps({"meta": self.meta, "cells": self._cells}))
        os.replace(tmp, self.path)
