"""Test-wide setup: float64 (DESIGN: set by entry points and tests, not the library)."""

import jax

jax.config.update("jax_enable_x64", True)


import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _fresh_jax_caches():
    """Drop compiled programs after each test module: a long-lived test process holding
    ~600 modules' executables crashed twice inside XLA's CPU compiler (segfault in
    backend_compile_and_load, never reproducible when the test runs alone)."""
    yield
    jax.clear_caches()
