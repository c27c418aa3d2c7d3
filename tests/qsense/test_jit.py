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


def _angle_score(problem, genome, angles, t):
    return qsense.score(problem, qsense.Genome(genome.gate, genome.control, genome.target,
                                               angles), t)


@pytest.mark.parametrize("noise,field,b0", [("dephasing", "scalar", 1.0),
                                            ("bitflip", "vector", (0.1, -0.2, 0.3))])
def test_eager_calls_compile_once_per_shape(noise, field, b0):
    """Called eagerly (outside any jit: a user's loop, a notebook), the objective and the
    engine's loop-holding pieces compile once per shape: a second call with new values lowers
    no program (an eager scan, fori_loop or cond is otherwise traced and compiled anew on
    every call, 0.4-0.6 s per `score` call at N = 4)."""
    from jax._src.dispatch import JAXPR_TO_MLIR_MODULE_EVENT

    from qsense.noise import expm_small
    from qsense.objective import Problem, score_pure, score_state
    from qsense.sensing import apply_qubit_superoperators

    n = 3
    p = Problem(n, noise, 0.1, field, b0)
    g = [qsense.random_genome(jax.random.PRNGKey(k), n, 6) for k in (0, 1)]
    psi = [qsense.apply_pqc(qsense.ghz_state(n), gi) for gi in g]
    rho = [jnp.outer(s, jnp.conj(s)) for s in psi]
    ts = [jnp.asarray(1.0), jnp.asarray(1.7)]
    gens = [jnp.asarray([[-0.1, 0.2, 0.0, 0.3j], [0.0, 0.1, 0.0, 0.0],
                         [0.0, 0.0, 0.2, 0.0], [0.05, 0.0, 0.0, -0.3]]) * s for s in (1, 2)]
    sops = [jnp.stack([expm_small(a)] * n) for a in gens]
    grad = jax.grad(_angle_score, argnums=2)

    def calls(i):
        return [qsense.score(p, g[i], ts[i]), score_pure(p, psi[i], ts[i]),
                score_state(p, rho[i], ts[i]), qsense.apply_pqc(psi[i], g[i]),
                expm_small(gens[i]), apply_qubit_superoperators(rho[i], sops[i], n),
                grad(p, g[i], g[i].angle, ts[i])]

    first = jax.block_until_ready(calls(0))
    lowered = []

    def count(event, _secs, **_kw):
        if event == JAXPR_TO_MLIR_MODULE_EVENT:
            lowered.append(event)

    jax.monitoring.register_event_duration_secs_listener(count)
    try:
        second = jax.block_until_ready(calls(1))
        again = len(lowered)
        # the listener does see lowerings (a JAX that renamed the event would otherwise pass
        # this test vacuously): a new shape, 7 genes instead of 6, is lowered
        longer = qsense.random_genome(jax.random.PRNGKey(2), n, 7)
        jax.block_until_ready(qsense.score(p, longer, ts[0]))
    finally:
        jax.monitoring.unregister_event_duration_listener(count)
    assert again == 0, f"{again} programs lowered for new values of the same shapes"
    assert len(lowered) > 0
    for a, b in zip(first, second, strict=True):  # new values, not a stale cached result
        assert not np.allclose(np.asarray(a), np.asarray(b))
