"""Schemathesis against the app's own OpenAPI document: no generated request gets a 5xx.

Every operation is called with examples generated from its schema (bounded: a few per
operation, no deadline), on SQLite and PostgreSQL, with an admin token of the workspace so the
requests reach the code behind the auth check (the auth itself is tested in test_server.py).
The ledger holds an adopted plan, so generated ids sometimes hit real commitments.
"""

from __future__ import annotations

import warnings

import pytest

schemathesis = pytest.importorskip(
    "schemathesis",
    minversion="4.0",
    reason="schemathesis 4 is the 'fuzz' extra: pip install '.[test,fuzz]'",
)
from hypothesis import HealthCheck, settings  # noqa: E402

import ledger_db  # noqa: E402
from hyperplan.ledger import access  # noqa: E402
from server_helpers import NO_HTTPX2, WS, client_for, small_plan  # noqa: E402

db_url, ledger, postgres_url = ledger_db.db_url, ledger_db.ledger, ledger_db.postgres_url

EXAMPLES = 8
"""Examples per operation (18 operations: about 10-20 s per backend on a 2-core machine)."""


@pytest.fixture
def api_schema(ledger):
    from hyperplan.server.app import create_app

    token, record = access.create_token(ledger, "fuzz", WS, "admin", author="setup")
    body, _ = small_plan()
    with client_for(ledger) as c:
        r = c.post(
            f"/api/v1/{WS}/adoptions?expect_version=0",
            content=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201
    app = create_app(ledger=ledger)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=NO_HTTPX2)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.token = token  # type: ignore[attr-defined]
    schema.token_id = record["id"]  # type: ignore[attr-defined]
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_generated_request_gets_a_5xx(case, api_schema) -> None:
    if case.path_parameters and "workspace" in case.path_parameters:
        case.path_parameters["workspace"] = WS
    if case.path_parameters and case.path_parameters.get("token_id") == api_schema.token_id:
        case.path_parameters["token_id"] = api_schema.token_id + 1000  # keep our own token
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=NO_HTTPX2)
        response = case.call(headers={"Authorization": f"Bearer {api_schema.token}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
