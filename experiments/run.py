"""Entry point: ``python -m experiments.run +exp=NAME [key=value ...]`` (``-m`` for sweeps).

Composes ``conf/config.yaml`` with the experiment file, validates it against the dataclass
schema (`experiments.schema`), runs ``experiments.tasks.<cfg.task>.run`` and writes
``results.json`` beside the task's CSV and PNG files in the Hydra run dir.

Sweeps (``-m``) run each cell as its own job (default launcher, ``+launcher=joblib``,
``+launcher=slurm``, ``+launcher=submitit_local``). A job whose dir already holds a
``results.json`` written with the same config by the same code is skipped, so rerunning a
sweep into the same ``hydra.sweep.dir`` only computes unfinished cells (a cell cut off
mid-run resumes from its checkpoint). A job that raises leaves ``failed.json`` (the error
and traceback) in its dir; ``python -m experiments.aggregate DIR`` lists it.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from experiments import compiled, outputs
from experiments.checkpoint import code_digest
from experiments.schema import Config, ConfigError

log = logging.getLogger("experiments")

RESULTS = "results.json"
FAILED = "failed.json"


def to_config(cfg: DictConfig) -> Config:
    """Convert a composed config to the typed dataclass, running every range check."""
    obj = OmegaConf.to_object(cfg)
    if not isinstance(obj, Config):  # pragma: no cover - schema always registered
        raise ConfigError("config did not compose into experiments.schema.Config")
    return obj


def execute(config: Config, out_dir: Path) -> dict[str, Any]:
    """Run ``config.task`` into ``out_dir`` and write ``results.json``; return its payload."""
    import jax

    # float64 is the default everywhere; float32 runs choose complex64 arrays explicitly.
    jax.config.update("jax_enable_x64", True)
    cache_dir = compiled.enable_compile_cache()
    # one JAX runtime over the tasks of a multi-task SLURM step (no-op otherwise)
    from qsense.distributed import initialize
    initialize()
    if jax.process_count() > 1 and jax.process_index() > 0:
        # every process of a multi-host step runs the same program (SPMD); process 0 writes
        # the results, the others write beside them instead of over them
        out_dir = out_dir / f"process{jax.process_index()}"
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
    payload["devices"] = outputs.devices_used(result.get("devices"))
    path = outputs.write_results(out_dir, payload)
    (out_dir / FAILED).unlink(missing_ok=True)
    log.info("wrote %s (%.1f s)", path, wall)
    return payload


def finished(config: Config, out_dir: Path) -> dict[str, Any] | None:
    """The payload of ``out_dir/results.json`` if it was written by a run of ``config``;
    ``None`` when there is none. Raises ``ConfigError`` when the dir holds another run's
    results (a different sweep into the same dir), rather than mixing the two."""
    path = out_dir / RESULTS
    if not path.exists():
        return None
    payload = json.loads(path.read_text())
    cosmetic = ("progress",)  # keys that do not change results

    def essential(cfg: dict) -> dict:
        return {k: v for k, v in (cfg or {}).items() if k not in cosmetic}

    if essential(payload.get("config")) != essential(outputs.jsonable(asdict(config))):
        raise ConfigError(
            f"{out_dir} holds the results of a run with other settings (task "
            f"{payload.get('task')!r}); rerun a sweep into its own hydra.sweep.dir, or use a "
            f"fresh hydra.run.dir / hydra.sweep.dir")
    if payload.get("code") != code_digest():
        raise ConfigError(
            f"{out_dir} holds results computed by other code (digest {payload.get('code')!r}, "
            f"this code {code_digest()!r}: qsense, routing or experiments changed since); "
            "rerun into a fresh hydra.run.dir / hydra.sweep.dir rather than mixing the two")
    return payload


def run_cell(config: Config, out_dir: Path) -> dict[str, Any]:
    """One job of a run or a sweep: skip it when finished, else run it; on failure leave
    ``failed.json`` (error and traceback) for ``experiments.aggregate`` and re-raise."""
    done = finished(config, out_dir)
    if done is not None:
        log.info("skipped: %s already holds finished results", out_dir)
        print(f"skipped (finished): {out_dir / RESULTS}")
        return done
    try:
        return execute(config, out_dir)
    except BaseException as err:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / FAILED).write_text(json.dumps({
            "task": config.task, "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc()}, indent=2))
        raise


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    try:
        config = to_config(cfg)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        run_cell(config, out_dir)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(f"results: {out_dir / 'results.json'}")


if __name__ == "__main__":
    main()
