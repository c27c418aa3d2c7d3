"""Independent slow reference for the spin Wigner function (no 3j symbols, no spherical
harmonics): W(n) = Tr(rho R(n) Delta_z R(n)^dagger) with R(n) = exp(-i phi Jz) exp(-i theta Jy)
and the pole kernel Delta_z = sqrt(4 pi/(2j+1)) sum_k sqrt((2k+1)/(4 pi)) T_k0, where the
T_k0 are built by Gram-Schmidt from the powers of Jz (orthonormal in the Hilbert-Schmidt
product, positive leading coefficient, as the Condon-Shortley tensors are)."""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm


def spin_matrices(j: float):
    ms = j - np.arange(int(round(2 * j)) + 1)
    jz = np.diag(ms)
    jp = np.zeros((len(ms), len(ms)))
    for i in range(1, len(ms)):  # J+ |m> = sqrt(j(j+1) - m(m+1)) |m+1>, row i-1 has m+1
        m = ms[i]
        jp[i - 1, i] = np.sqrt(j * (j + 1) - m * (m + 1))
    jy = (jp - jp.T) / 2j
    return jz, jy


def tk0(j: float) -> list[np.ndarray]:
    jz, _ = spin_matrices(j)
    dim = jz.shape[0]
    out: list[np.ndarray] = []
    for k in range(dim):
        v = np.linalg.matrix_power(jz, k).astype(float)
        for u in out:
            v = v - np.trace(u @ v) * u
        v = v / np.sqrt(np.trace(v @ v))
        out.append(v)
    return out


def wigner_reference(rho_dicke: np.ndarray, theta: float, phi: float) -> float:
    dim = rho_dicke.shape[0]
    j = (dim - 1) / 2
    jz, jy = spin_matrices(j)
    delta = sum(np.sqrt((2 * k + 1) / (4 * np.pi)) * t for k, t in enumerate(tk0(j)))
    delta = np.sqrt(4 * np.pi / (2 * j + 1)) * delta
    r = expm(-1j * phi * jz) @ expm(-1j * theta * jy)
    return float(np.trace(rho_dicke @ r @ delta @ r.conj().T).real)


def dicke_vector(psi: np.ndarray) -> np.ndarray:
    """Dicke-basis components (m = j .. -j) of P_sym psi, by averaging psi over all qubit
    permutations: the symmetrized amplitude a_k is shared by every weight-k bit string, and
    <D_k | psi> = a_k sqrt(C(n, k))."""
    from itertools import permutations
    from math import comb, factorial

    n = int(round(np.log2(len(psi))))
    t = np.asarray(psi).reshape((2,) * n)
    sym = sum(np.transpose(t, p) for p in permutations(range(n))) / factorial(n)
    sym = sym.reshape(-1)
    out = np.zeros(n + 1, complex)
    for k in range(n + 1):
        index = int("1" * k + "0" * (n - k), 2) if k else 0
        out[k] = sym[index] * np.sqrt(comb(n, k))
    return out
