"""One self-contained, offline HTML report of a plan (plotly.js embedded once, no network).

>>> write_report(plan, "report.html", sim=sim_json, compare=compare_table)  # doctest: +SKIP

Sections: executive summary, capacity, spend, commitments, allocation, resilience (with the
simulated distributions when a simulation is given), negotiation, strategy comparison (when
given), assumptions and data sources. Numbers come from :mod:`hyperplan.report.summary` and
:mod:`hyperplan.report.sections` and are formatted by :mod:`hyperplan.report.fmt`, as in the
terminal. Every chart sits in a ``div.hp-chart`` with a stable id; the headline figures carry
their raw values in ``data-*`` attributes (``data-total-usd``, ``data-npv-usd``,
``data-max-share``, ``data-peak-mw``, …) so a test can read them back.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs as _get_plotlyjs

from hyperplan import __version__
from hyperplan.catalog import Catalog
from hyperplan.fileio import write_text_atomic
from hyperplan.plan.api import Plan
from hyperplan.report import charts, fmt, liability
from hyperplan.report import sections as sec
from hyperplan.report.summary import Summary, summarize

PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

#: (id, title) of the sections, in order
SECTIONS = (
    ("summary", "Executive summary"),
    ("capacity", "Capacity"),
    ("spend", "Spend"),
    ("commitments", "Commitments"),
    ("allocation", "Allocation"),
    ("resilience", "Resilience"),
    ("negotiation", "Negotiation"),
    ("strategies", "Strategies"),
    ("assumptions", "Assumptions and sources"),
)


@functools.cache
def get_plotlyjs() -> str:
    """plotly.js (minified, ~4.7 MB), read once per process."""
    return _get_plotlyjs()


def write_report(
    plan: Plan,
    path: str | Path,
    *,
    sim: Any = None,
    compare: Any = None,
    catalog: Catalog | pd.DataFrame | None = None,
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
    """
    write_text_atomic(path, render_report(plan, sim=sim, compare=compare, catalog=catalog))


def render_report(
    plan: Plan,
    *,
    sim: Any = None,
    compare: Any = None,
    catalog: Catalog | pd.DataFrame | None = None,
    generated: dt.datetime | None = None,
) -> str:
    """The report as one HTML string (see :func:`write_report`)."""
    return _Report(plan, sim=sim, compare=compare, catalog=catalog, generated=generated).html()


# ----------------------------------------------------------------------------------- helpers
def esc(value: object) -> str:
    """HTML-escaped text of ``value``."""
    return html.escape("" if value is None else str(value), quote=True)


def _raw(value: float | None) -> str:
    """A number for a data attribute: repr of the float ('nan', 'inf' when not finite)."""
    if value is None:
        return ""
    return repr(float(value))


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    numeric: Iterable[int] = (),
    cls: str = "",
    row_attrs: Sequence[str] | None = None,
    raw_html: Iterable[int] = (),
) -> str:
    """An HTML table; cells are escaped unless their column is in ``raw_html``."""
    num = set(numeric)
    rawc = set(raw_html)
    head = "".join(
        f'<th class="{"num" if i in num else ""}">{esc(h)}</th>' for i, h in enumerate(headers)
    )
    body = []
    for r, row in enumerate(rows):
        attrs = f" {row_attrs[r]}" if row_attrs else ""
        cells = "".join(
            f'<td class="{"num" if i in num else ""}">{c if i in rawc else esc(c)}</td>'
            for i, c in enumerate(row)
        )
        body.append(f"<tr{attrs}>{cells}</tr>")
    return (
        f'<div class="table-wrap"><table class="hp-table {cls}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def details(summary: str, inner: str, *, open_: bool = False) -> str:
    """A collapsible block (opened for printing)."""
    return f"<details{' open' if open_ else ''}><summary>{esc(summary)}</summary>{inner}</details>"


def _p(text: str) -> str:
    return f'<p class="lead">{text}</p>'


class _Report:
    """Builds the document: one method per section, charts numbered as they are added."""

    def __init__(
        self,
        plan: Plan,
        *,
        sim: Any,
        compare: Any,
        catalog: Catalog | pd.DataFrame | None,
        generated: dt.datetime | None,
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

    # -------------------------------------------------------------------------- charts
    def chart(self, chart_id: str, fig: go.Figure, caption: str = "") -> str:
        """A plotly figure inside ``div.hp-chart#chart_id`` (plotly.js is in the page head)."""
        if chart_id in self.chart_ids:
            raise ValueError(f"duplicate chart id {chart_id}")
        self.chart_ids.append(chart_id)
        height = fig.layout.height or 360
        div = pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=False,
            include_mathjax=False,
            div_id=f"{chart_id}-plot",
            config=PLOTLY_CONFIG,
            default_width="100%",
            default_height=f"{int(height)}px",
            validate=True,
        )
        cap = f"<figcaption>{caption}</figcaption>" if caption else ""
        return (
            f'<figure class="hp-figure"><div class="hp-chart" id="{esc(chart_id)}" '
            f'data-chart="{esc(chart_id)}">{div}</div>{cap}</figure>'
        )

    # -------------------------------------------------------------------------- document
    def html(self) -> str:
        parts = [
            self.section_summary(),
            self.section_capacity(),
            self.section_spend(),
            self.section_commitments(),
            self.section_allocation(),
            self.section_resilience(),
            self.section_negotiation(),
            self.section_strategies(),
            self.section_assumptions(),
        ]
        present = [p for p in parts if p]
        shown = {sid for sid, _ in SECTIONS if any(f'id="{sid}"' in p for p in present)}
        nav = "".join(
            f'<a href="#{sid}">{esc(title)}</a>' for sid, title in SECTIONS if sid in shown
        )
        title = f"{self.plan.scenario_name}: capacity plan"
        return _PAGE.format(
            title=esc(title),
            css=_CSS,
            plotlyjs=get_plotlyjs(),
            header=self.header(),
            nav=nav,
            body="\n".join(present),
            footer=self.footer(),
            data=json.dumps(self.headline(), allow_nan=False)
            .replace("<", "\\u003c")
            .replace(">", "\\u003e")
            .replace("&", "\\u0026"),
            script=_SCRIPT,
        )

    def headline(self) -> dict[str, Any]:
        """The raw headline numbers (also in ``script#hp-data`` as JSON; None when missing)."""

        def clean(v: float | None) -> float | None:
            return None if v is None or not math.isfinite(float(v)) else float(v)

        s = self.s
        worst = s.outage_served()
        return {
            "scenario": self.plan.scenario_name,
            "status": self.plan.status,
            "total_usd": clean(s.total_usd),
            "npv_usd": clean(s.npv_usd),
            "max_share": clean(s.max_share),
            "peak_mw": clean(s.peak_mw),
            "target_mw": clean(s.target_mw),
            "spend_per_year": {str(k): clean(v) for k, v in s.spend_per_year.items()},
            "worst_outage_served": clean(worst["served_fraction"].min()) if len(worst) else None,
            "charts": list(self.chart_ids),
        }

    def header(self) -> str:
        plan = self.plan
        labels = sec.periods(plan)
        scenario = plan.meta.get("scenario") or {}
        desc = scenario.get("description") or ""
        span = f"{labels[0]} – {labels[-1]} ({len(labels)} periods)" if labels else ""
        status_cls = "ok" if str(plan.status).startswith("optimal") else "warn"
        return (
            f"<h1>{esc(plan.scenario_name)} <span class='sub'>capacity plan</span></h1>"
            f"<p class='meta'><span class='badge {status_cls}'>{esc(plan.status)}</span> "
            f"{esc(span)} · providers: {esc(', '.join(self.providers))} · "
            f"generated {esc(self.generated.isoformat().replace('+00:00', ' UTC'))} "
            f"by hyperplan {esc(__version__)}</p>"
            + (f"<p class='desc'>{esc(desc)}</p>" if desc else "")
        )

    def footer(self) -> str:
        return (
            "<p>All money in USD, nominal unless marked present value; power is facility power "
            "(IT × PUE). This file is self-contained: it needs no network to be read or printed."
            f" hyperplan {esc(__version__)}.</p>"
        )

    # -------------------------------------------------------------------------- sections
    @staticmethod
    def section(sid: str, title: str, inner: str) -> str:
        return f'<section id="{sid}" class="hp-section"><h2>{esc(title)}</h2>{inner}</section>'

    def section_summary(self) -> str:
        s, plan = self.s, self.plan
        cap = plan.meta.get("max_share")
        cap_txt = (
            f"cap {fmt.pct(cap, 0)}"
            if isinstance(cap, int | float)
            else ("caps per provider" if cap else "no cap")
        )
        rate = (plan.meta.get("scenario") or {}).get("horizon", {}).get("discount_rate")
        worst = s.outage_served()
        com = plan.tables["commitments"]
        com_value = float(com["contract_value_usd"].sum()) if len(com) else 0.0
        cards = [
            _kpi(
                "total-usd",
                "Total spend (nominal)",
                fmt.usd(s.total_usd),
                "over the horizon, incl. existing contracts and shortfalls",
                {"total-usd": s.total_usd},
            ),
            _kpi(
                "npv-usd",
                "Present value",
                fmt.usd(s.npv_usd),
                f"discounted at {fmt.pct(rate)} a year" if rate is not None else "discounted",
                {"npv-usd": s.npv_usd},
            ),
            _kpi(
                "peak-mw",
                "Peak power",
                fmt.power_mw(s.peak_mw),
                (
                    f"{fmt.pct(s.target_reached, 0)} of the {fmt.power_mw(s.target_mw)} target"
                    if s.target_mw
                    else "no target set"
                ),
                {"peak-mw": s.peak_mw, "target-mw": s.target_mw},
                warn=bool(s.target_mw and s.peak_mw < s.target_mw),
            ),
            _kpi(
                "max-share",
                "Max provider share",
                fmt.pct(s.max_share),
                f"of spend in any period ({cap_txt})",
                {"max-share": s.max_share},
            ),
        ]
        if len(worst):
            w = worst.loc[worst["served_fraction"].idxmin()]
            cards.append(
                _kpi(
                    "worst-outage",
                    "Worst single outage",
                    fmt.pct(w["served_fraction"]),
                    f"{w['workload']} served when {w['scenario']} (needs "
                    f"{fmt.pct(w['required_fraction'], 0)})",
                    {"worst-outage-served": float(w["served_fraction"])},
                    warn=not bool(w["met"]),
                )
            )
        cards.append(
            _kpi(
                "commitments",
                "New commitments",
                fmt.usd(com_value),
                f"{len(com)} reservations (whole-term value)",
                {"commitments-usd": com_value, "commitments-count": float(len(com))},
            )
        )
        risks = s.risks()
        risk_html = (
            "<ol class='risks'>" + "".join(f"<li>{esc(r)}</li>" for r in risks) + "</ol>"
            if risks
            else "<p>No shortfall, concentration or power risk stands out in this plan.</p>"
        )
        years = s.spend_year_provider
        year_table = ""
        if len(years):
            rows = []
            attrs = []
            for year, row in years.iterrows():
                rows.append([str(year), *[fmt.usd(v) for v in row], fmt.usd(row.sum())])
                attrs.append(f'data-year="{esc(year)}" data-usd="{_raw(row.sum())}"')
            total = years.sum(axis=0)
            rows.append(["total", *[fmt.usd(v) for v in total], fmt.usd(total.sum())])
            attrs.append(f'class="total" data-year="total" data-usd="{_raw(total.sum())}"')
            year_table = table(
                ["year", *map(str, years.columns), "total"],
                rows,
                numeric=range(1, len(years.columns) + 2),
                cls="spend-year",
                row_attrs=attrs,
            )
        outage_table = self.outage_matrix()
        warn = ""
        if s.warnings:
            warn = (
                "<h3>Warnings</h3><ul class='warnings'>"
                + "".join(f"<li>{esc(w)}</li>" for w in s.warnings)
                + "</ul>"
            )
        chart = (
            self.chart(
                "chart-spend-year",
                charts.spend_per_year(years, self.colors),
                "Nominal spend per calendar year and provider.",
            )
            if len(years)
            else ""
        )
        inner = (
            self.misses_block()
            + self.route_mix_block()
            + f"<div class='kpis'>{''.join(cards)}</div>"
            f"<div class='cols'><div><h3>Three biggest risks</h3>{risk_html}</div>"
            f"<div><h3>Served fraction under each outage</h3>"
            f"{outage_table or '<p>No outage scenarios were planned.</p>'}</div></div>"
            f"{self.liability_block()}"
            f"<h3>Spend per year</h3>{chart}{year_table}{warn}"
        )
        return self.section("summary", "Executive summary", inner)

    def liability_block(self) -> str:
        """New commitments inside and after the horizon, per provider (report/liability.py)."""
        headers, body = liability.rows(self.plan)
        inner = f"<p class='liability'>{esc(liability.sentence(self.plan))}</p>"
        if body:
            inner += table(headers, body, numeric=range(1, len(headers)), cls="liability")
        return f"<h3>Owed after the horizon</h3>{inner}"

    def outage_matrix(self) -> str:
        """Outage scenarios (rows) × workloads kept under an outage (columns): served fraction,
        in the worst period; cells below the required level marked."""
        served, required = sec.resilience_matrices(self.plan)
        outages = [c for c in served.columns if c != "base"]
        if not outages:
            return ""
        work = [w for w in served.index if served.loc[w, outages].notna().any()]
        rows, attrs = [], []
        for o in outages:
            cells = []
            for w in work:
                v, need = served.loc[w, o], required.loc[w, o]
                if pd.isna(v):
                    cells.append("–")
                elif v < need - 1e-6:
                    cells.append(
                        f"<span class='bad' title='needs {esc(fmt.pct(need, 0))}'>"
                        f"{esc(fmt.pct(v))}</span>"
                    )
                else:
                    cells.append(esc(fmt.pct(v)))
            short = [
                w
                for w in work
                if pd.notna(served.loc[w, o]) and served.loc[w, o] < required.loc[w, o] - 1e-6
            ]
            verdict = (
                f"<span class='bad'>short: {esc(', '.join(short))}</span>"
                if short
                else "<span class='ok'>met</span>"
            )
            rows.append([esc(o), *cells, verdict])
            attrs.append(f'data-scenario="{esc(o)}"')
        need_row = [
            "<i>required</i>",
            *[f"<i>{esc(fmt.pct(required.loc[w, outages].max(), 0))}</i>" for w in work],
            "",
        ]
        return table(
            ["outage", *work, ""],
            [*rows, need_row],
            numeric=range(1, len(work) + 1),
            raw_html=range(len(work) + 2),
            cls="outages",
            row_attrs=[*attrs, 'class="required"'],
        )

    def section_capacity(self) -> str:
        plan = self.plan
        if not len(plan.tables["capacity"]):
            return self.section("capacity", "Capacity", "<p>The plan holds no capacity.</p>")
        gpus_p = sec.capacity_by(plan, "provider", "gpus")
        gpus_a = sec.capacity_by(plan, "accelerator", "gpus")
        mw_p = sec.capacity_by(plan, "provider", "mw")
        acc_colors = charts.colors_for(list(gpus_a.columns), known={})
        parts = [
            _p(
                "Capacity of the base plan per period: reserved (new and existing) plus on-demand "
                "and spot instances, in GPUs and in facility megawatts."
            )
        ]
        if gpus_p.shape[1]:
            parts.append(
                "<div class='cols'>"
                + self.chart(
                    "chart-capacity-gpus-provider",
                    charts.stacked_periods(gpus_p, self.colors, value="gpus"),
                    "GPUs by provider.",
                )
                + self.chart(
                    "chart-capacity-gpus-accelerator",
                    charts.stacked_periods(gpus_a, acc_colors, value="gpus"),
                    "GPUs by accelerator.",
                )
                + "</div>"
            )
        parts.append(
            self.chart(
                "chart-capacity-mw",
                charts.stacked_periods(mw_p, self.colors, value="mw", target_mw=self.s.target_mw),
                "Facility power by provider"
                + (
                    f"; dashed: the {fmt.power_mw(self.s.target_mw)} target."
                    if self.s.target_mw
                    else "."
                ),
            )
        )
        last = mw_p.index[-1]
        rows = [
            [
                p,
                fmt.count(gpus_p[p].max()) if p in gpus_p.columns else "0",
                fmt.count(gpus_p[p].iloc[-1]) if p in gpus_p.columns else "0",
                fmt.power_mw(mw_p[p].max()),
                fmt.power_mw(mw_p[p].iloc[-1]),
            ]
            for p in mw_p.columns
        ]
        rows.append(
            [
                "all",
                fmt.count(gpus_p.sum(axis=1).max()),
                fmt.count(gpus_p.sum(axis=1).iloc[-1]),
                fmt.power_mw(mw_p.sum(axis=1).max()),
                fmt.power_mw(mw_p.sum(axis=1).iloc[-1]),
            ]
        )
        parts.append(
            table(
                ["provider", "peak GPUs", f"GPUs {last}", "peak power", f"power {last}"],
                rows,
                numeric=(1, 2, 3, 4),
                cls="capacity",
            )
        )
        return self.section("capacity", "Capacity", "".join(parts))

    def section_spend(self) -> str:
        long = sec.spend_by_year_provider_market(self.plan)
        if not len(long):
            return self.section("spend", "Spend", "<p>The plan spends nothing.</p>")
        rows = [
            [
                str(r["year"]),
                r["provider"],
                sec.MARKET_WORDS.get(r["market"], r["market"]),
                fmt.usd(r["usd"]),
                fmt.usd(r["usd_discounted"]),
            ]
            for _, r in long.iterrows()
        ]
        inner = (
            _p(
                "Nominal spend per year, provider and market. <i>Existing reservations</i> are "
                "contracts already held; a <i>take-or-pay shortfall</i> is committed spend a "
                "contract charges even when unused."
            )
            + self.chart(
                "chart-spend-market",
                charts.spend_by_market(long),
                "Bars per year and provider, stacked by market.",
            )
            + details(
                f"Spend table ({len(rows)} rows)",
                table(
                    ["year", "provider", "market", "nominal", "present value"],
                    rows,
                    numeric=(3, 4),
                ),
            )
        )
        return self.section("spend", "Spend", inner)

    def section_commitments(self) -> str:
        plan = self.plan
        com = plan.tables["commitments"]
        if not len(com):
            return self.section(
                "commitments", "Commitments", "<p>The plan signs no new reservation.</p>"
            )
        tl = sec.commitment_timeline(plan)
        limit = 30
        shown = tl.nlargest(limit, "contract_value_usd") if len(tl) > limit else tl
        shown = tl.loc[sorted(shown.index)]
        note = (
            f" The {limit} largest of {len(tl)} contract groups are drawn; the table lists all."
            if len(tl) > limit
            else ""
        )
        rows = [
            [
                r["provider"],
                r["region"],
                r["instance_type"],
                r["accelerator"] or "CPU",
                fmt.count(r["gpus"]) if r["gpus"] > 0 else "–",
                fmt.count(r["instances"]),
                f"{int(r['term_years'])}y",
                r["start"],
                fmt.usd_rate(r["usd_per_hour"]),
                fmt.usd(r["contract_value_usd"]),
                fmt.usd(r["in_horizon_usd"]),
            ]
            for _, r in com.sort_values(
                ["contract_value_usd", "provider", "region", "instance_type", "term_years"],
                ascending=[False, True, True, True, True],
            ).iterrows()
        ]
        inner = (
            _p(
                "What to sign: each bar is one contract group (provider, accelerator, term and "
                "start; instance types and regions summed), from its start for its whole term. "
                "The dashed line is the end of the planning horizon: value beyond it is still owed."
                + note
            )
            + self.chart(
                "chart-commitments",
                charts.commitments(shown, self.colors, sec.horizon_end(plan)),
            )
            + details(
                f"All {len(com)} reservations, largest first",
                table(
                    [
                        "provider",
                        "region",
                        "instance",
                        "accel.",
                        "GPUs",
                        "instances",
                        "term",
                        "start",
                        "USD/h",
                        "contract value",
                        "in horizon",
                    ],
                    rows,
                    numeric=(4, 5, 8, 9, 10),
                    cls="small",
                ),
            )
        )
        return self.section("commitments", "Commitments", inner)

    def section_allocation(self) -> str:
        plan = self.plan
        share = sec.allocation_share(plan)
        if not len(share):
            return self.section("allocation", "Allocation", "<p>No workload is served.</p>")
        summ = sec.allocation_summary(plan)
        workloads = list(summ["workload"])
        rows = [
            [
                r["workload"],
                r["kind"],
                fmt.count(r["peak_gpus"]) if r["peak_gpus"] > 0 else "CPU only",
                fmt.pct(r["reserved_share"], 0),
                fmt.pct(r["ondemand_share"], 0),
                fmt.pct(r["spot_share"], 0),
                f"{r['main_provider']} ({fmt.pct(r['main_share'], 0)})",
            ]
            for _, r in summ.iterrows()
        ]
        inner = (
            _p(
                "Where each workload runs: its served demand over the horizon (tokens, reference "
                "GPU-hours, vCPU-hours) split by provider; the table gives the market mix by "
                "GPU-hours (instance-hours for CPU work)."
            )
            + self.chart("chart-allocation", charts.allocation(share, self.colors, workloads))
            + table(
                [
                    "workload",
                    "kind",
                    "peak GPUs",
                    "reserved",
                    "on-demand",
                    "spot",
                    "main provider",
                ],
                rows,
                numeric=(2, 3, 4, 5),
            )
        )
        return self.section("allocation", "Allocation", inner + self.routes_block())

    def misses_block(self) -> str:
        """Every stated target the plan misses (``Plan.misses()``), first in the report."""
        missed = self.plan.misses()
        if not len(missed):
            return ""
        items = "".join(
            f"<li data-kind='{esc(r['kind'])}'>{esc(r['message'])}</li>"
            for _, r in missed.iterrows()
        )
        return (
            f"<div class='misses'><h3>Missed targets ({len(missed)})</h3>"
            f"<ul class='misses'>{items}</ul></div>"
        )

    def route_mix_block(self) -> str:
        """Built, rented or bought as tokens: the shares and why (break-even), in plain words."""
        from hyperplan.report.route_mix import route_mix_lines

        lines = route_mix_lines(self.plan)
        if not lines:
            return ""
        return (
            "<div class='route-mix'><h3>Build, rent or buy</h3><ul>"
            + "".join(f"<li>{esc(line)}</li>" for line in lines)
            + "</ul></div>"
        )

    def routes_block(self) -> str:
        """Rent, build or managed: shares per route, break-evens, capex of owned builds."""
        plan = self.plan
        summary = sec.route_summary(plan)
        if summary is None or not len(summary):
            return ""
        rows = [
            [
                r["workload"],
                r["route"],
                fmt.pct(r["share"]) if r["share"] == r["share"] else "–",
                fmt.usd(r["usd"]),
                fmt.usd_rate(r["usd_per_gpu_hour"]),
                fmt.usd_rate(r["usd_per_million_tokens"]),
            ]
            for _, r in summary.iterrows()
        ]
        parts = [
            "<h3>Rent, build or managed</h3>",
            _p(
                "Each workload's served demand over the horizon by route: rented cloud capacity, "
                "owned sites, managed model platforms; owned and reserved capacity is charged at "
                "its average cost per instance-hour, and capacity nobody uses shows as (idle)."
            ),
            table(
                ["workload", "route", "share", "USD", "USD/GPU-h", "USD/M tokens"],
                rows,
                numeric=(2, 3, 4, 5),
            ),
        ]
        be = plan.tables.get("break_even")
        if be is not None and len(be):
            be_rows = []
            for _, r in be.iterrows():
                owned = r["route"] == "owned"
                be_rows.append(
                    [
                        r["offer_id"],
                        r["workload"],
                        fmt.usd_rate(
                            r["usd_per_gpu_hour"] if owned else r["usd_per_million_tokens"]
                        )
                        + (" /GPU-h" if owned else " /M tokens"),
                        r["alternative_offer_id"] or "–",
                        fmt.pct(r["break_even_utilisation"])
                        if owned
                        else fmt.usd_rate(r["break_even_usd_per_hour"]) + " /h",
                        fmt.usd_rate(r["entry_usd_per_hour"]) if owned else "–",
                    ]
                )
            parts.append(
                details(
                    f"Break-even of owned sites and managed platforms ({len(be_rows)} rows)",
                    _p(
                        "Owned: the server wins over renting its alternative when busy more than "
                        "the break-even share of hours; an unbuilt site shows the price per "
                        "server-hour at which the plan would build. Managed: the platform wins "
                        "when the alternative costs more per hour than the break-even."
                    )
                    + table(
                        ["offer", "workload", "cost", "alternative", "break-even", "entry"],
                        be_rows,
                        numeric=(2, 4, 5),
                    ),
                    open_=True,
                )
            )
        capex = plan.tables.get("owned_capex")
        if capex is not None and len(capex):
            parts.append(
                details(
                    "Capex of owned builds by year",
                    table(
                        ["site", "year", "facility", "hardware", "total"],
                        [
                            [
                                r["site"],
                                str(r["year"]),
                                fmt.usd(r["facility_usd"]),
                                fmt.usd(r["hardware_usd"]),
                                fmt.usd(r["capex_usd"]),
                            ]
                            for _, r in capex.iterrows()
                        ],
                        numeric=(2, 3, 4),
                    ),
                    open_=True,
                )
            )
        return "".join(parts)

    def section_resilience(self) -> str:
        served, required = sec.resilience_matrices(self.plan)
        parts = []
        if served.size:
            parts.append(
                _p(
                    "Served fraction of each workload's demand in its worst period, in the base "
                    "plan and when each provider is down (training pauses during an outage and is "
                    "not shown there). Bold cells fall short of the required level."
                )
            )
            parts.append(self.chart("chart-resilience", charts.resilience(served, required)))
        parts.append(self.outage_mix_block())
        uns = self.plan.tables["unserved"]
        if len(uns):
            rows = [
                [r["workload"], r["scenario"], r["period"], fmt.compact(r["amount"]), r["unit"]]
                for _, r in uns.iterrows()
            ]
            parts.append(
                details(
                    f"Unserved demand ({len(rows)} rows)",
                    table(
                        ["workload", "scenario", "period", "short by", "unit"], rows, numeric=(3,)
                    ),
                )
            )
        if self.sim is not None:
            parts.append(self.sim_block())
        if not parts:
            return ""
        return self.section("resilience", "Resilience", "".join(parts))

    def outage_mix_block(self) -> str:
        """Who serves each outage: reserved/owned, on-demand and spot bursts, unserved, USD/h."""
        mix = self.s.outage_mix()
        if not len(mix):
            return ""
        rows = [
            [
                r["scenario"],
                r["workload"],
                fmt.pct(r["required_fraction"]),
                fmt.pct(r["reserved_fraction"]),
                fmt.pct(r["ondemand_fraction"]),
                fmt.pct(r["spot_fraction"]),
                fmt.pct(r["unserved_fraction"]),
                fmt.usd(r["ondemand_usd_per_hour"] + r["spot_usd_per_hour"]),
                fmt.usd(r["expected_burst_usd"]),
            ]
            for _, r in mix.iterrows()
        ]
        return details(
            f"Who serves each outage ({len(rows)} rows)",
            _p(
                "Shares of each workload's demand over the horizon served, in each outage, by "
                "reserved or owned capacity, by on-demand and spot bursts (within the market "
                "ceilings), and left unserved; what the bursts cost per hour of that outage, and "
                "over the horizon weighted by the outage's share of time."
            )
            + table(
                [
                    "outage",
                    "workload",
                    "required",
                    "reserved/owned",
                    "on-demand",
                    "spot",
                    "unserved",
                    "burst USD/h",
                    "expected burst USD",
                ],
                rows,
                numeric=range(2, 9),
                cls="small",
            ),
            open_=True,
        )

    def sim_block(self) -> str:
        view = self.sim
        assert view is not None
        info = view.info
        facts = []
        if info.get("trials") is not None:
            facts.append(f"{info['trials']} trials")
        if info.get("seed") is not None:
            facts.append(f"seed {info['seed']}")
        years = info.get("years")
        if isinstance(years, int | float):
            facts.append(f"the first {years:g} year{'s' if years != 1 else ''} of the plan")
        step = info.get("step_hours")
        if isinstance(step, int | float):
            facts.append(f"{fmt.hours(step)} steps")
        parts = [
            "<h3>Simulated</h3>",
            _p(
                "Monte Carlo over the plan: outages, failures, preemptions, late deliveries and "
                "demand shocks drawn per trial"
                + (f" ({esc(', '.join(facts))})" if facts else "")
                + ". Boxes span P5–P95, whiskers P1–P99; the solid line is the median, the "
                "dashed one the mean."
            ),
        ]
        figs = charts.sim_distributions(view)
        for i in range(0, len(figs), 2):
            pair = figs[i : i + 2]
            parts.append(
                "<div class='cols'>"
                + "".join(
                    self.chart(
                        f"chart-sim-{key.replace('_', '-')}",
                        fig,
                        esc(title[:1].upper() + title[1:]),
                    )
                    for key, title, fig in pair
                )
                + "</div>"
            )
        s = view.summary
        qcols = [c for c in ("mean", "p05", "p50", "p95", "p99") if c in s.columns]
        rows = [
            [r["metric"], *[fmt.metric(r[c], r["unit"]) for c in qcols], r["unit"]]
            for _, r in s.iterrows()
        ]
        parts.append(
            details(
                f"Simulation summary ({len(rows)} metrics)",
                table(
                    ["metric", *qcols, "unit"], rows, numeric=range(1, len(qcols) + 1), cls="small"
                ),
                open_=not figs,
            )
        )
        return "".join(parts)

    def section_negotiation(self) -> str:
        plan = self.plan
        parts = [
            _p(
                "What each provider is worth to this plan and where a price move would change "
                "it. From the planning model's re-solves and duals; present values."
            )
        ]
        wa = sec.walk_away(plan)
        parts.append("<h3>Walk-away value per provider</h3>")
        if wa is not None and len(wa):
            parts.append(
                _p(
                    "The extra spend of planning without the provider (its contracts still paid). "
                    "This is the most the plan gains from keeping it; a negative value means the "
                    "plan could spend less without it but would leave demand unmet."
                )
            )
            parts.append(self.chart("chart-walk-away", charts.walk_away(wa, self.colors)))
            parts.append(
                table(
                    ["provider", "extra spend", "unmet-demand penalty", "re-solve"],
                    [
                        [
                            r["provider"],
                            fmt.usd(r["walk_away_usd"]),
                            fmt.usd(r["penalty_usd"]) if r["penalty_usd"] > 1.0 else "none",
                            f"{r['seconds']:.2f} s",
                        ]
                        for _, r in wa.iterrows()
                    ],
                    numeric=(1, 2, 3),
                    cls="walk-away",
                )
            )
        else:
            parts.append(
                "<p class='muted'>Not computed: plan with <code>--walk-away</code> "
                "(<code>hyperplan plan scenario.yaml --walk-away</code>) to value each provider."
                "</p>"
            )
        entry = sec.entry_by_provider_accelerator(plan)
        parts.append("<h3>Entry prices: the cut that moves demand to an offer</h3>")
        if len(entry):
            parity = entry[entry["at_parity"]]
            parity_txt = (
                " Already at parity (would enter at list price, a tie with the plan): "
                + esc(
                    ", ".join(
                        f"{p} {a}"
                        for p, a in zip(parity["provider"], parity["accelerator"], strict=True)
                    )
                )
                + "."
                if len(parity)
                else ""
            )
            parts.append(
                _p(
                    "For each provider and accelerator, the smallest cut of the reserved price "
                    "at which one of its offers would enter the plan (from the reduced costs)."
                    + parity_txt
                )
            )
            if (~entry["at_parity"]).any():
                parts.append(
                    self.chart("chart-entry-prices", charts.entry_prices(entry, self.colors))
                )
            ep = plan.tables["entry_prices"]
            rows = [
                [
                    r["provider"],
                    r["accelerator"],
                    r["offer"],
                    fmt.pct(r["cut_fraction"]),
                    fmt.usd_rate(r["usd_per_hour"]),
                    fmt.usd_rate(r["entry_usd_per_hour"]),
                    r["best_start"],
                ]
                for _, r in entry.iterrows()
            ]
            parts.append(
                details(
                    f"Entry prices per provider and accelerator ({len(rows)}; "
                    f"{len(ep)} offer-terms in all)",
                    table(
                        [
                            "provider",
                            "accel.",
                            "offer (term)",
                            "cut",
                            "list USD/h",
                            "entry USD/h",
                            "best start",
                        ],
                        rows,
                        numeric=(3, 4, 5),
                        cls="small",
                    ),
                )
            )
        else:
            parts.append("<p class='muted'>No duals (integer plan without a dual re-solve).</p>")
        pol = sec.policy_costs(plan)
        parts.append("<h3>What each policy costs</h3>")
        if len(pol):
            parts.append(
                _p(
                    "Binding limits and the present-value saving of relaxing each by one unit, in "
                    "its costliest period and summed over the periods where it binds."
                )
            )
            top = pol.groupby("policy", sort=False).head(5)
            rows = [
                [
                    r["words"],
                    r["subject"],
                    str(r["periods"]),
                    fmt.usd(r["marginal_usd_max"]),
                    fmt.usd(r["marginal_usd_sum"]),
                    f"per {r['per']}",
                ]
                for _, r in top.iterrows()
            ]
            more = len(pol) - len(top)
            parts.append(
                table(
                    ["policy", "subject", "periods", "costliest period", "all periods", "unit"],
                    rows,
                    numeric=(2, 3, 4),
                    cls="policies",
                )
                + (
                    f"<p class='muted'>Five largest per policy shown; {more} more binding "
                    "rows in plan.json (table <code>policies</code>).</p>"
                    if more > 0
                    else ""
                )
            )
        else:
            parts.append("<p class='muted'>No policy binds.</p>")
        return self.section("negotiation", "Negotiation", "".join(parts))

    def section_strategies(self) -> str:
        t = self.compare
        if t is None or not len(t):
            return ""
        outage = [c for c in t.columns if str(c).startswith("served: ")]
        rows = []
        for _, r in t.iterrows():
            rows.append(
                [
                    r["strategy"],
                    fmt.usd(r.get("total_usd")),
                    fmt.usd(r.get("npv_usd")),
                    fmt.pct(r.get("max_share")),
                    fmt.power_mw(r.get("peak_mw")),
                    *[fmt.pct(r[c]) for c in outage],
                ]
            )
        inner = (
            _p(
                "The same scenario planned under other rules; every strategy's commitments are "
                "then judged on the same provider outages (served fraction of inference, worst "
                "period)."
            )
            + self.chart("chart-strategies", charts.strategies(t))
            + table(
                ["strategy", "total", "present value", "max share", "peak power"]
                + [c.removeprefix("served: ") for c in outage],
                rows,
                numeric=range(1, 5 + len(outage)),
                cls="small",
            )
        )
        return self.section("strategies", "Strategy comparison", inner)

    def section_assumptions(self) -> str:
        plan = self.plan
        scenario = plan.meta.get("scenario") or {}
        horizon = scenario.get("horizon") or {}
        policies = scenario.get("policies") or {}
        items = []
        if horizon:
            items.append(
                f"Horizon: {esc(horizon.get('periods'))} {esc(horizon.get('period'))}s from "
                f"{esc(horizon.get('start'))}; discount rate "
                f"{esc(fmt.pct(horizon.get('discount_rate')))} a year; commitments past its end: "
                f"{esc(liability.end_effects(plan))} (docs/formulation.md, choice 3)."
            )
        if policies:
            ms = policies.get("max_share")
            items.append(
                "Policies: max share "
                + esc(fmt.pct(ms, 0) if isinstance(ms, int | float) else ms or "none")
                + f" by {esc(policies.get('share_by'))}; outages planned: "
                + esc(policies.get("outages"))
                + (
                    f"; target {esc(fmt.power_mw(policies['target_gw'] * 1000))} (reported, not "
                    "enforced)"
                    if policies.get("target_gw")
                    else ""
                )
                + "."
            )
        outages = (plan.meta.get("outages") or {}).get("providers") or {}
        if outages:
            items.append(
                "Outage models: "
                + esc(
                    "; ".join(
                        f"{p} {m.get('rate_per_year', 0):g}/year × {fmt.hours(m.get('mean_hours'))}"
                        for p, m in outages.items()
                    )
                )
                + "."
            )
        caps = sec.market_ceiling_words(plan)
        if caps:
            items.append(esc(caps))
        for c in scenario.get("contracts") or []:
            items.append(
                f"Contract {esc(c.get('name'))}: {esc(c.get('provider'))}, "
                f"{esc(fmt.usd(c.get('committed_usd')))} take-or-pay {esc(c.get('start'))} – "
                f"{esc(c.get('end'))}, discount {esc(fmt.pct(c.get('discount'), 0))}."
            )
        res = scenario.get("reservations") or []
        if res:
            items.append(f"Existing reservations: {len(res)} (see the scenario file).")
        st = plan.stats
        items.append(
            esc(
                f"Solver: {st.get('status')}, {int(st.get('rows', 0) or 0):,} rows × "
                f"{int(st.get('columns', 0) or 0):,} columns; build "
                f"{float(st.get('build_seconds', 0) or 0):.2f} s, solve "
                f"{float(st.get('solve_seconds', 0) or 0):.2f} s."
            )
        )
        rows_df = sec.catalog_rows(plan, self.catalog_offers)
        est = sec.estimated_perf(plan)
        flagged = int((rows_df["estimated_perf"] != "").sum()) if len(rows_df) else 0
        cat_rows = [
            [
                r["provider"],
                r["region"],
                r["instance_type"],
                r["accelerator"],
                fmt.count(r["gpus"]) if r["gpus"] > 0 else "–",
                f"{r['kw_facility']:.2f}",
                fmt.usd_rate(r["ondemand_usd_per_hour"]),
                "yes" if r["used"] else "",
                (f"<span class='flag'>estimated</span> {esc(r['estimated_perf'])}")
                if r["estimated_perf"]
                else "",
                esc(r["source"]),
            ]
            for _, r in rows_df.iterrows()
        ]
        used = int(rows_df["used"].sum()) if len(rows_df) else 0
        est_note = (
            f"{len(est)} performance figures are estimates (flagged below; MLPerf scaled to the "
            "workload's model, see docs/catalog.md)."
            if len(est)
            else "No performance figure is an estimate: every one is measured or given."
        )
        inner = (
            "<ul class='facts'>"
            + "".join(f"<li>{i}</li>" for i in items)
            + "</ul>"
            + _p(
                f"Catalog rows in play: {len(rows_df)}, of which the plan uses {used}. "
                + esc(est_note)
            )
            + details(
                f"Catalog rows and their sources ({len(rows_df)}; {flagged} with estimated perf)",
                table(
                    [
                        "provider",
                        "region",
                        "instance",
                        "accel.",
                        "GPUs",
                        "kW",
                        "on-demand USD/h",
                        "used",
                        "perf",
                        "source",
                    ],
                    cat_rows,
                    numeric=(4, 5, 6),
                    raw_html=(8, 9),
                    cls="small sources",
                ),
                open_=False,
            )
        )
        if plan.warnings:
            inner += (
                "<h3>Planner warnings</h3><ul class='warnings'>"
                + "".join(f"<li>{esc(w)}</li>" for w in plan.warnings)
                + "</ul>"
            )
        return self.section("assumptions", "Assumptions and data sources", inner)


def _kpi(
    key: str,
    label: str,
    value: str,
    note: str,
    data: dict[str, float | None],
    *,
    warn: bool = False,
) -> str:
    attrs = " ".join(f'data-{k}="{_raw(v)}"' for k, v in data.items() if v is not None)
    cls = "kpi warn" if warn else "kpi"
    return (
        f'<div class="{cls}" id="kpi-{key}" data-kpi="{key}" {attrs}>'
        f'<div class="kpi-label">{esc(label)}</div>'
        f'<div class="kpi-value">{esc(value)}</div>'
        f'<div class="kpi-note">{esc(note)}</div></div>'
    )


_CSS = """
:root { --fg:#1d2330; --muted:#5b6575; --line:#e3e7ee; --bg:#ffffff; --soft:#f5f7fa;
  --accent:#1F4E79; --bad:#b42318; --good:#137333; --warnbg:#fff6e5; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin:0; color:var(--fg); background:var(--bg);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  line-height:1.45; }
header.top { padding: 20px 28px 8px; max-width: 1180px; margin: 0 auto; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h1 .sub { color: var(--muted); font-weight: 400; }
h2 { font-size: 1.3rem; margin: 0 0 10px; padding-top: 6px; border-top: 3px solid var(--accent);
  break-after: avoid; }
h3 { font-size: 1.05rem; margin: 18px 0 8px; break-after: avoid; }
.meta, .desc, .muted, .lead { color: var(--muted); }
.desc { max-width: 900px; }
.lead { max-width: 900px; margin: 4px 0 10px; }
nav.toc { position: sticky; top: 0; z-index: 10; background: rgba(255,255,255,.96);
  border-bottom: 1px solid var(--line); padding: 6px 28px; display: flex; flex-wrap: wrap;
  gap: 4px 16px; justify-content: center; font-size: .9rem; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
main { max-width: 1180px; margin: 0 auto; padding: 8px 28px 24px; }
section.hp-section { margin: 22px 0 30px; }
.badge { display:inline-block; padding: 1px 8px; border-radius: 10px; font-size: .8rem;
  font-weight: 600; }
.badge.ok { background: #e6f4ea; color: var(--good); }
.badge.warn { background: var(--warnbg); color: #8a5300; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px;
  margin: 6px 0 8px; }
.kpi { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px;
  background: var(--soft); break-inside: avoid; }
.kpi.warn { background: var(--warnbg); border-color: #f1d29b; }
.kpi-label { font-size: .8rem; color: var(--muted); text-transform: uppercase;
  letter-spacing: .03em; }
.kpi-value { font-size: 1.45rem; font-weight: 650; margin: 2px 0; white-space: nowrap; }
.kpi-note { font-size: .82rem; color: var(--muted); }
.cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 18px; }
ol.risks li { margin: 4px 0; }
div.misses { border: 1px solid #e3a0a0; background: #fdf0f0; border-radius: 8px;
  padding: 4px 14px; margin: 6px 0 10px; }
ul.misses li { color: #9b1c1c; margin: 3px 0; }
figure.hp-figure { margin: 8px 0 14px; break-inside: avoid; }
figure.hp-figure figcaption { font-size: .85rem; color: var(--muted); margin-top: 2px; }
.hp-chart { width: 100%; min-height: 120px; }
.table-wrap { overflow-x: auto; margin: 6px 0 12px; }
table.hp-table { border-collapse: collapse; font-size: .9rem; min-width: 40%; }
table.hp-table th, table.hp-table td { padding: 4px 10px; border-bottom: 1px solid var(--line);
  text-align: left; vertical-align: top; }
table.hp-table th { background: var(--soft); font-weight: 600; white-space: nowrap; }
table.hp-table td.num, table.hp-table th.num { text-align: right; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
table.hp-table tr.total td { font-weight: 650; border-top: 2px solid var(--line); }
table.hp-table tbody tr:nth-child(even) { background: #fbfcfd; }
table.small { font-size: .8rem; }
table.sources td:last-child { min-width: 280px; color: var(--muted); }
.ok { color: var(--good); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.flag { background: var(--warnbg); color: #8a5300; padding: 0 5px; border-radius: 4px;
  font-size: .75rem; }
details { margin: 6px 0 12px; }
details > summary { cursor: pointer; color: var(--accent); font-weight: 550; }
ul.warnings li { color: #8a5300; }
footer { max-width: 1180px; margin: 0 auto; padding: 12px 28px 28px; color: var(--muted);
  font-size: .85rem; border-top: 1px solid var(--line); }
code { background: var(--soft); padding: 0 4px; border-radius: 3px; }
@media (max-width: 700px) { .cols { grid-template-columns: 1fr; } main, header.top { padding-left: 12px; padding-right: 12px; } }
@page { size: A4 landscape; margin: 10mm; }
@media print {
  html { font-size: 12px; }
  nav.toc, .modebar-container { display: none !important; }
  main, header.top, footer { max-width: none; padding-left: 0; padding-right: 0; }
  section.hp-section { break-before: page; margin-top: 0; }
  section#summary { break-before: avoid; }
  .table-wrap { overflow: visible; }
  details > summary { color: var(--fg); }
  .kpi, .kpi.warn { background: none; }
  a { color: inherit; text-decoration: none; }
}
"""

_SCRIPT = """
(function () {
  function plots() { return Array.prototype.slice.call(document.querySelectorAll('.hp-chart .js-plotly-plot')); }
  function resizeAll() { if (window.Plotly) { plots().forEach(function (d) { window.Plotly.Plots.resize(d); }); } }
  window.addEventListener('beforeprint', function () {
    document.querySelectorAll('details').forEach(function (d) { d.setAttribute('data-was-open', d.open ? '1' : '0'); d.open = true; });
    resizeAll();
  });
  window.addEventListener('afterprint', function () {
    document.querySelectorAll('details').forEach(function (d) { d.open = d.getAttribute('data-was-open') === '1'; });
    resizeAll();
  });
  document.addEventListener('toggle', function () { resizeAll(); }, true);
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="hyperplan">
<title>{title}</title>
<style>{css}</style>
<script type="text/javascript">{plotlyjs}</script>
</head>
<body>
<header class="top">{header}</header>
<nav class="toc">{nav}</nav>
<main>
{body}
</main>
<footer>{footer}</footer>
<script type="application/json" id="hp-data">{data}</script>
<script type="text/javascript">{script}</script>
</body>
</html>
"""
