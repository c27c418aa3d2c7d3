"""Warm starts of the VQS search (issue 12, item 3: the VQS probe is never below the best
product probe): the product-state circuit `product_genome` reproduces the product state
exactly (against a numpy Kronecker product and a numpy circuit, tests/reference), and a search
whose refinement also starts from the cell's best product probe ends at or above it, judged
by the independent numpy engine."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from qsense import IDENTITY, Genome
from qsense.genetic import (
    GAConfig,
    RefineConfig,
    SearchResult,
    find_optimal_probe,
    product_genome,
    refine_structures,
    structured_seeds,
    warm_start_rows,
)
from qsense.optimize import Problem
from qsense.pqc import apply_pqc
from qsense.reference import ReferenceConfig, best_product_probe
from qsense.states import ghz_state
from tests.reference.engine_numpy import circuit_unitary, ghz
from tests.reference.probe_optima_ref import value as numpy_value


def _kron(states):
    """|a_0> (x) ... (x) |a_{N-1}>, qubit 0 leftmost (most significant), plain numpy."""
    out = np.array([1.0 + 0j])
    for s in states:
        out = np.kron(out, np.asarray(s, complex) / np.linalg.norm(s))
    return out


def _same_ray(a, b):
    """|<a|b>| = 1 and, after removing the global phase, equal amplitudes."""
    ov = np.vdot(a, b)
    assert abs(ov) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(b * np.exp(-1j * np.angle(ov)), a, atol=1e-12)


def _local_states(n, rng):
    """Random one-qubit states plus the axes' poles, where Bloch angles are degenerate."""
    poles = [[1, 0], [0, 1], [1, 1], [1, -1], [1, 1j], [1, -1j]]
    out = [rng.normal(size=(n, 2)) + 1j * rng.normal(size=(n, 2)) for _ in range(4)]
    out += [np.array([poles[(q + k) % len(poles)] for q in range(n)], complex)
            for k in range(len(poles))]
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_product_genome_prepares_the_product_state_from_ghz(n):
    """Both parities of N (qubit 0 ends on the x axis for odd N, on the y axis for even N,
    where Ry cannot move it): numpy circuit on numpy GHZ, and the engine's apply_pqc."""
    rng = np.random.default_rng(n)
    for a in _local_states(n, rng):
        want = _kron(a)
        g = product_genome(a, max_genes=3 * n + 2)
        assert int(np.sum(np.asarray(g.gate) != IDENTITY)) == 3 * n - 1
        genes = (np.asarray(g.gate), np.asarray(g.control), np.asarray(g.target),
                 np.asarray(g.angle))
        _same_ray(want, circuit_unitary(genes, n) @ ghz(n))
        _same_ray(want, np.asarray(apply_pqc(ghz_state(n), g)))


def test_product_genome_and_warm_starts_refuse_bad_input():
    with pytest.raises(ValueError, match="max_genes"):
        product_genome(np.ones((5, 2)), max_genes=13)  # 3N - 1 = 14 genes do not fit
    with pytest.raises(ValueError, match="local_states"):
        product_genome(np.ones((3, 3)))
    with pytest.raises(ValueError, match="local_states"):
        product_genome(np.array([[1, 0], [0, 0]]))
    g = product_genome(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"warm_starts\[0\] t"):
        warm_start_rows([(g, -1.0)], 2, 8)
    with pytest.raises(ValueError, match=r"warm_starts\[0\] genome"):
        warm_start_rows([(g, 1.0)], 2, 4)  # 5 genes > max_genes
    with pytest.raises(ValueError, match=r"warm_starts\[0\]"):
        warm_start_rows([g], 2, 8)
    with pytest.raises(ValueError, match=r"warm_starts\[0\] t"):
        warm_start_rows([(g, None)], 2, 8)
    with pytest.raises(ValueError, match=r"warm_starts\[1\] genome"):  # before the search runs
        find_optimal_probe(Problem(2, "dephasing", 0.1),
                           GAConfig(population=4, elite=1, max_genes=4),
                           warm_starts=[(g[:4], 1.0), (g, 2.0)])
    rows, ts = warm_start_rows([(g, 2.5)], 2, 8)  # padded with identity genes
    assert rows.batch_shape == (1,) and rows.n_genes == 8 and ts.tolist() == [2.5]
    assert np.all(np.asarray(rows.gate[0, 5:]) == IDENTITY)


def test_structured_product_family_is_the_product_genome_layout():
    """The generation-0 product family (random angles) has the gates of `product_genome`."""
    for n in (2, 3):
        fam = structured_seeds(n, 16, jax.random.PRNGKey(0))[1]
        ref = product_genome(np.ones((n, 2)), 16)
        for f in ("gate", "control", "target"):
            np.testing.assert_array_equal(np.asarray(getattr(fam, f)),
                                          np.asarray(getattr(ref, f)))


CELL = dict(n=3, noise="amplitude_damping", gamma=0.2)  # vector field at B = 0
TINY_GA = GAConfig(population=8, generations=2, max_genes=10, init_genes=3, elite=2, n_t=3,
                   local_steps=2, structured=False)
TINY_REFINE = RefineConfig(steps=10, top_k=1, restarts=1)


def _numpy_qcrb(genome: Genome, t: float, n: int) -> float:
    """Tr F^-1 of the circuit's probe at t, all in numpy (tests/reference)."""
    genes = tuple(np.asarray(a) for a in (genome.gate, genome.control, genome.target,
                                          genome.angle))
    psi = circuit_unitary(genes, n) @ ghz(n)
    return numpy_value(psi, t, CELL["noise"], CELL["gamma"], "vector", (0.0, 0.0, 0.0))


@pytest.fixture(scope="module")
def product():
    """The cell's best product probe and its Tr F^-1 from the numpy engine."""
    prod = best_product_probe(CELL["n"], CELL["noise"], CELL["gamma"], "vector",
                              config=ReferenceConfig(restarts=4, steps=150, polish=1))
    q = numpy_value(prod.state, prod.t, CELL["noise"], CELL["gamma"], "vector",
                    (0.0, 0.0, 0.0))
    assert q == pytest.approx(prod.qcrb, rel=1e-6)  # the engine's product value
    return prod, q


def test_search_warm_started_with_the_product_probe_is_not_below_it(product):
    """At a small budget (no structured seeds, 2 generations, 10 refinement steps) the search
    alone ends below the best product probe (the control, which keeps this cell hard enough
    to test anything); warm-started with that probe (issue 12, item 3) it does not. Both
    values from the numpy engine: the product optimum's state, and the VQS circuit applied
    to GHZ. One test for both runs, so the module fixture runs once per CI (xdist spreads
    the tests of a file over its workers)."""
    prod, prod_q = product
    n = CELL["n"]
    for warm in (False, True):
        starts = [(product_genome(prod.local_states, TINY_GA.max_genes), prod.t)] if warm \
            else []
        res = find_optimal_probe(Problem(n, CELL["noise"], CELL["gamma"], "vector"), TINY_GA,
                                 TINY_REFINE, seed=3, warm_starts=starts)
        vqs_q = _numpy_qcrb(res.genome, res.t, n)
        assert vqs_q == pytest.approx(res.value, rel=1e-6)
        if warm:
            assert vqs_q <= prod_q * (1 + 1e-6)
            # the warm start is the last restart, started at the product probe's time
            last = res.refine.genomes[len(res.refine.values) - 1]
            assert res.refine.values[-1] <= prod_q * (1 + 1e-6)
            assert int(np.sum(np.asarray(last.gate) != IDENTITY)) == 3 * n - 1
        else:
            assert vqs_q > prod_q * (1 + 1e-6)


def test_refine_a_hand_built_result_with_a_warm_start(product):
    """A search result without times (built by hand): its rows start at their best grid time,
    the warm start at its own; the warm restart ends at or below its start (numpy value)."""
    prod, prod_q = product
    n, g = CELL["n"], 10
    pop = product_genome(prod.local_states, g)
    rows = jax.tree_util.tree_map(lambda a: jax.numpy.stack([a, a]), pop)
    res = SearchResult(genome=pop, fitness=float("nan"), t=float("nan"), population=rows,
                       fitnesses=np.array([0.0, -1.0]), ts=np.full(2, np.nan), history={},
                       ghz_fitness=float("nan"), t_grid=np.geomspace(0.1, 25.0, 5))
    prob = Problem(n, CELL["noise"], CELL["gamma"], "vector")
    # TINY_REFINE: one start per structure plus GHZ and the warm start, 3 rows, as in the
    # warm-started search above: the same compiled refinement program (not a second one for
    # a 3-step run)
    opt = refine_structures(jax.random.PRNGKey(0), prob, res, TINY_REFINE,
                            warm_starts=[(pop, prod.t)])
    assert len(opt.values) == 3  # GHZ, the one distinct structure, the warm start
    assert np.all(np.isfinite(opt.values))
    assert opt.values[-1] <= prod_q * (1 + 1e-6)
    assert opt.value <= prod_q * (1 + 1e-6)
