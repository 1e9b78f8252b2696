"""What each provider is worth: walk-away values by warm-started re-solves.

Walking away from provider p = every ``reserve`` and ``allocate`` column of p fixed at 0; the share
caps are kept unless the remaining providers' caps add up to less than 1 (then the plan would be
impossible by construction and they are relaxed) (see docs/formulation.md, choice 6), re-solved from the plan's optimal basis. The
walk-away value is the increase of the objective (present value, USD). Providers are split over
worker processes; each worker builds HiGHS once from the model arrays, loads the parent's basis,
and re-solves its providers one after another, restoring bounds in between.

Progress (:mod:`hyperplan.plan.progress`): each re-solve is a phase ``"walk-away <provider> k/n"``
with live figures and a done event whose objective is the table's ``objective_without_usd``;
worker processes send theirs through a queue, and this process delivers them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import time
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any

import highspy
import numpy as np
import pandas as pd

from hyperplan.plan.build import MUSD
from hyperplan.plan.model import LinearModel
from hyperplan.plan.progress import ProgressCallback, ProgressEvent, Reporter
from hyperplan.plan.solve import SolverOptions, make_highs, run_interruptible, scaling_of
from hyperplan.plan.solved import Solved


def provider_columns(lm: LinearModel, offer_provider: np.ndarray, p: int) -> np.ndarray:
    """Global ids of the ``reserve`` and ``allocate`` columns that buy from provider ``p``."""
    parts = []
    for name in ("reserve", "allocate"):
        fam = lm.cols.get(name)
        if fam is not None:
            parts.append(fam.start + np.flatnonzero(offer_provider[fam.index["offer"]] == p))
    return np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, dtype=np.int32)


def _share_rows(lm: LinearModel) -> np.ndarray:
    fam = lm.rows.get("share")
    if fam is None:
        return np.zeros(0, dtype=np.int32)
    return np.arange(fam.start, fam.start + fam.size, dtype=np.int32)


def _penalty_cols(lm: LinearModel) -> np.ndarray:
    parts = [
        np.arange(f.start, f.start + f.size)
        for name, f in lm.cols.items()
        if name in ("unserved", "unserved-training")
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _resolve_without(
    h: highspy.Highs,
    cols: np.ndarray,
    share_rows: np.ndarray,
    arrays: dict[str, np.ndarray],
    progress: Reporter | None = None,
    phase: str = "walk-away",
) -> tuple[str, float, float, float]:
    # bounds go to HiGHS in its (scaled) units; ``arrays`` hold the model's own
    scaling = scaling_of(h)
    n = len(cols)
    h.changeColsBounds(n, cols, np.zeros(n), np.zeros(n))
    if len(share_rows):
        k = len(share_rows)
        lo = scaling.row_bounds(share_rows, arrays["row_lo"][share_rows])
        h.changeRowsBounds(k, share_rows, lo, np.full(k, np.inf))
    started = time.perf_counter()
    if progress is None:
        run_interruptible(h)
    else:
        with progress.phase(phase):
            run_interruptible(h, progress, is_mip=bool(arrays["integrality"].any()))
    seconds = time.perf_counter() - started
    status = h.modelStatusToString(h.getModelStatus()).lower()
    info = h.getInfo()
    objective = float(info.objective_function_value)
    if progress is not None:
        with progress.phase(phase):
            progress.emit(
                done=True,
                objective=objective / MUSD,
                simplex_iterations=int(info.simplex_iteration_count),
            )
    pen = arrays["penalty_cols"]
    values = scaling.col_values(np.asarray(h.getSolution().col_value))
    penalty = float(arrays["cost"][pen] @ values[pen])
    h.changeColsBounds(
        n,
        cols,
        scaling.col_bounds(cols, arrays["lb"][cols]),
        scaling.col_bounds(cols, arrays["ub"][cols]),
    )
    if len(share_rows):
        h.changeRowsBounds(
            len(share_rows),
            share_rows,
            scaling.row_bounds(share_rows, arrays["row_lo"][share_rows]),
            scaling.row_bounds(share_rows, arrays["row_hi"][share_rows]),
        )
    return status, objective, penalty, seconds


def _model_arrays(lm: LinearModel) -> dict[str, np.ndarray]:
    arrays = lm.arrays()
    arrays["penalty_cols"] = _penalty_cols(lm)
    return arrays


_EVENTS: Any = None
"""A worker process's queue of progress events to the parent (None: no progress asked for)."""


def _init_worker(events: Any) -> None:
    global _EVENTS
    _EVENTS = events


def _worker(payload: dict[str, Any]) -> list[tuple[int, str, float, float, float]]:
    lm: LinearModel = payload["lm"]
    h = make_highs(lm, payload["options"])
    basis = payload.get("basis")
    if basis is not None:
        b = highspy.HighsBasis()
        b.col_status = [highspy.HighsBasisStatus(int(v)) for v in basis[0]]
        b.row_status = [highspy.HighsBasisStatus(int(v)) for v in basis[1]]
        b.valid = True
        h.setBasis(b)
    arrays = _model_arrays(lm)
    share = _share_rows(lm)
    events = _EVENTS
    progress = Reporter(events.put) if events is not None else None
    return [
        (p, *_resolve_without(h, cols, share if relax else share[:0], arrays, progress, phase))
        for p, cols, relax, phase in payload["jobs"]
    ]


def walk_away_values(
    solved: Solved,
    *,
    workers: int | None = None,
    min_columns_for_processes: int = 20_000,
    progress: ProgressCallback | Reporter | None = None,
) -> pd.DataFrame:
    """Walk-away value of every provider in play (USD, present value), one re-solve each.

    Args:
        solved: the solved plan (its HiGHS instance holds the optimal basis).
        workers: processes to use; 1 re-solves in this process on the solved HiGHS instance.
        min_columns_for_processes: below this many columns an LP re-solves in place (starting
            processes would cost more than the re-solves).
        progress: called with :class:`~hyperplan.plan.progress.ProgressEvent` figures of each
            re-solve (phase ``"walk-away <provider> k/n"``), then its done event.
    """
    reporter = Reporter.of(progress)
    lm = solved.model.lm
    inp = solved.inputs
    base_objective = solved.solution.objective
    caps = inp.max_share
    n = len(inp.providers)
    jobs = [
        (
            p,
            provider_columns(lm, inp.offer_provider, p),
            bool(np.delete(caps, p).sum() < 1.0),
            f"walk-away {inp.providers[p]} {p + 1}/{n}",
        )
        for p in range(n)
    ]
    workers = min(workers or os.cpu_count() or 1, len(jobs)) or 1
    results: list[tuple[int, str, float, float, float]] = []
    # a small LP re-solves faster in place than a process can start
    in_process = workers <= 1 or (not lm.is_mip and lm.n_cols < min_columns_for_processes)
    if in_process:
        h = solved.solution.highs
        if h is None or lm.is_mip:
            h = make_highs(lm, SolverOptions())
        arrays = _model_arrays(lm)
        share = _share_rows(lm)
        results = [
            (p, *_resolve_without(h, cols, share if relax else share[:0], arrays, reporter, phase))
            for p, cols, relax, phase in jobs
        ]
    else:
        basis = None
        h = solved.solution.highs
        if h is not None and not lm.is_mip:
            b = h.getBasis()
            basis = (
                np.array([int(s) for s in b.col_status], dtype=np.int8),
                np.array([int(s) for s in b.row_status], dtype=np.int8),
            )
        chunks = [jobs[i::workers] for i in range(workers)]
        payloads = [
            {"lm": lm, "options": SolverOptions(), "basis": basis, "jobs": c} for c in chunks
        ]
        # spawn, not fork: HiGHS runs a thread pool in this process, and a forked child that
        # inherits it can deadlock on its first solve
        context = multiprocessing.get_context("spawn")
        events = context.Queue() if reporter is not None else None
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(events,)
        )
        try:
            futures = [pool.submit(_worker, payload) for payload in payloads]
            pending = set(futures)
            while pending:  # 50 ms steps: Ctrl-C lands at once, progress is relayed as it comes
                finished, pending = wait(pending, timeout=0.05, return_when=FIRST_EXCEPTION)
                for future in finished:
                    future.result()  # a worker's failure ends the wait
                if reporter is not None:
                    _relay(events, reporter)
            for future in futures:
                results.extend(future.result())
            if reporter is not None:  # the last done events may still be on their way
                _relay(events, reporter, until_done=len(jobs))
        except BaseException:  # Ctrl-C or SIGTERM: stop our workers now, not after their solves
            processes = dict(getattr(pool, "_processes", None) or {})
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in processes.values():
                with contextlib.suppress(Exception):
                    proc.terminate()
            raise
        pool.shutdown(wait=True)
    results.sort()
    arrays = _model_arrays(lm)
    pen = arrays["penalty_cols"]
    base_penalty = float(arrays["cost"][pen] @ solved.solution.col_value[pen])
    relaxed = {p for p, _, relax, _ in jobs if relax}
    return _frame(
        inp.providers, results, base_objective, base_penalty, solved.solution.seconds, relaxed
    )


def _relay(events: Any, reporter: Reporter, *, until_done: int | None = None) -> None:
    """Deliver the events the worker processes have queued so far; with ``until_done``, wait
    (up to 5 s) until that many done events have been delivered in all."""
    while True:
        try:
            if until_done is not None and reporter.done_count < until_done:
                event: ProgressEvent = events.get(timeout=5.0)
            else:
                event = events.get_nowait()
        except queue.Empty:
            return
        reporter.forward(event)


def _frame(
    providers: list[str],
    results: list[tuple[int, str, float, float, float]],
    base_objective: float,
    base_penalty: float,
    cold_seconds: float,
    relaxed: set[int],
) -> pd.DataFrame:
    objective = np.array([r[2] for r in results])
    penalty = np.array([r[3] for r in results])
    seconds = np.array([r[4] for r in results])
    df = pd.DataFrame(
        {
            "provider": [providers[r[0]] for r in results],
            "status": [r[1] for r in results],
            "objective_without_usd": objective / MUSD,
            "walk_away_usd": ((objective - penalty) - (base_objective - base_penalty)) / MUSD,
            "penalty_usd": (penalty - base_penalty) / MUSD,
            "share_caps_relaxed": [r[0] in relaxed for r in results],
            "seconds": seconds,
            "seconds_vs_cold_solve": seconds / cold_seconds if cold_seconds else np.nan,
        }
    )
    df.attrs["units"] = {
        "objective_without_usd": "USD (present value, incl. unserved penalties)",
        "walk_away_usd": "USD (present value): extra spend of planning without the provider",
        "share_caps_relaxed": "True when the others' caps could not cover all demand",
        "penalty_usd": "USD (present value): extra unserved-demand penalty without it",
    }
    return df.sort_values(["walk_away_usd", "provider"], ascending=[False, True], ignore_index=True)
