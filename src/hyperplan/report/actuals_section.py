"""The actuals section of the HTML report, rendered from its Jinja2 template (autoescaped).

``render_actuals_section(view)`` takes the plain data of
:func:`hyperplan.actuals.shape.section_view` and returns the ``<section id="actuals">``
fragment; every text from the bills (file names, commitment ids, warnings) is escaped by the
template. :func:`hyperplan.report.html.render_report` places it (``actuals=view``) with the
report's other sections, in its navigation.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from hyperplan.report.render import render

TEMPLATE = "actuals.html.j2"
"""The template's file name under ``hyperplan/report/templates``."""

TITLE = "Actuals"
"""The section's title in the report's navigation."""


def render_actuals_section(view: dict[str, Any]) -> Markup:
    """The ``<section id="actuals">`` fragment for ``view`` (see
    :func:`hyperplan.actuals.shape.section_view`)."""
    return render(TEMPLATE, view=view)
