"""Reading a replan document (``hyperplan.replan/1``): bounded, typed, located problems.

The document is what ``hyperplan replan --json`` prints and a replan job returns: the as-of
month, the diff against the adopted plan (one row per change, money in USD), the contracts at
the as-of date, notes and warnings, and a summary of the re-solved plan; a server job's
result also holds the re-solved plan itself (``plan_document``, a plan.json object, validated
where it is used). The HTML report's replan section and ``replan --server -o`` read it.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StrictBool, StrictInt, StrictStr
from pydantic import ValidationError as PydanticValidationError

from hyperplan.artifacts.files import REPLAN_SCHEMA, check_kind, read_json_file
from hyperplan.artifacts.models import _iso_date_text
from hyperplan.artifacts.problems import _pydantic_problems
from hyperplan.errors import InputError


def _number_or_null(v: Any) -> float | int | None:
    """A JSON number, as written (an integer stays one: it is shown as one), or ``null`` (a
    value that was NaN); not a boolean, not a string."""
    if v is None or isinstance(v, float):
        return v
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError("expected a number or null")
    if abs(v) >= 2**63:
        raise ValueError("expected a number of at most 2**63 - 1 in size")
    return v


Number = Annotated[Any, PlainValidator(_number_or_null)]  # Any: serialised as validated
Count = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]
IsoDate = Annotated[str, PlainValidator(_iso_date_text)]
Text = Annotated[StrictStr, Field(max_length=10_000)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class ReplanChange(_Row):
    """One change against the adopted plan (``hyperplan.actuals.replan.DIFF_COLUMNS``)."""

    change: Text
    provider: Text
    region: Text
    offer: Text
    accelerator: Text | None = None
    term_years: Number = None
    start: IsoDate | None = None
    quantity_before: Number = None
    quantity_after: Number = None
    usd_per_hour_before: Number = None
    usd_per_hour_after: Number = None
    value_before_usd: Number = None
    value_after_usd: Number = None
    money_effect_usd: Number = None
    reason: Text = ""


class ReplanContract(_Row):
    """A take-or-pay contract at the as-of date (USD)."""

    contract: Text
    provider: Text
    committed_usd: Number = None
    consumed_usd: Number = None
    remaining_usd: Number = None
    shortfall_p50_usd: Number = None
    at_risk: StrictBool = False


class ReplanPlanSummary(BaseModel):
    """The re-solved plan in brief."""

    model_config = ConfigDict(extra="allow", strict=True)
    status: Text
    total_usd: Number = None


class ReplanDocument(BaseModel):
    """The top level of a replan document."""

    model_config = ConfigDict(extra="forbid", strict=True)

    schema_: Literal["hyperplan.replan/1"] = Field(alias="schema")
    as_of: IsoDate
    demand_ratio: Number = None
    demand_scaled: Text | None = None
    held_commitments: Count = 0
    money_effect_usd: Number = None
    notes: list[Text] = Field(default_factory=list, max_length=10_000)
    warnings: list[Text] = Field(default_factory=list, max_length=10_000)
    changes: list[ReplanChange] = Field(default_factory=list)
    contracts: list[ReplanContract] = Field(default_factory=list)
    plan: ReplanPlanSummary
    plan_document: dict[str, Any] | None = None


def replan_from_dict(data: Any, *, file: str | None = None) -> dict[str, Any]:
    """Validate a replan document; return it as JSON values (the as-of date as text), or
    refuse it with located problems (:class:`InputError`)."""
    check_kind(data, "replan", file=file)
    try:
        doc = ReplanDocument.model_validate(data)
    except PydanticValidationError as exc:
        raise InputError(_pydantic_problems(exc, file)) from None
    out = doc.model_dump(mode="json", by_alias=True)
    out["as_of"] = dt.date.fromisoformat(doc.as_of).isoformat()
    return out


def load_replan_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a replan document file (bounded, typed, located)."""
    return replan_from_dict(read_json_file(path, "replan"), file=str(path))


__all__ = ["REPLAN_SCHEMA", "ReplanDocument", "load_replan_json", "replan_from_dict"]
