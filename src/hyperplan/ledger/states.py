"""The life of a commitment: proposed → approved → signed → active → expired, or cancelled.

A commitment is cancelled only before it is signed (a signed commitment is a contract: it runs
to its end). ``expired`` and ``cancelled`` are final.
"""

from __future__ import annotations

STATES = ("proposed", "approved", "signed", "active", "expired", "cancelled")
"""Every state, in life order."""

TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"approved", "signed", "cancelled"}),
    "approved": frozenset({"signed", "cancelled"}),
    "signed": frozenset({"active", "expired"}),
    "active": frozenset({"expired"}),
    "expired": frozenset(),
    "cancelled": frozenset(),
}
"""The allowed moves: state → states it may go to."""

OPEN = frozenset({"proposed", "approved"})
"""States an adoption may still change or cancel (not signed yet)."""
HELD = frozenset({"signed", "active"})
"""States that are capacity the organisation holds: a new plan starts from these."""
LIVE = OPEN | HELD
"""States that count in the ledger's money (not cancelled, not expired)."""


def allowed(before: str, after: str) -> bool:
    """Whether a commitment may move from ``before`` to ``after``."""
    return after in TRANSITIONS.get(before, frozenset())


def refusal(before: str, after: str) -> str | None:
    """Why ``before`` → ``after`` is refused, or ``None`` when it is allowed."""
    if after not in TRANSITIONS:
        return f"unknown state {after!r}; expected one of {', '.join(STATES)}"
    if allowed(before, after):
        return None
    targets = sorted(TRANSITIONS.get(before, frozenset()), key=STATES.index)
    may = f"it may go to {', '.join(targets)}" if targets else f"{before} is final"
    return f"a {before} commitment cannot become {after}: {may}"
