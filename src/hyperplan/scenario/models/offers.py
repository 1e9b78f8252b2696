"""Which catalog offers are in play: filters, overrides (negotiated prices, supply, caps,
availability) and imported catalogs."""

from __future__ import annotations

from pydantic import Field

from hyperplan.scenario.models.base import (
    FilePath,
    Instances,
    Model,
    Name,
    Text,
    UsdPerHour,
    When,
    about,
)
from hyperplan.scenario.models.horizon import Salvage
from hyperplan.scenario.models.series import (
    CapSeries,
    Series,
)


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


class SkypilotCsv(Model):
    """A SkyPilot catalog CSV (vms.csv) and the provider it describes."""

    path: FilePath = Field(
        description=("path of a SkyPilot catalog CSV (vms.csv), relative to the scenario file"),
        examples=["aws_vms.csv"],
    )
    provider: Name = Field(description="the provider whose offers the CSV lists", examples=["aws"])


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
