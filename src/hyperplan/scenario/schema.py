"""The scenario language: pydantic v2 models of a ``scenario.yaml``.

These models are the single source of the language: the JSON Schema, the reference docs and the
error messages all derive from them. Each field says what it means once, on the field:
``Field(description=..., examples=[...], json_schema_extra=about(unit, plausible_max=...))``
(read back by :mod:`hyperplan.scenario.fields`). Units: USD, hours, instances, GPUs (accelerator
devices), vCPUs, tokens/s, MW.

A scenario says *what the team needs* (workloads), *what it may buy* (providers, offers, terms),
*what it already holds* (contracts, reservations) and *the rules* (policies). The catalog
(:mod:`hyperplan.catalog`) supplies prices and specs; the scenario filters and overrides them.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

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
"""Largest number a series may hold in any field (each series field has a smaller limit, its
``about(plausible_max=...)``, checked after expansion)."""
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

# What each field means beyond its type sits on the field itself: ``Field(description=...,
# examples=[...], json_schema_extra=about(unit, ...))``. The JSON Schema (``hyperplan schema``),
# the reference docs, the loader's and the checker's messages and the units of plan tables all
# read it from there (hyperplan.scenario.fields).
UNIT = "x-unit"
"""``json_schema_extra`` key: the unit of a field's numbers (kept as is in the JSON Schema)."""
PLAUSIBLE_MAX = "x-plausible-max"
"""``json_schema_extra`` key: the largest value a series field may take in any period."""
TABLE_UNIT = "x-table-unit"
"""``json_schema_extra`` key: the short unit of a workload's demand in plan tables."""


def about(
    unit: str | None = None,
    *,
    plausible_max: float | None = None,
    table_unit: str | None = None,
) -> dict[str, Any]:
    """A field's ``json_schema_extra``: what its type does not say.

    Args:
        unit: the unit of the field's numbers as a reader needs it (``"output tokens/s"``):
            the JSON Schema's ``x-unit``, the unit column of the reference docs, and the unit
            that range and plausibility errors name.
        plausible_max: for a series field, the largest value any period may hold after
            expansion (constants, lists, growth, CSV), in ``unit``; beyond it a value is a unit
            mistake. The JSON Schema gives it as the field's ``maximum`` and
            :mod:`hyperplan.scenario.check` refuses a larger value, naming the unit.
        table_unit: the short unit of a workload's demand in plan tables and reports
            (``"tokens/s"``); default: ``unit``. Not in the JSON Schema.

    Returns:
        The dict for ``Field(json_schema_extra=...)``; keys :data:`UNIT`, :data:`PLAUSIBLE_MAX`,
        :data:`TABLE_UNIT` (only those given).
    """
    extra: dict[str, Any] = {}
    if unit is not None:
        extra[UNIT] = unit
    if plausible_max is not None:
        extra[PLAUSIBLE_MAX] = plausible_max
    if table_unit is not None:
        extra[TABLE_UNIT] = table_unit
    return extra


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
        description="value in the first period of the horizon (unit of the field)",
        examples=[200_000],
        json_schema_extra=about("unit of the field"),
    )
    growth_per_year: float = Field(
        ge=-0.99,
        le=100.0,
        description="fractional growth per year: 0.5 = +50%/year, 1.0 = doubles",
        examples=[1.0, 0.5],
        json_schema_extra=about("fraction per year"),
    )


class CsvSeries(Model):
    """A series read from a CSV file (path relative to the scenario file), one row per period."""

    csv: FilePath = Field(
        description="CSV path, relative to the scenario file", examples=["demand.csv"]
    )
    column: Text | None = Field(
        default=None,
        description="column to read; default: the last column of the file",
        examples=["tokens_per_s"],
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
        examples=[0.3],
        json_schema_extra=about("fraction"),
    )
    usd_per_instance_hour: UsdPerHour | None = Field(
        default=None,
        description="USD recovered per instance-hour of the term left after the horizon",
        examples=[1.2],
        json_schema_extra=about("USD per instance-hour"),
    )
    terms: list[Annotated[str, Field(pattern=SALVAGE_TERM_RE)]] | None = Field(
        default=None,
        description="terms this value applies to ('1y', '3y', 'build', 'provisioned'); default all",
        examples=[["3y"], ["build"]],
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

    start: When = Field(
        description="first day of the first period", examples=["2027-01-01", "2027-Q1", 2027]
    )
    period: Literal["month", "quarter", "year"] = Field(
        default="quarter", description="length of one period", examples=["quarter"]
    )
    periods: int = Field(
        default=8,
        ge=1,
        le=600,
        description="number of periods",
        examples=[8, 20],
        json_schema_extra=about("periods"),
    )
    discount_rate: float = Field(
        default=0.08,
        ge=0.0,
        le=1.0,
        description="annual discount rate for NPV (0.08 = 8%/year)",
        examples=[0.08],
        json_schema_extra=about("fraction per year"),
    )
    end_effects: Literal["full", "prorate", "salvage"] = Field(
        default="full",
        description=(
            "how a commitment running past the horizon's end is charged: full (its whole term, "
            "discounted at discount_rate), prorate (only its periods inside the horizon), "
            "salvage (its whole term less the salvage value)"
        ),
        examples=["full", "prorate"],
    )
    salvage: Salvage | None = Field(
        default=None,
        description=(
            "end_effects salvage: value recovered from every commitment after the horizon "
            "(offers.overrides[].salvage sets it per offer)"
        ),
        examples=[{"fraction": 0.3}, {"usd_per_instance_hour": 1.2}],
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
        default=1.0,
        ge=0.0,
        le=1000.0,
        description="outages per year (Poisson rate)",
        examples=[1.0, 0.5],
        json_schema_extra=about("outages per year"),
    )
    mean_hours: float = Field(
        default=8.0,
        ge=0.01,
        le=8760.0,
        description="mean outage duration, hours",
        examples=[8.0, 12.0],
        json_schema_extra=about("hours"),
    )
    sigma: float = Field(
        default=1.0,
        ge=0.01,
        le=10.0,
        description="lognormal shape of the duration",
        examples=[1.0],
        json_schema_extra=about("dimensionless"),
    )
    control_plane_share: Fraction = Field(
        default=0.0,
        description="share of outages that stop only new capacity (running instances stay up)",
        examples=[0.0, 0.3],
        json_schema_extra=about("fraction"),
    )


class Region(Model):
    """A region of a provider, as a site: geo tags, power cap and PUE."""

    geo: list[Text] | None = Field(
        default=None,
        description="geo tags (e.g. [us]); default: derived from the region code",
        examples=[["us"], ["eu"]],
    )
    power_mw: Series | None = Field(
        default=None,
        description="cap on facility power at this site per period, MW (IT × PUE)",
        examples=[50, {"start": 20, "growth_per_year": 0.5}],
        json_schema_extra=about("MW", plausible_max=1e6),
    )
    pue: float | None = Field(
        default=None,
        ge=1.0,
        le=3.0,
        description="power usage effectiveness; default: provider's",
        examples=[1.1, 1.3],
        json_schema_extra=about("ratio"),
    )
    outage: OutageModel | None = Field(
        default=None,
        description="region outage model",
        examples=[{"rate_per_year": 2, "mean_hours": 4}],
    )


class Provider(Model):
    """A cloud provider in play. An empty mapping (``aws: {}``) takes every catalog default."""

    regions: dict[Text, Region] | None = Field(
        default=None,
        description="regions in play with their settings; default: every catalog region",
        examples=[{"us-east-1": {}, "us-west-2": {"power_mw": 50}}],
    )
    pue: float = Field(
        default=1.2,
        ge=1.0,
        le=3.0,
        description="default PUE of this provider's sites",
        examples=[1.2, 1.1],
        json_schema_extra=about("ratio"),
    )
    outage: OutageModel = Field(
        default_factory=OutageModel,
        description="provider-wide outages",
        examples=[{"rate_per_year": 1, "mean_hours": 12}],
    )


# ----------------------------------------------------------------------------------------------
# Offers: filters and overrides of the catalog
# ----------------------------------------------------------------------------------------------


class OfferMatch(Model):
    """Selects catalog offers: every given field must match (case-insensitive)."""

    provider: Text | None = Field(
        default=None,
        description="provider name, as in the catalog (e.g. aws); any when omitted",
        examples=["aws"],
    )
    region: Text | None = Field(
        default=None,
        description="region code, as the provider names it; any when omitted",
        examples=["us-east-1"],
    )
    instance_type: Text | None = Field(
        default=None,
        description="instance type, as the provider names it; any when omitted",
        examples=["p5.48xlarge"],
    )
    accelerator: Text | None = Field(
        default=None,
        description="accelerator name (normalised, e.g. H100); any when omitted",
        examples=["H100"],
    )


class OfferOverride(Model):
    """Changes to the catalog offers that ``match`` selects: negotiated prices, supply, caps."""

    match: OfferMatch = Field(
        description="the catalog offers this override changes: every given field must match",
        examples=[{"provider": "aws", "instance_type": "p5.48xlarge"}],
    )
    ondemand_usd_per_hour: UsdPerHour | None = Field(
        default=None,
        description="USD per instance-hour",
        examples=[55.04],
        json_schema_extra=about("USD per instance-hour"),
    )
    spot_usd_per_hour: UsdPerHour | None = Field(
        default=None,
        description="USD per instance-hour",
        examples=[22.0],
        json_schema_extra=about("USD per instance-hour"),
    )
    reserved_usd_per_hour: dict[Text, UsdPerHour] | None = Field(
        default=None,
        description="reserved price per term, USD per instance-hour, keyed by term ('1y', '3y')",
        examples=[{"1y": 38.5, "3y": 24.2}],
        json_schema_extra=about("USD per instance-hour"),
    )
    available_from: When | None = Field(
        default=None,
        description="no new reservations, on-demand or spot before this date",
        examples=["2026-07-01", "2026-Q3"],
    )
    supply: Series | None = Field(
        default=None,
        description="cap on NEW reserved instances signed per period (a supply ramp)",
        examples=[500, {"start": 2000, "growth_per_year": 0.5}],
        json_schema_extra=about("instances per period", plausible_max=1e9),
    )
    max_instances: Instances | None = Field(
        default=None,
        description="ceiling on active reserved instances of each matched offer",
        examples=[4000],
        json_schema_extra=about("instances"),
    )
    ondemand_cap: CapSeries | None = Field(
        default=None,
        description="on-demand instances obtainable per period, or unlimited; "
        "default: offers.ondemand_cap",
        examples=[2000, "unlimited"],
        json_schema_extra=about("instances", plausible_max=1e9),
    )
    spot_cap: CapSeries | None = Field(
        default=None,
        description="spot instances obtainable per period, or unlimited; default: offers.spot_cap",
        examples=[1000],
        json_schema_extra=about("instances", plausible_max=1e9),
    )
    kw_per_instance: float | None = Field(
        default=None,
        ge=1e-3,
        le=1e4,
        description="power per instance, kW",
        examples=[10.2],
        json_schema_extra=about("kW"),
    )
    salvage: Salvage | None = Field(
        default=None,
        description="end_effects salvage: value recovered after the horizon for the matched offers",
        examples=[{"fraction": 0.5, "terms": ["3y"]}],
    )


class Offers(Model):
    """Which catalog offers are in play, and what changes about them."""

    catalog_csv: list[FilePath] = Field(
        default_factory=list,
        description="user offer CSVs (negotiated prices, private capacity)",
        examples=[["my-offers.csv"]],
    )
    skypilot_csv: list[SkypilotCsv] = Field(
        default_factory=list,
        description="SkyPilot catalog CSVs to import",
        examples=[[{"path": "aws_vms.csv", "provider": "aws"}]],
    )
    accelerators: list[Text] | None = Field(
        default=None,
        description="accelerators in play; default: all (CPU offers always stay)",
        examples=[["H100", "H200"]],
    )
    instance_types: list[Text] | None = Field(
        default=None,
        description="instance types in play",
        examples=[["p5.48xlarge", "p5en.48xlarge"]],
    )
    exclude: list[OfferMatch] = Field(
        default_factory=list,
        description="offers taken out of play",
        examples=[[{"provider": "aws", "region": "us-east-2"}]],
    )
    overrides: list[OfferOverride] = Field(
        default_factory=list,
        description=(
            "changes to the offers each entry's match selects: negotiated prices, "
            "supply, caps, availability"
        ),
        examples=[[{"match": {"provider": "aws"}, "ondemand_cap": 200}]],
    )
    ondemand_cap: CapSeries | None = Field(
        default=None,
        description="on-demand instances obtainable per offer and period, or unlimited; "
        "default: the bundled market_caps.csv ([A] assumptions, see docs/catalog.md)",
        examples=[2000, "unlimited"],
        json_schema_extra=about("instances", plausible_max=1e9),
    )
    spot_cap: CapSeries | None = Field(
        default=None,
        description="spot instances obtainable per offer and period, or unlimited; "
        "default: the bundled market_caps.csv ([A] assumptions)",
        examples=[1000, "unlimited"],
        json_schema_extra=about("instances", plausible_max=1e9),
    )
    supply: Series | None = Field(
        default=None,
        description="default cap on new reserved instances per offer and period",
        examples=[2000],
        json_schema_extra=about("instances per period", plausible_max=1e9),
    )


class SkypilotCsv(Model):
    """A SkyPilot catalog CSV (vms.csv) and the provider it describes."""

    path: FilePath = Field(
        description=("path of a SkyPilot catalog CSV (vms.csv), relative to the scenario file"),
        examples=["aws_vms.csv"],
    )
    provider: Name = Field(description="the provider whose offers the CSV lists", examples=["aws"])


# ----------------------------------------------------------------------------------------------
# Existing commitments
# ----------------------------------------------------------------------------------------------


class Contract(Model):
    """An existing take-or-pay spend commitment with one provider.

    Over ``[start, end)`` the team pays at least ``committed_usd`` to ``provider`` (pro-rated to
    the part inside the horizon); the shortfall is paid anyway. ``discount`` applies to the
    provider's on-demand, spot and reserved prices in that window.
    """

    name: Name = Field(
        description="the contract's name (for reports and messages)", examples=["azure-2026"]
    )
    provider: Name = Field(description="provider the spend is committed to", examples=["azure"])
    committed_usd: float = Field(
        ge=0.0,
        le=1e13,
        description="committed spend over the whole contract, USD",
        examples=[38_000_000_000],
        json_schema_extra=about("USD"),
    )
    start: When = Field(description="first day of the contract window", examples=["2026-01-01"])
    end: When = Field(description="first day after the contract window", examples=["2033-01-01"])
    discount: float = Field(
        default=0.0,
        ge=0.0,
        le=0.95,
        description="price discount (0.2 = 20%)",
        examples=[0.25],
        json_schema_extra=about("fraction"),
    )

    @model_validator(mode="after")
    def _ordered(self) -> Contract:
        if self.end <= self.start:
            raise FieldValueError(f"end ({self.end}) must be after start ({self.start})", "end")
        return self


class Reservation(Model):
    """Reserved capacity already signed: counted as capacity, its cost is sunk but reported."""

    provider: Name = Field(description="provider of the reserved instances", examples=["azure"])
    region: Text = Field(description="region of the reserved instances", examples=["eastus"])
    instance_type: Text = Field(
        description="instance type of the reserved instances", examples=["Standard_ND96isr_H100_v5"]
    )
    instances: Instances = Field(
        description="number of instances reserved",
        examples=[15_000],
        json_schema_extra=about("instances"),
    )
    start: When = Field(description="first day of the reservation", examples=["2025-01"])
    end: When = Field(description="first day after the reservation", examples=["2027-01"])
    usd_per_hour: UsdPerHour | None = Field(
        default=None,
        description="price per instance-hour; default: catalog 1y reserved price",
        examples=[60.0],
        json_schema_extra=about("USD per instance-hour"),
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

    demand_field: ClassVar[str]
    """Name of the field that holds the kind's demand; its table unit is the unit of plan
    tables (:func:`hyperplan.scenario.fields.demand_units`)."""

    name: Name = Field(
        description="the workload's name, unique in the scenario (letters, digits, _ . -)",
        examples=["chat", "pretrain"],
    )
    providers: list[Text] | None = Field(
        default=None, description="providers allowed; default all", examples=[["aws", "nebius"]]
    )
    regions: list[Text] | None = Field(
        default=None,
        description="regions allowed; default all",
        examples=[["us-east-1", "eu-north1"]],
    )
    geo: list[Text] | None = Field(
        default=None,
        description="data residency: geo tags allowed (e.g. [eu]); default all",
        examples=[["eu"], ["us", "ca"]],
    )
    markets: list[Market] | None = Field(
        default=None,
        description="markets allowed; default reserved+ondemand (+spot if preemptible)",
        examples=[["reserved", "ondemand"]],
    )
    priority: int = Field(
        default=0,
        ge=0,
        le=100,
        description="dispatch priority (higher first)",
        examples=[10],
        json_schema_extra=about("rank"),
    )
    routes: list[Route] | None = Field(
        default=None,
        description=(
            "how the workload may be served: rented (cloud offers), owned (owned_sites), "
            "managed (managed_platforms, inference only); default all"
        ),
        examples=[["rented", "owned"], ["managed"]],
    )


class Inference(WorkloadBase):
    """Token serving. Demand is average output tokens/s over each period."""

    demand_field: ClassVar[str] = "demand_tokens_per_s"

    kind: Literal["inference"] = Field(
        description="inference: token serving", examples=["inference"]
    )
    demand_tokens_per_s: Series = Field(
        description="average output tokens/s per period",
        examples=[200_000, {"start": 200_000, "growth_per_year": 1.0}],
        json_schema_extra=about("output tokens/s", plausible_max=1e12, table_unit="tokens/s"),
    )
    model_params_b: float = Field(
        default=70.0,
        ge=1e-3,
        le=1e5,
        description="active parameters of the served model, billions (perf estimate)",
        examples=[70, 405],
        json_schema_extra=about("billion parameters"),
    )
    perf_tokens_per_s: dict[Text, TokensPerDevice] | None = Field(
        default=None,
        description="output tokens/s per accelerator DEVICE; missing ones are estimated (flagged)",
        examples=[{"H100": 3000, "H200": 4200}],
        json_schema_extra=about("output tokens/s per device"),
    )
    accelerators: list[Text] | None = Field(
        default=None, description="accelerators allowed", examples=[["H100", "H200"]]
    )
    resilience: Fraction = Field(
        default=0.8,
        description="share of demand that must be served when any one domain is down",
        examples=[0.8],
        json_schema_extra=about("fraction"),
    )
    preemptible: bool = Field(
        default=False,
        description="may use spot capacity and be preempted (requests retried elsewhere)",
        examples=[False],
    )
    model: Text | None = Field(
        default=None,
        description=(
            "name of the served model; a managed platform serving the same model may serve it "
            "(see managed_platforms.workloads)"
        ),
        examples=["Llama 3.3 70B Instruct"],
    )
    input_tokens_per_output: float = Field(
        default=1.0,
        ge=0.0,
        le=1e4,
        description=(
            "prompt (input) tokens per generated (output) token, for managed platforms' "
            "per-token prices; 1.0 = as many prompt tokens as output tokens"
        ),
        examples=[1.0, 4.0],
        json_schema_extra=about("input tokens per output token"),
    )


class Training(WorkloadBase):
    """A training run: ``compute_gpu_hours`` of the reference accelerator inside a window."""

    demand_field: ClassVar[str] = "compute_gpu_hours"

    kind: Literal["training"] = Field(
        description="training: a run of fixed work", examples=["training"]
    )
    compute_gpu_hours: float = Field(
        ge=1e-3,
        le=1e12,
        description="work, in accelerator-hours of reference_accelerator",
        examples=[1_500_000],
        json_schema_extra=about("reference-accelerator hours", table_unit="reference GPU-hours"),
    )
    reference_accelerator: Text = Field(
        default="H100",
        description="the accelerator compute_gpu_hours and perf are counted in",
        examples=["H100"],
    )
    start: When = Field(description="earliest start", examples=["2027-Q2"])
    deadline: When = Field(description="the run must finish before this date", examples=["2028-Q1"])
    accelerators: list[Text] | None = Field(
        default=None, description="accelerators allowed", examples=[["H100", "H200", "B200"]]
    )
    perf: dict[Text, Perf] | None = Field(
        default=None,
        description="reference-accelerator equivalents per device; default: bf16 TFLOPS ratio",
        examples=[{"B200": 2.27}],
        json_schema_extra=about("reference-accelerator equivalents per device"),
    )
    single_site: bool = Field(
        default=False, description="the run uses one region (MILP)", examples=[True]
    )
    max_instances: float | None = Field(
        default=None,
        ge=1e-3,
        le=1e9,
        description="cap on instances in use in any period",
        examples=[2000],
        json_schema_extra=about("instances"),
    )
    preemptible: bool = Field(
        default=False,
        description=("may use spot capacity and be preempted (the run resumes from a checkpoint)"),
        examples=[False],
    )

    @model_validator(mode="after")
    def _window(self) -> Training:
        if self.deadline <= self.start:
            raise FieldValueError(
                f"deadline ({self.deadline}) must be after start ({self.start})", "deadline"
            )
        return self


class Agents(WorkloadBase):
    """CPU sandboxes for agents: demand in vCPUs busy on average, on CPU-only offers."""

    demand_field: ClassVar[str] = "demand_vcpus"

    kind: Literal["agents"] = Field(description="agents: CPU sandboxes", examples=["agents"])
    demand_vcpus: Series = Field(
        description="vCPUs needed on average per period",
        examples=[2_000_000, {"start": 2_000_000, "growth_per_year": 1.0}],
        json_schema_extra=about("vCPUs", plausible_max=1e12),
    )
    resilience: Fraction = Field(
        default=0.5,
        description="share of demand that must be served when any one domain is down",
        examples=[0.5],
        json_schema_extra=about("fraction"),
    )
    preemptible: bool = Field(
        default=True,
        description="may use spot capacity and be preempted (sandboxes restart elsewhere)",
        examples=[True],
    )


class Batch(WorkloadBase):
    """Preemptible GPU batch work: demand in busy reference accelerators per period."""

    demand_field: ClassVar[str] = "demand_gpus"

    kind: Literal["batch"] = Field(description="batch: preemptible GPU work", examples=["batch"])
    demand_gpus: Series = Field(
        description="reference-accelerator equivalents busy per period",
        examples=[150_000, {"start": 1000, "growth_per_year": 1.0}],
        json_schema_extra=about(
            "reference accelerators", plausible_max=1e10, table_unit="reference GPUs"
        ),
    )
    reference_accelerator: Text = Field(
        default="H100",
        description="the accelerator demand_gpus and perf are counted in",
        examples=["H100"],
    )
    accelerators: list[Text] | None = Field(
        default=None, description="accelerators allowed", examples=[["H100", "H200"]]
    )
    perf: dict[Text, Perf] | None = Field(
        default=None,
        description=("reference-accelerator equivalents per device; default: bf16 TFLOPS ratio"),
        examples=[{"H200": 1.0}],
        json_schema_extra=about("reference-accelerator equivalents per device"),
    )
    resilience: Fraction = Field(
        default=0.0,
        description="share of demand that must be served when any one domain is down",
        examples=[0.0],
        json_schema_extra=about("fraction"),
    )
    preemptible: bool = Field(
        default=True,
        description="may use spot capacity and be preempted (the work is retried)",
        examples=[True],
    )


Workload = Annotated[Inference | Training | Agents | Batch, Field(discriminator="kind")]


# ----------------------------------------------------------------------------------------------
# Policies
# ----------------------------------------------------------------------------------------------


class Policies(Model):
    """Rules the plan must keep (in the base scenario unless said otherwise)."""

    max_share: Fraction | dict[Text, Fraction] | None = Field(
        default=None,
        description="cap on one provider's share (of spend or GPUs) per period",
        examples=[0.5, {"aws": 0.6, "azure": 0.4}],
        json_schema_extra=about("fraction"),
    )
    share_by: Literal["spend", "gpus"] = Field(
        default="spend",
        description="what max_share measures: spend (USD) or GPUs in use",
        examples=["spend"],
    )
    power_total_mw: Series | None = Field(
        default=None,
        description="cap on total facility power per period, MW",
        examples=[300],
        json_schema_extra=about("MW", plausible_max=1e6),
    )
    budget_usd_per_year: Series | None = Field(
        default=None,
        description="cap on spend per calendar year of the horizon, USD",
        examples=[10_000_000, [5e6, 8e6]],
        json_schema_extra=about("USD per year", plausible_max=1e15),
    )
    outages: Literal["none", "providers", "regions", "both"] = Field(
        default="providers",
        description="which single-failure scenarios the plan must survive",
        examples=["providers"],
    )
    target_gw: float | None = Field(
        default=None,
        gt=0.0,
        le=1e4,
        description="capacity goal for reporting (GW of facility power)",
        examples=[30],
        json_schema_extra=about("GW"),
    )
    unserved_penalty_factor: float = Field(
        default=10.0,
        ge=1.0,
        le=1e6,
        description="unserved demand costs this × the dearest way to serve it",
        examples=[10],
        json_schema_extra=about("multiplier"),
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

    name: Name = Field(
        description="the site's name (letters, digits, _ . -); its provider is owned:<name>",
        examples=["dc1"],
    )
    region: Text = Field(
        default="onprem",
        description="region label of the site (workloads' regions filters, reports)",
        examples=["us-va", "onprem"],
    )
    geo: Text | None = Field(
        default=None,
        description="geo tag for data residency (us, eu, ...); default: from the region label",
        examples=["us", "eu"],
    )
    accelerator: Text = Field(description="accelerator in the servers", examples=["H100", "B200"])
    gpus_per_server: int = Field(
        default=8,
        ge=1,
        le=1024,
        description="accelerators per server",
        examples=[8],
        json_schema_extra=about("accelerators per server"),
    )
    kw_per_server: float | None = Field(
        default=None,
        ge=1e-2,
        le=1e4,
        description="IT power per server, kW; default: the catalog's TDP rule for the accelerator",
        examples=[10.2],
        json_schema_extra=about("kW (IT)"),
    )
    mw_per_period: Series | None = Field(
        default=None,
        description="grid connection buildable per period (facility MW, IT × PUE); none = no ramp",
        examples=[20, [0, 20, 40, 40]],
        json_schema_extra=about("MW per period", plausible_max=1e6),
    )
    max_mw: float | None = Field(
        default=None,
        ge=1e-3,
        le=1e6,
        description="ceiling on the site's facility power (IT × PUE), MW",
        examples=[100],
        json_schema_extra=about("MW"),
    )
    lead_time_periods: int = Field(
        ge=0,
        le=600,
        description="periods from the build decision to first power",
        examples=[6, 8],
        json_schema_extra=about("periods"),
    )
    facility_usd_per_mw: float | None = Field(
        default=None,
        ge=0.0,
        le=1e10,
        description="facility capex per MW of IT (critical) load; default: sourced US average",
        examples=[11_700_000],
        json_schema_extra=about("USD per MW of IT load"),
    )
    hardware_usd_per_accelerator: float | None = Field(
        default=None,
        ge=0.0,
        le=1e7,
        description="server hardware capex per accelerator (server included); default: sourced",
        examples=[31904.63],
        json_schema_extra=about("USD per accelerator"),
    )
    facility_lifetime_years: float = Field(
        ge=1.0,
        le=100,
        description="economic life of the facility (capex annualised over it)",
        examples=[20],
        json_schema_extra=about("years"),
    )
    hardware_lifetime_years: float | None = Field(
        default=None,
        ge=0.5,
        le=30,
        description="economic life of the servers; a build serves this long; default: sourced",
        examples=[5, 6],
        json_schema_extra=about("years"),
    )
    electricity_usd_per_mwh: float | None = Field(
        default=None,
        ge=0.0,
        le=1e4,
        description="electricity price; default: sourced US industrial price",
        examples=[89.2, 66.0],
        json_schema_extra=about("USD per MWh"),
    )
    pue: float | None = Field(
        default=None,
        ge=1.0,
        le=3.0,
        description="power usage effectiveness; default: sourced",
        examples=[1.1, 1.3],
        json_schema_extra=about("ratio"),
    )
    fixed_om_share_per_year: Fraction = Field(
        description="fixed operations and maintenance per year, as a share of capex",
        examples=[0.03],
        json_schema_extra=about("fraction of capex per year"),
    )
    outage: OutageModel = Field(
        default_factory=OutageModel,
        description="outages of the whole site (its own domain)",
        examples=[{"rate_per_year": 0.5, "mean_hours": 24}],
    )


class ProvisionedThroughput(Model):
    """Provisioned throughput of a managed platform: units paid per hour for a whole term."""

    usd_per_unit_hour: float = Field(
        ge=0.0,
        le=1e6,
        description="price of one unit for one hour",
        examples=[63.0],
        json_schema_extra=about("USD per unit-hour"),
    )
    tokens_per_s_per_unit: float = Field(
        ge=1e-3,
        le=1e9,
        description="output tokens/s one unit sustains for this traffic",
        examples=[1000],
        json_schema_extra=about("output tokens/s per unit"),
    )
    term_months: int = Field(
        ge=1,
        le=120,
        description="commitment term of a unit",
        examples=[1, 6],
        json_schema_extra=about("months"),
    )
    max_units: Instances | None = Field(
        default=None,
        description="cap on units active at once",
        examples=[100],
        json_schema_extra=about("units"),
    )


class ManagedPlatform(Model):
    """A managed model platform (Bedrock, Vertex AI, Azure AI Foundry, ...) serving inference.

    Planned as an offer of ``provider`` (its outages take the platform down and its spend counts
    in that provider's share): one instance is one output token/s, priced per hour at
    ``3600 / 1e6 × (output + input_tokens_per_output × input)`` USD per million tokens. Prices
    come from ``managed_model_prices.csv`` when only ``model`` is given.
    """

    name: Name = Field(
        description="the platform's name (letters, digits, _ . -), shown in reports",
        examples=["bedrock-llama"],
    )
    provider: Name = Field(
        description="provider whose outages take the platform down", examples=["aws"]
    )
    region: Text | None = Field(
        default=None,
        description="region it serves from (shares that region's outages); default: its name",
        examples=["us-east-1"],
    )
    geo: Text | None = Field(
        default=None,
        description="geo tag for data residency; default: from the region",
        examples=["us"],
    )
    model: Text | None = Field(
        default=None,
        description="model served; also the row of managed_model_prices.csv when no price given",
        examples=["Llama 3.3 70B Instruct"],
    )
    platform: Text | None = Field(
        default=None,
        description="platform in managed_model_prices.csv; default: the provider's own",
        examples=["Amazon Bedrock"],
    )
    mode: Literal["on-demand", "batch"] = Field(
        default="on-demand",
        description="price row to take from managed_model_prices.csv",
        examples=["on-demand"],
    )
    input_usd_per_million_tokens: UsdPerMillionTokens | None = Field(
        default=None,
        description="price of prompt tokens; default: the catalog row's",
        examples=[0.72],
        json_schema_extra=about("USD per million input tokens"),
    )
    output_usd_per_million_tokens: UsdPerMillionTokens | None = Field(
        default=None,
        description="price of generated tokens; default: the catalog row's",
        examples=[0.72],
        json_schema_extra=about("USD per million output tokens"),
    )
    max_tokens_per_s: Series | None = Field(
        default=None,
        description="throughput cap on pay-per-token use, output tokens/s",
        examples=[50_000],
        json_schema_extra=about("output tokens/s", plausible_max=1e12),
    )
    provisioned: ProvisionedThroughput | None = Field(
        default=None,
        description="provisioned throughput units, if the platform sells them",
        examples=[{"usd_per_unit_hour": 63.0, "tokens_per_s_per_unit": 1000, "term_months": 1}],
    )
    workloads: list[Text] | None = Field(
        default=None,
        description=(
            "inference workloads (names or model names) it may serve; default: those whose "
            "model is unset or equals the platform's"
        ),
        examples=[["chat"], ["Llama 3.3 70B Instruct"]],
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

    name: Name = Field(
        default="scenario",
        description="the scenario's name (letters, digits, _ . -), shown in reports",
        examples=["small"],
    )
    description: str = Field(
        default="",
        description="what the scenario asks, in a sentence or two",
        examples=["A training run and a growing chat service on AWS and Nebius."],
    )
    horizon: Horizon = Field(
        description=("the planning horizon: when it starts, the period length, how many periods"),
        examples=[{"start": "2027-01-01", "period": "quarter", "periods": 8}],
    )
    providers: dict[Text, Provider] = Field(
        default_factory=dict,
        description="providers in play; empty: every catalog provider",
        examples=[{"aws": {}, "nebius": {}}],
    )
    offers: Offers = Field(
        default_factory=Offers,
        description="which catalog offers are in play and what changes about them",
        examples=[{"accelerators": ["H100", "H200"]}],
    )
    terms: list[Annotated[int, Field(ge=1, le=10)]] = Field(
        default_factory=lambda: [1, 3],
        description="commitment terms offered, years",
        examples=[[1, 3]],
        json_schema_extra=about("years"),
    )
    contracts: list[Contract] = Field(
        default_factory=list,
        description="existing take-or-pay spend commitments",
        examples=[
            [
                {
                    "name": "aws-2026",
                    "provider": "aws",
                    "committed_usd": 38e9,
                    "start": "2026-01",
                    "end": "2033-01",
                    "discount": 0.25,
                }
            ]
        ],
    )
    reservations: list[Reservation] = Field(
        default_factory=list,
        description="reserved capacity already signed (counted as capacity; cost sunk)",
        examples=[
            [
                {
                    "provider": "aws",
                    "region": "us-east-1",
                    "instance_type": "p5.48xlarge",
                    "instances": 16,
                    "start": "2026-01",
                    "end": "2028-01",
                }
            ]
        ],
    )
    workloads: list[Workload] = Field(
        min_length=1,
        description="what the team needs: inference, training, agents and batch workloads",
        examples=[
            [
                {
                    "name": "chat",
                    "kind": "inference",
                    "demand_tokens_per_s": {"start": 200_000, "growth_per_year": 1.0},
                }
            ]
        ],
    )
    policies: Policies = Field(
        default_factory=Policies,
        description="the rules the plan must keep: share caps, power, budgets, outages",
        examples=[{"max_share": 0.7, "outages": "providers"}],
    )
    integer: bool = Field(default=False, description="whole instances (MILP)", examples=[False])
    owned_sites: list[OwnedSite] = Field(
        default_factory=list,
        description="data centres the plan may build (provider owned:<name>)",
        examples=[
            [
                {
                    "name": "dc1",
                    "region": "us-va",
                    "accelerator": "H100",
                    "max_mw": 100,
                    "mw_per_period": 20,
                    "lead_time_periods": 6,
                    "facility_lifetime_years": 20,
                    "fixed_om_share_per_year": 0.03,
                }
            ]
        ],
    )
    managed_platforms: list[ManagedPlatform] = Field(
        default_factory=list,
        description="managed model platforms inference may buy tokens from",
        examples=[
            [
                {
                    "name": "bedrock",
                    "provider": "aws",
                    "region": "us-east-1",
                    "model": "Llama 3.3 70B Instruct",
                    "max_tokens_per_s": 50_000,
                }
            ]
        ],
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
