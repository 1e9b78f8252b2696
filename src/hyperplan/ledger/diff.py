"""What adopting a plan would change in the ledger: new, changed and cancelled commitments.

Pure functions over plain records (no database): the plan's ``commitments`` table is matched
with the ledger's open commitments (proposed or approved) by their key: kind, provider, region,
offer, term and start. A plan commitment with no open match is *new*; one whose quantity or
price differs is *changed*; an open ledger commitment the plan no longer holds is *cancelled*.
Signed and active commitments are never touched by an adoption.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from hyperplan.errors import InputError, Problem
from hyperplan.ledger.states import LIVE, OPEN

REL_TOL = 1e-9
"""Relative difference below which two quantities or prices are the same."""

Key = tuple[str, str, str, str, int, dt.date]


@dataclass(frozen=True)
class Item:
    """A commitment as the diff sees it (``id`` is the ledger's, ``None`` for a plan's)."""

    kind: str
    provider: str
    region: str
    offer: str
    accelerator: str
    term_years: int
    start: dt.date
    end: dt.date
    quantity: float
    usd_per_hour: float
    value_usd: float
    state: str = "proposed"
    id: int | None = None

    @property
    def key(self) -> Key:
        """Identity across plans: kind, provider, region, offer (case-insensitive), term, start."""
        return (
            self.kind,
            self.provider.lower(),
            self.region.lower(),
            self.offer.lower(),
            self.term_years,
            self.start,
        )

    def same_terms(self, other: Item) -> bool:
        """Same quantity and unit price (to a relative 1e-9)."""
        return math.isclose(
            self.quantity, other.quantity, rel_tol=REL_TOL, abs_tol=1e-12
        ) and math.isclose(self.usd_per_hour, other.usd_per_hour, rel_tol=REL_TOL, abs_tol=1e-12)


@dataclass(frozen=True)
class Change:
    """One line of the diff: ``action`` is new, changed or cancelled."""

    action: str
    before: Item | None
    after: Item | None

    @property
    def item(self) -> Item:
        """The commitment as it will be (or was, for a cancellation)."""
        item = self.after or self.before
        assert item is not None
        return item


@dataclass
class Diff:
    """Every change an adoption would make, and the ledger's money before and after it.

    ``money`` has one row per provider: ``before_usd`` and ``after_usd`` are the whole-term
    value of its live commitments (every state but cancelled and expired), USD.
    """

    changes: list[Change]
    money: pd.DataFrame
    unchanged: int = 0
    held: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Nothing to apply."""
        return not self.changes

    def summary(self) -> dict[str, Any]:
        """Counts and USD totals as plain JSON (stored with the adoption)."""
        return {
            "new": self.counts.get("new", 0),
            "changed": self.counts.get("changed", 0),
            "cancelled": self.counts.get("cancelled", 0),
            "unchanged": self.unchanged,
            "before_usd": float(self.money["before_usd"].sum()),
            "after_usd": float(self.money["after_usd"].sum()),
            "by_provider": {
                str(r.provider): {"before_usd": r.before_usd, "after_usd": r.after_usd}
                for r in self.money.itertuples()
            },
        }


def add_years(day: dt.date, years: int) -> dt.date:
    """``day`` moved ``years`` calendar years (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def plan_items(
    table: pd.DataFrame,
    *,
    period_starts: Sequence[str] | None = None,
    source: str = "plan.json",
) -> list[Item]:
    """The commitments of a plan's ``commitments`` table, one per key (duplicates summed).

    End = start + term years for a reservation. Builds and provisioned throughput (term 0 in
    the table) end where their service inside the horizon ends: the start of period
    ``first_period_index + periods_covered`` of ``period_starts`` (the plan's
    ``meta["period_starts"]``, horizon end included), else one year after the start.
    Raises :class:`InputError` when the table lacks a column.
    """
    need = (
        "provider",
        "region",
        "instance_type",
        "accelerator",
        "term_years",
        "start_date",
        "instances",
        "usd_per_hour",
        "contract_value_usd",
    )
    missing = [c for c in need if c not in table.columns]
    if missing and len(table):
        raise InputError(
            [
                Problem(
                    f"the commitments table lacks column(s) {', '.join(missing)}: not a plan",
                    file=source,
                    path="tables.commitments",
                )
            ]
        )
    if not len(table):
        return []
    kinds = table["commitment"] if "commitment" in table.columns else ["reserved"] * len(table)
    found: dict[Key, Item] = {}
    for i, (row, kind) in enumerate(zip(table.itertuples(index=False), kinds, strict=True)):
        try:
            item = _row_item(row, str(kind), period_starts)
        except (TypeError, ValueError, AttributeError, IndexError) as exc:
            raise InputError(
                [Problem(f"not a commitment: {exc}", file=source, path=f"tables.commitments[{i}]")]
            ) from None
        if item.key in found:
            prev = found[item.key]
            item = replace(
                prev,
                quantity=prev.quantity + item.quantity,
                value_usd=prev.value_usd + item.value_usd,
            )
        found[item.key] = item
    return sorted(found.values(), key=_order)


def _row_item(row: Any, kind: str, period_starts: Sequence[str] | None) -> Item:
    """One row of a plan's commitments table as an Item (ValueError when a field is unusable)."""
    start = row.start_date
    start = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start)[:10])
    years = int(row.term_years)
    end = add_years(start, max(years, 1))
    if years <= 0 and period_starts and hasattr(row, "periods_covered"):
        last = min(int(row.first_period_index) + int(row.periods_covered), len(period_starts) - 1)
        end = dt.date.fromisoformat(str(period_starts[last])[:10])
    numbers = {
        "instances": float(row.instances),
        "usd_per_hour": float(row.usd_per_hour),
        "contract_value_usd": float(row.contract_value_usd),
    }
    for name, value in numbers.items():
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0; found {value!r}")
    return Item(
        kind=kind,
        provider=str(row.provider),
        region=str(row.region),
        offer=str(row.instance_type),
        accelerator=str(row.accelerator),
        term_years=years,
        start=start,
        end=end,
        quantity=numbers["instances"],
        usd_per_hour=numbers["usd_per_hour"],
        value_usd=numbers["contract_value_usd"],
    )


def _order(item: Item) -> tuple:
    return (
        item.start,
        item.provider.lower(),
        item.region.lower(),
        item.offer.lower(),
        item.kind,
        item.term_years,
        item.id or 0,
    )


def diff(plan: Sequence[Item], ledger: Iterable[Item]) -> Diff:
    """The changes that make the ledger's open commitments equal the plan's commitments."""
    ledger = list(ledger)
    open_by_key: dict[Key, Item] = {}
    for item in sorted(ledger, key=_order):
        if item.state in OPEN:
            open_by_key.setdefault(item.key, item)
    changes: list[Change] = []
    unchanged = 0
    matched: set[int] = set()
    for item in plan:
        old = open_by_key.get(item.key)
        if old is None:
            changes.append(Change("new", None, item))
            continue
        assert old.id is not None
        matched.add(old.id)
        if old.same_terms(item):
            unchanged += 1
        else:
            changes.append(Change("changed", old, replace(item, id=old.id, state="proposed")))
    for item in sorted(ledger, key=_order):
        if item.state in OPEN and item.id not in matched:
            changes.append(Change("cancelled", item, None))
    counts = {a: sum(c.action == a for c in changes) for a in ("new", "changed", "cancelled")}
    held = sum(item.state not in OPEN and item.state in LIVE for item in ledger)
    return Diff(changes, _money(ledger, changes), unchanged, held, counts)


def _money(ledger: list[Item], changes: list[Change]) -> pd.DataFrame:
    """Whole-term value of live commitments per provider before and after the changes, USD.

    Both sides are sums over the commitments they hold (no running differences), so an
    unchanged provider shows the same figure twice.
    """
    replaced = {c.before.id for c in changes if c.before is not None}
    live = [item for item in ledger if item.state in LIVE]
    kept = [item for item in live if item.id not in replaced]
    added = [c.after for c in changes if c.after is not None]

    def by_provider(items: Iterable[Item]) -> dict[str, float]:
        out: dict[str, float] = {}
        for item in sorted(items, key=_order):
            out[item.provider] = out.get(item.provider, 0.0) + item.value_usd
        return out

    before, after = by_provider(live), by_provider(kept + added)
    providers = sorted(set(before) | set(after), key=str.lower)
    return pd.DataFrame(
        {
            "provider": providers,
            "before_usd": [before.get(p, 0.0) for p in providers],
            "after_usd": [after.get(p, 0.0) for p in providers],
        }
    )
