"""table1 and fig5 print a short summary at the end of a run, as quickstart and routing_quick
do: what was computed, the key metrics, where the files are."""

from __future__ import annotations

from experiments.run import execute
from experiments.tasks import table1
from tests.experiments.helpers import load_config

TINY_NET = ["routing.network.n_base_stations=6", "routing.network.n_slots=3",
            "routing.network.max_real_paths=2", "routing.network.max_virtual_paths=2",
            "routing.network.max_storage_paths=1"]


def test_fig5_prints_a_summary(tmp_path, capsys):
    cfg = load_config(["+exp=fig5", "fig5.storage_capacities=[0,800]", "fig5.seeds=[1]",
                       "fig5.methods=[SOS,NSS]", "progress=false", *TINY_NET])
    payload = execute(cfg, tmp_path)
    out = capsys.readouterr().out
    assert "fig5: EGR, mean ± std over 1 seed(s); 4 cells, all optimal:" in out
    assert "B_m" in out and "SOS" in out and "NSS" in out
    sos = payload["metrics"]["SOS/B=800.0"]["mean"]
    assert f"{sos:.3f}" in out
    assert f"files: {tmp_path / 'fig5.csv'}, fig5_summary.csv, fig5.png" in out


def test_table1_prints_a_summary(tmp_path, capsys, monkeypatch):
    """The searches and references stubbed (their numbers are other tests' business)."""
    def cell(cfg, sensing, n, gamma, noise, seed, progress):
        return {"wall_s": 0.5, "circuit": "Ry(q0)", "gate": [0],
                "VQS": {"qcrb": 0.1 / n, "t_opt": 1.0, "merit": 10.0 * n},
                "GHZ": {"qcrb": 0.2 / n, "t_opt": 1.0, "merit": 5.0 * n}}

    def references(cfg, ck, sensing, n, gamma, noise):
        key, bkey = table1._reference_keys(cfg, sensing, n, gamma, noise)
        ck.put(key, {"product": {"qcrb": 0.3, "t": 1.0}, "pure": {"qcrb": 0.1 / n, "t": 1.0},
                     "note": "", "wall_s": 0.25})
        if bkey is not None:
            ck.put(bkey, {"qcrb": 0.05 / n, "t": 1.0, "wall_s": 0.25})

    monkeypatch.setattr(table1, "_cell", cell)
    monkeypatch.setattr(table1, "_references", references)
    cfg = load_config(["+exp=table1", "search=quick", "table1.n_max=3", "table1.gammas=[0.1]",
                       "table1.noises=[dephasing,bitflip]", "table1.sensing=[single]",
                       "table1.reference_worker=false", "progress=false"])
    table1.run(cfg, tmp_path)
    out = capsys.readouterr().out
    assert ("table1: 4 cells (sensing single; N 2..3; gamma 0.1; noise bitflip, dephasing), "
            "VQS and GHZ in each") in out
    assert "VQS <= GHZ in every cell: True (QCRB gain GHZ/VQS 2.000..2.000)" in out
    assert "fraction of the reference optimum: min 1.000" in out
    assert "search 2.0 s, references 2.0 s" in out
    assert f"files: {tmp_path / 'table1.csv'}, table1.md" in out


def test_table1_markdown_layout_with_a_cell_off_the_paper_and_one_not_run():
    """The seed's layout, written out by hand: rows (sensing, probe, N) with VQS first,
    columns gamma x noise; 'ours (paper, ratio)' where the paper has the cell (seed 000's
    Table 1: single VQS N = 2 at gamma = 0.1 under N_Z is 0.14611), the value alone at a
    gamma the paper did not run (0.3), and an empty cell for one this sweep did not run."""
    assert table1.paper_value("single", "VQS", 2, 0.1, "dephasing") == 0.14611
    assert table1.paper_value("single", "VQS", 2, 0.3, "dephasing") is None
    assert table1.paper_value("single", "VQS", 9, 0.1, "dephasing") is None
    rows = [{"sensing": "single", "probe": "GHZ", "n_qubits": 2, "gamma": 0.1,
             "noise": "dephasing", "qcrb": 0.2, "paper_value": 0.25},
            {"sensing": "single", "probe": "VQS", "n_qubits": 2, "gamma": 0.1,
             "noise": "dephasing", "qcrb": 0.15, "paper_value": 0.14611},
            {"sensing": "single", "probe": "VQS", "n_qubits": 2, "gamma": 0.3,
             "noise": "dephasing", "qcrb": 0.5, "paper_value": None}]
    assert table1.markdown(rows, [0.1, 0.3], ["dephasing"]) == (
        "| Method | Probe | N | γ=0.1 N_Z | γ=0.3 N_Z |\n"
        "|---|---|---|---|---|\n"
        "| single-parameter | VQS | 2 | 0.15000 (0.14611, ×1.03) | 0.50000 |\n"
        "| single-parameter | GHZ | 2 | 0.20000 (0.25000, ×0.80) |  |\n")
