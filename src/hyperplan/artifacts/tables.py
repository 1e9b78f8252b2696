"""Tables of plan.json: their serialization and stage 4 checks (columns, values, references)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError as PydanticValidationError

from hyperplan.artifacts.models import PlanMeta, TableModel, _iso_date
from hyperplan.artifacts.problems import _Problems, _pydantic_problems
from hyperplan.catalog.market_caps import MARKETS
from hyperplan.errors import InputError

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
        "unit": S,
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
        "route": S,
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
    "perf": {"workload": S, "offer_id": S, "perf": F, "estimated": B, "unit": S},
    "commitments": {
        "provider": S,
        "region": S,
        "instance_type": S,
        "accelerator": S,
        "term_years": I,
        "commitment": S,
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
        "accelerator": S,
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
        "accelerator": S,
        "market": S,
        "period": S,
        "period_index": I,
        "instances": F,
        "gpus": F,
        "served": F,
        "unit": S,
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
    "unserved": {"workload": S, "scenario": S, "period": S, "amount": F, "unit": S},
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
    "outage_mix": {
        "workload": S,
        "scenario": S,
        "required_fraction": F,
        "reserved_fraction": F,
        "ondemand_fraction": F,
        "spot_fraction": F,
        "unserved_fraction": F,
        "ondemand_usd_per_hour": F,
        "spot_usd_per_hour": F,
        "expected_burst_usd": F,
    },
    "routes": {
        "workload": S,
        "kind": S,
        "route": S,
        "period": S,
        "period_index": I,
        "served": F,
        "share": F,
        "instances": F,
        "gpus": F,
        "usd": F,
        "usd_per_gpu_hour": F,
        "usd_per_million_tokens": F,
        "unit": S,
    },
    "owned_builds": {
        "site": S,
        "offer_id": S,
        "decision": S,
        "decision_index": I,
        "first_power": S,
        "first_power_index": I,
        "servers": F,
        "gpus": F,
        "mw": F,
        "facility_capex_usd": F,
        "hardware_capex_usd": F,
        "capex_usd": F,
        "fixed_usd_per_year": F,
        "in_horizon_usd": F,
        "facility_capex_year": I,
        "hardware_capex_year": I,
    },
    "owned_capex": {"site": S, "year": I, "facility_usd": F, "hardware_usd": F, "capex_usd": F},
    "break_even": {
        "route": S,
        "offer_id": S,
        "provider": S,
        "workload": S,
        "accelerator": S,
        "usd_per_hour": F,
        "usd_per_gpu_hour": F,
        "usd_per_million_tokens": F,
        "input_tokens_per_output": F,
        "capex_usd_per_server": F,
        "fixed_usd_per_server_year": F,
        "electricity_usd_per_hour": F,
        "lead_periods": F,
        "alternative_offer_id": S,
        "alternative_usd_per_gpu_hour": F,
        "reserved_usd_per_gpu_hour": F,
        "alternative_usd_per_million_tokens": F,
        "break_even_utilisation": F,
        "break_even_usd_per_hour": F,
        "built_servers": F,
        "utilisation": F,
        "rent_wins_below_usd_per_gpu_hour": F,
        "entry_usd_per_hour": F,
        "entry_hardware_usd_per_accelerator": F,
        "served_share": F,
        "marginal_usd_per_million_tokens": F,
        "basis": S,
    },
    "liability": {
        "provider": S,
        "commitments": I,
        "in_horizon_usd": F,
        "in_horizon_usd_discounted": F,
        "post_horizon_usd": F,
        "post_horizon_usd_discounted": F,
        "salvage_usd_discounted": F,
        "charged_usd_discounted": F,
    },
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
    "offers": {"gpus": "nonneg", "vcpus": "optional", "kw_facility": "nonneg"},
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
    "optional": "a finite number ≥ 0 (or nan: not known)",
    "finite": "a finite number",
    "fraction": "a number between 0 and 1",
}
PERIOD_TABLES = ("workloads", "markets", "capacity", "allocation", "spend")
KINDS = ("inference", "training", "agents", "batch")


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


def _check_tables(raw: dict[str, TableModel], out: _Problems) -> None:
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
            elif rule in ("price", "optional"):
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
    wl = tables.get("workloads")
    if (
        len(starts) == T + 1
        and wl is not None
        and len(wl)
        and {"hours", "period_index"} <= set(wl.columns)
        and pd.api.types.is_integer_dtype(wl["period_index"])
        and pd.api.types.is_numeric_dtype(wl["hours"])
    ):
        # a period's hours are the calendar hours between its start and the next (timeline)
        calendar = np.diff([d.toordinal() for d in starts]) * 24.0
        t = wl["period_index"].to_numpy()
        inside = (t >= 0) & (t < T)
        expect = np.where(inside, calendar[np.clip(t, 0, T - 1)], np.nan)
        h = wl["hours"].to_numpy(dtype=float)
        bad = inside & ~(np.abs(h - expect) <= 1e-6 * np.maximum(expect, 1.0))
        out.rows("workloads", "hours", bad, h, "the period's calendar hours (meta.period_starts)")
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
