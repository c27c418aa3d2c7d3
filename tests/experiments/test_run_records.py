"""experiments.run's record keeping, function by function: the config difference a refused
rerun prints, the Hydra files and log files it puts back. (test_rerun_refusal.py runs them end
to end through Hydra; these check the rules it does not reach: the difference's cut-off, the
sweep's multirun.yaml, a log file the refused rerun created, a log outside the run's dir.)"""

from __future__ import annotations

import json
import logging

from experiments import run


def test_config_diff_names_keys_old_new_and_cuts_off_after_the_limit():
    old = {"progress": True, "table1": {f"k{i}": i for i in range(10)}, "seed": 0}
    new = {"progress": False, "table1": {f"k{i}": i + 1 for i in range(10)}, "seed": 0,
           "extra": [1, 2]}
    diff = run.config_diff(old, new, limit=3)
    # 11 keys differ (extra, k0..k9; progress is cosmetic), sorted; 3 shown
    assert diff == 'extra: - -> [1, 2]; table1.k0: 0 -> 1; table1.k1: 1 -> 2; ... 8 more'
    assert run.config_diff(old, old) == ""
    assert diff.count("->") == 3 and len(run.config_diff(old, new).split("; ")) == 9


def test_restore_hydra_files_puts_back_the_owners_files_and_multirun_yaml(tmp_path):
    cell, sweep = tmp_path / "sweep" / "0", tmp_path / "sweep"
    (cell / ".hydra").mkdir(parents=True)
    rec = {"hydra": {"config.yaml": "owner: config\n", "hydra.yaml": "owner: hydra\n",
                     "overrides.yaml": None},  # not there when the owner ran: left alone
           "multirun": {"dir": str(sweep), "text": "owner: multirun\n"}}
    (cell / "cell.json").write_text(json.dumps(rec))
    for name in ("config.yaml", "hydra.yaml", "overrides.yaml"):
        (cell / ".hydra" / name).write_text("refused rerun\n")
    (sweep / "multirun.yaml").write_text("refused rerun\n")
    run.restore_hydra_files(cell)
    assert (cell / ".hydra" / "config.yaml").read_text() == "owner: config\n"
    assert (cell / ".hydra" / "hydra.yaml").read_text() == "owner: hydra\n"
    assert (cell / ".hydra" / "overrides.yaml").read_text() == "refused rerun\n"
    assert (sweep / "multirun.yaml").read_text() == "owner: multirun\n"


def test_log_files_of_the_run_dir_are_cut_back_or_removed(tmp_path):
    d, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    d.mkdir()
    elsewhere.mkdir()
    (d / "job.log").write_text("the owner's line\n")
    logger = logging.getLogger("test_run_records")
    handlers = [logging.FileHandler(d / "job.log"),
                logging.FileHandler(d / "run.log", delay=True),  # opens on its first record
                logging.FileHandler(elsewhere / "other.log")]
    try:
        for h in handlers:
            logger.addHandler(h)
        sizes = run.log_files(d)
        assert sizes == {(d / "job.log").resolve(): len("the owner's line\n"),
                         (d / "run.log").resolve(): -1}  # not elsewhere/other.log
        logger.warning("the refused rerun's line")
        run.restore_log_files(sizes)
        assert (d / "job.log").read_text() == "the owner's line\n"
        assert not (d / "run.log").exists()  # created by the refused rerun: removed
        assert "refused rerun" in (elsewhere / "other.log").read_text()  # not the run's
    finally:
        for h in handlers:
            logger.removeHandler(h)
            h.close()


def test_a_resumed_run_refused_by_its_task_leaves_the_dir_as_its_first_run_left_it(
        tmp_path, monkeypatch):
    """A rerun of an interrupted cell (same settings: accepted, it resumes) whose task then
    refuses to start (a ``ConfigError``, e.g. a size that no longer fits this machine's
    memory): the first run's ``cell.json`` stays (the dir still resumes), its ``.hydra/``
    files are put back, and no ``failed.json`` is written (a refusal is no failure)."""
    import pytest

    from experiments.schema import ConfigError
    from tests.experiments.helpers import load_config

    cfg = load_config(["+exp=quickstart", "quickstart.n_max=1", "progress=false"])
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text("- first run\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "execute", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run.run_cell(cfg, tmp_path, ["first run"])
    first = (tmp_path / "cell.json").read_text()
    (tmp_path / ".hydra" / "overrides.yaml").write_text("- the rerun (Hydra rewrote it)\n")

    def refused(*args, **kwargs):
        raise ConfigError("does not fit")

    monkeypatch.setattr(run, "execute", refused)
    with pytest.raises(ConfigError, match="does not fit"):
        run.run_cell(cfg, tmp_path, ["the rerun"])
    assert (tmp_path / "cell.json").read_text() == first
    assert (tmp_path / ".hydra" / "overrides.yaml").read_text() == "- first run\n"
    assert not (tmp_path / "failed.json").exists()
