"""Entanglement-distribution links: satellite dual down-links, fiber repeater chains, Werner rules.

Everything is JAX, vectorized over distances (broadcasting) and differentiable with respect to the
link's design knobs (the float fields of :class:`SatelliteLink` / :class:`FiberLink`, both
pytrees). Units: kilometres for distances and altitudes, metres for apertures and wavelengths,
radians inside the formulas (degrees at the API where noted), seconds, hertz.

Satellite down-link (one photon of a pair, satellite -> ground station)
-----------------------------------------------------------------------
* Geometry: spherical Earth, ``R = 6371 km``; a station at ground (great-circle) distance ``s``
  (``0 <= s <= pi R``: half the circumference, beyond it a ValueError) from the sub-satellite
  point sees the satellite at altitude ``h`` at central angle ``theta = s / R``, slant range
  ``d = sqrt(R^2 + (R+h)^2 - 2 R (R+h) cos theta)`` (law of cosines) and elevation
  ``sin(el) = ((R+h) cos theta - R) / d``. Overhead ``d = h``.
* Altitude convention: ``h`` (``SatelliteLink.altitude_km``) is the height above this
  6371 km sphere, orbit radius ``R + h``. `qsense.ephemeris.KeplerElements.circular` (hence
  `qsense.orbits.circular_orbit`, the real passes of fig4) measures altitude above the WGS-84
  equatorial radius 6378.137 km instead: the same "400 km" is an orbit 7.137 km larger there.
  Both conventions are kept (the link formulas and the SGP4 elements each match their
  sources); convert with ``h_sphere = h_wgs84 + 6378.137 - 6371``.
* Beam: a Gaussian beam of waist ``w0`` (1/e^2 intensity radius at the transmitter), wavelength
  ``lambda`` and beam-quality factor ``M^2`` (1 = diffraction limited) has radius
  ``w(d) = w0 sqrt(1 + (d / z_R)^2)`` with ``z_R = pi w0^2 / (M^2 lambda)``; its far-field
  half-angle divergence is ``M^2 lambda / (pi w0)``.
* Pointing jitter: a random beam-centroid offset with rms ``sigma`` (rad, per axis) convolves
  the mean intensity with a Gaussian of variance ``(sigma d)^2`` per axis, i.e. the mean beam is
  Gaussian with ``w_eff^2 = w^2 + 4 (sigma d)^2`` (exact for the mean collected power).
* Collection: a circular receiver of diameter ``D`` centred on the mean beam collects
  ``1 - exp(-2 (D/2)^2 / w_eff^2)``.
* Atmosphere: ``T_zenith ** sec(zenith)`` with ``zenith = 90 deg - el`` (plane-parallel
  atmosphere; Bourgoin et al., New J. Phys. 15, 023006 (2013), section 3). Down-link turbulence
  broadening is neglected (the beam crosses the atmosphere only in its last ~20 km, where it is
  already metres wide; Bourgoin 2013, section 3.3).
* Low-elevation excess (empirical): ``excess_loss_db_sec3 * sec(zenith)^3`` dB. Extinction and
  geometry alone cannot give both Micius anchors: the single down-links (Yin et al., PRL 119,
  200501 (2017): ~29 dB at 530 km, ~36 dB at 1000 km) fix the airmass slope near T_zenith = 0.78,
  and with it the two-down-link loss at 2400 km summed length (one station at ~9 deg) comes out
  ~8 dB below the 82 dB measured (Yin et al., Science 356, 1140 (2017)). The missing loss grows
  much faster than the airmass; candidates are receiver coupling under low-elevation seeing
  (r0 ~ sin(el)^(3/5)) and horizon haze. We do not model them: one coefficient, fitted to the
  four anchors (residuals <= 0.35 dB), stands in, and is negligible above ~25 deg
  (0.037 * 2.4^3 = 0.5 dB at 25 deg, 7 dB at 10 deg).
* Efficiencies: transmitter optics, receiver optics, detector (all in [0, 1]).
* A link is usable only at elevation ``>= min_elevation_deg``; below it its transmittance is 0.

Dual down-link (one on-board pair source, one photon to each station)
---------------------------------------------------------------------
Pair source rate ``R`` (pairs/s) of fidelity ``F_src`` (Werner). With link efficiencies
``eta_A``, ``eta_B``, true coincidences ``C = R eta_A eta_B``, singles
``S_X = R eta_X + n_bg`` (``n_bg``: background + dark counts of a station, counts/s) and
accidental coincidences ``A = S_A S_B tau`` in a window ``tau`` (standard accidental-coincidence
model; e.g. Ma, Fung, Lo, Phys. Rev. A 76, 012307 (2007); Bourgoin 2013 section 5). Accidental
pairs are uncorrelated, i.e. maximally mixed (fidelity 1/4), so the detected pairs have
``rate = C + A`` and ``F = (C F_src + A / 4) / (C + A)``. The detected-pair rate is an upper
bound on the rate of pairs that can be stored and used (memory loading is not modelled).

Fiber repeater chain (Sangouard et al., Rev. Mod. Phys. 83, 33 (2011), sections II-III)
---------------------------------------------------------------------------------------
``n`` repeaters split the distance ``L`` into ``m = n + 1`` elementary links of ``L0 = L/m``.
Each elementary link is heralded by a two-photon Bell measurement at its midpoint: each memory
emits a photon that crosses ``L0/2`` of fiber, so one attempt succeeds with
``p0 = p_bsm (eta_m eta_d)^2 10^(-alpha L0 / 10)`` (``p_bsm = 1/2`` for linear optics), with
``M`` multiplexed modes ``P = 1 - (1 - p0)^M``. An attempt lasts ``T0 = L0 / c_f + 1 / f_rep``
(photon to the midpoint and herald back, plus the local clock). Links are attempted in parallel
and, once all ``m`` exist, the ``m - 1`` swaps are made at once; each succeeds with
``swap_success`` (linear-optics Bell measurement: 1/2; Sangouard 2011 section III) and any
failure discards the whole chain, which restarts. The expected number of rounds per try is the
expected maximum of ``m`` geometric variables, ``E[K] = sum_{j=1}^m (-1)^(j+1) C(m, j) /
(1 - (1 - P)^j)`` (exact), so ``rate = p_swap^(m-1) / (T0 E[K])`` (the number of tries is
geometric; tries are independent). Memory cutoffs have no closed form:
`qsense.memory.chain_monte_carlo` simulates them (and checks this formula without cutoff).
Fidelity: swapping Werner pairs multiplies their Werner parameters ``w = (4F - 1)/3``
(DESIGN section 3). Memories depolarize, ``w -> w exp(-t / T_mem)`` per stored qubit. A link
made in round ``K_i`` waits ``(K_max - K_i) T0`` for the last one, on two memories; every link
waits ``T0`` for its herald; the end memories wait ``L / c_f`` for the swap outcomes. We use the
mean waiting time in the exponent, ``E[sum_i (K_max - K_i)] = m (E[K] - 1/P)`` rounds
(Jensen: ``E[exp(-X)] >= exp(-E[X])``, so the returned fidelity is a lower bound on the mean
fidelity under this model). Gate errors of the swap enter as a Werner factor ``w_swap`` per swap.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import comb

from qsense._checks import fail, is_concrete, is_int, real_array

#: Mean Earth radius (km), spherical-Earth model (IUGG mean radius R1 = 6371.0088 km).
EARTH_RADIUS_KM = 6371.0
#: Standard gravitational parameter of the Earth (km^3/s^2), IERS/WGS-84 value.
EARTH_MU_KM3_S2 = 398600.4418
#: Lowest altitude accepted for a satellite (km): the Karman line, top of the sensible atmosphere.
MIN_ALTITUDE_KM = 100.0
#: Speed of light in vacuum (km/s).
C_VACUUM_KM_S = 299792.458
#: Largest ground (great-circle) distance between two points of the spherical Earth (km): half
#: its circumference, ``pi R`` (~20 015 km). A point farther along a great circle is nearer the
#: other way round, and the geometry below (central angle ``s / R``) would wrap silently.
MAX_GROUND_DISTANCE_KM = float(np.pi * EARTH_RADIUS_KM)


# ----------------------------------------------------------------------------- validation


def _check_range(name: str, x, lo: float, hi: float, accepted: str | None = None) -> None:
    if is_concrete(x):
        # a string or a complex number is named here, not by float()'s TypeError
        a = real_array(name, x, accepted or f"finite real values in [{lo}, {hi}]").astype(float)
        if not np.all(np.isfinite(a)) or np.any(a < lo) or np.any(a > hi):
            bad = a[~(np.isfinite(a) & (a >= lo) & (a <= hi))] if a.ndim else a
            fail(name, bad.tolist(), accepted or f"finite values in [{lo}, {hi}]")


def check_distance(name: str, x) -> None:
    """Lengths (a fiber's) must be finite and >= 0 km (no upper bound: a fiber route may be
    longer than any ground distance). Ground distances: :func:`check_ground_distance`."""
    _check_range(name, x, 0.0, np.inf, "finite distances >= 0 km")


def check_ground_distance(name: str, x) -> None:
    """Ground (great-circle) distances on the sphere must lie in ``[0, pi R]`` km."""
    _check_range(name, x, 0.0, MAX_GROUND_DISTANCE_KM,
                 f"ground (great-circle) distances in [0, pi R = {MAX_GROUND_DISTANCE_KM:.1f}] "
                 f"km (R = {EARTH_RADIUS_KM} km: half the Earth's circumference)")


def check_offset(separation_km, offset_km, name: str = "offset_km") -> None:
    """A sub-satellite point ``offset_km`` from the midpoint of stations ``separation_km`` apart
    (checked first) must be finite and leave both stations within ``pi R`` of it:
    ``separation_km / 2 + |offset_km| <= pi R``."""
    if is_concrete(separation_km, offset_km):
        off = real_array(name, offset_km, "finite real offsets in km").astype(float)
        sep, off = np.broadcast_arrays(np.asarray(separation_km, dtype=float), off)
        bad = ~np.isfinite(off) | ~(sep / 2 + np.abs(off) <= MAX_GROUND_DISTANCE_KM)
        if bad.any():
            fail(name, off[bad].tolist() if off.ndim else float(off),
                 f"finite offsets with separation_km / 2 + |{name}| <= pi R = "
                 f"{MAX_GROUND_DISTANCE_KM:.1f} km (each station at most half the Earth's "
                 "circumference from the sub-satellite point)")


def check_fidelity(name: str, f) -> None:
    """Werner fidelities live in [1/4, 1] (1/4: maximally mixed pair)."""
    _check_range(name, f, 0.25, 1.0, "fidelities in [0.25, 1]")


def check_altitude(name: str, h) -> None:
    _check_range(name, h, MIN_ALTITUDE_KM, np.inf,
                 f"altitudes >= {MIN_ALTITUDE_KM} km (above the atmosphere)")


def check_elevation_mask(name: str, e) -> None:
    _check_range(name, e, 0.0, 90.0, "elevation masks in [0, 90] degrees")


# ----------------------------------------------------------------------------- Werner algebra


def _check_state_fidelity(name: str, f) -> None:
    """A Werner state ``F |Phi+><Phi+| + (1-F)/3 (I - |Phi+><Phi+|)`` is a state for F in
    [0, 1] (below 1/4 it is anti-correlated; link fidelities: :func:`check_fidelity`)."""
    _check_range(name, f, 0.0, 1.0, "fidelities in [0, 1] (F > 1 is no state)")


def werner_parameter(fidelity):
    """``w = (4F - 1) / 3`` of a Werner pair of fidelity F in [0, 1] (w = 1: perfect, 0:
    maximally mixed; F outside [0, 1] raises a ValueError, concrete values only)."""
    _check_state_fidelity("fidelity", fidelity)
    return (4.0 * jnp.asarray(fidelity) - 1.0) / 3.0


def werner_fidelity(w):
    """Inverse of :func:`werner_parameter`: ``F = 1/4 + 3 w / 4``."""
    return 0.25 + 0.75 * jnp.asarray(w)


def swap_fidelity(f1, f2):
    """Fidelity after entanglement swapping of two Werner pairs (parameters multiply)."""
    check_fidelity("f1", f1)
    check_fidelity("f2", f2)
    return werner_fidelity(werner_parameter(f1) * werner_parameter(f2))


def chain_fidelity(fidelities, axis: int = -1):
    """Fidelity after swapping a chain of Werner pairs along ``axis``: ``1/4 + 3/4 prod w_i``."""
    check_fidelity("fidelities", fidelities)
    return werner_fidelity(jnp.prod(werner_parameter(fidelities), axis=axis))


def werner_state(fidelity, dtype=None):
    """Two-qubit Werner state ``F |Phi+><Phi+| + (1-F)/3 (I - |Phi+><Phi+|)`` (4x4); F in
    [0, 1] (else a ValueError: the matrix would have a negative eigenvalue)."""
    _check_state_fidelity("fidelity", fidelity)
    dtype = dtype or jnp.result_type(complex)
    phi = jnp.array([1, 0, 0, 1], dtype) / np.sqrt(2)
    proj = jnp.outer(phi, phi.conj())
    f = jnp.asarray(fidelity).astype(dtype)
    return f * proj + (1 - f) / 3 * (jnp.eye(4, dtype=dtype) - proj)


# ----------------------------------------------------------------------------- link parameters


def _pytree(cls):
    """Register a frozen dataclass as a pytree: float fields are leaves, int fields static."""
    static = [f.name for f in dataclasses.fields(cls) if f.metadata.get("static", False)]
    data = [f.name for f in dataclasses.fields(cls) if f.name not in static]
    return jax.tree_util.register_dataclass(cls, data_fields=data, meta_fields=static)


@_pytree
@dataclasses.dataclass(frozen=True)
class SatelliteLink:
    """A satellite carrying an entangled-pair source and two down-link telescopes.

    Defaults: the Micius hardware (Yin et al., Science 356, 1140 (2017), "Yin 2017") at the LEO
    altitude of the seed's Fig. 4; every default carries its source below (the experiments'
    ``fig4.satellite`` section is this dataclass; ``conf/link/*.yaml`` profiles are deltas).
    """

    altitude_km: float = 400.0  # orbit altitude above the 6371 km sphere (orbit radius
    # 6771 km; KeplerElements.circular's 400 km is above 6378.137 km: module doc); seed Fig. 4
    # LEO (Micius itself: ~500 km)
    wavelength_m: float = 810e-9  # Micius SPDC pair wavelength (Yin 2017)
    tx_waist_m: float = 0.067  # transmit beam waist (assumption, in a 300 mm telescope)
    beam_quality_m2: float = 1.3  # near-diffraction-limited; w0, M^2 give the ~10 urad full
    # (5 urad 1/e^2 half-angle) divergence of Yin 2017
    rx_aperture_m: float = 1.2  # receiver diameter; Micius Delingha station 1.2 m (Yin 2017)
    pointing_jitter_rad: float = 0.4e-6  # rms per axis; Micius fine tracking ~0.4 urad (Yin 2017)
    zenith_transmittance: float = 0.78  # fitted to the Micius anchors (clear sky ~0.8 at 800 nm,
    # Bourgoin 2013, MODTRAN)
    tx_efficiency: float = 0.5  # transmit optics (assumption; cf. Bourgoin 2013 table 2)
    rx_efficiency: float = 0.066  # receive optics + coupling, lumped; FITTED with
    # zenith_transmittance and excess_loss_db_sec3 to four Micius anchors: single down-link
    # ~29 dB at 530 km and ~36 dB at 1000 km (Yin et al., PRL 119, 200501 (2017)); two
    # down-links 64 dB at 1600 km and 82 dB at 2400 km summed length (Yin 2017); residuals
    # <= 0.35 dB (tests/qsense/test_links.py checks all four to +-1.5 dB)
    excess_loss_db_sec3: float = 0.037  # dB x sec(zenith)^3: empirical low-elevation excess
    # (seeing-limited receiver coupling / horizon haze, not modelled; module doc), fitted as above
    detector_efficiency: float = 0.5  # Si SPAD at 810 nm (typical; Bourgoin 2013 table 2)
    min_elevation_deg: float = 10.0  # elevation mask (Liao et al., Nature 549, 43 (2017))
    source_rate_hz: float = 5.9e6  # pairs/s of the Micius on-board source (Yin 2017)
    source_fidelity: float = 0.907  # on-board source fidelity (Yin 2017, ground test)
    background_cps: float = 500.0  # dark + background counts/s per station, night (assumption)
    coincidence_window_s: float = 2.5e-9  # coincidence window (Yin 2017)

    def validate(self) -> SatelliteLink:
        check_altitude("altitude_km", self.altitude_km)
        check_elevation_mask("min_elevation_deg", self.min_elevation_deg)
        check_fidelity("source_fidelity", self.source_fidelity)
        for name in ("tx_efficiency", "rx_efficiency", "detector_efficiency",
                     "zenith_transmittance"):
            _check_range(name, getattr(self, name), 0.0, 1.0, "a value in [0, 1]")
        for name in ("wavelength_m", "tx_waist_m", "rx_aperture_m", "beam_quality_m2"):
            _check_range(name, getattr(self, name), 1e-300, np.inf, "a finite value > 0")
        _check_range("beam_quality_m2", self.beam_quality_m2, 1.0, np.inf, "M^2 >= 1")
        for name in ("pointing_jitter_rad", "source_rate_hz", "background_cps",
                     "coincidence_window_s", "excess_loss_db_sec3"):
            _check_range(name, getattr(self, name), 0.0, np.inf, "a finite value >= 0")
        return self


@_pytree
@dataclasses.dataclass(frozen=True)
class FiberLink:
    """A fiber repeater chain (heralded elementary links, swapping, memories)."""

    attenuation_db_per_km: float = 0.2  # standard telecom fiber at 1550 nm (DESIGN section 3)
    speed_km_s: float = 2.0e5  # light in fiber, c / 1.5 (Sangouard 2011)
    memory_efficiency: float = 0.9  # photon emission/retrieval (Sangouard 2011 comparisons)
    detector_efficiency: float = 0.9  # (Sangouard 2011 comparisons)
    bsm_success: float = 0.5  # linear-optics two-photon Bell measurement (Sangouard 2011)
    elementary_fidelity: float = 0.99  # heralded link fidelity; assumption (Sangouard 2011
    # assumes ideal links; 0.99 is an optimistic near-term value)
    swap_werner_factor: float = 1.0  # Werner factor of a swap's gates (1 = perfect gates)
    swap_success: float = 0.5  # one swap's success probability: linear-optics Bell measurement
    # (Sangouard 2011 sec. III); a failure restarts the chain
    memory_time_s: float = 1.0  # depolarizing memory lifetime; assumption (seconds-scale
    # memories: trapped ions / rare-earth crystals)
    repetition_rate_hz: float = 1.0e6  # local attempt clock (assumption)
    modes: float = 1.0  # multiplexed modes per attempt (Sangouard 2011 sec. IV)
    n_repeaters: int = dataclasses.field(default=10, metadata={"static": True})  # seed Fig. 4

    def validate(self) -> FiberLink:
        if not is_int(self.n_repeaters):
            fail("n_repeaters", self.n_repeaters, "an integer >= 0")
        if not 0 <= int(self.n_repeaters) <= 1000:
            fail("n_repeaters", self.n_repeaters, "an integer in [0, 1000]")
        check_fidelity("elementary_fidelity", self.elementary_fidelity)
        for name in ("memory_efficiency", "detector_efficiency", "bsm_success",
                     "swap_werner_factor"):
            _check_range(name, getattr(self, name), 0.0, 1.0, "a value in [0, 1]")
        for name in ("swap_success",):
            _check_range(name, getattr(self, name), 1e-12, 1.0, "a probability in (0, 1]")
        for name in ():
            _check_range(name, getattr(self, name), 0.0, 1.0, "a value in [0, 1]")
        for name in ("attenuation_db_per_km",):
            _check_range(name, getattr(self, name), 0.0, np.inf, "a finite value >= 0")
        for name in ("speed_km_s", "memory_time_s", "repetition_rate_hz"):
            _check_range(name, getattr(self, name), 1e-300, np.inf, "a finite value > 0")
        _check_range("modes", self.modes, 1.0, np.inf, "a value >= 1")
        return self


# ----------------------------------------------------------------------------- geometry


def central_angle(ground_distance_km):
    """Earth central angle (rad) of a great-circle ground distance (km), in ``[0, pi]``:
    distances beyond ``pi R`` (:data:`MAX_GROUND_DISTANCE_KM`) raise a ValueError."""
    check_ground_distance("ground_distance_km", ground_distance_km)
    return jnp.asarray(ground_distance_km) / EARTH_RADIUS_KM


def slant_range_km(altitude_km, ground_distance_km):
    """Station-satellite distance (km); ``ground_distance_km`` from the sub-satellite point."""
    r, rs = EARTH_RADIUS_KM, EARTH_RADIUS_KM + jnp.asarray(altitude_km)
    th = central_angle(ground_distance_km)
    # 2 r rs (1 - cos th) = 4 r rs sin^2(th/2): no cancellation overhead
    return jnp.sqrt((rs - r) ** 2 + 4 * r * rs * jnp.sin(th / 2) ** 2)


def elevation_deg(altitude_km, ground_distance_km):
    """Elevation of the satellite above the station's horizon (degrees; < 0 below it)."""
    r, rs = EARTH_RADIUS_KM, EARTH_RADIUS_KM + jnp.asarray(altitude_km)
    th = central_angle(ground_distance_km)
    # the satellite seen from the station: rs cos th - r up, rs sin th along the ground.
    # atan2 is smooth at the zenith, where arcsin((rs cos th - r) / d) had an infinite
    # derivative (the gradient of a link at zero separation was nan)
    return jnp.degrees(jnp.arctan2(rs * jnp.cos(th) - r, rs * jnp.sin(th)))


def horizon_distance_km(altitude_km, min_elevation_deg=0.0):
    """Largest ground distance from the sub-satellite point with elevation >= the mask (km).

    ``theta_max = arccos(R cos(el) / (R + h)) - el`` (el = 0: the geometric horizon).
    """
    check_altitude("altitude_km", altitude_km)
    check_elevation_mask("min_elevation_deg", min_elevation_deg)
    el = jnp.radians(jnp.asarray(min_elevation_deg))
    rs = EARTH_RADIUS_KM + jnp.asarray(altitude_km)
    return EARTH_RADIUS_KM * (jnp.arccos(EARTH_RADIUS_KM * jnp.cos(el) / rs) - el)


def max_dual_separation_km(altitude_km, min_elevation_deg=0.0):
    """Largest station separation a dual down-link can serve (satellite over the midpoint)."""
    return 2.0 * horizon_distance_km(altitude_km, min_elevation_deg)


# ----------------------------------------------------------------------------- satellite link


def beam_radius_m(link: SatelliteLink, slant_km):
    """Mean 1/e^2 beam radius at the receiver (m): diffraction + M^2 + pointing jitter."""
    d = jnp.asarray(slant_km) * 1e3
    z_r = jnp.pi * link.tx_waist_m**2 / (link.beam_quality_m2 * link.wavelength_m)
    w2 = link.tx_waist_m**2 * (1.0 + (d / z_r) ** 2)
    return jnp.sqrt(w2 + 4.0 * (link.pointing_jitter_rad * d) ** 2)


def collection_efficiency(link: SatelliteLink, slant_km):
    """Fraction of the mean Gaussian beam collected by the receiver aperture."""
    a = link.rx_aperture_m / 2.0
    return -jnp.expm1(-2.0 * a**2 / beam_radius_m(link, slant_km) ** 2)


def atmospheric_transmittance(link: SatelliteLink, elev_deg):
    """``T_zenith ** sec(zenith) * 10^(-excess sec(zenith)^3 / 10)`` at elevation ``elev_deg``
    (0 at or below the horizon; module docstring)."""
    s = jnp.sin(jnp.radians(jnp.asarray(elev_deg)))
    ok = s > 1e-6
    am = 1.0 / jnp.where(ok, s, 1.0)
    db = -10.0 * jnp.log10(link.zenith_transmittance) * am + link.excess_loss_db_sec3 * am**3
    return jnp.where(ok, 10.0 ** (-db / 10.0), 0.0)


def downlink_efficiency(link: SatelliteLink, slant_km, elev_deg):
    """Total efficiency of one down-link (photon leaves the source -> detection click).

    Zero below the elevation mask. Differentiable in every float field of ``link``.
    """
    eta = (link.tx_efficiency * collection_efficiency(link, slant_km)
           * atmospheric_transmittance(link, elev_deg) * link.rx_efficiency
           * link.detector_efficiency)
    return jnp.where(jnp.asarray(elev_deg) >= link.min_elevation_deg, eta, 0.0)


def loss_db(eta):
    """``-10 log10(eta)`` (inf for eta = 0)."""
    return -10.0 * jnp.log10(eta)


class PairStats(NamedTuple):
    """Detected pairs of a dual down-link (arrays broadcast over the inputs)."""

    rate_hz: jax.Array  # detected coincidences per second, true + accidental
    fidelity: jax.Array  # Werner fidelity of the detected pairs (0.25 where rate = 0)
    eta_a: jax.Array  # efficiency of the link to station A
    eta_b: jax.Array  # efficiency of the link to station B
    visible: jax.Array  # bool: both stations above the elevation mask


def pair_statistics(link: SatelliteLink, eta_a, eta_b) -> PairStats:
    """Rate and fidelity of coincidences for link efficiencies ``eta_a``, ``eta_b``."""
    eta_a, eta_b = jnp.asarray(eta_a), jnp.asarray(eta_b)
    true = link.source_rate_hz * eta_a * eta_b
    s_a = link.source_rate_hz * eta_a + link.background_cps
    s_b = link.source_rate_hz * eta_b + link.background_cps
    acc = s_a * s_b * link.coincidence_window_s
    visible = (eta_a > 0) & (eta_b > 0)
    rate = jnp.where(visible, true + acc, 0.0)
    denom = jnp.where(rate > 0, true + acc, 1.0)
    fid = jnp.where(rate > 0, (true * link.source_fidelity + 0.25 * acc) / denom, 0.25)
    return PairStats(rate, fid, eta_a, eta_b, visible)


def check_link_kind(link, kind: type | tuple[type, ...], name: str = "link") -> None:
    """A ValueError naming ``name`` unless ``link`` is a ``kind`` (or one of several): a
    string or a dict used to fail with an AttributeError about ``validate``."""
    if not isinstance(link, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        fail(name, type(link).__name__,
             "a qsense.links." + " or ".join(k.__name__ for k in kinds))


def dual_downlink(link: SatelliteLink, separation_km, offset_km=0.0, *,
                  link_b: SatelliteLink | None = None, strict: bool = False) -> PairStats:
    """Pairs from a satellite between two stations ``separation_km`` apart (great circle).

    The sub-satellite point lies on the great circle through the stations, ``offset_km`` from
    their midpoint towards station B (0: symmetric, the best geometry). Beyond line of sight
    (either station below the elevation mask) the rate is 0 and ``visible`` is False — the
    physical answer; with ``strict=True`` a concrete call raises a ValueError saying why.
    ``link_b`` (optional) gives station B its own ground segment (aperture, efficiencies,
    atmosphere, mask); the orbit and the source are always ``link``'s. Ground distances lie
    in ``[0, pi R]``: a larger ``separation_km``, a NaN or infinite ``offset_km``, or one that
    puts a station more than ``pi R`` from the sub-satellite point raises a ValueError.
    """
    check_link_kind(link, SatelliteLink)
    link = link.validate() if is_concrete(link) else link
    link_b = link if link_b is None else link_b
    check_link_kind(link_b, SatelliteLink, "link_b")
    if link_b is not link and is_concrete(link_b):
        link_b.validate()
    check_ground_distance("separation_km", separation_km)
    check_offset(separation_km, offset_km)
    sep = jnp.asarray(separation_km)
    off = jnp.asarray(offset_km)
    s_a, s_b = jnp.abs(sep / 2 + off), jnp.abs(sep / 2 - off)
    el_a = elevation_deg(link.altitude_km, s_a)
    el_b = elevation_deg(link.altitude_km, s_b)
    eta_a = downlink_efficiency(link, slant_range_km(link.altitude_km, s_a), el_a)
    eta_b = downlink_efficiency(link_b, slant_range_km(link.altitude_km, s_b), el_b)
    out = pair_statistics(link, eta_a, eta_b)
    if strict and is_concrete(sep, off, link):
        blind = ~np.asarray(out.visible)
        if blind.any():
            smax = float(max_dual_separation_km(link.altitude_km, link.min_elevation_deg))
            fail("separation_km", np.broadcast_to(np.asarray(sep), blind.shape)[blind].tolist(),
                 f"separations the dual down-link can see: a station is below the "
                 f"{float(link.min_elevation_deg)} deg elevation mask (max {smax:.1f} km with "
                 f"the satellite over the midpoint at {float(link.altitude_km)} km); "
                 f"the physical rate there is 0")
    return out


def zero_rate_reason(link: SatelliteLink, separation_km, offset_km=0.0) -> str:
    """Why `dual_downlink` gives no pairs at this (concrete, scalar) geometry; "" if it does.

    Names the station(s) below the elevation mask, their elevations, and the largest
    separation the link can serve with the satellite over the midpoint.
    """
    check_link_kind(link, SatelliteLink)
    link.validate()
    check_ground_distance("separation_km", separation_km)
    check_offset(separation_km, offset_km)
    sep, off = float(separation_km), float(offset_km)
    els = {"A": float(elevation_deg(link.altitude_km, abs(sep / 2 + off))),
           "B": float(elevation_deg(link.altitude_km, abs(sep / 2 - off)))}
    low = [f"station {k} at {v:.2f} deg" for k, v in els.items()
           if v < float(link.min_elevation_deg)]
    if not low:
        return ""
    smax = float(max_dual_separation_km(link.altitude_km, link.min_elevation_deg))
    horizon = " (below the horizon)" if min(els.values()) < 0 else ""
    return (f"no line of sight above the {float(link.min_elevation_deg):g} deg mask: "
            f"{', '.join(low)}{horizon}; a satellite at {float(link.altitude_km):g} km serves "
            f"separations up to {smax:.1f} km")


# ----------------------------------------------------------------------------- fiber


def fiber_transmittance(length_km, attenuation_db_per_km=0.2):
    """``10^(-alpha L / 10)``; 0.2 dB/km gives ``10^(-0.02 L)``. ``length_km`` (a fiber
    length, unbounded) and ``attenuation_db_per_km`` must be finite and >= 0."""
    check_distance("length_km", length_km)
    _check_range("attenuation_db_per_km", attenuation_db_per_km, 0.0, np.inf,
                 "finite attenuations >= 0 dB/km (a fiber does not amplify)")
    return 10.0 ** (-jnp.asarray(attenuation_db_per_km) * jnp.asarray(length_km) / 10.0)


def expected_max_geometric(p, m: int):
    """``E[max of m iid geometric(p) on {1, 2, ...}]`` (exact inclusion-exclusion)."""
    j = np.arange(1, m + 1)
    coef = jnp.asarray(((-1.0) ** (j + 1)) * comb(m, j))
    p = jnp.asarray(p)[..., None]
    # 1 - (1 - p)^j computed without cancellation for small p
    den = -jnp.expm1(j * jnp.log1p(-p))
    return jnp.sum(coef / den, axis=-1)


class ChainStats(NamedTuple):
    rate_hz: jax.Array  # end-to-end pairs per second
    fidelity: jax.Array  # end-to-end Werner fidelity
    p_attempt: jax.Array  # success probability of one elementary-link attempt (all modes)
    mean_rounds: jax.Array  # expected attempt rounds until all elementary links exist


def repeater_chain(link: FiberLink, distance_km) -> ChainStats:
    """Rate and fidelity of a fiber chain with ``link.n_repeaters`` repeaters (module doc)."""
    check_link_kind(link, FiberLink)
    link = link.validate() if is_concrete(link) else link
    check_distance("distance_km", distance_km)
    m = int(link.n_repeaters) + 1
    length = jnp.asarray(distance_km)
    l0 = length / m
    p0 = (link.bsm_success * (link.memory_efficiency * link.detector_efficiency) ** 2
          * 10.0 ** (-link.attenuation_db_per_km * l0 / 10.0))
    p = -jnp.expm1(link.modes * jnp.log1p(-p0))
    t0 = l0 / link.speed_km_s + 1.0 / link.repetition_rate_hz
    rounds = expected_max_geometric(p, m)
    rate = link.swap_success ** (m - 1) / (t0 * rounds)
    # mean total idle time of the elementary links (s): none for one link (m = 1, where
    # rounds - 1/p is pure rounding noise, up to ~1e1 t0 at p ~ 1e-16, and made the
    # fidelity rise with distance past 760 km); never negative
    wait = 0.0 if m == 1 else m * jnp.maximum(rounds - 1.0 / p, 0.0) * t0
    decay = jnp.exp(-(2.0 * wait + 2.0 * m * t0 + 2.0 * length / link.speed_km_s)
                    / link.memory_time_s)
    w = (werner_parameter(link.elementary_fidelity) ** m
         * link.swap_werner_factor ** (m - 1) * decay)
    return ChainStats(rate, werner_fidelity(w), p, rounds)
