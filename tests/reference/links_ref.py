"""Slow, independent numpy/scipy references for qsense.links (written without its formulas).

Geometry from 3-D vectors (not the law of cosines); collected power by numerical quadrature of
an offset Gaussian beam averaged over a Rayleigh-distributed pointing error (not the broadened
beam); swapping by explicit Bell measurement on density matrices; expected rounds by the
tail-sum series.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate
from scipy.special import i0e

R_EARTH = 6371.0


def station_satellite(altitude_km: float, ground_km: float) -> tuple[float, float]:
    """(slant range km, elevation deg) from Cartesian vectors."""
    th = ground_km / R_EARTH
    sat = np.array([0.0, 0.0, R_EARTH + altitude_km])
    st = R_EARTH * np.array([np.sin(th), 0.0, np.cos(th)])
    los = sat - st
    up = st / np.linalg.norm(st)
    d = np.linalg.norm(los)
    return float(d), float(np.degrees(np.arcsin(np.dot(los, up) / d)))


def collected_fraction(w: float, a: float, sigma: float) -> float:
    """Mean power fraction of a Gaussian beam (1/e^2 radius w) in a disk of radius a when the
    beam centre is offset by a 2-D Gaussian error of rms sigma per axis (Rayleigh radius)."""

    def at_offset(r0: float) -> float:
        # exp(-2 (r^2 + r0^2)/w^2) I0(4 r r0 / w^2) = exp(-2 (r - r0)^2 / w^2) i0e(...)
        def f(r):
            return 4 * r / w**2 * np.exp(-2 * (r - r0) ** 2 / w**2) * i0e(4 * r * r0 / w**2)
        return integrate.quad(f, 0.0, a, epsabs=1e-14, epsrel=1e-11, limit=200)[0]

    if sigma == 0:
        return at_offset(0.0)
    def g(r0):
        return at_offset(r0) * r0 / sigma**2 * np.exp(-(r0**2) / (2 * sigma**2))
    return integrate.quad(g, 0.0, 12 * sigma, epsabs=1e-14, epsrel=1e-10, limit=200)[0]


def expected_max_geometric_series(p: float, m: int, kmax: int = 2_000_000) -> float:
    """E[max] = sum_{k>=0} P(max > k) = sum_k [1 - (1 - (1-p)^k)^m]."""
    k = np.arange(kmax)
    return float(np.sum(1.0 - (1.0 - (1.0 - p) ** k) ** m))


def _werner(f: float) -> np.ndarray:
    phi = np.array([1, 0, 0, 1]) / np.sqrt(2)
    p = np.outer(phi, phi)
    return f * p + (1 - f) / 3 * (np.eye(4) - p)


def swap_density(f1: float, f2: float) -> float:
    """Fidelity with |Phi+> of qubits (0, 3) after a Bell measurement on (1, 2) of
    W(f1)_{01} x W(f2)_{23}, Pauli-corrected and averaged over outcomes."""
    rho = np.kron(_werner(f1), _werner(f2)).reshape([2] * 8)
    x = np.array([[0, 1], [1, 0]])
    z = np.diag([1.0, -1.0])
    eye = np.eye(2)
    bells = {  # Bell state on (1,2) -> correction on qubit 3
        (0, 0): (np.array([1, 0, 0, 1]) / np.sqrt(2), eye),
        (0, 1): (np.array([0, 1, 1, 0]) / np.sqrt(2), x),
        (1, 0): (np.array([1, 0, 0, -1]) / np.sqrt(2), z),
        (1, 1): (np.array([0, 1, -1, 0]) / np.sqrt(2), z @ x),
    }
    out = np.zeros((4, 4), complex)
    for vec, corr in bells.values():
        b = vec.reshape(2, 2).conj()
        # <b|_{12} rho |b>_{12}: indices (a0 a1 a2 a3, b0 b1 b2 b3)
        r = np.einsum("jk,ijklmnop,no->ilmp", b, rho, b.conj())
        r = r.reshape(4, 4)
        u = np.kron(eye, corr)
        out += u @ r @ u.conj().T
    phi = np.array([1, 0, 0, 1]) / np.sqrt(2)
    return float(np.real(phi @ out @ phi))
