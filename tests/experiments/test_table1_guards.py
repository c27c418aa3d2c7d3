"""table1's guards before and around its work: a size that cannot fit is refused before any
cell or the reference worker starts; the reference worker records the run's code digest."""

import json

import pytest

from experiments.run import run_cell
from experiments.schema import ConfigError
from experiments.tasks import table1
from tests.experiments.helpers import load_config

TINY = ["+exp=table1", "search=quick", "table1.n_max=2", "table1.gammas=[0.1]",
        "table1.noises=[dephasing]", "progress=false"]


def test_a_search_that_cannot_fit_is_refused_before_any_worker(tmp_path, monkeypatch):
    def no_worker(*args, **kwargs):
        raise AssertionError("the reference worker started")

    monkeypatch.setattr(table1, "spawn_pool_submit", no_worker)
    cfg = load_config([*TINY, "search.memory_limit_gb=1e-6"])
    with pytest.raises(ConfigError, match=r"'table1\.n_max' = 2 .*fits in memory"):
        run_cell(cfg, tmp_path)
    assert list(tmp_path.iterdir()) == []  # no checkpoint, no failed.json, no cell.json


def test_the_reference_worker_records_the_runs_code_digest(tmp_path, monkeypatch):
    """The worker is a separate process that would hash the sources again: an edit while the
    run runs made its checkpoint 'other code' to its own parent. It takes the parent's."""
    import experiments.checkpoint as ckm

    monkeypatch.setattr(ckm, "code_digest", lambda: "e" * 16)  # the sources changed since
    monkeypatch.setattr(table1, "_references",
                        lambda cfg, ck, *cell: ck.put("|".join(map(str, cell)), 1))
    cfg = load_config(TINY)
    path = table1.references_worker(cfg, str(tmp_path), [("single", 2, 0.1, "dephasing")],
                                    "a" * 16)
    assert json.loads(open(path).read())["code"] == "a" * 16
