"""Reading plan.json: validated (stages 1-4) and re-verified with the planner's independent check."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError as PydanticValidationError

from hyperplan.artifacts.files import check_kind, read_json_file
from hyperplan.artifacts.models import PlanEnvelope, PlanMeta
from hyperplan.artifacts.problems import MAX_PROBLEMS, _huge_ints, _Problems, _pydantic_problems
from hyperplan.artifacts.tables import (
    _check_meta,
    _check_references,
    _check_tables,
    _check_values,
    _frame_of,
    number_from_json,
)
from hyperplan.errors import InputError, Problem

if TYPE_CHECKING:
    from hyperplan.plan.api import Plan


def _check_scenario(meta: dict[str, Any], file: str | None) -> list[Problem]:
    scenario = meta.get("scenario")
    if not scenario:
        return []
    from hyperplan.scenario.schema import Scenario

    try:
        Scenario.model_validate(scenario)
    except PydanticValidationError as exc:
        return _pydantic_problems(exc, file, "meta.scenario")
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        return [Problem(f"not a valid scenario: {exc}", file=file, path="meta.scenario")]
    return []


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


def plan_from_dict(data: Any, *, file: str | None = None, check: bool = True) -> Plan:
    """Validate a plan.json object (stages 2-4) and build the :class:`Plan`.

    Args:
        data: the parsed JSON.
        file: its path, for the problems' location.
        check: also run the planner's independent check (:func:`hyperplan.plan.verify.verify`).

    Raises:
        InputError: located problems (JSON paths such as ``tables.commitments[3].gpus``).
    """
    from hyperplan.plan.api import Plan

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
    for p in _check_scenario(env.meta, file):
        out.add(p.message, p.path)
    out.raise_if_any()
    plan = Plan(
        scenario_name=env.scenario,
        status=env.status,
        objective_usd=number_from_json(env.objective_usd),
        tables=frames,
        stats={k: number_from_json(v) for k, v in env.stats.items()},
        warnings=list(env.warnings),
        meta=dict(env.meta),
    )
    if check:
        reverify(plan, file=file)
    return plan


def reverify(plan: Plan, *, file: str | None = None) -> None:
    """Run the planner's independent check on a loaded plan; refuse it when a rule is broken."""
    from hyperplan.plan.verify import verify

    violations = verify(plan)
    if violations:
        problems = [
            Problem(f"fails the planner's check '{_named_check(v)}': {v}", file=file, path="tables")
            for v in violations[:MAX_PROBLEMS]
        ]
        if len(violations) > MAX_PROBLEMS:
            problems.append(
                Problem(f"… and {len(violations) - MAX_PROBLEMS} more violations", file=file)
            )
        raise InputError(problems)


def load_plan_json(path: str | os.PathLike[str], *, check: bool = True) -> Plan:
    """Read and validate a plan.json (all four stages); see the module docstring."""
    data = read_json_file(path, "plan")
    return plan_from_dict(data, file=str(path), check=check)
