"""The public API inside the user's own JAX code: a field or angles written as a tuple/list of
traced values (``(a, 0.0, b)`` under jax.jit / vmap / grad) works like the array form, a
genome whose angles alone are traced is still checked, and the objective at an invalid
*traced* point (t < 0, NaN t, gamma < 0, negative noise weights or decay rates, infinite
sensor weights: a tracer cannot raise) is NaN, value and gradient,
while valid-point values and gradients are unchanged."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense
from qsense import protocols as P
from qsense.objective import population_score

GAMMA = 0.1
PSI2 = qsense.ghz_state(2)
E1 = qsense.empty_genome(1)
# a small circuit with every gate kind on 2 qubits (angles matter to the QFI)
G2 = qsense.make_genome([1, 3, 0], [0, 0, 0], [0, 1, 1], [0.3, -0.7, 0.4])


def _fd(f, x, h=1e-5):
    """Central finite difference of a scalar function of one float."""
    return (f(x + h) - f(x - h)) / (2 * h)


# ----------------------------------------------------------------------------- B1: sequences

@pytest.mark.parametrize("noise", ["bitflip", "dephasing", "amplitude_damping", "none"])
@pytest.mark.parametrize("seq", [tuple, list])
def test_sense_takes_a_field_sequence_of_tracers(seq, noise):
    """(Every noise: `sense` picks a scalar field's closed-form maps by the field's rank, which
    a sequence of tracers has only once it is an array.)"""
    def sensed(a, b):
        return qsense.sense(PSI2, seq([a, 0.0, b]), 1.0, noise, GAMMA)

    want = qsense.sense(PSI2, jnp.array([0.1, 0.0, 0.2]), 1.0, noise, GAMMA)
    np.testing.assert_allclose(jax.jit(sensed)(0.1, 0.2), want, atol=1e-13)
    many = jax.vmap(sensed, (0, None))(jnp.array([0.1, 0.3]), 0.2)
    np.testing.assert_allclose(many[0], want, atol=1e-13)

    def entry(a):
        return jnp.real(sensed(a, 0.2)[0, 1])

    np.testing.assert_allclose(jax.grad(entry)(0.1), _fd(entry, 0.1), rtol=1e-6)


_FIELD_ENTRIES = {
    "liouvillian_1q": lambda f: qsense.liouvillian_1q(f, "bitflip", GAMMA),
    "superoperator_1q": lambda f: qsense.superoperator_1q(f, 1.0, "bitflip", GAMMA),
    "qfim": lambda f: qsense.qfim(lambda v: qsense.sense(PSI2, v, 1.0, "bitflip", GAMMA), f),
    "sensed_probe": lambda f: qsense.sensed_probe(E1, f, 1.0, GAMMA, n_qubits=2,
                                                  noise="bitflip"),
    "probe_qfim": lambda f: qsense.probe_qfim(E1, 1.0, GAMMA, f, n_qubits=2, noise="bitflip"),
    "protocol_qcrb": lambda f: P.protocol_qcrb(PSI2, 0.9, 1.0, GAMMA, f,
                                               protocol="distributed", field="vector"),
    "delivered_state": lambda f: P.delivered_state(PSI2, 0.9, f, 1.0, GAMMA,
                                                   protocol="distributed"),
    "make_fitness": lambda f: qsense.make_fitness(2, "bitflip", "vector")(
        jax.tree_util.tree_map(lambda x: x[None], E1), 1.0, GAMMA, f),
    "score": lambda f: qsense.score(qsense.Problem(2, "bitflip", GAMMA, field="vector", b0=f),
                                    E1, 1.0),
}


@pytest.mark.parametrize("name", list(_FIELD_ENTRIES))
def test_engine_functions_take_field_tuples_of_tracers(name):
    fn = _FIELD_ENTRIES[name]
    got = jax.jit(lambda a, b: fn((a, 0.0, b)))(0.1, 0.2)
    np.testing.assert_allclose(got, fn(jnp.array([0.1, 0.0, 0.2])), rtol=1e-10, atol=1e-12)


def test_score_gradient_in_a_vector_b0_tuple_matches_finite_differences():
    def value(a):
        return qsense.score(qsense.Problem(2, "bitflip", GAMMA, field="vector",
                                           b0=(a, 0.0, 0.3)), G2, 1.0)

    def value_arr(a):
        return qsense.score(qsense.Problem(2, "bitflip", GAMMA, field="vector",
                                           b0=jnp.stack([a, 0.0, 0.3])), G2, 1.0)

    grad = jax.grad(value)(0.2)
    np.testing.assert_allclose(grad, jax.grad(value_arr)(0.2), rtol=1e-12)
    np.testing.assert_allclose(grad, _fd(value, 0.2), rtol=1e-5)


@pytest.mark.parametrize("seq", [tuple, list])
def test_genome_takes_a_list_of_traced_angles(seq):
    p = qsense.Problem(2, "dephasing", GAMMA)

    def value(a):
        return qsense.score(p, qsense.Genome([1, 3, 0], [0, 0, 0], [0, 1, 1],
                                             seq([0.3, a, 0.4])), 1.0)

    def value_arr(a):
        return qsense.score(p, qsense.Genome(G2.gate, G2.control, G2.target,
                                             G2.angle.at[1].set(a)), 1.0)

    np.testing.assert_allclose(jax.jit(value)(-0.7), qsense.score(p, G2, 1.0), rtol=1e-12)
    grad = jax.grad(value)(-0.7)
    np.testing.assert_allclose(grad, jax.grad(value_arr)(-0.7), rtol=1e-12)
    np.testing.assert_allclose(grad, _fd(value, -0.7), rtol=1e-5)


def test_problem_data_take_sequences_of_tracers():
    def value(s, r):
        p = qsense.Problem(2, "dephasing", GAMMA, sensors=[s, 1.0], post_decay=(r, 0.0))
        return qsense.score(p, G2, 1.0)

    want = qsense.score(qsense.Problem(2, "dephasing", GAMMA, sensors=jnp.array([0.5, 1.0]),
                                       post_decay=jnp.array([0.2, 0.0])), G2, 1.0)
    np.testing.assert_allclose(jax.jit(value)(0.5, 0.2), want, rtol=1e-12)
    np.testing.assert_allclose(jax.grad(value)(0.5, 0.2), _fd(lambda s: value(s, 0.2), 0.5),
                               rtol=1e-5)
    with pytest.raises(ValueError, match=r"^gamma\.shape = \(1,\) is invalid"):
        jax.jit(lambda g: qsense.Problem(2, "dephasing", (g,)).gamma)(0.1)


def test_a_ragged_traced_sequence_is_named():
    with pytest.raises(ValueError, match=r"^field = "):
        jax.jit(lambda a: qsense.sense(PSI2, (a, jnp.zeros(2)), 1.0, "bitflip", GAMMA))(0.1)


# ----------------------------------------------------------------------------- B2: genome

def test_genome_with_traced_angles_only_is_still_checked():
    p = qsense.Problem(3, "dephasing", GAMMA)
    g = qsense.make_genome([3], [7], [1], [0.5])  # control 7 on 3 qubits

    def value(a):
        return qsense.score(p, qsense.Genome(g.gate, g.control, g.target, a), 1.0)

    match = r"genome\.control = \[7\] is invalid; accepted: qubit indices in \[0, 2\]"
    with pytest.raises(ValueError, match=match):
        jax.value_and_grad(value)(g.angle)  # scored the circuit with the CRx dropped
    with pytest.raises(ValueError, match=match):
        jax.jit(value)(g.angle)
    with pytest.raises(ValueError, match=match):
        jax.jit(lambda a: qsense.apply_pqc(
            qsense.ghz_state(3), qsense.Genome(g.gate, g.control, g.target, a)))(g.angle)
    pop = jax.tree_util.tree_map(lambda x: jnp.stack([x, x]), g)
    with pytest.raises(ValueError, match=r"genomes\.control = \[7, 7\]"):
        jax.grad(lambda a: population_score(
            p, qsense.Genome(pop.gate, pop.control, pop.target, a), 1.0).sum())(pop.angle)
    same = qsense.make_genome([3], [1], [1], [0.5])  # CRx with control == target
    with pytest.raises(ValueError, match=r"genome\.control = \[1\] is invalid; accepted: a "
                                         "control different"):
        jax.grad(lambda a: qsense.score(p, qsense.Genome(same.gate, same.control,
                                                         same.target, a), 1.0))(same.angle)


def test_traced_genome_structure_with_concrete_angles_is_checked():
    p = qsense.Problem(3, "dephasing", GAMMA)
    with pytest.raises(ValueError, match=r"genome\.angle = \[nan\]"):
        jax.jit(lambda c: qsense.score(p, qsense.Genome(np.array([3]), c, np.array([1]),
                                                        np.array([np.nan])), 1.0))(
            jnp.array([0]))
    with pytest.raises(ValueError, match=r"genome\.gate = \[9\]"):
        jax.grad(lambda a: qsense.score(p, qsense.Genome(np.array([9]), np.array([0]),
                                                         np.array([1]), a), 1.0))(
            jnp.array([0.5]))


# ----------------------------------------------------------------------------- B3: NaN

def test_score_is_nan_at_an_invalid_traced_time():
    p = qsense.Problem(3, "dephasing", GAMMA)
    got = jax.vmap(lambda t: qsense.score(p, E1, t))(jnp.array([-1.0, 1.0, jnp.nan, jnp.inf]))
    assert np.isnan(got[0]) and np.isnan(got[2]) and np.isnan(got[3])  # gave 16.40 at t = -1
    np.testing.assert_allclose(got[1], qsense.score(p, E1, 1.0), rtol=1e-14)
    assert np.isnan(jax.jit(lambda t: qsense.score(p, E1, t))(-1.0))
    value, grad = jax.value_and_grad(lambda t: qsense.score(p, E1, t))(-1.0)
    assert np.isnan(value) and np.isnan(grad)


def test_score_is_nan_at_an_invalid_traced_rate():
    def value(gm):
        return qsense.score(qsense.Problem(3, "dephasing", gm), E1, 1.0)

    v, grad = jax.value_and_grad(value)(-0.1)
    assert np.isnan(v) and np.isnan(grad)  # the gradient read -98.39
    assert np.isnan(jax.jit(value)(jnp.nan))
    got = jax.vmap(value)(jnp.array([-0.1, 0.1]))
    assert np.isnan(got[0])
    np.testing.assert_allclose(got[1], value(0.1), rtol=1e-14)


def test_every_objective_entry_is_nan_at_an_invalid_traced_point():
    p = qsense.Problem(2, "bitflip", GAMMA)
    pop = jax.tree_util.tree_map(lambda x: jnp.stack([x, x]), G2)
    rho = qsense.density(qsense.probe_state(G2, 2))
    psi = qsense.probe_state(G2, 2)
    fit = qsense.make_fitness(2, "bitflip")
    fit_many = qsense.make_fitness(2, "bitflip", jit=False)
    fit_one = qsense.make_fitness(2, "bitflip", batched=False)
    entries = {
        "score_state": lambda t, gm: qsense.score_state(p.replace(gamma=gm), rho, t),
        "score_pure": lambda t, gm: qsense.score_pure(p.replace(gamma=gm), psi, t),
        "merit": lambda t, gm: qsense.merit(p.replace(gamma=gm), G2, t),
        "probe_qfi": lambda t, gm: qsense.probe_qfi(G2, t, gm, n_qubits=2, noise="bitflip"),
        "population_score": lambda t, gm: population_score(p.replace(gamma=gm), pop,
                                                                  t),
        "make_fitness": lambda t, gm: fit(pop, t, gm, 1.0),
        "make_fitness(jit=False)": lambda t, gm: fit_many(pop, t, gm, 1.0),
        "make_fitness(batched=False)": lambda t, gm: fit_one(G2, t, gm, 1.0),
        "probe_qfim": lambda t, gm: qsense.probe_qfim(G2, t, gm, n_qubits=2, noise="bitflip"),
        "protocol_qfi": lambda t, gm: P.protocol_qfi(PSI2, 0.9, t, gm, protocol="distributed"),
        "protocol_qcrb": lambda t, gm: P.protocol_qcrb(PSI2, 0.9, t, gm,
                                                       protocol="distributed"),
        "protocol_qcrb(vector)": lambda t, gm: P.protocol_qcrb(
            PSI2, 0.9, t, gm, (0.1, 0.0, 0.2), protocol="distributed", field="vector"),
    }
    # one compiled program per entry (a vmap over the points; the points stay traced):
    # t < 0, gamma < 0, t NaN, and a valid point that must equal the eager call
    ts = jnp.array([-1.0, 1.0, jnp.nan, 1.0])
    gms = jnp.array([GAMMA, -GAMMA, GAMMA, GAMMA])
    for name, fn in entries.items():
        good = np.asarray(fn(1.0, GAMMA))
        got = np.asarray(jax.jit(jax.vmap(fn))(ts, gms))
        for i in range(3):
            assert np.all(np.isnan(got[i])), (name, float(ts[i]), float(gms[i]), got[i])
        np.testing.assert_allclose(got[3], good, rtol=1e-12, err_msg=name)


def test_traced_per_qubit_data_out_of_range_is_nan():
    """Traced ``noise_weights`` or ``post_decay`` below 0 or not finite, or ``sensors`` not
    finite (the ranges `Problem` refuses in concrete values), give NaN through every
    objective entry that takes a Problem; a valid traced point equals the eager call with
    the same concrete data, and its gradient in the weights is finite."""
    p = qsense.Problem(2, "amplitude_damping", GAMMA)
    pop = jax.tree_util.tree_map(lambda x: jnp.stack([x, x]), G2)
    rho = qsense.density(qsense.probe_state(G2, 2))
    psi = qsense.probe_state(G2, 2)
    entries = {
        "score": lambda q: qsense.score(q, G2, 1.0),
        "score_state": lambda q: qsense.score_state(q, rho, 1.0),
        "score_pure": lambda q: qsense.score_pure(q, psi, 1.0),
        "population_score": lambda q: population_score(q, pop, 1.0),
    }
    good = {"noise_weights": [0.5, 2.0], "post_decay": [0.3, 0.0], "sensors": [1.0, -0.5]}
    bad = [("noise_weights", [1.0, -0.5]), ("noise_weights", [np.inf, 1.0]),
           ("post_decay", [0.0, -0.1]), ("post_decay", [np.nan, 0.1]),
           ("sensors", [1.0, np.inf])]
    # the valid point first, then each bad row with the other fields valid
    rows = [good] + [{**good, k: v} for k, v in bad]
    stacked = {k: jnp.asarray([r[k] for r in rows]) for k in good}
    for name, fn in entries.items():
        want = np.asarray(fn(qsense.Problem(2, "amplitude_damping", GAMMA, **good)))
        assert np.all(np.isfinite(want)), name
        got = np.asarray(jax.jit(jax.vmap(lambda d, fn=fn: fn(p.replace(**d))))(stacked))
        np.testing.assert_allclose(got[0], want, rtol=1e-12, err_msg=name)
        for i, (k, v) in enumerate(bad, start=1):
            assert np.all(np.isnan(got[i])), (name, k, v, got[i])
    # at the valid point the weights' gradient is finite and nonzero (the factor is exactly 1)
    grad = jax.grad(lambda v: qsense.score(p.replace(**{**good, "noise_weights": v}), G2,
                                           1.0))(jnp.asarray(good["noise_weights"]))
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)


@pytest.mark.parametrize(("noise", "field"), [("dephasing", "scalar"), ("bitflip", "scalar"),
                                              ("amplitude_damping", "vector")])
def test_valid_point_gradients_are_unchanged(noise, field):
    """The NaN factor is exactly 1 at a valid point: the gradients in t, gamma and the angles
    equal those of the jitted implementation (no factor) and central finite differences."""
    b0 = 1.0 if field == "scalar" else jnp.array([0.2, 0.1, 0.5])

    def public(t, gm, a):
        g = qsense.Genome(G2.gate, G2.control, G2.target, a)
        return qsense.score(qsense.Problem(2, noise, gm, field, b0), g, t)

    def bare(t, gm, a):
        g = qsense.Genome(G2.gate, G2.control, G2.target, a)
        return qsense.score.jitted(qsense.Problem(2, noise, gm, field, b0), g, t)

    args = (0.8, 0.15, G2.angle)
    got = jax.grad(public, argnums=(0, 1, 2))(*args)
    want = jax.grad(bare, argnums=(0, 1, 2))(*args)
    for x, y in zip(got, want, strict=True):
        assert np.all(np.isfinite(x))
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got[0], _fd(lambda t: public(t, 0.15, G2.angle), 0.8),
                               rtol=1e-5)
    np.testing.assert_allclose(got[1], _fd(lambda gm: public(0.8, gm, G2.angle), 0.15),
                               rtol=1e-5)
    np.testing.assert_allclose(got[2][1], _fd(
        lambda a: public(0.8, 0.15, G2.angle.at[1].set(a)), float(G2.angle[1])), rtol=1e-5)


def test_nan_factor_is_not_added_to_concrete_calls():
    """Eager calls raise at invalid points (a ValueError) and add no op at valid ones: the
    value is the jitted implementation's, bit for bit."""
    p = qsense.Problem(2, "dephasing", GAMMA)
    assert qsense.score(p, G2, 1.0) == qsense.score.jitted(p, G2, 1.0)
    with pytest.raises(ValueError, match=r"^t = -1\.0 is invalid"):
        qsense.score(p, G2, -1.0)
