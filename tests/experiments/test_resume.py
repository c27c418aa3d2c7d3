"""Every experiment resumes from its checkpoint, including a run cut off mid-way.

Each case runs three times in one dir:

1. cut off: ``Checkpoint.put`` raises once one cell is saved (a kill right after a cell);
   no ``results.json`` is written;
2. resumed: saving a cell that was already saved fails the test; the remaining cells are
   computed and the run completes;
3. finished: the task's cell functions and ``Checkpoint.put`` fail if called at all; the run
   still completes from the checkpoint alone and writes the same tables and metrics.

For the cheap experiments the resumed outputs also equal an uninterrupted run's.
Breaking the resume (computing a cell whatever the checkpoint holds, or a checkpoint that
forgets its cells on reopening) fails cases 2 and 3.
"""

from __future__ import annotations

import importlib
import json

import pytest

from experiments.checkpoint import Checkpoint
from experiments.outputs import read_csv
from experiments.run import execute
from tests.experiments.helpers import TABLE1_TINY_REFERENCE, load_config, tiny_figure

# conf/search/quick.yaml: the program shapes of tests/qsense/test_genetic.py's SMALL search and
# of the other tiny experiment tests, so this test's programs come from the run's compile cache
TINY_SEARCH = ["search=quick"]
TINY_NET = ["routing.network.n_base_stations=6", "routing.network.n_slots=3",
            "routing.network.max_real_paths=2", "routing.network.max_virtual_paths=2",
            "routing.network.max_storage_paths=1"]

# name -> (overrides, cell functions "module:attr" that must not run for a finished cell,
#          compare with an uninterrupted run)
CASES = {
    "quickstart": (["quickstart.n_max=2", "quickstart.noises=[dephasing,bitflip]",
                    "quickstart.n_t=20"],
                   ["experiments.tasks.quickstart:ghz_qfi_curve"], True),
    # the noises and light reference of tests/qsense/test_vqs_experiments.py's tiny table1
    # (the same programs)
    "table1": (["table1.n_max=2", "table1.gammas=[0.1]",
                "table1.noises=[dephasing,amplitude_damping]",
                "table1.sensing=[single]", *TINY_SEARCH, *TABLE1_TINY_REFERENCE],
               ["experiments.tasks.table1:_cell", "experiments.vqs_common:solve"], False),
    # N = 2 only: its VQS cell, then its reference (and fig2's bound) cells; the curve and
    # Wigner grid of tests/qsense/test_vqs_experiments.py's tiny fig2 (the same programs)
    "fig2": ([*tiny_figure("fig2"), *TINY_SEARCH],
             ["experiments.vqs_common:solve"], False),
    # the curve, Wigner grid and reference of tests/qsense/test_vqs_experiments.py's tiny
    # fig3 (the same compiled programs)
    "fig3": ([*tiny_figure("fig3"), *TINY_SEARCH],
             ["experiments.vqs_common:solve"], False),
    "fig4": (["fig4.n_qubits=2", "fig4.n_distances=4", "fig4.n_t=10", "fig4.vqs_steps=2",
              "fig4.days=1", "fig4.step_s=60", "fig4.design_steps=2"],
             ["experiments.tasks.fig4:_passes", "qsense.linkprobe:optimize_link_probe",
              "qsense.linkprobe:peak_qfi"],
             True),
    "fig5": (["fig5.storage_capacities=[0,800]", "fig5.seeds=[1]", "fig5.methods=[SOS,NSS]",
              *TINY_NET],
             ["experiments.tasks.fig5:solve_method"], True),
    "fig6": (["fig6.n_pairs=[1,2]", "fig6.seeds=[0]", "fig6.methods=[SOS,NSS]", *TINY_NET],
             ["experiments.tasks.fig6:solve_method"], True),
    "routing_quick": (["routing_quick.methods=[SOS,NSS]", *TINY_NET],
                      ["experiments.tasks.routing_quick:solve_method", "routing:solve_milp",
                       "routing:solve_benders"], True),
}


class CutOff(RuntimeError):
    """Stands for the run being killed."""


def _tables(payload, out, drop_wall=False):
    """Table name -> its rows (CSV) or text; ``drop_wall`` drops timing columns."""
    got = {}
    for name, f in payload["tables"].items():
        if not f.endswith(".csv"):
            got[name] = (out / f).read_text()
            continue
        rows = read_csv(out / f)
        timing = {k for k in (rows[0] if rows else {}) if "wall" in k or k == "time"}
        got[name] = [{k: v for k, v in r.items() if not (drop_wall and k in timing)}
                     for r in rows]
    return got


def _same(a, b) -> bool:
    """Equal metrics, NaN included (a metric may be NaN, e.g. the vector-field bound)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True,
                                                                   default=str)


@pytest.mark.parametrize("name", sorted(CASES))
def test_resume(name, tmp_path, monkeypatch):
    overrides, cell_fns, compare_fresh = CASES[name]
    cfg = load_config([f"+exp={name}", "progress=false", *overrides])
    out = tmp_path / "run"
    real_put = Checkpoint.put

    # 1. cut off right after the first cell is saved
    saved: list[str] = []

    def put_then_die(self, key, value):
        if saved:
            raise CutOff(f"killed before saving {key}")
        real_put(self, key, value)
        saved.append(key)

    monkeypatch.setattr(Checkpoint, "put", put_then_die)
    with pytest.raises(CutOff):
        execute(cfg, out)
    assert saved and not (out / "results.json").exists()

    # 2. resume: no finished cell is computed (saved) again; the others are
    new: list[str] = []

    def put_new_only(self, key, value):
        assert key not in saved, f"{name}: finished cell {key!r} was computed again"
        real_put(self, key, value)
        new.append(key)

    monkeypatch.setattr(Checkpoint, "put", put_new_only)
    resumed = execute(cfg, out)
    assert new, f"{name}: the resumed run computed nothing (only one cell in the case?)"
    tables = _tables(resumed, out)

    # 3. finished: the cell functions must not even be called
    def fail(*args, **kwargs):
        raise AssertionError(f"{name}: a cell function ran for a finished cell")

    for spec in cell_fns:
        module, attr = spec.split(":")
        monkeypatch.setattr(importlib.import_module(module), attr, fail)
    monkeypatch.setattr(Checkpoint, "put", fail)
    again = execute(cfg, out)
    assert _same(again["metrics"], resumed["metrics"])
    assert _tables(again, out) == tables
    assert json.loads((out / "results.json").read_text())["devices"]
    monkeypatch.undo()

    if compare_fresh:  # the resumed run equals an uninterrupted one
        fresh = execute(cfg, tmp_path / "fresh")
        assert _same(fresh["metrics"], resumed["metrics"])
        assert _tables(fresh, tmp_path / "fresh", True) == _tables(resumed, out, True)
