"""Solver-neutral files of the PS-EGR MILP: free MPS and CPLEX-LP format, exact coefficients.

The files hold exactly the model that :func:`routing.solve_milp` solves (the same
:class:`~routing.model.CompiledModel`): C1-C6 and objective (1). Coefficients are written with
Python's shortest round-trip representation (``repr``), so a reader recovers every float64 bit
(OR-Tools' own exporter rounds to 6 significant digits). Names use only letters, digits and
``_`` and start with a letter, which every MPS and LP reader accepts:

* columns ``x_j`` (binary) and ``y_j`` for candidate path j, ``s_i_t`` (generation over stored
  segment i in slot t), ``z_i_t`` (stock);
* rows ``C1_j``, ``R_j`` (with memory decay: ``x_j = x_h``, vintage j of a route shares the
  choice of its first column h), ``C2_k_t``, ``C3_m_t`` (m: index of the storage node in
  ``stores``), ``C4_e_t`` (e: index of the link in ``inst.links``), ``C5_i_t``, ``C6_i_t``;
  objective ``obj``.

A comment block at the top maps paths, storage nodes and links back to the instance's names.
The objective sense is maximization (an ``OBJSENSE MAX`` section in MPS, ``Maximize`` in LP).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from routing.instance import Instance
from routing.model import CompiledModel, compile_model
from routing.paths import edge_key


def _num(v: float) -> str:
    """Shortest string that reads back as the same float64."""
    v = float(v)
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


class _Matrix:
    """The whole MILP as names, a sparse matrix over [x, v], senses and right-hand sides."""

    def __init__(self, model: CompiledModel):
        m = model
        inst = m.inst
        ny = m.n_y
        self.model = m
        cols = [f"x_{j}" for j in range(ny)] + [f"y_{j}" for j in range(ny)]
        cols += [""] * (m.n_vars - ny)
        for (i, t), c in m.s_index.items():
            cols[ny + c] = f"s_{i}_{t}"
        for (i, t), c in m.z_index.items():
            cols[ny + c] = f"z_{i}_{t}"
        self.cols = cols
        self.n_int = ny
        self.obj = np.concatenate([np.zeros(ny), m.c])
        stores = sorted({s for pr in inst.storage_pairs for s in pr})
        self.stores = stores
        link_index = {edge_key(lk.u, lk.v): e for e, lk in enumerate(inst.links)}
        rows, sense, rhs = [], [], []
        blocks = []
        # C1: y_j - Y_j x_j <= 0
        eye = sp.identity(ny, format="csr")
        blocks.append(sp.hstack([-sp.diags(m.ymax), eye, sp.csr_matrix((ny, m.n_vars - ny))]))
        rows += [f"C1_{j}" for j in range(ny)]
        sense += ["L"] * ny
        rhs += [0.0] * ny
        # R: x_j - x_head = 0, the vintages of a route share its choice (routing.model)
        if m.ties:
            tj, th = zip(*m.ties, strict=True)
            nt = len(m.ties)
            blocks.append(sp.csr_matrix(
                (np.r_[np.ones(nt), -np.ones(nt)], (np.r_[np.arange(nt), np.arange(nt)],
                                                     np.r_[tj, th])), shape=(nt, ny + m.n_vars)))
            rows += [f"R_{j}" for j in tj]
            sense += ["E"] * nt
            rhs += [0.0] * nt
        # C2: sum_p x = 1 per cell with a path
        r, c = [], []
        for g, (k, t, js) in enumerate(m.groups):
            r += [g] * len(js)
            c += list(js)
            rows.append(f"C2_{k}_{t}")
        blocks.append(sp.csr_matrix((np.ones(len(r)), (r, c)),
                                    shape=(len(m.groups), ny + m.n_vars)))
        sense += ["E"] * len(m.groups)
        rhs += [1.0] * len(m.groups)
        # C3-C5 and C6 over v
        for row in m.ub_rows:
            fam, key = row.family, row.key
            if fam == "C3":
                rows.append(f"C3_{stores.index(key[0])}_{key[1]}")
            elif fam == "C4":
                rows.append(f"C4_{link_index[key[0]]}_{key[1]}")
            else:
                rows.append(f"C5_{key[0]}_{key[1]}")
        blocks.append(sp.hstack([sp.csr_matrix((len(m.ub_rows), ny)), m.A_ub]))
        sense += ["L"] * len(m.ub_rows)
        rhs += list(m.b_ub)
        rows += [f"C6_{row.key[0]}_{row.key[1]}" for row in m.eq_rows]
        blocks.append(sp.hstack([sp.csr_matrix((len(m.eq_rows), ny)), m.A_eq]))
        sense += ["E"] * len(m.eq_rows)
        rhs += [0.0] * len(m.eq_rows)
        self.A = sp.vstack(blocks).tocsr()
        self.rows, self.sense, self.rhs = rows, sense, np.array(rhs, float)
        assert len(set(rows)) == len(rows) and len(set(cols)) == len(cols)

    def comments(self, mark: str) -> list[str]:
        m = self.model
        inst = m.inst
        out = [f"{mark} PS-EGR MILP of instance {inst.name!r} (routing.export); maximize",
               f"{mark} path set: {m.path_set}"]
        for j, p in enumerate(m.paths):
            fill = (m.cands.segments[p.stored].fill_slot if p.stored is not None else None)
            out.append(f"{mark} path {j}: pair {p.pair} slot {p.slot} {p.kind} "
                       f"{'-'.join(p.nodes)}"
                       + ("" if fill is None else f" stored in slot {fill}"))
        for i, s in enumerate(self.stores):
            out.append(f"{mark} store {i}: {s}")
        for e, lk in enumerate(inst.links):
            out.append(f"{mark} link {e}: {lk.u}-{lk.v}")
        return out


def mps_text(model: CompiledModel) -> str:
    mx = _Matrix(model)
    lines = mx.comments("*")
    name = re.sub(r"\W", "_", model.inst.name) or "psegr"
    lines += [f"NAME {name}", "OBJSENSE", "    MAX", "ROWS",
              " N obj"]
    lines += [f" {s} {r}" for s, r in zip(mx.sense, mx.rows, strict=True)]
    lines.append("COLUMNS")
    A = mx.A.tocsc()
    for c, name in enumerate(mx.cols):
        if c == 0 and mx.n_int:
            lines.append("    MARKER 'MARKER' 'INTORG'")
        entries = []
        if mx.obj[c] != 0:
            entries.append(("obj", mx.obj[c]))
        for k in range(A.indptr[c], A.indptr[c + 1]):
            if A.data[k] != 0:
                entries.append((mx.rows[A.indices[k]], A.data[k]))
        if not entries:  # keep the column in the file
            entries.append(("obj", 0.0))
        lines += [f"    {name} {r} {_num(v)}" for r, v in entries]
        if c == mx.n_int - 1:
            lines.append("    MARKER 'MARKER' 'INTEND'")
    lines.append("RHS")
    lines += [f"    RHS {r} {_num(v)}" for r, v in zip(mx.rows, mx.rhs, strict=True) if v != 0]
    lines.append("BOUNDS")
    lines += [f" UP BND {mx.cols[j]} 1" for j in range(mx.n_int)]
    lines.append("ENDATA")
    return "\n".join(lines) + "\n"


def _terms(pairs) -> list[str]:
    """' + 1.5 y_0 - 2 x_0' split over lines of at most 8 terms (LP readers limit lines)."""
    parts = [f"{'-' if v < 0 else '+'} {_num(abs(v))} {n}" for n, v in pairs]
    return [" ".join(parts[i:i + 8]) for i in range(0, len(parts), 8)] or ["0 x_0"]


def lp_text(model: CompiledModel) -> str:
    mx = _Matrix(model)
    lines = mx.comments("\\")
    lines.append("Maximize")
    obj = [(mx.cols[c], mx.obj[c]) for c in np.flatnonzero(mx.obj)]
    t = _terms(obj)
    lines.append(f" obj: {t[0]}")
    lines += [f"   {x}" for x in t[1:]]
    lines.append("Subject To")
    A = mx.A
    op = {"L": "<=", "E": "=", "G": ">="}
    for r, name in enumerate(mx.rows):
        lo, hi = A.indptr[r], A.indptr[r + 1]
        pairs = [(mx.cols[c], v) for c, v in zip(A.indices[lo:hi], A.data[lo:hi], strict=True)
                 if v != 0]
        if not pairs:
            continue
        t = _terms(pairs)
        lines.append(f" {name}: {t[0]}")
        lines += [f"   {x}" for x in t[1:]]
        lines[-1] += f" {op[mx.sense[r]]} {_num(mx.rhs[r])}"
    lines.append("Binary")
    lines += [f" {mx.cols[j]}" for j in range(mx.n_int)]
    lines.append("End")
    return "\n".join(lines) + "\n"


def model_text(inst: Instance | CompiledModel, fmt: str = "mps") -> str:
    """The MILP of ``inst`` as text in ``fmt`` ("mps" | "lp")."""
    model = inst if isinstance(inst, CompiledModel) else compile_model(inst)
    if fmt == "mps":
        return mps_text(model)
    if fmt == "lp":
        return lp_text(model)
    raise ValueError(f"fmt = {fmt!r} is invalid; accepted: one of ['mps', 'lp']")


def write_mps(inst: Instance | CompiledModel, path: str | Path) -> Path:
    """Write the MILP of ``inst`` as a free-format MPS file (exact coefficients); return path."""
    path = Path(path)
    path.write_text(model_text(inst, "mps"))
    return path


def write_lp(inst: Instance | CompiledModel, path: str | Path) -> Path:
    """Write the MILP of ``inst`` in CPLEX-LP format (exact coefficients); return the path."""
    path = Path(path)
    path.write_text(model_text(inst, "lp"))
    return path
