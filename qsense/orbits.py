"""Circular-orbit passes over two ground stations: elevation, rate and fidelity over time.

Frame: Earth-centred, spherical non-rotating Earth (``R = 6371 km``; the ~0.25 deg/min Earth
rotation is neglected over a ~10 min LEO pass); altitudes here are above that sphere, as in
`qsense.links`. The real passes below (:func:`circular_orbit`, `qsense.ephemeris`) measure
altitude above the WGS-84 equatorial radius 6378.137 km instead (7.137 km more radius for the
same number). Stations A and B lie on the equator of the
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
    MAX_GROUND_DISTANCE_KM,
    SatelliteLink,
    check_altitude,
    check_ground_distance,
    check_link_kind,
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
    station at ``R * station_unit`` (``station_unit`` a unit vector, (3,)).

    Elevation is ``atan2(up, horizontal)``, ``horizontal = |los x u|``: exact to rounding at
    every elevation (an ``asin(up / range)`` loses digits near the zenith) and differentiable
    everywhere, the zenith included. There elevation has a conical maximum (no gradient);
    the horizontal norm's square root is guarded so the derivative taken is 0 (a
    subgradient: elevation stays 90 deg to first order along the local vertical) instead of
    the NaN the square root's derivative at 0 gives."""
    los = sat_km - EARTH_RADIUS_KM * station_unit
    d = jnp.linalg.norm(los, axis=-1)
    up = los @ station_unit
    h2 = jnp.sum(jnp.cross(los, station_unit) ** 2, axis=-1)
    off = h2 > 0
    horizontal = jnp.where(off, jnp.sqrt(jnp.where(off, h2, 1.0)), 0.0)
    el = jnp.degrees(jnp.arctan2(up, horizontal))
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
    check_link_kind(link, SatelliteLink)
    if is_concrete(link):
        link.validate()
    check_ground_distance("separation_km", separation_km)
    if is_concrete(cross_offset_km) and not abs(float(cross_offset_km)) <= MAX_GROUND_DISTANCE_KM:
        fail("cross_offset_km", cross_offset_km,
             f"a ground distance in [-pi R, pi R] = +-{MAX_GROUND_DISTANCE_KM:.1f} km")
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


# ============================================================================= real passes
# Earth rotating, orbits from TLEs / elements through SGP4 (qsense.ephemeris), the Sun from
# skyfield + the DE421 ephemeris bundled in skyfield-data. Numpy geometry, JAX link models.

#: Sun altitude (deg) below which a station counts as in night: astronomical twilight ends at
#: -18, nautical at -12 (default: background from scattered sunlight is then negligible next to
#: the detector dark counts at 810 nm; Micius ran its entanglement passes at night, Yin 2017).
NIGHT_SUN_ALTITUDE_DEG = -12.0


def orbit_preset(name: str, epoch=None):
    """Named orbits: ``micius`` (the bundled representative TLE, NORAD 41731), ``leo400`` /
    ``leo500`` (circular sun-synchronous, 97.03 / 97.40 deg), ``meo`` (10 000 km, 55 deg: the
    MEO of conf/link/meo.yaml). ``epoch`` (UTC datetime) for the element presets; default the
    Micius TLE epoch. RAAN 272.37 deg (ascending node near local midnight at that epoch, as the
    Micius TLE); a ``KeplerElements`` or ``Tle``."""
    from qsense import ephemeris as E

    tle = E.bundled_tle("micius")
    if name == "micius":
        return tle
    epoch = tle.epoch if epoch is None else epoch
    presets = {"leo400": (400.0, 97.03), "leo500": (500.0, 97.40), "meo": (10000.0, 55.0)}
    if name not in presets:
        fail("orbit", name, f"one of {['micius', *presets]}")
    h, inc = presets[name]
    return E.KeplerElements.circular(h, inc, 272.372, 0.0, epoch, name=name)


#: Mean motion of the Sun (rad/s): 360 deg per tropical year, the node drift of a
#: sun-synchronous orbit.
SUN_MEAN_MOTION_RAD_S = 2 * np.pi / (365.2422 * 86400.0)


def max_sun_synchronous_altitude_km() -> float:
    """Highest circular sun-synchronous orbit (km above the WGS-84 equatorial radius, as
    `qsense.ephemeris.KeplerElements.circular`): there even a retrograde equatorial orbit
    (i = 180 deg) drifts too slowly, ``3/2 J2 R^2 sqrt(mu) a^(-7/2) = Sun's mean motion``
    (~5974 km). Sun-synchronous altitudes: [100 km, this]."""
    from qsense import ephemeris as E

    a = (1.5 * E.J2 * E.WGS84_A_KM**2 * np.sqrt(E.MU_KM3_S2) / SUN_MEAN_MOTION_RAD_S) ** (2 / 7)
    return float(a - E.WGS84_A_KM)


def sun_synchronous_inclination_deg(altitude_km: float) -> float:
    """Inclination (deg) of a circular sun-synchronous orbit: the J2 node drift
    ``-3/2 J2 (R/a)^2 n cos i`` equals the mean motion of the Sun, 360 deg per tropical year
    (Vallado, Fundamentals of Astrodynamics, eq. 11-14). ``altitude_km`` above the WGS-84
    equatorial radius (``a = 6378.137 km + altitude_km``, as `KeplerElements.circular`), in
    ``[100, max_sun_synchronous_altitude_km()]`` (~5974 km)."""
    from qsense import ephemeris as E

    check_altitude("altitude_km", altitude_km)
    a = E.WGS84_A_KM + float(altitude_km)
    n = np.sqrt(E.MU_KM3_S2 / a**3)
    c = -SUN_MEAN_MOTION_RAD_S / (1.5 * E.J2 * (E.WGS84_A_KM / a) ** 2 * n)
    if c < -1:
        hmax = max_sun_synchronous_altitude_km()
        if float(altitude_km) > hmax:
            fail("altitude_km", altitude_km, "an altitude with a sun-synchronous orbit: "
                 f"[100, {np.floor(hmax * 10) / 10}] km (above it no inclination makes the J2 "
                 "node drift follow the Sun)")
        c = -1.0  # rounding at the highest sun-synchronous altitude itself
    return float(np.degrees(np.arccos(c)))


def circular_orbit(kind: str, altitude_km: float, inclination_deg: float = 55.0, epoch=None):
    """The orbit a fig4-style study flies: ``sso`` (circular sun-synchronous at the altitude),
    ``circular`` (at ``inclination_deg``) or ``micius`` (the bundled TLE; altitude ignored).
    RAAN 272.372 deg and the Micius TLE epoch by default (as :func:`orbit_preset`).
    ``altitude_km`` is above the WGS-84 equatorial radius 6378.137 km
    (`KeplerElements.circular`), not above `qsense.links`' 6371 km sphere: a
    ``SatelliteLink.altitude_km`` of 400 passed here flies 7.137 km higher than the link
    formulas' 400 km satellite."""
    from qsense import ephemeris as E

    if kind == "micius":
        return E.bundled_tle("micius")
    epoch = E.bundled_tle("micius").epoch if epoch is None else epoch
    if kind == "sso":
        inc = sun_synchronous_inclination_deg(altitude_km)
    elif kind == "circular":
        inc = inclination_deg
    else:
        fail("orbit", kind, "one of ['sso', 'circular', 'micius']")
    return E.KeplerElements.circular(altitude_km, inc, 272.372, 0.0, epoch, name=kind)


def destination(lat_deg, lon_deg, bearing_deg, distance_km):
    """Point reached from (lat, lon) along a great circle (spherical Earth, R = 6371 km):
    ``(lat, lon)`` in degrees; broadcasts over ``distance_km``."""
    p1, l1 = np.radians(lat_deg), np.radians(lon_deg)
    b = np.radians(bearing_deg)
    d = np.asarray(distance_km, float) / EARTH_RADIUS_KM
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(b))
    l2 = l1 + np.arctan2(np.sin(b) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), np.mod(np.degrees(l2) + 180.0, 360.0) - 180.0


def ground_distance_km(lat1, lon1, lat2, lon2):
    """Great-circle distance (haversine, R = 6371 km) and initial bearing (deg)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))
    brg = np.degrees(np.arctan2(np.sin(dl) * np.cos(p2),
                                np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)))
    return d, np.mod(brg, 360.0)


class Timeline(NamedTuple):
    """A dual down-link over time for G station pairs (A fixed, B_g): arrays (G, T)."""

    times_s: np.ndarray  # (T,) seconds after start
    elevation_a_deg: np.ndarray  # (T,)
    elevation_b_deg: np.ndarray  # (G, T)
    sun_a_deg: np.ndarray  # (T,) Sun altitude at A
    sun_b_deg: np.ndarray  # (G, T)
    up: np.ndarray  # (G, T) both above the elevation mask
    night: np.ndarray  # (G, T) Sun below the night altitude at both
    usable: np.ndarray  # (G, T) up and night
    rate_hz: np.ndarray  # (G, T) detected pairs/s (0 where not usable)
    fidelity: np.ndarray  # (G, T) Werner fidelity (0.25 where not usable)


#: what a station argument of `link_timeline` accepts
_STATION = ("(lat_deg, lon_deg, alt_km): latitude in [-90, 90] deg, finite longitude (deg), "
            "finite height >= -0.5 km")
_STATIONS_B = (f"a non-empty list of stations {_STATION}, a (G, 3) array of them, or the "
               "arrays (lat (G,), lon (G,), alt_km (G,) or one height) of G >= 1 stations")


def _real_scalar(name: str, x, accepted: str) -> float:
    """``x`` as a float when it is a real number (not a bool, a string or an array of many),
    else a ValueError naming ``name``."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(
            x, (int, float, np.integer, np.floating, np.ndarray)) or np.ndim(x) != 0 or (
            isinstance(x, np.ndarray) and x.dtype.kind not in "iuf"):
        fail(name, x, accepted)
    return float(x)


def _check_sites(name: str, value, lat: np.ndarray, lon: np.ndarray, alt: np.ndarray,
                 accepted: str) -> None:
    ok = (np.all(np.isfinite(lat)) and np.all(np.abs(lat) <= 90) and np.all(np.isfinite(lon))
          and np.all(np.isfinite(alt)) and np.all(alt >= -0.5))
    if not ok:
        fail(name, value, accepted)


def _station_a(station_a) -> tuple[float, float, float]:
    """One station ``(lat_deg, lon_deg, alt_km)``, checked (a ValueError naming station_a)."""
    accepted = f"one station {_STATION}"
    try:
        a = np.asarray(station_a, dtype=float)
    except (TypeError, ValueError):
        fail("station_a", station_a, accepted)
    if isinstance(station_a, (str, bytes)) or a.shape != (3,):
        fail("station_a", station_a, accepted)
    _check_sites("station_a", station_a, a[0], a[1], a[2], accepted)
    return float(a[0]), float(a[1]), float(a[2])


def _stations_b(stations_b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lat (G,), lon (G,), alt (G,))`` of the B stations, G >= 1, checked (a ValueError
    naming stations_b). Forms: a list of stations (tuples of 3 numbers, or one such tuple), a
    (G, 3) numpy array (one station per row), or the columns ``(lat, lon, alt)`` given as
    numpy arrays or lists (``alt`` may be one height). Three 3-number items are three stations
    unless the first is a numpy array: then they are the columns of three stations."""
    def bad():
        fail("stations_b", stations_b, _STATIONS_B)

    def floats(x) -> np.ndarray:
        try:
            return np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            bad()
            raise AssertionError from None  # pragma: no cover  (fail raised)

    if isinstance(stations_b, np.ndarray):
        arr = floats(stations_b)
        if arr.shape == (3,):
            rows = arr[None]
        elif arr.ndim == 2 and arr.shape[1] == 3 and arr.shape[0] >= 1:
            rows = arr
        elif arr.ndim == 2 and arr.shape[0] == 3 and arr.shape[1] >= 1:
            rows = arr.T
        else:
            bad()
    elif isinstance(stations_b, (list, tuple)) and len(stations_b) > 0:
        items = list(stations_b)
        # columns: three items whose first is a 1-D array, or a list of G != 3 latitudes
        first = floats(items[0]) if len(items) == 3 else None
        columns = first is not None and first.ndim == 1 and (
            isinstance(items[0], np.ndarray) or first.size != 3)
        if columns:
            lat, lon, alt = (floats(x) for x in items)
            if not (lat.ndim == 1 and lat.size >= 1 and lon.shape == lat.shape
                    and alt.shape in ((), lat.shape)):
                bad()
            rows = np.stack([lat, lon, np.broadcast_to(alt, lat.shape)], axis=1)
        else:
            arr = floats(items)
            if arr.shape == (3,):
                rows = arr[None]
            elif arr.ndim == 2 and arr.shape[1] == 3:
                rows = arr
            else:
                bad()
    else:
        bad()
    lat, lon, alt = rows[:, 0], rows[:, 1], rows[:, 2]
    _check_sites("stations_b", stations_b, lat, lon, alt, _STATIONS_B)
    return lat, lon, alt


def link_timeline(link: SatelliteLink, satellite, station_a, stations_b, start, duration_s,
                  step_s: float = 10.0, *, night_sun_altitude_deg=NIGHT_SUN_ALTITUDE_DEG,
                  method: str = "sgp4") -> Timeline:
    """Rate and fidelity of a satellite's dual down-link to station A and each station B over
    ``[start, start + duration_s)`` sampled every ``step_s`` seconds, Earth rotating.

    ``satellite``: a `qsense.ephemeris.KeplerElements` or ``Tle`` (``orbit_preset``);
    stations: ``(lat_deg, lon_deg, alt_km)``; ``stations_b`` a non-empty list of them (G), a
    (G, 3) array, or numpy arrays ``(lat (G,), lon (G,), alt)`` (three stations written as a
    list of three tuples are three stations). A sample is usable when both stations see the
    satellite at or above ``link.min_elevation_deg`` and the Sun is below
    ``night_sun_altitude_deg`` at both (``None``: day and night; daytime background is then
    not modelled, so only use it for geometry). The link's own ``altitude_km`` is NOT used:
    the orbit decides the geometry. Every argument is checked before any work: a bad one
    raises a ValueError naming it and what it accepts.
    """
    from qsense import ephemeris as E

    check_link_kind(link, SatelliteLink)
    if is_concrete(link):
        link.validate()
    if not isinstance(satellite, (E.KeplerElements, E.Tle)):
        fail("satellite", satellite, "one qsense.ephemeris.KeplerElements or Tle (e.g. "
             "qsense.orbits.orbit_preset('micius'))")
    la, lo, al = _station_a(station_a)
    lb, ob, ab = _stations_b(stations_b)
    start = E._utc(start, "start")
    duration_s = _real_scalar("duration_s", duration_s, "a finite duration > 0 s")
    if not (np.isfinite(duration_s) and duration_s > 0):
        fail("duration_s", duration_s, "a finite duration > 0 s")
    accepted = f"a step in (0, duration_s = {duration_s}] s"
    step_s = _real_scalar("step_s", step_s, accepted)
    if not (np.isfinite(step_s) and 0 < step_s <= duration_s):
        fail("step_s", step_s, accepted)
    if night_sun_altitude_deg is not None:
        accepted = "None (day and night) or a Sun altitude in [-90, 90] deg"
        night_sun_altitude_deg = _real_scalar("night_sun_altitude_deg", night_sun_altitude_deg,
                                              accepted)
        if not -90 <= night_sun_altitude_deg <= 90:
            fail("night_sun_altitude_deg", night_sun_altitude_deg, accepted)
    t = np.arange(0.0, duration_s, step_s)
    pos = E.satellite_ecef(satellite, start, t, method=method)[0]  # (T, 3)
    el_a, _, d_a = E.look_angles(la, lo, al, pos)
    el_b, _, d_b = E.look_angles(lb, ob, ab, pos)  # (G, T)
    if night_sun_altitude_deg is None:
        sun_a, sun_b = np.full_like(el_a, -90.0), np.full_like(el_b, -90.0)
        night = np.ones_like(el_b, bool)
    else:  # the Sun moves 0.25 deg/min in the Earth-fixed frame: a 10-min grid, interpolated
        coarse = np.arange(0.0, t[-1] + 600.0, 600.0)  # (error < 1e-3 deg in altitude)
        sc = E.sun_ecef(start, coarse)
        sun = np.stack([np.interp(t, coarse, sc[:, k]) for k in range(3)], axis=-1)
        sun_a = E.look_angles(la, lo, al, sun)[0]
        sun_b = E.look_angles(lb, ob, ab, sun)[0]
        night = (sun_a[None, :] < night_sun_altitude_deg) & (sun_b < night_sun_altitude_deg)
    mask = float(link.min_elevation_deg)
    up = (el_a[None, :] >= mask) & (el_b >= mask)
    usable = up & night
    r, f = _timeline_stats(link, d_a, el_a, d_b, el_b)
    rate = np.where(usable, np.asarray(r), 0.0)
    fid = np.where(usable, np.asarray(f), 0.25)
    return Timeline(t, el_a, el_b, sun_a, sun_b, up, night, usable, rate, fid)


@jax.jit
def _timeline_stats(link, d_a, el_a, d_b, el_b):
    eta_a = downlink_efficiency(link, d_a, el_a)
    eta_b = downlink_efficiency(link, d_b, el_b)
    st = pair_statistics(link, eta_a[None, :], eta_b)
    return st.rate_hz, st.fidelity


class PassStats(NamedTuple):
    """Per station pair (arrays (G,)): passes and rates averaged over the timeline."""

    passes_per_day: np.ndarray  # usable windows (contiguous usable samples) per day
    duty_cycle: np.ndarray  # fraction of time usable
    pairs_per_day: np.ndarray  # detected pairs per day (clear sky)
    rate_pass_hz: np.ndarray  # pairs / usable time: the rate while the link is up
    rate_day_hz: np.ndarray  # pairs per second averaged over the day, weather included
    fidelity: np.ndarray  # pair-weighted mean Werner fidelity (0.25 if no pairs)
    mean_pass_s: np.ndarray  # mean usable window length (s; 0 if none)


def pass_statistics(tl: Timeline, clear_sky_probability=1.0) -> PassStats:
    """Passes per day, duty cycle and rates of a `link_timeline`.

    ``clear_sky_probability``: chance that both stations have a clear sky during a pass (one
    number, or (p_A, p_B) multiplied as independent); it scales the day-averaged rate only
    (clouds block the link; they do not change it while it is up).
    """
    p = np.prod(np.atleast_1d(np.asarray(clear_sky_probability, float)))
    if not 0 <= p <= 1:
        fail("clear_sky_probability", clear_sky_probability, "probabilities in [0, 1]")
    dt = float(tl.times_s[1] - tl.times_s[0]) if tl.times_s.size > 1 else 1.0
    days = tl.times_s.size * dt / 86400.0
    u = tl.usable.astype(int)
    starts = np.sum(np.diff(u, axis=-1, prepend=0) == 1, axis=-1)
    usable_s = u.sum(-1) * dt
    pairs = tl.rate_hz.sum(-1) * dt
    good = (tl.rate_hz * tl.fidelity).sum(-1) * dt
    rate_pass = np.where(usable_s > 0, pairs / np.where(usable_s > 0, usable_s, 1), 0.0)
    fid = np.where(pairs > 0, good / np.where(pairs > 0, pairs, 1), 0.25)
    return PassStats(starts / days, usable_s / (days * 86400.0), pairs / days, rate_pass,
                     p * pairs / (days * 86400.0), fid,
                     np.where(starts > 0, usable_s / np.maximum(starts, 1), 0.0))


def passes(tl: Timeline, pair: int = 0) -> list[dict]:
    """The usable windows of station pair ``pair``: start/end (s after start), duration (s),
    peak elevations (deg), detected pairs, mean rate (Hz) and pair-weighted fidelity."""
    u = tl.usable[pair].astype(int)
    dt = float(tl.times_s[1] - tl.times_s[0]) if tl.times_s.size > 1 else 1.0
    edges = np.diff(np.concatenate([[0], u, [0]]))
    out = []
    for i0, i1 in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0], strict=True):
        r = tl.rate_hz[pair, i0:i1]
        n = float(r.sum() * dt)
        out.append({"start_s": float(tl.times_s[i0]), "end_s": float(tl.times_s[i1 - 1] + dt),
                    "duration_s": (i1 - i0) * dt,
                    "max_elevation_a_deg": float(tl.elevation_a_deg[i0:i1].max()),
                    "max_elevation_b_deg": float(tl.elevation_b_deg[pair, i0:i1].max()),
                    "pairs": n, "mean_rate_hz": n / ((i1 - i0) * dt),
                    "fidelity": float((r * tl.fidelity[pair, i0:i1]).sum() * dt / n)
                    if n > 0 else 0.25})
    return out
