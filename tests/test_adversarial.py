"""Adversarial scenarios: each plans correctly or fails with a message that says what to change.

Zero capacity everywhere, a budget below any useful plan, contradictory share caps,
coefficients spanning 12 orders of magnitude, workloads whose regions have no offer,
a 120-month horizon and 10,000 workloads (planned, and refused with an estimate when the model
would not fit in memory).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from hyperplan.errors import InputError
from hyperplan.plan import plan
from hyperplan.plan.api import solve_scenario
from hyperplan.plan.estimate import ModelTooLarge
from hyperplan.plan.verify import verify
from hyperplan.scenario.load import load_scenario, load_scenario_text
from hyperplan.scenario.schema import Scenario

HEAD = """\
name: adversarial
horizon: {start: 2027-01-01, period: quarter, periods: 4}
providers: {aws: {}, nebius: {}}
"""

CHAT = """\
  - name: chat
    kind: inference
    demand_tokens_per_s: 100000
    perf_tokens_per_s: {H100: 3000}
"""


def base_unserved(result, workload: str) -> float:
    uns = result.tables["unserved"]
    return float(uns[(uns["scenario"] == "base") & (uns["workload"] == workload)]["amount"].sum())


def demand_of(result, workload: str) -> float:
    wl = result.tables["workloads"]
    rows = wl[wl["workload"] == workload]
    if rows["kind"].iloc[0] == "training":
        return float(rows["compute_gpu_hours"].iloc[0])
    return float(rows["demand"].sum())


# ----------------------------------------------------------------------------------------------
# Zero capacity
# ----------------------------------------------------------------------------------------------


def test_zero_capacity_everywhere_leaves_all_demand_unserved_and_says_why() -> None:
    text = (
        HEAD
        + "offers: {accelerators: [H100], ondemand_cap: 0, spot_cap: 0}\n"
        + "terms: []\n"
        + "workloads:\n"
        + CHAT
        + "  - {name: train, kind: training, compute_gpu_hours: 10000, start: 2027-01-01,"
        " deadline: 2028-01-01}\n" + "  - {name: sandboxes, kind: agents, demand_vcpus: 1000}\n"
    )
    result = plan(load_scenario_text(text))
    assert result.status == "optimal"
    for name in ("chat", "train", "sandboxes"):
        assert base_unserved(result, name) == pytest.approx(demand_of(result, name), rel=1e-9)
        warning = next(w for w in result.warnings if w.startswith(f"workload {name}:"))
        assert "all of its base-scenario demand is unserved" in warning
        assert "ondemand_cap" in warning and "terms" in warning  # what to change
    assert result.total_usd == 0.0
    assert verify(result) == []


def test_every_offer_excluded_is_a_located_error_naming_the_filters() -> None:
    text = (
        HEAD + "offers:\n  exclude: [{provider: aws}, {provider: nebius}]\n" + "workloads:\n" + CHAT
    )
    with pytest.raises(InputError) as err:
        load_scenario_text(text, filename="s.yaml")
    (problem,) = err.value.problems
    assert (problem.line, problem.path) == (7, "workloads[0]")
    assert "no catalog offer is left for workload 'chat'" in problem.message
    assert "offers.exclude" in problem.message


# ----------------------------------------------------------------------------------------------
# Budget
# ----------------------------------------------------------------------------------------------


def test_a_budget_below_the_cheapest_plan_binds_and_prices_itself() -> None:
    text = (
        HEAD
        + "offers: {accelerators: [H100]}\n"
        + "workloads:\n"
        + CHAT.replace("100000", "1000000")
        + "policies: {budget_usd_per_year: 1000000, outages: none}\n"
    )
    result = plan(load_scenario_text(text))
    assert result.status == "optimal"
    spend = result.spend_by("year")
    assert float(spend["usd"].sum()) == pytest.approx(1e6, rel=1e-6)  # spends exactly the budget
    unserved = base_unserved(result, "chat")
    assert 0 < unserved < demand_of(result, "chat")
    pol = result.tables["policies"]
    budget = pol[pol["policy"] == "budget"]
    assert len(budget) == 1 and budget["marginal_usd"].iloc[0] > 1.0  # a dollar saves more
    assert budget["per"].iloc[0] == "USD of budget"
    assert any("budget" in w and "unserved" in w for w in result.warnings)


def test_held_reservations_above_the_budget_are_refused_with_the_amounts() -> None:
    text = (
        HEAD
        + "offers: {accelerators: [H100]}\n"
        + "reservations:\n"
        + "  - {provider: aws, region: us-east-1, instance_type: p5.48xlarge, instances: 10,"
        " start: 2027-01-01, end: 2028-01-01}\n"
        + "workloads:\n"
        + CHAT
        + "policies: {budget_usd_per_year: 1000}\n"
    )
    with pytest.raises(InputError) as err:
        plan(load_scenario_text(text, filename="s.yaml"))
    (problem,) = err.value.problems
    assert problem.path == "policies.budget_usd_per_year" and problem.file == "s.yaml"
    assert "reservations already held cost" in problem.message and "2027" in problem.message
    assert "raise the budget" in problem.message


# ----------------------------------------------------------------------------------------------
# Contradictory policies
# ----------------------------------------------------------------------------------------------


def test_max_share_below_one_over_the_providers_is_a_located_error() -> None:
    text = HEAD + "workloads:\n" + CHAT + "policies:\n  max_share: 0.3\n"
    with pytest.raises(InputError) as err:
        load_scenario_text(text, filename="s.yaml")
    (problem,) = err.value.problems
    assert (problem.line, problem.column, problem.path) == (10, 14, "policies.max_share")
    assert problem.message == (
        "max_share 0.3 × 2 providers < 1: no plan can buy anything; "
        "raise max_share to ≥ 0.5 or add providers"
    )


def test_max_share_caps_per_provider_adding_up_below_one() -> None:
    text = HEAD + "workloads:\n" + CHAT + "policies:\n  max_share: {aws: 0.5, nebius: 0.3}\n"
    with pytest.raises(InputError) as err:
        load_scenario_text(text)
    (problem,) = err.value.problems
    assert problem.path == "policies.max_share"
    assert "add up to 0.8 < 1 over the 2 providers in play (aws 0.5, nebius 0.3)" in (
        problem.message
    )


def test_max_share_checked_again_over_the_providers_left_with_offers() -> None:
    """The scenario names two providers, but its filters leave offers with one: planning refuses
    (the scenario check cannot know which providers the filters empty)."""
    text = (
        HEAD
        + "offers:\n  accelerators: [H100]\n  exclude: [{provider: nebius}]\n"
        + "workloads:\n"
        + CHAT
        + "    providers: [aws]\n"
        + "policies: {max_share: 0.6}\n"
    )
    scenario = load_scenario_text(text, filename="s.yaml")
    with pytest.raises(InputError) as err:
        plan(scenario)
    assert "max_share 0.6 × 1 provider < 1" in str(err.value)
    assert err.value.problems[0].path == "policies.max_share"


def test_share_cap_and_held_reservations_with_nothing_else_to_buy() -> None:
    """Held capacity with one provider is 100% of spend in periods where no workload can use any
    other provider: the cap cannot hold, and the message says when and what to change."""
    text = """\
name: stuck
horizon: {start: 2027-01-01, period: year, periods: 3}
providers: {aws: {}, oci: {}}
offers: {accelerators: [H100]}
reservations:
  - {provider: aws, region: us-east-1, instance_type: p5.48xlarge, instances: 4,
     start: 2027-01-01, end: 2030-01-01}
workloads:
  - {name: run, kind: training, compute_gpu_hours: 100000, start: 2029-01-01,
     deadline: 2030-01-01, markets: [ondemand]}
policies: {max_share: 0.6, outages: none}
"""
    with pytest.raises(InputError) as err:
        plan(load_scenario_text(text))
    message = str(err.value)
    assert "already held with aws are 100% of spend in 2027" in message
    assert "raise max_share" in message


# ----------------------------------------------------------------------------------------------
# Numerical range
# ----------------------------------------------------------------------------------------------


def test_coefficients_spanning_twelve_orders_of_magnitude_plan_and_verify() -> None:
    text = (
        HEAD
        + """\
offers:
  accelerators: [H100, H200]
  overrides:
    - match: {provider: nebius, accelerator: H100}
      ondemand_usd_per_hour: 0.0001
      reserved_usd_per_hour: {1y: 0.0001, 3y: 0.0001}
    - {match: {provider: aws, accelerator: H200}, ondemand_usd_per_hour: 100000}
workloads:
  - {name: tiny, kind: inference, demand_tokens_per_s: 0.001,
     perf_tokens_per_s: {H100: 3000, H200: 4000}}
  - {name: huge, kind: inference, demand_tokens_per_s: 1000000000,
     perf_tokens_per_s: {H100: 3000, H200: 4000}}
  - {name: sliver, kind: agents, demand_vcpus: 0.001}
policies: {max_share: 0.7}
"""
    )
    result = plan(load_scenario_text(text))
    assert result.status == "optimal"
    assert verify(result) == []  # solve_scenario checked it too; the tables say so again
    alloc = result.tables["allocation"]
    for name, demand in (("tiny", 0.001), ("huge", 1e9), ("sliver", 0.001)):
        served = alloc[alloc["workload"] == name].groupby("period_index")["served"].sum()
        assert len(served) == 4 and np.allclose(served, demand, rtol=1e-6), name
    spread = [w for w in result.warnings if "orders of magnitude" in w]
    assert spread and "check the units" in spread[0]


# ----------------------------------------------------------------------------------------------
# Regions without offers
# ----------------------------------------------------------------------------------------------


def test_a_workload_whose_region_has_no_such_offer_is_a_located_error() -> None:
    text = (
        HEAD
        + "workloads:\n"
        + "  - name: chat\n"
        + "    kind: inference\n"
        + "    demand_tokens_per_s: 1000\n"
        + "    providers: [aws]\n"
        + "    regions: [eu-west-2]\n"
        + "    accelerators: [B200]\n"
    )
    with pytest.raises(InputError) as err:
        load_scenario_text(text, filename="s.yaml")
    (problem,) = err.value.problems
    assert (problem.file, problem.line, problem.path) == ("s.yaml", 5, "workloads[0]")
    assert problem.message == (
        "no catalog offer is left for workload 'chat' after its filters "
        "(providers [aws]; regions [eu-west-2]; accelerators [B200])"
    )


def test_a_region_the_provider_does_not_have_suggests_one() -> None:
    text = (
        HEAD
        + "workloads:\n"
        + "  - {name: chat, kind: inference, demand_tokens_per_s: 1000, providers: [nebius],"
        " regions: [eu-north-1]}\n"
    )
    with pytest.raises(InputError) as err:
        load_scenario_text(text, filename="s.yaml")
    (problem,) = err.value.problems
    assert problem.path == "workloads[0].regions[0]" and problem.line == 5
    assert "unknown region 'eu-north-1' for nebius; did you mean 'eu-north1'?" in problem.message


def test_names_match_the_catalog_whatever_their_case() -> None:
    """AWS / US-EAST-1 pass the checks (case-insensitive), so planning must match them too:
    it once matched case-sensitively and left the demand silently unserved."""
    path = Path(__file__).parent / "fuzz_corpus" / "plan" / "provider-names-in-capitals.yaml"
    result = plan(load_scenario(path))
    assert base_unserved(result, "chat") == 0 and base_unserved(result, "batch") == 0
    spend = result.spend_by("provider")
    assert set(spend["provider"]) == {"aws", "nebius"}


# ----------------------------------------------------------------------------------------------
# Scale
# ----------------------------------------------------------------------------------------------


def test_a_horizon_of_120_monthly_periods_plans_in_reasonable_time() -> None:
    text = """\
name: decade
horizon: {start: 2027-01-01, period: month, periods: 120}
providers: {aws: {}, nebius: {}, oci: {}}
offers: {accelerators: [H100, H200, B200]}
workloads:
  - {name: chat, kind: inference, demand_tokens_per_s: {start: 200000, growth_per_year: 0.6},
     perf_tokens_per_s: {H100: 3000, H200: 4200, B200: 9000}}
  - {name: sandboxes, kind: agents, demand_vcpus: {start: 5000, growth_per_year: 0.5}}
  - {name: pretrain, kind: training, compute_gpu_hours: 3000000, start: 2028-01,
     deadline: 2029-01}
  - {name: evals, kind: batch, demand_gpus: 64}
policies: {max_share: 0.6, outages: providers}
"""
    started = time.perf_counter()
    result = plan(load_scenario_text(text))
    seconds = time.perf_counter() - started
    assert result.status == "optimal"
    assert len(result.meta["periods"]) == 120 and result.meta["periods"][-1] == "2036-12"
    assert seconds < 30, f"{seconds:.1f} s"  # measured: 2.3 s (69k columns)
    for name in ("chat", "sandboxes", "pretrain", "evals"):
        assert base_unserved(result, name) == pytest.approx(0.0, abs=1e-6)
    assert 3 in result.tables["commitments"]["term_years"].to_numpy()  # 36-month terms fit


def _fleet(workloads: int, periods: int) -> Scenario:
    """``workloads`` inference services, each pinned to one provider, region and accelerator."""
    sites = [("aws", "us-east-1"), ("nebius", "eu-north1"), ("lambda", "us-east-1")]
    items = []
    for i in range(workloads):
        provider, region = sites[i % len(sites)]
        items.append(
            {
                "name": f"svc-{i:05d}",
                "kind": "inference",
                "providers": [provider],
                "regions": [region],
                "accelerators": ["H100"],
                "perf_tokens_per_s": {"H100": 3000},
                "demand_tokens_per_s": {
                    "start": 1000 + 37 * (i % 101),
                    "growth_per_year": 0.5 + (i % 7) / 10,
                },
            }
        )
    return Scenario.model_validate(
        {
            "name": "fleet",
            "horizon": {"start": "2027-01-01", "period": "quarter", "periods": periods},
            "providers": {"aws": {}, "nebius": {}, "lambda": {}},
            "offers": {"accelerators": ["H100"]},
            "workloads": items,
            "policies": {"outages": "none", "max_share": 0.6},
        }
    )


def test_ten_thousand_workloads_plan() -> None:
    """10,000 services (each pinned to its provider and region) plan; resolve, build, results
    and the check are vectorised (measured: resolve 0.2 s, build 0.2 s, verify 0.1 s; the LP
    solve dominates)."""
    scenario = _fleet(10_000, periods=2)
    started = time.perf_counter()
    solved = solve_scenario(scenario, options=_ipm())
    seconds = time.perf_counter() - started
    result = solved.plan
    assert result.status == "optimal"
    assert len(result.meta["workloads"]) == 10_000
    assert result.tables["unserved"].empty
    assert result.max_provider_share <= 0.6 + 1e-6
    stats = result.stats
    assert stats["build_seconds"] < 10 and stats["verify_seconds"] < 5, stats
    assert seconds < 60, f"{seconds:.1f} s"


def _ipm():
    from hyperplan.plan.solve import SolverOptions

    return SolverOptions(method="ipm")


def test_ten_thousand_unrestricted_workloads_are_refused_with_the_estimate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every service may use every offer, monthly, with every provider outage: ~300M columns.
    The estimate refuses it before anything is built, and says what to reduce."""
    monkeypatch.setenv("HYPERPLAN_MEMORY_LIMIT_BYTES", str(16 * 2**30))
    items = [
        {
            "name": f"svc-{i:05d}",
            "kind": "inference",
            "demand_tokens_per_s": {"start": 1000 + i, "growth_per_year": 0.5},
            "perf_tokens_per_s": {"H100": 3000, "H200": 4200, "B200": 9000},
        }
        for i in range(10_000)
    ]
    scenario = Scenario.model_validate(
        {
            "name": "everything-everywhere",
            "horizon": {"start": "2027-01-01", "period": "month", "periods": 24},
            "workloads": items,
            "policies": {"outages": "providers", "max_share": 0.5},
        }
    )
    started = time.perf_counter()
    with pytest.raises(ModelTooLarge) as err:
        solve_scenario(scenario)
    assert time.perf_counter() - started < 15  # resolve + estimate only
    est = err.value.estimate
    assert est.columns > 100_000_000 and est.bytes > 16 * 2**30
    message = err.value.problems[0].message
    assert "more than the 16.0 GiB available ($HYPERPLAN_MEMORY_LIMIT_BYTES)" in message
    assert "nothing was built" in message
    for advice in ("workload-offer pairs", "periods (24", "offers in play", "outage scenarios"):
        assert advice in message
