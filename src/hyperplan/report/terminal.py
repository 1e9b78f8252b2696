"""Terminal summary of a plan (rich tables that fit 100 columns).

The numbers come from :mod:`hyperplan.report.summary`, the same data the HTML report shows.
"""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from hyperplan.plan.api import Plan
from hyperplan.report import fmt
from hyperplan.report.liability import print_liability
from hyperplan.report.summary import summarize

WIDE_COLUMNS = 6
"""Beyond this many value columns a table drops repeated words (USD, "down") to fit 100 columns."""


def _table(title: str, columns: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", expand=False)
    for name, justify in columns:
        table.add_column(name, justify=justify, overflow="ellipsis", no_wrap=True)  # type: ignore[arg-type]
    return table


def print_plan(plan: Plan, console: Console, *, top: int = 8) -> None:
    """Totals per year and provider, top commitments, resilience, binding policies, warnings."""
    s = summarize(plan)
    console.print(
        f"[bold]{plan.scenario_name}[/]: {plan.status}; "
        f"total {fmt.usd(s.total_usd)} (present value {fmt.usd(s.npv_usd)}); "
        f"max provider share {fmt.pct(s.max_share)}; peak power {fmt.power_mw(s.peak_mw)}"
        + (f" of {fmt.power_mw(s.target_mw)} target" if s.target_mw else "")
    )
    print_liability(plan, console)  # owed after the horizon, next to the in-horizon cost

    from hyperplan.report.route_mix import route_mix_lines

    for line in route_mix_lines(plan):  # build, rent or buy: shares and why
        console.print(line, markup=False, highlight=False)
    years = s.spend_year_provider
    if len(years):
        # many providers (owned sites count as providers): USD in the title, so 100 columns fit
        wide = len(years.columns) > WIDE_COLUMNS
        money = fmt.compact if wide else fmt.usd
        table = _table(
            "Spend per year and provider (nominal" + (", USD)" if wide else ")"),
            [("year", "left")] + [(p, "right") for p in years.columns] + [("total", "right")],
        )
        for year, row in years.iterrows():
            table.add_row(str(year), *[money(v) for v in row], money(row.sum()))
        console.print(table)
    com = s.top_commitments(top)
    if len(com):
        table = _table(
            f"Top commitments ({len(plan.tables['commitments'])} in all)",
            [
                ("provider", "left"),
                ("region", "left"),
                ("instance", "left"),
                ("GPUs", "right"),
                ("term", "right"),
                ("start", "left"),
                ("value", "right"),
            ],
        )
        for _, r in com.iterrows():
            table.add_row(
                r["provider"],
                r["region"],
                r["instance_type"][:26],
                fmt.count(r["gpus"]),
                r["commitment"]  # builds and provisioned throughput have no year term
                if r.get("commitment", "reserved") != "reserved"
                else f"{r['term_years']}y",
                r["start"],
                fmt.usd(r["contract_value_usd"]),
            )
        console.print(table)
    res = s.resilience_matrix
    if len(res):
        wide = len(res.columns) > WIDE_COLUMNS
        table = _table(
            "Served fraction (worst period)"
            + (": base plan, and each column's provider or owned site down" if wide else ""),
            [("workload", "left")]
            + [
                (str(c).removesuffix(" down").removeprefix("owned:") if wide else c, "right")
                for c in res.columns
            ],
        )
        for w, row in res.iterrows():
            table.add_row(str(w), *[fmt.pct(v) for v in row])
        console.print(table)
    print_outage_mix(s.outage_mix(), console, rows=3 * top)
    print_routes(plan, console)
    pol = s.binding_policies(top)
    if len(pol):
        table = _table(
            "Binding policies and what they cost",
            [
                ("policy", "left"),
                ("subject", "left"),
                ("period", "left"),
                ("scenario", "left"),
                ("marginal", "right"),
                ("per", "left"),
            ],
        )
        for _, r in pol.iterrows():
            table.add_row(
                r["policy"],
                str(r["subject"])[:30],
                r["period"],
                str(r.get("scenario", "base")),
                fmt.usd(r["marginal_usd"]),
                r["per"],
            )
        console.print(table)
    if "walk_away" in plan.tables:
        table = _table(
            "Walk-away value per provider (present value)",
            [
                ("provider", "left"),
                ("extra spend", "right"),
                ("unmet-demand penalty", "right"),
                ("re-solve", "right"),
            ],
        )
        for _, r in plan.tables["walk_away"].iterrows():
            penalty = fmt.usd(r["penalty_usd"]) if r["penalty_usd"] > 1.0 else "none"
            table.add_row(
                r["provider"], fmt.usd(r["walk_away_usd"]), penalty, f"{r['seconds']:.2f} s"
            )
        console.print(table)
    for warning in s.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    st = plan.stats
    console.print(
        f"[dim]solver: {st.get('status')}, {int(st.get('rows', 0)):,} rows × {int(st.get('columns', 0)):,} columns, "
        f"{int(st.get('nonzeros', 0)):,} nonzeros; build {st.get('build_seconds', 0):.2f} s, "
        f"solve {st.get('solve_seconds', 0):.2f} s[/]"
    )


def print_outage_mix(mix: pd.DataFrame, console: Console, *, rows: int = 24) -> None:
    """Who serves each outage: reserved/owned, on-demand, spot, unserved; burst USD per hour."""
    if not len(mix):
        return
    table = _table(
        "Who serves each outage (share of demand over the horizon)",
        [
            ("outage", "left"),
            ("workload", "left"),
            ("reserved", "right"),
            ("on-demand", "right"),
            ("spot", "right"),
            ("unserved", "right"),
            ("burst USD/h", "right"),
        ],
    )
    for _, r in mix.head(rows).iterrows():
        table.add_row(
            str(r["scenario"]),
            str(r["workload"])[:24],
            fmt.pct(r["reserved_fraction"]),
            fmt.pct(r["ondemand_fraction"]),
            fmt.pct(r["spot_fraction"]),
            fmt.pct(r["unserved_fraction"]),
            fmt.usd(r["ondemand_usd_per_hour"] + r["spot_usd_per_hour"]),
        )
    console.print(table)
    if len(mix) > rows:
        console.print(f"... {len(mix) - rows} more rows in the plan's outage_mix table")


def print_routes(plan: Plan, console: Console) -> None:
    """Build, rent or managed: each workload's share per route, and the break-evens."""
    from hyperplan.report.sections import ROUTE_ORDER, route_summary

    summary = route_summary(plan)
    if summary is None or not len(summary):
        return
    served = summary[summary["workload"] != "(idle)"]
    table = _table(
        "Rent, build or managed (share of served demand; USD per million tokens)",
        [("workload", "left")]
        + [(r, "right") for r in ROUTE_ORDER]
        + [(f"{r} $/Mtok", "right") for r in ROUTE_ORDER],
    )
    for w, grp in served.groupby("workload", sort=False):
        by = grp.set_index("route")
        table.add_row(
            str(w)[:24],
            *[fmt.pct(by["share"].get(r, 0.0)) for r in ROUTE_ORDER],
            *[fmt.usd_rate(by["usd_per_million_tokens"].get(r, float("nan"))) for r in ROUTE_ORDER],
        )
    console.print(table)
    be = plan.tables.get("break_even")
    if be is None or not len(be):
        return
    table = _table(
        "Break-even of each owned site and managed platform",
        [("offer", "left"), ("workload", "left"), ("cost", "right"), ("wins when", "left")],
    )
    for _, r in be.iterrows():
        if r["route"] == "owned":
            cost = f"{fmt.usd_rate(r['usd_per_gpu_hour'])} $/GPU-h"
            u = r["break_even_utilisation"]
            when = f"busy > {fmt.pct(u)} of hours" if u == u else "no rented peer"
        else:
            cost = f"{fmt.usd_rate(r['usd_per_million_tokens'])} $/Mtok"
            alt = r["alternative_usd_per_million_tokens"]
            when = f"GPUs cost > {fmt.usd_rate(alt)} $/Mtok" if alt == alt else "no GPU peer"
        table.add_row(str(r["offer_id"])[:34], str(r["workload"])[:16], cost, when)
    console.print(table)


def print_compare(table: pd.DataFrame, console: Console) -> None:
    """The strategy comparison side by side (one row per strategy; with many outage columns,
    one column per strategy instead, so the table fits 100 columns)."""
    outage_cols = [c for c in table.columns if c.startswith("served: ")]
    if len(outage_cols) > 4:  # 5 figures + more than 4 outages do not fit 100 columns
        _print_compare_by_column(table, outage_cols, console)
        return
    t = _table(
        "Strategies (outage columns: served fraction of inference, evaluated with each plan's commitments fixed)",
        [
            ("strategy", "left"),
            ("total", "right"),
            ("NPV", "right"),
            ("max share", "right"),
            ("peak", "right"),
        ]
        + [(c.removeprefix("served: "), "right") for c in outage_cols],
    )
    for _, r in table.iterrows():
        t.add_row(
            r["strategy"],
            fmt.usd(r["total_usd"]),
            fmt.usd(r["npv_usd"]),
            fmt.pct(r["max_share"]),
            fmt.power_mw(r["peak_mw"]),
            *[fmt.pct(r[c]) for c in outage_cols],
        )
    console.print(t)


def _print_compare_by_column(table: pd.DataFrame, outage_cols: list[str], console: Console) -> None:
    """:func:`print_compare` transposed: a row per figure, a column per strategy."""
    t = _table(
        "Strategies (served: fraction of inference served under each outage, evaluated with "
        "each plan's commitments fixed)",
        [("", "left")] + [(str(name), "right") for name in table["strategy"]],
    )
    figures = [
        ("total", "total_usd", fmt.usd),
        ("NPV", "npv_usd", fmt.usd),
        ("max share", "max_share", fmt.pct),
        ("peak", "peak_mw", fmt.power_mw),
    ] + [(c, c, fmt.pct) for c in outage_cols]
    for label, column, show in figures:
        t.add_row(label, *[show(v) for v in table[column]])
    console.print(t)


def print_paired(paired: pd.DataFrame, console: Console, *, metrics: tuple[str, ...] = ()) -> None:
    """Simulated paired differences against the first strategy, with confidence intervals."""
    if not len(paired):
        return
    keep = paired
    if metrics:
        keep = paired[paired["metric"].isin(metrics)]
    else:
        keep = paired[
            paired["metric"].str.startswith(
                ("served_fraction:", "cost_usd", "burst_usd", "goodput")
            )
        ]
    base = str(paired["baseline"].iloc[0])
    t = _table(
        f"Simulated, same draws, paired against {base} (mean difference and 95% interval)",
        [
            ("strategy", "left"),
            ("metric", "left"),
            ("difference", "right"),
            ("95% interval", "right"),
        ],
    )
    for _, r in keep.iterrows():
        money = str(r["metric"]).endswith("usd")
        f = fmt.usd if money else (lambda v: f"{v:+.4f}")
        t.add_row(
            str(r["strategy"]),
            str(r["metric"])[:40],
            f(r["diff_mean"]),
            f"{f(r['ci_low'])} .. {f(r['ci_high'])}",
        )
    console.print(t)
