"""Answers computed from bills: utilisation, coverage, plan vs actual, contract burn-down.

Every function aggregates in DuckDB over the ``focus`` table of a :class:`FocusFrame` and
returns a pandas DataFrame with units in ``attrs["units"]``. Definitions (FOCUS columns):

- *utilisation* of a commitment = EffectiveCost of its ``Used`` rows / EffectiveCost of its
  ``Used`` + ``Unused`` rows; *waste* = EffectiveCost of its ``Unused`` rows (USD). Purchases
  (``ChargeCategory = Purchase``) are reported as billed (BilledCost), not added to the
  amortised cost (their EffectiveCost is 0 by the specification).
- *coverage* of eligible usage = EffectiveCost of usage covered by a commitment (``Used``) /
  (that + EffectiveCost of on-demand usage not covered, ``PricingCategory = Standard``). Spot
  usage is not eligible.
- *spend* = EffectiveCost (amortised: commitment purchases spread over the usage they cover).
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:
    from hyperplan.actuals.reader import FocusFrame
    from hyperplan.plan.api import Plan

UNKNOWN = "(unknown)"
"""Label of rows whose provider (or commitment, month) could not be mapped."""


def _units(df: pd.DataFrame, units: dict[str, str]) -> pd.DataFrame:
    df.attrs["units"] = units
    return df


def spend_summary(frame: FocusFrame) -> pd.DataFrame:
    """Rows, BilledCost and EffectiveCost per provider and charge category (USD)."""
    df = frame.sql(
        f"""
        SELECT coalesce(provider, '{UNKNOWN}') AS provider,
               coalesce(charge_category, '{UNKNOWN}') AS charge_category,
               sum(rows)::BIGINT AS rows,
               coalesce(sum(billed_usd), 0) AS billed_usd,
               coalesce(sum(effective_usd), 0) AS effective_usd,
               coalesce(sum(gpu_hours), 0) AS gpu_hours
        FROM focus GROUP BY ALL ORDER BY provider, charge_category
        """
    )
    return _units(
        df,
        {
            "billed_usd": "USD (BilledCost)",
            "effective_usd": "USD (EffectiveCost)",
            "gpu_hours": "GPU-hours",
        },
    )


def utilisation(frame: FocusFrame) -> pd.DataFrame:
    """Utilisation and waste per commitment, provider and month.

    Columns: commitment_id, provider, month, used_usd, unused_usd, utilisation (0..1, NaN when
    the commitment has no Used/Unused rows that month), waste_usd (= unused_usd),
    purchase_billed_usd (BilledCost of its Purchase rows).
    """
    df = frame.sql(
        f"""
        SELECT commitment_id,
               coalesce(provider, '{UNKNOWN}') AS provider,
               coalesce(month, '{UNKNOWN}') AS month,
               coalesce(sum(effective_usd) FILTER (WHERE commitment_status = 'Used'
                   AND charge_category = 'Usage'), 0) AS used_usd,
               coalesce(sum(effective_usd) FILTER (WHERE commitment_status = 'Unused'
                   AND charge_category = 'Usage'), 0) AS unused_usd,
               coalesce(sum(billed_usd) FILTER (WHERE charge_category = 'Purchase'), 0)
                   AS purchase_billed_usd
        FROM focus WHERE commitment_id IS NOT NULL
        GROUP BY ALL ORDER BY commitment_id, provider, month
        """
    )
    total = df["used_usd"] + df["unused_usd"]
    df["utilisation"] = np.divide(
        df["used_usd"], total, out=np.full(len(df), np.nan), where=total.to_numpy() > 0
    )
    df["waste_usd"] = df["unused_usd"]
    df = df[
        [
            "commitment_id",
            "provider",
            "month",
            "used_usd",
            "unused_usd",
            "utilisation",
            "waste_usd",
            "purchase_billed_usd",
        ]
    ]
    return _units(
        df,
        {
            "used_usd": "USD (EffectiveCost, Used)",
            "unused_usd": "USD (EffectiveCost, Unused)",
            "utilisation": "share",
            "waste_usd": "USD",
            "purchase_billed_usd": "USD (BilledCost of purchases)",
        },
    )


def coverage(frame: FocusFrame) -> pd.DataFrame:
    """Coverage of eligible (on-demand-priced or committed) usage per provider and month.

    Columns: provider, month, covered_usd, ondemand_usd, coverage (0..1; NaN without eligible
    usage), covered_gpu_hours, ondemand_gpu_hours.
    """
    df = frame.sql(
        f"""
        SELECT coalesce(provider, '{UNKNOWN}') AS provider,
               coalesce(month, '{UNKNOWN}') AS month,
               coalesce(sum(effective_usd) FILTER (WHERE commitment_status = 'Used'), 0)
                   AS covered_usd,
               coalesce(sum(effective_usd) FILTER (WHERE market = 'ondemand'
                   AND commitment_id IS NULL), 0) AS ondemand_usd,
               coalesce(sum(gpu_hours) FILTER (WHERE commitment_status = 'Used'), 0)
                   AS covered_gpu_hours,
               coalesce(sum(gpu_hours) FILTER (WHERE market = 'ondemand'
                   AND commitment_id IS NULL), 0) AS ondemand_gpu_hours
        FROM focus WHERE charge_category = 'Usage'
        GROUP BY ALL ORDER BY provider, month
        """
    )
    total = df["covered_usd"] + df["ondemand_usd"]
    df["coverage"] = np.divide(
        df["covered_usd"], total, out=np.full(len(df), np.nan), where=total.to_numpy() > 0
    )
    return _units(
        df,
        {
            "covered_usd": "USD (EffectiveCost)",
            "ondemand_usd": "USD (EffectiveCost)",
            "coverage": "share",
            "covered_gpu_hours": "GPU-hours",
            "ondemand_gpu_hours": "GPU-hours",
        },
    )


def actual_by_month(frame: FocusFrame) -> pd.DataFrame:
    """Actual spend and GPU-hours per provider, market and month.

    ``market`` is ondemand/reserved/spot from PricingCategory; commitment ``Unused`` rows count
    as reserved; other rows (purchases, tax, unknown) as ``other``. ``gpu_spend_usd`` is the
    EffectiveCost of rows on a known GPU offer (waste included), so ``usd_per_gpu_hour`` =
    gpu_spend_usd / gpu_hours is what a used GPU-hour effectively cost.
    """
    df = frame.sql(
        f"""
        SELECT coalesce(provider, '{UNKNOWN}') AS provider,
               CASE WHEN commitment_status = 'Unused' THEN 'reserved'
                    WHEN charge_category = 'Usage' AND market IS NOT NULL THEN market
                    ELSE 'other' END AS market,
               coalesce(month, '{UNKNOWN}') AS month,
               coalesce(sum(effective_usd), 0) AS spend_usd,
               coalesce(sum(effective_usd) FILTER (WHERE gpus_per_instance IS NOT NULL), 0)
                   AS gpu_spend_usd,
               coalesce(sum(gpu_hours), 0) AS gpu_hours
        FROM focus GROUP BY ALL ORDER BY provider, market, month
        """
    )
    return df


def _period_months(plan: Plan) -> pd.DataFrame:
    """Share of each plan period's hours that falls in each calendar month (period, month, share)."""
    starts = pd.to_datetime(pd.Series([d.isoformat() for d in plan.context.period_starts]))
    rows = []
    for t in range(len(starts) - 1):  # periods, not rows: a few dozen at most
        a, b = starts.iloc[t], starts.iloc[t + 1]
        edges = pd.date_range(a.to_period("M").to_timestamp(), b, freq="MS")
        edges = [max(a, e) for e in edges] + [b]
        edges = sorted(set(edges))
        total = (b - a).total_seconds()
        for lo, hi in itertools.pairwise(edges):
            if hi > lo:
                rows.append(
                    (
                        t,
                        lo.strftime("%Y-%m"),
                        (hi - lo).total_seconds() / total,
                        (hi - lo).total_seconds() / 3600,
                    )
                )
    return pd.DataFrame(rows, columns=["period_index", "month", "share", "hours"])


def plan_by_month(plan: Plan) -> pd.DataFrame:
    """The plan's spend and GPU-hours per provider, market and month (prorated by hours).

    A period's spend is spread over its months in proportion to their hours; its GPU-hours are
    the planned GPUs of each market × the month's hours inside the period.
    """
    pm = _period_months(plan)
    sp = plan.tables["spend"][["provider", "market", "period_index", "usd"]]
    sp = sp.merge(pm, on="period_index")
    sp["usd"] = sp["usd"] * sp["share"]
    usd = sp.groupby(["provider", "market", "month"], as_index=False)["usd"].sum()
    cap = plan.tables["capacity"]
    inst = cap[["reserved_instances", "ondemand_instances", "spot_instances"]].to_numpy(float)
    per = np.divide(
        cap["gpus"].to_numpy(float),
        inst.sum(axis=1),
        out=np.zeros(len(cap)),
        where=inst.sum(axis=1) > 0,
    )
    long = pd.DataFrame(
        {
            "provider": np.repeat(cap["provider"].astype(str).to_numpy(), 3),
            "market": np.tile(["reserved", "ondemand", "spot"], len(cap)),
            "period_index": np.repeat(cap["period_index"].to_numpy(int), 3),
            "gpus": (inst * per[:, None]).ravel(),
        }
    ).merge(pm, on="period_index")
    long["gpu_hours"] = long["gpus"] * long["hours"]
    gh = long.groupby(["provider", "market", "month"], as_index=False)["gpu_hours"].sum()
    out = usd.merge(gh, on=["provider", "market", "month"], how="outer").fillna(
        {"usd": 0.0, "gpu_hours": 0.0}
    )
    return out.rename(columns={"usd": "spend_usd"})


def plan_vs_actual(frame: FocusFrame, plan: Plan) -> pd.DataFrame:
    """Plan vs actual by provider, market and month, over the months the bills cover.

    Columns: provider, market, month, plan_usd, actual_usd, diff_usd (actual − plan),
    plan_gpu_hours, actual_gpu_hours, plan_usd_per_gpu_hour, actual_usd_per_gpu_hour.
    """
    act = actual_by_month(frame)
    months = sorted(m for m in act["month"].unique() if m != UNKNOWN)
    pl = plan_by_month(plan)
    pl = pl[pl["month"].isin(months)]
    df = pl.merge(act, on=["provider", "market", "month"], how="outer", suffixes=("_plan", ""))
    df = df.fillna(
        {
            "spend_usd_plan": 0.0,
            "gpu_hours_plan": 0.0,
            "spend_usd": 0.0,
            "gpu_hours": 0.0,
            "gpu_spend_usd": 0.0,
        }
    )
    plan_gpu_usd = np.where(
        df["market"].isin(["reserved", "ondemand", "spot"]), df["spend_usd_plan"], 0.0
    )
    out = pd.DataFrame(
        {
            "provider": df["provider"],
            "market": df["market"],
            "month": df["month"],
            "plan_usd": df["spend_usd_plan"],
            "actual_usd": df["spend_usd"],
            "diff_usd": df["spend_usd"] - df["spend_usd_plan"],
            "plan_gpu_hours": df["gpu_hours_plan"],
            "actual_gpu_hours": df["gpu_hours"],
            "plan_usd_per_gpu_hour": np.divide(
                plan_gpu_usd,
                df["gpu_hours_plan"].to_numpy(),
                out=np.full(len(df), np.nan),
                where=df["gpu_hours_plan"].to_numpy() > 0,
            ),
            "actual_usd_per_gpu_hour": np.divide(
                df["gpu_spend_usd"].to_numpy(),
                df["gpu_hours"].to_numpy(),
                out=np.full(len(df), np.nan),
                where=df["gpu_hours"].to_numpy() > 0,
            ),
        }
    ).sort_values(["provider", "market", "month"], ignore_index=True)
    values = out[["plan_usd", "actual_usd", "plan_gpu_hours", "actual_gpu_hours"]].to_numpy()
    out = out[(np.abs(values) > 0).any(axis=1)].reset_index(drop=True)
    return _units(
        out,
        {
            "plan_usd": "USD",
            "actual_usd": "USD (EffectiveCost)",
            "diff_usd": "USD (actual − plan)",
            "plan_gpu_hours": "GPU-hours",
            "actual_gpu_hours": "GPU-hours",
            "plan_usd_per_gpu_hour": "USD per GPU-hour",
            "actual_usd_per_gpu_hour": "USD per GPU-hour",
        },
    )


def as_of(frame: FocusFrame) -> pd.Timestamp | None:
    """End of the last month the bills cover (first day of the next month), or None."""
    last = frame.con.execute("SELECT max(last_start) FROM focus").fetchone()[0]
    if last is None:
        return None
    return pd.Timestamp(last).to_period("M").to_timestamp() + pd.offsets.MonthBegin(1)


DAYS_PER_MONTH = 365.25 / 12


def burndown(
    frame: FocusFrame,
    contracts: pd.DataFrame,
    plan: Plan | None = None,
    *,
    at: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Burn-down of take-or-pay contracts: committed, consumed, forecast at term end, shortfall.

    ``contracts``: columns name, provider (may be empty), committed_usd, start, end
    (:func:`hyperplan.actuals.contracts.load_contracts`). Consumed to date = the
    ``ContractCommitmentAppliedCost`` of FOCUS 1.3 ``ContractApplied`` elements naming the
    contract (ContractCommitmentId or ContractId) when any row names it; otherwise the
    EffectiveCost of the provider's rows with ChargePeriodStart in [start, min(end, at)).

    Statistical model of the forecast: monthly consumption X₁..Xₙ over the n months observed
    inside the term (months without rows count as 0) is i.i.d. normal with unknown mean and
    variance; the remaining k months (fractional, days / 30.44) then sum to a Student-t
    predictive k·x̄ + t(n−1)·s·√(k + k²/n). P10/P50/P90 of consumed-at-term-end are consumed +
    that sum's quantiles (floored at consumed). With n < 2 no spread is known: P10 = P50 = P90.
    ``plan_forecast_usd`` = consumed + the plan's spend with that provider from ``at`` to the
    term end (when a plan is given). Shortfalls are max(committed − forecast, 0).
    """
    at = at or as_of(frame)
    cols = [
        "contract",
        "provider",
        "committed_usd",
        "start",
        "end",
        "as_of",
        "consumed_usd",
        "months_observed",
        "months_left",
        "monthly_mean_usd",
        "forecast_p10_usd",
        "forecast_p50_usd",
        "forecast_p90_usd",
        "plan_forecast_usd",
        "shortfall_p50_usd",
        "shortfall_p10_usd",
        "shortfall_plan_usd",
        "basis",
    ]
    if contracts is None or not len(contracts) or at is None:
        return _units(pd.DataFrame(columns=cols), {})
    applied = frame.sql("SELECT month, contract_id, commitment_id, usd FROM focus_contracts")
    monthly_all = frame.sql(
        "SELECT provider, month, sum(effective_usd) AS usd FROM focus "
        "WHERE month IS NOT NULL GROUP BY ALL"
    )
    plan_m = plan_by_month(plan) if plan is not None else None
    rows = []
    for c in contracts.itertuples(index=False):  # one per contract: a handful
        start, end = pd.Timestamp(c.start), pd.Timestamp(c.end)
        name = str(c.name)
        hit = applied[(applied["commitment_id"] == name) | (applied["contract_id"] == name)]
        if len(hit):
            basis = "ContractApplied"
            series = hit.groupby("month")["usd"].sum()
        else:
            basis = f"EffectiveCost of {c.provider} rows in the term"
            m = monthly_all[monthly_all["provider"] == str(c.provider)]
            series = m.groupby("month")["usd"].sum()
        lo = start.to_period("M")
        hi = (min(end, at) - pd.Timedelta(seconds=1)).to_period("M")
        months = pd.period_range(lo, hi, freq="M").strftime("%Y-%m") if hi >= lo else []
        x = series.reindex(months, fill_value=0.0).to_numpy(float)
        first_data = np.flatnonzero(x != 0)
        x = x[first_data[0] :] if len(first_data) else x[:0]  # months before the first bill
        consumed = float(series.reindex(months, fill_value=0.0).sum())
        n = len(x)
        k = max((end - max(at, start)).days, 0) / DAYS_PER_MONTH
        mean = float(x.mean()) if n else 0.0
        centre = consumed + k * mean
        if n >= 2:
            s = float(x.std(ddof=1))
            scale = s * math.sqrt(k + k * k / n)
            q = stats.t.ppf(0.9, n - 1)
            p10, p90 = max(centre - q * scale, consumed), centre + q * scale
        else:
            p10 = p90 = centre
        plan_fc = math.nan
        if plan_m is not None and str(c.provider):
            pm = plan_m[(plan_m["provider"] == str(c.provider)) & (plan_m["market"] != "shortfall")]
            in_term = (pm["month"] >= at.strftime("%Y-%m")) & (pm["month"] < end.strftime("%Y-%m"))
            plan_fc = consumed + float(pm.loc[in_term, "spend_usd"].sum())
        committed = float(c.committed_usd)
        rows.append(
            (
                name,
                str(c.provider),
                committed,
                start.date().isoformat(),
                end.date().isoformat(),
                at.date().isoformat(),
                consumed,
                n,
                k,
                mean,
                p10,
                centre,
                p90,
                plan_fc,
                max(committed - centre, 0.0),
                max(committed - p10, 0.0),
                max(committed - plan_fc, 0.0) if not math.isnan(plan_fc) else math.nan,
                basis,
            )
        )
    df = pd.DataFrame(rows, columns=cols)
    return _units(
        df,
        {
            "committed_usd": "USD",
            "consumed_usd": "USD",
            "months_left": "months (days / 30.44)",
            "monthly_mean_usd": "USD per month",
            "forecast_p10_usd": "USD at term end",
            "forecast_p50_usd": "USD at term end",
            "forecast_p90_usd": "USD at term end",
            "plan_forecast_usd": "USD at term end",
            "shortfall_p50_usd": "USD",
            "shortfall_p10_usd": "USD",
            "shortfall_plan_usd": "USD",
        },
    )


def ledger_commitments(frame: FocusFrame, commitments: list[dict]) -> pd.DataFrame:
    """The ledger's signed and active commitments against the bills, matched by external id.

    ``commitments``: records of :func:`hyperplan.ledger.api.list_commitments`; the ones in state
    signed or active are kept. A commitment's ``external_id`` is the provider's id for it (the
    FOCUS ``CommitmentDiscountId``). Columns: id, state, provider, offer, quantity (instances),
    value_usd (whole term), external_id, months_billed (months with a Used or Unused row),
    used_usd, unused_usd, utilisation (used / (used + unused); NaN when not billed).
    """
    held = [c for c in commitments if c.get("state") in ("signed", "active")]
    cols = [
        "id",
        "state",
        "provider",
        "offer",
        "quantity",
        "value_usd",
        "external_id",
        "months_billed",
        "used_usd",
        "unused_usd",
        "utilisation",
    ]
    billed = frame.sql(
        """
        SELECT commitment_id,
               count(DISTINCT month) FILTER (WHERE commitment_status IN ('Used', 'Unused'))
                   AS months_billed,
               coalesce(sum(effective_usd) FILTER (WHERE commitment_status = 'Used'
                   AND charge_category = 'Usage'), 0) AS used_usd,
               coalesce(sum(effective_usd) FILTER (WHERE commitment_status = 'Unused'
                   AND charge_category = 'Usage'), 0) AS unused_usd
        FROM focus WHERE commitment_id IS NOT NULL GROUP BY commitment_id
        """
    )
    base = pd.DataFrame(
        [
            (
                int(c["id"]),
                str(c["state"]),
                str(c["provider"]),
                str(c["offer"]),
                float(c["quantity"]),
                float(c["value_usd"]),
                str(c.get("external_id") or ""),
            )
            for c in held
        ],
        columns=cols[:7],
    )
    df = base.merge(billed, left_on="external_id", right_on="commitment_id", how="left").drop(
        columns="commitment_id"
    )
    df = df.fillna({"months_billed": 0, "used_usd": 0.0, "unused_usd": 0.0})
    df["months_billed"] = df["months_billed"].astype(int)
    total = (df["used_usd"] + df["unused_usd"]).to_numpy(float)
    df["utilisation"] = np.divide(
        df["used_usd"].to_numpy(float), total, out=np.full(len(df), np.nan), where=total > 0
    )
    df = df[cols].sort_values("id", ignore_index=True)
    return _units(
        df,
        {
            "quantity": "instances",
            "value_usd": "USD (whole term)",
            "months_billed": "months",
            "used_usd": "USD (EffectiveCost, Used)",
            "unused_usd": "USD (EffectiveCost, Unused)",
            "utilisation": "share",
        },
    )
