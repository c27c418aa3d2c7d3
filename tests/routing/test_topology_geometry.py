"""Physical instances: geometry, visibility and link capacity/fidelity against independent
computations (tests/reference/routing_geo_ref.py takes nothing from routing or qsense)."""

import datetime as dt
import json

import numpy as np
import pytest

import routing
from tests.reference import routing_geo_ref as ref

EPOCH = dt.datetime(2024, 3, 20, tzinfo=dt.timezone.utc)
# every terminal field the link model reads, set explicitly (the tests do not depend on defaults)
SAT = {"wavelength_m": 810e-9, "tx_waist_m": 0.08, "beam_quality_m2": 1.5,
       "pointing_jitter_rad": 0.5e-6, "tx_efficiency": 0.45, "source_rate_hz": 6.0e6,
       "source_fidelity": 0.91, "coincidence_window_s": 2.0e-9, "detector_efficiency": 0.55,
       "rx_aperture_m": 0.3, "rx_efficiency": 0.3, "background_cps": 100.0,
       "zenith_transmittance": 0.9, "excess_loss_db_sec3": 0.0}
HAP = {**SAT, "tx_waist_m": 0.04, "beam_quality_m2": 1.2, "pointing_jitter_rad": 1.5e-6,
       "rx_aperture_m": 0.35, "rx_efficiency": 0.25, "detector_efficiency": 0.6}
GROUND = {**SAT, "rx_aperture_m": 1.0, "rx_efficiency": 0.1, "detector_efficiency": 0.5,
          "background_cps": 400.0, "zenith_transmittance": 0.75, "excess_loss_db_sec3": 0.04}
TERMINALS = {"satellite_terminal": SAT, "hap_terminal": HAP, "ground_terminal": GROUND}


def _tx(t):
    return dict(w0=t["tx_waist_m"], m2=t["beam_quality_m2"], lam=t["wavelength_m"],
                jitter=t["pointing_jitter_rad"], tx_eff=t["tx_efficiency"],
                src_rate=t["source_rate_hz"], src_fid=t["source_fidelity"],
                tau=t["coincidence_window_s"], det_local=t["detector_efficiency"])


def _rx(t, ground=True):
    out = dict(rx_ap=t["rx_aperture_m"], rx_eff=t["rx_efficiency"],
               det_rx=t["detector_efficiency"], bg=t["background_cps"])
    if ground:
        out.update(t_zen=t["zenith_transmittance"], excess=t["excess_loss_db_sec3"])
    return out


SAT_TX, HAP_TX, GROUND_RX = _tx(SAT), _tx(HAP), _rx(GROUND)


def _write(tmp_path, nodes, fiber=(), pairs=()):
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"nodes": nodes, "fiber": list(fiber), "pairs": list(pairs)}))
    return str(path)


def _link(inst, u, v):
    for lk in inst.links:
        if {lk.u, lk.v} == {u, v}:
            return lk
    return None


def test_hap_links_match_hand_slant_range_and_beam(tmp_path):
    """A station straight under its HAP sees it at 90 deg over exactly the HAP altitude; one
    11 km away at the hand-computed slant and elevation; capacity = δ × the hand pair rate."""
    nodes = [{"name": "hapA", "kind": "hap", "lat": 29.0, "lon": -98.0, "alt_km": 20.0},
             {"name": "a0", "lat": 29.0, "lon": -98.0, "city": 0},
             {"name": "a1", "lat": 29.1, "lon": -98.0, "city": 0},
             {"name": "a2", "lat": 29.05, "lon": -98.1, "city": 0},
             {"name": "b0", "lat": 29.5, "lon": -95.0, "city": 1}]
    fiber = [{"u": "a0", "v": "a1", "length_km": 12.5}, {"u": "a0", "v": "a2"}]
    inst = routing.generate_instance(0, topology=_write(tmp_path, nodes, fiber, [["a0", "b0"]]),
                                     n_satellites=0, n_pairs=1, n_slots=2, **TERMINALS,
                                     fiber_route_factor=1.5,
                                     fiber={"memory_efficiency": 0.8, "detector_efficiency": 0.85,
                                            "bsm_success": 0.5, "attenuation_db_per_km": 0.25,
                                            "speed_km_s": 2.0e5, "repetition_rate_hz": 1.0e6,
                                            "modes": 1.0})
    delta = inst.slot_duration
    hap = ref.wgs84(29.0, -98.0, 20.0)
    for st, lat in (("a0", 29.0), ("a1", 29.1)):
        slant = np.linalg.norm(hap - ref.wgs84(lat, -98.0))
        el = ref.elevation(lat, -98.0, 0.0, hap)
        if st == "a0":
            assert slant == pytest.approx(20.0, abs=1e-9) and el == pytest.approx(90.0, abs=1e-6)
        rate, fid = ref.downlink_pairs(slant, el, mask=15.0, **HAP_TX, **GROUND_RX)
        lk = _link(inst, "hapA", st)
        assert lk.kind == "A2G"
        assert lk.capacity == pytest.approx((delta * rate,) * 2, rel=1e-9)
        assert lk.fidelities == pytest.approx((fid,) * 2, rel=1e-12)
        assert lk.fidelity == pytest.approx(fid, rel=1e-12)
    # the far city is beyond the 15 deg mask (~300 km): no link
    assert _link(inst, "hapA", "b0") is None
    # fiber over the given length: one heralded elementary link (Sangouard 2011):
    # p = p_bsm (η_m η_d)^2 10^(-α L / 10), rate = p / T0, T0 = L / c_f + 1 / f_rep
    lk = _link(inst, "a0", "a1")
    p = 0.5 * (0.8 * 0.85) ** 2 * 10 ** (-0.025 * 12.5)
    assert lk.kind == "G2G"
    assert lk.capacity[0] == pytest.approx(delta * p / (12.5 / 2e5 + 1e-6), rel=1e-9)
    # a fiber without a length: fiber_route_factor x the great circle between the stations'
    # radial projections on the sphere R
    u, v = (x / np.linalg.norm(x) for x in (ref.wgs84(29.0, -98.0), ref.wgs84(29.05, -98.1)))
    length = 1.5 * 6371.0 * np.arctan2(np.linalg.norm(np.cross(u, v)), u @ v)
    p = 0.5 * (0.8 * 0.85) ** 2 * 10 ** (-0.025 * length)
    assert _link(inst, "a0", "a2").capacity[0] == pytest.approx(
        delta * p / (length / 2e5 + 1e-6), rel=1e-9)


def _equator_instance(tmp_path, lon_a, lon_b, **kw):
    nodes = [{"name": "a", "lat": 0.0, "lon": lon_a, "city": 0},
             {"name": "b", "lat": 0.0, "lon": lon_b, "city": 1}]
    return routing.generate_instance(
        0, topology=_write(tmp_path, nodes, pairs=[["a", "b"]]), n_satellites=1, n_pairs=1,
        orbit_inclination_deg=53.0, orbit_altitude_km=550.0, propagator="kepler",
        epoch=EPOCH.isoformat(), align_to_pass=False, start_time_s=0.0, **TERMINALS, **kw)


def test_satellite_visibility_windows_and_capacity_match_a_hand_two_body_orbit(tmp_path):
    """One Walker satellite (RAAN 0, at its ascending node at the epoch), two equatorial
    stations: one under the first pass, one under the next orbit's ascending pass (the Earth
    turned ~24 deg). Per slot: present iff the hand elevation is above the 10 deg mask at every
    sample; capacity = δ × mean hand rate; fidelity = rate-weighted mean."""
    g0 = np.degrees(ref.gmst_rad(EPOCH, 0.0))
    lon_a = (-g0 + 3.0 + 180) % 360 - 180
    lon_b = (lon_a - 24.0 + 180) % 360 - 180
    T, delta, M = 240, 30.0, 3
    inst = _equator_instance(tmp_path, lon_a, lon_b, n_slots=T, slot_duration=delta,
                             samples_per_slot=M)
    times = (np.arange(T)[:, None] + np.linspace(0, 1, M)[None, :]) * delta
    sat = ref.circular_ecef(550.0, 53.0, 0.0, 0.0, EPOCH, times.ravel()).reshape(T, M, 3)
    for st, lon in (("a", lon_a), ("b", lon_b)):
        el = ref.elevation(0.0, lon, 0.0, sat)  # (T, M)
        slant = np.linalg.norm(sat - ref.wgs84(0.0, lon), axis=-1)
        lk = _link(inst, "sat0", st)
        windows = 0
        for t in range(T):
            if np.any(np.abs(el[t] - 10.0) < 1e-6):
                continue  # a sample on the mask edge: either answer is right
            visible = bool(np.all(el[t] >= 10.0))
            assert (lk is not None and lk.present(t)) == visible, (st, t)
            windows += visible and (t == 0 or not np.all(el[t - 1] >= 10.0))
            if visible:
                rf = [ref.downlink_pairs(slant[t, m], el[t, m], mask=10.0, **SAT_TX, **GROUND_RX)
                      for m in range(M)]
                rates = np.array([r for r, _ in rf])
                fids = np.array([f for _, f in rf])
                assert lk.capacity[t] == pytest.approx(delta * rates.mean(), rel=1e-7)
                assert lk.fidelities[t] == pytest.approx((rates * fids).sum() / rates.sum(),
                                                         rel=1e-9)
        assert windows == 1, st  # each station sees exactly one pass in these two hours
        assert lk.fidelity == min(f for f in lk.fidelities if f is not None)
    first = [t for t in range(T) if _link(inst, "sat0", "a").present(t)]
    second = [t for t in range(T) if _link(inst, "sat0", "b").present(t)]
    # the satellite comes back: b's pass starts about one orbit (95.5 min) after a's
    period = 2 * np.pi * np.sqrt((ref.A + 550.0) ** 3 / ref.MU)
    assert abs((second[0] - first[0]) * delta - period) < 8 * 60


def test_long_horizon_satellites_come_back():
    """Default network over 8 hours: satellite links in several separate passes, the last one
    hours after the start (the old toy lost every satellite after slot 16)."""
    inst = routing.generate_instance(0, n_slots=480, slot_duration=60.0)
    sat_on = np.array([any(lk.present(t) for lk in inst.links if lk.kind == "S2G")
                       for t in range(inst.n_slots)])
    starts = np.nonzero(sat_on & ~np.r_[False, sat_on[:-1]])[0]
    assert len(starts) >= 3 and starts[-1] > 240


@pytest.mark.parametrize("max_isl", [6000.0, 3000.0])
def test_aloft_links_exist_only_with_line_of_sight(tmp_path, max_isl):
    """Walker 6/2/1 two-body: an S2S link is present in a slot iff the hand segment clears the
    WGS-84 Earth by the 100 km grazing altitude and stays within ``max_isl_km`` (6000 km: never
    the binding limit at 550 km; 3000 km: it is) at every sample; S2A iff the satellite is
    above the HAP's horizon; S2G iff above the station's 10 deg mask."""
    nodes = [{"name": "h0", "kind": "hap", "lat": 29.4, "lon": -98.5, "alt_km": 20.0},
             {"name": "a", "lat": 29.4, "lon": -98.5, "city": 0},
             {"name": "b", "lat": 29.8, "lon": -95.4, "city": 1}]
    T, delta, M = 60, 60.0, 2
    inst = routing.generate_instance(
        0, topology=_write(tmp_path, nodes, pairs=[["a", "b"]]), n_satellites=6,
        walker_planes=2, walker_phasing=1, n_pairs=1, propagator="kepler",
        epoch=EPOCH.isoformat(), n_slots=T, slot_duration=delta, samples_per_slot=M,
        max_isl_km=max_isl)
    start = inst.geometry["start_time_s"]  # aligned to the first pass over the two cities
    times = start + (np.arange(T)[:, None] + np.linspace(0, 1, M)[None, :]) * delta
    pos = []
    for k in range(2):  # Walker 6/2/1: plane k RAAN 180 k, sat j arg. lat. 120 j + 60 k
        for j in range(3):
            pos.append(ref.circular_ecef(550.0, 53.0, 180.0 * k, 120.0 * j + 60.0 * k, EPOCH,
                                         times.ravel()).reshape(T, M, 3))
    checked = {"S2S": 0, "S2A": 0, "S2G": 0}
    out_of_range = 0  # clear of the Earth, but too far apart
    for t in range(T):
        for i in range(6):
            el_h = ref.elevation(29.4, -98.5, 20.0, pos[i][t])
            el_g = ref.elevation(29.4, -98.5, 0.0, pos[i][t])
            for kind, other, el, mask in (("S2A", "h0", el_h, 0.0), ("S2G", "a", el_g, 10.0)):
                if np.all(np.abs(el - mask) > 1e-6):
                    lk = _link(inst, f"sat{i}", other)
                    assert (lk is not None and lk.present(t)) == bool(np.all(el >= mask))
                    checked[kind] += bool(np.all(el >= mask))
            for j in range(i + 1, 6):
                h = [ref.segment_min_height(pos[i][t, m], pos[j][t, m]) for m in range(M)]
                rng = np.linalg.norm(pos[i][t] - pos[j][t], axis=-1)
                if min(abs(x - 100.0) for x in h) < 0.5 or np.any(np.abs(rng - max_isl) < 1):
                    continue  # within the dense sampling's resolution of the grazing limit
                ok = all(x >= 100.0 for x in h) and bool(np.all(rng <= max_isl))
                out_of_range += all(x >= 100.0 for x in h) and not ok
                lk = _link(inst, f"sat{i}", f"sat{j}")
                assert (lk is not None and lk.present(t)) == ok, (i, j, t)
                checked["S2S"] += ok
    assert all(v > 0 for v in checked.values()), checked  # every rule was exercised
    assert (out_of_range > 0) == (max_isl < 6000.0)
    assert any(lk.kind == "S2S" and not all(lk.present(t) for t in range(T)) for lk in inst.links)


def test_default_instance_is_the_seed_setting_on_a_physical_network():
    inst = routing.generate_instance(0)
    kinds = [n.kind for n in inst.nodes]
    assert kinds.count("satellite") == 2 and kinds.count("hap") == 2
    assert kinds.count("base_station") == 12
    assert inst.n_pairs == 3 and inst.n_slots == 10 and inst.slot_duration == 20.0
    assert {n.storage for n in inst.nodes if n.storage > 0} == {1500.0}
    for p in inst.pairs:
        assert inst.node(p.src).city == 0 and inst.node(p.dst).city == 1
    geo = inst.geometry
    # stations lie within the 25 km city disks (hand geodetic inverse + haversine)
    for n in inst.nodes:
        if n.kind != "base_station":
            continue
        x, y, z = geo["positions"][n.name]
        lat = np.degrees(np.arctan2(z, np.hypot(x, y) * (1 - ref.E2)))
        lon = np.degrees(np.arctan2(y, x))
        c_lat, c_lon = geo["cities"][n.city][1:]
        dphi, dlmb = np.radians(lat - c_lat), np.radians(lon - c_lon)
        hav = (np.sin(dphi / 2) ** 2
               + np.cos(np.radians(lat)) * np.cos(np.radians(c_lat)) * np.sin(dlmb / 2) ** 2)
        assert 2 * 6371.0 * np.arcsin(np.sqrt(hav)) <= 25.0 + 0.1
        assert ref.geodetic_height(np.array([x, y, z])) == pytest.approx(0.0, abs=1e-6)
    for lk in inst.links:
        caps = [c for c in lk.capacity if c is not None]
        assert caps and min(caps) >= 1.0  # present only with at least one pair per slot
        assert lk.fidelity == min(f for f in lk.fidelities if f is not None)
        if lk.kind in ("G2G", "A2G", "A2A"):  # fixed nodes: static links
            assert all(lk.present(t) for t in range(10)) and len(set(caps)) == 1
    # the horizon starts at a pass: both cities see a satellite in most slots
    sat = [t for t in range(10) if any(lk.present(t) for lk in inst.links if lk.kind == "S2G")]
    assert len(sat) >= 8
    assert any(lk.kind == "S2G" and len({c for c in lk.capacity if c}) > 1 for lk in inst.links)
    assert routing.solve_milp(inst).status == "optimal"


def test_seed_link_model_draws_the_seed_ranges_on_the_same_visibility():
    phys = routing.generate_instance(1)
    seed = routing.generate_instance(1, link_model="seed")
    assert [(lk.u, lk.v) for lk in phys.links] == [(lk.u, lk.v) for lk in seed.links]
    for a, b in zip(phys.links, seed.links, strict=True):
        assert [c is None for c in a.capacity] == [c is None for c in b.capacity]
        lo, hi = (400, 1600) if b.kind == "G2G" else (200, 1400)
        assert all(lo <= c <= hi for c in b.capacity if c is not None)
        assert 0.96 <= b.fidelity <= 0.99


def test_seeds_move_stations_not_satellites():
    a, b = routing.generate_instance(0), routing.generate_instance(1)
    assert a.geometry["satellite_positions"] == b.geometry["satellite_positions"]
    assert a.geometry["positions"]["src0"] != b.geometry["positions"]["src0"]
    assert a.geometry["positions"]["hap0"] == b.geometry["positions"]["hap0"]


def test_multi_city_pairs_join_different_cities():
    cities = [["A", 29.4, -98.5], ["B", 29.8, -95.4], ["C", 30.3, -97.7]]
    inst = routing.generate_instance(2, cities=cities, n_base_stations=9, n_pairs=5, n_haps=3,
                                     n_storage_per_city=1, n_slots=2)
    city = {n.name: n.city for n in inst.nodes}
    assert len({(p.src, p.dst) for p in inst.pairs}) == 5
    assert all(city[p.src] != city[p.dst] for p in inst.pairs)
    joined = {frozenset((city[p.src], city[p.dst])) for p in inst.pairs}
    assert inst.storage_pairs and all(frozenset((city[a], city[b])) in joined
                                      for a, b in inst.storage_pairs)
    # K is a prefix: more pairs keep the first ones
    assert routing.generate_instance(2, cities=cities, n_base_stations=9, n_pairs=3, n_haps=3,
                                     n_storage_per_city=1, n_slots=2).pairs == inst.pairs[:3]


def test_haps_beyond_one_per_city_stand_apart_around_the_city():
    """n_haps = 5 over two cities: hap0/hap1 above the city centres, and each further HAP of a
    city half the city radius from its centre, one quarter turn further round (east, then
    south): no two HAPs share a point (a zero-length HAP-HAP link)."""
    inst = routing.generate_instance(0, n_haps=5, n_slots=2)
    pos = {n: np.asarray(inst.geometry["positions"][n]) for n in
           ("hap0", "hap1", "hap2", "hap3", "hap4")}
    half = 25.0 / 2  # GeneratorConfig.city_radius_km / 2
    for h, home in (("hap2", "hap0"), ("hap3", "hap1"), ("hap4", "hap0")):
        # a 12.5 km arc at 20 km altitude: chord = arc (1 + 20/6371) within 1e-5 on a sphere;
        # the bearing is walked on a sphere and the positions are WGS-84 ECEF: 0.5 %
        assert np.linalg.norm(pos[h] - pos[home]) == pytest.approx(half * (1 + 20 / 6371),
                                                                   rel=5e-3)
    # hap2 (east) and hap4 (south) of the same centre: a right angle, sqrt(2) x 12.5 km apart
    assert np.linalg.norm(pos["hap2"] - pos["hap4"]) == pytest.approx(half * 2**0.5, rel=5e-3)


def test_shipped_example_topology_builds_a_valid_instance(tmp_path, monkeypatch):
    from pathlib import Path

    path = Path(routing.__file__).parent / "data" / "example_network.graphml"
    assert routing.EXAMPLE_NETWORK.is_absolute() and routing.EXAMPLE_NETWORK.samefile(path)
    monkeypatch.chdir(tmp_path)  # the README's call works from any working directory
    inst = routing.generate_instance(0, topology=routing.EXAMPLE_NETWORK, n_pairs=2, n_slots=4)
    with pytest.raises(ValueError, match="working directory .*routing.EXAMPLE_NETWORK"):
        routing.generate_instance(0, topology="routing/data/example_network.graphml")
    kinds = {lk.kind for lk in inst.links}
    assert {"G2G", "A2G", "S2G"} <= kinds
    assert routing.solve_milp(inst).status == "optimal"


@pytest.mark.parametrize("kw,match", [
    ({"propagator": "euler"}, "propagator"),
    ({"epoch": "yesterday"}, "epoch"),
    ({"walker_planes": 3}, "walker_planes"),
    ({"satellite_terminal": {"aperture": 1.0}}, "satellite_terminal"),
    ({"cities": [["A", 95.0, 0.0], ["B", 0.0, 0.0]]}, "cities"),
    ({"n_base_stations": 7}, "n_base_stations"),
    ({"link_model": "toy"}, "link_model"),
    ({"topology": "/nonexistent/net.graphml"}, "topology"),
    ({"hap_altitude_km": 150.0}, "hap_altitude_km"),
    # override values: before, -1 and nan were accepted and a list or a string failed deep
    # inside with "unsupported operand type(s) for /"
    ({"satellite_terminal": {"rx_aperture_m": -1.0}},
     r"^satellite_terminal\.rx_aperture_m = -1\.0 .*a finite value > 0"),
    ({"hap_terminal": {"rx_aperture_m": float("nan")}}, r"^hap_terminal\.rx_aperture_m = nan"),
    ({"ground_terminal": {"min_elevation_deg": 95.0}},
     r"^ground_terminal\.min_elevation_deg = 95\.0 .*\[0, 90\]"),
    ({"satellite_terminal": {"rx_aperture_m": [3.0, 4.0]}},
     r"^satellite_terminal\.rx_aperture_m = \[3\.0, 4\.0\] .*a real number"),
    ({"satellite_terminal": {"rx_aperture_m": "1"}}, r"^satellite_terminal\.rx_aperture_m = '1'"),
    ({"fiber": {"attenuation_db_per_km": -0.2}}, r"^fiber\.attenuation_db_per_km = -0\.2"),
    ({"fiber": {"n_repeaters": 2.5}}, r"^fiber\.n_repeaters = 2\.5 .*an integer >= 0"),
])
def test_bad_generator_input_names_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        routing.generate_instance(0, **kw)


def test_fiber_repeaters_from_a_config_float():
    """A config's fiber section is dict[str, float], so n_repeaters arrives as 3.0: read as the
    integer 3 (the same link), where 2.5 is refused above rather than truncated to 2."""
    from routing.link_budget import fiber_link

    three = fiber_link({"n_repeaters": 3.0})
    assert type(three.n_repeaters) is int and three == fiber_link({"n_repeaters": 3})
    routing.GeneratorConfig(fiber={"n_repeaters": 3.0})  # accepted


def test_bad_topology_file_names_the_node(tmp_path):
    path = _write(tmp_path, [{"name": "x", "lat": 10.0}], pairs=[])
    with pytest.raises(ValueError, match="'x'"):
        routing.generate_instance(0, topology=path)


def test_hap_to_hap_link_matches_a_hand_beam_through_an_exponential_atmosphere(tmp_path):
    """A2A over ~300 km at 20 km altitude: slant range, the 6 km scale-height atmosphere
    (trapezoid on geodetic heights, normalised so a vertical ray from the ground keeps
    T_zenith), and the beam/pair model, all by hand."""
    nodes = [{"name": "h0", "kind": "hap", "lat": 29.4, "lon": -98.5, "alt_km": 20.0},
             {"name": "h1", "kind": "hap", "lat": 29.8, "lon": -95.4, "alt_km": 20.0},
             {"name": "a", "lat": 29.4, "lon": -98.5, "city": 0},
             {"name": "b", "lat": 29.8, "lon": -95.4, "city": 1}]
    inst = routing.generate_instance(0, topology=_write(tmp_path, nodes, pairs=[["a", "b"]]),
                                     n_satellites=0, n_pairs=1, n_slots=1, **TERMINALS)
    p0, p1 = ref.wgs84(29.4, -98.5, 20.0), ref.wgs84(29.8, -95.4, 20.0)
    t_path = ref.exp_atmosphere_transmittance(p0, p1, HAP["zenith_transmittance"], 6.0)
    assert 0.5 < t_path < 0.99  # the grazing ray crosses real air: a test that can fail
    rate, fid = ref.aloft_pairs(np.linalg.norm(p1 - p0), t_path, **HAP_TX, **_rx(HAP, False))
    lk = _link(inst, "h0", "h1")
    assert lk.kind == "A2A"
    assert lk.capacity[0] == pytest.approx(inst.slot_duration * rate, rel=1e-6)
    assert lk.fidelity == pytest.approx(fid, rel=1e-9)
    # the same integral along a vertical ray from the ground gives T_zenith
    g = ref.wgs84(29.4, -98.5, 0.0)
    assert ref.exp_atmosphere_transmittance(g, ref.wgs84(29.4, -98.5, 400.0), 0.8, 6.0) == \
        pytest.approx(0.8, rel=1e-6)
    # and routing's own integral too (its quadrature, its altitudes along the ray)
    assert float(routing.link_budget.path_transmittance(g, ref.wgs84(29.4, -98.5, 400.0), 0.8)) == \
        pytest.approx(0.8, rel=1e-6)


def test_sphere_navigation_and_slot_samples_closed_forms():
    """geometry's small helpers against closed forms on the sphere R: along the equator a
    distance d moves the longitude by d / R rad (wrapped into [-180, 180) across the
    antimeridian); the great-circle distance is R x the central angle, beyond 90 deg too;
    a slot's samples are its two ends and evenly spaced points, or its middle alone."""
    from qsense.links import EARTH_RADIUS_KM as R
    from routing.geometry import destination_point, great_circle_km, sample_times

    d = 3.0 * np.pi / 180.0 * R  # 3 deg of arc
    lat, lon = destination_point(0.0, 179.0, 90.0, d)
    assert float(lat) == pytest.approx(0.0, abs=1e-9) and float(lon) == pytest.approx(-178.0)
    lat, lon = destination_point(10.0, 20.0, 0.0, d)  # due north along a meridian
    assert (float(lat), float(lon)) == pytest.approx((13.0, 20.0))
    for deg in (30.0, 120.0, 180.0):
        b = [np.cos(np.radians(deg)), np.sin(np.radians(deg)), 0.0]
        assert float(great_circle_km([2.0, 0.0, 0.0], b)) == pytest.approx(
            R * np.radians(deg), rel=1e-12)
    np.testing.assert_allclose(sample_times(100.0, 3, 60.0, 1), [[130.0], [190.0], [250.0]])
    np.testing.assert_allclose(sample_times(100.0, 2, 60.0, 3),
                               [[100.0, 130.0, 160.0], [160.0, 190.0, 220.0]])


def test_a_ground_link_takes_the_mask_it_is_given():
    """`ground_link_pairs` is zero below the mask passed to it (a ground station's 15 deg
    towards a HAP), not the receiver's own 10 deg, and the mask does not change the rate or
    fidelity above it."""
    from routing.link_budget import ground_link_pairs, terminal

    tx, rx = terminal("hap", HAP), terminal("ground", GROUND)
    assert rx.min_elevation_deg == 10.0
    el, slant = np.array([12.0, 20.0]), np.array([90.0, 60.0])
    r15, f15 = ground_link_pairs(tx, rx, slant, el, 15.0)
    r10, f10 = ground_link_pairs(tx, rx, slant, el, 10.0)
    assert r15[0] == 0.0 and r15[1] > 0.0 and r10[0] > 0.0
    assert (r15[1], f15[1]) == pytest.approx((r10[1], f10[1]), rel=1e-12)
