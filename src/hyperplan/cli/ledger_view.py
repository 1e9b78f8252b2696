"""How the ledger's commands show an adoption: the plan file read, the diff as a table and as
the ``--json`` document (shared by the local commands and their ``--server`` twins)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table

from hyperplan.errors import HyperplanError, InputError, Problem
from hyperplan.report.tables import print_table

if TYPE_CHECKING:
    from hyperplan.ledger.diff import Diff


def _usd(value: float) -> str:
    return f"{value:,.0f}"


def _qty(value: float) -> str:
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def load_plan_file(file: Path) -> Any:
    """A Plan from plan.json; anything else is a located input error (exit 2)."""
    from hyperplan.plan.api import Plan

    if not file.is_file():
        raise InputError([Problem(f"no such plan file: {file}", file=str(file))])
    try:
        plan = Plan.from_json(file)
    except InputError:
        raise  # already located (hyperplan.artifacts: JSON path, what was expected)
    except HyperplanError as exc:
        raise InputError([Problem(str(exc), file=str(file))]) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(
            [Problem(f"not a hyperplan plan.json ({type(exc).__name__}: {exc})", file=str(file))]
        ) from None
    if "commitments" not in plan.tables:
        raise InputError([Problem("the plan has no commitments table: not a plan", file=str(file))])
    return plan


def print_diff(d: Diff, console: Console) -> None:
    """The changes (one row each) and the money per provider before and after."""
    if d.changes:
        table = Table(title="Changes to the ledger", box=box.SIMPLE_HEAD)
        for name, justify in (
            ("change", "left"),
            ("provider", "left"),
            ("region", "left"),
            ("offer", "left"),
            ("term", "right"),
            ("start", "left"),
            ("quantity", "right"),
            ("value USD", "right"),
        ):
            table.add_column(
                name,
                justify=justify,  # type: ignore[arg-type]
                no_wrap=True,  # ids whole; print_table lists rows as lines when too wide
                overflow="fold",
            )
        for c in d.changes:
            item = c.item
            qty, value = _qty(item.quantity), _usd(item.value_usd)
            if c.action == "changed" and c.before is not None:
                qty = f"{_qty(c.before.quantity)}\n→ {qty}"
                value = f"{_usd(c.before.value_usd)}\n→ {value}"
            table.add_row(
                c.action if c.before is None else f"{c.action} #{c.before.id}",
                item.provider,
                item.region,
                item.offer,
                f"{item.term_years}y",
                item.start.isoformat(),
                qty,
                value,
            )
        print_table(table, console)
    money = Table(title="Whole-term value of live commitments (USD)", box=box.SIMPLE_HEAD)
    for name in ("provider", "before", "after", "change"):
        money.add_column(name, justify="left" if name == "provider" else "right")
    for r in d.money.itertuples():
        money.add_row(
            str(r.provider), _usd(r.before_usd), _usd(r.after_usd), _usd(r.after_usd - r.before_usd)
        )
    before, after = float(d.money["before_usd"].sum()), float(d.money["after_usd"].sum())
    money.add_row("total", _usd(before), _usd(after), _usd(after - before))
    print_table(money, console)
    s = d.summary()
    console.print(
        f"{s['new']} new, {s['changed']} changed, {s['cancelled']} cancelled, "
        f"{s['unchanged']} unchanged; {d.held} signed or active kept",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def diff_doc(d: Diff, where: str, workspace: str, version: int) -> dict[str, Any]:
    """``adopt --json``: the changes, the money per provider (USD, whole term) and the counts;
    ``applied`` False (a preview) until ``--yes`` applies it."""
    from hyperplan.cli.jsonout import plain, records

    changes = []
    for c in d.changes:
        item = c.item
        changes.append(
            {
                "action": c.action,
                "replaces": None if c.before is None else c.before.id,
                "provider": item.provider,
                "region": item.region,
                "offer": item.offer,
                "term_years": item.term_years,
                "start": item.start.isoformat(),
                "quantity": plain(item.quantity),
                "value_usd": plain(item.value_usd),
                "quantity_before": None if c.before is None else plain(c.before.quantity),
                "value_usd_before": None if c.before is None else plain(c.before.value_usd),
            }
        )
    return {
        "schema": "hyperplan.adopt/1",
        "ledger": where,
        "workspace": workspace,
        "version": version,
        "changes": changes,
        "money": records(d.money),
        "summary": plain(dict(d.summary())),
        "held": d.held,
        "applied": False,
        "adoption": None,
        "version_after": None,
    }
