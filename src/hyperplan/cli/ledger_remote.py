"""The ledger commands over HTTP: ``adopt``, ``sign`` and ``ledger ...`` with ``--server``.

Each function here is the remote twin of a command body in :mod:`hyperplan.cli.ledger`: it
asks the server (:class:`~hyperplan.cli.remote.Remote`) for what the local body reads from the
database and prints it with the same code, so the tables, ``--json`` documents and exit
statuses are the same; only the ``ledger`` named in a preview's first line (and the ``ledger``
key of ``adopt --json``) is the server's URL instead of a database.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from hyperplan.cli.remote import Remote, new_key
from hyperplan.ledger.errors import LedgerError, StaleLedger

PAGE = 10_000
"""Rows asked for per page of a listing (the server's largest page)."""
SNAPSHOT_TRIES = 5
"""Times a paged listing restarts when the ledger moved between its pages."""


def diff_from_preview(body: dict[str, Any]) -> Any:
    """The :class:`~hyperplan.ledger.diff.Diff` a preview answer describes (the same changes,
    counts and money per provider as the server's own)."""
    import pandas as pd

    from hyperplan.ledger.diff import Change, Diff, Item

    changes = []
    counts: dict[str, int] = {}
    for c in body["changes"]:
        item = Item(
            kind=c["kind"],
            provider=c["provider"],
            region=c["region"],
            offer=c["offer"],
            accelerator=c["accelerator"],
            term_years=int(c["term_years"]),
            start=dt.date.fromisoformat(c["start"]),
            end=dt.date.fromisoformat(c["end"]),
            quantity=c["quantity"],
            usd_per_hour=c["usd_per_hour"],
            value_usd=c["value_usd"],
        )
        action = c["action"]
        counts[action] = counts.get(action, 0) + 1
        if action == "new":
            changes.append(Change(action, None, item))
            continue
        before = replace(
            item, quantity=c["before_quantity"], value_usd=c["before_value_usd"], id=c["id"]
        )
        changes.append(Change(action, before, None if action == "cancelled" else item))
    money = pd.DataFrame(
        {
            "provider": [m["provider"] for m in body["money"]],
            "before_usd": [m["before_usd"] for m in body["money"]],
            "after_usd": [m["after_usd"] for m in body["money"]],
        }
    )
    for action in ("new", "changed", "cancelled"):
        if body[action] != counts.get(action, 0):
            raise LedgerError(f"the server's preview counts {body[action]} {action}, lists other")
    return Diff(changes, money, unchanged=body["unchanged"], held=body["held"], counts=counts)


def adopt(
    remote: Remote,
    file: Path,
    yes: bool,
    expect_version: int | None,
    out: Console,
    err: Console,
    as_json: bool,
) -> None:
    """``hyperplan adopt`` against a server: preview, then (``--yes``) apply at the version
    the preview saw (with an Idempotency-Key: a retried request is applied once)."""
    from hyperplan.cli.ledger_view import diff_doc, load_plan_file, print_diff

    load_plan_file(file)  # the same located errors as the local command, before any request
    body = file.read_bytes()
    headers = {"Content-Type": "application/json"}
    pv = remote.post(remote.ws("/adoptions/preview"), content=body, headers=headers).json()
    version, workspace = int(pv["ledger_version"]), remote.workspace
    plan_version = pv["plan_ledger_version"]
    if plan_version is not None and plan_version != version:
        raise StaleLedger(
            f"{file} was planned from ledger version {plan_version} of workspace "
            f"{workspace!r}, which is now at version {version}: the plan is stale. "
            "Re-plan from the ledger (hyperplan plan SCENARIO --from-ledger) and adopt that"
        )
    if expect_version is not None and expect_version != version:
        raise StaleLedger(
            f"the ledger of workspace {workspace!r} is at version {version}, not "
            f"{expect_version} as previewed: preview again (hyperplan adopt {file})"
        )
    d = diff_from_preview(pv)
    if plan_version is None and d.held:
        err.print(
            f"warning: {file} was not planned from the ledger: it does not count the "
            f"{d.held} signed or active commitment(s) as capacity held; plan with "
            "--from-ledger to build on them",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )

    def apply() -> dict[str, Any]:
        return remote.post(
            remote.ws("/adoptions"),
            params={"expect_version": version},
            content=body,
            headers=headers,
            idempotency_key=new_key(),
        ).json()

    if as_json:
        import hyperplan.cli.term as term

        doc = diff_doc(d, remote.url, workspace, version)
        if yes:
            done = apply()
            doc.update(
                applied=True, adoption=done["adoption_id"], version_after=done["ledger_version"]
            )
        term.print_json(doc)
        return
    out.print(
        f"ledger {remote.url}, workspace {workspace}, version {version}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    print_diff(d, out)
    if not yes:
        out.print(
            f"nothing applied; to apply: hyperplan adopt {file} --yes --expect-version {version}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return
    done = apply()
    out.print(
        f"adopted (adoption {done['adoption_id']}): ledger version {done['from_version']} → "
        f"{done['ledger_version']}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def move(remote: Remote, commitment_id: int, verb: str, external_id: str | None = None) -> Any:
    """Sign (``verb`` "sign") or move a commitment; the commitment as it is now."""
    path = remote.ws(f"/commitments/{commitment_id}/{verb}")
    if verb == "sign":
        return remote.post(path, json={"external_id": external_id}).json()
    return remote.post(path).json()


def check_state(state: str | None) -> None:
    """The local command's refusal of an unknown ``--state`` (same message, exit 2)."""
    from hyperplan.ledger.states import STATES

    if state is not None and state not in STATES:
        raise LedgerError(f"unknown state {state!r}; expected one of {', '.join(STATES)}")


def _pages(remote: Remote, path: str, params: dict[str, Any]) -> tuple[list[Any], int | None]:
    """Every row of a paged listing, from one ledger version when the pages carry it."""
    for _ in range(SNAPSHOT_TRIES):
        rows: list[Any] = []
        versions: set[int] = set()
        after = None
        while True:
            query = {**params, "limit": PAGE, **({"after": after} if after is not None else {})}
            page = remote.get(path, params=query).json()
            rows.extend(page["items"])
            if "ledger_version" in page:
                versions.add(int(page["ledger_version"]))
            after = page["next_after"]
            if after is None:
                break
        if len(versions) <= 1:
            return rows, (versions.pop() if versions else None)
    raise LedgerError(
        f"the ledger kept moving while it was read ({SNAPSHOT_TRIES} tries); try again"
    )


def commitments(
    remote: Remote, state: str | None, provider: str | None
) -> tuple[list[dict[str, Any]], int]:
    """Every commitment (filtered) and the ledger version they were read at."""
    check_state(state)
    params = {k: v for k, v in (("state", state), ("provider", provider)) if v is not None}
    rows, version = _pages(remote, remote.ws("/commitments"), params)
    return rows, int(version or 0)


def audit_log(remote: Remote) -> list[dict[str, Any]]:
    """The whole audit log, oldest first."""
    rows, _ = _pages(remote, remote.ws("/audit"), {})
    return rows


def contracts(remote: Remote) -> list[dict[str, Any]]:
    """The take-or-pay contracts, ordered by name."""
    return list(remote.get(remote.ws("/contracts")).json())


def echo_json(rows: Any) -> None:
    """Rows as the local listing prints them with ``--format json``."""
    typer.echo(json.dumps(rows, indent=1))
