"""Spin Wigner function: normalization, an independent implementation, the coherent state."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.polynomial.legendre import leggauss

from qsense.wigner import sphere_grid, symmetric_part, wigner, wigner_3j, wigner_function
from tests.reference.vqs_wigner import dicke_vector, wigner_reference


def _ghz(n):
    v = np.zeros(2**n, complex)
    v[0] = v[-1] = 1 / np.sqrt(2)
    return v


def _random_state(n, seed):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return v / np.linalg.norm(v)


def _integral(state, n_nodes=16):
    """(2j+1)/(4 pi) \\int W dOmega by Gauss-Legendre in cos(theta) x uniform phi: exact for
    the band-limited W (degree <= 2j <= 2 n_nodes - 1 in cos(theta), |q| <= 2j in phi)."""
    x, w = leggauss(n_nodes)
    n_phi = 2 * n_nodes
    phi = np.arange(n_phi) * 2 * np.pi / n_phi
    tt, pp = np.meshgrid(np.arccos(x), phi, indexing="ij")
    wts = np.outer(w, np.full(n_phi, 2 * np.pi / n_phi))
    vals = wigner_function(state, tt, pp)
    j = (symmetric_part(state).shape[0] - 1) / 2
    return (2 * j + 1) / (4 * np.pi) * np.sum(wts * vals)


def test_3j_known_values():
    # (1 1 0; 0 0 0) = -1/sqrt(3); (1/2 1/2 1; 1/2 -1/2 0) = 1/sqrt(6)
    assert wigner_3j(1, 1, 0, 0, 0, 0) == pytest.approx(-1 / np.sqrt(3))
    assert wigner_3j(0.5, 0.5, 1, 0.5, -0.5, 0) == pytest.approx(1 / np.sqrt(6))
    assert wigner_3j(1, 1, 1, 0, 0, 0) == 0.0  # odd sum with all m = 0


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_normalization(n):
    assert _integral(_ghz(n)) == pytest.approx(1.0, abs=1e-12)
    psi = _random_state(n, n)
    weight = float(np.linalg.norm(dicke_vector(psi)) ** 2)  # Tr(P_sym rho), independently
    assert _integral(psi) == pytest.approx(weight, abs=1e-12)
    assert wigner(psi, 40, 80).symmetric_weight == pytest.approx(weight, abs=1e-12)


@pytest.mark.parametrize("n,seed", [(2, 0), (3, 1), (4, 2), (5, 3)])
def test_matches_independent_reference(n, seed):
    rng = np.random.default_rng(100 + seed)
    points = np.column_stack([rng.uniform(0, np.pi, 6), rng.uniform(0, 2 * np.pi, 6)])
    for psi in (_ghz(n), _random_state(n, seed)):
        dv = dicke_vector(psi)
        rho = np.outer(dv, dv.conj())
        np.testing.assert_allclose(symmetric_part(psi), rho, atol=1e-12)
        ours = wigner_function(psi, points[:, 0], points[:, 1])
        ref = [wigner_reference(rho, th, ph) for th, ph in points]
        np.testing.assert_allclose(ours, ref, atol=1e-10)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_all_up_coherent_state_peaks_at_north_pole(n):
    """|0...0> (every spin up along +z, m = +j) is the spin coherent state at theta = 0."""
    up = np.zeros(2**n, complex)
    up[0] = 1
    wg = wigner(up, 61, 60)
    i = np.unravel_index(np.argmax(wg.values), wg.values.shape)
    assert wg.theta[i] == pytest.approx(wg.theta.min())  # first ring of the grid
    pole = wigner_function(up, 0.0, 0.0)
    assert pole > wg.values.max() - 1e-12
    assert pole > wigner_function(up, np.pi, 0.0)
    down = np.zeros(2**n, complex)
    down[-1] = 1  # all spins down: the south pole
    assert wigner_function(down, np.pi, 0.0) == pytest.approx(float(pole), rel=1e-10)


def test_ghz_wigner_has_a_negative_part():
    """A GHZ (cat) state has interference fringes with W < 0; the negativity is positive."""
    wg = wigner(_ghz(4), 61, 120)
    assert wg.minimum < 0 and wg.negativity > 0.05


@pytest.mark.parametrize("n", [2, 3])
def test_ghz_negativity_matches_the_independent_reference(n):
    """delta = (2j+1)/(4 pi) \\int (|W| - W)/2 dOmega, integrated here from the reference W
    (rotated pole kernel, no 3j symbols or Y_kq) by Gauss-Legendre in cos(theta) x uniform phi;
    the module's midpoint grid agrees to O(1/n_theta^2). Also the grid's weights integrate W
    to Tr(P_sym rho) = 1 for GHZ."""
    psi = _ghz(n)
    dv = dicke_vector(psi)
    rho = np.outer(dv, dv.conj())
    j = n / 2
    x, w = leggauss(48)
    n_phi = 96
    phi = np.arange(n_phi) * 2 * np.pi / n_phi
    ref = np.array([[wigner_reference(rho, np.arccos(xi), ph) for ph in phi] for xi in x])
    dmu = w[:, None] * (2 * np.pi / n_phi) * (2 * j + 1) / (4 * np.pi)
    want = float(np.sum(dmu * (np.abs(ref) - ref) / 2))
    wg = wigner(psi, 61, 120)
    assert wg.negativity == pytest.approx(want, rel=2e-3)
    assert wg.minimum == pytest.approx(ref.min(), abs=5e-3)
    _, _, wts = sphere_grid(61, 120)
    assert float(np.sum(wts * (2 * j + 1) * wg.values)) == pytest.approx(1.0, abs=2e-3)
