"""Console sessions: a random session id in an HttpOnly, SameSite=Strict cookie; the session
itself is a row of the ledger database (``console_sessions``, migration 0005).

The cookie holds 256 random bits and nothing else (never the token, never its digest). The
database holds the SHA-256 of the cookie's value (not the value: a copy of the database opens
no session), the id of the API token signed in with (not its text), the session's CSRF token
and three times: created, last seen, expires. So a session survives a restart of
``hyperplan serve`` and is the same in every worker process of it.

Every read and write runs in :func:`~hyperplan.ledger.db.run_transaction`: a connection
dropped under it (PostgreSQL restarted) is retried on a fresh one. Each request reads the
session joined with its token: a revoked token's sessions are refused
(and deleted) at once, and the role is always the token's current one. A session ends after
``idle_seconds`` without a request (its clock is moved on at most every
:data:`TOUCH_SECONDS`, so a page view writes at most once a minute) and at the latest
``max_age_seconds`` after sign-in. Each session has its own CSRF token, put in every form and
checked on every POST.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as OrmSession

from hyperplan.ledger.access import ApiToken, Grant, User
from hyperplan.ledger.db import Ledger, run_transaction
from hyperplan.ledger.models import ConsoleSession, Workspace, utcnow

COOKIE = "hp_console"
"""Name of the session cookie."""
IDLE_SECONDS = 8 * 3600.0
"""A session unused this long (seconds) is over."""
MAX_AGE_SECONDS = 7 * 24 * 3600.0
"""A session is over this long (seconds) after sign-in, however busy."""
MAX_SESSIONS = 10_000
"""Most sessions held at once; the least recently seen are dropped beyond it."""
TOUCH_SECONDS = 60.0
"""A session's last-seen time is written again only when it is older than this, seconds."""
SID_MAX = 200
"""Longest cookie value looked up, characters (ours are 43)."""


@dataclass
class Session:
    """One signed-in browser: what its token grants now and its CSRF token."""

    grant: Grant
    csrf: str = field(repr=False)
    last_used: dt.datetime


def digest(sid: str) -> str:
    """The stored id of a session: the SHA-256 (hex) of its cookie's value."""
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


class SessionStore:
    """Sessions by cookie value, in the database of ``ledger()`` (a callable, so the store can
    be made before the server opens its ledger). Safe from any thread or process."""

    def __init__(
        self,
        ledger: Callable[[], Ledger],
        idle_seconds: float = IDLE_SECONDS,
        max_sessions: int = MAX_SESSIONS,
        max_age_seconds: float = MAX_AGE_SECONDS,
    ) -> None:
        self._ledger = ledger
        self.idle_seconds = idle_seconds
        self.max_sessions = max_sessions
        self.max_age_seconds = max_age_seconds

    def _expiry(self, created: dt.datetime, now: dt.datetime) -> dt.datetime:
        return min(
            now + dt.timedelta(seconds=self.idle_seconds),
            created + dt.timedelta(seconds=self.max_age_seconds),
        )

    def create(self, grant: Grant) -> str:
        """A new session for the token of ``grant``; returns its id (the cookie's value).
        Expired sessions are deleted, and the least recently seen beyond ``max_sessions``."""
        sid = secrets.token_urlsafe(32)
        now = utcnow()

        def work(s: OrmSession) -> None:
            s.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
            held = s.scalar(select(func.count()).select_from(ConsoleSession)) or 0
            if held >= self.max_sessions:
                oldest = (
                    select(ConsoleSession.id)
                    .order_by(ConsoleSession.last_seen_at, ConsoleSession.id)
                    .limit(held - self.max_sessions + 1)
                )
                doomed = list(s.scalars(oldest))
                s.execute(delete(ConsoleSession).where(ConsoleSession.id.in_(doomed)))
            s.add(
                ConsoleSession(
                    id=digest(sid),
                    token_id=grant.token_id,
                    csrf=secrets.token_urlsafe(32),
                    created_at=now,
                    last_seen_at=now,
                    expires_at=self._expiry(now, now),
                )
            )

        run_transaction(self._ledger(), work)
        return sid

    def get(self, sid: str | None) -> Session | None:
        """The live session of cookie value ``sid`` (its idle clock moved on), else None: an
        unknown id, an expired session or a revoked token (those two are deleted)."""
        if not sid or len(sid) > SID_MAX:
            return None
        now = utcnow()

        def work(s: OrmSession) -> Session | None:
            row = s.execute(
                select(
                    ConsoleSession, ApiToken.role, ApiToken.revoked_at, User.name, Workspace.name
                )
                .join(ApiToken, ApiToken.id == ConsoleSession.token_id)
                .join(User, User.id == ApiToken.user_id)
                .join(Workspace, Workspace.id == ApiToken.workspace_id)
                .where(ConsoleSession.id == digest(sid))
            ).first()
            if row is None:
                return None
            found, role, revoked_at, user, workspace = row
            if revoked_at is not None or found.expires_at <= now:
                s.delete(found)
                return None
            if (now - found.last_seen_at).total_seconds() >= TOUCH_SECONDS:
                found.last_seen_at = now
                found.expires_at = self._expiry(found.created_at, now)
            grant = Grant(token_id=found.token_id, user=user, workspace=workspace, role=role)
            return Session(grant=grant, csrf=found.csrf, last_used=found.last_seen_at)

        return run_transaction(self._ledger(), work)

    def drop(self, sid: str | None) -> None:
        """End session ``sid`` (sign-out); unknown ids are ignored."""
        if sid and len(sid) <= SID_MAX:
            doomed = delete(ConsoleSession).where(ConsoleSession.id == digest(sid))
            run_transaction(self._ledger(), lambda s: s.execute(doomed))


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted CSRF token with the session's."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())
