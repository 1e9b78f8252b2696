"""Join a scenario with the catalog into the arrays the model builder needs.

This is the only place that reads the scenario and catalog for planning; the builder sees plain
numpy arrays (:class:`~hyperplan.plan.arrays.PlanInputs`). :func:`resolve` runs one
``resolve_*`` function per family of arrays (offers, routes, sites, contracts, prices, existing
reservations, workloads, penalties, outage scenarios, policies), as the builder runs one
``define_*`` function per family of columns and rows; the feasibility pre-checks live in
:mod:`hyperplan.plan.prechecks`. Shapes use ``O`` offers in play, ``T`` periods, ``K`` terms,
``W`` workloads, ``S`` scenarios (0 = base, then one per failure domain), ``P`` providers, ``G``
sites (regions). Money is USD, time hours, capacity instances.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hyperplan.catalog import (
    Catalog,
    estimate_inference_tokens_per_s,
    normalize_accelerator,
    training_equivalents,
)
from hyperplan.catalog.market_caps import MARKETS, RESERVED, default_caps
from hyperplan.errors import InputError
from hyperplan.plan.arrays import (
    ContractArrays,
    PlanInputs,
    PolicyArrays,
    PriceArrays,
    ScenarioArrays,
    SiteArrays,
    WorkloadArrays,
    field_values,
)
from hyperplan.plan.context import workload_markets
from hyperplan.plan.ends import end_effect_inputs
from hyperplan.plan.offer_match import offer_mask
from hyperplan.plan.prechecks import check_share_caps, hard_limit_problems
from hyperplan.plan.routes import (
    MANAGED,
    OWNED_PREFIX,
    RENTED,
    SPECIAL_TERM_YEARS,
    RouteOffers,
    route_offers,
    route_ok,
)
from hyperplan.scenario.fields import demand_units
from hyperplan.scenario.schema import (
    UNLIMITED,
    Agents,
    Batch,
    Inference,
    OutageModel,
    Provider,
    Region,
    Scenario,
    Training,
)
from hyperplan.scenario.timeline import HOURS_PER_YEAR, Timeline, expand_series, timeline

__all__ = [
    "DEMAND_UNITS",
    "KINDS",
    "MARKETS",
    "RATE_UNITS",
    "PlanInputs",
    "provider_settings",
    "region_settings",
    "resolve",
]

KINDS = ("inference", "training", "agents", "batch")
#: unit of each workload kind's demand and perf, as its demand field declares it (scenario/schema.py)
DEMAND_UNITS = demand_units()
#: unit of what one instance delivers at a time (``perf``, ``allocation.served``): a training run's
#: demand is work (GPU-hours), its rate of delivery is reference GPUs
RATE_UNITS = {**DEMAND_UNITS, "training": "reference GPUs"}


def provider_settings(scenario: Scenario) -> dict[str, Provider]:
    """The scenario's ``providers`` keyed by lower-case name (names match case-insensitively,
    as the checks in :mod:`hyperplan.scenario.check` do)."""
    return {name.lower(): prov for name, prov in scenario.providers.items()}


def region_settings(provider: Provider | None) -> dict[str, Region]:
    """A provider's ``regions`` keyed by lower-case region code."""
    if provider is None or provider.regions is None:
        return {}
    return {name.lower(): region for name, region in provider.regions.items()}


def _lower(values: Iterable[str]) -> list[str]:
    return [str(v).lower() for v in values]


def _offers_in_play(scenario: Scenario, catalog: Catalog) -> tuple[pd.DataFrame, list[str]]:
    """Filter the catalog to the scenario's providers, regions, accelerators and exclusions."""
    offers = catalog.offers.copy()
    warnings: list[str] = []
    keep = np.ones(len(offers), dtype=bool)
    provider_key = offers["provider"].str.lower().to_numpy()
    region_key = offers["region"].str.lower().to_numpy()
    if scenario.providers:
        settings = provider_settings(scenario)
        keep &= np.isin(provider_key, list(settings))
        for name, prov in settings.items():
            if prov.regions is not None:
                own = provider_key == name
                keep &= ~own | np.isin(region_key, _lower(prov.regions))
    if scenario.offers.accelerators is not None:
        wanted = {normalize_accelerator(a) for a in scenario.offers.accelerators}
        acc = offers["accelerator"].to_numpy()
        keep &= (acc == "") | np.isin(acc, list(wanted))
    if scenario.offers.instance_types is not None:
        wanted_types = _lower(scenario.offers.instance_types)
        keep &= np.isin(offers["instance_type"].str.lower().to_numpy(), wanted_types)
    for match in scenario.offers.exclude:
        keep &= ~offer_mask(offers, match)
    offers = offers[keep]
    unpriced = offers.index[~offers["priced"].to_numpy(dtype=bool)]
    if len(unpriced):
        shown = ", ".join(unpriced[:4]) + (" ..." if len(unpriced) > 4 else "")
        warnings.append(
            f"{len(unpriced)} offers in play have no price in the catalog and are skipped "
            f"unless an override prices them: {shown}"
        )
    return offers, warnings


def _cap_words(value: object, where: str) -> str:
    return f"unlimited ({where})" if value == UNLIMITED else where


def market_ceilings(
    offers: pd.DataFrame, market: str, value: object, tl: Timeline, base_dir: Path | None
) -> tuple[np.ndarray, np.ndarray]:
    """(O, T) instances obtainable per offer and period in ``market``, and (O,) their basis.

    The scenario's ``offers.<market>_cap`` wins when written (``unlimited`` lifts the ceiling);
    left out, each offer takes the bundled default of ``market_caps.csv``, which grows by its
    ``growth_per_year`` from the horizon's start.
    """
    O = len(offers)
    if value is not None:
        caps = np.tile(expand_series(value, tl, base_dir), (O, 1))  # type: ignore[arg-type]
        return caps, np.full(O, _cap_words(value, f"offers.{market}_cap"), dtype=object)
    d = default_caps(offers, market)
    caps = d.instances[:, None] * (1.0 + d.growth_per_year[:, None]) ** tl.years_from_start[None, :]
    caps = np.where(np.isfinite(d.instances)[:, None], np.floor(caps), np.inf)
    return caps, np.where(d.basis == "", "none", d.basis).astype(object)


@dataclass
class OfferArrays:
    """The offers in play (``O``: the catalog's after filters and overrides, then the owned
    sites' and managed platforms' appended by :func:`resolve_routes`) and what the scenario
    says of each. Money USD per instance-hour, capacity instances."""

    offers: pd.DataFrame  # the rows in play, index offer_id
    available: np.ndarray  # (O, T) bool: offer can be bought in period t
    supply: np.ndarray  # (O, T) cap on new reserved instances per period (inf = none)
    max_reserved: np.ndarray  # (O,) ceiling on active reserved instances (inf = none)
    ondemand_cap: np.ndarray  # (O, T) instances obtainable on demand (inf = none)
    spot_cap: np.ndarray  # (O, T) instances obtainable on spot (inf = none)
    ondemand_basis: np.ndarray  # (O,) object: where the on-demand ceiling comes from
    spot_basis: np.ndarray  # (O,) object: where the spot ceiling comes from
    reserved_list: np.ndarray  # (O, K) list price of each term (NaN = not offered)
    one_year: np.ndarray  # (O,) 1-year reserved price (existing reservations default to it)
    terms_years: list[int]  # K
    term_periods: list[int]  # (K,) periods a term covers
    route: np.ndarray  # (O,) RENTED, OWNED or MANAGED
    lead: np.ndarray  # (O,) periods from a term's start to its first covered period
    term_len: np.ndarray  # (O, K) periods a term of offer o covers
    term_value: np.ndarray  # (O, K) USD per instance over the whole term at list price
    special_term: int = -1  # index in K of the build / provisioned term slot, -1 = none


def resolve(scenario: Scenario, catalog: Catalog) -> PlanInputs:
    """Build :class:`PlanInputs` from a validated scenario and a catalog.

    One ``resolve_*`` function per family, in this order (later families read earlier ones);
    warnings collect in that order. Then the end-of-horizon arrays
    (:func:`~hyperplan.plan.ends.end_effect_inputs`) and the feasibility pre-checks.

    Raises:
        InputError: share caps the providers in play cannot meet, a salvage rule without a value,
            or hard limits the reservations already held break (:mod:`hyperplan.plan.prechecks`).
    """
    tl = timeline(scenario.horizon)
    base_dir: Path | None = getattr(scenario, "_base_dir", None)
    warnings: list[str] = []
    rented = resolve_offers(scenario, catalog, tl, base_dir, warnings)
    extra = route_offers(scenario, catalog, tl, base_dir)
    off = resolve_routes(rented, extra, tl)
    site = resolve_sites(scenario, off, extra, tl, base_dir)
    con, discount = resolve_contracts(scenario, site.providers, tl, warnings)
    pr = resolve_prices(off, site, discount)
    existing, existing_cost = resolve_existing(scenario, off, tl, warnings)
    wl = resolve_workloads(scenario, off, extra, tl, base_dir, warnings)
    penalty = resolve_penalty(scenario, wl, pr)
    sc = resolve_scenarios(scenario, extra, site)
    pol = resolve_policies(scenario, site.providers, tl, base_dir)
    inputs = PlanInputs(
        scenario=scenario,
        tl=tl,
        offers=off.offers,
        gpus=off.offers["accelerators"].to_numpy(dtype=float),
        terms_years=off.terms_years,
        term_periods=np.array(off.term_periods, dtype=int),
        available=off.available,
        supply=off.supply,
        max_reserved=off.max_reserved,
        cap_basis=np.stack([off.ondemand_basis, off.spot_basis], axis=1),
        existing=existing,
        existing_cost=existing_cost,
        penalty=penalty,
        route=off.route,
        lead=off.lead,
        term_len=off.term_len,
        term_value=off.term_value,
        special_term=off.special_term,
        routes=extra,
        warnings=warnings,
        **field_values(site),
        **field_values(pr),
        **field_values(con),
        **field_values(wl),
        **field_values(sc),
        **field_values(pol),
    )
    end_effect_inputs(inputs)
    problems = hard_limit_problems(inputs)
    if problems:
        raise InputError(problems)
    return inputs


def resolve_offers(
    scenario: Scenario, catalog: Catalog, tl: Timeline, base_dir: Path | None, warnings: list[str]
) -> OfferArrays:
    """The catalog's offers in play, after ``offers.overrides`` (vectorised per override;
    overrides are few). Appends to ``warnings`` (unpriced offers, overrides that match none)."""
    T = tl.periods
    offers, found = _offers_in_play(scenario, catalog)
    warnings += found
    offers = offers.copy()
    O = len(offers)
    available = np.ones((O, T), dtype=bool)
    supply = np.tile(expand_series(scenario.offers.supply, tl, base_dir), (O, 1))
    od_cap, od_basis = market_ceilings(
        offers, "ondemand", scenario.offers.ondemand_cap, tl, base_dir
    )
    spot_cap, spot_basis = market_ceilings(offers, "spot", scenario.offers.spot_cap, tl, base_dir)
    max_reserved = np.full(O, np.inf)
    terms = sorted(set(scenario.terms))
    reserved_list = np.full((O, len(terms)), np.nan)
    for k, years in enumerate(terms):
        column = f"reserved_{years}y_usd_per_hour"
        if column in offers.columns:
            reserved_list[:, k] = offers[column].to_numpy(dtype=float)
    # 1-year reserved price (existing reservations default to it), whatever the terms in play
    one_year = offers["reserved_1y_usd_per_hour"].to_numpy(dtype=float).copy()
    period_start_ord = np.array([d.toordinal() for d in tl.starts[:-1]])
    for ov in scenario.offers.overrides:
        mask = offer_mask(offers, ov.match)
        if not mask.any():
            warnings.append(
                f"override {ov.match.model_dump(exclude_none=True)} matches no offer in play"
            )
            continue
        if ov.ondemand_usd_per_hour is not None:
            offers.loc[mask, "ondemand_usd_per_hour"] = ov.ondemand_usd_per_hour
        if ov.spot_usd_per_hour is not None:
            offers.loc[mask, "spot_usd_per_hour"] = ov.spot_usd_per_hour
        if ov.kw_per_instance is not None:
            offers.loc[mask, "kw_per_instance"] = ov.kw_per_instance
        if ov.reserved_usd_per_hour is not None:
            for key, value in ov.reserved_usd_per_hour.items():
                years = int(key.rstrip("yY"))
                if years == 1:
                    one_year[mask] = value
                if years in terms:
                    reserved_list[mask, terms.index(years)] = value
        if ov.available_from is not None:
            available[mask] &= (period_start_ord >= ov.available_from.toordinal())[None, :]
        if ov.supply is not None:
            supply[mask] = expand_series(ov.supply, tl, base_dir)
        if ov.max_instances is not None:
            max_reserved[mask] = ov.max_instances
        if ov.ondemand_cap is not None:
            od_cap[mask] = expand_series(ov.ondemand_cap, tl, base_dir)
            od_basis[mask] = _cap_words(ov.ondemand_cap, "offers.overrides")
        if ov.spot_cap is not None:
            spot_cap[mask] = expand_series(ov.spot_cap, tl, base_dir)
            spot_basis[mask] = _cap_words(ov.spot_cap, "offers.overrides")
    offers["route"] = "rented"
    return OfferArrays(
        offers=offers,
        available=available,
        supply=supply,
        max_reserved=max_reserved,
        ondemand_cap=od_cap,
        spot_cap=spot_cap,
        ondemand_basis=od_basis,
        spot_basis=spot_basis,
        reserved_list=reserved_list,
        one_year=one_year,
        terms_years=list(terms),
        term_periods=[tl.term_periods(y) for y in terms],
        route=np.full(O, RENTED),
        lead=np.zeros(O, dtype=int),
        term_len=np.tile(np.array([tl.term_periods(y) for y in terms], dtype=int), (O, 1)),
        term_value=reserved_list * (np.array(terms, dtype=float) * HOURS_PER_YEAR)[None, :],
    )


def resolve_routes(rented: OfferArrays, extra: RouteOffers, tl: Timeline) -> OfferArrays:
    """``rented`` with the owned sites' and managed platforms' offers (``extra``, from
    :func:`~hyperplan.plan.routes.route_offers`) appended after the catalog's filters and
    overrides, with a term slot of their own (builds, provisioned throughput) when any of them
    has a price for it."""
    if not extra.size:
        return rented
    T = tl.periods
    O, N, K = len(rented.offers), extra.size, len(rented.terms_years)
    pad = np.full((N, K), np.nan)
    out = OfferArrays(
        offers=pd.concat([rented.offers, extra.offers]),
        available=np.concatenate([rented.available, extra.available]),
        supply=np.concatenate([rented.supply, extra.supply]),
        max_reserved=np.concatenate([rented.max_reserved, extra.max_reserved]),
        ondemand_cap=np.concatenate([rented.ondemand_cap, extra.ondemand_cap]),
        spot_cap=np.concatenate([rented.spot_cap, np.zeros((N, T))]),
        ondemand_basis=np.concatenate([rented.ondemand_basis, np.full(N, "route", dtype=object)]),
        spot_basis=np.concatenate([rented.spot_basis, np.full(N, "route", dtype=object)]),
        reserved_list=np.concatenate([rented.reserved_list, pad]),
        one_year=np.concatenate([rented.one_year, np.full(N, np.nan)]),
        terms_years=list(rented.terms_years),
        term_periods=list(rented.term_periods),
        route=np.concatenate([rented.route, extra.route]),
        lead=np.concatenate([rented.lead, extra.lead]),
        term_len=np.concatenate([rented.term_len, np.ones((N, K), dtype=int)]),
        term_value=np.concatenate([rented.term_value, pad]),
    )
    if np.isfinite(extra.special_price).any():
        special = K
        slot = np.full((O + N, 1), np.nan)
        out.reserved_list = np.hstack([out.reserved_list, slot])
        out.term_value = np.hstack([out.term_value, slot])
        out.term_len = np.hstack([out.term_len, np.ones((O + N, 1), dtype=int)])
        out.reserved_list[O:, special] = extra.special_price
        out.term_value[O:, special] = extra.special_value
        out.term_len[O:, special] = extra.special_periods
        out.terms_years.append(SPECIAL_TERM_YEARS)
        out.term_periods.append(T)
        out.special_term = special
    return out


def resolve_sites(
    scenario: Scenario, off: OfferArrays, extra: RouteOffers, tl: Timeline, base_dir: Path | None
) -> SiteArrays:
    """Providers and sites of the offers in play, sorted; each site's PUE and power cap; each
    offer's facility kW (IT kW × its site's PUE, default PUE 1.2)."""
    offers = off.offers
    providers = sorted(offers["provider"].unique().tolist())
    site_keys = (offers["provider"] + ":" + offers["region"]).to_numpy()
    sites = sorted(set(site_keys.tolist()))
    offer_site = np.searchsorted(sites, site_keys)
    pue_site = np.full(len(sites), 1.2)
    site_power = np.full((len(sites), tl.periods), np.inf)
    settings = provider_settings(scenario)
    for g, key in enumerate(sites):
        prov_name, region_name = key.split(":", 1)
        prov = settings.get(prov_name.lower())
        if prov is None:
            continue
        pue_site[g] = prov.pue
        region = region_settings(prov).get(region_name.lower())
        if region is not None:
            if region.pue is not None:
                pue_site[g] = region.pue
            site_power[g] = expand_series(region.power_mw, tl, base_dir)
    for key, pue in extra.site_pue.items():  # owned sites: their own PUE and power ceiling
        g = sites.index(key)
        pue_site[g] = pue
        site_power[g] = extra.site_power_mw[key]
    kw_it = offers["kw_per_instance"].to_numpy(dtype=float)
    kw_known = np.isfinite(kw_it)
    return SiteArrays(
        providers=providers,
        sites=sites,
        offer_provider=np.searchsorted(providers, offers["provider"].to_numpy()),
        offer_site=offer_site,
        site_power_mw=site_power,
        kw=np.where(kw_known, kw_it, 0.0) * pue_site[offer_site],
        kw_known=kw_known,
    )


def _provider_index(providers: list[str]) -> dict[str, int]:
    """Lower-case provider name -> index into ``providers``."""
    return {name.lower(): p for p, name in enumerate(providers)}


def resolve_contracts(
    scenario: Scenario, providers: list[str], tl: Timeline, warnings: list[str]
) -> tuple[ContractArrays, np.ndarray]:
    """Each contract's hours per period, its commitment pro-rated to the horizon and its last
    period; and (P, T) the discount the contracts give each provider (each weighted by its
    share of the period)."""
    contracts = scenario.contracts
    provider_index = _provider_index(providers)
    C, P, T = len(contracts), len(providers), tl.periods
    contract_hours = np.zeros((C, T))
    contract_provider = np.zeros(C, dtype=int)
    contract_committed = np.zeros(C)
    contract_end = np.zeros(C, dtype=int)
    discount_pt = np.zeros((P, T))
    for c, con in enumerate(contracts):
        hours = tl.overlap_hours(con.start, con.end)
        contract_hours[c] = hours
        total_hours = (con.end.toordinal() - con.start.toordinal()) * 24.0
        contract_committed[c] = con.committed_usd * hours.sum() / total_hours
        inside = np.flatnonzero(hours > 0)
        contract_end[c] = inside[-1] if inside.size else -1
        if con.provider.lower() in provider_index:
            p = provider_index[con.provider.lower()]
            contract_provider[c] = p
            discount_pt[p] += con.discount * hours / tl.hours
        else:
            contract_provider[c] = -1
            warnings.append(f"contract {con.name}: provider {con.provider} has no offer in play")
    contract_arrays = ContractArrays(
        contract_names=[con.name for con in contracts],
        contract_provider=contract_provider,
        contract_hours=contract_hours,
        contract_committed=contract_committed,
        contract_end_period=contract_end,
    )
    return contract_arrays, discount_pt


def resolve_prices(off: OfferArrays, site: SiteArrays, discount: np.ndarray) -> PriceArrays:
    """Market and term prices after the contracts' discounts (at most 95%), and the market
    ceilings: a market with no price, or before the offer is available, has no capacity."""
    O = len(off.offers)
    T = off.available.shape[1]
    multiplier = 1.0 - np.minimum(discount, 0.95)[site.offer_provider]  # (O, T)
    od = off.offers["ondemand_usd_per_hour"].to_numpy(dtype=float)
    spot = off.offers["spot_usd_per_hour"].to_numpy(dtype=float)
    list_price = np.stack([np.zeros(O), od, spot], axis=1)  # (O, 3); reserved is paid via terms
    price = np.nan_to_num(list_price, nan=0.0)[:, :, None] * multiplier[:, None, :]
    reserved_price = off.reserved_list[:, :, None] * multiplier[:, None, :]
    market_cap = np.stack([np.full((O, T), np.inf), off.ondemand_cap, off.spot_cap], axis=1)
    market_cap = np.where(
        np.isfinite(list_price)[:, :, None] & off.available[:, None, :], market_cap, 0.0
    )
    market_cap[:, RESERVED] = np.inf
    return PriceArrays(price=price, reserved_price=reserved_price, market_cap=market_cap)


def resolve_existing(
    scenario: Scenario, off: OfferArrays, tl: Timeline, warnings: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(O, T) instances already reserved and (O, T) their USD per hour, from
    ``reservations`` (priced at their own price, else the 1-year reserved, else on-demand)."""
    O, T = len(off.offers), tl.periods
    existing = np.zeros((O, T))
    existing_cost = np.zeros((O, T))
    od = off.offers["ondemand_usd_per_hour"].to_numpy(dtype=float)
    offer_ids = off.offers.index.to_numpy()
    offer_keys = np.char.lower(offer_ids.astype(str)) if O else np.zeros(0, dtype=str)
    for res in scenario.reservations:
        oid = f"{res.provider}:{res.region}:{res.instance_type}"
        hit = np.flatnonzero(offer_keys == oid.lower())
        if not hit.size:
            warnings.append(f"reservation {oid}: offer not in play; its capacity is ignored")
            continue
        o = int(hit[0])
        share = tl.overlap_hours(res.start, res.end) / tl.hours
        existing[o] += res.instances * share
        unit = res.usd_per_hour
        if unit is None:
            unit = off.one_year[o] if np.isfinite(off.one_year[o]) else od[o]
            if not np.isfinite(unit):
                unit = 0.0
                warnings.append(f"reservation {oid}: no price known; counted at 0 USD")
        existing_cost[o] += res.instances * share * unit
    return existing, existing_cost


def resolve_workloads(
    scenario: Scenario,
    off: OfferArrays,
    extra: RouteOffers,
    tl: Timeline,
    base_dir: Path | None,
    warnings: list[str],
) -> WorkloadArrays:
    """Demand, windows, markets and perf of every workload.

    Workloads that share their filters and perf figures share their row of ``perf``: it is
    computed once per distinct signature (10,000 workloads usually have a handful). Managed
    platforms serve the inference workloads they allow (one instance = one output token/s, see
    :mod:`hyperplan.plan.routes`); then every workload keeps only the routes it allows.
    """
    offers = off.offers
    O, T = len(offers), tl.periods
    W = len(scenario.workloads)
    names = [w.name for w in scenario.workloads]
    kind = np.array([w.kind for w in scenario.workloads])
    demand = np.zeros((W, T))
    compute = np.zeros(W)
    window = np.ones((W, T), dtype=bool)
    resilience = np.zeros(W)
    market_ok = np.zeros((W, 3), dtype=bool)
    perf = np.zeros((W, O))
    perf_est = np.zeros((W, O), dtype=bool)
    max_inst = np.full(W, np.inf)
    single = np.zeros(W, dtype=bool)
    acc = offers["accelerator"].to_numpy()
    gpus = offers["accelerators"].to_numpy(dtype=float)
    vcpus = offers["vcpus"].to_numpy(dtype=float)
    geo = offers["geo"].to_numpy()
    provider_key = offers["provider"].str.lower().to_numpy()
    region_key = offers["region"].str.lower().to_numpy()
    unique_acc = [a for a in pd.unique(acc) if a]
    period_lo = np.array([d.toordinal() for d in tl.starts[:-1]])
    period_hi = np.array([d.toordinal() for d in tl.starts[1:]])
    rows: dict[tuple, tuple[np.ndarray, np.ndarray, tuple[str, ...]]] = {}
    no_figure: dict[str, list[str]] = {}  # accelerator -> workloads skipping its offers
    cache: dict[tuple, tuple[float | None, bool]] = {}
    for i, wl in enumerate(scenario.workloads):
        markets = workload_markets(wl)
        market_ok[i] = [m in markets for m in MARKETS]
        key = _perf_signature(wl)
        if key not in rows:
            rows[key] = _perf_row(
                wl, acc, gpus, vcpus, geo, provider_key, region_key, unique_acc, cache
            )
        perf[i], perf_est[i], missing = rows[key]
        for a in missing:
            no_figure.setdefault(a, []).append(wl.name)
        if isinstance(wl, Agents):
            demand[i] = expand_series(wl.demand_vcpus, tl, base_dir)
            resilience[i] = wl.resilience
        elif isinstance(wl, Inference):
            demand[i] = expand_series(wl.demand_tokens_per_s, tl, base_dir)
            resilience[i] = wl.resilience
        elif isinstance(wl, Batch):
            demand[i] = expand_series(wl.demand_gpus, tl, base_dir)
            resilience[i] = wl.resilience
        elif isinstance(wl, Training):
            compute[i] = wl.compute_gpu_hours
            # a period is usable when it lies entirely inside [start, deadline)
            window[i] = (period_lo >= wl.start.toordinal()) & (period_hi <= wl.deadline.toordinal())
            if not window[i].any():
                warnings.append(
                    f"training {wl.name}: no whole period lies inside [{wl.start}, {wl.deadline})"
                )
            single[i] = wl.single_site
            if wl.max_instances is not None:
                max_inst[i] = wl.max_instances
    if extra.size:
        is_managed = extra.route[None, :] == MANAGED
        perf[:, O - extra.size :] = np.where(is_managed, extra.perf, perf[:, O - extra.size :])
    allowed_route = route_ok(scenario)[:, off.route]  # (W, O)
    perf = np.where(allowed_route, perf, 0.0)
    perf_est &= allowed_route
    for a, who in no_figure.items():
        subject = f"workload {who[0]}" if len(who) == 1 else f"workloads {_some(who)}"
        warnings.append(f"{subject}: no performance figure for {a}; offers skipped")
    if np.any(perf_est):
        flagged = sorted({names[w] for w in np.flatnonzero(perf_est.any(axis=1))})
        warnings.append("estimated perf figures in use for: " + _some(flagged, 20))
    for w in np.flatnonzero(~(perf > 0).any(axis=1)):
        if not (compute[w] > 0 if kind[w] == "training" else (demand[w] > 0).any()):
            continue
        warnings.append(
            f"workload {names[w]}: no offer in play can serve it (its providers, regions, geo "
            "and accelerators leave no priced offer with a performance figure); all of its "
            "demand is unserved"
        )
    return WorkloadArrays(
        workload_names=names,
        kind=kind,
        demand=demand,
        compute=compute,
        window=window,
        resilience=resilience,
        market_ok=market_ok,
        perf=perf,
        perf_estimated=perf_est,
        max_instances=max_inst,
        single_site=single,
    )


def resolve_penalty(scenario: Scenario, wl: WorkloadArrays, pr: PriceArrays) -> np.ndarray:
    """(W,) USD per unit-hour unserved: ``unserved_penalty_factor`` × the dearest way to serve
    one unit for one hour (fallback 0.01 for inference, 1 for agents, 100 for training and
    batch when no offer serves the workload)."""
    dearest_price = np.maximum(
        pr.price[:, 1:].max(axis=(1, 2), initial=0.0),
        np.nan_to_num(pr.reserved_price, nan=0.0).max(axis=(1, 2), initial=0.0),
    )  # (O,) USD per instance-hour
    perf = wl.perf
    safe_perf = np.where(perf > 0, perf, 1.0)
    dearest = np.where(perf > 0, dearest_price[None, :] / safe_perf, 0.0).max(axis=1)
    kind = wl.kind
    fallback = np.where(kind == "inference", 1e-2, np.where(kind == "agents", 1.0, 100.0))
    return scenario.policies.unserved_penalty_factor * np.where(dearest > 0, dearest, fallback)


def _outage_share(outage: OutageModel | None) -> float:
    """Time share of a failure domain's outages: rate per year × mean hours / hours per year
    (1 outage of 8 hours a year when no model is given)."""
    rate, hours = (outage.rate_per_year, outage.mean_hours) if outage else (1.0, 8.0)
    return rate * hours / HOURS_PER_YEAR


def resolve_scenarios(scenario: Scenario, extra: RouteOffers, site: SiteArrays) -> ScenarioArrays:
    """The base scenario, then one per provider and/or site (``policies.outages``); the base
    scenario's weight is what the outages leave of the time. An owned site is one failure
    domain: with ``both`` its provider scenario covers it."""
    O = len(site.offer_provider)
    settings = provider_settings(scenario)
    scenario_names = ["base"]
    up_rows = [np.ones(O, dtype=bool)]
    weights = [0.0]
    mode = scenario.policies.outages
    if mode in ("providers", "both"):
        for p, name in enumerate(site.providers):
            scenario_names.append(f"{name} down")
            up_rows.append(site.offer_provider != p)
            model = settings.get(name.lower())
            outage = model.outage if model is not None else None
            outage = extra.outages.get(name, outage)  # an owned site's own outage model
            weights.append(_outage_share(outage))
    if mode in ("regions", "both"):
        for g, key in enumerate(site.sites):
            if key.startswith(OWNED_PREFIX) and mode == "both":
                continue  # an owned site is one domain: its provider scenario already covers it
            prov_name, region_name = key.split(":", 1)
            scenario_names.append(f"{key} down")
            up_rows.append(site.offer_site != g)
            prov = settings.get(prov_name.lower())
            region = region_settings(prov).get(region_name.lower())
            outage = region.outage if region and region.outage else None
            if key.startswith(OWNED_PREFIX):
                outage = extra.outages.get(key.rsplit(":", 1)[0])
            weights.append(_outage_share(outage))
    weight = np.array(weights)
    weight[0] = max(0.0, 1.0 - weight[1:].sum())
    return ScenarioArrays(scenario_names=scenario_names, up=np.array(up_rows), weight=weight)


def resolve_policies(
    scenario: Scenario, providers: list[str], tl: Timeline, base_dir: Path | None
) -> PolicyArrays:
    """Share caps per provider, the total power cap per period and one budget per calendar year
    (the value of the year's first period).

    Raises:
        InputError: share caps the providers in play cannot meet
            (:func:`~hyperplan.plan.prechecks.check_share_caps`).
    """
    pol = scenario.policies
    provider_index = _provider_index(providers)
    max_share = np.ones(len(providers))
    if isinstance(pol.max_share, float | int):
        max_share[:] = float(pol.max_share)
    elif isinstance(pol.max_share, dict):
        for name, value in pol.max_share.items():
            if name.lower() in provider_index:
                max_share[provider_index[name.lower()]] = value
    check_share_caps(scenario, providers)
    total_power = expand_series(pol.power_total_mw, tl, base_dir)
    years = np.unique(tl.calendar_year)
    if pol.budget_usd_per_year is not None:
        per_year = expand_series(pol.budget_usd_per_year, tl, base_dir)
        first = np.searchsorted(tl.calendar_year, years)
        budget_usd = per_year[first]
        budget_years = years
    else:
        budget_usd = np.zeros(0)
        budget_years = np.zeros(0, dtype=int)
    return PolicyArrays(
        max_share=max_share,
        share_by=pol.share_by,
        total_power_mw=total_power,
        budget_years=budget_years,
        budget_usd=budget_usd,
    )


def _some(names: list[str], most: int = 5) -> str:
    """``a, b, c`` or ``a, b, c (+12 more)``."""
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown} (+{len(names) - most} more)"


def _perf_signature(wl: Inference | Training | Agents | Batch) -> tuple:
    """What a workload's row of ``perf`` depends on (workloads with equal signatures share it)."""

    def tup(values: list[str] | None) -> tuple[str, ...] | None:
        return None if values is None else tuple(values)

    figures = getattr(wl, "perf_tokens_per_s", None) or getattr(wl, "perf", None) or {}
    return (
        wl.kind,
        tup(wl.providers),
        tup(wl.regions),
        tup(wl.geo),
        tup(getattr(wl, "accelerators", None)),
        tuple(sorted(figures.items())),
        getattr(wl, "model_params_b", None),
        getattr(wl, "reference_accelerator", None),
    )


def _perf_row(
    wl: Inference | Training | Agents | Batch,
    acc: np.ndarray,
    gpus: np.ndarray,
    vcpus: np.ndarray,
    geo: np.ndarray,
    provider_key: np.ndarray,
    region_key: np.ndarray,
    unique_acc: list[str],
    cache: dict[tuple, tuple[float | None, bool]],
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """One workload's demand units per instance of each offer (0 = not allowed), whether each
    figure is an estimate, and the accelerators skipped for want of a figure."""
    O = len(acc)
    allowed = np.ones(O, dtype=bool)
    if wl.providers is not None:
        allowed &= np.isin(provider_key, _lower(wl.providers))
    if wl.regions is not None:
        allowed &= np.isin(region_key, _lower(wl.regions))
    if wl.geo is not None:
        allowed &= np.isin(geo, wl.geo)
    if isinstance(wl, Agents):
        allowed &= (acc == "") & np.isfinite(vcpus)
        return np.where(allowed, np.nan_to_num(vcpus), 0.0), np.zeros(O, dtype=bool), ()
    wanted = (
        {normalize_accelerator(a) for a in wl.accelerators} if wl.accelerators else set(unique_acc)
    )
    allowed &= np.isin(acc, list(wanted)) & (gpus > 0)
    per_device = np.zeros(O)
    estimated = np.zeros(O, dtype=bool)
    missing: list[str] = []
    for a in sorted(wanted):
        sel = allowed & (acc == a)
        if not sel.any():
            continue
        value, is_est = _device_perf(wl, a, cache)
        if value is None:
            allowed &= ~sel
            missing.append(a)
            continue
        per_device[sel] = value
        estimated[sel] = is_est
    return np.where(allowed, per_device * gpus, 0.0), estimated & allowed, tuple(missing)


def _device_perf(
    wl: Inference | Training | Batch,
    accelerator: str,
    cache: dict[tuple, tuple[float | None, bool]] | None = None,
) -> tuple[float | None, bool]:
    """Perf per accelerator device for a workload: (value, is_estimate). ``None`` if unknown.

    Catalog look-ups (estimates and TFLOPS ratios) are memoised in ``cache`` when given.
    """
    if isinstance(wl, Inference):
        given = {normalize_accelerator(k): v for k, v in (wl.perf_tokens_per_s or {}).items()}
        if accelerator in given:
            return given[accelerator], False
        key: tuple = ("inference", accelerator, wl.model_params_b)
        if cache is not None and key in cache:
            return cache[key]
        try:
            value, _basis = estimate_inference_tokens_per_s(accelerator, wl.model_params_b)
            result: tuple[float | None, bool] = (value, True)
        except KeyError:
            result = (None, False)
    else:
        given = {normalize_accelerator(k): v for k, v in (wl.perf or {}).items()}
        if accelerator in given:
            return given[accelerator], False
        key = ("training", accelerator, wl.reference_accelerator)
        if cache is not None and key in cache:
            return cache[key]
        try:
            ref = normalize_accelerator(wl.reference_accelerator)
            result = (training_equivalents(accelerator, ref), False)
        except KeyError:
            result = (None, False)
    if cache is not None:
        cache[key] = result
    return result
