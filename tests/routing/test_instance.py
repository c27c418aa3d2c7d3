"""Instance generator (seed-004 setting), JSON / GraphML round trips, and bad input."""

import json
from dataclasses import replace

import networkx as nx
import numpy as np
import pytest

import routing
from routing.instance import Instance, Link, Node, Pair


def test_generator_is_seeded_and_sweeps_change_only_what_they_name():
    a, b = routing.generate_instance(5), routing.generate_instance(5)
    assert a == b
    assert routing.generate_instance(6) != a
    k6 = routing.generate_instance(5, n_pairs=6)
    assert k6.links == a.links and k6.pairs[:3] == a.pairs
    b500 = routing.generate_instance(5, storage_capacity=500)
    assert b500.links == a.links
    assert {n.storage for n in b500.nodes if n.storage > 0} == {500.0}


def test_json_round_trip(tmp_path):
    inst = routing.generate_instance(2, n_slots=3)
    path = tmp_path / "inst.json"
    routing.save_instance(inst, path)
    back = routing.load_instance(path)
    assert back == inst
    assert back.geometry == inst.geometry and back.geometry["positions"]
    assert all(b.fidelities == a.fidelities for a, b in zip(inst.links, back.links, strict=True))
    assert routing.solve_milp(back).objective == pytest.approx(routing.solve_milp(inst).objective)


def test_graphml_round_trip(tmp_path):
    g = nx.Graph()
    g.add_node("a", kind="base_station", city=0)
    g.add_node("m1", kind="base_station", city=0, storage=100.0)
    g.add_node("s", kind="satellite")
    g.add_node("m2", kind="base_station", city=1, storage=100.0)
    g.add_node("b", kind="base_station", city=1)
    g.add_edge("a", "m1", fidelity=0.98, capacity=800.0)
    g.add_edge("m1", "s", fidelity=0.97, capacity="500,")  # present in slot 0 only
    g.add_edge("s", "m2", fidelity=0.97, capacity="600,")
    g.add_edge("a", "s", fidelity=0.97, capacity=",700")  # present in slot 1 only
    g.add_edge("m2", "b", fidelity=0.98, capacity="100,900")  # slot-0 bottleneck
    path = tmp_path / "net.graphml"
    nx.write_graphml(g, path)
    inst = routing.from_graphml(path, pairs=[("a", "b")], n_slots=2, threshold=0.85)
    assert inst.storage_pairs == (("m1", "m2"),)
    assert inst.n_slots == 2 and len(inst.links) == 5
    cands = routing.build_candidates(inst)
    # slot 0: a-m1-s-m2-b is real; slot 1: only a virtual path through the stored m1~m2 pairs
    assert [p.kind for p in cands.options[0][0]] == ["real"]
    assert [p.kind for p in cands.options[0][1]] == ["virtual"]
    sol = routing.solve_milp(inst)
    assert sol.status == "optimal" and sol.objective > 0
    assert routing.check_solution(sol) == []
    # closed form: slot 0 serves 100 pairs (m2-b budget) over a-m1-s-m2-b, the spare m1-s-m2
    # budget banks B = 100 pairs that serve slot 1 over the same full path: 2 * 100 / (g δ)
    g_cost = routing.purification_cost(routing.path_fidelity([0.98, 0.97, 0.97, 0.98]), 0.85)
    assert sol.objective == pytest.approx(2 * 100 / (g_cost * 20.0), rel=1e-9)
    assert any(c["slot"] == 1 and c["kind"] == "virtual" and c["rate"] > 0 for c in sol.chosen)


@pytest.mark.parametrize("node_attr,edge_attr,match", [
    ({"city": "austin"}, {}, "node 'a' city"),
    ({"storage": "lots"}, {}, "node 'a' storage"),
    ({}, {"capacity": "abc"}, r"edge \(a, b\) capacity"),
    ({}, {"capacity": "5,x"}, r"edge \(a, b\) capacity"),
    ({}, {"fidelity": "high"}, r"edge \(a, b\) fidelity"),
])
def test_graphml_bad_attributes_name_the_node_or_edge(tmp_path, node_attr, edge_attr, match):
    g = nx.Graph()
    g.add_node("a", **{"kind": "base_station", "city": 0, **node_attr})
    g.add_node("b", kind="base_station", city=1)
    g.add_edge("a", "b", **{"fidelity": 0.98, "capacity": 800.0, **edge_attr})
    path = tmp_path / "net.graphml"
    nx.write_graphml(g, path)
    with pytest.raises(ValueError, match=match):
        routing.from_graphml(path, pairs=[("a", "b")], n_slots=2)


def test_disconnected_pair_is_reported_not_a_silent_zero():
    nodes = (Node("a", "base_station", 0), Node("b", "base_station", 1),
             Node("c", "base_station", 1))
    links = (Link("b", "c", "G2G", 0.98, (500.0, 500.0)),)
    inst = Instance(nodes, links, (Pair("a", "b", 0.9, (1.0, 1.0)),), (), 2, 20.0)
    sol = routing.solve_milp(inst)
    assert sol.objective == 0.0
    assert [e["reason"] for e in sol.no_path] == ["disconnected", "disconnected"]
    assert routing.solve_benders(inst).no_path == sol.no_path


def test_unreachable_threshold_is_reported():
    inst = routing.generate_instance(0, n_slots=2, fidelity_threshold=1.0)
    cands = routing.build_candidates(inst)
    assert cands.no_path and all(e["reason"] == "threshold unreachable" for e in cands.no_path)
    assert cands.dropped and all("cannot be reached" in d["reason"] for d in cands.dropped)
    assert routing.solve_milp(inst).objective == 0.0


@pytest.mark.parametrize("kw,match", [
    (dict(n_slots=0), "n_slots"),
    (dict(storage_capacity=-1.0), "storage_capacity"),
    (dict(free_space_capacity=(-5, 10)), "free_space_capacity"),
    (dict(n_pairs=7), "n_pairs"),
    (dict(link_fidelity=(0.1, 0.9)), "link_fidelity"),
    (dict(protocol="magic"), "protocol"),
    (dict(bogus=1), "bogus"),
    # extreme values crashed deep inside (GLOP status 4, datetime overflow) or ran > 11 min
    (dict(storage_capacity=1e300), r"storage_capacity .*\[0, 1e\+07\]"),
    (dict(storage_capacity=1e9), r"storage_capacity .*\[0, 1e\+07\]"),
    (dict(weight=1e300), r"weight .*\[0\.0001, 1e\+06\]"),
    (dict(start_time_s=1e300), r"start_time_s .*1900-2049"),
    (dict(slot_duration=1e300), r"slot_duration .*\(0, 86400\]"),
    (dict(n_slots=10**8), r"n_slots .*\[1, 10000\]"),
    (dict(n_satellites=10**5), r"n_satellites .*\[0, 1000\]"),
    # a negative walker_planes was reported as walker_phasing with an empty range [0, -2]
    (dict(walker_planes=-1), r"^walker_planes = -1 .*integer >= 0"),
    (dict(max_real_paths=0), r"max_real_paths = 0 .*\[1, 1000\]"),  # PS-EGR fell below SOS
    # 7.6e14 pairs per slot gave SCIP "unresolved numerical troubles" inside Benders
    (dict(link_model="seed", ground_capacity=(1.0, 1e15)),
     r"ground_capacity .*hi <= 1e\+12"),
    (dict(link_model="seed", free_space_capacity=(1.0, float("nan"))), "free_space_capacity"),
    # the wrong kind: these failed in a comparison or an unpacking, naming no field
    (dict(storage_capacity="big"), r"^storage_capacity = 'big' .*a real number"),
    (dict(slot_duration=None), r"^slot_duration = None .*a real number"),
    (dict(weight=True), r"^weight = True .*a real number"),
    (dict(free_space_capacity=(1.0,)), r"^free_space_capacity = \(1\.0,\) .*two real"),
    (dict(ground_capacity="1,2"), r"^ground_capacity = '1,2' .*two real numbers"),
    # a two-character string was read as a range: "12" -> (1.0, 2.0)
    (dict(link_model="seed", ground_capacity="12"), r"^ground_capacity = '12' .*two real"),
    (dict(cities=5), r"^cities = 5 .*\(name, lat_deg, lon_deg\) entries"),
    (dict(cities=[("a", 1.0, "x"), ("b", 2.0, 3.0)]), r"^cities = .*\(name, lat_deg, lon_deg"),
])
def test_generator_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        routing.generate_instance(0, **kw)


def test_instance_bad_input():
    inst = routing.generate_instance(0, n_slots=2)
    lk = inst.links[0]
    with pytest.raises(ValueError, match="capacity"):
        Link(lk.u, lk.v, lk.kind, lk.fidelity, (-3.0, 10.0))
    with pytest.raises(ValueError, match=r"capacity\[1\] = 1000000000000000.0 .*\[0, 1e\+12\]"):
        Link(lk.u, lk.v, lk.kind, lk.fidelity, (3.0, 1e15))
    with pytest.raises(ValueError, match=r"fidelities\[1\]"):  # null only where absent
        Link(lk.u, lk.v, lk.kind, lk.fidelity, (3.0, 10.0), (0.9, None))
    with pytest.raises(ValueError, match=r"fidelities\[0\]"):
        Link(lk.u, lk.v, lk.kind, lk.fidelity, (3.0, None), (0.2, None))
    with pytest.raises(ValueError, match="fidelities"):
        Link(lk.u, lk.v, lk.kind, lk.fidelity, (3.0, 10.0), (0.9,))
    for tau in (True, 0, -1.0, float("nan"), "5"):  # True was a 1 s lifetime
        with pytest.raises(ValueError, match="memory_time"):
            Node("m", "base_station", 0, 10.0, tau)
    # a number or a string where one entry per slot belongs (a TypeError naming nothing, or
    # a string iterated character by character)
    with pytest.raises(ValueError, match=r"capacity = 5\.0 .*one capacity per slot"):
        Link(lk.u, lk.v, lk.kind, lk.fidelity, 5.0)
    with pytest.raises(ValueError, match=r"capacity = 'xy' .*one capacity per slot"):
        Link(lk.u, lk.v, lk.kind, lk.fidelity, "xy")
    with pytest.raises(ValueError, match=r"fidelities = 0\.9 .*one fidelity per slot"):
        Link(lk.u, lk.v, lk.kind, lk.fidelity, (3.0, 10.0), 0.9)
    with pytest.raises(ValueError, match=r"weight = 1\.0 .*one weight per slot"):
        Pair("src0", "dst0", 0.9, 1.0)
    d = json.loads(json.dumps(inst.to_dict()))
    d["links"][0]["capacity"] = 5.0
    with pytest.raises(ValueError, match=r"capacity = 5\.0 .*one capacity per slot"):
        routing.Instance.from_dict(d)
    per_slot = Link(lk.u, lk.v, lk.kind, 0.8, (3.0, None, 4.0), (0.8, None, 0.95))
    assert [per_slot.fidelity_at(t) for t in (0, 2)] == [0.8, 0.95]
    with pytest.raises(ValueError, match="n_slots"):
        replace(inst, n_slots=0)
    with pytest.raises(ValueError, match="endpoint"):
        replace(inst, pairs=(Pair("src0", "nowhere", 0.9, (1.0, 1.0)),))
    with pytest.raises(ValueError, match="storage"):
        routing.Node("m", "base_station", 0, -10.0)
    with pytest.raises(ValueError, match="storage capacity"):
        inst.with_storage_capacity(-1)
    # the caps of the generator hold for hand-built instances too
    with pytest.raises(ValueError, match=r"storage .*\[0, 1e\+07\]"):
        routing.Node("m", "base_station", 0, 1e300)
    with pytest.raises(ValueError, match=r"storage capacity .*\[0, 1e\+07\]"):
        inst.with_storage_capacity(1e9)
    with pytest.raises(ValueError, match=r"weight\[0\] .*0 or a weight in \[0.0001, 1e\+06\]"):
        Pair("src0", "dst0", 0.9, (1e300, 1.0))
    with pytest.raises(ValueError, match=r"slot_duration .*\(0, 86400\]"):
        replace(inst, slot_duration=1e300)
    with pytest.raises(ValueError, match=r"max_real_paths .*\[1, 1000\]"):
        inst.with_options(max_real_paths=0)
    assert inst.with_options(max_storage_paths=0, max_virtual_paths=0).options.max_real_paths
    assert inst.with_storage_capacity(1e7).storage_capacity(inst.storage_pairs[0][0]) == 1e7


def _set(path, value):
    """An edit of an instance file's JSON: ``path`` a key/index chain, ``value`` what to put."""
    def edit(d):
        *head, last = path
        for k in head:
            d = d[k]
        d[last] = value(d) if callable(value) else value
    return edit


@pytest.mark.parametrize("edit,match", [
    (_set(("nodes", 0, "name"), ""), r"node\.name = '' is invalid; accepted: a non-empty string"),
    (_set(("nodes", 0, "kind"), "tower"), r"node 'src0' kind = 'tower' .*base_station"),
    (_set(("nodes", 4, "storage"), True), r"node 'src4' storage = True .*\[0, 1e\+07\]"),
    (_set(("nodes", 1, "name"), "src0"), r"nodes = \['src0', 'src0', .*unique node names"),
    (_set(("links", 0, "v"), "src0"), r"link \(src0, src0\) = .*two distinct nodes"),
    (_set(("links", 0, "kind"), "X2Y"), r"link \(src0, src1\) kind = 'X2Y'"),
    (_set(("links", 0, "fidelity"), 0.25), r"link \(src0, src1\) fidelity = 0\.25 .*\(0\.25, 1\]"),
    (_set(("links", 0, "fidelity"), True), r"link \(src0, src1\) fidelity = True"),
    (_set(("links", 0, "capacity"), [True, 3.0]), r"link \(src0, src1\) capacity\[0\] = True"),
    (_set(("links", 0, "fidelities"), [True, 0.9]), r"link \(src0, src1\) fidelities\[0\] = True"),
    (_set(("links", 0, "u"), "nowhere"), r"link \(nowhere, src1\) endpoint = 'nowhere' .*a node "
                                         r"name of the instance"),
    (_set(("links",), lambda d: [*d["links"], d["links"][0]]),
     r"links = \('src0', 'src1'\) .*at most one link per node pair"),
    (_set(("pairs",), []), r"pairs = \[\] .*at least one user pair"),
    (_set(("pairs", 0, "dst"), "src0"), r"pair = \('src0', 'src0'\) .*two distinct base stations"),
    (_set(("pairs", 0, "threshold"), True), r"pair \(src0, dst0\) threshold = True"),
    (_set(("pairs", 0, "threshold"), 1.5), r"pair \(src0, dst0\) threshold = 1\.5 .*\[0\.25, 1\]"),
    (_set(("pairs", 0, "weight"), [1.0, False]), r"pair \(src0, dst0\) weight\[1\] = False"),
    (_set(("pairs", 0, "weight"), [1.0]), r"pair \(src0, dst0\) weight = \[1\.0\] .*n_slots = 2"),
    (_set(("pairs", 0, "dst"), "sat0"), r"pair \(src0, sat0\) endpoint sat0 kind = 'satellite' "
                                        r".*base_station"),
    (_set(("storage_pairs", 0), ["src4", "src4"]), r"storage_pairs entry = .*two distinct"),
    (_set(("storage_pairs", 0), ["src4", "nowhere"]), r"storage pair \('src4', 'nowhere'\) "
                                                      r"node = 'nowhere'"),
    (_set(("storage_pairs", 0), ["src4", "src0"]), r"storage pair \('src4', 'src0'\) node src0 "
                                                   r"storage = 0\.0 .*storage > 0"),
    (_set(("slot_duration",), True), r"slot_duration = True"),
    (_set(("schema_version",), 99), r"schema_version = 99 is invalid; accepted: 1"),
])
def test_a_hand_edited_instance_file_is_refused_naming_the_field(tmp_path, edit, match):
    """Each check of `routing.Instance` and its parts, through the file a user edits; a JSON
    ``true`` or ``false`` where a number belongs is refused (it was read as 1 or 0)."""
    d = json.loads(json.dumps(routing.generate_instance(0, n_slots=2).to_dict()))
    edit(d)
    path = tmp_path / "net.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=match):
        routing.load_instance(path)


def test_numpy_numbers_in_a_node_are_stored_as_floats(tmp_path):
    inst = routing.generate_instance(0, n_slots=2)
    nodes = tuple(replace(n, storage=np.float32(700.0)) if n.storage > 0 else n
                  for n in inst.nodes)
    edited = replace(inst, nodes=nodes)
    assert all(type(n.storage) is float for n in edited.nodes)
    edited.save(tmp_path / "net.json")  # json.dumps refused a float32 before
    assert routing.load_instance(tmp_path / "net.json").storage_capacity("src4") == 700.0
    with pytest.raises(ValueError, match=r"storage capacity = True"):
        inst.with_storage_capacity(True)


def test_malformed_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        routing.load_instance(bad)
    d = routing.generate_instance(0, n_slots=2).to_dict()
    del d["links"]
    bad.write_text(json.dumps(d))
    with pytest.raises(ValueError, match="links"):
        routing.load_instance(bad)
    d = routing.generate_instance(0, n_slots=2).to_dict()
    d["links"][0]["capacity"] = [1.0]  # wrong length
    d["links"][0]["fidelities"] = None
    bad.write_text(json.dumps(d))
    with pytest.raises(ValueError, match="n_slots"):
        routing.load_instance(bad)
    d["links"][0]["capacity"] = [-1.0, 2.0]
    bad.write_text(json.dumps(d))
    with pytest.raises(ValueError, match="capacity"):
        routing.load_instance(bad)
    gml = tmp_path / "bad.graphml"
    gml.write_text("<graphml><oops")
    with pytest.raises(ValueError, match="GraphML"):
        routing.from_graphml(gml, pairs=[("a", "b")])


def test_storage_capacity_sweep_is_consistent():
    # fig5 marks storage with B = 1 and then sets each B_m: the same instance as generating it
    for cap in (0.0, 700.0, 1500.0):
        swept = routing.generate_instance(4, storage_capacity=1.0).with_storage_capacity(cap)
        direct = routing.generate_instance(4, storage_capacity=cap)
        assert swept == direct


def test_storage_removed_cannot_be_set_again_silently():
    # capacity 0 drops every store; a later positive capacity would find none and return an
    # instance without storage, so it is refused by name
    inst = routing.generate_instance(4, storage_capacity=1.0)
    bare = inst.with_storage_capacity(0.0)
    assert bare.storage_pairs == () and all(n.storage == 0 for n in bare.nodes)
    assert bare.with_storage_capacity(0.0) == bare
    with pytest.raises(ValueError, match=r"storage capacity = 5\.0 .*no storage node"):
        bare.with_storage_capacity(5.0)
    assert inst.with_storage_capacity(5.0).storage_pairs == inst.storage_pairs


@pytest.mark.parametrize("name,bad,good,accepted", [
    ("fidelity_threshold", 0.2499, 0.25, "a fidelity in [0.25, 1]"),
    ("hap_altitude_km", 100.0, 99.9, "an altitude in (0, 100) km"),
    ("fiber_route_factor", 0.999, 1.0, "a finite factor >= 1"),
    ("city_radius_km", 500.1, 500.0, "a radius in (0, 500] km"),
])
def test_generator_bound_rejects_just_past_and_accepts_on_it(name, bad, good, accepted):
    """Mutation sweep: each of these bounds could be loosened with every other test passing."""
    import re

    from routing.topology import GeneratorConfig

    with pytest.raises(ValueError, match=rf"^{name} = {re.escape(repr(bad))} is invalid; "
                                         rf"accepted: {re.escape(accepted)}"):
        GeneratorConfig(**{name: bad})
    GeneratorConfig(**{name: good})


def test_generator_rejects_an_infinite_fiber_route_factor():
    from routing.topology import GeneratorConfig

    with pytest.raises(ValueError, match=r"^fiber_route_factor = inf is invalid; accepted"):
        GeneratorConfig(fiber_route_factor=float("inf"))


def test_the_smallest_weight_still_scales_the_optimum_exactly():
    """Scaling every weight by w scales the optimum by w with the same paths and rates (the
    objective is linear in the weights, the constraints do not hold them). At MIN_WEIGHT the
    MILP and Benders still find w times the unit-weight optimum; below it the coefficients
    sank into the solvers' tolerances (at w = 1e-8 the MILP's "optimal" was 15 % low,
    Benders' 90 %), so nonzero weights under 1e-4 are refused by name; 0 stays allowed."""
    from routing.instance import MIN_WEIGHT

    one = routing.solve_milp(routing.generate_instance(0, n_slots=4))
    tiny = routing.generate_instance(0, n_slots=4, weight=MIN_WEIGHT)
    for sol in (routing.solve_milp(tiny), routing.solve_benders(tiny)):
        assert sol.status == "optimal"
        assert sol.objective == pytest.approx(MIN_WEIGHT * one.objective, rel=1e-7)
    with pytest.raises(ValueError, match=r"^weight = 5e-05 is invalid; accepted: 0 or a "
                                         r"weight in \[0\.0001, 1e\+06\]"):
        routing.generate_instance(0, weight=5e-5)
    with pytest.raises(ValueError, match=r"weight\[1\] = 1e-09 is invalid"):
        Pair("src0", "dst0", 0.9, (1.0, 1e-9))
    assert routing.generate_instance(0, n_slots=2, weight=0.0).pairs[0].weight == (0.0, 0.0)
