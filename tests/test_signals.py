"""Interruptions: Ctrl-C (SIGINT) and SIGTERM sent to a real ``hyperplan`` process.

The process stops promptly, exits 130 (SIGINT) or 143 (SIGTERM, 128 + 15, as a shell reports a
process killed by it), leaves the previous output file as it was and no temporary file beside
it. HiGHS solves in C in a worker thread (``hyperplan-solve``); the main thread waits in 50 ms
steps, so a signal cancels the solve at once (measured below: milliseconds, against the rest of
the solve, 34 s on the scenario used here, before).

The tests find the phase a process is in from outside: the SIGTERM handler is installed
(``SigCgt`` in /proc/PID/status) once a command body runs; the solver thread shows up in
/proc/PID/task/*/comm while HiGHS runs; simulation worker processes in /proc/PID/task/*/children.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hyperplan.errors import Interrupted
from hyperplan.plan.solve import SOLVER_THREAD

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads process state from /proc (Linux)"
)

ROOT = Path(__file__).resolve().parents[1]
PREVIOUS = '{"previous": true}\n'


def big_scenario(services: int = 30, periods: int = 24) -> str:
    """Inference services and training runs over six providers, monthly: a solve of ~8 s."""
    lines = [
        "name: big",
        f"horizon: {{start: 2027-01-01, period: month, periods: {periods}}}",
        "providers: {aws: {}, azure: {}, gcp: {}, oci: {}, nebius: {}, lambda: {}}",
        "offers: {accelerators: [H100, H200, B200]}",
        "policies: {max_share: 0.4, outages: providers}",
        "workloads:",
    ]
    for i in range(services):
        lines.append(
            f"  - {{name: chat{i}, kind: inference, demand_tokens_per_s: {{start: "
            f"{100000 + 7919 * i}, growth_per_year: {0.5 + (i % 7) / 5}}}, perf_tokens_per_s:"
            " {H100: 3000, H200: 4200, B200: 9000}}"
        )
        if i % 3 == 0:
            lines.append(
                f"  - {{name: train{i}, kind: training, compute_gpu_hours: {1000000 + 50000 * i},"
                f" start: 2027-0{1 + i % 9}-01, deadline: 2029-01-01}}"
            )
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# Watching a process from outside
# ----------------------------------------------------------------------------------------------


def _status_mask(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1], 16)
    return 0


def handler_installed(pid: int) -> bool:
    """The CLI's SIGTERM handler is in place: a command body is running."""
    return bool(_status_mask(pid, "SigCgt") & (1 << (signal.SIGTERM - 1)))


def thread_names(pid: int) -> list[str]:
    names = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            names.append((task / "comm").read_text().strip())
        except OSError:
            continue
    return names


def solving(pid: int) -> bool:
    return SOLVER_THREAD in thread_names(pid)


def children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue
    return out


def descendants(pid: int) -> set[int]:
    """Children, grandchildren, ...: pool workers started by a fork server are grandchildren."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        try:
            kids = children(todo.pop()) - found
        except FileNotFoundError:
            continue
        found |= kids
        todo.extend(kids)
    return found


def wait_until(proc: subprocess.Popen, condition: Callable[[int], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _out, err = proc.communicate()
            pytest.fail(f"the process ended early ({proc.returncode}):\n{err[-2000:]}")
        try:
            if condition(proc.pid):
                return
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(0.01)
    proc.kill()
    pytest.fail("the process never reached the phase to interrupt")


def interrupt(proc: subprocess.Popen, sig: int) -> tuple[float, str]:
    """Send ``sig``; return the seconds until the process exited, and its stderr."""
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"no exit within 60 s of signal {sig}")
    return time.monotonic() - sent, err


def hyperplan(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("HYPERPLAN_MEMORY_LIMIT_BYTES", None)
    return subprocess.Popen(
        [sys.executable, "-m", "hyperplan.cli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


def prompt_limit(seconds: float = 3.0) -> float:
    """How long an interrupted solve may take to exit: ``seconds`` on an idle machine, stretched
    by how oversubscribed the CPUs are (load average per core), since the exit itself needs CPU.
    The uninterrupted solve takes ~8 s idle and stretches the same way, so a signal that HiGHS
    ignored still fails the bound."""
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    return seconds * max(1.0, load)


def assert_clean(folder: Path, output: str, expected: set[str]) -> None:
    assert (folder / output).read_text(encoding="utf-8") == PREVIOUS, "previous output changed"
    assert {p.name for p in folder.iterdir()} == expected, "a temporary file was left behind"


# ----------------------------------------------------------------------------------------------
# plan
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("signals")
    (folder / "big.yaml").write_text(big_scenario(), encoding="utf-8")
    return folder / "big.yaml"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_the_solve_stops_it_and_keeps_the_previous_plan(
    sig: int, big: Path, tmp_path: Path
) -> None:
    (tmp_path / "big.yaml").write_text(big.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "plan.json").write_text(PREVIOUS, encoding="utf-8")
    proc = hyperplan("plan", "big.yaml", "-o", "plan.json", cwd=tmp_path)
    wait_until(proc, solving, timeout=60)
    time.sleep(0.3)
    assert solving(proc.pid), "the solve ended before the signal (machine too fast?)"
    seconds, err = interrupt(proc, sig)
    assert proc.returncode == EXIT[sig], err
    assert "interrupted" in err and "nothing was written" in err and "Traceback" not in err
    limit = prompt_limit()
    assert seconds < limit, f"{seconds:.2f} s from the signal to the exit (limit {limit:.1f} s)"
    assert_clean(tmp_path, "plan.json", {"big.yaml", "plan.json"})


def test_ctrl_c_before_the_solve_exits_130(big: Path, tmp_path: Path) -> None:
    """While the scenario loads and the model is built (no solver thread yet)."""
    (tmp_path / "big.yaml").write_text(big.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "plan.json").write_text(PREVIOUS, encoding="utf-8")
    proc = hyperplan("plan", "big.yaml", "-o", "plan.json", cwd=tmp_path)
    wait_until(proc, handler_installed, timeout=60)
    time.sleep(0.1)
    early = not solving(proc.pid)
    seconds, err = interrupt(proc, signal.SIGINT)
    assert proc.returncode == 130, err
    assert early, "the solve had started: this test meant to interrupt before it"
    assert seconds < 3
    assert_clean(tmp_path, "plan.json", {"big.yaml", "plan.json"})


# ----------------------------------------------------------------------------------------------
# simulate
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hyperplan.plan import plan
    from hyperplan.scenario.load import load_scenario

    path = tmp_path_factory.mktemp("simulate") / "plan.json"
    plan(load_scenario(ROOT / "examples" / "small.yaml")).to_json(path)
    return path


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_simulation_stops_the_workers_and_keeps_sim_json(
    sig: int, plan_json: Path, tmp_path: Path
) -> None:
    (tmp_path / "plan.json").write_bytes(plan_json.read_bytes())
    (tmp_path / "sim.json").write_text(PREVIOUS, encoding="utf-8")
    proc = hyperplan(
        "simulate", "plan.json", "--trials", "4000", "--workers", "2", "-o", "sim.json",
        cwd=tmp_path,
    )  # fmt: skip
    wait_until(proc, lambda pid: len(descendants(pid)) >= 3, timeout=60)  # workers starting
    time.sleep(0.3)
    workers = descendants(proc.pid)
    seconds, err = interrupt(proc, sig)
    assert proc.returncode == EXIT[sig], err
    assert "interrupted" in err and "nothing was written" in err
    assert "Traceback" not in err and "Exception" not in err, err  # workers' too (same stderr)
    assert seconds < 10, f"{seconds:.2f} s"  # measured: ~1.3 s, most of it interpreter exit
    assert_clean(tmp_path, "sim.json", {"plan.json", "sim.json"})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.05)
    left = [w for w in workers if Path(f"/proc/{w}").exists()]
    assert not left, f"processes {left} (workers, fork server) outlived the command"


# ----------------------------------------------------------------------------------------------
# In process: latency of a signal during a HiGHS solve, and an interrupted write
# ----------------------------------------------------------------------------------------------


def _long_lp():
    from hyperplan.plan.build import build
    from hyperplan.plan.inputs import resolve
    from hyperplan.synthetic import synthetic_catalog, synthetic_scenario

    inputs = resolve(synthetic_scenario(workloads=300, periods=12), synthetic_catalog())
    return build(inputs).lm  # dual simplex: ~20 s on the 2-core development machine


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_reaches_python_within_milliseconds_of_a_long_solve(sig: int) -> None:
    from hyperplan.plan.solve import solve

    lm = _long_lp()
    sent: list[float] = []

    def fire() -> None:
        sent.append(time.monotonic())
        os.kill(os.getpid(), sig)

    def on_term(signum: int, frame: object) -> None:
        raise Interrupted("terminated")

    previous = signal.signal(signal.SIGTERM, on_term)
    # Python's own SIGINT handler for the test's duration: in both lanes of a CI run of
    # 2026-12-06 the SIGINT never became a KeyboardInterrupt and the solve ran to its end; the
    # cause was not found (a watched run of every earlier test file changed no SIGINT
    # disposition, and the test passes alone, in the foreground and in the background)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.0, fire)
    started = time.monotonic()
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt if sig == signal.SIGINT else Interrupted):
            solve(lm)
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    latency = time.monotonic() - sent[0]
    assert latency < 1.5, f"{latency:.3f} s from the signal to the exception"
    assert time.monotonic() - started < 5
    assert SOLVER_THREAD not in [t.name for t in threading.enumerate()], "HiGHS still running"


def test_an_interrupted_write_keeps_the_previous_plan_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hyperplan.plan import plan
    from hyperplan.scenario.load import load_scenario

    result = plan(load_scenario(ROOT / "examples" / "small.yaml"))
    target = tmp_path / "plan.json"
    target.write_text(PREVIOUS, encoding="utf-8")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("hyperplan.fileio.os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        result.to_json(target)
    assert_clean(tmp_path, "plan.json", {"plan.json"})


def test_a_ctrl_c_swallowed_before_the_body_still_ends_in_130() -> None:
    """A KeyboardInterrupt that a C callback swallowed while the command's modules imported
    ("Exception ignored in ...") left only the note of the SIGINT: the body must not run."""
    import io

    import typer
    from rich.console import Console

    from hyperplan.cli import runner

    ran = []
    err = Console(file=io.StringIO(), width=100)
    runner._SigintSeen.seen = True  # what on_int notes before it raises
    with pytest.raises(typer.Exit) as exit_info:
        runner.run_command(lambda: ran.append(1), err=err)
    assert exit_info.value.exit_code == 130
    assert ran == []
    assert err.file.getvalue() == "interrupted: nothing was written\n"  # type: ignore[attr-defined]
    assert runner._SigintSeen.seen is False  # the next command (in this process) starts clear
    runner.run_command(lambda: ran.append(1), err=err)
    assert ran == [1]
