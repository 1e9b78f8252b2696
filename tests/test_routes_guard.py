"""Owned sites and managed platforms are in the language but not yet planned: refused clearly."""

from __future__ import annotations

import pytest

from hyperplan.errors import InputError
from hyperplan.plan import plan
from hyperplan.scenario.schema import Scenario

BASE = {"horizon": {"start": "2027-01-01", "periods": 1}, "providers": {"aws": {}}}
CHAT = {"name": "chat", "kind": "inference", "demand_tokens_per_s": 1000}


def test_a_workload_asking_for_managed_capacity_is_refused_with_its_path() -> None:
    sc = Scenario.model_validate({**BASE, "workloads": [{**CHAT, "routes": ["managed"]}]})
    with pytest.raises(InputError) as err:
        plan(sc)
    assert err.value.problems[0].path == "workloads[0].routes"


def test_rented_route_plans_as_before() -> None:
    sc = Scenario.model_validate({**BASE, "workloads": [{**CHAT, "routes": ["rented"]}]})
    assert plan(sc, outages=False).status == "optimal"
