"""The public API inside the user's own JAX code: a field, a `b0` or angles written as a
tuple/list of traced values (``(a, 0.0, b)`` under jax.jit / vmap / grad) works like the array
form, and a genome whose angles alone are traced is still checked."""

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

@pytest.mark.parametrize("seq", [tuple, list])
def test_sense_takes_a_field_sequence_of_tracers(seq):
    def sensed(a, b):
        return qsense.sense(PSI2, seq([a, 0.0, b]), 1.0, "bitflip", GAMMA)

    want = qsense.sense(PSI2, jnp.array([0.1, 0.0, 0.2]), 1.0, "bitflip", GAMMA)
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
