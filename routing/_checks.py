"""Input predicates shared by the routing modules."""

from __future__ import annotations


def is_count(value) -> bool:
    """Whether ``value`` is a plain Python ``int`` and not a ``bool`` (``True`` would read as
    1 slot, round or iteration). numpy integers are refused on purpose: instance and option
    fields reach ``json.dumps`` (`routing.export`, the experiments' checkpoints)."""
    return isinstance(value, int) and not isinstance(value, bool)
