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


# ---------------------------------------------------------------- links / fig4 (area: links)
# Link parameter sections mirror qsense.links.SatelliteLink / FiberLink (same names, same
# units); conf/link/*.yaml hold the profiles with the source of every default.
FIG4_PROBES = ("GHZ", "VQS")
FIG4_PROTOCOLS = ("distributed", "remote")


def _validate_link(key: str, cls_name: str, values: dict) -> None:
    """Run qsense's own link validation; re-raise naming the config section."""
    import qsense.links as links

    try:
        getattr(links, cls_name)(**values).validate()
    except ValueError as err:
        raise ConfigError(f"config section {key!r}: {err}") from None


@dataclass
class SatelliteLinkConfig:
    """Satellite with an on-board pair source (qsense.links.SatelliteLink)."""

    altitude_km: float = 400.0  # km
    wavelength_m: float = 810e-9  # m
    tx_waist_m: float = 0.09  # m, 1/e^2 intensity radius at the transmitter
    beam_quality_m2: float = 3.5  # M^2 (1 = diffraction limited)
    rx_aperture_m: float = 1.2  # m, receiver telescope diameter
    pointing_jitter_rad: float = 0.4e-6  # rad rms per axis
    zenith_transmittance: float = 0.8  # atmosphere at zenith
    tx_efficiency: float = 0.5  # transmit optics
    rx_efficiency: float = 0.2  # receive optics and coupling
    detector_efficiency: float = 0.5  # single-photon detector
    min_elevation_deg: float = 10.0  # degrees
    source_rate_hz: float = 5.9e6  # pairs/s
    source_fidelity: float = 0.907  # Werner fidelity of the source
    background_cps: float = 500.0  # counts/s per station (dark + background)
    coincidence_window_s: float = 2.5e-9  # s

    def __post_init__(self) -> None:
        _validate_link("satellite link", "SatelliteLink", dict(vars(self)))


@dataclass
class FiberLinkConfig:
    """Fiber repeater chain (qsense.links.FiberLink)."""

    attenuation_db_per_km: float = 0.2  # dB/km
    speed_km_s: float = 2.0e5  # km/s in fiber
    memory_efficiency: float = 0.9
    detector_efficiency: float = 0.9
    bsm_success: float = 0.5  # Bell-measurement success probability (linear optics)
    elementary_fidelity: float = 0.99
    swap_werner_factor: float = 1.0
    memory_time_s: float = 1.0  # s, depolarizing memory lifetime
    repetition_rate_hz: float = 1.0e6  # Hz, local attempt clock
    modes: float = 1.0  # multiplexed modes per attempt
    n_repeaters: int = 10

    def __post_init__(self) -> None:
        _validate_link("fiber link", "FiberLink", dict(vars(self)))


@dataclass
class Fig4Config:
    """Seed Fig. 4: satellite (LEO) versus fiber with repeaters, distributed VQS, N = 3."""

    n_qubits: int = 3
    gamma: float = 0.1  # dephasing rate, 1/time units
    noise: str = "dephasing"
    protocol: str = "distributed"  # distributed (seed Fig. 4) or remote
    probes: list[str] = field(default_factory=lambda: list(FIG4_PROBES))
    field_b0: float = 1.0  # scalar field where the QFI is taken
    distance_min_km: float = 25.0  # BS-SN ground distance grid, km
    distance_max_km: float = 3000.0
    n_distances: int = 120
    t_max: float = 20.0  # sensing-time grid (0, t_max] for the peak QFI
    n_t: int = 400
    vqs_steps: int = 300  # Adam steps of the VQS angle tuning
    vqs_learning_rate: float = 0.05
    vqs_seed: int = 0  # PRNG seed of the initial VQS angles
    pass_times: int = 361  # time points of the satellite pass average (0: skip it)
    sensitivity_elementary_fidelity: list[float] = field(
        default_factory=lambda: [0.98, 0.99, 0.995, 0.999])
    sensitivity_memory_time_s: list[float] = field(default_factory=lambda: [0.1, 1.0, 10.0])
    satellite: SatelliteLinkConfig = field(default_factory=SatelliteLinkConfig)
    fiber: FiberLinkConfig = field(default_factory=FiberLinkConfig)

    def __post_init__(self) -> None:
        from qsense._checks import MAX_QUBITS

        require(2 <= self.n_qubits <= MAX_QUBITS, "fig4.n_qubits", self.n_qubits,
                f"integer in [2, {MAX_QUBITS}]")
        require(self.gamma >= 0, "fig4.gamma", self.gamma, "a rate >= 0")
        require_choice("fig4.noise", self.noise, NOISES)
        require_choice("fig4.protocol", self.protocol, FIG4_PROTOCOLS)
        require_choices("fig4.probes", self.probes, FIG4_PROBES)
        require(0 <= self.distance_min_km < self.distance_max_km, "fig4.distance_min_km",
                self.distance_min_km, f"a distance in [0, distance_max_km={self.distance_max_km})")
        require(2 <= self.n_distances <= 100_000, "fig4.n_distances", self.n_distances,
                "integer in [2, 100000]")
        require(self.t_max > 0, "fig4.t_max", self.t_max, "a time > 0")
        require(3 <= self.n_t <= 100_000, "fig4.n_t", self.n_t, "integer in [3, 100000]")
        require(0 <= self.vqs_steps <= 100_000, "fig4.vqs_steps", self.vqs_steps,
                "integer in [0, 100000]")
        require(self.vqs_learning_rate > 0, "fig4.vqs_learning_rate", self.vqs_learning_rate,
                "a step size > 0")
        require(self.pass_times == 0 or self.pass_times >= 3, "fig4.pass_times",
                self.pass_times, "0 (skip) or an integer >= 3")
        for f in self.sensitivity_elementary_fidelity:
            require(0.25 <= f <= 1, "fig4.sensitivity_elementary_fidelity",
                    self.sensitivity_elementary_fidelity, "fidelities in [0.25, 1]")
        for t in self.sensitivity_memory_time_s:
            require(t > 0, "fig4.sensitivity_memory_time_s", self.sensitivity_memory_time_s,
                    "times > 0 s")
# ------------------------------------------------------------ end links / fig4 (area: links)


@dataclass
class Config:
    """Top-level config. ``task`` names a module of ``experiments.tasks``."""

    task: str = "quickstart"
    seed: int = 0
    precision: str = "float64"  # float64 (complex128) or float32 (complex64)
    progress: bool = True  # tqdm progress bars
    quickstart: QuickstartConfig = field(default_factory=QuickstartConfig)
    fig4: Fig4Config = field(default_factory=Fig4Config)  # area: links

    def __post_init__(self) -> None:
        from experiments.tasks import available_tasks

        require_choice("task", self.task, available_tasks())
        require_choice("precision", self.precision, PRECISIONS)
        require(self.seed >= 0, "seed", self.seed, "integer >= 0")


def register() -> None:
    ConfigStore.instance().store(name="base_config", node=Config)


register()
