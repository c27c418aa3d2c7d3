"""Autodiff gradients of the QFI/QCRB against central finite differences.

Rank-deficient cases (pure probes, noiseless sensing) are where a naive eigh derivative is
NaN; the QFIM's own tangent rule (qsense.fisher) must give the right, finite answer there.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense
from qsense.objective import probe_qfi, probe_qfim


def _genome(seed, n, g=8):
    return qsense.random_genome(jax.random.PRNGKey(seed), n, g, gate_probs=[1, 1, 1, 2, 0])


def _central(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def _with_angles(g, a):
    return qsense.Genome(g.gate, g.control, g.target, a)


@pytest.mark.parametrize(("noise", "gamma"), [("none", 0.0), ("dephasing", 0.0),
                                              ("dephasing", 0.2), ("bitflip", 0.1),
                                              ("amplitude_damping", 0.3)])
def test_angle_gradient_matches_fd(noise, gamma):
    n, t = 3, 1.1
    g = _genome(2, n)

    def f(a):
        return probe_qfi(_with_angles(g, a), t, gamma, 1.0, n_qubits=n, noise=noise)

    grad = jax.grad(f)(g.angle)
    assert np.all(np.isfinite(grad))
    eye = np.eye(g.n_genes)
    fd = np.array([_central(lambda s, e=e: f(g.angle + s * e), 0.0, 1e-5) for e in eye])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-7)


def test_pure_state_gradient_is_finite_where_eigh_derivative_is_nan():
    """Pure probe, noiseless: rho has a (2^N - 1)-fold degenerate zero eigenvalue."""
    n, t = 4, 0.7
    g = _genome(9, n, 10)

    def f(a):
        return probe_qfi(_with_angles(g, a), t, 0.0, 1.0, n_qubits=n, noise="none")

    grad = jax.grad(f)(g.angle)
    assert np.all(np.isfinite(grad))
    # pure-state QFI of the unitary family: 4 t^2 Var(sum Z / 2) = t^2 Var(sum Z)
    psi = qsense.probe_state(g, n)
    zsum = jnp.asarray([n - 2 * bin(i).count("1") for i in range(2**n)], float)
    p = jnp.abs(psi) ** 2
    var = p @ zsum**2 - (p @ zsum) ** 2
    np.testing.assert_allclose(f(g.angle), t**2 * var, rtol=1e-10)


@pytest.mark.parametrize(("noise", "gamma"), [("none", 0.0), ("dephasing", 0.15),
                                              ("bitflip", 0.15), ("amplitude_damping", 0.15)])
def test_time_gradient_matches_fd(noise, gamma):
    n = 3
    g = _genome(4, n)

    def f(t):
        return probe_qfi(g, t, gamma, 1.0, n_qubits=n, noise=noise)

    np.testing.assert_allclose(jax.grad(f)(1.3), _central(f, 1.3, 1e-5), rtol=1e-7)


@pytest.mark.parametrize("noise", ["dephasing", "bitflip", "amplitude_damping"])
@pytest.mark.parametrize("gamma", [1e-3, 0.1, 0.5])
def test_gamma_gradient_matches_fd(noise, gamma):
    n = 3
    g = _genome(6, n)

    def f(gm):
        return probe_qfi(g, 1.2, gm, 1.0, n_qubits=n, noise=noise)

    h = min(1e-6, gamma / 10)
    np.testing.assert_allclose(jax.grad(f)(gamma), _central(f, gamma, h), rtol=1e-5)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_gamma_gradient_at_zero_ghz_closed_form(n):
    """d/dgamma [N^2 t^2 exp(-2 N gamma t)] at gamma = 0 is -2 N^3 t^3 (finite, not NaN)."""
    t = 0.9

    def f(gm):
        return probe_qfi(qsense.empty_genome(3), t, gm, 1.0, n_qubits=n, noise="dephasing")

    np.testing.assert_allclose(jax.grad(f)(0.0), -2 * n**3 * t**3, rtol=1e-10)


def test_qcrb_gradient_vector_field_matches_fd():
    n, t, gamma = 3, 0.8, 0.1
    g = _genome(12, n)

    def f(a):
        fm = probe_qfim(_with_angles(g, a), t, gamma, jnp.zeros(3), n_qubits=n,
                        noise="dephasing")
        return qsense.qcrb(fm)

    grad = jax.grad(f)(g.angle)
    eye = np.eye(g.n_genes)
    fd = np.array([_central(lambda s, e=e: f(g.angle + s * e), 0.0, 1e-5) for e in eye])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_qfim_gradient_pure_vector_field():
    """Pure probe, noiseless, vector field: every QFIM entry's gradient vs FD."""
    n, t = 2, 1.0
    g = _genome(21, n, 6)

    def f(a):
        return probe_qfim(_with_angles(g, a), t, 0.0, jnp.array([0.1, -0.2, 0.3]), n_qubits=n,
                          noise="none")

    jac = jax.jacrev(f)(g.angle)
    assert np.all(np.isfinite(jac))
    for k in range(g.n_genes):
        e = np.eye(g.n_genes)[k]
        fd = _central(lambda s, e=e: f(g.angle + s * e), 0.0, 1e-5)
        np.testing.assert_allclose(jac[..., k], fd, rtol=1e-6, atol=1e-7)
