"""Probes designed for the link: the sensing objective with the link inside, and its optimizer.

The link enters as per-qubit 4x4 superoperators (row-major vec, as `qsense.noise`), the data
hooks of the unified objective (OBJECTIVE_API.md): ``pre_channel`` (N, 4, 4) before sensing
(teleportation out over Werner pairs, memory decoherence while the probe's pairs are
collected), ``post_channel`` (N, 4, 4) after sensing (distributed VQS: teleportation back to
the BS), ``sensors`` (N,) in {0, 1}: which qubits couple to the field.

Protocols (seed 000, "Protocols"):

* remote: the BS keeps qubit 0 (identity pre-channel; it does NOT sense: ``sensors[0] = 0``),
  qubits 1..N-1 are teleported to the SNs and sense there. Qubit 0 still sees the noise for the
  sensing time (it waits in the BS's memory, modelled by the same per-qubit noise). Measurement
  allowed: local measurements at each node plus classical communication (LOCC). The QFI reported
  is that of the joint state: an UPPER bound on what LOCC measurements reach.
* distributed: all N qubits are teleported out, sense, and are teleported back; the BS makes a
  joint measurement, so the QFI (attained by the SLD measurement at b0) is reachable.

``rho(b) = Post( S_t(b, sensors)( Pre(psi) ) )``; the QFI is with respect to b at ``b0``.

Design variables: the ansatz :func:`link_ansatz` starts from |0...0> and can express both the
GHZ state and the product |+>^N exactly (:func:`ghz_angles`, :func:`product_angles`), so the
link-aware optimum, started from both and keeping the best iterate, is never below either.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from qsense._checks import fail
from qsense.fisher import qfi
from qsense.genome import CRX, RY, RZ, Genome, make_genome
from qsense.noise import superoperator_1q
from qsense.pqc import apply_pqc
from qsense.sensing import apply_qubit_superoperators
from qsense.teleport import depolarizing_superoperator


def link_channels(protocol: str, w_out, w_back=None, dtype=None):
    """``(pre, post, sensors)`` for the protocol, from per-qubit Werner factors.

    ``w_out``: (N,) Werner factors of the pairs used to teleport qubit i out (remote: entry 0
    is ignored; the BS keeps qubit 0); ``w_back`` (N,) of the return pairs (distributed; default
    ``w_out``). Memory decoherence multiplies into these factors (`qsense.memory`).
    """
    dtype = dtype or jnp.result_type(complex)
    w_out = jnp.asarray(w_out)
    n = w_out.shape[-1]
    dep = jax.vmap(lambda w: depolarizing_superoperator(w, dtype))
    eye = jnp.broadcast_to(jnp.eye(4, dtype=dtype), (n, 4, 4))
    if protocol == "remote":
        keep = jnp.arange(n) == 0
        pre = jnp.where(keep[:, None, None], eye, dep(w_out))
        return pre, eye, keep.__invert__().astype(jnp.finfo(dtype).dtype)
    if protocol == "distributed":
        w_back = w_out if w_back is None else jnp.asarray(w_back)
        return dep(w_out), dep(w_back), jnp.ones(n, jnp.finfo(dtype).dtype)
    fail("protocol", protocol, "'remote' or 'distributed'")
    raise AssertionError


def delivered_state(psi, pre, post, sensors, b, t, gamma, noise: str = "dephasing"):
    """``Post(S_t(Pre(psi)))`` with the field ``b`` on the sensor qubits only (scalar field,
    ``H = (b/2) sum_i s_i Z_i``) and the noise on every qubit."""
    psi = jnp.asarray(psi)
    rho = jnp.outer(psi, psi.conj()) if psi.ndim == 1 else psi
    n = pre.shape[0]
    real = jnp.finfo(rho.dtype).dtype
    rho = apply_qubit_superoperators(rho, pre, n)
    z = jnp.zeros((), real)

    def sop(s):
        if noise in ("dephasing", "none"):  # closed form: diag(1, e^{-i b s t - g t}, c.c., 1)
            g = jnp.asarray(gamma, real) if noise == "dephasing" else z
            ph = jnp.exp((-1j * b * s - g) * t).astype(rho.dtype)
            one = jnp.ones((), rho.dtype)
            return jnp.diag(jnp.stack([one, ph, jnp.conj(ph), one]))
        return superoperator_1q(jnp.stack([z, z, b * s]), jnp.asarray(t, real), noise,
                                jnp.asarray(gamma, real), rho.dtype)

    rho = apply_qubit_superoperators(rho, jax.vmap(sop)(sensors), n)
    return apply_qubit_superoperators(rho, post, n)


def link_qfi(psi, pre, post, sensors, t, gamma, b0=1.0, noise: str = "dephasing"):
    """QFI with respect to the field at ``b0`` of the delivered state (differentiable in
    everything: the probe, the channels, hence the link design knobs)."""
    return qfi(lambda b: delivered_state(psi, pre, post, sensors, b, t, gamma, noise), b0)


# ----------------------------------------------------------------------------- the ansatz


def link_ansatz(n_qubits: int) -> Genome:
    """From |0...0>: Ry on every qubit, a CRx chain q_i -> q_(i+1), Ry and Rz on every qubit
    (angles zero)."""
    gates, ctrl, targ = [], [], []
    for q in range(n_qubits):
        gates.append(RY), ctrl.append(0), targ.append(q)
    for q in range(n_qubits - 1):
        gates.append(CRX), ctrl.append(q), targ.append(q + 1)
    for g in (RY, RZ):
        for q in range(n_qubits):
            gates.append(g), ctrl.append(0), targ.append(q)
    return make_genome(gates, ctrl, targ, np.zeros(len(gates)))


def ghz_angles(n_qubits: int) -> np.ndarray:
    """Angles of :func:`link_ansatz` giving ``(|0..0> + (-i)^(N-1) |1..1>)/sqrt 2``: a GHZ state
    up to a Z rotation (same QFI under Z-covariant noise and depolarizing links)."""
    a = np.zeros(4 * n_qubits - 1)
    a[0] = np.pi / 2
    a[n_qubits:2 * n_qubits - 1] = np.pi
    return a


def product_angles(n_qubits: int) -> np.ndarray:
    """Angles of :func:`link_ansatz` giving |+>^N (the best product probe for a Z field under
    Z-covariant noise and depolarizing links: an equatorial pure state on every qubit)."""
    a = np.zeros(4 * n_qubits - 1)
    a[:n_qubits] = np.pi / 2
    return a


def ansatz_state(angles, n_qubits: int, dtype=None):
    dtype = dtype or jnp.result_type(complex)
    g = link_ansatz(n_qubits)
    psi0 = jnp.zeros(2**n_qubits, dtype).at[0].set(1.0)
    return apply_pqc(psi0, Genome(g.gate, g.control, g.target, jnp.asarray(angles)))


# ----------------------------------------------------------------------------- optimizer


@functools.partial(jax.jit, static_argnames=("n", "noise"))
def _peak_on_grid(angles, pre, post, sensors, t_grid, gamma, b0, n, noise):
    psi = ansatz_state(angles, n)
    q = jax.vmap(lambda t: link_qfi(psi, pre, post, sensors, t, gamma, b0, noise))(t_grid)
    i = jnp.argmax(q)
    return q[i], t_grid[i]


def peak_qfi(angles, pre, post, sensors, t_grid, gamma, b0=1.0, *, noise="dephasing"):
    """``(max_t QFI, argmax t)`` over ``t_grid``, batched over leading axes of ``angles``
    and the channels (vmapped)."""
    n = pre.shape[-3]
    f = functools.partial(_peak_on_grid, n=n, noise=noise)
    batch = jnp.ndim(angles) - 1
    for _ in range(batch):
        f = jax.vmap(f, in_axes=(0, 0, 0, 0, None, None, None))
    return f(jnp.asarray(angles), pre, post, sensors, jnp.asarray(t_grid), gamma, b0)


@functools.lru_cache(maxsize=16)
def _adam_step(n: int, noise: str, learning_rate: float):
    """One compiled Adam step per (N, noise, rate), vmapped over (links, starts)."""

    def loss(params, pr, po, se, gamma, b0):
        angles, u = params
        psi = ansatz_state(angles, n)
        return -link_qfi(psi, pr, po, se, jax.nn.softplus(u), gamma, b0, noise)

    vg = jax.vmap(jax.vmap(jax.value_and_grad(loss), in_axes=(0, None, None, None, None, None)),
                  in_axes=(0, 0, 0, 0, None, None))
    opt = optax.adam(learning_rate)

    @jax.jit
    def step(params, state, pre, post, sensors, gamma, b0):
        val, grad = vg(params, pre, post, sensors, gamma, b0)
        grad = jax.tree_util.tree_map(lambda g: jnp.where(jnp.isfinite(g), g, 0.0), grad)
        upd, state = opt.update(grad, state, params)
        return optax.apply_updates(params, upd), state, -val

    return step, opt


def optimize_link_probe(pre, post, sensors, gamma, *, t_grid, b0=1.0, noise="dephasing",
                        steps: int = 150, learning_rate: float = 0.05, n_random: int = 2,
                        seed: int = 0):
    """Link-aware VQS for a batch of links: pre/post (B, N, 4, 4), sensors (B, N).

    Adam on the ansatz angles and the sensing time (``t = softplus(u)``), from GHZ, from |+>^N
    and from ``n_random`` random angle sets, all in one vmapped program; the best iterate
    (judged on the peak over ``t_grid`` at the end, and against the two starts themselves) is
    returned: ``(qfi (B,), t_opt (B,), angles (B, G), start_used (B,))`` with start 0 = GHZ,
    1 = product, >= 2 random. Never below GHZ or |+>^N (evaluated by the same code).
    """
    pre, post, sensors = jnp.asarray(pre), jnp.asarray(post), jnp.asarray(sensors)
    bsz, n = pre.shape[0], pre.shape[1]
    g_len = 4 * n - 1
    key = jax.random.PRNGKey(seed)
    starts = [ghz_angles(n), product_angles(n)]
    starts += list(np.asarray(jax.random.uniform(key, (n_random, g_len), minval=-np.pi,
                                                 maxval=np.pi)))
    s = len(starts)
    a0 = jnp.broadcast_to(jnp.asarray(np.stack(starts)), (bsz, s, g_len))
    t_grid = jnp.asarray(t_grid)
    # initial times: the best grid time of each start
    q0, t0 = peak_qfi(a0, *(jnp.broadcast_to(x[:, None], (bsz, s) + x.shape[1:])
                            for x in (pre, post, sensors)), t_grid, gamma, b0, noise=noise)
    u0 = jnp.log(jnp.expm1(t0))

    step, opt = _adam_step(n, noise, float(learning_rate))
    params = (a0, u0)
    state = opt.init(params)
    gamma, b0 = jnp.asarray(gamma, float), jnp.asarray(b0, float)

    best_val, best = q0, params
    for _ in range(int(steps)):
        new, state, val = step(params, state, pre, post, sensors, gamma, b0)
        better = val > best_val  # val is the objective AT params (before this update)
        best_val = jnp.where(better, val, best_val)
        best = (jnp.where(better[..., None], params[0], best[0]),
                jnp.where(better, params[1], best[1]))
        params = new
    # final judgement on the t grid plus the optimized time
    angles = best[0]
    qg, tg = peak_qfi(angles, *(jnp.broadcast_to(x[:, None], (bsz, s) + x.shape[1:])
                                for x in (pre, post, sensors)), t_grid, gamma, b0, noise=noise)
    topt = jax.nn.softplus(best[1])
    use_opt = best_val > qg
    q = jnp.where(use_opt, best_val, qg)
    t = jnp.where(use_opt, topt, tg)
    q = jnp.maximum(q, q0)  # the starts themselves (GHZ, product) are candidates
    t = jnp.where(q0 >= q, t0, t)
    angles = jnp.where((q0 >= q)[..., None], a0, angles)
    k = jnp.argmax(q, axis=1)
    take = lambda x: jnp.take_along_axis(x, k.reshape((bsz, 1) + (1,) * (x.ndim - 2)),  # noqa
                                         axis=1)[:, 0]
    return take(q), take(t), take(angles), k


# ----------------------------------------------------------------------------- figure of merit


def assign_pairs(protocol: str, n_qubits: int, w_pairs):
    """Per-qubit Werner factors ``(w_out (N,), w_back (N,))`` from the K pairs of one probe in
    arrival order (``w_pairs`` (..., K), memory decay included; `qsense.memory`): distributed:
    the first N pairs teleport out, the last N back; remote: qubit 0 stays (factor 1), pairs
    1..N-1 teleport qubits 1..N-1 out, nothing comes back."""
    w = jnp.asarray(w_pairs)
    if protocol == "distributed":
        return w[..., :n_qubits], w[..., n_qubits:]
    if protocol == "remote":
        one = jnp.ones(w.shape[:-1] + (1,), w.dtype)
        out = jnp.concatenate([one, w[..., :n_qubits - 1]], axis=-1)
        return out, jnp.ones_like(out)
    fail("protocol", protocol, "'remote' or 'distributed'")
    raise AssertionError


def fisher_rate(link, distance_km, angles, t, gamma, *, protocol: str, n_qubits: int,
                memory_time_s, b0=1.0, noise: str = "dephasing"):
    """Fisher information per second while the link is up: probes per second x QFI per probe.

    The link's pairs (satellite: dual down-link with the satellite over the midpoint; fiber:
    the repeater chain) arrive at ``rate``; a probe needs ``K = pairs_per_probe`` of them, which
    wait in memories of coherence ``memory_time_s`` (closed form of `qsense.memory.collect`);
    the probe (ansatz ``angles``) is teleported with the resulting per-qubit channels and
    senses for ``t``. Differentiable in every float knob of ``link`` (jax.grad).
    """
    from qsense.links import SatelliteLink, dual_downlink, repeater_chain, werner_parameter
    from qsense.memory import collect, pairs_per_probe

    k = pairs_per_probe(protocol, n_qubits)
    st = (dual_downlink(link, distance_km) if isinstance(link, SatelliteLink)
          else repeater_chain(link, distance_km))
    coll = collect(st.rate_hz, k, memory_time_s)
    w = werner_parameter(st.fidelity)[..., None] * coll.factors
    w_out, w_back = assign_pairs(protocol, n_qubits, w)
    pre, post, sens = link_channels(protocol, w_out, w_back)
    q = link_qfi(ansatz_state(angles, n_qubits), pre, post, sens, t, gamma, b0, noise)
    return coll.probe_rate_hz * q
