"""What new commitments cost inside the horizon and still owe after it, per provider.

Shown next to the in-horizon cost in every summary (terminal, HTML; plan.json has the
``liability`` table), whatever ``horizon.end_effects`` says: under ``full`` the plan was charged
the post-horizon cost, under ``prorate`` it was not, under ``salvage`` it was charged less the
stated salvage value (``docs/formulation.md``, choice 3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from hyperplan.plan.api import Plan
from hyperplan.report import fmt
from hyperplan.report.tables import print_table

COLUMNS = [
    "provider",
    "commitments",
    "in_horizon_usd",
    "in_horizon_usd_discounted",
    "post_horizon_usd",
    "post_horizon_usd_discounted",
    "salvage_usd_discounted",
    "charged_usd_discounted",
]

#: what each rule does with the post-horizon cost, in words
RULES = {
    "full": "charged in full in the plan's cost",
    "prorate": "NOT charged in the plan's cost (end_effects: prorate)",
    "salvage": "charged less its salvage value",
}


def end_effects(plan: Plan) -> str:
    """The plan's ``horizon.end_effects`` (plans written before it existed: ``prorate``)."""
    scenario = plan.context.scenario
    if scenario is None or "horizon" not in scenario.model_fields_set:
        return "prorate"
    return scenario.horizon.end_effects


def liability(plan: Plan) -> pd.DataFrame:
    """Per provider with new commitments: :data:`COLUMNS` (USD), in provider order.

    Read from the plan's ``liability`` table; a plan.json without one (older versions) is
    rebuilt from ``commitments`` (post-horizon nominal = whole-term value − in-horizon cost;
    present values unknown: NaN).
    """
    table = plan.tables.get("liability")
    if table is not None and set(COLUMNS) <= set(table.columns):
        return table[COLUMNS].reset_index(drop=True)
    com = plan.tables.get("commitments")
    if com is None or not len(com):
        return pd.DataFrame(columns=COLUMNS)
    post = (com["contract_value_usd"] - com["in_horizon_usd"]).clip(lower=0)
    frame = com.assign(_post=post).groupby("provider", sort=True)
    out = pd.DataFrame(
        {
            "commitments": frame.size(),
            "in_horizon_usd": frame["in_horizon_usd"].sum(),
            "in_horizon_usd_discounted": np.nan,
            "post_horizon_usd": frame["_post"].sum(),
            "post_horizon_usd_discounted": np.nan,
            "salvage_usd_discounted": np.nan,
            "charged_usd_discounted": np.nan,
        }
    ).reset_index()
    return out[COLUMNS]


def sentence(plan: Plan) -> str:
    """One line: in-horizon commitment cost, what is owed after the horizon, and the rule."""
    table = liability(plan)
    rule = end_effects(plan)
    if not len(table):
        return "New commitments: none; nothing owed after the horizon."
    inside = float(table["in_horizon_usd"].sum())
    after = float(table["post_horizon_usd"].sum())
    after_pv = float(table["post_horizon_usd_discounted"].sum(min_count=1))
    pv = "" if np.isnan(after_pv) else f" (present value {fmt.usd(after_pv)})"
    if after <= 0.005:
        return f"New commitments: {fmt.usd(inside)} inside the horizon; nothing owed after it."
    return (
        f"New commitments: {fmt.usd(inside)} inside the horizon; {fmt.usd(after)} owed after "
        f"it{pv}, {RULES.get(rule, rule)}."
    )


def rows(plan: Plan) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted rows (one per provider, then a total) for a table."""
    table = liability(plan)
    headers = [
        "provider",
        "commitments",
        "in horizon",
        "in horizon (PV)",
        "after horizon",
        "after horizon (PV)",
    ]
    out: list[list[str]] = []
    for _, r in table.iterrows():
        out.append(
            [
                str(r["provider"]),
                fmt.count(r["commitments"]),
                fmt.usd(r["in_horizon_usd"]),
                fmt.usd(r["in_horizon_usd_discounted"]),
                fmt.usd(r["post_horizon_usd"]),
                fmt.usd(r["post_horizon_usd_discounted"]),
            ]
        )
    if len(table) > 1:
        out.append(
            [
                "total",
                fmt.count(table["commitments"].sum()),
                *(fmt.usd(float(table[c].sum(min_count=1))) for c in COLUMNS[2:6]),
            ]
        )
    return headers, out


def print_liability(plan: Plan, console: Console) -> None:
    """The sentence, and the per-provider table when anything is owed after the horizon."""
    console.print(sentence(plan))
    table = liability(plan)
    if not len(table) or float(table["post_horizon_usd"].sum()) <= 0.005:
        return
    headers, body = rows(plan)
    out = Table(
        title="New commitments inside and after the horizon (USD)",
        title_justify="left",
        title_style="bold",
        expand=False,
    )
    for i, name in enumerate(headers):
        out.add_column(name, justify="left" if i == 0 else "right", no_wrap=True, overflow="fold")
    for r in body:
        out.add_row(*r)
    print_table(out, console)
