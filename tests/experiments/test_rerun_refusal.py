"""What a refused rerun says: other code when the code changed (also when the config changed
with it), else the config keys that differ, old -> new."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

import experiments.run as run_mod
from experiments.outputs import jsonable
from experiments.schema import ConfigError
from tests.experiments.helpers import load_config

BASE = ["+exp=quickstart", "quickstart.noises=[dephasing]", "quickstart.n_t=20",
        "progress=false"]


def _results(d, cfg, code):
    d.mkdir(parents=True, exist_ok=True)
    (d / "results.json").write_text(json.dumps({
        "task": cfg.task, "config": jsonable(asdict(cfg)), "code": code}))


def test_a_rerun_with_other_settings_names_the_keys_that_differ(tmp_path):
    _results(tmp_path, load_config([*BASE, "quickstart.n_max=2"]), run_mod.code_digest())
    assert run_mod.finished(load_config([*BASE, "quickstart.n_max=2", "progress=true"]),
                            tmp_path) is not None  # cosmetic keys are no other settings
    with pytest.raises(ConfigError, match="other settings") as err:
        run_mod.finished(load_config([*BASE, "quickstart.n_max=3"]), tmp_path)
    assert "quickstart.n_max: 2 -> 3" in str(err.value)
    assert "other code" not in str(err.value)


def test_a_rerun_after_a_code_change_says_other_code(tmp_path, monkeypatch):
    """A code change that also changed the config (a new key, another default) was refused
    as 'other settings'; the code is said first, the differing keys after it."""
    cfg = load_config([*BASE, "quickstart.n_max=2"])
    _results(tmp_path, cfg, "f" * 16)
    with pytest.raises(ConfigError, match="other code") as err:
        run_mod.finished(cfg, tmp_path)
    assert "config differs" not in str(err.value)
    with pytest.raises(ConfigError, match="other code") as err:
        run_mod.finished(load_config([*BASE, "quickstart.n_max=3"]), tmp_path)
    assert "other settings" not in str(err.value)
    assert "quickstart.n_max: 2 -> 3" in str(err.value)
    # a key the old code's config did not have
    rec = json.loads((tmp_path / "results.json").read_text())
    del rec["config"]["quickstart"]["n_t"]
    (tmp_path / "results.json").write_text(json.dumps(rec))
    with pytest.raises(ConfigError, match="other code") as err:
        run_mod.finished(cfg, tmp_path)
    assert "quickstart.n_t: - -> 20" in str(err.value)


def test_a_checkpoint_of_other_code_says_other_code_first(tmp_path):
    from experiments.checkpoint import Checkpoint, CheckpointMismatch

    path = tmp_path / "checkpoint.json"
    Checkpoint(path, {"a": 1}, code="f" * 16).put("cell", 1)
    with pytest.raises(CheckpointMismatch, match="other code"):
        Checkpoint(path, {"a": 2}, code="e" * 16)
    with pytest.raises(CheckpointMismatch, match="other settings"):
        Checkpoint(path, {"a": 2}, code="f" * 16)
