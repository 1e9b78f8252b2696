"""The actuals section of the HTML report, rendered from a Jinja2 template (autoescaped).

``render_actuals_section(view)`` takes the plain data of
:func:`hyperplan.actuals.shape.section_view` and returns an HTML fragment (one ``<section>``);
every text from the bills (file names, commitment ids, warnings) is escaped by the template.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

TEMPLATE = "actuals.html.j2"
"""The template's file name under ``hyperplan/report/templates``."""


@cache
def _template() -> Any:
    from jinja2 import Environment, StrictUndefined

    text = files("hyperplan.report").joinpath("templates", TEMPLATE).read_text(encoding="utf-8")
    env = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
    return env.from_string(text)


def render_actuals_section(view: dict[str, Any]) -> str:
    """The ``<section id="actuals">`` fragment for ``view`` (see
    :func:`hyperplan.actuals.shape.section_view`)."""
    return _template().render(view=view)


def insert_section(html: str, section: str) -> str:
    """``html`` (a whole report) with ``section`` placed before its closing ``</main>``
    (before ``</body>`` when there is no ``<main>``, else at the end)."""
    for tag in ("</main>", "</body>"):
        i = html.rfind(tag)
        if i >= 0:
            return html[:i] + section + html[i:]
    return html + section
