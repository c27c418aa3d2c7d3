"""Compose configs the way ``python -m experiments.run`` does, without a subprocess."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir

from experiments.run import to_config

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"

# A light fig3 reference (the product and pure optima): the tiny fig3 runs of
# tests/experiments/test_resume.py and tests/qsense/test_vqs_experiments.py share it, so
# they share its compiled programs (restarts and steps set their shapes)
FIG3_TINY_REFERENCE = ["fig3.reference.restarts=4", "fig3.reference.steps=20",
                       "fig3.reference.polish=1", "fig3.reference.polish_iter=20"]

# A light table1 reference effort: every table1 test run takes it (the tiny run, its resume,
# the reference worker, two SLURM tasks), so their reference programs are one set
TABLE1_TINY_REFERENCE = ["table1.reference.restarts=6", "table1.reference.steps=150",
                         "table1.reference.bound_grid=9"]

# One tiny table1 cell (single, N = 2, gamma 0.1, dephasing: the first cell of the tiny table1
# run and of test_resume[table1]) with the quick search and the light reference: the two-task
# run and the reference-worker test take it, so all of them share one set of programs
TABLE1_TINY_CELL = ["+exp=table1", "table1.n_min=2", "table1.n_max=2", "table1.gammas=[0.1]",
                    "table1.noises=[dephasing]", "table1.sensing=[single]", "search=quick",
                    "progress=false", *TABLE1_TINY_REFERENCE]


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (exists and is not a zombie; reads /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def tiny_figure(name: str) -> list[str]:
    """The tiny fig2 / fig3 run (N = 2, a 15-point curve, a 9 x 12 Wigner grid, fig3's light
    reference) that test_resume and test_vqs_experiments both run: one set of programs."""
    return [f"{name}.n_min=2", f"{name}.n_max=2", f"{name}.n_t=15",
            f"{name}.wigner_n_theta=9", f"{name}.wigner_n_phi=12",
            *(FIG3_TINY_REFERENCE if name == "fig3" else [])]


def compose_config(overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def load_config(overrides: list[str]):
    return to_config(compose_config(overrides))
