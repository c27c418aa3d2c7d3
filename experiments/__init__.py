"""Hydra experiment layer: configs in, results.json/CSV/PNG out (DESIGN section 6).

`qsense` and `routing` never import Hydra; this package converts the composed config once
(`OmegaConf.to_object`, which also runs the dataclass validation) and calls plain functions.
"""
