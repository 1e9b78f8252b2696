"""Stage 3: pydantic models of plan.json and sim.json (envelope, meta, table columns and dtypes)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
)

from hyperplan.artifacts.files import _json_type, _short

MAX_OUTAGE_RATE = 8760.0
"""Outages per year above which a failure domain is refused (more than one an hour on average)."""

NonFinite = Literal["nan", "inf", "-inf"]


def _number(v: Any) -> Any:
    """A JSON number, ``null`` or one of the strings ``nan``, ``inf``, ``-inf`` (not a boolean)."""
    if v is None or isinstance(v, float):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        if abs(v) < 2**63:
            return v  # a count such as stats.rows stays an integer
        try:
            return float(v)
        except OverflowError:
            raise ValueError("expected a number of at most 1.8e308") from None
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return v
    raise ValueError("expected a number (or 'nan', 'inf', '-inf')")


Num = Annotated[Any, PlainValidator(_number)]
Int64 = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]


def _iso_date(v: Any) -> dt.date:
    if not isinstance(v, str):
        raise ValueError(f"expected a date string like 2027-01-01; found {_json_type(v)}")
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise ValueError(f"expected a date like 2027-01-01; found {_short(v)}") from None


def _iso_date_text(v: Any) -> str:
    """A date column's value, validated (the problem's message adds the value found)."""
    try:
        _iso_date(v)
    except ValueError:
        raise ValueError("expected a date like 2027-01-01") from None
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class FloatColumn(_Strict):
    """A column of numbers; non-finite values as the strings ``nan``, ``inf``, ``-inf``."""

    dtype: Literal["float"]
    values: list[Num]


class IntColumn(_Strict):
    """A column of 64-bit integers."""

    dtype: Literal["int"]
    values: list[Int64]


class BoolColumn(_Strict):
    """A column of booleans (true/false, not 0/1)."""

    dtype: Literal["bool"]
    values: list[StrictBool]


class DateColumn(_Strict):
    """A column of ISO dates (``2027-01-01``)."""

    dtype: Literal["date"]
    values: list[Annotated[Any, PlainValidator(_iso_date_text)]]


class StrColumn(_Strict):
    """A column of strings."""

    dtype: Literal["str"]
    values: list[StrictStr]


Column = Annotated[
    FloatColumn | IntColumn | BoolColumn | DateColumn | StrColumn, Field(discriminator="dtype")
]


class TableModel(_Strict):
    """A table: columns by name, units by column."""

    units: dict[str, StrictStr] = Field(default_factory=dict)
    columns: dict[str, Column]


class PlanEnvelope(BaseModel):
    """The top level of plan.json (``meta`` is checked by :class:`PlanMeta`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    schema_: Literal["hyperplan.plan/1"] = Field(alias="schema")
    scenario: StrictStr
    status: StrictStr
    objective_usd: Num
    stats: dict[str, StrictBool | Num | StrictStr] = Field(default_factory=dict)
    warnings: list[StrictStr] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)
    tables: dict[str, TableModel]
    misses: TableModel | None = None  # derived from the tables; recomputed, not read


class OutageMeta(_Strict):
    """A failure domain's outage model as the plan records it (see ``scenario.OutageModel``)."""

    rate_per_year: Annotated[float, Field(ge=0.0, le=MAX_OUTAGE_RATE, allow_inf_nan=False)] = 0.0
    mean_hours: Annotated[float, Field(gt=0.0, le=87600.0, allow_inf_nan=False)] = 8.0
    sigma: Annotated[float, Field(gt=0.0, le=10.0, allow_inf_nan=False)] = 1.0
    control_plane_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0


class OutagesMeta(_Strict):
    """Outage models of the providers and regions in play."""

    providers: dict[str, OutageMeta] = Field(default_factory=dict)
    regions: dict[str, OutageMeta] = Field(default_factory=dict)


FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


class LimitsMeta(_Strict):
    """Policy limits the independent check compares the plan with (None: no limit)."""

    max_share: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(default_factory=dict)
    share_by: Literal["spend", "gpus"] | None = None
    site_power_mw: dict[str, list[NonNegFloat | None]] = Field(default_factory=dict)
    total_power_mw: list[NonNegFloat | None] = Field(default_factory=list)
    budget_usd: dict[Annotated[str, Field(pattern=r"^\d{4}$")], NonNegFloat] = Field(
        default_factory=dict
    )
    terms_periods: dict[
        Annotated[str, Field(pattern=r"^\d{1,3}$")], Annotated[int, Field(ge=0)]
    ] = Field(default_factory=dict)


class PlanMeta(BaseModel):
    """``meta`` of plan.json: periods, names, outage models, limits, the scenario it solved."""

    model_config = ConfigDict(extra="allow", strict=True)

    periods: list[StrictStr] = Field(min_length=1)
    period_starts: list[Annotated[dt.date, Field(strict=False)]] = Field(min_length=2)
    providers: list[StrictStr] = Field(default_factory=list)
    scenarios: list[StrictStr] = Field(default_factory=list)
    workloads: list[StrictStr] = Field(default_factory=list)
    kinds: list[StrictStr] = Field(default_factory=list)
    target_gw: NonNegFloat | None = None
    max_share: Annotated[float, Field(ge=0.0, le=1.0)] | dict[str, float] | None = None
    outages: OutagesMeta = Field(default_factory=OutagesMeta)
    limits: LimitsMeta = Field(default_factory=LimitsMeta)
    scenario: dict[str, Any] | None = None


class SimSummaryRow(BaseModel):
    """One row of sim.json's ``summary``: a metric's distribution."""

    model_config = ConfigDict(extra="forbid", strict=True)

    metric: StrictStr = Field(min_length=1)
    unit: StrictStr = ""
    trials: Annotated[StrictInt, Field(ge=0, le=2**63 - 1)] | None = None
    mean: Num = None
    std: Num = None
    p01: Num = None
    p05: Num = None
    p50: Num = None
    p95: Num = None
    p99: Num = None


class SimMeta(BaseModel):
    """``meta`` of sim.json: how the simulation was run."""

    model_config = ConfigDict(extra="allow", strict=True)

    scenario: StrictStr | None = None
    seed: Int64 | None = None
    trials: Annotated[StrictInt, Field(ge=0, le=2**63 - 1)] | None = None
    years: Num = None
    step_hours: Num = None
    steps: Annotated[StrictInt, Field(ge=0, le=2**63 - 1)] | None = None
    pools: Annotated[StrictInt, Field(ge=0, le=2**63 - 1)] | None = None
    periods: list[StrictStr] = Field(default_factory=list)
    seconds: Num = None
    warnings: list[StrictStr] = Field(default_factory=list)


class SimEnvelope(BaseModel):
    """The top level of sim.json."""

    model_config = ConfigDict(extra="forbid", strict=True)

    schema_: Literal["hyperplan.sim/1"] = Field(alias="schema")
    meta: SimMeta = Field(default_factory=SimMeta)
    summary: list[SimSummaryRow]
    trials: dict[StrictStr, list[Num]] = Field(default_factory=dict)
