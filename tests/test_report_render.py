"""The HTML report's rendering machinery (report/render.py, render_sections.py, templates/,
static/): escaping, the table macro, JSON inside scripts, the chart box, and the package files.

The report's content is checked in tests/test_report.py; the drawing in a browser in
tests/test_report_browser.py.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from importlib import resources
from pathlib import Path

import plotly.graph_objects as go

from hyperplan.plan.api import Plan
from hyperplan.report import render_sections
from hyperplan.report.html import SECTIONS, get_plotlyjs, render_report
from hyperplan.report.render import (
    PLOTLY_CONFIG,
    Cell,
    chart_html,
    environment,
    script_json,
    static_text,
)
from test_report import COMPARE, SIM_JSON

ROOT = Path(__file__).resolve().parents[1]
EVIL = "<script>alert('x&y')</script>"


def test_values_are_escaped_as_html_escape_does() -> None:
    tpl = environment().from_string("{{ v }}|<a title='{{ v }}' href=\"{{ v }}\">{{ missing }}</a>")
    assert tpl.render(v=EVIL, missing=None) == (
        "&lt;script&gt;alert(&#x27;x&amp;y&#x27;)&lt;/script&gt;|"
        "<a title='&lt;script&gt;alert(&#x27;x&amp;y&#x27;)&lt;/script&gt;' "
        'href="&lt;script&gt;alert(&#x27;x&amp;y&#x27;)&lt;/script&gt;"></a>'
    )
    assert environment().from_string("{{ q }}").render(q='say "hi"') == "say &quot;hi&quot;"


def test_table_macro_numeric_columns_cells_and_row_attributes() -> None:
    tpl = environment().from_string(
        '{% from "macros.html.j2" import table %}'
        "{{ table(headers, rows, numeric=(1,), cls='t', row_attrs=attrs) }}"
    )
    html = tpl.render(
        headers=["outage", "<w>"],
        rows=[
            ["a<b", Cell("50.0%", "bad", title="needs '80%'")],
            [Cell("required", "i"), Cell("chat", "flag")],
            ["", Cell("met", "ok")],
        ],
        attrs=[[("data-scenario", 'a"b')], [("class", "required")], []],
    )
    assert html == (
        '<div class="table-wrap"><table class="hp-table t"><thead><tr>'
        '<th class="">outage</th><th class="num">&lt;w&gt;</th></tr></thead><tbody>'
        '<tr data-scenario="a&quot;b"><td class="">a&lt;b</td>'
        "<td class=\"num\"><span class='bad' title='needs &#x27;80%&#x27;'>50.0%</span></td></tr>"
        '<tr class="required"><td class=""><i>required</i></td>'
        "<td class=\"num\"><span class='flag'>estimated</span> chat</td></tr>"
        '<tr><td class=""></td><td class="num"><span class=\'ok\'>met</span></td></tr>'
        "</tbody></table></div>"
    )


def test_script_json_cannot_end_its_script() -> None:
    text = json.dumps({"name": "</script><!-- & -->"})
    safe = str(script_json(text))
    assert "<" not in safe and ">" not in safe and "&" not in safe
    assert json.loads(safe) == {"name": "</script><!-- & -->"}


def test_chart_box_height_caption_and_one_draw_call() -> None:
    fig = go.Figure(go.Bar(x=["2027-Q1", "2027-Q2"], y=[1.0, 2.0], name=EVIL))
    fig.update_layout(height=280)
    html = str(chart_html("chart-x", fig, caption="GPUs <by> provider."))
    assert html.startswith(
        '<figure class="hp-figure"><div class="hp-chart" id="chart-x" data-chart="chart-x">'
        '<div style="height:280px; width:100%;">'
    )
    assert '<div id="chart-x-plot" class="plotly-graph-div"' in html
    assert html.endswith("<figcaption>GPUs &lt;by&gt; provider.</figcaption></figure>")
    assert html.count("<script") == html.count("</script>") == 1  # the name cannot close it
    call = re.search(r'hpReport\.chart\("chart-x-plot", function \(gd\) \{ return '
                     r"Plotly\.newPlot\(gd, (.*)\); \}\);</script>", html)  # fmt: skip
    assert call
    text = call.group(1)
    data, end = json.JSONDecoder().raw_decode(text)
    assert data[0]["name"] == EVIL and data[0]["x"] == ["2027-Q1", "2027-Q2"]
    text = text[end:].removeprefix(", ")
    layout, end = json.JSONDecoder().raw_decode(text)
    assert layout["height"] == 280
    rest = text[end:]
    assert json.loads(rest.removeprefix(", ")) == PLOTLY_CONFIG
    without = str(chart_html("chart-y", go.Figure(go.Bar(x=[1], y=[1]))))
    assert '<div style="height:360px; width:100%;">' in without and "figcaption" not in without


def test_a_provider_named_script_stays_text_everywhere(tmp_path: Path) -> None:
    from hyperplan.plan import plan as make_plan
    from hyperplan.scenario.load import load_scenario

    make_plan(load_scenario(ROOT / "examples/small.yaml"), walk_away=True).to_json(
        tmp_path / "plan.json"
    )
    text = (tmp_path / "plan.json").read_text(encoding="utf-8")
    assert text.count("nebius") > 10
    evil = tmp_path / "evil.json"
    evil.write_text(text.replace("nebius", json.dumps(EVIL)[1:-1]), encoding="utf-8")
    plan = Plan.from_json(evil)
    assert EVIL in plan.tables["spend"]["provider"].tolist()
    page = render_report(plan, sim=SIM_JSON, compare=COMPARE).replace(get_plotlyjs(), "")
    charts = re.findall(r'<div class="hp-chart" id="([^"]+)"', page)
    # plotly.js, report.js, one per chart, hp-data: no other script element
    assert page.count("<script") == page.count("</script>") == 3 + len(charts)
    assert "&lt;script&gt;alert(&#x27;x&amp;y&#x27;)&lt;/script&gt;" in page
    assert "<script>alert(" not in page
    assert page.count("Plotly.newPlot(") == len(charts)


def test_sections_have_their_templates_and_the_package_ships_them() -> None:
    assert [sid for sid, _ in SECTIONS] == [sid for sid, _, _ in render_sections.SECTIONS]
    files = resources.files("hyperplan.report")
    shipped = [f"templates/{sid}.html.j2" for sid, _ in SECTIONS] + [
        f"templates/{name}.html.j2"
        for name in ("page", "section", "chart", "macros", "actuals", "replan")
    ]
    shipped += ["static/report.css", "static/report.js"]
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["package-data"]["hyperplan"]
    for name in shipped:
        assert files.joinpath(name).is_file(), name
        assert any(fnmatch.fnmatch(f"report/{name}", g) for g in globs), name
    on_disk = {
        p.relative_to(ROOT / "src/hyperplan/report").as_posix()
        for d in ("templates", "static")
        for p in (ROOT / "src/hyperplan/report" / d).iterdir()
    }
    assert on_disk == set(shipped)  # every file is used and listed
    assert "@media print" in static_text("report.css")
    assert "Plotly.newPlot(" not in static_text("report.js")  # one call per chart, in its box
