"""Map FOCUS rows to hyperplan's world, in SQL: provider, region, offer, market, GPU-hours.

- provider: ``ServiceProviderName`` (FOCUS 1.3) else ``ProviderName``, normalised to the
  catalog's keys (``Amazon Web Services`` → ``aws``, ``Microsoft`` → ``azure``, ...);
- region: ``RegionId`` as given;
- offer (instance type): the user mapping first (a CSV ``column,value,instance_type`` such as
  ``SkuId,VM_LARGE,p5.48xlarge``), then ``SkuPriceDetails`` keys ``InstanceType`` /
  ``x_InstanceType``, then ``ResourceType`` or ``SkuId`` when it is a catalog instance type;
- market: ``PricingCategory`` Standard = ondemand, Committed = reserved, Dynamic = spot;
- GPU-hours: ``ConsumedQuantity`` (unit Hour/Hours) × accelerators per instance (catalog).

Rows that map to nothing stay in the table with NULL keys and are counted by the reader.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from hyperplan.errors import InputError, Problem

PROVIDER_ALIASES = {
    "aws": "aws",
    "amazon": "aws",
    "amazon web services": "aws",
    "amazon web services, inc.": "aws",
    "microsoft": "azure",
    "azure": "azure",
    "microsoft azure": "azure",
    "google": "gcp",
    "google cloud": "gcp",
    "google cloud platform": "gcp",
    "gcp": "gcp",
    "oracle": "oci",
    "oci": "oci",
    "oracle cloud": "oci",
    "oracle cloud infrastructure": "oci",
    "lambda": "lambda",
    "lambda labs": "lambda",
    "nebius": "nebius",
}
"""Lower-cased FOCUS provider names → catalog provider keys."""
MARKETS = {"standard": "ondemand", "committed": "reserved", "dynamic": "spot"}
"""FOCUS PricingCategory (lower case) → hyperplan market."""
HOUR_UNITS = ("hour", "hours", "hr", "hrs", "instance-hour", "instance-hours", "instance hours")
"""ConsumedUnit values (lower case) read as instance-hours."""
MAPPABLE = ("SkuId", "SkuPriceId", "ResourceType", "ResourceId", "ServiceName")
"""Columns a user mapping may match on."""


@dataclass
class Mapping:
    """User mapping of FOCUS values to instance types: rows of (column, value, instance_type)."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["column", "value", "instance_type"], dtype=str)


def load_mapping(path: str | Path) -> Mapping:
    """A mapping CSV with header ``column,value,instance_type`` (located errors, exit 2)."""
    p = Path(path)
    if not p.is_file():
        raise InputError([Problem("no such mapping file (or not a regular file)", str(p))])
    if p.stat().st_size > 10 * 1024**2:
        raise InputError([Problem("a mapping file is at most 10 MiB", str(p))])
    problems: list[Problem] = []
    rows: list[tuple[str, str, str]] = []
    with p.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        need = {"column", "value", "instance_type"}
        if not reader.fieldnames or not need <= set(reader.fieldnames):
            raise InputError(
                [
                    Problem(
                        f"expected the header column,value,instance_type; found {reader.fieldnames}",
                        str(p),
                        1,
                    )
                ]
            )
        for i, r in enumerate(reader, start=2):
            col = (r["column"] or "").strip()
            if col not in MAPPABLE:
                problems.append(
                    Problem(
                        f"expected one of {', '.join(MAPPABLE)}; found {col!r}",
                        str(p),
                        i,
                        path="column",
                    )
                )
                continue
            if not (r["value"] or "").strip() or not (r["instance_type"] or "").strip():
                problems.append(Problem("value and instance_type must not be empty", str(p), i))
                continue
            rows.append((col, r["value"].strip(), r["instance_type"].strip()))
    if problems:
        raise InputError(problems)
    return Mapping(rows)


def catalog_gpus() -> pd.DataFrame:
    """(provider, instance_type, gpus) of every catalog offer, one row per pair."""
    from hyperplan.catalog import load_catalog

    off = load_catalog().offers
    df = (
        off[["provider", "instance_type", "accelerators"]]
        .astype({"provider": str, "instance_type": str, "accelerators": float})
        .drop_duplicates(["provider", "instance_type"])
        .rename(columns={"accelerators": "gpus"})
        .reset_index(drop=True)
    )
    return df


def _case_map(expr: str, table: dict[str, str]) -> str:
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in sorted(table.items()))
    return f"(CASE lower(trim({expr})) {whens} END)"


def mapped_select(
    view: str,
    extra: list[str],
    mapping: Mapping,
    con: duckdb.DuckDBPyConnection,
    *,
    pre: bool = False,
) -> str:
    """SQL selecting typed, mapped rows from ``view`` (raw text columns of FOCUS).

    With ``pre``, ``view`` is :func:`hyperplan.actuals.reader.pre_aggregate` output (the same
    column names, numbers already summed, plus ``_rows``, ``_bad_cols``, ``_max_start``,
    ``_end_bad``), carried through; faults then come from ``_bad_cols``.
    """
    from hyperplan.actuals.sql import num_expr, ts_expr

    cat = catalog_gpus()
    # plain INSERTs, not con.register(DataFrame): works with every DuckDB and pandas release
    con.execute(
        "CREATE OR REPLACE TEMP TABLE hp_catalog (provider VARCHAR, instance_type VARCHAR, "
        "gpus DOUBLE)"
    )
    con.executemany(
        "INSERT INTO hp_catalog VALUES (?, ?, ?)",
        [(str(p), str(i), float(g)) for p, i, g in cat.itertuples(index=False)],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE hp_catalog_it AS SELECT instance_type, any_value(gpus) AS gpus "
        "FROM hp_catalog GROUP BY instance_type HAVING count(DISTINCT gpus) = 1"
    )
    con.execute(
        'CREATE OR REPLACE TEMP TABLE hp_mapping ("column" VARCHAR, value VARCHAR, '
        "instance_type VARCHAR)"
    )
    first = {(c, v): it for c, v, it in reversed(mapping.rows)}  # the first row of a key wins
    if first:
        con.executemany(
            "INSERT INTO hp_mapping VALUES (?, ?, ?)", [(c, v, it) for (c, v), it in first.items()]
        )
    used = sorted({c for c, _, _ in mapping.rows})
    provider_names = sorted(set(cat["provider"]))
    aliases = {**{p: p for p in provider_names}, **PROVIDER_ALIASES}
    prov = _case_map('coalesce(r."ServiceProviderName", r."ProviderName")', aliases)
    joins = "\n".join(
        f'LEFT JOIN hp_mapping m{i} ON m{i}."column" = \'{c}\' AND m{i}.value = r."{c}"'
        for i, c in enumerate(used)
    )
    user_it = ", ".join(f"m{i}.instance_type" for i in range(len(used)))
    spd = 'r."SkuPriceDetails"'
    json_it = (
        f"(CASE WHEN json_valid({spd}) THEN coalesce(json_extract_string({spd}, '$.InstanceType'), "
        f"json_extract_string({spd}, '$.x_InstanceType')) END)"
    )
    it_parts = [p for p in (user_it, json_it) if p]
    cat_it = (
        '(CASE WHEN r."ResourceType" IN (SELECT instance_type FROM hp_catalog) THEN r."ResourceType" '
        'WHEN r."SkuId" IN (SELECT instance_type FROM hp_catalog) THEN r."SkuId" END)'
    )
    if pre:
        extra = ["_rows", "_bad_cols", "_max_start", "_end_bad"]
    extra_cols = "".join(f', r."{c}"' for c in extra)
    nums = {
        "billed_usd": "BilledCost",
        "effective_usd": "EffectiveCost",
        "list_usd": "ListCost",
        "contracted_usd": "ContractedCost",
        "consumed_quantity": "ConsumedQuantity",
        "pricing_quantity": "PricingQuantity",
        "commitment_quantity": "CommitmentDiscountQuantity",
    }
    # fast paths first (a plain number, an ISO 8601 UTC time); the slow parsers run only on the
    # rows the fast path could not read (CASE evaluates a branch for its rows alone)
    fast_nums = ",\n".join(
        f'TRY_CAST(r."{src}" AS DOUBLE) AS _f_{dst}, r."{src}" AS _t_{dst}'
        for dst, src in nums.items()
    )
    slow_nums = ",\n".join(
        f"CASE WHEN isfinite(y._f_{dst}) THEN y._f_{dst} WHEN y._t_{dst} IS NOT NULL "
        f"THEN {num_expr(f'y._t_{dst}')} END AS {dst}"
        for dst in nums
    )
    fast_ts = ",\n".join(
        f'try_strptime(r."{src}", \'%Y-%m-%dT%H:%M:%SZ\') AS _f_{dst}, r."{src}" AS _t_{dst}'
        for dst, src in (
            ("charge_period_start", "ChargePeriodStart"),
            ("charge_period_end", "ChargePeriodEnd"),
        )
    )
    slow_ts = ",\n".join(
        f"CASE WHEN y._f_{dst} IS NOT NULL THEN y._f_{dst} WHEN y._t_{dst} IS NOT NULL "
        f"THEN {ts_expr(f'y._t_{dst}')} END AS {dst}"
        for dst in ("charge_period_start", "charge_period_end")
    )
    inner = f"""
    SELECT y._file, y.provider, y.region, y.charge_category, y.charge_frequency,
        y.pricing_category, y.market, y.consumed_unit, y.sku_id, y.resource_id, y.resource_type,
        y.service_name, y.commitment_id, y.commitment_status, y.commitment_category,
        y.commitment_unit, y.contract_applied, y.billing_currency, y.instance_type,
        y._t_charge_period_end AS end_text,
        {slow_nums},
        {slow_ts},
        concat_ws(',', {{bad}}) AS _bad
        {extra_cols.replace('r."', 'y."')}
    FROM (
    SELECT r._file,
        {prov} AS provider,
        r."RegionId" AS region,
        r."ChargeCategory" AS charge_category,
        r."ChargeFrequency" AS charge_frequency,
        r."PricingCategory" AS pricing_category,
        {_case_map('r."PricingCategory"', MARKETS)} AS market,
        {fast_nums},
        {fast_ts},
        r."ConsumedUnit" AS consumed_unit,
        r."SkuId" AS sku_id,
        r."ResourceId" AS resource_id,
        r."ResourceType" AS resource_type,
        r."ServiceName" AS service_name,
        r."CommitmentDiscountId" AS commitment_id,
        r."CommitmentDiscountStatus" AS commitment_status,
        r."CommitmentDiscountCategory" AS commitment_category,
        r."CommitmentDiscountUnit" AS commitment_unit,
        r."ContractApplied" AS contract_applied,
        r."BillingCurrency" AS billing_currency,
        coalesce({", ".join([*it_parts, cat_it])}) AS instance_type
        {extra_cols}
    FROM {view} r
    {joins}
    ) y
    """
    # nested CASEs: the slow parser runs only on rows the fast path could not read
    bad = ", ".join(
        f"CASE WHEN y._t_{dst} IS NOT NULL AND NOT coalesce(isfinite(y._f_{dst}), false) "
        f"THEN (CASE WHEN {num_expr(f'y._t_{dst}')} IS NULL THEN '{src}' END) END"
        for dst, src in nums.items()
    )
    bad += (
        ", CASE WHEN y._f_charge_period_start IS NULL THEN (CASE WHEN "
        + ts_expr("y._t_charge_period_start")
        + " IS NULL THEN 'ChargePeriodStart' END) END"
    )
    if pre:
        bad = "y._bad_cols"
    inner = inner.replace("{bad}", bad)
    hours = ", ".join(f"'{u}'" for u in HOUR_UNITS)
    return f"""
    SELECT x.*,
        strftime(x.charge_period_start, '%Y-%m') AS month,
        coalesce(cp.gpus, ci.gpus) AS gpus_per_instance,
        CASE WHEN x.charge_category = 'Usage' AND lower(trim(x.consumed_unit)) IN ({hours})
            THEN coalesce(x.consumed_quantity, 0) * coalesce(cp.gpus, ci.gpus, 0) ELSE 0 END
            AS gpu_hours
    FROM ({inner}) x
    LEFT JOIN hp_catalog cp ON cp.provider = x.provider AND cp.instance_type = x.instance_type
    LEFT JOIN hp_catalog_it ci ON x.provider IS NULL AND ci.instance_type = x.instance_type
    """
