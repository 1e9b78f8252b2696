"""Take-or-pay contracts for the burn-down: from a small CSV/YAML file or from a plan's scenario.

File formats (one contract per row / list item):

- hyperplan's: ``name, provider, committed_usd, start, end`` (dates ``YYYY-MM-DD``), as CSV or
  as a YAML list of mappings (optionally under a top-level ``contracts:`` key);
- FOCUS 1.3 Contract Commitment dataset CSV: rows with ``ContractCommitmentCategory = Spend``
  become contracts named by ``ContractCommitmentId`` (cost ``ContractCommitmentCost``, period
  ``ContractCommitmentPeriodStart/End``); their consumption is read from ``ContractApplied``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from hyperplan.errors import InputError, Problem

if TYPE_CHECKING:
    from hyperplan.plan.api import Plan

COLUMNS = ["name", "provider", "committed_usd", "start", "end"]
MAX_BYTES = 10 * 1024**2


def _rows_from_file(p: Path) -> list[dict[str, Any]]:
    if p.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise InputError([Problem(f"not valid YAML: {exc}", str(p), line)]) from None
        if isinstance(data, dict):
            data = data.get("contracts")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise InputError([Problem("expected a list of contracts (mappings)", str(p))])
        return data
    if p.suffix.lower() == ".csv":
        df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        if "ContractCommitmentId" in df.columns:
            need = [
                "ContractCommitmentCategory",
                "ContractCommitmentCost",
                "ContractCommitmentPeriodStart",
                "ContractCommitmentPeriodEnd",
            ]
            missing = [c for c in need if c not in df.columns]
            if missing:
                raise InputError([Problem(f"missing column(s): {', '.join(missing)}", str(p), 1)])
            spend = df[df["ContractCommitmentCategory"].str.strip() == "Spend"]
            return [
                {
                    "name": r.ContractCommitmentId,
                    "provider": "",
                    "committed_usd": r.ContractCommitmentCost,
                    "start": r.ContractCommitmentPeriodStart,
                    "end": r.ContractCommitmentPeriodEnd,
                    "_line": int(i) + 2,
                }
                for i, r in spend.iterrows()
            ]
        return [{**r, "_line": i + 2} for i, r in enumerate(df.to_dict(orient="records"))]
    raise InputError([Problem("expected a contracts file ending .csv, .yaml or .yml", str(p))])


def load_contracts(path: str | Path) -> pd.DataFrame:
    """Contracts from ``path``; every fault located (file, line, field), exit 2."""
    p = Path(path)
    if not p.is_file():
        raise InputError([Problem("no such contracts file (or not a regular file)", str(p))])
    if p.stat().st_size > MAX_BYTES:
        raise InputError([Problem("a contracts file is at most 10 MiB", str(p))])
    raw = _rows_from_file(p)
    problems: list[Problem] = []
    rows = []
    for i, r in enumerate(raw):
        line = r.get("_line")
        where = f"contracts[{i}]"
        missing = [c for c in COLUMNS if c != "provider" and str(r.get(c, "")).strip() == ""]
        if missing:
            problems.append(Problem(f"missing {', '.join(missing)}", str(p), line, path=where))
            continue
        try:
            usd = float(str(r["committed_usd"]).replace(",", ""))
        except ValueError:
            usd = math.nan
        if not (math.isfinite(usd) and usd >= 0):
            problems.append(
                Problem(
                    f"expected a number ≥ 0 (USD); found {r['committed_usd']!r}",
                    str(p),
                    line,
                    path=f"{where}.committed_usd",
                )
            )
            continue
        start = pd.to_datetime(str(r["start"]), errors="coerce", utc=True)
        end = pd.to_datetime(str(r["end"]), errors="coerce", utc=True)
        if pd.isna(start) or pd.isna(end) or end <= start:
            problems.append(
                Problem(
                    f"expected dates with start < end; found {r['start']!r} .. {r['end']!r}",
                    str(p),
                    line,
                    path=f"{where}.start",
                )
            )
            continue
        rows.append(
            (
                str(r["name"]),
                str(r.get("provider") or ""),
                usd,
                start.tz_localize(None),
                end.tz_localize(None),
            )
        )
    if problems:
        raise InputError(problems)
    return pd.DataFrame(rows, columns=COLUMNS)


def contracts_from_plan(plan: Plan) -> pd.DataFrame:
    """The take-or-pay contracts of the plan's scenario (``context.scenario.contracts``)."""
    scenario = plan.context.scenario
    rows = [
        (c.name, c.provider, float(c.committed_usd), pd.Timestamp(c.start), pd.Timestamp(c.end))
        for c in (scenario.contracts if scenario is not None else [])
    ]
    return pd.DataFrame(rows, columns=COLUMNS)
