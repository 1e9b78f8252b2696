"""A miss is loud: ``Plan.misses()`` lists every stated target a plan misses, with values derived
by hand; ``plan``/``compare``/``demo`` print them first on stderr and ``--strict`` exits 4.

Conventions as in ``test_plan.py``: 1-GPU H100 offers, ``perf_tokens_per_s: {H100: 100}``,
undiscounted one-year horizons (2027 = 8760 h), on-demand only (``terms: []``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hyperplan
from hyperplan.plan import solve_scenario
from hyperplan.plan.api import Plan
from hyperplan.plan.misses import COLUMNS
from plan_helpers import horizon, inference, offer, scenario, tiny_catalog, write_csv

H2027 = 8760.0


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-6, abs=1e-9)


def _capped_pair(tmp_path: Path):
    """aws a1 at 2 USD/h and nebius b1 at 3 USD/h, at most 6 instances each on demand."""
    return tiny_catalog(
        tmp_path,
        [offer("aws", "us-east-1", "a1", 2.0), offer("nebius", "eu-north1", "b1", 3.0)],
    )


def test_n1_level_missed_under_each_outage(tmp_path) -> None:
    # 1000 tok/s = 10 instances; at most 6 per offer on demand. Base: 6 on aws + 4 on nebius.
    # aws down: nebius alone keeps 6 × 100 = 600 tok/s = 60% (target 80%, shortfall 20%);
    # nebius down: the same 60% on aws.
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        offers={"ondemand_cap": 6},
        workloads=[inference("chat", 1000, resilience=0.8)],
        policies={"outages": "providers"},
    )
    m = solve_scenario(sc, catalog=_capped_pair(tmp_path)).plan.misses()
    assert list(m.columns) == COLUMNS
    assert list(m["kind"]) == ["n-1", "n-1"]
    assert list(m["scenario"]) == ["aws down", "nebius down"]  # sorted on full keys
    assert list(m["subject"]) == ["chat", "chat"]
    assert list(m["target"]) == [approx(0.8)] * 2
    assert list(m["achieved"]) == [approx(0.6)] * 2
    assert list(m["shortfall"]) == [approx(0.2)] * 2
    assert m["message"][0] == "chat keeps 60.0% of its demand when aws is down; target 80.0%"


def test_budget_that_forces_unserved_demand_is_two_misses(tmp_path) -> None:
    # As test_plan's budget case: 175 200 USD buys the full year; a 100 000 USD budget buys
    # 100 000 / (2 × 8760) = 5.707763 instances = 570.7763 tok/s = 57.07763% of demand.
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 2.0)])
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        workloads=[inference("chat", 1000)],
        policies={"outages": "none", "budget_usd_per_year": 100_000},
    )
    m = solve_scenario(sc, catalog=cat).plan.misses()
    assert list(m["kind"]) == ["demand", "budget"]
    served = 100_000 / (2 * H2027) * 100 / 1000
    demand = m.iloc[0]
    assert (demand["subject"], demand["scenario"], demand["unit"]) == (
        "chat",
        "base",
        "share of demand",
    )
    assert demand["target"] == approx(1.0)
    assert demand["achieved"] == approx(served)
    assert demand["shortfall"] == approx(1.0 - served)
    budget = m.iloc[1]
    assert (budget["subject"], budget["unit"]) == ("2027", "USD")
    assert budget["target"] == approx(100_000.0)
    assert budget["achieved"] == approx(100_000.0)
    assert "2027 budget of USD 100,000 binds" in budget["message"]


def test_training_run_not_finished_in_its_window(tmp_path) -> None:
    # 10 000 reference GPU-hours in 2027, at most 1 instance (1 H100) on demand: 8 760 done,
    # 1 240 missing.
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 2.0)])
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        offers={"ondemand_cap": 1},
        workloads=[
            {
                "name": "run",
                "kind": "training",
                "compute_gpu_hours": 10_000,
                "start": "2027-01-01",
                "deadline": "2028-01-01",
            }
        ],
        policies={"outages": "none"},
    )
    m = solve_scenario(sc, catalog=cat).plan.misses()
    assert list(m["kind"]) == ["training"]
    r = m.iloc[0]
    assert (r["subject"], r["unit"]) == ("run", "reference GPU-hours")
    assert r["target"] == approx(10_000.0)
    assert r["achieved"] == approx(H2027)
    assert r["shortfall"] == approx(10_000.0 - H2027)


def test_gw_target_missed_and_met(tmp_path) -> None:
    # 10 instances of 1 kW IT at the default PUE 1.2: 12 kW = 0.012 MW of facility power.
    cat = tiny_catalog(tmp_path, [offer("aws", "us-east-1", "a1", 2.0, kw_per_instance=1.0)])
    base = {"horizon": horizon(1), "terms": [], "workloads": [inference("chat", 1000)]}
    far = scenario(**base, policies={"outages": "none", "target_gw": 0.001})
    m = solve_scenario(far, catalog=cat).plan.misses()
    assert list(m["kind"]) == ["target-gw"]
    assert m["target"][0] == approx(1.0)
    assert m["achieved"][0] == approx(0.012)
    assert m["shortfall"][0] == approx(0.988)
    near = scenario(**base, policies={"outages": "none", "target_gw": 0.000012})
    assert solve_scenario(near, catalog=cat).plan.misses().empty


def test_no_miss_is_an_empty_table_that_round_trips(tmp_path) -> None:
    cat = _capped_pair(tmp_path)
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        workloads=[inference("chat", 1000, resilience=0.5)],
        policies={"outages": "providers"},
    )
    plan = solve_scenario(sc, catalog=cat).plan
    m = plan.misses()
    assert m.empty and list(m.columns) == COLUMNS
    assert plan.to_dict()["misses"]["columns"]["kind"]["values"] == []


def test_misses_in_plan_json_equal_the_plans(tmp_path) -> None:
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        offers={"ondemand_cap": 6},
        workloads=[inference("chat", 1000, resilience=0.8)],
        policies={"outages": "providers"},
    )
    plan = solve_scenario(sc, catalog=_capped_pair(tmp_path)).plan
    path = tmp_path / "plan.json"
    plan.to_json(path)
    stored = json.loads(path.read_text())["misses"]["columns"]
    assert stored["scenario"]["values"] == ["aws down", "nebius down"]
    assert stored["achieved"]["values"] == [approx(0.6)] * 2
    again = Plan.from_json(path).misses()
    assert list(again["message"]) == list(plan.misses()["message"])


# ----------------------------------------------------------------------------------------------
# The terminal: misses first, on stderr; --strict exits 4 after writing the outputs
# ----------------------------------------------------------------------------------------------


def _scenario_file(tmp_path: Path, resilience: float) -> Path:
    csv = write_csv(
        tmp_path / "offers.csv",
        [offer("aws", "us-east-1", "a1", 2.0), offer("nebius", "eu-north1", "b1", 3.0)],
    )
    text = f"""\
name: loud
horizon: {{start: 2027-01-01, period: year, periods: 1, discount_rate: 0}}
providers: {{aws: {{}}, nebius: {{}}}}
offers: {{catalog_csv: [{csv.name}], instance_types: [a1, b1], ondemand_cap: 6}}
terms: []
workloads:
  - name: chat
    kind: inference
    demand_tokens_per_s: 1000
    perf_tokens_per_s: {{H100: 100}}
    resilience: {resilience}
policies: {{outages: providers}}
"""
    path = tmp_path / "loud.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _cli(*args: str, cwd: Path, merged: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the CLI of the hyperplan under test (its ``src`` first on the path) in ``cwd``."""
    src = str(Path(hyperplan.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "hyperplan.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merged else subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_plan_prints_misses_first_on_stderr_and_strict_exits_4(tmp_path) -> None:
    path = _scenario_file(tmp_path, 0.8)
    loose = _cli("plan", str(path), "-o", "a.json", cwd=tmp_path)
    assert loose.returncode == 0, loose.stderr
    lines = loose.stderr.splitlines()
    assert lines[0] == "MISSED: loud misses 2 stated target(s)"
    assert lines[1] == "  n-1: chat keeps 60.0% of its demand when aws is down; target 80.0%"
    assert lines[2] == "  n-1: chat keeps 60.0% of its demand when nebius is down; target 80.0%"
    assert "MISSED" not in loose.stdout  # stdout stays the summary
    # in one stream (a terminal, `2>&1`) the misses come before the summary
    merged = _cli("plan", str(path), cwd=tmp_path, merged=True)
    assert merged.stdout.splitlines()[:3] == lines[:3]
    assert merged.stdout.index("MISSED") < merged.stdout.index("loud: optimal")
    strict = _cli("plan", str(path), "-o", "b.json", "--html", "b.html", "--strict", cwd=tmp_path)
    assert strict.returncode == 4, strict.stderr
    assert strict.stderr.splitlines()[:3] == lines[:3]
    # outputs are written before the exit
    assert json.loads((tmp_path / "b.json").read_text())["misses"]["columns"]["kind"]["values"] == [
        "n-1",
        "n-1",
    ]
    assert (tmp_path / "b.html").stat().st_size > 0


def test_plan_and_compare_without_a_miss_stay_quiet_under_strict(tmp_path) -> None:
    path = _scenario_file(tmp_path, 0.5)
    result = _cli("plan", str(path), "--strict", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "MISSED" not in result.stderr
    result = _cli("compare", str(path), "-s", "multi", "--strict", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "MISSED" not in result.stderr


def test_compare_strict_exits_4_when_a_strategy_misses(tmp_path) -> None:
    path = _scenario_file(tmp_path, 0.8)
    result = _cli("compare", str(path), "-s", "multi", "--strict", cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    assert result.stderr.splitlines()[0] == "MISSED: loud [multi] misses 2 stated target(s)"
    assert "Strategies" in result.stdout  # the comparison is still printed


def test_strict_is_documented_in_the_cli_help() -> None:
    for command in ("plan", "compare", "demo"):
        result = _cli(command, "--help", cwd=Path.cwd())
        text = " ".join(result.stdout.split())
        assert "--strict" in text and "status 4" in text, command


# ----------------------------------------------------------------------------------------------
# The policies table lists every binding limit, in outage scenarios too
# ----------------------------------------------------------------------------------------------


def test_policies_list_binding_caps_in_outage_scenarios(tmp_path) -> None:
    # The case of test_n1_level_missed_under_each_outage. The penalty for unserved tokens is
    # 10 × the dearest price per unit: 10 × 3 USD/h / 100 tok/s = 0.3 USD per tok/s-hour.
    # Each outage (default: once a year, 8 h) weighs 8 / 8760 of the year; the base the rest.
    # * aws cap under "nebius down": one more aws instance serves 100 tok/s of the 200 unserved
    #   (below the 80% level, at full weight): 100 × 0.3 × 8760 = 262 800 USD saved, less its
    #   price in that scenario 2 × 8760 × 8/8760 = 16 USD: 262 784 USD.
    # * nebius cap under "aws down": 262 800 − 3 × 8 = 262 776 USD.
    # * aws cap in the base: one more aws instance replaces a nebius one: (3 − 2) × 8760 × the
    #   base weight (1 − 16/8760) = 8760 − 16 = 8744 USD.
    sc = scenario(
        horizon=horizon(1),
        terms=[],
        offers={"ondemand_cap": 6},
        workloads=[inference("chat", 1000, resilience=0.8)],
        policies={"outages": "providers"},
    )
    plan = solve_scenario(sc, catalog=_capped_pair(tmp_path)).plan
    pol = plan.tables["policies"]
    got = [
        (r.policy, r.subject, r.period, r.scenario, round(r.marginal_usd, 3))
        for r in pol.itertuples()
    ]
    assert got == [
        ("pool-market", "aws:us-east-1:a1 (ondemand)", "2027", "nebius down", 262_784.0),
        ("pool-market", "nebius:eu-north1:b1 (ondemand)", "2027", "aws down", 262_776.0),
        ("pool-market", "aws:us-east-1:a1 (ondemand)", "2027", "base", 8_744.0),
    ]
    # the HTML's policy costs keep an outage's limit apart from the same limit in the base plan
    from hyperplan.report.sections import policy_costs

    costs = policy_costs(plan)
    assert sorted(costs["subject"]) == [
        "aws:us-east-1:a1 (ondemand)",
        "aws:us-east-1:a1 (ondemand) (when nebius down)",
        "nebius:eu-north1:b1 (ondemand) (when aws down)",
    ]
    assert list(costs["periods"]) == [1, 1, 1]


def test_html_report_lists_the_misses_first(tmp_path) -> None:
    from hyperplan.report.html import render_report

    sc = scenario(
        horizon=horizon(1),
        terms=[],
        offers={"ondemand_cap": 6},
        workloads=[inference("chat", 1000, resilience=0.8)],
        policies={"outages": "providers"},
    )
    html = render_report(solve_scenario(sc, catalog=_capped_pair(tmp_path)).plan)
    block = html.index("<h3>Missed targets (2)</h3>")
    assert block < html.index("class='kpis'")  # before the headline figures
    assert (
        "<li data-kind='n-1'>chat keeps 60.0% of its demand when aws is down; target 80.0%" in html
    )
