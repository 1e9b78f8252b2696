"""``hyperplan jobs``: background plans, comparisons, simulations and replans on a server.

    hyperplan jobs submit plan|compare|simulate|replan INPUT [options] [--wait [-o FILE]]
    hyperplan jobs list [--state S] [--limit N] [--format table|json]
    hyperplan jobs show ID [--json]
    hyperplan jobs cancel ID [--json]
    hyperplan jobs result ID [-o FILE|-]
    hyperplan jobs wait ID [--timeout S] [--poll S] [-o FILE|-]

Every command talks to a server (``--server URL``, ``--profile NAME`` or
``$HYPERPLAN_SERVER``; the token from ``$HYPERPLAN_TOKEN`` or the profile's variable, see
:mod:`hyperplan.cli.remote`); the jobs run on ``hyperplan worker`` processes (docs/jobs.md).

``submit`` prints the new job's id alone on stdout (``ID=$(hyperplan jobs submit ...)``).
``wait`` prints progress on stderr while it polls, rides out a server that restarts, and ends
with the job: exit 0 when it succeeded (its result written with ``-o``), 1 when it failed, was
cancelled, or ``--timeout`` passed first (the job goes on). Other statuses: 2 bad input (a
located scenario problem, an unknown job, 401/403), 1 a server that cannot be reached or
answers 5xx.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

import hyperplan.cli.options as opt
import hyperplan.cli.term as term
from hyperplan.cli.ledger import ProfileOption, RemoteWorkspaceOption, ServerOption
from hyperplan.cli.runner import run_command
from hyperplan.errors import HyperplanError, InputError, Problem

KINDS = ("plan", "compare", "simulate", "replan")
STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINAL = ("succeeded", "failed", "cancelled")
RECONNECT_SECONDS = 300.0
"""How long ``jobs wait`` keeps polling a server that cannot be reached (a restart), s."""

IdArgument = Annotated[int, typer.Argument(metavar="ID", help="Job id.", min=1)]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the job as one JSON document on stdout.")
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the job's result here (-: stdout)."),
]


class JobFailed(HyperplanError):
    """The job ended without a result (failed or cancelled), or ``--timeout`` passed. Exit 1."""


def _remote(server: str | None, profile: str | None, workspace: str | None) -> Any:
    from hyperplan.cli.remote import connect

    remote = connect(server, profile, workspace)
    if remote is None:
        raise InputError(
            [
                Problem(
                    "jobs run on a server: pass --server URL or --profile NAME, or set "
                    "$HYPERPLAN_SERVER",
                    path="--server",
                )
            ]
        )
    return remote


def job_doc(job: dict[str, Any]) -> dict[str, Any]:
    """``--json``: the job record as the server answers it."""
    return {"schema": "hyperplan.job/1", **job}


def progress_text(job: dict[str, Any]) -> str:
    """A job's state and progress in a few words: ``running: simulating 400/1000 trials``."""
    text = job["state"]
    p = job.get("progress") or {}
    if job["state"] == "running" and p.get("phase"):
        text += f": {p['phase']}"
        if p.get("trials"):
            text += f" {p.get('trials_done', 0)}/{p['trials']} trials"
        elif p.get("strategies"):
            text += f" ({p['strategies']} strategies)"
    if job["state"] == "queued" and job.get("lost"):
        text += f" again ({job['lost']} attempt(s) lost to a worker that died)"
    return text


def _print_job(job: dict[str, Any], as_json: bool) -> None:
    if as_json:
        term.print_json(job_doc(job))
        return
    rows = [
        ("job", str(job["id"])),
        ("kind", job["kind"]),
        ("state", progress_text(job)),
        ("author", job["author"]),
        ("created (UTC)", (job["created_at"] or "").replace("T", " ")),
        ("started (UTC)", (job["started_at"] or "").replace("T", " ")),
        ("finished (UTC)", (job["finished_at"] or "").replace("T", " ")),
        ("attempts", f"{job['attempt']} ({job['lost']} lost, at most {job['max_attempts']})"),
        ("worker", job["worker"] or ""),
        ("plan run", "" if job["plan_run_id"] is None else str(job["plan_run_id"])),
        ("error", job["error"] or ""),
    ]
    table = Table(box=box.SIMPLE_HEAD, show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for name, value in rows:
        if value:
            table.add_row(name, value)
    term.out().print(table)


def _write_result(remote: Any, job_id: int, output: Path) -> None:
    from hyperplan.cli.outputs import write_output
    from hyperplan.fileio import write_text_atomic

    text = remote.get(remote.ws(f"/jobs/{job_id}/result")).text
    write_output(output, lambda path: write_text_atomic(path, text))


def wait(
    remote: Any,
    job_id: int,
    *,
    timeout: float | None,
    poll: float,
    output: Path | None,
    as_json: bool = False,
) -> dict[str, Any]:
    """Poll job ``job_id`` until it ends (progress on stderr when it changes); write its result
    to ``output``. A server that cannot be reached or answers 503 is polled again for up to
    :data:`RECONNECT_SECONDS`. Raises :class:`JobFailed` unless the job succeeded."""
    from hyperplan.cli.remote import RemoteError

    start = time.monotonic()
    said = None
    away_since: float | None = None
    while True:
        try:
            job = remote.get(remote.ws(f"/jobs/{job_id}")).json()
            if away_since is not None:
                term.info(f"job {job_id}: the server answers again")
            away_since = None
        except RemoteError as exc:  # unreachable, or 5xx after the client's own retries
            now = time.monotonic()
            if away_since is None:
                away_since = now
                term.info(f"job {job_id}: {exc}; polling again")
            if now - away_since > RECONNECT_SECONDS:
                raise
            job = None
        if job is not None:
            text = progress_text(job)
            if text != said:
                seconds = time.monotonic() - start
                term.info(f"job {job_id}: {text} ({seconds:.0f} s)")
                said = text
            if job["state"] in FINAL:
                break
        if timeout is not None and time.monotonic() - start > timeout:
            raise JobFailed(
                f"job {job_id} is still {job['state'] if job else 'unknown'} after {timeout:g} s; "
                f"it goes on (hyperplan jobs wait {job_id})"
            )
        time.sleep(poll)
    if as_json:
        term.print_json(job_doc(job))
    if job["state"] != "succeeded":
        why = f": {job['error']}" if job.get("error") else ""
        raise JobFailed(f"job {job_id} {job['state']}{why}")
    if output is not None:
        _write_result(remote, job_id, output)
    return job


def _submit_body(kind: str, file: Path | None, plan_run: int | None) -> dict[str, Any]:
    """The request body's input: the scenario's text, or the plan.json (a document or a run)."""
    if kind not in KINDS:
        raise InputError(
            [Problem(f"unknown job kind {kind!r}; expected {', '.join(KINDS)}", path="KIND")]
        )
    if kind == "simulate" and plan_run is not None:
        if file is not None:
            raise InputError(
                [Problem("give a plan.json or --plan-run, not both", path="--plan-run")]
            )
        return {"plan_run_id": plan_run}
    if file is None:
        what = "a plan.json (or --plan-run ID)" if kind == "simulate" else "a scenario.yaml"
        raise InputError([Problem(f"{kind} needs {what}", path="INPUT")])
    if plan_run is not None:
        raise InputError([Problem("--plan-run is an option of simulate", path="--plan-run")])
    if not file.is_file():
        raise InputError([Problem(f"no such file: {file}", file=str(file))])
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            [Problem(f"is not UTF-8 text (byte {exc.start})", file=str(file))]
        ) from None
    if kind != "simulate":
        return {"scenario_yaml": text}
    try:
        return {"plan": json.loads(text)}
    except json.JSONDecodeError as exc:
        raise InputError(
            [Problem(f"invalid JSON: {exc.msg}", file=str(file), line=exc.lineno, column=exc.colno)]
        ) from None


def _renamed(exc: InputError, file: Path | None) -> InputError:
    """The server's problems with the input it names (``scenario.yaml``, ``plan.json``)
    located in ``file`` instead: its text was sent as it is, so lines and columns hold."""
    if file is None:
        return exc
    from dataclasses import replace

    names = ("scenario.yaml", "plan.json")
    return InputError([replace(p, file=str(file)) if p.file in names else p for p in exc.problems])


def register(app: typer.Typer) -> None:
    """Add the ``jobs`` group to ``app``."""
    from hyperplan.cli.group import CONTEXT

    group = typer.Typer(
        help="Queue plans, comparisons, simulations and replans on a server; follow, cancel, "
        "fetch them.",
        context_settings=CONTEXT,
        no_args_is_help=True,
    )

    @group.command("submit")
    def submit_command(
        kind: Annotated[
            str, typer.Argument(metavar="KIND", help="plan, compare, simulate or replan.")
        ],
        file: Annotated[
            Path | None,
            typer.Argument(
                metavar="INPUT",
                help="scenario.yaml (plan, compare, replan); plan.json (simulate).",
            ),
        ] = None,
        integer: Annotated[
            bool, typer.Option("--integer", help="plan, replan: whole instances.")
        ] = False,
        time_limit: Annotated[
            float | None,
            typer.Option(
                "--time-limit",
                help="plan, compare: solver time limit, s.",
                callback=opt.number(gt=0),
            ),
        ] = None,
        mip_gap: Annotated[
            float | None,
            typer.Option(
                "--mip-gap", help="plan: relative MIP gap.", callback=opt.number(ge=0, le=1)
            ),
        ] = None,
        no_outages: Annotated[
            bool, typer.Option("--no-outages", help="plan, replan: the base scenario only.")
        ] = False,
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="replan: first month not yet past, YYYY-MM."),
        ] = None,
        walk_away: Annotated[
            bool, typer.Option("--walk-away", help="plan: value of each provider.")
        ] = False,
        method: Annotated[
            str | None,
            typer.Option(
                "--method",
                help="plan: simplex, ipm or choose.",
                callback=opt.choice(("simplex", "ipm", "choose")),
            ),
        ] = None,
        from_ledger: Annotated[
            bool, typer.Option("--from-ledger", help="plan: held commitments count as existing.")
        ] = False,
        strategy: Annotated[
            list[str] | None,
            typer.Option("--strategy", "-s", help="compare: a strategy (repeat)."),
        ] = None,
        plan_run: Annotated[
            int | None,
            typer.Option("--plan-run", min=1, help="simulate: a plan run of the ledger."),
        ] = None,
        trials: Annotated[
            int | None,
            typer.Option("--trials", "-n", help="simulate: trials.", callback=opt.count()),
        ] = None,
        seed: Annotated[
            int | None, typer.Option("--seed", help="simulate: seed.", callback=opt.seed())
        ] = None,
        years: Annotated[
            float | None,
            typer.Option("--years", help="simulate: years simulated.", callback=opt.number(gt=0)),
        ] = None,
        step_hours: Annotated[
            float | None,
            typer.Option(
                "--step-hours", help="simulate: time step, hours.", callback=opt.number(gt=0)
            ),
        ] = None,
        job_time_limit: Annotated[
            float | None,
            typer.Option(
                "--job-time-limit",
                help="Run time allowed to each attempt, s (default 3600).",
                callback=opt.number(gt=0),
            ),
        ] = None,
        max_attempts: Annotated[
            int | None,
            typer.Option(
                "--max-attempts",
                help="Attempts the job may lose to workers that die (default 3).",
                callback=opt.count(minimum=1, maximum=100),
            ),
        ] = None,
        idempotency_key: Annotated[
            str | None,
            typer.Option(
                "--idempotency-key",
                help="Submitting again with this key returns the same job (default: a new key).",
            ),
        ] = None,
        wait_: Annotated[
            bool, typer.Option("--wait", help="Then wait for it (as `jobs wait`).")
        ] = False,
        output: OutputOption = None,
        as_json: JsonOption = False,
        server: ServerOption = None,
        profile: ProfileOption = None,
        workspace: RemoteWorkspaceOption = None,
    ) -> None:
        """Queue a plan, comparison, simulation or replan on the server; print its id.

        Options are those of `hyperplan plan`, `compare`, `simulate` and `replan` (a replan
        re-solves from the server's ledger; its result is the replan document with the new
        plan in `plan_document`). The scenario is checked by the server before it is queued
        (problems located in INPUT, exit 2).

        Example: hyperplan jobs submit plan scenario.yaml --server http://127.0.0.1:8000 --wait -o plan.json
        """

        def body() -> None:
            from hyperplan.cli.outputs import check
            from hyperplan.cli.remote import new_key

            if output is not None:
                if not wait_:
                    raise InputError([Problem("-o needs --wait (or use jobs result)", path="-o")])
                check((output, "--output"), ("-" if as_json else None, "--json"))
            request = _submit_body(kind, file, plan_run)
            given = {
                "plan": {
                    "integer": True if integer else None,
                    "time_limit": time_limit,
                    "mip_gap": mip_gap,
                    "outages": False if no_outages else None,
                    "walk_away": True if walk_away else None,
                    "method": method,
                    "from_ledger": True if from_ledger else None,
                },
                "compare": {"strategies": strategy or None, "time_limit": time_limit},
                "simulate": {
                    "trials": trials,
                    "seed": seed,
                    "years": years,
                    "step_hours": step_hours,
                },
                "replan": {
                    "as_of": as_of,
                    "integer": True if integer else None,
                    "outages": False if no_outages else None,
                },
            }
            params = {k: v for k, v in given[kind].items() if v is not None}
            flags = {"strategies": "--strategy", "outages": "--no-outages"}
            stray = sorted(
                {
                    flags.get(k, "--" + k.replace("_", "-"))
                    for values in given.values()
                    for k, v in values.items()
                    if v is not None and k not in given[kind]
                }
            )
            if stray:
                raise InputError(
                    [Problem(f"not an option of {kind} jobs", path=flag) for flag in stray]
                )
            if kind == "replan":  # its own route: checked against the ledger when queued
                if as_of is None:
                    raise InputError([Problem("replan needs --as-of YYYY-MM", path="--as-of")])
                route = "/actuals/replan"
                request.update(params)
            else:
                route = "/jobs"
                request.update(kind=kind, params=params)
            if job_time_limit is not None:
                request["time_limit_seconds"] = job_time_limit
            if max_attempts is not None:
                request["max_attempts"] = max_attempts
            with _remote(server, profile, workspace) as remote:
                try:
                    job = remote.post(
                        remote.ws(route),
                        json=request,
                        idempotency_key=idempotency_key or new_key(),
                    ).json()
                except InputError as exc:
                    raise _renamed(exc, file) from None
                if not wait_ and as_json:
                    term.print_json(job_doc(job))
                elif not wait_:
                    typer.echo(str(job["id"]))
                term.info(
                    f"job {job['id']} {job['state']}: {kind} of {file or f'plan run {plan_run}'}"
                    + ("" if wait_ else f"; follow it with: hyperplan jobs wait {job['id']}")
                )
                if wait_:
                    wait(remote, job["id"], timeout=None, poll=1.0, output=output, as_json=as_json)

        run_command(body)

    @group.command("list")
    def list_command(
        state: Annotated[str | None, typer.Option("--state", help="Only this state.")] = None,
        limit: Annotated[
            int,
            typer.Option("--limit", help="At most this many (newest first).", min=1, max=1000),
        ] = 100,
        fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
        as_json: JsonOption = False,
        server: ServerOption = None,
        profile: ProfileOption = None,
        workspace: RemoteWorkspaceOption = None,
    ) -> None:
        """List the workspace's jobs, newest first.

        Example: hyperplan jobs list --state running
        """

        def body() -> None:
            fmt_ = "json" if as_json else fmt
            if fmt_ not in ("table", "json"):
                raise InputError(
                    [Problem(f"unknown format {fmt_!r}; expected table or json", path="--format")]
                )
            if state is not None and state not in STATES:
                raise InputError(
                    [
                        Problem(
                            f"unknown job state {state!r}; expected one of {', '.join(STATES)}",
                            path="--state",
                        )
                    ]
                )
            params: dict[str, Any] = {"limit": limit}
            if state is not None:
                params["state"] = state
            with _remote(server, profile, workspace) as remote:
                rows = remote.get(remote.ws("/jobs"), params=params).json()
                ws = remote.workspace
            if fmt_ == "json":
                typer.echo(json.dumps(rows, indent=1))
                return
            table = Table(title=f"Jobs (workspace {ws})", box=box.SIMPLE_HEAD)
            for col in ("id", "kind", "state", "author", "created (UTC)", "attempts", "error"):
                table.add_column(
                    col,
                    justify="right" if col in ("id", "attempts") else "left",
                    overflow="fold",
                )
            for j in rows:
                table.add_row(
                    str(j["id"]),
                    j["kind"],
                    progress_text(j),
                    j["author"],
                    (j["created_at"] or "").replace("T", " ")[:19],
                    str(j["attempt"]),
                    (j["error"] or "").splitlines()[0][:80] if j["error"] else "",
                )
            term.out().print(table)

        run_command(body)

    @group.command("show")
    def show_command(
        job_id: IdArgument,
        as_json: JsonOption = False,
        server: ServerOption = None,
        profile: ProfileOption = None,
        workspace: RemoteWorkspaceOption = None,
    ) -> None:
        """Show a job: state, progress, attempts, error.

        Example: hyperplan jobs show 3
        """

        def body() -> None:
            with _remote(server, profile, workspace) as remote:
                job = remote.get(remote.ws(f"/jobs/{job_id}")).json()
            _print_job(job, as_json)

        run_command(body)

    @group.command("cancel")
    def cancel_command(
        job_id: IdArgument,
        as_json: JsonOption = False,
        server: ServerOption = None,
        profile: ProfileOption = None,
        workspace: RemoteWorkspaceOption = None,
    ) -> None:
        """Cancel a job: a queued one at once, a running one at its worker's next heartbeat.

        Example: hyperplan jobs cancel 3
        """

        def body() -> None:
            with _remote(server, profile, workspace) as remote:
                job = remote.post(remote.ws(f"/jobs/{job_id}/cancel")).json()
            if as_json:
                term.print_json(job_doc(job))
                return
            how = "cancelled" if job["state"] == "cancelled" else "asked to stop"
            term.out().print(
                f"job {job['id']} {how}", markup=False, highlight=False, soft_wrap=True
            )

        run_command(body)

    @group.command("result")
    def result_command(
        job_id: IdArgument,
        output: Annotated[
            Path,
            typer.Option("--output", "-o", help="Write the result here (default -: stdout)."),
        ] = Path("-"),
        server: ServerOption = None,
        profile: ProfileOption = None,
        workspace: RemoteWorkspaceOption = None,
    ) -> None:
        """Fetch a succeeded job's result: plan.json, sim.json, the comparison or the replan
        document (JSON).

        Example: hyperplan jobs result 3 -o plan.json
        """

        def body() -> None:
            from hyperplan.cli.outputs import check

            check((output, "--output"))
            with _remote(server, profile, workspace) as remote:
                _write_result(remote, job_id, output)

        run_command(body)

    @group.command("wait")
    def wait_command(
        job_id: IdArgument,
        output: OutputOption = None,
        timeout: Annotated[
            float | None,
            typer.Option(
                "--timeout",
                help="Give up waiting after this many seconds (exit 1; the job goes on).",
                callback=opt.number(gt=0),
            ),
        ] = None,
        poll: Annotated[
            float,
            typer.Option(
                "--poll", help="Seconds between looks at the job.", callback=opt.number(gt=0)
            ),
        ] = 1.0,
        as_json: JsonOption = False,
        server: ServerOption = None,
        profile: ProfileOption = None,
        workspace: RemoteWorkspaceOption = None,
    ) -> None:
        """Wait for a job to end, with its progress on stderr; write its result with -o.

        Exit 0 when it succeeded; 1 when it failed or was cancelled, or --timeout passed.

        Example: hyperplan jobs wait 3 -o plan.json
        """

        def body() -> None:
            from hyperplan.cli.outputs import check

            if output is not None:
                check((output, "--output"), ("-" if as_json else None, "--json"))
            with _remote(server, profile, workspace) as remote:
                wait(remote, job_id, timeout=timeout, poll=poll, output=output, as_json=as_json)

        run_command(body)

    app.add_typer(group, name="jobs")
