"""Matplotlib helpers shared by the tasks (Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NOISE_LABELS = {
    "dephasing": "dephasing N_Z",
    "bitflip": "bit flip N_X",
    "amplitude_damping": "amplitude damping N_A",
    "none": "noiseless",
}


def subplots(ncols: int = 1, nrows: int = 1, width: float = 4.2, height: float = 3.4):
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False, constrained_layout=True)
    return fig, axes


def save(fig, out_dir: Path, name: str) -> str:
    fname = f"{name}.png"
    fig.savefig(out_dir / fname, dpi=130)
    plt.close(fig)
    return fname
