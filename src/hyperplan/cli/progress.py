"""The live status line of long solves (``plan``, ``compare``, walk-away re-solves) on stderr.

On a terminal, while HiGHS works, one line on stderr shows which solve runs, the elapsed time,
the iterations (simplex or interior point; nodes for a MILP), HiGHS's current objective and the
MIP gap, from :class:`~hyperplan.plan.progress.ProgressEvent` updates::

    ⠴ plan · 12.4 s · 13.3k simplex iterations · objective USD 449B
    ⠦ walk-away oracle 2/5 · 41.0 s · 2.10k simplex iterations · objective USD 471B

The line is erased when the work ends (it is never part of the output). In a pipe or a file,
with ``-q`` or with ``-v`` (HiGHS's own log then goes to stderr) nothing is shown and no solver
callback is installed.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

import hyperplan.cli.term as term

if TYPE_CHECKING:  # the plan layer loads with the command's body, not at start-up
    from hyperplan.plan.progress import ProgressEvent

REFRESH_PER_SECOND = 8
"""Redraws per second (the elapsed time ticks even while HiGHS reports nothing)."""


def wanted(stream: IO[str] | Any = None) -> bool:
    """Whether to show the status: stderr is a terminal, and neither ``-q`` nor ``-v``."""
    stream = sys.stderr if stream is None else stream
    if term.settings.quiet or term.settings.verbose:
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def describe(event: ProgressEvent, elapsed_s: float) -> str:
    """The status text of ``event`` (``elapsed_s``: seconds to show, the line's own clock)."""
    from hyperplan.report import fmt

    parts = [event.phase, f"{elapsed_s:.1f} s"]
    if event.mip_nodes is not None:
        parts.append(f"{fmt.count(event.mip_nodes)} nodes")
    if event.ipm_iterations is not None:
        parts.append(f"{fmt.count(event.ipm_iterations)} interior-point iterations")
    elif event.simplex_iterations is not None:
        parts.append(f"{fmt.count(event.simplex_iterations)} simplex iterations")
    if event.objective is not None:
        parts.append(f"objective {fmt.usd(event.objective)}")
    if event.mip_gap is not None:
        parts.append(f"gap {fmt.pct(event.mip_gap, 2)}")
    return " · ".join(parts)


class StatusLine:
    """The renderable of the live line: the latest event, and the elapsed time at each redraw."""

    def __init__(self, clock: Any = time.perf_counter) -> None:
        self.clock = clock
        self.started = clock()
        self.event: ProgressEvent | None = None
        self._spinner = Spinner("dots")

    def update(self, event: ProgressEvent) -> None:
        """Take a new event (called by the solve; the redraw thread reads it)."""
        self.event = event

    def text(self) -> str:
        """The line as it would be drawn now."""
        elapsed = self.clock() - self.started
        if self.event is None:
            return f"preparing the model · {elapsed:.1f} s"
        return describe(self.event, max(self.event.elapsed_s, elapsed))

    def __rich__(self) -> RenderableType:
        self._spinner.text = Text(self.text(), no_wrap=True, overflow="ellipsis")
        return Group(self._spinner)


@contextlib.contextmanager
def solver_status(console: Console | None = None) -> Iterator[Any]:
    """The ``progress=`` callback for a solve, drawing the live line on stderr while the block
    runs; None (no callback at all) when the status is not :func:`wanted`."""
    if not wanted():
        yield None
        return
    console = console if console is not None else term.err()
    line = StatusLine()
    with Live(
        line,
        console=console,
        refresh_per_second=REFRESH_PER_SECOND,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    ):
        yield line.update
