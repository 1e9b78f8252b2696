"""Live solver progress: the ``progress=`` events of plan/compare/walk-away, and the CLI's status
line on a terminal (a real process under a pty), silent in a pipe and with -q; Ctrl-C during a
long solve exits 130 promptly."""

from __future__ import annotations

import itertools
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hyperplan import load_scenario, plan
from hyperplan.errors import Interrupted
from hyperplan.plan.api import solve_scenario
from hyperplan.plan.build import MUSD
from hyperplan.plan.compare import compare
from hyperplan.plan.progress import ProgressEvent, Reporter
from hyperplan.plan.sensitivity import walk_away_values
from hyperplan.plan.solve import make_highs, run_interruptible
from hyperplan.scenario.load import load_scenario_text
from test_signals import big_scenario

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "examples" / "small.yaml"


def _non_decreasing(events: list[ProgressEvent]) -> bool:
    return all(b.elapsed_s >= a.elapsed_s for a, b in itertools.pairwise(events))


def test_plan_ends_with_one_done_event_carrying_the_plans_objective() -> None:
    events: list[ProgressEvent] = []
    result = plan(load_scenario(SMALL), progress=events.append)
    assert events and _non_decreasing(events)
    done = [e for e in events if e.done]
    assert len(done) == 1 and done[0] is events[-1]
    assert done[0].phase == "plan"
    assert done[0].objective == result.objective_usd
    assert done[0].simplex_iterations == result.stats["simplex_iterations"]


@pytest.mark.parametrize("processes", [False, True], ids=["in-process", "worker-processes"])
def test_walk_away_done_events_carry_each_objective_without_the_provider(processes: bool) -> None:
    events: list[ProgressEvent] = []
    solved = solve_scenario(load_scenario(SMALL))
    table = walk_away_values(
        solved,
        workers=2,
        min_columns_for_processes=0 if processes else 10**9,
        progress=events.append,
    )
    assert _non_decreasing(events)
    done = {e.phase: e.objective for e in events if e.done}
    n = len(table)
    expected = {
        f"walk-away {p} {k}/{n}": obj
        for k, (p, obj) in enumerate(
            zip(solved.inputs.providers, _by_provider(table, solved.inputs.providers), strict=True),
            1,
        )
    }
    assert done == expected  # exact: both are HiGHS's objective / MUSD


def _by_provider(table, providers: list[str]) -> list[float]:
    indexed = table.set_index("provider")["objective_without_usd"]
    return [float(indexed[p]) for p in providers]


def test_compare_reports_each_strategy_and_its_outage_evaluation() -> None:
    events: list[ProgressEvent] = []
    strategies = ["multi", "greedy"]
    _, plans = compare(load_scenario(SMALL), strategies, progress=events.append)
    assert _non_decreasing(events)
    done = {e.phase: e.objective for e in events if e.done}
    assert done == {
        "compare multi 1/2": plans["multi"].objective_usd,
        "compare greedy 2/2": plans["greedy"].objective_usd,
    }


@pytest.fixture(scope="module")
def lp_scenario():
    """An LP (no integer column) of ~1 s: simplex iterations and logged objectives to report."""
    return load_scenario_text(big_scenario(services=10, periods=12))


def test_live_events_of_an_lp_count_iterations_at_most_ten_a_second(lp_scenario) -> None:
    events: list[ProgressEvent] = []
    result = plan(lp_scenario, progress=events.append)
    live = [e for e in events if not e.done]
    assert len(live) >= 3, events
    assert _non_decreasing(events)
    gaps = [b.elapsed_s - a.elapsed_s for a, b in itertools.pairwise(live)]
    assert min(gaps) >= 0.1 - 1e-9  # the rate limit
    iterations = [e.simplex_iterations for e in live if e.simplex_iterations is not None]
    assert iterations == sorted(iterations) and iterations[-1] > 0
    assert all(e.phase == "plan" and e.mip_gap is None for e in live)
    assert events[-1].done and events[-1].objective == result.objective_usd
    assert events[-1].simplex_iterations == result.stats["simplex_iterations"] > iterations[-1]


def test_the_objective_of_an_lp_comes_from_highs_log_without_printing_it(lp_scenario) -> None:
    from hyperplan.plan.api import _scenario_catalog
    from hyperplan.plan.build import build
    from hyperplan.plan.inputs import resolve
    from hyperplan.plan.solve import SolverOptions

    pm = build(resolve(lp_scenario, _scenario_catalog(lp_scenario)), integer=False, outages=True)
    # the model as built (no family scaling): the log's last IPM iterate then agrees with the
    # final objective to IPX's printed digits; on the scaled model HiGHS stops at the same
    # tolerance in scaled units (seen: 3.9e-6 relative in user units), which is fine for a
    # status line but not for this check of the log reading
    h = make_highs(
        pm.lm, SolverOptions(method="ipm", highs_options={"run_crossover": "off"}), scale=False
    )
    events: list[ProgressEvent] = []
    run_interruptible(h, Reporter(events.append, min_interval=0.0))
    with_objective = [e for e in events if e.objective is not None]
    assert with_objective, events
    final = float(h.getInfo().objective_function_value) / MUSD
    # IPX logs the primal objective with 9 significant digits at each iteration
    assert abs(with_objective[-1].objective - final) <= 1e-6 * abs(final)
    assert [e.ipm_iterations for e in events if e.ipm_iterations is not None]
    # callbacks and the log are off again: later solves of this instance cost nothing
    assert all(not c.callbacks for c in h.callbacks)
    assert h.getOptionValue("output_flag")[1] is False


def test_a_callback_returning_true_cancels_the_solve_promptly(lp_scenario) -> None:
    seen: list[float] = []

    def stop(event: ProgressEvent) -> bool:
        seen.append(time.perf_counter())
        return event.simplex_iterations is not None and event.simplex_iterations > 0

    with pytest.raises(Interrupted, match="progress callback"):
        plan(lp_scenario, progress=stop)
    assert time.perf_counter() - seen[-1] < 1.0


# ----------------------------------------------------------------------------------------------
# The command line: a real process, stderr on a pty (a terminal) or a pipe
# ----------------------------------------------------------------------------------------------


def _spawn(
    args: list[str], *, tty: bool, cwd: Path, stdout: Any = subprocess.PIPE
) -> tuple[subprocess.Popen, int | None]:
    """``hyperplan ARGS`` with stderr on a new pty (``tty``) or a pipe; stdout a pipe (or
    ``stdout``: a file, for output larger than a pipe holds while the pty is read)."""
    paths = [str(ROOT / "src"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {
        **os.environ,
        "COLUMNS": "160",
        "TERM": "xterm-256color",
        "PYTHONPATH": os.pathsep.join(paths),  # this checkout, whatever the cwd
    }
    env.pop("NO_COLOR", None)
    cmd = [sys.executable, "-m", "hyperplan.cli", *args]
    if not tty:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        return proc, None
    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=stdout, stderr=follower)
    os.close(follower)
    return proc, leader


def _read_pty(fd: int, until: float, stop: bytes | None = None) -> bytes:
    """What the pty shows until ``until`` (perf_counter), the process ends, or ``stop`` shows."""
    out = b""
    while time.perf_counter() < until:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the process ended and closed its side
            break
        if not chunk:
            break
        out += chunk
        if stop is not None and stop in out:
            break
    return out


def test_status_line_on_a_terminal_nothing_in_a_pipe_or_with_q(tmp_path: Path) -> None:
    args = ["plan", str(SMALL), "-o", str(tmp_path / "plan.json")]
    proc, fd = _spawn(args, tty=True, cwd=tmp_path)
    assert fd is not None
    shown = _read_pty(fd, time.perf_counter() + 120)
    proc.communicate(timeout=120)
    os.close(fd)
    assert proc.returncode == 0
    assert b"preparing the model" in shown or b"plan \xc2\xb7 " in shown, shown[-2000:]

    proc, _ = _spawn(args, tty=False, cwd=tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert b"preparing the model" not in err and b"\xc2\xb7 " not in err and b"\x1b[" not in err

    proc, fd = _spawn([*args, "-q"], tty=True, cwd=tmp_path)
    assert fd is not None
    shown = _read_pty(fd, time.perf_counter() + 120)
    proc.communicate(timeout=120)
    os.close(fd)
    assert proc.returncode == 0
    assert b"preparing the model" not in shown and b"\xc2\xb7 " not in shown


def test_ctrl_c_during_a_long_solve_shown_live_exits_130_promptly(tmp_path: Path) -> None:
    (tmp_path / "big.yaml").write_text(big_scenario(), encoding="utf-8")  # a ~8-15 s LP
    proc, fd = _spawn(["plan", "big.yaml", "-o", "plan.json"], tty=True, cwd=tmp_path)
    assert fd is not None
    try:
        shown = _read_pty(fd, time.perf_counter() + 120, stop=b"simplex iterations")
        assert b"simplex iterations" in shown, shown[-2000:]
        shown += _read_pty(fd, time.perf_counter() + 1.0)  # well inside the solve
        assert proc.poll() is None, "the solve ended before it could be interrupted"
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        shown += _read_pty(fd, sent + 30)
        proc.communicate(timeout=30)
        seconds = time.perf_counter() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(fd)
    assert proc.returncode == 130
    assert seconds < 3.0, seconds
    assert b"interrupted: nothing was written" in shown
    assert not (tmp_path / "plan.json").exists()


def test_the_status_keeps_stdout_clean_for_an_artifact(tmp_path: Path) -> None:
    """``-o -`` with the status drawn (an LP: its objective read from HiGHS's log, which must
    not reach stdout): stdout is exactly the plan.json document."""
    import json

    (tmp_path / "lp.yaml").write_text(big_scenario(services=10, periods=12), encoding="utf-8")
    with (tmp_path / "stdout").open("wb") as stdout:
        proc, fd = _spawn(["plan", "lp.yaml", "-o", "-"], tty=True, cwd=tmp_path, stdout=stdout)
        assert fd is not None
        shown = _read_pty(fd, time.perf_counter() + 120)
        proc.wait(timeout=120)
    os.close(fd)
    assert proc.returncode == 0
    assert b"simplex iterations" in shown
    assert json.loads((tmp_path / "stdout").read_bytes())["status"] == "optimal"
