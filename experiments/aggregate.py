"""Gather a Hydra multirun into the tables, CSV and figures one run writes.

``python -m experiments.aggregate DIR [--out OUT] [--strict]``

``DIR`` is a sweep dir (``hydra.sweep.dir``, holding ``multirun.yaml`` and one sub-dir per
cell) or any folder above several of them. Every cell's ``results.json`` is read; its CSV
tables are concatenated (long format, one row per cell of the task, so the union of the
cells' rows *is* the table one run over all the cells writes), with two extra columns:
``cell`` (the cell's dir relative to ``DIR``) and every swept scalar key (e.g. ``seed``) that
the rows do not already hold, its value read from the cell's recorded config. Rows repeated
by overlapping cells (two runs of the same cell) are kept once: rows equal but for their
timing columns (``search_wall_s``, ...) and ``cell``. Where cells of one fig5/fig6 task ran
with different configurations (anything in their recorded config beyond the keys the task
iterates into rows: seeds, the swept x, methods), e.g. other ``routing.network`` settings,
the rows also carry the config keys that differ, and every mean and std (summary, plot) is
per configuration: never across two. A cell's overrides come from what the
cell wrote when it ran (``results.json``, ``failed.json``, ``cell.json``), ``.hydra/`` only for
dirs without them. Per task the derived outputs are rebuilt from those rows: ``table1.md``
(the seed's layout and VQS against the references and the bound), the
``fig5``/``fig6`` mean/std summary and plot, and one figure per task. Everything goes to
``OUT`` (default ``DIR/aggregate``) with a ``results.json`` that lists every cell and its
status:

* ``finished``: ``results.json`` present;
* ``failed``: ``failed.json`` present (written by ``experiments.run`` when a job raises);
  the error is shown;
* ``unfinished``: the cell's dir exists without either (running, killed, or timed out);
* ``missing``: the sweep in ``multirun.yaml`` expands to a cell that has no dir at all.

Rerun the same sweep command with ``hydra.sweep.dir=DIR`` to compute only the cells that are
not ``finished`` (unfinished ones resume from their checkpoints), then aggregate again.

One table never mixes cells of two code versions: finished cells of one task whose
``results.json`` record different ``code`` digests (cells computed before and after a change to
``qsense``, ``routing`` or ``experiments``) are refused (exit 2, each digest listed with its
cells) before anything is written; ``results.json`` records the ``code`` digest of the cells.
An ``OUT`` that is a cell's dir or inside one (it would overwrite the cell's ``results.json``
and tables) is refused the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from experiments import outputs

AGGREGATE = "aggregate"


@dataclass
class Cell:
    """One job of a sweep: its dir, the overrides it ran with and what it left behind."""

    path: Path
    overrides: list[str]
    status: str  # finished | failed | unfinished | missing
    results: dict[str, Any] | None = None
    error: str = ""
    sweep: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _expand(overrides: list[str]) -> list[list[str]]:
    """Hydra's own expansion of a sweep's overrides into cells, in its canonical spelling
    (``progress=false`` -> ``progress=False``)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    return [list(c) for batch in BasicSweeper.split_arguments(parsed, None) for c in batch]


def _cell_key(overrides: list[str]) -> list[str]:
    """Overrides that define a cell's config, canonical, launcher choices left out (a sweep
    rerun with another launcher matches the same cells)."""
    keep = [o for o in overrides
            if not o.lstrip("+~").startswith(("launcher=", "hydra/launcher=", "hydra."))]
    return _expand(keep)[0] if keep else []


def _expected(sweep_root: Path) -> list[list[str]]:
    """The cells (override lists) the sweep in ``sweep_root/multirun.yaml`` expands to."""
    doc = yaml.safe_load((sweep_root / "multirun.yaml").read_text())
    return _expand(doc.get("hydra", {}).get("overrides", {}).get("task", []) or [])


class AggregateError(ValueError):
    """Cells that must not go into one aggregate, or an ``OUT`` that would overwrite a cell:
    refused (exit 2) before anything is written."""


def _digest_groups(cells: list[Cell], root: Path) -> dict[str | None, list[str]]:
    """``{code digest: [cell, ...]}`` over finished cells (``None``: a cell from before
    ``results.json`` recorded ``code``)."""
    groups: dict[str | None, list[str]] = {}
    for c in cells:
        if c.status == "finished":
            groups.setdefault(c.results.get("code"), []).append(str(c.path.relative_to(root)))
    return groups


def check_one_code(cells: list[Cell], root: Path) -> None:
    """Raise `AggregateError` when finished cells of one task were computed by different code
    (different ``code`` digests in their ``results.json``): their rows would share one table.
    The message lists each digest with its cells."""
    for task in dict.fromkeys(c.results["task"] for c in cells if c.status == "finished"):
        groups = _digest_groups([c for c in cells if c.status == "finished"
                                 and c.results["task"] == task], root)
        if len(groups) < 2:
            continue
        lines = [f"  code {d or '(not recorded)'}: {len(cs)} cell(s): {' '.join(cs)}"
                 for d, cs in groups.items()]
        raise AggregateError(
            f"the {task!r} cells under {root} were computed by {len(groups)} code versions "
            "(qsense, routing or experiments changed between them); one table never mixes "
            "two code versions:\n" + "\n".join(lines) + "\nrerun the cells of the old code "
            "into a fresh hydra.sweep.dir, or aggregate each group from its own folder")


def _results_of_a_run(path: Path) -> bool:
    """``path/results.json`` is a run's (it records its ``config``), not an aggregate's."""
    return "config" in (outputs.read_json_object(path / "results.json") or {})


def check_out(out: Path, cells: list[Cell]) -> None:
    """Raise `AggregateError` when ``out`` is a cell's dir or inside one (a found cell, a dir
    with ``.hydra/``, ``cell.json`` or a run's ``results.json``): the aggregate's
    ``results.json`` and tables would overwrite the cell's. Its own ``aggregate/`` sub-dir
    (never read as a cell) is allowed."""
    out = out.resolve()
    found = {c.path.resolve() for c in cells if c.status != "missing"}
    for d in (out, *out.parents):
        if d != out and AGGREGATE in out.relative_to(d).parts:
            continue
        if d in found or (d / ".hydra").is_dir() or (d / "cell.json").exists() \
                or _results_of_a_run(d):
            where = "is" if d == out else f"is inside {d}, which is"
            raise AggregateError(
                f"--out {out} {where} the dir of a run (a cell); the aggregate's results.json "
                "and tables would overwrite or mix into the cell's: choose another --out "
                "(default DIR/aggregate)")


def find_cells(root: Path) -> list[Cell]:
    """Every cell under ``root`` (dirs with ``.hydra/overrides.yaml``) plus the cells that
    the sweeps' ``multirun.yaml`` expand to but that have no dir (status ``missing``)."""
    root = Path(root)
    cells: list[Cell] = []
    for hydra_dir in sorted(root.rglob(".hydra")):
        cdir = hydra_dir.parent
        if AGGREGATE in cdir.relative_to(root).parts or not (hydra_dir / "overrides.yaml").exists():
            continue
        overrides = yaml.safe_load((hydra_dir / "overrides.yaml").read_text()) or []
        cell = Cell(cdir, [str(o) for o in overrides], "unfinished")
        # the overrides the cell ran with, as it recorded them (.hydra/ is rewritten by any
        # later launch into the dir, a refused one included)
        # a file that is not a JSON object (truncated by a crash, edited by hand) is read as
        # absent, and said: the cell then counts as unfinished (a rerun redoes it)
        records = {}
        for name in ("cell.json", "results.json", "failed.json"):
            if (cdir / name).exists():
                records[name] = outputs.read_json_object(cdir / name)
                if records[name] is None:
                    cell.error = f"{name} is unreadable (not a JSON object)"
        if records.get("results.json") is not None:
            problem = outputs.results_problem(cdir, records["results.json"])
            if problem is not None:  # a rerun does the cell again (experiments.run.finished)
                cell.error, records["results.json"] = problem, None
        recorded = (records.get("cell.json") or {}).get("overrides")
        if records.get("results.json") is not None:
            cell.status, cell.results = "finished", records["results.json"]
            recorded = cell.results.get("overrides", recorded)
        elif records.get("failed.json") is not None:
            cell.status = "failed"
            failed = records["failed.json"]
            cell.error = failed.get("error", "")
            recorded = failed.get("overrides") or recorded
        if recorded is not None:
            cell.overrides = [str(o) for o in recorded]
        cell.sweep = next((p for p in cdir.parents if (p / "multirun.yaml").exists()), None)
        cells.append(cell)
    sweeps = sorted({p.parent for p in root.rglob("multirun.yaml")
                     if AGGREGATE not in p.relative_to(root).parts})
    for sweep in sweeps:
        have = [_cell_key(c.overrides) for c in cells if c.sweep == sweep]
        for overrides in _expected(sweep):
            if _cell_key(overrides) not in have:
                cells.append(Cell(sweep / "?", overrides, "missing", sweep=sweep))
    return cells


def _num(v: Any) -> Any:
    """A CSV string back to int or float where it is one (``"True"`` stays a string)."""
    if not isinstance(v, str):
        return v
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def _value(c: Cell, key: str) -> Any:
    """The value of config key ``key`` (dotted) in the cell: from its recorded config where
    that holds a scalar there (a cell that left the key at its default has it too), else from
    its overrides; ``None`` when neither has it."""
    node: Any = (c.results or {}).get("config")
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if node is not None and not isinstance(node, (dict, list)):
        return node
    for o in c.overrides:
        k, _, v = o.partition("=")
        if k.lstrip("+~") == key:
            return _num(v)
    return None


def _swept_scalars(cells: list[Cell]) -> dict[str, set[str]]:
    """Keys set to a scalar that differs between cells (``seed=0`` / ``seed=1``)."""
    keys: dict[str, None] = {}
    for c in cells:
        for o in c.overrides:
            key, _, value = o.partition("=")
            if key.startswith(("hydra.", "+launcher", "launcher")) or value.startswith("["):
                continue
            keys.setdefault(key.lstrip("+~"))
    seen = {k: {str(_value(c, k)) for c in cells if _value(c, k) is not None} for k in keys}
    return {k: v for k, v in seen.items() if len(v) > 1}


#: per task whose outputs average rows over cells (`SWEEP_X`): the config keys that the task
#: iterates into rows, each row carrying its value (seed, storage capacity, method): cells that
#: differ only there are one configuration, averaged together
ROW_AXES: dict[str, tuple[str, ...]] = {
    "fig5": ("fig5.seeds", "fig5.storage_capacities", "fig5.methods"),
    "fig6": ("fig6.seeds", "fig6.n_pairs", "fig6.methods"),
    # table1's cells are (sensing, N, gamma, noise); reference_worker only says where the
    # references run
    "table1": ("table1.n_min", "table1.n_max", "table1.gammas", "table1.noises",
               "table1.sensing", "table1.reference_worker"),
}
#: tasks whose derived outputs are per configuration (`config_columns`)
PER_CONFIGURATION = ("fig5", "fig6", "table1")
#: config keys that never change a result (as `experiments.run` compares runs)
COSMETIC = ("progress",)


def _flat(node: Any) -> dict[str, Any]:
    """A recorded config as ``{dotted key: value}``, lists (and other non-scalars) as JSON."""
    return {k: v if v is None or isinstance(v, (str, int, float, bool))
            else json.dumps(v, sort_keys=True) for k, v in outputs.flat_config(node).items()}


def _task_sections() -> set[str]:
    """The config sections named after a task (``table1``, ``fig5``, ...): a task reads its
    own and the shared ones (``routing``, ``search``, ``seed``, ...), never another task's."""
    import pkgutil

    from experiments import tasks

    return {m.name for m in pkgutil.iter_modules(tasks.__path__)}


def configuration(c: Cell, task: str) -> dict[str, Any]:
    """The settings of a finished cell that define its rows: every key of its recorded config
    (``results.json`` ``config``) but the task's row axes (`ROW_AXES`), the cosmetic keys and
    the sections of other tasks."""
    others = _task_sections() - {task}
    return {k: v for k, v in _flat((c.results or {}).get("config") or {}).items()
            if k not in COSMETIC and k not in ROW_AXES.get(task, ())
            and k.split(".")[0] not in others}


def config_columns(cells: list[Cell], task: str) -> dict[Path, dict[str, Any]]:
    """Per finished cell of ``task``: the keys of its `configuration` whose values differ
    between the cells (``None`` where a cell's record lacks one), as extra columns that tell
    the configurations apart; empty dicts when all the cells share one configuration."""
    confs = {c.path: configuration(c, task) for c in cells if c.status == "finished"}
    keys = sorted({k for conf in confs.values() for k in conf})
    differ = [k for k in keys if len({json.dumps(conf.get(k)) for conf in confs.values()}) > 1]
    return {p: {k: conf.get(k) for k in differ} for p, conf in confs.items()}


def _timing(column: str) -> bool:
    """A column that measures time spent, not a result (two runs of one cell differ there)."""
    return "wall" in column or column in ("time", "seconds") or column.endswith("_seconds")


def gather_tables(cells: list[Cell], root: Path,
                  configs: dict[Path, dict[str, Any]] | None = None
                  ) -> dict[str, list[dict[str, Any]]]:
    """``{table name: rows}`` over the finished cells (CSV tables only, duplicates dropped).
    Rows carry the swept scalar keys and ``configs[cell.path]`` (`config_columns`) as
    columns where they lack them, so rows of different configurations stay apart."""
    swept = _swept_scalars(cells)
    tables: dict[str, list[dict[str, Any]]] = {}
    seen: dict[str, set] = {}
    for c in cells:
        if c.status != "finished":
            continue
        tags = {k: v for k in swept if (v := _value(c, k)) is not None}
        tags.update({k: v for k, v in ((configs or {}).get(c.path) or {}).items()
                     if k not in tags})
        for name, fname in c.results.get("tables", {}).items():
            if not str(fname).endswith(".csv") or not (c.path / fname).exists():
                continue
            for row in outputs.read_csv(c.path / fname):
                row = {k: _num(v) for k, v in row.items()}
                ident = tuple(sorted((k, str(v)) for k, v in {**row, **tags}.items()
                                     if not _timing(k) and k != "cell"))
                if ident in seen.setdefault(name, set()):
                    continue
                seen[name].add(ident)
                row.update({k: v for k, v in tags.items() if k not in row})
                row["cell"] = str(c.path.relative_to(root))
                tables.setdefault(name, []).append(row)
    return tables


# Per task: (table, x, y, panel key, line keys, log x, log y) of the figure rebuilt from rows.
FIGURES: dict[str, tuple[str, str, str, str | None, tuple[str, ...], bool, bool]] = {
    "quickstart": ("quickstart", "t", "qfi", "noise", ("n_qubits",), False, False),
    "fig2": ("fig2", "t", "qfi", "probe", ("n_qubits",), True, False),
    "fig3": ("fig3", "t", "qcrb", "probe", ("n_qubits",), True, True),
    "fig4": ("fig4", "distance_km", "qfi", "probe", ("link", "n_qubits"), False, False),
    "table1": ("table1", "n_qubits", "qcrb", "sensing", ("probe", "noise", "gamma"), False, True),
}
SWEEP_X = {"fig5": ("storage_capacity", "storage capacity $B_m$ [pairs]"),
           "fig6": ("n_pairs", "number of SD pairs $K$")}


def _plot_rows(rows: list[dict[str, Any]], spec, title: str, out: Path, name: str) -> str:
    from experiments import plots

    table, x, y, panel, line, logx, logy = spec
    panels = sorted({r.get(panel, "") for r in rows}, key=str) if panel else [""]
    fig, axes = plots.subplots(len(panels))
    for ax, pv in zip(axes[0], panels, strict=True):
        sub = [r for r in rows if not panel or r.get(panel, "") == pv]
        for key in sorted({tuple(r.get(k, "") for k in line) for r in sub}, key=str):
            pts = sorted((r[x], r[y]) for r in sub if tuple(r.get(k, "") for k in line) == key
                         and isinstance(r.get(y), (int, float)))
            if pts:
                ax.plot(*zip(*pts, strict=True), "o-" if len(pts) < 30 else "-", ms=3,
                        label=", ".join(f"{k}={v}" for k, v in zip(line, key, strict=True)))
        ax.set(xlabel=x, ylabel=y, title=f"{title}: {panel}={pv}" if panel else title)
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.legend(fontsize=6)
    return plots.save(fig, out, name)


def rebuild(task: str, tables: dict[str, list[dict[str, Any]]], out: Path,
            swept: tuple[str, ...] = (), configs: tuple[str, ...] = ()
            ) -> tuple[dict[str, str], list[str]]:
    """Write the task's CSV tables and derived outputs into ``out``; return (tables, figures).
    ``swept``: scalar keys swept across cells (one figure line per value as well);
    ``configs``: the config columns that tell the cells' configurations apart
    (`config_columns`): the fig5/fig6 mean and std are per configuration, never across, and
    ``table1.md`` holds one table per configuration."""
    written: dict[str, str] = {}
    figures: list[str] = []
    if task in SWEEP_X and task in tables:
        from experiments.routing_sweep import sweep_outputs

        x_key, xlabel = SWEEP_X[task]
        rows = tables[task]
        n_conf = len({tuple(str(r.get(k)) for k in configs) for r in rows})
        res = sweep_outputs(rows, x_key, x_key, task, out, xlabel,
                            f"{task}: EGR ({len({r.get('seed') for r in rows})} seeds, "
                            f"{len({r['cell'] for r in rows})} cells"
                            + (f", {n_conf} configurations" if configs else "") + ")",
                            group_keys=configs)
        written.update(res["tables"])
        figures += res["figures"]
    for name, rows in tables.items():
        if name in written or (task in SWEEP_X and name == f"{task}_summary"):
            continue
        written[name] = outputs.write_csv(out, name, rows)
    if task == "table1" and "table1" in tables:
        from experiments.tasks import table1

        # one table per configuration (`configs`): cells of different search settings, seeds,
        # ... used to share one table, the last cell's value silently winning each entry
        groups: dict[tuple, list[dict[str, Any]]] = {}
        for r in tables["table1"]:
            groups.setdefault(tuple((k, r.get(k)) for k in configs), []).append(r)
        parts = []
        for key, rows in groups.items():
            gammas = sorted({float(r["gamma"]) for r in rows})
            noises = [nz for nz in table1.NOISE_ORDER if nz in {r["noise"] for r in rows}]
            md = (table1.table_markdown if all("reference_qcrb" in r for r in rows)
                  else table1.markdown)  # cells from before the reference columns: layout only
            text = md(rows, gammas, noises)
            if configs:
                text = ("# Configuration: " + ", ".join(f"{k} = {v}" for k, v in key)
                        + "\n\n" + text)
            parts.append(text)
        (out / "table1.md").write_text("\n\n".join(parts))
        written["table1_md"] = "table1.md"
    if task in FIGURES and FIGURES[task][0] in tables:
        spec = FIGURES[task]
        spec = (*spec[:4], spec[4] + tuple(k for k in swept if k not in spec[4]), *spec[5:])
        figures.append(_plot_rows(tables[spec[0]], spec, task, out, task))
    return written, figures


def aggregate(root: str | Path, out: str | Path | None = None) -> dict[str, Any]:
    """Aggregate the sweep(s) under ``root`` into ``out`` (default ``root/aggregate``);
    return the payload written to ``out/results.json``."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"DIR = {str(root)!r} is not a directory")
    out = Path(out) if out is not None else root / AGGREGATE
    cells = find_cells(root)
    if not cells:
        raise FileNotFoundError(f"no Hydra cells (dirs with .hydra/) under {root}")
    check_out(out, cells)
    check_one_code(cells, root)
    out.mkdir(parents=True, exist_ok=True)
    finished = [c for c in cells if c.status == "finished"]
    tasks = list(dict.fromkeys(c.results["task"] for c in finished))
    all_tables: dict[str, str] = {}
    figures: list[str] = []
    for task in tasks:
        mine = [c for c in finished if c.results["task"] == task]
        configs = config_columns(mine, task) if task in PER_CONFIGURATION else {}
        keys = tuple(sorted({k for tags in configs.values() for k in tags}))
        written, figs = rebuild(task, gather_tables(mine, root, configs), out,
                                tuple(sorted(_swept_scalars(mine))), keys)
        all_tables.update(written)
        figures += figs
    devices = list(dict.fromkeys(d for c in finished
                                 for d in c.results.get("devices", c.results.get(
                                     "device", {}).get("devices", [])[:1])))
    def host_of(c) -> dict | None:
        dev = (c.results or {}).get("device", {})
        keys = outputs.HOST_KEYS
        return {k: dev[k] for k in keys} if all(k in dev for k in keys) else None

    found = [host_of(c) for c in finished]
    hosts = [dict(t) for t in dict.fromkeys(tuple(sorted(h.items())) for h in found if h)]
    codes = list(dict.fromkeys(c.results.get("code") for c in finished))
    listing = [{"cell": str(c.path.relative_to(root)) if c.status != "missing" else None,
                "status": c.status, "overrides": c.overrides, "error": c.error,
                "task": c.results["task"] if c.results else None,
                "wall_time_s": c.results.get("wall_time_s") if c.results else None,
                "host": host_of(c)}
               for c in cells]
    payload = {
        "task": tasks[0] if len(tasks) == 1 else tasks,
        "metrics": {"n_cells": len(cells), "n_finished": len(finished),
                    "failed": [x for x in listing if x["status"] == "failed"],
                    "unfinished": [x for x in listing if x["status"] == "unfinished"],
                    "missing": [x for x in listing if x["status"] == "missing"]},
        "tables": all_tables,
        "figures": figures,
        "cells": listing,
        "versions": finished[0].results.get("versions", {}) if finished else {},
        "device": finished[0].results.get("device", {}) if finished else {},
        "devices": devices,
        # the CPU facts that split the engine's reductions: cells from hosts that differ here
        # agree to rounding, not bit for bit (experiments.checkpoint)
        "hosts": hosts,
        "wall_time_s": sum(float(c.results.get("wall_time_s", 0.0)) for c in finished),
        "seed": _seeds(finished),
        # the code digest the cells were computed by (`check_one_code`: one per task)
        "code": codes[0] if len(codes) == 1 else codes,
    }
    outputs.write_results(out, payload)
    return payload


def _seeds(finished: list[Cell]) -> list[Any]:
    """The distinct ``seed`` values of the cells, a list value (an aggregate's
    ``results.json``) read as its entries."""
    seen: dict[str, Any] = {}
    for c in finished:
        seed = c.results.get("seed")
        for s in seed if isinstance(seed, list) else [seed]:
            seen.setdefault(json.dumps(s, sort_keys=True, default=str), s)
    return [seen[k] for k in sorted(seen, key=lambda k: str(seen[k]))]


def report(payload: dict[str, Any], stream=sys.stdout) -> None:
    m = payload["metrics"]
    print(f"{m['n_finished']}/{m['n_cells']} cells finished; tables: "
          f"{', '.join(payload['tables'].values()) or '-'}", file=stream)
    if len(payload.get("hosts", [])) > 1:
        print(f"  cells come from {len(payload['hosts'])} hosts (cores, XLA pool) "
              f"{payload['hosts']}: their values agree to rounding, not bit for bit",
              file=stream)
    for status in ("failed", "unfinished", "missing"):
        for x in m[status]:
            where = x["cell"] or "(no dir)"
            err = f"  {x['error']}" if x["error"] else ""
            print(f"  {status:>10}  {where}  {' '.join(x['overrides'])}{err}", file=stream)


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments.aggregate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="a multirun dir (hydra.sweep.dir) or a folder above several")
    ap.add_argument("--out", default=None, help="output folder (default DIR/aggregate)")
    ap.add_argument("--strict", action="store_true",
                    help="exit with status 1 when a cell failed, is unfinished or missing")
    args = ap.parse_args(list(argv) if argv is not None else None)
    try:
        payload = aggregate(args.dir, args.out)
    except (FileNotFoundError, AggregateError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    report(payload)
    out = Path(args.out) if args.out else Path(args.dir) / AGGREGATE
    print(f"aggregate: {out / 'results.json'}")
    m = payload["metrics"]
    return 1 if args.strict and (m["failed"] or m["unfinished"] or m["missing"]) else 0


if __name__ == "__main__":
    sys.exit(main())
