"""Terminal table of catalog offers (like SkyPilot's ``sky gpus list``, with commitment prices,
power and sources).

Sorted by on-demand price per GPU-hour (CPU-only offers after the accelerator offers, by price
per instance-hour); offers without any price come last, dimmed and marked "no price". Ids
(provider, region, instance) are never cut: the Source column wraps to make room, and on a
console too narrow even for that each offer prints as one wrapped line
(:func:`hyperplan.report.tables.print_table`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hyperplan.report.tables import print_table

_DEFAULT_SORT = "usd_per_gpu_hour"

# (header, width, justify) of every column but Source, which takes the rest of the line.
# 11 fixed columns (78 characters) + 11 one-space separators leave Source 11 characters at 100.
_SOURCE_MAX_WIDTH = 60
_COLUMNS: tuple[tuple[str, int, str], ...] = (
    ("Prov", 6, "left"),
    ("Region", 12, "left"),
    ("Instance", 14, "left"),
    ("Accel", 12, "left"),
    ("vCPU", 4, "right"),
    ("OD$/h", 5, "right"),
    ("$/GPU", 5, "right"),
    ("Spot", 5, "right"),
    ("1y$/h", 5, "right"),
    ("3y$/h", 5, "right"),
    ("kW", 5, "right"),
)


def _money(value: float) -> str:
    """At most 5 characters: 0.70, 63.30, 142.4, 1234, 12345 (USD)."""
    if value is None or math.isnan(value):
        return "-"
    if value < 100:
        return f"{value:.2f}"
    if value < 1000:
        return f"{value:.1f}"
    return f"{value:.0f}"


def _kw(value: float) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def order_offers(offers: pd.DataFrame, sort: str = _DEFAULT_SORT) -> pd.DataFrame:
    """Priced rows first (GPU rows by $/GPU-h, then CPU rows by $/h), unpriced rows last."""
    priced = offers["priced"].to_numpy(dtype=bool)
    if sort == _DEFAULT_SORT:
        gpu = offers["accelerators"].to_numpy() > 0
        key = np.where(
            gpu,
            offers["usd_per_gpu_hour"].to_numpy(dtype=float),
            offers["ondemand_usd_per_hour"].to_numpy(dtype=float),
        )
        # Priced GPU rows without an on-demand price (reserved only) sort by reserved / GPU.
        res = offers["reserved_1y_usd_per_hour"].to_numpy(dtype=float)
        count = np.maximum(offers["accelerators"].to_numpy(dtype=float), 1.0)
        key = np.where(np.isnan(key), res / count, key)
        group = np.where(priced, np.where(gpu, 0, 1), 2)
    else:
        if sort not in offers.columns:
            raise ValueError(f"sort must be an offers column; found {sort!r}")
        key = offers[sort].to_numpy()
        group = np.where(priced, 0, 1)
    frame = pd.DataFrame({"group": group, "key": key, "provider": offers["provider"].to_numpy()})
    order = frame.sort_values(["group", "key", "provider"], na_position="last", kind="stable")
    return offers.iloc[order.index.to_numpy()]


def render_catalog(
    offers: pd.DataFrame,
    console: Console,
    sort: str = _DEFAULT_SORT,
    limit: int | None = None,
) -> None:
    """Print offers as a rich table.

    Args:
        offers: rows of :attr:`hyperplan.catalog.Catalog.offers` (any subset, e.g. from
            :meth:`~hyperplan.catalog.Catalog.filter`).
        console: where to print.
        sort: column to sort by; the default sorts by price per GPU-hour (CPU rows by price
            per instance-hour, after the GPU rows). Unpriced rows always come last.
        limit: show at most this many rows (after sorting).

    Raises:
        ValueError: ``sort`` is not a column of ``offers``.
    """
    ordered = order_offers(offers, sort)
    total = len(ordered)
    if limit is not None:
        ordered = ordered.iloc[: max(int(limit), 0)]

    shown = len(ordered)
    caption = (
        f"{shown} of {total} offers" if shown < total else f"{total} offers"
    ) + "; USD per instance-hour unless per GPU; 1y/3y = commitment price (see reserved_basis)"
    table = Table(
        title="Catalog offers",
        caption=caption,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 0),
        show_edge=False,
    )
    for header, _, justify in _COLUMNS:
        table.add_column(header, justify=justify, no_wrap=True, overflow="fold")  # type: ignore[arg-type]
    table.add_column("Source", max_width=_SOURCE_MAX_WIDTH, overflow="fold")

    cols = ordered[
        [
            "provider",
            "region",
            "instance_type",
            "accelerator",
            "accelerators",
            "vcpus",
            "ondemand_usd_per_hour",
            "usd_per_gpu_hour",
            "spot_usd_per_hour",
            "reserved_1y_usd_per_hour",
            "reserved_3y_usd_per_hour",
            "kw_per_instance",
            "source",
            "priced",
        ]
    ]
    for row in cols.itertuples(index=False):
        accel = f"{row.accelerators}x {row.accelerator}" if row.accelerators > 0 else "CPU"
        vcpu = "-" if math.isnan(row.vcpus) else f"{row.vcpus:g}"
        source = row.source if row.priced else f"no price; {row.source}"
        cells = [
            row.provider,
            row.region,
            row.instance_type,
            accel,
            vcpu,
            _money(row.ondemand_usd_per_hour),
            _money(row.usd_per_gpu_hour),
            _money(row.spot_usd_per_hour),
            _money(row.reserved_1y_usd_per_hour),
            _money(row.reserved_3y_usd_per_hour),
            _kw(row.kw_per_instance),
            source,
        ]
        style = "dim" if not row.priced else None
        table.add_row(*(Text(str(c)) for c in cells), style=style)
    print_table(table, console)
