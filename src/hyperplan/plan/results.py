"""Read a solved :class:`PlanningModel` into tables (pandas) with stable names and units.

Every table is a DataFrame whose ``attrs["units"]`` maps column → unit. Money in USD (nominal
unless the column says ``discounted``), capacity in instances and GPUs, power in MW.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hyperplan.catalog.market_caps import MARKETS, ONDEMAND, RESERVED, SPOT
from hyperplan.plan.build import MUSD, PlanningModel
from hyperplan.plan.inputs import DEMAND_UNITS, RATE_UNITS
from hyperplan.plan.model import group_ids
from hyperplan.plan.outage_mix import outage_mix
from hyperplan.plan.readout import EPS, base_market_use, col_values, frame, pm_coverage
from hyperplan.plan.route_tables import route_tables
from hyperplan.plan.routes import OWNED, ROUTES
from hyperplan.plan.solve import Solution

#: columns that name an offer (with the term and start: a commitment), for sorting on full keys
OFFER_KEYS = ("provider", "region", "instance_type")


def sort_on_keys(
    df: pd.DataFrame, keys: list[str], ascending: list[bool], rounded: dict[str, int]
) -> pd.DataFrame:
    """``df`` sorted on ``keys``, the float columns in ``rounded`` compared at that many decimals
    (solver noise of 1e-12 must not order two equal figures differently from one HiGHS or pandas
    version to the next); the keys should identify a row, so ties cannot reorder rows."""
    tmp = {f"_sort_{c}": df[c].astype(float).round(d) for c, d in rounded.items()}
    by = [f"_sort_{c}" if c in rounded else c for c in keys]
    out = df.assign(**tmp).sort_values(by, ascending=ascending, kind="stable", ignore_index=True)
    out = out.drop(columns=list(tmp))
    out.attrs = dict(df.attrs)
    return out


def tables(pm: PlanningModel, sol: Solution) -> dict[str, pd.DataFrame]:
    """All result tables of a solved plan."""
    out = {
        **inputs_tables(pm),
        "commitments": commitments(pm, sol),
        "liability": pd.DataFrame(),  # filled below from the commitments
        "capacity": capacity(pm, sol),
        "allocation": allocation(pm, sol),
        "spend": spend(pm, sol),
        "resilience": resilience(pm, sol),
        "unserved": unserved(pm, sol),
        "outage_mix": outage_mix(pm, sol),
    }
    out["liability"] = liability(out["commitments"], pm.inputs.providers)
    if sol.has_duals:
        out["shadow_prices"] = shadow_prices(pm, sol)
        out["entry_prices"] = entry_prices(pm, sol)
        out["policies"] = policies(pm, sol)
    out.update(route_tables(pm, sol, out))
    return out


def inputs_tables(pm: PlanningModel) -> dict[str, pd.DataFrame]:
    """What the plan was made for, so plan.json stands alone (simulation, reports).

    ``workloads``: demand per workload and period; ``offers``: offers in play;
    ``markets``: prices and caps per offer and period; ``perf``: demand units per instance.
    """
    inp = pm.inputs
    W, T = len(inp.workload_names), inp.tl.periods
    w = np.repeat(np.arange(W), T)
    t = np.tile(np.arange(T), W)
    workloads = frame(
        {
            "workload": np.array(inp.workload_names)[w],
            "kind": inp.kind[w],
            "period": np.array(inp.tl.labels)[t],
            "period_index": t,
            "hours": inp.tl.hours[t],
            "demand": inp.demand[w, t],
            "compute_gpu_hours": inp.compute[w],
            "in_window": inp.window[w, t],
            "resilience": inp.resilience[w],
            "priority": np.array([wl.priority for wl in inp.scenario.workloads])[w],
            "preemptible": np.array([wl.preemptible for wl in inp.scenario.workloads])[w],
            "unit": np.array([DEMAND_UNITS[k] for k in inp.kind])[w],
        },
        {"demand": "demand units per period (see unit)", "hours": "hours"},
    )
    off = inp.offers
    offers = frame(
        {
            "offer_id": off.index.to_numpy(),
            **_offer_cols(pm, np.arange(len(off))),
            "gpus": inp.gpus,
            "vcpus": off["vcpus"].to_numpy(dtype=float),
            "kw_facility": inp.kw,
            "site": np.array(inp.sites)[inp.offer_site],
            "route": np.array(ROUTES)[inp.route],
            **_cap_basis(inp),
        },
        {"kw_facility": "kW per instance incl. PUE", "gpus": "GPUs per instance"},
    )
    O = len(off)
    o = np.repeat(np.arange(O), T)
    t2 = np.tile(np.arange(T), O)
    markets = frame(
        {
            "offer_id": off.index.to_numpy()[o],
            "period_index": t2,
            "ondemand_usd_per_hour": inp.price[o, ONDEMAND, t2],
            "spot_usd_per_hour": inp.price[o, SPOT, t2],
            "ondemand_cap": inp.market_cap[o, ONDEMAND, t2],
            "spot_cap": inp.market_cap[o, SPOT, t2],
            "existing_instances": inp.existing[o, t2],
        },
        {"ondemand_usd_per_hour": "USD per instance-hour", "ondemand_cap": "instances"},
    )
    pw, po = np.nonzero(inp.perf > 0)
    perf = frame(
        {
            "workload": np.array(inp.workload_names)[pw],
            "offer_id": off.index.to_numpy()[po],
            "perf": inp.perf[pw, po],
            "estimated": inp.perf_estimated[pw, po],
            "unit": np.array([RATE_UNITS[k] for k in inp.kind])[pw],
        },
        {"perf": "demand units per instance"},
    )
    return {"workloads": workloads, "offers": offers, "markets": markets, "perf": perf}


def _cap_basis(inp) -> dict[str, np.ndarray]:
    """Where each offer's on-demand and spot ceilings come from (see ``PlanInputs.cap_basis``)."""
    basis = inp.cap_basis
    if basis is None:
        basis = np.full((len(inp.offers), 2), "", dtype=object)
    return {"ondemand_cap_basis": basis[:, 0], "spot_cap_basis": basis[:, 1]}


def _offer_cols(pm: PlanningModel, o: np.ndarray) -> dict[str, np.ndarray]:
    off = pm.inputs.offers
    return {
        "provider": off["provider"].to_numpy()[o],
        "region": off["region"].to_numpy()[o],
        "instance_type": off["instance_type"].to_numpy()[o],
        "accelerator": off["accelerator"].to_numpy()[o],
    }


def commitments(pm: PlanningModel, sol: Solution) -> pd.DataFrame:
    """New reservations to sign: one row per (offer, term, start) with instances > 0."""
    inp = pm.inputs
    fam = pm.lm.cols["reserve"]
    v = col_values(pm, sol, "reserve")
    sel = np.flatnonzero(v > EPS)
    o, k, s = (fam.index[key][sel] for key in ("offer", "term", "start"))
    years = np.array(inp.terms_years)[k] if len(k) else np.zeros(0, dtype=int)
    price = inp.reserved_price[o, k, s]
    special = k == inp.special_term
    # year terms: the price in force at the start × the whole term; builds: their capex;
    # provisioned throughput: its list price × the whole term (docs/routes.md)
    whole = np.where(special, inp.term_value[o, k], price * years * 8760.0)
    cov = pm_coverage(pm)
    in_h = np.bincount(cov["owner"], weights=cov["usd"], minlength=fam.size)[sel] * v[sel]
    first = s + inp.lead[o]
    covered = np.minimum(inp.term_len[o, k], inp.tl.periods - first)
    kind = np.where(special, np.where(inp.route[o] == OWNED, "build", "provisioned"), "reserved")
    starts = np.array(inp.tl.starts[:-1])
    ends = _column_ends(pm, fam.index["offer"].size)
    per = {key: ends[key][sel] * v[sel] for key in ENDS_COLUMNS}
    return frame(
        {
            **_offer_cols(pm, o),
            "term_years": years,
            "commitment": kind.astype(str),
            "start": np.array(inp.tl.labels)[s] if len(s) else np.zeros(0, dtype=str),
            "start_index": s,
            "start_date": starts[s] if len(s) else np.zeros(0),
            "first_period_index": first,
            "periods_covered": covered,
            "instances": v[sel],
            "gpus": v[sel] * inp.gpus[o],
            "usd_per_hour": price,
            "contract_value_usd": v[sel] * whole,
            "in_horizon_usd": in_h,
            "in_horizon_usd_discounted": per["in_usd_discounted"],
            "post_horizon_periods": ends["post_periods"][sel],
            "post_horizon_usd": np.clip(per["post_usd"], 0.0, None),
            "post_horizon_usd_discounted": np.clip(per["post_usd_discounted"], 0.0, None),
            "salvage_usd_discounted": per["salvage_usd_discounted"],
            "post_horizon_charged_usd_discounted": per["charge_usd_discounted"],
        },
        {
            "in_horizon_usd_discounted": "USD inside the horizon (present value)",
            "post_horizon_periods": "periods of the term after the horizon's end",
            "post_horizon_usd": "USD owed after the horizon (a build: capex not yet annualised)",
            "post_horizon_usd_discounted": "USD owed after the horizon (present value)",
            "salvage_usd_discounted": "USD recovered after the horizon (present value; salvage)",
            "post_horizon_charged_usd_discounted": (
                "USD of the post-horizon cost the plan was charged (present value; end_effects)"
            ),
            "instances": "instances",
            "gpus": "GPUs",
            "usd_per_hour": "USD per instance-hour",
            "contract_value_usd": "USD over the whole term (a build: its capex)",
            "in_horizon_usd": "USD inside the horizon",
            "first_period_index": "first period served (start + lead time)",
            "periods_covered": "periods served inside the horizon",
        },
    ).pipe(  # full keys: (offer, term, start) is unique, so ties cannot reorder rows
        sort_on_keys,
        ["start_date", "contract_value_usd", *OFFER_KEYS, "term_years", "commitment"],
        [True, False, True, True, True, True, True],
        {"contract_value_usd": 2},
    )


#: per-column arrays of :func:`hyperplan.plan.ends.commitment_ends` scaled by instances signed
ENDS_COLUMNS = (
    "in_usd_discounted",
    "post_usd",
    "post_usd_discounted",
    "salvage_usd_discounted",
    "charge_usd_discounted",
)


def _column_ends(pm: PlanningModel, n: int) -> dict[str, np.ndarray]:
    """The model's end-of-horizon arrays per ``reserve`` column (zeros if it has none)."""
    if pm.ends is not None:
        return pm.ends
    return {key: np.zeros(n) for key in (*ENDS_COLUMNS, "post_periods")}


def liability(commitments: pd.DataFrame, providers: list[str]) -> pd.DataFrame:
    """New commitments' cost inside and after the horizon, per provider (USD).

    One row per provider in ``providers`` that signs something; ``in_horizon_*`` is what its
    commitments cost inside the horizon, ``post_horizon_*`` what they still cost after its end
    (nominal and present value), ``salvage_usd_discounted`` the value recovered from that tail
    (``end_effects: salvage``) and ``charged_usd_discounted`` the part of the tail the plan was
    charged for (all of it under ``full``, none under ``prorate``).
    """
    cols = {
        "in_horizon_usd": "in_horizon_usd",
        "in_horizon_usd_discounted": "in_horizon_usd_discounted",
        "post_horizon_usd": "post_horizon_usd",
        "post_horizon_usd_discounted": "post_horizon_usd_discounted",
        "salvage_usd_discounted": "salvage_usd_discounted",
        "charged_usd_discounted": "post_horizon_charged_usd_discounted",
    }
    units = {
        "in_horizon_usd": "USD (nominal)",
        "in_horizon_usd_discounted": "USD (present value)",
        "post_horizon_usd": "USD (nominal)",
        "post_horizon_usd_discounted": "USD (present value)",
        "salvage_usd_discounted": "USD (present value)",
        "charged_usd_discounted": "USD (present value)",
    }
    if not len(commitments):
        return frame({"provider": [], "commitments": [], **{c: [] for c in cols}}, units)
    grouped = commitments.groupby("provider")
    out = grouped[list(cols.values())].sum().rename(columns={v: k for k, v in cols.items()})
    out.insert(0, "commitments", grouped.size())
    rank = {p: i for i, p in enumerate(providers)}
    out = out.reset_index()
    out = out.assign(_r=out["provider"].map(rank).fillna(len(rank)))
    out = out.sort_values(["_r", "provider"], ignore_index=True).drop(columns="_r")
    out.attrs["units"] = units
    return out


def capacity(pm: PlanningModel, sol: Solution) -> pd.DataFrame:
    """Capacity per offer and period in the base plan: reserved, on-demand, spot, GPUs, MW."""
    inp = pm.inputs
    O, T = len(inp.offers), inp.tl.periods
    reserved = np.zeros((O, T))
    fam = pm.lm.cols["capacity"]
    reserved[fam.index["offer"], fam.index["period"]] = col_values(pm, sol, "capacity")
    market = np.zeros((O, 3, T))
    use = base_market_use(pm, sol)
    np.add.at(market, (use["offer"], use["market"], use["period"]), use["value"])
    total = reserved + market[:, ONDEMAND] + market[:, SPOT]
    o, t = np.nonzero(total > EPS)
    return frame(
        {
            **_offer_cols(pm, o),
            "period": np.array(inp.tl.labels)[t] if len(t) else np.zeros(0, dtype=str),
            "period_index": t,
            "reserved_instances": reserved[o, t],
            "ondemand_instances": market[o, ONDEMAND, t],
            "spot_instances": market[o, SPOT, t],
            "gpus": total[o, t] * inp.gpus[o],
            "mw": total[o, t] * inp.kw[o] / 1000.0,
        },
        {"gpus": "GPUs", "mw": "MW (facility)", "reserved_instances": "instances"},
    )


def allocation(pm: PlanningModel, sol: Solution) -> pd.DataFrame:
    """Which workload runs where in the base plan, by market and period."""
    inp = pm.inputs
    use = base_market_use(pm, sol)
    w, o, m, t, v = use["workload"], use["offer"], use["market"], use["period"], use["value"]
    return frame(
        {
            "workload": np.array(inp.workload_names)[w] if len(w) else np.zeros(0, dtype=str),
            "kind": inp.kind[w],
            **_offer_cols(pm, o),
            "market": np.array(MARKETS)[m] if len(m) else np.zeros(0, dtype=str),
            "period": np.array(inp.tl.labels)[t] if len(t) else np.zeros(0, dtype=str),
            "period_index": t,
            "instances": v,
            "gpus": v * inp.gpus[o],
            "served": v * inp.perf[w, o],
            "unit": np.array([RATE_UNITS[k] for k in inp.kind[w]])
            if len(w)
            else np.zeros(0, dtype=str),
        },
        {
            "instances": "instances",
            "gpus": "GPUs",
            "served": "demand units at a time (see unit; × period hours = unit-hours)",
        },
    )


def spend(pm: PlanningModel, sol: Solution) -> pd.DataFrame:
    """Spend per provider × market × period (base plan), nominal and discounted USD."""
    inp = pm.inputs
    P, T = len(inp.providers), inp.tl.periods
    out = np.zeros((P, 5, T))  # reserved, ondemand, spot, existing, shortfall
    s = pm.spend
    col_market = np.full(pm.lm.n_cols, RESERVED)
    afam = pm.lm.cols["allocate"]
    col_market[afam.slice] = afam.index["market"]
    np.add.at(out, (s.p, col_market[s.col], s.t), s.amount * sol.col_value[s.col] / MUSD)
    out[:, 3] = pm.existing_spend / MUSD
    if "shortfall" in pm.lm.cols:
        f = pm.lm.cols["shortfall"]
        c = f.index["contract"]
        end = np.maximum(inp.contract_end_period[c], 0)
        np.add.at(out, (inp.contract_provider[c], 4, end), col_values(pm, sol, "shortfall") / MUSD)
    p, m, t = np.nonzero(out > EPS)
    usd = out[p, m, t]
    return frame(
        {
            "provider": np.array(inp.providers)[p] if len(p) else np.zeros(0, dtype=str),
            "market": np.array([*MARKETS, "existing", "shortfall"])[m]
            if len(m)
            else np.zeros(0, dtype=str),
            "period": np.array(inp.tl.labels)[t] if len(t) else np.zeros(0, dtype=str),
            "period_index": t,
            "year": inp.tl.calendar_year[t],
            "usd": usd,
            "usd_discounted": usd * inp.tl.discount[t],
        },
        {"usd": "USD (nominal)", "usd_discounted": "USD (present value)"},
    )


def _served(pm: PlanningModel, sol: Solution) -> tuple[np.ndarray, np.ndarray]:
    """Served and required demand per (workload, period, scenario)."""
    inp = pm.inputs
    fam = pm.lm.rows.get("demand")
    W, T, S = len(inp.workload_names), inp.tl.periods, len(inp.scenario_names)
    served = np.zeros((W, T, S))
    required = np.zeros((W, T, S))
    if fam is None:
        return served, required
    w, t, s = fam.index["workload"], fam.index["period"], fam.index["scenario"]
    u = col_values(pm, sol, "unserved")
    required[w, t, s] = pm.lm.arrays()["row_lo"][fam.slice]
    served[w, t, s] = required[w, t, s] - u
    return served, required


def resilience(pm: PlanningModel, sol: Solution) -> pd.DataFrame:
    """Served fraction of each workload's full demand in each scenario (worst period)."""
    inp = pm.inputs
    served, required = _served(pm, sol)
    demand = inp.demand[:, :, None]
    has = required > EPS
    frac = np.where(has, served / np.where(demand > 0, demand, 1.0), np.nan)
    level = np.where(has, required / np.where(demand > 0, demand, 1.0), np.nan)
    w, s = np.nonzero(has.any(axis=1))
    worst = np.where(has, frac, np.inf).min(axis=1)[w, s]
    need = np.where(has, level, -np.inf).max(axis=1)[w, s]
    return frame(
        {
            "workload": np.array(inp.workload_names)[w] if len(w) else np.zeros(0, dtype=str),
            "scenario": np.array(inp.scenario_names)[s] if len(s) else np.zeros(0, dtype=str),
            "required_fraction": need,
            "served_fraction": worst,
            "met": worst >= need - 1e-6,
        },
        {
            "required_fraction": "share of demand",
            "served_fraction": "share of demand, worst period",
        },
    )


def unserved(pm: PlanningModel, sol: Solution) -> pd.DataFrame:
    """Demand the plan cannot serve, per workload, scenario and period (and training runs)."""
    inp = pm.inputs
    rows: dict[str, list] = {k: [] for k in ("workload", "scenario", "period", "amount", "unit")}
    if "unserved" in pm.lm.cols:
        fam = pm.lm.cols["unserved"]
        u = col_values(pm, sol, "unserved")
        sel = np.flatnonzero(u > EPS * np.maximum(1.0, pm.lm.arrays()["ub"][fam.slice]))
        w, t, s = (fam.index[k][sel] for k in ("workload", "period", "scenario"))
        rows["workload"] += list(np.array(inp.workload_names)[w])
        rows["scenario"] += list(np.array(inp.scenario_names)[s])
        rows["period"] += list(np.array(inp.tl.labels)[t])
        rows["amount"] += list(u[sel])
        rows["unit"] += [DEMAND_UNITS[k] for k in inp.kind[w]]
    if "unserved-training" in pm.lm.cols:
        fam = pm.lm.cols["unserved-training"]
        u = col_values(pm, sol, "unserved-training")
        sel = np.flatnonzero(u > EPS * np.maximum(1.0, inp.compute[fam.index["workload"]]))
        for i in sel:
            rows["workload"].append(inp.workload_names[fam.index["workload"][i]])
            rows["scenario"].append("base")
            rows["period"].append("whole window")
            rows["amount"].append(float(u[i]))
            rows["unit"].append(DEMAND_UNITS["training"])
    return frame(rows, {"amount": "demand units (see unit)"})


def shadow_prices(pm: PlanningModel, sol: Solution) -> pd.DataFrame:
    """Marginal cost of one more unit of demand, from the demand-row duals.

    One more unit of demand D[w,t] raises the right-hand side of every scenario's demand row
    by that scenario's level (1 in the base, the resilience level under an outage), so the
    marginal cost is Σ_s level_s · dual(w,t,s). ``usd_per_unit_hour`` divides it by the
    period's hours and discount factor: USD per hour for one more token/s, vCPU or reference
    GPU. Inference also in USD per million tokens. Training: present-value USD per extra
    reference GPU-hour of the run.
    """
    inp = pm.inputs
    out: dict[str, list] = {
        k: [] for k in ("workload", "period", "usd_per_unit_hour", "unit", "usd_per_million_tokens")
    }
    fam = pm.lm.rows.get("demand")
    if fam is not None:
        w_all, t_all = fam.index["workload"], fam.index["period"]
        level = pm.lm.arrays()["row_lo"][fam.slice] / inp.demand[w_all, t_all]
        marginal = sol.row_dual[fam.slice] * level / MUSD
        key, first = group_ids(w_all, t_all)
        total = np.bincount(key, weights=marginal, minlength=len(first))
        w, t = w_all[first], t_all[first]
        per_hour = total / (inp.tl.hours[t] * inp.tl.discount[t])
        out["workload"] += list(np.array(inp.workload_names)[w])
        out["period"] += list(np.array(inp.tl.labels)[t])
        out["usd_per_unit_hour"] += list(per_hour)
        out["unit"] += [DEMAND_UNITS[k] for k in inp.kind[w]]
        out["usd_per_million_tokens"] += list(
            np.where(inp.kind[w] == "inference", per_hour / 3600 * 1e6, np.nan)
        )
    fam = pm.lm.rows.get("training-compute")
    if fam is not None:
        w = fam.index["workload"]
        out["workload"] += list(np.array(inp.workload_names)[w])
        out["period"] += ["whole window"] * len(w)
        out["usd_per_unit_hour"] += list(sol.row_dual[fam.slice] / MUSD)
        out["unit"] += ["reference GPU-hours (present value)"] * len(w)
        out["usd_per_million_tokens"] += [np.nan] * len(w)
    return frame(
        out,
        {"usd_per_unit_hour": "USD per unit-hour", "usd_per_million_tokens": "USD per 1M tokens"},
    )


def _policy_cost(
    pm: PlanningModel, sol: Solution, family: str, skip: tuple[str, ...]
) -> np.ndarray:
    """Objective cost of one more unit in each column of ``family`` through the rows not in
    ``skip``: −Σ_r A[r, col]·dual_r (HiGHS duals: c − Aᵀy = reduced cost)."""
    fam = pm.lm.cols.get(family)
    if fam is None:
        return np.zeros(0)
    y = sol.row_dual.copy()
    for name in skip:
        rows = pm.lm.rows.get(name)
        if rows is not None:
            y[rows.slice] = 0.0
    A = pm.lm.matrix()[:, fam.slice]
    return -(A.T @ y)


def entry_prices(pm: PlanningModel, sol: Solution) -> pd.DataFrame:
    """For each (offer, term) not signed in the plan: the price at which it would enter.

    A reservation's value is what one more reserved instance saves in each covered period:
    the best demand dual it could serve (perf × dual, summed over the scenarios in which the
    offer is up), less what it costs through power and GPU-share rows. Its cost is its
    objective coefficient plus what its spend costs through share, budget and take-or-pay
    rows; both cost terms scale with its price, so the break-even price is
    ``price × value / cost``, taken at the best start period. Reading the demand duals rather
    than the reservation's own reduced cost keeps the answer right when the unused column sits
    in a degenerate basis at zero (the usual case).
    """
    inp = pm.inputs
    O, T = len(inp.offers), inp.tl.periods
    rfam = pm.lm.cols["reserve"]
    v = col_values(pm, sol, "reserve")
    o, k, s = rfam.index["offer"], rfam.index["term"], rfam.index["start"]
    # value of one reserved instance of o in period t (summed over scenarios)
    value_ots = np.zeros((O, T))
    afam = pm.lm.cols["allocate"]
    aw, ao, am, at, as_ = (
        afam.index[key] for key in ("workload", "offer", "market", "period", "scenario")
    )
    res = am == RESERVED
    unit_value = np.zeros(afam.size)
    dfam = pm.lm.rows.get("demand")
    if dfam is not None:
        S = len(inp.scenario_names)
        row_of = np.full((len(inp.workload_names), T, S), -1, dtype=np.int64)
        row_of[dfam.index["workload"], dfam.index["period"], dfam.index["scenario"]] = np.arange(
            dfam.size
        )
        r = row_of[aw, at, as_]
        ok = r >= 0
        unit_value[ok] = inp.perf[aw[ok], ao[ok]] * sol.row_dual[dfam.start + r[ok]]
    tfam = pm.lm.rows.get("training-compute")
    if tfam is not None:
        pos = np.full(len(inp.workload_names), -1, dtype=np.int64)
        pos[tfam.index["workload"]] = np.arange(tfam.size)
        r = pos[aw]
        ok = (r >= 0) & (as_ == 0)
        unit_value[ok] = (
            inp.perf[aw[ok], ao[ok]] * inp.tl.hours[at[ok]] * sol.row_dual[tfam.start + r[ok]]
        )
    sel = np.flatnonzero(res)
    if sel.size:
        key, first = group_ids(ao[sel], at[sel], as_[sel])
        best = np.full(len(first), -np.inf)
        np.maximum.at(best, key, unit_value[sel])
        np.add.at(value_ots, (ao[sel][first], at[sel][first]), np.clip(best, 0.0, None))
    # power and GPU-share rows charge the capacity column R[o,t]
    cfam = pm.lm.cols["capacity"]
    cap_cost = _policy_cost(pm, sol, "capacity", ("reserved-balance", "pool-reserved"))
    gpu_cost = _policy_cost(pm, sol, "gpus", ("gpus-balance",))
    value_ot = value_ots
    value_ot[cfam.index["offer"], cfam.index["period"]] -= cap_cost
    if gpu_cost.size:
        g = pm.lm.cols["gpus"]
        per_gpu = np.zeros((len(inp.providers), T))
        per_gpu[g.index["provider"], g.index["period"]] = gpu_cost
        value_ot -= inp.gpus[:, None] * per_gpu[inp.offer_provider]
    # spend of a reservation costs through share, budget and take-or-pay rows
    spend_cost = _policy_cost(pm, sol, "spend", ("spend-balance",))
    per_musd = np.zeros((len(inp.providers), T))
    if spend_cost.size:
        sfam = pm.lm.cols["spend"]
        per_musd[sfam.index["provider"], sfam.index["period"]] = spend_cost
    cov = pm_coverage(pm)
    owner, t_cov = cov["owner"], cov["t"]
    value = np.bincount(owner, weights=value_ot[o[owner], t_cov], minlength=rfam.size)
    extra = np.bincount(
        owner,
        weights=cov["usd"] * MUSD * per_musd[inp.offer_provider[o[owner]], t_cov],
        minlength=rfam.size,
    )
    cost = pm.lm.arrays()["cost"][rfam.slice] + extra
    if pm.ends is not None:  # the tie-break is no part of what a commitment costs
        cost = cost - pm.ends["tiebreak_usd"] * MUSD
    ratio = np.where(cost > 0, value / np.where(cost > 0, cost, 1.0), 0.0)
    K = len(inp.terms_years)
    pair = o * K + k
    used = np.zeros(O * K, dtype=bool)
    used[pair[v > EPS]] = True
    order = np.lexsort((-ratio, pair))
    pair_sorted = pair[order]
    first = order[np.r_[True, pair_sorted[1:] != pair_sorted[:-1]]] if len(order) else order
    first = first[~used[pair[first]]]
    oo, kk, ss = o[first], k[first], s[first]
    price = inp.reserved_price[oo, kk, ss]
    keep = np.clip(ratio[first], 0.0, 1.0)
    return frame(
        {
            **_offer_cols(pm, oo),
            "term_years": np.array(inp.terms_years)[kk] if len(kk) else np.zeros(0, dtype=int),
            "commitment": np.where(
                kk == inp.special_term,
                np.where(inp.route[oo] == OWNED, "build", "provisioned"),
                "reserved",
            ).astype(str),
            "usd_per_hour": price,
            "entry_usd_per_hour": price * keep,
            "cut_fraction": 1.0 - keep,
            "best_start": np.array(inp.tl.labels)[ss] if len(ss) else np.zeros(0, dtype=str),
        },
        {"usd_per_hour": "USD per instance-hour", "entry_usd_per_hour": "USD per instance-hour"},
    ).pipe(  # full keys: equal cut fractions keep one order on every pandas and HiGHS version
        sort_on_keys,
        ["cut_fraction", *OFFER_KEYS, "term_years", "commitment"],
        [True] * 6,
        {"cut_fraction": 9},
    )


POLICY_FAMILIES = (
    "share",
    "power-site",
    "power-total",
    "budget",
    "take-or-pay",
    "supply",
    "pool-market",
    "training-instances",
)


def policies(pm: PlanningModel, sol: Solution) -> pd.DataFrame:
    """Binding policy rows and their marginal cost (the objective change per unit of limit).

    Every binding row of every scenario: ``scenario`` is ``base`` for the rows of the base plan
    (and for rows without a scenario, such as supply ramps or take-or-pay) and names the outage
    for a limit that binds under it (e.g. an on-demand ceiling of a surviving provider).
    """
    keys = ("policy", "subject", "period", "scenario", "marginal_usd", "per")
    rows: dict[str, list] = {k: [] for k in keys}
    names = np.array(pm.inputs.scenario_names)
    for name in POLICY_FAMILIES:
        fam = pm.lm.rows.get(name)
        if fam is None:
            continue
        dual = sol.row_dual[fam.slice]
        sel = np.flatnonzero(np.abs(dual) > 1e-9)
        scen = fam.index.get("scenario")
        rows["scenario"] += list(names[scen[sel]]) if scen is not None else ["base"] * len(sel)
        for i in sel:
            subject, period, per, scale = _describe(pm, name, fam.index, i)
            rows["policy"].append(name)
            rows["subject"].append(subject)
            rows["period"].append(period)
            rows["marginal_usd"].append(float(abs(dual[i]) * scale))
            rows["per"].append(per)
    df = frame(rows, {"marginal_usd": "USD (present value) per unit in 'per'"})
    return sort_on_keys(
        df,
        ["marginal_usd", "policy", "subject", "period", "scenario", "per"],
        [False, True, True, True, True, True],
        {"marginal_usd": 6},
    )


def _describe(
    pm: PlanningModel, name: str, index: dict[str, np.ndarray], i: int
) -> tuple[str, str, str, float]:
    inp = pm.inputs
    labels = inp.tl.labels
    if name == "share":
        p, t = index["provider"][i], index["period"][i]
        # spend rows are in MUSD (dual: USD per USD); GPU rows in GPUs (dual: MUSD per GPU)
        if inp.share_by == "gpus":
            return inp.providers[p], labels[t], "GPU", 1 / MUSD
        return inp.providers[p], labels[t], "USD of spend allowed", 1.0
    if name == "power-site":
        return inp.sites[index["site"][i]], labels[index["period"][i]], "MW", 1 / MUSD
    if name == "power-total":
        return "all sites", labels[index["period"][i]], "MW", 1 / MUSD
    if name == "budget":
        return "spend", str(index["year"][i]), "USD of budget", 1.0
    if name == "take-or-pay":
        return inp.contract_names[index["contract"][i]], "contract window", "USD committed", 1.0
    if name in ("supply", "pool-market"):
        o = index["offer"][i]
        what = "new reserved" if name == "supply" else MARKETS[index["market"][i]]
        return f"{inp.offers.index[o]} ({what})", labels[index["period"][i]], "instance", 1 / MUSD
    w = index["workload"][i]
    return inp.workload_names[w], labels[index["period"][i]], "instance", 1 / MUSD
