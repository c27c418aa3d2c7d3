"""Independent numpy/scipy references for optimal probes and the one-use channel QFI.

Shares nothing with `qsense` (inputs included): the one-qubit sensing channel is built from
the physics conventions (DESIGN section 3) as a column-stacking Liouvillian exponentiated by
scipy, turned into Kraus operators through its Choi matrix; the N-qubit channel applies the
Kraus products; the QFI is the SLD formula on the eigendecomposition with five-point finite
differences in B. Optimizers are plain ``scipy.optimize`` multi-starts with numeric gradients.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np
import scipy.linalg as sla
import scipy.optimize as so

I2 = np.eye(2, dtype=complex)
SX = np.array([[0, 1], [1, 0]], complex)
SY = np.array([[0, -1j], [1j, 0]], complex)
SZ = np.array([[1, 0], [0, -1]], complex)
LOWER = np.array([[0, 1], [0, 0]], complex)  # |0><1|: |1> decays to |0>


def jump_op(noise: str, gamma: float) -> np.ndarray | None:
    if noise == "dephasing":
        return np.sqrt(gamma / 2) * SZ
    if noise == "bitflip":
        return np.sqrt(gamma / 2) * SX
    if noise == "amplitude_damping":
        return np.sqrt(gamma) * LOWER
    return None


def liouvillian_colmajor(field3, noise: str, gamma: float) -> np.ndarray:
    """Generator on column-stacked vec(rho): vec(A rho B) = (B^T kron A) vec(rho)."""
    h = 0.5 * (field3[0] * SX + field3[1] * SY + field3[2] * SZ)
    gen = -1j * (np.kron(I2, h) - np.kron(h.T, I2))
    ell = jump_op(noise, gamma)
    if ell is not None:
        ld = ell.conj().T @ ell
        gen = gen + np.kron(ell.conj(), ell) - 0.5 * np.kron(I2, ld) - 0.5 * np.kron(ld.T, I2)
    return gen


@lru_cache(maxsize=4096)
def kraus(field3: tuple, t: float, noise: str, gamma: float) -> np.ndarray:
    """Kraus operators (k, 2, 2) of exp(t L) from its Choi matrix (column-major)."""
    s = sla.expm(t * liouvillian_colmajor(np.asarray(field3), noise, gamma))
    # column-major: S[(i + 2 j), (k + 2 l)] maps rho[k, l] -> rho[i, j]; Choi C[(i,k),(j,l)]
    s4 = s.reshape(2, 2, 2, 2)  # [j, i, l, k]
    choi = s4.transpose(1, 3, 0, 2).reshape(4, 4)  # [(i, k), (j, l)]
    choi = 0.5 * (choi + choi.conj().T)
    lam, v = np.linalg.eigh(choi)
    return np.array([np.sqrt(lv) * v[:, a].reshape(2, 2)
                     for a, lv in enumerate(lam) if lv > 1e-14])


def channel_n(rho: np.ndarray, field3, t: float, noise: str, gamma: float) -> np.ndarray:
    """The one-qubit channel on every qubit of rho, by explicit Kraus products."""
    n = int(round(np.log2(rho.shape[0])))
    ks = kraus(tuple(float(x) for x in field3), float(t), noise, float(gamma))
    out = np.zeros_like(rho)
    for combo in itertools.product(range(len(ks)), repeat=n):
        op = np.array([[1.0 + 0j]])
        for a in combo:
            op = np.kron(op, ks[a])
        out += op @ rho @ op.conj().T
    return out


def channel_on_first(rho: np.ndarray, field3, t: float, noise: str, gamma: float) -> np.ndarray:
    """The channel on qubit 0 only (the others are noiseless ancillas)."""
    d = rho.shape[0]
    ks = kraus(tuple(float(x) for x in field3), float(t), noise, float(gamma))
    eye = np.eye(d // 2)
    return sum(np.kron(k, eye) @ rho @ np.kron(k, eye).conj().T for k in ks)


def field3_of(b, field: str):
    return (0.0, 0.0, float(b)) if field == "scalar" else tuple(float(x) for x in b)


def superop_n(n: int, field3, t: float, noise: str, gamma: float,
              ancilla: bool = False) -> np.ndarray:
    """(4^n, 4^n) matrix of the channel on every qubit (or on qubit 0 only, ``ancilla``)
    acting on row-major vec(rho), assembled from `channel_n` / `channel_on_first` on the basis
    matrices |i><j| (slow, obvious)."""
    d = 2**n
    ch = channel_on_first if ancilla else channel_n
    cols = []
    for idx in range(d * d):
        e = np.zeros(d * d, complex)
        e[idx] = 1
        cols.append(ch(e.reshape(d, d), field3, t, noise, gamma).reshape(-1))
    return np.array(cols).T


class FixedTime:
    """The QFI (scalar) or Tr F^-1 (vector) of pure n-qubit states at one fixed t: the
    channels at the five finite-difference field values are assembled once."""

    def __init__(self, n, t, noise, gamma, field, b0, ancilla=False, h=1e-4):
        self.n, self.d, self.field = n, 2**n, field
        b0 = np.atleast_1d(np.asarray(b0, float))
        self.s0 = superop_n(n, field3_of(b0[0] if b0.size == 1 else b0, field), t, noise,
                            gamma, ancilla)
        self.ds = []
        for a in range(b0.size):
            e = np.zeros_like(b0)
            e[a] = h

            def at(x, b0=b0):
                return superop_n(n, field3_of(x[0] if b0.size == 1 else x, field), t, noise,
                                 gamma, ancilla)

            self.ds.append((-at(b0 + 2 * e) + 8 * at(b0 + e) - 8 * at(b0 - e)
                            + at(b0 - 2 * e)) / (12 * h))

    def __call__(self, psi) -> float:
        r0 = np.outer(psi, psi.conj()).reshape(-1)
        rho = (self.s0 @ r0).reshape(self.d, self.d)
        drs = [(m @ r0).reshape(self.d, self.d) for m in self.ds]
        lam, v = np.linalg.eigh(0.5 * (rho + rho.conj().T))
        s = lam[:, None] + lam[None, :]
        w = np.where(s > 1e-12, 2 / np.where(s > 1e-12, s, 1), 0)
        dd = [v.conj().T @ dr @ v for dr in drs]
        f = np.array([[np.sum(w * (da.conj() * db)).real for db in dd] for da in dd])
        if self.field == "scalar":
            return float(f[0, 0])
        lam = np.linalg.eigvalsh(0.5 * (f + f.T))
        return float(np.sum(1 / lam)) if lam[0] > 1e-10 * lam[-1] else np.inf


def value(psi: np.ndarray, t: float, noise: str, gamma: float, field: str, b0,
          ancilla: bool = False) -> float:
    """QFI (scalar) or Tr F^-1 (vector) of the pure state psi sensed for t."""
    n = int(round(np.log2(len(psi))))
    return FixedTime(n, t, noise, gamma, field, b0, ancilla)(np.asarray(psi, complex))


def best_state_at(ft: FixedTime, starts: int, rng) -> tuple[float, np.ndarray]:
    """max over pure states at fixed t (scalar: QFI; vector: min Tr F^-1), multi-start."""
    d = ft.d
    sign = 1.0 if ft.field == "scalar" else -1.0

    def loss(x):
        z = x[:d] + 1j * x[d:]
        v = ft(z / np.linalg.norm(z))
        if not np.isfinite(v) or v <= 0:
            return 1e6
        return -sign * np.log(v)

    best = (np.inf, None)
    for s in range(starts):
        z = np.full(d, 1.0 + 0j) if s == 0 else rng.standard_normal(d) + 1j * rng.standard_normal(d)
        r = so.minimize(loss, np.concatenate([z.real, z.imag]), method="BFGS",
                        options={"gtol": 1e-9, "maxiter": 500})
        if r.fun < best[0]:
            best = (r.fun, r.x)
    z = best[1][:d] + 1j * best[1][d:]
    return ft(z / np.linalg.norm(z)), z / np.linalg.norm(z)


def brute_pure_optimum(n: int, noise: str, gamma: float, field: str = "scalar", b0=1.0,
                       starts: int = 6, seed: int = 1, ancilla: bool = False,
                       t_fixed: float | None = None, n_grid: int = 25) -> tuple[float, float]:
    """Best pure state of n qubits and t: for each t the best state (BFGS multi-start with
    numeric gradients); t on a linear grid over [0.05, 3] / gamma (spacing below the field's
    period 2 pi / B0 at gamma = 0.1, B0 = 1: the bit-flip QFI oscillates in t), then bounded
    Brent in log t around the best grid point. ``t_fixed``: only that t. ``ancilla``: the
    channel acts on qubit 0 only. Returns (value, t)."""
    sign = 1.0 if field == "scalar" else -1.0

    def at(lt):
        rng = np.random.default_rng(seed)
        ft = FixedTime(n, float(np.exp(lt)), noise, gamma, field, b0, ancilla)
        return best_state_at(ft, starts, rng)[0]

    if t_fixed is not None:
        return at(np.log(t_fixed)), t_fixed
    grid = np.log(np.linspace(0.05 / gamma, 3 / gamma, n_grid))
    vals = [sign * at(x) for x in grid]
    i = int(np.argmax(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, n_grid - 1)]
    r = so.minimize_scalar(lambda x: -sign * at(x), bounds=(lo, hi), method="bounded",
                           options={"xatol": 1e-4})
    if -r.fun >= vals[i]:
        return sign * -r.fun, float(np.exp(r.x))
    return sign * vals[i], float(np.exp(grid[i]))


def one_qubit_optimum(noise: str, gamma: float, b0: float = 1.0) -> tuple[float, float]:
    """max over one-qubit pure states and t of the scalar QFI (`brute_pure_optimum`, N = 1)."""
    return brute_pure_optimum(1, noise, gamma, "scalar", b0, starts=3, n_grid=31)
