"""Small instances shared by the routing tests."""

from dataclasses import replace

import routing

# the seed's random budgets (link_model="seed") on the physical visibility: budgets that change
# from slot to slot keep storage decisions alive on these tiny model-math instances
TINY = dict(n_base_stations=4, n_pairs=1, n_slots=4, n_storage_per_city=1, max_real_paths=2,
            max_virtual_paths=2, max_storage_paths=1, link_model="seed")
TINY2 = dict(n_base_stations=4, n_pairs=2, n_slots=3, n_storage_per_city=1, max_real_paths=2,
             max_virtual_paths=2, max_storage_paths=1, link_model="seed")
SMALL = dict(n_base_stations=6, n_pairs=2, n_slots=4, n_storage_per_city=1, max_real_paths=2,
             max_virtual_paths=2, max_storage_paths=1, link_model="seed")


def tiny(seed, **kw):
    return routing.generate_instance(seed, **{**TINY, **kw})


def small(seed, **kw):
    return routing.generate_instance(seed, **{**SMALL, **kw})


def with_memory_time(inst, tau):
    """``inst`` with every storage node's memory lifetime set to ``tau`` seconds."""
    stores = {m for pr in inst.storage_pairs for m in pr}
    return replace(inst, nodes=tuple(replace(n, memory_time=tau) if n.name in stores else n
                                     for n in inst.nodes))
