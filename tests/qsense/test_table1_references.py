"""table1 / fig2 report the reference optima and the CE bound beside every VQS cell: columns,
consistency (bound <= reference <= ... on the QCRB scale), fraction and warnings, resume."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from experiments import vqs_common
from experiments.outputs import read_csv
from experiments.run import execute, to_config
from experiments.schema import ConfigError

CONF = str(Path(__file__).resolve().parents[2] / "conf")
TINY = ["reference.restarts=6", "reference.steps=150", "reference.bound_grid=9"]


def _config(overrides):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return to_config(compose(config_name="config", overrides=overrides))


def test_table1_reports_references_bound_fraction_and_resumes(tmp_path, monkeypatch):
    ov = ["+exp=table1", "table1.n_max=2", "table1.gammas=[0.1]", "table1.noises=[dephasing]",
          "progress=false", "search=quick", *[f"table1.{o}" for o in TINY]]
    out = execute(_config(ov), tmp_path)
    rows = read_csv(tmp_path / "table1.csv")
    for r in rows:
        q, prod, ref, bound = (float(r[k]) for k in ("qcrb", "product_qcrb",
                                                     "reference_qcrb", "bound_qcrb"))
        assert ref <= prod * (1 + 1e-9)  # the pure reference is at least the product one
        assert float(r["fraction"]) == pytest.approx(ref / q, rel=1e-12)
        if r["probe"] == "VQS":
            assert ref <= q * (1 + 1e-6)  # seeded with the VQS probe: never beaten by it
        if r["sensing"] == "single":
            assert bound <= ref * (1 + 1e-9)  # the CE bound is a lower bound on every QCRB
            # closed forms at N = 2, dephasing, gamma = 0.1: product 2 e^-2 / gamma^2; bound
            # max_t of N^2 t^2 eta^2 / (N (1 - eta^2) + eta^2)
            assert prod == pytest.approx(0.01 * math.e**2 / 2, rel=1e-6)
            assert bound < 1 / 27.2 and bound > 1 / 40
        else:
            assert math.isnan(bound) and "single-parameter" in r["reference_note"]
    m = out["metrics"]
    fr = [float(r["fraction"]) for r in rows if r["probe"] == "VQS"]
    assert m["min_fraction"] == pytest.approx(min(fr))
    assert isinstance(m["warnings"], list)
    assert len(m["warnings"]) == sum(f < 0.98 for f in fr)
    assert m["bound_below_reference_all"] is True
    assert "reference" in (tmp_path / "table1.md").read_text()
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["metrics"]["warnings"] == m["warnings"]

    def boom(*a, **k):
        raise AssertionError("reference recomputed")

    monkeypatch.setattr(vqs_common, "cell_references", boom)
    monkeypatch.setattr(vqs_common, "cell_bound", boom)
    monkeypatch.setattr(vqs_common, "solve", boom)
    again = execute(_config(ov), tmp_path)
    assert read_csv(tmp_path / "table1.csv") == rows
    assert again["metrics"]["min_fraction"] == m["min_fraction"]


def test_fraction_warnings():
    import logging

    warns = vqs_common.fraction_warnings([("a", 0.5), ("b", 0.99), ("c", float("nan"))], 0.98,
                                         logging.getLogger("test"))
    assert len(warns) == 1 and "a" in warns[0] and "50.0 %" in warns[0]
    assert vqs_common.fraction(0.2, 0.1) == pytest.approx(0.5)
    assert math.isnan(vqs_common.fraction(0.2, None))
    # the reference is independent of the search: a VQS value above it (beyond numerical noise)
    # is reported, a tie is not
    warns = vqs_common.fraction_warnings([("tie", 1 + 1e-7), ("above", 1.01)], 0.98)
    assert len(warns) == 1 and "above" in warns[0] and "beats the reference" in warns[0]


@pytest.mark.parametrize("override,key", [
    ("table1.reference.restarts=2", "restarts"),
    ("table1.reference.polish=20", "polish"),
    ("table1.reference.n_max_pure=0", "n_max_pure"),
    ("table1.reference.min_fraction=1.5", "min_fraction"),
    ("fig2.reference.bound_grid=1", "bound_grid"),
])
def test_bad_reference_config_is_refused(override, key):
    with pytest.raises(ConfigError, match=key):
        _config(["+exp=table1", override])
