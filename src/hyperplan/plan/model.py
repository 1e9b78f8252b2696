"""A linear model as arrays: named column and row families, a COO coefficient list.

Each family keeps the index arrays that say what its members are (e.g. offer, term, start period
for reservations), so a solution, a dual or an infeasible row can be explained in words.
No Python object per variable or per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


@dataclass
class Family:
    """A contiguous block of columns or rows with a name, a unit and index arrays."""

    name: str
    start: int
    size: int
    unit: str
    index: dict[str, np.ndarray]

    @property
    def slice(self) -> slice:
        """Position of the family in the model's columns or rows."""
        return slice(self.start, self.start + self.size)


@dataclass
class LinearModel:
    """min cost·x + offset  s.t.  row_lo ≤ A x ≤ row_hi,  lb ≤ x ≤ ub, some x integer."""

    cols: dict[str, Family] = field(default_factory=dict)
    rows: dict[str, Family] = field(default_factory=dict)
    offset: float = 0.0
    _cost: list[np.ndarray] = field(default_factory=list)
    _lb: list[np.ndarray] = field(default_factory=list)
    _ub: list[np.ndarray] = field(default_factory=list)
    _int: list[np.ndarray] = field(default_factory=list)
    _rlo: list[np.ndarray] = field(default_factory=list)
    _rhi: list[np.ndarray] = field(default_factory=list)
    _ai: list[np.ndarray] = field(default_factory=list)
    _aj: list[np.ndarray] = field(default_factory=list)
    _av: list[np.ndarray] = field(default_factory=list)
    n_cols: int = 0
    n_rows: int = 0

    def add_cols(
        self,
        name: str,
        cost: np.ndarray,
        lb: np.ndarray | float = 0.0,
        ub: np.ndarray | float = np.inf,
        *,
        integer: bool = False,
        unit: str = "",
        **index: np.ndarray,
    ) -> np.ndarray:
        """Add a column family; return the global column ids of its members."""
        n = len(cost)
        fam = Family(name, self.n_cols, n, unit, index)
        self.cols[name] = fam
        self._cost.append(np.asarray(cost, dtype=float))
        self._lb.append(np.broadcast_to(np.asarray(lb, dtype=float), (n,)))
        self._ub.append(np.broadcast_to(np.asarray(ub, dtype=float), (n,)))
        self._int.append(np.full(n, 1 if integer else 0, dtype=np.int32))
        self.n_cols += n
        return np.arange(fam.start, fam.start + n)

    def add_rows(
        self,
        name: str,
        lo: np.ndarray | float,
        hi: np.ndarray | float,
        n: int,
        *,
        unit: str = "",
        **index: np.ndarray,
    ) -> np.ndarray:
        """Add a row family of ``n`` rows; return their global row ids."""
        fam = Family(name, self.n_rows, n, unit, index)
        self.rows[name] = fam
        self._rlo.append(np.broadcast_to(np.asarray(lo, dtype=float), (n,)))
        self._rhi.append(np.broadcast_to(np.asarray(hi, dtype=float), (n,)))
        self.n_rows += n
        return np.arange(fam.start, fam.start + n)

    def add_coefs(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | float) -> None:
        """Add coefficients A[rows, cols] += vals (duplicates are summed)."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        self._ai.append(rows)
        self._aj.append(cols)
        self._av.append(np.broadcast_to(np.asarray(vals, dtype=float), rows.shape))

    # ------------------------------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        """Concatenate the families: cost, lb, ub, integrality, row_lo, row_hi."""

        def cat(parts: list[np.ndarray], dtype: type = float) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

        return {
            "cost": cat(self._cost),
            "lb": cat(self._lb),
            "ub": cat(self._ub),
            "integrality": cat(self._int, np.int32),
            "row_lo": cat(self._rlo),
            "row_hi": cat(self._rhi),
        }

    def matrix(self) -> sp.csc_matrix:
        """The coefficient matrix A (rows × cols), duplicates summed, explicit zeros dropped."""
        if self._ai:
            i = np.concatenate(self._ai)
            j = np.concatenate(self._aj)
            v = np.concatenate(self._av)
        else:
            i = j = np.zeros(0, dtype=np.int64)
            v = np.zeros(0)
        A = sp.coo_matrix((v, (i, j)), shape=(self.n_rows, self.n_cols)).tocsc()
        A.sum_duplicates()
        A.eliminate_zeros()
        return A

    @property
    def is_mip(self) -> bool:
        """True when some column is integer."""
        return any(part.any() for part in self._int)

    def family_of_row(self, row: int) -> tuple[Family, int]:
        """The row family holding global row ``row`` and the position inside it."""
        for fam in self.rows.values():
            if fam.start <= row < fam.start + fam.size:
                return fam, row - fam.start
        raise IndexError(row)

    def family_of_col(self, col: int) -> tuple[Family, int]:
        """The column family holding global column ``col`` and the position inside it."""
        for fam in self.cols.values():
            if fam.start <= col < fam.start + fam.size:
                return fam, col - fam.start
        raise IndexError(col)


def group_ids(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group rows of equal key tuples: return (inverse ids, first index of each group).

    Keys are non-negative integers; they are combined into one int64 key (mixed radix) and
    grouped with a single stable sort, which is far faster than ``np.unique(axis=0)``.
    """
    if len(keys[0]) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    flat = np.zeros(len(keys[0]), dtype=np.int64)
    for k in keys:
        k = np.asarray(k, dtype=np.int64)
        flat = flat * (int(k.max()) + 1) + k
    order = np.argsort(flat, kind="stable")
    sorted_keys = flat[order]
    new_group = np.empty(len(flat), dtype=bool)
    new_group[0] = True
    new_group[1:] = sorted_keys[1:] != sorted_keys[:-1]
    group_sorted = np.cumsum(new_group) - 1
    inverse = np.empty(len(flat), dtype=np.int64)
    inverse[order] = group_sorted
    first = order[new_group]
    return inverse, first


def expand_ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For member j covering ``starts[j] .. starts[j] + counts[j] - 1``: (member ids, positions)."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    offsets = np.cumsum(counts) - counts
    pos = np.arange(counts.sum()) - np.repeat(offsets, counts) + np.repeat(starts, counts)
    return owner, pos
