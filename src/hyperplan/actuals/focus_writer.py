"""Write one simulated trial as a FOCUS 1.0 cost-and-usage export (``simulate --focus-out``).

Rows, per capacity pool (offer) and calendar month of the simulated window:

- ``Purchase`` / ``Recurring`` row of the pool's reservation (one commitment per pool,
  ``CommitmentDiscountId = hyperplan:<offer_id>:reserved``): BilledCost = the month's reserved
  spend, EffectiveCost 0 (FOCUS amortises purchases into the usage rows);
- ``Usage`` / ``Committed`` rows with ``CommitmentDiscountStatus`` ``Used`` and ``Unused``: the
  reserved spend amortised (BilledCost 0), split by the plan's use of its reserved capacity;
- ``Usage`` / ``Standard`` rows (on-demand, burst included) and ``Usage`` / ``Dynamic`` (spot).

Money comes from the trial: the simulator reports per-trial totals by market (``reserved_usd``,
``ondemand_usd`` + ``burst_usd``, ``spot_usd``), and the writer apportions each total to pools and
months by the plan's planned spend of that market in that pool and month (instances × price ×
hours; reserved capacity weighted by its on-demand price). The Used share of a pool's
reservation in a period is the plan's allocation of reserved instances / reserved instances
(the simulator does not report per-pool reservation use). So per market, the export's totals
equal the trial's to the cent; the split across pools and months is the plan's.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hyperplan.errors import InputError, Problem
from hyperplan.fileio import write_text_atomic

if TYPE_CHECKING:
    from hyperplan.plan.api import Plan
    from hyperplan.sim.api import SimResult
    from hyperplan.sim.inputs import SimInputs

PROVIDER_NAMES = {"aws": "AWS", "azure": "Microsoft", "gcp": "Google Cloud", "oci": "Oracle"}
"""Catalog provider key → FOCUS ProviderName (read back by hyperplan.actuals.mapping)."""
FOCUS_10_COLUMNS = [
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass",
    "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart",
    "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName",
    "CommitmentDiscountStatus", "CommitmentDiscountType", "ConsumedQuantity", "ConsumedUnit",
    "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName", "ListCost",
    "ListUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit", "ProviderName",
    "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType",
    "ServiceCategory", "ServiceName", "SkuId", "SkuPriceId", "SubAccountId", "SubAccountName",
    "Tags", "x_HyperplanScenario", "x_HyperplanTrial",
]  # fmt: skip
"""Columns written: the FOCUS 1.0 columns plus hyperplan's own ``x_`` columns."""


def _month_hours(inp: SimInputs, period_starts: Sequence[dt.date]) -> pd.DataFrame:
    """Simulated hours of each (period, month): rows period, month, start, end, hours."""
    rows = []
    for t in range(len(inp.period_labels)):  # periods of the window: a few dozen at most
        a = pd.Timestamp(period_starts[t])
        b = a + pd.Timedelta(hours=float(inp.steps_in_period[t] * inp.step_hours))
        edges = sorted({a, *[e for e in pd.date_range(a, b, freq="MS") if a < e < b], b})
        for lo, hi in itertools.pairwise(edges):
            rows.append((t, lo.strftime("%Y-%m"), lo, hi, (hi - lo).total_seconds() / 3600.0))
    return pd.DataFrame(rows, columns=["period", "month", "start", "end", "hours"])


def _apportion(total: float, weights: np.ndarray) -> np.ndarray:
    """``total`` split in proportion to ``weights`` (evenly when they are all 0)."""
    w = np.where(np.isfinite(weights) & (weights > 0), weights, 0.0)
    if total == 0.0 or w.size == 0:
        return np.zeros_like(w)
    if w.sum() <= 0:
        w = np.ones_like(w)
    return total * w / w.sum()


def trial_rows(plan: Plan, result: SimResult, trial: int = 0) -> pd.DataFrame:
    """The FOCUS rows of one simulated trial (see the module docstring)."""
    from hyperplan.sim.inputs import R, compile_plan
    from hyperplan.sim.models import SimConfig

    run = result.context
    if run.years is None or run.step_hours is None:
        raise InputError([Problem("the simulation records no years or step_hours (meta)")])
    cfg = run.config if run.config is not None else SimConfig()
    inp = compile_plan(plan, years=run.years, step_hours=run.step_hours, config=cfg)
    mh = _month_hours(inp, plan.context.period_starts)
    m = result.metrics.iloc[int(trial)]
    P = inp.n_pools
    t_of = mh["period"].to_numpy(int)
    hours = mh["hours"].to_numpy(float)
    # planned weights per (cell = period-month, pool)
    price_od = np.nan_to_num(inp.price_od, nan=0.0)
    price_sp = np.nan_to_num(inp.price_spot, nan=0.0)
    w_res = inp.reserved[t_of] * np.where(price_od[t_of] > 0, price_od[t_of], 1.0) * hours[:, None]
    w_od = inp.ondemand[t_of] * price_od[t_of] * hours[:, None]
    w_sp = inp.spot[t_of] * price_sp[t_of] * hours[:, None]
    res = _apportion(float(m["reserved_usd"]), w_res.ravel()).reshape(w_res.shape)
    od_total = float(m["ondemand_usd"]) + float(m.get("burst_usd", 0.0))
    if od_total > 0 and w_od.sum() <= 0:  # burst only: weight by the on-demand price
        w_od = (price_od[t_of] > 0) * price_od[t_of] * hours[:, None]
    od = _apportion(od_total, w_od.ravel()).reshape(w_od.shape)
    sp = _apportion(float(m["spot_usd"]), w_sp.ravel()).reshape(w_sp.shape)
    used_inst = inp.alloc[:, R].sum(axis=0)  # (T, P) planned reserved instances in use
    share = np.divide(
        used_inst, inp.reserved, out=np.zeros_like(inp.reserved), where=inp.reserved > 1e-12
    ).clip(0.0, 1.0)[t_of]
    used = res * share
    unused = res - used
    offer = np.array(inp.pool_ids, dtype=object)
    parts = [s.split(":") for s in inp.pool_ids]
    region = np.array([p[1] if len(p) > 2 else "" for p in parts], dtype=object)
    itype = np.array([p[-1] for p in parts], dtype=object)
    provider = np.array(inp.pool_provider, dtype=object)
    gpus = inp.gpus
    frames = []
    c, p = np.nonzero(np.ones((len(mh), P), dtype=bool))

    def block(mask: np.ndarray, **cols: object) -> None:
        if mask.any():
            sel = {k: (v[mask] if isinstance(v, np.ndarray) else v) for k, v in cols.items()}
            frames.append(pd.DataFrame({"_c": c[mask], "_p": p[mask], **sel}))

    flat = lambda a: a.ravel()  # noqa: E731 (cells × pools, row-major like c, p)
    res_f, used_f, unused_f, od_f, sp_f = map(flat, (res, used, unused, od, sp))
    hrs = hours[c]
    cid = np.array([f"hyperplan:{o}:reserved" for o in offer], dtype=object)[p]
    block(
        res_f > 0,
        ChargeCategory="Purchase",
        ChargeFrequency="Recurring",
        PricingCategory="Standard",
        BilledCost=res_f,
        EffectiveCost=0.0,
        CommitmentDiscountId=cid,
        CommitmentDiscountStatus=None,
        ConsumedQuantity=np.nan,
        ChargeDescription="reservation (recurring fee)",
        _kind="purchase",
    )
    block(
        used_f > 0,
        ChargeCategory="Usage",
        ChargeFrequency="Usage-Based",
        PricingCategory="Committed",
        BilledCost=0.0,
        EffectiveCost=used_f,
        CommitmentDiscountId=cid,
        CommitmentDiscountStatus="Used",
        ConsumedQuantity=(inp.reserved[t_of] * share).ravel() * hrs,
        ChargeDescription="reserved capacity in use",
        _kind="used",
    )
    block(
        unused_f > 0,
        ChargeCategory="Usage",
        ChargeFrequency="Usage-Based",
        PricingCategory="Committed",
        BilledCost=0.0,
        EffectiveCost=unused_f,
        CommitmentDiscountId=cid,
        CommitmentDiscountStatus="Unused",
        ConsumedQuantity=np.nan,
        ChargeDescription="reserved capacity not used",
        _kind="unused",
    )
    for usd, price, pricing, what, kind in (
        (od_f, price_od, "Standard", "on-demand", "ondemand"),
        (sp_f, price_sp, "Dynamic", "spot", "spot"),
    ):
        unit = price[t_of].ravel()  # USD per instance-hour
        block(
            usd > 0,
            ChargeCategory="Usage",
            ChargeFrequency="Usage-Based",
            PricingCategory=pricing,
            BilledCost=usd,
            EffectiveCost=usd,
            CommitmentDiscountId=None,
            CommitmentDiscountStatus=None,
            ConsumedQuantity=np.divide(usd, unit, out=np.zeros_like(usd), where=unit > 0),
            ChargeDescription=f"{what} instances",
            _kind=kind,
        )
    if not frames:
        return pd.DataFrame(columns=FOCUS_10_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    ci, pi = df["_c"].to_numpy(), df["_p"].to_numpy()
    start = mh["start"].to_numpy()[ci]
    end = mh["end"].to_numpy()[ci]
    month0 = pd.DatetimeIndex(start).to_period("M").to_timestamp()
    iso = lambda ts: pd.DatetimeIndex(ts).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    prov = provider[pi]
    is_commit = df["CommitmentDiscountId"].notna().to_numpy()
    qty = df["ConsumedQuantity"].to_numpy(float)
    out = pd.DataFrame(
        {
            "AvailabilityZone": None,
            "BilledCost": df["BilledCost"].to_numpy(float),
            "BillingAccountId": "hyperplan-sim",
            "BillingAccountName": f"{inp.name} (simulated)",
            "BillingCurrency": "USD",
            "BillingPeriodEnd": iso(month0 + pd.offsets.MonthBegin(1)),
            "BillingPeriodStart": iso(month0),
            "ChargeCategory": df["ChargeCategory"],
            "ChargeClass": None,
            "ChargeDescription": df["ChargeDescription"],
            "ChargeFrequency": df["ChargeFrequency"],
            "ChargePeriodEnd": iso(end),
            "ChargePeriodStart": iso(start),
            "CommitmentDiscountCategory": np.where(is_commit, "Usage", None),
            "CommitmentDiscountId": df["CommitmentDiscountId"],
            "CommitmentDiscountName": df["CommitmentDiscountId"],
            "CommitmentDiscountStatus": df["CommitmentDiscountStatus"],
            "CommitmentDiscountType": np.where(is_commit, "Reservation", None),
            "ConsumedQuantity": qty,
            "ConsumedUnit": np.where(np.isfinite(qty), "Hours", None),
            "ContractedCost": df["EffectiveCost"].to_numpy(float),
            "ContractedUnitPrice": None,
            "EffectiveCost": df["EffectiveCost"].to_numpy(float),
            "InvoiceIssuerName": [PROVIDER_NAMES.get(x, x) for x in prov],
            "ListCost": df["BilledCost"].to_numpy(float),
            "ListUnitPrice": None,
            "PricingCategory": df["PricingCategory"],
            "PricingQuantity": np.where(np.isfinite(qty), qty, 1.0),
            "PricingUnit": "Hours",
            "ProviderName": [PROVIDER_NAMES.get(x, x) for x in prov],
            "PublisherName": [PROVIDER_NAMES.get(x, x) for x in prov],
            "RegionId": region[pi],
            "RegionName": region[pi],
            "ResourceId": np.where(is_commit, df["CommitmentDiscountId"], offer[pi]),
            "ResourceName": offer[pi],
            "ResourceType": "Virtual Machine",
            "ServiceCategory": "Compute",
            "ServiceName": "GPU instances",
            "SkuId": itype[pi],
            "SkuPriceId": [f"{o}:{k}" for o, k in zip(offer[pi], df["_kind"], strict=True)],
            "SubAccountId": "hyperplan-sim",
            "SubAccountName": inp.name,
            "Tags": "{}",
            "x_HyperplanScenario": inp.name,
            "x_HyperplanTrial": int(trial),
        }
    )
    out.attrs["gpus_per_instance"] = dict(zip(inp.pool_ids, map(float, gpus), strict=True))
    return out


def write_focus(plan: Plan, result: SimResult, out_dir: str | Path, trial: int = 0) -> Path:
    """Write trial ``trial`` of ``result`` as ``<out_dir>/focus-<scenario>-trial<N>.csv``.

    The file is written atomically (a reader never sees half of it); the folder is created.
    Returns the path written.
    """
    if not 0 <= int(trial) < len(result.metrics):
        from hyperplan.errors import InputError, Problem

        raise InputError(
            [Problem(f"trial {trial} not in 0..{len(result.metrics) - 1}", path="--trial")]
        )
    rows = trial_rows(plan, result, trial)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(plan.scenario_name))
    path = out / f"focus-{safe or 'plan'}-trial{int(trial)}.csv"
    write_text_atomic(path, rows.to_csv(index=False, float_format="%.6f", na_rep=""))
    return path


def trial_totals(result: SimResult, trial: int = 0) -> dict[str, float]:
    """The simulator's own totals of a trial, USD: reserved, ondemand (burst incl.), spot, cost."""
    m = result.metrics.iloc[int(trial)]
    return {
        "reserved_usd": float(m["reserved_usd"]),
        "ondemand_usd": float(m["ondemand_usd"]) + float(m.get("burst_usd", 0.0)),
        "spot_usd": float(m["spot_usd"]),
        "cost_usd": float(m["cost_usd"]),
    }
