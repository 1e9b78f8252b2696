"""Who may use the ledger through the server: users, API tokens, roles, idempotency keys.

A token grants one user one role in one workspace. Roles are ordered: ``viewer`` (reads) <
``planner`` (stores scenarios, previews adoptions, queues jobs) < ``approver`` (adopts, signs
and moves commitments) < ``admin`` (manages the workspace's tokens). Anything not granted is
denied.

Tokens are ``hp_`` followed by 43 URL-safe characters from :func:`secrets.token_urlsafe` (256
random bits). Only their SHA-256 digest is stored: a token is shown once, when it is created,
and can never be read back. A fast hash is the standard choice for high-entropy secrets (the
slow, salted hashes made for passwords defend against guessing a low-entropy input, which
256 random bits make hopeless), and it lets a request find its token by an indexed lookup.

Every change here (a token created or revoked, a stored scenario) writes an audit row in the
same transaction, without bumping the workspace's ledger version (that version guards the
commitments only). No token and no digest ever goes into the audit log, a message or a listing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    bindparam,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from hyperplan.ledger.audit import workspace_for_write, write_audit
from hyperplan.ledger.db import Ledger, wrap_db_errors
from hyperplan.ledger.errors import LedgerError
from hyperplan.ledger.models import Base, Workspace, utcnow

ROLES = ("viewer", "planner", "approver", "admin")
"""Every role, least to most privileged: a role may do everything the roles before it may."""
TOKEN_PREFIX = "hp_"
"""What every API token starts with (so secret scanners and people recognise one)."""
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,79}$")
"""A workspace or user name the server accepts: 1-80 letters, digits, ``.``, ``_``, ``@``, ``-``."""
RESERVED = frozenset({"health", "workspaces"})
"""Names the server's own routes take (``/api/v1/health``): no workspace may be called so."""
IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")
"""An Idempotency-Key header: 1-200 printable ASCII characters, no spaces."""


class User(Base):
    """A person or a service account that holds API tokens."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ApiToken(Base):
    """One API token: the SHA-256 of its text, whose it is, where and with which role."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(80))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class IdempotencyKey(Base):
    """The response of a POST made with an ``Idempotency-Key``: replayed for the same request,
    refused for another one. Written in the transaction of the change it answers."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


@dataclass(frozen=True)
class Grant:
    """What a valid token grants: ``role`` in ``workspace`` to ``user``."""

    token_id: int
    user: str
    workspace: str
    role: str
    workspace_id: int | None = None
    """The workspace's row id (``None`` when not known)."""
    ledger_version: int | None = None
    """The workspace's ledger version when the token was checked (``None``: not read)."""


class IdempotencyClash(LedgerError):
    """Another request with the same Idempotency-Key was recorded meanwhile."""


def role_rank(role: str) -> int:
    """0 for viewer … 3 for admin. Raises :class:`LedgerError` for an unknown role."""
    try:
        return ROLES.index(role)
    except ValueError:
        raise LedgerError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}") from None


def check_name(value: str, what: str) -> str:
    """``value`` when it is a valid workspace or user name, else a :class:`LedgerError`."""
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise LedgerError(
            f"bad {what} name {value!r}: expected 1-80 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    if what == "workspace" and value.lower() in RESERVED:
        raise LedgerError(f"bad workspace name {value!r}: reserved by the server's own routes")
    return value


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored for ``token``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh token: ``hp_`` and 256 random bits, URL-safe base64 (46 characters)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _record(t: ApiToken, user: str, workspace: str) -> dict[str, Any]:
    return {
        "id": t.id,
        "user": user,
        "workspace": workspace,
        "role": t.role,
        "name": t.name,
        "created_by": t.created_by,
        "created_at": t.created_at.isoformat(),
        "revoked_at": t.revoked_at.isoformat() if t.revoked_at is not None else None,
    }


def create_token(
    ledger: Ledger,
    user: str,
    workspace: str,
    role: str,
    *,
    name: str | None = None,
    author: str,
) -> tuple[str, dict[str, Any]]:
    """Create a token granting ``role`` in ``workspace`` to ``user`` (both created if new).

    Returns ``(token, record)``: the token text, shown this once, and its record (no secret).
    """
    role_rank(role)
    check_name(user, "user")
    check_name(workspace, "workspace")
    if name is not None and len(name) > 80:
        raise LedgerError(f"token name is {len(name)} characters; at most 80")
    token = new_token()
    with ledger.transaction() as s:
        ws = workspace_for_write(s, workspace)
        u = s.scalar(select(User).where(User.name == user))
        if u is None:
            u = User(name=user, created_at=utcnow())
            s.add(u)
            s.flush()
        t = ApiToken(
            user_id=u.id,
            workspace_id=ws.id,
            role=role,
            name=name,
            token_sha256=hash_token(token),
            created_by=author,
            created_at=utcnow(),
        )
        s.add(t)
        s.flush()
        record = _record(t, user, workspace)
        write_audit(s, ws, ws.ledger_version, author, "create", "token", t.id, None, record)
    return token, record


def revoke_token(
    ledger: Ledger, token_id: int, *, author: str, workspace: str | None = None
) -> dict[str, Any]:
    """Revoke a token (from now on it is refused); revoking twice is refused.

    ``workspace``: the token must belong to it (an admin revokes only their workspace's).
    """
    with ledger.transaction() as s:
        row = s.execute(
            select(ApiToken, User.name, Workspace)
            .join(User, User.id == ApiToken.user_id)
            .join(Workspace, Workspace.id == ApiToken.workspace_id)
            .where(ApiToken.id == token_id)
        ).first()
        if row is None or (workspace is not None and row[2].name != workspace):
            where = f" in workspace {workspace!r}" if workspace is not None else ""
            raise TokenNotFound(f"no token with id {token_id}{where}")
        t, user, ws = row
        if t.revoked_at is not None:
            raise LedgerError(f"token {token_id} was revoked already ({t.revoked_at.isoformat()})")
        before = _record(t, user, ws.name)
        t.revoked_at = utcnow()
        s.flush()
        after = _record(t, user, ws.name)
        write_audit(s, ws, ws.ledger_version, author, "revoke", "token", t.id, before, after)
        return after


class TokenNotFound(LedgerError):
    """No such token (in that workspace)."""


def list_tokens(
    ledger: Ledger, *, workspace: str | None = None, user: str | None = None
) -> list[dict[str, Any]]:
    """Tokens (never their text or digest), ordered by id; filtered by workspace and user."""
    with ledger.transaction() as s:
        q = (
            select(ApiToken, User.name, Workspace.name)
            .join(User, User.id == ApiToken.user_id)
            .join(Workspace, Workspace.id == ApiToken.workspace_id)
        )
        if workspace is not None:
            q = q.where(Workspace.name == workspace)
        if user is not None:
            q = q.where(User.name == user)
        return [_record(t, u, w) for t, u, w in s.execute(q.order_by(ApiToken.id))]


def read_connection(ledger: Ledger) -> Connection:
    """A pooled connection in autocommit, for reads of one statement each.

    On PostgreSQL a transaction costs two more round trips to the server (``BEGIN``, and the
    ``ROLLBACK`` when the pool takes the connection back), each a wait for the server's process
    to be scheduled on a busy machine; one ``SELECT`` is a consistent snapshot on its own. The
    pool resets the isolation level when the connection returns.
    """
    return ledger.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


_AUTHENTICATE = (
    select(
        ApiToken.id,
        ApiToken.role,
        ApiToken.revoked_at,
        User.name,
        Workspace.name,
        Workspace.id,
        Workspace.ledger_version,
    )
    .join(User, User.id == ApiToken.user_id)
    .join(Workspace, Workspace.id == ApiToken.workspace_id)
    .where(ApiToken.token_sha256 == bindparam("digest"))
)
"""The token lookup: one indexed query (the digest is unique), built once."""


def authenticate(ledger: Ledger, token: str) -> Grant | None:
    """What ``token`` grants, or ``None`` when it is unknown or revoked.

    One query on a pooled connection (no ORM session): it runs on every request the server
    answers, so it costs what a request's floor is (see docs/performance.md, section 7). Never
    cached: a revoked token is refused on the very next request, in every server process.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with wrap_db_errors(ledger), read_connection(ledger) as conn:
        row = conn.execute(_AUTHENTICATE, {"digest": hash_token(token)}).first()
    if row is None or row[2] is not None:
        return None
    return Grant(
        token_id=row[0],
        user=row[3],
        workspace=row[4],
        role=row[1],
        workspace_id=row[5],
        ledger_version=row[6],
    )


def workspaces_of(ledger: Ledger, user: str) -> list[dict[str, Any]]:
    """The workspaces ``user`` holds live tokens for: name, highest role, ledger version."""
    with ledger.transaction() as s:
        rows = s.execute(
            select(Workspace.name, Workspace.ledger_version, ApiToken.role)
            .join(ApiToken, ApiToken.workspace_id == Workspace.id)
            .join(User, User.id == ApiToken.user_id)
            .where(User.name == user, ApiToken.revoked_at.is_(None))
        ).all()
    best: dict[str, tuple[str, int]] = {}
    for name, version, role in rows:
        if name not in best or ROLES.index(role) > ROLES.index(best[name][0]):
            best[name] = (role, version)
    return [
        {"workspace": name, "role": role, "ledger_version": version}
        for name, (role, version) in sorted(best.items())
    ]


# ----------------------------------------------------------------------------------------------
# Idempotency keys
# ----------------------------------------------------------------------------------------------


def find_idempotent(
    ledger: Ledger, workspace: str, key: str
) -> tuple[str, int, dict[str, Any]] | None:
    """The stored ``(request sha256, status code, response)`` for ``key``, if any."""
    with ledger.transaction() as s:
        row = s.execute(
            select(
                IdempotencyKey.request_sha256,
                IdempotencyKey.status_code,
                IdempotencyKey.response,
            )
            .join(Workspace, Workspace.id == IdempotencyKey.workspace_id)
            .where(Workspace.name == workspace, IdempotencyKey.key == key)
        ).first()
    return (row[0], int(row[1]), row[2]) if row is not None else None


def record_idempotent(
    s: Session,
    workspace_id: int,
    key: str,
    request_sha256: str,
    status_code: int,
    response: dict[str, Any],
    actor: str,
) -> None:
    """Store a response for ``key`` in the caller's transaction.

    Raises :class:`IdempotencyClash` when the key was stored meanwhile (the caller's whole
    transaction must then roll back).
    """
    s.add(
        IdempotencyKey(
            workspace_id=workspace_id,
            key=key,
            request_sha256=request_sha256,
            status_code=status_code,
            response=response,
            actor=actor,
            created_at=utcnow(),
        )
    )
    try:
        s.flush()
    except IntegrityError:
        raise IdempotencyClash(
            "another request with this Idempotency-Key was recorded meanwhile"
        ) from None
