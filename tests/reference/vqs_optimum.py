"""Independent optimum of the single-parameter VQS problem, for tests only (numpy/scipy;
nothing from qsense, not even its inputs).

The best *pure* probe over all 2^N states (not only circuits), and the best *product* probe,
for the scalar field H = (B/2) sum Z_i at B0 under per-qubit Lindblad noise: the sensing
channel S_t = exp(t L(B0)) and its exact B-derivative (scipy's Frechet derivative of expm)
are built on the full 4^N Liouvillian of `engine_numpy`; the QFI of a state is
then the eigen formula; the state is optimized by multi-start L-BFGS on its real and
imaginary parts (product: Bloch angles per qubit) jointly with log t.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
from scipy.optimize import minimize

from tests.reference.engine_numpy import full_liouvillian


def _channel(n: int, noise: str, gamma: float, b0: float, t: float):
    gen = full_liouvillian(np.array([0.0, 0.0, b0]), noise, gamma, n)
    dgen = full_liouvillian(np.array([0.0, 0.0, 1.0]), "none", 0.0, n) - full_liouvillian(
        np.zeros(3), "none", 0.0, n)
    return sla.expm_frechet(t * gen, t * dgen)  # (S, dS/dB)


def _qfi(rho: np.ndarray, drho: np.ndarray, eps: float = 1e-12) -> float:
    lam, v = np.linalg.eigh(rho)
    d = v.conj().T @ drho @ v
    den = lam[:, None] + lam[None, :]
    ok = den > eps
    return float(2 * np.sum(np.abs(d[ok]) ** 2 / den[ok]))


def _state_qfi(psi: np.ndarray, s: np.ndarray, ds: np.ndarray) -> float:
    dim = psi.size
    r = np.outer(psi, psi.conj()).reshape(-1)
    return _qfi((s @ r).reshape(dim, dim), (ds @ r).reshape(dim, dim))


def _pure(x: np.ndarray, n: int) -> np.ndarray:
    d = 2**n
    v = x[:d] + 1j * x[d:]
    return v / np.linalg.norm(v)


def _product(x: np.ndarray, n: int) -> np.ndarray:
    psi = np.array([1.0 + 0j])
    for th, ph in x.reshape(n, 2):
        psi = np.kron(psi, [np.cos(th / 2), np.exp(1j * ph) * np.sin(th / 2)])
    return psi


def best_qfi(n: int, noise: str, gamma: float, b0: float = 1.0, *, kind: str = "pure",
             starts: int = 8, seed: int = 0, t_range=(0.3, 3.0)) -> tuple[float, float]:
    """(max over probes and t of the QFI, the optimal t); ``kind``: "pure" (any state) or
    "product". Joint multi-start L-BFGS over the state and log t (the QFI of bit flip at
    B0 != 0 oscillates in t, so each start begins at its own time, log-spaced over
    t_range / gamma)."""
    rng = np.random.default_rng(seed)
    make, dim = (_pure, 2 ** (n + 1)) if kind == "pure" else (_product, 2 * n)
    cache: dict[float, tuple] = {}

    def value(x):
        lt = float(np.clip(x[-1], np.log(1e-3), np.log(1e3)))
        if lt not in cache:
            cache.clear()
            cache[lt] = _channel(n, noise, gamma, b0, np.exp(lt))
        s, ds = cache[lt]
        return _state_qfi(make(x[:-1], n), s, ds)

    best, best_t = -np.inf, np.nan
    for lt0 in np.linspace(np.log(t_range[0] / gamma), np.log(t_range[1] / gamma), starts):
        x0 = np.concatenate([rng.normal(size=dim), [lt0]])
        res = minimize(lambda x: -value(x), x0, method="L-BFGS-B")
        if -res.fun > best:
            best, best_t = float(-res.fun), float(np.exp(res.x[-1]))
    return best, best_t
