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


YEAR_MIN = 1900
"""Earliest year a date of a scenario may have."""
YEAR_MAX = 2200
"""Latest year a date of a scenario may have (a horizon of 600 periods ends before 9999)."""


def _in_years(day: dt.date) -> dt.date:
    if not YEAR_MIN <= day.year <= YEAR_MAX:
        raise ValueError(f"expected a date from {YEAR_MIN} to {YEAR_MAX}; found {day.isoformat()}")
    return day


def _parse_when(value: Any) -> Any:
    """Accept ``2027``, ``"2027-Q3"``, ``"2027-07"``, ``"2027-07-01"`` or a date; return a date
    from :data:`YEAR_MIN` to :data:`YEAR_MAX`."""
    day = _parse_day(value)
    return _in_years(day) if isinstance(day, dt.date) else day


def _parse_day(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 1900 <= value <= 2200:
        return dt.date(value, 1, 1)
    if isinstance(value, str):
        text = value.strip()[:40]
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

# Plausibility ranges: every number has one, declared here once; the JSON Schema and the
# reference docs show them (minimum/maximum) and the loader refuses a value outside with the
# range and the unit (hyperplan.scenario.load). Beyond them a value is a unit mistake or an
# attack, and would only make the solver fail later with a misleading message.
MAX_SERIES_VALUE = 1e15
"""Largest number a series may hold in any field (each series field has a smaller limit in
:data:`SERIES_LIMITS`, checked after expansion)."""
SeriesNumber = Annotated[float, Field(ge=0.0, le=MAX_SERIES_VALUE, allow_inf_nan=False)]
UsdPerHour = Annotated[float, Field(ge=0.0, le=1e5, allow_inf_nan=False)]
"""A price per instance-hour, USD: 0 to 100,000."""
Instances = Annotated[float, Field(ge=0.0, le=1e9, allow_inf_nan=False)]
"""A count of instances: 0 to 10^9."""
UsdPerMillionTokens = Annotated[float, Field(ge=0.0, le=1e4, allow_inf_nan=False)]
"""A price per million tokens, USD: 0 to 10,000."""
Perf = Annotated[float, Field(ge=1e-3, le=1e3, allow_inf_nan=False)]
"""Reference-accelerator equivalents per device: 0.001 to 1,000."""
TokensPerDevice = Annotated[float, Field(ge=1e-3, le=1e8, allow_inf_nan=False)]
"""Output tokens/s per accelerator device: 0.001 to 10^8."""
Text = Annotated[str, Field(min_length=1, max_length=200)]
"""A name of something outside the scenario (region, instance type, accelerator, model, geo tag):
1 to 200 characters."""
FilePath = Annotated[str, Field(min_length=1, max_length=4096)]
"""A file path: 1 to 4,096 characters."""

#: Series fields: name -> (largest value after expansion, unit). Checked on every period's value
#: of the expanded series (constants, lists, growth, CSV) by hyperplan.scenario.check; the JSON
#: Schema gives it as the field's maximum.
SERIES_LIMITS: dict[str, tuple[float, str]] = {
    "demand_tokens_per_s": (1e12, "tokens/s"),
    "demand_vcpus": (1e12, "vCPUs"),
    "demand_gpus": (1e10, "accelerators"),
    "power_mw": (1e6, "MW"),
    "power_total_mw": (1e6, "MW"),
    "mw_per_period": (1e6, "MW"),
    "max_tokens_per_s": (1e12, "tokens/s"),
    "supply": (1e9, "instances per period"),
    "ondemand_cap": (1e9, "instances"),
    "spot_cap": (1e9, "instances"),
    "budget_usd_per_year": (1e15, "USD per year"),
}


class Model(BaseModel):
    """Base of every scenario model: unknown fields are errors; assignments are validated.

    Strict: ``true`` is not 1 and the text ``'1e5'`` is not a number (an unquoted ``1e5`` is, see
    :mod:`hyperplan.scenario.yamlpos`); a whole number is fine where a number is expected. Dates
    keep their shorthands (``2027-Q3``) and a bare ``x.csv`` stays a CSV series.
    """

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        str_strip_whitespace=True,
        strict=True,
        protected_namespaces=(),  # fields such as model_params_b (pydantic < 2.10 warns)
    )


# ----------------------------------------------------------------------------------------------
# Time series
# ----------------------------------------------------------------------------------------------


class GrowthSeries(Model):
    """A series that starts at ``start`` and grows geometrically.

    Value in period t = ``start × (1 + growth_per_year) ** years_since_horizon_start(t)``.
    """

    start: SeriesNumber = Field(
        description="value in the first period of the horizon (unit of the field)"
    )
    growth_per_year: float = Field(
        ge=-0.99, le=100.0, description="fractional growth per year: 0.5 = +50%/year, 1.0 = doubles"
    )


class CsvSeries(Model):
    """A series read from a CSV file (path relative to the scenario file), one row per period."""

    csv: FilePath = Field(description="CSV path, relative to the scenario file")
    column: Text | None = Field(
        default=None, description="column to read; default: the last column of the file"
    )


def _csv_shorthand(value: Any) -> Any:
    """A bare ``"demand.csv"`` means ``{csv: demand.csv}`` (its last column)."""
    if isinstance(value, str) and value.strip().lower().endswith(".csv"):
        return {"csv": value.strip()}
    return value


Series = Annotated[
    SeriesNumber | list[SeriesNumber] | GrowthSeries | CsvSeries,
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
    usd_per_instance_hour: UsdPerHour | None = Field(
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

    rate_per_year: float = Field(
        default=1.0, ge=0.0, le=1000.0, description="outages per year (Poisson rate)"
    )
    mean_hours: float = Field(
        default=8.0, ge=0.01, le=8760.0, description="mean outage duration, hours"
    )
    sigma: float = Field(
        default=1.0, ge=0.01, le=10.0, description="lognormal shape of the duration"
    )
    control_plane_share: Fraction = Field(
        default=0.0,
        description="share of outages that stop only new capacity (running instances stay up)",
    )


class Region(Model):
    """A region of a provider, as a site: geo tags, power cap and PUE."""

    geo: list[Text] | None = Field(
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

    regions: dict[Text, Region] | None = Field(
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

    provider: Text | None = None
    region: Text | None = None
    instance_type: Text | None = None
    accelerator: Text | None = None


class OfferOverride(Model):
    """Changes to the catalog offers that ``match`` selects: negotiated prices, supply, caps."""

    match: OfferMatch
    ondemand_usd_per_hour: UsdPerHour | None = Field(
        default=None, description="USD per instance-hour"
    )
    spot_usd_per_hour: UsdPerHour | None = Field(default=None, description="USD per instance-hour")
    reserved_usd_per_hour: dict[Text, UsdPerHour] | None = Field(
        default=None,
        description="reserved price per term, USD per instance-hour, keyed by term ('1y', '3y')",
    )
    available_from: When | None = Field(
        default=None, description="no new reservations, on-demand or spot before this date"
    )
    supply: Series | None = Field(
        default=None, description="cap on NEW reserved instances signed per period (a supply ramp)"
    )
    max_instances: Instances | None = Field(
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
    kw_per_instance: float | None = Field(
        default=None, ge=1e-3, le=1e4, description="power per instance, kW"
    )
    salvage: Salvage | None = Field(
        default=None,
        description="end_effects salvage: value recovered after the horizon for the matched offers",
    )


class Offers(Model):
    """Which catalog offers are in play, and what changes about them."""

    catalog_csv: list[FilePath] = Field(
        default_factory=list, description="user offer CSVs (negotiated prices, private capacity)"
    )
    skypilot_csv: list[SkypilotCsv] = Field(
        default_factory=list, description="SkyPilot catalog CSVs to import"
    )
    accelerators: list[Text] | None = Field(
        default=None, description="accelerators in play; default: all (CPU offers always stay)"
    )
    instance_types: list[Text] | None = Field(default=None, description="instance types in play")
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

    path: FilePath
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
    committed_usd: float = Field(
        ge=0.0, le=1e13, description="committed spend over the whole contract, USD"
    )
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
    region: Text
    instance_type: Text
    instances: Instances
    start: When
    end: When
    usd_per_hour: UsdPerHour | None = Field(
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
    providers: list[Text] | None = Field(default=None, description="providers allowed; default all")
    regions: list[Text] | None = Field(default=None, description="regions allowed; default all")
    geo: list[Text] | None = Field(
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
    model_params_b: float = Field(
        default=70.0,
        ge=1e-3,
        le=1e5,
        description="active parameters of the served model, billions (perf estimate)",
    )
    perf_tokens_per_s: dict[Text, TokensPerDevice] | None = Field(
        default=None,
        description="output tokens/s per accelerator DEVICE; missing ones are estimated (flagged)",
    )
    accelerators: list[Text] | None = Field(default=None, description="accelerators allowed")
    resilience: Fraction = Field(
        default=0.8, description="share of demand that must be served when any one domain is down"
    )
    preemptible: bool = False
    model: Text | None = Field(
        default=None,
        description=(
            "name of the served model; a managed platform serving the same model may serve it "
            "(see managed_platforms.workloads)"
        ),
    )
    input_tokens_per_output: float = Field(
        default=1.0,
        ge=0.0,
        le=1e4,
        description=(
            "prompt (input) tokens per generated (output) token, for managed platforms' "
            "per-token prices; 1.0 = as many prompt tokens as output tokens"
        ),
    )


class Training(WorkloadBase):
    """A training run: ``compute_gpu_hours`` of the reference accelerator inside a window."""

    kind: Literal["training"]
    compute_gpu_hours: float = Field(
        ge=1e-3, le=1e12, description="work, in accelerator-hours of reference_accelerator"
    )
    reference_accelerator: Text = Field(default="H100")
    start: When = Field(description="earliest start")
    deadline: When = Field(description="the run must finish before this date")
    accelerators: list[Text] | None = Field(default=None, description="accelerators allowed")
    perf: dict[Text, Perf] | None = Field(
        default=None,
        description="reference-accelerator equivalents per device; default: bf16 TFLOPS ratio",
    )
    single_site: bool = Field(default=False, description="the run uses one region (MILP)")
    max_instances: float | None = Field(
        default=None, ge=1e-3, le=1e9, description="cap on instances in use in any period"
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
    reference_accelerator: Text = Field(default="H100")
    accelerators: list[Text] | None = Field(default=None, description="accelerators allowed")
    perf: dict[Text, Perf] | None = Field(default=None)
    resilience: Fraction = Field(default=0.0)
    preemptible: bool = True


Workload = Annotated[Inference | Training | Agents | Batch, Field(discriminator="kind")]


# ----------------------------------------------------------------------------------------------
# Policies
# ----------------------------------------------------------------------------------------------


class Policies(Model):
    """Rules the plan must keep (in the base scenario unless said otherwise)."""

    max_share: Fraction | dict[Text, Fraction] | None = Field(
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
    target_gw: float | None = Field(
        default=None,
        gt=0.0,
        le=1e4,
        description="capacity goal for reporting (GW of facility power)",
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
    region: Text = Field(
        default="onprem",
        description="region label of the site (workloads' regions filters, reports)",
    )
    geo: Text | None = Field(
        default=None,
        description="geo tag for data residency (us, eu, ...); default: from the region label",
    )
    accelerator: Text = Field(description="accelerator in the servers")
    gpus_per_server: int = Field(default=8, ge=1, le=1024, description="accelerators per server")
    kw_per_server: float | None = Field(
        default=None,
        ge=1e-2,
        le=1e4,
        description="IT power per server, kW; default: the catalog's TDP rule for the accelerator",
    )
    mw_per_period: Series | None = Field(
        default=None,
        description="grid connection buildable per period (facility MW, IT × PUE); none = no ramp",
    )
    max_mw: float | None = Field(
        default=None,
        ge=1e-3,
        le=1e6,
        description="ceiling on the site's facility power (IT × PUE), MW",
    )
    lead_time_periods: int = Field(
        ge=0, le=600, description="periods from the build decision to first power"
    )
    facility_usd_per_mw: float | None = Field(
        default=None,
        ge=0.0,
        le=1e10,
        description="facility capex per MW of IT (critical) load; default: sourced US average",
    )
    hardware_usd_per_accelerator: float | None = Field(
        default=None,
        ge=0.0,
        le=1e7,
        description="server hardware capex per accelerator (server included); default: sourced",
    )
    facility_lifetime_years: float = Field(
        ge=1.0, le=100, description="economic life of the facility (capex annualised over it)"
    )
    hardware_lifetime_years: float | None = Field(
        default=None,
        ge=0.5,
        le=30,
        description="economic life of the servers; a build serves this long; default: sourced",
    )
    electricity_usd_per_mwh: float | None = Field(
        default=None,
        ge=0.0,
        le=1e4,
        description="electricity price; default: sourced US industrial price",
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

    usd_per_unit_hour: float = Field(ge=0.0, le=1e6, description="price of one unit for one hour")
    tokens_per_s_per_unit: float = Field(
        ge=1e-3, le=1e9, description="output tokens/s one unit sustains for this traffic"
    )
    term_months: int = Field(ge=1, le=120, description="commitment term of a unit")
    max_units: Instances | None = Field(default=None, description="cap on units active at once")


class ManagedPlatform(Model):
    """A managed model platform (Bedrock, Vertex AI, Azure AI Foundry, ...) serving inference.

    Planned as an offer of ``provider`` (its outages take the platform down and its spend counts
    in that provider's share): one instance is one output token/s, priced per hour at
    ``3600 / 1e6 × (output + input_tokens_per_output × input)`` USD per million tokens. Prices
    come from ``managed_model_prices.csv`` when only ``model`` is given.
    """

    name: Name
    provider: Name = Field(description="provider whose outages take the platform down")
    region: Text | None = Field(
        default=None,
        description="region it serves from (shares that region's outages); default: its name",
    )
    geo: Text | None = Field(
        default=None, description="geo tag for data residency; default: from the region"
    )
    model: Text | None = Field(
        default=None,
        description="model served; also the row of managed_model_prices.csv when no price given",
    )
    platform: Text | None = Field(
        default=None,
        description="platform in managed_model_prices.csv; default: the provider's own",
    )
    mode: Literal["on-demand", "batch"] = Field(
        default="on-demand", description="price row to take from managed_model_prices.csv"
    )
    input_usd_per_million_tokens: UsdPerMillionTokens | None = Field(
        default=None, description="price of prompt tokens; default: the catalog row's"
    )
    output_usd_per_million_tokens: UsdPerMillionTokens | None = Field(
        default=None, description="price of generated tokens; default: the catalog row's"
    )
    max_tokens_per_s: Series | None = Field(
        default=None, description="throughput cap on pay-per-token use, output tokens/s"
    )
    provisioned: ProvisionedThroughput | None = Field(
        default=None, description="provisioned throughput units, if the platform sells them"
    )
    workloads: list[Text] | None = Field(
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
    providers: dict[Text, Provider] = Field(
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
        """Names are compared without case everywhere (``aws`` is ``AWS``): two names of one
        kind that are equal, or differ only in case, are refused at the second."""
        for group, entries in self._named_groups():
            first: dict[str, tuple[str, tuple[str | int, ...]]] = {}
            for name, loc in entries:
                key = name.casefold()
                if key not in first:
                    first[key] = (name, loc)
                    continue
                other = first[key][0]
                if other == name:
                    message = f"two {group} are named {name!r}; names must be unique"
                else:
                    message = (
                        f"{group}: {other!r} and {name!r} differ only in case, and names are "
                        "compared without case; keep one of them"
                    )
                raise FieldValueError(message, *loc)
        return self

    def _named_groups(self) -> list[tuple[str, list[tuple[str, tuple[str | int, ...]]]]]:
        """Each kind of name with its entries: ``(what, [(name, field path), ...])``."""
        groups: list[tuple[str, list[tuple[str, tuple[str | int, ...]]]]] = []

        def listed(group: str) -> None:
            items = getattr(self, group)
            groups.append((group, [(x.name, (group, i, "name")) for i, x in enumerate(items)]))

        for group in ("workloads", "owned_sites", "managed_platforms", "contracts"):
            listed(group)
        groups.append(("providers", [(k, ("providers", k)) for k in self.providers]))
        for k, prov in self.providers.items():
            regions = prov.regions or {}
            groups.append(
                (f"regions of {k}", [(r, ("providers", k, "regions", r)) for r in regions])
            )
        if isinstance(self.policies.max_share, dict):
            groups.append(
                (
                    "max_share providers",
                    [(k, ("policies", "max_share", k)) for k in self.policies.max_share],
                )
            )
        for i, w in enumerate(self.workloads):
            for name in ("perf", "perf_tokens_per_s"):
                table = getattr(w, name, None) or {}
                groups.append(
                    (f"{name} accelerators", [(k, ("workloads", i, name, k)) for k in table])
                )
        for i, o in enumerate(self.offers.overrides):
            terms = o.reserved_usd_per_hour or {}
            where = ("offers", "overrides", i, "reserved_usd_per_hour")
            groups.append(("reserved terms", [(k, (*where, k)) for k in terms]))
        return groups


Offers.model_rebuild()
