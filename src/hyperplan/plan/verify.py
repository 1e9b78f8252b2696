"""Check a plan against its own inputs, independently of the solver.

Everything is recomputed from the plan's tables (commitments, capacity, allocation, spend,
unserved) and the inputs it records (workloads, markets, offers, ``context.limits``), with pandas
group-bys rather than the model's matrix, so a modelling or extraction bug shows up as a
violation instead of a wrong plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hyperplan.plan.context import PlanLike

REL = 1e-6  # relative tolerance
ABS = 1e-4  # absolute tolerance (instances, demand units, USD)


def _exceeds(value: np.ndarray, limit: np.ndarray) -> np.ndarray:
    return value > limit + ABS + REL * np.abs(limit)


def verify(plan: PlanLike) -> list[str]:
    """All violations found (empty when the plan keeps every constraint), in words."""
    t = plan.tables
    limits = plan.context.limits
    problems: list[str] = []
    labels = list(plan.context.periods)
    T = len(labels)
    markets = t["markets"]
    alloc = t["allocation"]
    cap = t["capacity"]
    offers = t["offers"]
    offer_key = offers["provider"] + ":" + offers["region"] + ":" + offers["instance_type"]
    index = pd.Series(np.arange(len(offers)), index=offer_key.to_numpy())
    O = len(offers)

    def grid(df: pd.DataFrame, column: str, key: pd.Series | None = None) -> np.ndarray:
        out = np.zeros((O, T))
        if len(df):
            ids = (
                (df["provider"] + ":" + df["region"] + ":" + df["instance_type"])
                if key is None
                else key
            )
            np.add.at(
                out,
                (index.loc[ids.to_numpy()].to_numpy(), df["period_index"].to_numpy()),
                df[column].to_numpy(),
            )
        return out

    # 1. reserved capacity = existing + commitments whose term covers the period
    existing = np.zeros((O, T))
    np.add.at(
        existing,
        (index.loc[markets["offer_id"].to_numpy()].to_numpy(), markets["period_index"].to_numpy()),
        markets["existing_instances"].to_numpy(),
    )
    covered = existing.copy()
    com = t["commitments"]
    terms = {int(k): v for k, v in limits.terms_periods.items()}
    if len(com):  # each commitment covers its term's periods inside the horizon
        keys = com["provider"] + ":" + com["region"] + ":" + com["instance_type"]
        o = index.loc[keys.to_numpy()].to_numpy()
        if "first_period_index" in com.columns:  # builds serve from first power (lead time)
            s = com["first_period_index"].to_numpy(dtype=np.int64)
            length = com["periods_covered"].to_numpy(dtype=np.int64)
        else:
            s = com["start_index"].to_numpy(dtype=np.int64)
            length = np.array([terms[int(k)] for k in com["term_years"]], dtype=np.int64)
        count = np.clip(np.minimum(length, T - s), 0, None)
        owner = np.repeat(np.arange(len(com)), count)
        period = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count) + s[owner]
        np.add.at(covered, (o[owner], period), com["instances"].to_numpy()[owner])
    reserved = grid(cap, "reserved_instances")
    bad = np.abs(reserved - covered) > ABS + REL * np.abs(covered)
    for o, p in zip(*np.nonzero(bad), strict=True):
        problems.append(
            f"reserved capacity of {offer_key.iloc[o]} in {labels[p]} is {reserved[o, p]:.6g}, but existing + commitments give {covered[o, p]:.6g}"
        )

    # 2. pools: allocations fit capacity; on-demand and spot fit their caps
    for market, column, limit in (
        ("reserved", None, reserved),
        ("ondemand", "ondemand_cap", None),
        ("spot", "spot_cap", None),
    ):
        used = grid(alloc[alloc["market"] == market], "instances")
        if limit is None:
            limit = np.full((O, T), np.inf)
            np.minimum.at(
                limit,
                (
                    index.loc[markets["offer_id"].to_numpy()].to_numpy(),
                    markets["period_index"].to_numpy(),
                ),
                markets[column].to_numpy(),
            )
        over = _exceeds(used, limit)
        for o, p in zip(*np.nonzero(over), strict=True):
            problems.append(
                f"{market} use of {offer_key.iloc[o]} in {labels[p]} is {used[o, p]:.6g} > {limit[o, p]:.6g}"
            )

    # 3. demand: served (base) + unserved >= demand; training gets its compute
    wl = t["workloads"]
    uns = t["unserved"]
    base_uns = uns[uns["scenario"] == "base"] if len(uns) else uns
    served = alloc.groupby(["workload", "period_index"])["served"].sum()
    short_by = base_uns.groupby(["workload", "period"])["amount"].sum() if len(base_uns) else None
    need = wl[(wl["kind"] != "training") & (wl["demand"] > 0)]
    keys = pd.MultiIndex.from_arrays([need["workload"], need["period_index"]])
    got = served.reindex(keys, fill_value=0.0).to_numpy()
    if short_by is not None:
        keys = pd.MultiIndex.from_arrays([need["workload"], need["period"]])
        short = short_by.reindex(keys, fill_value=0.0).to_numpy()
    else:
        short = np.zeros(len(need))
    demand = need["demand"].to_numpy()
    for i in np.flatnonzero(got + short < demand * (1 - REL) - ABS)[:50]:
        r = need.iloc[i]
        problems.append(
            f"{r['workload']} in {r['period']}: served {got[i]:.6g} + unserved {short[i]:.6g} < demand {demand[i]:.6g}"
        )
    hours = wl.groupby("period_index")["hours"].first()
    runs = wl[wl["kind"] == "training"]
    if len(runs):
        a = alloc[alloc["workload"].isin(set(runs["workload"]))]
        done = (
            (a["served"] * hours.loc[a["period_index"]].to_numpy())
            .groupby(a["workload"].to_numpy())
            .sum()
        )
        window = set(
            zip(
                runs.loc[runs["in_window"].astype(bool), "workload"],
                runs.loc[runs["in_window"].astype(bool), "period_index"],
                strict=True,
            )
        )
        outside: dict[str, set[int]] = {}
        for name, period in zip(a["workload"], a["period_index"], strict=True):
            if (name, period) not in window:
                outside.setdefault(name, set()).add(int(period))
        for name, periods in outside.items():
            problems.append(f"training {name} runs outside its window in periods {sorted(periods)}")
        short_of = base_uns.groupby("workload")["amount"].sum() if len(base_uns) else {}
        for name, need in runs.groupby("workload")["compute_gpu_hours"].first().items():
            got = float(done.get(name, 0.0))
            short = float(short_of.get(name, 0.0)) if len(short_of) else 0.0
            if got + short < need * (1 - REL) - ABS:
                problems.append(
                    f"training {name} gets {got:.6g} + unserved {short:.6g} < {need:.6g} GPU-hours"
                )

    # 4. provider shares: spend (or GPUs) above the cap by more than the tolerance, in the
    # amount's own unit (a share of a few dollars may exceed the cap by 1e-5 at no cost)
    caps = limits.max_share
    if caps and any(v < 1 for v in caps.values()):
        by_gpus = limits.share_by == "gpus"
        if by_gpus:
            amounts = (
                cap.assign(total=cap["gpus"])
                .groupby(["period_index", "provider"])["total"]
                .sum()
                .unstack(fill_value=0.0)
            )
            slack = ABS
        else:
            sp = t["spend"]
            sp = sp[sp["market"] != "shortfall"]
            amounts = sp.groupby(["period_index", "provider"])["usd"].sum().unstack(fill_value=0.0)
            slack = 1.0  # USD, as for the budget
        totals = amounts.sum(axis=1)
        for provider in amounts.columns:
            limit = caps.get(provider, 1.0)
            excess = amounts[provider] - limit * totals
            over = excess > slack + REL * totals
            for p in amounts.index[over]:
                share = amounts.loc[p, provider] / totals.loc[p]
                problems.append(
                    f"{provider} holds {share:.4%} in {labels[p]} > max_share {limit:.4%}"
                )

    # 5. power
    mw = cap.assign(site=cap["provider"] + ":" + cap["region"])
    for site, values in limits.site_power_mw.items():
        use = mw[mw["site"] == site].groupby("period_index")["mw"].sum()
        for p, v in use.items():
            if values[p] is not None and v > values[p] * (1 + REL) + ABS:
                problems.append(
                    f"site {site} draws {v:.6g} MW in {labels[p]} > cap {values[p]:.6g}"
                )
    total_caps = limits.total_power_mw
    if any(v is not None for v in total_caps):
        use = cap.groupby("period_index")["mw"].sum()
        for p, v in use.items():
            if total_caps[p] is not None and v > total_caps[p] * (1 + REL) + ABS:
                problems.append(f"total power {v:.6g} MW in {labels[p]} > cap {total_caps[p]:.6g}")

    # 6. budget and spend recomputation
    spend = t["spend"]
    for year, budget in limits.budget_usd.items():
        sp = spend[(spend["year"] == int(year)) & (spend["market"] != "shortfall")]["usd"].sum()
        if sp > budget * (1 + REL) + 1.0:
            problems.append(f"spend in {year} is {sp:,.0f} USD > budget {budget:,.0f}")
    price = np.zeros((O, T, 2))
    m_o = index.loc[markets["offer_id"].to_numpy()].to_numpy()
    price[m_o, markets["period_index"].to_numpy(), 0] = markets["ondemand_usd_per_hour"].to_numpy()
    price[m_o, markets["period_index"].to_numpy(), 1] = markets["spot_usd_per_hour"].to_numpy()
    h = hours.reindex(range(T)).to_numpy()
    for k, market in enumerate(("ondemand", "spot")):
        used = grid(alloc[alloc["market"] == market], "instances")
        expect = (used * price[:, :, k] * h[None, :]).sum()
        reported = spend[spend["market"] == market]["usd"].sum()
        if abs(expect - reported) > 1.0 + REL * abs(expect):
            problems.append(
                f"{market} spend reported {reported:,.2f} USD but allocations cost {expect:,.2f}"
            )
    expect_res = float((com["in_horizon_usd"]).sum()) if len(com) else 0.0
    reported_res = spend[spend["market"] == "reserved"]["usd"].sum()
    if abs(expect_res - reported_res) > 1.0 + REL * abs(expect_res):
        problems.append(
            f"reserved spend reported {reported_res:,.2f} USD but commitments cost {expect_res:,.2f}"
        )
    return problems
