"""The ledger's commands (registered on the main app by :func:`register`).

    hyperplan adopt plan.json [--yes] [--expect-version N] [--db PATH|URL] [--workspace W] [--json]
    hyperplan sign ID --external-id X [--json]
    hyperplan ledger [list] [--state S] [--provider P] [--format table|csv|json] [-o FILE|-]
    hyperplan ledger approve ID | cancel ID | activate ID | expire ID [--json]
    hyperplan ledger audit [--format table|json] [--json]
    hyperplan ledger contracts [--format table|json] [--json]

``--json`` is ``--format json`` where there is a ``--format``. Every command also takes
``--server URL`` or ``--profile NAME`` (:mod:`hyperplan.cli.remote`): it then asks that server
instead of opening a database, and prints the same output.

Exit status: 0 done (or previewed), 2 bad input (unknown id, refused state change, bad URL,
unreadable database, not a plan), 5 the ledger moved since the plan or preview was made (a
stale plan: nothing applied).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from hyperplan.cli.ledger_view import _usd, diff_doc, load_plan_file, print_diff
from hyperplan.errors import InputError, Problem
from hyperplan.ledger.export import COLUMNS, export_rows
from hyperplan.report.tables import print_table

if TYPE_CHECKING:
    from hyperplan.ledger.db import Ledger

T = TypeVar("T")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Ledger database: a file path or a postgresql:// URL "
        "(default $HYPERPLAN_DATABASE_URL, else ./.hyperplan/ledger.db).",
    ),
]
WorkspaceOption = Annotated[str, typer.Option("--workspace", help="Ledger workspace.")]
RemoteWorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        help="Ledger workspace (default: default; with a server, the profile's or the token's).",
    ),
]
ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="URL",
        help="Talk to this hyperplan server instead of a database (default $HYPERPLAN_SERVER); "
        "the token comes from $HYPERPLAN_TOKEN.",
    ),
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="NAME",
        help="A server profile of ~/.config/hyperplan/profiles.toml (server, token_env, "
        "workspace).",
    ),
]
AuthorOption = Annotated[
    str | None,
    typer.Option("--author", help="Who makes the change (default $HYPERPLAN_AUTHOR or login)."),
]
StateOption = Annotated[
    str | None, typer.Option("--state", help="Only this state (proposed, signed, ...).")
]
ProviderOption = Annotated[str | None, typer.Option("--provider", help="Only this provider.")]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the listing to this file (-: stdout).")
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout (keys: docs/cli.md).")
]

FORMATS = ("table", "csv", "json")
LIST_COLUMNS = COLUMNS
"""Columns of ``ledger --format csv`` (:data:`hyperplan.ledger.export.COLUMNS`)."""


def _open(db: str | None) -> Ledger:
    from hyperplan.ledger.db import open_ledger

    return open_ledger(db)


def _guard(action: Callable[[], T], err: Console | None = None) -> T:
    """Run a command body the way every command does (:func:`hyperplan.cli.runner.run_command`)."""
    from hyperplan.cli.runner import run_command

    return run_command(action, err)


def _remote(
    server: str | None,
    profile: str | None,
    workspace: str | None,
    db: str | None,
    author: str | None = None,
) -> Any:
    """A connected :class:`~hyperplan.cli.remote.Remote` when a server is named, else None
    (``--author`` is then the token's user: said on stderr)."""
    from hyperplan.cli.remote import connect

    remote = connect(server, profile, workspace, db)
    if remote is not None and author is not None:
        import hyperplan.cli.term as term

        term.warn("--author is ignored with a server: the author is the token's user")
    return remote


def _fetch_rows(
    local: Callable[..., list[dict[str, Any]]],
    remote_rows: Callable[[Any], list[dict[str, Any]]],
    db: str | None,
    workspace: str | None,
    fmt_: str,
    server: str | None,
    profile: str | None,
) -> tuple[str, list[dict[str, Any]] | None]:
    """The workspace and the rows of a listing, from the database (``local``) or, with a server
    or profile, from its API (``remote_rows``); None when JSON was printed already."""
    remote = _remote(server, profile, workspace, db) if fmt_ in ("table", "json") else None
    if remote is None:
        ws = workspace or "default"
        return ws, _rows_or_json(local, db, ws, fmt_)
    with remote:
        ws = remote.workspace
        return ws, _rows_or_json(local, db, ws, fmt_, lambda: remote_rows(remote))


def _format(fmt: str, as_json: bool) -> str:
    """``--format``, with ``--json`` meaning ``--format json``."""
    return "json" if as_json else fmt


def _rows_or_json(
    read: Callable[[Ledger, str], list[dict[str, Any]]],
    db: str | None,
    workspace: str,
    fmt: str,
    remote_read: Callable[[], list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]] | None:
    """Rows read from the ledger (or by ``remote_read``, from a server) for a ``table``
    listing; with ``--format json`` they are printed here as JSON and None is returned."""
    if fmt not in ("table", "json"):
        raise InputError(
            [Problem(f"unknown format {fmt!r}; expected table or json", path="--format")]
        )
    if remote_read is not None:
        rows = remote_read()
    else:
        ledger = _open(db)
        try:
            rows = read(ledger, workspace)
        finally:
            ledger.dispose()
    if fmt == "json":
        typer.echo(json.dumps(rows, indent=1))
        return None
    return rows


# ----------------------------------------------------------------------------------------------
# adopt
# ----------------------------------------------------------------------------------------------


def _adopt(
    file: Path,
    yes: bool,
    expect_version: int | None,
    db: str | None,
    workspace: str,
    author: str | None,
    out: Console,
    err: Console,
    as_json: bool = False,
) -> None:
    from hyperplan.ledger import api

    plan = load_plan_file(file)
    ledger = _open(db)
    try:
        pv = api.preview(ledger, plan, workspace, source=str(file))
        if pv.plan_version is not None and pv.plan_version != pv.version:
            from hyperplan.ledger.errors import StaleLedger

            raise StaleLedger(
                f"{file} was planned from ledger version {pv.plan_version} of workspace "
                f"{workspace!r}, which is now at version {pv.version}: the plan is stale. "
                "Re-plan from the ledger (hyperplan plan SCENARIO --from-ledger) and adopt that"
            )
        if expect_version is not None and expect_version != pv.version:
            from hyperplan.ledger.errors import StaleLedger

            raise StaleLedger(
                f"the ledger of workspace {workspace!r} is at version {pv.version}, not "
                f"{expect_version} as previewed: preview again (hyperplan adopt {file})"
            )
        if pv.plan_version is None and pv.diff.held:
            err.print(
                f"warning: {file} was not planned from the ledger: it does not count the "
                f"{pv.diff.held} signed or active commitment(s) as capacity held; plan with "
                "--from-ledger to build on them",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        if as_json:
            doc = diff_doc(pv.diff, str(ledger.where), workspace, pv.version)
            if yes:
                done = api.adopt(
                    ledger, plan, workspace=workspace, author=author, expect_version=pv.version
                )
                doc.update(applied=True, adoption=done.id, version_after=done.version)
            import hyperplan.cli.term as term

            term.print_json(doc)
            return
        out.print(
            f"ledger {ledger.where}, workspace {workspace}, version {pv.version}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        print_diff(pv.diff, out)
        if not yes:
            out.print(
                f"nothing applied; to apply: hyperplan adopt {file} --yes "
                f"--expect-version {pv.version}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            return
        done = api.adopt(
            ledger, plan, workspace=workspace, author=author, expect_version=pv.version
        )
        out.print(
            f"adopted (adoption {done.id}): ledger version {done.from_version} → {done.version}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    finally:
        ledger.dispose()


# ----------------------------------------------------------------------------------------------
# ledger list / audit
# ----------------------------------------------------------------------------------------------


def render_rows(
    rows: list[dict[str, Any]], fmt: str, title: str
) -> tuple[str | None, Table | None]:
    """Rows as CSV or JSON text, or as a rich table."""
    if fmt in ("json", "csv"):
        return export_rows(rows, fmt), None
    table = Table(title=title, box=box.SIMPLE_HEAD)
    shown = (
        ("id", "right"),
        ("state", "left"),
        ("provider", "left"),
        ("region", "left"),
        ("offer", "left"),
        ("term", "right"),
        ("start", "left"),
        ("value USD", "right"),
        ("external id", "left"),
    )
    for name, justify in shown:
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=True,  # ids whole; print_table lists rows as lines when too wide
            overflow="fold",
        )
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["state"],
            r["provider"],
            r["region"],
            r["offer"],
            f"{r['term_years']}y",
            r["start"],
            _usd(r["value_usd"]),
            r["external_id"] or "",
        )
    return None, table


def _emit(text: str | None, table: Table | None, output: Path | None, out: Console) -> None:
    if output is not None:
        from hyperplan.cli.outputs import write_output
        from hyperplan.fileio import write_text_atomic

        if text is None:
            buf = Console(file=io.StringIO(), width=200)
            buf.print(table)
            text = buf.file.getvalue()  # type: ignore[attr-defined]
        body = text
        write_output(output, lambda path: write_text_atomic(path, body))
    elif text is not None:
        typer.echo(text, nl=False)
    else:
        print_table(table, out)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InputError(
            [Problem(f"unknown format {fmt!r}; expected table, csv or json", path="--format")]
        )


def _list(
    state: str | None,
    provider: str | None,
    fmt: str,
    output: Path | None,
    db: str | None,
    workspace: str | None,
    out: Console,
    server: str | None = None,
    profile: str | None = None,
) -> None:
    from hyperplan.ledger import api

    _check_format(fmt)
    if output is not None:
        from hyperplan.cli.outputs import check

        check((output, "--output"))
    remote = _remote(server, profile, workspace, db)
    if remote is not None:
        import hyperplan.cli.ledger_remote as ledger_remote

        with remote:
            rows, version = ledger_remote.commitments(remote, state, provider)
            workspace = remote.workspace
    else:
        workspace = workspace or "default"
        ledger = _open(db)
        try:
            rows = api.list_commitments(ledger, workspace, state=state, provider=provider)
            version = api.ledger_version(ledger, workspace)
        finally:
            ledger.dispose()
    text, table = render_rows(rows, fmt, f"Commitments (workspace {workspace}, version {version})")
    _emit(text, table, output, out)


class _Consoles:
    """The consoles of :mod:`hyperplan.cli.term`, looked up when printed to (not at import)."""

    def __getattr__(self, name: str) -> Any:
        import hyperplan.cli.term as term

        return getattr(term.out() if self is out else term.err(), name)


out: Any = _Consoles()
err: Any = _Consoles()


def _say(text: str, as_json: bool, row: dict[str, Any]) -> None:
    """The one-line result of a state change, or (``--json``) the commitment as JSON."""
    import hyperplan.cli.term as term

    if as_json:
        term.print_json({"schema": "hyperplan.commitment/1", **row})
    else:
        term.out().print(text, markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``adopt``, ``sign`` and the ``ledger`` group to ``app``."""
    from hyperplan.cli.group import CONTEXT

    @app.command("adopt")
    def adopt_command(
        file: Annotated[Path, typer.Argument(help="plan.json to adopt.")],
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply (default: preview).")] = False,
        expect_version: Annotated[
            int | None,
            typer.Option(
                "--expect-version",
                min=0,
                help="Refuse (exit 5) unless the ledger is at this version (from the preview).",
            ),
        ] = None,
        db: DbOption = None,
        workspace: RemoteWorkspaceOption = None,
        author: AuthorOption = None,
        as_json: JsonOption = False,
        server: ServerOption = None,
        profile: ProfileOption = None,
    ) -> None:
        """Show what adopting a plan changes in the ledger; apply it with --yes.

        Refuses with exit status 5 when the ledger moved since the plan (--from-ledger) or the
        preview (--expect-version) was made: nothing is applied.

        Example: hyperplan adopt plan.json --yes --expect-version 3
        """

        def body() -> None:
            remote = _remote(server, profile, workspace, db, author)
            if remote is None:
                _adopt(
                    file, yes, expect_version, db, workspace or "default", author, out, err, as_json
                )
                return
            import hyperplan.cli.ledger_remote as ledger_remote

            with remote:
                ledger_remote.adopt(remote, file, yes, expect_version, out, err, as_json)

        _guard(body)

    @app.command("sign")
    def sign_command(
        commitment_id: Annotated[int, typer.Argument(metavar="ID", help="Commitment id.")],
        external_id: Annotated[
            str,
            typer.Option(
                "--external-id", help="The provider's id for it (FOCUS CommitmentDiscountId)."
            ),
        ],
        db: DbOption = None,
        workspace: RemoteWorkspaceOption = None,
        author: AuthorOption = None,
        as_json: JsonOption = False,
        server: ServerOption = None,
        profile: ProfileOption = None,
    ) -> None:
        """Record a signature: a proposed or approved commitment becomes signed (audited).

        Example: hyperplan sign 3 --external-id ri-0123456789abcdef
        """

        def body() -> None:
            from hyperplan.ledger import api

            remote = _remote(server, profile, workspace, db, author)
            if remote is not None:
                import hyperplan.cli.ledger_remote as ledger_remote

                with remote:
                    row = ledger_remote.move(remote, commitment_id, "sign", external_id)
            else:
                ledger = _open(db)
                try:
                    row = api.sign(
                        ledger,
                        commitment_id,
                        external_id,
                        workspace=workspace or "default",
                        author=author,
                    )
                finally:
                    ledger.dispose()
            _say(f"commitment {row['id']} signed ({row['external_id']})", as_json, row)

        _guard(body)

    group = typer.Typer(
        help="List, export and move the commitments in the ledger; show its audit log.",
        context_settings=CONTEXT,
        invoke_without_command=True,
        no_args_is_help=False,
    )

    @group.callback()
    def ledger_group(
        ctx: typer.Context,
        state: StateOption = None,
        provider: ProviderOption = None,
        fmt: FormatOption = "table",
        output: OutputOption = None,
        db: DbOption = None,
        workspace: RemoteWorkspaceOption = None,
        as_json: JsonOption = False,
        server: ServerOption = None,
        profile: ProfileOption = None,
    ) -> None:
        """List, export and move the commitments in the ledger; show its audit log.

        Example: hyperplan ledger --state signed --format csv -o signed.csv
        """
        if ctx.invoked_subcommand is None:
            fmt = _format(fmt, as_json)
            _guard(lambda: _list(state, provider, fmt, output, db, workspace, out, server, profile))

    @group.command("list")
    def list_command(
        state: StateOption = None,
        provider: ProviderOption = None,
        fmt: FormatOption = "table",
        output: OutputOption = None,
        db: DbOption = None,
        workspace: RemoteWorkspaceOption = None,
        as_json: JsonOption = False,
        server: ServerOption = None,
        profile: ProfileOption = None,
    ) -> None:
        """List or export the commitments (table, CSV or JSON).

        Example: hyperplan ledger list --provider aws --format json -o aws.json
        """
        fmt = _format(fmt, as_json)
        _guard(lambda: _list(state, provider, fmt, output, db, workspace, out, server, profile))

    @group.command("audit")
    def audit_command(
        fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
        db: DbOption = None,
        workspace: RemoteWorkspaceOption = None,
        as_json: JsonOption = False,
        server: ServerOption = None,
        profile: ProfileOption = None,
    ) -> None:
        """Show the audit log: who changed what, when, at which ledger version.

        Example: hyperplan ledger audit
        """

        def body() -> None:
            import hyperplan.cli.ledger_remote as ledger_remote
            from hyperplan.ledger import api

            ws, rows = _fetch_rows(
                api.audit_log,
                ledger_remote.audit_log,
                db,
                workspace,
                _format(fmt, as_json),
                server,
                profile,
            )
            if rows is None:
                return
            table = Table(title=f"Audit log (workspace {ws})")
            for name in ("version", "at (UTC)", "actor", "action", "entity", "id"):
                table.add_column(name, no_wrap=True)
            for r in rows:
                table.add_row(
                    str(r["ledger_version"]),
                    r["at"].replace("T", " "),
                    r["actor"],
                    r["action"],
                    r["entity"],
                    "" if r["entity_id"] is None else str(r["entity_id"]),
                )
            print_table(table, out)

        _guard(body)

    @group.command("contracts")
    def contracts_command(
        fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
        db: DbOption = None,
        workspace: RemoteWorkspaceOption = None,
        as_json: JsonOption = False,
        server: ServerOption = None,
        profile: ProfileOption = None,
    ) -> None:
        """List the take-or-pay contracts the ledger holds (from adopted scenarios).

        Example: hyperplan ledger contracts --format json
        """

        def body() -> None:
            import hyperplan.cli.ledger_remote as ledger_remote
            from hyperplan.ledger import api

            ws, rows = _fetch_rows(
                api.list_contracts,
                ledger_remote.contracts,
                db,
                workspace,
                _format(fmt, as_json),
                server,
                profile,
            )
            if rows is None:
                return
            table = Table(title=f"Take-or-pay contracts (workspace {ws})", box=box.SIMPLE_HEAD)
            for name in ("name", "provider", "committed USD", "start", "end", "discount"):
                table.add_column(
                    name, justify="right" if name == "committed USD" else "left", no_wrap=True
                )
            for r in rows:
                table.add_row(
                    r["name"],
                    r["provider"],
                    _usd(r["committed_usd"]),
                    r["start"],
                    r["end"],
                    f"{r['discount']:.0%}",
                )
            print_table(table, out)

        _guard(body)

    def _move(state: str, verb: str) -> None:
        @group.command(verb)
        def move_command(
            commitment_id: Annotated[int, typer.Argument(metavar="ID", help="Commitment id.")],
            db: DbOption = None,
            workspace: RemoteWorkspaceOption = None,
            author: AuthorOption = None,
            as_json: JsonOption = False,
            server: ServerOption = None,
            profile: ProfileOption = None,
        ) -> None:
            def body() -> None:
                from hyperplan.ledger import api

                remote = _remote(server, profile, workspace, db, author)
                if remote is not None:
                    import hyperplan.cli.ledger_remote as ledger_remote

                    with remote:
                        row = ledger_remote.move(remote, commitment_id, verb)
                    _say(f"commitment {row['id']} {state}", as_json, row)
                    return
                ledger = _open(db)
                try:
                    row = api.transition(
                        ledger,
                        commitment_id,
                        state,
                        workspace=workspace or "default",
                        author=author,
                    )
                finally:
                    ledger.dispose()
                _say(f"commitment {row['id']} {state}", as_json, row)

            _guard(body)

        move_command.__doc__ = (
            f"Move a commitment to {state} (audited; refused unless the move is allowed).\n\n"
            f"Example: hyperplan ledger {verb} 3"
        )

    for state, verb in (
        ("approved", "approve"),
        ("active", "activate"),
        ("expired", "expire"),
        ("cancelled", "cancel"),
    ):
        _move(state, verb)

    app.add_typer(group, name="ledger")


def plan_from_ledger(
    scenario: Any, file: Path, from_ledger: bool, db: str | None, workspace: str, err: Console
) -> tuple[Any, dict[str, Any] | None]:
    """``plan --from-ledger``: the scenario with the ledger's held commitments as existing
    reservations, and the ``meta["ledger"]`` the plan carries (notes printed on stderr).
    Without ``--from-ledger`` the scenario is returned as it is, and a ``--db`` or
    ``--workspace`` given anyway is said to be ignored."""
    if not from_ledger:
        if db is not None or workspace != "default":
            err.print(
                "warning: --db and --workspace are used only with --from-ledger; ignored",
                markup=False,
                highlight=False,
            )
        return scenario, None
    from hyperplan.ledger.existing import scenario_from_ledger

    ledger = _open(db)
    try:
        new, meta, notes = scenario_from_ledger(scenario, ledger, workspace, source=file)
    finally:
        ledger.dispose()
    for note in notes:
        err.print(note, markup=False, highlight=False, soft_wrap=True)
    return new, meta
