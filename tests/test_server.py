"""The HTTP API: roles per endpoint, workspace isolation, adoption through HTTP (races,
idempotency keys), located 4xx on bad input, size limits, no secret in logs or errors.

Every test runs on SQLite and on PostgreSQL (fixtures of ``ledger_db``). Expected figures come
from the plan's own commitments table (read from plan.json's columns here, not through the
ledger code) or are written out by hand.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

import hyperplan.server.reads as reads
import ledger_db
from hyperplan.ledger import access, api
from hyperplan.ledger.models import Adoption, AuditEntry, Commitment
from server_helpers import OTHER, ROLES, WS, TestClient, bearer, client_for, make_tokens, small_plan

db_url, ledger, postgres_url = ledger_db.db_url, ledger_db.ledger, ledger_db.postgres_url

V1 = "/api/v1"


@pytest.fixture
def tokens(ledger) -> dict[str, str]:
    return make_tokens(ledger)


@pytest.fixture
def client(ledger):
    with client_for(ledger) as c:
        yield c


def count(ledger, model) -> int:
    with ledger.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


# ----------------------------------------------------------------------------------------------
# role × endpoint
# ----------------------------------------------------------------------------------------------

# (name, method, path under /api/v1/team-a, request keywords, least role, status when allowed).
# The requests are chosen so an allowed caller gets a status that proves it passed auth: reads
# 200, an unknown id 404, an empty or broken body 422.
TABLE: list[tuple[str, str, str, dict[str, Any], str, int]] = [
    ("workspace", "GET", "", {}, "viewer", 200),
    ("list scenarios", "GET", "/scenarios", {}, "viewer", 200),
    ("get scenario", "GET", "/scenarios/999", {}, "viewer", 404),
    ("store scenario", "POST", "/scenarios", {"content": b"horizon: ["}, "planner", 422),
    ("list commitments", "GET", "/commitments", {}, "viewer", 200),
    ("export commitments", "GET", "/commitments/export", {}, "viewer", 200),
    ("contracts", "GET", "/contracts", {}, "viewer", 200),
    ("audit", "GET", "/audit", {}, "viewer", 200),
    ("preview", "POST", "/adoptions/preview", {"content": b""}, "planner", 422),
    ("adopt", "POST", "/adoptions?expect_version=0", {"content": b""}, "approver", 422),
    ("sign", "POST", "/commitments/999/sign", {"json": {"external_id": "x"}}, "approver", 404),
    ("approve", "POST", "/commitments/999/approve", {}, "approver", 404),
    ("activate", "POST", "/commitments/999/activate", {}, "approver", 404),
    ("expire", "POST", "/commitments/999/expire", {}, "approver", 404),
    ("cancel", "POST", "/commitments/999/cancel", {}, "approver", 404),
    ("list tokens", "GET", "/tokens", {}, "admin", 200),
    ("create token", "POST", "/tokens", {"json": {"user": "zed", "role": "viewer"}}, "admin", 201),
    ("revoke token", "DELETE", "/tokens/999", {}, "admin", 404),
    ("queue job", "POST", "/jobs", {"content": b""}, "planner", 422),
    ("list jobs", "GET", "/jobs", {}, "viewer", 200),
    ("get job", "GET", "/jobs/999", {}, "viewer", 404),
    ("cancel job", "POST", "/jobs/999/cancel", {}, "planner", 404),
    ("job result", "GET", "/jobs/999/result", {}, "viewer", 404),
    ("list actuals", "GET", "/actuals", {}, "viewer", 200),
    ("upload actuals", "POST", "/actuals/imports?filename=x.csv", {"content": b""}, "planner", 415),
    ("actuals report", "GET", "/actuals/report", {}, "viewer", 404),
    ("replan job", "POST", "/actuals/replan", {"json": {}}, "planner", 422),
]
CALLERS = ("none", "bad", "revoked", "other", *ROLES)


def expected_status(caller: str, least: str, allowed: int) -> int:
    if caller in ("none", "bad", "revoked"):
        return 401
    if caller == "other":  # a valid admin token, of another workspace
        return 403
    return allowed if ROLES.index(caller) >= ROLES.index(least) else 403


def test_role_endpoint_table(client, tokens) -> None:
    got, want = {}, {}
    for name, method, path, kwargs, least, allowed in TABLE:
        for caller in CALLERS:
            token = None if caller == "none" else tokens[caller]
            r = client.request(method, f"{V1}/{WS}{path}", headers=bearer(token), **kwargs)
            got[name, caller] = r.status_code
            want[name, caller] = expected_status(caller, least, allowed)
            if r.status_code == 401:
                assert r.headers["www-authenticate"] == "Bearer"
            if r.status_code in (401, 403):
                assert r.json()["error"] in ("unauthenticated", "forbidden")
    assert got == want
    # the same table spelled out for two rows, so a wrong rule above cannot hide a wrong table
    assert [got["adopt", c] for c in CALLERS] == [401, 401, 401, 403, 403, 403, 422, 422]
    assert [got["audit", c] for c in CALLERS] == [401, 401, 401, 403, 200, 200, 200, 200]


def test_health_needs_no_token_and_workspaces_needs_one(client, tokens) -> None:
    r = client.get(f"{V1}/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["schema_revision"] == "0005_console_sessions"
    assert client.get(f"{V1}/workspaces").status_code == 401
    assert client.get(f"{V1}/workspaces", headers=bearer(tokens["revoked"])).status_code == 401
    r = client.get(f"{V1}/workspaces", headers=bearer(tokens["planner"]))
    assert r.status_code == 200
    assert r.json() == [{"workspace": WS, "role": "planner", "ledger_version": 0}]


def test_every_route_is_in_the_table_and_denied_without_a_token(client) -> None:
    """Deny by default: a route added without auth, or left out of the table, fails here."""
    routes = api_routes(client.app.routes)
    public = {("GET", f"{V1}/health")}
    in_table = {
        (method, f"{V1}/{{workspace}}{_template(path)}") for _, method, path, *_ in TABLE
    } | {("GET", f"{V1}/workspaces")}
    assert routes == public | in_table
    for method, path in sorted(routes - public):
        concrete = path.replace("{workspace}", WS).replace("{commitment_id}", "1")
        concrete = concrete.replace("{scenario_id}", "1").replace("{token_id}", "1")
        concrete = concrete.replace("{job_id}", "1")
        assert client.request(method, concrete).status_code == 401, (method, path)


def api_routes(routes: list[Any]) -> set[tuple[str, str]]:
    """(method, path) of every API route, into included routers (FastAPI keeps those as
    routers of their own from 0.16x on, flattened before)."""
    from fastapi.routing import APIRoute

    out = set()
    for r in routes:
        if isinstance(r, APIRoute):
            out |= {(method, r.path) for method in r.methods}
        elif hasattr(r, "original_router"):
            out |= api_routes(r.original_router.routes)
    return out


def _template(path: str) -> str:
    path = path.split("?")[0]
    parts = path.split("/")
    names = {
        "scenarios": "{scenario_id}",
        "commitments": "{commitment_id}",
        "tokens": "{token_id}",
        "jobs": "{job_id}",
    }
    return "/".join(
        names[parts[i - 1]] if p.isdigit() and parts[i - 1] in names else p
        for i, p in enumerate(parts)
    )


def test_a_token_of_workspace_a_never_reads_workspace_b(ledger, client, tokens) -> None:
    body, _ = small_plan()
    b_admin = tokens["other"]
    r = client.post(
        f"{V1}/{OTHER}/adoptions?expect_version=0", content=body, headers=bearer(b_admin)
    )
    assert r.status_code == 201
    b_ids = r.json()["commitment_ids"]
    reads = ["", "/scenarios", "/commitments", "/commitments/export", "/contracts", "/audit"]
    reads += ["/tokens", f"/scenarios/{1}"]
    for path in reads:
        r = client.get(f"{V1}/{OTHER}{path}", headers=bearer(tokens["admin"]))
        assert r.status_code == 403, path
        assert "nebius" not in r.text and "p5.48xlarge" not in r.text
    for verb in ("approve", "cancel"):
        r = client.post(
            f"{V1}/{OTHER}/commitments/{b_ids[0]}/{verb}", headers=bearer(tokens["admin"])
        )
        assert r.status_code == 403
    # A's own view does not hold B's commitments, even by B's ids
    r = client.post(f"{V1}/{WS}/commitments/{b_ids[0]}/approve", headers=bearer(tokens["admin"]))
    assert r.status_code == 404
    r = client.get(f"{V1}/{WS}/commitments", headers=bearer(tokens["admin"]))
    assert r.json()["items"] == []
    assert {c["state"] for c in api.list_commitments(ledger, OTHER)} == {"proposed"}


# ----------------------------------------------------------------------------------------------
# adoption over HTTP
# ----------------------------------------------------------------------------------------------


def plan_commitments() -> list[dict[str, Any]]:
    """The plan's commitments as rows, read from plan.json's columns (``{name: {dtype,
    values}}``) without the ledger's code."""
    _, data = small_plan()
    cols = data["tables"]["commitments"]["columns"]
    n = len(cols["provider"]["values"])
    return [{k: col["values"][i] for k, col in cols.items()} for i in range(n)]


def test_preview_then_adopt_then_list_shows_the_commitments(ledger, client, tokens) -> None:
    body, _ = small_plan()
    rows = plan_commitments()
    assert len(rows) == 6
    assert (
        len({(r["provider"], r["instance_type"], r["start_date"], r["term_years"]) for r in rows})
        == 6
    )
    # what the ledger must hold: each row of the plan's commitments table, carried unchanged
    by_hand = {
        (r["provider"], r["instance_type"], str(r["start_date"])[:10], r["term_years"]): r[
            "contract_value_usd"
        ]
        for r in rows
    }
    quantities = {
        (r["provider"], r["instance_type"], str(r["start_date"])[:10], r["term_years"]): r[
            "instances"
        ]
        for r in rows
    }

    pv = client.post(
        f"{V1}/{WS}/adoptions/preview", content=body, headers=bearer(tokens["planner"])
    )
    assert pv.status_code == 200
    p = pv.json()
    assert (p["ledger_version"], p["new"], p["changed"], p["cancelled"]) == (0, 6, 0, 0)
    assert p["before_usd"] == 0.0
    assert p["after_usd"] == pytest.approx(sum(by_hand.values()), rel=1e-12)
    assert count(ledger, Commitment) == 0  # a preview writes nothing

    r = client.post(
        f"{V1}/{WS}/adoptions?expect_version={p['ledger_version']}",
        content=body,
        headers=bearer(tokens["approver"]),
    )
    assert r.status_code == 201
    a = r.json()
    assert (a["from_version"], a["ledger_version"], a["new"]) == (0, 1, 6)

    listed = client.get(f"{V1}/{WS}/commitments", headers=bearer(tokens["viewer"])).json()
    assert listed["ledger_version"] == 1 and listed["next_after"] is None
    assert sorted(c["id"] for c in listed["items"]) == sorted(a["commitment_ids"])
    got = {
        (c["provider"], c["offer"], c["start"], c["term_years"]): c["value_usd"]
        for c in listed["items"]
    }
    assert got.keys() == by_hand.keys()
    for key, value in by_hand.items():
        assert got[key] == pytest.approx(value, rel=1e-12)
    got_qty = {
        (c["provider"], c["offer"], c["start"], c["term_years"]): c["quantity"]
        for c in listed["items"]
    }
    assert got_qty == pytest.approx(quantities, rel=1e-12)
    assert {c["state"] for c in listed["items"]} == {"proposed"}

    # pages of 4 then 2, in id order
    ids = sorted(a["commitment_ids"])
    page = client.get(f"{V1}/{WS}/commitments?limit=4", headers=bearer(tokens["viewer"])).json()
    assert [c["id"] for c in page["items"]] == ids[:4] and page["next_after"] == ids[3]
    page = client.get(
        f"{V1}/{WS}/commitments?limit=4&after={ids[3]}", headers=bearer(tokens["viewer"])
    ).json()
    assert [c["id"] for c in page["items"]] == ids[4:] and page["next_after"] is None

    csv_text = client.get(
        f"{V1}/{WS}/commitments/export?format=csv", headers=bearer(tokens["viewer"])
    ).text
    lines = csv_text.splitlines()
    assert lines[0].startswith("id,state,kind,provider,region,offer") and len(lines) == 7

    audit = client.get(f"{V1}/{WS}/audit", headers=bearer(tokens["viewer"])).json()["items"]
    adopt_rows = [x for x in audit if x["ledger_version"] == 1]
    assert {x["actor"] for x in adopt_rows} == {"approver-user"}
    assert sorted(x["action"] for x in adopt_rows) == ["adopt"] + ["create"] * 6


def test_two_adoptions_racing_one_wins_the_other_gets_409(ledger, client, tokens) -> None:
    body, _ = small_plan()
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def go(i: int) -> None:
        barrier.wait()
        results[i] = client.post(
            f"{V1}/{WS}/adoptions?expect_version=0",
            content=body,
            headers=bearer(tokens["approver"]),
        )

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(r.status_code for r in results) == [201, 409]
    loser = next(r for r in results if r.status_code == 409)
    assert loser.json()["error"] == "stale_ledger"
    assert count(ledger, Commitment) == 6 and count(ledger, Adoption) == 1
    assert api.ledger_version(ledger, WS) == 1


def test_idempotency_key_replays_the_first_answer_and_writes_nothing_more(
    ledger, client, tokens
) -> None:
    body, _ = small_plan()
    h = {**bearer(tokens["approver"]), "Idempotency-Key": "adopt-2027-01"}
    url = f"{V1}/{WS}/adoptions?expect_version=0"
    first = client.post(url, content=body, headers=h)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    audit_rows = count(ledger, AuditEntry)
    again = client.post(url, content=body, headers=h)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert count(ledger, Commitment) == 6 and count(ledger, Adoption) == 1
    assert count(ledger, AuditEntry) == audit_rows
    # the same key for another request (another expected version) is refused
    r = client.post(f"{V1}/{WS}/adoptions?expect_version=1", content=body, headers=h)
    assert r.status_code == 422 and r.json()["error"] == "idempotency_key_reused"
    # without the key the same request is a stale adoption
    r = client.post(url, content=body, headers=bearer(tokens["approver"]))
    assert r.status_code == 409
    bad = {**bearer(tokens["approver"]), "Idempotency-Key": "has space"}
    assert client.post(url, content=body, headers=bad).status_code == 422


def test_the_same_idempotent_request_twice_at_once_applies_once(ledger, client, tokens) -> None:
    body, _ = small_plan()
    h = {**bearer(tokens["approver"]), "Idempotency-Key": "k-race"}
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def go(i: int) -> None:
        barrier.wait()
        results[i] = client.post(f"{V1}/{WS}/adoptions?expect_version=0", content=body, headers=h)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [r.status_code for r in results] == [201, 201]
    assert results[0].json() == results[1].json()
    assert sorted(r.headers.get("idempotent-replayed", "") for r in results) == ["", "true"]
    assert count(ledger, Commitment) == 6 and count(ledger, Adoption) == 1


def test_sign_and_moves_are_audited_and_refused_moves_are_409(ledger, client, tokens) -> None:
    body, _ = small_plan()
    h = bearer(tokens["approver"])
    ids = client.post(f"{V1}/{WS}/adoptions?expect_version=0", content=body, headers=h).json()[
        "commitment_ids"
    ]
    first, second = sorted(ids)[:2]
    r = client.post(
        f"{V1}/{WS}/commitments/{first}/sign", json={"external_id": " ri-9 "}, headers=h
    )
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["external_id"]) == ("signed", "ri-9")
    r = client.post(f"{V1}/{WS}/commitments/{first}/cancel", headers=h)
    assert r.status_code == 409 and r.json()["error"] == "refused"
    assert "a signed commitment cannot become cancelled" in r.json()["message"]
    r = client.post(f"{V1}/{WS}/commitments/{second}/approve?expect_version=1", headers=h)
    assert r.status_code == 409 and r.json()["error"] == "stale_ledger"  # it is at 2
    r = client.post(f"{V1}/{WS}/commitments/{second}/approve?expect_version=2", headers=h)
    assert r.status_code == 200 and r.json()["state"] == "approved"
    for bad in ({"external_id": ""}, {"external_id": "   "}, {}, {"external_id": "x", "y": 1}):
        r = client.post(f"{V1}/{WS}/commitments/{second}/sign", json=bad, headers=h)
        assert r.status_code == 422, bad
    audit = api.audit_log(ledger, WS)
    sign_row = next(x for x in audit if x["action"] == "sign")
    assert sign_row["actor"] == "approver-user" and sign_row["entity_id"] == first
    assert (sign_row["before"]["state"], sign_row["after"]["state"]) == ("proposed", "signed")
    assert sign_row["after"]["external_id"] == "ri-9"
    approve_row = audit[-1]
    assert (approve_row["action"], approve_row["ledger_version"]) == ("approved", 3)


# ----------------------------------------------------------------------------------------------
# bad input: located 4xx, never a 500
# ----------------------------------------------------------------------------------------------

BAD_SCENARIO = b"""\
name: bad
horizon:
  start: 2027
  periods: lots
workloads: []
"""


def test_a_bad_scenario_gets_the_clis_located_messages(
    client, tokens, tmp_path, monkeypatch
) -> None:
    from cli_runner import separate_runner
    from hyperplan.cli import app

    r = client.post(
        f"{V1}/{WS}/scenarios?filename=bad.yaml",
        content=BAD_SCENARIO,
        headers={**bearer(tokens["planner"]), "Content-Type": "application/yaml"},
    )
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert [(p["location"], p["path"]) for p in problems] == [
        ("bad.yaml:4:12", "horizon.periods"),
        ("bad.yaml:5:12", "workloads"),
    ]
    # the CLI prints the same lines for the same file
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_bytes(BAD_SCENARIO)
    cli = separate_runner().invoke(app, ["validate", "bad.yaml"])
    assert cli.exit_code == 2
    assert r.json()["message"].strip() == cli.stderr.strip()


@pytest.mark.parametrize(
    ("content", "location"),
    [
        (b"name: x\nhorizon: [1, 2\n", "scenario.yaml:3:1"),  # YAML syntax
        (b"name: x\n\xff\xfe\n", "scenario.yaml:2:1"),  # not UTF-8
        (b"- 1\n- 2\n", "scenario.yaml:1:1"),  # not a mapping
    ],
)
def test_unparsable_scenarios_are_located_422(client, tokens, content, location) -> None:
    r = client.post(f"{V1}/{WS}/scenarios", content=content, headers=bearer(tokens["planner"]))
    assert r.status_code == 422
    assert r.json()["problems"][0]["location"] == location


def test_a_scenario_over_http_reads_no_file_of_the_server(client, tokens, tmp_path) -> None:
    import re

    from server_helpers import SMALL

    text = SMALL.read_text()
    (tmp_path / "series.csv").write_text("period,x\n2027,1\n")
    for name in ("/etc/passwd", str(tmp_path / "series.csv")):
        evil = re.sub(
            r"demand_tokens_per_s: .*",
            f"demand_tokens_per_s: {{csv: {name}, column: x}}",
            text,
            count=1,
        )
        r = client.post(
            f"{V1}/{WS}/scenarios", content=evil.encode(), headers=bearer(tokens["planner"])
        )
        assert r.status_code == 422
        (problem,) = r.json()["problems"]
        assert problem["path"] == "workloads[1].demand_tokens_per_s.csv"
        assert "is outside the folders a scenario may read" in problem["message"]
        assert "root:" not in r.text


def test_storing_a_scenario_twice_is_one_version(ledger, client, tokens) -> None:
    from server_helpers import SMALL

    text = SMALL.read_bytes()
    h = bearer(tokens["planner"])
    first = client.post(f"{V1}/{WS}/scenarios", content=text, headers=h)
    second = client.post(f"{V1}/{WS}/scenarios", content=text, headers=h)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert (first.json()["created"], second.json()["created"]) == (True, False)
    import hashlib

    assert first.json()["sha256"] == hashlib.sha256(text).hexdigest()
    detail = client.get(f"{V1}/{WS}/scenarios/{first.json()['id']}", headers=h).json()
    assert detail["yaml"].encode() == text and detail["name"] == "small"
    rows = [x for x in api.audit_log(ledger, WS) if x["entity"] == "scenario_version"]
    assert [(x["action"], x["actor"], x["ledger_version"]) for x in rows] == [
        ("create", "planner-user", 0)
    ]


def test_a_bad_plan_body_is_located(client, tokens) -> None:
    h = bearer(tokens["planner"])
    r = client.post(f"{V1}/{WS}/adoptions/preview", content=b'{"schema": 1,\n  oops}', headers=h)
    assert r.status_code == 422
    assert r.json()["problems"][0]["location"] == "plan.json:2:3"
    r = client.post(f"{V1}/{WS}/adoptions/preview", content=b'{"schema": "x"}', headers=h)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "schema"
    r = client.post(f"{V1}/{WS}/adoptions/preview", content=b"[" * 100_000, headers=h)
    assert r.status_code == 422


def test_bad_parameters_are_422_with_the_parameter_named(client, tokens) -> None:
    h = bearer(tokens["viewer"])
    r = client.get(f"{V1}/{WS}/commitments?limit=0", headers=h)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "query.limit"
    r = client.get(f"{V1}/{WS}/commitments?state=signd", headers=h)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "query.state"
    r = client.get(f"{V1}/bad%20name/commitments", headers=h)
    assert r.status_code == 422
    r = client.post(f"{V1}/{WS}/adoptions", content=b"{}", headers=bearer(tokens["approver"]))
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "query.expect_version"


def test_bodies_above_the_limit_get_413(ledger, tokens) -> None:
    with client_for(ledger, max_body_bytes=1000) as c:
        h = bearer(tokens["planner"])
        r = c.post(f"{V1}/{WS}/adoptions/preview", content=b"x" * 1001, headers=h)
        assert r.status_code == 413 and r.json()["error"] == "body_too_large"
        assert "1,000 bytes" in r.json()["message"]

        def chunks():  # no Content-Length: counted while read
            for _ in range(5):
                yield b"y" * 300

        r = c.post(f"{V1}/{WS}/scenarios", content=chunks(), headers=h)
        assert r.status_code == 413
        r = c.post(f"{V1}/{WS}/adoptions/preview", content=b"x" * 1000, headers=h)
        assert r.status_code == 422  # at the limit: read, then refused as not JSON


def test_an_unexpected_error_is_500_with_a_request_id_only(ledger, tokens, monkeypatch, caplog):
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail /srv/db password=hunter2")

    monkeypatch.setattr(reads, "contracts", boom)
    with client_for(ledger) as c, caplog.at_level(logging.ERROR, logger="hyperplan.server"):
        r = c.get(f"{V1}/{WS}/contracts", headers=bearer(tokens["viewer"]))
    assert r.status_code == 500
    assert r.json()["error"] == "internal"
    assert "hunter2" not in r.text and "Traceback" not in r.text
    request_id = r.json()["message"].split("request ")[1].split(")")[0]
    assert len(request_id) == 12 and request_id in caplog.text


# ----------------------------------------------------------------------------------------------
# tokens: shown once, hashed, never in a log, a message or the audit log
# ----------------------------------------------------------------------------------------------


def test_tokens_never_appear_in_logs_errors_listings_or_the_audit(
    ledger, client, tokens, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    body, _ = small_plan()
    admin = tokens["admin"]
    texts = []
    with caplog.at_level(logging.DEBUG):
        made = client.post(
            f"{V1}/{WS}/tokens", json={"user": "nina", "role": "approver"}, headers=bearer(admin)
        )
        assert made.status_code == 201
        new = made.json()["token"]
        assert new.startswith("hp_") and len(new) == 46
        for token in (new, admin, tokens["bad"], tokens["revoked"], tokens["other"]):
            h = bearer(token)
            for r in (
                client.get(f"{V1}/{WS}/tokens", headers=h),
                client.get(f"{V1}/{WS}/audit", headers=h),
                client.post(f"{V1}/{WS}/adoptions?expect_version=9", content=body, headers=h),
                client.post(f"{V1}/{WS}/adoptions/preview", content=b"{", headers=h),
                client.get(f"{V1}/{OTHER}/commitments", headers=h),
            ):
                texts.append(r.text)
        revoked = client.delete(f"{V1}/{WS}/tokens/{made.json()['id']}", headers=bearer(admin))
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
        assert client.get(f"{V1}/{WS}", headers=bearer(new)).status_code == 401
    audit = str(api.audit_log(ledger, WS)) + str(api.audit_log(ledger, OTHER))
    listing = str(access.list_tokens(ledger))
    for token in (new, *tokens.values()):
        digest = access.hash_token(token)
        for where in (caplog.text, audit, listing, *texts):
            assert token not in where and digest not in where
    # the token creation and revocation are audited with who did it
    rows = [x for x in api.audit_log(ledger, WS) if x["entity"] == "token"]
    assert [(x["action"], x["actor"]) for x in rows[-2:]] == [
        ("create", "admin-user"),
        ("revoke", "admin-user"),
    ]
    assert rows[-1]["before"]["revoked_at"] is None and rows[-1]["after"]["user"] == "nina"


def test_workspaces_lists_the_users_live_tokens_with_the_highest_role(ledger, client) -> None:
    viewer, _ = access.create_token(ledger, "ann", "w-a", "viewer", author="t")
    access.create_token(ledger, "ann", "w-a", "approver", author="t")
    access.create_token(ledger, "ann", "w-b", "admin", author="t")
    _, gone = access.create_token(ledger, "ann", "w-c", "admin", author="t")
    access.revoke_token(ledger, gone["id"], author="t")
    access.create_token(ledger, "bob", "w-d", "admin", author="t")
    r = client.get(f"{V1}/workspaces", headers=bearer(viewer))
    assert [(w["workspace"], w["role"]) for w in r.json()] == [
        ("w-a", "approver"),
        ("w-b", "admin"),
    ]
    # a viewer token of w-a is still a viewer token, whatever else ann holds
    r = client.post(f"{V1}/w-a/commitments/1/approve", headers=bearer(viewer))
    assert r.status_code == 403


def test_openapi_documents_every_operation(client) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (method, path)
            if path != f"{V1}/health":
                assert "401" in op["responses"], (method, path)
                assert op["security"] == [{"token": []}], (method, path)
    preview = spec["paths"][f"{V1}/{{workspace}}/adoptions/preview"]["post"]
    assert "application/json" in preview["requestBody"]["content"]
    assert preview["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PreviewOut"
    }


def test_an_unknown_role_is_refused_when_the_route_is_declared() -> None:
    from hyperplan.ledger.errors import LedgerError
    from hyperplan.server.auth import require_role

    with pytest.raises(LedgerError, match="unknown role 'owner'"):
        require_role("owner")
    assert TestClient is not None
