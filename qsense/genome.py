"""Circuit genomes: the PQC as fixed-shape arrays (DESIGN section 3).

A genome of length G is four arrays: ``gate:int[G]`` (0 Rx, 1 Ry, 2 Rz, 3 CRx, 4 identity /
padding), ``control:int[G]``, ``target:int[G]``, ``angle:float[G]`` (radians). Single-qubit
genes ignore ``control``; CRx needs ``control != target``. Padding (identity) genes make every
genome of a population one shape, so a population is simply a ``Genome`` whose arrays carry a
leading population axis, and ``jax.vmap`` maps over it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from qsense._checks import (
    MAX_QUBITS,
    as_array_if_traced,
    check_count,
    check_n_qubits,
    fail,
    is_concrete,
)

RX, RY, RZ, CRX, IDENTITY = 0, 1, 2, 3, 4
GATE_NAMES = ("Rx", "Ry", "Rz", "CRx", "I")
N_GATE_TYPES = 5


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Genome:
    """PQC genome. Arrays of shape ``(..., G)``; leading axes are population/batch axes.

    A field given as a (nested) list or tuple of plain numbers becomes an array: whole numbers
    in ``gate``/``control``/``target`` int32, ``angle`` the default float dtype
    (``Genome([0, 3], [0, 0], [1, 1], [0.1, 0.2])``). Anything else (arrays, tracers, the
    placeholders JAX unflattens a pytree with) is kept as given."""

    gate: jax.Array
    control: jax.Array
    target: jax.Array
    angle: jax.Array

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if _is_number_list(value):
                object.__setattr__(self, f.name, _list_to_array(value, f.name == "angle"))
            elif isinstance(value, (list, tuple)) and not is_concrete(value):
                # a list holding tracers (angles [a, b] inside jax.grad): one JAX array, or
                # np.shape below would call __array__ on the tracers
                object.__setattr__(self, f.name, _traced_list_to_array(value, f.name))
        shapes = {f.name: np.shape(getattr(self, f.name)) for f in dataclasses.fields(self)}
        if len(set(shapes.values())) != 1 and all(
            not isinstance(getattr(self, k), jax.core.Tracer) for k in shapes
        ):
            # tracers under vmap may carry batch dims that differ per field; only check concrete
            fail("Genome array shapes", shapes, "gate, control, target, angle of one shape")

    @property
    def n_genes(self) -> int:
        return int(np.shape(self.gate)[-1])

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.gate)[:-1])

    def __getitem__(self, idx: Any) -> Genome:
        """Index the population axes: ``pop[3]`` is the 4th genome, ``pop[-1]`` the last. An
        integer out of range raises IndexError (JAX would clamp it to the last genome)."""
        batch = self.batch_shape
        for axis, i in enumerate(idx if isinstance(idx, tuple) else (idx,)):
            k = _integer_index(i)
            if k is not None and axis < len(batch) and not -batch[axis] <= k < batch[axis]:
                raise IndexError(f"genome index {k} is out of range for batch axis {axis} of "
                                 f"size {batch[axis]}")
        return jax.tree_util.tree_map(lambda a: a[idx], self)

    def __len__(self) -> int:
        """The population size (the leading batch axis). A single genome (no batch axis) has
        no length: TypeError, as ``len()`` of a scalar (its genes are ``n_genes``)."""
        if not self.batch_shape:
            raise TypeError("len() of a single Genome (no population axis; its gene count is "
                            ".n_genes)")
        return self.batch_shape[0]

    def __iter__(self) -> Iterator[Genome]:
        """The genomes along the leading batch axis (``for g in pop``, ``list(pop)``); a single
        genome is not iterable (TypeError)."""
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        """A single genome is true (a circuit, even of identity genes); a population is true
        when it holds a genome (``len(pop) > 0``)."""
        return not self.batch_shape or self.batch_shape[0] > 0


def _integer_index(i: Any) -> int | None:
    """``i`` as an int when it is a concrete integer scalar (Python, numpy or JAX)."""
    if isinstance(i, bool):
        return None
    if isinstance(i, (int, np.integer)):
        return int(i)
    if (isinstance(i, (np.ndarray, jax.Array)) and not isinstance(i, jax.core.Tracer)
            and i.ndim == 0 and np.dtype(i.dtype).kind in "iu"):
        return int(i)
    return None


def _is_number_list(x: Any) -> bool:
    """A (nested) list/tuple of plain Python or numpy numbers (what a user types)."""
    if not isinstance(x, (list, tuple)):
        return False
    return all(isinstance(v, (int, float, np.number)) for v in jax.tree_util.tree_leaves(x))


def _list_to_array(x: Any, is_angle: bool) -> jax.Array:
    a = np.asarray(x)
    if is_angle:
        return jnp.asarray(a, jnp.result_type(float))
    # whole numbers (2 or 2.0) to int32, as make_genome; other values (2.7, True) are kept, for
    # validate_genome to refuse by name
    whole = a.dtype.kind in "iu" or (a.dtype.kind == "f" and bool(np.all(np.isfinite(a)))
                                     and bool(np.all(a == np.round(a))))
    return jnp.asarray(a, jnp.int32) if whole else jnp.asarray(a)


def _traced_list_to_array(x: Any, name: str) -> jax.Array:
    a = as_array_if_traced(x, f"Genome.{name}", "a list of numbers of one shape (..., G)")
    if name == "angle" and not jnp.issubdtype(a.dtype, jnp.floating):
        a = a.astype(jnp.result_type(float))
    return a


def make_genome(gate, control, target, angle, dtype=None) -> Genome:
    """Build a Genome from array-likes (ints for indices, radians for angles)."""
    if dtype is None:
        dtype = jnp.result_type(float)
    for name, x in (("gate", gate), ("control", control), ("target", target)):
        _check_whole(name, x)
    return Genome(
        jnp.asarray(gate, jnp.int32),
        jnp.asarray(control, jnp.int32),
        jnp.asarray(target, jnp.int32),
        jnp.asarray(angle, dtype),
    )


def _check_whole(name: str, x: Any) -> None:
    """Concrete gate codes / qubit indices are whole numbers (int32 would truncate 2.7 to 2)."""
    if not is_concrete(x):
        return
    a = np.asarray(x)
    if a.dtype.kind in "iu":
        return
    if a.dtype.kind != "f":
        fail(f"{name}.dtype", str(a.dtype), "integers (gate codes, qubit indices)")
    bad = ~np.isfinite(a) | (a != np.round(a))
    if bad.any():
        fail(name, a[bad].tolist(), "whole numbers (gate codes, qubit indices)")


def empty_genome(n_genes: int, dtype=None) -> Genome:
    """All-identity genome of length ``n_genes`` (the PQC that leaves the GHZ probe as is)."""
    n_genes = check_count("n_genes", n_genes)
    z = np.zeros(n_genes, np.int32)
    return make_genome(np.full(n_genes, IDENTITY), z, z, np.zeros(n_genes), dtype)


def random_genome(
    key: jax.Array,
    n_qubits: int,
    n_genes: int,
    *,
    gate_probs: Any = None,
    dtype=None,
) -> Genome:
    """Random genome: gate types drawn with ``gate_probs`` over (Rx, Ry, Rz, CRx, I)
    (default uniform over the four real gates, no padding), targets uniform, controls uniform
    over the *other* qubits (so any gene may be mutated into a valid CRx), angles uniform in
    [-pi, pi). Jit/vmap friendly for static ``n_qubits``/``n_genes``: ``vmap`` over keys for a
    population.

    ``gate_probs``: **5** non-negative weights, in the order (Rx, Ry, Rz, CRx, I) (I =
    identity / padding), not all 0; they need not sum to 1. (`qsense.GAConfig.gate_probs` is
    a different argument: 4 weights (Rx, Ry, Rz, CRx), the GA adds no padding genes itself.)
    For ``n_qubits == 1`` CRx is impossible and gets weight 0; a ``gate_probs`` that leaves
    no other gate (CRx only) is refused.
    """
    n_qubits = check_n_qubits(n_qubits)
    n_genes = check_count("n_genes", n_genes)
    if dtype is None:
        dtype = jnp.result_type(float)
    accepted = ("5 weights >= 0, in the order (Rx, Ry, Rz, CRx, I), not all 0 (GAConfig."
                "gate_probs takes 4: (Rx, Ry, Rz, CRx))")
    if gate_probs is None:
        p = jnp.array([1.0, 1.0, 1.0, 1.0, 0.0], jnp.result_type(float))
    else:
        if is_concrete(gate_probs):
            try:
                pn = np.asarray(gate_probs, float)
            except (TypeError, ValueError):
                fail("gate_probs", gate_probs, accepted)
            if (pn.shape != (N_GATE_TYPES,) or not np.all(np.isfinite(pn)) or np.any(pn < 0)
                    or pn.sum() <= 0):
                fail("gate_probs", gate_probs, accepted)
            if n_qubits == 1 and np.delete(pn, CRX).sum() <= 0:
                fail("gate_probs", gate_probs, "at least one of Rx, Ry, Rz, I with weight > 0 "
                     "for n_qubits = 1 (CRx needs two qubits)")
        elif np.shape(gate_probs) != (N_GATE_TYPES,):
            fail("gate_probs.shape", np.shape(gate_probs), accepted)
        # a float array: integer weights would make the CRx update below a float-into-int
        # scatter (a JAX FutureWarning)
        p = jnp.asarray(gate_probs, jnp.result_type(float))
    if n_qubits == 1:
        p = p.at[CRX].set(0.0)
    p = p / p.sum()
    k1, k2, k3, k4 = jax.random.split(key, 4)
    gate = jax.random.choice(k1, N_GATE_TYPES, (n_genes,), p=p).astype(jnp.int32)
    target = jax.random.randint(k2, (n_genes,), 0, n_qubits, jnp.int32)
    if n_qubits > 1:
        offset = jax.random.randint(k3, (n_genes,), 1, n_qubits, jnp.int32)
        control = (target + offset) % n_qubits
    else:
        control = jnp.zeros(n_genes, jnp.int32)
    angle = jax.random.uniform(k4, (n_genes,), dtype, -jnp.pi, jnp.pi)
    return Genome(gate, control, target, angle)


def validate_genome(genome: Genome, n_qubits: int, name: str = "genome",
                    batch_ndim: int | None = None) -> None:
    """Raise ValueError for gate codes, indices or angles out of range: every concrete field is
    checked, also when another is traced (angles under ``jax.grad``); with ``batch_ndim`` (0:
    one genome (G,), 1: a population (P, G)) also for another batch shape."""
    n_qubits = check_n_qubits(n_qubits)
    if not isinstance(genome, Genome):
        fail(name, type(genome).__name__, "a qsense.Genome (make_genome, random_genome)")
    if batch_ndim is not None and len(genome.batch_shape) != batch_ndim:
        fail(f"{name} batch shape", genome.batch_shape,
             "() (one genome (G,); index a population for one)" if batch_ndim == 0 else
             "(P,) (a population (P, G); score one genome with score)")
    # each concrete leaf is checked even when another one is traced (a genome whose angles
    # alone are traced, under jax.grad: its gates and qubits must still be checked); a traced
    # leaf is None below and the checks that need it are skipped
    leaves = {k: getattr(genome, k) for k in ("gate", "control", "target", "angle")}
    concrete = {k: np.asarray(v) for k, v in leaves.items() if is_concrete(v)}
    if not concrete:
        return
    shapes = {k: tuple(np.shape(v)) for k, v in leaves.items()}
    if len(set(shapes.values())) != 1 or len(shapes["gate"]) < 1:
        fail(f"{name} shapes", tuple(shapes.values()),
             "four arrays of one shape (..., G) with G >= 1")
    if shapes["gate"][-1] < 1:
        fail(f"{name}.n_genes", 0, "at least 1 gene (use identity genes for an empty circuit)")
    gate, control, target, angle = (concrete.get(k) for k in leaves)
    for field_name, arr in (("gate", gate), ("control", control), ("target", target)):
        if arr is not None and arr.dtype.kind not in "iu":  # 0.5 / 2.7 would index a gate or
            # qubit by truncation
            fail(f"{name}.{field_name}.dtype", str(arr.dtype),
                 "an integer dtype (gate codes 0 Rx, 1 Ry, 2 Rz, 3 CRx, 4 identity; qubit "
                 "indices); qsense.make_genome converts whole numbers")
    if angle is not None and angle.dtype.kind not in "iuf":
        fail(f"{name}.angle.dtype", str(angle.dtype), "real angles (radians)")
    if gate is not None:
        bad = (gate < 0) | (gate >= N_GATE_TYPES)
        if bad.any():
            fail(f"{name}.gate", gate[bad].tolist(), "codes 0 Rx, 1 Ry, 2 Rz, 3 CRx, 4 identity")
    for field_name, arr in (("target", target), ("control", control)):
        if arr is None:
            continue
        bad = (arr < 0) | (arr >= n_qubits)
        if bad.any():
            fail(f"{name}.{field_name}", arr[bad].tolist(), f"qubit indices in [0, {n_qubits - 1}]")
    if gate is not None and control is not None and target is not None:
        bad = (gate == CRX) & (control == target)
        if bad.any():
            fail(f"{name}.control", control[bad].tolist(),
                 "a control different from the target on CRx genes")
    if angle is not None and not np.all(np.isfinite(angle)):
        fail(f"{name}.angle", angle[~np.isfinite(angle)].tolist(), "finite angles (radians)")


def describe(genome: Genome, n_qubits: int | None = None) -> list[str]:
    """Human-readable gene list, e.g. ``['Ry(q1, 0.3142)', 'CRx(q0->q2, -1.5708)']``.
    Identity genes are skipped. ``genome``: one genome (G,). ``n_qubits``: the register the
    genome must fit (`validate_genome`); None checks gate codes and indices against the
    engine's limit only."""
    validate_genome(genome, MAX_QUBITS if n_qubits is None else n_qubits, batch_ndim=0)
    out = []
    g = np.asarray(genome.gate)
    c, t, a = np.asarray(genome.control), np.asarray(genome.target), np.asarray(genome.angle)
    for i in range(g.shape[-1]):
        if g[i] == IDENTITY:
            continue
        if g[i] == CRX:
            out.append(f"CRx(q{c[i]}->q{t[i]}, {a[i]:+.4f})")
        else:
            out.append(f"{GATE_NAMES[g[i]]}(q{t[i]}, {a[i]:+.4f})")
    return out
