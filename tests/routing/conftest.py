"""Small instances shared by the routing tests."""

import routing

# physical links carry 10^3-10^6 pairs per slot: B_m = 20000 pairs lets storage matter
TINY = dict(n_base_stations=4, n_pairs=1, n_slots=4, n_storage_per_city=1, max_real_paths=2,
            max_virtual_paths=2, max_storage_paths=1, storage_capacity=20000.0)
TINY2 = dict(n_base_stations=4, n_pairs=2, n_slots=3, n_storage_per_city=1, max_real_paths=2,
             max_virtual_paths=2, max_storage_paths=1, storage_capacity=20000.0)
SMALL = dict(n_base_stations=6, n_pairs=2, n_slots=4, n_storage_per_city=1, max_real_paths=2,
             max_virtual_paths=2, max_storage_paths=1, storage_capacity=20000.0)


def tiny(seed, **kw):
    return routing.generate_instance(seed, **{**TINY, **kw})


def small(seed, **kw):
    return routing.generate_instance(seed, **{**SMALL, **kw})
