"""Join a scenario with the catalog into the arrays the model builder needs.

This is the only place that reads the scenario and catalog for planning; the builder sees plain
numpy arrays. Shapes use ``O`` offers in play, ``T`` periods, ``K`` terms, ``W`` workloads,
``S`` scenarios (0 = base, then one per failure domain), ``P`` providers, ``G`` sites (regions).
Money is USD, time hours, capacity instances.
"""

from __future__ import annotations

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
from hyperplan.scenario.schema import (
    Agents,
    Batch,
    Inference,
    OfferMatch,
    Scenario,
    Training,
)
from hyperplan.scenario.timeline import HOURS_PER_YEAR, Timeline, expand_series, timeline

MARKETS = ("reserved", "ondemand", "spot")
KINDS = ("inference", "training", "agents", "batch")
#: unit of each workload kind's demand and perf
DEMAND_UNITS = {
    "inference": "tokens/s",
    "training": "reference GPU-hours",
    "agents": "vCPUs",
    "batch": "reference GPUs",
}


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
    warnings: list[str] = field(default_factory=list)

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


def _matches(offers: pd.DataFrame, match: OfferMatch) -> np.ndarray:
    mask = np.ones(len(offers), dtype=bool)
    for column in ("provider", "region", "instance_type"):
        wanted = getattr(match, column)
        if wanted is not None:
            mask &= offers[column].str.lower().to_numpy() == wanted.lower()
    if match.accelerator is not None:
        mask &= offers["accelerator"].to_numpy() == normalize_accelerator(match.accelerator)
    return mask


def _offers_in_play(scenario: Scenario, catalog: Catalog) -> tuple[pd.DataFrame, list[str]]:
    """Filter the catalog to the scenario's providers, regions, accelerators and exclusions."""
    offers = catalog.offers.copy()
    warnings: list[str] = []
    keep = np.ones(len(offers), dtype=bool)
    if scenario.providers:
        keep &= offers["provider"].isin(list(scenario.providers)).to_numpy()
        for name, prov in scenario.providers.items():
            if prov.regions is not None:
                own = offers["provider"].to_numpy() == name
                keep &= ~own | offers["region"].isin(list(prov.regions)).to_numpy()
    if scenario.offers.accelerators is not None:
        wanted = {normalize_accelerator(a) for a in scenario.offers.accelerators}
        acc = offers["accelerator"].to_numpy()
        keep &= (acc == "") | np.isin(acc, list(wanted))
    if scenario.offers.instance_types is not None:
        keep &= offers["instance_type"].isin(scenario.offers.instance_types).to_numpy()
    for match in scenario.offers.exclude:
        keep &= ~_matches(offers, match)
    offers = offers[keep]
    unpriced = offers.index[~offers["priced"].to_numpy(dtype=bool)]
    if len(unpriced):
        shown = ", ".join(unpriced[:4]) + (" ..." if len(unpriced) > 4 else "")
        warnings.append(
            f"{len(unpriced)} offers in play have no price in the catalog and are skipped "
            f"unless an override prices them: {shown}"
        )
    return offers, warnings


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
    od_cap = np.tile(expand_series(scenario.offers.ondemand_cap, tl, base_dir), (O, 1))
    spot_cap = np.tile(expand_series(scenario.offers.spot_cap, tl, base_dir), (O, 1))
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
        mask = _matches(offers, ov.match)
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
        if ov.spot_cap is not None:
            spot_cap[mask] = expand_series(ov.spot_cap, tl, base_dir)

    # --- providers, sites, power --------------------------------------------------------------
    providers = sorted(offers["provider"].unique().tolist())
    offer_provider = np.searchsorted(providers, offers["provider"].to_numpy())
    site_keys = (offers["provider"] + ":" + offers["region"]).to_numpy()
    sites = sorted(set(site_keys.tolist()))
    offer_site = np.searchsorted(sites, site_keys)
    pue_site = np.full(len(sites), 1.2)
    site_power = np.full((len(sites), T), np.inf)
    for g, key in enumerate(sites):
        prov_name, region_name = key.split(":", 1)
        prov = scenario.providers.get(prov_name)
        if prov is None:
            continue
        pue_site[g] = prov.pue
        region = (prov.regions or {}).get(region_name)
        if region is not None:
            if region.pue is not None:
                pue_site[g] = region.pue
            site_power[g] = expand_series(region.power_mw, tl, base_dir)
    kw_it = offers["kw_per_instance"].to_numpy(dtype=float)
    kw_known = np.isfinite(kw_it)
    kw = np.where(kw_known, kw_it, 0.0) * pue_site[offer_site]

    # --- prices with contract discounts ----------------------------------------------------------
    contracts = scenario.contracts
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
        if con.provider in providers:
            p = providers.index(con.provider)
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
    for res in scenario.reservations:
        oid = f"{res.provider}:{res.region}:{res.instance_type}"
        hit = np.flatnonzero(offer_ids == oid)
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
    unique_acc = [a for a in pd.unique(acc) if a]
    for i, wl in enumerate(scenario.workloads):
        allowed = np.ones(O, dtype=bool)
        if wl.providers is not None:
            allowed &= np.isin(offers["provider"].to_numpy(), wl.providers)
        if wl.regions is not None:
            allowed &= np.isin(offers["region"].to_numpy(), wl.regions)
        if wl.geo is not None:
            allowed &= np.isin(geo, wl.geo)
        preempt = wl.preemptible
        markets = wl.markets or (
            ["reserved", "ondemand", "spot"] if preempt else ["reserved", "ondemand"]
        )
        market_ok[i] = [m in markets for m in MARKETS]
        if isinstance(wl, Agents):
            allowed &= (acc == "") & np.isfinite(vcpus)
            perf[i] = np.where(allowed, np.nan_to_num(vcpus), 0.0)
            demand[i] = expand_series(wl.demand_vcpus, tl, base_dir)
            resilience[i] = wl.resilience
            continue
        wanted = (
            {normalize_accelerator(a) for a in wl.accelerators}
            if wl.accelerators
            else set(unique_acc)
        )
        allowed &= np.isin(acc, list(wanted)) & (gpus > 0)
        per_device = np.zeros(O)
        estimated = np.zeros(O, dtype=bool)
        for a in wanted:
            sel = allowed & (acc == a)
            if not sel.any():
                continue
            value, is_est = _device_perf(wl, a)
            if value is None:
                allowed &= ~sel
                warnings.append(
                    f"workload {wl.name}: no performance figure for {a}; offers skipped"
                )
                continue
            per_device[sel] = value
            estimated[sel] = is_est
        perf[i] = np.where(allowed, per_device * gpus, 0.0)
        perf_est[i] = estimated & allowed
        if isinstance(wl, Inference):
            demand[i] = expand_series(wl.demand_tokens_per_s, tl, base_dir)
            resilience[i] = wl.resilience
        elif isinstance(wl, Batch):
            demand[i] = expand_series(wl.demand_gpus, tl, base_dir)
            resilience[i] = wl.resilience
        elif isinstance(wl, Training):
            compute[i] = wl.compute_gpu_hours
            lo = np.array([d.toordinal() for d in tl.starts[:-1]])
            hi = np.array([d.toordinal() for d in tl.starts[1:]])
            # a period is usable when it lies entirely inside [start, deadline)
            window[i] = (lo >= wl.start.toordinal()) & (hi <= wl.deadline.toordinal())
            if not window[i].any():
                warnings.append(
                    f"training {wl.name}: no whole period lies inside [{wl.start}, {wl.deadline})"
                )
            single[i] = wl.single_site
            if wl.max_instances is not None:
                max_inst[i] = wl.max_instances
    if np.any(perf_est):
        flagged = sorted({names[w] for w in np.flatnonzero(perf_est.any(axis=1))})
        warnings.append("estimated perf figures in use for: " + ", ".join(flagged))

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
            model = scenario.providers.get(name)
            outage = model.outage if model is not None else None
            rate, hours = (outage.rate_per_year, outage.mean_hours) if outage else (1.0, 8.0)
            weights.append(rate * hours / HOURS_PER_YEAR)
    if mode in ("regions", "both"):
        for g, key in enumerate(sites):
            prov_name, region_name = key.split(":", 1)
            scenario_names.append(f"{key} down")
            up_rows.append(offer_site != g)
            prov = scenario.providers.get(prov_name)
            region = (prov.regions or {}).get(region_name) if prov else None
            outage = region.outage if region and region.outage else None
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
            if name in providers:
                max_share[providers.index(name)] = value
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

    return PlanInputs(
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
        terms_years=terms,
        term_periods=np.array([tl.term_periods(y) for y in terms], dtype=int),
        available=available,
        supply=supply,
        max_reserved=max_reserved,
        market_cap=market_cap,
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
        warnings=warnings,
    )


def _device_perf(wl: Inference | Training | Batch, accelerator: str) -> tuple[float | None, bool]:
    """Perf per accelerator device for a workload: (value, is_estimate). ``None`` if unknown."""
    given = {
        normalize_accelerator(k): v
        for k, v in (getattr(wl, "perf_tokens_per_s", None) or {}).items()
    }
    if isinstance(wl, Inference):
        if accelerator in given:
            return given[accelerator], False
        try:
            value, _basis = estimate_inference_tokens_per_s(accelerator, wl.model_params_b)
        except KeyError:
            return None, False
        return value, True
    given = {normalize_accelerator(k): v for k, v in (wl.perf or {}).items()}
    if accelerator in given:
        return given[accelerator], False
    try:
        return training_equivalents(
            accelerator, normalize_accelerator(wl.reference_accelerator)
        ), False
    except KeyError:
        return None, False
