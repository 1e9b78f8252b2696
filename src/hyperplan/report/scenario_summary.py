"""A readable summary of what a scenario holds (``hyperplan validate``)."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.table import Table

from hyperplan.catalog import Catalog
from hyperplan.plan.api import _scenario_catalog
from hyperplan.plan.inputs import DEMAND_UNITS, resolve
from hyperplan.report import fmt
from hyperplan.report.tables import print_table
from hyperplan.scenario.schema import Scenario

MAX_TEXT_CHARS = 2000
"""Free text (a scenario's description) longer than this is cut when printed: rendering stays
linear in the input (rich's highlighter and wrapping of one long word were quadratic)."""


def short_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``text`` stripped, cut to ``limit`` characters with a note of how many were left out."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters not shown)"


def print_scenario(
    scenario: Scenario,
    console: Console,
    catalog: Catalog | None = None,
    *,
    log: Console | None = None,
) -> None:
    """Periods, providers with offers in play, workloads with their demand, policies, contracts;
    warnings on ``log`` (the CLI's stderr; default ``console``)."""
    catalog = catalog if catalog is not None else _scenario_catalog(scenario)
    inp = resolve(scenario, catalog)
    tl = inp.tl
    console.print(
        f"[bold]{scenario.name}[/] is valid: {tl.periods} {scenario.horizon.period}s "
        f"{tl.labels[0]} .. {tl.labels[-1]}, discount rate {fmt.pct(scenario.horizon.discount_rate)}, "
        f"commitments past the end: {scenario.horizon.end_effects}"
    )
    if scenario.description:
        console.print(short_text(scenario.description), markup=False, highlight=False)
    offers = inp.offers
    table = Table(title="Providers and offers in play", title_justify="left", title_style="bold")
    for name, justify in (
        ("provider", "left"),
        ("regions", "right"),
        ("offers", "right"),
        ("priced", "right"),
        ("accelerators", "left"),
    ):
        # provider ids whole; the accelerator list wraps at its commas
        table.add_column(name, justify=justify, no_wrap=name != "accelerators")  # type: ignore[arg-type]
    for p in inp.providers:
        rows = offers[offers["provider"] == p]
        accs = sorted({a for a in rows["accelerator"] if a}) + (
            ["CPU"] if (rows["accelerator"] == "").any() else []
        )
        table.add_row(
            p,
            str(rows["region"].nunique()),
            str(len(rows)),
            str(int(rows["priced"].sum())),
            ", ".join(accs),
        )
    print_table(table, console)
    table = Table(title="Workloads", title_justify="left", title_style="bold")
    for name, justify in (
        ("workload", "left"),
        ("kind", "left"),
        ("demand", "right"),
        ("offers", "right"),
        ("outage level", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=name != "demand")  # type: ignore[arg-type]
    for i, w in enumerate(inp.workload_names):
        kind = inp.kind[i]
        if kind == "training":
            demand = f"{fmt.compact(inp.compute[i])} GPU-h in {int(inp.window[i].sum())} periods"
        else:
            d = inp.demand[i]
            demand = f"{fmt.compact(d[0])} → {fmt.compact(d[-1])} {DEMAND_UNITS[kind]}"
        usable = int((inp.perf[i] > 0).sum())
        level = "pauses" if kind == "training" else fmt.pct(inp.resilience[i], 0)
        table.add_row(w, kind, demand, str(usable), level)
    print_table(table, console)
    pol = scenario.policies
    parts = [f"outages planned: {pol.outages} ({len(inp.scenario_names) - 1} scenarios)"]
    if pol.max_share is not None:
        parts.append(
            f"max share {pol.max_share if isinstance(pol.max_share, dict) else fmt.pct(pol.max_share, 0)} by {pol.share_by}"
        )
    if np.isfinite(inp.total_power_mw).any():
        parts.append(f"total power cap {fmt.power_mw(float(np.nanmin(inp.total_power_mw)))}..")
    if pol.budget_usd_per_year is not None:
        parts.append("budget per year set")
    if pol.target_gw:
        parts.append(f"target {pol.target_gw:g} GW")
    console.print("Policies: " + "; ".join(parts))
    for c in scenario.contracts:
        console.print(
            f"Contract {c.name}: {c.provider}, {fmt.usd(c.committed_usd)} take-or-pay {c.start}..{c.end}, discount {fmt.pct(c.discount, 0)}"
        )
    if scenario.reservations:
        console.print(f"Existing reservations: {len(scenario.reservations)}")
    for warning in inp.warnings:
        (log or console).print(f"[yellow]warning:[/] {warning}")
