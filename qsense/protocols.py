"""Remote and distributed VQS over satellite- or fiber-distributed Werner pairs (seed 000,
section "Protocols").

Both protocols start from the probe ``psi`` (N qubits, pure) prepared at the base station (BS).

* **remote VQS** (MEO pairs): the BS keeps qubit 0 and teleports qubits ``1..N-1`` to remote
  sensor nodes (SNs), one Werner pair each; every qubit then senses the field locally (the BS's
  own qubit too) and is measured where it is (outcomes travel classically):
  ``rho = S_t( T_out(psi) )`` with ``T_out`` depolarizing qubit ``k >= 1`` by ``w_k``.
* **distributed VQS** (LEO pairs): all N qubits are teleported out to N SNs, sense locally,
  and are teleported back to the BS for a joint measurement:
  ``rho = T_back( S_t( T_out(psi) ) )``.

``S_t`` is the engine's sensing map (field and per-qubit noise for time ``t``); teleportation is
the exact channel of `qsense.teleport` (the explicit circuit agrees to 1e-10). The QFI is with
respect to the field at ``b0`` (DESIGN section 3); the single-parameter QCRB is ``1/F`` (one
repetition), the vector-field bound ``Tr F^-1``. Pairs are assumed used on arrival (on-demand
entangling, as the seed prescribes): storage decoherence of satellite pairs is not modelled;
the fiber chain's memory decoherence is already inside its end-to-end fidelity.

Everything is differentiable: through `link_fidelity` the QFI depends on the link's design
knobs (e.g. ``SatelliteLink.rx_aperture_m``) and ``jax.grad`` gives dQFI/dknob.

The QFI of a delivered probe is THE objective, `qsense.objective.score_state`, of a `Problem`
whose link hooks carry the teleportation channels (``pre_channel``: out, ``post_channel``:
back; depolarizing, so Z-covariant: the commutator fast path applies under dephasing and
amplitude damping). `tune_probe_angles` is a thin wrapper over
`qsense.optimize.optimize_angles` (the probe of the Fig. 4 experiment).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from qsense._checks import check_n_qubits, check_noise, check_nonneg, fail
from qsense.fisher import qcrb, qfim
from qsense.genome import CRX, RX, RY, RZ, Genome, make_genome
from qsense.links import FiberLink, SatelliteLink, dual_downlink, repeater_chain
from qsense.objective import Problem, probe_state, score_state
from qsense.sensing import sense
from qsense.states import density
from qsense.teleport import (
    _fidelities,
    depolarizing_superoperator,
    teleport_channel,
    werner_parameter,
)

PROTOCOLS = ("remote", "distributed")


def _check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        fail("protocol", protocol, f"one of {list(PROTOCOLS)}")
    return protocol


def _n_of(psi) -> int:
    dim = int(np.shape(psi)[0])
    n = dim.bit_length() - 1
    return check_n_qubits(n, "psi qubit count")


def out_fidelities(protocol: str, fidelity, n: int) -> jax.Array:
    """Per-qubit fidelities of the outward teleportation (1 for the BS's own qubit in the
    remote protocol). ``fidelity``: scalar, or (N-1,) remote / (N,) distributed."""
    _check_protocol(protocol)
    if protocol == "remote":
        if n < 2:
            fail("psi qubit count", n, "at least 2 for remote VQS (the BS keeps qubit 0)")
        f = _fidelities(fidelity, n - 1)
        return jnp.concatenate([jnp.ones((1,), f.dtype), f])
    return _fidelities(fidelity, n)


def _delivered(psi, f_out, f_back, field, t, gamma, protocol, noise):
    """Unchecked core (validated arguments; traced under jit)."""
    rho = sense(teleport_channel(psi, f_out), field, t, noise, gamma)
    if protocol == "distributed":
        rho = teleport_channel(rho, f_back)
    return rho


def _checked(psi, fidelity, t, gamma, protocol, noise, fidelity_back):
    n = _n_of(psi)
    check_noise(noise)
    check_nonneg("t", t)
    check_nonneg("gamma", gamma)
    f_out = out_fidelities(protocol, fidelity, n)
    f_back = f_out if fidelity_back is None else _fidelities(fidelity_back, n, "fidelity_back")
    return f_out, f_back


def delivered_state(psi, fidelity, field, t, gamma, *, protocol: str,
                    noise: str = "dephasing", fidelity_back=None) -> jax.Array:
    """Density matrix on which the protocol's final measurement acts (module docstring).

    ``fidelity_back`` (distributed only): fidelities of the return pairs (default: the same
    as the outward ones).
    """
    f_out, f_back = _checked(psi, fidelity, t, gamma, protocol, noise, fidelity_back)
    return _delivered(psi, f_out, f_back, field, t, gamma, protocol, noise)


def _teleport_sops(fidelities, dtype) -> jax.Array:
    """(N, 4, 4) depolarizing superoperators of teleportation over Werner pairs."""
    w = werner_parameter(fidelities).astype(jnp.finfo(dtype).dtype)
    return jax.vmap(lambda x: depolarizing_superoperator(x, dtype))(w)


def link_problem(n: int, f_out, f_back, gamma, b0, *, protocol: str, noise: str,
                 field: str = "scalar", dtype=None) -> Problem:
    """The objective's `Problem` of a protocol: teleportation out as ``pre_channel``, back
    (distributed only) as ``post_channel`` (depolarizing: Z-covariant). Traceable."""
    dtype = jnp.dtype(dtype or jnp.result_type(complex))
    post = _teleport_sops(f_back, dtype) if protocol == "distributed" else None
    return Problem(n, noise, gamma, field, b0, dtype=dtype,
                   pre_channel=_teleport_sops(f_out, dtype), post_channel=post,
                   post_covariant=True if post is not None else None)


@functools.partial(jax.jit, static_argnames=("protocol", "noise"))
def _qfi_core(psi, f_out, f_back, t, gamma, b0, protocol, noise):
    rho = density(psi)
    if not jnp.iscomplexobj(rho):
        rho = rho.astype(jnp.result_type(complex))
    prob = link_problem(_n_of(psi), f_out, f_back, gamma, b0, protocol=protocol, noise=noise,
                        dtype=rho.dtype)
    return score_state(prob, rho, t)


def protocol_qfi(psi, fidelity, t, gamma, b0=1.0, *, protocol: str,
                 noise: str = "dephasing", fidelity_back=None) -> jax.Array:
    """Scalar-field QFI of the delivered probe with respect to B at ``b0`` (jitted core:
    compiled once per (N, protocol, noise); differentiable in every array argument)."""
    f_out, f_back = _checked(psi, fidelity, t, gamma, protocol, noise, fidelity_back)
    real = jnp.result_type(float)
    return _qfi_core(jnp.asarray(psi), f_out.astype(real), f_back.astype(real),
                     jnp.asarray(t, real), jnp.asarray(gamma, real), jnp.asarray(b0, real),
                     protocol, noise)


def protocol_qcrb(psi, fidelity, t, gamma, b0=1.0, *, protocol: str, noise: str = "dephasing",
                  field: str = "scalar", fidelity_back=None) -> jax.Array:
    """QCRB of one repetition: ``1/F`` (scalar field) or ``Tr F^-1`` (vector field at
    ``b0 = (Bx, By, Bz)``); ``inf`` when the information is zero / the QFIM singular."""
    if field == "scalar":
        f = protocol_qfi(psi, fidelity, t, gamma, b0, protocol=protocol, noise=noise,
                         fidelity_back=fidelity_back)
        return jnp.where(f > 0, 1.0 / jnp.where(f > 0, f, 1.0), jnp.inf)
    if field != "vector":
        fail("field", field, "'scalar' or 'vector'")
    b0 = jnp.zeros(3) if np.ndim(b0) == 0 else jnp.asarray(b0)
    fm = qfim(lambda b: delivered_state(psi, fidelity, b, t, gamma, protocol=protocol,
                                        noise=noise, fidelity_back=fidelity_back), b0)
    return qcrb(fm)


def peak_qfi(psi, fidelity, t_grid, gamma, b0=1.0, *, protocol: str,
             noise: str = "dephasing") -> tuple[jax.Array, jax.Array]:
    """``(max_t QFI, argmax t)`` over ``t_grid`` (one vmapped call; refine the grid for more
    digits). Differentiable in ``fidelity`` (the max picks the best grid point)."""
    t_grid = jnp.asarray(t_grid)
    if t_grid.ndim != 1 or t_grid.shape[0] < 1:
        fail("t_grid.shape", t_grid.shape, "a non-empty 1-D grid of sensing times")
    q = jax.vmap(lambda t: protocol_qfi(psi, fidelity, t, gamma, b0, protocol=protocol,
                                        noise=noise))(t_grid)
    i = jnp.argmax(q)
    return q[i], t_grid[i]


# ----------------------------------------------------------------------------- links


def _link_stats(link: SatelliteLink | FiberLink, distance_km):
    """Pair statistics of either link type (``.rate_hz``, ``.fidelity``)."""
    if isinstance(link, SatelliteLink):
        return dual_downlink(link, distance_km)
    if isinstance(link, FiberLink):
        return repeater_chain(link, distance_km)
    fail("link", type(link).__name__, "a SatelliteLink or a FiberLink")
    raise AssertionError  # unreachable


def link_fidelity(link: SatelliteLink | FiberLink, distance_km) -> jax.Array:
    """Werner fidelity of the BS-SN pairs at ground distance ``distance_km`` (broadcasts).

    Satellite: dual down-link with the satellite over the midpoint (best geometry of a pass);
    0.25 beyond line of sight. Fiber: the repeater chain's end-to-end fidelity.
    """
    return _link_stats(link, distance_km).fidelity


def link_rate(link: SatelliteLink | FiberLink, distance_km) -> jax.Array:
    """Pair rate (Hz) matching :func:`link_fidelity`."""
    return _link_stats(link, distance_km).rate_hz


def link_qfi(link: SatelliteLink | FiberLink, distance_km, psi, t, gamma, b0=1.0, *,
             protocol: str, noise: str = "dephasing") -> jax.Array:
    """QFI of the probe delivered over ``link`` with every SN at ``distance_km`` (scalar)
    from the BS. ``jax.grad`` with respect to ``link`` gives dQFI / d(design knob)."""
    f = link_fidelity(link, distance_km)
    return protocol_qfi(psi, f, t, gamma, b0, protocol=protocol, noise=noise)


def link_peak_qfi(link, distances_km, psi, t_grid, gamma, b0=1.0, *, protocol: str,
                  noise: str = "dephasing") -> tuple[jax.Array, jax.Array]:
    """Peak QFI over ``t_grid`` and its time, for each distance (vmapped over distances)."""
    fids = link_fidelity(link, jnp.asarray(distances_km))
    f = jax.vmap(lambda x: peak_qfi(psi, x, t_grid, gamma, b0, protocol=protocol,
                                    noise=noise))
    return f(jnp.ravel(fids))


# ----------------------------------------------------------------------------- probes


def vqs_ansatz(n_qubits: int, key: jax.Array | None = None, scale: float = 0.3) -> Genome:
    """A small fixed PQC after the GHZ preparation: Ry on every qubit, a CRx chain
    (q_i -> q_i+1), then Rx and Rz on every qubit. Angles uniform in [-scale, scale]
    (``key``), zeros without a key."""
    n = check_n_qubits(n_qubits)
    gates, ctrl, targ = [], [], []
    for q in range(n):
        gates.append(RY), ctrl.append(0), targ.append(q)
    for q in range(n - 1):
        gates.append(CRX), ctrl.append(q), targ.append(q + 1)
    for g in (RX, RZ):
        for q in range(n):
            gates.append(g), ctrl.append(0), targ.append(q)
    size = len(gates)
    angle = (np.zeros(size) if key is None
             else np.asarray(jax.random.uniform(key, (size,), minval=-scale, maxval=scale)))
    return make_genome(gates, ctrl, targ, angle)


def tune_probe_angles(genome: Genome, n_qubits: int, gamma, *, noise: str = "dephasing",
                      t0: float = 1.0, b0: float = 1.0, steps: int = 300,
                      learning_rate: float = 0.05) -> tuple[Genome, float, float, list[float]]:
    """Maximize the QFI (`qsense.score`, no links) over the genome's angles and the sensing
    time by Adam from ``t0``: a thin wrapper over `qsense.optimize.optimize_angles`.

    Returns ``(genome, t_opt, qfi, history)`` (history: the QFI along the trajectory).
    """
    from qsense.optimize import optimize_angles

    n = check_n_qubits(n_qubits)
    check_noise(noise)
    res = optimize_angles(Problem(n, noise, gamma, "scalar", b0), genome, method="adam",
                          steps=int(steps), learning_rate=learning_rate, t0=t0)
    return res.genome, res.t, res.value, [float(x) for x in res.history[0]]


def probe_vector(genome: Genome | None, n_qubits: int) -> jax.Array:
    """The probe state: GHZ (``genome=None``) or GHZ followed by the genome's PQC."""
    from qsense.states import ghz_state

    return ghz_state(n_qubits) if genome is None else probe_state(genome, n_qubits)


__all__ = [
    "PROTOCOLS", "delivered_state", "link_fidelity", "link_peak_qfi", "link_problem", "link_qfi",
    "link_rate", "out_fidelities", "peak_qfi", "probe_vector", "protocol_qcrb",
    "protocol_qfi", "tune_probe_angles", "vqs_ansatz",
]
