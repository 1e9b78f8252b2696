"""The ledger library: migrations, adoption diffs, state machine, audit log, optimistic lock,
races and planning from the ledger. Every test runs on SQLite and on PostgreSQL (see
``ledger_db``). Figures are derived by hand: whole-term value = quantity × USD/h × 8760 h ×
term years.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

import ledger_db
from hyperplan.ledger import api
from hyperplan.ledger import jobs as _jobs  # noqa: F401  (the jobs table in Base.metadata)
from hyperplan.ledger.db import (
    current_revision,
    downgrade,
    head_revision,
    open_ledger,
    table_names,
    upgrade,
)
from hyperplan.ledger.errors import LedgerError, StaleLedger
from hyperplan.ledger.models import AuditEntry, Base, Commitment, PlanRun, ScenarioVersion
from hyperplan.plan.api import Plan
from hyperplan.scenario.schema import Reservation

ROOT = Path(__file__).resolve().parents[1]
db_url, ledger, postgres_url = (
    ledger_db.db_url,
    ledger_db.ledger,
    ledger_db.postgres_url,
)  # fixtures on both backends
TABLES = [
    "actuals_contract_use",
    "actuals_groups",
    "actuals_imports",
    "adoptions",
    "alembic_version",
    "api_tokens",
    "audit_log",
    "commitments",
    "console_sessions",
    "contracts",
    "idempotency_keys",
    "jobs",
    "plan_runs",
    "scenario_versions",
    "users",
    "workspaces",
]


def row(provider, region, offer, term, start, qty, price) -> dict[str, Any]:
    """One plan commitment; its whole-term value is qty × price × 8760 × term."""
    return {
        "provider": provider,
        "region": region,
        "instance_type": offer,
        "accelerator": "H100",
        "term_years": term,
        "commitment": "reserved",
        "start_date": dt.date.fromisoformat(start),
        "instances": float(qty),
        "usd_per_hour": float(price),
        "contract_value_usd": qty * price * 8760.0 * term,
    }


def synthetic_plan(rows: list[dict], *, version: int | None = None, contracts=()) -> Plan:
    """A Plan holding only a commitments table (the part an adoption reads)."""
    meta: dict[str, Any] = {
        "scenarios": ["base"],
        "scenario": {"name": "tiny", "contracts": list(contracts)},
    }
    if version is not None:
        meta["ledger"] = {"workspace": "default", "version": version}
    return Plan("tiny", "optimal", 0.0, {"commitments": pd.DataFrame(rows)}, {}, [], meta)


A = ("aws", "us-east-1", "a1", 1, "2027-01-01")
B = ("nebius", "eu-north1", "b1", 1, "2027-01-01")
C = ("aws", "us-west-2", "c1", 3, "2027-01-01")
D = ("nebius", "eu-north1", "b1", 1, "2028-01-01")
E = ("aws", "us-east-1", "a1", 1, "2028-01-01")

PLAN1 = [row(*A, 10, 1.2), row(*B, 5, 2.0), row(*C, 2, 1.0), row(*E, 3, 1.2)]
# A: 10 × 1.2 × 8760 = 105 120; B: 5 × 2.0 × 8760 = 87 600; C: 2 × 1.0 × 26 280 = 52 560;
# E: 3 × 1.2 × 8760 = 31 536
PLAN2 = [row(*A, 12, 1.2), row(*C, 2, 1.0), row(*D, 4, 2.0), row(*E, 3, 1.2)]
# A grows to 12 (126 144), B is gone, D is new (4 × 2.0 × 8760 = 70 080), E is the same. C is
# signed by then: the plan's C is a new commitment only if the plan was not made from the ledger,
# so PLAN2_FROM_LEDGER leaves it out.
PLAN2_FROM_LEDGER = [row(*A, 12, 1.2), row(*D, 4, 2.0), row(*E, 3, 1.2)]


def ids_by_offer(ledger) -> dict[tuple, int]:
    rows = api.list_commitments(ledger)
    return {(r["provider"], r["offer"], r["start"]): r["id"] for r in rows}


def count(ledger, model) -> int:
    with ledger.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


# ----------------------------------------------------------------------------------------------
# migrations
# ----------------------------------------------------------------------------------------------


def test_migrations_upgrade_from_empty_and_downgrade(db_url) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    led = open_ledger(db_url, migrate=False)
    try:
        assert current_revision(led) is None
        assert table_names(led) == []
        upgrade(led)
        assert current_revision(led) == head_revision() == "0005_console_sessions"
        assert table_names(led) == TABLES
        # the migrations build exactly what the models declare (no drift)
        with led.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        upgrade(led)  # a no-op at the head
        downgrade(led, "base")
        assert table_names(led) == ["alembic_version"]
        assert current_revision(led) is None
        upgrade(led)
        assert table_names(led) == TABLES
    finally:
        led.dispose()


OPENER = textwrap.dedent(
    """
    import sys, time
    sys.path[:0] = {paths!r}
    from hyperplan.ledger.db import current_revision, open_ledger
    while time.time() < {start!r}:
        time.sleep(0.001)
    led = open_ledger({url!r})
    print(current_revision(led))
    led.dispose()
    """
)


def test_three_processes_opening_a_new_ledger_at_once_all_reach_the_head(db_url) -> None:
    script = OPENER.format(paths=[str(ROOT / "src")], url=db_url, start=time.time() + 2.0)
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert [o.strip() for o in outs] == ["0005_console_sessions"] * 3
    led = open_ledger(db_url, migrate=False)
    try:
        assert table_names(led) == TABLES
    finally:
        led.dispose()


def test_audit_log_is_append_only(ledger) -> None:
    api.adopt(ledger, synthetic_plan([row(*A, 10, 1.2)]), author="ann")
    for sql in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), ledger.engine.begin() as conn:
            conn.execute(text(sql))
    assert [a["actor"] for a in api.audit_log(ledger)] == ["ann", "ann"]


# ----------------------------------------------------------------------------------------------
# the diff of a known plan against a known ledger
# ----------------------------------------------------------------------------------------------


def test_diff_of_a_known_plan_against_a_known_ledger(ledger) -> None:
    first = api.adopt(ledger, synthetic_plan(PLAN1), author="ann")
    assert first.version == 1 and first.diff.counts == {"new": 4, "changed": 0, "cancelled": 0}
    ids = ids_by_offer(ledger)
    api.sign(ledger, ids[("aws", "c1", "2027-01-01")], "cd-c1", author="bob")  # version 2

    pv = api.preview(ledger, synthetic_plan(PLAN2_FROM_LEDGER, version=2))
    d = pv.diff
    assert pv.version == 2 and pv.plan_version == 2
    assert d.counts == {"new": 1, "changed": 1, "cancelled": 1}
    assert d.unchanged == 1 and d.held == 1
    actions = [
        (c.action, c.item.provider, c.item.offer, c.item.start.isoformat()) for c in d.changes
    ]
    assert actions == [
        ("changed", "aws", "a1", "2027-01-01"),
        ("new", "nebius", "b1", "2028-01-01"),
        ("cancelled", "nebius", "b1", "2027-01-01"),
    ]
    changed = d.changes[0]
    assert changed.before.quantity == 10 and changed.after.quantity == 12
    assert changed.after.value_usd == pytest.approx(126_144.0, rel=1e-12)
    # before: aws = A 105 120 + C 52 560 + E 31 536 = 189 216; nebius = B 87 600
    # after:  aws = A 126 144 + C 52 560 + E 31 536 = 210 240; nebius = D 70 080
    money = d.money.set_index("provider")
    assert money.loc["aws", "before_usd"] == pytest.approx(189_216.0, rel=1e-12)
    assert money.loc["nebius", "before_usd"] == pytest.approx(87_600.0, rel=1e-12)
    assert money.loc["aws", "after_usd"] == pytest.approx(210_240.0, rel=1e-12)
    assert money.loc["nebius", "after_usd"] == pytest.approx(70_080.0, rel=1e-12)
    assert d.summary()["before_usd"] == pytest.approx(276_816.0, rel=1e-12)
    assert d.summary()["after_usd"] == pytest.approx(280_320.0, rel=1e-12)

    done = api.adopt(ledger, synthetic_plan(PLAN2_FROM_LEDGER, version=2), author="ann")
    assert (done.from_version, done.version) == (2, 3)
    rows = {(r["provider"], r["offer"], r["start"]): r for r in api.list_commitments(ledger)}
    assert len(rows) == 5
    assert rows[("aws", "a1", "2027-01-01")]["quantity"] == 12
    assert rows[("aws", "a1", "2027-01-01")]["state"] == "proposed"
    assert rows[("nebius", "b1", "2027-01-01")]["state"] == "cancelled"
    assert rows[("nebius", "b1", "2028-01-01")]["state"] == "proposed"
    assert rows[("aws", "c1", "2027-01-01")]["state"] == "signed"
    # adopting the same plan again (from the new version) changes nothing
    again = api.preview(ledger, synthetic_plan(PLAN2_FROM_LEDGER, version=3)).diff
    assert again.empty and again.unchanged == 3
    money = again.money.set_index("provider")
    assert list(money["before_usd"]) == list(money["after_usd"])
    assert money["after_usd"].sum() == pytest.approx(280_320.0, rel=1e-12)


def test_adoption_records_the_plan_run_and_scenario_version(ledger) -> None:
    plan = synthetic_plan([row(*A, 10, 1.2)])
    plan.meta["ledger"] = {
        "workspace": "default",
        "version": 0,
        "scenario_yaml": "name: tiny\n",
        "options": {"time_limit": 5},
        "versions": {
            "hyperplan": "9.9",
            "solver": "highspy 1.0",
            "catalog": "c1",
            "catalog_sha256": "ab" * 32,
        },
    }
    api.adopt(ledger, plan, author="ann")
    api.adopt(ledger, synthetic_plan([row(*A, 10, 1.2)], version=1), author="ann")
    with ledger.transaction() as s:
        runs = s.scalars(select(PlanRun).order_by(PlanRun.id)).all()
        versions = s.scalars(select(ScenarioVersion).order_by(ScenarioVersion.id)).all()
        assert [r.from_ledger_version for r in runs] == [0, 1]
        assert (runs[0].hyperplan_version, runs[0].solver_version) == ("9.9", "highspy 1.0")
        assert runs[0].catalog_sha256 == "ab" * 32
        assert runs[0].options == {"time_limit": 5, "integer": False, "outages": False}
        # the stored plan.json is the plan's own dump (the synthetic plan holds only commitments,
        # so Plan.from_dict, which validates a whole plan, would refuse it: read the JSON)
        stored = json.loads(runs[0].plan_json)
        assert stored["schema"] == "hyperplan.plan/1" and stored["scenario"] == "tiny"
        assert versions[0].yaml_text == "name: tiny\n"
        assert versions[0].sha256 == hashlib.sha256(b"name: tiny\n").hexdigest()
        # the second run had no YAML text: its scenario is the plan's dump, a second version
        assert len(versions) == 2 and runs[1].scenario_version_id == versions[1].id


def test_commitments_count_toward_the_take_or_pay_contract(ledger, db_url) -> None:
    tp = {
        "name": "aws-edp",
        "provider": "aws",
        "committed_usd": 1_000_000.0,
        "start": "2027-01-01",
        "end": "2028-01-01",
        "discount": 0.1,
    }
    api.adopt(ledger, synthetic_plan([row(*A, 10, 1.2), row(*E, 3, 1.2)], contracts=[tp]))
    rows = {r["start"]: r["contract"] for r in api.list_commitments(ledger)}
    # A starts inside the contract's window [2027-01-01, 2028-01-01); E starts at its end
    assert rows == {"2027-01-01": "aws-edp", "2028-01-01": None}
    assert [c["name"] for c in api.list_contracts(ledger)] == ["aws-edp"]
    from typer.testing import CliRunner

    from hyperplan.cli import app

    shown = CliRunner().invoke(app, ["ledger", "contracts", "-f", "json", "--db", db_url])
    assert shown.exit_code == 0, shown.output
    (c,) = json.loads(shown.output)
    assert {k: c[k] for k in ("name", "provider", "committed_usd", "start", "end")} == {
        "name": "aws-edp",
        "provider": "aws",
        "committed_usd": 1_000_000.0,
        "start": "2027-01-01",
        "end": "2028-01-01",
    }
    assert c["discount"] == pytest.approx(0.1)
    table = CliRunner().invoke(app, ["ledger", "contracts", "--db", db_url])
    assert "1,000,000" in table.output and "10%" in table.output


def test_a_build_ends_where_its_service_in_the_horizon_ends(ledger) -> None:
    build = {
        **row("owned:dc1", "onprem", "dc1-H100", 0, "2027-07-01", 100, 0.5),
        "commitment": "build",
        "first_period_index": 4,
        "periods_covered": 3,
        "contract_value_usd": 9_000_000.0,
    }
    plan = synthetic_plan([build])
    # quarterly horizon 2027-Q1 .. 2028-Q4: served from period 4 (2028-01-01) for 3 periods
    plan.meta["period_starts"] = [
        "2027-01-01", "2027-04-01", "2027-07-01", "2027-10-01",
        "2028-01-01", "2028-04-01", "2028-07-01", "2028-10-01", "2029-01-01",
    ]  # fmt: skip
    api.adopt(ledger, plan)
    (r,) = api.list_commitments(ledger)
    assert (r["kind"], r["start"], r["end"], r["value_usd"]) == (
        "build",
        "2027-07-01",
        "2028-10-01",
        9_000_000.0,
    )
    api.sign(ledger, r["id"], "po-77")
    from hyperplan.ledger.existing import reservations

    _, held = api.held(ledger)
    entries, notes = reservations(held)
    # a build has no reservation form: left out of a new plan, and said so
    assert entries == []
    assert notes == [
        f"commitment {r['id']} (build owned:dc1 dc1-H100) is not a reservation and is not "
        "carried into the plan"
    ]


# ----------------------------------------------------------------------------------------------
# state machine and audit
# ----------------------------------------------------------------------------------------------


def test_state_transitions_are_enforced(ledger) -> None:
    api.adopt(ledger, synthetic_plan([row(*A, 10, 1.2), row(*B, 5, 2.0)]))
    a, b = sorted(ids_by_offer(ledger).values())
    refused = [
        (lambda: api.transition(ledger, a, "active"), "a proposed commitment cannot become active"),
        (lambda: api.sign(ledger, a, "  "), "signing needs --external-id"),
        (lambda: api.transition(ledger, 999, "approved"), "no commitment with id 999"),
        (lambda: api.transition(ledger, a, "bogus"), "unknown state 'bogus'"),
    ]
    for call, message in refused:
        with pytest.raises(LedgerError, match=message):
            call()
    assert api.ledger_version(ledger) == 1  # refusals write nothing
    for state in ("approved", "signed", "active", "expired"):
        api.transition(ledger, a, state, external_id="cd-1" if state == "signed" else None)
    with pytest.raises(LedgerError, match="expired is final"):
        api.transition(ledger, a, "active")
    api.transition(ledger, b, "cancelled")
    with pytest.raises(LedgerError, match="a cancelled commitment cannot become signed"):
        api.sign(ledger, b, "cd-2")
    api.adopt(ledger, synthetic_plan([row(*C, 2, 1.0)]))  # version 7
    c = ids_by_offer(ledger)[("aws", "c1", "2027-01-01")]
    api.sign(ledger, c, "cd-3")
    with pytest.raises(LedgerError, match="a signed commitment cannot become cancelled"):
        api.transition(ledger, c, "cancelled")
    assert api.ledger_version(ledger) == 8
    states = {r["id"]: r["state"] for r in api.list_commitments(ledger)}
    assert states == {a: "expired", b: "cancelled", c: "signed"}


def test_audit_rows_record_who_what_and_before_after(ledger) -> None:
    api.adopt(ledger, synthetic_plan([row(*A, 10, 1.2)]), author="ann")
    (cid,) = ids_by_offer(ledger).values()
    api.sign(ledger, cid, "cd-42", author="bob")
    api.adopt(ledger, synthetic_plan([]), author="ann")  # nothing open left: a no-op adoption
    log = api.audit_log(ledger)
    assert [(a["ledger_version"], a["actor"], a["action"], a["entity"]) for a in log] == [
        (1, "ann", "adopt", "adoption"),
        (1, "ann", "create", "commitment"),
        (2, "bob", "sign", "commitment"),
        (3, "ann", "adopt", "adoption"),
    ]
    assert log[0]["after"]["new"] == 1
    assert log[0]["after"]["after_usd"] == pytest.approx(105_120.0, rel=1e-12)
    assert log[1]["before"] is None and log[1]["after"]["quantity"] == 10
    sign = log[2]
    assert sign["entity_id"] == cid
    assert (sign["before"]["state"], sign["before"]["external_id"]) == ("proposed", None)
    assert (sign["after"]["state"], sign["after"]["external_id"]) == ("signed", "cd-42")
    assert {k for k in sign["before"] if sign["before"][k] != sign["after"][k]} == {
        "state",
        "external_id",
    }


# ----------------------------------------------------------------------------------------------
# optimistic locking, atomicity, races
# ----------------------------------------------------------------------------------------------


def test_adoption_from_a_stale_version_is_refused(ledger) -> None:
    api.adopt(ledger, synthetic_plan(PLAN1))  # version 1
    pv = api.preview(ledger, synthetic_plan(PLAN2))
    assert pv.version == 1
    cid = ids_by_offer(ledger)[("aws", "c1", "2027-01-01")]
    api.sign(ledger, cid, "cd-c1")  # someone signs meanwhile: version 2
    before = (count(ledger, Commitment), count(ledger, AuditEntry), count(ledger, PlanRun))
    with pytest.raises(
        StaleLedger, match="at version 2, the plan or preview was made from version 1"
    ):
        api.adopt(ledger, synthetic_plan(PLAN2), expect_version=pv.version)
    with pytest.raises(StaleLedger):  # a plan made --from-ledger at version 1
        api.adopt(ledger, synthetic_plan(PLAN2_FROM_LEDGER, version=1))
    with pytest.raises(StaleLedger, match="does not exist"):
        api.adopt(ledger, synthetic_plan(PLAN2), workspace="other", expect_version=3)
    after = (count(ledger, Commitment), count(ledger, AuditEntry), count(ledger, PlanRun))
    assert after == before == (4, 6, 1)
    assert api.ledger_version(ledger) == 2
    with pytest.raises(LedgerError, match="made from workspace 'default', not 'other'"):
        api.adopt(ledger, synthetic_plan(PLAN2_FROM_LEDGER, version=2), workspace="other")


def test_a_failed_adoption_leaves_nothing_half_applied(ledger, monkeypatch) -> None:
    api.adopt(ledger, synthetic_plan([row(*A, 10, 1.2)]))
    real = api._apply_changes

    def fail_after_writing(*args, **kwargs):
        real(*args, **kwargs)  # every commitment and audit row is written, then:
        raise RuntimeError("disk full")

    monkeypatch.setattr(api, "_apply_changes", fail_after_writing)
    with pytest.raises(RuntimeError, match="disk full"):
        api.adopt(ledger, synthetic_plan(PLAN1), expect_version=1)
    assert api.ledger_version(ledger) == 1
    assert (count(ledger, Commitment), count(ledger, AuditEntry), count(ledger, PlanRun)) == (
        1,
        2,
        1,
    )


RACER = textwrap.dedent(
    """
    import json, sys, time
    sys.path[:0] = {paths!r}
    from pathlib import Path
    from test_ledger import synthetic_plan, PLAN2
    from hyperplan.ledger import api
    from hyperplan.ledger.db import open_ledger
    from hyperplan.ledger.errors import StaleLedger
    led = open_ledger({url!r})
    pv = api.preview(led, synthetic_plan(PLAN2))
    tmp = Path(sys.argv[1] + ".tmp")
    tmp.write_text(str(pv.version))
    tmp.replace(sys.argv[1])  # whole or absent: the test never reads it half-written
    while not Path({go!r}).exists():
        time.sleep(0.005)
    try:
        done = api.adopt(led, synthetic_plan(PLAN2), expect_version=pv.version, author=sys.argv[1])
        print("won", done.version)
    except StaleLedger as exc:
        print("refused", exc)
        sys.exit(5)
    finally:
        led.dispose()
    """
)


def test_two_racing_adoptions_one_wins_no_duplicates(ledger, db_url, tmp_path) -> None:
    api.adopt(ledger, synthetic_plan(PLAN1))  # version 1: A, B, C, E proposed
    go = tmp_path / "go"
    script = RACER.format(paths=[str(ROOT / "src"), str(ROOT / "tests")], url=db_url, go=str(go))
    ready = [tmp_path / "ready1", tmp_path / "ready2"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(r)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in ready
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(r.exists() for r in ready):  # both previewed version 1 before either applies
            assert time.monotonic() < deadline, "the racers did not start"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        assert [r.read_text() for r in ready] == ["1", "1"]
        go.write_text("go")
        results = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:  # never leave a racer behind, even when an assertion fails
            if p.poll() is None:
                p.kill()
            p.communicate()
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 5], results
    assert api.ledger_version(ledger) == 2
    rows = api.list_commitments(ledger)
    # PLAN2 over PLAN1 once: A changed, B cancelled, D new; 5 rows, no duplicate of D or A
    keys = [(r["provider"], r["offer"], r["start"], r["state"]) for r in rows]
    assert len(keys) == len(set(keys)) == 5
    assert sum(r["state"] == "proposed" for r in rows) == 4
    assert [a["action"] for a in api.audit_log(ledger)].count("adopt") == 2


# ----------------------------------------------------------------------------------------------
# a new plan starts from the ledger
# ----------------------------------------------------------------------------------------------


def test_a_plan_from_the_ledger_counts_signed_reservations_as_existing(ledger, tmp_path) -> None:
    from hyperplan.ledger.existing import scenario_from_ledger
    from hyperplan.plan import solve_scenario
    from plan_helpers import horizon, inference, offer, scenario, tiny_catalog

    cat = tiny_catalog(
        tmp_path,
        [offer("aws", "us-east-1", "a1", 2.0, reserved_1y_usd_per_hour=1.2)],
    )
    sc = scenario(
        horizon=horizon(1),
        terms=[1],
        workloads=[inference("chat", 1000)],
        policies={"outages": "none"},
    )
    # 1000 tok/s / 100 tok/s per instance = 10 instances; 1y reserved at 1.2 beats 2.0 on demand:
    # 10 × 1.2 × 8760 = 105 120 USD
    first = solve_scenario(sc, catalog=cat).plan
    com = first.tables["commitments"]
    assert list(com["instances"]) == pytest.approx([10.0])
    api.adopt(ledger, first)
    (cid,) = ids_by_offer(ledger).values()
    api.sign(ledger, cid, "cd-a1")

    twice = sc.model_copy(deep=True)
    twice.reservations = [
        Reservation(
            provider="AWS",
            region="us-east-1",
            instance_type="a1",
            instances=10,
            start="2027-01-01",
            end="2028-01-01",
        )
    ]
    _, _, warned = scenario_from_ledger(twice, ledger, "default")
    assert warned[0].startswith("warning: the scenario already declares a reservation of aws")
    started, meta, notes = scenario_from_ledger(sc, ledger, "default")
    assert len(notes) == 1
    assert notes[-1].endswith(
        "version 2): 1 held commitment(s) as existing reservations, 0 contract(s)"
    )
    assert meta["version"] == 2 and meta["reservations"] == 1
    (res,) = started.reservations
    assert (res.provider, res.region, res.instance_type, res.instances) == (
        "aws",
        "us-east-1",
        "a1",
        10,
    )
    assert (res.start, res.end, res.usd_per_hour) == (dt.date(2027, 1, 1), dt.date(2028, 1, 1), 1.2)
    second = solve_scenario(started, catalog=cat).plan
    spend = second.tables["spend"]
    # the signed 10 instances are held: 105 120 USD existing, nothing bought again
    assert spend.loc[spend["market"] == "existing", "usd"].sum() == pytest.approx(105_120.0)
    assert spend.loc[spend["market"] != "existing", "usd"].sum() == pytest.approx(0.0, abs=1e-6)
    assert second.tables["commitments"].empty
    second.meta["ledger"] = meta
    # adopting it changes nothing: the held commitment stays, nothing new is proposed
    pv = api.preview(ledger, second)
    assert pv.diff.empty and pv.diff.held == 1 and pv.plan_version == 2
