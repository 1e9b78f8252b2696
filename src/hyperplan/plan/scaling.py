"""Row and column scaling of a :class:`~hyperplan.plan.model.LinearModel` for the solver.

The model keeps the user's units (tokens/s, GPU-hours, vCPUs, instances, MW, MUSD); HiGHS gets
the same model with every row ``i`` multiplied by ``r_i`` and every column ``j`` measured in
units of ``c_j`` (``x_j = c_j·x'_j``). The factors are powers of two, one per family (all rows,
or all columns, of one name: ``demand``, ``unserved``, ...):

- row family F: ``r_F = 2^-k``, ``k`` the smallest integer ≥ 0 with
  ``max_{i∈F} |finite row bound_i| · 2^-k ≤ 1e6``;
- column family F: ``c_F = 2^k``, ``k`` the smallest integer ≥ 0 with
  ``max_{j∈F} |finite column bound_j| · 2^-k ≤ 1e6``.

1e6 is HiGHS's own limit (``kExcessivelyLargeBoundValue``) above which it calls a model badly
scaled: its feasibility tolerances are absolute (1e-7), so a demand row of 8e9 tokens/s asks for
a relative precision of 1e-17. A family already inside the limit keeps factor 1, so a well-scaled
model reaches HiGHS unchanged (bit for bit, and HiGHS takes the same path). On frontier-2030 the
``demand`` rows and ``unserved`` columns (tokens/s, up to 8.1e8) get 2^-10 and 2^10, the
``training-compute`` rows and ``unserved-training`` columns (GPU-hours, up to 8.1e9) 2^-13 and
2^13, ``outage-not-better`` rows 2^-8: demand is then counted in units of ~1,000 tokens/s, about
one instance of the fastest offer (coefficients tokens/s per instance of up to 970 become ≤ 0.95),
training in units of 8,192 GPU-hours. An ``unserved`` column's bound is its demand row's right-hand
side, so both families get the same power and its coefficient stays 1; its penalty cost grows by
the same factor (a cost per unit of 1,024 tokens/s), moving costs up from ~1e-4 toward the others.
The objective is not scaled (money stays in MUSD).

Integer columns keep ``c = 1`` (integrality is in the user's units) and rows holding an integer
column keep ``r = 1`` (a big-M row ``Σ z ≤ M·b`` scaled down would let an unchosen site carry
instances within the feasibility tolerance).

Powers of two make scaling and unscaling exact in floating point (only exponents change): the
scaled model is the same model. The solution is unscaled on the way out (:meth:`Scaling.unscale`):
``x = c·x'``, row activity ``= row'/r``, row duals ``y = r·y'``, reduced costs ``d = d'/c``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["BOUND_LIMIT", "Scaling", "compute_scaling", "family_slices", "identity_scaling"]


#: Largest finite bound magnitude a family may keep (HiGHS's ``kExcessivelyLargeBoundValue``).
BOUND_LIMIT = 1e6


def _family_exponent(bounds: np.ndarray) -> int:
    """The smallest k ≥ 0 with ``max |finite bound| · 2^-k ≤ BOUND_LIMIT``."""
    finite = np.abs(bounds[np.isfinite(bounds)])
    if not finite.size:
        return 0
    biggest = float(finite.max())
    if biggest <= BOUND_LIMIT:
        return 0
    k = int(np.ceil(np.log2(biggest / BOUND_LIMIT)))
    while biggest * 2.0**-k > BOUND_LIMIT:  # log2 round-off at an exact power of two
        k += 1
    return k


@dataclass(frozen=True)
class Scaling:
    """Power-of-two factors: ``col`` (c_j, x = c·x') and ``row`` (r_i, scaled row = r·row)."""

    col: np.ndarray
    row: np.ndarray

    @property
    def is_identity(self) -> bool:
        """True when no row or column is scaled."""
        return bool(np.all(self.col == 1.0) and np.all(self.row == 1.0))

    # ----------------------------------------------------------------- to the solver's units
    def model(
        self, arrays: dict[str, np.ndarray], A: sp.csc_matrix
    ) -> tuple[dict[str, np.ndarray], sp.csc_matrix]:
        """The scaled model: costs ``c·cost``, bounds ``lb/c, ub/c``, row bounds ``r·lo, r·hi``,
        matrix ``R·A·C``. Copies; the inputs are not changed."""
        c, r = self.col, self.row
        out = dict(arrays)
        out["cost"] = arrays["cost"] * c
        out["lb"] = arrays["lb"] / c
        out["ub"] = arrays["ub"] / c
        out["row_lo"] = arrays["row_lo"] * r
        out["row_hi"] = arrays["row_hi"] * r
        As = A.copy()
        # CSC: the column of each stored value from indptr, its row from indices
        As.data = A.data * r[A.indices] * np.repeat(c, np.diff(A.indptr))
        return out, As

    def col_bounds(self, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Column bounds (or values) of ``cols`` in the user's units → the solver's."""
        return np.asarray(values, dtype=float) / self.col[cols]

    def row_bounds(self, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Row bounds of ``rows`` in the user's units → the solver's."""
        return np.asarray(values, dtype=float) * self.row[rows]

    # ----------------------------------------------------------------- back to the user's
    def col_values(self, values: np.ndarray) -> np.ndarray:
        """Column values from the solver → the user's units (``x = c·x'``)."""
        return np.asarray(values, dtype=float) * self.col

    def unscale(
        self,
        col_value: np.ndarray,
        row_value: np.ndarray,
        col_dual: np.ndarray,
        row_dual: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """A solution of the scaled model in the user's units; empty arrays stay empty.

        ``x = c·x'``, row activity ``= row'/r``, reduced cost ``d = d'/c``, dual ``y = r·y'``
        (from ``c·cost − (R A C)ᵀ y' = d'``, i.e. ``cost − Aᵀ(R y') = d'/c``).
        """

        def apply(v: np.ndarray, f: np.ndarray, divide: bool) -> np.ndarray:
            v = np.asarray(v, dtype=float)
            if not len(v):
                return v
            return v / f if divide else v * f

        return (
            apply(col_value, self.col, False),
            apply(row_value, self.row, True),
            apply(col_dual, self.col, True),
            apply(row_dual, self.row, False),
        )


def identity_scaling(n_cols: int, n_rows: int) -> Scaling:
    """No scaling (every factor 1)."""
    return Scaling(np.ones(n_cols), np.ones(n_rows))


def compute_scaling(
    families: dict[tuple[str, str], slice] | None,
    arrays: dict[str, np.ndarray],
    A: sp.csc_matrix,
) -> Scaling:
    """The scaling of the module docstring.

    Args:
        families: positions of the column and row families (:func:`family_slices`); None
            scales nothing.
        arrays: the model's ``lb``, ``ub``, ``row_lo``, ``row_hi``, ``integrality``.
        A: the coefficient matrix (rows × cols, CSC), for the rows holding integer columns.
    """
    n_rows, n_cols = len(arrays["row_lo"]), len(arrays["lb"])
    c, r = np.ones(n_cols), np.ones(n_rows)
    if not families:
        return Scaling(c, r)
    for (kind, _name), where in families.items():
        if kind == "col":
            k = _family_exponent(np.concatenate([arrays["lb"][where], arrays["ub"][where]]))
            c[where] = np.ldexp(1.0, k)
        else:
            k = _family_exponent(np.concatenate([arrays["row_lo"][where], arrays["row_hi"][where]]))
            r[where] = np.ldexp(1.0, -k)
    integer = np.asarray(arrays["integrality"]) > 0
    if integer.any():
        c[integer] = 1.0
        col_of = np.repeat(np.arange(n_cols), np.diff(A.indptr))
        r[A.indices[integer[col_of]]] = 1.0
    return Scaling(c, r)


def family_slices(cols: dict[str, Any], rows: dict[str, Any]) -> dict[tuple[str, str], slice]:
    """``{("col", name): slice, ("row", name): slice}`` from a model's column and row families
    (objects with a ``slice`` property)."""
    out: dict[tuple[str, str], slice] = {("col", n): f.slice for n, f in cols.items()}
    out.update({("row", n): f.slice for n, f in rows.items()})
    return out
