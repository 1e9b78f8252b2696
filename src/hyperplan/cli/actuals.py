"""The ``hyperplan actuals`` commands and ``hyperplan replan`` (registered by :func:`register`).

    hyperplan actuals import PATH... [--db URL] [--workspace W] [--mapping FILE] [--json]
    hyperplan actuals report [PATH...] [--plan plan.json] [--contracts FILE] [--mapping FILE]
                             [--db URL] [--workspace W] [--json]
    hyperplan replan SCENARIO --as-of YYYY-MM [--db URL] [--workspace W] [-o plan.json] [--json]
    hyperplan replan SCENARIO --as-of YYYY-MM --server URL [--workspace W] [--json]

``report`` reads FOCUS exports (files or folders), or without them the actuals stored in the
ledger, and prints the answers as tables (or JSON with ``--json``); rows that map to nothing
are counted on stderr. Bad input: located messages, exit status 2.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from hyperplan.actuals.collect import to_json
from hyperplan.cli.ledger import ProfileOption, RemoteWorkspaceOption, ServerOption
from hyperplan.errors import HyperplanError, InputError, Problem

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console


def _cell(v: Any, unit: str = "") -> str:
    """One value as the terminal shows it: shares as percentages, USD and hours with thousands
    separators (cents below 1,000), other numbers to four significant places; ids whole."""
    if v is None:
        return "–"
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)  # ids (commitments, offers) whole: the column folds them
    if isinstance(v, float) and math.isnan(v):
        return "–"
    kind = unit.split(" ", 1)[0]
    if kind == "share":
        return f"{v:.1%}"
    if v == 0:
        return "0"
    if isinstance(v, int):
        return f"{v:,}"
    if kind in ("USD", "GPU-hours", "instances", "hours", "vCPU-hours"):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.2f}"
    return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"


def _header(name: str, unit: str) -> tuple[str, str | None]:
    """Column header ``name`` over its short unit, and the FOCUS basis for the caption."""
    short, _, basis = unit.partition(" (")
    if short == "share":
        short = "%"
    header = f"{name}\n[{short}]" if short else name
    return header, f"{name}: {basis.rstrip(')')}" if basis else None


FREE_TEXT = frozenset({"reason", "note", "notes", "message", "basis", "warning"})
"""Columns of words that may wrap; every other text column is an id, shown whole."""


def _table(title: str, df: pd.DataFrame, limit: int = 50) -> Table:
    import pandas as pd

    units = df.attrs.get("units", {})
    table = Table(title=title, title_justify="left", title_style="bold")
    bases = []
    for c in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[c])
        header, basis = _header(c, units.get(c, ""))
        if basis:
            bases.append(basis)
        free_text = not numeric and c in FREE_TEXT
        table.add_column(
            header,
            justify="right" if numeric else "left",
            no_wrap=not free_text,  # ids and numbers whole; print_table folds rows if too wide
            overflow="fold",
        )
    for row in df.head(limit).itertuples(index=False):
        table.add_row(*[_cell(v, units.get(c, "")) for c, v in zip(df.columns, row, strict=True)])
    notes = []
    if bases:
        notes.append("basis: " + "; ".join(bases))
    if len(df) > limit:
        notes.append(f"{len(df) - limit} more rows (use --json for all)")
    if notes:
        table.caption = "\n".join(notes)
        table.caption_justify = "left"
    return table


def print_table(out: Console, table: Table) -> None:
    """``table`` at the console's width, ids never cut (:func:`hyperplan.report.tables.print_table`)."""
    from hyperplan.report.tables import print_table as fit

    fit(table, out)


def print_tables(tables: dict[str, pd.DataFrame], out: Console) -> None:
    """Every non-empty answer table, titled (the columns of ``HIDDEN`` left out)."""
    from hyperplan.actuals.collect import HIDDEN, TITLES

    for name, df in tables.items():
        if len(df):
            shown = df[[c for c in df.columns if c not in HIDDEN.get(name, ())]]
            shown.attrs = df.attrs
            print_table(out, _table(TITLES.get(name, name), shown))


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Ledger database: a file path or a postgresql:// URL "
        "(default $HYPERPLAN_DATABASE_URL, else ./.hyperplan/ledger.db).",
    ),
]
WorkspaceOption = Annotated[str, typer.Option("--workspace", help="Ledger workspace.")]
MappingOption = Annotated[
    Path | None,
    typer.Option("--mapping", help="CSV column,value,instance_type for unnamed offers."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``actuals`` command group and ``replan`` to ``app``."""
    from hyperplan.cli.group import CONTEXT

    group = typer.Typer(
        help="Billing exports (FOCUS) against the plan and the contracts.",
        context_settings=CONTEXT,
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    app.add_typer(group, name="actuals")

    @group.command("import")
    def import_command(
        paths: Annotated[
            list[Path], typer.Argument(help="FOCUS exports: .csv, .csv.gz, .parquet or folders.")
        ],
        db: DbOption = None,
        workspace: RemoteWorkspaceOption = None,
        mapping_file: MappingOption = None,
        author: Annotated[
            str | None,
            typer.Option("--author", help="Who imports (default $HYPERPLAN_AUTHOR or login)."),
        ] = None,
        as_json: JsonOption = False,
        server: ServerOption = None,
        profile: ProfileOption = None,
    ) -> None:
        """Store FOCUS exports in the ledger: per file its hash and the aggregated groups.

        A file already imported (same SHA-256) is skipped and said so; a bad file means nothing
        is stored (one transaction). Rows that map to nothing are counted on stderr.

        With --server (or --profile, $HYPERPLAN_SERVER) each file is uploaded to the server
        (with the --mapping), one request per file: a bad file stores nothing of itself, the
        files before it stay stored.

        Example: hyperplan actuals import bills/ --db ledger.db
        """
        import hyperplan.cli.term as term
        from hyperplan.cli.simulate import _guard

        err = term.err()

        def body() -> None:
            from hyperplan.actuals.mapping import load_mapping
            from hyperplan.actuals.store import import_files
            from hyperplan.cli.remote import target
            from hyperplan.ledger.api import default_author
            from hyperplan.ledger.db import open_ledger

            mapping = load_mapping(mapping_file) if mapping_file else None
            where_remote = target(server, profile, workspace, db)
            if where_remote is not None:
                if author is not None:
                    term.warn("--author is ignored with a server: the author is the token's user")
                doc, where, ws = remote_import(where_remote, list(paths), mapping_file)
                _print_import(doc, as_json, where, ws)
                return
            ledger = open_ledger(db)
            try:
                result = import_files(
                    list(paths),
                    ledger,
                    workspace=workspace or "default",
                    author=author or default_author(),
                    mapping=mapping,
                )
                where = ledger.where
            finally:
                ledger.dispose()
            _print_import(result.to_json(), as_json, f"ledger {where}", workspace or "default")

        _guard(body, err)

    def _print_import(doc: dict[str, Any], as_json: bool, where: str, workspace: str) -> None:
        """What an import did (``doc``: the ``hyperplan.actuals-import/1`` document)."""
        import hyperplan.cli.term as term

        out, err = term.out(), term.err()
        for s in doc["skipped"]:
            prev = s["previous"]
            when = f" on {prev['imported_at']}" if "imported_at" in prev else ""
            _say(
                err,
                f"{s['path']}: already imported (same SHA-256 as {prev['path']}{when}); "
                "not counted again",
            )
        for w in doc["warnings"]:
            term.warn(w)
        if as_json:
            print(json.dumps(doc, indent=1, default=str))
            return
        for r in doc["stored"]:
            months = f"{r['first_month']}..{r['last_month']}" if r["first_month"] else "no months"
            _say(
                out,
                f"imported {r['path']}: {r['rows']} FOCUS rows, {r['groups']} groups, "
                f"{months} (import {r['id']})",
            )
        _say(
            out,
            f"{len(doc['stored'])} file(s) stored, {len(doc['skipped'])} already there; "
            f"{where}, workspace {workspace}",
        )

    @group.command("report")
    def report_command(
        paths: Annotated[
            list[Path] | None,
            typer.Argument(
                help="FOCUS exports: .csv, .csv.gz, .parquet or folders (default: the actuals "
                "imported into the ledger)."
            ),
        ] = None,
        plan_file: Annotated[
            Path | None, typer.Option("--plan", help="plan.json to compare against.")
        ] = None,
        contracts_file: Annotated[
            Path | None,
            typer.Option(
                "--contracts", help="Contracts CSV/YAML (default: the ledger's, else the plan's)."
            ),
        ] = None,
        mapping_file: MappingOption = None,
        db: DbOption = None,
        workspace: WorkspaceOption = "default",
        as_json: JsonOption = False,
    ) -> None:
        """Utilisation, coverage, plan vs actual and contract burn-down from FOCUS exports.

        Without PATH the actuals imported into the ledger are read. The contracts come from
        --contracts, else from the ledger (when one is in use), else from the plan.

        Example: hyperplan actuals report bills/ --plan plan.json --contracts contracts.csv
        """
        import hyperplan.cli.term as term
        from hyperplan.cli.simulate import _guard, load_plan

        out, err = term.out(), term.err()

        def body() -> None:
            from hyperplan.actuals.collect import gather

            frame, tables, notes = gather(
                list(paths or []),
                plan=load_plan(plan_file) if plan_file else None,
                contracts_file=contracts_file,
                mapping_file=mapping_file,
                db=db,
                workspace=workspace,
            )
            for n in notes:
                _say(err, n)
            for w in frame.warnings:
                term.warn(w)
            if as_json:
                print(json.dumps(to_json(tables, frame), indent=1, default=str))
                return
            _say(out, f"{frame.rows} FOCUS rows from {len(frame.files)} file(s)")
            print_tables(tables, out)

        _guard(body, err)

    register_replan(app)


def print_replan(result: Any, out: Console) -> None:
    """The diff against the adopted plan (one row per change), contracts and the notes."""
    print_replan_doc(json.loads(json.dumps(result.to_json(), default=str)), out)


def print_replan_doc(doc: dict[str, Any], out: Console) -> None:
    """:func:`print_replan` from the ``hyperplan.replan/1`` document (``replan --json``, or
    the result of a replan job): the same tables whether the replan ran here or on a server."""
    import datetime as dt

    import pandas as pd

    from hyperplan.actuals.replan import DIFF_COLUMNS, SHOWN_COLUMNS, SHOWN_UNITS, replan_summary

    as_of = dt.date.fromisoformat(doc["as_of"])
    for n in doc["notes"]:
        _say(out, n)
    d = pd.DataFrame(doc["changes"], columns=DIFF_COLUMNS)
    if len(d):
        shown = d[SHOWN_COLUMNS]
        shown.attrs = {"units": SHOWN_UNITS}
        print_table(out, _table(f"Changes against the adopted plan from {as_of:%Y-%m}", shown))
    else:
        _say(out, f"no change against the adopted plan from {as_of:%Y-%m}")
    if doc["contracts"]:
        c = pd.DataFrame(doc["contracts"])
        c.attrs = {"units": {k: "USD" for k in c.columns if k.endswith("_usd")}}
        print_table(out, _table("Contracts at the as-of date", c))
    _say(out, replan_summary(doc))


def register_replan(app: typer.Typer) -> None:
    """Add ``replan`` to ``app``."""

    @app.command("replan")
    def replan_command(
        file: Annotated[Path, typer.Argument(help="Scenario YAML file (the one adopted).")],
        as_of: Annotated[
            str,
            typer.Option("--as-of", help="First month not yet past, YYYY-MM (a period start)."),
        ],
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Write the new plan.json here.")
        ] = None,
        report: Annotated[
            Path | None,
            typer.Option(
                "--report", help="Write the new plan's HTML report, with what changed and why."
            ),
        ] = None,
        integer: Annotated[bool, typer.Option("--integer", help="Whole instances (MILP).")] = False,
        no_outages: Annotated[
            bool, typer.Option("--no-outages", help="Plan the base scenario only.")
        ] = False,
        db: DbOption = None,
        workspace: RemoteWorkspaceOption = None,
        as_json: JsonOption = False,
        server: ServerOption = None,
        profile: ProfileOption = None,
    ) -> None:
        """Re-solve the rest of the horizon from the ledger and the imported actuals.

        Signed commitments become existing capacity, each contract's remaining balance an
        input, observed demand updates the forecast where the bills can attribute it; the
        output is the diff against the adopted plan (sign, grow, shrink, shift provider) with
        the reason and money effect of each change.

        With --server (or --profile, $HYPERPLAN_SERVER) the replan runs as a job on the
        server's workers against the server's ledger: submitted, waited for (progress on
        stderr), and printed the same way; -o and --report write the plan it made.

        Example: hyperplan replan scenario.yaml --as-of 2027-07 --db ledger.db
        """
        import hyperplan.cli.term as term
        from hyperplan.cli.simulate import _guard

        out, err = term.out(), term.err()

        def body() -> None:
            from hyperplan.actuals.replan import parse_as_of, replan, replan_summary
            from hyperplan.cli.outputs import check as check_outputs
            from hyperplan.cli.outputs import is_stdout
            from hyperplan.cli.remote import target
            from hyperplan.ledger.db import open_ledger
            from hyperplan.plan.api import Plan
            from hyperplan.scenario.load import load_scenario

            check_outputs(
                (output, "--output"), (report, "--report"), ("-" if as_json else None, "--json")
            )
            when = parse_as_of(as_of)
            where = target(server, profile, workspace, db)
            if where is not None:
                doc = remote_replan(where, file, f"{when:%Y-%m}", integer, not no_outages)
                plan_doc = doc.pop("plan_document", None)
                if plan_doc is None and (output or report) is not None:
                    raise HyperplanError(
                        "the server's replan result holds no plan (a server older than this "
                        "client): -o and --report need one"
                    )
                plan = Plan.from_dict(plan_doc) if plan_doc is not None else None
            else:
                scenario = load_scenario(file)
                ledger = open_ledger(db)
                try:
                    result = replan(
                        scenario,
                        when,
                        ledger,
                        workspace or "default",
                        integer=True if integer else None,
                        outages=not no_outages,
                        scenario_yaml=_read_text(file),
                    )
                finally:
                    ledger.dispose()
                doc = json.loads(json.dumps(result.to_json(), default=str))
                plan = result.plan
            for w in doc.get("warnings", []):
                term.warn(w)
            write_replan_outputs(plan, doc, output, report)
            if as_json:
                print(json.dumps(doc, indent=1, default=str))
            elif is_stdout(output) or is_stdout(report):  # stdout carries that file alone
                term.info(replan_summary(doc))
            else:
                print_replan_doc(doc, out)

        _guard(body, err)


def write_replan_outputs(
    plan: Any, doc: dict[str, Any], output: Path | None, report: Path | None
) -> None:
    """Write the re-solved ``plan`` (plan.json) to ``output`` and its HTML report with the
    replan section of ``doc`` to ``report`` (each when given; atomically)."""
    from hyperplan.cli.outputs import write_output

    if output is not None:
        write_output(output, plan.to_json)
    if report is not None:
        from hyperplan.report.html import write_report
        from hyperplan.report.replan_section import replan_view

        view = replan_view(doc)
        write_output(report, lambda path: write_report(plan, path, replan=view))


def remote_replan(
    where: Any, file: Path, as_of: str, integer: bool, outages: bool
) -> dict[str, Any]:
    """Submit a replan job of ``file``'s text to the server ``where`` (a
    :class:`~hyperplan.cli.remote.Target`), wait for it (progress on stderr) and return its
    result: the ``hyperplan.replan/1`` document. Problems the server finds in the scenario
    are located in ``file`` (its text is sent as it is)."""
    import hyperplan.cli.term as term
    from hyperplan.cli.jobs import _renamed, wait
    from hyperplan.cli.remote import Remote, new_key

    text = _read_text(file)
    request: dict[str, Any] = {"scenario_yaml": text, "as_of": as_of, "outages": outages}
    if integer:
        request["integer"] = True
    with Remote.connect(where) as remote:
        try:
            job = remote.post(
                remote.ws("/actuals/replan"), json=request, idempotency_key=new_key()
            ).json()
        except InputError as exc:
            raise _renamed(exc, file) from None
        term.info(f"job {job['id']} {job['state']}: replan of {file} as of {as_of}")
        wait(remote, job["id"], timeout=None, poll=0.5, output=None)
        raw = remote.get(remote.ws(f"/jobs/{job['id']}/result")).json()
    from hyperplan.artifacts.replan import replan_from_dict

    return replan_from_dict(raw, file=f"the result of job {job['id']}")


def _read_text(file: Path) -> str:
    """``file``'s UTF-8 text (located errors, exit 2)."""
    if not file.is_file():
        raise InputError([Problem("no such file (or not a regular file)", file=str(file))])
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            [Problem(f"is not UTF-8 text (byte {exc.start})", file=str(file))]
        ) from None


UPLOAD_TYPES = {
    ".csv.gz": "application/gzip",
    ".csv": "text/csv",
    ".parquet": "application/vnd.apache.parquet",
}
"""Content-Type of an uploaded export by its suffix (longest first), one the server accepts
(:data:`hyperplan.server.routes_actuals.KINDS`; the CLI does not import the server: a client
install has no FastAPI)."""
MAPPING_MAX_BYTES = 8 * 1024
"""Largest mapping the server takes with an upload (``routes_actuals.MAPPING_MAX_BYTES``)."""
MAPPING_FILE = "query.mapping"
"""Where the server locates a mapping's problems (``routes_actuals.MAPPING_FILE``)."""


def remote_import(
    where: Any, paths: list[Path], mapping_file: Path | None
) -> tuple[dict[str, Any], str, str]:
    """Upload the FOCUS exports at ``paths`` (files or folders) to the server ``where``, one
    request per file with the text of ``mapping_file`` (already checked here); return the
    answers merged as one ``hyperplan.actuals-import/1`` document, the server and the
    workspace. A refused file stops the import (the files before it stay stored)."""
    from hyperplan.actuals.reader import expand_paths
    from hyperplan.cli.remote import Remote, new_key

    params: dict[str, str] = {}
    if mapping_file is not None:
        raw = mapping_file.read_bytes()
        if len(raw) > MAPPING_MAX_BYTES:
            raise InputError(
                [
                    Problem(
                        f"a mapping sent to a server is at most {MAPPING_MAX_BYTES:,} bytes; "
                        f"this one has {len(raw):,}",
                        file=str(mapping_file),
                    )
                ]
            )
        params["mapping"] = raw.decode("utf-8-sig")
    files = expand_paths(list(paths))
    doc: dict[str, Any] = {
        "schema": "hyperplan.actuals-import/1",
        "stored": [],
        "skipped": [],
        "warnings": [],
        "unmapped": [],
    }
    with Remote.connect(where) as remote:
        for f in files:
            # expand_paths kept only names with one of these suffixes
            kind = next(k for k in UPLOAD_TYPES if f.name.lower().endswith(k))
            try:
                answer = remote.post(
                    remote.ws("/actuals/imports"),
                    params={**params, "filename": f.name},
                    content=FileChunks(f),
                    headers={"Content-Type": UPLOAD_TYPES[kind]},
                    idempotency_key=new_key(),
                ).json()
            except InputError as exc:
                from dataclasses import replace

                names = {f.name: str(f), MAPPING_FILE: str(mapping_file)}
                raise InputError(
                    [replace(p, file=names.get(p.file or "", p.file)) for p in exc.problems]
                ) from None
            for key in ("stored", "skipped", "warnings", "unmapped"):
                doc[key].extend(answer[key])
        return doc, f"server {remote.url}", remote.workspace


class FileChunks:
    """A file's bytes as the body of a request, read a MiB at a time: iterable again from the
    start for each attempt of a retried request (a generator would be spent)."""

    def __init__(self, path: Path, chunk: int = 1 << 20) -> None:
        self.path, self.chunk = path, chunk

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as fh:
            while block := fh.read(self.chunk):
                yield block
