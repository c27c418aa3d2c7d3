"""table1 / fig2 report the reference optima and the CE bound beside every VQS cell: the
reference worker, resume, validation. (The columns' consistency, bound <= reference <= ... on
the QCRB scale, fraction and warnings are checked on tests/qsense/test_vqs_experiments.py's
tiny table1 run, which computes them: one table1 run fewer.)"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from experiments import vqs_common
from experiments.outputs import read_csv
from experiments.run import execute, to_config
from experiments.schema import ConfigError
from tests.experiments.helpers import TABLE1_TINY_CELL

CONF = str(Path(__file__).resolve().parents[2] / "conf")


def _config(overrides):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return to_config(compose(config_name="config", overrides=overrides))


def test_reference_worker_gives_the_serial_results_and_resumes_its_own_checkpoint(tmp_path):
    """The second process computes exactly what the serial run computes (same seeds), and a
    run that finds a worker's checkpoint from an interrupted run does not recompute it."""
    ov = TABLE1_TINY_CELL
    serial = execute(_config([*ov, "table1.reference_worker=false"]), tmp_path / "serial")
    worker = execute(_config(ov), tmp_path / "worker")
    assert (tmp_path / "worker" / "table1_references_checkpoint.json").exists()
    assert not (tmp_path / "serial" / "table1_references_checkpoint.json").exists()

    def strip(rows):
        return [{k: v for k, v in r.items() if "wall" not in k} for r in rows]

    a, b = (read_csv(tmp_path / d / "table1.csv") for d in ("serial", "worker"))
    assert strip(a) == strip(b) and len(a) == 2
    assert serial["metrics"]["fraction_by_cell"] == worker["metrics"]["fraction_by_cell"]
    # an interrupted run: main checkpoint without references, the worker's file complete
    ck = json.loads((tmp_path / "worker" / "table1_checkpoint.json").read_text())
    ck["cells"] = {k: v for k, v in ck["cells"].items() if not k.startswith(("ref|", "bound|"))}
    (tmp_path / "worker" / "table1_checkpoint.json").write_text(json.dumps(ck))
    (tmp_path / "worker" / "results.json").unlink()

    def boom(*a, **k):
        raise AssertionError("reference recomputed")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(vqs_common, "cell_references", boom)
        mp.setattr(vqs_common, "cell_bound", boom)
        mp.setattr(vqs_common, "solve", boom)
        again = execute(_config(ov), tmp_path / "worker")
    assert strip(read_csv(tmp_path / "worker" / "table1.csv")) == strip(b)
    assert again["metrics"]["fraction_by_cell"] == worker["metrics"]["fraction_by_cell"]


def test_fraction_warnings():
    import logging

    warns = vqs_common.fraction_warnings([("a", 0.5), ("b", 0.99), ("c", float("nan"))], 0.98,
                                         logging.getLogger("test"))
    assert len(warns) == 1 and "a" in warns[0] and "50.0 %" in warns[0]
    assert vqs_common.fraction(0.2, 0.1) == pytest.approx(0.5)
    assert math.isnan(vqs_common.fraction(0.2, None))
    # the reference is independent of the search: a VQS value above it (beyond numerical noise)
    # is reported, a tie is not
    warns = vqs_common.fraction_warnings([("tie", 1 + 1e-7), ("above", 1.01)], 0.98)
    assert len(warns) == 1 and "above" in warns[0] and "beats the reference" in warns[0]


@pytest.mark.parametrize("override,key", [
    ("table1.reference.restarts=2", "restarts"),
    ("table1.reference.polish=20", "polish"),
    ("table1.reference.n_max_pure=0", "n_max_pure"),
    ("table1.reference.min_fraction=1.5", "min_fraction"),
    ("fig2.reference.bound_grid=1", "bound_grid"),
])
def test_bad_reference_config_is_refused(override, key):
    with pytest.raises(ConfigError, match=key):
        _config(["+exp=table1", override])


def test_not_monotone_flags_only_vqs_rises_where_the_reference_falls():
    from experiments.tasks.table1 import _not_monotone

    def row(n, q, ref):
        return {"sensing": "single", "gamma": 0.1, "noise": "bitflip", "n_qubits": n,
                "probe": "VQS", "qcrb": q, "reference_qcrb": ref}

    assert _not_monotone([row(2, 0.1, 0.09), row(3, 0.05, 0.04)]) == []
    assert _not_monotone([row(2, 0.1, 0.09), row(3, 0.12, 0.04)]) == [
        "single gamma=0.1 bitflip: N=2 -> 3"]
    assert _not_monotone([row(2, 0.1, 0.09), row(3, 0.12, 0.095)]) == []  # reference rises too


def test_bound_below_reference_on_hand_made_rows():
    """table1's bound_below_reference_all: every VQS row's CE bound at most its reference
    (1e-6 relative); GHZ rows and rows without a finite bound or reference are not judged."""
    from experiments.tasks.table1 import bound_below_reference

    def row(probe, bound, ref):
        return {"probe": probe, "bound_qcrb": bound, "reference_qcrb": ref}

    ok = [row("VQS", 1.0, 2.0), row("VQS", 2.0 * (1 + 5e-7), 2.0),
          row("GHZ", 5.0, 1.0), row("VQS", math.nan, 1.0), row("VQS", 3.0, math.nan)]
    assert bound_below_reference(ok)
    assert not bound_below_reference([*ok, row("VQS", 2.0 * (1 + 2e-6), 2.0)])


def test_lowest_fraction_skips_cells_without_a_reference():
    nan = float("nan")
    assert vqs_common.lowest_fraction([("a", 0.97), ("b", nan), ("c", 0.99), ("d", 1.0)]) == 0.97
    assert vqs_common.lowest_fraction([("b", nan)]) is None
    assert vqs_common.lowest_fraction([]) is None


def test_fraction_needs_a_finite_reference_and_a_positive_vqs_value():
    """reference_qcrb / vqs_qcrb; no finite reference (none, or one of zero QFI) or no VQS
    information gives NaN, which the warnings and metrics.min_fraction skip."""
    assert vqs_common.fraction(0.25, 0.2) == pytest.approx(0.8, rel=1e-15)
    for ref, vqs in ((float("inf"), 0.2), (float("nan"), 0.2), (0.1, 0.0), (0.1, -1.0)):
        assert math.isnan(vqs_common.fraction(vqs, ref)), (ref, vqs)


def test_cell_seed_is_stable_and_tells_cells_apart():
    """One seed per (run seed, cell): distinct cells and run seeds get distinct seeds, in
    [0, 2^31 - 1) (what numpy and the references accept), and the same in another process
    with another hash seed (a crc32 of the cell, not Python's salted hash())."""
    import os
    import subprocess
    import sys

    cells = [("table1", "single", n, g, noise) for n in (2, 3, 4) for g in (0.1, 0.01)
             for noise in ("dephasing", "bitflip")]
    seeds = [vqs_common.cell_seed(s, *c) for s in (0, 1, 7) for c in cells]
    assert len(set(seeds)) == len(seeds) and all(0 <= s < 2**31 - 1 for s in seeds)
    code = ("from experiments.vqs_common import cell_seed; "
            "print(cell_seed(7, 'table1', 'single', 4, 0.01, 'bitflip'))")
    for hash_seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": hash_seed},
                             timeout=120, check=True).stdout
        assert int(out) == vqs_common.cell_seed(7, "table1", "single", 4, 0.01, "bitflip")


def test_cell_references_pure_up_to_n_max_pure():
    """The pure reference is computed for N <= reference.n_max_pure (the bound included) and
    replaced by a note above it; started from the product optimum, it is not below it."""
    from experiments.schema import Table1ReferenceConfig

    ref = Table1ReferenceConfig(restarts=4, steps=30, polish=1, polish_iter=30, n_max_pure=2)
    at = vqs_common.cell_references(2, "dephasing", 0.1, "scalar", 1.0, ref, seed=3)
    assert at["pure"] is not None and at["note"] == ""
    assert at["pure"]["value"] >= at["product"]["value"] * (1 - 1e-9)
    above = vqs_common.cell_references(3, "dephasing", 0.1, "scalar", 1.0, ref, seed=3)
    assert above["pure"] is None and "N = 3 > reference.n_max_pure = 2" in above["note"]
