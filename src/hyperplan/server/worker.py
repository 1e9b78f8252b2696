"""``hyperplan worker``: run the queued jobs of the ledger database (:mod:`hyperplan.ledger.jobs`).

A worker runs ``concurrency`` slots; each claims a job, runs it in a child process
(``python -m hyperplan.server.worker --child``) and, while the child works, renews the job's
lease every third of ``lease_seconds``, records its progress, and stops the child when a
cancel is asked (state ``cancelled``), when the attempt's time limit passes (``failed``), or
when the lease cannot be renewed (the worker lost the job: it writes nothing). The child dies
with its worker (Linux ``PR_SET_PDEATHSIG``): after ``kill -9`` of a worker no orphan keeps
solving while another worker retries the job.

SIGTERM or Ctrl-C: stop claiming; running jobs get ``grace_seconds`` to finish, then they are
released (queued again, the attempt not counted as lost); a second signal releases them at once.
A database that goes away (a restart, ``pg_terminate_backend``) is retried: the worker keeps
its child running while the lease lasts and reconnects (the engine pre-pings its connections).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError

from hyperplan.errors import HyperplanError, InputError, Problem
from hyperplan.ledger import jobs
from hyperplan.ledger.db import Ledger, open_ledger
from hyperplan.ledger.errors import LedgerError

log = logging.getLogger("hyperplan.worker")

LEASE_SECONDS = 30.0
"""Default lease of a claimed job, seconds: a job whose worker died is retried after this."""
POLL_SECONDS = 1.0
"""Default wait between looks at an empty queue, seconds."""
GRACE_SECONDS = 10.0
"""Default time running jobs get to finish after SIGTERM before they are released, seconds."""
KILL_SECONDS = 5.0
"""Time a child gets to stop after SIGTERM before it is killed, seconds."""


# ----------------------------------------------------------------------------------------------
# Job options (validated when a job is queued; the OpenAPI schemas of the job routes)
# ----------------------------------------------------------------------------------------------


class PlanParams(BaseModel):
    """Options of a ``plan`` job (as ``hyperplan plan``)."""

    model_config = ConfigDict(extra="forbid")
    integer: bool | None = Field(
        None, description="Whole instances (MILP); default: the scenario's."
    )
    outages: bool = Field(True, description="Plan for the scenario's outage cases.")
    time_limit: float | None = Field(None, gt=0, description="Solver time limit, seconds.")
    mip_gap: float = Field(1e-4, ge=0, le=1, description="Relative MIP gap.")
    method: Literal["simplex", "ipm", "choose"] = "simplex"
    walk_away: bool = Field(False, description="Value of each provider (one re-solve each).")
    from_ledger: bool = Field(False, description="Held (signed) commitments count as existing.")


class CompareParams(BaseModel):
    """Options of a ``compare`` job (as ``hyperplan compare``)."""

    model_config = ConfigDict(extra="forbid")
    strategies: list[str] | None = Field(
        None,
        min_length=1,
        max_length=50,
        description="multi, single:<provider>, no-share, no-n1, greedy, ... (default as the CLI).",
    )
    time_limit: float | None = Field(None, gt=0, description="Per-strategy time limit, seconds.")


class SimulateParams(BaseModel):
    """Options of a ``simulate`` job (as ``hyperplan simulate``)."""

    model_config = ConfigDict(extra="forbid")
    trials: int = Field(1000, ge=1, le=1_000_000, description="Monte Carlo trials.")
    seed: int = Field(0, ge=0, description="Seed of the draws.")
    years: float = Field(1.0, gt=0, le=100, description="Simulated window, years.")
    step_hours: float = Field(1.0, gt=0, le=8760, description="Time step, hours.")
    workers: int = Field(1, ge=1, le=256, description="Processes of the simulation itself.")


class ReplanParams(BaseModel):
    """Options of a ``replan`` job (as ``hyperplan replan``); its input is the scenario YAML."""

    model_config = ConfigDict(extra="forbid")
    as_of: str = Field(
        min_length=7,
        max_length=10,
        description="First month not yet past, YYYY-MM (a period start of the scenario).",
    )
    integer: bool | None = Field(
        None, description="Whole instances (MILP); default: the scenario's."
    )
    outages: bool = Field(True, description="Plan for the scenario's outage cases.")


PARAMS: dict[str, type[BaseModel]] = {
    "plan": PlanParams,
    "compare": CompareParams,
    "simulate": SimulateParams,
    "replan": ReplanParams,
}
"""The options model of each job kind."""


def check_params(kind: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """A job's options validated and completed with defaults (JSON values).

    Raises :class:`InputError` (located at ``params.<field>``) on a bad option."""
    from pydantic import ValidationError

    model = PARAMS.get(kind)
    if model is None:
        raise InputError(
            [
                Problem(
                    f"unknown job kind {kind!r}; expected one of {', '.join(PARAMS)}", path="kind"
                )
            ]
        )
    try:
        checked = model.model_validate(params or {}).model_dump(mode="json")
    except ValidationError as exc:
        raise InputError(
            [
                Problem(
                    f"{e['msg']}; found {e.get('input')!r}",
                    path=".".join(["params", *(str(p) for p in e["loc"])]),
                )
                for e in exc.errors()
            ]
        ) from None
    if kind == "replan":
        from hyperplan.actuals.replan import parse_as_of

        checked["as_of"] = f"{parse_as_of(checked['as_of'], path='params.as_of'):%Y-%m}"
    return checked


def check_input(
    kind: str, input_text: str, params: dict[str, Any], *, base_dir: str | None = None
) -> None:
    """Validate a job's input before it is queued: the scenario (located problems, as the CLI
    prints them) or the plan.json of a simulation; for a replan also that ``as_of`` starts
    one of the scenario's periods after the first (``base_dir``: where a replan's scenario
    reads its files from; an empty folder for one sent over HTTP). Raises :class:`InputError`."""
    if kind == "replan":
        from hyperplan.actuals.replan import check_as_of, parse_as_of
        from hyperplan.scenario.load import load_scenario_text

        scenario = load_scenario_text(input_text, filename="scenario.yaml", base_dir=base_dir)
        check_as_of(scenario, parse_as_of(params["as_of"]), path="params.as_of")
        return
    if kind in ("plan", "compare"):
        from hyperplan.scenario.load import load_scenario_text

        scenario = load_scenario_text(input_text, filename="scenario.yaml")
        if kind == "compare":
            from hyperplan.plan.compare import strategy_scenario

            for i, name in enumerate(params.get("strategies") or []):
                try:
                    strategy_scenario(scenario, name)
                except InputError as exc:
                    raise InputError(
                        [Problem(p.message, path=f"params.strategies[{i}]") for p in exc.problems]
                    ) from None
        return
    _plan_from_text(input_text)


def _plan_from_text(text: str) -> Any:
    from hyperplan.plan.api import Plan

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            [Problem(f"not JSON: {exc.msg}", file="plan.json", line=exc.lineno, column=exc.colno)]
        ) from None
    return Plan.from_dict(data)


# ----------------------------------------------------------------------------------------------
# The child process: runs one job, reports progress and the result as JSON lines
# ----------------------------------------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit if it already has."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass
    if os.getppid() != parent:
        os._exit(1)


def execute(request: dict[str, Any], send: Any) -> str:
    """Run one job request (kind, params, input_text, db, workspace); return the result text:
    plan.json, the comparison table as JSON, sim.json, or the replan document (as
    ``hyperplan replan --json``). ``send(progress)`` reports phases."""
    kind, params, text = request["kind"], request["params"], request["input_text"]
    if kind == "replan":
        return _replan(request, send)
    if kind == "simulate":
        from hyperplan.sim.api import simulate

        send({"phase": "reading the plan"})
        plan = _plan_from_text(text)
        send({"phase": "simulating", "trials_done": 0, "trials": params["trials"]})

        def tick(done: int, total: int) -> None:
            send({"phase": "simulating", "trials_done": int(done), "trials": int(total)})

        sim = simulate(
            plan,
            trials=params["trials"],
            seed=params["seed"],
            years=params["years"],
            step_hours=params["step_hours"],
            workers=params["workers"],
            progress=tick,
        )
        return json.dumps(sim.to_dict())
    from hyperplan.scenario.load import load_scenario_text

    send({"phase": "loading the scenario"})
    scenario = load_scenario_text(text, filename="scenario.yaml")
    if kind == "compare":
        from hyperplan.artifacts import table_to_json
        from hyperplan.plan.compare import compare

        strategies = params.get("strategies") or ["multi", "no-share", "no-n1", "greedy"] + [
            f"single:{p}" for p in scenario.providers
        ]
        send({"phase": "solving", "strategies": len(strategies)})
        table, plans = compare(scenario, strategies, time_limit=params.get("time_limit"))
        misses = {name: len(p.misses()) for name, p in plans.items()}
        return json.dumps({"table": table_to_json(table), "misses": misses})
    from hyperplan.ledger.provenance import versions
    from hyperplan.plan import plan as make_plan

    meta: dict[str, Any] = {}
    if params.get("from_ledger"):
        from hyperplan.ledger.existing import scenario_from_ledger

        send({"phase": "reading the ledger"})
        ledger = open_ledger(request["db"], migrate=False)
        try:
            scenario, meta, notes = scenario_from_ledger(
                scenario, ledger, request["workspace"], source="scenario.yaml"
            )
        finally:
            ledger.dispose()
        meta = dict(meta or {})
        meta["notes"] = list(notes)
    send({"phase": "solving"})
    result = make_plan(
        scenario,
        integer=params.get("integer"),
        outages=params.get("outages", True),
        time_limit=params.get("time_limit"),
        mip_gap=params.get("mip_gap", 1e-4),
        method=params.get("method", "simplex"),
        walk_away=params.get("walk_away", False),
        workers=1,
    )
    meta.setdefault("scenario_yaml", text)
    meta.setdefault("versions", versions())
    meta.setdefault("options", {**params, "job": request["job_id"]})
    result.context = result.context.with_ledger(meta)
    send({"phase": "writing the plan"})
    return json.dumps(result.to_dict(), default=str)


def _replan(request: dict[str, Any], send: Any) -> str:
    """A replan job: :func:`hyperplan.actuals.replan.replan` of the scenario against the
    job's workspace of the ledger; its document as text, with the re-solved plan
    (``plan_document``: what ``replan --server -o`` writes)."""
    from hyperplan.actuals.replan import parse_as_of, replan
    from hyperplan.scenario.load import load_scenario_text

    params = request["params"]
    send({"phase": "loading the scenario"})
    with tempfile.TemporaryDirectory(prefix="hyperplan-scenario-") as empty:
        # sent over HTTP: it may not read the worker's files
        scenario = load_scenario_text(
            request["input_text"], filename="scenario.yaml", base_dir=empty
        )
    when = parse_as_of(params["as_of"], path="params.as_of")
    send({"phase": "solving"})
    ledger = open_ledger(request["db"], migrate=False)
    try:
        result = replan(
            scenario,
            when,
            ledger,
            request["workspace"],
            integer=params.get("integer"),
            outages=params.get("outages", True),
            scenario_yaml=request["input_text"],
        )
    finally:
        ledger.dispose()
    send({"phase": "writing the diff"})
    return json.dumps(result.to_json(include_plan=True), default=str)


def child_main(parent: int) -> int:
    """Entry of a job's child process: one JSON request on stdin, JSON lines on stdout."""
    _die_with_parent(parent)
    from hyperplan.errors import on_term

    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the protocol
    signal.signal(signal.SIGTERM, on_term)  # raises Interrupted: HiGHS is cancelled promptly
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides; a terminal's ^C is its

    def send_line(message: dict[str, Any]) -> None:
        proto.write(json.dumps(message) + "\n")
        proto.flush()

    try:
        request = json.loads(sys.stdin.read())
        text = execute(request, lambda p: send_line({"progress": p}))
        send_line({"result": text})
        return 0
    except InputError as exc:
        from hyperplan.scenario.load import format_problems

        send_line({"error": format_problems(exc.problems)})
        return 0
    except (KeyboardInterrupt, HyperplanError) as exc:
        from hyperplan.errors import Interrupted

        if isinstance(exc, Interrupted | KeyboardInterrupt):
            return 143
        send_line({"error": f"{type(exc).__name__}: {exc}"})
        return 0
    except Exception as exc:  # a bug: one line in the job, the traceback on the worker's stderr
        import traceback

        traceback.print_exc()
        send_line({"error": f"internal error ({type(exc).__name__}: {exc})"})
        return 0


# ----------------------------------------------------------------------------------------------
# The worker
# ----------------------------------------------------------------------------------------------


NICENESS = 10
"""Default CPU niceness of a job's child process: below an interactive server's priority."""


@dataclass
class WorkerOptions:
    """How a worker runs.

    Attributes:
        db: the ledger database (path or URL; ``None``: the default).
        name: this worker's name in the jobs it claims (default ``host:pid``).
        concurrency: jobs run at once (slots), each in its own child process.
        once: work until the queue is empty, then exit (no waiting for new jobs).
        lease_seconds: lease of a claimed job; renewed every third of it, seconds.
        poll_seconds: wait between looks at an empty queue, seconds.
        grace_seconds: after SIGTERM, time running jobs get to finish before release, seconds.
        niceness: CPU niceness added to each job's child process (0..19): solves run in the
            background, so a server on the same machine keeps answering readers promptly.
    """

    db: str | None = None
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    concurrency: int = 1
    once: bool = False
    lease_seconds: float = LEASE_SECONDS
    poll_seconds: float = POLL_SECONDS
    grace_seconds: float = GRACE_SECONDS
    niceness: int = NICENESS


@dataclass
class Tally:
    """What a worker did: jobs by how they ended (succeeded, failed, cancelled, released, lost)."""

    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str) -> None:
        with self.lock:
            self.counts[outcome] = self.counts.get(outcome, 0) + 1


_EOF = object()


class Worker:
    """A worker process's slots over one ledger (see the module docstring)."""

    def __init__(self, options: WorkerOptions, ledger: Ledger | None = None) -> None:
        self.options = options
        self.ledger = ledger if ledger is not None else open_ledger(options.db)
        self.stopping = threading.Event()
        """Set: claim no more jobs."""
        self.releasing = threading.Event()
        """Set: stop running jobs now and give them back to the queue."""
        self.tally = Tally()

    # ------------------------------------------------------------------------- lifecycle
    def stop(self, *, release: bool = False) -> None:
        """Claim no more jobs; with ``release`` also give running jobs back now."""
        self.stopping.set()
        if release:
            self.releasing.set()

    def run(self) -> Tally:
        """Run the slots until stopped (or, with ``once``, until the queue is empty)."""
        slots = [
            threading.Thread(target=self._slot, name=f"slot-{i}", daemon=True)
            for i in range(max(1, self.options.concurrency))
        ]
        for t in slots:
            t.start()
        deadline: float | None = None
        while any(t.is_alive() for t in slots):
            for t in slots:
                t.join(0.1)
            if self.stopping.is_set() and not self.releasing.is_set():
                if deadline is None:
                    deadline = time.monotonic() + self.options.grace_seconds
                elif time.monotonic() > deadline:
                    self.releasing.set()
        return self.tally

    # ------------------------------------------------------------------------- one slot
    def _slot(self) -> None:
        while not self.stopping.is_set():
            try:
                claim = jobs.claim(self.ledger, self.options.name, self.options.lease_seconds)
            except (LedgerError, SQLAlchemyError) as exc:
                log.warning("cannot claim a job (will retry): %s", exc)
                self.stopping.wait(self.options.poll_seconds)
                continue
            if claim is None:
                if self.options.once:
                    return
                self.stopping.wait(self.options.poll_seconds)
                continue
            log.info(
                "job %s (%s, workspace %s) claimed: attempt %s",
                claim.job_id,
                claim.kind,
                claim.workspace,
                claim.attempt,
            )
            try:
                outcome = self.run_claim(claim)
            except Exception:  # a bug here must not kill the slot: the lease will expire
                log.exception("job %s: worker failure", claim.job_id)
                outcome = "lost"
            log.info("job %s: %s", claim.job_id, outcome)
            self.tally.add(outcome)

    def _start_child(self, claim: jobs.Claim) -> subprocess.Popen[str]:
        request = {
            "job_id": claim.job_id,
            "kind": claim.kind,
            "params": claim.params,
            "input_text": claim.input_text,
            "workspace": claim.workspace,
            "db": self.ledger.url.render_as_string(hide_password=False),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "hyperplan.server.worker", "--child", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            process_group=0,
        )
        if self.options.niceness > 0:
            with contextlib.suppress(OSError):  # the child may already be gone: its status tells
                os.setpriority(os.PRIO_PROCESS, proc.pid, self.options.niceness)
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps(request))
            proc.stdin.close()
        except BrokenPipeError:  # the child died at once: its exit status tells
            pass
        return proc

    def run_claim(self, claim: jobs.Claim) -> str:
        """Run one claimed job to its end; return how it ended."""
        proc = self._start_child(claim)
        lines: queue.Queue[Any] = queue.Queue()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put(_EOF)

        reader = threading.Thread(target=read, name=f"job-{claim.job_id}-reader", daemon=True)
        reader.start()
        lease = claim.lease_seconds
        started = last_renewal = time.monotonic()
        next_beat = started  # at once: the job's history names the child's pid
        progress: dict[str, Any] = {"phase": "starting"}
        beat_progress: dict[str, Any] | None = None
        answer: dict[str, Any] | None = None
        reason: str | None = None
        signalled_at: float | None = None
        while True:
            try:
                item = lines.get(timeout=max(0.0, min(next_beat - time.monotonic(), 0.2)))
            except queue.Empty:
                item = None
            if item is _EOF:
                break
            if item is not None:
                try:
                    message = json.loads(item)
                except json.JSONDecodeError:
                    message = {}
                if "progress" in message:
                    progress = message["progress"]
                elif "result" in message or "error" in message:
                    answer = message
            now = time.monotonic()
            if reason is None and answer is None:
                if now - started > claim.time_limit_seconds:
                    reason = "time limit"
                elif self.releasing.is_set():
                    reason = "release"
                if reason is not None:
                    signalled_at = _signal(proc, signal.SIGTERM)
            if now >= next_beat and reason != "lost":
                try:
                    t_beat = time.monotonic()
                    cancel = jobs.heartbeat(
                        self.ledger,
                        claim,
                        progress if progress != beat_progress else None,
                        pid=proc.pid,
                    )
                    beat_progress, last_renewal = progress, now
                    if time.monotonic() - t_beat > lease / 6:
                        log.warning(
                            "job %s: a heartbeat took %.1f s (lease %g s): the database is slow",
                            claim.job_id,
                            time.monotonic() - t_beat,
                            lease,
                        )
                    next_beat = now + lease / 3
                    if cancel and reason is None and answer is None:
                        reason = "cancel"
                        signalled_at = _signal(proc, signal.SIGTERM)
                except jobs.LeaseLost:
                    reason, signalled_at = "lost", _signal(proc, signal.SIGKILL)
                except (LedgerError, SQLAlchemyError) as exc:
                    log.warning("job %s: heartbeat failed (will retry): %s", claim.job_id, exc)
                    next_beat = now + min(1.0, lease / 6)
                    if now - last_renewal > 0.8 * lease and reason is None:
                        # the lease is about to pass: another worker may take the job
                        reason, signalled_at = "lost", _signal(proc, signal.SIGKILL)
            if signalled_at is not None and now - signalled_at > KILL_SECONDS:
                signalled_at = _signal(proc, signal.SIGKILL)
        code = proc.wait()
        reader.join(5.0)
        if proc.stdout is not None:
            proc.stdout.close()
        seconds = time.monotonic() - started
        return self._finish(claim, answer, reason, code, seconds, progress)

    def _finish(
        self,
        claim: jobs.Claim,
        answer: dict[str, Any] | None,
        reason: str | None,
        code: int,
        seconds: float,
        progress: dict[str, Any],
    ) -> str:
        """Record how the attempt ended (retried while the database is away and the lease
        lasts; after that the job is the next claimer's)."""
        if reason == "lost":
            log.warning("job %s: lease lost; the result (if any) is dropped", claim.job_id)
            return "lost"

        def write() -> str:
            if answer is not None and "result" in answer:
                if claim.kind == "plan":
                    try:
                        plan = _plan_from_text(answer["result"])
                    except InputError as exc:
                        jobs.fail(self.ledger, claim, f"the plan made is not valid: {exc}")
                        return "failed"
                    jobs.complete(self.ledger, claim, plan=plan)
                else:
                    jobs.complete(self.ledger, claim, answer["result"])
                return "succeeded"
            if reason == "cancel":
                jobs.fail(
                    self.ledger,
                    claim,
                    f"cancelled while running (after {seconds:.1f} s, {progress.get('phase')})",
                    state="cancelled",
                )
                return "cancelled"
            if reason == "time limit":
                jobs.fail(
                    self.ledger,
                    claim,
                    f"time limit of {claim.time_limit_seconds:g} s exceeded "
                    f"({progress.get('phase')}); the job was stopped",
                )
                return "failed"
            if reason == "release":
                jobs.release(self.ledger, claim, f"worker {claim.worker} shut down")
                return "released"
            if answer is not None and "error" in answer:
                jobs.fail(self.ledger, claim, str(answer["error"]))
                return "failed"
            how = f"signal {-code}" if code < 0 else f"status {code}"
            jobs.fail(
                self.ledger,
                claim,
                f"the job's process ended with {how} on attempt {claim.attempt}",
                retry=True,
            )
            return "retried"

        deadline = time.monotonic() + 0.8 * claim.lease_seconds
        while True:
            try:
                return write()
            except jobs.LeaseLost:
                log.warning("job %s: lease lost before its end was recorded", claim.job_id)
                return "lost"
            except (LedgerError, SQLAlchemyError) as exc:
                if time.monotonic() > deadline:
                    log.error("job %s: cannot record its end: %s", claim.job_id, exc)
                    return "lost"
                log.warning("job %s: recording its end failed (will retry): %s", claim.job_id, exc)
                time.sleep(0.5)


def _signal(proc: subprocess.Popen[str], sig: int) -> float:
    """Send ``sig`` to the child's process group; return when (monotonic seconds)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
    return time.monotonic()


def run_worker(options: WorkerOptions) -> Tally:
    """Run a worker in this process until SIGTERM/SIGINT (or the queue is empty with
    ``once``): the first signal drains (``grace_seconds``), a second releases at once."""
    worker = Worker(options)
    signals = 0

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal signals
        signals += 1
        log.warning("signal %d: %s", signum, "stopping" if signals == 1 else "releasing jobs")
        worker.stop(release=signals > 1)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return worker.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        worker.ledger.dispose()


if __name__ == "__main__":  # the child process of a job
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(child_main(int(sys.argv[2])))
    sys.exit(
        "usage: python -m hyperplan.server.worker --child PARENT_PID (run by hyperplan worker)"
    )
