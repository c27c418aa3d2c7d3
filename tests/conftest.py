"""Test-wide setup: float64 (DESIGN: set by entry points and tests, not the library)."""

import os

# The suite is compile-bound (most tests trace and compile small programs and run them for
# milliseconds): LLVM at -O0 compiles them faster (test_objective's consumer tests 140 -> 95
# CPU-s, test_mixed_precision + test_bounds + an N = 5 search 383 -> 293 CPU-s; the whole test
# command on 2 cores 18.5 -> 15.4 min, 2026-11-29) and leaves
# the arithmetic as written (XLA:CPU keeps IEEE semantics at every level, fast math is off),
# so no tolerance depends on it. Set before jax initializes its backend; the experiments'
# subprocesses and the forced-device run inherit it. A flag the caller sets wins.
_OPT_LEVEL = "--xla_backend_optimization_level"
if _OPT_LEVEL not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_OPT_LEVEL}=0".strip()

# XLA:CPU's legacy elemental emitters instead of its MLIR fusion emitters: they compile the
# suite's programs faster (test_objective's two costliest consumer tests 68.6 -> 40.6 CPU-s;
# the whole test command on 2 cores 20.0 -> 13.5 min, 2271 -> 1497 user CPU-s, 2026-11-30,
# jaxlib 0.10.2), with IEEE arithmetic in both (an N = 5 dephasing QFI moved by 2e-15
# relative) and the same run time. jaxlib 0.11 removed the legacy emitters and aborts on the
# flag as unknown, so it is added only if a child process with it starts JAX's CPU backend
# (~1 s, once: the xdist workers and subprocesses inherit the result). A value the caller
# sets wins.
_EMITTERS = "--xla_cpu_use_fusion_emitters"
_PROBED = "QSENSE_TEST_EMITTERS_PROBED"
if _EMITTERS not in os.environ.get("XLA_FLAGS", "") and _PROBED not in os.environ:
    import subprocess
    import sys

    os.environ[_PROBED] = "1"
    _flags = f"{os.environ.get('XLA_FLAGS', '')} {_EMITTERS}=false".strip()
    try:
        _ok = subprocess.run([sys.executable, "-c", "import jax; jax.devices('cpu')"],
                             env={**os.environ, "XLA_FLAGS": _flags, "JAX_PLATFORMS": "cpu"},
                             capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.SubprocessError):
        _ok = False
    if _ok:
        os.environ["XLA_FLAGS"] = _flags

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

# One persistent compilation cache per test run (experiments.compiled), fresh each run and shared
# by the run's processes: the xdist workers and the experiments' subprocesses inherit the path
# that the first process to import this file (the xdist controller, or the lone pytest process)
# made. Tests compile the same programs many times over (in both workers, after a guard below
# drops the in-memory caches, in experiment subprocesses, and when a resumed experiment
# recompiles what its cut-off run compiled); the cache makes the repeats disk reads. Nothing
# is shared with other runs. QSENSE_COMPILE_CACHE=off turns it off.
if "QSENSE_COMPILE_CACHE" not in os.environ:
    import atexit
    import shutil
    import tempfile

    _cache = tempfile.mkdtemp(prefix="qsense-test-jax-")
    os.environ["QSENSE_COMPILE_CACHE"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)

import pytest  # noqa: E402

from experiments.compiled import enable_compile_cache, map_count, map_limit  # noqa: E402

enable_compile_cache()


@pytest.fixture(autouse=True)
def _bounded_mappings():
    """Drop compiled programs once the process holds half of Linux's vm.max_map_count
    (65530) memory mappings. XLA:CPU maps every compiled kernel into mappings of its own; a
    long-lived test process holding hundreds of modules' executables passed the limit, LLVM
    then failed with "Cannot allocate memory" and the process segfaulted (seen twice in
    CI-sized runs; experiments.compiled). Programs are otherwise kept from test to test and
    module to module: tests share many (the objective, the small searches), and dropping them
    after every module made each module trace, lower and load them again."""
    yield
    maps, limit = map_count(), map_limit()
    if maps is not None and limit is not None and maps > limit // 2:
        jax.clear_caches()


@pytest.fixture
def fresh_jax():
    """For tests that count compilations: start from empty in-memory caches, so the
    compilations counted are the test's own (a program an earlier test left compiled is not
    compiled again, and the count would come out short)."""
    jax.clear_caches()
    yield
