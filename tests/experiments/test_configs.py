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


@pytest.mark.parametrize(("override", "key", "accepted"), [
    # inf / nan where they mean nothing: stopped here, not mid-run
    ("quickstart.t_max=inf", "quickstart.t_max", "finite"),
    ("quickstart.gamma=inf", "quickstart.gamma", "finite"),
    ("quickstart.field_b0=nan", "quickstart.field_b0", "finite"),
    ("quickstart.field_b0=inf", "quickstart.field_b0", "finite"),
    ("table1.gammas=[inf]", "table1.gammas", "finite"),
    ("table1.field_b0=nan", "table1.field_b0", "finite"),
    ("table1.field_b0_vector=[nan,0,0]", "table1.field_b0_vector", "finite"),
    ("fig2.gamma=inf", "fig2.gamma", "finite"),
    ("fig2.gamma=1e308", "fig2.gamma", "finite rate in"),
    ("fig3.field_b0_vector=[inf,0,0]", "fig3.field_b0_vector", "finite"),
    ("fig4.field_b0=nan", "fig4.field_b0", "finite"),
    ("fig4.t_max=inf", "fig4.t_max", "finite"),
    ("fig5.storage_capacities=[0,inf]", "fig5.storage_capacities", "finite"),
    # each key on its own range first, then the relations
    ("fig2.t_min_gamma=0", "fig2.t_min_gamma", "> 0"),
    ("fig2.n_min=12 fig2.n_max=12", "fig2.n_min", "[1, 10]"),
    ("fig2.n_min=4 fig2.n_max=3", "fig2.n_max", "n_min=4"),
    # repeated list entries would compute and write the same rows twice
    ("quickstart.noises=[dephasing,dephasing]", "quickstart.noises", "repeated: dephasing"),
    ("table1.gammas=[0.1,0.1]", "table1.gammas", "repeated"),
    ("table1.sensing=[single,single]", "table1.sensing", "repeated"),
    ("fig5.seeds=[0,0]", "fig5.seeds", "repeated"),
    ("fig6.n_pairs=[1,1]", "fig6.n_pairs", "repeated"),
    ("fig4.probes=[GHZ,GHZ]", "fig4.probes", "repeated"),
    ("routing.network.topology=/nonexistent/net.graphml", "routing.network.topology",
     "an existing GraphML"),
])
def test_meaningless_values_stop_before_work_naming_the_key(override, key, accepted):
    with pytest.raises(ConfigError) as err:
        load_config(["+exp=quickstart", *override.split()])
    assert f"config key {key!r}" in str(err.value) and accepted in str(err.value)


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


@pytest.mark.parametrize(("overrides", "key", "accepted"), [
    # the key that is wrong is named: -5 blamed fig4.distance_min_km = 25.0
    ("fig4.distance_max_km=-5", "fig4.distance_max_km", "(0, pi R = 20015.1] km"),
    ("fig4.distance_max_km=10", "fig4.distance_max_km", "> fig4.distance_min_km = 25.0"),
    ("fig4.distance_min_km=-100", "fig4.distance_min_km", "[0, pi R = 20015.1)"),
    ("fig4.distance_min_km=nan", "fig4.distance_min_km", "[0, pi R"),
    # station B is placed along a bearing at each distance: beyond pi R it wraps round the globe
    ("fig4.distance_max_km=25000", "fig4.distance_max_km", "half the Earth's circumference"),
    ("fig4.distance_min_km=21000 fig4.distance_max_km=22000", "fig4.distance_min_km", "pi R"),
    ("fig4.design_distance_km=30000", "fig4.design_distance_km", "[0, pi R = 20015.1] km"),
])
def test_fig4_ground_distances_name_the_wrong_key(overrides, key, accepted):
    with pytest.raises(ConfigError) as err:
        load_config(["+exp=fig4", *overrides.split()])
    assert f"config key {key!r}" in str(err.value) and accepted in str(err.value), err.value


def test_fig4_accepts_ground_distances_up_to_half_the_circumference():
    cfg = load_config(["+exp=fig4", "fig4.distance_max_km=20015", "fig4.design_distance_km=0"])
    assert cfg.fig4.distance_max_km == 20015.0


@pytest.mark.parametrize("altitude", [7000, 40000])
def test_fig4_sso_above_the_highest_sun_synchronous_orbit_is_a_config_error(altitude):
    """fig4.orbit=sso (the default) at 7000 km gave a raw ValueError from
    sun_synchronous_inclination_deg once the run had started (exit 1)."""
    with pytest.raises(ConfigError) as err:
        load_config(["+exp=fig4", f"fig4.satellite.altitude_km={altitude}"])
    msg = str(err.value)
    assert "config key 'fig4.satellite.altitude_km'" in msg and "fig4.orbit=sso" in msg
    assert "[100, 5974.3] km" in msg and "fig4.orbit=circular" in msg
    # the same altitude on a circular orbit, and the highest sun-synchronous one, are fine
    load_config(["+exp=fig4", f"fig4.satellite.altitude_km={altitude}", "fig4.orbit=circular"])
    load_config(["+exp=fig4", "fig4.satellite.altitude_km=5974.3"])


def test_cli_fig4_sso_altitude_error_exits_2_before_work(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.run", "+exp=fig4", "fig4.satellite.altitude_km=7000",
         f"hydra.run.dir={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "fig4.satellite.altitude_km" in proc.stderr and "fig4.orbit=circular" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "results.json").exists()


@pytest.mark.parametrize("key", ["sensitivity_elementary_fidelity", "sensitivity_memory_time_s"])
def test_fig4_has_no_unused_sensitivity_keys(key):
    """These keys were validated but read nowhere (the sensitivity table they fed is gone), so
    setting them changed nothing; now an override of one is an unknown key."""
    assert not hasattr(load_config(["+exp=fig4"]).fig4, key)
    with pytest.raises((ConfigCompositionException, ConfigKeyError, ValidationError)):
        compose_config(["+exp=fig4", f"fig4.{key}=[0.5]"])
