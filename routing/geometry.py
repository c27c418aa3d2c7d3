"""Where the nodes of a satellite-aerial-terrestrial network are, and who sees whom, per slot.

Frame and Earth model
---------------------
Positions are Earth-centred, Earth-fixed (ECEF) Cartesian vectors in kilometres on the spherical
Earth of :mod:`qsense.links` (``R = 6371 km``), so the elevations and slant ranges computed here
are the ones the link model (:func:`qsense.links.downlink_efficiency`) was written for. Ground
stations and HAPs are fixed in ECEF (the Earth rotates under the satellites, not under them):
a station at latitude φ, longitude λ, altitude h is ``(R + h)(cos φ cos λ, cos φ sin λ, sin φ)``;
a HAP is held ``hap_altitude_km`` (≈ 20 km) above its city.

Satellites come from :mod:`qsense.ephemeris` (sgp4 propagation of Walker-delta elements to
ECEF, Earth rotating) when that module is present; until then :func:`walker_ecef` propagates the
same Walker-delta circular orbits by two-body motion and rotates the Earth at
``EARTH_ROTATION_RAD_S`` (Greenwich meridian on the x axis at t = 0).

Visibility (a link exists in a slot only if it is visible at every sample of the slot)
--------------------------------------------------------------------------------------
* ground-satellite, ground-HAP: elevation at the ground station above its mask
  (``elevation = asin(((b - a) · â) / |b - a|)``, â the local vertical at a); the mask also
  hides the Earth (elevation < 0 is below the horizon).
* HAP-satellite: elevation at the HAP above ``hap_sat_mask_deg`` (the ray then climbs
  monotonically and never crosses the Earth or the denser air below the HAP).
* satellite-satellite, HAP-HAP: Earth occlusion by the lowest point of the straight ray,
  ``min_s |a + s (b - a)| - R`` over ``s ∈ [0, 1]``, which must stay above a grazing altitude
  (``isl_grazing_km`` above the sensible atmosphere for satellites; ``a2a_grazing_km`` above
  the weather for HAPs), and a maximum range.
"""

from __future__ import annotations

import math

import numpy as np

from qsense.links import EARTH_MU_KM3_S2, EARTH_RADIUS_KM

#: Earth's rotation rate relative to the stars (rad/s), IERS value.
EARTH_ROTATION_RAD_S = 7.2921150e-5


def geodetic_to_ecef(lat_deg, lon_deg, alt_km=0.0) -> np.ndarray:
    """ECEF position (km) of a point at latitude, longitude (deg) and altitude (km), spherical
    Earth. Broadcasts; the last axis of the result holds (x, y, z)."""
    lat = np.radians(np.asarray(lat_deg, float))
    lon = np.radians(np.asarray(lon_deg, float))
    r = EARTH_RADIUS_KM + np.asarray(alt_km, float)
    return np.stack([r * np.cos(lat) * np.cos(lon), r * np.cos(lat) * np.sin(lon),
                     r * np.sin(lat) * np.ones_like(lon)], axis=-1)


def ecef_to_geodetic(p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`geodetic_to_ecef`: latitude, longitude (deg), altitude (km)."""
    p = np.asarray(p, float)
    r = np.linalg.norm(p, axis=-1)
    lat = np.degrees(np.arcsin(p[..., 2] / r))
    lon = np.degrees(np.arctan2(p[..., 1], p[..., 0]))
    return lat, lon, r - EARTH_RADIUS_KM


def destination_point(lat_deg: float, lon_deg: float, bearing_deg, distance_km):
    """Point reached from (lat, lon) along a great circle with initial bearing (deg from north)
    after ``distance_km`` on the sphere of radius R (standard spherical navigation formula)."""
    lat1, lon1 = math.radians(lat_deg), math.radians(lon_deg)
    b = np.radians(np.asarray(bearing_deg, float))
    d = np.asarray(distance_km, float) / EARTH_RADIUS_KM
    lat2 = np.arcsin(np.sin(lat1) * np.cos(d) + np.cos(lat1) * np.sin(d) * np.cos(b))
    lon2 = lon1 + np.arctan2(np.sin(b) * np.sin(d) * np.cos(lat1),
                             np.cos(d) - np.sin(lat1) * np.sin(lat2))
    return np.degrees(lat2), (np.degrees(lon2) + 180.0) % 360.0 - 180.0


def great_circle_km(a, b) -> np.ndarray:
    """Great-circle distance (km) on the sphere R between the radial projections of a and b."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ua = a / np.linalg.norm(a, axis=-1, keepdims=True)
    ub = b / np.linalg.norm(b, axis=-1, keepdims=True)
    # atan2 of |cross| and dot: accurate for small and large angles
    ang = np.arctan2(np.linalg.norm(np.cross(ua, ub), axis=-1), np.sum(ua * ub, axis=-1))
    return EARTH_RADIUS_KM * ang


def slant_range_km(a, b) -> np.ndarray:
    """Straight-line distance (km) between ECEF points (broadcasts)."""
    return np.linalg.norm(np.asarray(b, float) - np.asarray(a, float), axis=-1)


def elevation_deg(observer, target) -> np.ndarray:
    """Elevation (deg) of ``target`` above the local horizontal plane at ``observer`` (ECEF km;
    broadcasts). 90 = straight overhead, < 0 below the horizon."""
    o, t = np.asarray(observer, float), np.asarray(target, float)
    up = o / np.linalg.norm(o, axis=-1, keepdims=True)
    d = t - o
    s = np.sum(d * up, axis=-1) / np.linalg.norm(d, axis=-1)
    return np.degrees(np.arcsin(np.clip(s, -1.0, 1.0)))


def ray_min_altitude_km(a, b) -> np.ndarray:
    """Lowest altitude (km above R) of the straight segment from a to b (ECEF km; broadcasts).

    The closest point of the segment to the Earth's centre is at ``s* = clip(-a·(b-a)/|b-a|²,
    0, 1)``; negative values mean the Earth blocks the line of sight.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = b - a
    dd = np.sum(d * d, axis=-1)
    s = np.clip(-np.sum(a * d, axis=-1) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    p = a + s[..., None] * d
    return np.linalg.norm(p, axis=-1) - EARTH_RADIUS_KM


def walker_elements(n_satellites: int, n_planes: int, phasing: int, altitude_km: float,
                    inclination_deg: float, raan0_deg: float = 0.0) -> list[dict]:
    """Walker-delta ``i: t/p/f`` circular orbits (Walker 1984): plane j has RAAN
    ``raan0 + 360 j/p``, satellite s of plane j has argument of latitude
    ``360 s/(t/p) + 360 f j/t`` at t = 0.

    Returns one dict per satellite: ``altitude_km, inclination_deg, raan_deg, arg_lat_deg``.
    """
    if n_satellites == 0:
        return []
    if not (n_planes >= 1 and n_satellites % n_planes == 0):
        raise ValueError(f"walker n_planes = {n_planes!r} is invalid; accepted: a divisor of "
                         f"n_satellites = {n_satellites}")
    if not (0 <= phasing < n_planes):
        raise ValueError(f"walker phasing = {phasing!r} is invalid; accepted: integer in "
                         f"[0, n_planes - 1 = {n_planes - 1}]")
    per = n_satellites // n_planes
    out = []
    for j in range(n_planes):
        for s in range(per):
            out.append({"altitude_km": float(altitude_km),
                        "inclination_deg": float(inclination_deg),
                        "raan_deg": (raan0_deg + 360.0 * j / n_planes) % 360.0,
                        "arg_lat_deg": (360.0 * s / per + 360.0 * phasing * j / n_satellites)
                        % 360.0})
    return out


def walker_ecef(elements: list[dict], times_s) -> np.ndarray:
    """ECEF positions (km), shape ``(len(times), n_sat, 3)``, of circular orbits (two-body) with
    the Earth rotating at ``EARTH_ROTATION_RAD_S`` (Greenwich on the inertial x axis at t = 0).

    Inertial position of a circular orbit of radius r: ``r (cos Ω cos u - sin Ω sin u cos i,
    sin Ω cos u + cos Ω sin u cos i, sin u sin i)``, u = u0 + n t, n = sqrt(μ/r³); ECEF is that
    rotated by ``-ω_E t`` about z.
    """
    t = np.asarray(times_s, float)
    if not elements:
        return np.zeros((t.size, 0, 3))
    r = EARTH_RADIUS_KM + np.array([e["altitude_km"] for e in elements])
    inc = np.radians([e["inclination_deg"] for e in elements])
    raan = np.radians([e["raan_deg"] for e in elements])
    u0 = np.radians([e["arg_lat_deg"] for e in elements])
    n = np.sqrt(EARTH_MU_KM3_S2 / r**3)
    u = u0[None, :] + n[None, :] * t[:, None]
    x = r * (np.cos(raan) * np.cos(u) - np.sin(raan) * np.sin(u) * np.cos(inc))
    y = r * (np.sin(raan) * np.cos(u) + np.cos(raan) * np.sin(u) * np.cos(inc))
    z = r * np.sin(u) * np.sin(inc) * np.ones_like(u)
    th = EARTH_ROTATION_RAD_S * t[:, None]
    return np.stack([np.cos(th) * x + np.sin(th) * y, -np.sin(th) * x + np.cos(th) * y, z],
                    axis=-1)


def satellite_ecef(elements: list[dict], times_s) -> np.ndarray:
    """Satellite ECEF positions ``(len(times), n_sat, 3)`` km; see the module docstring."""
    return walker_ecef(elements, times_s)
