"""Fault tests of the server with real processes (``hyperplan serve``, ``worker``, the CLI):

- the server restarted mid-job: the job goes on in the worker, and a client waiting on it
  (``hyperplan jobs wait``) rides out the restart and sees it finish;
- PostgreSQL restarted under load (readers and a worker running): afterwards no job is lost or
  run twice and the server answers again within :data:`RECOVERY_SECONDS`. It restarts the
  machine's PostgreSQL, which disturbs every other user of it, so it runs only with
  ``HYPERPLAN_FAULT_RESTART_POSTGRES=1`` (CI's lane 1, where the suite runs alone).

(Two adoptions racing through two ``hyperplan adopt --server`` processes: tests/test_cli_server.py.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

import ledger_db
from cli_server_helpers import WS, Server, hyperplan, make_token, spawn
from jobs_helpers import SLOW, SMALL, start_worker, wait_for

db_url, postgres_url = ledger_db.db_url, ledger_db.postgres_url

RECOVERY_SECONDS = 30.0
"""The server answers again within this many seconds of PostgreSQL being back."""


def _job(server: Server, token: str, job_id: int) -> dict:
    r = httpx.get(
        f"{server.url}/api/v1/{WS}/jobs/{job_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return r.json() if r.status_code == 200 else {}


def test_server_restarted_mid_job_the_client_sees_it_finish(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "slow.yaml").write_text(SLOW)
    token = make_token(db_url, tmp_path, role="planner", user="pat")
    server = Server(db_url, tmp_path)
    worker = start_worker(db_url, "--lease", "6", "--poll", "0.2")
    waiter = None
    try:
        env = {"HYPERPLAN_TOKEN": token}
        s = ("--server", server.url)
        sub = hyperplan("jobs", "submit", "plan", "slow.yaml", *s, cwd=tmp_path, **env)
        assert sub.returncode == 0, sub.stderr
        job_id = int(sub.stdout)
        waiter = spawn("jobs", "wait", str(job_id), "-o", "plan.json", "--poll", "0.3", *s,
                       cwd=tmp_path, **env)  # fmt: skip
        wait_for(
            lambda: (_job(server, token, job_id).get("progress") or {}).get("phase") == "solving",
            timeout=240,
            why="the job to be solving",
        )
        server.restart(pause=6.0)  # nobody listens for longer than the client retries a GET
        _, err = waiter.communicate(timeout=600)
        assert waiter.returncode == 0, err
        assert "polling again" in err and "the server answers again" in err
        assert f"job {job_id}: succeeded" in err
        job = _job(server, token, job_id)
        # one attempt, never lost: the restart did not touch the worker
        assert (job["state"], job["attempt"], job["lost"]) == ("succeeded", 1, 0)
        assert (tmp_path / "plan.json").stat().st_size > 0
    finally:
        if waiter is not None and waiter.poll() is None:
            waiter.kill()
            waiter.communicate()
        worker.terminate()
        worker.communicate(timeout=60)
        assert server.stop() == 0, server.log
    assert token not in server.log


def _cluster() -> tuple[str, str] | None:
    """(version, name) of the local PostgreSQL cluster on port 5432 (pg_lsclusters)."""
    if shutil.which("pg_lsclusters") is None:
        return None
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] == "5432":
            return parts[0], parts[1]
    return None


@pytest.mark.skipif(
    os.environ.get("HYPERPLAN_FAULT_RESTART_POSTGRES") != "1",
    reason="restarts the machine's PostgreSQL (disturbs every other user of it): set "
    "HYPERPLAN_FAULT_RESTART_POSTGRES=1 where the suite runs alone (opt-in: it timed out once "
    "in CI, see .ci/run)",
)
def test_postgres_restarted_under_load_no_job_lost_or_run_twice(
    postgres_url: str, tmp_path: Path
) -> None:
    from sqlalchemy import func, select

    from hyperplan.ledger.db import open_ledger
    from hyperplan.ledger.models import PlanRun

    cluster = _cluster()
    if cluster is None or os.geteuid() != 0:
        pytest.skip("needs pg_ctlcluster (Debian's postgresql-common) and root")
    ledger_db._empty_postgres(postgres_url)
    token = make_token(postgres_url, tmp_path, role="planner", user="pat")
    server = Server(postgres_url, tmp_path)
    workers = [start_worker(postgres_url, "--lease", "20", "--poll", "0.2", "--name", f"w{i}")
               for i in range(2)]  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    stop = threading.Event()
    answers: dict[int, int] = {}

    def read() -> None:  # a reader: the ledger and job endpoints, in a loop
        with httpx.Client(base_url=f"{server.url}/api/v1/{WS}", headers=headers, timeout=10) as c:
            while not stop.is_set():
                for path in ("/commitments", "/jobs", "/audit", ""):
                    try:
                        code = c.get(path).status_code
                    except httpx.HTTPError:
                        code = 0
                    answers[code] = answers.get(code, 0) + 1

    readers = [threading.Thread(target=read) for _ in range(4)]
    try:
        ids = []
        for i in range(4):
            r = httpx.post(f"{server.url}/api/v1/{WS}/jobs", headers=headers, timeout=60,
                           json={"kind": "plan", "scenario_yaml": SMALL if i else SLOW})  # fmt: skip
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        for t in readers:
            t.start()
        wait_for(lambda: _job(server, token, ids[0]).get("state") == "running", 120, why="a claim")
        restart = subprocess.run(
            ["pg_ctlcluster", *cluster, "restart"], capture_output=True, text=True, timeout=120
        )
        assert restart.returncode == 0, restart.stderr
        back = time.monotonic()
        wait_for(
            lambda: httpx.get(f"{server.url}/api/v1/health", timeout=5).status_code == 200,
            RECOVERY_SECONDS,
            why="the server to answer after the restart",
        )
        recovered = time.monotonic() - back
        final = ("succeeded", "failed", "cancelled")
        wait_for(
            lambda: all(_job(server, token, i).get("state") in final for i in ids),
            600,
            step=1.0,
            why="every job to end",
        )
        stop.set()
        for t in readers:
            t.join(timeout=30)
        jobs = [_job(server, token, i) for i in ids]
        assert [j["state"] for j in jobs] == ["succeeded"] * 4, jobs
        ledger = open_ledger(postgres_url)
        try:
            with ledger.transaction() as s:  # one result per job: none ran to the end twice
                assert s.scalar(select(func.count()).select_from(PlanRun)) == 4
                runs = sorted(s.scalars(select(PlanRun.id)))
        finally:
            ledger.dispose()
        assert sorted(j["plan_run_id"] for j in jobs) == runs
        assert answers.get(200, 0) > 0 and 500 not in answers, answers
        assert recovered < RECOVERY_SECONDS
    finally:
        stop.set()
        for w in workers:
            w.terminate()
            w.communicate(timeout=60)
        server.stop()
