"""Planner scale: problem size, build and solve time as each dimension grows.

Two parts, both on synthetic scenarios (hyperplan.synthetic):

1. Sweep: from a base case, one dimension at a time (providers, regions, offers per region,
   workloads, monthly periods, outage scenarios off/on): columns, rows, nonzeros, build seconds,
   solve seconds and simplex iterations, and the elasticity of solve time to each dimension and to
   the column count (log-log slope), which says which dimension drives solve time.
2. Ladder: the historical sizes xs .. xl (bench/common.CASES), with build / solve / results
   seconds and the walk-away re-solves (warm-started) against the cold solve.

HiGHS alone on the same models (the end-to-end anchor) is bench/highs_alone.py. Times are the best
of ``--repeats`` (default 3) runs; other processes may share the machine.

    python bench/plan_scale.py [--quick] [--no-sweep] [--no-ladder] [--sizes xs s m l xl]
                               [--frontier]

Writes bench/results/plan_scale.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

import common

BASE = {"providers": 4, "regions": 2, "offers_per_region": 4, "workloads": 6, "periods": 12}
LEVELS = {
    "providers": [2, 4, 8, 16],
    "regions": [1, 2, 4, 8, 16],
    "offers_per_region": [2, 4, 8, 16, 32],
    "workloads": [3, 6, 12, 24, 48],
    "periods": [6, 12, 24, 48, 96],
}
QUICK_BASE = {"providers": 2, "regions": 1, "offers_per_region": 2, "workloads": 3, "periods": 6}
QUICK_LEVELS = {k: [v, 2 * v] for k, v in QUICK_BASE.items()}
LADDER = ["xs", "s", "m", "l"]


def solve_point(scenario: Any, catalog: Any, repeats: int) -> dict[str, Any]:
    """Resolve, build and solve ``repeats`` times; best build and solve seconds and sizes."""
    from hyperplan.plan.api import solve_scenario

    runs = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        solved = solve_scenario(scenario, catalog=catalog)
        wall = time.perf_counter() - t0
        st = solved.plan.stats
        runs.append(
            {
                "build_s": st["build_seconds"],
                "solve_s": st["solve_seconds"],
                "results_s": st["results_seconds"],
                "total_s": wall,
                "iterations": st["simplex_iterations"],
            }
        )
    st = solved.plan.stats
    return {
        "columns": st["columns"],
        "rows": st["rows"],
        "nonzeros": st["nonzeros"],
        "scenarios": len(solved.inputs.scenario_names),
        "offers": len(solved.inputs.offers),
        "objective_usd": st["objective_usd"],
        "iterations": runs[0]["iterations"],
        "build_s": min(r["build_s"] for r in runs),
        "solve_s": min(r["solve_s"] for r in runs),
        "results_s": min(r["results_s"] for r in runs),
        "total_s": min(r["total_s"] for r in runs),
        "solve_all_s": [r["solve_s"] for r in runs],
        "repeats": len(runs),
        "_solved": solved,
    }


# ------------------------------------------------------------------------------------------------
# Part 1: one dimension at a time
# ------------------------------------------------------------------------------------------------
def sweep(base: dict[str, int], levels: dict[str, list[int]], repeats: int) -> dict[str, Any]:
    cache: dict[tuple, dict[str, Any]] = {}

    def point(dims: dict[str, int], outages: bool) -> dict[str, Any]:
        key = (*dims.values(), outages)
        if key not in cache:
            scenario, catalog = common.synthetic(tuple(dims.values()), outages=outages)
            res = solve_point(scenario, catalog, repeats)
            res.pop("_solved")
            cache[key] = {**dims, "outages": outages, **res}
            print(
                f"  {dims} outages={outages}: {res['columns']:,} columns, "
                f"solve {res['solve_s']:.2f} s",
                flush=True,
            )
        return cache[key]

    rows = []
    for dim, values in levels.items():
        for v in values:
            dims = dict(base)
            dims[dim] = v
            rows.append({"vary": dim, "value": v, **point(dims, True)})
    for outages in (False, True):
        rows.append({"vary": "outages", "value": int(outages), **point(dict(base), outages)})
    return {"base": base, "rows": rows, "elasticity": elasticities(rows, levels)}


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    ok = (x > 0) & (y > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def elasticities(rows: list[dict[str, Any]], levels: dict[str, list[int]]) -> list[dict[str, Any]]:
    """Per dimension: log-log slopes of columns, solve seconds and iterations vs its value.

    ``solve_per_column`` is the slope of solve seconds against columns along that dimension: 1
    means the dimension costs only through model size, above 1 that it also makes the LP harder.
    """
    out = []
    for dim in levels:
        sel = [r for r in rows if r["vary"] == dim]
        v = np.array([r["value"] for r in sel], dtype=float)
        cols = np.array([r["columns"] for r in sel], dtype=float)
        solve = np.array([r["solve_s"] for r in sel], dtype=float)
        iters = np.array([r["iterations"] for r in sel], dtype=float)
        out.append(
            {
                "dimension": dim,
                "from": int(v.min()),
                "to": int(v.max()),
                "columns_x": float(cols.max() / cols.min()),
                "solve_x": float(solve[np.argmax(v)] / solve[np.argmin(v)]),
                "columns_slope": _slope(v, cols),
                "solve_slope": _slope(v, solve),
                "iterations_slope": _slope(v, iters),
                "solve_per_column": _slope(cols, solve),
                "largest_solve_s": float(solve.max()),
            }
        )
    out.sort(key=lambda r: -r["solve_slope"] if np.isfinite(r["solve_slope"]) else 0.0)
    return out


# ------------------------------------------------------------------------------------------------
# Part 2: the size ladder with walk-away re-solves
# ------------------------------------------------------------------------------------------------
def ladder_case(name: str, repeats: int, walk: bool) -> dict[str, Any]:
    from hyperplan.plan.sensitivity import walk_away_values

    scenario, catalog = common.case(name)
    res = solve_point(scenario, catalog, repeats)
    solved = res.pop("_solved")
    row: dict[str, Any] = {"case": name, **res}
    if name in common.CASES:
        row["dims"] = common.dims_dict(common.CASES[name])
    if walk:
        wa = walk_away_values(solved, workers=1)
        row["walk_away_mean_s"] = float(wa["seconds"].mean())
        row["walk_away_vs_cold"] = row["walk_away_mean_s"] / res["solve_s"]
    return row


SWEEP_COLUMNS = [
    ("vary", "vary", ""),
    ("value", "value", "d"),
    ("columns", "columns", ","),
    ("rows", "rows", ","),
    ("nonzeros", "nnz", ","),
    ("scenarios", "scen", "d"),
    ("build_s", "build s", ".3f"),
    ("solve_s", "solve s", ".2f"),
    ("iterations", "iters", ","),
]
ELASTICITY_COLUMNS = [
    ("dimension", "dimension", ""),
    ("from", "from", "d"),
    ("to", "to", "d"),
    ("columns_x", "columns x", ".1f"),
    ("solve_x", "solve x", ".1f"),
    ("columns_slope", "d log cols", ".2f"),
    ("solve_slope", "d log solve", ".2f"),
    ("iterations_slope", "d log iters", ".2f"),
    ("solve_per_column", "solve vs cols", ".2f"),
]
LADDER_COLUMNS = [
    ("case", "case", ""),
    ("columns", "columns", ","),
    ("rows", "rows", ","),
    ("nonzeros", "nnz", ","),
    ("build_s", "build s", ".3f"),
    ("solve_s", "solve s", ".2f"),
    ("results_s", "results s", ".3f"),
    ("total_s", "total s", ".2f"),
    ("iterations", "iters", ","),
    ("walk_away_mean_s", "walk-away s", ".2f"),
    ("walk_away_vs_cold", "walk/cold", ".2f"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sweep and ladder (smoke run)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the one-at-a-time sweep")
    parser.add_argument("--no-ladder", action="store_true", help="skip the size ladder")
    parser.add_argument(
        "--sizes", nargs="*", default=None, help=f"ladder subset of {list(common.CASES)}"
    )
    parser.add_argument(
        "--frontier", action="store_true", help="add examples/frontier-2030.yaml to the ladder"
    )
    parser.add_argument("--repeats", type=int, default=3, help="solves per point (best)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    payload: dict[str, Any] = {"repeats": repeats, "quick": args.quick}
    if not args.no_sweep:
        print("sweep: one dimension at a time")
        sw = sweep(
            QUICK_BASE if args.quick else BASE, QUICK_LEVELS if args.quick else LEVELS, repeats
        )
        payload["sweep"] = sw
    if not args.no_ladder:
        names = ["xs"] if args.quick else (args.sizes or LADDER)
        if args.frontier:
            names.append("frontier-2030")
        print("ladder")
        rows = []
        for name in names:
            rows.append(ladder_case(name, repeats, walk=not args.quick))
            print(f"  {name}: solve {rows[-1]['solve_s']:.2f} s", flush=True)
        payload["ladder"] = rows
    if "sweep" in payload:
        print()
        print(f"sweep from {payload['sweep']['base']} (best of {repeats})")
        print(common.table(payload["sweep"]["rows"], SWEEP_COLUMNS))
        print()
        print("what drives solve time (log-log slopes along each dimension)")
        print(common.table(payload["sweep"]["elasticity"], ELASTICITY_COLUMNS))
    if "ladder" in payload:
        print()
        print(f"size ladder (best of {repeats})")
        print(common.table(payload["ladder"], LADDER_COLUMNS))
    out = common.write_results("plan_scale", payload, args.out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
