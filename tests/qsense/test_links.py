"""Link physics: geometry, beam, Micius anchor, fiber, Werner algebra, repeater chain, gradients."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsense import links as L
from tests.reference import links_ref as ref

R = L.EARTH_RADIUS_KM


# ----------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("h", [400.0, 500.0, 10000.0])
def test_slant_equals_altitude_overhead(h):
    assert float(L.slant_range_km(h, 0.0)) == pytest.approx(h, rel=1e-14)
    assert float(L.elevation_deg(h, 0.0)) == pytest.approx(90.0, abs=1e-6)


@pytest.mark.parametrize("h", [400.0, 500.0, 20000.0])
def test_slant_law_of_cosines_and_vectors(h):
    s = np.linspace(1.0, 3000.0, 13)
    th = s / R
    cos_law = np.sqrt(R**2 + (R + h) ** 2 - 2 * R * (R + h) * np.cos(th))
    np.testing.assert_allclose(np.asarray(L.slant_range_km(h, s)), cos_law, rtol=1e-10)
    vec = np.array([ref.station_satellite(h, x) for x in s])
    np.testing.assert_allclose(np.asarray(L.slant_range_km(h, s)), vec[:, 0], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(L.elevation_deg(h, s)), vec[:, 1], atol=1e-9)


@pytest.mark.parametrize("h", [400.0, 500.0, 10000.0])
@pytest.mark.parametrize("mask", [0.0, 10.0, 30.0])
def test_horizon_distance(h, mask):
    s = float(L.horizon_distance_km(h, mask))
    assert ref.station_satellite(h, s)[1] == pytest.approx(mask, abs=1e-8)
    if mask == 0.0:  # tangent line: cos(theta) = R / (R + h)
        assert s == pytest.approx(R * np.arccos(R / (R + h)), rel=1e-12)
        assert float(L.slant_range_km(h, s)) == pytest.approx(np.sqrt((R + h) ** 2 - R**2))
    assert float(L.max_dual_separation_km(h, mask)) == pytest.approx(2 * s)


def test_elevation_decreases_with_distance_and_goes_negative_beyond_horizon():
    s = np.linspace(0.0, 4000.0, 401)
    el = np.asarray(L.elevation_deg(400.0, s))
    assert np.all(np.diff(el) < 0)
    assert el[0] == pytest.approx(90.0) and el[-1] < 0


# ----------------------------------------------------------------------------- beam


@pytest.mark.parametrize("jitter", [0.0, 0.4e-6, 2e-6])
@pytest.mark.parametrize("slant", [400.0, 1200.0])
def test_collection_matches_quadrature_of_jittered_beam(jitter, slant):
    link = dataclasses.replace(L.SatelliteLink(), pointing_jitter_rad=jitter)
    d = slant * 1e3
    w0, m2, lam = link.tx_waist_m, link.beam_quality_m2, link.wavelength_m
    w = w0 * np.sqrt(1 + (d * m2 * lam / (np.pi * w0**2)) ** 2)  # textbook Gaussian beam
    expect = ref.collected_fraction(w, link.rx_aperture_m / 2, jitter * d)
    got = float(L.collection_efficiency(link, slant))
    assert got == pytest.approx(expect, rel=1e-8)


def test_diffraction_limited_far_field_divergence():
    link = L.SatelliteLink(beam_quality_m2=1.0, pointing_jitter_rad=0.0)
    d = 1e6  # km, far field (z_R ~ 31 km)
    theta = float(L.beam_radius_m(link, d)) / (d * 1e3)
    assert theta == pytest.approx(link.wavelength_m / (np.pi * link.tx_waist_m), rel=1e-6)


def test_atmosphere_zenith_and_airmass():
    link = L.SatelliteLink(zenith_transmittance=0.7, excess_loss_db_sec3=0.0)
    assert float(L.atmospheric_transmittance(link, 90.0)) == pytest.approx(0.7)
    assert float(L.atmospheric_transmittance(link, 30.0)) == pytest.approx(0.49)  # sec = 2
    assert float(L.atmospheric_transmittance(link, 0.0)) == 0.0
    # the empirical excess: x dB * sec^3 on top (sec = 2 at 30 deg -> 8 x dB)
    ex = dataclasses.replace(link, excess_loss_db_sec3=0.25)
    assert float(L.atmospheric_transmittance(ex, 30.0)) == pytest.approx(0.49 * 10 ** -0.2)


def test_downlink_zero_below_mask():
    link = L.SatelliteLink(min_elevation_deg=20.0)
    assert float(L.downlink_efficiency(link, 1000.0, 19.9)) == 0.0
    assert float(L.downlink_efficiency(link, 1000.0, 20.1)) > 0.0


# ----------------------------------------------------------------------------- Micius anchor


def micius():
    """Yin et al., Science 356, 1140 (2017): ~500 km orbit, Delingha (1.2 m) and Lijiang
    (1.8 m) 1203 km apart, 810 nm, near-diffraction-limited ~10 urad (full-angle) divergence,
    0.4 urad tracking; lumped receive efficiency, zenith transmittance and low-elevation excess
    fitted to the four loss anchors (conf/link/micius.yaml)."""
    a = L.SatelliteLink(altitude_km=500.0, min_elevation_deg=0.0)
    return a, dataclasses.replace(a, rx_aperture_m=1.8)


def test_micius_divergence_is_ten_microradians_full_angle():
    a, _ = micius()
    assert 2 * a.beam_quality_m2 * a.wavelength_m / (np.pi * a.tx_waist_m) == pytest.approx(
        10e-6, rel=0.02)
    assert a.beam_quality_m2 < 1.5  # "near-diffraction-limited"


def _ground_of_slant(h, slant):
    """Ground distance from the sub-satellite point at which the slant range is ``slant``
    (law of cosines solved independently of qsense.links)."""
    R = L.EARTH_RADIUS_KM
    rs = R + h
    return R * np.arccos((R**2 + rs**2 - slant**2) / (2 * R * rs))


@pytest.mark.parametrize("slant,measured", [(530.0, 29.0), (1000.0, 36.0)])
def test_micius_single_downlink_loss_yin_prl_2017(slant, measured):
    """Yin et al., PRL 119, 200501 (2017): single down-link ~29 dB at 530 km, ~36 dB at
    1000 km (1.2 m receiver). 1.5 dB tolerance."""
    a, _ = micius()
    s = _ground_of_slant(500.0, slant)
    eta = L.downlink_efficiency(a, L.slant_range_km(500.0, s), L.elevation_deg(500.0, s))
    assert float(L.loss_db(eta)) == pytest.approx(measured, abs=1.5)


def test_micius_two_downlink_loss_band_endpoints():
    """Yin 2017: summed down-link lengths 1600-2400 km -> measured loss 64-82 dB. The band's
    ends are checked to 1.5 dB (a plain airmass model gives ~74 dB at 2400 km: caught), and the
    loss grows with the summed length in between."""
    a, b = micius()
    off = np.linspace(0.0, 1100.0, 221)  # sub-satellite point moves along the baseline
    s_a, s_b = 601.5 + off, np.abs(601.5 - off)
    summed = np.asarray(L.slant_range_km(500.0, s_a) + L.slant_range_km(500.0, s_b))
    keep = summed <= 2400.0
    st = L.dual_downlink(a, 1203.0, off[keep], link_b=b)
    total = np.asarray(L.loss_db(st.eta_a) + L.loss_db(st.eta_b))
    assert summed[keep][0] == pytest.approx(1600.0, abs=1.0)
    assert summed[keep][-1] == pytest.approx(2400.0, abs=5.0)
    assert total[0] == pytest.approx(64.0, abs=1.5)
    assert total[-1] == pytest.approx(82.0, abs=1.5)
    assert np.all(np.diff(total) > 0)  # longer links lose more
    assert np.all((total > 62.5) & (total < 83.5))


def test_micius_fidelity_consistent_with_measured_bell_violation():
    """Yin 2017 measured CHSH S = 2.37 +- 0.09 at 1203 km. A Werner state violates CHSH by at
    most S = 2 sqrt(2) w, w = (4F - 1)/3; our pair fidelity over the central part of the pass
    must give S within one standard deviation."""
    a, b = micius()
    st = L.dual_downlink(a, 1203.0, np.linspace(0.0, 400.0, 9), link_b=b)
    s = 2 * np.sqrt(2) * np.asarray(L.werner_parameter(st.fidelity))
    assert np.all(np.abs(s - 2.37) <= 0.09), s


# ----------------------------------------------------------------------------- pair statistics


def test_pair_statistics_closed_forms():
    link = L.SatelliteLink(background_cps=0.0, coincidence_window_s=0.0)
    st = L.pair_statistics(link, 1e-3, 2e-3)
    assert float(st.rate_hz) == pytest.approx(link.source_rate_hz * 2e-6)
    assert float(st.fidelity) == pytest.approx(link.source_fidelity)
    link = L.SatelliteLink(background_cps=1000.0, coincidence_window_s=1e-9)
    c = link.source_rate_hz * 1e-3 * 2e-3
    acc = (link.source_rate_hz * 1e-3 + 1000) * (link.source_rate_hz * 2e-3 + 1000) * 1e-9
    st = L.pair_statistics(link, 1e-3, 2e-3)
    assert float(st.rate_hz) == pytest.approx(c + acc)
    assert float(st.fidelity) == pytest.approx((c * link.source_fidelity + acc / 4) / (c + acc))


def test_fidelity_falls_to_quarter_when_background_dominates():
    link = L.SatelliteLink(background_cps=1e6)
    st = L.pair_statistics(link, 1e-9, 1e-9)
    assert float(st.fidelity) == pytest.approx(0.25, abs=1e-6)


# ----------------------------------------------------------------------------- fiber + Werner


def test_fiber_transmission():
    length = np.array([0.0, 10.0, 100.0, 517.0])
    np.testing.assert_allclose(np.asarray(L.fiber_transmittance(length)),
                               10 ** (-0.02 * length), rtol=1e-13)


@pytest.mark.parametrize("f1,f2", [(1.0, 1.0), (0.9, 0.8), (0.25, 0.97), (0.6, 0.6)])
def test_swap_matches_density_matrix_bell_measurement(f1, f2):
    assert float(L.swap_fidelity(f1, f2)) == pytest.approx(ref.swap_density(f1, f2), abs=1e-12)


def test_chain_fidelity_closed_form_and_sequential_swaps():
    fs = np.array([0.99, 0.95, 0.9, 0.97, 0.93])
    seq = fs[0]
    for f in fs[1:]:
        seq = ref.swap_density(seq, f)
    closed = 0.25 + 0.75 * np.prod((4 * fs - 1) / 3)
    assert float(L.chain_fidelity(fs)) == pytest.approx(closed, abs=1e-14)
    assert float(L.chain_fidelity(fs)) == pytest.approx(seq, abs=1e-12)


def test_werner_state_fidelity_and_trace():
    rho = np.asarray(L.werner_state(0.8))
    phi = np.array([1, 0, 0, 1]) / np.sqrt(2)
    assert np.real(phi @ rho @ phi) == pytest.approx(0.8)
    assert np.trace(rho) == pytest.approx(1.0)
    np.testing.assert_allclose(np.asarray(L.werner_state(0.25)), np.eye(4) / 4, atol=1e-15)


@pytest.mark.parametrize("p,m", [(0.3, 1), (0.3, 4), (0.01, 11), (2e-4, 11)])
def test_expected_max_geometric(p, m):
    got = float(L.expected_max_geometric(p, m))
    if m == 1:
        assert got == pytest.approx(1 / p)
    kmax = int(60 / p)
    assert got == pytest.approx(ref.expected_max_geometric_series(p, m, kmax), rel=1e-9)


def test_repeater_chain_limits():
    # one elementary link, ideal memories: rate = P / T0, fidelity = F_elem
    link = L.FiberLink(n_repeaters=0, memory_time_s=1e30)
    st = L.repeater_chain(link, 50.0)
    p0 = 0.5 * 0.81**2 * 10 ** (-0.02 * 50)
    t0 = 50 / 2e5 + 1e-6
    assert float(st.rate_hz) == pytest.approx(p0 / t0, rel=1e-10)
    assert float(st.fidelity) == pytest.approx(0.99, abs=1e-12)
    # n repeaters, ideal memories: F = Werner product of n + 1 links
    st = L.repeater_chain(L.FiberLink(memory_time_s=1e30), 300.0)
    assert float(st.fidelity) == pytest.approx(float(L.chain_fidelity(np.full(11, 0.99))))


def test_repeater_chain_memory_decay_closed_form():
    link = L.FiberLink(memory_time_s=0.5)
    d = 400.0
    st = L.repeater_chain(link, d)
    m, l0 = 11, d / 11
    p = 0.5 * 0.81**2 * 10 ** (-0.02 * l0)
    t0 = l0 / 2e5 + 1e-6
    k = ref.expected_max_geometric_series(p, m, int(60 / p))
    wait = m * (k - 1 / p) * t0
    w = ((4 * 0.99 - 1) / 3) ** m * np.exp(-(2 * wait + 2 * m * t0 + 2 * d / 2e5) / 0.5)
    assert float(st.fidelity) == pytest.approx(0.25 + 0.75 * w, rel=1e-8)
    assert float(st.rate_hz) == pytest.approx(0.5**10 / (t0 * k), rel=1e-8)  # 10 swaps at 1/2


def test_fiber_rate_and_fidelity_fall_with_distance():
    d = np.linspace(10.0, 2000.0, 50)
    st = L.repeater_chain(L.FiberLink(), d)
    assert np.all(np.diff(np.asarray(st.rate_hz)) < 0)
    assert np.all(np.diff(np.asarray(st.fidelity)) <= 0)
    # one link out to 3000 km (p down to 1e-60): the memories wait for nothing, so the
    # fidelity is the closed form F(w0 exp(-2 (T0 + L/c) / T)) (rounding noise in rounds - 1/p
    # made it rise past 760 km)
    link = L.FiberLink(n_repeaters=0)
    d = np.linspace(0.0, 3000.0, 601)
    st = L.repeater_chain(link, d)
    t0 = d / link.speed_km_s + 1.0 / link.repetition_rate_hz
    w0 = (4 * link.elementary_fidelity - 1) / 3
    w = w0 * np.exp(-(2 * t0 + 2 * d / link.speed_km_s) / link.memory_time_s)
    np.testing.assert_allclose(np.asarray(st.fidelity), 0.25 + 0.75 * w, rtol=1e-12)
    assert np.all(np.diff(np.asarray(st.fidelity)) <= 0)


def test_satellite_vectorized_and_jit():
    link = L.SatelliteLink()
    d = jnp.linspace(0.0, 3000.0, 31)
    eager = L.dual_downlink(link, d)
    jitted = jax.jit(lambda lk, x: L.dual_downlink(lk, x))(link, d)
    np.testing.assert_allclose(np.asarray(jitted.rate_hz), np.asarray(eager.rate_hz))
    smax = float(L.max_dual_separation_km(link.altitude_km, link.min_elevation_deg))
    vis = np.asarray(eager.visible)
    np.testing.assert_array_equal(vis, np.asarray(d) <= smax)
    assert np.all(np.asarray(eager.rate_hz)[~vis] == 0)
    assert np.all(np.asarray(eager.fidelity)[~vis] == 0.25)


# ----------------------------------------------------------------------------- gradients


def _fd(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("knob,h", [("rx_aperture_m", 1e-5), ("altitude_km", 1e-3),
                                    ("source_rate_hz", 10.0), ("pointing_jitter_rad", 1e-10)])
def test_satellite_gradients_vs_finite_differences(knob, h):
    base = L.SatelliteLink()

    def rate(x):
        return L.dual_downlink(dataclasses.replace(base, **{knob: x}), 900.0, 100.0).rate_hz

    def fid(x):
        return L.dual_downlink(dataclasses.replace(base, **{knob: x}), 900.0, 100.0).fidelity

    x0 = float(getattr(base, knob))
    for f in (rate, fid):
        g = float(jax.grad(f)(x0))
        assert np.isfinite(g)
        assert g == pytest.approx(float(_fd(f, x0, h)), rel=1e-5, abs=1e-14)


def test_satellite_gradient_whole_pytree():
    grads = jax.grad(lambda lk: L.dual_downlink(lk, 1500.0).rate_hz)(L.SatelliteLink())
    assert isinstance(grads, L.SatelliteLink)
    assert float(grads.rx_aperture_m) > 0 and float(grads.pointing_jitter_rad) < 0


@pytest.mark.parametrize("knob,h", [("memory_time_s", 1e-5), ("attenuation_db_per_km", 1e-6),
                                    ("elementary_fidelity", 1e-7)])
def test_fiber_gradients_vs_finite_differences(knob, h):
    base = L.FiberLink()

    def fid(x):
        return L.repeater_chain(dataclasses.replace(base, **{knob: x}), 600.0).fidelity

    def rate(x):
        return L.repeater_chain(dataclasses.replace(base, **{knob: x}), 600.0).rate_hz

    x0 = float(getattr(base, knob))
    for f in (fid, rate):
        g = float(jax.grad(f)(x0))
        assert g == pytest.approx(float(_fd(f, x0, h)), rel=1e-5, abs=1e-12)


# ----------------------------------------------------------------------------- bad input


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="separation_km"):
        L.dual_downlink(L.SatelliteLink(), -5.0)
    with pytest.raises(ValueError, match="distance_km"):
        L.repeater_chain(L.FiberLink(), np.array([10.0, -1.0]))
    with pytest.raises(ValueError, match="altitude_km.*atmosphere"):
        L.dual_downlink(L.SatelliteLink(altitude_km=50.0), 100.0)
    with pytest.raises(ValueError, match="altitude_km"):
        L.horizon_distance_km(-10.0)
    for mask in (-1.0, 91.0):
        with pytest.raises(ValueError, match=r"min_elevation_deg.*\[0, 90\]"):
            L.dual_downlink(L.SatelliteLink(min_elevation_deg=mask), 100.0)
    for f in (0.2, 1.01, float("nan")):
        with pytest.raises(ValueError, match=r"\[0.25, 1\]"):
            L.swap_fidelity(f, 0.9)
        with pytest.raises(ValueError, match="source_fidelity"):
            L.dual_downlink(L.SatelliteLink(source_fidelity=f), 100.0)
        with pytest.raises(ValueError, match="elementary_fidelity"):
            L.repeater_chain(L.FiberLink(elementary_fidelity=f), 100.0)
    with pytest.raises(ValueError, match="n_repeaters"):
        L.repeater_chain(L.FiberLink(n_repeaters=-1), 100.0)
    with pytest.raises(ValueError, match="length_km"):
        L.fiber_transmittance(-3.0)
    # a negative attenuation gave a transmittance of 1.58 (a fiber that amplifies)
    for att in (-0.2, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"attenuation_db_per_km.*>= 0 dB/km"):
            L.fiber_transmittance(10.0, attenuation_db_per_km=att)
    assert float(L.fiber_transmittance(10.0, 0.0)) == 1.0
    g = jax.grad(lambda a: L.fiber_transmittance(10.0, a))(0.2)
    assert float(g) == pytest.approx(-np.log(10) * 10.0 ** (-0.2))
    # a NaN offset quietly gave "not visible"
    with pytest.raises(ValueError, match="offset_km"):
        L.dual_downlink(L.SatelliteLink(), 500.0, offset_km=float("nan"))


def test_beyond_line_of_sight_zero_rate_or_strict_error():
    link = L.SatelliteLink()
    st = L.dual_downlink(link, 5000.0)
    assert float(st.rate_hz) == 0.0 and not bool(st.visible)
    assert float(st.fidelity) == 0.25
    with pytest.raises(ValueError, match="elevation mask.*max"):
        L.dual_downlink(link, np.array([100.0, 5000.0]), strict=True)
    assert L.zero_rate_reason(link, 100.0) == ""
    why = L.zero_rate_reason(link, 5000.0)
    assert "station A" in why and "station B" in why and "2687.5 km" in why
    # beyond the geometric horizon even with a 0 deg mask
    st = L.dual_downlink(dataclasses.replace(link, min_elevation_deg=0.0), 5000.0)
    assert float(st.rate_hz) == 0.0


def test_link_gradient_is_finite_at_zero_separation():
    """The elevation's arcsin had an infinite derivative at the zenith, so d(rate)/d(distance)
    at separation 0 was nan (fig4 with design_distance_km=0 gave a nan design). The atan2 form
    gives the same elevations (numpy arcsin form written here) and finite gradients."""
    d = np.linspace(0.0, 3000.0, 31)
    r, rs = L.EARTH_RADIUS_KM, L.EARTH_RADIUS_KM + 550.0
    th = d / r
    slant = np.sqrt((rs - r) ** 2 + 4 * r * rs * np.sin(th / 2) ** 2)
    np.testing.assert_allclose(np.asarray(L.elevation_deg(550.0, d)),
                               np.degrees(np.arcsin((rs * np.cos(th) - r) / slant)), atol=1e-9)
    sat = L.SatelliteLink()
    for what in ("rate_hz", "fidelity"):
        g0 = float(jax.grad(lambda x, w=what: getattr(L.dual_downlink(sat, x), w))(0.0))
        g1 = float(jax.grad(lambda x, w=what: getattr(L.dual_downlink(sat, x), w))(1e-3))
        assert np.isfinite(g0) and abs(g0) <= abs(g1)


def test_ground_distances_beyond_half_the_circumference_raise():
    """Ground distances wrapped round the globe: 80 000 km gave a visible dual down-link,
    39 500 km an elevation of 94.6 deg, and the pair rate at 79 000 km beat 2000 km. A ground
    (great-circle) distance is in [0, pi R]; beyond it the error names the argument, the value
    and the range. A fiber length is not a ground distance and stays unbounded."""
    pi_r = np.pi * L.EARTH_RADIUS_KM
    assert L.MAX_GROUND_DISTANCE_KM == pytest.approx(20015.09, abs=0.01)
    sat = L.SatelliteLink()
    for bad in (80000.0, pi_r + 1.0, np.array([100.0, 39500.0])):
        with pytest.raises(ValueError, match=r"separation_km.*\[0, pi R = 20015\.1\] km"):
            L.dual_downlink(sat, bad)
        with pytest.raises(ValueError, match="separation_km"):
            L.zero_rate_reason(sat, float(np.max(bad)))
    for fn in (L.elevation_deg, L.slant_range_km):
        with pytest.raises(ValueError, match=r"ground_distance_km.*39500.*\[0, pi R"):
            fn(400.0, 39500.0)
    with pytest.raises(ValueError, match="ground_distance_km"):
        L.central_angle(-1.0)
    # the antipode itself is a ground distance: the satellite is straight below the horizon
    assert float(L.elevation_deg(400.0, pi_r)) == pytest.approx(-90.0)
    assert not bool(L.dual_downlink(sat, pi_r).visible)
    # the offset may not carry a station past the antipode of the sub-satellite point
    with pytest.raises(ValueError, match=r"offset_km.*separation_km / 2 \+ \|offset_km\|"):
        L.dual_downlink(sat, 1000.0, offset_km=pi_r)
    assert not bool(L.dual_downlink(sat, 1000.0, offset_km=pi_r - 500.0).visible)
    # a fiber length has no such bound (a route may be longer than any ground distance)
    assert float(L.fiber_transmittance(30000.0, 0.001)) == pytest.approx(1e-3)
    assert np.isfinite(float(L.repeater_chain(L.FiberLink(), 30000.0).fidelity))
    # traced values are not checked: gradients through the geometry still work
    g = jax.grad(lambda s: L.elevation_deg(400.0, s))(1000.0)
    assert np.isfinite(float(g)) and float(g) < 0


def test_swap_gate_error_enters_once_per_swap_and_modes_multiplex():
    """m = n + 1 elementary links need m - 1 swaps: with ideal memories the end-to-end Werner
    parameter is ``w_el^m w_swap^(m-1)``. ``M`` multiplexed modes make one round succeed with
    ``1 - (1 - p0)^M`` (Sangouard 2011 sec. IV), so one link's rate is that over ``T0``."""
    f_el, w_swap, n_rep = 0.98, 0.9, 3
    link = L.FiberLink(n_repeaters=n_rep, elementary_fidelity=f_el, swap_werner_factor=w_swap,
                       memory_time_s=1e30)
    m = n_rep + 1
    w = ((4 * f_el - 1) / 3) ** m * w_swap ** (m - 1)
    assert float(L.repeater_chain(link, 200.0).fidelity) == pytest.approx(0.25 + 0.75 * w,
                                                                         rel=1e-12)
    d, modes = 80.0, 7.0
    one = L.FiberLink(n_repeaters=0, modes=modes, memory_time_s=1e30)
    p0 = 0.5 * (0.9 * 0.9) ** 2 * 10 ** (-0.2 * d / 10)
    st = L.repeater_chain(one, d)
    assert float(st.p_attempt) == pytest.approx(1 - (1 - p0) ** modes, rel=1e-12)
    assert float(st.rate_hz) == pytest.approx((1 - (1 - p0) ** modes) / (d / 2e5 + 1e-6),
                                              rel=1e-10)


@pytest.mark.parametrize("cls,name,bad,good,accepted", [
    (L.SatelliteLink, "beam_quality_m2", 0.99, 1.0, "M^2 >= 1"),
    (L.FiberLink, "modes", 0.99, 1.0, "a value >= 1"),
    (L.FiberLink, "n_repeaters", 1001, 1000, "an integer in [0, 1000]"),
])
def test_link_bound_rejects_just_past_and_accepts_on_it(cls, name, bad, good, accepted):
    """Mutation sweep: each bound could be loosened (M^2 >= 0.5, modes >= 0, 10000 repeaters)
    with every other test passing."""
    import re

    with pytest.raises(ValueError, match=rf"^{name} = {re.escape(repr(bad))} is invalid; "
                                         rf"accepted: {re.escape(accepted)}"):
        cls(**{name: bad}).validate()
    cls(**{name: good}).validate()
