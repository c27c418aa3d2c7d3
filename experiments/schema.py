"""Typed experiment configs (Hydra structured configs).

Every section is a dataclass. Hydra checks types and rejects unknown keys when composing;
`OmegaConf.to_object` then builds the dataclasses, whose ``__post_init__`` checks ranges and
raises :class:`ConfigError` (a ``ValueError``) naming the key, the value and the accepted range.
Sections for other tasks are added here as fields of :class:`Config`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

NOISES = ("dephasing", "bitflip", "amplitude_damping")
PRECISIONS = ("float64", "float32")


class ConfigError(ValueError):
    """A config value outside its accepted range."""


def require(ok: bool, key: str, value: Any, accepted: str) -> None:
    """Raise ConfigError naming ``key``, ``value`` and the ``accepted`` range unless ``ok``."""
    if not ok:
        raise ConfigError(f"config key {key!r} = {value!r} is invalid; accepted: {accepted}")


def require_choice(key: str, value: Any, choices: Iterable[str]) -> None:
    choices = tuple(choices)
    require(value in choices, key, value, f"one of {list(choices)}")


def require_choices(key: str, values: Iterable[str], choices: Iterable[str]) -> None:
    choices = tuple(choices)
    values = list(values)
    require(len(values) > 0, key, values, f"a non-empty list drawn from {list(choices)}")
    for v in values:
        require(v in choices, key, values, f"a list drawn from {list(choices)}")


@dataclass
class QuickstartConfig:
    """GHZ probes, scalar field: QFI versus sensing time t for each noise (DESIGN section 6)."""

    n_min: int = 1
    n_max: int = 5
    gamma: float = 0.1  # noise rate γ, 1/time units
    noises: list[str] = field(default_factory=lambda: list(NOISES))
    field_b0: float = 1.0  # scalar field value B0 where the QFI is taken (DESIGN section 3)
    t_max: float = 40.0  # sensing-time grid upper end, same time units as 1/γ
    n_t: int = 401  # grid points in (0, t_max]

    def __post_init__(self) -> None:
        from qsense._checks import MAX_QUBITS

        require(1 <= self.n_min <= MAX_QUBITS, "quickstart.n_min", self.n_min,
                f"integer in [1, {MAX_QUBITS}]")
        require(self.n_min <= self.n_max <= MAX_QUBITS, "quickstart.n_max", self.n_max,
                f"integer in [n_min={self.n_min}, {MAX_QUBITS}]")
        require(self.gamma >= 0, "quickstart.gamma", self.gamma, "a rate >= 0")
        require_choices("quickstart.noises", self.noises, NOISES)
        require(self.t_max > 0, "quickstart.t_max", self.t_max, "a time > 0")
        require(3 <= self.n_t <= 100_000, "quickstart.n_t", self.n_t, "integer in [3, 100000]")


@dataclass
class Config:
    """Top-level config. ``task`` names a module of ``experiments.tasks``."""

    task: str = "quickstart"
    seed: int = 0
    precision: str = "float64"  # float64 (complex128) or float32 (complex64)
    progress: bool = True  # tqdm progress bars
    quickstart: QuickstartConfig = field(default_factory=QuickstartConfig)

    def __post_init__(self) -> None:
        from experiments.tasks import available_tasks

        require_choice("task", self.task, available_tasks())
        require_choice("precision", self.precision, PRECISIONS)
        require(self.seed >= 0, "seed", self.seed, "integer >= 0")


def register() -> None:
    ConfigStore.instance().store(name="base_config", node=Config)


register()
