"""The horizon as arrays: period start dates, hours, years, discount factors; series expansion.

Everything here is vectorised over periods and returns numpy arrays of length ``T``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hyperplan.scenario.schema import CsvSeries, GrowthSeries, Horizon

MONTHS_PER_PERIOD = {"month": 1, "quarter": 3, "year": 12}
HOURS_PER_YEAR = 8760.0


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Timeline:
    """The periods of a horizon.

    Attributes:
        starts: first day of each period (T+1 entries: the last is the horizon's end).
        hours: hours in each period (calendar hours), shape (T,).
        years_from_start: years from the horizon start to each period's start, shape (T,).
        discount: discount factor of each period, ``(1 + r) ** -years_from_start``, shape (T,).
        calendar_year: calendar year of each period's start, shape (T,).
        labels: readable period labels ("2026-Q1", "2026-03", "2026").
    """

    horizon: Horizon
    starts: tuple[dt.date, ...]
    hours: np.ndarray
    years_from_start: np.ndarray
    discount: np.ndarray
    calendar_year: np.ndarray
    labels: tuple[str, ...]

    @property
    def periods(self) -> int:
        """Number of periods T."""
        return len(self.hours)

    @property
    def periods_per_year(self) -> int:
        """Periods in one year (12, 4 or 1)."""
        return 12 // MONTHS_PER_PERIOD[self.horizon.period]

    @property
    def end(self) -> dt.date:
        """First day after the horizon."""
        return self.starts[-1]

    def period_of(self, day: dt.date) -> int:
        """Index of the period containing ``day``: -1 before the horizon, T after it."""
        ordinals = np.array([d.toordinal() for d in self.starts])
        return int(np.searchsorted(ordinals, day.toordinal(), side="right") - 1)

    def overlap_hours(self, start: dt.date, end: dt.date) -> np.ndarray:
        """Hours of ``[start, end)`` that fall in each period, shape (T,)."""
        ordinals = np.array([d.toordinal() for d in self.starts], dtype=float)
        lo = np.maximum(ordinals[:-1], start.toordinal())
        hi = np.minimum(ordinals[1:], end.toordinal())
        return np.clip(hi - lo, 0.0, None) * 24.0

    def term_periods(self, years: int) -> int:
        """Periods covered by a term of ``years`` years."""
        return years * self.periods_per_year


def timeline(horizon: Horizon) -> Timeline:
    """Build the :class:`Timeline` of a horizon."""
    step = MONTHS_PER_PERIOD[horizon.period]
    starts = tuple(_add_months(horizon.start, step * i) for i in range(horizon.periods + 1))
    ordinals = np.array([d.toordinal() for d in starts], dtype=float)
    hours = np.diff(ordinals) * 24.0
    years = (ordinals[:-1] - ordinals[0]) / 365.25
    discount = (1.0 + horizon.discount_rate) ** (-years)
    if horizon.period == "quarter":
        labels = tuple(f"{d.year}-Q{(d.month - 1) // 3 + 1}" for d in starts[:-1])
    elif horizon.period == "month":
        labels = tuple(f"{d.year}-{d.month:02d}" for d in starts[:-1])
    else:
        labels = tuple(str(d.year) for d in starts[:-1])
    return Timeline(
        horizon=horizon,
        starts=starts,
        hours=hours,
        years_from_start=years,
        discount=discount,
        calendar_year=np.array([d.year for d in starts[:-1]]),
        labels=labels,
    )


class SeriesError(ValueError):
    """A series that does not fit the horizon (wrong length, unreadable CSV)."""


def expand_series(
    value: float | list[float] | GrowthSeries | CsvSeries | str | None,
    tl: Timeline,
    base_dir: Path | None = None,
    default: float = np.inf,
) -> np.ndarray:
    """Expand a scenario series to one float per period, shape (T,).

    ``None`` gives ``default`` everywhere (``inf`` = no cap); ``"unlimited"`` (a market ceiling
    lifted explicitly) gives ``inf``. A list must have exactly T values.
    A CSV series reads one number per row (header allowed) from ``column`` or the last column.
    """
    T = tl.periods
    if value is None:
        return np.full(T, default, dtype=float)
    if isinstance(value, str) and value == "unlimited":  # a market ceiling lifted explicitly
        return np.full(T, np.inf)
    if isinstance(value, int | float):
        return np.full(T, float(value))
    if isinstance(value, list):
        if len(value) != T:
            raise SeriesError(f"expected {T} values (one per period), found {len(value)}")
        return np.asarray(value, dtype=float)
    if isinstance(value, GrowthSeries):
        return value.start * (1.0 + value.growth_per_year) ** tl.years_from_start
    if isinstance(value, CsvSeries):
        return _read_csv_series(value, T, base_dir)
    raise SeriesError(f"not a series: {value!r}")


def _read_csv_series(spec: CsvSeries, T: int, base_dir: Path | None) -> np.ndarray:
    import pandas as pd

    path = Path(spec.csv)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError as exc:
        raise SeriesError(f"CSV file not found: {path}") from exc
    except Exception as exc:  # pandas raises many kinds for unreadable files
        raise SeriesError(f"cannot read CSV {path}: {exc}") from exc
    column = spec.column if spec.column is not None else frame.columns[-1]
    if column not in frame.columns:
        raise SeriesError(f"column {column!r} not in {path} (columns: {list(frame.columns)})")
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    if len(values) != T:
        raise SeriesError(f"{path} has {len(values)} rows; expected {T} (one per period)")
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if bad.size:
        row = int(bad[0]) + 2  # header is line 1
        raise SeriesError(f"{path} line {row}: expected a number >= 0 in column {column!r}")
    return values
