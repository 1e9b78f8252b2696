"""Readers for offer CSVs: the user's own CSV and SkyPilot catalog ``vms.csv`` files.

Both return a *raw offers* frame (:data:`RAW_COLUMNS`) that :mod:`hyperplan.catalog.offers`
merges with the bundled data and derives prices, power and geography from. Every fault in a file
becomes a located :class:`~hyperplan.errors.Problem` (file, 1-based line with the header on line
1, 1-based column, column name as ``path``, expected vs found); all problems of a file are raised
together in one :class:`~hyperplan.errors.InputError`.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from hyperplan.catalog.accelerators import (
    UnknownAcceleratorError,
    normalize_accelerator,
    tpu_slice_chips,
)
from hyperplan.errors import InputError, Problem
from hyperplan.paths import FileAccessError, read_bounded

#: The numbers of an offer as sourced: vCPUs, GiB of memory, USD per instance-hour.
RAW_NUMBERS: tuple[str, ...] = (
    "vcpus",
    "memory_gib",
    "ondemand_usd_per_hour",
    "spot_usd_per_hour",
    "reserved_1y_usd_per_hour",
    "reserved_3y_usd_per_hour",
)

#: What an offer is and costs as sourced: the columns the raw frame and the offers table open
#: with.
SPEC_COLUMNS: tuple[str, ...] = (
    "provider",
    "region",
    "instance_type",
    "accelerator",
    "accelerators",
    *RAW_NUMBERS,
)

#: Columns of a raw offers frame (before derived columns are added).
RAW_COLUMNS: tuple[str, ...] = (*SPEC_COLUMNS, "kw_per_instance_user", "source", "origin")

#: Columns a user CSV must have.
USER_REQUIRED: tuple[str, ...] = (
    "provider",
    "region",
    "instance_type",
    "accelerator",
    "accelerators_per_instance",
    "ondemand_usd_per_hour",
)
#: Columns a user CSV may have (blank cells mean "unknown" / "no price").
USER_OPTIONAL: tuple[str, ...] = (
    "vcpus",
    "memory_gib",
    "spot_usd_per_hour",
    "source",
    "reserved_1y_usd_per_hour",
    "reserved_3y_usd_per_hour",
    "kw_per_instance",
)
#: Columns a SkyPilot catalog must have (other columns, e.g. ``GpuInfo``, are ignored).
SKYPILOT_REQUIRED: tuple[str, ...] = (
    "InstanceType",
    "AcceleratorName",
    "AcceleratorCount",
    "vCPUs",
    "MemoryGiB",
    "Price",
    "SpotPrice",
    "Region",
)
SKYPILOT_OPTIONAL: tuple[str, ...] = ("AvailabilityZone",)

#: At most this many problems are listed per file (then a summary line).
MAX_PROBLEMS: int = 50

_UNITS: dict[str, str] = {
    "ondemand_usd_per_hour": "USD per instance-hour",
    "spot_usd_per_hour": "USD per instance-hour",
    "reserved_1y_usd_per_hour": "USD per instance-hour",
    "reserved_3y_usd_per_hour": "USD per instance-hour",
    "Price": "USD per instance-hour",
    "SpotPrice": "USD per instance-hour",
    "kw_per_instance": "kW",
    "vcpus": "vCPUs",
    "vCPUs": "vCPUs",
    "memory_gib": "GiB",
    "MemoryGiB": "GiB",
}


#: Largest plausible value of a numeric column (beyond it: a unit mistake, or an attack that
#: would pass the load and fail the solve). Prices in USD per instance-hour.
_MAX: dict[str, float] = {
    "ondemand_usd_per_hour": 1e5,
    "spot_usd_per_hour": 1e5,
    "reserved_1y_usd_per_hour": 1e5,
    "reserved_3y_usd_per_hour": 1e5,
    "Price": 1e5,
    "SpotPrice": 1e5,
    "kw_per_instance": 1e4,
    "vcpus": 1e5,
    "vCPUs": 1e5,
    "memory_gib": 1e7,
    "MemoryGiB": 1e7,
    "accelerators_per_instance": 1e4,
    "AcceleratorCount": 1e4,
}


class _Collector:
    """Collects located problems of one file."""

    def __init__(self, file: str, header: Sequence[str]) -> None:
        self.file = file
        self.colno = {name: i + 1 for i, name in enumerate(header)}
        self.problems: list[Problem] = []

    def add(
        self, message: str, line: int | None, column: str = "", colno: int | None = None
    ) -> None:
        """A problem at ``line``, in the column named ``column`` (a name we expect: it becomes
        the path) or, for a column whose name we do not expect, at column number ``colno``."""
        self.problems.append(
            Problem(
                message,
                file=self.file,
                line=line,
                column=colno if colno is not None else self.colno.get(column),
                path=column,
            )
        )

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        probs = sorted(self.problems, key=lambda p: (p.line or 0, p.column or 0))
        if len(probs) > MAX_PROBLEMS:
            extra = len(probs) - MAX_PROBLEMS
            probs = [
                *probs[:MAX_PROBLEMS],
                Problem(f"... and {extra} more problems not shown", file=self.file),
            ]
        raise InputError(probs)


def _read_rows(path: str | os.PathLike[str]) -> tuple[str, list[str], pd.DataFrame, np.ndarray]:
    """Read a CSV with the ``csv`` module, keeping each record's 1-based line number.

    Returns:
        ``(file, header, cells, lines)``: cells as a DataFrame of stripped strings (one column per
        header name; short records padded with ""), and the line number of each record.

    Raises:
        InputError: missing/unreadable file, no header, ragged records.
    """
    file = os.fspath(path)
    try:
        text = read_bounded(file).decode("utf-8-sig")
    except FileAccessError as exc:
        message = str(exc)
        if message.startswith("file not found"):
            message = "file not found"
        raise InputError([Problem(message, file=file)]) from None
    except UnicodeDecodeError as exc:
        raise InputError([Problem(f"not UTF-8 text: {exc.reason}", file=file)]) from None
    try:
        with io.StringIO(text, newline="") as handle:
            reader = csv.reader(handle)
            header: list[str] | None = None
            records: list[list[str]] = []
            lines: list[int] = []
            ragged: list[tuple[int, int]] = []
            for record in reader:
                if header is None:
                    header = [h.strip() for h in record]
                    continue
                if not record or all(not c.strip() for c in record):
                    continue  # blank line
                if len(record) != len(header):
                    ragged.append((reader.line_num, len(record)))
                    record = (record + [""] * len(header))[: len(header)]
                records.append([c.strip() for c in record])
                lines.append(reader.line_num)
    except FileNotFoundError:
        raise InputError([Problem("file not found", file=file)]) from None
    except UnicodeDecodeError as exc:
        raise InputError([Problem(f"not UTF-8 text: {exc.reason}", file=file)]) from None
    except csv.Error as exc:
        raise InputError([Problem(f"not a readable CSV: {exc}", file=file)]) from None
    except OSError as exc:
        raise InputError([Problem(f"cannot read file: {exc.strerror}", file=file)]) from None
    if not header or all(not h for h in header):
        raise InputError([Problem("empty file: expected a header line", file=file, line=1)])
    if ragged:
        raise InputError(
            [
                Problem(
                    f"expected {len(header)} fields (as in the header), found {n}",
                    file=file,
                    line=line,
                )
                for line, n in ragged[:MAX_PROBLEMS]
            ]
        )
    cells = pd.DataFrame(records, columns=header, dtype=object)
    if cells.empty:
        cells = pd.DataFrame({h: pd.Series([], dtype=object) for h in header})
    return file, header, cells, np.asarray(lines, dtype=int)


def _check_header(
    col: _Collector,
    header: Sequence[str],
    required: Sequence[str],
    optional: Sequence[str],
    *,
    allow_extra: bool,
) -> None:
    # messages name only the columns we expect: the file's own text is never echoed
    known = [*required, *optional]
    seen: set[str] = set()
    for i, name in enumerate(header):
        if name in seen:
            if name in known:
                col.add(f"duplicate column {name!r}: one column per name", 1, name)
            else:
                col.add(f"column {i + 1} repeats the name of an earlier one", 1, colno=i + 1)
        seen.add(name)
    for name in required:
        if name not in seen:
            col.add(
                f"missing required column {name!r}; expected columns: {', '.join(known)}",
                1,
                name,
            )
    if not allow_extra:
        for i, name in enumerate(header):
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                col.add(
                    f"column {i + 1} of the header is not a known column{hint} expected "
                    f"columns: {', '.join(known)}",
                    1,
                    colno=i + 1,
                )


def _numbers(
    col: _Collector,
    cells: pd.DataFrame,
    lines: np.ndarray,
    name: str,
    *,
    required: bool = False,
    whole: bool = False,
) -> np.ndarray:
    """Parse a column of numbers >= 0 (vectorised); record located problems for bad cells.

    Returns:
        float array, NaN where blank (or bad).
    """
    if name not in cells.columns:
        return np.full(len(cells), np.nan)
    text = cells[name].astype(str)
    blank = (text == "").to_numpy()
    num = pd.to_numeric(text.where(~blank), errors="coerce").to_numpy(dtype=float, copy=True)
    finite = np.isfinite(num)
    unit = _UNITS.get(name, "")
    top = _MAX.get(name, np.inf)
    kind = "a whole number" if whole else "a number"
    kind += f" from 0 to {top:g}" if np.isfinite(top) else " >= 0"
    expected = f"{kind}{f' ({unit})' if unit else ''}"
    bad = (~blank & ~finite) | (finite & ((num < 0) | (num > top)))
    if whole:
        bad |= finite & (num != np.floor(num))
    if required:
        for i in np.flatnonzero(blank):
            col.add(f"expected {expected}, found an empty cell", int(lines[i]), name)
    for i in np.flatnonzero(bad):  # what the cell holds is not echoed, only what is wrong
        if not finite[i]:
            found = "text that is not a finite number"
        elif num[i] < 0:
            found = "a negative number"
        elif num[i] > top:
            found = "a number above that range"
        else:
            found = "a fraction"
        col.add(f"expected {expected}, found {found}", int(lines[i]), name)
    num[bad] = np.nan
    return num


def _required_text(col: _Collector, cells: pd.DataFrame, lines: np.ndarray, name: str) -> None:
    if name not in cells.columns:
        return
    for i in np.flatnonzero((cells[name].astype(str) == "").to_numpy()):
        col.add(f"expected a non-empty {name}, found an empty cell", int(lines[i]), name)


def _accelerators(col: _Collector, names: pd.Series, lines: np.ndarray, column: str) -> np.ndarray:
    """Normalise accelerator names once per distinct spelling; unknown names become problems."""
    codes, uniques = pd.factorize(names.astype(str))
    canon = np.empty(len(uniques), dtype=object)
    errors: dict[int, str] = {}
    for k, raw in enumerate(uniques):
        try:
            canon[k] = normalize_accelerator(raw)
        except UnknownAcceleratorError as exc:
            canon[k] = ""  # the cell's text is not echoed; suggestions are catalog names
            errors[k] = str(exc).strip("'\"").replace(repr(raw), "name", 1)
    for k, message in errors.items():
        for i in np.flatnonzero(codes == k):
            col.add(message, int(lines[i]), column)
    return canon[codes] if len(codes) else np.array([], dtype=object)


def _check_counts(
    col: _Collector,
    accel: np.ndarray,
    count: np.ndarray,
    lines: np.ndarray,
    name_col: str,
    count_col: str,
    name_blank: np.ndarray,
) -> None:
    has_name = accel != ""
    zero = has_name & (count == 0)
    for i in np.flatnonzero(zero):
        col.add(
            f"expected >= 1 accelerators per instance for {accel[i]}, found 0",
            int(lines[i]),
            count_col,
        )
    orphan = ~has_name & name_blank & (count > 0)
    for i in np.flatnonzero(orphan):
        col.add(
            f"expected an accelerator name for {count[i]:g} accelerators per instance, "
            "found an empty cell",
            int(lines[i]),
            name_col,
        )


def _duplicates(col: _Collector, frame: pd.DataFrame, lines: np.ndarray) -> None:
    key = (frame["provider"] + ":" + frame["region"] + ":" + frame["instance_type"]).str.lower()
    dup = key.duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    first_line = pd.Series(lines).groupby(key.to_numpy()).transform("first").to_numpy()
    for i in np.flatnonzero(dup):
        col.add(
            f"duplicate offer (first at line {first_line[i]}): one row per provider, region and "
            "instance_type",
            int(lines[i]),
            "instance_type",
        )


def read_user_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a user offers CSV (same columns as ``gpu_offers.csv``, plus optional overrides).

    Required columns: ``provider, region, instance_type, accelerator, accelerators_per_instance,
    ondemand_usd_per_hour``; optional: ``vcpus, memory_gib, spot_usd_per_hour, source,
    reserved_1y_usd_per_hour, reserved_3y_usd_per_hour, kw_per_instance``. Blank cells mean
    unknown (a blank on-demand price means "no on-demand price"). ``accelerator`` blank means
    CPU-only (then ``accelerators_per_instance`` must be 0). ``source`` defaults to
    ``user:<path>``.

    Args:
        path: the CSV file.

    Returns:
        A raw offers frame (:data:`RAW_COLUMNS`), origin ``user:<path>``.

    Raises:
        InputError: every located problem of the file (missing/unknown/duplicate columns,
            empty required cells, non-numeric or negative numbers, unknown accelerator names,
            inconsistent accelerator counts, duplicate offers).
    """
    file, header, cells, lines = _read_rows(path)
    header = [h.lower() for h in header]
    cells.columns = header
    col = _Collector(file, header)
    _check_header(col, header, USER_REQUIRED, USER_OPTIONAL, allow_extra=False)
    col.raise_if_any()

    for name in ("provider", "region", "instance_type"):
        _required_text(col, cells, lines, name)
    accel = _accelerators(col, cells["accelerator"], lines, "accelerator")
    name_blank = (cells["accelerator"].astype(str) == "").to_numpy()
    count = _numbers(col, cells, lines, "accelerators_per_instance", required=True, whole=True)
    _check_counts(col, accel, count, lines, "accelerator", "accelerators_per_instance", name_blank)

    out = pd.DataFrame(
        {
            "provider": cells["provider"].astype(str).str.lower(),
            "region": cells["region"].astype(str),
            "instance_type": cells["instance_type"].astype(str),
        }
    )
    out["accelerator"] = accel
    out["accelerators"] = np.nan_to_num(count, nan=0.0).astype(int)
    out["vcpus"] = _numbers(col, cells, lines, "vcpus")
    out["memory_gib"] = _numbers(col, cells, lines, "memory_gib")
    for name in (
        "ondemand_usd_per_hour",
        "spot_usd_per_hour",
        "reserved_1y_usd_per_hour",
        "reserved_3y_usd_per_hour",
    ):
        out[name] = _numbers(col, cells, lines, name)
    out["kw_per_instance_user"] = _numbers(col, cells, lines, "kw_per_instance")
    origin = f"user:{file}"
    if "source" in cells.columns:
        src = cells["source"].astype(str)
        out["source"] = src.where(src != "", origin)
    else:
        out["source"] = origin
    out["origin"] = origin
    _duplicates(col, out, lines)
    col.raise_if_any()
    return out.loc[:, list(RAW_COLUMNS)].reset_index(drop=True)


def read_skypilot_csv(path: str | os.PathLike[str], provider: str) -> pd.DataFrame:
    """Read a SkyPilot catalog ``vms.csv`` (one row per availability zone) as offers.

    Rows are collapsed to one offer per (Region, InstanceType): on-demand = the first non-empty
    ``Price`` of the region's rows (file order), spot = the minimum non-empty ``SpotPrice`` over
    them; the other columns come from the first row. Accelerator names are normalised
    (``H100-MEGA`` -> ``H100``). TPU slice rows (``AcceleratorName`` such as ``tpu-v5p-8``,
    ``AcceleratorCount`` 1, ``InstanceType`` usually empty) become instance ``tpu-v5p-8`` with the
    slice's chip count (4 for ``tpu-v5p-8``). Other rows with an empty ``InstanceType``
    (SkyPilot's GCP GPU-attachment rows, priced apart from the host VM) are rejected.

    Args:
        path: the ``vms.csv`` file.
        provider: the provider the catalog belongs to (``aws``, ``gcp``, ...).

    Returns:
        A raw offers frame (:data:`RAW_COLUMNS`), origin ``skypilot:<path>``.

    Raises:
        InputError: every located problem of the file.
    """
    prov = str(provider).strip().lower()
    file, header, cells, lines = _read_rows(path)
    col = _Collector(file, header)
    if not prov:
        col.add("expected a provider name for the SkyPilot catalog, found an empty string", None)
    # Accept any capitalisation of the SkyPilot column names.
    canon = {c.lower(): c for c in (*SKYPILOT_REQUIRED, *SKYPILOT_OPTIONAL)}
    rename = {h: canon[h.lower()] for h in header if h.lower() in canon}
    cells = cells.rename(columns=rename)
    header = [rename.get(h, h) for h in header]
    col.colno = {name: i + 1 for i, name in enumerate(header)}
    _check_header(col, header, SKYPILOT_REQUIRED, SKYPILOT_OPTIONAL, allow_extra=True)
    col.raise_if_any()

    acc_raw = cells["AcceleratorName"].astype(str)
    itype = cells["InstanceType"].astype(str)
    # TPU slices: the name carries the chip count, the row has no instance type.
    slice_codes, slice_uniques = pd.factorize(acc_raw)
    slice_info = [tpu_slice_chips(u) for u in slice_uniques]
    slice_chips = np.array([s[1] if s else 0 for s in slice_info] + [0], dtype=int)[slice_codes]
    is_slice = slice_chips > 0
    # The slice name is the instance: older catalogs put one "TPU-VM" type on every slice.
    itype = itype.where(~is_slice, acc_raw.str.lower())

    _required_text(col, cells.assign(InstanceType=itype), lines, "InstanceType")
    _required_text(col, cells, lines, "Region")
    accel = _accelerators(col, acc_raw, lines, "AcceleratorName")
    count = _numbers(col, cells, lines, "AcceleratorCount", whole=True)
    count = np.where(is_slice, slice_chips, count)
    count = np.where(np.isnan(count) & (accel == ""), 0.0, count)
    missing = np.isnan(count) & (accel != "")
    for i in np.flatnonzero(missing & (cells["AcceleratorCount"].astype(str) == "").to_numpy()):
        col.add(
            f"expected a whole number >= 1 for accelerator {accel[i]}, found an empty cell",
            int(lines[i]),
            "AcceleratorCount",
        )
    empty_name = (acc_raw == "").to_numpy()
    _check_counts(
        col,
        accel,
        np.nan_to_num(count, nan=-1.0),
        lines,
        "AcceleratorName",
        "AcceleratorCount",
        empty_name,
    )

    rows = pd.DataFrame(
        {
            "provider": prov,
            "region": cells["Region"].astype(str),
            "instance_type": itype,
            "accelerator": accel,
            "accelerators": np.nan_to_num(count, nan=0.0).astype(int),
            "vcpus": _numbers(col, cells, lines, "vCPUs"),
            "memory_gib": _numbers(col, cells, lines, "MemoryGiB"),
            "ondemand_usd_per_hour": _numbers(col, cells, lines, "Price"),
            "spot_usd_per_hour": _numbers(col, cells, lines, "SpotPrice"),
        }
    )
    col.raise_if_any()

    has_az = "AvailabilityZone" in cells.columns
    grouped = rows.groupby(["region", "instance_type"], sort=False)
    out = grouped.agg(
        provider=("provider", "first"),
        accelerator=("accelerator", "first"),
        accelerators=("accelerators", "first"),
        vcpus=("vcpus", "first"),
        memory_gib=("memory_gib", "first"),
        ondemand_usd_per_hour=("ondemand_usd_per_hour", "first"),
        spot_usd_per_hour=("spot_usd_per_hour", "min"),
    ).reset_index()
    out["reserved_1y_usd_per_hour"] = np.nan
    out["reserved_3y_usd_per_hour"] = np.nan
    out["kw_per_instance_user"] = np.nan
    how = (
        "AZ rows collapsed: on-demand = first non-empty Price, spot = min SpotPrice"
        if has_az
        else "one row per region"
    )
    out["source"] = f"skypilot catalog {Path(file).name} ({how})"
    out["origin"] = f"skypilot:{file}"
    return out.loc[:, list(RAW_COLUMNS)].reset_index(drop=True)
