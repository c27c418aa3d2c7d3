"""One-qubit sensing maps are Hermiticity- and trace-preserving to rounding
(`qsense.noise.physical_map`), so sensed states stay physical up to the sensing-scale limit.

`expm_small` leaves a rounding of a few ``eps S`` (S = t (|Bx| + |By| + |Bz| + 2 gamma)) in
each qubit's map, in every direction, the unphysical ones included. Before the projection,
``qsense.qfi(lambda b: sense(ghz, b, 1, "bitflip", 0.1), b0)`` refused the sensed state as
"trace 0.99999996, accepted 1 within 1e-8" at b0 = 1e8 (accepted range: up to 4.5e12), and in
complex64 at b0 = 100 (trace off by 3e-5, limit 8389); a vector field's ``qfim`` refused it for
Hermiticity from 1e10 (complex128) and 30 (complex64, bit flip). The references here are
written out with numpy/scipy: the exact maps by ``scipy.linalg.expm`` of a Lindbladian built
here, and the bit-flip QFI from its closed-form Bloch map.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import qsense
from qsense.noise import max_sensing_scale, physical_map

_X = np.array([[0, 1], [1, 0]], complex)
_Y = np.array([[0, -1j], [1j, 0]])
_Z = np.diag([1.0 + 0j, -1.0])
_LOWER = np.array([[0, 1], [0, 0]], complex)  # |0><1|
_JUMPS = {"dephasing": np.sqrt(0.5) * _Z, "bitflip": np.sqrt(0.5) * _X,
          "amplitude_damping": _LOWER, "none": 0 * _X}


def _generator(field3, noise, gamma):
    """The Lindbladian for H = B.sigma/2 and L = sqrt(gamma) A, row-major vec (vec(rho)[2i+j]
    = rho[i, j], so vec(A rho B) = (A kron B^T) vec(rho))."""
    h = 0.5 * (field3[0] * _X + field3[1] * _Y + field3[2] * _Z)
    a = np.sqrt(gamma) * _JUMPS[noise]
    eye = np.eye(2)
    ada = a.conj().T @ a
    return (-1j * (np.kron(h, eye) - np.kron(eye, h.T)) + np.kron(a, a.conj())
            - 0.5 * np.kron(ada, eye) - 0.5 * np.kron(eye, ada.T))


def _exact_map(field3, noise, gamma, t):
    """exp(t L) (`_generator`) by scipy."""
    return scipy.linalg.expm(t * _generator(field3, noise, gamma))


def _apply(m, rho):
    return (m @ rho.reshape(4)).reshape(2, 2)


def _random_exact_maps(rng, count):
    noises = list(_JUMPS)
    return [_exact_map(rng.normal(size=3), noises[k % 4], rng.uniform(0, 2), rng.uniform(0, 3))
            for k in range(count)]


def test_exact_maps_are_fixed_points():
    """An exact sensing map already preserves Hermiticity and trace: the projection leaves it."""
    for m in _random_exact_maps(np.random.default_rng(0), 12):
        np.testing.assert_allclose(np.asarray(physical_map(jnp.asarray(m))), m, rtol=0, atol=1e-15)


def test_projection_is_the_nearest_physical_map():
    """For any 4x4 M (batched), P(M) maps every matrix's trace onto itself and Hermitian
    matrices onto Hermitian ones, P(P(M)) = P(M), and M - P(M) is orthogonal (real Frobenius
    product) to every difference of two physical maps (here exact ones, which span the
    12-dimensional tangent space): P is the orthogonal projection onto them."""
    rng = np.random.default_rng(1)
    ms = rng.normal(size=(5, 4, 4)) + 1j * rng.normal(size=(5, 4, 4))
    ps = np.asarray(physical_map(jnp.asarray(ms)))
    exact = _random_exact_maps(rng, 20)
    diffs = np.stack([e - exact[0] for e in exact[1:]]).reshape(19, 16)
    real_diffs = np.concatenate([diffs.real, diffs.imag], axis=1)
    assert np.linalg.matrix_rank(real_diffs, tol=1e-9) == 12
    for m, p in zip(ms, ps, strict=True):
        for _ in range(4):
            any_rho = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
            herm = any_rho + any_rho.conj().T
            assert np.trace(_apply(p, any_rho)) == pytest.approx(np.trace(any_rho), abs=1e-13)
            out = _apply(p, herm)
            np.testing.assert_allclose(out, out.conj().T, rtol=0, atol=1e-13)
        np.testing.assert_allclose(np.asarray(physical_map(jnp.asarray(p))), p, rtol=0, atol=1e-14)
        resid = (m - p).reshape(16)
        np.testing.assert_allclose(np.real(diffs.conj() @ resid), 0, atol=1e-12)


def _ghz(n, dtype):
    return qsense.ghz_state(n).astype(dtype)


@pytest.mark.parametrize("noise", ["bitflip", "amplitude_damping", "dephasing"])
@pytest.mark.parametrize("dtype,scales", [(jnp.complex128, [1e8, 1e12]),
                                          (jnp.complex64, [30.0, 3e3])])
def test_sensed_states_stay_physical_and_qfi_accepts_them(noise, dtype, scales):
    """Within the accepted sensing scale, in a scalar and in a vector field, the sensed state's
    trace is 1 and it is Hermitian to a few eps, and eager `qfi` / `qfim` (which check their
    family's output) accept it."""
    n, eps = 3, float(jnp.finfo(dtype).eps)
    psi = _ghz(n, dtype)
    for s in scales:
        for field in (s, jnp.full(3, s / 3)):
            rho = np.asarray(qsense.sense(psi, field, 1.0, noise, 0.1))
            assert abs(np.trace(rho) - 1) < 20 * eps
            assert np.max(np.abs(rho - rho.conj().T)) < 20 * eps
        f = qsense.qfi(lambda b: qsense.sense(psi, b, 1.0, noise, 0.1), s)
        fm = qsense.qfim(lambda b: qsense.sense(psi, b, 1.0, noise, 0.1), jnp.full(3, s / 3))
        assert np.isfinite(float(f)) and np.all(np.isfinite(np.asarray(fm)))


@pytest.mark.parametrize("noise", ["bitflip", "amplitude_damping"])
@pytest.mark.parametrize("dtype,scale", [(jnp.complex128, 1e12), (jnp.complex64, 3e3)])
def test_the_objectives_sensed_states_stay_physical(noise, dtype, scale):
    """The objective's own maps (`qsense.objective.sensing_superoperators`: one map for all
    qubits, or one per qubit under sensor and noise weights) are projected too: the states
    `score` and the GA differentiate are physical to a few eps at the scale limit's edge."""
    from qsense.objective import Problem, sensed_state

    eps = float(jnp.finfo(dtype).eps)
    rho0 = qsense.states.density(_ghz(3, dtype))
    for field, kind in ((scale, "scalar"), (jnp.full(3, scale / 3), "vector")):
        for weights in ({}, {"sensors": [1.0, 0.5, 0.0], "noise_weights": [1.0, 0.3, 1.0]}):
            p = Problem(3, noise, 0.1, kind, field, dtype=dtype, **weights)
            rho = np.asarray(sensed_state(p, rho0, 1.0))
            assert abs(np.trace(rho) - 1) < 20 * eps
            assert np.max(np.abs(rho - rho.conj().T)) < 20 * eps


def _bitflip_bloch(b, gamma, t):
    """The bit-flip map (H = B Z / 2, L = sqrt(gamma/2) X) on (1, x, y, z), and its
    B-derivative, in closed form: z decays as exp(-gamma t); (x, y) follow
    d/dt (x, y) = [[0, -B], [B, -gamma]] (x, y), whose exponential is
    exp(-gamma t/2) (cos(w t) I + sin(w t)/w (A + gamma/2 I)), w = sqrt(B^2 - gamma^2/4)."""
    w = np.sqrt(b * b - gamma * gamma / 4)
    dw = b / w
    a = np.array([[0.0, -b], [b, -gamma]]) + gamma / 2 * np.eye(2)
    da = np.array([[0.0, -1.0], [1.0, 0.0]])
    c, s, e = np.cos(w * t), np.sin(w * t), np.exp(-gamma * t / 2)
    r, dr = np.zeros((4, 4)), np.zeros((4, 4))
    r[0, 0], r[3, 3] = 1.0, np.exp(-gamma * t)
    r[1:3, 1:3] = e * (c * np.eye(2) + s / w * a)
    dr[1:3, 1:3] = e * (-t * s * dw * np.eye(2) + (t * c / w - s / w**2) * dw * a + s / w * da)
    return r, dr


_PAULIS = np.stack([np.eye(2), _X, _Y, _Z])


def _on_qubit(bloch, x, q, n):
    """Apply a one-qubit Bloch map (4x4 on Pauli coordinates) to qubit q of x (2,)*2n."""
    moved = np.moveaxis(x, (q, n + q), (-2, -1))
    coords = np.einsum("bji,...ij->...b", _PAULIS, moved) / 2  # tr(P_b A) / 2
    return np.moveaxis(np.einsum("ab,...b,aij->...ij", bloch, coords, _PAULIS),
                       (-2, -1), (q, n + q))


def _reference_bitflip_qfi(n, b, gamma, t, sensors=None, noise_weights=None):
    """QFI of GHZ_n under the closed-form bit-flip map, qubit q sensing ``sensors[q] b`` at
    rate ``noise_weights[q] gamma`` (default 1 each): rho and its B-derivative (product rule
    over the qubits), then the SLD sum over the eigenbasis (pairs with l_i + l_j > 1e-10)."""
    psi = np.zeros(2**n, complex)
    psi[0] = psi[-1] = np.sqrt(0.5)
    w = np.ones(n) if sensors is None else np.asarray(sensors, float)
    u = np.ones(n) if noise_weights is None else np.asarray(noise_weights, float)
    maps = [_bitflip_bloch(w[q] * b, u[q] * gamma, t) for q in range(n)]
    start = np.outer(psi, psi.conj()).reshape((2,) * 2 * n)
    terms = []
    for k in range(-1, n):  # k = -1: rho itself; k >= 0: the derivative's k-th term
        x = start
        for q in range(n):
            r, dr = maps[q]
            x = _on_qubit(w[q] * dr if q == k else r, x, q, n)
        terms.append(x.reshape(2**n, 2**n))
    rho, drho = terms[0], sum(terms[1:])
    lam, v = np.linalg.eigh(rho)
    d = v.conj().T @ drho @ v
    tot = lam[:, None] + lam[None, :]
    keep = tot > 1e-10
    return float(2 * np.sum(np.abs(d[keep]) ** 2 / tot[keep])), rho


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("gamma", [0.1, 0.01])
@pytest.mark.parametrize("dtype,fields", [
    (jnp.complex128, [1.0, 1e3, 1e8, 1e10, 4e12]), (jnp.complex64, [1.0, 30.0, 3e3, 8e3])])
def test_bitflip_qfi_in_a_large_field_is_the_closed_form(n, gamma, dtype, fields):
    """GHZ under bit flip (t = 1) in a scalar field B up to the scale limit (S = B + 2
    gamma), against the numpy closed form: the sensed state within N eps S (the phase B t's
    own rounding), its spectrum within 10 eps and so positive, and its QFI (eager `qfi`)
    within 20 N eps relative at every B. `bitflip_z_map_1q` puts B t only into cos and sin;
    the scaled-and-squared `expm_small` it replaced left a few eps S in every entry of the
    map (QFI 4.1 N eps S off, 1.2e-2 near the limit; eigenvalues -1.4e-4 at B = 1e12, gamma =
    0.01). Measured: QFI within 5.1 N eps, state within 0.56 N eps S."""
    eps = float(jnp.finfo(dtype).eps)
    psi = _ghz(n, dtype)
    for b in fields:
        ref, rho_ref = _reference_bitflip_qfi(n, b, gamma, 1.0)
        rho = np.asarray(qsense.sense(psi, b, 1.0, "bitflip", gamma))
        got = float(qsense.qfi(lambda x: qsense.sense(psi, x, 1.0, "bitflip", gamma), b))
        assert np.max(np.abs(rho - rho_ref)) <= n * eps * (b + 2 * gamma)
        np.testing.assert_allclose(np.linalg.eigvalsh(rho.astype(complex)),
                                   np.linalg.eigvalsh(rho_ref), rtol=0, atol=10 * eps)
        assert got == pytest.approx(ref, rel=20 * n * eps)


@pytest.mark.parametrize("dtype", [jnp.complex128, jnp.complex64])
def test_the_objectives_bitflip_qfi_in_a_large_field_is_the_closed_form(dtype):
    """The objective's scalar bit-flip maps (`sensing_superoperators`: `sensed_state` at b0,
    `qfim_of_state`, what the protocols and the link probe use) in closed form too: GHZ_3
    (t = 1, gamma = 0.01) with and without sensor and noise weights, up to the scale limit,
    against the numpy closed form: the state within 3 eps S, the QFI within 20 N eps
    relative. (With `expm_small` the QFI was eps S off: 4e-3 at b0 = 1e12.)"""
    from qsense.objective import qfim_of_state, sensed_state

    eps, n, gamma = float(jnp.finfo(dtype).eps), 3, 0.01
    rho0 = _ghz(n, jnp.complex128)
    rho0 = np.outer(rho0, rho0.conj())
    for weights in ({}, {"sensors": [1.0, 0.5, -0.25], "noise_weights": [1.0, 0.3, 2.0]}):
        top = 2.0 * max(weights.get("noise_weights", [1.0]))  # the scale's rate weight
        for b0 in (1.0, *((1e-3, 0.3, 0.99) * np.asarray(max_sensing_scale(dtype)))):
            b0 = float(b0) - top * gamma
            p = qsense.Problem(n, "bitflip", gamma=gamma, b0=b0, dtype=dtype, **weights)
            ref, rho_ref = _reference_bitflip_qfi(n, b0, gamma, 1.0, **weights)
            rho = np.asarray(sensed_state(p, rho0, 1.0), np.complex128)
            assert np.max(np.abs(rho - rho_ref)) <= 3 * eps * (b0 + top * gamma)
            got = float(qfim_of_state(p, rho0, 1.0)[0, 0])
            assert got == pytest.approx(ref, rel=20 * n * eps)


@pytest.mark.parametrize("b,t,gamma", [
    (3.7, 1.3, 0.4), (-25.0, 0.7, 1.9),  # oscillating: |b| > gamma / 2
    (0.01, 2.0, 1.0), (0.0, 1.5, 0.8),  # overdamped, and no field
    # x = (b t)^2 - (gamma t / 2)^2 on both sides of the series' edges |x| = 1e-4 (t = 1,
    # gamma t / 2 = 0.1)
    (np.sqrt(0.01 + 0.99e-4), 1.0, 0.2), (np.sqrt(0.01 + 1.01e-4), 1.0, 0.2),
    (np.sqrt(0.01 - 0.99e-4), 1.0, 0.2), (np.sqrt(0.01 - 1.01e-4), 1.0, 0.2),
    (0.1, 1.0, 0.2),  # critical damping, x = 0
    (2.0, 0.0, 0.5), (2.0, 1.0, 0.0),  # t = 0, gamma = 0
    (1.0, 20.0, 50.0),  # gamma t = 1e3: a bare cosh(sqrt(-x)) would overflow
])
def test_the_bitflip_map_is_the_exponential_and_so_are_its_derivatives(b, t, gamma):
    """`bitflip_z_map_1q` (closed form: the population block, and the coherence block's
    damped rotation, `_damped_cos_sinc`) against scipy's expm of the whole Lindbladian in a
    field (0, 0, b) under bit flip, and its forward derivatives in b, t and gamma against
    scipy's Frechet derivative of that expm: oscillating, overdamped, critical, across the
    series' switches and far into the overdamped side."""
    from qsense.noise import bitflip_z_map_1q

    got = np.asarray(bitflip_z_map_1q(b, t, gamma))
    assert np.all(np.isfinite(got))
    full = t * _generator([0, 0, b], "bitflip", gamma)
    # scipy's scaling and squaring rounds to ~eps ||t L||: at gamma t = 1e3 its populations
    # are 0.5 - 1.25e-14 where the closed form gives 0.5 (+ exp(-1e3) / 2) exactly
    wide = max(1.0, float(np.abs(full).sum(axis=0).max()) / 100)
    np.testing.assert_allclose(got, _exact_map([0, 0, b], "bitflip", gamma, t),
                               rtol=0, atol=1e-14 * wide)
    for direction, tangent in (
            ((1.0, 0.0, 0.0), t * _generator([0, 0, 1.0], "none", 0.0)),
            ((0.0, 1.0, 0.0), _generator([0, 0, b], "bitflip", gamma)),
            ((0.0, 0.0, 1.0), t * _generator([0, 0, 0.0], "bitflip", 1.0))):
        _, d = jax.jvp(lambda x, y, z: bitflip_z_map_1q(x, y, z),
                       (jnp.float64(b), jnp.float64(t), jnp.float64(gamma)),
                       tuple(jnp.float64(v) for v in direction))
        assert np.all(np.isfinite(np.asarray(d)))
        ref = scipy.linalg.expm_frechet(full, tangent, compute_expm=False)
        np.testing.assert_allclose(np.asarray(d), ref, rtol=0,
                                   atol=1e-13 * wide * max(1.0, np.abs(ref).max()))


def _np_unitary_map(field3, t):
    return _exact_map(field3, "none", 0.0, t)


@pytest.mark.parametrize("theta2", [0.0, 1e-12, 0.99e-4, 1.01e-4, 1.0, 3e3])
def test_the_noiseless_map_is_the_unitary_in_closed_form(theta2):
    """`unitary_map_1q` (closed form, a series below theta^2 = 1e-4; tested on both sides of
    that switch) against scipy's expm of the Lindbladian without noise; its gradient in the
    field and t, and its Hessian in the field, of a fixed linear read-out against central
    differences of scipy's map: smooth at every field, zero included (where the closed form
    has sqrt(0)). Steps and tolerances scale with the phase t |B|."""

    from qsense.noise import unitary_map_1q

    rng = np.random.default_rng(5)
    unit = rng.normal(size=3)
    t = 1.3
    f3 = unit / np.linalg.norm(unit) * 2 * np.sqrt(theta2) / t  # theta^2 = (t |B| / 2)^2
    np.testing.assert_allclose(np.asarray(unitary_map_1q(jnp.asarray(f3), t)),
                               _np_unitary_map(f3, t), rtol=0, atol=1e-14)
    a = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))

    def functional(f, tt):  # Re tr(A^H M): a fixed real-linear read-out of the map
        return jnp.real(jnp.sum(jnp.conj(jnp.asarray(a)) * unitary_map_1q(f, tt)))

    def np_functional(f, tt):
        return float(np.real(np.sum(np.conj(a) * _np_unitary_map(f, tt))))

    w = max(1.0, float(np.linalg.norm(f3)) * t)  # the phase: steps and tolerances scale by it
    h, eye = 1e-4 / w, np.eye(3)
    grad_f, grad_t = jax.grad(functional, argnums=(0, 1))(jnp.asarray(f3), t)
    np.testing.assert_allclose(np.asarray(grad_f), [
        (np_functional(f3 + h * e, t) - np_functional(f3 - h * e, t)) / (2 * h) for e in eye],
        atol=1e-7 * w)
    assert float(grad_t) == pytest.approx(
        (np_functional(f3, t + h) - np_functional(f3, t - h)) / (2 * h), abs=1e-7 * w**2)
    hess = jax.hessian(functional)(jnp.asarray(f3), t)
    h2 = 1e-3 / w
    fd = [[(np_functional(f3 + h2 * (ei + ej), t) - np_functional(f3 + h2 * (ei - ej), t)
            - np_functional(f3 - h2 * (ei - ej), t) + np_functional(f3 - h2 * (ei + ej), t))
           / (4 * h2 * h2) for ej in eye] for ei in eye]
    np.testing.assert_allclose(np.asarray(hess), fd, atol=1e-5 * w)


@pytest.mark.parametrize("dtype", [jnp.complex128, jnp.complex64])
def test_noiseless_sensing_is_exact_and_positive_up_to_the_limit(dtype):
    """Without noise, GHZ's QFI is N^2 t^2 at every accepted scale (a few eps; scaling and
    squaring left 2.5e-2 at N = 5 just below the limit), and the sensed state stays positive
    semidefinite, so it can be sensed again and scored (it was refused from B t = 1e8 in a
    vector field, smallest eigenvalue -2e-8; from 1e3 in complex64)."""
    from qsense.noise import max_sensing_scale

    n, eps = 5, float(jnp.finfo(dtype).eps)
    psi = _ghz(n, dtype)
    for s in (0.1 * max_sensing_scale(dtype), 0.99 * max_sensing_scale(dtype)):
        f = qsense.qfi(lambda b: qsense.sense(psi, b, 1.0, "none"), s)
        fv = qsense.qfim(lambda b: qsense.sense(psi, b, 1.0, "none"), jnp.asarray([0, 0, s]))
        assert float(f) == pytest.approx(n**2, rel=50 * eps)
        assert float(fv[2, 2]) == pytest.approx(n**2, rel=50 * eps)
        field = jnp.full(3, s / 3)
        rho = qsense.sense(psi, field, 1.0, "none")
        assert np.linalg.eigvalsh(np.asarray(rho, np.complex128)).min() > -20 * eps
        again = qsense.sense(rho, -field, 1.0, "none")  # the inverse rotation: back to GHZ
        np.testing.assert_allclose(np.asarray(again), np.asarray(qsense.density(psi)),
                                   rtol=0, atol=10 * eps * s)


@pytest.mark.parametrize("noise", ["none", "dephasing", "amplitude_damping"])
def test_the_covariant_map_is_the_exponential_and_so_are_its_derivatives(noise):
    """`z_covariant_map_1q` (the rotation in closed form times the field-free noise map)
    against scipy's expm of the whole Lindbladian in a field (0, 0, b), and its forward
    derivatives in b, t and gamma against scipy's Frechet derivative of that expm."""
    from qsense.noise import z_covariant_map_1q

    rng = np.random.default_rng(7)
    for _ in range(6):
        b, t, gamma = rng.normal() * 20, rng.uniform(0.01, 3), rng.uniform(0, 2)
        got = z_covariant_map_1q(b, t, noise, gamma)
        np.testing.assert_allclose(np.asarray(got), _exact_map([0, 0, b], noise, gamma, t),
                                   rtol=0, atol=1e-13)
        full = t * _generator([0, 0, b], noise, gamma)
        for direction, tangent in (
                ((1.0, 0.0, 0.0), t * _generator([0, 0, 1.0], "none", 0.0)),
                ((0.0, 1.0, 0.0), _generator([0, 0, b], noise, gamma)),
                ((0.0, 0.0, 1.0), t * _generator([0, 0, 0.0], noise, 1.0))):
            _, d = jax.jvp(lambda x, y, z: z_covariant_map_1q(x, y, noise, z),
                           (jnp.float64(b), jnp.float64(t), jnp.float64(gamma)),
                           tuple(jnp.float64(v) for v in direction))
            ref = scipy.linalg.expm_frechet(full, tangent, compute_expm=False)
            np.testing.assert_allclose(np.asarray(d), ref, rtol=0,
                                       atol=1e-12 * max(1.0, np.abs(ref).max()))


def _np_sense(rho, m, n):
    """Apply the 4x4 one-qubit map m (row-major vec) to every qubit of rho, numpy."""
    x = rho.reshape((2,) * 2 * n)
    for q in range(n):
        moved = np.moveaxis(x, (q, n + q), (-2, -1))
        out = (moved.reshape(moved.shape[:-2] + (4,)) @ m.T).reshape(moved.shape)
        x = np.moveaxis(out, (-2, -1), (q, n + q))
    return x.reshape(2**n, 2**n)


def _np_covariant_reference(n, noise, gamma, t):
    """GHZ_n sensed at B = 0 (scipy's expm on each qubit), and its QFI in B: the map commutes
    with the field's rotation, so d rho / dB = -i (t/2) [Jz, rho] at every B and the QFI and
    the entries' moduli do not depend on B. SLD sum over pairs with l_i + l_j > 1e-12."""
    psi = np.zeros(2**n, complex)
    psi[0] = psi[-1] = np.sqrt(0.5)
    rho = _np_sense(np.outer(psi, psi.conj()), _exact_map([0, 0, 0], noise, gamma, t), n)
    jz = np.array([n - 2 * bin(k).count("1") for k in range(2**n)], float)
    drho = -0.5j * t * (jz[:, None] * rho - rho * jz[None, :])
    lam, v = np.linalg.eigh(rho)
    d = v.conj().T @ drho @ v
    tot = lam[:, None] + lam[None, :]
    keep = tot > 1e-12
    return rho, float(2 * np.sum(np.abs(d[keep]) ** 2 / tot[keep]))


@pytest.mark.parametrize("noise", ["dephasing", "amplitude_damping"])
@pytest.mark.parametrize("dtype", [jnp.complex128, jnp.complex64])
def test_covariant_sensing_carries_no_field_rounding_up_to_the_limit(noise, dtype):
    """In a scalar field under dephasing or amplitude damping, `sense` rotates in closed form
    (`z_covariant_map_1q`), so what does not depend on B (the entries' moduli, the QFI, the
    spectrum) is the B = 0 answer to a few eps up to the scale limit; the purity's
    t-derivative to a few eps S. Measured (default XLA flags): moduli within 3.5 eps,
    QFI within 3.6 N eps, the t-derivative within 6 eps S. Before, scaling and squaring the
    whole generator left moduli and QFI about eps S off per qubit (QFI 1e-2 off at S = 1e12,
    0.4 to 25 N eps S relative; complex64 1.5e4 N eps just below its limit) and amplitude-damped
    states with a smallest eigenvalue of -2.5e-4 at S = 1e12 (gamma = 0.01)."""
    from qsense.noise import max_sensing_scale

    n, t, eps = 3, 1.0, float(jnp.finfo(dtype).eps)
    psi = _ghz(n, dtype)

    def purity(b, tt, gamma):
        rho = qsense.sense(psi, b, tt, noise, gamma)
        return jnp.real(jnp.sum(rho * jnp.conj(rho)))

    for gamma in (0.01, 0.1):
        rho_ref, qfi_ref = _np_covariant_reference(n, noise, gamma, t)
        h = 1e-4
        dpurity_ref = np.array([np.sum(np.abs(_np_covariant_reference(n, noise, gamma, t + s * h)
                                              [0]) ** 2) for s in (1, -1)]) @ [1, -1] / (2 * h)
        for s in (0.1 * max_sensing_scale(dtype), 0.99 * max_sensing_scale(dtype)):
            b = s / t - 2 * gamma
            rho = np.asarray(qsense.sense(psi, b, t, noise, gamma), np.complex128)
            np.testing.assert_allclose(np.abs(rho), np.abs(rho_ref), rtol=0, atol=10 * eps)
            np.testing.assert_allclose(np.linalg.eigvalsh(rho), np.linalg.eigvalsh(rho_ref),
                                       rtol=0, atol=10 * eps)
            f = float(qsense.qfi(lambda x, g=gamma: qsense.sense(psi, x, t, noise, g), b))
            assert f == pytest.approx(qfi_ref, rel=20 * n * eps)
            # the t-tangent holds -i (b/2) [Jz, rho], of size b: its share of the purity's
            # derivative cancels to eps b, not to eps
            dp = float(jax.grad(purity, argnums=1)(b, t, gamma))
            assert dp == pytest.approx(dpurity_ref, rel=0, abs=20 * eps * (1 + s))
