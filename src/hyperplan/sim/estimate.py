"""Memory a simulation will need, estimated before anything is allocated, and the refusal.

The simulator draws a chunk of ``m`` trials (``SimConfig.chunk_trials``) at once over every step
``S`` of the window: outage counts per failure domain, spot reclaims per spot pool and demand
shocks per inference workload are ``(m, S, n)`` arrays. Each worker process holds one chunk; the
main process holds the compiled steps and every trial's metrics. So memory grows with
``workers × chunk × steps × (domains + spot pools + inference workloads)`` and with
``trials × metrics``; a fine ``--step`` (1 s: 31.5 million steps a year) needs gigabytes.

:func:`check_sim_memory` compares the estimate with :func:`~hyperplan.plan.estimate.available_memory`
(``$HYPERPLAN_MEMORY_LIMIT_BYTES`` or ``MemAvailable``) and refuses with the figure and what to
change (``--step``, ``--workers``, ``--trials``, ``--years``), exit status 2, before allocating.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from hyperplan.errors import InputError, Problem

#: bytes per (trial, step) and per failure domain at the peak of drawing outages: two int64
#: ``bincount`` temporaries cast to int16, the int16 running count, then boolean masks
OUTAGE_BYTES = 14
#: bytes per (trial, step) and per site: boolean "site down" and "site blocked" masks
SITE_BYTES = 2
#: bytes per (trial, step) and per spot pool: interval counts (as outages) and event starts
SPOT_BYTES = 16
#: bytes per (trial, step) and per inference workload: the float64 demand shock
SHOCK_BYTES = 8
#: bytes per (trial, step) for the one workload's random walk being drawn (normals, walk, exp)
WALK_BYTES = 24
#: bytes per step held by each process: the compiled step → period map and its temporaries
STEP_BYTES = 24
#: bytes per step per training run: interruption intensity and its cumulative sum
RUN_STEP_BYTES = 16
#: bytes per trial and metric in the main process: chunks, concatenation, the DataFrame, summary
METRIC_BYTES = 32
#: a block of dispatch (bounded by ``compile_plan`` to about 262,144 trial-step-pools) and the
#: interpreter, numpy and pandas of each process
FIXED_BYTES = 160 * 2**20


@dataclass(frozen=True)
class SimEstimate:
    """Estimated peak memory of a simulation, bytes, and what drives it."""

    bytes: int
    per_chunk: int
    processes: int
    steps: int
    chunk: int
    columns: int  # domains + sites + spot pools + inference workloads (+1 for the walk)
    trials: int
    metrics: int


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def estimate_sim(
    *,
    steps: int,
    trials: int,
    chunk: int,
    workers: int,
    domains: int,
    sites: int,
    spot_pools: int,
    inference: int,
    runs: int,
    pools: int,
    repair_blocks: int,
    metrics: int,
) -> SimEstimate:
    """Peak bytes of a simulation of these dimensions (an upper estimate; see module docstring).

    Args:
        steps: simulated steps ``S``.
        trials: Monte Carlo trials.
        chunk: trials drawn at once (``SimConfig.chunk_trials``).
        workers: processes running chunks at the same time (1: the main process).
        domains, sites, spot_pools, inference, runs, pools: counts from the compiled plan.
        repair_blocks: accelerator-repair blocks (steps / steps per repair time).
        metrics: per-trial metrics returned.
    """
    m = max(1, min(chunk, trials))
    per_trial_step = (
        OUTAGE_BYTES * domains
        + SITE_BYTES * sites
        + SPOT_BYTES * spot_pools
        + SHOCK_BYTES * inference
        + (WALK_BYTES if inference else 0)
    )
    per_chunk = (
        m * steps * per_trial_step
        + 8 * m * repair_blocks * max(pools, 1)
        + (STEP_BYTES + RUN_STEP_BYTES * runs) * steps
        + FIXED_BYTES
    )
    main = STEP_BYTES * steps + METRIC_BYTES * trials * max(metrics, 1)
    processes = max(1, min(workers, math.ceil(trials / m)))
    # one process runs the chunks itself; several are each an interpreter of their own
    total = main + processes * per_chunk + (FIXED_BYTES if processes > 1 else 0)
    columns = domains + sites + spot_pools + inference + (1 if inference else 0)
    return SimEstimate(int(total), int(per_chunk), processes, steps, m, columns, trials, metrics)


def check_sim_memory(est: SimEstimate, *, step_hours: float, available: int | None = None) -> None:
    """Refuse (InputError, exit 2) a simulation whose estimate exceeds the available memory."""
    from hyperplan.plan.estimate import MEMORY_ENV, available_memory

    limit = available if available is not None else available_memory()
    if limit is None or est.bytes <= limit:
        return
    source = f"${MEMORY_ENV}" if os.environ.get(MEMORY_ENV, "").strip() else "MemAvailable"
    # the coarsest useful advice: the step at which the estimate would fit (memory ~ 1/step)
    moving = est.bytes - FIXED_BYTES * (est.processes + (est.processes > 1))
    fixed = est.bytes - moving
    fit_step = step_hours * moving / max(limit - fixed, 1) if limit > fixed else math.inf
    advice = [
        f"a coarser --step (now {step_hours * 3600:g} s, {est.steps:,} steps; "
        + (
            f"about {_step_text(fit_step)} or more would fit)"
            if math.isfinite(fit_step)
            else "no step fits; see the other settings)"
        ),
    ]
    if est.processes > 1:
        advice.append(f"fewer --workers (now {est.processes} processes, each holding a chunk)")
    advice.append(
        f"fewer --years (a shorter window has fewer steps); fewer --trials (now {est.trials:,})"
    )
    message = (
        f"the simulation would need about {_gib(est.bytes)} of memory ({est.processes} "
        f"process(es) × {_gib(est.per_chunk)} per chunk of {est.chunk} trials × {est.steps:,} "
        f"steps × {est.columns} domain, site, spot-pool and demand columns, plus the metrics "
        f"of {est.trials:,} trials), more than the {_gib(limit)} available "
        f"({source}); nothing was simulated. Reduce: {'; '.join(advice)}"
    )
    raise InputError([Problem(message, path="--step")])


def _step_text(hours: float) -> str:
    seconds = hours * 3600
    if seconds < 60:
        return f"{math.ceil(seconds)}s"
    if seconds < 3600:
        return f"{math.ceil(seconds / 60)}min"
    return f"{math.ceil(hours)}h"
