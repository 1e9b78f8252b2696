"""Per-trial metrics from a chunk's accumulators, their distributions and paired comparisons.

Metric names are ``name`` or ``name:subject`` (a workload, run or failure domain); units in
:data:`UNITS` by name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from hyperplan.sim.dispatch import Acc
from hyperplan.sim.draws import Draws
from hyperplan.sim.inputs import Run, SimInputs

UNITS = {
    "served_fraction": "share of demand (demand-weighted over the window)",
    "slo_hours_lost": "hours below SLO",
    "unserved_token_hours": "tokens/s × hours (× 3600 = tokens)",
    "training_delay_hours": "hours beyond plan",
    "interruptions": "count",
    "lost_gpu_hours": "GPU-hours",
    "cost_usd": "USD",
    "reserved_usd": "USD",
    "ondemand_usd": "USD",
    "spot_usd": "USD",
    "burst_usd": "USD",
    "goodput": "useful / paid GPU-hours",
    "paid_gpu_hours": "GPU-hours",
    "useful_gpu_hours": "GPU-hours",
    "outage_hours": "hours",
    "control_plane_hours": "hours",
}

#: short units for tables
SHORT_UNITS = {
    "served_fraction": "share",
    "slo_hours_lost": "h",
    "unserved_token_hours": "tok/s·h",
    "training_delay_hours": "h",
    "interruptions": "count",
    "lost_gpu_hours": "GPU-h",
    "cost_usd": "USD",
    "reserved_usd": "USD",
    "ondemand_usd": "USD",
    "spot_usd": "USD",
    "burst_usd": "USD",
    "goodput": "share",
    "paid_gpu_hours": "GPU-h",
    "useful_gpu_hours": "GPU-h",
    "outage_hours": "h",
    "control_plane_hours": "h",
}

QUANTILES = {"p01": 0.01, "p05": 0.05, "p50": 0.50, "p95": 0.95, "p99": 0.99}


def unit_of(metric: str) -> str:
    """Unit of a metric name such as ``served_fraction:chat``."""
    return UNITS.get(metric.split(":", 1)[0], "")


def finish(inp: SimInputs, dr: Draws, acc: Acc) -> dict[str, np.ndarray]:
    """Per-trial metric arrays of one chunk."""
    dt = inp.step_hours
    out: dict[str, np.ndarray] = {}
    unserved_total = np.zeros(acc.m)
    for w in inp.inference:
        name = inp.workloads[w]
        need, served = acc.need[w], acc.served[w]
        out[f"served_fraction:{name}"] = np.divide(
            served, need, out=np.ones_like(need), where=need > 0
        )
        out[f"slo_hours_lost:{name}"] = acc.slo_steps[w] * dt
        unserved = np.maximum(need - served, 0.0)
        out[f"unserved_token_hours:{name}"] = unserved
        unserved_total += unserved
    out["unserved_token_hours"] = unserved_total
    run_ws = {run.w for run in inp.runs}
    for v in inp.others:
        if v in run_ws or inp.kinds[v] == "training":
            continue
        need, served = acc.need[v], acc.served[v]
        if need.max(initial=0.0) > 0:
            out[f"served_fraction:{inp.workloads[v]}"] = np.divide(
                served, need, out=np.ones_like(need), where=need > 0
            )
    for i, run in enumerate(inp.runs):
        out[f"training_delay_hours:{run.name}"] = _delay(inp, run, acc, i)
        out[f"interruptions:{run.name}"] = acc.run_failures[i].copy()
        out[f"lost_gpu_hours:{run.name}"] = acc.run_lost_gpu_h[i].copy()
    share = inp.steps_in_period * dt / inp.period_hours
    reserved = float(inp.fixed_usd @ share) - dr.late_usd
    out["reserved_usd"] = reserved
    out["ondemand_usd"] = acc.ondemand_usd.copy()
    out["spot_usd"] = acc.spot_usd.copy()
    out["burst_usd"] = acc.burst_usd.copy()
    out["cost_usd"] = reserved + acc.ondemand_usd + acc.spot_usd + acc.burst_usd
    useful = acc.useful_gpu_h.copy()
    for i in range(len(inp.runs)):  # a run's GPU-hours up to its finish, less lost work
        useful += np.maximum(acc.run_gross_gpu_h[i] - acc.run_lost_gpu_h[i], 0.0)
    out["paid_gpu_hours"] = acc.paid_gpu_h.copy()
    out["useful_gpu_hours"] = np.maximum(useful, 0.0)
    out["goodput"] = np.divide(
        out["useful_gpu_hours"],
        acc.paid_gpu_h,
        out=np.full(acc.m, np.nan),
        where=acc.paid_gpu_h > 0,
    )
    for d, dom in enumerate(inp.domains):
        out[f"outage_hours:{dom.name}"] = dr.outage_hours[:, d].astype(float)
        out[f"control_plane_hours:{dom.name}"] = dr.control_plane_hours[:, d].astype(float)
    return out


def _plan_time(run: Run, work: np.ndarray) -> np.ndarray:
    """Hours since start at which the plan's cumulative work reaches ``work`` (vectorised).

    Past the last planned period with work, the run goes on at its last planned rate.
    """
    cum, rate, start = run.plan_cum, run.plan_rate, run.period_start_h
    work = np.asarray(work, dtype=float)
    k = np.searchsorted(cum, work, side="left")
    out = np.full(work.shape, np.nan)
    inside = (k > 0) & (k < len(cum))
    t = np.clip(k - 1, 0, len(rate) - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[inside] = start[t[inside]] + (work[inside] - cum[t[inside]]) / rate[t[inside]]
    out[k == 0] = start[0]
    last = np.flatnonzero(rate > 0)
    if not len(last):
        return np.full(work.shape, np.inf)
    end = last[-1] + 1  # the end of the last period with planned work
    beyond = work > cum[end]
    out[beyond] = start[end] + (work[beyond] - cum[end]) / rate[last[-1]]
    return out


def _delay(inp: SimInputs, run: Run, acc: Acc, i: int) -> np.ndarray:
    """Hours the run finishes after its planned finish.

    A run that finishes inside the window: its simulated finish. Otherwise the work it is short of
    the plan at the end of the window is made up after the plan's last step at the planned rate
    (no further failures are drawn beyond the window).
    """
    finish = acc.run_finish[i].copy()
    todo = ~acc.run_done[i]
    if todo.any():
        plan_at_end = float(np.interp(inp.hours, run.period_start_h, run.plan_cum))
        deficit = np.maximum(plan_at_end - acc.run_work[i][todo], 0.0)
        finish[todo] = _plan_time(run, run.compute + deficit)
    delay = finish - run.plan_finish_h
    delay[np.abs(delay) < 1e-6] = 0.0
    return np.maximum(delay, 0.0)


def summarize(metrics: pd.DataFrame) -> pd.DataFrame:
    """Distribution of each metric over trials: mean, std and quantiles."""
    rows = []
    for name in metrics.columns:
        x = metrics[name].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        row = {"metric": name, "unit": unit_of(name), "trials": len(x)}
        if len(x):
            row["mean"] = float(x.mean())
            row["std"] = float(x.std(ddof=1)) if len(x) > 1 else 0.0
            qs = np.quantile(x, list(QUANTILES.values()))
            row.update({k: float(q) for k, q in zip(QUANTILES, qs, strict=True)})
        rows.append(row)
    cols = ["metric", "unit", "trials", "mean", "std", *QUANTILES]
    df = pd.DataFrame(rows).reindex(columns=cols)
    df.attrs["units"] = {"mean": "unit of the metric"}
    return df


def paired_differences(results: dict[str, pd.DataFrame], confidence: float = 0.95) -> pd.DataFrame:
    """Paired differences of every other strategy against the first, with t-intervals.

    ``results`` maps strategy → per-trial metrics (same trials, same seed). Only metrics present
    in both are compared.
    """
    names = list(results)
    if not names:
        return pd.DataFrame()
    base_name = names[0]
    base = results[base_name]
    rows = []
    for name in names[1:]:
        other = results[name]
        for metric in base.columns:
            if metric not in other.columns:
                continue
            a = base[metric].to_numpy(float)
            b = other[metric].to_numpy(float)
            ok = np.isfinite(a) & np.isfinite(b)
            d = b[ok] - a[ok]
            n = len(d)
            mean = float(d.mean()) if n else np.nan
            if n > 1:
                se = float(d.std(ddof=1)) / np.sqrt(n)
                half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
            else:
                se, half = np.nan, np.nan
            rows.append(
                {
                    "metric": metric,
                    "unit": unit_of(metric),
                    "strategy": name,
                    "baseline": base_name,
                    "baseline_mean": float(a[ok].mean()) if n else np.nan,
                    "strategy_mean": float(b[ok].mean()) if n else np.nan,
                    "diff_mean": mean,
                    "ci_low": mean - half if n > 1 else np.nan,
                    "ci_high": mean + half if n > 1 else np.nan,
                    "stderr": se,
                    "trials": n,
                }
            )
    df = pd.DataFrame(rows)
    df.attrs["units"] = {"diff_mean": "unit of the metric (strategy − baseline)"}
    return df
