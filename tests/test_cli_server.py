"""The CLI against a server (``--server URL``, ``--profile NAME``, ``$HYPERPLAN_SERVER``).

With a real ``hyperplan serve`` process (and a real ``hyperplan worker`` for the jobs) on
SQLite and PostgreSQL: the same ledger commands print the same output and end with the same
exit status locally and via the server; a job submitted, waited for and read back equals a
local plan of the same scenario. Without a server: the choice of server and token, and the
mapping of answers to exit statuses (httpx's MockTransport).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

import ledger_db
from cli_runner import separate_runner
from cli_server_helpers import WS, Server, hyperplan, make_token, spawn
from hyperplan.cli import app
from hyperplan.cli import remote as rm
from hyperplan.errors import HyperplanError, InputError
from hyperplan.ledger.errors import LedgerError, StaleLedger
from jobs_helpers import SMALL, start_worker
from server_helpers import small_plan

db_url, postgres_url = ledger_db.db_url, ledger_db.postgres_url

runner = separate_runner()

CLEAN = {"HYPERPLAN_SERVER": None, "HYPERPLAN_DATABASE_URL": None, "COLUMNS": "100"}


def hp(*args: str, **env: str | None):
    """``hyperplan ARGS`` in this process (``env`` set while it runs)."""
    result = runner.invoke(app, list(args), env={**CLEAN, **env})
    text = result.stdout + result.stderr
    assert "Traceback" not in text and "internal error" not in text, text
    return result


def _same(local, remote, where: tuple[str, str] | None = None) -> None:
    """Same exit status, stdout and stderr (the ledger's location replaced in ``where``)."""
    out = remote.stdout if where is None else remote.stdout.replace(where[1], where[0])
    assert (remote.exit_code, out, remote.stderr) == (
        local.exit_code,
        local.stdout,
        local.stderr,
    )


def test_ledger_commands_print_the_same_locally_and_via_the_server(
    db_url: str, tmp_path: Path
) -> None:
    body, _ = small_plan()
    plan = tmp_path / "plan.json"
    plan.write_bytes(body)
    local_db = f"sqlite:///{tmp_path / 'local.db'}"
    token = make_token(db_url, tmp_path)
    server = Server(db_url, tmp_path)
    try:
        remote = {"HYPERPLAN_SERVER": server.url, "HYPERPLAN_TOKEN": token}
        W = (str(tmp_path / "local.db"), server.url)  # where the ledger is: a file, the server
        loc = ("--db", local_db, "--workspace", WS, "--author", "ann")

        def both(*args: str, author: bool = False):
            local = hp(*args, *(loc if author else loc[:4]))
            return local, hp(*args, **remote)

        # the preview: same tables, only the ledger named differs (a file / the server)
        local, via = both("adopt", str(plan))
        assert local.exit_code == 0 and "6 new, 0 changed, 0 cancelled" in local.stdout
        assert local.stdout.startswith(f"ledger {tmp_path / 'local.db'}, workspace {WS}, version 0")
        _same(local, via, W)
        local, via = both("adopt", str(plan), "--json")
        lj, vj = json.loads(local.stdout), json.loads(via.stdout)
        assert (lj.pop("ledger"), vj.pop("ledger")) == (str(tmp_path / "local.db"), server.url)
        assert lj == vj and vj["summary"]["new"] == 6 and vj["applied"] is False
        # apply, sign, approve: the same lines
        local, via = both("adopt", str(plan), "--yes", "--expect-version", "0", author=True)
        _same(local, via, W)
        assert via.stdout.endswith("adopted (adoption 1): ledger version 0 → 1\n")
        _same(*both("sign", "1", "--external-id", "ri-0001", author=True))
        local, via = both("ledger", "approve", "2", "--json", author=True)
        _same(local, via)
        assert json.loads(via.stdout)["state"] == "approved"
        # listings: CSV byte for byte, the table, JSON, contracts
        local, via = both("ledger", "list", "--format", "csv")
        _same(local, via)
        rows = via.stdout.splitlines()
        assert len(rows) == 7 and rows[1].startswith("1,signed,") and ",ri-0001" in rows[1]
        assert rows[2].startswith("2,approved,")
        _same(*both("ledger", "--state", "proposed"))
        _same(*both("ledger", "list", "--provider", "nebius", "--json"))
        _same(*both("ledger", "contracts", "--json"))
        audit_local, audit_via = both("ledger", "audit", "--json")

        def changes(result) -> list[dict]:
            """The audit rows of the ledger's changes (the server's also hold its token's
            creation), without ids and times (the two databases differ there)."""
            rows = json.loads(result.stdout)
            return [
                {k: v for k, v in r.items() if k not in ("id", "at")}
                for r in rows
                if r["entity"] != "token"
            ]

        assert changes(audit_via) == changes(audit_local)
        assert [r["action"] for r in changes(audit_via)][-2:] == ["sign", "approved"]
        # a held commitment now: the warning on stderr is the same too
        _same(*both("adopt", str(plan)), W)
        # refusals: same message, same exit status (2 bad input, 5 stale)
        local, via = both("sign", "99", "--external-id", "x", author=True)
        _same(local, via)
        assert via.exit_code == 2 and "no commitment with id 99" in via.stderr
        local, via = both("sign", "1", "--external-id", "x", author=True)
        _same(local, via)
        assert via.exit_code == 2 and "cannot become signed" in via.stderr
        local, via = both("adopt", str(plan), "--yes", "--expect-version", "0", author=True)
        _same(local, via)
        assert via.exit_code == 5 and "is at version 3, not 0" in via.stderr
        local, via = both("ledger", "list", "--state", "bogus")
        _same(local, via)
        assert via.exit_code == 2

        # the server's own refusals: 401 (an unknown token), 403 (a role too low)
        bad = hp("ledger", "list", "--server", server.url, HYPERPLAN_TOKEN="hp_" + "A" * 43)
        assert bad.exit_code == 2
        assert bad.stderr == "error: the API token is unknown or revoked\n"
        viewer = make_token(db_url, tmp_path, role="viewer", user="vic")
        low = hp("sign", "3", "--external-id", "x", "--server", server.url, HYPERPLAN_TOKEN=viewer)
        assert low.exit_code == 2 and "is viewer in workspace 'team-a'" in low.stderr
        # a profile: the server and the variable holding the token; never the token in output
        config = tmp_path / "config"
        (config / "hyperplan").mkdir(parents=True)
        (config / "hyperplan" / "profiles.toml").write_text(
            f'[team]\nserver = "{server.url}"\ntoken_env = "TEAM_TOKEN"\nworkspace = "{WS}"\n'
        )
        prof = hp(
            "ledger", "--format", "csv", "--profile", "team",
            XDG_CONFIG_HOME=str(config), TEAM_TOKEN=token, HYPERPLAN_TOKEN=None,
        )  # fmt: skip
        assert prof.exit_code == 0 and prof.stdout == via_csv(server, token)
        for result in (prof, local, via, low, bad):
            assert token not in result.stdout + result.stderr
        unset = hp("ledger", "--profile", "team", XDG_CONFIG_HOME=str(config), TEAM_TOKEN=None)
        assert unset.exit_code == 2 and "no API token: set $TEAM_TOKEN" in unset.stderr
    finally:
        assert server.stop() == 0, server.log
    assert token not in server.log


def via_csv(server: Server, token: str) -> str:
    """The export endpoint's CSV: what ``ledger --format csv`` prints via the server."""
    r = httpx.get(
        f"{server.url}/api/v1/{WS}/commitments/export",
        params={"format": "csv"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 200
    return r.text


def test_a_job_submitted_waited_and_read_back_equals_a_local_plan(
    db_url: str, tmp_path: Path
) -> None:
    from hyperplan.plan import plan as make_plan
    from hyperplan.plan.api import Plan
    from hyperplan.scenario.load import load_scenario_text

    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    token = make_token(db_url, tmp_path, role="planner", user="pat")
    server = Server(db_url, tmp_path)
    worker = None
    try:
        env = {"HYPERPLAN_TOKEN": token}
        s = ("--server", server.url)
        submitted = hyperplan("jobs", "submit", "plan", str(scenario), *s, cwd=tmp_path, **env)
        assert submitted.returncode == 0, submitted.stderr
        assert submitted.stdout == "1\n"  # the id alone: ID=$(hyperplan jobs submit ...)
        assert "follow it with: hyperplan jobs wait 1" in submitted.stderr
        queued = json.loads(
            hyperplan("jobs", "show", "1", "--json", *s, cwd=tmp_path, **env).stdout
        )
        assert (queued["schema"], queued["state"], queued["author"]) == (
            "hyperplan.job/1",
            "queued",
            "pat",
        )
        worker = start_worker(db_url, "--lease", "10", "--poll", "0.2")
        waited = hyperplan(
            "jobs", "wait", "1", "-o", "plan.json", "--poll", "0.3", *s, cwd=tmp_path, **env
        )
        assert waited.returncode == 0, waited.stderr
        assert "job 1: succeeded" in waited.stderr and "wrote plan.json" in waited.stderr
        got = Plan.from_json(tmp_path / "plan.json")
        expected = make_plan(load_scenario_text(SMALL))
        assert got.objective_usd == pytest.approx(expected.objective_usd, rel=1e-9)
        assert got.status == expected.status == "optimal"
        fetched = hyperplan("jobs", "result", "1", *s, cwd=tmp_path, **env)
        assert json.loads(fetched.stdout)["objective_usd"] == got.objective_usd
        # a bad scenario: located in the user's file, exit 2, nothing queued
        bad = tmp_path / "bad.yaml"
        bad.write_text(SMALL.replace("periods: 8", "periods: lots"))
        refused = hyperplan("jobs", "submit", "plan", str(bad), *s, cwd=tmp_path, **env)
        assert refused.returncode == 2
        assert re.search(rf"^{re.escape(str(bad))}:9:\d+: horizon.periods: ", refused.stderr, re.M)
        listed = json.loads(hyperplan("jobs", "list", "--json", *s, cwd=tmp_path, **env).stdout)
        assert [(j["id"], j["state"]) for j in listed] == [(1, "succeeded")]
        # cancel a finished job: refused (2); an unknown one: 2; a job that fails: wait exits 1
        again = hyperplan("jobs", "cancel", "1", *s, cwd=tmp_path, **env)
        assert again.returncode == 2 and again.stderr == "error: job 1 is already succeeded\n"
        assert hyperplan("jobs", "show", "9", *s, cwd=tmp_path, **env).returncode == 2
        infeasible = tmp_path / "limit.yaml"
        infeasible.write_text(SMALL)
        failing = hyperplan(
            "jobs", "submit", "plan", str(infeasible), "--job-time-limit", "0.01", "--wait",
            *s, cwd=tmp_path, **env,
        )  # fmt: skip
        assert failing.returncode == 1 and "error: job 2 failed: " in failing.stderr
    finally:
        if worker is not None:
            worker.terminate()
            worker.communicate(timeout=60)
        assert server.stop() == 0, server.log


def test_two_adoptions_racing_through_the_cli_one_wins_the_other_exits_5(
    db_url: str, tmp_path: Path
) -> None:
    from sqlalchemy import func, select

    from hyperplan.ledger.db import open_ledger
    from hyperplan.ledger.models import Adoption, Commitment

    body, _ = small_plan()
    (tmp_path / "plan.json").write_bytes(body)
    token = make_token(db_url, tmp_path)
    server = Server(db_url, tmp_path)
    try:
        args = ("adopt", "plan.json", "--yes", "--expect-version", "0", "--server", server.url)
        procs = [spawn(*args, cwd=tmp_path, HYPERPLAN_TOKEN=token) for _ in range(2)]
        ends = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    finally:
        assert server.stop() == 0, server.log
    codes = sorted(code for code, _, _ in ends)
    assert codes == [0, 5], ends
    loser = next(err for code, _, err in ends if code == 5)
    assert re.match(r"error: the (ledger|plan)", loser) and "version" in loser
    assert "Traceback" not in loser
    ledger = open_ledger(db_url)
    try:
        with ledger.transaction() as s:
            assert s.scalar(select(func.count()).select_from(Adoption)) == 1
            assert s.scalar(select(func.count()).select_from(Commitment)) == 6
    finally:
        ledger.dispose()


# ----------------------------------------------------------------------------------------------
# Without a server: which server, which token, what an answer means
# ----------------------------------------------------------------------------------------------


def test_the_server_comes_from_the_option_then_the_profile_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("HYPERPLAN_SERVER", raising=False)
    (tmp_path / "hyperplan").mkdir()
    profiles = tmp_path / "hyperplan" / "profiles.toml"
    profiles.write_text(
        '[a]\nserver = "https://a.example/"\ntoken_env = "A_TOKEN"\n[b]\nworkspace = "w"\n'
    )
    assert rm.target(None, None, None) is None  # nothing named: the local database
    monkeypatch.setenv("HYPERPLAN_SERVER", "http://127.0.0.1:9/")
    assert rm.target(None, None, None) == rm.Target("http://127.0.0.1:9", "HYPERPLAN_TOKEN", None)
    assert rm.target(None, "a", "x") == rm.Target("https://a.example", "A_TOKEN", "x")
    assert rm.target("http://h:1", "a", None) == rm.Target("http://h:1", "A_TOKEN", None)
    assert rm.target(None, "b", None) == rm.Target("http://127.0.0.1:9", "HYPERPLAN_TOKEN", "w")
    with pytest.raises(InputError, match="names a local ledger"):
        rm.target(None, None, None, db="x.db")
    with pytest.raises(InputError, match=r"no profile 'c' \(profiles: a, b\)"):
        rm.target(None, "c", None)
    for bad in ("ftp://x", "http://", "http://u:p@h", "http://h/?q=1"):
        with pytest.raises(InputError):
            rm.target(bad, None, None)
    profiles.write_text('[a]\nserver = "http://h"\ntoken = "hp_secret"\nport = 1\n')
    with pytest.raises(InputError) as err:
        rm.target(None, "a", None)
    assert [p.path for p in err.value.problems] == ["a.token", "a.port"]
    assert "hp_secret" not in str(err.value)
    profiles.write_text("[a\n")
    with pytest.raises(InputError, match="not TOML"):
        rm.target(None, "a", None)


def _mock(status: int, body: object, calls: list[httpx.Request] | None = None) -> rm.Remote:
    def answer(request: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(request)
        return httpx.Response(status, json=body)

    client = rm.Remote("http://srv", "hp_tok", transport=httpx.MockTransport(answer))
    client.workspace = "w"
    return client


def test_answers_become_exit_statuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rm, "RETRY_SECONDS", 0.0)
    problem = {"message": "bad", "file": "scenario.yaml", "line": 3, "column": 4, "path": "a.b"}
    cases = [
        (422, {"error": "invalid_input", "message": "m", "problems": [problem]}, InputError, 2),
        (409, {"error": "stale_ledger", "message": "moved"}, StaleLedger, 5),
        (409, {"error": "refused", "message": "no"}, LedgerError, 2),
        (401, {"error": "unauthenticated", "message": "who"}, LedgerError, 2),
        (403, {"error": "forbidden", "message": "not you"}, LedgerError, 2),
        (404, {"error": "not_found", "message": "none"}, LedgerError, 2),
        (500, {"error": "internal", "message": "request abc"}, rm.RemoteError, 1),
        (503, {"error": "unavailable", "message": "later"}, rm.RemoteError, 1),
    ]
    for status, body, kind, code in cases:
        with pytest.raises(HyperplanError) as err:
            _mock(status, body).get("/x")
        assert type(err.value) is kind and err.value.exit_code == code, (status, body)
    with pytest.raises(InputError) as err:
        _mock(422, {"error": "invalid_input", "message": "m", "problems": [problem]}).get("/x")
    assert str(err.value) == "scenario.yaml:3:4: a.b: bad"
    with pytest.raises(rm.RemoteError, match=r"answered 500 \(internal\): request abc"):
        _mock(500, {"error": "internal", "message": "request abc"}).get("/x")


def test_the_token_goes_only_in_the_authorization_header_and_posts_retry_with_a_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[httpx.Request] = []
    state = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        state["n"] += 1
        if state["n"] == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json={"ok": True})

    client = rm.Remote("http://srv", "hp_tok", transport=httpx.MockTransport(flaky))
    client.workspace = "w"
    assert client.post("/w/jobs", json={}, idempotency_key="k1").json() == {"ok": True}
    assert [c.headers["Idempotency-Key"] for c in calls] == ["k1", "k1"]  # the same key twice
    assert all(c.headers["Authorization"] == "Bearer hp_tok" for c in calls)
    assert all("hp_tok" not in str(c.url) for c in calls)
    state["n"], calls[:] = 0, []
    with pytest.raises(rm.RemoteError, match="cannot reach the server at http://srv"):
        client.post("/w/commitments/1/sign", json={})  # no key: not repeated
    assert len(calls) == 1


def test_jobs_need_a_server_and_refuse_options_of_another_kind(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SMALL)
    none = hp("jobs", "list", HYPERPLAN_TOKEN=None)
    assert none.exit_code == 2 and "jobs run on a server" in none.stderr
    stray = hp(
        "jobs", "submit", "plan", str(scenario), "--trials", "5", "--server", "http://127.0.0.1:9",
        HYPERPLAN_TOKEN="hp_x",
    )  # fmt: skip
    assert stray.exit_code == 2 and "--trials: not an option of plan jobs" in stray.stderr
    missing = hp(
        "jobs", "submit", "simulate", "--server", "http://127.0.0.1:9", HYPERPLAN_TOKEN="x"
    )
    assert missing.exit_code == 2 and "simulate needs a plan.json" in missing.stderr
