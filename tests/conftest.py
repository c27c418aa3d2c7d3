"""Test-wide setup: float64 (DESIGN: set by entry points and tests, not the library)."""

import jax

jax.config.update("jax_enable_x64", True)
