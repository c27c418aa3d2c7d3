"""Engine and GA at scale: population fitness for N = 5..12 and populations up to 4096, GA
generations, and the largest N whose population of 256 fits in the device's memory (issue 15's
GPU figures; runs on any device).

    python benchmarks/scale.py --device gpu                      # the full table on a GPU
    python benchmarks/scale.py --device cpu --sizes 5,8 --populations 256
    python benchmarks/scale.py --smoke --device cpu              # N = 3 (checks it runs)
    python benchmarks/scale.py --memory-limit-gb 16 ...          # as if the device had 16 GB
    python benchmarks/scale.py --device gpu --budget-s 480       # start no cell after 8 min
    bash benchmarks/device_run.sh      # this, engine.py and mixed_precision.py in < 10 min

Fitness cells: `qsense.objective.population_score` (what `make_fitness` calls) on random GHZ + PQC
probes (``--genes`` genes, dephasing gamma = 0.1, t = 1, B0 = 1), float64 and, with
``--dtypes float64,float32``, float32; best of the first call and ``--reps`` more (the first
only, when it took over 10 s), compilation timed apart.
Before a cell runs, XLA's own memory analysis of the compiled program (arguments + outputs +
temporaries) is compared with what the device may use (`qsense.distributed.device_memory_limit`:
the accelerator allocator's limit, or half the host's RAM on a CPU). A cell that does not fit
is recorded as such (with the bytes it needs) and not run; one that still runs out of memory
is recorded as ``oom``.
"Largest N whose population of 256 fits" is the largest N whose population-256 cell ran; a
cell left unrun for lack of budget is still compiled, and the largest N that fits by XLA's
analysis is reported beside it.

GA cells: one generation of `qsense.genetic` (``n_t`` grid times, ``local_steps`` Adam steps,
as in benchmarks/mixed_precision.py), float64 and mixed precision (scored in float32, elite
re-scored in float64), best of ``--reps``; run when XLA's plan of the compiled generation
fits, as `search` decides (since 2026-12-04: the estimate, `qsense.genetic.estimate_bytes`,
an upper bound recorded beside it, had called N = 10 with 256 rows "does not fit" on the
H200, where it runs whole).

Order (`plan_cells`): float64 fitness at ``--fit-population`` for every N first (the GPU targets
and the largest N that fits), then a GA generation at the smallest GA population for every GA
size, then the other fitness and GA cells, so a cut-short run holds the figures most wanted.
Cells that need at least the memory of one that did not fit (same dtype, N and population
both >= its own), the larger populations of an N slower than ``--max-call-s``, and a cell whose
one call the nearest finished cell predicts past what is left of ``--budget-s`` (linear in the
population, 8x per qubit) are recorded as ``not run``, with why.

Checked (the variants must compute one thing): a float32 fitness cell scores the very
circuits of the float64 cell of its N and population (angles rounded to float32) and agrees
with it to `FLOAT32_AGREEMENT` (relative, `max_rel_diff_vs_float64` in the float32 row); a
mixed GA cell's best fitness agrees with the float64 one and each is the float64 objective of
its genome (`benchmarks.mixed_precision.check_row`; ``best_fitness_rel_diff`` and
``rescore_rel_diff`` in the mixed row). A failed check does not stop the cells after it (a
device's minutes): the run ends with SystemExit naming every failure, the JSON written.

Prints Markdown tables and the issue's GPU targets (N = 5: >= 500 000 circuits/s; N = 10:
>= 200 circuits/s; judged met or not only on a GPU), and writes ``benchmarks/scale.json``
(after every cell).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import (  # noqa: E402
    add_device_argument,
    check_close,
    device_record,
    select_device,
)

NOISE, GAMMA, T, B0 = "dephasing", 0.1, 1.0, 1.0
TARGETS = {5: 500_000.0, 10: 200.0}  # circuits/s on a GPU (issue 15)
#: Largest relative difference between a float32 cell's QFIs and the float64 cell's of the
#: same circuits (engine.py's float32 agreement; measured there: 3e-5 at N = 5 to 2e-4 at
#: N = 10). Relative to max(|float64 value|, 1e-3 x the cell's largest), so a circuit whose
#: QFI is ~0 is held to float32 rounding of the cell's scale, not of its own. On NVIDIA GPUs
#: from Ampere on JAX's default precision makes float32 products TF32, which measured 4e-4 to
#: 1.1e-3 on an H200 (N = 5..11) and so can fail this check: run with
#: JAX_DEFAULT_MATMUL_PRECISION=highest for float32 (benchmarks/RESULTS.md, "GPU, part 2").
FLOAT32_AGREEMENT = 1e-3


def _is_oom(err: BaseException) -> bool:
    text = str(err)
    return "RESOURCE_EXHAUSTED" in text or "out of memory" in text.lower()


def xla_bytes(compiled) -> int | None:
    """Arguments + outputs + temporaries of a compiled program, from XLA (None if the backend
    does not say)."""
    ma = compiled.memory_analysis()
    if ma is None:
        return None
    return int(ma.argument_size_in_bytes + ma.output_size_in_bytes + ma.temp_size_in_bytes
               - ma.alias_size_in_bytes)


def fitness_cell(n: int, population: int, dtype: str, *, genes: int, reps: int,
                 limit: float, slow_s: float = 10.0, run: bool = True,
                 values: dict | None = None) -> dict:
    """One (N, population, dtype) cell of the population objective: best of the first call
    of the compiled program and ``reps`` more (only the first when it took > ``slow_s``).
    ``run=False``: compile and check the memory only (status ``fits, not run`` or
    ``does not fit``). The circuits depend on N and the population only (float32 cells round
    the float64 angles), so two dtypes' values compare; ``values``: where a cell that ran
    leaves them, under ``(n, population, dtype)``."""
    import dataclasses

    import jax
    import jax.numpy as jnp
    import numpy as np

    import qsense
    from qsense.objective import Problem, population_score

    cdtype = jnp.complex128 if dtype == "float64" else jnp.complex64
    rdtype = jnp.float64 if dtype == "float64" else jnp.float32
    rec: dict = {"n_qubits": n, "population": population, "dtype": dtype}
    keys = jax.random.split(jax.random.PRNGKey(n), population)
    pop = jax.vmap(lambda k: qsense.random_genome(k, n, genes, dtype=jnp.float64))(keys)
    pop = dataclasses.replace(pop, angle=pop.angle.astype(rdtype))
    prob = Problem(n, NOISE, GAMMA, "scalar", B0, dtype=cdtype)
    t = jnp.asarray(T, rdtype)
    t0 = time.perf_counter()
    compiled = population_score.lower(prob, pop, t).compile()
    rec["compile_s"] = time.perf_counter() - t0
    rec["xla_bytes"] = need = xla_bytes(compiled)
    rec["limit_bytes"] = limit
    if need is not None and need > limit:
        rec["status"] = "does not fit"
        return rec
    if not run:
        rec["status"] = "fits, not run"
        return rec
    try:
        t0 = time.perf_counter()
        out = jax.block_until_ready(compiled(prob, pop, t))
        best = time.perf_counter() - t0  # compiled already: a slow cell counts its first call
        rec["reps"] = 1 if best > slow_s else reps + 1
        for _ in range(rec["reps"] - 1):
            t0 = time.perf_counter()
            out = jax.block_until_ready(compiled(prob, pop, t))
            best = min(best, time.perf_counter() - t0)
    except Exception as err:  # noqa: BLE001  (XlaRuntimeError's class moves between jax versions)
        if not _is_oom(err):
            raise
        rec["status"] = "oom"
        return rec
    rec.update(status="ok", call_s=best, circuits_per_s=population / best,
               first_value=float(out[0]))
    if values is not None:
        values[(n, population, dtype)] = np.asarray(out, np.float64)
    return rec


def float32_difference(v32, v64) -> float:
    """max |v32 - v64| / max(|v64|, 1e-3 max |v64|) (see `FLOAT32_AGREEMENT`)."""
    import numpy as np

    from benchmarks._common import max_rel_diff

    v64 = np.asarray(v64, np.float64)
    scale = float(np.max(np.abs(v64[np.isfinite(v64)]), initial=0.0))
    return max_rel_diff(v32, v64, floor=1e-3 * scale)


def check_float32_cell(row: dict) -> None:
    """Stop (SystemExit) when a float32 cell's QFIs differ from the float64 cell's (same
    circuits) by more than `FLOAT32_AGREEMENT`."""
    check_close(row["max_rel_diff_vs_float64"], FLOAT32_AGREEMENT,
                f"N={row['n_qubits']} population={row['population']}: float32 vs float64 "
                "QFI of the same circuits (relative)")


def ga_cell(n: int, population: int, score_dtype: str, *, n_t: int, local_steps: int,
            reps: int, limit: float) -> dict:
    """One GA generation (benchmarks/mixed_precision.py's program), run when XLA's plan of
    the compiled program fits ``limit``, as `search` decides (the estimate, an upper bound
    1.1-1.8x XLA's, is recorded beside it). A population whose floor of the plan
    (`qsense.genetic.PLAN_FLOOR_ARRAYS`) is over the limit is not compiled."""
    from benchmarks.mixed_precision import prepare_generation
    from qsense.genetic import GAConfig, _floor_bytes_per_row, estimate_bytes
    from qsense.objective import Problem

    cfg = GAConfig(population=population, n_t=n_t, local_steps=local_steps,
                   score_dtype=score_dtype)
    prob = Problem(n, NOISE, GAMMA)
    rec: dict = {"n_qubits": n, "population": population, "score_dtype": score_dtype,
                 "estimate_bytes": estimate_bytes(prob, cfg, 1), "limit_bytes": limit,
                 "xla_bytes": None}
    if _floor_bytes_per_row(prob, cfg) * population > limit:
        rec.update(status="does not fit", why="by the plan's floor, not compiled")
        return rec
    try:
        info, run = prepare_generation(n, NOISE, score_dtype, population=population, n_t=n_t,
                                       local_steps=local_steps, limit=limit)
        if run is None:
            rec.update(info, status="does not fit")
            return rec
        best = min(run() for _ in range(reps))
    except Exception as err:  # noqa: BLE001
        if not _is_oom(err):
            raise
        rec["status"] = "oom"
        return rec
    rec.update(info, status="ok", generation_s=best)
    return rec


def plan_cells(sizes: list[int], populations: list[int], dtypes: list[str],
               ga_sizes: list[int], ga_populations: list[int], fit_population: int) -> list[tuple]:
    """The cells in the order they run, most wanted first, so a device's limited minutes
    (``--budget-s``) end in the figures the issue asks for: (1) float64 fitness at
    ``fit_population`` for every N (the GPU targets and the largest N that fits), (2) the
    smallest GA population at every GA size, (3) every other fitness cell (by N, dtype,
    population), (4) the other GA cells. Fitness cells are ``("fit", n, population, dtype)``,
    GA cells ``("ga", n, population)`` (float64 and mixed together)."""
    first = [("fit", n, fit_population, "float64") for n in sizes
             if fit_population in populations and "float64" in dtypes]
    ga_first = [("ga", n, min(ga_populations)) for n in ga_sizes] if ga_populations else []
    rest = [("fit", n, p, d) for n in sizes for d in dtypes for p in sorted(populations)]
    ga_rest = [("ga", n, p) for n in ga_sizes for p in sorted(ga_populations)]
    out: list[tuple] = []
    for c in first + ga_first + rest + ga_rest:
        if c not in out:
            out.append(c)
    return out


def _skip_larger(rules: list, cell: tuple, why: str, same_n: bool = False) -> None:
    """Add a rule: the cells that need at least ``cell``'s memory (same kind and dtype, N
    and population both >= its own; with ``same_n``, only this N's larger populations) are
    not run, and say ``why``. Added for a cell that did not fit, or (``same_n``) that was
    too slow."""
    rules.append((cell, same_n, why))


def _skipped(rules: list, cell: tuple) -> str | None:
    """Why ``cell`` is not run under ``rules`` (None: run it)."""
    kind, n, pop, *rest = cell
    for (k, n0, p0, *rest0), same_n, why in rules:
        if k != kind or rest != rest0 or pop < p0 or (n, pop) == (n0, p0):
            continue
        if (n == n0) if same_n else (n >= n0):
            return why
    return None


def _over_budget(cell: tuple, fit_rows: list[dict], ga_rows: list[dict], left: float) -> str | None:
    """Why a cell is not started with ``left`` seconds of the budget: the nearest finished
    cell of the same kind (and dtype) below it (the largest N, then population, not above
    its own) predicts one call of this one longer than what is left. Time is taken as linear
    in the population and, across N, as the cube of the dimension 2^N (one eigh per
    circuit); only the nearest cell is used, since small ones are overhead-bound."""
    kind, n, pop = cell[:3]
    if kind == "fit":
        done = [(r, r["call_s"]) for r in fit_rows if r["dtype"] == cell[3]
                and r["status"] == "ok"]
    else:
        done = [(r, r["generation_s"]) for r in ga_rows if r["status"] == "ok"]
    done = [(r, s) for r, s in done if r["n_qubits"] <= n and r["population"] <= pop]
    if not done:
        return None
    near = max((r["n_qubits"], r["population"]) for r, _ in done)
    # a GA cell runs float64 and mixed: their times add up
    s = sum(s for r, s in done if (r["n_qubits"], r["population"]) == near)
    need = s * pop / near[1] * 8.0 ** (n - near[0])
    if need > left:
        return f"one call would take ~{need:.3g} s; {left:.3g} s of --budget-s left"
    return None


def summarize(fit_rows: list[dict], fit_population: int, platform: str) -> dict:
    """The largest N whose float64 population of ``fit_population`` ran, and the targets
    (GPU targets: ``met`` is None on another platform)."""
    at = [r for r in fit_rows if r["population"] == fit_population and r["dtype"] == "float64"]
    fits = [r["n_qubits"] for r in at if r["status"] == "ok"]
    fits_xla = [r["n_qubits"] for r in at if r["status"] in ("ok", "fits, not run")]
    targets = {}
    for n, goal in TARGETS.items():
        rates = [r["circuits_per_s"] for r in fit_rows
                 if r["n_qubits"] == n and r["status"] == "ok" and r["dtype"] == "float64"]
        best = max(rates) if rates else None
        targets[n] = {"goal_circuits_per_s": goal, "best_float64_circuits_per_s": best,
                      "met": None if best is None or platform != "gpu" else best >= goal}
    return {"largest_n_fitting_float64": max(fits) if fits else None,
            "largest_n_fitting_float64_by_xla": max(fits_xla) if fits_xla else None,
            "targets": targets}


def _gib(b) -> str:
    return "–" if b is None else f"{b / 2**30:.3g}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="5,6,7,8,9,10,11,12", help="qubit counts")
    ap.add_argument("--populations", default="256,1024,4096")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--genes", type=int, default=20)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--max-call-s", type=float, default=60.0,
                    help="a fitness call slower than this skips that N's larger populations")
    ap.add_argument("--ga-sizes", default="5,8,10", help="qubit counts of the GA cells")
    ap.add_argument("--ga-populations", default="256,1024,4096")
    ap.add_argument("--n-t", type=int, default=6)
    ap.add_argument("--local-steps", type=int, default=10)
    ap.add_argument("--fit-population", type=int, default=256,
                    help="the population of 'the largest N whose population fits'")
    ap.add_argument("--memory-limit-gb", type=float, default=None,
                    help="what one device may use (default: the device's own limit)")
    ap.add_argument("--budget-s", type=float, default=None,
                    help="start no cell after this many seconds (the JSON is written after "
                         "every cell, so a run cut off keeps what it finished)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "scale.json"))
    ap.add_argument("--smoke", action="store_true",
                    help="N = 3, population 8, GA N = 3 (checks it runs)")
    add_device_argument(ap)
    args = ap.parse_args()
    if args.smoke:
        args.sizes, args.populations, args.reps = "3", "8", 1
        args.ga_sizes, args.ga_populations, args.n_t, args.local_steps = "3", "8", 2, 1
        args.fit_population = 8
    device = select_device(args.device)
    import jax

    jax.config.update("jax_enable_x64", True)
    from qsense.distributed import device_memory_limit

    limit = device_memory_limit([device], args.memory_limit_gb)
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    print(f"jax {jax.__version__} on {device} ({getattr(device, 'device_kind', '')}); "
          f"memory one device may use: {_gib(limit)} GiB", flush=True)

    fit_rows: list[dict] = []
    ga_rows: list[dict] = []
    deadline = time.perf_counter() + (float("inf") if args.budget_s is None else args.budget_s)

    def save() -> dict:
        summary = summarize(fit_rows, args.fit_population, device.platform)
        Path(args.out).write_text(json.dumps({
            "fitness": fit_rows, "ga": ga_rows, **summary, "fit_population": args.fit_population,
            "limit_bytes": limit, "smoke": args.smoke,
            "budget_exhausted": time.perf_counter() > deadline,
            "settings": {k: v for k, v in vars(args).items() if k != "out"},
            "device": device_record(args.device)}, indent=2))
        return summary

    rules: list = []  # cells not to run (a smaller one did not fit, or was too slow)
    values: dict = {}  # (n, population, dtype) -> the QFIs a fitness cell computed
    failures: list[str] = []  # failed agreement checks: reported at the end

    def check(fn, row: dict) -> None:
        try:
            fn(row)
        except SystemExit as err:
            failures.append(str(err))
            print(f"CHECK FAILED: {err}", flush=True)

    for cell in plan_cells(ints(args.sizes), ints(args.populations),
                           [d for d in args.dtypes.split(",") if d], ints(args.ga_sizes),
                           ints(args.ga_populations), args.fit_population):
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        kind, n, pop = cell[:3]
        skipped = _skipped(rules, cell)
        late = None if skipped else _over_budget(cell, fit_rows, ga_rows, left)
        why = skipped or late
        if kind == "fit":
            dtype = cell[3]
            if skipped:
                r = {"n_qubits": n, "population": pop, "dtype": dtype, "status": "not run",
                     "why": why, "xla_bytes": None, "compile_s": float("nan")}
            else:  # too long to run in the budget left: still compiled, to say if it fits
                r = fitness_cell(n, pop, dtype, genes=args.genes, reps=args.reps, limit=limit,
                                 run=late is None, values=values)
                if late:
                    r["why"] = late
            fit_rows.append(r)
            both = {d: values.get((n, pop, d)) for d in ("float64", "float32")}
            if r["status"] == "ok" and all(v is not None for v in both.values()):
                # both dtypes of these circuits ran: record in the float32 row, then check
                r32 = next(x for x in fit_rows if (x["n_qubits"], x["population"], x["dtype"])
                           == (n, pop, "float32"))
                r32["max_rel_diff_vs_float64"] = float32_difference(both["float32"],
                                                                    both["float64"])
                check(check_float32_cell, r32)
            save()  # a run cut off later keeps every finished cell
            rate = f"{r['circuits_per_s']:.4g} circuits/s" if r["status"] == "ok" else ""
            print(f"N={n} population={pop} {dtype}: {r['status']} {rate} "
                  f"(XLA: {_gib(r['xla_bytes'])} GiB){' ' + why if why else ''}", flush=True)
            if r["status"] in ("does not fit", "oom"):
                _skip_larger(rules, cell, f"N={n} population={pop} {dtype} did not fit")
            elif r["status"] == "ok" and r["call_s"] > args.max_call_s:
                _skip_larger(rules, cell, f"N={n} population={pop} {dtype} took "
                                         f"{r['call_s']:.3g} s > --max-call-s", same_n=True)
            continue
        pair = []
        for sd in ("float64", "float32"):
            if why:
                pair.append({"n_qubits": n, "population": pop, "score_dtype": sd,
                             "status": "not run", "why": why, "estimate_bytes": None})
            else:
                pair.append(ga_cell(n, pop, sd, n_t=args.n_t, local_steps=args.local_steps,
                                    reps=args.reps, limit=limit))
        if all(r["status"] == "ok" for r in pair):
            from benchmarks.mixed_precision import agreement, check_row

            pair[1].update(agreement(*pair))  # recorded in the mixed row, then checked
            check(check_row, {"n_qubits": n, "noise": NOISE, "float64": pair[0],
                              "mixed": pair[1], **agreement(*pair)})
        ga_rows += pair
        save()
        print(f"GA N={n} population={pop}: " + ", ".join(
            f"{r['score_dtype']} {r['status']}"
            + (f" {r['generation_s']:.4g} s" if r["status"] == "ok" else "") for r in pair)
            + (f" ({why})" if why else ""), flush=True)
        if any(r["status"] in ("does not fit", "oom") for r in pair):
            _skip_larger(rules, cell, f"GA N={n} population={pop} did not fit")
    summary = save()

    print("\n| N | population | dtype | circuits/s | call (s) | compile (s) | XLA GiB | status |")
    print("|---|---|---|---|---|---|---|---|")
    for r in sorted(fit_rows, key=lambda r: (r["n_qubits"], r["dtype"] != "float64",
                                               r["population"])):
        ok = r["status"] == "ok"
        rate = f"{r['circuits_per_s']:.4g} | {r['call_s']:.4g}" if ok else "– | –"
        comp = "–" if r["status"] == "not run" else f"{r['compile_s']:.3g}"
        print(f"| {r['n_qubits']} | {r['population']} | {r['dtype']} | {rate} | "
              f"{comp} | {_gib(r['xla_bytes'])} | {r['status']}"
              f"{': ' + r['why'] if 'why' in r else ''} |")
    print("\n| N | population | float64 generation (s) | mixed generation (s) | speed-up | "
          "XLA GiB (float64) | GA estimate GiB |")
    print("|---|---|---|---|---|---|---|")
    pairs = sorted(zip(ga_rows[::2], ga_rows[1::2], strict=True),
                   key=lambda rr: (rr[0]["n_qubits"], rr[0]["population"]))
    for r64, r32 in pairs:
        both = r64["status"] == r32["status"] == "ok"
        g64 = f"{r64['generation_s']:.4g}" if r64["status"] == "ok" else r64["status"]
        g32 = f"{r32['generation_s']:.4g}" if r32["status"] == "ok" else r32["status"]
        sp = f"{r64['generation_s'] / r32['generation_s']:.2f}x" if both else "–"
        print(f"| {r64['n_qubits']} | {r64['population']} | {g64} | {g32} | {sp} | "
              f"{_gib(r64.get('xla_bytes'))} | {_gib(r64['estimate_bytes'])} |")

    largest = summary["largest_n_fitting_float64"]
    print(f"\nlargest N whose float64 population of {args.fit_population} ran: {largest}")
    by_xla = summary["largest_n_fitting_float64_by_xla"]
    if by_xla != largest:
        print(f"largest N whose float64 population of {args.fit_population} fits by XLA's "
              f"memory analysis (compiled, not all run): {by_xla}")
    if time.perf_counter() > deadline:
        print(f"--budget-s {args.budget_s} ran out: the cells after the last one printed were "
              "not run")
    for n, tg in summary["targets"].items():
        best = tg["best_float64_circuits_per_s"]
        verdict = {True: "met", False: "not met", None: "a GPU target"}[tg["met"]]
        print(f"GPU target N = {n}: >= {tg['goal_circuits_per_s']:.0f} circuits/s (float64); "
              f"this run on {device.platform}: "
              + ("not measured" if best is None else f"{best:.4g} ({verdict})"))
    print(f"wrote {args.out}")
    if failures:
        raise SystemExit("\n".join(failures))


if __name__ == "__main__":
    main()
