"""A decomposed solve of the planning model: multi-cut Benders (L-shaped) over outage scenarios.

The model is two-stage: given the first stage (reservations, hence the active reserved capacity
``R[o,t]``) and the base case (its unserved demand ``u[w,t,base]``, and the reserved spend per
budget year ``RS_y``), the outage scenarios are independent LPs. The **master** holds the first
stage and the base case (:func:`~hyperplan.plan.build.build_master`) plus one column ``θ_s`` per
outage scenario; each outage scenario is a **subproblem** (:func:`~hyperplan.plan.build.
build_scenario`) whose link columns are fixed at the master's values ``ξ̂``. A subproblem's
optimal value ``Q_s(ξ̂)`` and row duals ``y`` give the optimality cut

    θ_s ≥ Q_s(ξ̂) + β_s·(ξ − ξ̂),   β_s = −T_sᵀ y   (T_s: the scenario rows' link coefficients)

valid everywhere because ``Q_s`` is convex and piecewise linear in ``ξ`` (Van Slyke & Wets 1969;
one cut per scenario and iteration, the multi-cut form of Birge & Louveaux 1988). The master's
optimum is a lower bound, the master's cost without ``θ`` plus ``Σ_s Q_s`` an upper bound; the
loop stops when they agree within ``gap`` (relative). No feasibility cut is needed: every
subproblem is feasible for every master solution (docs/formulation.md, "Decomposition" says why),
and an infeasible one is reported as a bug.

Subproblems are solved in this process, in worker processes (one single-process pool per worker,
so a scenario stays with the worker that built it and warm-starts from its last basis) or on Ray
actors. Each worker builds only its own scenarios: the parent never builds them.

Integer plans (``--integer``): the master is solved as a MILP with LP subproblems (valid: the
second stage is continuous), after an LP-relaxation phase whose cuts stay valid.

Results: the converged master and subproblem solutions are placed into the whole model's
arrays (built once, without a solver) so every result table, dual and check is the monolithic
one's code path. Duals of base rows come from the master, duals of outage rows from the final
subproblem solves.

The loop is stabilised by in-out separation (Ben-Ameur & Neto 2007; :func:`_loop`): each
iteration solves the subproblems at the master's optimum and at a point between it and the best
plan so far, and stops at ``gap`` (:data:`DEFAULT_GAP`, 1e-4 relative).

The master and the subproblems reach HiGHS with the family scaling of the monolithic solve
(:mod:`hyperplan.plan.scaling`; a subproblem's link columns by the master's factors, so a link
value passes between them exactly); bounds, cut coefficients and duals are converted at the
boundary, so the loop and every result are in user units.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import signal
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import pandas as pd

from hyperplan.errors import HyperplanError, SolverError
from hyperplan.plan.arrays import PlanInputs
from hyperplan.plan.build import (
    LINK_FAMILIES,
    PlanningModel,
    ScenarioBlock,
    build,
    build_master,
    build_scenario,
)
from hyperplan.plan.cluster import connect_ray
from hyperplan.plan.scaling import Scaling, compute_scaling
from hyperplan.plan.solve import (
    LIMITS,
    Solution,
    SolverOptions,
    make_highs,
    run_interruptible,
    scaling_of,
)

#: default relative gap between the upper and lower bound at which the loop stops
DEFAULT_GAP = 1e-4
#: iterations at most (a safeguard; convergence is finite for LP masters)
MAX_ITERATIONS = 500
#: in-out stabilisation: the separation point's weight on the master's optimum (1: plain Kelley)
IN_OUT_LAMBDA = 0.5

Progress = Callable[[dict[str, Any]], None]


# ----------------------------------------------------------------------------------------------
# One subproblem, held by whichever process solves it
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Links:
    """The link vector's layout: where each link family starts in it (``offsets``) and the
    master's column scale of each of its entries (``scale``: user units per solver unit)."""

    offsets: dict[str, int]
    scale: np.ndarray


def block_scaling(block: ScenarioBlock, link_scale: np.ndarray) -> Scaling:
    """The family scaling (:func:`~hyperplan.plan.scaling.compute_scaling`) of a subproblem:
    its own columns and its rows by the monolithic model's families they come from
    (``col_place``/``row_place``), its link columns by the master's factors (``link_scale``), so
    a link value passes from the master to the subproblem as the same solver-unit number times
    a power of two."""
    lm = block.lm
    families: dict[tuple[str, str], Any] = {}
    for name, (pos, _) in block.col_place.items():
        families[("col", name)] = pos
    for name, (pos, _) in block.row_place.items():
        families[("row", name)] = pos
    scaling = compute_scaling(families, lm.arrays(), lm.matrix())
    col = scaling.col.copy()
    col[block.n_own :] = link_scale
    return Scaling(col, scaling.row)


@dataclass
class SubResult:
    """One subproblem solve: value (MUSD), cut slope on its link columns, timing."""

    scenario: int
    objective: float
    beta: np.ndarray  # (n_link,) ∂Q_s/∂ξ at ξ̂, MUSD per link unit
    xi: np.ndarray  # (n_link,) the link values it was solved at
    status: str
    seconds: float
    iterations: int
    penalty: float = 0.0  # MUSD of the objective from unserved demand
    tag: int = -1  # the loop's solve number (its row duals are kept while it may be a cut)


class SubSolver:
    """Outage scenario ``s``: its block, a HiGHS instance kept between iterations (warm start)."""

    def __init__(self, inp: PlanInputs, s: int, options: SolverOptions, links: Links) -> None:
        t0 = time.perf_counter()
        self.s = s
        self.block: ScenarioBlock = build_scenario(inp, s)
        lm = self.block.lm
        self.link_cols = np.arange(self.block.n_own, lm.n_cols, dtype=np.int32)
        self.link_index = np.array(
            [
                links.offsets[f] + r
                for f, r in zip(self.block.link_family, self.block.link_rank, strict=True)
            ],
            dtype=np.int64,
        )
        self.A_link = lm.matrix()[:, self.block.n_own :].tocsc()
        self.offer_provider = inp.offer_provider
        self.scaling = block_scaling(self.block, links.scale[self.link_index])
        self.h = make_highs(lm, options, scaling=self.scaling) if lm.n_rows else None
        self.ub = lm.arrays()["ub"]
        cost = lm.arrays()["cost"]
        self.penalty_cost = np.where(self.block.own_offer < 0, cost[: self.block.n_own], 0.0)
        self.build_seconds = time.perf_counter() - t0
        self.rows = lm.n_rows
        self.cols = lm.n_cols
        #: row duals of the solves that may have become cuts, by tag
        self.kept: dict[int, np.ndarray] = {}

    def solve(
        self,
        link: np.ndarray,
        exclude_provider: int = -1,
        tag: int = -1,
        forget: dict[int, list[int]] | None = None,
    ) -> SubResult:
        """Solve at the link values ``link`` (the whole link vector; this block reads its part).

        ``exclude_provider`` ≥ 0 fixes the allocations of that provider at 0 (walk-away).
        ``tag`` ≥ 0 keeps the row duals (a cut may come of them); ``forget`` lists, per
        scenario, the tags whose duals did not become cuts."""
        for t in (forget or {}).get(self.s, []):
            self.kept.pop(t, None)
        xi = np.maximum(link[self.link_index], 0.0)
        if self.h is None:
            return SubResult(self.s, 0.0, np.zeros(len(xi)), xi, "optimal", 0.0, 0)
        h = self.h
        n = len(self.link_cols)
        c = self.scaling.col
        if n:
            xs = xi / c[self.link_cols]
            h.changeColsBounds(n, self.link_cols, xs, xs)
        off = np.zeros(0, dtype=np.int32)
        if exclude_provider >= 0:
            offer = self.block.own_offer
            off = np.flatnonzero(
                (offer >= 0) & (self.offer_provider[np.maximum(offer, 0)] == exclude_provider)
            ).astype(np.int32)
            if off.size:
                h.changeColsBounds(off.size, off, np.zeros(off.size), np.zeros(off.size))
        t0 = time.perf_counter()
        run_interruptible(h)
        seconds = time.perf_counter() - t0
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            text = h.modelStatusToString(status).lower()
            result = SubResult(self.s, math.nan, np.zeros(n), xi, text, seconds, 0)
        else:
            # read everything before the bounds are restored (a change clears HiGHS' solution)
            sol = h.getSolution()
            y = np.asarray(sol.row_dual) * self.scaling.row  # user units: y = r·y'
            beta = -(self.A_link.T @ y) if n else np.zeros(0)
            info = h.getInfo()
            own = (np.asarray(sol.col_value) * c)[: self.block.n_own]
            if tag >= 0:
                self.kept[tag] = y.copy()
            result = SubResult(
                self.s,
                float(info.objective_function_value),
                beta,
                xi,
                "optimal",
                seconds,
                int(info.simplex_iteration_count),
                float(self.penalty_cost @ own),
                tag,
            )
        if off.size:
            h.changeColsBounds(off.size, off, np.zeros(off.size), self.ub[off] / c[off])
        return result

    def final(self, weights: dict[int, dict[int, float]] | None = None) -> dict[str, Any]:
        """The last solve's values, with where they go in the whole model, and the row duals:
        ``Σ_c μ_c y_c`` over this scenario's cuts (``weights[s][tag] = μ_c``, the master's
        cut duals), which are the subproblem duals consistent with the master's (the last
        solve's own duals may be another subgradient at a kink); the last solve's without
        weights."""
        if self.h is None:
            z = np.zeros(0)
            return {"s": self.s, "col": z, "row": z, "dual": z, "block": self.block}
        sol = self.h.getSolution()
        col, row, _, dual = self.scaling.unscale(
            np.asarray(sol.col_value), np.asarray(sol.row_value), np.zeros(0), sol.row_dual
        )
        mine = (weights or {}).get(self.s)
        if mine:
            dual = np.zeros(self.rows)
            for t, mu in mine.items():
                dual += mu * self.kept[t]
        return {
            "s": self.s,
            "col": col[: self.block.n_own],
            "row": row,
            "dual": dual,
            "block": self.block,
        }

    def links(self) -> tuple[int, np.ndarray]:
        """(scenario, positions of the block's link columns in the link vector)."""
        return self.s, self.link_index

    def describe(self) -> dict[str, Any]:
        """Size and build time of the block."""
        return {
            "scenario": self.s,
            "rows": self.rows,
            "columns": self.cols,
            "build_seconds": self.build_seconds,
        }


class _Chunk:
    """The subproblems one worker owns (a process, a Ray actor, or this process)."""

    def __init__(
        self,
        inp: PlanInputs,
        scenarios: list[int],
        options: SolverOptions,
        links: Links,
    ) -> None:
        self.subs = [SubSolver(inp, s, options, links) for s in scenarios]

    def solve(
        self,
        link: np.ndarray,
        exclude_provider: int = -1,
        tag: int = -1,
        forget: dict[int, list[int]] | None = None,
    ) -> list[SubResult]:
        return [sub.solve(link, exclude_provider, tag, forget) for sub in self.subs]

    def final(self, weights: dict[int, dict[int, float]] | None = None) -> list[dict[str, Any]]:
        return [sub.final(weights) for sub in self.subs]

    def describe(self) -> list[dict[str, Any]]:
        return [sub.describe() for sub in self.subs]

    def links(self) -> list[tuple[int, np.ndarray]]:
        return [sub.links() for sub in self.subs]


# ----------------------------------------------------------------------------------------------
# Backends: local, process pool, Ray
# ----------------------------------------------------------------------------------------------

_WORKER: dict[str, _Chunk] = {}


def _init_worker(
    inp: PlanInputs, scenarios: list[int], options: SolverOptions, offsets: Links
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _WORKER["chunk"] = _Chunk(inp, scenarios, options, offsets)


def _worker_call(method: str, *args: Any) -> Any:
    return getattr(_WORKER["chunk"], method)(*args)


class _Backend:
    """Runs every chunk's method and gathers the results in scenario order."""

    name = "local"

    def __init__(self, chunks: list[_Chunk]) -> None:
        self.chunks = chunks

    def call(self, method: str, *args: Any) -> list[Any]:
        out: list[Any] = []
        for chunk in self.chunks:
            out.extend(getattr(chunk, method)(*args))
        return out

    def close(self) -> None:
        self.chunks = []


class _PoolBackend(_Backend):
    """One single-process pool per worker: a scenario always goes to the process that built it."""

    name = "processes"

    def __init__(
        self,
        inp: PlanInputs,
        parts: list[list[int]],
        options: SolverOptions,
        offsets: Links,
    ) -> None:
        # spawn: HiGHS runs a thread pool in this process; a forked child can deadlock in it
        context = mp.get_context("spawn")
        self.pools = [
            ProcessPoolExecutor(
                max_workers=1,
                mp_context=context,
                initializer=_init_worker,
                initargs=(inp, part, options, offsets),
            )
            for part in parts
        ]

    def call(self, method: str, *args: Any) -> list[Any]:
        futures: list[Future] = [pool.submit(_worker_call, method, *args) for pool in self.pools]
        out: list[Any] = []
        try:
            for fut in futures:
                out.extend(fut.result())
        except BaseException:
            self.close(kill=True)
            raise
        return out

    def close(self, kill: bool = False) -> None:
        for pool in self.pools:
            if kill:
                for proc in dict(getattr(pool, "_processes", None) or {}).values():
                    with contextlib.suppress(Exception):
                        proc.terminate()
            pool.shutdown(wait=not kill, cancel_futures=kill)
        self.pools = []


class _RayBackend(_Backend):
    """One Ray actor per part; ``address`` as ``simulate --ray``: ``auto`` or a cluster."""

    name = "ray"

    def __init__(
        self,
        inp: PlanInputs,
        parts: list[list[int]],
        options: SolverOptions,
        offsets: Links,
        address: str,
    ) -> None:
        ray, self.started = connect_ray(address)
        self.ray = ray
        actor = ray.remote(num_cpus=1)(_Chunk)
        ref = ray.put(inp)
        self.actors = [actor.remote(ref, part, options, offsets) for part in parts]

    def call(self, method: str, *args: Any) -> list[Any]:
        refs = [getattr(a, method).remote(*args) for a in self.actors]
        out: list[Any] = []
        for part in self.ray.get(refs):
            out.extend(part)
        return out

    def close(self) -> None:
        for a in self.actors:
            with contextlib.suppress(Exception):
                self.ray.kill(a)
        self.actors = []
        if self.started:
            self.ray.shutdown()


def _parts(scenarios: list[int], workers: int) -> list[list[int]]:
    """Scenarios dealt round-robin to ``workers`` parts (none empty)."""
    workers = max(1, min(workers, len(scenarios)))
    return [scenarios[i::workers] for i in range(workers)]


def make_backend(
    inp: PlanInputs,
    options: SolverOptions,
    offsets: Links,
    *,
    workers: int = 1,
    ray: str | None = None,
) -> _Backend:
    """The subproblem runner: Ray when ``ray`` names a cluster (or ``auto``), else
    ``workers`` processes (1: this process)."""
    scenarios = list(range(1, len(inp.scenario_names)))
    sub_options = SolverOptions(method="simplex", presolve=options.presolve, threads=1)
    if ray:
        return _RayBackend(inp, _parts(scenarios, workers), sub_options, offsets, ray)
    if workers <= 1 or len(scenarios) <= 1:
        return _Backend([_Chunk(inp, scenarios, sub_options, offsets)])
    return _PoolBackend(inp, _parts(scenarios, workers), sub_options, offsets)


# ----------------------------------------------------------------------------------------------
# The master and the loop
# ----------------------------------------------------------------------------------------------


@dataclass
class Decomposed:
    """The outcome of :func:`solve_decomposed`: the whole model and its assembled solution."""

    model: PlanningModel  # the whole model (arrays only; never handed to a solver)
    solution: Solution
    stats: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    sub_seconds: list[list[float]] = field(default_factory=list)  # per iteration, per scenario
    walk_away: pd.DataFrame | None = None


class Master:
    """The master LP/MILP in HiGHS: base case + first stage + θ_s, cuts added as rows."""

    def __init__(self, pm: PlanningModel, n_scen: int, options: SolverOptions) -> None:
        self.pm = pm
        lm = pm.lm
        self.n = lm.n_cols
        self.m = lm.n_rows
        self.options = options
        self.h = make_highs(lm, options)  # family scaling, as the monolithic solve
        self.scaling = scaling_of(self.h)
        self.integer_cols = np.flatnonzero(lm.arrays()["integrality"] > 0).astype(np.int32)
        self.theta = np.arange(self.n, self.n + n_scen, dtype=np.int32)
        if n_scen:
            self.h.addCols(
                n_scen,
                np.ones(n_scen),
                np.zeros(n_scen),
                np.full(n_scen, np.inf),
                0,
                np.zeros(0, dtype=np.int32),
                np.zeros(0, dtype=np.int32),
                np.zeros(0),
            )
        offsets: dict[str, int] = {}
        link_cols: list[np.ndarray] = []
        pos = 0
        for name in LINK_FAMILIES:
            fam = lm.cols.get(name)
            if fam is None:
                continue
            offsets[name] = pos
            link_cols.append(np.arange(fam.start, fam.start + fam.size, dtype=np.int32))
            pos += fam.size
        self.offsets = offsets
        self.link_cols = np.concatenate(link_cols) if link_cols else np.zeros(0, dtype=np.int32)
        self.links = Links(offsets, self.scaling.col[self.link_cols])
        self.cuts = 0
        self.cut_info: list[tuple[int, int]] = []  # (scenario, tag) of each cut row, in order

    def set_integer(self, on: bool) -> None:
        """Solve the master as a MILP (``on``) or as its LP relaxation."""
        k = len(self.integer_cols)
        if k:
            kind = np.full(k, 1 if on else 0, dtype=np.uint8)
            self.h.changeColsIntegrality(k, self.integer_cols, kind)

    def solve(self, time_left: float | None) -> tuple[str, np.ndarray, float, float]:
        """(status, column values, objective, lower bound), MUSD."""
        h = self.h
        h.setOptionValue("time_limit", float(time_left) if time_left is not None else math.inf)
        run_interruptible(h)
        status = h.getModelStatus()
        if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit):
            h.clearSolver()  # a numerical failure from the warm basis: once more from scratch
            run_interruptible(h)
            status = h.getModelStatus()
        info = h.getInfo()
        sol = h.getSolution()
        text = {
            highspy.HighsModelStatus.kOptimal: "optimal",
            highspy.HighsModelStatus.kTimeLimit: "time limit",
        }.get(status, h.modelStatusToString(status).lower())
        if not sol.value_valid:
            return text, np.zeros(0), math.nan, math.nan
        x = np.asarray(sol.col_value).copy()
        x[: self.n] *= self.scaling.col  # user units (θ columns are not scaled)
        obj = float(info.objective_function_value)
        self.last_iterations = int(info.simplex_iteration_count)
        bound = obj
        if len(self.integer_cols) and self.is_integer:
            bound = float(info.mip_dual_bound)
        return text, x, obj, bound

    is_integer = False

    def add_cuts(self, results: list[SubResult], link_of: dict[int, np.ndarray]) -> int:
        """One optimality cut per result: θ_s − β·ξ ≥ Q̂ − β·ξ̂."""
        starts, idx, val, lo = [], [], [], []
        nnz = 0
        for r in results:
            cols = link_of[r.scenario]
            keep = np.abs(r.beta) > 1e-13
            starts.append(nnz)
            idx.append(np.concatenate([[self.theta[r.scenario - 1]], cols[keep]]))
            # in solver units ξ = c·ξ': the coefficient of ξ'_j is −β_j·c_j
            val.append(np.concatenate([[1.0], -r.beta[keep] * self.scaling.col[cols[keep]]]))
            lo.append(r.objective - float(r.beta @ r.xi))
            nnz += 1 + int(keep.sum())
        if not results:
            return 0
        self.h.addRows(
            len(results),
            np.array(lo),
            np.full(len(results), np.inf),
            nnz,
            np.array(starts, dtype=np.int32),
            np.concatenate(idx).astype(np.int32),
            np.concatenate(val),
        )
        self.cuts += len(results)
        self.cut_info += [(r.scenario, r.tag) for r in results]
        return len(results)

    def duals(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Row values and duals of the master's own rows at ``x``; a MILP master's come from its
        LP with the integer columns fixed at their values (as :func:`solve.solve` does)."""
        h = self.h
        if len(self.integer_cols) and self.is_integer:
            k = len(self.integer_cols)
            rounded = np.round(x[self.integer_cols])
            self.set_integer(False)
            lp = h.getLp()
            lb = np.asarray(lp.col_lower_)[self.integer_cols]
            ub = np.asarray(lp.col_upper_)[self.integer_cols]
            h.changeColsBounds(k, self.integer_cols, rounded, rounded)
            run_interruptible(h)
        sol = h.getSolution()
        ok = bool(sol.dual_valid) and h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        # the rows at x (the plan reported: the best point, not necessarily the last optimum)
        row = np.asarray(self.pm.lm.matrix() @ x[: self.n])
        dual = np.asarray(sol.row_dual)[: self.m] * self.scaling.row if ok else np.zeros(self.m)
        mu = np.asarray(sol.row_dual)[self.m :] if ok else np.zeros(0)
        self.weights: dict[int, dict[int, float]] = {}
        for (s, tag), m in zip(self.cut_info, mu, strict=False):
            if abs(m) > 1e-12:
                self.weights.setdefault(s, {})[tag] = float(m)
        if len(self.integer_cols) and self.is_integer:
            h.changeColsBounds(len(self.integer_cols), self.integer_cols, lb, ub)
            self.set_integer(True)
        return row, dual, ok


def solve_decomposed(
    inp: PlanInputs,
    *,
    integer: bool = False,
    options: SolverOptions | None = None,
    workers: int = 1,
    ray: str | None = None,
    gap: float | None = None,
    progress: Progress | None = None,
    assemble: bool = True,
    walk_away: bool = False,
) -> Decomposed:
    """Solve the planning model of ``inp`` by multi-cut Benders over its outage scenarios.

    Args:
        inp: resolved inputs (with outage scenarios; with none, the master is the whole model).
        integer: whole-instance reservations: MILP master, LP subproblems.
        options: solver options; ``time_limit`` bounds the whole loop (seconds).
        workers: processes for the subproblems (1: in this process).
        ray: ``auto`` or a Ray cluster address: subproblems on Ray actors (``workers`` actors).
        gap: relative gap between the bounds at which the loop stops (None:
            :data:`DEFAULT_GAP`, read at the call).
        progress: called after each iteration with that iteration's figures.
        assemble: place the solution into the whole model (for the result tables); ``False``
            skips it (benchmarks), and ``model``/``solution`` then hold the master's.
        walk_away: also compute each provider's walk-away value (``Decomposed.walk_away``), each
            by the same loop with the provider's columns fixed at 0, from the plan's cuts
            (valid: removing columns only raises every subproblem's value).

    Raises:
        SolverError: the master is infeasible or stops without a plan; a subproblem is not
            optimal (a bug: every subproblem is feasible by construction).
    """
    options = options or SolverOptions()
    gap = DEFAULT_GAP if gap is None else gap
    started = time.perf_counter()
    deadline = started + options.time_limit if options.time_limit else None
    t0 = time.perf_counter()
    master_pm = build_master(inp, integer=integer)
    n_scen = len(inp.scenario_names) - 1
    master = Master(master_pm, n_scen, options)
    build_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    backend = make_backend(inp, options, master.links, workers=workers, ray=ray)
    try:
        blocks = backend.call("describe")
        link_of = {s: master.link_cols[idx] for s, idx in backend.call("links")}
        start_seconds = time.perf_counter() - t0
        out = _loop(master, backend, link_of, integer, options, gap, deadline, progress)
        t0 = time.perf_counter()
        row, dual, has_duals = master.duals(out.x)
        finals = backend.call("final", master.weights if has_duals else None) if assemble else []
        fetch_seconds = time.perf_counter() - t0
        has_duals = has_duals and out.status == "optimal"
        walk = (
            _walk_away(inp, master, backend, link_of, integer, options, gap, out)
            if walk_away
            else None
        )
    finally:
        backend.close()
    x, status, history, sub_seconds, ub = out.x, out.status, out.history, out.sub_seconds, out.upper
    stats = {
        "solve_method": "decomposed",
        "decomposition": "multi-cut Benders (L-shaped) over outage scenarios",
        "backend": backend.name,
        "workers": workers if not ray else f"ray:{ray}",
        "iterations": len(history),
        "cuts": master.cuts,
        "lower_bound_usd": history[-1]["lower"] / 1e-6 if history else math.nan,
        "upper_bound_usd": ub / 1e-6,
        "relative_gap": history[-1]["gap"] if history else 0.0,
        "master_build_seconds": build_seconds,
        "worker_start_seconds": start_seconds,
        "master_seconds": float(sum(h["master_seconds"] for h in history)),
        "subproblem_wall_seconds": float(sum(h["sub_wall_seconds"] for h in history)),
        "subproblem_cpu_seconds": float(sum(sum(s) for s in sub_seconds)),
        "subproblems": n_scen,
        "subproblem_rows_max": max((b["rows"] for b in blocks), default=0),
        "subproblem_columns_max": max((b["columns"] for b in blocks), default=0),
        "subproblem_build_seconds": float(sum(b["build_seconds"] for b in blocks)),
        "fetch_seconds": fetch_seconds,
    }
    x_master = x[: master.n]
    if not assemble:
        solution = Solution(
            status=status,
            objective=ub,
            col_value=x_master,
            row_value=row,
            row_dual=dual,
            col_dual=np.zeros(master.n),
            has_duals=has_duals,
            mip_gap=None,
            seconds=time.perf_counter() - started,
            simplex_iterations=0,
            primal_feasible=True,
        )
        return Decomposed(master_pm, solution, stats, history, sub_seconds, walk)
    t0 = time.perf_counter()
    full = build(inp, integer=integer, outages=True)
    solution = _assemble(full, master_pm, x_master, row, dual, has_duals, finals, ub, status)
    solution.seconds = time.perf_counter() - started
    stats["assemble_seconds"] = time.perf_counter() - t0
    return Decomposed(full, solution, stats, history, sub_seconds, walk)


def _walk_away(
    inp: PlanInputs,
    master: Master,
    backend: _Backend,
    link_of: dict[int, np.ndarray],
    integer: bool,
    options: SolverOptions,
    gap: float,
    base: LoopResult,
) -> pd.DataFrame:
    """Walk-away values as :func:`hyperplan.plan.sensitivity.walk_away_values` defines them,
    each provider by the loop with its ``reserve``/``allocate`` columns fixed at 0 (master and
    subproblems) and the share caps relaxed when the others' caps add up to less than 1."""
    from hyperplan.plan.sensitivity import _frame, _penalty_cols, _share_rows, provider_columns

    lm = master.pm.lm
    arrays = lm.arrays()
    h = master.h
    pen = _penalty_cols(lm)
    share = _share_rows(lm)

    def penalty(loop: LoopResult) -> float:
        return float(arrays["cost"][pen] @ loop.x[pen]) + sum(r.penalty for r in loop.results)

    results = []
    relaxed = set()
    for p in range(len(inp.providers)):
        cols = provider_columns(lm, inp.offer_provider, p)
        relax = bool(np.delete(inp.max_share, p).sum() < 1.0) and len(share) > 0
        if relax:
            relaxed.add(p)
            k = len(share)
            lo = master.scaling.row_bounds(share, arrays["row_lo"][share])
            h.changeRowsBounds(k, share, lo, np.full(k, np.inf))
        h.changeColsBounds(len(cols), cols, np.zeros(len(cols)), np.zeros(len(cols)))
        rows_before = h.getNumRow()
        cuts_before = master.cuts
        t0 = time.perf_counter()
        try:
            loop = _loop(master, backend, link_of, integer, options, gap, None, None, p)
            results.append((p, loop.status, loop.upper, penalty(loop), time.perf_counter() - t0))
        except SolverError as exc:
            results.append((p, str(exc)[:60], math.nan, math.nan, time.perf_counter() - t0))
        added = h.getNumRow() - rows_before
        if added:  # cuts of the reduced problem over-estimate the full one: drop them
            drop = np.arange(rows_before, rows_before + added, dtype=np.int32)
            h.deleteRows(added, drop)
        master.cuts = cuts_before
        del master.cut_info[cuts_before:]
        sc = master.scaling
        lb, ub = sc.col_bounds(cols, arrays["lb"][cols]), sc.col_bounds(cols, arrays["ub"][cols])
        h.changeColsBounds(len(cols), cols, lb, ub)
        if relax:
            k = len(share)
            lo = sc.row_bounds(share, arrays["row_lo"][share])
            hi = sc.row_bounds(share, arrays["row_hi"][share])
            h.changeRowsBounds(k, share, lo, hi)
    return _frame(
        inp.providers,
        results,
        base.upper,
        penalty(base),
        float(sum(r["master_seconds"] + r["sub_wall_seconds"] for r in base.history)),
        relaxed,
    )


def _loop(
    master: Master,
    backend: _Backend,
    link_of: dict[int, np.ndarray],
    integer: bool,
    options: SolverOptions,
    gap: float,
    deadline: float | None,
    progress: Progress | None,
    exclude_provider: int = -1,
    stabilise: float | None = None,
) -> LoopResult:
    """Iterate master → subproblems → cuts until the bounds meet, with in-out stabilisation.

    Each iteration solves the master (its optimum ``x_out``: the lower bound), then the
    subproblems at ``x_out`` (Kelley's cutting-plane step: an upper bound, and cuts that cut
    ``x_out`` off unless it is optimal within the tolerance, so the loop converges as Kelley's
    does), then, unless the bounds already meet, at the **separation point**
    ``x_sep = λ·x_out + (1 − λ)·x_in`` (Ben-Ameur & Neto 2007, "in-out"): ``x_in`` the best plan
    so far (the lowest upper bound). Every master point satisfies the master's own rows, an LP,
    so ``x_sep`` does too and its value is an upper bound as well; its cuts, taken where the
    cutting-plane model is already good, stop the master from jumping between far-apart
    points. The cuts of either round that cut ``(x_out, θ_out)`` off are added. ``stabilise`` =
    λ (default :data:`IN_OUT_LAMBDA`), 1 turns the second round off. The integer phase separates
    at ``x_out`` only (a convex combination of integer points need not be integer) and
    restarts the upper bound.

    The result is the best plan (``x_in``), with the subproblems left solved at it."""
    lam = IN_OUT_LAMBDA if stabilise is None else stabilise
    history: list[dict[str, float]] = []
    sub_seconds: list[list[float]] = []
    phase_integer = False
    master.is_integer = False
    if integer:
        master.set_integer(False)  # LP relaxation first: its cuts stay valid for the MILP
    stop_gap = max(gap, options.mip_gap) if integer else gap
    status = "optimal"
    n_scen = len(master.theta)
    forget: dict[int, list[int]] = {}
    x_in = np.zeros(0)  # the best plan, its first-stage cost, upper bound, subproblem results
    fs_in = math.nan
    ub = math.inf
    best: list[SubResult] = []
    last_at_in = False  # the last subproblem round was at x_in
    solves = 0  # subproblem rounds (their tags)

    def evaluate(x: np.ndarray, fs: float) -> tuple[list[SubResult], float]:
        """Subproblems at ``x`` (first-stage cost ``fs``); the best plan updated."""
        nonlocal forget, x_in, fs_in, ub, best, last_at_in, solves
        tag = solves if exclude_provider < 0 else -1
        solves += 1
        t0 = time.perf_counter()
        results: list[SubResult] = backend.call(
            "solve", x[master.link_cols], exclude_provider, tag, forget
        )
        forget = {}
        wall = time.perf_counter() - t0
        _check(results)
        sub_seconds.append([r.seconds for r in results])
        value = fs + float(sum(r.objective for r in results))
        last_at_in = value < ub
        if last_at_in:
            x_in, fs_in, ub, best = x, fs, value, results
        return results, wall

    for it in range(MAX_ITERATIONS):
        left = None if deadline is None else max(deadline - time.perf_counter(), 1e-3)
        t0 = time.perf_counter()
        m_status, x_out, obj, lower = master.solve(left)
        master_seconds = time.perf_counter() - t0
        if m_status != "optimal":
            # a limit: keep the best plan whose subproblems were solved (a MILP master's
            # incumbent is feasible too); anything else is no plan
            if m_status in LIMITS and len(x_in):
                status = m_status
                break
            if not (m_status in LIMITS and len(x_out) and phase_integer):
                raise SolverError(
                    f"the decomposed solve's master stopped ({m_status}) after {it} "
                    "iterations without a plan; raise --time-limit or use --method monolithic"
                )
            status = m_status
        theta_out = x_out[master.theta] if n_scen else np.zeros(0)
        fs_out = obj - float(theta_out.sum())
        candidates, wall = evaluate(x_out, fs_out)
        separated = False
        if (
            (ub - lower) / max(abs(ub), 1e-12) > stop_gap
            and lam < 1.0
            and not phase_integer
            and status not in LIMITS
            and len(x_in)
            and x_in is not x_out
        ):
            x_sep = lam * x_out + (1.0 - lam) * x_in
            more, wall_sep = evaluate(x_sep, lam * fs_out + (1.0 - lam) * fs_in)
            candidates, wall, separated = candidates + more, wall + wall_sep, True
        rel = (ub - lower) / max(abs(ub), 1e-12)
        row = {
            "iteration": it + 1,
            "lower": lower,
            "upper": ub,
            "gap": rel,
            "master_seconds": master_seconds,
            "sub_wall_seconds": wall,
            "integer_master": float(phase_integer),
            "master_iterations": float(getattr(master, "last_iterations", 0)),
            "separated": float(separated),
        }
        history.append(row)
        if progress is not None:
            progress(row)
        if status in LIMITS:
            break
        if rel <= stop_gap:
            if integer and not phase_integer:
                phase_integer = True
                master.is_integer = True
                master.set_integer(True)
                ub, x_in, best = math.inf, np.zeros(0), []
                continue
            break
        # the cuts that cut the out-point off (θ_out below the cut at ξ_out)
        tol = 1e-9 * max(1.0, abs(ub))
        violated = [
            r
            for r in candidates
            if r.objective + float(r.beta @ (x_out[link_of[r.scenario]] - r.xi))
            > theta_out[r.scenario - 1] + tol
        ]
        if not violated:  # bounds apart only by the MIP gap (or round-off)
            break
        master.add_cuts(violated, link_of)
        kept = {(r.scenario, r.tag) for r in violated}
        for r in candidates:
            if r.tag >= 0 and (r.scenario, r.tag) not in kept:
                forget.setdefault(r.scenario, []).append(r.tag)
        if deadline is not None and time.perf_counter() >= deadline:
            status = "time limit"
            break
    if len(x_in) and not last_at_in:  # leave the subproblems solved at the plan reported
        best = backend.call("solve", x_in[master.link_cols], exclude_provider, -1, forget)
        _check(best)
    return LoopResult(x_in, status, history, sub_seconds, ub, best)


def _check(results: list[SubResult]) -> None:
    bad = [r for r in results if r.status != "optimal"]
    if bad:
        raise SolverError(
            f"outage subproblem {bad[0].scenario} returned {bad[0].status!r}: every "
            "subproblem is feasible by construction, so this is a numerical failure or a "
            "bug; use --method monolithic"
        )


@dataclass
class LoopResult:
    """The last master point (MUSD units), status, per-iteration history, subproblem seconds,
    upper bound (the objective of the point, MUSD) and the subproblem results at the point."""

    x: np.ndarray
    status: str
    history: list[dict[str, float]]
    sub_seconds: list[list[float]]
    upper: float
    results: list[SubResult]


def _assemble(
    full: PlanningModel,
    master_pm: PlanningModel,
    x: np.ndarray,
    row: np.ndarray,
    dual: np.ndarray,
    has_duals: bool,
    finals: list[dict[str, Any]],
    objective: float,
    status: str,
) -> Solution:
    """The whole model's solution vectors from the master's and the subproblems'."""
    lm = full.lm
    col_value = np.zeros(lm.n_cols)
    row_value = np.zeros(lm.n_rows)
    row_dual = np.zeros(lm.n_rows)
    mlm = master_pm.lm

    def base_part(fams: dict, mfams: dict, target: np.ndarray, source: np.ndarray) -> None:
        for name, fam in fams.items():
            mfam = mfams.get(name)
            if mfam is None:
                continue
            s = fam.index.get("scenario")
            sel = np.arange(fam.size) if s is None else np.flatnonzero(s == 0)
            if len(sel) != mfam.size:
                raise HyperplanError(f"decomposed solve: family {name} does not match the master")
            target[fam.start + sel] = source[mfam.slice]

    base_part(lm.cols, mlm.cols, col_value, x)
    base_part(lm.rows, mlm.rows, row_value, row)
    base_part(lm.rows, mlm.rows, row_dual, dual)
    for f in finals:
        block: ScenarioBlock = f["block"]
        s = f["s"]
        for fams, place, target, sources in (
            (lm.cols, block.col_place, (col_value,), (f["col"],)),
            (lm.rows, block.row_place, (row_value, row_dual), (f["row"], f["dual"])),
        ):
            for name, (pos, rank) in place.items():
                fam = fams[name]
                members = fam.start + np.flatnonzero(fam.index["scenario"] == s)
                for tgt, src in zip(target, sources, strict=True):
                    tgt[members[rank]] = src[pos]
    arrays = lm.arrays()
    col_dual = arrays["cost"] - lm.matrix().T @ row_dual
    return Solution(
        status=status,
        objective=objective,
        col_value=col_value,
        row_value=row_value,
        row_dual=row_dual,
        col_dual=np.asarray(col_dual),
        has_duals=has_duals,
        mip_gap=None,
        seconds=0.0,
        simplex_iterations=0,
        highs=None,
        primal_feasible=True,
        nonzeros=0,
    )
