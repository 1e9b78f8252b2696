"""Model building: hyperplan's builder against linopy and Pyomo on the same planning model.

The same model (rows, columns, coefficients) is built three ways from the same PlanInputs:
hyperplan (``plan.build.build`` + ``plan.solve.make_highs``), linopy (bench/anchors.py, then
``Model.to_highspy()``, which is what ``solve(io_api="direct")`` runs) and Pyomo (bench/anchors.py,
then the APPSI HiGHS interface's ``set_instance``). "Build" is everything from the PlanInputs
arrays to a ``highspy.Highs`` holding the model; ``resolve`` (scenario + catalog -> PlanInputs) is
shared and reported apart.

Every (tool, size) runs in a fresh interpreter, so its peak RSS is its own: peak RSS during the
build above the RSS before it (Linux ``clear_refs``; MB). Times are the best of ``--repeats``
(default 3) builds in that interpreter; memory is from the first build. The three models handed to
HiGHS are compared (sizes and an order-free fingerprint of costs, bounds and coefficients), and up
to ``--solve-max-cols`` columns each is solved and the objectives compared.

    pip install linopy pyomo        # bench dependencies only (not needed by hyperplan)
    python bench/model_build.py [--quick] [--cases s m l] [--repeats 3]

Writes bench/results/model_build.json.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import common

SCRIPT = Path(__file__).resolve()
LADDER = ["s", "s+", "m", "m+", "l", "xl", "xxl", "frontier-2030"]
TOOLS = ("hyperplan", "linopy", "pyomo")
TOOL_MODULE = {"hyperplan": "hyperplan", "linopy": "linopy", "pyomo": "pyomo"}


# ------------------------------------------------------------------------------------------------
# Worker: one tool, one case, in a fresh interpreter
# ------------------------------------------------------------------------------------------------
def _builder(tool: str) -> tuple[Any, Any]:
    """(model(inp) -> object, to_highs(object) -> Highs) of a tool."""
    if tool == "hyperplan":
        from hyperplan.plan.build import build
        from hyperplan.plan.solve import SolverOptions, make_highs

        # the model as built (scale=False): the fingerprint compares it with linopy's and
        # Pyomo's; the power-of-two scaling for the solve is timed in bench/highs_alone.py
        return (lambda inp: build(inp)), (
            lambda pm: make_highs(pm.lm, SolverOptions(), scale=False)
        )
    import anchors

    if tool == "linopy":
        import linopy  # noqa: F401  (imported before the clock starts)

        return anchors.build_linopy, anchors.linopy_to_highs
    import pyomo.environ  # noqa: F401
    from pyomo.contrib.appsi.solvers import Highs  # noqa: F401

    def to_highs(mdl: Any) -> Any:
        opt, h = anchors.pyomo_to_highs(mdl)
        h._bench_keep = opt  # the APPSI solver owns the Highs instance
        return h

    return anchors.build_pyomo, to_highs


def worker(tool: str, case_name: str, repeats: int, solve_max: int, fp_path: str) -> None:
    from hyperplan.plan.inputs import resolve

    model, to_highs = _builder(tool)
    scenario, catalog = common.case(case_name)
    t0 = time.perf_counter()
    inp = resolve(scenario, catalog)
    resolve_s = time.perf_counter() - t0
    offset = 0.0
    times: list[tuple[float, float]] = []
    with common.PeakMemory() as mem:
        t0 = time.perf_counter()
        obj = model(inp)
        t1 = time.perf_counter()
        h = to_highs(obj)
        t2 = time.perf_counter()
    times.append((t1 - t0, t2 - t1))
    if tool == "hyperplan":
        offset = float(obj.lm.offset)
    fp = common.highs_fingerprint(h)
    np.savez(fp_path, **{k: np.asarray(v) for k, v in fp.items()})
    result: dict[str, Any] = {
        "tool": tool,
        "case": case_name,
        "columns": fp["columns"],
        "rows": fp["rows"],
        "nonzeros": fp["nonzeros"],
        "integers": fp["integers"],
        "resolve_s": resolve_s,
        "rss_before_mb": mem.start,
        "peak_mb": mem.delta_mb,
        "peak_clean": mem.clean,
    }
    if fp["columns"] <= solve_max:
        h.setOptionValue("output_flag", False)
        h.setOptionValue("solver", "simplex")
        h.setOptionValue("presolve", "on")
        h.setOptionValue("mip_rel_gap", 1e-4)
        t0 = time.perf_counter()
        h.run()
        result["solve_s"] = time.perf_counter() - t0
        result["status"] = h.modelStatusToString(h.getModelStatus())
        if result["status"] == "Optimal":
            # net of the constant (sunk existing reservations), which only hyperplan passes
            result["objective"] = float(h.getInfo().objective_function_value) - offset
    del obj, h
    for _ in range(max(1, repeats) - 1):
        gc.collect()
        t0 = time.perf_counter()
        obj = model(inp)
        t1 = time.perf_counter()
        h = to_highs(obj)
        t2 = time.perf_counter()
        times.append((t1 - t0, t2 - t1))
        del obj, h
    totals = [a + b for a, b in times]
    best = int(np.argmin(totals))
    result.update(
        {
            "repeats": len(times),
            "build_s": totals[best],
            "model_s": times[best][0],
            "to_highs_s": times[best][1],
            "build_all_s": totals,
        }
    )
    common.emit(result)


# ------------------------------------------------------------------------------------------------
# Driver
# ------------------------------------------------------------------------------------------------
def _load_fp(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    with np.load(path) as data:
        return {k: (data[k] if data[k].ndim else data[k].item()) for k in data.files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one tiny case, one repeat (smoke)")
    parser.add_argument("--cases", nargs="*", default=None, help=f"subset of {LADDER}")
    parser.add_argument("--tools", nargs="*", default=list(TOOLS), choices=TOOLS)
    parser.add_argument("--repeats", type=int, default=3, help="builds per measurement (best)")
    parser.add_argument(
        "--solve-max-cols",
        type=int,
        default=150_000,
        help="solve each model and compare objectives up to this many columns",
    )
    parser.add_argument(
        "--pyomo-budget",
        type=float,
        default=600.0,
        help="skip Pyomo at a size whose build is predicted (linear in columns) above this (s)",
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="per worker, seconds")
    parser.add_argument("--out", type=Path, default=None, help="JSON path")
    parser.add_argument("--worker", nargs=3, metavar=("TOOL", "CASE", "FP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        tool, case_name, fp = args.worker
        worker(tool, case_name, args.repeats, args.solve_max_cols, fp)
        return
    cases = ["xs"] if args.quick else (args.cases or LADDER)
    repeats = 1 if args.quick else args.repeats
    missing = {t: f"{t} not installed" for t in args.tools if not common.have(TOOL_MODULE[t])}
    for t, why in missing.items():
        print(f"skipping {t}: {why} (pip install {t})")
    tools = [t for t in args.tools if t not in missing]
    rows: list[dict[str, Any]] = []
    pyomo_rate: float | None = None  # seconds per column of the last Pyomo build
    with tempfile.TemporaryDirectory() as tmp:
        for name in cases:
            row: dict[str, Any] = {"case": name}
            if name in common.CASES:
                row["dims"] = common.dims_dict(common.CASES[name])
            fps: dict[str, dict[str, Any] | None] = {}
            for tool in tools:
                if tool == "pyomo" and pyomo_rate is not None and "columns" in row:
                    predicted = pyomo_rate * row["columns"]
                    if predicted > args.pyomo_budget:
                        row["pyomo"] = {
                            "skipped": f"predicted build {predicted:.0f} s > "
                            f"--pyomo-budget {args.pyomo_budget:.0f} s"
                        }
                        continue
                fp_path = Path(tmp) / f"{name}-{tool}.npz"
                res = common.run_worker(
                    SCRIPT,
                    [
                        "--worker",
                        tool,
                        name,
                        str(fp_path),
                        "--repeats",
                        str(repeats),
                        "--solve-max-cols",
                        str(args.solve_max_cols),
                    ],
                    timeout=args.timeout,
                )
                row[tool] = res
                fps[tool] = _load_fp(fp_path)
                if "error" in res:
                    print(f"  {name} {tool}: {res['error']}", file=sys.stderr)
                    continue
                row.setdefault("columns", res["columns"])
                row.setdefault("rows", res["rows"])
                row.setdefault("nonzeros", res["nonzeros"])
                row.setdefault("resolve_s", res["resolve_s"])
                if tool == "pyomo":
                    pyomo_rate = res["build_s"] / max(1, res["columns"])
            _compare(row, fps)
            rows.append(row)
            _print_progress(row)
    print()
    print(render(rows))
    out = common.write_results(
        "model_build",
        {
            "description": "build time (PlanInputs -> model held by HiGHS) and peak RSS per tool",
            "repeats": repeats,
            "quick": args.quick,
            "rows": rows,
        },
        args.out,
    )
    print(f"wrote {out}")


def _compare(row: dict[str, Any], fps: dict[str, dict[str, Any] | None]) -> None:
    """Same model? Fingerprints and objectives against hyperplan's."""
    base = fps.get("hyperplan")
    hp = row.get("hyperplan", {})
    for tool in ("linopy", "pyomo"):
        res = row.get(tool)
        if not isinstance(res, dict) or "error" in res or "skipped" in res:
            continue
        other = fps.get(tool)
        if base is not None and other is not None:
            diffs = common.same_fingerprint(base, other)
            res["same_model"] = not diffs
            res["fingerprint_diffs"] = diffs
        if "status" in res and res["status"] != "Optimal":
            res["objective_matches"] = None
            res["objective_note"] = f"HiGHS status {res['status']!r} on this ordering of the model"
        elif "objective" in res and "objective" in hp:
            a, b = hp["objective"], res["objective"]
            rtol = 1e-4 if hp.get("integers", 0) else 1e-6
            res["objective_matches"] = bool(np.isclose(a, b, rtol=rtol))
            res["objective_rel_diff"] = abs(a - b) / max(1e-12, abs(a))
        if "build_s" in res and "build_s" in hp:
            res["hp_over_tool_time"] = hp["build_s"] / res["build_s"]
            res["hp_over_tool_memory"] = hp["peak_mb"] / max(1e-9, res["peak_mb"])


def _print_progress(row: dict[str, Any]) -> None:
    parts = [f"{row['case']}: {row.get('columns', '?')} columns"]
    for tool in TOOLS:
        res = row.get(tool)
        if isinstance(res, dict) and "build_s" in res:
            parts.append(f"{tool} {res['build_s']:.2f} s {res['peak_mb']:.0f} MB")
        elif isinstance(res, dict):
            parts.append(f"{tool}: {res.get('error') or res.get('skipped')}")
    print(" | ".join(parts), flush=True)


def flat(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat record per case for the table."""
    out = []
    for r in rows:
        hp, lp, po = (r.get(t) or {} for t in TOOLS)
        same = [x.get("same_model") for x in (lp, po) if "same_model" in x]
        objm = [
            x.get("objective_matches") for x in (lp, po) if x.get("objective_matches") is not None
        ]
        failed = [
            f"{t}: {x['status']}"
            for t, x in (("linopy", lp), ("Pyomo", po))
            if x.get("status") not in (None, "Optimal")
        ]
        out.append(
            {
                "case": r["case"],
                "columns": r.get("columns"),
                "rows": r.get("rows"),
                "nonzeros": r.get("nonzeros"),
                "resolve_s": r.get("resolve_s"),
                "hp_s": hp.get("build_s"),
                "lp_s": lp.get("build_s"),
                "po_s": po.get("build_s"),
                "hp_lp": lp.get("hp_over_tool_time"),
                "hp_po": po.get("hp_over_tool_time"),
                "hp_mb": hp.get("peak_mb"),
                "lp_mb": lp.get("peak_mb"),
                "po_mb": po.get("peak_mb"),
                "hp_lp_mb": lp.get("hp_over_tool_memory"),
                "hp_po_mb": po.get("hp_over_tool_memory"),
                "same": all(same) if same else None,
                "objective": "; ".join(([("yes" if all(objm) else "NO")] if objm else []) + failed)
                or None,
            }
        )
    return out


COLUMNS = [
    ("case", "case", ""),
    ("columns", "columns", ","),
    ("rows", "rows", ","),
    ("nonzeros", "nnz", ","),
    ("resolve_s", "resolve s", ".3f"),
    ("hp_s", "hyperplan s", ".3f"),
    ("lp_s", "linopy s", ".2f"),
    ("po_s", "Pyomo s", ".1f"),
    ("hp_lp", "hp/linopy", ".3f"),
    ("hp_po", "hp/Pyomo", ".4f"),
    ("hp_mb", "hp MB", ".0f"),
    ("lp_mb", "linopy MB", ".0f"),
    ("po_mb", "Pyomo MB", ".0f"),
    ("hp_lp_mb", "hp/linopy mem", ".2f"),
    ("hp_po_mb", "hp/Pyomo mem", ".3f"),
    ("same", "same model", ""),
    ("objective", "same objective", ""),
]


def render(rows: list[dict[str, Any]]) -> str:
    return common.table(flat(rows), COLUMNS)


if __name__ == "__main__":
    main()
