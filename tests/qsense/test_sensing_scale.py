"""The sensing scale ``t (|Bx| + |By| + |Bz| + 2 gamma)`` beyond which a one-qubit sensing map
is rounding, then garbage, then NaN (`qsense.noise.check_sensing_scale`).

`expm_small` scales ``t L`` down by 2^s and squares s times; each squaring compounds a
relative rounding, so the map is good to a few ``eps S``. The reference is GHZ's closed form
without noise, ``F = N^2 t^2`` for every B (the field only turns phases), written out here.
Before the check, ``score`` at B = 1e15 returned 27.1 for N = 3 (exact: 9), at 1e17
1.7e30, and `sense` at gamma = 1e300 a NaN matrix: plausible numbers or a NaN, no error.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense
from qsense.noise import SENSING_ROUNDING, max_sensing_scale
from qsense.objective import population_score

N = 3
MESSAGE = r"t \* \(\|Bx\| \+ \|By\| \+ \|Bz\| \+ 2 gamma\) = .* is invalid; accepted: below"


def test_the_limits_are_the_rounding_budget_over_eps():
    assert max_sensing_scale(jnp.complex128) == pytest.approx(SENSING_ROUNDING / 2.0**-52)
    assert max_sensing_scale(jnp.complex64) == pytest.approx(SENSING_ROUNDING / 2.0**-23)


@pytest.mark.parametrize("dtype", [jnp.complex128, jnp.complex64])
def test_below_the_limit_the_qfi_is_the_closed_form(dtype):
    """At a tenth of the limit the map's rounding is ~eps S / 10: GHZ's QFI within 1e-3."""
    b = 0.1 * max_sensing_scale(dtype)
    g = qsense.empty_genome(2)
    p = qsense.Problem(N, "dephasing", gamma=0.0, field="scalar", b0=b, dtype=dtype)
    assert float(qsense.score(p, g, 1.0)) == pytest.approx(N**2, rel=1e-3)
    assert float(jax.jit(qsense.score)(p, g, 1.0)) == pytest.approx(N**2, rel=1e-3)


def _entry_points(b, gamma, t, dtype=jnp.complex128):
    g = qsense.empty_genome(2)
    psi = qsense.ghz_state(N).astype(dtype)
    p = qsense.Problem(N, "bitflip", gamma=gamma, field="scalar", b0=b, dtype=dtype)
    pv = qsense.Problem(N, "amplitude_damping", gamma=gamma, field="vector", b0=(b, 0.0, 0.0),
                        dtype=dtype)
    return {
        "sense": lambda: qsense.sense(psi, b, t, "dephasing", gamma),
        "sense vector": lambda: qsense.sense(psi, (0.0, b, 0.0), t, "bitflip", gamma),
        "qfi of sense": lambda: qsense.qfi(lambda x: qsense.sense(psi, x, t, "bitflip",
                                                                 gamma), b),
        "superoperator_1q": lambda: qsense.superoperator_1q(jnp.array([0.0, 0.0, b]), t,
                                                            "amplitude_damping", gamma),
        "score": lambda: qsense.score(p, g, t),
        "score vector": lambda: qsense.score(pv, g, t),
        "score_state": lambda: qsense.score_state(p, jnp.outer(psi, psi.conj()), t),
        "population_score": lambda: population_score(
            p, jax.tree.map(lambda x: x[None], g), t),
        "make_fitness": lambda: qsense.make_fitness(N, "bitflip", dtype=dtype)(
            jax.tree.map(lambda x: x[None], g), t, gamma, b),
        "probe_qfim": lambda: qsense.probe_qfim(g, t, gamma, (0.0, 0.0, b), n_qubits=N,
                                                noise="dephasing", dtype=dtype),
    }


# `qfi` differentiates `sense` in the field, which `sense` then sees traced (counted as 0):
# only a large gamma or t is refused there
CASES = [(what, *case) for what in _entry_points(1.0, 0.1, 1.0)
         for case in [(1e13, 0.1, 1.0), (1.0, 1e300, 1.0), (1.0, 0.1, 1e20)]
         if not (what == "qfi of sense" and case[0] != 1.0)]


@pytest.mark.parametrize("what,b,gamma,t", CASES)
def test_every_entry_point_refuses_past_the_limit_by_name(what, b, gamma, t):
    with pytest.raises(ValueError, match=MESSAGE):
        _entry_points(b, gamma, t)[what]()


def test_the_message_names_the_dtype_and_its_limit():
    g = qsense.empty_genome(2)
    p = qsense.Problem(N, "dephasing", gamma=0.0, field="scalar", b0=1e4, dtype=jnp.complex64)
    with pytest.raises(ValueError, match=r"= 10000.0 is invalid; accepted: below 8389 in "
                                         r"complex64 \(t = 1, field = \[10000.0\]"):
        qsense.score(p, g, 1.0)
    with pytest.raises(ValueError, match=r"below 4.504e\+12 in complex128"):
        qsense.sense(qsense.ghz_state(N), (0.0, 5e12, 0.0), 1.0, "bitflip", 0.0)
    # noise "none" ignores gamma: only the field counts
    assert np.isfinite(np.asarray(qsense.sense(qsense.ghz_state(N), 1.0, 1.0, "none",
                                               1e300))).all()


@pytest.mark.parametrize("b", [1e15, 1e17])
def test_a_traced_scale_past_the_limit_is_nan_not_a_plausible_qfi(b):
    """Under jit nothing can raise: past the limit the value is NaN (it was 27.1 and 1.7e30,
    exact 9), and so is its gradient; below it the jitted value equals the eager one."""
    g = qsense.empty_genome(2)
    p = qsense.Problem(N, "dephasing", gamma=0.0, field="scalar", b0=b)
    assert np.isnan(float(jax.jit(qsense.score)(p, g, 1.0)))
    assert np.isnan(float(jax.grad(lambda t: jax.jit(qsense.score)(p, g, t))(1.0)))
    fit = qsense.make_fitness(N, "dephasing")
    pop = jax.tree.map(lambda x: x[None], g)
    assert np.isnan(np.asarray(jax.jit(fit)(pop, 1.0, 0.0, b))).all()
    ok = qsense.Problem(N, "dephasing", gamma=0.0, field="scalar", b0=1e3)
    assert float(jax.jit(qsense.score)(ok, g, 1.0)) == float(qsense.score(ok, g, 1.0))


def test_a_search_refuses_a_time_grid_past_the_limit_of_its_score_dtype():
    """A grid time past the limit scored NaN in every generation, and the search quietly kept
    to the shorter times (b0 = 1e13: the GHZ value at t = 0.22, where dephasing's optimum
    is t = 1/(N gamma) = 3.3). Refused up front, naming the grid and the score dtype; float32
    scoring (complex64) has the smaller limit."""
    from qsense.genetic import GAConfig, search_t_grid
    big = qsense.Problem(N, "dephasing", gamma=0.1, b0=1e13)
    with pytest.raises(ValueError, match=r"^t_grid \(largest time 50, score_dtype = "
                                         r"'float64'\): " + MESSAGE):
        search_t_grid(big, GAConfig())
    mid = qsense.Problem(N, "dephasing", gamma=0.1, b0=3000.0)
    assert search_t_grid(mid, GAConfig()).max() == 50.0  # S = 1.5e5 < 4.5e12
    with pytest.raises(ValueError, match=r"score_dtype = 'float32'\): .* below 8389 in "
                                         r"complex64 .*or score_dtype='float64'"):
        search_t_grid(mid, GAConfig(score_dtype="float32"))
    short = GAConfig(score_dtype="float32", t_grid=(0.5, 2.0))  # S = 6000.4 < 8389
    np.testing.assert_array_equal(search_t_grid(mid, short), [0.5, 2.0])


def test_the_time_drivers_refuse_a_range_that_reaches_past_the_limit():
    """scan_t, refine_t and optimize_angles score jitted times: past the limit those scores
    were NaN and the drivers quietly kept to the shorter times. Refused by the argument that
    reaches there; the same problem with a range that stays below runs."""
    from qsense import optimize as O

    g = qsense.empty_genome(3)
    p = qsense.Problem(N, "dephasing", gamma=0.1, b0=1e10)  # limit at t ~ 450
    with pytest.raises(ValueError, match=r"^ts = '\[0.1 \.\.\. 1000\]' reaches t = 1000: "
                                         + MESSAGE):
        O.scan_t(p, g, np.array([0.1, 1000.0]))
    with pytest.raises(ValueError, match=r"^t_bounds = \(0.001, 1000.0\) reaches t = 1000: "):
        O.optimize_angles(p, g, steps=2)
    with pytest.raises(ValueError, match=r"^span = \(0.1, 1000.0\) reaches t = 1000: "):
        O.refine_t(p, g, 1.0, span=(0.1, 1e3))
    # t_bounds caps the span: (0.1, 1e3) within t_bounds (1e-3, 100) reaches only 100
    t, m = O.refine_t(p, g, 1.0, span=(0.1, 1e3), t_bounds=(1e-3, 100.0))
    assert np.isfinite(m).all() and t.max() <= 100.0
    np.testing.assert_array_equal(np.isfinite(O.scan_t(p, g, np.array([0.1, 100.0]))), True)
    # optimize_t=False scores t0 only: t_bounds is not a reach
    res = O.optimize_angles(p, g, steps=2, t0=1.0, optimize_t=False)
    assert np.isfinite(res.value) and res.t == 1.0
