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
