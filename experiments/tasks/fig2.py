"""Seed 000 Fig 2: single-parameter (scalar field) sensing under noise (default dephasing,
gamma = 0.1): the optimal VQS and the GHZ probes' QFI versus t at N = n_max (center), peak
QFI and optimal t versus N (left, right), the optimal circuit (text + PNG, as Fig 2a) and the
Wigner function of the optimal probe. CSV ``fig2.csv``: probe, n_qubits, t, qfi."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from experiments import vqs_common


def run(cfg, out_dir: Path) -> dict[str, Any]:
    return vqs_common.run_figure(cfg, cfg.fig2, "scalar", "fig2", out_dir)
