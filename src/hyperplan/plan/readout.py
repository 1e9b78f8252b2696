"""Reading a solved :class:`~hyperplan.plan.build.PlanningModel`: the helpers that the result
tables (:mod:`hyperplan.plan.results`) and the route tables (:mod:`hyperplan.plan.route_tables`)
share.

Column values are in the model's own units (instances, MUSD); :func:`pm_coverage` converts the
reservations' cost back to USD.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hyperplan.plan.build import MUSD, PlanningModel
from hyperplan.plan.solve import Solution

#: values at or below this (instances, or demand units served) count as zero in the tables
EPS = 1e-6


def frame(data: dict[str, object], units: dict[str, str]) -> pd.DataFrame:
    """A result table: ``data`` as a DataFrame with ``attrs["units"]`` = column -> unit."""
    df = pd.DataFrame(data)
    df.attrs["units"] = units
    return df


def col_values(pm: PlanningModel, sol: Solution, family: str) -> np.ndarray:
    """The solution's values of one column family in the model's units (empty when the model
    has no such family)."""
    fam = pm.lm.cols.get(family)
    if fam is None:
        return np.zeros(0)
    return sol.col_value[fam.slice]


def pm_coverage(pm: PlanningModel) -> dict[str, np.ndarray]:
    """Per reservation column and covered period: owner (index in ``reserve``), t, USD."""
    fam = pm.lm.cols["reserve"]
    spend = pm.spend
    sel = (spend.col >= fam.start) & (spend.col < fam.start + fam.size)
    return {
        "owner": spend.col[sel] - fam.start,
        "t": spend.t[sel],
        "usd": spend.amount[sel] / MUSD,
    }


def base_market_use(pm: PlanningModel, sol: Solution) -> dict[str, np.ndarray]:
    """Base-scenario allocations in use: ``workload``, ``offer``, ``market``, ``period`` index
    arrays and ``value`` (instances)."""
    fam = pm.lm.cols["allocate"]
    v = col_values(pm, sol, "allocate")
    idx = fam.index
    # keep an allocation that serves demand even when it is a sliver of an instance (a demand
    # of 0.001 tokens/s needs 1e-8 instances): dropping it would leave that demand unaccounted
    served = v * pm.inputs.perf[idx["workload"], idx["offer"]]
    sel = np.flatnonzero((idx["scenario"] == 0) & ((v > EPS) | (served > EPS)))
    return {key: idx[key][sel] for key in ("workload", "offer", "market", "period")} | {
        "value": v[sel]
    }
