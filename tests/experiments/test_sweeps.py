"""Sweeps cell by cell: submitit (local executor) and joblib launchers, aggregation of a
multirun into the one-run tables, reruns that skip finished cells, failed and missing cells."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from experiments import aggregate
from experiments.outputs import read_csv
from experiments.run import execute, run_cell
from experiments.schema import ConfigError
from experiments.tasks import quickstart
from tests.experiments.helpers import ROOT, compose_config, load_config

TINY = ["quickstart.n_max=2", "quickstart.n_t=20", "progress=false"]
SWEEP = ["+exp=quickstart", "quickstart.noises=[dephasing],[bitflip]", *TINY]


def _sweep(launcher: str, sweep_dir) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.run", "-m", f"+launcher={launcher}", *SWEEP,
         f"hydra.sweep.dir={sweep_dir}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _rows(path, drop=("cell",)):
    """A table as a sorted list of rows; numbers parsed, ``drop`` columns left out."""
    out = []
    for r in read_csv(path):
        row = []
        for k, v in sorted(r.items()):
            if k in drop:
                continue
            try:
                v = float(v)
            except ValueError:
                pass
            row.append((k, v))
        out.append(tuple(row))
    return sorted(out, key=repr)


def _stamps(sweep_dir):
    return {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("*/results.json")}


def test_submitit_sweep_aggregates_to_the_one_run_table_and_reruns_skip(tmp_path):
    sweep_dir = tmp_path / "sweep"
    _sweep("submitit_local", sweep_dir)
    cells = sorted(p.parent.name for p in sweep_dir.glob("*/results.json"))
    assert cells == ["0", "1"]  # each cell its own job
    for c in cells:
        res = json.loads((sweep_dir / c / "results.json").read_text())
        assert res["devices"] and res["devices"][0] == res["device"]["devices"][0]
        assert len(res["config"]["quickstart"]["noises"]) == 1

    # the aggregate is the table one run over both noises writes
    payload = aggregate.aggregate(sweep_dir)
    assert payload["metrics"]["n_finished"] == 2 and not payload["metrics"]["missing"]
    # both jobs ran on this host: one (cores, XLA pool) entry, also listed per cell
    cores = len(os.sched_getaffinity(0))  # the jobs inherit this process's pool setting
    pool = int(os.environ.get("PJRT_NPROC") or os.environ.get("NPROC") or cores)
    assert payload["hosts"] == [{"cpu_cores": cores, "xla_cpu_pool_threads": pool}]
    assert all(x["host"] == payload["hosts"][0] for x in payload["cells"])
    one = tmp_path / "one"
    execute(load_config(["+exp=quickstart", "quickstart.noises=[dephasing,bitflip]", *TINY]),
            one)
    for table in ("quickstart", "quickstart_peaks"):
        assert _rows(sweep_dir / "aggregate" / f"{table}.csv") == _rows(one / f"{table}.csv")
    assert (sweep_dir / "aggregate" / "quickstart.png").stat().st_size > 1000
    assert {r["cell"] for r in read_csv(sweep_dir / "aggregate" / "quickstart.csv")} == {"0", "1"}

    # a rerun of the same sweep into the same dir skips both finished cells
    before = _stamps(sweep_dir)
    _sweep("submitit_local", sweep_dir)
    assert _stamps(sweep_dir) == before

    # a lost cell is listed as missing; a rerun (another launcher: joblib) computes only it
    shutil.rmtree(sweep_dir / "1")
    payload = aggregate.aggregate(sweep_dir)
    missing = payload["metrics"]["missing"]
    assert len(missing) == 1 and "quickstart.noises=[bitflip]" in missing[0]["overrides"]
    assert {r[("noise")] for r in read_csv(sweep_dir / "aggregate" / "quickstart.csv")} == {
        "dephasing"}
    _sweep("joblib", sweep_dir)
    after = _stamps(sweep_dir)
    assert after["0"] == before["0"] and "1" in after
    payload = aggregate.aggregate(sweep_dir)
    assert payload["metrics"]["n_finished"] == 2 and not payload["metrics"]["missing"]
    assert _rows(sweep_dir / "aggregate" / "quickstart.csv") == _rows(one / "quickstart.csv")


def _run_interrupted(monkeypatch, config, out_dir, overrides=None) -> None:
    """`run_cell` cut off by Ctrl-C right after it saves its next checkpoint cell."""
    from experiments.checkpoint import Checkpoint

    real_put = Checkpoint.put

    def put_then_interrupt(self, key, value):
        real_put(self, key, value)
        raise KeyboardInterrupt

    monkeypatch.setattr(Checkpoint, "put", put_then_interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_cell(config, out_dir, overrides)
    finally:
        monkeypatch.setattr(Checkpoint, "put", real_put)


CELLS = {"0": "quickstart.noises=[dephasing]", "1": "quickstart.noises=[bitflip]"}


def _sweep_dirs(sweep) -> None:
    """The dirs Hydra makes for the two-cell quickstart sweep (its multirun.yaml and each
    cell's .hydra/overrides.yaml), without launching it."""
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {"overrides": {"task": [
        "+exp=quickstart", "quickstart.noises=[dephasing],[bitflip]", *TINY]}}}))
    for num, noise in CELLS.items():
        (sweep / num / ".hydra").mkdir(parents=True)
        overrides = ["+exp=quickstart", noise, *TINY]
        (sweep / num / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))


def test_failed_cell_is_recorded_listed_and_recomputed(tmp_path, monkeypatch):
    """A failed cell leaves failed.json and is listed; a retry clears it when it starts (an
    interrupted retry reads as unfinished) and when it ends, `execute` alone too."""
    sweep = tmp_path / "sweep"
    _sweep_dirs(sweep)
    run_cell(load_config(["+exp=quickstart", CELLS["0"], *TINY]), sweep / "0")

    real = quickstart.ghz_qfi_curve

    def broken(*args, **kwargs):
        raise FloatingPointError("injected failure")

    monkeypatch.setattr(quickstart, "ghz_qfi_curve", broken)
    cfg1 = load_config(["+exp=quickstart", CELLS["1"], *TINY])
    with pytest.raises(FloatingPointError):
        run_cell(cfg1, sweep / "1")
    assert "injected failure" in json.loads((sweep / "1" / "failed.json").read_text())["error"]
    payload = aggregate.aggregate(sweep)
    failed = payload["metrics"]["failed"]
    assert [f["cell"] for f in failed] == ["1"] and "injected failure" in failed[0]["error"]
    assert aggregate.main([str(sweep), "--strict"]) == 1

    monkeypatch.setattr(quickstart, "ghz_qfi_curve", real)
    # a retry is unfinished until it ends: interrupted, the cell no longer reads as failed
    _run_interrupted(monkeypatch, cfg1, sweep / "1")
    assert not (sweep / "1" / "failed.json").exists()
    assert [u["cell"] for u in aggregate.aggregate(sweep)["metrics"]["unfinished"]] == ["1"]
    run_cell(cfg1, sweep / "1")
    assert not (sweep / "1" / "failed.json").exists()
    assert aggregate.main([str(sweep), "--strict"]) == 0
    # `execute` alone (the Python API) also leaves no failed.json of an earlier attempt
    (sweep / "1" / "failed.json").write_text(json.dumps({"error": "an earlier attempt"}))
    execute(cfg1, sweep / "1")
    assert not (sweep / "1" / "failed.json").exists()


def test_a_truncated_results_json_is_listed_and_redone(tmp_path, caplog):
    """A results.json cut off while written (a job killed then, before writes were atomic)
    is no result: aggregate lists its cell as unfinished, naming the file, and a rerun does
    the cell again instead of stopping on a JSONDecodeError (both did)."""
    sweep = tmp_path / "sweep"
    _sweep_dirs(sweep)
    for num, noise in CELLS.items():
        run_cell(load_config(["+exp=quickstart", noise, *TINY]), sweep / num)
    good = (sweep / "1" / "results.json").read_text()
    (sweep / "1" / "results.json").write_text(good[: len(good) // 2])
    m = aggregate.aggregate(sweep)["metrics"]
    assert m["n_finished"] == 1 and [u["cell"] for u in m["unfinished"]] == ["1"]
    assert m["unfinished"][0]["error"] == "results.json is unreadable (not a JSON object)"
    with caplog.at_level("WARNING", logger="experiments"):
        redone = run_cell(load_config(["+exp=quickstart", CELLS["1"], *TINY]), sweep / "1")
    assert "results.json is unreadable" in caplog.text
    assert redone["metrics"] == json.loads(good)["metrics"]
    assert json.loads((sweep / "1" / "results.json").read_text())["metrics"] == redone["metrics"]
    assert aggregate.main([str(sweep), "--strict"]) == 0


@pytest.mark.parametrize("spoil,error", [
    (lambda d: (d / "quickstart.csv").unlink(),
     "results.json lists quickstart.csv, which is missing"),
    (lambda d: (d / "results.json").write_text(json.dumps(
        {k: v for k, v in json.loads((d / "results.json").read_text()).items() if k != "task"})),
     "results.json names no task (not a run's record)"),
])
def test_a_results_json_whose_tables_are_gone_is_listed_and_redone(tmp_path, caplog, spoil,
                                                                  error):
    """A finished cell whose listed CSV was deleted (or a results.json that names no task)
    is no result: its rows were silently left out of the aggregate's tables (a missing task
    stopped aggregate with a KeyError) and a rerun skipped it as finished. Now aggregate
    lists it unfinished, saying why, and a rerun does it again."""
    sweep = tmp_path / "sweep"
    _sweep_dirs(sweep)
    for num, noise in CELLS.items():
        run_cell(load_config(["+exp=quickstart", noise, *TINY]), sweep / num)
    good = json.loads((sweep / "1" / "results.json").read_text())
    spoil(sweep / "1")
    m = aggregate.aggregate(sweep)["metrics"]
    assert m["n_finished"] == 1 and [u["cell"] for u in m["unfinished"]] == ["1"]
    assert m["unfinished"][0]["error"] == error
    with caplog.at_level("WARNING", logger="experiments"):
        redone = run_cell(load_config(["+exp=quickstart", CELLS["1"], *TINY]), sweep / "1")
    assert error in caplog.text
    assert redone["metrics"] == good["metrics"] and (sweep / "1" / "quickstart.csv").is_file()
    assert aggregate.main([str(sweep), "--strict"]) == 0
    assert len(read_csv(sweep / "aggregate" / "quickstart.csv")) == 2 * len(
        read_csv(sweep / "1" / "quickstart.csv"))  # both cells' rows


def test_an_unreadable_cell_json_is_named(tmp_path):
    """cell.json identifies a dir's run (settings, code); unreadable, the dir cannot be
    resumed safely: a ConfigError names the file and the ways out (a JSONDecodeError did)."""
    cfg = load_config(["+exp=quickstart", CELLS["0"], *TINY])
    run_cell(cfg, tmp_path)
    (tmp_path / "results.json").unlink()
    (tmp_path / "cell.json").write_text('{"task": "quick')
    with pytest.raises(ConfigError, match=r"cell\.json is unreadable .*fresh hydra\.run\.dir"):
        run_cell(cfg, tmp_path)


def test_results_json_is_written_atomically(tmp_path, monkeypatch):
    """A job killed while writing results.json leaves the previous file whole."""
    from pathlib import Path

    from experiments import outputs

    outputs.write_results(tmp_path, {"task": "quickstart", "metrics": {"a": 1}})
    real = Path.write_text

    def killed_halfway(self, text, *args, **kwargs):
        real(self, text[: len(text) // 2], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", killed_halfway)
    with pytest.raises(KeyboardInterrupt):
        outputs.write_results(tmp_path, {"task": "quickstart", "metrics": {"a": 2}})
    monkeypatch.undo()
    assert json.loads((tmp_path / "results.json").read_text())["metrics"] == {"a": 1}


def test_a_dir_holding_another_runs_results_is_not_reused(tmp_path):
    first = run_cell(load_config(["+exp=quickstart", "quickstart.noises=[dephasing]", *TINY]),
                     tmp_path)
    stamp = (tmp_path / "results.json").stat().st_mtime_ns
    # the same cell with progress bars on is the same cell: skipped, not recomputed
    same = run_cell(load_config(["+exp=quickstart", "quickstart.noises=[dephasing]", *TINY,
                                 "progress=true"]), tmp_path)
    assert same == json.loads((tmp_path / "results.json").read_text())
    assert (tmp_path / "results.json").stat().st_mtime_ns == stamp
    assert same["metrics"] == first["metrics"]
    with pytest.raises(ConfigError, match="other settings"):
        run_cell(load_config(["+exp=quickstart", "quickstart.noises=[bitflip]", *TINY]),
                 tmp_path)


@pytest.mark.parametrize(("launcher", "target", "keys"), [
    ("slurm", "SlurmLauncher", ("partition", "gpus_per_node", "timeout_min", "mem_gb",
                                "max_num_timeout")),
    ("submitit_local", "LocalLauncher", ("timeout_min", "cpus_per_task")),
    ("joblib", "JoblibLauncher", ("n_jobs",)),
])
def test_launcher_configs_compose(launcher, target, keys):
    from hydra import compose, initialize_config_dir

    from tests.experiments.helpers import CONF

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"+launcher={launcher}", "+exp=table1"],
                      return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith(target)
    for k in keys:
        assert k in cfg.hydra.launcher
    assert compose_config([f"+launcher={launcher}", "+exp=table1"]).task == "table1"


def test_aggregate_cli_rejects_a_dir_without_cells(tmp_path, capsys):
    assert aggregate.main([str(tmp_path)]) == 2
    assert "no Hydra cells" in capsys.readouterr().err


def test_a_dir_holding_results_of_other_code_is_not_reused(tmp_path, monkeypatch):
    """results.json written by other code (another digest of qsense/routing/experiments) is
    neither skipped as finished nor silently overwritten: the run refuses it."""
    import experiments.run as run_mod

    cfg = load_config(["+exp=quickstart", "quickstart.noises=[dephasing]", *TINY])
    run_cell(cfg, tmp_path)
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["code"] == run_mod.code_digest()
    monkeypatch.setattr(run_mod, "code_digest", lambda: "f" * 16)
    with pytest.raises(ConfigError, match="other code"):
        run_cell(cfg, tmp_path)


def test_aggregate_report_says_when_cells_come_from_different_hosts():
    import io

    payload = {"metrics": {"n_finished": 2, "n_cells": 2, "failed": [], "unfinished": [],
                           "missing": []}, "tables": {},
               "hosts": [{"cpu_cores": 2, "xla_cpu_pool_threads": 3},
                         {"cpu_cores": 16, "xla_cpu_pool_threads": 17}]}
    out = io.StringIO()
    aggregate.report(payload, out)
    assert "2 hosts" in out.getvalue() and "rounding" in out.getvalue()
    payload["hosts"] = payload["hosts"][:1]
    out = io.StringIO()
    aggregate.report(payload, out)
    assert "hosts" not in out.getvalue()


def _hydra_dir(path, overrides):
    """What Hydra writes into a job's dir before the job runs (.hydra/overrides.yaml)."""
    (path / ".hydra").mkdir(parents=True, exist_ok=True)
    (path / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    return overrides


def test_a_refused_rerun_leaves_the_dir_as_it_was(tmp_path):
    """A rerun with other settings is refused (exit 2 from the CLI) and puts back the
    .hydra/overrides.yaml that Hydra rewrote before the job ran, so the aggregate labels the
    cell with the settings of its results."""
    base = ["+exp=quickstart", "quickstart.noises=[dephasing]", "quickstart.n_t=20",
            "progress=false"]
    d = tmp_path / "cell"
    first = _hydra_dir(d, [*base, "quickstart.n_max=2"])
    run_cell(load_config(first), d, first)
    before = (d / ".hydra" / "overrides.yaml").read_text()
    other = _hydra_dir(d, [*base, "quickstart.n_max=3"])  # Hydra's rewrite by the rerun
    with pytest.raises(ConfigError, match="other settings"):
        run_cell(load_config(other), d, other)
    assert (d / ".hydra" / "overrides.yaml").read_text() == before
    assert not (d / "failed.json").exists()
    (cell,) = aggregate.aggregate(tmp_path)["cells"]
    assert cell["status"] == "finished" and "quickstart.n_max=2" in cell["overrides"]
    # aggregate reads the overrides the cell recorded, whatever .hydra/ says now
    (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(other))
    (cell,) = aggregate.aggregate(tmp_path)["cells"]
    assert "quickstart.n_max=2" in cell["overrides"]


def test_an_interrupted_cell_is_unfinished_and_a_rerun_with_other_settings_is_refused(
        tmp_path, monkeypatch):
    """Ctrl-C is no failure: no failed.json, the checkpoint stays and the cell reads as
    unfinished. A checkpoint-only dir is then refused cleanly (ConfigError: exit 2), with
    no failed.json, also without the cell.json of the run (a dir of older code). A resume
    keeps the first run's cell.json."""
    base = ["+exp=quickstart", "quickstart.noises=[dephasing]", "quickstart.n_t=20",
            "progress=false"]
    d = tmp_path / "cell"
    first = _hydra_dir(d, [*base, "quickstart.n_max=2"])
    _run_interrupted(monkeypatch, load_config(first), d, first)
    assert (d / "checkpoint.json").exists() and not (d / "failed.json").exists()
    assert aggregate.aggregate(tmp_path)["metrics"]["unfinished"][0]["cell"] == "cell"

    before = (d / ".hydra" / "overrides.yaml").read_text()
    checkpoint = (d / "checkpoint.json").read_text()
    for drop_cell_json in (False, True):
        if drop_cell_json:
            (d / "cell.json").unlink()
        other = _hydra_dir(d, [*base, "quickstart.n_max=3"])
        with pytest.raises(ConfigError, match="other settings"):
            run_cell(load_config(other), d, other)
        assert not (d / "failed.json").exists()
        assert (d / "checkpoint.json").read_text() == checkpoint
        if not drop_cell_json:
            assert (d / ".hydra" / "overrides.yaml").read_text() == before
    assert not (d / "cell.json").exists()  # the refused run claimed nothing
    # the resume with the run's own settings, spelled otherwise, completes it; cell.json
    # keeps the first run's record (its overrides and Hydra files), which a refused rerun
    # puts back
    _hydra_dir(d, first)
    _run_interrupted(monkeypatch, load_config(first), d, first)
    record = (d / "cell.json").read_text()
    again = _hydra_dir(d, [*first, "seed=0"])
    assert load_config(again) == load_config(first)
    run_cell(load_config(again), d, again)
    assert (d / "cell.json").read_text() == record
    assert json.loads(record)["overrides"] == first
    assert aggregate.aggregate(tmp_path)["metrics"]["n_finished"] == 1


def test_cli_refused_rerun_exits_2_and_keeps_hydra_files(tmp_path):
    """The walkthrough's repro through Hydra itself: a rerun into a run dir with another
    quickstart.n_max exits 2 and leaves .hydra/ as the finished run wrote it, and Hydra's
    job log run.log byte for byte as it was: also when the refusal comes from inside the run
    (the checkpoint of a dir from before cell.json), after the task's modules have logged
    into run.log, which Hydra opened for appending when the job started: ``hydra.verbose``
    turns matplotlib's logger to DEBUG, so that each run writes lines there (matplotlib's
    set-up, on import) that a refused run must take back."""
    d = tmp_path / "run"
    cmd = [sys.executable, "-m", "experiments.run", "+exp=quickstart", "quickstart.n_t=20",
           "quickstart.noises=[dephasing]", "progress=false", f"hydra.run.dir={d}",
           "hydra.verbose=[matplotlib]"]
    proc = subprocess.run([*cmd, "quickstart.n_max=2"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = {p.name: p.read_text() for p in (d / ".hydra").iterdir()}
    log = (d / "run.log").read_bytes()
    assert b"wrote" in log  # the finished run's own lines
    proc = subprocess.run([*cmd, "quickstart.n_max=3"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2 and "other settings" in proc.stderr
    assert {p.name: p.read_text() for p in (d / ".hydra").iterdir()} == files
    assert not (d / "failed.json").exists()
    assert (d / "run.log").read_bytes() == log
    # refused from inside the run: only a checkpoint of other settings (no cell.json)
    (d / "results.json").unlink()
    (d / "cell.json").unlink()
    proc = subprocess.run([*cmd, "quickstart.n_max=3"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2 and "other settings" in proc.stderr, proc.stderr[-3000:]
    assert "checkpoint" in proc.stderr  # refused by the checkpoint, inside the run
    assert (d / "run.log").read_bytes() == log
    assert not (d / "failed.json").exists() and not (d / "cell.json").exists()


def test_aggregate_keeps_two_runs_of_one_cell_once_and_writes_table1_md_in_full(tmp_path):
    """Two runs of the same cell (one with `seed=0` spelled out) differ only in timing
    columns: their rows are kept once. table1.md has the seed layout AND the references."""
    from experiments.outputs import write_csv
    from experiments.tasks import table1

    row = {"sensing": "single", "probe": "VQS", "n_qubits": 2, "gamma": 0.1,
           "noise": "dephasing", "qcrb": 0.15, "paper_value": 0.14611, "t_opt": 4.9,
           "product_qcrb": 0.2, "reference_qcrb": 0.15, "bound_qcrb": 0.12, "fraction": 1.0}
    ghz = {**row, "probe": "GHZ", "qcrb": 0.16}
    for name, wall, overrides in (("a", 1.5, ["+exp=table1"]),
                                  ("b", 2.5, ["+exp=table1", "seed=0"])):
        d = tmp_path / name
        _hydra_dir(d, overrides)
        write_csv(d, "table1", [{**r, "search_wall_s": wall} for r in (row, ghz)])
        (d / "results.json").write_text(json.dumps({
            "task": "table1", "tables": {"table1": "table1.csv"}, "config": {"seed": 0},
            "overrides": overrides}))
    payload = aggregate.aggregate(tmp_path)
    assert payload["metrics"]["n_finished"] == 2
    rows = read_csv(tmp_path / "aggregate" / "table1.csv")
    assert sorted(r["probe"] for r in rows) == ["GHZ", "VQS"]
    md = (tmp_path / "aggregate" / "table1.md").read_text()
    rows = [{k: aggregate._num(v) for k, v in r.items()} for r in rows]
    assert "## VQS against the reference optima and the upper bound" in md
    assert md == table1.table_markdown(rows, [0.1], ["dephasing"])


def test_aggregate_writes_one_table1_per_configuration(tmp_path):
    """Two table1 cells of the same (sensing, N, gamma, noise) run with different search
    settings: each keeps its own table in table1.md (before, they shared one table and the
    last cell's value won the entry silently)."""
    from experiments.outputs import write_csv
    from experiments.tasks import table1

    base = {"sensing": "single", "probe": "VQS", "n_qubits": 2, "gamma": 0.1,
            "noise": "dephasing", "paper_value": 0.14611, "t_opt": 4.9, "product_qcrb": 0.2,
            "reference_qcrb": 0.15, "bound_qcrb": 0.12, "fraction": 1.0}
    values = {"a": (8, 0.151), "b": (16, 0.1502)}
    for name, (pop, qcrb) in values.items():
        d = tmp_path / name
        overrides = ["+exp=table1", f"search.population={pop}"]
        _hydra_dir(d, overrides)
        write_csv(d, "table1", [{**base, "qcrb": qcrb},
                                {**base, "probe": "GHZ", "qcrb": 0.16}])
        (d / "results.json").write_text(json.dumps({
            "task": "table1", "tables": {"table1": "table1.csv"},
            "config": {"seed": 0, "search": {"population": pop},
                       "table1": {"gammas": [0.1], "reference_worker": name == "a"}},
            "overrides": overrides}))
    aggregate.aggregate(tmp_path)
    md = (tmp_path / "aggregate" / "table1.md").read_text()
    rows = [{k: aggregate._num(v) for k, v in r.items()}
            for r in read_csv(tmp_path / "aggregate" / "table1.csv")]
    parts = md.split("# Configuration: ")[1:]
    assert len(parts) == 2  # reference_worker does not split configurations; population does
    for pop, qcrb in values.values():
        (part,) = [p for p in parts if p.startswith(f"search.population = {pop}\n")]
        mine = [r for r in rows if r["search.population"] == pop]
        want = table1.table_markdown(mine, [0.1], ["dephasing"])
        assert part.split("\n\n", 1)[1].rstrip("\n") == want.rstrip("\n")
        assert f"{qcrb:.4f}" in part


FIG5 = ["+exp=fig5", "fig5.storage_capacities=[0,800]", "fig5.methods=[SOS,NSS]",
        "routing.network.n_base_stations=6", "routing.network.max_real_paths=2",
        "routing.network.max_virtual_paths=2", "routing.network.max_storage_paths=1",
        "progress=false"]


def test_aggregate_never_averages_fig5_cells_of_different_configurations(tmp_path):
    """Three fig5 cells: seeds 1 and 2 of one network (3 slots), and seed 1 of another (4
    slots). The aggregate's mean and std are per configuration: the 3-slot cells averaged
    over their two seeds (the mean of their own rows), the 4-slot cell alone (its own row),
    never the three together, also when the 4-slot cell's recorded overrides do not say so
    (its config does: a conf default changed between the runs)."""
    import numpy as np

    sweep = tmp_path / "sweep"
    specs = {"0": ["fig5.seeds=[1]", "routing.network.n_slots=3"],
             "1": ["fig5.seeds=[2]", "routing.network.n_slots=3"],
             "2": ["fig5.seeds=[1]", "routing.network.n_slots=4"]}
    own = {}
    for num, extra in specs.items():
        ov = _hydra_dir(sweep / num, [*FIG5, *extra])
        run_cell(load_config(ov), sweep / num, ov)
        own[num] = read_csv(sweep / num / "fig5.csv")

    def egr(num, method, cap):
        (r,) = [r for r in own[num] if r["method"] == method
                and float(r["storage_capacity"]) == cap]
        return float(r["egr"])

    assert egr("2", "SOS", 800.0) != egr("0", "SOS", 800.0)  # the networks differ

    def check():
        aggregate.aggregate(sweep)
        summary = read_csv(sweep / "aggregate" / "fig5_summary.csv")
        assert len(summary) == 2 * 2 * 2  # (method, capacity) x two configurations
        for s in summary:
            m, cap, slots = s["method"], float(s["storage_capacity"]), s[
                "routing.network.n_slots"]
            cells = ["0", "1"] if slots == "3" else ["2"]
            want = [egr(c, m, cap) for c in cells]
            assert int(s["n_seeds"]) == len(want)
            assert float(s["egr_mean"]) == pytest.approx(np.mean(want), rel=1e-12)
            assert float(s["egr_std"]) == pytest.approx(np.std(want), rel=1e-12, abs=1e-12)
        rows = read_csv(sweep / "aggregate" / "fig5.csv")
        assert len(rows) == 3 * 4 and all(r["routing.network.n_slots"] in ("3", "4")
                                          for r in rows)

    check()
    # the same difference recorded only in the cells' configs (their conf default of n_slots
    # changed between runs): no cell's overrides name it, so it is no swept key
    for num in specs:
        ov = [o for o in [*FIG5, *specs[num]] if not o.startswith("routing.network.n_slots")]
        for f in ("results.json", "cell.json"):
            rec = json.loads((sweep / num / f).read_text())
            rec["overrides"] = ov
            (sweep / num / f).write_text(json.dumps(rec))
        _hydra_dir(sweep / num, ov)
    assert "routing.network.n_slots" not in aggregate._swept_scalars(
        aggregate.find_cells(sweep))
    check()
