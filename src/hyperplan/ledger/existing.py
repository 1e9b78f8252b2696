"""A new plan starts from the ledger: signed and active commitments become the scenario's
existing reservations (capacity held, cost sunk but reported), the ledger's take-or-pay
contracts its contracts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hyperplan.ledger.db import Ledger
from hyperplan.scenario.schema import Contract, Reservation, Scenario


def reservations(records: list[dict[str, Any]]) -> tuple[list[Reservation], list[str]]:
    """Signed/active reserved commitments as scenario ``reservations`` entries.

    Returns the entries and one note per commitment left out (builds and provisioned
    throughput have no reservation form yet; they are named so the miss is visible).
    """
    out, skipped = [], []
    for r in records:
        if r["kind"] != "reserved":
            skipped.append(
                f"commitment {r['id']} ({r['kind']} {r['provider']} {r['offer']}) is not a "
                "reservation and is not carried into the plan"
            )
            continue
        out.append(
            Reservation(
                provider=r["provider"],
                region=r["region"],
                instance_type=r["offer"],
                instances=r["quantity"],
                start=dt.date.fromisoformat(r["start"]),
                end=dt.date.fromisoformat(r["end"]),
                usd_per_hour=r["usd_per_hour"],
            )
        )
    return out, skipped


def contracts(records: list[dict[str, Any]], scenario: Scenario) -> list[Contract]:
    """The ledger's take-or-pay contracts the scenario does not declare itself (by name)."""
    declared = {c.name.lower() for c in scenario.contracts}
    return [
        Contract(
            name=r["name"],
            provider=r["provider"],
            committed_usd=r["committed_usd"],
            start=dt.date.fromisoformat(r["start"]),
            end=dt.date.fromisoformat(r["end"]),
            discount=r["discount"],
        )
        for r in records
        if r["name"].lower() not in declared
    ]


def scenario_from_ledger(
    scenario: Scenario,
    ledger: Ledger,
    workspace: str,
    *,
    source: str | Path | None = None,
    options: dict[str, Any] | None = None,
) -> tuple[Scenario, dict[str, Any], list[str]]:
    """``scenario`` with the ledger's held commitments and contracts added.

    Returns the new scenario, the ``meta["ledger"]`` to store in the plan (workspace, version,
    database, counts, the scenario's YAML text, versions and options: what an adoption records
    and checks) and notes for stderr.
    """
    from hyperplan.ledger.api import held, list_contracts
    from hyperplan.ledger.provenance import versions

    version, records = held(ledger, workspace)
    extra, notes = reservations(records)
    added_contracts = contracts(list_contracts(ledger, workspace), scenario)
    declared = {
        (r.provider.lower(), r.region.lower(), r.instance_type.lower(), r.start, r.end)
        for r in scenario.reservations
    }
    for r in extra:
        if (
            r.provider.lower(),
            r.region.lower(),
            r.instance_type.lower(),
            r.start,
            r.end,
        ) in declared:
            notes.append(
                f"warning: the scenario already declares a reservation of {r.provider} "
                f"{r.region} {r.instance_type} from {r.start} to {r.end}, and the ledger holds "
                "one too: both are counted; drop it from the scenario if it is the same one"
            )
    new = scenario.model_copy(deep=True)
    new.reservations = [*scenario.reservations, *extra]
    new.contracts = [*scenario.contracts, *added_contracts]
    text = None
    if source is not None:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError:
            text = None
    notes.append(
        f"from the ledger ({ledger.where}, workspace {workspace}, version {version}): "
        f"{len(extra)} held commitment(s) as existing reservations, "
        f"{len(added_contracts)} contract(s)"
    )
    meta: dict[str, Any] = {
        "workspace": workspace,
        "version": version,
        "database": ledger.where,
        "reservations": len(extra),
        "contracts": len(added_contracts),
        "versions": versions(),
        "options": dict(options or {}),
    }
    if text is not None:
        meta["scenario_yaml"] = text
    return new, meta, notes
