"""``Solved``: a plan with everything behind it (inputs, model, solution)."""

from __future__ import annotations

from dataclasses import dataclass

from hyperplan.plan.artifact import Plan
from hyperplan.plan.build import PlanningModel
from hyperplan.plan.inputs import PlanInputs
from hyperplan.plan.solve import Solution


@dataclass
class Solved:
    """Everything behind a plan, for sensitivity analysis (walk-away) and tests."""

    inputs: PlanInputs
    model: PlanningModel
    solution: Solution
    plan: Plan
