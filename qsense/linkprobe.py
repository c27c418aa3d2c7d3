"""Probes designed for the link, through THE objective (`qsense.objective`, issue 12).

A link enters the one objective as data: the `qsense.Problem` hooks (`qsense.objective`)
``pre_channel`` (N, 4, 4) per-qubit superoperators before sensing (teleportation out over
Werner pairs whose factors include the memory decoherence while the probe's pairs are
collected, `qsense.memory`), ``post_channel`` (N, 4, 4) after sensing (distributed VQS:
teleportation back), ``sensors`` (N,) in {0, 1} (which qubits couple to the field),
``noise_weights`` (N,) (which feel the sensing noise) and ``post_decay`` (N,) (memory decay
while the probe senses).
:func:`link_problem` builds that `Problem`; the QFI of a probe over the link is
``qsense.score(problem, genome, t)``, its angles and sensing time are optimized by
`qsense.optimize.optimize_angles` (:func:`optimize_link_probe`) and its structure, where a
search is wanted, by ``qsense.genetic.find_optimal_probe(link_problem(..., initial="ghz"))``.
This module adds no sensing map, QFI or optimizer of its own.

Protocols (seed 000, "Protocols"; `qsense.protocols` uses the same channels):

* **remote**: the base station (BS) keeps qubit 0 (not teleported: identity pre-channel) and
  teleports qubits 1..N-1 to the sensor nodes (SNs). Only the SNs' qubits encode the field
  (``sensors = (0, 1, ..., 1)``), and only they feel the sensing noise (``noise_weights =
  (0, 1, ..., 1)``): qubit 0 waits in the BS's memory for the sensing time, away from the
  sensed environment, and with ``link_problem(..., memory_time=T)`` depolarizes to
  ``exp(-t/T)`` there (the default T = inf keeps it intact). Allowed measurements: local at
  each node plus classical communication (LOCC). The QFI reported is that of the joint state,
  an UPPER bound on what LOCC reaches; :func:`best_local_fisher` gives the Fisher information
  of the best local projective measurements (it reaches the QFI for noiseless GHZ).
* **distributed**: all N qubits are teleported out, sense, and are teleported back; the BS
  makes a joint measurement, so the QFI (attained by the SLD measurement at b0) is reachable.
  The N return pairs are collected with the out pairs, before the probe leaves, so they also
  wait in memories while the probe senses: ``link_problem(..., return_decay=2/T)`` depolarizes
  each to ``w_back exp(-2t/T)`` at the end of the sensing time t (`Problem.post_decay`; t in
  seconds wherever a memory time is given). :func:`fisher_rate` and fig4 include it.

The ansatz :func:`link_ansatz` starts from |0...0> (``Problem(initial="zero")``) and expresses
GHZ and the product |+>^N exactly (:func:`ghz_angles`, :func:`product_angles`), so the
link-aware optimum, restarted from both and keeping the best iterate, is never below either.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from qsense._checks import as_array_if_traced, check_not_traced, fail, is_concrete, real_array
from qsense.genome import CRX, RY, RZ, Genome, make_genome
from qsense.memory import _check_coherence_time, collect, pairs_per_probe
from qsense.objective import Problem, score
from qsense.teleport import depolarizing_superoperator

PROTOCOLS = ("remote", "distributed")


def _check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        fail("protocol", protocol, f"one of {list(PROTOCOLS)}")
    return protocol


def _check_w(name: str, w) -> None:
    if np.ndim(w) != 1:  # a batch of factors (one row per distance) is jax.vmap's job
        fail(f"{name}.shape", tuple(np.shape(w)), "(N,): one Werner factor per qubit "
             "(jax.vmap over a batch of links or distances)")
    if is_concrete(w):
        a = np.asarray(w, float)
        if not np.all(np.isfinite(a)) or np.any(a < -1e-12) or np.any(a > 1 + 1e-12):
            fail(name, w, "Werner factors w = (4F - 1)/3 in [0, 1] (memory decay included)")


def link_channels(protocol: str, w_out, w_back=None, dtype=None):
    """``(pre, post, sensors)`` of the protocol from per-qubit Werner factors (traceable).

    ``w_out`` (N,): factors of the pairs that teleport qubit i out (remote: entry 0 is ignored,
    the BS keeps qubit 0); ``w_back`` (N,): the return pairs (distributed; default ``w_out``).
    Teleportation over a Werner pair of factor w is the depolarizing channel
    ``rho -> w rho + (1 - w) I/2`` (`qsense.teleport`). Returns ``pre`` (N, 4, 4),
    ``post`` (N, 4, 4) or None (remote: nothing comes back), ``sensors`` (N,).
    """
    _check_protocol(protocol)
    w_out = as_array_if_traced(w_out, "w_out", "(N,): one Werner factor per qubit")
    w_back = as_array_if_traced(w_back, "w_back", "(N,): one Werner factor per qubit")
    _check_w("w_out", w_out)
    dtype = dtype or jnp.result_type(complex)
    real = jnp.finfo(dtype).dtype
    w_out = jnp.asarray(w_out, real)
    n = w_out.shape[-1]
    dep = jax.vmap(lambda w: depolarizing_superoperator(w, dtype))
    if protocol == "remote":
        if n < 2:
            fail("n_qubits", n, "at least 2 for remote VQS (the BS keeps qubit 0)")
        keep = jnp.arange(n) == 0
        w = jnp.where(keep, 1.0, w_out)  # qubit 0 is not teleported
        return dep(w), None, jnp.where(keep, 0.0, 1.0).astype(real)
    if w_back is not None:
        _check_w("w_back", w_back)
    w_back = w_out if w_back is None else jnp.asarray(w_back, real)
    return dep(w_out), dep(w_back), jnp.ones(n, real)


def link_problem(protocol: str, w_out, w_back=None, *, gamma=0.1, noise: str = "dephasing",
                 field: str = "scalar", b0=None, initial: str = "zero", dtype=None,
                 return_decay=0.0, memory_time=np.inf) -> Problem:
    """THE objective's `Problem` of a probe sent over a link (traceable in ``w_out``,
    ``w_back``, ``gamma``, ``b0``, ``return_decay``, ``memory_time``: ``jax.grad`` through it
    reaches the link's knobs).

    ``initial="zero"`` for :func:`link_ansatz` genomes, ``"ghz"`` for the genetic search
    (``qsense.genetic.find_optimal_probe``) and GHZ + PQC genomes.

    What waits in a memory while the probe senses for t decays with it (`Problem.post_decay`,
    a depolarizing factor ``exp(-rate t)`` at the end of the sensing time):

    * ``memory_time`` T (> 0, time units of t; inf, the default: no decay): the coherence time
      of the memories. Distributed: the N return pairs, held at both ends, decay at ``2/T``.
      Remote: the BS's own qubit 0, held in one memory until the local readout, decays at
      ``1/T`` and only so (``noise_weights[0] = 0``: the sensing noise ``gamma`` acts at the
      sensor nodes, on qubits 1..N-1, which are not in memories while they sense).
    * ``return_decay`` (distributed only; a rate >= 0, or (N,) rates): the return pairs' rate
      given directly, instead of ``memory_time``. 0 (default): none."""
    pre, post, sens = link_channels(protocol, w_out, w_back, dtype)
    n = int(pre.shape[0])

    def zero(x) -> bool:
        return is_concrete(x) and bool(np.all(np.asarray(x) == 0))

    accepted = "a coherence time > 0 in the time units of t (inf: no memory decay)"
    if np.ndim(memory_time) != 0:
        fail("memory_time", memory_time, accepted)
    _check_coherence_time(memory_time, "memory_time", accepted)
    held = not (is_concrete(memory_time) and np.isinf(memory_time))  # memories decay
    if held:
        if not zero(return_decay):
            fail("return_decay", return_decay, "0 when memory_time is given (it sets the "
                 "return pairs' rate 2/memory_time)")
        rate = 1.0 / jnp.asarray(memory_time, jnp.finfo(pre.dtype).dtype)
    decay = None
    if protocol == "remote":
        if not zero(return_decay):
            fail("return_decay", return_decay, "0 for remote VQS (nothing is teleported back)")
        if held:  # the BS's own qubit 0 waits in one memory
            decay = jnp.where(jnp.arange(n) == 0, rate, 0.0)
    elif held:  # the return pairs wait in memories at both ends
        decay = jnp.broadcast_to(2.0 * rate, (n,))
    elif is_concrete(return_decay):
        r = np.asarray(return_decay, float)
        if r.shape not in ((), (n,)) or not np.all(np.isfinite(r) & (r >= 0)):
            fail("return_decay", return_decay, f"a finite rate >= 0 (1/time units) or ({n},)"
                 " of them")
        if np.any(r > 0):
            decay = np.broadcast_to(r, (n,))
    else:
        decay = jnp.broadcast_to(return_decay, (n,))
    return Problem(n, noise, gamma, field, b0, initial, dtype,
                   pre_channel=pre, post_channel=post, sensors=sens,
                   post_covariant=None if post is None else True,  # depolarizing commutes with Z
                   post_decay=decay, noise_weights=sens if protocol == "remote" else None)


def stack_problems(problems: Sequence[Problem]) -> Problem:
    """One `Problem` pytree whose data carry a leading batch axis (same structure required):
    the input of ``jax.vmap`` over links / distances."""
    return jax.tree_util.tree_map(lambda *x: jnp.stack([jnp.asarray(a) for a in x]), *problems)


# ----------------------------------------------------------------------------- the ansatz


def link_ansatz(n_qubits: int) -> Genome:
    """From |0...0>: Ry on every qubit, a CRx chain q_i -> q_(i+1), Ry and Rz on every qubit
    (4N - 1 genes, angles zero)."""
    gates, ctrl, targ = [], [], []
    for q in range(n_qubits):
        gates.append(RY), ctrl.append(0), targ.append(q)
    for q in range(n_qubits - 1):
        gates.append(CRX), ctrl.append(q), targ.append(q + 1)
    for g in (RY, RZ):
        for q in range(n_qubits):
            gates.append(g), ctrl.append(0), targ.append(q)
    return make_genome(gates, ctrl, targ, np.zeros(len(gates)))


def ansatz_genome(angles, n_qubits: int) -> Genome:
    """:func:`link_ansatz` with ``angles`` (..., 4N - 1); leading axes batch the genome."""
    g = link_ansatz(n_qubits)
    if is_concrete(angles):  # a string: named, not JAX's TypeError
        real_array("angles", angles, f"real angles (..., {g.angle.shape[-1]}) = (..., 4N - 1)")
    angles = jnp.asarray(angles)
    if angles.shape[-1] != g.angle.shape[-1]:
        fail("angles.shape", angles.shape, f"(..., {g.angle.shape[-1]}) = (..., 4N - 1)")
    shape = angles.shape[:-1] + g.gate.shape
    return Genome(*(jnp.broadcast_to(x, shape) for x in (g.gate, g.control, g.target)), angles)


def ghz_angles(n_qubits: int) -> np.ndarray:
    """Angles of :func:`link_ansatz` giving ``(|0..0> + (-i)^(N-1) |1..1>)/sqrt 2``: a GHZ state
    up to a Z rotation (same QFI under Z-covariant noise and depolarizing links)."""
    a = np.zeros(4 * n_qubits - 1)
    a[0] = np.pi / 2
    a[n_qubits:2 * n_qubits - 1] = np.pi
    return a


def product_angles(n_qubits: int) -> np.ndarray:
    """Angles of :func:`link_ansatz` giving |+>^N: the best product probe for a Z field under
    Z-covariant noise and depolarizing links (an equatorial pure state on every qubit)."""
    a = np.zeros(4 * n_qubits - 1)
    a[:n_qubits] = np.pi / 2
    return a


def ansatz_starts(n_qubits: int, n_random: int = 1, seed: int = 0) -> np.ndarray:
    """Restart angles (2 + n_random, 4N - 1): GHZ, |+>^N, then uniform random in [-pi, pi)."""
    rnd = np.asarray(jax.random.uniform(jax.random.PRNGKey(seed), (n_random, 4 * n_qubits - 1),
                                        minval=-np.pi, maxval=np.pi))
    return np.concatenate([ghz_angles(n_qubits)[None], product_angles(n_qubits)[None], rnd])


# ----------------------------------------------------------------------------- peak and optimum


@jax.jit
def _grid_scores(problems: Problem, genomes: Genome, t_grid) -> jax.Array:
    """score (B, R, T) of genomes (R, G) over problems (B,) and times (T,)."""
    per_t = jax.vmap(score, (None, None, 0))
    return jax.vmap(jax.vmap(per_t, (None, 0, None)), (0, None, None))(problems, genomes,
                                                                       t_grid)


def peak_qfi(problems: Sequence[Problem], angles, t_grid) -> tuple[np.ndarray, np.ndarray]:
    """``(max_t QFI (B, ...), argmax t (B, ...))`` over ``t_grid`` of the ansatz ``angles``
    ((G,) or (R, G)) for each problem of ``problems`` (same structure; one jitted, vmapped
    `qsense.score` program for all: links and distances are data)."""
    check_not_traced("peak_qfi", problems=list(problems), angles=angles, t_grid=t_grid)
    t_grid = np.asarray(t_grid, float)
    if t_grid.ndim != 1 or t_grid.size < 1 or not np.all(t_grid > 0):
        fail("t_grid", t_grid, "a non-empty 1-D grid of sensing times > 0")
    angles = np.asarray(angles, float)
    single = angles.ndim == 1
    n = problems[0].n_qubits
    q = np.asarray(_grid_scores(stack_problems(problems), ansatz_genome(np.atleast_2d(angles), n),
                                jnp.asarray(t_grid)))
    i = np.argmax(q, axis=-1)
    qm, tm = np.take_along_axis(q, i[..., None], -1)[..., 0], t_grid[i]
    return (qm[:, 0], tm[:, 0]) if single else (qm, tm)


@dataclasses.dataclass
class LinkProbeResult:
    """Link-aware VQS per problem: ``qfi`` (B,), ``t`` (B,), ``angles`` (B, 4N - 1) of
    :func:`link_ansatz`, ``start`` (B,): which restart won (0 GHZ, 1 |+>^N, >= 2 random)."""

    qfi: np.ndarray
    t: np.ndarray
    angles: np.ndarray
    start: np.ndarray


def optimize_link_probe(problems: Sequence[Problem], *, t_grid, steps: int = 60,
                        learning_rate: float = 0.05, n_random: int = 1, seed: int = 0,
                        method: str = "adam", progress: bool = False) -> LinkProbeResult:
    """Link-aware VQS for each problem (`link_problem`, ``initial="zero"``): the angles of
    :func:`link_ansatz` and the sensing time maximize `qsense.score` through
    `qsense.optimize.optimize_angles` (``method``; restarts GHZ, |+>^N and ``n_random``
    random, t started at each restart's best ``t_grid`` point). One compiled program serves
    every problem of the same structure (channels are data). Never below GHZ or |+>^N at
    their ``t_grid`` peaks (:func:`peak_qfi`, the same `qsense.score`): those are candidates
    too. ``steps=0``: the best start on the grid."""
    from tqdm import tqdm

    from qsense.optimize import optimize_angles

    problems = list(problems)
    check_not_traced("optimize_link_probe", problems=problems, t_grid=t_grid)
    if not problems:
        fail("problems", problems, "at least one Problem")
    n = problems[0].n_qubits
    if any(p.initial != "zero" for p in problems):
        fail("problem.initial", [p.initial for p in problems], "'zero' (the ansatz starts "
             "from |0...0>)")
    starts = ansatz_starts(n, n_random, seed)
    q0, t0 = peak_qfi(problems, starts, t_grid)  # (B, R)
    k0 = np.argmax(q0, axis=1)
    rows = np.arange(len(problems))
    qfi, t, angles, start = q0[rows, k0], t0[rows, k0], starts[k0], k0
    if steps > 0:
        grid = np.asarray(t_grid, float)
        bounds = (min(1e-3, grid.min()), max(1e3, grid.max()))
        genomes = ansatz_genome(starts, n)
        for b in tqdm(range(len(problems)), desc="link-aware VQS", disable=not progress):
            res = optimize_angles(problems[b], genomes, method=method, steps=int(steps),
                                  learning_rate=learning_rate, t_grid=grid, t_bounds=bounds)
            if res.value > qfi[b]:
                k = int(np.argmax(res.values))
                qfi[b], t[b], start[b] = res.value, res.t, k
                angles[b] = np.asarray(res.genome.angle)
    return LinkProbeResult(qfi=qfi, t=t, angles=angles, start=start)


# ----------------------------------------------------------------------------- figure of merit


def assign_pairs(protocol: str, n_qubits: int, w_pairs):
    """Per-qubit Werner factors ``(w_out (N,), w_back (N,))`` from the K pairs of one probe in
    arrival order (``w_pairs`` (..., K), memory decay included; `qsense.memory`): distributed:
    the first N pairs teleport out, the last N back; remote: qubit 0 stays (factor 1), pairs
    1..N-1 teleport qubits 1..N-1 out, nothing comes back (``w_back`` ones, unused)."""
    _check_protocol(protocol)
    w = jnp.asarray(w_pairs)
    if protocol == "distributed":
        return w[..., :n_qubits], w[..., n_qubits:]
    one = jnp.ones(w.shape[:-1] + (1,), w.dtype)
    out = jnp.concatenate([one, w[..., :n_qubits - 1]], axis=-1)
    return out, jnp.ones_like(out)


def fisher_rate(link, distance_km, angles, t, gamma, *, protocol: str, n_qubits: int,
                memory_time_s, b0=1.0, noise: str = "dephasing"):
    """Fisher information per second while the link is up: probes per second x QFI per probe,
    the QFI being `qsense.score` of :func:`link_problem`.

    The link's pairs (satellite: dual down-link with the satellite over the midpoint; fiber:
    the repeater chain) arrive at ``rate``; a probe needs ``K = pairs_per_probe`` of them, which
    wait in memories of coherence ``memory_time_s`` (closed form of `qsense.memory.collect`);
    the probe (:func:`link_ansatz` with ``angles``) is teleported with the resulting per-qubit
    channels and senses for ``t`` seconds, while what is held in memories keeps decaying
    (:func:`link_problem`'s ``memory_time``: distributed, the return pairs; remote, the BS's
    own qubit). Differentiable in every float knob of ``link`` (jax.grad).
    """
    from qsense.links import (
        FiberLink,
        SatelliteLink,
        check_link_kind,
        dual_downlink,
        repeater_chain,
        werner_parameter,
    )

    check_link_kind(link, (SatelliteLink, FiberLink))
    if np.ndim(distance_km) != 0:
        fail("distance_km.shape", tuple(np.shape(distance_km)), "() (a scalar distance_km; "
             "jax.vmap over distances)")
    k = pairs_per_probe(protocol, n_qubits)
    st = (dual_downlink(link, distance_km) if isinstance(link, SatelliteLink)
          else repeater_chain(link, distance_km))
    coll = collect(st.rate_hz, k, memory_time_s)
    w = werner_parameter(st.fidelity)[..., None] * coll.factors
    w_out, w_back = assign_pairs(protocol, n_qubits, w)
    prob = link_problem(protocol, w_out, w_back, gamma=gamma, noise=noise, b0=b0,
                        memory_time=memory_time_s)
    return coll.probe_rate_hz * score(prob, ansatz_genome(angles, n_qubits), t)


# ----------------------------------------------------------------------------- LOCC readout


def _basis_rows(theta, phi, dtype):
    """Rows <n+| and <n-| of the one-qubit basis along the Bloch direction (theta, phi)."""
    c, sn = jnp.cos(theta / 2), jnp.sin(theta / 2)
    e = jnp.exp(1j * phi)
    plus = jnp.stack([c, e * sn])
    minus = jnp.stack([sn, -e * c])
    return jnp.stack([jnp.conj(plus), jnp.conj(minus)]).astype(dtype)


def local_measurement_probabilities(rho, bases):
    """Outcome distribution (2^N,) of measuring every qubit of ``rho`` in its own basis:
    ``bases`` (N, 2) = (theta, phi) Bloch direction per qubit; outcome bit 0 = along it
    (big-endian index). ``p = diag(U rho U^dagger)`` with ``U = (x)_i U_i``."""
    u = functools.reduce(jnp.kron, [_basis_rows(b[0], b[1], rho.dtype) for b in bases])
    return jnp.real(jnp.diagonal(u @ rho @ jnp.conj(u.T)))


def local_fisher(rho_of_b, b0, bases, eps: float = 1e-14):
    """Classical Fisher information about b of local measurements in ``bases`` (LOCC readout:
    each node measures its own qubit, outcomes sent classically). ``<=`` the QFI."""
    p, dp = jax.jvp(lambda b: local_measurement_probabilities(rho_of_b(b), bases), (b0,),
                    (jnp.ones_like(b0),))
    return jnp.sum(jnp.where(p > eps, dp**2 / jnp.where(p > eps, p, 1.0), 0.0))


def delivered_rho_of_b(problem: Problem, genome: Genome, t):
    """``b -> rho(b)``: the probe ``genome`` delivered over ``problem``'s link at field ``b``
    (`qsense.objective.sensed_state`), the input of :func:`best_local_fisher`."""
    from qsense.objective import probe, sensed_state

    psi = probe(problem, genome)
    rho0 = jnp.outer(psi, jnp.conj(psi))
    return lambda b: sensed_state(problem, rho0, t, b)


def best_local_fisher(rho_of_b, n_qubits: int, b0=1.0, *, steps: int = 200,
                      learning_rate: float = 0.05, n_random: int = 3, seed: int = 0):
    """Largest local-measurement Fisher information over per-qubit bases (Adam from the
    X basis and ``n_random`` random bases; best iterate). Returns ``(cfi, bases)``.

    This is what the remote protocol can reach with its allowed measurements (local + classical
    communication, no adaptivity across copies), to compare with the QFI upper bound.
    """
    b0 = jnp.asarray(b0, float)
    key = jax.random.PRNGKey(seed)
    x_basis = jnp.stack([jnp.full(n_qubits, jnp.pi / 2), jnp.zeros(n_qubits)], -1)
    rnd = jax.random.uniform(key, (n_random, n_qubits, 2), minval=0.0, maxval=2 * jnp.pi)
    starts = jnp.concatenate([x_basis[None], rnd])
    f = jax.jit(jax.vmap(jax.value_and_grad(lambda bs: -local_fisher(rho_of_b, b0, bs))))
    opt = optax.adam(learning_rate)
    params, state = starts, opt.init(starts)
    best_v, best_p = jnp.full(starts.shape[0], -jnp.inf), starts
    for _ in range(int(steps)):
        val, g = f(params)
        better = -val > best_v
        best_v = jnp.where(better, -val, best_v)
        best_p = jnp.where(better[:, None, None], params, best_p)
        upd, state = opt.update(jnp.where(jnp.isfinite(g), g, 0.0), state, params)
        params = optax.apply_updates(params, upd)
    k = int(jnp.argmax(best_v))
    return best_v[k], best_p[k]


__all__ = [
    "PROTOCOLS", "LinkProbeResult", "ansatz_genome", "ansatz_starts", "assign_pairs",
    "best_local_fisher", "delivered_rho_of_b", "fisher_rate", "ghz_angles", "link_ansatz",
    "link_channels", "link_problem", "local_fisher", "local_measurement_probabilities",
    "optimize_link_probe", "peak_qfi", "product_angles", "stack_problems",
]
