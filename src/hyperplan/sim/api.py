"""``simulate(plan) -> SimResult``: Monte Carlo of a plan's resilience and cost risk.

Also :func:`compare_simulated`: several plans (strategies) over the same draws, with paired
differences and confidence intervals.
"""

from __future__ import annotations

import math
import os
import time

import pandas as pd

from hyperplan.artifacts import SIM_SCHEMA
from hyperplan.errors import InputError, Problem
from hyperplan.plan.artifact import Plan
from hyperplan.sim.estimate import SimEstimate, check_sim_memory, estimate_sim
from hyperplan.sim.inputs import SimInputs, compile_plan
from hyperplan.sim.metrics import paired_differences
from hyperplan.sim.models import HOURS_PER_YEAR, SimConfig
from hyperplan.sim.result import SimContext, SimResult
from hyperplan.sim.runner import Progress, run_trials

__all__ = ["SIM_SCHEMA", "SimContext", "SimResult", "compare_simulated", "simulate"]


def simulate(
    plan: Plan,
    trials: int = 1000,
    seed: int = 0,
    years: float = 1.0,
    step_hours: float = 1.0,
    workers: int | None = None,
    ray: str | bool | None = None,
    progress: Progress | None = None,
    config: SimConfig | None = None,
) -> SimResult:
    """Simulate the first ``years`` of ``plan`` hour by hour (``step_hours``), ``trials`` times.

    Args:
        plan: a solved plan (``hyperplan.plan.plan(...)`` or ``Plan.from_json``).
        trials: Monte Carlo trials.
        seed: the same seed gives the same draws for every plan, worker count and backend.
        years: simulated window from the horizon start (clipped to the horizon).
        step_hours: resolution; events (outages, reclaims) are rounded to whole steps.
        workers: processes (default: all cores; 1 runs in this process).
        ray: ``"auto"`` (a running cluster, else a local one), a cluster address, or ``None``.
        progress: called with (trials done, trials) as chunks finish.
        config: failure, demand and execution parameters (:class:`SimConfig`).

    Example::

        >>> from hyperplan import load_scenario, plan, simulate
        >>> result = plan(load_scenario("examples/small.yaml"))
        >>> sim = simulate(result, trials=20, seed=1, workers=1)
        >>> len(sim.metrics), "cost_usd" in sim.metrics
        (20, True)
    """
    cfg = config or SimConfig()
    if int(trials) < 1:
        raise InputError([Problem(f"trials must be ≥ 1; found {trials}", path="--trials")])
    if workers is not None and int(workers) < 1:
        raise InputError([Problem(f"workers must be ≥ 1; found {workers}", path="--workers")])
    t0 = time.perf_counter()
    n_workers = 1 if ray else ((os.cpu_count() or 1) if workers is None else int(workers))
    _check_memory_before_compile(plan, trials, years, step_hours, cfg, n_workers)
    inp = compile_plan(plan, years=years, step_hours=step_hours, config=cfg)
    check_sim_memory(_estimate(inp, cfg, int(trials), n_workers), step_hours=inp.step_hours)
    t1 = time.perf_counter()
    metrics, backend = run_trials(
        inp, cfg, int(seed), int(trials), workers=workers, ray=ray, progress=progress
    )
    seconds = time.perf_counter() - t1
    pool_steps = float(inp.n_pools) * inp.steps * int(trials)
    context = SimContext(
        scenario=inp.name,
        seed=int(seed),
        trials=int(trials),
        years=inp.hours / 8760.0,
        step_hours=inp.step_hours,
        steps=inp.steps,
        pools=inp.n_pools,
        periods=tuple(inp.period_labels),
        compile_seconds=t1 - t0,
        seconds=seconds,
        pool_steps=pool_steps,
        pool_steps_per_second=pool_steps / seconds if seconds > 0 else math.nan,
        **backend,
        config=cfg,
        warnings=tuple(inp.warnings),
    )
    return SimResult(metrics=pd.DataFrame(metrics), context=context)


def _estimate(inp: SimInputs, cfg: SimConfig, trials: int, workers: int) -> SimEstimate:
    """Memory estimate of simulating the compiled plan ``inp`` (see :mod:`hyperplan.sim.estimate`)."""
    block = max(1, round(cfg.repair_hours / inp.step_hours))
    return estimate_sim(
        steps=inp.steps,
        trials=trials,
        chunk=cfg.chunk_trials,
        workers=workers,
        domains=len(inp.domains),
        sites=len(inp.sites),
        spot_pools=int((inp.spot.max(axis=0, initial=0.0) > 0).sum()),
        inference=len(inp.inference),
        runs=len(inp.runs),
        pools=inp.n_pools,
        repair_blocks=-(-inp.steps // block),
        metrics=6 * len(inp.workloads) + 2 * len(inp.domains) + 12,
    )


def _check_memory_before_compile(
    plan: Plan, trials: int, years: float, step_hours: float, cfg: SimConfig, workers: int
) -> None:
    """Refuse a window of too many steps before compiling it (compiling allocates per step).

    Uses lower bounds of the compiled dimensions (every provider is a failure domain; every
    inference workload has a demand shock), so whatever it refuses the full check would too.
    """
    starts = plan.context.period_starts
    if len(starts) < 2 or not (step_hours > 0 and math.isfinite(step_hours)):
        return  # compile_plan says what is wrong
    first, last = starts[0], starts[-1]
    horizon_h = (last - first).days * 24.0
    want_h = min(years * HOURS_PER_YEAR, horizon_h) if math.isfinite(years) else horizon_h
    steps = math.floor(want_h / step_hours + 1e-9)
    if steps < 1:
        return
    wl = plan.tables.get("workloads")
    inference = 0
    if wl is not None and {"workload", "kind"} <= set(wl.columns):
        inference = int(wl.loc[wl["kind"] == "inference", "workload"].nunique())
    est = estimate_sim(
        steps=steps,
        trials=int(trials),
        chunk=cfg.chunk_trials,
        workers=workers,
        domains=len(plan.context.providers),
        sites=0,
        spot_pools=0,
        inference=inference,
        runs=0,
        pools=0,
        repair_blocks=0,
        metrics=1,
    )
    check_sim_memory(est, step_hours=step_hours)


def compare_simulated(
    plans: dict[str, Plan],
    trials: int = 1000,
    seed: int = 0,
    *,
    years: float = 1.0,
    step_hours: float = 1.0,
    workers: int | None = None,
    ray: str | bool | None = None,
    config: SimConfig | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Simulate each plan over the same draws; paired differences against the first plan.

    Columns: metric, unit, strategy, baseline, baseline_mean, strategy_mean, diff_mean
    (strategy − baseline, mean over trials), ci_low, ci_high (paired t-interval at
    ``confidence``), stderr, trials. The per-strategy results are in ``df.attrs["results"]``.
    """
    if not plans:
        raise InputError([Problem("compare_simulated needs at least one plan")])
    results = {
        name: simulate(
            p,
            trials=trials,
            seed=seed,
            years=years,
            step_hours=step_hours,
            workers=workers,
            ray=ray,
            config=config,
        )
        for name, p in plans.items()
    }
    df = paired_differences({k: r.metrics for k, r in results.items()}, confidence=confidence)
    df.attrs["results"] = results
    return df
