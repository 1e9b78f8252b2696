"""``plan(scenario) -> Plan``: resolve, build, solve, read results; ``Plan`` round-trips to JSON."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hyperplan.catalog import Catalog, load_catalog
from hyperplan.errors import HyperplanError
from hyperplan.fileio import write_text_atomic
from hyperplan.plan.build import PlanningModel, build
from hyperplan.plan.inputs import PlanInputs, resolve
from hyperplan.plan.results import tables
from hyperplan.plan.solve import Solution, SolverOptions, solve
from hyperplan.scenario.schema import Scenario

PLAN_SCHEMA = "hyperplan.plan/1"


@dataclass
class Plan:
    """A solved capacity plan: tables (DataFrames with units in ``attrs``), totals and solver stats.

    Tables: ``commitments``, ``capacity``, ``allocation``, ``spend``, ``resilience``,
    ``unserved``, and when duals exist ``shadow_prices``, ``entry_prices``, ``policies``;
    ``walk_away`` when asked for.
    """

    scenario_name: str
    status: str
    objective_usd: float
    tables: dict[str, pd.DataFrame]
    stats: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    # ------------------------------------------------------------------ totals
    @property
    def total_usd(self) -> float:
        """Nominal spend of the base plan over the horizon, USD (incl. existing and shortfall)."""
        return float(self.tables["spend"]["usd"].sum())

    @property
    def total_usd_discounted(self) -> float:
        """Present value of the base plan's spend, USD."""
        return float(self.tables["spend"]["usd_discounted"].sum())

    def spend_by(self, *keys: str, discounted: bool = False) -> pd.DataFrame:
        """Spend summed by the given keys (e.g. ``"year", "provider"``), USD."""
        column = "usd_discounted" if discounted else "usd"
        return self.tables["spend"].groupby(list(keys), as_index=False)[column].sum()

    def provider_share(self) -> pd.DataFrame:
        """Each provider's share of capacity spend per period (reserved + existing + markets)."""
        sp = self.tables["spend"]
        sp = sp[sp["market"] != "shortfall"]
        by = sp.groupby(["period_index", "provider"])["usd"].sum().unstack(fill_value=0.0)
        share = by.div(by.sum(axis=1).replace(0, np.nan), axis=0)
        return share

    @property
    def max_provider_share(self) -> float:
        """Largest provider share of spend in any period (0..1)."""
        share = self.provider_share()
        return float(np.nanmax(share.to_numpy())) if share.size else 0.0

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (schema ``hyperplan.plan/1``)."""
        return {
            "schema": PLAN_SCHEMA,
            "scenario": self.scenario_name,
            "status": self.status,
            "objective_usd": _num(self.objective_usd),
            "stats": {k: _num(v) for k, v in self.stats.items()},
            "warnings": list(self.warnings),
            "meta": self.meta,
            "tables": {name: _table_to_json(df) for name, df in self.tables.items()},
        }

    def to_json(self, path: str | Path) -> None:
        """Write plan.json atomically."""
        write_text_atomic(path, json.dumps(self.to_dict(), indent=1, default=str))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """Inverse of :meth:`to_dict`."""
        if data.get("schema") != PLAN_SCHEMA:
            raise HyperplanError(f"not a {PLAN_SCHEMA} file (schema: {data.get('schema')!r})")
        return cls(
            scenario_name=data["scenario"],
            status=data["status"],
            objective_usd=_unnum(data["objective_usd"]),
            tables={name: _table_from_json(t) for name, t in data["tables"].items()},
            stats={k: _unnum(v) for k, v in data["stats"].items()},
            warnings=list(data.get("warnings", [])),
            meta=dict(data.get("meta", {})),
        )

    @classmethod
    def from_json(cls, path: str | Path) -> Plan:
        """Read a plan.json written by :meth:`to_json`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise HyperplanError(f"{path}: cannot read plan JSON: {exc}") from exc
        return cls.from_dict(data)


def _num(v: Any) -> Any:
    if isinstance(v, float | np.floating) and not math.isfinite(float(v)):
        return str(float(v))
    if isinstance(v, np.generic):
        return v.item()
    return v


def _unnum(v: Any) -> Any:
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return v


def _table_to_json(df: pd.DataFrame) -> dict[str, Any]:
    columns = {}
    for name in df.columns:
        col = df[name]
        is_date = col.dtype == object and len(col) > 0 and hasattr(col.iloc[0], "isoformat")
        if pd.api.types.is_datetime64_any_dtype(col) or is_date:
            columns[name] = {"dtype": "date", "values": [str(v) for v in col]}
        elif pd.api.types.is_bool_dtype(col):
            columns[name] = {"dtype": "bool", "values": [bool(v) for v in col]}
        elif pd.api.types.is_integer_dtype(col):
            columns[name] = {"dtype": "int", "values": [int(v) for v in col]}
        elif pd.api.types.is_float_dtype(col):
            columns[name] = {"dtype": "float", "values": [_num(float(v)) for v in col]}
        else:
            columns[name] = {"dtype": "str", "values": [str(v) for v in col]}
    return {"units": df.attrs.get("units", {}), "columns": columns}


def _table_from_json(t: dict[str, Any]) -> pd.DataFrame:
    import datetime as dt

    data = {}
    for name, col in t["columns"].items():
        kind, values = col["dtype"], col["values"]
        if kind == "float":
            data[name] = np.array([_unnum(v) for v in values], dtype=float)
        elif kind == "int":
            data[name] = np.array(values, dtype=np.int64)
        elif kind == "bool":
            data[name] = np.array(values, dtype=bool)
        elif kind == "date":
            data[name] = np.array([dt.date.fromisoformat(v) for v in values], dtype=object)
        else:
            data[name] = np.array(values, dtype=object)
    df = pd.DataFrame(data)
    df.attrs["units"] = t.get("units", {})
    return df


# ----------------------------------------------------------------------------------------------


@dataclass
class Solved:
    """Everything behind a plan, for sensitivity analysis (walk-away) and tests."""

    inputs: PlanInputs
    model: PlanningModel
    solution: Solution
    plan: Plan


def solve_scenario(
    scenario: Scenario,
    *,
    catalog: Catalog | None = None,
    integer: bool | None = None,
    outages: bool = True,
    options: SolverOptions | None = None,
) -> Solved:
    """Resolve, build and solve; return the plan with the model behind it."""
    catalog = catalog if catalog is not None else _scenario_catalog(scenario)
    t0 = time.perf_counter()
    inputs = resolve(scenario, catalog)
    pm = build(inputs, integer=scenario.integer if integer is None else integer, outages=outages)
    build_seconds = time.perf_counter() - t0
    solution = solve(pm.lm, options)
    if not solution.usable:
        raise HyperplanError(
            f"the solver found no plan (status: {solution.status}). Unserved demand is always "
            "allowed at a penalty, so this points at contradictory hard limits "
            "(e.g. existing reservations above a ceiling); run `hyperplan validate` first"
        )
    t1 = time.perf_counter()
    result_tables = tables(pm, solution)
    stats = {
        "status": solution.status,
        "objective_usd": solution.objective / 1e-6,
        "mip_gap": solution.mip_gap if solution.mip_gap is not None else float("nan"),
        "build_seconds": build_seconds,
        "solve_seconds": solution.seconds,
        "results_seconds": time.perf_counter() - t1,
        "rows": pm.lm.n_rows,
        "columns": pm.lm.n_cols,
        "nonzeros": int(pm.lm.matrix().nnz),
        "integer": pm.lm.is_mip,
        "simplex_iterations": solution.simplex_iterations,
    }
    status = solution.status
    if status == "time limit" and pm.lm.is_mip and solution.mip_gap is not None:
        status = f"time limit, gap {solution.mip_gap:.1%}"
    plan_obj = Plan(
        scenario_name=scenario.name,
        status=status,
        objective_usd=solution.objective / 1e-6,
        tables=result_tables,
        stats=stats,
        warnings=list(inputs.warnings),
        meta={
            "periods": list(inputs.tl.labels),
            "providers": inputs.providers,
            "scenarios": inputs.scenario_names,
            "workloads": inputs.workload_names,
            "kinds": list(inputs.kind),
            "target_gw": scenario.policies.target_gw,
            "max_share": scenario.policies.max_share,
            "period_starts": [d.isoformat() for d in inputs.tl.starts],
            "outages": _outage_models(scenario, inputs),
            "limits": _limits(inputs),
            "scenario": scenario.model_dump(mode="json"),
        },
    )
    from hyperplan.plan.verify import verify

    t2 = time.perf_counter()
    violations = verify(plan_obj)
    plan_obj.stats["verify_seconds"] = time.perf_counter() - t2
    if violations:
        shown = "\n  ".join(violations[:20])
        raise HyperplanError(
            f"the solver's plan fails the independent check ({len(violations)} violations); "
            f"this is a bug or a numerical failure, not a plan:\n  {shown}"
        )
    return Solved(inputs, pm, solution, plan_obj)


def _limits(inputs: PlanInputs) -> dict[str, Any]:
    """Policy limits as plain lists (None = no limit), for verification and reports."""

    def clean(values: np.ndarray) -> list[float | None]:
        return [float(v) if np.isfinite(v) else None for v in values]

    return {
        "max_share": dict(zip(inputs.providers, map(float, inputs.max_share), strict=True)),
        "share_by": inputs.share_by,
        "site_power_mw": {
            site: clean(inputs.site_power_mw[g])
            for g, site in enumerate(inputs.sites)
            if np.isfinite(inputs.site_power_mw[g]).any()
        },
        "total_power_mw": clean(inputs.total_power_mw),
        "budget_usd": {
            str(int(y)): float(b)
            for y, b in zip(inputs.budget_years, inputs.budget_usd, strict=True)
        },
        "terms_periods": dict(
            zip(map(str, inputs.terms_years), map(int, inputs.term_periods), strict=True)
        ),
    }


def _outage_models(scenario: Scenario, inputs: PlanInputs) -> dict[str, Any]:
    """Outage model of every provider and region in play (scenario values or defaults)."""
    from hyperplan.scenario.schema import OutageModel, Provider

    providers = {}
    regions = {}
    for name in inputs.providers:
        prov = scenario.providers.get(name, Provider())
        providers[name] = prov.outage.model_dump()
        for key in inputs.sites:
            p, region = key.split(":", 1)
            if p != name:
                continue
            reg = (prov.regions or {}).get(region)
            model = reg.outage if reg is not None and reg.outage is not None else OutageModel()
            regions[key] = model.model_dump()
    return {"providers": providers, "regions": regions}


def _scenario_catalog(scenario: Scenario) -> Catalog:
    base_dir: Path | None = getattr(scenario, "_base_dir", None)

    def resolve_path(p: str) -> str:
        path = Path(p)
        return str(path if path.is_absolute() or base_dir is None else base_dir / path)

    user = tuple(resolve_path(p) for p in scenario.offers.catalog_csv)
    sky = tuple((resolve_path(s.path), s.provider) for s in scenario.offers.skypilot_csv)
    if not user and not sky:
        return load_catalog()
    return load_catalog(user_csvs=user, skypilot=sky)


def plan(
    scenario: Scenario,
    *,
    catalog: Catalog | None = None,
    integer: bool | None = None,
    outages: bool = True,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    method: str = "simplex",
    walk_away: bool = False,
    workers: int | None = None,
) -> Plan:
    """Plan a scenario: commitments, placement, costs, resilience and negotiation figures.

    Args:
        scenario: a validated :class:`~hyperplan.scenario.Scenario`.
        catalog: offers to use (default: the bundled catalog plus the scenario's own CSVs).
        integer: whole instances (MILP); default the scenario's ``integer``.
        outages: plan for the scenario's outage cases (``False``: base scenario only).
        time_limit: solver time limit, seconds.
        mip_gap: relative MIP gap.
        method: "simplex", "ipm" or "choose".
        walk_away: also compute each provider's walk-away value (one re-solve per provider).
        workers: processes for the walk-away re-solves (default: up to the CPU count).
    """
    options = SolverOptions(method=method, time_limit=time_limit, mip_gap=mip_gap)  # type: ignore[arg-type]
    solved = solve_scenario(
        scenario, catalog=catalog, integer=integer, outages=outages, options=options
    )
    if walk_away:
        from hyperplan.plan.sensitivity import walk_away_values

        solved.plan.tables["walk_away"] = walk_away_values(solved, workers=workers)
    return solved.plan
