"""The rules the plan must keep: share caps, power, budgets, outages."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hyperplan.scenario.models.base import (
    Fraction,
    Model,
    Text,
    about,
)
from hyperplan.scenario.models.series import Series


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
