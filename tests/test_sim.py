"""Tests of hyperplan.sim: analytic checks with the expected values derived here, from the plan."""

from __future__ import annotations

import copy
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from hyperplan.cli.simulate import parse_step, register
from hyperplan.errors import InputError
from hyperplan.plan import plan as make_plan
from hyperplan.plan.api import Plan
from hyperplan.plan.compare import strategy_scenario
from hyperplan.scenario.load import load_scenario
from hyperplan.scenario.schema import Scenario
from hyperplan.sim import SimConfig, SimResult, compare_simulated, simulate
from hyperplan.sim.draws import entity_key, poisson_from_uniform, uniforms
from hyperplan.sim.inputs import compile_plan
from hyperplan.sim.runner import run_chunk, run_trials
from hyperplan.synthetic import synthetic_catalog

ROOT = Path(__file__).resolve().parents[1]
YEAR = 8760.0


@pytest.fixture(scope="module")
def small() -> Plan:
    return make_plan(load_scenario(ROOT / "examples" / "small.yaml"))


def rich_scenario() -> Scenario:
    """Three clouds; inference, a training run, spot batch and agents; capped markets."""
    return Scenario.model_validate(
        {
            "name": "rich",
            "horizon": {"start": "2027-01-01", "period": "quarter", "periods": 4},
            "providers": {
                "p0": {
                    "outage": {"rate_per_year": 4, "mean_hours": 12, "control_plane_share": 0.3}
                },
                "p1": {},
                "p2": {},
            },
            "offers": {"ondemand_cap": 40, "spot_cap": 30},
            "workloads": [
                {
                    "name": "chat",
                    "kind": "inference",
                    "demand_tokens_per_s": {"start": 400_000, "growth_per_year": 0.5},
                    "perf_tokens_per_s": {"H100": 3900, "H200": 4400},
                    "resilience": 0.9,
                    "priority": 90,
                },
                {
                    "name": "train",
                    "kind": "training",
                    "compute_gpu_hours": 300_000,
                    "start": "2027-04-01",
                    "deadline": "2027-10-01",
                    "priority": 50,
                },
                {"name": "batch", "kind": "batch", "demand_gpus": 60, "priority": 10},
                {"name": "agents", "kind": "agents", "demand_vcpus": 5000, "priority": 30},
            ],
            "policies": {"max_share": 0.6, "outages": "providers"},
        }
    )


@pytest.fixture(scope="module")
def rich() -> Plan:
    return make_plan(
        rich_scenario(),
        catalog=synthetic_catalog(providers=3, regions=1, offers_per_region=2, seed=3),
    )


def with_outages(plan: Plan, **rates: tuple[float, float]) -> Plan:
    """A copy of ``plan`` whose provider outage models are (rate per year, mean hours)."""
    p = copy.deepcopy(plan)
    for name, model in p.meta["outages"]["providers"].items():
        rate, mean = rates.get(name, (0.0, 8.0))
        model.update(rate_per_year=rate, mean_hours=mean, sigma=1.0, control_plane_share=0.0)
    return p


# ------------------------------------------------------------------------- deterministic replay
def test_every_rate_zero_replays_the_plan_exactly(small: Plan) -> None:
    """No failures, shocks or delays: each metric equals its value computed from the plan."""
    res = simulate(small, trials=3, seed=1, workers=1, config=SimConfig.deterministic())
    t = small.tables
    wl = t["workloads"]
    year = wl[wl["period_index"] < 4]  # small.yaml: quarters of 2027 = 8,760 h
    hours = year.drop_duplicates("period_index").set_index("period_index")["hours"]
    assert hours.sum() == YEAR
    # cost: the plan's spend in those periods (reserved, existing, on-demand, spot)
    sp = t["spend"]
    sp = sp[(sp["period_index"] < 4) & (sp["market"] != "shortfall")]
    cost = sp["usd"].sum()
    # paid GPU-hours: every instance of the plan, for every hour
    cap = t["capacity"]
    cap = cap[cap["period_index"] < 4]
    paid = (cap["gpus"] * cap["period_index"].map(hours)).sum()
    # useful GPU-hours: inference instances needed for its demand; training until it is done
    al = t["allocation"]
    al = al[al["period_index"] < 4]
    useful = 0.0
    inf = al[al["kind"] == "inference"].groupby("period_index")[["served", "gpus"]].sum()
    demand = year[year["kind"] == "inference"].set_index("period_index")["demand"]
    for k, row in inf.iterrows():
        useful += min(1.0, demand[k] / row["served"]) * row["gpus"] * hours[k]
    tr = al[al["workload"] == "pretrain"].groupby("period_index")[["served", "gpus"]].sum()
    need = 1_500_000.0
    for k, row in tr.iterrows():
        work = row["served"] * hours[k]
        frac = min(1.0, need / work)
        useful += frac * row["gpus"] * hours[k]
        need -= frac * work
        if need <= 1e-9:
            break
    m = res.metrics
    for i in range(3):
        assert m["served_fraction:chat"][i] == pytest.approx(1.0, abs=1e-12)
        assert m["slo_hours_lost:chat"][i] == 0
        assert m["unserved_token_hours"][i] == pytest.approx(0.0, abs=1e-6)
        assert m["training_delay_hours:pretrain"][i] == 0
        assert m["interruptions:pretrain"][i] == 0
        assert m["burst_usd"][i] == 0
        assert m["cost_usd"][i] == pytest.approx(cost, rel=1e-9)
        assert m["paid_gpu_hours"][i] == pytest.approx(paid, rel=1e-9)
        assert m["useful_gpu_hours"][i] == pytest.approx(useful, rel=1e-9)
        assert m["goodput"][i] == pytest.approx(useful / paid, rel=1e-9)
        assert m["outage_hours:aws"][i] == 0


# ------------------------------------------------------------------------------------ outages
def test_mean_outage_hours_match_rate_times_mean_duration(small: Plan) -> None:
    lam, mean, sigma, n = 6.0, 10.0, 1.0, 400
    p = with_outages(small, aws=(lam, mean))
    res = simulate(
        p, trials=n, seed=5, workers=1, config=SimConfig.deterministic(outage_rate_scale=1)
    )
    hours = res["outage_hours:aws"]
    # compound Poisson: E = λ·E[min(D, H−U)] ≈ λ·(E[D] − E[D²]/2H), Var = λ·E[D²] (D lognormal)
    ed2 = mean**2 * math.exp(sigma**2)
    expected = lam * (mean - ed2 / (2 * YEAR))
    bound = 4 * math.sqrt(lam * ed2 / n)
    assert abs(hours.mean() - expected) < bound, (hours.mean(), expected, bound)
    assert (res["outage_hours:nebius"] == 0).all()


def test_n1_fleet_survives_any_single_outage_single_cloud_does_not() -> None:
    cat = synthetic_catalog(providers=2, regions=1, offers_per_region=1, seed=3)
    sc = Scenario.model_validate(
        {
            "name": "n1",
            "horizon": {"start": "2027-01-01", "period": "quarter", "periods": 4},
            "providers": {"p0": {}, "p1": {}},
            "offers": {"ondemand_cap": 0},  # no burst: survival must come from reserved capacity
            "workloads": [
                {
                    "name": "chat",
                    "kind": "inference",
                    "demand_tokens_per_s": 100_000,
                    "perf_tokens_per_s": {"H100": 3900},
                    "resilience": 1.0,
                }
            ],
            "policies": {"outages": "providers"},
        }
    )
    fleet = make_plan(sc, catalog=cat)
    single = make_plan(strategy_scenario(sc, "single:p0"), catalog=cat)
    cfg = SimConfig.deterministic(outage_rate_scale=1)
    for down in ("p0", "p1"):
        res = simulate(with_outages(fleet, **{down: (12.0, 20.0)}), trials=40, seed=2, config=cfg)
        assert res[f"outage_hours:{down}"].sum() > 0
        assert np.allclose(res["served_fraction:chat"], 1.0, atol=1e-12)
        assert (res["slo_hours_lost:chat"] == 0).all()
    res = simulate(with_outages(single, p0=(12.0, 20.0)), trials=40, seed=2, config=cfg)
    out = res["outage_hours:p0"]
    assert out.sum() > 0
    # nothing is served while p0 is down, everything otherwise
    assert np.allclose(res["unserved_token_hours:chat"], 100_000 * out, rtol=1e-9)
    assert np.allclose(res["served_fraction:chat"], 1 - out / YEAR, rtol=1e-9)
    assert np.array_equal(res["slo_hours_lost:chat"], out)


# ----------------------------------------------------------------------------- GPU failures
def test_training_interruptions_match_their_poisson_expectation(small: Plan) -> None:
    rate, n = 5e-4, 200
    cfg = SimConfig.deterministic(
        run_interruptions_per_gpu_hour=rate, restart_hours=0.0, checkpoint_interval_hours=0.0
    )
    res = simulate(small, trials=n, seed=9, workers=1, config=cfg)
    counts = res["interruptions:pretrain"]
    # Λ = rate × the run's planned GPU-hours until the plan finishes it
    t = small.tables
    hours = t["workloads"].drop_duplicates("period_index").set_index("period_index")["hours"]
    al = t["allocation"]
    tr = al[al["workload"] == "pretrain"].groupby("period_index")[["served", "gpus"]].sum()
    need, gpu_hours = 1_500_000.0, 0.0
    for k, row in tr.iterrows():
        work = row["served"] * hours[k]
        frac = min(1.0, need / work)
        gpu_hours += frac * row["gpus"] * hours[k]
        need -= frac * work
        if need <= 1e-9:
            break
    lam = rate * gpu_hours
    assert abs(counts.mean() - lam) < 4 * math.sqrt(lam / n), (counts.mean(), lam)
    assert 0.6 < counts.var(ddof=1) / lam < 1.4  # Poisson: variance = mean
    assert (res["training_delay_hours:pretrain"] == 0).all()  # no lost work, no delay


def test_lost_work_delays_training_by_the_lost_hours(small: Plan) -> None:
    cfg = SimConfig.deterministic(
        run_interruptions_per_gpu_hour=5e-4, restart_hours=0.5, checkpoint_interval_hours=0.0
    )
    res = simulate(small, trials=20, seed=9, workers=1, config=cfg)
    delay, lost = res["training_delay_hours:pretrain"], res["lost_gpu_hours:pretrain"]
    assert (delay > 0).all()
    # every interruption costs the whole run 0.5 h: 0.5 h × its GPUs (H100 = 1 reference GPU)
    gpus = res["interruptions:pretrain"] * 0.5
    assert np.all(lost > 0.9 * gpus * 200) and np.all(lost < 1.1 * gpus * 260)
    # the plan ends the run with 2027-Q4; the work short at the end of the window is made up
    # at the run's 2027-Q4 rate (reference GPUs), so the delay is lost work / that rate
    al = small.tables["allocation"]
    q4 = al[(al["workload"] == "pretrain") & (al["period_index"] == 3)]["served"].sum()
    np.testing.assert_allclose(delay, lost / q4, rtol=1e-9)


# ----------------------------------------------------------------- common random numbers, workers
def test_same_seed_same_result_with_1_and_2_workers(rich: Plan) -> None:
    a = simulate(rich, trials=40, seed=7, workers=1)
    b = simulate(rich, trials=40, seed=7, workers=2)
    assert b.meta["backend"] == "processes"
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    c = simulate(rich, trials=40, seed=8, workers=1)
    assert not a.metrics.equals(c.metrics)


def test_draws_depend_on_trial_not_on_chunking(rich: Plan) -> None:
    cfg = SimConfig()
    inp = compile_plan(rich, years=1.0, step_hours=1.0, config=cfg)
    whole = run_chunk(inp, cfg, 3, 0, 12)
    parts = [run_chunk(inp, cfg, 3, s, 4) for s in (0, 4, 8)]
    for name, values in whole.items():
        joined = np.concatenate([p[name] for p in parts])
        np.testing.assert_allclose(joined, values, rtol=1e-12, atol=1e-9, err_msg=name)
    u = uniforms(entity_key(3, "provider:aws", "arrivals"), np.array([5, 2]), 4)
    v = uniforms(entity_key(3, "provider:aws", "arrivals"), np.array([2]), 6)
    assert np.array_equal(u[1], v[0, :4]) and (u > 0).all() and (u < 1).all()


def test_strategies_share_outage_timelines_and_compare_with_intervals(rich: Plan) -> None:
    sc = rich_scenario()
    cat = synthetic_catalog(providers=3, regions=1, offers_per_region=2, seed=3)
    single = make_plan(strategy_scenario(sc, "single:p0"), catalog=cat)
    df = compare_simulated({"multi": rich, "single:p0": single}, trials=48, seed=4, workers=1)
    res = df.attrs["results"]
    assert np.array_equal(res["multi"]["outage_hours:p0"], res["single:p0"]["outage_hours:p0"])
    row = df.set_index("metric").loc["served_fraction:chat"]
    assert row["strategy"] == "single:p0" and row["baseline"] == "multi"
    assert row["ci_low"] <= row["diff_mean"] <= row["ci_high"]
    assert row["diff_mean"] < 0  # one cloud serves less of its demand through p0's outages
    hours = df.set_index("metric").loc["outage_hours:p0"]
    assert hours["diff_mean"] == 0 and hours["ci_low"] == 0 == hours["ci_high"]


def test_poisson_from_uniform_is_the_poisson_quantile() -> None:
    from scipy import stats

    u = np.linspace(0.001, 0.999, 101)
    for mean in (0.0, 0.3, 4.0, 25.0):
        np.testing.assert_array_equal(poisson_from_uniform(u, mean), stats.poisson.ppf(u, mean))


# --------------------------------------------------------------------- the SimPy reference model
def test_vectorised_dispatch_equals_the_event_driven_reference(rich: Plan) -> None:
    """bench/sim_speed.py's SimPy model consumes the same draws: its metrics must agree."""
    pytest.importorskip("simpy", reason="simpy is a bench dependency (pip install simpy)")
    spec = importlib.util.spec_from_file_location("sim_speed", ROOT / "bench" / "sim_speed.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    cfg = SimConfig(
        outage_rate_scale=6,
        late_probability=0.5,
        late_mean_periods=1.5,
        spot_events_per_month=8,
        run_interruptions_per_gpu_hour=1e-3,
        gpu_failures_per_gpu_hour=1e-4,
        demand_sigma_per_year=0.5,
    )
    inp = compile_plan(rich, years=0.5, step_hours=1.0, config=cfg)
    for trial in (0, 1):
        ref = bench.simpy_trial(inp, cfg, 11, trial)
        vec = {k: float(v[0]) for k, v in run_chunk(inp, cfg, 11, trial, 1).items()}
        assert ref.keys() == vec.keys()
        worst, where = bench.max_rel_diff(ref, vec)
        assert worst < 1e-9, where


# ------------------------------------------------------------------------------- API and JSON
def test_summary_json_round_trip_and_input_errors(small: Plan, tmp_path: Path) -> None:
    res = simulate(small, trials=20, seed=1, workers=1)
    s = res.summary().set_index("metric")
    assert list(s.columns[:3]) == ["unit", "trials", "mean"]
    assert {"p50", "p95", "p99"} <= set(s.columns)
    assert s.loc["goodput", "p50"] <= s.loc["goodput", "p99"]
    path = tmp_path / "sim.json"
    res.to_json(path)
    back = SimResult.from_json(path)
    pd.testing.assert_frame_equal(back.metrics, res.metrics)
    assert json.loads(path.read_text())["schema"] == "hyperplan.sim/1"
    with pytest.raises(InputError):
        simulate(small, trials=0)
    with pytest.raises(InputError):
        simulate(small, trials=2, step_hours=0)
    assert parse_step("1h") == 1.0 and parse_step("30min") == 0.5 and parse_step("1d") == 24.0


def test_interrupted_run_raises_and_stops_the_workers(rich: Plan) -> None:
    cfg = SimConfig(chunk_trials=4)
    inp = compile_plan(rich, years=0.25, step_hours=1.0, config=cfg)

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_trials(inp, cfg, 1, 16, workers=2, progress=stop)


# ---------------------------------------------------------------------------------------- CLI
@pytest.fixture()
def app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def main() -> None:
        """test app"""

    register(a)
    return a


def test_cli_plans_a_yaml_simulates_and_writes_sim_json(app: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "sim.json"
    args = ["simulate", str(ROOT / "examples" / "small.yaml"), "--trials", "20", "--seed", "7"]
    result = CliRunner().invoke(app, [*args, "--workers", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "served_fraction:chat" in result.output
    back = SimResult.from_json(out)
    assert back.trials == 20 and back.meta["seed"] == 7


def test_cli_reads_plan_json(app: typer.Typer, small: Plan, tmp_path: Path) -> None:
    small.to_json(tmp_path / "plan.json")
    args = ["simulate", str(tmp_path / "plan.json"), "--trials", "3", "--step", "2h"]
    result = CliRunner().invoke(app, [*args, "--years", "0.5", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "at 2.0 h steps" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.yaml"], "no such file"),
        (["{small}", "--step", "1x"], "--step"),
        (["{small}", "--trials", "0"], "--trials"),
        (["{notes}"], "expected a scenario"),
        (["{bad}"], "plan"),
    ],
)
def test_cli_input_errors_exit_2(
    app: typer.Typer, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "bad.json").write_text("{}")
    names = {
        "small": str(ROOT / "examples" / "small.yaml"),
        "notes": str(tmp_path / "notes.txt"),
        "bad": str(tmp_path / "bad.json"),
    }
    args = [a.format(**names) for a in args]
    result = CliRunner().invoke(app, ["simulate", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_cli_ctrl_c_writes_nothing(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hyperplan.sim.api as api

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "simulate", interrupted)
    out = tmp_path / "sim.json"
    args = ["simulate", str(ROOT / "examples" / "small.yaml"), "--trials", "5", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 130
    assert not out.exists() and list(tmp_path.iterdir()) == []
