"""Probes designed for the link: channels, remote sensors, link-aware VQS, d(Fisher/s)/dknob."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense
from qsense import linkprobe as LP
from qsense import links as L
from qsense import protocols as P
from qsense import teleport as T


def test_ansatz_expresses_ghz_and_plus_states():
    for n in (2, 3):
        ghz = np.asarray(LP.ansatz_state(LP.ghz_angles(n), n))
        assert abs(ghz[0]) ** 2 == pytest.approx(0.5) and abs(ghz[-1]) ** 2 == pytest.approx(0.5)
        plus = np.asarray(LP.ansatz_state(LP.product_angles(n), n))
        np.testing.assert_allclose(plus, np.full(2**n, 2 ** (-n / 2)), atol=1e-12)


@pytest.mark.parametrize("f", [0.9, 0.6])
def test_distributed_channels_match_explicit_teleportation_circuit(f):
    """Independent path: the explicit Bell-measurement circuit (qsense.teleport) out, the
    engine's sensing, the circuit back."""
    n, t, gamma = 2, 1.3, 0.1
    w = (4 * f - 1) / 3
    pre, post, sens = LP.link_channels("distributed", jnp.full(n, w))
    psi = LP.ansatz_state(np.array([0.3, -0.7, 1.1, 0.4, 0.2, -0.5, 0.9]), n)
    got = LP.delivered_state(psi, pre, post, sens, 0.8, t, gamma)
    want = T.teleport_circuit(qsense.sense(T.teleport_circuit(psi, f), 0.8, t, "dephasing",
                                           gamma), f)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-12)
    assert float(LP.link_qfi(psi, pre, post, sens, t, gamma)) == pytest.approx(
        float(P.protocol_qfi(psi, f, t, gamma, protocol="distributed")), rel=1e-9)


def test_remote_only_sensor_nodes_encode_the_field():
    """Noiseless, perfect pairs: GHZ phase accumulates on the N-1 SN qubits only, so the QFI
    is (N-1)^2 t^2 (not N^2 t^2); the BS qubit does not sense."""
    n, t = 3, 0.7
    pre, post, sens = LP.link_channels("remote", jnp.ones(n))
    np.testing.assert_allclose(np.asarray(sens), [0, 1, 1])
    psi = LP.ansatz_state(LP.ghz_angles(n), n)
    q = float(LP.link_qfi(psi, pre, post, sens, t, 0.0, noise="none"))
    assert q == pytest.approx((n - 1) ** 2 * t**2, rel=1e-9)
    # product probe: only the SN qubits count
    q = float(LP.link_qfi(LP.ansatz_state(LP.product_angles(n), n), pre, post, sens, t, 0.0,
                          noise="none"))
    assert q == pytest.approx((n - 1) * t**2, rel=1e-9)


def test_ghz_distributed_closed_form():
    """GHZ through per-qubit depolarizing w_out, dephasing, w_back with no bit flips mixing
    phases for N = 1 reduces to a qubit: QFI = (w_out w_back e^{-gamma t})^2 t^2."""
    pre, post, sens = LP.link_channels("distributed", jnp.array([0.8]), jnp.array([0.7]))
    psi = jnp.array([1.0, 1.0], complex) / np.sqrt(2)
    t, g = 2.0, 0.1
    q = float(LP.link_qfi(psi, pre, post, sens, t, g))
    assert q == pytest.approx((0.8 * 0.7 * np.exp(-g * t)) ** 2 * t**2, rel=1e-9)


F_ISSUE = 0.8965  # the issue's distributed link fidelity


@pytest.fixture(scope="module")
def vqs3():
    """One compiled optimization shared by the tests: N = 3, four links (F = 1, the issue's
    0.8965, w = 0.7, w = 0.5)."""
    n, gamma = 3, 0.1
    ws = jnp.array([1.0, (4 * F_ISSUE - 1) / 3, 0.7, 0.5])
    pre, post, sens = jax.vmap(lambda w: LP.link_channels("distributed", jnp.full(n, w)))(ws)
    tg = jnp.geomspace(0.05, 20.0, 40)
    out = LP.optimize_link_probe(pre, post, sens, gamma, t_grid=tg, steps=30)
    return n, gamma, pre, post, sens, tg, out


def test_link_aware_vqs_at_least_ghz_and_product(vqs3):
    n, gamma, pre, post, sens, tg, (q, t, ang, start) = vqs3
    for probe in (LP.ghz_angles(n), LP.product_angles(n)):
        a = jnp.broadcast_to(jnp.asarray(probe), (4, probe.size))
        qr, _ = LP.peak_qfi(a, pre, post, sens, tg, gamma)
        assert np.all(np.asarray(q) >= np.asarray(qr) - 1e-12)
    # the returned angles and time reproduce the returned QFI
    for i in range(4):
        psi = LP.ansatz_state(ang[i], n)
        assert float(LP.link_qfi(psi, pre[i], post[i], sens[i], t[i], gamma)) == pytest.approx(
            float(q[i]), rel=1e-9)


def test_link_aware_beats_link_blind_probe_over_a_noisy_link(vqs3):
    """The issue's case: the GHZ-like probe tuned without the link loses to the link-aware one
    over an F = 0.8965 distributed link, by more than 2x."""
    n, gamma, pre, post, sens, tg, (q, *_) = vqs3
    ghz = jnp.broadcast_to(jnp.asarray(LP.ghz_angles(n)), (4, 4 * n - 1))
    qg, _ = LP.peak_qfi(ghz, pre, post, sens, tg, gamma)
    assert float(q[1]) > 2 * float(qg[1])


def test_fisher_rate_gradient_matches_finite_differences():
    n, d = 2, 1200.0
    sat = L.SatelliteLink()
    angles = jnp.asarray(LP.product_angles(n))

    def fom(h):
        link = dataclasses.replace(sat, altitude_km=h)
        return LP.fisher_rate(link, d, angles, 3.0, 0.1, protocol="distributed", n_qubits=n,
                              memory_time_s=10.0)

    fom_j, grad_j = jax.jit(fom), jax.jit(jax.grad(fom))
    for h in (450.0, 700.0):
        g = float(grad_j(h))
        eps = 1e-3
        fd = (float(fom_j(h + eps)) - float(fom_j(h - eps))) / (2 * eps)
        assert g == pytest.approx(fd, rel=1e-6)
    # and for a fiber knob (repeater memory lifetime)
    fib = L.FiberLink(n_repeaters=3)

    def fom_f(tm):
        return LP.fisher_rate(dataclasses.replace(fib, memory_time_s=tm), 300.0, angles, 3.0,
                              0.1, protocol="distributed", n_qubits=n, memory_time_s=10.0)

    fom_fj = jax.jit(fom_f)
    g = float(jax.jit(jax.grad(fom_f))(0.5))
    fd = (float(fom_fj(0.5 + 1e-5)) - float(fom_fj(0.5 - 1e-5))) / 2e-5
    assert g == pytest.approx(fd, rel=1e-6)


def test_fisher_rate_is_probe_rate_times_qfi():
    """Closed pieces: rate r/K and per-pair factors (r/(r+2/T))^(K-i) into the channels."""
    n, d = 2, 800.0
    sat = L.SatelliteLink()
    st = L.dual_downlink(sat, d)
    r, w = float(st.rate_hz), float(L.werner_parameter(st.fidelity))
    lam = 2 / 10.0
    fac = (r / (r + lam)) ** np.array([3, 2, 1, 0])
    pre, post, sens = LP.link_channels("distributed", jnp.asarray(w * fac[:2]),
                                       jnp.asarray(w * fac[2:]))
    psi = LP.ansatz_state(LP.product_angles(n), n)
    want = r / 4 * float(LP.link_qfi(psi, pre, post, sens, 3.0, 0.1))
    got = float(LP.fisher_rate(sat, d, jnp.asarray(LP.product_angles(n)), 3.0, 0.1,
                               protocol="distributed", n_qubits=n, memory_time_s=10.0))
    assert got == pytest.approx(want, rel=1e-10)
