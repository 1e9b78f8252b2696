"""The ledger's commands: adopt (preview, apply, stale refusal), sign, list/export, audit,
plan --from-ledger, and bad input (exit 2, never a traceback). Both backends (``ledger_db``).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ledger_db
from hyperplan.cli import app
from hyperplan.plan import solve_scenario
from hyperplan.plan.api import Plan
from plan_helpers import horizon, inference, offer, scenario, tiny_catalog

ROOT = Path(__file__).resolve().parents[1]
db_url, postgres_url = ledger_db.db_url, ledger_db.postgres_url  # fixtures on both backends
runner = CliRunner()


def hp(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result


@pytest.fixture
def tiny_plan(tmp_path) -> Path:
    """plan.json: 10 one-year reservations of aws us-east-1 a1 at 1.2 USD/h from 2027-01-01
    (1000 tok/s at 100 tok/s per instance; 1.2 reserved beats 2.0 on demand):
    10 × 1.2 × 8760 = 105 120 USD over the term."""
    cat = tiny_catalog(
        tmp_path, [offer("aws", "us-east-1", "a1", 2.0, reserved_1y_usd_per_hour=1.2)]
    )
    sc = scenario(
        horizon=horizon(1),
        terms=[1],
        workloads=[inference("chat", 1000)],
        policies={"outages": "none"},
    )
    path = tmp_path / "plan.json"
    solve_scenario(sc, catalog=cat).plan.to_json(path)
    return path


def test_adopt_previews_applies_and_refuses_a_stale_preview(db_url, tiny_plan) -> None:
    preview = hp("adopt", str(tiny_plan), "--db", db_url)
    assert preview.exit_code == 0, preview.output
    assert "1 new, 0 changed, 0 cancelled, 0 unchanged" in preview.output
    assert f"to apply: hyperplan adopt {tiny_plan} --yes --expect-version 0" in preview.output
    assert "105,120" in preview.output
    assert json.loads(hp("ledger", "--db", db_url, "-f", "json").output) == []  # nothing applied
    applied = hp(
        "adopt", str(tiny_plan), "--yes", "--expect-version", "0", "--db", db_url, "--author", "ann"
    )
    assert applied.exit_code == 0, applied.output
    assert "adopted (adoption 1): ledger version 0 → 1" in applied.output
    stale = hp("adopt", str(tiny_plan), "--yes", "--expect-version", "0", "--db", db_url)
    assert stale.exit_code == 5
    assert "is at version 1, not 0 as previewed" in stale.output
    again = hp("adopt", str(tiny_plan), "--db", db_url)  # the same plan again: nothing to do
    assert "0 new, 0 changed, 0 cancelled, 1 unchanged" in again.output


def test_sign_list_export_and_audit(db_url, tiny_plan, tmp_path) -> None:
    assert hp("adopt", str(tiny_plan), "--yes", "--db", db_url, "--author", "ann").exit_code == 0
    signed = hp("sign", "1", "--external-id", "cd-0001", "--db", db_url, "--author", "bob")
    assert signed.exit_code == 0 and "commitment 1 signed (cd-0001)" in signed.output
    out_csv = tmp_path / "ledger.csv"
    assert (
        hp("ledger", "list", "--format", "csv", "-o", str(out_csv), "--db", db_url).exit_code == 0
    )
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert len(rows) == 1
    r = rows[0]
    assert (r["id"], r["state"], r["provider"], r["region"], r["offer"]) == (
        "1",
        "signed",
        "aws",
        "us-east-1",
        "a1",
    )
    assert (r["term_years"], r["start"], r["end"], r["external_id"]) == (
        "1",
        "2027-01-01",
        "2028-01-01",
        "cd-0001",
    )
    assert float(r["quantity"]) == pytest.approx(10.0)
    assert float(r["usd_per_hour"]) == pytest.approx(1.2)
    assert float(r["value_usd"]) == pytest.approx(105_120.0)
    out_json = tmp_path / "ledger.json"
    assert hp("ledger", "-f", "json", "-o", str(out_json), "--db", db_url).exit_code == 0
    (j,) = json.loads(out_json.read_text())
    assert {k: j[k] for k in ("id", "state", "kind", "contract", "external_id")} == {
        "id": 1,
        "state": "signed",
        "kind": "reserved",
        "contract": None,
        "external_id": "cd-0001",
    }
    assert j["value_usd"] == pytest.approx(105_120.0)
    assert (
        json.loads(hp("ledger", "--state", "proposed", "-f", "json", "--db", db_url).output) == []
    )
    assert json.loads(hp("ledger", "--provider", "AWS", "-f", "json", "--db", db_url).output)
    table = hp("ledger", "--db", db_url)
    assert "cd-0001" in table.output and "105,120" in table.output
    audit = json.loads(hp("ledger", "audit", "-f", "json", "--db", db_url).output)
    assert [(a["ledger_version"], a["actor"], a["action"]) for a in audit] == [
        (1, "ann", "adopt"),
        (1, "ann", "create"),
        (2, "bob", "sign"),
    ]
    assert "sign" in hp("ledger", "audit", "--db", db_url).output


def test_plan_from_ledger_holds_the_signed_commitment(db_url, tmp_path, monkeypatch) -> None:
    """small.yaml planned, adopted, one commitment signed, planned again from the ledger: the
    signed reservation is existing capacity (its quantity × price × 8760 h inside the 2027-2028
    horizon is spent as "existing") and the plan costs what it cost before (nothing re-bought,
    nothing lost)."""
    monkeypatch.chdir(tmp_path)
    small = ROOT / "examples" / "small.yaml"
    first_plan = hp("plan", str(small), "-o", "p1.json", "--db", db_url)
    assert first_plan.exit_code == 0
    assert "--db and --workspace are used only with --from-ledger; ignored" in first_plan.output
    assert hp("adopt", "p1.json", "--yes", "--db", db_url).exit_code == 0
    p1 = Plan.from_json("p1.json")
    rows = json.loads(hp("ledger", "-f", "json", "--db", db_url).output)
    first = rows[0]  # the 2027-Q1 one-year reservation with the largest value
    assert hp("sign", str(first["id"]), "--external-id", "cd-1", "--db", db_url).exit_code == 0
    again = hp("plan", str(small), "--from-ledger", "--db", db_url, "-o", "p2.json")
    assert again.exit_code == 0, again.output
    assert "1 held commitment(s) as existing reservations" in again.output
    p2 = Plan.from_json("p2.json")
    assert p2.meta["ledger"]["version"] == 2 and p2.meta["ledger"]["workspace"] == "default"
    spend = p2.tables["spend"]
    existing = spend.loc[spend["market"] == "existing", "usd"].sum()
    assert existing == pytest.approx(first["quantity"] * first["usd_per_hour"] * 8760.0, rel=1e-9)
    assert p2.objective_usd == pytest.approx(p1.objective_usd, rel=1e-6)
    preview = hp("adopt", "p2.json", "--db", db_url)
    assert preview.exit_code == 0 and "1 signed or active kept" in preview.output
    # someone signs another commitment: p2 is now stale (exit 5), nothing applied
    assert hp("sign", str(rows[1]["id"]), "--external-id", "cd-2", "--db", db_url).exit_code == 0
    stale = hp("adopt", "p2.json", "--yes", "--db", db_url)
    assert stale.exit_code == 5 and "the plan is stale" in stale.output


def test_bad_input_exits_2_with_a_clear_message(db_url, tiny_plan, tmp_path) -> None:
    assert hp("adopt", str(tiny_plan), "--yes", "--db", db_url).exit_code == 0
    not_plan = tmp_path / "not-plan.json"
    not_plan.write_text('{"schema": "something else"}')
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    negative = tmp_path / "negative.json"
    data = json.loads(tiny_plan.read_text())
    data["tables"]["commitments"]["columns"]["instances"]["values"] = [-1.0]
    negative.write_text(json.dumps(data))
    not_db = tmp_path / "not-a.db"
    not_db.write_text("hello, I am not a database\n" * 100)
    cases = [
        (["sign", "99", "--external-id", "x", "--db", db_url], "no commitment with id 99"),
        (["ledger", "approve", "99", "--db", db_url], "no commitment with id 99"),
        (["ledger", "--state", "bogus", "--db", db_url], "unknown state 'bogus'"),
        (["ledger", "--format", "xml", "--db", db_url], "unknown format 'xml'"),
        (["ledger", "activate", "1", "--db", db_url], "a proposed commitment cannot become active"),
        (["ledger", "--db", "mysql://u@localhost/x"], "bad database URL"),
        (["ledger", "--db", str(not_db)], "file is not a database"),
        (["ledger", "--db", str(tmp_path)], "not a file"),
        (["ledger", "--db", "postgresql://ann:s3cret@127.0.0.1:1/x"], "ledger database"),
        (["ledger", "contracts", "-f", "yaml", "--db", db_url], "unknown format 'yaml'"),
        (["adopt", str(not_plan), "--db", db_url], "expected a plan.json (hyperplan.plan/1)"),
        (["adopt", str(garbage), "--db", db_url], "invalid JSON"),
        (["adopt", str(tmp_path / "missing.json"), "--db", db_url], "no such plan file"),
        (["adopt", str(negative), "--db", db_url], "instances"),
    ]
    for args, message in cases:
        result = hp(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)
        assert "s3cret" not in result.output  # a password never shows
    assert not_db.read_text().startswith("hello")  # an unreadable file is left as it was


def test_database_from_the_environment_and_the_default_file(
    db_url, tiny_plan, tmp_path, monkeypatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HYPERPLAN_DATABASE_URL", db_url)
    assert hp("adopt", str(tiny_plan), "--yes").exit_code == 0
    assert len(json.loads(hp("ledger", "-f", "json", "--db", db_url).output)) == 1
    assert not (work / ".hyperplan").exists()  # the environment's database was used
    monkeypatch.delenv("HYPERPLAN_DATABASE_URL")
    assert json.loads(hp("ledger", "-f", "json").output) == []  # the default: a new, empty file
    assert (work / ".hyperplan" / "ledger.db").is_file()
    # a plan not made from the ledger, adopted over signed commitments: said on stderr
    assert hp("sign", "1", "--external-id", "cd-1", "--db", db_url).exit_code == 0
    preview = hp("adopt", str(tiny_plan), "--db", db_url)
    assert preview.exit_code == 0
    assert "was not planned from the ledger: it does not count the 1 signed" in " ".join(
        preview.output.split()
    )
