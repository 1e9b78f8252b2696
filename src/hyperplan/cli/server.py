"""The server's commands (registered on the main app by :func:`register`).

    hyperplan serve [--db PATH|URL] [--host 127.0.0.1] [--port 8000] [--workers 1]
    hyperplan token create --user U --workspace W --role viewer|planner|approver|admin [--name N]
    hyperplan token list [--workspace W] [--user U] [--format table|json]
    hyperplan token revoke ID

``token create`` prints the token alone on stdout, once (``TOKEN=$(hyperplan token create
...)``); it is stored only as a SHA-256 digest and cannot be shown again. ``token list`` never
shows tokens. Exit status: 0 done, 2 bad input (unknown role, bad name, unknown id, a database
that cannot be opened).
"""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

import hyperplan.cli.term as term
from hyperplan.cli.ledger import AuthorOption, DbOption
from hyperplan.cli.runner import run_command

ROLE_HELP = "viewer, planner, approver or admin."


@contextlib.contextmanager
def _graceful_stop() -> Iterator[None]:
    """While uvicorn serves, SIGINT and SIGTERM are its own: it stops gracefully (requests
    finish, the ledger closes), then re-raises the signal for the handler it found. That
    handler here ignores it, so a stopped server exits 0 instead of as interrupted."""
    handlers = {
        sig: signal.signal(sig, lambda signum, frame: None)
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _serve_processes(ledger: Any, host: str, port: int, log_level: str, workers: int) -> None:
    """Run ``workers`` uvicorn processes of :func:`hyperplan.server.app.server_process_app` over the
    already migrated ``ledger``: each opens its own engine from ``$HYPERPLAN_DATABASE_URL``
    (set here, for the children only, to the ledger's full URL: it is never printed)."""
    import os

    import uvicorn

    from hyperplan.ledger.db import ENV_URL

    ledger.dispose()  # no pooled connection may cross the fork
    previous = os.environ.get(ENV_URL)
    os.environ[ENV_URL] = ledger.url.render_as_string(hide_password=False)
    try:
        with _graceful_stop():
            uvicorn.run(
                "hyperplan.server.app:server_process_app",
                factory=True,
                host=host,
                port=port,
                log_level=log_level,
                server_header=False,
                workers=workers,
            )
    finally:
        if previous is None:
            os.environ.pop(ENV_URL, None)
        else:
            os.environ[ENV_URL] = previous


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``token`` group to ``app``."""

    @app.command("serve")
    def serve_command(
        db: DbOption = None,
        host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[
            int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")
        ] = 8000,
        log_level: Annotated[
            str, typer.Option("--log-level", help="critical, error, warning, info or debug.")
        ] = "info",
        workers: Annotated[
            int,
            typer.Option(
                "--workers",
                min=1,
                max=64,
                help="Server processes sharing the port (uvicorn workers); API tokens and "
                "console sessions live in the database, so any process answers any client.",
            ),
        ] = 1,
    ) -> None:
        """Serve the ledger over HTTP (FastAPI + uvicorn); API docs at /docs.

        The embedded default needs no set-up: the SQLite file ./.hyperplan/ledger.db is
        created and migrated. For a team, pass a PostgreSQL URL (--db or
        $HYPERPLAN_DATABASE_URL). Create tokens with `hyperplan token create`.

        --workers N runs N server processes on the port (each with its own connection
        pool; the database is migrated once, before they start): reads scale with the
        cores. API tokens and web console sessions are kept in the database, so every
        process answers every client.

        Example: hyperplan serve --port 8000
        """

        def body() -> None:
            from hyperplan.errors import HyperplanError, InputError, Problem

            try:
                import fastapi  # noqa: F401
                import uvicorn
            except ImportError as exc:
                raise HyperplanError(
                    f"hyperplan serve needs {exc.name}: pip install 'hyperplan[server]'"
                ) from None
            from hyperplan.ledger.db import open_ledger
            from hyperplan.server.app import create_app

            levels = ("critical", "error", "warning", "info", "debug")
            if log_level not in levels:
                raise InputError(
                    [
                        Problem(
                            f"unknown log level {log_level!r}; expected {', '.join(levels)}",
                            path="--log-level",
                        )
                    ]
                )
            ledger = open_ledger(db)
            try:
                term.err().print(
                    f"hyperplan serve: ledger {ledger.where}; http://{host}:{port}/docs",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
                if workers > 1:
                    term.err().print(
                        f"hyperplan serve: {workers} worker processes",
                        markup=False,
                        highlight=False,
                        soft_wrap=True,
                    )
                    _serve_processes(ledger, host, port, log_level, workers)
                else:
                    from hyperplan.server.app import freeze_startup_objects

                    app = create_app(ledger=ledger)
                    freeze_startup_objects()
                    with _graceful_stop():
                        uvicorn.run(
                            app, host=host, port=port, log_level=log_level, server_header=False
                        )
            finally:
                ledger.dispose()
            term.err().print("hyperplan serve: stopped", markup=False, highlight=False)

        run_command(body)

    group = typer.Typer(
        help="Create, list and revoke API tokens for the server (roles per workspace).",
        no_args_is_help=True,
    )

    @group.command("create")
    def create_command(
        user: Annotated[str, typer.Option("--user", help="Who the token is for.")],
        workspace: Annotated[str, typer.Option("--workspace", help="The workspace it opens.")],
        role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
        name: Annotated[
            str | None, typer.Option("--name", help="A label, e.g. where it is used.")
        ] = None,
        db: DbOption = None,
        author: AuthorOption = None,
    ) -> None:
        """Create a token granting a role in a workspace; print it once (stdout).

        Example: hyperplan token create --user ann --workspace team-a --role approver
        """

        def body() -> None:
            from hyperplan.ledger.access import create_token
            from hyperplan.ledger.api import default_author
            from hyperplan.ledger.db import open_ledger

            ledger = open_ledger(db)
            try:
                token, record = create_token(
                    ledger, user, workspace, role, name=name, author=author or default_author()
                )
            finally:
                ledger.dispose()
            typer.echo(token)
            term.err().print(
                f"token {record['id']}: {user} is {role} in workspace {workspace}. It is shown "
                "this once and stored only as a digest: keep it now.",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

        run_command(body)

    @group.command("list")
    def list_command(
        workspace: Annotated[
            str | None, typer.Option("--workspace", help="Only this workspace.")
        ] = None,
        user: Annotated[str | None, typer.Option("--user", help="Only this user.")] = None,
        fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
        db: DbOption = None,
    ) -> None:
        """List tokens: id, user, workspace, role, when created and revoked (never the token).

        Example: hyperplan token list --workspace team-a
        """

        def body() -> None:
            from hyperplan.errors import InputError, Problem
            from hyperplan.ledger.access import list_tokens
            from hyperplan.ledger.db import open_ledger

            if fmt not in ("table", "json"):
                raise InputError(
                    [Problem(f"unknown format {fmt!r}; expected table or json", path="--format")]
                )
            ledger = open_ledger(db)
            try:
                rows = list_tokens(ledger, workspace=workspace, user=user)
            finally:
                ledger.dispose()
            if fmt == "json":
                typer.echo(json.dumps(rows, indent=1))
                return
            table = Table(title="API tokens", box=box.SIMPLE_HEAD)
            for col in ("id", "user", "workspace", "role", "name", "created (UTC)", "revoked"):
                table.add_column(col, justify="right" if col == "id" else "left")
            for r in rows:
                table.add_row(
                    str(r["id"]),
                    r["user"],
                    r["workspace"],
                    r["role"],
                    r["name"] or "",
                    r["created_at"].replace("T", " "),
                    (r["revoked_at"] or "").replace("T", " "),
                )
            term.out().print(table)

        run_command(body)

    @group.command("revoke")
    def revoke_command(
        token_id: Annotated[int, typer.Argument(metavar="ID", help="Token id (token list).")],
        db: DbOption = None,
        author: AuthorOption = None,
    ) -> None:
        """Revoke a token: the server refuses it from the next request on (audited).

        Example: hyperplan token revoke 3
        """

        def body() -> None:
            from hyperplan.ledger.access import revoke_token
            from hyperplan.ledger.api import default_author
            from hyperplan.ledger.db import open_ledger

            ledger = open_ledger(db)
            try:
                row = revoke_token(ledger, token_id, author=author or default_author())
            finally:
                ledger.dispose()
            term.out().print(
                f"token {row['id']} ({row['user']}, {row['role']} in {row['workspace']}) revoked",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

        run_command(body)

    app.add_typer(group, name="token")
