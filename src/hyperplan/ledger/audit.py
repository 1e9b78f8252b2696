"""The rows every ledger mutation writes in its transaction: the audit entry, and the
workspace it is made in when that is new."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hyperplan.ledger.models import AuditEntry, Workspace, utcnow


def write_audit(
    s: Session,
    ws: Workspace,
    version: int,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Add an audit row to ``s`` (the mutation's transaction) at ledger ``version``: who
    (``actor``) did what (``action``) to which row (``entity``, ``entity_id``), with the
    row's record before and after (``None``: created / deleted)."""
    s.add(
        AuditEntry(
            workspace_id=ws.id,
            ledger_version=version,
            at=utcnow(),
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
        )
    )


def workspace_for_write(s: Session, name: str) -> Workspace:
    """The workspace ``name``, created at ledger version 0 when new (flushed, so it has an
    id): writes that do not change the ledger (tokens, imports, scenario versions) make it."""
    ws = s.scalar(select(Workspace).where(Workspace.name == name))
    if ws is None:
        ws = Workspace(name=name, ledger_version=0, created_at=utcnow())
        s.add(ws)
        s.flush()
    return ws
