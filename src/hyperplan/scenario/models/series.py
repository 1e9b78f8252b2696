"""Time series over the horizon's periods: a constant, a list, growth, or a CSV; and market
ceilings (a series or ``unlimited``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from hyperplan.scenario.models.base import (
    FilePath,
    Model,
    NonNeg,
    SeriesNumber,
    Text,
    about,
)


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
