"""Hand a :class:`LinearModel` to HiGHS (highspy) in one call and read the solution back.

For a MILP, duals come from the LP with every integer column fixed at its solution value (the
usual way to price a MILP plan); the status and gap reported are the MILP's.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Literal

import highspy
import numpy as np

from hyperplan.errors import SolverError
from hyperplan.plan.model import LinearModel


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
    """

    method: Literal["simplex", "ipm", "choose"] = "simplex"
    presolve: bool = True
    threads: int | None = None
    time_limit: float | None = None
    mip_gap: float = 1e-4


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

    @property
    def usable(self) -> bool:
        """True when ``col_value`` is a feasible plan (optimal, or a limit with a solution)."""
        return (
            self.status in {"optimal", "time limit", "iteration limit"} and len(self.col_value) > 0
        )


_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible or unbounded",
    highspy.HighsModelStatus.kTimeLimit: "time limit",
    highspy.HighsModelStatus.kIterationLimit: "iteration limit",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
}


_BANNER_SHOWN = False


def new_highs() -> highspy.Highs:
    """A silent Highs instance (HiGHS prints a banner to fd 1 the first time; hide it)."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _BANNER_SHOWN = True
    h.setOptionValue("output_flag", False)
    return h


def make_highs(lm: LinearModel, options: SolverOptions) -> highspy.Highs:
    """A Highs instance holding the model, options set, not yet run."""
    arrays = lm.arrays()
    A = lm.matrix()
    h = new_highs()
    h.setOptionValue("solver", options.method)
    h.setOptionValue("presolve", "on" if options.presolve else "off")
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    if options.time_limit is not None:
        h.setOptionValue("time_limit", float(options.time_limit))
    lp = highspy.HighsLp()
    lp.num_col_ = lm.n_cols
    lp.num_row_ = lm.n_rows
    lp.offset_ = float(lm.offset)
    lp.col_cost_ = arrays["cost"]
    lp.col_lower_ = arrays["lb"]
    lp.col_upper_ = arrays["ub"]
    lp.row_lower_ = arrays["row_lo"]
    lp.row_upper_ = arrays["row_hi"]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data
    if lm.is_mip:
        lp.integrality_ = [highspy.HighsVarType(int(v)) for v in arrays["integrality"]]
    status = h.passModel(lp)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model (passModel returned an error)")
    return h


def run(h: highspy.Highs, *, is_mip: bool) -> Solution:
    """Run HiGHS on a prepared instance and collect the solution."""
    started = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - started
    model_status = h.getModelStatus()
    status = _STATUS.get(model_status, h.modelStatusToString(model_status).lower())
    info = h.getInfo()
    sol = h.getSolution()
    has_primal = bool(sol.value_valid)
    col_value = np.asarray(sol.col_value) if has_primal else np.zeros(0)
    row_value = np.asarray(sol.row_value) if has_primal else np.zeros(0)
    has_duals = bool(sol.dual_valid) and not is_mip
    return Solution(
        status=status,
        objective=float(info.objective_function_value) if has_primal else float("nan"),
        col_value=col_value,
        row_value=row_value,
        row_dual=np.asarray(sol.row_dual) if has_duals else np.zeros(0),
        col_dual=np.asarray(sol.col_dual) if has_duals else np.zeros(0),
        has_duals=has_duals,
        mip_gap=float(info.mip_gap) if is_mip else None,
        seconds=seconds,
        simplex_iterations=int(info.simplex_iteration_count),
        highs=h,
    )


def solve(lm: LinearModel, options: SolverOptions | None = None) -> Solution:
    """Solve the model. A MILP's duals come from the LP with integers fixed."""
    options = options or SolverOptions()
    h = make_highs(lm, options)
    solution = run(h, is_mip=lm.is_mip)
    if lm.is_mip and solution.usable:
        fixed = _fixed_lp_duals(lm, options, solution.col_value)
        if fixed is not None:
            solution.row_dual, solution.col_dual = fixed
            solution.has_duals = True
    return solution


def _fixed_lp_duals(
    lm: LinearModel, options: SolverOptions, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    integer = lm.arrays()["integrality"] > 0
    h = make_highs(lm, options)
    ints = np.flatnonzero(integer).astype(np.int32)
    rounded = np.round(values[ints])
    h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), dtype=np.uint8))
    h.changeColsBounds(len(ints), ints, rounded, rounded)
    h.setOptionValue("time_limit", float("inf"))
    h.run()
    sol = h.getSolution()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal or not sol.dual_valid:
        return None
    return np.asarray(sol.row_dual), np.asarray(sol.col_dual)
