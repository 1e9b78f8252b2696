"""Actuals stored in the ledger: ``hyperplan actuals import`` and ``actuals report`` from the
ledger, on SQLite and PostgreSQL (``ledger_db``). Every figure below is derived by hand from
the rows written in the test."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

import ledger_db
from cli_runner import separate_runner
from hyperplan.cli import app
from hyperplan.ledger.actuals_store import ActualsContractUse, ActualsGroup, ActualsImport
from hyperplan.ledger.db import open_ledger
from hyperplan.ledger.models import Contract, Workspace, utcnow

db_url, postgres_url = ledger_db.db_url, ledger_db.postgres_url
runner = separate_runner()

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


def hp(*args: str):
    result = runner.invoke(app, list(args))
    out = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in out and "internal error" not in out, out
    return result


@pytest.fixture
def bills(tmp_path: Path) -> tuple[Path, Path]:
    jan, feb = tmp_path / "jan.csv", tmp_path / "feb.csv"
    jan.write_text(HEADER + JAN)
    feb.write_text(HEADER + FEB)
    return jan, feb


def _counts(url: str) -> tuple[int, int, int]:
    ledger = open_ledger(url)
    try:
        with ledger.transaction() as s:
            return (
                s.scalar(select(func.count()).select_from(ActualsImport)),
                s.scalar(select(func.count()).select_from(ActualsGroup)),
                s.scalar(select(func.count()).select_from(ActualsContractUse)),
            )
    finally:
        ledger.dispose()


def _tables(output: str) -> dict:
    return json.loads(output)["tables"]


def test_import_then_report_from_the_ledger_equals_report_from_the_files(db_url, bills) -> None:
    jan, feb = bills
    done = hp("actuals", "import", str(jan), str(feb), "--db", db_url, "--author", "ann")
    assert done.exit_code == 0, done.output
    assert f"imported {jan}: 4 FOCUS rows" in done.output
    assert f"imported {feb}: 2 FOCUS rows" in done.output
    assert "2 file(s) stored, 0 already there" in done.output
    # the unmapped 'Nobody' row is counted on stderr: 1 row, 7.00 USD
    assert "1 row(s) (7.00 USD EffectiveCost): provider not recognised" in done.stderr
    imports, groups, _ = _counts(db_url)
    assert imports == 2
    # groups, not rows: jan's 4 rows are 4 distinct keys, feb's 2 rows 2 keys
    assert groups == 6
    stored = hp("actuals", "report", "--db", db_url, "--json")
    files = hp("actuals", "report", str(jan), str(feb), "--json")
    assert stored.exit_code == 0 and files.exit_code == 0, stored.output + files.output
    a, b = _tables(stored.stdout), _tables(files.stdout)
    for name in ("spend", "utilisation", "coverage", "unmapped"):
        assert a[name]["rows"] == b[name]["rows"], name
    util = {r["month"]: r for r in a["utilisation"]["rows"]}
    # January: used 30, unused 10 → 0.75; February: 20 / 40 = 0.5
    assert util["2027-01"]["used_usd"] == 30.0 and util["2027-01"]["unused_usd"] == 10.0
    assert util["2027-01"]["utilisation"] == 0.75
    assert util["2027-02"]["utilisation"] == 0.5
    spend = {(r["provider"], r["charge_category"]): r for r in a["spend"]["rows"]}
    # aws usage: 30 + 10 + 50 + 20 + 20 = 130 USD; GPU-hours (1 + 2 + 1) × 8 = 32
    assert spend[("aws", "Usage")]["effective_usd"] == 130.0
    assert spend[("aws", "Usage")]["gpu_hours"] == 32.0
    assert json.loads(stored.stdout)["rows"] == 6


def test_a_file_already_imported_is_not_counted_twice(db_url, bills, tmp_path) -> None:
    jan, _ = bills
    assert hp("actuals", "import", str(jan), "--db", db_url).exit_code == 0
    copy = tmp_path / "copy-of-jan.csv"
    copy.write_bytes(jan.read_bytes())
    again = hp("actuals", "import", str(copy), "--db", db_url, "--json")
    assert again.exit_code == 0, again.output
    assert f"{copy}: already imported (same SHA-256 as {jan}" in again.stderr
    data = json.loads(again.stdout)
    assert data["stored"] == [] and [s["path"] for s in data["skipped"]] == [str(copy)]
    assert _counts(db_url)[0] == 1
    rep = _tables(hp("actuals", "report", "--db", db_url, "--json").stdout)
    spend = {(r["provider"], r["charge_category"]): r for r in rep["spend"]["rows"]}
    assert spend[("aws", "Usage")]["effective_usd"] == 90.0  # 30 + 10 + 50, once


def test_a_bad_second_file_leaves_nothing_behind(db_url, bills, tmp_path) -> None:
    jan, _ = bills
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + FEB.replace("20.00,ri-1,Used", "twenty,ri-1,Used"))
    result = hp("actuals", "import", str(jan), str(bad), "--db", db_url)
    assert result.exit_code == 2, result.output
    assert "bad.csv:2" in result.stderr and "EffectiveCost" in result.stderr
    assert "'twenty'" in result.stderr
    assert _counts(db_url) == (0, 0, 0)
    audit = json.loads(hp("ledger", "audit", "--db", db_url, "-f", "json").stdout)
    assert audit == []


def test_each_import_writes_an_audit_entry(db_url, bills) -> None:
    jan, feb = bills
    hp("actuals", "import", str(jan), str(feb), "--db", db_url, "--author", "bob")
    audit = json.loads(hp("ledger", "audit", "--db", db_url, "-f", "json").stdout)
    assert [(a["action"], a["entity"], a["actor"]) for a in audit] == [
        ("import", "actuals_import", "bob"),
        ("import", "actuals_import", "bob"),
    ]
    assert [a["after"]["path"] for a in audit] == [str(jan), str(feb)]
    assert [a["after"]["rows"] for a in audit] == [4, 2]
    assert audit[0]["after"]["first_month"] == "2027-01"
    # an import changes no commitment or contract: the ledger version does not move
    assert [a["ledger_version"] for a in audit] == [0, 0]


def test_report_takes_the_contracts_from_the_ledger(db_url, bills) -> None:
    jan, feb = bills
    hp("actuals", "import", str(jan), str(feb), "--db", db_url)
    ledger = open_ledger(db_url)
    try:
        with ledger.transaction() as s:
            ws = s.scalar(select(Workspace).where(Workspace.name == "default"))
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
    finally:
        ledger.dispose()
    rep = hp("actuals", "report", "--db", db_url, "--json")
    assert rep.exit_code == 0, rep.output
    assert "1 take-or-pay contract(s) from the ledger" in rep.stderr
    (row,) = _tables(rep.stdout)["burndown"]["rows"]
    # consumed: aws EffectiveCost in Jan (90) + Feb (40) = 130; mean 65 per month; the bills
    # end with February, so 10 months (306 days / 30.4375) are left
    assert row["contract"] == "aws-edp" and row["consumed_usd"] == 130.0
    assert row["monthly_mean_usd"] == 65.0
    assert row["forecast_p50_usd"] == pytest.approx(130.0 + 65.0 * 306 / (365.25 / 12))
    assert row["shortfall_p50_usd"] == pytest.approx(1000.0 - row["forecast_p50_usd"])


def test_report_without_bills_and_nothing_imported_exits_2(db_url) -> None:
    result = hp("actuals", "report", "--db", db_url)
    assert result.exit_code == 2
    assert "holds no imported actuals" in " ".join(result.stderr.split())  # wrapped at any width


def test_html_section_escapes_bill_text_and_shows_the_answers(tmp_path) -> None:
    from hyperplan.actuals.collect import gather
    from hyperplan.actuals.shape import section_view
    from hyperplan.report.actuals_section import render_actuals_section

    bill = tmp_path / "x.csv"
    bill.write_text(HEADER + JAN.replace("ri-1", "<script>alert(1)</script>"))
    frame, tables, notes = gather([bill])
    html = render_actuals_section(section_view(tables, frame, notes))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.startswith('<section id="actuals"')
    # January utilisation by hand: 30 / (30 + 10) = 0.75, shown to 4 places
    assert '<td class="num">30.00</td><td class="num">10.00</td><td class="num">0.7500</td>' in html
    assert "4 FOCUS rows from 1 file(s)" in html


def test_report_command_adds_the_actuals_section(db_url, bills, tmp_path) -> None:
    from hyperplan.plan import plan as make_plan
    from hyperplan.scenario.load import load_scenario

    root = Path(__file__).resolve().parents[1]
    plan = tmp_path / "plan.json"
    make_plan(load_scenario(root / "examples" / "small.yaml")).to_json(plan)
    jan, feb = bills
    hp("actuals", "import", str(jan), str(feb), "--db", db_url)
    out = tmp_path / "r.html"
    r = hp("report", str(plan), "--db", db_url, "-o", str(out))
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert html.count('<section id="actuals"') == 1
    assert html.index('<section id="actuals"') < html.rindex("</main>")
    assert 'id="actuals-utilisation"' in html and 'id="actuals-plan_vs_actual"' in html


def test_contract_applied_amounts_survive_the_ledger(db_url, tmp_path) -> None:
    head = (
        "ChargePeriodStart,ChargeCategory,BilledCost,EffectiveCost,ProviderName,ContractApplied\n"
    )

    def applied(usd: float) -> str:
        el = {
            "ContractId": "K",
            "ContractCommitmentId": "CC-1",
            "ContractCommitmentAppliedCost": usd,
        }
        return '"' + json.dumps({"Elements": [el]}).replace('"', '""') + '"'

    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(head + f"2027-01-05T00:00:00Z,Usage,100,100,AWS,{applied(60.0)}\n")
    b.write_text(
        head
        + f"2027-02-05T00:00:00Z,Usage,100,100,AWS,{applied(40.0)}\n"
        + f"2027-02-06T00:00:00Z,Usage,100,100,AWS,{applied(2.5)}\n"
    )
    contracts = tmp_path / "c.csv"
    contracts.write_text(
        "name,provider,committed_usd,start,end\nCC-1,aws,500,2027-01-01,2027-04-01\n"
    )
    assert hp("actuals", "import", str(a), str(b), "--db", db_url).exit_code == 0
    assert _counts(db_url)[2] == 2  # one (month, contract) amount per file
    rep = hp("actuals", "report", "--db", db_url, "--contracts", str(contracts), "--json")
    (row,) = _tables(rep.stdout)["burndown"]["rows"]
    # consumed = 60 + 40 + 2.5 from ContractApplied (not the 300 USD EffectiveCost)
    assert row["basis"] == "ContractApplied" and row["consumed_usd"] == 102.5
    files = hp("actuals", "report", str(a), str(b), "--contracts", str(contracts), "--json")
    assert _tables(files.stdout)["burndown"]["rows"] == [row]


def test_report_without_bills_or_ledger_creates_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYPERPLAN_DATABASE_URL", raising=False)
    result = hp("actuals", "report")
    assert result.exit_code == 2
    assert "no FOCUS export given and no ledger" in result.stderr
    assert not (tmp_path / ".hyperplan").exists()


def test_group_rows_become_driver_values_column_by_column() -> None:
    """``_records`` converts whole columns: NaN/inf/NaT/missing text → None, datetimes naive."""
    import numpy as np
    import pandas as pd

    from hyperplan.ledger.actuals_store import _records

    df = pd.DataFrame(
        {
            "month": ["2027-01", None, np.nan],
            "usd": [1.5, np.nan, np.inf],
            "rows": np.array([3, 4, 5], dtype=np.int64),
            "last_start": pd.to_datetime(
                ["2027-01-31T23:00:00", None, "2027-02-01T00:00:00+01:00"],
                utc=True,
                format="ISO8601",
            ),
        }
    )
    got = _records(df, ("month", "usd", "rows", "missing", "last_start"), 7)
    assert got == [
        {
            "import_id": 7,
            "month": "2027-01",
            "usd": 1.5,
            "rows": 3.0,
            "missing": None,
            "last_start": dt.datetime(2027, 1, 31, 23, 0),
        },
        {
            "import_id": 7,
            "month": None,
            "usd": None,
            "rows": 4.0,
            "missing": None,
            "last_start": None,
        },
        {
            "import_id": 7,
            "month": None,
            "usd": None,
            "rows": 5.0,
            "missing": None,
            "last_start": dt.datetime(2027, 1, 31, 23, 0),
        },
    ]
    assert all(type(r["usd"]) in (float, type(None)) for r in got)  # no numpy scalars
    assert _records(df.iloc[:0], ("month",), 7) == []


def test_several_files_are_hashed_each_by_its_own_bytes(db_url, bills, tmp_path) -> None:
    """Files hashed side by side keep their own SHA-256 (hashlib over the bytes, independently)."""
    import hashlib

    jan, feb = bills
    result = hp("actuals", "import", str(jan), str(feb), "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    stored = {s["path"]: s["sha256"] for s in json.loads(result.stdout)["stored"]}
    assert stored == {
        str(jan): hashlib.sha256(jan.read_bytes()).hexdigest(),
        str(feb): hashlib.sha256(feb.read_bytes()).hexdigest(),
    }
