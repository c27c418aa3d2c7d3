"""Genetic structure search for the VQS probe circuit (seed 000, "Optimization").

A chromosome is a `qsense.Genome` row of fixed length ``G = max_genes``: its active genes
(gate, control, target, angle) come first, in circuit order, and identity genes pad it to G
(canonical padding: control = target = 0, angle = 0). The all-identity chromosome is the
GHZ probe itself, so the search can always fall back to GHZ (VQS >= GHZ).

Operators, as the seed describes them (one per child, drawn with ``operator_probs`` over
`OPERATORS`; runs have length 1..``max_run``):

* ``deletion``: remove a run of consecutive genes;
* ``insertion``: insert a run of newly drawn random genes at a random position;
* ``replacement``: deletion, then insertion;
* ``swapping``: swap two disjoint runs (``A X B Y C -> A Y B X C``);
* ``permutation``: shuffle the order of the active genes.

An operator that cannot act (deleting from an empty chromosome, inserting into a full one,
swapping or permuting fewer than two genes) leaves the chromosome unchanged. Every child's
active angles then receive a Gaussian jitter of ``angle_sigma`` radians (0 disables it; the
seed is silent on how angles evolve before the final refinement, and the jitter lets the
search rank structures by reachable, not only by initial, angles).

Selection: the ``elite`` fittest chromosomes pass unchanged; every other slot is filled by a
tournament of size ``tournament`` followed by one operator. Fitness is QFI (scalar field) or
-QCRB (vector field) of the probe, maximized over a small grid of sensing times: one jitted
program per generation evaluates the whole population on the whole grid with THE objective,
`qsense.objective.score` (the function `qsense.make_fitness` vmaps; the problem is a pytree
argument, so one compiled program serves every rate, field value and Z-covariant noise, with
the commutator fast path where the noise allows it), selects and mutates (all vmapped; no
Python loop over chromosomes or genes). Seeded (explicit ``jax.random`` keys), checkpointed every
generation (``.npz``; a rerun with the same path resumes and ends where an uninterrupted run
ends), with a tqdm bar showing the best fitness. `find_optimal_probe` then refines the angles
(and t) of the fittest structures with `qsense.optimize.optimize_angles`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from qsense._checks import check_not_traced, fail, is_int, is_real, real_array
from qsense.distributed import (
    AXIS,
    agree,
    device_memory_limit,
    log_chunks,
    pad_rows,
    padded_size,
    population_devices,
    population_sharding,
    program_bytes,
    shard_rows,
    to_host,
)
from qsense.genome import (
    CRX,
    IDENTITY,
    RX,
    RY,
    RZ,
    Genome,
    empty_genome,
    make_genome,
    random_genome,
    validate_genome,
)
from qsense.objective import (
    Problem,
    _check_problem,
    _real_dtype,
    check_problem_scale,
    score,
    sensing_limit_time,
)
from qsense.optimize import (
    METHODS,
    OptResult,
    _check_method,
    best_grid_times,
    default_t_grid,
    noise_rate,
    optimize_angles,
    warn_near_limit,
)

OPERATORS = ("deletion", "insertion", "replacement", "swapping", "permutation")
SCORE_DTYPES = ("float64", "float32")


@dataclasses.dataclass(frozen=True)
class GAConfig:
    """Genetic search settings (defaults: the table1 experiment's).

    population: chromosomes per generation (>= 2); generations: >= 0;
    max_genes: chromosome length G (padding included); init_genes: initial chromosomes get
    1..init_genes random genes; elite: chromosomes copied unchanged (0 <= elite < population);
    tournament: tournament size (>= 1); operator_probs: probabilities of `OPERATORS`, summing
    to 1; max_run: longest run an operator moves (>= 1); angle_sigma: Gaussian angle jitter of
    children (radians, >= 0); gate_probs: weights of (Rx, Ry, Rz, CRx) for new genes;
    n_t: points of the sensing-time grid each chromosome is scored on (t_grid overrides it:
    explicit times > 0); include_empty: seed generation 0 with the all-identity (GHZ)
    chromosome; memory_limit_gb: the memory one device may use (None: `memory_limit_bytes`,
    an accelerator's own memory, or half the RAM shared by the host's CPU devices): a
    generation whose working set per device (XLA's plan of the compiled program, the
    population sharded over the devices; `chunk_plan` with ``exact=True``) exceeds it is
    scored in chunks of rows that fit, and a search refused only when one row does not fit;
    chunk_rows: rows per device that a generation scores at once (its grid times, memetic
    local steps and re-scores run over chunks of this many rows one after another, inside the
    one compiled program: memory for time; the numbers do not change, to rounding in float32);
    None: the whole population when it fits in memory, else the most rows that fit;
    local_steps: Adam steps on the angles and log t of every chromosome in every generation
    (memetic, Lamarckian: the improved angles and time are written back; 0 gives the seed's
    plain GA that ranks structures by their raw angles);
    local_lr: their Adam step size (radians, and log t); structured: seed generation 0 with
    the noise-independent structure families of `structured_seeds` (GHZ + a local Ry, Rz
    layer; "GHZ undone" + the same layer, i.e. every product state), where they fit in
    ``max_genes``; score_dtype: "float64" (every score in the problem's dtype) or "float32"
    (mixed precision: each generation's grid scores and memetic local steps run in
    float32/complex64 on a float32 copy of the problem (`Problem.astype`) and of the angles,
    then the ``max(elite, 1)`` fittest chromosomes are re-scored in the problem's dtype, so
    the elite is ranked and carried on float64 values; the final population (and the GHZ
    reference) is re-scored in the problem's dtype too, so every reported fitness is
    float64. Angles are stored in the problem's precision throughout).
    """

    population: int = 24
    generations: int = 10
    max_genes: int = 16
    init_genes: int = 4
    elite: int = 4
    tournament: int = 3
    operator_probs: tuple[float, ...] = (0.2, 0.3, 0.2, 0.15, 0.15)
    max_run: int = 3
    angle_sigma: float = 0.1
    gate_probs: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    n_t: int = 8
    t_grid: tuple[float, ...] | None = None
    include_empty: bool = True
    memory_limit_gb: float | None = None
    chunk_rows: int | None = None
    local_steps: int = 10
    local_lr: float = 0.1
    structured: bool = True
    score_dtype: str = "float64"

    def __post_init__(self) -> None:
        def integer(name, lo, hi=None, accepted=None):  # lo <= v <= hi (both inclusive)
            v = getattr(self, name)
            ok = is_int(v) and v >= lo and (hi is None or v <= hi)
            if not ok:
                fail(name, v, accepted or (f"an integer >= {lo}" if hi is None
                                           else f"an integer in [{lo}, {hi}]"))

        if not (isinstance(self.population, (int, np.integer)) and self.population >= 2):
            fail("population", self.population, "an integer >= 2")
        integer("generations", 0)
        integer("max_genes", 1, 256)
        integer("init_genes", 0, self.max_genes)
        integer("elite", 0, self.population - 1,
                f"an integer in [0, {self.population - 1}] (0 <= elite < population = "
                f"{self.population})")
        integer("tournament", 1, self.population)
        integer("max_run", 1, self.max_genes)
        integer("n_t", 1, 256)
        integer("local_steps", 0, 10_000)
        if not (is_real(self.local_lr) and np.isfinite(self.local_lr) and self.local_lr > 0):
            fail("local_lr", self.local_lr, "a finite step size > 0")
        if not isinstance(self.structured, bool):
            fail("structured", self.structured, "True or False")
        if self.score_dtype not in SCORE_DTYPES:
            fail("score_dtype", self.score_dtype, f"one of {list(SCORE_DTYPES)}")
        p = real_array("operator_probs", self.operator_probs,
                        f"{len(OPERATORS)} probabilities >= 0 for {list(OPERATORS)}").astype(float)
        if p.shape != (len(OPERATORS),) or np.any(p < 0) or not np.all(np.isfinite(p)):
            fail("operator_probs", self.operator_probs,
                 f"{len(OPERATORS)} probabilities >= 0 for {list(OPERATORS)}")
        if abs(p.sum() - 1) > 1e-9:
            fail("operator_probs", self.operator_probs,
                 f"probabilities of {list(OPERATORS)} summing to 1 (they sum to {p.sum():g})")
        w = real_array("gate_probs", self.gate_probs,
                        "4 weights >= 0 for (Rx, Ry, Rz, CRx), not all 0").astype(float)
        if w.shape != (4,) or np.any(w < 0) or w.sum() <= 0 or not np.all(np.isfinite(w)):
            fail("gate_probs", self.gate_probs, "4 weights >= 0 for (Rx, Ry, Rz, CRx), not all 0")
        if not (is_real(self.angle_sigma) and np.isfinite(self.angle_sigma)
                and self.angle_sigma >= 0):
            fail("angle_sigma", self.angle_sigma, "a finite angle >= 0 (radians)")
        if self.t_grid is not None:
            tg = real_array("t_grid", self.t_grid, "a non-empty list of times > 0").astype(float)
            if tg.ndim != 1 or tg.size < 1 or np.any(tg <= 0) or not np.all(np.isfinite(tg)):
                fail("t_grid", self.t_grid, "a non-empty list of times > 0")
        if self.memory_limit_gb is not None and not (is_real(self.memory_limit_gb)
                                                     and self.memory_limit_gb > 0):
            fail("memory_limit_gb", self.memory_limit_gb, "a size > 0 (GB) or None")
        if self.chunk_rows is not None:
            integer("chunk_rows", 1, None, "an integer >= 1 (rows per device) or None (automatic)")


# ----------------------------------------------------------------------------- operators
# Each operator maps one canonical chromosome (arrays (G,)) to another; vmap for populations.

def n_active(genome: Genome) -> jax.Array:
    """Number of non-identity genes (the chromosome length without padding)."""
    return jnp.sum(genome.gate != IDENTITY, axis=-1)


def canonicalize(genome: Genome) -> Genome:
    """Active genes first (stable order), canonical padding after them."""
    pad = genome.gate == IDENTITY
    order = jnp.argsort(pad, stable=True)
    g = jax.tree_util.tree_map(lambda a: a[order], genome)
    pad = g.gate == IDENTITY
    zero = jnp.zeros_like(g.control)
    return Genome(g.gate, jnp.where(pad, zero, g.control), jnp.where(pad, zero, g.target),
                  jnp.where(pad, jnp.zeros_like(g.angle), g.angle))


def _gather(genome: Genome, fresh: Genome, src: jax.Array) -> Genome:
    """New gene j = genome[src_j] (0 <= src < G), fresh[src_j - G] (G <= src < 2G) or
    padding (src < 0 or src >= 2G)."""
    g = genome.gate.shape[-1]
    pad = Genome(jnp.full((1,), IDENTITY, genome.gate.dtype), jnp.zeros((1,), genome.control.dtype),
                 jnp.zeros((1,), genome.target.dtype), jnp.zeros((1,), genome.angle.dtype))
    pool = jax.tree_util.tree_map(lambda a, b, c: jnp.concatenate([a, b, c]), genome, fresh, pad)
    idx = jnp.where((src < 0) | (src >= 2 * g), 2 * g, src)
    return canonicalize(jax.tree_util.tree_map(lambda a: a[idx], pool))


def _randint(key, lo, hi):
    """Uniform integer in [lo, hi] (inclusive; traced bounds allowed, hi >= lo)."""
    return jax.random.randint(key, (), lo, hi + 1)


def op_deletion(key, genome: Genome, max_run: int) -> Genome:
    g = genome.gate.shape[-1]
    length = n_active(genome)
    k1, k2 = jax.random.split(key)
    i = _randint(k1, 0, jnp.maximum(length - 1, 0))
    run = _randint(k2, 1, jnp.maximum(jnp.minimum(max_run, length - i), 1))
    j = jnp.arange(g)
    src = jnp.where(j < i, j, j + run)
    src = jnp.where(src >= g, -1, src)
    out = _gather(genome, genome, src)
    return jax.tree_util.tree_map(lambda a, b: jnp.where(length > 0, a, b), out, genome)


def op_insertion(key, genome: Genome, max_run: int, fresh: Genome) -> Genome:
    g = genome.gate.shape[-1]
    length = n_active(genome)
    free = g - length
    k1, k2 = jax.random.split(key)
    i = _randint(k1, 0, length)
    run = _randint(k2, 1, jnp.maximum(jnp.minimum(max_run, free), 1))
    j = jnp.arange(g)
    src = jnp.where(j < i, j, jnp.where(j < i + run, g + (j - i), j - run))
    out = _gather(genome, fresh, src)
    return jax.tree_util.tree_map(lambda a, b: jnp.where(free > 0, a, b), out, genome)


def op_replacement(key, genome: Genome, max_run: int, fresh: Genome) -> Genome:
    k1, k2 = jax.random.split(key)
    return op_insertion(k2, op_deletion(k1, genome, max_run), max_run, fresh)


def op_swapping(key, genome: Genome, max_run: int) -> Genome:
    """Swap runs [a, b) and [c, d), a < b <= c < d <= length."""
    g = genome.gate.shape[-1]
    length = n_active(genome)
    ka, kb, kc, kd = jax.random.split(key, 4)
    ok = length >= 2
    L = jnp.maximum(length, 2)
    a = _randint(ka, 0, L - 2)
    b = _randint(kb, a + 1, jnp.minimum(a + max_run, L - 1))
    c = _randint(kc, b, L - 1)
    d = _randint(kd, c + 1, jnp.minimum(c + max_run, L))
    l2, mid = d - c, c - b
    j = jnp.arange(g)
    src = jnp.where(j < a, j,
          jnp.where(j < a + l2, c + (j - a),
          jnp.where(j < a + l2 + mid, b + (j - a - l2),
          jnp.where(j < d, a + (j - a - l2 - mid), j))))  # noqa: E128
    out = _gather(genome, genome, src)
    return jax.tree_util.tree_map(lambda x, y: jnp.where(ok, x, y), out, genome)


def op_permutation(key, genome: Genome) -> Genome:
    g = genome.gate.shape[-1]
    length = n_active(genome)
    j = jnp.arange(g)
    u = jnp.where(j < length, jax.random.uniform(key, (g,)), 2.0 + j)
    return _gather(genome, genome, jnp.argsort(u))


def mutate(key, genome: Genome, op: jax.Array, *, n_qubits: int, max_run: int,
           gate_probs, angle_sigma: float) -> Genome:
    """Apply operator number ``op`` (index into `OPERATORS`) to one chromosome, then jitter
    its active angles. Branch-free: all five results are computed and one is selected."""
    g = genome.gate.shape[-1]
    kf, k0, k1, k2, k3, k4, kj = jax.random.split(key, 7)
    probs = jnp.concatenate([jnp.asarray(gate_probs, float), jnp.zeros(1)])
    fresh = random_genome(kf, n_qubits, g, gate_probs=probs, dtype=genome.angle.dtype)
    outs = [op_deletion(k0, genome, max_run), op_insertion(k1, genome, max_run, fresh),
            op_replacement(k2, genome, max_run, fresh), op_swapping(k3, genome, max_run),
            op_permutation(k4, genome)]
    stacked = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *outs)
    child = jax.tree_util.tree_map(lambda a: a[op], stacked)
    jitter = angle_sigma * jax.random.normal(kj, (g,), child.angle.dtype)
    return dataclasses.replace(child, angle=jnp.where(child.gate == IDENTITY, child.angle,
                                                      child.angle + jitter))


def apply_operator(key, genome: Genome, name: str, *, n_qubits: int, max_run: int = 3,
                   gate_probs=(1.0, 1.0, 1.0, 1.0)) -> Genome:
    """Apply the operator ``name`` to a canonical chromosome (or a population: vmapped over
    a leading axis with keys ``(P, 2)``), without angle jitter. For tests and users."""
    if name not in OPERATORS:
        fail("operator", name, f"one of {list(OPERATORS)}")
    f = functools.partial(mutate, op=jnp.asarray(OPERATORS.index(name)), n_qubits=n_qubits,
                          max_run=max_run, gate_probs=tuple(gate_probs), angle_sigma=0.0)
    if genome.gate.ndim == 1:
        return jax.jit(f)(key, genome)
    return jax.jit(jax.vmap(f))(key, genome)


# ----------------------------------------------------------------------------- population

def _product_layout(n_qubits: int) -> list[tuple[int, int, int]]:
    """Genes (gate, control, target) of the product-state family, 3N - 1 of them: GHZ *undone*
    by CRx(pi) from qubit 0 onto every other qubit (last qubit first), which leaves
    ``(|0> + c|1>)|0...0> / sqrt(2)`` with ``c = (-i)^(N-1)``, then one rotation per qubit
    (Ry; Rx on qubit 0 when N is even, where qubit 0 sits on the +-y axis that Ry leaves
    fixed), then Rz per qubit: every product state is reached (`product_genome`)."""
    n = n_qubits
    undo = [(CRX, 0, q) for q in range(n - 1, 0, -1)]
    first = [(RX if (q == 0 and n % 2 == 0) else RY, 0, q) for q in range(n)]
    return undo + first + [(RZ, 0, q) for q in range(n)]


def structured_seeds(n_qubits: int, max_genes: int, key, dtype=None) -> Genome:
    """Noise-independent structure families for generation 0 (rows of a (S, max_genes)
    Genome; S = 0, 1 or 2 as they fit): GHZ followed by a local layer Ry then Rz on every
    qubit (locally rotated GHZ, 2N genes), and the product-state family of `product_genome`
    (GHZ undone by CRx(pi) from qubit 0, then Ry (Rx on qubit 0 for even N) and Rz per
    qubit: every product state, 3N - 1 genes). Layer angles are uniform in [-pi, pi);
    the angle search of the GA tunes them. A plain GA
    reaches neither family: from GHZ, each disentangling CRx must be followed by a tuned
    rotation before the fitness rises, and structures are compared at their angles."""
    local = [(RY, 0, q) for q in range(n_qubits)] + [(RZ, 0, q) for q in range(n_qubits)]
    families = [local, _product_layout(n_qubits)] if n_qubits > 1 else [local]
    rows = [genes for genes in families if len(genes) <= max_genes]
    g = np.full((len(rows), max_genes), IDENTITY, np.int32)
    c = np.zeros_like(g)
    t = np.zeros_like(g)
    a = np.zeros((len(rows), max_genes))
    u = np.asarray(jax.random.uniform(key, a.shape, minval=-np.pi, maxval=np.pi))
    for i, genes in enumerate(rows):
        for j, (gate, ctrl, tgt) in enumerate(genes):
            g[i, j], c[i, j], t[i, j] = gate, ctrl, tgt
            a[i, j] = np.pi if gate == CRX else u[i, j]
    return Genome(jnp.asarray(g), jnp.asarray(c), jnp.asarray(t),
                  jnp.asarray(a, dtype or jnp.result_type(float)))


def product_genome(local_states, max_genes: int | None = None, dtype=None) -> Genome:
    """The chromosome (``max_genes`` genes, default 3N - 1) whose probe is the product state
    ``|a_0> (x) |a_1> (x) ... (x) |a_{N-1}>`` (qubit 0 most significant, as
    `qsense.states`), up to a global phase: ``apply_pqc(ghz_state(N), product_genome(a))``.

    ``local_states``: (N, 2) complex one-qubit states (normalized here), e.g.
    ``qsense.reference.best_product_probe(...).local_states``. Layout (`structured_seeds`'
    product family): CRx(pi) from qubit 0 onto qubits N-1..1 (GHZ -> ``(|0> + c|1>)|0..0>``,
    ``c = (-i)^(N-1)``), then Ry(alpha_q) (Rx on qubit 0 for even N), then Rz(beta_q); the
    angles map each qubit's start onto the Bloch angles (theta_q, phi_q) of ``a_q``. Used to
    hand a known product optimum to the search (`find_optimal_probe` ``warm_starts``)."""
    a = np.asarray(local_states)
    if a.ndim != 2 or a.shape[1] != 2 or a.shape[0] < 1 or not np.all(np.isfinite(a)):
        fail("local_states", f"array of shape {a.shape}", "finite one-qubit states of shape "
             "(N, 2), N >= 1")
    norm = np.linalg.norm(a, axis=1)
    if np.any(norm < 1e-12):
        fail("local_states", f"norms {norm.tolist()}", "non-zero one-qubit states")
    a = a.astype(complex) / norm[:, None]
    n = a.shape[0]
    layout = _product_layout(n)
    g_len = len(layout) if max_genes is None else max_genes
    if not is_int(g_len) or g_len < len(layout):
        fail("max_genes", max_genes, f"an integer >= {len(layout)} (3N - 1 genes at N = {n})")
    theta = 2 * np.arctan2(np.abs(a[:, 1]), np.abs(a[:, 0]))
    phi = np.angle(a[:, 1]) - np.angle(a[:, 0])
    first, rz = theta.copy(), phi.copy()  # qubits 1..N-1 start in |0>: Ry(theta), Rz(phi)
    # qubit 0 starts on the equator at azimuth arg(c): Bloch (x, y, 0) with c = x + i y
    c = (-1j) ** (n - 1)
    x, y = round(c.real), round(c.imag)
    if n % 2:  # Ry(alpha): (x, 0, 0) -> (x cos alpha, 0, -x sin alpha) = (sin th, 0, cos th)
        first[0] = np.arctan2(-x * np.cos(theta[0]), x * np.sin(theta[0]))
    else:  # Rx(alpha): (0, y, 0) -> (0, y cos alpha, y sin alpha) = (0, sin th, cos th)
        first[0] = np.arctan2(y * np.cos(theta[0]), y * np.sin(theta[0]))
        rz[0] = phi[0] - np.pi / 2  # azimuth pi/2 -> phi
    angle = {(RY, q): first[q] for q in range(n)} | {(RX, 0): first[0]}
    angle |= {(RZ, q): rz[q] for q in range(n)} | {(CRX, q): np.pi for q in range(1, n)}
    gate = np.full(g_len, IDENTITY, np.int32)
    ctrl, tgt, ang = np.zeros_like(gate), np.zeros_like(gate), np.zeros(g_len)
    for j, (gt, cq, tq) in enumerate(layout):
        gate[j], ctrl[j], tgt[j], ang[j] = gt, cq, tq, angle[(gt, tq)]
    return Genome(jnp.asarray(gate), jnp.asarray(ctrl), jnp.asarray(tgt),
                  jnp.asarray(ang, dtype or jnp.result_type(float)))


def initial_population(key, problem: Problem, config: GAConfig) -> Genome:
    """``population`` canonical chromosomes with 1..init_genes random genes (the first one
    all-identity = the GHZ probe when ``include_empty``; the next ones `structured_seeds`
    when ``structured``)."""
    g, p = config.max_genes, config.population
    probs = np.concatenate([np.asarray(config.gate_probs, float), [0.0]])
    if problem.n_qubits == 1:
        probs[CRX] = 0.0
    k1, k2, k3 = jax.random.split(key, 3)
    keys = jax.random.split(k1, p)
    full = jax.vmap(lambda k: random_genome(k, problem.n_qubits, g, gate_probs=probs))(keys)
    lengths = jax.random.randint(k2, (p,), min(1, config.init_genes), config.init_genes + 1)
    keep = jnp.arange(g)[None, :] < lengths[:, None]
    pop = jax.vmap(canonicalize)(Genome(jnp.where(keep, full.gate, IDENTITY), full.control,
                                        full.target, full.angle))
    first = 0
    if config.include_empty:
        e = empty_genome(g, pop.angle.dtype)
        pop = jax.tree_util.tree_map(lambda a, b: a.at[0].set(b), pop, e)
        first = 1
    if config.structured:
        need = len(_product_layout(problem.n_qubits))
        if problem.n_qubits > 1 and g < need:
            warnings.warn(
                f"GAConfig.max_genes = {g} is below the {need} genes (3N - 1) of the product-"
                f"state family at N = {problem.n_qubits}: the search cannot start from every "
                "product probe and may end below the best one (qsense.reference."
                f"best_product_probe); max_genes >= {need} includes it", UserWarning,
                stacklevel=3)
        seeds = structured_seeds(problem.n_qubits, g, k3, pop.angle.dtype)
        s = min(seeds.batch_shape[0], p - first)
        pop = jax.tree_util.tree_map(lambda a, b: a.at[first:first + s].set(b[:s]), pop, seeds)
    return pop


def warm_start_rows(warm_starts, n_qubits: int, max_genes: int,
                    dtype=None) -> tuple[Genome, np.ndarray]:
    """Validate ``warm_starts`` = [(genome, t)] (a (G,) `Genome` with G <= ``max_genes``
    genes, padded here with identity genes, and its sensing time t > 0) and stack them:
    ((W, max_genes) Genome, (W,) times)."""
    real = dtype or jnp.result_type(float)
    rows, ts = [], []
    for i, item in enumerate(warm_starts):
        if not (isinstance(item, (tuple, list)) and len(item) == 2
                and isinstance(item[0], Genome)):
            fail(f"warm_starts[{i}]", type(item).__name__, "a (qsense.Genome, t) pair")
        g, t = item
        if g.gate.ndim != 1 or g.n_genes > max_genes:
            fail(f"warm_starts[{i}] genome", f"shape {tuple(g.gate.shape)}",
                 f"one chromosome of at most max_genes = {max_genes} genes")
        validate_genome(g, n_qubits, f"warm_starts[{i}] genome")
        try:
            tf = float(t)
        except (TypeError, ValueError):
            tf = float("nan")
        if isinstance(t, bool) or not (np.isfinite(tf) and tf > 0):
            fail(f"warm_starts[{i}] t", t, "a finite sensing time > 0")
        pad = max_genes - g.n_genes
        arr = [np.concatenate([np.asarray(x), np.full(pad, fill, np.asarray(x).dtype)])
               for x, fill in ((g.gate, IDENTITY), (g.control, 0), (g.target, 0),
                               (g.angle, 0))]
        rows.append(arr)
        ts.append(tf)
    if not rows:
        e = empty_genome(max_genes, real)
        return jax.tree_util.tree_map(lambda a: a[None][:0], e), np.zeros(0)
    return make_genome(*(np.stack(c) for c in zip(*rows, strict=True)), dtype=real), \
        np.asarray(ts, float)


#: The estimate's (2^N x 2^N) complex arrays per row, ``(per grid time, memetic steps)``, and
#: its bytes per gene per row at complex128 (the circuit's state vectors and gates, the small-N
#: part), ``(no memetic steps, memetic steps)``, for a scalar and a vector field: upper bounds
#: of XLA's plans of the generation program on CPUs, 2026-12-04 (N = 2-7, n_t 1-8, 16 genes,
#: per row: 4.5-5.8 arrays per time and 25-34 for the steps in a scalar field, 10.5-10.8 and
#: 45-59 in a vector field, plus 1.1 kB (none) to 3.4 kB (steps) a gene in a scalar field and
#: 14 kB a gene (steps) in a vector field). The steps and the grid do not hold their arrays at
#: once: a row needs the larger of the two. tests/qsense/test_memory_estimate.py checks the
#: bound against XLA's plans.
ESTIMATE_ARRAYS = {"scalar": (6, 32), "vector": (12, 64)}
ESTIMATE_GENE_BYTES = {"scalar": (1024, 4096), "vector": (2048, 16384)}


def estimate_bytes(problem: Problem, config: GAConfig, n_devices: int = 1) -> int:
    """Upper bound of the working set, on ONE device, of one generation when the population
    is sharded over ``n_devices`` devices: its ``ceil(population / n_devices)`` rows (the
    population is padded to a multiple of the device count, `qsense.distributed.pad_rows`),
    each the larger of its grid scoring (`ESTIMATE_ARRAYS` complex (2^N x 2^N) arrays per
    time) and its memetic local steps (a fixed number of them), plus `ESTIMATE_GENE_BYTES` per
    gene; with ``chunk_rows`` set, at most that many rows at once. Bytes, in the problem's
    dtype (float32 scoring needs about half). No compilation: what the experiments check up
    front; `search` sizes its programs by XLA's own plan of them (`chunk_plan` with
    ``exact=True``), which this bounds with room (1.1-1.8x, more at small N)."""
    if not is_int(n_devices) or n_devices < 1:
        fail("n_devices", n_devices, "an integer >= 1")
    rows = _rows_per_device(config, n_devices)
    if config.chunk_rows is not None:
        rows = min(rows, config.chunk_rows)
    return rows * _bytes_per_row(problem, config)


def _bytes_per_row(problem: Problem, config: GAConfig) -> int:
    d = 2 ** problem.n_qubits
    item = np.dtype(problem.dtype or np.complex128).itemsize
    steps = int(config.local_steps > 0)
    per_time, per_steps = ESTIMATE_ARRAYS[problem.field]
    arrays = max(per_time * _n_t(problem, config), per_steps if steps else per_time)
    gene = ESTIMATE_GENE_BYTES[problem.field][steps] * item // 16
    return arrays * d * d * item + gene * config.max_genes


#: A lower bound of XLA's plan per row and grid time: (2^N x 2^N) arrays in the scoring dtype
#: (measured 3.7-5.8 in a scalar field, 10.5-10.8 in a vector one). `search` refuses without
#: compiling what cannot fit even by it, and starts its chunk search from the rows it allows
#: (tests/qsense/test_memory_estimate.py checks it against XLA's plans).
PLAN_FLOOR_ARRAYS = {"scalar": 3, "vector": 8}


def _floor_bytes_per_row(problem: Problem, config: GAConfig) -> int:
    d = 2 ** problem.n_qubits
    item = 8 if config.score_dtype == "float32" else \
        np.dtype(problem.dtype or np.complex128).itemsize
    return PLAN_FLOOR_ARRAYS[problem.field] * _n_t(problem, config) * d * d * item


def _refuse(problem: Problem, config: GAConfig, n_dev: int, chunk: int, amount: str,
            limit: float, most: int | None = None):
    """ValueError for a generation that needs ``amount`` (e.g. "about 1.2 GB") per device,
    scored ``chunk`` rows at a time, over the per-device ``limit`` (bytes): naming
    ``chunk_rows`` when the chunk was the user's (``most``: the rows that would fit), else
    ``n_qubits`` (one row at a time did not fit)."""
    where = _where(problem, config, n_dev)
    if config.chunk_rows is not None:
        most = "" if most is None else f", at most {most} rows per device"
        fail("chunk_rows", config.chunk_rows,
             f"a chunk whose working set fits{most}: {where}, scored {chunk} rows at a "
             f"time, needs {amount} per device > limit {limit / 1e9:.3g} GB (None picks the "
             "most that fit)")
    fail("n_qubits", problem.n_qubits,
         f"a size whose fitness working set fits in memory: {where} needs {amount} per "
         f"device for even one row at a time > limit {limit / 1e9:.3g} GB; lower N or n_t, "
         "or raise memory_limit_gb")


def _where(problem: Problem, config: GAConfig, n_dev: int) -> str:
    """The size a memory refusal names: population, devices, rows each, times, N."""
    return (f"population {config.population} over {n_dev} device{'s' if n_dev > 1 else ''} "
            f"({_rows_per_device(config, n_dev)} rows each) x {_n_t(problem, config)} times "
            f"at N = {problem.n_qubits}")


def _rows_per_device(config: GAConfig, n_devices: int) -> int:
    return padded_size(config.population, n_devices) // int(n_devices)


def _n_t(problem: Problem, config: GAConfig) -> int:
    return len(config.t_grid) if config.t_grid is not None else config.n_t


def memory_limit_bytes(config: GAConfig, devices: Sequence | None = None) -> float:
    """The memory one device may use for the search (bytes): ``memory_limit_gb`` when set;
    otherwise, for each device, an accelerator's own allocator limit
    (``device.memory_stats()["bytes_limit"]``) or, for a CPU device (or one that reports no
    limit), half this host's RAM shared by this host's CPU devices in ``devices`` (fake CPU
    devices share one memory); the smallest over ``devices`` (default: every device).
    (`qsense.distributed.device_memory_limit`, which the refinement uses too.)"""
    return device_memory_limit(devices, config.memory_limit_gb)


def chunk_plan(problem: Problem, config: GAConfig, devices: Sequence | None = None, *,
               exact: bool = False) -> tuple[int | None, int]:
    """``(chunk, bytes)``: the rows per device that a generation scores at once (None: the
    whole population, unchunked) and the per-device working set of one chunk, with the
    population sharded over ``devices`` (default every device). ``chunk_rows`` None: the
    whole population when it fits the per-device limit (`memory_limit_bytes`), else the most
    rows that fit; refused (ValueError naming the key) when not even one row fits, or when an
    explicit ``chunk_rows`` does not. ``chunk`` is what a chunk really holds: the chunks are
    balanced (`_row_layout`), so a ``chunk_rows`` of 70 over 256 rows gives 64.

    ``exact=False``: by `estimate_bytes`, an upper bound, at no cost (the up-front check of
    the experiments). ``exact=True``: by XLA's plan of the compiled generation program, the
    plan `search` follows (it compiles the programs, which `search` then reuses; devices must
    be real ones)."""
    if exact:
        ts = jnp.asarray(search_t_grid(problem, config), _real_dtype(problem.dtype))
        chunk, need, _, _ = _plan_programs(problem, config, population_devices(devices), ts)
        return chunk, int(need)
    devs = population_devices(devices)
    n_dev = len(devs)
    limit = memory_limit_bytes(config, devs)
    rows = _rows_per_device(config, n_dev)
    per = _bytes_per_row(problem, config)
    if config.chunk_rows is not None:
        chunk = min(rows, config.chunk_rows)
        if chunk * per > limit:
            _refuse(problem, config, n_dev, chunk, f"about {chunk * per / 1e9:.3g} GB", limit,
                    int(limit // per))
    else:
        chunk = min(rows, int(limit // per))
        if chunk < 1:
            _refuse(problem, config, n_dev, 1, f"about {per / 1e9:.3g} GB", limit)
    chunk = _row_layout(config.population, n_dev, chunk)[2]  # the rows a chunk really holds
    return (None if chunk >= rows else chunk), chunk * per


def check_memory(problem: Problem, config: GAConfig,
                 devices: Sequence | None = None) -> int:
    """Refuse (ValueError with the estimate) a search that cannot fit the per-device limit
    even in chunks, by the estimate (`chunk_plan` with ``exact=False``: no compilation; an
    upper bound, so it may refuse a size that `search`, sized by XLA's plan, would run).
    Returns the estimated per-device working set: the whole population's share when it
    fits, else one chunk's."""
    return chunk_plan(problem, config, devices)[1]


def _row_layout(population: int, n_devices: int, chunk: int | None) -> tuple[int, int, int]:
    """``(P', n_chunks, c)``: the padded row count ``P' = n_devices * n_chunks * c`` the
    programs run on, and the chunks of ``c`` rows per device each generation scores one after
    another (``n_chunks = 1``: unchunked, ``P' = padded_size(P, D)``). The chunks are balanced
    (``c = ceil(m / n_chunks)`` for ``m = ceil(P / D)`` rows per device), so at most
    ``n_chunks - 1`` padding rows per device are added for them."""
    m = padded_size(population, n_devices) // n_devices
    if chunk is None or chunk >= m:
        return m * n_devices, 1, m
    n_chunks = -(-m // chunk)
    c = -(-m // n_chunks)
    return n_devices * n_chunks * c, n_chunks, c


def _static_config(config: GAConfig) -> GAConfig:
    """The settings that shape the compiled programs (the t grid is data)."""
    return dataclasses.replace(config, generations=0, t_grid=None, n_t=1, init_genes=0,
                               include_empty=True, memory_limit_gb=None)


def _generation_dtype(config: GAConfig):
    """The complex dtype generations are scored in when it is not the problem's own
    (``score_dtype="float32"``: complex64), else None."""
    return jnp.complex64 if config.score_dtype == "float32" else None


def search_t_grid(problem: Problem, config: GAConfig) -> np.ndarray:
    """The sensing times every chromosome is scored on: ``config.t_grid``, or
    `default_t_grid`. Times past the sensing-scale limit of the dtype the generations are
    scored in (`qsense.objective.sensing_limit_time`; float32 scoring: complex64) score NaN:
    a warning names them, and a grid with none below the limit is refused. (`search` also
    warns when its best time lies near the limit: the optimum may be past it.)"""
    check_not_traced("search_t_grid", problem=problem)
    if config.t_grid is not None:
        grid = np.asarray(config.t_grid, float)
    elif noise_rate(problem) <= 0:
        fail("t_grid", None, "explicit sensing times when gamma = 0 or every noise weight "
             "is 0 (no finite optimum)")
    else:
        grid = default_t_grid(problem, config.n_t)
    low = _generation_dtype(config)
    limit = sensing_limit_time(problem, low)
    if np.min(grid) >= limit:  # nothing left to score: every generation would be NaN
        try:
            check_problem_scale(problem, float(np.min(grid)), low)
        except ValueError as err:
            hint = " (or score_dtype='float64': its limit is larger)" if low is not None else ""
            raise ValueError(f"t_grid (shortest time {float(np.min(grid)):.6g}, score_dtype = "
                             f"{config.score_dtype!r}): {err}; use shorter times{hint}") from None
    if np.max(grid) >= limit:
        warnings.warn(f"t_grid reaches t = {float(np.max(grid)):.6g}, past the sensing-scale "
                      f"limit t = {limit:.6g} of score_dtype = {config.score_dtype!r} "
                      "(qsense.noise.max_sensing_scale): those times score NaN and the search "
                      "keeps to the shorter ones" + (
                          f" (score_dtype='float64' moves the limit to t = "
                          f"{sensing_limit_time(problem):.6g})" if low is not None else ""),
                      stacklevel=3)
    return grid


#: gradient components of the memetic steps below this times |fitness| are set to 0: the
#: rounding noise of an angle the fitness does not depend on, which Adam (steps scaled by the
#: gradient's own size) would turn into a step whose direction depends on the batch layout
GRAD_FLOOR = 1e-10

#: significant bits of a fitness that selection compares (`ranking`): 2^-32 ~ 2.3e-10 relative
RANK_BITS = 32


def ranking(fitness: jax.Array) -> jax.Array:
    """``fitness`` rounded to `RANK_BITS` significant bits (infinities kept): what selection
    compares (tournaments, elite, a row's start time, the memetic steps' best point, the
    reported best). Chromosomes whose fitnesses differ by less than ~2e-10 (relative) are
    tied, and a tie goes to the lower row (elite: a stable sort) or the first row drawn
    (tournament: the first argmax). Without it, which of
    two near-identical chromosomes wins depends on ~1e-16 roundings, and those depend on the
    batch a row is scored in: the number of devices (each scores P / D rows),
    `GAConfig.chunk_rows`, the XLA build; one flipped tie sends rows along other paths. (The
    larger such effect was the memetic steps', `GRAD_FLOOR`: `benchmarks/RESULTS.md`, "One
    search over two local processes".) A rounding still decides where a fitness sits within
    ~1e-16 of a rank boundary: about one comparison in 10^6 among near-ties. float32
    fitnesses (24 bits) are returned unchanged."""
    m, ex = jnp.frexp(fitness)
    q = jnp.ldexp(jnp.round(m * 2.0**RANK_BITS), ex - RANK_BITS)
    return jnp.where(jnp.isfinite(fitness), q, fitness)


def fittest_rows(fitness: jax.Array, k: int) -> jax.Array:
    """The ``k`` fittest rows, fittest first, comparing `ranking`s (a tie goes to the lower
    row: a stable sort); NaN counts as ``-inf``."""
    r = ranking(jnp.where(jnp.isnan(fitness), -jnp.inf, fitness))
    return jnp.argsort(-r, stable=True)[:k]


def select_parents(key: jax.Array, fitness: jax.Array, elite: int,
                   tournament: int) -> tuple[jax.Array, jax.Array]:
    """``(elite_rows, winners)`` of a generation's selection over ``P = len(fitness)``
    chromosomes: the ``elite`` fittest rows (fittest first), and for each of the ``P - elite``
    children the winner of a tournament among ``tournament`` rows drawn (with replacement)
    from ``key``. Both compare `ranking`s, a tie going to the lower row (elite) or to the
    first row drawn (tournament): fitnesses that differ only by rounding (~1e-16) select the
    same rows."""
    p = fitness.shape[0]
    r = ranking(fitness)
    cand = jax.random.randint(key, (p - elite, tournament), 0, p)
    winners = cand[jnp.arange(p - elite), jnp.argmax(r[cand], axis=1)]
    return fittest_rows(fitness, elite), winners


def pick_start(vals: jax.Array, times: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(f0, t0)``: each row's best start among ``K`` candidate times: ``vals`` and
    ``times`` are ``(K, P)`` (candidate k of row i: fitness ``vals[k, i]`` at ``times[k, i]``;
    in a generation the t grid, then the row's inherited time). Compares `ranking`s, a tie
    going to the first candidate; NaN counts as ``-inf`` (``f0`` carries it so)."""
    vals = jnp.where(jnp.isnan(vals), -jnp.inf, vals)
    best = jnp.argmax(ranking(vals), axis=0)
    return (jnp.take_along_axis(vals, best[None], axis=0)[0],
            jnp.take_along_axis(times, best[None], axis=0)[0])


def improves(loss: jax.Array, best: jax.Array) -> jax.Array:
    """Whether a memetic step's ``loss`` (minus the fitness) beats the best one met so far,
    ``best``: finite and lower by more than a tie of `ranking` (a difference of rounding does
    not move the best point, so it does not depend on the batch the row is scored in)."""
    return jnp.isfinite(loss) & (ranking(loss) < ranking(best))


@functools.lru_cache(maxsize=32)
def _programs(n_qubits: int, config: GAConfig,
              devices: tuple | None = None) -> tuple[Callable, Callable]:
    """(evaluate, generation) for this qubit count/config, both through one jitted program;
    the `Problem` is their last argument (data: one compilation per problem structure).

    ``devices``: spread the population over them (`qsense.distributed.population_sharding`):
    the programs then take and return arrays of ``P' = padded_size(P, D)`` rows sharded on
    axis 0, whose rows ``>= P`` are padding (copies of rows ``i mod P``, scored like any row
    and never selected: selection reads rows ``< P`` only). ``None``: JAX's default
    placement, ``P' = P``. ``config.chunk_rows`` here is the resolved chunk (`chunk_plan`):
    an int scores each device's rows in chunks of about that many (`_row_layout`, which
    pads ``P'`` to whole chunks); None scores them all at once. Both programs also carry
    ``.rescore(pop, t, problem)``: the objective of each row at its time in the problem's
    dtype (the mixed-precision re-score).
    """
    def fit(genome, t, problem):  # the one objective (QFI, or -QCRB)
        return score(problem, genome, t)

    probs = jnp.asarray(config.operator_probs, float)
    gate_probs = tuple(float(x) for x in config.gate_probs)
    mut = functools.partial(mutate, n_qubits=n_qubits, max_run=config.max_run,
                            gate_probs=gate_probs, angle_sigma=float(config.angle_sigma))
    p, e, k = config.population, config.elite, config.tournament
    adam = optax.adam(config.local_lr)
    mixed = config.score_dtype == "float32"
    n_dev = 1 if devices is None else len(devices)
    n_pad, n_chunks, c = _row_layout(p, n_dev, config.chunk_rows)
    if devices is not None:
        rows = population_sharding(devices)
        # a chunked (n_chunks, D, c, ...) view keeps each device's rows on it (axis 1)
        by_chunk = jax.sharding.NamedSharding(rows.mesh, jax.sharding.PartitionSpec(None, AXIS))

        def place(tree):
            return jax.tree_util.tree_map(
                lambda a: jax.lax.with_sharding_constraint(a, rows), tree)
    else:
        rows = by_chunk = None

        def place(tree):
            return tree

    def over_rows(f, *args):
        """``jax.vmap(f)(*args)`` over the ``P'`` rows of ``args``; chunked, each device's rows
        in ``n_chunks`` chunks of ``c`` (`jax.lax.map`, one chunk after another in the same
        program), so only one chunk's working set is live at a time."""
        if n_chunks == 1:
            return jax.vmap(f)(*args)

        def split(a):  # rows (device-major, as sharded) -> (n_chunks, D, c, ...)
            a = jnp.swapaxes(a.reshape((n_dev, n_chunks, c) + a.shape[1:]), 0, 1)
            return a if by_chunk is None else jax.lax.with_sharding_constraint(a, by_chunk)

        out = jax.lax.map(lambda xs: jax.vmap(jax.vmap(f))(*xs),
                          jax.tree_util.tree_map(split, args))
        return jax.tree_util.tree_map(
            lambda y: jnp.swapaxes(y, 0, 1).reshape((n_pad,) + y.shape[3:]), out)

    def local(genome, t0, f0, lo, hi, problem):
        """``local_steps`` Adam steps on (angles, log t) from (genome.angle, t0), log t kept
        in [lo, hi]; returns the best point met (the start included) and its fitness."""
        def loss(q):
            return -fit(dataclasses.replace(genome, angle=q["angle"]),
                        jnp.exp(jnp.clip(q["log_t"], lo, hi)), problem)

        q0 = {"angle": genome.angle, "log_t": jnp.log(t0)}

        def body(carry, _):
            q, state, best_q, best_l = carry
            val, grad = jax.value_and_grad(loss)(q)
            better = improves(val, best_l)
            best_q = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), q, best_q)
            best_l = jnp.where(better, val, best_l)
            # components below GRAD_FLOOR x |loss| are rounding noise of a flat direction (an
            # angle the fitness does not depend on): Adam scales steps by the gradient's own
            # size, so such noise would move those angles a full step, one way or the other
            # depending on the rounding of the batch the row is scored in
            floor = GRAD_FLOOR * jnp.abs(val)
            grad = jax.tree_util.tree_map(
                lambda x: jnp.where(jnp.isfinite(x) & (jnp.abs(x) > floor), x, 0.0), grad)
            upd, state = adam.update(grad, state, q)
            return (optax.apply_updates(q, upd), state, best_q, best_l), None

        (_, _, best_q, best_l), _ = jax.lax.scan(
            body, (q0, adam.init(q0), q0, -f0), None, length=config.local_steps)
        return (dataclasses.replace(genome, angle=best_q["angle"]), -best_l,
                jnp.exp(jnp.clip(best_q["log_t"], lo, hi)))

    def local_p(pop, t0, f0, lo, hi, problem):
        return over_rows(lambda g, a, b: local(g, a, b, lo, hi, problem), pop, t0, f0)

    def scored(pop, t, problem, all_rows=False):
        """`score` of each row at its own time, NaN -> -inf (the problem's dtype);
        ``all_rows``: ``pop`` is the whole (padded) population, scored in chunks if chunked."""
        if all_rows:
            v = over_rows(lambda g, tt: fit(g, tt, problem), pop, t)
        else:
            v = jax.vmap(fit, in_axes=(0, 0, None))(pop, t, problem)
        return jnp.where(jnp.isnan(v), -jnp.inf, v)

    def evaluate_in(pop, t_prev, ts, problem):
        """Each chromosome's best time among the grid and its inherited time, then the
        local angle/time steps (Lamarckian: the population comes back improved)."""
        grid = jnp.concatenate([ts[:, None] * jnp.ones_like(t_prev)[None], t_prev[None]])
        # a grid time is shared by the whole population: its sensing maps are computed once
        # per time, not once per chromosome (a per-row t costs a 4x4 expm per row and a
        # gather of per-row maps in every sensing step: measured 1.3x the whole generation)
        on_grid = jax.vmap(
            lambda tt: over_rows(lambda g: fit(g, tt, problem), pop))(ts)
        # the inherited scoring waits for the grid's: two independent batched eighs in one
        # program can run at once, and jaxlib's eigh (ParallelBatchMap) blocks an XLA:CPU
        # pool thread while it waits for its own batch chunks on that pool: on a 2-thread
        # pool the two deadlock (seen here every few generations). An optimization_barrier
        # does not order them (XLA drops it before the thunk schedule); a data dependency
        # does: t_prev + 0 * (a finite grid value), which XLA cannot fold for floats.
        first = on_grid[0, 0]
        t_prev = t_prev + jnp.zeros_like(t_prev) * jnp.where(jnp.isfinite(first), first, 0)
        inherited = over_rows(lambda g, tp: fit(g, tp, problem), pop, t_prev)
        f0, t0 = pick_start(jnp.concatenate([on_grid, inherited[None]]), grid)
        if config.local_steps == 0:
            return pop, f0, t0
        lo, hi = jnp.log(jnp.min(ts)), jnp.log(jnp.max(ts))
        return local_p(pop, t0, f0, lo, hi, problem)

    def evaluate(pop, t_prev, ts, problem):
        """`evaluate_in` in the problem's dtype, or (mixed precision) in float32 on float32
        copies of the problem and angles, then the ``max(elite, 1)`` fittest rows re-scored
        in the problem's dtype (angles and times come back in the problem's precision)."""
        if not mixed:
            return evaluate_in(pop, t_prev, ts, problem)
        real = pop.angle.dtype
        low = problem.astype(jnp.complex64)
        pop32 = dataclasses.replace(pop, angle=pop.angle.astype(jnp.float32))
        new, f0, t0 = evaluate_in(pop32, t_prev.astype(jnp.float32), ts.astype(jnp.float32),
                                  low)
        new = dataclasses.replace(new, angle=new.angle.astype(real))
        f0, t0 = f0.astype(real), t0.astype(real)
        top = fittest_rows(f0[:p], max(e, 1))
        hi = scored(jax.tree_util.tree_map(lambda a: a[top], new), t0[top], problem)
        return new, f0.at[top].set(hi), t0

    def step(key, pop, fitness, tt, ts, problem, select):
        """One generation (``select`` True) or the scoring of ``pop`` as is (False): one
        program for both, so the memetic steps compile once per shape. Rows ``>= p`` of the
        inputs are padding (see `_programs`)."""
        kt, ko, km = jax.random.split(key, 3)
        top, winners = select_parents(kt, fitness[:p], e, k)
        elites = jax.tree_util.tree_map(lambda a: a[top], pop)
        parents = jax.tree_util.tree_map(lambda a: a[winners], pop)
        ops = jax.random.choice(ko, len(OPERATORS), (p - e,), p=probs)
        children = jax.vmap(mut)(jax.random.split(km, p - e), parents, ops)
        new = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]), elites, children)
        t_new = jnp.concatenate([tt[top], tt[winners]])
        new, t_new = pad_rows((new, t_new), n_pad)
        new = jax.tree_util.tree_map(lambda a, b: jnp.where(select, a, b), new, pop)
        new, t_new = place((new, jnp.where(select, t_new, tt)))
        return place(evaluate(new, t_new, ts, problem))

    def rescore(pop, t, problem):
        return place(scored(pop, t, problem, all_rows=True))

    if rows is None:
        jstep, jrescore = jax.jit(step), jax.jit(rescore)
    else:
        jstep = jax.jit(step, out_shardings=(rows, rows, rows))
        jrescore = jax.jit(rescore, out_shardings=rows)

    def evaluate_pop(pop, t_prev, ts, problem):
        """(population, fitness, t) of ``pop`` (P chromosomes) scored as generation 0."""
        return jstep(jax.random.PRNGKey(0), pop, jnp.zeros_like(t_prev), t_prev, ts, problem,
                     jnp.asarray(False))

    def generation(key, pop, fitness, tt, ts, problem):
        """Selection, mutation and scoring: the next (population, fitness, t)."""
        return jstep(key, pop, fitness, tt, ts, problem, jnp.asarray(True))

    evaluate_pop.jitted = generation.jitted = jstep  # type: ignore[attr-defined]  (no-recompile checks)
    evaluate_pop.rescore = generation.rescore = jrescore  # type: ignore[attr-defined]
    return evaluate_pop, generation


# ----------------------------------------------------------------------------- the search

@dataclasses.dataclass
class SearchResult:
    """Outcome of `search`: the fittest chromosome, its fitness (QFI, or -QCRB) and the grid
    time where it is reached; the final population with its fitnesses/times; per-generation
    ``history`` (``best``, ``mean`` of finite fitnesses), index 0 = the initial population;
    ``ghz_fitness``: the all-identity chromosome's fitness on the same grid; ``devices``: the
    devices the population was sharded over."""

    genome: Genome
    fitness: float
    t: float
    population: Genome
    fitnesses: np.ndarray
    ts: np.ndarray
    history: dict[str, np.ndarray]
    ghz_fitness: float
    t_grid: np.ndarray
    ghz_t: float = float("nan")
    devices: list[str] = dataclasses.field(default_factory=list)


def _meta(problem: Problem, config: GAConfig, seed: int) -> str:
    # chunk_rows changes how much is scored at once, not the numbers: a checkpoint resumes
    # under any chunking (and checkpoints written before the field existed still resume)
    cfg = {k: v for k, v in dataclasses.asdict(config).items() if k != "chunk_rows"}
    d = {"problem": dataclasses.asdict(problem), "config": cfg, "seed": int(seed)}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()


def _save(path: Path, meta: str, gen: int, key, pop: Genome, fit, ts, hist) -> None:
    """Write the logical rows (``len(fit)``; padding rows of ``pop`` dropped). The temporary
    file is this process's own: the processes of a multi-host search all write the same
    checkpoint (the same bytes), and one must not move another's half-written file."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
    g = jax.tree_util.tree_map(lambda a: to_host(a)[:len(fit)], pop)
    np.savez(tmp, meta=meta, gen=gen, key=np.asarray(key), gate=g.gate, control=g.control,
             target=g.target, angle=g.angle, fit=np.asarray(fit), ts=np.asarray(ts),
             best=np.asarray(hist["best"]), mean=np.asarray(hist["mean"]))
    os.replace(tmp, path)


_CHECKPOINT_KEYS = ("gen", "key", "gate", "control", "target", "angle", "fit", "ts", "best",
                    "mean")


def _load(path: Path, meta: str) -> dict[str, np.ndarray] | None:
    """The checkpoint at ``path`` (None when there is none), refused when another problem,
    config or seed wrote it."""
    if not path.exists():
        return None
    with np.load(path) as data:
        if str(data["meta"]) != meta:
            fail("checkpoint", str(path), "a checkpoint written by the same problem, config "
                 "and seed (delete it or use another path)")
        return {k: np.asarray(data[k]) for k in _CHECKPOINT_KEYS}


def _finite_mean(f) -> float:
    f = np.asarray(f)
    ok = np.isfinite(f)
    return float(f[ok].mean()) if ok.any() else float("-inf")


def _ghz_rows(config: GAConfig, real) -> Genome:
    """The GHZ probe (the all-identity chromosome) tiled to the population's P rows."""
    e = empty_genome(config.max_genes, real)
    return jax.tree_util.tree_map(lambda a: jnp.repeat(a[None], config.population, 0), e)


def _plan_programs(problem: Problem, config: GAConfig, devs: Sequence, ts: jax.Array
                   ) -> tuple[int | None, float, float | None, tuple[Callable, Callable]]:
    """``(chunk, bytes, whole, (evaluate, generation))``: the programs `search` runs, sized
    by XLA's own plan of them (`qsense.distributed.program_bytes`: what one device must hold
    for a generation, and for the float64 re-score under mixed precision), not by the
    estimate.
    The whole population at once when that fits `memory_limit_bytes`; else the most rows per
    device that XLA plans within it (from two plans, read off their line, then checked: one
    more compilation each try, none wasted when it fits, since the call reuses the compiled
    program). A size that cannot fit even by a floor of the plan (`PLAN_FLOOR_ARRAYS`) is
    refused, or started from the rows the floor allows, without compiling it.
    ``bytes``: the plan of the programs returned, ``whole``: the unchunked one's (None when
    it was not compiled).
    An explicit ``chunk_rows`` is kept, or refused when its plan does not fit. A backend
    without a memory analysis falls back to `chunk_plan` (the estimate)."""
    static = _static_config(config)
    n_dev, p = len(devs), config.population
    limit = memory_limit_bytes(config, devs)
    rows = _rows_per_device(config, n_dev)
    sharding = population_sharding(devs)
    ghz = _ghz_rows(config, ts.dtype)

    def build(chunk):
        progs = _programs(problem.n_qubits, dataclasses.replace(static, chunk_rows=chunk),
                          devs)
        n_pad = _row_layout(p, n_dev, chunk)[0]
        pop, t = shard_rows(pad_rows((ghz, jnp.full((p,), ts[0])), n_pad), sharding)
        # the very arguments of the first call (`evaluate` on the GHZ rows), so it reuses
        # this compilation
        need = program_bytes(progs[0].jitted, jax.random.PRNGKey(0), pop, jnp.zeros_like(t),
                             t, ts, problem, jnp.asarray(False))
        if need is not None and config.score_dtype != "float64":
            again = program_bytes(progs[0].rescore, pop, t, problem)
            need = None if again is None else max(need, again)
        return progs, need

    floor = _floor_bytes_per_row(problem, config)
    chunk = 1 if config.chunk_rows is None else min(rows, config.chunk_rows)
    if chunk * floor > limit:  # refused before compiling anything
        _refuse(problem, config, n_dev, chunk, f"at least {chunk * floor / 1e9:.3g} GB", limit,
                int(limit // floor))
    if config.chunk_rows is not None:
        progs, need = build(None if chunk >= rows else chunk)
        if need is None:  # no memory analysis on this backend: the estimate refuses
            need = chunk_plan(problem, config, devs)[1]
        elif need > limit:
            _refuse(problem, config, n_dev, chunk, f"{need / 1e9:.3g} GB (XLA's plan)", limit)
        chunk = _row_layout(p, n_dev, chunk)[2]
        return (None if chunk >= rows else chunk), need, need, progs
    # the whole population first, unless even the floor says it cannot fit: then the most
    # rows the floor allows (no compilation of a program that cannot fit; whole unknown)
    chunk = min(rows, int(limit // floor))
    progs, need = build(None if chunk >= rows else chunk)
    whole = need if chunk >= rows else None
    if need is None:  # no memory analysis on this backend: the estimate decides
        chunk, need = chunk_plan(problem, config, devs)
        whole = estimate_bytes(problem, dataclasses.replace(config, chunk_rows=None), n_dev)
        return chunk, need, whole, build(chunk)[0]
    # the tries are in the rows a chunk really holds (`_row_layout` balances the chunks: a
    # `chunk_rows` of 70 over 256 rows scores 4 chunks of 64), each fewer than the last, so no
    # layout is compiled twice and the line is read through the rows XLA planned for
    chunk = _row_layout(p, n_dev, chunk)[2]
    last = None
    while need > limit:
        if chunk == 1:
            _refuse(problem, config, n_dev, 1, f"{need / 1e9:.3g} GB (XLA's plan)", limit)
        if last is None or need >= last[1]:  # one plan: scale it (an overshoot, by the
            guess = int(chunk * limit / need)  # rows-independent part of the plan)
        else:  # two plans: XLA's plan is linear in the rows; read the chunk off the line
            slope = (last[1] - need) / (last[0] - chunk)
            guess = int((limit - (need - slope * chunk)) // slope)
        last = (chunk, need)
        chunk = _row_layout(p, n_dev, max(1, min(chunk - 1, guess)))[2]
        progs, need = build(chunk)
    return (None if chunk >= rows else chunk), need, whole, progs


def search(problem: Problem, config: GAConfig = GAConfig(), *, seed: int = 0,
           checkpoint: str | os.PathLike | None = None, progress: bool = False,
           callback: Callable[[int, float], None] | None = None,
           devices: Sequence[jax.Device] | None = None) -> SearchResult:
    """Run the genetic structure search. ``checkpoint``: an ``.npz`` path written after every
    generation; if it exists (same problem, config and seed) the run resumes from it.
    ``callback(generation, best_fitness)`` is called after each generation (an exception
    there interrupts the run, leaving the checkpoint of that generation).

    ``devices`` (default: every device, ``jax.devices()``): the population is sharded over
    them (`qsense.distributed.population_sharding`: a 1-D mesh on the population axis), each
    device scoring its rows; the numbers do not depend on the device count. When
    ``population`` is not a multiple of the device count ``D``, the programs run on
    ``D * ceil(P / D)`` rows, the extra rows copies of rows ``i mod P`` that are scored but
    never selected, and dropped from the result. ``result.population`` is a `Genome` of
    `jax.Array` s: with ``P`` a multiple of ``D`` it is sharded over the devices (rows split
    on the ``"pop"`` mesh axis); otherwise its ``P`` rows are replicated over them (JAX shards
    only even splits). Checkpoints hold the ``P`` rows, so a run resumes on any device count.
    The processes of a multi-host run (`qsense.distributed.initialize`) each write the
    checkpoint at their ``checkpoint`` path and all resume from process 0's
    (`qsense.distributed.agree`).
    """
    from tqdm.auto import tqdm

    _check_problem(problem)
    check_not_traced("search", problem=problem)
    if not isinstance(config, GAConfig):
        fail("config", type(config).__name__, "a qsense.genetic.GAConfig")
    if problem.initial != "ghz":
        fail("problem.initial", problem.initial, "'ghz' (the search refines the GHZ probe)")
    if not is_int(seed) or seed < 0:
        fail("seed", seed, "an integer >= 0")
    devs = population_devices(devices)
    ts_grid = search_t_grid(problem, config)
    real = _real_dtype(problem.dtype)
    ts = jnp.asarray(ts_grid, real)
    # sized by XLA's plan of the programs; refuses what cannot fit even one row at a time
    chunk, _, whole, (evaluate, generation) = _plan_programs(problem, config, devs, ts)
    rows = population_sharding(devs)
    p = config.population
    n_pad, n_chunks, chunk_size = _row_layout(p, len(devs), chunk)
    if chunk is not None:
        log_chunks("GA generation (rows per device)", _rows_per_device(config, len(devs)),
                   chunk_size, n_chunks, whole, memory_limit_bytes(config, devs))
    meta = _meta(problem, config, seed)
    path = Path(checkpoint) if checkpoint is not None else None
    key = jax.random.PRNGKey(seed)
    k0, key = jax.random.split(key)

    def put(*trees):  # P logical rows -> P' padded rows sharded over the devices
        return shard_rows(pad_rows(trees, n_pad), rows)

    # the GHZ probe, tiled to the population's shape (the same compiled program)
    tiled = _ghz_rows(config, real)
    ghz_pop, ghz_f, ghz_tt = evaluate(*put(tiled, jnp.full((p,), ts[0])), ts, problem)
    if config.score_dtype != "float64":
        ghz_f = evaluate.rescore(ghz_pop, ghz_tt, problem)
    ghz_fit, ghz_t = float(to_host(ghz_f)[0]), float(to_host(ghz_tt)[0])
    # several processes (jax.distributed) resume from process 0's checkpoint, whatever
    # each finds at its own path: resuming from different generations would hang them
    data = agree(lambda: _load(path, meta)) if path is not None else None
    if data is not None:
        start = int(data["gen"])
        key = jnp.asarray(data["key"])
        pop, fit, tt = put(Genome(data["gate"], data["control"], data["target"],
                                  data["angle"].astype(real)), data["fit"], data["ts"])
        hist = {"best": list(data["best"]), "mean": list(data["mean"])}
    else:
        start = 0
        pop = initial_population(k0, problem, config)
        pop, t_start = put(pop, jnp.full((p,), ts[0]))
        pop, fit, tt = evaluate(pop, t_start, ts, problem)
        f = to_host(fit)[:p]
        hist = {"best": [float(np.max(f))], "mean": [_finite_mean(f)]}
        if path is not None:
            _save(path, meta, 0, key, pop, to_host(fit)[:p], to_host(tt)[:p], hist)
    # the bar counts generations itself: iterating a tqdm keeps its count in a local until a
    # mininterval print, so set_postfix redrew "0/N"; the finished bar stays on screen
    bar = tqdm(initial=start, total=config.generations, disable=not progress,
               desc=f"GA N={problem.n_qubits} {problem.noise}")
    for gen in range(start, config.generations):
        key, sub = jax.random.split(key)
        pop, fit, tt = generation(sub, pop, fit, tt, ts, problem)
        f = to_host(fit)[:p]
        best = float(np.max(f))
        hist["best"].append(best)
        hist["mean"].append(_finite_mean(f))
        bar.set_postfix(best=f"{best:.5g}", refresh=False)
        bar.update(1)
        if path is not None:
            _save(path, meta, gen + 1, key, pop, f, to_host(tt)[:p], hist)
        if callback is not None:
            callback(gen + 1, best)
    bar.close()
    if config.score_dtype != "float64":  # the final probes, re-scored in the problem's dtype
        fit = evaluate.rescore(pop, tt, problem)
    fit_np, tt_np = to_host(fit)[:p], to_host(tt)[:p]
    if n_pad == p:
        population = pop
    else:  # JAX shards only even splits: the P rows, replicated over the devices
        replicated = jax.sharding.NamedSharding(rows.mesh, jax.sharding.PartitionSpec())
        population = jax.jit(lambda g: g[:p], out_shardings=replicated)(pop)
    i = int(fittest_rows(jnp.asarray(fit_np), 1)[0])
    genome = jax.tree_util.tree_map(lambda a: jnp.asarray(to_host(a)[i]), population)
    warn_near_limit(problem, float(tt_np[i]), "search", _generation_dtype(config))
    return SearchResult(genome=genome, fitness=float(fit_np[i]), t=float(tt_np[i]),
                        population=population, fitnesses=fit_np, ts=tt_np,
                        history={k: np.asarray(v) for k, v in hist.items()},
                        ghz_fitness=ghz_fit, t_grid=ts_grid, ghz_t=ghz_t,
                        devices=[str(d) for d in devs])


# ----------------------------------------------------------------------------- GA + refine

@dataclasses.dataclass(frozen=True)
class RefineConfig:
    """Angle refinement of the fittest structures: ``top_k`` distinct structures x
    ``restarts`` starts each (the GA's angles, then jittered by ``jitter`` rad), plus one
    start from the GHZ probe (empty PQC), all in one vmapped `optimize_angles` call.

    method: one of `qsense.optimize.METHODS`; steps: optimizer steps (>= 1); learning_rate:
    the step size (finite, > 0; radians and log t for Adam); top_k, restarts: >= 1; jitter:
    angle jitter of the restarts (radians, >= 0); t_bounds: ``(t_min, t_max)``, the range t
    is kept in (finite, 0 < t_min < t_max; the problem's time unit, 1 / gamma's). Checked
    here, when the config is made, not after the whole search."""

    method: str = "adam"
    steps: int = 150
    learning_rate: float = 0.05
    top_k: int = 4
    restarts: int = 2
    jitter: float = 0.3
    t_bounds: tuple[float, float] = (1e-3, 1e3)

    def __post_init__(self) -> None:
        _check_method(self.method, None)
        for name in ("steps", "top_k", "restarts"):
            v = getattr(self, name)
            if not is_int(v) or v < 1:
                fail(name, v, "an integer >= 1")
        if not (is_real(self.jitter) and np.isfinite(self.jitter) and self.jitter >= 0):
            fail("jitter", self.jitter, "an angle >= 0 (radians)")
        if not (is_real(self.learning_rate) and np.isfinite(self.learning_rate)
                and self.learning_rate > 0):
            fail("learning_rate", self.learning_rate, "a finite step size > 0")
        tb = self.t_bounds
        ok = isinstance(tb, (tuple, list, np.ndarray)) and len(tb) == 2 and all(
            is_real(x) and np.isfinite(x) for x in tb) and 0 < tb[0] < tb[1]
        if not ok:
            fail("t_bounds", tb, "two finite times (t_min, t_max) with 0 < t_min < t_max")


@dataclasses.dataclass
class ProbeResult:
    """Optimal VQS probe: the refined genome, its optimal time and merit (QFI or QCRB), the
    GHZ probe's optimal time and merit (same optimizer), the search and refinement details."""

    genome: Genome
    t: float
    value: float
    ghz_t: float
    ghz_value: float
    search: SearchResult | None
    refine: OptResult
    merit_name: str


def _distinct_top(result: SearchResult, k: int) -> np.ndarray:
    order = np.argsort(-np.where(np.isfinite(result.fitnesses), result.fitnesses, -np.inf),
                       kind="stable")
    pop = result.population
    seen, out = set(), []
    for i in order:
        sig = (np.asarray(pop.gate[i]).tobytes(), np.asarray(pop.control[i]).tobytes(),
               np.asarray(pop.target[i]).tobytes())
        if sig not in seen:
            seen.add(sig)
            out.append(int(i))
        if len(out) == k:
            break
    return np.asarray(out)


def refine_structures(key, problem: Problem, result: SearchResult,
                      config: RefineConfig = RefineConfig(), *,
                      devices: Sequence[jax.Device] | None = None,
                      warm_starts: Sequence[tuple[Genome, float]] = (),
                      memory_limit_gb: float | None = None) -> OptResult:
    """Refine the angles and t of the top structures of ``result`` (plus a GHZ start; it is
    restart 0 of the returned batch; and one start per ``warm_starts`` item (genome, t), as
    given, the last restarts of the batch), the restarts sharded over ``devices`` (default:
    all; see `qsense.optimize.optimize_angles`, which also runs them in chunks that fit
    ``memory_limit_gb`` per device). Each restart keeps the best point it meets, its start
    included, so the result is never below any start."""
    warm, warm_t = warm_start_rows(warm_starts, problem.n_qubits, result.population.n_genes,
                                   result.population.angle.dtype)
    idx = _distinct_top(result, config.top_k)
    starts = jax.tree_util.tree_map(lambda a: jnp.repeat(to_host(a)[idx], config.restarts,
                                                         axis=0), result.population)
    t0 = np.concatenate([[result.ghz_t], np.repeat(result.ts[idx], config.restarts)])
    noise = config.jitter * jax.random.normal(key, starts.angle.shape, starts.angle.dtype)
    first = (jnp.arange(starts.angle.shape[0]) % config.restarts == 0)[:, None]
    angle = jnp.where(first | (starts.gate == IDENTITY), starts.angle, starts.angle + noise)
    starts = dataclasses.replace(starts, angle=angle)
    e = jax.tree_util.tree_map(lambda a: a[None], empty_genome(result.population.n_genes,
                                                               angle.dtype))
    batch = jax.tree_util.tree_map(lambda a, b, c: jnp.concatenate([a, b, c]), e, starts, warm)
    # each start at the time the search found for it (the GA's local steps tune t too), the
    # warm starts at theirs
    t0 = np.concatenate([t0, warm_t])
    bad = ~(np.isfinite(t0) & (t0 > 0))  # e.g. a search result built by hand: best grid time
    if bad.any():
        t0[bad] = best_grid_times(problem, batch[np.flatnonzero(bad)], result.t_grid,
                                  memory_limit_gb=memory_limit_gb)
    # t_grid: the search's grid, which the starts' times were picked on: its range is where
    # each start's time moves to its best lobe where the merit oscillates in t (refine_t)
    return optimize_angles(problem, batch, method=config.method, steps=config.steps,
                           learning_rate=config.learning_rate, t_bounds=config.t_bounds,
                           t0=t0, t_grid=result.t_grid, devices=devices,
                           memory_limit_gb=memory_limit_gb)


def ghz_optimum(problem: Problem, *, steps: int = 150, learning_rate: float = 0.05,
                t_bounds=(1e-3, 1e3), t_grid=None, n_genes: int = 1) -> OptResult:
    """The GHZ probe (empty PQC) at its optimal time (grid, then Adam on log t; where the QFI
    oscillates in t, the best lobe of the grid's range: `qsense.optimize.refine_t`)."""
    real = _real_dtype(problem.dtype)
    return optimize_angles(problem, empty_genome(n_genes, real), steps=steps,
                           learning_rate=learning_rate, t_bounds=t_bounds, t_grid=t_grid)


def find_optimal_probe(problem: Problem, ga: GAConfig = GAConfig(),
                       refine: RefineConfig = RefineConfig(), *, seed: int = 0,
                       checkpoint: str | os.PathLike | None = None,
                       progress: bool = False,
                       devices: Sequence[jax.Device] | None = None,
                       warm_starts: Sequence[tuple[Genome, float]] = ()) -> ProbeResult:
    """Genetic structure search, then angle/time refinement of the fittest structures.
    The result is never worse than the GHZ probe: the GHZ start (restart 0) shares the same
    optimizer, and the best restart is returned. ``warm_starts``: known probes [(genome, t)]
    (at most ``ga.max_genes`` genes, t > 0) refined beside the search's structures (the last
    restarts; `refine_structures`), e.g. ``[(product_genome(best.local_states,
    ga.max_genes), best.t)]`` for ``best = qsense.reference.best_product_probe(...)``: the
    result is never worse than them either. The GA itself does not see them (seeded into
    generation 0, the product optimum steered the GA: in a default Table 1 run cells at N = 3
    and 5 ended up to 1.4 % lower). The population and the refinement restarts are sharded
    over ``devices`` (default: every device; see `search`). The refinement runs in the
    problem's dtype (float64 by default) whatever ``ga.score_dtype``."""
    _check_problem(problem)
    real = _real_dtype(problem.dtype)
    warm_start_rows(warm_starts, problem.n_qubits, ga.max_genes, real)  # bad input: fail now
    res = search(problem, ga, seed=seed, checkpoint=checkpoint, progress=progress,
                 devices=devices)
    opt = refine_structures(jax.random.PRNGKey(seed + 1), problem, res, refine,
                            devices=devices, warm_starts=warm_starts,
                            memory_limit_gb=ga.memory_limit_gb)
    return ProbeResult(genome=opt.genome, t=opt.t, value=opt.value, ghz_t=float(opt.ts[0]),
                       ghz_value=float(opt.values[0]), search=res, refine=opt,
                       merit_name=problem.merit_name)


__all__ = [
    "METHODS", "OPERATORS", "GAConfig", "ProbeResult", "RefineConfig", "SearchResult",
    "apply_operator", "canonicalize", "check_memory", "chunk_plan", "estimate_bytes",
    "find_optimal_probe",
    "ghz_optimum", "initial_population", "memory_limit_bytes", "mutate", "n_active",
    "op_deletion", "op_insertion", "op_permutation", "op_replacement", "op_swapping",
    "product_genome", "refine_structures", "search", "structured_seeds", "warm_start_rows",
]

