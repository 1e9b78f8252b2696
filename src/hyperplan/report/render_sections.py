"""One renderer per section of the HTML report: each takes the :class:`~hyperplan.report.render.Doc`,
formats the tables of :mod:`hyperplan.report.sections` (and :mod:`~hyperplan.report.summary`,
:mod:`~hyperplan.report.liability`) with :mod:`hyperplan.report.fmt`, draws its charts, and renders
its template ``templates/<section>.html.j2``. A renderer returns ``""`` when its section has
nothing to show (strategies without a comparison).

Cells are plain text (escaped by the templates) unless they are a
:class:`~hyperplan.report.render.Cell`. Money in USD, power in MW, shares as fractions, as in the
tables they come from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from markupsafe import Markup

from hyperplan.plan.api import Plan
from hyperplan.report import charts, fmt, liability
from hyperplan.report import sections as sec
from hyperplan.report.render import Cell, Doc, raw_number, render
from hyperplan.report.route_mix import route_mix_lines
from hyperplan.version import __version__

#: served below the required level by more than this counts as short (fraction)
SHORT_TOLERANCE = 1e-6
#: commitment groups drawn at most (the table lists all)
COMMITMENT_GROUPS_DRAWN = 30


def _section(template: str, sid: str, title: str, **context: Any) -> Markup:
    return render(template, sid=sid, title=title, **context)


# ---------------------------------------------------------------------------------- header
def header(doc: Doc) -> dict[str, Any]:
    """The page header's values: name, status (and its badge class), the periods' span, the
    providers, when and by which version it was made, the scenario's description."""
    plan = doc.plan
    labels = sec.periods(plan)
    desc = getattr(plan.context.scenario, "description", None) or ""
    return {
        "name": plan.scenario_name,
        "status": plan.status,
        "status_cls": "ok" if str(plan.status).startswith("optimal") else "warn",
        "span": f"{labels[0]} – {labels[-1]} ({len(labels)} periods)" if labels else "",
        "providers": ", ".join(doc.providers),
        "generated": doc.generated.isoformat().replace("+00:00", " UTC"),
        "version": __version__,
        "description": desc,
    }


# ---------------------------------------------------------------------------------- summary
def _kpi(
    key: str,
    label: str,
    value: str,
    note: str,
    data: dict[str, float | None],
    *,
    warn: bool = False,
) -> dict[str, Any]:
    return {
        "key": key,
        "label": label,
        "value": value,
        "note": note,
        "data": [(f"data-{k}", raw_number(v)) for k, v in data.items() if v is not None],
        "warn": warn,
    }


def _outage_matrix(doc: Doc) -> dict[str, Any] | None:
    """Outage scenarios (rows) × workloads kept under an outage (columns): served fraction in
    the worst period, cells below the required level marked; None without outages."""
    served, required = sec.resilience_matrices(doc.plan)
    outages = [c for c in served.columns if c != "base"]
    if not outages:
        return None
    work = [w for w in served.index if served.loc[w, outages].notna().any()]
    rows: list[list[Any]] = []
    attrs: list[list[tuple[str, str]]] = []
    for o in outages:
        cells: list[Any] = []
        for w in work:
            v, need = served.loc[w, o], required.loc[w, o]
            if pd.isna(v):
                cells.append("–")
            elif v < need - SHORT_TOLERANCE:
                cells.append(Cell(fmt.pct(v), "bad", title=f"needs {fmt.pct(need, 0)}"))
            else:
                cells.append(fmt.pct(v))
        short = [
            w
            for w in work
            if pd.notna(served.loc[w, o])
            and served.loc[w, o] < required.loc[w, o] - SHORT_TOLERANCE
        ]
        verdict = Cell(f"short: {', '.join(short)}", "bad") if short else Cell("met", "ok")
        rows.append([o, *cells, verdict])
        attrs.append([("data-scenario", o)])
    rows.append(
        [
            Cell("required", "i"),
            *[Cell(fmt.pct(required.loc[w, outages].max(), 0), "i") for w in work],
            "",
        ]
    )
    attrs.append([("class", "required")])
    return {
        "headers": ["outage", *work, ""],
        "rows": rows,
        "numeric": range(1, len(work) + 1),
        "attrs": attrs,
    }


def _kpis(doc: Doc) -> list[dict[str, Any]]:
    """The headline cards: total and present-value spend, peak power, max provider share, the
    worst single outage (when outages were planned), new commitments."""
    s, plan = doc.s, doc.plan
    cap = plan.context.max_share
    cap_txt = (
        f"cap {fmt.pct(cap, 0)}"
        if isinstance(cap, int | float)
        else ("caps per provider" if cap else "no cap")
    )
    rate = getattr(getattr(plan.context.scenario, "horizon", None), "discount_rate", None)
    worst = s.outage_served()
    com = plan.tables["commitments"]
    com_value = float(com["contract_value_usd"].sum()) if len(com) else 0.0
    kpis = [
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
        kpis.append(
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
    kpis.append(
        _kpi(
            "commitments",
            "New commitments",
            fmt.usd(com_value),
            f"{len(com)} reservations (whole-term value)",
            {"commitments-usd": com_value, "commitments-count": float(len(com))},
        )
    )
    return kpis


def _spend_years(doc: Doc) -> dict[str, Any] | None:
    """Spend per calendar year and provider with a total row (each row carries its year and
    raw USD in data attributes); None when nothing is spent."""
    years = doc.s.spend_year_provider
    if not len(years):
        return None
    rows: list[list[Any]] = []
    attrs: list[list[tuple[str, str]]] = []
    for year, row in years.iterrows():
        rows.append([str(year), *[fmt.usd(v) for v in row], fmt.usd(row.sum())])
        attrs.append([("data-year", str(year)), ("data-usd", raw_number(row.sum()))])
    total = years.sum(axis=0)
    rows.append(["total", *[fmt.usd(v) for v in total], fmt.usd(total.sum())])
    attrs.append(
        [("class", "total"), ("data-year", "total"), ("data-usd", raw_number(total.sum()))]
    )
    return {
        "headers": ["year", *map(str, years.columns), "total"],
        "rows": rows,
        "numeric": range(1, len(years.columns) + 2),
        "attrs": attrs,
    }


def summary(doc: Doc) -> Markup:
    """Executive summary: missed targets, build/rent/buy, headline cards, risks, the outage
    matrix, what is owed after the horizon, spend per year, warnings."""
    s, plan = doc.s, doc.plan
    kpis = _kpis(doc)
    years = _spend_years(doc)
    chart = (
        doc.chart(
            "chart-spend-year",
            charts.spend_per_year(s.spend_year_provider, doc.colors),
            "Nominal spend per calendar year and provider.",
        )
        if years is not None
        else Markup("")
    )
    missed = plan.misses()
    liability_headers, liability_rows = liability.rows(plan)
    return _section(
        "summary.html.j2",
        "summary",
        "Executive summary",
        misses=list(zip(missed["kind"], missed["message"], strict=True)) if len(missed) else [],
        route_mix=route_mix_lines(plan),
        kpis=kpis,
        risks=s.risks(),
        outages=_outage_matrix(doc),
        liability_sentence=liability.sentence(plan),
        liability_headers=liability_headers,
        liability_rows=liability_rows,
        years=years,
        chart=chart,
        warnings=s.warnings,
    )


# ---------------------------------------------------------------------------------- capacity
def capacity(doc: Doc) -> Markup:
    """GPUs by provider and accelerator, facility power by provider (with the target), and a
    table of peak and last-period figures per provider."""
    plan = doc.plan
    if not len(plan.tables["capacity"]):
        return _section("capacity.html.j2", "capacity", "Capacity", empty=True)
    gpus_p = sec.capacity_by(plan, "provider", "gpus")
    gpus_a = sec.capacity_by(plan, "accelerator", "gpus")
    mw_p = sec.capacity_by(plan, "provider", "mw")
    acc_colors = charts.colors_for(list(gpus_a.columns), known={})
    gpu_charts = []
    if gpus_p.shape[1]:
        gpu_charts = [
            doc.chart(
                "chart-capacity-gpus-provider",
                charts.stacked_periods(gpus_p, doc.colors, value="gpus"),
                "GPUs by provider.",
            ),
            doc.chart(
                "chart-capacity-gpus-accelerator",
                charts.stacked_periods(gpus_a, acc_colors, value="gpus"),
                "GPUs by accelerator.",
            ),
        ]
    target = doc.s.target_mw
    mw_chart = doc.chart(
        "chart-capacity-mw",
        charts.stacked_periods(mw_p, doc.colors, value="mw", target_mw=target),
        "Facility power by provider"
        + (f"; dashed: the {fmt.power_mw(target)} target." if target else "."),
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
    return _section(
        "capacity.html.j2",
        "capacity",
        "Capacity",
        empty=False,
        gpu_charts=gpu_charts,
        mw_chart=mw_chart,
        headers=["provider", "peak GPUs", f"GPUs {last}", "peak power", f"power {last}"],
        rows=rows,
    )


# ---------------------------------------------------------------------------------- spend
def spend(doc: Doc) -> Markup:
    """Nominal and present-value spend per year, provider and market."""
    long = sec.spend_by_year_provider_market(doc.plan)
    if not len(long):
        return _section("spend.html.j2", "spend", "Spend", empty=True)
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
    chart = doc.chart(
        "chart-spend-market",
        charts.spend_by_market(long),
        "Bars per year and provider, stacked by market.",
    )
    return _section("spend.html.j2", "spend", "Spend", empty=False, chart=chart, rows=rows)


# ---------------------------------------------------------------------------------- commitments
def commitments(doc: Doc) -> Markup:
    """Contract groups on a timeline (the largest drawn) and every new reservation."""
    plan = doc.plan
    com = plan.tables["commitments"]
    if not len(com):
        return _section("commitments.html.j2", "commitments", "Commitments", empty=True)
    tl = sec.commitment_timeline(plan)
    limit = COMMITMENT_GROUPS_DRAWN
    shown = tl.nlargest(limit, "contract_value_usd") if len(tl) > limit else tl
    shown = tl.loc[sorted(shown.index)]
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
    chart = doc.chart(
        "chart-commitments", charts.commitments(shown, doc.colors, sec.horizon_end(plan))
    )
    return _section(
        "commitments.html.j2",
        "commitments",
        "Commitments",
        empty=False,
        limit=limit,
        groups=len(tl),
        chart=chart,
        rows=rows,
    )


# ---------------------------------------------------------------------------------- allocation
def _routes(plan: Plan) -> dict[str, list[list[str]]]:
    """Rent, build or managed: shares per route, break-evens, capex of owned builds (rows)."""
    out: dict[str, list[list[str]]] = {"routes": [], "break_even": [], "capex": []}
    summary_df = sec.route_summary(plan)
    if summary_df is None or not len(summary_df):
        return out
    out["routes"] = [
        [
            r["workload"],
            r["route"],
            fmt.pct(r["share"]) if r["share"] == r["share"] else "–",
            fmt.usd(r["usd"]),
            fmt.usd_rate(r["usd_per_gpu_hour"]),
            fmt.usd_rate(r["usd_per_million_tokens"]),
        ]
        for _, r in summary_df.iterrows()
    ]
    be = plan.tables.get("break_even")
    if be is not None and len(be):
        for _, r in be.iterrows():
            owned = r["route"] == "owned"
            out["break_even"].append(
                [
                    r["offer_id"],
                    r["workload"],
                    fmt.usd_rate(r["usd_per_gpu_hour"] if owned else r["usd_per_million_tokens"])
                    + (" /GPU-h" if owned else " /M tokens"),
                    r["alternative_offer_id"] or "–",
                    fmt.pct(r["break_even_utilisation"])
                    if owned
                    else fmt.usd_rate(r["break_even_usd_per_hour"]) + " /h",
                    fmt.usd_rate(r["entry_usd_per_hour"]) if owned else "–",
                ]
            )
    capex = plan.tables.get("owned_capex")
    if capex is not None and len(capex):
        out["capex"] = [
            [
                r["site"],
                str(r["year"]),
                fmt.usd(r["facility_usd"]),
                fmt.usd(r["hardware_usd"]),
                fmt.usd(r["capex_usd"]),
            ]
            for _, r in capex.iterrows()
        ]
    return out


def allocation(doc: Doc) -> Markup:
    """Each workload's served demand by provider and its market mix; then the routes."""
    plan = doc.plan
    share = sec.allocation_share(plan)
    if not len(share):
        return _section("allocation.html.j2", "allocation", "Allocation", empty=True)
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
    chart = doc.chart("chart-allocation", charts.allocation(share, doc.colors, workloads))
    return _section(
        "allocation.html.j2",
        "allocation",
        "Allocation",
        empty=False,
        chart=chart,
        rows=rows,
        **_routes(plan),
    )


# ---------------------------------------------------------------------------------- resilience
def _sim(doc: Doc) -> dict[str, Any] | None:
    """The simulated distributions: facts of the run, box charts in pairs, the summary rows."""
    view = doc.sim
    if view is None:
        return None
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
    figs = charts.sim_distributions(view)
    chart_rows = [
        [
            doc.chart(f"chart-sim-{key.replace('_', '-')}", fig, title[:1].upper() + title[1:])
            for key, title, fig in figs[i : i + 2]
        ]
        for i in range(0, len(figs), 2)
    ]
    s = view.summary
    quantiles = [c for c in ("mean", "p05", "p50", "p95", "p99") if c in s.columns]
    rows = [
        [r["metric"], *[fmt.metric(r[c], r["unit"]) for c in quantiles], r["unit"]]
        for _, r in s.iterrows()
    ]
    return {
        "facts": ", ".join(facts),
        "chart_rows": chart_rows,
        "quantiles": quantiles,
        "rows": rows,
        "open": not figs,
    }


def resilience(doc: Doc) -> Markup:
    """Served fraction per workload and outage, who serves each outage, unserved demand, and
    the simulation when one is given."""
    served, required = sec.resilience_matrices(doc.plan)
    heatmap = (
        doc.chart("chart-resilience", charts.resilience(served, required)) if served.size else None
    )
    mix = [
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
        for _, r in doc.s.outage_mix().iterrows()
    ]
    unserved = [
        [r["workload"], r["scenario"], r["period"], fmt.compact(r["amount"]), r["unit"]]
        for _, r in doc.plan.tables["unserved"].iterrows()
    ]
    return _section(
        "resilience.html.j2",
        "resilience",
        "Resilience",
        heatmap=heatmap,
        mix=mix,
        unserved=unserved,
        sim=_sim(doc),
    )


# ---------------------------------------------------------------------------------- negotiation
def negotiation(doc: Doc) -> Markup:
    """Walk-away value per provider, entry prices per provider and accelerator, and what each
    binding policy costs (the five largest per policy)."""
    plan = doc.plan
    wa = sec.walk_away(plan)
    walk_away = None
    if wa is not None and len(wa):
        walk_away = {
            "chart": doc.chart("chart-walk-away", charts.walk_away(wa, doc.colors)),
            "rows": [
                [
                    r["provider"],
                    fmt.usd(r["walk_away_usd"]),
                    fmt.usd(r["penalty_usd"]) if r["penalty_usd"] > 1.0 else "none",
                    f"{r['seconds']:.2f} s",
                ]
                for _, r in wa.iterrows()
            ],
        }
    entry_df = sec.entry_by_provider_accelerator(plan)
    entry = None
    if len(entry_df):
        parity = entry_df[entry_df["at_parity"]]
        entry = {
            "parity": ", ".join(
                f"{p} {a}" for p, a in zip(parity["provider"], parity["accelerator"], strict=True)
            ),
            "chart": (
                doc.chart("chart-entry-prices", charts.entry_prices(entry_df, doc.colors))
                if (~entry_df["at_parity"]).any()
                else None
            ),
            "rows": [
                [
                    r["provider"],
                    r["accelerator"],
                    r["offer"],
                    fmt.pct(r["cut_fraction"]),
                    fmt.usd_rate(r["usd_per_hour"]),
                    fmt.usd_rate(r["entry_usd_per_hour"]),
                    r["best_start"],
                ]
                for _, r in entry_df.iterrows()
            ],
            "offer_terms": len(plan.tables["entry_prices"]),
        }
    pol = sec.policy_costs(plan)
    policies = None
    if len(pol):
        top = pol.groupby("policy", sort=False).head(5)
        policies = {
            "rows": [
                [
                    r["words"],
                    r["subject"],
                    str(r["periods"]),
                    fmt.usd(r["marginal_usd_max"]),
                    fmt.usd(r["marginal_usd_sum"]),
                    f"per {r['per']}",
                ]
                for _, r in top.iterrows()
            ],
            "more": len(pol) - len(top),
        }
    return _section(
        "negotiation.html.j2",
        "negotiation",
        "Negotiation",
        walk_away=walk_away,
        entry=entry,
        policies=policies,
    )


# ---------------------------------------------------------------------------------- strategies
def strategies(doc: Doc) -> Markup:
    """The strategy comparison (present value, worst served fraction under one outage);
    nothing without a comparison."""
    t = doc.compare
    if t is None or not len(t):
        return Markup("")
    outage = [c for c in t.columns if str(c).startswith("served: ")]
    rows = [
        [
            r["strategy"],
            fmt.usd(r.get("total_usd")),
            fmt.usd(r.get("npv_usd")),
            fmt.pct(r.get("max_share")),
            fmt.power_mw(r.get("peak_mw")),
            *[fmt.pct(r[c]) for c in outage],
        ]
        for _, r in t.iterrows()
    ]
    return _section(
        "strategies.html.j2",
        "strategies",
        "Strategy comparison",
        chart=doc.chart("chart-strategies", charts.strategies(t)),
        outages=[c.removeprefix("served: ") for c in outage],
        rows=rows,
    )


# ---------------------------------------------------------------------------------- assumptions
def _facts(doc: Doc) -> list[str]:
    """Horizon, policies, outage models, market ceilings, contracts, reservations, solver."""
    plan = doc.plan
    # a plan.json written by hand may hold a partial scenario: each part only when present
    scenario = plan.context.scenario
    horizon = getattr(scenario, "horizon", None)
    policies = getattr(scenario, "policies", None)
    items = []
    if horizon is not None:
        items.append(
            f"Horizon: {horizon.periods} {horizon.period}s from {horizon.start}; discount rate "
            f"{fmt.pct(horizon.discount_rate)} a year; commitments past its end: "
            f"{liability.end_effects(plan)} (docs/formulation.md, choice 3)."
        )
    if policies is not None:
        ms = policies.max_share
        items.append(
            "Policies: max share "
            + str(fmt.pct(ms, 0) if isinstance(ms, int | float) else ms or "none")
            + f" by {policies.share_by}; outages planned: {policies.outages}"
            + (
                f"; target {fmt.power_mw(policies.target_gw * 1000)} (reported, not enforced)"
                if policies.target_gw
                else ""
            )
            + "."
        )
    outages = plan.context.outages.providers
    if outages:
        items.append(
            "Outage models: "
            + "; ".join(
                f"{p} {m.rate_per_year:g}/year × {fmt.hours(m.mean_hours)}"
                for p, m in outages.items()
            )
            + "."
        )
    caps = sec.market_ceiling_words(plan)
    if caps:
        items.append(caps)
    for c in getattr(scenario, "contracts", None) or []:
        items.append(
            f"Contract {c.name}: {c.provider}, {fmt.usd(c.committed_usd)} take-or-pay "
            f"{c.start} – {c.end}, discount {fmt.pct(c.discount, 0)}."
        )
    res = getattr(scenario, "reservations", None) or []
    if res:
        items.append(f"Existing reservations: {len(res)} (see the scenario file).")
    st = plan.stats
    items.append(
        f"Solver: {st.get('status')}, {int(st.get('rows', 0) or 0):,} rows × "
        f"{int(st.get('columns', 0) or 0):,} columns; build "
        f"{float(st.get('build_seconds', 0) or 0):.2f} s, solve "
        f"{float(st.get('solve_seconds', 0) or 0):.2f} s."
    )
    return items


def assumptions(doc: Doc) -> Markup:
    """The plan's assumptions and every catalog row in play with its source."""
    plan = doc.plan
    rows_df = sec.catalog_rows(plan, doc.catalog_offers)
    est = sec.estimated_perf(plan)
    flagged = int((rows_df["estimated_perf"] != "").sum()) if len(rows_df) else 0
    rows = [
        [
            r["provider"],
            r["region"],
            r["instance_type"],
            r["accelerator"],
            fmt.count(r["gpus"]) if r["gpus"] > 0 else "–",
            f"{r['kw_facility']:.2f}",
            fmt.usd_rate(r["ondemand_usd_per_hour"]),
            "yes" if r["used"] else "",
            Cell(r["estimated_perf"], "flag") if r["estimated_perf"] else "",
            r["source"],
        ]
        for _, r in rows_df.iterrows()
    ]
    return _section(
        "assumptions.html.j2",
        "assumptions",
        "Assumptions and data sources",
        facts=_facts(doc),
        rows=rows,
        used=int(rows_df["used"].sum()) if len(rows_df) else 0,
        flagged=flagged,
        estimates=len(est),
        warnings=plan.warnings,
    )


#: (id, title in the navigation, renderer) of the sections, in page order
SECTIONS: tuple[tuple[str, str, Callable[[Doc], Markup]], ...] = (
    ("summary", "Executive summary", summary),
    ("capacity", "Capacity", capacity),
    ("spend", "Spend", spend),
    ("commitments", "Commitments", commitments),
    ("allocation", "Allocation", allocation),
    ("resilience", "Resilience", resilience),
    ("negotiation", "Negotiation", negotiation),
    ("strategies", "Strategies", strategies),
    ("assumptions", "Assumptions and sources", assumptions),
)
