"""Size and memory of the planning model, estimated from :class:`PlanInputs` before building it.

:func:`estimate` counts the columns, rows and nonzeros that :func:`hyperplan.plan.build.build`
would create, family by family, with products of small index arrays (offers × periods,
workloads × offers) instead of the model's own (columns × ...) arrays, so it costs a small
fraction of a build. :func:`check_memory` refuses a model whose estimated peak memory exceeds
what the machine has available (``MemAvailable`` in ``/proc/meminfo``, or the environment
variable ``HYPERPLAN_MEMORY_LIMIT_BYTES``), with the estimate and what to reduce.

The byte figure is an upper estimate of the peak resident memory of build + HiGHS, calibrated
on measured peaks (VmHWM) of dual-simplex solves; it overestimates those by 1.3-1.6×:

=====================================  =========  =======  =========  ===========
model                                  columns    rows     nonzeros   peak (MiB)
=====================================  =========  =======  =========  ===========
frontier-2030 example                  25,158     19,891   87,940     172
synthetic, 100 workloads, 12 months    187,365    6,549    314,853    152
synthetic, 300 workloads               551,892    14,596   902,228    433
synthetic, 1000 workloads, no outages  505,889    9,393    1,014,145  432
synthetic, 1000 workloads              1,835,633  42,849   2,970,289  1,428
synthetic, 200 workloads, 36 months    2,411,826  49,386   3,901,698  1,843
=====================================  =========  =======  =========  ===========

Rows weigh most per unit: the simplex basis is rows × rows and its LU factors fill in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hyperplan.catalog.market_caps import ONDEMAND, RESERVED, SPOT
from hyperplan.errors import InputError, Problem
from hyperplan.plan.arrays import PlanInputs

#: Peak bytes per model column (cost, bounds, index arrays, HiGHS' copies and simplex work).
BYTES_PER_COLUMN = 250
#: Peak bytes per model row (HiGHS' basis factors fill in: rows weigh most).
BYTES_PER_ROW = 9000
#: Peak bytes per nonzero (COO lists, the CSC matrix, HiGHS' row- and column-wise copies).
BYTES_PER_NONZERO = 350
#: Fixed overhead of a solve beyond the interpreter, bytes.
BYTES_FIXED = 32 * 2**20

MEMORY_ENV = "HYPERPLAN_MEMORY_LIMIT_BYTES"


@dataclass(frozen=True)
class Estimate:
    """What building and solving a model will take.

    Attributes:
        columns: model columns (exact).
        rows: model rows (exact).
        nonzeros: coefficient-matrix entries (an upper bound: coefficients that come out as 0,
            such as a price of 0, are dropped by the build).
        bytes: estimated peak memory of build and solve, bytes.
        families: columns or rows per family, e.g. ``{"allocate": 1_234_567, ...}``.
        drivers: the sets the size grows with (offers, periods, workloads, scenarios, ...).
    """

    columns: int
    rows: int
    nonzeros: int
    bytes: int
    families: dict[str, int] = field(default_factory=dict)
    drivers: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """One line: ``1.2M columns × 340k rows, 4.1M nonzeros, ~2.3 GiB``."""
        return (
            f"{_count(self.columns)} columns × {_count(self.rows)} rows, "
            f"{_count(self.nonzeros)} nonzeros, ~{_gib(self.bytes)}"
        )


def _n(value: float) -> int:
    """A float count (from matrix products) as an int."""
    return int(np.rint(value))


def _count(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(int(n))


def _gib(n: float) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / 2**20:.0f} MiB"


def estimate(inp: PlanInputs, *, integer: bool = False, outages: bool = True) -> Estimate:
    """Count what :func:`~hyperplan.plan.build.build` would create for ``inp``, without building.

    Args:
        inp: resolved inputs.
        integer: whole instances (does not change the size; kept for symmetry with build).
        outages: plan the outage scenarios too (``False``: base scenario only).
    """
    del integer  # the size is the same
    T = inp.tl.periods
    O = len(inp.offers)
    W = len(inp.workload_names)
    P = len(inp.providers)
    S = len(inp.scenario_names) if outages else 1
    fam: dict[str, int] = {}
    rows_of: dict[str, int] = {}
    nnz = 0

    perf_pos = inp.perf > 0  # (W, O)
    useful = inp.useful_offers()  # (O,) reserved market used
    # --- reserve x[o,k,s] and capacity R[o,t] ------------------------------------------------
    ok = inp.reservable()  # (O, K, T)
    # as the build: a term of offer o started in s covers [s + lead[o], + term_len[o, k]) cut at
    # the horizon's end; a start whose coverage would begin after the horizon gets no column
    first = np.arange(T)[None, None, :] + np.asarray(inp.lead, dtype=np.int64)[:, None, None]
    cover_len = np.minimum(np.asarray(inp.term_len, dtype=np.int64)[:, :, None], T - first)
    ok &= cover_len > 0
    fam["reserve"] = int(ok.sum())
    n_cov = int((ok * cover_len).sum())
    has_reserved = inp.existing > 0  # (O, T)
    o_ok, k_ok, s_ok = np.nonzero(ok)
    start = first[o_ok, 0, s_ok]
    edges = np.zeros((O, T + 1), dtype=np.int64)  # +1 where a coverage starts, −1 past its end
    np.add.at(edges, (o_ok, start), 1)
    np.add.at(edges, (o_ok, start + cover_len[o_ok, k_ok, s_ok]), -1)
    has_reserved |= np.cumsum(edges[:, :T], axis=1) > 0
    n_cap_offers = int((useful | (inp.existing.sum(axis=1) > 0)).sum())
    fam["capacity"] = n_cap_offers * T
    rows_of["reserved-balance"] = fam["capacity"]
    nnz += fam["capacity"] + n_cov
    finite_supply = np.isfinite(inp.supply)  # (O, T)
    ok_finite = ok & finite_supply[:, None, :]
    rows_of["supply"] = int((ok_finite.any(axis=1)).sum())
    nnz += int(ok_finite.sum())

    # --- allocate z[w,o,m,t,s] ------------------------------------------------------------------
    training = inp.kind == "training"
    active = inp.window & (training[:, None] | (inp.demand > 0))  # (W, T)
    market_has = np.stack(
        [has_reserved, inp.market_cap[:, ONDEMAND] > 0, inp.market_cap[:, SPOT] > 0], axis=1
    )  # (O, 3, T)
    in_outage = ~training & (inp.resilience > 0)  # (W,): has columns in outage scenarios
    up = inp.up[:S]  # (S, O)
    n_up_outage = up[1:].sum(axis=0).astype(np.float64)  # (O,) outage scenarios with o up
    act = active.astype(np.float64)
    # per (w, o): periods with a column in market m (base scenario), as float matrices
    z_base = np.zeros((W, O))
    z_all = np.zeros((W, O))
    per_market: list[np.ndarray] = []
    for m in range(3):
        periods = act @ market_has[:, m, :].T.astype(np.float64)  # (W, O)
        periods *= perf_pos & inp.market_ok[:, m][:, None]
        per_market.append(periods)
        z_base += periods
        z_all += periods * (1.0 + in_outage[:, None] * n_up_outage[None, :])
    n_z = _n(z_all.sum())
    n_z_base_market = _n((per_market[ONDEMAND] + per_market[SPOT]).sum())
    n_z_reserved = _n(
        (per_market[RESERVED] * (1.0 + in_outage[:, None] * n_up_outage[None, :])).sum()
    )
    fam["allocate"] = n_z

    # pool rows: (o, t, s) with some z; two workload patterns: base (all) and outage (in_outage)
    def occupied(m: int, who: np.ndarray) -> np.ndarray:
        """(O, T): some workload in ``who`` has a column of market m at (o, t)."""
        sel = perf_pos & who[:, None] & inp.market_ok[:, m][:, None]  # (W, O)
        return ((sel.T.astype(np.float64) @ act) > 0) & market_has[:, m, :]

    everyone = np.ones(W, dtype=bool)
    n_pool_res = 0
    n_pool_mkt = 0
    for m in range(3):
        base = occupied(m, everyone)
        out = occupied(m, in_outage) if S > 1 else np.zeros_like(base)
        if m != RESERVED:
            finite = np.isfinite(inp.market_cap[:, m, :])
            base, out = base & finite, out & finite
        count = int(base.sum()) + int((out.sum(axis=1) * up[1:].sum(axis=0)).sum())
        if m == RESERVED:
            n_pool_res = count
        else:
            n_pool_mkt += count
    rows_of["pool-reserved"] = n_pool_res
    nnz += n_z_reserved + n_pool_res
    rows_of["pool-market"] = n_pool_mkt
    z_finite = 0.0
    for m in (ONDEMAND, SPOT):
        finite = np.isfinite(inp.market_cap[:, m, :]) & market_has[:, m, :]
        periods = act @ finite.T.astype(np.float64)
        periods *= perf_pos & inp.market_ok[:, m][:, None]
        z_finite += float((periods * (1.0 + in_outage[:, None] * n_up_outage[None, :])).sum())
    nnz += _n(z_finite)

    # --- demand rows and unserved columns -------------------------------------------------------
    # computed as the builder does (level × demand: a denormal demand times a resilience can
    # underflow to 0, and then that outage row does not exist)
    has_demand = (inp.demand * inp.window > 0) & ~training[:, None]  # (W, T)
    has_outage_demand = (inp.resilience[:, None] * inp.demand * inp.window > 0) & (
        ~training[:, None]
    )
    n_u = int(has_demand.sum()) + int(has_outage_demand.sum()) * (S - 1)
    fam["unserved"] = n_u
    rows_of["demand"] = n_u
    # allocation entries in demand rows: every base column of a non-training workload, and the
    # outage columns whose outage demand row exists
    nnz += n_u + _n(z_base[~training].sum())
    if S > 1:
        rows_on = has_outage_demand.astype(np.float64)
        for m in range(3):
            periods = rows_on @ market_has[:, m, :].T.astype(np.float64)  # (W, O)
            periods *= perf_pos & inp.market_ok[:, m][:, None] & in_outage[:, None]
            nnz += _n((periods * n_up_outage[None, :]).sum())

    # --- training -------------------------------------------------------------------------------
    train = np.flatnonzero(training)
    if train.size:
        fam["unserved-training"] = int(train.size)
        rows_of["training-compute"] = int(train.size)
        nnz += int(train.size) + _n(z_base[train].sum())
        capped = train[np.isfinite(inp.max_instances[train])]
        if capped.size:
            rows_of["training-instances"] = int(
                _base_periods(inp, capped, market_has, perf_pos, active).any(axis=1).sum()
            )
            nnz += _n(z_base[capped].sum())
    single = np.flatnonzero(inp.single_site)
    if single.size:
        G = len(inp.sites)
        site_of = np.zeros((O, G))
        site_of[np.arange(O), inp.offer_site] = 1.0
        uses = _base_offer_periods(inp, single, market_has, perf_pos, active)  # (w, O, T)
        at_site = np.einsum("wot,og->wgt", uses.astype(np.float64), site_of) > 0
        fam["site"] = int(at_site.any(axis=2).sum())
        rows_of["site-choice"] = int(at_site.any(axis=(1, 2)).sum())
        rows_of["site-link"] = int(at_site.sum())
        nnz += fam["site"] + _n(z_base[single].sum()) + rows_of["site-link"]

    # --- spend and GPU totals, policies ---------------------------------------------------------
    capped_share = int((inp.max_share < 1.0).sum())
    by_gpus = inp.share_by == "gpus"
    live = (inp.contract_provider >= 0) & (inp.contract_committed > 0)
    need_spend = (capped_share and not by_gpus) or len(inp.budget_years) or live.any()
    spend_entries = n_cov + n_z_base_market
    if need_spend:
        fam["spend"] = P * T
        rows_of["spend-balance"] = P * T
        nnz += P * T + spend_entries
    if capped_share:
        if by_gpus:
            fam["gpus"] = P * T
            rows_of["gpus-balance"] = P * T
            nnz += P * T + fam["capacity"] + n_z_base_market
        rows_of["share"] = capped_share * T
        nnz += capped_share * T * P
    site_capped = np.isfinite(inp.site_power_mw)  # (G, T)
    total_capped = np.isfinite(inp.total_power_mw)  # (T,)
    if site_capped.any() or total_capped.any():
        # entries per (o, t): one capacity column (where R exists) + base on-demand/spot columns
        entries = np.zeros((O, T))
        cap_offers = useful | (inp.existing.sum(axis=1) > 0)
        entries[cap_offers] = 1.0
        for m in (ONDEMAND, SPOT):
            sel = (perf_pos & inp.market_ok[:, m][:, None]).T.astype(np.float64)  # (O, W)
            entries += (sel @ act) * market_has[:, m, :]
        entries *= (inp.kw > 0)[:, None]  # an offer of unknown power has no coefficient
        if site_capped.any():
            rows_of["power-site"] = int(site_capped.sum())
            nnz += _n((entries * site_capped[inp.offer_site]).sum())
        if total_capped.any():
            rows_of["power-total"] = int(total_capped.sum())
            nnz += _n(entries[:, total_capped].sum())
    if len(inp.budget_years):
        rows_of["budget"] = len(inp.budget_years)
        nnz += P * T
    # (reservation, budget year) pairs: a reservation's periods in one year sum to one entry
    year_idx = (
        np.searchsorted(inp.budget_years, inp.tl.calendar_year)
        if len(inp.budget_years)
        else np.zeros(T, dtype=int)
    )
    last = np.minimum(np.arange(T)[None, None, :] + cover_len - 1, T - 1)
    n_cov_years = int((ok * (year_idx[last] - year_idx[None, None, :] + 1)).sum())
    nnz += _outage_policies(
        inp,
        S,
        fam,
        rows_of,
        n_cov_years,
        has_outage_demand,
        per_market,
        in_outage,
        market_has,
        act,
        useful | (inp.existing.sum(axis=1) > 0),
    )
    if live.any():
        n_live = int(live.sum())
        fam["shortfall"] = n_live
        rows_of["take-or-pay"] = n_live
        nnz += n_live + int((inp.contract_hours[live] > 0).sum())

    columns = sum(fam.values())
    rows = sum(rows_of.values())
    size = BYTES_FIXED + BYTES_PER_COLUMN * columns + BYTES_PER_ROW * rows + BYTES_PER_NONZERO * nnz
    drivers = {
        "offers": O,
        "periods": T,
        "workloads": W,
        "scenarios": S,
        "terms": len(inp.terms_years),
        "workload-offer pairs": int(perf_pos.sum()),
    }
    return Estimate(
        columns=int(columns),
        rows=int(rows),
        nonzeros=int(nnz),
        bytes=int(size),
        families={**fam, **{f"{k} (rows)": v for k, v in rows_of.items()}},
        drivers=drivers,
    )


def _outage_policies(
    inp: PlanInputs,
    S: int,
    fam: dict[str, int],
    rows_of: dict[str, int],
    n_cov_years: int,
    has_outage_demand: np.ndarray,
    per_market: list[np.ndarray],
    in_outage: np.ndarray,
    market_has: np.ndarray,
    act: np.ndarray,
    cap_offers: np.ndarray,
) -> int:
    """Count the outage-scenario rows (``outage-not-better``, ``budget-outage``,
    ``power-*-outage``) into ``fam`` / ``rows_of``; return their nonzeros. ``cap_offers`` (O,):
    offers with a capacity column (as in the base power rows)."""
    if S < 2:
        return 0
    nnz = 0
    up = inp.up[:S]
    n_up_outage = up[1:].sum(axis=0).astype(np.float64)  # (O,)
    n_rows = int(has_outage_demand.sum()) * (S - 1)
    if n_rows:
        rows_of["outage-not-better"] = n_rows
        nnz += 2 * n_rows
    out_market = (per_market[ONDEMAND] + per_market[SPOT]) * in_outage[:, None]  # (W, O)
    Y = len(inp.budget_years)
    if Y:
        fam["reserved-spend"] = Y
        rows_of["reserved-spend-balance"] = Y
        rows_of["budget-outage"] = Y * (S - 1)
        nnz += Y + n_cov_years + Y * (S - 1) + _n((out_market * n_up_outage[None, :]).sum())
    site_capped = np.isfinite(inp.site_power_mw)  # (G, T)
    total_capped = np.isfinite(inp.total_power_mw)  # (T,)
    if not site_capped.any() and not total_capped.any():
        return nnz
    O, T = len(inp.offers), inp.tl.periods
    # entries per (o, t) in one outage scenario where o is up: its capacity column + the
    # on-demand / spot columns of workloads that stay in outage scenarios
    entries = np.zeros((O, T))
    entries[cap_offers] = 1.0
    for m in (ONDEMAND, SPOT):
        sel = ((inp.perf > 0) & inp.market_ok[:, m][:, None] & in_outage[:, None]).T
        entries += (sel.astype(np.float64) @ act) * market_has[:, m, :]
    entries *= (n_up_outage * (inp.kw > 0))[:, None]  # unknown power: no coefficient
    if site_capped.any():
        G = len(inp.sites)
        site_up = np.zeros((S, G), dtype=bool)
        np.logical_or.at(site_up, (slice(None), inp.offer_site), up)
        rows_of["power-site-outage"] = int((site_up[1:, :, None] & site_capped[None]).sum())
        nnz += _n((entries * site_capped[inp.offer_site]).sum())
    if total_capped.any():
        rows_of["power-total-outage"] = int(total_capped.sum()) * (S - 1)
        nnz += _n(entries[:, total_capped].sum())
    return nnz


def _base_offer_periods(
    inp: PlanInputs,
    who: np.ndarray,
    market_has: np.ndarray,
    perf_pos: np.ndarray,
    active: np.ndarray,
) -> np.ndarray:
    """(len(who), O, T): base-scenario allocation columns exist for workload, offer, period."""
    out = np.zeros((len(who), perf_pos.shape[1], inp.tl.periods), dtype=bool)
    for m in range(3):
        out |= (
            (perf_pos[who] & inp.market_ok[who, m][:, None])[:, :, None]
            & market_has[None, :, m, :]
            & active[who][:, None, :]
        )
    return out


def _base_periods(
    inp: PlanInputs,
    who: np.ndarray,
    market_has: np.ndarray,
    perf_pos: np.ndarray,
    active: np.ndarray,
) -> np.ndarray:
    """(len(who), T): some base allocation column exists for the workload in the period."""
    return _base_offer_periods(inp, who, market_has, perf_pos, active).any(axis=1)


# ----------------------------------------------------------------------------------------------
# Available memory and the refusal
# ----------------------------------------------------------------------------------------------


def available_memory() -> int | None:
    """Bytes this process may use: ``$HYPERPLAN_MEMORY_LIMIT_BYTES``, else ``MemAvailable``.

    Returns ``None`` when neither is known (then nothing is refused).
    """
    text = os.environ.get(MEMORY_ENV, "").strip()
    if text:
        try:
            value = float(text)
        except ValueError:
            raise InputError(
                [
                    Problem(
                        f"{MEMORY_ENV} must be a number of bytes; found {text!r}", path=MEMORY_ENV
                    )
                ]
            ) from None
        if value > 0:
            return int(value)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class ModelTooLarge(InputError):
    """The model would need more memory than the machine has. Exit status 2.

    Attributes:
        estimate: the :class:`Estimate` that was refused.
        available: the bytes that were available.
    """

    def __init__(self, problems: list[Problem], estimate: Estimate, available: int) -> None:
        super().__init__(problems)
        self.estimate = estimate
        self.available = available


def check_memory(
    est: Estimate, inp: PlanInputs, *, available: int | None = None, outages: bool = True
) -> None:
    """Refuse (raise :class:`ModelTooLarge`) when ``est`` exceeds the available memory.

    Args:
        est: the estimate of the model.
        inp: its inputs (for the advice: which sets drive the size).
        available: bytes available; default :func:`available_memory`.
        outages: whether outage scenarios are planned (the advice mentions --no-outages).
    """
    limit = available if available is not None else available_memory()
    if limit is None or est.bytes <= limit:
        return
    source = f"${MEMORY_ENV}" if os.environ.get(MEMORY_ENV, "").strip() else "MemAvailable"
    d = est.drivers
    advice = [
        f"workload-offer pairs ({_count(d['workload-offer pairs'])} for {d['workloads']} "
        "workloads: give workloads providers, regions or accelerators, or merge workloads that "
        "share them)",
        f"periods ({d['periods']}: a coarser horizon.period or fewer horizon.periods)",
        f"offers in play ({d['offers']}: offers.accelerators, offers.instance_types, "
        "offers.exclude, fewer providers or regions)",
    ]
    if outages and d["scenarios"] > 1:
        advice.append(
            f"outage scenarios ({d['scenarios'] - 1}: policies.outages: providers rather than "
            "both or regions, or --no-outages)"
        )
    share = est.families.get("allocate", 0) / max(1, est.columns)
    message = (
        f"the planning model would need about {_gib(est.bytes)} of memory "
        f"({_count(est.columns)} columns × {_count(est.rows)} rows, {_count(est.nonzeros)} "
        f"nonzeros; {share:.0%} of the columns are allocations), more than the {_gib(limit)} "
        f"available ({source}); nothing was built. Reduce: {'; '.join(advice)}"
    )
    file = getattr(inp.scenario, "_source", None) or "<input>"
    raise ModelTooLarge([Problem(message, file=file)], est, limit)
