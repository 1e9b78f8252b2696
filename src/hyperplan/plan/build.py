"""Build the two-stage, security-constrained planning model from :class:`PlanInputs`.

One function per family (``define_*``), each vectorised over its index arrays. The formulation
is documented in ``docs/formulation.md``; names here match the names there.

Money inside the model is in millions of USD (``MUSD``) for numerical range; results convert back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from hyperplan.catalog.market_caps import ONDEMAND, RESERVED, SPOT
from hyperplan.plan.arrays import PlanInputs
from hyperplan.plan.ends import commitment_ends
from hyperplan.plan.model import LinearModel, expand_ranges, group_ids

__all__ = [
    "MUSD",
    "ONDEMAND",
    "RESERVED",
    "SPOT",
    "PlanningModel",
    "ScenarioBlock",
    "SpendEntries",
    "build",
    "build_master",
    "build_scenario",
    "scenario_inputs",
]

MUSD = 1e-6  # model money unit per USD


@dataclass
class SpendEntries:
    """Base-scenario spend as (column, period, provider, amount MUSD per unit of the column)."""

    col: np.ndarray
    t: np.ndarray
    p: np.ndarray
    amount: np.ndarray
    gpus: np.ndarray  # GPUs per unit of the column in that period (for share_by = gpus)


@dataclass
class PlanningModel:
    """The linear model plus what is needed to read its solution."""

    lm: LinearModel
    inputs: PlanInputs
    spend: SpendEntries
    gpu_entries: SpendEntries
    existing_spend: np.ndarray  # (P, T) MUSD of existing reservations
    #: per ``reserve`` column, USD per instance: in- and post-horizon cost, salvage, tie-break
    #: (:func:`hyperplan.plan.ends.commitment_ends`)
    ends: dict[str, np.ndarray] | None = None


def build(inp: PlanInputs, *, integer: bool = False, outages: bool = True) -> PlanningModel:
    """Build the planning model. ``integer`` makes reservations whole instances (MILP)."""
    lm = LinearModel()
    x = define_reservations(lm, inp, integer)
    define_reserved_balance(lm, inp, x)
    define_supply(lm, inp, x)
    z = define_allocations(lm, inp, x, outages)
    define_pools(lm, inp, x, z)
    define_demand(lm, inp, z)
    define_outage_not_better(lm, inp, z)
    define_training(lm, inp, z)
    define_single_site(lm, inp, z)
    spend, gpu_entries, existing_spend = spend_entries(lm, inp, x, z)
    define_share(lm, inp, spend, gpu_entries, existing_spend)
    define_power(lm, inp, x, z)
    define_outage_power(lm, inp, x, z)
    define_budget(lm, inp, spend, existing_spend)
    define_outage_budget(lm, inp, x, z, existing_spend)
    define_take_or_pay(lm, inp, spend, existing_spend)
    # sunk cost of existing reservations: a constant in the objective
    lm.offset = float((existing_spend.sum(axis=0) * inp.tl.discount).sum())
    return PlanningModel(lm, inp, spend, gpu_entries, existing_spend, x["ends"])


# ----------------------------------------------------------------------------------------------
# Columns: reservations x[o,k,s] and active reserved capacity R[o,t]
# ----------------------------------------------------------------------------------------------


def define_reservations(lm: LinearModel, inp: PlanInputs, integer: bool) -> dict[str, np.ndarray]:
    """``reserve`` x[o,k,s]: instances of offer o reserved for term k from period s.

    The term covers periods ``[s + lead[o], s + lead[o] + term_len[o,k])`` cut at the horizon's
    end (lead 0 for rented offers; an owned site's build powers up ``lead`` periods after the
    decision). A start whose coverage would begin after the horizon gets no column.
    """
    T = inp.tl.periods
    o, k, s = np.nonzero(inp.reservable())
    first = s + inp.lead[o]
    count = np.minimum(inp.term_len[o, k], T - first)
    keep = count > 0
    o, k, s, first, count = o[keep], k[keep], s[keep], first[keep], count[keep]
    owner, t = expand_ranges(first, count)
    unit_cost = inp.reserved_price[o[owner], k[owner], t] * inp.tl.hours[t] * MUSD  # per instance
    ends = commitment_ends(inp, o, k, first, owner, t)
    # inside the horizon, plus the tail the end_effects rule charges, plus the tie-break
    cost = (ends["in_usd_discounted"] + ends["charge_usd_discounted"] + ends["tiebreak_usd"]) * MUSD
    cols = lm.add_cols(
        "reserve", cost, 0.0, np.inf, integer=integer, unit="instances", offer=o, term=k, start=s
    )
    return {
        "cols": cols,
        "o": o,
        "k": k,
        "s": s,
        "cov_owner": owner,
        "cov_t": t,
        "cov_cost": unit_cost,
        "ends": ends,  # type: ignore[dict-item]
    }


def define_reserved_balance(lm: LinearModel, inp: PlanInputs, x: dict[str, np.ndarray]) -> None:
    """``capacity`` R[o,t] = existing[o,t] + Σ reservations covering t (row ``reserved-balance``).

    Adds to ``x``: ``capacity_col`` (O, T) column id of R (-1 where none) and ``has_reserved``
    (O, T) whether any reserved capacity can exist.
    """
    T = inp.tl.periods
    useful = np.flatnonzero(inp.useful_offers() | (inp.existing.sum(axis=1) > 0))
    o = np.repeat(useful, T)
    t = np.tile(np.arange(T), len(useful))
    ub = np.maximum(inp.max_reserved[o], inp.existing[o, t])
    r_cols = lm.add_cols("capacity", np.zeros(len(o)), 0.0, ub, unit="instances", offer=o, period=t)
    rows = lm.add_rows(
        "reserved-balance",
        inp.existing[o, t],
        inp.existing[o, t],
        len(o),
        unit="instances",
        offer=o,
        period=t,
    )
    lm.add_coefs(rows, r_cols, 1.0)
    row_of = np.full((len(inp.offers), T), -1, dtype=np.int64)
    row_of[o, t] = rows
    cov_o = x["o"][x["cov_owner"]]
    lm.add_coefs(row_of[cov_o, x["cov_t"]], x["cols"][x["cov_owner"]], -1.0)
    cap_of = np.full((len(inp.offers), T), -1, dtype=np.int64)
    cap_of[o, t] = r_cols
    x["capacity_col"] = cap_of  # (O, T) column id of R, -1 where none
    x["has_reserved"] = np.zeros((len(inp.offers), T), dtype=bool)
    x["has_reserved"][cov_o, x["cov_t"]] = True
    x["has_reserved"] |= inp.existing > 0


def define_supply(lm: LinearModel, inp: PlanInputs, x: dict[str, np.ndarray]) -> None:
    """``supply`` Σ_k x[o,k,s] ≤ new-capacity ramp of o in period s (finite ramps only)."""
    finite = np.isfinite(inp.supply[x["o"], x["s"]])
    if not finite.any():
        return
    sel = np.flatnonzero(finite)
    group, first = group_ids(x["o"][sel], x["s"][sel])
    o, s = x["o"][sel][first], x["s"][sel][first]
    rows = lm.add_rows(
        "supply", -np.inf, inp.supply[o, s], len(first), unit="instances", offer=o, period=s
    )
    lm.add_coefs(rows[group], x["cols"][sel], 1.0)


# ----------------------------------------------------------------------------------------------
# Second stage: allocations z[w,o,m,t,s] and unserved demand
# ----------------------------------------------------------------------------------------------


def define_allocations(
    lm: LinearModel, inp: PlanInputs, x: dict[str, np.ndarray], outages: bool
) -> dict[str, np.ndarray]:
    """``allocate`` z[w,o,m,t,s]: instances of o in market m serving w in period t, scenario s.

    Only allowed tuples get a column: the workload may use the offer (perf > 0) and market, the
    market has capacity in t, t is in the workload's window with demand, s is the base scenario
    or an outage in which the offer is up and the workload must keep a share of its demand.
    """
    S = len(inp.scenario_names) if outages else 1
    w_idx, o_idx = np.nonzero(inp.perf > 0)
    training = inp.kind == "training"
    active = inp.window & (training[:, None] | (inp.demand > 0))  # (W, T)
    market_has = np.stack(
        [x["has_reserved"], inp.market_cap[:, ONDEMAND] > 0, inp.market_cap[:, SPOT] > 0], axis=1
    )  # (O, 3, T)
    in_scenario = np.zeros((len(inp.workload_names), S), dtype=bool)
    in_scenario[:, 0] = True
    if S > 1:
        in_scenario[:, 1:] = (~training & (inp.resilience > 0))[:, None]
    mask = (
        inp.market_ok[w_idx][:, :, None, None]
        & market_has[o_idx][:, :, :, None]
        & active[w_idx][:, None, :, None]
        & in_scenario[w_idx][:, None, None, :]
        & inp.up[:S][:, o_idx].T[:, None, None, :]
    )  # (pairs, 3, T, S)
    pair, m, t, s = np.nonzero(mask)
    w, o = w_idx[pair], o_idx[pair]
    hours_disc = inp.tl.hours[t] * inp.tl.discount[t]
    cost = inp.weight[s] * hours_disc * inp.price[o, m, t] * MUSD
    # market caps live on the pool-market rows (so their duals show), not on the columns
    ub = np.broadcast_to(inp.max_instances[w], (len(w),)).astype(float)
    cols = lm.add_cols(
        "allocate",
        cost,
        0.0,
        ub,
        unit="instances",
        workload=w,
        offer=o,
        market=m,
        period=t,
        scenario=s,
    )
    return {"cols": cols, "w": w, "o": o, "m": m, "t": t, "s": s, "S": np.array(S)}


def define_pools(
    lm: LinearModel, inp: PlanInputs, x: dict[str, np.ndarray], z: dict[str, np.ndarray]
) -> None:
    """``pool``: per offer, period and scenario, allocations fit the capacity of each market.

    Reserved: Σ_w z ≤ R[o,t] (only scenarios where o is up have z). On-demand and spot:
    Σ_w z ≤ cap[o,m,t] wherever the cap is finite (the cap is on the row, not on the columns,
    so a binding cap shows as the row's dual in the policies table).
    """
    res = np.flatnonzero(z["m"] == RESERVED)
    group, first = group_ids(z["o"][res], z["t"][res], z["s"][res])
    o, t, s = z["o"][res][first], z["t"][res][first], z["s"][res][first]
    rows = lm.add_rows(
        "pool-reserved", -np.inf, 0.0, len(first), unit="instances", offer=o, period=t, scenario=s
    )
    lm.add_coefs(rows[group], z["cols"][res], 1.0)
    lm.add_coefs(rows, x["capacity_col"][o, t], -1.0)
    mkt = np.flatnonzero((z["m"] != RESERVED) & np.isfinite(inp.market_cap[z["o"], z["m"], z["t"]]))
    group, first = group_ids(z["o"][mkt], z["m"][mkt], z["t"][mkt], z["s"][mkt])
    o, m, t, s = (z[key][mkt][first] for key in ("o", "m", "t", "s"))
    rows = lm.add_rows(
        "pool-market",
        -np.inf,
        inp.market_cap[o, m, t],
        len(first),
        unit="instances",
        offer=o,
        market=m,
        period=t,
        scenario=s,
    )
    lm.add_coefs(rows[group], z["cols"][mkt], 1.0)


def define_demand(lm: LinearModel, inp: PlanInputs, z: dict[str, np.ndarray]) -> None:
    """``demand``: Σ perf·z + unserved = level_s·demand[w,t] for inference, agents, batch.

    An equality: reserved allocations cost nothing at the margin, so with ≥ the solver could
    report idle reserved capacity as "served" beyond demand.

    level is 1 in the base scenario and the workload's resilience in an outage scenario. The
    unserved column costs the penalty; in the base scenario weighted by its probability, in an
    outage scenario at full weight, so a resilience target binds as a requirement.
    """
    T = inp.tl.periods
    S = int(z["S"])
    W = len(inp.workload_names)
    level = np.ones((W, S))
    level[:, 1:] = inp.resilience[:, None]
    need = level[:, None, :] * inp.demand[:, :, None] * inp.window[:, :, None]  # (W, T, S)
    need[inp.kind == "training"] = 0.0
    w, t, s = np.nonzero(need > 0)
    rhs = need[w, t, s]
    rows = lm.add_rows(
        "demand", rhs, rhs, len(w), unit="demand units", workload=w, period=t, scenario=s
    )
    row_of = np.full((W, T, S), -1, dtype=np.int64)
    row_of[w, t, s] = rows
    weight = np.where(s == 0, inp.weight[0], 1.0)
    cost = weight * inp.tl.hours[t] * inp.tl.discount[t] * inp.penalty[w] * MUSD
    u = lm.add_cols(
        "unserved", cost, 0.0, rhs, unit="demand units", workload=w, period=t, scenario=s
    )
    lm.add_coefs(rows, u, 1.0)
    u_of = np.full((W, T, S), -1, dtype=np.int64)
    u_of[w, t, s] = u
    z["unserved_col"] = u_of  # (W, T, S) column id of unserved, -1 where no demand row
    zr = row_of[z["w"], z["t"], z["s"]]
    sel = zr >= 0
    lm.add_coefs(zr[sel], z["cols"][sel], inp.perf[z["w"][sel], z["o"][sel]])


def define_training(lm: LinearModel, inp: PlanInputs, z: dict[str, np.ndarray]) -> None:
    """``training-compute``: Σ_t hours_t·Σ perf·z + unserved = compute[w] (base scenario).

    ``training-instances``: Σ_{o,m} z[w,·,·,t] ≤ max_instances[w] where a cap is given.
    """
    train = np.flatnonzero(inp.kind == "training")
    if not train.size:
        return
    W = len(inp.workload_names)
    rows = lm.add_rows(
        "training-compute",
        inp.compute[train],
        inp.compute[train],
        len(train),
        unit="GPU-hours",
        workload=train,
    )
    row_of = np.full(W, -1, dtype=np.int64)
    row_of[train] = rows
    last = np.array(
        [
            np.flatnonzero(inp.window[w])[-1] if inp.window[w].any() else inp.tl.periods - 1
            for w in train
        ]
    )
    cost = inp.tl.discount[last] * inp.penalty[train] * MUSD
    u = lm.add_cols(
        "unserved-training", cost, 0.0, inp.compute[train], unit="GPU-hours", workload=train
    )
    lm.add_coefs(rows, u, 1.0)
    sel = np.flatnonzero((row_of[z["w"]] >= 0) & (z["s"] == 0))
    lm.add_coefs(
        row_of[z["w"][sel]],
        z["cols"][sel],
        inp.tl.hours[z["t"][sel]] * inp.perf[z["w"][sel], z["o"][sel]],
    )
    capped = sel[np.isfinite(inp.max_instances[z["w"][sel]])]
    if capped.size:
        group, first = group_ids(z["w"][capped], z["t"][capped])
        w, t = z["w"][capped][first], z["t"][capped][first]
        rows = lm.add_rows(
            "training-instances",
            -np.inf,
            inp.max_instances[w],
            len(first),
            unit="instances",
            workload=w,
            period=t,
        )
        lm.add_coefs(rows[group], z["cols"][capped], 1.0)


def define_single_site(lm: LinearModel, inp: PlanInputs, z: dict[str, np.ndarray]) -> None:
    """``site-choice``: Σ_g b[w,g] = 1 and ``site-link``: Σ_{o at g} z[w,o,·,t] ≤ M_w·b[w,g]."""
    single = np.flatnonzero(inp.single_site)
    if not single.size:
        return
    sel = np.flatnonzero(inp.single_site[z["w"]] & (z["s"] == 0))
    g_of = inp.offer_site[z["o"][sel]]
    _group, first = group_ids(z["w"][sel], g_of)
    bw, bg = z["w"][sel][first], g_of[first]
    b = lm.add_cols(
        "site", np.zeros(len(first)), 0.0, 1.0, integer=True, unit="choice", workload=bw, site=bg
    )
    # a run with no allocation column (no offer, market or period can serve it) has no site to
    # choose: "Σ b = 1" over no columns would make the whole model infeasible; it is unserved
    single = np.unique(bw)
    choose = lm.add_rows("site-choice", 1.0, 1.0, len(single), unit="choice", workload=single)
    row_of = np.full(len(inp.workload_names), -1, dtype=np.int64)
    row_of[single] = choose
    lm.add_coefs(row_of[bw], b, 1.0)
    # big M: the most instances the run could use in one period
    min_perf = np.array(
        [
            inp.perf[w][inp.perf[w] > 0].min() if (inp.perf[w] > 0).any() else 1.0
            for w in range(len(inp.workload_names))
        ]
    )
    big_m = np.where(
        np.isfinite(inp.max_instances),
        inp.max_instances,
        inp.compute / (inp.tl.hours.min() * min_perf),
    )
    lgroup, lfirst = group_ids(z["w"][sel], g_of, z["t"][sel])
    lw, lg, lt = z["w"][sel][lfirst], g_of[lfirst], z["t"][sel][lfirst]
    rows = lm.add_rows(
        "site-link", -np.inf, 0.0, len(lfirst), unit="instances", workload=lw, site=lg, period=lt
    )
    lm.add_coefs(rows[lgroup], z["cols"][sel], 1.0)
    b_of = {(int(w), int(g)): int(c) for w, g, c in zip(bw, bg, b, strict=True)}
    b_cols = np.array([b_of[(int(w), int(g))] for w, g in zip(lw, lg, strict=True)], dtype=np.int64)
    lm.add_coefs(rows, b_cols, -big_m[lw])


# ----------------------------------------------------------------------------------------------
# Policies on the base scenario: spend and GPU expressions, shares, power, budget, take-or-pay
# ----------------------------------------------------------------------------------------------


def spend_entries(
    lm: LinearModel, inp: PlanInputs, x: dict[str, np.ndarray], z: dict[str, np.ndarray]
) -> tuple[SpendEntries, SpendEntries, np.ndarray]:
    """Base-scenario spend and GPU counts per (column, period, provider)."""
    T = inp.tl.periods
    own = x["cov_owner"]
    ox = x["o"][own]
    mk = np.flatnonzero((z["s"] == 0) & (z["m"] != RESERVED))
    oz, tz = z["o"][mk], z["t"][mk]
    spend = SpendEntries(
        col=np.concatenate([x["cols"][own], z["cols"][mk]]),
        t=np.concatenate([x["cov_t"], tz]),
        p=np.concatenate([inp.offer_provider[ox], inp.offer_provider[oz]]),
        amount=np.concatenate(
            [x["cov_cost"], inp.price[oz, z["m"][mk], tz] * inp.tl.hours[tz] * MUSD]
        ),
        gpus=np.zeros(0),
    )
    cap = x["capacity_col"]
    ro, rt = np.nonzero(cap >= 0)
    gpu_entries = SpendEntries(
        col=np.concatenate([cap[ro, rt], z["cols"][mk]]),
        t=np.concatenate([rt, tz]),
        p=np.concatenate([inp.offer_provider[ro], inp.offer_provider[oz]]),
        amount=np.concatenate([inp.gpus[ro], inp.gpus[oz]]),
        gpus=np.zeros(0),
    )
    existing = np.zeros((len(inp.providers), T))
    np.add.at(existing, inp.offer_provider, inp.existing_cost * inp.tl.hours[None, :] * MUSD)
    return spend, gpu_entries, existing


def define_totals(
    lm: LinearModel, inp: PlanInputs, entries: SpendEntries, name: str, unit: str
) -> np.ndarray:
    """Columns ``name[p,t]`` = Σ entries of provider p in period t (rows ``name-balance``).

    Policy rows (share, budget, take-or-pay) then hold P nonzeros per period instead of every
    spend entry, which keeps them sparse: a dense row in every period slows simplex badly.
    Returns the (P, T) array of column ids.
    """
    P, T = len(inp.providers), inp.tl.periods
    p = np.repeat(np.arange(P), T)
    t = np.tile(np.arange(T), P)
    cols = lm.add_cols(name, np.zeros(P * T), 0.0, np.inf, unit=unit, provider=p, period=t)
    rows = lm.add_rows(f"{name}-balance", 0.0, 0.0, P * T, unit=unit, provider=p, period=t)
    lm.add_coefs(rows, cols, 1.0)
    lm.add_coefs(rows[entries.p * T + entries.t], entries.col, -entries.amount)
    return cols.reshape(P, T)


def define_share(
    lm: LinearModel,
    inp: PlanInputs,
    spend: SpendEntries,
    gpu_entries: SpendEntries,
    existing: np.ndarray,
) -> None:
    """``share``: provider p's spend (or GPUs) ≤ max_share_p × total, per period (base scenario)."""
    capped = np.flatnonzero(inp.max_share < 1.0)
    if not capped.size:
        return
    T = inp.tl.periods
    P = len(inp.providers)
    by_gpus = inp.share_by == "gpus"
    totals = (
        define_totals(lm, inp, gpu_entries, "gpus", "GPUs")
        if by_gpus
        else _spend_totals(lm, inp, spend)
    )
    const = np.zeros_like(existing) if by_gpus else existing  # existing R already in GPU entries
    share = inp.max_share[capped]
    p_rows = np.repeat(capped, T)
    t_rows = np.tile(np.arange(T), len(capped))
    rhs = share.repeat(T) * const.sum(axis=0)[t_rows] - const[p_rows, t_rows]
    rows = lm.add_rows(
        "share",
        -np.inf,
        rhs,
        len(p_rows),
        unit="MUSD" if not by_gpus else "GPUs",
        provider=p_rows,
        period=t_rows,
    )
    # row (p, t): Σ_q (1[q = p] − share_p) · total[q, t] ≤ rhs
    r = np.repeat(np.arange(len(p_rows)), P)
    q = np.tile(np.arange(P), len(p_rows))
    coef = (q == p_rows[r]).astype(float) - share.repeat(T)[r]
    lm.add_coefs(rows[r], totals[q, t_rows[r]], coef)


def _spend_totals(lm: LinearModel, inp: PlanInputs, spend: SpendEntries) -> np.ndarray:
    """The ``spend[p,t]`` columns, created once and shared by share, budget and take-or-pay."""
    fam = lm.cols.get("spend")
    if fam is not None:
        return np.arange(fam.start, fam.start + fam.size).reshape(
            len(inp.providers), inp.tl.periods
        )
    return define_totals(lm, inp, spend, "spend", "MUSD")


def define_power(
    lm: LinearModel, inp: PlanInputs, x: dict[str, np.ndarray], z: dict[str, np.ndarray]
) -> None:
    """``power-site`` and ``power-total``: facility MW of reserved + on-demand/spot in use ≤ cap."""
    T = inp.tl.periods
    site_capped = np.isfinite(inp.site_power_mw)  # (G, T)
    total_capped = np.isfinite(inp.total_power_mw)
    if not site_capped.any() and not total_capped.any():
        return
    cap = x["capacity_col"]
    ro, rt = np.nonzero(cap >= 0)
    mk = np.flatnonzero((z["s"] == 0) & (z["m"] != RESERVED))
    col = np.concatenate([cap[ro, rt], z["cols"][mk]])
    o = np.concatenate([ro, z["o"][mk]])
    t = np.concatenate([rt, z["t"][mk]])
    mw = inp.kw[o] / 1000.0
    g = inp.offer_site[o]
    if site_capped.any():
        sg, st = np.nonzero(site_capped)
        rows = lm.add_rows(
            "power-site", -np.inf, inp.site_power_mw[sg, st], len(sg), unit="MW", site=sg, period=st
        )
        row_of = np.full(site_capped.shape, -1, dtype=np.int64)
        row_of[sg, st] = rows
        r = row_of[g, t]
        sel = r >= 0
        lm.add_coefs(r[sel], col[sel], mw[sel])
    if total_capped.any():
        tt = np.flatnonzero(total_capped)
        rows = lm.add_rows(
            "power-total", -np.inf, inp.total_power_mw[tt], len(tt), unit="MW", period=tt
        )
        row_of = np.full(T, -1, dtype=np.int64)
        row_of[tt] = rows
        r = row_of[t]
        sel = r >= 0
        lm.add_coefs(r[sel], col[sel], mw[sel])
    if (~inp.kw_known).any():
        inp.warnings.append(
            f"{int((~inp.kw_known).sum())} offers in play have no power figure (unknown TDP): "
            "power caps do not count them"
        )


def define_budget(
    lm: LinearModel, inp: PlanInputs, spend: SpendEntries, existing: np.ndarray
) -> None:
    """``budget``: base-scenario spend in calendar year y ≤ budget_y."""
    if not len(inp.budget_years):
        return
    totals = _spend_totals(lm, inp, spend)
    years = inp.budget_years
    year_of_t = np.searchsorted(years, inp.tl.calendar_year)
    const = np.bincount(year_of_t, weights=existing.sum(axis=0), minlength=len(years))
    rows = lm.add_rows(
        "budget", -np.inf, inp.budget_usd * MUSD - const, len(years), unit="MUSD", year=years
    )
    lm.add_coefs(np.tile(rows[year_of_t], totals.shape[0]), totals.ravel(), 1.0)


def define_take_or_pay(
    lm: LinearModel, inp: PlanInputs, spend: SpendEntries, existing: np.ndarray
) -> None:
    """``take-or-pay``: spend with p inside the contract window + shortfall ≥ committed amount."""
    live = np.flatnonzero((inp.contract_provider >= 0) & (inp.contract_committed > 0))
    if not live.size:
        return
    totals = _spend_totals(lm, inp, spend)
    frac = inp.contract_hours[live] / inp.tl.hours[None, :]  # (C, T) share of each period in window
    p = inp.contract_provider[live]
    const = (existing[p] * frac).sum(axis=1)
    rows = lm.add_rows(
        "take-or-pay",
        inp.contract_committed[live] * MUSD - const,
        np.inf,
        len(live),
        unit="MUSD",
        contract=live,
    )
    end = np.maximum(inp.contract_end_period[live], 0)
    f = lm.add_cols("shortfall", inp.tl.discount[end], 0.0, np.inf, unit="MUSD", contract=live)
    lm.add_coefs(rows, f, 1.0)
    c, t = np.nonzero(frac > 0)
    lm.add_coefs(rows[c], totals[p[c], t], frac[c, t])


# ----------------------------------------------------------------------------------------------
# Outage scenarios never do better than the base case; budgets and power caps hold in them too
# (share caps are a base-scenario policy: docs/formulation.md says why)
# ----------------------------------------------------------------------------------------------


def define_outage_not_better(lm: LinearModel, inp: PlanInputs, z: dict[str, np.ndarray]) -> None:
    """``outage-not-better``: served[w,t,s] ≤ served[w,t,base] for every outage scenario s.

    With the demand rows as equalities, served = level·demand − unserved, so the row reads
    ``unserved[w,t,base] − unserved[w,t,s] ≤ (1 − level_s)·demand[w,t]``: two nonzeros. Without
    it a plan whose base case is cut (a budget, a cap) could serve more with a provider down.
    """
    u_of = z["unserved_col"]
    if u_of.shape[2] < 2:
        return
    w, t, s = np.nonzero(u_of[:, :, 1:] >= 0)
    s = s + 1
    base = u_of[w, t, 0]
    rhs = (1.0 - inp.resilience[w]) * inp.demand[w, t]
    rows = lm.add_rows(
        "outage-not-better",
        -np.inf,
        rhs,
        len(w),
        unit="demand units",
        workload=w,
        period=t,
        scenario=s,
    )
    lm.add_coefs(rows, base, 1.0)
    lm.add_coefs(rows, u_of[w, t, s], -1.0)


def _outage_market(z: dict[str, np.ndarray]) -> np.ndarray:
    """Indices of the on-demand and spot allocation columns of outage scenarios."""
    return np.flatnonzero((z["s"] > 0) & (z["m"] != RESERVED))


def define_outage_budget(
    lm: LinearModel,
    inp: PlanInputs,
    x: dict[str, np.ndarray],
    z: dict[str, np.ndarray],
    existing: np.ndarray,
) -> None:
    """``budget-outage``: in each outage scenario s and calendar year y, reserved spend (paid
    whatever is down) + that scenario's on-demand and spot spend ≤ budget_y.

    An outage scenario is a state of the world over whole periods, like the base case; a year
    that mixes base and outage periods stays under budget because both states do (the spend is
    linear in the share of time in each). ``reserved-spend[y]`` holds the year's reserved spend
    once (row ``reserved-spend-balance``), so each outage row has Y + its own columns.
    """
    S = int(z["S"])
    if not len(inp.budget_years) or S < 2:
        return
    years = inp.budget_years
    Y = len(years)
    year_of_t = np.searchsorted(years, inp.tl.calendar_year)
    res = lm.add_cols("reserved-spend", np.zeros(Y), 0.0, np.inf, unit="MUSD", year=years)
    bal = lm.add_rows("reserved-spend-balance", 0.0, 0.0, Y, unit="MUSD", year=years)
    lm.add_coefs(bal, res, 1.0)
    lm.add_coefs(bal[year_of_t[x["cov_t"]]], x["cols"][x["cov_owner"]], -x["cov_cost"])
    const = np.bincount(year_of_t, weights=existing.sum(axis=0), minlength=Y)
    y = np.tile(np.arange(Y), S - 1)
    s = np.repeat(np.arange(1, S), Y)
    rows = lm.add_rows(
        "budget-outage",
        -np.inf,
        inp.budget_usd[y] * MUSD - const[y],
        len(y),
        unit="MUSD",
        year=years[y],
        scenario=s,
    )
    lm.add_coefs(rows, res[y], 1.0)
    mk = _outage_market(z)
    o, m, t = z["o"][mk], z["m"][mk], z["t"][mk]
    row_of = rows.reshape(S - 1, Y)
    lm.add_coefs(
        row_of[z["s"][mk] - 1, year_of_t[t]],
        z["cols"][mk],
        inp.price[o, m, t] * inp.tl.hours[t] * MUSD,
    )


def define_outage_power(
    lm: LinearModel, inp: PlanInputs, x: dict[str, np.ndarray], z: dict[str, np.ndarray]
) -> None:
    """``power-site-outage`` and ``power-total-outage``: in each outage scenario s, facility MW
    of the reserved capacity that is up + that scenario's on-demand and spot ≤ the caps.

    A site that is down draws nothing and gets no row; the sites that stay up carry the failover
    and must stay within their power.
    """
    S = int(z["S"])
    site_capped = np.isfinite(inp.site_power_mw)  # (G, T)
    total_capped = np.isfinite(inp.total_power_mw)  # (T,)
    if S < 2 or (not site_capped.any() and not total_capped.any()):
        return
    cap = x["capacity_col"]
    ro, rt = np.nonzero(cap >= 0)
    # reserved capacity entries, repeated for each outage scenario in which the offer is up
    rs, ri = np.nonzero(inp.up[1:S][:, ro])
    mk = _outage_market(z)
    col = np.concatenate([cap[ro, rt][ri], z["cols"][mk]])
    o = np.concatenate([ro[ri], z["o"][mk]])
    t = np.concatenate([rt[ri], z["t"][mk]])
    s = np.concatenate([rs + 1, z["s"][mk]])
    mw = inp.kw[o] / 1000.0
    g = inp.offer_site[o]
    if site_capped.any():
        G = len(inp.sites)
        site_up = np.zeros((S, G), dtype=bool)
        np.logical_or.at(site_up, (slice(None), inp.offer_site), inp.up[:S])
        ss, sg, st = np.nonzero(site_up[1:, :, None] & site_capped[None, :, :])
        ss = ss + 1
        rows = lm.add_rows(
            "power-site-outage",
            -np.inf,
            inp.site_power_mw[sg, st],
            len(sg),
            unit="MW",
            site=sg,
            period=st,
            scenario=ss,
        )
        row_of = np.full((S, G, inp.tl.periods), -1, dtype=np.int64)
        row_of[ss, sg, st] = rows
        r = row_of[s, g, t]
        sel = r >= 0
        lm.add_coefs(r[sel], col[sel], mw[sel])
    if total_capped.any():
        tt = np.flatnonzero(total_capped)
        st = np.tile(tt, S - 1)
        ss = np.repeat(np.arange(1, S), len(tt))
        rows = lm.add_rows(
            "power-total-outage",
            -np.inf,
            inp.total_power_mw[st],
            len(st),
            unit="MW",
            period=st,
            scenario=ss,
        )
        row_of = np.full((S, inp.tl.periods), -1, dtype=np.int64)
        row_of[ss, st] = rows
        r = row_of[s, t]
        sel = r >= 0
        lm.add_coefs(r[sel], col[sel], mw[sel])


# ----------------------------------------------------------------------------------------------
# Pieces of the model for a decomposed solve (plan/decompose.py): the base case with the first
# stage, and one outage scenario at a time. Built by build() itself on restricted inputs, so
# every family keeps the coefficients (and any scaling) of the monolithic model.
# ----------------------------------------------------------------------------------------------

#: column families an outage scenario's rows read from the master (the first-stage capacity,
#: the base case's unserved demand, the reserved spend per budget year)
LINK_FAMILIES = ("capacity", "unserved", "reserved-spend")


def build_master(inp: PlanInputs, *, integer: bool = False) -> PlanningModel:
    """The base scenario and the first stage: :func:`build` without outage scenarios, plus the
    ``reserved-spend[y]`` columns (row ``reserved-spend-balance``, MUSD) when budgets and
    outage scenarios exist, which the outage budget rows read."""
    pm = build(inp, integer=integer, outages=False)
    if len(inp.budget_years) and len(inp.scenario_names) > 1:
        lm = pm.lm
        fam = lm.cols["reserve"]
        sel = (pm.spend.col >= fam.start) & (pm.spend.col < fam.start + fam.size)
        years = inp.budget_years
        year_of_t = np.searchsorted(years, inp.tl.calendar_year)
        res = lm.add_cols(
            "reserved-spend", np.zeros(len(years)), 0.0, np.inf, unit="MUSD", year=years
        )
        bal = lm.add_rows("reserved-spend-balance", 0.0, 0.0, len(years), unit="MUSD", year=years)
        lm.add_coefs(bal, res, 1.0)
        lm.add_coefs(bal[year_of_t[pm.spend.t[sel]]], pm.spend.col[sel], -pm.spend.amount[sel])
    return pm


def scenario_inputs(inp: PlanInputs, s: int) -> PlanInputs:
    """``inp`` restricted to the base scenario and outage scenario ``s`` (a shallow copy: the
    arrays are shared, only the scenario lists are new)."""
    keep = np.array([0, s])
    return replace(
        inp,
        scenario_names=[inp.scenario_names[0], inp.scenario_names[s]],
        up=inp.up[keep],
        weight=inp.weight[keep],
        warnings=[],
    )


@dataclass
class ScenarioBlock:
    """The rows and columns of one outage scenario, with the master's columns they read.

    Columns ``0 .. n_own-1`` are the scenario's own (``allocate`` and ``unserved`` of the
    scenario); columns ``n_own ..`` are copies of master columns (``link_family``,
    ``link_rank``: the family and the position inside the master's family), whose cost is 0
    and whose bounds the decomposed solve fixes at the master's values.
    """

    lm: LinearModel
    n_own: int
    link_family: np.ndarray  # (n_link,) str
    link_rank: np.ndarray  # (n_link,) int
    own_offer: np.ndarray  # (n_own,) offer of each own column (-1: unserved)
    #: per family of the monolithic model: positions (rank among the scenario's members) of
    #: the block's columns / rows, for placing the block's solution into the whole model
    col_place: dict[str, tuple[np.ndarray, np.ndarray]]
    row_place: dict[str, tuple[np.ndarray, np.ndarray]]


def _scenario_rank(index: dict[str, np.ndarray], size: int, scenario: int) -> np.ndarray:
    """Rank of each member among the family's members of ``scenario`` (-1 for the others);
    a family without a scenario index counts as the base scenario's."""
    s = index.get("scenario")
    mine = np.ones(size, dtype=bool) if s is None else s == scenario
    if s is None and scenario != 0:
        mine[:] = False
    return np.where(mine, np.cumsum(mine) - 1, -1)


def build_scenario(inp: PlanInputs, s: int) -> ScenarioBlock:
    """Outage scenario ``s`` (1 ..) alone: its allocation and unserved columns, every row of
    the scenario (pools, demand, outage-not-better, budget-outage, power-*-outage), and copies
    of the master columns those rows read (see :class:`ScenarioBlock`).

    Built with :func:`build` on the inputs restricted to {base, s}; only the scenario's part is
    kept, so the peak is about two scenarios' worth of arrays, never the whole model.
    """
    two = build(scenario_inputs(inp, s), outages=True).lm
    arrays = two.arrays()
    A = two.matrix().tocsr()
    row_ids: list[np.ndarray] = []
    row_place: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    pos = 0
    for name, fam in two.rows.items():
        rank = _scenario_rank(fam.index, fam.size, 1)
        sel = np.flatnonzero(rank >= 0)
        if sel.size:
            row_ids.append(fam.start + sel)
            row_place[name] = (np.arange(pos, pos + sel.size), rank[sel])
            pos += sel.size
    rows = np.concatenate(row_ids) if row_ids else np.zeros(0, dtype=np.int64)
    own_ids: list[np.ndarray] = []
    own_offer: list[np.ndarray] = []
    col_place: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    pos = 0
    for name, fam in two.cols.items():
        rank = _scenario_rank(fam.index, fam.size, 1)
        sel = np.flatnonzero(rank >= 0)
        if sel.size:
            own_ids.append(fam.start + sel)
            offer = fam.index.get("offer")
            own_offer.append(offer[sel] if offer is not None else np.full(sel.size, -1))
            col_place[name] = (np.arange(pos, pos + sel.size), rank[sel])
            pos += sel.size
    own = np.concatenate(own_ids) if own_ids else np.zeros(0, dtype=np.int64)
    sub = A[rows].tocsc()
    is_own = np.zeros(two.n_cols, dtype=bool)
    is_own[own] = True
    touched = np.flatnonzero(np.diff(sub.indptr) > 0)
    link = touched[~is_own[touched]]
    link_family = np.empty(len(link), dtype=object)
    link_rank = np.zeros(len(link), dtype=np.int64)
    for name, fam in two.cols.items():
        inside = (link >= fam.start) & (link < fam.start + fam.size)
        if not inside.any():
            continue
        if name not in LINK_FAMILIES:
            raise ValueError(f"outage scenario rows read column family {name!r}: not a link")
        rank = _scenario_rank(fam.index, fam.size, 0)[link[inside] - fam.start]
        link_family[inside] = name
        link_rank[inside] = rank
    lm = LinearModel()
    cols = np.concatenate([own, link])
    cost = np.concatenate([arrays["cost"][own], np.zeros(len(link))])
    lb = np.concatenate([arrays["lb"][own], np.zeros(len(link))])
    ub = np.concatenate([arrays["ub"][own], np.zeros(len(link))])
    lm.add_cols("block", cost, lb, ub, unit="")
    lm.add_rows("block", arrays["row_lo"][rows], arrays["row_hi"][rows], len(rows), unit="")
    coo = sub[:, cols].tocoo()
    lm.add_coefs(coo.row, coo.col, coo.data)
    return ScenarioBlock(
        lm=lm,
        n_own=len(own),
        link_family=link_family.astype(str),
        link_rank=link_rank,
        own_offer=np.concatenate(own_offer) if own_offer else np.zeros(0, dtype=np.int64),
        col_place=col_place,
        row_place=row_place,
    )
