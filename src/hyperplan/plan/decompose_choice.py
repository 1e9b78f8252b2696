"""Which structure a solve takes: one monolithic LP/MILP, or the decomposed (Benders) solve.

``--method auto`` reads the size estimate (:mod:`hyperplan.plan.estimate`) of the whole model
and of its base case alone: the outage scenarios are what the decomposition splits off, so it
pays when they hold most of the model and the model is large (the crossover measured by
``bench/decompose.py``, docs/performance.md), and it is the only way when the whole model
would not fit in memory but its base case does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hyperplan.plan.arrays import PlanInputs
from hyperplan.plan.estimate import Estimate, available_memory, estimate

#: whole-model columns from which ``auto`` decomposes. Measured (bench/decompose.py, load 7-10
#: on 2 cores, docs/performance.md section 6): on the five-year synthetic family (60 months,
#: N-1, unlimited markets) the crossover lies between 4,260 columns (decomposed 0.61x as fast)
#: and 8,460 (1.12-1.25x), and every larger size measured wins (1.6-5.7x); on
#: examples/frontier-2030.yaml (32,153 columns, bounded market ceilings, a base case that holds
#: half the nonzeros) the decomposed solve needs 19-24 master solves and is ~9x slower than
#: monolithic. The threshold is the family's first measured size above frontier-2030 at which
#: it won (60,930 columns, 2.2x): right on every case measured, not a crossover of
#: frontier-like models, whose sizes past 32k were not measured.
AUTO_MIN_COLUMNS = 60_000
#: share of the whole model's columns in outage scenarios from which ``auto`` decomposes
AUTO_MIN_OUTAGE_SHARE = 0.5
#: whole-model columns from which a decomposed solve uses worker processes (start-up ~1-2 s
#: each: below this the subproblems solve faster in this process)
POOL_MIN_COLUMNS = 200_000


@dataclass(frozen=True)
class Choice:
    """The structure chosen, why (one line for the user), and the subproblem workers."""

    method: str  # "monolithic" or "decomposed"
    reason: str
    workers: int = 1


def _workers(columns: int, subproblems: int) -> int:
    if columns < POOL_MIN_COLUMNS or subproblems < 2:
        return 1
    return max(1, min(os.cpu_count() or 1, subproblems))


def choose(
    inp: PlanInputs,
    size: Estimate,
    structure: str,
    *,
    outages: bool = True,
    available: int | None = None,
) -> Choice:
    """The structure for ``structure`` (``auto``, ``monolithic`` or ``decomposed``).

    Args:
        inp: resolved inputs.
        size: the estimate of the whole model (outages as planned).
        structure: what the user asked for.
        outages: whether outage scenarios are planned.
        available: bytes available (default :func:`~hyperplan.plan.estimate.available_memory`).
    """
    subproblems = len(inp.scenario_names) - 1 if outages else 0
    if structure not in ("auto", "decomposed"):
        return Choice("monolithic", "one LP/MILP (--method monolithic or an LP algorithm)")
    if subproblems < 1:
        return Choice(
            "monolithic",
            "no outage scenario to decompose (policies.outages none, or --no-outages): one LP",
        )
    workers = _workers(size.columns, subproblems)
    if structure == "decomposed":
        return Choice(
            "decomposed",
            f"asked for: {subproblems} outage subproblems (--method decomposed)",
            workers,
        )
    base = estimate(inp, outages=False)
    share = 1.0 - base.columns / max(1, size.columns)
    limit = available if available is not None else available_memory()
    if limit is not None and size.bytes > limit and base.bytes <= limit:
        return Choice(
            "decomposed",
            f"auto: the whole model ({size.describe()}) would not fit in memory; its base case "
            f"({base.describe()}) does",
            workers,
        )
    if size.columns >= AUTO_MIN_COLUMNS and share >= AUTO_MIN_OUTAGE_SHARE:
        return Choice(
            "decomposed",
            f"auto: {size.columns:,} columns (≥ {AUTO_MIN_COLUMNS:,}), {share:.0%} of them in "
            f"{subproblems} outage scenarios",
            workers,
        )
    return Choice(
        "monolithic",
        f"auto: {size.columns:,} columns, {share:.0%} in outage scenarios (decomposing pays from "
        f"{AUTO_MIN_COLUMNS:,} columns with ≥ {AUTO_MIN_OUTAGE_SHARE:.0%} in them)",
    )
