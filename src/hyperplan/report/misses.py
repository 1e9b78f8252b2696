"""Missed targets in the terminal: printed first, on stderr, before any summary.

The rows come from :meth:`hyperplan.plan.api.Plan.misses`, the same table plan.json and the
HTML report show.
"""

from __future__ import annotations

import pandas as pd
from rich.console import Console

from hyperplan.errors import EXIT_MISSED


def miss_lines(misses: pd.DataFrame, name: str) -> list[str]:
    """The lines :func:`print_misses` prints (empty when nothing is missed)."""
    if not len(misses):
        return []
    head = f"MISSED: {name} misses {len(misses)} stated target(s)"
    return [head, *[f"  {k}: {m}" for k, m in zip(misses["kind"], misses["message"], strict=True)]]


def print_misses(
    misses: pd.DataFrame, console: Console, name: str, *, strict: bool | None = None
) -> None:
    """Print the misses of plan ``name`` (bold red on a terminal); nothing when there are none.

    ``strict`` False adds how to make a miss fail a script (``--strict``); True says it will.
    """
    lines = miss_lines(misses, name)
    if not lines:
        return
    console.print(lines[0], style="bold red", markup=False, highlight=False)
    for line in lines[1:]:
        console.print(line, style="red", markup=False, highlight=False)
    if strict is False:
        console.print(
            f"  (with --strict a missed target exits with status {EXIT_MISSED})",
            markup=False,
            highlight=False,
        )
    elif strict:
        console.print(
            f"  (--strict: exit status {EXIT_MISSED} once the outputs are written)",
            markup=False,
            highlight=False,
        )
