"""Quantum Fisher information (matrix) and the quantum Cramer-Rao bound.

With ``rho = sum_i lam_i |i><i|`` and ``D^a = <i| d_a rho |j>``:
``F_ab = 2 sum_{lam_i + lam_j > eps} Re(conj(D^a_ij) D^b_ij) / (lam_i + lam_j)``
(``eps``: 1e-10 for complex128, 1e-5 for complex64). The derivatives ``d_a rho`` come from
forward-mode autodiff (``jax.jvp``) of the user's map ``b -> rho(b)``.

Differentiating ``eigh`` is NaN or silently wrong at degenerate spectra (every pure or
rank-deficient state), so the QFIM has its own derivative rule, written with the symmetric
logarithmic derivatives ``L_a`` (``rho L_a + L_a rho = 2 d_a rho`` on the support, ``L_a =
0`` on the kernel) and free of eigenvalue gaps: ``dF_ab = Re Tr(L_b d(d_a rho)) + Re Tr(L_a
d(d_b rho)) - Re Tr((L_a L_b + L_b L_a)/2 d rho)``. Second derivatives (``jax.hessian``,
forward over reverse) differentiate that rule; they need the derivative of the SLDs, which
has its own gap-free rule too (`_sld_tangent`): the differentiated Lyapunov equation ``rho
L' + L' rho = 2 d(d rho) - rho' L - L rho'`` on every pair of eigenvectors with ``lam_i +
lam_j > eps`` (the kernel block of ``L'`` never enters a second derivative of the QFIM).
Both rules are exact wherever the rank of rho is locally constant: pure-state families
(angles, t, B in noiseless sensing) and every full-rank state (any gamma > 0); tests check
first and second derivatives against finite differences on rank-deficient states. Third and
higher derivatives are not supported at rank-deficient states. One boundary case: at gamma =
0 exactly, the rank of rho jumps as gamma grows, the QFI is only one-sided differentiable in
gamma and its right derivative picks up a kernel-block term that is not linear in the
tangent (so no JAX derivative rule can carry it); there d/dgamma is the derivative of the
fixed-rank branch (exact for GHZ probes under dephasing/amplitude damping, where that term
vanishes). Use any gamma > 0 (even 1e-6) for the one-sided derivative.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from qsense._checks import as_array_if_traced, check_finite, fail, is_concrete
from qsense.states import _density, validate_state


def default_eps(dtype) -> float:
    return 1e-5 if jnp.dtype(dtype) in (jnp.complex64, jnp.float32) else 1e-10


def _eps(eps, dtype) -> float:
    """The eigenvalue cutoff: None -> `default_eps`; else a real number in [0, 1) (pairs with
    ``lam_i + lam_j <= eps`` are dropped; off the diagonal ``lam_i + lam_j <= 1``, so
    ``eps >= 1`` would drop every pair; a negative one keeps the kernel and divides by 0)."""
    if eps is None:
        return default_eps(dtype)
    accepted = "a finite eigenvalue cutoff in [0, 1) (None: 1e-10, 1e-5 in single precision)"
    if isinstance(eps, jax.core.Tracer):
        fail("eps", "a traced value", "a concrete number (the cutoff is static: pass it "
             "outside jax.jit, e.g. with functools.partial or static_argnames)")
    try:
        a = np.asarray(eps)
    except (TypeError, ValueError):
        fail("eps", eps, accepted)
    if a.ndim != 0 or a.dtype.kind not in "iuf" or not (np.isfinite(a) and 0 <= a < 1):
        fail("eps", eps, accepted)
    return float(a)


def _eigenbasis(rho, drhos, eps):
    """Eigenvectors, ``D^a = V^H d_a rho V`` and the real weights ``2/(lam_i + lam_j)`` on
    the support (0 elsewhere)."""
    lam, v = jnp.linalg.eigh(rho)
    d = jnp.einsum("ij,ajk,kl->ail", jnp.conj(v).T, drhos, v)
    return v, d, _weights(lam, eps)


def _weights(lam, eps):
    s = lam[:, None] + lam[None, :]
    mask = s > eps
    return jnp.where(mask, 2 / jnp.where(mask, s, 1), 0)


def _qfim_from(d, w):
    f = jnp.einsum("aij,bij,ij->ab", jnp.conj(d), d, w).real
    return 0.5 * (f + f.T)


def _to_basis_and_square(v, x):
    """``(V x V^H, (V x)(V x)^H)`` for a Hermitian ``x`` given in the eigenbasis ``V``: an SLD
    and its square in the original basis, from two products (``V x``, then ``V x`` times
    ``[V^H | (V x)^H]``)."""
    vx = v @ x
    n = vx.shape[0]
    prods = vx @ jnp.concatenate([jnp.conj(v).T, jnp.conj(vx).T], axis=1)
    return prods[:, :n], prods[:, n:]


def _sld_tangent(v, w, lt, rho_t, drho_t):
    """Derivative ``L'`` (original basis) of the SLD ``L = V lt V^H`` (``lt = w o D``, the SLD
    in the eigenbasis) along ``(rho', (d rho)')``, for a family whose rank is locally
    constant; no eigenvalue gap appears. On every pair with ``lam_i + lam_j > eps`` it solves
    the differentiated Lyapunov equation ``(lam_i + lam_j) L'_ij = X_ij``,
    ``X = V^H (2 (d rho)' - rho' L - L rho') V``. On the kernel block (``w = 0``) that equation
    reads ``0 = X_ij`` and ``L'`` is set to 0 there. The true derivative of ``L`` has a kernel
    block (``Q (rho' rho^+ L + L rho^+ rho') Q``, from keeping ``Q L Q = 0``), but a second
    derivative of the QFIM only sees ``L'`` through ``Re Tr(L' X)``, so that block never
    enters it. Used only by second derivatives."""
    vh = jnp.conj(v).T
    rl = (vh @ rho_t @ v) @ lt
    x = 2 * (vh @ drho_t @ v) - (rl + jnp.conj(rl).T)
    return v @ (0.5 * w * x) @ vh


def _square_tangent(sld, sld_t):
    """``(L^2)' = L' L + L L'`` for Hermitian ``L`` and ``L'``."""
    p = sld_t @ sld
    return p + jnp.conj(p).T


def _one_parameter_rule(sld, sld2, rho_t, ddrho_t):
    """``F' = 2 Re Tr(L (d rho)') - Re Tr(L^2 rho')``: the tangents enter elementwise."""
    return 2 * jnp.sum((sld * ddrho_t.T).real) - jnp.sum((sld2 * rho_t.T).real)


def _one_parameter_primal(rho, drho, eps):
    v, d, w = _eigenbasis(rho, drho[None], eps)
    lt = d[0] * w
    sld, sld2 = _to_basis_and_square(v, lt)
    return (_qfim_from(d, w)[0, 0], sld, sld2), (v, w, lt)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _one_parameter_parts(rho, drho, eps):
    """``(F, L, L^2)`` of one parameter; its JVP is gap-free in all three (second
    derivatives of the QFI at rank-deficient states go through it)."""
    return _one_parameter_primal(rho, drho, eps)[0]


@_one_parameter_parts.defjvp
def _one_parameter_parts_jvp(eps, primals, tangents):
    (rho, drho), (rho_t, drho_t) = primals, tangents
    (f, sld, sld2), (v, w, lt) = _one_parameter_primal(rho, drho, eps)
    sld_t = _sld_tangent(v, w, lt, rho_t, drho_t)
    return ((f, sld, sld2),
            (_one_parameter_rule(sld, sld2, rho_t, drho_t), sld_t, _square_tangent(sld, sld_t)))


def _many_parameter_rule(slds, rho_t, ddrhos_t):
    """``dF_ab = Re Tr(L_b (d_a rho)') + Re Tr(L_a (d_b rho)') - Re Tr((L_a L_b + L_b L_a)/2
    rho')`` with the SLDs in the original basis (k tangent products)."""
    g = jnp.einsum("bij,aji->ab", slds, ddrhos_t).real  # Re Tr(L_b d(d_a rho))
    q = jnp.einsum("bij,jk->bik", slds, rho_t)  # L_b d rho
    m = jnp.einsum("aij,bji->ab", slds, q).real  # Re Tr(L_a L_b d rho)
    return g + g.T - 0.5 * (m + m.T)


def _many_parameter_primal(rho, drhos, eps):
    v, d, w = _eigenbasis(rho, drhos, eps)
    lts = d * w
    slds = jnp.einsum("ij,ajk,lk->ail", v, lts, jnp.conj(v))
    return (_qfim_from(d, w), slds), (v, w, lts)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _many_parameter_parts(rho, drhos, eps):
    """``(F, L)``: the QFIM and the SLDs ``L_a = V (w o D^a) V^H``; gap-free JVP."""
    return _many_parameter_primal(rho, drhos, eps)[0]


@_many_parameter_parts.defjvp
def _many_parameter_parts_jvp(eps, primals, tangents):
    (rho, drhos), (rho_t, drhos_t) = primals, tangents
    (f, slds), (v, w, lts) = _many_parameter_primal(rho, drhos, eps)
    slds_t = jax.vmap(lambda lt, ddt: _sld_tangent(v, w, lt, rho_t, ddt))(lts, drhos_t)
    return (f, slds), (_many_parameter_rule(slds, rho_t, drhos_t), slds_t)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _qfim_core(rho, drhos, eps):
    _, d, w = _eigenbasis(rho, drhos, eps)
    return _qfim_from(d, w)


@_qfim_core.defjvp
def _qfim_core_jvp(eps, primals, tangents):
    rho, drhos = primals
    drho_t, ddrhos_t = tangents
    if drhos.shape[0] == 1:
        # one parameter: ``L`` and ``L^2 = (V lt)(V lt)^H`` from ``(V lt) [V^H | (V lt)^H]``
        # depend on the primal only and the tangents enter elementwise (five complex
        # products in all)
        f, sld, sld2 = _one_parameter_parts(rho, drhos[0], eps)
        return f.reshape(1, 1), _one_parameter_rule(sld, sld2, drho_t, ddrhos_t[0]).reshape(1, 1)
    f, slds = _many_parameter_parts(rho, drhos, eps)
    return f, _many_parameter_rule(slds, drho_t, ddrhos_t)


def _commutator_eigenbasis(rho, h, eps):
    """Eigen-decomposition of ``rho`` and, in its eigenbasis, ``G = V^H diag(h) V`` (real and
    imaginary parts), the weights ``w = 2/(lam_i + lam_j)`` on the support and the gaps
    ``dl = lam_i - lam_j``. With ``V = A + iB`` and a real ``h``: ``Re G = A^T H A + B^T H B``
    and ``Im G = P - P^T``, ``P = A^T H B``: three real products instead of one complex one
    (four real ones), measured 18 % faster at N = 8 (benchmarks/RESULTS.md)."""
    lam, v = jnp.linalg.eigh(rho)
    a, b = v.real, v.imag
    hr = h.real.astype(a.dtype)[:, None]
    g_re = a.T @ (hr * a) + b.T @ (hr * b)
    p = a.T @ (hr * b)
    return v, g_re, p - p.T, _weights(lam, eps), lam[:, None] - lam[None, :]


def _commutator_qfi(g_re, g_im, w, dl):
    # |<i| -i[H, rho] |j>|^2 = |G_ij|^2 (lam_i - lam_j)^2
    return jnp.sum((g_re**2 + g_im**2) * (dl**2 * w))


def _commutator_rule(rho, h, m, sld2, rho_t, h_t):
    """``F' = Re Tr(W rho') + sum_k h'_k z_k`` (see `_qfi_commutator_core_jvp`)."""
    hr = h.real.astype(sld2.real.dtype)
    wmat = 2 * m * (hr[None, :] - hr[:, None]) - sld2
    z = 4 * jnp.sum((rho * m.T).real, axis=1)
    return jnp.sum((wmat * rho_t.T).real) + jnp.sum(h_t.real * z)


def _commutator_primal(rho, h, eps):
    v, g_re, g_im, w, dl = _commutator_eigenbasis(rho, h, eps)
    k = jax.lax.complex(g_re, g_im) * (dl * w).astype(g_re.dtype)
    m, sld2 = _to_basis_and_square(v, k)
    return (_commutator_qfi(g_re, g_im, w, dl), m, sld2), (v, w, k)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _commutator_parts(rho, h, eps):
    """``(F, M, L^2)`` for ``d rho = -i [diag(h), rho]`` (SLD ``L = i M``); gap-free JVP."""
    return _commutator_primal(rho, h, eps)[0]


@_commutator_parts.defjvp
def _commutator_parts_jvp(eps, primals, tangents):
    (rho, h), (rho_t, h_t) = primals, tangents
    return _commutator_parts_tangent(rho, h, *_commutator_primal(rho, h, eps), rho_t, h_t)


def _commutator_parts_tangent(rho, h, parts, basis, rho_t, h_t):
    """The gap-free JVP of ``(F, M, L^2)`` from the primal ``parts`` and ``basis = (V, w, K)``
    (any orthonormal eigenbasis ``V`` of ``rho``)."""
    f, m, sld2 = parts
    v, w, k = basis
    hc, hc_t = h.astype(rho.dtype), h_t.astype(rho.dtype)
    # (d rho)' = -i ([H', rho] + [H, rho'])
    drho_t = -1j * ((hc_t[:, None] - hc_t[None, :]) * rho + (hc[:, None] - hc[None, :]) * rho_t)
    sld_t = _sld_tangent(v, w, 1j * k, rho_t, drho_t)
    return ((f, m, sld2),
            (_commutator_rule(rho, h, m, sld2, rho_t, h_t), -1j * sld_t,
             _square_tangent(1j * m, sld_t)))


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _qfi_commutator_core(rho, h, eps):
    _, g_re, g_im, w, dl = _commutator_eigenbasis(rho, h, eps)
    return _commutator_qfi(g_re, g_im, w, dl)


@_qfi_commutator_core.defjvp
def _qfi_commutator_core_jvp(eps, primals, tangents):
    """The SLD rule of `_qfim_core_jvp` for ``d rho = -i [H, rho]``, arranged so every matrix
    product depends on the primal only and the tangents enter elementwise (so do their
    transposes in a gradient).

    The SLD is ``L = i M`` with ``M = V K V^H``, ``K = G o dl o w`` (``iK`` is the SLD in
    the eigenbasis). With ``V [iK, G] V^H = [L, H]`` (``H = diag(h)``, so elementwise) and
    ``V [Lambda, iK] V^H = [rho, L]``, the rule
    ``F' = 2 Re Tr(L d(-i[H, rho])) - Re Tr(L^2 rho')`` becomes
    ``F' = Re Tr(W rho') + sum_k h'_k z_k`` with ``W_ij = 2 M_ij (h_j - h_i) - (L^2)_ij``,
    ``L^2 = (V K)(V K)^H`` and ``z_k = 4 Re sum_j rho_kj M_jk``. Products: ``V K`` and
    ``(V K) [V^H | (V K)^H]`` (three complex ones) besides G's three real ones, against
    seven complex ones through `_qfim_core_jvp` (``V^H drho V``, ``V^H drho' V``,
    ``V^H rho' V``, ``L rho'``)."""
    rho, h = primals
    rho_t, h_t = tangents
    f, m, sld2 = _commutator_parts(rho, h, eps)
    return f, _commutator_rule(rho, h, m, sld2, rho_t, h_t)


# --------------------------------------------------------------------------- real form
# A diagonal unitary Phi commutes with H = diag(h), so rho and Phi^H rho Phi have the same
# QFI, SLD spectrum and rules (transported by Phi). When rho = Phi R Phi^H with R *real*
# symmetric, the eigendecomposition is a real one: `eigh` of a real symmetric matrix (LAPACK
# dsyevd, 2.2x faster than zheevd at d = 256 and 3x at d = 32 here) and real products (a
# quarter of the flops of complex ones). That is the case of every pure state sensed in a
# scalar field under dephasing or no noise: rho_ab = psi_a psi_b^* e^{-i B (h_a - h_b)}
# K_ab with K_ab = exp(-gamma t)^(Hamming distance of a, b) >= 0, so R = |rho| (entrywise)
# and Phi_a = (psi_a / |psi_a|) e^{-i B h_a} (1 where psi_a = 0: rho's row a is 0 there,
# and any phase works).


def _real_form_primal(r, h, eps):
    lam, vr = jnp.linalg.eigh(r)
    g = vr.T @ (h.real.astype(vr.dtype)[:, None] * vr)  # V^H diag(h) V: real
    w, dl = _weights(lam, eps), lam[:, None] - lam[None, :]
    f = jnp.sum(g**2 * (dl**2 * w))
    return f, (lam, vr, g, w, dl)


def _real_form_parts_primal(phase, r, h, eps, dtype):
    f, (_, vr, g, w, dl) = _real_form_primal(r, h, eps)
    k = g * (dl * w)  # real antisymmetric: i K is the SLD in the eigenbasis
    m_r, sld2_r = _to_basis_and_square(vr, k)  # three real products
    ph = (phase[:, None] * jnp.conj(phase)[None, :]).astype(dtype)
    v = phase.astype(dtype)[:, None] * vr  # an orthonormal eigenbasis of rho
    return (f, m_r * ph, sld2_r * ph), (v, w, k.astype(dtype))


@functools.partial(jax.custom_jvp, nondiff_argnums=(4,))
def _real_form_parts(rho, h, phase, r, eps):
    """`_commutator_parts` of ``rho = diag(phase) r diag(phase)^H`` from the real ``r``; the
    hints ``phase``, ``r`` are functions of ``rho`` and carry no tangent of their own."""
    return _real_form_parts_primal(phase, r, h, eps, rho.dtype)[0]


@_real_form_parts.defjvp
def _real_form_parts_jvp(eps, primals, tangents):
    (rho, h, phase, r), (rho_t, h_t, _, _) = primals, tangents
    return _commutator_parts_tangent(
        rho, h, *_real_form_parts_primal(phase, r, h, eps, rho.dtype), rho_t, h_t)


@functools.partial(jax.custom_jvp, nondiff_argnums=(4,))
def _qfi_real_form_core(rho, h, phase, r, eps):
    return _real_form_primal(r, h, eps)[0]


@_qfi_real_form_core.defjvp
def _qfi_real_form_core_jvp(eps, primals, tangents):
    """`_qfi_commutator_core_jvp`'s rule, with ``M`` and ``L^2`` from the real form."""
    (rho, h, phase, r), (rho_t, h_t, _, _) = primals, tangents
    f, m, sld2 = _real_form_parts(rho, h, phase, r, eps)
    return f, _commutator_rule(rho, h, m, sld2, rho_t, h_t)


def qfi_commutator(rho, h_diag, eps: float | None = None, *, real_form=None) -> jax.Array:
    """QFI of ``rho`` for ``d rho = -i [H, rho]`` with a diagonal generator ``H = diag(h_diag)``
    (a unitary encoding in the computational basis, e.g. ``h = (t/2) Jz`` for the scalar
    field under Z-covariant noise). Same value as ``qfim_from_derivatives(rho, drho)``, with
    one matrix product instead of two; same derivative rule.

    real_form: optional ``(phase, r)`` with ``rho = diag(phase) r diag(phase)^H``, ``phase``
    (d,) of unit modulus and ``r`` (d, d) real symmetric (a pure state sensed under dephasing
    or no noise: `qsense.sense` and `qsense.score` pass it). The QFI and its derivatives in
    ``rho`` and ``h`` are then computed from a real eigendecomposition: same values, about
    2-3x less work. The hints are treated as constants (their tangents are ignored: they are
    functions of ``rho``). Concrete inputs are checked to be consistent with ``rho`` (within
    100 ulp of its largest entry)."""
    return _qfi_commutator(rho, h_diag, eps, real_form, check_form=True)


def _qfi_commutator(rho, h_diag, eps, real_form, check_form: bool) -> jax.Array:
    """`qfi_commutator`; ``check_form=False`` for a real form that `qsense.sense` derived
    itself (`qfi`'s records): its phases ``exp(-i B h_a)`` and the sensed state's carry
    independent rounding of about ``eps * |B h|`` (3e-14 at ``B t = 1000``, 1e-8 at 1e8), which
    the 100-ulp consistency check for a caller's hint would refuse. The QFI does not depend
    on the phases (only on ``r = |rho|``), its derivatives by that rounding, as the complex
    path's do."""
    rho, h_diag = jnp.asarray(rho), jnp.asarray(h_diag)
    if rho.ndim != 2 or h_diag.shape != rho.shape[:1]:
        fail("h_diag.shape", (rho.shape, h_diag.shape), "rho (d, d) with h_diag (d,)")
    eps = _eps(eps, rho.dtype)
    if real_form is None:
        return _qfi_commutator_core(rho, h_diag.astype(rho.dtype), eps)
    phase, r = (jax.lax.stop_gradient(jnp.asarray(x)) for x in real_form)
    if phase.shape != rho.shape[:1] or r.shape != rho.shape or jnp.iscomplexobj(r):
        fail("real_form", (phase.shape, r.shape, r.dtype),
             "(phase (d,), r (d, d) real) with rho = diag(phase) r diag(phase)^H")
    real = jnp.finfo(rho.dtype).dtype
    if check_form and is_concrete(rho) and is_concrete(phase) and is_concrete(r):
        back = np.asarray(phase)[:, None] * np.asarray(r) * np.conj(np.asarray(phase))[None, :]
        err = float(np.max(np.abs(back - np.asarray(rho))))
        if err > 100 * float(jnp.finfo(real).eps) * max(1.0, float(np.max(np.abs(rho)))):
            fail("real_form", f"diag(phase) r diag(phase)^H differs from rho by {err:.2e}",
                 "a real form of rho itself")
    return _qfi_real_form_core(rho, h_diag.astype(rho.dtype), phase.astype(rho.dtype),
                               r.astype(real), eps)


def qfim_from_derivatives(rho, drhos, eps: float | None = None) -> jax.Array:
    """QFIM (k, k) from a density matrix (d, d) and its k derivatives (k, d, d).

    Concrete inputs are checked (a ValueError naming the argument, never a NaN or a scaled
    value): ``rho`` a density matrix of n qubits (d = 2**n, trace 1, Hermitian, positive
    semidefinite, finite: `qsense.states.validate_state`), ``drhos`` finite and Hermitian to
    1e-8 (1e-5 in single precision) of its largest entry. Traced inputs are not checked."""
    for name, x in (("rho", rho), ("drhos", drhos)):
        _check_numbers(name, x)
    rho, drhos = jnp.asarray(rho), jnp.asarray(drhos)
    _check_shapes(rho, drhos)
    eps = _eps(eps, rho.dtype)
    if is_concrete(rho):
        validate_state(rho, "rho")
    if is_concrete(drhos):
        _check_derivatives(drhos)
    return _qfim_core(rho, drhos, eps)


def _check_numbers(name: str, x, accepted: str = "an array of numbers") -> None:
    """A concrete ``x`` that is no array of numbers (a string, None, an object) is named here,
    not by JAX's TypeError on ``jnp.asarray``."""
    if is_concrete(x):
        try:
            kind = np.asarray(x).dtype.kind
        except (TypeError, ValueError):
            kind = "O"
        if kind not in "biufc":
            fail(name, x, accepted)


def _check_shapes(rho, drhos) -> None:
    if rho.ndim != 2 or drhos.ndim != 3 or drhos.shape[1:] != rho.shape:
        fail("drhos.shape", (rho.shape, drhos.shape), "rho (d, d) with drhos (k, d, d)")


def _check_derivatives(drhos) -> None:
    """Derivatives of a density matrix: finite and Hermitian (relative to their scale)."""
    a = np.asarray(drhos)
    if a.dtype.kind not in "iufc":
        fail("drhos.dtype", a.dtype, "a numeric (complex or real) array")
    if not np.all(np.isfinite(a)):
        fail("drhos", "non-finite entries", "finite derivatives of rho")
    tol = 1e-5 if a.dtype in (np.complex64, np.float32) else 1e-8
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    herm = float(np.max(np.abs(a - np.conj(np.swapaxes(a, 1, 2))))) if a.size else 0.0
    if herm > tol * scale:
        fail("drhos Hermiticity |drho - drho^H|_max", herm,
             f"<= {tol:g} x max|drho| = {tol * scale:.3g} (derivatives of a Hermitian rho)")


def _qfim_unchecked(rho, drhos, eps) -> jax.Array:
    """`qfim_from_derivatives` without the value checks, for `qfi` / `qfim` (their family's
    output is checked there, and its derivatives are the family's own)."""
    _check_shapes(rho, drhos)
    return _qfim_core(rho, drhos, _eps(eps, rho.dtype))


_CAPTURE = threading.local()


def record_commutator_tangent(rho, drho, h, real_form=None) -> None:
    """Called by a map's JVP rule whose output tangent ``drho`` is exactly
    ``-i [diag(h), rho]`` for its output ``rho`` (e.g. `qsense.sense` in a scalar field under
    a Z-covariant noise). While `qfi` differentiates its family, it keeps these records; if
    the family's value and tangent are those very arrays, the QFI takes the one-matmul
    commutator form (`qfi_commutator`) instead of transforming ``drho`` into the eigenbasis.
    ``real_form``: optional ``(phase, r)`` of ``rho`` (see `qfi_commutator`)."""
    stack = getattr(_CAPTURE, "stack", None)
    if stack:
        stack[-1].append((rho, drho, h, real_form))


@contextlib.contextmanager
def _capturing():
    stack = _CAPTURE.__dict__.setdefault("stack", [])
    stack.append([])
    try:
        yield stack[-1]
    finally:
        stack.pop()


def _rho_fn(fn: Callable, name: str, point=None) -> Callable:
    """``b -> (rho, fn(b))``: the density matrix of ``fn``'s output, and the output itself (as
    ``jax.jvp``'s aux, concrete when ``b`` is, for `_check_output`). Its shape is checked
    here (static, also under tracing). A ValueError that ``fn`` raises names the caller's
    argument (``b0`` / ``bvec0``, its value ``point``): a user who passed a length-2
    ``bvec0`` to a family of a 3-component field reads ``bvec0``, not fn's ``field.shape``."""
    if not callable(fn):
        fail("fn", fn, "a function b -> state vector or density matrix")
    arg = name[name.index("(") + 1:-1]

    def rho_of(b):
        try:
            x = fn(b)
        except ValueError as e:
            shape = f" (shape {tuple(np.shape(b))})" if np.ndim(b) else ""
            raise ValueError(f"{arg} = {point}{shape} is invalid; accepted: a point fn accepts "
                             f"(fn({arg}) raised: {e})") from e
        if not hasattr(x, "shape"):  # a tuple, a list, ...: jnp would fail on its tracers
            fail(name, type(x).__name__, "an array: a state vector (2**n,) or a density "
                 "matrix (2**n, 2**n)")
        _check_output(x, name)  # a tracer: the shape only
        # a JAX matrix passes through untouched (jnp.asarray would re-wrap a tracer and hide
        # a recorded commutator tangent from `qfi`)
        return (x if isinstance(x, jax.Array) and x.ndim == 2 else _density(x)), x

    return rho_of


def _check_output(x, name: str) -> None:
    """A concrete output of the user's family: a normalized state vector (2**n,) or a
    density matrix (2**n, 2**n) with unit trace, Hermitian within rounding (no eigenvalue
    check: that would cost a second eigendecomposition). A tracer: its shape only."""
    try:
        validate_state(x, name, psd=False)
    except ValueError as e:
        raise ValueError(f"{e} ({name.split('(')[0]} must return a state vector (2**n,) of norm "
                         "1 or a density matrix (2**n, 2**n) of trace 1, Hermitian)") from None


def qfi(fn: Callable, b0, eps: float | None = None) -> jax.Array:
    """QFI of the family ``b -> fn(b)`` at the scalar ``b0``.

    ``fn`` returns a density matrix or a pure state vector; it must be JAX-traceable. Its
    output's shape is checked ((2**n,) or (2**n, 2**n)), and when ``b0`` is concrete its
    value too: a state vector of norm 1, or a density matrix with trace 1, Hermitian within
    rounding (a ValueError naming ``fn(b0)``). ``eps``: the eigenvalue cutoff, in [0, 1)
    (None: 1e-10, 1e-5 in single precision). When ``fn`` ends in `qsense.sense` of a scalar
    field under a Z-covariant noise, the derivative is its exact commutator form and the QFI
    costs one eigendecomposition and one matrix product (`qfi_commutator`); any other family
    goes through ``V^H drho V``.
    """
    b0 = as_array_if_traced(b0, "b0", "a scalar (use qfim for a vector parameter)")
    if np.ndim(b0) != 0:
        fail("b0.shape", np.shape(b0), "a scalar (use qfim for a vector parameter)")
    check_finite("b0", b0)
    if eps is not None:
        _eps(eps, None)  # before any work
    b0 = jnp.asarray(b0, jnp.result_type(float))
    with _capturing() as records:
        rho, drho, out = jax.jvp(_rho_fn(fn, "fn(b0)", _shown(b0)), (b0,),
                                 (jnp.ones_like(b0),), has_aux=True)
    _check_output(out, "fn(b0)")
    for r, d, h, real_form in records:
        if r is rho and d is drho:  # drho = -i [diag(h), rho] exactly: one matmul
            return _qfi_commutator(rho, h, eps, real_form, check_form=False)
    return _qfim_unchecked(rho, drho[None], eps)[0, 0]


def qfim(fn: Callable, bvec0, eps: float | None = None) -> jax.Array:
    """QFIM (k, k) of ``bvec -> fn(bvec)`` at ``bvec0`` (shape (k,)); ``fn``'s output and
    ``eps`` are checked as in `qfi` (the output named ``fn(bvec0)``)."""
    bvec0 = as_array_if_traced(bvec0, "bvec0", "a vector (k,) of parameters")
    if np.ndim(bvec0) != 1:
        fail("bvec0.shape", np.shape(bvec0), "a vector (k,) of parameters")
    if is_concrete(bvec0):
        check_finite("bvec0", np.asarray(bvec0).tolist())
    if eps is not None:
        _eps(eps, None)
    bvec0 = jnp.asarray(bvec0, jnp.result_type(float))
    rho_fn = _rho_fn(fn, "fn(bvec0)", _shown(bvec0))
    rho, _ = rho_fn(bvec0)  # called on bvec0 itself: a concrete output is checked there
    basis = jnp.eye(bvec0.shape[0], dtype=bvec0.dtype)
    drhos = jax.vmap(lambda e: jax.jvp(rho_fn, (bvec0,), (e,), has_aux=True)[1])(basis)
    return _qfim_unchecked(rho, drhos, eps)


def _shown(x):
    """``x`` for an error message: its values when concrete, else its shape."""
    return np.asarray(x).tolist() if is_concrete(x) else f"<traced, shape {np.shape(x)}>"


def _check_qfim(f: np.ndarray) -> None:
    """A QFI matrix is real, finite, symmetric and positive semidefinite (up to rounding)."""
    if np.iscomplexobj(f) or f.dtype.kind not in "iuf":
        fail("F.dtype", f.dtype, "a real QFI matrix")
    if not np.all(np.isfinite(f)):
        fail("F", f.tolist(), "a finite QFI matrix")
    tol = (1e-4 if f.dtype in (np.float32, np.float16) else 1e-8) * max(float(np.max(np.abs(f))),
                                                                        1e-300)
    asym = float(np.max(np.abs(f - f.T)))
    if asym > tol:
        fail("F asymmetry |F - F^T|_max", asym, f"<= {tol:.3g} (a QFI matrix is symmetric)")
    lam_min = float(np.linalg.eigvalsh(0.5 * (f + f.T).astype(float)).min())
    if lam_min < -tol:
        fail("F smallest eigenvalue", lam_min,
             f">= -{tol:.3g} (a QFI matrix is positive semidefinite)")


def default_rcond(dtype) -> float:
    """The relative eigenvalue below which `qcrb` calls F singular: 1e-10 in double precision,
    1e-5 in single, where rounding alone leaves a rank-deficient QFIM's smallest eigenvalue at
    ~1e-8..1e-6 of its largest (|+>, B along z, dephasing: 2e-8), which read as a huge finite
    bound (4e7) instead of ``inf``."""
    return 1e-5 if jnp.dtype(dtype) in (jnp.float32, jnp.complex64) else 1e-10


def qcrb(fm, rcond: float | None = None) -> jax.Array:
    """Multi-parameter quantum Cramer-Rao bound ``Tr(F^-1)`` (one repetition).

    A singular F (smallest eigenvalue <= ``rcond`` x largest, or F ~ 0) gives ``inf``, with a
    warning when called outside jit; never NaN for a finite F. ``rcond``: None ->
    `default_rcond` of F's dtype (1e-10; 1e-5 in float32), else a number in [0, 1).
    Gradients are finite in both branches. A concrete F must be a QFI matrix: finite,
    symmetric and positive semidefinite up to rounding (relative tolerance 1e-8, 1e-4 in
    float32), else a ValueError naming ``F`` (traced values are not checked).
    """
    _check_numbers("F", fm, "a real (k, k) QFI matrix or a scalar QFI")
    fm = jnp.asarray(fm)
    if fm.ndim == 0:
        fm = fm[None, None]
    if fm.ndim != 2 or fm.shape[0] != fm.shape[1] or fm.shape[0] < 1:
        fail("F.shape", fm.shape, "a square (k, k) QFI matrix with k >= 1, or a scalar QFI")
    if is_concrete(fm):
        _check_qfim(np.asarray(fm))
    if rcond is None:
        rcond = default_rcond(fm.dtype)
    elif isinstance(rcond, bool) or not (isinstance(rcond, (int, float, np.floating))
                                         and 0 <= rcond < 1):
        fail("rcond", rcond, "a relative eigenvalue cutoff in [0, 1) (None: 1e-10, 1e-5 in "
             "float32)")
    fs = 0.5 * (fm + fm.T)
    lam = jnp.linalg.eigvalsh(fs)
    scale = jnp.max(jnp.abs(lam))
    singular = (lam[0] <= rcond * scale) | (scale <= jnp.finfo(fs.dtype).tiny)
    safe = jnp.where(singular, jnp.eye(fs.shape[0], dtype=fs.dtype), fs)
    bound = jnp.where(singular, jnp.inf, jnp.trace(jnp.linalg.inv(safe)))
    if is_concrete(fm) and bool(np.asarray(singular)):
        warnings.warn("QFI matrix is singular: some parameter combination carries no "
                      "information; QCRB = inf", RuntimeWarning, stacklevel=2)
    return bound
