"""Bad input to public functions found by a second API walkthrough: each is refused with a
ValueError naming the argument (never a NaN or a silently wrong value), and the traced paths
(jit / vmap / grad) still work."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense
from qsense import protocols as P

GAMMA = 0.1
PSI3 = qsense.ghz_state(3)


# ----------------------------------------------------------------------------- protocols

def _qfi(psi, **kw):
    return P.protocol_qfi(psi, 0.9, 1.0, GAMMA, protocol="distributed", **kw)


@pytest.mark.parametrize(("psi", "match"), [
    (jnp.ones(8), r"psi norm\^2 = 8\.0"),  # gave 11.09
    (2 * qsense.density(PSI3), r"psi trace = \(1\.99"),  # gave twice the QFI
    (jnp.full(8, jnp.nan), r"psi = 'non-finite entries'"),  # gave NaN
])
def test_protocol_functions_check_the_state(psi, match):
    calls = (
        lambda: _qfi(psi),
        lambda: P.protocol_qcrb(psi, 0.9, 1.0, GAMMA, protocol="distributed"),
        lambda: P.protocol_qcrb(psi, 0.9, 1.0, GAMMA, protocol="distributed", field="vector"),
        lambda: P.peak_qfi(psi, 0.9, jnp.array([0.5, 1.0]), GAMMA, protocol="distributed"),
        lambda: P.link_qfi(qsense.links.FiberLink(), 50.0, psi, 1.0, GAMMA,
                           protocol="distributed"),
    )
    for call in calls:
        with pytest.raises(ValueError, match=match):
            call()


@pytest.mark.parametrize("b0", [np.nan, np.inf, -np.inf, (0.1, 0.2, 0.3)])
def test_protocol_qfi_checks_b0(b0):
    for noise in ("dephasing", "bitflip"):
        with pytest.raises(ValueError, match=r"b0 = .* accepted: (finite|a finite scalar)"):
            _qfi(PSI3, b0=b0, noise=noise)
    with pytest.raises(ValueError, match=r"b0 = "):
        P.protocol_qcrb(PSI3, 0.9, 1.0, GAMMA, b0, protocol="distributed")


def test_protocol_qcrb_vector_field_b0():
    kw = dict(protocol="distributed", field="vector")
    # a scalar b0 names no direction: it used to be replaced by (0, 0, 0) silently
    for b0 in (0.5, 1.0, (0.1, 0.2), np.ones((3, 1))):
        with pytest.raises(ValueError, match=r"b0 = .*\(Bx, By, Bz\) triple"):
            P.protocol_qcrb(PSI3, 0.9, 1.0, GAMMA, b0, **kw)
    with pytest.raises(ValueError, match=r"b0 = .*finite"):
        P.protocol_qcrb(PSI3, 0.9, 1.0, GAMMA, (0.0, np.nan, 0.0), **kw)
    # the default is Problem's: (0, 0, 0); a triple is honoured
    zero = float(P.protocol_qcrb(PSI3, 0.9, 1.0, GAMMA, **kw))
    assert zero == pytest.approx(float(P.protocol_qcrb(PSI3, 0.9, 1.0, GAMMA, (0.0, 0.0, 0.0),
                                                       **kw)), rel=1e-12)
    assert float(P.protocol_qcrb(PSI3, 0.9, 1.0, GAMMA, (0.3, 0.2, 0.5), **kw)) != zero
    # the scalar default stays B0 = 1
    assert float(P.protocol_qcrb(PSI3, 0.9, 1.0, GAMMA, protocol="distributed")) == \
        pytest.approx(1 / float(_qfi(PSI3, b0=1.0)), rel=1e-12)


def test_protocol_qfi_traced_paths_unchanged():
    q = float(_qfi(PSI3))
    assert q == pytest.approx(1.3176334796876128, rel=1e-10)
    assert float(_qfi(qsense.density(PSI3))) == pytest.approx(q, rel=1e-10)
    assert float(jax.jit(lambda s, b: _qfi(s, b0=b))(PSI3, 1.0)) == pytest.approx(q, rel=1e-10)
    qs = jax.vmap(lambda b: _qfi(PSI3, b0=b))(jnp.array([0.5, 1.0]))
    assert float(qs[1]) == pytest.approx(q, rel=1e-10)
    g = jax.grad(lambda f: P.protocol_qfi(PSI3, f, 1.0, GAMMA, protocol="distributed"))(0.9)
    assert np.isfinite(float(g)) and float(g) > 0
