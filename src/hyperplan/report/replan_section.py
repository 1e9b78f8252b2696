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

from hyperplan.actuals.replan import DIFF_COLUMNS, SHOWN_COLUMNS, SHOWN_UNITS, replan_summary
from hyperplan.actuals.shape import table_view
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


def replan_view(doc: dict[str, Any]) -> dict[str, Any]:
    """Plain data for the section from a replan document (JSON values)."""
    import pandas as pd

    month = doc["as_of"][:7]
    tables = []
    if doc["changes"]:
        changes = pd.DataFrame(doc["changes"], columns=DIFF_COLUMNS)
        changes.attrs["units"] = SHOWN_UNITS
        title = f"Changes against the adopted plan from {month}"
        tables.append(table_view("changes", title, changes, SHOWN_COLUMNS))
    if doc["contracts"]:
        contracts = pd.DataFrame(doc["contracts"], columns=CONTRACT_COLUMNS)
        contracts.attrs["units"] = {c: "USD" for c in CONTRACT_COLUMNS if c.endswith("_usd")}
        title = "Contracts at the as-of date"
        tables.append(table_view("contracts", title, contracts, CONTRACT_COLUMNS))
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
