"""Live progress of the solves behind a plan, from HiGHS's own callbacks.

``plan(scenario, progress=fn)`` (also :func:`~hyperplan.plan.compare.compare` and the walk-away
re-solves) calls ``fn`` with a :class:`ProgressEvent` while HiGHS works:

- *live* events at most :data:`MIN_INTERVAL_S` apart (10 per second): the solve's phase, the
  elapsed time, simplex or interior-point iterations, HiGHS's current objective and, for a MILP,
  branch-and-bound nodes and the gap;
- one *done* event (``done=True``) when a phase's solve has finished, with its result's
  objective: the plan's ``objective_usd`` for ``"plan"``, the objective without the provider for
  a walk-away re-solve (the walk-away table's ``objective_without_usd``).

``fn`` runs in the thread that called ``plan`` (HiGHS runs in a worker thread: its callbacks only
record figures). To stop the solve, ``fn`` returns True (:class:`~hyperplan.errors.Interrupted`
is raised) or raises an exception of its own (it propagates); either way HiGHS is cancelled at its
next iteration or node first. Without ``progress`` no callback is installed (they cost a Python
call per simplex iteration).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hyperplan.errors import Interrupted
from hyperplan.plan.build import MUSD

MIN_INTERVAL_S = 0.1
"""Seconds between two live events (done events are always delivered)."""

_READ_INTERVAL_S = 0.05
"""Seconds between two reads of HiGHS's callback data inside a solve (the rest return at once)."""


@dataclass(frozen=True)
class ProgressEvent:
    """Where a solve stands.

    Attributes:
        phase: which solve: ``"plan"``, ``"plan: dual prices"`` (the LP behind a MILP's prices),
            ``"walk-away aws 2/5"``, ``"compare multi 1/4"``, ``"compare multi 1/4: outages"``.
        elapsed_s: seconds since the call that reports (``plan()``, ``compare()``) began;
            never decreases from one event to the next.
        simplex_iterations: simplex iterations of this phase's solve so far (None: not known).
        ipm_iterations: interior-point iterations so far (``method="ipm"``; else None).
        mip_nodes: branch-and-bound nodes so far (a MILP; else None).
        objective: USD (present value): HiGHS's current objective while it works (incl. the
            unserved-demand penalties; None before it has one); on a done event the phase's
            result (see the module docstring).
        mip_gap: relative MIP gap of the incumbent (a MILP with an incumbent; else None).
        done: the phase's solve has finished; this is its last event.

    Example::

        >>> from hyperplan import load_scenario, plan
        >>> events = []
        >>> result = plan(load_scenario("examples/small.yaml"), progress=events.append)
        >>> last = events[-1]
        >>> last.phase, last.done, last.objective == result.objective_usd
        ('plan', True, True)
    """

    phase: str
    elapsed_s: float
    simplex_iterations: int | None = None
    ipm_iterations: int | None = None
    mip_nodes: int | None = None
    objective: float | None = None
    mip_gap: float | None = None
    done: bool = False


ProgressCallback = Callable[[ProgressEvent], Any]
"""What ``progress=`` takes: called with each event; returning True cancels the solve."""


class Reporter:
    """Delivers the events of one top-level call (one clock, the current phase, the rate limit).

    Internal functions pass a Reporter down; public ones take a plain callback and wrap it with
    :meth:`of`, which returns a Reporter unchanged so nested calls share the clock.
    """

    def __init__(
        self,
        callback: ProgressCallback,
        *,
        min_interval: float = MIN_INTERVAL_S,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.callback = callback
        self.min_interval = min_interval
        self.clock = clock
        self.started = clock()
        self.current = ""
        self.done_count = 0
        self._last = -math.inf

    @classmethod
    def of(cls, progress: ProgressCallback | Reporter | None) -> Reporter | None:
        """``progress`` as a Reporter (None stays None; a Reporter is returned as is)."""
        if progress is None or isinstance(progress, Reporter):
            return progress
        return cls(progress)

    @contextlib.contextmanager
    def phase(self, name: str, *, default: bool = False) -> Iterator[Reporter]:
        """Report as ``name`` inside the block (``default``: only when no phase is set)."""
        previous = self.current
        if not (default and previous):
            self.current = name
        try:
            yield self
        finally:
            self.current = previous

    def emit(self, *, done: bool = False, **figures: Any) -> None:
        """Deliver an event of the current phase (a live one only when the last event is
        :attr:`min_interval` old); cancel when the callback returns True."""
        now = self.clock()
        if not done and now - self._last < self.min_interval:
            return
        self._last = now
        event = ProgressEvent(
            phase=self.current or "plan", elapsed_s=now - self.started, done=done, **figures
        )
        self._deliver(event)

    def forward(self, event: ProgressEvent) -> None:
        """Deliver an event made elsewhere (a worker process), on this reporter's clock."""
        now = self.clock()
        if not event.done and now - self._last < self.min_interval:
            return
        self._last = now
        self._deliver(dataclasses.replace(event, elapsed_s=now - self.started))

    def _deliver(self, event: ProgressEvent) -> None:
        self.done_count += event.done
        if self.callback(event) is True:
            raise Interrupted(f"the progress callback cancelled the solve ({event.phase})")

    def watch(self, h: Any, *, is_mip: bool) -> SolveWatch:
        """Follow a HiGHS instance's solve (subscribe to its callbacks until ``close``)."""
        return SolveWatch(self, h, is_mip=is_mip)


_SIMPLEX_LINE = re.compile(r"^\s*(\d+)\s+([-+]?\d\.\d+e[-+]\d+)\s+(?:Ph1|Pr|Du)\b")
"""A simplex iteration line of HiGHS's log: iteration, objective, infeasibilities."""
_IPM_LINE = re.compile(r"^\s*(\d+)\*?\s+([-+]?\d\.\d+e[-+]\d+)\s+[-+]?\d\.\d+e[-+]\d+\s")
"""An interior-point iteration line of HiGHS's log (IPX): iteration, primal objective, dual."""


class SolveWatch:
    """HiGHS's callbacks on one instance, recorded in HiGHS's thread, reported from the caller's.

    The callbacks (simplex, IPM and MIP interrupt checks) run in HiGHS's thread: each returns at
    once unless :data:`_READ_INTERVAL_S` has passed, then records the figures. :meth:`poll`,
    called by the waiting thread, turns the latest record into a live event.

    An LP's objective is not in HiGHS's simplex callback data (it reads -inf there): it comes
    from the iteration lines of HiGHS's log (logging callback; the log is switched on for the
    callback only, not the console, unless ``-v`` already switched it on), as often as HiGHS
    logs them (every interior-point iteration; a simplex line every few seconds).
    """

    def __init__(self, reporter: Reporter, h: Any, *, is_mip: bool) -> None:
        self.reporter = reporter
        self.is_mip = is_mip
        self._next = 0.0
        self.simplex: int | None = None
        self.ipm: int | None = None
        self.nodes: int | None = None
        self.objective: float | None = None
        self.gap: float | None = None
        self._fresh = False
        self._subscribed = [
            (h.cbSimplexInterrupt, self._on_simplex),
            (h.cbIpmInterrupt, self._on_ipm),
        ]
        if is_mip:
            self._subscribed.append((h.cbMipInterrupt, self._on_mip))
        else:
            self._subscribed.append((h.cbLogging, self._on_log))
        self._h = h
        self._restore: list[tuple[str, Any]] = []
        quiet_log = quiet_log_setting() if not is_mip else None
        if quiet_log is not None and not _option(h, "output_flag"):  # for the callback only
            self._restore = [
                ("output_flag", False),
                ("log_to_console", _option(h, "log_to_console")),
            ]
            h.setOptionValue("log_to_console", quiet_log)
            h.setOptionValue("output_flag", True)
        for callback, fn in self._subscribed:
            callback.subscribe(fn)

    def _due(self) -> bool:
        now = time.perf_counter()
        if now < self._next:
            return False
        self._next = now + _READ_INTERVAL_S
        return True

    def _on_simplex(self, e: Any) -> None:
        if self._due():
            count = int(e.data_out.simplex_iteration_count)
            if count >= 0:  # -1: not known at this check
                self.simplex = count
                self._fresh = True

    def _on_ipm(self, e: Any) -> None:
        if self._due():
            count = int(e.data_out.ipm_iteration_count)
            if count >= 0:
                self.ipm = count
                self._fresh = True

    def _on_log(self, e: Any) -> None:
        line = e.message
        found = _SIMPLEX_LINE.match(line) or _IPM_LINE.match(line)
        if found is not None and found.group(1) != "0":  # iteration 0: the start, not a figure
            self.objective = _usd(float(found.group(2)))
            self._fresh = True

    def _on_mip(self, e: Any) -> None:
        if self._due():
            data = e.data_out
            self.nodes = int(data.mip_node_count)
            self.objective = _usd(data.mip_primal_bound)
            gap = float(data.mip_gap)
            self.gap = gap if self.objective is not None and math.isfinite(gap) else None
            self._fresh = True

    def poll(self) -> None:
        """A live event from the latest figures, when there are new ones."""
        if self._fresh:
            self._fresh = False
            self.reporter.emit(**self.figures())

    def figures(self) -> dict[str, Any]:
        """The latest figures, as :class:`ProgressEvent` fields."""
        return {
            "simplex_iterations": self.simplex,
            "ipm_iterations": self.ipm,
            "mip_nodes": self.nodes,
            "objective": self.objective,
            "mip_gap": self.gap,
        }

    def close(self) -> None:
        """Unsubscribe (HiGHS calls no Python for this instance's later solves)."""
        for callback, fn in self._subscribed:
            callback.unsubscribe(fn)
        self._subscribed = []
        for name, value in self._restore:
            self._h.setOptionValue(name, value)
        self._restore = []


@functools.cache
def quiet_log_setting() -> bool | None:
    """The ``log_to_console`` value with which this HiGHS hands its log to the logging callback
    and prints nothing, found once per process on a one-column LP (HiGHS 1.16 calls the callback
    with False; 1.13 only with True, and then prints nothing itself); None: neither works, so no
    objective is read from the log."""
    import highspy

    from hyperplan.plan.highs import new_highs

    for to_console in (False, True):
        h = new_highs()
        h.passModel(1, 0, 0, int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize),
                    0.0, [1.0], [0.0], [1.0], [], [], [0, 0], [], [], [0])  # fmt: skip
        seen: list[str] = []
        h.cbLogging.subscribe(lambda e, seen=seen: seen.append(e.message))
        h.setOptionValue("log_to_console", to_console)
        h.setOptionValue("output_flag", True)
        printed = _fd1_output(h.run)
        if seen and not printed:
            return to_console
    return None


def _fd1_output(action: Callable[[], Any]) -> bytes:
    """What ``action`` writes to file descriptor 1 (where HiGHS prints), kept off the screen."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as sink:
        try:
            os.dup2(sink.fileno(), 1)
            action()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        sink.seek(0)
        return sink.read()


def _option(h: Any, name: str) -> Any:
    """A HiGHS option's value (highspy returns ``(status, value)``)."""
    found = h.getOptionValue(name)
    return found[1] if isinstance(found, tuple) else found


def _usd(value: float) -> float | None:
    """An objective in the model's money unit as USD (None when HiGHS has none yet)."""
    value = float(value)
    return value / MUSD if math.isfinite(value) and abs(value) < 1e30 else None
