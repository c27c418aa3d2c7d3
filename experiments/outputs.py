"""Writers for the experiment output contract (DESIGN section 6): CSV tables, results.json."""

from __future__ import annotations

import csv
import json
import math
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = (
    "qsense", "jax", "jaxlib", "numpy", "scipy", "optax", "networkx", "cvxpy", "ortools",
    "highspy", "hydra-core", "omegaconf", "matplotlib",
)


def write_csv(out_dir: Path, name: str, rows: list[dict[str, Any]]) -> str:
    """Write long-format rows (one dict per cell) to ``out_dir/name.csv``; return the file name."""
    if not rows:
        raise ValueError(f"table {name!r} has no rows")
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    fname = f"{name}.csv"
    with open(out_dir / fname, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return fname


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in _PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


#: the keys of `host`, in the device record, each checkpoint and the aggregate
HOST_KEYS = ("cpu_cores", "xla_cpu_pool_threads")


def host() -> dict[str, int]:
    """The CPU facts that decide how the engine splits its work (so its rounding): the cores
    this process may use and XLA's CPU pool size (`qsense.blas.xla_pool_threads`)."""
    from qsense.blas import cpu_cores, xla_pool_threads

    return dict(zip(HOST_KEYS, (cpu_cores(), xla_pool_threads()), strict=True))


def device() -> dict[str, Any]:
    import jax

    devs = jax.devices()
    return {
        "platform": devs[0].platform,
        "devices": [str(d) for d in devs],
        "machine": platform.machine(),
        "processor": platform.processor(),
        **host(),
    }


_USED_DEVICES: list[str] = []


def record_devices(devices: Any) -> None:
    """Note devices a task computed on (e.g. a mesh's ``devices.flat`` when a population is
    sharded); ``results.json`` ``devices`` lists them with the default device."""
    for d in devices:
        name = str(d)
        if name not in _USED_DEVICES:
            _USED_DEVICES.append(name)


def reset_devices() -> None:
    """Forget recorded devices (at the start of each run, so jobs sharing a process differ)."""
    _USED_DEVICES.clear()


def devices_used(extra: Any = None) -> list[str]:
    """Every device the run used (DESIGN section 6, ``results.json`` ``devices``): JAX's
    default device, plus those a task reported through ``record_devices`` or its result's
    ``devices`` entry, in first-use order."""
    import jax

    used = [str(jax.devices()[0])]
    for name in [*_USED_DEVICES, *(str(d) for d in (extra or ()))]:
        if name not in used:
            used.append(name)
    return used


def jsonable(x: Any) -> Any:
    """``x`` as it reads back from JSON (see ``write_results``)."""
    return json.loads(json.dumps(_jsonable(x)))


def _jsonable(x: Any) -> Any:
    """Make numpy/jax scalars and arrays JSON-able; non-finite floats become strings."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "tolist"):
        return _jsonable(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def write_results(out_dir: Path, payload: dict[str, Any]) -> Path:
    """``out_dir/results.json``, written atomically (a temp file moved into place): a job
    killed while writing it (SLURM preemption, SIGKILL) leaves the old file or none, never a
    truncated one that a rerun or `experiments.aggregate` would take for a result."""
    return write_json_atomic(out_dir / "results.json", _jsonable(payload))


def write_json_atomic(path: Path, obj: Any, indent: int | None = 2) -> Path:
    """``obj`` as JSON in ``path`` through a temp file beside it moved into place: readers
    see the old file or the new one, never a part. One temp file per process: two writers of
    one file (a run and a worker left over from a killed one) never write into each other's."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=indent))
    tmp.replace(path)
    return path


def read_json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when the file is missing, unreadable or holds no
    JSON object (truncated by a crash, edited by hand)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def results_problem(out_dir: Path, payload: dict[str, Any]) -> str | None:
    """Why ``payload`` (a run's ``results.json`` in ``out_dir``, read as a JSON object) is
    not a finished run's record, or None when it is one: it names no task, or a table it
    lists is gone (deleted, or never written beside a hand-made record). A rerun then does
    the cell again (from its checkpoint) and `experiments.aggregate` lists it unfinished,
    rather than skipping it and leaving its rows out of the tables unsaid."""
    if not isinstance(payload.get("task"), str):
        return "results.json names no task (not a run's record)"
    tables = payload.get("tables") or {}
    if not isinstance(tables, dict):
        return "results.json's tables are not a {name: file} object"
    gone = sorted(str(f) for f in tables.values() if not (Path(out_dir) / str(f)).is_file())
    if gone:
        return f"results.json lists {', '.join(gone)}, which is missing"
    return None


def flat_config(node: Any, prefix: str = "") -> dict[str, Any]:
    """A recorded config as ``{dotted key: value}``; values that are not mappings (lists
    included) are kept whole. `experiments.run` names the keys two runs differ in with it,
    `experiments.aggregate` the keys cells differ in."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(flat_config(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: node}
