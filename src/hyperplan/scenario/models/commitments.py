"""What the organisation already holds: take-or-pay contracts and signed reservations."""

from __future__ import annotations

from pydantic import Field, model_validator

from hyperplan.scenario.models.base import (
    FieldValueError,
    Instances,
    Model,
    Name,
    Text,
    UsdPerHour,
    When,
    about,
)


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
