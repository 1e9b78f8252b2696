"""The server's fast read path (:mod:`hyperplan.server.reads`) against the library's records.

Every read route answers from one Core query serialised once; the ledger library
(:mod:`hyperplan.ledger.api`, :mod:`hyperplan.ledger.jobs`) builds the same records through the
ORM. Both are run here on the same ledger (SQLite and PostgreSQL) and must agree value for value;
the HTTP bodies must also be exactly what their documented response models would produce.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

import hyperplan.server.reads as reads
import hyperplan.server.routes_jobs as routes_jobs
import hyperplan.server.schemas as m
import ledger_db
from hyperplan.ledger import access, api, jobs
from hyperplan.ledger.models import Commitment, Contract, Workspace
from hyperplan.plan.artifact import plan_from_dict
from server_helpers import OTHER, WS, bearer, client_for, small_plan

db_url, ledger, postgres_url = ledger_db.db_url, ledger_db.ledger, ledger_db.postgres_url
V1 = "/api/v1"


@pytest.fixture
def filled(ledger):
    """WS with the small plan adopted, two contracts (one linked to the first commitment,
    which is also signed), a contract of another workspace, and three jobs."""
    _, data = small_plan()
    api.adopt(ledger, plan_from_dict(data), workspace=WS, author="setup")
    first = api.list_commitments(ledger, WS)[0]["id"]
    api.transition(ledger, first, "signed", workspace=WS, author="setup", external_id="EXT-1")
    with ledger.transaction() as s:
        ws = s.query(Workspace).filter_by(name=WS).one()
        other = Workspace(name=OTHER, ledger_version=0, created_at=dt.datetime(2026, 1, 1))
        s.add(other)
        s.flush()
        day = dt.date(2027, 1, 1)
        end = dt.date(2030, 1, 1)
        for w, name in ((ws, "zeta-edp"), (ws, "alpha-edp"), (other, "elsewhere")):
            s.add(Contract(workspace_id=w.id, name=name, provider="aws", committed_usd=1e8,
                           start=day, end=end, discount=0.125))  # fmt: skip
        s.flush()
        zeta = s.query(Contract).filter_by(workspace_id=ws.id, name="zeta-edp").one()
        s.execute(update(Commitment).where(Commitment.id == first).values(contract_id=zeta.id))
    for i in range(3):
        jobs.enqueue(ledger, WS, "plan", f"# job {i}\n", params={"i": i}, author="setup")
    tokens = {
        "viewer": access.create_token(ledger, "vera", WS, "viewer", author="setup")[0],
        "other": access.create_token(ledger, "olga", OTHER, "viewer", author="setup")[0],
    }
    ws_id, version = reads.workspace_id(ledger, WS)
    assert ws_id is not None and version == api.ledger_version(ledger, WS) > 0
    return {"ws_id": ws_id, "tokens": tokens, "first": first}


def test_commitment_pages_are_the_library_records(ledger, filled):
    ws_id = filled["ws_id"]
    every = api.list_commitments(ledger, WS)
    assert len(every) >= 3
    assert every[0]["contract"] == "zeta-edp" and every[0]["external_id"] == "EXT-1"
    rows, next_after = reads.commitment_page(ledger, ws_id, limit=10_000)
    assert rows == every and next_after is None
    # pages of 2 chained by next_after give every row once, in order
    pages, after = [], None
    while True:
        rows, after = reads.commitment_page(ledger, ws_id, after_id=after, limit=2)
        pages.extend(rows)
        if after is None:
            break
        assert after == rows[-1]["id"] and len(rows) == 2
    assert pages == every
    signed, _ = reads.commitment_page(ledger, ws_id, state="signed", limit=100)
    assert signed == api.list_commitments(ledger, WS, state="signed") == [every[0]]
    provider = every[0]["provider"]
    by_provider, _ = reads.commitment_page(ledger, ws_id, provider=provider.upper(), limit=100)
    assert by_provider == api.list_commitments(ledger, WS, provider=provider)
    assert by_provider and all(r["provider"] == provider for r in by_provider)
    assert reads.commitment_page(ledger, None, limit=5) == ([], None)


def test_contracts_audit_and_jobs_are_the_library_records(ledger, filled):
    ws_id = filled["ws_id"]
    contracts = reads.contracts(ledger, ws_id)
    assert contracts == api.list_contracts(ledger, WS)
    assert [c["name"] for c in contracts] == ["alpha-edp", "zeta-edp"]  # not OTHER's
    audit, next_after = reads.audit_page(ledger, ws_id, limit=10_000)
    assert audit == api.audit_log(ledger, WS) and next_after is None
    page, next_after = reads.audit_page(ledger, ws_id, after_id=audit[0]["id"], limit=1)
    assert page == [audit[1]] and next_after == audit[1]["id"]
    listed = reads.job_list(ledger, ws_id, WS, limit=100)
    assert listed == jobs.list_jobs(ledger, WS, limit=100)
    assert [j["params"] for j in listed] == [{"i": 2}, {"i": 1}, {"i": 0}]  # newest first
    assert reads.job_list(ledger, ws_id, WS, state="running") == []
    assert reads.job_list(ledger, ws_id, WS, limit=1) == listed[:1]
    one = listed[1]["id"]
    assert reads.job(ledger, ws_id, WS, one) == jobs.get(ledger, one, WS)
    with pytest.raises(jobs.JobNotFound) as library:
        jobs.get(ledger, one, OTHER)
    with pytest.raises(jobs.JobNotFound, match=f"^no job with id {one} in workspace '{OTHER}'$"):
        reads.job(ledger, reads.workspace_id(ledger, OTHER)[0], OTHER, one)
    assert str(library.value) == f"no job with id {one} in workspace '{OTHER}'"


def test_read_routes_answer_what_their_response_models_document(ledger, filled):
    h = bearer(filled["tokens"]["viewer"])
    version = api.ledger_version(ledger, WS)
    with client_for(ledger) as c:
        r = c.get(f"{V1}/{WS}/commitments", params={"limit": 2}, headers=h)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        body = r.json()
        assert m.CommitmentPage.model_validate(body).model_dump(mode="json") == body
        assert body["ledger_version"] == version and body["next_after"] == body["items"][1]["id"]
        assert body["items"] == api.list_commitments(ledger, WS)[:2]
        r = c.get(f"{V1}/{WS}/audit", params={"limit": 3}, headers=h)
        assert m.AuditPage.model_validate(r.json()).model_dump(mode="json") == r.json()
        r = c.get(f"{V1}/{WS}/contracts", headers=h)
        assert [m.ContractOut.model_validate(x).model_dump(mode="json") for x in r.json()] == (
            r.json()
        )
        r = c.get(f"{V1}/{WS}", headers=h)
        assert r.json() == {"workspace": WS, "role": "viewer", "ledger_version": version}
        r = c.get(f"{V1}/{WS}/jobs", headers=h)
        listed = r.json()
        assert [routes_jobs.JobOut.model_validate(j).model_dump(mode="json") for j in listed] == (
            listed
        )
        r = c.get(f"{V1}/{WS}/jobs/{listed[0]['id']}", headers=h)
        assert r.json() == listed[0]
        # another workspace's job is not found there, and not readable from here
        other = bearer(filled["tokens"]["other"])
        r = c.get(f"{V1}/{OTHER}/jobs/{listed[0]['id']}", headers=other)
        assert r.status_code == 404
        assert c.get(f"{V1}/{OTHER}/contracts", headers=h).status_code == 403


def test_a_revoked_token_is_refused_on_the_next_request(ledger, filled):
    token, record = access.create_token(ledger, "rita", WS, "viewer", author="setup")
    with client_for(ledger) as c:
        assert c.get(f"{V1}/{WS}", headers=bearer(token)).status_code == 200
        access.revoke_token(ledger, record["id"], author="setup")
        r = c.get(f"{V1}/{WS}", headers=bearer(token))
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated"


def test_the_version_a_page_shows_moves_with_the_ledger(ledger, filled):
    h = bearer(filled["tokens"]["viewer"])
    with client_for(ledger) as c:
        before = c.get(f"{V1}/{WS}/commitments", params={"limit": 1}, headers=h).json()
        api.transition(ledger, filled["first"], "active", workspace=WS, author="setup")
        after = c.get(f"{V1}/{WS}/commitments", params={"limit": 1}, headers=h).json()
    assert after["ledger_version"] == before["ledger_version"] + 1
    assert (before["items"][0]["state"], after["items"][0]["state"]) == ("signed", "active")
