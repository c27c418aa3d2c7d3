"""Entry point: ``python -m experiments.run +exp=NAME [key=value ...]`` (``-m`` for sweeps).

Composes ``conf/config.yaml`` with the experiment file, validates it against the dataclass
schema (`experiments.schema`), runs ``experiments.tasks.<cfg.task>.run`` and writes
``results.json`` beside the task's CSV and PNG files in the Hydra run dir.
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from experiments import outputs
from experiments.schema import Config, ConfigError

log = logging.getLogger("experiments")


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
    out_dir.mkdir(parents=True, exist_ok=True)
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
        "seed": config.seed,
    }
    path = outputs.write_results(out_dir, payload)
    log.info("wrote %s (%.1f s)", path, wall)
    return payload


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    try:
        config = to_config(cfg)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    execute(config, out_dir)
    print(f"results: {out_dir / 'results.json'}")


if __name__ == "__main__":
    main()
