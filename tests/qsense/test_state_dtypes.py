"""`score_state`, `sensed_state` and `qfim_of_state` compute in the problem's precision,
whatever the state's dtype.

A complex64 density matrix scored in a complex128 problem under a scalar field and dephasing or
amplitude damping (the commutator path) ended in a JAX TypeError ("scan body function carry
input and carry output must have equal types"); on the other paths it gave a value computed
partly in each precision. `score_pure` and `score` already computed in ``Problem.dtype``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense
from qsense.objective import qfim_of_state, sensed_state

N = 3
CASES = [("scalar", 1.0, None), ("scalar", 1.0, 0.05), ("vector", (0.3, 0.2, 1.0), None)]


def _ghz_rho(dtype):
    """GHZ's density matrix, four entries 0.5: exact in every precision."""
    rho = np.zeros((2**N, 2**N))
    rho[np.ix_([0, -1], [0, -1])] = 0.5
    return jnp.asarray(rho, dtype)


@pytest.mark.parametrize("noise", ["dephasing", "amplitude_damping", "bitflip"])
@pytest.mark.parametrize("problem_dtype", [jnp.complex128, jnp.complex64])
def test_the_state_is_scored_in_the_problems_dtype(noise, problem_dtype):
    """A state in the other precision (complex or real) gives the value of that state cast to
    the problem's dtype (to the few ulps by which eager and jitted compilations differ), in the
    problem's real dtype, eager and jitted."""
    other = jnp.complex64 if problem_dtype == jnp.complex128 else jnp.complex128
    real = jnp.finfo(problem_dtype).dtype
    for field, b0, decay in CASES:
        kw = {} if decay is None else {"post_decay": np.full(N, decay)}
        p = qsense.Problem(N, noise, 0.1, field, b0, dtype=problem_dtype, **kw)
        want = qsense.score_state(p, _ghz_rho(problem_dtype), 1.5)
        assert want.dtype == real
        for rho in (_ghz_rho(other), _ghz_rho(other).real):
            for f in (qsense.score_state, jax.jit(qsense.score_state)):
                got = f(p, rho, 1.5)
                assert got.dtype == real
                np.testing.assert_allclose(got, want, rtol=8 * float(jnp.finfo(real).eps))
            assert sensed_state(p, rho, 1.5).dtype == problem_dtype
            fm = qfim_of_state(p, rho, 1.5)
            assert fm.dtype == real
            np.testing.assert_allclose(fm, qfim_of_state(p, _ghz_rho(problem_dtype), 1.5),
                                       rtol=8 * float(jnp.finfo(real).eps))


def test_a_complex64_ghz_in_a_complex128_problem_is_the_closed_form():
    """GHZ's entries (0.5) are exact in complex64, so its upcast is GHZ itself: under dephasing
    the QFI is N^2 t^2 exp(-2 N gamma t) to float64 rounding."""
    t, gamma = 1.5, 0.1
    p = qsense.Problem(N, "dephasing", gamma)
    exact = N**2 * t**2 * np.exp(-2 * N * gamma * t)
    assert float(qsense.score_state(p, _ghz_rho(jnp.complex64), t)) == pytest.approx(
        exact, rel=1e-13)
