"""Circular-orbit passes: period, pass duration, symmetry, agreement with the 2-D geometry."""

import dataclasses
import datetime
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsense import links as L
from qsense import orbits as O

R = L.EARTH_RADIUS_KM


def test_geostationary_period_is_a_sidereal_day():
    # geostationary orbit radius 42164.17 km (altitude quoted from the equatorial radius)
    assert float(O.orbital_period_s(42164.17 - R)) == pytest.approx(86164.09, rel=1e-5)


def test_culmination_matches_static_geometry():
    link = L.SatelliteLink()
    p = O.pass_profile(link, 1000.0, times_s=np.array([0.0]))
    assert float(p.slant_a_km[0]) == pytest.approx(float(L.slant_range_km(400.0, 500.0)))
    assert float(p.elevation_b_deg[0]) == pytest.approx(float(L.elevation_deg(400.0, 500.0)))
    st = L.dual_downlink(link, 1000.0)
    assert float(p.rate_hz[0]) == pytest.approx(float(st.rate_hz), rel=1e-12)
    assert float(p.fidelity[0]) == pytest.approx(float(st.fidelity), rel=1e-12)


@pytest.mark.parametrize("track,offset", [(90.0, 0.0), (30.0, 200.0), (75.0, -400.0)])
def test_look_angles_match_central_angle_formula(track, offset):
    """Independent path: central angle between sub-satellite point and station, then the
    law-of-cosines slant range and elevation of `qsense.links`."""
    h, sep = 500.0, 1200.0
    t = np.linspace(-400.0, 400.0, 9)
    p = O.pass_profile(L.SatelliteLink(altitude_km=h), sep, times_s=t, track_angle_deg=track,
                       cross_offset_km=offset)
    sat = np.asarray(O.satellite_position_km(h, t, track, offset))
    np.testing.assert_allclose(np.linalg.norm(sat, axis=-1), R + h, rtol=1e-13)
    phi = sep / (2 * R)
    for unit, slant, el in ((np.array([np.cos(phi), -np.sin(phi), 0]), p.slant_a_km,
                             p.elevation_a_deg),
                            (np.array([np.cos(phi), np.sin(phi), 0]), p.slant_b_km,
                             p.elevation_b_deg)):
        c = np.arccos(np.clip(sat @ unit / (R + h), -1, 1))
        np.testing.assert_allclose(np.asarray(slant), np.asarray(L.slant_range_km(h, R * c)),
                                   rtol=1e-10)
        np.testing.assert_allclose(np.asarray(el), np.asarray(L.elevation_deg(h, R * c)),
                                   atol=1e-8)


@pytest.mark.parametrize("h", [400.0, 20000.0])
def test_single_site_pass_duration_closed_form(h):
    """Stations coincide, 0 deg mask, overhead pass: visible while the central angle is
    below arccos(R / (R + h)), i.e. for 2 arccos(R/(R+h)) / omega. At MEO (20 000 km) that is
    42 % of the orbit: the default grid (+- a quarter orbit) must hold all of it."""
    link = L.SatelliteLink(altitude_km=h, min_elevation_deg=0.0, excess_loss_db_sec3=0.0,
                           zenith_transmittance=1.0)  # geometry only: no underflow at 0 deg
    s = O.pass_average(link, 0.0, n_times=20001)
    omega = 2 * np.pi / float(O.orbital_period_s(h))
    want = 2 * np.arccos(R / (R + h)) / omega
    assert float(s.window_s) == pytest.approx(want, rel=1e-3)


def test_symmetric_pass_and_averages():
    link = L.SatelliteLink()
    p = O.pass_profile(link, 800.0, n_times=801)
    np.testing.assert_allclose(np.asarray(p.elevation_a_deg), np.asarray(p.elevation_b_deg),
                               atol=1e-9)
    np.testing.assert_allclose(np.asarray(p.rate_hz), np.asarray(p.rate_hz)[::-1], rtol=1e-9)
    s = O.summarize_pass(p)
    assert 0 < float(s.mean_rate_hz) < float(s.peak_rate_hz)
    assert float(s.peak_rate_hz) == pytest.approx(float(L.dual_downlink(link, 800.0).rate_hz))
    assert float(s.mean_fidelity) <= float(np.max(np.asarray(p.fidelity)))
    vis = np.asarray(p.visible)
    assert np.all(np.asarray(p.rate_hz)[~vis] == 0)
    assert np.all(np.asarray(p.elevation_a_deg)[vis] >= link.min_elevation_deg)


def test_invisible_pair_gives_zero_pass():
    s = O.pass_average(L.SatelliteLink(), 6000.0)
    assert float(s.window_s) == 0 and float(s.pairs) == 0 and float(s.mean_rate_hz) == 0
    assert float(s.mean_fidelity) == 0.25


def test_pass_gradient_wrt_aperture():
    base = L.SatelliteLink()

    def pairs(a):
        return O.pass_average(dataclasses.replace(base, rx_aperture_m=a), 800.0,
                              n_times=201).pairs

    g = float(jax.grad(pairs)(1.2))
    fd = (float(pairs(1.2 + 1e-5)) - float(pairs(1.2 - 1e-5))) / 2e-5
    assert g == pytest.approx(fd, rel=1e-6) and g > 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="separation_km"):
        O.pass_profile(L.SatelliteLink(), -1.0)
    with pytest.raises(ValueError, match="altitude_km"):
        O.orbital_period_s(20.0)
    with pytest.raises(ValueError, match="min_elevation_deg"):
        O.pass_profile(L.SatelliteLink(min_elevation_deg=120.0), 100.0)
    # ground distances beyond half the circumference wrapped round the globe silently
    with pytest.raises(ValueError, match=r"separation_km.*\[0, pi R"):
        O.pass_profile(L.SatelliteLink(), 45000.0)
    for off in (float("nan"), 30000.0):
        with pytest.raises(ValueError, match=r"cross_offset_km.*pi R"):
            O.pass_profile(L.SatelliteLink(), 100.0, cross_offset_km=off)


# ----------------------------------------------------------------------------- real passes


from qsense import ephemeris as E  # noqa: E402
from tests.reference import links_ephemeris_ref as eref  # noqa: E402

DELINGHA = (37.378, 97.729, 3.153)


def test_visible_time_and_passes_match_skyfield_events():
    """Station A = B (one site), no night constraint: the time both 'see' the satellite above
    10 deg equals skyfield's rise->set time (find_events), to one time step per pass."""
    orbit = O.circular_orbit("sso", 500.0)
    link = L.SatelliteLink(altitude_km=500.0, min_elevation_deg=10.0)
    days, step = 2.0, 10.0
    tl = O.link_timeline(link, orbit, DELINGHA, [DELINGHA], orbit.epoch, days * 86400, step,
                         night_sun_altitude_deg=None)
    st = O.pass_statistics(tl)
    want_s, rises = eref.skyfield_visible_seconds(orbit.satrec(), *DELINGHA, orbit.epoch,
                                                  days * 86400, 10.0)
    assert rises >= 4
    got_s = float(st.duty_cycle[0]) * days * 86400
    assert abs(got_s - want_s) <= step * (rises + 1)
    assert abs(float(st.passes_per_day[0]) * days - rises) <= 1


def test_night_mask_matches_skyfield_sun():
    orbit = O.circular_orbit("sso", 400.0)
    tl = O.link_timeline(L.SatelliteLink(), orbit, DELINGHA, [(26.695, 100.03, 3.2)],
                         orbit.epoch, 86400.0, 30.0, night_sun_altitude_deg=-12.0)
    sa = eref.skyfield_sun_elevation(DELINGHA[0], DELINGHA[1], orbit.epoch, tl.times_s)
    sb = eref.skyfield_sun_elevation(26.695, 100.03, orbit.epoch, tl.times_s)
    want = (sa < -12.0) & (sb < -12.0)
    clear = (np.abs(sa + 12) > 0.05) & (np.abs(sb + 12) > 0.05)
    np.testing.assert_array_equal(tl.night[0][clear], want[clear])
    assert want.any() and not want.all()
    # usable implies night and both above the mask; the satellite is up in daylight too
    assert np.any(tl.up & ~tl.night)
    assert np.all(~tl.usable | (tl.night & tl.up))
    assert np.all(tl.rate_hz[~tl.usable] == 0)


def test_pass_statistics_on_a_hand_built_timeline():
    """Two windows of 3 and 2 samples (dt = 10 s) over one day; rates 2 Hz, then 6 and 2 Hz
    at fidelities 0.8 and 0.6 (pair-weighted: 0.75, not the plain mean 0.7)."""
    t = np.arange(0.0, 86400.0, 10.0)
    usable = np.zeros((1, t.size), bool)
    usable[0, 100:103] = True
    usable[0, 5000:5002] = True
    rate = np.where(usable, 0.0, 0.0)
    rate[0, 100:103] = 2.0
    rate[0, 5000:5002] = 6.0, 2.0
    fid = np.where(usable, 0.9, 0.25)
    fid[0, 5000:5002] = 0.8, 0.6
    z = np.zeros(t.size)
    el_a, el_b = (np.sin(t / 997.0) ** 2 * 90 for _ in range(2))  # any non-constant angles
    el_b = el_b[::-1].copy()
    tl = O.Timeline(t, el_a, el_b[None], z, z[None], usable, usable, usable, rate, fid)
    st = O.pass_statistics(tl, clear_sky_probability=(0.5, 0.8))
    pairs = 3 * 10 * 2.0 + 2 * 10 * 4.0
    assert float(st.passes_per_day[0]) == pytest.approx(2.0)
    assert float(st.duty_cycle[0]) == pytest.approx(50.0 / 86400.0)
    assert float(st.pairs_per_day[0]) == pytest.approx(pairs)
    assert float(st.rate_pass_hz[0]) == pytest.approx(pairs / 50.0)
    assert float(st.rate_day_hz[0]) == pytest.approx(0.4 * pairs / 86400.0)
    assert float(st.fidelity[0]) == pytest.approx((60 * 0.9 + 60 * 0.8 + 20 * 0.6) / pairs)
    assert float(st.mean_pass_s[0]) == pytest.approx(25.0)
    ps = O.passes(tl)
    assert [p["duration_s"] for p in ps] == [30.0, 20.0]
    assert [(p["start_s"], p["end_s"]) for p in ps] == [(1000.0, 1030.0), (50000.0, 50020.0)]
    assert [p["pairs"] for p in ps] == pytest.approx([60.0, 80.0])
    assert [p["mean_rate_hz"] for p in ps] == pytest.approx([2.0, 4.0])
    assert [p["fidelity"] for p in ps] == pytest.approx([0.9, 0.75])
    for p, sl in zip(ps, (slice(100, 103), slice(5000, 5002)), strict=True):
        assert p["max_elevation_a_deg"] == max(el_a[sl])  # over the window's samples only
        assert p["max_elevation_b_deg"] == max(el_b[sl])


def test_windows_open_at_either_end_of_the_timeline_count():
    """A window already open at the first sample and one still open at the last are passes
    too: 2 per day, 30 s and 20 s (dt = 10 s), the last ending at the timeline's end."""
    t = np.arange(0.0, 86400.0, 10.0)
    usable = np.zeros((1, t.size), bool)
    usable[0, :3] = usable[0, -2:] = True
    rate = np.where(usable, 1.0, 0.0)
    fid = np.where(usable, 0.9, 0.25)
    z = np.zeros(t.size)
    tl = O.Timeline(t, z + 30.0, z[None] + 30.0, z, z[None], usable, usable, usable, rate, fid)
    st = O.pass_statistics(tl)
    assert float(st.passes_per_day[0]) == pytest.approx(2.0)
    assert float(st.mean_pass_s[0]) == pytest.approx(25.0)
    assert [(p["start_s"], p["end_s"]) for p in O.passes(tl)] == [(0.0, 30.0),
                                                                   (86380.0, 86400.0)]


def test_sun_synchronous_inclination_gives_a_year_long_node_cycle():
    """The inclination solves the textbook first-order relation on the elements' axis
    (``-3/2 J2 (R/a)^2 n cos i`` = 360 deg per tropical year, `j2_secular_rates`, itself checked
    against SGP4 in test_ephemeris.py); both propagators then drift the node within 0.5 % of
    the Sun: SGP4 (its own ``nodedot``, with J2^2 and J4 terms and its Brouwer axis; 0.15-0.18 %
    slow here) and ``"kepler_j2"`` (read from its positions after 10 days; 0.14-0.16 % fast)."""
    sun = 2 * np.pi / (365.2422 * 86400.0)
    for h in (400.0, 500.0, 800.0):
        inc = O.sun_synchronous_inclination_deg(h)
        first = E.j2_secular_rates(E.WGS84_A_KM + h, 0.0, np.radians(inc))[0]
        assert float(first) == pytest.approx(sun, rel=1e-9)
        sat = E.KeplerElements.circular(h, inc, 0.0, 0.0).satrec()
        assert sat.nodedot / 60.0 == pytest.approx(sun, rel=5e-3)
        # two satellites of the same plane, 90 deg apart, at the same instant: their cross
        # product is the orbit normal
        pair = [E.KeplerElements.circular(h, inc, 0.0, u) for u in (0.0, 90.0)]
        r = E._kepler_eci(pair, np.full((2, 1), 10 * 86400.0), j2=True)[:, 0]
        nrm = np.cross(r[0], r[1])
        raan = np.arctan2(nrm[0], -nrm[1])
        assert raan == pytest.approx(10 * 86400.0 * sun, rel=5e-3)
    assert O.sun_synchronous_inclination_deg(500.0) == pytest.approx(97.40, abs=0.01)


def test_highest_sun_synchronous_orbit_is_retrograde_equatorial():
    hmax = O.max_sun_synchronous_altitude_km()
    assert hmax == pytest.approx(5974.36, abs=0.01)
    assert O.sun_synchronous_inclination_deg(hmax) == pytest.approx(180.0, abs=1e-3)
    assert O.sun_synchronous_inclination_deg(hmax - 1.0) < 180.0
    with pytest.raises(ValueError, match=r"altitude_km.*sun-synchronous orbit: \[100, 5974\.3\]"):
        O.sun_synchronous_inclination_deg(hmax + 0.01)


def test_destination_and_distance_round_trip():
    lat, lon = O.destination(37.0, 97.0, 169.0, np.array([10.0, 1200.0, 5000.0]))
    d, b = O.ground_distance_km(37.0, 97.0, lat, lon)
    np.testing.assert_allclose(d, [10.0, 1200.0, 5000.0], rtol=1e-10)
    np.testing.assert_allclose(b, 169.0, atol=1e-8)


def test_real_pass_rate_matches_link_model_at_each_sample():
    """Timeline rates come from the link model at the sampled geometry."""
    orbit = O.circular_orbit("sso", 400.0)
    link = L.SatelliteLink()
    tl = O.link_timeline(link, orbit, DELINGHA, [(26.695, 100.03, 3.2)], orbit.epoch,
                         86400.0, 30.0, night_sun_altitude_deg=None)
    i = np.nonzero(tl.usable[0])[0]
    assert i.size > 0
    pos = E.satellite_ecef(orbit, orbit.epoch, tl.times_s[i])[0]
    ea, _, da = E.look_angles(*DELINGHA, pos)
    eb, _, db = E.look_angles(26.695, 100.03, 3.2, pos)
    st = L.pair_statistics(link, L.downlink_efficiency(link, da, ea),
                           L.downlink_efficiency(link, db, eb))
    np.testing.assert_allclose(tl.rate_hz[0, i], np.asarray(st.rate_hz), rtol=1e-12)


def test_bad_timeline_inputs_name_the_field():
    orbit = O.circular_orbit("sso", 400.0)
    with pytest.raises(ValueError, match="step_s"):
        O.link_timeline(L.SatelliteLink(), orbit, DELINGHA, [DELINGHA], orbit.epoch, 100.0, 0.0)
    with pytest.raises(ValueError, match="orbit"):
        O.circular_orbit("geo", 400.0)
    with pytest.raises(ValueError, match="clear_sky_probability"):
        O.pass_statistics(O.link_timeline(L.SatelliteLink(), orbit, DELINGHA, [DELINGHA],
                                          orbit.epoch, 600.0, 60.0), 1.5)


_SITE = "latitude in [-90, 90]"


@pytest.mark.parametrize("name,value,accepted", [
    ("stations_b", [], "a non-empty list of stations"),
    ("stations_b", (), "a non-empty list of stations"),
    ("stations_b", np.zeros((0, 3)), "a non-empty list of stations"),
    ("stations_b", [(10.0, 20.0, 0.0), (1.0, 2.0)], "a non-empty list of stations"),
    ("stations_b", [(95.0, 20.0, 0.0)], _SITE),
    ("stations_b", [(10.0, float("nan"), 0.0)], _SITE),
    ("stations_b", (np.array([10.0, 20.0]), np.array([1.0]), 0.0), "lat (G,), lon (G,)"),
    ("stations_b", "Delingha", "a non-empty list of stations"),
    ("stations_b", None, "a non-empty list of stations"),
    ("station_a", (37.0, 97.0), "one station"),
    ("station_a", [], "one station"),
    ("station_a", (37.0, 97.0, -3.0), "height >= -0.5 km"),
    ("duration_s", 0.0, "a finite duration > 0 s"),
    ("duration_s", float("inf"), "a finite duration > 0 s"),
    ("duration_s", "600", "a finite duration > 0 s"),
    ("duration_s", True, "a finite duration > 0 s"),
    ("duration_s", np.array([600.0, 60.0]), "a finite duration > 0 s"),
    ("step_s", 0.0, "a step in (0, duration_s"),
    ("step_s", 700.0, "a step in (0, duration_s"),
    ("step_s", float("nan"), "a step in (0, duration_s"),
    ("step_s", "60", "a step in (0, duration_s"),
    ("night_sun_altitude_deg", 95.0, "Sun altitude in [-90, 90]"),
    ("night_sun_altitude_deg", "night", "Sun altitude in [-90, 90]"),
    ("start", "2024-01-01", "a datetime"),
    ("satellite", "micius", "KeplerElements or Tle"),
    ("satellite", [], "KeplerElements or Tle"),
    ("link", None, "SatelliteLink"),
    ("method", "euler", "'sgp4', 'kepler' or 'kepler_j2'"),
])
def test_link_timeline_refuses_each_bad_argument_by_name(name, value, accepted):
    """Every argument of the public link_timeline: a ValueError naming it and what it takes
    (``stations_b=[]`` used to fail in an unpacking of the empty columns)."""
    orbit = O.circular_orbit("sso", 400.0)
    kw = dict(link=L.SatelliteLink(), satellite=orbit, station_a=DELINGHA,
              stations_b=[DELINGHA], start=orbit.epoch, duration_s=600.0, step_s=60.0)
    kw[name] = value
    with pytest.raises(ValueError, match=rf"^{name} = .* is invalid; accepted: .*"
                       + re.escape(accepted)):
        O.link_timeline(**kw)


def test_link_timeline_reads_every_stations_b_form_alike():
    """A list of three stations is three stations (not the columns lat, lon, alt), and the
    list, (G, 3) array, column-array and one-station forms give the timelines of the stations
    one by one."""
    orbit = O.circular_orbit("sso", 500.0)
    sites = [(26.695, 100.03, 3.2), (39.9, 116.4, 0.05), (31.2, 121.5, 0.0)]
    kw = dict(start=orbit.epoch, duration_s=6 * 3600.0, step_s=60.0,
              night_sun_altitude_deg=None)

    def tl(stations):
        return O.link_timeline(L.SatelliteLink(), orbit, DELINGHA, stations, **kw)

    one_by_one = np.concatenate([tl(s).elevation_b_deg for s in sites])
    cols = tuple(np.array(c) for c in zip(*sites, strict=True))
    for form in (sites, np.array(sites), cols):
        np.testing.assert_allclose(tl(form).elevation_b_deg, one_by_one, rtol=0, atol=1e-12)
    # a (3, G) array of G != 3 stations (G = 3 reads as (G, 3)), and one station as (3,)
    np.testing.assert_allclose(tl(np.array(sites[:2]).T).elevation_b_deg,
                               one_by_one[:2], rtol=0, atol=1e-12)
    np.testing.assert_allclose(tl(np.array(sites[1])).elevation_b_deg,
                               tl(sites[1]).elevation_b_deg, rtol=0, atol=1e-12)
    two = [sites[0], sites[1]]
    lists = [[s[0] for s in two], [s[1] for s in two], 3.2]  # columns as lists, one height
    want = np.concatenate([tl((s[0], s[1], 3.2)).elevation_b_deg for s in two])
    np.testing.assert_allclose(tl(lists).elevation_b_deg, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("el_deg", [-5.0, 10.0, 45.0, 89.0, 89.9999, 89.999999, 90.0])
def test_look_angles_exact_near_the_zenith_and_differentiable_there(el_deg):
    """Targets built from the local frame (east e, up u) at a known elevation and range:
    elevation to 1e-9 deg at every elevation (asin(up/range) loses ~1e-6 deg near the
    zenith), and a finite derivative through it, with d el / d el_built = 1 below 90 deg."""
    lat = np.radians(31.0)
    u = np.array([np.cos(lat), 0.0, np.sin(lat)])
    e = np.array([0.0, 1.0, 0.0])
    rng = 1234.5

    def target(el):
        a = jnp.radians(el)
        return R * u + rng * (jnp.cos(a) * e + jnp.sin(a) * u)

    d, el = O.look_angles(target(el_deg), jnp.asarray(u))
    assert abs(float(el) - el_deg) < 1e-9
    assert float(d) == pytest.approx(rng, rel=1e-13)
    g = float(jax.grad(lambda x: O.look_angles(target(x), jnp.asarray(u))[1])(el_deg))
    assert np.isfinite(g)
    if el_deg < 90.0:
        assert g == pytest.approx(1.0, rel=1e-6)


def test_pass_gradient_finite_when_the_satellite_crosses_the_zenith():
    """Stations coincide and the grid holds culmination (t = 0: the satellite is overhead):
    d pairs / d altitude is finite and matches central finite differences (it was NaN)."""
    t = jnp.linspace(-200.0, 200.0, 41)

    def pairs(h):
        return O.pass_average(L.SatelliteLink(altitude_km=h), 0.0, times_s=t).pairs

    g = float(jax.grad(pairs)(500.0))
    eps = 1e-3
    fd = (float(pairs(500.0 + eps)) - float(pairs(500.0 - eps))) / (2 * eps)
    assert np.isfinite(g) and g == pytest.approx(fd, rel=1e-6)


def test_the_two_altitude_conventions_are_stated_and_differ_by_7_km():
    """qsense.links measures altitude above a 6371 km sphere, KeplerElements.circular (and
    circular_orbit, fig4's real orbits) above the WGS-84 equatorial radius: the same number is
    a 7.137 km larger orbit there. Physics unchanged; the docstrings say so."""
    el = E.KeplerElements.circular(400.0, 97.0)
    assert el.altitude_km == pytest.approx(400.0)
    offset = el.semi_major_axis_km - (L.EARTH_RADIUS_KM + L.SatelliteLink().altitude_km)
    assert offset == pytest.approx(7.137, abs=1e-9)
    sso = O.circular_orbit("sso", 400.0)
    assert sso.semi_major_axis_km == pytest.approx(E.WGS84_A_KM + 400.0)
    for doc in (L.__doc__, E.KeplerElements.circular.__doc__, O.circular_orbit.__doc__,
                O.__doc__):
        assert "6378.137" in doc and "6371" in doc, doc[:200]


def test_circular_orbit_kinds():
    """``circular_orbit``: ``sso`` at the sun-synchronous inclination of its altitude,
    ``circular`` at the inclination given, ``micius`` the bundled TLE (altitude ignored)."""
    sso, plain = O.circular_orbit("sso", 600.0), O.circular_orbit("circular", 600.0, 42.0)
    for el in (sso, plain):
        assert el.semi_major_axis_km == pytest.approx(6378.137 + 600.0, abs=1e-9)
        assert el.eccentricity == 0.0 and el.epoch == E.bundled_tle("micius").epoch
    assert sso.inclination_deg == O.sun_synchronous_inclination_deg(600.0)
    assert plain.inclination_deg == 42.0 and plain.name == "circular"
    assert O.circular_orbit("micius", 123.0) == E.bundled_tle("micius")
    with pytest.raises(ValueError, match=r"orbit = 'polar' is invalid; accepted: one of "
                                         r"\['sso', 'circular', 'micius'\]"):
        O.circular_orbit("polar", 600.0)


def test_orbit_presets_are_what_their_names_say():
    """``orbit_preset``: micius is the bundled TLE (NORAD 41731); leo400 / leo500 are circular
    and sun-synchronous (the first-order J2 relation solved here by hand: -3/2 J2 (R/a)^2 n cos i
    = 360 deg per tropical year); meo is conf/link/meo.yaml's 10 000 km at 55 deg."""
    import yaml

    tle = O.orbit_preset("micius")
    assert tle.line1.startswith("1 41731") and tle == E.bundled_tle("micius")
    mu, re_km, j2 = 398600.4418, 6378.137, 1.08262668e-3  # WGS-84 / EGM-96, written out here
    sun = 2 * np.pi / (365.2422 * 86400.0)
    for name, h in (("leo400", 400.0), ("leo500", 500.0)):
        el = O.orbit_preset(name)
        a = re_km + h
        inc = np.degrees(np.arccos(-sun / (1.5 * j2 * (re_km / a) ** 2 * np.sqrt(mu / a**3))))
        assert el.semi_major_axis_km == pytest.approx(a, abs=1e-9)
        assert el.eccentricity == 0.0 and el.name == name
        assert el.inclination_deg == pytest.approx(inc, abs=0.005)  # 97.03 / 97.40 rounded
        assert el.epoch == tle.epoch and el.raan_deg == pytest.approx(float(tle.line2[17:25]))
    meo = yaml.safe_load((Path(__file__).resolve().parents[2] / "conf/link/meo.yaml").read_text())
    el = O.orbit_preset("meo", epoch=datetime.datetime(2024, 3, 20, tzinfo=datetime.timezone.utc))
    assert el.semi_major_axis_km == pytest.approx(re_km + meo["altitude_km"], abs=1e-9)
    assert el.inclination_deg == 55.0 and el.epoch.year == 2024
    with pytest.raises(ValueError, match=r"orbit = 'geo' is invalid; accepted: one of "
                                         r"\['micius', 'leo400', 'leo500', 'meo'\]"):
        O.orbit_preset("geo")


@pytest.mark.parametrize("lat, lon, alt", [(48.2, 16.4, 0.2), (-33.9, 151.2, 0.0),
                                           (26.69, 100.03, 3.2), (-89.0, -120.0, 20.0)])
def test_ground_station_ecef_is_the_geodetic_textbook_formula(lat, lon, alt):
    # x = (N + h) cos(lat) cos(lon), y = (N + h) cos(lat) sin(lon), z = (N (1 - e^2) + h) sin(lat)
    a, f = 6378.137, 1 / 298.257223563
    e2 = f * (2 - f)
    p, q = np.radians(lat), np.radians(lon)
    n = a / np.sqrt(1 - e2 * np.sin(p) ** 2)
    want = [(n + alt) * np.cos(p) * np.cos(q), (n + alt) * np.cos(p) * np.sin(q),
            (n * (1 - e2) + alt) * np.sin(p)]
    np.testing.assert_allclose(E.GroundStation("s", lat, lon, alt).ecef, want, atol=1e-9)
