"""The ``--json`` documents: one JSON document on stdout per command, its schema named in it.

Every document is an object whose ``"schema"`` names its kind and version
(``hyperplan.<command>/1``); numbers are plain JSON numbers in the units their key names
(``_usd`` USD, ``_mw`` MW, ``_fraction``/``share`` 0..1, ``_hours`` hours); a value that is not
finite (NaN, ±inf) is ``null``. The keys of each document are listed in docs/cli.md and checked
by tests/test_cli_terminal.py.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from hyperplan.plan.api import Plan
    from hyperplan.scenario.schema import Scenario
    from hyperplan.sim.api import SimResult


def plain(value: Any) -> Any:
    """``value`` made JSON-ready: numpy scalars to Python, non-finite floats to None, dates and
    other objects to strings, containers recursively."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def dumps(document: object) -> str:
    """The text of one JSON document (indented; non-finite numbers are null)."""
    return json.dumps(plain(document), indent=1, ensure_ascii=False, allow_nan=False)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as a list of row objects (columns in the table's order)."""
    return [plain(r) for r in frame.to_dict(orient="records")]


def misses_doc(plan: Plan) -> list[dict[str, Any]]:
    """The plan's missed targets: one object per miss (kind, message and the figures)."""
    return records(plan.misses())


def catalog_doc(offers: pd.DataFrame, total: int) -> dict[str, Any]:
    """``catalog --json``: the offers shown (the table's order and ``--limit``)."""
    columns = [
        "provider",
        "region",
        "instance_type",
        "accelerator",
        "accelerators",
        "vcpus",
        "ondemand_usd_per_hour",
        "usd_per_gpu_hour",
        "spot_usd_per_hour",
        "reserved_1y_usd_per_hour",
        "reserved_3y_usd_per_hour",
        "kw_per_instance",
        "priced",
        "source",
    ]
    shown = offers[[c for c in columns if c in offers.columns]]
    return {
        "schema": "hyperplan.catalog/1",
        "total": int(total),
        "shown": len(shown),
        "offers": records(shown),
    }


def validate_doc(scenario: Scenario, file: str) -> dict[str, Any]:
    """``validate --json``: what the scenario holds (as ``validate`` prints it) and its warnings."""
    from hyperplan.plan.api import _scenario_catalog
    from hyperplan.plan.inputs import DEMAND_UNITS, resolve

    inp = resolve(scenario, _scenario_catalog(scenario))
    offers = inp.offers
    providers = []
    for p in inp.providers:
        rows = offers[offers["provider"] == p]
        providers.append(
            {
                "provider": p,
                "regions": int(rows["region"].nunique()),
                "offers": len(rows),
                "priced": int(rows["priced"].sum()),
                "accelerators": sorted({str(a) for a in rows["accelerator"] if a}),
            }
        )
    workloads = []
    for i, name in enumerate(inp.workload_names):
        kind = str(inp.kind[i])
        item: dict[str, Any] = {
            "workload": name,
            "kind": kind,
            "offers": int((inp.perf[i] > 0).sum()),
        }
        if kind == "training":
            item.update(compute_gpu_hours=float(inp.compute[i]), periods=int(inp.window[i].sum()))
        else:
            item.update(
                demand_first=float(inp.demand[i][0]),
                demand_last=float(inp.demand[i][-1]),
                unit=DEMAND_UNITS[kind],
                outage_level_fraction=float(inp.resilience[i]),
            )
        workloads.append(item)
    tl = inp.tl
    return {
        "schema": "hyperplan.validate/1",
        "file": file,
        "valid": True,
        "scenario": scenario.name,
        "period": scenario.horizon.period,
        "periods": int(tl.periods),
        "first_period": str(tl.labels[0]),
        "last_period": str(tl.labels[-1]),
        "providers": providers,
        "workloads": workloads,
        "outage_scenarios": len(inp.scenario_names) - 1,
        "contracts": len(scenario.contracts),
        "reservations": len(scenario.reservations),
        "warnings": list(inp.warnings),
    }


def plan_doc(plan: Plan, written: list[str], *, top: int = 8) -> dict[str, Any]:
    """``plan --json``: the headline figures, spend per year and provider, the top commitments,
    missed targets, warnings and the solver's statistics (plan.json holds every table)."""
    from hyperplan.report.summary import summarize

    s = summarize(plan)
    years = s.spend_year_provider
    com = s.top_commitments(top)
    keep = [
        c
        for c in (
            "provider",
            "region",
            "instance_type",
            "accelerator",
            "commitment",
            "term_years",
            "start",
            "gpus",
            "contract_value_usd",
        )
        if c in com.columns
    ]
    return {
        "schema": "hyperplan.plan-summary/1",
        "scenario": plan.scenario_name,
        "status": plan.status,
        "objective_usd": plain(plan.objective_usd),
        "total_usd": plain(s.total_usd),
        "npv_usd": plain(s.npv_usd),
        "max_share": plain(s.max_share),
        "peak_mw": plain(s.peak_mw),
        "target_mw": plain(s.target_mw),
        "spend_per_year_usd": {
            str(year): {str(p): plain(v) for p, v in row.items()} for year, row in years.iterrows()
        },
        "commitments": len(plan.tables.get("commitments", ())),
        "top_commitments": records(com[keep]) if len(com) else [],
        "misses": misses_doc(plan),
        "warnings": list(s.warnings),
        "stats": plain(dict(plan.stats)),
        "written": written,
    }


def compare_doc(
    table: pd.DataFrame, plans: dict[str, Plan], paired: pd.DataFrame | None
) -> dict[str, Any]:
    """``compare --json``: one row per strategy, each strategy's misses, and (with
    ``--simulate``) the paired differences against the first strategy."""
    return {
        "schema": "hyperplan.compare/1",
        "strategies": records(table),
        "misses": {name: misses_doc(p) for name, p in plans.items()},
        "paired": None if paired is None else records(paired),
    }


def simulate_doc(result: SimResult, written: list[str]) -> dict[str, Any]:
    """``simulate --json``: the run's facts and every metric's distribution (sim.json holds
    every trial)."""
    from hyperplan.sim.metrics import SHORT_UNITS

    summary = result.summary()
    metrics = records(summary)
    for m in metrics:
        m["unit"] = SHORT_UNITS.get(str(m["metric"]).split(":", 1)[0], "")
    return {
        "schema": "hyperplan.simulate/1",
        "meta": plain(dict(result.meta)),
        "metrics": metrics,
        "written": written,
    }
