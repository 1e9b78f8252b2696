"""hyperplan: plan, place and run AI compute across clouds.

Public API (everything else is private):

- :func:`load_scenario` – read and validate a scenario YAML file (located errors).
- :class:`Scenario` – the validated scenario model.
- :func:`load_catalog` / :class:`Catalog` – cloud offers, accelerator specs and discounts.
- :func:`plan` / :class:`Plan` – solve the multi-cloud capacity plan with HiGHS.
"""

from __future__ import annotations

from hyperplan.errors import HyperplanError, InputError, Problem
from hyperplan.scenario.schema import Scenario
from hyperplan.version import __version__

__all__ = ["HyperplanError", "InputError", "Problem", "Scenario", "__version__"]
