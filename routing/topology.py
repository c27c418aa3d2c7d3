"""Seeded generator of physical satellite-aerial-terrestrial networks with time-varying links.

Defaults are the seed's simulation setting (paper 004, Sec. VI): 2 satellites, 2 HAPs, 12 base
stations split between a source and a destination city, K = 3 user pairs, storage capacity 1500
pairs, 10 slots of 20 s. The seed gives no geometry; ours is physical:

* **Cities** at coordinates (default San Antonio and Houston, Texas: the seed's authors' cities,
  ~305 km apart). Stations are placed uniformly on a disk of ``city_radius_km`` around each city
  centre (seeded); in-city fiber is a minimum spanning tree plus each station's nearest
  neighbour, length = great-circle distance × ``fiber_route_factor``.
* **HAPs** held stationary ``hap_altitude_km`` above the city centres (HAP i over city
  i mod n_cities; extra HAPs of a city ``city_radius_km``/2 off its centre).
* **Satellites** on a Walker-delta shell (``n_satellites`` / ``walker_planes`` /
  ``walker_phasing`` at ``orbit_altitude_km``, ``orbit_inclination_deg``), propagated with the
  Earth rotating (:mod:`routing.geometry`). With ``align_to_pass`` the horizon starts one slot
  before the first time at or after ``start_time_s`` when a satellite is above the ground mask
  of two cities (else of one), so the seed-size horizon (200 s) sees a pass; a long horizon sees
  the satellites come back on later passes.
* **Visibility** per slot from elevation masks and Earth occlusion (:mod:`routing.geometry`),
  evaluated at ``samples_per_slot`` times in the slot (present only if visible at all).
* **Capacity and fidelity** per link and slot from :mod:`qsense.links`
  (:mod:`routing.link_budget`): capacity = δ × mean pair rate over the slot's samples (pairs per
  slot), fidelity = rate-weighted mean Werner fidelity. ``Link.fidelities`` holds the per-slot
  values; ``Link.fidelity`` (the value path fidelities use) is the worst present slot's, so a
  threshold met with it is met in every slot.
* ``link_model="seed"`` keeps the physical visibility but draws capacities U``free_space_capacity``
  / U``ground_capacity`` per link and slot and fidelity U``link_fidelity`` per link, as the seed
  prescribes (useful to compare with the paper's numbers).

Storage nodes are the last ``n_storage_per_city`` stations of each city; storage pairs join
stores of two cities that some user pair joins. With two cities user pair k joins station k of
the source city to station k of the destination city; with more, pairs are drawn (seeded) among
stations of different cities, the first K of one fixed sequence. The network does not depend on
K, the storage capacity or the path options, so sweeps over those change only what they name.
``topology`` reads the ground network (stations, HAPs, fiber) from a GraphML or JSON file
(:func:`read_ground_network`); satellites still come from the Walker shell.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

import networkx as nx
import numpy as np

from qsense import ephemeris as eph
from qsense._checks import is_real
from routing import geometry as geo
from routing import link_budget as lb
from routing._checks import is_count
from routing.instance import (
    MAX_LINK_CAPACITY,
    MAX_SLOT_DURATION,
    MAX_STORAGE_CAPACITY,
    WEIGHT_RANGE,
    Instance,
    Link,
    Node,
    Pair,
    PathOptions,
    weight_ok,
)

#: San Antonio and Houston (city-hall coordinates, deg).
DEFAULT_CITIES = (("San Antonio", 29.4241, -98.4936), ("Houston", 29.7604, -95.3698))
LINK_MODELS = ("physical", "seed")
#: GeneratorConfig fields that are routing.instance.PathOptions fields (same defaults)
PATH_OPTION_KEYS = ("max_real_paths", "max_storage_paths", "max_virtual_paths", "protocol",
                    "max_rounds")
PROPAGATORS = ("sgp4", "kepler", "kepler_j2")
#: The shipped example ground network (three Texas cities; conf/network/example_graphml.yaml),
#: an absolute path inside the installed package, so it works from any working directory.
EXAMPLE_NETWORK = Path(__file__).resolve().parent / "data" / "example_network.graphml"
#: most satellites / HAPs: the generator checks every pair of them for a line of sight in
#: every slot sample, so time and memory grow as n^2 (measured, 10 slots: 200 satellites
#: 0.9 GB / 10 s, 800 satellites 2.8 GB / 78 s, so 1000 is ~4 GB / 2.5 min); a typo such
#: as 1e5 would need terabytes. Shells of hundreds of satellites stay accepted
MAX_NODES_IN_ORBIT = 1000
#: most slots: 10 000 slots took 8 s / 0.6 GB on the seed network (a horizon of 2.3 days at
#: the seed's 20 s slots); the MILP has variables per path and slot, so its size grows
#: linearly with them (1e8 slots would fill the memory before the first solve)
MAX_SLOTS = 10_000
#: the horizon must fall within 1900-2049 (UTC), the range of qsense.ephemeris (DE421 covers
#: 1900-2050; 1e300 s overflowed its datetime arithmetic)
HORIZON_YEARS = (1900, 2049)
#: how far align_to_pass looks ahead for a pass (s; _first_pass)
PASS_SEARCH_S = 2 * 86400.0


def _fail(key, value, accepted):
    raise ValueError(f"{key} = {value!r} is invalid; accepted: {accepted}")


@dataclass(frozen=True)
class GeneratorConfig:
    """Knobs of :func:`generate_instance` (seed-004 defaults; units in the comments)."""

    n_satellites: int = 2
    n_haps: int = 2
    n_base_stations: int = 12  # split evenly between the cities
    n_pairs: int = 3  # K
    free_space_capacity: tuple[float, float] = (200.0, 1400.0)  # link_model="seed": pairs/slot
    ground_capacity: tuple[float, float] = (400.0, 1600.0)  # link_model="seed": pairs per slot
    storage_capacity: float = 1500.0  # B_m, EPR pairs
    n_storage_per_city: int = 2
    link_fidelity: tuple[float, float] = (0.96, 0.99)  # link_model="seed": Werner fidelities
    n_slots: int = 10
    slot_duration: float = 20.0  # δ, seconds
    fidelity_threshold: float = 0.9  # F_k^th for every pair (ours: the seed gives none)
    weight: float = 1.0  # α_k^t for every pair and slot
    # path caps and purification: routing.instance.PathOptions (its defaults and checks)
    max_real_paths: int = PathOptions.max_real_paths
    max_storage_paths: int = PathOptions.max_storage_paths
    max_virtual_paths: int = PathOptions.max_virtual_paths
    protocol: str = PathOptions.protocol
    max_rounds: int = PathOptions.max_rounds
    # --- physical network
    link_model: str = "physical"  # physical (qsense.links) | seed (random draws, seed's ranges)
    cities: tuple[tuple[str, float, float], ...] = DEFAULT_CITIES  # ((name, lat, lon), ...)
    city_radius_km: float = 25.0
    fiber_route_factor: float = 1.0  # fiber length / great-circle distance
    hap_altitude_km: float = 20.0
    orbit_altitude_km: float = 550.0
    orbit_inclination_deg: float = 53.0
    walker_planes: int = 0  # 0: one satellite per plane
    walker_phasing: int = 0
    raan0_deg: float = 0.0
    epoch: str = "2024-03-20T00:00:00+00:00"  # ISO UTC: element epoch, t = 0 of start_time_s
    propagator: str = "sgp4"  # sgp4 | kepler | kepler_j2 (qsense.ephemeris.satellite_ecef)
    start_time_s: float = 0.0  # seconds after the epoch
    align_to_pass: bool = True
    samples_per_slot: int = 3
    min_pairs_per_slot: float = 1.0  # a link carrying fewer pairs in a slot is absent
    ground_mask_deg: float = 10.0  # ground station -> satellite elevation mask
    hap_ground_mask_deg: float = lb.HAP_GROUND_MASK_DEG  # ground station -> HAP mask
    hap_sat_mask_deg: float = 0.0  # HAP -> satellite elevation mask
    isl_grazing_km: float = 100.0  # lowest altitude of a satellite-satellite ray
    a2a_grazing_km: float = 15.0  # lowest altitude of a HAP-HAP ray
    max_isl_km: float = 6000.0
    max_a2a_km: float = 800.0
    satellite_terminal: dict[str, float] = field(default_factory=dict)  # SatelliteLink fields
    hap_terminal: dict[str, float] = field(default_factory=dict)
    ground_terminal: dict[str, float] = field(default_factory=dict)
    fiber: dict[str, float] = field(default_factory=dict)  # FiberLink field overrides
    topology: str | None = None  # GraphML / JSON ground network (read_ground_network)

    def __post_init__(self) -> None:
        fail = _fail
        # the kinds first: a string or a list where a number or a range belongs used to fail
        # in a comparison or an unpacking below, naming no field
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type == "float" and not is_real(v):
                fail(f.name, v, "a real number")
            if f.type == "tuple[float, float]" and not (_reals(v) and len(v) == 2):
                fail(f.name, v, "a range (lo, hi) of two real numbers")
        if self.topology is None and not (
                _is_seq(self.cities) and all(_is_seq(c) and len(c) == 3 and isinstance(c[0], str)
                                             and _reals(c[1:]) for c in self.cities)):
            fail("cities", self.cities, "a list of (name, lat_deg, lon_deg) entries")
        for key in ("n_satellites", "n_haps"):
            v = getattr(self, key)
            if not (is_count(v) and 0 <= v <= MAX_NODES_IN_ORBIT):
                fail(key, v, f"integer in [0, {MAX_NODES_IN_ORBIT}] (line-of-sight checks grow "
                             "as n^2)")
        if self.link_model not in LINK_MODELS:
            fail("link_model", self.link_model, f"one of {list(LINK_MODELS)}")
        if self.topology is None:
            nc = len(self.cities)
            if nc < 2:
                fail("cities", self.cities, "at least two (name, lat_deg, lon_deg) entries")
            for c in self.cities:
                if not (-90 <= c[1] <= 90 and -180 <= c[2] <= 360):
                    fail("cities entry", c, "(name, lat_deg in [-90, 90], lon_deg in [-180, 360])")
            if not (is_count(self.n_base_stations) and self.n_base_stations >= nc
                    and self.n_base_stations % nc == 0):
                fail("n_base_stations", self.n_base_stations,
                     f"a multiple of the number of cities ({nc}), >= {nc}")
            per_city = self.n_base_stations // nc
            # two cities: station k to station k; more: distinct station pairs across cities
            kmax = per_city if nc == 2 else (self.n_base_stations**2 - nc * per_city**2) // 2
            if not (is_count(self.n_pairs) and 1 <= self.n_pairs <= kmax):
                fail("n_pairs", self.n_pairs, f"integer in [1, {kmax}]")
            if not (is_count(self.n_storage_per_city)
                    and 0 <= self.n_storage_per_city <= per_city):
                fail("n_storage_per_city", self.n_storage_per_city,
                     f"integer in [0, {per_city}]")
        elif not is_count(self.n_pairs) or self.n_pairs < 1:
            fail("n_pairs", self.n_pairs, "integer >= 1")
        for key in ("free_space_capacity", "ground_capacity"):
            lo, hi = getattr(self, key)
            if not (0 <= lo <= hi <= MAX_LINK_CAPACITY):
                fail(key, getattr(self, key), "a range (lo, hi) with 0 <= lo <= hi <= "
                     f"{MAX_LINK_CAPACITY:g} (pairs/slot)")
        if not (math.isfinite(self.storage_capacity)
                and 0 <= self.storage_capacity <= MAX_STORAGE_CAPACITY):
            fail("storage_capacity", self.storage_capacity,
                 f"a capacity in [0, {MAX_STORAGE_CAPACITY:g}] (EPR pairs; 100x Fig. 5's "
                 "largest, beyond it the LPs lose their scale)")
        lo, hi = self.link_fidelity
        if not (0.25 < lo <= hi <= 1.0):
            fail("link_fidelity", self.link_fidelity, "a range with 0.25 < lo <= hi <= 1")
        if not (is_count(self.n_slots) and 1 <= self.n_slots <= MAX_SLOTS):
            fail("n_slots", self.n_slots, f"integer in [1, {MAX_SLOTS}] (the model has "
                                          "variables per slot)")
        if not (math.isfinite(self.slot_duration)
                and 0 < self.slot_duration <= MAX_SLOT_DURATION):
            fail("slot_duration", self.slot_duration,
                 f"a duration in (0, {MAX_SLOT_DURATION:g}] seconds (at most a day)")
        if not (0.25 <= self.fidelity_threshold <= 1.0):
            fail("fidelity_threshold", self.fidelity_threshold, "a fidelity in [0.25, 1]")
        try:
            PathOptions(**{k: getattr(self, k) for k in PATH_OPTION_KEYS})
        except ValueError as err:
            raise ValueError(str(err).removeprefix("options.")) from None
        if not weight_ok(float(self.weight)):
            fail("weight", self.weight, WEIGHT_RANGE)
        if not (0 < self.city_radius_km <= 500):
            fail("city_radius_km", self.city_radius_km, "a radius in (0, 500] km")
        if not (self.fiber_route_factor >= 1 and math.isfinite(self.fiber_route_factor)):
            fail("fiber_route_factor", self.fiber_route_factor, "a finite factor >= 1")
        if not (0 < self.hap_altitude_km < 100):
            fail("hap_altitude_km", self.hap_altitude_km, "an altitude in (0, 100) km")
        if not (100 <= self.orbit_altitude_km <= 50000):
            fail("orbit_altitude_km", self.orbit_altitude_km, "an altitude in [100, 50000] km")
        if not (0 <= self.orbit_inclination_deg <= 180):
            fail("orbit_inclination_deg", self.orbit_inclination_deg, "an angle in [0, 180] deg")
        # walker_planes on its own range first (a negative one divided n_satellites and
        # reported walker_phasing against an empty range [0, -2])
        if not (is_count(self.walker_planes) and self.walker_planes >= 0):
            fail("walker_planes", self.walker_planes,
                 f"0 or a divisor of n_satellites = {self.n_satellites} (integer >= 0)")
        planes = self.walker_planes or max(self.n_satellites, 1)
        if self.n_satellites and not self.n_satellites % planes == 0:
            fail("walker_planes", self.walker_planes,
                 f"0 or a divisor of n_satellites = {self.n_satellites}")
        if not (is_count(self.walker_phasing) and 0 <= self.walker_phasing < planes):
            fail("walker_phasing", self.walker_phasing, f"integer in [0, {planes - 1}]")
        if not (is_count(self.samples_per_slot) and 1 <= self.samples_per_slot <= 100):
            fail("samples_per_slot", self.samples_per_slot, "integer in [1, 100]")
        if not (self.min_pairs_per_slot >= 0):
            fail("min_pairs_per_slot", self.min_pairs_per_slot, "pairs per slot >= 0")
        for key in ("ground_mask_deg", "hap_ground_mask_deg", "hap_sat_mask_deg"):
            if not (0 <= getattr(self, key) <= 90):
                fail(key, getattr(self, key), "an elevation in [0, 90] deg")
        for key in ("isl_grazing_km", "a2a_grazing_km"):
            if not (0 <= getattr(self, key) < 1000):
                fail(key, getattr(self, key), "an altitude in [0, 1000) km")
        for key in ("max_isl_km", "max_a2a_km"):
            if not (getattr(self, key) > 0):
                fail(key, getattr(self, key), "a range > 0 km")
        if self.propagator not in PROPAGATORS:
            fail("propagator", self.propagator, f"one of {list(PROPAGATORS)}")
        try:
            epoch = epoch_dt(self.epoch)
        except ValueError:
            fail("epoch", self.epoch, "an ISO 8601 UTC time, e.g. 2024-03-20T00:00:00+00:00")
        first, last = (dt.datetime(y, 1, 1, tzinfo=dt.timezone.utc) for y in
                       (HORIZON_YEARS[0], HORIZON_YEARS[1] + 1))
        if not first <= epoch < last:
            fail("epoch", self.epoch, f"a time in {HORIZON_YEARS[0]}-{HORIZON_YEARS[1]} UTC "
                                      "(the range of qsense.ephemeris)")
        # the horizon [start, start + pass search + n_slots slot_duration] inside that range
        lo = (first - epoch).total_seconds()
        hi = (last - epoch).total_seconds() - PASS_SEARCH_S - self.n_slots * self.slot_duration
        if not (math.isfinite(self.start_time_s) and lo <= self.start_time_s <= hi):
            fail("start_time_s", self.start_time_s,
                 f"seconds after the epoch in [{lo:.6g}, {hi:.6g}]: the horizon (plus "
                 f"{PASS_SEARCH_S:g} s of pass search) within {HORIZON_YEARS[0]}-"
                 f"{HORIZON_YEARS[1]} UTC, the range of qsense.ephemeris")
        for key, cls in (("satellite_terminal", "SatelliteLink"), ("hap_terminal", "SatelliteLink"),
                         ("ground_terminal", "SatelliteLink"), ("fiber", "FiberLink")):
            import qsense.links as ql

            overrides = getattr(self, key)
            known = {f.name for f in fields(getattr(ql, cls))}
            bad = sorted(set(overrides) - known)
            if bad:
                fail(key, bad, f"fields of qsense.links.{cls}: {sorted(known)}")
            for name, value in overrides.items():
                if not is_real(value):
                    fail(f"{key}.{name}", value, "a real number")
            # the values: the link's own validate(), its message prefixed with the section,
            # so a config names e.g. routing.network.satellite_terminal.rx_aperture_m
            try:
                if key == "fiber":
                    lb.fiber_link(overrides)
                else:
                    lb.terminal(key.removesuffix("_terminal"), overrides)
            except ValueError as err:
                raise ValueError(f"{key}.{err}") from None


GENERATOR_KEYS = tuple(f.name for f in fields(GeneratorConfig))


def epoch_dt(epoch: str) -> dt.datetime:
    """The epoch string as an aware UTC datetime (naive strings are read as UTC)."""
    t = dt.datetime.fromisoformat(str(epoch).replace("Z", "+00:00"))
    return t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t.astimezone(
        dt.timezone.utc)


# ----------------------------------------------------------------------------- ground network
def read_ground_network(path: str | Path) -> dict:
    """A ground network from GraphML or JSON: stations, HAPs, fiber, optional user pairs.

    GraphML (networkx) node attributes: ``kind`` (base_station | hap; default base_station),
    ``lat``, ``lon`` (deg, required), ``alt_km`` (HAPs; default 20), ``city`` (int, default 0),
    ``storage`` (1/true marks a storage node). Edges between stations are fiber links, with
    optional ``length_km`` (default great-circle distance × route factor). A graph attribute
    ``pairs`` = "a:b,c:d" lists user pairs. JSON: ``{"nodes": [{"name", "kind", "lat", "lon",
    "alt_km", "city", "storage"}, ...], "fiber": [{"u", "v", "length_km"?}, ...],
    "pairs": [[src, dst], ...]}``.
    """
    path = Path(path)
    if not path.exists():
        _fail("topology", str(path),
              "an existing GraphML (.graphml) or JSON (.json) file; a relative path is read "
              f"from the working directory ({Path.cwd()}); the shipped example is "
              "routing.EXAMPLE_NETWORK")
    if path.suffix.lower() == ".json":
        try:
            d = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"topology file {str(path)!r} is not valid JSON: {err}") from None
        nodes = d.get("nodes", [])
        fiber = [(e["u"], e["v"], e.get("length_km")) for e in d.get("fiber", [])]
        pairs = [tuple(p) for p in d.get("pairs", [])]
    else:
        try:
            g = nx.read_graphml(str(path))
        except Exception as err:  # networkx raises several parse error types
            raise ValueError(f"topology file {str(path)!r} could not be read: {err}") from None
        nodes = [{"name": str(n), **a} for n, a in g.nodes(data=True)]
        fiber = [(str(u), str(v), a.get("length_km")) for u, v, a in g.edges(data=True)]
        spec = g.graph.get("pairs", "")
        pairs = [tuple(p.split(":")) for p in spec.split(",") if p.strip()]
    out_nodes = []
    for n in nodes:
        name = str(n.get("name", ""))
        kind = n.get("kind", "base_station")
        if kind not in ("base_station", "hap"):
            _fail(f"topology node {name!r} kind", kind, "base_station | hap (satellites come "
                  "from the Walker shell)")
        if "lat" not in n or "lon" not in n:
            _fail(f"topology node {name!r}", sorted(n), "attributes 'lat' and 'lon' (deg)")
        lat, lon = float(n["lat"]), float(n["lon"])
        if not (-90 <= lat <= 90 and -180 <= lon <= 360):
            _fail(f"topology node {name!r} (lat, lon)", (lat, lon), "lat in [-90, 90], lon in "
                  "[-180, 360] deg")
        out_nodes.append({"name": name, "kind": kind, "lat": lat, "lon": lon,
                          "alt_km": float(n.get("alt_km", 20.0 if kind == "hap" else 0.0)),
                          "city": int(n.get("city", 0)),
                          "storage": bool(n.get("storage", False))})
    names = {n["name"] for n in out_nodes}
    for u, v, _ in fiber:
        for end in (u, v):
            if end not in names:
                _fail(f"topology fiber ({u}, {v}) endpoint", end, "a node of the file")
    for p in pairs:
        for end in p:
            if end not in names:
                _fail(f"topology pair {p} endpoint", end, "a node of the file")
    return {"nodes": out_nodes, "fiber": fiber, "pairs": pairs}


def _place_ground(cfg: GeneratorConfig, rng) -> dict:
    """Stations on disks around the cities, HAPs over the centres, in-city fiber (module doc)."""
    nc = len(cfg.cities)
    per_city = cfg.n_base_stations // nc
    nodes = []
    for c, (_cname, lat, lon) in enumerate(cfg.cities):
        for i in range(per_city):
            name = (f"{'src' if c == 0 else 'dst'}{i}" if nc == 2 else f"c{c}s{i}")
            r = cfg.city_radius_km * math.sqrt(rng.uniform())
            bearing = rng.uniform(0, 360)
            la, lo = geo.destination_point(float(lat), float(lon), bearing, r)
            nodes.append({"name": name, "kind": "base_station", "lat": float(la),
                          "lon": float(lo), "alt_km": 0.0, "city": c,
                          "storage": i >= per_city - cfg.n_storage_per_city})
    for h in range(cfg.n_haps):
        c = h % nc
        _cname, lat, lon = cfg.cities[c]
        extra = h // nc
        if extra:
            lat, lon = geo.destination_point(float(lat), float(lon), 90.0 * extra,
                                             cfg.city_radius_km / 2)
        nodes.append({"name": f"hap{h}", "kind": "hap", "lat": float(lat), "lon": float(lon),
                      "alt_km": float(cfg.hap_altitude_km), "city": c, "storage": False})
    fiber = []
    for c in range(nc):
        names = [n for n in nodes if n["kind"] == "base_station" and n["city"] == c]
        pos = {n["name"]: eph.station_ecef(n["lat"], n["lon"]) for n in names}
        g = nx.Graph()
        for a in range(len(names)):
            for b in range(a + 1, len(names)):
                na, nb = names[a]["name"], names[b]["name"]
                g.add_edge(na, nb, weight=float(geo.great_circle_km(pos[na], pos[nb])))
        edges = set(frozenset(e) for e in nx.minimum_spanning_edges(g, data=False))
        for n in names:
            if len(names) > 1:
                a = n["name"]
                nearest = min((m["name"] for m in names if m["name"] != a),
                              key=lambda b, a=a: g.edges[a, b]["weight"])
                edges.add(frozenset((a, nearest)))
        fiber += [(*sorted(e), None) for e in sorted(tuple(sorted(e)) for e in edges)]
    return {"nodes": nodes, "fiber": fiber, "pairs": []}


def _choose_pairs(cfg: GeneratorConfig, ground: dict, rng) -> list[tuple[str, str]]:
    if ground["pairs"]:
        if cfg.n_pairs > len(ground["pairs"]):
            _fail("n_pairs", cfg.n_pairs, f"integer in [1, {len(ground['pairs'])}] (pairs listed "
                  "in the topology file)")
        return list(ground["pairs"][: cfg.n_pairs])
    stations = [n for n in ground["nodes"] if n["kind"] == "base_station"]
    cities = sorted({n["city"] for n in stations})
    by_city = {c: [n["name"] for n in stations if n["city"] == c] for c in cities}
    if len(cities) == 2:
        a, b = by_city[cities[0]], by_city[cities[1]]
        if cfg.n_pairs > min(len(a), len(b)):
            _fail("n_pairs", cfg.n_pairs, f"integer in [1, {min(len(a), len(b))}]")
        return [(a[k], b[k]) for k in range(cfg.n_pairs)]
    cand = [(u["name"], v["name"]) for i, u in enumerate(stations) for v in stations[i + 1:]
            if u["city"] != v["city"]]
    if len(cities) < 2 or cfg.n_pairs > len(cand):
        _fail("n_pairs", cfg.n_pairs, f"integer in [1, {len(cand)}] (station pairs in different "
              "cities)")
    order = rng.permutation(len(cand))
    return [cand[i] for i in order[: cfg.n_pairs]]


# ----------------------------------------------------------------------------- time axis
def _first_pass(cfg: GeneratorConfig, elements, epoch, cities: np.ndarray) -> float:
    """Start of the horizon: one slot before the first time (10 s grid, 2 days) at or after
    ``start_time_s`` when a satellite is above the ground mask of two cities (else of one).
    ``cities``: (C, 2) latitudes and longitudes (deg)."""
    if not elements:
        return float(cfg.start_time_s)
    times = cfg.start_time_s + np.arange(0.0, 2 * 86400.0, 10.0)
    sat = eph.satellite_ecef(elements, epoch, times, method=cfg.propagator)  # (S, T, 3)
    el = eph.look_angles(cities[:, 0], cities[:, 1], 0.0, sat)[0]  # (C, S, T)
    seen = (el >= cfg.ground_mask_deg).sum(axis=0)  # (S, T): cities seeing each satellite
    for need in (min(2, cities.shape[0]), 1):
        hit = np.nonzero((seen >= need).any(axis=0))[0]
        if hit.size:
            return float(max(cfg.start_time_s, times[hit[0]] - cfg.slot_duration))
    return float(cfg.start_time_s)


# ----------------------------------------------------------------------------- generator
def _is_seq(x) -> bool:
    """A list, tuple, numpy array or other sequence (a Hydra ListConfig), not a string."""
    return isinstance(x, (Sequence, np.ndarray)) and not isinstance(x, str)


def _reals(x) -> bool:
    return _is_seq(x) and all(is_real(v) for v in x)


def generate_instance(seed: int = 0, **overrides) -> Instance:
    """A seeded physical instance with the seed-004 setting; keyword overrides name
    GeneratorConfig fields (module docstring).

    Example: ``generate_instance(3, n_pairs=6, storage_capacity=500)``.
    """
    unknown = sorted(set(overrides) - set(GENERATOR_KEYS))
    if unknown:
        raise ValueError(
            f"generate_instance overrides {unknown} are unknown; accepted: {list(GENERATOR_KEYS)}")
    if not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        raise ValueError(f"seed = {seed!r} is invalid; accepted: integer >= 0")
    # plain tuples of floats (a Hydra list, numpy numbers); anything else is left for
    # GeneratorConfig to name (float("12") read the string "12" as the range (1, 2))
    for key in ("free_space_capacity", "ground_capacity", "link_fidelity"):
        if _reals(overrides.get(key)):
            overrides[key] = tuple(float(v) for v in overrides[key])
    cities = overrides.get("cities")
    if _is_seq(cities) and all(_is_seq(c) and len(c) == 3 and _reals(c[1:]) for c in cities):
        overrides["cities"] = tuple((str(c[0]), float(c[1]), float(c[2])) for c in cities)
    for key in ("satellite_terminal", "hap_terminal", "ground_terminal", "fiber"):
        if key in overrides:
            overrides[key] = dict(overrides[key] or {})
    cfg = GeneratorConfig(**overrides)
    # independent streams: the network does not change with K, B_m or options
    net_rng = np.random.default_rng([int(seed), 0])
    cap_rng = np.random.default_rng([int(seed), 1])
    fid_rng = np.random.default_rng([int(seed), 2])
    pair_rng = np.random.default_rng([int(seed), 3])
    T, delta = cfg.n_slots, float(cfg.slot_duration)

    ground = read_ground_network(cfg.topology) if cfg.topology else _place_ground(cfg, net_rng)
    if cfg.topology and cfg.n_haps and not any(n["kind"] == "hap" for n in ground["nodes"]):
        pass  # a file without HAPs has none (n_haps applies to generated networks)
    gnodes = ground["nodes"]
    stations = [n for n in gnodes if n["kind"] == "base_station"]
    haps = [n for n in gnodes if n["kind"] == "hap"]
    if len(stations) < 2:
        _fail("topology", cfg.topology, "a network with at least two base stations")
    pairs_st = _choose_pairs(cfg, ground, pair_rng)

    # satellites (Walker delta, SGP4, Earth rotating) and fixed nodes (WGS-84)
    planes = cfg.walker_planes or max(cfg.n_satellites, 1)
    epoch = epoch_dt(cfg.epoch)
    elements = (eph.walker_delta(cfg.n_satellites, planes, cfg.walker_phasing,
                                 cfg.orbit_altitude_km, cfg.orbit_inclination_deg, epoch,
                                 cfg.raan0_deg) if cfg.n_satellites else [])
    city_ids = sorted({n["city"] for n in stations})
    cities = np.array([[np.mean([n[k] for n in stations if n["city"] == c]) for k in ("lat", "lon")]
                       for c in city_ids])
    start = (_first_pass(cfg, elements, epoch, cities) if cfg.align_to_pass
             else float(cfg.start_time_s))
    M = cfg.samples_per_slot
    times = geo.sample_times(start, T, delta, M)  # (T, M)
    S = len(elements)
    sat_pos = (eph.satellite_ecef(elements, epoch, times.ravel(), method=cfg.propagator)
               .reshape(S, T, M, 3) if S else np.zeros((0, T, M, 3)))
    st_ll = np.array([[n["lat"], n["lon"], n["alt_km"]] for n in stations])
    hap_ll = np.array([[n["lat"], n["lon"], n["alt_km"]] for n in haps]).reshape(len(haps), 3)
    st_pos = eph.station_ecef(st_ll[:, 0], st_ll[:, 1], st_ll[:, 2])
    hap_pos = eph.station_ecef(hap_ll[:, 0], hap_ll[:, 1], hap_ll[:, 2]).reshape(len(haps), 3)

    sat_names = [f"sat{i}" for i in range(S)]
    st_names = [n["name"] for n in stations]
    hap_names = [n["name"] for n in haps]
    clash = sorted(set(sat_names) & set(st_names + hap_names))
    if clash:
        _fail("topology node names", clash, "names other than the satellites' sat0..satN")

    # --- per-link sample visibility, rates and fidelities, shape (T, M) each
    sat_t = lb.terminal("satellite", cfg.satellite_terminal)
    hap_t = lb.terminal("hap", cfg.hap_terminal)
    gnd_t = lb.terminal("ground", {"min_elevation_deg": cfg.ground_mask_deg,
                                   **cfg.ground_terminal})
    fib = lb.fiber_link(cfg.fiber)
    shape = (T, M)
    samples: list[tuple[str, str, str, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(u, v, kind, visible, rate, fid):
        samples.append((u, v, kind, np.broadcast_to(np.asarray(visible, bool), shape),
                        np.broadcast_to(np.asarray(rate, float), shape),
                        np.broadcast_to(np.asarray(fid, float), shape)))

    pos_of = dict(zip(st_names, st_pos, strict=True))
    for u, v, length in ground["fiber"]:  # static fiber
        if u not in pos_of or v not in pos_of:
            _fail(f"topology fiber ({u}, {v})", (u, v), "fiber between base stations only")
        L = float(length) if length is not None else float(
            geo.great_circle_km(pos_of[u], pos_of[v]) * cfg.fiber_route_factor)
        r, f = lb.fiber_pairs(fib, L)
        add(u, v, "G2G", True, float(r), float(f))
    if S:
        # S2G: elevation / slant from each station, (B, S, T, M)
        el, _, rng = eph.look_angles(st_ll[:, 0], st_ll[:, 1], st_ll[:, 2], sat_pos)
        r, f = lb.ground_link_pairs(sat_t, gnd_t, rng, el, cfg.ground_mask_deg)
        vis = el >= cfg.ground_mask_deg
        for i in range(S):
            for b in range(len(stations)):
                add(sat_names[i], st_names[b], "S2G", vis[b, i], r[b, i], f[b, i])
        if haps:  # S2A: elevation at the HAP, (A, S, T, M)
            el, _, _ = eph.look_angles(hap_ll[:, 0], hap_ll[:, 1], hap_ll[:, 2], sat_pos)
            vis = el >= cfg.hap_sat_mask_deg
            r, f = lb.aloft_link_pairs(sat_t, hap_t, sat_pos[None], hap_pos[:, None, None, None],
                                       vis)
            for i in range(S):
                for a in range(len(haps)):
                    add(sat_names[i], hap_names[a], "S2A", vis[a, i], r[a, i], f[a, i])
        ii, jj = np.triu_indices(S, 1)  # S2S: Earth occlusion + range, all pairs at once
        if ii.size:
            a, b = sat_pos[ii], sat_pos[jj]  # (P, T, M, 3)
            vis = ((eph.segment_clearance_km(a, b) >= cfg.isl_grazing_km)
                   & (geo.slant_range_km(a, b) <= cfg.max_isl_km))
            r, f = lb.aloft_link_pairs(sat_t, sat_t, a, b, vis)
            for q, (i, j) in enumerate(zip(ii, jj, strict=True)):
                add(sat_names[i], sat_names[j], "S2S", vis[q], r[q], f[q])
    if haps:
        el, _, rng = eph.look_angles(st_ll[:, 0], st_ll[:, 1], st_ll[:, 2], hap_pos)  # (B, A)
        r, f = lb.ground_link_pairs(hap_t, gnd_t, rng, el, cfg.hap_ground_mask_deg)
        vis = el >= cfg.hap_ground_mask_deg
        for a in range(len(haps)):
            for b in range(len(stations)):
                add(hap_names[a], st_names[b], "A2G", vis[b, a], r[b, a], f[b, a])
        ii, jj = np.triu_indices(len(haps), 1)  # A2A: Earth occlusion + range
        if ii.size:
            pa, pc = hap_pos[ii], hap_pos[jj]
            vis = ((eph.segment_clearance_km(pa, pc) >= cfg.a2a_grazing_km)
                   & (geo.slant_range_km(pa, pc) <= cfg.max_a2a_km))
            r, f = lb.aloft_link_pairs(hap_t, hap_t, pa, pc)
            for q, (a, c) in enumerate(zip(ii, jj, strict=True)):
                add(hap_names[a], hap_names[c], "A2A", vis[q], float(r[q]), float(f[q]))

    links = []
    for u, v, kind, vis, rate, fid in samples:
        mean_rate = rate.mean(axis=1)
        cap = delta * mean_rate  # pairs per slot = δ [s] × mean rate [pairs/s]
        wsum = rate.sum(axis=1)
        fslot = np.where(wsum > 0, (rate * fid).sum(axis=1) / np.where(wsum > 0, wsum, 1), 0.25)
        present = vis.all(axis=1) & (rate > 0).all(axis=1) & (cap >= cfg.min_pairs_per_slot) \
            & (fslot > 0.25)
        # seed link model: the seed's random draws on the physical visibility
        lo, hi = cfg.ground_capacity if kind == "G2G" else cfg.free_space_capacity
        draw = cap_rng.uniform(lo, hi, size=T)
        fdraw = float(fid_rng.uniform(*cfg.link_fidelity))
        if not present.any():
            continue
        if cfg.link_model == "seed":
            caps = tuple(float(c) if p else None for c, p in zip(draw, present, strict=True))
            fids = tuple(fdraw if p else None for p in present)
        else:
            caps = tuple(float(c) if p else None for c, p in zip(cap, present, strict=True))
            fids = tuple(float(f) if p else None for f, p in zip(fslot, present, strict=True))
        worst = min(f for f in fids if f is not None)
        links.append(Link(u, v, kind, float(worst), caps, fids))

    store_names = {n["name"] for n in stations if n["storage"]} if cfg.storage_capacity > 0 \
        else set()
    nodes = tuple(Node(n["name"], "base_station", int(n["city"]),
                       float(cfg.storage_capacity) if n["name"] in store_names else 0.0)
                  for n in stations)
    nodes += tuple(Node(s, "satellite") for s in sat_names)
    nodes += tuple(Node(n["name"], "hap") for n in haps)
    pairs = tuple(Pair(s, d, float(cfg.fidelity_threshold), (float(cfg.weight),) * T)
                  for s, d in pairs_st)
    city = {n["name"]: n["city"] for n in stations}
    joined = {frozenset((city[s], city[d])) for s, d in pairs_st}
    stores = [n["name"] for n in stations if n["name"] in store_names]
    storage_pairs = tuple((a, b) for i, a in enumerate(stores) for b in stores[i + 1:]
                          if city[a] != city[b] and frozenset((city[a], city[b])) in joined)
    opts = PathOptions(cfg.max_real_paths, cfg.max_storage_paths, cfg.max_virtual_paths,
                       cfg.protocol, cfg.max_rounds)
    mid = times.mean(axis=1)
    positions = {n: list(map(float, x)) for n, x in zip(st_names + hap_names,
                                                        list(st_pos) + list(hap_pos),
                                                        strict=True)}
    sat_track = {}
    if S:
        mid_sat = eph.satellite_ecef(elements, epoch, mid, method=cfg.propagator)
        sat_track = {s: [list(map(float, p)) for p in mid_sat[i]]
                     for i, s in enumerate(sat_names)}
    geometry = {
        "frame": "ECEF km (qsense.ephemeris: WGS-84, GMST); satellites at slot midpoints",
        "epoch": epoch.isoformat(), "start_time_s": float(start),
        "slot_start_utc": (epoch + dt.timedelta(seconds=float(start))).isoformat(),
        "propagator": cfg.propagator, "link_model": cfg.link_model,
        "capacity": "pairs per slot = slot_duration [s] x mean pair rate over the slot [pairs/s]",
        "cities": [list(c) for c in cfg.cities] if not cfg.topology else str(cfg.topology),
        "walker": {"n_satellites": cfg.n_satellites, "planes": planes,
                   "phasing": cfg.walker_phasing, "altitude_km": cfg.orbit_altitude_km,
                   "inclination_deg": cfg.orbit_inclination_deg},
        "positions": positions,
        "satellite_positions": sat_track,
    }
    return Instance(nodes, tuple(links), pairs, storage_pairs, T, delta, opts,
                    name=f"satqn-seed{seed}", seed=int(seed), geometry=geometry)
