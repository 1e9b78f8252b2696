"""Routes a workload asks for but the scenario does not offer: planned unserved, with the reason.

(Owned sites and managed platforms are planned since issue 8; see ``test_routes.py``.)
"""

from __future__ import annotations

from hyperplan.plan import plan
from hyperplan.scenario.schema import Scenario

BASE = {"horizon": {"start": "2027-01-01", "periods": 1}, "providers": {"aws": {}}}
CHAT = {"name": "chat", "kind": "inference", "demand_tokens_per_s": 1000}


def test_a_workload_asking_for_managed_capacity_without_a_platform_is_unserved() -> None:
    sc = Scenario.model_validate({**BASE, "workloads": [{**CHAT, "routes": ["managed"]}]})
    result = plan(sc, outages=False)
    assert set(result.tables["unserved"]["workload"]) == {"chat"}
    assert any("no offer in play can serve it" in w for w in result.warnings)
    assert "routes" not in result.tables  # no owned or managed offer in the scenario


def test_rented_route_plans_as_before() -> None:
    sc = Scenario.model_validate({**BASE, "workloads": [{**CHAT, "routes": ["rented"]}]})
    assert plan(sc, outages=False).status == "optimal"
