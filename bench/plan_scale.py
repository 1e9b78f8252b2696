"""Planner scale benchmark: build, solve and result seconds as the problem grows.

Anchor, measured in the same run: HiGHS alone reading the exported MPS file and solving it with
the same options. Prints a table and writes bench/results/plan_scale.json.

    python bench/plan_scale.py [--quick] [--frontier]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hyperplan.plan.api import solve_scenario
from hyperplan.plan.sensitivity import walk_away_values
from hyperplan.plan.solve import SolverOptions, new_highs
from hyperplan.synthetic import synthetic_catalog, synthetic_scenario

SIZES = {
    # name: (providers, regions, offers per region, workloads, monthly periods)
    "xs": (2, 2, 2, 3, 6),
    "s": (3, 2, 4, 6, 12),
    "m": (4, 3, 6, 12, 24),
    "l": (5, 4, 8, 18, 36),
    "xl": (6, 4, 10, 24, 36),
}


def highs_alone(mps: str, options: SolverOptions) -> tuple[float, float]:
    """Seconds for HiGHS to read the MPS and solve it (the anchor), and its objective."""
    t0 = time.perf_counter()
    h = new_highs()
    h.setOptionValue("solver", options.method)
    h.readModel(mps)
    h.run()
    return time.perf_counter() - t0, h.getInfo().objective_function_value


def run_case(name: str, dims: tuple[int, ...], walk: bool) -> dict:
    providers, regions, offers, workloads, periods = dims
    cat = synthetic_catalog(providers, regions, offers, seed=1)
    sc = synthetic_scenario(providers, workloads, periods, seed=1)
    t0 = time.perf_counter()
    solved = solve_scenario(sc, catalog=cat)
    total = time.perf_counter() - t0
    st = solved.plan.stats
    with tempfile.TemporaryDirectory() as tmp:
        mps = os.path.join(tmp, "model.mps")
        solved.solution.highs.writeModel(mps)
        anchor, anchor_obj = highs_alone(mps, SolverOptions())
    row = {
        "case": name,
        "dims": dict(
            zip(
                ["providers", "regions", "offers_per_region", "workloads", "periods"],
                dims,
                strict=True,
            )
        ),
        "columns": st["columns"],
        "rows": st["rows"],
        "nonzeros": st["nonzeros"],
        "build_s": st["build_seconds"],
        "solve_s": st["solve_seconds"],
        "results_s": st["results_seconds"],
        "total_s": total,
        "highs_from_mps_s": anchor,
        "overhead_ratio": total / anchor,
        "objective_matches_anchor": bool(
            np.isclose(solved.solution.objective, anchor_obj, rtol=1e-6)
        ),
    }
    if walk:
        wa = walk_away_values(solved, workers=1)
        row["walk_away_mean_s"] = float(wa["seconds"].mean())
        row["walk_away_vs_cold"] = float(wa["seconds"].mean() / st["solve_seconds"])
    return row


def run_frontier() -> dict:
    from hyperplan.scenario.load import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "examples" / "frontier-2030.yaml")
    t0 = time.perf_counter()
    solved = solve_scenario(sc)
    total = time.perf_counter() - t0
    st = solved.plan.stats
    wa = walk_away_values(solved, workers=1)
    return {
        "case": "frontier-2030",
        "columns": st["columns"],
        "rows": st["rows"],
        "nonzeros": st["nonzeros"],
        "build_s": st["build_seconds"],
        "solve_s": st["solve_seconds"],
        "total_s": total,
        "walk_away_mean_s": float(wa["seconds"].mean()),
        "walk_away_vs_cold": float(wa["seconds"].mean() / st["solve_seconds"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smallest sizes only (smoke run)")
    parser.add_argument(
        "--frontier", action="store_true", help="also plan examples/frontier-2030.yaml"
    )
    parser.add_argument("--sizes", nargs="*", default=None, help=f"subset of {list(SIZES)}")
    args = parser.parse_args()
    names = ["xs"] if args.quick else (args.sizes or list(SIZES))
    rows = [run_case(n, SIZES[n], walk=not args.quick) for n in names]
    if args.frontier:
        rows.append(run_frontier())
    head = f"{'case':<14}{'columns':>10}{'rows':>9}{'nnz':>10}{'build s':>9}{'solve s':>9}{'total s':>9}{'HiGHS/mps s':>12}{'ratio':>7}{'walk/cold':>10}"
    print(head)
    for r in rows:
        print(
            f"{r['case']:<14}{r['columns']:>10,}{r['rows']:>9,}{r['nonzeros']:>10,}{r['build_s']:>9.2f}{r['solve_s']:>9.2f}"
            f"{r['total_s']:>9.2f}{r.get('highs_from_mps_s', float('nan')):>12.2f}{r.get('overhead_ratio', float('nan')):>7.2f}"
            f"{r.get('walk_away_vs_cold', float('nan')):>10.2f}"
        )
    out = Path(__file__).parent / "results" / "plan_scale.json"
    out.parent.mkdir(exist_ok=True)
    meta = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
