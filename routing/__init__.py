"""PS-EGR entanglement routing for satellite-aerial-terrestrial networks (paper 004).

Public API (DESIGN section 8)::

    inst = routing.generate_instance(seed=0, **overrides)   # seed-004 defaults
    sol = routing.solve_milp(inst); sol.objective            # monolithic ground truth
    sol = routing.solve_benders(inst); sol.objective, sol.trace
    routing.write_mps(inst, "model.mps")
    routing.solve_baseline(inst, "SOS" | "RRS" | "NSS")

Instances are physical (routing.topology): Walker satellites by SGP4 over a rotating Earth, HAPs
held over the cities, stations at coordinates, per-slot visibility, and link capacity/fidelity
from qsense.links (routing.link_budget); ``topology=`` reads a GraphML/JSON ground network.
"""

from routing.baselines import (
    BASELINES,
    solve_baseline,
    solve_nss,
    solve_rrs,
    solve_sos,
)
from routing.benders import solve_benders
from routing.export import write_lp, write_mps
from routing.instance import (
    Instance,
    Link,
    Node,
    Pair,
    PathOptions,
    from_graphml,
    load_instance,
    save_instance,
)
from routing.milp import Solution, SolverError, check_solution, solve_milp, with_path_bound
from routing.model import CompiledModel, compile_model
from routing.paths import build_candidates
from routing.purification import path_fidelity, purification_cost, purify
from routing.topology import (
    EXAMPLE_NETWORK,
    GeneratorConfig,
    generate_instance,
    read_ground_network,
)

__all__ = [
    "BASELINES",
    "EXAMPLE_NETWORK",
    "solve_baseline",
    "solve_benders",
    "solve_nss",
    "solve_rrs",
    "solve_sos",
    "write_lp",
    "write_mps",
    "CompiledModel",
    "GeneratorConfig",
    "Instance",
    "Link",
    "Node",
    "Pair",
    "PathOptions",
    "Solution",
    "SolverError",
    "build_candidates",
    "check_solution",
    "compile_model",
    "from_graphml",
    "generate_instance",
    "load_instance",
    "path_fidelity",
    "purification_cost",
    "purify",
    "read_ground_network",
    "save_instance",
    "solve_milp",
    "with_path_bound",
]
