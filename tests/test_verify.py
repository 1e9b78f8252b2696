"""The independent plan check catches a plan that breaks a constraint."""

from __future__ import annotations

import copy

import pytest

from hyperplan.plan import plan
from hyperplan.plan.verify import verify
from hyperplan.scenario.schema import Scenario

SCENARIO = {
    "name": "verify",
    "horizon": {"start": "2027-01-01", "period": "quarter", "periods": 4, "discount_rate": 0.0},
    "providers": {"aws": {}, "nebius": {}},
    "offers": {"accelerators": ["H100"]},
    "workloads": [
        {
            "name": "chat",
            "kind": "inference",
            "demand_tokens_per_s": 200000,
            "perf_tokens_per_s": {"H100": 3000},
        },
        {
            "name": "train",
            "kind": "training",
            "compute_gpu_hours": 100000,
            "start": "2027-04-01",
            "deadline": "2027-10-01",
        },
    ],
    "policies": {"max_share": 0.6},
}


@pytest.fixture(scope="module")
def good():
    return plan(Scenario.model_validate(SCENARIO))


def test_a_solved_plan_has_no_violation(good) -> None:
    assert verify(good) == []


def test_allocation_above_capacity_is_caught(good) -> None:
    bad = copy.deepcopy(good)
    alloc = bad.tables["allocation"]
    i = alloc.index[alloc["market"] == "reserved"][0]
    alloc.loc[i, "instances"] += 50
    assert any("reserved use of" in v for v in verify(bad))


def test_missing_demand_is_caught(good) -> None:
    bad = copy.deepcopy(good)
    alloc = bad.tables["allocation"]
    i = alloc.index[alloc["workload"] == "chat"][0]
    alloc.loc[i, "served"] *= 0.5
    assert any("chat in" in v and "< demand" in v for v in verify(bad))


def test_share_above_cap_is_caught(good) -> None:
    bad = copy.deepcopy(good)
    sp = bad.tables["spend"]
    i = sp.index[sp["provider"] == "nebius"][0]
    sp.loc[i, "usd"] *= 10
    assert any("max_share" in v for v in verify(bad))


def test_training_outside_window_is_caught(good) -> None:
    bad = copy.deepcopy(good)
    alloc = bad.tables["allocation"]
    i = alloc.index[alloc["workload"] == "train"][0]
    alloc.loc[i, "period_index"] = 0
    assert any("outside its window" in v for v in verify(bad))
