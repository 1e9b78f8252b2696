"""The ``hyperplan`` command: a thin face over the Python API.

Every command is a few lines over a public function. Errors in user input print located
messages and exit with status 2; interruptions exit 130; no traceback reaches the user.
Results go to stdout, notes, warnings and errors to stderr (:mod:`hyperplan.cli.term`).
Every command takes ``-q/--quiet``, ``-v/--verbose`` and ``-h/--help``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

import hyperplan.cli.options as opt
import hyperplan.cli.term as term
from hyperplan import __version__
from hyperplan.cli.actuals import register as register_actuals
from hyperplan.cli.group import CONTEXT, Group
from hyperplan.cli.jobs import register as register_jobs
from hyperplan.cli.ledger import DbOption, WorkspaceOption
from hyperplan.cli.ledger import register as register_ledger
from hyperplan.cli.outputs import check as check_outputs
from hyperplan.cli.outputs import is_stdout, write_output
from hyperplan.cli.progress import solver_status
from hyperplan.cli.report import register as register_report
from hyperplan.cli.runner import (
    EXIT_BROKEN_PIPE,
    EXIT_SIGINT,
    on_int,
    on_term,
    quiet_unraisable,
    run_command,
)
from hyperplan.cli.schema import register as register_docs
from hyperplan.cli.server import register as register_server
from hyperplan.cli.simulate import register as register_simulate
from hyperplan.cli.worker import register as register_worker
from hyperplan.errors import EXIT_MISSED, InputError, Interrupted, Problem

if TYPE_CHECKING:
    from hyperplan.scenario.schema import Scenario

app = typer.Typer(
    name="hyperplan",
    help=(
        "Plan, place and run AI compute across clouds.\n\n"
        "Examples:\n\n"
        "  hyperplan catalog --accelerator H100\n\n"
        "  hyperplan init --template small -o scenario.yaml\n\n"
        "  hyperplan validate examples/frontier-2030.yaml\n\n"
        "  hyperplan plan examples/frontier-2030.yaml -o plan.json --walk-away\n\n"
        "  hyperplan compare examples/small.yaml --strategy multi --strategy single:aws"
    ),
    cls=Group,
    context_settings=CONTEXT,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
T = TypeVar("T")
AllowPath = Annotated[
    list[Path] | None,
    typer.Option(
        "--allow-path",
        metavar="DIR",
        help=(
            "Also let the scenario read files (CSV series, offer CSVs) under DIR (repeat); "
            "default: only its own folder and HYPERPLAN_ALLOW_PATHS."
        ),
    ),
]
"""The option of every command that loads a scenario: more folders its files may lie in."""
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON document on stdout (keys: docs/cli.md)."),
]
"""``--json``: the command's result as one JSON document (:mod:`hyperplan.cli.jsonout`)."""


def _run(action: Callable[[], T]) -> T:
    """Run a command body (exit statuses and signals: :mod:`hyperplan.cli.runner`)."""
    return run_command(action)


def _version(value: bool) -> None:
    if value:
        term.out().print(f"hyperplan {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="No progress or notes on stderr (warnings, misses, errors still show). "
            "Also accepted after the command.",
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Also print the solver's log (HiGHS) on stderr. Also accepted after the command.",
        ),
    ] = False,
) -> None:
    """Plan, place and run AI compute across clouds."""
    term.configure(quiet=quiet, verbose=verbose)


@app.command()
def catalog(
    provider: Annotated[
        list[str] | None,
        typer.Option(
            "--provider",
            "-p",
            help="Provider(s) (repeat or comma-separate).",
            callback=opt.comma_list(),
        ),
    ] = None,
    accelerator: Annotated[
        list[str] | None,
        typer.Option(
            "--accelerator",
            "-a",
            help="Accelerator(s), e.g. H100 (repeat or comma-separate).",
            callback=opt.comma_list(),
        ),
    ] = None,
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region",
            "-r",
            help="Region code(s) (repeat or comma-separate).",
            callback=opt.comma_list(),
        ),
    ] = None,
    geo: Annotated[
        list[str] | None,
        typer.Option(
            "--geo",
            "-g",
            help="Geo tag(s): us, eu, ap (repeat or comma-separate).",
            callback=opt.comma_list(),
        ),
    ] = None,
    csv: Annotated[
        list[Path] | None, typer.Option("--csv", help="User offer CSV(s) to merge.")
    ] = None,
    skypilot: Annotated[
        list[Path] | None,
        typer.Option("--skypilot", help="SkyPilot vms.csv to import; --provider names its cloud."),
    ] = None,
    skypilot_provider: Annotated[
        str | None, typer.Option("--skypilot-provider", help="Cloud the SkyPilot CSV describes.")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", "-n", help="Show at most N rows.", callback=opt.count(minimum=1)),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List offers: price per GPU-hour, spot, 1y/3y reserved, kW per instance, source.

    Example: hyperplan catalog --accelerator H100 --geo us
    """

    def body() -> None:
        from hyperplan.catalog import load_catalog
        from hyperplan.report.catalog_table import render_catalog

        sky = []
        cloud = skypilot_provider or (provider[0] if provider and len(provider) == 1 else None)
        if skypilot:
            if not cloud:
                from hyperplan.errors import Problem

                raise InputError(
                    [
                        Problem(
                            "--skypilot needs the cloud it describes: --provider NAME",
                            path="--provider",
                        )
                    ]
                )
            sky = [(str(p), cloud) for p in skypilot]
        cat = load_catalog(user_csvs=[str(p) for p in csv or []], skypilot=sky)
        _check_selectors(cat.offers, provider=provider, region=region, geo=geo)
        try:
            rows = cat.filter(provider=provider, accelerator=accelerator, region=region, geo=geo)
        except KeyError as exc:
            from hyperplan.errors import Problem

            raise InputError(
                [Problem(str(exc.args[0]) if exc.args else str(exc), path="--accelerator")]
            ) from None
        if as_json:
            from hyperplan.cli.jsonout import catalog_doc
            from hyperplan.report.catalog_table import order_offers

            ordered = order_offers(rows)
            shown = ordered if limit is None else ordered.iloc[:limit]
            term.print_json(catalog_doc(shown, len(ordered)))
            return
        render_catalog(rows, term.out(), limit=limit)

    _run(body)


def _check_selectors(offers: Any, **selectors: list[str] | None) -> None:
    """Refuse a --provider, --region or --geo that names nothing in the catalog (exit 2)."""
    import difflib

    problems = []
    for column, wanted in selectors.items():
        known = sorted({str(v).lower() for v in offers[column].dropna()})
        for value in wanted or []:
            if value.strip().lower() in known:
                continue
            near = difflib.get_close_matches(value.strip().lower(), known, n=3)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            problems.append(
                Problem(f"unknown {column} {value!r} in the catalog{hint}", path=f"--{column}")
            )
    if problems:
        raise InputError(problems)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    allow_path: AllowPath = None,
    as_json: JsonOption = False,
) -> None:
    """Check a scenario and summarise what it holds (periods, providers, offers, workloads, policies).

    Example: hyperplan validate examples/frontier-2030.yaml
    """

    def body() -> None:
        from hyperplan.report.scenario_summary import print_scenario
        from hyperplan.scenario.load import load_scenario

        scenario = load_scenario(file, allow_paths=allow_path or ())
        _warn_clipped(scenario)
        if as_json:
            from hyperplan.cli.jsonout import validate_doc

            doc = validate_doc(scenario, str(file))
            for warning in doc["warnings"]:
                term.warn(warning)
            term.print_json(doc)
            return
        print_scenario(scenario, term.out(), log=term.err())

    _run(body)


def _warn_clipped(scenario: Scenario) -> None:
    """Print on stderr, located, each date of ``scenario`` that the horizon clips."""
    from hyperplan.plan.clipped import clipped_dates

    for problem in clipped_dates(scenario):
        term.warn(str(problem))


@app.command()
def init(
    template: Annotated[
        str,
        typer.Option(
            "--template",
            "-t",
            help="small or frontier.",
            callback=opt.choice(("small", "frontier")),
        ),
    ] = "small",
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the scenario.")
    ] = Path("scenario.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a starter scenario.

    Example: hyperplan init --template frontier -o frontier.yaml
    """

    def body() -> None:
        from importlib.resources import files

        from hyperplan.fileio import write_text_atomic

        names = {"small": "small.yaml", "frontier": "frontier.yaml"}
        if template not in names:
            raise InputError(
                [
                    Problem(
                        f"unknown template {template!r}; expected small or frontier",
                        path="--template",
                    )
                ]
            )
        from hyperplan.scenario.jsonschema import SCHEMA_FILE

        companions = [] if template == "small" else ["frontier-offers.csv"]
        check_outputs(
            (output, "--output"),
            *((output.parent / name, "--output") for name in [*companions, SCHEMA_FILE]),
        )
        if output.exists() and not force:
            raise InputError(
                [Problem(f"{output} exists; pass --force to overwrite", path="--output")]
            )
        folder = files("hyperplan.templates")
        text = folder.joinpath(names[template]).read_text(encoding="utf-8")
        # files the template refers to (offers.catalog_csv) go beside it
        for name in companions:
            target = output.parent / name
            if not target.exists() or force:
                write_text_atomic(target, folder.joinpath(name).read_text(encoding="utf-8"))
        from hyperplan.scenario.jsonschema import schema_text

        # the template's first line points editors at the schema beside it
        schema = output.parent / SCHEMA_FILE
        if not schema.exists() or force:
            write_text_atomic(schema, schema_text())
        write_text_atomic(output, text)
        term.info(f"wrote {output} (template {template}); next: hyperplan validate {output}")

    _run(body)


@app.command()
def plan(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write plan.json here (-: stdout).")
    ] = None,
    integer: Annotated[bool, typer.Option("--integer", help="Whole instances (MILP).")] = False,
    time_limit: Annotated[
        float | None,
        typer.Option("--time-limit", help="Solver time limit, seconds.", callback=opt.number(gt=0)),
    ] = None,
    mip_gap: Annotated[
        float, typer.Option("--mip-gap", help="Relative MIP gap.", callback=opt.number(ge=0, le=1))
    ] = 1e-4,
    no_outages: Annotated[
        bool, typer.Option("--no-outages", help="Plan the base scenario only.")
    ] = False,
    walk_away: Annotated[
        bool, typer.Option("--walk-away", help="Value of each provider (one re-solve each).")
    ] = False,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help=(
                "simplex, ipm or choose (one LP); monolithic (= simplex), decomposed (Benders "
                "over the outage scenarios) or auto (chosen from the model's size)."
            ),
            callback=opt.choice(("simplex", "ipm", "choose", "auto", "monolithic", "decomposed")),
        ),
    ] = "simplex",
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the HTML report here (-: stdout).")
    ] = None,
    from_ledger: Annotated[
        bool, typer.Option("--from-ledger", help="Held (signed) commitments count as existing.")
    ] = False,
    ray: Annotated[
        str | None,
        typer.Option("--ray", help="Decomposed solve: subproblems on Ray (auto or ADDRESS)."),
    ] = None,
    db: DbOption = None,
    workspace: WorkspaceOption = "default",
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help=(
                "Exit with status 4 when the plan misses a stated target (demand, a training "
                "run, a budget, an N-1 level, the GW target); outputs are still written."
            ),
        ),
    ] = False,
    allow_path: AllowPath = None,
    as_json: JsonOption = False,
) -> None:
    """Solve the multi-cloud capacity plan and print its summary.

    Missed targets are printed first, on stderr. Exit status: 0 a plan (misses included,
    unless --strict), 2 bad input, 3 no plan from the solver, 4 a missed target with --strict.
    With -o - the plan.json goes to stdout instead of the summary; -v adds HiGHS's log (stderr).

    Example: hyperplan plan examples/small.yaml -o plan.json --walk-away
    """

    def body() -> None:
        from hyperplan.cli.ledger import plan_from_ledger
        from hyperplan.plan import plan as make_plan
        from hyperplan.report.misses import print_misses
        from hyperplan.report.terminal import print_plan
        from hyperplan.scenario.load import load_scenario

        check_outputs((output, "--output"), (html, "--html"), ("-" if as_json else None, "--json"))
        scenario = load_scenario(file, allow_paths=allow_path or ())
        _warn_clipped(scenario)
        scenario, ledger_meta = plan_from_ledger(
            scenario, file, from_ledger, db, workspace, term.err()
        )
        with solver_log() as highs_options, solver_status() as progress:
            result = make_plan(
                scenario,
                integer=True if integer else None,
                outages=not no_outages,
                time_limit=time_limit,
                mip_gap=mip_gap,
                method=method,
                walk_away=walk_away,
                highs_options=highs_options,
                ray=ray,
                progress=progress,
            )
        if method in ("auto", "decomposed"):
            term.info(
                f"solve method: {result.stats.get('solve_method')} "
                f"({result.stats.get('solve_method_reason')})"
            )
        if ledger_meta is not None:
            result.context = result.context.with_ledger(ledger_meta)
        missed = result.misses()
        # outputs first: a reader that stops early (`| head -1`) must not cost the plan
        written: list[str] = []
        if output is not None:
            write_output(output, result.to_json, note=False)
            written.append(str(output))
        if html is not None:
            from hyperplan.report.html import write_report

            write_output(html, lambda path: write_report(result, path), note=False)
            written.append(str(html))
        print_misses(missed, term.err(), result.scenario_name, strict=strict)  # misses first
        if not is_stdout(output) and not is_stdout(html) and not as_json:
            print_plan(result, term.out(), log=term.err())
        else:  # no summary: its warnings still go to stderr
            from hyperplan.report.summary import summarize

            for warning in summarize(result).warnings:
                term.warn(warning)
            if as_json:
                from hyperplan.cli.jsonout import plan_doc

                term.print_json(plan_doc(result, written))
        for path in written:
            if not is_stdout(path):
                term.wrote(path)
        if strict and len(missed):
            raise typer.Exit(EXIT_MISSED)

    _run(body)


@app.command()
def compare(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    strategy: Annotated[
        list[str] | None,
        typer.Option(
            "--strategy",
            "-s",
            help=(
                "multi, single:<provider>, no-share, no-n1, greedy, rent-only, build-only, "
                "managed-only (repeat)."
            ),
        ),
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option("--time-limit", help="Per-strategy time limit, s.", callback=opt.number(gt=0)),
    ] = None,
    simulate: Annotated[
        bool, typer.Option("--simulate", help="Also simulate every strategy over the same draws.")
    ] = False,
    trials: Annotated[
        int, typer.Option("--trials", "-n", help="Trials for --simulate.", callback=opt.count())
    ] = 200,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed for --simulate.", callback=opt.seed())
    ] = 0,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", help="Processes.", callback=opt.count())
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the HTML report here (-: stdout).")
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help=(
                "Exit with status 4 when any strategy's plan misses a stated target (demand, a training "
                "run, a budget, an N-1 level, the GW target); outputs are still written."
            ),
        ),
    ] = False,
    allow_path: AllowPath = None,
    as_json: JsonOption = False,
) -> None:
    """Plan the scenario under several strategies and compare cost, share, power and resilience.

    Each strategy's missed targets are printed first, on stderr; with --strict any miss exits
    with status 4 (after the outputs are written).

    With --simulate every strategy runs over the same random draws (common random numbers) and
    the paired differences against the first strategy are shown with 95% confidence intervals.

    Example: hyperplan compare examples/small.yaml -s multi -s single:aws -s greedy --simulate
    """

    def body() -> None:
        from hyperplan.plan.compare import compare as run_compare
        from hyperplan.report.misses import print_misses
        from hyperplan.report.terminal import print_compare
        from hyperplan.scenario.load import load_scenario

        check_outputs((html, "--html"), ("-" if as_json else None, "--json"))
        scenario = load_scenario(file, allow_paths=allow_path or ())
        strategies = strategy or ["multi", "no-share", "no-n1", "greedy"] + [
            f"single:{p}" for p in scenario.providers
        ]
        with solver_status() as progress:
            table, plans = run_compare(
                scenario, strategies, time_limit=time_limit, progress=progress
            )
        missed = 0
        for name, strategy_plan in plans.items():
            found = strategy_plan.misses()
            missed += len(found)
            label = f"{strategy_plan.scenario_name} [{name}]"
            print_misses(found, term.err(), label, strict=strict if len(found) else None)
        printing = not as_json and not is_stdout(html)
        if printing:
            print_compare(table, term.out())
        paired = None
        if simulate:
            from hyperplan.report.terminal import print_paired
            from hyperplan.sim.api import compare_simulated

            paired = compare_simulated(plans, trials=trials, seed=seed, workers=workers)
            if printing:
                print_paired(paired, term.out())
        if html is not None:
            from hyperplan.report.html import write_report

            first = plans[strategies[0]]
            write_output(html, lambda path: write_report(first, path, compare=table))
        if as_json:
            from hyperplan.cli.jsonout import compare_doc

            term.print_json(compare_doc(table, plans, paired))
        if strict and missed:
            raise typer.Exit(EXIT_MISSED)

    _run(body)


register_simulate(app)
register_report(app)
register_actuals(app)
register_docs(app)
register_ledger(app)
register_worker(app)
register_jobs(app)
register_server(app)


@contextlib.contextmanager
def solver_log() -> Iterator[dict[str, Any]]:
    """With ``-v``: HiGHS options that turn its log on, and the log (which HiGHS writes to file
    descriptor 1) sent to stderr while the block runs; without: no options, nothing moved."""
    if not term.settings.verbose:
        yield {}
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield {"output_flag": True, "log_to_console": True}
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _flush_stdout() -> bool:
    """Flush stdout; False when its reader went away (later writes then go to /dev/null)."""
    try:
        sys.stdout.flush()
        return True
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return False


def run() -> None:
    """Run the app on ``sys.argv`` (:func:`hyperplan.cli.main` calls it after start-up)."""
    signal.signal(signal.SIGTERM, on_term)  # also while typer parses the arguments
    # and SIGINT noted as well as raised: a KeyboardInterrupt that a C callback swallows while
    # the command's modules import ("Exception ignored in ...") is still honoured (run_command)
    signal.signal(signal.SIGINT, on_int)
    sys.unraisablehook = quiet_unraisable(sys.unraisablehook)  # no "Exception ignored" traceback
    try:
        app()
    except SystemExit:
        if not _flush_stdout():  # the reader went away (`| head`): outputs were written first
            sys.exit(EXIT_BROKEN_PIPE)
        raise
    except KeyboardInterrupt:
        term.err().print("interrupted", markup=False)
        sys.exit(EXIT_SIGINT)
    except Interrupted as exc:
        term.err().print("interrupted (SIGTERM)", markup=False)
        sys.exit(exc.exit_code)
