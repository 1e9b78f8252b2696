"""What ``hyperplan actuals report`` (and ``report --actuals``) answers, gathered in one place.

:func:`gather` reads the bills (files, or the actuals stored in the ledger), finds the contracts
(a file, else the ledger's take-or-pay contracts, else the plan's) and the ledger's commitments,
and returns the answer tables of :func:`answers`. :data:`TITLES` and :data:`HIDDEN` say how the
tables are shown, in the terminal and in the HTML report alike.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from hyperplan.actuals.reader import FocusFrame
    from hyperplan.ledger.db import Ledger
    from hyperplan.plan.artifact import Plan

TITLES = {
    "spend": "Spend by provider and charge category",
    "unmapped": "Rows that map to nothing",
    "utilisation": "Commitment utilisation and waste (per commitment, month)",
    "coverage": "Coverage of eligible usage by commitments",
    "plan_vs_actual": "Plan vs actual (months the bills cover)",
    "burndown": "Contract burn-down",
    "ledger_commitments": "Signed and active commitments of the ledger against the bills",
}
"""Title of each answer table (terminal and HTML)."""

HIDDEN = {
    "burndown": ("start", "end", "as_of", "months_observed", "monthly_mean_usd", "basis"),
    "coverage": ("covered_gpu_hours", "ondemand_gpu_hours"),
}
"""Columns left out of the shown tables (all are in ``--json``)."""
SCHEMA = "hyperplan.actuals/1"
"""Schema of the JSON document of :func:`to_json`."""


def answers(
    frame: FocusFrame,
    plan: Plan | None = None,
    contracts: pd.DataFrame | None = None,
    commitments: list[dict[str, Any]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Every answer the bills give, by name (the tables ``actuals report`` prints).

    ``contracts``: take-or-pay contracts (default: the plan's); ``commitments``: the ledger's
    commitments (records of :func:`hyperplan.ledger.api.list_commitments`), whose signed and
    active ones get a utilisation row by their external id (the FOCUS CommitmentDiscountId).
    """
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
    if commitments:
        out["ledger_commitments"] = a.ledger_commitments(frame, commitments)
    return out


def ledger_in_use(db: str | None) -> bool:
    """Whether a ledger is to be read: ``db`` given, ``$HYPERPLAN_DATABASE_URL`` set, or the
    default SQLite file exists (a report never creates a ledger as a side effect)."""
    from hyperplan.ledger.db import DEFAULT_PATH, ENV_URL

    return db is not None or bool(os.environ.get(ENV_URL)) or DEFAULT_PATH.is_file()


def gather(
    paths: list[Path],
    *,
    plan: Plan | None = None,
    contracts_file: Path | None = None,
    mapping_file: Path | None = None,
    db: str | None = None,
    workspace: str = "default",
) -> tuple[FocusFrame, dict[str, pd.DataFrame], list[str]]:
    """The frame, answer tables and notes of ``actuals report`` (also ``report --actuals``).

    Bills: ``paths`` when given, else the actuals stored in the ledger. Contracts:
    ``contracts_file``, else the ledger's take-or-pay contracts when a ledger is in use
    (:func:`ledger_in_use`) and holds any, else the plan's. The ledger's commitments are matched
    to the bills when a ledger is in use.
    """
    from hyperplan.actuals.contracts import load_contracts
    from hyperplan.actuals.mapping import load_mapping
    from hyperplan.actuals.reader import read_focus
    from hyperplan.errors import InputError, Problem
    from hyperplan.ledger.db import DEFAULT_PATH

    notes: list[str] = []
    mapping = load_mapping(mapping_file) if mapping_file else None
    contracts = load_contracts(contracts_file) if contracts_file else None
    if not ledger_in_use(db):
        if not paths:
            raise InputError(
                [
                    Problem(
                        "no FOCUS export given and no ledger to read imported actuals from "
                        f"({DEFAULT_PATH} does not exist): give the bills, or --db"
                    )
                ]
            )
        frame = read_focus(paths, mapping)
        return frame, answers(frame, plan, contracts), notes

    from hyperplan.ledger.db import open_ledger

    ledger = open_ledger(db)
    try:
        if paths:
            frame = read_focus(paths, mapping)
            return frame, *_ledger_answers(frame, ledger, workspace, plan, contracts, notes)
        return from_ledger(ledger, workspace, plan=plan, contracts=contracts)
    finally:
        ledger.dispose()


def from_ledger(
    ledger: Ledger,
    workspace: str,
    *,
    plan: Plan | None = None,
    contracts: pd.DataFrame | None = None,
) -> tuple[FocusFrame, dict[str, pd.DataFrame], list[str]]:
    """The frame, answer tables and notes from the actuals stored in an open ``ledger``
    (``actuals report`` without bills; the server's report). Contracts: ``contracts``, else
    the ledger's take-or-pay contracts, else the plan's; the ledger's commitments are matched.

    Raises:
        InputError: the workspace holds no imported actuals.
    """
    from hyperplan.actuals.store import frame_from_ledger

    frame = frame_from_ledger(ledger, workspace)
    notes = [
        f"actuals from the ledger ({ledger.where}, workspace {workspace}): "
        f"{len(frame.files)} imported file(s)"
    ]
    return frame, *_ledger_answers(frame, ledger, workspace, plan, contracts, notes)


def _ledger_answers(
    frame: FocusFrame,
    ledger: Ledger,
    workspace: str,
    plan: Plan | None,
    contracts: pd.DataFrame | None,
    notes: list[str],
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The answers of ``frame`` with the ledger's contracts (unless given) and commitments."""
    import pandas as pd

    from hyperplan.actuals.contracts import COLUMNS
    from hyperplan.ledger import api

    if contracts is None:
        stored = api.list_contracts(ledger, workspace)
        if stored:
            contracts = pd.DataFrame(
                {
                    COLUMNS[0]: [r["name"] for r in stored],
                    COLUMNS[1]: [r["provider"] for r in stored],
                    COLUMNS[2]: [float(r["committed_usd"]) for r in stored],
                    COLUMNS[3]: pd.to_datetime([r["start"] for r in stored]),
                    COLUMNS[4]: pd.to_datetime([r["end"] for r in stored]),
                },
                columns=COLUMNS,
            )
            notes.append(f"{len(stored)} take-or-pay contract(s) from the ledger")
    commitments = api.list_commitments(ledger, workspace)
    return answers(frame, plan, contracts, commitments), notes


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
    """The JSON document of ``actuals report --json`` (and the server's report): files, FOCUS
    rows, extra ``x_`` columns, warnings, and every table as records with its units (USD,
    GPU-hours, ...); NaN and infinities become null."""
    return {
        "schema": SCHEMA,
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
