"""Random genomes: the distribution random_genome documents."""

import jax
import numpy as np

from qsense import random_genome


def test_random_genome_draws_as_documented():
    """random_genome's distribution, from one large draw (40 000 genes, 4 qubits): gate types
    in proportion to gate_probs, targets uniform, controls uniform over the OTHER three qubits
    (every ordered (target, control) pair about 1/12), angles uniform in [-pi, pi) (mean 0,
    variance pi^2 / 3). Tolerances are 5 binomial / normal standard deviations."""
    n, g = 4, 40_000
    probs = np.array([1.0, 2.0, 3.0, 4.0, 0.0])
    gen = random_genome(jax.random.PRNGKey(11), n, g, gate_probs=probs)
    gate, ctrl, targ, ang = (np.asarray(x) for x in (gen.gate, gen.control, gen.target,
                                                        gen.angle))

    def near(count, p):
        return abs(count - g * p) <= 5 * np.sqrt(g * p * (1 - p))

    for code, p in enumerate(probs / probs.sum()):
        assert near(np.sum(gate == code), p) if p > 0 else np.sum(gate == code) == 0, code
    assert np.all(ctrl != targ)
    for t in range(n):
        for c in range(n):
            if c != t:
                assert near(np.sum((targ == t) & (ctrl == c)), 1 / 12), (t, c)
    assert np.all((ang >= -np.pi) & (ang < np.pi))
    sd = np.pi / np.sqrt(3)
    assert abs(ang.mean()) <= 5 * sd / np.sqrt(g)
    assert abs(ang.var() - sd**2) <= 5 * np.sqrt(4 / 45 * np.pi**4 / g)  # var of U^2 terms
