"""The scenario language: pydantic v2 models of a ``scenario.yaml``.

These models are the single source of the language: the JSON Schema, the reference docs and the
error messages all derive from them. Units are in field names or descriptions: USD, hours,
instances, GPUs (accelerator devices), vCPUs, tokens/s, MW.

A scenario says *what the team needs* (workloads), *what it may buy* (providers, offers, terms),
*what it already holds* (contracts, reservations) and *the rules* (policies). The catalog
(:mod:`hyperplan.catalog`) supplies prices and specs; the scenario filters and overrides them.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator

NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


class FieldValueError(ValueError):
    """A ``ValueError`` from a model validator that names the field at fault.

    ``loc`` is relative to the model (e.g. ``("deadline",)``); the loader appends it to the
    model's location so the error points at the field, not at the whole mapping.
    """

    def __init__(self, message: str, *loc: str | int) -> None:
        super().__init__(message)
        self.loc = loc


def _parse_when(value: Any) -> Any:
    """Accept ``2027``, ``"2027-Q3"``, ``"2027-07"``, ``"2027-07-01"`` or a date; return a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 1900 <= value <= 2200:
        return dt.date(value, 1, 1)
    if isinstance(value, str):
        text = value.strip()
        if m := re.fullmatch(r"(\d{4})", text):
            return dt.date(int(m[1]), 1, 1)
        if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", text):
            return dt.date(int(m[1]), 3 * (int(m[2]) - 1) + 1, 1)
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
            month = int(m[2])
            if 1 <= month <= 12:
                return dt.date(int(m[1]), month, 1)
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
        raise ValueError(
            f"expected a date like 2027-07-01, 2027-07, 2027-Q3 or 2027; found {text!r}"
        )
    return value


When = Annotated[dt.date, BeforeValidator(_parse_when)]
"""A point in time: a date, or ``YYYY``, ``YYYY-MM``, ``YYYY-Qn`` (the first day of that span)."""

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Name = Annotated[str, Field(pattern=NAME_RE, min_length=1, max_length=80)]


class Model(BaseModel):
    """Base of every scenario model: unknown fields are errors; assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, str_strip_whitespace=True)


# ----------------------------------------------------------------------------------------------
# Time series
# ----------------------------------------------------------------------------------------------


class GrowthSeries(Model):
    """A series that starts at ``start`` and grows geometrically.

    Value in period t = ``start × (1 + growth_per_year) ** years_since_horizon_start(t)``.
    """

    start: NonNeg = Field(
        description="value in the first period of the horizon (unit of the field)"
    )
    growth_per_year: float = Field(
        ge=-0.99, le=100.0, description="fractional growth per year: 0.5 = +50%/year, 1.0 = doubles"
    )


class CsvSeries(Model):
    """A series read from a CSV file (path relative to the scenario file), one row per period."""

    csv: str = Field(min_length=1, description="CSV path, relative to the scenario file")
    column: str | None = Field(
        default=None, description="column to read; default: the last column of the file"
    )


def _csv_shorthand(value: Any) -> Any:
    """A bare ``"demand.csv"`` means ``{csv: demand.csv}`` (its last column)."""
    if isinstance(value, str) and value.strip().lower().endswith(".csv"):
        return {"csv": value.strip()}
    return value


Series = Annotated[
    NonNeg | list[NonNeg] | GrowthSeries | CsvSeries,
    BeforeValidator(_csv_shorthand),
    Field(
        description=(
            "a time series over the horizon's periods: a constant, a list with one value per "
            "period, {start, growth_per_year}, {csv, column}, or a CSV path"
        )
    ),
]


UNLIMITED = "unlimited"


def _cap_shorthand(value: Any) -> Any:
    """``unlimited`` (any case) lifts a market ceiling; anything else is a series."""
    if isinstance(value, str) and value.strip().lower() == UNLIMITED:
        return UNLIMITED
    return _csv_shorthand(value)


CapSeries = Annotated[
    Literal["unlimited"] | NonNeg | list[NonNeg] | GrowthSeries | CsvSeries,
    BeforeValidator(_cap_shorthand),
    Field(
        description=(
            "a market ceiling per period, instances: a series (see Series) or ``unlimited``; "
            "left out, the bundled default of catalog/data/market_caps.csv applies"
        )
    ),
]
"""A market (on-demand or spot) ceiling: a series, or ``unlimited``, which must be written."""


# ----------------------------------------------------------------------------------------------
# Horizon
# ----------------------------------------------------------------------------------------------


#: a salvage ``term``: ``1y``, ``3y`` ... or the build / provisioned slot of owned sites and
#: managed platforms
SALVAGE_TERM_RE = r"^([0-9]+[yY]|build|provisioned)$"


class Salvage(Model):
    """What a commitment running past the horizon is still worth at its end (``end_effects:
    salvage``): a resale price or the value of the remaining term to the business after the
    horizon. Exactly one of ``fraction`` and ``usd_per_instance_hour``.

    The value is taken off the commitment's post-horizon charge, never beyond it: ``fraction: 1``
    charges as ``prorate`` does, ``fraction: 0`` as ``full`` (docs/formulation.md, choice 3).
    """

    fraction: Fraction | None = Field(
        default=None,
        description="share of the commitment's post-horizon cost recovered (0..1)",
    )
    usd_per_instance_hour: NonNeg | None = Field(
        default=None,
        description="USD recovered per instance-hour of the term left after the horizon",
    )
    terms: list[Annotated[str, Field(pattern=SALVAGE_TERM_RE)]] | None = Field(
        default=None,
        description="terms this value applies to ('1y', '3y', 'build', 'provisioned'); default all",
    )

    @model_validator(mode="after")
    def _one_value(self) -> Salvage:
        if (self.fraction is None) == (self.usd_per_instance_hour is None):
            raise FieldValueError(
                "give exactly one of fraction and usd_per_instance_hour", "fraction"
            )
        return self


class Horizon(Model):
    """The planning horizon: ``periods`` consecutive periods from ``start``."""

    start: When = Field(description="first day of the first period")
    period: Literal["month", "quarter", "year"] = Field(
        default="quarter", description="length of one period"
    )
    periods: int = Field(default=8, ge=1, le=600, description="number of periods")
    discount_rate: float = Field(
        default=0.08, ge=0.0, le=1.0, description="annual discount rate for NPV (0.08 = 8%/year)"
    )
    end_effects: Literal["full", "prorate", "salvage"] = Field(
        default="full",
        description=(
            "how a commitment running past the horizon's end is charged: full (its whole term, "
            "discounted at discount_rate), prorate (only its periods inside the horizon), "
            "salvage (its whole term less the salvage value)"
        ),
    )
    salvage: Salvage | None = Field(
        default=None,
        description=(
            "end_effects salvage: value recovered from every commitment after the horizon "
            "(offers.overrides[].salvage sets it per offer)"
        ),
    )

    @model_validator(mode="after")
    def _start_aligned(self) -> Horizon:
        s = self.start
        if s.day != 1:
            raise FieldValueError(
                f"start must be the first day of a month; found {s.isoformat()}", "start"
            )
        if self.period == "quarter" and (s.month - 1) % 3:
            raise FieldValueError(
                f"a quarterly horizon starts on Jan, Apr, Jul or Oct 1; found {s}", "start"
            )
        if self.period == "year" and s.month != 1:
            raise FieldValueError(
                f"a yearly horizon starts on January 1; found {s.isoformat()}", "start"
            )
        return self


# ----------------------------------------------------------------------------------------------
# Providers, regions, outages
# ----------------------------------------------------------------------------------------------


class OutageModel(Model):
    """Outages of a failure domain (provider or region): Poisson arrivals, lognormal durations.

    Used for the probability weight of each outage scenario in the plan (time share
    ``rate_per_year × mean_hours / 8760``) and by the simulator.
    """

    rate_per_year: NonNeg = Field(default=1.0, description="outages per year (Poisson rate)")
    mean_hours: Positive = Field(default=8.0, description="mean outage duration, hours")
    sigma: Positive = Field(default=1.0, description="lognormal shape of the duration")
    control_plane_share: Fraction = Field(
        default=0.0,
        description="share of outages that stop only new capacity (running instances stay up)",
    )


class Region(Model):
    """A region of a provider, as a site: geo tags, power cap and PUE."""

    geo: list[str] | None = Field(
        default=None, description="geo tags (e.g. [us]); default: derived from the region code"
    )
    power_mw: Series | None = Field(
        default=None, description="cap on facility power at this site per period, MW (IT × PUE)"
    )
    pue: float | None = Field(
        default=None, ge=1.0, le=3.0, description="power usage effectiveness; default: provider's"
    )
    outage: OutageModel | None = Field(default=None, description="region outage model")


class Provider(Model):
    """A cloud provider in play. An empty mapping (``aws: {}``) takes every catalog default."""

    regions: dict[str, Region] | None = Field(
        default=None,
        description="regions in play with their settings; default: every catalog region",
    )
    pue: float = Field(
        default=1.2, ge=1.0, le=3.0, description="default PUE of this provider's sites"
    )
    outage: OutageModel = Field(default_factory=OutageModel, description="provider-wide outages")


# ----------------------------------------------------------------------------------------------
# Offers: filters and overrides of the catalog
# ----------------------------------------------------------------------------------------------


class OfferMatch(Model):
    """Selects catalog offers: every given field must match (case-insensitive)."""

    provider: str | None = None
    region: str | None = None
    instance_type: str | None = None
    accelerator: str | None = None


class OfferOverride(Model):
    """Changes to the catalog offers that ``match`` selects: negotiated prices, supply, caps."""

    match: OfferMatch
    ondemand_usd_per_hour: NonNeg | None = Field(default=None, description="USD per instance-hour")
    spot_usd_per_hour: NonNeg | None = Field(default=None, description="USD per instance-hour")
    reserved_usd_per_hour: dict[str, NonNeg] | None = Field(
        default=None,
        description="reserved price per term, USD per instance-hour, keyed by term ('1y', '3y')",
    )
    available_from: When | None = Field(
        default=None, description="no new reservations, on-demand or spot before this date"
    )
    supply: Series | None = Field(
        default=None, description="cap on NEW reserved instances signed per period (a supply ramp)"
    )
    max_instances: NonNeg | None = Field(
        default=None, description="ceiling on active reserved instances of each matched offer"
    )
    ondemand_cap: CapSeries | None = Field(
        default=None,
        description="on-demand instances obtainable per period, or unlimited; "
        "default: offers.ondemand_cap",
    )
    spot_cap: CapSeries | None = Field(
        default=None,
        description="spot instances obtainable per period, or unlimited; default: offers.spot_cap",
    )
    kw_per_instance: Positive | None = Field(default=None, description="power per instance, kW")
    salvage: Salvage | None = Field(
        default=None,
        description="end_effects salvage: value recovered after the horizon for the matched offers",
    )


class Offers(Model):
    """Which catalog offers are in play, and what changes about them."""

    catalog_csv: list[str] = Field(
        default_factory=list, description="user offer CSVs (negotiated prices, private capacity)"
    )
    skypilot_csv: list[SkypilotCsv] = Field(
        default_factory=list, description="SkyPilot catalog CSVs to import"
    )
    accelerators: list[str] | None = Field(
        default=None, description="accelerators in play; default: all (CPU offers always stay)"
    )
    instance_types: list[str] | None = Field(default=None, description="instance types in play")
    exclude: list[OfferMatch] = Field(default_factory=list, description="offers taken out of play")
    overrides: list[OfferOverride] = Field(default_factory=list)
    ondemand_cap: CapSeries | None = Field(
        default=None,
        description="on-demand instances obtainable per offer and period, or unlimited; "
        "default: the bundled market_caps.csv ([A] assumptions, see docs/catalog.md)",
    )
    spot_cap: CapSeries | None = Field(
        default=None,
        description="spot instances obtainable per offer and period, or unlimited; "
        "default: the bundled market_caps.csv ([A] assumptions)",
    )
    supply: Series | None = Field(
        default=None, description="default cap on new reserved instances per offer and period"
    )


class SkypilotCsv(Model):
    """A SkyPilot catalog CSV (vms.csv) and the provider it describes."""

    path: str = Field(min_length=1)
    provider: Name


# ----------------------------------------------------------------------------------------------
# Existing commitments
# ----------------------------------------------------------------------------------------------


class Contract(Model):
    """An existing take-or-pay spend commitment with one provider.

    Over ``[start, end)`` the team pays at least ``committed_usd`` to ``provider`` (pro-rated to
    the part inside the horizon); the shortfall is paid anyway. ``discount`` applies to the
    provider's on-demand, spot and reserved prices in that window.
    """

    name: Name
    provider: Name
    committed_usd: NonNeg = Field(description="committed spend over the whole contract, USD")
    start: When
    end: When
    discount: float = Field(default=0.0, ge=0.0, le=0.95, description="price discount (0.2 = 20%)")

    @model_validator(mode="after")
    def _ordered(self) -> Contract:
        if self.end <= self.start:
            raise FieldValueError(f"end ({self.end}) must be after start ({self.start})", "end")
        return self


class Reservation(Model):
    """Reserved capacity already signed: counted as capacity, its cost is sunk but reported."""

    provider: Name
    region: str
    instance_type: str
    instances: NonNeg
    start: When
    end: When
    usd_per_hour: NonNeg | None = Field(
        default=None, description="price per instance-hour; default: catalog 1y reserved price"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Reservation:
        if self.end <= self.start:
            raise FieldValueError(f"end ({self.end}) must be after start ({self.start})", "end")
        return self


# ----------------------------------------------------------------------------------------------
# Workloads
# ----------------------------------------------------------------------------------------------

Market = Literal["reserved", "ondemand", "spot"]
Route = Literal["rented", "owned", "managed"]


class WorkloadBase(Model):
    """Fields common to every workload kind."""

    name: Name
    providers: list[str] | None = Field(default=None, description="providers allowed; default all")
    regions: list[str] | None = Field(default=None, description="regions allowed; default all")
    geo: list[str] | None = Field(
        default=None, description="data residency: geo tags allowed (e.g. [eu]); default all"
    )
    markets: list[Market] | None = Field(
        default=None,
        description="markets allowed; default reserved+ondemand (+spot if preemptible)",
    )
    priority: int = Field(default=0, ge=0, le=100, description="dispatch priority (higher first)")
    routes: list[Route] | None = Field(
        default=None,
        description=(
            "how the workload may be served: rented (cloud offers), owned (owned_sites), "
            "managed (managed_platforms, inference only); default all"
        ),
    )


class Inference(WorkloadBase):
    """Token serving. Demand is average output tokens/s over each period."""

    kind: Literal["inference"]
    demand_tokens_per_s: Series = Field(description="average output tokens/s per period")
    model_params_b: Positive = Field(
        default=70.0, description="active parameters of the served model, billions (perf estimate)"
    )
    perf_tokens_per_s: dict[str, Positive] | None = Field(
        default=None,
        description="output tokens/s per accelerator DEVICE; missing ones are estimated (flagged)",
    )
    accelerators: list[str] | None = Field(default=None, description="accelerators allowed")
    resilience: Fraction = Field(
        default=0.8, description="share of demand that must be served when any one domain is down"
    )
    preemptible: bool = False
    model: str | None = Field(
        default=None,
        description=(
            "name of the served model; a managed platform serving the same model may serve it "
            "(see managed_platforms.workloads)"
        ),
    )
    input_tokens_per_output: NonNeg = Field(
        default=1.0,
        description=(
            "prompt (input) tokens per generated (output) token, for managed platforms' "
            "per-token prices; 1.0 = as many prompt tokens as output tokens"
        ),
    )


class Training(WorkloadBase):
    """A training run: ``compute_gpu_hours`` of the reference accelerator inside a window."""

    kind: Literal["training"]
    compute_gpu_hours: Positive = Field(
        description="work, in accelerator-hours of reference_accelerator"
    )
    reference_accelerator: str = Field(default="H100")
    start: When = Field(description="earliest start")
    deadline: When = Field(description="the run must finish before this date")
    accelerators: list[str] | None = Field(default=None, description="accelerators allowed")
    perf: dict[str, Positive] | None = Field(
        default=None,
        description="reference-accelerator equivalents per device; default: bf16 TFLOPS ratio",
    )
    single_site: bool = Field(default=False, description="the run uses one region (MILP)")
    max_instances: Positive | None = Field(
        default=None, description="cap on instances in use in any period"
    )
    preemptible: bool = False

    @model_validator(mode="after")
    def _window(self) -> Training:
        if self.deadline <= self.start:
            raise FieldValueError(
                f"deadline ({self.deadline}) must be after start ({self.start})", "deadline"
            )
        return self


class Agents(WorkloadBase):
    """CPU sandboxes for agents: demand in vCPUs busy on average, on CPU-only offers."""

    kind: Literal["agents"]
    demand_vcpus: Series = Field(description="vCPUs needed on average per period")
    resilience: Fraction = Field(default=0.5)
    preemptible: bool = True


class Batch(WorkloadBase):
    """Preemptible GPU batch work: demand in busy reference accelerators per period."""

    kind: Literal["batch"]
    demand_gpus: Series = Field(description="reference-accelerator equivalents busy per period")
    reference_accelerator: str = Field(default="H100")
    accelerators: list[str] | None = Field(default=None, description="accelerators allowed")
    perf: dict[str, Positive] | None = Field(default=None)
    resilience: Fraction = Field(default=0.0)
    preemptible: bool = True


Workload = Annotated[Inference | Training | Agents | Batch, Field(discriminator="kind")]


# ----------------------------------------------------------------------------------------------
# Policies
# ----------------------------------------------------------------------------------------------


class Policies(Model):
    """Rules the plan must keep (in the base scenario unless said otherwise)."""

    max_share: Fraction | dict[str, Fraction] | None = Field(
        default=None, description="cap on one provider's share (of spend or GPUs) per period"
    )
    share_by: Literal["spend", "gpus"] = Field(default="spend")
    power_total_mw: Series | None = Field(
        default=None, description="cap on total facility power per period, MW"
    )
    budget_usd_per_year: Series | None = Field(
        default=None, description="cap on spend per calendar year of the horizon, USD"
    )
    outages: Literal["none", "providers", "regions", "both"] = Field(
        default="providers", description="which single-failure scenarios the plan must survive"
    )
    target_gw: Positive | None = Field(
        default=None, description="capacity goal for reporting (GW of facility power)"
    )
    unserved_penalty_factor: float = Field(
        default=10.0,
        ge=1.0,
        le=1e6,
        description="unserved demand costs this × the dearest way to serve it",
    )


# ----------------------------------------------------------------------------------------------
# Owned sites and managed platforms (build, rent or buy managed)
# ----------------------------------------------------------------------------------------------


class OwnedSite(Model):
    """A data centre the team builds and owns: servers of one accelerator behind a grid connection.

    Planned as an offer of provider ``owned:<name>``: a build decided in period s powers up
    ``lead_time_periods`` later and serves until the hardware's lifetime ends (or the horizon
    does). Its price per server-hour is the annualised capex (capital recovery factor at the
    horizon's discount rate over each lifetime) plus fixed O&M plus electricity, servers running
    flat out. Fields left out take the sourced defaults of ``owned_capacity_costs.csv`` (see
    docs/routes.md); the facility lifetime, fixed O&M and lead time have no public source and
    must be given.
    """

    name: Name
    region: str = Field(
        default="onprem",
        min_length=1,
        description="region label of the site (workloads' regions filters, reports)",
    )
    geo: str | None = Field(
        default=None,
        description="geo tag for data residency (us, eu, ...); default: from the region label",
    )
    accelerator: str = Field(min_length=1, description="accelerator in the servers")
    gpus_per_server: int = Field(default=8, ge=1, le=1024, description="accelerators per server")
    kw_per_server: Positive | None = Field(
        default=None,
        description="IT power per server, kW; default: the catalog's TDP rule for the accelerator",
    )
    mw_per_period: Series | None = Field(
        default=None,
        description="grid connection buildable per period (facility MW, IT × PUE); none = no ramp",
    )
    max_mw: Positive | None = Field(
        default=None, description="ceiling on the site's facility power (IT × PUE), MW"
    )
    lead_time_periods: int = Field(
        ge=0, le=600, description="periods from the build decision to first power"
    )
    facility_usd_per_mw: NonNeg | None = Field(
        default=None,
        description="facility capex per MW of IT (critical) load; default: sourced US average",
    )
    hardware_usd_per_accelerator: NonNeg | None = Field(
        default=None,
        description="server hardware capex per accelerator (server included); default: sourced",
    )
    facility_lifetime_years: Positive = Field(
        le=100, description="economic life of the facility (capex annualised over it)"
    )
    hardware_lifetime_years: Positive | None = Field(
        default=None,
        le=30,
        description="economic life of the servers; a build serves this long; default: sourced",
    )
    electricity_usd_per_mwh: NonNeg | None = Field(
        default=None, description="electricity price; default: sourced US industrial price"
    )
    pue: float | None = Field(
        default=None, ge=1.0, le=3.0, description="power usage effectiveness; default: sourced"
    )
    fixed_om_share_per_year: Fraction = Field(
        description="fixed operations and maintenance per year, as a share of capex"
    )
    outage: OutageModel = Field(
        default_factory=OutageModel, description="outages of the whole site (its own domain)"
    )


class ProvisionedThroughput(Model):
    """Provisioned throughput of a managed platform: units paid per hour for a whole term."""

    usd_per_unit_hour: NonNeg = Field(description="price of one unit for one hour")
    tokens_per_s_per_unit: Positive = Field(
        description="output tokens/s one unit sustains for this traffic"
    )
    term_months: int = Field(ge=1, le=120, description="commitment term of a unit")
    max_units: NonNeg | None = Field(default=None, description="cap on units active at once")


class ManagedPlatform(Model):
    """A managed model platform (Bedrock, Vertex AI, Azure AI Foundry, ...) serving inference.

    Planned as an offer of ``provider`` (its outages take the platform down and its spend counts
    in that provider's share): one instance is one output token/s, priced per hour at
    ``3600 / 1e6 × (output + input_tokens_per_output × input)`` USD per million tokens. Prices
    come from ``managed_model_prices.csv`` when only ``model`` is given.
    """

    name: Name
    provider: Name = Field(description="provider whose outages take the platform down")
    region: str | None = Field(
        default=None,
        description="region it serves from (shares that region's outages); default: its name",
    )
    geo: str | None = Field(
        default=None, description="geo tag for data residency; default: from the region"
    )
    model: str | None = Field(
        default=None,
        description="model served; also the row of managed_model_prices.csv when no price given",
    )
    platform: str | None = Field(
        default=None,
        description="platform in managed_model_prices.csv; default: the provider's own",
    )
    mode: Literal["on-demand", "batch"] = Field(
        default="on-demand", description="price row to take from managed_model_prices.csv"
    )
    input_usd_per_million_tokens: NonNeg | None = Field(
        default=None, description="price of prompt tokens; default: the catalog row's"
    )
    output_usd_per_million_tokens: NonNeg | None = Field(
        default=None, description="price of generated tokens; default: the catalog row's"
    )
    max_tokens_per_s: Series | None = Field(
        default=None, description="throughput cap on pay-per-token use, output tokens/s"
    )
    provisioned: ProvisionedThroughput | None = Field(
        default=None, description="provisioned throughput units, if the platform sells them"
    )
    workloads: list[str] | None = Field(
        default=None,
        description=(
            "inference workloads (names or model names) it may serve; default: those whose "
            "model is unset or equals the platform's"
        ),
    )

    @model_validator(mode="after")
    def _priced(self) -> ManagedPlatform:
        given = (self.input_usd_per_million_tokens, self.output_usd_per_million_tokens)
        if self.model is None and None in given:
            raise FieldValueError(
                "give model (to take its prices from managed_model_prices.csv) or both "
                "input_usd_per_million_tokens and output_usd_per_million_tokens",
                "model",
            )
        return self


# ----------------------------------------------------------------------------------------------
# Scenario
# ----------------------------------------------------------------------------------------------


class Scenario(Model):
    """A whole planning question."""

    name: Name = Field(default="scenario")
    description: str = ""
    horizon: Horizon
    providers: dict[str, Provider] = Field(
        default_factory=dict, description="providers in play; empty: every catalog provider"
    )
    offers: Offers = Field(default_factory=Offers)
    terms: list[Annotated[int, Field(ge=1, le=10)]] = Field(
        default_factory=lambda: [1, 3], description="commitment terms offered, years"
    )
    contracts: list[Contract] = Field(default_factory=list)
    reservations: list[Reservation] = Field(default_factory=list)
    workloads: list[Workload] = Field(min_length=1)
    policies: Policies = Field(default_factory=Policies)
    integer: bool = Field(default=False, description="whole instances (MILP)")
    owned_sites: list[OwnedSite] = Field(
        default_factory=list, description="data centres the plan may build (provider owned:<name>)"
    )
    managed_platforms: list[ManagedPlatform] = Field(
        default_factory=list, description="managed model platforms inference may buy tokens from"
    )

    _base_dir: Path | None = PrivateAttr(default=None)  # scenario file's directory (CSV series)
    _source: str | None = PrivateAttr(default=None)  # scenario file path, for messages

    @model_validator(mode="after")
    def _unique_names(self) -> Scenario:
        seen: set[str] = set()
        for i, w in enumerate(self.workloads):
            if w.name in seen:
                raise FieldValueError(
                    f"two workloads are named {w.name!r}; names must be unique",
                    "workloads",
                    i,
                    "name",
                )
            seen.add(w.name)
        for group in ("owned_sites", "managed_platforms"):
            names: set[str] = set()
            for i, item in enumerate(getattr(self, group)):
                if item.name.lower() in names:
                    raise FieldValueError(
                        f"two {group} are named {item.name!r}; names must be unique",
                        group,
                        i,
                        "name",
                    )
                names.add(item.name.lower())
        return self


Offers.model_rebuild()
