"""The routing experiments' evidence metrics and routing_quick's solver budget."""

from __future__ import annotations

from experiments.routing_sweep import path_evidence


def test_a_cell_without_a_finite_path_bound_counts_as_unbounded():
    """path_bound = inf (no bound found under a tiny path_bound_time_limit) is no bound: the
    cell is counted in ps_egr_cells_without_path_bound and its inf gap is not the max gap
    (it read as bounded, with ps_egr_max_path_gap 'inf')."""
    run = [{"method": "PS-EGR", "path_set": "capped", "path_bound": 10.0, "path_gap": 0.25},
           {"method": "PS-EGR", "path_set": "priced", "path_bound": 12.0, "path_gap": 0.0},
           {"method": "PS-EGR", "path_set": "capped", "path_bound": "inf", "path_gap": "inf"},
           {"method": "PS-EGR", "path_set": "capped", "path_bound": "nan", "path_gap": "nan"},
           {"method": "PS-EGR", "path_set": "capped", "path_bound": float("inf"),
            "path_gap": float("inf")},
           {"method": "SOS", "egr": 1.0}]
    csv_rows = [{k: str(v) for k, v in r.items()} for r in run]
    expect = {"ps_egr_path_sets": ["capped", "priced"], "ps_egr_max_path_gap": 0.25,
              "ps_egr_cells_without_path_bound": 3}
    assert path_evidence(run) == expect
    assert path_evidence(csv_rows) == expect
    only_inf = path_evidence(run[2:3])
    assert only_inf["ps_egr_max_path_gap"] is None
    assert only_inf["ps_egr_cells_without_path_bound"] == 1


def test_routing_quick_gives_benders_the_solver_time_limit(tmp_path, monkeypatch):
    """routing_quick's Benders run gets routing.solver.time_limit, as its MILP does (it ran
    without any limit)."""
    import routing
    from experiments.run import execute
    from tests.experiments.helpers import load_config

    class Stop(Exception):
        pass

    seen = {}

    def benders(inst, **kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(routing, "solve_benders", benders)
    cfg = load_config(["+exp=routing_quick", "routing_quick.methods=[SOS]",
                       "routing.network.n_base_stations=6", "routing.network.n_slots=3",
                       "routing.network.max_real_paths=2", "routing.network.max_virtual_paths=2",
                       "routing.network.max_storage_paths=1", "routing.solver.time_limit=7.5",
                       "progress=false"])
    try:
        execute(cfg, tmp_path)
    except Stop:
        pass
    assert seen.get("time_limit") == 7.5


def test_solve_method_records_what_its_solves_give(monkeypatch):
    """A routing cell's record is computed from its solves (here stand-ins with known
    values): egr the mean objective over RRS's draws, each draw its own seed and no seed
    shared with another cell's; total_pairs the mean of delta * sum(y) (pairs over the
    horizon, not pairs/s); status the worst draw's (largest gap) unless all are optimal; gap
    that largest gap; n_no_path the pairs without a path. routing.solver.threads reaches the
    MILP (0: the solver's default, None); ``progress`` reaches Benders (its bar)."""
    from types import SimpleNamespace

    import numpy as np

    from experiments import routing_sweep

    draws = [dict(objective=1.0, y=np.array([1.0, 2.0]), gap=0.0, status="optimal"),
             dict(objective=2.0, y=np.array([5.0, 0.0]), gap=0.2, status="feasible"),
             dict(objective=4.0, y=np.array([3.0, 4.0]), gap=0.1, status="time_limit")]
    seeds: list[list[int]] = []

    def rrs(inst, seed, solver):
        seeds[-1].append(seed)
        d = draws[len(seeds[-1]) - 1]
        return SimpleNamespace(wall_time=0.5, no_path=["p1", "p2"], **d)

    monkeypatch.setattr(routing_sweep, "solve_rrs", rrs)
    inst = SimpleNamespace(slot_duration=2.5)
    for cell_seed in (0, 1):
        seeds.append([])
        rec = routing_sweep.solve_method(inst, "RRS", {"rrs_draws": 3}, seed=cell_seed)
        assert rec["egr"] == (1.0 + 2.0 + 4.0) / 3
        assert rec["total_pairs"] == 2.5 * (3.0 + 5.0 + 7.0) / 3
        assert (rec["status"], rec["gap"]) == ("feasible", 0.2)
        assert rec["wall_time_s"] == 1.5 and rec["n_no_path"] == 2
    assert len(set(seeds[0])) == 3 and not set(seeds[0]) & set(seeds[1])
    draws[1].update(gap=0.0, status="optimal")
    draws[2].update(gap=0.0, status="optimal")
    seeds.append([])
    assert routing_sweep.solve_method(inst, "RRS", {"rrs_draws": 3})["status"] == "optimal"

    passed = []

    def ps_egr():  # a PS-EGR solve's stand-in
        return SimpleNamespace(wall_time=0.1, no_path=[], path_set="capped", path_bound=None,
                               path_gap=None, **draws[0])

    def milp(inst, solver, time_limit, gap, threads):
        passed.append(threads)
        return ps_egr()

    monkeypatch.setattr(routing_sweep, "solve_milp", milp)
    for threads in (3, 0):
        routing_sweep.solve_method(inst, "PS-EGR", {"threads": threads, "path_bound": False})
    assert passed == [3, None]

    def benders(inst, progress, **kw):
        passed.append(progress)
        return ps_egr()

    monkeypatch.setattr(routing_sweep, "solve_benders", benders)
    for progress in (True, False):
        routing_sweep.solve_method(inst, "PS-EGR", {"ps_egr": "benders", "path_bound": False},
                                   progress=progress)
    assert passed == [3, None, True, False]


def test_sweep_outputs_spread_and_all_optimal(tmp_path):
    """Per (method, x) over seeds: mean, population std, min, max, by hand; one cell short of
    optimal makes metrics.all_optimal false; the CSVs carry the spread on every row."""
    from experiments.outputs import read_csv
    from experiments.routing_sweep import sweep_outputs

    rows = [{"method": "SOS", "B_m": 100.0, "seed": 0, "egr": 1.0, "status": "optimal"},
            {"method": "SOS", "B_m": 100.0, "seed": 1, "egr": 3.0, "status": "optimal"},
            {"method": "NSS", "B_m": 100.0, "seed": 0, "egr": 2.0, "status": "optimal"},
            {"method": "NSS", "B_m": 100.0, "seed": 1, "egr": 2.0, "status": "time_limit"}]
    out = sweep_outputs(rows, "B_m", "B_m", "sweep", tmp_path, "B_m", "test")
    m = out["metrics"]
    assert m["SOS/B_m=100.0"] == {"mean": 2.0, "std": 1.0, "min": 1.0, "max": 3.0}
    assert m["NSS/B_m=100.0"] == {"mean": 2.0, "std": 0.0, "min": 2.0, "max": 2.0}
    assert m["all_optimal"] is False
    assert sweep_outputs(rows[:3], "B_m", "B_m", "ok", tmp_path, "B_m", "test")[
        "metrics"]["all_optimal"] is True
    csv = read_csv(tmp_path / "sweep.csv")
    assert [float(r["egr_std"]) for r in csv] == [1.0, 1.0, 0.0, 0.0]
    assert [int(r["n_seeds"]) for r in read_csv(tmp_path / "sweep_summary.csv")] == [2, 2]
