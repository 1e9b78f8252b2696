"""Monte Carlo simulation of a plan: outages, failures, preemptions, late deliveries, demand.

- :func:`simulate` / :class:`SimResult` – per-trial metrics and their distributions.
- :func:`compare_simulated` – several plans over the same draws, paired differences.
- :class:`SimConfig` – failure, demand and execution parameters (defaults: docs/calibration.md).

The model is described in docs/simulation.md. Names are imported lazily, so that importing
``hyperplan.cli.simulate`` (the CLI) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hyperplan.sim.api import SimResult, compare_simulated, simulate
    from hyperplan.sim.models import SimConfig

__all__ = ["SimConfig", "SimResult", "compare_simulated", "simulate"]


def __getattr__(name: str) -> Any:
    if name in ("SimResult", "compare_simulated", "simulate"):
        from hyperplan.sim import api

        return getattr(api, name)
    if name == "SimConfig":
        from hyperplan.sim.models import SimConfig

        return SimConfig
    raise AttributeError(f"module 'hyperplan.sim' has no attribute {name!r}")
