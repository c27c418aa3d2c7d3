"""The real form of a dephased pure state (`qsense.fisher.qfi_commutator`'s ``real_form``).

A pure state sensed in a scalar field under dephasing (or no noise) is ``diag(phase) R
diag(phase)^H`` with ``R`` real, so `qsense.sense` + `qsense.qfi` and `qsense.score` take a
real eigendecomposition. The QFI and its first and second derivatives must be those of the
complex state, for *every* tangent of rho (not only tangents that keep the real form), at
states with zero amplitudes (GHZ) too. References: the QFI from plain numpy (complex ``eigh``
of the state built with numpy's own dephasing), and central differences of it.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense
from qsense import fisher
from qsense.objective import Problem, probe, score, score_state


def _qfi_numpy(rho, h):
    lam, v = np.linalg.eigh(rho)
    d = v.conj().T @ (-1j * (h[:, None] * rho - rho * h[None, :])) @ v
    s = lam[:, None] + lam[None, :]
    w = np.where(s > 1e-12, 2 / np.where(s > 1e-12, s, 1), 0)
    return float(np.sum(np.abs(d) ** 2 * w))


def _jz(n):
    return np.array([n - 2 * bin(k).count("1") for k in range(2**n)], float)


def _dephased_numpy(psi, b, t, gamma):
    """psi sensed for t at field b (H = (b/2) Jz) under dephasing of rate gamma, in numpy:
    the unitary, then every qubit's Kraus pair {sqrt(1-p) I, sqrt(p) Z}, p = (1-e^{-gamma t})/2
    (dephasing commutes with the field's rotation)."""
    n = int(np.log2(psi.size))
    phi = np.exp(-0.5j * b * t * _jz(n)) * psi
    rho = np.outer(phi, phi.conj())
    p = (1 - np.exp(-gamma * t)) / 2
    for q in range(n):
        z = np.array([1 - 2 * ((k >> (n - 1 - q)) & 1) for k in range(2**n)], float)
        rho = (1 - p) * rho + p * (z[:, None] * rho * z[None, :])
    return rho


def _counting(monkeypatch):
    """Count traces of the real-form core. The jitted objective is shared by every caller in
    the process: a program another test compiled for the same shapes would never trace the
    patched core (seen when test_gradients ran first), so the caches are cleared."""
    jax.clear_caches()
    calls = []
    core = fisher._qfi_real_form_core
    monkeypatch.setattr(fisher, "_qfi_real_form_core",
                        lambda *a: calls.append(1) or core(*a))
    return calls


@pytest.mark.parametrize("gamma", [0.0, 0.3])
@pytest.mark.parametrize("noise", ["dephasing", "none"])
def test_composed_path_takes_the_real_form_and_matches_numpy(noise, gamma, monkeypatch):
    n, t, b0 = 3, 0.9, 0.7
    calls = _counting(monkeypatch)
    g = qsense.random_genome(jax.random.PRNGKey(2), n, 7, dtype=jnp.float64)
    psi0 = qsense.ghz_state(n)
    g_rate = gamma if noise == "dephasing" else 0.0

    def f(angle, tt, bb):
        psi = qsense.apply_pqc(psi0, dataclasses.replace(g, angle=angle))
        return qsense.qfi(lambda b: qsense.sense(psi, b, tt, noise, gamma), bb)

    def ref(angle, tt, bb):
        psi = np.asarray(qsense.apply_pqc(psi0, dataclasses.replace(g, angle=jnp.asarray(angle))))
        return _qfi_numpy(_dephased_numpy(psi, bb, tt, g_rate), 0.5 * tt * _jz(n))

    a0 = np.asarray(g.angle)
    value = float(f(g.angle, t, b0))
    assert calls, "the composed path did not take the real form"
    assert value == pytest.approx(ref(a0, t, b0), rel=1e-10)
    grads = jax.grad(f, argnums=(0, 1, 2))(g.angle, t, b0)
    e = 1e-5
    fd = [(ref(a0 + e * np.eye(a0.size)[k], t, b0) - ref(a0 - e * np.eye(a0.size)[k], t, b0))
          / (2 * e) for k in range(a0.size)]
    np.testing.assert_allclose(np.asarray(grads[0]), fd, atol=1e-7 * max(1.0, value))
    assert float(grads[1]) == pytest.approx((ref(a0, t + e, b0) - ref(a0, t - e, b0)) / (2 * e),
                                            rel=1e-6, abs=1e-8)
    assert abs(float(grads[2])) < 1e-9  # the QFI does not depend on B (covariant encoding)


@pytest.mark.parametrize("rank", [2, 8])
def test_qfi_commutator_real_form_against_numpy_for_every_tangent(rank):
    """A random real R (rank 2 or full) and random phases: value, a JVP along an arbitrary
    Hermitian (complex, not real-form) tangent of rho and any tangent of h, and second
    derivatives along a family that keeps a real form, all against numpy central
    differences."""
    rng = np.random.default_rng(4)
    d = 8

    def real_psd(rank, seed):
        a = np.random.default_rng(seed).normal(size=(d, rank))
        r = a @ a.T
        return r / np.trace(r)

    r0, r1 = real_psd(rank, 1), real_psd(rank, 2)
    th0, th1 = rng.uniform(-np.pi, np.pi, d), rng.uniform(-1, 1, d)
    h0, h1 = rng.normal(size=d), rng.normal(size=d)

    def family(x, xp=np):
        # the rank is constant along the family; phases and R move together
        r = (1 - x) * r0 + x * r0 @ r1 @ r0 / np.trace(r0 @ r1 @ r0)
        ph = xp.exp(1j * (th0 + x * th1))
        return ph[:, None] * r * ph.conj()[None, :], ph, r

    def family_np(x):
        return family(x)

    def value(x):
        rho, ph, r = family(x, jnp)
        return fisher.qfi_commutator(rho, jnp.asarray(h0), real_form=(ph, r))

    rho, ph, r = family_np(0.2)
    assert float(value(0.2)) == pytest.approx(_qfi_numpy(rho, h0), rel=1e-10)

    # first order along arbitrary complex Hermitian tangents (leave the real-form manifold)
    a = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    rho_t = (a + a.conj().T) / 2
    # a rank-deficient state is not a smooth point of the QFI along a full-rank tangent: take the
    # tangent's projection that keeps the support (the QFI's derivative there is defined)
    lam, v = np.linalg.eigh(rho)
    p = v[:, lam > 1e-12] @ v[:, lam > 1e-12].conj().T
    rho_t = p @ rho_t @ p
    _, jvp = jax.jvp(lambda rr, hh: fisher.qfi_commutator(rr, hh, real_form=(ph, r)),
                     (jnp.asarray(rho), jnp.asarray(h0)), (jnp.asarray(rho_t), jnp.asarray(h1)))
    e = 1e-6
    fd = (_qfi_numpy(rho + e * rho_t, h0 + e * h1)
          - _qfi_numpy(rho - e * rho_t, h0 - e * h1)) / (2 * e)
    assert float(jvp) == pytest.approx(fd, rel=1e-6, abs=1e-8)

    # second derivative along the family, forward over reverse
    d2 = float(jax.jacfwd(jax.grad(value))(0.2))
    e = 1e-3
    vals = [_qfi_numpy(family_np(0.2 + k * e)[0], h0) for k in (-2, -1, 0, 1, 2)]
    ref = (-vals[0] + 16 * vals[1] - 30 * vals[2] + 16 * vals[3] - vals[4]) / (12 * e * e)
    assert d2 == pytest.approx(ref, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("sensors", [None, (1.0, 0.0, 0.5, 1.0)])
def test_score_real_form_equals_score_state(sensors, monkeypatch):
    """THE objective on its real-form branch equals the complex computation (`score_state`
    of the same probe) in value and in every gradient (angles, t, gamma, b0), and its
    Hessian at GHZ (zero angles: 14 of 16 amplitudes are 0) equals the complex one."""
    n, t = 4, 1.1
    calls = _counting(monkeypatch)
    g = qsense.random_genome(jax.random.PRNGKey(8), n, 9, dtype=jnp.float64)
    sens = None if sensors is None else np.asarray(sensors)

    def both(angle, tt, gamma, b0):
        p = Problem(n, "dephasing", gamma, b0=b0, sensors=sens)
        gg = dataclasses.replace(g, angle=angle)
        psi = probe(p, gg)
        return score(p, gg, tt), score_state(p, jnp.outer(psi, psi.conj()), tt)

    args = (g.angle, t, 0.2, 0.6)
    fast, slow = both(*args)
    assert calls
    assert float(fast) == pytest.approx(float(slow), rel=1e-12)
    gf = jax.grad(lambda *x: both(*x)[0], argnums=(0, 1, 2, 3))(*args)
    gs = jax.grad(lambda *x: both(*x)[1], argnums=(0, 1, 2, 3))(*args)
    for a, b in zip(gf, gs, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-10)
    zero = jnp.zeros_like(g.angle)
    hf = jax.jit(jax.hessian(lambda a: both(a, t, 0.2, 0.6)[0]))(zero)
    hs = jax.jit(jax.hessian(lambda a: both(a, t, 0.2, 0.6)[1]))(zero)
    assert np.abs(np.asarray(hs)).max() > 1e-3  # a Hessian with something in it
    np.testing.assert_allclose(np.asarray(hf), np.asarray(hs), rtol=1e-9, atol=1e-9)


def test_amplitude_damping_keeps_the_complex_form(monkeypatch):
    """Amplitude damping moves population: its sensed state has no real form, so the composed
    path does not take it (the objective runs its other branch), and both equal the numpy
    reference (the dense Liouvillian of `tests.reference`)."""
    from tests.reference import engine_numpy as ref

    calls = _counting(monkeypatch)
    n, t = 3, 0.8
    g = qsense.random_genome(jax.random.PRNGKey(1), n, 6, dtype=jnp.float64)
    psi = qsense.apply_pqc(qsense.ghz_state(n), g)
    v = qsense.qfi(lambda b: qsense.sense(psi, b, t, "amplitude_damping", 0.3), 1.0)
    assert not calls
    rho = ref.sense(np.outer(np.asarray(psi), np.conj(np.asarray(psi))), 1.0, t,
                    "amplitude_damping", 0.3)
    want = _qfi_numpy(rho, 0.5 * t * _jz(n))
    assert float(v) == pytest.approx(want, rel=1e-9)
    p = Problem(n, "amplitude_damping", 0.3)
    assert float(score(p, g, t)) == pytest.approx(want, rel=1e-9)


def test_inconsistent_real_form_is_refused():
    rho = np.diag([0.5, 0.5, 0.0, 0.0]).astype(complex)
    rho[0, 1] = rho[1, 0] = 0.5j  # not real, and the phases given do not make it real
    with pytest.raises(ValueError, match="real_form"):
        fisher.qfi_commutator(jnp.asarray(rho), jnp.ones(4),
                              real_form=(np.ones(4), np.abs(rho)))
    with pytest.raises(ValueError, match="real_form"):
        fisher.qfi_commutator(jnp.asarray(rho), jnp.ones(4), real_form=(np.ones(3), rho.real))


def test_score_pure_checks_its_state_and_equals_score_state():
    p = Problem(3, "dephasing", 0.1)
    g = qsense.random_genome(jax.random.PRNGKey(0), 3, 5, dtype=jnp.float64)
    psi = probe(p, g)
    # the real-form path against the complex computation on the same state
    want = float(score_state(p, jnp.outer(psi, psi.conj()), 0.7))
    assert float(qsense.score_pure(p, psi, 0.7)) == pytest.approx(want, rel=1e-12)
    with pytest.raises(ValueError, match=r"psi\.shape.*\(8,\)"):
        qsense.score_pure(p, psi[:4], 0.7)


@pytest.mark.parametrize("gamma,t,b0", [(0.0, 1000.0, 1.0), (1e-3, 1000.0, 1.0),
                                        (0.1, 1.0, 1e4), (0.0, 1e5, 1.0)])
def test_qfi_of_sense_at_large_phases_is_the_ghz_closed_form(gamma, t, b0):
    """At B t = 1000 rad and beyond, `sense`'s own real form and its sensed state carry
    independent phase rounding (~eps B t, 3e-14 at 1000): `qfi` must still return GHZ's
    F = N^2 t^2 e^{-2 N gamma t}, and its t-derivative, not refuse the hint `sense` made (an
    eager call did: "real_form ... differs from rho by 3.04e-14"; jitted it worked). The one-qubit
    map itself is exact to about eps ||t L|| (`qsense.noise.expm_small`), 2e-11 here."""
    n = 3
    psi = qsense.ghz_state(n)

    def f(tt):
        return qsense.qfi(lambda b: qsense.sense(psi, b, tt, "dephasing", gamma), b0)

    decay = np.exp(-2 * n * gamma * t)
    assert float(f(t)) == pytest.approx(n**2 * t**2 * decay, rel=1e-9)
    if max(b0, gamma) * t <= 1e3:  # the t-derivative's rounding grows as eps ||t L||^2
        d_want = n**2 * decay * (2 * t - 2 * n * gamma * t**2)  # (measured: 6e-10 at 1e3,
        assert float(jax.grad(f)(t)) == pytest.approx(d_want, rel=1e-8)  # 1e-7 at 1e4)
