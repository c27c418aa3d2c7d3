"""The fig4 experiment end to end (tiny grid): output contract, physics of its rows, resume,
config validation."""

import json
import math

import numpy as np
import pytest

from experiments.outputs import read_csv
from experiments.run import execute
from experiments.schema import ConfigError
from experiments.tasks.fig4 import crossover_km
from qsense import links as L
from tests.experiments.helpers import load_config

SMALL = ["+exp=fig4", "fig4.n_qubits=2", "fig4.n_distances=5", "fig4.distance_max_km=3000",
         "fig4.n_t=30", "fig4.vqs_steps=3", "fig4.pass_times=31", "progress=false"]


def test_fig4_end_to_end_and_resume(tmp_path):
    cfg = load_config(SMALL)
    execute(cfg, tmp_path)
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["task"] == "fig4"
    for fig in res["figures"]:
        assert (tmp_path / fig).stat().st_size > 1000
    rows = read_csv(tmp_path / res["tables"]["fig4"])
    assert set(rows[0]) >= {"link", "distance_km", "rate_hz", "fidelity", "qfi"}
    assert {r["link"] for r in rows} == {"satellite", "fiber"}
    assert len(rows) == 2 * 2 * 5  # links x probes x distances
    sat = L.SatelliteLink(**vars(cfg.fig4.satellite))
    fib = L.FiberLink(**vars(cfg.fig4.fiber))
    local_peak = math.exp(-2) / 0.1**2  # GHZ peak without links, any N (dephasing)
    for r in rows:
        d = float(r["distance_km"])
        st = L.dual_downlink(sat, d) if r["link"] == "satellite" else L.repeater_chain(fib, d)
        assert float(r["rate_hz"]) == pytest.approx(float(st.rate_hz), rel=1e-12)
        assert float(r["fidelity"]) == pytest.approx(float(st.fidelity), rel=1e-12)
        q = float(r["qfi"])
        assert q >= 0
        if r["probe"] == "GHZ":
            assert q <= local_peak * (1 + 1e-9)
        if float(r["fidelity"]) == 0.25:
            assert q == pytest.approx(0.0, abs=1e-12)
            if r["link"] == "satellite":
                assert "line of sight" in r["reason"] and r["visible"] == "False"
    m = res["metrics"]
    assert m["satellite_max_separation_km"] == pytest.approx(
        float(L.max_dual_separation_km(400.0, 10.0)))
    assert "rate_crossover_km" in m and "fidelity_crossover_km" in m
    sens = read_csv(tmp_path / res["tables"]["fig4_sensitivity"])
    assert len(sens) == 4 * 3

    # resume: a second run in the same dir reuses the checkpoint and writes the same table
    before = (tmp_path / "fig4.csv").read_text()
    execute(cfg, tmp_path)
    assert (tmp_path / "fig4.csv").read_text() == before


def test_crossover_km():
    d = np.array([0.0, 100.0, 200.0, 300.0])
    assert crossover_km(d, [1, 2, 3, 4], [2, 2.5, 2.5, 2.5]) == pytest.approx(150.0)
    assert crossover_km(d, [3, 3, 3, 3], [2, 2, 2, 2]) == 0.0
    assert crossover_km(d, [1, 1, 1, 1], [2, 2, 2, 2]) is None


@pytest.mark.parametrize(("override", "needle"), [
    ("fig4.satellite.altitude_km=50", "satellite link.*altitude_km"),
    ("fig4.satellite.min_elevation_deg=95", "min_elevation_deg"),
    ("fig4.fiber.elementary_fidelity=0.2", "fiber link.*elementary_fidelity"),
    ("fig4.protocol=teleport", r"fig4\.protocol"),
    ("fig4.probes=[GHZ,W]", r"fig4\.probes"),
    ("fig4.distance_min_km=-5", r"fig4\.distance_min_km"),
    ("fig4.n_qubits=1", r"fig4\.n_qubits"),
])
def test_bad_overrides_name_the_key(override, needle):
    with pytest.raises(ConfigError, match=needle):
        load_config(["+exp=fig4", override])


def test_link_profile_can_be_swapped():
    cfg = load_config(["+exp=fig4", "link@fig4.satellite=meo"])
    assert cfg.fig4.satellite.altitude_km == 10000.0
