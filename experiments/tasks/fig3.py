"""Seed 000 Fig 3: multi-parameter (vector field, (Bx, By, Bz) at 0) sensing under noise
(default dephasing, gamma = 0.1): QCRB = Tr F(t)^-1 of the optimal VQS and GHZ probes versus
t at N = n_max, its minimum and optimal t versus N, the optimal circuit and the Wigner
function. CSV ``fig3.csv``: probe, n_qubits, t, qfi (= 3 / Tr F^-1, the per-parameter QFI of
an isotropic equivalent), qcrb."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from experiments import vqs_common


def run(cfg, out_dir: Path) -> dict[str, Any]:
    return vqs_common.run_figure(cfg, cfg.fig3, "vector", "fig3", out_dir)
