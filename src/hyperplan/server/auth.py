"""Authentication and roles: ``Authorization: Bearer <token>``, deny by default.

Every route but ``/api/v1/health`` depends on :func:`require_role` (or :func:`authenticated`
for the caller's list of workspaces). A request is refused

- 401 without a bearer token, or with one that is unknown or revoked;
- 403 when the token is for another workspace than the one in the path, or grants a role
  below the one the route needs (viewer < planner < approver < admin).

No token ever appears in a message or a log line: messages name the user and the workspace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Path, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hyperplan.ledger.access import NAME_RE, ROLES, Grant, authenticate, role_rank
from hyperplan.ledger.db import Ledger
from hyperplan.server.errors import ApiError

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token from `hyperplan token create`: `Authorization: Bearer hp_...`.",
)
WorkspacePath = Annotated[
    str,
    Path(
        pattern=NAME_RE.pattern,
        max_length=80,
        description="workspace name (1-80 letters, digits, '.', '_', '@', '-')",
    ),
]
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Principal:
    """Who is calling: ``user``, holding ``role`` in ``workspace`` (the one in the path).

    ``workspace_id`` and ``ledger_version`` are what the token lookup read with it (``None``
    when the principal was made otherwise): the read routes use them instead of querying the
    workspace again.
    """

    user: str
    workspace: str
    role: str
    workspace_id: int | None = None
    ledger_version: int | None = None

    def at_least(self, role: str) -> bool:
        """Whether this principal's role is ``role`` or above."""
        return ROLES.index(self.role) >= role_rank(role)


def ledger_of(request: Request) -> Ledger:
    """The app's open ledger (503 while the server starts or stops)."""
    ledger = getattr(request.app.state, "ledger", None)
    if ledger is None:
        raise ApiError(503, "unavailable", "the server is starting or stopping; retry later")
    return ledger


async def app_ledger(request: Request) -> Ledger:
    """FastAPI dependency: :func:`ledger_of` without a hop through the thread pool (an
    ``async`` dependency runs in the event loop; this one does no I/O)."""
    return ledger_of(request)


def _grant(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Grant:
    if credentials is None or not credentials.credentials:
        raise ApiError(
            401,
            "unauthenticated",
            "this needs an API token: send the header 'Authorization: Bearer <token>'",
            headers=_CHALLENGE,
        )
    grant = authenticate(ledger_of(request), credentials.credentials)
    if grant is None:
        raise ApiError(
            401, "unauthenticated", "the API token is unknown or revoked", headers=_CHALLENGE
        )
    return grant


def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> Grant:
    """FastAPI dependency: any valid token (for routes without a workspace in the path)."""
    return _grant(request, credentials)


def require_role(min_role: str) -> Callable[..., Principal]:
    """A FastAPI dependency that admits a token for the path's ``{workspace}`` granting
    ``min_role`` or above, and returns the :class:`Principal`.

    Use it on every route whose path holds ``{workspace}``::

        @router.get("/api/v1/{workspace}/things")
        def things(who: Annotated[Principal, Depends(require_role("viewer"))]) -> ...

    Raises :class:`~hyperplan.ledger.errors.LedgerError` at once for an unknown role.
    """
    rank = role_rank(min_role)

    def dependency(
        request: Request,
        workspace: WorkspacePath,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
    ) -> Principal:
        grant = _grant(request, credentials)
        if grant.workspace != workspace:
            raise ApiError(
                403,
                "forbidden",
                f"user {grant.user!r}: this token does not grant access to workspace {workspace!r}",
            )
        if ROLES.index(grant.role) < rank:
            raise ApiError(
                403,
                "forbidden",
                f"user {grant.user!r} is {grant.role} in workspace {workspace!r}; this needs "
                f"{min_role} or above",
            )
        principal = Principal(
            user=grant.user,
            workspace=workspace,
            role=grant.role,
            workspace_id=grant.workspace_id,
            ledger_version=grant.ledger_version,
        )
        request.state.principal = principal
        return principal

    dependency.__name__ = f"require_{min_role}"
    return dependency
