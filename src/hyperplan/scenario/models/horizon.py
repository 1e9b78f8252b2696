"""The planning horizon: start, period length, periods, and what a commitment running past
its end is worth (end effects, salvage)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from hyperplan.scenario.models.base import (
    FieldValueError,
    Fraction,
    Model,
    UsdPerHour,
    When,
    about,
)

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
