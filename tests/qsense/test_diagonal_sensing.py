"""The one-pass sensing map for diagonal one-qubit maps (scalar field with dephasing or no
noise): the elementwise mask equals a Kronecker product built independently in numpy, the
objective takes it only where the noise is diagonal, and it leaves every value unchanged
(test_objective checks that dephasing and amplitude damping still share one program)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense
from qsense.objective import Problem, diagonal_noise, sensed_state, sensing_superoperators
from qsense.sensing import diagonal_map_mask, diagonal_maps_mask


def _kron_mask(diags):
    """numpy: M = D_0 (x) D_1 (x) ... with D_k[a, c] = diags[k][2a + c] (qubit 0 leading)."""
    return functools.reduce(np.kron, [np.asarray(d).reshape(2, 2) for d in diags])


def _dense_map(sops):
    """numpy: the N-qubit superoperator kron(sops) acting on row-major vec(rho), built by
    permuting kron(s_0, ..., s_{N-1}) from (a0 c0 a1 c1 ...) to (a0 a1 ... c0 c1 ...)."""
    n = len(sops)
    big = functools.reduce(np.kron, [np.asarray(s) for s in sops])
    t = big.reshape([2] * (4 * n))
    order = [2 * k for k in range(n)] + [2 * k + 1 for k in range(n)]
    perm = order + [2 * n + o for o in order]
    return t.transpose(perm).reshape(4**n, 4**n)


@pytest.mark.parametrize("n", [1, 4])
def test_mask_is_the_kronecker_product_of_the_one_qubit_diagonals(n):
    rng = np.random.default_rng(n)
    s = rng.normal(size=4) + 1j * rng.normal(size=4)
    got = np.asarray(diagonal_map_mask(jnp.diag(jnp.asarray(s)), n))
    np.testing.assert_allclose(got, _kron_mask([s] * n), rtol=1e-13, atol=0)
    per = rng.normal(size=(n, 4)) + 1j * rng.normal(size=(n, 4))
    got = np.asarray(diagonal_maps_mask(jnp.asarray(np.stack([np.diag(p) for p in per])), n))
    np.testing.assert_allclose(got, _kron_mask(per), rtol=1e-13, atol=0)


@pytest.mark.parametrize("noise", ["dephasing", "none", "amplitude_damping", "bitflip"])
def test_sensed_state_equals_the_dense_superoperator(noise):
    n, t, b = 3, 0.7, 1.3
    rng = np.random.default_rng(7)
    a = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
    rho = a @ a.conj().T
    rho /= np.trace(rho)
    for sensors in (None, np.array([1.0, 0.0, 0.4])):
        p = Problem(n, noise, 0.3, "scalar", b, sensors=sensors)
        sops = np.asarray(sensing_superoperators(p, b, t))
        want = (_dense_map(sops) @ rho.reshape(-1)).reshape(8, 8)
        np.testing.assert_allclose(np.asarray(sensed_state(p, jnp.asarray(rho), t)), want,
                                   rtol=0, atol=1e-14)
        assert bool(diagonal_noise(p)) == (noise in ("dephasing", "none"))


def test_public_sense_and_its_field_derivative_match_the_dense_map():
    """`qsense.sense` under dephasing (the mask) against the dense map, value and d/dB."""
    n, t, g, b = 3, 0.9, 0.2, 0.6
    psi = np.asarray(qsense.apply_pqc(qsense.ghz_state(n),
                                      qsense.random_genome(jax.random.PRNGKey(3), n, 8)))
    rho = np.outer(psi, psi.conj())

    def dense(bb):
        p = Problem(n, "dephasing", g, "scalar", bb)
        return (_dense_map(np.asarray(sensing_superoperators(p, bb, t))) @ rho.reshape(-1)
                ).reshape(8, 8)

    np.testing.assert_allclose(np.asarray(qsense.sense(psi, b, t, "dephasing", g)), dense(b),
                               atol=1e-14)
    _, d = jax.jvp(lambda bb: qsense.sense(psi, bb, t, "dephasing", g), (b,), (1.0,))
    h = 1e-5
    np.testing.assert_allclose(np.asarray(d), (dense(b + h) - dense(b - h)) / (2 * h),
                               atol=1e-9)

