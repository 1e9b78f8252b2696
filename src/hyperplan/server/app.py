"""The FastAPI application: :func:`create_app` builds it over one ledger database.

``hyperplan serve`` runs it with uvicorn; tests use it with a TestClient. The app opens the
ledger (creating and migrating it) when it starts, unless it is given an open one, and closes
what it opened when it stops. The OpenAPI document is at ``/openapi.json``, the interactive
docs at ``/docs``.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from hyperplan.ledger.db import Ledger, open_ledger
from hyperplan.server import errors
from hyperplan.server.errors import MAX_BODY_BYTES, BodyLimit, CatchAll
from hyperplan.version import __version__

DESCRIPTION = """\
The hyperplan ledger over HTTP: scenarios, adoptions, commitments, contracts and the audit log
of a workspace, for a team.

Authenticate with `Authorization: Bearer <token>` (a token from `hyperplan token create`).
Roles per workspace: viewer (reads) < planner (scenarios, previews, jobs) < approver (adopt,
sign, move commitments) < admin (tokens). Anything not granted is denied.

Errors are JSON `{"error", "message", "problems"}`; input problems are located
(`file:line:column` and a field path) as the CLI prints them.
"""

TAGS = [
    {"name": "server", "description": "health"},
    {"name": "workspaces", "description": "the caller's workspaces and roles"},
    {"name": "scenarios", "description": "validated scenario versions (planner to store)"},
    {"name": "ledger", "description": "commitments, contracts, audit log; sign and move"},
    {"name": "adoption", "description": "preview (planner) and apply (approver) a plan"},
    {"name": "tokens", "description": "API tokens of a workspace (admin)"},
    {"name": "actuals", "description": "FOCUS billing exports: upload (planner), answers"},
]


def create_app(
    db_url: str | os.PathLike[str] | None = None,
    *,
    ledger: Ledger | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    routers: tuple[Any, ...] = (),
) -> FastAPI:
    """The hyperplan API over the ledger at ``db_url`` (a path or URL; default
    ``$HYPERPLAN_DATABASE_URL``, else ``./.hyperplan/ledger.db``).

    Args:
        db_url: the database, opened (and migrated) when the app starts.
        ledger: an open ledger to use instead (the caller closes it).
        max_body_bytes: largest request body accepted, bytes (above: 413).
        routers: more ``APIRouter`` objects to include (the ledger and job routes always are).
    """
    from hyperplan.server.auth import app_ledger, require_role
    from hyperplan.server.routes import router
    from hyperplan.server.routes_actuals import actuals_router
    from hyperplan.server.routes_jobs import jobs_router

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = None
        if getattr(app.state, "ledger", None) is None:
            opened = open_ledger(db_url)
            app.state.ledger = opened
        try:
            yield
        finally:
            if opened is not None:
                app.state.ledger = None
                opened.dispose()

    app = FastAPI(
        title="hyperplan",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.ledger = ledger
    errors.install(app)
    app.include_router(router)
    app.include_router(jobs_router(require_role, get_ledger=app_ledger))
    app.include_router(actuals_router())
    for extra in routers:
        app.include_router(extra)
    from hyperplan.server.console import MOUNT, console_app

    app.mount(MOUNT, console_app(app))
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(CatchAll)
    return app


def freeze_startup_objects() -> None:
    """Move every object alive now (modules, the app, its routes and schemas: ~180,000) out of
    the garbage collector's sight, for the life of a server process.

    A full collection walks every tracked object: ~60-280 ms for this heap on the 2-core
    machine, during which no request is answered (docs/performance.md, section 7). Frozen
    objects are still freed by reference counting; only cycles among them would stay. Call it
    once per server process, after building the app (``hyperplan serve`` does); not in tests,
    which build many apps in one process.
    """
    gc.collect()
    gc.freeze()


def server_process_app() -> FastAPI:
    """The app of one ``hyperplan serve --workers N`` process (a uvicorn factory): over
    ``$HYPERPLAN_DATABASE_URL``, startup objects frozen (:func:`freeze_startup_objects`)."""
    app = create_app()
    freeze_startup_objects()
    return app
