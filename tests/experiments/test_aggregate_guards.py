"""experiments.aggregate's refusals: cells of two code versions in one table, and an --out
that would overwrite a cell; a cell whose results.json holds a list seed; which settings
tell configurations apart, and which columns a row's identity leaves out."""

from __future__ import annotations

import json

import pytest
import yaml

from experiments import aggregate
from experiments.outputs import read_csv, write_csv


def _cell(d, code, noise="dephasing", seed=0):
    """A finished quickstart cell, as a run writes it (only what the aggregate reads)."""
    overrides = ["+exp=quickstart", f"quickstart.noises=[{noise}]"]
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    write_csv(d, "quickstart_peaks", [{"noise": noise, "n_qubits": 2, "t_opt": 5.0,
                                       "qfi_peak": 13.5}])
    payload = {"task": "quickstart", "tables": {"quickstart_peaks": "quickstart_peaks.csv"},
               "config": {"seed": seed, "quickstart": {"noises": [noise]}},
               "overrides": overrides, "seed": seed, "code": code}
    (d / "results.json").write_text(json.dumps(payload))
    return payload


def _files(d):
    return {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()}


def test_aggregate_refuses_cells_of_two_code_versions(tmp_path, capsys):
    """Cells computed before and after a code change (different `code` in results.json) are
    not combined into one table: exit 2 before anything is written, each digest listed with
    its cells. Cells of one code aggregate, and the aggregate records that code."""
    _cell(tmp_path / "0", "a" * 16, "dephasing")
    _cell(tmp_path / "1", "a" * 16, "bitflip")
    _cell(tmp_path / "2", "b" * 16, "amplitude_damping")
    assert aggregate.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "2 code versions" in err
    assert f"code {'a' * 16}: 2 cell(s): 0 1" in err and f"code {'b' * 16}: 1 cell(s): 2" in err
    assert not (tmp_path / "aggregate").exists()

    (tmp_path / "2" / "results.json").unlink()  # now unfinished: one code among the finished
    payload = aggregate.aggregate(tmp_path)
    assert payload["code"] == "a" * 16
    assert json.loads((tmp_path / "aggregate" / "results.json").read_text())["code"] == "a" * 16
    assert len(read_csv(tmp_path / "aggregate" / "quickstart_peaks.csv")) == 2


def test_aggregate_refuses_an_out_in_a_cell(tmp_path, capsys):
    """--out DIR/0 used to overwrite cell 0's results.json and tables; it is refused, and so is
    a folder inside a cell and a dir holding a run's results.json or cell.json outside DIR."""
    _cell(tmp_path / "sweep" / "0", "a" * 16)
    _cell(tmp_path / "sweep" / "1", "a" * 16, "bitflip")
    _cell(tmp_path / "other", "a" * 16)
    (tmp_path / "other" / ".hydra" / "overrides.yaml").unlink()
    (tmp_path / "other" / ".hydra").rmdir()  # a run's results.json alone
    # a run that started and was cut off, with no .hydra/ (hydra.output_subdir=null): its
    # cell.json alone marks the dir as a run's
    (tmp_path / "started").mkdir()
    (tmp_path / "started" / "cell.json").write_text(json.dumps({"overrides": []}))
    before = {d: _files(tmp_path / d) for d in ("sweep/0", "other", "started")}
    sweep = tmp_path / "sweep"
    for out in (sweep / "0", sweep / "0" / "sub", tmp_path / "other", tmp_path / "started"):
        assert aggregate.main([str(sweep), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "is the dir of a run" in err or "is inside" in err
        assert str(out.parent if out.name == "sub" else out) in err
    assert not (sweep / "0" / "sub").exists()
    assert {d: _files(tmp_path / d) for d in before} == before
    # the default and a fresh folder are fine, and so is a rerun into an aggregate's folder
    assert aggregate.main([str(sweep)]) == 0
    assert aggregate.main([str(sweep), "--out", str(tmp_path / "agg")]) == 0
    assert aggregate.main([str(sweep), "--out", str(tmp_path / "agg")]) == 0


def test_aggregate_reads_a_list_seed(tmp_path):
    """A cell whose results.json holds a list seed (an aggregate's, written over a cell by an
    older version) no longer crashes the aggregate (TypeError: unhashable type: 'list')."""
    _cell(tmp_path / "0", "a" * 16, seed=[0, 1])
    _cell(tmp_path / "1", "a" * 16, "bitflip", seed=2)
    assert aggregate.aggregate(tmp_path)["seed"] == [0, 1, 2]


def test_strict_fails_on_unfinished_and_missing_cells_not_only_failed_ones(tmp_path):
    """--strict exits 1 when any cell is not finished: an unfinished cell (a dir with
    ``.hydra/`` and neither ``results.json`` nor ``failed.json``) and a missing one (expanded
    from ``multirun.yaml`` with no dir) each alone; 0 once every cell is finished."""
    (tmp_path / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {"overrides": {"task": [
        "+exp=quickstart", "quickstart.noises=[dephasing],[bitflip]"]}}}))
    _cell(tmp_path / "0", "a" * 16, "dephasing")
    payload = aggregate.aggregate(tmp_path)  # cell 1 missing
    assert [m["overrides"] for m in payload["metrics"]["missing"]] == [
        ["+exp=quickstart", "quickstart.noises=[bitflip]"]]
    assert aggregate.main([str(tmp_path), "--strict"]) == 1
    assert aggregate.main([str(tmp_path)]) == 0
    _cell(tmp_path / "1", "a" * 16, "bitflip")
    assert aggregate.main([str(tmp_path), "--strict"]) == 0
    (tmp_path / "1" / "results.json").unlink()  # now unfinished
    payload = aggregate.aggregate(tmp_path)
    assert [u["cell"] for u in payload["metrics"]["unfinished"]] == ["1"]
    assert not payload["metrics"]["missing"] and not payload["metrics"]["failed"]
    assert aggregate.main([str(tmp_path), "--strict"]) == 1


def test_write_csv_keeps_every_column_of_every_row(tmp_path):
    """A long-format table whose later rows carry more columns (e.g. a method with extra
    metrics) keeps them all: the header is the union in first-seen order, missing cells
    empty."""
    write_csv(tmp_path, "t", [{"a": 1, "c": 0.5}, {"a": 2, "b": 3}])
    assert (tmp_path / "t.csv").read_text().splitlines()[0] == "a,c,b"
    assert read_csv(tmp_path / "t.csv") == [{"a": "1", "c": "0.5", "b": ""},
                                            {"a": "2", "c": "", "b": "3"}]


def _finished(path, task, config, tables=None):
    return aggregate.Cell(path, [f"+exp={task}"], "finished",
                          results={"task": task, "config": config, "tables": tables or {}})


def test_a_configuration_ignores_cosmetic_keys_row_axes_and_other_tasks_sections(tmp_path):
    """Cells of table1 that differ only in ``progress``, in a row axis (``table1.gammas``:
    each row carries its gamma) or in another task's section (``fig5.*``, never read by
    table1) are one configuration: no column tells them apart. A search setting does."""
    base = {"seed": 0, "progress": True, "table1": {"gammas": [0.1], "n_max": 3},
            "fig5": {"seeds": [1]}, "search": {"population": 8}}
    a = _finished(tmp_path / "a", "table1", base)
    b = _finished(tmp_path / "b", "table1", {**base, "progress": False,
                                              "table1": {"gammas": [0.2], "n_max": 3},
                                              "fig5": {"seeds": [2]}})
    assert aggregate.config_columns([a, b], "table1") == {a.path: {}, b.path: {}}
    c = _finished(tmp_path / "c", "table1", {**base, "search": {"population": 16}})
    assert aggregate.config_columns([a, c], "table1") == {a.path: {"search.population": 8},
                                                          c.path: {"search.population": 16}}


@pytest.mark.parametrize("column", ["wall_s", "time", "seconds", "solve_seconds"])
def test_two_runs_of_one_cell_that_differ_in_time_spent_give_one_row(tmp_path, column):
    """A cell run twice (a rerun into another dir) gives its rows once: columns that measure
    time spent differ between runs and are not part of a row's identity; a result column
    that differs keeps both rows."""
    cells = []
    for i, (spent, objective) in enumerate(((1.5, 3.0), (2.5, 3.0), (2.5, 4.0))):
        d = tmp_path / str(i)
        d.mkdir()
        write_csv(d, "t", [{"method": "SOS", "objective": objective, column: spent}])
        cells.append(_finished(d, "fig5", {}, {"t": "t.csv"}))
    rows = aggregate.gather_tables(cells, tmp_path)["t"]
    assert [(r["objective"], r["cell"]) for r in rows] == [(3.0, "0"), (4.0, "2")]
