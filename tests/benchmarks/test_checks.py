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
