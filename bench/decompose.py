"""Decomposed (Benders over outage scenarios) against monolithic HiGHS, on synthetic scenarios.

1. Ladder: the same synthetic family at growing sizes (providers drive the outage scenarios,
   periods and workloads the size of each); per size the monolithic build + solve and the
   decomposed build + loop (subproblems in this process; the results assembly, which both share
   apart from the decomposed one building the whole model's arrays once, is left out), both
   measured in the same run. The crossover is the smallest size where the decomposed solve is
   faster; the ratios at about 2x, 5x and 10x its columns are read off the ladder.
2. Parallel: the largest size with 1 and 2 pool workers and on a local Ray cluster started with
   2 CPUs: subproblem wall and CPU seconds per iteration, parallel efficiency
   ``cpu / (workers × wall)``, per-subproblem seconds, and a **projection** of the wall time on
   k nodes (master seconds + per iteration the largest per-node sum of measured subproblem
   seconds, scenarios dealt round-robin): a projection from measured parts, not a measurement.

Bounded: a run takes a few minutes on the 2-core machine (``--quick``: seconds). Other processes
may share the machine: figures are ratios within one run.

3. ``--case crossover-five-year``: the ladder on the five-year family (60 monthly periods):
   the crossover that sets ``AUTO_MIN_COLUMNS`` (plan/decompose_choice.py).
4. ``--case five-year``: the five-year (60 monthly periods) case with every single-provider
   outage as a scenario (N-1 over all providers), decomposed to ``--gap`` (1e-4) within
   ``--time-limit`` (600 s): its dimensions (the whole model's by the estimator: it is never
   built), wall time, gap and peak RSS. Heavy: minutes.

    python bench/decompose.py [--quick] [--no-ray] [--out PATH]
    python bench/decompose.py --case five-year [--dims P,R,O,W] [--workers N]

Writes bench/results/decompose.json (decompose_five_year.json).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

import common

#: (providers, regions, offers per region, workloads, monthly periods)
LADDER = [
    (4, 2, 4, 6, 12),
    (6, 2, 4, 6, 12),
    (8, 2, 4, 6, 12),
    (8, 2, 4, 6, 24),
    (8, 3, 4, 8, 24),
    (8, 3, 6, 12, 24),
]
QUICK = [(2, 1, 2, 3, 6), (3, 1, 2, 3, 6)]
#: the crossover on the five-year family (60 monthly periods, N-1 over all providers)
LADDER_FIVE_YEAR = [
    (2, 1, 2, 3, 60),
    (3, 1, 2, 3, 60),
    (4, 2, 2, 4, 60),
    (4, 2, 4, 6, 60),
    (6, 2, 4, 6, 60),
    (8, 2, 4, 6, 60),
    (8, 3, 4, 8, 60),
]
#: the five-year monthly N-1 case (providers, regions, offers per region, workloads; 60 periods)
FIVE_YEAR = (20, 4, 6, 16)


def _inputs(dims: tuple[int, ...]) -> Any:
    from hyperplan.plan.inputs import resolve

    scenario, catalog = common.synthetic(dims)
    return resolve(scenario, catalog)


def monolithic(inp: Any) -> tuple[float, float, int, int]:
    """(seconds, objective MUSD, columns, rows) of build + solve."""
    from hyperplan.plan.build import build
    from hyperplan.plan.solve import solve

    t0 = time.perf_counter()
    pm = build(inp, outages=True)
    sol = solve(pm.lm)
    return time.perf_counter() - t0, sol.objective, pm.lm.n_cols, pm.lm.n_rows


def decomposed(inp: Any, workers: int = 1, ray: str | None = None) -> tuple[float, Any]:
    """(seconds, Decomposed) of master build + worker start + loop, no assembly."""
    from hyperplan.plan.decompose import solve_decomposed

    t0 = time.perf_counter()
    d = solve_decomposed(inp, workers=workers, ray=ray, assemble=False)
    return time.perf_counter() - t0, d


def ladder(sizes: list[tuple[int, ...]]) -> list[dict[str, Any]]:
    rows = []
    for dims in sizes:
        inp = _inputs(dims)
        tm, obj_m, cols, nrows = monolithic(inp)
        td, d = decomposed(inp)
        rows.append(
            {
                **common.dims_dict(dims),
                "scenarios": len(inp.scenario_names),
                "columns": cols,
                "rows": nrows,
                "monolithic_s": tm,
                "decomposed_s": td,
                "speedup": tm / td,
                "iterations": d.stats["iterations"],
                "objective_rel_diff": abs(d.solution.objective - obj_m) / abs(obj_m),
                "sub_rows_max": d.stats["subproblem_rows_max"],
                "sub_cols_max": d.stats["subproblem_columns_max"],
            }
        )
        print(common.table(rows[-1:], COLUMNS), flush=True)
    return rows


COLUMNS = [
    ("providers", "P", ""),
    ("periods", "T", ""),
    ("workloads", "W", ""),
    ("columns", "columns", ","),
    ("monolithic_s", "mono s", ".2f"),
    ("decomposed_s", "dec s", ".2f"),
    ("speedup", "mono/dec", ".2f"),
    ("iterations", "iter", ""),
    ("objective_rel_diff", "rel diff", ".1e"),
]


def crossover(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The smallest size where decomposed wins, and the ratio nearest 2x/5x/10x its columns."""
    win = [r for r in rows if r["speedup"] > 1.0]
    if not win:
        return {"crossover_columns": None}
    first = win[0]
    out: dict[str, Any] = {"crossover_columns": first["columns"], "at": first}
    cols = np.array([r["columns"] for r in rows], dtype=float)
    for k in (2, 5, 10):
        target = k * first["columns"]
        i = int(np.argmin(np.abs(np.log(cols / target))))
        out[f"{k}x"] = {
            "columns": rows[i]["columns"],
            "columns_ratio": rows[i]["columns"] / first["columns"],
            "speedup": rows[i]["speedup"],
        }
    return out


def projection(d: Any, nodes: list[int]) -> dict[str, float]:
    """Projected wall seconds on k nodes from the measured per-subproblem seconds."""
    master = float(d.stats["master_seconds"])
    out = {}
    for k in nodes:
        total = master
        for per in d.sub_seconds:
            per = np.asarray(per)
            loads = [per[i::k].sum() for i in range(min(k, len(per)))]
            total += max(loads) if loads else 0.0
        out[str(k)] = total
    return out


def parallel(dims: tuple[int, ...], use_ray: bool) -> dict[str, Any]:
    inp = _inputs(dims)
    runs: dict[str, Any] = {}
    backends: list[tuple[str, int, str | None]] = [("local", 1, None), ("processes", 2, None)]
    if use_ray and common.have("ray"):
        backends.append(("ray", 2, "auto"))
    for name, workers, ray in backends:
        if ray:
            import ray as ray_module

            ray_module.init(
                num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False
            )
        try:
            seconds, d = decomposed(inp, workers=workers, ray=ray)
        finally:
            if ray:
                ray_module.shutdown()
        wall = float(d.stats["subproblem_wall_seconds"])
        cpu = float(d.stats["subproblem_cpu_seconds"])
        per = np.concatenate([np.asarray(s) for s in d.sub_seconds])
        runs[name] = {
            "workers": workers,
            "seconds": seconds,
            "worker_start_s": d.stats["worker_start_seconds"],
            "master_s": d.stats["master_seconds"],
            "sub_wall_s": wall,
            "sub_cpu_s": cpu,
            "efficiency": cpu / (workers * wall) if wall > 0 else float("nan"),
            "per_subproblem_s": {
                "mean": float(per.mean()),
                "max": float(per.max()),
                "min": float(per.min()),
            },
            "iterations": d.stats["iterations"],
        }
        if name == "local":
            runs["projection_k_nodes_s"] = projection(d, [1, 2, 4, 8, 16])
        print(name, {k: v for k, v in runs[name].items() if k != "per_subproblem_s"}, flush=True)
    return {**common.dims_dict(dims), "runs": runs}


def five_year(dims: tuple[int, ...], workers: int, limit: float, gap: float) -> dict[str, Any]:
    """The five-year monthly N-1 case: ``dims`` with 60 monthly periods and one outage scenario
    per provider; decomposed only (the whole model is never built: its size is the
    estimator's). Dimensions, wall time (process start excluded), gap, peak RSS of this process
    and of the largest worker process."""
    import resource

    from hyperplan.plan.estimate import estimate
    from hyperplan.plan.solve import SolverOptions

    t0 = time.perf_counter()
    inp = _inputs(dims)
    whole = estimate(inp, outages=True)
    base = estimate(inp, outages=False)
    print(f"five-year case {dims}: {len(inp.scenario_names) - 1} outage scenarios (N-1)")
    print(f"  whole model (estimator, never built): {whole.describe()}")
    print(f"  master (base case, estimator): {base.describe()}", flush=True)
    from hyperplan.plan.decompose import solve_decomposed

    def progress(row: dict[str, Any]) -> None:
        print(
            f"  iteration {row['iteration']}: gap {row['gap']:.2e}, master "
            f"{row['master_seconds']:.1f} s, subproblems {row['sub_wall_seconds']:.1f} s, "
            f"{time.perf_counter() - t0:.0f} s so far",
            flush=True,
        )

    d = solve_decomposed(
        inp,
        workers=workers,
        gap=gap,
        assemble=False,
        progress=progress,
        options=SolverOptions(time_limit=limit),
    )
    seconds = time.perf_counter() - t0
    out = {
        **common.dims_dict(dims),
        "outage_scenarios": len(inp.scenario_names) - 1,
        "whole_columns": whole.columns,
        "whole_rows": whole.rows,
        "whole_nonzeros": whole.nonzeros,
        "whole_estimate": whole.describe(),
        "master_columns": int(d.model.lm.n_cols),
        "master_rows": int(d.model.lm.n_rows),
        "subproblem_columns_max": d.stats["subproblem_columns_max"],
        "subproblem_rows_max": d.stats["subproblem_rows_max"],
        "workers": workers,
        "seconds": seconds,
        "status": d.solution.status,
        "iterations": d.stats["iterations"],
        "relative_gap": d.stats["relative_gap"],
        "objective_musd": d.solution.objective,
        "master_s": d.stats["master_seconds"],
        "subproblem_wall_s": d.stats["subproblem_wall_seconds"],
        "subproblem_build_s": d.stats["subproblem_build_seconds"],
        "worker_start_s": d.stats["worker_start_seconds"],
        "peak_rss_mb": common.peak_rss_mb(),
        "peak_rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
    for key, value in out.items():
        print(f"  {key}: {value}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--case",
        choices=["ladder", "crossover-five-year", "five-year"],
        default="ladder",
        help="ladder: crossover and parallel runs; crossover-five-year: the crossover on the "
        "60-month family; five-year: the 60-month N-1 case alone",
    )
    parser.add_argument(
        "--dims",
        default=",".join(map(str, FIVE_YEAR)),
        help="five-year case: providers,regions,offers per region,workloads (60 periods)",
    )
    parser.add_argument("--workers", type=int, default=2, help="five-year case: processes")
    parser.add_argument("--time-limit", type=float, default=600.0, help="five-year case: s")
    parser.add_argument("--gap", type=float, default=1e-4, help="five-year case: relative gap")
    args = parser.parse_args()
    if args.case == "five-year":
        dims = (*(int(v) for v in args.dims.split(",")), 60)
        started = time.perf_counter()
        result = five_year(dims, args.workers, args.time_limit, args.gap)
        payload = {"machine": common.machine(), "five_year": result}
        payload["total_seconds"] = time.perf_counter() - started
        path = common.write_results("decompose_five_year", payload, args.out)
        print(f"wrote {path} ({payload['total_seconds']:.0f} s)")
        return
    if args.case == "crossover-five-year":
        started = time.perf_counter()
        rows = ladder(LADDER_FIVE_YEAR)
        payload = {"machine": common.machine(), "ladder": rows, "crossover": crossover(rows)}
        payload["total_seconds"] = time.perf_counter() - started
        path = common.write_results("decompose_crossover_five_year", payload, args.out)
        print(f"crossover: {payload['crossover']}")
        print(f"wrote {path} ({payload['total_seconds']:.0f} s)")
        return
    sizes = QUICK if args.quick else LADDER
    started = time.perf_counter()
    rows = ladder(sizes)
    payload = {
        "machine": common.machine(),
        "ladder": rows,
        "crossover": crossover(rows),
        "parallel": parallel(sizes[-1], use_ray=not args.no_ray and not args.quick),
    }
    payload["total_seconds"] = time.perf_counter() - started
    path = common.write_results("decompose", payload, args.out)
    print(f"crossover: {payload['crossover']}")
    print(f"wrote {path} ({payload['total_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
