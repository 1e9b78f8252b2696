"""Every stated target a plan misses, in one table: the terminal, plan.json and the HTML report
all read it from :func:`misses` (``Plan.misses()``), so they can never disagree.

A miss is a target the scenario states and the plan does not reach:

* ``demand``: base-scenario demand left unserved (target 100% of demand in every period);
* ``training``: a training run not finished inside its window (reference GPU-hours);
* ``budget``: a yearly budget that binds while demand goes unserved in that year (the budget,
  not the market, forced the shortfall);
* ``n-1``: a workload below its resilience level under an outage scenario;
* ``target-gw``: peak power short of ``policies.target_gw``.

Rows are sorted on full keys (kind in the order above, then subject, then scenario), so the
order never depends on ties.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hyperplan.plan.context import PlanLike

KINDS = ("demand", "training", "budget", "n-1", "target-gw")
"""Kinds of miss, most serious first (the sort order of :func:`misses`)."""
COLUMNS = [
    "kind",
    "subject",
    "scenario",
    "target",
    "achieved",
    "shortfall",
    "unit",
    "message",
]
UNITS = {
    "target": "see unit",
    "achieved": "see unit",
    "shortfall": "target − achieved, see unit",
}
TOL = 1e-6
"""A served fraction this close to its target is a hit (the solver's feasibility tolerance)."""


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _empty() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=float if c in UNITS else object) for c in COLUMNS})
    df.attrs["units"] = dict(UNITS)
    return df


def _fraction_misses(plan: PlanLike) -> list[pd.DataFrame]:
    """Base demand and N-1 levels from the ``resilience`` table (worst period per scenario)."""
    res = plan.tables.get("resilience")
    if res is None or not len(res):
        return []
    kinds = plan.context.kind_of
    short = res[res["served_fraction"] < res["required_fraction"] - TOL]
    # training rows carry no demand fraction: a run's miss is its unserved compute (below)
    short = short[short["workload"].map(kinds) != "training"]
    if not len(short):
        return []
    base = (short["scenario"] == "base").to_numpy()
    uns = plan.tables.get("unserved")
    periods_short = (
        uns[uns["scenario"] == "base"].groupby("workload")["period"].nunique()
        if uns is not None and len(uns)
        else pd.Series(dtype=int)
    )
    target = short["required_fraction"].to_numpy(dtype=float)
    achieved = short["served_fraction"].to_numpy(dtype=float)
    workload = short["workload"].astype(str).to_numpy()
    scenario = short["scenario"].astype(str).to_numpy()
    n_short = periods_short.reindex(workload).fillna(0).astype(int).to_numpy()
    message = np.where(
        base,
        [
            f"{w} serves only {_pct(a)} of its demand in its worst period "
            f"({n} period(s) short) in the base plan; target 100%"
            for w, a, n in zip(workload, achieved, n_short, strict=True)
        ],
        [
            f"{w} keeps {_pct(a)} of its demand when {s.removesuffix(' down')} is down; "
            f"target {_pct(t)}"
            for w, a, s, t in zip(workload, achieved, scenario, target, strict=True)
        ],
    )
    return [
        pd.DataFrame(
            {
                "kind": np.where(base, "demand", "n-1"),
                "subject": workload,
                "scenario": scenario,
                "target": target,
                "achieved": achieved,
                "shortfall": target - achieved,
                "unit": "share of demand",
                "message": message,
            }
        )
    ]


def _training_misses(plan: PlanLike) -> list[pd.DataFrame]:
    """Training runs with compute left over at the end of their window."""
    uns = plan.tables.get("unserved")
    wl = plan.tables.get("workloads")
    if uns is None or wl is None or not len(uns):
        return []
    runs = uns[(uns["scenario"] == "base") & (uns["period"] == "whole window")]
    if not len(runs):
        return []
    compute = wl.groupby("workload")["compute_gpu_hours"].first()
    name = runs["workload"].astype(str).to_numpy()
    target = compute.reindex(name).to_numpy(dtype=float)
    missing = runs["amount"].to_numpy(dtype=float)
    achieved = target - missing
    return [
        pd.DataFrame(
            {
                "kind": "training",
                "subject": name,
                "scenario": "base",
                "target": target,
                "achieved": achieved,
                "shortfall": missing,
                "unit": "reference GPU-hours",
                "message": [
                    f"training run {n} is not finished in its window: {a:,.0f} of {t:,.0f} "
                    f"reference GPU-hours ({_pct(a / t if t > 0 else 0.0)})"
                    for n, a, t in zip(name, achieved, target, strict=True)
                ],
            }
        )
    ]


def _budget_misses(plan: PlanLike) -> list[pd.DataFrame]:
    """Yearly budgets that bind in a year where base demand (or a run) goes unserved."""
    pol = plan.tables.get("policies")
    uns = plan.tables.get("unserved")
    if pol is None or uns is None or not len(pol) or not len(uns):
        return []
    binding = pol[pol["policy"] == "budget"]
    if not len(binding):
        return []
    ctx = plan.context
    year_of = {
        lab: str(start.year) for lab, start in zip(ctx.periods, ctx.period_starts, strict=False)
    }
    base = uns[uns["scenario"] == "base"]
    years_short = base["period"].map(year_of)
    # a training run's shortfall spans its window: count it in every budget year that binds
    any_run = bool((base["period"] == "whole window").any())
    budgets = dict(ctx.budget_usd)
    spend = plan.tables["spend"]
    spent = (
        spend.groupby(spend["year"].astype(str))["usd"].sum()
        if len(spend)
        else pd.Series(dtype=float)
    )
    year = binding["period"].astype(str).to_numpy()
    hit = np.array([any_run or y in set(years_short.dropna()) for y in year], dtype=bool)
    year = np.unique(year[hit])
    if not len(year):
        return []
    target = np.array([budgets.get(y, np.nan) for y in year], dtype=float)
    achieved = spent.reindex(year).to_numpy(dtype=float)
    return [
        pd.DataFrame(
            {
                "kind": "budget",
                "subject": year,
                "scenario": "base",
                "target": target,
                "achieved": achieved,
                "shortfall": np.full(len(year), np.nan),
                "unit": "USD",
                "message": [
                    f"the {y} budget of USD {t:,.0f} binds and leaves demand unserved "
                    "(raise it or cut demand)"
                    for y, t in zip(year, target, strict=True)
                ],
            }
        )
    ]


def _power_misses(plan: PlanLike) -> list[pd.DataFrame]:
    """Peak power (facility MW of the base plan) short of ``policies.target_gw``."""
    target_gw = plan.context.target_gw
    cap = plan.tables.get("capacity")
    if not target_gw or cap is None:
        return []
    peak = float(cap.groupby("period_index")["mw"].sum().max()) if len(cap) else 0.0
    target = float(target_gw) * 1000.0
    if peak >= target * (1 - TOL):
        return []
    return [
        pd.DataFrame(
            {
                "kind": ["target-gw"],
                "subject": ["peak power"],
                "scenario": ["base"],
                "target": [target],
                "achieved": [peak],
                "shortfall": [target - peak],
                "unit": ["MW"],
                "message": [
                    f"peak power {peak / 1000:,.1f} GW falls short of the "
                    f"{target / 1000:,.1f} GW target ({_pct(peak / target)})"
                ],
            }
        )
    ]


def misses(plan: PlanLike) -> pd.DataFrame:
    """Every stated target the plan misses (see the module doc), one row each.

    Columns: kind, subject (workload, run, year or "peak power"), scenario, target, achieved,
    shortfall (target − achieved; NaN for a budget), unit, message (one sentence). Empty when
    the plan meets every target.
    """
    parts = [
        *_fraction_misses(plan),
        *_training_misses(plan),
        *_budget_misses(plan),
        *_power_misses(plan),
    ]
    if not parts:
        return _empty()
    df = pd.concat(parts, ignore_index=True)
    rank = df["kind"].map({k: i for i, k in enumerate(KINDS)})
    df = (
        df.assign(_rank=rank)
        .sort_values(["_rank", "subject", "scenario"], kind="stable", ignore_index=True)
        .drop(columns="_rank")
    )
    df = df[COLUMNS]
    df.attrs["units"] = dict(UNITS)
    return df
