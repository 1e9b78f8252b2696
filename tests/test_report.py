"""The HTML report: each section's data, the document, atomic writes, ``report`` and ``demo``.

Section data is checked with exact figures on a hand-built plan (every number below can be
recomputed by hand) and against the tables of a real plan of ``examples/small.yaml``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from plotly.offline import get_plotlyjs
from typer.testing import CliRunner

from hyperplan.cli import report as report_commands
from hyperplan.plan.api import Plan
from hyperplan.report import fmt
from hyperplan.report import sections as sec
from hyperplan.report.html import SECTIONS, render_report, write_report
from hyperplan.report.summary import summarize

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
runner = CliRunner()

try:
    import hyperplan.sim as _sim  # noqa: F401

    HAVE_SIM = True
except ImportError:  # pragma: no cover - the simulator is optional
    HAVE_SIM = False


def cli() -> typer.Typer:
    app = typer.Typer()
    report_commands.register(app)
    return app


# ----------------------------------------------------------------------------------------------
# A hand-built plan: two providers, four quarters, numbers small enough to check by hand
# ----------------------------------------------------------------------------------------------
PERIODS = ["2027-Q3", "2027-Q4", "2028-Q1", "2028-Q2"]
HOURS = [2208.0, 2208.0, 2184.0, 2184.0]


def frame(rows: list[tuple], columns: str) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns.split())


def toy_plan() -> Plan:
    spend = frame(
        [
            ("aws", "reserved", "2027-Q3", 0, 2027, 100.0, 100.0),
            ("aws", "ondemand", "2027-Q4", 1, 2027, 50.0, 49.0),
            ("nebius", "reserved", "2027-Q3", 0, 2027, 300.0, 300.0),
            ("nebius", "reserved", "2028-Q1", 2, 2028, 200.0, 190.0),
            ("aws", "shortfall", "2028-Q2", 3, 2028, 1000.0, 900.0),
            ("aws", "spot", "2028-Q1", 2, 2028, 25.0, 24.0),
        ],
        "provider market period period_index year usd usd_discounted",
    )
    capacity = frame(
        [
            ("aws", "us-east-1", "p5.48xlarge", "H100", "2027-Q3", 0, 2.0, 0.0, 0.0, 16.0, 0.03),
            ("aws", "us-east-1", "c7i.16xlarge", "", "2027-Q3", 0, 0.0, 0.0, 4.0, 0.0, 0.01),
            ("nebius", "eu-north1", "h100", "H100", "2027-Q3", 0, 1.0, 0.0, 0.0, 8.0, 0.012),
            ("nebius", "eu-north1", "h100", "H100", "2028-Q1", 2, 1.0, 0.0, 0.0, 8.0, 0.012),
        ],
        "provider region instance_type accelerator period period_index reserved_instances "
        "ondemand_instances spot_instances gpus mw",
    )
    commitments = frame(
        [
            ("aws", "us-east-1", "p5.48xlarge", "H100", 1, "2027-Q3", 0, dt.date(2027, 7, 1),
             2.0, 16.0, 40.0, 700_800.0, 350_400.0),
            ("aws", "us-west-2", "p5.48xlarge", "H100", 1, "2027-Q3", 0, dt.date(2027, 7, 1),
             1.0, 8.0, 40.0, 350_400.0, 175_200.0),
            ("nebius", "eu-north1", "h100", "H100", 3, "2028-Q1", 2, dt.date(2028, 1, 1),
             1.0, 8.0, 10.0, 262_800.0, 43_680.0),
        ],
        "provider region instance_type accelerator term_years start start_index start_date "
        "instances gpus usd_per_hour contract_value_usd in_horizon_usd",
    )  # fmt: skip
    allocation = frame(
        [
            ("chat", "inference", "aws", "us-east-1", "p5.48xlarge", "H100", "reserved",
             "2027-Q3", 0, 1.0, 8.0, 1000.0, "tokens/s"),
            ("chat", "inference", "nebius", "eu-north1", "h100", "H100", "reserved",
             "2027-Q3", 0, 1.0, 8.0, 3000.0, "tokens/s"),
            ("chat", "inference", "aws", "us-east-1", "p5.48xlarge", "H100", "ondemand",
             "2027-Q4", 1, 1.0, 8.0, 500.0, "tokens/s"),
            ("train", "training", "nebius", "eu-north1", "h100", "H100", "reserved",
             "2028-Q1", 2, 1.0, 8.0, 8.0, "reference GPU-hours"),
            ("agents", "agents", "aws", "us-east-1", "c7i.16xlarge", "", "spot",
             "2027-Q3", 0, 4.0, 0.0, 256.0, "vCPUs"),
        ],
        "workload kind provider region instance_type accelerator market period period_index "
        "instances gpus served unit",
    )  # fmt: skip
    resilience = frame(
        [
            ("chat", "base", 1.0, 1.0, True),
            ("chat", "aws down", 0.8, 0.5, False),
            ("chat", "nebius down", 0.8, 0.8, True),
            ("agents", "base", 1.0, 1.0, True),
            ("agents", "aws down", 0.5, 0.5, True),
            ("agents", "nebius down", 0.5, 0.6, True),
            ("train", "base", 1.0, 1.0, True),
        ],
        "workload scenario required_fraction served_fraction met",
    )
    unserved = frame(
        [("chat", "aws down", "2027-Q3", 150.0, "tokens/s")],
        "workload scenario period amount unit",
    )
    workloads = frame(
        [
            (w, k, p, i, HOURS[i], 1.0, "u")
            for w, k in (("chat", "inference"), ("train", "training"), ("agents", "agents"))
            for i, p in enumerate(PERIODS)
        ],
        "workload kind period period_index hours demand unit",
    )
    offers = frame(
        [
            ("aws:us-east-1:p5.48xlarge", "aws", "us-east-1", "p5.48xlarge", "H100", 8.0, 12.24),
            ("aws:us-west-2:p5.48xlarge", "aws", "us-west-2", "p5.48xlarge", "H100", 8.0, 12.24),
            ("aws:us-east-1:c7i.16xlarge", "aws", "us-east-1", "c7i.16xlarge", "", 0.0, 0.4),
            ("nebius:eu-north1:h100", "nebius", "eu-north1", "h100", "H100", 8.0, 12.0),
            ("nebius:eu-north1:h200", "nebius", "eu-north1", "h200", "H200", 8.0, 12.0),
        ],
        "offer_id provider region instance_type accelerator gpus kw_facility",
    )
    perf = frame(
        [
            ("chat", "aws:us-east-1:p5.48xlarge", 1000.0, True, "tokens/s"),
            ("chat", "nebius:eu-north1:h100", 3000.0, True, "tokens/s"),
            ("train", "nebius:eu-north1:h100", 8.0, False, "reference GPU-hours"),
        ],
        "workload offer_id perf estimated unit",
    )
    markets = frame(
        [
            ("nebius:eu-north1:h200", 1, 20.0),
            ("nebius:eu-north1:h200", 0, np.nan),
            ("aws:us-east-1:p5.48xlarge", 0, 55.04),
        ],
        "offer_id period_index ondemand_usd_per_hour",
    )
    policies = frame(
        [
            ("supply", "aws:us-east-1:p5.48xlarge (new reserved)", "2027-Q3", 1000.0, "instance"),
            ("share", "nebius", "2027-Q3", 0.5, "USD of spend allowed"),
            ("supply", "aws:us-east-1:p5.48xlarge (new reserved)", "2027-Q4", 500.0, "instance"),
            ("share", "nebius", "2028-Q1", 0.25, "USD of spend allowed"),
            ("take-or-pay", "aws-contract", "contract window", 0.1, "USD committed"),
        ],
        "policy subject period marginal_usd per",
    )
    entry = frame(
        [
            ("aws", "us-east-1", "p5.48xlarge", "H100", 3, 30.0, 30.0, 0.0, "2027-Q3"),
            ("aws", "us-west-2", "p5en.48xlarge", "H200", 1, 50.0, 45.0, 0.1, "2027-Q3"),
            ("aws", "us-west-2", "p5en.48xlarge", "H200", 3, 35.0, 28.0, 0.2, "2027-Q4"),
            ("nebius", "eu-north1", "h200", "H200", 1, 20.0, 15.0, 0.25, "2028-Q1"),
            ("aws", "us-east-1", "c7i.16xlarge", "", 1, 2.0, 1.5, 0.25, "2027-Q3"),
        ],
        "provider region instance_type accelerator term_years usd_per_hour entry_usd_per_hour "
        "cut_fraction best_start",
    )
    walk = frame(
        [
            ("nebius", "optimal", 1e4, -20.0, 5000.0, 0.02, 0.2),
            ("aws", "optimal", 1e4, 500.0, 0.0, 0.01, 0.1),
        ],
        "provider status objective_without_usd walk_away_usd penalty_usd seconds "
        "seconds_vs_cold_solve",
    )
    return Plan(
        scenario_name='toy <b>&"',
        status="optimal",
        objective_usd=1563.0,
        tables={
            "workloads": workloads,
            "offers": offers,
            "markets": markets,
            "perf": perf,
            "commitments": commitments,
            "capacity": capacity,
            "allocation": allocation,
            "spend": spend,
            "resilience": resilience,
            "unserved": unserved,
            "policies": policies,
            "entry_prices": entry,
            "walk_away": walk,
        },
        stats={"status": "optimal", "rows": 10, "columns": 20, "build_seconds": 0.01},
        warnings=["a <warning>"],
        meta={
            "periods": PERIODS,
            "period_starts": ["2027-07-01", "2027-10-01", "2028-01-01", "2028-04-01", "2028-07-01"],
            "providers": ["aws", "nebius"],
            "scenarios": ["base", "aws down", "nebius down"],
            "workloads": ["chat", "train", "agents"],
            "target_gw": 0.0001,
            "max_share": 0.7,
            "scenario": {
                "description": "A toy.",
                "horizon": {"start": "2027-07-01", "period": "quarter", "periods": 4,
                            "discount_rate": 0.08},
                "policies": {"max_share": 0.7, "share_by": "spend", "outages": "providers"},
                "offers": {"catalog_csv": ["my-offers.csv"]},
                "contracts": [{"name": "aws-contract", "provider": "aws", "committed_usd": 2e3,
                               "start": "2027-07-01", "end": "2028-07-01", "discount": 0.1}],
            },
        },
    )  # fmt: skip


@pytest.fixture
def toy() -> Plan:
    return toy_plan()


@pytest.fixture(scope="module")
def small() -> Plan:
    from hyperplan.plan import plan
    from hyperplan.scenario.load import load_scenario

    return plan(load_scenario(EXAMPLES / "small.yaml"), walk_away=True)


# ----------------------------------------------------------------------------------------------
# Section data on the hand-built plan: exact figures
# ----------------------------------------------------------------------------------------------
def test_summary_totals_spend_per_year_and_share(toy: Plan) -> None:
    s = summarize(toy)
    assert s.total_usd == 1675.0
    assert s.npv_usd == 1563.0
    assert s.spend_per_year.to_dict() == {2027: 450.0, 2028: 1225.0}
    assert s.npv_per_year.to_dict() == {2027: 449.0, 2028: 1114.0}
    assert s.max_share == 1.0  # 2027-Q4: aws alone (the shortfall is not capacity spend)
    assert s.peak_mw == pytest.approx(0.052)
    assert s.target_mw == pytest.approx(0.1)
    assert s.target_reached == pytest.approx(0.52)


def test_outage_served_picks_the_workload_furthest_below_its_requirement(toy: Plan) -> None:
    worst = summarize(toy).outage_served()
    assert list(worst["scenario"]) == ["aws down", "nebius down"]
    assert list(worst["workload"]) == ["chat", "chat"]  # nebius down: chat at 0.8 = its need
    assert list(worst["served_fraction"]) == [0.5, 0.8]
    assert list(worst["met"]) == [False, True]


def test_risks_in_plain_words_most_serious_first(toy: Plan) -> None:
    risks = summarize(toy).risks()
    assert risks == [
        "chat serves only 50% of demand when aws is down (needs 80%)",
        "USD 1.00k committed to aws goes unused (take-or-pay shortfall paid)",
        "one provider holds 100% of spend in some period",
    ]
    assert len(summarize(toy).risks(10)) == 6
    assert not any("worst single outage is aws" in r for r in summarize(toy).risks(10))


def test_capacity_stack_by_provider_and_accelerator(toy: Plan) -> None:
    gpus = sec.capacity_by(toy, "provider", "gpus")
    assert list(gpus.index) == PERIODS  # every period, empty ones as zeros
    assert gpus.to_dict("list") == {"aws": [16.0, 0, 0, 0], "nebius": [8.0, 0, 8.0, 0]}
    mw = sec.capacity_by(toy, "accelerator", "mw")
    assert list(mw.columns) == ["H100", "CPU"]  # largest first; CPU-only offers as "CPU"
    assert mw["H100"].to_numpy() == pytest.approx([0.042, 0, 0.012, 0])
    assert mw["CPU"].to_numpy() == pytest.approx([0.01, 0, 0, 0])
    # GPU view drops columns without GPUs (CPU), MW view keeps them
    assert list(sec.capacity_by(toy, "accelerator", "gpus").columns) == ["H100"]
    assert sec.mw_by_period(toy).to_numpy() == pytest.approx([0.052, 0, 0.012, 0])


def test_spend_by_year_provider_market(toy: Plan) -> None:
    long = sec.spend_by_year_provider_market(toy)
    assert [tuple(r) for r in long[["year", "provider", "market", "usd"]].to_numpy()] == [
        (2027, "aws", "reserved", 100.0),
        (2027, "aws", "ondemand", 50.0),
        (2027, "nebius", "reserved", 300.0),
        (2028, "aws", "spot", 25.0),
        (2028, "aws", "shortfall", 1000.0),
        (2028, "nebius", "reserved", 200.0),
    ]
    assert long["usd"].sum() == toy.total_usd


def test_commitment_timeline_groups_contracts_and_ends_after_the_term(toy: Plan) -> None:
    tl = sec.commitment_timeline(toy)
    assert list(tl["label"]) == ["aws H100 1y from 2027-Q3", "nebius H100 3y from 2028-Q1"]
    assert list(tl["gpus"]) == [24.0, 8.0]
    assert list(tl["offers"]) == [2, 1]
    assert list(tl["contract_value_usd"]) == [1_051_200.0, 262_800.0]
    assert list(tl["end_date"]) == [dt.date(2028, 7, 1), dt.date(2031, 1, 1)]
    assert sec.horizon_end(toy) == dt.date(2028, 7, 1)
    assert sec._add_years(dt.date(2028, 2, 29), 1) == dt.date(2029, 2, 28)


def test_allocation_share_weighs_served_demand_by_period_hours(toy: Plan) -> None:
    share = sec.allocation_share(toy)
    got = {(w, p): s for w, p, s in share[["workload", "provider", "share"]].to_numpy()}
    assert got == {
        ("chat", "aws"): pytest.approx(1 / 3),  # (1000 + 500) × 2208 of 4500 × 2208
        ("chat", "nebius"): pytest.approx(2 / 3),
        ("train", "nebius"): 1.0,
        ("agents", "aws"): 1.0,
    }
    assert list(share["workload"].drop_duplicates()) == ["chat", "train", "agents"]
    summ = sec.allocation_summary(toy).set_index("workload")
    assert summ.loc["chat", "peak_gpus"] == 16.0
    assert summ.loc["chat", "reserved_share"] == pytest.approx(2 / 3)
    assert summ.loc["chat", "ondemand_share"] == pytest.approx(1 / 3)
    assert summ.loc["chat", "main_provider"] == "nebius"
    assert summ.loc["agents", "peak_gpus"] == 0.0
    assert summ.loc["agents", "spot_share"] == 1.0  # CPU work weighed by instance-hours


def test_resilience_matrices_in_plan_order(toy: Plan) -> None:
    served, required = sec.resilience_matrices(toy)
    assert list(served.columns) == ["base", "aws down", "nebius down"]
    assert list(served.index) == ["chat", "train", "agents"]
    assert served.loc["chat", "aws down"] == 0.5
    assert required.loc["agents", "nebius down"] == 0.5
    assert np.isnan(served.loc["train", "aws down"])


def test_negotiation_tables(toy: Plan) -> None:
    wa = sec.walk_away(toy)
    assert wa is not None and list(wa["provider"]) == ["aws", "nebius"]
    entry = sec.entry_by_provider_accelerator(toy)
    assert [tuple(r) for r in entry[["provider", "accelerator", "cut_fraction"]].to_numpy()] == [
        ("aws", "H100", 0.0),
        ("aws", "H200", 0.1),
        ("aws", "CPU", 0.25),
        ("nebius", "H200", 0.25),
    ]
    assert list(entry["at_parity"]) == [True, False, False, False]
    assert entry.loc[1, "offer"] == "us-west-2 p5en.48xlarge (1y)"
    assert entry.loc[1, "entry_usd_per_hour"] == 45.0
    pol = sec.policy_costs(toy)
    assert [tuple(r) for r in pol[["policy", "subject", "periods"]].to_numpy()] == [
        ("share", "nebius", 2),
        ("take-or-pay", "aws-contract", 1),
        ("supply", "aws:us-east-1:p5.48xlarge (new reserved)", 2),
    ]
    assert list(pol["marginal_usd_max"]) == [0.5, 0.1, 1000.0]
    assert list(pol["marginal_usd_sum"]) == [0.75, 0.1, 1500.0]
    assert pol.loc[0, "words"] == "provider share cap"


def test_walk_away_absent_is_none(toy: Plan) -> None:
    del toy.tables["walk_away"]
    assert sec.walk_away(toy) is None
    assert "Not computed" in render_report(toy)


def test_catalog_rows_with_sources_use_and_estimated_perf(toy: Plan) -> None:
    catalog = pd.DataFrame(
        {"source": ["aws pricing page", "aws pricing page", "skypilot", "nebius site"]},
        index=pd.Index(
            [
                "aws:us-east-1:p5.48xlarge",
                "aws:us-west-2:p5.48xlarge",
                "aws:us-east-1:c7i.16xlarge",
                "nebius:eu-north1:h100",
            ],
            name="offer_id",
        ),
    )
    rows = sec.catalog_rows(toy, catalog).set_index("offer_id")
    assert list(rows.index[-1:]) == ["nebius:eu-north1:h200"]  # unused rows last
    assert rows["used"].to_dict() == {
        "aws:us-east-1:c7i.16xlarge": True,
        "aws:us-east-1:p5.48xlarge": True,
        "aws:us-west-2:p5.48xlarge": True,
        "nebius:eu-north1:h100": True,
        "nebius:eu-north1:h200": False,
    }
    assert rows.loc["aws:us-east-1:p5.48xlarge", "source"] == "aws pricing page"
    assert rows.loc["nebius:eu-north1:h200", "source"] == (
        "not in the bundled catalog (the scenario's catalog_csv: my-offers.csv)"
    )
    assert rows.loc["nebius:eu-north1:h100", "estimated_perf"] == "chat"
    assert rows.loc["aws:us-west-2:p5.48xlarge", "estimated_perf"] == ""
    assert rows.loc["nebius:eu-north1:h200", "ondemand_usd_per_hour"] == 20.0  # first priced
    assert rows.loc["aws:us-east-1:c7i.16xlarge", "accelerator"] == "CPU"
    est = sec.estimated_perf(toy)
    assert list(est["offer_id"]) == ["aws:us-east-1:p5.48xlarge", "nebius:eu-north1:h100"]


# ----------------------------------------------------------------------------------------------
# Simulation and comparison inputs
# ----------------------------------------------------------------------------------------------
SIM_JSON = {
    "schema": "hyperplan.sim/1",
    "meta": {"trials": 3, "seed": 7, "years": 1.0, "step_hours": 1.0, "config": {"x": 1}},
    "summary": [
        {"metric": "served_fraction:chat", "unit": "share of demand", "trials": 3, "mean": 0.9,
         "std": "nan", "p01": 0.8, "p05": 0.81, "p50": 0.9, "p95": 0.99, "p99": 1.0},
        {"metric": "cost_usd", "unit": "USD", "trials": 3, "mean": 2e9, "std": 1e8,
         "p01": 1.8e9, "p05": 1.85e9, "p50": 2e9, "p95": 2.2e9, "p99": 2.3e9},
        {"metric": "training_delay_hours:train", "unit": "hours beyond plan", "trials": 3,
         "mean": 10.0, "std": 1.0, "p01": 0.0, "p05": 1.0, "p50": 8.0, "p95": 30.0, "p99": 40.0},
    ],
    "trials": {"served_fraction:chat": [0.8, 0.9, 1.0], "cost_usd": [1.8e9, 2e9, 2.2e9],
               "training_delay_hours:train": [0.0, 8.0, 40.0]},
}  # fmt: skip


def test_sim_view_reads_sim_json() -> None:
    view = sec.sim_view(json.loads(json.dumps(SIM_JSON)))
    assert view is not None
    assert list(view.summary["metric"]) == [
        "served_fraction:chat",
        "cost_usd",
        "training_delay_hours:train",
    ]
    assert view.summary["std"].dtype == float and np.isnan(view.summary.loc[0, "std"])
    assert view.info["trials"] == 3 and view.info["seed"] == 7 and view.info["years"] == 1.0
    assert view.trials is not None and view.trials.shape == (3, 3)
    assert list(view.metrics("served_fraction")["metric"]) == ["served_fraction:chat"]
    assert sec.sim_view(None) is None


def test_sim_view_other_shapes() -> None:
    # summary computed from per-trial values alone
    view = sec.sim_view({"trials": {"cost_usd": [1.0, 2.0, 3.0, 4.0]}})
    assert view is not None
    row = view.summary.iloc[0]
    assert row["metric"] == "cost_usd" and row["mean"] == 2.5
    assert row["p50"] == 2.5 and row["p05"] == pytest.approx(np.quantile([1, 2, 3, 4], 0.05))
    # a plan-style table and a DataFrame
    table = {
        "columns": {
            "metric": {"dtype": "str", "values": ["goodput"]},
            "p50": {"dtype": "float", "values": ["nan"]},
        }
    }
    view = sec.sim_view({"summary": table})
    assert view is not None and np.isnan(view.summary.loc[0, "p50"])
    assert list(view.summary["unit"]) == [""]
    df = pd.DataFrame({"metric": ["a"], "median": [1.0]})
    assert sec.sim_view(df).summary.loc[0, "p50"] == 1.0  # type: ignore[union-attr]

    class Result:  # the SimResult interface: summary() and a per-trial metrics frame
        def __init__(self) -> None:
            self.metrics = pd.DataFrame({"cost_usd": [1.0, 3.0]})
            self.meta = {"seed": 3, "trials": 2}

        def summary(self) -> pd.DataFrame:
            return sec.summarize_trials(self.metrics)

    view = sec.sim_view(Result())
    assert view is not None and view.info == {"seed": 3, "trials": 2}
    assert view.trials is not None and list(view.trials.columns) == ["cost_usd"]
    with pytest.raises(ValueError, match="no summary table"):
        sec.sim_view({"nothing": 1})


def test_compare_table_shapes() -> None:
    df = pd.DataFrame({"strategy": ["multi"], "npv_usd": [1.0]})
    assert sec.compare_table((df, {})).equals(df)  # type: ignore[union-attr]
    assert list(sec.compare_table([{"strategy": "a", "npv_usd": 2}])["npv_usd"]) == [2]  # type: ignore[index]
    assert sec.compare_table(None) is None
    with pytest.raises(ValueError, match="strategy"):
        sec.compare_table({"npv_usd": [1.0]})


# ----------------------------------------------------------------------------------------------
# The document
# ----------------------------------------------------------------------------------------------
def kpi(html: str, key: str) -> tuple[dict[str, str], str]:
    """(data attributes, shown value) of the KPI card ``key``."""
    m = re.search(
        rf'<div class="kpi[^"]*" id="kpi-{key}"([^>]*)>.*?<div class="kpi-value">([^<]*)</div>',
        html,
        re.S,
    )
    assert m, key
    attrs = dict(re.findall(r'data-([\w-]+)="([^"]*)"', m.group(1)))
    return attrs, m.group(2)


COMPARE = pd.DataFrame(
    {
        "strategy": ["multi", "single:aws"],
        "status": ["optimal", "optimal"],
        "total_usd": [1675.0, 2500.0],
        "npv_usd": [1563.0, 2400.0],
        "max_share": [1.0, 1.0],
        "peak_mw": [0.052, 0.05],
        "served: aws down": [0.5, 0.0],
        "served: nebius down": [0.8, 1.0],
    }
)


def test_report_is_self_contained_with_plotly_once(toy: Plan) -> None:
    html = render_report(toy, sim=SIM_JSON, compare=COMPARE)
    assert html.count(get_plotlyjs()[:300]) == 1  # the library, inline, once
    page = html.replace(get_plotlyjs(), "")  # the page around it loads nothing
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link\b", page)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    chart_ids = re.findall(r'<div class="hp-chart" id="([^"]+)"', html)
    # one newPlot call per chart in the page's own scripts (plotly.js itself may name the
    # function in its source: 5.18's bundle does)
    assert len(chart_ids) == len(set(chart_ids)) == page.count("Plotly.newPlot(")
    assert set(chart_ids) >= {
        "chart-spend-year",
        "chart-capacity-gpus-provider",
        "chart-capacity-gpus-accelerator",
        "chart-capacity-mw",
        "chart-spend-market",
        "chart-commitments",
        "chart-allocation",
        "chart-resilience",
        "chart-sim-served-fraction",
        "chart-sim-training-delay-hours",
        "chart-sim-cost-usd",
        "chart-walk-away",
        "chart-entry-prices",
        "chart-strategies",
    }
    for sid, _ in SECTIONS:
        assert f'<section id="{sid}"' in html
    data = json.loads(re.search(r'id="hp-data">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert data["total_usd"] == 1675.0 and data["charts"] == chart_ids
    assert "@media print" in html and "@page" in html


def test_executive_summary_figures_and_their_data_attributes(toy: Plan) -> None:
    html = render_report(toy)
    attrs, shown = kpi(html, "total-usd")
    assert float(attrs["total-usd"]) == 1675.0 and shown == fmt.usd(1675.0) == "USD 1.68k"
    attrs, shown = kpi(html, "npv-usd")
    assert float(attrs["npv-usd"]) == 1563.0 and shown == "USD 1.56k"
    attrs, shown = kpi(html, "max-share")
    assert float(attrs["max-share"]) == 1.0 and shown == "100.0%"
    attrs, shown = kpi(html, "peak-mw")
    assert float(attrs["peak-mw"]) == pytest.approx(0.052) and shown == "52 kW"
    assert float(attrs["target-mw"]) == pytest.approx(0.1)
    attrs, shown = kpi(html, "worst-outage")
    assert float(attrs["worst-outage-served"]) == 0.5 and shown == "50.0%"
    attrs, shown = kpi(html, "commitments")
    assert float(attrs["commitments-usd"]) == 1_314_000.0 and shown == "USD 1.31M"
    rows = dict(re.findall(r'<tr data-year="(\d+)" data-usd="([^"]+)">', html))
    assert {k: float(v) for k, v in rows.items()} == {"2027": 450.0, "2028": 1225.0}
    assert "USD 450.00" in html and "USD 1.23k" in html
    assert "chat serves only 50% of demand when aws is down (needs 80%)" in html
    assert "strategies" not in re.findall(r'<section id="(\w+)"', html)


def test_report_escapes_text(toy: Plan) -> None:
    html = render_report(toy)
    assert "toy &lt;b&gt;&amp;&quot;" in html and "toy <b>" not in html
    assert "a &lt;warning&gt;" in html


def test_report_of_a_plan_without_duals_or_capacity(toy: Plan) -> None:
    for name in ("policies", "entry_prices", "walk_away"):
        del toy.tables[name]
    for name in ("capacity", "commitments", "allocation"):
        toy.tables[name] = toy.tables[name].iloc[:0]
    html = render_report(toy)
    assert "The plan holds no capacity." in html
    assert "The plan signs no new reservation." in html
    assert "No duals" in html


# ----------------------------------------------------------------------------------------------
# A real plan (examples/small.yaml): the report's figures are the tables' own
# ----------------------------------------------------------------------------------------------
def test_small_plan_sections_match_its_tables(small: Plan) -> None:
    spend = small.tables["spend"]
    s = summarize(small)
    assert s.spend_per_year.to_dict() == pytest.approx(spend.groupby("year")["usd"].sum().to_dict())
    long = sec.spend_by_year_provider_market(small)
    assert long["usd"].sum() == pytest.approx(small.total_usd)
    cap = small.tables["capacity"]
    assert sec.capacity_by(small, "provider", "gpus").to_numpy().sum() == pytest.approx(
        cap["gpus"].sum()
    )
    assert sec.capacity_by(small, "accelerator", "mw").to_numpy().sum() == pytest.approx(
        cap["mw"].sum()
    )
    com = small.tables["commitments"]
    tl = sec.commitment_timeline(small)
    assert tl["contract_value_usd"].sum() == pytest.approx(com["contract_value_usd"].sum())
    assert tl["gpus"].sum() == pytest.approx(com["gpus"].sum())
    share = sec.allocation_share(small)
    assert share.groupby("workload")["share"].sum().to_numpy() == pytest.approx(1.0)
    rows = sec.catalog_rows(small)
    assert len(rows) == len(small.tables["offers"])
    assert not rows["source"].str.startswith("not in the bundled catalog").any()
    assert (rows["estimated_perf"] == "chat").any()  # small.yaml: chat perf from MLPerf, flagged


def test_small_plan_report_round_trips_through_plan_json(small: Plan, tmp_path: Path) -> None:
    small.to_json(tmp_path / "plan.json")
    again = Plan.from_json(tmp_path / "plan.json")
    fixed = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert render_report(small, generated=fixed) == render_report(again, generated=fixed)
    html = render_report(again)
    attrs, shown = kpi(html, "total-usd")
    assert float(attrs["total-usd"]) == small.total_usd and shown == fmt.usd(small.total_usd)
    assert "chart-walk-away" in html


@pytest.mark.skipif(not HAVE_SIM, reason="hyperplan.sim is not installed")
def test_small_plan_report_with_a_real_simulation(small: Plan) -> None:
    from hyperplan.sim import simulate

    result = simulate(small, trials=8, seed=1, workers=1)
    fixed = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    html = render_report(small, sim=result, generated=fixed)
    assert 'id="chart-sim-served-fraction"' in html
    assert 'id="chart-sim-cost-usd"' in html
    via_json = render_report(small, sim=json.loads(json.dumps(result.to_dict())), generated=fixed)
    assert via_json == html  # the object and its sim.json give the same report
    p50 = float(result.summary().set_index("metric").loc["cost_usd", "p50"])
    assert fmt.usd(p50) in html


# ----------------------------------------------------------------------------------------------
# Writing: atomic, and the `report` command
# ----------------------------------------------------------------------------------------------
def leftovers(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_write_report_is_atomic_when_writing_fails(
    toy: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_text("OLD", encoding="utf-8")

    def fail(fd: int) -> None:  # after the whole text went to the temporary file
        raise OSError("disk full")

    monkeypatch.setattr("hyperplan.fileio.os.fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        write_report(toy, target)
    assert target.read_text(encoding="utf-8") == "OLD"
    assert leftovers(tmp_path) == []
    monkeypatch.undo()
    write_report(toy, target)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert leftovers(tmp_path) == []


def test_write_report_writes_nothing_when_rendering_fails(
    toy: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_text("OLD", encoding="utf-8")

    def broken(*args: object, **kw: object) -> None:
        raise RuntimeError("chart failed")

    monkeypatch.setattr("hyperplan.report.charts.resilience", broken)
    with pytest.raises(RuntimeError):
        write_report(toy, target)
    assert target.read_text(encoding="utf-8") == "OLD" and leftovers(tmp_path) == []


def test_report_command_writes_the_report(small: Plan, tmp_path: Path) -> None:
    # the command re-verifies plan.json (issue 18), so it reads a real plan, not the toy
    small.to_json(tmp_path / "plan.json")
    spend = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))["tables"]["spend"]
    (tmp_path / "sim.json").write_text(json.dumps(SIM_JSON), encoding="utf-8")
    out = tmp_path / "report.html"
    result = runner.invoke(
        cli(), ["report", str(tmp_path / "plan.json"), "--sim", str(tmp_path / "sim.json"),
                "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output.replace("\n", "")
    html = out.read_text(encoding="utf-8")
    assert 'id="chart-sim-cost-usd"' in html
    assert kpi(html, "total-usd")[1] == fmt.usd(sum(spend["columns"]["usd"]["values"]))


def test_report_command_interrupted_mid_write_keeps_the_previous_file(
    small: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small.to_json(tmp_path / "plan.json")
    out = tmp_path / "report.html"
    out.write_text("OLD", encoding="utf-8")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("hyperplan.fileio.os.replace", interrupted)
    result = runner.invoke(cli(), ["report", str(tmp_path / "plan.json"), "-o", str(out)])
    assert result.exit_code == 130, result.output
    assert "nothing was written" in result.output
    assert out.read_text(encoding="utf-8") == "OLD" and leftovers(tmp_path) == []


def test_report_command_errors(small: Plan, tmp_path: Path) -> None:
    result = runner.invoke(cli(), ["report", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and "missing.json: no such file" in " ".join(result.output.split())
    small.to_json(tmp_path / "plan.json")
    (tmp_path / "sim.json").write_text("{not json", encoding="utf-8")
    result = runner.invoke(
        cli(), ["report", str(tmp_path / "plan.json"), "--sim", str(tmp_path / "sim.json"),
                "-o", str(tmp_path / "r.html")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "sim.json:1:2: invalid JSON" in " ".join(result.output.split())
    assert not (tmp_path / "r.html").exists()


# ----------------------------------------------------------------------------------------------
# `hyperplan demo`
# ----------------------------------------------------------------------------------------------
def test_demo_scenario_is_bundled_with_its_offers_csv() -> None:
    with report_commands.demo_scenario_path() as path:
        assert path.name == "frontier.yaml" and path.is_file()
        assert (path.parent / "frontier-offers.csv").is_file()


@pytest.mark.parametrize("no_browser", [False, True])
def test_demo_opens_the_browser_unless_told_not_to(
    no_browser: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: dict[str, list] = {"demo": [], "open": []}
    monkeypatch.setattr(
        report_commands, "run_demo", lambda output, **kw: calls["demo"].append((output, kw))
    )
    monkeypatch.setattr(report_commands.webbrowser, "open", lambda url: calls["open"].append(url))
    args = ["demo", "-o", str(tmp_path / "r.html"), "--trials", "3"]
    result = runner.invoke(cli(), args + (["--no-browser"] if no_browser else []))
    assert result.exit_code == 0, result.output
    assert calls["demo"] == [(tmp_path / "r.html", {"trials": 3, "seed": 0, "strict": False})]
    assert calls["open"] == ([] if no_browser else [(tmp_path / "r.html").resolve().as_uri()])


def test_demo_refuses_negative_trials() -> None:
    result = runner.invoke(cli(), ["demo", "--trials", "-1", "--no-browser"])
    assert result.exit_code == 2 and "--trials" in result.output


@pytest.mark.slow
def test_demo_end_to_end(tmp_path: Path) -> None:
    """Plans frontier-2030, simulates a few trials, writes the report, in well under a minute."""
    out = tmp_path / "report.html"
    t0 = time.perf_counter()
    result = runner.invoke(cli(), ["demo", "--trials", "5", "-o", str(out), "--no-browser"])
    seconds = time.perf_counter() - t0
    assert result.exit_code == 0, result.output
    assert seconds < 60, f"hyperplan demo took {seconds:.1f} s"
    text = result.output.replace("\n", "")
    assert "frontier-2030" in text and f"wrote {out}" in text and out.resolve().as_uri() in text
    html = out.read_text(encoding="utf-8")
    assert 'id="kpi-total-usd"' in html and 'id="chart-commitments"' in html
    if HAVE_SIM:
        assert 'id="chart-sim-served-fraction"' in html
        assert "simulated 5 trials" in text
    # the user's catalog rows (frontier-offers.csv) carry their own source
    assert "assumption: no Azure GB300 price" in html
    assert leftovers(tmp_path) == []
