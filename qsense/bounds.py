"""Channel-extension (CE) upper bound on the QFI of N parallel uses of the noisy sensing channel.

Every probe of N qubits (entangled, with or without ancillas, any PQC) is sensed by the same
one-qubit channel ``Lambda_B = exp(t Lv_B)`` on each qubit (DESIGN section 3: field and noise
together for time t; scalar field ``H = (B/2) Z``, derivative with respect to B at ``b0``). For a
Kraus representation ``{K_k(B)}`` of ``Lambda_B`` (r operators) and any Hermitian r x r generator
``h``, the rotated representation ``K~ = e^{-i h (B - b0)} K`` has at ``b0``

    dK~_k = dK_k - i sum_j h_kj K_j,
    alpha = sum_k dK~_k^dag dK~_k,          beta = i sum_k dK~_k^dag K_k   (Hermitian),

and the QFI of ``Lambda_B^{(x)N} (x) id`` on any input obeys (Fujiwara & Imai, J. Phys. A 41,
255304 (2008); Demkowicz-Dobrzanski, Kolodynski & Guta, Nat. Commun. 3, 1063 (2012), eq. (3);
Kolodynski & Demkowicz-Dobrzanski, NJP 15, 073043 (2013), the finite-N form)

    F_N(t) <= 4 min_h [ N ||alpha|| + N (N - 1) ||beta||^2 ]        (operator norms).

With ``||alpha|| <= a`` as ``[[a I, D^dag], [D, I]] >= 0`` (D = the stacked dK~) and
``||beta|| <= b`` as ``-b I <= beta <= b I`` this is a small SDP in (h, a, b), solved with CVXPY
(Clarabel). N = 1 is tight: ``4 min_h ||alpha||`` is the ancilla-assisted (extended-channel) QFI
of one use. Without noise (one Kraus operator) the bound is ``N^2 t^2``; for dephasing it has
the closed form ``N^2 t^2 eta^2 / (N (1 - eta^2) + eta^2)``, ``eta = exp(-gamma t)``.

Kraus operators come from the Choi matrix ``J = A A^dag`` of the engine's own 4x4 superoperator
(`qsense.noise.superoperator_1q`), ``A`` = the eigenvectors of J scaled by sqrt(eigenvalues) on
its support (rank r); their derivative is the particular solution ``dA = dJ A (A^dag A)^-1 -
A M / 2``, ``M = A^+ dJ A^+dag``, of ``dA A^dag + A dA^dag = dJ`` (every other differentiable
representation differs by ``A (i h)``, which the SDP minimizes over). ``dJ`` comes from forward
autodiff in B. `max_bound_over_t` maximizes the bound over t (log grid, then a bounded scalar
refinement), giving the bound on ``max_t F``, i.e. a lower bound on the single-parameter QCRB.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from qsense._checks import check_noise, fail, real_array
from qsense.noise import superoperator_1q


@dataclasses.dataclass(frozen=True)
class CEBound:
    """The CE bound of one (N, noise, gamma, b0) at its maximizing time.

    value: bound on ``max_t F`` (QFI per unit B^2); qcrb: ``1 / value`` (a lower bound on the
    single-parameter QCRB of any probe); t: maximizing sensing time; t_at_bound: t sits on an
    edge of the searched interval; h: the optimal generator at t (r x r).
    """

    n_qubits: int
    noise: str
    gamma: float
    b0: float
    value: float
    qcrb: float
    t: float
    t_at_bound: bool
    h: np.ndarray


@functools.lru_cache(maxsize=8)
def _superoperator_and_derivative(noise: str):
    """jit of (t, gamma, b0) -> (S, dS/dB): the engine's one-qubit sensing superoperator
    (`qsense.noise.superoperator_1q`, scalar field) and its forward-mode B-derivative."""

    def sop(b, t, gamma):
        f3 = jnp.stack([jnp.zeros_like(b), jnp.zeros_like(b), b])
        return superoperator_1q(f3, t, noise, gamma, jnp.complex128)

    def both(t, gamma, b0):
        b0 = jnp.asarray(b0, jnp.float64)
        return jax.jvp(lambda b: sop(b, jnp.asarray(t, jnp.float64),
                                     jnp.asarray(gamma, jnp.float64)),
                       (b0,), (jnp.ones_like(b0),))

    return jax.jit(both)


def channel_kraus(t: float, noise: str, gamma: float, b0: float = 1.0,
                  rank_tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Kraus operators ``K`` (r, 2, 2) of the one-qubit sensing channel for time ``t`` and their
    B-derivatives ``dK`` (r, 2, 2) at ``b0`` (scalar field), r = Choi rank."""
    check_noise(noise)
    for name, v in (("t", t), ("gamma", gamma)):
        if not np.isfinite(v) or v < 0:
            fail(name, v, "a finite value >= 0")
    if not np.isfinite(b0):
        fail("b0", b0, "a finite scalar field")

    with jax.enable_x64(True):  # the bound is computed in float64 whatever the caller set
        s, ds = _superoperator_and_derivative(noise)(float(t), float(gamma), float(b0))
    s, ds = np.asarray(s), np.asarray(ds)

    def choi(m):  # row-major vec: S[(a,b),(c,d)] = sum K_ac conj(K_bd) -> J[(a,c),(b,d)]
        return m.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)

    j, dj = choi(s), choi(ds)
    j, dj = 0.5 * (j + j.conj().T), 0.5 * (dj + dj.conj().T)
    lam, v = np.linalg.eigh(j)
    keep = lam > rank_tol * max(lam.max(), 1e-300)
    a = v[:, keep] * np.sqrt(lam[keep])[None, :]  # (4, r)
    pinv = np.linalg.pinv(a)  # (r, 4)
    m = pinv @ dj @ pinv.conj().T
    da = dj @ pinv.conj().T - 0.5 * a @ m
    perp = np.eye(4) - a @ pinv
    leak = np.linalg.norm(perp @ dj @ perp)
    if leak > 1e-6 * max(1.0, np.linalg.norm(dj)):
        warnings.warn(f"Choi rank changes at b0 (t={t}, noise={noise}, gamma={gamma}): "
                      f"|P_perp dJ P_perp| = {leak:.2e}; the bound there is not reliable",
                      RuntimeWarning, stacklevel=2)
    kraus = a.T.reshape(-1, 2, 2)  # column k = vec(K_k), vec index 2a + c -> K[a, c]
    dkraus = da.T.reshape(-1, 2, 2)
    return kraus, dkraus


@functools.lru_cache(maxsize=8)
def _ce_program(r: int):
    """The CE SDP for r Kraus operators, built once (DPP: the Kraus data, their products and
    the weights N, N(N-1) are parameters, so each solve skips CVXPY's canonicalization)."""
    import cvxpy as cp

    par = {"k": cp.Parameter((2 * r, 2), complex=True),
           "dk": cp.Parameter((2 * r, 2), complex=True),
           "beta0": cp.Parameter((2, 2), hermitian=True),
           "kk": [[cp.Parameter((2, 2), complex=True) for _ in range(r)] for _ in range(r)],
           "w1": cp.Parameter(nonneg=True), "w2": cp.Parameter(nonneg=True)}
    h = cp.Variable((r, r), hermitian=True)
    a = cp.Variable(nonneg=True)
    b = cp.Variable(nonneg=True)
    e2 = np.eye(2)
    d = par["dk"] - 1j * (cp.kron(h, e2) @ par["k"])  # stacked dK~ (2r x 2)
    big = cp.bmat([[a * e2, d.H], [d, np.eye(2 * r)]])
    # beta = i sum dK^dag K - sum_jl h_jl K_j^dag K_l
    beta = par["beta0"] - sum(h[j, l] * par["kk"][j][l] for j in range(r) for l in range(r))
    beta = 0.5 * (beta + beta.H)
    q = cp.Variable(nonneg=True)  # q >= b^2 as [[q, b], [b, 1]] >= 0 (an SDP, no quadratic)
    cons = [0.5 * (big + big.H) >> 0, b * e2 - beta >> 0, b * e2 + beta >> 0,
            cp.bmat([[q, b], [b, 1.0]]) >> 0]
    prob = cp.Problem(cp.Minimize(4 * (par["w1"] * a + par["w2"] * q)), cons)
    return prob, par, h


def _check_n(n_qubits) -> int:
    """A qubit count: an integer >= 1 (a whole float such as 3.0 too)."""
    try:
        ok = (not isinstance(n_qubits, bool) and int(n_qubits) == n_qubits
              and int(n_qubits) >= 1)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        fail("n_qubits", n_qubits, "an integer >= 1")
    return int(n_qubits)


def ce_bound_at(n_qubits: int, t: float, noise: str, gamma: float, b0: float = 1.0,
                solver: str | None = None) -> tuple[float, np.ndarray]:
    """CE bound on the QFI (per unit B^2) of N parallel channel uses at time ``t`` at ``b0``;
    returns (bound, h) with h the optimal r x r generator."""
    n = _check_n(n_qubits)
    k, dk = channel_kraus(t, noise, gamma, b0)
    _, h = solve_ce_sdp(n, k, dk, solver)
    # any Hermitian h gives a valid bound: evaluate it exactly at the solver's h, so solver
    # tolerance can only loosen the bound, never push it below the true minimum
    return ce_objective(n, k, dk, h), h


def solve_ce_sdp(n: int, kraus: np.ndarray, dkraus: np.ndarray,
                 solver: str | None = None) -> tuple[float, np.ndarray]:
    """Solve the CE SDP for the representation (kraus, dkraus): (SDP optimum, Hermitian h)."""
    import cvxpy as cp

    k, dk = kraus, dkraus
    r = k.shape[0]
    prob, par, hvar = _ce_program(r)
    par["k"].value, par["dk"].value = np.vstack(k), np.vstack(dk)
    beta0 = 1j * np.einsum("kba,kbc->ac", dk.conj(), k)
    par["beta0"].value = 0.5 * (beta0 + beta0.conj().T)
    kk = np.einsum("jba,lbc->jlac", k.conj(), k)  # K_j^dag K_l
    for j in range(r):
        for m in range(r):
            par["kk"][j][m].value = kk[j, m]
    par["w1"].value, par["w2"].value = float(n), float(n * (n - 1))
    with warnings.catch_warnings():  # "inaccurate" is harmless: ce_bound_at re-evaluates
        warnings.simplefilter("ignore", UserWarning)
        prob.solve(solver=solver or "CLARABEL")
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise RuntimeError(f"CE bound SDP not solved: status {prob.status} (n={n})")
    h = np.asarray(hvar.value)
    return float(prob.value), 0.5 * (h + h.conj().T)


def ce_objective(n_qubits: int, kraus: np.ndarray, dkraus: np.ndarray, h: np.ndarray) -> float:
    """``4 [N ||alpha|| + N (N-1) ||beta||^2]`` of the representation rotated by ``h`` (numpy);
    an upper bound on the N-use QFI for every Hermitian ``h``."""
    n = int(n_qubits)
    r = kraus.shape[0]
    dt = dkraus - 1j * np.einsum("kj,jab->kab", h, kraus)
    alpha = np.einsum("kba,kbc->ac", dt.conj(), dt)
    beta = 1j * np.einsum("kba,kbc->ac", dt.conj(), kraus)
    na = np.linalg.norm(0.5 * (alpha + alpha.conj().T), 2)
    nb = np.linalg.norm(0.5 * (beta + beta.conj().T), 2) if r else 0.0
    return float(4 * (n * na + n * (n - 1) * nb**2))


def max_bound_over_t(n_qubits: int, noise: str, gamma: float, b0: float = 1.0,
                     t_range: tuple[float, float] = (1e-3, 20.0), n_grid: int = 25,
                     solver: str | None = None) -> CEBound:
    """The CE bound maximized over the sensing time ``t`` in ``t_range`` x 1/gamma (log grid of
    ``n_grid`` points, then a bounded Brent refinement in log t around the best grid point)."""
    import scipy.optimize as so

    check_noise(noise)
    if noise == "none" or not gamma > 0:
        fail("gamma", gamma, "> 0 with a noise model (without noise the bound N^2 t^2 grows "
             "without limit in t; use ce_bound_at)")
    if n_grid < 3:
        fail("n_grid", n_grid, "an integer >= 3")
    lo, hi = np.log(t_range[0] / gamma), np.log(t_range[1] / gamma)
    grid = np.linspace(lo, hi, n_grid)
    vals = [ce_bound_at(n_qubits, float(np.exp(x)), noise, gamma, b0, solver)[0] for x in grid]
    i = int(np.argmax(vals))
    a, c = grid[max(i - 1, 0)], grid[min(i + 1, n_grid - 1)]
    res = so.minimize_scalar(
        lambda x: -ce_bound_at(n_qubits, float(np.exp(x)), noise, gamma, b0, solver)[0],
        bounds=(a, c), method="bounded", options={"xatol": 1e-5})
    x = float(res.x) if -res.fun >= vals[i] else float(grid[i])
    value, h = ce_bound_at(n_qubits, float(np.exp(x)), noise, gamma, b0, solver)
    at_edge = bool(min(abs(x - lo), abs(x - hi)) < 1e-3)
    return CEBound(n_qubits=int(n_qubits), noise=noise, gamma=float(gamma), b0=float(b0),
                   value=value, qcrb=1.0 / value, t=float(np.exp(x)), t_at_bound=at_edge, h=h)


def dephasing_ce_closed_form(n_qubits: int, t, gamma) -> np.ndarray:
    """Closed-form CE bound for dephasing: ``N^2 t^2 eta^2 / (N (1 - eta^2) + eta^2)``,
    ``eta = exp(-gamma t)`` (Kolodynski & Demkowicz-Dobrzanski 2013; per unit B^2).
    ``n_qubits`` an integer >= 1; ``t``, ``gamma`` finite values >= 0 (arrays broadcast), as
    `ce_bound_at` checks them (a negative gamma gave a bound above the noiseless N^2 t^2)."""
    n = float(_check_n(n_qubits))
    values = {}
    for name, v in (("t", t), ("gamma", gamma)):
        a = real_array(name, v, "finite real values >= 0")
        if not np.all(np.isfinite(a) & (a >= 0)):
            fail(name, a[~(np.isfinite(a) & (a >= 0))].tolist() if a.ndim else float(a),
                 "finite values >= 0")
        values[name] = a.astype(float)
    t, gamma = values["t"], values["gamma"]
    eta2 = np.exp(-2 * gamma * t)
    return n**2 * t**2 * eta2 / (n * (1 - eta2) + eta2)
