"""Schemathesis against the app's own OpenAPI document: no generated request gets a 5xx.

Every operation is called with examples generated from its schema (bounded: a few per
operation, no deadline), on SQLite and PostgreSQL, with an admin token of the workspace so the
requests reach the code behind the auth check (the auth itself is tested in test_server.py).
The ledger holds an adopted plan, so generated ids sometimes hit real commitments, and an
imported FOCUS export, so the actuals report runs.

A longer hunt: ``HYPERPLAN_FUZZ_EXAMPLES=200 HYPERPLAN_FUZZ_SEED=7`` (examples per operation,
and a seed instead of the derandomised default); ``HYPERPLAN_FUZZ_PATHS=/actuals`` keeps only
the operations whose path contains that text.
"""

from __future__ import annotations

import os
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

EXAMPLES = int(os.environ.get("HYPERPLAN_FUZZ_EXAMPLES") or 8)
"""Examples per operation (18 operations, 8 each: about 10-20 s per backend on a 2-core machine)."""
SEED = os.environ.get("HYPERPLAN_FUZZ_SEED")
"""A hypothesis seed for a different walk than the derandomised default (``None``: default)."""
PATHS = os.environ.get("HYPERPLAN_FUZZ_PATHS") or ""
"""Only operations whose path contains this text (empty: all)."""


BILL = (
    "ChargePeriodStart,ChargeCategory,PricingCategory,BilledCost,EffectiveCost,"
    "CommitmentDiscountId,CommitmentDiscountStatus,ProviderName,SkuId,ConsumedQuantity,"
    "ConsumedUnit\n"
    "2027-01-01T00:00:00Z,Usage,Committed,0.00,30.00,ri-1,Used,AWS,p5.48xlarge,1,Hours\n"
    "2027-01-02T00:00:00Z,Usage,Standard,50.00,50.00,,,AWS,p5.48xlarge,2,Hours\n"
)
"""A small FOCUS export imported before the walk."""


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
        r = c.post(  # stored actuals: the report route runs its code, not only its 404
            f"/api/v1/{WS}/actuals/imports",
            params={"filename": "bill.csv"},
            content=BILL.encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        )
        assert r.status_code == 201, r.text
    app = create_app(ledger=ledger)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=NO_HTTPX2)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.token = token  # type: ignore[attr-defined]
    schema.token_id = record["id"]  # type: ignore[attr-defined]
    schema.backend = ledger.url.get_backend_name()  # type: ignore[attr-defined]
    return schema


def test_no_generated_request_gets_a_5xx(api_schema) -> None:
    """Each operation's examples (hypothesis, from schemathesis's strategy for it) called
    through the app; schemathesis's own pytest plugin is not used (it breaks on pytest 9.2's
    internals), the operations are walked here instead."""
    from hypothesis import given, seed

    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 18
    operations = [op for op in operations if PATHS in op.path]
    failures: list[tuple[str, str, int, str]] = []  # method, path, status, what was sent

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=SEED is None,
            database=None,
        )
        def check(case) -> None:
            if case.path_parameters and "workspace" in case.path_parameters:
                case.path_parameters["workspace"] = WS
            if case.path_parameters and case.path_parameters.get("token_id") == (
                api_schema.token_id
            ):
                case.path_parameters["token_id"] = api_schema.token_id + 1000  # keep our token
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=NO_HTTPX2)
                response = case.call(headers={"Authorization": f"Bearer {api_schema.token}"})
            if response.status_code >= 500:
                sent = f"path={case.path_parameters} query={case.query} body={case.body!r}"[:2000]
                failures.append((case.method, case.path, response.status_code, sent))

        (seed(int(SEED))(check) if SEED is not None else check)()
    assert failures == []
