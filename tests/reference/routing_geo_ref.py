"""Independent geometry and link formulas for the routing-geometry tests (plain numpy).

Takes nothing from ``routing`` or ``qsense``: WGS-84 by its defining constants, the Greenwich
sidereal angle by the IAU 1982 formula, circular two-body orbits written out, a Gaussian-beam
down-link written from its textbook form.
"""

from __future__ import annotations

import numpy as np

A = 6378.137  # WGS-84 semi-major axis (km)
F = 1 / 298.257223563
E2 = F * (2 - F)
MU = 398600.4418  # km^3 / s^2


def wgs84(lat_deg, lon_deg, h_km=0.0):
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    n = A / np.sqrt(1 - E2 * np.sin(lat) ** 2)
    return np.array([(n + h_km) * np.cos(lat) * np.cos(lon),
                     (n + h_km) * np.cos(lat) * np.sin(lon),
                     (n * (1 - E2) + h_km) * np.sin(lat)])


def up(lat_deg, lon_deg):
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def elevation(lat_deg, lon_deg, h_km, target):
    """Elevation (deg) of ECEF ``target`` (..., 3) above the geodetic horizon of a station, as
    atan2(vertical, horizontal): arcsin of their ratio loses half the digits near the zenith
    (one ulp of the ratio is ~1e-6 deg there, and the ulps taken depend on the BLAS)."""
    d = np.asarray(target, float) - wgs84(lat_deg, lon_deg, h_km)
    u = up(lat_deg, lon_deg)
    vertical = d @ u
    horizontal = np.linalg.norm(d - vertical[..., None] * u, axis=-1)
    return np.degrees(np.arctan2(vertical, horizontal))


def gmst_rad(utc_start, seconds):
    """Greenwich mean sidereal angle (rad) by the IAU 1982 formula (Aoki et al. 1982), UT1 = UTC,
    Julian date counted from J2000.0 = 2000-01-01 12:00 UTC."""
    import datetime as dt

    j2000 = dt.datetime(2000, 1, 1, 12, tzinfo=dt.timezone.utc)
    days = (utc_start - j2000).total_seconds() / 86400.0 + np.asarray(seconds, float) / 86400.0
    t = days / 36525.0
    sec = 67310.54841 + (876600.0 * 3600.0 + 8640184.812866) * t + 0.093104 * t**2 - 6.2e-6 * t**3
    return np.mod(sec, 86400.0) / 86400.0 * 2 * np.pi


def circular_ecef(alt_km, inc_deg, raan_deg, u0_deg, utc_start, seconds):
    """ECEF (km), shape (T, 3), of a circular two-body orbit of radius A + alt: inertial
    ``R3(-Ω) R1(-i) [r cos u, r sin u, 0]`` with u = u0 + n t, then rotated by -GMST."""
    r = A + alt_km
    n = np.sqrt(MU / r**3)
    t = np.asarray(seconds, float)
    u = np.radians(u0_deg) + n * t
    i, o = np.radians(inc_deg), np.radians(raan_deg)
    x = r * (np.cos(o) * np.cos(u) - np.sin(o) * np.sin(u) * np.cos(i))
    y = r * (np.sin(o) * np.cos(u) + np.cos(o) * np.sin(u) * np.cos(i))
    z = r * np.sin(u) * np.sin(i)
    g = gmst_rad(utc_start, t)
    return np.stack([np.cos(g) * x + np.sin(g) * y, -np.sin(g) * x + np.cos(g) * y, z], -1)


def geodetic_height(p):
    """Height (km) above WGS-84 of ECEF points (..., 3) by Bowring-style fixed-point iteration."""
    p = np.asarray(p, float)
    rho = np.hypot(p[..., 0], p[..., 1])
    lat = np.arctan2(p[..., 2], rho * (1 - E2))
    for _ in range(8):
        n = A / np.sqrt(1 - E2 * np.sin(lat) ** 2)
        h = rho / np.cos(lat) - n
        lat = np.arctan2(p[..., 2], rho * (1 - E2 * n / (n + h)))
    n = A / np.sqrt(1 - E2 * np.sin(lat) ** 2)
    return rho / np.cos(lat) - n


def segment_min_height(a, b, n=4001):
    """Lowest geodetic height (km) on the segment a -> b, by dense sampling."""
    s = np.linspace(0, 1, n)[:, None]
    return geodetic_height(np.asarray(a) + s * (np.asarray(b) - np.asarray(a))).min()


def downlink_pairs(slant_km, el_deg, *, w0, m2, lam, jitter, tx_eff, rx_ap, rx_eff, det_rx,
                   t_zen, excess, mask, src_rate, src_fid, bg, tau, det_local):
    """Pair rate (pairs/s) and Werner fidelity of a source that keeps one photon (detected with
    ``det_local``) and sends the other down: Gaussian beam + jitter, aperture collection,
    plane-parallel atmosphere with an ``excess`` dB · sec³(zenith) low-elevation term, true +
    accidental coincidences."""
    d = slant_km * 1e3
    zr = np.pi * w0**2 / (m2 * lam)
    w2 = w0**2 * (1 + (d / zr) ** 2) + 4 * (jitter * d) ** 2
    collect = 1 - np.exp(-2 * (rx_ap / 2) ** 2 / w2)
    am = 1 / np.sin(np.radians(el_deg))
    atm = t_zen**am * 10 ** (-excess * am**3 / 10)
    eta = tx_eff * collect * atm * rx_eff * det_rx if el_deg >= mask else 0.0
    true = src_rate * det_local * eta
    acc = (src_rate * det_local + bg) * (src_rate * eta + bg) * tau
    if eta == 0:
        return 0.0, 0.25
    return true + acc, (true * src_fid + acc / 4) / (true + acc)


def exp_atmosphere_transmittance(a, b, t_zen, scale_km, n=20001):
    """``exp(-τ_z/H ∫ exp(-h(s)/H) ds)`` along the segment a -> b (trapezoid on geodetic
    heights), τ_z = -ln T_zenith: a vertical ray from sea level gets T_zenith."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    s = np.linspace(0, 1, n)[:, None]
    h = np.maximum(geodetic_height(a + s * (b - a)), 0.0)
    length = np.linalg.norm(b - a)
    integral = np.trapezoid(np.exp(-h / scale_km), dx=length / (n - 1))
    return np.exp(np.log(t_zen) / scale_km * integral)


def aloft_pairs(slant_km, t_path, *, w0, m2, lam, jitter, tx_eff, rx_ap, rx_eff, det_rx,
                src_rate, src_fid, bg, tau, det_local):
    """As :func:`downlink_pairs` with a given path transmittance and no mask."""
    d = slant_km * 1e3
    zr = np.pi * w0**2 / (m2 * lam)
    w2 = w0**2 * (1 + (d / zr) ** 2) + 4 * (jitter * d) ** 2
    eta = tx_eff * (1 - np.exp(-2 * (rx_ap / 2) ** 2 / w2)) * t_path * rx_eff * det_rx
    true = src_rate * det_local * eta
    acc = (src_rate * det_local + bg) * (src_rate * eta + bg) * tau
    return true + acc, (true * src_fid + acc / 4) / (true + acc)
