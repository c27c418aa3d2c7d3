"""The quickstart experiment end to end: output contract, physics of its numbers, resume."""

import json
import math

import pytest

from experiments.outputs import read_csv
from experiments.run import execute
from experiments.tasks import quickstart
from tests.experiments.helpers import load_config

SMALL = ["+exp=quickstart", "quickstart.n_max=3", "quickstart.n_t=60", "quickstart.t_max=25",
         "progress=false"]


def test_quickstart_end_to_end_and_resume(tmp_path, monkeypatch):
    cfg = load_config(SMALL)
    payload = execute(cfg, tmp_path)
    res = json.loads((tmp_path / "results.json").read_text())
    for key in ("task", "metrics", "tables", "figures", "config", "versions", "device",
                "wall_time_s", "seed"):
        assert key in res
    assert res["task"] == "quickstart" and res["config"]["quickstart"]["n_max"] == 3
    for fig in res["figures"]:
        assert (tmp_path / fig).stat().st_size > 1000
    rows = read_csv(tmp_path / res["tables"]["quickstart"])
    assert set(rows[0]) >= {"noise", "n_qubits", "t", "qfi"}
    assert len(rows) == 3 * 3 * 60

    # physics: dephasing GHZ curve is N^2 t^2 exp(-2 N gamma t); peak at t = 1/(N gamma)
    gamma = 0.1
    for r in rows:
        if r["noise"] == "dephasing":
            n, t = int(r["n_qubits"]), float(r["t"])
            assert math.isclose(float(r["qfi"]), n**2 * t**2 * math.exp(-2 * n * gamma * t),
                                rel_tol=1e-9)
    peaks = read_csv(tmp_path / res["tables"]["quickstart_peaks"])
    for p in peaks:
        n = int(p["n_qubits"])
        assert p["interior_optimum"] == "True"
        if p["noise"] == "dephasing":
            assert math.isclose(float(p["t_opt"]), 1 / (n * gamma), rel_tol=1e-6)
            assert math.isclose(float(p["qfi_peak"]), 1 / (math.e * gamma) ** 2, rel_tol=1e-9)
            # the table's closed-form columns are those formulas
            assert math.isclose(float(p["t_opt_closed_form"]), 1 / (n * gamma), rel_tol=1e-12)
            assert math.isclose(float(p["qfi_peak_closed_form"]), 1 / (math.e * gamma) ** 2,
                                rel_tol=1e-12)

    # resume: a rerun in the same dir reuses every finished cell (computing one would fail)
    # and reproduces the results
    ckpt = json.loads((tmp_path / "checkpoint.json").read_text())
    assert len(ckpt["cells"]) == 9

    def no_recompute(*args, **kwargs):
        raise AssertionError("a checkpointed cell was computed again")

    monkeypatch.setattr(quickstart, "ghz_qfi_curve", no_recompute)
    again = execute(cfg, tmp_path)
    assert again["metrics"] == payload["metrics"]


def test_peak_zooms_past_the_grid_and_says_when_there_is_no_interior_optimum():
    """`quickstart.peak` on closed-form curves (numpy, no engine): an optimum between grid
    points is found to the zooms' resolution, one on a grid point is kept (a zoom whose own
    points miss it never lowers the peak), and a curve still rising at the grid's end is
    reported there with interior False."""
    import numpy as np

    def ghz(n, gamma=0.1):  # F(t) = N^2 t^2 exp(-2 N gamma t): peak 1/(e gamma)^2 at 1/(N gamma)
        return lambda ts: n**2 * np.asarray(ts) ** 2 * np.exp(-2 * n * gamma * np.asarray(ts))

    grid = np.linspace(26 / 60, 26, 60)  # 10 / 3 and 10 / 7 fall between grid points
    for n in (3, 7):
        f = ghz(n)
        t, peak, interior = quickstart.peak(f, grid, f(grid))
        assert interior and abs(t - 1 / (n * 0.1)) < 2e-5  # spacing 0.44 / ~30^3
        assert peak >= f(grid).max() and math.isclose(peak, 1 / (math.e * 0.1) ** 2,
                                                      rel_tol=1e-9)
    on_grid = np.linspace(0.25, 15, 60)  # t = 5 (N = 2) is grid point 19
    f = ghz(2)
    t, peak, interior = quickstart.peak(f, on_grid, f(on_grid))
    assert interior and peak >= f(np.array([5.0]))[0] * (1 - 1e-15) and abs(t - 5) < 1e-9
    t, peak, interior = quickstart.peak(ghz(1), grid[:20], ghz(1)(grid[:20]))  # still rising
    assert (t, interior) == (grid[19], False) and peak == ghz(1)(grid[19:20])[0]


def test_a_non_finite_curve_fails_the_cell_naming_it(tmp_path, monkeypatch):
    """A NaN in a cell's QFI curve stops the run with an error naming the noise and N, and
    checkpoints nothing for that cell (no NaN in any table)."""
    import numpy as np

    monkeypatch.setattr(quickstart, "ghz_qfi_curve",
                        lambda problem, ts, chunk: np.full(ts.shape, np.nan))
    cfg = load_config(["+exp=quickstart", "quickstart.n_max=1", "quickstart.noises=[bitflip]",
                       "quickstart.n_t=20", "progress=false"])
    with pytest.raises(FloatingPointError, match="noise=bitflip, N=1"):
        execute(cfg, tmp_path)
    ckpt = tmp_path / "checkpoint.json"
    assert not ckpt.exists() or "bitflip/1" not in json.loads(ckpt.read_text())["cells"]
    assert not (tmp_path / "results.json").exists()


def test_checkpoint_rejects_other_settings(tmp_path):
    from experiments.checkpoint import Checkpoint

    Checkpoint(tmp_path / "c.json", meta={"a": 1}).put("x", [1, 2])
    assert Checkpoint(tmp_path / "c.json", meta={"a": 1}).get("x") == [1, 2]
    try:
        Checkpoint(tmp_path / "c.json", meta={"a": 2})
    except ValueError as err:
        assert "other settings" in str(err)
    else:
        raise AssertionError("a checkpoint from other settings must not be reused")


def test_checkpoint_rejects_other_code(tmp_path, monkeypatch):
    """A checkpoint written by other code (a changed source of qsense/routing/experiments)
    is refused, so one table never mixes cells of two code versions; the digest does change
    with the sources."""
    import experiments.checkpoint as ckm
    from experiments.checkpoint import Checkpoint, code_digest

    Checkpoint(tmp_path / "c.json", meta={"a": 1}).put("x", [1, 2])
    assert Checkpoint(tmp_path / "c.json", meta={"a": 1}).get("x") == [1, 2]
    monkeypatch.setattr(ckm, "code_digest", lambda: "0" * 16)
    with pytest.raises(ValueError, match="other code"):
        Checkpoint(tmp_path / "c.json", meta={"a": 1})
    monkeypatch.undo()
    # the digest covers the sources: an edited copy of the tree hashes differently
    src = tmp_path / "tree"
    for pkg in ("qsense", "routing", "experiments"):
        (src / pkg).mkdir(parents=True)
        (src / pkg / "m.py").write_text("x = 1\n")
    fake = src / "experiments" / "checkpoint.py"
    fake.write_text("")
    monkeypatch.setattr(ckm, "__file__", str(fake))
    digests = []
    for edit in (None, "qsense/m.py", "routing/m.py", "experiments/m.py", "rename"):
        if edit == "rename":  # the same bytes under another name: other code
            (src / "routing" / "m.py").rename(src / "routing" / "n.py")
        elif edit is not None:
            (src / edit).write_text("x = 2\n")
        code_digest.cache_clear()
        digests.append(code_digest())
    code_digest.cache_clear()
    assert len(set(digests)) == len(digests) and all(len(d) == 16 for d in digests), digests


def test_a_dropped_cell_stays_dropped_on_reopening(tmp_path):
    """`Checkpoint.drop` (a finished cell's partial progress) is written, like `put`."""
    from experiments.checkpoint import Checkpoint

    ck = Checkpoint(tmp_path / "c.json", meta={"a": 1})
    ck.put("cell/times", [0.5])
    ck.put("cell", 1.0)
    ck.drop("cell/times")
    ck.drop("never/there")
    again = Checkpoint(tmp_path / "c.json", meta={"a": 1})
    assert "cell/times" not in again and again.items() == [("cell", 1.0)]


def test_checkpoint_records_the_host_and_logs_a_resume_on_another(tmp_path, monkeypatch,
                                                                    caplog):
    """Each checkpoint records the cores and XLA pool size it was computed with (the pool
    splits reductions, so rounding); a resume elsewhere keeps its cells but says so, and
    results.json's device record carries the same two numbers."""
    import json
    import logging
    import os

    import experiments.checkpoint as ckm
    from experiments.checkpoint import Checkpoint
    from experiments.outputs import device

    cores = len(os.sched_getaffinity(0))
    pool = int(os.environ.get("PJRT_NPROC") or os.environ.get("NPROC") or cores)
    rec = device()
    assert rec["cpu_cores"] == cores and rec["xla_cpu_pool_threads"] == pool
    path = tmp_path / "c.json"
    Checkpoint(path, meta={"a": 1}).put("x", [1, 2])
    assert json.loads(path.read_text())["host"] == {"cpu_cores": cores,
                                                   "xla_cpu_pool_threads": pool}
    with caplog.at_level(logging.WARNING, logger="experiments.checkpoint"):
        assert Checkpoint(path, meta={"a": 1}).get("x") == [1, 2]
    assert not [r for r in caplog.records if "another host" in r.getMessage()]
    monkeypatch.setattr(ckm, "host", lambda: {"cpu_cores": cores + 7,
                                              "xla_cpu_pool_threads": pool + 7})
    with caplog.at_level(logging.WARNING, logger="experiments.checkpoint"):
        assert Checkpoint(path, meta={"a": 1}).get("x") == [1, 2]
    assert [r for r in caplog.records if "another host" in r.getMessage()]


def test_quickstart_chunks_the_time_axis_when_the_grid_does_not_fit(monkeypatch):
    """The QFI curve goes in fixed-size chunks of times when XLA's plan for the whole grid
    exceeds the memory limit, with the same values; one compiled shape for every chunk."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    import qsense
    from qsense.optimize import program_bytes

    jax.config.update("jax_enable_x64", True)
    problem = qsense.Problem(2, "dephasing", 0.1, "scalar", 1.0)
    ts = jnp.linspace(0.5, 20.0, 23)
    whole = np.asarray(quickstart._qfi_at(problem, ts))
    assert quickstart.time_chunk(problem, ts) == 23  # fits: one call, as before
    need = program_bytes(quickstart._qfi_at, problem, ts)
    assert quickstart.time_chunk(problem, ts, need) == 23  # a plan exactly at the limit fits
    limit = need / 4
    chunk = quickstart.time_chunk(problem, ts, limit)
    # chunks are planned in half the limit: floor((need / 8) / (need / 23)) = 2 times
    assert chunk == 2
    shapes = []
    real = quickstart._qfi_at

    def spy(p, t):
        shapes.append(t.shape)
        return real(p, t)

    monkeypatch.setattr(quickstart, "_qfi_at", spy)
    got = quickstart.ghz_qfi_curve(problem, ts, chunk)
    assert set(shapes) == {(chunk,)} and len(shapes) == -(-23 // chunk)
    np.testing.assert_allclose(got, whole, rtol=1e-12)


def test_quickstart_refuses_an_n_max_that_cannot_fit_before_any_cell(tmp_path, monkeypatch):
    from experiments.run import run_cell
    from experiments.schema import ConfigError

    monkeypatch.setattr(quickstart, "device_memory_limit", lambda *a, **k: 5e3)
    cfg = load_config(["+exp=quickstart", "quickstart.n_max=3", "quickstart.n_t=20",
                       "progress=false"])
    with pytest.raises(ConfigError, match=r"'quickstart\.n_max' = 3 .*fits in memory"):
        run_cell(cfg, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no checkpoint, no failed.json


def test_a_chunked_cell_checkpoints_its_times_and_resumes_mid_cell(tmp_path, monkeypatch):
    """A large N's cell (times in chunks: a minute per time at N = 12) checkpoints every
    chunk; a run cut off mid-cell resumes without computing any saved time again, computes
    no time twice (the zooms reuse the grid's end points), and gives the values of an
    unchunked run; the finished cell's partial record is dropped."""
    import numpy as np

    from experiments.checkpoint import Checkpoint

    over = ["+exp=quickstart", "quickstart.n_min=2", "quickstart.n_max=2",
            "quickstart.noises=[amplitude_damping]", "quickstart.n_t=20", "progress=false"]
    execute(load_config(over), tmp_path / "whole")
    whole = json.loads((tmp_path / "whole" / "checkpoint.json").read_text())["cells"]

    monkeypatch.setattr(quickstart, "time_chunk", lambda *a, **k: 7)
    computed: list[float] = []
    real_qfi = quickstart._qfi_at

    def spy(p, ts):
        computed.extend(np.asarray(ts).tolist())
        return real_qfi(p, ts)

    monkeypatch.setattr(quickstart, "_qfi_at", spy)
    real_put = Checkpoint.put
    puts = []

    def cut_off(self, key, value):
        puts.append(key)
        if len(puts) == 3:
            raise KeyboardInterrupt("cut off mid-cell")
        real_put(self, key, value)

    monkeypatch.setattr(Checkpoint, "put", cut_off)
    d = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        execute(load_config(over), d)
    assert puts == ["amplitude_damping/2/times"] * 3
    saved = json.loads((d / "checkpoint.json").read_text())["cells"]
    first = saved["amplitude_damping/2/times"][0]
    assert len(first) == 14  # two chunks of the 20-point grid

    monkeypatch.setattr(Checkpoint, "put", real_put)
    computed.clear()
    execute(load_config(over), d)
    fresh = set(computed) - {computed[-1]}  # the padding repeats a chunk's last time
    assert not fresh & set(first), "recomputed times the cut-off run had saved"
    got = json.loads((d / "checkpoint.json").read_text())["cells"]
    assert set(got) == {"amplitude_damping/2"}  # the partial record dropped
    np.testing.assert_allclose(got["amplitude_damping/2"]["qfi"],
                               whole["amplitude_damping/2"]["qfi"], rtol=1e-12)
    assert got["amplitude_damping/2"]["t_opt"] == pytest.approx(
        whole["amplitude_damping/2"]["t_opt"], rel=1e-12)
    assert got["amplitude_damping/2"]["qfi_peak"] == pytest.approx(
        whole["amplitude_damping/2"]["qfi_peak"], rel=1e-12)
