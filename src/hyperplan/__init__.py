"""hyperplan: plan, place and run AI compute across clouds.

Public API (everything else is private):

- :func:`load_scenario` – read and validate a scenario YAML file (located errors).
- :class:`Scenario` – the validated scenario model.
- :func:`load_catalog` / :class:`Catalog` – cloud offers, accelerator specs and discounts.
- :func:`plan` / :class:`Plan` – solve the multi-cloud capacity plan with HiGHS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyperplan.errors import HyperplanError, InputError, Problem
from hyperplan.version import __version__

if TYPE_CHECKING:
    from hyperplan.scenario.schema import Scenario

__all__ = ["HyperplanError", "InputError", "Problem", "Scenario", "__version__"]


def __getattr__(name: str) -> Any:
    """``Scenario`` on first use: ``import hyperplan`` stays cheap for the command line, whose
    start-up must honour a Ctrl-C quietly (:func:`hyperplan.cli.main`)."""
    if name == "Scenario":
        from hyperplan.scenario.schema import Scenario

        return Scenario
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
