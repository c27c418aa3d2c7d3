"""Compose configs the way ``python -m experiments.run`` does, without a subprocess."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir

from experiments.run import to_config

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"


def compose_config(overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def load_config(overrides: list[str]):
    return to_config(compose_config(overrides))
