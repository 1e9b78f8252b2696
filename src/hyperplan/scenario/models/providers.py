"""Providers, their regions, and the outage model of each failure domain."""

from __future__ import annotations

from pydantic import Field

from hyperplan.scenario.models.base import (
    Fraction,
    Model,
    Text,
    about,
)
from hyperplan.scenario.models.series import Series


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
