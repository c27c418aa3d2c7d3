"""table1 / fig2 / fig3 experiments end to end at tiny settings (Hydra compose API), output
contract (DESIGN section 6), checkpoint resume, config validation; circuit drawing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from experiments import vqs_common
from experiments.outputs import read_csv
from experiments.run import execute, to_config
from experiments.schema import ConfigError
from qsense import CRX, RY, RZ, make_genome
from qsense.draw import draw_png, draw_text
from tests.experiments.helpers import TABLE1_TINY_REFERENCE, tiny_figure

CONF = str(Path(__file__).resolve().parents[2] / "conf")

# conf/search/quick.yaml: the same program shapes as tests/qsense/test_genetic.py's SMALL
# search and refinement, so the compiled programs are shared within one pytest session
TINY_SEARCH = ["search=quick"]


def _config(overrides):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return to_config(compose(config_name="config", overrides=overrides))


def _tiny(section):
    return [*TINY_SEARCH, "progress=false"]


@pytest.mark.parametrize("name", ["table1", "fig2", "fig3"])
def test_experiment_files_compose(name):
    cfg = _config([f"+exp={name}"])
    assert cfg.task == name


def test_table1_tiny_end_to_end_and_resume(tmp_path, monkeypatch):
    """The tiny table1 run: columns, closed forms, derived metrics, the reference optima and
    CE bound beside every cell (consistency, fraction, warnings), and a resume that computes
    nothing again (one run for all of it: each table1 run compiles its own programs)."""
    ov = ["+exp=table1", "table1.n_max=2", "table1.gammas=[0.1]",
          "table1.noises=[dephasing,amplitude_damping]", *_tiny("table1"),
          *TABLE1_TINY_REFERENCE]
    out = execute(_config(ov), tmp_path)
    rows = read_csv(tmp_path / "table1.csv")
    assert len(rows) == 2 * 2 * 2  # sensing x noise x probe
    for col in ("sensing", "probe", "n_qubits", "gamma", "noise", "qcrb", "t_opt",
                "paper_value"):
        assert col in rows[0]
    cells = {(r["sensing"], r["noise"], r["probe"]): r for r in rows}
    for (sensing, noise, probe), r in cells.items():
        assert float(r["paper_value"]) > 0
        if probe == "VQS":
            assert float(r["qcrb"]) <= float(cells[(sensing, noise, "GHZ")]["qcrb"]) * (1 + 1e-9)
    # GHZ, dephasing, scalar: F = N^2 t^2 e^{-2 N gamma t} peaks at 1/(gamma e)^2 for every N,
    # so the single-parameter bound is (gamma e)^2 at t = 1/(N gamma)
    ghz = cells[("single", "dephasing", "GHZ")]
    assert float(ghz["qcrb"]) == pytest.approx((0.1 * np.e) ** 2, rel=1e-6)
    assert float(ghz["t_opt"]) == pytest.approx(1 / (2 * 0.1), rel=1e-3)
    assert out["metrics"]["vqs_le_ghz_all"] is True
    # the derived columns and metrics, recomputed from the table's own columns
    vqs = {(r["sensing"], r["noise"]): float(r["qcrb"]) for r in rows if r["probe"] == "VQS"}
    gains = [float(cells[(s, nz, "GHZ")]["qcrb"]) / q for (s, nz), q in vqs.items()]
    for r in rows:
        assert float(r["ratio_to_paper"]) == pytest.approx(
            float(r["qcrb"]) / float(r["paper_value"]), rel=1e-12)
        genes = [] if r["probe"] == "GHZ" or r["circuit"] == "(empty: GHZ)" else \
            r["circuit"].split("; ")
        assert int(r["n_gates"]) == len(genes)
    m = out["metrics"]
    assert m["min_vqs_gain"] == pytest.approx(min(gains), rel=1e-12)
    assert m["max_vqs_gain"] == pytest.approx(max(gains), rel=1e-12)
    for nz in ("dephasing", "amplitude_damping"):
        mine = [q for (_, n), q in vqs.items() if n == nz]
        assert m["mean_vqs_qcrb_by_noise"][nz] == pytest.approx(sum(mine) / len(mine), rel=1e-12)
    md = (tmp_path / "table1.md").read_text()
    assert "0.14611" in md and "VQS" in md and "N_Z" in md  # the seed's value beside ours
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["tables"]["table1"] == "table1.csv"

    # the reference optima and the CE bound beside every cell
    for r in rows:
        q, prod, ref, bound = (float(r[k]) for k in ("qcrb", "product_qcrb",
                                                     "reference_qcrb", "bound_qcrb"))
        assert ref <= prod * (1 + 1e-9)  # the pure reference is at least the product one
        assert float(r["fraction"]) == pytest.approx(ref / q, rel=1e-12)
        if r["probe"] == "VQS":
            assert ref <= q * (1 + 1e-6)  # seeded with the VQS probe: never beaten by it
        if r["sensing"] == "single":
            assert bound <= ref * (1 + 1e-9)  # the CE bound is a lower bound on every QCRB
            if r["noise"] == "dephasing":
                # closed forms at N = 2, dephasing, gamma = 0.1: product 2 e^-2 / gamma^2;
                # bound max_t of N^2 t^2 eta^2 / (N (1 - eta^2) + eta^2)
                assert prod == pytest.approx(0.01 * np.e**2 / 2, rel=1e-6)
                assert 1 / 40 < bound < 1 / 27.2
        else:
            assert np.isnan(bound) and "single-parameter" in r["reference_note"]
    fr = [float(r["fraction"]) for r in rows if r["probe"] == "VQS"]
    assert m["min_fraction"] == pytest.approx(min(fr))
    assert isinstance(m["warnings"], list)
    assert len(m["warnings"]) == sum(f < 0.98 for f in fr)
    assert m["bound_below_reference_all"] is True
    vqs_rows = [r for r in rows if r["probe"] == "VQS"]
    assert m["vqs_ge_product_all"] == all(float(r["qcrb"]) <= float(r["product_qcrb"]) * (1 + 1e-6)
                                          for r in vqs_rows)
    assert len(m["vqs_below_product"]) == sum(
        float(r["qcrb"]) > float(r["product_qcrb"]) * (1 + 1e-6) for r in vqs_rows)
    assert m["not_monotone_in_n"] == []  # one N only
    assert "reference" in md
    assert res["metrics"]["warnings"] == m["warnings"]

    # a rerun in the same directory resumes from the checkpoint: no cell, reference or bound
    # is recomputed
    def boom(*a, **k):
        raise AssertionError("cell recomputed")

    for fn in ("solve", "cell_references", "cell_bound"):
        monkeypatch.setattr(vqs_common, fn, boom)
    again = execute(_config(ov), tmp_path)
    assert read_csv(tmp_path / "table1.csv") == rows
    assert again["metrics"]["n_cells"] == out["metrics"]["n_cells"]
    assert again["metrics"]["min_fraction"] == m["min_fraction"]


@pytest.mark.parametrize("name,field", [("fig2", "scalar"), ("fig3", "vector")])
def test_figures_tiny_end_to_end(tmp_path, name, field):
    ov = [f"+exp={name}", *tiny_figure(name), *_tiny(name)]  # test_resume's tiny run too
    out = execute(_config(ov), tmp_path)
    rows = read_csv(tmp_path / f"{name}.csv")
    need = ("probe", "n_qubits", "t", "qfi") + (("qcrb",) if field == "vector" else ())
    assert all(c in rows[0] for c in need)
    assert {r["probe"] for r in rows} == {"VQS", "GHZ"}
    assert len(rows) == 2 * 15
    for f in out["figures"]:
        assert (tmp_path / f).stat().st_size > 1000
    m = out["metrics"]
    assert m["vqs_beats_or_equals_ghz_all_n"] is True
    assert m["interior_peak_n_max"] is True  # noise makes the optimum interior
    # the metrics and columns, recomputed from the tables: the curves' best grid point is
    # inside the grid at N max; the vector field's "qfi" column is 3 / Tr F^-1 (the QFI per
    # component that a field of 3 equally informative components would have)
    n_max = max(int(r["n_qubits"]) for r in rows)
    for probe in ("VQS", "GHZ"):
        curve = [float(r["qcrb" if field == "vector" else "qfi"]) for r in rows
                 if r["probe"] == probe and int(r["n_qubits"]) == n_max]
        best = int(np.argmin(curve) if field == "vector" else np.argmax(curve))
        assert 0 < best < len(curve) - 1
    if field == "vector":
        for r in rows:
            assert float(r["qfi"]) == pytest.approx(3 / float(r["qcrb"]), rel=1e-12)
    peaks = read_csv(tmp_path / f"{name}_peaks.csv")
    t_vqs = [float(r["t_opt"]) for r in sorted(peaks, key=lambda r: int(r["n_qubits"]))
             if r["probe"] == "VQS"]
    assert m["t_opt_vqs_by_n"] == pytest.approx(
        {r["n_qubits"]: float(r["t_opt"]) for r in peaks if r["probe"] == "VQS"}, rel=1e-12)
    assert m["t_opt_falls_with_n"] == all(b <= a * (1 + 1e-6)
                                          for a, b in zip(t_vqs, t_vqs[1:], strict=False))
    assert 0 <= m["wigner_symmetric_weight"] <= 1 + 1e-12 and m["wigner_negativity"] >= 0


@pytest.mark.parametrize("override,key", [
    ("search.operator_probs=[0.5,0.5,0.5,0,0]", r"search\.operator_probs"),
    ("search.population=1", r"search\.population"),
    ("table1.noises=[depolarizing]", "noises"),
    ("search.refine.method=newton", r"search\.refine\.method"),
    ("table1.gammas=[-0.1]", "gammas"),
    ("table1.n_max=13", "n_max"),
])
def test_bad_config_is_refused(override, key):
    with pytest.raises(ConfigError, match=key):
        _config(["+exp=table1", override])


def test_draw_text_and_png(tmp_path):
    g = make_genome([RY, CRX, RZ, 4], [0, 0, 0, 0], [1, 2, 0, 0], [0.5, -1.25, 3.0, 0.0])
    text = draw_text(g, 3)
    lines = text.splitlines()
    assert len(lines) == 3 and all(s.startswith(f"q{i}:") for i, s in enumerate(lines))
    assert "Ry(+0.500)" in lines[1] and "Rx(-1.250)" in lines[2] and "●" in lines[0]
    assert "Rz(+3.000)" in lines[0] and text.count("(") == 3  # the identity gene is skipped
    draw_png(g, 3, tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_draw_text_layout():
    """The exact diagram, laid out by hand: a column as wide as its label + 2, the control
    dot and the crossing mark at the column's middle ((w - 1) // 2), every wire ending in
    one more segment; ``ghz=False`` drops the GHZ column, ``decimals`` sets the digits."""
    g = make_genome([CRX, RY], [2, 0], [0, 1], [0.5, -2.0])
    # CRx 2 -> 0, label "Rx(+0.5)" (8): w = 10; Ry on q1, label "Ry(-2.0)": w = 10
    assert draw_text(g, 3, ghz=False, decimals=1).splitlines() == [
        "q0: ─Rx(+0.5)─" + "─" * 10 + "─",
        "q1: ────┼─────" + "─Ry(-2.0)─" + "─",
        "q2: ────●─────" + "─" * 10 + "─",
    ]
    assert draw_text(g, 3).splitlines()[1] == ("q1: " + "─GHZ─" + "─" * 5 + "┼" + "─" * 6
                                                    + "─Ry(-2.000)─" + "─")


def test_solve_hands_the_product_probe_to_the_search(monkeypatch, caplog):
    """`vqs_common.solve` gives the cell's best product probe to the search as one more start
    (its circuit, `product_genome`, at its time), so the VQS probe is never below it; when
    its 3N - 1 genes exceed search.max_genes it warns and starts without it."""
    import logging
    from types import SimpleNamespace

    from qsense import apply_pqc, ghz_state
    from qsense.objective import Problem

    class Stop(Exception):
        pass

    seen = []

    def search(prob, ga, refine, seed, progress, warm_starts):
        seen.append(warm_starts)
        raise Stop

    monkeypatch.setattr(vqs_common, "find_optimal_probe", search)
    states = np.array([[1.0, 1j], [0.6, 0.8]]) / np.array([[2**0.5], [1.0]])
    product = SimpleNamespace(local_states=states, t=2.5)
    cfg = _config(["+exp=table1", *TINY_SEARCH])  # max_genes 6 >= 3N - 1 = 5 at N = 2
    with pytest.raises(Stop):
        vqs_common.solve(Problem(2, "dephasing", 0.1), cfg.search, 0, False, product=product)
    ((genome, t),) = seen[-1]
    assert t == 2.5 and genome.gate.shape == (cfg.search.max_genes,)
    # the start's circuit turns the GHZ state into the product state itself (up to a phase)
    psi = np.asarray(apply_pqc(ghz_state(2), genome))
    want = np.kron(states[0], states[1])
    assert abs(np.vdot(want, psi)) == pytest.approx(1.0, abs=1e-12)
    caplog.set_level(logging.WARNING, logger="experiments")
    three = SimpleNamespace(local_states=np.array([[1.0, 0.0]] * 3), t=1.0)  # 8 genes > 6
    with pytest.raises(Stop):
        vqs_common.solve(Problem(3, "dephasing", 0.1), cfg.search, 0, False, product=three)
    assert seen[-1] == [] and "no product warm start" in caplog.text
    # the boundary: 3N - 1 = 5 genes (N - 1 CRx, N Ry/Rx, N Rz) fit max_genes = 5 exactly
    five = _config(["+exp=table1", *TINY_SEARCH, "search.max_genes=5"]).search
    with pytest.raises(Stop):
        vqs_common.solve(Problem(2, "dephasing", 0.1), five, 0, False, product=product)
    ((genome, _),) = seen[-1]
    assert abs(np.vdot(want, np.asarray(apply_pqc(ghz_state(2), genome)))) == pytest.approx(
        1.0, abs=1e-12)


def test_peak_checks_read_the_peak_rows():
    """fig2/fig3's self-checks on hand-made peak rows: VQS no worse than GHZ in the field's
    own direction (max F, min Tr F^-1) at every N, both optima interior at the LARGEST N only,
    and the VQS optimal time never rising with N (1e-6 relative)."""
    def rows(values, ts, interior):
        return {n: {"peak": v, "min_qcrb": v, "t_opt": t, "interior_peak": i}
                for n, v, t, i in zip((2, 3, 4), values, ts, interior, strict=True)}

    ns = [2, 3, 4]
    ghz = rows([1.0, 2.0, 3.0], [5.0, 4.0, 3.0], [False, True, True])
    vqs = rows([1.0, 2.5, 3.5], [5.0, 4.0, 4.0 * (1 + 5e-7)], [False, True, True])
    m = vqs_common.peak_checks(vqs, ghz, ns, "scalar")
    assert m["vqs_beats_or_equals_ghz_all_n"] and m["interior_peak_n_max"]
    assert m["t_opt_falls_with_n"]  # a rise within 1e-6 is not a rise
    assert m["t_opt_vqs_by_n"] == {"2": 5.0, "3": 4.0, "4": 4.0 * (1 + 5e-7)}
    assert m["peak_vqs_by_n"] == {"2": 1.0, "3": 2.5, "4": 3.5}
    assert m["peak_ghz_by_n"] == {"2": 1.0, "3": 2.0, "4": 3.0}
    # the same values as Tr F^-1 (vector field): larger is worse, so VQS is beaten
    m = vqs_common.peak_checks(vqs, ghz, ns, "vector")
    assert not m["vqs_beats_or_equals_ghz_all_n"] and "min_qcrb_vqs_by_n" in m
    tie = rows([1.0, 2.0 * (1 + 5e-10), 3.0], [5.0, 4.0, 3.0], [False, True, True])
    assert vqs_common.peak_checks(tie, ghz, ns, "vector")["vqs_beats_or_equals_ghz_all_n"]
    tie[3]["min_qcrb"] = 2.0 * (1 + 2e-9)  # above GHZ's Tr F^-1 by more than 1e-9 at one N
    assert not vqs_common.peak_checks(tie, ghz, ns, "vector")["vqs_beats_or_equals_ghz_all_n"]
    vqs[4]["t_opt"] = 4.0 * (1 + 2e-6)
    assert not vqs_common.peak_checks(vqs, ghz, ns, "scalar")["t_opt_falls_with_n"]
    for probe in (vqs, ghz):  # an optimum at the grid's edge at N max, in either probe
        probe[4]["interior_peak"] = False
        assert not vqs_common.peak_checks(vqs, ghz, ns, "scalar")["interior_peak_n_max"]
        probe[4]["interior_peak"] = True
    vqs[3]["peak"] = 2.0 * (1 - 2e-9)  # below GHZ by more than 1e-9 at one N
    assert not vqs_common.peak_checks(vqs, ghz, ns, "scalar")["vqs_beats_or_equals_ghz_all_n"]
