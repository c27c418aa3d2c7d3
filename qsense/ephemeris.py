"""Where satellites, ground stations and the Sun are: Earth-fixed positions over time.

Numpy, vectorized over satellites x times (not on the JAX hot path: geometry is computed once per
scenario and handed to the JAX link models as arrays).

Frames and units
----------------
* ECEF (Earth-centred, Earth-fixed; km). The pseudo-Earth-fixed frame of Vallado et al.,
  "Revisiting Spacetrack Report #3", AIAA 2006-6753 (the SGP4 reference): TEME rotated about z by
  the Greenwich mean sidereal time (IAU 1982, :func:`gmst_rad`); polar motion (< 20 m) is
  neglected. Times are seconds after a reference ``start`` (a UTC ``datetime``); UT1 = UTC
  (|UT1 - UTC| < 0.9 s, i.e. < 0.4 km of Earth rotation at the equator).
* Ground stations: geodetic latitude/longitude (deg) and height (km) on the WGS-84 ellipsoid
  (:func:`station_ecef`); elevation is measured from the local geodetic horizon.
* Earth occlusion (:func:`line_of_sight`): the WGS-84 ellipsoid inflated by a grazing margin
  ``margin_km`` (semi-axes ``a + m, a + m, b + m``); a segment that comes closer is blocked. A few
  tens of km of margin keep inter-satellite and satellite-HAP beams out of the dense atmosphere.

Orbits
------
* :class:`KeplerElements` (semi-major axis, eccentricity, angles in degrees, epoch) — or
  :class:`Tle` (two-line element set) — propagated by :func:`satellite_ecef` with
  ``method="sgp4"`` (the `sgp4` package, WGS-72 constants as SGP4 requires; elements are taken as
  SGP4 mean elements, with the Kozai mean motion ``sqrt(mu / a^3)``) or ``method="kepler"`` (two
  bodies) or ``"kepler_j2"`` (two bodies plus the first-order J2 secular drift of node, perigee
  and mean anomaly, Vallado, "Fundamentals of Astrodynamics", 4th ed., eqs. 9-41..9-43, on the
  Brouwer axis SGP4 derives from the same elements, :func:`brouwer_axis_km`: it follows SGP4
  within SGP4's short-period terms, ~10-20 km in LEO over days).
* :func:`walker_delta`: Walker-delta constellation ``i: t/p/f`` (Walker, J. Br. Interplanet. Soc.
  24, 369 (1971)): ``p`` planes with RAAN ``360 k / p``, ``t/p`` satellites per plane spaced
  ``360 / (t/p)`` in mean anomaly, plane ``k`` shifted by ``360 f k / t``.

The Sun (:func:`sun_ecef`) comes from `skyfield` with the JPL DE421 ephemeris that ships in the
`skyfield-data` package (no download at run time).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
from collections.abc import Sequence

import numpy as np

from qsense._checks import fail, is_int

#: WGS-84 equatorial radius (km) and flattening (NIMA TR8350.2).
WGS84_A_KM = 6378.137
WGS84_F = 1.0 / 298.257223563
WGS84_B_KM = WGS84_A_KM * (1.0 - WGS84_F)
#: Earth gravitational parameter (km^3/s^2), WGS-84 / IERS.
MU_KM3_S2 = 398600.4418
#: Second zonal harmonic J2 (WGS-84 / EGM96, unnormalized).
J2 = 1.08262668e-3
#: Mean Earth rotation rate relative to the mean equinox (rad/s), IERS.
OMEGA_EARTH_RAD_S = 7.292115146706979e-5
#: Julian date of J2000.0 (2000-01-01 12:00 TT; used here on the UTC/UT1 scale as SGP4 does).
JD_J2000 = 2451545.0

_UTC = _dt.timezone.utc


# ----------------------------------------------------------------------------- time


def _utc(when: _dt.datetime, name: str = "start") -> _dt.datetime:
    if not isinstance(when, _dt.datetime):
        fail(name, when, "a datetime (UTC; naive datetimes are read as UTC)")
    return when.replace(tzinfo=_UTC) if when.tzinfo is None else when.astimezone(_UTC)


def julian_date(when: _dt.datetime) -> tuple[float, float]:
    """``(jd, fr)``: the Julian date of a UTC datetime split as SGP4 wants (day, fraction)."""
    from sgp4.api import jday

    w = _utc(when, "when")
    jd, fr = jday(w.year, w.month, w.day, w.hour, w.minute,
                  w.second + w.microsecond * 1e-6)
    return float(jd), float(fr)


def _jd_times(start: _dt.datetime, times_s) -> tuple[np.ndarray, np.ndarray]:
    jd, fr = julian_date(start)
    t = np.asarray(times_s, dtype=float)
    if not np.all(np.isfinite(t)):
        fail("times_s", t[~np.isfinite(t)].tolist(), "finite seconds after start")
    day = fr + t / 86400.0
    whole = np.floor(day)
    return jd + whole, day - whole


def gmst_rad(jd, fr=0.0) -> np.ndarray:
    """Greenwich mean sidereal time (rad, in [0, 2 pi)) at UT1 Julian date ``jd + fr``.

    IAU 1982 (Aoki et al. 1982), the angle SGP4's TEME frame is rotated by (Vallado 2006).
    """
    tut1 = ((np.asarray(jd) - JD_J2000) + np.asarray(fr)) / 36525.0
    sec = (-6.2e-6 * tut1**3 + 0.093104 * tut1**2
           + (876600.0 * 3600.0 + 8640184.812866) * tut1 + 67310.54841)
    return np.mod(np.radians(sec / 240.0), 2 * np.pi)


def _rot_z(vec: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Coordinates of ``vec`` (..., 3) in a frame rotated by ``angle`` about z."""
    c, s = np.cos(angle), np.sin(angle)
    x, y, z = vec[..., 0], vec[..., 1], vec[..., 2]
    return np.stack([c * x + s * y, -s * x + c * y, z], axis=-1)


def teme_to_ecef(r_teme, jd, fr=0.0) -> np.ndarray:
    """TEME position(s) (..., 3) km -> ECEF at UT1 Julian date ``jd + fr`` (polar motion
    neglected)."""
    return _rot_z(np.asarray(r_teme, float), gmst_rad(jd, fr))


# ----------------------------------------------------------------------------- orbits


@dataclasses.dataclass(frozen=True)
class KeplerElements:
    """Osculating (two-body) or SGP4-mean orbital elements. Angles in degrees, km, UTC epoch."""

    semi_major_axis_km: float
    eccentricity: float = 0.0
    inclination_deg: float = 0.0
    raan_deg: float = 0.0
    arg_perigee_deg: float = 0.0
    mean_anomaly_deg: float = 0.0
    epoch: _dt.datetime = _dt.datetime(2024, 1, 1, tzinfo=_UTC)
    bstar: float = 0.0  # SGP4 drag term (1/earth radii); 0 = no drag
    name: str = ""

    @classmethod
    def circular(cls, altitude_km: float, inclination_deg: float, raan_deg: float = 0.0,
                 arg_latitude_deg: float = 0.0, epoch: _dt.datetime | None = None,
                 name: str = "") -> KeplerElements:
        """Circular orbit at ``altitude_km`` above the WGS-84 equatorial radius (semi-major
        axis ``6378.137 km + altitude_km``); the satellite sits at argument of latitude
        ``arg_latitude_deg`` (from the ascending node) at ``epoch``.

        Altitude convention: `qsense.links` (``SatelliteLink.altitude_km``, the link formulas)
        measures altitude above a 6371 km sphere instead, so the same "400 km" is an orbit
        7.137 km larger here than there (``links.EARTH_RADIUS_KM``, module doc of
        `qsense.links`)."""
        kw = {} if epoch is None else {"epoch": _utc(epoch, "epoch")}
        return cls(WGS84_A_KM + altitude_km, 0.0, inclination_deg, raan_deg, 0.0,
                   arg_latitude_deg, name=name, **kw).validate()

    @property
    def altitude_km(self) -> float:
        """Mean altitude above the WGS-84 equatorial radius 6378.137 km (km): ``a - 6378.137``
        (not above `qsense.links`' 6371 km sphere, which would read 7.137 km more)."""
        return self.semi_major_axis_km - WGS84_A_KM

    @property
    def period_s(self) -> float:
        """Two-body period ``2 pi sqrt(a^3 / mu)`` (s)."""
        return float(2 * np.pi * np.sqrt(self.semi_major_axis_km**3 / MU_KM3_S2))

    def validate(self) -> KeplerElements:
        a, e = float(self.semi_major_axis_km), float(self.eccentricity)
        if not np.isfinite(e) or not 0.0 <= e < 1.0:
            fail("eccentricity", self.eccentricity, "a value in [0, 1) (closed orbits)")
        if not np.isfinite(a) or a * (1 - e) < WGS84_A_KM + 100.0:
            fail("semi_major_axis_km", self.semi_major_axis_km,
                 f"a perigee a(1-e) above {WGS84_A_KM + 100.0:.1f} km (100 km altitude)")
        if not 0.0 <= float(self.inclination_deg) <= 180.0:
            fail("inclination_deg", self.inclination_deg, "a value in [0, 180] degrees")
        for f in ("raan_deg", "arg_perigee_deg", "mean_anomaly_deg", "bstar"):
            if not np.isfinite(float(getattr(self, f))):
                fail(f, getattr(self, f), "a finite value")
        _utc(self.epoch, "epoch")
        return self

    def satrec(self):
        """An `sgp4` ``Satrec`` initialised from these elements (WGS-72, improved mode)."""
        from sgp4.api import WGS72, Satrec

        self.validate()
        jd, fr = julian_date(self.epoch)
        n_rad_min = np.sqrt(MU_KM3_S2 / self.semi_major_axis_km**3) * 60.0
        sat = Satrec()
        sat.sgp4init(WGS72, "i", 0, (jd - 2433281.5) + fr, self.bstar, 0.0, 0.0,
                     self.eccentricity, np.radians(self.arg_perigee_deg),
                     np.radians(self.inclination_deg), np.radians(self.mean_anomaly_deg),
                     n_rad_min, np.radians(self.raan_deg))
        return sat


#: Characters in each line of a two-line element set (NORAD format: 68 columns + checksum).
TLE_LINE_LENGTH = 69
#: Largest span (days) between a TLE's epoch and a propagated time, either side, before
#: :func:`satellite_ecef` warns (UserWarning): SGP4 from a TLE degrades quickly (LEO errors grow
#: by ~km per day, mostly along track: drag and the element-set fit), so passes a month or more
#: from the epoch are not those of the real satellite.
TLE_MAX_AGE_DAYS = 30.0


def tle_checksum(line: str) -> int:
    """NORAD checksum of a TLE line: the sum of the digits of its first 68 columns, each
    ``-`` counting 1, modulo 10 (column 69 holds it)."""
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


@dataclasses.dataclass(frozen=True)
class Tle:
    """A two-line element set (``line1``, ``line2``; NORAD format), with its provenance.

    Checked on creation (a ValueError naming the field): each line is a string of
    :data:`TLE_LINE_LENGTH` (69) characters (trailing whitespace dropped) starting with its
    line number, ``1`` or ``2``, and a blank; column 69 is the checksum (:func:`tle_checksum`);
    both lines carry the same catalog number (columns 3-7); SGP4 parses them. A truncated or
    corrupted line used to propagate to NaN positions or to wrong elements silently.
    """

    line1: str
    line2: str
    name: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        for k, field in ((1, "line1"), (2, "line2")):
            line = getattr(self, field)
            if not isinstance(line, str):
                fail(field, line, f"a string: TLE line {k} ({TLE_LINE_LENGTH} characters)")
            line = line.rstrip()
            object.__setattr__(self, field, line)
            if len(line) != TLE_LINE_LENGTH:
                fail(field, line, f"TLE line {k}: {TLE_LINE_LENGTH} characters (NORAD format), "
                     f"not {len(line)} (truncated or padded?)")
            if line[:2] != f"{k} ":
                fail(f"{field} line number", line[:2],
                     f"'{k} ': TLE line {k} starts with its line number and a blank")
            if not line[68].isdigit() or int(line[68]) != tle_checksum(line):
                fail(f"{field} checksum", line[68],
                     f"{tle_checksum(line)}, the sum of the digits of columns 1-68 ('-' counts "
                     "1) mod 10: a digit of the line is corrupted, or the checksum is wrong")
        if self.line1[2:7] != self.line2[2:7]:
            fail("line2 catalog number", self.line2[2:7].strip(),
                 f"line 1's catalog number {self.line1[2:7].strip()!r} (the two lines of one "
                 "satellite)")
        self.satrec()

    def satrec(self):
        from sgp4.api import Satrec

        sat = Satrec.twoline2rv(self.line1, self.line2)
        if sat.error:
            fail("tle", self.name or self.line1, f"a parsable TLE (sgp4 error {sat.error})")
        return sat

    @property
    def epoch(self) -> _dt.datetime:
        s = self.satrec()
        return (_dt.datetime(2000 + s.epochyr if s.epochyr < 57 else 1900 + s.epochyr, 1, 1,
                             tzinfo=_UTC) + _dt.timedelta(days=s.epochdays - 1.0))

    @property
    def elements(self) -> KeplerElements:
        """The TLE's mean elements as :class:`KeplerElements` (semi-major axis from the Kozai
        mean motion, two-body; for display and presets, not for propagation)."""
        s = self.satrec()
        n = s.no_kozai / 60.0
        return KeplerElements((MU_KM3_S2 / n**2) ** (1 / 3), s.ecco, np.degrees(s.inclo),
                              np.degrees(s.nodeo), np.degrees(s.argpo), np.degrees(s.mo),
                              self.epoch, s.bstar, self.name)


def walker_delta(total: int, planes: int, phasing: int, altitude_km: float,
                 inclination_deg: float, epoch: _dt.datetime | None = None,
                 raan0_deg: float = 0.0) -> list[KeplerElements]:
    """Walker-delta constellation ``inclination: total/planes/phasing`` of circular orbits.

    Satellite ``j`` of plane ``k`` (``k < planes``, ``j < total/planes``): RAAN
    ``raan0 + 360 k / planes``, argument of latitude ``360 j / s + 360 phasing k / total`` with
    ``s = total / planes``. Returned plane by plane.
    """
    for name, v in (("total", total), ("planes", planes), ("phasing", phasing)):
        if not is_int(v):
            fail(name, v, "an integer")
    if total < 1:
        fail("total", total, "an integer >= 1")
    if planes < 1 or total % planes:
        fail("planes", planes, f"a divisor of total = {total} (>= 1)")
    if not 0 <= phasing < planes:
        fail("phasing", phasing, f"an integer in [0, planes - 1 = {planes - 1}]")
    s = total // planes
    return [KeplerElements.circular(
        altitude_km, inclination_deg, np.mod(raan0_deg + 360.0 * k / planes, 360.0),
        np.mod(360.0 * j / s + 360.0 * phasing * k / total, 360.0), epoch,
        name=f"walker-{k}-{j}") for k in range(planes) for j in range(s)]


def _solve_kepler(m: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Eccentric anomaly from mean anomaly (Newton, converged to machine precision)."""
    big_e = np.where(e < 0.8, m, np.pi * np.ones_like(m))
    for _ in range(30):
        big_e = big_e - (big_e - e * np.sin(big_e) - m) / (1 - e * np.cos(big_e))
    return big_e


def brouwer_axis_km(a_km, e, inc_rad) -> np.ndarray:
    """The Brouwer mean semi-major axis (km) of SGP4 mean elements whose Kozai mean motion is
    ``sqrt(mu / a^3)`` (the convention of :class:`KeplerElements`): SGP4's own "un-Kozai"
    step (Hoots & Roehrich, Spacetrack Report No. 3 (1980); Vallado et al., AIAA 2006-6753,
    ``sgp4init``): ``d1 = 3/4 J2 (3 cos^2 i - 1) / (1 - e^2)^(3/2)``, ``del = d1 / (a/R)^2``,
    ``a' = a (1 - del/3 - del^2 - 134/81 del^3)``, ``del' = d1 / (a'/R)^2``, ``n'' = n / (1 +
    del')``, and ``a'' = (mu / n''^2)^(1/3)``. ``a''`` exceeds ``a`` by ~0.03 % in LEO: the
    mean anomaly then advances at about ``sqrt(mu / a^3)``, as in SGP4. Broadcasts."""
    a, e, inc = (np.asarray(x, float) for x in (a_km, e, inc_rad))
    d1 = 0.75 * J2 * (3 * np.cos(inc) ** 2 - 1) / (1 - e**2) ** 1.5
    dl = d1 / (a / WGS84_A_KM) ** 2
    a1 = a * (1 - dl / 3 - dl**2 - 134 / 81 * dl**3)
    return a * (1 + d1 / (a1 / WGS84_A_KM) ** 2) ** (2 / 3)


def j2_secular_rates(a_km, e, inc_rad) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First-order secular J2 rates (rad/s) of Brouwer mean elements ``a`` (km), ``e``, ``i``
    (rad): ``(dRAAN/dt, d(arg perigee)/dt, dM/dt)``, with ``n = sqrt(mu / a^3)``, ``p = a (1 -
    e^2)``, ``k = 3/2 J2 (R / p)^2 n``: ``-k cos i``, ``k/2 (5 cos^2 i - 1)`` and ``n + k/2
    sqrt(1 - e^2) (3 cos^2 i - 1)`` (Vallado, 4th ed., eqs. 9-41..9-43; SGP4's ``nodedot``,
    ``argpdot``, ``mdot`` without their J2^2 and J4 terms). Broadcasts."""
    a, e, inc = (np.asarray(x, float) for x in (a_km, e, inc_rad))
    n = np.sqrt(MU_KM3_S2 / a**3)
    k = 1.5 * J2 * (WGS84_A_KM / (a * (1 - e**2))) ** 2 * n
    c2 = np.cos(inc) ** 2
    return -k * np.cos(inc), 0.5 * k * (5 * c2 - 1), n + 0.5 * k * np.sqrt(1 - e**2) * (3 * c2 - 1)


def _kepler_eci(els: Sequence[KeplerElements], t_epoch_s: np.ndarray, j2: bool) -> np.ndarray:
    """Inertial (mean equator/equinox of date ~ TEME) positions (S, T, 3) km; ``t_epoch_s``
    (S, T) seconds after each satellite's epoch."""
    col = lambda f: np.array([float(getattr(x, f)) for x in els])[:, None]  # noqa: E731
    a, e = col("semi_major_axis_km"), col("eccentricity")
    inc, raan = np.radians(col("inclination_deg")), np.radians(col("raan_deg"))
    argp, m0 = np.radians(col("arg_perigee_deg")), np.radians(col("mean_anomaly_deg"))
    if j2:  # SGP4's mean elements: the Brouwer axis, then the J2 secular rates
        a = brouwer_axis_km(a, e, inc)
        raan_dot, argp_dot, n = j2_secular_rates(a, e, inc)
        raan = raan + raan_dot * t_epoch_s
        argp = argp + argp_dot * t_epoch_s
    else:
        n = np.sqrt(MU_KM3_S2 / a**3)
    m = np.mod(m0 + n * t_epoch_s, 2 * np.pi)
    big_e = _solve_kepler(m, np.broadcast_to(e, m.shape))
    xp = a * (np.cos(big_e) - e)
    yp = a * np.sqrt(1 - e**2) * np.sin(big_e)
    cw, sw, co, so, ci, si = (np.cos(argp), np.sin(argp), np.cos(raan), np.sin(raan),
                              np.cos(inc), np.sin(inc))
    x = (co * cw - so * sw * ci) * xp + (-co * sw - so * cw * ci) * yp
    y = (so * cw + co * sw * ci) * xp + (-so * sw + co * cw * ci) * yp
    z = (sw * si) * xp + (cw * si) * yp
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def _warn_stale_tles(sats, start: _dt.datetime, t: np.ndarray) -> None:
    """UserWarning for each TLE propagated more than :data:`TLE_MAX_AGE_DAYS` from its epoch."""
    import warnings

    if t.size == 0:
        return
    first = start + _dt.timedelta(seconds=float(t.min()))
    last = start + _dt.timedelta(seconds=float(t.max()))
    for s in sats:
        if not isinstance(s, Tle):
            continue  # elements are exact SGP4 inputs, not a fit to a real satellite's track
        ep = s.epoch
        span = max(abs((first - ep).total_seconds()), abs((last - ep).total_seconds())) / 86400
        if span > TLE_MAX_AGE_DAYS:
            warnings.warn(
                f"TLE {s.name or s.line1[2:7]!r} (epoch {ep:%Y-%m-%d %H:%M} UTC) propagated to "
                f"{span:.1f} days from its epoch ({first:%Y-%m-%d} .. {last:%Y-%m-%d}): SGP4 from "
                "a TLE degrades quickly (LEO: ~km per day), so positions and passes this far "
                f"from the epoch are unreliable (warned beyond TLE_MAX_AGE_DAYS = "
                f"{TLE_MAX_AGE_DAYS:g} days); use a TLE whose epoch is near the window",
                UserWarning, stacklevel=3)


def satellite_ecef(satellites: KeplerElements | Tle | Sequence[KeplerElements | Tle],
                   start: _dt.datetime, times_s, *, method: str = "sgp4") -> np.ndarray:
    """ECEF positions (km) of ``satellites`` at ``start + times_s``: shape (S, T, 3).

    ``method``: ``"sgp4"`` (TLEs or elements through SGP4: J2-J4 secular/periodic terms, drag
    via ``bstar``), ``"kepler"`` (two-body), ``"kepler_j2"`` (two-body + J2 secular drift on
    the elements' Brouwer axis, :func:`brouwer_axis_km`: SGP4 without its periodic terms);
    TLEs accept only ``"sgp4"``. Raises naming the satellite if SGP4 reports an error (decay)
    or a non-finite position; warns (UserWarning) when a TLE is propagated more than
    :data:`TLE_MAX_AGE_DAYS` (30) days from its epoch, either side.
    """
    if isinstance(satellites, (KeplerElements, Tle)):
        satellites = [satellites]
    sats = list(satellites)
    if not sats:
        fail("satellites", satellites, "at least one KeplerElements or Tle")
    if method not in ("sgp4", "kepler", "kepler_j2"):
        fail("method", method, "'sgp4', 'kepler' or 'kepler_j2'")
    start = _utc(start)
    t = np.atleast_1d(np.asarray(times_s, dtype=float))
    if t.ndim != 1:
        fail("times_s.shape", t.shape, "a scalar or a 1-D array of seconds")
    jd, fr = _jd_times(start, t)
    if method == "sgp4":
        from sgp4.api import SatrecArray

        _warn_stale_tles(sats, start, t)

        recs = [s.satrec() for s in sats]
        err, r, _ = SatrecArray(recs).sgp4(jd, fr)
        if np.any(err):
            bad = sorted({(sats[i].name or str(i)) for i in np.nonzero(err)[0]})
            fail("satellites", bad, f"orbits SGP4 can propagate (error codes "
                 f"{sorted(set(err[err != 0].tolist()))}; 6 = decayed)")
        finite = np.all(np.isfinite(r), axis=(1, 2))
        if not finite.all():  # SGP4 can return NaN with error code 0 (e.g. unparsed fields)
            bad = [sats[i].name or str(i) for i in np.nonzero(~finite)[0]]
            fail("satellites", bad, "orbits SGP4 propagates to finite positions (it returned "
                 "NaN without an error code: malformed elements)")
        return teme_to_ecef(r, jd, fr)
    for s in sats:
        if isinstance(s, Tle):
            fail("method", method, "'sgp4' for TLEs (their elements are SGP4 mean elements)")
        s.validate()
    dt0 = np.array([(_utc(s.epoch, "epoch") - start).total_seconds() for s in sats])
    r = _kepler_eci(sats, t[None, :] - dt0[:, None], j2=(method == "kepler_j2"))
    return teme_to_ecef(r, jd, fr)


# ----------------------------------------------------------------------------- ground


def station_ecef(lat_deg, lon_deg, alt_km=0.0) -> np.ndarray:
    """ECEF (km) of geodetic (WGS-84) latitude/longitude (deg) and height (km); broadcasts,
    shape (..., 3)."""
    lat, lon, h = (np.asarray(x, float) for x in np.broadcast_arrays(lat_deg, lon_deg, alt_km))
    if np.any(np.abs(lat) > 90) or not np.all(np.isfinite(lat)):
        fail("lat_deg", lat.tolist(), "latitudes in [-90, 90] degrees")
    if not np.all(np.isfinite(lon)):
        fail("lon_deg", lon.tolist(), "finite longitudes (degrees)")
    if np.any(h < -0.5) or not np.all(np.isfinite(h)):
        fail("alt_km", h.tolist(), "finite heights >= -0.5 km")
    phi, lam = np.radians(lat), np.radians(lon)
    e2 = WGS84_F * (2 - WGS84_F)
    n = WGS84_A_KM / np.sqrt(1 - e2 * np.sin(phi) ** 2)
    return np.stack([(n + h) * np.cos(phi) * np.cos(lam), (n + h) * np.cos(phi) * np.sin(lam),
                     (n * (1 - e2) + h) * np.sin(phi)], axis=-1)


@dataclasses.dataclass(frozen=True)
class GroundStation:
    """A ground station (or a high-altitude platform: ``alt_km`` ~ 20)."""

    name: str
    lat_deg: float
    lon_deg: float
    alt_km: float = 0.0

    @property
    def ecef(self) -> np.ndarray:
        return station_ecef(self.lat_deg, self.lon_deg, self.alt_km)


def _enu_basis(lat_deg, lon_deg) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    phi, lam = np.radians(np.asarray(lat_deg, float)), np.radians(np.asarray(lon_deg, float))
    east = np.stack([-np.sin(lam), np.cos(lam), np.zeros_like(lam)], axis=-1)
    north = np.stack([-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)],
                     axis=-1)
    up = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)
    return east, north, up


def look_angles(lat_deg, lon_deg, alt_km, target_ecef) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
    """``(elevation_deg, azimuth_deg, slant_km)`` of ECEF targets seen from stations.

    Stations: arrays of shape (G,) (or scalars); targets: (..., 3). Results have shape
    (G, ...) (scalars: (...)). Elevation above the geodetic horizon; azimuth from north
    through east in [0, 360).
    """
    lat, lon, alt = np.broadcast_arrays(*(np.asarray(x, float) for x in (lat_deg, lon_deg,
                                                                           alt_km)))
    tgt = np.asarray(target_ecef, float)
    if tgt.shape[-1:] != (3,):
        fail("target_ecef.shape", tgt.shape, "(..., 3) ECEF km")
    st = station_ecef(lat, lon, alt)
    e, n, u = _enu_basis(lat, lon)
    extra = (1,) * (tgt.ndim - 1)
    sh = lat.shape + extra + (3,)
    los = tgt - st.reshape(sh)
    rng = np.linalg.norm(los, axis=-1)
    east, north, up = (np.sum(los * b.reshape(sh), -1) for b in (e, n, u))
    # atan2 of the vertical and horizontal parts, not asin(up / range): near the zenith one
    # ulp of that ratio is ~1e-6 deg of elevation, and which ulp depends on the BLAS
    el = np.degrees(np.arctan2(up, np.hypot(east, north)))
    az = np.mod(np.degrees(np.arctan2(east, north)), 360.0)
    return el, az, rng


def line_of_sight(p_ecef, q_ecef, margin_km: float = 0.0) -> np.ndarray:
    """True where the straight segment p -> q clears the Earth (broadcasts over (..., 3)).

    The Earth is the WGS-84 ellipsoid inflated by ``margin_km`` (grazing altitude: a beam
    passing lower is blocked; use ~20-100 km to keep inter-satellite beams out of the
    atmosphere). Exact: scaling z by ``(a + m) / (b + m)`` maps that ellipsoid onto a sphere.
    Endpoints inside the inflated ellipsoid (e.g. a ground station with ``margin_km > 0``) only
    count the part of the segment beyond their own surroundings: for them, pass ``margin_km``
    below their altitude or use :func:`look_angles` with an elevation mask.
    """
    if not np.isfinite(margin_km) or margin_km < 0:
        fail("margin_km", margin_km, "a finite grazing altitude >= 0 km")
    a, b = WGS84_A_KM + margin_km, WGS84_B_KM + margin_km
    return _scaled_min_norm(p_ecef, q_ecef, a / b) >= a


def _scaled_min_norm(p_ecef, q_ecef, z_scale: float) -> np.ndarray:
    """Distance from the centre to the segment p -> q after scaling z by ``z_scale``."""
    s = np.array([1.0, 1.0, z_scale])
    ps, qs = np.asarray(p_ecef, float) * s, np.asarray(q_ecef, float) * s
    d = qs - ps
    dd = np.sum(d * d, -1)
    u = np.clip(-np.sum(ps * d, -1) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    return np.linalg.norm(ps + u[..., None] * d, axis=-1)


def segment_clearance_km(p_ecef, q_ecef) -> np.ndarray:
    """Lowest altitude of the segment p -> q above the WGS-84 ellipsoid, to first order in
    the flattening (km; negative: it crosses the Earth). Broadcasts over (..., 3).

    Computed on the sphere obtained by scaling z by ``a / b`` (the ellipsoid maps onto the
    sphere of radius a): the height above that sphere is the clearance, exact in the
    equatorial plane and at most ``a / b`` times too large towards the poles (< 0.34 %).
    :func:`line_of_sight` is exact for its inflated ellipsoid.
    """
    return _scaled_min_norm(p_ecef, q_ecef, WGS84_A_KM / WGS84_B_KM) - WGS84_A_KM


# ----------------------------------------------------------------------------- the Sun


@functools.lru_cache(maxsize=1)
def _skyfield():
    """(timescale, earth, sun) from the files bundled with `skyfield-data` (no download)."""
    import warnings

    from skyfield.api import Loader

    # skyfield-data warns that its UT1 table (finals2000A.all) has expired whenever its path
    # is asked for; that table is unused here: the timescale is skyfield's builtin one
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*finals2000A\.all has expired",
                                category=RuntimeWarning)
        import skyfield_data

        path = skyfield_data.get_skyfield_data_path()
    load = Loader(path, expire=False)
    ts = load.timescale(builtin=True)
    eph = load("de421.bsp")
    return ts, eph["earth"], eph["sun"]


def sun_ecef(start: _dt.datetime, times_s) -> np.ndarray:
    """Apparent geocentric position of the Sun in the Earth-fixed (ITRS) frame, km, (T, 3).

    Skyfield + DE421 (valid 1900-2050) from `skyfield-data`.
    """
    from skyfield.framelib import itrs

    start = _utc(start)
    t = np.atleast_1d(np.asarray(times_s, dtype=float))
    if start.year < 1900 or start.year > 2049:
        fail("start", start.isoformat(), "a date in 1900-2049 (DE421 coverage)")
    ts, earth, sun = _skyfield()
    t0 = ts.from_datetime(start)
    tt = ts.tt_jd(t0.tt + t / 86400.0)
    return np.asarray(earth.at(tt).observe(sun).apparent().frame_xyz(itrs).km).T


def sun_elevation_deg(lat_deg, lon_deg, start: _dt.datetime, times_s) -> np.ndarray:
    """Elevation of the Sun's centre above the geodetic horizon (deg, geometric: no
    refraction), shape (G, T) for stations (G,), or (T,) for a scalar station."""
    el, _, _ = look_angles(lat_deg, lon_deg, 0.0, sun_ecef(start, times_s))
    return el


# ----------------------------------------------------------------------------- bundled TLEs


def bundled_tle(name: str = "micius") -> Tle:
    """A TLE shipped in ``qsense/data/<name>.tle`` (comment lines ``#`` state provenance).

    ``micius``: a representative Micius (NORAD 41731) element set composed from published
    elements (not a downloaded TLE; see the file's header).
    """
    from importlib import resources

    fname = f"{name}.tle"
    root = resources.files("qsense") / "data"
    if not (root / fname).is_file():
        have = sorted(p.name[:-4] for p in root.iterdir() if p.name.endswith(".tle"))
        fail("name", name, f"one of the bundled TLEs {have}")
    text = (root / fname).read_text()
    comments = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("#")]
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    l1 = next(ln for ln in lines if ln.startswith("1 "))
    l2 = next(ln for ln in lines if ln.startswith("2 "))
    title = next((ln for ln in lines if ln[:2] not in ("1 ", "2 ")), name)
    return Tle(l1, l2, title, " ".join(comments))
