"""The engine against closed forms (DESIGN section 3)."""

import jax.numpy as jnp
import numpy as np
import pytest

import qsense
from qsense.objective import probe_qfi


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("t", [0.3, 1.7])
def test_ghz_noiseless_heisenberg(n, t):
    """Noiseless GHZ: phase N B t / 2 difference between branches -> F = N^2 t^2."""
    f = qsense.qfi(lambda b: qsense.sense(qsense.ghz_state(n), b, t), 1.0)
    np.testing.assert_allclose(f, n**2 * t**2, rtol=1e-10)


@pytest.mark.parametrize("n", [1, 2, 4, 6])
@pytest.mark.parametrize(("t", "gamma"), [(0.5, 0.1), (2.0, 0.2), (1.0, 1.3)])
@pytest.mark.parametrize("b0", [0.0, 1.0, -2.5])
def test_ghz_dephasing(n, t, gamma, b0):
    """GHZ coherence decays as exp(-N gamma t): F = N^2 t^2 exp(-2 N gamma t), any B0."""
    f = qsense.qfi(lambda b: qsense.sense(qsense.ghz_state(n), b, t, "dephasing", gamma), b0)
    np.testing.assert_allclose(f, n**2 * t**2 * np.exp(-2 * n * gamma * t), rtol=1e-9)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_product_plus_state_shot_noise(n):
    """|+>^N: independent qubits, each F = t^2 -> F = N t^2."""
    t = 1.3
    f = qsense.qfi(lambda b: qsense.sense(qsense.plus_state(n), b, t), 0.4)
    np.testing.assert_allclose(f, n * t**2, rtol=1e-10)


@pytest.mark.parametrize("noise", ["none", "dephasing", "amplitude_damping"])
def test_field_independent_state_has_zero_qfi(noise):
    """|0...0> is an eigenstate of sum Z and stays diagonal under these noises: no info on B."""
    psi = qsense.basis_state(3, 0)
    f = qsense.qfi(lambda b: qsense.sense(psi, b, 2.0, noise, 0.3), 1.0)
    assert abs(float(f)) < 1e-12


def test_one_qubit_vector_field_qfim_by_hand():
    """One qubit, rho = (I + r.sigma)/2, noiseless, vector field at B0 = 0.

    H = B.sigma/2 rotates the Bloch vector: dr/dt = B x r, so at B = 0 after time t,
    d r / d B_a = t (e_a x r). For a qubit, F_ab = dr_a . dr_b + (r.dr_a)(r.dr_b)/(1 - |r|^2);
    here r . (e_a x r) = 0, hence F_ab = t^2 (e_a x r).(e_b x r) = t^2 (|r|^2 delta_ab - r_a r_b).
    For a pure state (|r| = 1) the second term of the qubit formula is absent and the same
    result holds; it is singular along r (a rotation about r changes nothing).
    """
    rng = np.random.default_rng(3)
    t = 0.8
    for radius in (0.6, 1.0):
        r = rng.normal(size=3)
        r *= radius / np.linalg.norm(r)
        paulis = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])
        rho = 0.5 * (np.eye(2) + np.einsum("k,kij->ij", r, paulis))
        fm = qsense.qfim(lambda b, rho=rho: qsense.sense(jnp.asarray(rho), b, t), jnp.zeros(3))
        expected = t**2 * (radius**2 * np.eye(3) - np.outer(r, r))
        np.testing.assert_allclose(fm, expected, atol=1e-10)


def test_qcrb_closed_form_and_singular():
    """QCRB = Tr F^-1; a singular QFIM gives inf (with a warning), never NaN."""
    fm = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 4.0]])
    np.testing.assert_allclose(qsense.qcrb(fm), np.trace(np.linalg.inv(fm)), rtol=1e-12)
    with pytest.warns(RuntimeWarning, match="singular"):
        assert np.isinf(qsense.qcrb(np.diag([1.0, 1.0, 0.0])))
    # |0> in a vector field at B0 = 0: no information on Bz -> singular -> inf
    with pytest.warns(RuntimeWarning):
        fm0 = qsense.qfim(lambda b: qsense.sense(qsense.basis_state(1, 0), b, 1.0),
                          jnp.zeros(3))
        assert np.isinf(qsense.qcrb(fm0))
    # a scalar QFI (single parameter): the bound is 1 / F, and inf at F = 0
    assert float(qsense.qcrb(4.0)) == pytest.approx(0.25, rel=1e-15)
    with pytest.warns(RuntimeWarning, match="singular"):
        assert np.isinf(qsense.qcrb(0.0))


def test_qcrb_in_float32_calls_a_rank_deficient_qfim_singular():
    """|+> under dephasing with B along z: the exact QFIM has rank 2 (the field along x turns
    the Bloch vector about itself; closed form diag(0, ((1 - e^{-g t}) / g)^2, t^2 e^{-2 g t})
    rotated about z), so the bound is inf. In complex64 rounding left its smallest eigenvalue
    at 2e-8 of the largest, above the double-precision cutoff: the bound read 4e7 and the
    vector score -4e7. A genuinely full-rank float32 QFIM keeps its finite bound."""
    import warnings

    plus = jnp.asarray(np.array([1, 1]) / np.sqrt(2), jnp.complex64)
    fm = qsense.qfim(lambda b: qsense.sense(plus, b, 1.3, "dephasing", 0.2),
                     jnp.asarray([0.0, 0.0, 0.8], jnp.float32))
    assert fm.dtype == jnp.float32
    lam = np.linalg.eigvalsh(np.asarray(fm, np.float64))
    assert 0 < lam[0] / lam[-1] < 1e-6  # rounding, not information
    with pytest.warns(RuntimeWarning, match="singular"):
        assert np.isinf(qsense.qcrb(fm))
    prob = qsense.Problem(1, "dephasing", 0.2, "vector", (0.0, 0.0, 0.8), dtype=jnp.complex64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert float(qsense.score_pure(prob, plus, 1.3)) == -np.inf
    # a full-rank QFIM in float32: the same bound as in float64
    f64 = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 4.0]])
    np.testing.assert_allclose(qsense.qcrb(jnp.asarray(f64, jnp.float32)),
                               np.trace(np.linalg.inv(f64)), rtol=1e-6)
    with pytest.raises(ValueError, match="rcond"):
        qsense.qcrb(f64, rcond=1.5)


def test_empty_genome_probe_is_ghz():
    """An all-identity PQC leaves the GHZ probe: the search space contains GHZ itself."""
    n, t, gamma = 4, 0.9, 0.1
    f = probe_qfi(qsense.empty_genome(6), t, gamma, 1.0, n_qubits=n, noise="dephasing")
    np.testing.assert_allclose(f, n**2 * t**2 * np.exp(-2 * n * gamma * t), rtol=1e-10)


@pytest.mark.parametrize("noise", ["dephasing", "bitflip", "amplitude_damping", "none"])
def test_jump_operator_is_the_documented_lindblad_operator(noise):
    """``noise.jump_operator`` against DESIGN section 3 written out by hand, and its dissipator
    D[L] rho = L rho L^+ - {L^+ L, rho}/2 (built here on a random rho) against
    gamma * ``dissipator_1q`` (row-major vec)."""
    from qsense.noise import dissipator_1q, jump_operator

    gamma = 0.37
    hand = {"dephasing": np.sqrt(gamma / 2) * np.array([[1, 0], [0, -1]]),
            "bitflip": np.sqrt(gamma / 2) * np.array([[0, 1], [1, 0]]),
            "amplitude_damping": np.sqrt(gamma) * np.array([[0, 1], [0, 0]]),  # |0><1|
            "none": np.zeros((2, 2))}[noise]
    lop = np.asarray(jump_operator(noise, gamma))
    np.testing.assert_allclose(lop, hand, atol=1e-15)
    rng = np.random.default_rng(3)
    m = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
    rho = m @ m.conj().T / np.trace(m @ m.conj().T)
    ldl = lop.conj().T @ lop
    d_rho = lop @ rho @ lop.conj().T - 0.5 * (ldl @ rho + rho @ ldl)
    np.testing.assert_allclose(gamma * np.asarray(dissipator_1q(noise)) @ rho.reshape(4),
                               d_rho.reshape(4), atol=1e-15)
