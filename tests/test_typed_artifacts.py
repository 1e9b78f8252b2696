"""Typed plan and simulation artifacts: ``plan.context`` / ``result.context`` and their JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hyperplan.errors import InputError
from hyperplan.plan import Plan, plan
from hyperplan.plan.context import PlanContext, workload_markets
from hyperplan.report.liability import end_effects
from hyperplan.scenario.load import load_scenario
from hyperplan.sim.inputs import compile_plan
from hyperplan.sim.models import SimConfig
from hyperplan.sim.result import SIM_META_KEYS, SimContext, SimResult

SMALL = Path(__file__).resolve().parents[1] / "examples" / "small.yaml"


@pytest.fixture(scope="module")
def small() -> Plan:
    return plan(load_scenario(SMALL))


def _same_context(a: PlanContext, b: PlanContext) -> None:
    """Every field equal; the scenario by value (a loaded one has no source folder)."""
    assert a.model_copy(update={"scenario": None}) == b.model_copy(update={"scenario": None})
    assert a.scenario is not None and b.scenario is not None
    assert a.scenario.model_dump() == b.scenario.model_dump()


def test_context_round_trips_through_plan_json(small: Plan, tmp_path: Path) -> None:
    ctx = small.context
    assert ctx.periods[0] == "2027-Q1" and len(ctx.periods) == 8
    assert ctx.period_starts[0] == dt.date(2027, 1, 1)
    assert ctx.horizon_end == dt.date(2029, 1, 1)  # 8 quarters from 2027-01-01
    assert ctx.providers == ("aws", "nebius")
    assert ctx.kind_of == {"pretrain": "training", "chat": "inference"}
    assert ctx.limits.terms_periods == {"1": 4, "3": 12}  # 1 y = 4 quarters, 3 y = 12
    assert ctx.scenario is not None and ctx.scenario.name == "small"
    small.to_json(tmp_path / "plan.json")
    back = Plan.from_json(tmp_path / "plan.json")
    _same_context(back.context, ctx)
    # and the JSON is the planner's own: the same meta written again
    again = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))["meta"]
    assert back.context.to_meta() == again
    assert list(again) == [
        "periods", "providers", "scenarios", "workloads", "kinds", "target_gw", "budget_usd",
        "max_share", "period_starts", "outages", "limits", "scenario",
    ]  # fmt: skip


def test_dir_lists_the_tables(small: Plan) -> None:
    names = dir(small)
    for table in ("commitments", "capacity", "allocation", "spend", "resilience", "unserved"):
        assert table in small.tables and table in names
    assert {"context", "total_usd", "misses", "to_json"} <= set(names)
    assert names == sorted(names)
    assert small.spend is small.tables["spend"]


def test_meta_dict_edits_are_read_back_into_the_context(small: Plan) -> None:
    p = Plan.from_dict(small.to_dict())
    assert p.context.outages.providers["aws"].rate_per_year == 1.0
    p.meta["outages"]["providers"]["aws"]["rate_per_year"] = 3.0
    assert p.context.outages.providers["aws"].rate_per_year == 3.0
    p.meta["ledger"] = {"workspace": "w", "version": 4}
    assert p.context.ledger is not None and p.context.ledger.version == 4
    # setting a context drops the dict: the next meta is made from it
    p.context = p.context.with_ledger({"workspace": "w", "version": 5})
    assert p.meta["ledger"] == {"workspace": "w", "version": 5}
    assert list(p.to_dict()["meta"])[-1] == "ledger"


def test_a_malformed_ledger_record_is_refused_located(small: Plan) -> None:
    data = small.to_dict()
    data["meta"]["ledger"] = {"workspace": "w", "version": True}
    with pytest.raises(InputError) as info:
        Plan.from_dict(json.loads(json.dumps(data, default=str)))
    assert [p.path for p in info.value.problems] == ["meta.ledger.version"]


def test_a_hand_built_meta_keeps_a_partial_scenario() -> None:
    meta: dict[str, Any] = {
        "scenarios": ["base"],
        "scenario": {
            "name": "tiny",
            "contracts": [
                {"name": "c1", "provider": "aws", "committed_usd": 1e6,
                 "start": "2027-01-01", "end": "2028-01-01"}
            ],
        },
    }  # fmt: skip
    p = Plan("tiny", "optimal", 0.0, {}, {}, [], meta)
    scen = p.context.scenario
    assert scen is not None and scen.name == "tiny"
    (c,) = scen.contracts
    assert (c.provider, c.committed_usd, c.start) == ("aws", 1e6, dt.date(2027, 1, 1))
    assert p.context.periods == () and p.context.horizon_end is None
    assert end_effects(p) == "prorate"  # no horizon recorded


def test_a_plan_written_before_end_effects_reads_as_prorate(small: Plan) -> None:
    assert end_effects(small) == "full"  # small.yaml states no rule: today's default
    data = json.loads(json.dumps(small.to_dict(), default=str))
    del data["meta"]["scenario"]["horizon"]["end_effects"]
    assert end_effects(Plan.from_dict(data)) == "prorate"


def test_the_simulator_takes_markets_from_the_context_with_the_planners_default(
    small: Plan,
) -> None:
    cfg = SimConfig()
    chat = small.context.workloads.index("chat")
    assert small.context.markets_of("chat") == ("reserved", "ondemand")
    assert compile_plan(small, years=0.25, step_hours=24.0, config=cfg).burst_ok[chat]
    scen = small.context.scenario
    assert scen is not None
    narrowed = scen.model_copy(deep=True)
    for wl in narrowed.workloads:
        if wl.name == "chat":
            wl.markets = ["reserved"]
    p = Plan.from_dict(small.to_dict())
    p.context = p.context.model_copy(update={"scenario": narrowed})
    assert p.context.markets_of("chat") == ("reserved",)
    assert not compile_plan(p, years=0.25, step_hours=24.0, config=cfg).burst_ok[chat]
    # the default: spot too when preemptible
    assert workload_markets(narrowed.workloads[chat].model_copy(update={"markets": None})) == (
        "reserved",
        "ondemand",
    )
    pre = narrowed.workloads[chat].model_copy(update={"markets": None, "preemptible": True})
    assert workload_markets(pre) == ("reserved", "ondemand", "spot")


def test_sim_context_round_trips_through_sim_json(tmp_path: Path) -> None:
    ctx = SimContext(
        scenario="small", seed=7, trials=3, years=1.0, step_hours=1.0, steps=8760, pools=2,
        periods=("2027-Q1",), compile_seconds=0.5, seconds=2.0, pool_steps=52560.0,
        pool_steps_per_second=26280.0, backend="processes", workers=2,
        config=SimConfig(repair_hours=12.0), warnings=("w",),
    )  # fmt: skip
    metrics = pd.DataFrame({"cost_usd": [1.0, 2.0, np.nan], "goodput": [0.5, 0.6, 0.7]})
    result = SimResult(metrics=metrics, context=ctx)
    result.to_json(tmp_path / "sim.json")
    back = SimResult.from_json(tmp_path / "sim.json")
    assert back.context == ctx
    assert back.context.where == "2"
    assert back.context.config is not None and back.context.config.repair_hours == 12.0
    written = json.loads((tmp_path / "sim.json").read_text(encoding="utf-8"))["meta"]
    assert list(written) == [k for k in SIM_META_KEYS if k != "address"]
    assert back.meta == written
    np.testing.assert_array_equal(back.metrics["goodput"].to_numpy(), [0.5, 0.6, 0.7])


def test_a_sim_json_with_a_bad_config_is_refused_located(tmp_path: Path) -> None:
    result = SimResult(pd.DataFrame({"cost_usd": [1.0]}), context=SimContext(trials=1))
    data = result.to_dict()
    data["meta"]["config"] = {"repair_hours": -1.0}
    with pytest.raises(InputError) as info:
        SimResult.from_dict(data, file="sim.json")
    assert [(p.path, p.file) for p in info.value.problems] == [
        ("meta.config.repair_hours", "sim.json")
    ]
