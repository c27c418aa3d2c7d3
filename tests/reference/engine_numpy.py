"""Slow, independent numpy/scipy implementation of the engine, for tests only.

Written from the physics conventions (DESIGN section 3), sharing no code with `qsense`:
full 2^N x 2^N Kronecker gates, the full 4^N x 4^N Lindblad generator exponentiated by scipy,
and the QFI from finite-difference derivatives of rho plus a numpy eigendecomposition (or the
SLD from a Sylvester solve when rho has full rank).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

I2 = np.eye(2, dtype=complex)
X = np.array([[0, 1], [1, 0]], complex)
Y = np.array([[0, -1j], [1j, 0]], complex)
Z = np.array([[1, 0], [0, -1]], complex)
SM = np.array([[0, 1], [0, 0]], complex)  # |0><1|
P0 = np.diag([1.0, 0.0]).astype(complex)
P1 = np.diag([0.0, 1.0]).astype(complex)


def rot(pauli: np.ndarray, a: float) -> np.ndarray:
    return sla.expm(-0.5j * a * pauli)


def embed(ops: dict[int, np.ndarray], n: int) -> np.ndarray:
    """Kronecker product with ``ops[q]`` on qubit q (qubit 0 leftmost = most significant)."""
    out = np.array([[1.0 + 0j]])
    for q in range(n):
        out = np.kron(out, ops.get(q, I2))
    return out


def gene_unitary(gate: int, control: int, target: int, angle: float, n: int) -> np.ndarray:
    if gate == 4:
        return np.eye(2**n, dtype=complex)
    if gate in (0, 1, 2):
        return embed({target: rot((X, Y, Z)[gate], angle)}, n)
    assert gate == 3 and control != target
    return embed({control: P0}, n) + embed({control: P1, target: rot(X, angle)}, n)


def circuit_unitary(genome, n: int) -> np.ndarray:
    u = np.eye(2**n, dtype=complex)
    for g, c, t, a in zip(*(np.asarray(x) for x in genome), strict=True):
        u = gene_unitary(int(g), int(c), int(t), float(a), n) @ u
    return u


def ghz(n: int) -> np.ndarray:
    psi = np.zeros(2**n, complex)
    psi[0] = psi[-1] = 1 / np.sqrt(2)
    return psi


def jump(noise: str, gamma: float) -> np.ndarray | None:
    return {
        "dephasing": np.sqrt(gamma / 2) * Z,
        "bitflip": np.sqrt(gamma / 2) * X,
        "amplitude_damping": np.sqrt(gamma) * SM,
        "none": None,
    }[noise]


def full_liouvillian(field3, noise: str, gamma: float, n: int) -> np.ndarray:
    """4^N x 4^N generator, row-major vec: vec(A rho B) = (A kron B^T) vec(rho)."""
    d = 2**n
    eye = np.eye(d)
    h = sum(embed({q: 0.5 * (field3[0] * X + field3[1] * Y + field3[2] * Z)}, n)
            for q in range(n))
    gen = -1j * (np.kron(h, eye) - np.kron(eye, h.T))
    ell1 = jump(noise, gamma)
    if ell1 is not None:
        for q in range(n):
            ell = embed({q: ell1}, n)
            ldl = ell.conj().T @ ell
            gen = gen + np.kron(ell, ell.conj()) - 0.5 * np.kron(ldl, eye) \
                - 0.5 * np.kron(eye, ldl.T)
    return gen


def sense(rho: np.ndarray, field, t: float, noise: str, gamma: float) -> np.ndarray:
    n = int(np.log2(rho.shape[0]))
    f3 = np.array([0.0, 0.0, field]) if np.ndim(field) == 0 else np.asarray(field, float)
    gen = full_liouvillian(f3, noise, gamma, n)
    return (sla.expm(t * gen) @ rho.reshape(-1)).reshape(rho.shape)


def qfi_from(rho: np.ndarray, drhos: list[np.ndarray], eps: float = 1e-10) -> np.ndarray:
    """QFIM from the eigen formula with an explicit double loop (slow, obvious)."""
    lam, v = np.linalg.eigh(rho)
    ds = [v.conj().T @ dr @ v for dr in drhos]
    k = len(drhos)
    f = np.zeros((k, k))
    for a in range(k):
        for b in range(k):
            s = 0.0
            for i in range(len(lam)):
                for j in range(len(lam)):
                    if lam[i] + lam[j] > eps:
                        s += (np.conj(ds[a][i, j]) * ds[b][i, j]).real / (lam[i] + lam[j])
            f[a, b] = 2 * s
    return f


def qfi_sylvester(rho: np.ndarray, drho: np.ndarray) -> float:
    """QFI = Tr(drho L) with the SLD from rho L + L rho = 2 drho (full-rank rho only)."""
    sld = sla.solve_sylvester(rho, rho, 2 * drho)
    return float(np.trace(drho @ sld).real)


def fd_derivatives(rho_of, b0, h: float = 1e-3) -> list[np.ndarray]:
    """Five-point central differences of rho_of at b0 (scalar or vector), one per parameter."""
    b0 = np.atleast_1d(np.asarray(b0, float))
    out = []
    for a in range(b0.size):
        e = np.zeros_like(b0)
        e[a] = h

        def at(x):
            return rho_of(x[0] if b0.size == 1 else x)

        out.append((-at(b0 + 2 * e) + 8 * at(b0 + e) - 8 * at(b0 - e) + at(b0 - 2 * e))
                   / (12 * h))
    return out


def probe_qfim(genome, n: int, field0, t: float, noise: str, gamma: float) -> np.ndarray:
    psi = circuit_unitary(genome, n) @ ghz(n)
    rho0 = np.outer(psi, psi.conj())

    def rho_of(b):
        return sense(rho0, b, t, noise, gamma)

    return qfi_from(rho_of(field0), fd_derivatives(rho_of, field0))
