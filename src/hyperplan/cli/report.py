"""CLI commands of the reports: ``hyperplan report`` and ``hyperplan demo``.

:mod:`hyperplan.cli.root` adds them with :func:`register`::

    from hyperplan.cli.report import register as register_report
    register_report(app)
"""

from __future__ import annotations

import contextlib
import time
import webbrowser
from collections.abc import Callable, Iterator
from importlib.resources import as_file, files
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

import hyperplan.cli.options as opt

T = TypeVar("T")

DEMO_TEMPLATE = "frontier.yaml"
DEMO_TRIALS = 100


def _guard(action: Callable[[], T]) -> T:
    """Run a command body the way every command does (:func:`hyperplan.cli.runner.run_command`)."""
    from hyperplan.cli.runner import run_command

    return run_command(action)


def load_sim(path: Path) -> dict[str, Any]:
    """A sim.json file as a dict (any shape :func:`~hyperplan.report.sections.sim_view` reads)."""
    from hyperplan.report.sections import load_sim as read

    return read(path)


@contextlib.contextmanager
def demo_scenario_path() -> Iterator[Path]:
    """The bundled frontier-2030 scenario as a file path (its ``catalog_csv``,
    ``frontier-offers.csv``, sits beside it in the templates package)."""
    template = files("hyperplan.templates").joinpath(DEMO_TEMPLATE)
    with as_file(template) as path:
        yield Path(path)


def run_demo(
    output: Path,
    *,
    trials: int = DEMO_TRIALS,
    seed: int = 0,
    console: Console | None = None,
    log: Console | None = None,
    strict: bool | None = None,
) -> dict[str, Any]:
    """Plan the bundled frontier-2030 scenario, simulate ``trials`` trials (when the simulator
    is installed and ``trials`` > 0), write the HTML report, print the summary.

    Missed targets are printed first on ``log`` (stderr); ``strict`` only changes the hint.
    Progress and timings go to ``log`` too, unless ``-q`` (:mod:`hyperplan.cli.term`).
    Returns timings and the objects made: ``plan``, ``sim`` (or None), ``seconds`` per step,
    ``misses`` (:meth:`~hyperplan.plan.api.Plan.misses`).
    """
    import hyperplan.cli.term as term
    from hyperplan.plan import plan as make_plan
    from hyperplan.plan.api import _scenario_catalog
    from hyperplan.report.html import write_report
    from hyperplan.report.terminal import print_plan
    from hyperplan.scenario.load import load_scenario

    console = console or term.out()
    log = log or term.err()

    def note(text: str, **kwargs: Any) -> None:  # progress and timings: dropped by -q
        if not term.settings.quiet:
            log.print(text, **kwargs)

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    with demo_scenario_path() as path:
        scenario = load_scenario(path)
        catalog = _scenario_catalog(scenario)
    note(
        f"planning {scenario.name}: {scenario.horizon.periods} {scenario.horizon.period}s, "
        f"{len(scenario.providers)} providers, {len(scenario.owned_sites)} owned sites, "
        f"{len(scenario.managed_platforms)} managed platforms, "
        f"{len(scenario.workloads)} workloads …",
        markup=False,
        highlight=False,
    )
    result = make_plan(scenario, catalog=catalog)
    seconds["plan"] = time.perf_counter() - t0
    sim = None
    if trials > 0:
        try:
            from hyperplan.sim import simulate
        except ImportError:  # the simulator is optional
            simulate = None  # type: ignore[assignment]
        if simulate is not None:
            note(f"simulating {trials} trials …", markup=False, highlight=False)
            t1 = time.perf_counter()
            sim = simulate(result, trials=trials, seed=seed, workers=1 if trials <= 200 else None)
            seconds["simulate"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    write_report(result, output, sim=sim, catalog=catalog)
    seconds["report"] = time.perf_counter() - t2
    seconds["total"] = time.perf_counter() - t0
    from hyperplan.report.misses import print_misses

    missed = result.misses()
    print_misses(missed, log, result.scenario_name, strict=strict)
    print_plan(result, console, log=log)
    if sim is not None:
        _print_sim_line(sim, console)
    note(
        f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB, self-contained; "
        f"open {output.resolve().as_uri()})",
        markup=False,
        highlight=False,
    )
    note(
        "took "
        + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items() if k != "total")
        + f"; total {seconds['total']:.1f} s",
        markup=False,
        highlight=False,
    )
    return {"plan": result, "sim": sim, "seconds": seconds, "misses": missed}


def _print_sim_line(sim: Any, console: Console) -> None:
    """One line of simulated headline figures (P50 / P95 of cost, worst served P5)."""
    from hyperplan.report import fmt
    from hyperplan.report.sections import sim_view

    view = sim_view(sim)
    if view is None:
        return
    parts = [f"simulated {view.info.get('trials', '?')} trials"]
    cost = view.metrics("cost_usd")
    if len(cost) and {"p50", "p95"} <= set(cost.columns):
        r = cost.iloc[0]
        parts.append(f"cost P50 {fmt.usd(r['p50'])}, P95 {fmt.usd(r['p95'])}")
    served = view.metrics("served_fraction")
    if len(served) and "p05" in served.columns:
        r = served.loc[served["p05"].astype(float).idxmin()]
        parts.append(
            f"lowest P5 served fraction {fmt.pct(r['p05'])} ({r['metric'].split(':')[-1]})"
        )
    console.print("; ".join(parts), markup=False, highlight=False)


def _write_with_actuals(
    plan: Any,
    output: Path,
    sim: Any,
    bills: list[Path],
    db: str | None,
    replan: dict[str, Any] | None = None,
) -> None:
    """The report with the actuals section (:mod:`hyperplan.report.actuals_section`)."""
    from hyperplan.actuals.collect import gather
    from hyperplan.actuals.shape import section_view
    from hyperplan.report.html import write_report

    frame, tables, notes = gather(list(bills), plan=plan, db=db)
    write_report(plan, output, sim=sim, actuals=section_view(tables, frame, notes), replan=replan)


def replan_view_for(plan: Any, doc: dict[str, Any], *, file: str | None = None) -> dict[str, Any]:
    """The report's replan view of a validated replan document ``doc``, refused (located in
    ``file``) unless ``plan`` is the plan that replan made: it starts at the as-of month."""
    import datetime as dt

    from hyperplan.errors import InputError, Problem
    from hyperplan.report.replan_section import replan_view

    starts = plan.context.period_starts
    start = starts[0] if starts else None
    as_of = dt.date.fromisoformat(doc["as_of"])
    if start != as_of:
        raise InputError(
            [
                Problem(
                    f"is a replan as of {as_of:%Y-%m}, but the plan starts "
                    f"{'nowhere' if start is None else f'{start:%Y-%m}'}: give the plan that "
                    "replan wrote (replan -o)",
                    file=file,
                    path="as_of",
                )
            ]
        )
    return replan_view(doc)


def register(app: typer.Typer) -> None:
    """Add ``report`` and ``demo`` to the typer ``app``."""

    @app.command("report")
    def report_command(
        plan_file: Annotated[
            Path, typer.Argument(help="plan.json written by `hyperplan plan -o`.")
        ],
        sim: Annotated[
            Path | None, typer.Option("--sim", help="sim.json written by `hyperplan simulate -o`.")
        ] = None,
        output: Annotated[
            Path, typer.Option("--output", "-o", help="The HTML report to write (-: stdout).")
        ] = Path("report.html"),
        actuals: Annotated[
            list[Path] | None,
            typer.Option("--actuals", help="FOCUS exports (repeat) for an actuals section."),
        ] = None,
        db: Annotated[
            str | None,
            typer.Option("--db", help="Ledger with imported actuals and contracts (a path/URL)."),
        ] = None,
        replan: Annotated[
            Path | None,
            typer.Option(
                "--replan", help="The document of `hyperplan replan --json` that made PLAN_FILE."
            ),
        ] = None,
    ) -> None:
        """Write a self-contained HTML report of a plan (works offline, prints well).

        With --actuals (or --db: the actuals imported into the ledger) the report gains a
        section comparing the bills with the plan and the contracts; with --replan, a section
        of what the re-plan changed against the adopted plan, and why.

        Example: hyperplan report plan.json --sim sim.json -o report.html
        """

        def body() -> None:
            from hyperplan.cli.outputs import check, write_output
            from hyperplan.plan.api import Plan
            from hyperplan.report.html import write_report

            check((output, "--output"))
            plan = Plan.from_json(plan_file)
            sim_data = load_sim(sim) if sim is not None else None
            view = None
            if replan is not None:
                from hyperplan.artifacts.replan import load_replan_json

                view = replan_view_for(plan, load_replan_json(replan), file=str(replan))
            if actuals or db is not None:
                write_output(
                    output,
                    lambda path: _write_with_actuals(
                        plan, path, sim_data, actuals or [], db, replan=view
                    ),
                )
            else:
                write_output(
                    output, lambda path: write_report(plan, path, sim=sim_data, replan=view)
                )

        _guard(body)

    @app.command("demo")
    def demo_command(
        trials: Annotated[
            int,
            typer.Option(
                "--trials",
                "-n",
                help="Monte Carlo trials (0: no simulation).",
                callback=opt.count(minimum=0),
            ),
        ] = DEMO_TRIALS,
        output: Annotated[
            Path, typer.Option("--output", "-o", help="The HTML report to write.")
        ] = Path("report.html"),
        seed: Annotated[
            int, typer.Option("--seed", help="Simulation seed.", callback=opt.seed())
        ] = 0,
        no_browser: Annotated[
            bool, typer.Option("--no-browser", help="Do not open the report in a browser.")
        ] = False,
        strict: Annotated[
            bool,
            typer.Option(
                "--strict",
                help=(
                    "Exit with status 4 when the plan misses a stated target; the report is "
                    "still written."
                ),
            ),
        ] = False,
    ) -> None:
        """Plan the bundled frontier-2030 scenario, simulate it, write report.html.

        Missed targets are printed first, on stderr; with --strict they exit with status 4.

        Example: hyperplan demo --trials 100 -o report.html
        """

        def body() -> None:
            from hyperplan.errors import InputError, Problem
            from hyperplan.fileio import check_outputs

            check_outputs((output, "--output"))
            if trials < 0:
                raise InputError([Problem(f"must be ≥ 0; found {trials}", path="--trials")])
            made = run_demo(output, trials=trials, seed=seed, strict=strict)
            if not no_browser:
                with contextlib.suppress(Exception):
                    webbrowser.open(output.resolve().as_uri())
            if strict and len(made["misses"]):
                from hyperplan.errors import EXIT_MISSED

                raise typer.Exit(EXIT_MISSED)

        _guard(body)
