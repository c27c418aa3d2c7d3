"""The benchmarks' agreement checks stop a run whose timed variants disagree: each check fed
a disagreeing value (the kind a broken variant would record) raises SystemExit, and passes on
agreeing ones. The smoke runs (test_smoke.py) assert that the real runs' recorded values pass.
No JAX computation here: the checks are pure functions of the recorded quantities."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import _common


def test_check_close_stops_on_a_difference_past_the_tolerance_or_nan():
    assert _common.check_close(1e-10, 1e-9, "ok") == 1e-10
    with pytest.raises(SystemExit, match="disagree"):
        _common.check_close(2e-9, 1e-9, "x vs y")
    with pytest.raises(SystemExit, match="x vs y"):
        _common.check_close(float("nan"), 1e-9, "x vs y")


def test_max_rel_diff_counts_shared_non_finite_values_equal_and_one_sided_ones_not():
    assert _common.max_rel_diff([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert _common.max_rel_diff([1.1, 2.0], [1.0, 2.0]) == pytest.approx(0.1)
    # a NaN score (-inf in the GA) on both sides is the same answer
    assert _common.max_rel_diff([-np.inf, 2.0], [np.nan, 2.0]) == 0.0
    assert math.isnan(_common.max_rel_diff([-np.inf, 2.0], [1.0, 2.0]))
    assert math.isnan(_common.max_rel_diff([1.0], [1.0, 2.0]))
    # a floor keeps a ~0 reference from turning rounding into a huge relative error
    assert _common.max_rel_diff([1e-7], [0.0], floor=1e-3) == pytest.approx(1e-4)


# ---------------------------------------------------------------- mixed_precision.py
def _mixed_row(b64=100.0, b32=100.001, rescored32=None, dtype="float64"):
    from benchmarks.mixed_precision import agreement

    r64 = {"best_fitness": b64, "best_fitness_rescored": b64, "fitness_dtype": "float64"}
    r32 = {"best_fitness": b32, "fitness_dtype": dtype,
           "best_fitness_rescored": b32 if rescored32 is None else rescored32}
    return {"n_qubits": 5, "noise": "dephasing", "float64": r64, "mixed": r32,
            **agreement(r64, r32)}


def test_mixed_precision_stops_when_the_modes_disagree():
    from benchmarks.mixed_precision import check_row

    row = _mixed_row()
    assert row["best_fitness_rel_diff"] == pytest.approx(1e-5)
    check_row(row)
    with pytest.raises(SystemExit, match="mixed vs float64"):
        check_row(_mixed_row(b32=102.0))  # 2 % apart: not the same search
    with pytest.raises(SystemExit, match="float64 objective"):
        # the reported best is not its genome's float64 objective (a float32 value kept)
        check_row(_mixed_row(b32=100.001, rescored32=100.001 * (1 + 1e-6)))
    with pytest.raises(SystemExit, match="not float64"):
        check_row(_mixed_row(dtype="float32"))


# ---------------------------------------------------------------- scale.py
def test_scale_stops_when_float32_cells_disagree_with_float64():
    from benchmarks.scale import check_float32_cell, float32_difference

    v64 = np.array([10.0, 20.0, 0.0])
    assert float32_difference(v64 * (1 + 1e-6), v64) == pytest.approx(1e-6)
    # a ~0 QFI is held to the cell's scale: 1e-7 absolute on 20 is 5e-6 of its floor
    assert float32_difference(v64 + [0, 0, 1e-7], v64) == pytest.approx(1e-7 / 0.02)
    row = {"n_qubits": 5, "population": 256, "max_rel_diff_vs_float64": 2e-4}
    check_float32_cell(row)
    with pytest.raises(SystemExit, match="float32 vs float64"):
        check_float32_cell(dict(row, max_rel_diff_vs_float64=float32_difference(v64 * 1.01,
                                                                               v64)))


# ---------------------------------------------------------------- vqs.py
def test_vqs_stops_when_the_generation_is_not_make_fitness():
    from benchmarks.vqs import check_ga_row

    row = {"n_t": 2, "local_steps": 1, "max_rel_diff_vs_make_fitness": 4e-16}
    check_ga_row(row)
    with pytest.raises(SystemExit, match="make_fitness"):
        check_ga_row(dict(row, max_rel_diff_vs_make_fitness=1e-6))
    with pytest.raises(SystemExit, match="make_fitness"):
        check_ga_row(dict(row, max_rel_diff_vs_make_fitness=float("nan")))


def test_vqs_stops_when_table1_loses_to_ghz_or_product():
    from benchmarks.vqs import check_table1, table1_checks

    good = table1_checks({"vqs_le_ghz_all": True, "vqs_ge_product_all": True,
                          "vqs_below_product": [], "n_cells": 8})
    check_table1(good, "quick")
    with pytest.raises(SystemExit, match="GHZ"):
        check_table1(dict(good, vqs_le_ghz_all=False), "quick")
    with pytest.raises(SystemExit, match="product.*N=2"):
        check_table1(dict(good, vqs_ge_product_all=False,
                          vqs_below_product=["single N=2 gamma=0.1 bitflip"]), "quick")
    with pytest.raises(SystemExit):  # metrics without the claim: not checked, not passed
        check_table1(table1_checks({}), "quick")


# ---------------------------------------------------------------- links.py
def test_links_stops_when_channel_and_circuit_or_vector_and_scalar_disagree():
    from benchmarks.links import check_links, scalar_difference

    ok = {"dual_downlink_vs_scalar_max_rel_diff": 2e-16,
          "repeater_chain_vs_scalar_max_rel_diff": 3e-15,
          "teleport_channel_vs_circuit_max_abs_diff": 3e-16}
    check_links(ok)
    with pytest.raises(SystemExit, match="teleport"):
        check_links(dict(ok, teleport_channel_vs_circuit_max_abs_diff=1e-6))
    with pytest.raises(SystemExit, match="repeater_chain"):
        check_links(dict(ok, repeater_chain_vs_scalar_max_rel_diff=1e-9))
    d = np.array([1.0, 2.0, 3.0])
    assert scalar_difference(d * 2, lambda x: 2 * x, d, [0, 2]) == 0.0
    assert scalar_difference(d * 2 + [0, 0, 0.6], lambda x: 2 * x, d, [0, 2]) == \
        pytest.approx(0.1)


# ---------------------------------------------------------------- routing.py
def _crossover_row(**over):
    row = {"base_stations": 6, "pairs": 1, "slots": 3}
    for r in ("milp1", "milp", "benders", "plain"):
        row.update({f"{r}_objective": 70.5, f"{r}_bound": 70.5, f"{r}_status": "optimal",
                    f"{r}_gap": 0.0})
    row.update(over)
    return row


def _checked_crossover(**over):
    from benchmarks.routing import crossover_checks

    row = _crossover_row(**over)
    row["checks"] = crossover_checks(row)
    return row


def test_routing_stops_when_the_methods_contradict_each_other():
    from benchmarks.routing import check_crossover_row

    row = _checked_crossover()
    assert row["checks"]["optimal_runs"] == ["milp1", "milp", "benders", "plain"]
    check_crossover_row(row)
    # the 1e-2 run may stop below the others' optimum, within its gap
    check_crossover_row(_checked_crossover(milp1_objective=70.5 * (1 - 5e-3),
                                           milp1_gap=5e-3))
    with pytest.raises(SystemExit, match="another run's proven bound"):
        # Benders' incumbent beats the MILP's proven bound
        check_crossover_row(_checked_crossover(benders_objective=71.0, benders_bound=71.0))
    with pytest.raises(SystemExit, match="its bound"):
        check_crossover_row(_checked_crossover(plain_objective=70.5, plain_bound=70.0,
                                               milp_bound=80.0, milp1_bound=80.0,
                                               benders_bound=80.0))
    with pytest.raises(SystemExit, match="gap past its target"):
        check_crossover_row(_checked_crossover(benders_objective=70.0, benders_gap=7e-3))
    with pytest.raises(SystemExit, match="different objectives"):
        # both 'optimal' at 1e-3, bounds valid, but 0.7 % apart
        check_crossover_row(_checked_crossover(plain_objective=70.0, milp1_status="feasible"))


def test_routing_paths_stops_when_an_optimum_passes_an_all_path_bound():
    from benchmarks.routing import check_paths_row, paths_checks

    row = {"seed": 0, "capped_objective": 390.98, "capped_path_bound": 396.567,
           "all_paths_objective": 396.564, "all_paths_status": "optimal", "exact": True,
           "lp_bound": 396.567}
    row["checks"] = paths_checks(row)
    check_paths_row(row)
    bad = dict(row, capped_objective=396.566)  # above the exact all-path optimum, under bounds
    bad["checks"] = paths_checks(bad)
    with pytest.raises(SystemExit, match="capped optimum above"):
        check_paths_row(bad)
    bad = dict(row, all_paths_objective=397.0)  # above the all-path LP bound
    bad["checks"] = paths_checks(bad)
    with pytest.raises(SystemExit, match="all-path bound"):
        check_paths_row(bad)
    # an all-path set not proven exact: the capped optimum may beat it, the bounds still hold
    loose = dict(row, exact=False, all_paths_objective=380.0)
    loose["checks"] = paths_checks(loose)
    check_paths_row(loose)


# ---------------------------------------------------------------- blas_threads.py
def test_blas_threads_stops_when_thread_counts_compute_different_answers():
    from benchmarks.blas_threads import AGREEMENT, check_variants, variant_differences

    rng = np.random.default_rng(0)
    one = {k: rng.normal(size=(4, 8)).tolist() for k in AGREEMENT}
    same = variant_differences(one, one)
    assert all(v == 0.0 for v in same.values())
    check_variants(same)
    many = dict(one, eigh_d64=(np.asarray(one["eigh_d64"]) * (1 + 1e-6)).tolist())
    with pytest.raises(SystemExit, match="eigh_d64"):
        check_variants(variant_differences(one, many))
    many = dict(one, score_grad_n5_vector=np.asarray(one["score_grad_n5_vector"])[:2].tolist())
    with pytest.raises(SystemExit, match="score_grad"):  # a missing row is no agreement
        check_variants(variant_differences(one, many))


# ---------------------------------------------------------------- eigh_in_program.py
def test_eigh_in_program_stops_when_the_variants_or_numpy_disagree():
    from benchmarks.eigh_in_program import check_row

    row = {"n_qubits": 3, "pool": 3, "bit_identical_eigenvalues": True,
           "max_abs_diff_vs_numpy": 3e-16}
    check_row(row)
    with pytest.raises(SystemExit, match="eigenvalues differ"):
        check_row(dict(row, bit_identical_eigenvalues=False))
    with pytest.raises(SystemExit, match="numpy"):
        check_row(dict(row, max_abs_diff_vs_numpy=1e-9))
