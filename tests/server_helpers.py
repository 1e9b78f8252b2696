"""Shared pieces of the server tests: a TestClient import without its deprecation notice, a
real plan.json of examples/small.yaml, and tokens for every role."""

from __future__ import annotations

import functools
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest

from hyperplan.ledger import access
from hyperplan.ledger.db import Ledger
from hyperplan.server.app import create_app

NO_HTTPX2 = "(?s).*install `httpx2`"
"""The notice newer starlette gives when its TestClient runs on httpx (httpx2 is not used here)."""

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=NO_HTTPX2)
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "examples" / "small.yaml"
WS = "team-a"
OTHER = "team-b"
ROLES = ("viewer", "planner", "approver", "admin")

__all__ = [
    "NO_HTTPX2",
    "OTHER",
    "ROLES",
    "ROOT",
    "SMALL",
    "WS",
    "TestClient",
    "client_for",
    "small_plan",
]


@functools.cache
def small_plan() -> tuple[bytes, dict[str, Any]]:
    """plan.json bytes of examples/small.yaml (planned once per test process) and its dict."""
    from hyperplan.plan import plan
    from hyperplan.scenario.load import load_scenario

    data = plan(load_scenario(SMALL)).to_dict()
    text = json.dumps(data, indent=1, default=str)
    return text.encode("utf-8"), json.loads(text)


def make_tokens(ledger: Ledger) -> dict[str, str]:
    """A token per role in ``WS`` (key: the role), an admin of ``OTHER`` ("other"), a revoked
    approver of ``WS`` ("revoked") and a token that was never issued ("bad")."""
    tokens = {
        role: access.create_token(ledger, f"{role}-user", WS, role, author="setup")[0]
        for role in ROLES
    }
    tokens["other"] = access.create_token(ledger, "olga", OTHER, "admin", author="setup")[0]
    revoked, record = access.create_token(ledger, "rex", WS, "approver", author="setup")
    access.revoke_token(ledger, record["id"], author="setup")
    tokens["revoked"] = revoked
    tokens["bad"] = "hp_" + "A" * 43
    return tokens


def client_for(ledger: Ledger, **kwargs: Any) -> TestClient:
    """A TestClient of an app over ``ledger`` (use it in a ``with`` block)."""
    return TestClient(create_app(ledger=ledger, **kwargs))


def bearer(token: str | None) -> dict[str, str]:
    """The Authorization header of ``token`` (none for ``None``)."""
    return {} if token is None else {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(ledger: Ledger) -> dict[str, str]:
    """A token per role in WS (and one of OTHER): :func:`make_tokens`."""
    return make_tokens(ledger)


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder the server's temporary upload files go to (checked empty afterwards)."""
    folder = tmp_path / "server-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder
