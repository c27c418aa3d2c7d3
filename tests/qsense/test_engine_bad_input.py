"""Bad input to the engine's public functions: a ValueError naming the argument, never a NaN,
a silently wrong number or a deep JAX error (the user walkthrough's reproductions)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsense
from qsense import Problem, make_genome
from qsense.draw import draw_text
from qsense.genome import describe
from qsense.optimize import make_step, scan_t

P3 = Problem(3, "dephasing", 0.1)
GOOD = make_genome([0, 3], [1, 2], [2, 1], [0.3, -0.7])  # Rx(q2), CRx(q2->q1)


def _ghz_np(n):
    psi = np.zeros(2**n, complex)
    psi[0] = psi[-1] = 2**-0.5
    return psi


def _numpy_circuit(genome, n):
    """The genome's unitary built independently: kron of 2x2 rotations, CRx as a projector
    sum (big-endian: qubit 0 is the most significant bit)."""
    eye, p0, p1 = np.eye(2), np.diag([1.0, 0.0]), np.diag([0.0, 1.0])

    def rot(gate, a):
        c, s = np.cos(a / 2), np.sin(a / 2)
        if gate in (0, 3):
            return np.array([[c, -1j * s], [-1j * s, c]])
        if gate == 1:
            return np.array([[c, -s], [s, c]])
        if gate == 2:
            return np.diag([np.exp(-0.5j * a), np.exp(0.5j * a)])
        return eye

    def on(ops):
        out = np.eye(1)
        for q in range(n):
            out = np.kron(out, ops.get(q, eye))
        return out

    u = np.eye(2**n, dtype=complex)
    for gate, c, t, a in zip(*(np.asarray(x) for x in (genome.gate, genome.control,
                                                          genome.target, genome.angle)),
                             strict=True):
        if gate == 3:
            g = on({c: p0}) + on({c: p1, t: rot(0, a)})
        else:
            g = on({t: rot(gate, a)})
        u = g @ u
    return u


# ----------------------------------------------------------------------------- 1: real states

def test_a_genome_argument_that_is_not_a_genome_is_named():
    """A string, a list or a dict where a Genome belongs (each raised an AttributeError
    about ``batch_shape``)."""
    psi = qsense.ghz_state(3)
    for bad in ("g", [0, 1, 2, 0.3], {"gate": [0]}):
        with pytest.raises(ValueError, match=r"^genome = '(str|list|dict)' is invalid; "
                                             r"accepted: a qsense\.Genome"):
            qsense.apply_pqc(psi, bad)
        with pytest.raises(ValueError, match=r"^genome = .*accepted: a qsense\.Genome"):
            draw_text(bad, 3)


@pytest.mark.parametrize("call,name,accepted", [
    (lambda g, s: qsense.search(None), "problem", "a qsense.Problem"),
    (lambda g, s: qsense.find_optimal_probe(None), "problem", "a qsense.Problem"),
    (lambda g, s: qsense.optimize_angles(None, g), "problem", "a qsense.Problem"),
    (lambda g, s: qsense.optimize.refine_t(None, g, 1.0, span=(0.1, 10.0)), "problem",
     "a qsense.Problem"),
    (lambda g, s: qsense.dual_downlink("leo", 100.0), "link",
     r"a qsense\.links\.SatelliteLink"),
    (lambda g, s: qsense.dual_downlink(s, 100.0, link_b={}), "link_b",
     r"a qsense\.links\.SatelliteLink"),
    (lambda g, s: qsense.repeater_chain(s, 100.0), "link", r"a qsense\.links\.FiberLink"),
    (lambda g, s: qsense.pass_profile(None, 100.0), "link",
     r"a qsense\.links\.SatelliteLink"),
    (lambda g, s: qsense.links.zero_rate_reason("leo", 100.0), "link",
     r"a qsense\.links\.SatelliteLink"),
    (lambda g, s: qsense.teleport_channel("x", 0.9), r"state\.shape", r"\(2\*\*n,\)"),
    (lambda g, s: qsense.make_step(None, g), "problem", "a qsense.Problem"),
    (lambda g, s: qsense.protocol_qfi(None, 0.9, 1.0, 0.1, protocol="remote"), r"psi\.shape",
     r"\(2\*\*n,\)"),  # an IndexError: the qubits were counted before psi was checked
    (lambda g, s: qsense.protocol_qcrb(["a", "b", "c", "d"], 0.9, 1.0, 0.1, protocol="remote"),
     r"psi\.dtype", "a numeric"),
    (lambda g, s: qsense.protocols.delivered_state(None, 0.9, 1.0, 1.0, 0.1, protocol="remote"),
     r"psi\.shape", r"\(2\*\*n,\)"),
    (lambda g, s: qsense.density([True, False]), r"state\.dtype", "a numeric"),
    (lambda g, s: qsense.qfim_from_derivatives("x", np.zeros((1, 2, 2))), "rho",
     "an array of numbers"),
    (lambda g, s: qsense.qfim_from_derivatives(np.eye(2) / 2, None), "drhos",
     "an array of numbers"),
    (lambda g, s: qsense.protocols.link_peak_qfi(s, "x", qsense.ghz_state(2), [1.0], 0.1,
                                                 protocol="remote"), "distances_km",
     r"ground distances \(km\)"),
    (lambda g, s: qsense.optimize.scan_t(None, g, np.array([1.0])), "problem",
     "a qsense.Problem"),
    # a string link was sent down the fiber branch and refused as "not a FiberLink"
    (lambda g, s: qsense.linkprobe.fisher_rate("leo", 100.0, np.zeros(7), 1.0, 0.1,
                                               protocol="remote", n_qubits=2,
                                               memory_time_s=1.0), "link",
     r"a qsense\.links\.SatelliteLink or FiberLink"),
    (lambda g, s: qsense.linkprobe.fisher_rate(s, 100.0, "a", 1.0, 0.1, protocol="remote",
                                               n_qubits=2, memory_time_s=1.0), "angles",
     "real angles"),
])
def test_a_wrong_kind_of_argument_is_named(call, name, accepted):
    """A string, a dict or None where a Problem, a link or a state belongs: each of these
    raised an AttributeError about one of its fields (or JAX's TypeError) instead."""
    sat = qsense.SatelliteLink()
    with pytest.raises(ValueError, match=rf"^{name} = .* is invalid; accepted: {accepted}"):
        call(GOOD, sat)


def test_apply_pqc_promotes_a_real_state_to_complex():
    n = 3
    g = qsense.random_genome(jax.random.PRNGKey(0), n, 6)
    u = _numpy_circuit(g, n)
    psi = _ghz_np(n).real  # float64
    got = qsense.apply_pqc(psi, g)
    assert got.dtype == jnp.complex128
    np.testing.assert_allclose(np.asarray(got), u @ _ghz_np(n), atol=1e-13)
    rho = np.outer(psi, psi)  # real density matrix
    got_rho = qsense.apply_pqc(rho, g)
    want = u @ np.outer(_ghz_np(n), _ghz_np(n).conj()) @ u.conj().T
    np.testing.assert_allclose(np.asarray(got_rho), want, atol=1e-13)
    assert qsense.apply_pqc(psi.astype(np.float32), g).dtype == jnp.complex64


# ----------------------------------------------------------------------------- 2: the objective

@pytest.mark.parametrize(("genome", "match"), [
    (make_genome([0], [0], [4], [0.1]), r"genome\.target = \[4\].*\[0, 2\]"),
    (make_genome([7], [0], [1], [0.1]), r"genome\.gate = \[7\]"),
    (make_genome([3], [1], [1], [0.1]), r"genome\.control = \[1\].*different from the target"),
    (make_genome([0], [0], [1], [np.nan]), r"genome\.angle = \[nan\]"),
])
def test_score_refuses_bad_genomes(genome, match):
    for f in (lambda: qsense.score(P3, genome, 1.0), lambda: qsense.merit(P3, genome, 1.0),
              lambda: qsense.probe_qfi(genome, 1.0, 0.1, n_qubits=3, noise="dephasing")):
        with pytest.raises(ValueError, match=match):
            f()


@pytest.mark.parametrize("t", [-1.0, np.nan, np.inf])
def test_score_refuses_bad_times(t):
    psi = qsense.ghz_state(3)
    with pytest.raises(ValueError, match=r"^t = "):
        qsense.score(P3, GOOD, t)
    with pytest.raises(ValueError, match=r"^t = "):
        qsense.score_pure(P3, psi, t)
    with pytest.raises(ValueError, match=r"^t = "):
        qsense.score_state(P3, jnp.outer(psi, psi.conj()), t)
    with pytest.raises(ValueError, match=r"^t = "):
        qsense.objective.population_score(P3, jax.tree_util.tree_map(lambda a: a[None], GOOD),
                                          t)
    with pytest.raises(ValueError, match=r"^ts = "):
        scan_t(P3, GOOD, [t, 1.0])
    # the same times sense() refuses
    with pytest.raises(ValueError, match=r"^t = "):
        qsense.sense(psi, 1.0, t, "dephasing", 0.1)


def test_score_pure_and_score_state_refuse_non_states():
    psi = qsense.ghz_state(3)
    with pytest.raises(ValueError, match=r"psi norm\^2 = 4\.0"):
        qsense.score_pure(P3, 2 * psi, 1.0)
    with pytest.raises(ValueError, match=r"psi norm\^2 = 0\.0"):
        qsense.score_pure(P3, jnp.zeros(8, jnp.complex128), 1.0)
    with pytest.raises(ValueError, match=r"psi\.shape = \(4,\)"):
        qsense.score_pure(P3, qsense.ghz_state(2), 1.0)
    rho = np.outer(_ghz_np(3), _ghz_np(3).conj())
    with pytest.raises(ValueError, match=r"rho0 trace"):
        qsense.score_state(P3, 2 * rho, 1.0)
    with pytest.raises(ValueError, match=r"rho0 Hermiticity"):
        qsense.score_state(P3, rho + 0.1 * np.triu(np.ones((8, 8)), 1), 1.0)
    with pytest.raises(ValueError, match=r"rho0\.shape = \(8,\)"):
        qsense.score_state(P3, _ghz_np(3), 1.0)


def test_population_checks():
    keys = jax.random.split(jax.random.PRNGKey(0), 5)
    pop3 = jax.vmap(lambda k: qsense.random_genome(k, 3, 4))(keys)
    pop5 = jax.vmap(lambda k: qsense.random_genome(k, 5, 4))(keys)
    f = qsense.make_fitness(3, "dephasing")
    with pytest.raises(ValueError, match=r"^t = -1\.0"):
        f(pop3, -1.0, 0.1, 1.0)
    with pytest.raises(ValueError, match=r"genomes\.target = .*\[0, 2\]"):
        f(pop5, 1.0, 0.1, 1.0)
    want = np.asarray(f(pop3, 1.0, 0.1, 1.0))
    for batched, jit in ((True, False), (False, True), (False, False)):
        g = qsense.make_fitness(3, "dephasing", batched=batched, jit=jit)
        arg, ref = (pop3, want) if batched else (pop3[0], want[0])
        with pytest.raises(ValueError, match=r"^t = -1\.0"):
            g(arg, -1.0, 0.1, 1.0)
        np.testing.assert_allclose(np.asarray(g(arg, 1.0, 0.1, 1.0)), ref, rtol=1e-12)
    with pytest.raises(ValueError, match=r"genome batch shape"):
        qsense.score(P3, pop3, 1.0)
    with pytest.raises(ValueError, match=r"problem\.gamma"):
        qsense.score(P3.replace(gamma=np.float64(-1.0)), GOOD, 1.0)


def test_checks_are_skipped_under_tracing_and_values_unchanged():
    """jit / vmap / grad of the public functions still work (tracers are not checked) and
    give the eager values."""
    eager = float(qsense.score(P3, GOOD, 1.3))
    assert float(jax.jit(qsense.score)(P3, GOOD, 1.3)) == pytest.approx(eager, rel=1e-12)
    ts = jnp.array([1.3, 2.0])
    assert float(jax.vmap(qsense.score, (None, None, 0))(P3, GOOD, ts)[0]) == pytest.approx(
        eager, rel=1e-12)
    d = jax.grad(lambda t: qsense.score(P3, GOOD, t))(1.3)
    h = 1e-6
    fd = (float(qsense.score(P3, GOOD, 1.3 + h)) - float(qsense.score(P3, GOOD, 1.3 - h))) / (2 * h)
    assert float(d) == pytest.approx(fd, rel=1e-6)
    # the jitted implementation stays reachable (no-recompile checks, AOT lowering)
    assert qsense.score.jitted._cache_size() >= 1
    qsense.objective.population_score.lower(
        P3, jax.tree_util.tree_map(lambda a: a[None], GOOD), 1.0)


# ----------------------------------------------------------------------------- 3: real rho

@pytest.mark.parametrize("noise", ["dephasing", "bitflip", "amplitude_damping"])
def test_score_state_of_a_real_density_matrix_equals_the_complex_one(noise):
    p = Problem(3, noise, 0.1)
    psi = _ghz_np(3).real
    for rho in (np.eye(8) / 8, np.outer(psi, psi), 0.7 * np.outer(psi, psi) + 0.3 * np.eye(8) / 8):
        got = float(qsense.score_state(p, rho, 1.0))
        want = float(qsense.score_state(p, rho.astype(np.complex128), 1.0))
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
    # the GHZ state's QFI under dephasing, by hand: t^2 N^2 exp(-2 N gamma t)
    if noise == "dephasing":
        got = float(qsense.score_state(p, np.outer(psi, psi), 1.0))
        assert got == pytest.approx(9 * np.exp(-2 * 3 * 0.1), rel=1e-10)


# ----------------------------------------------------------------------------- 4: learning rate

@pytest.mark.parametrize("lr", [-1.0, 0.0, np.nan, "fast"])
def test_make_step_refuses_a_bad_learning_rate(lr):
    with pytest.raises(ValueError, match=r"learning_rate = .*> 0"):
        make_step(P3, GOOD, learning_rate=lr)


# ----------------------------------------------------------------------------- 5: engine

def test_sense_and_qfi_refuse_non_finite_fields_and_non_numbers():
    psi = qsense.ghz_state(2)
    with pytest.raises(ValueError, match=r"^field = nan"):
        qsense.sense(psi, np.nan, 1.0, "dephasing", 0.1)
    with pytest.raises(ValueError, match=r"^gamma = '0\.1'"):
        qsense.sense(psi, 1.0, 1.0, "dephasing", "0.1")
    with pytest.raises(ValueError, match=r"^b0 = nan"):
        qsense.qfi(lambda b: qsense.sense(psi, b, 1.0, "dephasing", 0.1), np.nan)
    with pytest.raises(ValueError, match=r"^bvec0 = "):
        qsense.qfim(lambda b: qsense.sense(psi, b, 1.0, "dephasing", 0.1),
                    np.array([0.0, np.nan, 0.0]))


def test_noise_functions_refuse_bad_rates_times_and_fields():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning either
        with pytest.raises(ValueError, match=r"^gamma = -0\.1"):
            qsense.kraus_operators("dephasing", -0.1, 1.0)
        with pytest.raises(ValueError, match=r"^t = -1"):
            qsense.kraus_operators("amplitude_damping", 0.1, -1.0)
    with pytest.raises(ValueError, match=r"^gamma = nan"):
        qsense.liouvillian_1q(np.zeros(3), "dephasing", np.nan)
    with pytest.raises(ValueError, match=r"^field3\.shape = \(2,\)"):
        qsense.superoperator_1q(np.array([0.0, 1.0]), 1.0, "dephasing", 0.1)
    with pytest.raises(ValueError, match=r"^field3 = "):
        qsense.superoperator_1q(np.array([0.0, np.inf, 1.0]), 1.0, "dephasing", 0.1)
    with pytest.raises(ValueError, match=r"^t = -1"):
        qsense.superoperator_1q(np.zeros(3), -1.0, "dephasing", 0.1)


def test_qcrb_refuses_matrices_that_are_not_qfims():
    with pytest.raises(ValueError, match=r"^F = .*finite"):
        qsense.qcrb(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match=r"F asymmetry.*symmetric"):
        qsense.qcrb(np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"F smallest eigenvalue = -1\.0.*semidefinite"):
        qsense.qcrb(-np.eye(2))
    # not numbers at all: named here (JAX's TypeError named no argument)
    for bad in ("x", [["a", "b"], ["c", "d"]], object()):
        with pytest.raises(ValueError, match=r"^F = .*accepted: a real \(k, k\) QFI matrix"):
            qsense.qcrb(bad)
    with pytest.raises(ValueError, match=r"^F\.dtype = .*complex.*a real QFI matrix"):
        qsense.qcrb(np.eye(2) * (1 + 1j))
    # rounding-level asymmetry and a singular PSD matrix are still fine
    f = np.array([[2.0, 1.0], [1.0 + 1e-15, 3.0]])
    assert float(qsense.qcrb(f)) == pytest.approx(np.trace(np.linalg.inv(0.5 * (f + f.T))))
    with pytest.warns(RuntimeWarning, match="singular"):
        assert float(qsense.qcrb(np.diag([1.0, 0.0]))) == np.inf


def test_noise_none_accepts_and_ignores_gamma():
    """Decision: gamma with noise 'none' is accepted (checked >= 0) and has no effect."""
    psi = qsense.ghz_state(2)
    np.testing.assert_array_equal(np.asarray(qsense.sense(psi, 1.0, 1.0, "none", 0.3)),
                                  np.asarray(qsense.sense(psi, 1.0, 1.0, "none", 0.0)))
    assert float(qsense.score(Problem(3, "none", 0.3), GOOD, 1.0)) == pytest.approx(
        float(qsense.score(Problem(3, "none", 0.0), GOOD, 1.0)), rel=1e-12)
    with pytest.raises(ValueError, match=r"^gamma = -0\.1"):
        qsense.sense(psi, 1.0, 1.0, "none", -0.1)


# ----------------------------------------------------------------------------- 6: drawings

def test_draw_and_describe_refuse_a_register_too_small_for_the_genome():
    assert "●" in draw_text(GOOD, 3).splitlines()[2]  # CRx control on q2
    with pytest.raises(ValueError, match=r"genome\.(target|control) = \[2.*\[0, 1\]"):
        draw_text(GOOD, 2)
    with pytest.raises(ValueError, match=r"n_qubits = 0"):
        draw_text(GOOD, 0)
    with pytest.raises(ValueError, match=r"genome\.(target|control) = \[2.*\[0, 1\]"):
        describe(GOOD, 2)
    with pytest.raises(ValueError, match=r"genome\.gate = \[7\]"):
        describe(make_genome([7], [0], [1], [0.1]))
    assert describe(GOOD, 3) == ["Rx(q2, +0.3000)", "CRx(q2->q1, -0.7000)"]


# ----------------------------------------------------------------------------- 7: random_genome

def test_random_genome_refuses_crx_only_on_one_qubit_without_warnings():
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match=r"gate_probs = \[0, 0, 0, 1, 0\].*n_qubits = 1"):
        qsense.random_genome(key, 1, 4, gate_probs=[0, 0, 0, 1, 0])
    with pytest.raises(ValueError, match=r"gate_probs = .*5 weights.*\(Rx, Ry, Rz, CRx, I\)"):
        qsense.random_genome(key, 2, 4, gate_probs=[1, 1, 1, 1])  # GAConfig's 4: refused
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the int-weights scatter warned (FutureWarning)
        g = qsense.random_genome(key, 1, 6, gate_probs=[0, 1, 0, 1, 0])
    assert set(np.asarray(g.gate).tolist()) == {1}
