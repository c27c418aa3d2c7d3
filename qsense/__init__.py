"""qsense: differentiable density-matrix engine for variational quantum sensing networks.

Conventions (DESIGN section 3): big-endian qubits; ``R_P(a) = exp(-i a P/2)``; scalar field
``H = (B/2) sum Z_i``, vector field ``H = 1/2 sum (Bx X_i + By Y_i + Bz Z_i)``; per-qubit
Lindblad noise at rate gamma during sensing; QFI per unit of B.

float64/complex128 needs ``jax.config.update("jax_enable_x64", True)`` (the experiment entry
point and the tests set it; the library does not change global JAX config at import).
OpenBLAS runs on one thread unless ``OPENBLAS_NUM_THREADS`` is set (`qsense.blas`: per-matrix
threads only spin-wait at the engine's sizes; parallelism comes from the batch), and XLA's CPU
pool gets one thread more than the cores unless ``PJRT_NPROC`` is set (`qsense.blas`: the thread
that calls a batched eigh inside a program only waits).
"""

from qsense import blas as _blas
from qsense import (
    draw,
    ephemeris,
    genetic,
    linkprobe,
    links,
    memory,
    objective,
    optimize,
    orbits,
    protocols,
    teleport,
    wigner,
)
from qsense._checks import MAX_QUBITS, NOISE_MODELS
from qsense.fisher import qcrb, qfi, qfim, qfim_from_derivatives
from qsense.genetic import GAConfig, RefineConfig, find_optimal_probe, search
from qsense.genome import (
    CRX,
    GATE_NAMES,
    IDENTITY,
    RX,
    RY,
    RZ,
    Genome,
    describe,
    empty_genome,
    make_genome,
    random_genome,
    validate_genome,
)
from qsense.links import FiberLink, SatelliteLink, dual_downlink, repeater_chain
from qsense.noise import kraus_operators, liouvillian_1q, superoperator_1q
from qsense.objective import (
    Problem,
    make_fitness,
    merit,
    probe_qfi,
    probe_qfim,
    probe_state,
    score,
    score_pure,
    score_state,
    sensed_probe,
)
from qsense.optimize import make_step, optimize_angles
from qsense.orbits import pass_average, pass_profile
from qsense.pqc import apply_pqc
from qsense.protocols import link_qfi, protocol_qcrb, protocol_qfi
from qsense.sensing import sense
from qsense.states import basis_state, density, ghz_state, plus_state, product_state
from qsense.teleport import teleport_channel, teleport_circuit
from qsense.wigner import plot_wigner, wigner_function

__all__ = [
    "CRX", "GATE_NAMES", "IDENTITY", "MAX_QUBITS", "NOISE_MODELS", "RX", "RY", "RZ",
    "Genome", "apply_pqc", "basis_state", "density", "describe", "empty_genome", "ghz_state",
    "kraus_operators", "liouvillian_1q", "make_fitness", "make_genome", "plus_state",
    "probe_qfi", "probe_qfim", "probe_state", "product_state", "qcrb", "qfi", "qfim",
    "qfim_from_derivatives", "random_genome", "sense", "sensed_probe", "superoperator_1q",
    "validate_genome",
    # links, orbits, teleportation, protocols (submodules qsense.links, .orbits, .teleport,
    # .protocols hold the rest)
    "FiberLink", "SatelliteLink", "dual_downlink", "ephemeris", "link_qfi", "linkprobe", "links",
    "memory", "orbits", "pass_average",
    "pass_profile", "protocol_qcrb", "protocol_qfi", "protocols", "repeater_chain", "teleport",
    "teleport_channel", "teleport_circuit",
    # THE objective (qsense.objective): score (maximized), its problem, the human merit
    "objective", "score", "score_pure", "score_state",
    # VQS: angle/time optimization, genetic structure search, Wigner function, drawings
    # (submodules qsense.optimize, .genetic, .wigner, .draw)
    "GAConfig", "Problem", "RefineConfig", "draw", "find_optimal_probe", "genetic", "make_step",
    "merit", "optimize", "optimize_angles", "plot_wigner", "search", "wigner",
    "wigner_function",
]

__version__ = "0.1.0"

_blas.default_blas_threads()
_blas.default_xla_pool()
