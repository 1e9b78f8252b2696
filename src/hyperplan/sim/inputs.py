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
from hyperplan.plan.context import Outage, PlanContext
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
    """Compile ``plan`` for a window of ``years`` at ``step_hours`` resolution.

    One ``compile_*`` function per family of arrays, in this order (later families read earlier
    ones; warnings collect in that order): the window's steps and periods, the offers' planned
    capacity and markets, the workloads, the pools, the training runs, the costs and
    commitments, the failure domains, then the dispatch blocks.

    Raises:
        InputError: a window or step that is not positive, a plan without its tables or dates,
            or a step longer than the window.
    """
    _check_window(years, step_hours)
    tables, ctx = plan.tables, plan.context
    for name in ("workloads", "offers", "markets", "perf", "capacity", "allocation", "spend"):
        if name not in tables:
            raise InputError([Problem(f"the plan has no {name!r} table (an older plan.json?)")])
    warnings: list[str] = []
    win = compile_window(ctx, years, step_hours, warnings)
    off = compile_offers(tables, win)
    wl = compile_workloads(tables, ctx, win, off)
    pools = compile_pools(off, wl, win, config, warnings)
    runs = compile_runs(wl, pools, win)
    costs = compile_costs(tables, ctx, win, off, pools)
    dom = compile_domains(ctx, config, pools)
    return SimInputs(
        name=str(plan.scenario_name),
        step_hours=float(step_hours),
        steps=win.steps,
        hours=win.steps * step_hours,
        period_of_step=win.period_of_step,
        period_labels=win.labels,
        period_hours=win.period_hours,
        steps_in_period=win.steps_in_period,
        blocks=compile_blocks(win, pools.n_pools, config),
        pool_ids=off.offer_ids[pools.pool_o].tolist(),
        n_cap=pools.n_cap,
        pool_provider=pools.pool_provider,
        pool_site=pools.pool_site,
        gpus=pools.gpus,
        reserved=pools.reserved,
        ondemand=pools.ondemand,
        spot=pools.spot,
        price_od=pools.price_od,
        price_spot=pools.price_spot,
        burst_headroom=pools.headroom,
        spot_lost_hours=pools.spot_lost,
        workloads=wl.names,
        kinds=wl.kinds,
        priorities=wl.priorities,
        preemptible=wl.preemptible,
        demand=wl.demand,
        perf=pools.perf,
        alloc=pools.alloc,
        burst_ok=wl.burst_ok,
        inference=wl.inference,
        preempt_order=wl.preempt_order,
        others=wl.others,
        burst_order=pools.burst_order,
        runs=runs,
        fixed_usd=costs.fixed,
        commit_pool=costs.pool,
        commit_start=costs.start,
        commit_instances=costs.instances,
        commit_usd_per_hour=costs.usd_per_hour,
        commit_keys=costs.keys,
        domains=dom.domains,
        providers=dom.providers,
        sites=pools.sites,
        site_domains=dom.site_domains,
        warnings=warnings,
    )


def _check_window(years: float, step_hours: float) -> None:
    """Raise :class:`InputError` (located at ``--years`` / ``--step``) unless both are > 0."""
    problems = []
    if not (years > 0 and math.isfinite(years)):
        problems.append(Problem(f"years must be > 0; found {years}", path="--years"))
    if not (step_hours > 0 and math.isfinite(step_hours)):
        problems.append(Problem(f"step must be > 0 hours; found {step_hours}", path="--step"))
    if problems:
        raise InputError(problems)


@dataclass
class Window:
    """The simulated window: ``steps`` steps of ``step_hours`` over the plan's first ``T``
    periods (the ones the window touches). Hours since the horizon start."""

    start_h: np.ndarray  # (T_all + 1,) every plan period's start, then the horizon's end
    steps: int
    period_of_step: np.ndarray  # (S,) the period each step starts in
    labels: list[str]  # (T,)
    period_hours: np.ndarray  # (T,) calendar hours of each simulated period
    steps_in_period: np.ndarray  # (T,)

    @property
    def T(self) -> int:
        """Periods the window touches."""
        return len(self.period_hours)

    @property
    def T_all(self) -> int:
        """Periods of the plan."""
        return len(self.start_h) - 1


def compile_window(
    ctx: PlanContext, years: float, step_hours: float, warnings: list[str]
) -> Window:
    """The steps of ``years`` (at most the plan's horizon: appends a warning when it is
    shorter) at ``step_hours``, and the periods they fall in."""
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
    return Window(
        start_h=start_h,
        steps=steps,
        period_of_step=period_of_step,
        labels=list(ctx.periods)[:T],
        period_hours=np.diff(start_h)[:T],
        steps_in_period=np.bincount(period_of_step, minlength=T),
    )


@dataclass
class OfferGrid:
    """The plan's offers (``O``, in the offers table's order) and, per simulated period and
    offer, the planned instances and the markets' prices (USD per instance-hour) and caps."""

    offers: pd.DataFrame  # the offers table, index 0..O-1
    offer_ids: np.ndarray  # (O,) str
    reserved: np.ndarray  # (T, O) planned reserved instances
    ondemand: np.ndarray  # (T, O) planned on-demand instances
    spot: np.ndarray  # (T, O) planned spot instances
    price_od: np.ndarray  # (T, O) NaN: not sold
    price_spot: np.ndarray  # (T, O) NaN: not sold
    cap_od: np.ndarray  # (T, O) on-demand instances obtainable (inf: no cap)
    _by_key: pd.Series = field(repr=False)  # offer_id by (provider, region, instance_type)
    _index: dict[str, int] = field(repr=False)  # offer_id -> position

    @property
    def size(self) -> int:
        """``O``."""
        return len(self.offers)

    def index_of(self, df: pd.DataFrame) -> np.ndarray:
        """The offer position of each row of ``df`` (by ``offer_id``, else by provider, region
        and instance type); -1 where the plan has no such offer."""
        if "offer_id" in df.columns:
            ids = df["offer_id"].astype(str).to_numpy()
        else:
            ids = self._by_key.reindex(pd.MultiIndex.from_frame(df[_OFFER_KEY].astype(str)))
            ids = ids.to_numpy()
        return np.array([self._index.get(str(i), -1) for i in ids], dtype=int)


_OFFER_KEY = ["provider", "region", "instance_type"]


def compile_offers(tables: Mapping[str, pd.DataFrame], win: Window) -> OfferGrid:
    """The ``capacity`` and ``markets`` tables on a (period, offer) grid; rows of periods
    beyond the window and of offers the plan does not list are dropped."""
    off = tables["offers"].reset_index(drop=True)
    offer_ids = off["offer_id"].astype(str).to_numpy()
    T, O = win.T, len(off)
    grid = OfferGrid(
        offers=off,
        offer_ids=offer_ids,
        reserved=np.zeros((T, O)),
        ondemand=np.zeros((T, O)),
        spot=np.zeros((T, O)),
        price_od=np.full((T, O), np.nan),
        price_spot=np.full((T, O), np.nan),
        cap_od=np.zeros((T, O)),
        _by_key=off.set_index(_OFFER_KEY)["offer_id"],
        _index={o: i for i, o in enumerate(offer_ids)},
    )
    cap, cells = _cells(tables["capacity"], grid, T)
    for target, column in (
        (grid.reserved, "reserved_instances"),
        (grid.ondemand, "ondemand_instances"),
        (grid.spot, "spot_instances"),
    ):
        np.add.at(target, cells, cap[column].to_numpy(float))
    mk, cells = _cells(tables["markets"], grid, T)
    for target, column in (
        (grid.price_od, "ondemand_usd_per_hour"),
        (grid.price_spot, "spot_usd_per_hour"),
        (grid.cap_od, "ondemand_cap"),
    ):
        target[cells] = mk[column].to_numpy(float)
    return grid


def _cells(
    table: pd.DataFrame, grid: OfferGrid, T: int
) -> tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray]]:
    """The rows of a per-(period, offer) ``table`` in the simulated periods with an offer the
    plan lists, and their cells ``(period, offer)`` on the grid."""
    o = grid.index_of(table)
    t = table["period_index"].to_numpy(dtype=int)
    ok = (o >= 0) & (t < T)
    return table[ok], (t[ok], o[ok])


@dataclass
class WorkloadArrays:
    """The plan's workloads (``W``, in the workloads table's order), their demand and their
    planned allocation over every offer (``O``) and every plan period (``T_all``)."""

    names: list[str]
    kinds: list[str]
    priorities: np.ndarray  # (W,)
    compute: np.ndarray  # (W,) reference GPU-hours a training run delivers
    preemptible: np.ndarray  # (W,) bool
    demand: np.ndarray  # (W, T) demand units per hour (0 outside the window)
    perf: np.ndarray  # (W, O) demand units per instance (0: not allowed)
    alloc: np.ndarray  # (W, 3, T_all, O) planned instances per market
    burst_ok: np.ndarray  # (W,) bool: inference allowed on-demand
    inference: list[int]  # dispatch order: priority desc, plan order
    others: list[int]  # non-inference workloads, plan order
    preempt_order: list[int]  # non-inference workloads inference may preempt, in that order


def compile_workloads(
    tables: Mapping[str, pd.DataFrame], ctx: PlanContext, win: Window, off: OfferGrid
) -> WorkloadArrays:
    """The ``workloads``, ``perf`` and ``allocation`` tables as arrays, and the orders the
    dispatch serves and preempts them in."""
    T, O = win.T, off.size
    wl = tables["workloads"]
    names = list(pd.unique(wl["workload"].astype(str)))
    W = len(names)
    w_index = {n: i for i, n in enumerate(names)}
    first = wl.drop_duplicates("workload").set_index("workload")
    kinds = [str(first.loc[n, "kind"]) for n in names]
    priorities = np.array([int(first.loc[n, "priority"]) for n in names])
    demand = np.zeros((W, T))
    wi = np.array([w_index[str(n)] for n in wl["workload"]])
    wt = wl["period_index"].to_numpy(dtype=int)
    okw = wt < T
    in_window = wl["in_window"].to_numpy(dtype=bool)
    demand[wi[okw], wt[okw]] = (wl["demand"].to_numpy(float) * in_window)[okw]

    perf = np.zeros((W, O))
    pf = tables["perf"]
    pw = np.array([w_index.get(str(n), -1) for n in pf["workload"]], dtype=int)
    po = off.index_of(pf)
    okp = (pw >= 0) & (po >= 0)
    perf[pw[okp], po[okp]] = pf["perf"].to_numpy(float)[okp]

    al = tables["allocation"]
    al_w = np.array([w_index.get(str(n), -1) for n in al["workload"]], dtype=int)
    al_o = off.index_of(al)
    al_m = np.array([MARKETS.index(str(m)) for m in al["market"]], dtype=int)
    al_t = al["period_index"].to_numpy(dtype=int)
    al_v = al["instances"].to_numpy(float)
    ok_al = (al_w >= 0) & (al_o >= 0)
    alloc = np.zeros((W, 3, win.T_all, O))
    np.add.at(alloc, (al_w[ok_al], al_m[ok_al], al_t[ok_al], al_o[ok_al]), al_v[ok_al])

    inference = [i for i in range(W) if kinds[i] == "inference"]
    inference.sort(key=lambda i: (-priorities[i], i))
    others = [i for i in range(W) if kinds[i] != "inference"]
    return WorkloadArrays(
        names=names,
        kinds=kinds,
        priorities=priorities,
        compute=np.array([float(first.loc[n, "compute_gpu_hours"]) for n in names]),
        preemptible=np.array([bool(first.loc[n, "preemptible"]) for n in names], dtype=bool),
        demand=demand,
        perf=perf,
        alloc=alloc,
        # on-demand burst: inference allowed on-demand (its markets, defaulted as the planner does)
        burst_ok=np.array(
            [
                k == "inference" and "ondemand" in ctx.markets_of(n)
                for n, k in zip(names, kinds, strict=True)
            ],
            dtype=bool,
        ),
        inference=inference,
        others=others,
        preempt_order=sorted(
            others, key=lambda i: (priorities[i], PREEMPT_KIND_ORDER.get(kinds[i], 3), i)
        ),
    )


@dataclass
class PoolArrays:
    """The pools (``P``): the offers the plan holds capacity in during the window, then those
    that only serve as an inference workload's on-demand burst target. Per simulated period and
    pool; money USD per instance-hour."""

    pool_o: np.ndarray  # (P,) offer position of each pool
    n_cap: int  # pools [0, n_cap) hold capacity
    reserved: np.ndarray  # (T, P)
    ondemand: np.ndarray  # (T, P)
    spot: np.ndarray  # (T, P)
    price_od: np.ndarray  # (T, P) NaN: not sold
    price_spot: np.ndarray  # (T, P)
    headroom: np.ndarray  # (T, P) on-demand instances obtainable beyond the plan
    perf: np.ndarray  # (W, P)
    alloc: np.ndarray  # (W, 3, T, P)
    gpus: np.ndarray  # (P,)
    pool_provider: list[str]  # (P,)
    site_names: np.ndarray  # (P,) str: each pool's site
    sites: list[str]  # (G,) the pools' sites, first-seen order
    pool_site: np.ndarray  # (P,) index into sites
    spot_lost: np.ndarray  # (P,) work hours a reclaimed spot instance loses
    burst_order: dict[tuple[int, int], np.ndarray]  # (w, t) -> pools by on-demand USD per unit

    @property
    def n_pools(self) -> int:
        """``P``."""
        return len(self.pool_o)


def compile_pools(
    off: OfferGrid, wl: WorkloadArrays, win: Window, config: SimConfig, warnings: list[str]
) -> PoolArrays:
    """Select the pools from the offer grid (appends a warning when there are none) and order
    each burst-capable inference workload's on-demand burst targets, cheapest per unit first
    (ties: pool order)."""
    T = win.T
    has_cap = (off.reserved + off.ondemand + off.spot).max(axis=0) > 1e-9
    sellable = np.isfinite(off.price_od) & (off.cap_od - off.ondemand > 1e-9)
    can_burst = np.zeros(off.size, dtype=bool)
    for i in wl.inference:
        if wl.burst_ok[i]:
            can_burst |= (wl.perf[i] > 0) & sellable.any(axis=0)
    # capacity pools first, then pools that only serve as burst targets
    pool_o = np.concatenate([np.flatnonzero(has_cap), np.flatnonzero(can_burst & ~has_cap)])
    if len(pool_o) == 0:
        warnings.append("the plan holds no capacity in the simulated window")
    sel = np.ix_(np.arange(T), pool_o)
    ondemand = off.ondemand[sel]
    price_od = off.price_od[sel]
    headroom = np.clip(off.cap_od[sel] - ondemand, 0.0, None)
    headroom = np.where(np.isfinite(price_od), headroom, 0.0)
    perf = wl.perf[:, pool_o]
    pool_provider = off.offers["provider"].astype(str).to_numpy()[pool_o].tolist()
    site_names = off.offers["site"].astype(str).to_numpy()[pool_o]
    sites = list(dict.fromkeys(site_names.tolist()))

    burst_order: dict[tuple[int, int], np.ndarray] = {}
    for i in wl.inference:
        if not wl.burst_ok[i]:
            continue
        for t in range(T):
            cand = np.flatnonzero((perf[i] > 0) & (headroom[t] > 0))
            if len(cand):
                unit = price_od[t, cand] / perf[i, cand]
                burst_order[(i, t)] = cand[np.lexsort((cand, unit))]

    return PoolArrays(
        pool_o=pool_o,
        n_cap=int(has_cap.sum()),
        reserved=off.reserved[sel],
        ondemand=ondemand,
        spot=off.spot[sel],
        price_od=price_od,
        price_spot=off.price_spot[sel],
        headroom=headroom,
        perf=perf,
        alloc=wl.alloc[:, :, :T][:, :, :, pool_o],
        gpus=off.offers["gpus"].to_numpy(float)[pool_o],
        pool_provider=pool_provider,
        site_names=site_names,
        sites=sites,
        pool_site=np.array([sites.index(s) for s in site_names], dtype=int),
        spot_lost=np.array([config.spot_lost_hours(p) for p in pool_provider]),
        burst_order=burst_order,
    )


def compile_runs(wl: WorkloadArrays, pools: PoolArrays, win: Window) -> list[Run]:
    """The training runs with planned work in the window (over every plan period: a run may
    finish after the window)."""
    runs = []
    start_h = win.start_h
    for i in range(len(wl.names)):
        if wl.kinds[i] != "training":
            continue
        rate_all = np.einsum("mto,o->t", wl.alloc[i], wl.perf[i])
        if rate_all[: win.T].max(initial=0.0) <= 0:
            continue
        cum = np.concatenate([[0.0], np.cumsum(rate_all * np.diff(start_h))])
        runs.append(
            Run(
                w=i,
                name=wl.names[i],
                compute=float(wl.compute[i]),
                plan_rate=rate_all,
                period_start_h=start_h,
                plan_cum=cum,
                plan_finish_h=_finish_time(cum, rate_all, start_h, wl.compute[i]),
                gpus_plan=np.einsum("mtp,p->t", pools.alloc[i], pools.gpus),
            )
        )
    return runs


@dataclass
class CostArrays:
    """The plan's fixed spend per simulated period (USD) and its new commitments (``C``) that
    start in the window on a pool."""

    fixed: np.ndarray  # (T,) reserved + existing spend of each simulated period
    pool: np.ndarray  # (C,) pool of each new commitment
    start: np.ndarray  # (C,) start period
    instances: np.ndarray  # (C,)
    usd_per_hour: np.ndarray  # (C,) USD per hour of the whole commitment
    keys: list[str]  # (C,) "offer|<term>y|<start>"


def compile_costs(
    tables: Mapping[str, pd.DataFrame],
    ctx: PlanContext,
    win: Window,
    off: OfferGrid,
    pools: PoolArrays,
) -> CostArrays:
    """The ``spend`` table's reserved and existing spend, and the ``commitments`` table's
    rows whose offer is a pool and whose start is a simulated period, in the table's order."""
    T = win.T
    sp = tables["spend"]
    fixed = np.zeros(T)
    sel_sp = sp["market"].isin(["reserved", "existing"]).to_numpy() & (
        sp["period_index"].to_numpy(int) < T
    )
    np.add.at(fixed, sp["period_index"].to_numpy(int)[sel_sp], sp["usd"].to_numpy(float)[sel_sp])
    cm = tables.get("commitments")
    if cm is None or not len(cm):
        none = np.zeros(0, dtype=int)
        return CostArrays(fixed, none, none.copy(), np.zeros(0), np.zeros(0), [])
    label_index = {lab: t for t, lab in enumerate(ctx.periods)}
    pool_of_offer = np.full(off.size + 1, -1, dtype=int)  # the last: offers the plan lacks (-1)
    pool_of_offer[pools.pool_o] = np.arange(pools.n_pools)
    c_o = off.index_of(cm)
    starts = cm["start"].to_numpy(dtype=object)  # period labels
    c_start = np.array([label_index.get(str(s), -1) for s in starts], dtype=int)
    c_pool = pool_of_offer[c_o]
    keep = (c_pool >= 0) & (c_start >= 0) & (c_start < T)
    keys = zip(c_o[keep], cm["term_years"].to_numpy()[keep], starts[keep], strict=True)
    return CostArrays(
        fixed=fixed,
        pool=c_pool[keep],
        start=c_start[keep],
        instances=cm["instances"].to_numpy(float)[keep],
        usd_per_hour=cm["usd_per_hour"].to_numpy(float)[keep],
        keys=[f"{off.offer_ids[o]}|{int(y)}y|{s}" for o, y, s in keys],
    )


@dataclass
class DomainArrays:
    """The failure domains: every provider (the plan's, then the pools'), then the regions
    of the pools' sites whose outages are simulated."""

    domains: list[Domain]
    providers: list[str]
    site_domains: np.ndarray  # (G, 2) domain indices of a site: provider, region (-1: none)


def compile_domains(ctx: PlanContext, config: SimConfig, pools: PoolArrays) -> DomainArrays:
    """The failure domains of the plan's outage models (rates scaled by
    ``config.outage_rate_scale``; a provider without a model never fails) and each site's."""
    prov_models = ctx.outages.providers
    reg_models = ctx.outages.regions
    providers = list(dict.fromkeys([*ctx.providers, *pools.pool_provider]))
    domains = [
        _domain(p, "provider", prov_models.get(p, Outage(rate_per_year=0.0)), config)
        for p in providers
    ]
    region_set = _simulated_regions(config, ctx.scenario, reg_models)
    domains += [
        _domain(s, "region", reg_models[s], config)
        for s in pools.sites
        if s in region_set and s in reg_models
    ]
    dom_index = {f"{d.kind}:{d.name}": k for k, d in enumerate(domains)}
    site_domains = np.full((len(pools.sites), 2), -1, dtype=int)
    # a site's provider from its pools (an owned site's provider, owned:<name>, has a colon)
    provider_of_site = dict(zip(pools.site_names.tolist(), pools.pool_provider, strict=True))
    for g, s in enumerate(pools.sites):
        site_domains[g, 0] = dom_index[f"provider:{provider_of_site[s]}"]
        site_domains[g, 1] = dom_index.get(f"region:{s}", -1)
    return DomainArrays(domains=domains, providers=providers, site_domains=site_domains)


def _domain(name: str, kind: str, model: Outage, config: SimConfig) -> Domain:
    return Domain(
        name=name,
        kind=kind,
        rate_per_year=float(model.rate_per_year) * config.outage_rate_scale,
        mean_hours=float(model.mean_hours),
        sigma=float(model.sigma),
        control_plane_share=float(model.control_plane_share),
    )


def compile_blocks(win: Window, n_pools: int, config: SimConfig) -> list[tuple[int, int, int]]:
    """Blocks of steps ``(period, first step, end step)``: never across a period; bounded
    size (about 262,144 trial-step-pools a block) so arrays stay in cache."""
    block_steps = max(8, 262_144 // max(1, config.chunk_trials * max(n_pools, 1)))
    blocks = []
    for t in range(win.T):
        k = np.flatnonzero(win.period_of_step == t)
        if len(k) == 0:
            continue
        for a in range(int(k[0]), int(k[-1]) + 1, block_steps):
            blocks.append((t, a, min(int(k[-1]) + 1, a + block_steps)))
    return blocks


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
