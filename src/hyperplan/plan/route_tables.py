"""Result tables of the build / rent / managed question (``docs/routes.md``).

Added to a plan's tables when the scenario has owned sites or managed platforms:

* ``routes``: per workload and period, what each route (rented, owned, managed) serves, its share
  of the workload's served demand, and what it costs (USD, USD per GPU-hour, USD per million
  tokens); reserved and owned capacity is charged at its average cost per active instance-hour,
  and capacity no workload uses shows as workload ``(idle)``, so the ``usd`` column adds up to
  the plan's spend (take-or-pay shortfalls aside);
* ``owned_builds``: every build decision: servers, GPUs, MW, first power, capex;
* ``owned_capex``: capex per site and calendar year (facility in the decision's year, hardware in
  the year of first power);
* ``break_even``: per owned site and per (managed platform, workload), the closed-form
  comparison with the cheapest alternative (break-even utilisation, break-even prices) and the
  planner's own figures (entry price of an unbuilt site, marginal cost of a token).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hyperplan.catalog.market_caps import ONDEMAND, RESERVED
from hyperplan.plan.build import PlanningModel
from hyperplan.plan.inputs import RATE_UNITS
from hyperplan.plan.readout import EPS, base_market_use, col_values, frame, pm_coverage
from hyperplan.plan.routes import MANAGED, OWNED, RENTED, ROUTES
from hyperplan.plan.solve import Solution

TOKENS = 3600.0 / 1e6  # million tokens in one hour at 1 token/s


def route_tables(
    pm: PlanningModel, sol: Solution, out: dict[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """The route tables of a solved plan (none when the scenario has no owned or managed offer).

    ``out`` holds the tables already computed (commitments, entry_prices, shadow_prices).
    """
    inp = pm.inputs
    if not (inp.route != RENTED).any():
        return {}
    use = _reserved_use(pm, sol)
    builds = owned_builds(pm, out["commitments"])
    return {
        "routes": routes(pm, sol, use),
        "owned_builds": builds,
        "owned_capex": owned_capex(builds),
        "break_even": break_even(pm, sol, out, use),
    }


def _reserved_use(pm: PlanningModel, sol: Solution) -> dict[str, np.ndarray]:
    """Reserved capacity R[o,t], its USD in each period, the average USD per active
    instance-hour, and the instances workloads use (base plan)."""
    inp = pm.inputs
    O, T = len(inp.offers), inp.tl.periods
    hours = inp.tl.hours
    capacity = np.zeros((O, T))
    fam = pm.lm.cols["capacity"]
    capacity[fam.index["offer"], fam.index["period"]] = col_values(pm, sol, "capacity")
    usd = inp.existing_cost * hours[None, :]
    cov = pm_coverage(pm)
    v = col_values(pm, sol, "reserve")
    o_of = pm.lm.cols["reserve"].index["offer"]
    np.add.at(usd, (o_of[cov["owner"]], cov["t"]), cov["usd"] * v[cov["owner"]])
    active = capacity > EPS
    unit = np.zeros((O, T))
    np.divide(usd, capacity * hours[None, :], out=unit, where=active)
    used = np.zeros((O, T))
    base = base_market_use(pm, sol)
    res = base["market"] == RESERVED
    np.add.at(used, (base["offer"][res], base["period"][res]), base["value"][res])
    return {"capacity": capacity, "usd": usd, "unit": unit, "used": used, "base": base}


def routes(pm: PlanningModel, sol: Solution, use: dict[str, np.ndarray]) -> pd.DataFrame:
    """Served demand, share and cost of each route per workload and period (base plan)."""
    inp = pm.inputs
    T = inp.tl.periods
    hours = inp.tl.hours
    base = use["base"]
    w, o, m, t, v = (base[k] for k in ("workload", "offer", "market", "period", "value"))
    usd = np.where(m == RESERVED, v * use["unit"][o, t], v * inp.price[o, m, t]) * hours[t]
    r = inp.route[o]
    W, R = len(inp.workload_names), len(ROUTES)
    shape = (W + 1, T, R)  # workload W = (idle)
    served = np.zeros(shape)
    inst = np.zeros(shape)
    gpus = np.zeros(shape)
    cost = np.zeros(shape)
    np.add.at(served, (w, t, r), v * inp.perf[w, o])
    np.add.at(inst, (w, t, r), v)
    np.add.at(gpus, (w, t, r), v * inp.gpus[o])
    np.add.at(cost, (w, t, r), usd)
    idle = np.clip(use["capacity"] - use["used"], 0.0, None)
    io, it = np.nonzero(idle > EPS)
    ir = inp.route[io]
    np.add.at(inst, (W, it, ir), idle[io, it])
    np.add.at(gpus, (W, it, ir), idle[io, it] * inp.gpus[io])
    np.add.at(cost, (W, it, ir), idle[io, it] * use["unit"][io, it] * hours[it])
    ww, tt, rr = np.nonzero((inst > EPS) | (served > EPS) | (cost > EPS))
    total = served.sum(axis=2)
    names = np.array([*inp.workload_names, "(idle)"], dtype=object)
    kinds = np.array([*inp.kind, ""], dtype=object)
    is_idle = ww == W
    share = np.full(len(ww), np.nan)
    ok = ~is_idle & (total[ww, tt] > 0)
    share[ok] = served[ww, tt, rr][ok] / total[ww, tt][ok]
    gpu_hours = gpus[ww, tt, rr] * hours[tt]
    per_gpu = np.full(len(ww), np.nan)
    np.divide(cost[ww, tt, rr], gpu_hours, out=per_gpu, where=gpu_hours > EPS)
    tokens = served[ww, tt, rr] * hours[tt] * TOKENS  # million tokens (inference rows)
    per_mtok = np.full(len(ww), np.nan)
    np.divide(
        cost[ww, tt, rr], tokens, out=per_mtok, where=(kinds[ww] == "inference") & (tokens > EPS)
    )
    units = np.array([*(RATE_UNITS[k] for k in inp.kind), ""], dtype=object)
    df = frame(
        {
            "workload": names[ww].astype(str),
            "kind": kinds[ww].astype(str),
            "route": np.array(ROUTES, dtype=object)[rr].astype(str),
            "period": np.array(inp.tl.labels, dtype=object)[tt].astype(str),
            "period_index": tt,
            "served": served[ww, tt, rr],
            "share": share,
            "instances": inst[ww, tt, rr],
            "gpus": gpus[ww, tt, rr],
            "usd": cost[ww, tt, rr],
            "usd_per_gpu_hour": per_gpu,
            "usd_per_million_tokens": per_mtok,
            "unit": units[ww].astype(str),
        },
        {
            "served": "demand units (see unit)",
            "share": "share of the workload's served demand",
            "instances": "instances (managed: output tokens/s)",
            "gpus": "GPUs",
            "usd": "USD (nominal)",
            "usd_per_gpu_hour": "USD per GPU-hour",
            "usd_per_million_tokens": "USD per million output tokens",
        },
    )
    return df.sort_values(["workload", "period_index", "route"], ignore_index=True)


def owned_builds(pm: PlanningModel, commitments: pd.DataFrame) -> pd.DataFrame:
    """One row per build decision of an owned site: servers, first power, capex."""
    inp = pm.inputs
    owned = inp.routes.owned
    com = (
        commitments[commitments["provider"].str.startswith("owned:")]
        if len(commitments)
        else commitments
    )
    rows: dict[str, list] = {
        k: []
        for k in (
            "site",
            "offer_id",
            "decision",
            "decision_index",
            "first_power",
            "first_power_index",
            "servers",
            "gpus",
            "mw",
            "facility_capex_usd",
            "hardware_capex_usd",
            "capex_usd",
            "fixed_usd_per_year",
            "in_horizon_usd",
            "facility_capex_year",
            "hardware_capex_year",
        )
    }
    labels = inp.tl.labels
    for _, c in com.iterrows():
        oid = f"{c['provider']}:{c['region']}:{c['instance_type']}"
        cost = owned[oid]
        n = float(c["instances"])
        s, first = int(c["start_index"]), int(c["first_period_index"])
        rows["site"].append(str(c["provider"]))
        rows["offer_id"].append(oid)
        rows["decision"].append(labels[s])
        rows["decision_index"].append(s)
        rows["first_power"].append(labels[first])
        rows["first_power_index"].append(first)
        rows["servers"].append(n)
        rows["gpus"].append(n * cost.gpus)
        rows["mw"].append(n * cost.mw_per_server)
        rows["facility_capex_usd"].append(n * cost.facility_capex)
        rows["hardware_capex_usd"].append(n * cost.hardware_capex)
        rows["capex_usd"].append(n * cost.capex)
        rows["fixed_usd_per_year"].append(n * cost.fixed_per_year)
        rows["in_horizon_usd"].append(float(c["in_horizon_usd"]))
        rows["facility_capex_year"].append(int(inp.tl.calendar_year[s]))
        rows["hardware_capex_year"].append(int(inp.tl.calendar_year[first]))
    return frame(
        rows,
        {
            "servers": "servers",
            "gpus": "GPUs",
            "mw": "MW (facility, IT × PUE)",
            "capex_usd": "USD",
            "fixed_usd_per_year": "USD per year (annualised capex + fixed O&M)",
            "in_horizon_usd": "USD charged inside the horizon",
        },
    )


def owned_capex(builds: pd.DataFrame) -> pd.DataFrame:
    """Capex per site and calendar year: facility in the decision's year, hardware at first
    power."""
    parts = [
        pd.DataFrame(
            {
                "site": builds["site"],
                "year": builds[f"{what}_capex_year"],
                f"{what}_usd": builds[f"{what}_capex_usd"],
            }
        )
        for what in ("facility", "hardware")
    ]
    long = pd.concat(parts, ignore_index=True).fillna(0.0)
    if not len(long):
        df = pd.DataFrame(
            {
                "site": pd.Series(dtype=str),
                "year": pd.Series(dtype=int),
                "facility_usd": pd.Series(dtype=float),
                "hardware_usd": pd.Series(dtype=float),
            }
        )
    else:
        df = long.groupby(["site", "year"], as_index=False)[["facility_usd", "hardware_usd"]].sum()
    df["capex_usd"] = df["facility_usd"] + df["hardware_usd"]
    df.attrs["units"] = {"facility_usd": "USD", "hardware_usd": "USD", "capex_usd": "USD"}
    return df


def _cheapest_ondemand(pm: PlanningModel) -> np.ndarray:
    """(O,) lowest on-demand USD per instance-hour over the periods it is sold (NaN: never)."""
    inp = pm.inputs
    sold = (inp.market_cap[:, ONDEMAND] > 0) & (inp.price[:, ONDEMAND] > 0)
    price = np.where(sold, inp.price[:, ONDEMAND], np.inf).min(axis=1)
    return np.where(np.isfinite(price), price, np.nan)


def break_even(
    pm: PlanningModel,
    sol: Solution,
    out: dict[str, pd.DataFrame],
    use: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Closed-form break-evens of each owned site and managed platform, with the plan's figures.

    Owned site (one row): a server costs ``c`` USD per hour whether busy or not, renting the
    cheapest on-demand offer of the same accelerator costs ``p`` per GPU-hour of use, so owning
    wins when utilisation exceeds ``c_gpu / p`` (``break_even_utilisation``); at the plan's own
    utilisation ``u`` renting would win below ``c_gpu / u`` per GPU-hour. A reserved term is
    paid busy or not too, so against it owning wins when ``c_gpu`` is below its price per
    GPU-hour (``reserved_usd_per_gpu_hour``). An unbuilt site shows the planner's entry price
    (per server-hour) and the hardware price per accelerator that would reach it.

    Managed platform (one row per workload it may serve): it costs ``k`` USD per million output
    tokens (``out + ratio × in``); the cheapest GPU route serves ``tps`` tokens/s for ``p`` USD per
    hour, i.e. ``p / (3600 × tps / 1e6)`` per million tokens, so the platform wins when ``k`` is
    below that, i.e. when the GPU price exceeds ``k × 3600 × tps / 1e6``
    (``break_even_usd_per_hour``). ``marginal_usd_per_million_tokens`` is the plan's highest
    marginal cost of the workload's tokens (demand dual): the platform is used where it costs
    less.
    """
    inp = pm.inputs
    hours = inp.tl.hours
    od = _cheapest_ondemand(pm)
    special = inp.special_term
    own_price = np.full(len(inp.offers), np.nan)  # special-term price (builds, provisioned)
    if special >= 0:
        slot = inp.reserved_price[:, special]
        has = np.isfinite(slot).any(axis=1)
        own_price[has] = np.nanmin(slot[has], axis=1)
    ids = inp.offers.index.to_numpy()
    acc = inp.offers["accelerator"].to_numpy()
    provider = inp.offers["provider"].to_numpy()
    rows: list[dict] = []
    entry = out.get("entry_prices")
    entry_of: dict[str, float] = {}
    if entry is not None and len(entry):
        for _, e in entry.iterrows():
            if int(e["term_years"]) == 0:
                entry_of[f"{e['provider']}:{e['region']}:{e['instance_type']}"] = float(
                    e["entry_usd_per_hour"]
                )
    rented = inp.route == RENTED
    year_terms = np.array([k for k in range(len(inp.terms_years)) if k != special], dtype=int)
    reserved_min = np.full(len(inp.offers), np.nan)  # cheapest year-term price per instance-hour
    if year_terms.size:
        prices = inp.reserved_price[:, year_terms].reshape(len(inp.offers), -1)
        has = np.isfinite(prices).any(axis=1)
        reserved_min[has] = np.nanmin(prices[has], axis=1)
    for o in np.flatnonzero(inp.route == OWNED):
        cost = inp.routes.owned[ids[o]]
        per_gpu = cost.usd_per_hour / cost.gpus
        peers = np.flatnonzero(rented & (acc == acc[o]) & np.isfinite(od) & (inp.gpus > 0))
        row = {
            "route": "owned",
            "offer_id": ids[o],
            "provider": provider[o],
            "workload": "",
            "accelerator": acc[o],
            "usd_per_hour": cost.usd_per_hour,
            "usd_per_gpu_hour": per_gpu,
            "capex_usd_per_server": cost.capex,
            "fixed_usd_per_server_year": cost.fixed_per_year,
            "electricity_usd_per_hour": cost.electricity_per_hour,
            "lead_periods": cost.lead_periods,
        }
        if peers.size:
            best = peers[np.argmin(od[peers] / inp.gpus[peers])]
            rent = od[best] / inp.gpus[best]
            row |= {
                "alternative_offer_id": ids[best],
                "alternative_usd_per_gpu_hour": rent,
                "break_even_utilisation": per_gpu / rent,
            }
        terms = np.flatnonzero(rented & (acc == acc[o]) & (inp.gpus > 0))
        if terms.size and year_terms.size:
            per = reserved_min[terms] / inp.gpus[terms]
            if np.isfinite(per).any():  # reserved runs flat out too: a plain price comparison
                row["reserved_usd_per_gpu_hour"] = float(np.nanmin(per))
        built = use["capacity"][o]
        row["built_servers"] = float(built.max(initial=0.0))
        busy = float((use["used"][o] * hours).sum())
        held = float((built * hours).sum())
        if held > EPS:
            u = busy / held
            row["utilisation"] = u
            if u > EPS:
                row["rent_wins_below_usd_per_gpu_hour"] = per_gpu / u
        if ids[o] in entry_of:
            price = entry_of[ids[o]]
            row["entry_usd_per_hour"] = price
            row["entry_hardware_usd_per_accelerator"] = cost.hardware_price_for(price)
        row["basis"] = cost.basis
        rows.append(row)

    marginal: dict[str, float] = {}
    shadow = out.get("shadow_prices")
    if shadow is not None and len(shadow):
        inf = shadow[np.isfinite(shadow["usd_per_million_tokens"].to_numpy(dtype=float))]
        marginal = inf.groupby("workload")["usd_per_million_tokens"].max().to_dict()
    base = use["base"]
    served = np.zeros((len(inp.workload_names), len(inp.offers)))
    np.add.at(
        served,
        (base["workload"], base["offer"]),
        base["value"] * inp.perf[base["workload"], base["offer"]] * hours[base["period"]],
    )
    need = (inp.demand * inp.window * hours[None, :]).sum(axis=1)
    gpu_price = np.where(inp.route == OWNED, own_price, np.where(rented, od, np.nan))
    for o in np.flatnonzero(inp.route == MANAGED):
        detail = inp.routes.managed[ids[o]]
        unit = od[o] if detail["kind"] == "on-demand" else own_price[o]
        for w in detail["users"]:
            if inp.perf[w, o] <= 0:
                continue
            k = unit / inp.perf[w, o] / TOKENS
            row = {
                "route": "managed",
                "offer_id": ids[o],
                "provider": provider[o],
                "workload": inp.workload_names[w],
                "accelerator": "",
                "usd_per_hour": unit,
                "usd_per_million_tokens": k,
                "input_tokens_per_output": inp.scenario.workloads[w].input_tokens_per_output,  # type: ignore[union-attr]
            }
            alt = np.flatnonzero(
                (inp.perf[w] > 0) & (inp.route != MANAGED) & np.isfinite(gpu_price)
            )
            if alt.size:
                per_mtok = gpu_price[alt] / inp.perf[w, alt] / TOKENS
                j = int(np.argmin(per_mtok))
                best = alt[j]
                row |= {
                    "alternative_offer_id": ids[best],
                    "alternative_usd_per_million_tokens": float(per_mtok[j]),
                    "break_even_usd_per_hour": k * TOKENS * inp.perf[w, best],
                }
            if need[w] > 0:
                row["served_share"] = float(served[w, o] / need[w])
            if inp.workload_names[w] in marginal:
                row["marginal_usd_per_million_tokens"] = marginal[inp.workload_names[w]]
            row["basis"] = detail["basis"]
            rows.append(row)
    columns = [
        "route",
        "offer_id",
        "provider",
        "workload",
        "accelerator",
        "usd_per_hour",
        "usd_per_gpu_hour",
        "usd_per_million_tokens",
        "input_tokens_per_output",
        "capex_usd_per_server",
        "fixed_usd_per_server_year",
        "electricity_usd_per_hour",
        "lead_periods",
        "alternative_offer_id",
        "alternative_usd_per_gpu_hour",
        "reserved_usd_per_gpu_hour",
        "alternative_usd_per_million_tokens",
        "break_even_utilisation",
        "break_even_usd_per_hour",
        "built_servers",
        "utilisation",
        "rent_wins_below_usd_per_gpu_hour",
        "entry_usd_per_hour",
        "entry_hardware_usd_per_accelerator",
        "served_share",
        "marginal_usd_per_million_tokens",
        "basis",
    ]
    df = pd.DataFrame(rows, columns=columns)
    for c in ("offer_id", "alternative_offer_id", "basis", "workload", "accelerator"):
        df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
    df.attrs["units"] = {
        "usd_per_hour": "USD per instance-hour (owned: server; managed: output token/s)",
        "usd_per_gpu_hour": "USD per GPU-hour",
        "usd_per_million_tokens": "USD per million output tokens",
        "capex_usd_per_server": "USD",
        "fixed_usd_per_server_year": "USD per server-year (annualised capex + fixed O&M)",
        "electricity_usd_per_hour": "USD per server-hour (flat out)",
        "lead_periods": "periods",
        "alternative_usd_per_gpu_hour": "USD per GPU-hour (on demand)",
        "reserved_usd_per_gpu_hour": "USD per GPU-hour (cheapest reserved term, same GPU)",
        "alternative_usd_per_million_tokens": "USD per million output tokens",
        "break_even_utilisation": "share of hours busy",
        "break_even_usd_per_hour": "USD per instance-hour of the alternative",
        "built_servers": "servers (peak)",
        "utilisation": "share of built server-hours used",
        "rent_wins_below_usd_per_gpu_hour": "USD per GPU-hour",
        "entry_usd_per_hour": "USD per server-hour",
        "entry_hardware_usd_per_accelerator": "USD per accelerator",
        "served_share": "share of the workload's demand over the horizon",
        "marginal_usd_per_million_tokens": "USD per million output tokens",
    }
    return df
