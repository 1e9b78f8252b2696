"""The ledger's tables: SQLAlchemy 2 typed ORM models (``Mapped[...]``, ``mapped_column``).

The schema is created and upgraded only by the Alembic migrations beside this module
(:mod:`hyperplan.ledger.migrations`), never by ``create_all``. Money is USD, prices USD per
instance-hour, quantities instances (fractional when the plan is an LP), dates are the first day
of a period; timestamps are UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    """Now, UTC, without microseconds (stored the same on SQLite and PostgreSQL)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base of the ledger's models."""


class Workspace(Base):
    """A ledger of its own (a team, a business unit). ``ledger_version`` counts its mutations."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    ledger_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ScenarioVersion(Base):
    """A scenario as planned: its YAML text and the text's sha256 (one row per distinct text)."""

    __tablename__ = "scenario_versions"
    __table_args__ = (UniqueConstraint("workspace_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    yaml_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PlanRun(Base):
    """A plan that was brought to the ledger, with the versions that made it and the artifact."""

    __tablename__ = "plan_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    scenario_version_id: Mapped[int | None] = mapped_column(ForeignKey("scenario_versions.id"))
    catalog_version: Mapped[str] = mapped_column(String(40))
    catalog_sha256: Mapped[str] = mapped_column(String(64))
    solver_version: Mapped[str] = mapped_column(String(40))
    hyperplan_version: Mapped[str] = mapped_column(String(40))
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(80))
    from_ledger_version: Mapped[int | None] = mapped_column(Integer)
    plan_sha256: Mapped[str] = mapped_column(String(64))
    plan_json: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Adoption(Base):
    """One applied ``hyperplan adopt``: the plan run it adopted and the ledger versions around it."""

    __tablename__ = "adoptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    plan_run_id: Mapped[int] = mapped_column(ForeignKey("plan_runs.id"))
    from_version: Mapped[int] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Contract(Base):
    """A take-or-pay spend commitment with one provider over ``[start, end)``."""

    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    provider: Mapped[str] = mapped_column(String(80))
    committed_usd: Mapped[float] = mapped_column(Float)
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    discount: Mapped[float] = mapped_column(Float, default=0.0)
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Commitment(Base):
    """One commitment: quantity of one offer for one term from ``start`` to ``end``.

    ``state`` moves proposed → approved → signed → active → expired (or → cancelled before it
    is signed); :mod:`hyperplan.ledger.states` holds the allowed transitions.
    """

    __tablename__ = "commitments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    adoption_id: Mapped[int | None] = mapped_column(ForeignKey("adoptions.id"))
    kind: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(80))
    region: Mapped[str] = mapped_column(String(80))
    offer: Mapped[str] = mapped_column(String(200))
    accelerator: Mapped[str] = mapped_column(String(80))
    term_years: Mapped[int] = mapped_column(Integer)
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    quantity: Mapped[float] = mapped_column(Float)
    usd_per_hour: Mapped[float] = mapped_column(Float)
    value_usd: Mapped[float] = mapped_column(Float)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    state: Mapped[str] = mapped_column(String(20), index=True)
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditEntry(Base):
    """One row of the append-only audit log: who did what to which record, before and after.

    Written in the same transaction as the change it records; database triggers refuse any
    UPDATE or DELETE of this table.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    ledger_version: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ConsoleSession(Base):
    """A browser signed in to the console (:mod:`hyperplan.server.console.sessions`).

    ``id`` is the SHA-256 (hex) of the cookie's random value: the value itself is stored
    nowhere, so a copy of the database opens no session. The API token the browser signed in
    with is referenced by id (its text is never stored). ``expires_at`` is the earlier of
    ``last_seen_at`` plus the idle limit and ``created_at`` plus the longest lifetime.
    """

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True
    )
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
