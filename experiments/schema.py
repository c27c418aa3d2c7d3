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
    t_max: float = 20.0  # sensing-time grid upper end, same time units as 1/γ
    n_t: int = 201  # grid points in (0, t_max]

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


# --- VQS experiments (table1, fig2, fig3): helper block "vqs" -------------------------------
SENSING = ("single", "multi")
GA_OPERATORS = ("deletion", "insertion", "replacement", "swapping", "permutation")
REFINE_METHODS = ("adam", "lbfgs", "parameter_shift", "cobyla")


@dataclass
class VQSSearchConfig:
    """Genetic structure search + angle/time refinement (qsense.genetic, qsense.optimize)."""

    population: int = 48  # chromosomes per generation (>= 2)
    generations: int = 20  # GA generations (>= 0)
    max_genes: int = 10  # chromosome length incl. padding (1..64)
    init_genes: int = 4  # initial chromosomes get 1..init_genes random genes
    elite: int = 4  # copied unchanged each generation (< population)
    tournament: int = 3  # tournament size
    # probabilities of (deletion, insertion, replacement, swapping, permutation); sum to 1
    operator_probs: list[float] = field(default_factory=lambda: [0.2, 0.3, 0.2, 0.15, 0.15])
    max_run: int = 3  # longest run of genes an operator moves
    angle_sigma: float = 0.1  # Gaussian angle jitter of children, radians
    n_t: int = 6  # sensing times each chromosome is scored on (log grid 0.02/γ..5/γ)
    refine_method: str = "adam"  # adam | lbfgs | parameter_shift | cobyla
    refine_steps: int = 150  # optimizer steps per restart
    learning_rate: float = 0.05  # Adam step on angles (rad) and log t
    top_k: int = 4  # distinct fittest structures refined
    restarts: int = 2  # starts per structure (GA angles, then jittered)
    jitter: float = 0.3  # angle jitter of the extra starts, radians

    def __post_init__(self) -> None:
        k = "search"
        require(self.population >= 2, f"{k}.population", self.population, "integer >= 2")
        require(self.generations >= 0, f"{k}.generations", self.generations, "integer >= 0")
        require(1 <= self.max_genes <= 64, f"{k}.max_genes", self.max_genes, "integer in [1, 64]")
        require(0 <= self.init_genes <= self.max_genes, f"{k}.init_genes", self.init_genes,
                f"integer in [0, max_genes={self.max_genes}]")
        require(0 <= self.elite < self.population, f"{k}.elite", self.elite,
                f"integer in [0, population={self.population})")
        require(1 <= self.tournament <= self.population, f"{k}.tournament", self.tournament,
                "integer in [1, population]")
        probs = list(self.operator_probs)
        require(len(probs) == len(GA_OPERATORS) and all(p >= 0 for p in probs),
                f"{k}.operator_probs", probs, f"{len(GA_OPERATORS)} values >= 0 for "
                f"{list(GA_OPERATORS)}")
        require(abs(sum(probs) - 1) <= 1e-9, f"{k}.operator_probs", probs,
                f"probabilities summing to 1 (sum = {sum(probs):g})")
        require(1 <= self.max_run <= self.max_genes, f"{k}.max_run", self.max_run,
                "integer in [1, max_genes]")
        require(self.angle_sigma >= 0, f"{k}.angle_sigma", self.angle_sigma, "radians >= 0")
        require(1 <= self.n_t <= 256, f"{k}.n_t", self.n_t, "integer in [1, 256]")
        require_choice(f"{k}.refine_method", self.refine_method, REFINE_METHODS)
        require(self.refine_steps >= 1, f"{k}.refine_steps", self.refine_steps, "integer >= 1")
        require(self.learning_rate > 0, f"{k}.learning_rate", self.learning_rate, "a value > 0")
        require(self.top_k >= 1, f"{k}.top_k", self.top_k, "integer >= 1")
        require(self.restarts >= 1, f"{k}.restarts", self.restarts, "integer >= 1")
        require(self.jitter >= 0, f"{k}.jitter", self.jitter, "radians >= 0")


@dataclass
class Table1Config:
    """QCRB of the optimal VQS and GHZ probes, seed 000 Table 1 (DESIGN sections 3, 6)."""

    n_min: int = 2
    n_max: int = 5
    gammas: list[float] = field(default_factory=lambda: [0.1, 0.2])  # noise rates, 1/time
    noises: list[str] = field(default_factory=lambda: ["amplitude_damping", "bitflip",
                                                       "dephasing"])
    sensing: list[str] = field(default_factory=lambda: ["single", "multi"])
    field_b0: float = 1.0  # scalar B0 where the single-parameter QFI is taken
    field_b0_vector: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # (Bx,By,Bz)
    search: VQSSearchConfig = field(default_factory=VQSSearchConfig)

    def __post_init__(self) -> None:
        from qsense._checks import MAX_QUBITS

        require(1 <= self.n_min <= MAX_QUBITS, "table1.n_min", self.n_min,
                f"integer in [1, {MAX_QUBITS}]")
        require(self.n_min <= self.n_max <= MAX_QUBITS, "table1.n_max", self.n_max,
                f"integer in [n_min={self.n_min}, {MAX_QUBITS}]")
        require(len(self.gammas) > 0 and all(g > 0 for g in self.gammas), "table1.gammas",
                list(self.gammas), "a non-empty list of rates > 0")
        require_choices("table1.noises", self.noises, NOISES)
        require_choices("table1.sensing", self.sensing, SENSING)
        require(len(self.field_b0_vector) == 3, "table1.field_b0_vector",
                list(self.field_b0_vector), "three values (Bx, By, Bz)")


@dataclass
class VQSFigureConfig:
    """Figs 2 (scalar field) and 3 (vector field): VQS vs GHZ under one noise."""

    n_min: int = 2
    n_max: int = 5
    gamma: float = 0.1  # noise rate, 1/time
    noise: str = "dephasing"
    field_b0: float = 1.0  # scalar B0 (fig2)
    field_b0_vector: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # fig3
    n_t: int = 121  # points of the QFI-versus-t curves, log grid t_min..t_max
    t_min_gamma: float = 0.02  # curve from t = t_min_gamma / γ ...
    t_max_gamma: float = 5.0  # ... to t = t_max_gamma / γ
    wigner_n_theta: int = 61  # Wigner plot grid (polar)
    wigner_n_phi: int = 121  # Wigner plot grid (azimuth)
    search: VQSSearchConfig = field(default_factory=VQSSearchConfig)

    def __post_init__(self) -> None:
        from qsense._checks import MAX_QUBITS

        require(1 <= self.n_min <= MAX_QUBITS, "fig.n_min", self.n_min,
                f"integer in [1, {MAX_QUBITS}]")
        require(self.n_min <= self.n_max <= min(MAX_QUBITS, 10), "fig.n_max", self.n_max,
                f"integer in [n_min={self.n_min}, 10]")
        require(self.gamma > 0, "fig.gamma", self.gamma, "a rate > 0")
        require_choice("fig.noise", self.noise, NOISES)
        require(len(self.field_b0_vector) == 3, "fig.field_b0_vector",
                list(self.field_b0_vector), "three values (Bx, By, Bz)")
        require(3 <= self.n_t <= 10_000, "fig.n_t", self.n_t, "integer in [3, 10000]")
        require(0 < self.t_min_gamma < self.t_max_gamma, "fig.t_max_gamma", self.t_max_gamma,
                f"a value > t_min_gamma={self.t_min_gamma} > 0")
        require(5 <= self.wigner_n_theta <= 1000, "fig.wigner_n_theta", self.wigner_n_theta,
                "integer in [5, 1000]")
        require(5 <= self.wigner_n_phi <= 2000, "fig.wigner_n_phi", self.wigner_n_phi,
                "integer in [5, 2000]")
# --- end of helper block "vqs" ---------------------------------------------------------------


@dataclass
class Config:
    """Top-level config. ``task`` names a module of ``experiments.tasks``."""

    task: str = "quickstart"
    seed: int = 0
    precision: str = "float64"  # float64 (complex128) or float32 (complex64)
    progress: bool = True  # tqdm progress bars
    quickstart: QuickstartConfig = field(default_factory=QuickstartConfig)
    table1: Table1Config = field(default_factory=Table1Config)  # vqs block
    fig2: VQSFigureConfig = field(default_factory=VQSFigureConfig)  # vqs block
    fig3: VQSFigureConfig = field(default_factory=VQSFigureConfig)  # vqs block

    def __post_init__(self) -> None:
        from experiments.tasks import available_tasks

        require_choice("task", self.task, available_tasks())
        require_choice("precision", self.precision, PRECISIONS)
        require(self.seed >= 0, "seed", self.seed, "integer >= 0")


def register() -> None:
    ConfigStore.instance().store(name="base_config", node=Config)


register()
