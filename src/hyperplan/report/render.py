"""The HTML report's rendering machinery: Jinja2 templates with autoescaping, the static CSS and
JS, and the document state the section renderers share (:class:`Doc`).

Templates live in ``hyperplan/report/templates`` (one per section, plus the page, the chart
figure and shared macros) and the style and behaviour in ``hyperplan/report/static``; both are
package files, read with :mod:`importlib.resources`. Every ``{{ value }}`` is escaped the way
:func:`html.escape` does (``&quot;`` and ``&#x27;`` included) unless it is already markup
(:class:`markupsafe.Markup`: a rendered template, a chart, or JSON made safe for a script by
:func:`script_json`).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2
import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup
from plotly.io.json import to_json_plotly

from hyperplan.catalog import Catalog
from hyperplan.plan.api import Plan
from hyperplan.report import charts
from hyperplan.report import sections as sec
from hyperplan.report.summary import Summary, summarize

#: the plotly.js configuration of every chart (``Plotly.newPlot``'s fourth argument)
PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

#: height of a chart whose figure sets none (CSS px)
DEFAULT_HEIGHT = 360


@dataclass(frozen=True)
class Cell:
    """A table cell with markup around its text (a plain ``str`` cell is just escaped text).

    ``kind``: ``"bad"`` or ``"ok"`` (a coloured ``span``, with a ``title`` tooltip when given),
    ``"i"`` (italic), ``"flag"`` (an *estimated* flag before the text).
    """

    text: str
    kind: str
    title: str | None = None


def _finalize(value: object) -> object:
    """Every printed value: markup as it is, None as nothing, anything else escaped like
    :func:`html.escape` (Jinja's own escaping writes ``&#34;``; the report always wrote
    ``&quot;`` and its tests read that)."""
    if value is None:
        return ""
    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape(str(value), quote=True))


@functools.cache
def environment() -> jinja2.Environment:
    """The report's Jinja2 environment (templates from the package, autoescaped, strict)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hyperplan.report", "templates"),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.tests["cell"] = lambda value: isinstance(value, Cell)
    return env


def render(template: str, **context: Any) -> Markup:
    """``template`` (a file name under ``templates/``) rendered with ``context``."""
    return Markup(environment().get_template(template).render(**context))


@functools.cache
def static_text(name: str) -> str:
    """A file of ``hyperplan/report/static`` (``report.css``, ``report.js``) as text."""
    return resources.files("hyperplan.report").joinpath("static", name).read_text(encoding="utf-8")


def script_json(text: str) -> Markup:
    """JSON text made safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` as ``\\u``
    escapes (the same value once parsed), so no ``</script>`` can end the element early."""
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def raw_number(value: float | None) -> str:
    """A number for a data attribute: repr of the float ('nan', 'inf' when not finite)."""
    if value is None:
        return ""
    return repr(float(value))


class Doc:
    """What every section renderer reads: the plan, its summary, the simulation and comparison
    (when given), the catalog's offers, the provider colours, and the charts drawn so far (their
    ids, in page order, unique)."""

    def __init__(
        self,
        plan: Plan,
        *,
        sim: Any = None,
        compare: Any = None,
        catalog: Catalog | pd.DataFrame | None = None,
        generated: dt.datetime | None = None,
    ) -> None:
        self.plan = plan
        self.s: Summary = summarize(plan)
        self.sim = sec.sim_view(sim)
        self.compare = sec.compare_table(compare)
        if isinstance(catalog, Catalog):
            self.catalog_offers: pd.DataFrame | None = catalog.offers
        else:
            self.catalog_offers = catalog
        self.generated = generated or dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.providers = sec.providers(plan)
        self.colors = charts.colors_for(self.providers)
        self.chart_ids: list[str] = []

    def chart(self, chart_id: str, fig: go.Figure, caption: str = "") -> Markup:
        """A plotly figure inside ``div.hp-chart#chart_id`` (see :func:`chart_html`), its id
        registered in page order; an id used twice is an error."""
        if chart_id in self.chart_ids:
            raise ValueError(f"duplicate chart id {chart_id}")
        self.chart_ids.append(chart_id)
        return chart_html(chart_id, fig, caption)


def chart_html(chart_id: str, fig: go.Figure, caption: str = "") -> Markup:
    """A plotly figure inside ``div.hp-chart#chart_id``, in a box of the figure's height (CSS
    px), drawn by ``report.js`` once the page is laid out (plotly.js is in the page head);
    ``caption`` is plain text. The figure's JSON is plotly's own (``to_json_plotly``, the same
    bytes ``plotly.io.to_html`` writes), made safe for a script."""
    figure = fig.to_dict()  # validated: a go.Figure checks its properties when built
    layout = figure.get("layout", {})
    height = layout.get("height") or DEFAULT_HEIGHT
    return render(
        "chart.html.j2",
        chart_id=chart_id,
        plot_id=script_json(json.dumps(f"{chart_id}-plot")),
        height=int(height),
        data=script_json(to_json_plotly(figure.get("data", []))),
        layout=script_json(to_json_plotly(layout)),
        config=script_json(json.dumps(PLOTLY_CONFIG)),
        caption=caption,
    )
