"""bench/anchors.py builds hyperplan's planning model in linopy and Pyomo: the same model.

bench/model_build.py's ``--quick`` case (tests/test_bench_smoke.py) has no budget, power cap,
owned site, contract, supply ramp or single-site run, so a change to one of those families in
``hyperplan.plan.build`` would leave the anchors behind unseen. Here every row and column family
of the builder is present in at least one scenario (asserted, so a new family fails this test until
the anchors build it), and the models each tool hands to HiGHS must have the same order-free
fingerprint (bench/common.py: sizes, sorted costs, bounds, row bounds, coefficients and nonzeros
per row and per column). The LP case is also solved: the same objective.

linopy and Pyomo are bench dependencies (``pip install ".[bench]"``): without one, its cases skip.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import anchors  # noqa: E402
import common  # noqa: E402
from hyperplan.plan.api import _scenario_catalog  # noqa: E402
from hyperplan.plan.build import build  # noqa: E402
from hyperplan.plan.inputs import resolve  # noqa: E402
from hyperplan.plan.solve import SolverOptions, make_highs  # noqa: E402
from hyperplan.scenario.load import load_scenario  # noqa: E402

#: every row and column family plan/build.py makes (the scenarios below make them all)
FAMILIES = {
    "row": {
        "reserved-balance", "supply", "pool-reserved", "pool-market", "demand",
        "outage-not-better", "training-compute", "training-instances", "site-choice",
        "site-link", "spend-balance", "gpus-balance", "share", "power-site", "power-total",
        "power-site-outage", "power-total-outage", "budget", "reserved-spend-balance",
        "budget-outage", "take-or-pay",
    },
    "col": {
        "reserve", "capacity", "allocate", "unserved", "unserved-training", "site", "spend",
        "gpus", "reserved-spend", "shortfall",
    },
}  # fmt: skip


def _policies(path: Path, out: Path, **changes: Any) -> Path:
    """A copy of an example scenario with ``changes`` (``section__field: value``) applied."""
    doc = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        section, field = key.split("__")
        if section == "training":  # the first workload, a training run
            doc["workloads"][0][field] = value
        else:
            doc[section][field] = value
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    for csv in path.parent.glob("*.csv"):
        shutil.copy(csv, out.parent / csv.name)
    return out


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("anchors")
    small, frontier = ROOT / "examples" / "small.yaml", ROOT / "examples" / "frontier-2030.yaml"
    return {
        # an LP: budgets and a total power cap (base and outage scenarios), shares by GPUs, a
        # capped training run, commitments charged pro rata at the horizon's end
        "small-policies": _policies(
            small,
            tmp / "small-policies.yaml",
            policies__budget_usd_per_year=3.0e8,
            policies__power_total_mw=6.0,
            policies__share_by="gpus",
            training__max_instances=400,
            horizon__end_effects="prorate",
        ),
        # a MILP: owned sites (lead times, builds), managed platforms, contracts, supply ramps,
        # site power caps, single-site runs; plus budgets, a total power cap, salvage values
        "frontier-policies": _policies(
            frontier,
            tmp / "frontier-policies.yaml",
            policies__budget_usd_per_year=3.0e11,
            policies__power_total_mw=20_000,
            horizon__end_effects="salvage",
            horizon__salvage={"usd_per_instance_hour": 1.0},
        ),
    }


@pytest.fixture(scope="module")
def hyperplan_models(scenarios: dict[str, Path]) -> dict[str, tuple[Any, Any, Any]]:
    """Per scenario: (PlanInputs, PlanningModel, the Highs holding it as built: unscaled)."""
    out = {}
    for name, path in scenarios.items():
        scenario = load_scenario(path)
        inp = resolve(scenario, _scenario_catalog(scenario))
        pm = build(inp)
        out[name] = (inp, pm, make_highs(pm.lm, SolverOptions(), scale=False))
    return out


def test_scenarios_make_every_family(hyperplan_models: dict[str, tuple[Any, Any, Any]]) -> None:
    made: dict[str, set[str]] = {"row": set(), "col": set()}
    for _inp, pm, _h in hyperplan_models.values():
        made["row"] |= {n for n, f in pm.lm.rows.items() if f.size}
        made["col"] |= {n for n, f in pm.lm.cols.items() if f.size}
    assert made == FAMILIES


def _anchor_highs(tool: str, inp: Any) -> tuple[Any, Any]:
    if tool == "linopy":
        model = anchors.build_linopy(inp)
        return model, anchors.linopy_to_highs(model)
    model = anchors.build_pyomo(inp)
    opt, h = anchors.pyomo_to_highs(model)
    return (model, opt), h


def _objective(h: Any) -> float:
    h.setOptionValue("output_flag", False)
    h.run()
    assert h.modelStatusToString(h.getModelStatus()) == "Optimal"
    return float(h.getInfo().objective_function_value)


@pytest.mark.parametrize("case", ["small-policies", "frontier-policies"])
@pytest.mark.parametrize("tool", ["linopy", "pyomo"])
def test_anchor_builds_hyperplans_model(
    hyperplan_models: dict[str, tuple[Any, Any, Any]], tool: str, case: str
) -> None:
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed (a bench dependency: pip install '.[bench]')")
    inp, pm, h = hyperplan_models[case]
    _keep, h_tool = _anchor_highs(tool, inp)
    assert (
        common.same_fingerprint(common.highs_fingerprint(h), common.highs_fingerprint(h_tool)) == []
    )
    if case == "small-policies":  # an LP: solved both ways, the same optimum
        assert not pm.lm.is_mip
        expected = _objective(h) - pm.lm.offset  # the anchors leave out the constant
        assert np.isclose(_objective(h_tool), expected, rtol=1e-9, atol=0)
