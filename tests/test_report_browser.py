"""The HTML report in a real browser: Debian's headless Chromium driven by Selenium.

Opens the report from a local file (no server, no network), waits for the charts, and checks
that the console has no errors, that every chart container holds a rendered plot with data,
that nothing was fetched from the network, that the page prints (PDF), that the executive
summary shows the totals of plan.json, and that at three window widths (loaded at that width and
resized to it) every chart fits its box and draws the whole x-range of its data (issue 13). Saves a screenshot (``report.png`` in the test's
temporary directory; also to ``$HYPERPLAN_SCREENSHOT`` when set, see docs/report.md).

Uses /usr/bin/chromium and /usr/bin/chromedriver only (never a downloaded browser); skipped,
with the reason, when they are not installed (``apt-get install chromium chromium-driver``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "Debian's chromium and chromium-driver are not installed "
        "(apt-get install chromium chromium-driver; .ci/run installs them)",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402  (only once the browser is known to exist)
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from hyperplan.plan.api import Plan  # noqa: E402
from hyperplan.report import fmt  # noqa: E402
from hyperplan.report.html import write_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
WIDTH, HEIGHT = 1280, 1000
#: window widths (CSS px) the charts are checked at: one column, two columns, the widest layout
WIDTHS = (800, 1280, 1920)


@pytest.fixture(scope="module")
def driver() -> Iterator[webdriver.Chrome]:
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download anything
    profile = tempfile.mkdtemp(prefix="hyperplan-chromium-")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-default-apps",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        "--hide-scrollbars",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    drv.set_page_load_timeout(120)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def small_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A report with every section: small.yaml planned with walk-away values, a short
    simulation (when hyperplan.sim is installed) and a strategy comparison."""
    from hyperplan.plan import plan
    from hyperplan.plan.compare import compare
    from hyperplan.scenario.load import load_scenario

    scenario = load_scenario(EXAMPLES / "small.yaml")
    result = plan(scenario, walk_away=True)
    sim = None
    try:
        from hyperplan.sim import simulate

        sim = simulate(result, trials=10, seed=1, workers=1)
    except ImportError:  # pragma: no cover - the simulator is optional
        pass
    table, _ = compare(scenario, ["multi", "single:aws", "greedy"])
    folder = tmp_path_factory.mktemp("report")
    result.to_json(folder / "plan.json")
    write_report(
        Plan.from_json(folder / "plan.json"), folder / "report.html", sim=sim, compare=table
    )
    return folder / "report.html", folder / "plan.json"


# ----------------------------------------------------------------------------------------------
def totals_from_plan_json(path: Path) -> dict[str, Any]:
    """The headline figures recomputed from plan.json itself (not through hyperplan)."""
    data = json.loads(path.read_text(encoding="utf-8"))

    def table(name: str) -> pd.DataFrame:
        cols = data["tables"][name]["columns"]
        return pd.DataFrame({k: v["values"] for k, v in cols.items()})

    spend = table("spend")
    capacity = table("capacity")
    by = spend[spend["market"] != "shortfall"].pivot_table(
        index="period_index", columns="provider", values="usd", aggfunc="sum", fill_value=0.0
    )
    return {
        "total_usd": float(spend["usd"].sum()),
        "npv_usd": float(spend["usd_discounted"].sum()),
        "max_share": float(by.div(by.sum(axis=1), axis=0).to_numpy().max()),
        "peak_mw": float(capacity.groupby("period_index")["mw"].sum().max()),
        "per_year": {str(k): float(v) for k, v in spend.groupby("year")["usd"].sum().items()},
    }


def open_report(drv: webdriver.Chrome, html: Path) -> dict[str, Any]:
    """Load the report, wait until every chart is drawn; return what the page reports."""
    drv.get_log("browser")  # drop older entries
    drv.get(html.resolve().as_uri())
    WebDriverWait(drv, 90, poll_frequency=0.2).until(
        lambda d: d.execute_script(
            "const c = document.querySelectorAll('.hp-chart');"
            "return document.readyState === 'complete' && c.length > 0 && "
            "Array.from(c).every(e => e.querySelector('.main-svg'));"
        )
    )
    return drv.execute_script(
        """
        const charts = Array.from(document.querySelectorAll('.hp-chart')).map(c => {
          const plot = c.querySelector('.js-plotly-plot');
          const data = plot && plot.data ? plot.data : [];
          const points = data.map(t => Math.max(
              ...['x', 'y', 'z', 'q1', 'base'].map(k => (t[k] && t[k].length) || 0)));
          const box = c.getBoundingClientRect();
          return {id: c.id, svgs: c.querySelectorAll('.main-svg').length,
                  plots: c.querySelectorAll('.js-plotly-plot').length,
                  traces: data.length, points: points.reduce((a, b) => a + b, 0),
                  drawn: plot ? plot.querySelectorAll('g.trace, .hm image').length : 0,
                  width: box.width, height: box.height};
        });
        const kpis = {};
        document.querySelectorAll('[data-kpi]').forEach(k => {
          kpis[k.dataset.kpi] = {data: Object.assign({}, k.dataset),
                                 text: k.querySelector('.kpi-value').textContent};
        });
        const years = {};
        document.querySelectorAll('table.spend-year tr[data-year]').forEach(r => {
          years[r.dataset.year] = {usd: r.dataset.usd,
                                   text: r.lastElementChild.textContent};
        });
        const resources = performance.getEntriesByType('resource').map(r => r.name);
        return {charts, kpis, years, resources,
                external: document.querySelectorAll('script[src], link[href], img[src]').length,
                title: document.title};
        """
    )


def check_report(drv: webdriver.Chrome, html: Path, plan_json: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    page = open_report(drv, html)
    seconds = time.perf_counter() - t0
    logs = drv.get_log("browser")
    errors = [entry for entry in logs if entry.get("level") == "SEVERE"]
    assert errors == [], errors

    charts = page["charts"]
    assert len(charts) >= 8
    for chart in charts:
        assert chart["plots"] == 1 and chart["svgs"] >= 1, chart
        assert chart["traces"] > 0 and chart["points"] > 0, chart
        assert chart["drawn"] > 0, chart
        assert chart["width"] > 200 and chart["height"] > 100, chart

    # nothing fetched: the page is one file
    assert page["external"] == 0
    assert all(r.startswith(("file:", "data:", "blob:", "about:")) for r in page["resources"])

    # the executive summary shows plan.json's totals, formatted as the terminal does
    want = totals_from_plan_json(plan_json)
    kpis = page["kpis"]
    for key, attr, value, text in (
        ("total-usd", "totalUsd", want["total_usd"], fmt.usd(want["total_usd"])),
        ("npv-usd", "npvUsd", want["npv_usd"], fmt.usd(want["npv_usd"])),
        ("max-share", "maxShare", want["max_share"], fmt.pct(want["max_share"])),
        ("peak-mw", "peakMw", want["peak_mw"], fmt.power_mw(want["peak_mw"])),
    ):
        assert float(kpis[key]["data"][attr]) == pytest.approx(value, rel=1e-9), key
        assert kpis[key]["text"] == text, key
    years = {k: v for k, v in page["years"].items() if k != "total"}
    assert set(years) == set(want["per_year"])
    for year, usd in want["per_year"].items():
        assert float(years[year]["usd"]) == pytest.approx(usd, rel=1e-9)
        assert years[year]["text"] == fmt.usd(usd)
    assert page["years"]["total"]["text"] == fmt.usd(want["total_usd"])
    page["seconds"] = seconds
    return page


#: per chart: its box, the plot's own width, and per x-axis the linear range drawn inside the box
#: (the axis' pixels clipped to the chart's box and the viewport, mapped back through the axis)
#: against the extent of the data plotly laid out on that axis (``_extremes``: the bars' edges,
#: every category, the commitments' start and end dates); categories drawn outside are listed.
X_COVERAGE_JS = """
const vw = document.documentElement.clientWidth;
return Array.from(document.querySelectorAll('.hp-chart')).map(c => {
  const gd = c.querySelector('.js-plotly-plot');
  const box = c.getBoundingClientRect();
  if (!gd || !gd._fullLayout) { return {id: c.id, box: box.width, plot: null, axes: []}; }
  const fl = gd._fullLayout;
  const g = gd.getBoundingClientRect();
  const clipL = Math.max(box.left, 0), clipR = Math.min(box.right, vw);
  const axes = fl._subplots.xaxis.map(id => {
    const ax = fl['xaxis' + id.slice(1)];
    const left = g.left + ax._offset, right = left + ax._length;
    const visL = Math.max(left, clipL), visR = Math.min(right, clipR);
    const a = ax.p2l(visL - left), b = ax.p2l(visR - left);
    const lo = Math.min(a, b), hi = Math.max(a, b);
    const tol = Math.abs(ax.p2l(1) - ax.p2l(0));  // one pixel, in axis units
    let min = Infinity, max = -Infinity;
    gd._fullData.forEach(t => {
      const e = t.visible === true && (t.xaxis || 'x') === id && t._extremes && t._extremes[id];
      if (!e) { return; }
      e.min.forEach(m => { min = Math.min(min, m.val); });
      e.max.forEach(m => { max = Math.max(max, m.val); });
    });
    const cats = (ax._categories || []).map(k => Array.isArray(k) ? k.join(' ') : String(k));
    const outside = cats.filter((k, i) => visR <= visL || i < lo - tol || i > hi + tol);
    return {axis: id, type: ax.type, lo: lo, hi: hi, tol: tol, min: min, max: max,
            categories: cats.length, outside: outside,
            covered: visR > visL && min >= lo - tol && max <= hi + tol};
  });
  return {id: c.id, box: box.width, plot: fl.width, axes: axes};
});
"""


def charts_fit(drv: webdriver.Chrome) -> bool:
    """Whether every chart has been drawn at its box's current width (a resize has settled)."""
    return bool(
        drv.execute_script(
            "return Array.from(document.querySelectorAll('.hp-chart')).every(c => {"
            " const gd = c.querySelector('.js-plotly-plot');"
            " return gd && gd._fullLayout &&"
            " Math.abs(gd._fullLayout.width - c.getBoundingClientRect().width) < 1.5; });"
        )
    )


def check_x_coverage(drv: webdriver.Chrome, when: str) -> int:
    """Every chart fits its box and its drawn x-range covers all its data (every period,
    category or date); returns the number of x-axes checked."""
    with_ranges = drv.execute_script(X_COVERAGE_JS)
    assert with_ranges, when
    axes = 0
    for chart in with_ranges:
        where = f"{when}: {chart['id']}"
        assert chart["plot"] is not None, f"{where}: not drawn"
        assert chart["axes"], where
        for ax in chart["axes"]:
            assert ax["min"] <= ax["max"], f"{where}: no data on axis {ax['axis']}"
            assert ax["outside"] == [], f"{where}: {ax['outside']} not drawn ({ax})"
            assert ax["covered"], f"{where}: drawn x-range does not cover the data ({ax})"
            axes += 1
        assert chart["plot"] <= chart["box"] + 1.5, (
            f"{where}: drawn {chart['plot']} px wide in a {chart['box']:.0f} px box"
        )
    return axes


def test_charts_draw_their_whole_x_range_at_three_widths(
    driver: webdriver.Chrome, small_report: tuple[Path, Path]
) -> None:
    """Issue 13: a chart drawn before the page's layout settled kept the width of the first
    column it saw (GPUs by provider: 8 quarters in the data, 4 visible at 1280 px). Loaded at
    each width, and resized from one width to the next without reloading, every chart fits its
    box and shows every period."""
    html, _ = small_report
    checked = 0
    try:
        for width in WIDTHS:
            driver.set_window_size(width, HEIGHT)
            open_report(driver, html)  # drops the log of the previous page
            assert driver.execute_script("return window.innerWidth") == width
            checked += check_x_coverage(driver, f"loaded at {width} px")
            errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
            assert errors == [], errors
        for width in (WIDTHS[1], WIDTHS[0], WIDTHS[2]):  # narrower and wider than the last
            driver.set_window_size(width, HEIGHT)
            with contextlib.suppress(TimeoutException):  # the check below says which chart
                WebDriverWait(driver, 10, poll_frequency=0.1).until(charts_fit)
            checked += check_x_coverage(driver, f"resized to {width} px")
        errors = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
        assert errors == [], errors  # no ResizeObserver loop, no failed redraw
    finally:
        driver.set_window_size(WIDTH, HEIGHT)
    assert checked >= 6 * 10  # six views of at least ten charts with one x-axis or more


def check_print(drv: webdriver.Chrome) -> None:
    """The page prints: a PDF comes out, and the navigation bar is hidden on paper."""
    pdf = drv.execute_cdp_cmd("Page.printToPDF", {"landscape": True, "printBackground": False})
    data = base64.b64decode(pdf["data"])
    assert data.startswith(b"%PDF") and len(data) > 20_000
    drv.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        nav = drv.execute_script(
            "return getComputedStyle(document.querySelector('nav.toc')).display"
        )
        assert nav == "none"
    finally:
        drv.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def check_nav_links(drv: webdriver.Chrome) -> None:
    """Each link of the sticky navigation brings its section's heading into view below the
    bar, not under it (the sections' ``scroll-margin-top``)."""
    links = drv.find_elements("css selector", "nav.toc a")
    assert len(links) >= 5
    for link in links:
        sid = link.get_attribute("href").rsplit("#", 1)[1]
        link.click()
        top, bar = drv.execute_script(
            "const h = document.querySelector('#' + arguments[0] + ' h2');"
            "return [h.getBoundingClientRect().top,"
            " document.querySelector('nav.toc').getBoundingClientRect().bottom];",
            sid,
        )
        at_end = drv.execute_script(
            "return window.innerHeight + window.scrollY >= document.body.scrollHeight - 2"
        )
        assert top >= bar or at_end, (sid, top, bar)  # the last sections may not reach the top
    drv.execute_script("window.scrollTo(0, 0)")


def screenshot(drv: webdriver.Chrome, path: Path) -> None:
    drv.execute_script("window.scrollTo(0, 0)")
    drv.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    target = os.environ.get("HYPERPLAN_SCREENSHOT")
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


# ----------------------------------------------------------------------------------------------
def test_report_renders_in_chromium(
    driver: webdriver.Chrome, small_report: tuple[Path, Path], tmp_path: Path
) -> None:
    html, plan_json = small_report
    page = check_report(driver, html, plan_json)
    ids = {c["id"] for c in page["charts"]}
    assert {"chart-walk-away", "chart-strategies", "chart-commitments", "chart-resilience"} <= ids
    try:
        import hyperplan.sim  # noqa: F401

        assert "chart-sim-served-fraction" in ids
    except ImportError:  # pragma: no cover
        pass
    assert page["title"].startswith("small")
    check_nav_links(driver)
    check_print(driver)
    if not os.environ.get("HYPERPLAN_SCREENSHOT"):
        screenshot(driver, tmp_path / "report.png")


# The README screenshot (docs/report.png) is of the demo's frontier-2030 report; that test exists
# only when asked for, with HYPERPLAN_SCREENSHOT=docs/report.png (it plans frontier-2030: ~20 s).
if os.environ.get("HYPERPLAN_SCREENSHOT"):

    @pytest.mark.slow
    def test_demo_report_renders_in_chromium(driver: webdriver.Chrome, tmp_path: Path) -> None:
        """The report of ``hyperplan demo`` (frontier-2030), and docs/report.png."""
        from hyperplan.cli.report import run_demo

        result = run_demo(tmp_path / "report.html", trials=20, seed=0)
        result["plan"].to_json(tmp_path / "plan.json")
        check_report(driver, tmp_path / "report.html", tmp_path / "plan.json")
        check_x_coverage(driver, f"demo at {WIDTH} px")  # 20 quarters, 10 drawn before issue 13
        driver.set_window_size(WIDTH, 1400)
        try:
            screenshot(driver, tmp_path / "report.png")
        finally:
            driver.set_window_size(WIDTH, HEIGHT)
