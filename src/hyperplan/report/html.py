"""One self-contained, offline HTML report of a plan (plotly.js embedded once, no network).

>>> write_report(plan, "report.html", sim=sim_json, compare=compare_table)  # doctest: +SKIP

Sections: executive summary, capacity, spend, commitments, allocation, resilience (with the
simulated distributions when a simulation is given), negotiation, strategy comparison (when
given), assumptions and data sources. Numbers come from :mod:`hyperplan.report.summary` and
:mod:`hyperplan.report.sections` and are formatted by :mod:`hyperplan.report.fmt`, as in the
terminal; each section is rendered by its function in :mod:`hyperplan.report.render_sections`
from its Jinja2 template (``report/templates``, autoescaped), and the page carries
``report/static/report.css`` and ``report.js`` (which draws the charts once the page is laid
out and keeps them as wide as their boxes). Every chart sits in a ``div.hp-chart`` with a
stable id; the headline figures carry their raw values in ``data-*`` attributes
(``data-total-usd``, ``data-npv-usd``, ``data-max-share``, ``data-peak-mw``, …) so a test can read
them back.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup
from plotly.offline import get_plotlyjs as _get_plotlyjs

from hyperplan.catalog import Catalog
from hyperplan.fileio import write_text_atomic
from hyperplan.plan.api import Plan
from hyperplan.report import render_sections, replan_section
from hyperplan.report.actuals_section import TITLE, render_actuals_section
from hyperplan.report.render import PLOTLY_CONFIG, Doc, render, script_json, static_text

__all__ = ["PLOTLY_CONFIG", "SECTIONS", "get_plotlyjs", "render_report", "write_report"]

#: (id, title) of the sections, in order
SECTIONS = tuple((sid, title) for sid, title, _ in render_sections.SECTIONS)


@functools.cache
def get_plotlyjs() -> str:
    """plotly.js (minified, ~4.7 MB) from the installed plotly package, read once per process."""
    return _get_plotlyjs()


def write_report(
    plan: Plan,
    path: str | Path,
    *,
    sim: Any = None,
    compare: Any = None,
    catalog: Catalog | pd.DataFrame | None = None,
    actuals: dict[str, Any] | None = None,
    replan: dict[str, Any] | None = None,
) -> None:
    """Write the HTML report of ``plan`` to ``path`` atomically (a failure leaves any previous
    file intact).

    Args:
        plan: a solved plan (or one read back with :meth:`Plan.from_json`).
        path: the HTML file to write.
        sim: a simulation result (optional): the dict of a sim.json file, or an object with a
            ``summary()`` DataFrame (metric, unit, mean, p01..p99); see
            :func:`hyperplan.report.sections.sim_view`.
        compare: the strategy table of :func:`hyperplan.plan.compare.compare` (optional).
        catalog: the catalog the plan used, for the source of each offer (default: the bundled
            catalog; offers from the scenario's own CSVs then say so).
        actuals: the bills against the plan (optional): the view of
            :func:`hyperplan.actuals.shape.section_view`, shown before the assumptions.
        replan: what a replan changed (optional): the view of
            :func:`hyperplan.report.replan_section.replan_view`, shown after the summary.
    """
    write_text_atomic(
        path,
        render_report(
            plan, sim=sim, compare=compare, catalog=catalog, actuals=actuals, replan=replan
        ),
    )


def render_report(
    plan: Plan,
    *,
    sim: Any = None,
    compare: Any = None,
    catalog: Catalog | pd.DataFrame | None = None,
    generated: dt.datetime | None = None,
    actuals: dict[str, Any] | None = None,
    replan: dict[str, Any] | None = None,
) -> str:
    """The report as one HTML string (see :func:`write_report`); ``generated`` is the time it
    says it was made (default: now, UTC, to the second)."""
    doc = Doc(plan, sim=sim, compare=compare, catalog=catalog, generated=generated)
    parts = [(sid, title, draw(doc)) for sid, title, draw in render_sections.SECTIONS]
    shown = [(sid, title, part) for sid, title, part in parts if part]
    if actuals is not None:  # before the assumptions, the last section
        shown.insert(len(shown) - 1, ("actuals", TITLE, render_actuals_section(actuals)))
    if replan is not None:  # after the summary: what the re-solved plan is about
        part = replan_section.render_replan_section(replan)
        shown.insert(1, ("replan", replan_section.TITLE, part))
    return render(
        "page.html.j2",
        title=f"{plan.scenario_name}: capacity plan",
        css=Markup(static_text("report.css")),
        plotlyjs=Markup(get_plotlyjs()),
        script=Markup(static_text("report.js")),
        nav=[(sid, title) for sid, title, _ in shown],
        sections=[part for _, _, part in shown],
        data=script_json(json.dumps(headline(doc), allow_nan=False)),
        **render_sections.header(doc),
    )


def headline(doc: Doc) -> dict[str, Any]:
    """The raw headline numbers (also in ``script#hp-data`` as JSON; None when missing), and the
    ids of the charts drawn, in page order."""

    def clean(v: float | None) -> float | None:
        return None if v is None or not math.isfinite(float(v)) else float(v)

    s = doc.s
    worst = s.outage_served()
    return {
        "scenario": doc.plan.scenario_name,
        "status": doc.plan.status,
        "total_usd": clean(s.total_usd),
        "npv_usd": clean(s.npv_usd),
        "max_share": clean(s.max_share),
        "peak_mw": clean(s.peak_mw),
        "target_mw": clean(s.target_mw),
        "spend_per_year": {str(k): clean(v) for k, v in s.spend_per_year.items()},
        "worst_outage_served": clean(worst["served_fraction"].min()) if len(worst) else None,
        "charts": list(doc.chart_ids),
    }
