"""The job queue (hyperplan.ledger.jobs) and its HTTP routes, on SQLite and PostgreSQL.

Fault tests with real worker processes are in tests/test_jobs_faults.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import warnings
from dataclasses import dataclass

import pytest
from fastapi import FastAPI, Header, HTTPException

import ledger_db
from hyperplan.ledger import jobs
from hyperplan.ledger.db import open_ledger
from hyperplan.plan.api import Plan
from hyperplan.server.routes_jobs import jobs_router
from hyperplan.server.worker import Worker, WorkerOptions, check_params
from jobs_helpers import SMALL, env

with warnings.catch_warnings():  # starlette asks for httpx2 (not installed); httpx works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

db_url, ledger, postgres_url = ledger_db.db_url, ledger_db.ledger, ledger_db.postgres_url


def _plan_job(led, key=None, text=SMALL, **kw):
    return jobs.enqueue(
        led, "team", "plan", text, params=check_params("plan", {}), author="ann",
        idempotency_key=key, **kw,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# the library
# ----------------------------------------------------------------------------------------------


def test_idempotency_key_gives_the_same_job_and_refuses_another_request(ledger) -> None:
    first, created = _plan_job(ledger, "k-1")
    again, created_again = _plan_job(ledger, "k-1")
    assert (created, created_again) == (True, False)
    assert again["id"] == first["id"] and again["state"] == "queued"
    with pytest.raises(jobs.JobConflict, match="k-1"):
        _plan_job(ledger, "k-1", text=SMALL + "\n# changed\n")
    other, _ = _plan_job(ledger, "k-2")
    unkeyed = [_plan_job(ledger)[0]["id"] for _ in range(2)]
    assert [first["id"], other["id"], *unkeyed] == [1, 2, 3, 4]
    # the key is per workspace
    elsewhere, created = jobs.enqueue(
        ledger, "other", "plan", SMALL, author="bo", idempotency_key="k-1"
    )
    assert created and elsewhere["id"] == 5
    assert [j["id"] for j in jobs.list_jobs(ledger, "team")] == [4, 3, 2, 1]


def test_claims_take_the_oldest_queued_job_once(ledger) -> None:
    for _ in range(3):
        _plan_job(ledger)
    got = [jobs.claim(ledger, f"w{i}", 30.0) for i in range(4)]
    assert [c.job_id if c else None for c in got] == [1, 2, 3, None]
    assert [c.attempt for c in got if c] == [1, 1, 1]
    record = jobs.get(ledger, 2, "team")
    assert record["state"] == "running" and record["worker"] == "w1"
    assert [h["outcome"] for h in record["history"]] == [None]


def test_expired_lease_requeues_then_fails_and_fences_the_old_worker(ledger) -> None:
    _plan_job(ledger, max_attempts=2)
    first = jobs.claim(ledger, "w1", 0.3)
    assert first is not None and jobs.claim(ledger, "w2", 0.3) is None  # the lease holds
    time.sleep(0.5)
    second = jobs.claim(ledger, "w2", 0.3)  # reaps the expired lease, then claims again
    assert second is not None and (second.job_id, second.attempt) == (1, 2)
    record = jobs.get(ledger, 1, "team")
    assert (record["lost"], record["worker"]) == (1, "w2")
    assert [h["outcome"] for h in record["history"]] == ["lease expired", None]
    # the first worker may write nothing any more
    with pytest.raises(jobs.LeaseLost):
        jobs.heartbeat(ledger, first)
    with pytest.raises(jobs.LeaseLost):
        jobs.complete(ledger, first, "{}")
    time.sleep(0.5)
    assert jobs.claim(ledger, "w3", 0.3) is None  # reaped: 2 of 2 attempts lost
    record = jobs.get(ledger, 1, "team")
    assert record["state"] == "failed" and record["lost"] == 2
    assert "2 of 2 attempts lost, none left" in record["error"]
    assert "worker w2 stopped renewing its lease on attempt 2" in record["error"]


def test_heartbeat_renews_the_lease_and_reports_progress_and_cancel(ledger) -> None:
    _plan_job(ledger)
    c = jobs.claim(ledger, "w1", 0.6)
    for _ in range(4):  # 1.2 s in all, twice the lease: renewed, never reaped
        time.sleep(0.3)
        assert jobs.heartbeat(ledger, c, {"phase": "solving"}, pid=4242) is False
        assert jobs.claim(ledger, "w2", 0.6) is None
    record = jobs.get(ledger, 1, "team")
    assert record["progress"] == {"phase": "solving"} and record["history"][0]["pid"] == 4242
    assert jobs.request_cancel(ledger, 1, "team")["state"] == "running"
    assert jobs.heartbeat(ledger, c) is True
    done = jobs.fail(ledger, c, "cancelled while running", state="cancelled")
    assert done["state"] == "cancelled" and done["history"][0]["outcome"] == "cancelled"
    with pytest.raises(jobs.JobError, match="already cancelled"):
        jobs.request_cancel(ledger, 1, "team")


def test_cancel_of_a_queued_job_is_at_once_and_release_costs_no_attempt(ledger) -> None:
    _plan_job(ledger)
    _plan_job(ledger)
    assert jobs.request_cancel(ledger, 1, "team")["state"] == "cancelled"
    c = jobs.claim(ledger, "w1", 30.0)
    assert c is not None and c.job_id == 2
    released = jobs.release(ledger, c, "worker w1 shut down")
    assert (released["state"], released["lost"], released["attempt"]) == ("queued", 0, 1)
    again = jobs.claim(ledger, "w2", 30.0)
    assert again is not None and (again.job_id, again.attempt) == (2, 2)
    with pytest.raises(jobs.JobNotFound):
        jobs.get(ledger, 2, "other")


def test_a_crashed_attempt_is_retried_while_attempts_remain(ledger) -> None:
    _plan_job(ledger, max_attempts=2)
    c = jobs.claim(ledger, "w1", 30.0)
    assert (
        jobs.fail(ledger, c, "the job's process ended with signal 9", retry=True)["state"]
        == "queued"
    )
    c = jobs.claim(ledger, "w1", 30.0)
    end = jobs.fail(ledger, c, "the job's process ended with signal 9", retry=True)
    assert end["state"] == "failed" and end["lost"] == 2
    assert end["error"] == "the job's process ended with signal 9; 2 of 2 attempts lost, none left"


CLAIMER = textwrap.dedent(
    """
    import json, sys, time
    from hyperplan.ledger.db import open_ledger
    from hyperplan.ledger import jobs
    led = open_ledger({url!r})
    while time.time() < {start!r}:
        time.sleep(0.001)
    got = []
    while True:
        c = jobs.claim(led, sys.argv[1], 60.0)
        if c is None:
            break
        got.append(c.job_id)
    print(json.dumps(got))
    """
)


def test_three_processes_racing_claim_every_job_exactly_once(ledger, db_url) -> None:
    n = 60
    for _ in range(n):
        jobs.enqueue(ledger, "team", "plan", "x", author="ann")
    script = CLAIMER.format(url=db_url, start=time.time() + 2.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, f"w{i}"], stdout=subprocess.PIPE, text=True, env=env()
        )
        for i in range(3)
    ]
    outs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    claimed = [job for out in outs for job in out]
    assert sorted(claimed) == list(range(1, n + 1))  # each once: no duplicate, none missed
    rows = jobs.list_jobs(ledger, "team", limit=n)
    assert {r["attempt"] for r in rows} == {1} and {r["state"] for r in rows} == {"running"}
    by_worker = {f"w{i}": set(out) for i, out in enumerate(outs)}
    assert all(r["id"] in by_worker[r["worker"]] for r in rows)


# ----------------------------------------------------------------------------------------------
# the routes (with a stand-in for the server's auth: "Bearer <user>:<workspace>:<role>")
# ----------------------------------------------------------------------------------------------

ROLES = ("viewer", "planner", "approver", "admin")


@dataclass
class Principal:
    user: str
    workspace: str
    role: str


def fake_require_role(min_role: str):
    def dependency(workspace: str, authorization: str = Header("")) -> Principal:
        try:
            user, ws, role = authorization.removeprefix("Bearer ").split(":")
        except ValueError:
            raise HTTPException(401, "no token") from None
        if ws != workspace or ROLES.index(role) < ROLES.index(min_role):
            raise HTTPException(403, "forbidden")
        return Principal(user, ws, role)

    return dependency


@pytest.fixture
def client(ledger):
    app = FastAPI()
    app.state.ledger = ledger
    app.include_router(jobs_router(fake_require_role))
    with TestClient(app) as c:
        yield c


PLANNER = {"Authorization": "Bearer ann:team:planner"}
VIEWER = {"Authorization": "Bearer vic:team:viewer"}


def test_routes_queue_follow_and_fetch_a_plan_job(client, ledger) -> None:
    body = {"kind": "plan", "scenario_yaml": SMALL, "params": {"outages": True}}
    r = client.post("/api/v1/team/jobs", json=body, headers={**PLANNER, "Idempotency-Key": "a1"})
    assert r.status_code == 201, r.text
    job = r.json()
    assert (job["id"], job["state"], job["author"]) == (1, "queued", "ann")
    assert job["params"]["mip_gap"] == 1e-4  # completed with the defaults
    replay = client.post(
        "/api/v1/team/jobs", json=body, headers={**PLANNER, "Idempotency-Key": "a1"}
    )
    assert replay.status_code == 200 and replay.json()["id"] == 1
    other = {**body, "params": {"outages": False}}
    clash = client.post(
        "/api/v1/team/jobs", json=other, headers={**PLANNER, "Idempotency-Key": "a1"}
    )
    assert clash.status_code == 409 and "a1" in clash.json()["detail"]
    assert client.post("/api/v1/team/jobs", json=body, headers=VIEWER).status_code == 403
    assert client.get("/api/v1/team/jobs/1/result", headers=VIEWER).status_code == 409
    assert client.get("/api/v1/team/jobs/9", headers=VIEWER).status_code == 404
    assert (
        client.get(
            "/api/v1/other/jobs/1", headers={"Authorization": "Bearer x:other:admin"}
        ).status_code
        == 404
    )

    tally = Worker(WorkerOptions(db=None, once=True, lease_seconds=10), ledger=ledger).run()
    assert tally.counts == {"succeeded": 1}
    got = client.get("/api/v1/team/jobs/1", headers=VIEWER).json()
    assert got["state"] == "succeeded" and got["plan_run_id"] == 1 and got["attempt"] == 1
    assert got["progress"] == {"phase": "done"}
    result = client.get("/api/v1/team/jobs/1/result", headers=VIEWER)
    assert result.status_code == 200
    plan = Plan.from_dict(result.json())
    assert plan.scenario_name == "small" and plan.status == "optimal"
    assert plan.meta["ledger"]["scenario_yaml"] == SMALL
    listed = client.get("/api/v1/team/jobs?state=succeeded", headers=VIEWER).json()
    assert [j["id"] for j in listed] == [1]
    assert client.post("/api/v1/team/jobs/1/cancel", headers=PLANNER).status_code == 409


def test_routes_refuse_bad_input_with_located_4xx(client) -> None:
    bad = SMALL.replace("periods: 8", "periods: -8")
    r = client.post(
        "/api/v1/team/jobs", json={"kind": "plan", "scenario_yaml": bad}, headers=PLANNER
    )
    assert r.status_code == 422
    problem = r.json()["detail"]["problems"][0]
    assert (problem["file"], problem["line"], problem["path"]) == (
        "scenario.yaml",
        9,
        "horizon.periods",
    )
    r = client.post(
        "/api/v1/team/jobs",
        json={"kind": "plan", "scenario_yaml": SMALL, "params": {"mip_gap": 2}},
        headers=PLANNER,
    )
    assert r.status_code == 422 and r.json()["detail"]["problems"][0]["path"] == "params.mip_gap"
    r = client.post(
        "/api/v1/team/jobs", json={"kind": "simulate", "plan": {"schema": "x"}}, headers=PLANNER
    )
    assert r.status_code == 422
    r = client.post(
        "/api/v1/team/jobs", json={"kind": "simulate", "plan_run_id": 7}, headers=PLANNER
    )
    assert r.status_code == 404
    r = client.post(
        "/api/v1/team/jobs",
        json={"kind": "compare", "scenario_yaml": SMALL, "params": {"strategies": ["single:nope"]}},
        headers=PLANNER,
    )
    assert (
        r.status_code == 422 and r.json()["detail"]["problems"][0]["path"] == "params.strategies[0]"
    )
    r = client.post(
        "/api/v1/team/jobs", json={"kind": "sleep", "scenario_yaml": SMALL}, headers=PLANNER
    )
    assert r.status_code == 422
    assert client.get("/api/v1/team/jobs", headers=VIEWER).json() == []


def test_cancel_route_cancels_a_queued_job(client) -> None:
    r = client.post(
        "/api/v1/team/jobs", json={"kind": "plan", "scenario_yaml": SMALL}, headers=PLANNER
    )
    assert r.status_code == 201
    assert client.post("/api/v1/team/jobs/1/cancel", headers=VIEWER).status_code == 403
    done = client.post("/api/v1/team/jobs/1/cancel", headers=PLANNER).json()
    assert (done["state"], done["cancel_requested"], done["error"]) == (
        "cancelled",
        True,
        "cancelled before it started",
    )


def test_open_ledger_reaches_the_jobs_revision(db_url) -> None:
    led = open_ledger(db_url)
    try:
        from hyperplan.ledger.db import current_revision, table_names

        assert current_revision(led) == "0005_console_sessions"  # the head, past 0003_jobs
        assert "jobs" in table_names(led)
    finally:
        led.dispose()
