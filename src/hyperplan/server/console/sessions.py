"""Console sessions: a random session id in an HttpOnly, SameSite=Strict cookie; the API token
it stands for stays in the server's memory.

The cookie holds 256 random bits and nothing else (never the token, never its digest). Each
request authenticates the token again (:func:`hyperplan.ledger.access.authenticate`), so a
revoked token ends its sessions at once and the role is always the current one. Each session
has its own CSRF token, put in every form and checked on every POST.

Sessions live in the memory of the one ``hyperplan serve`` process: a restart signs everyone
out (they paste their token again). ``IDLE_SECONDS`` of inactivity end a session.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "hp_console"
"""Name of the session cookie."""
IDLE_SECONDS = 8 * 3600.0
"""A session unused this long (seconds) is over."""
MAX_SESSIONS = 10_000
"""Most sessions held at once; the least recently used are dropped beyond it."""


@dataclass
class Session:
    """One signed-in browser: the token it signed in with (server side only) and its CSRF token."""

    token: str = field(repr=False)
    csrf: str = field(repr=False)
    last_used: float


class SessionStore:
    """Sessions by id, thread-safe (FastAPI runs sync routes in a thread pool)."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS, max_sessions: int = MAX_SESSIONS):
        self._items: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.idle_seconds = idle_seconds
        self.max_sessions = max_sessions

    def create(self, token: str) -> str:
        """A new session for ``token``; returns its id (the cookie's value)."""
        sid = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            if len(self._items) >= self.max_sessions:
                oldest = min(self._items, key=lambda k: (self._items[k].last_used, k))
                del self._items[oldest]
            self._items[sid] = Session(token, secrets.token_urlsafe(32), now)
        return sid

    def get(self, sid: str | None) -> Session | None:
        """The live session of id ``sid`` (its idle clock restarted), else None."""
        if not sid:
            return None
        now = time.monotonic()
        with self._lock:
            found = self._items.get(sid)
            if found is None:
                return None
            if now - found.last_used > self.idle_seconds:
                del self._items[sid]
                return None
            found.last_used = now
            return found

    def drop(self, sid: str | None) -> None:
        """End session ``sid`` (sign-out); unknown ids are ignored."""
        if sid:
            with self._lock:
                self._items.pop(sid, None)

    def _expire(self, now: float) -> None:
        dead = [k for k, s in self._items.items() if now - s.last_used > self.idle_seconds]
        for k in dead:
            del self._items[k]


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted CSRF token with the session's."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())
