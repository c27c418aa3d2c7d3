"""Bad input gets a ValueError naming the argument, the value and the accepted range."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense


def test_qubit_count_range():
    with pytest.raises(ValueError, match=r"n = 0 .*\[1, 12\]"):
        qsense.ghz_state(0)
    with pytest.raises(ValueError, match=r"n = 13 .*\[1, 12\]"):
        qsense.ghz_state(13)
    with pytest.raises(ValueError, match="n_qubits"):
        qsense.random_genome(jax.random.PRNGKey(0), 0, 4)
    with pytest.raises(ValueError, match="n_qubits"):
        qsense.make_fitness(40, "dephasing")


def test_gene_indices_and_codes():
    psi = qsense.ghz_state(3)
    with pytest.raises(ValueError, match=r"genome\.target = \[3\].*\[0, 2\]"):
        qsense.apply_pqc(psi, qsense.make_genome([0], [1], [3], [0.1]))
    with pytest.raises(ValueError, match=r"genome\.control = \[-1\]"):
        qsense.apply_pqc(psi, qsense.make_genome([3], [-1], [0], [0.1]))
    with pytest.raises(ValueError, match=r"genome\.control.*different from the target"):
        qsense.apply_pqc(psi, qsense.make_genome([3], [1], [1], [0.1]))
    with pytest.raises(ValueError, match=r"genome\.gate = \[7\]"):
        qsense.apply_pqc(psi, qsense.make_genome([7], [0], [1], [0.1]))
    with pytest.raises(ValueError, match=r"genome\.angle"):
        qsense.apply_pqc(psi, qsense.make_genome([0], [0], [1], [np.nan]))
    # single-qubit genes ignore their control, even when it equals the target
    qsense.apply_pqc(psi, qsense.make_genome([0], [1], [1], [0.1]))


def test_sense_arguments():
    psi = qsense.ghz_state(2)
    with pytest.raises(ValueError, match=r"gamma = -0\.1 .*>= 0"):
        qsense.sense(psi, 1.0, 1.0, "dephasing", -0.1)
    with pytest.raises(ValueError, match=r"t = -1\.0"):
        qsense.sense(psi, 1.0, -1.0, "dephasing", 0.1)
    with pytest.raises(ValueError, match=r"noise = 'depolarizing'.*amplitude_damping"):
        qsense.sense(psi, 1.0, 1.0, "depolarizing", 0.1)
    with pytest.raises(ValueError, match=r"field\.shape = \(2,\)"):
        qsense.sense(psi, jnp.ones(2), 1.0)
    with pytest.raises(ValueError, match=r"field"):
        qsense.sense(psi, jnp.array([0.0, np.inf, 0.0]), 1.0)
    with pytest.raises(ValueError, match=r"t = nan"):
        qsense.sense(psi, 1.0, np.nan)


def test_state_checks():
    with pytest.raises(ValueError, match=r"state norm\^2 = 4\.0"):
        qsense.sense(2 * qsense.ghz_state(2), 1.0, 1.0)
    with pytest.raises(ValueError, match=r"state\.shape = 3"):
        qsense.sense(jnp.ones(3) / np.sqrt(3), 1.0, 1.0)
    bad = jnp.array([[0.5, 0.5], [0.0, 0.5]], jnp.complex128)
    with pytest.raises(ValueError, match="Hermiticity"):
        qsense.sense(bad, 1.0, 1.0)
    with pytest.raises(ValueError, match="trace"):
        qsense.sense(jnp.eye(2, dtype=jnp.complex128), 1.0, 1.0)
    with pytest.raises(ValueError, match="smallest eigenvalue"):
        qsense.sense(jnp.diag(jnp.array([1.5, -0.5])).astype(jnp.complex128), 1.0, 1.0)


def test_qfi_arguments():
    with pytest.raises(ValueError, match=r"b0\.shape"):
        qsense.qfi(lambda b: qsense.sense(qsense.ghz_state(1), b[0], 1.0), jnp.ones(2))
    with pytest.raises(ValueError, match=r"F\.shape"):
        qsense.qcrb(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="field"):
        qsense.make_fitness(2, "dephasing", field="tensor")
    with pytest.raises(ValueError, match="gate_probs"):
        qsense.random_genome(jax.random.PRNGKey(0), 2, 3, gate_probs=[1, -1, 0, 0, 0])
