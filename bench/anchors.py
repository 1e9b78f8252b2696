"""hyperplan's planning model written with linopy and with Pyomo, for bench/model_build.py.

Both follow ``hyperplan.plan.build`` family by family (docs/formulation.md), starting from the
same :class:`~hyperplan.plan.arrays.PlanInputs` arrays, so the three builders produce the same
rows, columns and coefficients; bench/model_build.py checks that on the models each hands to
HiGHS (sizes and an order-free fingerprint) and by comparing objective values after solving, and
tests/test_bench_anchors.py on scenarios that make every family of the builder. A change to a
family in ``plan/build.py`` must be made here too (that test names the family list).

Two things are taken from hyperplan rather than re-derived, being inputs of the model rather
than its construction: the mask of signable reservations (``PlanInputs.reservable``) and the cost
of each reservation (``hyperplan.plan.ends.commitment_ends``: inside the horizon, the tail that
``horizon.end_effects`` charges, the tie-break).

Each is written the way a user of that layer would write it:

- linopy: one labelled array per family over its natural dimensions (offer, term, period, ...)
  with a ``mask`` for the tuples that exist; sums over dimensions, ``groupby`` for the
  offer → provider/site maps. Constant arrays (costs, coverage) are computed with numpy.
- Pyomo: sparse index sets of tuples (from the same numpy masks), one ``Var``/``Constraint``
  per family with a rule; the members of each row are looked up in dicts built beforehand.

The objective's constant (sunk cost of existing reservations) is left out of both; compare
objectives net of ``LinearModel.offset``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from hyperplan.plan.arrays import PlanInputs
from hyperplan.plan.ends import commitment_ends

MUSD = 1e-6
RESERVED, ONDEMAND, SPOT = 0, 1, 2


# ------------------------------------------------------------------------------------------------
# The masks and constant arrays both anchors need (plain numpy over the dense index space)
# ------------------------------------------------------------------------------------------------
class Dense:
    """Dense masks and coefficient arrays of every family, following build.py."""

    def __init__(self, inp: PlanInputs, outages: bool = True) -> None:
        T = inp.tl.periods
        O = len(inp.offers)
        K = len(inp.terms_years)
        W = len(inp.workload_names)
        self.T, self.O, self.K, self.W = T, O, K, W
        self.P, self.G = len(inp.providers), len(inp.sites)
        self.S = S = len(inp.scenario_names) if outages else 1
        hours, disc = inp.tl.hours, inp.tl.discount
        self.hours, self.disc = hours, disc
        # reserve x[o,k,s]: signable (PlanInputs.reservable) and its coverage starts inside the
        # horizon; it covers [first, first + term_len[o,k]) with first = s + lead[o]
        start = np.arange(T)
        first = start[None, :] + inp.lead[:, None]  # (O, T=start)
        self.x_mask = inp.reservable() & (first[:, None, :] < T)  # (O, K, T=start)
        # cov[o, k, s, t]: a term-k reservation of o signed in s is active in t
        t_ = start[None, None, None, :]
        f_ = first[:, None, :, None]
        self.cov = (t_ >= f_) & (t_ < f_ + inp.term_len[:, :, None, None])
        self.unit = np.nan_to_num(inp.reserved_price) * hours * MUSD  # (O, K, T) per inst-period
        # cost per reservation: inside the horizon (discounted), the post-horizon tail that
        # horizon.end_effects charges, and the tie-break (hyperplan.plan.ends, docs/formulation.md)
        xo, xk, xs = np.nonzero(self.x_mask)
        owner, ct = np.nonzero(self.cov[xo, xk, xs])  # covered periods of each reservation
        ends = commitment_ends(inp, xo, xk, first[xo, xs], owner, ct)
        self.x_cost = np.zeros((O, K, T))
        self.x_cost[xo, xk, xs] = (
            ends["in_usd_discounted"] + ends["charge_usd_discounted"] + ends["tiebreak_usd"]
        ) * MUSD
        # capacity R[o,t]
        self.r_offer = inp.useful_offers() | (inp.existing.sum(axis=1) > 0)
        self.r_mask = np.broadcast_to(self.r_offer[:, None], (O, T))
        self.r_ub = np.maximum(inp.max_reserved[:, None], inp.existing)
        has_reserved = (self.cov & self.x_mask[..., None]).any(axis=(1, 2))
        self.has_reserved = has_reserved | (inp.existing > 0)
        # supply[o,s]
        self.supply_mask = np.isfinite(inp.supply) & self.x_mask.any(axis=1)
        # allocate z[w,o,m,t,s]
        training = inp.kind == "training"
        self.training = training
        active = inp.window & (training[:, None] | (inp.demand > 0))
        market_has = np.stack(
            [self.has_reserved, inp.market_cap[:, ONDEMAND] > 0, inp.market_cap[:, SPOT] > 0],
            axis=1,
        )  # (O, 3, T)
        in_scenario = np.zeros((W, S), dtype=bool)
        in_scenario[:, 0] = True
        if S > 1:
            in_scenario[:, 1:] = (~training & (inp.resilience > 0))[:, None]
        self.z_mask = (
            (inp.perf > 0)[:, :, None, None, None]
            & inp.market_ok[:, None, :, None, None]
            & market_has[None, :, :, :, None]
            & active[:, None, None, :, None]
            & in_scenario[:, None, None, None, :]
            & inp.up[:S].T[None, :, None, None, :]
        )  # (W, O, 3, T, S)
        # z cost without the scenario weight: (O, 3, T)
        self.z_price = inp.price * (hours * disc)[None, None, :] * MUSD
        self.z_ub = inp.max_instances  # (W,)
        # pools
        self.pool_res_mask = self.z_mask[:, :, RESERVED].any(axis=0)  # (O, T, S)
        self.pool_mkt_mask = (
            self.z_mask[:, :, 1:].any(axis=0) & np.isfinite(inp.market_cap[:, 1:])[..., None]
        )  # (O, 2, T, S)
        self.pool_mkt_cap = np.where(np.isfinite(inp.market_cap[:, 1:]), inp.market_cap[:, 1:], 0)
        # demand
        level = np.ones((W, S))
        level[:, 1:] = inp.resilience[:, None]
        need = level[:, None, :] * inp.demand[:, :, None] * inp.window[:, :, None]
        need[training] = 0.0
        self.need = need  # (W, T, S)
        weight = np.ones(S)
        weight[0] = inp.weight[0]
        self.u_cost = (
            weight[None, None, :]
            * (hours * disc)[None, :, None]
            * inp.penalty[:, None, None]
            * MUSD
            * np.ones((W, T, S))
        )
        # training
        self.train = np.flatnonzero(training)
        last = np.array(
            [
                np.flatnonzero(inp.window[w])[-1] if inp.window[w].any() else T - 1
                for w in self.train
            ],
            dtype=int,
        )
        self.train_cost = disc[last] * inp.penalty[self.train] * MUSD if len(self.train) else []
        self.capped_train = self.train[np.isfinite(inp.max_instances[self.train])]
        self.train_inst_mask = self.z_mask[self.capped_train][..., 0].any(axis=(1, 2))  # (Wc, T)
        # single site
        self.single = np.flatnonzero(inp.single_site)
        inc = np.zeros((O, self.G), dtype=bool)
        inc[np.arange(O), inp.offer_site] = True
        self.site_inc = inc
        zs = self.z_mask[self.single][..., 0]  # (Ws, O, 3, T)
        self.b_mask = np.einsum("wo,og->wg", zs.any(axis=(2, 3)), inc) > 0
        self.link_mask = np.einsum("wot,og->wgt", zs.any(axis=2), inc) > 0
        min_perf = np.array(
            [
                inp.perf[w][inp.perf[w] > 0].min() if (inp.perf[w] > 0).any() else 1.0
                for w in range(W)
            ]
        )
        self.big_m = np.where(
            np.isfinite(inp.max_instances),
            inp.max_instances,
            inp.compute / (hours.min() * min_perf),
        )
        # spend entries (MUSD per unit) and policies
        self.spend_x = self.cov * self.unit[:, :, None, :]  # (O, K, S, T)
        self.spend_z = inp.price[:, 1:] * hours[None, None, :] * MUSD  # (O, 2, T)
        existing = np.zeros((self.P, T))
        np.add.at(existing, inp.offer_provider, inp.existing_cost * hours[None, :] * MUSD)
        self.existing_spend = existing
        self.share_capped = np.flatnonzero(inp.max_share < 1.0)
        self.by_gpus = inp.share_by == "gpus"
        self.live = np.flatnonzero((inp.contract_provider >= 0) & (inp.contract_committed > 0))
        self.need_spend = (
            (len(self.share_capped) > 0 and not self.by_gpus)
            or len(inp.budget_years) > 0
            or len(self.live) > 0
        )
        self.mw = inp.kw / 1000.0
        # outage scenarios never do better than the base case: (1 - resilience)·demand (W, T)
        self.onb_rhs = (1.0 - inp.resilience)[:, None] * inp.demand
        self.onb_mask = self.need[:, :, 1:] > 0  # (W, T, S-1)
        # outage scenarios' budgets and power caps: the market spend per instance (O, 3, T) MUSD,
        # the sites with an offer up in each scenario (S, G) and the calendar year of each period
        self.mkt_spend = inp.price * hours[None, None, :] * MUSD
        site_up = np.zeros((S, self.G), dtype=bool)
        np.logical_or.at(site_up, (slice(None), inp.offer_site), inp.up[:S])
        self.site_up = site_up
        self.year_of_t = np.searchsorted(inp.budget_years, inp.tl.calendar_year)


# ------------------------------------------------------------------------------------------------
# linopy
# ------------------------------------------------------------------------------------------------
def build_linopy(inp: PlanInputs, *, integer: bool = False, outages: bool = True) -> Any:
    """The planning model as a ``linopy.Model``."""
    import warnings

    import linopy
    import xarray as xr

    # masked slots contribute nothing to a sum: linopy's legacy semantics, which this relies on
    warnings.filterwarnings("ignore", category=linopy.LinopySemanticsWarning)

    d = Dense(inp, outages)
    T, O, K, W, P, G, S = d.T, d.O, d.K, d.W, d.P, d.G, d.S
    coords = {
        "o": np.arange(O),
        "k": np.arange(K),
        "start": np.arange(T),
        "t": np.arange(T),
        "w": np.arange(W),
        "m": np.arange(3),
        "scen": np.arange(S),
        "p": np.arange(P),
        "g": np.arange(G),
    }

    def da(values: Any, *dims: str, **override: Any) -> xr.DataArray:
        return xr.DataArray(values, coords={k: override.get(k, coords[k]) for k in dims}, dims=dims)

    m = linopy.Model()
    objective = []
    # reserve x[o,k,s] and capacity R[o,t] with reserved-balance
    x_mask = da(d.x_mask, "o", "k", "start")
    x = m.add_variables(lower=0, coords=x_mask.coords, name="reserve", mask=x_mask, integer=integer)
    objective.append((da(d.x_cost, "o", "k", "start") * x).sum())
    r_mask = da(d.r_mask, "o", "t")
    R = m.add_variables(
        lower=0, upper=da(d.r_ub, "o", "t"), coords=r_mask.coords, name="capacity", mask=r_mask
    )
    cov = da(d.cov.astype(float), "o", "k", "start", "t")
    m.add_constraints(
        R - (x * cov).sum(["k", "start"]) == da(inp.existing, "o", "t"),
        name="reserved-balance",
        mask=r_mask,
    )
    if d.supply_mask.any():
        m.add_constraints(
            x.sum("k") <= da(np.where(d.supply_mask, inp.supply, 0.0), "o", "start"),
            name="supply",
            mask=da(d.supply_mask, "o", "start"),
        )
    # allocate z[w,o,m,t,s]
    z_mask = da(d.z_mask, "w", "o", "m", "t", "scen")
    z = m.add_variables(
        lower=0,
        upper=da(d.z_ub, "w"),
        coords=z_mask.coords,
        name="allocate",
        mask=z_mask,
    )
    z_cost = da(inp.weight[:S], "scen") * da(d.z_price, "o", "m", "t")
    objective.append((z_cost * z).sum())
    # pools
    m.add_constraints(
        z.sel(m=RESERVED).sum("w") - R <= 0,
        name="pool-reserved",
        mask=da(d.pool_res_mask, "o", "t", "scen"),
    )
    if d.pool_mkt_mask.any():
        mk = {"m": np.array([ONDEMAND, SPOT])}
        m.add_constraints(
            z.sel(m=[ONDEMAND, SPOT]).sum("w") <= da(d.pool_mkt_cap, "o", "m", "t", **mk),
            name="pool-market",
            mask=da(d.pool_mkt_mask, "o", "m", "t", "scen", **mk),
        )
    # demand with unserved u[w,t,s]
    need_mask = da(d.need > 0, "w", "t", "scen")
    u = m.add_variables(
        lower=0,
        upper=da(d.need, "w", "t", "scen"),
        coords=need_mask.coords,
        name="unserved",
        mask=need_mask,
    )
    objective.append((da(d.u_cost, "w", "t", "scen") * u).sum())
    perf = da(inp.perf, "w", "o")
    m.add_constraints(
        (perf * z).sum(["o", "m"]) + u == da(d.need, "w", "t", "scen"),
        name="demand",
        mask=need_mask,
    )
    if S > 1:
        out = {"scen": np.arange(1, S)}
        onb_rhs = np.broadcast_to(d.onb_rhs[:, :, None], d.onb_mask.shape)
        m.add_constraints(
            u.sel(scen=0, drop=True) - u.sel(scen=out["scen"])
            <= da(onb_rhs, "w", "t", "scen", **out),
            name="outage-not-better",
            mask=da(d.onb_mask, "w", "t", "scen", **out),
        )
    # training
    if len(d.train):
        tw = {"w": d.train}
        compute = da(inp.compute[d.train], "w", **tw)
        ut = m.add_variables(
            lower=0, upper=compute, coords=compute.coords, name="unserved-training"
        )
        objective.append((da(d.train_cost, "w", **tw) * ut).sum())
        work = da(inp.perf[d.train], "w", "o", **tw) * da(d.hours, "t")
        zt = z.sel(w=d.train, scen=0)
        m.add_constraints(
            (work * zt).sum(["o", "m", "t"]) + ut == da(inp.compute[d.train], "w", **tw),
            name="training-compute",
        )
        if len(d.capped_train):
            cw = {"w": d.capped_train}
            m.add_constraints(
                z.sel(w=d.capped_train, scen=0).sum(["o", "m"])
                <= da(inp.max_instances[d.capped_train], "w", **cw),
                name="training-instances",
                mask=da(d.train_inst_mask, "w", "t", **cw),
            )
    # single site
    if len(d.single):
        sw = {"w": d.single}
        b_mask = da(d.b_mask, "w", "g", **sw)
        b = m.add_variables(binary=True, coords=b_mask.coords, name="site", mask=b_mask)
        m.add_constraints(b.sum("g") == 1, name="site-choice", mask=b_mask.any("g"))
        site_of = xr.DataArray(inp.offer_site, coords={"o": coords["o"]}, dims="o", name="g")
        per_site = z.sel(w=d.single, scen=0).sum("m").groupby(site_of).sum()
        m.add_constraints(
            per_site - da(d.big_m[d.single], "w", **sw) * b <= 0,
            name="site-link",
            mask=da(d.link_mask, "w", "g", "t", **sw),
        )
    # spend / GPU totals per provider and period, and the policies on them
    provider_of = xr.DataArray(inp.offer_provider, coords={"o": coords["o"]}, dims="o", name="p")
    base_mkt = z.sel(scen=0, m=[ONDEMAND, SPOT])
    mk = {"m": np.array([ONDEMAND, SPOT])}

    def totals(expr_by_offer: Any, name: str) -> Any:
        tot = m.add_variables(lower=0, coords=da(np.zeros((P, T)), "p", "t").coords, name=name)
        grouped = expr_by_offer.groupby(provider_of).sum()
        m.add_constraints(tot - grouped == 0, name=f"{name}-balance")
        return tot

    spend = None
    if d.need_spend:
        by_offer = (x * da(d.spend_x, "o", "k", "start", "t")).sum(["k", "start"]) + (
            base_mkt * da(d.spend_z, "o", "m", "t", **mk)
        ).sum(["w", "m"])
        spend = totals(by_offer, "spend")
    if len(d.share_capped):
        if d.by_gpus:
            gpus = da(inp.gpus, "o")
            by_offer = R * gpus + (base_mkt * gpus).sum(["w", "m"])
            tot = totals(by_offer, "gpus")
            const = np.zeros_like(d.existing_spend)
        else:
            tot = spend
            const = d.existing_spend
        capped = d.share_capped
        share = inp.max_share[capped]
        coef = (capped[:, None] == np.arange(P)[None, :]) - share[:, None]  # (cap, p)
        rhs = share[:, None] * const.sum(axis=0)[None, :] - const[capped]
        coords["cap"] = capped
        m.add_constraints(
            (tot * da(coef, "cap", "p")).sum("p") <= da(rhs, "cap", "t"), name="share"
        )
    # power
    site_capped = np.isfinite(inp.site_power_mw)
    total_capped = np.isfinite(inp.total_power_mw)
    if site_capped.any() or total_capped.any():
        mw = da(d.mw, "o")
        load = R * mw + (base_mkt * mw).sum(["w", "m"])  # (o, t) MW
        if site_capped.any():
            site_of = xr.DataArray(inp.offer_site, coords={"o": coords["o"]}, dims="o", name="g")
            m.add_constraints(
                load.groupby(site_of).sum()
                <= da(np.where(site_capped, inp.site_power_mw, 0.0), "g", "t"),
                name="power-site",
                mask=da(site_capped, "g", "t"),
            )
        if total_capped.any():
            m.add_constraints(
                load.sum("o") <= da(np.where(total_capped, inp.total_power_mw, 0.0), "t"),
                name="power-total",
                mask=da(total_capped, "t"),
            )
    # power in each outage scenario: the reserved capacity that is up + that scenario's market
    if S > 1 and (site_capped.any() or total_capped.any()):
        out = {"scen": np.arange(1, S)}
        up_mw = da(inp.up[1:S].T * d.mw[:, None], "o", "scen", **out)  # (o, scen) MW per R
        out_mkt = z.sel(scen=out["scen"], m=[ONDEMAND, SPOT])
        load = R * up_mw + (out_mkt * da(d.mw, "o")).sum(["w", "m"])  # (o, t, scen) MW
        if site_capped.any():
            site_of = xr.DataArray(inp.offer_site, coords={"o": coords["o"]}, dims="o", name="g")
            cap_mw = np.where(site_capped, inp.site_power_mw, 0.0)
            m.add_constraints(
                load.groupby(site_of).sum() <= da(cap_mw, "g", "t"),
                name="power-site-outage",
                mask=da(
                    d.site_up[1:].T[:, None, :] & site_capped[:, :, None], "g", "t", "scen", **out
                ),
            )
        if total_capped.any():
            m.add_constraints(
                load.sum("o") <= da(np.where(total_capped, inp.total_power_mw, 0.0), "t"),
                name="power-total-outage",
                mask=da(np.broadcast_to(total_capped[:, None], (T, S - 1)), "t", "scen", **out),
            )
    # budget
    if len(inp.budget_years):
        years = inp.budget_years
        year_of_t = np.searchsorted(years, inp.tl.calendar_year)
        ind = (year_of_t[None, :] == np.arange(len(years))[:, None]).astype(float)
        const = np.bincount(year_of_t, weights=d.existing_spend.sum(axis=0), minlength=len(years))
        coords["y"] = np.arange(len(years))
        m.add_constraints(
            (spend * da(ind, "y", "t")).sum(["p", "t"]) <= da(inp.budget_usd * MUSD - const, "y"),
            name="budget",
        )
        if S > 1:
            # each outage scenario's year: reserved spend (paid whatever is down, held once per
            # year in reserved-spend[y]) + that scenario's on-demand and spot spend <= budget
            res = m.add_variables(lower=0, coords=da(const, "y").coords, name="reserved-spend")
            res_coef = np.einsum("okst,yt->oksy", d.spend_x, ind)  # MUSD per reservation per year
            m.add_constraints(
                res - (x * da(res_coef, "o", "k", "start", "y")).sum(["o", "k", "start"]) == 0,
                name="reserved-spend-balance",
            )
            out = {"scen": np.arange(1, S)}
            mk = {"m": np.array([ONDEMAND, SPOT])}
            out_mkt = z.sel(scen=out["scen"], m=[ONDEMAND, SPOT])
            spend_t = (out_mkt * da(d.mkt_spend[:, 1:], "o", "m", "t", **mk)).sum(["w", "o", "m"])
            year_of = xr.DataArray(year_of_t, coords={"t": coords["t"]}, dims="t", name="y")
            m.add_constraints(
                res + spend_t.groupby(year_of).sum() <= da(inp.budget_usd * MUSD - const, "y"),
                name="budget-outage",
            )
    # take-or-pay
    if len(d.live):
        live = d.live
        coords["c"] = live
        frac = inp.contract_hours[live] / d.hours[None, :]
        pc = inp.contract_provider[live]
        a = np.zeros((len(live), P, T))
        a[np.arange(len(live)), pc] = frac
        const = (d.existing_spend[pc] * frac).sum(axis=1)
        f = m.add_variables(lower=0, coords=da(const, "c").coords, name="shortfall")
        end = np.maximum(inp.contract_end_period[live], 0)
        objective.append((da(d.disc[end], "c") * f).sum())
        m.add_constraints(
            (spend * da(a, "c", "p", "t")).sum(["p", "t"]) + f
            >= da(inp.contract_committed[live] * MUSD - const, "c"),
            name="take-or-pay",
        )
    m.add_objective(sum(objective[1:], objective[0]))
    return m


def linopy_to_highs(m: Any) -> Any:
    """The ``highspy.Highs`` instance linopy builds for ``solve(io_api="direct")``."""
    return m.to_highspy()


# ------------------------------------------------------------------------------------------------
# Pyomo
# ------------------------------------------------------------------------------------------------
def _groups(keys: list[tuple], members: list[Any]) -> dict[tuple, list[Any]]:
    out: dict[tuple, list[Any]] = defaultdict(list)
    for key, member in zip(keys, members, strict=True):
        out[key].append(member)
    return out


def build_pyomo(inp: PlanInputs, *, integer: bool = False, outages: bool = True) -> Any:
    """The planning model as a ``pyomo.environ.ConcreteModel``."""
    import pyomo.environ as pe

    d = Dense(inp, outages)
    T = d.T
    hours = d.hours
    quicksum = pe.quicksum
    mdl = pe.ConcreteModel()

    def bound(v: float) -> float | None:
        return None if not np.isfinite(v) else float(v)

    # reserve x[o,k,s]
    x_keys = list(zip(*(a.tolist() for a in np.nonzero(d.x_mask)), strict=True))
    mdl.X = pe.Set(initialize=x_keys, dimen=3, ordered=False)
    mdl.x = pe.Var(mdl.X, domain=pe.NonNegativeIntegers if integer else pe.NonNegativeReals)
    x_cost = d.x_cost
    lead, term_len = inp.lead.tolist(), inp.term_len.tolist()
    # periods each reservation covers: from s + lead[o], term_len[o][k] periods, cut at T
    span = {
        (o, k, s): range(s + lead[o], min(s + lead[o] + term_len[o][k], T)) for o, k, s in x_keys
    }
    cover: dict[tuple, list[tuple]] = defaultdict(list)  # (o, t) -> x keys active in t
    for key, periods in span.items():
        for t in periods:
            cover[key[0], t].append(key)
    # capacity R[o,t]
    r_keys = [(o, t) for o in np.flatnonzero(d.r_offer).tolist() for t in range(T)]
    r_ub = d.r_ub
    mdl.Rset = pe.Set(initialize=r_keys, dimen=2, ordered=False)
    mdl.R = pe.Var(mdl.Rset, bounds=lambda m, o, t: (0, bound(r_ub[o, t])))
    existing = inp.existing

    def balance(m: Any, o: int, t: int) -> Any:
        return m.R[o, t] - quicksum(m.x[key] for key in cover.get((o, t), ())) == float(
            existing[o, t]
        )

    mdl.reserved_balance = pe.Constraint(mdl.Rset, rule=balance)
    if d.supply_mask.any():
        by_start: dict[tuple, list[tuple]] = defaultdict(list)
        for o, k, s in x_keys:
            by_start[o, s].append((o, k, s))
        s_keys = list(zip(*(a.tolist() for a in np.nonzero(d.supply_mask)), strict=True))
        supply = inp.supply
        mdl.Sset = pe.Set(initialize=s_keys, dimen=2, ordered=False)
        mdl.supply = pe.Constraint(
            mdl.Sset,
            rule=lambda m, o, s: (
                quicksum(m.x[key] for key in by_start[o, s]) <= float(supply[o, s])
            ),
        )
    # allocate z[w,o,m,t,s]
    zw, zo, zm, zt, zs = np.nonzero(d.z_mask)
    z_keys = list(zip(zw.tolist(), zo.tolist(), zm.tolist(), zt.tolist(), zs.tolist(), strict=True))
    z_ub = d.z_ub
    mdl.Z = pe.Set(initialize=z_keys, dimen=5, ordered=False)
    mdl.z = pe.Var(mdl.Z, bounds=lambda m, w, o, mk, t, s: (0, bound(z_ub[w])))
    weight = inp.weight
    z_price = d.z_price
    # pools
    pool_res: dict[tuple, list[tuple]] = defaultdict(list)
    pool_mkt: dict[tuple, list[tuple]] = defaultdict(list)
    for key in z_keys:
        w, o, mk, t, s = key
        if mk == RESERVED:
            pool_res[o, t, s].append(key)
        else:
            pool_mkt[o, mk, t, s].append(key)
    mdl.PR = pe.Set(initialize=list(pool_res), dimen=3, ordered=False)
    mdl.pool_reserved = pe.Constraint(
        mdl.PR, rule=lambda m, o, t, s: quicksum(m.z[k] for k in pool_res[o, t, s]) - m.R[o, t] <= 0
    )
    cap = inp.market_cap
    pm_keys = [k for k in pool_mkt if np.isfinite(cap[k[0], k[1], k[2]])]
    if pm_keys:
        mdl.PM = pe.Set(initialize=pm_keys, dimen=4, ordered=False)
        mdl.pool_market = pe.Constraint(
            mdl.PM,
            rule=lambda m, o, mk, t, s: (
                quicksum(m.z[k] for k in pool_mkt[o, mk, t, s]) <= float(cap[o, mk, t])
            ),
        )
    # demand
    need = d.need
    u_keys = list(zip(*(a.tolist() for a in np.nonzero(need > 0)), strict=True))
    mdl.U = pe.Set(initialize=u_keys, dimen=3, ordered=False)
    mdl.u = pe.Var(mdl.U, bounds=lambda m, w, t, s: (0, float(need[w, t, s])))
    perf = inp.perf
    by_demand: dict[tuple, list[tuple]] = defaultdict(list)
    for key in z_keys:
        w, o, mk, t, s = key
        if need[w, t, s] > 0:
            by_demand[w, t, s].append(key)
    mdl.demand = pe.Constraint(
        mdl.U,
        rule=lambda m, w, t, s: (
            quicksum(float(perf[k[0], k[1]]) * m.z[k] for k in by_demand.get((w, t, s), ()))
            + m.u[w, t, s]
            == float(need[w, t, s])
        ),
    )
    onb_keys = [(w, t, s) for w, t, s in u_keys if s > 0]
    if onb_keys:
        onb_rhs = d.onb_rhs
        mdl.ONB = pe.Set(initialize=onb_keys, dimen=3, ordered=False)
        mdl.outage_not_better = pe.Constraint(
            mdl.ONB,
            rule=lambda m, w, t, s: m.u[w, t, 0] - m.u[w, t, s] <= float(onb_rhs[w, t]),
        )
    objective = [
        quicksum(float(x_cost[key]) * mdl.x[key] for key in x_keys),
        quicksum(
            float(weight[s] * z_price[o, mk, t]) * mdl.z[w, o, mk, t, s]
            for w, o, mk, t, s in z_keys
            if weight[s] * z_price[o, mk, t] != 0
        ),
        quicksum(float(d.u_cost[key]) * mdl.u[key] for key in u_keys),
    ]
    # training
    if len(d.train):
        train = d.train.tolist()
        compute = inp.compute
        mdl.TW = pe.Set(initialize=train, ordered=False)
        mdl.ut = pe.Var(mdl.TW, bounds=lambda m, w: (0, float(compute[w])))
        base_by_w: dict[int, list[tuple]] = defaultdict(list)
        for key in z_keys:
            if key[4] == 0 and d.training[key[0]]:
                base_by_w[key[0]].append(key)
        mdl.training_compute = pe.Constraint(
            mdl.TW,
            rule=lambda m, w: (
                quicksum(float(hours[k[3]] * perf[w, k[1]]) * m.z[k] for k in base_by_w[w])
                + m.ut[w]
                == float(compute[w])
            ),
        )
        objective.append(
            quicksum(float(c) * mdl.ut[w] for w, c in zip(train, d.train_cost, strict=True))
        )
        if len(d.capped_train):
            capped = set(d.capped_train.tolist())
            by_wt = _groups(
                [(k[0], k[3]) for w in capped for k in base_by_w[w]],
                [k for w in capped for k in base_by_w[w]],
            )
            max_inst = inp.max_instances
            mdl.TI = pe.Set(initialize=list(by_wt), dimen=2, ordered=False)
            mdl.training_instances = pe.Constraint(
                mdl.TI,
                rule=lambda m, w, t: quicksum(m.z[k] for k in by_wt[w, t]) <= float(max_inst[w]),
            )
    # single site
    if len(d.single):
        site = inp.offer_site
        single = set(d.single.tolist())
        base_single = [k for k in z_keys if k[4] == 0 and k[0] in single]
        by_wg: dict[tuple, list[tuple]] = _groups(
            [(k[0], int(site[k[1]]), k[3]) for k in base_single], base_single
        )
        b_keys = sorted({(w, g) for w, g, _t in by_wg})
        mdl.B = pe.Set(initialize=b_keys, dimen=2, ordered=False)
        mdl.b = pe.Var(mdl.B, domain=pe.Binary)
        sites_of = _groups([(w,) for w, _g in b_keys], [g for _w, g in b_keys])
        # a run with no allocation column has no site to choose (and no site-choice row)
        mdl.SW = pe.Set(initialize=sorted({w for w, _g in b_keys}), ordered=False)
        mdl.site_choice = pe.Constraint(
            mdl.SW, rule=lambda m, w: quicksum(m.b[w, g] for g in sites_of[(w,)]) == 1
        )
        big_m = d.big_m
        mdl.LK = pe.Set(initialize=list(by_wg), dimen=3, ordered=False)
        mdl.site_link = pe.Constraint(
            mdl.LK,
            rule=lambda m, w, g, t: (
                quicksum(m.z[k] for k in by_wg[w, g, t]) - float(big_m[w]) * m.b[w, g] <= 0
            ),
        )
    # spend and GPU totals per provider and period
    prov = inp.offer_provider
    P = d.P
    pt_keys = [(p, t) for p in range(P) for t in range(T)]
    base_mkt = [k for k in z_keys if k[4] == 0 and k[2] != RESERVED]

    def totals(name: str, entries: dict[tuple, list[tuple[float, Any]]]) -> Any:
        var = pe.Var(pt_keys, domain=pe.NonNegativeReals)
        mdl.add_component(name, var)
        mdl.add_component(
            f"{name}_balance",
            pe.Constraint(
                pt_keys,
                rule=lambda m, p, t: (
                    var[p, t] - quicksum(c * v for c, v in entries.get((p, t), ()) if c != 0) == 0
                ),
            ),
        )
        return var

    spend = None
    if d.need_spend:
        entries: dict[tuple, list[tuple[float, Any]]] = defaultdict(list)
        for (o, k, s), periods in span.items():
            for t in periods:
                entries[int(prov[o]), t].append((float(d.unit[o, k, t]), mdl.x[o, k, s]))
        for key in base_mkt:
            w, o, mk, t, _s = key
            entries[int(prov[o]), t].append((float(d.spend_z[o, mk - 1, t]), mdl.z[key]))
        spend = totals("spend", entries)
    if len(d.share_capped):
        if d.by_gpus:
            g_entries: dict[tuple, list[tuple[float, Any]]] = defaultdict(list)
            for o, t in r_keys:
                g_entries[int(prov[o]), t].append((float(inp.gpus[o]), mdl.R[o, t]))
            for key in base_mkt:
                g_entries[int(prov[key[1]]), key[3]].append((float(inp.gpus[key[1]]), mdl.z[key]))
            tot = totals("gpus", g_entries)
            const = np.zeros_like(d.existing_spend)
        else:
            tot, const = spend, d.existing_spend
        share = inp.max_share
        rows = [(p, t) for p in d.share_capped.tolist() for t in range(T)]

        def share_rule(m: Any, p: int, t: int) -> Any:
            lhs = quicksum(
                float((q == p) - share[p]) * tot[q, t] for q in range(P) if (q == p) != share[p]
            )
            return lhs <= float(share[p] * const[:, t].sum() - const[p, t])

        mdl.share = pe.Constraint(rows, rule=share_rule)
    # power
    site_capped = np.isfinite(inp.site_power_mw)
    total_capped = np.isfinite(inp.total_power_mw)
    if site_capped.any() or total_capped.any():
        mw = d.mw
        load: list[tuple[int, int, float, Any]] = [
            (int(inp.offer_site[o]), t, float(mw[o]), mdl.R[o, t]) for o, t in r_keys
        ] + [(int(inp.offer_site[k[1]]), k[3], float(mw[k[1]]), mdl.z[k]) for k in base_mkt]
        load = [e for e in load if e[2] != 0]
        if site_capped.any():
            by_gt = _groups([(g, t) for g, t, _c, _v in load], [(c, v) for _g, _t, c, v in load])
            cap_mw = inp.site_power_mw
            rows = [(g, t) for g, t in zip(*np.nonzero(site_capped), strict=True)]
            rows = [(int(g), int(t)) for g, t in rows if (int(g), int(t)) in by_gt]
            mdl.power_site = pe.Constraint(
                rows,
                rule=lambda m, g, t: quicksum(c * v for c, v in by_gt[g, t]) <= float(cap_mw[g, t]),
            )
        if total_capped.any():
            by_t = _groups([(t,) for _g, t, _c, _v in load], [(c, v) for _g, _t, c, v in load])
            rows = [int(t) for t in np.flatnonzero(total_capped) if (int(t),) in by_t]
            total_mw = inp.total_power_mw
            mdl.power_total = pe.Constraint(
                rows,
                rule=lambda m, t: quicksum(c * v for c, v in by_t[(t,)]) <= float(total_mw[t]),
            )
    S = d.S
    out_mkt = [k for k in z_keys if k[4] > 0 and k[2] != RESERVED]
    if S > 1 and (site_capped.any() or total_capped.any()):
        # each outage scenario: the reserved capacity that is up + that scenario's market
        mw = d.mw
        up = inp.up
        site = inp.offer_site
        o_load = [
            (s, int(site[o]), t, float(mw[o]), mdl.R[o, t])
            for s in range(1, S)
            for o, t in r_keys
            if up[s, o]
        ] + [(k[4], int(site[k[1]]), k[3], float(mw[k[1]]), mdl.z[k]) for k in out_mkt]
        o_load = [e for e in o_load if e[3] != 0]
        if site_capped.any():
            by_sgt = _groups([e[:3] for e in o_load], [(e[3], e[4]) for e in o_load])
            cap_mw = inp.site_power_mw
            rows = [
                (s, int(g), int(t))
                for s in range(1, S)
                for g, t in zip(*np.nonzero(site_capped), strict=True)
                if d.site_up[s, g] and (s, int(g), int(t)) in by_sgt
            ]
            mdl.power_site_outage = pe.Constraint(
                rows,
                rule=lambda m, s, g, t: (
                    quicksum(c * v for c, v in by_sgt[s, g, t]) <= float(cap_mw[g, t])
                ),
            )
        if total_capped.any():
            by_st = _groups([(e[0], e[2]) for e in o_load], [(e[3], e[4]) for e in o_load])
            rows = [
                (s, int(t))
                for s in range(1, S)
                for t in np.flatnonzero(total_capped)
                if (s, int(t)) in by_st
            ]
            total_mw = inp.total_power_mw
            mdl.power_total_outage = pe.Constraint(
                rows,
                rule=lambda m, s, t: quicksum(c * v for c, v in by_st[s, t]) <= float(total_mw[t]),
            )
    # budget
    if len(inp.budget_years):
        years = inp.budget_years
        year_of_t = np.searchsorted(years, inp.tl.calendar_year)
        const = np.bincount(year_of_t, weights=d.existing_spend.sum(axis=0), minlength=len(years))
        budget = inp.budget_usd
        mdl.budget = pe.Constraint(
            range(len(years)),
            rule=lambda m, y: (
                quicksum(spend[p, t] for p in range(P) for t in range(T) if year_of_t[t] == y)
                <= float(budget[y] * MUSD - const[y])
            ),
        )
        if S > 1:
            # each outage scenario's year: reserved spend (paid whatever is down, held once per
            # year in reserved_spend[y]) + that scenario's on-demand and spot spend <= budget
            Y = len(years)
            mdl.reserved_spend = pe.Var(range(Y), domain=pe.NonNegativeReals)
            res_terms: dict[int, dict[tuple, float]] = defaultdict(lambda: defaultdict(float))
            for (o, k, s), periods in span.items():
                for t in periods:
                    res_terms[int(year_of_t[t])][o, k, s] += float(d.unit[o, k, t])
            mdl.reserved_spend_balance = pe.Constraint(
                range(Y),
                rule=lambda m, y: (
                    m.reserved_spend[y]
                    - quicksum(c * m.x[key] for key, c in res_terms[y].items() if c != 0)
                    == 0
                ),
            )
            mkt_spend = d.mkt_spend
            by_sy = _groups(
                [(k[4], int(year_of_t[k[3]])) for k in out_mkt],
                [(float(mkt_spend[k[1], k[2], k[3]]), mdl.z[k]) for k in out_mkt],
            )
            mdl.budget_outage = pe.Constraint(
                [(s, y) for s in range(1, S) for y in range(Y)],
                rule=lambda m, s, y: (
                    m.reserved_spend[y]
                    + quicksum(c * v for c, v in by_sy.get((s, y), ()) if c != 0)
                    <= float(budget[y] * MUSD - const[y])
                ),
            )
    # take-or-pay
    if len(d.live):
        live = d.live.tolist()
        frac = inp.contract_hours / hours[None, :]
        pc = inp.contract_provider
        committed = inp.contract_committed
        end = np.maximum(inp.contract_end_period, 0)
        mdl.C = pe.Set(initialize=live, ordered=False)
        mdl.f = pe.Var(mdl.C, domain=pe.NonNegativeReals)

        def top_rule(m: Any, c: int) -> Any:
            p = int(pc[c])
            const = float((d.existing_spend[p] * frac[c]).sum())
            return quicksum(
                float(frac[c, t]) * spend[p, t] for t in range(T) if frac[c, t] > 0
            ) + m.f[c] >= float(committed[c] * MUSD - const)

        mdl.take_or_pay = pe.Constraint(mdl.C, rule=top_rule)
        objective.append(quicksum(float(d.disc[end[c]]) * mdl.f[c] for c in live))
    mdl.obj = pe.Objective(expr=quicksum(objective), sense=pe.minimize)
    return mdl


def pyomo_to_highs(mdl: Any) -> tuple[Any, Any]:
    """Hand the Pyomo model to HiGHS through the APPSI persistent interface: (solver, Highs)."""
    from pyomo.contrib.appsi.solvers import Highs

    opt = Highs()
    opt.config.stream_solver = False
    opt.set_instance(mdl)
    return opt, opt._solver_model
