"""Circular-orbit passes over two ground stations: elevation, rate and fidelity over time.

Frame: Earth-centred, spherical non-rotating Earth (``R = 6371 km``; the ~0.25 deg/min Earth
rotation is neglected over a ~10 min LEO pass). Stations A and B lie on the equator of the
frame, ``separation_km`` apart along the great circle, symmetric about the x axis (their
midpoint M). The satellite moves on a circular orbit of radius ``R + h`` with angular rate
``omega = sqrt(mu / (R + h)^3)``; at ``t = 0`` it culminates above the point reached from M by
moving ``cross_offset_km`` perpendicular to its ground track, and its ground track crosses the
A-B baseline at ``track_angle_deg`` (90: perpendicular pass over the midpoint, the symmetric
case). Position: ``r(t) = (R + h) (cos(omega t) u + sin(omega t) v)``.

Elevation seen from station ``s``: ``sin(el) = (r - s) . s_hat / |r - s|``. Rates and
fidelities come from `qsense.links` (both stations above the mask, else rate 0).

This time-varying visibility is what a routing layer needs: `pass_profile` gives per-time-slot
rate and fidelity arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from qsense._checks import fail, is_concrete
from qsense.links import (
    EARTH_MU_KM3_S2,
    EARTH_RADIUS_KM,
    SatelliteLink,
    check_altitude,
    check_distance,
    downlink_efficiency,
    pair_statistics,
)


def orbital_period_s(altitude_km):
    """Period of a circular orbit (s): ``2 pi sqrt((R + h)^3 / mu)``."""
    check_altitude("altitude_km", altitude_km)
    a = EARTH_RADIUS_KM + jnp.asarray(altitude_km)
    return 2 * jnp.pi * jnp.sqrt(a**3 / EARTH_MU_KM3_S2)


def _stations(separation_km):
    phi = jnp.asarray(separation_km) / (2 * EARTH_RADIUS_KM)
    zero = jnp.zeros_like(phi)
    a = jnp.stack([jnp.cos(phi), -jnp.sin(phi), zero])
    b = jnp.stack([jnp.cos(phi), jnp.sin(phi), zero])
    return a, b  # unit vectors


def satellite_position_km(altitude_km, times_s, track_angle_deg=90.0, cross_offset_km=0.0):
    """Satellite positions (..., 3) in km at ``times_s`` (0 = culmination)."""
    psi = jnp.radians(jnp.asarray(track_angle_deg))
    dlt = jnp.asarray(cross_offset_km) / EARTH_RADIUS_KM
    u = jnp.stack([jnp.cos(dlt), jnp.sin(dlt) * jnp.sin(psi), -jnp.sin(dlt) * jnp.cos(psi)])
    v = jnp.stack([jnp.zeros_like(psi), jnp.cos(psi), jnp.sin(psi)])
    rs = EARTH_RADIUS_KM + jnp.asarray(altitude_km)
    omega = jnp.sqrt(EARTH_MU_KM3_S2 / rs**3)
    wt = omega * jnp.asarray(times_s)[..., None]
    return rs * (jnp.cos(wt) * u + jnp.sin(wt) * v)


def look_angles(sat_km, station_unit):
    """(slant range km, elevation deg) of satellite positions ``sat_km`` (..., 3) from the
    station at ``R * station_unit``."""
    los = sat_km - EARTH_RADIUS_KM * station_unit
    d = jnp.linalg.norm(los, axis=-1)
    el = jnp.degrees(jnp.arcsin(jnp.clip(los @ station_unit / d, -1.0, 1.0)))
    return d, el


class PassProfile(NamedTuple):
    times_s: jax.Array  # (T,)
    elevation_a_deg: jax.Array
    elevation_b_deg: jax.Array
    slant_a_km: jax.Array
    slant_b_km: jax.Array
    rate_hz: jax.Array  # detected pairs/s at each time (0 when a station is below the mask)
    fidelity: jax.Array  # Werner fidelity at each time (0.25 when not visible)
    visible: jax.Array  # bool


class PassSummary(NamedTuple):
    window_s: jax.Array  # time both stations are above the mask
    pairs: jax.Array  # detected pairs over the pass (integral of the rate)
    mean_rate_hz: jax.Array  # pairs / window (0 if never visible)
    mean_fidelity: jax.Array  # pair-weighted mean fidelity (0.25 if no pairs)
    peak_rate_hz: jax.Array


def pass_profile(link: SatelliteLink, separation_km, times_s=None, *, n_times: int = 721,
                 track_angle_deg=90.0, cross_offset_km=0.0) -> PassProfile:
    """Rate and fidelity over one pass (default grid: +- a quarter orbit around culmination,
    which covers every time a LEO/MEO satellite can be above the horizon of both)."""
    if is_concrete(link):
        link.validate()
    check_distance("separation_km", separation_km)
    if is_concrete(cross_offset_km) and not np.isfinite(float(cross_offset_km)):
        fail("cross_offset_km", cross_offset_km, "a finite ground distance (km)")
    if times_s is None:
        if n_times < 3:
            fail("n_times", n_times, "an integer >= 3")
        quarter = orbital_period_s(link.altitude_km) / 4
        times_s = jnp.linspace(-quarter, quarter, n_times)
    times_s = jnp.asarray(times_s)
    sat = satellite_position_km(link.altitude_km, times_s, track_angle_deg, cross_offset_km)
    ua, ub = _stations(separation_km)
    da, ea = look_angles(sat, ua)
    db, eb = look_angles(sat, ub)
    st = pair_statistics(link, downlink_efficiency(link, da, ea),
                         downlink_efficiency(link, db, eb))
    return PassProfile(times_s, ea, eb, da, db, st.rate_hz, st.fidelity, st.visible)


def summarize_pass(profile: PassProfile) -> PassSummary:
    """Window, pair count (trapezoid rule), mean rate and pair-weighted mean fidelity."""
    t = profile.times_s
    dt = jnp.diff(t)
    vis = profile.visible.astype(t.dtype)
    window = jnp.sum(dt * 0.5 * (vis[1:] + vis[:-1]))
    r = profile.rate_hz
    pairs = jnp.sum(dt * 0.5 * (r[1:] + r[:-1]))
    rf = r * profile.fidelity
    good = jnp.sum(dt * 0.5 * (rf[1:] + rf[:-1]))
    mean_rate = jnp.where(window > 0, pairs / jnp.where(window > 0, window, 1.0), 0.0)
    mean_f = jnp.where(pairs > 0, good / jnp.where(pairs > 0, pairs, 1.0), 0.25)
    return PassSummary(window, pairs, mean_rate, mean_f, jnp.max(r))


def pass_average(link: SatelliteLink, separation_km, **kwargs) -> PassSummary:
    """`summarize_pass` of `pass_profile` (one symmetric pass by default)."""
    return summarize_pass(pass_profile(link, separation_km, **kwargs))
