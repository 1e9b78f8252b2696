"""Checks of numeric and enumerated command-line options, run while the arguments are parsed.

A value outside its range (``--time-limit -1``), a non-finite number (``nan``, ``inf``) or an
unknown choice (``--method foo``) stops the command before any work with a message naming the
option and what it expects, and exit status 2 (typer's usage error), instead of silently meaning
"no limit".

Each factory returns a typer ``callback``::

    time_limit: float | None = typer.Option(None, callback=number(gt=0))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import typer

SEED_MAX = 2**63 - 1
"""Largest seed (the draws hash it as a 64-bit integer)."""


def _rule(gt: float | None, ge: float | None, le: float | None) -> str:
    parts = []
    if gt is not None:
        parts.append(f"> {gt:g}")
    if ge is not None:
        parts.append(f"≥ {ge:g}" if isinstance(ge, float) else f"≥ {ge}")
    if le is not None:
        parts.append(f"≤ {le:g}" if isinstance(le, float) else f"≤ {le}")
    return " and ".join(parts)


def number(
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    what: str = "a finite number",
) -> Callable[[Any], Any]:
    """A callback accepting a finite number within the bounds (or None, the option's absence)."""
    rule = _rule(gt, ge, le)

    def check(value: Any) -> Any:
        if value is None:
            return value
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            ok = isinstance(v, int | float) and math.isfinite(v)
            ok = ok and (gt is None or v > gt) and (ge is None or v >= ge)
            ok = ok and (le is None or v <= le)
            if not ok:
                raise typer.BadParameter(f"expected {what} {rule}; found {v}".replace("  ", " "))
        return value

    return check


def count(*, minimum: int = 1, maximum: int | None = None) -> Callable[[Any], Any]:
    """A callback accepting a whole number ≥ ``minimum`` (and ≤ ``maximum``), or None."""
    return number(ge=minimum, le=maximum, what="a whole number")


def seed() -> Callable[[Any], Any]:
    """A callback accepting a seed: a whole number 0 … 2**63 − 1."""
    return number(ge=0, le=SEED_MAX, what="a whole number")


def choice(options: Sequence[str]) -> Callable[[Any], Any]:
    """A callback accepting one of ``options`` (exact spelling), or None."""

    def check(value: Any) -> Any:
        if value is None or value in options:
            return value
        raise typer.BadParameter(f"expected one of {', '.join(options)}; found {value!r}")

    return check


def comma_list() -> Callable[[Any], Any]:
    """A callback for a repeatable option that also takes comma-separated values
    (``-a H100,A100`` is ``-a H100 -a A100``); blanks are dropped, order kept."""

    def split(values: list[str] | None) -> list[str]:
        # a list, never None: typer turns an empty list into the option's None default itself
        # (and typer 0.12 fails on a None returned here)
        parts = [p.strip() for v in values or () for p in str(v).split(",")]
        return [p for p in parts if p]

    return split
