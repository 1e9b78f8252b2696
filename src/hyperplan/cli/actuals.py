"""The ``hyperplan actuals`` commands (registered on the main app by :func:`register`).

    hyperplan actuals report PATH... [--plan plan.json] [--contracts FILE] [--mapping FILE] [--json]

Reads FOCUS exports (files or folders), prints the answers as tables (or JSON with ``--json``);
rows that map to nothing are counted on stderr. Bad input: located messages, exit status 2.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from hyperplan.actuals.reader import FocusFrame
    from hyperplan.plan.api import Plan


def answers(
    frame: FocusFrame, plan: Plan | None = None, contracts: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """Every answer the bills give, by name (the tables ``actuals report`` prints)."""
    from hyperplan.actuals import answers as a
    from hyperplan.actuals.contracts import contracts_from_plan

    out = {
        "spend": a.spend_summary(frame),
        "unmapped": frame.unmapped,
        "utilisation": a.utilisation(frame),
        "coverage": a.coverage(frame),
    }
    if plan is not None:
        out["plan_vs_actual"] = a.plan_vs_actual(frame, plan)
    if contracts is None and plan is not None:
        contracts = contracts_from_plan(plan)
    if contracts is not None and len(contracts):
        out["burndown"] = a.burndown(frame, contracts, plan)
    return out


_HIDDEN = {
    "burndown": ("start", "end", "as_of", "months_observed", "monthly_mean_usd", "basis"),
    "coverage": ("covered_gpu_hours", "ondemand_gpu_hours"),
}
"""Columns left out of the terminal tables (all are in --json)."""


def _cell(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:,.4f}" if abs(v) < 10 else f"{v:,.2f}"
    return str(v)  # ids (commitments, offers) whole: the column folds them


def _table(title: str, df: pd.DataFrame, limit: int = 50) -> Table:
    import pandas as pd

    units = df.attrs.get("units", {})
    table = Table(title=title, title_justify="left", title_style="bold")
    for c in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[c])
        unit = units.get(c, "")
        table.add_column(
            f"{c}\n[{unit}]" if unit else c,
            justify="right" if numeric else "left",
            no_wrap=numeric,
            overflow="fold",
        )
    for row in df.head(limit).itertuples(index=False):
        table.add_row(*[_cell(v) for v in row])
    if len(df) > limit:
        table.caption = f"{len(df) - limit} more rows (use --json for all)"
    return table


def _json_value(v: Any) -> Any:
    import pandas as pd

    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):
        return _json_value(v.item())
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def to_json(tables: dict[str, pd.DataFrame], frame: FocusFrame) -> dict[str, Any]:
    """A JSON-ready dict: files, rows, warnings, and every table as records with its units."""
    return {
        "schema": "hyperplan.actuals/1",
        "files": [str(f) for f in frame.files],
        "rows": frame.rows,
        "extra_columns": frame.extra_columns,
        "warnings": frame.warnings,
        "tables": {
            name: {
                "units": df.attrs.get("units", {}),
                "rows": [
                    {k: _json_value(v) for k, v in r.items()} for r in df.to_dict(orient="records")
                ],
            }
            for name, df in tables.items()
        },
    }


def register(app: typer.Typer) -> None:
    """Add the ``actuals`` command group to ``app``."""
    from hyperplan.cli.group import CONTEXT

    group = typer.Typer(
        help="Billing exports (FOCUS) against the plan and the contracts.",
        context_settings=CONTEXT,
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    app.add_typer(group, name="actuals")

    @group.command("report")
    def report_command(
        paths: Annotated[
            list[Path], typer.Argument(help="FOCUS exports: .csv, .csv.gz, .parquet or folders.")
        ],
        plan_file: Annotated[
            Path | None, typer.Option("--plan", help="plan.json to compare against.")
        ] = None,
        contracts_file: Annotated[
            Path | None,
            typer.Option("--contracts", help="Contracts CSV/YAML (default: the plan's)."),
        ] = None,
        mapping_file: Annotated[
            Path | None,
            typer.Option("--mapping", help="CSV column,value,instance_type for unnamed offers."),
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON instead of tables.")
        ] = False,
    ) -> None:
        """Utilisation, coverage, plan vs actual and contract burn-down from FOCUS exports.

        Example: hyperplan actuals report bills/ --plan plan.json --contracts contracts.csv
        """
        from hyperplan.cli import term
        from hyperplan.cli.simulate import _guard, load_plan

        def body() -> None:
            from hyperplan.actuals.contracts import load_contracts
            from hyperplan.actuals.mapping import load_mapping
            from hyperplan.actuals.reader import read_focus

            mapping = load_mapping(mapping_file) if mapping_file else None
            contracts = load_contracts(contracts_file) if contracts_file else None
            plan = load_plan(plan_file) if plan_file else None
            frame = read_focus(paths, mapping)
            for w in frame.warnings:
                term.warn(w)
            tables = answers(frame, plan, contracts)
            if as_json:
                print(json.dumps(to_json(tables, frame), indent=1, default=str))
                return
            out = term.out()
            out.print(
                f"{frame.rows} FOCUS rows from {len(frame.files)} file(s)",
                markup=False,
                highlight=False,
            )
            titles = {
                "spend": "Spend by provider and charge category",
                "unmapped": "Rows that map to nothing",
                "utilisation": "Commitment utilisation and waste (per commitment, month)",
                "coverage": "Coverage of eligible usage by commitments",
                "plan_vs_actual": "Plan vs actual (months the bills cover)",
                "burndown": "Contract burn-down",
            }
            for name, df in tables.items():
                if len(df):
                    shown = df[[c for c in df.columns if c not in _HIDDEN.get(name, ())]]
                    shown.attrs = df.attrs
                    out.print(_table(titles.get(name, name), shown))

        _guard(body)
