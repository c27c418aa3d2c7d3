"""Every experiment file composes into a valid typed config; bad overrides fail clearly."""

import subprocess
import sys

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError, ValidationError

from experiments.schema import ConfigError
from tests.experiments.helpers import CONF, ROOT, compose_config, load_config

EXPERIMENTS = sorted(p.stem for p in (CONF / "exp").glob("*.yaml"))


def test_there_are_experiments():
    assert "quickstart" in EXPERIMENTS


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes(name):
    text = (CONF / "exp" / f"{name}.yaml").read_text()
    assert text.startswith("# @package _global_")
    cfg = load_config([f"+exp={name}"])
    assert cfg.task == name


@pytest.mark.parametrize(("override", "key"), [
    ("quickstart.gamma=-1", "quickstart.gamma"),
    ("quickstart.n_max=40", "quickstart.n_max"),
    ("quickstart.noises=[dephasing,phase_kick]", "quickstart.noises"),
    ("precision=float16", "precision"),
    ("task=nonexistent", "task"),
])
def test_out_of_range_override_names_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(["+exp=quickstart", override])


def test_typo_and_type_errors_fail_at_compose():
    with pytest.raises((ConfigCompositionException, ConfigKeyError, ValidationError)):
        compose_config(["+exp=quickstart", "quickstart.gama=0.1"])
    with pytest.raises((ConfigCompositionException, ValidationError)):
        compose_config(["+exp=quickstart", "quickstart.n_max=five"])


def test_cli_reports_bad_override_and_exits_nonzero(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.run", "+exp=quickstart", "quickstart.gamma=-0.5",
         f"hydra.run.dir={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "quickstart.gamma" in proc.stderr and "-0.5" in proc.stderr
    assert not (tmp_path / "results.json").exists()
