"""``Plan``: a solved capacity plan (tables, totals, solver stats, typed context) and plan.json.

Writing (:meth:`Plan.to_dict`, :meth:`Plan.to_json`) and reading (:meth:`Plan.from_dict`,
:meth:`Plan.from_json`, validated by :mod:`hyperplan.artifacts` and re-verified by
:func:`~hyperplan.plan.verify.verify`) live here, in one place.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hyperplan.artifacts import (
    PLAN_SCHEMA,
    json_number,
    number_from_json,
    read_json_file,
    table_to_json,
    validate_plan_dict,
    violation_problems,
)
from hyperplan.errors import InputError
from hyperplan.fileio import write_text_atomic
from hyperplan.plan.context import PlanContext
from hyperplan.plan.misses import misses as plan_misses
from hyperplan.plan.verify import verify


class Plan:
    """A solved capacity plan: tables (DataFrames with units in ``attrs``), totals and solver stats.

    Tables: ``commitments``, ``capacity``, ``allocation``, ``spend``, ``resilience``,
    ``unserved``, and when duals exist ``shadow_prices``, ``entry_prices``, ``policies``;
    ``walk_away`` when asked for. Each is also an attribute (``plan.spend``) and listed by
    ``dir(plan)``.

    ``context`` (:class:`~hyperplan.plan.context.PlanContext`) says what the plan was made
    from: periods, providers, limits, outage models, the validated scenario. ``meta`` is the
    same as plan.json's ``meta`` dict, for code written before the context existed: changes to
    that dict are read back into ``context``.

    Example::

        >>> import tempfile
        >>> from pathlib import Path
        >>> from hyperplan import Plan, load_scenario, plan
        >>> result = plan(load_scenario("examples/small.yaml"))
        >>> path = Path(tempfile.mkdtemp()) / "plan.json"
        >>> result.to_json(path)
        >>> again = Plan.from_json(path)
        >>> again.objective_usd == result.objective_usd, "spend" in dir(again)
        (True, True)
    """

    def __init__(
        self,
        scenario_name: str,
        status: str,
        objective_usd: float,
        tables: dict[str, pd.DataFrame],
        stats: dict[str, Any],
        warnings: list[str] | None = None,
        meta: dict[str, Any] | None = None,
        *,
        context: PlanContext | None = None,
    ) -> None:
        if meta is not None and context is not None:
            raise TypeError("give a plan its context or its meta dict, not both")
        self.scenario_name = scenario_name
        self.status = status
        self.objective_usd = objective_usd
        self.tables = tables
        self.stats = stats
        self.warnings = list(warnings) if warnings is not None else []
        self._context = context if context is not None else PlanContext()
        # the meta dict handed out (or given): while it exists it is what the context reads
        self._meta: dict[str, Any] | None = meta
        self._meta_read: dict[str, Any] | None = None

    # ------------------------------------------------------------------ context
    @property
    def context(self) -> PlanContext:
        """What the plan was made from (typed; see :class:`PlanContext`)."""
        if self._meta is not None and self._meta != self._meta_read:
            self._context = PlanContext.from_meta(self._meta)
            self._meta_read = copy.deepcopy(self._meta)
        return self._context

    @context.setter
    def context(self, value: PlanContext) -> None:
        self._context = value
        self._meta = self._meta_read = None

    @property
    def meta(self) -> dict[str, Any]:
        """plan.json's ``meta`` as a dict (prefer :attr:`context`). Changes to it are read back
        into :attr:`context`."""
        if self._meta is None:
            self._meta = self._context.to_meta()
            self._meta_read = copy.deepcopy(self._meta)
        return self._meta

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        prop = getattr(type(self), name, None)
        if isinstance(prop, property) and prop.fget is not None:
            return prop.fget(self)  # a property that failed: show its own error, not this one
        raise AttributeError(name)

    def __dir__(self) -> list[str]:
        """Attributes and the table names (completion in a notebook: ``plan.spe<TAB>``)."""
        return sorted({*super().__dir__(), *self.__dict__.get("tables", {})})

    def __repr__(self) -> str:
        return (
            f"Plan(scenario_name={self.scenario_name!r}, status={self.status!r}, "
            f"objective_usd={self.objective_usd!r}, tables={sorted(self.tables)})"
        )

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

    def misses(self) -> pd.DataFrame:
        """Every stated target the plan misses (demand, training runs, budgets, N-1 levels,
        the GW target): :func:`hyperplan.plan.misses.misses`. Empty when every target is met."""
        return plan_misses(self)

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
            "objective_usd": json_number(self.objective_usd),
            "stats": {k: json_number(v) for k, v in self.stats.items()},
            "warnings": list(self.warnings),
            "meta": self.context.to_meta(),
            "tables": {name: table_to_json(df) for name, df in self.tables.items()},
            # derived from the tables (from_dict recomputes it): for readers of plan.json
            "misses": table_to_json(self.misses()),
        }

    def to_json(self, path: str | Path) -> None:
        """Write plan.json atomically."""
        write_text_atomic(path, json.dumps(self.to_dict(), indent=1, default=str))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """Inverse of :meth:`to_dict`: validated against the schema, then re-verified.

        Raises :class:`~hyperplan.errors.InputError` (located by JSON path) on a malformed plan
        or one that fails the planner's independent check (``hyperplan.artifacts``).
        """
        return plan_from_dict(data)

    @classmethod
    def from_json(cls, path: str | Path) -> Plan:
        """Read a plan.json written by :meth:`to_json` (bounded size, validated, re-verified)."""
        return load_plan_json(path)


def plan_from_dict(data: Any, *, file: str | None = None, check: bool = True) -> Plan:
    """Validate a plan.json object (:func:`hyperplan.artifacts.validate_plan_dict`) and build
    the :class:`Plan`, its context typed.

    Args:
        data: the parsed JSON.
        file: its path, for the problems' location.
        check: also run the planner's independent check (:func:`hyperplan.plan.verify.verify`).

    Raises:
        InputError: located problems (JSON paths such as ``tables.commitments[3].gpus``).
    """
    valid = validate_plan_dict(data, file=file)
    env = valid.envelope
    context = PlanContext.from_meta(env.meta, scenario=valid.scenario, file=file)
    plan = Plan(
        scenario_name=env.scenario,
        status=env.status,
        objective_usd=number_from_json(env.objective_usd),
        tables=valid.tables,
        stats={k: number_from_json(v) for k, v in env.stats.items()},
        warnings=list(env.warnings),
        context=context,
    )
    if check:
        reverify(plan, file=file)
    return plan


def reverify(plan: Plan, *, file: str | None = None) -> None:
    """Run the planner's independent check on a loaded plan; refuse it when a rule is broken."""
    violations = verify(plan)
    if violations:
        raise InputError(violation_problems(violations, file=file))


def load_plan_json(path: str | os.PathLike[str], *, check: bool = True) -> Plan:
    """Read and validate a plan.json (all four stages of :mod:`hyperplan.artifacts`)."""
    data = read_json_file(path, "plan")
    return plan_from_dict(data, file=str(path), check=check)
