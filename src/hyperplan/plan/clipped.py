"""Dates of a scenario that the horizon clips, as located warnings.

The planner only sees the horizon ``[horizon.start, end)``. A training run that starts before it
may use the horizon from its first period; a deadline after its end becomes the end; a contract
that runs past either edge counts only inside (its ``committed_usd`` pro rata); an offer ``available_from`` after the end is never available. None
of these is an error, but each is easy to write by mistake, so ``hyperplan validate`` and
``hyperplan plan`` say so on stderr: the field path, the file:line:column (from the scenario
file) and what the date was clipped to.

A date before the horizon in ``available_from`` is not reported: "available already" is its
plain meaning. Nor are the dates of reservations already held (``reservations``): one signed
before the horizon or running past it is the normal case, and only its overlap is ever planned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hyperplan.errors import InputError, Problem
from hyperplan.scenario.schema import Scenario, Training
from hyperplan.scenario.timeline import timeline
from hyperplan.scenario.yamlpos import (
    PathKey,
    Positions,
    decode_yaml_bytes,
    parse_yaml,
    read_yaml_bytes,
)


@dataclass(frozen=True)
class _Clip:
    """One date outside the horizon: where, the date, what it becomes, and what that means."""

    path: PathKey
    day: dt.date
    clipped: dt.date
    effect: str


def _clip(day: dt.date, start: dt.date, end: dt.date) -> dt.date:
    return min(max(day, start), end)


def clipped_dates(scenario: Scenario) -> list[Problem]:
    """Every date the horizon clips, as a :class:`~hyperplan.errors.Problem` (used as a warning)
    located in the scenario's file when it has one, in file order.

    The message names the date, the horizon edge it crossed, what it was clipped to and what that
    does to the plan.
    """
    tl = timeline(scenario.horizon)
    start, end = tl.starts[0], tl.end
    first, last = tl.labels[0], tl.labels[-1]
    clips: list[_Clip] = []

    def add(path: PathKey, day: dt.date | None, effect: str) -> None:
        if day is not None and _clip(day, start, end) != day:
            clips.append(_Clip(path, day, _clip(day, start, end), effect))

    for i, wl in enumerate(scenario.workloads):
        # a window wholly outside the horizon is refused by the scenario checks
        if isinstance(wl, Training) and wl.start < start:
            add(
                ("workloads", i, "start"),
                wl.start,
                f"training {wl.name} may run from the first period, {first}",
            )
        if isinstance(wl, Training) and wl.deadline > end:
            add(
                ("workloads", i, "deadline"),
                wl.deadline,
                f"training {wl.name} must finish inside the horizon, by the end of {last}",
            )
    for i, con in enumerate(scenario.contracts):
        inside = float(tl.overlap_hours(con.start, con.end).sum())
        total = (con.end.toordinal() - con.start.toordinal()) * 24.0
        effect = (
            f"contract {con.name} counts only inside the horizon: {inside / total:.1%} of its "
            f"time, so {con.committed_usd * inside / total:,.0f} of its "
            f"{con.committed_usd:,.0f} USD committed"
        )
        add(("contracts", i, "start"), con.start, effect)
        add(("contracts", i, "end"), con.end, effect)
    for i, ov in enumerate(scenario.offers.overrides):
        if ov.available_from is not None and ov.available_from > end:
            add(
                ("offers", "overrides", i, "available_from"),
                ov.available_from,
                "the offers it matches are never available in the horizon",
            )
    if not clips:
        return []
    source = getattr(scenario, "_source", None)
    positions = _positions(source)
    out = []
    for c in clips:
        edge = (
            f"before the horizon's start {start}"
            if c.day < start
            else f"after the horizon's end {end}"
        )
        message = f"{c.day} is {edge}; clipped to {c.clipped}: {c.effect}"
        out.append(positions.problem(c.path, message))
    # file order; unlocated ones (no file) keep the order above: workloads, contracts,
    # overrides (a stable sort)
    return sorted(out, key=lambda p: (p.line or 0, p.column or 0))


def _positions(source: str | None) -> Positions:
    """Positions of the scenario file's values (read again: warnings are rare, so loading does
    not keep them); empty when there is no file or it cannot be read now."""
    if source is None:
        return Positions()
    try:
        _, positions = parse_yaml(decode_yaml_bytes(read_yaml_bytes(source), source), source)
    except (OSError, InputError):
        return Positions(source)
    return positions
