"""Test-wide setup: float64 (DESIGN: set by entry points and tests, not the library)."""

import os

import jax

jax.config.update("jax_enable_x64", True)
# hermetic tests: no persistent compilation cache shared between runs (experiments.compiled)
os.environ.setdefault("QSENSE_COMPILE_CACHE", "off")

import pytest  # noqa: E402

from experiments.compiled import map_count, map_limit  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _fresh_jax_caches():
    """Drop compiled programs after each test module. XLA:CPU maps every compiled kernel into
    memory mappings of its own; a long-lived test process holding hundreds of modules'
    executables passes Linux's vm.max_map_count (65530), LLVM then fails with "Cannot allocate
    memory" and the process segfaults (seen twice in CI-sized runs; experiments.compiled)."""
    yield
    jax.clear_caches()


@pytest.fixture(autouse=True)
def _bounded_mappings():
    """The same guard inside a module that compiles a lot: clear when past half the limit."""
    yield
    maps, limit = map_count(), map_limit()
    if maps is not None and limit is not None and maps > limit // 2:
        jax.clear_caches()
