"""The one-pass sensing map for diagonal one-qubit maps (scalar field with dephasing or no
noise): the elementwise mask equals a Kronecker product built independently in numpy, the
objective takes it only where the noise is diagonal, and sensed states equal the full 4^N x 4^N
Lindblad map exponentiated by scipy
(test_objective checks that dephasing and amplitude damping still share one program)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sla

import qsense
from qsense.objective import Problem, diagonal_noise, sensed_state
from qsense.sensing import diagonal_map_mask, diagonal_maps_mask
from tests.reference import engine_numpy as R


def _kron_mask(diags):
    """numpy: M = D_0 (x) D_1 (x) ... with D_k[a, c] = diags[k][2a + c] (qubit 0 leading)."""
    return functools.reduce(np.kron, [np.asarray(d).reshape(2, 2) for d in diags])


def _dense_sense(rho, b, t, noise, gamma, weights):
    """numpy/scipy: exp(t L) on vec(rho) with the full 4^N x 4^N Lindblad generator, the field
    on qubit q scaled by ``weights[q]`` (tests/reference/engine_numpy; nothing from qsense)."""
    n = len(weights)
    d = 2**n
    eye = np.eye(d)
    h = sum(R.embed({q: 0.5 * w * b * R.Z}, n) for q, w in enumerate(weights))
    gen = -1j * (np.kron(h, eye) - np.kron(eye, h.T))
    ell1 = R.jump(noise, gamma)
    for q in range(n if ell1 is not None else 0):
        ell = R.embed({q: ell1}, n)
        ldl = ell.conj().T @ ell
        gen = gen + np.kron(ell, ell.conj()) - 0.5 * np.kron(ldl, eye) - 0.5 * np.kron(eye, ldl.T)
    return (sla.expm(t * gen) @ rho.reshape(-1)).reshape(d, d)


@pytest.mark.parametrize("n", [1, 4])
def test_mask_is_the_kronecker_product_of_the_one_qubit_diagonals(n):
    rng = np.random.default_rng(n)
    s = rng.normal(size=4) + 1j * rng.normal(size=4)
    got = np.asarray(diagonal_map_mask(jnp.diag(jnp.asarray(s)), n))
    np.testing.assert_allclose(got, _kron_mask([s] * n), rtol=1e-13, atol=0)
    per = rng.normal(size=(n, 4)) + 1j * rng.normal(size=(n, 4))
    got = np.asarray(diagonal_maps_mask(jnp.asarray(np.stack([np.diag(p) for p in per])), n))
    np.testing.assert_allclose(got, _kron_mask(per), rtol=1e-13, atol=0)


def _kron_mask_derivative(s, s_dot, n):
    """numpy product rule on the Kronecker power: sum over qubits of the power with that
    qubit's factor replaced by the tangent's."""
    return sum(_kron_mask([s_dot if k == q else s for k in range(n)]) for q in range(n))


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("zero_entry", [None, 1])
def test_mask_derivatives_match_the_product_rule(n, zero_entry):
    """JVP of the mask in the diagonal (its custom rule) against numpy's product rule, the VJP
    is its transpose (bilinear pairing, batched over rows as the GA's per-row times), and an
    entry s[a] = 0 (a fully decayed coherence) gives finite, exact derivatives."""
    rng = np.random.default_rng(20 + n)
    b = 4
    s = rng.normal(size=(b, 4)) + 1j * rng.normal(size=(b, 4))
    if zero_entry is not None:
        s[:, zero_entry] = 0.0
    s_dot = rng.normal(size=(b, 4)) + 1j * rng.normal(size=(b, 4))
    ct = rng.normal(size=(b, 2**n, 2**n)) + 1j * rng.normal(size=(b, 2**n, 2**n))
    f = jax.vmap(lambda d: diagonal_map_mask(jnp.diag(d), n))
    _, tan = jax.jvp(f, (jnp.asarray(s),), (jnp.asarray(s_dot),))
    want = np.stack([_kron_mask_derivative(s[i], s_dot[i], n) for i in range(b)])
    np.testing.assert_allclose(np.asarray(tan), want, rtol=1e-12, atol=1e-12)
    _, vjp = jax.vjp(f, jnp.asarray(s))
    (ct_s,) = vjp(jnp.asarray(ct))
    lhs, rhs = np.sum(np.asarray(ct_s) * s_dot), np.sum(ct * want)
    assert np.isfinite(lhs) and abs(lhs - rhs) <= 1e-10 * max(1.0, abs(rhs))


@pytest.mark.parametrize("noise", ["dephasing", "none", "amplitude_damping", "bitflip"])
def test_sensed_state_equals_the_dense_lindblad_map(noise):
    n, t, b, gamma = 3, 0.7, 1.3, 0.3
    rng = np.random.default_rng(7)
    a = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
    rho = a @ a.conj().T
    rho /= np.trace(rho)
    for sensors in (None, np.array([1.0, 0.0, 0.4])):
        p = Problem(n, noise, gamma, "scalar", b, sensors=sensors)
        want = _dense_sense(rho, b, t, noise, gamma, np.ones(n) if sensors is None else sensors)
        np.testing.assert_allclose(np.asarray(sensed_state(p, jnp.asarray(rho), t)), want,
                                   rtol=0, atol=1e-13)
        assert bool(diagonal_noise(p)) == (noise in ("dephasing", "none"))


def test_public_sense_and_its_field_derivative_match_the_dense_map():
    """`qsense.sense` under dephasing (the mask) against the dense map, value and d/dB."""
    t, g, b = 0.9, 0.2, 0.6
    rng = np.random.default_rng(3)
    psi = rng.normal(size=8) + 1j * rng.normal(size=8)
    psi /= np.linalg.norm(psi)
    rho = np.outer(psi, psi.conj())

    def dense(bb):
        return R.sense(rho, bb, t, "dephasing", g)

    np.testing.assert_allclose(np.asarray(qsense.sense(jnp.asarray(psi), b, t, "dephasing", g)),
                               dense(b), atol=1e-13)
    _, d = jax.jvp(lambda bb: qsense.sense(jnp.asarray(psi), bb, t, "dephasing", g), (b,), (1.0,))
    h = 1e-5
    np.testing.assert_allclose(np.asarray(d), (dense(b + h) - dense(b - h)) / (2 * h),
                               atol=1e-9)
