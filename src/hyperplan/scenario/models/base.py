"""The building blocks of the scenario models: the base :class:`Model`, dates, bounded
number and text types, and :func:`about` (a field's unit and plausible maximum)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

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
