"""Validating plan.json (stages 2-4). ``Plan.from_dict`` (:mod:`hyperplan.plan.artifact`) builds
the plan from the result and re-verifies it with the planner's independent check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydantic import ValidationError as PydanticValidationError

from hyperplan.artifacts.files import check_kind
from hyperplan.artifacts.models import PlanEnvelope, PlanMeta
from hyperplan.artifacts.problems import MAX_PROBLEMS, _huge_ints, _Problems, _pydantic_problems
from hyperplan.artifacts.tables import (
    _check_meta,
    _check_references,
    _check_tables,
    _check_values,
    _frame_of,
)
from hyperplan.errors import InputError, Problem
from hyperplan.scenario.schema import Scenario


def upgrade_scenario_json(data: Any) -> Any:
    """``meta.scenario`` brought to today's schema: a horizon written before ``end_effects``
    existed charged nothing after the horizon (``prorate``), not today's default (``full``)."""
    horizon = data.get("horizon") if isinstance(data, dict) else None
    if isinstance(horizon, dict) and "end_effects" not in horizon:
        return {**data, "horizon": {**horizon, "end_effects": "prorate"}}
    return data


def _check_scenario(
    meta: dict[str, Any], file: str | None
) -> tuple[Scenario | None, list[Problem]]:
    """The validated ``meta.scenario`` (None when absent), or the problems that refuse it."""
    scenario = upgrade_scenario_json(meta.get("scenario"))
    if not scenario:
        return None, []
    try:
        return Scenario.model_validate(scenario), []
    except PydanticValidationError as exc:
        return None, _pydantic_problems(exc, file, "meta.scenario")
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        return None, [Problem(f"not a valid scenario: {exc}", file=file, path="meta.scenario")]


def _named_check(message: str) -> str:
    """Which of the independent check's rules a violation message breaks."""
    text = message.lower()
    for words, name in (
        ("reserved capacity of", "capacity = existing + commitments"),
        (" use of ", "allocations fit capacity and market caps"),
        ("runs outside its window", "training inside its window"),
        ("training ", "training gets its compute"),
        ("served ", "demand served or reported unserved"),
        ("max_share", "provider share caps"),
        (" mw ", "power caps"),
        ("budget", "yearly budgets"),
        ("spend reported", "spend = allocations and commitments priced"),
    ):
        if words in f" {text} ":
            return name
    return "plan check"


@dataclass(frozen=True)
class ValidPlan:
    """A plan.json object that passed stages 2-4 (the planner's check aside): its envelope,
    typed ``meta``, tables as DataFrames and the validated scenario (None when absent)."""

    envelope: PlanEnvelope
    meta: PlanMeta
    tables: dict[str, pd.DataFrame]
    scenario: Scenario | None


def validate_plan_dict(data: Any, *, file: str | None = None) -> ValidPlan:
    """Validate a plan.json object (stages 2-4); the planner's own check is
    :func:`hyperplan.plan.artifact.reverify`, run by ``Plan.from_dict``.

    Args:
        data: the parsed JSON.
        file: its path, for the problems' location.

    Raises:
        InputError: located problems (JSON paths such as ``tables.commitments[3].gpus``).
    """
    check_kind(data, "plan", file=file)
    try:
        env = PlanEnvelope.model_validate(data)
    except PydanticValidationError as exc:
        raise InputError(_pydantic_problems(exc, file)) from None
    try:
        meta = PlanMeta.model_validate(env.meta)
    except PydanticValidationError as exc:
        raise InputError(_pydantic_problems(exc, file, "meta")) from None
    out = _Problems(file)
    for path in _huge_ints(env.meta, "meta"):
        out.add("expected a number of at most 2**63 - 1 in size", path)
    T = len(meta.periods)
    _check_tables(env.tables, out)
    out.raise_if_any()
    frames = {name: _frame_of(model) for name, model in env.tables.items()}
    _check_values(frames, T, out)
    _check_meta(meta, frames, out)
    _check_references(frames, T, out)
    scenario, problems = _check_scenario(env.meta, file)
    for p in problems:
        out.add(p.message, p.path)
    out.raise_if_any()
    return ValidPlan(env, meta, frames, scenario)


def violation_problems(violations: list[str], *, file: str | None = None) -> list[Problem]:
    """The planner's check's violations as problems naming the rule each one breaks."""
    problems = [
        Problem(f"fails the planner's check '{_named_check(v)}': {v}", file=file, path="tables")
        for v in violations[:MAX_PROBLEMS]
    ]
    if len(violations) > MAX_PROBLEMS:
        problems.append(
            Problem(f"… and {len(violations) - MAX_PROBLEMS} more violations", file=file)
        )
    return problems
