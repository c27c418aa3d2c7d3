"""Entry point: ``python -m experiments.run +exp=NAME [key=value ...]`` (``-m`` for sweeps).

Composes ``conf/config.yaml`` with the experiment file, validates it against the dataclass
schema (`experiments.schema`), runs ``experiments.tasks.<cfg.task>.run`` and writes
``results.json`` beside the task's CSV and PNG files in the Hydra run dir.

Sweeps (``-m``) run each cell as its own job (default launcher, ``+launcher=joblib``,
``+launcher=slurm``, ``+launcher=submitit_local``). A job whose dir already holds a
``results.json`` written with the same config by the same code is skipped, so rerunning a
sweep into the same ``hydra.sweep.dir`` only computes unfinished cells (a cell cut off
mid-run resumes from its checkpoint). A job that raises leaves ``failed.json`` (the error
and traceback) in its dir; ``python -m experiments.aggregate DIR`` lists it. An interrupted
job (Ctrl-C, a kill) leaves no ``failed.json``: its checkpoint stays for the resume, and the
process says so and exits 130 (Ctrl-C) or 143 (SIGTERM) without a traceback. SIGTERM is raised
like Ctrl-C (`experiments.stopping.Terminated`) where no launcher handles it, so a task stops
its worker processes (``table1``'s reference worker) rather than leaving them running; a run
whose main thread is inside compiled code is stopped by `experiments.stopping`'s watcher a few
seconds later all the same.

A dir holding another run (results, ``cell.json`` or a checkpoint of other settings or code)
is refused with exit 2 before any work, and left as it was: Hydra has already rewritten its
``.hydra/`` files (and a sweep's ``multirun.yaml``) by the time the job starts, so the refusal
writes back the ones the accepted run recorded in ``cell.json``; and Hydra's job log
(``run.log``), open for appending since the job started, is cut back to the bytes it had.
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import os
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from experiments import compiled, outputs
from experiments.checkpoint import code_digest
from experiments.schema import Config, ConfigError
from experiments.stopping import stop_on_signal

log = logging.getLogger("experiments")

RESULTS = "results.json"
FAILED = "failed.json"
#: written when a run of a dir starts: its config, overrides, code digest and the Hydra files
#: it started with (a refused rerun writes them back; `experiments.aggregate` reads overrides)
CELL = "cell.json"
HYDRA_FILES = ("config.yaml", "hydra.yaml", "overrides.yaml")
MULTIRUN = "multirun.yaml"


#: conf/link's profiles -> the link they configure. The profiles hold only deltas (leo and fiber
#: none), so a profile in the other kind's slot (``link@fig4.fiber=leo``) would compose into that
#: slot's defaults without a word; `check_link_profiles` refuses it. A profile not listed here
#: (a user's own file) is not checked by name: its keys still have to be the slot's fields.
LINK_PROFILES = {"leo": "satellite", "meo": "satellite", "micius": "satellite", "fiber": "fiber"}


def check_link_profiles(choices: dict[str, Any]) -> None:
    """Refuse a known link profile chosen for a slot of the other kind (Hydra's group choices,
    e.g. ``{"link@fig4.fiber": "leo"}``; a slot's kind is its last name: satellite or
    fiber)."""
    for group, name in choices.items():
        if not str(group).startswith("link@") or name not in LINK_PROFILES:
            continue
        kind = str(group).rsplit(".", 1)[-1]
        if kind in ("satellite", "fiber") and LINK_PROFILES[name] != kind:
            fits = sorted(k for k, v in LINK_PROFILES.items() if v == kind)
            raise ConfigError(
                f"config group '{group}' = {name!r} is invalid; accepted: a {kind} link "
                f"profile ({', '.join(fits)}): {name!r} configures a {LINK_PROFILES[name]} link")


def to_config(cfg: DictConfig) -> Config:
    """Convert a composed config to the typed dataclass, running every range check. A config
    composed with its Hydra node (``compose(..., return_hydra_config=True)``) also has its
    link profiles checked against their slots (`check_link_profiles`, as the CLI does), and
    the node is left out of the result."""
    if "hydra" in cfg:
        choices = OmegaConf.select(cfg, "hydra.runtime.choices", default=None)
        if choices is not None:
            check_link_profiles(dict(choices))
        cfg = copy.deepcopy(cfg)
        with open_dict(cfg):
            del cfg["hydra"]
    obj = OmegaConf.to_object(cfg)
    if not isinstance(obj, Config):  # pragma: no cover - schema always registered
        raise ConfigError("config did not compose into experiments.schema.Config")
    return obj


def process_dir(out_dir: Path) -> Path:
    """Where this process writes a run's outputs: ``out_dir``, or ``out_dir/process{i}`` for
    process ``i > 0`` of a multi-host step (`qsense.distributed.initialize`). Every process
    runs the same program (SPMD) and computes the same results; process 0 writes them, the
    others beside them instead of over them. (Checkpoints are read as process 0 reads its
    own: `qsense.distributed.agree`.)"""
    import jax

    from qsense.distributed import multi_process

    return out_dir / f"process{jax.process_index()}" if (
        multi_process() and jax.process_index() > 0) else out_dir


def execute(config: Config, out_dir: Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Run ``config.task`` into ``out_dir`` and write ``results.json``; return its payload."""
    import jax

    # float64 is the default everywhere; float32 runs choose complex64 arrays explicitly.
    jax.config.update("jax_enable_x64", True)
    cache_dir = compiled.enable_compile_cache()
    # one JAX runtime over the tasks of a multi-task SLURM step (no-op otherwise)
    from qsense.distributed import initialize
    initialize()
    out_dir = process_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs.reset_devices()
    task = importlib.import_module(f"experiments.tasks.{config.task}")
    t0 = time.perf_counter()
    result = task.run(config, out_dir)
    wall = time.perf_counter() - t0
    payload = {
        "task": config.task,
        "metrics": result.get("metrics", {}),
        "tables": result.get("tables", {}),
        "figures": result.get("figures", []),
        "config": asdict(config),
        "versions": outputs.versions(),
        "device": outputs.device(),
        "wall_time_s": wall,
        "compile_cache": cache_dir,
        "seed": config.seed,
        "code": code_digest(),
    }
    if overrides is not None:
        payload["overrides"] = list(overrides)
    payload["devices"] = outputs.devices_used(result.get("devices"))
    path = outputs.write_results(out_dir, payload)
    (out_dir / FAILED).unlink(missing_ok=True)
    log.info("wrote %s (%.1f s)", path, wall)
    return payload


def _essential(cfg: dict | None) -> dict:
    cosmetic = ("progress",)  # keys that do not change results
    return {k: v for k, v in (cfg or {}).items() if k not in cosmetic}


def started(config: Config, out_dir: Path) -> dict[str, Any] | None:
    """The record of ``out_dir/cell.json`` (a run of this dir that started, finished or not);
    ``None`` when there is none. Raises ``ConfigError`` when it is a run of other settings or
    of other code, so a checkpoint-only dir (a killed run) is refused before any work."""
    path = out_dir / CELL
    if not path.exists():
        return None
    rec = outputs.read_json_object(path)
    if rec is None:
        raise ConfigError(f"{path} is unreadable (not a JSON object): this dir's run cannot "
                          "be identified; use a fresh hydra.run.dir / hydra.sweep.dir, or "
                          "delete the file to rerun the dir from its checkpoint")
    _same_run(rec, config, f"{out_dir} holds a run", (
        f"task {rec.get('task')!r}, overrides {' '.join(rec.get('overrides') or []) or '-'}"),
        "rerun with its settings to resume it, or use a fresh hydra.run.dir / "
        "hydra.sweep.dir")
    return rec


_ABSENT = object()


def config_diff(old: dict | None, new: dict | None, limit: int = 8) -> str:
    """The keys whose values differ between two recorded configs, ``key: old -> new`` (``-``
    where a config lacks the key), at most ``limit`` of them."""
    a, b = outputs.flat_config(_essential(old)), outputs.flat_config(_essential(new))
    keys = [k for k in sorted({*a, *b}) if a.get(k, _ABSENT) != b.get(k, _ABSENT)]

    def show(v):
        return "-" if v is _ABSENT else json.dumps(v)

    parts = [f"{k}: {show(a.get(k, _ABSENT))} -> {show(b.get(k, _ABSENT))}"
             for k in keys[:limit]]
    if len(keys) > limit:
        parts.append(f"... {len(keys) - limit} more")
    return "; ".join(parts)


def _same_run(rec: dict[str, Any], config: Config, what: str, who: str, advice: str) -> None:
    """Raise ``ConfigError`` unless the record ``rec`` (``cell.json`` or ``results.json``)
    is of a run with ``config``'s settings and this code. Other code is said first (a code
    change often adds or changes config keys too, which are then no settings of the user's);
    other settings name the keys that differ, ``key: old -> new``."""
    mine = outputs.jsonable(asdict(config))
    same_config = _essential(rec.get("config")) == _essential(mine)
    if rec.get("code") != code_digest():
        also = "" if same_config else (
            f"; its config differs too: {config_diff(rec.get('config'), mine)}")
        raise ConfigError(
            f"{what} computed by other code (digest {rec.get('code')!r}, this code "
            f"{code_digest()!r}: qsense, routing or experiments changed since; {who}){also}; "
            "rerun into a fresh hydra.run.dir / hydra.sweep.dir rather than mixing the two")
    if not same_config:
        raise ConfigError(f"{what} with other settings ({who}; "
                          f"{config_diff(rec.get('config'), mine)}); {advice}")


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


def _record_start(config: Config, out_dir: Path, overrides: list[str] | None,
                  sweep_dir: Path | None, previous: dict[str, Any] | None) -> None:
    """Write ``cell.json`` when a run of ``out_dir`` is accepted: config, overrides, code and
    the Hydra files as they are now (a resumed run keeps the first run's record)."""
    if previous is not None:
        return
    rec = {"task": config.task, "config": outputs.jsonable(asdict(config)),
           "overrides": overrides, "code": code_digest(),
           "hydra": {name: _read(out_dir / ".hydra" / name) for name in HYDRA_FILES},
           "multirun": {"dir": str(sweep_dir), "text": _read(sweep_dir / MULTIRUN)}
           if sweep_dir is not None else None}
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs.write_json_atomic(out_dir / CELL, rec, indent=1)


def restore_hydra_files(out_dir: Path) -> None:
    """Write back the ``.hydra/`` files (and the sweep's ``multirun.yaml``) recorded in
    ``out_dir/cell.json`` by the run that owns the dir: a refused rerun leaves it as it was."""
    rec = outputs.read_json_object(out_dir / CELL)
    if rec is None:  # none, or unreadable (`started` has said so)
        return
    for name, text in (rec.get("hydra") or {}).items():
        if text is not None and name in HYDRA_FILES:
            (out_dir / ".hydra" / name).write_text(text)
    multirun = rec.get("multirun") or {}
    if multirun.get("text") is not None and Path(multirun["dir"]).is_dir():
        (Path(multirun["dir"]) / MULTIRUN).write_text(multirun["text"])


def _file_handlers() -> list[logging.FileHandler]:
    """Every ``FileHandler`` of the root logger or of any other."""
    loggers = [logging.getLogger(), *(lg for lg in logging.root.manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger))]
    return [h for lg in loggers for h in lg.handlers if isinstance(h, logging.FileHandler)]


def log_files(out_dir: Path) -> dict[Path, int]:
    """The files in ``out_dir`` that logging writes to (Hydra's job log, ``run.log``) and
    their sizes now (-1: not there yet, a handler that opens it on its first record). A
    refused rerun cuts them back to these sizes (`restore_log_files`): what it logged (JAX's
    backend notice, ...) is not the dir's run's."""
    here = out_dir.resolve()
    out: dict[Path, int] = {}
    for h in _file_handlers():
        path = Path(h.baseFilename)
        if path.parent.resolve() == here:
            out[path] = path.stat().st_size if path.exists() else -1
    return out


def restore_log_files(sizes: dict[Path, int]) -> None:
    """Cut each log file of `log_files` back to its recorded size (logging only appends, so
    the bytes before it are the ones it had), or remove it where it was not there yet."""
    for h in _file_handlers():
        if Path(h.baseFilename) in sizes:
            h.flush()
    for path, size in sizes.items():
        if not path.exists():
            continue
        if size < 0:
            path.unlink()
        elif path.stat().st_size > size:
            os.truncate(path, size)


def finished(config: Config, out_dir: Path) -> dict[str, Any] | None:
    """The payload of ``out_dir/results.json`` if it was written by a run of ``config``;
    ``None`` when there is none or it is unreadable (then the run is done again). Raises
    ``ConfigError`` when the dir holds another run's results (a different sweep into the
    same dir), rather than mixing the two."""
    path = out_dir / RESULTS
    if not path.exists():
        return None
    payload = outputs.read_json_object(path)
    if payload is None:  # truncated by a crash while written (before writes were atomic)
        log.warning("%s is unreadable (not a JSON object): the run is done again, resuming "
                    "from its checkpoint", path)
        return None
    problem = outputs.results_problem(out_dir, payload)
    if problem is not None:
        log.warning("%s: %s: the run is done again, resuming from its checkpoint", path,
                    problem)
        return None
    _same_run(payload, config, f"{out_dir} holds the results of a run",
              f"task {payload.get('task')!r}", "rerun a sweep into its own hydra.sweep.dir, "
              "or use a fresh hydra.run.dir / hydra.sweep.dir")
    return payload


def run_cell(config: Config, out_dir: Path, overrides: list[str] | None = None,
             sweep_dir: Path | None = None) -> dict[str, Any]:
    """One job of a run or a sweep: skip it when finished, else run it; on failure leave
    ``failed.json`` (error and traceback) for ``experiments.aggregate`` and re-raise.

    A dir of another run (other settings or code: `finished`, `started`, or a checkpoint's
    `CheckpointMismatch`) raises ``ConfigError`` and is left as it was (`restore_hydra_files`,
    `restore_log_files`; no ``failed.json``). An interrupt (Ctrl-C, SystemExit) is no failure
    either: the dir stays ``unfinished`` and resumes from its checkpoint. ``overrides``: the
    job's Hydra overrides, recorded in ``cell.json`` and ``results.json``; ``sweep_dir``: the
    sweep's dir (multirun), whose ``multirun.yaml`` is recorded too."""
    code_digest()  # this run's digest, fixed now (the sources may change while it runs)
    logs = log_files(out_dir)  # as the dir's run left them (Hydra opened them, wrote nothing)
    try:
        done = finished(config, out_dir)
        previous = started(config, out_dir) if done is None else None
    except ConfigError:
        restore_hydra_files(out_dir)
        restore_log_files(logs)
        raise
    if done is not None:
        log.info("skipped: %s already holds finished results", out_dir)
        print(f"skipped (finished): {out_dir / RESULTS}")
        return done
    _record_start(config, out_dir, overrides, sweep_dir, previous)
    (out_dir / FAILED).unlink(missing_ok=True)  # a retry: unfinished until it ends
    try:
        return execute(config, out_dir, overrides)
    except ConfigError:
        # refused before any work (a checkpoint of other settings in a dir from before
        # cell.json, a size that does not fit in memory): the dir is left as it was
        if previous is None:
            (out_dir / CELL).unlink(missing_ok=True)
        else:
            restore_hydra_files(out_dir)
        restore_log_files(logs)
        raise
    except Exception as err:
        out_dir.mkdir(parents=True, exist_ok=True)
        outputs.write_json_atomic(out_dir / FAILED, {
            "task": config.task, "error": f"{type(err).__name__}: {err}",
            "overrides": overrides, "traceback": traceback.format_exc()})
        raise


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    hc = HydraConfig.get()
    try:
        check_link_profiles(dict(hc.runtime.choices))
        config = to_config(cfg)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    out_dir = Path(hc.runtime.output_dir)
    from hydra.types import RunMode

    sweep_dir = Path(hc.sweep.dir) if hc.mode == RunMode.MULTIRUN else None
    try:
        with stop_on_signal(out_dir):  # Ctrl-C, SIGTERM: one line, exit 130 / 143
            run_cell(config, out_dir, [str(o) for o in hc.overrides.task], sweep_dir)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(f"results: {process_dir(out_dir) / RESULTS}")


if __name__ == "__main__":
    main()
