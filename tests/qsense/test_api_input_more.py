"""Bad input to public functions found by a second API walkthrough: each is refused with a
ValueError naming the argument (never a NaN or a silently wrong value), and the traced paths
(jit / vmap / grad) still work."""

import itertools

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


# ----------------------------------------------------------------------------- Genome

def _pop(p=3, n=3, g=4):
    keys = jax.random.split(jax.random.PRNGKey(0), p)
    return jax.vmap(lambda k: qsense.random_genome(k, n, g))(keys)


def test_population_len_and_iteration_end():
    pop = _pop()
    assert len(pop) == 3
    # list(pop) used to loop forever (JAX clamps pop[3], pop[4], ... to pop[2]); islice bounds
    # the test if that comes back
    genomes = list(itertools.islice(pop, 10))
    assert len(genomes) == 3
    for i, g in enumerate(genomes):
        assert g.batch_shape == ()
        for a, b in zip(jax.tree_util.tree_leaves(g), jax.tree_util.tree_leaves(pop[i]),
                        strict=True):
            np.testing.assert_array_equal(a, b)
    assert bool(pop) and bool(pop[0])
    empty = pop[:0]
    assert len(empty) == 0 and list(itertools.islice(empty, 10)) == [] and not empty
    grid = jax.tree_util.tree_map(lambda a: a.reshape((3, 1) + a.shape[1:]), pop)
    assert len(grid) == 3
    assert [h.batch_shape for h in itertools.islice(grid, 10)] == [(1,)] * 3


def test_a_single_genome_has_no_len():
    g = _pop()[0]
    with pytest.raises(TypeError, match="single Genome"):
        len(g)
    with pytest.raises(TypeError, match="single Genome"):
        iter(g)


@pytest.mark.parametrize("idx", [3, 100, -4, np.int64(3), jnp.array(5), (0, 3)])
def test_population_index_out_of_range_is_an_index_error(idx):
    pop = _pop()
    if isinstance(idx, tuple):
        pop = jax.tree_util.tree_map(lambda a: a.reshape((1, 3) + a.shape[1:]), pop)
    with pytest.raises(IndexError, match="out of range"):
        pop[idx]  # pop[100] used to be pop[2]


def test_population_negative_and_array_indices_as_python():
    pop = _pop()
    for i, j in ((-1, 2), (-3, 0), (np.int32(1), 1), (jnp.array(2), 2)):
        np.testing.assert_array_equal(pop[i].angle, pop.angle[j])
    np.testing.assert_array_equal(pop[1:10].angle, pop.angle[1:])  # slices clip, as in Python
    np.testing.assert_array_equal(pop[jnp.array([2, 0])].angle, pop.angle[jnp.array([2, 0])])


def test_genome_with_len_is_still_a_pytree_under_jit_and_vmap():
    pop = _pop()
    leaves, tree = jax.tree_util.tree_flatten(pop)
    assert len(leaves) == 4
    back = jax.tree_util.tree_unflatten(tree, leaves)
    np.testing.assert_array_equal(back.angle, pop.angle)
    psi = qsense.ghz_state(3)
    out = jax.jit(jax.vmap(qsense.apply_pqc, in_axes=(None, 0)))(psi, pop)
    for i, g in enumerate(itertools.islice(pop, 10)):
        np.testing.assert_allclose(out[i], qsense.apply_pqc(psi, g), atol=1e-13)
    # inside jit, a traced index is not checked (JAX semantics), a static one is
    assert jax.jit(lambda p, i: p[i].angle)(pop, 1).shape == (4,)
    assert jax.jit(lambda p: len(p) + p[-1].angle.shape[0])(pop) == 7


# ----------------------------------------------------------------------------- fisher

RHO2 = qsense.density(qsense.ghz_state(2))
JZ2 = jnp.diag(jnp.array([1.0, 0.0, 0.0, -1.0]))
DRHO2 = (-1j * (JZ2 @ RHO2 - RHO2 @ JZ2))[None]  # d rho / d phi of exp(-i phi Jz): QFI 4


@pytest.mark.parametrize(("rho", "drhos", "match"), [
    (2 * RHO2, DRHO2, r"rho trace = \(1\.99"),  # gave 2
    (RHO2 + jnp.triu(jnp.ones((4, 4)), 1), DRHO2, r"rho Hermiticity"),  # gave 1.79
    (jnp.eye(4, dtype=int), DRHO2, r"rho trace = \(4"),  # gave 2
    (RHO2 * jnp.nan, DRHO2, r"rho = 'non-finite entries'"),  # gave NaN
    (jnp.diag(jnp.array([1.5, -0.5, 0.0, 0.0])), DRHO2, r"rho smallest eigenvalue"),
    (RHO2, DRHO2 * jnp.nan, r"drhos = 'non-finite entries'"),  # gave NaN
    (RHO2, DRHO2 * jnp.inf, r"drhos = 'non-finite entries'"),
    (RHO2, DRHO2 + 1e-6 * jnp.triu(jnp.ones((4, 4)), 1), r"drhos Hermiticity"),
    (RHO2, jnp.ones((1, 4, 4), bool), r"drhos\.dtype"),
])
def test_qfim_from_derivatives_checks_rho_and_drhos(rho, drhos, match):
    with pytest.raises(ValueError, match=match):
        qsense.qfim_from_derivatives(rho, drhos)


def test_qfim_from_derivatives_accepts_states_and_stays_traceable():
    assert float(qsense.qfim_from_derivatives(RHO2, DRHO2)[0, 0]) == pytest.approx(4.0)
    # Hermiticity is relative to the derivatives' scale: tiny and large ones pass alike
    for s in (1e-12, 1e6):
        f = qsense.qfim_from_derivatives(RHO2, s * DRHO2)
        assert float(f[0, 0]) == pytest.approx(4.0 * s**2, rel=1e-9)
    mixed = jnp.eye(4) / 4  # real, commutes with Jz: no information
    d_mixed = (-1j * (JZ2 @ mixed - mixed @ JZ2))[None]
    assert float(qsense.qfim_from_derivatives(mixed, d_mixed)[0, 0]) == 0.0
    # traced values are not checked: jit and grad go through
    f = jax.jit(qsense.qfim_from_derivatives)(RHO2, DRHO2)
    assert float(f[0, 0]) == pytest.approx(4.0)
    g = jax.grad(lambda s: qsense.qfim_from_derivatives(RHO2, s * DRHO2)[0, 0])(2.0)
    assert float(g) == pytest.approx(16.0)
    # qfi / qfim (which call it on their family) are unchanged
    psi = qsense.ghz_state(2)
    fm = qsense.qfim(lambda v: qsense.sense(psi, v, 1.0, "dephasing", 0.1), jnp.ones(3))
    assert fm.shape == (3, 3) and np.all(np.isfinite(fm))


# ----------------------------------------------------------------------------- wigner

@pytest.mark.parametrize(("state", "match"), [
    (2 * PSI3, r"state norm\^2 = 4\.0"),  # gave 4x the Wigner function
    (2 * qsense.density(PSI3), r"state trace = \(1\.99"),
    (jnp.full(8, jnp.nan), r"state = 'non-finite entries'"),
    (jnp.ones(6) / np.sqrt(6), r"state\.shape = 6"),
    (jnp.ones((2, 2, 2)), r"state\.ndim = 3"),
])
def test_wigner_checks_the_state(state, match):
    from qsense.wigner import symmetric_part, wigner

    for call in (lambda: qsense.wigner_function(state, jnp.array([0.5]), jnp.array([0.3])),
                 lambda: wigner(state, 5, 5), lambda: symmetric_part(state)):
        with pytest.raises(ValueError, match=match):
            call()


def test_wigner_checks_angles_and_accepts_states():
    with pytest.raises(ValueError, match=r"theta = .*finite"):
        qsense.wigner_function(PSI3, np.nan, 0.3)
    with pytest.raises(ValueError, match=r"phi = .*finite"):
        qsense.wigner_function(PSI3, 0.5, np.array([0.1, np.inf]))
    w = qsense.wigner_function(PSI3, jnp.array([0.5]), jnp.array([0.3]))
    np.testing.assert_allclose(qsense.wigner_function(qsense.density(PSI3), 0.5, 0.3), w[0],
                               rtol=1e-12)
    assert float(w[0]) == pytest.approx(0.667, abs=1e-3)


# ----------------------------------------------------------------------------- qfim / qfi

def test_qfim_names_bvec0_when_fn_refuses_it():
    psi = qsense.ghz_state(2)

    def fam(v):
        return qsense.sense(psi, v, 1.0, "dephasing", 0.1)

    # used to read only "field.shape = (2,) is invalid", a name the user never passed
    with pytest.raises(ValueError, match=r"^bvec0 = \[0\.1, 0\.2\] \(shape \(2,\)\) is invalid"
                                         r".*fn\(bvec0\) raised: field\.shape = \(2,\)"):
        qsense.qfim(fam, jnp.array([0.1, 0.2]))
    with pytest.raises(ValueError, match=r"^b0 = 0\.7 is invalid.*fn\(b0\) raised: t = "):
        qsense.qfi(lambda b: qsense.sense(psi, b, -1.0, "dephasing", 0.1), 0.7)
    # the family's own output checks keep their names
    with pytest.raises(ValueError, match=r"^fn\(bvec0\) trace"):
        qsense.qfim(lambda v: 2 * fam(v), jnp.ones(3))
    assert qsense.qfim(fam, jnp.ones(3)).shape == (3, 3)


# ----------------------------------------------------------------------------- third audit

def test_protocol_peak_qfi_refuses_times_not_above_zero():
    # t = -2 was returned as the peak time (QFI 43.1 there)
    for grid in ([-2.0, 0.5, 1.0], [0.0, 1.0], [0.5, np.nan]):
        with pytest.raises(ValueError, match=r"^t_grid = .* sensing times > 0"):
            P.peak_qfi(PSI3, 0.95, jnp.array(grid), GAMMA, protocol="remote")
    q, t = P.peak_qfi(PSI3, 0.95, [0.5, 1.0], GAMMA, protocol="remote")
    assert float(t) in (0.5, 1.0) and np.isfinite(q)


def test_memory_collect_checks_its_counts():
    from qsense import memory as M

    for n in (-1, 0, 1.5, True):  # -1 gave factors 1: a perfect memory
        with pytest.raises(ValueError, match=r"^n_memories = .* an integer >= 1"):
            M.collect(1.0, 3, 10.0, n_memories=n)
    with pytest.raises(ValueError, match=r"^n_memories = -1"):
        M.memory_factor(1.0, 10.0, n_memories=-1)
    with pytest.raises(ValueError, match=r"^n_memories = 0"):
        M.collect_k2_cutoff(1.0, 10.0, 1.0, n_memories=0)
    want = M.collect(1.0, 6, 10.0).factors
    for k in (jnp.int32(6), np.int64(6), jnp.asarray(6)):  # jnp.int32(6) was refused
        np.testing.assert_array_equal(M.collect(1.0, k, 10.0).factors, want)
    for k in (6.0, jnp.float32(6), jnp.array([6]), 0):
        with pytest.raises(ValueError, match=r"^k_pairs = .* an integer >= 1"):
            M.collect(1.0, k, 10.0)


def test_dephasing_ce_closed_form_checks_like_ce_bound_at():
    from qsense.bounds import dephasing_ce_closed_form

    with pytest.raises(ValueError, match=r"^gamma = -0\.1 is invalid; accepted: finite"):
        dephasing_ce_closed_form(3, 1.0, -0.1)  # gave 19.7 > N^2 t^2 = 9
    with pytest.raises(ValueError, match=r"^t = nan is invalid"):
        dephasing_ce_closed_form(3, np.nan, 0.1)
    with pytest.raises(ValueError, match=r"^t = \[-1\.0\] is invalid"):
        dephasing_ce_closed_form(3, np.array([1.0, -1.0]), 0.1)
    for n in (0, 2.5, "abc"):
        with pytest.raises(ValueError, match=r"^n_qubits = .* an integer >= 1"):
            dephasing_ce_closed_form(n, 1.0, 0.1)
    eta2 = np.exp(-2 * 0.1 * 2.0)
    assert dephasing_ce_closed_form(3, 2.0, 0.1) == pytest.approx(
        9 * 4 * eta2 / (3 * (1 - eta2) + eta2), rel=1e-14)
    assert dephasing_ce_closed_form(3, np.array([1.0, 2.0]), 0.1).shape == (2,)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: qsense.Problem(3, "dephasing", "abc"), r"^gamma = 'abc' is invalid; accepted: a "
                                                    "finite rate >= 0"),
    (lambda: qsense.Problem(3, "dephasing", 0.1 + 1j), r"^gamma = \(0\.1\+1j\) is invalid"),
    (lambda: qsense.Problem(3, "dephasing", field="vector", b0=(1j, 0, 0)), r"^b0 = "),
    (lambda: qsense.basis_state(3, 1.5), r"^index = 1\.5 is invalid; accepted: an integer in "
                                         r"\[0, 7\]"),
    (lambda: qsense.basis_state(3, True), r"^index = True"),
    (lambda: qsense.empty_genome(2.5), r"^n_genes = 2\.5 is invalid; accepted: an integer >= 1"),
    (lambda: qsense.random_genome(jax.random.PRNGKey(0), 3, 2.5), r"^n_genes = 2\.5"),
    (lambda: qsense.dual_downlink(qsense.SatelliteLink(), 1000 + 1j),
     r"^separation_km = \(1000\+1j\) is invalid; accepted: ground"),
    (lambda: qsense.dual_downlink(qsense.SatelliteLink(), "abc"), r"^separation_km = 'abc'"),
    (lambda: qsense.dual_downlink(qsense.SatelliteLink(), 1000.0, "x"), r"^offset_km = 'x'"),
    (lambda: qsense.repeater_chain(qsense.FiberLink(), 50 + 1j), r"is invalid; accepted: "
                                                                  "finite distances"),
])
def test_unclear_eager_errors_now_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_index_and_counts_accept_integer_scalars():
    np.testing.assert_array_equal(qsense.basis_state(2, np.int64(3)), qsense.basis_state(2, 3))
    assert qsense.empty_genome(np.int64(2)).n_genes == 2
    # a traced index is the caller's (inside jit), as before
    got = jax.jit(lambda i: qsense.basis_state(2, i))(3)
    np.testing.assert_array_equal(got, qsense.basis_state(2, 3))


def test_link_functions_name_a_batch_of_distances_or_factors():
    from qsense import linkprobe as LP

    angles = jnp.zeros(4 * 3 - 1)
    kw = dict(protocol="distributed", n_qubits=3, memory_time_s=1.0)
    with pytest.raises(ValueError, match=r"^distance_km\.shape = \(2,\) is invalid; accepted: "
                                         r"\(\) \(a scalar distance_km; jax\.vmap over "
                                         r"distances\)"):
        LP.fisher_rate(qsense.SatelliteLink(), jnp.array([500.0, 1000.0]), angles, 1.0, GAMMA,
                       **kw)
    with pytest.raises(ValueError, match=r"^w_out\.shape = \(2, 3\) is invalid; accepted: "
                                         r"\(N,\)"):
        LP.link_problem("distributed", jnp.full((2, 3), 0.9))
    with pytest.raises(ValueError, match=r"^w_back\.shape = \(1, 3\)"):
        LP.link_problem("distributed", jnp.full(3, 0.9), jnp.full((1, 3), 0.9))
    one = LP.fisher_rate(qsense.FiberLink(), 50.0, angles, 1.0, GAMMA, **kw)
    many = jax.vmap(lambda d: LP.fisher_rate(qsense.FiberLink(), d, angles, 1.0, GAMMA, **kw))(
        jnp.array([50.0, 80.0]))
    np.testing.assert_allclose(many[0], one, rtol=1e-12)
    # Werner factors as a list of traced values
    w = jax.jit(lambda a: LP.link_problem("distributed", [a, a, a]).pre_channel)(0.9)
    np.testing.assert_allclose(w, LP.link_problem("distributed", jnp.full(3, 0.9)).pre_channel,
                               atol=1e-15)


def test_host_drivers_say_they_cannot_be_jitted():
    from qsense import genetic as G
    from qsense.optimize import default_t_grid

    match = r"cannot run under jax\.jit, jax\.vmap or jax\.grad; call it eagerly"
    calls = {
        "optimize_angles": lambda gm: qsense.optimize_angles(
            qsense.Problem(2, "dephasing", gm), qsense.empty_genome(1), steps=2).value,
        "search_t_grid": lambda gm: G.search_t_grid(qsense.Problem(2, "dephasing", gm),
                                                    G.GAConfig()),
        "default_t_grid": lambda gm: default_t_grid(qsense.Problem(2, "dephasing", gm)),
        "search": lambda gm: qsense.search(qsense.Problem(2, "dephasing", gm)).best_fitness,
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match=rf"^problem = .*: {name} runs on the host.*{match}"):
            jax.jit(call)(0.1)  # was a TracerBoolConversionError at `problem.gamma <= 0`
    with pytest.raises(ValueError, match=rf"^genomes = .*optimize_angles.*{match}"):
        jax.jit(lambda a: qsense.optimize_angles(
            qsense.Problem(2, "dephasing", 0.1), qsense.Genome([0], [0], [1], a),
            steps=2).value)(jnp.array([0.1]))
