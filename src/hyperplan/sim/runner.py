"""Run chunks of trials: in this process, in a process pool, or on a Ray cluster.

Chunks have a fixed size (``SimConfig.chunk_trials``) whatever the backend, and every draw depends
only on (seed, trial, entity), so the results are identical for any number of workers and on
Ray. Ray is optional (``pip install 'hyperplan[ray]'``) and imported only when asked for.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import numpy as np

from hyperplan.plan.cluster import connect_ray
from hyperplan.sim.dispatch import Acc, dispatch_block
from hyperplan.sim.draws import draw_chunk
from hyperplan.sim.inputs import SimInputs
from hyperplan.sim.metrics import finish
from hyperplan.sim.models import SimConfig

Progress = Callable[[int, int], None]
Chunk = tuple[int, int]


def run_chunk(inp: SimInputs, cfg: SimConfig, seed: int, start: int, count: int) -> dict:
    """Simulate trials ``start .. start+count-1``; per-trial metric arrays."""
    trials = np.arange(start, start + count)
    dr = draw_chunk(inp, cfg, seed, trials)
    acc = Acc.new(inp, count)
    for t, k0, k1 in inp.blocks:
        dispatch_block(inp, cfg, dr, acc, t, k0, k1)
    return finish(inp, dr, acc)


def chunks(trials: int, size: int) -> list[Chunk]:
    """Fixed-size chunks ``(start, count)`` covering ``range(trials)``."""
    return [(s, min(size, trials - s)) for s in range(0, trials, size)]


# ---------------------------------------------------------------------------------- process pool
_WORKER: dict[str, Any] = {}


def _init_worker(inp: SimInputs, cfg: SimConfig) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _WORKER["inp"], _WORKER["cfg"] = inp, cfg


def _worker_chunk(seed: int, start: int, count: int) -> tuple[int, dict]:
    return start, run_chunk(_WORKER["inp"], _WORKER["cfg"], seed, start, count)


def _context() -> mp.context.BaseContext:
    """``fork`` when this process has a single thread (fast, and scripts need no main guard);
    ``forkserver`` when other threads run (forking them is unsafe: a progress bar, Ray, ...);
    ``spawn`` where there is no fork."""
    methods = mp.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1 and sys.platform != "darwin":
        return mp.get_context("fork")
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        # _forkserver silences the start-up traceback of a worker orphaned by a Ctrl-C
        ctx.set_forkserver_preload(["hyperplan.sim._forkserver", "hyperplan.sim.runner"])
        return ctx
    return mp.get_context("spawn")


def _run_pool(
    inp: SimInputs, cfg: SimConfig, seed: int, todo: list[Chunk], workers: int, tick: Progress
) -> Iterator[tuple[int, dict]]:
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=_context(), initializer=_init_worker, initargs=(inp, cfg)
    )
    pending: set[Future] = set()
    try:
        pending = {pool.submit(_worker_chunk, seed, s, c) for s, c in todo}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                start, out = fut.result()
                tick(len(next(iter(out.values()))) if out else 0, 0)
                yield start, out
    except BaseException:
        # Stop our workers, then let the pool find them gone: it fails the pending futures
        # itself. (Cancelling them first made CPython 3.11's pool thread raise InvalidStateError
        # and print its traceback after the user's Ctrl-C.)
        processes = dict(getattr(pool, "_processes", None) or {})
        for proc in processes.values():  # our own workers only
            with contextlib.suppress(Exception):
                proc.terminate()
        pool.shutdown(wait=False)
        raise
    pool.shutdown(wait=True)


# ------------------------------------------------------------------------------------------ Ray
def _ray_chunk(payload: tuple[SimInputs, SimConfig], seed: int, start: int, count: int) -> tuple:
    inp, cfg = payload
    return start, run_chunk(inp, cfg, seed, start, count)


def _run_ray(
    inp: SimInputs, cfg: SimConfig, seed: int, todo: list[Chunk], address: str, tick: Progress
) -> Iterator[tuple[int, dict]]:
    ray, started = connect_ray(address)
    pending: list[Any] = []
    try:
        ref = ray.put((inp, cfg))
        remote = ray.remote(_ray_chunk)
        pending = [remote.remote(ref, seed, s, c) for s, c in todo]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for obj in done:
                start, out = ray.get(obj)
                tick(len(next(iter(out.values()))) if out else 0, 0)
                yield start, out
    except BaseException:
        for obj in pending:
            with contextlib.suppress(Exception):
                ray.cancel(obj, force=True)
        raise
    finally:
        if started:
            ray.shutdown()


# ----------------------------------------------------------------------------------------------
def run_trials(
    inp: SimInputs,
    cfg: SimConfig,
    seed: int,
    trials: int,
    *,
    workers: int | None = None,
    ray: str | bool | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """All trials' metrics (arrays in trial order) and how they were run."""
    todo = chunks(trials, cfg.chunk_trials)
    done_trials = 0

    def tick(n: int, _: int) -> None:
        nonlocal done_trials
        done_trials += n
        if progress is not None:
            progress(done_trials, trials)

    if ray:
        address = "auto" if ray is True else str(ray)
        stream = _run_ray(inp, cfg, seed, todo, address, tick)
        backend = {"backend": "ray", "address": address}
    else:
        n_workers = (os.cpu_count() or 1) if workers is None else max(1, int(workers))
        n_workers = min(n_workers, len(todo))
        if n_workers <= 1:
            stream = _run_local(inp, cfg, seed, todo, tick)
            backend = {"backend": "local", "workers": 1}
        else:
            stream = _run_pool(inp, cfg, seed, todo, n_workers, tick)
            backend = {"backend": "processes", "workers": n_workers}
    parts: dict[int, dict] = {}
    for start, out in stream:
        parts[start] = out
    names = list(parts[todo[0][0]]) if todo else []
    metrics = {name: np.concatenate([parts[s][name] for s, _ in todo]) for name in names}
    return metrics, backend


def _run_local(
    inp: SimInputs, cfg: SimConfig, seed: int, todo: list[Chunk], tick: Progress
) -> Iterator[tuple[int, dict]]:
    for s, c in todo:
        out = run_chunk(inp, cfg, seed, s, c)
        tick(c, 0)
        yield s, out
