"""Per-link pair rate and Werner fidelity from :mod:`qsense.links`: one link model for sensing
and routing.

Every free-space link of the routing graph is an elementary entanglement link between its two
ends: the *transmitter* (the higher node: satellite > HAP > ground station) carries an entangled
pair source and a transmit telescope, keeps one photon (detected / stored locally with its own
``detector_efficiency``) and sends the other to the *receiver*. With the terminal profiles
(``SatelliteLink`` dataclasses; only the fields named here are read):

* transmitter: ``wavelength_m, tx_waist_m, beam_quality_m2, pointing_jitter_rad, tx_efficiency,
  source_rate_hz, source_fidelity, coincidence_window_s`` and its local ``detector_efficiency``;
* receiver: ``rx_aperture_m, rx_efficiency, detector_efficiency, background_cps,
  zenith_transmittance, excess_loss_db_sec3, min_elevation_deg`` (its site's atmosphere and the
  mask of links it sees from the ground).

Channel efficiency ``η``:

* receiver on the ground (S2G, A2G): :func:`qsense.links.downlink_efficiency` at the slant range
  and the elevation seen from the station (Gaussian beam + jitter, plane-parallel atmosphere
  ``T_zenith^(1/sin el)`` with the empirical low-elevation excess ``excess_loss_db_sec3 ·
  sec³(zenith)`` dB, zero below the mask) — the sensing side's down-link, unchanged;
* both ends aloft (S2S, S2A, A2A): ``tx_efficiency · collection_efficiency(slant) · T_path ·
  rx_efficiency · detector_efficiency`` with the same beam, and ``T_path`` the transmittance of an
  exponential atmosphere (scale height ``SCALE_HEIGHT_KM``) along the straight ray,
  ``T = exp(-τ_z/H ∫ exp(-alt(s)/H) ds)``, ``τ_z = -ln T_zenith``: a vertical ray from sea level
  gets exactly ``T_zenith``, so the two atmospheres agree where both apply (the sec³ excess is
  an empirical ground-station term and is not applied to rays that stay aloft).

Pairs: :func:`qsense.links.pair_statistics` with ``η_a`` = the transmitter's local detector
efficiency and ``η_b = η`` (true coincidences ``R η_a η_b``, accidentals ``S_a S_b τ``); it gives
the detected pair rate (pairs/s) and the Werner fidelity. Ground fiber links (G2G):
:func:`qsense.links.repeater_chain` over the fiber length (``n_repeaters`` 0 by default: one
heralded elementary link between neighbouring stations).

**Capacity** of a link in a slot (pairs per slot, the unit of C4) = ``δ × mean rate`` over the
slot's sample times (pairs/s × s); the link is present only when visible at every sample and
carrying at least ``min_pairs_per_slot``. **Fidelity** in a slot = the rate-weighted mean of the
sample fidelities (the fidelity of an average pair generated in the slot).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from qsense import links as ql

#: Scale height of the exponential atmosphere used for rays that do not touch the ground (km);
#: the US Standard Atmosphere's density scale height near the ground is 8.4 km, the aerosol
#: extinction (which dominates at ~800 nm) about 1.2 km; 6 km is a conservative middle.
SCALE_HEIGHT_KM = 6.0

#: Default terminal profiles (overrides of qsense.links.SatelliteLink fields).
#: satellite: the Micius hardware of qsense.links (conf/link/leo.yaml).
#: hap: a stratospheric platform terminal: 5 cm waist near the diffraction limit, 40 cm receive
#: aperture, 1 urad jitter (assumptions in the range of Liu et al., Natl. Sci. Rev. 7, 921 (2020)
#: for drones, scaled up); ground stations see HAPs above a 15 deg mask.
#: ground: a 1.2 m receive telescope (Delingha, Yin 2017) with the 10 deg mask of qsense.links.
TERMINALS = {
    "satellite": {},
    "hap": {"tx_waist_m": 0.05, "beam_quality_m2": 1.3, "rx_aperture_m": 0.4,
            "pointing_jitter_rad": 1.0e-6, "min_elevation_deg": 0.0},
    "ground": {"min_elevation_deg": 10.0},
}
#: mask (deg) of a ground station towards a HAP (the HAP terminal's own mask is for satellites)
HAP_GROUND_MASK_DEG = 15.0
#: In-city fiber: one heralded elementary link (no repeaters) with qsense's fiber defaults.
FIBER = {"n_repeaters": 0}


def terminal(kind: str, overrides: dict | None = None) -> ql.SatelliteLink:
    """The terminal profile of a node kind (satellite | hap | ground) with overrides applied."""
    base = {**TERMINALS[kind], **(overrides or {})}
    return dataclasses.replace(ql.SatelliteLink(), **base).validate()


def fiber_link(overrides: dict | None = None) -> ql.FiberLink:
    """The in-city fiber (`FIBER`) with overrides applied and validated. ``n_repeaters`` may
    arrive as a float from a config (its section is ``dict[str, float]``): an integral one
    (3.0) is read as that integer; 2.5 is refused by `FiberLink.validate`, not truncated."""
    kw = {**FIBER, **(overrides or {})}
    n = kw["n_repeaters"]
    if isinstance(n, (float, np.floating)) and float(n).is_integer():
        kw["n_repeaters"] = int(n)
    return dataclasses.replace(ql.FiberLink(), **kw).validate()


def effective_link(tx: ql.SatelliteLink, rx: ql.SatelliteLink,
                   min_elevation_deg: float | None = None) -> ql.SatelliteLink:
    """The transmitter's source and beam with the receiver's collection side (module doc)."""
    return dataclasses.replace(
        tx, rx_aperture_m=rx.rx_aperture_m, rx_efficiency=rx.rx_efficiency,
        detector_efficiency=rx.detector_efficiency, background_cps=rx.background_cps,
        zenith_transmittance=rx.zenith_transmittance,
        excess_loss_db_sec3=rx.excess_loss_db_sec3,
        min_elevation_deg=rx.min_elevation_deg if min_elevation_deg is None
        else min_elevation_deg)


_GL_X, _GL_W = np.polynomial.legendre.leggauss(64)


def path_transmittance(a, b, zenith_transmittance: float,
                       scale_height_km: float = SCALE_HEIGHT_KM) -> np.ndarray:
    """Transmittance of the exponential atmosphere along the straight ray a -> b (ECEF km).

    ``exp(-τ_z/H ∫_0^L exp(-alt(s)/H) ds)``, ``τ_z = -ln T_zenith``, by 64-point Gauss-Legendre on
    the segment (the integrand is smooth; rays that stay high contribute ~0).
    """
    from routing.geometry import ray_altitudes_km, slant_range_km

    tau_z = -np.log(zenith_transmittance)
    alt = ray_altitudes_km(a, b, 0.5 * (_GL_X + 1.0))
    length = slant_range_km(a, b)
    # rays through the Earth are not visible (the caller masks them); clip to stay finite
    alt = np.maximum(alt, 0.0)
    integral = 0.5 * length * np.sum(_GL_W * np.exp(-alt / scale_height_km), axis=-1)
    return np.exp(-tau_z / scale_height_km * integral)


def ground_link_pairs(tx: ql.SatelliteLink, rx: ql.SatelliteLink, slant_km, elevation_deg,
                      min_elevation_deg: float):
    """Pair rate (pairs/s) and Werner fidelity of a link from an aloft transmitter to a ground
    receiver seen at ``elevation_deg`` over ``slant_km`` (arrays broadcast): the down-link of
    :func:`qsense.links.downlink_efficiency` (zero below ``min_elevation_deg``), then
    :func:`qsense.links.pair_statistics`."""
    eff = effective_link(tx, rx, min_elevation_deg)
    with jax.enable_x64(True):
        eta = ql.downlink_efficiency(eff, jnp.asarray(slant_km, float),
                                     jnp.asarray(elevation_deg, float))
        stats = ql.pair_statistics(eff, tx.detector_efficiency, eta)
        return np.asarray(stats.rate_hz, float), np.asarray(stats.fidelity, float)


#: Rays that stay this high (km) get T_path = 1: the integrand is below exp(-150/6) ~ 1e-11, so
#: the neglected optical depth is < 3e-9 over 6000 km.
HIGH_RAY_KM = 150.0


def aloft_link_pairs(tx: ql.SatelliteLink, rx: ql.SatelliteLink, tx_pos, rx_pos, visible=None):
    """Pair rate (pairs/s) and Werner fidelity of a link between two aloft nodes at ECEF
    positions (km; broadcast): beam collection over the slant range, the exponential-atmosphere
    transmittance of the ray, the receiver's optics and detector. Visibility is decided by the
    caller; ``visible`` (optional, broadcast) skips the atmosphere integral where the link is
    hidden anyway (there the returned values are those of a clear ray)."""
    from qsense.ephemeris import segment_clearance_km
    from routing.geometry import slant_range_km

    a, b = np.broadcast_arrays(np.asarray(tx_pos, float), np.asarray(rx_pos, float))
    eff = effective_link(tx, rx)
    slant = slant_range_km(a, b)
    need = segment_clearance_km(a, b) < HIGH_RAY_KM
    if visible is not None:
        need &= np.broadcast_to(np.asarray(visible, bool), need.shape)
    t_path = np.ones(slant.shape)
    if need.any():
        t_path[need] = path_transmittance(a[need], b[need], rx.zenith_transmittance)
    with jax.enable_x64(True):
        eta = (eff.tx_efficiency * ql.collection_efficiency(eff, jnp.asarray(slant))
               * jnp.asarray(t_path) * eff.rx_efficiency * eff.detector_efficiency)
        stats = ql.pair_statistics(eff, tx.detector_efficiency, eta)
        return np.asarray(stats.rate_hz, float), np.asarray(stats.fidelity, float)


def fiber_pairs(fiber: ql.FiberLink, length_km):
    """Pair rate (pairs/s) and Werner fidelity of a fiber link (qsense.links.repeater_chain)."""
    with jax.enable_x64(True):
        c = ql.repeater_chain(fiber, jnp.asarray(length_km, float))
        return np.asarray(c.rate_hz, float), np.asarray(c.fidelity, float)
