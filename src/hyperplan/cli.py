"""The ``hyperplan`` command: a thin face over the Python API.

Every command is a few lines over a public function. Errors in user input print located
messages and exit with status 2; interruptions exit 130; no traceback reaches the user.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from hyperplan import __version__
from hyperplan import options as opt
from hyperplan.actuals.commands import register as register_actuals
from hyperplan.docs_commands import register as register_docs
from hyperplan.errors import EXIT_MISSED, InputError, Interrupted
from hyperplan.fileio import check_outputs
from hyperplan.ledger.commands import DbOption, WorkspaceOption
from hyperplan.ledger.commands import register as register_ledger
from hyperplan.report.commands import register as register_report
from hyperplan.runner import EXIT_BROKEN_PIPE, EXIT_SIGINT, on_term, run_command
from hyperplan.sim.commands import register as register_simulate

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
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = Console(width=100)
err = Console(stderr=True, width=100)
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


def _run(action: Callable[[], T]) -> T:
    """Run a command body (exit statuses and signals: :mod:`hyperplan.runner`)."""
    return run_command(action, err)


def _version(value: bool) -> None:
    if value:
        out.print(f"hyperplan {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Plan, place and run AI compute across clouds."""


@app.command()
def catalog(
    provider: Annotated[
        list[str] | None, typer.Option("--provider", "-p", help="Provider(s).")
    ] = None,
    accelerator: Annotated[
        list[str] | None, typer.Option("--accelerator", "-a", help="Accelerator(s), e.g. H100.")
    ] = None,
    region: Annotated[
        list[str] | None, typer.Option("--region", "-r", help="Region code(s).")
    ] = None,
    geo: Annotated[
        list[str] | None, typer.Option("--geo", "-g", help="Geo tag(s): us, eu, ap.")
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
        render_catalog(rows, out, limit=limit)

    _run(body)


def _check_selectors(offers: Any, **selectors: list[str] | None) -> None:
    """Refuse a --provider, --region or --geo that names nothing in the catalog (exit 2)."""
    import difflib

    from hyperplan.errors import Problem

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
) -> None:
    """Check a scenario and summarise what it holds (periods, providers, offers, workloads, policies).

    Example: hyperplan validate examples/frontier-2030.yaml
    """

    def body() -> None:
        from hyperplan.report.scenario_summary import print_scenario
        from hyperplan.scenario.load import load_scenario

        scenario = load_scenario(file, allow_paths=allow_path or ())
        _warn_clipped(scenario)
        print_scenario(scenario, out)

    _run(body)


def _warn_clipped(scenario: Scenario) -> None:
    """Print on stderr, located, each date of ``scenario`` that the horizon clips."""
    from hyperplan.plan.clipped import clipped_dates

    for problem in clipped_dates(scenario):
        err.print(f"warning: {problem}", markup=False, highlight=False, soft_wrap=True)


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

        from hyperplan.errors import Problem
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
        out.print(f"wrote {output} (template {template}); next: hyperplan validate {output}")

    _run(body)


@app.command()
def plan(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write plan.json here.")
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
        Path | None, typer.Option("--html", help="Also write the HTML report here.")
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
) -> None:
    """Solve the multi-cloud capacity plan and print its summary.

    Missed targets are printed first, on stderr. Exit status: 0 a plan (misses included,
    unless --strict), 2 bad input, 3 no plan from the solver, 4 a missed target with --strict.

    Example: hyperplan plan examples/small.yaml -o plan.json --walk-away
    """

    def body() -> None:
        from hyperplan.ledger.commands import plan_from_ledger
        from hyperplan.plan import plan as make_plan
        from hyperplan.report.misses import print_misses
        from hyperplan.report.terminal import print_plan
        from hyperplan.scenario.load import load_scenario

        check_outputs((output, "--output"), (html, "--html"))
        scenario = load_scenario(file, allow_paths=allow_path or ())
        _warn_clipped(scenario)
        scenario, ledger_meta = plan_from_ledger(scenario, file, from_ledger, db, workspace, err)
        result = make_plan(
            scenario,
            integer=True if integer else None,
            outages=not no_outages,
            time_limit=time_limit,
            mip_gap=mip_gap,
            method=method,
            walk_away=walk_away,
            ray=ray,
        )
        if method in ("auto", "decomposed"):
            err.print(
                f"solve method: {result.stats.get('solve_method')} "
                f"({result.stats.get('solve_method_reason')})"
            )
        if ledger_meta is not None:
            result.meta["ledger"] = ledger_meta
        missed = result.misses()
        # outputs first: a reader that stops early (`| head -1`) must not cost the plan
        written: list[Path] = []
        if output is not None:
            result.to_json(output)
            written.append(output)
        if html is not None:
            from hyperplan.report.html import write_report

            write_report(result, html)
            written.append(html)
        print_misses(missed, err, result.scenario_name, strict=strict)
        print_plan(result, out)
        for path in written:
            out.print(f"wrote {path}")
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
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
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

        check_outputs((html, "--html"))
        scenario = load_scenario(file, allow_paths=allow_path or ())
        strategies = strategy or ["multi", "no-share", "no-n1", "greedy"] + [
            f"single:{p}" for p in scenario.providers
        ]
        table, plans = run_compare(scenario, strategies, time_limit=time_limit)
        missed = 0
        for name, strategy_plan in plans.items():
            found = strategy_plan.misses()
            missed += len(found)
            label = f"{strategy_plan.scenario_name} [{name}]"
            print_misses(found, err, label, strict=strict if len(found) else None)
        print_compare(table, out)
        paired = None
        if simulate:
            from hyperplan.report.terminal import print_paired
            from hyperplan.sim.api import compare_simulated

            paired = compare_simulated(plans, trials=trials, seed=seed, workers=workers)
            print_paired(paired, out)
        if html is not None:
            from hyperplan.report.html import write_report

            first = plans[strategies[0]]
            write_report(first, html, compare=table)
            out.print(f"wrote {html}")
        if strict and missed:
            raise typer.Exit(EXIT_MISSED)

    _run(body)


register_simulate(app)
register_report(app)
register_actuals(app)
register_docs(app)
register_ledger(app)


def _flush_stdout() -> bool:
    """Flush stdout; False when its reader went away (later writes then go to /dev/null)."""
    try:
        sys.stdout.flush()
        return True
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return False


def main() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, on_term)  # also while typer parses the arguments
    try:
        app()
    except SystemExit:
        if not _flush_stdout():  # the reader went away (`| head`): outputs were written first
            sys.exit(EXIT_BROKEN_PIPE)
        raise
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(EXIT_SIGINT)
    except Interrupted as exc:
        err.print("interrupted (SIGTERM)", markup=False)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
