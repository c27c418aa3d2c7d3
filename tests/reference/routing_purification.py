"""Independent density-matrix simulation of one recurrence-purification round (numpy only).

Two copies of a two-qubit state, qubit order (a1, b1, a2, b2) big-endian: pair 1 = (a1, b1) is
kept, pair 2 = (a2, b2) is measured. DEJMPS: Alice applies Rx(π/2) = exp(-iπ/4 X) to a1 and a2,
Bob applies Rx(-π/2) to b1 and b2; both then apply CNOT (pair-1 qubit controls pair-2 qubit);
a2 and b2 are measured in Z and the round succeeds when the outcomes agree. BBPSSW is the same
without the rotations, on Werner inputs (followed by a twirl, which keeps the Φ+ fidelity).
"""

from __future__ import annotations

import numpy as np

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], complex)
s = 1 / np.sqrt(2)
BELL = {  # order (Φ+, Ψ-, Ψ+, Φ-) as in DEJMPS
    "phi+": np.array([s, 0, 0, s], complex),
    "psi-": np.array([0, s, -s, 0], complex),
    "psi+": np.array([0, s, s, 0], complex),
    "phi-": np.array([s, 0, 0, -s], complex),
}
ORDER = ("phi+", "psi-", "psi+", "phi-")


def bell_diagonal(coeffs) -> np.ndarray:
    return sum(c * np.outer(BELL[n], BELL[n].conj()) for c, n in zip(coeffs, ORDER, strict=True))


def bell_coefficients(rho: np.ndarray) -> np.ndarray:
    return np.array([np.real(BELL[n].conj() @ rho @ BELL[n]) for n in ORDER])


def _op(ops: dict[int, np.ndarray]) -> np.ndarray:
    out = np.array([[1.0 + 0j]])
    for q in range(4):
        out = np.kron(out, ops.get(q, I2))
    return out


def _cnot(control: int, target: int) -> np.ndarray:
    p0 = np.diag([1.0, 0.0]).astype(complex)
    p1 = np.diag([0.0, 1.0]).astype(complex)
    return _op({control: p0}) + _op({control: p1, target: X})


def _rx(a: float) -> np.ndarray:
    return np.cos(a / 2) * I2 - 1j * np.sin(a / 2) * X


def one_round(rho_pair: np.ndarray, rotate: bool) -> tuple[np.ndarray, float]:
    """Return (output two-qubit state of pair 1, success probability)."""
    rho = np.kron(rho_pair, rho_pair)  # (a1, b1) ⊗ (a2, b2)
    if rotate:
        u = _op({0: _rx(np.pi / 2), 2: _rx(np.pi / 2), 1: _rx(-np.pi / 2), 3: _rx(-np.pi / 2)})
        rho = u @ rho @ u.conj().T
    c = _cnot(1, 3) @ _cnot(0, 2)
    rho = c @ rho @ c.conj().T
    keep = np.zeros((16, 16))
    for i in range(16):
        a2, b2 = (i >> 1) & 1, i & 1
        if a2 == b2:
            keep[i, i] = 1.0
    rho = keep @ rho @ keep
    p = float(np.real(np.trace(rho)))
    r = rho.reshape(4, 4, 4, 4)  # (pair1, pair2, pair1', pair2')
    out = np.einsum("ajbj->ab", r) / p
    return out, p


def dejmps_reference(coeffs) -> tuple[np.ndarray, float]:
    out, p = one_round(bell_diagonal(coeffs), rotate=True)
    return bell_coefficients(out), p


def bbpssw_reference(fidelity: float) -> tuple[float, float]:
    r = (1 - fidelity) / 3
    out, p = one_round(bell_diagonal((fidelity, r, r, r)), rotate=False)
    return float(bell_coefficients(out)[0]), p
