"""The routing experiments' evidence metrics and routing_quick's solver budget."""

from __future__ import annotations

from experiments.routing_sweep import path_evidence


def test_a_cell_without_a_finite_path_bound_counts_as_unbounded():
    """path_bound = inf (no bound found under a tiny path_bound_time_limit) is no bound: the
    cell is counted in ps_egr_cells_without_path_bound and its inf gap is not the max gap
    (it read as bounded, with ps_egr_max_path_gap 'inf')."""
    run = [{"method": "PS-EGR", "path_set": "capped", "path_bound": 10.0, "path_gap": 0.25},
           {"method": "PS-EGR", "path_set": "capped", "path_bound": "inf", "path_gap": "inf"},
           {"method": "PS-EGR", "path_set": "capped", "path_bound": "nan", "path_gap": "nan"},
           {"method": "PS-EGR", "path_set": "capped", "path_bound": float("inf"),
            "path_gap": float("inf")},
           {"method": "SOS", "egr": 1.0}]
    csv_rows = [{k: str(v) for k, v in r.items()} for r in run]
    expect = {"ps_egr_path_sets": ["capped"], "ps_egr_max_path_gap": 0.25,
              "ps_egr_cells_without_path_bound": 3}
    assert path_evidence(run) == expect
    assert path_evidence(csv_rows) == expect
    only_inf = path_evidence(run[1:2])
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
