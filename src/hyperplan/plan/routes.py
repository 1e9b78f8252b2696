"""Build, rent or buy managed: owned sites and managed platforms as offers of their own.

The planner knows one kind of thing to buy: an *offer* (provider, region, instance type) with
on-demand, spot and reserved-term markets. This module turns a scenario's ``owned_sites`` and
``managed_platforms`` into more offers of that kind, so every policy (share caps, power caps,
budgets, N-1 outage scenarios) treats them exactly like rented capacity
(``docs/formulation.md``, "Owned sites and managed platforms"; ``docs/routes.md``):

* an **owned site** is an offer of provider ``owned:<name>`` whose only market is a *build*
  term: a server decided in period ``s`` serves periods ``[s + lead, s + lead + life)`` (cut at
  the horizon's end) at a price per server-hour of annualised capex + fixed O&M + electricity;
* a **managed platform** is an offer of its host provider whose instance is one output token/s,
  on demand at ``3600 / 1e6 × (output + ratio × input)`` USD per hour; provisioned throughput is
  a second offer with a term of its own.

Build and provisioned terms share one extra term slot (``term_years`` 0) after the scenario's
year terms; each offer has its own term length and lead time (:class:`RouteOffers`).

Everything here is plain numpy and pandas; :func:`route_offers` is called by
:func:`hyperplan.plan.inputs.resolve`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hyperplan.catalog import Catalog, geo_of_region, normalize_accelerator
from hyperplan.catalog.managed import find_managed_price
from hyperplan.catalog.owned import crf, hardware_usd_per_accelerator, owned_defaults
from hyperplan.catalog.power import kw_per_instance
from hyperplan.errors import InputError, Problem
from hyperplan.scenario.schema import (
    Inference,
    ManagedPlatform,
    OutageModel,
    OwnedSite,
    Scenario,
)
from hyperplan.scenario.timeline import HOURS_PER_YEAR, MONTHS_PER_PERIOD, Timeline, expand_series

ROUTES = ("rented", "owned", "managed")
RENTED, OWNED, MANAGED = 0, 1, 2
#: ``term_years`` label of the build / provisioned term slot
SPECIAL_TERM_YEARS = 0
#: hours in an average month (provisioned terms are priced per month)
HOURS_PER_MONTH = HOURS_PER_YEAR / 12.0
OWNED_PREFIX = "owned:"


def owned_provider(name: str) -> str:
    """The provider name of an owned site: ``owned:<name>``."""
    return f"{OWNED_PREFIX}{name}"


def managed_usd_per_hour(
    input_usd_per_million: float, output_usd_per_million: float, input_per_output: float
) -> float:
    """Price of one output token/s for one hour: ``3600 / 1e6 × (out + ratio × in)`` USD."""
    return 3600.0 / 1e6 * (output_usd_per_million + input_per_output * input_usd_per_million)


# ----------------------------------------------------------------------------------------------
# Owned sites: the cost of one server, closed form
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnedCost:
    """The cost of one server of an owned site, per component (USD; see ``docs/routes.md``).

    ``usd_per_hour = (facility_annuity + hardware_annuity + om_per_year) / 8760
    + electricity_per_hour``, where each annuity is its capex × the capital recovery factor at
    the horizon's discount rate over its lifetime, and electricity assumes the server runs flat
    out (``kw_it × pue / 1000 × usd_per_mwh``).
    """

    site: str
    accelerator: str
    gpus: int
    kw_it: float  # IT kW per server
    pue: float
    rate: float  # discount rate of the annuities
    facility_lifetime_years: float
    hardware_lifetime_years: float
    facility_capex: float  # USD per server: facility USD per IT MW × kW_it / 1000
    hardware_capex: float  # USD per server: USD per accelerator × GPUs
    om_share: float  # fixed O&M per year as a share of capex
    electricity_usd_per_mwh: float
    lead_periods: int
    basis: str  # where the defaults came from

    @property
    def capex(self) -> float:
        """Facility + hardware capex of one server, USD."""
        return self.facility_capex + self.hardware_capex

    @property
    def facility_annuity(self) -> float:
        """USD per server-year repaying the facility share over its lifetime."""
        return self.facility_capex * crf(self.rate, self.facility_lifetime_years)

    @property
    def hardware_annuity(self) -> float:
        """USD per server-year repaying the hardware over its lifetime."""
        return self.hardware_capex * crf(self.rate, self.hardware_lifetime_years)

    @property
    def om_per_year(self) -> float:
        """Fixed O&M, USD per server-year."""
        return self.om_share * self.capex

    @property
    def electricity_per_hour(self) -> float:
        """Electricity of a server running flat out, USD per hour."""
        return self.kw_it * self.pue / 1000.0 * self.electricity_usd_per_mwh

    @property
    def fixed_per_year(self) -> float:
        """Annualised capex + fixed O&M, USD per server-year."""
        return self.facility_annuity + self.hardware_annuity + self.om_per_year

    @property
    def usd_per_hour(self) -> float:
        """What one server costs per hour of the horizon, USD."""
        return self.fixed_per_year / HOURS_PER_YEAR + self.electricity_per_hour

    @property
    def mw_per_server(self) -> float:
        """Facility (grid) MW of one server: IT kW × PUE / 1000."""
        return self.kw_it * self.pue / 1000.0

    def hardware_price_for(self, usd_per_hour: float) -> float:
        """The hardware price per accelerator at which a server would cost ``usd_per_hour``
        (everything else unchanged); the hourly cost is linear in it."""
        slope = self.gpus * (crf(self.rate, self.hardware_lifetime_years) + self.om_share)
        rest = (
            self.facility_capex * (crf(self.rate, self.facility_lifetime_years) + self.om_share)
        ) / HOURS_PER_YEAR + self.electricity_per_hour
        return (usd_per_hour - rest) * HOURS_PER_YEAR / slope


def owned_cost(site: OwnedSite, rate: float, catalog: Catalog) -> OwnedCost:
    """The :class:`OwnedCost` of one server of ``site``, with the catalog's sourced defaults for
    the fields the site leaves out.

    Raises:
        KeyError: unknown accelerator, or no power figure / hardware price for it (then the
            site must state ``kw_per_server`` / ``hardware_usd_per_accelerator``).
    """
    acc = normalize_accelerator(site.accelerator)
    defaults = owned_defaults()
    basis = []
    kw = site.kw_per_server
    if kw is None:
        frame = pd.DataFrame(
            {"accelerator": [acc], "accelerators": [site.gpus_per_server], "vcpus": [np.nan]}
        )
        values, why = kw_per_instance(frame, catalog.accelerators)
        kw = float(values[0])
        if not math.isfinite(kw):
            raise KeyError(f"no power figure for {acc} ({why[0]}); give kw_per_server")
        basis.append(f"kW: {why[0]}")
    hardware = site.hardware_usd_per_accelerator
    if hardware is None:
        found = hardware_usd_per_accelerator(acc)
        if found is None:
            raise KeyError(
                f"owned_capacity_costs.csv has no hardware price for {acc}; "
                "give hardware_usd_per_accelerator"
            )
        hardware = found.value
        basis.append(f"hardware: {found.basis}")

    def pick(value: float | None, key: str) -> float:
        if value is not None:
            return float(value)
        basis.append(f"{key}: {defaults[key].basis}")
        return defaults[key].value

    facility = pick(site.facility_usd_per_mw, "facility_usd_per_mw")
    electricity = pick(site.electricity_usd_per_mwh, "electricity_usd_per_mwh")
    pue = pick(site.pue, "pue")
    life = pick(site.hardware_lifetime_years, "hardware_lifetime_years")
    return OwnedCost(
        site=site.name,
        accelerator=acc,
        gpus=site.gpus_per_server,
        kw_it=float(kw),
        pue=pue,
        rate=rate,
        facility_lifetime_years=site.facility_lifetime_years,
        hardware_lifetime_years=life,
        facility_capex=facility * kw / 1000.0,
        hardware_capex=hardware * site.gpus_per_server,
        om_share=site.fixed_om_share_per_year,
        electricity_usd_per_mwh=electricity,
        lead_periods=site.lead_time_periods,
        basis="; ".join(basis) if basis else "all figures from the scenario",
    )


# ----------------------------------------------------------------------------------------------
# Managed platforms: prices and which workloads may use them
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManagedPrice:
    """Token prices of a managed platform, USD per million, with their basis."""

    input_usd_per_million_tokens: float
    output_usd_per_million_tokens: float
    basis: str


def managed_price(platform: ManagedPlatform) -> ManagedPrice:
    """The platform's token prices: its own, else the ``managed_model_prices.csv`` row of its
    model (the provider's platform unless ``platform`` names one).

    Raises:
        KeyError: a price is missing and the catalog has no row for the model.
    """
    given_in = platform.input_usd_per_million_tokens
    given_out = platform.output_usd_per_million_tokens
    if given_in is not None and given_out is not None:
        return ManagedPrice(given_in, given_out, "scenario")
    assert platform.model is not None  # the schema requires a model or both prices
    row = find_managed_price(
        platform.model, provider=platform.provider, platform=platform.platform, mode=platform.mode
    )
    return ManagedPrice(
        row.input_usd_per_million_tokens if given_in is None else given_in,
        row.output_usd_per_million_tokens if given_out is None else given_out,
        f"managed_model_prices.csv: {row.platform}, {row.model}, {row.mode} ({row.note}): "
        f"{row.source}",
    )


def _model_key(text: str | None) -> str | None:
    return None if text is None else " ".join(str(text).lower().split())


def managed_workloads(platform: ManagedPlatform, scenario: Scenario, region: str, geo: str) -> list:
    """Indices of the workloads the platform may serve (inference only).

    ``workloads`` lists names or model names; by default a platform serves every inference
    workload whose ``model`` is unset or equals its own. The workload's own filters apply too:
    ``routes`` must allow managed, ``providers`` (if given) must name the platform's provider,
    ``regions`` its region and ``geo`` its geo tag. ``accelerators`` does not apply (a platform
    has none).
    """
    allowed = []
    wanted = None if platform.workloads is None else {_model_key(n) for n in platform.workloads}
    own_model = _model_key(platform.model)
    for w, wl in enumerate(scenario.workloads):
        if not isinstance(wl, Inference):
            continue
        if wl.routes is not None and "managed" not in wl.routes:
            continue
        model = _model_key(wl.model)
        if wanted is None:
            if model is not None and own_model is not None and model != own_model:
                continue
        elif _model_key(wl.name) not in wanted and (model is None or model not in wanted):
            continue
        if wl.providers is not None and platform.provider.lower() not in {
            p.lower() for p in wl.providers
        }:
            continue
        if wl.regions is not None and region.lower() not in {r.lower() for r in wl.regions}:
            continue
        if wl.geo is not None and geo not in wl.geo:
            continue
        allowed.append(w)
    return allowed


# ----------------------------------------------------------------------------------------------
# The offers
# ----------------------------------------------------------------------------------------------


@dataclass
class RouteOffers:
    """Offers made from owned sites and managed platforms, as arrays aligned with ``offers``.

    ``N`` offers; ``K`` = the scenario's year terms + 1 special slot (builds and provisioned
    throughput), ``T`` periods, ``W`` workloads.
    """

    offers: pd.DataFrame  # OFFER_COLUMNS + route, index offer_id
    route: np.ndarray  # (N,) int: OWNED or MANAGED
    available: np.ndarray  # (N, T) bool
    supply: np.ndarray  # (N, T) new instances per period (inf = no ramp)
    ondemand_cap: np.ndarray  # (N, T)
    max_reserved: np.ndarray  # (N,)
    special_price: np.ndarray  # (N,) USD per instance-hour of the special term (NaN: none)
    special_periods: np.ndarray  # (N,) periods a special term covers
    special_value: np.ndarray  # (N,) USD per instance over the whole special term
    lead: np.ndarray  # (N,) periods from decision to first service
    perf: np.ndarray  # (W, N) managed perf (0 for owned: the regular perf rules apply)
    site_pue: dict[str, float] = field(default_factory=dict)  # "provider:region" -> PUE
    site_power_mw: dict[str, np.ndarray] = field(default_factory=dict)  # -> (T,) MW cap
    outages: dict[str, OutageModel] = field(default_factory=dict)  # provider -> model
    owned: dict[str, OwnedCost] = field(default_factory=dict)  # offer_id -> server cost
    managed: dict[str, dict] = field(default_factory=dict)  # offer_id -> price details

    @property
    def size(self) -> int:
        return len(self.offers)


def _problem(scenario: Scenario, path: str, message: str) -> InputError:
    source = getattr(scenario, "_source", None) or "<input>"
    return InputError([Problem(message, file=source, path=path)])


def route_offers(
    scenario: Scenario, catalog: Catalog, tl: Timeline, base_dir: Path | None
) -> RouteOffers:
    """The offers of the scenario's owned sites and managed platforms (none: an empty set)."""
    T, W = tl.periods, len(scenario.workloads)
    rows: list[dict] = []
    route: list[int] = []
    available, supply, od_cap = [], [], []
    max_reserved, special_price, special_periods, special_value, lead = [], [], [], [], []
    perf_cols: list[np.ndarray] = []
    out = RouteOffers(
        offers=pd.DataFrame(),
        route=np.zeros(0, dtype=int),
        available=np.zeros((0, T), dtype=bool),
        supply=np.zeros((0, T)),
        ondemand_cap=np.zeros((0, T)),
        max_reserved=np.zeros(0),
        special_price=np.zeros(0),
        special_periods=np.zeros(0, dtype=int),
        special_value=np.zeros(0),
        lead=np.zeros(0, dtype=int),
        perf=np.zeros((W, 0)),
    )
    rate = scenario.horizon.discount_rate
    per_year = 12 // MONTHS_PER_PERIOD[scenario.horizon.period]
    for i, site in enumerate(scenario.owned_sites):
        try:
            cost = owned_cost(site, rate, catalog)
        except KeyError as exc:
            raise _problem(scenario, f"owned_sites[{i}]", str(exc).strip("'\"")) from exc
        provider = owned_provider(site.name)
        instance = f"{cost.accelerator}x{cost.gpus}"
        oid = f"{provider}:{site.region}:{instance}"
        geo = site.geo or geo_of_region("owned", site.region)
        price = cost.usd_per_hour
        rows.append(
            _row(
                oid,
                provider=provider,
                region=site.region,
                instance_type=instance,
                accelerator=cost.accelerator,
                accelerators=cost.gpus,
                reserved_basis="owned: annualised capex + fixed O&M + electricity (flat out)",
                usd_per_gpu_hour=price / cost.gpus,
                kw_per_instance=cost.kw_it,
                kw_basis="user" if site.kw_per_server is not None else "catalog TDP rule",
                geo=geo,
                source=cost.basis,
                origin="owned",
                route="owned",
            )
        )
        route.append(OWNED)
        available.append(np.ones(T, dtype=bool))
        mw = expand_series(site.mw_per_period, tl, base_dir)
        supply.append(mw / cost.mw_per_server)
        od_cap.append(np.zeros(T))
        max_reserved.append(np.inf)
        special_price.append(price)
        special_periods.append(max(1, round(cost.hardware_lifetime_years * per_year)))
        special_value.append(cost.capex)
        lead.append(site.lead_time_periods)
        perf_cols.append(np.zeros(W))
        site_key = f"{provider}:{site.region}"
        out.site_pue[site_key] = cost.pue
        out.site_power_mw[site_key] = np.full(T, site.max_mw if site.max_mw is not None else np.inf)
        out.outages[provider] = site.outage
        out.owned[oid] = cost

    for i, platform in enumerate(scenario.managed_platforms):
        try:
            prices = managed_price(platform)
        except KeyError as exc:
            raise _problem(
                scenario, f"managed_platforms[{i}].model", str(exc).strip("'\"")
            ) from exc
        provider = platform.provider.lower()
        region = platform.region or platform.name
        geo = platform.geo or geo_of_region(provider, region)
        users = managed_workloads(platform, scenario, region, geo)
        ratios = {
            w: scenario.workloads[w].input_tokens_per_output  # type: ignore[union-attr]
            for w in users
        }
        # the instance is one output token/s at the smallest ratio among its users: exact for
        # every user (perf below), and the throughput cap counts a prompt-heavier workload's
        # tokens at their price (docs/routes.md)
        ref = min(ratios.values()) if ratios else 1.0
        pin, pout = prices.input_usd_per_million_tokens, prices.output_usd_per_million_tokens
        unit = managed_usd_per_hour(pin, pout, ref)
        column = np.zeros(W)
        for w, ratio in ratios.items():
            per_token = managed_usd_per_hour(pin, pout, ratio)
            column[w] = unit / per_token if per_token > 0 else 1.0
        instance = f"managed:{platform.name}"
        oid = f"{provider}:{region}:{instance}"
        detail = {
            "platform": platform.name,
            "input_usd_per_million_tokens": pin,
            "output_usd_per_million_tokens": pout,
            "reference_ratio": ref,
            "users": users,
            "basis": prices.basis,
            "kind": "on-demand",
        }
        rows.append(
            _row(
                oid,
                provider=provider,
                region=region,
                instance_type=instance,
                ondemand_usd_per_hour=unit,
                reserved_basis="managed: per-token prices",
                kw_per_instance=0.0,
                kw_basis="managed platform: no power of ours",
                geo=geo,
                source=prices.basis,
                origin="managed",
                route="managed",
            )
        )
        route.append(MANAGED)
        available.append(np.ones(T, dtype=bool))
        supply.append(np.full(T, np.inf))
        od_cap.append(expand_series(platform.max_tokens_per_s, tl, base_dir))
        max_reserved.append(np.inf)
        special_price.append(np.nan)
        special_periods.append(1)
        special_value.append(np.nan)
        lead.append(0)
        perf_cols.append(column)
        out.managed[oid] = detail
        pt = platform.provisioned
        if pt is not None:
            unit_pt = pt.usd_per_unit_hour / pt.tokens_per_s_per_unit
            instance_pt = f"managed:{platform.name}:provisioned"
            oid_pt = f"{provider}:{region}:{instance_pt}"
            rows.append(
                _row(
                    oid_pt,
                    provider=provider,
                    region=region,
                    instance_type=instance_pt,
                    reserved_basis=f"managed: provisioned units, {pt.term_months}-month term",
                    kw_per_instance=0.0,
                    kw_basis="managed platform: no power of ours",
                    geo=geo,
                    source="scenario (provisioned throughput)",
                    origin="managed",
                    route="managed",
                )
            )
            route.append(MANAGED)
            available.append(np.ones(T, dtype=bool))
            supply.append(np.full(T, np.inf))
            od_cap.append(np.zeros(T))
            max_reserved.append(
                pt.max_units * pt.tokens_per_s_per_unit if pt.max_units is not None else np.inf
            )
            special_price.append(unit_pt)
            months = MONTHS_PER_PERIOD[scenario.horizon.period]
            special_periods.append(max(1, math.ceil(pt.term_months / months)))
            special_value.append(unit_pt * pt.term_months * HOURS_PER_MONTH)
            lead.append(0)
            col_pt = np.zeros(W)
            col_pt[users] = 1.0
            perf_cols.append(col_pt)
            out.managed[oid_pt] = {**detail, "kind": "provisioned", "term_months": pt.term_months}

    if not rows:
        return out
    out.offers = pd.DataFrame(rows).set_index("offer_id")
    out.route = np.array(route, dtype=int)
    out.available = np.array(available)
    out.supply = np.array(supply)
    out.ondemand_cap = np.array(od_cap)
    out.max_reserved = np.array(max_reserved, dtype=float)
    out.special_price = np.array(special_price, dtype=float)
    out.special_periods = np.array(special_periods, dtype=int)
    out.special_value = np.array(special_value, dtype=float)
    out.lead = np.array(lead, dtype=int)
    out.perf = np.stack(perf_cols, axis=1)
    dup = out.offers.index[out.offers.index.str.lower().duplicated()]
    if len(dup):
        raise _problem(scenario, "managed_platforms", f"two offers are both named {dup[0]!r}")
    return out


def _row(offer_id: str, **values: object) -> dict:
    """An offers-table row with every catalog column (NaN / empty where it does not apply)."""
    row: dict[str, object] = {
        "offer_id": offer_id,
        "accelerator": "",
        "accelerators": 0,
        "vcpus": np.nan,
        "memory_gib": np.nan,
        "ondemand_usd_per_hour": np.nan,
        "spot_usd_per_hour": np.nan,
        "reserved_1y_usd_per_hour": np.nan,
        "reserved_3y_usd_per_hour": np.nan,
        "reserved_basis": "",
        "usd_per_gpu_hour": np.nan,
        "spot_usd_per_gpu_hour": np.nan,
        "priced": True,
    }
    row.update(values)
    return row


def route_ok(scenario: Scenario) -> np.ndarray:
    """(W, 3) bool: whether each workload may use the rented, owned and managed routes."""
    out = np.ones((len(scenario.workloads), len(ROUTES)), dtype=bool)
    for w, wl in enumerate(scenario.workloads):
        if wl.routes is not None:
            out[w] = [r in wl.routes for r in ROUTES]
    return out
