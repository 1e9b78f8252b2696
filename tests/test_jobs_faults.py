"""Fault tests of the job queue with real ``hyperplan worker`` processes, on SQLite and PostgreSQL:
kill -9 mid-solve, cancellation, time limit, SIGTERM release, racing workers, dropped database
connections, and a plan job end to end.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import time

import pytest
from sqlalchemy import create_engine, func, select, text

import ledger_db
from hyperplan.ledger import jobs
from hyperplan.ledger.models import PlanRun
from hyperplan.plan import plan as make_plan
from hyperplan.scenario.load import load_scenario_text
from hyperplan.server.worker import check_params
from jobs_helpers import SLOW, SMALL, alive, start_worker, wait_for

db_url, ledger, postgres_url = ledger_db.db_url, ledger_db.ledger, ledger_db.postgres_url


def _enqueue(led, text=SLOW, kind="plan", **kw):
    params = kw.pop("params", {})
    return jobs.enqueue(
        led, "team", kind, text, params=check_params(kind, params), author="ann", **kw
    )[0]["id"]


def _job(led, job_id=1):
    return jobs.get(led, job_id, "team")


def _solving_pid(led, job_id=1):
    """The pid of the process solving the job's current attempt, once it is solving."""
    job = _job(led, job_id)
    if job["state"] != "running" or (job["progress"] or {}).get("phase") != "solving":
        return None
    return job["history"][-1].get("pid")


def _stop(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def test_plan_job_end_to_end_through_worker_once(ledger, db_url) -> None:
    _enqueue(ledger, SMALL, idempotency_key="small-1")
    worker = start_worker(db_url, "--once", "--lease", "5")
    _, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err
    assert "1 succeeded" in err
    job = _job(ledger)
    assert (job["state"], job["attempt"], job["lost"], job["error"]) == ("succeeded", 1, 0, None)
    # the plan run holds the artifact; its objective is the one an in-process plan finds
    expected = make_plan(load_scenario_text(SMALL))
    with ledger.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PlanRun)) == 1
        run = s.get(PlanRun, job["plan_run_id"])
        stored = json.loads(run.plan_json)
        assert run.author == "ann" and run.status == "optimal"
    assert stored["objective_usd"] == pytest.approx(expected.objective_usd, rel=1e-9)
    assert stored["meta"]["ledger"]["scenario_yaml"] == SMALL
    assert stored["meta"]["ledger"]["options"]["job"] == 1


def test_kill_9_of_a_worker_mid_solve_the_job_is_retried_never_run_twice_at_once(
    ledger, db_url
) -> None:
    _enqueue(ledger)
    first = start_worker(db_url, "--lease", "2", "--name", "first")
    try:
        pid1 = wait_for(lambda: _solving_pid(ledger), 120, why="the first worker to solve")
        time.sleep(1.0)  # well inside HiGHS
        assert alive(pid1)
        first.kill()  # kill -9
        first.communicate(timeout=30)
        killed = time.monotonic()
        second = start_worker(db_url, "--lease", "2", "--name", "second", "--poll", "0.2")
        # the first worker's child dies with it (PR_SET_PDEATHSIG): no orphan keeps solving
        wait_for(lambda: not alive(pid1), 5, 0.02, why="the orphaned solver to die")
        assert time.monotonic() - killed < 5
        overlap = []

        def second_started():
            job = _job(ledger)
            pids = [h.get("pid") for h in job["history"][1:] if h.get("pid")]
            if pids and alive(pid1):
                overlap.append(pids)
            return job["state"] in jobs.FINAL and job

        job = wait_for(second_started, 240, 0.05, why="the retry to finish")
        code, err = _stop(second)
        assert code == 0, err
    finally:
        for p in (first,):
            if p.poll() is None:
                p.kill()
    assert overlap == []
    assert (job["state"], job["attempt"], job["lost"]) == ("succeeded", 2, 1)
    one, two = job["history"]
    assert (one["worker"], one["outcome"]) == ("first", "lease expired")
    assert (two["worker"], two["outcome"]) == ("second", "succeeded")
    # the two attempts' intervals do not overlap: the second started after the first's last
    # heartbeat plus its lease (the claim waits for the lease to pass)
    ended = dt.datetime.fromisoformat(one["ended"])
    assert dt.datetime.fromisoformat(two["started"]) >= ended + dt.timedelta(seconds=2)
    with ledger.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PlanRun)) == 1


def test_cancel_and_time_limit_stop_a_running_solve(ledger, db_url) -> None:
    _enqueue(ledger, time_limit_seconds=3.0)
    _enqueue(ledger)
    worker = start_worker(db_url, "--lease", "1.5", "--poll", "0.2")
    try:
        timed = wait_for(
            lambda: _job(ledger, 1)["state"] in jobs.FINAL and _job(ledger, 1), 120, why="job 1"
        )
        pid = wait_for(lambda: _solving_pid(ledger, 2), 120, why="job 2 to solve")
        asked = time.monotonic()
        jobs.request_cancel(ledger, 2, "team")
        cancelled = wait_for(
            lambda: _job(ledger, 2)["state"] in jobs.FINAL and _job(ledger, 2), 30, 0.05
        )
        took = time.monotonic() - asked
        assert not alive(pid)
        code, err = _stop(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert code == 0, err
    assert timed["state"] == "failed" and timed["error"].startswith("time limit of 3 s exceeded")
    ran = dt.datetime.fromisoformat(timed["finished_at"]) - dt.datetime.fromisoformat(
        timed["started_at"]
    )
    assert 3.0 <= ran.total_seconds() < 3.0 + 5.0 + 10.0  # limit + kill grace + slack
    assert cancelled["state"] == "cancelled" and cancelled["error"].startswith(
        "cancelled while running"
    )
    assert took < 1.5 / 3 + 5.0 + 10.0  # the next heartbeat, the child's stop, slack
    assert cancelled["plan_run_id"] is None and timed["plan_run_id"] is None


def test_sigterm_releases_the_running_job_without_counting_an_attempt(ledger, db_url) -> None:
    _enqueue(ledger)
    worker = start_worker(db_url, "--lease", "2", "--grace", "0")
    try:
        pid = wait_for(lambda: _solving_pid(ledger), 120, why="the job to solve")
        # the solve runs below the worker's (and a server's) priority: niceness 10 by default
        assert os.getpriority(os.PRIO_PROCESS, pid) == max(
            10, os.getpriority(os.PRIO_PROCESS, worker.pid)
        )
        code, err = _stop(worker, timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert code == 0, err
    assert "1 released" in err
    assert not alive(pid)
    job = _job(ledger)
    assert (job["state"], job["lost"], job["attempt"], job["worker"]) == ("queued", 0, 1, None)
    assert job["history"][0]["outcome"].startswith("released: worker")


def test_two_workers_racing_on_jobs_run_each_once(ledger, db_url) -> None:
    ids = [_enqueue(ledger, SMALL) for _ in range(6)]
    workers = [
        # a long lease: this test is about claims, not expiry (the machine may be overloaded)
        start_worker(db_url, "--once", "--lease", "60", "--name", f"w{i}", "--concurrency", "2")
        for i in range(2)
    ]
    errs = [w.communicate(timeout=600)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], errs
    rows = [_job(ledger, i) for i in ids]
    assert [r["state"] for r in rows] == ["succeeded"] * 6
    assert [(r["attempt"], len(r["history"])) for r in rows] == [(1, 1)] * 6, (
        [r["history"] for r in rows],
        errs,
    )
    with ledger.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PlanRun)) == 6
    ran = [re.search(r"stopped: (\d+) succeeded|stopped: no jobs", e) for e in errs]
    assert sum(int(m.group(1) or 0) for m in ran) == 6


def test_worker_survives_its_database_connections_being_killed(ledger, db_url) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    _enqueue(ledger)
    worker = start_worker(db_url, "--lease", "3", "--poll", "0.2")
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    gone: set[int] = set()  # backends already terminated (listed until they have exited)

    def live() -> list[int]:
        with admin.connect() as conn:
            pids = conn.execute(text(f"SELECT pid {others}")).scalars().all()
        return [p for p in pids if p not in gone]

    def kill_one() -> bool:
        """Terminate the live backends; True when one was terminated (one may have closed
        between the look and the kill: the caller then looks again)."""
        pids = live()
        if not pids:
            return False
        with admin.connect() as conn:
            sql = text("SELECT pg_terminate_backend(pid) FROM unnest(:pids) AS pid")
            done = conn.execute(sql, {"pids": pids}).scalars().all()
        gone.update(pids)
        return any(done)

    try:
        wait_for(lambda: _solving_pid(ledger), 120, why="the job to solve")
        for _ in range(4):  # fails unless the worker connects again after each kill
            ledger.dispose()  # this test's own connections: only the worker's are left
            # it reconnects at its next heartbeat or look at the queue (<= 1 s)
            wait_for(kill_one, 60, 0.05, why="the worker to connect again")
        job = wait_for(lambda: _job(ledger)["state"] in jobs.FINAL and _job(ledger), 240, 0.2)
        code, err = _stop(worker)
    finally:
        admin.dispose()
        if worker.poll() is None:
            worker.kill()
    assert code == 0, err
    assert (job["state"], job["attempt"], job["lost"]) == ("succeeded", 1, 0)
