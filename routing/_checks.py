"""Input predicates shared by the routing modules."""

from __future__ import annotations


def is_count(value) -> bool:
    """Whether ``value`` is a plain Python ``int`` and not a ``bool`` (``True`` would read as
    1 slot, round or iteration). numpy integers are refused on purpose: instance and option
    fields reach ``json.dumps`` (`routing.export`, the experiments' checkpoints)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_plain_real(value) -> bool:
    """Whether ``value`` is a Python ``int`` or ``float`` (numpy's float64 is one) and not a
    ``bool``: ``True`` read as a fidelity of 1, a capacity of 1 pair or a 1 s slot, and a JSON
    ``true`` in an instance file was taken as such. Narrower than `qsense._checks.is_real`,
    which accepts every numpy real scalar: instance fields go to ``json.dumps``, which refuses
    a float32 (`routing.Node` converts its storage to float instead)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_instance(inst, name: str = "inst", compiled: bool = False) -> None:
    """``ValueError`` naming ``name`` unless ``inst`` is a `routing.Instance` (or, with
    ``compiled``, a `routing.CompiledModel`): anything else used to fail later with an
    ``AttributeError`` about some field of it."""
    from routing.instance import Instance
    from routing.model import CompiledModel

    kinds = (Instance, CompiledModel) if compiled else (Instance,)
    if not isinstance(inst, kinds):
        shown = repr(inst)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        accepted = ("a routing.Instance (routing.generate_instance, routing.load_instance, "
                    "routing.from_graphml)" + (" or a routing.CompiledModel" if compiled else ""))
        raise ValueError(f"{name} = {shown} ({type(inst).__name__}) is invalid; accepted: "
                         f"{accepted}")
