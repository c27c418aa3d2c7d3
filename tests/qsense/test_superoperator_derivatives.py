"""Derivatives of the per-qubit superoperator pass (`qsense.sensing.apply_qubit_superoperators`)
in the maps, against an independent numpy implementation.

The pass is bilinear in (rho, maps) and carries a custom JVP whose part in the maps is a
contraction (so that its transpose, the maps' cotangent, is a matrix product). Here: the forward
JVP equals the product rule written out in numpy (one map replaced by its tangent at a time);
the VJP is the exact transpose of that JVP (checked through the bilinear pairing, batched as
the GA batches it); and a second derivative in t of a sensed state's overlap equals numpy
central differences of scipy's expm.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sla

from qsense.sensing import apply_qubit_superoperators, apply_qubit_superoperators_jvp


def _np_apply(rho, sops):
    """Each qubit q's 4x4 map (row-major vec: index 2 * row + col) on its (row, col) axes."""
    n = len(sops)
    t = np.asarray(rho).reshape((2,) * (2 * n))
    for q, s in enumerate(np.asarray(sops)):
        s4 = s.reshape(2, 2, 2, 2)  # (a, c, b, d): out[a, c] <- in[b, d]
        t = np.moveaxis(t, (q, n + q), (0, 1))
        t = np.einsum("acbd,bd...->ac...", s4, t)
        t = np.moveaxis(t, (0, 1), (q, n + q))
    return t.reshape(2**n, 2**n)


def _np_jvp_maps(rho, sops, dsops):
    """Product rule: sum over qubits of the pass with that qubit's map replaced by its
    tangent (the pass is linear in each map)."""
    out = np.zeros_like(np.asarray(rho))
    for q in range(len(sops)):
        s = np.array(sops)
        s[q] = dsops[q]
        out = out + _np_apply(rho, s)
    return out


def _random(rng, shape):
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_forward_jvp_in_maps_matches_product_rule(n):
    rng = np.random.default_rng(n)
    rho, sops, dsops = _random(rng, (2**n, 2**n)), _random(rng, (n, 4, 4)), _random(rng,
                                                                                    (n, 4, 4))
    out, tan = jax.jvp(lambda s: apply_qubit_superoperators(jnp.asarray(rho), s, n),
                       (jnp.asarray(sops),), (jnp.asarray(dsops),))
    np.testing.assert_allclose(out, _np_apply(rho, sops), atol=1e-12)
    np.testing.assert_allclose(tan, _np_jvp_maps(rho, sops, dsops), atol=1e-11)


@pytest.mark.parametrize(("n", "k"), [(1, 1), (3, 1), (3, 3)])
def test_tangent_loop_matches_product_rule_and_its_gradient_the_jvp(n, k):
    """`apply_qubit_superoperators_jvp` (the field tangent's forward loop, qubit 0 peeled):
    values = numpy's pass and product rule per direction; its VJP in (rho, maps, tangent
    maps) is the transpose of the numpy JVP of that bilinear map."""
    rng = np.random.default_rng(30 + n + k)
    d = 2**n
    rho, sops, dsops = _random(rng, (d, d)), _random(rng, (n, 4, 4)), _random(rng, (k, n, 4, 4))
    out, tans = apply_qubit_superoperators_jvp(jnp.asarray(rho), jnp.asarray(sops),
                                               jnp.asarray(dsops), n)
    np.testing.assert_allclose(out, _np_apply(rho, sops), atol=1e-12)
    for j in range(k):
        np.testing.assert_allclose(tans[j], _np_jvp_maps(rho, sops, dsops[j]), atol=1e-11)
    # gradient: <ct, J(drho, dS, ddS)> against the numpy directional derivative
    drho, dS, ddS = _random(rng, (d, d)), _random(rng, (n, 4, 4)), _random(rng, (k, n, 4, 4))
    ct_out, ct_tans = _random(rng, (d, d)), _random(rng, (k, d, d))
    _, vjp = jax.vjp(lambda r, s, ds: apply_qubit_superoperators_jvp(r, s, ds, n),
                     jnp.asarray(rho), jnp.asarray(sops), jnp.asarray(dsops))
    g_rho, g_s, g_ds = vjp((jnp.asarray(ct_out), jnp.asarray(ct_tans)))
    lhs = (np.sum(np.asarray(g_rho) * drho) + np.sum(np.asarray(g_s) * dS)
           + np.sum(np.asarray(g_ds) * ddS))
    d_out = _np_apply(drho, sops) + _np_jvp_maps(rho, sops, dS)
    rhs = np.sum(ct_out * d_out)
    for j in range(k):
        # tangent j = sum_q pass(S with S_q -> dS_j,q): bilinear in (S, dS_j), linear in rho
        d_tan = (_np_jvp_maps(drho, sops, dsops[j]) + _np_jvp_maps(rho, sops, ddS[j])
                 + sum(_np_apply(rho, [dsops[j][q] if p == q else dS[p] if p == r else sops[p]
                                       for p in range(n)])
                       for q in range(n) for r in range(n) if r != q))
        rhs += np.sum(ct_tans[j] * d_tan)
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(rhs))


@pytest.mark.parametrize("n", [2, 3])
def test_vjp_in_maps_and_state_is_the_transpose_batched(n):
    """<ct, J(drho, dS)> = <J^T ct, (drho, dS)> (bilinear pairing, no conjugation: JAX's
    transpose), with J the numpy product rule, over a batch of rows that each carry their own
    maps (the GA's per-row times)."""
    rng = np.random.default_rng(10 + n)
    b, d = 5, 2**n
    rho, sops = _random(rng, (b, d, d)), _random(rng, (b, n, 4, 4))
    drho, dsops, ct = _random(rng, (b, d, d)), _random(rng, (b, n, 4, 4)), _random(rng,
                                                                                  (b, d, d))
    f = jax.vmap(lambda r, s: apply_qubit_superoperators(r, s, n))
    _, vjp = jax.vjp(f, jnp.asarray(rho), jnp.asarray(sops))
    ct_rho, ct_sops = vjp(jnp.asarray(ct))
    lhs = np.sum(np.asarray(ct_rho) * drho) + np.sum(np.asarray(ct_sops) * dsops)
    jdir = np.stack([_np_apply(drho[i], sops[i]) + _np_jvp_maps(rho[i], sops[i], dsops[i])
                     for i in range(b)])
    rhs = np.sum(ct * jdir)
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(rhs))


def test_second_derivative_in_time_matches_finite_differences():
    """d^2/dt^2 Re tr(W S_t(rho)) with S_t = exp(t L)^{(x) n} (per-qubit L): grad-of-grad
    through the pass against central differences of scipy's expm in numpy."""
    n = 3
    rng = np.random.default_rng(7)
    rho = _random(rng, (2**n, 2**n))
    w = _random(rng, (2**n, 2**n))
    gens = 0.4 * _random(rng, (n, 4, 4))

    def f(t):
        sops = jax.vmap(lambda g: jax.scipy.linalg.expm(t * g))(jnp.asarray(gens))
        return jnp.real(jnp.sum(jnp.asarray(w) * apply_qubit_superoperators(jnp.asarray(rho),
                                                                            sops, n)))

    def f_np(t):
        sops = np.stack([sla.expm(t * g) for g in gens])
        return float(np.real(np.sum(w * _np_apply(rho, sops))))

    t0, h = 0.8, 1e-3
    fd1 = (f_np(t0 + h) - f_np(t0 - h)) / (2 * h)
    fd2 = (f_np(t0 + h) - 2 * f_np(t0) + f_np(t0 - h)) / h**2
    np.testing.assert_allclose(jax.grad(f)(t0), fd1, rtol=1e-6)
    np.testing.assert_allclose(jax.grad(jax.grad(f))(t0), fd2, rtol=1e-5)
    np.testing.assert_allclose(jax.jacfwd(jax.grad(f))(t0), fd2, rtol=1e-5)
