"""Typed experiment configs (Hydra structured configs).

Every section is a dataclass. Hydra checks types and rejects unknown keys when composing;
`OmegaConf.to_object` then builds the dataclasses, whose ``__post_init__`` checks ranges and
raises :class:`ConfigError` (a ``ValueError``) naming the key, the value and the accepted range.

Where the library has a config dataclass, the section IS that dataclass, derived field by
field (`experiments.structured.section`): ``search`` (`qsense.genetic.GAConfig` +
``search.refine``, `RefineConfig`), ``fig4.satellite`` / ``fig4.fiber``
(`qsense.links.SatelliteLink` / `FiberLink`), ``routing.network``
(`routing.topology.GeneratorConfig`). Their defaults and checks live in the library only;
experiment-specific values are deltas in ``conf/`` (``conf/search/default.yaml``, ...).
The other sections are the experiments' own settings. Sections for other tasks are added
here as fields of :class:`Config`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from hydra.core.config_store import ConfigStore

from experiments.structured import ConfigError, config_error, section
from qsense._checks import NOISE_MODELS, is_int

#: the noise models of qsense (qsense._checks.NOISE_MODELS) but "none"
NOISES = tuple(n for n in NOISE_MODELS if n != "none")
PRECISIONS = ("float64", "float32")
#: largest noise rate and sensing time a config accepts (1/time, time): beyond them the QFI
#: (N^2 t^2 at most) or the decay exp(-N gamma t) leaves float range, so such a value is a
#: typo, not a setting
MAX_RATE = 1e6
MAX_TIME = 1e6
MIN_TIME = 1e-9  # smallest sensing time of a curve's grid
#: largest |field_b0| (and |B| entry of field_b0_vector), 1/time units (the noise rates' units,
#: default 1 against gamma = 0.1): float64 carries the phase B t, so the QFI's relative error
#: grows as ~1e-16 B t. Measured (qsense.score_pure, GHZ, N = 1, 2, t = 10, dephasing and
#: amplitude damping, whose QFI does not depend on B): 1e-10 at B = 1e4, 2e-9 at 1e6, 4e-7..
#: 1e-5 at 1e8..1e9, 3e-3..6e-3 at 1e12 (the quickstart peak at B = 1e12, t up to 40: 13.858
#: vs the closed form 13.5335) and a FloatingPointError at 1e20. 1e4 keeps it below 1e-10 at
#: the experiments' times, and is 1e5 times the largest default noise rate
MAX_FIELD = 1e4
#: largest phase |B0| t_max (rad) over a curve's or a search's times: at 1e8 rad the measured
#: relative error of the QFI is 2e-9, at 1e9 already ~1e-5
MAX_PHASE = 1e8
#: largest VQS population (2^20): the GA scores population x n_t circuits per generation
MAX_POPULATION = 2**20
#: sensing times of the search's grid and refinement bounds: the curves' own range
#: [MIN_SEARCH_TIME, MAX_TIME] (beyond it the noise exp(-N gamma t) and the phase B t leave
#: float range; [1e-300, 1e300] was accepted)
MIN_SEARCH_TIME = 1e-6


def require(ok: bool, key: str, value: Any, accepted: str) -> None:
    """Raise ConfigError naming ``key``, ``value`` and the ``accepted`` range unless ``ok``."""
    if not ok:
        raise ConfigError(f"config key {key!r} = {value!r} is invalid; accepted: {accepted}")


def finite(value: Any) -> bool:
    """A real number (not bool) that is neither NaN nor infinite."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def require_finite(key: str, value: Any, accepted: str = "a finite number") -> None:
    require(finite(value), key, value, accepted)


def require_vector(key: str, values: Any) -> None:
    """Three finite values (a field vector (Bx, By, Bz)), each within +-MAX_FIELD."""
    values = list(values)
    require(len(values) == 3 and all(finite(v) for v in values), key, values,
            "three finite values (Bx, By, Bz)")
    require(all(abs(v) <= MAX_FIELD for v in values), key, values,
            f"three finite values (Bx, By, Bz) in [-{MAX_FIELD:g}, {MAX_FIELD:g}] (1/time "
            "units; beyond, float64 loses the phase B t)")


def require_field(key: str, value: Any) -> None:
    """A finite scalar field B0 with |B0| <= MAX_FIELD."""
    require_finite(key, value, "a finite field value")
    require(abs(value) <= MAX_FIELD, key, value,
            f"a field value in [-{MAX_FIELD:g}, {MAX_FIELD:g}] (1/time units; beyond, float64 "
            "loses the phase B t)")


def require_phase(key: str, value: Any, b_max: float, t_max: float, t_name: str) -> None:
    """|B| t_max <= MAX_PHASE: the largest phase of the run's times stays resolvable."""
    require(b_max * t_max <= MAX_PHASE, key, value,
            f"a field with |B| x {t_name} <= {MAX_PHASE:g} rad ({t_name} = {t_max:g}; beyond, "
            "float64 loses the phase B t)")


def require_vector_n_min(sec: str, n_min: int, b0: Any, vector: bool, when: str) -> None:
    """N = 1 vector-field cells only at a nonzero field: at B = 0 every one-qubit probe has a
    singular QFIM (measured with qsense.objective.qfim_of_state: lambda_min / lambda_max <=
    4e-16 for 200 random one-qubit states, each noise, t in {0.5, 3, 10}; QCRB inf, fraction
    NaN), since a qubit's state moves in at most two directions under a field about B = 0. At
    a nonzero field the noise acting beside it gives rank 3 (e.g. B = (0, 0, 1): QCRB 6-40)."""
    require(not (vector and n_min < 2 and all(v == 0 for v in b0)), f"{sec}.n_min", n_min,
            f"integer >= 2 {when}at {sec}.field_b0_vector = {list(b0)}: one qubit cannot "
            "estimate three field components at B = 0 (its QFIM is singular for every probe); "
            "set a nonzero field_b0_vector for N = 1")


def require_ints(section: Any, prefix: str) -> None:
    """Every field of ``section`` annotated ``int`` holds an integer, and every ``list[int]``
    field a list of integers (not bool, not 2.5), named ``prefix`` + field. From YAML and the
    command line Hydra's typing guarantees it; from Python a float count would be truncated
    or fail late with an error that names no key."""
    for f in fields(section):
        v = getattr(section, f.name)
        if f.type == "int":
            require(is_int(v), prefix + f.name, v, "an integer")
        elif f.type == "list[int]":
            require(isinstance(v, (list, tuple)) and all(is_int(x) for x in v), prefix + f.name,
                    v, "a list of integers")


def require_bool(key: str, value: Any) -> None:
    """true or false only (a bool-typed key would turn 2 or 'yes' into true)."""
    require(isinstance(value, bool), key, value, "true or false")


def require_unique(key: str, values: Iterable[Any]) -> None:
    """No entry twice (a repeated entry would compute and write the same rows twice)."""
    values = list(values)
    dup = sorted({str(v) for v in values if values.count(v) > 1})
    require(not dup, key, values, f"a list without repeated entries (repeated: {', '.join(dup)})")


def require_choice(key: str, value: Any, choices: Iterable[str]) -> None:
    choices = tuple(choices)
    require(value in choices, key, value, f"one of {list(choices)}")


def require_choices(key: str, values: Iterable[str], choices: Iterable[str]) -> None:
    choices = tuple(choices)
    values = list(values)
    require(len(values) > 0, key, values, f"a non-empty list drawn from {list(choices)}")
    for v in values:
        require(v in choices, key, values, f"a list drawn from {list(choices)}")
    require_unique(key, values)


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
        require_ints(self, "quickstart.")
        from qsense._checks import MAX_QUBITS

        require(1 <= self.n_min <= MAX_QUBITS, "quickstart.n_min", self.n_min,
                f"integer in [1, {MAX_QUBITS}]")
        require(1 <= self.n_max <= MAX_QUBITS, "quickstart.n_max", self.n_max,
                f"integer in [1, {MAX_QUBITS}]")
        require(self.n_min <= self.n_max, "quickstart.n_max", self.n_max,
                f"integer in [n_min={self.n_min}, {MAX_QUBITS}]")
        require(finite(self.gamma) and 0 <= self.gamma <= MAX_RATE, "quickstart.gamma",
                self.gamma, f"a finite rate in [0, {MAX_RATE:g}]")
        require_choices("quickstart.noises", self.noises, NOISES)
        require_field("quickstart.field_b0", self.field_b0)
        require(finite(self.t_max) and 0 < self.t_max <= MAX_TIME, "quickstart.t_max",
                self.t_max, f"a finite time in (0, {MAX_TIME:g}]")
        require_phase("quickstart.field_b0", self.field_b0, abs(self.field_b0), self.t_max,
                      "quickstart.t_max")
        require(3 <= self.n_t <= 100_000, "quickstart.n_t", self.n_t, "integer in [3, 100000]")


# --- routing (PS-EGR, paper 004): network generator, solver, fig5, fig6, routing_quick -------
ROUTING_METHODS = ("PS-EGR", "SOS", "RRS", "NSS")
ROUTING_PSEGR_SOLVERS = ("milp", "benders")
ROUTING_MILP_SOLVERS = ("SCIP", "HIGHS", "CBC")
_INSTANCE_KEYS = ("path_set", "memory_time", "memory_times")  # not generator keys


class _RoutingNetworkMethods:
    """Instance keys and helpers of ``routing.network`` (the generator keys are the fields of
    `routing.topology.GeneratorConfig`, with its defaults and checks)."""

    def check(self) -> None:
        from routing.instance import PathOptions

        pre = "routing.network."
        try:
            PathOptions(path_set=self.path_set)
        except ValueError as err:
            raise config_error("routing.network",
                               ValueError(str(err).removeprefix("options."))) from None
        require(isinstance(self.memory_time, (int, float)) and self.memory_time > 0,
                pre + "memory_time", self.memory_time, "seconds > 0 (inf: no decay)")
        for name, tau in self.memory_times.items():
            require(isinstance(tau, (int, float)) and tau > 0, f"{pre}memory_times.{name}", tau,
                    "seconds > 0 (inf: no decay)")
        require(self.path_set != "priced" or (math.isinf(self.memory_time)
                                              and all(math.isinf(v) for v in
                                                      self.memory_times.values())),
                pre + "path_set", self.path_set,
                "'capped' or 'complete' with a finite memory_time (pricing assumes none)")
        if self.topology:  # a missing file stops here (it failed mid-run, exit 1)
            from pathlib import Path

            path = Path(self.overrides()["topology"])
            require(path.is_file(), pre + "topology", self.topology,
                    "an existing GraphML (.graphml) or JSON (.json) file (relative paths: from "
                    "the repository root or the working directory; the shipped example is "
                    "routing/data/example_network.graphml)")

    def overrides(self) -> dict[str, Any]:
        """Keyword overrides for routing.generate_instance (a relative ``topology`` path is
        resolved against the repository root, so runs in Hydra's run dir find it)."""
        from dataclasses import asdict
        from pathlib import Path

        d = asdict(self)
        for key in _INSTANCE_KEYS:
            d.pop(key)
        if d["topology"] and not Path(d["topology"]).is_absolute():
            root = Path(__file__).resolve().parents[1]
            if (root / d["topology"]).exists():
                d["topology"] = str(root / d["topology"])
        d["cities"] = [list(c) for c in d["cities"]]
        return d

    def instance(self, seed: int, **kw: Any):
        """``routing.generate_instance(seed, **overrides(), **kw)`` with ``path_set`` and the
        memory lifetimes applied (a ``memory_times`` name that is no storage node raises
        ConfigError naming the key)."""
        from dataclasses import replace

        import routing

        inst = routing.generate_instance(seed, **{**self.overrides(), **kw})
        stores = {n.name for n in inst.nodes if n.storage > 0}
        for name in self.memory_times:
            require(name in stores, f"routing.network.memory_times.{name}", name,
                    f"a storage node of the instance: {sorted(stores)}")
        nodes = tuple(replace(n, memory_time=float(self.memory_times.get(n.name,
                                                                         self.memory_time)))
                      if n.storage > 0 else n for n in inst.nodes)
        return replace(inst, nodes=nodes).with_options(path_set=self.path_set)


def _routing_network_config() -> type:
    from routing.instance import PathOptions
    from routing.topology import GeneratorConfig

    return section(
        GeneratorConfig, "RoutingNetworkConfig", "routing.network",
        bases=(_RoutingNetworkMethods,),
        extra=(  # applied to the generated instance, not generator keys
            # capped | priced (optimum over all paths) | complete (tiny networks only)
            ("path_set", str, field(default=PathOptions.path_set)),
            # s, lifetime of every storage node's memories (inf: none)
            ("memory_time", float, field(default=math.inf)),
            ("memory_times", dict[str, float], field(default_factory=dict)),  # per node, s
        ),
        doc="Instance generator (`routing.topology.GeneratorConfig`: every field, its "
            "seed-004 default and its checks) plus the instance keys path_set, memory_time, "
            "memory_times.")


RoutingNetworkConfig = _routing_network_config()


@dataclass
class RoutingSolverConfig:
    """How PS-EGR (and the optimized baselines) are solved."""

    ps_egr: str = "milp"  # milp (monolithic) | benders
    milp_solver: str = "SCIP"  # SCIP | HIGHS | CBC
    time_limit: float = 120.0  # seconds per MILP solve (inf: no limit)
    gap: float = 1e-9  # relative MIP gap
    benders_tol: float = 1e-6  # relative gap at which Benders stops
    benders_max_iterations: int = 500
    # true/false keys are typed Any so that 2 or 'yes' reach require_bool (a bool-typed key
    # turns them into true)
    multi_cut: Any = True
    lp_phase: Any = True
    rrs_draws: int = 1  # random path draws per RRS cell (their mean is reported)
    threads: int = 0  # MIP threads (OR-Tools SetNumThreads); 0: the solver's default
    # PS-EGR cells also get the proven bound over ALL paths (routing.with_path_bound), so a
    # capped optimum comes with its path_gap (DESIGN section 9); 0.05-0.6 s per cell on the
    # seed-size networks, under path_bound_time_limit seconds (+network=large: no bound in
    # 240 s, so there the limit is what a cell pays; set path_bound=false)
    path_bound: Any = True
    path_bound_time_limit: float = 30.0

    def __post_init__(self) -> None:
        pre = "routing.solver."
        require_ints(self, pre)
        require_choice(pre + "ps_egr", self.ps_egr, ROUTING_PSEGR_SOLVERS)
        require_choice(pre + "milp_solver", self.milp_solver, ROUTING_MILP_SOLVERS)
        require(self.time_limit > 0, pre + "time_limit", self.time_limit,
                "seconds > 0 (inf: no limit)")
        require(0 <= self.gap < 1, pre + "gap", self.gap, "a relative gap in [0, 1)")
        require(0 <= self.benders_tol < 1, pre + "benders_tol", self.benders_tol,
                "a relative gap in [0, 1)")
        require(self.benders_max_iterations >= 1, pre + "benders_max_iterations",
                self.benders_max_iterations, "integer >= 1")
        require(self.rrs_draws >= 1, pre + "rrs_draws", self.rrs_draws, "integer >= 1")
        require(isinstance(self.threads, int) and 0 <= self.threads <= 1024, pre + "threads",
                self.threads, "integer in [0, 1024] (0: the solver's default)")
        for name in ("multi_cut", "lp_phase", "path_bound"):
            require_bool(pre + name, getattr(self, name))
        require(self.path_bound_time_limit > 0, pre + "path_bound_time_limit",
                self.path_bound_time_limit, "seconds > 0 (inf: no limit)")


@dataclass
class RoutingConfig:
    network: RoutingNetworkConfig = field(default_factory=RoutingNetworkConfig)
    solver: RoutingSolverConfig = field(default_factory=RoutingSolverConfig)


@dataclass
class Fig5Config:
    """EGR versus storage capacity B_m (paper 004, Fig. 5)."""

    storage_capacities: list[float] = field(
        default_factory=lambda: [0.0, 5000.0, 10000.0, 20000.0, 50000.0, 100000.0])  # EPR pairs
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    methods: list[str] = field(default_factory=lambda: list(ROUTING_METHODS))

    def __post_init__(self) -> None:
        require_ints(self, "fig5.")
        from routing.instance import MAX_STORAGE_CAPACITY as top

        caps = self.storage_capacities
        require(len(caps) > 0 and all(finite(c) and c >= 0 for c in caps),
                "fig5.storage_capacities", caps, "a non-empty list of finite capacities >= 0")
        require(all(c <= top for c in caps), "fig5.storage_capacities", caps,
                f"a non-empty list of capacities in [0, {top:g}] EPR pairs (100x the largest "
                "default; beyond it the LPs lose their scale)")
        require_unique("fig5.storage_capacities", caps)
        require(len(self.seeds) > 0 and all(s >= 0 for s in self.seeds), "fig5.seeds",
                self.seeds, "a non-empty list of integers >= 0")
        require_unique("fig5.seeds", self.seeds)
        require_choices("fig5.methods", self.methods, ROUTING_METHODS)


@dataclass
class Fig6Config:
    """EGR versus the number of user pairs K (paper 004, Fig. 6)."""

    n_pairs: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5, 6])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    methods: list[str] = field(default_factory=lambda: list(ROUTING_METHODS))

    def __post_init__(self) -> None:
        require_ints(self, "fig6.")
        require(len(self.n_pairs) > 0 and all(1 <= k for k in self.n_pairs), "fig6.n_pairs",
                self.n_pairs, "a non-empty list of integers >= 1 (<= n_base_stations/2)")
        require_unique("fig6.n_pairs", self.n_pairs)
        require(len(self.seeds) > 0 and all(s >= 0 for s in self.seeds), "fig6.seeds",
                self.seeds, "a non-empty list of integers >= 0")
        require_unique("fig6.seeds", self.seeds)
        require_choices("fig6.methods", self.methods, ROUTING_METHODS)


@dataclass
class RoutingQuickConfig:
    """One small instance: every method plus Benders against the MILP."""

    methods: list[str] = field(default_factory=lambda: list(ROUTING_METHODS))
    benders: Any = True  # true/false: also solve PS-EGR by Benders and compare with the MILP

    def __post_init__(self) -> None:
        require_choices("routing_quick.methods", self.methods, ROUTING_METHODS)
        require_bool("routing_quick.benders", self.benders)
# --- end routing ----------------------------------------------------------------------------
# ---------------------------------------------------------------- links / fig4 (area: links)
FIG4_PROBES = ("GHZ", "product", "VQS")
FIG4_ORBITS = ("sso", "circular", "micius")
FIG4_PROTOCOLS = ("distributed", "remote")


def _link_config(cls_name: str, key: str) -> type:
    import qsense.links as links

    return section(getattr(links, cls_name), f"{cls_name}Config", key,
                   doc=f"Config section ``{key}``: the fields of `qsense.links.{cls_name}` "
                       "(names, units, defaults with their sources, and checks).")


#: every field of qsense.links.SatelliteLink / FiberLink, with its default; conf/link/*.yaml
#: hold the profiles as deltas from them
SatelliteLinkConfig = _link_config("SatelliteLink", "fig4.satellite")
FiberLinkConfig = _link_config("FiberLink", "fig4.fiber")


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
    n_distances: int = 40
    t_max: float = 20.0  # sensing-time grid, geometric in [t_max/400, t_max], for the peak QFI
    n_t: int = 60
    vqs_steps: int = 60  # Adam steps of the link-aware VQS (angles + sensing time)
    vqs_learning_rate: float = 0.05
    vqs_random_starts: int = 1  # random starts beside GHZ and |+>^N
    vqs_seed: int = 0  # PRNG seed of the random starts
    # real passes (qsense.orbits): orbit, stations, window, night, weather
    orbit: str = "sso"  # sso (sun-synchronous at satellite.altitude_km) | circular | micius
    inclination_deg: float = 55.0  # for orbit=circular
    station_a: list[float] = field(default_factory=lambda: [37.378, 97.729, 3.153])  # BS:
    # Delingha (lat deg, lon deg, height km; Yin 2017)
    station_b: list[float] = field(default_factory=lambda: [26.695, 100.030, 3.2])  # default
    # pair partner: Lijiang (Yin 2017); the distance sweep follows its bearing from the BS
    days: float = 4.0  # simulated days from the orbit epoch
    step_s: float = 30.0  # time step of the pass timeline, s
    night_sun_altitude_deg: float = -12.0  # both stations in night below this Sun altitude
    clear_sky_probability: float = 0.6  # both stations clear during a pass (assumption)
    # coherence time (s) of the memories: a probe's pairs; remote: the BS qubit while it senses
    memory_time_s: float = 10.0
    # design: altitude and sensing time for max Fisher/s (L-BFGS-B iterations; 0: skip)
    design_distance_km: float = 1500.0
    design_probe: str = "product"
    design_steps: int = 60
    design_altitude_min_km: float = 200.0
    design_altitude_max_km: float = 3000.0
    satellite: SatelliteLinkConfig = field(default_factory=SatelliteLinkConfig)
    fiber: FiberLinkConfig = field(default_factory=FiberLinkConfig)

    def __post_init__(self) -> None:
        require_ints(self, "fig4.")
        from qsense._checks import MAX_QUBITS

        require(2 <= self.n_qubits <= MAX_QUBITS, "fig4.n_qubits", self.n_qubits,
                f"integer in [2, {MAX_QUBITS}]")
        require(finite(self.gamma) and 0 <= self.gamma <= MAX_RATE, "fig4.gamma", self.gamma,
                f"a finite rate in [0, {MAX_RATE:g}]")
        require_choice("fig4.noise", self.noise, NOISES)
        require_choice("fig4.protocol", self.protocol, FIG4_PROTOCOLS)
        require_choices("fig4.probes", self.probes, FIG4_PROBES)
        require_field("fig4.field_b0", self.field_b0)
        # BS-SN ground distances: station B is placed along a bearing at each, so beyond half
        # the Earth's circumference (pi R) it would wrap round the globe; each key on its own
        # range first, then the relation (naming the key that breaks it)
        from qsense.links import MAX_GROUND_DISTANCE_KM as pi_r

        ground = f"a ground distance in [0, pi R = {pi_r:.1f}] km (half the Earth's circumference)"
        require(finite(self.distance_min_km) and 0 <= self.distance_min_km < pi_r,
                "fig4.distance_min_km", self.distance_min_km,
                f"a ground distance in [0, pi R = {pi_r:.1f}) km")
        require(finite(self.distance_max_km) and 0 < self.distance_max_km <= pi_r,
                "fig4.distance_max_km", self.distance_max_km,
                f"a ground distance in (0, pi R = {pi_r:.1f}] km (half the Earth's "
                "circumference)")
        require(self.distance_max_km > self.distance_min_km, "fig4.distance_max_km",
                self.distance_max_km,
                f"a distance > fig4.distance_min_km = {self.distance_min_km} km")
        require(2 <= self.n_distances <= 100_000, "fig4.n_distances", self.n_distances,
                "integer in [2, 100000]")
        require(finite(self.t_max) and 0 < self.t_max <= MAX_TIME, "fig4.t_max", self.t_max,
                f"a finite time in (0, {MAX_TIME:g}]")
        require(3 <= self.n_t <= 100_000, "fig4.n_t", self.n_t, "integer in [3, 100000]")
        require_phase("fig4.field_b0", self.field_b0, abs(self.field_b0), self.t_max,
                      "fig4.t_max")
        require(0 <= self.vqs_steps <= 100_000, "fig4.vqs_steps", self.vqs_steps,
                "integer in [0, 100000]")
        require(finite(self.vqs_learning_rate) and self.vqs_learning_rate > 0,
                "fig4.vqs_learning_rate", self.vqs_learning_rate, "a finite step size > 0")
        require(0 <= self.vqs_random_starts <= 64, "fig4.vqs_random_starts",
                self.vqs_random_starts, "integer in [0, 64]")
        require_choice("fig4.orbit", self.orbit, FIG4_ORBITS)
        if self.orbit == "sso":  # checked here, not as a raw ValueError once the run started
            from qsense.orbits import max_sun_synchronous_altitude_km

            hmax = max_sun_synchronous_altitude_km()
            require(self.satellite.altitude_km <= hmax, "fig4.satellite.altitude_km",
                    self.satellite.altitude_km,
                    f"an altitude in [100, {math.floor(hmax * 10) / 10}] km with fig4.orbit=sso "
                    "(no circular sun-synchronous orbit is higher); for a higher satellite set "
                    "fig4.orbit=circular (with fig4.inclination_deg)")
        require(0 <= self.inclination_deg <= 180, "fig4.inclination_deg", self.inclination_deg,
                "degrees in [0, 180]")
        for name in ("station_a", "station_b"):
            st = getattr(self, name)
            require(len(st) == 3 and all(finite(v) for v in st) and -90 <= st[0] <= 90
                    and -0.5 <= st[2] <= 30,
                    f"fig4.{name}", st, "[lat deg in [-90, 90], lon deg, height km in "
                    "[-0.5, 30]]")
        require(0 < self.days <= 60, "fig4.days", self.days, "days in (0, 60]")
        require(1 <= self.step_s <= 600 and self.step_s <= self.days * 86400, "fig4.step_s",
                self.step_s, "seconds in [1, 600]")
        require(-90 <= self.night_sun_altitude_deg <= 90, "fig4.night_sun_altitude_deg",
                self.night_sun_altitude_deg, "degrees in [-90, 90]")
        require(0 <= self.clear_sky_probability <= 1, "fig4.clear_sky_probability",
                self.clear_sky_probability, "a probability in [0, 1]")
        require(self.memory_time_s > 0, "fig4.memory_time_s", self.memory_time_s,
                "a coherence time > 0 s (inf: no memory decay)")
        require(finite(self.design_distance_km) and 0 <= self.design_distance_km <= pi_r,
                "fig4.design_distance_km", self.design_distance_km, ground)
        require_choice("fig4.design_probe", self.design_probe, ("GHZ", "product"))
        require(0 <= self.design_steps <= 10_000, "fig4.design_steps", self.design_steps,
                "integer in [0, 10000]")
        require(finite(self.design_altitude_max_km), "fig4.design_altitude_max_km",
                self.design_altitude_max_km, "a finite altitude (km)")
        require(100 <= self.design_altitude_min_km < self.design_altitude_max_km,
                "fig4.design_altitude_min_km", self.design_altitude_min_km,
                f"altitude in [100, design_altitude_max_km={self.design_altitude_max_km}) km")
# ------------------------------------------------------------ end links / fig4 (area: links)


# --- VQS experiments (table1, fig2, fig3): helper block "vqs" -------------------------------
SENSING = ("single", "multi")


class _RefineChecks:
    def check(self) -> None:  # beyond RefineConfig's own checks
        tb = list(self.t_bounds)
        require(all(MIN_SEARCH_TIME <= t <= MAX_TIME for t in tb), "search.refine.t_bounds", tb,
                f"two times (t_min, t_max) in [{MIN_SEARCH_TIME:g}, {MAX_TIME:g}] (the "
                "experiments' time range; beyond it the QFI leaves float range)")


class _SearchChecks:
    def check(self) -> None:  # beyond GAConfig's own checks
        require(self.population <= MAX_POPULATION, "search.population", self.population,
                f"an integer in [2, {MAX_POPULATION}] (2^20: population x n_t circuits are "
                "scored per generation)")
        if self.t_grid is not None:
            tg = list(self.t_grid)
            require(all(MIN_SEARCH_TIME <= t <= MAX_TIME for t in tg), "search.t_grid", tg,
                    f"a non-empty list of times in [{MIN_SEARCH_TIME:g}, {MAX_TIME:g}] (the "
                    "experiments' time range; beyond it the QFI leaves float range)")
            require_unique("search.t_grid", tg)


def _search_config() -> type:
    from qsense.genetic import GAConfig, RefineConfig

    refine = section(RefineConfig, "RefineSearchConfig", "search.refine", bases=(_RefineChecks,),
                     doc="``search.refine``: the fields of `qsense.genetic.RefineConfig` (angle "
                         "and time refinement of the fittest structures).")
    return refine, section(
        GAConfig, "SearchConfig", "search", bases=(_SearchChecks,),
        extra=(("refine", refine, field(default_factory=refine)),),
        doc="``search``: the VQS structure search shared by table1, fig2 and fig3: every "
            "field of `qsense.genetic.GAConfig` (defaults and checks from there), and "
            "``refine``, every field of `qsense.genetic.RefineConfig`. ``build()`` gives the "
            "GAConfig, ``refine.build()`` the RefineConfig.")


RefineSearchConfig, SearchConfig = _search_config()


class _ReferenceChecks:
    def check(self) -> None:  # the experiment's own keys (the rest: ReferenceConfig's checks)
        k = self._key
        # the pure search's starts: the product optimum (it replaces one generic start, so
        # restarts - 2 >= 1) and at least three generic ones
        require(self.restarts >= 4, f"{k}.restarts", self.restarts, "integer >= 4")
        require(1 <= self.n_max_pure <= 10, f"{k}.n_max_pure", self.n_max_pure,
                "integer in [1, 10]")
        require(3 <= self.bound_grid <= 1000, f"{k}.bound_grid", self.bound_grid,
                "integer in [3, 1000]")
        require(0 < self.min_fraction <= 1, f"{k}.min_fraction", self.min_fraction,
                "a fraction in (0, 1]")


def _reference_config(name: str, key: str) -> type:
    from qsense.reference import ReferenceConfig

    return section(
        ReferenceConfig, name, key, exclude=("seed",), bases=(_ReferenceChecks,),
        extra=(
            # largest N with a pure-state reference (2^N amplitudes optimized)
            ("n_max_pure", int, field(default=6)),
            ("bound", bool, field(default=True)),  # channel-extension bound (single parameter)
            ("bound_grid", int, field(default=25)),  # log-t grid of the bound's max over t
            # VQS below this fraction of the reference is a warning
            ("min_fraction", float, field(default=0.98)),
        ),
        doc=f"``{key}``: reference optima and upper bound reported beside every VQS cell "
            "(DESIGN section 9): every field of `qsense.reference.ReferenceConfig` but "
            "``seed`` (derived per cell), plus the experiment's own keys.")


Table1ReferenceConfig = _reference_config("Table1ReferenceConfig", "table1.reference")
Fig2ReferenceConfig = _reference_config("Fig2ReferenceConfig", "fig2.reference")
Fig3ReferenceConfig = _reference_config("Fig3ReferenceConfig", "fig3.reference")


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
    reference: Table1ReferenceConfig = field(default_factory=Table1ReferenceConfig)
    # compute the reference optima and bounds in a second process while the search runs (they
    # do not depend on it); false: one process, references after the search
    reference_worker: Any = True  # true/false (Any: 2 must not become true)

    def __post_init__(self) -> None:
        require_ints(self, "table1.")
        from qsense._checks import MAX_QUBITS

        require(1 <= self.n_min <= MAX_QUBITS, "table1.n_min", self.n_min,
                f"integer in [1, {MAX_QUBITS}]")
        require(1 <= self.n_max <= MAX_QUBITS, "table1.n_max", self.n_max,
                f"integer in [1, {MAX_QUBITS}]")
        require(self.n_min <= self.n_max, "table1.n_max", self.n_max,
                f"integer in [n_min={self.n_min}, {MAX_QUBITS}]")
        require(len(self.gammas) > 0 and all(finite(g) and 0 < g <= MAX_RATE
                                             for g in self.gammas), "table1.gammas",
                list(self.gammas), f"a non-empty list of finite rates in (0, {MAX_RATE:g}]")
        require_unique("table1.gammas", self.gammas)
        require_choices("table1.noises", self.noises, NOISES)
        require_choices("table1.sensing", self.sensing, SENSING)
        require_field("table1.field_b0", self.field_b0)
        require_vector("table1.field_b0_vector", self.field_b0_vector)
        require_bool("table1.reference_worker", self.reference_worker)
        require_vector_n_min("table1", self.n_min, self.field_b0_vector,
                             "multi" in self.sensing, "with table1.sensing containing multi ")


@dataclass
class VQSFigureConfig:
    """Figs 2 (scalar field) and 3 (vector field): VQS vs GHZ under one noise."""

    _key: ClassVar[str] = "fig"

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
    reference: Any = None  # Fig2ReferenceConfig | Fig3ReferenceConfig (the subclasses)

    def __post_init__(self) -> None:
        from qsense._checks import MAX_QUBITS

        k = self._key  # fig2 | fig3
        require_ints(self, k + ".")
        top = min(MAX_QUBITS, 10)
        # each key on its own range first, then the relations between keys
        require(1 <= self.n_min <= top, f"{k}.n_min", self.n_min, f"integer in [1, {top}]")
        require(1 <= self.n_max <= top, f"{k}.n_max", self.n_max, f"integer in [1, {top}]")
        require(self.n_min <= self.n_max, f"{k}.n_max", self.n_max,
                f"integer in [n_min={self.n_min}, {top}]")
        require(finite(self.gamma) and 0 < self.gamma <= MAX_RATE, f"{k}.gamma", self.gamma,
                f"a finite rate in (0, {MAX_RATE:g}]")
        require_choice(f"{k}.noise", self.noise, NOISES)
        require_field(f"{k}.field_b0", self.field_b0)
        require_vector(f"{k}.field_b0_vector", self.field_b0_vector)
        require(3 <= self.n_t <= 10_000, f"{k}.n_t", self.n_t, "integer in [3, 10000]")
        require(finite(self.t_min_gamma) and self.t_min_gamma > 0, f"{k}.t_min_gamma",
                self.t_min_gamma, "a finite value > 0")
        require(finite(self.t_max_gamma) and self.t_max_gamma > self.t_min_gamma,
                f"{k}.t_max_gamma", self.t_max_gamma,
                f"a finite value > t_min_gamma={self.t_min_gamma}")
        # the curve's times t_min_gamma / gamma .. t_max_gamma / gamma
        t_lo, t_hi = self.t_min_gamma / self.gamma, self.t_max_gamma / self.gamma
        require(t_lo >= MIN_TIME, f"{k}.t_min_gamma", self.t_min_gamma,
                f"a value with t_min_gamma / gamma >= {MIN_TIME:g} (gamma={self.gamma:g})")
        require(t_hi <= MAX_TIME, f"{k}.t_max_gamma", self.t_max_gamma,
                f"a value with t_max_gamma / gamma <= {MAX_TIME:g} (gamma={self.gamma:g})")
        if k == "fig3":  # the vector field
            require_vector_n_min(k, self.n_min, self.field_b0_vector, True, "")
            require_phase(f"{k}.field_b0_vector", list(self.field_b0_vector),
                          max(abs(v) for v in self.field_b0_vector), t_hi,
                          f"{k}.t_max_gamma / gamma")
        else:
            require_phase(f"{k}.field_b0", self.field_b0, abs(self.field_b0), t_hi,
                          f"{k}.t_max_gamma / gamma")
        require(5 <= self.wigner_n_theta <= 1000, f"{k}.wigner_n_theta", self.wigner_n_theta,
                "integer in [5, 1000]")
        require(5 <= self.wigner_n_phi <= 2000, f"{k}.wigner_n_phi", self.wigner_n_phi,
                "integer in [5, 2000]")


@dataclass
class Fig2Config(VQSFigureConfig):
    """Fig 2: scalar field."""

    _key: ClassVar[str] = "fig2"
    reference: Fig2ReferenceConfig = field(default_factory=Fig2ReferenceConfig)


@dataclass
class Fig3Config(VQSFigureConfig):
    """Fig 3: vector field."""

    _key: ClassVar[str] = "fig3"
    reference: Fig3ReferenceConfig = field(default_factory=Fig3ReferenceConfig)


# --- end of helper block "vqs" ---------------------------------------------------------------


@dataclass
class Config:
    """Top-level config. ``task`` names a module of ``experiments.tasks``."""

    task: str = "quickstart"
    seed: int = 0
    precision: str = "float64"  # float64 (complex128) or float32 (complex64)
    progress: Any = True  # true/false: tqdm progress bars (Any: 2 must not become true)
    quickstart: QuickstartConfig = field(default_factory=QuickstartConfig)
    # routing (PS-EGR) sections
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    fig5: Fig5Config = field(default_factory=Fig5Config)
    fig6: Fig6Config = field(default_factory=Fig6Config)
    routing_quick: RoutingQuickConfig = field(default_factory=RoutingQuickConfig)
    fig4: Fig4Config = field(default_factory=Fig4Config)  # area: links
    table1: Table1Config = field(default_factory=Table1Config)  # area: vqs
    fig2: Fig2Config = field(default_factory=Fig2Config)  # area: vqs
    fig3: Fig3Config = field(default_factory=Fig3Config)  # area: vqs
    # VQS search (GA + refinement) of whichever of table1 / fig2 / fig3 runs; conf/search/
    search: SearchConfig = field(default_factory=SearchConfig)

    def __post_init__(self) -> None:
        require_ints(self, "")
        from experiments.tasks import available_tasks

        require_choice("task", self.task, available_tasks())
        require_choice("precision", self.precision, PRECISIONS)
        require(self.seed >= 0, "seed", self.seed, "integer >= 0")
        require_bool("progress", self.progress)
        if self.task == "fig6":  # K user pairs need 2K distinct base stations
            half = self.routing.network.n_base_stations // 2
            require(max(self.fig6.n_pairs) <= half, "fig6.n_pairs", self.fig6.n_pairs,
                    f"integers in [1, routing.network.n_base_stations/2 = {half}]")
        if self.task in ("table1", "fig2", "fig3"):  # the search's longest time x the field
            sec = getattr(self, self.task)
            t_top = max([self.search.refine.t_bounds[-1], *(self.search.t_grid or [])])
            if self.task != "fig3" and (self.task == "fig2" or "single" in sec.sensing):
                require_phase(f"{self.task}.field_b0", sec.field_b0, abs(sec.field_b0), t_top,
                              "max(search.refine.t_bounds, search.t_grid)")
            if self.task == "fig3" or (self.task == "table1" and "multi" in sec.sensing):
                require_phase(f"{self.task}.field_b0_vector", list(sec.field_b0_vector),
                              max(abs(v) for v in sec.field_b0_vector), t_top,
                              "max(search.refine.t_bounds, search.t_grid)")


def register() -> None:
    ConfigStore.instance().store(name="base_config", node=Config)


register()
