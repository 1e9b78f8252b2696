"""Solver limits: honest statuses at a time or iteration limit, no plan without a feasible point,
memory estimated before building and refused with the estimate, and the infeasible corner cases.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from hyperplan.errors import HyperplanError, InputError, SolverError
from hyperplan.plan import plan
from hyperplan.plan.api import _scenario_catalog, solve_scenario
from hyperplan.plan.build import build
from hyperplan.plan.estimate import (
    MEMORY_ENV,
    Estimate,
    ModelTooLarge,
    available_memory,
    estimate,
)
from hyperplan.plan.inputs import resolve
from hyperplan.plan.solve import SolverOptions, make_highs, run
from hyperplan.plan.verify import verify
from hyperplan.scenario.load import load_scenario, load_scenario_text
from hyperplan.synthetic import synthetic_catalog, synthetic_scenario
from test_fuzz import render, valid_scenarios

ROOT = Path(__file__).resolve().parents[1]
FRONTIER = ROOT / "examples" / "frontier-2030.yaml"
SMALL = ROOT / "examples" / "small.yaml"
HYPERPLAN = [sys.executable, "-m", "hyperplan.cli"]


def hard_milp(runs: int = 20) -> str:
    """Single-site training runs with instance caps over three providers, whole instances: HiGHS
    finds a first plan within 0.2 s and is still 2% from optimal after 30 s (measured)."""
    lines = [
        "name: hard-milp",
        "horizon: {start: 2027-01-01, period: month, periods: 9}",
        "providers: {aws: {}, nebius: {}, oci: {}}",
        "offers: {accelerators: [H100, H200]}",
        "integer: true",
        "policies: {max_share: 0.5, outages: none}",
        "workloads:",
        "  - {name: chat, kind: inference, demand_tokens_per_s: {start: 30000,"
        " growth_per_year: 1.0}, perf_tokens_per_s: {H100: 3000, H200: 4000}}",
    ]
    for i in range(runs):
        lines.append(
            f"  - {{name: run{i}, kind: training, compute_gpu_hours: {20000 + 3700 * i},"
            f" start: 2027-0{1 + i % 3}-01, deadline: 2027-{7 + i % 3:02d}-01,"
            f" single_site: true, max_instances: {6 + i % 5}}}"
        )
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# Time and iteration limits
# ----------------------------------------------------------------------------------------------


def test_a_time_limited_milp_returns_its_best_plan_with_its_gap() -> None:
    result = plan(load_scenario_text(hard_milp()), time_limit=2.0)
    m = re.fullmatch(r"time limit, gap (\d+\.\d)%", result.status)
    assert m, result.status
    gap = result.stats["mip_gap"]
    assert 0 < gap <= 1 and f"{gap:.1%}" == f"{m[1]}%"
    assert result.stats["integer"] is True
    assert result.stats["solve_seconds"] < 10
    warning = result.warnings[0]
    assert "stopped at its time limit" in warning and "not a proven optimum" in warning
    assert f"gap {m[1]}%" in warning and "raise --time-limit" in warning
    assert verify(result) == []  # a feasible plan, checked like any other
    commitments = result.tables["commitments"]
    assert np.allclose(commitments["instances"], np.round(commitments["instances"]))


def test_the_cli_prints_the_honest_status(tmp_path: Path) -> None:
    path = tmp_path / "milp.yaml"
    path.write_text(hard_milp(), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "hyperplan.cli", "plan", str(path), "--time-limit", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())  # rich wraps lines
    assert re.search(r"time limit, gap \d+\.\d%", text), text[-2000:]
    assert "not a proven optimum" in " ".join(proc.stderr.split())  # a warning: on stderr


def test_an_lp_stopped_by_the_time_limit_without_a_feasible_point_is_an_error() -> None:
    """Dual simplex has no feasible point before it is optimal: nothing is presented."""
    with pytest.raises(SolverError) as err:
        plan(load_scenario(FRONTIER), time_limit=0.2)
    message = str(err.value)
    assert "the solver reached the time limit (0.2 s)" in message
    assert "no plan is presented" in message and "Raise --time-limit" in message
    assert "--no-outages" in message  # what else to reduce


def test_the_cli_exits_3_when_the_time_limit_leaves_no_plan(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    proc = subprocess.run(
        [*HYPERPLAN, "plan", str(FRONTIER), "--time-limit", "0.2", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3, (proc.returncode, proc.stderr)
    assert "time limit" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_an_lp_stopped_with_a_feasible_point_is_flagged_not_optimal() -> None:
    """Primal simplex holds a feasible point after phase 1; stopped by an iteration limit, the
    plan is shown with an honest status and a warning, and it passes the independent check."""
    options = SolverOptions(
        presolve=False, highs_options={"simplex_strategy": 4, "simplex_iteration_limit": 300}
    )
    solved = solve_scenario(load_scenario(SMALL), options=options)
    result = solved.plan
    assert solved.solution.status == "iteration limit" and solved.solution.primal_feasible
    assert result.status == "iteration limit, not proven optimal"
    assert "stopped at its iteration limit" in result.warnings[0]
    assert "how far it is from the optimum is unknown" in result.warnings[0]
    assert verify(result) == []
    optimum = plan(load_scenario(SMALL)).objective_usd
    assert result.objective_usd >= optimum * (1 - 1e-9)


def test_values_from_a_stopped_dual_simplex_are_not_a_plan() -> None:
    """HiGHS hands back primal values after an iteration limit even when they break rows by
    millions: ``usable`` is False (it once was True and the values went on to become a plan)."""
    scenario = load_scenario(SMALL)
    pm = build(resolve(scenario, _scenario_catalog(scenario)))
    h = make_highs(
        pm.lm, SolverOptions(presolve=False, highs_options={"simplex_iteration_limit": 50})
    )
    solution = run(h, is_mip=False)
    assert solution.status == "iteration limit" and len(solution.col_value) == pm.lm.n_cols
    assert not solution.primal_feasible and not solution.usable
    options = SolverOptions(presolve=False, highs_options={"simplex_iteration_limit": 50})
    with pytest.raises(SolverError, match=r"reached its iteration limit .* before it found a"):
        solve_scenario(scenario, options=options)


def test_a_bad_highs_option_is_a_solver_error() -> None:
    scenario = load_scenario(SMALL)
    with pytest.raises(SolverError, match="HiGHS rejected the option no_such_option"):
        solve_scenario(scenario, options=SolverOptions(highs_options={"no_such_option": 1}))


# ----------------------------------------------------------------------------------------------
# The idle start and models without columns
# ----------------------------------------------------------------------------------------------


def test_a_model_without_columns_is_an_empty_plan() -> None:
    """No workload can use any offer: HiGHS reports an empty model (it was "no plan")."""
    text = """\
name: nothing
horizon: {start: 2029-11-01, period: month, periods: 3}
providers: {oci: {}, azure: {}}
offers: {accelerators: [A10], ondemand_cap: 0}
terms: []
workloads:
  - {name: chat, kind: inference, providers: [oci], demand_tokens_per_s: 0}
"""
    result = plan(load_scenario_text(text))
    assert result.status == "optimal" and result.stats["columns"] == 0
    assert result.total_usd == 0.0


def test_a_single_site_run_nothing_can_serve_is_unserved_not_infeasible() -> None:
    """A single-site run with no allocation column once made the whole model infeasible
    (its "choose one site" row had no site to choose)."""
    text = """\
name: spot-only
horizon: {start: 2027-01-01, period: quarter, periods: 4}
providers: {oci: {}, aws: {}}
offers: {accelerators: [H100]}
workloads:
  - {name: run, kind: training, compute_gpu_hours: 100000, start: 2027-04-01,
     deadline: 2028-01-01, single_site: true, markets: [spot], providers: [oci]}
  - {name: chat, kind: inference, demand_tokens_per_s: 100000, perf_tokens_per_s: {H100: 3000}}
policies: {outages: none}
"""
    result = plan(load_scenario_text(text), integer=True)
    assert result.status == "optimal"
    uns = result.tables["unserved"]
    assert float(uns[uns["workload"] == "run"]["amount"].sum()) == pytest.approx(100000)
    assert uns[uns["workload"] == "chat"].empty


def test_an_infeasible_model_names_the_limits_in_conflict() -> None:
    """Held aws capacity must be diluted under max_share by buying oci, which the power cap
    forbids: the error names both limits (each alone would make a plan possible)."""
    text = """\
name: conflict
horizon: {start: 2027-01-01, period: quarter, periods: 2}
providers: {aws: {}, oci: {}}
offers: {accelerators: [H100]}
reservations:
  - {provider: aws, region: us-east-1, instance_type: p5.48xlarge, instances: 10,
     start: 2027-01-01, end: 2028-01-01}
workloads:
  - {name: chat, kind: inference, demand_tokens_per_s: 100000, perf_tokens_per_s: {H100: 3000}}
policies: {max_share: 0.6, outages: none, power_total_mw: 0.125}
"""
    with pytest.raises(HyperplanError) as err:
        plan(load_scenario_text(text))
    message = str(err.value)
    assert "status: infeasible" in message
    assert "relaxing policies.max_share or the power caps" in message


# ----------------------------------------------------------------------------------------------
# The size estimate
# ----------------------------------------------------------------------------------------------


def _compare(inputs, outages: bool = True) -> tuple[Estimate, int, int, int]:
    est = estimate(inputs, outages=outages)
    lm = build(inputs, outages=outages).lm
    return est, lm.n_cols, lm.n_rows, int(lm.matrix().nnz)


@pytest.mark.parametrize("outages", [True, False])
@pytest.mark.parametrize("name", ["small", "frontier"])
def test_the_estimate_counts_the_example_models_exactly(name: str, outages: bool) -> None:
    scenario = load_scenario(SMALL if name == "small" else FRONTIER)
    est, cols, rows, nnz = _compare(resolve(scenario, _scenario_catalog(scenario)), outages)
    assert (est.columns, est.rows, est.nonzeros) == (cols, rows, nnz)
    assert est.bytes > 0 and est.drivers["periods"] == scenario.horizon.periods


def test_the_estimate_of_a_large_model_is_exact_and_cheap() -> None:
    import time

    inputs = resolve(synthetic_scenario(workloads=300, periods=12), synthetic_catalog())
    started = time.perf_counter()
    est = estimate(inputs)
    cheap = time.perf_counter() - started
    started = time.perf_counter()
    lm = build(inputs).lm
    built = time.perf_counter() - started
    assert (est.columns, est.rows) == (lm.n_cols, lm.n_rows)
    assert est.nonzeros == lm.matrix().nnz
    assert cheap < built / 5, (cheap, built)  # measured: 1 ms against 0.2 s


@settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=valid_scenarios())
def test_the_estimate_counts_random_models_exactly(data: dict) -> None:
    """Columns and rows exact, nonzeros an upper bound (a coefficient of 0 is dropped)."""
    scenario = load_scenario_text(render(data))
    try:
        inputs = resolve(scenario, _scenario_catalog(scenario))
    except InputError:  # a contradiction resolve() refuses (tested elsewhere)
        return
    for outages in (True, False):
        est, cols, rows, nnz = _compare(inputs, outages)
        assert (est.columns, est.rows) == (cols, rows), est.families
        assert nnz <= est.nonzeros <= nnz * 1.05 + 10


def test_outage_power_rows_count_only_offers_with_a_capacity_column() -> None:
    """Found by the property above after the merge of the outage policy rows: with no reserved
    market and no existing reservation there is no capacity column, yet the outage power rows
    counted one per offer (estimate 18 nonzeros, model 7)."""
    text = """
name: a
horizon: {start: 2026-01-01, period: month, periods: 1}
providers:
  aws: {pue: 1.0, outage: {rate_per_year: 0.0, mean_hours: 4.0}}
  azure: {pue: 1.0, outage: {rate_per_year: 0.0, mean_hours: 4.0}}
offers:
  ondemand_cap: 0
  overrides: [{match: {provider: aws, instance_type: p5.48xlarge}, ondemand_usd_per_hour: 1.0}]
terms: []
workloads:
  - {name: infer-0, kind: inference, providers: [aws], regions: [us-east-1], geo: [us],
     demand_tokens_per_s: 0, resilience: 0, markets: [ondemand]}
policies: {budget_usd_per_year: 1000, power_total_mw: 1.0}
"""
    scenario = load_scenario_text(text)
    est, cols, rows, nnz = _compare(resolve(scenario, _scenario_catalog(scenario)))
    assert (est.columns, est.rows, est.nonzeros) == (cols, rows, nnz) == (3, 9, 7)


def test_power_rows_count_no_entry_for_an_offer_of_unknown_power() -> None:
    """Found by the property above on the lower-bound lane: an offer whose kW is unknown has a
    power coefficient of 0, which the build drops; the estimate counted it in every base and
    outage power row (45 nonzeros estimated for a model of 33)."""
    text = """
name: a
horizon: {start: 2026-01-01, period: month, periods: 4}
providers: {aws: {}, oci: {}, nebius: {}}
offers: {accelerators: [A10, Trainium], ondemand_cap: 0}
terms: []
workloads:
  - {name: train-0, kind: training, providers: [aws], regions: [us-east-1], geo: [us],
     compute_gpu_hours: 1, start: 2026-01-01, deadline: 2026-02-01, single_site: false}
policies: {budget_usd_per_year: 1000, power_total_mw: 1.0}
"""
    scenario = load_scenario_text(text)
    inputs = resolve(scenario, _scenario_catalog(scenario))
    for outages, expected in ((True, 33), (False, 29)):
        est, cols, rows, nnz = _compare(inputs, outages)
        assert (est.columns, est.rows) == (cols, rows)
        assert est.nonzeros == nnz == expected


def test_a_model_above_the_memory_limit_is_refused_before_building(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(MEMORY_ENV, "50e6")
    called = []
    monkeypatch.setattr("hyperplan.plan.api.build", lambda *a, **k: called.append(1))
    with pytest.raises(ModelTooLarge) as err:
        solve_scenario(load_scenario(FRONTIER))
    assert not called  # refused before building
    (problem,) = err.value.problems
    assert problem.file == str(FRONTIER)
    assert re.search(
        r"would need about \d+ MiB of memory \(32\.2k columns × 26\.9k rows", problem.message
    )
    assert "more than the 48 MiB available ($HYPERPLAN_MEMORY_LIMIT_BYTES)" in problem.message
    assert err.value.available == 50_000_000 and err.value.estimate.columns == 32153


def test_the_memory_limit_applies_through_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    out.write_text("previous", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "hyperplan.cli", "plan", str(SMALL), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, MEMORY_ENV: "1000000"},
    )
    assert proc.returncode == 2, proc.stderr
    assert f"{SMALL}: the planning model would need about" in proc.stderr
    assert "Reduce: workload-offer pairs" in proc.stderr
    assert out.read_text(encoding="utf-8") == "previous"


def test_available_memory_reads_the_override_or_meminfo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_ENV, "123456789")
    assert available_memory() == 123456789
    monkeypatch.setenv(MEMORY_ENV, "lots")
    with pytest.raises(InputError, match="must be a number of bytes"):
        available_memory()
    monkeypatch.delenv(MEMORY_ENV)
    if Path("/proc/meminfo").exists():
        assert available_memory() > 2**20
