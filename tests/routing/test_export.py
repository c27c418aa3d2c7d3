"""MPS and LP files: exact coefficients, names every reader parses, the same optimum in HiGHS."""

import math
import re

import highspy
import pytest

import routing
from routing.model import compile_model
from tests.routing.conftest import tiny, with_memory_time
from tests.routing.test_memory_routes import two_fill_instance


def _highs_optimum(path) -> float:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.0)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value


@pytest.mark.parametrize("case", ["seed3", "seed0", "priced", "vintages", "two vintages drawn"])
def test_both_files_resolve_to_the_same_optimum(tmp_path, case):
    inst = {"seed3": lambda: routing.generate_instance(3),
            "seed0": lambda: routing.generate_instance(0, n_slots=6),
            "priced": lambda: tiny(6).with_options(path_set="priced"),
            # memory decay: the R rows tie a route's vintages (routing.model)
            "vintages": lambda: with_memory_time(tiny(3, max_storage_paths=2, n_slots=6), 1e3),
            # its optimum draws both vintages of one route (test_memory_routes' closed form):
            # an R row that does not tie them to one choice changes the optimum
            "two vintages drawn": lambda: two_fill_instance(1000.0),
            }[case]()
    model = compile_model(inst)
    ref = routing.solve_milp(model)
    assert ref.status == "optimal"
    for write, name in ((routing.write_mps, "m.mps"), (routing.write_lp, "m.lp")):
        path = write(model, tmp_path / name)
        assert _highs_optimum(path) == pytest.approx(ref.objective, rel=1e-9, abs=1e-9)


def test_coefficients_are_written_exactly():
    model = compile_model(routing.generate_instance(3))
    text = routing.export.model_text(model, "mps")
    j = int(next(j for j in range(model.n_y) if model.ymax[j] != round(model.ymax[j], 6)))
    # the C1 coefficient of x_j is -Y_j, written with all its digits
    line = next(ln for ln in text.splitlines() if ln.split()[:2] == [f"x_{j}", f"C1_{j}"])
    assert float(line.split()[2]) == -model.ymax[j]


def test_names_are_plain():
    text = routing.export.model_text(routing.generate_instance(0, n_slots=3), "lp")
    body = [ln for ln in text.splitlines() if not ln.startswith("\\")]
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_\[\]\-,.]*", "\n".join(body)))
    keywords = {"Maximize", "Subject", "To", "Binary", "End", "obj"}
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", n) for n in names - keywords), \
        sorted(n for n in names if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", n))[:5]
    with pytest.raises(ValueError, match="fmt"):
        routing.export.model_text(routing.generate_instance(0, n_slots=3), "xml")


def _read_back(path):
    """The model HiGHS reads from ``path``: {column: (lower, upper, integer, cost)} and
    {row: (lower, upper, {column: coefficient})}."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    lp = h.getLp()
    assert lp.sense_ == highspy.ObjSense.kMaximize
    names = list(lp.col_names_)
    cols = {n: (lp.col_lower_[c], lp.col_upper_[c],
                lp.integrality_[c] == highspy.HighsVarType.kInteger, lp.col_cost_[c])
            for c, n in enumerate(names)}
    rows = {n: (lp.row_lower_[r], lp.row_upper_[r], {}) for r, n in enumerate(lp.row_names_)}
    a = lp.a_matrix_
    assert a.format_ == highspy.MatrixFormat.kColwise
    row_names = list(lp.row_names_)
    for c, n in enumerate(names):
        for k in range(a.start_[c], a.start_[c + 1]):
            rows[row_names[a.index_[k]]][2][n] = a.value_[k]
    return cols, rows


def _comment_map(text):
    """The comment block: paths {j: (pair, slot, kind, nodes, fill slot)}, stores {i: name},
    links {e: (u, v)}."""
    paths, stores, links = {}, {}, {}
    for ln in text.splitlines():
        if m := re.fullmatch(r"[*\\] path (\d+): pair (\d+) slot (\d+) (real|virtual) (\S+)"
                             r"(?: stored in slot (\d+))?", ln):
            paths[int(m[1])] = (int(m[2]), int(m[3]), m[4], tuple(m[5].split("-")),
                                None if m[6] is None else int(m[6]))
        elif m := re.fullmatch(r"[*\\] store (\d+): (\S+)", ln):
            stores[int(m[1])] = m[2]
        elif m := re.fullmatch(r"[*\\] link (\d+): (\S+)-(\S+)", ln):
            links[int(m[1])] = (m[2], m[3])
    return paths, stores, links


def test_rows_and_comments_follow_the_instance(tmp_path):
    """Read back by HiGHS, each file's rows say what the module docstring says, checked
    against the instance's plain data (not the compiled model): C2_k_t is Σ x = 1 over the
    route heads of pair k's slot-t paths (as the comment block names them, endpoints = pair
    k's stations), R_j ties a vintage to its route's head (same pair, slot and nodes),
    C3_m_t caps the stock at the storage of the store the comments call m, C4_e_t the link
    budget of ``inst.links[e]`` at slot t, C6_i_t is the stock balance z_i^t - z_i^{t-1} -
    δ s_i^{t-1} + draws = 0, x binary, y, s, z >= 0. The stores get distinct capacities so a
    store renumbered apart from its comment shows."""
    from dataclasses import replace

    base = with_memory_time(routing.generate_instance(
        3, n_base_stations=4, n_pairs=2, n_slots=5, n_storage_per_city=2,
        max_real_paths=2, max_virtual_paths=2, max_storage_paths=2, link_model="seed"), 1e3)
    stores = sorted({m for pr in base.storage_pairs for m in pr})
    size = {m: 500.0 + 250.0 * i for i, m in enumerate(stores)}
    inst = replace(base, nodes=tuple(replace(n, storage=size.get(n.name, n.storage))
                                     for n in base.nodes))
    model = compile_model(inst)
    delta = inst.slot_duration
    for write, name in ((routing.write_mps, "m.mps"), (routing.write_lp, "m.lp")):
        path = write(model, tmp_path / name)
        paths, store_names, links = _comment_map(path.read_text())
        cols, rows = _read_back(path)
        assert set(store_names.values()) == set(stores)
        assert links == {e: (lk.u, lk.v) for e, lk in enumerate(inst.links)}
        vintages = 0
        for j, (k, t, kind, nodes, fill) in paths.items():
            assert (nodes[0], nodes[-1]) == (inst.pairs[k].src, inst.pairs[k].dst), j
            assert cols[f"x_{j}"][:3] == (0.0, 1.0, True), j
            assert cols[f"y_{j}"][:3] == (0.0, math.inf, False), j
            assert cols[f"y_{j}"][3] == inst.pairs[k].weight[t]
            if f"R_{j}" in rows:  # a vintage tied to its route's head h
                lo, hi, coef = rows[f"R_{j}"]
                assert lo == hi == 0.0 and coef[f"x_{j}"] == 1.0 and len(coef) == 2
                (h,) = (int(c[2:]) for c, v in coef.items() if c != f"x_{j}" and v == -1.0)
                assert paths[h][:4] == (k, t, kind, nodes) and paths[h][4] != fill
                assert f"R_{h}" not in rows
                vintages += 1
            else:  # a route head: in its cell's C2 row
                assert rows[f"C2_{k}_{t}"][2].get(f"x_{j}") == 1.0, j
        assert vintages > 0
        n_c2 = n_c3 = n_c4 = n_c6 = 0
        for r, (lo, hi, coef) in rows.items():
            fam, *ix = r.split("_")
            ix = [int(v) for v in ix]
            if fam == "C2":
                k, t = ix
                assert lo == hi == 1.0
                assert all(v == 1.0 and paths[int(c[2:])][:2] == (k, t)
                           and f"R_{c[2:]}" not in rows for c, v in coef.items())
                n_c2 += 1
            elif fam == "C3":
                m, t = ix
                assert hi == size[store_names[m]] and lo == -math.inf
                assert all(c.startswith("z_") and c.endswith(f"_{t}") and v == 1.0
                           for c, v in coef.items())
                n_c3 += 1
            elif fam == "C4":
                e, t = ix
                u, v = links[e]
                assert hi == inst.links[e].capacity[t] and lo == -math.inf
                for c, val in coef.items():
                    if c.startswith("s_"):
                        assert c.endswith(f"_{t}") and val == delta
                    else:
                        nodes = paths[int(c[2:])][3]
                        assert paths[int(c[2:])][1] == t and val > 0
                        assert {(u, v), (v, u)} & set(zip(nodes, nodes[1:], strict=False))
                n_c4 += 1
            elif fam == "C6":
                i, t = ix
                assert lo == hi == 0.0
                assert coef[f"z_{i}_{t}"] == 1.0
                want = {f"z_{i}_{t - 1}": -1.0} if t >= 2 else {}
                if f"s_{i}_{t - 1}" in cols:
                    want[f"s_{i}_{t - 1}"] = -delta
                assert {c: v for c, v in coef.items() if not c.startswith("y_")} == \
                    {f"z_{i}_{t}": 1.0, **want}
                for c, v in coef.items():  # draws in slot t - 1
                    if c.startswith("y_"):
                        assert paths[int(c[2:])][1] == t - 1 and paths[int(c[2:])][2] == \
                            "virtual" and v > 0
                n_c6 += 1
        assert min(n_c2, n_c3, n_c4, n_c6) > 0
