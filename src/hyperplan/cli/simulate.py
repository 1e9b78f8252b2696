"""The ``hyperplan simulate`` command (registered on the main app by :func:`register`).

    hyperplan simulate FILE|plan.json --trials 1000 --seed 7 [--years 1] [--step 1h]
                       [--workers N] [--ray auto|ADDRESS] [-o sim.json|-] [--json]

A FILE ending in .yaml/.yml is planned first. Input errors print located messages and exit 2;
Ctrl-C exits 130 and leaves nothing half-written (sim.json is written atomically at the end).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

import hyperplan.cli.options as opt
from hyperplan.errors import InputError, Problem
from hyperplan.report.tables import print_table

if TYPE_CHECKING:
    from hyperplan.plan.api import Plan
    from hyperplan.sim.api import SimResult

T = TypeVar("T")

_STEP_UNITS = {
    "s": 1 / 3600,
    "sec": 1 / 3600,
    "m": 1 / 60,
    "min": 1 / 60,
    "h": 1.0,
    "hr": 1.0,
    "hour": 1.0,
    "hours": 1.0,
    "d": 24.0,
    "day": 24.0,
    "days": 24.0,
}


MAX_YEARS = 1000.0
"""Largest --years (a window is clipped to the plan's horizon anyway)."""


def parse_step(text: str) -> float:
    """``"1h"``, ``"30min"``, ``"15m"``, ``"1d"`` or a number of hours → hours."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)\s*", text or "")
    if not m or (m[2] and m[2].lower() not in _STEP_UNITS):
        raise InputError(
            [Problem(f"expected a duration like 1h, 30min or 1d; found {text!r}", path="--step")]
        )
    hours = float(m[1]) * _STEP_UNITS.get(m[2].lower(), 1.0)
    if not (hours > 0 and math.isfinite(hours)):
        raise InputError([Problem(f"the step must be positive; found {text!r}", path="--step")])
    if hours < 1 / 3600 * (1 - 1e-12):
        raise InputError([Problem(f"the step must be at least 1s; found {text!r}", path="--step")])
    return hours


def load_plan(file: Path, *, console: Console | None = None) -> Plan:
    """A plan from plan.json, or planned from a scenario YAML (a note on ``console`` then)."""
    from hyperplan.plan.api import Plan

    if not file.exists():
        raise InputError([Problem(f"no such file: {file}", file=str(file))])
    suffix = file.suffix.lower()
    if suffix in (".yaml", ".yml"):
        from hyperplan.plan import plan as make_plan
        from hyperplan.scenario.load import load_scenario

        scenario = load_scenario(file)
        if console is not None:
            console.print(f"planning {file} ...", markup=False, highlight=False)
        return make_plan(scenario)
    if suffix == ".json":  # validated, bounded and re-verified (hyperplan.artifacts)
        return Plan.from_json(file)
    raise InputError(
        [Problem("expected a scenario (.yaml, .yml) or a plan (.json)", file=str(file))]
    )


def _guard(action: Callable[[], T], err: Console | None = None) -> T:
    """Run a command body the way every command does (:func:`hyperplan.cli.runner.run_command`)."""
    from hyperplan.cli.runner import run_command

    return run_command(action, err)


def _fmt(value: float, unit: str) -> str:
    """A simulated figure: shares as percentages (2 decimals), the rest with a k/M/B suffix."""
    from hyperplan.report import fmt

    if unit == "share":
        return fmt.pct(value, 2)
    return fmt.compact(value)


def print_result(result: SimResult, console: Console, log: Console | None = None) -> None:
    """Header line and the distribution of every metric; warnings on ``log`` (default
    ``console``)."""
    from hyperplan.sim.metrics import SHORT_UNITS

    run = result.context
    console.print(
        f"[bold]{run.scenario}[/]: {run.trials} trials, seed {run.seed}, "
        f"{run.years or 0:.3g} year(s) at {run.step_hours} h steps, "
        f"{run.pools} pools; {run.backend} ({run.where}), {run.seconds or 0:.1f} s, "
        f"{fmt_rate(run.pool_steps_per_second if run.pool_steps_per_second is not None else float('nan'))} pool-steps/s"
    )
    table = Table(title="Simulated distributions", title_justify="left", title_style="bold")
    for name, justify in (
        ("metric", "left"),
        ("mean", "right"),
        ("P50", "right"),
        ("P95", "right"),
        ("P99", "right"),
        ("unit", "left"),
    ):
        # metric names are ids (served_fraction:<workload>): folded, never cut
        table.add_column(name, justify=justify, no_wrap=True, overflow="fold")  # type: ignore[arg-type]
    for _, row in result.summary().iterrows():
        name = str(row["metric"])
        if name.startswith("control_plane_hours:") and not row["mean"]:
            continue  # no control-plane-only outages modelled for this domain
        unit = SHORT_UNITS.get(name.split(":", 1)[0], "")
        table.add_row(
            name,
            _fmt(row["mean"], unit),
            _fmt(row["p50"], unit),
            _fmt(row["p95"], unit),
            _fmt(row["p99"], unit),
            unit,
        )
    print_table(table, console)
    for w in run.warnings:
        (log or console).print(f"warning: {w}", markup=False, highlight=False, soft_wrap=True)


def fmt_rate(v: float) -> str:
    from hyperplan.report import fmt

    return fmt.compact(v) if v is not None and math.isfinite(v) else "–"


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to ``app``."""

    @app.command("simulate")
    def simulate_command(
        file: Annotated[Path, typer.Argument(help="Scenario YAML (planned first) or plan.json.")],
        trials: Annotated[
            int, typer.Option("--trials", "-n", help="Monte Carlo trials.", callback=opt.count())
        ] = 1000,
        seed: Annotated[
            int, typer.Option("--seed", help="Seed (same seed, same draws).", callback=opt.seed())
        ] = 0,
        years: Annotated[
            float,
            typer.Option(
                "--years", help="Years simulated.", callback=opt.number(gt=0, le=MAX_YEARS)
            ),
        ] = 1.0,
        step: Annotated[str, typer.Option("--step", help="Step: 1h, 30min, 1d.")] = "1h",
        workers: Annotated[
            int | None,
            typer.Option(
                "--workers", "-w", help="Processes (default: all cores).", callback=opt.count()
            ),
        ] = None,
        ray: Annotated[
            str | None, typer.Option("--ray", help="Run on Ray: auto or a cluster ADDRESS.")
        ] = None,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Write sim.json here (-: stdout).")
        ] = None,
        focus_out: Annotated[
            Path | None,
            typer.Option("--focus-out", help="Write trial 0 as a FOCUS 1.0 export in this folder."),
        ] = None,
        as_json: Annotated[
            bool,
            typer.Option("--json", help="Print one JSON document on stdout (keys: docs/cli.md)."),
        ] = False,
    ) -> None:
        """Monte Carlo of a plan: outages, GPU failures, spot reclaims, late deliveries, demand.

        Example: hyperplan simulate examples/small.yaml --trials 1000 --seed 7 -o sim.json
        """

        def body() -> None:
            import hyperplan.cli.term as term
            from hyperplan.cli.outputs import check, is_stdout, write_output
            from hyperplan.sim.api import simulate

            check((output, "--output"), ("-" if as_json else None, "--json"))
            step_hours = parse_step(step)
            problems = []
            if trials < 1:
                problems.append(Problem(f"must be ≥ 1; found {trials}", path="--trials"))
            if not (years > 0 and math.isfinite(years)):
                problems.append(Problem(f"must be > 0; found {years}", path="--years"))
            if workers is not None and workers < 1:
                problems.append(Problem(f"must be ≥ 1; found {workers}", path="--workers"))
            if problems:
                raise InputError(problems)
            plan = load_plan(file, console=None if term.settings.quiet else term.err())
            with _progress(term.err(), trials, quiet=term.settings.quiet) as tick:
                result = simulate(
                    plan,
                    trials=trials,
                    seed=seed,
                    years=years,
                    step_hours=step_hours,
                    workers=workers,
                    ray=ray,
                    progress=tick,
                )
            written: list[str] = []
            if output is not None:  # outputs first, then what is printed
                write_output(output, result.to_json)
                written.append(str(output))
            if focus_out is not None:
                from hyperplan.actuals.focus_writer import write_focus

                folder = write_focus(plan, result, focus_out)
                term.wrote(folder)
                written.append(str(folder))
            if as_json:
                from hyperplan.cli.jsonout import simulate_doc

                for w in result.context.warnings:
                    term.warn(w)
                term.print_json(simulate_doc(result, written))
            elif not is_stdout(output):
                print_result(result, term.out(), log=term.err())

        _guard(body)


class _progress:
    """A rich progress bar on stderr for runs of more than a few hundred trials."""

    def __init__(self, console: Console, trials: int, *, quiet: bool = False) -> None:
        self.console, self.trials, self.quiet = console, trials, quiet
        self.bar: Any = None

    def __enter__(self) -> Callable[[int, int], None] | None:
        if self.trials < 200 or self.quiet:
            return None
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("simulating"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} trials"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task("sim", total=self.trials)

        def tick(done: int, total: int) -> None:
            self.bar.update(task, completed=done)

        return tick

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
