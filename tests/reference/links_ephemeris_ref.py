"""Independent references for qsense.ephemeris (nothing imported from qsense).

* a circular two-body orbit written from its geometry (node vector, in-plane normal), rotated
  into the Earth-fixed frame by the Earth rotation angle that skyfield gives for that UT1 instant;
* SGP4 run directly (`sgp4` package) with skyfield's own TEME -> ITRS rotation;
* station-satellite and station-Sun elevations from skyfield's topocentric pipeline;
* Earth occlusion of a segment by brute-force sampling of points along it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

MU = 398600.4418  # km^3/s^2
A_EQ = 6378.137  # km
B_POL = A_EQ * (1 - 1 / 298.257223563)
OMEGA_E = 7.292115146706979e-5  # rad/s


def _ts():
    import warnings

    import skyfield_data
    from skyfield.api import Loader

    with warnings.catch_warnings():  # the expired UT1 table is not read: builtin timescale
        warnings.filterwarnings("ignore", message=r".*finals2000A\.all has expired",
                                category=RuntimeWarning)
        path = skyfield_data.get_skyfield_data_path()
    load = Loader(path, expire=False)
    return load, load.timescale(builtin=True)


def _ut1_times(start: dt.datetime, times_s):
    from sgp4.api import jday

    _, ts = _ts()
    jd, fr = jday(start.year, start.month, start.day, start.hour, start.minute, start.second)
    return ts.ut1_jd(jd + fr + np.asarray(times_s) / 86400.0)


def circular_orbit_ecef(altitude_km, inc_deg, raan_deg, u0_deg, start, times_s):
    """(T, 3) km: r(t) = a (cos u n + sin u m) in the inertial frame, u = u0 + n t, then rotated
    by GMST(start) + omega_E t (Earth rotating at a constant rate over the window)."""
    a = A_EQ + altitude_km
    i, o = np.radians(inc_deg), np.radians(raan_deg)
    node = np.array([np.cos(o), np.sin(o), 0.0])
    normal = np.array([np.sin(o) * np.sin(i), -np.cos(o) * np.sin(i), np.cos(i)])
    m = np.cross(normal, node)
    t = np.asarray(times_s, float)
    u = np.radians(u0_deg) + np.sqrt(MU / a**3) * t
    r = a * (np.cos(u)[:, None] * node + np.sin(u)[:, None] * m)
    theta0 = _ut1_times(start, [0.0]).gmst[0] * np.pi / 12.0  # hours -> rad
    th = theta0 + OMEGA_E * t
    c, s = np.cos(th), np.sin(th)
    return np.stack([c * r[:, 0] + s * r[:, 1], -s * r[:, 0] + c * r[:, 1], r[:, 2]], -1)


def sgp4_ecef(line1: str, line2: str, start: dt.datetime, times_s):
    """(T, 3) km: SGP4 TEME positions rotated to ITRS by skyfield (no polar motion)."""
    from sgp4.api import Satrec, jday
    from skyfield.sgp4lib import TEME_to_ITRF

    sat = Satrec.twoline2rv(line1, line2)
    jd, fr = jday(start.year, start.month, start.day, start.hour, start.minute, start.second)
    t = np.asarray(times_s, float)
    out = []
    for x in t:
        f = fr + x / 86400.0
        e, r, v = sat.sgp4(jd, f)
        assert e == 0
        rr, _ = TEME_to_ITRF(jd + f, np.array(r), np.array(v))
        out.append(rr)
    return np.array(out)


def skyfield_elevation(line1, line2, lat, lon, alt_km, start, times_s):
    """Elevation (deg) and range (km) of a TLE satellite from skyfield's topocentric path."""
    from skyfield.api import EarthSatellite, wgs84

    _, ts = _ts()
    sat = EarthSatellite(line1, line2, ts=ts)
    t = _utc_times(start, times_s)
    alt, _, dist = (sat - wgs84.latlon(lat, lon, elevation_m=alt_km * 1e3)).at(t).altaz()
    return alt.degrees, dist.km


def _utc_times(start, times_s):
    _, ts = _ts()
    t0 = ts.utc(start.year, start.month, start.day, start.hour, start.minute, start.second)
    return ts.tt_jd(t0.tt + np.asarray(times_s, float) / 86400.0)


def skyfield_sun_elevation(lat, lon, start, times_s):
    """Geometric (no refraction) elevation of the Sun (deg) from skyfield + DE421."""
    from skyfield.api import wgs84

    load, _ = _ts()
    eph = load("de421.bsp")
    obs = eph["earth"] + wgs84.latlon(lat, lon)
    alt, _, _ = obs.at(_utc_times(start, times_s)).observe(eph["sun"]).apparent().altaz()
    return alt.degrees


def segment_blocked(p, q, margin_km, n=20001):
    """Brute force: sample the segment; blocked if any sample is inside the inflated
    ellipsoid x^2/(a+m)^2 + y^2/(a+m)^2 + z^2/(b+m)^2 < 1."""
    s = np.linspace(0, 1, n)[:, None]
    x = np.asarray(p) + s * (np.asarray(q) - np.asarray(p))
    a, b = A_EQ + margin_km, B_POL + margin_km
    return bool(np.any((x[:, 0] ** 2 + x[:, 1] ** 2) / a**2 + x[:, 2] ** 2 / b**2 < 1))


def skyfield_visible_seconds(satrec, lat, lon, alt_km, start, duration_s, mask_deg):
    """Seconds the satellite spends above ``mask_deg`` (skyfield find_events: rise/set
    instants), and the number of rises, over [start, start + duration)."""
    from skyfield.api import EarthSatellite, wgs84

    _, ts = _ts()
    sat = EarthSatellite.from_satrec(satrec, ts)
    t0 = ts.utc(start.year, start.month, start.day, start.hour, start.minute, start.second)
    t1 = ts.tt_jd(t0.tt + duration_s / 86400.0)
    topo = wgs84.latlon(lat, lon, elevation_m=alt_km * 1e3)
    times, events = sat.find_events(topo, t0, t1, altitude_degrees=mask_deg)
    secs = (times.tt - t0.tt) * 86400.0
    total, up_since = 0.0, None
    alt0 = (sat - topo).at(t0).altaz()[0].degrees
    if alt0 >= mask_deg:
        up_since = 0.0
    for s, e in zip(secs, events, strict=True):
        if e == 0:
            up_since = s
        elif e == 2 and up_since is not None:
            total += s - up_since
            up_since = None
    if up_since is not None:
        total += duration_s - up_since
    return total, int(np.sum(events == 0))
