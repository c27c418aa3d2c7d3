"""Remote and distributed VQS over satellite- or fiber-distributed Werner pairs (seed 000,
section "Protocols").

Both protocols start from the probe ``psi`` (N qubits, pure) prepared at the base station (BS).

* **remote VQS** (MEO pairs): the BS keeps qubit 0 and teleports qubits ``1..N-1`` to remote
  sensor nodes (SNs), one Werner pair each. Only the SNs' qubits encode the field (the seed:
  the field is sensed at the SNs): the BS's qubit 0 does NOT sense (``sensors[0] = 0``) and,
  away from the sensed environment, does not feel the sensing noise either
  (``noise_weights[0] = 0``); its memory's own decay while it waits, which needs a time scale,
  is `qsense.linkprobe.link_problem`'s ``memory_time``. Each node measures its own qubit
  (local measurements + classical communication): the QFI reported here is that of the joint
  state, an upper bound on what LOCC reaches; `qsense.linkprobe.best_local_fisher` gives the
  best local-measurement Fisher information. ``rho = S_t^{sensors}( T_out(psi) )``.
* **distributed VQS** (LEO pairs): all N qubits are teleported out to N SNs, sense locally,
  and are teleported back to the BS for a joint measurement (the QFI is reachable):
  ``rho = T_back( S_t( T_out(psi) ) )``.

The channels are those of `qsense.linkprobe.link_channels` (ONE implementation of the
protocols): teleportation over a Werner pair is the depolarizing channel of `qsense.teleport`
(the explicit circuit agrees to 1e-10). The state and its QFI are THE objective's
(`qsense.objective.sensed_state`, `score_state`) for the `Problem` of
`qsense.linkprobe.link_problem` (depolarizing is Z-covariant: the commutator fast path applies
under dephasing and amplitude damping). The QFI is with respect to the field at ``b0``
(DESIGN section 3); the single-parameter QCRB is ``1/F`` (one repetition), the vector-field
bound ``Tr F^-1``. Pairs are used on arrival here; memory decoherence while a probe's pairs are
collected is `qsense.memory` (folded into the Werner factors, see `qsense.linkprobe`).

Everything is differentiable: through `link_fidelity` the QFI depends on the link's design
knobs (e.g. ``SatelliteLink.rx_aperture_m``) and ``jax.grad`` gives dQFI/dknob.
`tune_probe_angles` is a thin wrapper over `qsense.optimize.optimize_angles`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from qsense._checks import (
    as_array_if_traced,
    check_finite,
    check_n_qubits,
    check_noise,
    check_nonneg,
    fail,
    is_concrete,
    real_array,
)
from qsense.genome import CRX, RX, RY, RZ, Genome, make_genome
from qsense.linkprobe import PROTOCOLS, _check_protocol
from qsense.linkprobe import link_problem as _link_problem
from qsense.links import FiberLink, SatelliteLink, dual_downlink, repeater_chain
from qsense.objective import Problem, probe_state, score_state, sensed_state
from qsense.states import density, validate_state
from qsense.teleport import _fidelities, werner_parameter


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


def _checked(psi, fidelity, t, gamma, protocol, noise, fidelity_back):
    if is_concrete(psi):  # the jitted cores never see a concrete psi: check it here (first:
        validate_state(psi, "psi")  # a string or None has no dimension to count qubits by)
    n = _n_of(psi)
    check_noise(noise)
    check_nonneg("t", t)
    check_nonneg("gamma", gamma)
    f_out = out_fidelities(protocol, fidelity, n)
    f_back = f_out if fidelity_back is None else _fidelities(fidelity_back, n, "fidelity_back")
    return f_out, f_back


def delivered_state(psi, fidelity, field, t, gamma, *, protocol: str,
                    noise: str = "dephasing", fidelity_back=None) -> jax.Array:
    """Density matrix on which the protocol's final measurement acts (module docstring):
    `qsense.objective.sensed_state` of `link_problem` at ``field`` (scalar B or (Bx, By, Bz)).

    ``fidelity_back`` (distributed only): fidelities of the return pairs (default: the same
    as the outward ones).
    """
    f_out, f_back = _checked(psi, fidelity, t, gamma, protocol, noise, fidelity_back)
    field = as_array_if_traced(field, "field", "() for a scalar field B or (3,) for "
                               "(Bx, By, Bz)")
    kind = "scalar" if np.ndim(field) == 0 else "vector"
    rho = density(jnp.asarray(psi))
    if not jnp.iscomplexobj(rho):
        rho = rho.astype(jnp.result_type(complex))
    prob = link_problem(_n_of(psi), f_out, f_back, gamma, field, protocol=protocol, noise=noise,
                        field=kind, dtype=rho.dtype)
    return sensed_state(prob, rho, t)


def link_problem(n: int, f_out, f_back, gamma, b0, *, protocol: str, noise: str,
                 field: str = "scalar", dtype=None) -> Problem:
    """The objective's `Problem` of a protocol from per-qubit pair fidelities (``f_out`` (N,),
    entry 0 unused for remote; ``f_back`` (N,), distributed only): `qsense.linkprobe.
    link_problem` with Werner factors ``w = (4F - 1)/3`` (the probe enters as a state, so the
    problem's ``initial`` is unused). ``n`` is implied by ``f_out``. Traceable."""
    del n  # the qubit count is the length of f_out
    return _link_problem(protocol, werner_parameter(jnp.asarray(f_out)),
                         werner_parameter(jnp.asarray(f_back)), gamma=gamma, noise=noise,
                         field=field, b0=b0, dtype=dtype)


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
    compiled once per (N, protocol, noise); differentiable in every array argument).

    Concrete inputs are checked (a ValueError, never a NaN): ``psi`` a normalized state
    vector or a density matrix (trace 1, Hermitian, PSD) of N qubits, ``b0`` a finite scalar."""
    f_out, f_back = _checked(psi, fidelity, t, gamma, protocol, noise, fidelity_back)
    _check_b0_scalar(b0)
    real = jnp.result_type(float)
    return _qfi_core(jnp.asarray(psi), f_out.astype(real), f_back.astype(real),
                     jnp.asarray(t, real), jnp.asarray(gamma, real), jnp.asarray(b0, real),
                     protocol, noise)


def _check_b0_scalar(b0) -> None:
    b0 = as_array_if_traced(b0, "b0", "a finite scalar field value B")
    if np.ndim(b0) != 0:
        fail("b0", np.asarray(b0).tolist() if is_concrete(b0) else np.shape(b0),
             "a finite scalar field value B (a (Bx, By, Bz) field: protocol_qcrb(..., "
             "field='vector'))")
    check_finite("b0", b0)


def protocol_qcrb(psi, fidelity, t, gamma, b0=None, *, protocol: str, noise: str = "dephasing",
                  field: str = "scalar", fidelity_back=None) -> jax.Array:
    """QCRB of one repetition: ``1/F`` (scalar field at ``b0``, default 1.0) or ``Tr F^-1``
    (vector field at ``b0 = (Bx, By, Bz)``, default (0, 0, 0): `qsense.Problem`'s defaults);
    ``inf`` when the information is zero / the QFIM singular. A scalar ``b0`` with
    ``field="vector"`` is refused (it names no direction), as is a NaN or infinite ``b0``."""
    if field == "scalar":
        b0 = 1.0 if b0 is None else b0
        f = protocol_qfi(psi, fidelity, t, gamma, b0, protocol=protocol, noise=noise,
                         fidelity_back=fidelity_back)
        # NaN (an invalid traced t or gamma, `qsense.score_state`) stays NaN, not inf
        return jnp.where(jnp.isnan(f), f, jnp.where(f > 0, 1.0 / jnp.where(f > 0, f, 1.0),
                                                    jnp.inf))
    if field != "vector":
        fail("field", field, "'scalar' or 'vector'")
    f_out, f_back = _checked(psi, fidelity, t, gamma, protocol, noise, fidelity_back)
    b0 = as_array_if_traced(b0, "b0", "a (Bx, By, Bz) triple for field='vector'")
    if b0 is None:
        b0 = np.zeros(3)
    elif np.shape(b0) != (3,):
        fail("b0", np.asarray(b0).tolist() if is_concrete(b0) else np.shape(b0),
             "a (Bx, By, Bz) triple for field='vector' (None: (0, 0, 0))")
    elif is_concrete(b0):
        check_finite("b0", np.asarray(b0).tolist())
    rho = density(jnp.asarray(psi))
    if not jnp.iscomplexobj(rho):
        rho = rho.astype(jnp.result_type(complex))
    prob = link_problem(_n_of(psi), f_out, f_back, gamma, b0, protocol=protocol, noise=noise,
                        field="vector", dtype=rho.dtype)
    return -score_state(prob, rho, t)  # score = -Tr F^-1 (-inf when the QFIM is singular)


def peak_qfi(psi, fidelity, t_grid, gamma, b0=1.0, *, protocol: str,
             noise: str = "dephasing") -> tuple[jax.Array, jax.Array]:
    """``(max_t QFI, argmax t)`` over ``t_grid`` (one vmapped call; refine the grid for more
    digits). Differentiable in ``fidelity`` (the max picks the best grid point). A concrete
    ``t_grid`` must hold finite times > 0."""
    t_grid = as_array_if_traced(t_grid, "t_grid", "a non-empty 1-D grid of sensing times > 0")
    if is_concrete(t_grid):  # as qsense.linkprobe.peak_qfi: a t <= 0 must not be the argmax
        g = real_array("t_grid", t_grid, "a non-empty 1-D grid of sensing times > 0")
        if g.ndim != 1 or g.size < 1 or not np.all(np.isfinite(g) & (g > 0)):
            fail("t_grid", g.tolist(), "a non-empty 1-D grid of finite sensing times > 0")
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
    if is_concrete(distances_km):  # a string: named, not JAX's TypeError
        real_array("distances_km", distances_km, "ground distances (km)")
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
