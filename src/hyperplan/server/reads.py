"""The server's hot reads as JSON bytes: one Core query each, serialised once.

The read routes (commitment and audit pages, contracts, jobs, one job) are the requests a team's
consoles and scripts make most. Each function here runs one SQLAlchemy Core ``SELECT`` of the
columns the response needs on a pooled connection in autocommit (no ORM session, no objects;
one statement is its own snapshot), builds the
same plain values as :mod:`hyperplan.ledger.api` and :mod:`hyperplan.ledger.jobs` do, and
serialises them with ``pydantic_core.to_json`` (NaN and infinities as ``null``, as the response
models would). The routes return those bytes as they are: FastAPI does not validate them again
against the response model, which stays in the OpenAPI document. tests/test_server_reads.py
checks every function against the library's own records.

The workspace's row id comes from the token lookup (:class:`~hyperplan.server.auth.Principal`),
so a page costs the token query and this one.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Row

from hyperplan.ledger import jobs
from hyperplan.ledger.access import read_connection
from hyperplan.ledger.db import Ledger, wrap_db_errors
from hyperplan.ledger.models import AuditEntry, Commitment, Contract, Workspace


def dumps(value: Any) -> bytes:
    """``value`` (plain JSON values) as compact UTF-8 JSON; NaN and infinities as null."""
    return to_json(value, inf_nan_mode="null")


def _rows(ledger: Ledger, statement: Any, params: dict[str, Any]) -> list[Row[Any]]:
    """The rows of one statement, read in autocommit (:func:`read_connection`)."""
    with wrap_db_errors(ledger), read_connection(ledger) as conn:
        return list(conn.execute(statement, params))


def workspace_id(ledger: Ledger, workspace: str) -> tuple[int | None, int]:
    """``(row id, ledger version)`` of ``workspace`` (``(None, 0)``: not recorded yet)."""
    rows = _rows(
        ledger,
        select(Workspace.id, Workspace.ledger_version).where(Workspace.name == workspace),
        {},
    )
    return (rows[0][0], rows[0][1]) if rows else (None, 0)


# ----------------------------------------------------------------------------------------------
# commitments
# ----------------------------------------------------------------------------------------------

_COMMITMENT_COLUMNS = (
    Commitment.id,
    Commitment.state,
    Commitment.kind,
    Commitment.provider,
    Commitment.region,
    Commitment.offer,
    Commitment.accelerator,
    Commitment.term_years,
    Commitment.start,
    Commitment.end,
    Commitment.quantity,
    Commitment.usd_per_hour,
    Commitment.value_usd,
    Contract.name,
    Commitment.external_id,
)


def _commitment(r: Row[Any]) -> dict[str, Any]:
    """A row of :data:`_COMMITMENT_COLUMNS` as :func:`hyperplan.ledger.api.commitment_record`."""
    return {
        "id": r[0],
        "state": r[1],
        "kind": r[2],
        "provider": r[3],
        "region": r[4],
        "offer": r[5],
        "accelerator": r[6],
        "term_years": r[7],
        "start": r[8].isoformat(),
        "end": r[9].isoformat(),
        "quantity": float(r[10]),
        "usd_per_hour": float(r[11]),
        "value_usd": float(r[12]),
        "contract": r[13],
        "external_id": r[14],
    }


def commitment_page(
    ledger: Ledger,
    workspace_id: int | None,
    *,
    state: str | None = None,
    provider: str | None = None,
    after_id: int | None = None,
    limit: int,
) -> tuple[list[dict[str, Any]], int | None]:
    """``(rows, next_after)``: at most ``limit`` commitments of the workspace with an id above
    ``after_id``, ordered by id, filtered by state and provider (case-insensitive);
    ``next_after`` is the last row's id when more follow, else ``None``."""
    if workspace_id is None:
        return [], None
    q = (
        select(*_COMMITMENT_COLUMNS)
        .outerjoin(Contract, Contract.id == Commitment.contract_id)
        .where(Commitment.workspace_id == bindparam("ws"))
    )
    params: dict[str, Any] = {"ws": workspace_id, "limit": limit + 1}
    if state is not None:
        q = q.where(Commitment.state == bindparam("state"))
        params["state"] = state
    if provider is not None:
        q = q.where(func.lower(Commitment.provider) == bindparam("provider"))
        params["provider"] = provider.lower()
    if after_id is not None:
        q = q.where(Commitment.id > bindparam("after"))
        params["after"] = after_id
    q = q.order_by(Commitment.id).limit(bindparam("limit"))
    rows = [_commitment(r) for r in _rows(ledger, q, params)]
    return _page(rows, limit)


def _page(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], int | None]:
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1]["id"]
    return rows, None


# ----------------------------------------------------------------------------------------------
# contracts, audit log
# ----------------------------------------------------------------------------------------------

_CONTRACTS = (
    select(
        Contract.id,
        Contract.name,
        Contract.provider,
        Contract.committed_usd,
        Contract.start,
        Contract.end,
        Contract.discount,
        Contract.external_id,
    )
    .where(Contract.workspace_id == bindparam("ws"))
    .order_by(Contract.name, Contract.id)
)


def contracts(ledger: Ledger, workspace_id: int | None) -> list[dict[str, Any]]:
    """The workspace's take-or-pay contracts, ordered by name (as
    :func:`hyperplan.ledger.api.list_contracts`)."""
    if workspace_id is None:
        return []
    return [
        {
            "id": r[0],
            "name": r[1],
            "provider": r[2],
            "committed_usd": float(r[3]),
            "start": r[4].isoformat(),
            "end": r[5].isoformat(),
            "discount": float(r[6]),
            "external_id": r[7],
        }
        for r in _rows(ledger, _CONTRACTS, {"ws": workspace_id})
    ]


def audit_page(
    ledger: Ledger, workspace_id: int | None, *, after_id: int | None = None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """``(rows, next_after)`` of the workspace's audit log, oldest first (as
    :func:`hyperplan.ledger.api.audit_log`)."""
    if workspace_id is None:
        return [], None
    q = select(
        AuditEntry.id,
        AuditEntry.ledger_version,
        AuditEntry.at,
        AuditEntry.actor,
        AuditEntry.action,
        AuditEntry.entity,
        AuditEntry.entity_id,
        AuditEntry.before,
        AuditEntry.after,
    ).where(AuditEntry.workspace_id == bindparam("ws"))
    params: dict[str, Any] = {"ws": workspace_id, "limit": limit + 1}
    if after_id is not None:
        q = q.where(AuditEntry.id > bindparam("after"))
        params["after"] = after_id
    q = q.order_by(AuditEntry.id).limit(bindparam("limit"))
    rows = [
        {
            "id": r[0],
            "ledger_version": r[1],
            "at": r[2].isoformat(),
            "actor": r[3],
            "action": r[4],
            "entity": r[5],
            "entity_id": r[6],
            "before": r[7],
            "after": r[8],
        }
        for r in _rows(ledger, q, params)
    ]
    return _page(rows, limit)


# ----------------------------------------------------------------------------------------------
# jobs
# ----------------------------------------------------------------------------------------------

J = jobs.Job
_JOB_COLUMNS = (
    J.id,
    J.kind,
    J.state,
    J.params,
    J.author,
    J.idempotency_key,
    J.attempt,
    J.lost,
    J.max_attempts,
    J.time_limit_seconds,
    J.worker,
    J.lease_until,
    J.cancel_requested,
    J.progress,
    J.error,
    J.plan_run_id,
    J.history,
    J.created_at,
    J.updated_at,
    J.started_at,
    J.finished_at,
)
"""Every column :func:`hyperplan.ledger.jobs.record` shows (not the input or the result)."""


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _job(r: Row[Any], workspace: str) -> dict[str, Any]:
    """A row of :data:`_JOB_COLUMNS` as :func:`hyperplan.ledger.jobs.record`."""
    return {
        "id": r[0],
        "workspace": workspace,
        "kind": r[1],
        "state": r[2],
        "params": r[3],
        "author": r[4],
        "idempotency_key": r[5],
        "attempt": r[6],
        "lost": r[7],
        "max_attempts": r[8],
        "time_limit_seconds": float(r[9]),
        "worker": r[10],
        "lease_until": _iso(r[11]),
        "cancel_requested": bool(r[12]),
        "progress": r[13],
        "error": r[14],
        "plan_run_id": r[15],
        "has_result": r[2] == "succeeded",
        "history": list(r[16] or []),
        "created_at": _iso(r[17]),
        "updated_at": _iso(r[18]),
        "started_at": _iso(r[19]),
        "finished_at": _iso(r[20]),
    }


def job_list(
    ledger: Ledger,
    workspace_id: int | None,
    workspace: str,
    *,
    state: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The workspace's jobs, newest first (at most ``limit``), optionally of one state (as
    :func:`hyperplan.ledger.jobs.list_jobs`)."""
    if workspace_id is None:
        return []
    q = select(*_JOB_COLUMNS).where(J.workspace_id == bindparam("ws"))
    params: dict[str, Any] = {"ws": workspace_id, "limit": limit}
    if state is not None:
        q = q.where(J.state == bindparam("state"))
        params["state"] = state
    q = q.order_by(J.id.desc()).limit(bindparam("limit"))
    return [_job(r, workspace) for r in _rows(ledger, q, params)]


_ONE_JOB = select(*_JOB_COLUMNS).where(J.id == bindparam("id"), J.workspace_id == bindparam("ws"))


def job(ledger: Ledger, workspace_id: int | None, workspace: str, job_id: int) -> dict[str, Any]:
    """One job's record (as :func:`hyperplan.ledger.jobs.get`). Raises
    :class:`~hyperplan.ledger.jobs.JobNotFound` when the workspace has no such job."""
    rows = (
        _rows(ledger, _ONE_JOB, {"id": job_id, "ws": workspace_id})
        if workspace_id is not None
        else []
    )
    if not rows:
        raise jobs.JobNotFound(f"no job with id {job_id} in workspace {workspace!r}")
    return _job(rows[0], workspace)
