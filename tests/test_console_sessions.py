"""Console sessions in the database (``console_sessions``, migration 0005), on SQLite and
PostgreSQL: a session survives a restart of the server process (a real ``hyperplan serve``), is
shared by two apps over one database (two worker processes), stores only the SHA-256 of the
cookie, and is refused once expired or once its token is revoked."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import httpx
from sqlalchemy import select

import ledger_db
from cli_server_helpers import Server, make_token
from hyperplan.ledger import access
from hyperplan.ledger.db import open_ledger
from hyperplan.ledger.models import ConsoleSession, utcnow
from hyperplan.server.app import create_app
from hyperplan.server.console.sessions import COOKIE
from server_helpers import WS, TestClient

db_url, postgres_url, ledger = ledger_db.db_url, ledger_db.postgres_url, ledger_db.ledger
C = "/console"
PORTFOLIO = f"{C}/{WS}/portfolio"


def _sign_in(client: httpx.Client | TestClient, token: str) -> str:
    """Sign in through the form; the session cookie's value."""
    r = client.post(f"{C}/signin", data={"token": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, PORTFOLIO), r.text
    return r.cookies[COOKIE]


def _rows(ledger) -> list[ConsoleSession]:
    with ledger.transaction() as s:
        return list(s.scalars(select(ConsoleSession)))


def test_a_session_survives_a_restart_of_the_server_process(db_url: str, tmp_path: Path) -> None:
    token = make_token(db_url, tmp_path, role="viewer", user="vic")
    server = Server(db_url, tmp_path)
    try:
        with httpx.Client(base_url=server.url) as c:
            sid = _sign_in(c, token)
        cookies = {COOKIE: sid}
        r = httpx.get(f"{server.url}{PORTFOLIO}", cookies=cookies, follow_redirects=False)
        assert r.status_code == 200 and "vic" in r.text
        server.restart()
        r = httpx.get(f"{server.url}{PORTFOLIO}", cookies=cookies, follow_redirects=False)
        assert r.status_code == 200 and "vic" in r.text  # still signed in: no redirect
    finally:
        assert server.stop() == 0, server.log
    led = open_ledger(db_url)
    try:
        (row,) = _rows(led)
        # the database holds the cookie's SHA-256, never the cookie or the token
        assert row.id == hashlib.sha256(sid.encode()).hexdigest()
        assert sid not in repr(vars(row)) and token not in repr(vars(row))
        assert row.token_id == access.authenticate(led, token).token_id
    finally:
        led.dispose()
    assert token not in server.log and sid not in server.log


def test_two_server_processes_share_a_session(ledger) -> None:
    """Two apps over one database stand for two uvicorn worker processes."""
    token = access.create_token(ledger, "vic", WS, "viewer", author="setup")[0]
    with TestClient(create_app(ledger=ledger)) as one, TestClient(create_app(ledger=ledger)) as two:
        sid = _sign_in(one, token)
        two.cookies.set(COOKIE, sid)
        r = two.get(PORTFOLIO, follow_redirects=False)
        assert r.status_code == 200 and "vic" in r.text


def test_an_expired_session_is_refused_and_deleted(ledger) -> None:
    token = access.create_token(ledger, "vic", WS, "viewer", author="setup")[0]
    with TestClient(create_app(ledger=ledger)) as c:
        sid = _sign_in(c, token)
        assert c.get(PORTFOLIO, follow_redirects=False).status_code == 200
        (row,) = _rows(ledger)
        # a fresh session expires after the idle limit, 8 h, of its sign-in
        assert row.expires_at - row.created_at == dt.timedelta(hours=8)
        with ledger.transaction() as s:
            s.get(ConsoleSession, row.id).expires_at = utcnow() - dt.timedelta(seconds=1)
        r = c.get(PORTFOLIO, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, f"{C}/signin?next={PORTFOLIO}")
        assert _rows(ledger) == []
        c.cookies.set(COOKIE, sid)  # the same cookie again: still nothing
        assert c.get(PORTFOLIO, follow_redirects=False).status_code == 303


def test_a_revoked_tokens_sessions_are_refused(ledger) -> None:
    token, record = access.create_token(ledger, "vic", WS, "viewer", author="setup")
    other = access.create_token(ledger, "ola", WS, "viewer", author="setup")[0]
    with (
        TestClient(create_app(ledger=ledger)) as one,
        TestClient(create_app(ledger=ledger)) as two,
        TestClient(create_app(ledger=ledger)) as three,
    ):
        _sign_in(one, token)
        _sign_in(two, token)  # a second browser of the same token
        _sign_in(three, other)
        access.revoke_token(ledger, record["id"], author="setup")
        for c in (one, two):
            r = c.get(PORTFOLIO, follow_redirects=False)
            assert (r.status_code, r.headers["location"]) == (303, f"{C}/signin?next={PORTFOLIO}")
        assert three.get(PORTFOLIO, follow_redirects=False).status_code == 200
    (row,) = _rows(ledger)  # the revoked token's two sessions are gone, the other stays
    assert row.token_id == access.authenticate(ledger, other).token_id


def test_sign_out_deletes_the_session_row(ledger) -> None:
    token = access.create_token(ledger, "vic", WS, "viewer", author="setup")[0]
    with TestClient(create_app(ledger=ledger)) as c:
        _sign_in(c, token)
        html = c.get(PORTFOLIO).text
        csrf = html.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        assert csrf == _rows(ledger)[0].csrf
        r = c.post(f"{C}/signout", data={"csrf": csrf}, follow_redirects=False)
        assert r.status_code == 303
    assert _rows(ledger) == []
