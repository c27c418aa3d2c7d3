"""Teleportation over Werner pairs: the explicit protocol versus its depolarizing channel."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense
from qsense import teleport as T


def random_density(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2**n, 2**n)) + 1j * rng.normal(size=(2**n, 2**n))
    r = x @ x.conj().T
    return r / np.trace(r)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("seed", [0, 1])
def test_circuit_equals_channel(n, seed):
    rho = random_density(n, seed)
    f = np.random.default_rng(100 + seed).uniform(0.25, 1.0, size=n)
    circ = np.asarray(T.teleport_circuit(rho, f))
    chan = np.asarray(T.teleport_channel(rho, f))
    np.testing.assert_allclose(circ, chan, atol=1e-10)
    # the closed form: depolarize each qubit by w_k, checked on the Pauli expansion for n = 1
    if n == 1:
        w = (4 * f[0] - 1) / 3
        np.testing.assert_allclose(chan, w * rho + (1 - w) * np.eye(2) / 2, atol=1e-14)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_circuit_equals_channel_on_entangled_pure_probe(n):
    psi = qsense.ghz_state(n)
    f = np.linspace(0.3, 0.95, n)
    np.testing.assert_allclose(np.asarray(T.teleport_circuit(psi, f)),
                               np.asarray(T.teleport_channel(psi, f)), atol=1e-10)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_perfect_pairs_are_identity(n):
    rho = random_density(n, 7)
    np.testing.assert_allclose(np.asarray(T.teleport_circuit(rho, 1.0)), rho, atol=1e-12)
    np.testing.assert_allclose(np.asarray(T.teleport_channel(rho, 1.0)), rho, atol=1e-14)


def test_quarter_fidelity_gives_maximally_mixed_and_zero_qfi():
    n = 3
    rho = random_density(n, 3)
    np.testing.assert_allclose(np.asarray(T.teleport_circuit(rho, 0.25)),
                               np.eye(8) / 8, atol=1e-12)
    psi = qsense.ghz_state(n)

    def delivered(b, f):
        return T.teleport_channel(qsense.sense(psi, b, 1.0, "dephasing", 0.1), f)

    assert float(qsense.qfi(lambda b: delivered(b, 0.25), 1.0)) == pytest.approx(0.0, abs=1e-12)
    # one destroyed qubit suffices to erase the GHZ phase (the N-body coherence)
    f = jnp.array([1.0, 0.25, 1.0])
    assert float(qsense.qfi(lambda b: delivered(b, f), 1.0)) == pytest.approx(0.0, abs=1e-12)
    # perfect pairs keep the closed form F_Q = N^2 t^2 exp(-2 N gamma t)
    q = float(qsense.qfi(lambda b: delivered(b, 1.0), 1.0))
    assert q == pytest.approx(9 * np.exp(-0.6), rel=1e-10)


def test_werner_ghz_coherence_closed_form():
    """Depolarizing each qubit by w multiplies the GHZ coherence |0..0><1..1| by w^N, on top
    of the dephasing factor exp(-N gamma t)."""
    n, t, g = 2, 0.7, 0.1
    f = 0.9
    w = (4 * f - 1) / 3
    psi = qsense.ghz_state(n)
    rho = T.teleport_channel(qsense.sense(psi, 0.3, t, "dephasing", g), f)
    c = np.abs(np.asarray(rho)[0, -1]) * 2
    assert c == pytest.approx(w**n * np.exp(-n * g * t), rel=1e-12)


def test_average_teleportation_fidelity_over_a_two_design():
    """The 6 Pauli eigenstates form a 2-design: their mean fidelity is the Bloch average."""
    s = 1 / np.sqrt(2)
    states = [np.array(v, complex) for v in
              ([1, 0], [0, 1], [s, s], [s, -s], [s, 1j * s], [s, -1j * s])]
    for f in (0.25, 0.6, 0.9, 1.0):
        fids = [np.real(v.conj() @ np.asarray(T.teleport_circuit(v, f)) @ v) for v in states]
        assert np.mean(fids) == pytest.approx(float(T.average_teleportation_fidelity(f)))


def test_channel_is_cptp():
    """Choi matrix of the one-qubit channel: positive semidefinite, partial trace = I."""
    f = 0.6
    choi = np.zeros((4, 4), complex)
    for i in range(2):
        for j in range(2):
            e = np.zeros((2, 2))
            e[i, j] = 1
            choi += np.kron(e, np.asarray(T.teleport_channel(e.astype(complex), f)))
    assert np.linalg.eigvalsh(choi).min() >= -1e-14
    np.testing.assert_allclose(np.einsum("iaja->ij", choi.reshape(2, 2, 2, 2)), np.eye(2),
                               atol=1e-14)


def test_channel_jit_and_gradient_in_fidelity():
    rho = random_density(2, 5)
    f = jax.jit(T.teleport_channel)
    np.testing.assert_allclose(np.asarray(f(rho, 0.8)), np.asarray(T.teleport_channel(rho, 0.8)))
    g = jax.grad(lambda x: jnp.real(T.teleport_channel(rho, x)[0, 3]))(0.8)
    # d/dF of w^2 rho_03 with w = (4F - 1)/3
    w = (4 * 0.8 - 1) / 3
    assert float(g) == pytest.approx(np.real(rho[0, 3]) * 2 * w * 4 / 3, rel=1e-12)


def test_bad_fidelities():
    rho = random_density(2, 0)
    for f in (0.2, 1.1, [0.9, 0.1], float("nan")):
        with pytest.raises(ValueError, match=r"fidelities.*\[0.25, 1\]"):
            T.teleport_channel(rho, f)
    with pytest.raises(ValueError, match="one Werner fidelity per qubit"):
        T.teleport_channel(rho, [0.9, 0.9, 0.9])


def test_werner_state_and_parameter_refuse_fidelities_outside_0_1():
    """werner_parameter(1.5) gave w = 1.67 and werner_state(1.5) a matrix with a negative
    eigenvalue (no state). Both live in qsense.links (teleport uses them); F in [0, 1]
    (a Werner state below 1/4 is still a state). Traced values pass unchecked: gradients."""
    from qsense import links as L

    for bad in (1.5, -0.1, float("nan"), np.array([0.9, 1.01])):
        with pytest.raises(ValueError, match=r"fidelity = .*\[0, 1\]"):
            L.werner_parameter(bad)
        with pytest.raises(ValueError, match=r"fidelity = .*\[0, 1\]"):
            L.werner_state(bad)
    for f in (0.0, 0.1, 0.25, 1.0):
        assert np.linalg.eigvalsh(np.asarray(L.werner_state(f))).min() >= -1e-15
        assert float(L.werner_parameter(f)) == pytest.approx((4 * f - 1) / 3)
    assert float(jax.grad(L.werner_parameter)(0.9)) == pytest.approx(4 / 3)
    g = jax.grad(lambda f: jnp.real(L.werner_state(f)[0, 0]))(0.9)
    assert float(g) == pytest.approx(0.5 - 1 / 6)  # F/2 + (1-F)/3 * 1/2
    assert np.isfinite(float(jax.jit(L.werner_parameter)(0.9)))
