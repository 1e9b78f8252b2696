"""Planning: resolve a scenario into arrays, build the LP/MILP, solve with HiGHS, read results.

This package is also the function :func:`hyperplan.plan.api.plan`: ``hyperplan.plan`` is both
the subpackage and the public ``from hyperplan import plan``, so calling the package plans::

    >>> from hyperplan import load_scenario, plan
    >>> result = plan(load_scenario("examples/small.yaml"))
    >>> result.status, round(result.objective_usd)
    ('optimal', 8446618)
    >>> "spend" in dir(result)  # every table is an attribute: result.spend
    True
"""

import inspect
import sys
import types
from typing import Any

from hyperplan.plan.api import Plan, plan, solve_scenario
from hyperplan.plan.progress import ProgressEvent
from hyperplan.plan.solve import SolverOptions

__all__ = ["Plan", "ProgressEvent", "SolverOptions", "plan", "solve_scenario"]


class _CallablePackage(types.ModuleType):
    """``hyperplan.plan`` called as :func:`hyperplan.plan.api.plan` (same arguments)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Plan:
        return plan(*args, **kwargs)


__signature__ = inspect.signature(plan)  # help() and completion show plan()'s arguments
sys.modules[__name__].__class__ = _CallablePackage
