"""Durable background jobs (plans, comparisons, simulations): a queue in the ledger database.

A job is one row of ``jobs``. Its life::

    queued ──claim──► running ──► succeeded | failed | cancelled
       ▲                 │
       └── lease expired (the worker died or lost the database), lost < max_attempts

- **claim**: a worker takes the oldest queued job. PostgreSQL: ``SELECT ... FOR UPDATE SKIP
  LOCKED`` (workers on several machines never wait on each other's rows); SQLite: the whole
  claim runs in a ``BEGIN IMMEDIATE`` write transaction and the row is taken with a
  conditional ``UPDATE ... WHERE id = ? AND state = 'queued'`` whose row count is checked.
  Either way one job is claimed by exactly one worker.
- **lease and heartbeat**: a claim sets ``lease_until`` = now + the worker's lease (seconds);
  the worker renews it while the job runs (every third of the lease). Every claim first
  reaps running jobs whose lease expired: re-queued with ``lost`` + 1, or failed with the
  reason once ``lost`` reaches ``max_attempts``. Times come from the database's clock on
  PostgreSQL (workers on several machines agree on it), from this machine's on SQLite.
- **fencing**: every write a worker makes to a running job names the job, the worker and the
  ``attempt`` (a counter of claims): a worker whose lease expired and whose job was claimed
  again writes nothing (:class:`LeaseLost`), so a job's result is recorded once.
- **cancellation**: ``cancel_requested``; a queued job is cancelled at once, a running one by
  its worker at its next heartbeat.
- **idempotency**: a job enqueued with an ``idempotency_key`` already used in the workspace is
  the same job (the same request) or refused (another request: :class:`JobConflict`).

Why not a queue library: procrastinate and PgQueuer are PostgreSQL-only; huey, rq, dramatiq and
celery need a broker (Redis, RabbitMQ) besides the database, and none has both the SQLite
default and leases with fencing. This table is the ledger's own, migrated by Alembic
(revision ``0003_jobs``) and backed up with it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from hyperplan.errors import HyperplanError
from hyperplan.ledger.db import Ledger, wrap_db_errors
from hyperplan.ledger.errors import LedgerError
from hyperplan.ledger.models import Base, PlanRun, Workspace

KINDS = ("plan", "compare", "simulate", "replan")
"""What a job does: ``plan`` a scenario (the Plan artifact becomes a plan run), ``compare``
strategies on a scenario (the comparison table), ``simulate`` a plan (sim.json), ``replan``
a scenario's remaining horizon from the ledger and its actuals (the diff document)."""
STATES = ("queued", "running", "succeeded", "failed", "cancelled")
"""Every state of a job; the last three are final."""
FINAL = frozenset({"succeeded", "failed", "cancelled"})
"""States a job never leaves."""
DEFAULT_MAX_ATTEMPTS = 3
"""Attempts a job may lose to a dead worker before it is failed."""
DEFAULT_TIME_LIMIT = 3600.0
"""Run time allowed to one attempt of a job, seconds."""
MAX_TIME_LIMIT = 7 * 24 * 3600.0
"""Longest time limit a job may ask for, seconds (a week)."""
MAX_KEY = 200
"""Longest idempotency key, characters."""


class JobError(LedgerError):
    """Bad job input or a refused job operation (unknown id, finished job). Exit status 2."""


class JobNotFound(JobError):
    """No such job (or plan run) in the workspace (HTTP 404)."""


class JobConflict(HyperplanError):
    """An idempotency key reused for another request (HTTP 409)."""

    exit_code = 2


class LeaseLost(HyperplanError):
    """The worker no longer holds the job (its lease expired and it was re-queued or claimed
    again, or it was finished meanwhile): it must stop and write nothing."""

    exit_code = 1


class Job(Base):
    """One background job: its request, where it is in its life, its progress and result.

    Times are UTC; ``lease_until`` is when the running worker's lease ends unless renewed.
    ``history`` holds one entry per attempt: ``{"attempt", "worker", "started", "ended",
    "outcome"}`` (ISO times; ``ended`` is the last heartbeat for an attempt whose worker died).
    """

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("workspace_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    input_text: Mapped[str] = mapped_column(Text)
    request_sha256: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(MAX_KEY))
    author: Mapped[str] = mapped_column(String(200))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    lost: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    time_limit_seconds: Mapped[float] = mapped_column(Float)
    worker: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    result_text: Mapped[str | None] = mapped_column(Text)
    plan_run_id: Mapped[int | None] = mapped_column(ForeignKey("plan_runs.id"))
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


# ----------------------------------------------------------------------------------------------
# Transactions and the clock
# ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _write(ledger: Ledger) -> Iterator[Session]:
    """One write transaction; on SQLite taken with ``BEGIN IMMEDIATE`` (the database's write
    lock from the first statement: a claim's read and its update cannot interleave with
    another writer's)."""
    with ledger.sessions() as s:
        try:
            with wrap_db_errors(ledger):
                if ledger.engine.dialect.name == "sqlite":
                    s.connection().exec_driver_sql("BEGIN IMMEDIATE")
                yield s
                s.commit()
        except BaseException:
            s.rollback()
            raise


def db_now(s: Session) -> dt.datetime:
    """Now, UTC, naive, with microseconds: the database server's clock on PostgreSQL (one clock
    for workers on every machine), this machine's on SQLite (one machine by construction)."""
    if s.get_bind().dialect.name == "postgresql":
        return s.execute(text("SELECT timezone('utc', clock_timestamp())")).scalar_one()
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ----------------------------------------------------------------------------------------------
# Records
# ----------------------------------------------------------------------------------------------


def record(job: Job, workspace: str) -> dict[str, Any]:
    """A job as plain JSON values (no input text and no result: they can be large)."""
    return {
        "id": job.id,
        "workspace": workspace,
        "kind": job.kind,
        "state": job.state,
        "params": job.params,
        "author": job.author,
        "idempotency_key": job.idempotency_key,
        "attempt": job.attempt,
        "lost": job.lost,
        "max_attempts": job.max_attempts,
        "time_limit_seconds": job.time_limit_seconds,
        "worker": job.worker,
        "lease_until": _iso(job.lease_until),
        "cancel_requested": bool(job.cancel_requested),
        "progress": job.progress,
        "error": job.error,
        "plan_run_id": job.plan_run_id,
        "has_result": job.state == "succeeded",
        "history": list(job.history or []),
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
    }


def _workspace_id(s: Session, name: str) -> int | None:
    return s.scalar(select(Workspace.id).where(Workspace.name == name))


def _ensure_workspace(ledger: Ledger, name: str) -> None:
    """Create the workspace at ledger version 0 when it does not exist (a concurrent creator
    wins quietly). Version 0 is what the ledger reports for a workspace it does not know, so
    adoptions and stale-plan checks see no difference."""
    with ledger.transaction() as s:
        if _workspace_id(s, name) is not None:
            return
    try:
        with ledger.transaction() as s:
            s.add(
                Workspace(name=name, ledger_version=0, created_at=db_now(s).replace(microsecond=0))
            )
    except (IntegrityError, LedgerError):
        with ledger.transaction() as s:
            if _workspace_id(s, name) is None:
                raise


def request_sha256(kind: str, params: dict[str, Any], input_text: str) -> str:
    """Fingerprint of a job request (what an idempotency key is bound to)."""
    blob = json.dumps([kind, params, input_text], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------------------------
# Enqueue, read, cancel
# ----------------------------------------------------------------------------------------------


def enqueue(
    ledger: Ledger,
    workspace: str,
    kind: str,
    input_text: str,
    *,
    params: dict[str, Any] | None = None,
    author: str,
    idempotency_key: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    time_limit_seconds: float = DEFAULT_TIME_LIMIT,
) -> tuple[dict[str, Any], bool]:
    """Queue a job; return its record and whether it was created (``False``: the idempotency
    key named an earlier identical request, whose job is returned).

    Args:
        input_text: the scenario YAML (plan, compare, replan) or the plan.json text (simulate).
        params: the job's options (JSON values), e.g. ``{"integer": true}``.
        idempotency_key: at most one job per key and workspace.
        max_attempts: attempts the job may lose to dead workers before it fails (≥ 1).
        time_limit_seconds: run time allowed to one attempt, seconds (> 0).

    Raises:
        JobError: an unknown kind or a bad limit.
        JobConflict: the key was used for another request.
    """
    params = dict(params or {})
    if kind not in KINDS:
        raise JobError(f"unknown job kind {kind!r}; expected one of {', '.join(KINDS)}")
    if isinstance(max_attempts, bool) or not 1 <= int(max_attempts) <= 100:
        raise JobError(f"max_attempts must be 1 to 100; found {max_attempts!r}")
    limit = float(time_limit_seconds)
    if not 0 < limit <= MAX_TIME_LIMIT:
        raise JobError(f"time_limit_seconds must be > 0 and ≤ {MAX_TIME_LIMIT:g}; found {limit!r}")
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_KEY:
        raise JobError(f"an idempotency key has 1 to {MAX_KEY} characters")
    sha = request_sha256(kind, params, input_text)
    _ensure_workspace(ledger, workspace)
    failure: LedgerError | None = None
    for _ in range(2):
        try:
            with _write(ledger) as s:
                ws_id = _workspace_id(s, workspace)
                assert ws_id is not None
                if idempotency_key is not None:
                    old = s.scalar(
                        select(Job).where(
                            Job.workspace_id == ws_id, Job.idempotency_key == idempotency_key
                        )
                    )
                    if old is not None:
                        return _replay(old, sha, workspace), False
                now = db_now(s)
                job = Job(
                    workspace_id=ws_id,
                    kind=kind,
                    state="queued",
                    params=params,
                    input_text=input_text,
                    request_sha256=sha,
                    idempotency_key=idempotency_key,
                    author=author[:200],
                    attempt=0,
                    lost=0,
                    max_attempts=int(max_attempts),
                    time_limit_seconds=limit,
                    cancel_requested=False,
                    history=[],
                    created_at=now,
                    updated_at=now,
                )
                s.add(job)
                s.flush()
                return record(job, workspace), True
        except LedgerError as exc:
            # a concurrent enqueue with the same key won the unique constraint: read its job
            if idempotency_key is None:
                raise
            failure = exc
    assert failure is not None
    raise failure


def _replay(old: Job, sha: str, workspace: str) -> dict[str, Any]:
    if old.request_sha256 != sha:
        raise JobConflict(
            f"idempotency key {old.idempotency_key!r} was used for another request (job "
            f"{old.id}); use a new key for a new request"
        )
    return record(old, workspace)


def _job(s: Session, job_id: int, workspace: str) -> Job:
    ws_id = _workspace_id(s, workspace)
    job = s.get(Job, job_id) if ws_id is not None else None
    if job is None or job.workspace_id != ws_id:
        raise JobNotFound(f"no job with id {job_id} in workspace {workspace!r}")
    return job


def get(ledger: Ledger, job_id: int, workspace: str) -> dict[str, Any]:
    """One job's record. Raises :class:`JobError` when the workspace has no such job."""
    with ledger.transaction() as s:
        return record(_job(s, job_id, workspace), workspace)


def list_jobs(
    ledger: Ledger, workspace: str, *, state: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The workspace's jobs, newest first (at most ``limit``), optionally of one state."""
    if state is not None and state not in STATES:
        raise JobError(f"unknown job state {state!r}; expected one of {', '.join(STATES)}")
    with ledger.transaction() as s:
        ws_id = _workspace_id(s, workspace)
        if ws_id is None:
            return []
        q = select(Job).where(Job.workspace_id == ws_id)
        if state is not None:
            q = q.where(Job.state == state)
        return [record(j, workspace) for j in s.scalars(q.order_by(Job.id.desc()).limit(limit))]


def result(ledger: Ledger, job_id: int, workspace: str) -> tuple[dict[str, Any], str]:
    """A finished job's record and its result as JSON text: the plan.json of a plan job (its
    plan run's artifact), the sim.json of a simulation, the table of a comparison, the diff
    document of a replan.

    Raises :class:`JobError` when there is no such job or it has not succeeded.
    """
    with ledger.transaction() as s:
        job = _job(s, job_id, workspace)
        if job.state != "succeeded":
            raise JobError(f"job {job_id} has no result: it is {job.state}")
        if job.plan_run_id is not None:
            run = s.get(PlanRun, job.plan_run_id)
            assert run is not None
            return record(job, workspace), run.plan_json
        assert job.result_text is not None
        return record(job, workspace), job.result_text


def request_cancel(ledger: Ledger, job_id: int, workspace: str) -> dict[str, Any]:
    """Ask for a job to stop: a queued job is cancelled now, a running one by its worker at
    its next heartbeat. Raises :class:`JobError` for a finished job."""
    with _write(ledger) as s:
        job = _job(s, job_id, workspace)
        if job.state in FINAL:
            raise JobError(f"job {job_id} is already {job.state}")
        now = db_now(s)
        job.cancel_requested = True
        job.updated_at = now
        if job.state == "queued":
            job.state = "cancelled"
            job.finished_at = now
            job.error = "cancelled before it started"
        s.flush()
        return record(job, workspace)


# ----------------------------------------------------------------------------------------------
# The worker's side: claim, heartbeat, finish
# ----------------------------------------------------------------------------------------------


def _history(job: Job, **entry: Any) -> None:
    """Append an attempt to the job's history (a new list: JSON columns track assignment)."""
    job.history = [*(job.history or []), entry]


def _end_history(job: Job, ended: dt.datetime, outcome: str) -> None:
    entries = [dict(e) for e in job.history or []]
    if entries and entries[-1].get("attempt") == job.attempt and entries[-1].get("ended") is None:
        entries[-1]["ended"] = _iso(ended)
        entries[-1]["outcome"] = outcome
    job.history = entries


def _lock_rows(q: Any, s: Session) -> Any:
    """``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the transaction's write lock."""
    if s.get_bind().dialect.name == "postgresql":
        return q.with_for_update(skip_locked=True)
    return q


def reap(s: Session, now: dt.datetime) -> list[int]:
    """Running jobs whose lease expired (their worker died or lost the database): re-queued
    with ``lost`` + 1, or failed with the reason when no attempt is left; a job whose cancel
    was asked is cancelled. Returns their ids. Runs inside the caller's transaction."""
    q = select(Job).where(Job.state == "running", Job.lease_until < now).order_by(Job.id)
    ids = []
    for job in s.scalars(_lock_rows(q, s)):
        last = (job.history or [{}])[-1]
        ended = dt.datetime.fromisoformat(last["beat"]) if last.get("beat") else job.lease_until
        _end_history(job, ended or now, "lease expired")
        job.lost += 1
        why = (
            f"worker {job.worker} stopped renewing its lease on attempt {job.attempt} "
            "(it died or lost the database)"
        )
        job.worker, job.lease_until, job.updated_at = None, None, now
        if job.cancel_requested:
            job.state, job.finished_at, job.error = "cancelled", now, f"cancelled; {why}"
        elif job.lost >= job.max_attempts:
            job.state, job.finished_at = "failed", now
            job.error = f"{why}; {job.lost} of {job.max_attempts} attempts lost, none left"
        else:
            job.state = "queued"
            job.progress = {"phase": "queued", "retry_after": why}
        ids.append(job.id)
    s.flush()
    return ids


@dataclass(frozen=True)
class Claim:
    """A job a worker holds: what to run, and the fencing token of its writes (``attempt``)."""

    job_id: int
    workspace: str
    kind: str
    params: dict[str, Any]
    input_text: str
    author: str
    attempt: int
    worker: str
    time_limit_seconds: float
    lease_seconds: float


def claim(
    ledger: Ledger, worker: str, lease_seconds: float, *, pid: int | None = None
) -> Claim | None:
    """Reap expired leases, then take the oldest queued job for ``worker`` with a lease of
    ``lease_seconds``; ``None`` when nothing is queued. ``pid``: the process that will run
    it, recorded in the attempt's history."""
    with _write(ledger) as s:
        now = db_now(s)
        reap(s, now)
        q = select(Job.id).where(Job.state == "queued").order_by(Job.id).limit(1)
        job_id = s.scalar(_lock_rows(q, s))
        if job_id is None:
            return None
        until = now + dt.timedelta(seconds=lease_seconds)
        taken = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued")
            .values(
                state="running",
                worker=worker,
                lease_until=until,
                attempt=Job.attempt + 1,
                updated_at=now,
            ),
            execution_options={"synchronize_session": False},
        )
        if taken.rowcount != 1:  # pragma: no cover - the write lock / row lock prevents it
            return None
        job = s.get(Job, job_id, populate_existing=True)
        assert job is not None
        if job.started_at is None:
            job.started_at = now
        job.progress = {"phase": "claimed"}
        _history(
            job,
            attempt=job.attempt,
            worker=worker,
            pid=pid,
            started=_iso(now),
            beat=_iso(now),
            ended=None,
            outcome=None,
        )
        ws = s.get(Workspace, job.workspace_id)
        assert ws is not None
        s.flush()
        return Claim(
            job_id=job.id,
            workspace=ws.name,
            kind=job.kind,
            params=dict(job.params or {}),
            input_text=job.input_text,
            author=job.author,
            attempt=job.attempt,
            worker=worker,
            time_limit_seconds=job.time_limit_seconds,
            lease_seconds=lease_seconds,
        )


def _held(s: Session, c: Claim) -> Job:
    """The claimed job, locked for this transaction, if ``c``'s worker still holds it."""
    q = select(Job).where(
        Job.id == c.job_id,
        Job.state == "running",
        Job.worker == c.worker,
        Job.attempt == c.attempt,
    )
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    job = s.scalar(q)
    if job is None:
        raise LeaseLost(f"job {c.job_id} attempt {c.attempt} is no longer held by {c.worker}")
    return job


def heartbeat(
    ledger: Ledger, c: Claim, progress: dict[str, Any] | None = None, *, pid: int | None = None
) -> bool:
    """Renew the lease (and record ``progress`` and the running process's ``pid`` when
    given); return whether a cancel was asked.

    Raises :class:`LeaseLost` when the worker no longer holds the job."""
    with _write(ledger) as s:
        job = _held(s, c)
        now = db_now(s)
        job.lease_until = now + dt.timedelta(seconds=c.lease_seconds)
        job.updated_at = now
        if progress is not None and progress != job.progress:
            job.progress = dict(progress)
        entries = [dict(e) for e in job.history or []]
        if entries and entries[-1].get("attempt") == c.attempt:
            entries[-1]["beat"] = _iso(now)
            if pid is not None:
                entries[-1]["pid"] = pid
            job.history = entries
        s.flush()
        return bool(job.cancel_requested)


def _finish(
    s: Session, job: Job, state: str, outcome: str, *, error: str | None = None
) -> dt.datetime:
    now = db_now(s)
    _end_history(job, now, outcome)
    job.state = state
    job.error = error
    job.finished_at = now
    job.updated_at = now
    job.lease_until = None
    return now


def complete(
    ledger: Ledger,
    c: Claim,
    result_text: str | None = None,
    *,
    plan: Any = None,
    progress: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record a job's success: its result text, or for a plan job ``plan`` (a
    :class:`~hyperplan.plan.api.Plan`) as a plan run, in one transaction with the state change.

    Raises :class:`LeaseLost` when the worker no longer holds the job (nothing written)."""
    with _write(ledger) as s:
        job = _held(s, c)
        if plan is not None:
            from hyperplan.ledger.api import _record_plan_run

            ws = s.get(Workspace, job.workspace_id)
            assert ws is not None
            run = _record_plan_run(s, ws, plan, job.author, _plan_version(plan, c.workspace))
            job.plan_run_id = run.id
        else:
            job.result_text = result_text
        _finish(s, job, "succeeded", "succeeded")
        job.progress = dict(progress) if progress is not None else {"phase": "done"}
        s.flush()
        return record(job, c.workspace)


def _plan_version(plan: Any, workspace: str) -> int | None:
    from hyperplan.ledger.api import plan_ledger_version

    return plan_ledger_version(plan, workspace)


def fail(
    ledger: Ledger, c: Claim, error: str, *, retry: bool = False, state: str = "failed"
) -> dict[str, Any]:
    """End the attempt ``c``: ``state`` ``failed`` (or ``cancelled``) with ``error``; with
    ``retry`` the attempt counts as lost and the job is queued again while attempts remain.

    Raises :class:`LeaseLost` when the worker no longer holds the job (nothing written)."""
    if state not in ("failed", "cancelled"):
        raise ValueError(state)
    with _write(ledger) as s:
        job = _held(s, c)
        if retry and state == "failed":
            job.lost += 1
            if job.lost < job.max_attempts:
                now = db_now(s)
                _end_history(job, now, f"lost: {error}")
                job.state, job.worker, job.lease_until, job.updated_at = "queued", None, None, now
                job.progress = {"phase": "queued", "retry_after": error}
                s.flush()
                return record(job, c.workspace)
            error = f"{error}; {job.lost} of {job.max_attempts} attempts lost, none left"
        _finish(s, job, state, state, error=error)
        s.flush()
        return record(job, c.workspace)


def release(ledger: Ledger, c: Claim, why: str) -> dict[str, Any]:
    """Give a job back to the queue unharmed (its worker is shutting down): queued again, the
    attempt not counted as lost. Raises :class:`LeaseLost` when it was not held."""
    with _write(ledger) as s:
        job = _held(s, c)
        now = db_now(s)
        _end_history(job, now, f"released: {why}")
        if job.cancel_requested:
            _finish(s, job, "cancelled", "cancelled", error="cancelled")
        else:
            job.state, job.worker, job.lease_until, job.updated_at = "queued", None, None, now
            job.progress = {"phase": "queued", "released": why}
        s.flush()
        return record(job, c.workspace)


def plan_run_json(ledger: Ledger, plan_run_id: int, workspace: str) -> str:
    """The plan.json text of one of the workspace's plan runs (the input of a simulation).

    Raises :class:`JobError` when the workspace has no such plan run."""
    with ledger.transaction() as s:
        ws_id = _workspace_id(s, workspace)
        run = s.get(PlanRun, plan_run_id) if ws_id is not None else None
        if run is None or run.workspace_id != ws_id:
            raise JobNotFound(f"no plan run with id {plan_run_id} in workspace {workspace!r}")
        return run.plan_json
