"""How the server answers errors: one JSON body (:class:`~hyperplan.server.schemas.ErrorBody`),
a 4xx for anything the client can fix, 503 when the database is away, and never a traceback.

- :class:`ApiError`: raised by routes and dependencies with a status and a code.
- The database away (a connection refused or dropped, PostgreSQL restarting, a SQLite lock
  timed out): 503 ``unavailable``, "database unavailable: ...", ``Retry-After: 1``, whether
  the error came wrapped (:class:`~hyperplan.ledger.errors.LedgerUnavailable`) or as
  SQLAlchemy's own ``OperationalError`` / ``InterfaceError`` from a route that queried directly.
- :func:`install`: exception handlers for hyperplan's own errors (located input problems keep
  their ``file:line:column``), request validation and HTTP errors.
- :class:`BodyLimit`: refuses a request body above a size (413) before it is read in full.
- :class:`CatchAll`: an unexpected exception is logged on the server (with a request id) and
  answered 500 with that id only; no message of the exception reaches the client.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hyperplan.errors import HyperplanError, InputError, Problem

log = logging.getLogger("hyperplan.server")

MAX_BODY_BYTES = 20 * 2**20
"""Default largest request body, bytes (20 MiB; frontier-2030's plan.json is 0.7 MB)."""


class ApiError(Exception):
    """An error answer: HTTP ``status``, a stable ``code``, a message and located problems."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        problems: list[Problem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.problems = problems or []
        self.headers = headers


class BodyTooLarge(ApiError):
    """The request body is above the server's limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            "body_too_large",
            f"the request body is above the limit of {limit:,} bytes",
        )


def problem_json(p: Problem) -> dict[str, Any]:
    """A located problem as JSON (with the ``file:line:column`` the CLI prints)."""
    return {
        "message": p.message,
        "file": p.file,
        "line": p.line,
        "column": p.column,
        "path": p.path,
        "location": p.location(),
    }


def error_body(code: str, message: str, problems: list[Problem] | None = None) -> dict[str, Any]:
    """The JSON of an error answer."""
    return {
        "error": code,
        "message": message,
        "problems": [problem_json(p) for p in problems or []],
    }


def error_response(exc: ApiError) -> JSONResponse:
    """:class:`ApiError` as a JSON response."""
    return JSONResponse(
        error_body(exc.code, exc.message, exc.problems),
        status_code=exc.status,
        headers=exc.headers,
    )


def from_hyperplan(exc: HyperplanError) -> ApiError:
    """The answer to one of hyperplan's own errors (input, ledger, access)."""
    from hyperplan.ledger.access import IdempotencyClash, TokenNotFound
    from hyperplan.ledger.api import CommitmentNotFound, RefusedMove, ScenarioNotFound
    from hyperplan.ledger.errors import LedgerUnavailable, StaleLedger

    if isinstance(exc, InputError):
        from hyperplan.scenario.load import format_problems, sort_problems

        problems = sort_problems(exc.problems)
        return ApiError(422, "invalid_input", format_problems(problems), problems)
    if isinstance(exc, StaleLedger):
        return ApiError(409, "stale_ledger", str(exc))
    if isinstance(exc, IdempotencyClash):
        return ApiError(409, "idempotency_conflict", f"{exc}; retry the request")
    if isinstance(exc, RefusedMove):
        return ApiError(409, "refused", str(exc))
    if isinstance(exc, CommitmentNotFound | ScenarioNotFound | TokenNotFound):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, LedgerUnavailable):
        log.warning("database unavailable: %s", exc)
        return database_unavailable()
    return ApiError(422, "invalid", str(exc))


DATABASE_UNAVAILABLE = (
    "database unavailable: the ledger database does not answer or is busy (connection refused "
    "or lost, a restart, a lock held too long); retry later"
)
"""The message of a 503 for the database away (no URL, host or driver text: those stay in the
server's log)."""


def database_unavailable() -> ApiError:
    """The 503 answer when the database is away."""
    return ApiError(503, "unavailable", DATABASE_UNAVAILABLE, headers={"Retry-After": "1"})


def is_connection_error(exc: BaseException) -> bool:
    """Whether a SQLAlchemy error means the database is away rather than a bug: a DBAPI
    ``OperationalError`` or ``InterfaceError`` (refused, dropped, timed out, locked), or any
    DBAPI error whose connection SQLAlchemy found dead (``connection_invalidated``)."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _validation_problems(exc: RequestValidationError) -> list[Problem]:
    """Request validation errors as problems (``query.limit: ...``), never echoing input."""
    problems = []
    for e in exc.errors():
        loc = [str(part) for part in e.get("loc", ())]
        where = loc[0] if loc else "request"
        path = ".".join(loc)
        problems.append(Problem(str(e.get("msg", "invalid")), file=where, path=path))
    return problems


def install(app: FastAPI) -> None:
    """Register the error handlers on ``app``."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(HyperplanError)
    async def _hyperplan_error(request: Request, exc: HyperplanError) -> JSONResponse:
        return error_response(from_hyperplan(exc))

    from sqlalchemy.exc import DBAPIError

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if not is_connection_error(exc):
            raise exc  # a bug: CatchAll logs it with a request id and answers 500
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc)
        log.warning("database unavailable: %s %s: %s", request.method, request.url.path, reason)
        return error_response(database_unavailable())

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = _validation_problems(exc)
        message = "; ".join(f"{p.path}: {p.message}" for p in problems) or "invalid request"
        return error_response(ApiError(422, "invalid_request", message, problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 409: "conflict"}
        code = codes.get(exc.status_code, "http_error")
        detail, problems = exc.detail, []
        if isinstance(detail, dict):  # {"message", "problems"}: the job routes' located 422
            problems = [
                Problem(
                    str(p.get("message", "")),
                    file=p.get("file"),
                    line=p.get("line"),
                    column=p.get("column"),
                    path=str(p.get("path") or ""),
                )
                for p in detail.get("problems") or []
                if isinstance(p, dict)
            ]
            detail = detail.get("message")
            code = "invalid_input" if problems else code
        message = detail if isinstance(detail, str) and detail else "error"
        return error_response(
            ApiError(exc.status_code, code, message, problems, headers=exc.headers)
        )


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class BodyLimit:
    """ASGI middleware: a body above ``max_bytes`` gets 413, checked on ``Content-Length``
    before reading and on the bytes received (a chunked body) while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
                if length < 0:
                    await _send_json(
                        send, 400, error_body("bad_request", "Content-Length is not a number")
                    )
                    return
                if length > self.max_bytes:
                    await _send_json(send, 413, error_body(*_too_large(self.max_bytes)))
                    return
        received = 0
        limit = self.max_bytes

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)


def _too_large(limit: int) -> tuple[str, str]:
    e = BodyTooLarge(limit)
    return e.code, e.message


class CatchAll:
    """ASGI middleware: an exception nothing else handled is logged (traceback on the server,
    with a request id) and answered 500 with the id only, if no response has started."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except BodyTooLarge as exc:
            if not started:
                await _send_json(send, 413, error_body(exc.code, exc.message))
        except Exception:
            request_id = uuid.uuid4().hex[:12]
            log.exception(
                "internal error, request %s: %s %s",
                request_id,
                scope.get("method"),
                scope.get("path"),
            )
            if not started:
                await _send_json(
                    send,
                    500,
                    error_body(
                        "internal",
                        f"internal error (request {request_id}); the server log has the details",
                    ),
                )
