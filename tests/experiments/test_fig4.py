"""The fig4 experiment end to end (tiny grid): output contract, physics of its rows, resume,
config validation."""

import json

import numpy as np
import pytest

from experiments.outputs import read_csv
from experiments.run import execute
from experiments.schema import ConfigError
from experiments.tasks.fig4 import crossover_km, vqs_margin
from qsense import links as L
from tests.experiments.helpers import load_config

SMALL = ["+exp=fig4", "fig4.n_qubits=2", "fig4.n_distances=5", "fig4.distance_max_km=3000",
         "fig4.n_t=12", "fig4.vqs_steps=3", "fig4.days=1", "fig4.step_s=60",
         "fig4.design_steps=40", "progress=false"]


def test_fig4_end_to_end_and_resume(tmp_path, monkeypatch):
    cfg = load_config(SMALL)
    execute(cfg, tmp_path)
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["task"] == "fig4"
    for fig in res["figures"]:
        assert (tmp_path / fig).stat().st_size > 1000
    rows = read_csv(tmp_path / res["tables"]["fig4"])
    assert set(rows[0]) >= {"link", "distance_km", "rate_hz", "rate_day_hz", "fidelity", "probe",
                            "n_qubits", "qfi", "t_opt", "fisher_per_s"}
    assert {r["link"] for r in rows} == {"satellite", "fiber"}
    assert {r["probe"] for r in rows} == {"GHZ", "product", "VQS"}
    assert len(rows) == 2 * 3 * 5  # links x probes x distances
    fib = L.FiberLink(**vars(cfg.fig4.fiber))
    k = 2 * 2  # distributed, N = 2: two pairs out, two back
    mem, g = cfg.fig4.memory_time_s, cfg.fig4.gamma
    clear = float(np.prod(np.atleast_1d(cfg.fig4.clear_sky_probability)))
    for r in rows:
        d = float(r["distance_km"])
        q, rate = float(r["qfi"]), float(r["rate_hz"])
        assert q >= 0 and int(r["pairs_per_probe"]) == k
        assert float(r["fisher_per_s"]) == pytest.approx(rate / k * q, rel=1e-12, abs=1e-300)
        assert float(r["fisher_per_s_day"]) == pytest.approx(float(r["rate_day_hz"]) / k * q,
                                                             rel=1e-12, abs=1e-300)
        assert float(r["fisher_per_day"]) == pytest.approx(
            86400 * float(r["fisher_per_s_day"]), rel=1e-12, abs=1e-300)
        # the i-th of the K pairs keeps (r/(r+2/T))^(K-i) of its Werner parameter while the
        # probe's pairs are collected; the row's stored fidelity is that of their mean
        w = (4 * float(r["fidelity"]) - 1) / 3 * (rate / (rate + 2 / mem)) ** np.arange(
            k - 1, -1, -1)
        assert float(r["fidelity_after_memory"]) == pytest.approx((3 * w.mean() + 1) / 4,
                                                                  rel=1e-12)
        if r["link"] == "fiber":
            st = L.repeater_chain(fib, d)
            assert rate == pytest.approx(float(st.rate_hz), rel=1e-12)
            assert float(r["rate_day_hz"]) == pytest.approx(rate, rel=1e-12)
            assert float(r["fidelity"]) == pytest.approx(float(st.fidelity), rel=1e-12)
        else:  # pairs per day = the rate while up x the time up x the clear-sky chance
            duty, n_pass = float(r["duty_cycle"]), float(r["passes_per_day"])
            assert 0 <= duty <= 1
            assert float(r["rate_day_hz"]) == pytest.approx(clear * rate * duty, rel=1e-12,
                                                            abs=1e-300)
            assert float(r["mean_pass_s"]) * n_pass == pytest.approx(86400 * duty, rel=1e-12)
        if float(r["fidelity"]) == 0.25:
            assert q == pytest.approx(0.0, abs=1e-12)
        if r["probe"] == "product" and rate > 0:
            # |+>^N, written here: the pairs as collected (w above), the N return pairs a
            # further e^{-2t/T} while the probe senses, and each qubit's equatorial Bloch
            # vector gives (w_out w_back e^{-gt})^2 t^2
            t = float(r["t_opt"])
            want = np.sum((w[:2] * w[2:] * np.exp(-2 * t / mem) * np.exp(-g * t)) ** 2) * t**2
            assert q == pytest.approx(want, rel=1e-9, abs=1e-300)
            assert float(r["concurrent_probes"]) == pytest.approx(rate / k * t, rel=1e-12)
    # the link-aware VQS is never below GHZ or the best product probe, cell by cell
    by = {(r["link"], r["distance_km"], r["probe"]): float(r["qfi"]) for r in rows}
    for (link, dist, probe), q in by.items():
        if probe == "VQS":
            assert q >= by[(link, dist, "GHZ")] - 1e-12
            assert q >= by[(link, dist, "product")] - 1e-12
    m = res["metrics"]
    # the design: altitude and sensing time together. For the product probe the t-dependence
    # of Fisher/s is e^{-2(2/T+gamma)t} t^2 at every altitude, so the best t is 1/(2/T+gamma);
    # the value there is the closed form above at the designed altitude's link; the optimum
    # is no worse than the grid's, and the gradient vanishes there
    ds, fc = m["design"], cfg.fig4
    lam = 2 / fc.memory_time_s
    assert ds["probe"] == "product"
    assert ds["t_grad_opt"] == pytest.approx(1 / (lam + fc.gamma), rel=1e-6)
    sat = L.SatelliteLink(**{**vars(fc.satellite), "altitude_km": ds["altitude_grad_opt_km"]})
    st = L.dual_downlink(sat, fc.design_distance_km)
    rate, t = float(st.rate_hz), ds["t_grad_opt"]
    w = (4 * float(st.fidelity) - 1) / 3 * (rate / (rate + lam)) ** np.arange(k - 1, -1, -1)
    want = rate / k * np.sum((w[:2] * w[2:] * np.exp(-(lam + fc.gamma) * t)) ** 2) * t**2
    assert ds["fisher_per_s_grad_opt"] == pytest.approx(want, rel=1e-9)
    assert ds["fisher_per_s_grad_opt"] >= ds["fisher_per_s_grid_opt"] * (1 - 1e-12)
    assert abs(ds["altitude_grad_opt_km"] / ds["altitude_grid_opt_km"] - 1) <= \
        2 * ds["grid_step_rel"]
    assert np.max(np.abs(ds["dF_dlog_h_t_at_grad_opt"])) <= 1e-6 * ds["fisher_per_s_grad_opt"]
    assert ds["fd_rel_err_at_link"] < 1e-6
    # the default station pair, Delingha -> Lijiang: 1203 km apart (Yin et al., Science 356,
    # 1140 (2017)); its pass list adds up to its statistics over the fig4.days simulated
    pair, days = m["default_pair"], cfg.fig4.days
    assert pair["distance_km"] == pytest.approx(1203, rel=0.01)
    passes = m["default_pair_passes"]
    assert len(passes) >= 1 and m["passes_per_day"] == pair["passes_per_day"] == len(passes) / days
    assert sum(p["duration_s"] for p in passes) == pytest.approx(
        pair["duty_cycle"] * days * 86400, rel=1e-12)
    assert sum(p["pairs"] for p in passes) == pytest.approx(pair["pairs_per_day"] * days,
                                                             rel=1e-12)
    mask = cfg.fig4.satellite.min_elevation_deg
    assert all(min(p["max_elevation_a_deg"], p["max_elevation_b_deg"]) >= mask for p in passes)
    # every crossover and the VQS margin, recomputed from the table's own columns
    dists = sorted({float(r["distance_km"]) for r in rows})

    def col(link, probe, key):
        return [float(r[key]) for r in sorted(rows, key=lambda r: float(r["distance_km"]))
                if r["link"] == link and r["probe"] == probe]

    assert m["crossover_probe"] == "VQS"
    for key, probe, column in (("rate", "GHZ", "rate_hz"), ("rate_day", "GHZ", "rate_day_hz"),
                               ("fidelity", "GHZ", "fidelity"),
                               ("fisher_per_s", "VQS", "fisher_per_s"),
                               ("fisher_per_s_day", "VQS", "fisher_per_s_day"),
                               ("qfi", "GHZ", "qfi"), ("qfi", "product", "qfi"),
                               ("qfi", "VQS", "qfi")):
        name = f"qfi_crossover_km/{probe}" if key == "qfi" else f"{key}_crossover_km"
        assert m[name] == crossover_km(np.array(dists), col("satellite", probe, column),
                                       col("fiber", probe, column)), name
    for link in ("satellite", "fiber"):
        best_other = np.maximum(col(link, "GHZ", "qfi"), col(link, "product", "qfi"))
        assert m["vqs_minus_best_other_min"][link] == pytest.approx(
            float(np.min(np.array(col(link, "VQS", "qfi")) - best_other)), rel=1e-12, abs=1e-300)

    # resume: a rerun must not recompute finished cells (the cell functions are patched to
    # fail) and writes the same table
    import experiments.tasks.fig4 as F

    def boom(*a, **k):
        raise AssertionError("recomputed a finished cell")

    monkeypatch.setattr(F.LP, "optimize_link_probe", boom)
    monkeypatch.setattr(F.LP, "peak_qfi", boom)
    monkeypatch.setattr(F, "_passes", boom)
    monkeypatch.setattr(F.LP, "fisher_rate", boom)  # the design
    before = (tmp_path / "fig4.csv").read_text()
    execute(cfg, tmp_path)
    assert (tmp_path / "fig4.csv").read_text() == before


def test_fig4_says_when_the_satellite_is_never_up(tmp_path):
    """An elevation mask of 89.5 deg leaves no usable pass in a day: a warning and
    ``satellite_never_up``, every satellite figure 0 and no crossover, while the fiber's rows
    are still computed."""
    cfg = load_config([*SMALL, "fig4.satellite.min_elevation_deg=89.5", "fig4.n_distances=2",
                       "fig4.probes=[GHZ]", "fig4.design_steps=0"])
    with pytest.warns(UserWarning, match="satellite delivers no pair at any distance"):
        m = execute(cfg, tmp_path)["metrics"]
    assert m["satellite_never_up"] is True and m["default_pair_passes"] == []
    assert all(m[k] is None for k in ("rate_crossover_km", "fisher_per_s_crossover_km",
                                      "qfi_crossover_km/GHZ"))
    rows = read_csv(tmp_path / "fig4.csv")
    sat = [r for r in rows if r["link"] == "satellite"]
    assert len(sat) == 2 and all(float(r[c]) == 0 for r in sat
                                 for c in ("rate_hz", "rate_day_hz", "qfi", "fisher_per_s"))
    assert float(next(r for r in rows if r["link"] == "fiber")["qfi"]) > 0


def test_vqs_margin_is_the_worst_distance_against_the_best_other_probe():
    """fig4's ``vqs_minus_best_other_min`` (the tiny run above cannot tell: its QFIs are all 0
    at the far distances, so any reduction gives 0 there)."""
    vqs, ghz, product = [3.0, 2.0, 1.0], [1.0, 2.5, 0.0], [2.0, 1.0, 0.5]
    # per distance: 3 - max(1, 2), 2 - max(2.5, 1), 1 - max(0, 0.5): the worst is -0.5
    assert vqs_margin(vqs, [ghz, product]) == -0.5
    assert vqs_margin(vqs, [product]) == 0.5  # 3 - 2, 2 - 1, 1 - 0.5
    assert vqs_margin(vqs, []) == 0.0


def test_fig4_remote_rows_charge_the_bs_qubits_memory(tmp_path):
    """Remote, N = 2: one pair per probe (no collection wait), qubit 1 teleported over a Werner
    pair b = (4F - 1)/3, qubit 0 kept in the BS's memory while the probe senses (depolarized
    to a = e^{-t/T}), dephasing gamma on qubit 1 only (at the sensor node). GHZ:
    QFI = 2 (abc)^2 t^2 / (1 + ab) with c = e^{-gamma t}; |+>^2: (b e^{-gamma t})^2 t^2
    (qubit 0 unused), both written here from the row's own fidelity and t_opt."""
    cfg = load_config([*SMALL, "fig4.protocol=remote", "fig4.probes=[GHZ,product]",
                       "fig4.n_distances=3", "fig4.design_steps=0"])
    execute(cfg, tmp_path)
    rows = read_csv(tmp_path / "fig4.csv")
    mem, g = cfg.fig4.memory_time_s, cfg.fig4.gamma
    checked = 0
    for r in rows:
        assert int(r["pairs_per_probe"]) == 1
        q, t, b = float(r["qfi"]), float(r["t_opt"]), (4 * float(r["fidelity"]) - 1) / 3
        if float(r["rate_hz"]) == 0:
            continue
        a, c = np.exp(-t / mem), np.exp(-g * t)
        want = (2 * (a * b * c) ** 2 * t**2 / (1 + a * b) if r["probe"] == "GHZ"
                else (b * np.exp(-g * t)) ** 2 * t**2)
        assert q == pytest.approx(want, rel=1e-9), r
        checked += 1
    assert checked >= 8
    ro = json.loads((tmp_path / "results.json").read_text())["metrics"]["remote_readout"]
    for link in ("satellite", "fiber"):
        assert ro[link]["probe"] == "GHZ"
        assert 0 < ro[link]["local_fisher"] <= ro[link]["qfi"] * (1 + 1e-9)


def test_crossover_km():
    d = np.array([0.0, 100.0, 200.0, 300.0])
    assert crossover_km(d, [1, 2, 3, 4], [2, 2.5, 2.5, 2.5]) == pytest.approx(150.0)
    assert crossover_km(d, [3, 3, 3, 3], [2, 2, 2, 2]) == 0.0
    assert crossover_km(d, [1, 1, 1, 1], [2, 2, 2, 2]) is None
    # a tie is no overtaking: a satellite that never passes (0) against a fiber that has
    # underflowed to 0 did read as a crossover at the first tie
    assert crossover_km(d, [0, 0, 0, 0], [1, 0, 0, 0]) is None
    assert crossover_km(d, [2, 2, 2, 2], [2, 2, 2, 2]) is None
    assert crossover_km(d, [0, 0, 1, 1], [1, 0, 0, 0]) == pytest.approx(100.0)


@pytest.mark.parametrize(("override", "needle"), [
    ("fig4.satellite.altitude_km=50", r"fig4\.satellite\.altitude_km' = 50"),
    ("fig4.satellite.min_elevation_deg=95", r"fig4\.satellite\.min_elevation_deg"),
    ("fig4.fiber.elementary_fidelity=0.2", r"fig4\.fiber\.elementary_fidelity"),
    ("fig4.protocol=teleport", r"fig4\.protocol"),
    ("fig4.probes=[GHZ,W]", r"fig4\.probes"),
    ("fig4.distance_min_km=-5", r"fig4\.distance_min_km"),
    ("fig4.n_qubits=1", r"fig4\.n_qubits"),
])
def test_bad_overrides_name_the_key(override, needle):
    with pytest.raises(ConfigError, match=needle):
        load_config(["+exp=fig4", override])


def test_link_profile_can_be_swapped():
    cfg = load_config(["+exp=fig4", "link@fig4.satellite=meo", "fig4.orbit=circular"])
    assert cfg.fig4.satellite.altitude_km == 10000.0
