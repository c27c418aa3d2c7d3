"""Where the nodes of a satellite-aerial-terrestrial network are, and who sees whom, per slot.

Frame and Earth model
---------------------
All positions are Earth-centred, Earth-fixed (ECEF) Cartesian vectors in kilometres, from
:mod:`qsense.ephemeris` (one geometry for sensing and routing): satellites by SGP4 propagation of
Walker-delta elements (:func:`qsense.ephemeris.walker_delta`,
:func:`qsense.ephemeris.satellite_ecef`; the Earth rotates by GMST), ground stations and HAPs at
geodetic coordinates on WGS-84 (:func:`qsense.ephemeris.station_ecef`): a HAP is held
``hap_altitude_km`` (≈ 20 km) above its city, fixed in ECEF. Elevations are from the local
geodetic horizon (:func:`qsense.ephemeris.look_angles`). This module adds what the network
needs on top: station placement on a city disk (spherical great-circle navigation, R = 6371 km,
metres of difference from the ellipsoid at city scale), the ray altitude profile for the
atmosphere of aloft links, and the slot sampling.

Visibility (a link exists in a slot only if it is visible at every sample of the slot)
--------------------------------------------------------------------------------------
* ground-satellite, ground-HAP: elevation at the ground station above its mask
  (``elevation = asin(((b - a) · â) / |b - a|)``, â the local vertical at a); the mask also
  hides the Earth (elevation < 0 is below the horizon).
* HAP-satellite: elevation at the HAP above ``hap_sat_mask_deg`` (the ray then climbs and
  never crosses the Earth or the denser air below the HAP).
* satellite-satellite, HAP-HAP: Earth occlusion by the lowest point of the straight ray above
  the WGS-84 ellipsoid (:func:`qsense.ephemeris.segment_clearance_km`), which must stay above a
  grazing altitude (``isl_grazing_km`` above the sensible atmosphere for satellites;
  ``a2a_grazing_km`` above the weather for HAPs), and a maximum range.
"""

from __future__ import annotations

import numpy as np

from qsense import ephemeris as eph
from qsense import orbits
from qsense.links import EARTH_RADIUS_KM


def destination_point(lat_deg: float, lon_deg: float, bearing_deg, distance_km):
    """Point reached from (lat, lon) along a great circle with initial bearing (deg from north)
    after ``distance_km`` on the sphere of radius R (standard spherical navigation formula):
    `qsense.orbits.destination`, which the satellite ground tracks use."""
    return orbits.destination(lat_deg, lon_deg, bearing_deg, distance_km)


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


def geodetic_height_km(p) -> np.ndarray:
    """Height (km) above the WGS-84 ellipsoid of ECEF points (..., 3): fixed-point iteration on
    the geodetic latitude (converges to < 1 mm in a few steps below 1000 km)."""
    p = np.asarray(p, float)
    e2 = 1.0 - (eph.WGS84_B_KM / eph.WGS84_A_KM) ** 2
    rho = np.hypot(p[..., 0], p[..., 1])
    lat = np.arctan2(p[..., 2], rho * (1.0 - e2))
    for _ in range(5):
        n = eph.WGS84_A_KM / np.sqrt(1.0 - e2 * np.sin(lat) ** 2)
        # height along the normal, from whichever of rho / z is better conditioned
        h = np.where(np.abs(np.cos(lat)) > 0.5, rho / np.cos(lat) - n,
                     p[..., 2] / np.sin(lat) - n * (1.0 - e2))
        lat = np.arctan2(p[..., 2], rho * (1.0 - e2 * n / (n + h)))
    n = eph.WGS84_A_KM / np.sqrt(1.0 - e2 * np.sin(lat) ** 2)
    return np.where(np.abs(np.cos(lat)) > 0.5, rho / np.cos(lat) - n,
                    p[..., 2] / np.sin(lat) - n * (1.0 - e2))


def ray_altitudes_km(a, b, s) -> np.ndarray:
    """Geodetic heights (km above WGS-84) of the points ``a + s (b - a)``; ``s`` has shape (n,),
    the result (..., n)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    pts = a[..., None, :] + np.asarray(s, float)[:, None] * (b - a)[..., None, :]
    return geodetic_height_km(pts)


def sample_times(start_s: float, n_slots: int, slot_duration: float, samples: int) -> np.ndarray:
    """Sample times (s after the epoch), shape (n_slots, samples): slot t spans
    ``[start + t δ, start + (t+1) δ]``; samples are its two ends and evenly spaced points between
    them (one sample: its middle)."""
    frac = np.array([0.5]) if samples == 1 else np.linspace(0.0, 1.0, samples)
    return start_s + (np.arange(n_slots)[:, None] + frac[None, :]) * slot_duration
