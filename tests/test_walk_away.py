"""Walk-away values against hand-computed costs, in place and in worker processes."""

from __future__ import annotations

import pytest

from hyperplan.plan.api import solve_scenario
from hyperplan.plan.sensitivity import walk_away_values
from plan_helpers import horizon, inference, offer, scenario, tiny_catalog


@pytest.fixture
def solved(tmp_path):
    # Two providers sell the same 1-GPU H100 on demand: a at 2 USD/h, b at 3 USD/h, no terms.
    # Demand 1000 tokens/s at 100 tokens/s per GPU = 10 instances for 8760 h (2027).
    cat = tiny_catalog(
        tmp_path, [offer("a", "us-east-1", "h1", 2.0), offer("b", "us-east-1", "h1", 3.0)]
    )
    sc = scenario(
        horizon=horizon(1, "year"),
        providers={"a": {}, "b": {}},
        terms=[],
        workloads=[inference("chat", 1000)],
        policies={"outages": "none"},
    )
    return solve_scenario(sc, catalog=cat)


def test_walk_away_is_the_extra_cost_of_the_next_best_provider(solved) -> None:
    wa = walk_away_values(solved, workers=1).set_index("provider")
    # leaving a: all 10 instances move to b at +1 USD/h: 10 × 1 × 8760 = 87,600 USD
    assert wa.loc["a", "walk_away_usd"] == pytest.approx(87_600, rel=1e-6)
    # leaving b costs nothing: b is not used
    assert wa.loc["b", "walk_away_usd"] == pytest.approx(0.0, abs=1e-6)
    assert (wa["penalty_usd"].abs() < 1e-6).all()


def test_worker_processes_give_the_same_values(solved) -> None:
    here = walk_away_values(solved, workers=1).set_index("provider")
    pool = walk_away_values(solved, workers=2, min_columns_for_processes=0).set_index("provider")
    assert pool.loc[here.index, "walk_away_usd"].to_numpy() == pytest.approx(
        here["walk_away_usd"].to_numpy(), rel=1e-9, abs=1e-6
    )
