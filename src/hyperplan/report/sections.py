"""Data behind each section of the HTML report: plain DataFrames computed from a :class:`Plan`.

Each function takes a plan (and what else the section needs) and returns tables whose numbers
are the plan's own, only regrouped: the report draws them and the tests check them. Money in USD
(nominal unless the column says otherwise), power in MW, shares as fractions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hyperplan.plan.api import Plan

#: plain words for the policy families of ``plan.tables["policies"]``
POLICY_WORDS = {
    "share": "provider share cap",
    "power-site": "site power cap",
    "power-total": "total power cap",
    "budget": "yearly budget",
    "take-or-pay": "take-or-pay contract",
    "supply": "supply ramp",
    "pool-market": "market capacity cap",
    "training-instances": "training run size cap",
}

MARKET_ORDER = ("reserved", "existing", "ondemand", "spot", "shortfall")
MARKET_WORDS = {
    "reserved": "reserved (new)",
    "existing": "existing reservations",
    "ondemand": "on-demand",
    "spot": "spot",
    "shortfall": "take-or-pay shortfall",
}

#: an entry-price cut below this is a tie: the offer would enter at its list price
PARITY = 5e-4


def _table(plan: Plan, name: str) -> pd.DataFrame | None:
    df = plan.tables.get(name)
    return df if df is not None else None


def providers(plan: Plan) -> list[str]:
    """Providers in the plan's order (``context.providers``, then any others seen in tables)."""
    order = list(plan.context.providers)
    for name in ("spend", "capacity", "commitments"):
        df = plan.tables.get(name)
        if df is not None and len(df):
            order += [p for p in dict.fromkeys(df["provider"]) if p not in order]
    return order


def periods(plan: Plan) -> list[str]:
    """Period labels in order (``context.periods``, else from the tables)."""
    labels = list(plan.context.periods)
    if labels:
        return labels
    frames = [plan.tables[n] for n in ("workloads", "capacity", "spend") if n in plan.tables]
    seen: dict[int, str] = {}
    for df in frames:
        for i, label in zip(df["period_index"], df["period"], strict=True):
            seen.setdefault(int(i), str(label))
    return [seen[i] for i in sorted(seen)]


def accelerator_label(accelerator: object) -> str:
    """'CPU' for CPU-only offers (empty accelerator), else the accelerator name."""
    text = "" if accelerator is None or accelerator is np.nan else str(accelerator)
    return text if text and text != "nan" else "CPU"


# ------------------------------------------------------------------------------ capacity
def capacity_by(plan: Plan, key: str = "provider", value: str = "gpus") -> pd.DataFrame:
    """Capacity per period (rows, every period of the horizon) and ``key`` (columns).

    ``key``: "provider" or "accelerator" (CPU-only offers as "CPU"); ``value``: "gpus" or "mw".
    """
    cap = plan.tables["capacity"]
    labels = periods(plan)
    if not len(cap):
        return pd.DataFrame(index=pd.Index(labels, name="period"))
    df = cap.assign(
        accelerator=[accelerator_label(a) for a in cap["accelerator"]],
        period=[labels[i] for i in cap["period_index"]],
    )
    out = df.pivot_table(index="period", columns=key, values=value, aggfunc="sum", fill_value=0.0)
    if key == "provider":
        cols = [p for p in providers(plan) if p in out.columns]
    else:
        totals = out.sum()
        cols = sorted(totals.index, key=lambda c: (-totals[c], str(c)))  # ties: by name
    out = out.reindex(index=labels, columns=cols, fill_value=0.0).fillna(0.0)
    out.index.name = "period"
    out.columns.name = key
    if value == "gpus":
        out = out.loc[:, (out > 0).any(axis=0)]
    return out


def mw_by_period(plan: Plan) -> pd.Series:
    """Facility MW per period (all providers)."""
    return capacity_by(plan, "provider", "mw").sum(axis=1).rename("mw")


# ------------------------------------------------------------------------------ spend
def spend_by_year_provider_market(plan: Plan) -> pd.DataFrame:
    """Nominal spend per (year, provider, market), USD; markets in :data:`MARKET_ORDER`."""
    sp = plan.tables["spend"]
    cols = ["year", "provider", "market", "usd", "usd_discounted"]
    if not len(sp):
        return pd.DataFrame(columns=cols)
    out = sp.groupby(["year", "provider", "market"], as_index=False)[
        ["usd", "usd_discounted"]
    ].sum()
    prov_rank = {p: i for i, p in enumerate(providers(plan))}
    mkt_rank = {m: i for i, m in enumerate(MARKET_ORDER)}
    out = out.assign(
        _p=out["provider"].map(prov_rank).fillna(len(prov_rank)),
        _m=out["market"].map(mkt_rank).fillna(len(mkt_rank)),
    ).sort_values(["year", "_p", "_m"], ignore_index=True)
    return out[cols]


# ------------------------------------------------------------------------------ commitments
def _add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def commitment_timeline(plan: Plan) -> pd.DataFrame:
    """Contracts to sign, grouped by (provider, accelerator, term, start): one bar each.

    Columns: provider, accelerator, term_years, start, start_date, end_date (start + term),
    gpus, instances, contract_value_usd, in_horizon_usd, offers (how many offer rows), label.
    Sorted by start date, then provider order, then value (largest first).
    """
    com = plan.tables["commitments"]
    cols = [
        "provider",
        "accelerator",
        "term_years",
        "start",
        "start_date",
        "end_date",
        "gpus",
        "instances",
        "contract_value_usd",
        "in_horizon_usd",
        "offers",
        "label",
    ]
    if not len(com):
        return pd.DataFrame(columns=cols)
    df = com.assign(
        accelerator=[accelerator_label(a) for a in com["accelerator"]],
        start_date=[_as_date(d) for d in com["start_date"]],
    )
    g = df.groupby(["provider", "accelerator", "term_years", "start", "start_date"], as_index=False)
    out = g.agg(
        gpus=("gpus", "sum"),
        instances=("instances", "sum"),
        contract_value_usd=("contract_value_usd", "sum"),
        in_horizon_usd=("in_horizon_usd", "sum"),
        offers=("instances", "size"),
    )
    out["end_date"] = [
        _add_years(d, int(k)) for d, k in zip(out["start_date"], out["term_years"], strict=True)
    ]
    out["label"] = [
        f"{p} {a} {k}y from {s}"
        for p, a, k, s in zip(
            out["provider"], out["accelerator"], out["term_years"], out["start"], strict=True
        )
    ]
    rank = {p: i for i, p in enumerate(providers(plan))}
    out = out.assign(_p=out["provider"].map(rank), _v=-out["contract_value_usd"])
    out = out.sort_values(
        ["start_date", "_p", "_v", "accelerator", "term_years"], ignore_index=True
    )
    return out[cols]


def horizon_end(plan: Plan) -> dt.date | None:
    """First day after the horizon (``context.period_starts[-1]``)."""
    return plan.context.horizon_end


# ------------------------------------------------------------------------------ allocation
def _period_hours(plan: Plan) -> dict[int, float]:
    wl = plan.tables.get("workloads")
    if wl is None or not len(wl):
        return {}
    return dict(zip(wl["period_index"].astype(int), wl["hours"].astype(float), strict=False))


def allocation_share(plan: Plan) -> pd.DataFrame:
    """Each workload's served demand over the horizon split by provider.

    Columns: workload, provider, served_hours (served units × period hours: tokens/s-hours,
    reference GPU-hours, vCPU-hours), gpu_hours, share (of the workload's served_hours).
    Workloads in plan order, providers in provider order.
    """
    al = plan.tables["allocation"]
    cols = ["workload", "provider", "served_hours", "gpu_hours", "share"]
    if not len(al):
        return pd.DataFrame(columns=cols)
    hours = _period_hours(plan)
    h = al["period_index"].map(hours).fillna(1.0).to_numpy(dtype=float)
    df = al.assign(served_hours=al["served"] * h, gpu_hours=al["gpus"] * h)
    out = df.groupby(["workload", "provider"], as_index=False)[["served_hours", "gpu_hours"]].sum()
    total = out.groupby("workload")["served_hours"].transform("sum")
    out["share"] = np.where(total > 0, out["served_hours"] / total.where(total > 0, 1.0), 0.0)
    w_rank = {w: i for i, w in enumerate(plan.context.workloads)}
    p_rank = {p: i for i, p in enumerate(providers(plan))}
    out = out.assign(
        _w=out["workload"].map(w_rank).fillna(len(w_rank)),
        _p=out["provider"].map(p_rank).fillna(len(p_rank)),
    ).sort_values(["_w", "_p"], ignore_index=True)
    return out[cols]


def allocation_summary(plan: Plan) -> pd.DataFrame:
    """Per workload: kind, unit, peak GPUs in one period, share of GPU-hours per market, the
    provider serving most of it.

    Columns: workload, kind, unit, peak_gpus, reserved_share, ondemand_share, spot_share,
    main_provider, main_share.
    """
    al = plan.tables["allocation"]
    cols = [
        "workload",
        "kind",
        "unit",
        "peak_gpus",
        "reserved_share",
        "ondemand_share",
        "spot_share",
        "main_provider",
        "main_share",
    ]
    if not len(al):
        return pd.DataFrame(columns=cols)
    hours = _period_hours(plan)
    h = al["period_index"].map(hours).fillna(1.0).to_numpy(dtype=float)
    # CPU-only offers have no GPUs: weigh markets by instance-hours then
    df = al.assign(weight=np.where(al["gpus"] > 0, al["gpus"], al["instances"]) * h)
    share = allocation_share(plan)
    rows = []
    for w in dict.fromkeys([*plan.context.workloads, *al["workload"]]):
        sel = df[df["workload"] == w]
        if not len(sel):
            continue
        by_market = sel.groupby("market")["weight"].sum()
        total = float(by_market.sum()) or 1.0
        peak = float(sel.groupby("period_index")["gpus"].sum().max())
        sh = share[share["workload"] == w]
        main = sh.loc[sh["share"].idxmax()] if len(sh) else None
        rows.append(
            {
                "workload": w,
                "kind": str(sel["kind"].iloc[0]),
                "unit": str(sel["unit"].iloc[0]),
                "peak_gpus": peak,
                "reserved_share": float(by_market.get("reserved", 0.0)) / total,
                "ondemand_share": float(by_market.get("ondemand", 0.0)) / total,
                "spot_share": float(by_market.get("spot", 0.0)) / total,
                "main_provider": "" if main is None else str(main["provider"]),
                "main_share": np.nan if main is None else float(main["share"]),
            }
        )
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------------------ routes
ROUTE_ORDER = ("rented", "owned", "managed")


def route_summary(plan: Plan) -> pd.DataFrame | None:
    """Per workload and route (rented, owned, managed) over the horizon, from ``routes``.

    Columns: workload, route, share (of the workload's served demand-hours), usd (incl. the
    idle capacity of that route under workload ``(idle)``), usd_per_gpu_hour,
    usd_per_million_tokens. ``None`` when the plan has no route table (no owned site and no
    managed platform in the scenario).
    """
    rt = _table(plan, "routes")
    if rt is None:
        return None
    cols = ["workload", "route", "share", "usd", "usd_per_gpu_hour", "usd_per_million_tokens"]
    if not len(rt):
        return pd.DataFrame(columns=cols)
    hours = _period_hours(plan)
    h = rt["period_index"].map(hours).fillna(1.0).to_numpy(dtype=float)
    df = rt.assign(
        served_hours=rt["served"] * h,
        gpu_hours=rt["gpus"] * h,
        mtok=np.where(rt["kind"] == "inference", rt["served"] * h * 3600 / 1e6, 0.0),
    )
    out = df.groupby(["workload", "route"], as_index=False, sort=False)[
        ["served_hours", "gpu_hours", "mtok", "usd"]
    ].sum()
    total = out.groupby("workload")["served_hours"].transform("sum")
    out["share"] = np.where(total > 0, out["served_hours"] / total.where(total > 0, 1.0), np.nan)
    out.loc[out["workload"] == "(idle)", "share"] = np.nan
    out["usd_per_gpu_hour"] = np.where(
        out["gpu_hours"] > 0, out["usd"] / out["gpu_hours"].where(out["gpu_hours"] > 0, 1), np.nan
    )
    out["usd_per_million_tokens"] = np.where(
        out["mtok"] > 0, out["usd"] / out["mtok"].where(out["mtok"] > 0, 1), np.nan
    )
    w_rank = {w: i for i, w in enumerate(plan.context.workloads)}
    out = out.assign(
        _w=out["workload"].map(w_rank).fillna(len(w_rank)),
        _r=out["route"].map({r: i for i, r in enumerate(ROUTE_ORDER)}),
    ).sort_values(["_w", "_r"], ignore_index=True)
    return out[cols]


# ------------------------------------------------------------------------------ resilience
def resilience_matrices(plan: Plan) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(served, required): workload × scenario fractions (worst period), base column first."""
    res = plan.tables["resilience"]
    if not len(res):
        return pd.DataFrame(), pd.DataFrame()
    served = res.pivot_table(
        index="workload", columns="scenario", values="served_fraction", aggfunc="min"
    )
    required = res.pivot_table(
        index="workload", columns="scenario", values="required_fraction", aggfunc="max"
    )
    scen = [s for s in plan.context.scenarios if s in served.columns]
    scen += [s for s in served.columns if s not in scen]
    scen = ["base", *[s for s in scen if s != "base"]] if "base" in scen else scen
    work = [w for w in plan.context.workloads if w in served.index]
    work += [w for w in served.index if w not in work]
    return served.reindex(index=work, columns=scen), required.reindex(index=work, columns=scen)


# ------------------------------------------------------------------------------ negotiation
def walk_away(plan: Plan) -> pd.DataFrame | None:
    """The walk-away table in provider order (None when the plan was made without it)."""
    wa = plan.tables.get("walk_away")
    if wa is None:
        return None
    rank = {p: i for i, p in enumerate(providers(plan))}
    return (
        wa.assign(_p=wa["provider"].map(rank).fillna(len(rank)))
        .sort_values("_p", ignore_index=True)
        .drop(columns="_p")
    )


def entry_by_provider_accelerator(plan: Plan) -> pd.DataFrame:
    """For each (provider, accelerator) with an unsigned offer: the smallest price cut at which
    one of its offers would enter the plan (the negotiation target), and which offer.

    Columns: provider, accelerator, cut_fraction, offer (region instance, term), usd_per_hour,
    entry_usd_per_hour, best_start, at_parity (cut below 0.05%: enters at list price, a tie).
    Sorted by cut.
    """
    ep = plan.tables.get("entry_prices")
    cols = [
        "provider",
        "accelerator",
        "cut_fraction",
        "offer",
        "usd_per_hour",
        "entry_usd_per_hour",
        "best_start",
        "at_parity",
    ]
    if ep is None or not len(ep):
        return pd.DataFrame(columns=cols)
    df = ep.assign(accelerator=[accelerator_label(a) for a in ep["accelerator"]])
    df = df[np.isfinite(df["cut_fraction"].astype(float))]
    # the smallest cut per (provider, accelerator); equal cuts (to 1e-9): the first offer by
    # region, instance and term, so solver noise cannot pick another one
    df = df.assign(_c=df["cut_fraction"].astype(float).round(9)).sort_values(
        ["_c", "provider", "accelerator", "region", "instance_type", "term_years"], kind="stable"
    )
    best = df.groupby(["provider", "accelerator"], sort=False).head(1)
    out = pd.DataFrame(
        {
            "provider": best["provider"].to_numpy(),
            "accelerator": best["accelerator"].to_numpy(),
            "cut_fraction": best["cut_fraction"].to_numpy(dtype=float),
            "offer": [
                f"{r} {i} ({k}y)"
                for r, i, k in zip(
                    best["region"], best["instance_type"], best["term_years"], strict=True
                )
            ],
            "usd_per_hour": best["usd_per_hour"].to_numpy(dtype=float),
            "entry_usd_per_hour": best["entry_usd_per_hour"].to_numpy(dtype=float),
            "best_start": best["best_start"].to_numpy(),
        }
    )
    out["at_parity"] = out["cut_fraction"] < PARITY
    return out.sort_values(["cut_fraction", "provider", "accelerator"], ignore_index=True).reindex(
        columns=cols
    )


def policy_costs(plan: Plan) -> pd.DataFrame:
    """Binding policies grouped by (policy, subject): how many periods bind and what relaxing
    the limit by one unit is worth, in the costliest period and over all binding periods.

    Columns: policy, words, subject, per, periods, marginal_usd_max, marginal_usd_sum.
    Sorted by family (the order of :data:`POLICY_WORDS`; units differ between families), then
    marginal_usd_sum, largest first.
    """
    pol = plan.tables.get("policies")
    cols = [
        "policy",
        "words",
        "subject",
        "per",
        "periods",
        "marginal_usd_max",
        "marginal_usd_sum",
    ]
    if pol is None or not len(pol):
        return pd.DataFrame(columns=cols)
    if "scenario" in pol.columns:  # a limit binding under an outage is a subject of its own
        outage = pol["scenario"].astype(str) != "base"
        pol = pol.assign(
            subject=pol["subject"]
            .astype(str)
            .where(
                ~outage, pol["subject"].astype(str) + " (when " + pol["scenario"].astype(str) + ")"
            )
        )
    out = pol.groupby(["policy", "subject", "per"], as_index=False, sort=False).agg(
        periods=("period", "size"),
        marginal_usd_max=("marginal_usd", "max"),
        marginal_usd_sum=("marginal_usd", "sum"),
    )
    out["words"] = out["policy"].map(POLICY_WORDS).fillna(out["policy"])
    rank = {name: i for i, name in enumerate(POLICY_WORDS)}
    out["_f"] = out["policy"].map(rank).fillna(len(rank))
    return out.sort_values(
        ["_f", "marginal_usd_sum", "subject"], ascending=[True, False, True], ignore_index=True
    )[cols]


# ------------------------------------------------------------------------------ assumptions
def market_ceiling_words(plan: Plan) -> str:
    """One sentence: where the on-demand and spot ceilings of the offers in play come from,
    with the bundled defaults flagged [A] (``""`` for plans without the basis columns)."""
    off = plan.tables.get("offers")
    if off is None or "ondemand_cap_basis" not in off.columns or not len(off):
        return ""
    parts = []
    for market, column in (("on-demand", "ondemand_cap_basis"), ("spot", "spot_cap_basis")):
        counts = off[column].astype(str).value_counts()
        counts = counts[[b not in ("", "route") for b in counts.index]]
        words = "; ".join(
            f"{b}: {n} offer{'s' if n != 1 else ''}"
            for b, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        if words:
            parts.append(f"{market}: {words}")
    if not parts:
        return ""
    return (
        "Market ceilings (instances obtainable per offer and period; [A] = assumption of the "
        "bundled catalog/data/market_caps.csv, no public source): " + " | ".join(parts) + "."
    )


def catalog_rows(plan: Plan, catalog_offers: pd.DataFrame | None = None) -> pd.DataFrame:
    """The offers in play with their source, whether the plan uses them, and estimated perf.

    ``catalog_offers``: a catalog's ``offers`` table (index offer_id, column ``source``); by
    default the bundled catalog. Offers not in it (the scenario's own CSVs) say so.

    Columns: offer_id, provider, region, instance_type, accelerator, gpus, kw_facility,
    ondemand_usd_per_hour (first period), used, estimated_perf (workloads whose perf for this
    offer is an estimate, comma-separated), source.
    """
    off = plan.tables.get("offers")
    cols = [
        "offer_id",
        "provider",
        "region",
        "instance_type",
        "accelerator",
        "gpus",
        "kw_facility",
        "ondemand_usd_per_hour",
        "used",
        "estimated_perf",
        "source",
    ]
    if off is None or not len(off):
        return pd.DataFrame(columns=cols)
    if catalog_offers is None:
        from hyperplan.catalog import load_catalog

        catalog_offers = load_catalog().offers
    scenario = plan.context.scenario
    user_csvs = scenario.offers.catalog_csv if scenario is not None else []
    fallback = "not in the bundled catalog" + (
        f" (the scenario's catalog_csv: {', '.join(map(str, user_csvs))})" if user_csvs else ""
    )
    sources = catalog_offers["source"] if "source" in catalog_offers.columns else pd.Series()
    source = [
        str(sources.get(o)) if o in sources.index and pd.notna(sources.get(o)) else fallback
        for o in off["offer_id"]
    ]
    used_keys: set[tuple[str, str, str]] = set()
    for name in ("capacity", "commitments", "allocation"):
        df = plan.tables.get(name)
        if df is not None and len(df):
            used_keys |= set(zip(df["provider"], df["region"], df["instance_type"], strict=True))
    used = [
        (p, r, i) in used_keys
        for p, r, i in zip(off["provider"], off["region"], off["instance_type"], strict=True)
    ]
    perf = plan.tables.get("perf")
    est: dict[str, str] = {}
    if perf is not None and len(perf):
        flagged = perf[perf["estimated"].astype(bool)]
        for o, grp in flagged.groupby("offer_id", sort=False):
            est[str(o)] = ", ".join(dict.fromkeys(grp["workload"]))
    markets = plan.tables.get("markets")
    od: dict[str, float] = {}
    if markets is not None and len(markets):
        first = markets.sort_values("period_index").dropna(subset=["ondemand_usd_per_hour"])
        od = first.groupby("offer_id")["ondemand_usd_per_hour"].first().to_dict()
    out = pd.DataFrame(
        {
            "offer_id": off["offer_id"].to_numpy(),
            "provider": off["provider"].to_numpy(),
            "region": off["region"].to_numpy(),
            "instance_type": off["instance_type"].to_numpy(),
            "accelerator": [accelerator_label(a) for a in off["accelerator"]],
            "gpus": off["gpus"].to_numpy(dtype=float),
            "kw_facility": off["kw_facility"].to_numpy(dtype=float),
            "ondemand_usd_per_hour": [od.get(o, np.nan) for o in off["offer_id"]],
            "used": used,
            "estimated_perf": [est.get(str(o), "") for o in off["offer_id"]],
            "source": source,
        }
    )
    rank = {p: i for i, p in enumerate(providers(plan))}
    out = out.assign(_u=~out["used"], _p=out["provider"].map(rank).fillna(len(rank)))
    return out.sort_values(["_u", "_p", "offer_id"], ignore_index=True)[cols]


def estimated_perf(plan: Plan) -> pd.DataFrame:
    """Perf figures that are estimates (workload, offer_id, perf, unit)."""
    perf = plan.tables.get("perf")
    cols = ["workload", "offer_id", "perf", "unit"]
    if perf is None or not len(perf):
        return pd.DataFrame(columns=cols)
    return perf[perf["estimated"].astype(bool)][cols].reset_index(drop=True)


# ------------------------------------------------------------------------------ strategies
def compare_table(compare: Any) -> pd.DataFrame | None:
    """The table of :func:`hyperplan.plan.compare.compare` from a DataFrame, records, a dict of
    columns or a plan-style table (``{"columns": {name: {"values": [...]}}}``)."""
    if compare is None:
        return None
    if isinstance(compare, tuple):  # compare() returns (table, plans)
        compare = compare[0]
    df = _frame(compare)
    if df is None or "strategy" not in df.columns:
        raise ValueError("a strategy comparison needs a 'strategy' column (from compare())")
    return df.reset_index(drop=True)


def _frame(obj: Any) -> pd.DataFrame | None:
    """A DataFrame from the shapes JSON files hold: records, dict of columns, plan-style table."""
    if obj is None:
        return None
    if isinstance(obj, pd.DataFrame):
        return obj.copy()
    if isinstance(obj, Mapping) and isinstance(obj.get("columns"), Mapping):
        cols = obj["columns"]
        data = {
            k: (v.get("values", []) if isinstance(v, Mapping) else list(v)) for k, v in cols.items()
        }
        return _numeric(pd.DataFrame(data))
    if isinstance(obj, Mapping) and {"columns", "data"} <= set(obj):  # pandas orient="split"
        return _numeric(pd.DataFrame(obj["data"], columns=obj["columns"]))
    if isinstance(obj, Mapping):
        return _numeric(pd.DataFrame(dict(obj)))
    if isinstance(obj, list):
        return _numeric(pd.DataFrame(list(obj)))
    raise ValueError(f"cannot read a table from {type(obj).__name__}")


def _numeric(df: pd.DataFrame) -> pd.DataFrame:
    """Columns of numbers written as strings ('nan', 'inf') back to floats."""
    for name in df.columns:
        col = df[name]
        if pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col):
            conv = pd.to_numeric(col, errors="coerce")
            special = col.isin(["nan", "inf", "-inf", "NaN", "Infinity", "-Infinity", None])
            if conv.notna().sum() + special.sum() == len(col) and col.notna().any():
                df[name] = conv.astype(float)
    return df


# ------------------------------------------------------------------------------ simulation
@dataclass
class SimView:
    """A simulation result as the report reads it.

    ``summary``: one row per metric with ``metric``, ``unit`` and any of ``mean``, ``std``,
    ``p01`` .. ``p99``; ``trials``: per-trial values (columns = metrics) when present;
    ``info``: scalars worth showing (trials, seed, seconds, …).
    """

    summary: pd.DataFrame
    trials: pd.DataFrame | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def metrics(self, prefix: str) -> pd.DataFrame:
        """Summary rows whose metric is ``prefix`` or starts with ``prefix:``."""
        m = self.summary["metric"].astype(str)
        return self.summary[(m == prefix) | m.str.startswith(prefix + ":")]


_SUMMARY_KEYS = ("summary", "distributions", "metrics_summary")
_TRIAL_KEYS = ("trials", "metrics", "per_trial", "samples")
_QUANTILE_ALIASES = {"p1": "p01", "p5": "p05", "median": "p50", "q50": "p50"}


def load_sim(path: str | Path) -> dict[str, Any]:
    """Read a sim.json file (bounded size, validated: ``hyperplan.artifacts.load_sim_json``)."""
    from hyperplan.artifacts import load_sim_json

    return load_sim_json(path)


def sim_view(sim: Any) -> SimView | None:
    """Normalise a simulation result: a dict from sim.json, or an object with ``summary()``
    (and optionally ``metrics``/``trials`` per-trial DataFrames), or a summary DataFrame.

    Returns None for None. Raises ValueError when no summary table can be found.
    """
    if sim is None:
        return None
    if isinstance(sim, SimView):
        return sim
    info: dict[str, Any] = {}
    summary = trials = None
    if isinstance(sim, pd.DataFrame):
        summary = sim
    elif isinstance(sim, Mapping):
        for key in _SUMMARY_KEYS:
            if sim.get(key) is not None:
                summary = _frame(sim[key])
                break
        for key in _TRIAL_KEYS:
            if sim.get(key) is not None:
                try:
                    trials = _frame(sim[key])
                except (ValueError, TypeError):
                    trials = None
                break
        for key, value in sim.items():
            if isinstance(value, str | int | float | bool) and key not in ("schema",):
                info[key] = value
        for key in ("config", "meta", "info", "stats"):
            if isinstance(sim.get(key), Mapping):
                info.update(
                    {k: v for k, v in sim[key].items() if isinstance(v, str | int | float | bool)}
                )
    else:
        method = getattr(sim, "summary", None)
        summary = method() if callable(method) else method
        for key in ("metrics", "trials", "per_trial"):
            value = getattr(sim, key, None)
            if isinstance(value, pd.DataFrame):
                trials = value
                break
        meta = getattr(sim, "meta", None)
        if isinstance(meta, Mapping):
            info.update({k: v for k, v in meta.items() if isinstance(v, str | int | float | bool)})
        for key in ("trials", "seed", "seconds", "workers", "backend"):
            value = getattr(sim, key, None)
            if isinstance(value, str | int | float | bool):
                info.setdefault(key, value)
        summary = _frame(summary)
    if summary is None and trials is not None:
        summary = summarize_trials(trials)
    if summary is None or "metric" not in summary.columns:
        raise ValueError("the simulation result has no summary table with a 'metric' column")
    summary = summary.rename(columns=_QUANTILE_ALIASES).reset_index(drop=True)
    if "unit" not in summary.columns:
        summary["unit"] = ""
    summary["unit"] = summary["unit"].fillna("").astype(str)
    if trials is not None:
        trials = trials.select_dtypes("number")
        if not trials.shape[1]:
            trials = None
    return SimView(summary=summary, trials=trials, info=info)


def summarize_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and quantiles of each numeric column of per-trial values."""
    rows = []
    for name in trials.select_dtypes("number").columns:
        x = trials[name].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        row: dict[str, Any] = {"metric": name, "unit": "", "trials": len(x)}
        if len(x):
            row["mean"] = float(x.mean())
            row["std"] = float(x.std(ddof=1)) if len(x) > 1 else 0.0
            for key, q in (("p01", 0.01), ("p05", 0.05), ("p50", 0.5), ("p95", 0.95)):
                row[key] = float(np.quantile(x, q))
            row["p99"] = float(np.quantile(x, 0.99))
        rows.append(row)
    return pd.DataFrame(rows)
