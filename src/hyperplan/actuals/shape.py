"""The actuals answers shaped for display: titles, columns with units, formatted cells.

:func:`section_view` turns the tables of :func:`hyperplan.actuals.collect.gather` into plain
data (no HTML) that :func:`hyperplan.report.actuals_section.render_actuals_section` renders.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from hyperplan.actuals.reader import FocusFrame

ROW_LIMIT = 200
"""Rows shown per table in the HTML section (the rest counted; all are in ``--json``)."""


def cell(value: Any) -> str:
    """A value as shown: money-like floats with thousands separators, shares to 4 places,
    NaN as an en dash."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.2f}"
    return "" if value is None else str(value)


def table_view(
    name: str, title: str, df: pd.DataFrame, columns: list[str], *, limit: int = ROW_LIMIT
) -> dict[str, Any]:
    """One table as plain data: name, title, ``columns`` with their unit (``df.attrs["units"]``)
    and a numeric flag (by dtype), the first ``limit`` rows as formatted cells, rows left out."""
    import pandas as pd

    units = df.attrs.get("units", {})
    return {
        "name": name,
        "title": title,
        "columns": [
            {
                "name": c,
                "unit": units.get(c, ""),
                "numeric": bool(pd.api.types.is_numeric_dtype(df[c])),
            }
            for c in columns
        ],
        "rows": [[cell(v) for v in r] for r in df[columns].head(limit).itertuples(index=False)],
        "more": max(len(df) - limit, 0),
    }


def section_view(
    tables: dict[str, pd.DataFrame],
    frame: FocusFrame,
    notes: list[str] | None = None,
    *,
    limit: int = ROW_LIMIT,
) -> dict[str, Any]:
    """Plain data for the HTML section: files, rows, warnings, notes and every non-empty table
    (:func:`table_view`)."""
    from hyperplan.actuals.collect import HIDDEN, TITLES

    out = [
        table_view(
            name,
            TITLES.get(name, name),
            df,
            [c for c in df.columns if c not in HIDDEN.get(name, ())],
            limit=limit,
        )
        for name, df in tables.items()
        if len(df)
    ]
    return {
        "files": [str(f) for f in frame.files],
        "rows": int(frame.rows),
        "warnings": list(frame.warnings),
        "notes": list(notes or []),
        "tables": out,
    }
