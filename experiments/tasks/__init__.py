"""One module per task; each exposes ``run(cfg: Config, out_dir: pathlib.Path) -> dict``.

The returned dict holds ``metrics`` (JSON-able), ``tables`` ({name: csv file name}) and
``figures`` (list of png file names), all relative to ``out_dir``. `experiments.run` adds the
config, versions, device, wall time and seed and writes ``results.json``.
"""

from __future__ import annotations

import pkgutil


def available_tasks() -> list[str]:
    """Names of the task modules in this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
