"""Owned sites (build) and managed platforms (buy tokens): the routes besides renting."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from hyperplan.scenario.models.base import (
    FieldValueError,
    Fraction,
    Instances,
    Model,
    Name,
    Text,
    UsdPerMillionTokens,
    about,
)
from hyperplan.scenario.models.providers import OutageModel
from hyperplan.scenario.models.series import Series


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
