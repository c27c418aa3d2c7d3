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
    # |B0| beyond 1e4 (1/time): float64 loses the phase B t (1e12 gave a dephasing peak of
    # 13.858 against the closed form 13.5335, 1e20 a FloatingPointError not naming the key)
    ("quickstart.field_b0=1e12", "quickstart.field_b0", "[-10000, 10000]"),
    ("quickstart.field_b0=-1e20", "quickstart.field_b0", "[-10000, 10000]"),
    ("quickstart.field_b0=1e4 quickstart.t_max=1e5", "quickstart.field_b0", "<= 1e+08 rad"),
    ("table1.field_b0=1e12", "table1.field_b0", "[-10000, 10000]"),
    ("table1.field_b0_vector=[0,0,1e12]", "table1.field_b0_vector", "[-10000, 10000]"),
    ("fig2.field_b0=1e12", "fig2.field_b0", "[-10000, 10000]"),
    ("fig2.field_b0=1e4 fig2.t_max_gamma=5000", "fig2.field_b0", "<= 1e+08 rad"),
    ("fig3.field_b0_vector=[1e12,0,0]", "fig3.field_b0_vector", "[-10000, 10000]"),
    ("fig3.field_b0_vector=[1e4,0,0] fig3.t_max_gamma=5000", "fig3.field_b0_vector",
     "<= 1e+08 rad"),
    ("fig4.field_b0=1e12", "fig4.field_b0", "[-10000, 10000]"),
    ("fig4.field_b0=1e4 fig4.t_max=1e5", "fig4.field_b0", "<= 1e+08 rad"),
    # N = 1 at B = 0: every one-qubit probe has a singular QFIM (QCRB inf, fraction NaN)
    ("table1.n_min=1", "table1.n_min", "integer >= 2 with table1.sensing containing multi"),
    ("fig3.n_min=1", "fig3.n_min", "integer >= 2 at fig3.field_b0_vector"),
    # extreme routing values crashed deep inside (GLOP status 4, datetime overflow) or ran
    # for > 11 min (storage_capacity=1e9)
    ("routing.network.storage_capacity=1e300", "routing.network.storage_capacity",
     "[0, 1e+07]"),
    ("routing.network.storage_capacity=1e9", "routing.network.storage_capacity", "[0, 1e+07]"),
    ("routing.network.weight=1e300", "routing.network.weight", "[0.0001, 1e+06]"),
    # below 1e-4 the objective sank into the solvers' tolerances ("optimal" 15-90 % low)
    ("routing.network.weight=1e-8", "routing.network.weight", "0 or a weight in [0.0001"),
    ("routing.network.start_time_s=1e300", "routing.network.start_time_s", "1900-2049"),
    ("routing.network.start_time_s=-4e9", "routing.network.start_time_s", "1900-2049"),
    ("routing.network.epoch=1800-01-01T00:00:00", "routing.network.epoch", "1900-2049"),
    ("routing.network.slot_duration=1e300", "routing.network.slot_duration", "(0, 86400]"),
    ("routing.network.n_slots=100000000", "routing.network.n_slots", "[1, 10000]"),
    ("routing.network.n_satellites=100000", "routing.network.n_satellites", "[0, 1000]"),
    ("routing.network.n_haps=100000", "routing.network.n_haps", "[0, 1000]"),
    ("fig5.storage_capacities=[0,1e300]", "fig5.storage_capacities", "[0, 1e+07]"),
    ("search.population=100000000", "search.population", "[2, 1048576]"),
    ("search.t_grid=[1e-300,1e300]", "search.t_grid", "[1e-06, 1e+06]"),
    ("search.refine.t_bounds=[1e-300,1e300]", "search.refine.t_bounds", "[1e-06, 1e+06]"),
    # a negative walker_planes was reported as walker_phasing with the empty range [0, -2]
    ("routing.network.walker_planes=-1", "routing.network.walker_planes", "integer >= 0"),
    ("search.t_grid=[1,1]", "search.t_grid", "repeated: 1.0"),
    # 0 real paths left PS-EGR below SOS (16.5 vs 35.3)
    ("routing.network.max_real_paths=0", "routing.network.max_real_paths", "[1, 1000]"),
    # a bool-typed key turned 2 into true
    ("table1.reference_worker=2", "table1.reference_worker", "true or false"),
    ("progress=2", "progress", "true or false"),
    ("routing_quick.benders=yes", "routing_quick.benders", "true or false"),
    ("routing.solver.path_bound=2", "routing.solver.path_bound", "true or false"),
    ("routing.network.align_to_pass=2", "routing.network.align_to_pass", "true or false"),
    ("search.structured=2", "search.structured", "true or false"),
    ("table1.reference.bound=0", "table1.reference.bound", "true or false"),
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


@pytest.mark.parametrize("overrides", [
    ["+exp=quickstart", "quickstart.field_b0=1e4"],  # the largest field
    ["+exp=quickstart", "quickstart.field_b0=-1e4", "quickstart.t_max=1e4"],  # phase 1e8 rad
    ["+exp=table1", "table1.n_min=1", "table1.sensing=[single]"],
    ["+exp=table1", "table1.n_min=1", "table1.field_b0_vector=[0,0,1]"],  # rank 3 at B != 0
    ["+exp=fig2", "fig2.n_min=1"],  # scalar field: N = 1 is fine
    ["+exp=fig5", "routing.network.storage_capacity=1e7", "fig5.storage_capacities=[0,1e7]"],
    ["+exp=routing_quick", "routing.network.max_storage_paths=0",
     "routing.network.max_virtual_paths=0"],  # no storage routing: meaningful
    ["+exp=routing_quick", "+network=large"],
    ["+exp=table1", "search.t_grid=[1e-6,1,1e6]", "table1.reference_worker=false",
     "progress=false", "search.population=1048576"],
])
def test_values_at_the_caps_are_accepted(overrides):
    load_config(overrides)


def test_table1_field_phase_over_the_search_times_names_the_key():
    with pytest.raises(ConfigError) as err:
        load_config(["+exp=table1", "table1.field_b0=1e4", "search.refine.t_bounds=[1e-3,1e5]"])
    assert "config key 'table1.field_b0'" in str(err.value)
    assert "max(search.refine.t_bounds, search.t_grid)" in str(err.value)
    with pytest.raises(ConfigError, match=r"'table1\.field_b0_vector'"):
        load_config(["+exp=table1", "table1.field_b0_vector=[0,1e4,0]",
                     "search.t_grid=[1,1e5]"])


def _boundary_cases():
    """(section factory, bad kwargs, key, accepted, good kwargs): the bad value sits just past
    the boundary, the good one on it (mutation sweep: each loosened bound survived before)."""
    import experiments.schema as s

    net = {"path_set": "capped"}
    return [
        (s.QuickstartConfig, {"n_t": 2}, "quickstart.n_t", "integer in [3, 100000]", {"n_t": 3}),
        (s.QuickstartConfig, {"field_b0": 10_001.0}, "quickstart.field_b0", "[-10000, 10000]",
         {"field_b0": -10_000.0}),
        (s.RoutingSolverConfig, {"gap": 1.0}, "routing.solver.gap", "[0, 1)", {"gap": 0.0}),
        (s.RoutingSolverConfig, {"threads": 1025}, "routing.solver.threads", "[0, 1024]",
         {"threads": 1024}),
        (s.RoutingSolverConfig, {"benders_max_iterations": 0},
         "routing.solver.benders_max_iterations", "integer >= 1", {"benders_max_iterations": 1}),
        (s.RoutingSolverConfig, {"rrs_draws": 0}, "routing.solver.rrs_draws", "integer >= 1",
         {"rrs_draws": 1}),
        (s.RoutingSolverConfig, {"time_limit": 0.0}, "routing.solver.time_limit",
         "seconds > 0 (inf: no limit)", {"time_limit": float("inf")}),
        (s.RoutingSolverConfig, {"path_bound_time_limit": float("nan")},
         "routing.solver.path_bound_time_limit", "seconds > 0 (inf: no limit)",
         {"path_bound_time_limit": float("inf")}),
        (s.Fig5Config, {"storage_capacities": [10_000_001.0]}, "fig5.storage_capacities",
         "[0, 1e+07]", {"storage_capacities": [1e7]}),
        (s.Fig6Config, {"n_pairs": [0]}, "fig6.n_pairs", "integers >= 1", {"n_pairs": [1]}),
        (s.Fig4Config, {"n_qubits": 1}, "fig4.n_qubits", "integer in [2, ", {"n_qubits": 2}),
        (s.Fig4Config, {"step_s": 0.5}, "fig4.step_s", "[1, 600]", {"step_s": 1.0}),
        (s.Fig4Config, {"memory_time_s": 0.0}, "fig4.memory_time_s",
         "> 0 s (inf: no memory decay)", {"memory_time_s": float("inf")}),
        (s.Fig4Config, {"clear_sky_probability": 1.0001}, "fig4.clear_sky_probability",
         "[0, 1]", {"clear_sky_probability": 1.0}),
        (s.Fig4Config, {"design_altitude_min_km": 99.0}, "fig4.design_altitude_min_km",
         "[100, design_altitude_max_km", {"design_altitude_min_km": 100.0}),
        (s.Fig4Config, {"vqs_random_starts": 65}, "fig4.vqs_random_starts", "[0, 64]",
         {"vqs_random_starts": 64}),
        (s.Table1ReferenceConfig, {"min_fraction": 0.0}, "table1.reference.min_fraction",
         "(0, 1]", {"min_fraction": 1.0}),
        (s.RefineSearchConfig, {"t_bounds": [5e-7, 1.0]}, "search.refine.t_bounds",
         "[1e-06, 1e+06]", {"t_bounds": [1e-6, 1.0]}),
        (s.Table1Config, {"gammas": [0.0]}, "table1.gammas", "(0, 1e+06]",
         {"gammas": [1e6]}),
        (s.Fig2Config, {"gamma": 1.0, "t_min_gamma": 5e-10}, "fig2.t_min_gamma",
         "t_min_gamma / gamma >= 1e-09", {"gamma": 1.0, "t_min_gamma": 1e-9}),
        (s.Fig2Config, {"wigner_n_phi": 2001}, "fig2.wigner_n_phi", "[5, 2000]",
         {"wigner_n_phi": 2000}),
        (s.Config, {"seed": -1}, "seed", "integer >= 0", {"seed": 0}),
        (s.RoutingNetworkConfig, {**net, "memory_time": 0.0}, "routing.network.memory_time",
         "seconds > 0", {**net, "memory_time": 1e-9}),
    ]


@pytest.mark.parametrize("case", range(len(_boundary_cases())))
def test_bounds_reject_just_past_and_accept_on_the_boundary(case):
    import re

    factory, bad, key, accepted, good = _boundary_cases()[case]
    with pytest.raises(ConfigError, match=rf"config key '{re.escape(key)}' = .*accepted: "
                                          rf".*{re.escape(accepted)}"):
        factory(**bad)
    factory(**good)


@pytest.mark.parametrize("section,kw,key", [
    ("RoutingSolverConfig", {"rrs_draws": 1.5}, "routing.solver.rrs_draws"),
    ("RoutingSolverConfig", {"benders_max_iterations": 2.5},
     "routing.solver.benders_max_iterations"),
    ("QuickstartConfig", {"n_t": 3.5}, "quickstart.n_t"),
    ("Fig4Config", {"vqs_steps": 2.5}, "fig4.vqs_steps"),
    ("Fig5Config", {"seeds": [1.5]}, "fig5.seeds"),
])
def test_fractional_counts_from_python_name_the_key(section, kw, key):
    import re

    import experiments.schema as s

    with pytest.raises(ConfigError, match=rf"config key '{re.escape(key)}' = .*accepted: "
                                          r".*integer"):
        getattr(s, section)(**kw)
