"""Join a scenario with the catalog into the arrays the model builder needs.

This is the only place that reads the scenario and catalog for planning; the builder sees plain
numpy arrays. Shapes use ``O`` offers in play, ``T`` periods, ``K`` terms, ``W`` workloads,
``S`` scenarios (0 = base, then one per failure domain), ``P`` providers, ``G`` sites (regions).
Money is USD, time hours, capacity instances.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hyperplan.catalog import (
    Catalog,
    estimate_inference_tokens_per_s,
    normalize_accelerator,
    training_equivalents,
)
from hyperplan.catalog.market_caps import default_caps
from hyperplan.errors import InputError, Problem
from hyperplan.plan.ends import end_effect_inputs
from hyperplan.plan.offer_match import offer_mask
from hyperplan.plan.routes import (
    MANAGED,
    OWNED_PREFIX,
    RENTED,
    SPECIAL_TERM_YEARS,
    RouteOffers,
    route_offers,
    route_ok,
)
from hyperplan.scenario.check import share_caps_message
from hyperplan.scenario.fields import demand_units
from hyperplan.scenario.schema import (
    UNLIMITED,
    Agents,
    Batch,
    Inference,
    Provider,
    Region,
    Scenario,
    Training,
)
from hyperplan.scenario.timeline import HOURS_PER_YEAR, Timeline, expand_series, timeline

MARKETS = ("reserved", "ondemand", "spot")
KINDS = ("inference", "training", "agents", "batch")
#: unit of each workload kind's demand and perf, as its demand field declares it (scenario/schema.py)
DEMAND_UNITS = demand_units()
#: unit of what one instance delivers at a time (``perf``, ``allocation.served``): a training run's
#: demand is work (GPU-hours), its rate of delivery is reference GPUs
RATE_UNITS = {**DEMAND_UNITS, "training": "reference GPUs"}


@dataclass
class PlanInputs:
    """Everything the builder needs, as arrays. See the module docstring for the shapes."""

    scenario: Scenario
    tl: Timeline
    # offers (O)
    offers: pd.DataFrame  # the catalog rows in play (after overrides), index offer_id
    providers: list[str]  # P
    sites: list[str]  # G, "provider:region"
    offer_provider: np.ndarray  # (O,) int into providers
    offer_site: np.ndarray  # (O,) int into sites
    gpus: np.ndarray  # (O,) accelerators per instance
    kw: np.ndarray  # (O,) facility kW per instance (IT kW × PUE); 0 when unknown
    kw_known: np.ndarray  # (O,) bool
    price: np.ndarray  # (O, 3, T) USD per instance-hour by market (after contract discounts)
    reserved_price: np.ndarray  # (O, K, T) USD per instance-hour, NaN = term not offered
    terms_years: list[int]  # K
    term_periods: np.ndarray  # (K,)
    available: np.ndarray  # (O, T) bool: offer can be bought in period t
    supply: np.ndarray  # (O, T) cap on new reserved instances per period (inf = none)
    max_reserved: np.ndarray  # (O,) ceiling on active reserved instances (inf = none)
    market_cap: np.ndarray  # (O, 3, T) instances obtainable per market (reserved: inf)
    existing: np.ndarray  # (O, T) instances already reserved
    existing_cost: np.ndarray  # (O, T) USD per hour of existing reservations
    # workloads (W)
    workload_names: list[str]
    kind: np.ndarray  # (W,) str
    demand: np.ndarray  # (W, T) per-period demand (0 for training)
    compute: np.ndarray  # (W,) training work, reference GPU-hours (0 for others)
    window: np.ndarray  # (W, T) bool: periods the workload may run in
    resilience: np.ndarray  # (W,) demand level under an outage (0 for training)
    market_ok: np.ndarray  # (W, 3) bool
    perf: np.ndarray  # (W, O) demand units per instance (0 = not allowed)
    perf_estimated: np.ndarray  # (W, O) bool: perf from an estimate
    max_instances: np.ndarray  # (W,) inf = none
    single_site: np.ndarray  # (W,) bool
    penalty: np.ndarray  # (W,) USD per unit-hour unserved (training: per GPU-hour)
    # scenarios (S)
    scenario_names: list[str]
    up: np.ndarray  # (S, O) bool
    weight: np.ndarray  # (S,) probability (time share) of each scenario
    # policies
    max_share: np.ndarray  # (P,) 1.0 = no cap
    share_by: str
    site_power_mw: np.ndarray  # (G, T) inf = none
    total_power_mw: np.ndarray  # (T,)
    budget_years: np.ndarray  # (Y,) calendar years with a budget
    budget_usd: np.ndarray  # (Y,)
    # contracts (C)
    contract_names: list[str]
    contract_provider: np.ndarray  # (C,)
    contract_hours: np.ndarray  # (C, T) hours of each contract in each period
    contract_committed: np.ndarray  # (C,) USD committed inside the horizon (pro rata)
    contract_end_period: np.ndarray  # (C,) last period index inside the horizon
    # routes: rented catalog offers, owned sites, managed platforms (plan/routes.py)
    route: np.ndarray  # (O,) int: RENTED, OWNED or MANAGED
    lead: np.ndarray  # (O,) periods from a term's start to its first covered period
    term_len: np.ndarray  # (O, K) periods a term of offer o covers (before the horizon's end)
    term_value: np.ndarray  # (O, K) USD per instance over the whole term at list price (NaN)
    special_term: int  # index in K of the build / provisioned term slot, -1 = none
    routes: RouteOffers  # owned and managed offers' details (server costs, token prices)
    warnings: list[str] = field(default_factory=list)
    #: (O, 2) where each offer's on-demand and spot ceiling comes from: ``[A] 64 gpus per offer,
    #: region and period`` (bundled default), ``offers.ondemand_cap``, ``offers.overrides``,
    #: ``unlimited (offers.overrides)``, ``route`` (owned / managed) or ``none`` (no default row)
    cap_basis: np.ndarray | None = None
    # end of the horizon (plan/ends.py): how commitments running past it are charged
    end_effects: str = "prorate"  # full, prorate or salvage
    salvage_fraction: np.ndarray | None = None  # (O, K) share of post-horizon cost recovered
    salvage_usd_per_hour: np.ndarray | None = None  # (O, K) USD per post-horizon instance-hour
    capex: np.ndarray | None = None  # (O,) USD per server of an owned build (NaN elsewhere)
    annuity_usd_per_hour: np.ndarray | None = None  # (O,) capex annuity share of its hourly price

    @property
    def shape(self) -> dict[str, int]:
        """Sizes of the sets."""
        return {
            "offers": len(self.offers),
            "periods": self.tl.periods,
            "terms": len(self.terms_years),
            "workloads": len(self.workload_names),
            "scenarios": len(self.scenario_names),
            "providers": len(self.providers),
            "sites": len(self.sites),
        }


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


def resolve(scenario: Scenario, catalog: Catalog) -> PlanInputs:
    """Build :class:`PlanInputs` from a validated scenario and a catalog."""
    tl = timeline(scenario.horizon)
    T = tl.periods
    base_dir: Path | None = getattr(scenario, "_base_dir", None)
    offers, warnings = _offers_in_play(scenario, catalog)
    offers = offers.copy()

    # --- overrides (vectorised per override; overrides are few) --------------------------------
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

    # --- owned sites and managed platforms: offers of their own, appended after the catalog's
    # filters and overrides, with a term slot of their own (builds, provisioned throughput) ----
    extra = route_offers(scenario, catalog, tl, base_dir)
    K = len(terms)
    term_len = np.tile(np.array([tl.term_periods(y) for y in terms], dtype=int), (O, 1))
    term_value = reserved_list * (np.array(terms, dtype=float) * HOURS_PER_YEAR)[None, :]
    offers["route"] = "rented"
    route = np.full(O, RENTED)
    lead = np.zeros(O, dtype=int)
    terms_out, term_periods_out = list(terms), [tl.term_periods(y) for y in terms]
    special = -1
    if extra.size:
        N = extra.size
        offers = pd.concat([offers, extra.offers])
        available = np.concatenate([available, extra.available])
        supply = np.concatenate([supply, extra.supply])
        od_cap = np.concatenate([od_cap, extra.ondemand_cap])
        spot_cap = np.concatenate([spot_cap, np.zeros((N, T))])
        od_basis = np.concatenate([od_basis, np.full(N, "route", dtype=object)])
        spot_basis = np.concatenate([spot_basis, np.full(N, "route", dtype=object)])
        max_reserved = np.concatenate([max_reserved, extra.max_reserved])
        one_year = np.concatenate([one_year, np.full(N, np.nan)])
        route = np.concatenate([route, extra.route])
        lead = np.concatenate([lead, extra.lead])
        pad = np.full((N, K), np.nan)
        reserved_list = np.concatenate([reserved_list, pad])
        term_value = np.concatenate([term_value, pad])
        term_len = np.concatenate([term_len, np.ones((N, K), dtype=int)])
        if np.isfinite(extra.special_price).any():
            special = K
            slot = np.full((O + N, 1), np.nan)
            reserved_list = np.hstack([reserved_list, slot])
            term_value = np.hstack([term_value, slot])
            term_len = np.hstack([term_len, np.ones((O + N, 1), dtype=int)])
            reserved_list[O:, special] = extra.special_price
            term_value[O:, special] = extra.special_value
            term_len[O:, special] = extra.special_periods
            terms_out.append(SPECIAL_TERM_YEARS)
            term_periods_out.append(T)
        O += N

    # --- providers, sites, power --------------------------------------------------------------
    providers = sorted(offers["provider"].unique().tolist())
    offer_provider = np.searchsorted(providers, offers["provider"].to_numpy())
    site_keys = (offers["provider"] + ":" + offers["region"]).to_numpy()
    sites = sorted(set(site_keys.tolist()))
    offer_site = np.searchsorted(sites, site_keys)
    pue_site = np.full(len(sites), 1.2)
    site_power = np.full((len(sites), T), np.inf)
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
    kw = np.where(kw_known, kw_it, 0.0) * pue_site[offer_site]

    # --- prices with contract discounts ----------------------------------------------------------
    contracts = scenario.contracts
    provider_index = {name.lower(): p for p, name in enumerate(providers)}
    C = len(contracts)
    P = len(providers)
    contract_hours = np.zeros((C, T))
    contract_provider = np.zeros(C, dtype=int)
    contract_committed = np.zeros(C)
    contract_end = np.zeros(C, dtype=int)
    contract_names: list[str] = []
    discount_pt = np.zeros((P, T))
    for c, con in enumerate(contracts):
        contract_names.append(con.name)
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
    multiplier = 1.0 - np.minimum(discount_pt, 0.95)[offer_provider]  # (O, T)
    od = offers["ondemand_usd_per_hour"].to_numpy(dtype=float)
    spot = offers["spot_usd_per_hour"].to_numpy(dtype=float)
    list_price = np.stack([np.zeros(O), od, spot], axis=1)  # (O, 3); reserved is paid via terms
    price = np.nan_to_num(list_price, nan=0.0)[:, :, None] * multiplier[:, None, :]
    reserved_price = reserved_list[:, :, None] * multiplier[:, None, :]
    # a market with no price, or before the offer is available, has no capacity
    market_cap = np.stack([np.full((O, T), np.inf), od_cap, spot_cap], axis=1)
    market_cap = np.where(
        np.isfinite(list_price)[:, :, None] & available[:, None, :], market_cap, 0.0
    )
    market_cap[:, 0] = np.inf

    # --- existing reservations ------------------------------------------------------------------
    existing = np.zeros((O, T))
    existing_cost = np.zeros((O, T))
    offer_ids = offers.index.to_numpy()
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
            unit = one_year[o] if np.isfinite(one_year[o]) else od[o]
            if not np.isfinite(unit):
                unit = 0.0
                warnings.append(f"reservation {oid}: no price known; counted at 0 USD")
        existing_cost[o] += res.instances * share * unit

    # --- workloads ------------------------------------------------------------------------------
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
    # Workloads that share their filters and perf figures share their row of ``perf``: it is
    # computed once per distinct signature (10,000 workloads usually have a handful).
    rows: dict[tuple, tuple[np.ndarray, np.ndarray, tuple[str, ...]]] = {}
    no_figure: dict[str, list[str]] = {}  # accelerator -> workloads skipping its offers
    cache: dict[tuple, tuple[float | None, bool]] = {}
    for i, wl in enumerate(scenario.workloads):
        preempt = wl.preemptible
        markets = wl.markets or (
            ["reserved", "ondemand", "spot"] if preempt else ["reserved", "ondemand"]
        )
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
    # managed platforms serve the inference workloads they allow (one instance = one output
    # token/s, see plan/routes.py); then every workload keeps only the routes it allows
    if extra.size:
        is_managed = extra.route[None, :] == MANAGED
        perf[:, O - extra.size :] = np.where(is_managed, extra.perf, perf[:, O - extra.size :])
    allowed_route = route_ok(scenario)[:, route]  # (W, O)
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

    # --- penalty: factor × the dearest way to serve one unit for one hour ------------------------
    dearest_price = np.maximum(
        price[:, 1:].max(axis=(1, 2), initial=0.0),
        np.nan_to_num(reserved_price, nan=0.0).max(axis=(1, 2), initial=0.0),
    )  # (O,) USD per instance-hour
    safe_perf = np.where(perf > 0, perf, 1.0)
    dearest = np.where(perf > 0, dearest_price[None, :] / safe_perf, 0.0).max(axis=1)
    fallback = np.where(kind == "inference", 1e-2, np.where(kind == "agents", 1.0, 100.0))
    penalty = scenario.policies.unserved_penalty_factor * np.where(dearest > 0, dearest, fallback)

    # --- scenarios ------------------------------------------------------------------------------
    scenario_names = ["base"]
    up_rows = [np.ones(O, dtype=bool)]
    weights = [0.0]
    mode = scenario.policies.outages
    if mode in ("providers", "both"):
        for p, name in enumerate(providers):
            scenario_names.append(f"{name} down")
            up_rows.append(offer_provider != p)
            model = settings.get(name.lower())
            outage = model.outage if model is not None else None
            outage = extra.outages.get(name, outage)  # an owned site's own outage model
            rate, hours = (outage.rate_per_year, outage.mean_hours) if outage else (1.0, 8.0)
            weights.append(rate * hours / HOURS_PER_YEAR)
    if mode in ("regions", "both"):
        for g, key in enumerate(sites):
            if key.startswith(OWNED_PREFIX) and mode == "both":
                continue  # an owned site is one domain: its provider scenario already covers it
            prov_name, region_name = key.split(":", 1)
            scenario_names.append(f"{key} down")
            up_rows.append(offer_site != g)
            prov = settings.get(prov_name.lower())
            region = region_settings(prov).get(region_name.lower())
            outage = region.outage if region and region.outage else None
            if key.startswith(OWNED_PREFIX):
                outage = extra.outages.get(key.rsplit(":", 1)[0])
            rate, hours = (outage.rate_per_year, outage.mean_hours) if outage else (1.0, 8.0)
            weights.append(rate * hours / HOURS_PER_YEAR)
    weight = np.array(weights)
    weight[0] = max(0.0, 1.0 - weight[1:].sum())

    # --- policies -------------------------------------------------------------------------------
    pol = scenario.policies
    max_share = np.ones(P)
    if isinstance(pol.max_share, float | int):
        max_share[:] = float(pol.max_share)
    elif isinstance(pol.max_share, dict):
        for name, value in pol.max_share.items():
            if name.lower() in provider_index:
                max_share[provider_index[name.lower()]] = value
    # checked here as well as in scenario.check: filters may leave fewer providers with offers
    message = share_caps_message(pol.max_share, providers)
    if message is not None:
        source = getattr(scenario, "_source", None) or "<input>"
        raise InputError([Problem(message, file=source, path="policies.max_share")])
    total_power = expand_series(pol.power_total_mw, tl, base_dir)
    years = np.unique(tl.calendar_year)
    if pol.budget_usd_per_year is not None:
        per_year = expand_series(pol.budget_usd_per_year, tl, base_dir)
        # one budget per calendar year: the value of the year's first period
        first = np.searchsorted(tl.calendar_year, years)
        budget_usd = per_year[first]
        budget_years = years
    else:
        budget_usd = np.zeros(0)
        budget_years = np.zeros(0, dtype=int)

    inputs = PlanInputs(
        scenario=scenario,
        tl=tl,
        offers=offers,
        providers=providers,
        sites=sites,
        offer_provider=offer_provider,
        offer_site=offer_site,
        gpus=gpus,
        kw=kw,
        kw_known=kw_known,
        price=price,
        reserved_price=reserved_price,
        terms_years=terms_out,
        term_periods=np.array(term_periods_out, dtype=int),
        available=available,
        supply=supply,
        max_reserved=max_reserved,
        market_cap=market_cap,
        cap_basis=np.stack([od_basis, spot_basis], axis=1),
        existing=existing,
        existing_cost=existing_cost,
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
        penalty=penalty,
        scenario_names=scenario_names,
        up=np.array(up_rows),
        weight=weight,
        max_share=max_share,
        share_by=pol.share_by,
        site_power_mw=site_power,
        total_power_mw=total_power,
        budget_years=budget_years,
        budget_usd=budget_usd,
        contract_names=contract_names,
        contract_provider=contract_provider,
        contract_hours=contract_hours,
        contract_committed=contract_committed,
        contract_end_period=contract_end,
        route=route,
        lead=lead,
        term_len=term_len,
        term_value=term_value,
        special_term=special,
        routes=extra,
        warnings=warnings,
    )
    end_effect_inputs(inputs)
    problems = hard_limit_problems(inputs)
    if problems:
        raise InputError(problems)
    return inputs


def hard_limit_problems(inp: PlanInputs) -> list[Problem]:
    """Hard limits that the reservations already held break on their own (no plan can keep them).

    The budget counts the held reservations' spend and the power caps their draw, and neither
    can be undone by the plan; the model would be infeasible. Each problem says which limit,
    when, by how much, and what to change.
    """
    source = getattr(inp.scenario, "_source", None) or "<input>"
    tl = inp.tl
    problems: list[Problem] = []
    if len(inp.budget_years) and inp.existing_cost.any():
        spend = (inp.existing_cost * tl.hours[None, :]).sum(axis=0)  # (T,) USD
        year_of_t = np.searchsorted(inp.budget_years, tl.calendar_year)
        held = np.bincount(year_of_t, weights=spend, minlength=len(inp.budget_years))
        for y, (year, budget) in enumerate(zip(inp.budget_years, inp.budget_usd, strict=True)):
            if held[y] > budget * (1 + 1e-9) + 1.0:
                problems.append(
                    Problem(
                        f"the reservations already held cost {held[y]:,.0f} USD in {year}, above "
                        f"that year's budget of {budget:,.0f} USD: no plan can keep it; raise "
                        "the budget or check the reservations",
                        file=source,
                        path="policies.budget_usd_per_year",
                    )
                )
    if inp.existing.any():
        held_mw = inp.existing * inp.kw[:, None] / 1000.0  # (O, T)
        site_mw = np.zeros_like(inp.site_power_mw)
        np.add.at(site_mw, inp.offer_site, held_mw)
        for g, t in zip(*np.nonzero(site_mw > inp.site_power_mw * (1 + 1e-9) + 1e-6), strict=True):
            provider, region = inp.sites[g].split(":", 1)
            problems.append(
                Problem(
                    f"the reservations already held at {inp.sites[g]} draw {site_mw[g, t]:,.3g} "
                    f"MW in {tl.labels[t]}, above its power cap of {inp.site_power_mw[g, t]:,.3g} "
                    "MW: no plan can keep it; raise the cap or check the reservations",
                    file=source,
                    path=f"providers.{provider}.regions.{region}.power_mw",
                )
            )
        total = held_mw.sum(axis=0)
        for t in np.flatnonzero(total > inp.total_power_mw * (1 + 1e-9) + 1e-6):
            problems.append(
                Problem(
                    f"the reservations already held draw {total[t]:,.3g} MW in {tl.labels[t]}, "
                    f"above the total power cap of {inp.total_power_mw[t]:,.3g} MW: no plan can "
                    "keep it; raise policies.power_total_mw or check the reservations",
                    file=source,
                    path="policies.power_total_mw",
                )
            )
    problems += _share_problems(inp, source)
    return problems[:20]


def window_any(ok: np.ndarray, length: int) -> np.ndarray:
    """``out[..., t]`` = any ``ok[..., s]`` for ``t - length < s ≤ t`` (last axis)."""
    cs = np.cumsum(ok, axis=-1, dtype=np.int64)
    lagged = np.zeros_like(cs)
    if length < cs.shape[-1]:
        lagged[..., length:] = cs[..., :-length]
    return (cs - lagged) > 0


def _share_problems(inp: PlanInputs, source: str) -> list[Problem]:
    """Share caps that held reservations break in a period where no other provider can be bought.

    A provider's share can be brought under its cap by buying from the others (even capacity
    left idle); when none of them has anything to buy in that period, nothing can.
    """
    capped = np.flatnonzero(inp.max_share < 1.0)
    if not capped.size or not inp.existing.any():
        return []
    T, P = inp.tl.periods, len(inp.providers)
    if inp.share_by == "gpus":
        held_o = inp.existing * inp.gpus[:, None]
    else:
        held_o = inp.existing_cost * inp.tl.hours[None, :]
    held = np.zeros((P, T))
    np.add.at(held, inp.offer_provider, held_o)
    perf_pos = inp.perf > 0
    useful = (perf_pos & inp.market_ok[:, 0][:, None]).any(axis=0)  # someone may reserve it
    ok = (
        np.isfinite(inp.reserved_price)
        & inp.available[:, None, :]
        & (inp.supply[:, None, :] > 0)
        & useful[:, None, None]
        & (inp.max_reserved > 0)[:, None, None]
    )
    buyable_o = np.zeros((len(inp.offers), T), dtype=bool)
    for k, length in enumerate(inp.term_periods):
        buyable_o |= window_any(ok[:, k, :], int(length))
    training = inp.kind == "training"
    active = (inp.window & (training[:, None] | (inp.demand > 0))).astype(float)
    for m in (1, 2):
        who = (perf_pos & inp.market_ok[:, m][:, None]).T.astype(float)  # (O, W)
        buyable_o |= ((who @ active) > 0) & (inp.market_cap[:, m, :] > 0)
    buyable = np.zeros((P, T), dtype=bool)
    np.logical_or.at(buyable, inp.offer_provider, buyable_o)
    out = []
    unit = "GPUs" if inp.share_by == "gpus" else "spend"
    for p in capped:
        others = np.delete(np.arange(P), p)
        stuck = (
            held[p] > inp.max_share[p] * held.sum(axis=0) + 1e-6 * held.sum(axis=0) + 1e-3
        ) & ~buyable[others].any(axis=0)
        for t in np.flatnonzero(stuck)[:3]:
            share = held[p, t] / held[:, t].sum()
            out.append(
                Problem(
                    f"the reservations already held with {inp.providers[p]} are {share:.0%} of "
                    f"{unit} in {inp.tl.labels[t]}, above max_share {inp.max_share[p]:g}, and no "
                    "other provider has anything a workload can use then: no plan can keep the "
                    "cap; raise max_share, or let workloads use other providers in that period",
                    file=source,
                    path="policies.max_share",
                )
            )
    return out


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
