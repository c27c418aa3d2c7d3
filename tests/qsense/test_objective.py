"""THE objective (`qsense.score`): every consumer equals `make_fitness`, one compilation serves
every Z-covariant noise and rate, the link hooks against an independent dense numpy
reference, and the composed public path (`qfi` of `sense`) exact and on the fast path."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sla

import qsense
from qsense import fisher
from qsense import optimize as O
from qsense import protocols as P
from qsense.genetic import GAConfig, _programs, _static_config
from qsense.objective import Problem, population_score, score, score_state
from tests.reference import engine_numpy as ref

NOISES = ("dephasing", "bitflip", "amplitude_damping")
CASES = [(noise, field) for noise in NOISES for field in ("scalar", "vector")]
B0 = {"scalar": 0.7, "vector": (0.1, -0.2, 0.3)}


def _genomes(seed: int, n: int, g: int, size: int) -> qsense.Genome:
    """Random genomes drawn in the test (numpy), every gate type incl. CRx and padding."""
    rng = np.random.default_rng(seed)
    gate = rng.choice(5, size=(size, g), p=[0.2, 0.2, 0.2, 0.3, 0.1])
    control = rng.integers(0, n, size=(size, g))
    target = (control + rng.integers(1, n, size=(size, g))) % n
    angle = rng.uniform(-np.pi, np.pi, size=(size, g))
    return qsense.Genome(jnp.asarray(gate), jnp.asarray(control), jnp.asarray(target),
                         jnp.asarray(angle))


def _merit(field, fitness):
    return np.asarray(fitness) if field == "scalar" else -np.asarray(fitness)


# ----------------------------------------------------------------------------- consumers

@pytest.mark.parametrize("noise,field", CASES)
def test_every_consumer_equals_make_fitness(noise, field):
    """optimize_angles' loss (adam, parameter shift, lbfgs, cobyla: the value at the start of
    each trajectory), scan_t, the GA's evaluate program and the composed public path all give
    make_fitness's value on random genomes."""
    n, g, t, gamma = 3, 5, 1.3, 0.2
    pop = _genomes(1, n, g, 3)
    fit = qsense.make_fitness(n, noise, field)
    want = np.asarray(fit(pop, t, gamma, B0[field]))
    p = Problem(n, noise, gamma, field, B0[field])
    structure = (pop.gate, pop.control, pop.target)
    params = {"angle": pop.angle, "log_t": jnp.full((3,), np.log(t))}
    loss = jax.vmap(O.make_loss(p), in_axes=(0, 0))(params, structure)
    np.testing.assert_allclose(-np.asarray(loss), want, rtol=1e-12)
    np.testing.assert_allclose(O.scan_t(p, pop, [t])[:, 0], _merit(field, want), rtol=1e-12)
    for method in ("adam", "parameter_shift", "lbfgs", "cobyla"):
        # t fixed: where the merit oscillates in t, a free t starts on its best lobe instead
        # (qsense.optimize.refine_t), not at t0
        res = O.optimize_angles(p, pop, method=method, steps=10 if method == "cobyla" else 2,
                                t0=t, optimize_t=False)
        np.testing.assert_allclose(res.history[:, 0], _merit(field, want), rtol=1e-10)
    # the GA's scoring program (no memetic steps: the population is scored as it is), on a grid
    # (0.4, t) plus each chromosome's inherited time (0.4)
    evaluate, _ = _programs(n, _static_config(GAConfig(population=3, max_genes=g, elite=1,
                                                       local_steps=0)))
    _, best, best_t = evaluate(pop, jnp.full((3,), 0.4), jnp.asarray([0.4, t]), p)
    at_other = np.asarray(fit(pop, 0.4, gamma, B0[field]))
    np.testing.assert_allclose(best, np.maximum(want, at_other), rtol=1e-12)
    np.testing.assert_allclose(best_t, np.where(want >= at_other, t, 0.4))
    psi0 = qsense.ghz_state(n)

    def composed(genome):
        def rho_of(b):
            return qsense.sense(qsense.apply_pqc(psi0, genome), b, t, noise, gamma)

        if field == "scalar":
            return qsense.qfi(rho_of, B0[field])
        return -qsense.qcrb(qsense.qfim(rho_of, jnp.asarray(B0[field])))

    np.testing.assert_allclose(jax.vmap(composed)(pop), want, rtol=1e-10)


@pytest.mark.parametrize("noise,field", CASES)
def test_parameter_shift_autodiff_and_finite_differences_agree(noise, field):
    n, g, t, gamma, eps = 2, 4, 1.1, 0.15, 1e-5
    p = Problem(n, noise, gamma, field, B0[field])
    genome = _genomes(2, n, g, 1)[0]
    fit = qsense.make_fitness(n, noise, field)
    shifts = eps * np.eye(g)
    plus = dataclasses.replace(jax.tree_util.tree_map(lambda a: jnp.stack([a] * g), genome),
                               angle=genome.angle[None] + shifts)
    minus = dataclasses.replace(plus, angle=genome.angle[None] - shifts)
    fd = (np.asarray(fit(plus, t, gamma, B0[field]))
          - np.asarray(fit(minus, t, gamma, B0[field]))) / (2 * eps)
    ps = np.asarray(O.parameter_shift_grad(p, genome, t))
    ad = np.asarray(O.autodiff_grad(p, genome, t))
    scale = max(1.0, np.max(np.abs(ad)))
    np.testing.assert_allclose(ps, ad, atol=1e-8 * scale, rtol=0)
    np.testing.assert_allclose(ps, fd, atol=1e-6 * scale, rtol=0)


def test_protocols_and_probe_tuning_use_the_objective():
    n, t, gamma = 3, 1.2, 0.1
    pop = _genomes(3, n, 5, 2)
    for noise in NOISES:
        want = np.asarray(qsense.make_fitness(n, noise)(pop, t, gamma, 0.6))
        got = [float(P.protocol_qfi(qsense.probe_state(pop[i], n), 1.0, t, gamma, 0.6,
                                    protocol="distributed", noise=noise)) for i in range(2)]
        np.testing.assert_allclose(got, want, rtol=1e-10)
        # remote: the BS's qubit 0 neither senses nor feels the noise (sensors and
        # noise_weights hooks), perfect pairs
        sn = [0.0] + [1.0] * (n - 1)
        rem = Problem(n, noise, gamma, b0=0.6, sensors=sn, noise_weights=sn)
        got = [float(P.protocol_qfi(qsense.probe_state(pop[i], n), 1.0, t, gamma, 0.6,
                                    protocol="remote", noise=noise)) for i in range(2)]
        np.testing.assert_allclose(got, [float(score(rem, pop[i], t)) for i in range(2)],
                                   rtol=1e-10)
        vec = np.asarray(qsense.make_fitness(n, noise, "vector")(pop, t, gamma, B0["vector"]))
        qc = [float(P.protocol_qcrb(qsense.probe_state(pop[i], n), 1.0, t, gamma,
                                    B0["vector"], protocol="distributed", noise=noise,
                                    field="vector")) for i in range(2)]
        np.testing.assert_allclose(qc, -vec, rtol=1e-10)
    g, t_opt, q, hist = P.tune_probe_angles(pop[0], n, gamma, t0=t, b0=0.6, steps=3)
    start = float(qsense.make_fitness(n, "dephasing")(pop[:1], t, gamma, 0.6)[0])
    assert hist[0] == pytest.approx(start, rel=1e-10)
    assert q == pytest.approx(float(score(Problem(n, "dephasing", gamma, b0=0.6), g, t_opt)),
                              rel=1e-12)


# ----------------------------------------------------------------------------- compilation

@pytest.mark.usefixtures("fresh_jax")
def test_one_compilation_serves_every_covariant_noise_and_rate():
    n, pop = 2, _genomes(4, 2, 3, 5)
    before = population_score._cache_size()
    for noise, gamma, b0 in (("dephasing", 0.1, 1.0), ("amplitude_damping", 0.3, 0.2),
                             ("none", 0.0, -1.0), ("dephasing", 0.05, 2.0)):
        a = population_score(Problem(n, noise, gamma, b0=b0), pop, 1.0)
        b = qsense.make_fitness(n, noise)(pop, 1.0, gamma, b0)
        np.testing.assert_array_equal(a, b)
    assert population_score._cache_size() == before + 1
    population_score(Problem(n, "bitflip", 0.1), pop, 1.0)  # not Z-covariant: its own program
    assert population_score._cache_size() == before + 2
    # a vector field takes the general path under every noise: one program for all three
    before = population_score._cache_size()
    for noise in ("dephasing", "bitflip", "amplitude_damping"):
        a = population_score(Problem(n, noise, 0.1, "vector", (0.0, 0.0, 0.0)), pop, 1.0)
        b = qsense.make_fitness(n, noise, "vector")(pop, 1.0, 0.1, jnp.zeros(3))
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert population_score._cache_size() == before + 1
    # the optimizer's run: the problem is data too
    run = O._compiled_run("adam", "autodiff", 0.05, O._log_bounds((1e-3, 1e3)), True, 3)
    before = run._cache_size()
    for noise, gamma in (("dephasing", 0.1), ("amplitude_damping", 0.4)):
        O.optimize_angles(Problem(n, noise, gamma), pop, steps=3, t0=1.0)
    assert run._cache_size() == before + 1
    cfg = GAConfig(population=5, max_genes=3, elite=1, init_genes=2)
    evaluate, _ = _programs(n, _static_config(cfg))
    before = evaluate.jitted._cache_size()
    for noise, gamma in (("dephasing", 0.1), ("amplitude_damping", 0.4), ("none", 0.0)):
        evaluate(pop, jnp.ones((5,)), jnp.asarray([0.5, 1.0]), Problem(n, noise, gamma))
    assert evaluate.jitted._cache_size() == before + 1


def test_problem_is_a_pytree_with_gradients_in_its_data():
    p = Problem(2, "amplitude_damping", 0.2, b0=0.5)
    leaves, tree = jax.tree_util.tree_flatten(p)
    q = jax.tree_util.tree_unflatten(tree, leaves)
    assert q.noise == "amplitude_damping" and q.n_qubits == 2 and q.fast
    g = _genomes(5, 2, 3, 1)[0]
    d = jax.grad(lambda prob: score(prob, g, 1.5))(p)
    eps = 1e-6
    fd = (float(score(p.replace(gamma=0.2 + eps), g, 1.5))
          - float(score(p.replace(gamma=0.2 - eps), g, 1.5))) / (2 * eps)
    assert float(d.gamma) == pytest.approx(fd, rel=1e-6, abs=1e-9)
    assert d.b0 == pytest.approx(0.0, abs=1e-10)  # Z-covariant: the QFI does not depend on B0


# ----------------------------------------------------------------------------- link hooks
# The reference below is dense numpy written from the physics (Kraus operators embedded by
# Kronecker products, the 4^N generator exponentiated by scipy, finite-difference dρ/dB);
# the channels are built here from Kraus operators, nothing comes from qsense.

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], complex)
Y = np.array([[0, -1j], [1j, 0]], complex)
Z = np.diag([1.0, -1.0]).astype(complex)


def _kraus_depolarizing(w):
    return [np.sqrt((1 + 3 * w) / 4) * I2] + [np.sqrt((1 - w) / 4) * s for s in (X, Y, Z)]


def _kraus_random(rng):
    """A random qubit channel: Stinespring isometry from a random unitary on 2 x 2."""
    a = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    u, _ = np.linalg.qr(a)
    iso = u[:, :2]  # rows: (environment, system) big-endian; columns: input
    return [iso[2 * k:2 * k + 2, :] for k in range(2)]


def _superop(kraus):
    """Row-major: vec(K rho K^H) = (K kron conj(K)) vec(rho)."""
    return sum(np.kron(k, k.conj()) for k in kraus)


def _apply_kraus(rho, kraus_per_qubit):
    n = len(kraus_per_qubit)
    for q, ks in enumerate(kraus_per_qubit):
        out = np.zeros_like(rho)
        for k in ks:
            big = ref.embed({q: k}, n)
            out += big @ rho @ big.conj().T
        rho = out
    return rho


def _ref_sense(rho, b, t, noise, gamma, sensors, noisy=None):
    """Dense Lindbladian: field on qubit q weighted by sensors[q], noise at gamma * noisy[q]."""
    n = int(np.log2(rho.shape[0]))
    noisy = np.ones(n) if noisy is None else noisy
    d = 2**n
    f3 = np.array([0.0, 0.0, b]) if np.ndim(b) == 0 else np.asarray(b)
    h = sum(sensors[q] * ref.embed({q: 0.5 * (f3[0] * X + f3[1] * Y + f3[2] * Z)}, n)
            for q in range(n))
    eye = np.eye(d)
    gen = -1j * (np.kron(h, eye) - np.kron(eye, h.T))
    for q in range(n):
        one = ref.jump(noise, gamma * noisy[q])
        if one is not None:
            ell = ref.embed({q: one}, n)
            ldl = ell.conj().T @ ell
            gen = gen + np.kron(ell, ell.conj()) - 0.5 * np.kron(ldl, eye) \
                - 0.5 * np.kron(eye, ldl.T)
    return (sla.expm(t * gen) @ rho.reshape(-1)).reshape(d, d)


def _ref_qfim(psi, pre, post, sensors, field0, t, noise, gamma, noisy=None):
    rho0 = _apply_kraus(np.outer(psi, psi.conj()), pre)

    def rho_of(b):
        return _apply_kraus(_ref_sense(rho0, b, t, noise, gamma, sensors, noisy), post)

    return ref.qfi_from(rho_of(field0), ref.fd_derivatives(rho_of, field0))


@pytest.mark.parametrize("noise,post_kind,field", [
    ("dephasing", "depolarizing", "scalar"),        # fast path (covariant post)
    ("amplitude_damping", "random", "scalar"),      # general path (post not covariant)
    ("bitflip", "depolarizing", "scalar"),          # general path (noise not covariant)
    ("amplitude_damping", "depolarizing", "vector"),
])
def test_link_hooks_match_dense_reference(noise, post_kind, field):
    n, t, gamma = 3, 0.9, 0.2
    rng = np.random.default_rng(len(noise) + len(post_kind))
    pre = [_kraus_random(rng) for _ in range(n)]
    post = ([_kraus_depolarizing(w) for w in (0.9, 0.6, 0.8)] if post_kind == "depolarizing"
            else [_kraus_random(rng) for _ in range(n)])
    sensors = np.array([0.0, 1.0, 1.0])
    noisy = np.array([0.5, 0.0, 2.0])  # noise_weights: rates gamma/2, 0, 2 gamma
    genome = _genomes(6, n, 6, 1)[0]
    gt = tuple(np.asarray(x) for x in (genome.gate, genome.control, genome.target,
                                        genome.angle))
    psi = ref.circuit_unitary(gt, n) @ ref.ghz(n)
    b0 = 0.8 if field == "scalar" else np.array([0.2, -0.1, 0.4])
    p = Problem(n, noise, gamma, field, b0, pre_channel=np.stack([_superop(k) for k in pre]),
                post_channel=np.stack([_superop(k) for k in post]), sensors=sensors,
                noise_weights=noisy)
    assert p.fast == (field == "scalar" and noise != "bitflip" and post_kind == "depolarizing")
    want = _ref_qfim(psi, pre, post, sensors, b0, t, noise, gamma, noisy)
    got = float(score(p, genome, t))
    if field == "scalar":
        assert got == pytest.approx(want[0, 0], rel=1e-8)
    else:
        assert -got == pytest.approx(np.trace(np.linalg.inv(want)), rel=1e-7)
    # each hook on its own, the others absent
    ones, ids = np.ones(n), [[I2]] * n
    for kw, pre_k, post_k, s, nw in (
            ({"pre_channel": p.pre_channel}, pre, ids, ones, ones),
            ({"post_channel": p.post_channel}, ids, post, ones, ones),
            ({"sensors": sensors}, ids, ids, sensors, ones),
            ({"noise_weights": noisy}, ids, ids, ones, noisy)):
        one = Problem(n, noise, gamma, field, b0, **kw)
        w = _ref_qfim(psi, pre_k, post_k, s, b0, t, noise, gamma, nw)
        v = float(score(one, genome, t))
        if field == "scalar":
            assert v == pytest.approx(w[0, 0], rel=1e-8)
        else:
            assert -v == pytest.approx(np.trace(np.linalg.inv(w)), rel=1e-7)


def test_fast_and_general_paths_agree_with_hooks():
    n, t = 3, 1.4
    rng = np.random.default_rng(9)
    pre = np.stack([_superop(_kraus_random(rng)) for _ in range(n)])
    post = np.stack([_superop(_kraus_depolarizing(w)) for w in (0.5, 0.9, 0.7)])
    genome = _genomes(7, n, 6, 1)[0]
    for noise in ("dephasing", "amplitude_damping", "none"):
        p = Problem(n, noise, 0.3, b0=0.4, pre_channel=pre, post_channel=post,
                    sensors=np.array([1.0, 0.0, 1.0]))
        assert p.fast
        psi = qsense.objective.probe(p, genome)
        rho = jnp.outer(psi, psi.conj())
        fast = float(score_state(p, rho, t))
        general = float(qsense.objective.qfim_of_state(p, rho, t)[0, 0])
        assert fast == pytest.approx(general, rel=1e-10)


def test_bad_link_hooks():
    eye = np.stack([np.eye(4)] * 2)
    with pytest.raises(ValueError, match=r"pre_channel.shape"):
        Problem(2, pre_channel=np.eye(4))
    with pytest.raises(ValueError, match="trace"):
        Problem(2, post_channel=2 * eye)
    with pytest.raises(ValueError, match="sensors.shape"):
        Problem(2, sensors=[1.0])
    non_cov = np.stack([_superop(_kraus_random(np.random.default_rng(0)))] * 2)
    with pytest.raises(ValueError, match="post_covariant"):
        Problem(2, post_channel=non_cov, post_covariant=True)
    assert not Problem(2, post_channel=non_cov).fast
    assert Problem(2, post_channel=eye).fast


def test_noise_weights_closed_forms_grids_and_bad_input():
    """``noise_weights`` v scales gamma per qubit. GHZ (N = 2) under dephasing: the coherence
    decays by e^{-gamma t (v0 + v1)}, so QFI = 4 t^2 e^{-2 gamma t (v0 + v1)} and
    dQFI/dv_k = -2 gamma t QFI (autodiff through the traced weights); all ones is the
    default; the t grid follows the largest rate; bit flip's oscillation rate is the sum of
    the qubits' own (noiseless at B0 = 1: 1; at rate 2 gamma: sqrt(1 - gamma^2)). Bad
    weights and bad post_decay rates are refused by name."""
    gamma, t = 0.1, 1.3
    empty = qsense.genome.empty_genome(1)  # padding only: the GHZ probe
    base = Problem(2, "dephasing", gamma)
    for v in ((0.5, 0.0), (0.0, 2.0), (1.0, 1.0)):
        want = 4 * t**2 * np.exp(-2 * gamma * t * sum(v))
        assert float(score(dataclasses.replace(base, noise_weights=v), empty, t)) == \
            pytest.approx(want, rel=1e-12)
    v = jnp.array([0.5, 0.0])
    grad = jax.grad(lambda w: score(base.replace(noise_weights=w), empty, t))(v)
    q = 4 * t**2 * np.exp(-2 * gamma * t * 0.5)
    np.testing.assert_allclose(np.asarray(grad), [-2 * gamma * t * q] * 2, rtol=1e-10)
    g = _genomes(8, 3, 6, 1)[0]
    for noise in NOISES:
        plain = float(score(Problem(3, noise, 0.2, b0=0.7), g, 1.1))
        ones = Problem(3, noise, 0.2, b0=0.7, noise_weights=np.ones(3))
        assert float(score(ones, g, 1.1)) == pytest.approx(plain, rel=1e-12)
    assert ones.astype(jnp.complex64).noise_weights.dtype == jnp.float32
    np.testing.assert_allclose(
        O.default_t_grid(Problem(2, noise_weights=(0.0, 2.0)), 3), [0.1, np.sqrt(0.1 * 25), 25])
    silent = Problem(2, noise_weights=(0.0, 0.0))
    with pytest.raises(ValueError, match="gamma"):
        O.default_t_grid(silent)
    with pytest.raises(ValueError, match="t_grid"):
        qsense.genetic.search_t_grid(silent, GAConfig())
    bf = Problem(2, "bitflip", gamma, b0=1.0, noise_weights=(0.0, 2.0))
    assert O.oscillation_rate(bf) == pytest.approx(1 + np.sqrt(1 - gamma**2), rel=1e-12)
    for name in ("noise_weights", "post_decay"):  # one per-qubit check serves both
        for bad, key in (([1.0], f"{name}.shape"), ([1.0, -0.1], name), ([1.0, np.nan], name),
                         ([1.0, np.inf], name), (["a", "b"], name), ([1j, 1.0], name)):
            with pytest.raises(ValueError, match=rf"^{key} = "):
                Problem(2, **{name: bad})


# ----------------------------------------------------------------------------- public path

def _reference_qfi(genome, n, b0, t, noise, gamma):
    gt = tuple(np.asarray(x) for x in (genome.gate, genome.control, genome.target,
                                        genome.angle))
    return ref.probe_qfim(gt, n, b0, t, noise, gamma)[0, 0]


@pytest.mark.parametrize("noise", ("none",) + NOISES)
def test_composed_public_path_is_exact_and_fast(noise, monkeypatch):
    """qfi(lambda b: sense(apply_pqc(psi, g), b, t, noise, gamma), b0): the numpy reference;
    the commutator form (one matmul) exactly where the noise is Z-covariant; derivatives in
    the angles, t and gamma equal finite differences (second order: full-rank states)."""
    n, t, gamma, b0 = 3, 1.1, 0.2, 0.9
    genome = _genomes(8, n, 6, 1)[0]
    psi0 = qsense.ghz_state(n)
    used = []
    real_commutator = fisher._qfi_commutator  # what qfi calls (qfi_commutator's core)
    monkeypatch.setattr(fisher, "_qfi_commutator",
                        lambda *a, **k: used.append(1) or real_commutator(*a, **k))

    def f(angle, tt, gm):
        g = dataclasses.replace(genome, angle=angle)
        return qsense.qfi(lambda b: qsense.sense(qsense.apply_pqc(psi0, g), b, tt, noise, gm),
                          b0)

    value = float(f(genome.angle, t, gamma))
    assert value == pytest.approx(_reference_qfi(genome, n, b0, t, noise, gamma), rel=1e-8)
    assert bool(used) == (noise != "bitflip")
    eps = 1e-5
    grads = jax.grad(f, argnums=(0, 1, 2))(genome.angle, t, gamma)
    e = np.eye(6) * eps
    fd_a = [(float(f(genome.angle + e[k], t, gamma)) - float(f(genome.angle - e[k], t, gamma)))
            / (2 * eps) for k in range(6)]
    np.testing.assert_allclose(grads[0], fd_a, atol=1e-6 * max(1.0, value))
    fd_t = (float(f(genome.angle, t + eps, gamma)) - float(f(genome.angle, t - eps, gamma))) \
        / (2 * eps)
    fd_g = (float(f(genome.angle, t, gamma + eps)) - float(f(genome.angle, t, gamma - eps))) \
        / (2 * eps)
    assert float(grads[1]) == pytest.approx(fd_t, rel=1e-6, abs=1e-8)
    assert float(grads[2]) == pytest.approx(fd_g, rel=1e-6, abs=1e-8)
    if noise == "none":
        return  # rank-deficient state: second derivatives pass through eigh at a degenerate
        # spectrum (not exact before the objective either; the first-order rule is gap-free)
    d2t = jax.grad(jax.grad(f, argnums=1), argnums=1)(genome.angle, t, gamma)
    dt = jax.grad(f, argnums=1)
    fd2 = (float(dt(genome.angle, t + 1e-4, gamma)) - float(dt(genome.angle, t - 1e-4, gamma))) \
        / 2e-4
    assert float(d2t) == pytest.approx(fd2, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("noise", ("dephasing", "amplitude_damping"))
def test_sense_field_derivatives_equal_finite_differences(noise):
    """The custom JVP of sense in a scalar field (the commutator), its second derivative, and
    mixed tangents (state, field, t, gamma together) against central differences."""
    t, gamma, b = 0.8, 0.3, 0.5  # two qubits
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    rho = a @ a.conj().T
    rho = jnp.asarray(rho / np.trace(rho))
    drho = jnp.asarray(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))
    drho = 0.5 * (drho + drho.conj().T)
    drho = drho - jnp.trace(drho) / 4 * jnp.eye(4)  # traceless: rho + x drho stays a state

    def s(x):
        return qsense.sense(rho + x[0] * drho, b + x[1], t + x[2], noise, gamma + x[3])

    for direction in np.eye(4).tolist() + [[0.3, -0.7, 0.2, 0.5]]:
        v = jnp.asarray(direction)
        _, tangent = jax.jvp(s, (jnp.zeros(4),), (v,))
        h = 1e-4
        fd = (-s(2 * h * v) + 8 * s(h * v) - 8 * s(-h * v) + s(-2 * h * v)) / (12 * h)
        np.testing.assert_allclose(tangent, fd, atol=1e-9)
    second = jax.jacfwd(jax.jacfwd(lambda x: qsense.sense(rho, x, t, noise, gamma)))(b)
    want = np.asarray(ref.sense(np.asarray(rho), b + 1e-3, t, noise, gamma)
                      - 2 * ref.sense(np.asarray(rho), b, t, noise, gamma)
                      + ref.sense(np.asarray(rho), b - 1e-3, t, noise, gamma)) / 1e-6
    np.testing.assert_allclose(second, want, atol=1e-5)


def test_return_decay_depolarizes_before_the_post_channel():
    """`Problem`: after sensing for t, qubit i is depolarized to Werner factor
    ``exp(-post_decay_i t)`` and *then* ``post_channel`` acts. With a non-unital post channel
    (amplitude damping, built here from its Kraus operators) the two orders differ, so the
    dense reference (depolarize, then damp) pins the order on the fast path (dephasing: both
    maps Z-covariant) and on the general one (bit flip)."""
    n, t, gamma, b0, eta = 2, 1.1, 0.2, 0.6, 0.6
    rates = np.array([0.4, 0.9])
    damp = [np.diag([1.0, np.sqrt(1 - eta)]).astype(complex),
            np.sqrt(eta) * np.array([[0, 1], [0, 0]], complex)]
    rng = np.random.default_rng(4)
    v = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    rho0 = np.outer(v, v.conj()) / np.vdot(v, v).real
    for noise in ("dephasing", "bitflip"):
        p = Problem(n, noise, gamma, "scalar", b0, post_channel=np.stack([_superop(damp)] * n),
                    post_decay=rates)

        def rho_of(b, noise=noise):
            sensed = _ref_sense(rho0, b, t, noise, gamma, np.ones(n))
            dep = _apply_kraus(sensed, [_kraus_depolarizing(np.exp(-r * t)) for r in rates])
            return _apply_kraus(dep, [damp] * n)

        want = ref.qfi_from(rho_of(b0), ref.fd_derivatives(rho_of, b0))[0, 0]
        assert float(score_state(p, jnp.asarray(rho0), t)) == pytest.approx(want, rel=1e-7)
