"""The engine against the independent numpy/scipy implementation in tests/reference/."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense
from qsense.objective import probe_qfi, probe_qfim
from tests.reference import engine_numpy as ref

NOISES = ["none", "dephasing", "bitflip", "amplitude_damping"]


def _genome(seed, n, g=8):
    return qsense.random_genome(jax.random.PRNGKey(seed), n, g,
                                gate_probs=[1, 1, 1, 2 if n > 1 else 0, 0.5])


def _tuple(genome):
    return tuple(np.asarray(x) for x in (genome.gate, genome.control, genome.target,
                                          genome.angle))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_pqc_matches_kronecker_unitary(n):
    for seed in range(3):
        g = _genome(seed, n, 12)
        got = qsense.apply_pqc(qsense.ghz_state(n), g)
        want = ref.circuit_unitary(_tuple(g), n) @ ref.ghz(n)
        np.testing.assert_allclose(got, want, atol=1e-12)
        rho = np.outer(want, want.conj())
        rho_in = np.outer(ref.ghz(n), ref.ghz(n).conj())
        np.testing.assert_allclose(qsense.apply_pqc(jnp.asarray(rho_in), g), rho, atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("noise", NOISES)
def test_sense_matches_full_liouvillian(n, noise):
    rng = np.random.default_rng(n)
    psi = ref.circuit_unitary(_tuple(_genome(7, n)), n) @ ref.ghz(n)
    rho = np.outer(psi, psi.conj())
    for field in (0.7, rng.normal(size=3)):
        got = qsense.sense(jnp.asarray(rho), jnp.asarray(field), 1.3, noise, 0.25)
        want = ref.sense(rho, field, 1.3, noise, 0.25)
        np.testing.assert_allclose(got, want, atol=1e-11)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("noise", NOISES)
def test_probe_qfi_matches_reference(n, noise):
    """Scalar field (B0 = 1) and vector field (B0 = 0 and a generic B0): relative 1e-8."""
    g = _genome(11 * n + len(noise), n)
    gt = _tuple(g)
    t, gamma = 0.9, 0.15
    f = probe_qfi(g, t, gamma, 1.0, n_qubits=n, noise=noise)
    f_ref = ref.probe_qfim(gt, n, 1.0, t, noise, gamma)[0, 0]
    np.testing.assert_allclose(f, f_ref, rtol=1e-8, atol=1e-8)
    if n <= 4:
        for b0 in (np.zeros(3), np.array([0.3, -0.2, 0.5])):
            fm = probe_qfim(g, t, gamma, jnp.asarray(b0), n_qubits=n, noise=noise)
            fm_ref = ref.probe_qfim(gt, n, b0, t, noise, gamma)
            np.testing.assert_allclose(fm, fm_ref, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("noise", ["dephasing", "bitflip", "amplitude_damping"])
def test_qfi_matches_sylvester_sld(noise):
    """Full-rank case: the SLD from a Sylvester solve gives the same QFI (a second method)."""
    n = 3
    psi = ref.circuit_unitary(_tuple(_genome(5, n)), n) @ ref.ghz(n)
    rho0 = 0.9 * np.outer(psi, psi.conj()) + 0.1 * np.eye(2**n) / 2**n  # full rank
    t, gamma, b0 = 1.1, 0.4, 1.0

    def rho_of(b):
        return ref.sense(rho0, b, t, noise, gamma)

    rho = rho_of(b0)
    assert np.linalg.eigvalsh(rho).min() > 1e-4
    f_syl = ref.qfi_sylvester(rho, ref.fd_derivatives(rho_of, b0)[0])
    f = qsense.qfi(lambda b: qsense.sense(jnp.asarray(rho0), b, t, noise, gamma), b0)
    np.testing.assert_allclose(f, f_syl, rtol=1e-8)
