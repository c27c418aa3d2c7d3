"""Reference optima (qsense.reference) against closed forms and an independent brute search.

The brute search (tests/reference/probe_optima_ref.py) is plain numpy/scipy: its own channel
(column-stacking Liouvillian, Choi -> Kraus), finite-difference QFI, BFGS over the state per t
and Brent over t. Nothing is taken from the code under test.
"""

import numpy as np
import pytest

from qsense.reference import (
    ReferenceConfig,
    best_product_probe,
    best_pure_probe,
    probe_value,
    reference_probes,
)
from tests.reference import probe_optima_ref as ref

CFG = ReferenceConfig(restarts=6, steps=150, polish=2)
GAMMA = 0.1
NOISES = ("dephasing", "bitflip", "amplitude_damping")


def test_ghz_value_matches_closed_form_under_dephasing():
    for n, t in ((2, 1.7), (3, 0.9), (4, 2.5)):
        psi = np.zeros(2**n, complex)
        psi[0] = psi[-1] = 2**-0.5
        want = n**2 * t**2 * np.exp(-2 * n * GAMMA * t)
        assert float(probe_value(psi, t, "dephasing", GAMMA)) == pytest.approx(want, rel=1e-10)


def test_dephasing_product_optimum_is_n_over_e2_gamma2():
    # one qubit on the equator: F = t^2 e^{-2 gamma t}, max at t = 1/gamma: e^-2 / gamma^2
    for n in (1, 3):
        r = best_product_probe(n, "dephasing", GAMMA, config=CFG)
        assert r.value == pytest.approx(n * np.exp(-2) / GAMMA**2, rel=1e-7)
        assert r.t == pytest.approx(1 / GAMMA, rel=1e-3)
        # the returned state reproduces the value through the independent engine
        assert ref.value(r.state, r.t, "dephasing", GAMMA, "scalar", 1.0) == pytest.approx(
            r.value, rel=1e-6)


@pytest.mark.parametrize("noise", NOISES)
def test_one_qubit_and_product_against_brute(noise):
    best1, t1 = ref.one_qubit_optimum(noise, GAMMA)
    one = best_pure_probe(1, noise, GAMMA, config=CFG)
    assert one.value == pytest.approx(best1, rel=1e-5)
    # scalar field: the product optimum is N times the one-qubit optimum (QFI is additive and
    # every qubit takes the same best state at the same best time)
    prod = best_product_probe(3, noise, GAMMA, config=CFG)
    assert prod.value == pytest.approx(3 * best1, rel=1e-5)
    assert ref.value(prod.state, prod.t, noise, GAMMA, "scalar", 1.0) == pytest.approx(
        prod.value, rel=1e-6)


@pytest.mark.parametrize("noise,field", [("dephasing", "scalar"), ("bitflip", "scalar"),
                                         ("amplitude_damping", "scalar"),
                                         ("amplitude_damping", "vector")])
def test_two_qubit_pure_optimum_matches_brute_search(noise, field):
    b0 = 1.0 if field == "scalar" else (0.0, 0.0, 0.0)
    # bit flip at B0 = 1 oscillates in t (period ~2 pi): a fine t grid; the others are smooth
    grid = 31 if noise == "bitflip" else 10
    want, _ = ref.brute_pure_optimum(2, noise, GAMMA, field, b0, starts=3, n_grid=grid)
    got = reference_probes(2, noise, GAMMA, field, config=CFG)
    pure, prod = got["pure"], got["product"]
    assert pure.value == pytest.approx(want, rel=2e-4)
    # the state and time it returns give that value in the independent engine
    assert ref.value(pure.state, pure.t, noise, GAMMA, field, b0) == pytest.approx(
        pure.value, rel=1e-6)
    if field == "scalar":
        assert pure.value >= prod.value * (1 - 1e-9)
        assert pure.qcrb == pytest.approx(1 / pure.value)
    else:
        assert pure.value <= prod.value * (1 + 1e-9)
        assert pure.qcrb == pure.value


@pytest.mark.slow
def test_pure_reference_reaches_the_known_n5_probes():
    # issue 12: |+>^5 with its best local rotation and t gives ~284 (bit flip), and a 9-gene
    # GHZ+CRx+Ry circuit gives 284.0 (bit flip) / 270.7 (amplitude damping) at N = 5
    cfg = ReferenceConfig(restarts=4, steps=120, polish=1)
    bf = reference_probes(5, "bitflip", GAMMA, config=cfg)["pure"]
    ad = reference_probes(5, "amplitude_damping", GAMMA, config=cfg)["pure"]
    assert bf.value >= 284.0
    assert ad.value >= 270.7


def test_bad_cells_are_rejected_with_the_field_named():
    with pytest.raises(ValueError, match="gamma"):
        best_pure_probe(2, "dephasing", 0.0)
    with pytest.raises(ValueError, match="noise"):
        best_product_probe(2, "none", 0.1)
    with pytest.raises(ValueError, match="field"):
        best_pure_probe(2, "dephasing", 0.1, field="tensor")
    with pytest.raises(ValueError, match="b0"):
        best_pure_probe(2, "dephasing", 0.1, field="vector", b0=1.0)
    with pytest.raises(ValueError, match="restarts"):
        ReferenceConfig(restarts=0)
    with pytest.raises(ValueError, match="t_bounds"):
        ReferenceConfig(t_bounds=(2.0, 1.0))


def _dephasing_product_qfi(local_states, t, gamma):
    """Closed form, independent of the engine: a qubit with Bloch vector r precessing about z
    and dephasing at rate gamma has F = t^2 (r_x^2 + r_y^2) e^{-2 gamma t} (|r| is conserved by
    the rotation, so only |dr/dB|^2 remains); a product probe sums its qubits' QFIs."""
    total = 0.0
    for a, b in np.asarray(local_states, complex):
        norm2 = abs(a) ** 2 + abs(b) ** 2
        assert norm2 == pytest.approx(1.0, abs=1e-6)  # a qubit of a probe is a state
        rx, ry = 2 * (np.conj(a) * b).real, 2 * (np.conj(a) * b).imag
        total += t**2 * (rx**2 + ry**2) * np.exp(-2 * gamma * t)
    return total


def test_product_value_is_the_sum_of_one_qubit_closed_forms():
    # fast (no optimization): the additive product objective at unequal, off-optimal qubits
    import jax.numpy as jnp

    from qsense import reference as refmod

    rng = np.random.default_rng(7)
    for n in (1, 2, 3):
        theta, phi = rng.uniform(0.2, 2.9, n), rng.uniform(-np.pi, np.pi, n)
        t = 3.7
        x = jnp.asarray(np.concatenate([theta, phi, [np.log(t)]]))
        problem = refmod._cell_problem("product", n, "dephasing", GAMMA, "scalar", 1.0)
        got = float(refmod._product_fisher(x, n, problem))
        local = np.stack([np.cos(theta / 2), np.exp(1j * phi) * np.sin(theta / 2)], 1)
        assert got == pytest.approx(_dephasing_product_qfi(local, t, GAMMA), rel=1e-5)


def test_two_qubit_product_probe_fast_closed_form():
    # < 10 s: one start (|+>^2), L-BFGS-B only. Optimum 2 e^-2 / gamma^2 at t = 1/gamma; the
    # returned qubits are normalized, reproduce the value through the closed form, and qcrb = 1/F
    cfg = ReferenceConfig(restarts=1, steps=0, polish=1, polish_iter=60)
    r = best_product_probe(2, "dephasing", GAMMA, config=cfg)
    want = 2 * np.exp(-2) / GAMMA**2
    assert r.value == pytest.approx(want, rel=1e-5)
    assert r.t == pytest.approx(1 / GAMMA, rel=1e-3)
    assert r.qcrb == pytest.approx(1 / want, rel=1e-5)
    assert _dephasing_product_qfi(r.local_states, r.t, GAMMA) == pytest.approx(r.value, rel=1e-5)
    assert np.allclose(r.state, np.kron(r.local_states[0], r.local_states[1]), atol=1e-6)
    assert not r.t_at_bound


def test_an_optimum_outside_t_bounds_sits_on_the_nearer_edge():
    """The product optimum is at t = 1/gamma; with t_bounds (x 1/gamma) above or below it the
    result sits on the nearer edge, says so (t_at_bound), and has the closed-form value
    2 t^2 e^{-2 gamma t} there (F rises to 1/gamma and falls after it)."""
    for bounds, edge in (((2.0, 20.0), 0), ((1e-3, 0.5), 1)):
        cfg = ReferenceConfig(restarts=1, steps=0, polish=1, polish_iter=60, t_bounds=bounds)
        r = best_product_probe(2, "dephasing", GAMMA, config=cfg)
        t = bounds[edge] / GAMMA
        assert r.t_at_bound and r.t == pytest.approx(t, rel=1e-9)
        assert r.value == pytest.approx(2 * t**2 * np.exp(-2 * GAMMA * t), rel=1e-5)


def test_seed_states_are_the_documented_starts():
    """GHZ with relative phases 0 and pi/2 first, then |+>^N under random local rotations
    (product states: every bipartition has Schmidt rank 1) alternating with Haar-random
    (entangled) states; all normalized."""
    from qsense.reference import seed_states

    n, d = 3, 8
    s = seed_states(n, 6, np.random.default_rng(0))
    assert s.shape == (6, d) and np.allclose(np.linalg.norm(s, axis=1), 1.0, atol=1e-12)
    for row, phase in zip(s[:2], (0.0, np.pi / 2), strict=True):
        want = np.zeros(d, complex)
        want[0], want[-1] = 2**-0.5, np.exp(1j * phase) * 2**-0.5
        assert np.allclose(row, want, atol=1e-12)

    def product(v):  # Schmidt rank 1 across qubit 0 | qubits 1-2 and qubits 0-1 | qubit 2
        return all(np.linalg.svd(v.reshape(a, d // a), compute_uv=False)[1] < 1e-12
                   for a in (2, 4))

    assert [product(v) for v in s[2:]] == [True, False, True, False]
    with pytest.raises(ValueError, match="initial.*restarts - 2 = 4"):
        best_pure_probe(n, "dephasing", GAMMA, config=CFG, initial=s[:5])


def test_product_probe_returns_its_best_restart():
    # no Adam, no polish: the result is the best of the starts, scored by the closed form
    cfg = ReferenceConfig(restarts=4, steps=0, polish=0)
    r = best_product_probe(2, "dephasing", GAMMA, config=cfg)
    assert len(set(np.round(r.restart_values, 6))) > 1  # the starts really differ
    assert r.value == pytest.approx(max(r.restart_values), rel=1e-6)
    assert _dephasing_product_qfi(r.local_states, r.t, GAMMA) == pytest.approx(r.value, rel=1e-5)


@pytest.mark.parametrize("name,bad,good,accepted", [
    ("polish", 25, 24, "an integer in [0, restarts=24]"),
    ("t_bounds", (1e-3, float("inf")), (1e-3, 1e300), "0 < t_min < t_max < inf"),
])
def test_reference_config_bound_rejects_just_past_and_accepts_on_it(name, bad, good, accepted):
    """Mutation sweep: polish <= restarts and a finite t_max could be dropped with every other
    test passing (an infinite t_max reached the optimizer's log t)."""
    import re

    with pytest.raises(ValueError, match=rf"^{name} = {re.escape(repr(bad))} is invalid; "
                                         rf"accepted: .*{re.escape(accepted)}"):
        ReferenceConfig(**{name: bad})
    ReferenceConfig(**{name: good})


@pytest.mark.parametrize("name,bad,accepted", [
    ("learning_rate", float("inf"), "a finite value > 0"),  # gave value = nan
    ("learning_rate", True, "a finite value > 0"),  # a bool is no rate
    ("learning_rate", "0.05", "a finite value > 0"),
    ("restarts", 2.7, "an integer >= 1"),  # a TypeError naming no key, later
    ("restarts", "30", "an integer >= 1"),
    ("steps", True, "an integer >= 0"),
    ("polish", 1.5, "an integer in [0, restarts=24]"),
    ("polish_iter", 0, "an integer >= 1"),
])
def test_reference_config_refuses_an_infinite_rate_and_fractional_counts(name, bad, accepted):
    import re

    with pytest.raises(ValueError, match=rf"^{name} = .* is invalid; accepted: .*"
                                         rf"{re.escape(accepted)}"):
        ReferenceConfig(**{name: bad})


@pytest.mark.parametrize("noise", NOISES)
def test_probe_value_of_a_vector_field_matches_the_independent_engine(noise):
    """``probe_value(..., field="vector")`` (Tr F^-1 of the 3x3 QFIM) on a random two-qubit
    state against the numpy engine's finite-difference QFIM."""
    rng = np.random.default_rng(7)
    psi = rng.normal(size=4) + 1j * rng.normal(size=4)
    psi /= np.linalg.norm(psi)
    b0 = (0.2, -0.1, 0.3)
    got = float(probe_value(psi, 1.3, noise, GAMMA, "vector", b0))
    assert got == pytest.approx(ref.value(psi, 1.3, noise, GAMMA, "vector", b0), rel=1e-6)


def test_reference_probes_start_from_the_callers_states_and_never_end_below_them():
    """``initial``/``initial_t``: the caller's states join the pure search's starts at their
    times, so the pure reference is at least the value of each there: GHZ under bit flip at
    t = 8 lies on a lobe that 5 Adam steps from the generic starts do not reach (they end at
    the other lobe, below it). More starts than ``restarts - 2`` are refused by name."""
    from qsense.reference import ReferenceConfig

    psi = np.zeros(4, complex)
    psi[0] = psi[-1] = 2**-0.5
    start = float(probe_value(psi, 8.0, "bitflip", GAMMA))
    cfg = ReferenceConfig(restarts=4, steps=5, polish=0)
    alone = reference_probes(2, "bitflip", GAMMA, config=cfg)["pure"].value
    got = reference_probes(2, "bitflip", GAMMA, config=cfg, initial=psi[None], initial_t=8.0)
    assert got["pure"].value >= start * (1 - 1e-12)
    assert got["pure"].value > 1.05 * alone  # the start was used, at its own time
    assert got["pure"].value >= got["product"].value * (1 - 1e-12)
    with pytest.raises(ValueError, match=r"initial = '3 states' is invalid; accepted: at most "
                                         r"restarts - 2 = 2"):
        reference_probes(2, "bitflip", GAMMA, config=cfg, initial=np.stack([psi] * 2))
