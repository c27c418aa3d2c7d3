"""`experiments.structured.section` on toy library dataclasses: every annotation the library
might use becomes a config key that takes what YAML and the command line write, and the
library's own check (ValueError or TypeError) becomes a ConfigError naming the full key.

The real sections' fields (tuples of floats, ``dict[str, float]``, ``X | None``) are covered
in test_config_source.py; these toy fields are the shapes no library class has yet (a mixed
tuple, dicts with list values or int keys), so the next field added does not break the schema.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from omegaconf import OmegaConf

from experiments.structured import ConfigError, section


@dataclasses.dataclass(frozen=True)
class Toy:
    pair: tuple[int, str] = (1, "a")  # mixed item types
    table: dict[str, tuple[float, ...]] = dataclasses.field(
        default_factory=lambda: {"a": (1.0, 2.0)})  # non-primitive dict values
    weights: dict[int, float] = dataclasses.field(default_factory=lambda: {1: 0.5})  # int keys
    scale: float = 1.0

    def __post_init__(self):
        if self.scale <= 0:  # a str scale raises TypeError here, as a real check might
            raise ValueError(f"scale = {self.scale!r} is invalid; accepted: a value > 0")


ToySection = section(Toy, "ToySection", "toy", module=__name__)


def _merged(*dotlist: str, **tree: Any):
    base = OmegaConf.structured(ToySection)
    over = OmegaConf.from_dotlist(list(dotlist)) if dotlist else OmegaConf.create(tree)
    return OmegaConf.to_object(OmegaConf.merge(base, over))


def test_defaults_come_through_structured():
    toy = OmegaConf.to_object(OmegaConf.structured(ToySection)).build()
    assert toy == Toy(pair=(1, "a"), table={"a": [1.0, 2.0]}, weights={1: 0.5})


def test_a_mixed_tuple_takes_its_own_items():
    # list[int] (the first item's type) would refuse "b"
    assert _merged("pair=[2,b]").build().pair == (2, "b")


def test_a_dict_of_lists_takes_a_new_list_of_ints():
    # dict[str, list[float]] would refuse [3, 4]: OmegaConf does not convert nested ints
    assert _merged("table.b=[3,4]").build().table == {"a": [1.0, 2.0], "b": [3, 4]}


def test_an_int_keyed_dict_keeps_its_keys():
    # dict[str, Any] refuses the int key of the default itself (KeyValidationError)
    assert _merged(weights={2: 0.25}).build().weights == {1: 0.5, 2: 0.25}


def test_sections_do_not_share_a_mutable_default():
    a, b = ToySection(), ToySection()
    a.table["c"] = [5.0]
    a.weights[3] = 1.0
    assert b.table == {"a": [1.0, 2.0]} and b.weights == {1: 0.5}
    assert Toy().table == {"a": (1.0, 2.0)} and Toy().weights == {1: 0.5}


@pytest.mark.parametrize("value,match", [
    (-1.0, r"^config key 'toy\.scale' = -1\.0 is invalid; accepted: a value > 0$"),
    ("x", r"^config section 'toy': '<=' not supported"),  # the library's TypeError
])
def test_library_errors_become_config_errors(value, match):
    with pytest.raises(ConfigError, match=match):
        ToySection(scale=value)
