"""A plan compiled into the arrays the simulator runs on (:class:`SimInputs`).

Pools are the offers the plan holds capacity in during the simulated window, plus the offers an
inference workload may burst to (on-demand, within caps). Everything is indexed by period ``t``
(the plan's periods that the window touches), pool ``p`` and workload ``w``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hyperplan.catalog.market_caps import MARKETS, ONDEMAND, RESERVED, SPOT
from hyperplan.errors import InputError, Problem
from hyperplan.plan.artifact import Plan
from hyperplan.plan.context import Outage
from hyperplan.scenario.schema import Scenario
from hyperplan.sim.models import HOURS_PER_YEAR, SimConfig

R, OD, SP = RESERVED, ONDEMAND, SPOT  # the short names sim/dispatch.py indexes with
#: holders inference may preempt on failover, when priorities tie: batch first, then training,
#: then agents (the design's "preempting training, then agents")
PREEMPT_KIND_ORDER = {"batch": 0, "training": 1, "agents": 2}


@dataclass
class Domain:
    """A failure domain: a provider or a region (site) with its outage model."""

    name: str  # "aws" or "aws:us-east-1"
    kind: str  # "provider" | "region"
    rate_per_year: float
    mean_hours: float
    sigma: float
    control_plane_share: float


@dataclass
class Run:
    """A training run the window touches."""

    w: int  # workload index
    name: str
    compute: float  # reference GPU-hours to deliver
    plan_rate: np.ndarray  # (T_all,) planned reference GPU-hours per hour, every plan period
    period_start_h: np.ndarray  # (T_all + 1,) hours since the horizon start
    plan_cum: np.ndarray  # (T_all + 1,) planned cumulative work at each period start
    plan_finish_h: float  # hours since start at which the plan delivers ``compute``
    gpus_plan: np.ndarray  # (T,) planned GPUs in the simulated periods


@dataclass
class SimInputs:
    """Arrays of one plan, ready to simulate (picklable: numpy arrays and plain lists)."""

    name: str
    step_hours: float
    steps: int
    hours: float  # simulated hours = steps × step_hours
    period_of_step: np.ndarray  # (S,)
    period_labels: list[str]
    period_hours: np.ndarray  # (T,) calendar hours of each simulated period
    steps_in_period: np.ndarray  # (T,)
    blocks: list[tuple[int, int, int]]  # (period, first step, end step), in order
    # pools
    pool_ids: list[str]
    n_cap: int  # pools [0, n_cap) hold capacity in the plan; the others are burst targets only
    pool_provider: list[str]
    pool_site: np.ndarray  # (P,) index into sites
    gpus: np.ndarray  # (P,)
    reserved: np.ndarray  # (T, P) planned reserved instances (incl. existing and idle)
    ondemand: np.ndarray  # (T, P) planned on-demand instances
    spot: np.ndarray  # (T, P) planned spot instances
    price_od: np.ndarray  # (T, P) USD per instance-hour (NaN: not sold)
    price_spot: np.ndarray  # (T, P)
    burst_headroom: (
        np.ndarray
    )  # (T, P) on-demand instances obtainable beyond the plan (inf: no cap)
    spot_lost_hours: np.ndarray  # (P,) work hours a reclaimed spot instance loses
    # workloads
    workloads: list[str]
    kinds: list[str]
    priorities: np.ndarray  # (W,)
    preemptible: np.ndarray  # (W,) may also be preempted for inference demand above plan
    demand: np.ndarray  # (W, T) demand units per hour (0 outside the window)
    perf: np.ndarray  # (W, P) demand units per instance (0: not allowed)
    alloc: np.ndarray  # (W, 3, T, P) planned instances per market
    burst_ok: np.ndarray  # (W,) on-demand allowed
    inference: list[int]  # inference workloads, dispatch order (priority desc, plan order)
    preempt_order: list[int]  # non-inference workloads inference may preempt, in that order
    others: list[int]  # non-inference workloads
    burst_order: dict[tuple[int, int], np.ndarray]  # (w, t) -> pools by on-demand price per unit
    runs: list[Run]
    # costs
    fixed_usd: np.ndarray  # (T,) reserved + existing spend of each simulated period (plan)
    commit_pool: np.ndarray  # (C,) pool of each new commitment
    commit_start: np.ndarray  # (C,) start period
    commit_instances: np.ndarray  # (C,)
    commit_usd_per_hour: np.ndarray  # (C,)
    commit_keys: list[str]
    # failure domains
    domains: list[Domain]
    providers: list[str]
    sites: list[str]
    site_domains: np.ndarray  # (G, 2) domain indices of a site: provider, region (-1: none)
    warnings: list[str] = field(default_factory=list)

    @property
    def n_pools(self) -> int:
        return len(self.pool_ids)


def _hours_since(start: dt.date, d: dt.date) -> float:
    return (d - start).days * 24.0


def compile_plan(plan: Plan, *, years: float, step_hours: float, config: SimConfig) -> SimInputs:
    """Compile ``plan`` for a window of ``years`` at ``step_hours`` resolution."""
    problems = []
    if not (years > 0 and math.isfinite(years)):
        problems.append(Problem(f"years must be > 0; found {years}", path="--years"))
    if not (step_hours > 0 and math.isfinite(step_hours)):
        problems.append(Problem(f"step must be > 0 hours; found {step_hours}", path="--step"))
    if problems:
        raise InputError(problems)
    tables, ctx = plan.tables, plan.context
    for name in ("workloads", "offers", "markets", "perf", "capacity", "allocation", "spend"):
        if name not in tables:
            raise InputError([Problem(f"the plan has no {name!r} table (an older plan.json?)")])
    warnings: list[str] = []
    starts = list(ctx.period_starts)
    if len(starts) < 2:
        raise InputError([Problem("the plan records no period dates (meta.period_starts)")])
    start_h = np.array([_hours_since(starts[0], d) for d in starts])
    horizon_h = float(start_h[-1])
    want_h = years * HOURS_PER_YEAR
    if want_h > horizon_h + 1e-9:
        warnings.append(
            f"the plan covers {horizon_h:.0f} h; simulating those instead of {want_h:.6g} h"
        )
        want_h = horizon_h
    steps = math.floor(want_h / step_hours + 1e-9)
    if steps < 1:
        raise InputError([Problem(f"the step ({step_hours} h) is longer than the window")])
    step_t0 = np.arange(steps) * step_hours
    period_of_step = np.searchsorted(start_h, step_t0, side="right") - 1
    T = int(period_of_step[-1]) + 1
    labels = list(ctx.periods)[:T]
    period_hours = np.diff(start_h)[:T]
    steps_in_period = np.bincount(period_of_step, minlength=T)

    # --- pools ------------------------------------------------------------------------------
    off = tables["offers"].reset_index(drop=True)
    key = ["provider", "region", "instance_type"]
    oid = off.set_index(key)["offer_id"]
    offer_ids = off["offer_id"].astype(str).to_numpy()
    o_index = {o: i for i, o in enumerate(offer_ids)}
    T_all = len(start_h) - 1

    def offer_of(df: pd.DataFrame) -> np.ndarray:
        if "offer_id" in df.columns:
            ids = df["offer_id"].astype(str).to_numpy()
        else:
            ids = oid.reindex(pd.MultiIndex.from_frame(df[key].astype(str))).to_numpy()
        return np.array([o_index.get(str(i), -1) for i in ids], dtype=int)

    O = len(off)
    cap = tables["capacity"]
    cap_o = offer_of(cap)
    cap_t = cap["period_index"].to_numpy(dtype=int)
    ok = (cap_o >= 0) & (cap_t < T)
    res_full = np.zeros((T, O))
    od_full = np.zeros((T, O))
    sp_full = np.zeros((T, O))
    np.add.at(res_full, (cap_t[ok], cap_o[ok]), cap["reserved_instances"].to_numpy(float)[ok])
    np.add.at(od_full, (cap_t[ok], cap_o[ok]), cap["ondemand_instances"].to_numpy(float)[ok])
    np.add.at(sp_full, (cap_t[ok], cap_o[ok]), cap["spot_instances"].to_numpy(float)[ok])

    mk = tables["markets"]
    mk_o = offer_of(mk)
    mk_t = mk["period_index"].to_numpy(dtype=int)
    okm = (mk_o >= 0) & (mk_t < T)
    price_od_full = np.full((T, O), np.nan)
    price_sp_full = np.full((T, O), np.nan)
    cap_od_full = np.zeros((T, O))
    price_od_full[mk_t[okm], mk_o[okm]] = mk["ondemand_usd_per_hour"].to_numpy(float)[okm]
    price_sp_full[mk_t[okm], mk_o[okm]] = mk["spot_usd_per_hour"].to_numpy(float)[okm]
    cap_od_full[mk_t[okm], mk_o[okm]] = mk["ondemand_cap"].to_numpy(float)[okm]

    # --- workloads ------------------------------------------------------------------------------
    wl = tables["workloads"]
    names = list(pd.unique(wl["workload"].astype(str)))
    W = len(names)
    w_index = {n: i for i, n in enumerate(names)}
    first = wl.drop_duplicates("workload").set_index("workload")
    kinds = [str(first.loc[n, "kind"]) for n in names]
    priorities = np.array([int(first.loc[n, "priority"]) for n in names])
    compute = np.array([float(first.loc[n, "compute_gpu_hours"]) for n in names])
    preemptible = np.array([bool(first.loc[n, "preemptible"]) for n in names], dtype=bool)
    demand = np.zeros((W, T))
    wi = np.array([w_index[str(n)] for n in wl["workload"]])
    wt = wl["period_index"].to_numpy(dtype=int)
    okw = wt < T
    in_window = wl["in_window"].to_numpy(dtype=bool)
    demand[wi[okw], wt[okw]] = (wl["demand"].to_numpy(float) * in_window)[okw]

    perf_full = np.zeros((W, O))
    pf = tables["perf"]
    pw = np.array([w_index.get(str(n), -1) for n in pf["workload"]], dtype=int)
    po = offer_of(pf)
    okp = (pw >= 0) & (po >= 0)
    perf_full[pw[okp], po[okp]] = pf["perf"].to_numpy(float)[okp]

    al = tables["allocation"]
    al_w = np.array([w_index.get(str(n), -1) for n in al["workload"]], dtype=int)
    al_o = offer_of(al)
    al_m = np.array([MARKETS.index(str(m)) for m in al["market"]], dtype=int)
    al_t = al["period_index"].to_numpy(dtype=int)
    al_v = al["instances"].to_numpy(float)
    ok_al = (al_w >= 0) & (al_o >= 0)
    alloc_all = np.zeros((W, 3, T_all, O))
    np.add.at(alloc_all, (al_w[ok_al], al_m[ok_al], al_t[ok_al], al_o[ok_al]), al_v[ok_al])

    # on-demand burst: inference allowed on-demand (its markets, defaulted as the planner does)
    burst_ok = np.array(
        [
            k == "inference" and "ondemand" in ctx.markets_of(n)
            for n, k in zip(names, kinds, strict=True)
        ],
        dtype=bool,
    )

    inference = [i for i in range(W) if kinds[i] == "inference"]
    inference.sort(key=lambda i: (-priorities[i], i))
    others = [i for i in range(W) if kinds[i] != "inference"]
    preempt_order = sorted(
        others, key=lambda i: (priorities[i], PREEMPT_KIND_ORDER.get(kinds[i], 3), i)
    )

    # pools: capacity in the window, or a burst target of some inference workload
    has_cap = (res_full + od_full + sp_full).max(axis=0) > 1e-9
    can_burst = np.zeros(O, dtype=bool)
    for i in inference:
        if burst_ok[i]:
            sellable = np.isfinite(price_od_full) & (cap_od_full - od_full > 1e-9)
            can_burst |= (perf_full[i] > 0) & sellable.any(axis=0)
    # capacity pools first, then pools that only serve as burst targets
    pool_o = np.concatenate([np.flatnonzero(has_cap), np.flatnonzero(can_burst & ~has_cap)])
    n_cap = int(has_cap.sum())
    P = len(pool_o)
    if P == 0:
        warnings.append("the plan holds no capacity in the simulated window")
    sel = np.ix_(np.arange(T), pool_o)
    reserved = res_full[sel]
    ondemand = od_full[sel]
    spot = sp_full[sel]
    price_od = price_od_full[sel]
    price_spot = price_sp_full[sel]
    headroom = np.clip(cap_od_full[sel] - ondemand, 0.0, None)
    headroom = np.where(np.isfinite(price_od), headroom, 0.0)
    perf = perf_full[:, pool_o]
    alloc = alloc_all[:, :, :T][:, :, :, pool_o]
    gpus = off["gpus"].to_numpy(float)[pool_o]
    pool_provider = off["provider"].astype(str).to_numpy()[pool_o].tolist()
    site_names = off["site"].astype(str).to_numpy()[pool_o]
    sites = list(dict.fromkeys(site_names.tolist()))
    pool_site = np.array([sites.index(s) for s in site_names], dtype=int)
    spot_lost = np.array([config.spot_lost_hours(p) for p in pool_provider])

    burst_order: dict[tuple[int, int], np.ndarray] = {}
    for i in inference:
        if not burst_ok[i]:
            continue
        for t in range(T):
            okb = (perf[i] > 0) & (headroom[t] > 0)
            cand = np.flatnonzero(okb)
            if len(cand):
                unit = price_od[t, cand] / perf[i, cand]
                burst_order[(i, t)] = cand[np.lexsort((cand, unit))]

    # --- training runs ----------------------------------------------------------------------
    runs = []
    period_start_h = start_h
    for i in range(W):
        if kinds[i] != "training":
            continue
        rate_all = np.einsum("mto,o->t", alloc_all[i], perf_full[i])
        if rate_all[:T].max(initial=0.0) <= 0:
            continue
        cum = np.concatenate([[0.0], np.cumsum(rate_all * np.diff(start_h))])
        runs.append(
            Run(
                w=i,
                name=names[i],
                compute=float(compute[i]),
                plan_rate=rate_all,
                period_start_h=period_start_h,
                plan_cum=cum,
                plan_finish_h=_finish_time(cum, rate_all, period_start_h, compute[i]),
                gpus_plan=np.einsum("mtp,p->t", alloc[i], gpus),
            )
        )

    # --- fixed costs and commitments ---------------------------------------------------------
    sp = tables["spend"]
    fixed = np.zeros(T)
    sel_sp = sp["market"].isin(["reserved", "existing"]).to_numpy() & (
        sp["period_index"].to_numpy(int) < T
    )
    np.add.at(fixed, sp["period_index"].to_numpy(int)[sel_sp], sp["usd"].to_numpy(float)[sel_sp])
    cm = tables.get("commitments", pd.DataFrame())
    label_index = {lab: t for t, lab in enumerate(ctx.periods)}
    pool_of_offer = {int(o): p for p, o in enumerate(pool_o)}
    c_pool, c_start, c_n, c_usd, c_keys = [], [], [], [], []
    if len(cm):
        c_o = offer_of(cm)
        for j in range(len(cm)):
            t0 = label_index.get(str(cm["start"].iloc[j]), -1)
            if c_o[j] < 0 or not (0 <= t0 < T) or int(c_o[j]) not in pool_of_offer:
                continue
            c_pool.append(pool_of_offer[int(c_o[j])])
            c_start.append(t0)
            c_n.append(float(cm["instances"].iloc[j]))
            c_usd.append(float(cm["usd_per_hour"].iloc[j]))
            c_keys.append(
                f"{offer_ids[c_o[j]]}|{int(cm['term_years'].iloc[j])}y|{cm['start'].iloc[j]}"
            )

    # --- failure domains -------------------------------------------------------------------------
    prov_models = ctx.outages.providers
    reg_models = ctx.outages.regions
    providers = list(dict.fromkeys([*ctx.providers, *pool_provider]))
    domains: list[Domain] = []
    dom_index: dict[str, int] = {}

    def add(name: str, kind: str, model: Outage) -> None:
        dom_index[f"{kind}:{name}"] = len(domains)
        domains.append(
            Domain(
                name=name,
                kind=kind,
                rate_per_year=float(model.rate_per_year) * config.outage_rate_scale,
                mean_hours=float(model.mean_hours),
                sigma=float(model.sigma),
                control_plane_share=float(model.control_plane_share),
            )
        )

    for p in providers:
        add(p, "provider", prov_models.get(p, Outage(rate_per_year=0.0)))
    region_set = _simulated_regions(config, ctx.scenario, reg_models)
    for s in sites:
        if s in region_set and s in reg_models:
            add(s, "region", reg_models[s])
    site_domains = np.full((len(sites), 2), -1, dtype=int)
    # a site's provider from its pools (an owned site's provider, owned:<name>, has a colon)
    provider_of_site = dict(zip(site_names.tolist(), pool_provider, strict=True))
    for g, s in enumerate(sites):
        site_domains[g, 0] = dom_index[f"provider:{provider_of_site[s]}"]
        site_domains[g, 1] = dom_index.get(f"region:{s}", -1)

    # --- blocks: never across a period; bounded size so arrays stay in cache -------------------
    block_steps = max(8, 262_144 // max(1, config.chunk_trials * max(P, 1)))
    blocks = []
    for t in range(T):
        k = np.flatnonzero(period_of_step == t)
        if len(k) == 0:
            continue
        for a in range(int(k[0]), int(k[-1]) + 1, block_steps):
            blocks.append((t, a, min(int(k[-1]) + 1, a + block_steps)))

    return SimInputs(
        name=str(plan.scenario_name),
        step_hours=float(step_hours),
        steps=steps,
        hours=steps * step_hours,
        period_of_step=period_of_step,
        period_labels=labels,
        period_hours=period_hours,
        steps_in_period=steps_in_period,
        blocks=blocks,
        pool_ids=offer_ids[pool_o].tolist(),
        n_cap=n_cap,
        pool_provider=pool_provider,
        pool_site=pool_site,
        gpus=gpus,
        reserved=reserved,
        ondemand=ondemand,
        spot=spot,
        price_od=price_od,
        price_spot=price_spot,
        burst_headroom=headroom,
        spot_lost_hours=spot_lost,
        workloads=names,
        kinds=kinds,
        priorities=priorities,
        preemptible=preemptible,
        demand=demand,
        perf=perf,
        alloc=alloc,
        burst_ok=burst_ok,
        inference=inference,
        preempt_order=preempt_order,
        others=others,
        burst_order=burst_order,
        runs=runs,
        fixed_usd=fixed,
        commit_pool=np.array(c_pool, dtype=int),
        commit_start=np.array(c_start, dtype=int),
        commit_instances=np.array(c_n, dtype=float),
        commit_usd_per_hour=np.array(c_usd, dtype=float),
        commit_keys=c_keys,
        domains=domains,
        providers=providers,
        sites=sites,
        site_domains=site_domains,
        warnings=warnings,
    )


def _simulated_regions(
    config: SimConfig, scenario: Scenario | None, reg_models: Mapping[str, Outage]
) -> set[str]:
    """Regions whose outages are simulated (see ``SimConfig.region_outages``)."""
    if config.region_outages == "none":
        return set()
    if config.region_outages == "all":
        return set(reg_models)
    if scenario is None:
        return set()
    if scenario.policies.outages in ("regions", "both"):
        return set(reg_models)
    return {
        f"{p}:{r}"
        for p, spec in scenario.providers.items()
        for r, reg in (spec.regions or {}).items()
        if reg.outage is not None
    }


def _finish_time(cum: np.ndarray, rate: np.ndarray, start_h: np.ndarray, need: float) -> float:
    """Hours since start at which cumulative work ``cum`` (at period starts) reaches ``need``.

    Beyond the last period with work, the run continues at its last planned rate.
    """
    last = np.flatnonzero(rate > 0)
    if not len(last):
        return math.inf
    end = int(last[-1]) + 1  # the end of the last period with planned work
    if need > cum[end]:
        return float(start_h[end] + (need - cum[end]) / rate[last[-1]])
    k = int(np.searchsorted(cum, need, side="left"))
    if k == 0:
        return float(start_h[0])
    t = k - 1
    return float(start_h[t] + (need - cum[t]) / rate[t]) if rate[t] > 0 else float(start_h[k])
