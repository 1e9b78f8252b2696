"""Plotly figures of the HTML report, built from the tables of :mod:`hyperplan.report.sections`.

Hover texts carry the same formatted numbers as the tables (:mod:`hyperplan.report.fmt`); axes
are scaled to a readable unit (USD billions, GW) and say so in their titles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hyperplan.report import fmt
from hyperplan.report.sections import MARKET_ORDER, MARKET_WORDS, SimView

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

PROVIDER_COLORS = {
    "aws": "#FF9900",
    "azure": "#0078D4",
    "gcp": "#34A853",
    "oci": "#C74634",
    "nebius": "#6E56CF",
    "lambda": "#0F9D9A",
    "coreweave": "#2C3E50",
}
PALETTE = (
    "#4C78A8",
    "#F58518",
    "#54A24B",
    "#E45756",
    "#72B7B2",
    "#B279A2",
    "#EECA3B",
    "#9D755D",
    "#FF9DA6",
    "#BAB0AC",
)
MARKET_COLORS = {
    "reserved": "#1F4E79",
    "existing": "#8FAACC",
    "ondemand": "#F28E2B",
    "spot": "#76B7B2",
    "shortfall": "#E15759",
}


def colors_for(names: Sequence[str], known: dict[str, str] | None = None) -> dict[str, str]:
    """A stable colour per name: the known colour, else the palette in order of appearance."""
    known = PROVIDER_COLORS if known is None else known
    out: dict[str, str] = {}
    free = [c for c in PALETTE if c not in known.values()]
    i = 0
    for name in names:
        if name in known:
            out[name] = known[name]
        else:
            out[name] = free[i % len(free)]
            i += 1
    return out


def usd_scale(max_abs: float) -> tuple[float, str]:
    """(divisor, axis title) for an axis of USD whose largest absolute value is ``max_abs``."""
    for div, words in ((1e12, "trillions"), (1e9, "billions"), (1e6, "millions"), (1e3, "k")):
        if max_abs >= div:
            return div, f"USD {words}" if words != "k" else "USD thousands"
    return 1.0, "USD"


def _layout(fig: go.Figure, height: int, **kw: object) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 64, "r": 16, "t": 16, "b": 48},
        font={"family": FONT, "size": 12},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.01,
            "x": 0,
            "traceorder": "normal",
        },
        hoverlabel={"font": {"family": FONT}},
        **kw,
    )
    return fig


def spend_per_year(by_year_provider: pd.DataFrame, colors: dict[str, str]) -> go.Figure:
    """Stacked bars: nominal spend per year (x) and provider; the year's total on top."""
    fig = go.Figure()
    years = [str(y) for y in by_year_provider.index]
    total = by_year_provider.sum(axis=1).to_numpy(dtype=float)
    div, title = usd_scale(float(np.abs(total).max()) if len(total) else 0.0)
    for p in by_year_provider.columns:
        v = by_year_provider[p].to_numpy(dtype=float)
        fig.add_bar(
            x=years,
            y=v / div,
            name=str(p),
            marker_color=colors.get(p),
            customdata=[fmt.usd(x) for x in v],
            hovertemplate="%{x} " + str(p) + ": %{customdata}<extra></extra>",
        )
    fig.add_scatter(
        x=years,
        y=total / div,
        mode="text",
        text=[fmt.usd(t) for t in total],
        textposition="top center",
        showlegend=False,
        hoverinfo="skip",
    )
    fig.update_yaxes(title_text=title, rangemode="tozero")
    fig.update_xaxes(type="category")
    top = float(total.max() / div) if len(total) else 1.0
    fig.update_yaxes(range=[0, top * 1.15 if top > 0 else 1])
    return _layout(fig, 340, barmode="stack")


def stacked_periods(
    table: pd.DataFrame,
    colors: dict[str, str],
    *,
    value: str,
    target_mw: float | None = None,
) -> go.Figure:
    """Stacked bars per period (rows of ``table``) by its columns; ``value`` "gpus" or "mw"."""
    fig = go.Figure()
    x = [str(i) for i in table.index]
    gw = value == "mw" and float(table.sum(axis=1).max() if len(table) else 0) >= 1000
    scale = 1000.0 if gw else 1.0
    for col in table.columns:
        v = table[col].to_numpy(dtype=float)
        text = [fmt.power_mw(a) for a in v] if value == "mw" else [fmt.count(a) for a in v]
        fig.add_bar(
            x=x,
            y=v / scale,
            name=str(col),
            marker_color=colors.get(col),
            customdata=text,
            hovertemplate="%{x} " + str(col) + ": %{customdata}<extra></extra>",
        )
    if value == "mw":
        fig.update_yaxes(title_text="GW (facility)" if gw else "MW (facility)")
        if target_mw:
            fig.add_hline(
                y=target_mw / scale,
                line_dash="dash",
                line_color="#333",
                annotation_text=f"target {fmt.power_mw(target_mw)}",
                annotation_position="top left",
            )
    else:
        fig.update_yaxes(title_text="GPUs", tickformat="~s")
    fig.update_xaxes(type="category", tickangle=-45 if len(x) > 12 else 0)
    return _layout(fig, 360, barmode="stack", bargap=0.15)


def spend_by_market(long: pd.DataFrame) -> go.Figure:
    """Bars per (year, provider) stacked by market: nominal spend."""
    fig = go.Figure()
    if not len(long):
        return _layout(fig, 300)
    keys = long[["year", "provider"]].drop_duplicates()
    x = [[str(y) for y in keys["year"]], list(keys["provider"])]
    div, title = usd_scale(float(long.groupby(["year", "provider"])["usd"].sum().abs().max()))
    for m in [m for m in MARKET_ORDER if m in set(long["market"])] + sorted(
        set(long["market"]) - set(MARKET_ORDER)
    ):
        sel = long[long["market"] == m].set_index(["year", "provider"])["usd"]
        v = np.array(
            [
                float(sel.get((y, p), 0.0))
                for y, p in zip(keys["year"], keys["provider"], strict=True)
            ]
        )
        fig.add_bar(
            x=x,
            y=v / div,
            name=MARKET_WORDS.get(m, m),
            marker_color=MARKET_COLORS.get(m),
            customdata=[fmt.usd(a) for a in v],
            hovertemplate="%{x}: %{customdata}<extra>" + MARKET_WORDS.get(m, m) + "</extra>",
        )
    fig.update_yaxes(title_text=title)
    return _layout(fig, 380, barmode="stack", bargap=0.1)


def commitments(
    timeline: pd.DataFrame, colors: dict[str, str], horizon_end: dt.date | None
) -> go.Figure:
    """Gantt-like bars: one per contract group, from its start for its whole term."""
    fig = go.Figure()
    labels = list(timeline["label"])
    present = set(timeline["provider"])
    order = [p for p in colors if p in present] + sorted(present - set(colors))
    for p in order:
        sel = timeline[timeline["provider"] == p]
        start = [d.isoformat() for d in sel["start_date"]]
        ms = [
            (e - s).days * 86_400_000.0
            for s, e in zip(sel["start_date"], sel["end_date"], strict=True)
        ]
        hover = [
            f"{lab}<br>{fmt.count(g)} GPUs ({fmt.count(i)} instances)<br>"
            f"contract value {fmt.usd(v)}, {fmt.usd(h)} inside the horizon"
            for lab, g, i, v, h in zip(
                sel["label"],
                sel["gpus"],
                sel["instances"],
                sel["contract_value_usd"],
                sel["in_horizon_usd"],
                strict=True,
            )
        ]
        fig.add_bar(
            x=ms,
            base=start,
            y=list(sel["label"]),
            orientation="h",
            name=str(p),
            marker_color=colors.get(p),
            text=[
                f"{fmt.count(g)} GPUs · {fmt.usd(v)}" if g > 0 else fmt.usd(v)
                for g, v in zip(sel["gpus"], sel["contract_value_usd"], strict=True)
            ],
            textposition="inside",
            insidetextanchor="start",
            textfont={"size": 10},
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
        )
    fig.update_xaxes(type="date")
    fig.update_yaxes(
        type="category", categoryorder="array", categoryarray=labels, autorange="reversed"
    )
    if horizon_end is not None:
        fig.add_vline(x=horizon_end.isoformat(), line_dash="dash", line_color="#333")
        fig.add_annotation(
            x=horizon_end.isoformat(),
            y=1,
            yref="paper",
            text="end of horizon",
            showarrow=False,
            xanchor="left",
            yanchor="bottom",
            font={"size": 11},
        )
    height = max(260, 22 * len(labels) + 90)
    fig = _layout(fig, height, barmode="overlay", bargap=0.2)
    fig.update_layout(margin={"l": 200, "r": 16, "t": 24, "b": 40})
    return fig


def allocation(share: pd.DataFrame, colors: dict[str, str], workloads: list[str]) -> go.Figure:
    """100% stacked horizontal bars: each workload's served demand by provider."""
    fig = go.Figure()
    present = set(share["provider"])
    for p in [p for p in colors if p in present] + sorted(present - set(colors)):
        sel = share[share["provider"] == p].set_index("workload")
        v = np.array([float(sel["share"].get(w, 0.0)) for w in workloads])
        fig.add_bar(
            y=workloads,
            x=v,
            name=str(p),
            orientation="h",
            marker_color=colors.get(p),
            text=[fmt.pct(a, 0) if a >= 0.06 else "" for a in v],
            textposition="inside",
            customdata=[fmt.pct(a) for a in v],
            hovertemplate="%{y} on " + str(p) + ": %{customdata}<extra></extra>",
        )
    fig.update_xaxes(tickformat=".0%", range=[0, 1], title_text="share of served demand")
    fig.update_yaxes(type="category", autorange="reversed")
    fig = _layout(fig, max(220, 34 * len(workloads) + 90), barmode="stack")
    fig.update_layout(margin={"l": 130, "r": 16, "t": 24, "b": 48})
    return fig


def resilience(served: pd.DataFrame, required: pd.DataFrame) -> go.Figure:
    """Heatmap of served fractions (worst period), workload × scenario; shortfalls marked."""
    z = served.to_numpy(dtype=float)
    req = required.reindex_like(served).to_numpy(dtype=float)
    text = []
    for i in range(z.shape[0]):
        row = []
        for j in range(z.shape[1]):
            if np.isnan(z[i, j]):
                row.append("")
            elif z[i, j] < req[i, j] - 1e-6:
                row.append(f"<b>{fmt.pct(z[i, j])}</b><br>needs {fmt.pct(req[i, j], 0)}")
            else:
                row.append(fmt.pct(z[i, j]))
        text.append(row)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in served.columns],
            y=[str(w) for w in served.index],
            zmin=0,
            zmax=1,
            colorscale=[[0, "#D73027"], [0.5, "#FEE08B"], [0.8, "#A6D96A"], [1, "#1A9850"]],
            text=text,
            texttemplate="%{text}",
            hovertemplate="%{y}, %{x}: %{text}<extra></extra>",
            colorbar={"tickformat": ".0%", "title": {"text": "served"}},
            xgap=2,
            ygap=2,
        )
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(side="top", type="category")
    fig = _layout(fig, max(200, 46 * len(served.index) + 80))
    fig.update_layout(margin={"l": 130, "r": 16, "t": 48, "b": 16})
    return fig


SIM_GROUPS = (
    ("served_fraction", "served fraction of demand", "pct"),
    ("slo_hours_lost", "hours below SLO", "hours"),
    ("training_delay_hours", "training delay beyond plan (hours)", "hours"),
    ("cost_usd", "total cost", "usd"),
    ("goodput", "goodput (useful / paid GPU-hours)", "pct"),
)


def sim_distributions(view: SimView) -> list[tuple[str, str, go.Figure]]:
    """Box plots from the quantiles: box P5–P95, whiskers P1–P99, line at the median.

    One figure per metric group present (served fraction per workload, training delay per run,
    total cost, goodput): ``(key, title, figure)``.
    """
    out = []
    for key, title, kind in SIM_GROUPS:
        rows = view.metrics(key)
        need = {"p05", "p50", "p95"}
        if not len(rows) or not need <= set(rows.columns):
            continue
        rows = rows.dropna(subset=sorted(need))
        if not len(rows):
            continue
        fig = go.Figure()
        div, axis = (1.0, title)
        if kind == "usd":
            div, axis = usd_scale(float(np.nanmax(np.abs(rows["p95"].to_numpy(dtype=float)))))
        f = {"pct": fmt.pct, "hours": fmt.hours, "usd": fmt.usd}[kind]
        for _, r in rows.iterrows():
            name = str(r["metric"]).split(":", 1)[1] if ":" in str(r["metric"]) else str(key)
            lo = r.get("p01", r["p05"])
            hi = r.get("p99", r["p95"])
            lo = r["p05"] if pd.isna(lo) else lo
            hi = r["p95"] if pd.isna(hi) else hi
            mean = r.get("mean", np.nan)
            hover = (
                f"{name}<br>P1 {f(lo)} · P5 {f(r['p05'])} · P50 {f(r['p50'])} · "
                f"P95 {f(r['p95'])} · P99 {f(hi)}"
                + ("" if pd.isna(mean) else f"<br>mean {f(mean)}")
            )
            fig.add_trace(
                go.Box(
                    name=name,
                    x=[name],
                    q1=[r["p05"] / div],
                    median=[r["p50"] / div],
                    q3=[r["p95"] / div],
                    lowerfence=[lo / div],
                    upperfence=[hi / div],
                    mean=None if pd.isna(mean) else [mean / div],
                    marker_color="#4C78A8",
                    fillcolor="rgba(76,120,168,0.35)",
                    showlegend=False,
                    hoverinfo="text",
                    hovertext=hover,
                )
            )
        if kind == "pct":
            fig.update_yaxes(tickformat=".0%", title_text=axis)
        else:
            fig.update_yaxes(title_text=axis)
        out.append((key, title, _layout(fig, 300)))
    return out


def walk_away(wa: pd.DataFrame, colors: dict[str, str]) -> go.Figure:
    """Bars: present-value extra spend of planning without each provider."""
    v = wa["walk_away_usd"].to_numpy(dtype=float)
    pen = wa["penalty_usd"].to_numpy(dtype=float)
    div, title = usd_scale(float(np.abs(v).max()) if len(v) else 0.0)
    labels = list(wa["provider"])
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=v / div,
            marker_color=[colors.get(p) for p in labels],
            text=[
                fmt.usd(a) + (" + unmet demand" if b > 1.0 else "")
                for a, b in zip(v, pen, strict=True)
            ],
            textposition="outside",
            customdata=[
                f"extra spend {fmt.usd(a)}; unmet-demand penalty "
                + (fmt.usd(b) if b > 1.0 else "none")
                for a, b in zip(v, pen, strict=True)
            ],
            hovertemplate="%{x}: %{customdata}<extra></extra>",
            showlegend=False,
            cliponaxis=False,
        )
    )
    fig.update_yaxes(title_text=f"{title} (present value)", zeroline=True)
    top = float(np.abs(v).max() / div) if len(v) else 1.0
    low = float(v.min() / div) if len(v) else 0.0
    fig.update_yaxes(range=[min(0.0, low - 0.2 * top), max(top * 1.25, 1e-9)])
    return _layout(fig, 320)


def entry_prices(entry: pd.DataFrame, colors: dict[str, str], limit: int = 20) -> go.Figure:
    """Horizontal bars: the price cut at which each (provider, accelerator) would win more."""
    rows = entry[~entry["at_parity"]].head(limit)
    labels = [f"{p} {a}" for p, a in zip(rows["provider"], rows["accelerator"], strict=True)]
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=rows["cut_fraction"].to_numpy(dtype=float),
            orientation="h",
            marker_color=[colors.get(p) for p in rows["provider"]],
            text=[fmt.pct(c) for c in rows["cut_fraction"]],
            textposition="outside",
            customdata=[
                f"{o}: list {fmt.usd_rate(u)} → {fmt.usd_rate(e)} USD per instance-hour"
                for o, u, e in zip(
                    rows["offer"], rows["usd_per_hour"], rows["entry_usd_per_hour"], strict=True
                )
            ],
            hovertemplate="%{y}: cut %{text}<br>%{customdata}<extra></extra>",
            showlegend=False,
        )
    )
    top = float(rows["cut_fraction"].max()) if len(rows) else 0.1
    fig.update_xaxes(tickformat=".0%", range=[0, top * 1.2], title_text="price cut needed")
    fig.update_yaxes(type="category", autorange="reversed")
    fig = _layout(fig, max(220, 24 * len(labels) + 80))
    fig.update_layout(margin={"l": 110, "r": 16, "t": 16, "b": 48})
    return fig


def strategies(table: pd.DataFrame) -> go.Figure:
    """Two panels: present value per strategy, and the worst served fraction under any outage."""
    outage = [c for c in table.columns if str(c).startswith("served: ")]
    fig = make_subplots(
        rows=1,
        cols=2 if outage else 1,
        subplot_titles=["present value of spend"]
        + (["worst served fraction of inference under one outage"] if outage else []),
        horizontal_spacing=0.12,
    )
    names = [str(s) for s in table["strategy"]]
    npv = table["npv_usd"].to_numpy(dtype=float)
    div, title = usd_scale(float(np.nanmax(np.abs(npv))) if len(npv) else 0.0)
    fig.add_bar(
        x=names,
        y=npv / div,
        marker_color="#4C78A8",
        text=[fmt.usd(v) for v in npv],
        textposition="outside",
        hovertemplate="%{x}: %{text}<extra></extra>",
        showlegend=False,
        row=1,
        col=1,
    )
    fig.update_yaxes(title_text=title, row=1, col=1)
    if outage:
        worst = table[outage].astype(float).min(axis=1).to_numpy()
        fig.add_bar(
            x=names,
            y=worst,
            marker_color="#72B7B2",
            text=[fmt.pct(w) for w in worst],
            textposition="outside",
            hovertemplate="%{x}: %{text}<extra></extra>",
            showlegend=False,
            row=1,
            col=2,
        )
        fig.update_yaxes(tickformat=".0%", range=[0, 1.15], row=1, col=2)
    fig = _layout(fig, 380)
    fig.update_layout(margin={"l": 64, "r": 16, "t": 56, "b": 48})
    return fig
