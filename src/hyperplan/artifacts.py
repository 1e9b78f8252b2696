"""plan.json and sim.json: writing them, and reading them back when they may come from someone else.

Reading is in four stages, each of which refuses with located problems (:class:`InputError`, exit
status 2) rather than a traceback:

1. **The file**: a regular file (no FIFO, device or directory) of at most :func:`max_bytes` bytes
   (``$HYPERPLAN_MAX_ARTIFACT_BYTES``, default 256 MiB), checked before a byte is parsed; UTF-8;
   JSON (a syntax error gives its line and column; nesting deeper than Python's recursion
   limit and integers longer than 4,300 digits are refused).
2. **The kind**: the ``schema`` key says what the file is (``hyperplan.plan/1``,
   ``hyperplan.sim/1``); a scenario YAML or the other kind of artifact says what was expected.
3. **The schema**: a pydantic model of the envelope, of ``meta`` and of every table's columns and
   dtypes (``{"dtype": "float", "values": [...]}``); a fault is named by its JSON path, e.g.
   ``tables.commitments[3].gpus``.
4. **The meaning**: each table the simulator and the report read has its columns with the
   expected dtypes, the same number of rows in every column, quantities finite and ≥ 0, period
   indices inside the horizon and offers that exist; then the planner's own independent check
   (:func:`hyperplan.plan.verify.verify`) must pass: a plan whose capacities disagree with its
   commitments is refused with the violated check named.

The serialization of tables (``_table_to_json`` / ``table_from_json``) lives here too.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
)
from pydantic import ValidationError as PydanticValidationError

from hyperplan.errors import InputError, Problem

if TYPE_CHECKING:
    from hyperplan.plan.api import Plan

PLAN_SCHEMA = "hyperplan.plan/1"
SIM_SCHEMA = "hyperplan.sim/1"
MAX_BYTES_ENV = "HYPERPLAN_MAX_ARTIFACT_BYTES"
MAX_BYTES = 256 * 2**20
"""Default size limit of a plan.json or sim.json, bytes (256 MiB; frontier-2030's plan is 0.7 MB)."""
MAX_PROBLEMS = 50
"""At most this many problems are listed (the count says how many more were found)."""
MAX_OUTAGE_RATE = 8760.0
"""Outages per year above which a failure domain is refused (more than one an hour on average)."""

Kind = Literal["plan", "sim"]
_WHAT = {
    "plan": f"a plan.json ({PLAN_SCHEMA}) written by `hyperplan plan -o`",
    "sim": f"a sim.json ({SIM_SCHEMA}) written by `hyperplan simulate -o`",
}


def max_bytes() -> int:
    """The size limit of a plan.json or sim.json, bytes (``$HYPERPLAN_MAX_ARTIFACT_BYTES``)."""
    text = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not text:
        return MAX_BYTES
    try:
        value = int(float(text))
    except ValueError:
        value = -1
    if value <= 0:
        raise InputError(
            [Problem(f"must be a positive number of bytes; found {text!r}", path=MAX_BYTES_ENV)]
        )
    return value


# ----------------------------------------------------------------------------------------------
# Stage 1 and 2: the file and its kind
# ----------------------------------------------------------------------------------------------


def read_json_file(path: str | os.PathLike[str], expect: Kind) -> dict[str, Any]:
    """Parse ``path`` as the JSON of a ``expect`` artifact; refuse anything else, located.

    Returns the top-level object, whose ``schema`` is the expected one.
    """
    file = str(path)
    p = Path(path)
    limit = max_bytes()

    def refuse(message: str, **where: Any) -> InputError:
        return InputError([Problem(message, file=file, **where)])

    try:
        st = p.stat()
    except FileNotFoundError:
        raise refuse("no such file") from None
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise refuse(f"is a directory; expected {_WHAT[expect]}")
    if not stat.S_ISREG(st.st_mode):
        raise refuse(f"is not a regular file (a FIFO, socket or device); expected {_WHAT[expect]}")
    if st.st_size > limit:
        raise refuse(
            f"is {st.st_size:,} bytes, above the limit of {limit:,} bytes for {_WHAT[expect]} "
            f"(raise ${MAX_BYTES_ENV} to read it)"
        )
    if p.suffix.lower() in (".yaml", ".yml"):
        raise refuse(f"is a scenario (YAML); expected {_WHAT[expect]}")
    try:
        with p.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:  # grew while we looked
        raise refuse(f"is above the limit of {limit:,} bytes for {_WHAT[expect]}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"is not UTF-8 text (byte {exc.start}); expected {_WHAT[expect]}") from None
    if not text.strip():
        raise refuse(f"is empty; expected {_WHAT[expect]}")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        if text.lstrip()[:1] not in ("{", "["):
            hint = f" (this does not look like JSON; expected {_WHAT[expect]})"
        raise refuse(f"invalid JSON: {exc.msg}{hint}", line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise refuse("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise refuse(f"invalid JSON: {exc}") from None
    check_kind(obj, expect, file=file)
    return obj


def check_kind(obj: Any, expect: Kind, *, file: str | None = None) -> None:
    """Refuse ``obj`` unless it is a JSON object whose ``schema`` is the ``expect`` artifact's."""
    want = PLAN_SCHEMA if expect == "plan" else SIM_SCHEMA
    if not isinstance(obj, dict):
        found = _json_type(obj)
        raise InputError(
            [Problem(f"expected {_WHAT[expect]}, a JSON object; found {found}", file=file)]
        )
    schema = obj.get("schema")
    if schema == want:
        return
    other: Kind = "sim" if expect == "plan" else "plan"
    if schema == (SIM_SCHEMA if other == "sim" else PLAN_SCHEMA):
        raise InputError(
            [Problem(f"this is {_WHAT[other]}; expected {_WHAT[expect]}", file=file, path="schema")]
        )
    found = "no 'schema' key" if "schema" not in obj else f"schema {_short(schema)}"
    raise InputError(
        [Problem(f"expected {_WHAT[expect]}; found {found}", file=file, path="schema")]
    )


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"{str(v).lower()} (a boolean)"
    if isinstance(v, int | float):
        return f"the number {_short(v)}"
    if isinstance(v, str):
        return f"the string {_short(v)}"
    if isinstance(v, list):
        return f"a list of {len(v)} item{'s' if len(v) != 1 else ''}"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _short(v: Any, most: int = 40) -> str:
    if isinstance(v, np.generic):
        v = v.item()
    text = f"{v:.6g}" if isinstance(v, float) else repr(v)
    return text if len(text) <= most else text[: most - 1] + "…"


# ----------------------------------------------------------------------------------------------
# Stage 3: the schema (pydantic)
# ----------------------------------------------------------------------------------------------

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
    _iso_date(v)
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


# ----------------------------------------------------------------------------------------------
# Stage 4: the meaning of each table
# ----------------------------------------------------------------------------------------------

F, I, B, S, D = "float", "int", "bool", "str", "date"
OFFER_KEY = ("provider", "region", "instance_type")
TABLES: dict[str, dict[str, str]] = {
    "workloads": {
        "workload": S,
        "kind": S,
        "period": S,
        "period_index": I,
        "hours": F,
        "demand": F,
        "compute_gpu_hours": F,
        "in_window": B,
        "resilience": F,
        "priority": I,
        "preemptible": B,
    },
    "offers": {
        "offer_id": S,
        "provider": S,
        "region": S,
        "instance_type": S,
        "accelerator": S,
        "gpus": F,
        "vcpus": F,
        "kw_facility": F,
        "site": S,
    },
    "markets": {
        "offer_id": S,
        "period_index": I,
        "ondemand_usd_per_hour": F,
        "spot_usd_per_hour": F,
        "ondemand_cap": F,
        "spot_cap": F,
        "existing_instances": F,
    },
    "perf": {"workload": S, "offer_id": S, "perf": F},
    "commitments": {
        "provider": S,
        "region": S,
        "instance_type": S,
        "accelerator": S,
        "term_years": I,
        "start": S,
        "start_index": I,
        "instances": F,
        "gpus": F,
        "usd_per_hour": F,
        "contract_value_usd": F,
        "in_horizon_usd": F,
    },
    "capacity": {
        "provider": S,
        "region": S,
        "instance_type": S,
        "period": S,
        "period_index": I,
        "reserved_instances": F,
        "ondemand_instances": F,
        "spot_instances": F,
        "gpus": F,
        "mw": F,
    },
    "allocation": {
        "workload": S,
        "kind": S,
        "provider": S,
        "region": S,
        "instance_type": S,
        "market": S,
        "period": S,
        "period_index": I,
        "instances": F,
        "gpus": F,
        "served": F,
    },
    "spend": {
        "provider": S,
        "market": S,
        "period": S,
        "period_index": I,
        "year": I,
        "usd": F,
        "usd_discounted": F,
    },
    "resilience": {
        "workload": S,
        "scenario": S,
        "required_fraction": F,
        "served_fraction": F,
        "met": B,
    },
    "unserved": {"workload": S, "scenario": S, "period": S, "amount": F},
}
"""Tables every plan.json has, with the columns (and dtypes) the simulator, report and check read."""

OPTIONAL_TABLES: dict[str, dict[str, str]] = {
    "shadow_prices": {"workload": S, "period": S, "usd_per_unit_hour": F, "unit": S},
    "entry_prices": {
        "provider": S,
        "region": S,
        "instance_type": S,
        "term_years": I,
        "usd_per_hour": F,
        "entry_usd_per_hour": F,
        "cut_fraction": F,
    },
    "policies": {"policy": S, "subject": S, "period": S, "marginal_usd": F, "per": S},
    "walk_away": {"provider": S, "status": S, "walk_away_usd": F},
}
"""Tables a plan.json may have; when present, these columns must be."""

OPTIONAL_COLUMNS = {"commitments": {"first_period_index": I, "periods_covered": I, "start_date": D}}
"""Columns older plans lack; checked when present."""

# value rules: (table, column) -> rule; "nonneg": finite and >= 0, "cap": >= 0 or inf,
# "price": >= 0 or NaN (not sold), "finite": any finite number, "fraction": in [0, 1]
VALUE_RULES: dict[str, dict[str, str]] = {
    "workloads": {
        "hours": "positive",
        "demand": "nonneg",
        "compute_gpu_hours": "nonneg",
        "resilience": "fraction",
    },
    "offers": {"gpus": "nonneg", "vcpus": "nonneg", "kw_facility": "nonneg"},
    "markets": {
        "ondemand_usd_per_hour": "price",
        "spot_usd_per_hour": "price",
        "ondemand_cap": "cap",
        "spot_cap": "cap",
        "existing_instances": "nonneg",
    },
    "perf": {"perf": "nonneg"},
    "commitments": {
        "term_years": "nonneg",
        "instances": "nonneg",
        "gpus": "nonneg",
        "usd_per_hour": "nonneg",
        "contract_value_usd": "finite",
        "in_horizon_usd": "finite",
        "periods_covered": "nonneg",
    },
    "capacity": {
        "reserved_instances": "nonneg",
        "ondemand_instances": "nonneg",
        "spot_instances": "nonneg",
        "gpus": "nonneg",
        "mw": "nonneg",
    },
    "allocation": {"instances": "nonneg", "gpus": "nonneg", "served": "nonneg"},
    "spend": {"usd": "finite", "usd_discounted": "finite"},
    "resilience": {"required_fraction": "finite", "served_fraction": "finite"},
    "unserved": {"amount": "nonneg"},
}
_RULE_TEXT = {
    "nonneg": "a finite number ≥ 0",
    "positive": "a finite number > 0",
    "cap": "a number ≥ 0 (or inf: no cap)",
    "price": "a finite number ≥ 0 (or nan: not sold)",
    "finite": "a finite number",
    "fraction": "a number between 0 and 1",
}
PERIOD_TABLES = ("workloads", "markets", "capacity", "allocation", "spend")
KINDS = ("inference", "training", "agents", "batch")
MARKETS = ("reserved", "ondemand", "spot")


class _Problems:
    """Collects located problems of one file, at most :data:`MAX_PROBLEMS` of them."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.items: list[Problem] = []
        self.more = 0

    def add(self, message: str, path: str = "") -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(message, file=self.file, path=path))
        else:
            self.more += 1

    def rows(self, table: str, column: str, bad: np.ndarray, found: Sequence[Any], what: str):
        """One problem per bad row (the first few), located ``tables.T[i].C``."""
        idx = np.flatnonzero(bad)
        for i in idx[:5]:
            self.add(f"expected {what}; found {_short(found[i])}", f"tables.{table}[{i}].{column}")
        if len(idx) > 5:
            self.add(f"… and {len(idx) - 5} more rows like these", f"tables.{table}[*].{column}")

    def raise_if_any(self) -> None:
        if self.items:
            if self.more:
                self.items.append(
                    Problem(f"… and {self.more} more problems", file=self.file, path="")
                )
            raise InputError(list(self.items))


def _loc_path(loc: Iterable[Any]) -> str:
    """pydantic's ``loc`` as a JSON path; a table cell as ``tables.T[row].column``."""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "tables":
        table = parts[1]
        rest = parts[2:]
        if len(rest) >= 2 and rest[0] == "columns":
            column = rest[1]
            tail = rest[2:]
            if tail and tail[0] in ("float", "int", "bool", "date", "str"):
                tail = tail[1:]  # the union's tag
            if len(tail) >= 2 and tail[0] == "values" and isinstance(tail[1], int):
                return f"tables.{table}[{tail[1]}].{column}"
            return _join(["tables", table, column, *tail])
        return _join(["tables", table, *rest])
    return _join(parts)


def _join(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and "function-after" in p:
            continue
        else:
            out += ("." if out else "") + str(p)
    return out


def _pydantic_problems(exc: PydanticValidationError, file: str | None, prefix: str = "") -> list:
    problems = []
    seen = set()
    for e in exc.errors(include_url=False):
        loc = _loc_path(e["loc"])
        path = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
        # a discriminated union reports the tag it expected; keep one message per path
        msg = str(e["msg"]).removeprefix("Value error, ")
        if e["type"] == "union_tag_invalid":
            msg = "expected dtype float, int, bool, date or str"
        elif e["type"] in ("union_tag_not_found",):
            msg = "missing 'dtype' (float, int, bool, date or str)"
        elif e["type"] == "missing":
            msg = "missing (required)"
        elif e["type"] == "extra_forbidden":
            msg = "unknown key"
        found = e.get("input")
        if e["type"] not in ("missing", "extra_forbidden") and not isinstance(found, dict | list):
            msg = f"{msg}; found {_json_type(found)}"
        key = (path, msg)
        if key in seen:
            continue
        seen.add(key)
        problems.append(Problem(msg, file=file, path=path))
        if len(problems) >= MAX_PROBLEMS:
            break
    return problems


def _column_array(col: Any) -> np.ndarray:
    """A validated column's values as a numpy array of its dtype."""
    values = col.values
    if col.dtype == "float":
        return np.array([math.nan if v is None else float(v) for v in values], dtype=float)
    if col.dtype == "int":
        return np.array(values, dtype=np.int64)
    if col.dtype == "bool":
        return np.array(values, dtype=bool)
    if col.dtype == "date":
        return np.array([_iso_date(v) for v in values], dtype=object)
    return np.array(values, dtype=object)


def table_from_json(t: dict[str, Any]) -> pd.DataFrame:
    """A table of plan.json (``{"units", "columns": {name: {"dtype", "values"}}}``) as a frame.

    Raises :class:`InputError` (located ``tables.<name>...``) on a malformed table.
    """
    try:
        model = TableModel.model_validate(t)
    except PydanticValidationError as exc:
        raise InputError(_pydantic_problems(exc, None, "table")) from None
    return _frame_of(model)


def _frame_of(model: TableModel) -> pd.DataFrame:
    df = pd.DataFrame({name: _column_array(col) for name, col in model.columns.items()})
    df.attrs["units"] = dict(model.units)
    return df


def table_to_json(df: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame as a plan.json table: ``{"units", "columns": {name: {"dtype", "values"}}}``."""
    columns = {}
    for name in df.columns:
        col = df[name]
        is_date = col.dtype == object and len(col) > 0 and hasattr(col.iloc[0], "isoformat")
        if pd.api.types.is_datetime64_any_dtype(col) or is_date:
            columns[name] = {"dtype": "date", "values": [str(v) for v in col]}
        elif pd.api.types.is_bool_dtype(col):
            columns[name] = {"dtype": "bool", "values": [bool(v) for v in col]}
        elif pd.api.types.is_integer_dtype(col):
            columns[name] = {"dtype": "int", "values": [int(v) for v in col]}
        elif pd.api.types.is_float_dtype(col):
            columns[name] = {"dtype": "float", "values": [json_number(float(v)) for v in col]}
        else:
            columns[name] = {"dtype": "str", "values": [str(v) for v in col]}
    return {"units": df.attrs.get("units", {}), "columns": columns}


def json_number(v: Any) -> Any:
    """A number for JSON: non-finite floats as the strings ``nan``, ``inf``, ``-inf``."""
    if isinstance(v, float | np.floating) and not math.isfinite(float(v)):
        return str(float(v))
    if isinstance(v, np.generic):
        return v.item()
    return v


def number_from_json(v: Any) -> Any:
    """Inverse of :func:`json_number`."""
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return v


def _check_tables(
    raw: dict[str, TableModel], frames: dict[str, pd.DataFrame], T: int, out: _Problems
) -> None:
    """Required tables and columns, dtypes, equal column lengths (ragged tables)."""
    for name, model in raw.items():
        lengths = {c: len(col.values) for c, col in model.columns.items()}
        if len(set(lengths.values())) > 1:
            common = max(set(lengths.values()), key=list(lengths.values()).count)
            for c, n in lengths.items():
                if n != common:
                    out.add(
                        f"has {n} values; the table's other columns have {common}",
                        f"tables.{name}.{c}",
                    )
    for name, spec in {**TABLES, **OPTIONAL_TABLES}.items():
        model = raw.get(name)
        if model is None:
            if name in TABLES:
                out.add("missing table", f"tables.{name}")
            continue
        rows = max((len(c.values) for c in model.columns.values()), default=0)
        extra = OPTIONAL_COLUMNS.get(name, {})
        for column, dtype in {**spec, **extra}.items():
            col = model.columns.get(column)
            if col is None:
                if column in spec:
                    out.add(f"missing column (dtype {dtype})", f"tables.{name}.{column}")
                continue
            if rows and col.dtype != dtype:
                out.add(f"expected dtype {dtype}; found {col.dtype}", f"tables.{name}.{column}")


def _check_values(frames: dict[str, pd.DataFrame], T: int, out: _Problems) -> None:
    """Value ranges of quantities, period indices inside the horizon, enumerations."""
    for name, rules in VALUE_RULES.items():
        df = frames.get(name)
        if df is None or not len(df):
            continue
        for column, rule in rules.items():
            if column not in df.columns or not pd.api.types.is_numeric_dtype(df[column]):
                continue
            v = df[column].to_numpy(dtype=float)
            if rule == "nonneg":
                ok = np.isfinite(v) & (v >= 0)
            elif rule == "positive":
                ok = np.isfinite(v) & (v > 0)
            elif rule == "cap":
                ok = ~np.isnan(v) & (v >= 0)
            elif rule == "price":
                ok = np.isnan(v) | (np.isfinite(v) & (v >= 0))
            elif rule == "fraction":
                ok = (v >= 0) & (v <= 1)
            else:
                ok = np.isfinite(v)
            out.rows(name, column, ~ok, df[column].to_numpy(), _RULE_TEXT[rule])
    for name in PERIOD_TABLES:
        df = frames.get(name)
        if df is None or not len(df) or "period_index" not in df.columns:
            continue
        if not pd.api.types.is_integer_dtype(df["period_index"]):
            continue
        v = df["period_index"].to_numpy()
        out.rows(name, "period_index", (v < 0) | (v >= T), v, f"a period index 0 … {T - 1}")
    com = frames.get("commitments")
    if com is not None and len(com):
        for column in ("start_index", "first_period_index"):
            if column in com.columns and pd.api.types.is_integer_dtype(com[column]):
                v = com[column].to_numpy()
                # a commitment may start before the horizon ends and serve after it (lead time)
                out.rows("commitments", column, v < 0, v, "an index ≥ 0")
    for name, column, allowed in (
        ("workloads", "kind", KINDS),
        ("allocation", "kind", KINDS),
        ("allocation", "market", MARKETS),
    ):
        df = frames.get(name)
        if df is None or not len(df) or column not in df.columns:
            continue
        v = df[column].astype(str).to_numpy()
        out.rows(name, column, ~np.isin(v, allowed), v, "one of " + ", ".join(allowed))


def _check_references(frames: dict[str, pd.DataFrame], T: int, out: _Problems) -> None:
    """Offers and workloads named by the tables exist; keys are unique; every period is there."""
    offers = frames.get("offers")
    if offers is None or not {"offer_id", *OFFER_KEY} <= set(offers.columns):
        return
    ids = offers["offer_id"].astype(str)
    dup = ids.duplicated().to_numpy()
    out.rows("offers", "offer_id", dup, ids.to_numpy(), "a unique offer id")
    keys = offers["provider"].astype(str) + ":" + offers["region"].astype(str)
    keys = keys + ":" + offers["instance_type"].astype(str)
    # offer_id is provider:region:instance_type by definition (catalog.offers)
    out.rows(
        "offers",
        "offer_id",
        (ids != keys).to_numpy(),
        ids.to_numpy(),
        "provider:region:instance_type of the same row",
    )
    dup_keys = keys.duplicated().to_numpy() & ~dup
    out.rows(
        "offers", "instance_type", dup_keys, keys.to_numpy(), "one offer per provider:region:type"
    )
    known_ids = set(ids)
    known_keys = set(keys)
    for name in ("markets", "perf"):
        df = frames.get(name)
        if df is not None and len(df) and "offer_id" in df.columns:
            v = df["offer_id"].astype(str).to_numpy()
            out.rows(name, "offer_id", ~np.isin(v, list(known_ids)), v, "an offer of tables.offers")
    for name in ("commitments", "capacity", "allocation", "entry_prices"):
        df = frames.get(name)
        if df is None or not len(df) or not set(OFFER_KEY) <= set(df.columns):
            continue
        k = (
            df["provider"].astype(str)
            + ":"
            + df["region"].astype(str)
            + ":"
            + df["instance_type"].astype(str)
        ).to_numpy()
        out.rows(
            name, "instance_type", ~np.isin(k, list(known_keys)), k, "an offer of tables.offers"
        )
    wl = frames.get("workloads")
    if wl is None or not len(wl) or "workload" not in wl.columns:
        return
    names = set(wl["workload"].astype(str))
    for name in ("perf", "allocation"):
        df = frames.get(name)
        if df is not None and len(df) and "workload" in df.columns:
            v = df["workload"].astype(str).to_numpy()
            out.rows(
                name, "workload", ~np.isin(v, list(names)), v, "a workload of tables.workloads"
            )
    if "period_index" in wl.columns and pd.api.types.is_integer_dtype(wl["period_index"]):
        have = set(wl["period_index"].tolist())
        missing = sorted(set(range(T)) - have)
        if missing:
            out.add(
                f"has no row for period index {missing[0]}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                + f"; expected rows for every period 0 … {T - 1}",
                "tables.workloads.period_index",
            )


def _check_meta(meta: PlanMeta, tables: dict[str, pd.DataFrame], out: _Problems) -> None:
    T = len(meta.periods)
    if len(meta.period_starts) != T + 1:
        out.add(
            f"has {len(meta.period_starts)} dates; expected {T + 1} (one per period in "
            "meta.periods, and the end)",
            "meta.period_starts",
        )
    starts = meta.period_starts
    for i in range(1, len(starts)):
        if starts[i] <= starts[i - 1]:
            out.add(
                f"expected a date after {starts[i - 1]}; found {starts[i]}",
                f"meta.period_starts[{i}]",
            )
            break
    lim = meta.limits
    for site, values in lim.site_power_mw.items():
        if len(values) != T:
            out.add(
                f"has {len(values)} values; expected {T} (one per period)",
                f"meta.limits.site_power_mw.{site}",
            )
    if lim.total_power_mw and len(lim.total_power_mw) != T:
        out.add(
            f"has {len(lim.total_power_mw)} values; expected {T} (one per period)",
            "meta.limits.total_power_mw",
        )
    com = tables.get("commitments")
    if com is not None and len(com) and "first_period_index" not in com.columns:
        terms = {int(k) for k in lim.terms_periods}
        if "term_years" in com.columns and pd.api.types.is_integer_dtype(com["term_years"]):
            v = com["term_years"].to_numpy()
            out.rows(
                "commitments",
                "term_years",
                ~np.isin(v, list(terms)),
                v,
                "a term of meta.limits.terms_periods",
            )


def _check_scenario(meta: dict[str, Any], file: str | None) -> list[Problem]:
    scenario = meta.get("scenario")
    if not scenario:
        return []
    from hyperplan.scenario.schema import Scenario

    try:
        Scenario.model_validate(scenario)
    except PydanticValidationError as exc:
        return _pydantic_problems(exc, file, "meta.scenario")
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        return [Problem(f"not a valid scenario: {exc}", file=file, path="meta.scenario")]
    return []


def _named_check(message: str) -> str:
    """Which of the independent check's rules a violation message breaks."""
    text = message.lower()
    for words, name in (
        ("reserved capacity of", "capacity = existing + commitments"),
        (" use of ", "allocations fit capacity and market caps"),
        ("runs outside its window", "training inside its window"),
        ("training ", "training gets its compute"),
        ("served ", "demand served or reported unserved"),
        ("max_share", "provider share caps"),
        (" mw ", "power caps"),
        ("budget", "yearly budgets"),
        ("spend reported", "spend = allocations and commitments priced"),
    ):
        if words in f" {text} ":
            return name
    return "plan check"


def plan_from_dict(data: Any, *, file: str | None = None, check: bool = True) -> Plan:
    """Validate a plan.json object (stages 2-4) and build the :class:`Plan`.

    Args:
        data: the parsed JSON.
        file: its path, for the problems' location.
        check: also run the planner's independent check (:func:`hyperplan.plan.verify.verify`).

    Raises:
        InputError: located problems (JSON paths such as ``tables.commitments[3].gpus``).
    """
    from hyperplan.plan.api import Plan

    check_kind(data, "plan", file=file)
    try:
        env = PlanEnvelope.model_validate(data)
    except PydanticValidationError as exc:
        raise InputError(_pydantic_problems(exc, file)) from None
    try:
        meta = PlanMeta.model_validate(env.meta)
    except PydanticValidationError as exc:
        raise InputError(_pydantic_problems(exc, file, "meta")) from None
    out = _Problems(file)
    for path in _huge_ints(env.meta, "meta"):
        out.add("expected a number of at most 2**63 - 1 in size", path)
    T = len(meta.periods)
    _check_tables(env.tables, {}, T, out)
    out.raise_if_any()
    frames = {name: _frame_of(model) for name, model in env.tables.items()}
    _check_values(frames, T, out)
    _check_meta(meta, frames, out)
    _check_references(frames, T, out)
    for p in _check_scenario(env.meta, file):
        out.add(p.message, p.path)
    out.raise_if_any()
    plan = Plan(
        scenario_name=env.scenario,
        status=env.status,
        objective_usd=number_from_json(env.objective_usd),
        tables=frames,
        stats={k: number_from_json(v) for k, v in env.stats.items()},
        warnings=list(env.warnings),
        meta=dict(env.meta),
    )
    if check:
        reverify(plan, file=file)
    return plan


def reverify(plan: Plan, *, file: str | None = None) -> None:
    """Run the planner's independent check on a loaded plan; refuse it when a rule is broken."""
    from hyperplan.plan.verify import verify

    violations = verify(plan)
    if violations:
        problems = [
            Problem(f"fails the planner's check '{_named_check(v)}': {v}", file=file, path="tables")
            for v in violations[:MAX_PROBLEMS]
        ]
        if len(violations) > MAX_PROBLEMS:
            problems.append(
                Problem(f"… and {len(violations) - MAX_PROBLEMS} more violations", file=file)
            )
        raise InputError(problems)


def load_plan_json(path: str | os.PathLike[str], *, check: bool = True) -> Plan:
    """Read and validate a plan.json (all four stages); see the module docstring."""
    data = read_json_file(path, "plan")
    return plan_from_dict(data, file=str(path), check=check)


# ----------------------------------------------------------------------------------------------
# sim.json
# ----------------------------------------------------------------------------------------------


class SimSummaryRow(BaseModel):
    """One row of sim.json's ``summary``: a metric's distribution."""

    model_config = ConfigDict(extra="forbid", strict=True)

    metric: StrictStr = Field(min_length=1)
    unit: StrictStr = ""
    trials: Annotated[StrictInt, Field(ge=0)] | None = None
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
    trials: Annotated[StrictInt, Field(ge=0)] | None = None
    years: Num = None
    step_hours: Num = None
    steps: Annotated[StrictInt, Field(ge=0)] | None = None
    pools: Annotated[StrictInt, Field(ge=0)] | None = None
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


def sim_from_dict(data: Any, *, file: str | None = None) -> dict[str, Any]:
    """Validate a sim.json object; return it (non-finite numbers as floats), or refuse, located."""
    check_kind(data, "sim", file=file)
    try:
        env = SimEnvelope.model_validate(data)
    except PydanticValidationError as exc:
        raise InputError(_pydantic_problems(exc, file)) from None
    out = _Problems(file)
    lengths = {k: len(v) for k, v in env.trials.items()}
    if len(set(lengths.values())) > 1:
        common = max(set(lengths.values()), key=list(lengths.values()).count)
        for k, n in lengths.items():
            if n != common:
                out.add(f"has {n} trials; the other metrics have {common}", f"trials.{k}")
    n_trials = next(iter(lengths.values()), None)
    if env.meta.trials is not None and n_trials is not None and n_trials != env.meta.trials:
        out.add(f"says {env.meta.trials} trials; the metrics have {n_trials}", "meta.trials")
    if not env.summary:
        out.add("expected one row per metric; found none", "summary")
    seen: set[str] = set()
    for i, row in enumerate(env.summary):
        if row.metric in seen:
            out.add(f"metric {_short(row.metric)} appears twice", f"summary[{i}].metric")
        seen.add(row.metric)
    out.raise_if_any()
    for path in _huge_ints(data.get("meta"), "meta"):
        out.add("expected a number of at most 2**63 - 1 in size", path)
    out.raise_if_any()
    clean = dict(data)
    clean["summary"] = [
        {k: number_from_json(v) for k, v in row.model_dump().items()} for row in env.summary
    ]
    clean["trials"] = {
        k: [math.nan if v is None else float(number_from_json(v)) for v in vals]
        for k, vals in env.trials.items()
    }
    return clean


def _huge_ints(obj: Any, path: str) -> list[str]:
    """JSON paths of integers beyond 64 bits in ``obj`` (pandas and numpy cannot hold them)."""
    found: list[str] = []
    stack = [(obj, path)]
    while stack and len(found) < 5:
        value, where = stack.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and abs(value) > 2**63 - 1:
            found.append(where)
        elif isinstance(value, dict):
            stack.extend((v, f"{where}.{k}") for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
    return found


def load_sim_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a sim.json (bounded, typed, located)."""
    data = read_json_file(path, "sim")
    return sim_from_dict(data, file=str(path))
