"""``hyperplan replan --as-of``: a small scenario is planned, adopted, one commitment signed, the
first six months of a simulated FOCUS export imported with 25 % less usage than planned, and
the remaining horizon re-solved. Both backends (``ledger_db``).

The scenario (by hand): aws us-east-1 p5.48xlarge only (8 H100), one inference workload at
1000 tokens/s per H100, 8000 tokens/s in 2027 and 16000 in 2028, no outages. The plan: one
3-year reservation from 2027-01 (8 GPUs, 24.16256 USD/h) and one 1-year from 2028-01 (8 more
GPUs, 38.19776 USD/h: value 38.19776 × 8760 = 334,612.3776 USD). The first is signed.

Bills Jan..Jun 2027: the reservation's Used hours × 0.75 (on-demand burst rows of the trial
left out), so observed / planned GPU-hours = 0.75 exactly. Demand from July: 6000 tokens/s in
2027 (the held 8 GPUs cover it) and 12000 in 2028: 12 GPUs, 4 beyond the held 8, so the 2028
reservation shrinks from 1 to 0.5 instance: money effect −0.5 × 38.19776 × 8760 =
−167,306.1888 USD, reason demand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

import ledger_db
from cli_runner import separate_runner
from hyperplan.catalog import load_catalog
from hyperplan.cli import app
from replan_bills import first_half_at_75

db_url, postgres_url = ledger_db.db_url, ledger_db.postgres_url
runner = separate_runner()

SCENARIO = """\
name: tiny
horizon: {start: 2027-01-01, period: month, periods: 24, discount_rate: 0.0}
providers:
  aws:
    regions: {us-east-1: {}}
offers:
  instance_types: [p5.48xlarge]
workloads:
  - name: chat
    kind: inference
    demand_tokens_per_s: [%s]
    model_params_b: 70
    perf_tokens_per_s: {H100: 1000}
    resilience: 0
%s
policies:
  outages: none
"""
DEMAND = ", ".join(["8000"] * 12 + ["16000"] * 12)
SECOND = """\
  - name: batchy
    kind: batch
    demand_gpus: 1
"""


def hp(*args: str):
    result = runner.invoke(app, list(args))
    out = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in out and "internal error" not in out, out
    return result


def _setup(tmp: Path, db: str, extra: str = "", sign: bool = True) -> Path:
    """Plan, adopt, sign commitment 1 (unless not ``sign``), simulate, import Jan..Jun at 75 %
    usage."""
    scen = tmp / "s.yaml"
    scen.write_text(SCENARIO % (DEMAND, extra))
    plan = tmp / "plan.json"
    steps = [
        ("plan", str(scen), "-o", str(plan)),
        ("adopt", str(plan), "--yes", "--db", db),
        ("sign", "1", "--external-id", "ri-1", "--db", db),
        ("simulate", str(plan), "--trials", "2", "--workers", "1", "--focus-out", str(tmp / "b")),
    ]
    for args in steps if sign else [s for s in steps if s[0] != "sign"]:
        r = hp(*args)
        assert r.exit_code == 0, (args, r.output)
    bills = first_half_at_75(tmp / "b", tmp / "h1.csv")
    r = hp("actuals", "import", str(bills), "--db", db)
    assert r.exit_code == 0, r.output
    return scen


def _price_1y() -> float:
    o = load_catalog().offers
    hit = (o["provider"] == "aws") & (o["region"] == "us-east-1")
    row = o[hit & (o["instance_type"] == "p5.48xlarge")].iloc[0]
    return float(row["reserved_1y_usd_per_hour"])


def test_replan_diff_rows_and_money_by_hand(db_url, tmp_path) -> None:
    scen = _setup(tmp_path, db_url)
    out = tmp_path / "replan.json"
    r = hp("replan", str(scen), "--as-of", "2027-07", "--db", db_url, "--json", "-o", str(out))
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["as_of"] == "2027-07-01"
    # planned: 8 GPUs × 4344 h (Jan..Jun 2027); observed 0.75 of it
    assert data["demand_ratio"] == pytest.approx(0.75, rel=1e-12)
    assert data["demand_scaled"] == "chat"
    assert data["held_commitments"] == 1
    price = _price_1y()
    (change,) = data["changes"]
    assert change["change"] == "shrink"
    assert (change["provider"], change["region"], change["offer"]) == (
        "aws",
        "us-east-1",
        "p5.48xlarge",
    )
    assert (change["term_years"], change["start"]) == (1, "2028-01-01")
    assert change["quantity_before"] == pytest.approx(1.0)
    assert change["quantity_after"] == pytest.approx(0.5, rel=1e-9)
    assert change["value_before_usd"] == pytest.approx(price * 8760, rel=1e-12)
    assert change["money_effect_usd"] == pytest.approx(-0.5 * price * 8760, rel=1e-9)
    assert change["money_effect_usd"] == pytest.approx(-167_306.1888, abs=0.01)
    assert change["reason"] == "demand ×0.7500 (chat)"
    assert data["money_effect_usd"] == pytest.approx(change["money_effect_usd"])
    assert data["warnings"] == []  # the one running commitment is signed
    # the new plan covers the remaining 18 months only
    written = json.loads(out.read_text())
    assert written["meta"]["period_starts"][0].startswith("2027-07-01")
    assert len(written["meta"]["period_starts"]) == 19


def test_replan_tables_name_the_change_and_its_reason(db_url, tmp_path) -> None:
    scen = _setup(tmp_path, db_url)
    r = hp("replan", str(scen), "--as-of", "2027-07", "--db", db_url)
    assert r.exit_code == 0, r.output
    assert "shrink" in r.stdout and "-167,306.19" in r.stdout
    assert "demand ×0.7500 (chat)" in r.stdout
    assert "chat's demand_tokens_per_s scaled by the observed ratio 0.7500" in r.stdout


def test_adopted_capacity_not_signed_is_told_first_and_named_as_the_reason(
    db_url, tmp_path
) -> None:
    """Commitment 1 (3 years from 2027-01) adopted but never signed: at 2027-07 it still runs,
    the ledger does not hold it, so the re-plan buys its capacity again and says why."""
    scen = _setup(tmp_path, db_url, sign=False)
    r = hp("replan", str(scen), "--as-of", "2027-07", "--db", db_url, "--json")
    assert r.exit_code == 0, r.output
    told = "1 adopted commitment(s) started before 2027-07 and still running are not signed"
    assert told in " ".join(r.stderr.split())
    data = json.loads(r.stdout)
    assert data["held_commitments"] == 0
    assert data["warnings"] and told in data["warnings"][0]
    replacing = [c for c in data["changes"] if c["change"] in ("sign", "grow")]
    assert replacing, data["changes"]
    for c in replacing:
        assert (
            "replaces 1 adopted H100 commitment(s) started before 2027-07 and not signed"
            in (c["reason"])
        )


def test_the_replanned_plan_is_adopted_as_made_from_the_ledger(db_url, tmp_path) -> None:
    """The re-solved plan records the ledger version it was made from (as ``plan
    --from-ledger``): adopting it says nothing about uncounted commitments, applies the
    hand-derived shrink (commitment 2: 1 → 0.5 instance), and a second adoption of the same
    file is refused as stale (the ledger moved)."""
    scen = _setup(tmp_path, db_url)
    new = tmp_path / "new.json"
    assert (
        hp("replan", str(scen), "--as-of", "2027-07", "--db", db_url, "-o", str(new)).exit_code == 0
    )
    meta = json.loads(new.read_text())["meta"]["ledger"]
    assert (meta["workspace"], meta["reservations"]) == ("default", 1)
    assert meta["scenario_yaml"] == scen.read_text()
    r = hp("adopt", str(new), "--yes", "--db", db_url, "--json")
    assert r.exit_code == 0, r.output
    assert "not planned from the ledger" not in r.stderr
    changes = json.loads(r.stdout)["changes"]
    assert [(c["action"], c["replaces"], c["quantity"]) for c in changes] == [
        ("changed", 2, pytest.approx(0.5, rel=1e-9))
    ]
    r = hp("adopt", str(new), "--yes", "--db", db_url)
    assert r.exit_code != 0 and "the plan is stale" in " ".join(r.stderr.split())


def _section(html: str) -> str:
    start = html.index('<section id="replan"')
    return html[start : html.index("</section>", start)]


def test_replan_report_and_report_replan_show_the_change_and_its_reason(db_url, tmp_path) -> None:
    """The HTML report's replan section, written by ``replan --report`` and by ``report
    --replan`` from the ``--json`` document: the hand-derived shrink (1 → 0.5 instance of the
    2028 reservation, −167,306.19 USD, reason demand) and the summary sentence; the same
    section both ways; the replan section comes right after the summary."""
    scen = _setup(tmp_path, db_url)
    html, plan, doc = tmp_path / "r.html", tmp_path / "new.json", tmp_path / "replan.json"
    r = hp("replan", str(scen), "--as-of", "2027-07", "--db", db_url, "-o", str(plan),
           "--report", str(html), "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    doc.write_text(r.stdout)
    section = _section(html.read_text())
    assert "Re-plan from 2027-07" in section
    row = "<td>shrink</td><td>aws</td><td>us-east-1</td><td>p5.48xlarge</td>"
    assert row in section
    cells = '<td class="num">1.0000</td><td class="num">0.5000</td><td class="num">-167,306.19</td>'
    assert cells in section and "<td>demand ×0.7500 (chat)</td>" in section
    assert "1 change(s); money effect -167,306.19 USD" in section
    assert "chat&#x27;s demand_tokens_per_s scaled by the observed ratio 0.7500" in section
    html2 = tmp_path / "r2.html"
    r = hp("report", str(plan), "--replan", str(doc), "-o", str(html2))
    assert r.exit_code == 0, r.output
    assert _section(html2.read_text()) == section
    ids = re.findall(r'<section id="([a-z-]+)"', html2.read_text())
    assert ids[:2] == ["summary", "replan"], ids


def test_report_replan_refuses_a_document_of_another_plan_or_a_bad_one(db_url, tmp_path) -> None:
    scen = tmp_path / "s.yaml"
    scen.write_text(SCENARIO % (DEMAND, ""))
    plan = tmp_path / "plan.json"
    assert hp("plan", str(scen), "-o", str(plan)).exit_code == 0
    doc = {
        "schema": "hyperplan.replan/1", "as_of": "2027-07-01", "held_commitments": 0,
        "notes": [], "warnings": [], "changes": [], "contracts": [],
        "plan": {"status": "optimal", "total_usd": 1.0},
    }  # fmt: skip
    f = tmp_path / "replan.json"
    f.write_text(json.dumps(doc))
    r = hp("report", str(plan), "--replan", str(f), "-o", str(tmp_path / "x.html"))
    assert r.exit_code == 2
    said = " ".join(r.stderr.split())
    assert "replan.json: as_of: is a replan as of 2027-07, but the plan starts 2027-01" in said
    f.write_text(json.dumps(doc | {"changes": [{"change": "grow"}], "held_commitments": -1}))
    r = hp("report", str(plan), "--replan", str(f), "-o", str(tmp_path / "x.html"))
    assert r.exit_code == 2
    said = " ".join(r.stderr.split())
    for where in ("changes[0].provider", "held_commitments"):
        assert where in said, said
    f.write_text(json.dumps({"schema": "hyperplan.sim/1"}))
    r = hp("report", str(plan), "--replan", str(f), "-o", str(tmp_path / "x.html"))
    assert r.exit_code == 2 and "this is a sim.json" in " ".join(r.stderr.split())
    assert not (tmp_path / "x.html").exists()


def test_demand_not_attributable_with_two_gpu_workloads(db_url, tmp_path) -> None:
    scen = _setup(tmp_path, db_url, SECOND)
    r = hp("replan", str(scen), "--as-of", "2027-07", "--db", db_url, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["demand_scaled"] is None
    assert any("not attributable" in n and "chat, batchy" in n for n in data["notes"])
    assert all("demand" not in c["reason"] for c in data["changes"])


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2027-13", "expected a month YYYY-MM"),
        ("2026-05", "must start one of the scenario's periods"),
        ("2027-01", "nothing is past yet"),
    ],
)
def test_bad_as_of_exits_2(db_url, tmp_path, as_of: str, message: str) -> None:
    scen = tmp_path / "s.yaml"
    scen.write_text(SCENARIO % (DEMAND, ""))
    plan = tmp_path / "plan.json"
    assert hp("plan", str(scen), "-o", str(plan)).exit_code == 0
    assert hp("adopt", str(plan), "--yes", "--db", db_url).exit_code == 0
    r = hp("replan", str(scen), "--as-of", as_of, "--db", db_url)
    assert r.exit_code == 2, r.output
    assert message in r.stderr


def test_replan_without_an_adopted_plan_exits_2(db_url, tmp_path) -> None:
    scen = tmp_path / "s.yaml"
    scen.write_text(SCENARIO % (DEMAND, ""))
    r = hp("replan", str(scen), "--as-of", "2027-07", "--db", db_url)
    assert r.exit_code == 2
    assert "has no adopted plan" in " ".join(r.stderr.split())  # wrapped at any width


def _plan(rows: list[tuple]) -> object:
    """A stand-in for a Plan: its commitments table only (provider, offer, start, qty, price)."""
    from types import SimpleNamespace

    table = pd.DataFrame(
        [
            {
                "provider": p,
                "region": "r1",
                "instance_type": offer,
                "accelerator": "H100",
                "term_years": 1,
                "start_date": start,
                "instances": qty,
                "usd_per_hour": price,
                "contract_value_usd": qty * price * 8760,
                "commitment": "reserved",
            }
            for p, offer, start, qty, price in rows
        ]
    )
    from hyperplan.plan.context import PlanContext

    return SimpleNamespace(tables={"commitments": table}, context=PlanContext())


def test_diff_classifies_sign_grow_shrink_shift_with_reasons_by_hand() -> None:
    import datetime as dt

    from hyperplan.actuals.replan import diff_plans

    adopted = _plan(
        [
            ("aws", "past", "2027-01-01", 9.0, 1.0),  # before the as-of date: not compared
            ("aws", "held", "2027-07-01", 5.0, 1.0),  # signed in the ledger: not compared
            ("aws", "a", "2027-07-01", 2.0, 1.0),
            ("aws", "b", "2028-01-01", 1.0, 2.0),
            ("nebius", "n", "2028-01-01", 1.0, 1.5),
        ]
    )
    new = _plan(
        [
            ("aws", "a", "2027-07-01", 2.0, 1.2),  # same quantity, dearer
            ("nebius", "n", "2028-01-01", 2.0, 1.5),  # aws b dropped, nebius up: a shift
            ("gcp", "g", "2028-07-01", 1.0, 3.0),  # new, with an at-risk gcp contract
        ]
    )
    held = [
        {
            "kind": "reserved",
            "provider": "aws",
            "region": "r1",
            "offer": "held",
            "term_years": 1,
            "start": "2027-07-01",
        }
    ]
    d = diff_plans(
        adopted,
        new,
        dt.date(2027, 7, 1),
        held,
        ratio=0.8,
        scaled="chat",
        at_risk={"gcp"},
    )
    got = d[["change", "provider", "offer", "start", "money_effect_usd", "reason"]]
    assert got.to_dict(orient="records") == [
        # 2 × (1.2 − 1.0) × 8760 = 3504
        {
            "change": "grow",
            "provider": "aws",
            "offer": "a",
            "start": "2027-07-01",
            "money_effect_usd": pytest.approx(3504.0),
            "reason": "price 1.0000 → 1.2000 USD/h",
        },
        # −1 × 2.0 × 8760 = −17520; fewer instances, as the demand ratio 0.8 says
        {
            "change": "shift provider",
            "provider": "aws",
            "offer": "b",
            "start": "2028-01-01",
            "money_effect_usd": pytest.approx(-17520.0),
            "reason": "demand ×0.8000 (chat)",
        },
        # +1 × 1.5 × 8760 = 13140; more instances, against the demand ratio: the optimum moved
        {
            "change": "shift provider",
            "provider": "nebius",
            "offer": "n",
            "start": "2028-01-01",
            "money_effect_usd": pytest.approx(13140.0),
            "reason": "re-solve",
        },
        # 1 × 3.0 × 8760 = 26280
        {
            "change": "sign",
            "provider": "gcp",
            "offer": "g",
            "start": "2028-07-01",
            "money_effect_usd": pytest.approx(26280.0),
            "reason": "at-risk contract with gcp",
        },
    ]


def test_unheld_running_commitments_and_their_reason_by_hand() -> None:
    import datetime as dt

    from hyperplan.actuals.replan import diff_plans, unheld_running

    adopted = _plan(
        [
            ("aws", "ended", "2026-01-01", 1.0, 1.0),  # 2026-01 .. 2027-01: over by the as-of
            ("aws", "running", "2027-01-01", 3.0, 1.0),  # 2027-01 .. 2028-01: runs, not held
            ("aws", "signed", "2027-02-01", 1.0, 1.0),  # runs, held
            ("aws", "later", "2027-07-01", 1.0, 1.0),  # starts at the as-of date: compared
        ]
    )
    held = [
        {
            "kind": "reserved",
            "provider": "aws",
            "region": "r1",
            "offer": "signed",
            "term_years": 1,
            "start": "2027-02-01",
        }
    ]
    as_of = dt.date(2027, 7, 1)
    assert [it.offer for it in unheld_running(adopted, as_of, held)] == ["running"]
    new = _plan([("aws", "later", "2027-07-01", 4.0, 1.0)])
    d = diff_plans(
        adopted, new, as_of, held, ratio=1.0, scaled=None, at_risk=set(), lapsed={"H100": 1}
    )
    assert d[["change", "offer", "reason"]].to_dict(orient="records") == [
        {
            "change": "grow",
            "offer": "later",
            "reason": "replaces 1 adopted H100 commitment(s) started before 2027-07 and not signed",
        }
    ]
    # a shrink is never explained by capacity to replace
    d = diff_plans(
        new, adopted, as_of, held, ratio=1.0, scaled=None, at_risk=set(), lapsed={"H100": 1}
    )
    assert d[["change", "offer", "reason"]].to_dict(orient="records") == [
        {"change": "shrink", "offer": "later", "reason": "re-solve"}
    ]


def test_remaining_scenario_shifts_series_and_training_by_hand() -> None:
    import datetime as dt
    import math

    from hyperplan.actuals.replan import remaining_scenario
    from hyperplan.plan import plan as make_plan
    from hyperplan.scenario.load import load_scenario

    root = Path(__file__).resolve().parents[1]
    sc = load_scenario(root / "examples" / "small.yaml")  # 8 quarters from 2027-01
    adopted = make_plan(sc, outages=False)
    empty = pd.DataFrame(columns=["contract", "remaining_usd"])
    new, scaled, notes = remaining_scenario(sc, dt.date(2027, 7, 1), adopted, empty, math.nan)
    assert (new.horizon.start, new.horizon.periods) == (dt.date(2027, 7, 1), 6)
    chat = next(w for w in new.workloads if w.name == "chat")
    # 200k tokens/s doubling yearly, 181 days after 2027-01-01
    assert chat.demand_tokens_per_s.start == pytest.approx(200_000 * 2 ** (181 / 365.25))
    assert chat.demand_tokens_per_s.growth_per_year == 1.0
    pre = next(w for w in new.workloads if w.name == "pretrain")
    al = adopted.tables["allocation"]
    q2 = al[(al["workload"] == "pretrain") & (al["period_index"] == 1)]["gpus"].sum()
    done = float(q2) * 91 * 24  # April..June 2027: 91 days
    assert done > 0
    assert pre.start == dt.date(2027, 7, 1)
    assert pre.compute_gpu_hours == pytest.approx(1_500_000 - done, rel=1e-9)
    assert scaled is None
    assert any("no observed usage" in n for n in notes)
    assert sc.horizon.start == dt.date(2027, 1, 1)  # the scenario given is not changed
