"""The VQS objective: QFI (scalar field) or QFIM/QCRB (vector field) of the GHZ probe after
a PQC genome, sensed for time t under noise (DESIGN sections 3-4).

``make_fitness`` returns one jitted, vmapped XLA program for a whole population: the GA, the
optimizers and the benchmarks all call it, and it compiles once per (N, G, population) shape.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from qsense._checks import check_n_qubits, check_noise, fail
from qsense.fisher import qcrb, qfi, qfi_commutator, qfim
from qsense.genome import Genome
from qsense.noise import superoperator_1q
from qsense.pqc import _apply_vector
from qsense.sensing import apply_local_superoperator, as_field3
from qsense.states import density, ghz_state

FIELDS = ("scalar", "vector")


def probe_state(genome: Genome, n_qubits: int, dtype=None) -> jax.Array:
    """GHZ state on ``n_qubits`` followed by the genome's PQC (a pure state vector)."""
    return _apply_vector(ghz_state(n_qubits, dtype), genome, n_qubits)


def sensed_probe(genome: Genome, field, t, gamma, *, n_qubits: int, noise: str,
                 dtype=None) -> jax.Array:
    """Density matrix of the probe after sensing ``field`` for ``t`` (no input validation:
    the hot path; `qsense.sense` is the checked public entry)."""
    psi = probe_state(genome, n_qubits, dtype)
    rho = density(psi)
    real = jnp.finfo(rho.dtype).dtype
    sop = superoperator_1q(as_field3(jnp.asarray(field, real)), jnp.asarray(t, real), noise,
                           jnp.asarray(gamma, real), rho.dtype)
    return apply_local_superoperator(rho, sop, n_qubits)


#: noise channels covariant under the field's Z rotation: with them the sensed state is
#: ``U_B Lambda(rho0) U_B^H`` and ``d rho / dB = -i (t/2) [Jz, rho]`` exactly.
Z_COVARIANT_NOISES = ("none", "dephasing", "amplitude_damping")


def jz_diagonal(n_qubits: int, dtype) -> jax.Array:
    """Diagonal of ``Jz = sum_i Z_i`` (big-endian): ``n - 2 popcount(k)``."""
    k = jnp.arange(2**n_qubits, dtype=jnp.int32)
    return (n_qubits - 2 * jax.lax.population_count(k)).astype(jnp.finfo(dtype).dtype)


def probe_qfi(genome: Genome, t, gamma, b0=1.0, *, n_qubits: int, noise: str,
              dtype=None) -> jax.Array:
    """Scalar-field QFI with respect to B at ``b0``.

    Under a Z-covariant noise (`Z_COVARIANT_NOISES`) ``d rho/dB`` is the commutator
    ``-i (t/2) [Jz, rho]``, one elementwise pass, instead of a forward-mode tangent carried
    through every qubit's sensing map (bit flip takes that general path); tests check both
    against the independent reference.
    """
    if noise not in Z_COVARIANT_NOISES:
        return qfi(lambda b: sensed_probe(genome, b, t, gamma, n_qubits=n_qubits, noise=noise,
                                          dtype=dtype), b0)
    rho = sensed_probe(genome, b0, t, gamma, n_qubits=n_qubits, noise=noise, dtype=dtype)
    real = jnp.finfo(rho.dtype).dtype
    return qfi_commutator(rho, 0.5 * jnp.asarray(t, real) * jz_diagonal(n_qubits, rho.dtype))


def probe_qfim(genome: Genome, t, gamma, b0=(0.0, 0.0, 0.0), *, n_qubits: int, noise: str,
               dtype=None) -> jax.Array:
    """Vector-field QFIM (3, 3) with respect to (Bx, By, Bz) at ``b0``."""
    return qfim(lambda b: sensed_probe(genome, b, t, gamma, n_qubits=n_qubits, noise=noise,
                                       dtype=dtype), b0)


def make_fitness(n_qubits: int, noise: str, field: str = "scalar", *, dtype=None,
                 batched: bool = True, jit: bool = True) -> Callable:
    """``f(genomes, t, gamma, b0) -> fitness`` for a population (leading axis of ``genomes``).

    scalar field: fitness = QFI (maximize). vector field: fitness = -QCRB = -Tr(F^-1)
    (maximize; ``-inf`` for a singular QFIM). ``t``, ``gamma``, ``b0`` are shared by the
    population (``jax.vmap`` the result again to sweep them).
    """
    n_qubits = check_n_qubits(n_qubits)
    check_noise(noise)
    if field not in FIELDS:
        fail("field", field, f"one of {list(FIELDS)}")

    def one(genome, t, gamma, b0):
        if field == "scalar":
            return probe_qfi(genome, t, gamma, b0, n_qubits=n_qubits, noise=noise, dtype=dtype)
        fm = probe_qfim(genome, t, gamma, b0, n_qubits=n_qubits, noise=noise, dtype=dtype)
        return -qcrb(fm)

    f = jax.vmap(one, in_axes=(0, None, None, None)) if batched else one
    return jax.jit(f) if jit else f
