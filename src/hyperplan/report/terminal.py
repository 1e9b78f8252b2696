"""Terminal summary of a plan (rich tables at the console's width).

The numbers come from :mod:`hyperplan.report.summary`, the same data the HTML report shows.
Cells are never cut: names and ids (provider:region:instance, workloads, outages) stay on one
line while free-text columns ("per", "wins when") wrap to make room; on a console too narrow
even for that, cells fold onto a second line rather than lose characters.
"""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from hyperplan.plan.api import Plan
from hyperplan.report import fmt
from hyperplan.report.liability import print_liability
from hyperplan.report.summary import summarize
from hyperplan.report.tables import print_table

WIDE_COLUMNS = 6
"""Beyond this many value columns a table drops repeated words (USD, "down") to fit 100 columns."""


WRAPS = frozenset({"per", "wins when", "cost"})
"""Free-text columns: they wrap (at spaces) before any id column has to fold."""


def _table(title: str, columns: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", expand=False)
    for name, justify in columns:
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            overflow="fold",
            no_wrap=name not in WRAPS,
        )
    return table


def print_plan(plan: Plan, console: Console, *, top: int = 8, log: Console | None = None) -> None:
    """Totals per year and provider, top commitments, resilience, binding policies; warnings on
    ``log`` (the CLI's stderr; default ``console``)."""
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
        print_table(table, console)
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
                r["instance_type"],
                fmt.count(r["gpus"]),
                r["commitment"]  # builds and provisioned throughput have no year term
                if r.get("commitment", "reserved") != "reserved"
                else f"{r['term_years']}y",
                r["start"],
                fmt.usd(r["contract_value_usd"]),
            )
        print_table(table, console)
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
        print_table(table, console)
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
                str(r["subject"]),
                r["period"],
                str(r.get("scenario", "base")),
                fmt.usd(r["marginal_usd"]),
                r["per"],
            )
        print_table(table, console)
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
        print_table(table, console)
    for warning in s.warnings:
        (log or console).print(f"[yellow]warning:[/] {warning}")
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
            str(r["workload"]),
            fmt.pct(r["reserved_fraction"]),
            fmt.pct(r["ondemand_fraction"]),
            fmt.pct(r["spot_fraction"]),
            fmt.pct(r["unserved_fraction"]),
            fmt.usd(r["ondemand_usd_per_hour"] + r["spot_usd_per_hour"]),
        )
    print_table(table, console)
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
            str(w),
            *[fmt.pct(by["share"].get(r, 0.0)) for r in ROUTE_ORDER],
            *[fmt.usd_rate(by["usd_per_million_tokens"].get(r, float("nan"))) for r in ROUTE_ORDER],
        )
    print_table(table, console)
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
        table.add_row(str(r["offer_id"]), str(r["workload"]), cost, when)
    print_table(table, console)


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
    print_table(t, console)


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
    print_table(t, console)


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
        f"Simulated, same draws, paired against {base} (mean difference and 95% interval; "
        "shares in percentage points)",
        [
            ("strategy", "left"),
            ("metric", "left"),
            ("difference", "right"),
            ("95% interval", "right"),
        ],
    )
    from hyperplan.sim.metrics import SHORT_UNITS

    for _, r in keep.iterrows():
        unit = SHORT_UNITS.get(str(r["metric"]).split(":", 1)[0], "")
        t.add_row(
            str(r["strategy"]),
            str(r["metric"]),
            fmt.difference(r["diff_mean"], unit),
            f"{fmt.difference(r['ci_low'], unit)} .. {fmt.difference(r['ci_high'], unit)}",
        )
    print_table(t, console)
