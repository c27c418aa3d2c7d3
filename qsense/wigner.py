"""Spin (Agarwal) Wigner function of an N-qubit probe on the sphere, and its negativity.

Definition (G. S. Agarwal, Phys. Rev. A 24, 2889 (1981); J. P. Dowling, G. S. Agarwal,
W. P. Schleich, Phys. Rev. A 49, 4101 (1994)): for a spin j with density matrix rho,

    W(theta, phi) = sqrt(4 pi / (2j + 1)) sum_{k=0}^{2j} sum_{q=-k}^{k} rho_kq Y_kq(theta, phi),
    rho_kq = Tr(rho T_kq^dagger),
    T_kq = sum_{m, m'} (-1)^{j-m} sqrt(2k + 1) (j k j; -m q m') |j m><j m'|,

normalized so that ``(2j + 1)/(4 pi) \\int W dOmega = Tr rho`` (and, as a Stratonovich-Weyl
map, ``Tr(rho A) = (2j+1)/(4 pi) \\int W_rho W_A dOmega``).

N qubits -> one sphere: we use the **symmetric-subspace (Dicke) projection**, j = N/2: the
probe's density matrix is projected onto the permutation-symmetric subspace spanned by the
Dicke states ``|j, m>``, ``m = N/2 - (number of qubits in |1>)`` (``|0>`` = spin up, the
``+1`` eigenvector of Z, so the collective ``J_z = (1/2) sum Z_i``). GHZ and coherent spin
states live entirely in that subspace; a general PQC output does not, and the weight
``Tr(P_sym rho)`` it keeps is reported (``Wigner.symmetric_weight``); W is *not* renormalized
(its integral is that weight). This is the collective-spin picture that plots like the seed's
Fig 2a/3a use. Numpy/scipy (not a hot path); j <= 6 (N <= 12).

Negativity: the volume of the negative part, ``delta = (2j+1)/(4 pi) \\int (|W| - W)/2 dOmega``
(Kenfack & Zyczkowski, J. Opt. B 6, 396 (2004), with the normalized measure of the sphere).
"""

from __future__ import annotations

import dataclasses
from math import factorial

import numpy as np
from scipy.special import sph_harm_y

from qsense._checks import check_finite, fail
from qsense.states import validate_state


def wigner_3j(j1: float, j2: float, j3: float, m1: float, m2: float, m3: float) -> float:
    """Wigner 3j symbol by Racah's formula (exact for the small j used here)."""
    if abs(m1 + m2 + m3) > 1e-9 or any(abs(m) > j + 1e-9 for m, j in
                                        ((m1, j1), (m2, j2), (m3, j3))):
        return 0.0
    if j3 < abs(j1 - j2) - 1e-9 or j3 > j1 + j2 + 1e-9:
        return 0.0

    def f(x: float) -> int:
        return factorial(int(round(x)))

    tri = f(j1 + j2 - j3) * f(j1 - j2 + j3) * f(-j1 + j2 + j3) / f(j1 + j2 + j3 + 1)
    pre = np.sqrt(tri * f(j1 + m1) * f(j1 - m1) * f(j2 + m2) * f(j2 - m2) * f(j3 + m3)
                  * f(j3 - m3))
    kmin = int(round(max(0, j2 - j3 - m1, j1 - j3 + m2)))
    kmax = int(round(min(j1 + j2 - j3, j1 - m1, j2 + m2)))
    s = 0.0
    for k in range(kmin, kmax + 1):
        s += (-1) ** k / (f(k) * f(j1 + j2 - j3 - k) * f(j1 - m1 - k) * f(j2 + m2 - k)
                          * f(j3 - j2 + m1 + k) * f(j3 - j1 - m2 + k))
    sign = (-1) ** int(round(j1 - j2 - m3))
    return float(sign * pre * s)


def dicke_basis(n: int) -> np.ndarray:
    """(2^n, n+1) isometry whose column i is the Dicke state |j, m = n/2 - i> (i qubits in
    |1>, big-endian bits, uniform superposition)."""
    idx = np.arange(2**n)
    weight = np.array([bin(i).count("1") for i in idx])
    basis = np.zeros((2**n, n + 1))
    for k in range(n + 1):
        sel = weight == k
        basis[sel, k] = 1 / np.sqrt(sel.sum())
    return basis


def symmetric_part(state) -> np.ndarray:
    """``P_sym rho P_sym`` in the Dicke basis (m = j, j-1, ..., -j), from a state vector
    (2^n,) or a density matrix (2^n, 2^n). The state is checked as everywhere in qsense
    (`qsense.states.validate_state`: norm 1 or trace 1, Hermitian, PSD, finite; n <= 12): an
    unnormalized state would scale W and its integral."""
    a = np.asarray(state)
    if a.ndim not in (1, 2):
        fail("state.ndim", a.ndim, "1 (state vector) or 2 (density matrix)")
    n = validate_state(a, "state")
    d = dicke_basis(n)
    if a.ndim == 1:
        v = d.T @ a
        return np.outer(v, v.conj())
    return d.T @ a @ d


def multipoles(rho_sym: np.ndarray) -> dict[tuple[int, int], complex]:
    """``rho_kq = Tr(rho T_kq^dagger)`` for k = 0..2j, q = -k..k."""
    dim = rho_sym.shape[0]
    j = (dim - 1) / 2
    ms = j - np.arange(dim)  # row i <-> m = j - i
    out = {}
    for k in range(dim):
        for q in range(-k, k + 1):
            t = np.zeros((dim, dim))
            for a, m in enumerate(ms):
                for b, mp in enumerate(ms):
                    c = wigner_3j(j, k, j, -m, q, mp)
                    if c:
                        t[a, b] = (-1) ** int(round(j - m)) * np.sqrt(2 * k + 1) * c
            out[(k, q)] = complex(np.trace(rho_sym @ t.T.conj()))
    return out


def wigner_function(state, theta, phi) -> np.ndarray:
    """W(theta, phi) of the symmetric part of ``state`` (polar ``theta`` from +z, azimuth
    ``phi``, radians; broadcast together, finite). Real up to round-off; the real part is
    returned. ``state`` is checked as in `symmetric_part`."""
    rho = symmetric_part(state)
    j = (rho.shape[0] - 1) / 2
    check_finite("theta", theta)
    check_finite("phi", phi)
    theta, phi = np.broadcast_arrays(np.asarray(theta, float), np.asarray(phi, float))
    w = np.zeros(theta.shape, complex)
    for (k, q), r in multipoles(rho).items():
        if r != 0:
            w += r * sph_harm_y(k, q, theta, phi)
    return np.sqrt(4 * np.pi / (2 * j + 1)) * w.real


@dataclasses.dataclass
class Wigner:
    """W on a (theta, phi) grid with its integral (= ``symmetric_weight``) and negativity."""

    theta: np.ndarray
    phi: np.ndarray
    values: np.ndarray
    j: float
    symmetric_weight: float
    negativity: float
    minimum: float


def sphere_grid(n_theta: int, n_phi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Midpoint grid and its quadrature weights of the normalized measure dOmega / (4 pi)."""
    th = (np.arange(n_theta) + 0.5) * np.pi / n_theta
    ph = np.arange(n_phi) * 2 * np.pi / n_phi
    tt, pp = np.meshgrid(th, ph, indexing="ij")
    wts = np.sin(tt) * (np.pi / n_theta) * (2 * np.pi / n_phi) / (4 * np.pi)
    return tt, pp, wts


def wigner(state, n_theta: int = 91, n_phi: int = 181) -> Wigner:
    """Wigner function on a midpoint grid and its negativity (volume of the negative part,
    normalized measure; grid quadrature, error O(1/n_theta^2))."""
    if n_theta < 3 or n_phi < 3:
        fail("n_theta/n_phi", (n_theta, n_phi), "grid sizes >= 3")
    rho = symmetric_part(state)
    j = (rho.shape[0] - 1) / 2
    tt, pp, wts = sphere_grid(n_theta, n_phi)
    w = wigner_function(state, tt, pp)
    neg = float(np.sum(wts * (2 * j + 1) * (np.abs(w) - w) / 2))
    return Wigner(theta=tt, phi=pp, values=w, j=j, symmetric_weight=float(np.trace(rho).real),
                  negativity=neg, minimum=float(w.min()))


def plot_wigner(wg: Wigner, path, title: str = "") -> None:
    """Equirectangular map (phi, theta) and a view of the sphere, saved as PNG."""
    # a bare Figure (no pyplot): leaves the user's matplotlib backend and state alone
    import matplotlib
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  (registers the 3d projection)

    lim = float(np.max(np.abs(wg.values)))
    fig = Figure(figsize=(10, 4))
    ax = fig.add_subplot(1, 2, 1)
    im = ax.pcolormesh(np.degrees(wg.phi), np.degrees(wg.theta), wg.values, cmap="RdBu_r",
                       vmin=-lim, vmax=lim, shading="auto")
    ax.set_xlabel("azimuth φ (deg)")
    ax.set_ylabel("polar θ (deg, from +z)")
    ax.invert_yaxis()
    fig.colorbar(im, ax=ax, label="W(θ, φ)")
    ax.set_title(f"spin Wigner, j = {wg.j:g}; negativity {wg.negativity:.3g}")
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    x = np.sin(wg.theta) * np.cos(wg.phi)
    y = np.sin(wg.theta) * np.sin(wg.phi)
    z = np.cos(wg.theta)
    cmap = matplotlib.colormaps["RdBu_r"]
    ax3.plot_surface(x, y, z, facecolors=cmap((wg.values / lim + 1) / 2), rstride=1, cstride=1,
                     linewidth=0, antialiased=False, shade=False)
    ax3.set_box_aspect((1, 1, 1))
    ax3.set_axis_off()
    ax3.set_title(f"symmetric weight {wg.symmetric_weight:.3f}")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


__all__ = ["Wigner", "dicke_basis", "multipoles", "plot_wigner", "sphere_grid",
           "symmetric_part", "wigner", "wigner_3j", "wigner_function"]
