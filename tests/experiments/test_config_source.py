"""One source for every setting: the config schema is the library's own dataclasses.

* every field of `GAConfig` / `RefineConfig` (``search`` / ``search.refine``), of
  `SatelliteLink` / `FiberLink` (``fig4.satellite`` / ``fig4.fiber``) and of the routing
  generator (``routing.network``) is a config key with the library's default;
* every GA / refinement field set on the command line reaches the objects the search is
  called with, and ``search.gate_probs`` changes what the GA does;
* a bad value stops with a ConfigError naming the full key, the value and the range (CLI,
  composed config and Python API alike), and a link profile in the other kind's slot is
  refused;
* no YAML file under conf/ repeats a default;
* the search is part of the VQS checkpoints' identity.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import yaml
from omegaconf import OmegaConf

import qsense.links as L
from experiments import run as run_module
from experiments import vqs_common
from experiments.schema import (
    Config,
    ConfigError,
    FiberLinkConfig,
    RefineSearchConfig,
    SatelliteLinkConfig,
    SearchConfig,
)
from qsense.genetic import GAConfig, RefineConfig
from qsense.genome import CRX, IDENTITY
from qsense.reference import ReferenceConfig
from routing.instance import PathOptions
from routing.topology import GeneratorConfig
from tests.experiments.helpers import CONF, ROOT, load_config


def _default(f: dataclasses.Field):
    """A library field's default as YAML writes it (tuples as lists)."""
    v = f.default if f.default is not dataclasses.MISSING else f.default_factory()

    def lists(x):
        if isinstance(x, (tuple, list)):
            return [lists(y) for y in x]
        return x

    return lists(v)


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _section(cfg, path: str):
    node = cfg
    for part in path.split("."):
        node = getattr(node, part)
    return node


# (config path, library class, the section's own extra keys, library fields set by the task)
REF_EXTRA = {"n_max_pure", "bound", "bound_grid", "min_fraction"}
SECTIONS = [
    ("search", GAConfig, {"refine"}, set()),
    ("search.refine", RefineConfig, set(), set()),
    ("fig4.satellite", L.SatelliteLink, set(), set()),
    ("fig4.fiber", L.FiberLink, set(), set()),
    ("routing.network", GeneratorConfig, {"path_set", "memory_time", "memory_times"}, set()),
    ("table1.reference", ReferenceConfig, REF_EXTRA, {"seed"}),  # seed: derived per cell
    ("fig2.reference", ReferenceConfig, REF_EXTRA, {"seed"}),
    ("fig3.reference", ReferenceConfig, REF_EXTRA, {"seed"}),
]


@pytest.mark.parametrize("path,library,extra,by_task", SECTIONS, ids=[s[0] for s in SECTIONS])
def test_section_has_every_library_field_with_its_default(path, library, extra, by_task):
    node = _section(Config(), path)  # the Python API, no YAML
    keys = {f.name for f in dataclasses.fields(node)}
    assert keys - extra == set(_fields(library)) - by_task, "mirrors no more, no less"
    for name, f in _fields(library).items():
        if name not in by_task:
            assert getattr(node, name) == _default(f), name
    # and the object the experiment builds is the library's default object
    assert node.build() == library()


def test_composed_search_is_library_defaults_plus_the_search_yaml():
    deltas = yaml.safe_load((CONF / "search" / "default.yaml").read_text()) or {}
    for exp in ("table1", "fig2", "fig3"):
        s = load_config([f"+exp={exp}"]).search
        for name, f in _fields(GAConfig).items():
            assert getattr(s, name) == deltas.get(name, _default(f)), (exp, name)
        for name, f in _fields(RefineConfig).items():
            assert getattr(s.refine, name) == deltas.get("refine", {}).get(name, _default(f))


def test_link_and_routing_defaults_have_one_source():
    # the path caps of the generator are PathOptions' own defaults
    for name in ("max_real_paths", "max_storage_paths", "max_virtual_paths", "protocol",
                 "max_rounds"):
        assert _fields(GeneratorConfig)[name].default == _fields(PathOptions)[name].default
    assert Config().routing.network.path_set == _fields(PathOptions)["path_set"].default


# a valid, non-default value for every field (fields added to the library later get one
# from _auto; add an entry here if the library refuses it)
VALUES = {
    "operator_probs": [0.1, 0.1, 0.2, 0.3, 0.3],
    "gate_probs": [1.0, 2.0, 0.5, 0.0],
    "t_grid": [0.5, 1.0, 2.0],
    "memory_limit_gb": 3.5,
    "chunk_rows": 2,
    "method": "lbfgs",
    "t_bounds": [0.01, 50.0],
    "score_dtype": "float32",  # GAConfig's mixed-precision option (branch shard)
}


def _auto(f: dataclasses.Field):
    if f.name in VALUES:
        return VALUES[f.name]
    d = _default(f)
    if isinstance(d, bool):
        return not d
    if isinstance(d, int):
        return d + 1
    if isinstance(d, float):
        return d * 0.5 if d else 0.25
    raise AssertionError(f"add a valid non-default value for {f.name!r} to VALUES")


def _cli(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, list):
        return "[" + ",".join(_cli(x) for x in v) + "]"
    return str(v)


def _tuples(v):
    return tuple(v) if isinstance(v, list) else v


def test_every_search_field_set_on_the_cli_reaches_the_search(monkeypatch):
    ga_vals = {n: _auto(f) for n, f in _fields(GAConfig).items()}
    ref_vals = {n: _auto(f) for n, f in _fields(RefineConfig).items()}
    for n, v in ga_vals.items():
        assert v != _default(_fields(GAConfig)[n]), n  # a change each
    ov = ["+exp=table1", *(f"search.{n}={_cli(v)}" for n, v in ga_vals.items()),
          *(f"search.refine.{n}={_cli(v)}" for n, v in ref_vals.items())]
    cfg = load_config(ov)
    seen = {}

    def spy(problem, ga, refine, **kw):
        seen.update(ga=ga, refine=refine)
        raise RuntimeError("captured")

    monkeypatch.setattr(vqs_common, "find_optimal_probe", spy)
    with pytest.raises(RuntimeError, match="captured"):
        vqs_common.solve(vqs_common.problem(2, "dephasing", 0.1, "scalar", 1.0, "float64"),
                         cfg.search, 0, False)
    assert isinstance(seen["ga"], GAConfig) and isinstance(seen["refine"], RefineConfig)
    for n, v in ga_vals.items():
        assert getattr(seen["ga"], n) == _tuples(v), n
    for n, v in ref_vals.items():
        assert getattr(seen["refine"], n) == _tuples(v), n


@pytest.mark.parametrize("gate_probs,allowed", [
    ("[1,1,1,0]", lambda g: g != CRX),  # no CRx gene is ever drawn
    ("[0,0,0,1]", lambda g: (g == CRX) | (g == IDENTITY)),  # only CRx genes
])
def test_gate_probs_from_the_cli_change_what_the_ga_draws(monkeypatch, gate_probs, allowed):
    cfg = load_config(["+exp=fig2", "search=quick", f"search.gate_probs={gate_probs}",
                       "search.structured=false", "search.refine.top_k=1",
                       "search.refine.restarts=1", "search.refine.steps=2"])
    results = []
    real = vqs_common.find_optimal_probe

    def keep(*a, **k):
        results.append(real(*a, **k))
        return results[-1]

    monkeypatch.setattr(vqs_common, "find_optimal_probe", keep)
    vqs_common.solve(vqs_common.problem(2, "dephasing", 0.1, "scalar", 1.0, "float64"),
                     cfg.search, 3, False)
    gates = np.asarray(results[0].search.population.gate)
    active = gates[gates != IDENTITY]
    assert active.size > 0  # the GA did draw genes
    assert np.all(allowed(gates))


@pytest.mark.parametrize("override,key,accepted", [
    ("search.population=1", "search.population' = 1", "an integer >= 2"),
    ("search.gate_probs=[0,0,0,0]", "search.gate_probs' = (0.0, 0.0, 0.0, 0.0)",
     "4 weights >= 0"),
    ("search.t_grid=[1,-1]", "search.t_grid' = (1.0, -1.0)", "times > 0"),
    ("search.elite=24", "search.elite' = 24", "[0, 23] (0 <= elite < population = 24)"),
    ("search.max_genes=257", "search.max_genes' = 257", "an integer in [1, 256]"),
    ("search.refine.method=newton", "search.refine.method' = 'newton'", "one of"),
    ("search.refine.steps=0", "search.refine.steps' = 0", "an integer >= 1"),
    ("search.refine.t_bounds=[10,1]", "search.refine.t_bounds'", "0 < t_min < t_max"),
    ("search.refine.t_bounds=[1,2,3]", "search.refine.t_bounds' = (1.0, 2.0, 3.0)",
     "0 < t_min < t_max"),
    ("search.refine.t_bounds=[0,1]", "search.refine.t_bounds' = (0.0, 1.0)",
     "0 < t_min < t_max"),
    ("search.refine.t_bounds=[1,inf]", "search.refine.t_bounds' = (1.0, inf)", "finite"),
    ("search.refine.learning_rate=-1", "search.refine.learning_rate' = -1.0",
     "a finite step size > 0"),
    ("search.refine.learning_rate=nan", "search.refine.learning_rate' = nan", "finite"),
    ("fig4.fiber.n_repeaters=-1", "fig4.fiber.n_repeaters' = -1", "[0, 1000]"),
    ("fig4.satellite.source_fidelity=1.5", "fig4.satellite.source_fidelity' = 1.5", ""),
    ("routing.network.max_virtual_paths=-1", "routing.network.max_virtual_paths' = -1",
     "[0, 1000]"),
    ("routing.network.protocol=magic", "routing.network.protocol' = 'magic'", "dejmps"),
    # a terminal or fiber override's value, checked by the link's own validate()
    ("+routing.network.satellite_terminal.rx_aperture_m=-1",
     "routing.network.satellite_terminal.rx_aperture_m' = -1.0", "a finite value > 0"),
    ("+routing.network.hap_terminal.tx_efficiency=1.5",
     "routing.network.hap_terminal.tx_efficiency' = 1.5", "[0, 1]"),
    ("+routing.network.fiber.n_repeaters=2.5", "routing.network.fiber.n_repeaters' = 2.5",
     "an integer >= 0"),
    # a range or a cities entry of the wrong shape, named by GeneratorConfig
    ("routing.network.free_space_capacity=[1]", "routing.network.free_space_capacity' = (1.0,)",
     "a range (lo, hi) of two real numbers"),
    ("routing.network.cities=[[a,1,x],[b,2,3]]", "routing.network.cities' = ",
     "(name, lat_deg, lon_deg) entries"),
    ("fig3.n_max=11", "fig3.n_max' = 11", "10]"),  # the experiments' own keys, fully named
    ("fig2.reference.polish_iter=0", "fig2.reference.polish_iter' = 0", "an integer >= 1"),
    ("table1.reference.restarts=3", "table1.reference.restarts' = 3", "integer >= 4"),
    # a config's spelling of None: null
    ("search.chunk_rows=0", "search.chunk_rows' = 0", "(rows per device) or null (automatic)"),
    ("search.memory_limit_gb=-1", "search.memory_limit_gb' = -1.0", "a size > 0 (GB) or null"),
])
def test_bad_value_names_the_key_value_and_range(override, key, accepted):
    with pytest.raises(ConfigError) as err:
        load_config(["+exp=table1", override])
    msg = str(err.value)
    assert f"'{key}" in msg and "accepted:" in msg and accepted in msg, msg


def test_python_api_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"'search\.max_genes' = 0 .*accepted"):
        SearchConfig(max_genes=0)
    with pytest.raises(ConfigError, match=r"'search\.refine\.jitter' = -1"):
        RefineSearchConfig(jitter=-1.0)
    with pytest.raises(ConfigError, match=r"'search\.refine\.learning_rate' = 0\.0 .*> 0"):
        RefineSearchConfig(learning_rate=0.0)
    with pytest.raises(ConfigError, match=r"'search\.refine\.t_bounds' = \(1\.0,\) .*t_min"):
        RefineSearchConfig(t_bounds=[1.0])
    with pytest.raises(ConfigError, match=r"'fig4\.satellite\.altitude_km' = 50"):
        SatelliteLinkConfig(altitude_km=50.0)
    with pytest.raises(ConfigError, match=r"'fig4\.fiber\.swap_success' = 0"):
        FiberLinkConfig(swap_success=0.0)


def _cli_refused(out_dir, *overrides) -> str:
    """``python -m experiments.run OVERRIDES`` into ``out_dir``: exit 2 with nothing written;
    its stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.run", *overrides, f"hydra.run.dir={out_dir}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert not (out_dir / "results.json").exists()
    return proc.stderr


def test_cli_bad_search_value_exits_2_naming_the_key(tmp_path):
    err = _cli_refused(tmp_path, "+exp=fig3", "search.max_run=0")
    assert "search.max_run' = 0" in err and "accepted" in err


# ------------------------------------------------------------------ link profiles in their slots

def test_every_link_profile_is_classified_and_its_keys_are_that_links_fields():
    """conf/link's profiles are all in LINK_PROFILES, and a profile's keys (the non-empty
    ones) are fields of the link it is listed for: the table matches the files."""
    fields = {"satellite": {f.name for f in dataclasses.fields(L.SatelliteLink)},
              "fiber": {f.name for f in dataclasses.fields(L.FiberLink)}}
    names = sorted(p.stem for p in (CONF / "link").glob("*.yaml"))
    assert names == sorted(run_module.LINK_PROFILES)
    for name in names:
        keys = set(yaml.safe_load((CONF / "link" / f"{name}.yaml").read_text()) or {})
        assert keys <= fields[run_module.LINK_PROFILES[name]], name


@pytest.mark.parametrize("choices,bad", [
    ({"link@fig4.satellite": "leo", "link@fig4.fiber": "fiber"}, None),
    ({"link@fig4.satellite": "meo", "link@fig4.fiber": "fiber", "search": "default"}, None),
    ({"link@fig4.satellite": "micius", "link@fig4.fiber": "my_own_fiber"}, None),
    ({"link@fig4.satellite": "leo", "link@fig4.fiber": "leo"}, "link@fig4.fiber' = 'leo'"),
    ({"link@fig4.satellite": "fiber"}, "link@fig4.satellite' = 'fiber'"),
    ({"link@fig4.fiber": "micius"}, "link@fig4.fiber' = 'micius'"),
])
def test_a_link_profile_in_the_other_kinds_slot_is_refused(choices, bad):
    if bad is None:
        run_module.check_link_profiles(choices)
        return
    with pytest.raises(ConfigError) as err:
        run_module.check_link_profiles(choices)
    assert bad in str(err.value) and "accepted: a " in str(err.value)


def test_cli_link_profile_in_the_wrong_slot_exits_2(tmp_path):
    """leo.yaml holds no key, so it would compose into the fiber slot's defaults unseen."""
    err = _cli_refused(tmp_path, "+exp=fig4", "link@fig4.fiber=leo")
    assert "link@fig4.fiber' = 'leo'" in err and "fiber link profile" in err


def test_python_compose_with_its_hydra_node_checks_link_profiles_too():
    """The Python path (``compose(..., return_hydra_config=True)`` then `to_config`) refuses
    what the CLI refuses, and gives the same config as a compose without the Hydra node."""
    from hydra import compose, initialize_config_dir

    ok = ["+exp=fig4", "link@fig4.satellite=meo", "fig4.orbit=circular"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        bad = compose(config_name="config", overrides=["+exp=fig4", "link@fig4.fiber=leo"],
                      return_hydra_config=True)
        good = compose(config_name="config", overrides=ok, return_hydra_config=True)
    with pytest.raises(ConfigError, match="link@fig4.fiber' = 'leo'.*fiber link profile"):
        run_module.to_config(bad)
    got = run_module.to_config(good)
    assert got == load_config(ok) and got.fig4.satellite.altitude_km == 10000.0


# ------------------------------------------------------------------ YAML holds only deltas

def _schema_defaults() -> dict:
    return OmegaConf.to_container(OmegaConf.structured(Config))


def _library_defaults(cls) -> dict:
    return {n: _default(f) for n, f in _fields(cls).items()}


def _repeats(doc: dict, defaults: dict, path: str) -> list[str]:
    """Keys of ``doc`` whose value equals the default (or that the schema lacks)."""
    out = []
    for k, v in (doc or {}).items():
        key = f"{path}{k}"
        if k not in defaults:
            out.append(f"{key} (unknown key)")
        elif isinstance(v, dict) and isinstance(defaults[k], dict) and v:
            out += _repeats(v, defaults[k], key + ".")
        elif v == defaults[k]:  # 1 == 1.0 and [0, 1] == [0.0, 1.0] count as repeats
            out.append(f"{key} = {v!r}")
    return out


def _yaml_files():
    return sorted(p.relative_to(CONF).as_posix() for p in CONF.rglob("*.yaml"))


def _launcher_defaults(rel: str) -> dict:
    """The Hydra launcher plugin's own config dataclass for conf/launcher/NAME.yaml."""
    name = rel.split("/")[1].removesuffix(".yaml")
    if name == "joblib":
        conf = pytest.importorskip("hydra_plugins.hydra_joblib_launcher.config")
        return _library_defaults(conf.JobLibLauncherConf)
    conf = pytest.importorskip("hydra_plugins.hydra_submitit_launcher.config")
    return _library_defaults({"slurm": conf.SlurmQueueConf,
                              "submitit_local": conf.LocalQueueConf}[name])


@pytest.mark.parametrize("rel", _yaml_files())
def test_yaml_holds_only_deltas(rel):
    text = (CONF / rel).read_text()
    doc = yaml.safe_load(text) or {}
    group = rel.split("/")[0] if "/" in rel else ""
    if group == "launcher":  # Hydra plugin settings: deltas from the plugin's dataclass
        doc, defaults = doc["hydra"]["launcher"], _launcher_defaults(rel)
    elif group == "link":  # a profile of a qsense.links dataclass
        defaults = _library_defaults(L.FiberLink if rel == "link/fiber.yaml" else L.SatelliteLink)
    elif group == "search":
        defaults = {**_library_defaults(GAConfig), "refine": _library_defaults(RefineConfig)}
    else:
        defaults = _schema_defaults()
        first = text.splitlines()[0]
        package = first.split("@package", 1)[1].strip() if "@package" in first else "_global_"
        if package != "_global_":
            for part in package.split("."):
                defaults = defaults[part]
    doc = {k: v for k, v in doc.items() if k not in ("defaults", "hydra")}
    if group == "exp":
        doc.pop("task")  # names the experiment
    assert _repeats(doc, defaults, "") == []


def test_delta_check_catches_a_repeated_default():
    # the rule above, on a file that repeats a default (guards the guard)
    defaults = {"n_pairs": 3, "sub": {"a": 1.0, "b": [0.0, 1.0]}}
    assert _repeats({"n_pairs": 3}, defaults, "") == ["n_pairs = 3"]
    assert _repeats({"sub": {"a": 1, "b": [0, 1]}}, defaults, "") == ["sub.a = 1", "sub.b = [0, 1]"]
    assert _repeats({"n_pairs": 4, "zzz": 1}, defaults, "") == ["zzz (unknown key)"]


# ------------------------------------------------------------ the search is in the identity

@pytest.mark.parametrize("exp", ["table1", "fig2", "fig3"])
def test_search_is_part_of_the_checkpoint_identity(monkeypatch, tmp_path, exp):
    import experiments.checkpoint
    import experiments.tasks.table1 as table1
    from experiments.run import execute

    metas = []

    class Spy:
        def __init__(self, path, meta=None):
            metas.append(meta)
            raise RuntimeError("captured")

    monkeypatch.setattr(experiments.checkpoint, "Checkpoint", Spy)
    monkeypatch.setattr(table1, "Checkpoint", Spy)
    for pop in (16, 20):
        with pytest.raises(RuntimeError, match="captured"):
            execute(load_config([f"+exp={exp}", "search=quick", f"search.population={pop}",
                                 "progress=false"]), tmp_path / str(pop))
    assert metas[0] != metas[1]  # another search never reuses a checkpoint's cells
