"""Seeded generator of satellite-aerial-terrestrial networks with time-varying links.

Defaults are the seed's simulation setting (paper 004, Sec. VI): 2 satellites, 2 HAPs, 12 base
stations split between a source and a destination city, K = 3 user pairs, free-space link
budgets U[200, 1400] and ground (G2G) budgets U[400, 1600] EPR pairs per slot, storage capacity
1500 pairs, link fidelity U[0.96, 0.99], 10 slots of 20 s.

Geometry (ours; the seed gives none). A one-dimensional ground track in units of the city
separation: the source city sits at x = 0 and the destination city at x = 1, each a cluster of
stations on a disk of radius 0.05 joined by fiber (a Euclidean minimum spanning tree plus each
station's nearest neighbour). Satellites fly over at constant speed (start U[-0.9, 0.1], speed
U[0.12, 0.22] per slot) and see a ground station or HAP within ``SAT_RANGE``; satellites see each
other within ``S2S_RANGE``. HAPs hover around x = 0.25 and x = 0.75 (more HAPs spread evenly)
with a sinusoidal drift of amplitude 0.15, see ground within ``HAP_RANGE`` and each other within
``A2A_RANGE``. Links therefore appear and disappear across slots. Capacities are drawn per link
and per slot, fidelities per link. Storage nodes are the last ``n_storage_per_city`` stations of
each city; storage pairs join a source-city store to a destination-city store. User pair k joins
station k of the source city to station k of the destination city. The network does not depend
on K, the storage capacity or the path options, so sweeps over those change only what they name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import networkx as nx
import numpy as np

from routing.instance import Instance, Link, Node, Pair, PathOptions

SAT_RANGE = 0.55
S2S_RANGE = 1.5
HAP_RANGE = 0.35
A2A_RANGE = 0.6
CITY_RADIUS = 0.05


@dataclass(frozen=True)
class GeneratorConfig:
    """Knobs of :func:`generate_instance` (seed-004 defaults)."""

    n_satellites: int = 2
    n_haps: int = 2
    n_base_stations: int = 12  # split evenly between the two cities
    n_pairs: int = 3  # K
    free_space_capacity: tuple = (200.0, 1400.0)  # pairs per slot, uniform range
    ground_capacity: tuple = (400.0, 1600.0)  # pairs per slot, uniform range
    storage_capacity: float = 1500.0  # B_m, EPR pairs
    n_storage_per_city: int = 2
    link_fidelity: tuple = (0.96, 0.99)
    n_slots: int = 10
    slot_duration: float = 20.0  # δ, seconds
    fidelity_threshold: float = 0.9  # F_k^th for every pair (ours: the seed gives none)
    weight: float = 1.0  # α_k^t for every pair and slot
    max_real_paths: int = 3
    max_storage_paths: int = 2
    max_virtual_paths: int = 3
    protocol: str = "dejmps"
    max_rounds: int = 30

    def __post_init__(self) -> None:
        def fail(key, value, accepted):
            raise ValueError(f"{key} = {value!r} is invalid; accepted: {accepted}")

        if not (isinstance(self.n_satellites, int) and self.n_satellites >= 0):
            fail("n_satellites", self.n_satellites, "integer >= 0")
        if not (isinstance(self.n_haps, int) and self.n_haps >= 0):
            fail("n_haps", self.n_haps, "integer >= 0")
        if not (isinstance(self.n_base_stations, int) and self.n_base_stations >= 2
                and self.n_base_stations % 2 == 0):
            fail("n_base_stations", self.n_base_stations, "an even integer >= 2")
        per_city = self.n_base_stations // 2
        if not (isinstance(self.n_pairs, int) and 1 <= self.n_pairs <= per_city):
            fail("n_pairs", self.n_pairs, f"integer in [1, n_base_stations/2 = {per_city}]")
        for key in ("free_space_capacity", "ground_capacity"):
            lo, hi = getattr(self, key)
            if not (0 <= lo <= hi):
                fail(key, getattr(self, key), "a range (lo, hi) with 0 <= lo <= hi (pairs/slot)")
        if not (math.isfinite(self.storage_capacity) and self.storage_capacity >= 0):
            fail("storage_capacity", self.storage_capacity, "a capacity >= 0 (EPR pairs)")
        if not (isinstance(self.n_storage_per_city, int)
                and 0 <= self.n_storage_per_city <= per_city):
            fail("n_storage_per_city", self.n_storage_per_city, f"integer in [0, {per_city}]")
        lo, hi = self.link_fidelity
        if not (0.25 < lo <= hi <= 1.0):
            fail("link_fidelity", self.link_fidelity, "a range with 0.25 < lo <= hi <= 1")
        if not (isinstance(self.n_slots, int) and self.n_slots >= 1):
            fail("n_slots", self.n_slots, "integer >= 1")
        if not (self.slot_duration > 0):
            fail("slot_duration", self.slot_duration, "a duration > 0 (seconds)")
        if not (0.25 <= self.fidelity_threshold <= 1.0):
            fail("fidelity_threshold", self.fidelity_threshold, "a fidelity in [0.25, 1]")
        if not (self.weight >= 0):
            fail("weight", self.weight, "a weight >= 0")


GENERATOR_KEYS = tuple(f.name for f in fields(GeneratorConfig))


def generate_instance(seed: int = 0, **overrides) -> Instance:
    """A seeded instance with the seed-004 setting; keyword overrides name GeneratorConfig fields.

    Example: ``generate_instance(3, n_pairs=6, storage_capacity=500)``.
    """
    unknown = sorted(set(overrides) - set(GENERATOR_KEYS))
    if unknown:
        raise ValueError(
            f"generate_instance overrides {unknown} are unknown; accepted: {list(GENERATOR_KEYS)}")
    if not (isinstance(seed, (int, np.integer)) and seed >= 0):
        raise ValueError(f"seed = {seed!r} is invalid; accepted: integer >= 0")
    for key in ("free_space_capacity", "ground_capacity", "link_fidelity"):
        if key in overrides:
            overrides[key] = tuple(float(v) for v in overrides[key])
    cfg = GeneratorConfig(**overrides)
    # independent streams: the network does not change with K, B_m or options
    net_rng = np.random.default_rng([int(seed), 0])
    cap_rng = np.random.default_rng([int(seed), 1])
    fid_rng = np.random.default_rng([int(seed), 2])
    T = cfg.n_slots
    per_city = cfg.n_base_stations // 2

    nodes: list[Node] = []
    pos: dict[str, np.ndarray] = {}
    stations: list[list[str]] = [[], []]
    store_names = set()
    for city in (0, 1):
        for i in range(per_city):
            name = f"{'src' if city == 0 else 'dst'}{i}"
            r = CITY_RADIUS * math.sqrt(net_rng.uniform())
            phi = net_rng.uniform(0, 2 * math.pi)
            pos[name] = np.array([city + r * math.cos(phi), r * math.sin(phi)])
            storage = 0.0
            if i >= per_city - cfg.n_storage_per_city and cfg.storage_capacity > 0:
                storage = float(cfg.storage_capacity)
                store_names.add(name)
            nodes.append(Node(name, "base_station", city, storage))
            stations[city].append(name)
    sats = [f"sat{i}" for i in range(cfg.n_satellites)]
    sat_x0 = net_rng.uniform(-0.9, 0.1, size=cfg.n_satellites)
    sat_v = net_rng.uniform(0.12, 0.22, size=cfg.n_satellites)
    haps = [f"hap{i}" for i in range(cfg.n_haps)]
    hap_home = (np.arange(cfg.n_haps) + 0.5) / max(cfg.n_haps, 1) * 0.5 + 0.25 \
        if cfg.n_haps != 2 else np.array([0.25, 0.75])
    hap_phase = net_rng.uniform(0, 2 * math.pi, size=cfg.n_haps)
    hap_omega = net_rng.uniform(0.3, 0.8, size=cfg.n_haps)
    nodes += [Node(s, "satellite") for s in sats] + [Node(a, "hap") for a in haps]

    def sat_x(i, t):
        return sat_x0[i] + sat_v[i] * t

    def hap_x(i, t):
        return hap_home[i] + 0.15 * math.sin(hap_omega[i] * t + hap_phase[i])

    # presence[edge] = list of bools per slot
    presence: dict[tuple[str, str, str], list[bool]] = {}

    def add(u, v, kind, present):
        presence[(u, v, kind)] = present

    for city in (0, 1):
        names = stations[city]
        g = nx.Graph()
        for a in range(len(names)):
            for b in range(a + 1, len(names)):
                g.add_edge(names[a], names[b],
                           weight=float(np.linalg.norm(pos[names[a]] - pos[names[b]])))
        fiber = set(frozenset(e) for e in nx.minimum_spanning_edges(g, data=False))
        for a in names:
            if len(names) > 1:
                nearest = min((b for b in names if b != a),
                              key=lambda b, a=a: np.linalg.norm(pos[a] - pos[b]))
                fiber.add(frozenset((a, nearest)))
        for e in sorted(tuple(sorted(e)) for e in fiber):
            add(e[0], e[1], "G2G", [True] * T)
    ground = stations[0] + stations[1]
    for i, s in enumerate(sats):
        for b in ground:
            add(s, b, "S2G", [abs(sat_x(i, t) - pos[b][0]) <= SAT_RANGE for t in range(T)])
        for j, a in enumerate(haps):
            add(s, a, "S2A", [abs(sat_x(i, t) - hap_x(j, t)) <= SAT_RANGE for t in range(T)])
        for j in range(i + 1, len(sats)):
            add(s, sats[j], "S2S", [abs(sat_x(i, t) - sat_x(j, t)) <= S2S_RANGE
                                    for t in range(T)])
    for i, a in enumerate(haps):
        for b in ground:
            add(a, b, "A2G", [abs(hap_x(i, t) - pos[b][0]) <= HAP_RANGE for t in range(T)])
        for j in range(i + 1, len(haps)):
            add(a, haps[j], "A2A", [abs(hap_x(i, t) - hap_x(j, t)) <= A2A_RANGE
                                    for t in range(T)])

    links = []
    for (u, v, kind), present in presence.items():
        lo, hi = cfg.ground_capacity if kind == "G2G" else cfg.free_space_capacity
        caps = cap_rng.uniform(lo, hi, size=T)
        fid = float(fid_rng.uniform(*cfg.link_fidelity))
        if not any(present):
            continue
        caps_t = tuple(float(c) if p else None for c, p in zip(caps, present, strict=True))
        links.append(Link(u, v, kind, fid, caps_t))
    pairs = tuple(
        Pair(stations[0][k], stations[1][k], float(cfg.fidelity_threshold),
             (float(cfg.weight),) * T)
        for k in range(cfg.n_pairs)
    )
    src_stores = [m for m in stations[0] if m in store_names]
    dst_stores = [m for m in stations[1] if m in store_names]
    storage_pairs = tuple((a, b) for a in src_stores for b in dst_stores)
    opts = PathOptions(cfg.max_real_paths, cfg.max_storage_paths, cfg.max_virtual_paths,
                       cfg.protocol, cfg.max_rounds)
    return Instance(tuple(nodes), tuple(links), pairs, storage_pairs, T,
                    float(cfg.slot_duration), opts, name=f"satqn-seed{seed}", seed=int(seed))
