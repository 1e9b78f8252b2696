"""Decision quality: hyperplan's plan against per-job greedy placement.

``greedy`` is the strategy of hyperplan.plan.compare: every workload on the cheapest allowed
offers, on-demand only (SkyPilot's optimiser: cheapest feasible instance type per cloud, then the
cheapest region), no commitments, no share cap, no outage planning. ``multi`` is the scenario as
written. ``compare()`` plans both and evaluates each one's fixed commitments under every provider
outage (second stage re-optimised, every inference workload asking for all of its demand), so the
served fractions are comparable although greedy did not plan for outages.

Cases: examples/frontier-2030.yaml and four synthetic scenarios (three with the generator's
inference/training/agents mix, one with inference only), each synthetic one twice:

- ``open``: as generated, on-demand and spot capacity unlimited (any outage is absorbed by buying
  more elsewhere, so served fractions are 1 for both strategies: only cost and concentration
  differ);
- ``tight``: a finite on-demand and spot cap per GPU offer and period (CPU offers uncapped), the
  smallest (within 5%) at which greedy still serves all base demand: a market where on-demand capacity exists for normal
  operation but not for an outage's worth of failover, as in frontier-2030 (whose caps are its
  own: 2,000 on-demand and 1,000 spot instances per offer and quarter).

Then both plans are simulated over the same draws (hyperplan.sim.compare_simulated, first year,
hourly) at the default outage rates and with outage rates × ``--stress``: served fraction of each
inference workload (mean over trials, the lowest workload reported) and cost.

    python bench/greedy_quality.py [--quick] [--trials 200] [--no-sim]

Writes bench/results/greedy_quality.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import common

#: synthetic cases: (providers, regions, offers per region, workloads, monthly periods), seed
SYNTHETIC = {
    "syn-a": ((3, 2, 4, 6, 12), 1),
    "syn-b": ((4, 3, 4, 9, 24), 2),
    "syn-c": ((6, 2, 4, 12, 24), 3),
    # inference only (3 workloads = 3 inference): no training run to pause and free capacity
    "syn-inf": ((4, 2, 4, 3, 12), 4),
}
CAPS = [25, 50, 100, 200, 400, 800, 1600, 3200, 6400, 12800]
STRATEGIES = ["multi", "greedy"]


GPUS = ("H100", "H200", "B200", "GB200")  # the synthetic catalog's accelerators


def _capped(scenario: Any, cap: float) -> Any:
    """The scenario with on-demand and spot capped at ``cap`` per GPU offer and period.

    CPU offers stay uncapped: the question is the inference fleet (capping CPUs too would make
    the agents' vCPU demand set the cap and leave GPU pools with ample headroom).
    """
    from hyperplan.scenario.schema import OfferOverride

    extra = [
        OfferOverride.model_validate(
            {"match": {"accelerator": acc}, "ondemand_cap": cap, "spot_cap": cap}
        )
        for acc in GPUS
    ]
    offers = scenario.offers.model_copy(update={"overrides": [*scenario.offers.overrides, *extra]})
    return scenario.model_copy(update={"offers": offers})


def base_served(plan: Any, inference: set[str]) -> float:
    """Lowest served fraction of any inference workload in the base plan (worst period)."""
    res = plan.tables["resilience"]
    sel = res[(res["scenario"] == "base") & res["workload"].isin(inference)]
    return float(sel["served_fraction"].min()) if len(sel) else float("nan")


def base_unserved(plan: Any) -> float:
    """Demand units left unserved in the base plan (all workloads)."""
    un = plan.tables["unserved"]
    return float(un.loc[un["scenario"] == "base", "amount"].sum()) if len(un) else 0.0


def tightest_cap(scenario: Any, catalog: Any, rel: float = 0.05) -> float:
    """The smallest cap (within ``rel``) at which greedy still serves all base demand.

    Doubling through :data:`CAPS`, then bisection between the last cap that falls short and the
    first that suffices.
    """
    from hyperplan.plan.api import solve_scenario
    from hyperplan.plan.compare import strategy_scenario

    def enough(cap: float) -> bool:
        greedy = strategy_scenario(_capped(scenario, cap), "greedy")
        return base_unserved(solve_scenario(greedy, catalog=catalog).plan) <= 1e-6

    lo = 0.0
    for cap in CAPS:
        if enough(cap):
            hi = float(cap)
            break
        lo = float(cap)
    else:
        return float("inf")
    while hi - lo > max(1.0, rel * hi):
        mid = float(round((lo + hi) / 2.0))
        if enough(mid):
            hi = float(mid)
        else:
            lo = float(mid)
    return hi


def outage_means(scenario: Any, catalog: Any, inference: set[str]) -> dict[str, dict[str, float]]:
    """Per strategy and provider outage: served fraction averaged over inference workloads.

    ``compare()`` reports the lowest workload, which is 0 as soon as the LP gives all surviving
    capacity to the workloads with the higher unserved penalty; the mean says how much of the
    demand is served. Same evaluation as compare() (its strategy_scenario and evaluate_outages).
    """
    from hyperplan.plan.api import solve_scenario
    from hyperplan.plan.compare import evaluate_outages, strategy_scenario

    out = {}
    for strategy in STRATEGIES:
        solved = solve_scenario(strategy_scenario(scenario, strategy), catalog=catalog)
        res = evaluate_outages(scenario, solved, catalog)
        res = res[res["workload"].isin(inference) & (res["scenario"] != "base")]
        out[strategy] = {
            str(k): float(v) for k, v in res.groupby("scenario")["served_fraction"].mean().items()
        }
    return out


def run_case(
    name: str,
    scenario: Any,
    catalog: Any,
    trials: int,
    stress: float,
    sim: bool,
    workers: int | None = None,
) -> list[dict[str, Any]]:
    from hyperplan.plan.compare import compare
    from hyperplan.plan.inputs import resolve

    inp = resolve(scenario, catalog)
    inference = {n for n, k in zip(inp.workload_names, inp.kind, strict=True) if k == "inference"}
    t0 = time.perf_counter()
    tab, plans = compare(scenario, STRATEGIES, catalog=catalog)
    seconds = time.perf_counter() - t0
    served_cols = [c for c in tab.columns if c.startswith("served: ")]
    mean_served = outage_means(scenario, catalog, inference)
    rows = []
    for _, r in tab.iterrows():
        plan = plans[r["strategy"]]
        served = {c.removeprefix("served: "): float(r[c]) for c in served_cols}
        rows.append(
            {
                "case": name,
                "strategy": r["strategy"],
                "status": r["status"],
                "total_usd": float(r["total_usd"]),
                "npv_usd": float(r["npv_usd"]),
                "max_share": float(r["max_share"]),
                "peak_mw": float(r["peak_mw"]),
                "base_served": base_served(plan, inference),
                "base_unserved_units": base_unserved(plan),
                "served_under_outage": served,
                "worst_outage_served": min(served.values()) if served else float("nan"),
                "worst_outage": min(served, key=served.get) if served else None,
                "mean_served_under_outage": mean_served[r["strategy"]],
                "worst_outage_mean_served": min(
                    mean_served[r["strategy"]].values(), default=np.nan
                ),
                "providers": len(inp.providers),
                "compare_seconds": seconds,
            }
        )
    greedy = next(r for r in rows if r["strategy"] == "greedy")
    for r in rows:
        r["savings_vs_greedy"] = 1.0 - r["npv_usd"] / greedy["npv_usd"]
    if sim:
        from hyperplan.sim import SimConfig, compare_simulated

        for label, cfg in (("sim", SimConfig()), ("stress", SimConfig(outage_rate_scale=stress))):
            t0 = time.perf_counter()
            df = compare_simulated(plans, trials=trials, seed=0, config=cfg, workers=workers)
            spent = time.perf_counter() - t0
            _add_sim(rows, df, inference, label, spent)
    return rows


def _add_sim(
    rows: list[dict[str, Any]], df: pd.DataFrame, inference: set[str], label: str, seconds: float
) -> None:
    """Simulated served fraction (lowest inference workload, mean over trials), P5 and cost."""
    results = df.attrs.get("results", {})
    for r in rows:
        res = results.get(r["strategy"])
        if res is None:
            continue
        m = res.metrics
        cols = [f"served_fraction:{w}" for w in sorted(inference) if f"served_fraction:{w}" in m]
        if cols:
            means = m[cols].mean()
            r[f"{label}_served_mean"] = float(means.min())
            r[f"{label}_served_p05"] = float(m[cols].min(axis=1).quantile(0.05))
            r[f"{label}_served_by_workload"] = {
                c.split(":", 1)[1]: float(v) for c, v in means.items()
            }
        r[f"{label}_cost_usd"] = float(m["cost_usd"].mean())
        r[f"{label}_trials"] = len(m)
        r[f"{label}_seconds"] = seconds
    diffs = df[df["metric"].str.startswith("served_fraction:")]
    for r in rows:
        if r["strategy"] != "multi":
            r[f"{label}_paired_diff"] = {
                row.metric.split(":", 1)[1]: {
                    "diff_mean": float(row.diff_mean),
                    "ci_low": float(row.ci_low),
                    "ci_high": float(row.ci_high),
                }
                for row in diffs[diffs["strategy"] == r["strategy"]].itertuples()
            }


COLUMNS = [
    ("case", "case", ""),
    ("strategy", "strategy", ""),
    ("total_busd", "total $B", ".3f"),
    ("npv_busd", "NPV $B", ".3f"),
    ("savings_vs_greedy", "saving", ".1%"),
    ("max_share", "max share", ".2f"),
    ("peak_mw", "peak MW", ",.0f"),
    ("base_served", "base served", ".3f"),
    ("worst_outage_served", "worst outage served", ".3f"),
    ("worst_outage", "worst outage", ""),
    ("worst_outage_mean_served", "worst outage mean", ".3f"),
    ("sim_served_mean", "sim served", ".4f"),
    ("stress_served_mean", "stress served", ".4f"),
    ("stress_served_p05", "stress P5", ".4f"),
]


def render(rows: list[dict[str, Any]]) -> str:
    flat = [{**r, "total_busd": r["total_usd"] / 1e9, "npv_busd": r["npv_usd"] / 1e9} for r in rows]
    return common.table(flat, COLUMNS)


def outage_table(rows: list[dict[str, Any]]) -> str:
    """Served fraction under each provider outage, one row per (case, strategy)."""
    providers = sorted({p for r in rows for p in r["served_under_outage"]})
    flat = [
        {"case": r["case"], "strategy": r["strategy"], **r["served_under_outage"]} for r in rows
    ]
    cols = [("case", "case", ""), ("strategy", "strategy", "")] + [
        (p, p.removesuffix(" down") + " down", ".3f") for p in providers
    ]
    return common.table(flat, cols)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small synthetic case (smoke)")
    parser.add_argument("--trials", type=int, default=200, help="simulation trials per plan")
    parser.add_argument("--stress", type=float, default=10.0, help="outage-rate multiplier")
    parser.add_argument("--no-sim", action="store_true", help="skip the simulations")
    parser.add_argument("--no-frontier", action="store_true", help="skip frontier-2030")
    parser.add_argument("--workers", type=int, default=None, help="simulation processes")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    sim = not args.no_sim and common.have("hyperplan.sim")
    trials = 8 if args.quick else args.trials
    workers = 1 if args.quick else args.workers
    rows: list[dict[str, Any]] = []
    caps: dict[str, float] = {}
    cases: list[tuple[str, Any, Any]] = []
    if args.quick:
        sc, cat = common.synthetic((2, 1, 2, 3, 6), seed=1)
        cases.append(("quick-open", sc, cat))
        caps["quick"] = tightest_cap(sc, cat)
        cases.append(("quick-tight", _capped(sc, caps["quick"]), cat))
    else:
        if not args.no_frontier:
            sc, cat = common.frontier()
            cases.append(("frontier-2030", sc, cat))
        for name, (dims, seed) in SYNTHETIC.items():
            sc, cat = common.synthetic(dims, seed=seed)
            cases.append((f"{name}-open", sc, cat))
            caps[name] = tightest_cap(sc, cat)
            cases.append((f"{name}-tight", _capped(sc, caps[name]), cat))
    for name, sc, cat in cases:
        t0 = time.perf_counter()
        new = run_case(name, sc, cat, trials, args.stress, sim, workers)
        rows.extend(new)
        print(f"{name}: {time.perf_counter() - t0:.1f} s", flush=True)
    print()
    print("hyperplan (multi) vs per-job greedy: cost, concentration, power, served fractions")
    print(render(rows))
    print()
    print("planned served fraction under each provider outage (lowest inference workload)")
    print(outage_table(rows))
    summary = _summary(rows)
    print()
    for line in summary["lines"]:
        print(line)
    out = common.write_results(
        "greedy_quality",
        {
            "quick": args.quick,
            "trials": trials if sim else 0,
            "stress_outage_rate_scale": args.stress,
            "tight_caps": caps,
            "synthetic": {
                k: {"dims": common.dims_dict(d), "seed": s} for k, (d, s) in SYNTHETIC.items()
            },
            "rows": rows,
            "summary": summary,
        },
        args.out,
    )
    print(f"wrote {out}")


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_case: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_case.setdefault(r["case"], {})[r["strategy"]] = r
    out = []
    lines = []
    for case_name, pair in by_case.items():
        m, g = pair.get("multi"), pair.get("greedy")
        if m is None or g is None:
            continue
        item = {
            "case": case_name,
            "npv_saving": 1.0 - m["npv_usd"] / g["npv_usd"],
            "nominal_saving": 1.0 - m["total_usd"] / g["total_usd"],
            "max_share": (m["max_share"], g["max_share"]),
            "worst_outage_served": (m["worst_outage_served"], g["worst_outage_served"]),
            "worst_outage_mean_served": (
                m["worst_outage_mean_served"],
                g["worst_outage_mean_served"],
            ),
            "base_served": (m["base_served"], g["base_served"]),
        }
        out.append(item)
        lines.append(
            f"{case_name}: NPV saving vs greedy {item['npv_saving']:+.1%}; "
            f"max share {m['max_share']:.2f} vs {g['max_share']:.2f}; worst provider outage "
            f"served {m['worst_outage_served']:.3f} vs {g['worst_outage_served']:.3f} "
            f"(mean over inference workloads {m['worst_outage_mean_served']:.3f} vs "
            f"{g['worst_outage_mean_served']:.3f})"
        )
    savings = np.array([i["npv_saving"] for i in out])
    return {
        "cases": out,
        "lines": lines,
        "median_npv_saving": float(np.median(savings)) if len(savings) else None,
    }


if __name__ == "__main__":
    main()
