"""The output contract's writers (experiments.outputs): results.json is strict JSON, and the
devices a run lists."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from experiments.outputs import devices_used, record_devices, reset_devices, write_results


def test_results_json_is_strict_json_with_non_finite_values_as_strings(tmp_path):
    """NaN and infinities (a singular QFIM's bound, a route with no solution) are written as
    strings: Python's json would write bare NaN / Infinity, which other JSON readers refuse.
    numpy scalars and arrays become numbers and lists, keys become strings."""
    payload = {"bound": float("nan"), "b": [float("inf"), -float("inf"), 1.5],
               "qfi": np.array([1.0, np.nan]), "best": np.float64(2.0), 3: "an int key"}
    text = write_results(tmp_path, payload).read_text()

    def refuse(constant):
        pytest.fail(f"results.json holds the non-JSON constant {constant}")

    assert json.loads(text, parse_constant=refuse) == {
        "bound": "nan", "b": ["inf", "-inf", 1.5], "qfi": [1.0, "nan"], "best": 2.0,
        "3": "an int key"}


def test_devices_used_are_the_default_device_then_the_recorded_ones_once_each():
    """``results.json`` ``devices``: JAX's default device first, then the devices a task
    recorded and its result named, in first-use order, each once; a new run starts afresh."""
    default = str(jax.devices()[0])
    reset_devices()
    try:
        record_devices(["dev:1", "dev:2", "dev:1", default])
        assert devices_used(["dev:2", "dev:3"]) == [default, "dev:1", "dev:2", "dev:3"]
        reset_devices()
        assert devices_used() == [default]
    finally:
        reset_devices()
