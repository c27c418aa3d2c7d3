"""experiments.compiled: the persistent compilation cache is wired to JAX and writes programs
to its directory; ShapeScope frees compiled programs exactly when the shape changes or the
process's memory mappings crowd the kernel's limit."""

import json
import os
import subprocess
import sys

import jax

from experiments import compiled

CHILD = """
import json, jax, jax.numpy as jnp
from experiments.compiled import enable_compile_cache
path = enable_compile_cache()
# a program that compiles in well under JAX's default 1 s threshold: written only because
# enable_compile_cache caches every program (MIN_COMPILE_TIME_S)
jax.jit(lambda x: jnp.sin(x) @ x.T)(jnp.ones((8, 8))).block_until_ready()
print(json.dumps({"path": path, "config": jax.config.jax_compilation_cache_dir}))
"""


def _child(env_update):
    env = {k: v for k, v in os.environ.items()
           if k not in ("QSENSE_COMPILE_CACHE", "JAX_COMPILATION_CACHE_DIR",
                        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS")}
    env.update(env_update)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_compile_cache_writes_programs_to_its_directory(tmp_path):
    d = tmp_path / "cache"
    r = _child({"QSENSE_COMPILE_CACHE": str(d)})
    assert r["path"] == str(d) and r["config"] == str(d)
    assert any(d.iterdir()), "no compiled program was written to the cache"


def test_compile_cache_off():
    r = _child({"QSENSE_COMPILE_CACHE": "off"})
    assert r["path"] is None and not r["config"]


def test_compile_cache_the_users_jax_directory_wins(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    r = _child({"QSENSE_COMPILE_CACHE": str(ours), "JAX_COMPILATION_CACHE_DIR": str(theirs)})
    assert r["path"] == str(theirs) == r["config"] and not ours.exists()
    assert any(theirs.iterdir())  # the tiny program too: every program is cached there
    mine = tmp_path / "mine"  # unless the user's own threshold says otherwise (JAX's 1 s)
    r = _child({"JAX_COMPILATION_CACHE_DIR": str(mine),
                "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "1.0"})
    assert r["path"] == str(mine) and not (mine.exists() and any(mine.iterdir()))


def test_compile_cache_in_an_unwritable_place_runs_without_it():
    r = _child({"QSENSE_COMPILE_CACHE": "/proc/qsense-cache"})  # mkdir fails, even as root
    assert r["path"] is None and not r["config"]


def test_shape_scope_clears_on_shape_change_only(monkeypatch):
    calls = []
    monkeypatch.setattr(jax, "clear_caches", lambda: calls.append(1))
    monkeypatch.setattr(compiled, "map_count", lambda: 100)
    monkeypatch.setattr(compiled, "map_limit", lambda: 65530)
    s = compiled.ShapeScope()
    for key in [(2, "scalar"), (2, "scalar"), (3, "scalar"), (3, "scalar"), (3, "vector")]:
        s.enter(key)
    assert len(calls) == 2 and s.clears == 2


def test_shape_scope_clears_when_mappings_crowd_the_limit(monkeypatch):
    calls = []
    monkeypatch.setattr(jax, "clear_caches", lambda: calls.append(1))
    monkeypatch.setattr(compiled, "map_limit", lambda: 1000)
    monkeypatch.setattr(compiled, "map_count", lambda: 600)
    s = compiled.ShapeScope()
    s.enter("a")
    s.enter("a")
    assert len(calls) == 2


def test_map_count_counts_this_process():
    n = compiled.map_count()
    if n is not None:
        assert n > 10 and compiled.map_limit() > 0
