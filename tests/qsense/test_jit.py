"""Jit once per shape: new values with the same shapes must not recompile."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense


def _population(seed, n, g, size):
    keys = jax.random.split(jax.random.PRNGKey(seed), size)
    return jax.vmap(lambda k: qsense.random_genome(k, n, g))(keys)


@pytest.mark.usefixtures("fresh_jax")
def test_population_fitness_compiles_once_per_shape():
    """make_fitness is jit(vmap(score)) with the problem as data: one program per shape
    (the cache is shared by every make_fitness, so count what this test adds)."""
    f = qsense.make_fitness(3, "dephasing")
    start = f._cache_size()
    a = f(_population(0, 3, 7, 9), 1.0, 0.1, 1.0)
    b = f(_population(1, 3, 7, 9), 2.0, 0.3, 0.5)  # new genomes and new t, gamma, B0
    assert f._cache_size() == start + 1
    assert not np.allclose(a, b)
    # another Z-covariant noise and rate: the same program
    qsense.make_fitness(3, "amplitude_damping")(_population(1, 3, 7, 9), 2.0, 0.2, 0.5)
    assert f._cache_size() == start + 1
    f(_population(2, 3, 7, 17), 1.0, 0.1, 1.0)  # a new population size is a new shape
    assert f._cache_size() == start + 2


def test_traced_function_runs_once_for_new_values():
    traces = []

    @jax.jit
    def qfi_of(angles, t, gamma):
        traces.append(1)
        g = qsense.Genome(jnp.array([0, 3, 1]), jnp.array([1, 0, 0]), jnp.array([0, 1, 1]),
                          angles)
        return qsense.probe_qfi(g, t, gamma, 1.0, n_qubits=2, noise="amplitude_damping")

    for s in range(4):
        qfi_of(jnp.array([0.1, 0.2, 0.3]) * s, 1.0 + s, 0.1 * s)
    assert len(traces) == 1


def test_population_vmap_equals_per_genome_loop():
    """The vmapped population call agrees with evaluating genomes one at a time."""
    pop = _population(3, 4, 7, 5)
    f = qsense.make_fitness(4, "bitflip")
    batched = f(pop, 0.8, 0.2, 1.0)
    single = [qsense.probe_qfi(pop[i], 0.8, 0.2, 1.0, n_qubits=4, noise="bitflip")
              for i in range(5)]
    np.testing.assert_allclose(batched, single, rtol=1e-12)
