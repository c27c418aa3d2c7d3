"""Circuit drawings of a PQC genome: text and PNG (the seed's Fig 2a/3a style: the GHZ
preparation, then the PQC with each rotation angle written beside its gate, in red).

Identity (padding) genes are skipped. Angles in radians.
"""

from __future__ import annotations

import numpy as np

from qsense._checks import check_n_qubits
from qsense.genome import CRX, GATE_NAMES, IDENTITY, Genome, validate_genome


def _checked(genome: Genome, n_qubits: int) -> int:
    """The genome must be one genome (G,) whose qubit indices fit ``n_qubits``: else the
    drawing would lose wires (a control on a qubit that is not drawn)."""
    n_qubits = check_n_qubits(n_qubits)
    validate_genome(genome, n_qubits, batch_ndim=0)
    return n_qubits


def _genes(genome: Genome):
    g, c = np.asarray(genome.gate), np.asarray(genome.control)
    t, a = np.asarray(genome.target), np.asarray(genome.angle)
    return [(int(g[i]), int(c[i]), int(t[i]), float(a[i])) for i in range(g.shape[-1])
            if g[i] != IDENTITY]


def draw_text(genome: Genome, n_qubits: int, *, ghz: bool = True, decimals: int = 3) -> str:
    """ASCII/Unicode diagram, one line per qubit (q0 on top, the most significant bit).
    ``ghz``: prefix the GHZ preparation (H on q0, CNOT chain) as one block.
    ``n_qubits`` must cover every qubit the genome uses (else a ValueError)."""
    n_qubits = _checked(genome, n_qubits)
    lines = [f"q{q}: " for q in range(n_qubits)]
    width = max(len(s) for s in lines)
    lines = [s.ljust(width) for s in lines]

    def column(cells: dict[int, str], span: tuple[int, int] | None = None) -> None:
        w = max(len(x) for x in cells.values()) + 2
        for q in range(n_qubits):
            if q in cells:
                lines[q] += "─" + cells[q].center(w - 2, "─") + "─"
            elif span and span[0] < q < span[1]:
                lines[q] += "─" * ((w - 1) // 2) + "┼" + "─" * (w - 1 - (w - 1) // 2)
            else:
                lines[q] += "─" * w

    if ghz:
        column({q: "GHZ" for q in range(n_qubits)})
    for gate, ctrl, tgt, ang in _genes(genome):
        label = f"{GATE_NAMES[gate] if gate != CRX else 'Rx'}({ang:+.{decimals}f})"
        if gate == CRX:
            column({ctrl: "●", tgt: label}, (min(ctrl, tgt), max(ctrl, tgt)))
        else:
            column({tgt: label})
    return "\n".join(s + "─" for s in lines)


def draw_png(genome: Genome, n_qubits: int, path, *, title: str = "", ghz: bool = True,
             decimals: int = 2) -> None:
    """Matplotlib drawing: wires, gate boxes, control dots; angles in red (as in Fig 2a)."""
    # a bare Figure (no pyplot): leaves the user's matplotlib backend and state alone
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    n_qubits = _checked(genome, n_qubits)
    genes = _genes(genome)
    cols = len(genes) + (1 if ghz else 0)
    fig = Figure(figsize=(max(4.0, 1.1 * cols + 1.5), 0.7 * n_qubits + 1.0))
    ax = fig.subplots()
    y = {q: n_qubits - 1 - q for q in range(n_qubits)}
    for q in range(n_qubits):
        ax.plot([-0.6, cols - 0.2], [y[q], y[q]], color="black", lw=1, zorder=0)
        ax.text(-0.75, y[q], f"q{q}", ha="right", va="center")
    x = 0
    if ghz:
        ax.add_patch(Rectangle((x - 0.35, -0.35), 0.7, n_qubits - 0.3, fc="#dddddd",
                                   ec="black", zorder=2))
        ax.text(x, (n_qubits - 1) / 2, "GHZ", ha="center", va="center", rotation=90, zorder=3)
        x += 1
    for gate, ctrl, tgt, ang in genes:
        name = "Rx" if gate == CRX else GATE_NAMES[gate]
        if gate == CRX:
            ax.plot([x, x], [y[ctrl], y[tgt]], color="black", lw=1, zorder=1)
            ax.plot([x], [y[ctrl]], "o", color="black", ms=6, zorder=3)
        ax.add_patch(Rectangle((x - 0.3, y[tgt] - 0.25), 0.6, 0.5, fc="white", ec="black",
                                   zorder=2))
        ax.text(x, y[tgt], name, ha="center", va="center", fontsize=9, zorder=3)
        ax.text(x + 0.06, y[tgt] + 0.28, f"{ang:.{decimals}f}", ha="left", va="bottom",
                fontsize=8, color="red", zorder=3)
        x += 1
    ax.set_xlim(-1.2, cols)
    ax.set_ylim(-0.7, n_qubits - 0.1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


__all__ = ["draw_png", "draw_text"]
