"""End to end against HiGHS alone, and the best HiGHS settings for planning models.

1. Overhead: hyperplan's ``solve_scenario`` (resolve + build + pass to HiGHS + solve + result
   tables) against HiGHS alone reading the same model from an MPS file (exported with
   ``Highs.writeModel``) and solving it with the same options. Ratio = hyperplan / HiGHS
   (read + solve); the goal is under 1.1 at 1M columns. hyperplan's independent check of the plan
   (``verify``) is timed apart: it is not part of building, solving or reading results.
2. Command line (issue 19): ``hyperplan plan FILE -o plan.json`` as a fresh process, from process
   start to exit (plan.json written), against HiGHS alone reading and solving the MPS of the
   *unscaled* model in this process. Repeated ``--repeats`` times interleaved; the median ratio is
   reported (each ratio against the anchor measured next to it). ``--cli-before SRC`` also runs
   another checkout's CLI (``PYTHONPATH=SRC``, e.g. main's ``src``) in the same rounds: before
   and after measured under the same load.
3. Settings: the MPS solved by HiGHS with simplex / IPM / choose, presolve on / off, 1 and 2
   threads (one fresh interpreter per thread count, since HiGHS sizes its thread pool once per
   process); parallel dual simplex (``parallel=on``) is tried with 2 threads.

Times are the best of ``--repeats`` (default 3) runs, hyperplan and HiGHS interleaved. Other
processes may share the machine: compare figures from the same run.

    python bench/highs_alone.py [--quick] [--cases m xl frontier-2030] [--settings-cases ...]
        [--cli examples/frontier-2030.yaml] [--cli-before /work/main/src]

Writes bench/results/highs_alone.json.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import common

SCRIPT = Path(__file__).resolve()
OVERHEAD_CASES = ["m", "l", "xl", "frontier-2030"]
SETTINGS_CASES = ["frontier-2030", "m", "m+"]
METHODS = ("simplex", "ipm", "choose")


def _highs(threads: int | None = None) -> Any:
    from hyperplan.plan.solve import new_highs

    h = new_highs()
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    return h


def highs_from_mps(mps: str, time_limit: float | None = None, **options: Any) -> dict[str, Any]:
    """HiGHS alone: read the MPS file, solve it; seconds of each and what it found."""
    gc.collect()
    h = _highs(options.pop("threads", None))
    h.setOptionValue("solver", options.pop("solver", "simplex"))
    h.setOptionValue("presolve", options.pop("presolve", "on"))
    h.setOptionValue("mip_rel_gap", 1e-4)
    for key, value in options.items():
        h.setOptionValue(key, value)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    t0, c0 = time.perf_counter(), time.process_time()
    h.readModel(mps)
    t1 = time.perf_counter()
    h.run()
    t2, c2 = time.perf_counter(), time.process_time()
    info = h.getInfo()
    return {
        "read_s": t1 - t0,
        "solve_s": t2 - t1,
        "total_s": t2 - t0,
        "cpu_s": c2 - c0,  # every thread of this process: HiGHS's MIP workers included
        "status": h.modelStatusToString(h.getModelStatus()),
        "objective": float(info.objective_function_value),
        "iterations": int(info.simplex_iteration_count),
        "ipm_iterations": int(info.ipm_iteration_count),
        "mip_nodes": int(info.mip_node_count),
    }


def hyperplan_end_to_end(scenario: Any, catalog: Any) -> tuple[dict[str, Any], Any]:
    """hyperplan's whole pipeline on a scenario; seconds per stage and the solved plan."""
    from hyperplan.plan.api import solve_scenario
    from hyperplan.plan.solve import SolverOptions, make_highs

    gc.collect()
    t0 = time.perf_counter()
    solved = solve_scenario(scenario, catalog=catalog)
    wall = time.perf_counter() - t0
    st = solved.plan.stats
    # the pass to HiGHS (arrays, CSC matrix, passModel) is inside solve_scenario's wall time but
    # in none of its stats: time it apart on the same model
    t1 = time.perf_counter()
    make_highs(solved.model.lm, SolverOptions())
    pass_s = time.perf_counter() - t1
    verify_s = float(st.get("verify_seconds", 0.0))
    total = wall - verify_s  # build + pass + solve (+ MILP dual re-solve) + results
    known = st["build_seconds"] + pass_s + st["solve_seconds"] + st["results_seconds"]
    return {
        "build_s": st["build_seconds"],  # resolve + build
        "pass_s": pass_s,
        "solve_s": st["solve_seconds"],
        "results_s": st["results_seconds"],
        "verify_s": verify_s,
        "wall_s": wall,
        "total_s": total,
        # the rest of the wall time: for a MILP mostly the LP re-solve with integers fixed that
        # prices the plan (duals); otherwise glue (tables' setup, Plan object)
        "other_s": max(0.0, total - known),
        "objective": solved.solution.objective,
        "iterations": solved.solution.simplex_iterations,
        "columns": st["columns"],
        "rows": st["rows"],
        "nonzeros": st["nonzeros"],
        "integer": st["integer"],
    }, solved


def export_mps(lm: Any, path: str) -> float:
    """Write the model *as built* (not the power-of-two scaled copy HiGHS gets from
    ``solve``) to an MPS file; seconds taken."""
    from hyperplan.plan.solve import SolverOptions, make_highs

    t0 = time.perf_counter()
    make_highs(lm, SolverOptions(), scale=False).writeModel(path)
    return time.perf_counter() - t0


def cli_run(yaml_path: Path, out: str, src: str | None) -> dict[str, Any]:
    """``hyperplan plan FILE -o OUT`` in a fresh interpreter: wall seconds from process start
    to exit, CPU seconds of the process (user + system, all threads), the objective it wrote."""
    import json
    import resource

    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    if os.path.exists(out):
        os.remove(out)
    cmd = [sys.executable, "-m", "hyperplan.cli", "plan", str(yaml_path), "-o", out]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0 or not os.path.exists(out):
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-500:]}")
    with open(out, encoding="utf-8") as fh:
        data = json.load(fh)
    return {"wall_s": wall, "cpu_s": cpu, "objective_usd": float(data["objective_usd"])}


def cli_vs_highs(
    yaml_path: Path, repeats: int, tmp: str, before_src: str | None = None
) -> dict[str, Any]:
    """The command line end to end against HiGHS alone on the unscaled model's MPS, interleaved
    ``repeats`` times (and ``before_src``'s command line in the same rounds)."""
    from hyperplan.plan.api import _scenario_catalog
    from hyperplan.plan.build import build
    from hyperplan.plan.inputs import resolve
    from hyperplan.scenario.load import load_scenario

    scenario = load_scenario(str(yaml_path))
    pm = build(resolve(scenario, _scenario_catalog(scenario)), integer=scenario.integer)
    mps = os.path.join(tmp, "cli-anchor.mps")
    export_mps(pm.lm, mps)
    rounds = []
    for _ in range(repeats):
        row: dict[str, Any] = {"after": cli_run(yaml_path, os.path.join(tmp, "after.json"), None)}
        row["highs"] = highs_from_mps(mps)
        if before_src is not None:
            row["before"] = cli_run(yaml_path, os.path.join(tmp, "before.json"), before_src)
        row["load_average"] = os.getloadavg()[0]
        rounds.append(row)
        print(
            f"  {yaml_path.name}: cli {row['after']['wall_s']:.2f} s "
            f"(CPU {row['after']['cpu_s']:.2f} s), HiGHS alone {row['highs']['total_s']:.2f} s "
            f"(CPU {row['highs']['cpu_s']:.2f} s)"
            + (
                f", before {row['before']['wall_s']:.2f} s (CPU {row['before']['cpu_s']:.2f} s)"
                if before_src
                else ""
            )
            + f" (load {row['load_average']:.1f})",
            flush=True,
        )

    def med(key: str, field: str = "wall_s") -> float:
        return statistics.median(r[key][field] for r in rounds)

    out: dict[str, Any] = {
        "file": str(yaml_path),
        "repeats": repeats,
        "rounds": rounds,
        "cli_s_median": med("after"),
        "highs_s_median": med("highs", "total_s"),
        "ratio_median": statistics.median(
            r["after"]["wall_s"] / r["highs"]["total_s"] for r in rounds
        ),
        "cpu_ratio_median": statistics.median(
            r["after"]["cpu_s"] / r["highs"]["cpu_s"] for r in rounds
        ),
        "load_average_median": statistics.median(r["load_average"] for r in rounds),
    }
    if before_src is not None:
        out["before_src"] = before_src
        out["before_s_median"] = med("before")
        out["before_ratio_median"] = statistics.median(
            r["before"]["wall_s"] / r["highs"]["total_s"] for r in rounds
        )
        out["before_cpu_ratio_median"] = statistics.median(
            r["before"]["cpu_s"] / r["highs"]["cpu_s"] for r in rounds
        )
    return out


def overhead(name: str, repeats: int, tmp: str) -> dict[str, Any]:
    """hyperplan end to end vs HiGHS alone from MPS on one case, best of ``repeats`` each."""
    scenario, catalog = common.case(name)
    mps = os.path.join(tmp, f"{name}.mps")
    hp_runs, hs_runs = [], []
    for i in range(repeats):
        hp, solved = hyperplan_end_to_end(scenario, catalog)
        if i == 0:
            write_s = export_mps(solved.model.lm, mps)
        del solved
        hp_runs.append(hp)
        hs_runs.append(highs_from_mps(mps))
    hp = min(hp_runs, key=lambda r: r["total_s"])
    hs = min(hs_runs, key=lambda r: r["total_s"])
    obj_ok = bool(
        np.isclose(hp["objective"], hs["objective"], rtol=1e-4 if hp["integer"] else 1e-7)
    )
    return {
        "case": name,
        "columns": hp["columns"],
        "rows": hp["rows"],
        "nonzeros": hp["nonzeros"],
        "mps_mb": os.path.getsize(mps) / 1e6,
        "mps_write_s": write_s,
        "repeats": repeats,
        "hyperplan": hp,
        "hyperplan_all_total_s": [r["total_s"] for r in hp_runs],
        "highs": hs,
        "highs_all_total_s": [r["total_s"] for r in hs_runs],
        "ratio": hp["total_s"] / hs["total_s"],
        "ratio_vs_solve_only": hp["total_s"] / hs["solve_s"],
        # the same comparison with the solve time taken as equal (HiGHS's): what hyperplan adds
        # around the solver against what reading the MPS file costs HiGHS alone. Robust to the
        # run-to-run noise of the solve itself (same model, same iterations)
        "ratio_same_solve": (hs["solve_s"] + hp["total_s"] - hp["solve_s"]) / hs["total_s"],
        "ratio_with_verify": hp["wall_s"] / hs["total_s"],
        "overhead_s": hp["total_s"] - hp["solve_s"],
        "solve_ratio": hp["solve_s"] / hs["solve_s"],
        "objective_matches": obj_ok,
        "same_iterations": hp["iterations"] == hs["iterations"],
        "mps_path": mps,
    }


# ------------------------------------------------------------------------------------------------
# Settings sweep: one interpreter per thread count
# ------------------------------------------------------------------------------------------------
def settings_worker(mps: str, threads: int, repeats: int, time_limit: float) -> None:
    configs: list[dict[str, Any]] = [
        {"solver": method, "presolve": presolve} for method in METHODS for presolve in ("on", "off")
    ]
    if threads > 1:
        configs.append({"solver": "simplex", "presolve": "on", "parallel": "on"})
    out = []
    for cfg in configs:
        runs = []
        for _ in range(repeats):
            r = highs_from_mps(mps, time_limit=time_limit, threads=threads, **dict(cfg))
            runs.append(r)
            if r["status"] != "Optimal":
                break  # a time limit (or failure) is not worth repeating
        best = min(runs, key=lambda r: r["solve_s"])
        out.append({**cfg, "threads": threads, **best, "all_solve_s": [r["solve_s"] for r in runs]})
    common.emit({"configs": out})


def settings(
    name: str,
    mps: str,
    repeats: int,
    time_limit: float,
    timeout: float,
    thread_counts: tuple[int, ...] = (1, 2),
) -> dict[str, Any]:
    configs: list[dict[str, Any]] = []
    for threads in thread_counts:
        res = common.run_worker(
            SCRIPT,
            [
                "--settings-worker",
                mps,
                str(threads),
                "--repeats",
                str(repeats),
                "--time-limit",
                str(time_limit),
            ],
            timeout=timeout,
        )
        if "error" in res:
            print(f"  settings {name} threads={threads}: {res['error']}", file=sys.stderr)
            continue
        configs.extend(res["configs"])
    default = next((c for c in configs if c["solver"] == "simplex" and c["presolve"] == "on"), None)
    ref = default["objective"] if default else np.nan
    for c in configs:
        c["parallel"] = c.get("parallel", "choose")
        c["objective_matches"] = bool(np.isclose(c["objective"], ref, rtol=1e-4))
        c["vs_default"] = c["solve_s"] / default["solve_s"] if default else np.nan
    good = [c for c in configs if c["status"] == "Optimal" and c["objective_matches"]]
    best = min(good, key=lambda c: c["solve_s"]) if good else None
    return {
        "case": name,
        "repeats": repeats,
        "time_limit_s": time_limit,
        "configs": configs,
        "best": best,
    }


# ------------------------------------------------------------------------------------------------
OVERHEAD_COLUMNS = [
    ("case", "case", ""),
    ("columns", "columns", ","),
    ("hp_build", "resolve+build s", ".3f"),
    ("hp_pass", "pass s", ".3f"),
    ("hp_solve", "solve s", ".2f"),
    ("hp_results", "results s", ".3f"),
    ("hp_total", "hyperplan s", ".2f"),
    ("hs_read", "MPS read s", ".2f"),
    ("hs_solve", "HiGHS solve s", ".2f"),
    ("hs_total", "HiGHS s", ".2f"),
    ("ratio", "ratio", ".3f"),
    ("ratio_same_solve", "ratio @ same solve", ".3f"),
    ("overhead_s", "overhead s", ".2f"),
    ("hp_verify", "verify s", ".2f"),
    ("same_iterations", "same iters", ""),
    ("objective_matches", "same obj", ""),
]

SETTINGS_COLUMNS = [
    ("case", "case", ""),
    ("solver", "solver", ""),
    ("presolve", "presolve", ""),
    ("threads", "threads", "d"),
    ("parallel", "parallel", ""),
    ("solve_s", "solve s", ".2f"),
    ("vs_default", "vs default", ".2f"),
    ("status", "status", ""),
    ("objective_matches", "same obj", ""),
]


def overhead_table(rows: list[dict[str, Any]]) -> str:
    flat = []
    for r in rows:
        hp, hs = r["hyperplan"], r["highs"]
        flat.append(
            {
                **r,
                "hp_build": hp["build_s"],
                "hp_pass": hp["pass_s"],
                "hp_solve": hp["solve_s"],
                "hp_results": hp["results_s"],
                "hp_total": hp["total_s"],
                "hp_verify": hp["verify_s"],
                "hs_read": hs["read_s"],
                "hs_solve": hs["solve_s"],
                "hs_total": hs["total_s"],
            }
        )
    return common.table(flat, OVERHEAD_COLUMNS)


def settings_table(rows: list[dict[str, Any]]) -> str:
    flat = [{"case": r["case"], **c} for r in rows for c in r["configs"]]
    return common.table(flat, SETTINGS_COLUMNS)


def _given(values: list[str] | None, default: list[str]) -> list[str]:
    """A list option: the default when not given, empty when given without values."""
    return default if values is None else values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one tiny case, one repeat (smoke)")
    parser.add_argument("--cases", nargs="*", default=None, help="overhead cases")
    parser.add_argument("--settings-cases", nargs="*", default=None, help="settings-sweep cases")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=600.0, help="per settings run, seconds")
    parser.add_argument("--timeout", type=float, default=7200.0, help="per worker, seconds")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--cli",
        nargs="*",
        type=Path,
        default=None,
        help="scenario files for the command-line comparison (default frontier-2030)",
    )
    parser.add_argument(
        "--cli-before", default=None, help="PYTHONPATH of another checkout's CLI to run too"
    )
    parser.add_argument(
        "--settings-worker", nargs=2, metavar=("MPS", "THREADS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.settings_worker:
        mps, threads = args.settings_worker
        settings_worker(mps, int(threads), args.repeats, args.time_limit)
        return
    repeats = 1 if args.quick else args.repeats
    over_cases = ["xs"] if args.quick else _given(args.cases, OVERHEAD_CASES)
    set_cases = ["xs"] if args.quick else _given(args.settings_cases, SETTINGS_CASES)
    cli_files = (
        [common.ROOT / "examples" / "small.yaml"]
        if args.quick
        else (args.cli if args.cli is not None else [common.FRONTIER])
    )
    with tempfile.TemporaryDirectory() as tmp:
        cli = [cli_vs_highs(f, repeats, tmp, args.cli_before) for f in cli_files]
        over = []
        mps_of: dict[str, str] = {}
        for name in dict.fromkeys(over_cases + set_cases):
            row = overhead(name, repeats, tmp)
            mps_of[name] = row.pop("mps_path")
            if name in over_cases:
                over.append(row)
                print(
                    f"{name}: hyperplan {row['hyperplan']['total_s']:.2f} s, "
                    f"HiGHS {row['highs']['total_s']:.2f} s, ratio {row['ratio']:.3f}",
                    flush=True,
                )
        sweep = [
            settings(
                name,
                mps_of[name],
                repeats,
                args.time_limit,
                args.timeout,
                (1,) if args.quick else (1, 2),
            )
            for name in set_cases
        ]
    print()
    print(f"hyperplan end to end vs HiGHS alone from MPS (best of {repeats})")
    print(overhead_table(over))
    print()
    print(f"HiGHS settings (solve seconds from the MPS, best of {repeats})")
    print(settings_table(sweep))
    for s in sweep:
        if s["best"]:
            b = s["best"]
            print(
                f"best for {s['case']}: solver={b['solver']} presolve={b['presolve']} "
                f"threads={b['threads']} parallel={b['parallel']} ({b['solve_s']:.2f} s, "
                f"{b['vs_default']:.2f}x the default)"
            )
    for c in cli:
        print(
            f"command line {Path(c['file']).name}: {c['cli_s_median']:.2f} s, HiGHS alone on the "
            f"unscaled MPS {c['highs_s_median']:.2f} s: median ratio {c['ratio_median']:.3f}, "
            f"of CPU {c['cpu_ratio_median']:.3f}"
            + (
                f" (before: {c['before_s_median']:.2f} s, ratio {c['before_ratio_median']:.3f}, "
                f"of CPU {c['before_cpu_ratio_median']:.3f})"
                if "before_s_median" in c
                else ""
            )
            + f", load average {c['load_average_median']:.1f}"
        )
    out = common.write_results(
        "highs_alone",
        {
            "repeats": repeats,
            "quick": args.quick,
            "cli": cli,
            "overhead": over,
            "settings": sweep,
        },
        args.out,
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
