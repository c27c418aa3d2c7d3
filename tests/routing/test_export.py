"""MPS and LP files: exact coefficients, names every reader parses, the same optimum in HiGHS."""

import re

import highspy
import pytest

import routing
from routing.model import compile_model
from tests.routing.conftest import tiny, with_memory_time


def _highs_optimum(path) -> float:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.0)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value


@pytest.mark.parametrize("case", ["seed3", "seed0", "priced", "vintages"])
def test_both_files_resolve_to_the_same_optimum(tmp_path, case):
    inst = {"seed3": lambda: routing.generate_instance(3),
            "seed0": lambda: routing.generate_instance(0, n_slots=6),
            "priced": lambda: tiny(6).with_options(path_set="priced"),
            # memory decay: the R rows tie a route's vintages (routing.model)
            "vintages": lambda: with_memory_time(tiny(3, max_storage_paths=2, n_slots=6), 1e3),
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
