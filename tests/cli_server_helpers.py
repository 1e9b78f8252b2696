"""Real processes for the CLI-against-a-server tests: ``hyperplan serve`` (stoppable and
restartable on the same port), the CLI itself, and a token made through the CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
WS = "team-a"


def free_port() -> int:
    """A port of the loopback nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env(**extra: str) -> dict[str, str]:
    """The environment of a child: this checkout's sources, no server or token inherited."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HYPERPLAN_SERVER", "HYPERPLAN_TOKEN", "HYPERPLAN_DATABASE_URL")
    }
    return {**base, "PYTHONPATH": str(ROOT / "src"), "HYPERPLAN_AUTHOR": "ann", **extra}


def hyperplan(
    *args: str, cwd: Path, timeout: float = 300, **extra: str
) -> subprocess.CompletedProcess[str]:
    """``hyperplan ARGS`` as a process (stdout and stderr captured)."""
    return subprocess.run(
        [sys.executable, "-m", "hyperplan.cli", *args],
        cwd=cwd,
        env=env(**extra),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def spawn(*args: str, cwd: Path, **extra: str) -> subprocess.Popen[str]:
    """``hyperplan ARGS`` started, not waited for."""
    return subprocess.Popen(
        [sys.executable, "-m", "hyperplan.cli", *args],
        cwd=cwd,
        env=env(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def make_token(db: str, cwd: Path, role: str = "approver", user: str = "ann") -> str:
    """A token of ``user`` with ``role`` in :data:`WS`, made by ``hyperplan token create``."""
    made = hyperplan(
        "token", "create", "--user", user, "--workspace", WS, "--role", role, "--db", db, cwd=cwd
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


class Server:
    """``hyperplan serve --db DB`` on a free port of the loopback; :meth:`restart` keeps the
    port. Its log (stdout and stderr) accumulates in :attr:`log`."""

    def __init__(self, db: str, cwd: Path) -> None:
        self.db, self.cwd = db, cwd
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = ""
        self.proc: subprocess.Popen[str] | None = None
        self.start()

    def start(self, timeout: float = 60) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hyperplan.cli", "serve", "--db", self.db,
             "--port", str(self.port), "--log-level", "warning"],
            cwd=self.cwd,
            env=env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                code = self.stop()
                raise AssertionError(f"hyperplan serve did not start (exit {code}):\n{self.log}")
            time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop it (gracefully by default); its exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        self.log += out or ""
        return self.proc.returncode

    def restart(self, pause: float = 0.0) -> None:
        """Stop, wait ``pause`` seconds, start again on the same port."""
        assert self.stop() == 0, self.log
        time.sleep(pause)
        self.start()
