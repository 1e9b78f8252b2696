"""DuckDB SQL expressions that parse FOCUS text columns (shared by the reader and the mapping)."""

from __future__ import annotations


def num_expr(col: str) -> str:
    """SQL: text → DOUBLE; also spreadsheet money ``$10,100.00``; NULL when not a finite number."""
    x = f"trim(CAST({col} AS VARCHAR))"
    plain = f"TRY_CAST({x} AS DOUBLE)"
    money = (
        f"CASE WHEN regexp_full_match({x}, '-?\\$?[0-9]{{1,3}}(,[0-9]{{3}})*(\\.[0-9]*)?|-?\\$[0-9]*\\.?[0-9]+') "
        f"THEN TRY_CAST(replace(replace({x}, '$', ''), ',', '') AS DOUBLE) END"
    )
    v = f"(CASE WHEN {plain} IS NOT NULL THEN {plain} ELSE {money} END)"
    return f"(CASE WHEN isfinite({v}) THEN {v} END)"


def starts_with_digit(text: str) -> str:
    """SQL: true when ``text`` begins with 0-9. DuckDB's date parsers also take the words
    ``epoch``, ``infinity`` and ``-infinity`` (any case, even through ``strptime`` with a numeric
    format): before DuckDB 2.0 ``strptime`` reads all three as 1900-01-01, from 2.0 as
    1970-01-01 and ±infinity; none of them is a billing date."""
    return f"(ascii({text}) BETWEEN 48 AND 57)"


def ts_expr(col: str) -> str:
    """SQL: text → TIMESTAMP (UTC): ISO 8601 with or without offset, or US ``M/D/YY``; NULL
    (not a date) unless it starts with a digit and its year is 1-9999, the years Python's
    datetime holds: DuckDB also reads ``epoch``, ``-infinity`` and years such as 10000 or
    -1000, which later failed in ``to_pydatetime`` as an internal error (a 500 on the server)
    or passed as a wrong month, instead of a located error."""
    x = f"trim(CAST({col} AS VARCHAR))"
    ts = (
        f"(CASE WHEN regexp_full_match({x}, '[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{2}}([0-9]{{2}})?') "
        f"THEN try_strptime({x}, ['%m/%d/%y', '%m/%d/%Y']) "
        f"ELSE CAST(TRY_CAST({x} AS TIMESTAMPTZ) AS TIMESTAMP) END)"
    )
    return f"(CASE WHEN {starts_with_digit(x)} AND year({ts}) BETWEEN 1 AND 9999 THEN {ts} END)"
