"""hyperplan: plan, place and run AI compute across clouds.

Public API (everything else is private)::

    >>> from hyperplan import load_scenario, plan, simulate, write_report
    >>> scenario = load_scenario("examples/small.yaml")
    >>> result = plan(scenario)
    >>> result.status
    'optimal'

- :func:`load_scenario` – read and validate a scenario YAML file (located errors).
- :class:`Scenario` – the validated scenario model.
- :func:`load_catalog` / :class:`Catalog` – cloud offers, accelerator specs and discounts.
- :func:`plan` / :class:`Plan` – solve the multi-cloud capacity plan with HiGHS; ``progress=``
  receives live :class:`ProgressEvent` updates from the solver.
- :func:`simulate` / :class:`SimResult` – Monte Carlo of a plan's resilience and cost risk.
- :func:`write_report` – the self-contained HTML report of a plan (and its simulation).
- :class:`HyperplanError`, :class:`InputError` (located :class:`Problem` list) – what fails.

Every name but the errors and ``__version__`` is imported on first use (PEP 562), so
``import hyperplan`` stays cheap for the command line. ``plan`` is at once the function and the
subpackage :mod:`hyperplan.plan` (the subpackage is callable), whichever is imported first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyperplan.errors import HyperplanError, InputError, Problem
from hyperplan.version import __version__

if TYPE_CHECKING:
    from pathlib import Path

    from hyperplan.catalog import Catalog, load_catalog
    from hyperplan.plan.artifact import Plan
    from hyperplan.plan.progress import ProgressEvent
    from hyperplan.scenario.load import load_scenario
    from hyperplan.scenario.schema import Scenario
    from hyperplan.sim.api import simulate
    from hyperplan.sim.result import SimResult

__all__ = [
    "Catalog",
    "HyperplanError",
    "InputError",
    "Plan",
    "Problem",
    "ProgressEvent",
    "Scenario",
    "SimResult",
    "__version__",
    "load_catalog",
    "load_scenario",
    "plan",
    "simulate",
    "write_report",
]

#: Lazily imported public names: name -> (module, attribute).
_LAZY = {
    "Catalog": ("hyperplan.catalog", "Catalog"),
    "load_catalog": ("hyperplan.catalog", "load_catalog"),
    "Plan": ("hyperplan.plan.artifact", "Plan"),
    "ProgressEvent": ("hyperplan.plan.progress", "ProgressEvent"),
    "Scenario": ("hyperplan.scenario.schema", "Scenario"),
    "load_scenario": ("hyperplan.scenario.load", "load_scenario"),
    "SimResult": ("hyperplan.sim.result", "SimResult"),
    "simulate": ("hyperplan.sim.api", "simulate"),
}


def __getattr__(name: str) -> Any:
    """A public name on first use: ``import hyperplan`` stays cheap for the command line, whose
    start-up must honour a Ctrl-C quietly (:func:`hyperplan.cli.main`)."""
    import importlib

    if name == "plan":  # the subpackage, callable as the function (hyperplan/plan/__init__.py)
        return importlib.import_module("hyperplan.plan")
    found = _LAZY.get(name)
    if found is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(found[0]), found[1])
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    """The public names, imported or not (completion in a notebook: ``hyperplan.<TAB>``)."""
    return sorted({*globals(), *__all__})


def write_report(
    plan: Plan,
    path: str | Path,
    sim: SimResult | dict[str, Any] | None = None,
    *,
    compare: Any = None,
    catalog: Catalog | None = None,
) -> Path:
    """Write the self-contained HTML report of ``plan`` (and of its simulation) to ``path``.

    The file is written atomically: a failure leaves any previous file intact. The report embeds
    plotly, so it opens offline (about 5 MB).

    Args:
        plan: a solved plan (:func:`plan`) or one read back with :meth:`Plan.from_json`.
        path: the HTML file to write.
        sim: its simulation (:func:`simulate`, or the dict of a sim.json file), optional.
        compare: the strategy table of :func:`hyperplan.plan.compare.compare`, optional.
        catalog: the catalog the plan used, for each offer's source (default: the bundled one).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Example::

        >>> import tempfile
        >>> from pathlib import Path
        >>> from hyperplan import load_scenario, plan, write_report
        >>> result = plan(load_scenario("examples/small.yaml"))
        >>> out = write_report(result, Path(tempfile.mkdtemp()) / "report.html")
        >>> out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
        True
    """
    from pathlib import Path

    from hyperplan.report.html import write_report as write

    write(plan, path, sim=sim, compare=compare, catalog=catalog)
    return Path(path)
