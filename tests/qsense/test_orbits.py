"""Circular-orbit passes: period, pass duration, symmetry, agreement with the 2-D geometry."""

import dataclasses

import jax
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


def test_single_site_pass_duration_closed_form():
    """Stations coincide, 0 deg mask, overhead pass: visible while the central angle is
    below arccos(R / (R + h)), i.e. for 2 arccos(R/(R+h)) / omega."""
    h = 400.0
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
