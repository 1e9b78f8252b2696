"""The replan section of the HTML report: the diff against the adopted plan, rendered from a
replan document (``hyperplan.replan/1``) by its Jinja2 template (autoescaped).

``replan_view(doc)`` shapes a validated document (:func:`hyperplan.artifacts.replan.
replan_from_dict`, or :meth:`hyperplan.actuals.replan.Replan.to_json`) into plain data:
the summary sentence, notes and warnings, the changes with their reason and money effect
(USD, whole-term value), and the contracts at the as-of date. :func:`hyperplan.report.html.
render_report` places the section (``replan=view``) after the plan's summary: it is what the
re-solved plan is about.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from hyperplan.actuals.replan import SHOWN_COLUMNS, SHOWN_UNITS, replan_summary
from hyperplan.actuals.shape import ROW_LIMIT, cell
from hyperplan.report.render import render

TEMPLATE = "replan.html.j2"
"""The template's file name under ``hyperplan/report/templates``."""

TITLE = "Re-plan"
"""The section's title in the report's navigation."""

CONTRACT_COLUMNS = [
    "contract",
    "provider",
    "committed_usd",
    "consumed_usd",
    "remaining_usd",
    "shortfall_p50_usd",
    "at_risk",
]
"""The contracts table's columns (money in USD)."""


def _table(
    title: str, rows: list[dict[str, Any]], columns: list[str], units: dict[str, str]
) -> dict[str, Any]:
    numeric = {c for c in columns if c in units or c.endswith("_usd") or c == "term_years"}
    return {
        "title": title,
        "columns": [
            {
                "name": c,
                "unit": units.get(c, "USD" if c.endswith("_usd") else ""),
                "numeric": c in numeric,
            }
            for c in columns
        ],
        "rows": [[cell(r.get(c)) for c in columns] for r in rows[:ROW_LIMIT]],
        "more": max(len(rows) - ROW_LIMIT, 0),
    }


def replan_view(doc: dict[str, Any]) -> dict[str, Any]:
    """Plain data for the section from a replan document (JSON values)."""
    month = doc["as_of"][:7]
    tables = []
    if doc["changes"]:
        tables.append(
            _table(
                f"Changes against the adopted plan from {month}",
                doc["changes"],
                SHOWN_COLUMNS,
                SHOWN_UNITS,
            )
        )
    if doc["contracts"]:
        tables.append(_table("Contracts at the as-of date", doc["contracts"], CONTRACT_COLUMNS, {}))
    return {
        "as_of": month,
        "summary": replan_summary(doc),
        "unchanged": not doc["changes"],
        "notes": list(doc["notes"]),
        "warnings": list(doc["warnings"]),
        "tables": tables,
    }


def render_replan_section(view: dict[str, Any]) -> Markup:
    """The ``<section id="replan">`` fragment for ``view`` (see :func:`replan_view`)."""
    return render(TEMPLATE, view=view)
