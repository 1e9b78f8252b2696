"""``replan`` over HTTP: a durable job of kind ``replan`` (``POST .../actuals/replan``) run by a
real ``hyperplan worker``, and ``hyperplan replan --server``; both backends (``ledger_db``).

The ledger is the one of ``tests/test_replan.py`` (plan, adopt, sign commitment 1, import
Jan..Jun 2027 at 75 % of the planned usage), in workspace ``team-a``. The remote replan must
print exactly what the local ``hyperplan replan --json`` prints on the same ledger (parsed
documents compared with ``==``, and the table output byte for byte); the figures themselves
are derived by hand in tests/test_replan.py (one shrink, −167,306.19 USD).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select

import ledger_db
from cli_runner import separate_runner
from cli_server_helpers import ROOT, Server, hyperplan, make_token
from hyperplan.cli import app
from hyperplan.ledger import api
from hyperplan.ledger.jobs import Job
from hyperplan.plan import plan as make_plan
from hyperplan.scenario.load import load_scenario_text
from jobs_helpers import start_worker
from replan_bills import first_half_at_75
from server_helpers import WS, bearer, client_for, make_tokens
from test_replan import DEMAND, SCENARIO

db_url, ledger, postgres_url = ledger_db.db_url, ledger_db.ledger, ledger_db.postgres_url
runner = separate_runner()
V1 = f"/api/v1/{WS}"
TEXT = SCENARIO % (DEMAND, "")


def hp(*args: str):
    result = runner.invoke(app, list(args))
    out = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in out and "internal error" not in out, out
    assert result.exit_code == 0, (args, out)
    return result


def _setup(tmp: Path, db: str) -> Path:
    """tests/test_replan.py's ledger, in workspace ``team-a``: the scenario file."""
    scen = tmp / "s.yaml"
    scen.write_text(TEXT)
    plan = tmp / "plan.json"
    ws = ("--workspace", WS)
    hp("plan", str(scen), "-o", str(plan))
    hp("adopt", str(plan), "--yes", "--db", db, *ws)
    hp("sign", "1", "--external-id", "ri-1", "--db", db, *ws)
    hp("simulate", str(plan), "--trials", "2", "--workers", "1", "--focus-out", str(tmp / "b"))
    bills = first_half_at_75(tmp / "b", tmp / "h1.csv")
    hp("actuals", "import", str(bills), "--db", db, *ws)
    return scen


def _stop(proc) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    return err


def test_remote_replan_through_a_worker_prints_what_the_local_replan_prints(
    db_url: str, tmp_path: Path
) -> None:
    scen = _setup(tmp_path, db_url)
    local_json = hyperplan(
        "replan", str(scen), "--as-of", "2027-07", "--db", db_url, "--workspace", WS, "--json",
        cwd=ROOT,
    )  # fmt: skip
    assert local_json.returncode == 0, local_json.stderr
    local_tables = hyperplan(
        "replan", str(scen), "--as-of", "2027-07", "--db", db_url, "--workspace", WS, cwd=ROOT
    )
    assert local_tables.returncode == 0, local_tables.stderr
    local = json.loads(local_json.stdout)
    (change,) = local["changes"]  # the hand-derived shrink of tests/test_replan.py
    assert change["change"] == "shrink"
    assert change["money_effect_usd"] == pytest.approx(-167_306.1888, abs=0.01)

    token = make_token(db_url, ROOT, role="planner")
    server = Server(db_url, ROOT)
    worker = start_worker(db_url, "--lease", "10", "--poll", "0.2")
    try:
        remote = {"HYPERPLAN_TOKEN": token}
        via_json = hyperplan(
            "replan", str(scen), "--as-of", "2027-07", "--server", server.url, "--json",
            cwd=ROOT, **remote,
        )  # fmt: skip
        assert via_json.returncode == 0, via_json.stderr
        assert json.loads(via_json.stdout) == local
        assert via_json.stdout == local_json.stdout
        assert "replan of" in via_json.stderr and "succeeded" in via_json.stderr
        via_tables = hyperplan(
            "replan", str(scen), "--as-of", "2027-07", "--server", server.url, cwd=ROOT, **remote
        )
        assert via_tables.returncode == 0, via_tables.stderr
        assert via_tables.stdout == local_tables.stdout
        assert "shrink" in via_tables.stdout and "-167,306.19" in via_tables.stdout
        # the jobs are ordinary jobs: listed, with the document as their result
        import httpx

        head = {"Authorization": f"Bearer {token}"}
        jobs = httpx.get(f"{server.url}{V1}/jobs", headers=head).json()
        assert [(j["id"], j["kind"], j["state"]) for j in jobs] == [
            (2, "replan", "succeeded"),
            (1, "replan", "succeeded"),
        ]
        assert jobs[1]["params"] == {"as_of": "2027-07", "integer": None, "outages": True}
        result = httpx.get(f"{server.url}{V1}/jobs/1/result", headers=head)
        assert result.status_code == 200
        held = result.json()  # the document, and the plan it made (it stays on the server)
        assert held.pop("plan_document")["meta"]["period_starts"][0] == "2027-07-01"
        assert held == local
        # a bad month is refused at submit time, located, and queues nothing
        bad = hyperplan(
            "replan", str(scen), "--as-of", "2026-12", "--server", server.url, cwd=ROOT, **remote
        )
        assert bad.returncode == 2, bad.stderr
        assert "as_of" in bad.stderr and "found 2026-12" in bad.stderr
        assert len(httpx.get(f"{server.url}{V1}/jobs", headers=head).json()) == 2
        # -o and --report: the plan the server made, as the local replan writes it
        mine, theirs = tmp_path / "local.json", tmp_path / "remote.json"
        hp("replan", str(scen), "--as-of", "2027-07", "--db", db_url, "--workspace", WS,
           "-o", str(mine))  # fmt: skip
        out = hyperplan(
            "replan", str(scen), "--as-of", "2027-07", "--server", server.url, "-o",
            str(theirs), "--report", str(tmp_path / "r.html"), cwd=ROOT, **remote,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert out.stdout == local_tables.stdout
        assert json.loads(theirs.read_text())["tables"] == json.loads(mine.read_text())["tables"]
        assert 'id="replan"' in (tmp_path / "r.html").read_text()
        # jobs submit replan: the same job through the jobs commands
        doc = tmp_path / "job.json"
        sub = hyperplan(
            "jobs", "submit", "replan", str(scen), "--as-of", "2027-07", "--server", server.url,
            "--wait", "-o", str(doc), cwd=ROOT, **remote,
        )  # fmt: skip
        assert sub.returncode == 0, sub.stderr
        got = json.loads(doc.read_text())
        assert got.pop("plan_document")["tables"] == json.loads(mine.read_text())["tables"]
        assert got == local
        no_month = hyperplan(
            "jobs", "submit", "replan", str(scen), "--server", server.url, cwd=ROOT, **remote
        )
        assert no_month.returncode == 2 and "--as-of" in no_month.stderr
        stray = hyperplan(
            "jobs", "submit", "plan", str(scen), "--as-of", "2027-07", "--server", server.url,
            cwd=ROOT, **remote,
        )  # fmt: skip
        assert stray.returncode == 2 and "--as-of: not an option of plan jobs" in stray.stderr
    finally:
        err = _stop(worker)
        server.stop()
    assert "4 succeeded" in err, err


# ----------------------------------------------------------------------------------------------
# submit-time checks (in-process app; no worker: nothing runs)
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def tokens(ledger) -> dict[str, str]:
    return make_tokens(ledger)


@pytest.fixture
def adopted(ledger) -> None:
    """The plan of the tiny scenario adopted in ``team-a``."""
    api.adopt(ledger, make_plan(load_scenario_text(TEXT)), workspace=WS, author="ann")


def _jobs(ledger) -> int:
    with ledger.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(Job)))


def _post(client, token: str, body: dict, key: str | None = None):
    headers = bearer(token) | ({"Idempotency-Key": key} if key else {})
    return client.post(f"{V1}/actuals/replan", json=body, headers=headers)


def _problems(r) -> list[tuple]:
    return [(p["file"], p["line"], p["path"]) for p in r.json()["problems"]]


def test_bad_replan_requests_are_located_4xx_and_queue_nothing(ledger, tokens, adopted) -> None:
    planner = tokens["planner"]
    with client_for(ledger) as client:
        r = _post(client, planner, {"scenario_yaml": TEXT, "as_of": "2027-13"})
        assert r.status_code == 422
        assert _problems(r) == [(None, None, "as_of")]
        assert "expected a month YYYY-MM" in r.json()["problems"][0]["message"]
        for month, words in (
            ("2029-01", "must start one of the scenario's periods"),  # past the horizon
            ("2027-01", "nothing is past yet"),  # the horizon's start
        ):
            r = _post(client, planner, {"scenario_yaml": TEXT, "as_of": month})
            assert (r.status_code, _problems(r)) == (422, [(None, None, "as_of")]), r.json()
            assert words in r.json()["message"]
        # a scenario with a fault: located in scenario.yaml (line 2: the horizon)
        broken = TEXT.replace("periods: 24", "periods: -1")
        r = _post(client, planner, {"scenario_yaml": broken, "as_of": "2027-07"})
        assert r.status_code == 422
        assert [(f, line) for f, line, _ in _problems(r)] == [("scenario.yaml", 2)]
        # the scenario: one of the two, not both nor neither
        for body in ({"as_of": "2027-07"}, {"as_of": "2027-07", "scenario_yaml": TEXT,
                                             "scenario_version_id": 1}):  # fmt: skip
            r = _post(client, planner, body)
            assert (r.status_code, _problems(r)) == (422, [(None, None, "scenario_yaml")])
        r = _post(client, planner, {"scenario_version_id": 999, "as_of": "2027-07"})
        assert r.status_code == 404 and "no scenario version with id 999" in r.json()["message"]
        r = _post(client, planner, {"scenario_yaml": TEXT, "as_of": "2027-07", "extra": 1})
        assert r.status_code == 422
        # a viewer may not queue one
        r = _post(client, tokens["viewer"], {"scenario_yaml": TEXT, "as_of": "2027-07"})
        assert r.status_code == 403
    assert _jobs(ledger) == 0


def test_no_adopted_plan_is_409_at_submit(ledger, tokens) -> None:
    with client_for(ledger) as client:
        r = _post(client, tokens["planner"], {"scenario_yaml": TEXT, "as_of": "2027-07"})
    assert r.status_code == 409 and "has no adopted plan" in r.json()["message"]
    assert _jobs(ledger) == 0


def test_replan_by_scenario_version_and_idempotency_key(ledger, tokens, adopted) -> None:
    planner = tokens["planner"]
    with client_for(ledger) as client:
        (version,) = client.get(f"{V1}/scenarios", headers=bearer(planner)).json()
        body = {"scenario_version_id": version["id"], "as_of": "2027-07", "integer": True}
        first = _post(client, planner, body, key="k-1")
        assert first.status_code == 201, first.json()
        job = first.json()
        assert (job["kind"], job["state"], job["author"]) == ("replan", "queued", "planner-user")
        assert job["params"] == {"as_of": "2027-07", "integer": True, "outages": True}
        again = _post(client, planner, body, key="k-1")
        assert (again.status_code, again.json()["id"]) == (200, job["id"])
        other = _post(client, planner, {**body, "as_of": "2027-08"}, key="k-1")
        assert other.status_code == 409 and "k-1" in other.json()["message"]
        seen = client.get(f"{V1}/jobs/{job['id']}", headers=bearer(tokens["viewer"]))
        assert seen.status_code == 200 and seen.json()["kind"] == "replan"
        result = client.get(f"{V1}/jobs/{job['id']}/result", headers=bearer(planner))
        assert result.status_code == 409  # queued: no result yet
    with ledger.transaction() as s:
        (stored,) = s.scalars(select(Job)).all()
        # the job's input is the stored version's text, as adopted
        assert stored.input_text == api.get_scenario(ledger, version["id"], WS)["yaml"]
