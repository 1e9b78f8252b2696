"""The arrays the model builder needs (:class:`PlanInputs`), and the masks more than one stage reads.

:func:`hyperplan.plan.inputs.resolve` fills a :class:`PlanInputs` from a scenario and a catalog;
the builder (:mod:`hyperplan.plan.build`), the size estimate (:mod:`hyperplan.plan.estimate`) and
the feasibility pre-checks (:mod:`hyperplan.plan.prechecks`) read it. Shapes use ``O`` offers in
play, ``T`` periods, ``K`` terms, ``W`` workloads, ``S`` scenarios (0 = base, then one per failure
domain), ``P`` providers, ``G`` sites (regions). Money is USD, time hours, capacity instances.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from hyperplan.catalog.market_caps import RESERVED
from hyperplan.plan.routes import RouteOffers
from hyperplan.scenario.schema import Scenario
from hyperplan.scenario.timeline import Timeline


@dataclass
class SiteArrays:
    """Providers (``P``) and sites (``G``, ``provider:region``) of the offers in play, and power."""

    providers: list[str]  # P
    sites: list[str]  # G, "provider:region"
    offer_provider: np.ndarray  # (O,) int into providers
    offer_site: np.ndarray  # (O,) int into sites
    site_power_mw: np.ndarray  # (G, T) facility MW cap (inf = none)
    kw: np.ndarray  # (O,) facility kW per instance (IT kW × PUE); 0 when unknown
    kw_known: np.ndarray  # (O,) bool


@dataclass
class PriceArrays:
    """Prices after contract discounts and what each market can sell."""

    price: np.ndarray  # (O, 3, T) USD per instance-hour by market (reserved: 0, paid by term)
    reserved_price: np.ndarray  # (O, K, T) USD per instance-hour, NaN = term not offered
    market_cap: np.ndarray  # (O, 3, T) instances obtainable per market (reserved: inf)


@dataclass
class ContractArrays:
    """Existing take-or-pay contracts (``C``)."""

    contract_names: list[str]
    contract_provider: np.ndarray  # (C,) int into providers, -1 = no offer in play
    contract_hours: np.ndarray  # (C, T) hours of each contract in each period
    contract_committed: np.ndarray  # (C,) USD committed inside the horizon (pro rata)
    contract_end_period: np.ndarray  # (C,) last period index inside the horizon (-1 = none)


@dataclass
class WorkloadArrays:
    """The workloads (``W``): demand, windows, markets and what each offer delivers to each."""

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


@dataclass
class ScenarioArrays:
    """The base scenario and one per failure domain (``S``), with their time shares."""

    scenario_names: list[str]
    up: np.ndarray  # (S, O) bool
    weight: np.ndarray  # (S,) probability (time share) of each scenario


@dataclass
class PolicyArrays:
    """Share caps, the total power cap and budgets (site power caps are in :class:`SiteArrays`)."""

    max_share: np.ndarray  # (P,) 1.0 = no cap
    share_by: str
    total_power_mw: np.ndarray  # (T,) inf = none
    budget_years: np.ndarray  # (Y,) calendar years with a budget
    budget_usd: np.ndarray  # (Y,) USD


@dataclass
class PlanInputs(
    PolicyArrays, ScenarioArrays, WorkloadArrays, ContractArrays, PriceArrays, SiteArrays
):
    """Everything the builder needs, as arrays. See the module docstring for the shapes.

    The fields of each family (sites, prices, contracts, workloads, scenarios, policies) are
    declared once, in the family's dataclass, which :func:`hyperplan.plan.inputs.resolve`
    fills with one ``resolve_*`` function; the offers' and the rest are here.
    """

    scenario: Scenario
    tl: Timeline
    # offers (O)
    offers: pd.DataFrame  # the catalog rows in play (after overrides), index offer_id
    gpus: np.ndarray  # (O,) accelerators per instance
    terms_years: list[int]  # K
    term_periods: np.ndarray  # (K,)
    available: np.ndarray  # (O, T) bool: offer can be bought in period t
    supply: np.ndarray  # (O, T) cap on new reserved instances per period (inf = none)
    max_reserved: np.ndarray  # (O,) ceiling on active reserved instances (inf = none)
    existing: np.ndarray  # (O, T) instances already reserved
    existing_cost: np.ndarray  # (O, T) USD per hour of existing reservations
    penalty: np.ndarray  # (W,) USD per unit-hour unserved (training: per GPU-hour)
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

    def useful_offers(self) -> np.ndarray:
        """(O,) bool: some workload may use the offer in the reserved market.

        Offers no workload may reserve get no reservation columns.
        """
        return ((self.perf > 0) & self.market_ok[:, RESERVED][:, None]).any(axis=0)

    def reservable(self) -> np.ndarray:
        """(O, K, T) bool: a reservation of offer o with term k may be signed in period t.

        The term has a price, the offer is available and has supply in t, some workload may use
        it reserved and its ceiling on active reserved instances is above 0. The builder makes a
        ``reserve`` column of each (cut where the coverage would start after the horizon); the
        estimate counts them; the share pre-check asks whether anything can be bought.
        """
        return (
            np.isfinite(self.reserved_price)
            & self.available[:, None, :]
            & (self.supply[:, None, :] > 0)
            & self.useful_offers()[:, None, None]
            & (self.max_reserved > 0)[:, None, None]
        )


def field_values(part: object) -> dict[str, object]:
    """A family dataclass's fields as keyword arguments (no copies, unlike ``asdict``)."""
    return {f.name: getattr(part, f.name) for f in fields(part)}  # type: ignore[arg-type]
