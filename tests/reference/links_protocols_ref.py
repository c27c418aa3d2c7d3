"""Independent numpy reference for the remote / distributed VQS protocols: full-matrix Kraus
channels (Pauli Kraus operators for teleportation, explicit exp(-i H t) and dephasing Kraus
operators for sensing) and the QFI from an eigendecomposition with a finite-difference dρ/dB.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
from scipy.linalg import expm

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0, -1.0]).astype(complex)


def _on(op, k, n):
    return reduce(np.kron, [op if i == k else I2 for i in range(n)])


def depolarize(rho, k, w, n):
    """Teleport qubit k over a Werner pair: Pauli Kraus weights (1+3w)/4, (1-w)/4 x3."""
    out = (1 + 3 * w) / 4 * rho
    for p in (X, Y, Z):
        u = _on(p, k, n)
        out = out + (1 - w) / 4 * u @ rho @ u.conj().T
    return out


def sense_dephasing(rho, b, t, gamma, n):
    """H = (B/2) sum Z_i for time t, with dephasing exp(-gamma t) of each coherence (they
    commute, so the order does not matter)."""
    h = sum(_on(Z, k, n) for k in range(n)) * b / 2
    u = expm(-1j * h * t)
    rho = u @ rho @ u.conj().T
    p = (1 - np.exp(-gamma * t)) / 2
    for k in range(n):
        z = _on(Z, k, n)
        rho = (1 - p) * rho + p * z @ rho @ z
    return rho


def delivered(psi, f_out, f_back, b, t, gamma):
    n = int(np.log2(len(psi)))
    rho = np.outer(psi, psi.conj())
    for k in range(n):
        rho = depolarize(rho, k, (4 * f_out[k] - 1) / 3, n)
    rho = sense_dephasing(rho, b, t, gamma, n)
    if f_back is not None:
        for k in range(n):
            rho = depolarize(rho, k, (4 * f_back[k] - 1) / 3, n)
    return rho


def qfi(rho_of_b, b0, h=1e-5, eps=1e-10):
    rho = rho_of_b(b0)
    drho = (rho_of_b(b0 + h) - rho_of_b(b0 - h)) / (2 * h)
    lam, v = np.linalg.eigh(rho)
    d = v.conj().T @ drho @ v
    s = lam[:, None] + lam[None, :]
    mask = s > eps
    return float(2 * np.sum(np.abs(d[mask]) ** 2 / s[mask]))
