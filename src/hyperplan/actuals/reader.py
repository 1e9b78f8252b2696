"""Read FOCUS 1.0-1.3 cost-and-usage exports with DuckDB: ``read_focus(paths) -> FocusFrame``.

Accepted inputs: ``.csv``, ``.csv.gz``, ``.parquet`` files and folders of them (partitions, read
recursively). DuckDB scans and types the files in SQL (no Python loop over rows) into one
in-memory table, ``focus``, with hyperplan's columns (see :data:`FOCUS_COLUMNS`) beside the
FOCUS ones it needs and every extra ``x_`` column kept as text.

Quirks of the specification's own example files are accepted: literal ``null`` strings, blank
lines, a byte-order mark, placeholders such as ``<my-commitment-discount-id>``, spreadsheet
money (``"$10,100.00 "``) and US dates (``5/1/25``). Faults are located: a missing mandatory
column is named per file; a value that is not a number (or not a date in ChargePeriodStart) is
reported with its file, data row (1-based, the header and blank lines not counted) and column.
Every such fault raises :class:`~hyperplan.errors.InputError` (exit status 2). Unparseable
``ChargePeriodEnd`` values (the spec's example has ``T30:00:00Z``) are counted as warnings since
no answer depends on them.

Bounds: each file at most :data:`MAX_FILE_BYTES`, at most :data:`MAX_FILES` files; DuckDB runs
with :data:`MEMORY_LIMIT` and spills to a temporary directory beyond it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from hyperplan.actuals.mapping import MAPPABLE, Mapping, mapped_select
from hyperplan.actuals.sql import num_expr, starts_with_digit, ts_expr
from hyperplan.errors import InputError, Problem

MAX_FILE_BYTES = 50 * 1024**3
"""Largest single export file accepted, bytes (50 GiB)."""
MAX_FILES = 100_000
"""Most files accepted in one read (a folder of partitions included)."""
MEMORY_LIMIT = "1500MB"
"""DuckDB's memory limit while reading; beyond it DuckDB spills to a temporary directory."""
MANDATORY = ("ChargePeriodStart", "ChargeCategory", "BilledCost", "EffectiveCost")
"""FOCUS columns without which no answer can be computed: their absence is an error."""
NUMERIC = (
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "ConsumedQuantity",
    "PricingQuantity",
    "CommitmentDiscountQuantity",
)
"""FOCUS columns read as numbers (USD for the costs; the unit column gives the quantity's)."""
TEXT = (
    "ProviderName",
    "ServiceProviderName",
    "PublisherName",
    "BillingCurrency",
    "ChargeCategory",
    "ChargeFrequency",
    "PricingCategory",
    "RegionId",
    "ResourceId",
    "ResourceType",
    "ServiceName",
    "ServiceCategory",
    "SkuId",
    "SkuPriceId",
    "SkuPriceDetails",
    "ConsumedUnit",
    "PricingUnit",
    "CommitmentDiscountId",
    "CommitmentDiscountCategory",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ContractApplied",
)
"""FOCUS columns kept as text (absent ones read as NULL)."""
DATES = ("ChargePeriodStart", "ChargePeriodEnd")
NULL_STRINGS = ["", "null", "NULL", "Null"]
_SUFFIXES = (".csv", ".csv.gz", ".parquet")
KEYS = (
    "_file, _bad, provider, region, charge_category, charge_frequency, pricing_category, market, "
    "commitment_id, commitment_status, commitment_category, billing_currency, instance_type, "
    "gpus_per_instance, consumed_unit, month"
)
"""Columns of table ``focus``: the rows mapped and summed by these keys (the answers need no more)."""
FACTS = f"""
SELECT {KEYS},
    sum(_end_bad) AS end_unreadable_rows,
    sum(_rows) AS rows,
    sum(billed_usd) AS billed_usd,
    sum(effective_usd) AS effective_usd,
    sum(list_usd) AS list_usd,
    sum(contracted_usd) AS contracted_usd,
    sum(consumed_quantity) AS consumed_quantity,
    sum(commitment_quantity) AS commitment_quantity,
    sum(gpu_hours) AS gpu_hours,
    max(coalesce(try_strptime(_max_start, '%Y-%m-%dT%H:%M:%SZ'), {{last}})) AS last_start
FROM focus_pre_mapped GROUP BY ALL
"""
CONTRACTS = """
WITH e AS (
    SELECT _file, strftime(charge_period_start, '%Y-%m') AS month,
        unnest(CAST(json_extract(contract_applied, '$.Elements') AS JSON[])) AS el
    FROM focus_rows WHERE contract_applied IS NOT NULL AND json_valid(contract_applied)
)
SELECT _file, month, json_extract_string(el, '$.ContractId') AS contract_id,
    json_extract_string(el, '$.ContractCommitmentId') AS commitment_id,
    sum(TRY_CAST(json_extract_string(el, '$.ContractCommitmentAppliedCost') AS DOUBLE)) AS usd
FROM e GROUP BY ALL
"""


@dataclass
class FocusFrame:
    """FOCUS rows read into DuckDB, ready for :mod:`hyperplan.actuals.answers`.

    Attributes:
        con: the DuckDB connection holding table ``focus`` (the rows mapped and summed by
            :data:`KEYS`, with ``rows`` = how many FOCUS rows each holds), table
            ``focus_contracts`` (FOCUS 1.3 ContractApplied elements summed by month and
            contract) and view ``focus_rows`` (one mapped row per FOCUS row, x_ columns kept).
        files: files read, in order.
        rows: rows read (blank lines not counted).
        extra_columns: ``x_`` columns found and kept (as text).
        unmapped: rows that map to nothing, by reason: a DataFrame with ``reason``, ``rows``,
            ``effective_usd`` (also in :meth:`warnings`).
        warnings: things read but not fully understood (loud, never silent).
    """

    con: duckdb.DuckDBPyConnection
    files: list[Path]
    rows: int
    extra_columns: list[str] = field(default_factory=list)
    unmapped: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: list[str] = field(default_factory=list)

    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        """Run ``query`` (over table ``focus``) and return a DataFrame."""
        return self.con.execute(query, params or []).df()

    def rows_frame(self, limit: int | None = None) -> pd.DataFrame:
        """One row per FOCUS row, mapped (view ``focus_rows``: re-reads the files; for tests,
        small files and drill-downs; ``limit`` rows at most)."""
        lim = f" LIMIT {int(limit)}" if limit is not None else ""
        return self.sql(f"SELECT * FROM focus_rows{lim}")


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files behind ``paths``: files as given, folders searched recursively for exports.

    Raises InputError for a path that does not exist, is not a regular file or folder, has a
    suffix other than .csv/.csv.gz/.parquet, or is larger than :data:`MAX_FILE_BYTES`.
    """
    problems: list[Problem] = []
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*") if f.is_file() and f.name.lower().endswith(_SUFFIXES)
            )
            if not found:
                problems.append(Problem("folder holds no .csv, .csv.gz or .parquet file", str(p)))
            files.extend(found)
        elif not p.exists():
            problems.append(Problem("no such file or folder", str(p)))
        elif not p.is_file():
            problems.append(Problem("not a regular file (a device, pipe or socket?)", str(p)))
        elif not p.name.lower().endswith(_SUFFIXES):
            problems.append(Problem("expected a .csv, .csv.gz or .parquet FOCUS export", str(p)))
        else:
            files.append(p)
    for f in files:
        if f.is_file() and f.stat().st_size > MAX_FILE_BYTES:
            problems.append(
                Problem(f"larger than the {MAX_FILE_BYTES / 1024**3:.0f} GiB limit", str(f))
            )
    if len(files) > MAX_FILES:
        problems.append(Problem(f"{len(files)} files; at most {MAX_FILES} are read at once"))
    if not files and not problems:
        problems.append(Problem("no FOCUS export given"))
    if problems:
        raise InputError(problems)
    return list(dict.fromkeys(files))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source(path: Path) -> str:
    """A DuckDB table function reading one file, every column as text."""
    if path.name.lower().endswith(".parquet"):
        return f"read_parquet({_lit(str(path))})"
    nulls = ", ".join(_lit(s) for s in NULL_STRINGS)
    return (
        f"read_csv({_lit(str(path))}, header=true, all_varchar=true, nullstr=[{nulls}], "
        "quote='\"', escape='\"')"
    )


_ISO_FAST = "'%Y-%m-%dT%H:%M:%SZ'"


def _keys(mapping: Mapping) -> tuple[list[str], list[str]]:
    """The text columns the rows are summed by, and the ones left out (NULL in the groups)."""
    used = {c for c, _, _ in mapping.rows}
    keys = [
        c
        for c in TEXT
        if c not in ("ContractApplied",)
        and (
            c not in MAPPABLE
            or c in used
            or c in ("SkuId", "ResourceType", "ServiceName", "SkuPriceId")
        )
    ]
    return keys, [c for c in TEXT if c not in keys]


def typed_source(path: Path, present: set[str]) -> str:
    """A DuckDB table function reading one CSV file with its number columns typed DOUBLE and
    its dates TIMESTAMP (ISO 8601 UTC ``YYYY-MM-DDTHH:MM:SSZ``), the rest text: the CSV reader
    parses them in its own pass. Any value it cannot parse makes the read fail (the caller then
    takes the text route, which accepts the quirks and locates the faults)."""
    nulls = ", ".join(_lit(s) for s in NULL_STRINGS)
    types = {c: "DOUBLE" for c in NUMERIC if c in present}
    types.update({c: "TIMESTAMP" for c in DATES if c in present})
    spec = ", ".join(f"{_lit(c)}: {_lit(t)}" for c, t in types.items())
    return (
        f"read_csv({_lit(str(path))}, header=true, all_varchar=true, nullstr=[{nulls}], "
        f"quote='\"', escape='\"', types={{{spec}}}, timestampformat={_ISO_FAST})"
    )


_NUMBER_TYPES = (
    *("DOUBLE", "FLOAT", "REAL", "DECIMAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT"),
    *("UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT", "UHUGEINT"),
)
"""DuckDB types of Parquet columns read as numbers as they are (prefixes: ``DECIMAL(18,6)``)."""
_TIME_TYPES = ("TIMESTAMP", "DATE")


def _parquet_columns(f: Path, present: set[str], types: dict[str, str], keys: list[str]) -> str:
    """Select list of one Parquet file read typed: number columns stored as numbers and times
    stored as TIMESTAMP/DATE (TIMESTAMPTZ in UTC, the session's zone) are taken as they are;
    text ones are parsed with the plain parse only (``TRY_CAST``, ISO 8601 UTC), and ``_fail``
    marks a row where a non-empty text did not parse (the caller then takes the full route)."""
    nulls = ", ".join(_lit(x) for x in NULL_STRINGS)

    def text(c: str) -> str:
        v = f"CAST({_q(c)} AS VARCHAR)"
        return f"(CASE WHEN {v} IN ({nulls}) THEN NULL ELSE {v} END)"

    parts = [f"{_lit(str(f))} AS _file"]
    fails = []
    for c in keys:
        parts.append(f"{text(c)} AS {_q(c)}" if c in present else f"NULL::VARCHAR AS {_q(c)}")
    for c in NUMERIC:
        t = types.get(c, "").upper()
        if c not in present:
            parts.append(f"NULL::DOUBLE AS {_q(c)}")
        elif t.startswith(_NUMBER_TYPES):
            parts.append(f"CAST({_q(c)} AS DOUBLE) AS {_q(c)}")
        else:
            parts.append(f"TRY_CAST({text(c)} AS DOUBLE) AS {_q(c)}")
            fails.append(f"({text(c)} IS NOT NULL AND TRY_CAST({text(c)} AS DOUBLE) IS NULL)")
    for c in DATES:
        t = types.get(c, "").upper()
        if c not in present:
            parts.append(f"NULL::TIMESTAMP AS {_q(c)}")
        elif t.startswith(_TIME_TYPES):
            parts.append(f"CAST({_q(c)} AS TIMESTAMP) AS {_q(c)}")
        else:
            parsed = f"try_strptime({text(c)}, {_ISO_FAST})"
            parts.append(f"{parsed} AS {_q(c)}")
            fails.append(f"({text(c)} IS NOT NULL AND {parsed} IS NULL)")
    parts.append(f"coalesce({' OR '.join(fails)}, false) AS _fail" if fails else "false AS _fail")
    return f"SELECT {', '.join(parts)} FROM read_parquet({_lit(str(f))})"


def _typed_rows(
    columns: dict[Path, list[str]],
    keys: list[str],
    types: dict[Path, dict[str, str]] | None = None,
) -> str:
    """SQL: every file read typed, one ``UNION ALL BY NAME``: ``_file``, the text ``keys``
    (NULL where a file lacks one), :data:`NUMERIC` (DOUBLE), :data:`DATES` (TIMESTAMP) and
    ``_fail`` (a value the plain parse did not read). CSV files through :func:`typed_source`
    (a value it cannot parse fails the read); Parquet files through :func:`_parquet_columns`
    with their column ``types``."""
    selects = []
    for f, cols in columns.items():
        present = set(cols)
        if f.name.lower().endswith(".parquet"):
            selects.append(_parquet_columns(f, present, (types or {}).get(f, {}), keys))
            continue
        parts = [f"{_lit(str(f))} AS _file"]
        for c in keys:
            parts.append(
                f"CAST({_q(c)} AS VARCHAR) AS {_q(c)}"
                if c in present
                else f"NULL::VARCHAR AS {_q(c)}"
            )
        for c in NUMERIC:
            parts.append(_q(c) if c in present else f"NULL::DOUBLE AS {_q(c)}")
        for c in DATES:
            parts.append(_q(c) if c in present else f"NULL::TIMESTAMP AS {_q(c)}")
        parts.append("false AS _fail")
        selects.append(f"SELECT {', '.join(parts)} FROM {typed_source(f, present)}")
    return "\nUNION ALL BY NAME\n".join(selects)


_START = '"ChargePeriodStart"'
_WORD_INSTANTS = "TIMESTAMP '1900-01-01', TIMESTAMP '1970-01-01'"
"""The instants DuckDB's ``strptime`` gives the words ``epoch``/``infinity``/``-infinity``
(1900-01-01 before DuckDB 2.0; ``epoch`` 1970-01-01 from 2.0): a start at one of them takes
the full route, which reads the text (a real 1970-01-01T00:00:00Z is kept there)."""
_FINITE_FAILS = " OR ".join(f"NOT isfinite({_q(c)})" for c in NUMERIC)
_TYPED_SUMS = [
    *(f"sum({_q(c)}) AS {_q(c)}" for c in NUMERIC),
    "count(*) AS _rows",
    f"max({_START}) AS _max_ts",
    # ChargePeriodEnd is read (and so parsed) only to be checked: a bad one fails the read; a
    # start read as a date outside years 1-9999 (-infinity, 10000-01-01), or at an instant
    # DuckDB's strptime gives the words epoch/infinity/-infinity (see starts_with_digit), sends
    # the file to the full query, which reads the text and refuses a word located
    f"count_if(coalesce(year({_START}) NOT BETWEEN 1 AND 9999, true) OR _fail "
    f"OR {_START} IN ({_WORD_INSTANTS}) "
    f"OR coalesce({_FINITE_FAILS}, false)) "
    '+ 0 * count("ChargePeriodEnd") AS _nbad',
]
"""Aggregates of the typed routes: sums (USD, quantities), rows, latest start, rows whose values
the plain parse did not read (``_nbad``: a NULL ChargePeriodStart or one outside years
1-9999, a Parquet text value that did not parse (``_fail``) or a non-finite number)."""


def _typed_tail(keys: list[str], nulls: list[str], month: str) -> list[str]:
    """The select list that shapes typed groups like :func:`pre_aggregate`'s (``month`` is
    the group's first instant of its month, TIMESTAMP)."""
    return [
        "_file",
        *(_q(c) for c in keys),
        *(f"NULL::VARCHAR AS {_q(c)}" for c in nulls),
        f"strftime({month}, '%Y-%m') || '-01T00:00:00Z' AS {_START}",
        'NULL::VARCHAR AS "ChargePeriodEnd"',
        *(_q(c) for c in NUMERIC),
        "_rows",
        "'' AS _bad_cols",
        f"strftime(_max_ts, {_ISO_FAST}) AS _max_start",
        "0 AS _end_bad",
        "_nbad",
    ]


def _present_keys(columns: dict[Path, list[str]], mapping: Mapping) -> tuple[list[str], list[str]]:
    """The key columns some file has (summed by), and the others (NULL in every group)."""
    keys, nulls = _keys(mapping)
    have = {c for cols in columns.values() for c in cols}
    return [c for c in keys if c in have], [c for c in keys if c not in have] + nulls


def typed_pre_aggregate(
    columns: dict[Path, list[str]],
    mapping: Mapping,
    types: dict[Path, dict[str, str]] | None = None,
) -> str:
    """SQL: the same groups as :func:`pre_aggregate` from the files read typed
    (:func:`_typed_rows`: CSV typed by DuckDB's reader, Parquet as stored, ``types`` its column
    types by file): no text-to-number pass. ``_nbad`` counts rows with a value the plain parse
    did not read or a non-finite number (the caller then takes the text route, which reports
    them).

    Only the key columns some file has are grouped by (the others are NULL in every group, added
    after), and the month is ``date_trunc`` of the TIMESTAMP (an integer key; formatted on the
    groups), not a string made per row."""
    keys, nulls = _present_keys(columns, mapping)
    month = f"date_trunc('month', {_START})"
    inner = (
        f"SELECT _file, {''.join(f'{_q(c)}, ' for c in keys)}{month} AS _month, "
        f"{', '.join(_TYPED_SUMS)} FROM ({_typed_rows(columns, keys, types)}) GROUP BY ALL"
    )
    return f"SELECT {', '.join(_typed_tail(keys, nulls, '_month'))} FROM ({inner})"


def pre_aggregate(columns: dict[Path, list[str]], mapping: Mapping) -> str:
    """SQL: FOCUS rows of view ``focus_raw`` summed by their raw text keys (one pass, no mapping).

    The full route: it runs only when the typed one (:func:`typed_pre_aggregate`) met a value
    that its plain parse does not read.

    Keys: the file, the text columns the mapping and the answers read, and the month of
    ChargePeriodStart (``YYYY-MM-01T00:00:00Z`` for ISO UTC text, else the text itself, parsed
    later). Numbers are summed after the fast parse, the slow one (spreadsheet money) only on the
    rows that need it; ``_bad_cols`` names the columns with a value that is not a number or date
    in the group; ``_max_start`` is the latest ChargePeriodStart text; ``_end_bad`` counts
    unreadable ChargePeriodEnd values. Mapping then runs on the groups, not on every row.
    """
    keys, nulls = _keys(mapping)
    start = '"ChargePeriodStart"'
    # _fs: the fast parse (ISO 8601 UTC, validated: hour 30 fails); the month is its first 7
    # characters; other texts are kept whole as the key and parsed on the groups
    iso = "(_fs IS NOT NULL)"
    month_key = f"CASE WHEN {iso} THEN substr({start}, 1, 7) || '-01T00:00:00Z' ELSE {start} END"
    sums = []
    bads = []
    for i, c in enumerate(NUMERIC):
        f, t = f"_f{i}", _q(c)
        sums.append(
            f"sum(CASE WHEN isfinite({f}) THEN {f} WHEN {t} IS NOT NULL THEN {num_expr(t)} END) "
            f"AS {_q(c)}"
        )
        bads.append(
            f"CASE WHEN sum(CASE WHEN {t} IS NOT NULL AND NOT coalesce(isfinite({f}), false) "
            f"THEN (CASE WHEN {num_expr(t)} IS NULL THEN 1 ELSE 0 END) ELSE 0 END) > 0 "
            f"THEN '{c}' END"
        )
    bads.append(
        f"CASE WHEN sum(CASE WHEN NOT {iso} OR {start} IS NULL THEN (CASE WHEN {ts_expr(start)} "
        f"IS NULL THEN 1 ELSE 0 END) ELSE 0 END) > 0 THEN 'ChargePeriodStart' END"
    )
    end = '"ChargePeriodEnd"'
    end_bad = (
        f"sum(CASE WHEN {end} IS NOT NULL AND try_strptime({end}, {_ISO_FAST}) IS NULL "
        f"THEN (CASE WHEN {ts_expr(end)} IS NULL THEN 1 ELSE 0 END) ELSE 0 END)"
    )
    parts = [
        "_file",
        *(_q(c) for c in keys),
        *(f"NULL::VARCHAR AS {_q(c)}" for c in nulls),
        f"{month_key} AS {start}",
        f"NULL::VARCHAR AS {end}",
        *sums,
        "count(*) AS _rows",
        f"concat_ws(',', {', '.join(bads)}) AS _bad_cols",
        f"max({start}) AS _max_start",
        f"{end_bad} AS _end_bad",
    ]
    cast = ", ".join(f"TRY_CAST({_q(c)} AS DOUBLE) AS _f{i}" for i, c in enumerate(NUMERIC))
    # strptime also reads ' 2027-...' (the month key would be its first 7 characters) and the
    # words epoch/infinity: those texts are kept whole and parsed (or refused) on the groups
    fs = f"try_strptime({start}, {_ISO_FAST})"
    cast += f", CASE WHEN {starts_with_digit(start)} AND isfinite({fs}) THEN {fs} END AS _fs"
    return f"SELECT {', '.join(parts)} FROM (SELECT *, {cast} FROM focus_raw) GROUP BY ALL"


def read_focus(
    paths: list[str | Path] | str | Path,
    mapping: Mapping | None = None,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> FocusFrame:
    """Read FOCUS exports into DuckDB table ``focus`` and map rows to hyperplan's world.

    Args:
        paths: files (.csv, .csv.gz, .parquet) or folders of them.
        mapping: user mapping for offers the export does not name (:func:`load_mapping`).
        con: a DuckDB connection to use (default: a new in-memory one).

    Raises:
        InputError: a path is not a readable export, a mandatory column is missing, or a value is
            not a number/date: each fault located by file, row and column.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    files = expand_paths(list(paths))
    mapping = mapping or Mapping()
    con = con or duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET enable_progress_bar=false")
    con.execute("SET preserve_insertion_order=false")
    con.execute(f"SET memory_limit='{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory={_lit(tempfile.gettempdir())}")
    problems: list[Problem] = []
    columns: dict[Path, list[str]] = {}
    for f in files:  # one header sniff per file (not per row)
        try:
            cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {_source(f)}").fetchall()]
        except duckdb.Error as exc:
            problems.append(Problem(f"not a readable FOCUS export: {_first_line(exc)}", str(f)))
            continue
        cols = [c.lstrip("\ufeff") for c in cols]
        missing = [c for c in MANDATORY if c not in cols]
        if missing:
            problems.append(
                Problem(
                    "missing mandatory FOCUS column(s): "
                    + ", ".join(missing)
                    + f" (found {len(cols)} columns: {', '.join(cols[:8])}{', ...' if len(cols) > 8 else ''})",
                    str(f),
                    line=1,
                )
            )
        columns[f] = cols
    if problems:
        raise InputError(problems)
    extra = sorted({c for cols in columns.values() for c in cols if c.startswith("x_")})
    wanted = [*dict.fromkeys([*MANDATORY, *DATES, *NUMERIC, *TEXT])]
    selects = []
    for f, cols in columns.items():
        present = set(cols)
        parts = [f"{_lit(str(f))} AS _file"]
        parquet = f.name.lower().endswith(".parquet")
        for c in [*wanted, *extra]:
            if parquet and c in present:  # the CSV reader's null strings, for Parquet too
                v = f"CAST({_q(c)} AS VARCHAR)"
                nulls = ", ".join(_lit(x) for x in NULL_STRINGS)
                parts.append(f"CASE WHEN {v} IN ({nulls}) THEN NULL ELSE {v} END AS {_q(c)}")
                continue
            parts.append(
                f"CAST({_q(c)} AS VARCHAR) AS {_q(c)}"
                if c in present
                else f"NULL::VARCHAR AS {_q(c)}"
            )
        selects.append(f"SELECT {', '.join(parts)} FROM {_source(f)}")
    raw = "\nUNION ALL BY NAME\n".join(selects)
    con.execute("DROP TABLE IF EXISTS focus")
    con.execute("DROP TABLE IF EXISTS focus_contracts")
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW focus_raw AS {raw}")
        con.execute(
            "CREATE OR REPLACE TEMP VIEW focus_rows AS "
            + mapped_select("focus_raw", extra, mapping, con)
        )
        # the plain parse first (CSV: typed by the reader); the full one (spreadsheet money,
        # US dates, located faults) only when some value needs it
        if _fast_groups(con, columns, mapping):
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW focus_pre AS {pre_aggregate(columns, mapping)}"
            )
        else:
            con.execute(
                "CREATE OR REPLACE TEMP VIEW focus_pre AS SELECT * EXCLUDE (_nbad) "
                "FROM focus_pre_fast"
            )
        con.execute(
            "CREATE OR REPLACE TEMP VIEW focus_pre_mapped AS "
            + mapped_select("focus_pre", [], mapping, con, pre=True)
        )
        con.execute(f"CREATE TABLE focus AS {FACTS.replace('{last}', ts_expr('_max_start'))}")
        if any("ContractApplied" in cols for cols in columns.values()):
            con.execute(f"CREATE TABLE focus_contracts AS {CONTRACTS}")
        else:
            con.execute(
                "CREATE TABLE focus_contracts (_file VARCHAR, month VARCHAR, contract_id VARCHAR, "
                "commitment_id VARCHAR, usd DOUBLE)"
            )
    except duckdb.Error as exc:
        raise InputError(
            [Problem(f"cannot read the FOCUS export(s): {_first_line(exc)}")]
        ) from None
    _check_values(con, columns, problems)
    if problems:
        con.execute("DROP TABLE IF EXISTS focus")
        raise InputError(problems)
    rows = int(con.execute("SELECT coalesce(sum(rows), 0) FROM focus").fetchone()[0])
    frame = FocusFrame(con=con, files=files, rows=rows, extra_columns=extra)
    frame.unmapped = _unmapped(con)
    frame.warnings = _warnings(con, frame.unmapped)
    return frame


def _fast_groups(
    con: duckdb.DuckDBPyConnection, columns: dict[Path, list[str]], mapping: Mapping
) -> bool:
    """Table ``focus_pre_fast`` from the plain parse; True when some value needs the full one.

    The files are read typed (:func:`typed_pre_aggregate`): CSV by DuckDB's CSV reader (a value
    it cannot parse fails the read: the full route runs), Parquet with the types it stores
    (text columns parsed plainly; a value that does not parse counts in ``_nbad``)."""
    types = {
        f: {
            str(r[0]): str(r[1])
            for r in con.execute(f"DESCRIBE SELECT * FROM {_source(f)}").fetchall()
        }
        for f in columns
        if f.name.lower().endswith(".parquet")
    }
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE focus_pre_fast AS "
            + typed_pre_aggregate(columns, mapping, types)
        )
    except duckdb.Error:
        return True
    return bool(con.execute("SELECT coalesce(sum(_nbad), 0) FROM focus_pre_fast").fetchone()[0])


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


def _check_values(
    con: duckdb.DuckDBPyConnection, columns: dict[Path, list[str]], problems: list[Problem]
) -> None:
    """Locate values that are not numbers/dates: file, data row, column (first 20 faults)."""
    bad = con.execute(
        "SELECT _file, sum(rows) FROM focus WHERE _bad <> '' GROUP BY _file ORDER BY _file"
    ).fetchall()
    for file, _ in bad:
        f = Path(file)
        checks = [
            (c, "a number (found %s)", f"{_q(c)} IS NOT NULL AND {num_expr(_q(c))} IS NULL")
            for c in NUMERIC
            if c in columns[f]
        ] + [
            (
                "ChargePeriodStart",
                "an ISO 8601 date-time (found %s)",
                f"{ts_expr(chr(34) + 'ChargePeriodStart' + chr(34))} IS NULL",
            )
        ]
        cases = ", ".join(
            f"CASE WHEN {e} THEN coalesce({_q(c)}, '<empty>') END AS {_q(c)}" for c, _, e in checks
        )
        hits = con.execute(
            f"SELECT * FROM (SELECT row_number() OVER () AS _row, {cases} FROM {_source(f)}) "
            f"WHERE {' OR '.join(f'{_q(c)} IS NOT NULL' for c, _, _ in checks)} ORDER BY _row LIMIT 20"
        ).fetchall()
        for hit in hits:
            row = int(hit[0])
            for (c, what, _), value in zip(checks, hit[1:], strict=True):
                if value is not None:
                    problems.append(
                        Problem(f"expected {what % repr(value)[:60]}", str(f), line=row + 1, path=c)
                    )
        n = con.execute(
            f"SELECT count(*) FROM {_source(f)} WHERE {' OR '.join(f'({e})' for _, _, e in checks)}"
        ).fetchone()[0]
        if n > len(hits):
            problems.append(Problem(f"{n} rows with bad values in all (first 20 shown)", str(f)))


def _unmapped(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows that map to nothing, by reason (counts and EffectiveCost, USD)."""
    df = con.execute(
        """
        SELECT reason, sum(n)::BIGINT AS rows, coalesce(sum(effective_usd), 0) AS effective_usd FROM (
            SELECT 'provider not recognised' AS reason, rows AS n, effective_usd FROM focus
                WHERE provider IS NULL
            UNION ALL
            SELECT 'usage row without a known GPU offer' AS reason, rows, effective_usd
                FROM focus WHERE charge_category = 'Usage' AND gpus_per_instance IS NULL
            UNION ALL
            SELECT 'PricingCategory not Standard/Committed/Dynamic' AS reason, rows,
                effective_usd FROM focus WHERE charge_category = 'Usage' AND market IS NULL
        ) GROUP BY reason ORDER BY reason
        """
    ).df()
    df.attrs["units"] = {"rows": "rows", "effective_usd": "USD (EffectiveCost)"}
    return df


def _warnings(con: duckdb.DuckDBPyConnection, unmapped: pd.DataFrame) -> list[str]:
    out = [
        f"{int(r.rows)} row(s) ({r.effective_usd:,.2f} USD EffectiveCost): {r.reason}"
        for r in unmapped.itertuples()
    ]
    n_end = con.execute("SELECT coalesce(sum(end_unreadable_rows), 0) FROM focus").fetchone()[0]
    if n_end:
        out.append(f"{n_end} row(s) with an unreadable ChargePeriodEnd (kept; not used)")
    cur = con.execute(
        "SELECT DISTINCT billing_currency FROM focus WHERE billing_currency IS NOT NULL "
        "AND upper(billing_currency) <> 'USD'"
    ).fetchall()
    if cur:
        out.append(
            "BillingCurrency other than USD ("
            + ", ".join(sorted(str(c[0]) for c in cur))
            + "): costs are summed as given, not converted"
        )
    return out
