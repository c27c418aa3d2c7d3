"""A frozen PS-EGR instance: nodes, time-varying links, storage, user pairs, path options.

Units and conventions
---------------------
* Time is split into ``n_slots`` slots of ``slot_duration`` seconds (δ). Slots are 0-based in
  code (slot 0 is the seed's t = 1).
* ``Link.capacity[t]`` is the link's EPR-pair budget in slot t, in **pairs per slot** (the seed's
  "EGR pairs"; the QON code counts per slot), ``None`` when the link is absent in slot t.
  ``Link.fidelity`` is the Werner fidelity of a pair generated over the link.
* ``Node.storage`` is the storage capacity B_m in EPR pairs (0: no memory).
* ``Pair.threshold`` is F_k^th; ``Pair.weight[t]`` is α_k^t.
* Rates y are in purified pairs per second; the objective Σ α y (eq. 1) is in pairs/s summed over
  slots and pairs.

An instance is plain data: it is validated on construction (a bad field raises ``ValueError``
naming it, its value and the accepted range), saved to / loaded from JSON, or built from a
networkx GraphML file (:func:`from_graphml`).
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from routing._checks import is_count, is_plain_real
from routing.purification import PROTOCOLS

NODE_KINDS = ("satellite", "hap", "base_station")
LINK_KINDS = ("S2S", "S2A", "A2A", "S2G", "A2G", "G2G")
SCHEMA_VERSION = 1
PATH_SETS = ("capped", "priced", "complete")
#: largest storage capacity B_m (EPR pairs) of a node: 1e7 is 100x the largest of Fig. 5
#: (1e5) and ~1e4x the seed's 1500; far beyond it the LPs lose their scale (1e9 kept a Benders
#: GLOP solve running > 11 min, 1e300 made GLOP return status 4)
MAX_STORAGE_CAPACITY = 1e7
#: largest pair weight alpha_k^t: the EGR objective sum(alpha y) is reported in weighted
#: pairs/s; 1e6 keeps objective coefficients within the LP solvers' tolerances (1e300 made
#: GLOP return status 4)
MAX_WEIGHT = 1e6
#: smallest nonzero pair weight: below it the objective coefficients sink into the solvers'
#: absolute tolerances and an "optimal" answer is not (seed 0, every weight w, objective / w
#: against w = 1: exact at 1e-5 for the MILP and Benders; at 1e-6 Benders 2.2 % low, at 1e-8
#: the MILP 15 % and Benders 90 % low, both still reporting "optimal"). The optimum's paths
#: and rates do not change when all weights are scaled up alike.
MIN_WEIGHT = 1e-4


def weight_ok(a) -> bool:
    """A pair weight: 0 (the pair is ignored) or in [MIN_WEIGHT, MAX_WEIGHT]."""
    return is_plain_real(a) and math.isfinite(a) and (a == 0 or MIN_WEIGHT <= a <= MAX_WEIGHT)


#: what `weight_ok` accepts, for the messages
WEIGHT_RANGE = (f"0 or a weight in [{MIN_WEIGHT:g}, {MAX_WEIGHT:g}] (outside it the LP "
                "objective leaves the solvers' tolerances; scale all weights alike)")
#: largest link capacity (EPR pairs per slot): 1e12 is ~300x the physical model's largest at
#: the longest slot (~4e4 pairs/s x 86400 s); far beyond it the solvers lose their scale (on a
#: seed-0 network scaled to 7.6e14 pairs per slot SCIP reported "unresolved numerical
#: troubles" inside Benders, and HiGHS refuses LP coefficients above 1e15)
MAX_LINK_CAPACITY = 1e12
#: longest slot (s): one day; a slot is one snapshot of the time-varying links, which
#: change over minutes (1e300 s overflowed the ephemeris' datetime arithmetic)
MAX_SLOT_DURATION = 86400.0


def _fail(name: str, value, accepted: str) -> None:
    raise ValueError(f"{name} = {value!r} is invalid; accepted: {accepted}")


@dataclass(frozen=True)
class Node:
    name: str
    kind: str  # satellite | hap | base_station
    city: int = -1  # city index for base stations, -1 otherwise
    storage: float = 0.0  # B_m, EPR pairs (0: no memory)
    # memory lifetime τ_m (s): a stored qubit's Werner parameter decays as exp(-wait / τ_m)
    # (routing.paths); inf: no decoherence
    memory_time: float = math.inf

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            _fail("node.name", self.name, "a non-empty string")
        if self.kind not in NODE_KINDS:
            _fail(f"node {self.name!r} kind", self.kind, f"one of {list(NODE_KINDS)}")
        if isinstance(self.storage, numbers.Real) and not isinstance(self.storage, bool):
            # numpy numbers (float32, int64) become floats: instances go through json.dumps
            object.__setattr__(self, "storage", float(self.storage))
        if not (is_plain_real(self.storage) and math.isfinite(self.storage)
                and 0 <= self.storage <= MAX_STORAGE_CAPACITY):
            _fail(f"node {self.name!r} storage", self.storage,
                  f"a capacity in [0, {MAX_STORAGE_CAPACITY:g}] (EPR pairs)")
        if not (is_plain_real(self.memory_time) and self.memory_time > 0):
            _fail(f"node {self.name!r} memory_time", self.memory_time,
                  "a lifetime > 0 in seconds (inf: no decoherence)")


@dataclass(frozen=True)
class Link:
    u: str
    v: str
    kind: str
    fidelity: float
    capacity: tuple  # per slot: pairs per slot, or None when absent
    # per slot Werner fidelity (None where absent), or None: ``fidelity`` in every slot.
    # Physical instances set ``fidelity`` to the worst present slot's value.
    fidelities: tuple | None = None

    def __post_init__(self) -> None:
        name = f"link ({self.u}, {self.v})"
        if self.u == self.v:
            _fail(name, (self.u, self.v), "two distinct nodes")
        if self.kind not in LINK_KINDS:
            _fail(f"{name} kind", self.kind, f"one of {list(LINK_KINDS)}")
        if not (is_plain_real(self.fidelity) and 0.25 < self.fidelity <= 1.0):
            _fail(f"{name} fidelity", self.fidelity, "a fidelity in (0.25, 1]")
        if not _is_list(self.capacity):
            _fail(f"{name} capacity", self.capacity, "a list with one capacity per slot")
        if not (self.fidelities is None or _is_list(self.fidelities)):
            _fail(f"{name} fidelities", self.fidelities, "a list with one fidelity per slot, "
                  "or null")
        for t, c in enumerate(self.capacity):
            if c is None:
                continue
            if not (is_plain_real(c) and math.isfinite(c)
                    and 0 <= c <= MAX_LINK_CAPACITY):
                _fail(f"{name} capacity[{t}]", c, f"a capacity in [0, {MAX_LINK_CAPACITY:g}] "
                      "(pairs per slot) or null")
        if self.fidelities is not None:
            if len(self.fidelities) != len(self.capacity):
                _fail(f"{name} fidelities", list(self.fidelities),
                      f"one entry per slot ({len(self.capacity)})")
            for t, (f, c) in enumerate(zip(self.fidelities, self.capacity, strict=True)):
                if (f is None) != (c is None):
                    _fail(f"{name} fidelities[{t}]", f,
                          "null exactly where capacity is null (link absent)")
                if f is not None and not (is_plain_real(f) and 0.25 < f <= 1.0):
                    _fail(f"{name} fidelities[{t}]", f, "a fidelity in (0.25, 1]")

    def fidelity_at(self, t: int) -> float:
        """Werner fidelity of a pair generated over the link in slot t."""
        if self.fidelities is None:
            return self.fidelity
        f = self.fidelities[t]
        return self.fidelity if f is None else f

    def present(self, t: int) -> bool:
        return self.capacity[t] is not None


def _is_list(x) -> bool:
    """One entry per slot: a tuple or list (a string or a number used to be iterated or fail
    with a TypeError naming no field)."""
    return isinstance(x, (tuple, list))


def _tuple(x):
    """A JSON list as a tuple; anything else as it is, for the dataclass to name."""
    return tuple(x) if isinstance(x, list) else x


@dataclass(frozen=True)
class Pair:
    src: str
    dst: str
    threshold: float  # F_k^th
    weight: tuple  # α_k^t per slot

    def __post_init__(self) -> None:
        if self.src == self.dst:
            _fail("pair", (self.src, self.dst), "two distinct base stations")
        if not (is_plain_real(self.threshold) and 0.25 <= self.threshold <= 1.0):
            _fail(f"pair ({self.src}, {self.dst}) threshold", self.threshold,
                  "a fidelity in [0.25, 1]")
        if not _is_list(self.weight):
            _fail(f"pair ({self.src}, {self.dst}) weight", self.weight,
                  "a list with one weight per slot")
        for t, a in enumerate(self.weight):
            if not weight_ok(a):
                _fail(f"pair ({self.src}, {self.dst}) weight[{t}]", a, WEIGHT_RANGE)


@dataclass(frozen=True)
class PathOptions:
    """Caps on candidate paths (they drive the model size) and the purification protocol."""

    max_real_paths: int = 3  # k-shortest real paths per (pair, slot)
    max_storage_paths: int = 2  # k-shortest real paths per (storage pair, slot)
    max_virtual_paths: int = 3  # best virtual paths per (pair, slot)
    protocol: str = "dejmps"  # dejmps | bbpssw
    max_rounds: int = 30  # purification rounds before a threshold is declared unreachable
    # which path set the model is built over (routing.paths): "capped" (the caps above),
    # "priced" (column generation over all paths) or "complete" (every path, small networks)
    path_set: str = "capped"
    max_columns: int = 200_000  # enumeration guard for "complete" / "priced"

    def __post_init__(self) -> None:
        if self.path_set not in PATH_SETS:
            _fail("options.path_set", self.path_set, f"one of {list(PATH_SETS)}")
        if not (is_count(self.max_columns) and self.max_columns >= 1):
            _fail("options.max_columns", self.max_columns, "integer >= 1")
        # a user pair needs at least one real path (0 left PS-EGR only its virtual paths:
        # 16.5 vs SOS 35.3); 0 storage / virtual paths is meaningful (no storage routing)
        for key, lo in (("max_real_paths", 1), ("max_storage_paths", 0),
                        ("max_virtual_paths", 0)):
            v = getattr(self, key)
            if not (is_count(v) and lo <= v <= 1000):
                _fail(f"options.{key}", v, f"integer in [{lo}, 1000]")
        if self.protocol not in PROTOCOLS:
            _fail("options.protocol", self.protocol, f"one of {list(PROTOCOLS)}")
        if not (is_count(self.max_rounds) and 0 <= self.max_rounds <= 1000):
            _fail("options.max_rounds", self.max_rounds, "integer in [0, 1000]")


@dataclass(frozen=True)
class Instance:
    """A PS-EGR instance (see module docstring for units)."""

    nodes: tuple
    links: tuple
    pairs: tuple
    storage_pairs: tuple  # ((m1, m2), ...), both with storage > 0
    n_slots: int
    slot_duration: float  # δ, seconds
    options: PathOptions = field(default_factory=PathOptions)
    name: str = "instance"
    seed: int | None = None
    # where the nodes are (routing.topology): frame, start time, node positions, link model;
    # None for abstract instances. Plain JSON data.
    geometry: dict | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if not (is_count(self.n_slots) and self.n_slots >= 1):
            _fail("n_slots", self.n_slots, "integer >= 1")
        if not (is_plain_real(self.slot_duration) and math.isfinite(self.slot_duration)
                and 0 < self.slot_duration <= MAX_SLOT_DURATION):
            _fail("slot_duration", self.slot_duration,
                  f"a duration in (0, {MAX_SLOT_DURATION:g}] seconds (at most a day)")
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            _fail("nodes", names, "unique node names")
        known = set(names)
        kinds = {n.name: n.kind for n in self.nodes}
        seen = set()
        for link in self.links:
            for end in (link.u, link.v):
                if end not in known:
                    _fail(f"link ({link.u}, {link.v}) endpoint", end, "a node name of the instance")
            key = frozenset((link.u, link.v))
            if key in seen:
                _fail("links", (link.u, link.v), "at most one link per node pair")
            seen.add(key)
            if len(link.capacity) != self.n_slots:
                _fail(f"link ({link.u}, {link.v}) capacity", list(link.capacity),
                      f"a list of n_slots = {self.n_slots} entries")
        if len(self.pairs) == 0:
            _fail("pairs", [], "at least one user pair")
        for p in self.pairs:
            for end in (p.src, p.dst):
                if end not in known:
                    _fail(f"pair ({p.src}, {p.dst}) endpoint", end, "a node name of the instance")
                if kinds[end] != "base_station":
                    _fail(f"pair ({p.src}, {p.dst}) endpoint {end} kind", kinds[end],
                          "base_station")
            if len(p.weight) != self.n_slots:
                _fail(f"pair ({p.src}, {p.dst}) weight", list(p.weight),
                      f"a list of n_slots = {self.n_slots} weights")
        store = {n.name: n.storage for n in self.nodes}
        for sp in self.storage_pairs:
            if len(sp) != 2 or sp[0] == sp[1]:
                _fail("storage_pairs entry", sp, "two distinct storage nodes")
            for m in sp:
                if m not in known:
                    _fail(f"storage pair {tuple(sp)} node", m, "a node name of the instance")
                if store[m] <= 0:
                    _fail(f"storage pair {tuple(sp)} node {m} storage", store[m],
                          "storage > 0 for a node of a storage pair")

    # --- convenience ------------------------------------------------------------------------
    @property
    def n_pairs(self) -> int:
        return len(self.pairs)

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def storage_capacity(self, name: str) -> float:
        return self.node(name).storage

    def with_storage_capacity(self, capacity: float) -> Instance:
        """The same network with every storage node's B_m set to ``capacity``.

        ``capacity = 0`` removes all storage (and the storage pairs): the NSS baseline. That
        cannot be undone on the result, which has no storage node left; a positive capacity on
        an instance without storage nodes is refused (call it on the original instance).
        """
        if not (isinstance(capacity, numbers.Real) and not isinstance(capacity, bool)
                and math.isfinite(capacity)
                and 0 <= capacity <= MAX_STORAGE_CAPACITY):
            _fail("storage capacity", capacity,
                  f"a capacity in [0, {MAX_STORAGE_CAPACITY:g}] (EPR pairs)")
        stores = {n.name for n in self.nodes if n.storage > 0}  # storage pairs' nodes included
        if capacity > 0 and not stores:
            _fail("storage capacity", capacity,
                  "0 only: this instance has no storage node (with_storage_capacity(0) removes "
                  "them; set a positive capacity on the instance that still has them)")
        nodes = tuple(replace(n, storage=float(capacity)) if n.name in stores else n
                      for n in self.nodes)
        pairs = self.storage_pairs if capacity > 0 else ()
        return replace(self, nodes=nodes, storage_pairs=pairs)

    def with_options(self, **kw) -> Instance:
        return replace(self, options=replace(self.options, **kw))

    # --- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        d["schema_version"] = SCHEMA_VERSION
        return d

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    @staticmethod
    def from_dict(d: dict) -> Instance:
        if not isinstance(d, dict):
            _fail("instance", type(d).__name__, "a JSON object")
        try:
            ver = d.get("schema_version", SCHEMA_VERSION)
            if ver != SCHEMA_VERSION:
                _fail("schema_version", ver, f"{SCHEMA_VERSION}")
            nodes = tuple(Node(**n) for n in d["nodes"])
            links = tuple(
                Link(l_["u"], l_["v"], l_["kind"], l_["fidelity"], _tuple(l_["capacity"]),
                     _tuple(l_.get("fidelities")))
                for l_ in d["links"]
            )
            pairs = tuple(
                Pair(p["src"], p["dst"], p["threshold"], _tuple(p["weight"])) for p in d["pairs"]
            )
            sp = tuple(tuple(x) for x in d.get("storage_pairs", ()))
            opts = PathOptions(**d.get("options", {}))
            return Instance(nodes, links, pairs, sp, d["n_slots"], d["slot_duration"], opts,
                            d.get("name", "instance"), d.get("seed"), d.get("geometry"))
        except KeyError as err:
            raise ValueError(f"instance file is missing the field {err.args[0]!r}") from None
        except TypeError as err:
            raise ValueError(f"instance file is malformed: {err}") from None

    @staticmethod
    def load(path: str | Path) -> Instance:
        try:
            data = json.loads(Path(path).read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"instance file {str(path)!r} is not valid JSON: {err}") from None
        return Instance.from_dict(data)


def load_instance(path: str | Path) -> Instance:
    """Load an instance saved with :meth:`Instance.save`."""
    return Instance.load(path)


def save_instance(inst: Instance, path: str | Path) -> None:
    inst.save(path)


def _kind_of_link(ka: str, kb: str) -> str:
    code = {"satellite": "S", "hap": "A", "base_station": "G"}
    pair = "".join(sorted((code[ka], code[kb]), key="SAG".index))
    return f"{pair[0]}2{pair[1]}"


def from_graphml(
    path: str | Path,
    pairs: list[tuple[str, str]],
    n_slots: int = 1,
    slot_duration: float = 20.0,
    threshold: float = 0.9,
    storage_pairs: list[tuple[str, str]] | None = None,
    options: PathOptions | None = None,
) -> Instance:
    """Build an instance from a networkx GraphML file (bring your own network).

    Node attributes: ``kind`` (satellite | hap | base_station, default base_station), ``city``
    (int, optional), ``storage`` (B_m, default 0). Edge attributes: ``fidelity`` (required),
    ``capacity`` (pairs per slot, required; a number for every slot, or a comma-separated list
    of ``n_slots`` values where an empty entry means the link is absent in that slot).
    ``storage_pairs`` defaults to every pair of storage nodes in different cities (or all pairs
    of storage nodes when no city is given).
    """
    import networkx as nx

    try:
        g = nx.read_graphml(str(path))
    except Exception as err:  # networkx raises several parse error types
        raise ValueError(f"GraphML file {str(path)!r} could not be read: {err}") from None
    def num(where, key, value, kind=float, accepted="a number"):
        try:
            return kind(value)
        except (TypeError, ValueError):
            _fail(f"GraphML {where} {key}", value, accepted)

    nodes = []
    for name, attr in g.nodes(data=True):
        where = f"node {str(name)!r}"
        nodes.append(Node(str(name), attr.get("kind", "base_station"),
                          num(where, "city", attr.get("city", -1), int, "an integer city id"),
                          num(where, "storage", attr.get("storage", 0.0), float,
                              "a storage capacity >= 0 (pairs)")))
    kinds = {n.name: n.kind for n in nodes}
    links = []
    for u, v, attr in g.edges(data=True):
        where = f"edge ({u}, {v})"
        if "fidelity" not in attr or "capacity" not in attr:
            _fail(f"GraphML {where} attributes", sorted(attr),
                  "'fidelity' and 'capacity' on every edge")
        cap = attr["capacity"]
        acc = ("a capacity >= 0 (pairs per slot), or a comma-separated list of n_slots values "
               "(empty: link absent in that slot)")
        if isinstance(cap, str):
            parts = [c.strip() for c in cap.split(",")]
            if len(parts) == 1:
                caps = tuple(num(where, "capacity", parts[0], float, acc)
                             for _ in range(n_slots))
            else:
                caps = tuple(num(where, "capacity", c, float, acc) if c else None
                             for c in parts)
        else:
            caps = tuple(num(where, "capacity", cap, float, acc) for _ in range(n_slots))
        links.append(Link(str(u), str(v), _kind_of_link(kinds[str(u)], kinds[str(v)]),
                          num(where, "fidelity", attr["fidelity"], float,
                              "a fidelity in (0.25, 1]"), caps))
    pair_objs = tuple(Pair(str(s), str(d), threshold, (1.0,) * n_slots) for s, d in pairs)
    if storage_pairs is None:
        stores = [n for n in nodes if n.storage > 0]
        storage_pairs = [
            (a.name, b.name) for i, a in enumerate(stores) for b in stores[i + 1:]
            if a.city != b.city or a.city == -1
        ]
    return Instance(tuple(nodes), tuple(links), pair_objs, tuple(tuple(p) for p in storage_pairs),
                    n_slots, slot_duration, options or PathOptions(), name=Path(path).stem)
