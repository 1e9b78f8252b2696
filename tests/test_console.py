"""The web console over a TestClient, on SQLite and PostgreSQL (``ledger_db``): sessions, CSRF,
roles on every page and action, located scenario errors, adoption requests, the contracts'
burn-down and two runs compared. Figures are derived by hand or from the plans' own tables.
(The browser test is ``test_console_browser.py``.)"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

import ledger_db
from hyperplan.ledger import access, api, jobs
from hyperplan.ledger.models import ConsoleSession, Contract, Workspace, utcnow
from hyperplan.plan.api import Plan
from hyperplan.server.app import create_app
from hyperplan.server.console.sessions import COOKIE, SessionStore, digest
from hyperplan.server.console.views import DAYS_PER_MONTH, rise_by
from server_helpers import SMALL, WS, TestClient, small_plan

db_url, postgres_url, ledger = ledger_db.db_url, ledger_db.postgres_url, ledger_db.ledger
BASE = "http://testserver"
C = "/console"


@pytest.fixture
def tokens(ledger) -> dict[str, str]:
    out = {
        role: access.create_token(ledger, f"{role}-user", WS, role, author="setup")[0]
        for role in ("viewer", "planner", "approver")
    }
    out["other"] = access.create_token(ledger, "olga", "team-b", "admin", author="setup")[0]
    return out


@pytest.fixture
def app(ledger):
    return create_app(ledger=ledger)


def signed_in(app, token: str) -> TestClient:
    client = TestClient(app, base_url=BASE)
    r = client.post(f"{C}/signin", data={"token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def plan_job(ledger, plan: Plan, author: str = "planner-user") -> int:
    """A succeeded plan job holding ``plan`` (queued, claimed and completed in process)."""
    job, _ = jobs.enqueue(ledger, WS, "plan", SMALL.read_text(), params={}, author=author)
    claim = jobs.claim(ledger, "test-worker", 30.0)
    assert claim is not None and claim.job_id == job["id"]
    jobs.complete(ledger, claim, plan=plan)
    return int(job["id"])


def small() -> Plan:
    return Plan.from_dict(small_plan()[1])


# ----------------------------------------------------------------------------------------------
# sessions and CSRF
# ----------------------------------------------------------------------------------------------


def test_sign_in_sets_a_strict_httponly_cookie_without_the_token(app, tokens) -> None:
    client = TestClient(app, base_url=BASE)
    r = client.get(f"{C}/{WS}/portfolio", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"{C}/signin?next=/console/{WS}/portfolio"
    r = client.post(
        f"{C}/signin",
        data={"token": tokens["viewer"], "next": f"{C}/{WS}/ledger"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"{C}/{WS}/ledger"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    sid = cookie.split(";")[0].split("=", 1)[1]
    digest = access.hash_token(tokens["viewer"])
    assert tokens["viewer"] not in cookie and digest not in cookie
    assert len(sid) == 43  # 32 random bytes, URL-safe base64
    page = client.get(f"{C}/{WS}/ledger")
    assert page.status_code == 200 and "viewer-user" in page.text
    assert tokens["viewer"] not in page.text and digest not in page.text
    # an open redirect through ?next= is refused: the workspace's portfolio instead
    other = TestClient(app, base_url=BASE)
    r = other.post(
        f"{C}/signin",
        data={"token": tokens["viewer"], "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert r.headers["location"] == f"{C}/{WS}/portfolio"


def test_a_bad_token_is_refused_and_sign_out_ends_the_session(app, ledger, tokens) -> None:
    client = TestClient(app, base_url=BASE)
    r = client.post(f"{C}/signin", data={"token": "hp_nope"}, follow_redirects=False)
    assert r.status_code == 401 and "unknown or revoked" in r.text
    assert "set-cookie" not in r.headers
    client = signed_in(app, tokens["planner"])
    csrf = csrf_of(client.get(f"{C}/{WS}/runs").text)
    assert client.post(f"{C}/signout", data={"csrf": "wrong"}).status_code == 403
    r = client.post(f"{C}/signout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"{C}/signin")
    # the old session id no longer opens anything
    r = client.get(f"{C}/{WS}/runs", follow_redirects=False)
    assert r.status_code == 303 and "/signin" in r.headers["location"]


def test_a_revoked_token_ends_its_session_at_once(app, ledger, tokens) -> None:
    client = signed_in(app, tokens["approver"])
    assert client.get(f"{C}/{WS}/ledger").status_code == 200
    (record,) = [t for t in access.list_tokens(ledger, workspace=WS) if t["role"] == "approver"]
    access.revoke_token(ledger, record["id"], author="setup", workspace=WS)
    r = client.get(f"{C}/{WS}/ledger", follow_redirects=False)
    assert r.status_code == 303 and "/signin" in r.headers["location"]


def test_posts_need_the_sessions_csrf_token_and_this_origin(app, tokens) -> None:
    client = signed_in(app, tokens["planner"])
    text = SMALL.read_text()
    csrf = csrf_of(client.get(f"{C}/{WS}/runs").text)
    ok = {"csrf": csrf, "scenario": text, "action": "validate"}
    assert client.post(f"{C}/{WS}/runs", data=ok).status_code == 200
    assert client.post(f"{C}/{WS}/runs", data={**ok, "csrf": ""}).status_code == 403
    other = signed_in(app, tokens["approver"])  # another session's token is not this one's
    other_csrf = csrf_of(other.get(f"{C}/{WS}/runs").text)
    assert other_csrf != csrf
    assert client.post(f"{C}/{WS}/runs", data={**ok, "csrf": other_csrf}).status_code == 403
    r = client.post(f"{C}/{WS}/runs", data=ok, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "another site" in r.text
    r = client.post(f"{C}/{WS}/runs", content=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 415


def test_session_store_expires_idle_sessions_and_caps_their_number(ledger) -> None:
    grant = access.authenticate(
        ledger, access.create_token(ledger, "ann", WS, "viewer", author="setup")[0]
    )
    store = SessionStore(lambda: ledger, idle_seconds=0.0)
    sid = store.create(grant)
    assert store.get(sid) is None  # idle for 0 s or more
    store = SessionStore(lambda: ledger, max_sessions=2)
    a, b = store.create(grant), store.create(grant)
    with ledger.transaction() as s:  # b is now the least recently seen
        s.get(ConsoleSession, digest(b)).last_seen_at -= dt.timedelta(seconds=10)
    c = store.create(grant)
    assert store.get(b) is None and store.get(a) is not None and store.get(c) is not None


# ----------------------------------------------------------------------------------------------
# roles
# ----------------------------------------------------------------------------------------------

PAGES = ("portfolio", "contracts", "runs", "adoptions", "ledger")


def test_every_page_needs_a_session_of_the_workspace(app, tokens) -> None:
    anon = TestClient(app, base_url=BASE)
    other = signed_in(app, tokens["other"])
    viewer = signed_in(app, tokens["viewer"])
    for name in PAGES:
        r = anon.get(f"{C}/{WS}/{name}", follow_redirects=False)
        assert r.status_code == 303 and "/signin" in r.headers["location"], name
        r = other.get(f"{C}/{WS}/{name}")
        assert r.status_code == 403 and "does not open workspace" in r.text, name
        r = viewer.get(f"{C}/{WS}/{name}")
        assert r.status_code == 200, name
        assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert anon.get(f"{C}/{WS}/runs/1/status").status_code == 401


def test_a_viewer_sees_no_approve_button_and_its_post_is_refused(app, ledger, tokens) -> None:
    job = plan_job(ledger, small())
    planner = signed_in(app, tokens["planner"])
    csrf = csrf_of(planner.get(f"{C}/{WS}/runs/{job}").text)
    r = planner.post(f"{C}/{WS}/runs/{job}/request-adoption", data={"csrf": csrf, "note": "go"})
    assert r.status_code == 200
    run_id = jobs.get(ledger, job, WS)["plan_run_id"]
    page = f"{C}/{WS}/adoptions/{run_id}"
    for role in ("viewer", "planner"):
        client = signed_in(app, tokens[role])
        html = client.get(page).text
        assert 'id="approve"' not in html and 'id="reject"' not in html, role
        assert 'id="approver-only"' in html, role
        form = {"csrf": csrf_of(html), "expect_version": "0"}
        for verb in ("approve", "reject"):
            r = client.post(f"{page}/{verb}", data=form)
            assert r.status_code == 403 and f"is {role}" in r.text, (role, verb)
    # a viewer cannot start or cancel jobs either: no editor, and the POSTs are refused
    viewer = signed_in(app, tokens["viewer"])
    html = viewer.get(f"{C}/{WS}/runs").text
    assert 'id="editor-form"' not in html
    form = {"csrf": csrf_of(html), "scenario": SMALL.read_text(), "action": "plan"}
    assert viewer.post(f"{C}/{WS}/runs", data=form).status_code == 403
    assert viewer.post(f"{C}/{WS}/runs/{job}/cancel", data=form).status_code == 403
    assert api.ledger_version(ledger, WS) == 0  # nothing was adopted
    assert len(jobs.list_jobs(ledger, WS)) == 1


# ----------------------------------------------------------------------------------------------
# scenarios, runs and adoption
# ----------------------------------------------------------------------------------------------


def test_the_editor_carries_field_hints_from_the_json_schema(app, tokens) -> None:
    """Every described property of every model of the scenario's JSON Schema is in the runs
    page's hints, in the Field's own words and unit; the JSON sits safely in its script."""
    import json
    import re

    from hyperplan.scenario.jsonschema import scenario_json_schema

    html = signed_in(app, tokens["planner"]).get(f"{C}/{WS}/runs").text
    found = re.search(
        r'<script type="application/json" id="field-hints">(.*?)</script>', html, re.S
    )
    assert found and "<" not in found.group(1)
    hints = json.loads(found.group(1))
    schema = scenario_json_schema()
    expected: dict[str, list[tuple[str, str, str | None]]] = {}
    for model, node in [("Scenario", schema), *schema["$defs"].items()]:
        for name, prop in (node.get("properties") or {}).items():
            if prop.get("description"):
                expected.setdefault(name, []).append(
                    (model, prop["description"], prop.get("x-unit"))
                )
    got = {k: [(h["model"], h["description"], h["unit"]) for h in v] for k, v in hints.items()}
    assert got == expected
    assert got["periods"] == [("Horizon", "number of periods", "periods")]
    assert ("Inference", "average output tokens/s per period", "output tokens/s") in got[
        "demand_tokens_per_s"
    ]


def test_a_bad_scenario_is_located_inline_and_nothing_is_queued(app, ledger, tokens) -> None:
    client = signed_in(app, tokens["planner"])
    csrf = csrf_of(client.get(f"{C}/{WS}/runs").text)
    text = SMALL.read_text()
    lines = text.splitlines()
    n = next(i for i, line in enumerate(lines, 1) if line.strip().startswith("periods: 8"))
    bad = text.replace("periods: 8", "periods: lots")
    col = lines[n - 1].index("8") + 1
    r = client.post(
        f"{C}/{WS}/runs",
        data={"csrf": csrf, "scenario": bad, "filename": "mine.yaml", "action": "plan"},
    )
    assert r.status_code == 200  # the form again, with the problems (a browser logs a 4xx page)
    assert f"<code>mine.yaml:{n}:{col}</code>" in r.text
    assert '<code class="path">horizon.periods</code>' in r.text
    assert f'<li id="line-{n}" class="bad-line"><mark>' in r.text
    assert r.text.count('class="bad-line"') == 1
    assert jobs.list_jobs(ledger, WS) == []
    r = client.post(f"{C}/{WS}/runs", data={"csrf": csrf, "scenario": text, "action": "store"})
    assert r.status_code == 200 and "stored as version 1" in r.text
    assert [s["name"] for s in api.list_scenarios(ledger, WS)] == ["small"]
    r = client.post(
        f"{C}/{WS}/runs", data={"csrf": csrf, "scenario": text, "action": "plan"},
        follow_redirects=False,
    )  # fmt: skip
    (job,) = jobs.list_jobs(ledger, WS)
    assert r.status_code == 303 and r.headers["location"].startswith(f"{C}/{WS}/runs/{job['id']}")
    assert job["kind"] == "plan" and job["state"] == "queued" and job["author"] == "planner-user"
    status = client.get(f"{C}/{WS}/runs/{job['id']}/status").json()
    assert status["state"] == "queued" and status["max"] is None


def test_run_replan_queues_a_replan_job_or_says_why_not(app, ledger, tokens) -> None:
    """*Run replan* from the editor: no adopted plan is refused (409 page, nothing queued); a
    month that does not start a period after the first is shown located with the scenario's
    problems (nothing queued); then a replan job of the scenario's text is queued, as the
    API's route queues it."""
    from hyperplan.plan import plan as make_plan
    from hyperplan.scenario.load import load_scenario_text
    from test_replan import DEMAND, SCENARIO

    text = SCENARIO % (DEMAND, "")
    client = signed_in(app, tokens["planner"])
    csrf = csrf_of(client.get(f"{C}/{WS}/runs").text)
    form = {"csrf": csrf, "scenario": text, "action": "replan", "as_of": "2027-07"}
    r = client.post(f"{C}/{WS}/runs", data=form)
    assert r.status_code == 409 and "has no adopted plan" in " ".join(r.text.split())
    api.adopt(ledger, make_plan(load_scenario_text(text)), workspace=WS, author="ann")
    r = client.post(f"{C}/{WS}/runs", data=form | {"as_of": "2026-12"})
    assert r.status_code == 200 and '<code class="path">as_of</code>' in r.text
    assert "found 2026-12" in r.text and jobs.list_jobs(ledger, WS) == []
    r = client.post(f"{C}/{WS}/runs", data=form, follow_redirects=False)
    (job,) = jobs.list_jobs(ledger, WS)
    assert r.status_code == 303 and r.headers["location"].startswith(f"{C}/{WS}/runs/{job['id']}")
    assert (job["kind"], job["params"]["as_of"], job["author"]) == (
        "replan",
        "2027-07",
        "planner-user",
    )
    viewer = signed_in(app, tokens["viewer"])
    csrf_v = csrf_of(viewer.get(f"{C}/{WS}/runs").text)  # the sign-out form's
    r = viewer.post(f"{C}/{WS}/runs", data=form | {"csrf": csrf_v})
    assert r.status_code == 403 and len(jobs.list_jobs(ledger, WS)) == 1


def test_request_then_approve_adopts_and_audits_who_did_what(app, ledger, tokens) -> None:
    plan = small()
    job = plan_job(ledger, plan)
    planner = signed_in(app, tokens["planner"])
    html = planner.get(f"{C}/{WS}/runs/{job}").text
    assert 'id="open-report"' in html
    report = planner.get(f"{C}/{WS}/runs/{job}/report")
    assert report.status_code == 200 and "small: capacity plan" in report.text
    assert report.headers["content-security-policy"].startswith("default-src 'none'")
    planner.post(f"{C}/{WS}/runs/{job}/request-adoption", data={"csrf": csrf_of(html)})
    run_id = jobs.get(ledger, job, WS)["plan_run_id"]
    # a second request while one is pending is refused (409)
    r = planner.post(f"{C}/{WS}/runs/{job}/request-adoption", data={"csrf": csrf_of(html)})
    assert r.status_code == 409 and "already awaits" in r.text
    approver = signed_in(app, tokens["approver"])
    assert f"Plan run {run_id}" in approver.get(f"{C}/{WS}/adoptions").text
    page = approver.get(f"{C}/{WS}/adoptions/{run_id}").text
    want = len(plan.tables["commitments"])
    assert f"<strong>{want}</strong> new" in page
    version = re.search(r'name="expect_version" value="(\d+)"', page).group(1)
    assert version == "0"
    # a stale preview is refused (409) and adopts nothing
    r = approver.post(
        f"{C}/{WS}/adoptions/{run_id}/approve",
        data={"csrf": csrf_of(page), "expect_version": "7"},
    )
    assert r.status_code == 409 and api.ledger_version(ledger, WS) == 0
    r = approver.post(
        f"{C}/{WS}/adoptions/{run_id}/approve",
        data={"csrf": csrf_of(page), "expect_version": version},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith(f"{C}/{WS}/ledger")
    assert api.ledger_version(ledger, WS) == 1
    rows = api.list_commitments(ledger, WS)
    assert len(rows) == want and {r["state"] for r in rows} == {"proposed"}
    audit = api.audit_log(ledger, WS)
    actions = [(a["action"], a["actor"]) for a in audit if a["entity"] in ("plan_run", "adoption")]
    assert actions == [
        ("request_adoption", "planner-user"),
        ("adopt", "approver-user"),
        ("approve_adoption", "approver-user"),
    ]
    approve = next(a for a in audit if a["action"] == "approve_adoption")
    adopt = next(a for a in audit if a["action"] == "adopt")
    assert approve["after"] == {"adoption_id": adopt["entity_id"]}
    assert approve["ledger_version"] == adopt["ledger_version"] == 1
    history = approver.get(f"{C}/{WS}/adoptions").text
    assert "No request is waiting" in history
    assert re.search(r'data-action="approve_adoption"><td>[^<]+</td><td>approver-user', history)
    # approved: no second approval
    r = approver.post(
        f"{C}/{WS}/adoptions/{run_id}/approve",
        data={"csrf": csrf_of(page), "expect_version": "1"},
    )
    assert r.status_code == 409 and api.ledger_version(ledger, WS) == 1
    portfolio = approver.get(f"{C}/{WS}/portfolio").text
    assert (
        f'data-state="proposed"><th scope="row">proposed</th><td class="num">{want}<' in portfolio
    )
    assert 'id="fig-spend-year"' in portfolio


def test_reject_leaves_the_ledger_and_is_audited(app, ledger, tokens) -> None:
    job = plan_job(ledger, small())
    planner = signed_in(app, tokens["planner"])
    html = planner.get(f"{C}/{WS}/runs/{job}").text
    planner.post(f"{C}/{WS}/runs/{job}/request-adoption", data={"csrf": csrf_of(html)})
    run_id = jobs.get(ledger, job, WS)["plan_run_id"]
    approver = signed_in(app, tokens["approver"])
    page = approver.get(f"{C}/{WS}/adoptions/{run_id}").text
    r = approver.post(
        f"{C}/{WS}/adoptions/{run_id}/reject",
        data={"csrf": csrf_of(page), "reason": "too much <b>aws</b>"},
    )
    assert r.status_code == 200 and "request rejected" in r.text
    assert "too much &lt;b&gt;aws&lt;/b&gt;" in r.text  # escaped
    assert api.ledger_version(ledger, WS) == 0 and api.list_commitments(ledger, WS) == []
    (row,) = [a for a in api.audit_log(ledger, WS) if a["action"] == "reject_adoption"]
    assert row["actor"] == "approver-user" and row["entity_id"] == run_id
    # the planner may ask again after a rejection
    r = planner.post(f"{C}/{WS}/runs/{job}/request-adoption", data={"csrf": csrf_of(html)})
    assert r.status_code == 200


# ----------------------------------------------------------------------------------------------
# contracts and comparison
# ----------------------------------------------------------------------------------------------


def test_rise_by_by_hand() -> None:
    at = dt.date(2027, 3, 1)
    # 900 left over 10 months at 50 a month; the P90 rate is (1300 - 100) / 10 = 120 a month:
    # rising after τ months burns 50τ + 120(10 - τ) = 900 when τ = 300 / 70 = 4.2857 months
    got = rise_by(1000.0, 100.0, 10.0, 50.0, 1300.0, at)
    assert got.date == at + dt.timedelta(days=math.floor(300 / 70 * 365.25 / 12))
    assert got.date == dt.date(2027, 7, 9)  # 130 days after 1 March
    assert got.needed_usd == 90.0 and got.high_usd == 120.0
    # on track: 100 a month burns the 900 left
    assert rise_by(1000.0, 100.0, 10.0, 90.0, 1300.0, at).date is None
    # even the P90 rate falls short (110 × 10 < 900 + 100 ... ): rise now
    assert rise_by(2000.0, 100.0, 10.0, 50.0, 1200.0, at).date == at
    # no band (one month of bills): p90 = p50 → rise now
    assert rise_by(1000.0, 100.0, 10.0, 50.0, 600.0, at).date == at
    assert rise_by(100.0, 100.0, 10.0, 50.0, 600.0, at).note.startswith("burnt")
    ended = rise_by(1000.0, 100.0, 0.0, 50.0, 100.0, at)
    assert ended.date is None and math.isinf(ended.needed_usd)


HEADER = (
    "ChargePeriodStart,ChargeCategory,PricingCategory,BilledCost,EffectiveCost,"
    "CommitmentDiscountId,CommitmentDiscountStatus,ProviderName,SkuId,ConsumedQuantity,"
    "ConsumedUnit\n"
)
BILLS = (
    "2027-01-01T00:00:00Z,Usage,Committed,0.00,30.00,ri-1,Used,AWS,p5.48xlarge,1,Hours\n"
    "2027-01-01T00:00:00Z,Usage,Committed,0.00,10.00,ri-1,Unused,AWS,p5.48xlarge,,Hours\n"
    "2027-01-02T00:00:00Z,Usage,Standard,50.00,50.00,,,AWS,p5.48xlarge,2,Hours\n"
    "2027-02-01T00:00:00Z,Usage,Committed,0.00,20.00,ri-1,Used,AWS,p5.48xlarge,1,Hours\n"
    "2027-02-01T00:00:00Z,Usage,Committed,0.00,20.00,ri-1,Unused,AWS,p5.48xlarge,,Hours\n"
)


def test_contracts_page_shows_the_burn_down_and_the_rise_by_date(
    app, ledger, tokens, tmp_path: Path
) -> None:
    viewer = signed_in(app, tokens["viewer"])
    assert 'id="no-contracts"' in viewer.get(f"{C}/{WS}/contracts").text
    with ledger.transaction() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == WS))
        s.add(
            Contract(
                workspace_id=ws.id,
                name="aws-edp",
                provider="aws",
                committed_usd=1000.0,
                start=dt.date(2027, 1, 1),
                end=dt.date(2028, 1, 1),
                discount=0.0,
                created_at=utcnow(),
            )
        )
    assert 'id="no-actuals"' in viewer.get(f"{C}/{WS}/contracts").text
    from hyperplan.actuals.store import import_files

    bill = tmp_path / "bill.csv"
    bill.write_text(HEADER + BILLS)
    import_files([bill], ledger, workspace=WS, author="ops")
    html = viewer.get(f"{C}/{WS}/contracts").text
    # consumed: January 30 + 10 + 50 = 90, February 20 + 20 = 40 → 130 of 1000, as of 2027-03-01
    assert "Consumed USD 130.00 of USD 1.00k" in html
    assert 'max="1000.0" value="130.0"' in html
    rise = re.search(r"<dd data-rise-by>([^<]+)</dd>", html).group(1)
    # independent check of the date: run rate 65 a month until it, then the P90 rate (the
    # burn-down's band edge, from scipy's t quantile) until 2028-01-01 burns the 870 left
    from scipy import stats

    k = (dt.date(2028, 1, 1) - dt.date(2027, 3, 1)).days / DAYS_PER_MONTH
    s = pd.Series([90.0, 40.0]).std(ddof=1)
    p90 = 130.0 + 65.0 * k + stats.t.ppf(0.9, 1) * s * math.sqrt(k + k * k / 2)
    high = (p90 - 130.0) / k
    day = dt.date.fromisoformat(rise)
    before = (day - dt.date(2027, 3, 1)).days / DAYS_PER_MONTH
    burnt = 130.0 + 65.0 * before + high * (k - before)
    assert 1000.0 <= burnt <= 1000.0 + (high - 65.0) / DAYS_PER_MONTH  # within one day's gap
    assert "rise to the P90 rate by this date" in html


def test_two_runs_compared_name_the_changed_commitments_and_the_cost(app, ledger, tokens) -> None:
    from hyperplan.plan import plan as make_plan
    from hyperplan.scenario.load import load_scenario_text

    a = small()
    text = SMALL.read_text().replace("max_share: 0.7", "max_share: 0.55")
    b = make_plan(load_scenario_text(text, filename="b.yaml"))
    ja, jb = plan_job(ledger, a), plan_job(ledger, b)
    viewer = signed_in(app, tokens["viewer"])
    html = viewer.get(f"{C}/{WS}/compare", params={"a": ja, "b": jb}).text

    def keys(p: Plan) -> dict[tuple, float]:
        c = p.tables["commitments"]
        g = c.groupby(
            ["commitment", "provider", "region", "instance_type", "term_years", "start_date"]
        )
        return g["instances"].sum().to_dict()

    ka, kb = keys(a), keys(b)
    added = len(set(kb) - set(ka))
    removed = len(set(ka) - set(kb))
    changed = sum(1 for k in set(ka) & set(kb) if not math.isclose(ka[k], kb[k], rel_tol=1e-6))
    assert added + removed + changed > 0  # the tighter cap moves commitments
    counts = re.search(
        r'<p id="change-counts">(\d+) commitment\(s\) added, (\d+) removed, (\d+)', html
    )
    assert counts is not None, html
    assert tuple(map(int, counts.groups())) == (added, removed, changed)
    diff = float(re.search(r'data-total-diff="([^"]+)"', html).group(1))
    assert diff == pytest.approx(b.total_usd - a.total_usd)
    assert b.total_usd > a.total_usd  # a tighter cap cannot cost less


def test_a_replan_run_shows_its_changes_report_and_download(app, ledger, tokens) -> None:
    """A succeeded replan job (run in process on tests/test_replan.py's scenario, adopted,
    nothing signed, no bills): its page shows the document's summary and one row per change,
    the report of the plan it made has the replan section, the download is replan.json; and
    it compares with the adopted plan's run like any plan."""
    import datetime as dt

    from hyperplan.actuals.replan import replan, replan_summary
    from hyperplan.plan import plan as make_plan
    from hyperplan.scenario.load import load_scenario_text
    from test_replan import DEMAND, SCENARIO

    text = SCENARIO % (DEMAND, "")
    adopted = make_plan(load_scenario_text(text))
    api.adopt(ledger, adopted, workspace=WS, author="ann")
    result = replan(load_scenario_text(text), dt.date(2027, 7, 1), ledger, WS)
    doc = result.to_json(include_plan=True)
    assert doc["changes"] and doc["warnings"]  # the adopted commitments were never signed
    job, _ = jobs.enqueue(ledger, WS, "replan", text, params={"as_of": "2027-07"}, author="p")
    claim = jobs.claim(ledger, "test-worker", 30.0)
    jobs.complete(ledger, claim, json.dumps(doc, default=str))
    viewer = signed_in(app, tokens["viewer"])
    html = viewer.get(f"{C}/{WS}/runs/{job['id']}").text
    assert f'<p id="replan-summary">{replan_summary(doc)}.</p>' in html
    table = html[html.index('<table class="replan-table">') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == 1 + len(doc["changes"])  # the header and one per change
    for change in doc["changes"]:
        assert f"<td>{change['change']}</td><td>{change['provider']}</td>" in table
    assert 'id="open-report"' in html
    report = viewer.get(f"{C}/{WS}/runs/{job['id']}/report").text
    assert '<section id="replan"' in report and "Re-plan from 2027-07" in report
    got = viewer.get(f"{C}/{WS}/runs/{job['id']}/result")
    assert 'filename="' + str(job["id"]) + '-replan.json"' in got.headers["content-disposition"]
    assert got.json()["changes"] == json.loads(json.dumps(doc, default=str))["changes"]
    first = plan_job(ledger, adopted)
    runs = viewer.get(f"{C}/{WS}/runs").text
    assert f'<option value="{job["id"]}">#{job["id"]} replan</option>' in runs
    assert f'<option value="{first}">#{first} plan</option>' in runs
    compared = viewer.get(f"{C}/{WS}/compare", params={"a": first, "b": job["id"]})
    assert compared.status_code == 200 and 'id="change-counts"' in compared.text


def test_the_console_is_not_in_the_api_document(app) -> None:
    client = TestClient(app, base_url=BASE)
    paths = json.loads(client.get("/openapi.json").text)["paths"]
    assert not [p for p in paths if p.startswith(C)]
    assert client.get(f"{C}/static/console.js").status_code == 200
    r = client.get(f"{C}/static/plotly.min.js")
    assert r.status_code == 200 and len(r.content) > 1_000_000
    assert client.get(f"{C}/static/../app.py").status_code == 404
