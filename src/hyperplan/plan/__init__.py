"""Planning: resolve a scenario into arrays, build the LP/MILP, solve with HiGHS, read results."""

from hyperplan.plan.api import Plan, plan, solve_scenario
from hyperplan.plan.solve import SolverOptions

__all__ = ["Plan", "SolverOptions", "plan", "solve_scenario"]
