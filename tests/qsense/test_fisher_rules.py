"""The QFI(M) derivative rules of `qsense.fisher` against plain numpy.

`qfi_commutator` (``d rho = -i [H, rho]``, ``H = diag(h)``) and `qfim_from_derivatives` (any
``d_a rho``; one parameter has its own arrangement of the rule) are computed here from scratch
with numpy's ``eigh`` (the SLD formula), and their derivatives by central finite differences
of those numpy functions: nothing comes from qsense but the functions under test.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsense.fisher import qfi_commutator, qfim_from_derivatives


def _qfi_numpy(rho, h):
    lam, v = np.linalg.eigh(rho)
    drho = -1j * (h[:, None] * rho - rho * h[None, :])
    d = v.conj().T @ drho @ v
    s = lam[:, None] + lam[None, :]
    w = np.where(s > 1e-12, 2 / np.where(s > 1e-12, s, 1), 0)
    return float(np.sum(np.abs(d) ** 2 * w))


def _random_state(rng, d, rank):
    a = rng.normal(size=(d, rank)) + 1j * rng.normal(size=(d, rank))
    rho = a @ a.conj().T
    return rho / np.trace(rho).real


def _hermitian(rng, d):
    a = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    return (a + a.conj().T) / 2


@pytest.mark.parametrize("d", [2, 8, 16])
def test_value_matches_numpy(d):
    rng = np.random.default_rng(d)
    rho, h = _random_state(rng, d, d), rng.normal(size=d)
    np.testing.assert_allclose(float(qfi_commutator(jnp.asarray(rho), jnp.asarray(h))),
                               _qfi_numpy(rho, h), rtol=1e-10)


@pytest.mark.parametrize("d", [4, 16])
def test_jvp_in_rho_and_h_matches_central_differences(d):
    """Full-rank state (the rank is locally constant, so the QFI is smooth)."""
    rng = np.random.default_rng(10 + d)
    rho, h = _random_state(rng, d, d), rng.normal(size=d)
    rho_t, h_t = _hermitian(rng, d) * 0.1, rng.normal(size=d)
    rho_t -= np.trace(rho_t) / d * np.eye(d)  # stays a state's tangent (trace 0)

    def f_np(s):
        return _qfi_numpy(rho + s * rho_t, h + s * h_t)

    eps = 1e-5
    fd = (f_np(eps) - f_np(-eps)) / (2 * eps)
    _, jvp = jax.jvp(lambda r, g: qfi_commutator(r, g), (jnp.asarray(rho), jnp.asarray(h)),
                     (jnp.asarray(rho_t), jnp.asarray(h_t)))
    np.testing.assert_allclose(float(jvp), fd, rtol=1e-7)
    # each direction alone (one of the two terms of the rule must not cover for the other)
    for rt, ht in ((rho_t, 0 * h_t), (0 * rho_t, h_t)):
        fd1 = (_qfi_numpy(rho + eps * rt, h + eps * ht)
               - _qfi_numpy(rho - eps * rt, h - eps * ht)) / (2 * eps)
        _, j1 = jax.jvp(lambda r, g: qfi_commutator(r, g), (jnp.asarray(rho), jnp.asarray(h)),
                        (jnp.asarray(rt), jnp.asarray(ht)))
        np.testing.assert_allclose(float(j1), fd1, rtol=1e-7, atol=1e-9)


def test_gradient_through_a_parametrized_family_batched():
    """Reverse mode, batched with vmap (the GA's case): rho(x) = U(x) rho0 U(x)^dag mixed
    with a second state, h(x) = x h0; gradient in x against central differences."""
    rng = np.random.default_rng(3)
    d, batch = 8, 5
    rho0 = np.stack([_random_state(rng, d, d) for _ in range(batch)])
    sig = np.stack([_random_state(rng, d, 2) for _ in range(batch)])
    gen = np.stack([_hermitian(rng, d) for _ in range(batch)])
    h0 = rng.normal(size=(batch, d))
    xs = rng.uniform(0.5, 1.5, size=batch)

    def fam_np(x, r0, s, g, hh):
        lam, v = np.linalg.eigh(g)
        u = v @ np.diag(np.exp(-1j * x * lam)) @ v.conj().T
        p = 0.5 + 0.2 * np.sin(x)
        return p * u @ r0 @ u.conj().T + (1 - p) * s, x * hh

    def fam_jax(x, r0, s, g, hh):
        lam, v = jnp.linalg.eigh(g)
        u = v @ jnp.diag(jnp.exp(-1j * x * lam)) @ v.conj().T
        p = 0.5 + 0.2 * jnp.sin(x)
        return p * u @ r0 @ u.conj().T + (1 - p) * s, x * hh

    def f(x, r0, s, g, hh):
        return qfi_commutator(*fam_jax(x, r0, s, g, hh))

    grads = jax.vmap(jax.grad(f))(jnp.asarray(xs), jnp.asarray(rho0), jnp.asarray(sig),
                                  jnp.asarray(gen), jnp.asarray(h0))
    eps = 1e-5
    for i in range(batch):
        args = (rho0[i], sig[i], gen[i], h0[i])
        fd = (_qfi_numpy(*fam_np(xs[i] + eps, *args))
              - _qfi_numpy(*fam_np(xs[i] - eps, *args))) / (2 * eps)
        np.testing.assert_allclose(float(grads[i]), fd, rtol=1e-6)


def _qfim_numpy(rho, drhos):
    lam, v = np.linalg.eigh(rho)
    d = np.einsum("ij,ajk,kl->ail", v.conj().T, drhos, v)
    s = lam[:, None] + lam[None, :]
    w = np.where(s > 1e-12, 2 / np.where(s > 1e-12, s, 1), 0)
    return np.einsum("aij,bij,ij->ab", d.conj(), d, w).real


@pytest.mark.parametrize("k", [1, 2])
def test_qfim_jvp_matches_central_differences_full_rank(k):
    """Full-rank state, arbitrary Hermitian derivatives moving with it (k = 1 takes the
    one-parameter arrangement of the rule, k = 2 the general one)."""
    rng = np.random.default_rng(20 + k)
    d = 8
    rho, rho_t = _random_state(rng, d, d), _hermitian(rng, d) * 0.1
    rho_t -= np.trace(rho_t) / d * np.eye(d)
    drhos = np.stack([_hermitian(rng, d) for _ in range(k)])
    drhos_t = np.stack([_hermitian(rng, d) for _ in range(k)])
    def at(s):
        return _qfim_numpy(rho + s * rho_t, drhos + s * drhos_t)

    eps = 1e-4  # fourth-order central differences (the QFIM is ~1e3 here)
    fd = (-at(2 * eps) + 8 * at(eps) - 8 * at(-eps) + at(-2 * eps)) / (12 * eps)
    f, jvp = jax.jvp(qfim_from_derivatives, (jnp.asarray(rho), jnp.asarray(drhos)),
                     (jnp.asarray(rho_t), jnp.asarray(drhos_t)))
    np.testing.assert_allclose(np.asarray(f), _qfim_numpy(rho, drhos), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(jvp), fd, rtol=1e-7, atol=1e-9)


def test_qfi_gradient_pure_state_family_one_parameter():
    """Pure states (rank 1: the eigh derivative is NaN here), d rho = -i [A, rho] for a full
    Hermitian A through the general rule: the QFI is 4 Var(A) along psi(x) = e^{-ixB} psi0,
    and its gradient in x (reverse mode) matches central differences of that closed form."""
    rng = np.random.default_rng(7)
    d = 8
    a_op, b_op = _hermitian(rng, d), _hermitian(rng, d)
    psi0 = rng.normal(size=d) + 1j * rng.normal(size=d)
    psi0 /= np.linalg.norm(psi0)

    def psi_np(x):
        lam, v = np.linalg.eigh(b_op)
        return v @ (np.exp(-1j * x * lam) * (v.conj().T @ psi0))

    def var4(x):
        p = psi_np(x)
        mean = np.vdot(p, a_op @ p).real
        return 4 * (np.vdot(p, a_op @ a_op @ p).real - mean**2)

    def f(x):
        lam, v = jnp.linalg.eigh(jnp.asarray(b_op))
        p = v @ (jnp.exp(-1j * x * lam) * (v.conj().T @ jnp.asarray(psi0)))
        rho = jnp.outer(p, p.conj())
        a = jnp.asarray(a_op)
        return qfim_from_derivatives(rho, (-1j * (a @ rho - rho @ a))[None])[0, 0]

    x, eps = 0.7, 1e-5
    np.testing.assert_allclose(float(f(x)), var4(x), rtol=1e-9)
    g = float(jax.grad(f)(x))
    assert np.isfinite(g)
    np.testing.assert_allclose(g, (var4(x + eps) - var4(x - eps)) / (2 * eps), rtol=1e-6)


# ----------------------------------------------------------------- second derivatives
# At a rank-deficient state the eigenvalues on the kernel are degenerate, so autodiff
# through eigh gives garbage (finite, silently wrong: measured 1.6 against 1.8 at a pure
# GHZ + PQC probe) and the SLD derivative needs its own gap-free rule. Three modes of second
# derivative each, against fourth-order central second differences of the numpy functions.


def _second_difference(f, x, e=1e-3):
    return (-f(x + 2 * e) + 16 * f(x + e) - 30 * f(x) + 16 * f(x - e) - f(x - 2 * e)) / (
        12 * e * e)


def _second_derivatives(f, x):
    """d^2 f / dx^2 (f: scalar x -> array) reverse over reverse, forward over reverse,
    forward over forward."""
    x = jnp.asarray(x)
    rr = jax.jit(jax.jacrev(jax.jacrev(f)))(x)
    fr = jax.jit(jax.jacfwd(jax.jacrev(f)))(x)
    ff = jax.jit(lambda z: jax.jvp(lambda y: jax.jvp(f, (y,), (jnp.ones_like(y),))[1], (z,),
                                   (jnp.ones_like(z),))[1])(x)
    return np.stack([np.asarray(rr), np.asarray(fr), np.asarray(ff)])


def _rank_r_family(rng, d, r):
    """rho(x) = sum_k p_k(x) U(x)|phi_k><phi_k|U(x)^dag, U(x) = exp(-i x B): rank r for every
    x. Returned twice, written with numpy and with jax.numpy."""
    phi = np.linalg.qr(rng.normal(size=(d, r)) + 1j * rng.normal(size=(d, r)))[0]
    lam_b, v_b = np.linalg.eigh(_hermitian(rng, d))
    c0, c1 = rng.uniform(0.5, 1.5, size=r), rng.normal(size=r)

    def make(xp):
        def rho(x):
            vb = xp.asarray(v_b)
            ph = vb @ (xp.exp(-1j * x * xp.asarray(lam_b))[:, None] * (vb.conj().T @ phi))
            p = xp.asarray(c0) + 0.3 * xp.sin(x * xp.asarray(c1))
            return (ph * (p / xp.sum(p))[None, :]) @ ph.conj().T
        return rho

    return make(np), make(jnp)


@pytest.mark.parametrize("d,r", [(8, 1), (8, 3), (4, 4)])
def test_qfi_commutator_second_derivative_rank_deficient(d, r):
    """rank r < d (r = 1: pure) and full rank; h moves with x too."""
    rng = np.random.default_rng(40 + 10 * d + r)
    rho_np, rho_jax = _rank_r_family(rng, d, r)
    h0, h1 = rng.normal(size=d), rng.normal(size=d)

    def f_np(x):
        return _qfi_numpy(rho_np(x), h0 + x * h1)

    def f(x):
        return qfi_commutator(rho_jax(x), jnp.asarray(h0) + x * jnp.asarray(h1))

    x = 0.4
    ref = _second_difference(f_np, x)
    np.testing.assert_allclose(_second_derivatives(f, x), ref, rtol=1e-6, atol=1e-7 * abs(ref))


@pytest.mark.parametrize("k,r", [(1, 1), (1, 2), (2, 1), (2, 3)])
def test_qfim_second_derivative_rank_deficient(k, r):
    """d_a rho = -i [A_a(x), rho(x)] (tangents of a rank-preserving family, as a true
    derivative is), A_a(x) = A_a + x C_a; the whole matrix F(x)'s second derivative."""
    rng = np.random.default_rng(70 + 10 * k + r)
    d = 8
    rho_np, rho_jax = _rank_r_family(rng, d, r)
    a_ops = np.stack([_hermitian(rng, d) for _ in range(k)])
    c_ops = np.stack([_hermitian(rng, d) for _ in range(k)]) * 0.5

    def drhos_of(rho, x, xp):
        a = xp.asarray(a_ops) + x * xp.asarray(c_ops)
        return -1j * (a @ rho[None] - rho[None] @ a)

    def f_np(y):
        rho = rho_np(y)
        return _qfim_numpy(rho, drhos_of(rho, y, np))

    def f(y):
        rho = rho_jax(y)
        return qfim_from_derivatives(rho, drhos_of(rho, y, jnp))

    ref = _second_difference(f_np, -0.3)
    got = _second_derivatives(f, -0.3)
    for mode in got:
        np.testing.assert_allclose(mode, ref, rtol=1e-6, atol=1e-7 * max(np.abs(ref).max(), 1))


@pytest.mark.parametrize("noise", ["dephasing", "amplitude_damping", "bitflip"])
def test_hessian_of_a_noiseless_probe_in_its_angles(noise):
    """The public composed path at gamma = 0 (a pure state: QFI = 4 t^2 Var(Jz) of the probe,
    whatever B0): jax.hessian in the circuit's angles against central second differences of
    that closed form, evaluated in numpy on the circuit's output states; and the objective's
    Hessian equal to it."""
    import dataclasses

    import qsense

    n, t = 3, 0.8
    psi = qsense.ghz_state(n)
    g = qsense.random_genome(jax.random.PRNGKey(5), n, 5, dtype=jnp.float64)
    jz = np.array([(n - 2 * bin(i).count("1")) / 2 for i in range(2**n)])

    def f(th):
        gg = dataclasses.replace(g, angle=th)
        return qsense.qfi(lambda b: qsense.sense(qsense.apply_pqc(psi, gg), b, t, noise, 0.0),
                          1.0)

    def var4(th):
        p = np.asarray(qsense.apply_pqc(psi, dataclasses.replace(g, angle=jnp.asarray(th))))
        prob = np.abs(p) ** 2
        return 4 * t * t * (prob @ jz**2 - (prob @ jz) ** 2)

    th0 = np.asarray(g.angle)
    hess = np.asarray(jax.jit(jax.hessian(f))(jnp.asarray(th0)))
    e = 1e-3
    ref = np.zeros_like(hess)
    for i in range(th0.size):
        for j in range(th0.size):
            def at(a, b, i=i, j=j):
                y = th0.copy()
                y[i] += a * e
                y[j] += b * e
                return var4(y)
            ref[i, j] = (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * e * e)
    assert np.isfinite(hess).all()
    np.testing.assert_allclose(hess, ref, atol=1e-5 * np.max(np.abs(ref)))
    if noise == "amplitude_damping":
        return  # same QFI rule as dephasing (commutator form): checked there
    # THE objective (what make_fitness, the GA and the optimizers call) has the same Hessian
    score = qsense.make_fitness(n, noise, batched=False, jit=False)
    hess_obj = jax.jit(jax.hessian(
        lambda th: score(dataclasses.replace(g, angle=th), t, 0.0, 1.0)))(jnp.asarray(th0))
    np.testing.assert_allclose(np.asarray(hess_obj), hess, rtol=1e-9, atol=1e-9)
