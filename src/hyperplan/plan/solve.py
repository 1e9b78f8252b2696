"""Hand a :class:`LinearModel` to HiGHS (highspy) in one call and read the solution back.

For a MILP, duals come from the LP with every integer column fixed at its solution value (the
usual way to price a MILP plan); the status and gap reported are the MILP's.

HiGHS runs in a worker thread while the main thread waits in short, interruptible steps: Ctrl-C
(``KeyboardInterrupt``) or SIGTERM (the CLI's handler raises ``Interrupted``) reach Python at
once, cancel the solve through HiGHS' interrupt callback, and propagate when HiGHS has returned
(within one simplex iteration or branch-and-bound node). With a progress reporter
(:mod:`hyperplan.plan.progress`) the waiting thread also reports HiGHS's figures as it goes.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import highspy
import numpy as np

from hyperplan.errors import Interrupted, SolverError
from hyperplan.plan.highs import new_highs
from hyperplan.plan.model import LinearModel
from hyperplan.plan.progress import Reporter
from hyperplan.plan.scaling import Scaling, compute_scaling, family_slices, identity_scaling


@dataclass(frozen=True)
class SolverOptions:
    """HiGHS settings.

    Attributes:
        method: "simplex" (dual simplex: the default, measured fastest on planning models and it
            yields a basis for warm-started re-solves), "ipm" (interior point with crossover), or
            "choose" (HiGHS decides).
        presolve: run HiGHS presolve.
        threads: threads for HiGHS (None: HiGHS default).
        time_limit: seconds; the best plan found so far is returned with an honest status.
        mip_gap: relative MIP gap at which branch and bound stops.
        highs_options: further HiGHS options by name, set last (e.g.
            ``{"simplex_iteration_limit": 1000}``); for experiments and tests.
    """

    method: Literal["simplex", "ipm", "choose"] = "simplex"
    presolve: bool = True
    threads: int | None = None
    time_limit: float | None = None
    mip_gap: float = 1e-4
    highs_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse settings that would silently mean something else (``nan``: no limit)."""
        from hyperplan.errors import InputError, Problem

        problems = []
        if self.method not in ("simplex", "ipm", "choose"):
            problems.append(
                Problem(f"expected simplex, ipm or choose; found {self.method!r}", path="method")
            )
        if self.time_limit is not None and not (
            isinstance(self.time_limit, int | float)
            and math.isfinite(self.time_limit)
            and self.time_limit > 0
        ):
            problems.append(
                Problem(f"expected seconds > 0; found {self.time_limit}", path="time_limit")
            )
        if not (isinstance(self.mip_gap, int | float) and 0 <= self.mip_gap <= 1):
            problems.append(Problem(f"expected 0 … 1; found {self.mip_gap}", path="mip_gap"))
        if self.threads is not None and not (isinstance(self.threads, int) and self.threads >= 1):
            problems.append(Problem(f"expected ≥ 1; found {self.threads}", path="threads"))
        if problems:
            raise InputError(problems)


@dataclass
class Solution:
    """What the solver returned, in the model's own units."""

    status: str  # "optimal", "time limit", "infeasible", ...
    objective: float
    col_value: np.ndarray
    row_value: np.ndarray
    row_dual: np.ndarray
    col_dual: np.ndarray
    has_duals: bool
    mip_gap: float | None
    seconds: float
    simplex_iterations: int = 0
    highs: highspy.Highs | None = field(default=None, repr=False)
    primal_feasible: bool = False  # HiGHS says the primal values are feasible
    nonzeros: int = 0  # coefficient-matrix entries handed to HiGHS
    #: HiGHS's log lines starting "WARNING" during the solve (its assessment of the model's
    #: scaling among them), in order
    solver_warnings: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """True when ``col_value`` is a feasible plan: optimal, or stopped at a limit with a
        feasible point (a MILP's incumbent; an LP stopped by dual simplex has none)."""
        return self.primal_feasible and (self.status == "optimal" or self.status in LIMITS)

    @property
    def stopped_early(self) -> bool:
        """The solver stopped at a limit: the values are not proven optimal."""
        return self.status in LIMITS


LIMITS = frozenset({"time limit", "iteration limit"})


_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible or unbounded",
    highspy.HighsModelStatus.kTimeLimit: "time limit",
    highspy.HighsModelStatus.kIterationLimit: "iteration limit",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
}


def make_highs(
    lm: LinearModel,
    options: SolverOptions,
    *,
    scale: bool = True,
    scaling: Scaling | None = None,
) -> highspy.Highs:
    """A Highs instance holding the model, options set, not yet run.

    With ``scale`` (the default) HiGHS holds the model scaled by :mod:`hyperplan.plan.scaling`
    (powers of two per row and column); :func:`run` returns the solution in the model's own
    units, and :func:`scaling_of` gives the factors to whoever changes bounds on the instance.
    ``scale=False`` hands over the model exactly as built (for exports and comparisons);
    ``scaling`` hands it over scaled by the factors given (a model whose families are not
    ``lm``'s own, e.g. a decomposition's subproblem).
    """
    arrays = lm.arrays()
    A = lm.matrix()
    if scaling is not None:
        arrays, A = scaling.model(arrays, A)
    elif scale:
        scaling = compute_scaling(family_slices(lm.cols, lm.rows), arrays, A)
        arrays, A = scaling.model(arrays, A)
    else:
        scaling = identity_scaling(lm.n_cols, lm.n_rows)
    h = new_highs()
    h.setOptionValue("solver", options.method)
    h.setOptionValue("presolve", "on" if options.presolve else "off")
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    if options.time_limit is not None:
        h.setOptionValue("time_limit", float(options.time_limit))
    for name, value in options.highs_options.items():
        if h.setOptionValue(name, value) == highspy.HighsStatus.kError:
            raise SolverError(f"HiGHS rejected the option {name}={value!r}")
    # the array form of passModel: the HighsLp attribute setters convert element by element,
    # which cost 70-77% of the build at 0.5M+ columns (bench/highs_alone.py)
    integrality = arrays["integrality"].astype(np.int32)
    lp_args = (
        lm.n_cols,
        lm.n_rows,
        int(A.nnz),
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        float(lm.offset),
        arrays["cost"],
        arrays["lb"],
        arrays["ub"],
        arrays["row_lo"],
        arrays["row_hi"],
        A.indptr.astype(np.int32),
        A.indices.astype(np.int32),
        A.data.astype(np.float64),
        integrality,
    )
    status = h.passModel(*lp_args)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model (passModel returned an error)")
    h._hyperplan_nonzeros = int(A.nnz)  # type: ignore[attr-defined]
    h._hyperplan_scaling = scaling  # type: ignore[attr-defined]
    return h


def scaling_of(h: highspy.Highs) -> Scaling:
    """The scaling of the model a Highs instance holds (identity when not made by
    :func:`make_highs`): convert bounds with it before ``changeColsBounds``/``changeRowsBounds``
    and values read from ``h.getSolution()`` after."""
    found = getattr(h, "_hyperplan_scaling", None)
    if found is None:
        return identity_scaling(int(h.getNumCol()), int(h.getNumRow()))
    return found


SOLVER_THREAD = "hyperplan-solve"
"""Name of the thread HiGHS runs in (also its OS name on Linux: ``top -H``, /proc/PID/task)."""


def _name_os_thread(name: str) -> None:
    """Give the calling thread an OS-level name (Linux prctl; elsewhere nothing)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass


def run_interruptible(
    h: highspy.Highs, progress: Reporter | None = None, *, is_mip: bool = False
) -> None:
    """``h.run()`` in a worker thread; Ctrl-C or SIGTERM in the main thread cancel it promptly.

    The main thread waits in 50 ms steps, so a signal handler runs within 50 ms. The exception it
    raises switches on HiGHS' interrupt callbacks (off until then: a Python call per simplex
    iteration would cost ~3% of the solve) with the cancel flag set, so HiGHS stops at its next
    iteration or branch-and-bound node; then the exception propagates. Off the main thread (no
    signals arrive there) HiGHS simply runs, unless ``progress`` is given.

    Args:
        h: a Highs instance holding the model.
        progress: reports HiGHS's figures (:mod:`hyperplan.plan.progress`) from the waiting
            thread, at most 10 times a second; an exception it raises (or a callback that
            returns True) cancels the solve the same way as Ctrl-C.
        is_mip: the model has integer columns (the MIP's callback is followed too).
    """
    if progress is None and threading.current_thread() is not threading.main_thread():
        h.run()
        return
    failure: list[BaseException] = []
    done = threading.Event()

    def target() -> None:
        _name_os_thread(SOLVER_THREAD)
        try:
            h.run()  # releases the GIL while HiGHS works
        except BaseException as exc:  # pragma: no cover - HiGHS reports through statuses
            failure.append(exc)
        finally:
            done.set()

    # Waiting on an Event, not Thread.join: in CPython 3.11 a KeyboardInterrupt inside
    # join(timeout) can release the running thread's state lock and mark it stopped, after which
    # is_alive() is False while HiGHS still runs.
    watch = progress.watch(h, is_mip=is_mip) if progress is not None else None
    worker = threading.Thread(target=target, name=SOLVER_THREAD, daemon=True)
    worker.start()
    try:
        while not done.wait(0.05):
            if watch is not None:
                watch.poll()
    except BaseException:
        h.cancelSolve()
        h.HandleUserInterrupt = True
        # presolve and the crash basis poll no interrupt callback, but they do poll the time
        # limit: lowering it stops them too (the status no longer matters, the exception wins)
        h.setOptionValue("time_limit", 0.0)
        try:
            while not done.is_set():  # HiGHS returns at its next interrupt check
                try:
                    done.wait(0.05)
                except BaseException:  # a second Ctrl-C while stopping: keep stopping
                    h.cancelSolve()
        finally:
            h.HandleUserInterrupt = False
        raise
    finally:
        if watch is not None:
            watch.close()
    if failure:  # pragma: no cover
        raise failure[0]


def _logged_warnings(h: highspy.Highs, lines: list[str]) -> Any:
    """Collect HiGHS's "WARNING" log lines into ``lines`` (nothing reaches the console);
    returns the callback, for ``h.cbLogging -= callback`` afterwards."""

    def collect(event: Any) -> None:
        if event.message.startswith("WARNING"):
            lines.append(event.message.rstrip())

    # the log_to_console value with which this HiGHS calls the logging callback and prints
    # nothing (False on 1.16, True on 1.13): probed once per process
    from hyperplan.plan.progress import quiet_log_setting

    quiet = quiet_log_setting()
    if quiet is not None:
        h.setOptionValue("log_to_console", quiet)
        h.setOptionValue("output_flag", True)
    h.cbLogging += collect
    return collect


def run(h: highspy.Highs, *, is_mip: bool, progress: Reporter | None = None) -> Solution:
    """Run HiGHS on a prepared instance and collect the solution (in the model's units) and
    HiGHS's warnings from its log (``progress``: live figures, see :func:`run_interruptible`)."""
    warnings: list[str] = []
    collect = _logged_warnings(h, warnings)
    started = time.perf_counter()
    try:
        run_interruptible(h, progress, is_mip=is_mip)
    finally:
        h.cbLogging -= collect
        h.setOptionValue("output_flag", False)
    seconds = time.perf_counter() - started
    model_status = h.getModelStatus()
    if model_status == highspy.HighsModelStatus.kInterrupt:
        raise Interrupted("the solve was interrupted")
    if model_status == highspy.HighsModelStatus.kModelEmpty:  # no column: nothing to decide
        return _empty_solution(h, is_mip, time.perf_counter() - started)
    status = _STATUS.get(model_status, h.modelStatusToString(model_status).lower())
    info = h.getInfo()
    sol = h.getSolution()
    has_primal = bool(sol.value_valid)
    has_duals = bool(sol.dual_valid) and not is_mip
    col_value, row_value, col_dual, row_dual = scaling_of(h).unscale(
        np.asarray(sol.col_value) if has_primal else np.zeros(0),
        np.asarray(sol.row_value) if has_primal else np.zeros(0),
        np.asarray(sol.col_dual) if has_duals else np.zeros(0),
        np.asarray(sol.row_dual) if has_duals else np.zeros(0),
    )
    return Solution(
        status=status,
        objective=float(info.objective_function_value) if has_primal else float("nan"),
        col_value=col_value,
        row_value=row_value,
        row_dual=row_dual,
        col_dual=col_dual,
        has_duals=has_duals,
        mip_gap=float(info.mip_gap) if is_mip else None,
        seconds=seconds,
        simplex_iterations=int(info.simplex_iteration_count),
        highs=h,
        primal_feasible=has_primal and int(info.primal_solution_status) == 2,
        nonzeros=int(getattr(h, "_hyperplan_nonzeros", 0)),
        solver_warnings=warnings,
    )


def _empty_solution(h: highspy.Highs, is_mip: bool, seconds: float) -> Solution:
    """The solution of a model without columns (every row holds 0 or HiGHS says infeasible)."""
    rows = int(h.getNumRow())
    lp = h.getLp()
    lo, hi = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
    feasible = bool(np.all((lo <= 1e-9) & (hi >= -1e-9)))
    return Solution(
        status="optimal" if feasible else "infeasible",
        objective=float(lp.offset_),
        col_value=np.zeros(0),
        row_value=np.zeros(rows),
        row_dual=np.zeros(rows),
        col_dual=np.zeros(0),
        has_duals=not is_mip,
        mip_gap=0.0 if is_mip else None,
        seconds=seconds,
        highs=h,
        primal_feasible=feasible,
    )


def solve(
    lm: LinearModel, options: SolverOptions | None = None, progress: Reporter | None = None
) -> Solution:
    """Solve the model. A MILP's duals come from the LP with integers fixed.

    ``progress`` reports live figures of both solves (the second as phase "…: dual prices").
    (No MIP start is passed: with presolve on, HiGHS 1.16 returned the start's values with
    another solution's objective when given one, and called it optimal.)
    """
    options = options or SolverOptions()
    h = make_highs(lm, options)
    solution = run(h, is_mip=lm.is_mip, progress=progress)
    if lm.is_mip and solution.usable:
        if progress is not None:
            with progress.phase(f"{progress.current or 'plan'}: dual prices"):
                fixed = _fixed_lp(lm, options, solution.col_value, progress)
        else:
            fixed = _fixed_lp(lm, options, solution.col_value)
        if fixed is not None:
            solution.row_dual, solution.col_dual = fixed.row_dual, fixed.col_dual
            solution.has_duals = True
            if fixed.objective <= solution.objective:
                # the LP optimum for the MILP's integer choices: never costlier than the
                # incumbent, and the point these duals price (complementary slackness holds)
                solution.col_value, solution.row_value = fixed.col_value, fixed.row_value
                solution.objective = fixed.objective
    return solution


@dataclass
class FixedLP:
    """The optimum of a MILP's LP with its integer columns fixed, in the model's units."""

    objective: float
    col_value: np.ndarray
    row_value: np.ndarray
    col_dual: np.ndarray
    row_dual: np.ndarray


def _fixed_lp(
    lm: LinearModel, options: SolverOptions, values: np.ndarray, progress: Reporter | None = None
) -> FixedLP | None:
    """The LP with every integer column fixed at its rounded value in ``values``: its optimal
    point and duals, in the model's units; None when it has no optimal basis.

    The LP starts warm from the MILP's solution (``setSolution``): HiGHS crashes a basis from
    the point and dual simplex repairs it, without presolve (measured on frontier-2030: 8,134
    iterations and 0.9 s of CPU against 11,886 iterations and 2.0 s cold). The duals are those
    of an optimal basis of the fixed LP, like a cold solve's; where that LP is dual degenerate,
    another optimal basis may price some rows differently.
    """
    integer = lm.arrays()["integrality"] > 0
    h = make_highs(lm, options)
    scaling = scaling_of(h)
    ints = np.flatnonzero(integer).astype(np.int32)
    rounded = np.round(values[ints])
    fixed = scaling.col_bounds(ints, rounded)
    h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), dtype=np.uint8))
    h.changeColsBounds(len(ints), ints, fixed, fixed)
    start = values.astype(float)
    start[ints] = rounded
    warm = highspy.HighsSolution()
    warm.col_value = scaling.col_bounds(np.arange(lm.n_cols), start)
    warm.value_valid = True
    h.setSolution(warm)
    # the fixed LP gets the user's time limit again (not unlimited): no duals beats a solve
    # that runs on long after the limit the user set
    h.setOptionValue("time_limit", float(options.time_limit or "inf"))
    run_interruptible(h, progress)
    sol = h.getSolution()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal or not sol.dual_valid:
        return None
    col_value, row_value, col_dual, row_dual = scaling.unscale(
        np.asarray(sol.col_value),
        np.asarray(sol.row_value),
        np.asarray(sol.col_dual),
        np.asarray(sol.row_dual),
    )
    return FixedLP(
        float(h.getInfo().objective_function_value), col_value, row_value, col_dual, row_dual
    )
