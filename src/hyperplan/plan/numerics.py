"""Warnings about the numbers of a planning model: where precision may suffer, and why.

Three sources, each located to the family that holds the extreme:

- the model in the user's units: coefficients and costs spanning more than 10 orders of
  magnitude (HiGHS scales the matrix itself, so only the spread is worth a word);
- the model as HiGHS receives it, after :mod:`hyperplan.plan.scaling`: finite column bounds and
  row bounds (right-hand sides) above 1e6 or nonzero below 1e-4 (HiGHS's own limits; its
  feasibility tolerance is absolute, 1e-7), which scaling could not bring in (integer columns and
  the rows that hold them keep their units);
- HiGHS's own scaling warnings from its log during the solve (:attr:`Solution.solver_warnings`),
  when HiGHS calls the model badly scaled or its bounds excessive.

Every plan is also checked against every constraint independently of the solver
(:func:`~hyperplan.plan.verify.verify`), so these warnings say where precision may suffer, not
that the plan is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from hyperplan.plan.model import LinearModel
from hyperplan.plan.scaling import BOUND_LIMIT, Scaling
from hyperplan.plan.solve import Solution, scaling_of

__all__ = ["NUMERIC_SPREAD_WARN", "SMALL_BOUND", "numerics_warnings", "solver_scaling_lines"]

#: Spread (max / min of nonzero magnitudes) beyond which the numbers are called badly scaled.
NUMERIC_SPREAD_WARN = 1e10

#: Nonzero bounds below this (in the solver's units) are within a few tolerances of 0
#: (HiGHS's ``kExcessivelySmallBoundValue``).
SMALL_BOUND = 1e-4


def numerics_warnings(lm: LinearModel, solution: Solution | None = None) -> list[str]:
    """Warnings about the model's numbers (see the module docstring); [] when all is well.

    Args:
        lm: the model, in the user's units.
        solution: the solve, for the scaling HiGHS received and its log; without it the
            bounds are judged as :func:`~hyperplan.plan.solve.make_highs` would scale them.
    """
    out = _spread_warnings(lm)
    h = solution.highs if solution is not None else None
    if h is not None:
        scaling = scaling_of(h)
    else:
        from hyperplan.plan.scaling import compute_scaling, family_slices

        arrays = lm.arrays()
        scaling = compute_scaling(family_slices(lm.cols, lm.rows), arrays, lm.matrix())
    out += _bound_warnings(lm, scaling)
    if solution is not None and solution.solver_warnings:
        lines = solver_scaling_lines(solution.solver_warnings)
        if lines:
            out.append(
                "HiGHS reports on the model it received (after hyperplan's scaling): "
                + " ".join(lines)
                + " (the plan was checked against every constraint)"
            )
    return out


def solver_scaling_lines(lines: Iterable[str]) -> list[str]:
    """HiGHS's log warnings about scaling, without the ``WARNING:`` prefix, in log order, when
    HiGHS calls the model badly scaled or its bounds excessive; [] otherwise.

    A lone "some excessively small costs" is left out: HiGHS notes any cost under 1e-4 (its
    dual tolerance is 1e-7), and outage-scenario costs weighted by their probability are that
    small by design; the spread of costs is judged by :func:`numerics_warnings` itself.
    """
    found = []
    for line in lines:
        text = line.strip()
        if not text.startswith("WARNING"):
            continue
        body = text.split(":", 1)[1].strip() if ":" in text else text
        if "excessively" in body or "scal" in body:
            found.append(body if body.endswith(".") else body + ".")
    verdict = any("badly scaled" in b or "bounds" in b for b in found)
    return found if verdict else []


def _family_names(families: dict) -> tuple[np.ndarray, list[str]]:
    return np.array([f.start for f in families.values()], dtype=np.int64), list(families)


def _family_of(starts: np.ndarray, names: list[str], i: int) -> str:
    return names[int(np.searchsorted(starts, i, side="right") - 1)]


def _spread_warnings(lm: LinearModel) -> list[str]:
    """Coefficients and costs spanning more than 10 orders of magnitude (the user's units).
    One pass over the coefficient blocks, no copy."""
    starts, names = _family_names(lm.cols)
    out = []
    blocks = (
        ("matrix coefficients", zip(lm._aj, lm._av, strict=True)),
        (
            "costs",
            (
                (np.arange(f.start, f.start + f.size), c)
                for f, c in zip(lm.cols.values(), lm._cost, strict=True)
            ),
        ),
    )
    for what, parts in blocks:
        lo, hi = (np.inf, -1), (0.0, -1)
        for cols, values in parts:
            mag = np.abs(values)
            nonzero = np.flatnonzero(mag > 0)
            if not nonzero.size:
                continue
            a, b = nonzero[np.argmin(mag[nonzero])], nonzero[np.argmax(mag[nonzero])]
            if mag[a] < lo[0]:
                lo = (float(mag[a]), int(cols[a]))
            if mag[b] > hi[0]:
                hi = (float(mag[b]), int(cols[b]))
        if lo[1] < 0 or hi[0] <= lo[0] * NUMERIC_SPREAD_WARN:
            continue
        out.append(
            f"the model's {what} span {math.log10(hi[0] / lo[0]):.0f} orders of magnitude "
            f"({lo[0]:.2g} in {_family_of(starts, names, lo[1])} to {hi[0]:.2g} in "
            f"{_family_of(starts, names, hi[1])}); HiGHS scales "
            "the model and the plan was checked against every constraint, but the smallest "
            "quantities may be imprecise: check the units of the tiniest and largest demands "
            "and prices"
        )
    return out


def _bound_warnings(lm: LinearModel, scaling: Scaling) -> list[str]:
    """Bounds and right-hand sides outside [1e-4, 1e6] in the units HiGHS received."""
    arrays = lm.arrays()
    out = []
    for what, families, factor, lo, hi in (
        ("column bounds", lm.cols, 1.0 / scaling.col, arrays["lb"], arrays["ub"]),
        ("right-hand sides", lm.rows, scaling.row, arrays["row_lo"], arrays["row_hi"]),
    ):
        if not len(lo):
            continue
        starts, names = _family_names(families)
        user = np.concatenate([lo, hi])
        solver = np.abs(user * np.concatenate([factor, factor]))
        ok = np.isfinite(solver) & (solver > 0)
        if not ok.any():
            continue
        idx = np.flatnonzero(ok)
        big = idx[np.argmax(solver[idx])]
        small = idx[np.argmin(solver[idx])]
        n = len(lo)
        if solver[big] > BOUND_LIMIT:
            name = _family_of(starts, names, int(big % n))
            tolerance = 1e-7 * abs(user[big]) / solver[big]  # HiGHS's, in the user's units
            out.append(
                f"the model's {what} reach {abs(user[big]):.3g} in {name} "
                f"({solver[big]:.3g} as HiGHS receives it, more than {BOUND_LIMIT:.0e}; its "
                f"feasibility tolerance of 1e-7 is absolute, {tolerance:.2g} in the model's "
                "units): integer columns and the rows that hold them are not scaled; check the "
                "units of that family's limits"
            )
        if solver[small] < SMALL_BOUND:
            name = _family_of(starts, names, int(small % n))
            out.append(
                f"the model's {what} go down to {abs(user[small]):.3g} in {name} "
                f"({solver[small]:.3g} as HiGHS receives it, within a few feasibility "
                "tolerances of 0): such a limit or demand may be treated as 0; check its units"
            )
    return out
