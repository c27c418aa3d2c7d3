"""The sensing scale ``t (|Bx| + |By| + |Bz| + 2 gamma)`` beyond which a one-qubit sensing map
is rounding, then garbage, then NaN (`qsense.noise.check_sensing_scale`).

`expm_small` scales ``t L`` down by 2^s and squares s times; each squaring compounds a
relative rounding, so the map is good to a few ``eps S``. The reference is GHZ's closed form
without noise, ``F = N^2 t^2`` for every B (the field only turns phases), written out here.
Before the check, ``score`` at B = 1e15 returned 27.1 for N = 3 (exact: 9), at 1e17
1.7e30, and `sense` at gamma = 1e300 a NaN matrix: plausible numbers or a NaN, no error.
"""

import dataclasses

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
    """At a tenth of the limit GHZ's QFI within 1e-3 by `sense` (the noiseless map at B = S,
    in closed form: exact) and by `score` (which senses in the rotating frame, exact). The
    noisy maps' accuracy up to the limit: test_physical_map's bit-flip closed form."""
    b = 0.1 * max_sensing_scale(dtype)
    g = qsense.empty_genome(2)
    p = qsense.Problem(N, "dephasing", gamma=0.0, field="scalar", b0=b, dtype=dtype)
    assert float(qsense.score(p, g, 1.0)) == pytest.approx(N**2, rel=1e-3)
    assert float(jax.jit(qsense.score)(p, g, 1.0)) == pytest.approx(N**2, rel=1e-3)
    psi = qsense.ghz_state(N).astype(dtype)
    for field in (b, jnp.asarray([0.0, 0.0, b])):
        f = (qsense.qfi(lambda x: qsense.sense(psi, x, 1.0, "none"), field) if np.ndim(field) == 0
             else qsense.qfim(lambda x: qsense.sense(psi, x, 1.0, "none"), field)[2, 2])
        assert float(f) == pytest.approx(N**2, rel=1e-3)


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


def test_the_limit_time_is_the_scale_over_the_rates():
    """t_limit = limit / (|b0|_1 max|sensors| + 2 gamma max(noise_weights)), written out."""
    from qsense.objective import sensing_limit_time

    p = qsense.Problem(N, "bitflip", gamma=0.25, b0=3.0, sensors=(1.0, -2.0, 0.5),
                       noise_weights=(1.0, 4.0, 0.0))
    want = max_sensing_scale(jnp.complex128) / (3.0 * 2.0 + 2 * 0.25 * 4.0)
    assert sensing_limit_time(p) == pytest.approx(want, rel=1e-12)
    assert sensing_limit_time(p, jnp.complex64) == pytest.approx(
        want * 2.0**-52 / 2.0**-23, rel=1e-12)
    vec = qsense.Problem(N, "none", field="vector", b0=(1.0, -2.0, 2.0))
    assert sensing_limit_time(vec) == pytest.approx(max_sensing_scale() / 5.0, rel=1e-12)
    assert sensing_limit_time(qsense.Problem(N, "none", b0=0.0)) == np.inf


def test_a_search_grid_past_the_limit_warns_and_one_wholly_past_it_is_refused():
    """Grid times past the limit of the score dtype score NaN in every generation; the search
    keeps to the shorter ones (b0 = 1e13: GHZ's value at t = 0.22 where dephasing's optimum
    is t = 1/(N gamma) = 3.3), so the grid warns, naming float64's limit for float32 scoring,
    and a grid with no time below the limit is refused."""
    from qsense.genetic import GAConfig, search_t_grid

    big = qsense.Problem(N, "dephasing", gamma=0.1, b0=1e13)  # limit t = 0.450
    with pytest.warns(UserWarning, match=r"t_grid reaches t = 50, past the sensing-scale limit "
                                         r"t = 0.45036 of score_dtype = 'float64'"):
        np.testing.assert_allclose(search_t_grid(big, GAConfig(n_t=3)), [0.2, 10**0.5, 50])
    with pytest.raises(ValueError, match=r"^t_grid \(shortest time 0.5, score_dtype = "
                                         r"'float64'\): " + MESSAGE):
        search_t_grid(big, GAConfig(t_grid=(0.5, 2.0)))
    mid = qsense.Problem(N, "dephasing", gamma=0.1, b0=3000.0)  # float32 limit t = 2.796
    with pytest.warns(UserWarning, match=r"limit t = 2.79602 of score_dtype = 'float32'.*"
                                         r"'float64' moves the limit to t = 1.50\d+e\+09"):
        search_t_grid(mid, GAConfig(score_dtype="float32"))
    with pytest.warns(UserWarning, match=r"t_grid reaches t = 0.46, past"):  # just past
        search_t_grid(big, GAConfig(t_grid=(0.2, 0.46)))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # below the limit: no warning
        search_t_grid(big, GAConfig(t_grid=(0.2, 0.45)))  # just below 0.45036
        search_t_grid(mid, GAConfig())
        search_t_grid(mid, GAConfig(score_dtype="float32", t_grid=(0.5, 2.0)))


def test_scan_t_is_nan_past_the_limit_and_the_optimizer_warns_near_it():
    """scan_t scores the times it is given in one jitted call: NaN past the limit, as score
    under jit (the drivers scan default grids that reach past it). optimize_angles searches a
    range: it keeps to the valid times and warns when its best
    time lies within a factor 2 of the limit (the optimum may be beyond); far from it (the
    optimum of a decaying QFI well inside) it is silent and exact."""
    import warnings

    from qsense import optimize as O

    g = qsense.random_genome(jax.random.PRNGKey(0), N, 6)
    p = qsense.Problem(N, "dephasing", gamma=0.1, b0=5e9)  # limit t = 900
    np.testing.assert_array_equal(np.isnan(O.scan_t(p, g, np.array([0.1, 100.0, 1000.0]))),
                                  [[False, False, True]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = O.optimize_angles(p, g, steps=30)  # default t_bounds reach 1000 > 900: fine
    ref = O.optimize_angles(qsense.Problem(N, "dephasing", gamma=0.1, b0=1.0), g, steps=30)
    # dephasing commutes with the field: the objective senses in the rotating frame, so
    # b0 = 5e9 runs the b0 = 1 optimization (sensing at b0, the t-gradient's rounding of
    # ~eps (b0 t)^2 steered Adam: 40.25-40.79 for 40.887, by XLA flags)
    assert res.value == pytest.approx(ref.value, rel=1e-12)
    assert res.t == pytest.approx(ref.t, rel=1e-12)
    near = qsense.Problem(N, "dephasing", gamma=0.1, b0=4.5e11)  # limit t = 10.0: the
    with pytest.warns(UserWarning, match=r"optimize_angles: the best time t = .* is near "
                                         r"the sensing-scale limit t = 10.0"):  # optimum ~9.8
        O.optimize_angles(near, g, steps=30)


@pytest.mark.parametrize("noise", ["dephasing", "amplitude_damping", "none"])
def test_the_fast_path_is_exact_at_every_field(noise):
    """A scalar field under a Z-covariant noise: the sensed state is U_B rho U_B^H with U_B
    diagonal and commuting with the QFI's generator, so the QFI and all its derivatives do not
    depend on b0. `score`, its t- and angle-gradients, `population_score` and `score_state`
    (a mixed probe) with its t-gradient at b0 up to 1e11
    (S = t b0 = 3e11) equal those at b0 = 1 to 1e-12 (with sensor weights too). Sensing at b0
    left a rounding of eps S in the value and ~eps S^2 in the t-gradient (measured 2e-3 and
    O(1) relative at b0 = 1e8 and 1e11: the gradient was noise)."""
    g = qsense.random_genome(jax.random.PRNGKey(3), N, 6)
    pop = jax.vmap(lambda k: qsense.random_genome(k, N, 6))(
        jax.random.split(jax.random.PRNGKey(4), 4))
    t = 3.0

    def figures(p):
        def f(angle, tt):
            return qsense.score(p, dataclasses.replace(g, angle=angle), tt)
        value, (d_angle, d_t) = jax.value_and_grad(f, argnums=(0, 1))(g.angle, t)
        rho0 = 0.8 * qsense.states.density(qsense.ghz_state(N)) + 0.2 * np.eye(2**N) / 2**N
        by_state = jax.value_and_grad(lambda tt: qsense.score_state(p, rho0, tt))(t)
        return np.concatenate([[value, d_t], d_angle, population_score(p, pop, t), by_state])

    for weights in ({}, {"sensors": [1.0, 0.5, 0.0], "noise_weights": [1.0, 0.3, 2.0]}):
        ref = figures(qsense.Problem(N, noise, gamma=0.1, b0=1.0, **weights))
        for b0 in (1e3, 1e8, -1e11):
            got = figures(qsense.Problem(N, noise, gamma=0.1, b0=b0, **weights))
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.max(np.abs(ref)))


def test_the_scale_counts_twice_gamma_and_the_largest_weights():
    """S = t (|b0|_1 max|sensors| + 2 gamma max(noise_weights)), eager and traced alike:
    a rate of 0.6 limit is refused (2 x 0.6 > 1) and 0.4 is not; a field of 0.5 limit is
    refused with a sensor coupling of 3 and not with 1; gamma of 0.2 limit with a noise
    weight of 4 (S = 1.6 limit) is refused. Values hand-derived from the definition."""
    lim = max_sensing_scale(jnp.complex128)
    g = qsense.empty_genome(2)
    psi = qsense.ghz_state(N)
    jscore = jax.jit(qsense.score)

    def refused(p):
        with pytest.raises(ValueError, match=MESSAGE):
            qsense.score(p, g, 1.0)
        assert np.isnan(float(jscore(p, g, 1.0)))

    def accepted(p):
        assert np.isfinite(float(qsense.score(p, g, 1.0)))
        assert np.isfinite(float(jscore(p, g, 1.0)))

    refused(qsense.Problem(N, "dephasing", gamma=0.6 * lim, b0=0.0))
    accepted(qsense.Problem(N, "dephasing", gamma=0.4 * lim, b0=0.0))
    with pytest.raises(ValueError, match=MESSAGE):
        qsense.sense(psi, 0.0, 1.0, "bitflip", 0.6 * lim)
    assert np.isfinite(np.asarray(qsense.sense(psi, 0.0, 1.0, "bitflip", 0.4 * lim))).all()
    refused(qsense.Problem(N, "none", b0=0.5 * lim, sensors=(1.0, 3.0, 1.0)))
    accepted(qsense.Problem(N, "none", b0=0.5 * lim, sensors=(1.0, 1.0, -1.0)))
    refused(qsense.Problem(N, "dephasing", gamma=0.2 * lim, b0=0.0,
                           noise_weights=(1.0, 4.0, 1.0)))


@pytest.mark.parametrize("noise", ["dephasing", "amplitude_damping"])
@pytest.mark.parametrize("dtype", [jnp.complex128, jnp.complex64])
def test_the_objectives_covariant_maps_carry_no_field_rounding(noise, dtype):
    """`sensed_state` at b0 (what `qfim_of_state`, the protocols and the link probe's local
    Fisher information use; not the fast path, which senses at B = 0) builds a covariant
    structure's maps as the closed-form rotation times the noise map
    (`qsense.noise.commuting_sensing_map`), so up to the scale limit the sensed state's
    spectrum is the b0 = 1 one to a few eps, and `qfim_of_state`'s QFI (a forward tangent at
    b0) is `score_state`'s (the commutator at B = 0) to a few eps, with sensor and noise
    weights too. Before, both were about eps S off (QFI 1.2e-3 at b0 = 1e12, gamma = 0.01),
    and amplitude damping's state at 1e12 had a smallest eigenvalue of -2.5e-4, which
    `qfim_of_state` refused with a ValueError."""
    from qsense.objective import qfim_of_state, score_state, sensed_state

    eps = float(jnp.finfo(dtype).eps)
    rho0 = 0.9 * qsense.states.density(qsense.ghz_state(N)) + 0.1 * np.eye(2**N) / 2**N
    rho0 = rho0.astype(dtype)
    for weights in ({}, {"sensors": [1.0, 0.5, 0.0], "noise_weights": [1.0, 0.3, 2.0]}):
        def problem(b0, w=weights):
            return qsense.Problem(N, noise, gamma=0.01, b0=b0, dtype=dtype, **w)

        spectrum = np.linalg.eigvalsh(np.asarray(sensed_state(problem(1.0), rho0, 1.0),
                                                 np.complex128))
        for b0 in (1e-3, 0.3, 0.99) * np.asarray(max_sensing_scale(dtype)) - 0.1:
            p = problem(b0)
            rho = np.asarray(sensed_state(p, rho0, 1.0), np.complex128)
            np.testing.assert_allclose(np.linalg.eigvalsh(rho), spectrum, rtol=0,
                                       atol=10 * eps)
            f, ref = float(qfim_of_state(p, rho0, 1.0)[0, 0]), float(score_state(p, rho0, 1.0))
            assert f == pytest.approx(ref, rel=20 * eps)
