"""Remote and distributed VQS: closed forms, an independent numpy reference, gradients."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense
from qsense import links as L
from qsense import protocols as P
from tests.reference import links_protocols_ref as ref

GAMMA = 0.1


def plus(n):
    return qsense.plus_state(n)


def test_perfect_pairs_closed_forms():
    """GHZ over perfect pairs with dephasing: distributed senses on all N qubits,
    N^2 t^2 e^{-2 N gamma t}; remote only on the N-1 SN qubits, and only they dephase (the BS
    qubit waits in a memory, perfect here): (N-1)^2 t^2 e^{-2 (N-1) gamma t}."""
    n, t = 3, 1.3
    q = float(P.protocol_qfi(qsense.ghz_state(n), 1.0, t, GAMMA, protocol="distributed"))
    assert q == pytest.approx(n**2 * t**2 * np.exp(-2 * n * GAMMA * t), rel=1e-10)
    q = float(P.protocol_qfi(qsense.ghz_state(n), 1.0, t, GAMMA, protocol="remote"))
    assert q == pytest.approx((n - 1) ** 2 * t**2 * np.exp(-2 * (n - 1) * GAMMA * t), rel=1e-10)
    q = float(P.protocol_qfi(qsense.ghz_state(n), 1.0, t, 0.0, protocol="remote", noise="none"))
    assert q == pytest.approx((n - 1) ** 2 * t**2, rel=1e-10)


def test_product_probe_closed_forms():
    """|+>^N: a sensing qubit k contributes (w_k)^2 t^2 exp(-2 gamma t) (Bloch vector shrinks
    by w_k); remote: only the N-1 SN qubits sense."""
    n, t = 3, 2.0
    f = np.array([0.9, 0.7])
    w = (4 * f - 1) / 3
    base = t**2 * np.exp(-2 * GAMMA * t)
    remote = float(P.protocol_qfi(plus(n), f, t, GAMMA, protocol="remote"))
    assert remote == pytest.approx(base * np.sum(w**2), rel=1e-10)
    fd = np.array([0.95, 0.8, 0.6])
    wd = (4 * fd - 1) / 3
    dist = float(P.protocol_qfi(plus(n), fd, t, GAMMA, protocol="distributed"))
    assert dist == pytest.approx(base * np.sum(wd**4), rel=1e-10)  # out and back: w^2 each


def test_remote_base_station_qubit_does_not_sense():
    """Only the BS qubit in |+>, the SN qubits in |0>: remote gives no information even over
    perfect pairs; distributed (the qubit is sent out) gives t^2 e^{-2 gamma t}. Useless pairs
    (F = 1/4) leave nothing for either probe."""
    n, t = 3, 2.0
    psi = np.kron(np.array([1.0, 1.0]) / np.sqrt(2), np.eye(4)[0]).astype(complex)
    assert float(P.protocol_qfi(psi, 1.0, t, GAMMA, protocol="remote")) == pytest.approx(
        0.0, abs=1e-12)
    assert float(P.protocol_qfi(psi, 1.0, t, GAMMA, protocol="distributed")) == pytest.approx(
        t**2 * np.exp(-2 * GAMMA * t), rel=1e-10)
    for probe in (plus(n), qsense.ghz_state(n)):
        assert float(P.protocol_qfi(probe, 0.25, t, GAMMA, protocol="remote")) == pytest.approx(
            0.0, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_numpy_reference(seed):
    rng = np.random.default_rng(seed)
    n, t, b0 = 3, 1.7, 0.4
    psi = np.asarray(P.probe_vector(P.vqs_ansatz(n, jax.random.PRNGKey(seed), 1.0), n))
    f_out = rng.uniform(0.5, 1.0, n)
    f_back = rng.uniform(0.5, 1.0, n)
    want = ref.qfi(lambda b: ref.delivered(psi, f_out, f_back, b, t, GAMMA), b0)
    got = float(P.protocol_qfi(psi, f_out, t, GAMMA, b0, protocol="distributed",
                               fidelity_back=f_back))
    assert got == pytest.approx(want, rel=1e-6)
    f_rem = np.concatenate([[1.0], f_out[1:]])
    want = ref.qfi(lambda b: ref.delivered(psi, f_rem, None, b, t, GAMMA, [0, 1, 1],
                                           noisy=[0, 1, 1]), b0)
    got = float(P.protocol_qfi(psi, f_out[1:], t, GAMMA, b0, protocol="remote"))
    assert got == pytest.approx(want, rel=1e-6)
    rho = np.asarray(P.delivered_state(psi, f_out, b0, t, GAMMA, protocol="distributed",
                                       fidelity_back=f_back))
    np.testing.assert_allclose(rho, ref.delivered(psi, f_out, f_back, b0, t, GAMMA),
                               atol=1e-12)
    rho = np.asarray(P.delivered_state(psi, f_out[1:], b0, t, GAMMA, protocol="remote"))
    np.testing.assert_allclose(rho, ref.delivered(psi, f_rem, None, b0, t, GAMMA, [0, 1, 1],
                                             noisy=[0, 1, 1]),
                               atol=1e-12)


def test_qfi_falls_monotonically_with_fidelity():
    fs = jnp.linspace(0.25, 1.0, 7)
    q = jax.vmap(lambda f: P.protocol_qfi(qsense.ghz_state(2), f, 1.0, GAMMA,
                                          protocol="distributed"))(fs)
    assert np.all(np.diff(np.asarray(q)) > 0) and float(q[0]) == pytest.approx(0, abs=1e-12)


def test_peak_qfi_ghz_closed_form():
    n = 3  # max_t N^2 t^2 e^{-2 N gamma t} at t = 1/(N gamma): e^-2 / gamma^2
    grid = jnp.linspace(0.01, 10.0, 1000)
    q, t = P.peak_qfi(qsense.ghz_state(n), 1.0, grid, GAMMA, protocol="distributed")
    assert float(q) == pytest.approx(np.exp(-2) / GAMMA**2, rel=1e-4)
    assert float(t) == pytest.approx(1 / (n * GAMMA), abs=0.011)


def test_qcrb_scalar_and_vector():
    psi = qsense.ghz_state(2)
    q = float(P.protocol_qfi(psi, 0.9, 1.0, GAMMA, protocol="distributed"))
    b = float(P.protocol_qcrb(psi, 0.9, 1.0, GAMMA, protocol="distributed"))
    assert b == pytest.approx(1 / q)
    assert float(P.protocol_qcrb(psi, 0.25, 1.0, GAMMA, protocol="distributed")) == np.inf
    # vector field: perfect pairs (distributed) equal the engine's QFIM bound on the locally
    # sensed probe
    psi = P.probe_vector(P.vqs_ansatz(2, jax.random.PRNGKey(3), 1.0), 2)
    v = (0.1, 0.2, 0.3)
    want = qsense.qcrb(qsense.qfim(lambda b: qsense.sense(psi, b, 1.0, "dephasing", GAMMA),
                                   jnp.array(v)))
    got = P.protocol_qcrb(psi, 1.0, 1.0, GAMMA, v, protocol="distributed", field="vector")
    assert float(got) == pytest.approx(float(want), rel=1e-9)


def test_remote_vector_field_matches_lindblad_reference():
    """Remote, vector field: the BS qubit neither couples to (Bx, By, Bz) nor dephases;
    QCRB against an independent full-Lindbladian numpy reference (tests/reference)."""
    n, t, v = 2, 1.0, np.array([0.1, 0.2, 0.3])
    psi = np.asarray(P.probe_vector(P.vqs_ansatz(n, jax.random.PRNGKey(3), 1.0), n))
    f = 0.9

    def rho_of(b):
        rho = ref.depolarize(np.outer(psi, psi.conj()), 1, (4 * f - 1) / 3, n)
        return ref.lindblad_vector(rho, b, t, GAMMA, n, sensors=[0, 1], noisy=[0, 1])

    want = np.trace(np.linalg.inv(ref.qfim(rho_of, v)))
    got = float(P.protocol_qcrb(psi, f, t, GAMMA, v, protocol="remote", field="vector"))
    assert got == pytest.approx(want, rel=1e-5)


def _fd(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def test_dqfi_d_receiver_aperture_vs_finite_differences():
    psi = qsense.ghz_state(3)
    base = L.SatelliteLink()

    def q(a):
        return P.link_qfi(dataclasses.replace(base, rx_aperture_m=a), 1500.0, psi, 1.5,
                          GAMMA, protocol="distributed")

    g = float(jax.grad(q)(1.2))
    assert g > 0  # a larger telescope beats the background: better pairs, more information
    assert g == pytest.approx(float(_fd(q, 1.2, 1e-5)), rel=1e-6)


def test_dqfi_d_memory_time_vs_finite_differences():
    psi = qsense.ghz_state(2)

    def q(tm):
        return P.link_qfi(L.FiberLink(memory_time_s=tm), 300.0, psi, 2.0, GAMMA,
                          protocol="remote")

    g = float(jax.grad(q)(1.0))
    assert g > 0 and g == pytest.approx(float(_fd(q, 1.0, 1e-6)), rel=1e-6)


def test_link_peak_qfi_vectorized_over_distance():
    d = jnp.array([100.0, 1000.0, 5000.0])
    grid = jnp.linspace(0.1, 10.0, 50)
    q, t = P.link_peak_qfi(L.SatelliteLink(), d, qsense.ghz_state(2), grid, GAMMA,
                           protocol="distributed")
    assert q.shape == (3,) and float(q[-1]) == 0.0  # beyond line of sight
    assert float(q[0]) > float(q[1]) > 0


def test_tune_probe_angles_improves_qfi():
    g0 = P.vqs_ansatz(2, jax.random.PRNGKey(1))
    g, t, q, hist = P.tune_probe_angles(g0, 2, GAMMA, steps=40, learning_rate=0.1)
    assert q > hist[0]
    again = float(qsense.probe_qfi(g, t, GAMMA, 1.0, n_qubits=2, noise="dephasing"))
    assert again == pytest.approx(q, rel=1e-12)


def test_bad_inputs():
    psi = qsense.ghz_state(3)
    with pytest.raises(ValueError, match="protocol"):
        P.protocol_qfi(psi, 0.9, 1.0, GAMMA, protocol="teleport")
    with pytest.raises(ValueError, match="at least 2"):
        P.protocol_qfi(qsense.ghz_state(1), 0.9, 1.0, GAMMA, protocol="remote")
    with pytest.raises(ValueError, match=r"\[0.25, 1\]"):
        P.protocol_qfi(psi, 1.2, 1.0, GAMMA, protocol="distributed")
    with pytest.raises(ValueError, match="one Werner fidelity per qubit"):
        P.protocol_qfi(psi, [0.9, 0.9, 0.9], 1.0, GAMMA, protocol="remote")
    with pytest.raises(ValueError, match="t = "):
        P.protocol_qfi(psi, 0.9, -1.0, GAMMA, protocol="remote")
    with pytest.raises(ValueError, match="distance_km"):
        P.link_qfi(L.FiberLink(), -10.0, psi, 1.0, GAMMA, protocol="remote")
    with pytest.raises(ValueError, match="link"):
        P.link_fidelity("fiber", 10.0)


@pytest.mark.usefixtures("fresh_jax")
def test_protocol_qfi_compiles_once_per_shape():
    psi = qsense.ghz_state(2)
    P.protocol_qfi(psi, 0.9, 1.0, GAMMA, protocol="distributed")
    size = P._qfi_core._cache_size()
    for f, t in ((0.8, 2.0), (0.95, 0.3), (0.3, 5.0)):
        P.protocol_qfi(psi, f, t, GAMMA, protocol="distributed")
    assert P._qfi_core._cache_size() == size


def test_vqs_ansatz_is_the_documented_circuit():
    """vqs_ansatz + probe_vector against the circuit its docstring names, built with numpy
    Kronecker products: GHZ, then Ry on every qubit, CRx q -> q+1 down the chain, Rx and Rz on
    every qubit (Rx(a) = exp(-i a X / 2); qubit 0 the most significant). Angles within
    [-scale, scale]; without a key all zero, i.e. the GHZ probe."""
    from tests.reference.engine_numpy import P0, P1, X, Y, Z, embed, ghz, rot

    n, scale = 3, 0.9
    g = P.vqs_ansatz(n, jax.random.PRNGKey(5), scale)
    a = iter(np.asarray(g.angle, float))
    assert len(g.angle) == 4 * n - 1
    angles = np.asarray(g.angle)
    assert np.all(np.abs(angles) <= scale) and angles.min() < 0 < angles.max()
    u = np.eye(2**n, dtype=complex)
    for q in range(n):
        u = embed({q: rot(Y, next(a))}, n) @ u
    for q in range(n - 1):
        u = (embed({q: P0}, n) + embed({q: P1, q + 1: rot(X, next(a))}, n)) @ u
    for pauli in (X, Z):
        for q in range(n):
            u = embed({q: rot(pauli, next(a))}, n) @ u
    psi = np.asarray(P.probe_vector(g, n))
    assert np.abs(np.vdot(psi, u @ ghz(n))) == pytest.approx(1.0, abs=1e-12)
    assert np.allclose(psi, u @ ghz(n), atol=1e-12)  # the same global phase too
    assert np.allclose(np.asarray(P.probe_vector(P.vqs_ansatz(n), n)), ghz(n), atol=1e-12)


def test_link_rate_and_fidelity_are_the_links_own():
    """link_rate / link_fidelity dispatch to the link's model: the satellite's dual down-link,
    the fiber's repeater chain."""
    d = jnp.array([200.0, 800.0])
    for link, model in ((L.SatelliteLink(), L.dual_downlink), (L.FiberLink(), L.repeater_chain)):
        stats = model(link, d)
        assert np.allclose(P.link_rate(link, d), stats.rate_hz, rtol=1e-12)
        assert np.allclose(P.link_fidelity(link, d), stats.fidelity, rtol=1e-12)
        assert not np.allclose(stats.rate_hz, stats.fidelity)  # the two can be told apart
