"""fig5, fig6 and routing_quick compose through Hydra and run end to end at a tiny setting."""

import csv
import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from experiments.run import execute, to_config
from experiments.schema import ConfigError

CONF = Path(__file__).resolve().parents[2] / "conf"
# PS-EGR's real-path cap wide enough to hold SOS's satellite-only paths (baselines <= PS-EGR)
TINY_NET = ["routing.network.n_base_stations=6", "routing.network.n_slots=3",
            "routing.network.max_real_paths=8", "routing.network.max_virtual_paths=2",
            "routing.network.max_storage_paths=1", "progress=false"]


def _config(overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return to_config(compose(config_name="config", overrides=overrides))


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_fig5_end_to_end_and_resume(tmp_path, monkeypatch):
    # 5 slots and seeds 2, 4: instances where storage raises PS-EGR's optimum (with 3 slots
    # it never did, and every storage check below held whatever B_m a cell was given)
    net = [o.replace("n_slots=3", "n_slots=5") for o in TINY_NET]
    cfg = _config(["+exp=fig5", "fig5.storage_capacities=[0,20000]", "fig5.seeds=[2,4]", *net])
    out = execute(cfg, tmp_path)
    rows = _rows(tmp_path / "fig5.csv")
    assert {"method", "storage_capacity", "seed", "egr"} <= set(rows[0])
    assert len(rows) == 2 * 2 * 4
    assert {r["method"] for r in rows} == {"PS-EGR", "SOS", "RRS", "NSS"}
    assert (tmp_path / "fig5.png").stat().st_size > 0
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["task"] == "fig5" and res["tables"]["fig5"] == "fig5.csv"
    by = {(r["method"], float(r["storage_capacity"]), r["seed"]): float(r["egr"]) for r in rows}
    for seed in ("2", "4"):
        for cap in (0.0, 20000.0):
            for m in ("SOS", "RRS", "NSS"):  # baselines never beat the optimum
                assert by[(m, cap, seed)] <= by[("PS-EGR", cap, seed)] * (1 + 1e-9) + 1e-9
        # NSS ignores storage; PS-EGR with B = 0 is NSS
        assert by[("NSS", 0.0, seed)] == pytest.approx(by[("NSS", 20000.0, seed)])
        assert by[("PS-EGR", 0.0, seed)] == pytest.approx(by[("NSS", 0.0, seed)])
        # more storage only loosens the storage bound: the optimum cannot fall (here it rises)
        assert by[("PS-EGR", 20000.0, seed)] > by[("PS-EGR", 0.0, seed)] * (1 + 1e-6)
    # the spread over seeds, on every row and in the summary: mean, population std, min, max
    for r in rows:
        v = [by[(r["method"], float(r["storage_capacity"]), s)] for s in ("2", "4")]
        mean = sum(v) / 2
        assert float(r["egr_mean"]) == pytest.approx(mean, rel=1e-12)
        assert float(r["egr_std"]) == pytest.approx(abs(v[0] - v[1]) / 2, rel=1e-9, abs=1e-12)
        assert (float(r["egr_min"]), float(r["egr_max"])) == (min(v), max(v))
        assert r["n_seeds"] == "2"
    summary = _rows(tmp_path / "fig5_summary.csv")
    assert len(summary) == 2 * 4 and {"egr_mean", "egr_std", "egr_min", "egr_max"} <= set(
        summary[0])
    # a rerun in the same directory resumes: no cell is solved again, results identical
    import experiments.tasks.fig5 as fig5_task

    def boom(*a, **k):
        raise AssertionError("a finished cell was recomputed")

    monkeypatch.setattr(fig5_task, "solve_method", boom)
    again = execute(cfg, tmp_path)
    assert again["metrics"] == out["metrics"]
    assert _rows(tmp_path / "fig5.csv") == rows


def test_fig6_end_to_end_and_resume(tmp_path, monkeypatch):
    cfg = _config(["+exp=fig6", "fig6.n_pairs=[1,3]", "fig6.seeds=[0]",
                   "routing.solver.ps_egr=benders", *TINY_NET])
    out = execute(cfg, tmp_path)
    rows = _rows(tmp_path / "fig6.csv")
    assert {"method", "n_pairs", "seed", "egr", "egr_std"} <= set(rows[0])
    assert len(rows) == 2 * 4 and (tmp_path / "fig6.png").exists()
    assert all(r["status"] == "optimal" for r in rows)
    # the K = 3 instance holds K = 1's pair on the same network (the generator draws pairs
    # apart from the links), and the objective sums over pairs: the optimum cannot fall
    egr = {(r["method"], int(r["n_pairs"])): float(r["egr"]) for r in rows}
    assert egr[("PS-EGR", 3)] >= egr[("PS-EGR", 1)] * (1 - 1e-9)
    for m in ("SOS", "RRS", "NSS"):  # and no baseline beats the optimum
        for k in (1, 3):
            assert egr[(m, k)] <= egr[("PS-EGR", k)] * (1 + 1e-9) + 1e-9
    import experiments.tasks.fig6 as fig6_task

    def boom(*a, **k):
        raise AssertionError("a finished cell was recomputed")

    monkeypatch.setattr(fig6_task, "solve_method", boom)
    assert execute(cfg, tmp_path)["metrics"] == out["metrics"]


def test_routing_quick_end_to_end(tmp_path):
    cfg = _config(["+exp=routing_quick", "routing.network.n_slots=3", "progress=false"])
    res = execute(cfg, tmp_path)
    m = res["metrics"]
    assert m["milp_violations"] == 0 and m["milp_status"] == "optimal"
    assert m["benders_rel_gap_to_milp"] <= 1e-6
    assert m["PS-EGR"] == pytest.approx(m["milp_objective"], rel=1e-9)
    assert (tmp_path / "routing_quick_paths.csv").exists()
    # the capped optimum comes with the bound over all paths (DESIGN section 9): at least the
    # optimum over all paths (priced, solved here), and the gap the row reports is to it
    ps = next(r for r in _rows(tmp_path / "routing_quick.csv") if r["method"] == "PS-EGR")
    import routing

    best = routing.solve_milp(cfg.routing.network.instance(cfg.seed).with_options(
        path_set="priced"))
    assert best.model.cands.info["exact"]
    assert ps["path_set"] == "capped" and m["ps_egr_path_sets"] == ["capped"]
    bound, egr = float(ps["path_bound"]), float(ps["egr"])
    assert bound >= best.objective * (1 - 1e-9) and best.objective >= egr * (1 - 1e-9)
    assert float(ps["path_gap"]) == pytest.approx((bound - egr) / bound, rel=1e-9, abs=1e-12)
    assert m["ps_egr_max_path_gap"] == pytest.approx(float(ps["path_gap"]), rel=1e-12)
    assert m["ps_egr_cells_without_path_bound"] == 0


def test_routing_quick_tables_account_for_the_optimum(tmp_path):
    """The tables routing_quick writes are the evidence behind its numbers: without HAPs and
    with weight 2.5, slot 0 has no path (satellites not yet overhead), so the paths table
    lists every (pair, slot) once, chosen or with its reason, and 2.5 x its rates sums to the
    MILP optimum."""
    cfg = _config(["+exp=routing_quick", "routing.network.n_slots=3",
                   "routing.network.n_haps=0", "routing.network.weight=2.5", "progress=false"])
    m = execute(cfg, tmp_path)["metrics"]
    paths = _rows(tmp_path / "routing_quick_paths.csv")
    cells = [(int(r["pair"]), int(r["slot"])) for r in paths]
    assert sorted(cells) == [(k, t) for k in range(2) for t in range(3)]
    none = [r for r in paths if r["kind"] == "none"]
    assert {(r["pair"], r["slot"]) for r in none} == {("0", "0"), ("1", "0")}
    assert all(r["reason"] and not r["path"] and not r["rate"] for r in none)
    served = [r for r in paths if r["kind"] != "none"]
    assert all(r["path"].count("-") >= 1 and float(r["cost"]) >= 1 for r in served)
    assert sum(2.5 * float(r["rate"]) for r in served) == pytest.approx(m["milp_objective"],
                                                                          rel=1e-9)
    assert m["milp_objective"] > 0 and m["milp_violations"] == 0


def test_routing_quick_benders_metrics_are_its_best_bounds(tmp_path):
    """Benders stopped at a loose tolerance (0.9) leaves a gap: its reported objective and
    bound are the best lower and upper bounds of its trace, on either side of the MILP
    optimum, and the gap to the MILP is measured from the objective."""
    cfg = _config(["+exp=routing_quick", "routing.network.n_slots=3",
                   "routing.solver.benders_tol=0.9", "routing_quick.methods=[SOS]",
                   "progress=false"])
    m = execute(cfg, tmp_path)["metrics"]
    trace = _rows(tmp_path / "routing_quick_benders.csv")
    assert m["benders_iterations"] == len(trace) == int(trace[-1]["iteration"])
    assert m["benders_objective"] == max(float(r["lower"]) for r in trace)
    assert m["benders_bound"] == min(float(r["upper"]) for r in trace)
    assert m["benders_objective"] < m["milp_objective"] * (1 - 1e-3)
    assert m["benders_bound"] > m["milp_objective"] * (1 + 1e-3)
    assert m["benders_rel_gap_to_milp"] == pytest.approx(
        (m["milp_objective"] - m["benders_objective"]) / m["milp_objective"], rel=1e-12)


def test_routing_quick_reports_a_violation_the_checker_finds(tmp_path, monkeypatch):
    """milp_violations counts what `routing.check_solution` finds (0 above can't tell)."""
    import routing

    monkeypatch.setattr(routing, "check_solution", lambda sol: ["C4 broken", "C2 broken"])
    cfg = _config(["+exp=routing_quick", "routing.network.n_slots=3",
                   "routing_quick.methods=[SOS]", "routing_quick.benders=false",
                   "progress=false"])
    assert execute(cfg, tmp_path)["metrics"]["milp_violations"] == 2


@pytest.mark.parametrize("override,key", [
    ("fig5.storage_capacities=[-1]", "fig5.storage_capacities"),
    ("fig5.methods=[PS-EGR,FOO]", "fig5.methods"),
    ("routing.network.n_slots=0", "routing.network.n_slots"),
    ("routing.network.storage_capacity=-5", "routing.network.storage_capacity"),
    ("routing.solver.ps_egr=magic", "routing.solver.ps_egr"),
    ("routing.network.n_pairs=9", "routing.network.n_pairs"),
    ("routing.network.path_set=all", "routing.network.path_set"),
    ("routing.network.memory_time=0", "routing.network.memory_time"),
    ("+routing.network.memory_times={b0: -1}", "routing.network.memory_times.b0"),
    ("routing.solver.threads=-1", "routing.solver.threads"),
    ("routing.solver.path_bound_time_limit=0", "routing.solver.path_bound_time_limit"),
])
def test_bad_overrides_name_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        _config(["+exp=fig5", override])


def test_fig6_rejects_more_pairs_than_stations():
    # refused when the config is made, before any task starts
    with pytest.raises(ConfigError, match=r"'fig6\.n_pairs' = \[1, 4\] .*n_base_stations/2 = 3"):
        _config(["+exp=fig6", "fig6.n_pairs=[1,4]", "routing.network.n_base_stations=6"])
    assert _config(["+exp=fig6", "fig6.n_pairs=[1,3]",
                    "routing.network.n_base_stations=6"]).fig6.n_pairs == [1, 3]


def test_network_and_solver_groups_compose():
    cfg = _config(["+exp=fig6", "+network=large", "+solver=benders"])
    net = cfg.routing.network
    assert net.n_base_stations == 300 and net.n_slots == 96 and len(net.cities) == 6
    assert net.n_satellites == 24 and net.walker_planes == 6
    assert cfg.routing.solver.ps_egr == "benders"
    cfg = _config(["+exp=fig5", "+network=seed004", "+solver=highs"])
    assert cfg.routing.network.n_pairs == 3 and cfg.routing.solver.milp_solver == "HIGHS"


def test_topology_preset_builds_from_the_shipped_graphml():
    import routing

    cfg = _config(["+exp=fig5", "+network=example_graphml", "routing.network.n_slots=3"])
    kw = cfg.routing.network.overrides()
    assert Path(kw["topology"]).is_file()  # resolved against the repository, not the run dir
    inst = routing.generate_instance(0, **kw)
    assert {n.name for n in inst.nodes} >= {"aus0", "san0", "hou0", "hap_aus"}
    assert [(p.src, p.dst) for p in inst.pairs] == [("aus0", "hou0"), ("san0", "hou1"),
                                                    ("aus1", "san1")]
    seed = _config(["+exp=fig5", "+network=seed_links"]).routing.network
    assert seed.link_model == "seed" and seed.storage_capacity == 1500


def test_path_set_threads_and_memory_keys_reach_the_instance_and_solver():
    cfg = _config(["+exp=routing_quick", "+solver=all_paths", *TINY_NET[:2]])
    assert cfg.routing.solver.threads == 2
    inst = cfg.routing.network.instance(0)
    assert inst.options.path_set == "priced"
    cfg = _config(["+exp=routing_quick", *TINY_NET[:2], "routing.network.path_set=complete",
                   "routing.network.memory_time=30"])
    inst = cfg.routing.network.instance(0)
    stores = [n for n in inst.nodes if n.storage > 0]
    assert inst.options.path_set == "complete" and stores
    assert all(n.memory_time == 30.0 for n in stores)
    assert all(n.memory_time == float("inf") for n in inst.nodes if n.storage == 0)
    one = stores[0].name
    key = "+routing.network.memory_times"
    cfg = _config(["+exp=routing_quick", *TINY_NET[:2], f"{key}={{{one}: 5}}"])
    inst = cfg.routing.network.instance(0)
    assert inst.node(one).memory_time == 5.0
    assert all(inst.node(n.name).memory_time == float("inf") for n in stores[1:])
    cfg = _config(["+exp=routing_quick", *TINY_NET[:2], f"{key}={{nowhere: 5}}"])
    with pytest.raises(ConfigError, match=r"routing\.network\.memory_times\.nowhere"):
        cfg.routing.network.instance(0)
    with pytest.raises(ConfigError, match=r"routing\.network\.path_set"):
        _config(["+exp=routing_quick", "+solver=all_paths", "routing.network.memory_time=30"])


def test_path_evidence_reads_rows_from_runs_and_from_csvs():
    """The evidence metrics come out the same from a run's rows and from the CSV strings the
    aggregate reads back (baseline rows: "" for the PS-EGR-only columns)."""
    from experiments.routing_sweep import path_evidence

    run = [{"method": "PS-EGR", "path_set": "capped", "path_bound": 10.0, "path_gap": 0.25},
           {"method": "PS-EGR", "path_set": "capped", "path_bound": "nan", "path_gap": "nan"},
           {"method": "SOS", "egr": 1.0}]
    csv_rows = [{k: str(v) for k, v in r.items()} for r in run]
    for r in csv_rows[2:]:
        r.update(path_set="", path_bound="", path_gap="")
    expect = {"ps_egr_path_sets": ["capped"], "ps_egr_max_path_gap": 0.25,
              "ps_egr_cells_without_path_bound": 1}
    assert path_evidence(run) == expect
    assert path_evidence(csv_rows) == expect
