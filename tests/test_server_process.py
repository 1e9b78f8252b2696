"""`hyperplan serve` as a real process, and the `hyperplan token` commands.

The server runs as a subprocess on a free port of the loopback; the tests talk to it with httpx
and stop it with SIGINT, then read everything it logged (no token may be in it).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import ledger_db
from hyperplan.ledger import access
from hyperplan.ledger.db import open_ledger
from server_helpers import ROOT, small_plan

db_url, postgres_url = ledger_db.db_url, ledger_db.postgres_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hyperplan(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HYPERPLAN_AUTHOR": "ops"}
    return subprocess.run(
        [sys.executable, "-m", "hyperplan.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


class Server:
    """``hyperplan serve`` in a subprocess; ``stop()`` returns (exit status, its log)."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hyperplan.cli", "serve", "--port", str(self.port), *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                code, log = self.stop()
                raise AssertionError(f"hyperplan serve did not start (exit {code}):\n{log}")
            time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return self.proc.returncode, out


def test_serve_as_a_process_answers_health_and_tokens(db_url, tmp_path) -> None:
    made = hyperplan(
        "token", "create", "--user", "ann", "--workspace", "ops", "--role", "approver",
        "--db", db_url, cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("hp_") and len(token) == 46 and token not in made.stderr
    server = Server(tmp_path, "--db", db_url)
    try:
        h = {"Authorization": f"Bearer {token}"}
        health = httpx.get(f"{server.base}/api/v1/health", timeout=10).json()
        assert health["status"] == "ok" and health["schema_revision"] == "0005_console_sessions"
        assert health["database"] == ("sqlite" if db_url.startswith("sqlite") else "postgresql")
        r = httpx.get(f"{server.base}/api/v1/ops", headers=h, timeout=10)
        assert r.status_code == 200 and r.json() == {
            "workspace": "ops",
            "role": "approver",
            "ledger_version": 0,
        }
        body, _ = small_plan()
        r = httpx.post(
            f"{server.base}/api/v1/ops/adoptions?expect_version=0", content=body, headers=h,
            timeout=60,
        )  # fmt: skip
        assert r.status_code == 201 and r.json()["new"] == 6
        bad = {"Authorization": f"Bearer {token}x"}
        assert httpx.get(f"{server.base}/api/v1/ops", headers=bad, timeout=10).status_code == 401
        r = httpx.get(f"{server.base}/api/v1/ops/commitments", headers=h, timeout=10)
        assert len(r.json()["items"]) == 6
    finally:
        code, log = server.stop()
    assert code == 0, log  # a graceful stop
    assert log.rstrip().endswith("hyperplan serve: stopped")
    assert '"GET /api/v1/ops HTTP/1.1" 200' in log  # uvicorn's access log is on
    assert token not in log and access.hash_token(token) not in log
    assert "Traceback" not in log


def _worker_processes(pid: int) -> list[int]:
    """The uvicorn worker processes under ``pid`` (multiprocessing children that serve)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(c)
        for c in children
        if "spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes().decode(errors="replace")
    ]


def test_serve_with_workers_runs_that_many_processes_over_one_ledger(db_url, tmp_path) -> None:
    made = hyperplan(
        "token", "create", "--user", "ann", "--workspace", "ops", "--role", "approver",
        "--db", db_url, cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    server = Server(tmp_path, "--db", db_url, "--workers", "2", "--log-level", "warning")
    try:
        assert len(_worker_processes(server.proc.pid)) == 2
        h = {"Authorization": f"Bearer {token}"}
        body, _ = small_plan()
        r = httpx.post(
            f"{server.base}/api/v1/ops/adoptions?expect_version=0", content=body, headers=h,
            timeout=60,
        )  # fmt: skip
        assert r.status_code == 201
        with httpx.Client(base_url=server.base, headers=h, timeout=30) as c:
            # new connections: the kernel spreads them over both processes; every one reads
            # the same ledger
            pages = [c.get("/api/v1/ops/commitments", headers={"Connection": "close"}).json()
                     for _ in range(8)]  # fmt: skip
        assert all(len(p["items"]) == 6 and p["ledger_version"] == 1 for p in pages)
        revoked = hyperplan("token", "revoke", "1", "--db", db_url, cwd=tmp_path)
        assert revoked.returncode == 0, revoked.stderr
        codes = {
            httpx.get(f"{server.base}/api/v1/ops", headers=h, timeout=30).status_code
            for _ in range(8)
        }
        assert codes == {401}  # no process kept the token
    finally:
        code, log = server.stop()
    assert code == 0, log
    assert "2 worker processes" in log and log.rstrip().endswith("hyperplan serve: stopped")
    assert token not in log and "Traceback" not in log


def test_serve_on_the_embedded_default_needs_no_setup(tmp_path, monkeypatch) -> None:
    """No --db, no environment: ./.hyperplan/ledger.db is created and migrated."""
    monkeypatch.delenv("HYPERPLAN_DATABASE_URL", raising=False)
    server = Server(tmp_path)
    try:
        r = httpx.get(f"{server.base}/api/v1/health", timeout=10)
        assert r.json()["database"] == "sqlite"
        assert httpx.get(f"{server.base}/api/v1/workspaces", timeout=10).status_code == 401
    finally:
        code, log = server.stop(signal.SIGINT)
    assert code == 0, log
    assert (tmp_path / ".hyperplan" / "ledger.db").is_file()
    assert "ledger .hyperplan/ledger.db" in log


def test_serve_on_a_bad_database_exits_2_with_one_line(tmp_path) -> None:
    (tmp_path / "dir.db").mkdir()
    r = hyperplan("serve", "--db", str(tmp_path / "dir.db"), cwd=tmp_path)
    assert r.returncode == 2
    one_line = " ".join(r.stderr.split())  # the console folds long lines
    assert one_line == f"error: ledger database {tmp_path / 'dir.db'}: not a file"
    r = hyperplan("serve", "--db", "postgresql://u:pw-secret@127.0.0.1:1/x", cwd=tmp_path)
    assert r.returncode == 2 and "pw-secret" not in r.stderr and "Traceback" not in r.stderr


def test_token_commands_create_list_revoke(tmp_path) -> None:
    db = str(tmp_path / "l.db")
    a = hyperplan("token", "create", "--user", "ann", "--workspace", "w1", "--role", "viewer",
                  "--name", "laptop", "--db", db, cwd=tmp_path)  # fmt: skip
    b = hyperplan("token", "create", "--user", "bob", "--workspace", "w2", "--role", "admin",
                  "--db", db, cwd=tmp_path)  # fmt: skip
    assert (a.returncode, b.returncode) == (0, 0)
    tokens = [a.stdout.strip(), b.stdout.strip()]
    assert a.stderr.startswith("token 1: ann is viewer in workspace w1.")
    listed = hyperplan("token", "list", "--format", "json", "--db", db, cwd=tmp_path)
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["user"], r["workspace"], r["role"], r["name"]) for r in rows] == [
        (1, "ann", "w1", "viewer", "laptop"),
        (2, "bob", "w2", "admin", None),
    ]
    assert {r["created_by"] for r in rows} == {"ops"}
    table = hyperplan("token", "list", "--workspace", "w2", "--db", db, cwd=tmp_path).stdout
    assert "bob" in table and "ann" not in table
    for t in tokens:
        assert t not in listed.stdout and access.hash_token(t) not in listed.stdout
    r = hyperplan("token", "revoke", "2", "--db", db, cwd=tmp_path)
    assert (r.returncode, r.stdout.strip()) == (0, "token 2 (bob, admin in w2) revoked")
    again = hyperplan("token", "revoke", "2", "--db", db, cwd=tmp_path)
    assert again.returncode == 2 and again.stderr.startswith("error: token 2 was revoked already")
    assert hyperplan("token", "revoke", "9", "--db", db, cwd=tmp_path).stderr.strip() == (
        "error: no token with id 9"
    )
    led = open_ledger(db)
    try:
        assert access.authenticate(led, tokens[0]) is not None
        assert access.authenticate(led, tokens[1]) is None  # revoked
    finally:
        led.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "boss"], "error: unknown role 'boss'; expected one of viewer, planner"),
        (["--role", "viewer", "--user", "a b"], "error: bad user name 'a b'"),
        (["--role", "viewer", "--workspace", "../x"], "error: bad workspace name '../x'"),
        (["--role", "viewer", "--workspace", "health"], "error: bad workspace name 'health'"),
    ],
)
def test_token_create_refuses_bad_input_with_exit_2(tmp_path, args, message) -> None:
    base = {"--user": "ann", "--workspace": "w1"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    flat = [x for kv in base.items() for x in kv]
    r = hyperplan("token", "create", *flat, "--db", str(tmp_path / "l.db"), cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(message)
