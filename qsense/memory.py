"""Quantum memories: pairs wait until the K pairs of one probe are ready; cutoffs.

A probe of the remote / distributed protocols consumes ``K`` Bell pairs (`pairs_per_probe`).
Pairs arrive one at a time (satellite coincidences, or fiber end-to-end pairs) and wait in
memories until the K-th arrives; a stored pair decoheres.

Memory model (DESIGN section 3): a memory of coherence time ``T`` depolarizes its qubit,
``w -> w exp(-t / T)`` for the Werner parameter of the pair; both halves of a pair sit in
memories (``n_memories = 2``: the BS and the SN), so a pair stored for ``t`` keeps the factor
``exp(-2 t / T)``. Units: seconds, hertz.

Arrivals (closed forms)
-----------------------
Pairs arrive as a Poisson process of rate ``r`` (exact for the satellite's independent
coincidences; for the fiber chain a renewal process, which we approximate by Poisson of the
same mean rate). With no cutoff, the ``i``-th of the K pairs (``i = 1..K``) waits for the
``K - i`` later arrivals: a Gamma(K - i, r) time, so its mean Werner factor is
``E[exp(-lambda G)] = (r / (r + lambda))^(K - i)`` with ``lambda = n_memories / T``; probes are
completed at ``r / K`` per second.

Cutoff ``tau``: a stored pair older than ``tau`` is discarded (sliding window: a probe is made
as soon as K pairs younger than ``tau`` are stored). For K = 2 the closed form is: after a
first pair, each next arrival comes within ``tau`` with ``p = 1 - exp(-r tau)`` (success) or
replaces it; ``1 + 1/p`` arrivals per probe, rate ``r p / (1 + p)``, and the first pair's mean
factor ``r/(r+lambda) (1 - exp(-(r+lambda) tau)) / (1 - exp(-r tau))``. For K > 2
:func:`collect_monte_carlo` simulates it (numpy, vectorized over trials); tests check it against
both closed forms.

The per-qubit channel used in the QFI is the depolarizing channel with the MEAN factor of each
pair (exact for each qubit's marginal; correlations between the waiting times of different
pairs, which share arrival gaps, are neglected: a stated approximation).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from qsense._checks import check_count, fail, is_concrete, is_int, real_array


def pairs_per_probe(protocol: str, n_qubits: int) -> int:
    """Bell pairs one probe consumes: remote ``N - 1`` (qubits 1..N-1 teleported out);
    distributed ``2 N`` (every qubit teleported out to its SN and back to the BS)."""
    if protocol not in ("remote", "distributed"):
        fail("protocol", protocol, "'remote' or 'distributed'")
    least = 2 if protocol == "remote" else 1
    if not (is_int(n_qubits) and n_qubits >= least):
        fail("n_qubits", n_qubits, f"an integer >= {least} for {protocol} VQS")
    return n_qubits - 1 if protocol == "remote" else 2 * n_qubits


def _check_coherence_time(coherence_time_s, name: str = "coherence_time_s",
                          accepted: str = "times > 0 s (use inf for none)") -> None:
    """Concrete coherence times must be > 0 (inf: no decay), named ``name``; NaN raises (it
    gave factors 1, a perfect memory, through the ``lambda > 0`` guard of :func:`collect`), and
    so do a bool and a string (numpy would read True as 1 s and "10" as 10 s)."""
    if is_concrete(coherence_time_s):
        if isinstance(coherence_time_s, (bool, np.bool_, str)):
            fail(name, coherence_time_s, accepted)
        t = np.asarray(coherence_time_s, dtype=float)
        if not np.all(t > 0):  # False for NaN too
            fail(name, coherence_time_s, accepted)


def memory_factor(wait_s, coherence_time_s, n_memories: int = 2):
    """Werner factor ``exp(-n_memories wait / T)`` of a pair stored for ``wait_s`` (finite,
    >= 0 s) in memories of coherence time ``coherence_time_s`` (> 0 s; inf: no decay)."""
    if is_concrete(wait_s):
        w = np.asarray(wait_s, dtype=float)
        if not np.all(np.isfinite(w) & (w >= 0)):
            fail("wait_s", wait_s, "finite waiting times >= 0 s")
    _check_coherence_time(coherence_time_s)
    n_memories = _check_memories(n_memories)
    return jnp.exp(-n_memories * jnp.asarray(wait_s) / coherence_time_s)


class Collection(NamedTuple):
    probe_rate_hz: jnp.ndarray  # probes completed per second (while pairs arrive at rate r)
    factors: jnp.ndarray  # (..., K) mean Werner factor of the i-th arriving pair (i = 1..K)


def _check_memories(n_memories) -> int:
    """Memories a stored pair sits in (2: both halves): an integer >= 1 (0 or -1 gave factors
    of 1 or more, a perfect memory)."""
    return check_count("n_memories", n_memories,
                       "an integer >= 1 (memories holding a stored pair: 2 for both halves)")


def _check(rate_hz, k, coherence_time_s) -> int:
    k = check_count("k_pairs", k)
    # each argument on its own: under jax.grad of a link knob the rate is traced while the
    # coherence time (a setting) is concrete, and a NaN one must still raise
    if is_concrete(rate_hz):
        r = real_array("rate_hz", rate_hz, "finite rates >= 0")  # a string is named too
        if np.any(r < 0) or not np.all(np.isfinite(r)):
            fail("rate_hz", rate_hz, "finite rates >= 0")
    _check_coherence_time(coherence_time_s)
    return k


def collect(rate_hz, k_pairs: int, coherence_time_s, n_memories: int = 2) -> Collection:
    """Closed form without cutoff: probe rate ``r / K``, factors ``(r/(r+lambda))^(K-i)``.

    Broadcasts over ``rate_hz``; differentiable; ``rate_hz = 0`` gives rate 0 and factors 0
    (except the last pair, which never waits: factor 1); ``coherence_time_s = inf`` (no decay)
    gives factors 1 at every rate, 0 included (it gave 0/0 = nan there). ``k_pairs`` and
    ``n_memories``: integers >= 1 (Python, numpy or JAX integer scalars).
    """
    k_pairs = _check(rate_hz, k_pairs, coherence_time_s)
    n_memories = _check_memories(n_memories)
    r = jnp.asarray(rate_hz)[..., None]
    lam = n_memories / jnp.asarray(coherence_time_s)
    waits = jnp.arange(k_pairs - 1, -1, -1)  # K - i for i = 1..K
    den = r + lam
    ratio = jnp.where(lam > 0, r / jnp.where(den > 0, den, 1.0), 1.0)  # nan-free value & grad
    return Collection(jnp.asarray(rate_hz) / k_pairs, ratio**waits)


def collect_k2_cutoff(rate_hz, coherence_time_s, cutoff_s, n_memories: int = 2) -> Collection:
    """Closed form for K = 2 with a cutoff (module docstring)."""
    _check(rate_hz, 2, coherence_time_s)
    n_memories = _check_memories(n_memories)
    r = jnp.asarray(rate_hz)
    lam = n_memories / jnp.asarray(coherence_time_s)
    p = -jnp.expm1(-r * cutoff_s)
    f1 = r / (r + lam) * (-jnp.expm1(-(r + lam) * cutoff_s)) / p
    return Collection(r * p / (1 + p), jnp.stack([f1, jnp.ones_like(f1)], -1))


def collect_monte_carlo(rate_hz: float, k_pairs: int, coherence_time_s: float,
                        cutoff_s: float = np.inf, n_memories: int = 2, n_probes: int = 20000,
                        seed: int = 0) -> Collection:
    """Monte Carlo of the sliding-window collection (module docstring), one rate.

    ``n_probes`` independent probe collections (each starting from empty memories, which is
    exact for a renewal process: memories are empty after each probe). Returns the probe rate
    (probes per unit of total collection time) and the mean factor of each of the K pairs.
    """
    k_pairs = _check(rate_hz, k_pairs, coherence_time_s)
    n_memories = _check_memories(n_memories)
    rng = np.random.default_rng(seed)
    k, lam = k_pairs, n_memories / coherence_time_s
    chunk = max(4 * k, 32)
    total_time = np.zeros(n_probes)
    factors = np.zeros((n_probes, k))
    todo = np.arange(n_probes)
    carry = np.full((n_probes, k - 1), -np.inf)  # last k-1 arrival times (absolute)
    t_last = np.zeros(n_probes)
    seen = np.zeros(n_probes, int)  # arrivals so far
    while todo.size:
        new = t_last[todo, None] + np.cumsum(rng.exponential(1.0 / rate_hz,
                                                             size=(todo.size, chunk)), axis=1)
        times = np.concatenate([carry[todo], new], axis=1)  # (n, k-1+chunk)
        # window ending at new arrival c (col k-1+c) starts at col c; its global start index is
        # seen + c - (k-1), which must be >= 0 (a real arrival)
        span = times[:, k - 1:] - times[:, :chunk]
        c = np.arange(chunk)[None, :]
        ok = (span <= cutoff_s) & (seen[todo, None] + c - (k - 1) >= 0)
        has = ok.any(axis=1)
        j = np.argmax(ok, axis=1)
        idx = todo[has]
        tt = times[has]
        cols = j[has, None] + np.arange(k)[None, :]
        arr = np.take_along_axis(tt, cols, axis=1)
        total_time[idx] = arr[:, -1]
        factors[idx] = np.exp(-lam * (arr[:, -1:] - arr))
        rest = todo[~has]
        carry[rest] = times[~has][:, times.shape[1] - (k - 1):]
        t_last[rest] = new[~has][:, -1]
        seen[rest] += chunk
        todo = rest
    return Collection(jnp.asarray(n_probes / total_time.sum()), jnp.asarray(factors.mean(0)))


class ChainMC(NamedTuple):
    rounds_per_pair: float  # mean attempt rounds per delivered end-to-end pair
    idle_rounds: float  # mean summed idle rounds of the m elementary links of a delivered pair
    tries_per_pair: float  # mean chains assembled (swap attempts) per delivered pair


def chain_monte_carlo(p_link: float, m: int, p_swap: float = 1.0,
                      cutoff_rounds: float = np.inf, n_pairs: int = 4000,
                      seed: int = 0, max_rounds: int = 1_000_000) -> ChainMC:
    """Monte Carlo of the parallel repeater chain of `qsense.links.repeater_chain`: ``m``
    elementary links attempted every round (success ``p_link``); a link older than
    ``cutoff_rounds`` rounds is discarded and re-attempted; once all ``m`` exist, the
    ``m - 1`` swaps succeed together with ``p_swap^(m-1)`` (else all links are lost).
    Vectorized over ``n_pairs`` independent deliveries (numpy; a loop over rounds)."""
    if not 0 < p_link <= 1:
        fail("p_link", p_link, "a probability in (0, 1]")
    if not 0 < p_swap <= 1:
        fail("p_swap", p_swap, "a probability in (0, 1]")
    if not is_int(m) or m < 1:
        fail("m", m, "an integer >= 1 (elementary links)")
    rng = np.random.default_rng(seed)
    age = np.full((n_pairs, m), -1)  # -1: no link; else rounds since it was made
    rounds = np.zeros(n_pairs)
    tries = np.zeros(n_pairs)
    idle = np.zeros(n_pairs)
    active = np.ones(n_pairs, bool)
    r = 0
    while active.any():
        r += 1
        if r > max_rounds:
            fail("max_rounds", max_rounds, "more rounds (the chain has not finished)")
        a = age[active]
        a = np.where(a >= 0, a + 1, a)  # existing links wait one more round
        a = np.where(a > cutoff_rounds, -1, a)  # cutoff: discard
        made = (a < 0) & (rng.random(a.shape) < p_link)
        a = np.where(made, 0, a)
        rounds[active] += 1
        full = np.all(a >= 0, axis=1)
        if full.any():
            idx = np.nonzero(active)[0][full]
            tries[idx] += 1
            ok = rng.random(full.sum()) < p_swap ** (m - 1)
            idle[idx[ok]] = a[full][ok].sum(axis=1)
            a[np.nonzero(full)[0][~ok]] = -1
            done = np.zeros(a.shape[0], bool)
            done[np.nonzero(full)[0][ok]] = True
            age[active] = a
            active[np.nonzero(active)[0][done]] = False
        else:
            age[active] = a
    return ChainMC(float(rounds.mean()), float(idle.mean()), float(tries.mean()))
