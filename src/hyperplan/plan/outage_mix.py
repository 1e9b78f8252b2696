"""Who serves each scenario: reserved (and owned) capacity, on-demand and spot bursts, or nobody.

:func:`outage_mix` reads a solved planning model and says, per workload and scenario, which
share of the demand over the horizon each market serves and what the on-demand and spot bursts
cost. It is the "how much of N-1 rests on buying on demand, and at what price" table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hyperplan.plan.build import ONDEMAND, RESERVED, SPOT, PlanningModel
from hyperplan.plan.solve import Solution

COLUMNS = (
    "workload",
    "scenario",
    "required_fraction",
    "reserved_fraction",
    "ondemand_fraction",
    "spot_fraction",
    "unserved_fraction",
    "ondemand_usd_per_hour",
    "spot_usd_per_hour",
    "expected_burst_usd",
)
UNITS = {
    "required_fraction": "share of demand the scenario must serve",
    "reserved_fraction": "share of demand over the horizon (reserved, owned, provisioned)",
    "ondemand_fraction": "share of demand over the horizon",
    "spot_fraction": "share of demand over the horizon",
    "unserved_fraction": "share of demand over the horizon",
    "ondemand_usd_per_hour": "USD per hour in this scenario (horizon average, nominal)",
    "spot_usd_per_hour": "USD per hour in this scenario (horizon average, nominal)",
    "expected_burst_usd": "USD (nominal) over the horizon × the scenario's time share",
}


def outage_mix(pm: PlanningModel, sol: Solution) -> pd.DataFrame:
    """Per (workload, scenario) with a demand row: served shares by market, unserved, burst cost.

    Shares are of the workload's full demand summed over its periods weighted by hours
    (demand units × hours), so they add up to 1 with ``unserved_fraction``; in an outage
    scenario the part above the required level is counted unserved (the plan does not buy it).
    ``ondemand_usd_per_hour`` / ``spot_usd_per_hour``: that workload's on-demand and spot
    spend in the scenario divided by the horizon's hours, i.e. what an hour in that state
    costs on average. ``expected_burst_usd``: that spend over the whole horizon × the
    scenario's probability (time share): what the bursts are expected to cost.
    Training runs (base scenario only, measured in GPU-hours) are left out.
    """
    inp = pm.inputs
    rows = pm.lm.rows.get("demand")
    if rows is None or "allocate" not in pm.lm.cols or not len(sol.col_value):
        return _empty()
    W, S = len(inp.workload_names), len(inp.scenario_names)
    hours = inp.tl.hours
    fam = pm.lm.cols["allocate"]
    v = sol.col_value[fam.slice]
    idx = fam.index
    w, o, m, t, s = (idx[k] for k in ("workload", "offer", "market", "period", "scenario"))
    served = np.zeros((W, S, 3))
    usd = np.zeros((W, S, 3))
    np.add.at(served, (w, s, m), v * inp.perf[w, o] * hours[t])
    np.add.at(usd, (w, s, m), v * inp.price[o, m, t] * hours[t])
    need = np.zeros((W, S))
    has = np.zeros((W, S), dtype=bool)
    rw, rs = rows.index["workload"], rows.index["scenario"]
    has[rw, rs] = True
    level = np.ones((W, S))
    level[:, 1:] = inp.resilience[:, None]
    need[has] = level[has]
    full = (inp.demand * inp.window * hours[None, :]).sum(axis=1)  # (W,) demand units × hours
    dw, ds = np.nonzero(has & (full[:, None] > 0))
    denom = full[dw]
    share = served[dw, ds] / denom[:, None]  # (n, 3)
    horizon_hours = float(hours.sum())
    weight = inp.weight[ds]
    burst = usd[dw, ds, ONDEMAND] + usd[dw, ds, SPOT]
    df = pd.DataFrame(
        {
            "workload": np.array(inp.workload_names, dtype=object)[dw],
            "scenario": np.array(inp.scenario_names, dtype=object)[ds],
            "required_fraction": need[dw, ds],
            "reserved_fraction": share[:, RESERVED],
            "ondemand_fraction": share[:, ONDEMAND],
            "spot_fraction": share[:, SPOT],
            "unserved_fraction": np.clip(1.0 - share.sum(axis=1), 0.0, 1.0),
            "ondemand_usd_per_hour": usd[dw, ds, ONDEMAND] / horizon_hours,
            "spot_usd_per_hour": usd[dw, ds, SPOT] / horizon_hours,
            "expected_burst_usd": burst * weight,
        },
        columns=list(COLUMNS),
    )
    # scenario order first (base, then the outages as planned), then workload order: both are
    # positions, so the table never depends on sort ties
    df = df.iloc[np.lexsort((dw, ds))].reset_index(drop=True)
    df.attrs["units"] = dict(UNITS)
    return df


def _empty() -> pd.DataFrame:
    df = pd.DataFrame(
        {c: pd.Series(dtype=object if c in ("workload", "scenario") else float) for c in COLUMNS}
    )
    df.attrs["units"] = dict(UNITS)
    return df
