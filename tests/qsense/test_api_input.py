"""Bad input to the public API found by a user walkthrough: each is a ValueError naming the
argument (never a deep JAX error, a NaN or a silently wrong state), and the traced paths
(jit / vmap / grad) still work."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense
from qsense import Genome, make_genome
from qsense.fisher import qfi_commutator
from qsense.genome import describe

PSI2 = qsense.ghz_state(2)


def _sensed(b, psi=PSI2):
    return qsense.sense(psi, b, 1.0, "dephasing", 0.1)


# ----------------------------------------------------------------------------- 1: apply_pqc

def test_apply_pqc_refuses_a_population():
    # P = 3 genomes of G = 4 genes on N = 2 (dimension 4): the gene arrays broadcast against
    # the state, so the scan over the population axis used to return a garbage state
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    pop = jax.vmap(lambda k: qsense.random_genome(k, 2, 4))(keys)
    with pytest.raises(ValueError, match=r"genome batch shape = \(3,\).*accepted: \(\)"):
        qsense.apply_pqc(PSI2, pop)
    out = jax.vmap(qsense.apply_pqc, in_axes=(None, 0))(PSI2, pop)  # the documented way
    for i in range(3):
        np.testing.assert_allclose(out[i], qsense.apply_pqc(PSI2, pop[i]), atol=1e-14)
        assert float(jnp.vdot(out[i], out[i]).real) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- 2: lists

def test_genome_from_lists_equals_make_genome():
    ref = make_genome([0, 3], [0, 0], [1, 1], [0.1, 0.2])
    for g in (Genome([0, 3], [0, 0], [1, 1], [0.1, 0.2]),
              Genome((0, 3), (0, 0), (1, 1), (0.1, 0.2))):
        assert g.gate.dtype == jnp.int32 and g.angle.dtype == ref.angle.dtype
        np.testing.assert_allclose(qsense.apply_pqc(PSI2, g), qsense.apply_pqc(PSI2, ref),
                                   atol=1e-15)
        assert describe(g) == describe(ref)


def test_genome_stays_a_pytree():
    g = Genome([0, 3], [0, 0], [1, 1], [0.1, 0.2])
    jitted = jax.jit(qsense.apply_pqc)(PSI2, g)
    np.testing.assert_allclose(jitted, qsense.apply_pqc(PSI2, g), atol=1e-15)
    pop = Genome([[0, 3], [1, 2]], [[0, 0], [0, 1]], [[1, 1], [0, 0]], [[0.1, 0.2], [0.3, 0.4]])
    assert pop.batch_shape == (2,)
    out = jax.vmap(qsense.apply_pqc, in_axes=(None, 0))(PSI2, pop)
    np.testing.assert_allclose(out[1], qsense.apply_pqc(PSI2, pop[1]), atol=1e-15)
    grad = jax.grad(lambda a: jnp.abs(qsense.apply_pqc(PSI2, Genome(g.gate, g.control,
                                                                      g.target, a))[0]))
    assert np.all(np.isfinite(grad(g.angle)))
    # unflattening keeps whatever leaves it is given (tracers, JAX's placeholders)
    leaves, treedef = jax.tree_util.tree_flatten(g)
    marks = [object() for _ in leaves]
    assert jax.tree_util.tree_leaves(jax.tree_util.tree_unflatten(treedef, marks)) == marks
    assert jax.jit(lambda x: jax.tree_util.tree_unflatten(treedef, x).angle.sum())(leaves) \
        == pytest.approx(0.3)


# ----------------------------------------------------------------------------- 3: codes

def test_non_integer_gate_codes_are_refused():
    g = Genome(jnp.array([0.5, 2.7]), jnp.array([0, 0]), jnp.array([1, 1]),
               jnp.array([0.1, 0.2]))
    with pytest.raises(ValueError, match=r"genome\.gate\.dtype = 'float64'.*integer dtype"):
        qsense.apply_pqc(PSI2, g)
    with pytest.raises(ValueError, match=r"genome\.gate\.dtype"):
        describe(g)
    with pytest.raises(ValueError, match=r"genome\.gate\.dtype"):  # a float array, whole too
        qsense.apply_pqc(PSI2, Genome(jnp.array([0.0, 3.0]), jnp.array([0, 0]),
                                      jnp.array([1, 1]), jnp.array([0.1, 0.2])))
    with pytest.raises(ValueError, match=r"genome\.target\.dtype"):  # a list of non-whole
        qsense.apply_pqc(PSI2, Genome([0, 3], [0, 0], [1.5, 1.0], [0.1, 0.2]))
    # lists of whole numbers are indices, written 1 or 1.0 (as make_genome converts them)
    want = qsense.apply_pqc(PSI2, make_genome([0, 3], [0, 0], [1, 1], [0.1, 0.2]))
    got = qsense.apply_pqc(PSI2, Genome([0.0, 3.0], [0.0, 0.0], [1.0, 1.0], [0.1, 0.2]))
    assert jnp.allclose(got, want)
    # make_genome converts whole numbers and refuses others (int32 would truncate 2.7 to 2)
    with pytest.raises(ValueError, match=r"gate = \[0\.5, 2\.7\].*whole numbers"):
        make_genome([0.5, 2.7], [0, 0], [1, 1], [0.1, 0.2])
    ok = make_genome([0.0, 3.0], [0, 0], [1, 1], [0.1, 0.2])
    assert ok.gate.dtype == jnp.int32 and describe(ok)[1].startswith("CRx(q0->q1")


# ----------------------------------------------------------------------------- 4, 5: qfi

@pytest.mark.parametrize(("fn", "match"), [
    (lambda b: 2 * _sensed(b), r"fn\(b0\) trace = \(1\.99"),
    (lambda b: 2 * qsense.apply_pqc(PSI2, make_genome([2], [0], [0], [b])),
     r"fn\(b0\) norm\^2 = 4\.0"),
    (lambda b: jnp.array([jnp.cos(b), jnp.sin(b), 0.0]), r"fn\(b0\)\.shape = 3"),
    (lambda b: jnp.ones((2, 3)) * b, r"fn\(b0\)\.shape = \(2, 3\)"),
    (lambda b: _sensed(b) + 0.1j * jnp.triu(jnp.ones((4, 4)), 1), r"fn\(b0\) Hermiticity"),
])
def test_qfi_checks_the_family_output(fn, match):
    with pytest.raises(ValueError, match=match + r".*fn must return a state vector"):
        qsense.qfi(fn, 0.7)


def test_qfim_checks_the_family_output():
    b = jnp.array([0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"fn\(bvec0\) trace = \(1\.99"):
        qsense.qfim(lambda v: 2 * qsense.sense(PSI2, v, 1.0), b)
    with pytest.raises(ValueError, match=r"fn\(bvec0\)\.shape = 3"):
        qsense.qfim(lambda v: v / jnp.linalg.norm(v), b)
    good = qsense.qfim(lambda v: qsense.sense(PSI2, v, 1.0, "dephasing", 0.1), b)
    assert good.shape == (3, 3) and np.all(np.isfinite(good))


def test_qfi_traced_path_unchanged():
    f = qsense.qfi(_sensed, 0.7)
    assert float(jax.jit(lambda b: qsense.qfi(_sensed, b))(0.7)) == pytest.approx(float(f))
    assert np.isfinite(float(jax.grad(lambda t: qsense.qfi(
        lambda b: qsense.sense(PSI2, b, t, "dephasing", 0.1), 0.7))(1.0)))


@pytest.mark.parametrize("eps", [-1.0, float("nan"), float("inf"), 10.0, 1.0, "1e-3",
                                 np.array([1e-3, 1e-3])])
def test_eps_outside_its_range_is_refused(eps):
    rho = qsense.density(PSI2)
    for call in (lambda: qsense.qfi(_sensed, 0.7, eps=eps),
                 lambda: qsense.qfim(lambda v: qsense.sense(PSI2, v, 1.0), jnp.ones(3), eps),
                 lambda: qsense.qfim_from_derivatives(rho, rho[None], eps),
                 lambda: qfi_commutator(rho, jnp.arange(4.0), eps)):
        with pytest.raises(ValueError, match=r"eps = .*in \[0, 1\)"):
            call()


def test_eps_in_range_is_accepted():
    f = float(qsense.qfi(_sensed, 0.7))
    assert float(qsense.qfi(_sensed, 0.7, eps=1e-8)) == pytest.approx(f)
    assert np.isfinite(float(qsense.qfi(_sensed, 0.7, eps=0.0)))


# ----------------------------------------------------------------------------- 6: states

@pytest.mark.parametrize(("single", "match"), [
    (jnp.ones(3) / np.sqrt(3), r"single\.shape = \(3,\)"),
    (jnp.ones(2), r"single norm\^2 = 2\.0"),
    (jnp.eye(2) / 2, r"single\.shape = \(2, 2\)"),
])
def test_product_state_checks_single(single, match):
    with pytest.raises(ValueError, match=match):
        qsense.product_state(single, 2)


def test_product_state_and_density_accept_states():
    s = jnp.array([0.6, 0.8j])
    np.testing.assert_allclose(qsense.product_state(s, 2), jnp.kron(s, s))
    np.testing.assert_allclose(qsense.plus_state(3), jnp.full(8, 8**-0.5), atol=1e-15)
    rho = qsense.density(PSI2)
    np.testing.assert_allclose(rho, jnp.outer(PSI2, PSI2.conj()))
    assert qsense.density(rho) is rho or np.array_equal(qsense.density(rho), rho)
    np.testing.assert_allclose(jax.jit(qsense.density)(PSI2), rho)


@pytest.mark.parametrize(("state", "match"), [
    (jnp.ones(3), r"state\.shape = 3"),
    (jnp.ones(4), r"state norm\^2 = 4\.0"),
    (jnp.ones((2, 3)), r"state\.shape = \(2, 3\)"),
    (jnp.eye(3) / 3, r"state\.shape = 3"),
])
def test_density_checks_state(state, match):
    with pytest.raises(ValueError, match=match):
        qsense.density(state)


def test_density_passes_a_matrix_through():
    unit = jnp.eye(4, k=1)  # |0><1|: linear maps (teleport_channel) pass operators through
    assert np.array_equal(qsense.density(unit), unit)


# ----------------------------------------------------------------------------- 7: sense, qcrb

@pytest.mark.parametrize(("t", "gamma", "match"), [
    (jnp.array([1.0, 2.0]), 0.1, r"t\.shape = \(2,\) is invalid; accepted: \(\)"),
    (1.0, jnp.array([0.1, 0.2]), r"gamma\.shape = \(2,\) is invalid; accepted: \(\)"),
    (np.ones((1,)), 0.1, r"t\.shape = \(1,\)"),
])
def test_sense_refuses_array_t_and_gamma(t, gamma, match):
    with pytest.raises(ValueError, match=match):
        qsense.sense(PSI2, 1.0, t, "dephasing", gamma)


def test_sense_vmaps_over_t():
    ts = jnp.array([0.5, 1.0])
    out = jax.vmap(lambda t: qsense.sense(PSI2, 1.0, t, "dephasing", 0.1))(ts)
    np.testing.assert_allclose(out[1], qsense.sense(PSI2, 1.0, 1.0, "dephasing", 0.1))


def test_qcrb_refuses_an_empty_matrix():
    with pytest.raises(ValueError, match=r"F\.shape = \(0, 0\).*k >= 1"):
        qsense.qcrb(jnp.zeros((0, 0)))


# --------------------------------------------------------- second walkthrough (helper-22)

def test_qfi_names_a_function_that_is_not_one_or_returns_no_array():
    with pytest.raises(ValueError, match=r"fn = 3 is invalid"):
        qsense.qfi(3, 0.3)
    with pytest.raises(ValueError, match=r"fn\(b0\) = 'tuple' is invalid"):
        qsense.qfi(lambda b: (_sensed(b),), 0.3)  # was JAX's TracerArrayConversionError
    with pytest.raises(ValueError, match=r"fn\(bvec0\) = 'list' is invalid"):
        qsense.qfim(lambda bv: [_sensed(bv[0])], jnp.zeros(2))


def test_a_traced_eps_is_refused_as_such():
    f = jax.jit(lambda e: qsense.qfi(_sensed, 0.3, eps=e))
    with pytest.raises(ValueError, match=r"eps = 'a traced value'.*concrete"):
        f(1e-10)


def test_genome_lists_of_whole_floats_are_indices():
    g = Genome([2.0, 1], [0, 0], [1, 1], [0.1, 0.2])  # the docstring: whole numbers -> int32
    assert g.gate.dtype == jnp.int32
    assert jnp.allclose(qsense.apply_pqc(PSI2, g),
                        qsense.apply_pqc(PSI2, make_genome([2, 1], [0, 0], [1, 1], [0.1, 0.2])))
    assert Genome([2.5], [0], [1], [0.1]).gate.dtype != jnp.int32  # refused when used
