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


def _rates(gamma, n, noisy):
    """Qubit k's noise rate: gamma, times ``noisy[k]`` where given (0: no noise on k)."""
    return gamma * (np.ones(n) if noisy is None else np.asarray(noisy, float))


def sense_dephasing(rho, b, t, gamma, n, sensors=None, noisy=None):
    """H = (B/2) sum s_i Z_i for time t (s_i = 1 unless ``sensors`` says which qubits couple),
    with dephasing exp(-gamma_k t) of each coherence of qubit k, gamma_k = gamma on every qubit
    unless ``noisy`` scales it (they commute, so the order does not matter)."""
    s = np.ones(n) if sensors is None else np.asarray(sensors, float)
    h = sum(s[k] * _on(Z, k, n) for k in range(n)) * b / 2
    u = expm(-1j * h * t)
    rho = u @ rho @ u.conj().T
    for k, g in enumerate(_rates(gamma, n, noisy)):
        p = (1 - np.exp(-g * t)) / 2
        z = _on(Z, k, n)
        rho = (1 - p) * rho + p * z @ rho @ z
    return rho


def sense_amplitude_damping(rho, b, t, gamma, n, sensors=None, noisy=None):
    """H = (B/2) sum s_i Z_i for time t, then amplitude damping |1> -> |0> with probability
    1 - exp(-gamma_k t) on qubit k (as `sense_dephasing`; Kraus [[1,0],[0,sqrt(1-p)]],
    [[0,sqrt p],[0,0]]; the Z rotation commutes with it, so the order does not matter)."""
    s = np.ones(n) if sensors is None else np.asarray(sensors, float)
    h = sum(s[k] * _on(Z, k, n) for k in range(n)) * b / 2
    u = expm(-1j * h * t)
    rho = u @ rho @ u.conj().T
    for k, g in enumerate(_rates(gamma, n, noisy)):
        p = 1 - np.exp(-g * t)
        k0 = np.array([[1, 0], [0, np.sqrt(1 - p)]], complex)
        k1 = np.array([[0, np.sqrt(p)], [0, 0]], complex)
        a0, a1 = _on(k0, k, n), _on(k1, k, n)
        rho = a0 @ rho @ a0.conj().T + a1 @ rho @ a1.conj().T
    return rho


def delivered(psi, f_out, f_back, b, t, gamma, sensors=None, noise="dephasing", noisy=None):
    """Teleport every qubit out over pairs of fidelity ``f_out`` (F = 1: kept), sense
    (``noise``: dephasing or amplitude_damping, on the qubits ``noisy`` says), and (``f_back``
    not None) teleport back."""
    n = int(np.log2(len(psi)))
    rho = np.outer(psi, psi.conj())
    for k in range(n):
        rho = depolarize(rho, k, (4 * f_out[k] - 1) / 3, n)
    sense = {"dephasing": sense_dephasing, "amplitude_damping": sense_amplitude_damping}[noise]
    rho = sense(rho, b, t, gamma, n, sensors, noisy)
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


def lindblad_vector(rho, field, t, gamma, n, sensors=None, steps=None, noisy=None):
    """Sensing a vector field (Bx, By, Bz) for time t with dephasing on every qubit (rates as
    `sense_dephasing`): the full N-qubit Lindbladian
    ``-i[H, .] + sum_k (gamma_k/2) (Z_k . Z_k - .)``, ``H = 1/2 sum_k s_k B . sigma_k``,
    exponentiated as a 4^N x 4^N matrix (column vec)."""
    s = np.ones(n) if sensors is None else np.asarray(sensors, float)
    d = 2**n
    h = sum(s[k] * sum(bi * _on(p, k, n) for bi, p in zip(field, (X, Y, Z), strict=True))
            for k in range(n)) / 2
    eye = np.eye(d)
    gen = -1j * (np.kron(eye, h) - np.kron(h.T, eye))
    for k, g in enumerate(_rates(gamma, n, noisy)):
        z = _on(Z, k, n)
        gen = gen + g / 2 * (np.kron(z.conj(), z) - np.kron(eye, eye))
    vec = rho.reshape(-1, order="F")
    return (expm(gen * t) @ vec).reshape(d, d, order="F")


def qfim(rho_of_b, b0, h=1e-5, eps=1e-10):
    """QFIM from an eigendecomposition and central finite differences of rho(b)."""
    b0 = np.asarray(b0, float)
    rho = rho_of_b(b0)
    k = len(b0)
    ds = [(rho_of_b(b0 + h * e) - rho_of_b(b0 - h * e)) / (2 * h) for e in np.eye(k)]
    lam, v = np.linalg.eigh(rho)
    s = lam[:, None] + lam[None, :]
    mask = s > eps
    dv = [v.conj().T @ d @ v for d in ds]
    return np.array([[2 * np.sum((np.conj(a[mask]) * b[mask]).real / s[mask]) for b in dv]
                     for a in dv])
