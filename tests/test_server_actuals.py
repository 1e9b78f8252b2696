"""The actuals endpoints: uploads of FOCUS exports and the report, on SQLite and PostgreSQL.

The report over HTTP is compared, document for document, with ``hyperplan actuals import`` +
``hyperplan actuals report --json`` run on the same files against a ledger of their own; the
hand-derived figures below (utilisation of ri-1) come from the rows written here.
"""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import func, select

import ledger_db
import server_helpers
from cli_runner import separate_runner
from hyperplan.cli import app
from hyperplan.ledger.actuals_store import ActualsGroup, ActualsImport
from hyperplan.ledger.models import Adoption, AuditEntry
from server_helpers import WS, bearer, client_for, small_plan

db_url, ledger, postgres_url = ledger_db.db_url, ledger_db.ledger, ledger_db.postgres_url
tokens, uploads = server_helpers.tokens, server_helpers.uploads  # fixtures

V1 = f"/api/v1/{WS}"
FIX = Path(__file__).parent / "fixtures" / "focus"
SPEC_CSV = FIX / "commitment_discount_scenarios" / "commitment_discount_usage_scenario_1.csv"
SPEC_PARQUET = (
    FIX
    / "commitment_discount_flexibility"
    / "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_2_resources.csv"
)
HEADER = (
    "ChargePeriodStart,ChargeCategory,PricingCategory,BilledCost,EffectiveCost,"
    "CommitmentDiscountId,CommitmentDiscountStatus,ProviderName,SkuId,ConsumedQuantity,"
    "ConsumedUnit\n"
)
JAN = (
    "2027-01-01T00:00:00Z,Usage,Committed,0.00,30.00,ri-1,Used,AWS,p5.48xlarge,1,Hours\n"
    "2027-01-01T00:00:00Z,Usage,Committed,0.00,10.00,ri-1,Unused,AWS,p5.48xlarge,,Hours\n"
    "2027-01-02T00:00:00Z,Usage,Standard,50.00,50.00,,,AWS,p5.48xlarge,2,Hours\n"
    "2027-01-03T00:00:00Z,Usage,Standard,7.00,7.00,,,Nobody,x,1,Hours\n"
)
FEB = (
    "2027-02-01T00:00:00Z,Usage,Committed,0.00,20.00,ri-1,Used,AWS,p5.48xlarge,1,Hours\n"
    "2027-02-01T00:00:00Z,Usage,Committed,0.00,20.00,ri-1,Unused,AWS,p5.48xlarge,,Hours\n"
)
TYPES = {
    ".csv": "text/csv",
    ".gz": "application/gzip",
    ".parquet": "application/vnd.apache.parquet",
}
runner = separate_runner()


@pytest.fixture
def client(ledger, uploads):
    with client_for(ledger) as c:
        yield c


@pytest.fixture
def bills(tmp_path) -> list[Path]:
    """Four exports of each kind: CSV, CSV.gz, Parquet (a spec example), a spec example CSV."""
    folder = tmp_path / "bills"
    folder.mkdir()
    jan = folder / "jan.csv"
    jan.write_text(HEADER + JAN)
    feb = folder / "feb.csv.gz"
    feb.write_bytes(gzip.compress((HEADER + FEB).encode(), mtime=0))
    parquet = folder / "flex.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_csv('{SPEC_PARQUET}', all_varchar=true)) TO '{parquet}' "
        "(FORMAT parquet)"
    )
    con.close()
    spec = folder / "usage1.csv"
    shutil.copyfile(SPEC_CSV, spec)
    return [jan, feb, parquet, spec]


def content_type(path: Path) -> str:
    return TYPES[path.suffix]


def upload(client, token: str, path: Path, *, name: str | None = None, **headers: str):
    return client.post(
        f"{V1}/actuals/imports",
        params={"filename": name or path.name},
        content=path.read_bytes(),
        headers={**bearer(token), "Content-Type": content_type(path), **headers},
    )


def hp(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 0, result.output
    return result


def cli_report(bills: list[Path], db: str, monkeypatch, *extra: str) -> dict:
    """``actuals import`` of the bills (named as the server's clients name them: the folder is
    the working directory) then ``actuals report --json``, against the ledger ``db``."""
    monkeypatch.chdir(bills[0].parent)
    hp("actuals", "import", *[b.name for b in bills], "--db", db, "--workspace", WS)
    return json.loads(
        hp("actuals", "report", "--db", db, "--workspace", WS, "--json", *extra).stdout
    )


def count(ledger, model) -> int:
    with ledger.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


def test_upload_then_report_equals_the_clis_import_and_report(
    ledger, client, tokens, bills, uploads, tmp_path, monkeypatch
) -> None:
    for b in bills:
        r = upload(client, tokens["planner"], b)
        assert r.status_code == 201, r.text
        assert [s["path"] for s in r.json()["stored"]] == [b.name]
        assert r.json()["skipped"] == []
    assert list(uploads.iterdir()) == []  # no temporary file left behind
    got = client.get(f"{V1}/actuals/report", headers=bearer(tokens["viewer"]))
    assert got.status_code == 200
    doc = got.json()
    want = cli_report(bills, f"sqlite:///{tmp_path / 'cli.db'}", monkeypatch)
    assert doc == want
    # and the document holds what the rows say (by hand): 4 + 2 + spec rows; ri-1 used 30 of
    # 40 USD in January (0.75) and 20 of 40 in February (0.5)
    assert doc["files"] == ["jan.csv", "feb.csv.gz", "flex.parquet", "usage1.csv"]
    spec_rows = sum(  # data rows of the spec examples, blank lines aside
        sum(1 for row in csv.reader(f.read_text().splitlines()) if row) - 1
        for f in (SPEC_PARQUET, SPEC_CSV)
    )
    assert doc["rows"] == 4 + 2 + spec_rows
    ri = {
        r["month"]: (r["used_usd"], r["unused_usd"], r["utilisation"])
        for r in doc["tables"]["utilisation"]["rows"]
        if r["commitment_id"] == "ri-1"
    }
    assert ri == {"2027-01": (30.0, 10.0, 0.75), "2027-02": (20.0, 20.0, 0.5)}
    # the listing holds the same records as the CLI's ledger (ids, authors, times aside)
    listed = client.get(f"{V1}/actuals", headers=bearer(tokens["viewer"])).json()
    keys = ("path", "sha256", "rows", "first_month", "last_month", "unmapped", "warnings")
    from hyperplan.ledger.actuals_store import list_imports
    from hyperplan.ledger.db import open_ledger

    cli = open_ledger(f"sqlite:///{tmp_path / 'cli.db'}")
    try:
        theirs = list_imports(cli, WS)
    finally:
        cli.dispose()
    assert [{k: r[k] for k in keys} for r in listed] == [{k: r[k] for k in keys} for r in theirs]
    assert {r["author"] for r in listed} == {"planner-user"}


def test_report_with_a_plan_run_equals_the_cli_with_that_plan(
    ledger, client, tokens, bills, tmp_path, monkeypatch
) -> None:
    body, _ = small_plan()
    r = client.post(
        f"{V1}/adoptions?expect_version=0", content=body, headers=bearer(tokens["approver"])
    )
    assert r.status_code == 201
    with ledger.transaction() as s:
        run_id = s.scalar(select(Adoption.plan_run_id))
    for b in bills[:2]:
        assert upload(client, tokens["planner"], b).status_code == 201
    got = client.get(
        f"{V1}/actuals/report", params={"plan_run": run_id}, headers=bearer(tokens["viewer"])
    )
    assert got.status_code == 200, got.text
    plan_file = tmp_path / "plan.json"
    plan_file.write_bytes(body)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    hp("adopt", str(plan_file), "--yes", "--db", db, "--workspace", WS, "--author", "x")
    want = cli_report(bills[:2], db, monkeypatch, "--plan", str(plan_file))
    assert got.json() == want
    assert "plan_vs_actual" in want["tables"] and want["tables"]["plan_vs_actual"]["rows"]
    missing = client.get(
        f"{V1}/actuals/report", params={"plan_run": 999}, headers=bearer(tokens["viewer"])
    )
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_the_same_bytes_again_are_skipped_and_stored_once(ledger, client, tokens, bills) -> None:
    jan = bills[0]
    first = upload(client, tokens["planner"], jan)
    assert first.status_code == 201
    groups = count(ledger, ActualsGroup)
    again = upload(client, tokens["planner"], jan, name="january-copy.csv")
    assert again.status_code == 200
    skipped = again.json()["skipped"]
    assert [(s["path"], s["previous"]["path"]) for s in skipped] == [
        ("january-copy.csv", "jan.csv")
    ]
    assert skipped[0]["sha256"] == first.json()["stored"][0]["sha256"]
    assert again.json()["stored"] == []
    assert count(ledger, ActualsImport) == 1 and count(ledger, ActualsGroup) == groups
    with ledger.transaction() as s:
        imports = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "import")
        )
    assert imports == 1


def test_a_bad_file_is_located_by_the_clients_name_and_stores_nothing(
    ledger, client, tokens, uploads
) -> None:
    bad = HEADER + JAN.replace("0.00,10.00", "0.00,ten", 1)  # data row 2 = line 3
    r = client.post(
        f"{V1}/actuals/imports",
        params={"filename": "march.csv"},
        content=bad.encode(),
        headers={**bearer(tokens["planner"]), "Content-Type": "text/csv"},
    )
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert [(p["file"], p["line"], p["path"]) for p in problems] == [
        ("march.csv", 3, "EffectiveCost")
    ]
    assert "'ten'" in problems[0]["message"]
    assert "hyperplan-upload-" not in r.text and str(uploads) not in r.text
    # not gzip although named so: located by the client's name too
    r = client.post(
        f"{V1}/actuals/imports",
        params={"filename": "april.csv.gz"},
        content=b"plain text, not gzip\n",
        headers={**bearer(tokens["planner"]), "Content-Type": "application/gzip"},
    )
    assert r.status_code == 422
    assert [p["file"] for p in r.json()["problems"]] == ["april.csv.gz"]
    assert "hyperplan-upload-" not in r.text
    assert count(ledger, ActualsImport) == 0 and count(ledger, ActualsGroup) == 0
    assert list(uploads.iterdir()) == []


@pytest.mark.parametrize(
    ("params", "ctype", "status", "where"),
    [
        ({}, "text/csv", 422, "query.filename"),
        ({"filename": "../etc/bill.csv"}, "text/csv", 422, "query.filename"),
        ({"filename": "bill.xlsx"}, "text/csv", 422, "query.filename"),
        ({"filename": "bill.csv"}, "application/json", 415, None),
        ({"filename": "bill.parquet"}, "text/csv", 415, None),
    ],
)
def test_bad_names_and_content_types_are_refused_before_reading(
    ledger, client, tokens, params, ctype, status, where
) -> None:
    r = client.post(
        f"{V1}/actuals/imports",
        params=params,
        content=(HEADER + JAN).encode(),
        headers={**bearer(tokens["planner"]), "Content-Type": ctype},
    )
    assert r.status_code == status, r.text
    if where is not None:
        assert [p["path"] for p in r.json()["problems"]] == [where]
    assert count(ledger, ActualsImport) == 0


def test_the_file_name_may_come_in_a_header(ledger, client, tokens) -> None:
    r = client.post(
        f"{V1}/actuals/imports",
        content=(HEADER + FEB).encode(),
        headers={**bearer(tokens["planner"]), "Content-Type": "text/csv", "X-Filename": "f.csv"},
    )
    assert r.status_code == 201 and r.json()["stored"][0]["path"] == "f.csv"


def test_an_idempotency_key_replays_the_first_answer(ledger, client, tokens, bills) -> None:
    jan = bills[0]
    first = upload(client, tokens["planner"], jan, **{"Idempotency-Key": "imp-1"})
    assert first.status_code == 201
    again = upload(client, tokens["planner"], jan, **{"Idempotency-Key": "imp-1"})
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert count(ledger, ActualsImport) == 1
    other = upload(client, tokens["planner"], bills[1], **{"Idempotency-Key": "imp-1"})
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"
    assert count(ledger, ActualsImport) == 1


def test_a_viewer_cannot_upload_and_uploads_above_the_limit_get_413(
    ledger, tokens, bills, uploads
) -> None:
    with client_for(ledger, max_body_bytes=600) as small:
        r = upload(small, tokens["viewer"], bills[0])
        assert r.status_code == 403
        big = (HEADER + JAN * 3).encode()
        assert len(big) > 600 > bills[0].stat().st_size
        r = small.post(
            f"{V1}/actuals/imports",
            params={"filename": "big.csv"},
            content=big,
            headers={**bearer(tokens["planner"]), "Content-Type": "text/csv"},
        )
        assert r.status_code == 413
        # streamed without a length: refused while reading, the partial file removed
        r = small.post(
            f"{V1}/actuals/imports",
            params={"filename": "big.csv"},
            content=iter([big[:200], big[200:]]),
            headers={**bearer(tokens["planner"]), "Content-Type": "text/csv"},
        )
        assert r.status_code == 413
    assert count(ledger, ActualsImport) == 0
    assert list(uploads.iterdir()) == []


def test_the_report_without_imports_is_404(client, tokens) -> None:
    r = client.get(f"{V1}/actuals/report", headers=bearer(tokens["viewer"]))
    assert r.status_code == 404 and "actuals/imports" in r.json()["message"]
    assert client.get(f"{V1}/actuals", headers=bearer(tokens["viewer"])).json() == []


def test_openapi_documents_the_actuals_operations(client) -> None:
    spec = client.get("/openapi.json").json()
    up = spec["paths"]["/api/v1/{workspace}/actuals/imports"]["post"]
    assert {"text/csv", "application/gzip", "application/vnd.apache.parquet"} <= set(
        up["requestBody"]["content"]
    )
    assert {"200", "201", "401", "403", "413", "415", "422"} <= set(up["responses"])
    assert up["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ImportOut"
    }
    rep = spec["paths"]["/api/v1/{workspace}/actuals/report"]["get"]
    assert rep["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ActualsReport"
    }
    assert {"401", "403", "404", "422"} <= set(rep["responses"])
